package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/amberarchive/amber/archive"
	"github.com/amberarchive/amber/crawler"
)

// BenchmarkCrawlInProcess runs the crawl of BenchmarkCrawl through
// crawler.New and Run in the test process, with the settings "amber crawl"
// would use, so that
//
//	go test -run '^$' -bench CrawlInProcess -benchtime 1x -cpuprofile cpu.out ./bench
//
// profiles amber's hot path. The fixture server runs in the same process
// and shows up in the profile too (testdata/fixture frames). nosync=true
// skips fsync, to show what durability costs; amber itself always syncs.
func BenchmarkCrawlInProcess(b *testing.B) {
	parallel := envInt(b, envParallel, 8)
	for _, n := range sizes(b)[:1] { // a profile needs one size, the first
		for _, ph := range perHosts(b) {
			for _, noSync := range []bool{false, true} {
				b.Run(fmt.Sprintf("articles=%d/per-host=%d/nosync=%v", n, ph, noSync), func(b *testing.B) {
					srv := site(b, n)
					var pages, raw int64
					var wall time.Duration
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						srv.ResetLog()
						st, d := crawlInProcess(b, srv.Resolve(), srv.Seed(), ph, parallel, noSync)
						pages += st.Fetched
						raw += st.Bytes
						wall += d
						record(b, map[string]float64{"pages/s": float64(st.Fetched) / d.Seconds()})
					}
					b.StopTimer()
					b.ReportMetric(float64(pages)/wall.Seconds(), "pages/s")
					b.ReportMetric(float64(raw)/1e6/wall.Seconds(), "MB/s")
					b.ReportMetric(float64(pages)/float64(b.N), "pages")
					b.ReportMetric(0, "ns/op")
				})
			}
		}
	}
}

func crawlInProcess(b *testing.B, resolve map[string]string, seed string, perHost, parallel int, noSync bool) (crawler.Stats, time.Duration) {
	b.Helper()
	ctx := context.Background()
	st, err := archive.Open(filepath.Join(b.TempDir(), "amber.db"), archive.Options{NoSync: noSync})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	run, err := st.CreateRun(ctx, archive.Run{Seeds: []string{seed}})
	if err != nil {
		b.Fatal(err)
	}
	cfg := crawler.DefaultConfig()
	cfg.Delay = 0
	cfg.MaxCrawlDelay = 0
	cfg.PerHost = perHost
	cfg.Parallel = parallel
	cfg.Contact = "mailto:bench@amber.invalid"
	cfg.Resolve = resolve
	c, err := crawler.New(cfg, st)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	stats, err := c.Run(ctx, run.ID, []string{seed})
	d := time.Since(start)
	if err != nil {
		b.Fatalf("crawl: %v", err)
	}
	if stats.Failed > 0 {
		b.Errorf("%d URLs failed", stats.Failed)
	}
	return stats, d
}
