package schedule

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/amberarchive/amber/archive"
)

// fakeClock drives the scheduler: After registers a waiter that fires when
// the test moves the clock past it.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeWaiter
	added   chan struct{} // one send per After call
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock(t time.Time) *fakeClock {
	return &fakeClock{now: t, added: make(chan struct{}, 1000)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	c.waiters = append(c.waiters, fakeWaiter{c.now.Add(d), ch})
	c.added <- struct{}{}
	return ch
}

// Set moves the clock to t and fires the waiters that are due.
func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
	keep := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(t) {
			w.ch <- t
		} else {
			keep = append(keep, w)
		}
	}
	c.waiters = keep
}

// waitIdle waits until the scheduler asks the clock for a wait, i.e. it has
// done all it can at the current time. The timeout only keeps a broken
// scheduler from hanging the test.
func (c *fakeClock) waitIdle(t *testing.T) {
	t.Helper()
	select {
	case <-c.added:
	case <-time.After(10 * time.Second):
		t.Fatal("the scheduler never waited on the clock")
	}
}

// fakeRunner records runs; a run blocks until released when hold is set.
type fakeRunner struct {
	store *archive.Store
	clock *fakeClock
	hold  bool

	mu      sync.Mutex
	calls   []call
	active  int
	maxSeen int
	started chan call
	release chan struct{}
}

type call struct {
	job string
	run uint64
}

func newFakeRunner(store *archive.Store, clock *fakeClock, hold bool) *fakeRunner {
	return &fakeRunner{store: store, clock: clock, hold: hold, started: make(chan call, 100), release: make(chan struct{}, 100)}
}

func (f *fakeRunner) Run(ctx context.Context, job Job, run archive.Run) (archive.Run, error) {
	c := call{job.Name, run.ID}
	f.mu.Lock()
	f.calls = append(f.calls, c)
	f.active++
	if f.active > f.maxSeen {
		f.maxSeen = f.active
	}
	f.mu.Unlock()
	f.started <- c
	status := archive.RunFinished
	if f.hold {
		select {
		case <-f.release:
		case <-ctx.Done():
			status = archive.RunStopped
		}
	}
	f.mu.Lock()
	f.active--
	f.mu.Unlock()
	err := f.store.UpdateRun(context.WithoutCancel(ctx), run.ID, func(r *archive.Run) error {
		r.Status, r.Ended = status, f.clock.Now().UTC()
		return nil
	})
	final, _ := f.store.Run(run.ID)
	return final, err
}

func (f *fakeRunner) callsOf() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

func (f *fakeRunner) waitStarted(t *testing.T) call {
	t.Helper()
	select {
	case c := <-f.started:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("no run started")
		return call{}
	}
}

