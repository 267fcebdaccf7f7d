package archive

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func item(u string) Item {
	return Item{URL: u, HostKey: hostKeyOf(u), Reason: ReasonArticle, Parent: "http://example.test/", Anchor: "link", Hops: "L"}
}

func TestFrontier(t *testing.T) {
	s := newStore(t, Options{})
	run := newRun(t, s, "")
	a, b, c := "http://example.test/a", "http://example.test/b", "http://other.test/c"

	res := commit(t, s, run.ID, Batch{Enqueue: []Item{item(a), item(b), item(c), item(a)}})
	if len(res.Queued) != 3 {
		t.Fatalf("Queued %d items, want 3 (a repeated in one batch)", len(res.Queued))
	}
	for i, it := range res.Queued {
		if it.Seq != uint64(i+1) {
			t.Errorf("item %s Seq %d, want %d", it.URL, it.Seq, i+1)
		}
	}

	t.Run("enqueue dedup across batches", func(t *testing.T) {
		res := commit(t, s, run.ID, Batch{Enqueue: []Item{item(a), item(b)}})
		if len(res.Queued) != 0 {
			t.Errorf("re-enqueue queued %v", res.Queued)
		}
		if ok, err := s.Seen(run.ID, a); !ok || err != nil {
			t.Errorf("Seen(a) = %v, %v", ok, err)
		}
		if ok, _ := s.Seen(run.ID, "http://example.test/never"); ok {
			t.Error("Seen of an unknown URL")
		}
		other := newRun(t, s, "")
		if res := commit(t, s, other.ID, Batch{Enqueue: []Item{item(a)}}); len(res.Queued) != 1 {
			t.Errorf("a new run did not queue a URL seen in another run")
		}
	})

	t.Run("QueueHosts and PeekQueue", func(t *testing.T) {
		hosts, err := s.QueueHosts(run.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int{"http://example.test:80": 2, "http://other.test:80": 1}
		if fmt.Sprint(hosts) != fmt.Sprint(want) {
			t.Errorf("QueueHosts = %v, want %v", hosts, want)
		}
		items, err := s.PeekQueue(run.ID, "http://example.test:80", 0, 10)
		if err != nil || len(items) != 2 || items[0].URL != a || items[1].URL != b {
			t.Fatalf("PeekQueue = %v, %v", items, err)
		}
		after, _ := s.PeekQueue(run.ID, "http://example.test:80", items[0].Seq, 10)
		if len(after) != 1 || after[0].URL != b {
			t.Errorf("PeekQueue after %d = %v", items[0].Seq, after)
		}
		one, _ := s.PeekQueue(run.ID, "http://example.test:80", 0, 1)
		if len(one) != 1 {
			t.Errorf("PeekQueue n=1 gave %d", len(one))
		}
		// A host key that is a prefix of another must not see its items.
		none, _ := s.PeekQueue(run.ID, "http://example.test:8", 0, 10)
		if len(none) != 0 {
			t.Errorf("PeekQueue of a prefix host = %v", none)
		}
	})

	t.Run("Requeue keeps Seq, Done removes", func(t *testing.T) {
		items, _ := s.PeekQueue(run.ID, "http://example.test:80", 0, 10)
		ia, ib := items[0], items[1]
		ia.Tries = 2
		ia.NotBefore = time.Unix(1800000000, 0).UTC()
		commit(t, s, run.ID, Batch{Requeue: []Item{ia}, Done: []Item{ib}})
		got, _ := s.PeekQueue(run.ID, "http://example.test:80", 0, 10)
		if len(got) != 1 || got[0].URL != a || got[0].Seq != ia.Seq || got[0].Tries != 2 || !got[0].NotBefore.Equal(ia.NotBefore) {
			t.Errorf("after requeue/done: %+v", got)
		}
		if ok, _ := s.Seen(run.ID, b); !ok {
			t.Error("a done URL is no longer seen")
		}
		if res := commit(t, s, run.ID, Batch{Enqueue: []Item{item(b)}}); len(res.Queued) != 0 {
			t.Error("a done URL was queued again")
		}
		if _, err := s.Commit(context.Background(), run.ID, Batch{Requeue: []Item{item(a)}}); err == nil {
			t.Error("Requeue without Seq succeeded")
		}
	})

	t.Run("capture and done commit together", func(t *testing.T) {
		items, _ := s.PeekQueue(run.ID, "http://other.test:80", 0, 10)
		cap := testCapture(c, time.Now(), []byte("c"))
		commit(t, s, run.ID, Batch{Done: items, Captures: []*Capture{cap}, Enqueue: []Item{item("http://other.test/d")}})
		got, _ := s.PeekQueue(run.ID, "http://other.test:80", 0, 10)
		if len(got) != 1 || got[0].URL != "http://other.test/d" {
			t.Errorf("queue after commit: %v", got)
		}
	})

	t.Run("unknown run fails and changes nothing", func(t *testing.T) {
		_, err := s.Commit(context.Background(), 999, Batch{Enqueue: []Item{item("http://x.test/")}})
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("Commit to run 999: %v, want ErrNotFound", err)
		}
		if ok, _ := s.Seen(999, "http://x.test/"); ok {
			t.Error("failed commit left a seen record")
		}
	})
}

