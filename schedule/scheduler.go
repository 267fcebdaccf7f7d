package schedule

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/amberarchive/amber/archive"
)

// ErrRunning is returned by [Scheduler.RunJob] for a job that is running.
var ErrRunning = errors.New("schedule: the job is already running")

// ErrNoJob is returned for a job name that is not configured.
var ErrNoJob = errors.New("schedule: no such job")

// Options tune a [Scheduler]. The zero value is usable.
type Options struct {
	// Now is the clock; default time.Now.
	Now func() time.Time
	// After waits like time.After; default time.After. With Now, it lets
	// tests drive the schedule with a fake clock.
	After func(time.Duration) <-chan time.Time
	// Runner performs the runs; default a [CrawlRunner] on the store.
	Runner Runner
	// MaxConcurrent is how many jobs run at once on the store; default 1.
	MaxConcurrent int
	// Log gets a line when a run starts and when it ends, with its counts;
	// default: discarded.
	Log *slog.Logger
}

// Scheduler runs jobs when their schedules say, one store, no overlap.
//
// Its state lives in the store ([archive.JobState]): the time of each job's
// next run and its last run's result, so a restart neither forgets a run
// nor repeats one. On [Scheduler.Run]:
//
//   - a job whose last run did not finish (stopped, killed, failed) resumes
//     that run at once instead of starting a new one;
//   - a job whose next run time passed while amber was not running runs
//     once at once, however many slots were missed;
//   - a job never seen before is scheduled for its next slot.
//
// A job never runs twice at once; after a run, its next run is the first
// slot after the run ended, so slots that passed during a long run are
// skipped, not queued up. At most MaxConcurrent jobs run at a time; jobs due
// together start in order of due time, then name.
type Scheduler struct {
	store *archive.Store
	jobs  []Job
	opts  Options

	mu      sync.Mutex
	running map[string]bool
}

// New returns a scheduler of jobs on store.
func New(store *archive.Store, jobs []Job, opts Options) (*Scheduler, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.After == nil {
		opts.After = time.After
	}
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = 1
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Runner == nil {
		opts.Runner = NewCrawlRunner(store, CrawlOptions{Now: opts.Now})
	}
	seen := map[string]bool{}
	for _, j := range jobs {
		if j.Name == "" || seen[j.Name] {
			return nil, fmt.Errorf("schedule: job names must be set and unique (%q)", j.Name)
		}
		seen[j.Name] = true
	}
	return &Scheduler{store: store, jobs: jobs, opts: opts, running: map[string]bool{}}, nil
}

// Jobs returns the configured jobs.
func (s *Scheduler) Jobs() []Job { return s.jobs }

func (s *Scheduler) job(name string) (Job, bool) {
	for _, j := range s.jobs {
		if j.Name == name {
			return j, true
		}
	}
	return Job{}, false
}

// RunJob runs the job called name now and waits for the run to end: its
// last run, if unfinished, is resumed; otherwise a new run starts. Its next
// scheduled time is left alone unless it has passed.
func (s *Scheduler) RunJob(ctx context.Context, name string) (archive.Run, error) {
	j, ok := s.job(name)
	if !ok {
		return archive.Run{}, fmt.Errorf("%w: %q", ErrNoJob, name)
	}
	if !s.claim(name) {
		return archive.Run{}, fmt.Errorf("%w: %q", ErrRunning, name)
	}
	defer s.release(name)
	return s.execute(ctx, j)
}

func (s *Scheduler) claim(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running[name] {
		return false
	}
	s.running[name] = true
	return true
}

func (s *Scheduler) release(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.running, name)
}

// unfinished reports whether the newest run of job is to be resumed.
func (s *Scheduler) unfinished(job string) (archive.Run, bool, error) {
	last, err := s.store.LastRun(job)
	if errors.Is(err, archive.ErrNotFound) {
		return archive.Run{}, false, nil
	}
	if err != nil {
		return archive.Run{}, false, err
	}
	return last, last.Status != archive.RunFinished, nil
}

