package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/amberarchive/amber/crawler"
)

// progress draws one status line on a terminal while a crawl runs; piped
// output gets only the final summary.
type progress struct {
	w    io.Writer
	cr   *crawler.Crawler
	tty  bool
	done chan struct{}
	wg   sync.WaitGroup
	t0   time.Time
}

func newProgress(w io.Writer, cr *crawler.Crawler) *progress {
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	return &progress{w: w, cr: cr, tty: tty, done: make(chan struct{})}
}

func (p *progress) begin() {
	p.t0 = time.Now()
	if !p.tty {
		return
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-p.done:
				fmt.Fprint(p.w, "\r\033[K")
				return
			case <-t.C:
				p.draw()
			}
		}
	}()
}

func (p *progress) draw() {
	st := p.cr.Stats()
	secs := time.Since(p.t0).Seconds()
	rate := 0.0
	if secs > 0 {
		rate = float64(st.Fetched) / secs
	}
	fmt.Fprintf(p.w, "\r\033[Kfetched %d · queued %d · %s · %.1f pages/s · %d hosts waiting · %d failed",
		st.Fetched, st.Queued, human(st.Bytes), rate, st.HostsWaiting, st.Failed)
}

func (p *progress) stop() {
	close(p.done)
	p.wg.Wait()
}
