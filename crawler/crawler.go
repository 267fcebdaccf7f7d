package crawler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gocolly/colly/v2"

	"github.com/amberarchive/amber/archive"
)

// Version is amber's version, sent in the User-Agent and written in warcinfo.
const Version = "0.1.0"

// Store is what the crawler needs of the archive. [archive.Store] implements
// it. Commit is called concurrently from every worker; it must return only
// once the batch is durable, and apply a batch all or nothing, so that a
// killed crawl resumes without losing or duplicating a capture.
type Store interface {
	Commit(ctx context.Context, run uint64, b archive.Batch) (archive.BatchResult, error)
	QueueHosts(run uint64) (map[string]int, error)
	PeekQueue(run uint64, hostKey string, afterSeq uint64, n int) ([]archive.Item, error)
	Robots(hostKey string) (archive.RobotsEntry, bool, error)
	HostPages(run uint64) (map[string]int, error)
}

// Config holds every crawl setting. The zero value is not useful: start from
// [DefaultConfig].
type Config struct {
	UserAgent      string            // full User-Agent; built from Contact when empty
	Contact        string            // URL or e-mail of the operator, put in the User-Agent
	Delay          time.Duration     // least gap between request starts to one host
	PerHost        int               // requests in flight per host
	Parallel       int               // workers: hosts fetched at once
	Rules          Rules             // what to follow
	MaxPages       int               // stop after this many fetches (0 = no limit)
	MaxPerHost     int               // fetch at most this many pages per host in a run, robots.txt aside (0 = no limit); the count is stored, so a resume goes on from it
	MaxBody        int64             // truncate bodies longer than this (raw bytes)
	MaxCrawlDelay  time.Duration     // cap on a robots.txt Crawl-delay
	Timeout        time.Duration     // one exchange, body included
	Resolve        map[string]string // host[:port] -> address, instead of DNS
	IgnoreRobots   bool              // explicit opt-out, recorded in the run
	Insecure       bool              // accept bad TLS certificates
	Retries        int               // extra attempts after a network error or 429/503
	HostFailures   int               // consecutive failures after which a host is given up
	RobotsRetry    time.Duration     // wait before re-fetching an unavailable robots.txt
	RobotsTTL      time.Duration     // how long a robots.txt answer is kept
	MaxRedirects   int               // redirect hops followed from one URL
	Grace          time.Duration     // how long in-flight fetches may finish after a stop
	Now            func() time.Time  // clock, for tests
	LookupHost     func(ctx context.Context, host string) ([]string, error)
	Conditional    func(url string) (etag, lastModified string) // for incremental re-crawls; optional
	OnCapture      func(*archive.Capture)                       // called after each commit; optional
	MaxBackoff     time.Duration                                // longest pause after 429/503 without Retry-After
	RetryAfterCap  time.Duration                                // longest Retry-After honoured before giving up
	UserAgentToken string                                       // robots product token; derived from UserAgent
}

// DefaultConfig returns the polite defaults: one request at a time per host,
// at least a second apart, robots.txt obeyed, requisites fetched.
func DefaultConfig() Config {
	return Config{
		Delay:         time.Second,
		PerHost:       1,
		Parallel:      8,
		Rules:         DefaultRules(),
		MaxBody:       64 << 20,
		MaxCrawlDelay: 30 * time.Second,
		Timeout:       60 * time.Second,
		Retries:       2,
		HostFailures:  10,
		RobotsRetry:   time.Minute,
		RobotsTTL:     24 * time.Hour,
		MaxRedirects:  10,
		Grace:         15 * time.Second,
		MaxBackoff:    5 * time.Minute,
		RetryAfterCap: time.Hour,
	}
}

// UserAgent builds amber's User-Agent: the tool, its version and the
// operator's contact, so a site owner knows who to write to.
func UserAgent(contact string) string {
	if contact == "" {
		return "amber/" + Version
	}
	return "amber/" + Version + " (+" + contact + ")"
}

// Stats are live counters of a crawl, safe to read while it runs.
type Stats struct {
	Fetched      int64 // exchanges stored, robots.txt included
	Bytes        int64 // raw response bytes stored
	Failed       int64 // URLs given up
	Skipped      int64 // URLs not fetched (robots, rules)
	Queued       int64 // URLs waiting in the frontier
	HostsWaiting int64 // hosts with work that wait for politeness
	Elapsed      time.Duration
	ByStatus     map[string]int64
	ByReason     map[string]int64
}

