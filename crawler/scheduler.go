package crawler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/amberarchive/amber/archive"
)

// leaseSize is how many queued items of one host are read from the store at
// a time. Memory stays flat in the size of the frontier: hosts × leaseSize.
const leaseSize = 32

// robotsLimit is RFC 9309's minimum a crawler must read of robots.txt.
const robotsLimit = 500 << 10

// robotsTries is how often an unavailable robots.txt (5xx, network error) is
// fetched again before the host is given up.
const robotsTries = 3

// host is the scheduler's view of one scheme://host:port.
type host struct {
	key     string
	avail   int            // queued in the store beyond lastSeq, not yet read
	lastSeq uint64         // highest Seq read from the store
	buf     []archive.Item // read from the store, waiting to be fetched

	inflight    int
	nextStart   time.Time // politeness: earliest start of the next request
	pausedUntil time.Time // 429/503 or backoff
	delay       time.Duration
	fails       int // consecutive failures
	gaveUp      string
	pages       int // pages of this run's MaxPerHost budget spent, stored ones included

	robots        *Robots
	robotsAt      time.Time
	robotsBusy    bool
	robotsTries   int
	robotsRetryAt time.Time
}

type taskKind int

const (
	taskItem taskKind = iota
	taskRobots
)

type task struct {
	kind      taskKind
	h         *host
	item      archive.Item
	robots    *Robots
	prevStart time.Time
	// async is set when the task's commit was handed to a goroutine: that
	// goroutine, not the worker, ends the task's count in s.inflight.
	async bool
	// hostFree is set once the task no longer counts against its host's
	// PerHost (see releaseHost).
	hostFree bool
}

// scheduler hands work to the crawler's workers so that each host sees at
// most PerHost requests at once, each starting at least its delay after the
// previous one started, while many hosts are fetched in parallel.
type scheduler struct {
	c     *Crawler
	run   uint64
	seeds []*url.URL

	mu       sync.Mutex
	wake     chan struct{}
	hosts    map[string]*host
	inflight int
	pages    int
	maxed    bool
	err      error // a store error that stops the crawl

	// Commits of fetched pages run beside the workers (commitLater), at
	// most cap(commitSlots) at once, so that a worker fetches its next page
	// while the store makes the last one durable.
	commitSlots chan struct{}
	commits     sync.WaitGroup
}

// commitsPerWorker bounds the pages fetched but not yet committed, per
// worker: enough to cover an fsync, little enough that memory stays flat.
const commitsPerWorker = 4

// asyncCommitMax is the most bytes of exchanges a batch committed beside
// the workers may hold.
const asyncCommitMax = 1 << 20

func newScheduler(c *Crawler, run uint64) *scheduler {
	return &scheduler{c: c, run: run, wake: make(chan struct{}), hosts: map[string]*host{},
		commitSlots: make(chan struct{}, commitsPerWorker*max(c.cfg.Parallel, 1))}
}

func (s *scheduler) host(key string) *host {
	h := s.hosts[key]
	if h == nil {
		h = &host{key: key, delay: s.c.cfg.Delay}
		s.hosts[key] = h
	}
	return h
}