func openStore(t testing.TB) *archive.Store {
	t.Helper()
	s, err := archive.Open(filepath.Join(t.TempDir(), "amber.db"), archive.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustJob(t *testing.T, name, sched, tz string) Job {
	t.Helper()
	j, err := NewJob(name, []string{"http://example.test/"}, sched, tz, DefaultSettings())
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// startScheduler runs s.Run in the background until the test ends.
func startScheduler(t *testing.T, s *Scheduler) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

var t0 = time.Date(2024, 3, 1, 10, 30, 0, 0, time.UTC)

func TestNewJobWaitsForItsFirstSlot(t *testing.T) {
	store := openStore(t)
	clock := newFakeClock(t0)
	fr := newFakeRunner(store, clock, false)
	s, err := New(store, []Job{mustJob(t, "cdt", "0 */6 * * *", "UTC")}, Options{Now: clock.Now, After: clock.After, Runner: fr})
	if err != nil {
		t.Fatal(err)
	}
	startScheduler(t, s)
	clock.waitIdle(t)
	if n := len(fr.callsOf()); n != 0 {
		t.Fatalf("%d runs before the first slot, want 0", n)
	}
	st, err := store.Job("cdt")
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC); !st.Next.Equal(want) {
		t.Fatalf("next run %s, want %s (persisted)", st.Next, want)
	}
	clock.Set(st.Next)
	c := fr.waitStarted(t)
	clock.waitIdle(t)
	st, _ = store.Job("cdt")
	if st.LastRun != c.run || st.LastStatus != archive.RunFinished || len(st.History) != 1 {
		t.Fatalf("state after the run: %+v", st)
	}
	if want := time.Date(2024, 3, 1, 18, 0, 0, 0, time.UTC); !st.Next.Equal(want) {
		t.Fatalf("next run %s, want %s", st.Next, want)
	}
	r, _ := store.Run(c.run)
	if r.Job != "cdt" || r.Settings["delay"] != "1s" {
		t.Fatalf("run %+v: want job cdt with its settings", r)
	}
}

// A run missed while amber was down runs once at start, not once per
// missed slot; the next one is the first slot after it.
func TestMissedSlotsRunOnceAtStart(t *testing.T) {
	store := openStore(t)
	ctx := context.Background()
	if err := store.UpdateJob(ctx, "cdt", func(st *archive.JobState) error {
		st.Next = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC) // 10h30 ago: 11 hourly slots missed
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	clock := newFakeClock(t0)
	fr := newFakeRunner(store, clock, false)
	s, _ := New(store, []Job{mustJob(t, "cdt", "0 * * * *", "UTC")}, Options{Now: clock.Now, After: clock.After, Runner: fr})
	startScheduler(t, s)
	fr.waitStarted(t)
	clock.waitIdle(t)
	if n := len(fr.callsOf()); n != 1 {
		t.Fatalf("%d runs at start, want 1", n)
	}
	st, _ := store.Job("cdt")
	if want := time.Date(2024, 3, 1, 11, 0, 0, 0, time.UTC); !st.Next.Equal(want) {
		t.Fatalf("next %s, want %s", st.Next, want)
	}
	clock.Set(st.Next)
	fr.waitStarted(t)
	clock.waitIdle(t)
	if n := len(fr.callsOf()); n != 2 {
		t.Fatalf("%d runs, want 2", n)
	}
}

// The job's last run, stopped (or killed while running, or failed), is
// resumed at start: no new run is created.
func TestUnfinishedRunResumes(t *testing.T) {
	for _, status := range []string{archive.RunStopped, archive.RunRunning, archive.RunFailed} {
		t.Run(status, func(t *testing.T) {
			store := openStore(t)
			ctx := context.Background()
			old, err := store.CreateRun(ctx, archive.Run{Job: "cdt", Seeds: []string{"http://example.test/"}})
			if err != nil {
				t.Fatal(err)
			}
			if err := store.UpdateRun(ctx, old.ID, func(r *archive.Run) error { r.Status = status; return nil }); err != nil {
				t.Fatal(err)
			}
			clock := newFakeClock(t0)
			fr := newFakeRunner(store, clock, false)
			s, _ := New(store, []Job{mustJob(t, "cdt", "@daily", "UTC")}, Options{Now: clock.Now, After: func(d time.Duration) <-chan time.Time { t.Logf("after %s", d); return clock.After(d) }, Runner: fr, Log: slog.New(slog.NewTextHandler(testWriter{t}, nil))})
			startScheduler(t, s)
			c := fr.waitStarted(t)
			clock.waitIdle(t)
			if c.run != old.ID {
				t.Fatalf("ran run %d, want the unfinished run %d resumed", c.run, old.ID)
			}
			runs, _ := store.Runs()
			if len(runs) != 1 || runs[0].Status != archive.RunFinished {
				t.Fatalf("runs %+v: want the one run, finished", runs)
			}
			// The next run of the job is a new one.
			st, _ := store.Job("cdt")
			clock.Set(st.Next)
			if c := fr.waitStarted(t); c.run == old.ID {
				t.Fatalf("a finished run was run again")
			}
		})
	}
}

// A job never overlaps itself: slots that pass while it runs are skipped,
// and RunJob refuses it.
func TestNoOverlap(t *testing.T) {
	store := openStore(t)
	clock := newFakeClock(t0)
	fr := newFakeRunner(store, clock, true)
	s, _ := New(store, []Job{mustJob(t, "cdt", "@every 1m", "")}, Options{Now: clock.Now, After: clock.After, Runner: fr})
	startScheduler(t, s)
	clock.waitIdle(t)
	clock.Set(t0.Add(time.Minute))
	fr.waitStarted(t)
	for i := 2; i < 10; i++ {
		clock.Set(t0.Add(time.Duration(i) * time.Minute)) // slots pass while it runs
	}
	if _, err := s.RunJob(context.Background(), "cdt"); !errors.Is(err, ErrRunning) {
		t.Fatalf("RunJob while running: %v, want ErrRunning", err)
	}
	if n := len(fr.callsOf()); n != 1 {
		t.Fatalf("%d runs started, want 1", n)
	}
	fr.release <- struct{}{}
	clock.waitIdle(t)
	if n := len(fr.callsOf()); n != 1 {
		t.Fatalf("%d runs after the long run, want 1 (missed slots are skipped)", n)
	}
	st, _ := store.Job("cdt")
	if want := t0.Add(10 * time.Minute); !st.Next.Equal(want) {
		t.Fatalf("next %s, want %s: a minute after the run ended", st.Next, want)
	}
}

// Jobs run one at a time on a store unless MaxConcurrent says otherwise.
func TestMaxConcurrentJobs(t *testing.T) {
	for _, max := range []int{1, 2} {
		t.Run("max"+string(rune('0'+max)), func(t *testing.T) {
			store := openStore(t)
			clock := newFakeClock(t0)
			fr := newFakeRunner(store, clock, true)
			jobs := []Job{mustJob(t, "a", "0 12 * * *", "UTC"), mustJob(t, "b", "0 12 * * *", "UTC"), mustJob(t, "c", "0 12 * * *", "UTC")}
			s, _ := New(store, jobs, Options{Now: clock.Now, After: clock.After, Runner: fr, MaxConcurrent: max})
			stop := startScheduler(t, s)
			clock.waitIdle(t)
			clock.Set(time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC))
			for range max {
				fr.waitStarted(t)
			}
			for range 3 {
				fr.release <- struct{}{}
			}
			for range 3 - max {
				fr.waitStarted(t)
			}
			stop() // waits for the runs in progress
			fr.mu.Lock()
			defer fr.mu.Unlock()
			if len(fr.calls) != 3 {
				t.Fatalf("%d runs, want 3", len(fr.calls))
			}
			if fr.maxSeen != max {
				t.Fatalf("%d jobs ran at once, want %d", fr.maxSeen, max)
			}
			if max == 1 && (fr.calls[0].job != "a" || fr.calls[1].job != "b") {
				t.Fatalf("order %v, want a, b, c (due together: by name)", fr.calls)
			}
		})
	}
}

func TestScheduleTimeZones(t *testing.T) {
	from := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC) // 08:00 in Shanghai
	cases := []struct {
		name, sched, tz string
		want            time.Time
	}{
		{"job zone", "0 6 * * *", "Asia/Shanghai", time.Date(2024, 1, 1, 22, 0, 0, 0, time.UTC)},
		{"CRON_TZ wins", "CRON_TZ=UTC 0 6 * * *", "Asia/Shanghai", time.Date(2024, 1, 1, 6, 0, 0, 0, time.UTC)},
		{"utc", "0 */6 * * *", "UTC", time.Date(2024, 1, 1, 6, 0, 0, 0, time.UTC)},
		{"daily", "@daily", "Asia/Shanghai", time.Date(2024, 1, 1, 16, 0, 0, 0, time.UTC)},
		{"every", "@every 30m", "Asia/Shanghai", from.Add(30 * time.Minute)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			j := mustJob(t, "x", c.sched, c.tz)
			if got := j.Next(from); !got.Equal(c.want) {
				t.Fatalf("next after %s: %s, want %s", from, got.UTC(), c.want)
			}
		})
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }
