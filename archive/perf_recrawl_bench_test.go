package archive_test

import (
	"context"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/amberarchive/amber/archive"
	"github.com/amberarchive/amber/schedule"
	"github.com/amberarchive/amber/testdata/fixture"
)

// BenchmarkRecrawlStored crawls the fixture site (1,000 articles) twice,
// unchanged in between, as a daily job does, and reports what the second
// crawl added to the store against the first: everything the store holds
// (%store-2nd/1st: every key and value of every bucket, the frontier's
// per-run records included), capture records (keys, values and the URL
// index) with bodies as stored (%records-2nd/1st), and where the second
// crawl's record bytes go (key, listing part, heads part) by kind of
// capture; and each crawl's requests and time.
//
//	go test -run '^$' -bench RecrawlStored -benchtime 1x ./archive
func BenchmarkRecrawlStored(b *testing.B) {
	for range b.N {
		srv, err := fixture.Start(fixture.Options{Articles: 1000})
		if err != nil {
			b.Fatal(err)
		}
		store, err := archive.Open(filepath.Join(b.TempDir(), "amber.db"), archive.Options{NoSync: true})
		if err != nil {
			b.Fatal(err)
		}
		set := schedule.DefaultSettings()
		set.Delay, set.MaxCrawlDelay, set.Contact = 0, 1e6, "mailto:test@amber.invalid"
		for h, a := range srv.Resolve() {
			set.Resolve = append(set.Resolve, h+"="+a)
		}
		sort.Strings(set.Resolve)
		job, err := schedule.NewJob("daily", []string{srv.Seed()}, "@daily", "UTC", set)
		if err != nil {
			b.Fatal(err)
		}
		s, err := schedule.New(store, []schedule.Job{job}, schedule.Options{})
		if err != nil {
			b.Fatal(err)
		}
		var stats []archive.StoreStats
		st0, _ := store.Stats()
		stats = append(stats, st0)
		var run archive.Run
		var took [2]time.Duration
		var hits [2][]fixture.Hit
		for i := range 2 {
			srv.ResetLog()
			t0 := time.Now()
			if run, err = s.RunJob(context.Background(), "daily"); err != nil {
				b.Fatal(err)
			}
			took[i], hits[i] = time.Since(t0), srv.Log()
			st, err := store.Stats()
			if err != nil {
				b.Fatal(err)
			}
			stats = append(stats, st)
		}
		parts, err := archive.CaptureRecordBreakdown(store, run.ID)
		if err != nil {
			b.Fatal(err)
		}
		store.Close()
		srv.Close()
		d := func(i int) (caps, recs, bodies int64) {
			return stats[i].Captures - stats[i-1].Captures, stats[i].CaptureBytes - stats[i-1].CaptureBytes,
				stats[i].CompressedBytes - stats[i-1].CompressedBytes
		}
		c1, r1, b1 := d(1)
		c2, r2, b2 := d(2)
		a1, a2 := stats[1].AllBytes-stats[0].AllBytes, stats[2].AllBytes-stats[1].AllBytes
		b.Logf("first:  %d captures, records %d B (%d B each), bodies %d B, whole store %d B, file %d B", c1, r1, r1/max(c1, 1), b1, a1, stats[1].FileSize)
		b.Logf("second: %d captures, records %d B (%d B each), bodies %d B, whole store %d B, file %d B", c2, r2, r2/max(c2, 1), b2, a2, stats[2].FileSize)
		b.ReportMetric(float64(a2)/float64(a1)*100, "%store-2nd/1st")
		for i, hs := range hits {
			var n304, body int64
			for _, h := range hs {
				if h.Status == 304 {
					n304++
				}
				body += h.Bytes
			}
			b.Logf("crawl %d: %d requests (%d answered 304), %d body bytes sent, %v", i+1, len(hs), n304, body, took[i].Round(time.Millisecond))
		}
		b.ReportMetric(float64(took[1])/float64(took[0])*100, "%time-2nd/1st")
		b.Logf("second crawl's records, bytes each:\n%s", archive.FormatRecordBreakdown(parts))
		b.ReportMetric(float64(r1)/float64(c1), "B/record-1st")
		b.ReportMetric(float64(r2)/float64(c2), "B/record-2nd")
		b.ReportMetric(float64(r2+b2)/float64(r1+b1)*100, "%records-2nd/1st")
		var all archive.RecordSizes
		for _, rs := range parts {
			all.N, all.Key, all.Listing, all.Heads = all.N+rs.N, all.Key+rs.Key, all.Listing+rs.Listing, all.Heads+rs.Heads
		}
		b.ReportMetric(float64(all.Listing+all.Heads)/float64(max(all.N, 1)), "B/value-2nd")
	}
}