// load reads how much each host has queued: on a resume this includes the
// items that were in flight when the previous process stopped.
func (s *scheduler) load() error {
	q, err := s.c.store.QueueHosts(s.run)
	if err != nil {
		return fmt.Errorf("crawler: read frontier: %w", err)
	}
	var spent map[string]int
	if s.c.cfg.MaxPerHost > 0 {
		if spent, err = s.c.store.HostPages(s.run); err != nil {
			return fmt.Errorf("crawler: read page counts: %w", err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, n := range q {
		s.host(k).avail = n
	}
	for k, n := range spent {
		s.host(k).pages = n
	}
	return nil
}

func (s *scheduler) queuedTotal() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for _, h := range s.hosts {
		if h.gaveUp == "" {
			n += int64(h.avail + len(h.buf))
		}
	}
	return n
}

// hostsWaiting counts hosts that have work but are held back by politeness.
func (s *scheduler) hostsWaiting() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.c.now()
	var n int64
	for _, h := range s.hosts {
		if h.gaveUp == "" && (h.avail > 0 || len(h.buf) > 0) && (h.nextStart.After(now) || h.pausedUntil.After(now)) {
			n++
		}
	}
	return n
}

// signal wakes every waiting worker; called with s.mu held.
func (s *scheduler) signal() {
	close(s.wake)
	s.wake = make(chan struct{})
}

func (s *scheduler) needRobots(h *host, now time.Time) bool {
	if s.c.cfg.IgnoreRobots {
		return false
	}
	return h.robots == nil || now.Sub(h.robotsAt) > s.c.cfg.RobotsTTL
}

// refill reads the next items of a host from the store; called with s.mu held
// (the store read is a short bbolt read transaction).
func (s *scheduler) refill(h *host) error {
	items, err := s.c.store.PeekQueue(s.run, h.key, h.lastSeq, leaseSize)
	if err != nil {
		return fmt.Errorf("crawler: read queue of %s: %w", h.key, err)
	}
	for _, it := range items {
		if it.Seq > h.lastSeq {
			h.lastSeq = it.Seq
		}
	}
	h.buf = append(h.buf, items...)
	if len(items) < leaseSize {
		h.avail = 0 // the store has no more: heal any miscount
	} else {
		h.avail -= len(items)
		if h.avail < 1 {
			h.avail = 1 // there may be more; the next read will tell
		}
	}
	return nil
}

// readyItem returns the index of the first buffered item whose NotBefore has
// passed, or the earliest NotBefore.
func readyItem(h *host, now time.Time) (int, time.Time) {
	var earliest time.Time
	for i, it := range h.buf {
		if !it.NotBefore.After(now) {
			return i, time.Time{}
		}
		if earliest.IsZero() || it.NotBefore.Before(earliest) {
			earliest = it.NotBefore
		}
	}
	return -1, earliest
}

// next blocks until a task is ready, the frontier is done (nil, nil) or ctx
// is cancelled (nil, ErrStopped).
func (s *scheduler) next(ctx context.Context) (*task, error) {
	cfg := &s.c.cfg
	for {
		s.mu.Lock()
		if s.err != nil {
			s.mu.Unlock()
			return nil, s.err
		}
		if ctx.Err() != nil {
			s.mu.Unlock()
			return nil, ErrStopped
		}
		now := s.c.now()
		var best *host
		var bestAt, wait time.Time
		anyWork := false
		for _, h := range s.hosts {
			if h.gaveUp != "" {
				continue
			}
			if len(h.buf) == 0 && h.avail > 0 {
				if err := s.refill(h); err != nil {
					s.err = err
					s.mu.Unlock()
					return nil, err
				}
			}
			if len(h.buf) == 0 && h.avail == 0 {
				continue
			}
			anyWork = true
			if h.inflight >= cfg.PerHost || h.robotsBusy {
				continue
			}
			at := h.nextStart
			if h.pausedUntil.After(at) {
				at = h.pausedUntil
			}
			robots := s.needRobots(h, now)
			if robots && h.robotsRetryAt.After(at) {
				at = h.robotsRetryAt
			}
			if !robots && len(h.buf) > 0 {
				if i, nb := readyItem(h, now); i < 0 && nb.After(at) {
					at = nb
				}
			}
			if len(h.buf) == 0 && !robots {
				continue // more is in the store; it is read when the host is idle
			}
			if at.After(now) {
				if wait.IsZero() || at.Before(wait) {
					wait = at
				}
				continue
			}
			if best == nil || at.Before(bestAt) || (at.Equal(bestAt) && h.key < best.key) {
				best, bestAt = h, at
			}
		}
		if best != nil && !s.needRobots(best, now) && s.maxed {
			best = nil
		}
		if best != nil {
			t := &task{h: best, prevStart: best.nextStart}
			best.inflight++
			s.inflight++
			best.nextStart = now.Add(best.delay)
			if s.needRobots(best, now) {
				best.robotsBusy = true
				t.kind = taskRobots
			} else {
				i, _ := readyItem(best, now)
				t.item = best.buf[i]
				best.buf = append(best.buf[:i], best.buf[i+1:]...)
				t.robots = best.robots
				s.pages++
				if cfg.MaxPages > 0 && s.pages >= cfg.MaxPages {
					s.maxed = true
				}
			}
			s.mu.Unlock()
			return t, nil
		}
		if (!anyWork || s.maxed) && s.inflight == 0 {
			s.mu.Unlock()
			if s.maxed && anyWork {
				return nil, ErrMaxPages
			}
			return nil, nil
		}
		ch := s.wake
		s.mu.Unlock()
		var timer <-chan time.Time
		if !wait.IsZero() {
			d := wait.Sub(now)
			if d < time.Millisecond {
				d = time.Millisecond
			}
			tm := time.NewTimer(d)
			timer = tm.C
			defer tm.Stop()
		}
		select {
		case <-ctx.Done():
		case <-ch:
		case <-timer:
		}
	}
}

// run starts the workers and waits for them.
func (s *scheduler) loop(ctx context.Context) error {
	// In-flight fetches and their commits get a grace period after a stop
	// so that what was being fetched is kept, not thrown away.
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	stopGrace := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(s.c.cfg.Grace, cancelWork)
		_ = t
	})
	defer stopGrace()
	s.c.col.Context = work

	var wg sync.WaitGroup
	errs := make([]error, s.c.cfg.Parallel)
	for i := range s.c.cfg.Parallel {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for {
				t, err := s.next(ctx)
				if err != nil || t == nil {
					errs[i] = err
					return
				}
				err = s.handle(work, t)
				s.mu.Lock()
				if !t.hostFree {
					t.h.inflight--
				}
				if !t.async {
					s.inflight--
				}
				if err != nil && s.err == nil {
					s.err = err
				}
				s.signal()
				s.mu.Unlock()
			}
		}(i)
	}
	wg.Wait()
	s.commits.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	// A stop whose grace period ran out cancels the commits still
	// running: their items stay queued for the resume, so the run was
	// stopped, not failed (a failed run printed "commit: context
	// canceled" and asked the user to fix something).
	if s.err != nil && ctx.Err() != nil && errors.Is(s.err, context.Canceled) {
		return ErrStopped
	}
	if s.err != nil {
		return s.err
	}
	for _, e := range errs {
		if e != nil && !errors.Is(e, ErrStopped) {
			return e
		}
	}
	if ctx.Err() != nil {
		return ErrStopped
	}
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// handle performs one task; an error is a store failure that stops the crawl.
func (s *scheduler) handle(ctx context.Context, t *task) error {
	if t.kind == taskRobots {
		return s.handleRobots(ctx, t)
	}
	return s.handleItem(ctx, t)
}

