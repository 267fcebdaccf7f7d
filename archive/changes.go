package archive

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sort"
)

// Change kinds, in the order [Store.Changes] lists them.
const (
	ChangeNew     = "new"     // captured in the later run, not in the earlier
	ChangeChanged = "changed" // captured in both; the payload (or the status) differs
	ChangeGone    = "gone"    // now 404/410, or captured in the earlier run and not in the later
)

// Change is one URL that differs between two runs.
//
// A 304 (not modified) capture stands for the full answer before it: its
// Status and Digest here are those of the newest earlier capture of the URL
// that was not a 304, and NotModified says so.
type Change struct {
	URL    string
	Kind   string // ChangeNew, ChangeChanged or ChangeGone
	Reason Reason // why it was fetched: in the later run, else in the earlier
	Parent string // the page that led to it (same run as Reason)

	StatusA, StatusB int    // HTTP status in the earlier and the later run (0: not captured)
	DigestA, DigestB string // payload digests ("" when not captured or empty)
	KeyA, KeyB       []byte // the captures' keys (nil when not captured)
	NotModifiedB     bool   // the later run's capture was a 304
	Why              string // in words: "payload differs", "404 now", "not captured in run 7", ...
}

// side is what one run holds of one URL.
type side struct {
	status      int
	digest      string
	key         []byte
	reason      Reason
	parent      string
	notModified bool
	ok          bool
}

// urlSides follows one URL through the captures in time order.
type urlSides struct {
	lastStatus int    // newest capture that was not a 304
	lastDigest string // and its payload digest
	a, b       side
}

// Changes compares what runA (the earlier) and runB (the later) captured:
// URLs new in runB, URLs whose payload digest or status changed, and URLs
// gone in runB (answering 404/410 now, or not captured at all: no longer
// linked, not reached, or failed). robots.txt captures are left out. The
// list is ordered by kind (new, changed, gone), then URL.
//
// It reads every capture in the store once (captures are keyed by URL, not
// by run), in short read transactions.
func (s *Store) Changes(runA, runB uint64) ([]Change, error) {
	for _, id := range []uint64{runA, runB} {
		if _, err := s.Run(id); err != nil {
			return nil, fmt.Errorf("archive: changes: %w", err)
		}
	}
	if runA == runB {
		return nil, fmt.Errorf("archive: changes: compare two different runs, not run %d with itself", runA)
	}
	var out []Change
	var group []byte // the SURT part of the current keys
	urls := map[string]*urlSides{}
	flush := func() {
		for u, st := range urls {
			if c, ok := compare(u, st, runA, runB); ok {
				out = append(out, c)
			}
		}
		clear(urls)
	}
	err := s.Captures(context.Background(), "", func(c *Capture) error {
		if len(c.Key) < 9 {
			return nil
		}
		if g := c.Key[:len(c.Key)-9]; !bytes.Equal(g, group) {
			flush()
			group = append(group[:0], g...)
		}
		st := urls[c.URL]
		if st == nil {
			st = &urlSides{}
			urls[c.URL] = st
		}
		sd := side{status: c.Status, digest: c.PayloadDigest, key: c.Key, reason: c.Reason, parent: c.Parent, ok: true}
		if c.Status == http.StatusNotModified && st.lastStatus != 0 {
			sd.status, sd.digest, sd.notModified = st.lastStatus, st.lastDigest, true
		} else {
			st.lastStatus, st.lastDigest = c.Status, c.PayloadDigest
		}
		if c.Reason == ReasonRobots {
			return nil
		}
		switch c.Run {
		case runA:
			st.a = sd
		case runB:
			st.b = sd
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("archive: changes between runs %d and %d: %w", runA, runB, err)
	}
	flush()
	rank := map[string]int{ChangeNew: 0, ChangeChanged: 1, ChangeGone: 2}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return rank[out[i].Kind] < rank[out[j].Kind]
		}
		return out[i].URL < out[j].URL
	})
	return out, nil
}

func gone(status int) bool { return status == http.StatusNotFound || status == http.StatusGone }

// compare decides whether one URL changed between the two runs.
func compare(u string, st *urlSides, runA, runB uint64) (Change, bool) {
	a, b := st.a, st.b
	if !a.ok && !b.ok {
		return Change{}, false
	}
	c := Change{URL: u, StatusA: a.status, StatusB: b.status, DigestA: a.digest, DigestB: b.digest,
		KeyA: a.key, KeyB: b.key, NotModifiedB: b.notModified, Reason: b.reason, Parent: b.parent}
	if !b.ok {
		c.Reason, c.Parent = a.reason, a.parent
	}
	switch {
	case !a.ok:
		c.Kind, c.Why = ChangeNew, fmt.Sprintf("not captured in run %d", runA)
	case !b.ok:
		c.Kind, c.Why = ChangeGone, fmt.Sprintf("not captured in run %d (no longer linked, not reached, or failed)", runB)
	case gone(b.status) && !gone(a.status):
		c.Kind, c.Why = ChangeGone, fmt.Sprintf("%d now, was %d", b.status, a.status)
	case a.status != b.status:
		c.Kind, c.Why = ChangeChanged, fmt.Sprintf("status %d now, was %d", b.status, a.status)
	case a.digest != b.digest:
		c.Kind, c.Why = ChangeChanged, "payload differs"
	default:
		return Change{}, false
	}
	return c, true
}