// ErrStopped is returned by [Crawler.Run] when the context was cancelled:
// the run can be resumed.
var ErrStopped = errors.New("crawler: stopped before the frontier was empty")

// ErrMaxPages is returned by [Crawler.Run] when --max-pages was reached.
var ErrMaxPages = errors.New("crawler: page limit reached")

// Crawler fetches a run's frontier politely, through colly and a capturing
// transport, and commits every exchange to a [Store].
type Crawler struct {
	cfg   Config
	store Store
	tr    *Transport
	col   *colly.Collector
	token string
	now   func() time.Time

	idSeq atomic.Uint64
	sched atomic.Pointer[scheduler]

	fetched, bytes, failed, skipped atomic.Int64
	mu                              sync.Mutex
	byStatus, byReason              map[string]int64
}

// New builds a crawler. It checks the configuration and returns an error
// that names the bad setting.
func New(cfg Config, store Store) (*Crawler, error) {
	def := DefaultConfig()
	if cfg.PerHost < 1 {
		return nil, fmt.Errorf("crawler: --per-host must be at least 1, got %d", cfg.PerHost)
	}
	if cfg.Parallel < 1 {
		return nil, fmt.Errorf("crawler: --parallel must be at least 1, got %d", cfg.Parallel)
	}
	if cfg.Delay < 0 {
		return nil, fmt.Errorf("crawler: --delay must not be negative, got %s", cfg.Delay)
	}
	if cfg.MaxBody < 0 {
		return nil, fmt.Errorf("crawler: --max-body must not be negative")
	}
	if cfg.MaxPerHost < 0 {
		return nil, fmt.Errorf("crawler: --max-per-host must not be negative, got %d", cfg.MaxPerHost)
	}
	orDefault(&cfg.Timeout, def.Timeout)
	orDefault(&cfg.MaxRedirects, def.MaxRedirects)
	orDefault(&cfg.HostFailures, def.HostFailures)
	orDefault(&cfg.RobotsTTL, def.RobotsTTL)
	orDefault(&cfg.RobotsRetry, def.RobotsRetry)
	orDefault(&cfg.MaxBackoff, def.MaxBackoff)
	orDefault(&cfg.RetryAfterCap, def.RetryAfterCap)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = UserAgent(cfg.Contact)
	}
	token := cfg.UserAgentToken
	if token == "" {
		token = ProductToken(cfg.UserAgent)
	}
	tr := NewTransport(TransportOptions{
		Resolve:    cfg.Resolve,
		Timeout:    cfg.Timeout,
		MaxBody:    cfg.MaxBody,
		Insecure:   cfg.Insecure,
		Now:        cfg.Now,
		LookupHost: cfg.LookupHost,
		// Kept-alive connections count against the per-host limit too.
		MaxConnsPerHost: cfg.PerHost,
	})
	c := &Crawler{
		cfg: cfg, store: store, tr: tr, token: token, now: cfg.Now,
		byStatus: map[string]int64{}, byReason: map[string]int64{},
	}
	c.col = c.newCollector()
	return c, nil
}