func (s *scheduler) commit(ctx context.Context, b archive.Batch) (archive.BatchResult, error) {
	res, err := s.c.store.Commit(ctx, s.run, b)
	if err != nil {
		return res, fmt.Errorf("crawler: commit: %w", err)
	}
	s.c.count(&b)
	if s.c.cfg.OnCapture != nil {
		for _, cp := range b.Captures {
			s.c.cfg.OnCapture(cp)
		}
	}
	if len(res.Queued) > 0 {
		s.mu.Lock()
		for _, it := range res.Queued {
			s.host(it.HostKey).avail++
		}
		s.mu.Unlock()
	}
	return res, nil
}

func (s *scheduler) handleRobots(ctx context.Context, t *task) error {
	h := t.h
	cfg := &s.c.cfg
	now := s.c.now()
	var batch archive.Batch
	var rb *Robots
	var why string          // what made robots.txt unavailable
	var fetchedAt time.Time // when robots.txt had arrived
	if e, ok, err := s.c.store.Robots(h.key); err != nil {
		return fmt.Errorf("crawler: read robots cache: %w", err)
	} else if ok && now.Sub(e.Fetched) < cfg.RobotsTTL && e.Status != 0 && e.Status < 500 && e.Status != http.StatusTooManyRequests {
		var ferr error
		if e.Err != "" {
			ferr = errors.New(e.Err)
		}
		rb = NewRobots(e.Status, e.Body, ferr)
		s.mu.Lock()
		h.nextStart = t.prevStart // no request was made
		s.mu.Unlock()
	} else {
		status, body, caps, ferr := s.fetchRobots(ctx, h.key+"/robots.txt")
		fetchedAt = s.c.now()
		batch.Captures = caps
		entry := archive.RobotsEntry{HostKey: h.key, Fetched: now, Status: status, Body: body}
		if ferr != nil {
			entry.Err = ferr.Error()
		}
		batch.Robots = []archive.RobotsEntry{entry}
		rb = NewRobots(status, body, ferr)
		why = fmt.Sprintf("status %d", status)
		if ferr != nil {
			why = ferr.Error()
		}
		if _, err := s.commit(ctx, batch); err != nil {
			return err
		}
	}
	s.mu.Lock()
	h.robotsBusy = false
	if rb.Unavailable() {
		if !fetchedAt.IsZero() {
			s.spaceFromLocked(h, fetchedAt)
		}
		h.robotsTries++
		// A host that does not answer at all (refused, DNS, TLS) gets the
		// --retries budget and the network backoff: waiting long for the
		// robots.txt of a site that is down would only stall the crawl.
		// A 5xx is the site asking for time: RobotsRetry, doubling.
		netErr := why != "" && !strings.HasPrefix(why, "status ")
		limit := robotsTries
		if netErr {
			limit = cfg.Retries + 1
		}
		if h.robotsTries >= limit {
			if netErr {
				h.gaveUp = fmt.Sprintf("%s could not be reached for its robots.txt (%s; %s), so nothing there was fetched", h.key, why, attempts(h.robotsTries))
			} else {
				h.gaveUp = fmt.Sprintf("robots.txt of %s unavailable (%s; %s), so the site may not be crawled; try again later", h.key, why, attempts(h.robotsTries))
			}
			s.mu.Unlock()
			s.giveUp(ctx, h)
			return nil
		}
		if netErr {
			h.robotsRetryAt = now.Add(backoff(h.delay, h.robotsTries-1, cfg.MaxBackoff))
		} else {
			h.robotsRetryAt = now.Add(cfg.RobotsRetry << (h.robotsTries - 1))
		}
		s.mu.Unlock()
		return nil
	}
	defer s.mu.Unlock()
	h.robots, h.robotsAt, h.robotsTries = rb, now, 0
	h.delay = cfg.Delay
	if d := rb.CrawlDelay(s.c.token); d > h.delay {
		if d > cfg.MaxCrawlDelay {
			d = cfg.MaxCrawlDelay
		}
		if d > h.delay {
			h.delay = d
		}
	}
	// The delay, Crawl-delay included, counts from the robots.txt fetch.
	if !fetchedAt.IsZero() {
		s.spaceFromLocked(h, fetchedAt)
	}
	return nil
}

