package schedule

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/amberarchive/amber/archive"
	"github.com/amberarchive/amber/crawler"
)

// Runner performs one run of a job. The scheduler has created the run (or,
// to resume it, set an unfinished one back to running) before calling Run;
// Run crawls it to its end and records the end: Status (finished, stopped
// when ctx was cancelled, failed) and Ended. It returns the run as stored
// afterwards. Run is called from the scheduler's goroutines, never twice at
// once for one job.
type Runner interface {
	Run(ctx context.Context, job Job, run archive.Run) (archive.Run, error)
}

// CrawlOptions tune a [CrawlRunner].
type CrawlOptions struct {
	// Configure, if set, has the last word on each crawl's configuration
	// (tests set Now or a dialer here).
	Configure func(*crawler.Config)
	// Full turns incremental re-crawls off: no conditional requests.
	Full bool
	// Now is the clock for run end times; default time.Now.
	Now func() time.Time
}

// CrawlRunner is the [Runner] that crawls a job into a store, incrementally:
//
//   - Every request for a URL the store already holds a 200 answer of
//     carries that answer's validators (If-None-Match from its ETag,
//     If-Modified-Since from its Last-Modified). A 304 is stored as a
//     capture with Conditional set and no body.
//   - A 200 whose payload was stored before costs only its capture record:
//     the store keeps each body once and marks the repeat as a revisit.
//   - A 304 page is not parsed, so its links are taken from last time: the
//     URLs that the page's previous capture led to (its children in that
//     run's frontier) are queued again, with their reasons, and the crawl
//     goes on until nothing new is queued. Navigation pages that change
//     (a new article listed) answer 200 and are parsed as usual, so new
//     articles are found; an unchanged article still has its [Source]
//     links and requisites re-checked.
type CrawlRunner struct {
	store *archive.Store
	opts  CrawlOptions
}

// NewCrawlRunner returns a runner that crawls into store.
func NewCrawlRunner(store *archive.Store, opts CrawlOptions) *CrawlRunner {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &CrawlRunner{store: store, opts: opts}
}

// notModified is a 304 capture of the run being crawled, whose links are to
// be taken from the page's previous capture.
type notModified struct {
	url string
	at  time.Time
}

// Run crawls run of job (a resume when the run has captures already).
func (r *CrawlRunner) Run(ctx context.Context, job Job, run archive.Run) (archive.Run, error) {
	cfg, err := job.Settings.Config()
	if err != nil {
		return r.end(ctx, run, archive.RunFailed, err)
	}
	if job.Settings.MaxPages > 0 && run.Counts.Captures > 0 {
		cfg.MaxPages -= int(run.Counts.Captures)
		if cfg.MaxPages <= 0 {
			return r.end(ctx, run, archive.RunFinished, nil)
		}
	}
	var mu sync.Mutex
	var pending []notModified
	if run.Counts.Captures > 0 && !r.opts.Full {
		// A resumed run: its 304s before the stop may not have been
		// expanded yet.
		err := r.store.Captures(ctx, "", func(c *archive.Capture) error {
			if c.Run == run.ID && c.Status == http.StatusNotModified {
				pending = append(pending, notModified{c.URL, c.Time})
			}
			return nil
		})
		if err != nil {
			return r.end(ctx, run, archive.RunFailed, err)
		}
	}
	if !r.opts.Full {
		cfg.Conditional = func(u string) (string, string) {
			etag, lm, err := r.store.Validators(u)
			if err != nil {
				return "", "" // a plain fetch is always correct
			}
			return etag, lm
		}
	}
	cfg.OnCapture = func(c *archive.Capture) {
		if c.Status == http.StatusNotModified {
			mu.Lock()
			pending = append(pending, notModified{c.URL, c.Time})
			mu.Unlock()
		}
	}
	if r.opts.Configure != nil {
		r.opts.Configure(&cfg)
	}
	kids := childIndex{store: r.store, runs: map[uint64]map[string][]archive.Item{}}
	var cerr error
	for pass := 0; ; pass++ {
		cr, err := crawler.New(cfg, r.store)
		if err != nil {
			return r.end(ctx, run, archive.RunFailed, err)
		}
		if pass == 0 {
			// Seeds are queued again on a resume: the store ignores
			// those already seen in the run.
			_, cerr = cr.Run(ctx, run.ID, job.Seeds)
		} else {
			_, cerr = cr.Resume(ctx, run.ID, job.Seeds)
		}
		if cerr != nil {
			break
		}
		mu.Lock()
		todo := pending
		pending = nil
		mu.Unlock()
		var items []archive.Item
		for _, nm := range todo {
			its, err := kids.of(ctx, nm, run.ID)
			if err != nil {
				return r.end(ctx, run, archive.RunFailed, err)
			}
			items = append(items, its...)
		}
		if len(items) == 0 {
			break
		}
		res, err := r.store.Commit(ctx, run.ID, archive.Batch{Enqueue: items})
		if err != nil {
			return r.end(ctx, run, archive.RunFailed, err)
		}
		if len(res.Queued) == 0 {
			break
		}
	}
	switch {
	case cerr == nil, errors.Is(cerr, crawler.ErrMaxPages):
		return r.end(ctx, run, archive.RunFinished, nil)
	case errors.Is(cerr, crawler.ErrStopped):
		return r.end(ctx, run, archive.RunStopped, nil)
	default:
		return r.end(ctx, run, archive.RunFailed, cerr)
	}
}

// end records how the run ended and returns it as stored; cause is the
// error that failed it, returned too.
func (r *CrawlRunner) end(ctx context.Context, run archive.Run, status string, cause error) (archive.Run, error) {
	err := r.store.UpdateRun(context.WithoutCancel(ctx), run.ID, func(x *archive.Run) error {
		x.Status = status
		x.Ended = r.opts.Now().UTC()
		return nil
	})
	final, rerr := r.store.Run(run.ID)
	if rerr != nil {
		final = run
		final.Status = status
	}
	return final, errors.Join(cause, err)
}

// childIndex finds what a page led to in an earlier run: the URLs queued
// there with the page as their parent. Each run's frontier is read once.
type childIndex struct {
	store *archive.Store
	runs  map[uint64]map[string][]archive.Item
}

// of returns the items to queue in run for a page that answered 304 at
// nm.at: the children of its newest capture before that, in that
// capture's run.
func (k *childIndex) of(ctx context.Context, nm notModified, run uint64) ([]archive.Item, error) {
	caps, err := k.store.CapturesOf(nm.url)
	if err != nil {
		return nil, err
	}
	var prev uint64
	for i := len(caps) - 1; i >= 0; i-- {
		if caps[i].Run != run && caps[i].Run != 0 && caps[i].Time.Before(nm.at) {
			prev = caps[i].Run
			break
		}
	}
	if prev == 0 {
		return nil, nil
	}
	byParent, ok := k.runs[prev]
	if !ok {
		byParent = map[string][]archive.Item{}
		err := k.store.Queued(ctx, prev, func(it archive.Item) error {
			if it.Parent != "" {
				byParent[it.Parent] = append(byParent[it.Parent], it)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("schedule: links of %s in run %d: %w", nm.url, prev, err)
		}
		k.runs[prev] = byParent
	}
	var out []archive.Item
	for _, it := range byParent[nm.url] {
		u, err := url.Parse(it.URL)
		if err != nil || u.Host == "" {
			continue
		}
		it.HostKey = crawler.HostKey(u)
		out = append(out, it)
	}
	return out, nil
}