// orDefault sets a setting that is zero or negative (unset) to its default.
func orDefault[T int | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// Transport returns the capturing transport, for fetches outside colly.
func (c *Crawler) Transport() *Transport { return c.tr }

// page is what colly's callbacks learn about one fetched page; it travels in
// the colly.Context of the request.
type page struct {
	// parse finds the response's links; nil when it is neither HTML nor
	// CSS. The scheduler calls it after it has let the host go, so that
	// parsing one page overlaps the host's next request.
	parse  func() []Link
	headAt time.Time // when the response head arrived; zero if none did
}

const pageKey = "amber.page"

// extractLinks is ExtractLinks; tests replace it to hold a parse.
var extractLinks = ExtractLinks

// newCollector sets colly up as a pure fetch engine (the scheduler parses
// what it fetched, after letting the host go): amber's own
// frontier decides what to fetch and when, so colly's visited set, robots
// handling, redirects, body cap and limit rules are all switched off.
func (c *Crawler) newCollector() *colly.Collector {
	col := colly.NewCollector(
		colly.AllowURLRevisit(),
		colly.IgnoreRobotsTxt(),
		colly.ParseHTTPErrorResponse(),
		colly.MaxBodySize(0),
		colly.UserAgent(c.cfg.UserAgent),
	)
	col.WithTransport(c.tr)
	// Redirects are captures of their own; the frontier follows Location.
	col.SetRedirectHandler(func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse })
	// The transport enforces the per-exchange timeout; this is a backstop.
	col.SetRequestTimeout(c.cfg.Timeout + 10*time.Second)
	// Cookies would make what is archived depend on crawl order.
	col.DisableCookies()

	// The scheduler counts a host's delay from the moment the server had
	// surely begun the request: when its response head arrived.
	col.OnResponseHeaders(func(r *colly.Response) {
		if p, ok := r.Ctx.GetAny(pageKey).(*page); ok {
			p.headAt = c.now()
		}
	})
	sel := c.cfg.Rules.SourceSelector
	col.OnResponse(func(r *colly.Response) {
		p, ok := r.Ctx.GetAny(pageKey).(*page)
		if !ok {
			return
		}
		ct := strings.ToLower(r.Headers.Get("Content-Type"))
		base, body := r.Request.URL, r.Body
		if isHTML(ct, body) {
			// Link extraction is a pure function (ExtractLinks), so it can
			// be fuzzed and tested without a fetch.
			p.parse = func() []Link { return extractLinks(base, body, sel) }
			return
		}
		if !strings.Contains(ct, "text/css") {
			return
		}
		req := r.Request
		p.parse = func() []Link {
			var links []Link
			for _, u := range CSSLinks(body) {
				links = append(links, Link{URL: req.AbsoluteURL(u), Kind: CSSURL, Attr: "css@url"})
			}
			return links
		}
	})
	return col
}

// isHTML reports whether a response is parsed for links as HTML: the media
// types colly's HTML callbacks accept, sniffed when Content-Type is absent.
func isHTML(contentType string, body []byte) bool {
	if contentType == "" {
		contentType = strings.ToLower(http.DetectContentType(body))
	}
	mt, _, _ := strings.Cut(contentType, ";")
	switch strings.TrimSpace(mt) {
	case "text/html", "application/xhtml+xml":
		return true
	}
	return false
}

func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

// Run crawls a run's frontier until it is empty, the context is cancelled
// (ErrStopped: resumable) or MaxPages is reached (ErrMaxPages). seeds are
// queued first; on a resume pass none, and whatever the store still has
// queued is fetched, including items that were in flight when the previous
// process died.
func (c *Crawler) Run(ctx context.Context, run uint64, seeds []string) (Stats, error) {
	start := c.now()
	s := newScheduler(c, run)
	c.sched.Store(s)
	var seedURLs []*url.URL
	if len(seeds) > 0 {
		var items []archive.Item
		for _, raw := range seeds {
			cu, err := Canonical(raw)
			if err != nil {
				return Stats{}, fmt.Errorf("crawler: seed %q: %w", raw, err)
			}
			u, _ := url.Parse(cu)
			seedURLs = append(seedURLs, u)
			items = append(items, archive.Item{URL: cu, HostKey: HostKey(u), Reason: archive.ReasonSeed})
		}
		if _, err := c.store.Commit(ctx, run, archive.Batch{Enqueue: items}); err != nil {
			return Stats{}, fmt.Errorf("crawler: queue seeds: %w", err)
		}
	}
	s.seeds = seedURLs
	return c.drive(ctx, s, start)
}

// drive loads s's frontier and crawls it to the end (or the stop).
func (c *Crawler) drive(ctx context.Context, s *scheduler, start time.Time) (Stats, error) {
	if err := s.load(); err != nil {
		return Stats{}, err
	}
	err := s.loop(ctx)
	c.tr.CloseIdleConnections()
	st := c.Stats()
	st.Elapsed = c.now().Sub(start)
	st.Queued = s.queuedTotal()
	return st, err
}

