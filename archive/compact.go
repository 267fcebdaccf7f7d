package archive

import (
	"bytes"
	"context"
	"fmt"
	"sort"

	bolt "go.etcd.io/bbolt"
)

// A run's seen set is what a crawl needs while it runs: each URL once, and
// what to resume. Once a URL is captured, its capture holds everything the
// seen entry said (reason, parent, anchor, hops), so the entry was most of
// what a daily re-crawl of an unchanged site added to the store. The commit
// that stores such a capture therefore shrinks the entry to seenCaptured,
// and when the run finishes those entries are deleted (compactSeen). Queued
// and Why read a captured URL's entry from its capture.

// seenCaptured is the value of a seen entry whose URL was captured in the
// run with the entry's reason, parent, anchor and hops: "see the capture".
// It is not a valueVersion value, so no reader takes it for a seenRecord.
var seenCaptured = []byte{0}

// keyCompacted, in a run's frontier bucket, marks a run whose captured
// URLs are known from its captures, not from its seen set: set when the
// run finishes, before its seenCaptured entries are deleted.
var keyCompacted = []byte("compacted")

// compactBatch is how many entries one transaction of compactSeen
// deletes: a finished run's clean-up must not hold a large transaction (its
// pages stay in memory until commit) at the end of a large crawl.
var compactBatch = 2000

// repeats reports whether c, captured in the run, says all that the seen
// record r says.
func repeats(c *Capture, r *seenRecord) bool {
	return c.Reason == r.Reason && c.Parent == r.Parent && c.Anchor == r.Anchor && c.Hops == r.Hops
}

// compactSeen deletes the seenCaptured entries of a finished run, a batch
// per transaction. What stays is what no capture says: URLs that failed,
// were skipped after being queued, or were captured under another reason
// or parent. The first transaction marks the run compacted; a kill
// half-way leaves entries that every reader understands.
func (s *Store) compactSeen(ctx context.Context, run uint64) error {
	var after []byte
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		more := false
		err := s.update(func(tx *bolt.Tx) error {
			rb := runRoot(tx, run)
			if rb == nil || rb.Bucket(bucketSeen) == nil {
				return nil
			}
			if err := rb.Put(keyCompacted, []byte{1}); err != nil {
				return err
			}
			// The seen set's pages lie all over the file, and the kernel
			// maps in the cached pages around each one read: without a
			// drop per batch, one pass over 104,000 entries left 380 MB of
			// the file resident (see resident_linux.go).
			dropMapped(s)
			seen := rb.Bucket(bucketSeen)
			c := seen.Cursor()
			k, v := c.First()
			if after != nil {
				k, v = c.Seek(after)
			}
			// Deleting under a cursor can make its Next skip a key, so
			// the batch's keys are collected first.
			var drop [][]byte
			for ; k != nil && len(drop) < compactBatch; k, v = c.Next() {
				if bytes.Equal(v, seenCaptured) {
					drop = append(drop, clone(k))
				}
			}
			if k != nil {
				after, more = clone(k), true
			}
			for _, k := range drop {
				if err := seen.Delete(k); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("archive: compact run %d: %w", run, err)
		}
		if !more {
			return nil
		}
	}
}

// compacted reports whether run's seen set was compacted.
func compacted(tx *bolt.Tx, run uint64) bool {
	rb := runRoot(tx, run)
	return rb != nil && rb.Get(keyCompacted) != nil
}

// runCaptures calls fn with every capture made in run, heads included, in
// key order. It reads every capture's listing part, so it takes time in
// proportion to the store; only the run's own captures have their heads
// decoded.
func (s *Store) runCaptures(ctx context.Context, run uint64, fn func(*Capture) error) error {
	var out []*Capture
	err := s.eachCapture(ctx, func(_ *bolt.Tx, caps *captable, k, v []byte) error {
		dec := &captureDecoder{caps: caps}
		c, err := dec.decode(k, v, false)
		if err != nil || c.Run != run {
			return err
		}
		if c, err = dec.decode(k, v, true); err != nil {
			return err
		}
		out = append(out, c)
		return nil
	})
	if err != nil {
		return err
	}
	for _, c := range out {
		if err := fn(c); err != nil {
			return err
		}
	}
	return nil
}

// sortItems sorts items by URL, the order Queued promises.
func sortItems(items []Item) {
	sort.Slice(items, func(i, j int) bool { return items[i].URL < items[j].URL })
}
