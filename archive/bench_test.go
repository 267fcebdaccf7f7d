package archive

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkCommit commits one capture (a ~20 KB body, half of it
// compressible) plus a few frontier changes per batch from parallel
// goroutines, with fsync on, and reports captures per second.
func BenchmarkCommit(b *testing.B) {
	for _, noSync := range []bool{false, true} {
		b.Run(fmt.Sprintf("nosync=%v", noSync), func(b *testing.B) {
			s := newStore(b, Options{NoSync: noSync})
			run := newRun(b, s, "")
			commitParallel(b, s, run)
		})
	}
}

// commitParallel commits captures of ~20 KB bodies (each with two queued
// links and a skip, as a crawled page gives) from b.RunParallel goroutines,
// reports captures/s, and returns how many were committed.
func commitParallel(b *testing.B, s *Store, run Run) int64 {
	b.Helper()
	noise := randomBody(b, 10<<10, 1)
	var n atomic.Int64
	b.SetBytes(20 << 10)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			body := append([]byte(fmt.Sprintf("<html>%d %s", i, make([]byte, 10<<10))), noise...)
			u := fmt.Sprintf("http://h%d.test/%d", i%50, i)
			c := testCapture(u, time.Now(), body)
			_, err := s.Commit(context.Background(), run.ID, Batch{
				Captures: []*Capture{c},
				Enqueue:  []Item{item(u + "/a"), item(u + "/b")},
				Skipped:  []Skip{{URL: u + "/ad", Why: "ad"}},
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(n.Load())/time.Since(start).Seconds(), "captures/s")
	return n.Load()
}
