package crawler_test

import (
	"context"
	"net"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/amberarchive/amber/archive"
	"github.com/amberarchive/amber/crawler"
	"github.com/amberarchive/amber/testdata/fixture"
)

// testContact is the operator contact every test crawl sends.
const testContact = "mailto:tests@amber.invalid"

// startFixture serves a small fixture site for the length of the test.
func startFixture(t *testing.T, opts fixture.Options) *fixture.Server {
	t.Helper()
	if opts.Articles == 0 {
		opts.Articles = 12
	}
	srv, err := fixture.Start(opts)
	if err != nil {
		t.Fatalf("start fixture: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("close fixture: %v", err)
		}
	})
	return srv
}

// openStore opens a fresh archive in the test's temporary folder.
func openStore(t *testing.T) *archive.Store {
	t.Helper()
	st, err := archive.Open(filepath.Join(t.TempDir(), "amber.db"), archive.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return st
}

// baseConfig is a fast crawl configuration reaching hosts only through
// resolve: any DNS lookup fails the test.
func baseConfig(t *testing.T, resolve map[string]string) crawler.Config {
	t.Helper()
	cfg := crawler.DefaultConfig()
	cfg.Contact = testContact
	cfg.Delay = 0
	cfg.MaxCrawlDelay = time.Millisecond
	cfg.Timeout = 10 * time.Second
	cfg.Grace = time.Second
	cfg.RobotsRetry = 5 * time.Millisecond
	cfg.MaxBackoff = 20 * time.Millisecond
	cfg.Resolve = resolve
	cfg.LookupHost = func(_ context.Context, host string) ([]string, error) {
		t.Errorf("DNS lookup of %q: tests must reach hosts through Config.Resolve only", host)
		return nil, &net.DNSError{Err: "lookups are forbidden in tests", Name: host, IsNotFound: true}
	}
	return cfg
}

// crawlResult is what one test crawl left behind.
type crawlResult struct {
	store   *archive.Store
	run     uint64
	stats   crawler.Stats
	err     error
	started time.Time
	ended   time.Time
}

// crawl runs one crawl of seeds with cfg into a fresh store and returns
// Run's answer; it fails the test only when the crawler cannot be built.
func crawl(t *testing.T, cfg crawler.Config, seeds ...string) crawlResult {
	t.Helper()
	st := openStore(t)
	return crawlInto(t, st, cfg, seeds...)
}

// crawlInto is crawl with a store of the caller's.
func crawlInto(t *testing.T, st *archive.Store, cfg crawler.Config, seeds ...string) crawlResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	run, err := st.CreateRun(ctx, archive.Run{Seeds: seeds})
	if err != nil {
		t.Fatalf("create run: %v", err)
	}
	c, err := crawler.New(cfg, st)
	if err != nil {
		t.Fatalf("crawler.New: %v", err)
	}
	r := crawlResult{store: st, run: run.ID, started: time.Now()}
	r.stats, r.err = c.Run(ctx, run.ID, seeds)
	r.ended = time.Now()
	if ctx.Err() != nil {
		t.Fatalf("crawl did not finish within 45s (stats %+v)", r.stats)
	}
	return r
}

// mustCrawl is crawl that fails the test when Run returns an error.
func mustCrawl(t *testing.T, cfg crawler.Config, seeds ...string) crawlResult {
	t.Helper()
	r := crawl(t, cfg, seeds...)
	if r.err != nil {
		t.Fatalf("Run: %v", r.err)
	}
	return r
}

// captures returns every capture of the store (metadata only), by URL.
func (r crawlResult) captures(t *testing.T) map[string][]*archive.Capture {
	t.Helper()
	out := map[string][]*archive.Capture{}
	err := r.store.Captures(context.Background(), "", func(c *archive.Capture) error {
		out[c.URL] = append(out[c.URL], c)
		return nil
	})
	if err != nil {
		t.Fatalf("list captures: %v", err)
	}
	return out
}

// one returns the single capture of u, failing the test if there is not
// exactly one.
func (r crawlResult) one(t *testing.T, u string) *archive.Capture {
	t.Helper()
	cs, err := r.store.CapturesOf(u)
	if err != nil {
		t.Fatalf("captures of %s: %v", u, err)
	}
	if len(cs) != 1 {
		t.Fatalf("%s captured %d times, want once", u, len(cs))
	}
	return cs[0]
}

// body returns the stored raw body of c.
func (r crawlResult) body(t *testing.T, c *archive.Capture) []byte {
	t.Helper()
	b, err := r.store.Body(context.Background(), c)
	if err != nil {
		t.Fatalf("body of %s: %v", c.URL, err)
	}
	return b
}

// failures returns the run's failures by URL.
func (r crawlResult) failures(t *testing.T) map[string]archive.Failure {
	t.Helper()
	fs, err := r.store.Failures(r.run)
	if err != nil {
		t.Fatalf("failures: %v", err)
	}
	out := map[string]archive.Failure{}
	for _, f := range fs {
		out[f.URL] = f
	}
	return out
}

// why returns what the store says about u, failing on a store error.
func (r crawlResult) why(t *testing.T, u string) []archive.Decision {
	t.Helper()
	ds, err := r.store.Why(u)
	if err != nil {
		t.Fatalf("why %s: %v", u, err)
	}
	return ds
}

// skipWhy returns the Why of the skipped decision about u, or "" and false.
func (r crawlResult) skipWhy(t *testing.T, u string) (string, bool) {
	t.Helper()
	for _, d := range r.why(t, u) {
		if d.Kind == archive.DecisionSkipped {
			return d.Why, true
		}
	}
	return "", false
}

// hitsBy groups the fixture's log by host, each sorted by Start.
func hitsBy(hits []fixture.Hit) map[string][]fixture.Hit {
	out := map[string][]fixture.Hit{}
	for _, h := range hits {
		out[h.Host] = append(out[h.Host], h)
	}
	for _, hs := range out {
		sort.Slice(hs, func(i, j int) bool { return hs[i].Start.Before(hs[j].Start) })
	}
	return out
}

// containsFold reports whether s contains every one of subs, ignoring case.
func containsFold(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(strings.ToLower(s), strings.ToLower(sub)) {
			return false
		}
	}
	return true
}
