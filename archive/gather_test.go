package archive

import (
	"testing"
	"time"
)

// TestGatherWaitsOnlyWithCompany checks how the writer groups batches: a
// batch after a lone commit is committed at once; after a group of several,
// the writer waits for more, until it has enough, the wait is over, or the
// store closes.
func TestGatherWaitsOnlyWithCompany(t *testing.T) {
	reqs := make(chan *commitReq, 64)
	// A long wait, so that the test does not depend on the machine's speed.
	g := gatherer{reqs: reqs, wait: 10 * time.Second, enough: 4}
	sendLater := func(n int, every time.Duration) chan struct{} {
		done := make(chan struct{})
		go func() {
			defer close(done)
			for range n {
				time.Sleep(every)
				reqs <- &commitReq{}
			}
		}()
		return done
	}
	next := func(want int, within time.Duration) {
		t.Helper()
		start := time.Now()
		if got := len(g.next()); got != want {
			t.Fatalf("group of %d batches, want %d", got, want)
		}
		if d := time.Since(start); d > within {
			t.Fatalf("group took %v, want at most %v", d, within)
		}
	}

	// No company before: a lone batch does not wait for one 300 ms later
	// (wide margins: CI runs this beside other packages' tests, with -race).
	reqs <- &commitReq{}
	sent := sendLater(1, 300*time.Millisecond)
	next(1, 250*time.Millisecond)
	next(1, 5*time.Second)
	<-sent

	// Two at once make a group of two. The next group then waits for
	// batches arriving 20 ms apart, until it has enough (4).
	reqs <- &commitReq{}
	reqs <- &commitReq{}
	next(2, 5*time.Second)
	reqs <- &commitReq{}
	sent = sendLater(4, 20*time.Millisecond)
	next(4, 5*time.Second)
	<-sent
	// One batch is left; closing the store ends the wait for more.
	close(reqs)
	next(1, 5*time.Second)
	if g.next() != nil {
		t.Fatal("next after close and drain returned a group")
	}

	// The wait is bounded: with company before and nothing more coming,
	// the group goes after the wait.
	reqs = make(chan *commitReq, 4)
	g = gatherer{reqs: reqs, wait: 100 * time.Millisecond, enough: 4, last: 3}
	reqs <- &commitReq{}
	start := time.Now()
	if got := len(g.next()); got != 1 {
		t.Fatalf("group of %d, want 1", got)
	}
	if d := time.Since(start); d < 100*time.Millisecond || d > 5*time.Second {
		t.Errorf("waited %v for company, want the wait (100ms)", d)
	}
}