// spaceFrom makes the next request to h start at least h.delay after at,
// the moment the server had surely begun the previous one.
//
// next reserves a slot delay after it hands out a request, but the request
// reaches the server later than that: colly, dialling, writing and the
// server's own parsing take a varying few milliseconds, tens on a loaded
// machine. Counting from the hand-out alone, a server saw two requests
// start up to 25 ms closer than a 150 ms delay (TestCrawlIsPolitePerHost).
// The crawler cannot see when the server began, only that it had begun
// before its response head arrived; counting from then keeps the promise
// as the server sees it, at the cost of the server's think time.
func (s *scheduler) spaceFrom(h *host, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.spaceFromLocked(h, at)
}

// spaceFromLocked is spaceFrom with s.mu held.
func (s *scheduler) spaceFromLocked(h *host, at time.Time) {
	if next := at.Add(h.delay); next.After(h.nextStart) {
		h.nextStart = next
	}
}

// fetchRobots fetches robots.txt following up to 5 redirects (RFC 9309
// §2.3.1.2); every hop is a capture.
func (s *scheduler) fetchRobots(ctx context.Context, rawURL string) (int, []byte, []*archive.Capture, error) {
	var caps []*archive.Capture
	hops := "P"
	for i := 0; i <= 5; i++ {
		ex, body, err := s.c.fetchRaw(ctx, rawURL, robotsLimit)
		if err != nil {
			return 0, nil, caps, fmt.Errorf("fetch %s: %s", rawURL, readable(err))
		}
		cp := captureOf(ex, archive.Item{URL: rawURL, Reason: archive.ReasonRobots, Hops: hops}, s.run)
		caps = append(caps, cp)
		if ex.Status >= 300 && ex.Status < 400 {
			loc := ex.Header.Get("Location")
			base, _ := url.Parse(rawURL)
			next, err := base.Parse(loc)
			if loc == "" || err != nil {
				return ex.Status, nil, caps, fmt.Errorf("robots.txt redirect without a usable Location")
			}
			cp.Location = next.String()
			rawURL = next.String()
			hops += "R"
			continue
		}
		return ex.Status, body, caps, nil
	}
	return 0, nil, caps, fmt.Errorf("robots.txt: more than 5 redirects")
}

