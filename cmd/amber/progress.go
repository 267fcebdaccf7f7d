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

// statusLine redraws one line on a terminal every 250 ms while long work
// runs; piped output gets nothing from it, only the command's summary.
type statusLine struct {
	w    io.Writer
	tty  bool
	t0   time.Time
	done chan struct{}
	wg   sync.WaitGroup
}

func newStatusLine(w io.Writer) *statusLine {
	s := &statusLine{w: w, done: make(chan struct{})}
	if f, ok := w.(*os.File); ok {
		s.tty = term.IsTerminal(int(f.Fd()))
	}
	return s
}

// begin starts redrawing with draw, which is given the time since begin.
func (s *statusLine) begin(draw func(elapsed time.Duration) string) {
	s.t0 = time.Now()
	if !s.tty {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-s.done:
				fmt.Fprint(s.w, "\r\033[K")
				return
			case <-t.C:
				fmt.Fprint(s.w, "\r\033[K"+draw(time.Since(s.t0)))
			}
		}
	}()
}

// stop clears the line.
func (s *statusLine) stop() {
	close(s.done)
	s.wg.Wait()
}

// progress is the crawl's status line.
type progress struct {
	*statusLine
	cr *crawler.Crawler
}

func newProgress(w io.Writer, cr *crawler.Crawler) *progress {
	return &progress{statusLine: newStatusLine(w), cr: cr}
}

func (p *progress) begin() { p.statusLine.begin(p.draw) }

func (p *progress) draw(elapsed time.Duration) string {
	st := p.cr.Stats()
	rate := 0.0
	if secs := elapsed.Seconds(); secs > 0 {
		rate = float64(st.Fetched) / secs
	}
	return fmt.Sprintf("fetched %d · queued %d · %s · %.1f pages/s · %d hosts waiting · %d failed",
		st.Fetched, st.Queued, human(st.Bytes), rate, st.HostsWaiting, st.Failed)
}
