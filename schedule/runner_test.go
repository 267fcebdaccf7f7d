package schedule

import (
	"context"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/amberarchive/amber/archive"
	"github.com/amberarchive/amber/crawler"
	"github.com/amberarchive/amber/testdata/fixture"
)

// fastSettings crawl the fixture site on loopback without politeness waits.
func fastSettings(srv *fixture.Server) Settings {
	s := DefaultSettings()
	s.Delay, s.MaxCrawlDelay, s.Contact = 0, time.Millisecond, "mailto:test@amber.invalid"
	for h, a := range srv.Resolve() {
		s.Resolve = append(s.Resolve, h+"="+a)
	}
	sort.Strings(s.Resolve)
	return s
}

func startSite(t testing.TB, articles int) *fixture.Server {
	t.Helper()
	srv, err := fixture.Start(fixture.Options{Articles: articles})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// capturesByRun maps each run to its captures by URL (robots.txt left out).
func capturesByRun(t testing.TB, store *archive.Store) map[uint64]map[string]*archive.Capture {
	t.Helper()
	out := map[uint64]map[string]*archive.Capture{}
	err := store.Captures(context.Background(), "", func(c *archive.Capture) error {
		if c.Reason == archive.ReasonRobots {
			return nil
		}
		if out[c.Run] == nil {
			out[c.Run] = map[string]*archive.Capture{}
		}
		out[c.Run][c.URL] = c
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func rawBytes(t testing.TB, store *archive.Store) int64 {
	t.Helper()
	st, err := store.Stats()
	if err != nil {
		t.Fatal(err)
	}
	return st.RawBytes
}

func runJob(t testing.TB, s *Scheduler, name string) archive.Run {
	t.Helper()
	r, err := s.RunJob(context.Background(), name)
	if err != nil {
		t.Fatalf("run %s: %v", name, err)
	}
	if r.Status != archive.RunFinished {
		t.Fatalf("run %d ended %s, want finished", r.ID, r.Status)
	}
	return r
}

// TestIncrementalRecrawl crawls the fixture site, edits one article and
// crawls again: the second run asks with validators, stores 304s (marked
// conditional) for what did not change, re-checks the sources and
// requisites of unchanged pages through their previous links, adds about
// the edited article's bytes to the store, and the change report names
// exactly that article. Then an article is removed, and the report says it
// is gone.
func TestIncrementalRecrawl(t *testing.T) {
	srv := startSite(t, 12)
	store := openStore(t)
	job, err := NewJob("cdt", []string{srv.Seed()}, "@daily", "UTC", fastSettings(srv))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(store, []Job{job}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	run1 := runJob(t, s, "cdt")
	bytes1 := rawBytes(t, store)

	const text = "An editor note added after publication, this post was updated"
	srv.EditArticle(0, text)
	edited := findArticle(t, srv, text)
	srv.ResetLog()
	run2 := runJob(t, s, "cdt")
	bytes2 := rawBytes(t, store)

	caps := capturesByRun(t, store)
	c1, c2 := caps[run1.ID], caps[run2.ID]
	// Everything the first run captured was checked again: unchanged
	// articles' sources and requisites too, through their earlier links.
	for u := range c1 {
		if c2[u] == nil {
			t.Errorf("%s: captured in run 1, not in run 2", u)
		}
	}
	for u := range c2 {
		if c1[u] == nil {
			t.Errorf("%s: captured in run 2 only", u)
		}
	}
	var notModified int
	for u, c := range c2 {
		prev := c1[u]
		if prev == nil {
			continue
		}
		switch {
		case u == edited:
			if c.Status != 200 || c.PayloadDigest == prev.PayloadDigest || !c.Conditional {
				t.Errorf("edited article: status %d, conditional %v, digest same %v; want a conditional 200 with a new payload",
					c.Status, c.Conditional, c.PayloadDigest == prev.PayloadDigest)
			}
		case c.Status == http.StatusNotModified:
			notModified++
			if !c.Conditional || c.BodyLen != 0 {
				t.Errorf("%s: 304 with Conditional %v and %d body bytes", u, c.Conditional, c.BodyLen)
			}
		case prev.Status == 200 && c.Status == 200:
			// Pages without validators are fetched in full; their
			// unchanged payload is a revisit, stored once.
			if c.PayloadDigest == prev.PayloadDigest && c.RevisitOf == nil {
				t.Errorf("%s: unchanged payload not stored as a revisit", u)
			}
		}
	}
	if notModified < len(c1)/2 {
		t.Errorf("%d of %d captures were 304s; want most of them", notModified, len(c1))
	}
	// The requests carried the validators of the earlier answer.
	conditional := 0
	for _, h := range srv.Log() {
		if h.Header.Get("If-None-Match") != "" {
			conditional++
		}
	}
	if conditional < notModified {
		t.Errorf("%d requests carried If-None-Match, fewer than the %d 304s", conditional, notModified)
	}
	// The store grew by about the size of what changed.
	added := bytes2 - bytes1
	editedLen := c2[edited].BodyLen
	t.Logf("run 1 stored %d body bytes; run 2 added %d (the edited article is %d bytes); %d of %d captures were 304",
		bytes1, added, editedLen, notModified, len(c2))
	if added < editedLen || added > bytes1/10 {
		t.Errorf("run 2 added %d body bytes; want at least the edited article's %d and under 10%% of run 1's %d", added, editedLen, bytes1)
	}
	// The change report names the edited article, and only it.
	changes, err := store.Changes(run1.ID, run2.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 1 || changes[0].URL != edited || changes[0].Kind != archive.ChangeChanged || changes[0].Reason != archive.ReasonArticle {
		t.Fatalf("changes %+v; want only %s changed, as an article", changes, edited)
	}

	// A removed article answers 404: gone; what only it cited is gone too
	// (no longer linked); the listings that named it changed.
	srv.RemoveArticle(1)
	run3 := runJob(t, s, "cdt")
	changes, err = store.Changes(run2.ID, run3.ID)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	var goneArticle *archive.Change
	for i, c := range changes {
		kinds[c.Kind]++
		if c.Kind == archive.ChangeGone && c.Reason == archive.ReasonArticle && c.StatusB == 404 {
			goneArticle = &changes[i]
		}
	}
	t.Logf("after removing article 1: %v", kinds)
	if goneArticle == nil || goneArticle.StatusA != 200 {
		t.Fatalf("changes %+v: want the removed article gone with 404 (was 200)", changes)
	}
	if kinds[archive.ChangeChanged] == 0 {
		t.Errorf("no listing page changed after a removal")
	}
}

// findArticle returns the URL of the article whose page contains text.
func findArticle(t *testing.T, srv *fixture.Server, text string) string {
	t.Helper()
	for _, u := range srv.Expected().Articles {
		resp, err := srv.Client().Get(u)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		_, _ = io.Copy(&b, resp.Body)
		resp.Body.Close()
		if strings.Contains(b.String(), text) {
			return u
		}
	}
	t.Fatalf("no article contains %q", text)
	return ""
}

// TestStoppedIncrementalRunResumes stops the second (incremental) run
// midway, as SIGTERM would, and runs the job again: the same run is
// resumed, and in the end it has checked every URL the first run had,
// including the links of pages that answered 304 before the stop.
func TestStoppedIncrementalRunResumes(t *testing.T) {
	srv := startSite(t, 12)
	store := openStore(t)
	job, err := NewJob("cdt", []string{srv.Seed()}, "@daily", "UTC", fastSettings(srv))
	if err != nil {
		t.Fatal(err)
	}
	var stopAfter atomic.Int64
	var cancel context.CancelFunc
	runner := NewCrawlRunner(store, CrawlOptions{Configure: func(cfg *crawler.Config) {
		prev := cfg.OnCapture
		cfg.OnCapture = func(c *archive.Capture) {
			prev(c)
			if stopAfter.Add(-1) == 0 {
				cancel()
			}
		}
	}})
	s, err := New(store, []Job{job}, Options{Runner: runner})
	if err != nil {
		t.Fatal(err)
	}
	run1 := runJob(t, s, "cdt")

	stopAfter.Store(30)
	ctx, c := context.WithCancel(context.Background())
	cancel = c
	stopped, err := s.RunJob(ctx, "cdt")
	if err != nil || stopped.Status != archive.RunStopped {
		t.Fatalf("stopped run: %+v, %v", stopped, err)
	}
	if n := capturesByRun(t, store)[stopped.ID]; len(n) == 0 || len(n) >= len(capturesByRun(t, store)[run1.ID]) {
		t.Fatalf("the stop left %d captures; want some, not all", len(n))
	}
	resumed := runJob(t, s, "cdt")
	if resumed.ID != stopped.ID {
		t.Fatalf("run %d started; want run %d resumed", resumed.ID, stopped.ID)
	}
	caps := capturesByRun(t, store)
	for u := range caps[run1.ID] {
		if caps[resumed.ID][u] == nil {
			t.Errorf("%s: captured in run 1, not in the resumed run", u)
		}
	}
	if changes, err := store.Changes(run1.ID, resumed.ID); err != nil || len(changes) != 0 {
		t.Errorf("changes of an unchanged site: %+v, %v", changes, err)
	}
	st, _ := store.Job("cdt")
	if st.LastRun != resumed.ID || st.LastStatus != archive.RunFinished || len(st.History) != 2 {
		t.Errorf("job state %+v", st)
	}
}
