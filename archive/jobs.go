package archive

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/textproto"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// bucketJobs holds the state of scheduled jobs: name -> JobState. It is
// created by the first [Store.UpdateJob]; files written before it existed
// simply have no jobs.
var bucketJobs = []byte("jobs")

// historyCap is how many run IDs a job's history keeps, newest last.
const historyCap = 1000

// JobState is what the store remembers of one scheduled job between
// processes: when it runs next and how its last run went.
type JobState struct {
	Name       string
	Next       time.Time // when the schedule next wants a run (zero: not scheduled yet)
	LastRun    uint64    // ID of the newest run of the job (0: never ran)
	LastStatus string    // that run's status (RunRunning, RunStopped, RunFinished, RunFailed)
	LastStart  time.Time // when it started (the first start, for a resumed run)
	LastEnd    time.Time // when it ended (zero while running or after a kill)
	History    []uint64  // run IDs of the job, oldest first (at most 1000)
}

// AddRun appends run to the history, once, dropping the oldest entries
// beyond the cap.
func (j *JobState) AddRun(run uint64) {
	for _, id := range j.History {
		if id == run {
			return
		}
	}
	j.History = append(j.History, run)
	if len(j.History) > historyCap {
		j.History = append([]uint64(nil), j.History[len(j.History)-historyCap:]...)
	}
}

// Job returns the stored state of the job name, or an error wrapping
// ErrNotFound.
func (s *Store) Job(name string) (JobState, error) {
	var j JobState
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketJobs)
		var v []byte
		if b != nil {
			v = b.Get([]byte(name))
		}
		if v == nil {
			return fmt.Errorf("archive: job %q: %w", name, ErrNotFound)
		}
		return decode(v, &j)
	})
	return j, err
}

// Jobs returns the stored state of every job, by name.
func (s *Store) Jobs() ([]JobState, error) {
	var out []JobState
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketJobs)
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, v []byte) error {
			var j JobState
			if err := decode(v, &j); err != nil {
				return err
			}
			out = append(out, j)
			return nil
		})
	})
	return out, err
}

// UpdateJob changes the state of job name with fn in one transaction,
// starting from the zero JobState (with Name set) for a job never stored.
// An error from fn aborts the change and is returned.
func (s *Store) UpdateJob(ctx context.Context, name string, fn func(*JobState) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if name == "" {
		return fmt.Errorf("archive: update job: empty name")
	}
	err := s.update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketJobs)
		if err != nil {
			return err
		}
		j := JobState{Name: name}
		if v := b.Get([]byte(name)); v != nil {
			if err := decode(v, &j); err != nil {
				return err
			}
		}
		if err := fn(&j); err != nil {
			return err
		}
		j.Name = name
		v, err := encode(&j)
		if err != nil {
			return err
		}
		return b.Put([]byte(name), v)
	})
	if err != nil {
		return fmt.Errorf("archive: update job %q: %w", name, err)
	}
	return nil
}

// Validators returns the ETag and Last-Modified of the newest full answer
// kept for url, for a conditional re-fetch: 304 captures are passed over
// (they confirm the answer before them), and if the newest other capture is
// not a 200 (the page was gone or moved), there are no validators. It reads
// the newest captures of url only, with a reverse cursor: cheap to call
// once per fetch.
func (s *Store) Validators(url string) (etag, lastModified string, err error) {
	prefix := append([]byte(surt(url)), 0)
	end := append(append([]byte(nil), prefix...), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
	err = s.view(func(tx *bolt.Tx) error {
		c := capsOf(tx).Cursor()
		var v []byte
		k, _ := c.Seek(end)
		if k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
		for ; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Prev() {
			cp, err := decodeCapture(capsOf(tx), k, v)
			if err != nil {
				return err
			}
			if cp.URL != url || cp.Status == http.StatusNotModified {
				continue
			}
			if cp.Status != http.StatusOK || cp.Truncated != "" {
				return nil
			}
			h := headerOf(cp.ResponseHead)
			etag, lastModified = h.Get("Etag"), h.Get("Last-Modified")
			return nil
		}
		return nil
	})
	return etag, lastModified, err
}

// headerOf parses the header fields of a stored response head (status line
// first); a damaged head gives what could be read.
func headerOf(head []byte) textproto.MIMEHeader {
	r := textproto.NewReader(bufio.NewReader(bytes.NewReader(head)))
	if _, err := r.ReadLine(); err != nil {
		return textproto.MIMEHeader{}
	}
	h, _ := r.ReadMIMEHeader()
	if h == nil {
		h = textproto.MIMEHeader{}
	}
	return h
}

// Queued calls fn with every URL ever queued in run, as an Item with its
// Reason, Parent, Anchor, Hops and Depth (the L hops), in URL order. It is
// how an incremental re-crawl finds the links of a page the server said was
// not modified: the URLs the page led to last time. URLs longer than the
// store's key limit are cut in their keys and are not listed. HostKey is
// not set. A run's captured URLs are read from its captures (compact.go),
// which reads every capture of the store once.
func (s *Store) Queued(ctx context.Context, run uint64, fn func(Item) error) error {
	var items []Item
	var fromCaptures bool // some captured URLs are known only from their captures
	err := s.view(func(tx *bolt.Tx) error {
		fromCaptures = compacted(tx, run)
		b := runBucket(tx, run, bucketSeen)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			if len(k) == maxKey && k[maxKey-65] == '#' {
				return nil // cut: the whole URL is not in the key
			}
			if bytes.Equal(v, seenCaptured) {
				fromCaptures = true
				return nil
			}
			var r seenRecord
			if err := decode(v, &r); err != nil {
				return err
			}
			items = append(items, Item{URL: string(k), Reason: r.Reason, Parent: r.Parent, Anchor: r.Anchor,
				Hops: r.Hops, Depth: strings.Count(r.Hops, string(rune(HopLink)))})
			return nil
		})
	})
	if err != nil {
		return err
	}
	if fromCaptures {
		kept := make(map[string]bool, len(items))
		for _, it := range items {
			kept[it.URL] = true
		}
		err := s.runCaptures(ctx, run, func(c *Capture) error {
			if !kept[c.URL] {
				items = append(items, Item{URL: c.URL, Reason: c.Reason, Parent: c.Parent, Anchor: c.Anchor,
					Hops: c.Hops, Depth: strings.Count(c.Hops, string(rune(HopLink)))})
			}
			return nil
		})
		if err != nil {
			return err
		}
		sortItems(items)
	}
	for _, it := range items {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(it); err != nil {
			return err
		}
	}
	return nil
}