// giveUp fails every queued item of a host, in batches.
func (s *scheduler) giveUp(ctx context.Context, h *host) {
	s.mu.Lock()
	why := h.gaveUp
	buf := h.buf
	h.buf = nil
	after := h.lastSeq
	s.mu.Unlock()
	fail := func(items []archive.Item) bool {
		var b archive.Batch
		for _, it := range items {
			b.Done = append(b.Done, it)
			b.Failures = append(b.Failures, archive.Failure{URL: it.URL, Time: s.c.now(), Reason: it.Reason, Parent: it.Parent, Tries: it.Tries, Err: why})
		}
		if _, err := s.commit(ctx, b); err != nil {
			s.mu.Lock()
			if s.err == nil {
				s.err = err
			}
			s.mu.Unlock()
			return false
		}
		return true
	}
	if len(buf) > 0 && !fail(buf) {
		return
	}
	for {
		items, err := s.c.store.PeekQueue(s.run, h.key, after, 256)
		if err != nil || len(items) == 0 {
			break
		}
		after = items[len(items)-1].Seq
		if !fail(items) {
			return
		}
	}
	s.mu.Lock()
	h.avail = 0
	s.signal()
	s.mu.Unlock()
}

func (s *scheduler) handleItem(ctx context.Context, t *task) error {
	cfg := &s.c.cfg
	it := t.item
	h := t.h
	u, err := url.Parse(it.URL)
	if err != nil {
		_, err := s.commit(ctx, archive.Batch{Done: []archive.Item{it}, Failures: []archive.Failure{{URL: it.URL, Time: s.c.now(), Reason: it.Reason, Parent: it.Parent, Err: "malformed URL: " + err.Error()}}})
		return err
	}
	// The per-host page budget (--max-per-host) cuts traps that no rule
	// sees, such as a calendar with endless next-month links. A retry is
	// the same page: it is not counted again. The first batch committed
	// for the page stores the count (counted), so a resume goes on from it.
	var counted []string
	if cfg.MaxPerHost > 0 && it.Tries == 0 {
		s.mu.Lock()
		over := h.pages >= cfg.MaxPerHost
		if !over {
			h.pages++
			counted = []string{h.key}
		}
		s.mu.Unlock()
		if over {
			_, err := s.commit(ctx, archive.Batch{Done: []archive.Item{it}, Skipped: []archive.Skip{{URL: it.URL, Parent: it.Parent, Anchor: it.Anchor,
				Why: fmt.Sprintf("per-host page budget reached: %d pages already fetched from %s in this crawl (--max-per-host)", cfg.MaxPerHost, h.key)}}})
			return err
		}
	}
	if t.robots != nil {
		if ok, rule := t.robots.Test(s.c.token, u.RequestURI()); !ok {
			_, err := s.commit(ctx, archive.Batch{Done: []archive.Item{it}, Counted: counted, Skipped: []archive.Skip{{URL: it.URL, Parent: it.Parent, Anchor: it.Anchor, Why: "robots.txt disallows it: " + rule}}})
			return err
		}
	}
	ex, links, headAt, ferr := s.c.fetch(ctx, it)
	now := s.c.now()
	if headAt.IsZero() {
		headAt = now
	}
	s.spaceFrom(h, headAt)
	if ferr != nil && (ex == nil || ex.Status == 0) {
		if ctx.Err() != nil {
			return nil // stopping: the item stays queued and is fetched on resume
		}
		return s.failed(ctx, h, it, readable(ferr), now, counted)
	}
	s.mu.Lock()
	h.fails = 0
	s.mu.Unlock()

	if ex.Status == http.StatusTooManyRequests || ex.Status == http.StatusServiceUnavailable {
		wait := retryAfter(ex.Header.Get("Retry-After"), now)
		if wait < 0 {
			wait = backoff(h.delay, it.Tries, cfg.MaxBackoff)
		}
		if it.Tries < cfg.Retries && wait <= cfg.RetryAfterCap {
			it.Tries++
			it.NotBefore = now.Add(wait)
			s.mu.Lock()
			if h.pausedUntil.Before(it.NotBefore) {
				h.pausedUntil = it.NotBefore
			}
			h.buf = append([]archive.Item{it}, h.buf...)
			s.pages--
			s.maxed = cfg.MaxPages > 0 && s.pages >= cfg.MaxPages
			s.mu.Unlock()
			_, err := s.commit(ctx, archive.Batch{Requeue: []archive.Item{it}, Counted: counted})
			return err
		}
	}

	// The response is read, and a 429 or 503 to retry has set the host's
	// pause: the host may take its next request while this page is parsed
	// and stored.
	s.releaseHost(t)
	cp := captureOf(ex, it, s.run)
	b := archive.Batch{Done: []archive.Item{it}, Captures: []*archive.Capture{cp}, Counted: counted}
	if ex.Status >= 300 && ex.Status < 400 {
		if loc := ex.Header.Get("Location"); loc != "" {
			s.redirect(&b, cp, it, u, loc)
		}
	}
	if ex.Status >= 200 && ex.Status < 300 {
		var found []Link
		if links != nil {
			found = links()
		}
		s.expand(&b, cp, it, u, found)
	}
	return s.commitLater(ctx, t, b)
}