// seedsFrom parses a resumed crawl's seeds, which define "the site" for
// the link rules; the unparsable are left out, as they were never queued.
func (c *Crawler) seedsFrom(items []string) []*url.URL {
	var out []*url.URL
	for _, raw := range items {
		if cu, err := Canonical(raw); err == nil {
			if u, err := url.Parse(cu); err == nil {
				out = append(out, u)
			}
		}
	}
	return out
}

// Resume continues a run: seeds are only used to define the site.
func (c *Crawler) Resume(ctx context.Context, run uint64, seeds []string) (Stats, error) {
	start := c.now()
	s := newScheduler(c, run)
	c.sched.Store(s)
	s.seeds = c.seedsFrom(seeds)
	return c.drive(ctx, s, start)
}

// Stats returns the live counters.
func (c *Crawler) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := Stats{
		Fetched: c.fetched.Load(), Bytes: c.bytes.Load(), Failed: c.failed.Load(), Skipped: c.skipped.Load(),
		ByStatus: make(map[string]int64, len(c.byStatus)), ByReason: make(map[string]int64, len(c.byReason)),
	}
	for k, v := range c.byStatus {
		st.ByStatus[k] = v
	}
	for k, v := range c.byReason {
		st.ByReason[k] = v
	}
	if s := c.sched.Load(); s != nil {
		st.Queued = s.queuedTotal()
		st.HostsWaiting = s.hostsWaiting()
	}
	return st
}

func (c *Crawler) count(b *archive.Batch) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cp := range b.Captures {
		c.fetched.Add(1)
		c.bytes.Add(int64(len(cp.ResponseHead) + len(cp.Body)))
		c.byStatus[strconv.Itoa(cp.Status)]++
		c.byReason[string(cp.Reason)]++
	}
	for range b.Failures {
		c.failed.Add(1)
		c.byStatus["failed"]++
	}
	c.skipped.Add(int64(len(b.Skipped)))
}

// fetch performs one GET through colly and returns the exchange, a
// function that finds its links (nil when it has none to find; the
// scheduler calls it after letting the host go), and when the response
// head arrived (zero when no response did).
func (c *Crawler) fetch(ctx context.Context, it archive.Item) (*Exchange, func() []Link, time.Time, error) {
	id := strconv.FormatUint(c.idSeq.Add(1), 10)
	hdr := http.Header{}
	hdr.Set("User-Agent", c.cfg.UserAgent)
	hdr.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	hdr.Set("Accept-Encoding", "gzip, deflate")
	if c.cfg.Conditional != nil {
		etag, lm := c.cfg.Conditional(it.URL)
		if etag != "" {
			hdr.Set("If-None-Match", etag)
		}
		if lm != "" {
			hdr.Set("If-Modified-Since", lm)
		}
	}
	hdr.Set(CaptureHeader, id)
	pctx := colly.NewContext()
	p := &page{}
	pctx.Put(pageKey, p)
	err := c.col.Request(http.MethodGet, it.URL, nil, pctx, hdr)
	ex, ok := c.tr.Take(id)
	if !ok {
		if err == nil {
			err = errors.New("no exchange was recorded")
		}
		return nil, nil, p.headAt, err
	}
	if ex.Err != nil {
		return ex, nil, p.headAt, ex.Err
	}
	return ex, p.parse, p.headAt, nil
}

// fetchRaw performs one GET outside colly (robots.txt) and returns the
// exchange and up to limit bytes of the decoded body.
func (c *Crawler) fetchRaw(ctx context.Context, rawURL string, limit int64) (*Exchange, []byte, error) {
	id := strconv.FormatUint(c.idSeq.Add(1), 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("User-Agent", c.cfg.UserAgent)
	req.Header.Set("Accept", "text/plain,*/*;q=0.8")
	req.Header.Set(CaptureHeader, id)
	var body []byte
	resp, err := c.tr.RoundTrip(req)
	if err == nil {
		body, _ = io.ReadAll(io.LimitReader(resp.Body, limit))
		resp.Body.Close()
	}
	ex, ok := c.tr.Take(id)
	if !ok {
		if err == nil {
			err = errors.New("no exchange was recorded")
		}
		return nil, nil, err
	}
	if ex.Err != nil {
		return ex, nil, ex.Err
	}
	return ex, body, nil
}
