package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/amberarchive/amber/archive"
	"github.com/amberarchive/amber/crawler"
)

const crawlHelp = `Crawl a site from one or more seed URLs into the archive.

amber follows, from the seeds' site, article links (--article) and navigation
pages (--follow) to any depth, fetches every "[Source]" link even off-site
(one hop: a source's own links are not followed), and fetches the images,
stylesheets and scripts every archived page needs. Everything else (ads,
subscribe boxes, share buttons, tag pages) is not followed; "amber why URL"
says why any URL was or was not fetched.

Politeness: robots.txt is obeyed (RFC 9309); one request at a time per host,
starting at least --delay apart (or the site's Crawl-delay, if larger);
429/503 pause that host for its Retry-After.

A stopped (Ctrl-C) or killed crawl resumes where it stopped:
  amber crawl --resume`

const crawlExample = `  amber crawl https://chinadigitaltimes.net/
  amber crawl --contact mailto:archive@example.org --delay 2s https://chinadigitaltimes.net/
  amber crawl --resume
  amber crawl --resolve chinadigitaltimes.test:8080=127.0.0.2:8080 http://chinadigitaltimes.test:8080/`

// crawlFlags are the settings of a crawl; they are stored with the run so a
// resume uses the same ones.
type crawlFlags struct {
	db             string
	resume         bool
	delay          time.Duration
	perHost        int
	parallel       int
	userAgent      string
	contact        string
	article        string
	follow         string
	sourceText     string
	sourceSelector string
	noRequisites   bool
	maxPages       int
	maxDepth       int
	maxBody        string
	resolve        []string
	ignoreRobots   bool
	insecure       bool
	timeout        time.Duration
	maxCrawlDelay  time.Duration
	retries        int
	scope          []string
}

// notSettings are flags that are not crawl settings.
var notSettings = map[string]bool{"db": true, "resume": true, "help": true}

func newCrawlCmd(stdout, stderr io.Writer) *cobra.Command {
	var f crawlFlags
	c := &cobra.Command{
		Use:     "crawl [flags] URL...",
		Short:   "crawl sites into the archive (or --resume the last crawl)",
		Long:    crawlHelp,
		Example: crawlExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCrawl(cmd.Context(), cmd.Flags(), &f, args, stdout, stderr)
		},
	}
	def := crawler.DefaultConfig()
	rules := crawler.DefaultRules()
	fl := c.Flags()
	dbFlag(c, &f.db)
	fl.BoolVar(&f.resume, "resume", false, "continue the last crawl that was stopped or killed, with its settings")
	fl.DurationVar(&f.delay, "delay", def.Delay, "least time between the starts of two requests to one host")
	fl.IntVar(&f.perHost, "per-host", def.PerHost, "requests in flight at once per host")
	fl.IntVar(&f.parallel, "parallel", def.Parallel, "hosts fetched at once")
	fl.StringVar(&f.userAgent, "user-agent", "", "User-Agent to send (default \"amber/VERSION (+CONTACT)\")")
	fl.StringVar(&f.contact, "contact", "", "a URL or mailto: where site owners can reach you; put in the User-Agent")
	fl.StringVar(&f.article, "article", rules.Article.String(), "regular expression on the path of article pages (followed to any depth)")
	fl.StringVar(&f.follow, "follow", rules.Follow.String(), "regular expression on the path of navigation pages (archives, categories)")
	fl.StringVar(&f.sourceText, "source-text", rules.SourceText, "anchor text of links to cited sources (trimmed, any case)")
	fl.StringVar(&f.sourceSelector, "source-selector", "", "CSS selector that also marks source links, e.g. 'a.source'")
	fl.BoolVar(&f.noRequisites, "no-requisites", false, "do not fetch images, stylesheets and scripts of archived pages")
	fl.IntVar(&f.maxPages, "max-pages", 0, "stop after this many fetches (0: no limit)")
	fl.IntVar(&f.maxDepth, "max-depth", 0, "follow links at most this many hops from the seeds (0: no limit)")
	fl.StringVar(&f.maxBody, "max-body", "64MiB", "truncate (and mark) bodies longer than this")
	fl.StringArrayVar(&f.resolve, "resolve", nil, "HOST[:PORT]=ADDR: reach HOST at ADDR instead of DNS (repeatable)")
	fl.BoolVar(&f.ignoreRobots, "ignore-robots", false, "do not obey robots.txt (recorded in the run and the WARC)")
	fl.BoolVar(&f.insecure, "insecure", false, "accept invalid TLS certificates (recorded in the run)")
	fl.DurationVar(&f.timeout, "timeout", def.Timeout, "longest time for one request, body included")
	fl.DurationVar(&f.maxCrawlDelay, "max-crawl-delay", def.MaxCrawlDelay, "longest robots.txt Crawl-delay honoured")
	fl.IntVar(&f.retries, "retries", def.Retries, "extra attempts after a network error or 429/503")
	fl.StringArrayVar(&f.scope, "scope", nil, "another host to treat as part of the site (repeatable)")
	return c
}