// releaseHost ends t's count against its host's PerHost: politeness
// limits requests in flight, and parsing a page already read, or storing
// it, is not a request. With --per-host 1 the host's next request then
// overlaps this page's link extraction instead of waiting for it.
func (s *scheduler) releaseHost(t *task) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !t.hostFree {
		t.hostFree = true
		t.h.inflight--
		s.signal()
	}
}

// commitLater commits b in its own goroutine and ends t there: the host
// is free for its next request as soon as this one's response is read
// (politeness counts requests, not commits), and the worker goes on to
// fetch while the store writes. The task stays counted in s.inflight
// until the commit is done, so the crawl cannot end, nor a stop return,
// with a page fetched but not stored; a kill in between loses only what
// was not committed, which stays queued and is fetched again on resume.
//
// A batch holding more than asyncCommitMax bytes of exchanges is committed
// in the worker, as before: the pages waiting for the store then hold at
// most that much each, not up to --max-body.
func (s *scheduler) commitLater(ctx context.Context, t *task, b archive.Batch) error {
	size := 0
	for _, cp := range b.Captures {
		size += len(cp.Request) + len(cp.ResponseHead) + len(cp.Body)
	}
	if size > asyncCommitMax {
		_, err := s.commit(ctx, b)
		return err
	}
	t.async = true
	s.commitSlots <- struct{}{}
	s.commits.Add(1)
	go func() {
		defer s.commits.Done()
		_, err := s.commit(ctx, b)
		<-s.commitSlots
		s.mu.Lock()
		s.inflight--
		if err != nil && s.err == nil {
			s.err = err
		}
		s.signal()
		s.mu.Unlock()
	}()
	return nil
}

