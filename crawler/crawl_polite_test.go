package crawler_test

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/temoto/robotstxt"

	"github.com/amberarchive/amber/archive"
	"github.com/amberarchive/amber/crawler"
	"github.com/amberarchive/amber/testdata/fixture"
)

// clockSlack is how much earlier than the crawler's own start a server may
// see a request start. Both sides read the same clock, but the server reads
// it only after accepting the connection and parsing the request; when one
// request is parsed faster than the one before it, the gap the server sees
// can shrink by that difference, a millisecond or so on a busy machine.
const clockSlack = 2 * time.Millisecond

// siteHit is one request a test site answered, with the server's clock.
type siteHit struct {
	Path      string
	UserAgent string
	Status    int
	Start     time.Time // when the handler began
	End       time.Time // after the response was written
}

// site is a small named host served by httptest on 127.0.0.1, reached by
// name through Config.Resolve only.
type site struct {
	name string // "a.test"
	srv  *httptest.Server

	mu   sync.Mutex
	hits []siteHit
}

// startSite serves handler as host name and records every request.
func startSite(t *testing.T, name string, handler http.HandlerFunc) *site {
	t.Helper()
	s := &site{name: name}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		handler(rec, r)
		if f, ok := w.(http.Flusher); ok && !rec.hijacked {
			f.Flush()
		}
		s.mu.Lock()
		s.hits = append(s.hits, siteHit{Path: r.URL.RequestURI(), UserAgent: r.UserAgent(), Status: rec.status, Start: start, End: time.Now()})
		s.mu.Unlock()
	}))
	t.Cleanup(s.srv.Close)
	return s
}

type statusRecorder struct {
	http.ResponseWriter
	status   int
	hijacked bool
}

func (w *statusRecorder) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// Hijack hands the connection to the handler; the hit is logged with
// status 0.
func (w *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.hijacked, w.status = true, 0
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// hostPort is "name:port", the key of Config.Resolve.
func (s *site) hostPort() string {
	return s.name + ":" + s.srv.Listener.Addr().String()[strings.LastIndex(s.srv.Listener.Addr().String(), ":")+1:]
}

// url returns the absolute URL of path on the site, by name.
func (s *site) url(path string) string { return "http://" + s.hostPort() + path }

// log returns the requests answered so far, by start time.
func (s *site) log() []siteHit {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := append([]siteHit(nil), s.hits...)
	sort.Slice(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out
}

// paths returns the request targets answered, in order.
func (s *site) paths() []string {
	var out []string
	for _, h := range s.log() {
		out = append(out, h.Path)
	}
	return out
}

// resolveAll maps every site's name to its listener.
func resolveAll(sites ...*site) map[string]string {
	m := map[string]string{}
	for _, s := range sites {
		m[s.hostPort()] = s.srv.Listener.Addr().String()
	}
	return m
}

// linkPage is an HTML page of anchors to paths.
func linkPage(paths ...string) string {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html><html><head><title>index</title></head><body><ul>\n")
	for _, p := range paths {
		fmt.Fprintf(&b, "<li><a href=\"%s\">%s</a></li>\n", p, p)
	}
	b.WriteString("</ul></body></html>\n")
	return b.String()
}

// pagesHandler serves robots.txt (or 404 when empty), "/" linking to
// links, and a small page for any other path.
func pagesHandler(robots string, links ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/robots.txt":
			if robots == "" {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "text/plain")
			fmt.Fprint(w, robots)
		case "/":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, linkPage(links...))
		default:
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, "<!DOCTYPE html><html><body><p>page %s</p></body></html>\n", r.URL.Path)
		}
	}
}

// checkSpacing asserts that requests (sorted by Start) never overlap and
// start at least gap apart.
func checkSpacing(t *testing.T, host string, starts, ends []time.Time, paths []string, gap time.Duration) {
	t.Helper()
	for i := 1; i < len(starts); i++ {
		if starts[i].Before(ends[i-1].Add(-clockSlack)) {
			t.Errorf("%s: %s started %s before %s ended: requests overlap", host, paths[i], ends[i-1].Sub(starts[i]), paths[i-1])
		}
		if d := starts[i].Sub(starts[i-1]); d < gap-clockSlack {
			t.Errorf("%s: %s started %s after %s, want at least %s", host, paths[i], d, paths[i-1], gap)
		}
	}
}