func TestSkipsFailuresRobotsWhy(t *testing.T) {
	s := newStore(t, Options{Now: func() time.Time { return time.Unix(1700000050, 0) }})
	ctx := context.Background()
	run := newRun(t, s, "")
	ad := "http://ads.test/banner"
	skip := Skip{URL: ad, Parent: "http://example.test/a", Anchor: "Buy", Why: "off-site link, not a [Source] anchor"}
	var skips []Skip
	for range 1000 {
		skips = append(skips, skip)
	}
	commit(t, s, run.ID, Batch{Skipped: skips})
	later := skip
	later.Why = "second opinion"
	commit(t, s, run.ID, Batch{Skipped: []Skip{later}})

	commit(t, s, run.ID, Batch{
		Enqueue:  []Item{item("http://example.test/gone")},
		Failures: []Failure{{URL: "http://example.test/gone", Reason: ReasonArticle, Tries: 3, Err: "dial tcp: connection refused"}},
		Robots:   []RobotsEntry{{HostKey: "http://example.test:80", Fetched: time.Unix(1700000000, 0).UTC(), Status: 200, Body: []byte("User-agent: *\nDisallow: /private/\n")}},
	})
	commit(t, s, run.ID, Batch{Robots: []RobotsEntry{{HostKey: "http://example.test:80", Fetched: time.Unix(1600000000, 0).UTC(), Status: 500}}})
	c := testCapture("http://example.test/gone", time.Unix(1700000100, 0).UTC(), []byte("x"))
	c.Status = 404
	commit(t, s, run.ID, Batch{Captures: []*Capture{c}})

	r, err := s.Run(run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r.Counts.Skipped != 1 {
		t.Errorf("Skipped = %d, want 1 for one URL skipped 1001 times", r.Counts.Skipped)
	}

	fails, err := s.Failures(run.ID)
	if err != nil || len(fails) != 1 || fails[0].Err != "dial tcp: connection refused" || fails[0].Time.IsZero() {
		t.Errorf("Failures = %+v, %v", fails, err)
	}

	re, ok, err := s.Robots("http://example.test:80")
	if err != nil || !ok || re.Status != 200 || string(re.Body) != "User-agent: *\nDisallow: /private/\n" {
		t.Errorf("Robots = %+v, %v, %v; want the newer 200 entry", re, ok, err)
	}
	if _, ok, _ := s.Robots("http://nowhere.test:80"); ok {
		t.Error("Robots of an unknown host found")
	}

	tests := []struct {
		url   string
		kinds []string
		check func(t *testing.T, ds []Decision)
	}{
		{ad, []string{DecisionSkipped}, func(t *testing.T, ds []Decision) {
			if ds[0].Why != skip.Why || ds[0].Parent != skip.Parent {
				t.Errorf("skip decision %+v: want the first decision", ds[0])
			}
		}},
		{"http://example.test/gone", []string{DecisionQueued, DecisionFailed, DecisionCaptured}, func(t *testing.T, ds []Decision) {
			if ds[0].Reason != ReasonArticle || ds[0].Hops != "L" || ds[0].State != "queued" {
				t.Errorf("queued decision %+v", ds[0])
			}
			if ds[2].Status != 404 || ds[2].Key == nil {
				t.Errorf("captured decision %+v", ds[2])
			}
		}},
		{"http://never.test/", nil, nil},
	}
	for _, tc := range tests {
		t.Run("why "+tc.url, func(t *testing.T) {
			ds, err := s.Why(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			var kinds []string
			for _, d := range ds {
				kinds = append(kinds, d.Kind)
				if d.Run != run.ID {
					t.Errorf("decision in run %d", d.Run)
				}
			}
			if fmt.Sprint(kinds) != fmt.Sprint(tc.kinds) {
				t.Fatalf("kinds %v, want %v", kinds, tc.kinds)
			}
			if tc.check != nil {
				tc.check(t, ds)
			}
		})
	}
	_ = ctx
}

func TestRunsAndCounters(t *testing.T) {
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	s := newStore(t, Options{Now: func() time.Time { return now }})
	ctx := context.Background()

	r1 := newRun(t, s, "cdt")
	r2 := newRun(t, s, "")
	r3 := newRun(t, s, "cdt")
	if r1.ID != 1 || r2.ID != 2 || r3.ID != 3 {
		t.Fatalf("IDs %d %d %d, want 1 2 3", r1.ID, r2.ID, r3.ID)
	}
	if r1.Status != RunRunning || !r1.Started.Equal(now) {
		t.Errorf("new run %+v", r1)
	}

	ok := testCapture("http://example.test/a", now, []byte("abc"))
	missing := testCapture("http://example.test/b", now, []byte("de"))
	missing.Status, missing.Reason = 404, ReasonSource
	commit(t, s, r1.ID, Batch{
		Captures: []*Capture{ok, missing},
		Enqueue:  []Item{item("http://example.test/c"), item("http://example.test/d")},
		Failures: []Failure{{URL: "http://example.test/e", Err: "timeout"}},
		Skipped:  []Skip{{URL: "http://ads.test/", Why: "ad"}},
	})
	if err := s.UpdateRun(ctx, r1.ID, func(r *Run) error {
		r.Status, r.Ended = RunFinished, now.Add(time.Hour)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Run(r1.ID)
	if err != nil {
		t.Fatal(err)
	}
	c := got.Counts
	wantBytes := int64(len(ok.ResponseHead) + 3 + len(missing.ResponseHead) + 2)
	if c.Captures != 2 || c.Bytes != wantBytes || c.Queued != 2 || c.Failed != 1 || c.Skipped != 1 ||
		c.ByStatus["200"] != 1 || c.ByStatus["404"] != 1 || c.ByStatus["failed"] != 1 ||
		c.ByReason["article"] != 1 || c.ByReason["source"] != 1 {
		t.Errorf("counts %+v (want bytes %d)", c, wantBytes)
	}
	if got.Status != RunFinished || !got.Ended.Equal(now.Add(time.Hour)) {
		t.Errorf("UpdateRun did not stick: %+v", got)
	}

	stop := errors.New("no")
	if err := s.UpdateRun(ctx, r1.ID, func(r *Run) error { r.Status = "bogus"; return stop }); !errors.Is(err, stop) {
		t.Errorf("UpdateRun error %v", err)
	}
	if got, _ := s.Run(r1.ID); got.Status != RunFinished {
		t.Errorf("a failed UpdateRun changed the run")
	}

	tests := []struct {
		job  string
		want uint64
		err  error
	}{{"cdt", 3, nil}, {"", 2, nil}, {"nope", 0, ErrNotFound}}
	for _, tc := range tests {
		t.Run("LastRun "+tc.job, func(t *testing.T) {
			r, err := s.LastRun(tc.job)
			if !errors.Is(err, tc.err) || r.ID != tc.want {
				t.Errorf("LastRun(%q) = %d, %v; want %d, %v", tc.job, r.ID, err, tc.want, tc.err)
			}
		})
	}
	runs, err := s.Runs()
	if err != nil || len(runs) != 3 || runs[0].ID != 1 || runs[2].ID != 3 {
		t.Errorf("Runs = %v, %v", runs, err)
	}
	if _, err := s.Run(42); !errors.Is(err, ErrNotFound) {
		t.Errorf("Run(42): %v", err)
	}
}

func TestConcurrentCommits(t *testing.T) {
	s := newStore(t, Options{})
	run := newRun(t, s, "")
	const workers, per = 16, 20
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				u := fmt.Sprintf("http://w%d.test/%d", w, i)
				c := testCapture(u, time.Now(), []byte(u))
				// Every worker also enqueues the same shared URL.
				res, err := s.Commit(context.Background(), run.ID, Batch{
					Captures: []*Capture{c},
					Enqueue:  []Item{item(u + "/next"), item("http://shared.test/")},
				})
				if err != nil {
					errs <- err
					return
				}
				for _, q := range res.Queued {
					if q.Seq == 0 {
						errs <- fmt.Errorf("queued %s without Seq", q.URL)
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	r, err := s.Run(run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r.Counts.Captures != workers*per || r.Counts.Queued != workers*per+1 {
		t.Errorf("counts %+v, want %d captures and %d queued", r.Counts, workers*per, workers*per+1)
	}
	n := 0
	if err := s.Captures(context.Background(), "", func(*Capture) error { n++; return nil }); err != nil || n != workers*per {
		t.Errorf("%d captures stored, %v", n, err)
	}
	hosts, _ := s.QueueHosts(run.ID)
	total := 0
	for _, k := range hosts {
		total += k
	}
	if total != workers*per+1 {
		t.Errorf("%d items queued, want %d", total, workers*per+1)
	}
}

func TestCommitAfterFailedGroupMember(t *testing.T) {
	// A bad batch committed alongside good ones fails alone.
	s := newStore(t, Options{})
	run := newRun(t, s, "")
	var wg sync.WaitGroup
	var mu sync.Mutex
	var good, bad int
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := Batch{Enqueue: []Item{item(fmt.Sprintf("http://example.test/%d", i))}}
			id := run.ID
			if i%8 == 0 {
				id = 12345 // no such run
			}
			_, err := s.Commit(context.Background(), id, b)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				bad++
			} else {
				good++
			}
		}()
	}
	wg.Wait()
	if good != 28 || bad != 4 {
		t.Errorf("%d good, %d bad commits; want 28 and 4", good, bad)
	}
	r, _ := s.Run(run.ID)
	if r.Counts.Queued != 28 {
		t.Errorf("Queued = %d, want 28", r.Counts.Queued)
	}
}
