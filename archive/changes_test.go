package archive

import (
	"context"
	"errors"
	"testing"
	"time"
)

// head304 and head200 build response heads with validators.
const (
	head200 = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nETag: \"v1\"\r\nLast-Modified: Thu, 12 May 2016 08:00:00 GMT\r\n\r\n"
	head304 = "HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\n\r\n"
	head404 = "HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\n\r\n"
)

// commitRun stores caps as a new run of job "j".
func commitRun(t *testing.T, s *Store, at time.Time, caps ...*Capture) uint64 {
	t.Helper()
	ctx := context.Background()
	r, err := s.CreateRun(ctx, Run{Job: "j"})
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range caps {
		c.Time = at.Add(time.Duration(i) * time.Second)
		c.Run = r.ID
		if _, err := s.Commit(ctx, r.ID, Batch{Captures: []*Capture{c}}); err != nil {
			t.Fatal(err)
		}
	}
	return r.ID
}

func withHead(c *Capture, status int, head string) *Capture {
	c.Status, c.ResponseHead = status, []byte(head)
	if status == 304 {
		c.Body = nil
	}
	return c
}

func TestChangesAndValidators(t *testing.T) {
	s := newStore(t, Options{})
	day := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	const (
		same    = "http://example.test/2016/05/same/"
		edited  = "http://example.test/2016/05/edited/"
		removed = "http://example.test/2016/05/removed/"
		dropped = "http://example.test/2016/05/dropped/"
		fresh   = "http://example.test/2016/05/fresh/"
		robots  = "http://example.test/robots.txt"
	)
	a := commitRun(t, s, day,
		withHead(testCapture(same, day, []byte("same body")), 200, head200),
		withHead(testCapture(edited, day, []byte("first text")), 200, head200),
		withHead(testCapture(removed, day, []byte("soon gone")), 200, head200),
		withHead(testCapture(dropped, day, []byte("unlinked later")), 200, head200),
		func() *Capture {
			c := testCapture(robots, day, []byte("User-agent: *"))
			c.Reason = ReasonRobots
			return c
		}(),
	)
	if etag, lm, err := s.Validators(same); err != nil || etag != `"v1"` || lm != "Thu, 12 May 2016 08:00:00 GMT" {
		t.Fatalf("Validators: %q %q %v", etag, lm, err)
	}
	next := day.Add(24 * time.Hour)
	b := commitRun(t, s, next,
		withHead(testCapture(same, next, nil), 304, head304),
		withHead(testCapture(edited, next, []byte("second text")), 200, head200),
		withHead(testCapture(removed, next, []byte("not here")), 404, head404),
		withHead(testCapture(fresh, next, []byte("a new post")), 200, head200),
	)
	// A 304 is passed over: the 200 before it still gives the validators;
	// a 404 last means none.
	if etag, _, _ := s.Validators(same); etag != `"v1"` {
		t.Errorf("validators after a 304: %q", etag)
	}
	if etag, lm, _ := s.Validators(removed); etag != "" || lm != "" {
		t.Errorf("validators of a page now 404: %q %q", etag, lm)
	}
	changes, err := s.Changes(a, b)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ kind, url string }{
		{ChangeNew, fresh}, {ChangeChanged, edited}, {ChangeGone, dropped}, {ChangeGone, removed},
	}
	if len(changes) != len(want) {
		t.Fatalf("changes %+v, want %v", changes, want)
	}
	for i, w := range want {
		if c := changes[i]; c.Kind != w.kind || c.URL != w.url || c.Reason != ReasonArticle {
			t.Errorf("change %d: %s %s (%s), want %s %s", i, c.Kind, c.URL, c.Reason, w.kind, w.url)
		}
	}
	if c := changes[3]; c.StatusA != 200 || c.StatusB != 404 {
		t.Errorf("removed: %d -> %d", c.StatusA, c.StatusB)
	}
	if _, err := s.Changes(a, a); err == nil {
		t.Error("comparing a run with itself: no error")
	}
	if _, err := s.Changes(a, 99); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown run: %v", err)
	}
}

func TestJobStateAndQueued(t *testing.T) {
	s := newStore(t, Options{})
	ctx := context.Background()
	if _, err := s.Job("cdt"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Job before any update: %v", err)
	}
	next := time.Date(2024, 3, 1, 6, 0, 0, 0, time.UTC)
	for run := uint64(1); run <= 3; run++ {
		if err := s.UpdateJob(ctx, "cdt", func(j *JobState) error {
			j.Next, j.LastRun, j.LastStatus = next, run, RunFinished
			j.AddRun(run)
			j.AddRun(run)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	j, err := s.Job("cdt")
	if err != nil || !j.Next.Equal(next) || j.LastRun != 3 || len(j.History) != 3 || j.Name != "cdt" {
		t.Fatalf("job %+v, %v", j, err)
	}
	if all, _ := s.Jobs(); len(all) != 1 {
		t.Fatalf("Jobs: %+v", all)
	}

	r, _ := s.CreateRun(ctx, Run{})
	items := []Item{
		{URL: "http://example.test/", HostKey: "http://example.test:80", Reason: ReasonSeed},
		{URL: "http://example.test/2016/05/a/", HostKey: "http://example.test:80", Reason: ReasonArticle, Parent: "http://example.test/", Hops: "L", Anchor: "A"},
		{URL: "http://xinhua.test/x", HostKey: "http://xinhua.test:80", Reason: ReasonSource, Parent: "http://example.test/2016/05/a/", Hops: "LL", Anchor: "[Source]"},
	}
	if _, err := s.Commit(ctx, r.ID, Batch{Enqueue: items}); err != nil {
		t.Fatal(err)
	}
	got := map[string]Item{}
	if err := s.Queued(ctx, r.ID, func(it Item) error { got[it.URL] = it; return nil }); err != nil {
		t.Fatal(err)
	}
	src := got["http://xinhua.test/x"]
	if len(got) != 3 || src.Reason != ReasonSource || src.Parent != items[1].URL || src.Depth != 2 || src.Anchor != "[Source]" {
		t.Fatalf("Queued: %+v", got)
	}
}