// TestCrawlIsPolitePerHost crawls the fixture with one request at a time
// per host and a 150 ms delay, and checks with the server's timestamps
// that no two requests to one host overlap and that their starts are at
// least the delay apart, while other hosts are fetched meanwhile, and that
// every request names the operator's contact (issue 2, point 4).
func TestCrawlIsPolitePerHost(t *testing.T) {
	t.Parallel()
	const delay = 150 * time.Millisecond
	srv := startFixture(t, fixture.Options{Articles: 12})
	e := srv.Expected()
	cfg := baseConfig(t, srv.Resolve())
	cfg.Delay = delay
	cfg.MaxPages = 25
	// Seed the source sites too so that several hosts have work at once.
	seeds := []string{srv.Seed()}
	seen := map[string]bool{}
	for _, u := range e.Sources {
		host := strings.SplitN(u, "/", 4)[2]
		if !seen[host] {
			seen[host] = true
			seeds = append(seeds, u)
		}
	}
	if len(seeds) < 4 {
		t.Fatalf("want the seed and three source hosts, got %v", seeds)
	}
	r := crawl(t, cfg, seeds...)
	if !errors.Is(r.err, crawler.ErrMaxPages) {
		t.Fatalf("Run: %v, want ErrMaxPages", r.err)
	}

	hits := srv.Log()
	byHost := hitsBy(hits)
	for host, hs := range byHost {
		var starts, ends []time.Time
		var paths []string
		for _, h := range hs {
			starts, ends, paths = append(starts, h.Start), append(ends, h.End), append(paths, h.Path)
		}
		checkSpacing(t, host, starts, ends, paths, delay)
	}
	if n := len(byHost[fixture.CDT]); n < 5 {
		t.Errorf("%s answered %d requests; too few to judge the spacing", fixture.CDT, n)
	}
	// Other hosts were not held back by CDT's delay: two requests to
	// different hosts started closer together than one host may.
	parallel := false
	sort.Slice(hits, func(i, j int) bool { return hits[i].Start.Before(hits[j].Start) })
	for i := 1; i < len(hits) && !parallel; i++ {
		parallel = hits[i].Host != hits[i-1].Host && hits[i].Start.Sub(hits[i-1].Start) < delay/2
	}
	if !parallel {
		t.Errorf("no two hosts were fetched within %s of each other: hosts are not crawled in parallel", delay/2)
	}
	if len(byHost) < 4 {
		t.Errorf("only %d hosts contacted", len(byHost))
	}
	for _, h := range hits {
		if !strings.Contains(h.UserAgent, testContact) || !strings.HasPrefix(h.UserAgent, "amber/"+crawler.Version) {
			t.Errorf("%s %s: User-Agent %q, want amber/%s with %s", h.Host, h.Path, h.UserAgent, crawler.Version, testContact)
		}
	}
	// Pages, robots.txt excluded, stop at the limit.
	pages := 0
	for _, h := range hits {
		if h.Path != "/robots.txt" {
			pages++
		}
	}
	if pages > cfg.MaxPages {
		t.Errorf("%d pages fetched with MaxPages %d", pages, cfg.MaxPages)
	}
}

// TestCrawlHonoursCrawlDelay serves robots.txt with "Crawl-delay: 1": it is
// larger than the configured delay, so it wins (issue 2, point 4).
func TestCrawlHonoursCrawlDelay(t *testing.T) {
	t.Parallel()
	s := startSite(t, "slow.test", pagesHandler("User-agent: *\nCrawl-delay: 1\n", "/2020/01/a/", "/2020/01/b/"))
	cfg := baseConfig(t, resolveAll(s))
	cfg.Delay = 100 * time.Millisecond
	cfg.MaxCrawlDelay = 5 * time.Second
	mustCrawl(t, cfg, s.url("/"))

	hs := s.log()
	var starts, ends []time.Time
	var paths []string
	for _, h := range hs {
		starts, ends, paths = append(starts, h.Start), append(ends, h.End), append(paths, h.Path)
	}
	if want := []string{"/robots.txt", "/", "/2020/01/a/", "/2020/01/b/"}; strings.Join(paths, " ") != strings.Join(want, " ") {
		t.Fatalf("requests %v, want %v", paths, want)
	}
	checkSpacing(t, s.name, starts, ends, paths, time.Second)
}

