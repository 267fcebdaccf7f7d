package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/amberarchive/amber/archive"
	"github.com/amberarchive/amber/crawler"
	"github.com/amberarchive/amber/schedule"
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
// resume uses the same ones. The crawl settings themselves are a
// schedule.Settings, shared with the jobs of a config file.
type crawlFlags struct {
	db     string
	resume bool
	schedule.Settings
}

// notSettings are flags that are not crawl settings.
var notSettings = map[string]bool{"db": true, "resume": true, "help": true}

func newCrawlCmd(stdout, stderr io.Writer) *cobra.Command {
	f := crawlFlags{Settings: schedule.DefaultSettings()}
	c := &cobra.Command{
		Use:     "crawl [flags] URL...",
		Short:   "crawl sites into the archive (or --resume the last crawl)",
		Long:    crawlHelp,
		Example: crawlExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCrawl(cmd.Context(), cmd.Flags(), &f, args, stdout, stderr)
		},
	}
	dbFlag(c, &f.db)
	c.Flags().BoolVar(&f.resume, "resume", false, "continue the last crawl that was stopped or killed, with its settings")
	f.Settings.AddFlags(c.Flags())
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
	cfg, err := f.Settings.Config()
	if err != nil {
		return cfg, usagef("crawl: %v", err)
	}
	return cfg, nil
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
