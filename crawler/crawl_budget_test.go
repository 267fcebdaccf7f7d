package crawler_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/amberarchive/amber/archive"
	"github.com/amberarchive/amber/crawler"
)

// TestMaxPerHostAcrossResume: the per-host page budget is the run's, not
// the process's. A crawl of the chaos calendar (a next-month link on every
// page, forever) stopped after a few pages and resumed fetches exactly
// --max-per-host calendar pages in all, and the store keeps the count.
func TestMaxPerHostAcrossResume(t *testing.T) {
	t.Parallel()
	const budget, stopAfter = 10, 4
	srv := startChaos(t)
	cfg := chaosConfig(t, srv)
	cfg.MaxPerHost = budget
	cfg.Parallel = 1
	st := openStore(t)
	seed := srv.URL("cal", "/t/cal/2024/01/")
	run, err := st.CreateRun(context.Background(), archive.Run{Seeds: []string{seed}})
	if err != nil {
		t.Fatal(err)
	}
	isCal := func(u string) bool { return strings.Contains(u, "//cal.") && strings.Contains(u, "/t/cal/") }

	// First process: stopped once stopAfter calendar pages are stored.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var seen atomic.Int32
	first := cfg
	first.OnCapture = func(c *archive.Capture) {
		if isCal(c.URL) && seen.Add(1) >= stopAfter {
			cancel()
		}
	}
	cr, err := crawler.New(first, st)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cr.Run(ctx, run.ID, []string{seed}); err != crawler.ErrStopped {
		t.Fatalf("first run: %v, want ErrStopped", err)
	}
	spent, err := st.HostPages(run.ID)
	if err != nil {
		t.Fatal(err)
	}
	var calSpent int
	for hk, n := range spent {
		if strings.Contains(hk, "//cal.") {
			calSpent = n
		}
	}
	if calSpent < stopAfter || calSpent >= budget {
		t.Fatalf("after the stop the store counts %d calendar pages (%v), want %d to %d", calSpent, spent, stopAfter, budget-1)
	}

	// Second process: the resume goes on from the stored count.
	cr, err = crawler.New(cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cr.Run(context.Background(), run.ID, []string{seed}); err != nil {
		t.Fatalf("resume: %v", err)
	}
	n := 0
	err = st.Captures(context.Background(), "", func(c *archive.Capture) error {
		if isCal(c.URL) && c.Run == run.ID {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != budget {
		t.Errorf("%d calendar pages fetched over the stop and the resume, want the budget %d", n, budget)
	}
}
