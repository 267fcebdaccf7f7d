package schedule

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/amberarchive/amber/archive"
)

// recrawl is what one run of a job cost.
type recrawl struct {
	requests   int           // requests the site answered
	bodyRaw    int64         // body bytes added to the store (uncompressed)
	bodyZstd   int64         // the same, as stored (zstd)
	headBytes  int64         // request and response heads of the run's captures (raw, before the store encodes them)
	records    int64         // capture records added to the store, keys and values as stored
	captures   int           // captures of the run
	notMod     int           // of which 304
	took       time.Duration // wall time of the run
	fileGrowth int64         // growth of the bbolt file (coarse: it grows in steps)
}

func (r recrawl) String() string {
	return fmt.Sprintf("%d requests, %d captures (%d 304), bodies +%d B raw / +%d B zstd, heads %d B raw, records +%d B stored, file +%d B, %s",
		r.requests, r.captures, r.notMod, r.bodyRaw, r.bodyZstd, r.headBytes, r.records, r.fileGrowth, r.took.Round(time.Millisecond))
}

// measureDaily crawls a fixture site of n articles twice, unchanged in
// between, and returns the cost of each run.
func measureDaily(tb testing.TB, n int) (first, second recrawl) {
	tb.Helper()
	srv := startSite(tb, n)
	store := openStore(tb)
	job, err := NewJob("daily", []string{srv.Seed()}, "@daily", "UTC", fastSettings(srv))
	if err != nil {
		tb.Fatal(err)
	}
	s, err := New(store, []Job{job}, Options{})
	if err != nil {
		tb.Fatal(err)
	}
	one := func() recrawl {
		before, _ := store.Stats()
		srv.ResetLog()
		start := time.Now()
		run := runJob(tb, s, "daily")
		took := time.Since(start)
		after, _ := store.Stats()
		r := recrawl{requests: len(srv.Log()), took: took,
			bodyRaw: after.RawBytes - before.RawBytes, bodyZstd: after.CompressedBytes - before.CompressedBytes,
			fileGrowth: after.FileSize - before.FileSize, records: after.CaptureBytes - before.CaptureBytes}
		_ = store.Captures(context.Background(), "", func(c *archive.Capture) error {
			if c.Run == run.ID {
				r.captures++
				r.headBytes += int64(len(c.Request) + len(c.ResponseHead))
				if c.Status == 304 {
					r.notMod++
				}
			}
			return nil
		})
		return r
	}
	return one(), one()
}

// TestDailyRecrawlOfUnchangedSite: a re-crawl of an unchanged site adds
// under 2% of the first crawl's stored body bytes, and fetches every URL
// again (conditionally).
func TestDailyRecrawlOfUnchangedSite(t *testing.T) {
	first, second := measureDaily(t, 100)
	t.Logf("first:  %s", first)
	t.Logf("second: %s", second)
	if second.bodyZstd*50 > first.bodyZstd {
		t.Errorf("the re-crawl added %d stored body bytes, over 2%% of the first crawl's %d", second.bodyZstd, first.bodyZstd)
	}
	if second.captures < first.captures-5 || second.notMod < second.captures*9/10 {
		t.Errorf("re-crawl: %d captures (%d 304); first: %d; want the same URLs, nearly all 304", second.captures, second.notMod, first.captures)
	}
}

// BenchmarkDailyRecrawl1000 is the daily re-crawl of an unchanged site of
// 1,000 articles against its first crawl (go test -run ^$ -bench Daily
// ./schedule). The figures are reported as metrics.
func BenchmarkDailyRecrawl1000(b *testing.B) {
	for range b.N {
		first, second := measureDaily(b, 1000)
		b.Logf("first:  %s", first)
		b.Logf("second: %s", second)
		b.ReportMetric(float64(second.bodyZstd)/float64(first.bodyZstd)*100, "%body-stored")
		b.ReportMetric(float64(second.bodyZstd+second.records)/float64(first.bodyZstd+first.records)*100, "%stored")
		b.ReportMetric(float64(second.requests), "requests-2nd")
		b.ReportMetric(float64(first.requests), "requests-1st")
		b.ReportMetric(second.took.Seconds()/first.took.Seconds()*100, "%time")
	}
}
