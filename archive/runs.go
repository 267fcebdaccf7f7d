package archive

import (
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// CreateRun stores a new run and returns it with its ID (1, 2, 3, ...),
// Started (now, unless set) and Status running.
func (s *Store) CreateRun(ctx context.Context, r Run) (Run, error) {
	if err := ctx.Err(); err != nil {
		return Run{}, err
	}
	if r.Started.IsZero() {
		r.Started = s.now().UTC()
	}
	r.Status = RunRunning
	if r.Counts.ByStatus == nil {
		r.Counts.ByStatus = map[string]int64{}
	}
	if r.Counts.ByReason == nil {
		r.Counts.ByReason = map[string]int64{}
	}
	err := s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketRuns)
		id, err := b.NextSequence()
		if err != nil {
			return err
		}
		r.ID = id
		v, err := encode(&r)
		if err != nil {
			return err
		}
		return b.Put(be64(id), v)
	})
	if err != nil {
		return Run{}, fmt.Errorf("archive: create run in %s: %w", s.path, err)
	}
	return r, nil
}

// UpdateRun changes run id with fn in one transaction (fn may not change
// the ID). An error from fn aborts the change and is returned. When fn
// marks the run finished, the run's seen set is then compacted
// (compactSeen).
func (s *Store) UpdateRun(ctx context.Context, id uint64, fn func(*Run) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var finished bool
	err := s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketRuns)
		v := b.Get(be64(id))
		if v == nil {
			return fmt.Errorf("run %d: %w", id, ErrNotFound)
		}
		var r Run
		if err := decode(v, &r); err != nil {
			return err
		}
		was := r.Status
		if err := fn(&r); err != nil {
			return err
		}
		finished = r.Status == RunFinished && was != RunFinished
		r.ID = id
		nv, err := encode(&r)
		if err != nil {
			return err
		}
		return b.Put(be64(id), nv)
	})
	if err != nil {
		return fmt.Errorf("archive: update run %d: %w", id, err)
	}
	if finished {
		return s.compactSeen(context.WithoutCancel(ctx), id)
	}
	return nil
}

// Run returns run id, or an error wrapping ErrNotFound.
func (s *Store) Run(id uint64) (Run, error) {
	var r Run
	err := s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketRuns).Get(be64(id))
		if v == nil {
			return fmt.Errorf("archive: run %d: %w", id, ErrNotFound)
		}
		return decode(v, &r)
	})
	return r, err
}

// Runs returns every run, oldest first.
func (s *Store) Runs() ([]Run, error) {
	var runs []Run
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRuns).ForEach(func(_, v []byte) error {
			var r Run
			if err := decode(v, &r); err != nil {
				return err
			}
			runs = append(runs, r)
			return nil
		})
	})
	return runs, err
}

// LastRun returns the newest run of job ("" for manual crawls), or an error
// wrapping ErrNotFound.
func (s *Store) LastRun(job string) (Run, error) {
	var r Run
	found := false
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketRuns).Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			var x Run
			if err := decode(v, &x); err != nil {
				return err
			}
			if x.Job == job {
				r, found = x, true
				return nil
			}
		}
		return nil
	})
	if err == nil && !found {
		err = fmt.Errorf("archive: last run of job %q: %w", job, ErrNotFound)
	}
	return r, err
}