func runCrawl(ctx context.Context, fs *pflag.FlagSet, f *crawlFlags, args []string, stdout, stderr io.Writer) error {
	if f.resume && len(args) > 0 {
		return usagef("crawl: --resume continues the last crawl; give no URLs with it")
	}
	if !f.resume && len(args) == 0 {
		return usagef("crawl: give at least one seed URL, e.g. amber crawl https://chinadigitaltimes.net/ (or --resume)")
	}
	var seeds []string
	for _, a := range args {
		cu, err := crawler.Canonical(a)
		if err != nil {
			return usagef("crawl: seed %q: %v", a, err)
		}
		seeds = append(seeds, cu)
	}
	store, err := openStore(f.db, false)
	if err != nil {
		return err
	}
	defer store.Close()

	var run archive.Run
	if f.resume {
		run, err = store.LastRun("")
		if errors.Is(err, archive.ErrNotFound) {
			return fmt.Errorf("nothing to resume in %s: no crawl has run there", f.db)
		}
		if err != nil {
			return err
		}
		if run.Status == archive.RunFinished {
			return fmt.Errorf("nothing to resume: run %d finished at %s; start a new crawl with amber crawl URL", run.ID, run.Ended.Format(time.RFC3339))
		}
		if err := applySettings(fs, run.Settings); err != nil {
			return fmt.Errorf("resume run %d: %w", run.ID, err)
		}
		seeds = run.Seeds
	}
	cfg, err := crawlConfig(f)
	if err != nil {
		return err
	}
	if f.resume {
		if cfg.MaxPages > 0 {
			cfg.MaxPages -= int(run.Counts.Captures)
			if cfg.MaxPages <= 0 {
				return fmt.Errorf("nothing to resume: run %d already reached --max-pages %s", run.ID, run.Settings["max-pages"])
			}
		}
		if err := store.UpdateRun(ctx, run.ID, func(r *archive.Run) error { r.Status = archive.RunRunning; r.Ended = time.Time{}; return nil }); err != nil {
			return err
		}
	} else {
		run, err = store.CreateRun(ctx, archive.Run{Seeds: seeds, Settings: settingsOf(fs)})
		if err != nil {
			return err
		}
	}
	cr, err := crawler.New(cfg, store)
	if err != nil {
		return usageError{err.Error()}
	}
	prog := newProgress(stderr, cr)
	prog.begin()
	var st crawler.Stats
	if f.resume {
		fmt.Fprintf(stderr, "resuming run %d (%s)\n", run.ID, strings.Join(seeds, " "))
		// Seeds are queued again: the store ignores those already seen,
		// and a run killed before its seeds were committed still starts.
		st, err = cr.Run(ctx, run.ID, seeds)
	} else {
		st, err = cr.Run(ctx, run.ID, seeds)
	}
	prog.stop()

	status := archive.RunFinished
	switch {
	case errors.Is(err, crawler.ErrStopped):
		status = archive.RunStopped
	case errors.Is(err, crawler.ErrMaxPages):
		status = archive.RunFinished
	case err != nil:
		status = archive.RunFailed
	}
	uerr := store.UpdateRun(context.WithoutCancel(ctx), run.ID, func(r *archive.Run) error {
		r.Status = status
		r.Ended = time.Now().UTC()
		return nil
	})
	final, rerr := store.Run(run.ID)
	if rerr != nil {
		final = run
	}
	summary(stdout, final, st, f.db)
	if uerr != nil {
		return uerr
	}
	switch {
	case errors.Is(err, crawler.ErrStopped):
		fmt.Fprintf(stderr, "stopped; resume with: amber crawl --resume --db %s\n", f.db)
		return exitCodeError{exitStopped}
	case errors.Is(err, crawler.ErrMaxPages):
		fmt.Fprintf(stderr, "reached --max-pages; URLs still queued were not fetched\n")
	case err != nil:
		return fmt.Errorf("crawl stopped: %w; after fixing it, resume with: amber crawl --resume --db %s", err, f.db)
	}
	if final.Counts.Failed > 0 {
		fs, _ := store.Failures(run.ID)
		printFailures(stderr, fs)
		return exitCodeError{exitFailures}
	}
	return nil
}

