package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/amberarchive/amber/archive"
	"github.com/amberarchive/amber/crawler"
	"github.com/amberarchive/amber/testdata/fixture"
	"github.com/amberarchive/amber/wacz"
)

func version() string { return crawler.Version }

func newDemoCmd(stdout, stderr io.Writer) *cobra.Command {
	var dir string
	var articles int
	c := &cobra.Command{
		Use:   "demo [flags]",
		Short: "crawl the bundled fixture news site on loopback, end to end",
		Long: `Serve the bundled fixture site (a China Digital Times-shaped news site and
the source sites its articles cite) on loopback addresses, crawl it into a
fresh archive in --dir, and show what was kept. Nothing leaves this machine:
the fixture's host names are mapped to 127.0.0.x with the same mechanism as
--resolve, never DNS.

The demo crawls with --delay 50ms and caps Crawl-delay at 200ms so it ends
in seconds; real crawls keep the polite defaults.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDemo(cmd.Context(), dir, articles, stdout, stderr)
		},
	}
	c.Flags().StringVar(&dir, "dir", "demo-output", "where the demo's archive and exports go")
	c.Flags().IntVar(&articles, "articles", 36, "articles on the fixture site")
	return c
}

func runDemo(ctx context.Context, dir string, articles int, stdout, stderr io.Writer) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	srv, err := fixture.Start(fixture.Options{Articles: articles})
	if err != nil {
		return fmt.Errorf("demo: start the fixture site: %w", err)
	}
	defer srv.Close()
	fmt.Fprintf(stdout, "fixture site serving on loopback; seed %s\n", srv.Seed())
	hosts := make([]string, 0)
	for h, a := range srv.Resolve() {
		hosts = append(hosts, fmt.Sprintf("  %s -> %s", h, a))
	}
	sort.Strings(hosts)
	for _, h := range hosts {
		fmt.Fprintln(stdout, h)
	}

	db := filepath.Join(dir, "amber.db")
	store, err := openStore(db, false)
	if err != nil {
		return err
	}
	defer store.Close()
	cfg := crawler.DefaultConfig()
	cfg.Delay = 50 * time.Millisecond
	cfg.MaxCrawlDelay = 200 * time.Millisecond
	cfg.Contact = "mailto:demo@amber.invalid"
	cfg.Resolve = srv.Resolve()
	settings := map[string]string{"delay": "50ms", "max-crawl-delay": "200ms", "contact": cfg.Contact, "demo": "true"}
	run, err := store.CreateRun(ctx, archive.Run{Seeds: []string{srv.Seed()}, Settings: settings})
	if err != nil {
		return err
	}
	cr, err := crawler.New(cfg, store)
	if err != nil {
		return err
	}
	prog := newProgress(stderr, cr)
	prog.begin()
	st, cerr := cr.Run(ctx, run.ID, []string{srv.Seed()})
	prog.stop()
	status := archive.RunFinished
	if cerr != nil {
		status = archive.RunStopped
	}
	_ = store.UpdateRun(context.WithoutCancel(ctx), run.ID, func(r *archive.Run) error {
		r.Status, r.Ended = status, time.Now().UTC()
		return nil
	})
	final, _ := store.Run(run.ID)
	summary(stdout, final, st, db)
	if cerr != nil {
		return fmt.Errorf("demo crawl: %w", cerr)
	}
	if err := demoExport(ctx, store, dir, stdout); err != nil {
		return err
	}
	a := self()
	fmt.Fprintf(stdout, "\nlook around:\n  %s ls --db %s\n  %s why --db %s %s/tag/cybersecurity/\n  %s show --db %s %s\n  %s verify %s\n",
		a, db, a, db, srv.URL("chinadigitaltimes.test"), a, db, srv.Seed(), a, filepath.Join(dir, "warc", "*.warc.gz"))
	fmt.Fprintf(stdout, "\nreplay it (the fixture site is gone now; nothing live is needed):\n  %s replay --db %s\n  then open http://127.0.0.1:8080/web/%s\n",
		a, db, srv.Seed())
	return nil
}

// demoExport writes the demo's archive as WARC + CDXJ (dir/warc/) and as
// WACZ (dir/demo.wacz), and prints the file names.
func demoExport(ctx context.Context, store *archive.Store, dir string, stdout io.Writer) error {
	opts := archive.ExportOptions{Dir: filepath.Join(dir, "warc"), Software: "amber/" + crawler.Version, Host: "demo"}
	res, err := store.Export(ctx, opts, nil)
	if err != nil {
		return fmt.Errorf("demo export: %w", err)
	}
	fmt.Fprintf(stdout, "\nexported %d captures (%d revisits) as WARC 1.1 + CDXJ:\n", res.Captures, res.Revisits)
	for _, f := range append(res.Files, res.Index) {
		fmt.Fprintln(stdout, "  "+f)
	}
	wr, err := wacz.Write(ctx, store, wacz.Options{Export: archive.ExportOptions{Software: opts.Software, Host: "demo"},
		Path: filepath.Join(dir, "demo.wacz"), Title: "amber demo", Description: "The bundled fixture news site, crawled by amber demo."}, nil)
	if err != nil {
		return fmt.Errorf("demo export: %w", err)
	}
	fmt.Fprintf(stdout, "and as WACZ (%d pages, open it in ReplayWeb.page):\n  %s\n", wr.Pages, wr.Path)
	return nil
}

// self is how the user can run amber again: the binary's path, or "go run
// ./cmd/amber" when the demo was started with go run.
func self() string {
	exe := os.Args[0]
	if strings.Contains(exe, "go-build") {
		return "go run ./cmd/amber"
	}
	return exe
}