// TestCrawlCapsCrawlDelay checks that MaxCrawlDelay caps a robots.txt
// Crawl-delay, and that the configured Delay still applies under the cap.
func TestCrawlCapsCrawlDelay(t *testing.T) {
	t.Parallel()
	s := startSite(t, "capped.test", pagesHandler("User-agent: *\nCrawl-delay: 30\n", "/2020/01/a/", "/2020/01/b/"))
	cfg := baseConfig(t, resolveAll(s))
	cfg.Delay = 50 * time.Millisecond
	cfg.MaxCrawlDelay = 200 * time.Millisecond
	r := mustCrawl(t, cfg, s.url("/"))
	hs := s.log()
	var starts, ends []time.Time
	var paths []string
	for _, h := range hs {
		starts, ends, paths = append(starts, h.Start), append(ends, h.End), append(paths, h.Path)
	}
	if len(hs) != 4 {
		t.Fatalf("requests %v, want robots.txt and three pages", paths)
	}
	checkSpacing(t, s.name, starts, ends, paths, 200*time.Millisecond)
	if d := r.ended.Sub(r.started); d > 5*time.Second {
		t.Errorf("crawl took %s: the 30 s Crawl-delay was not capped", d)
	}
}

// TestCrawlObeysRobots serves a robots.txt per case and checks what was
// requested, by RFC 9309's rules, including where temoto/robotstxt alone
// answers differently (issue 2, point 4).
func TestCrawlObeysRobots(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		robots   string
		status   int // robots.txt status when not 200; -1: the connection is closed
		links    []string
		allowed  []string // requested
		disallow []string // not requested; Why says robots.txt disallows it
		// temoto/robotstxt alone answers this file wrongly (for the first
		// allowed path but "/", or fails to parse it): the crawl proves the
		// RFC 9309 answer wins.
		temotoWrong bool
	}{
		{
			name:     "own group beats *",
			robots:   "User-agent: *\nDisallow: /\n\nUser-agent: amber\nDisallow: /private/\n",
			links:    []string{"/public/", "/private/"},
			allowed:  []string{"/", "/public/"},
			disallow: []string{"/private/"},
		},
		{
			name:     "product token matched case-insensitively",
			robots:   "User-agent: *\nDisallow: /\n\nUser-agent: AMBER\nDisallow: /private/\n",
			links:    []string{"/public/", "/private/"},
			allowed:  []string{"/", "/public/"},
			disallow: []string{"/private/"},
		},
		{
			name:     "another bot's group is not ours",
			robots:   "User-agent: amberbot\nDisallow: /\n\nUser-agent: *\nDisallow: /private/\n",
			links:    []string{"/public/", "/private/"},
			allowed:  []string{"/", "/public/"},
			disallow: []string{"/private/"},
		},
		{
			name:     "longest match wins",
			robots:   "User-agent: *\nDisallow: /docs/\nAllow: /docs/public/\n",
			links:    []string{"/docs/public/a", "/docs/secret/b"},
			allowed:  []string{"/", "/docs/public/a"},
			disallow: []string{"/docs/secret/b"},
		},
		{
			// temoto/robotstxt picks the Disallow here; RFC 9309 says the
			// least restrictive rule wins a tie.
			name:        "allow wins an equal-length tie",
			robots:      "User-agent: *\nDisallow: /page\nAllow: /page\nDisallow: /pages\n",
			links:       []string{"/page", "/page/1", "/pages/x"},
			allowed:     []string{"/", "/page", "/page/1"},
			disallow:    []string{"/pages/x"},
			temotoWrong: true,
		},
		{
			// Patterns match from the start of the path.
			name:        "wildcard is anchored at the start",
			robots:      "User-agent: *\nDisallow: /foo*bar\n",
			links:       []string{"/x/foo/bar", "/foo/bar"},
			allowed:     []string{"/", "/x/foo/bar"},
			disallow:    []string{"/foo/bar"},
			temotoWrong: true,
		},
		{
			name:     "end anchor",
			robots:   "User-agent: *\nDisallow: /*.pdf$\n",
			links:    []string{"/a.pdf", "/a.pdf.html"},
			allowed:  []string{"/", "/a.pdf.html"},
			disallow: []string{"/a.pdf"},
		},
		{
			// temoto fails the whole file on a line it cannot parse.
			name:        "unparsable line skipped",
			robots:      "User-agent: *\nCrawl-delay: soon\nthis is not a rule\nDisallow: /private/\n",
			links:       []string{"/public/", "/private/"},
			allowed:     []string{"/", "/public/"},
			disallow:    []string{"/private/"},
			temotoWrong: true,
		},
		{
			name:    "404 allows everything",
			status:  http.StatusNotFound,
			links:   []string{"/a", "/b"},
			allowed: []string{"/", "/a", "/b"},
		},
		{
			name:    "403 allows everything",
			status:  http.StatusForbidden,
			links:   []string{"/a"},
			allowed: []string{"/", "/a"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.temotoWrong {
				rb, err := robotstxt.FromString(tt.robots)
				if err == nil && rb.TestAgent(tt.allowed[1], "amber") {
					t.Errorf("temoto/robotstxt alone allows %s: the case no longer shows where it differs from RFC 9309", tt.allowed[1])
				}
			}
			s := startSite(t, "robots.test", func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/robots.txt" && tt.status != 0 {
					http.Error(w, "no robots here", tt.status)
					return
				}
				pagesHandler(tt.robots, tt.links...)(w, r)
			})
			cfg := baseConfig(t, resolveAll(s))
			// Every on-site link is an "article", so only robots.txt decides.
			cfg.Rules.Article = regexp.MustCompile(`^/`)
			r := mustCrawl(t, cfg, s.url("/"))

			got := map[string]int{}
			for _, p := range s.paths() {
				got[p]++
			}
			if got["/robots.txt"] != 1 {
				t.Errorf("robots.txt requested %d times, want once", got["/robots.txt"])
			}
			for _, p := range tt.allowed {
				if got[p] != 1 {
					t.Errorf("%s requested %d times, want once", p, got[p])
				}
			}
			for _, p := range tt.disallow {
				if got[p] != 0 {
					t.Errorf("%s requested though robots.txt disallows it", p)
				}
				why, ok := r.skipWhy(t, s.url(p))
				if !ok || !strings.Contains(why, "robots.txt disallows") {
					t.Errorf("Why(%s) = %q, want it to say robots.txt disallows it", p, why)
				}
			}
			if n := len(got) - 1; n != len(tt.allowed) {
				t.Errorf("requested %v, want robots.txt and %v", s.paths(), tt.allowed)
			}
		})
	}
}