// crawlConfig turns flags into a crawler configuration; bad values are usage
// errors that name the flag.
func crawlConfig(f *crawlFlags) (crawler.Config, error) {
	cfg := crawler.DefaultConfig()
	cfg.Delay, cfg.PerHost, cfg.Parallel = f.delay, f.perHost, f.parallel
	cfg.UserAgent, cfg.Contact = f.userAgent, f.contact
	cfg.MaxPages, cfg.IgnoreRobots, cfg.Insecure = f.maxPages, f.ignoreRobots, f.insecure
	cfg.Timeout, cfg.MaxCrawlDelay, cfg.Retries = f.timeout, f.maxCrawlDelay, f.retries
	if f.delay < 0 {
		return cfg, usagef("crawl: --delay must not be negative")
	}
	if f.perHost < 1 || f.parallel < 1 {
		return cfg, usagef("crawl: --per-host and --parallel must be at least 1")
	}
	if f.maxPages < 0 || f.maxDepth < 0 || f.retries < 0 {
		return cfg, usagef("crawl: --max-pages, --max-depth and --retries must not be negative")
	}
	var err error
	if cfg.MaxBody, err = parseSize(f.maxBody); err != nil {
		return cfg, usagef("crawl: --max-body: %v", err)
	}
	r := crawler.DefaultRules()
	if r.Article, err = regexp.Compile(f.article); err != nil {
		return cfg, usagef("crawl: --article is not a valid regular expression: %v", err)
	}
	if r.Follow, err = regexp.Compile(f.follow); err != nil {
		return cfg, usagef("crawl: --follow is not a valid regular expression: %v", err)
	}
	r.SourceText = f.sourceText
	r.SourceSelector = f.sourceSelector
	r.Requisites = !f.noRequisites
	r.MaxDepth = f.maxDepth
	r.Scope = f.scope
	cfg.Rules = r
	cfg.Resolve = map[string]string{}
	for _, m := range f.resolve {
		host, addr, ok := strings.Cut(m, "=")
		if !ok || host == "" || addr == "" {
			return cfg, usagef("crawl: --resolve %q: want HOST[:PORT]=ADDR, e.g. example.test:8080=127.0.0.2:8080", m)
		}
		cfg.Resolve[strings.ToLower(host)] = addr
	}
	return cfg, nil
}

// parseSize reads 1048576, 64MiB, 10MB, 512k.
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(strings.ToLower(s))
	mult := int64(1)
	for _, u := range []struct {
		suf string
		m   int64
	}{{"gib", 1 << 30}, {"mib", 1 << 20}, {"kib", 1 << 10}, {"gb", 1e9}, {"mb", 1e6}, {"kb", 1e3}, {"g", 1 << 30}, {"m", 1 << 20}, {"k", 1 << 10}, {"b", 1}} {
		if strings.HasSuffix(t, u.suf) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suf)), u.m
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a size (try 64MiB, 10MB or a number of bytes)", s)
	}
	return n * mult, nil
}

// settingsOf records every crawl flag's value, as the user gave it or its
// default, so that the run says exactly how it was crawled.
func settingsOf(fs *pflag.FlagSet) map[string]string {
	m := map[string]string{}
	fs.VisitAll(func(fl *pflag.Flag) {
		if notSettings[fl.Name] {
			return
		}
		if sv, ok := fl.Value.(pflag.SliceValue); ok {
			m[fl.Name] = strings.Join(sv.GetSlice(), ",")
			return
		}
		m[fl.Name] = fl.Value.String()
	})
	return m
}

// applySettings restores a run's settings, except flags the user set on
// this command line.
func applySettings(fs *pflag.FlagSet, settings map[string]string) error {
	for name, v := range settings {
		fl := fs.Lookup(name)
		if fl == nil || fs.Changed(name) {
			continue
		}
		if sv, ok := fl.Value.(pflag.SliceValue); ok {
			var vals []string
			if v != "" {
				vals = strings.Split(v, ",")
			}
			if err := sv.Replace(vals); err != nil {
				return fmt.Errorf("setting %s=%q: %w", name, v, err)
			}
			continue
		}
		if err := fl.Value.Set(v); err != nil {
			return fmt.Errorf("setting %s=%q: %w", name, v, err)
		}
	}
	return nil
}

func summary(w io.Writer, r archive.Run, st crawler.Stats, db string) {
	c := r.Counts
	fmt.Fprintf(w, "run %d %s: %d captured (%s), %d failed, %d not followed, in %s\n",
		r.ID, r.Status, c.Captures, human(c.Bytes), c.Failed, c.Skipped, st.Elapsed.Round(time.Millisecond))
	if len(c.ByStatus) > 0 {
		fmt.Fprintf(w, "  by status: %s\n", countList(c.ByStatus))
	}
	if len(c.ByReason) > 0 {
		fmt.Fprintf(w, "  by reason: %s\n", countList(c.ByReason))
	}
	fmt.Fprintf(w, "  see: amber ls --db %s    amber runs --db %s\n", db, db)
}

func countList(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

func printFailures(w io.Writer, fs []archive.Failure) {
	fmt.Fprintf(w, "%d URLs could not be captured:\n", len(fs))
	for i, f := range fs {
		if i == 20 {
			fmt.Fprintf(w, "  ... and %d more (amber why URL tells about one)\n", len(fs)-20)
			break
		}
		fmt.Fprintf(w, "  %s: %s\n", f.URL, f.Err)
	}
}

func human(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
