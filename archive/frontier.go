package archive

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
)

// runRoot returns a run's bucket in the frontier, or nil if the run never
// committed frontier changes.
func runRoot(tx *bolt.Tx, run uint64) *bolt.Bucket {
	return tx.Bucket(bucketFrontier).Bucket(be64(run))
}

// runBucket returns a run's nested frontier bucket name, or nil if the run
// never committed frontier changes.
func runBucket(tx *bolt.Tx, run uint64, name []byte) *bolt.Bucket {
	rb := runRoot(tx, run)
	if rb == nil {
		return nil
	}
	return rb.Bucket(name)
}

// QueueHosts returns, for each HostKey with queued items in run, how many
// are queued. A resumed crawl starts from these.
func (s *Store) QueueHosts(run uint64) (map[string]int, error) {
	hosts := map[string]int{}
	err := s.view(func(tx *bolt.Tx) error {
		q := runBucket(tx, run, bucketQueue)
		if q == nil {
			return nil
		}
		return q.ForEach(func(k, v []byte) error {
			var it Item
			if err := decode(v, &it); err != nil {
				return err
			}
			hosts[it.HostKey]++
			return nil
		})
	})
	return hosts, err
}

// PeekQueue returns up to n queued items of hostKey in run with Seq >
// afterSeq, in Seq order. Items stay queued: the crawler leases them in
// memory, and an item leaves the queue only when a Commit lists it in Done.
func (s *Store) PeekQueue(run uint64, hostKey string, afterSeq uint64, n int) ([]Item, error) {
	var items []Item
	err := s.view(func(tx *bolt.Tx) error {
		q := runBucket(tx, run, bucketQueue)
		if q == nil || n <= 0 {
			return nil
		}
		prefix := queueKey(hostKey, 0)
		prefix = prefix[:len(prefix)-8]
		c := q.Cursor()
		for k, v := c.Seek(queueKey(hostKey, afterSeq+1)); k != nil && bytes.HasPrefix(k, prefix) && len(items) < n; k, v = c.Next() {
			if len(k) != len(prefix)+8 {
				continue
			}
			var it Item
			if err := decode(v, &it); err != nil {
				return err
			}
			it.Seq = binary.BigEndian.Uint64(k[len(prefix):])
			items = append(items, it)
		}
		return nil
	})
	return items, err
}

// HostPages returns, per host key, how many pages of run's per-host budget
// were spent (Batch.Counted); hosts with none are absent.
func (s *Store) HostPages(run uint64) (map[string]int, error) {
	out := map[string]int{}
	err := s.view(func(tx *bolt.Tx) error {
		b := runBucket(tx, run, bucketHostPages)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			if len(v) != 8 {
				return fmt.Errorf("archive: host pages of run %d, %q: %w: bad count", run, k, ErrCorrupt)
			}
			out[string(k)] = int(binary.BigEndian.Uint64(v))
			return nil
		})
	})
	return out, err
}

// Seen reports whether url was ever queued in run.
func (s *Store) Seen(run uint64, url string) (bool, error) {
	var seen bool
	err := s.view(func(tx *bolt.Tx) error {
		b := runBucket(tx, run, bucketSeen)
		seen = b != nil && b.Get(urlKey(url)) != nil
		return nil
	})
	return seen, err
}

// Failures returns run's failures, oldest first.
func (s *Store) Failures(run uint64) ([]Failure, error) {
	var out []Failure
	err := s.view(func(tx *bolt.Tx) error {
		b := runBucket(tx, run, bucketFailures)
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, v []byte) error {
			var f Failure
			if err := decode(v, &f); err != nil {
				return err
			}
			out = append(out, f)
			return nil
		})
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out, err
}

// Robots returns the latest cached robots.txt entry of hostKey, and false
// if there is none.
func (s *Store) Robots(hostKey string) (RobotsEntry, bool, error) {
	var e RobotsEntry
	var ok bool
	err := s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketRobots).Get(urlKey(hostKey))
		if v == nil {
			return nil
		}
		ok = true
		return decode(v, &e)
	})
	return e, ok, err
}

// Decision kinds: what the store knows happened to a URL.
const (
	DecisionQueued   = "queued"   // put in a run's queue (State says whether still there)
	DecisionCaptured = "captured" // fetched and stored
	DecisionSkipped  = "skipped"  // seen as a link and deliberately not followed
	DecisionFailed   = "failed"   // could not be captured
)

// Decision is one thing the store knows about a URL, as `amber why URL`
// prints it.
type Decision struct {
	Kind   string    // DecisionQueued, DecisionCaptured, DecisionSkipped or DecisionFailed
	Run    uint64    // the run it happened in
	Time   time.Time // when queued, captured, skipped or failed
	Reason Reason    // why it was wanted (queued, captured, failed)
	Parent string    // the page that linked to it
	Anchor string    // the link text or attribute
	Hops   string    // hop path from the seed (queued, captured)
	State  string    // for queued: "queued" while in the queue, "done" after
	Status int       // HTTP status (captured)
	Key    []byte    // capture key (captured)
	Why    string    // the skip reason or the failure's error
}

// Why returns everything the store knows about url across runs, oldest
// first.
func (s *Store) Why(url string) ([]Decision, error) {
	var out []Decision
	uk := urlKey(url)
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketFrontier).ForEach(func(k, v []byte) error {
			if v != nil || len(k) != 8 {
				return nil
			}
			run := binary.BigEndian.Uint64(k)
			rb := tx.Bucket(bucketFrontier).Bucket(k)
			if b := rb.Bucket(bucketSeen); b != nil {
				if v := b.Get(uk); v != nil && !bytes.Equal(v, seenCaptured) {
					var r seenRecord
					if err := decode(v, &r); err != nil {
						return err
					}
					out = append(out, Decision{Kind: DecisionQueued, Run: run, Time: time.Unix(0, r.Time).UTC(),
						Reason: r.Reason, Parent: r.Parent, Anchor: r.Anchor, Hops: r.Hops, State: r.State})
				}
			}
			if b := rb.Bucket(bucketSkips); b != nil {
				if v := b.Get(uk); v != nil {
					var r skipRecord
					if err := decode(v, &r); err != nil {
						return err
					}
					out = append(out, Decision{Kind: DecisionSkipped, Run: run, Time: r.Time,
						Parent: r.Parent, Anchor: r.Anchor, Why: r.Why})
				}
			}
			if b := rb.Bucket(bucketFailures); b != nil {
				if v := b.Get(uk); v != nil {
					var r Failure
					if err := decode(v, &r); err != nil {
						return err
					}
					out = append(out, Decision{Kind: DecisionFailed, Run: run, Time: r.Time,
						Reason: r.Reason, Parent: r.Parent, Why: r.Err})
				}
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	caps, err := s.CapturesOf(url)
	if err != nil {
		return nil, err
	}
	for _, c := range caps {
		out = append(out, Decision{Kind: DecisionCaptured, Run: c.Run, Time: c.Time, Reason: c.Reason,
			Parent: c.Parent, Anchor: c.Anchor, Hops: c.Hops, Status: c.Status, Key: c.Key})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Run != out[j].Run {
			return out[i].Run < out[j].Run
		}
		return out[i].Time.Before(out[j].Time)
	})
	return out, nil
}
