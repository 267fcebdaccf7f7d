package archive

import (
	"bytes"
	"context"
	"fmt"
	"sort"

	bolt "go.etcd.io/bbolt"
)

// keyCompacted, in a run's frontier bucket, marks a run whose seen set was
// compacted (compactSeen): its captured URLs are known from its captures.
var keyCompacted = []byte("compacted")

// compactSeen drops, from the seen set of a run that has just finished,
// every entry that one of the run's captures already holds: the URL
// captured in the run with the same Reason, Parent, Anchor and Hops. The
// seen set is what a crawl needs while it runs (each URL once, resume);
// once the run is over, an entry per URL was most of what a daily re-crawl
// of an unchanged site added to the store, and it repeated the captures.
// What stays is what no capture says: URLs that failed or were queued and
// never fetched. Queued and Why read a compacted run's captured URLs from
// its captures.
func compactSeen(tx *bolt.Tx, run uint64) error {
	rb := tx.Bucket(bucketFrontier).Bucket(be64(run))
	if rb == nil {
		return nil
	}
	seen := rb.Bucket(bucketSeen)
	if seen == nil || rb.Get(keyCompacted) != nil {
		return nil
	}
	caps := capsOf(tx)
	dec := &captureDecoder{caps: caps}
	var drop [][]byte
	err := seen.ForEach(func(k, v []byte) error {
		var r seenRecord
		if err := decode(v, &r); err != nil {
			return err
		}
		if r.State != stateDone || (len(k) == maxKey && k[maxKey-65] == '#') {
			return nil
		}
		c, err := capturedIn(caps, dec, string(k), run)
		if err != nil {
			return err
		}
		if c != nil && c.Reason == r.Reason && c.Parent == r.Parent && c.Anchor == r.Anchor && c.Hops == r.Hops {
			drop = append(drop, clone(k))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("compact run %d: %w", run, err)
	}
	for _, k := range drop {
		if err := seen.Delete(k); err != nil {
			return err
		}
	}
	return rb.Put(keyCompacted, []byte{1})
}

// capturedIn returns the capture of url made in run, with its heads, or
// nil.
func capturedIn(caps *captable, dec *captureDecoder, url string, run uint64) (*Capture, error) {
	prefix := append([]byte(surt(url)), 0)
	c := caps.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		lc, err := dec.decode(k, v, false)
		if err != nil {
			return nil, err
		}
		if lc.URL == url && lc.Run == run {
			return dec.decode(k, v, true)
		}
	}
	return nil, nil
}

// compacted reports whether run's seen set was compacted.
func compacted(tx *bolt.Tx, run uint64) bool {
	rb := tx.Bucket(bucketFrontier).Bucket(be64(run))
	return rb != nil && rb.Get(keyCompacted) != nil
}

// runCaptures calls fn with every capture made in run, heads included, in
// key order. It reads every capture, so it takes time in proportion to the
// store.
func (s *Store) runCaptures(ctx context.Context, run uint64, fn func(*Capture) error) error {
	return s.Captures(ctx, "", func(c *Capture) error {
		if c.Run != run {
			return nil
		}
		return fn(c)
	})
}

// sortItems sorts items by URL, the order Queued promises.
func sortItems(items []Item) {
	sort.Slice(items, func(i, j int) bool { return items[i].URL < items[j].URL })
}