// TestCrawlStopsWhenRobotsUnavailable: a robots.txt answering 5xx, or not
// at all, means nothing but robots.txt may be fetched; after a few tries
// the host's queued URLs are failures that name robots.txt (issue 2,
// points 4 and 9).
func TestCrawlStopsWhenRobotsUnavailable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		robots func(w http.ResponseWriter, r *http.Request)
		want   string // in the failure
	}{
		{"500", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "oops", http.StatusInternalServerError) }, "status 500"},
		{"503", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "busy", http.StatusServiceUnavailable) }, "status 503"},
		{"429", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "slow down", http.StatusTooManyRequests) }, "status 429"},
		{"connection closed", func(w http.ResponseWriter, r *http.Request) {
			c, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Errorf("hijack: %v", err)
				return
			}
			_ = c.Close()
		}, "EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := startSite(t, "down.test", func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/robots.txt" {
					tt.robots(w, r)
					return
				}
				pagesHandler("", "/2020/01/a/")(w, r)
			})
			ok := startSite(t, "up.test", pagesHandler("", "/2020/01/b/"))
			cfg := baseConfig(t, resolveAll(s, ok))
			seeds := []string{s.url("/"), s.url("/2020/01/c/"), ok.url("/")}
			r := mustCrawl(t, cfg, seeds...)

			for _, p := range s.paths() {
				if p != "/robots.txt" {
					t.Errorf("%s requested though robots.txt is unavailable", p)
				}
			}
			if n := len(s.paths()); n < 2 {
				t.Errorf("robots.txt requested %d times, want it tried again", n)
			}
			fails := r.failures(t)
			for _, u := range seeds[:2] {
				f, found := fails[u]
				if !found {
					t.Errorf("%s is not among the failures %v", u, fails)
					continue
				}
				if !strings.Contains(f.Err, "robots.txt") || !strings.Contains(f.Err, tt.want) {
					t.Errorf("failure of %s says %q, want it to mention robots.txt and %q", u, f.Err, tt.want)
				}
			}
			if r.stats.Failed != 2 {
				t.Errorf("Stats.Failed = %d, want 2", r.stats.Failed)
			}
			// The other host was crawled as usual.
			if got := strings.Join(ok.paths(), " "); got != "/robots.txt / /2020/01/b/" {
				t.Errorf("up.test requests: %s", got)
			}
			// Each robots.txt attempt is archived.
			if cs, _ := r.store.CapturesOf(s.url("/robots.txt")); tt.name != "connection closed" && len(cs) != len(s.paths()) {
				t.Errorf("%d robots.txt captures for %d attempts", len(cs), len(s.paths()))
			}
		})
	}
}