// failed handles a fetch that got no response at all. counted is the
// page budget the fetch spent, to store with it (Batch.Counted).
func (s *scheduler) failed(ctx context.Context, h *host, it archive.Item, why string, now time.Time, counted []string) error {
	cfg := &s.c.cfg
	s.mu.Lock()
	h.fails++
	giveUp := h.fails >= cfg.HostFailures && h.gaveUp == ""
	if giveUp {
		h.gaveUp = fmt.Sprintf("gave up on %s after %d failures in a row (last: %s)", h.key, h.fails, why)
	}
	retry := !giveUp && it.Tries < cfg.Retries
	if retry {
		it.Tries++
		it.NotBefore = now.Add(backoff(h.delay, it.Tries, cfg.MaxBackoff))
		h.buf = append([]archive.Item{it}, h.buf...)
		s.pages--
		s.maxed = cfg.MaxPages > 0 && s.pages >= cfg.MaxPages
	}
	s.mu.Unlock()
	if retry {
		_, err := s.commit(ctx, archive.Batch{Requeue: []archive.Item{it}, Counted: counted})
		return err
	}
	_, err := s.commit(ctx, archive.Batch{Done: []archive.Item{it}, Counted: counted, Failures: []archive.Failure{{URL: it.URL, Time: now, Reason: it.Reason, Parent: it.Parent, Tries: it.Tries + 1, Err: why}}})
	if err == nil && giveUp {
		s.giveUp(ctx, h)
	}
	return err
}

func (s *scheduler) redirect(b *archive.Batch, cp *archive.Capture, it archive.Item, base *url.URL, loc string) {
	target, err := Resolve(base, loc)
	if err != nil {
		b.Skipped = append(b.Skipped, archive.Skip{URL: loc, Parent: it.URL, Anchor: "Location", Why: "redirect Location not followed: " + err.Error()})
		return
	}
	cu, err := Canonical(target.String())
	if err != nil {
		b.Skipped = append(b.Skipped, archive.Skip{URL: target.String(), Parent: it.URL, Anchor: "Location", Why: "redirect Location not followed: " + err.Error()})
		return
	}
	cp.Location = cu
	// Servers add ;jsessionid= to redirects; see expand.
	if stripped, names := StripSessionIDs(cu); len(names) > 0 {
		b.Skipped = append(b.Skipped, archive.Skip{URL: cu, Parent: it.URL, Anchor: "Location", Why: fmt.Sprintf("session id (%s) in the URL: fetched as %s instead", strings.Join(names, ", "), stripped)})
		cu = stripped
	}
	if it.Redirects >= s.c.cfg.MaxRedirects {
		b.Skipped = append(b.Skipped, archive.Skip{URL: cu, Parent: it.URL, Anchor: "Location", Why: fmt.Sprintf("redirect chain longer than %d hops", s.c.cfg.MaxRedirects)})
		return
	}
	via := it.Reason
	if via == archive.ReasonRedirect {
		via = it.Via
	}
	tu, _ := url.Parse(cu)
	b.Enqueue = append(b.Enqueue, archive.Item{
		URL: cu, HostKey: HostKey(tu), Reason: archive.ReasonRedirect, Via: via,
		Parent: it.URL, Anchor: "Location", Hops: it.Hops + string(rune(archive.HopRedirect)),
		Depth: it.Depth, Redirects: it.Redirects + 1,
	})
}