// execute performs one run of j (resuming an unfinished one) and records
// it in the job's state. The caller has claimed j.
func (s *Scheduler) execute(ctx context.Context, j Job) (archive.Run, error) {
	now := s.opts.Now().UTC()
	run, resume, err := s.unfinished(j.Name)
	if err != nil {
		return archive.Run{}, err
	}
	if resume {
		err = s.store.UpdateRun(ctx, run.ID, func(r *archive.Run) error {
			r.Status, r.Ended = archive.RunRunning, time.Time{}
			return nil
		})
		run.Status, run.Ended = archive.RunRunning, time.Time{}
	} else {
		run, err = s.store.CreateRun(ctx, archive.Run{Job: j.Name, Started: now, Seeds: j.Seeds, Settings: j.Settings.Map()})
	}
	if err != nil {
		return archive.Run{}, fmt.Errorf("schedule: start job %q: %w", j.Name, err)
	}
	err = s.store.UpdateJob(ctx, j.Name, func(st *archive.JobState) error {
		st.LastRun, st.LastStatus, st.LastStart, st.LastEnd = run.ID, archive.RunRunning, run.Started, time.Time{}
		st.AddRun(run.ID)
		return nil
	})
	if err != nil {
		return archive.Run{}, fmt.Errorf("schedule: start job %q: %w", j.Name, err)
	}
	s.opts.Log.Info("run start", "job", j.Name, "run", run.ID, "resumed", resume, "seeds", len(j.Seeds))
	final, rerr := s.opts.Runner.Run(ctx, j, run)
	end := s.opts.Now().UTC()
	if final.ID == 0 {
		final = run
		final.Status = archive.RunFailed
	}
	err = s.store.UpdateJob(context.WithoutCancel(ctx), j.Name, func(st *archive.JobState) error {
		st.LastStatus, st.LastEnd = final.Status, final.Ended
		if st.LastEnd.IsZero() && final.Status != archive.RunRunning {
			st.LastEnd = end
		}
		if st.Next.IsZero() || !st.Next.After(end) {
			st.Next = j.Next(end)
		}
		return nil
	})
	c := final.Counts
	args := []any{"job", j.Name, "run", final.ID, "status", final.Status,
		"captures", c.Captures, "bytes", c.Bytes, "not_modified", c.ByStatus["304"], "revisits", c.Revisits,
		"failed", c.Failed, "took", end.Sub(now).Round(time.Millisecond)}
	if rerr != nil {
		s.opts.Log.Error("run end", append(args, "err", rerr)...)
	} else {
		s.opts.Log.Info("run end", args...)
	}
	return final, errors.Join(rerr, err)
}

// due is when each job runs next; zero means not scheduled.
type dueJob struct {
	job Job
	at  time.Time
}

// plan reads each job's state and decides its first due time.
func (s *Scheduler) plan(ctx context.Context) ([]*dueJob, error) {
	now := s.opts.Now().UTC()
	var out []*dueJob
	for _, j := range s.jobs {
		d := &dueJob{job: j}
		_, resume, err := s.unfinished(j.Name)
		if err != nil {
			return nil, err
		}
		st, err := s.store.Job(j.Name)
		if err != nil && !errors.Is(err, archive.ErrNotFound) {
			return nil, err
		}
		switch {
		case resume:
			d.at = now
		case !st.Next.IsZero() && j.cron != nil:
			d.at = st.Next // in the past: missed while down, runs once now
		default:
			d.at = j.Next(now)
			if err := s.store.UpdateJob(ctx, j.Name, func(st *archive.JobState) error { st.Next = d.at; return nil }); err != nil {
				return nil, err
			}
		}
		out = append(out, d)
	}
	return out, nil
}

// Run runs jobs when they are due until ctx is cancelled, then waits for
// the runs in progress to stop (the crawler commits what is in flight) and
// returns nil. Errors of single runs are logged and do not stop the loop;
// an error reading the store's job state at start is returned.
func (s *Scheduler) Run(ctx context.Context) error {
	plan, err := s.plan(ctx)
	if err != nil {
		return fmt.Errorf("schedule: %w", err)
	}
	type result struct {
		d   *dueJob
		end time.Time
	}
	done := make(chan result)
	active := 0
	busy := map[*dueJob]bool{}
	for {
		now := s.opts.Now()
		ready := make([]*dueJob, 0, len(plan))
		for _, d := range plan {
			if !busy[d] && !d.at.IsZero() && !d.at.After(now) {
				ready = append(ready, d)
			}
		}
		sort.Slice(ready, func(i, k int) bool {
			if !ready[i].at.Equal(ready[k].at) {
				return ready[i].at.Before(ready[k].at)
			}
			return ready[i].job.Name < ready[k].job.Name
		})
		for _, d := range ready {
			if active >= s.opts.MaxConcurrent || ctx.Err() != nil {
				break
			}
			if !s.claim(d.job.Name) {
				continue // RunJob has it; look again when it may be done
			}
			busy[d] = true
			active++
			go func(d *dueJob) {
				_, _ = s.execute(ctx, d.job) // logged by execute
				s.release(d.job.Name)
				done <- result{d, s.opts.Now()}
			}(d)
		}
		if ctx.Err() != nil {
			for ; active > 0; active-- {
				<-done
			}
			return nil
		}
		var timer <-chan time.Time
		if active < s.opts.MaxConcurrent {
			var next time.Time
			for _, d := range plan {
				if !busy[d] && !d.at.IsZero() && (next.IsZero() || d.at.Before(next)) {
					next = d.at
				}
			}
			if !next.IsZero() {
				wait := next.Sub(now)
				if wait <= 0 {
					wait = time.Second // due but claimed by RunJob: look again soon
				}
				timer = s.opts.After(wait)
			}
		}
		select {
		case <-ctx.Done():
		case r := <-done:
			active--
			delete(busy, r.d)
			r.d.at = r.d.job.Next(r.end)
			if st, err := s.store.Job(r.d.job.Name); err == nil && st.Next.After(r.end) {
				r.d.at = st.Next
			}
		case <-timer:
		}
	}
}