// TestCrawlHonoursRetryAfter: host A answers its first page 429 or 503
// with Retry-After (seconds or an HTTP date), host B serves pages
// meanwhile. A's retry waits as long as asked; B is not paused; the
// retried answer is not stored, the final one is (issue 2, point 4).
func TestCrawlHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		value  func() (string, time.Time) // header value, earliest retry it allows
	}{
		{"429 seconds", http.StatusTooManyRequests, func() (string, time.Time) { return "2", time.Now().Add(2 * time.Second) }},
		{"503 seconds", http.StatusServiceUnavailable, func() (string, time.Time) { return "2", time.Now().Add(2 * time.Second) }},
		{"429 HTTP date", http.StatusTooManyRequests, func() (string, time.Time) {
			at := time.Now().Add(3 * time.Second).Truncate(time.Second)
			return at.UTC().Format(http.TimeFormat), at
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			answered := false
			var notBefore time.Time
			a := startSite(t, "a.test", func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				first := r.URL.Path == "/" && !answered
				if first {
					answered = true
					var v string
					v, notBefore = tt.value()
					w.Header().Set("Retry-After", v)
				}
				mu.Unlock()
				if first {
					http.Error(w, "slow down", tt.status)
					return
				}
				pagesHandler("")(w, r)
			})
			var bLinks []string
			for i := range 12 {
				bLinks = append(bLinks, fmt.Sprintf("/2020/01/p%d/", i))
			}
			b := startSite(t, "b.test", pagesHandler("", bLinks...))
			cfg := baseConfig(t, resolveAll(a, b))
			cfg.Delay = 200 * time.Millisecond
			r := mustCrawl(t, cfg, a.url("/"), b.url("/"))

			var first, retry *siteHit
			for _, h := range a.log() {
				if h.Path == "/" {
					if first == nil {
						first = &h
					} else if retry == nil {
						retry = &h
					}
				}
			}
			if first == nil || retry == nil || first.Status != tt.status || retry.Status != http.StatusOK {
				t.Fatalf("a.test answered %v; want %d then 200 for /", a.log(), tt.status)
			}
			if d := retry.Start.Sub(first.End); d < 2*time.Second-clockSlack {
				t.Errorf("retry started %s after the %d, want at least 2s", d, tt.status)
			}
			if retry.Start.Before(notBefore.Add(-clockSlack)) {
				t.Errorf("retry started at %s, before Retry-After allowed (%s)", retry.Start, notBefore)
			}
			inside := 0
			for _, h := range b.log() {
				if h.Start.After(first.End) && h.Start.Before(retry.Start) {
					inside++
				}
			}
			if inside < 3 {
				t.Errorf("b.test answered %d requests while a.test was paused, want it not paused", inside)
			}
			c := r.one(t, a.url("/"))
			if c.Status != http.StatusOK {
				t.Errorf("stored %s with status %d, want the final 200", a.url("/"), c.Status)
			}
			if r.stats.Failed != 0 {
				t.Errorf("Stats.Failed = %d", r.stats.Failed)
			}
		})
	}
}

// TestCrawlGivesUpAfterRetries: a host that keeps answering 503 is retried
// Retries times, then the URL is stored with its last answer.
func TestCrawlGivesUpAfterRetries(t *testing.T) {
	t.Parallel()
	a := startSite(t, "busy.test", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Retry-After", "0")
		http.Error(w, "busy", http.StatusServiceUnavailable)
	})
	cfg := baseConfig(t, resolveAll(a))
	cfg.Retries = 2
	r := mustCrawl(t, cfg, a.url("/"))
	if got := strings.Join(a.paths(), " "); got != "/robots.txt / / /" {
		t.Errorf("requests %q, want robots.txt then / three times", got)
	}
	if c := r.one(t, a.url("/")); c.Status != http.StatusServiceUnavailable || c.Reason != archive.ReasonSeed {
		t.Errorf("stored status %d reason %s, want the last 503", c.Status, c.Reason)
	}
}