// expand classifies every link of a fetched page by the rules: what is
// followed is queued, what is not is recorded with the reason.
func (s *scheduler) expand(b *archive.Batch, cp *archive.Capture, it archive.Item, base *url.URL, links []Link) {
	reason := it.Reason
	if reason == archive.ReasonRedirect {
		reason = it.Via
	}
	p := Page{URL: base, Reason: reason, Hops: it.Hops, Depth: it.Depth, Seeds: s.seeds}
	seen := map[string]bool{}
	for _, l := range links {
		if l.URL == "" {
			continue
		}
		if !seen[l.URL] {
			seen[l.URL] = true
			cp.Outlinks = append(cp.Outlinks, l.URL)
		}
		anchor := l.Text
		if anchor == "" {
			anchor = l.Attr
		}
		d := s.c.cfg.Rules.Decide(p, l)
		if !d.Follow {
			b.Skipped = append(b.Skipped, archive.Skip{URL: l.URL, Parent: it.URL, Anchor: anchor, Why: d.Why})
			continue
		}
		cu, err := Canonical(l.URL)
		if err != nil {
			b.Skipped = append(b.Skipped, archive.Skip{URL: l.URL, Parent: it.URL, Anchor: anchor, Why: err.Error()})
			continue
		}
		// A session id in every link makes every page new: a trap. The
		// URL is fetched without it, and the stripped form says why.
		if stripped, names := StripSessionIDs(cu); len(names) > 0 {
			b.Skipped = append(b.Skipped, archive.Skip{URL: cu, Parent: it.URL, Anchor: anchor, Why: fmt.Sprintf("session id (%s) in the URL: fetched as %s instead", strings.Join(names, ", "), stripped)})
			cu = stripped
		}
		lu, _ := url.Parse(cu)
		b.Enqueue = append(b.Enqueue, archive.Item{
			URL: cu, HostKey: HostKey(lu), Reason: d.Reason, Parent: it.URL, Anchor: anchor,
			Hops: it.Hops + string(rune(d.Hop)), Depth: d.Depth,
		})
	}
}

// captureOf turns an exchange into a capture with why it was fetched.
func captureOf(ex *Exchange, it archive.Item, run uint64) *archive.Capture {
	mt := ""
	if ex.Header != nil {
		if ct := ex.Header.Get("Content-Type"); ct != "" {
			if m, _, err := mime.ParseMediaType(ct); err == nil {
				mt = m
			} else {
				mt = strings.ToLower(strings.TrimSpace(strings.Split(ct, ";")[0]))
			}
		}
	}
	// A request that carried validators (an incremental re-crawl) is
	// marked, so that its 304 is exported as server-not-modified. A 304
	// answers only a conditional request (RFC 9110 15.4.5).
	reqHead, _, _ := strings.Cut(strings.ToLower(string(ex.Request)), "\r\n\r\n")
	conditional := strings.Contains(reqHead, "\r\nif-none-match:") || strings.Contains(reqHead, "\r\nif-modified-since:") ||
		ex.Status == http.StatusNotModified
	return &archive.Capture{
		URL: it.URL, Method: http.MethodGet, Time: ex.Start.UTC(), Duration: ex.Duration, IP: ex.IP,
		Request: ex.Request, ResponseHead: ex.ResponseHead, Body: ex.Body,
		Status: ex.Status, MIME: mt, Truncated: ex.Truncated,
		Reason: it.Reason, Parent: it.Parent, Anchor: it.Anchor, Hops: it.Hops, Depth: it.Depth, Run: run,
		Conditional: conditional,
	}
}

// retryAfter parses Retry-After as seconds or an HTTP date; -1 when absent
// or unusable.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return -1
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return -1
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		return d
	}
	return -1
}

// backoff doubles the wait with each try, starting at the host's delay (at
// least a second), up to max.
func backoff(delay time.Duration, tries int, max time.Duration) time.Duration {
	if delay < time.Second {
		delay = time.Second
	}
	d := delay << tries
	if d > max || d <= 0 {
		d = max
	}
	return d
}

// readable turns transport errors into a line a user can act on.
func readable(err error) string {
	if err == nil {
		return ""
	}
	msg := err.Error()
	var ue *url.Error
	if errors.As(err, &ue) {
		msg = ue.Err.Error()
	}
	// A bare "EOF" or "i/o timeout" does not say what happened to a user
	// reading amber ls --failed (issue 6): say it in words, keep the error.
	var te interface{ Timeout() bool }
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		msg = "the server closed the connection without a complete answer (" + msg + ")"
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &te) && te.Timeout()):
		msg = "timed out waiting for the server (" + msg + ")"
	}
	return msg
}

func attempts(n int) string {
	if n == 1 {
		return "1 attempt"
	}
	return strconv.Itoa(n) + " attempts"
}
