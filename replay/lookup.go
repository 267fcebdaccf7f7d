package replay

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/amberarchive/amber/archive"
)

// maxRedirectHops bounds how far a redirect chain is followed inside the
// archive when checking it for loops.
const maxRedirectHops = 10

// maxCandidates bounds how many captures of one URL are tried, closest
// first, before replay gives up on finding one that does not loop.
const maxCandidates = 64

// lookup returns the replayable captures of u (GET, oldest first) and the
// URL they were archived under: u itself, or failing that its canonical
// form, the other scheme, with or without "www.".
func (s *Server) lookup(u string) ([]*archive.Capture, string, error) {
	for _, v := range variants(u) {
		caps, err := s.src.CapturesOf(v)
		if err != nil {
			return nil, "", fmt.Errorf("captures of %s: %w", v, err)
		}
		caps = slices.DeleteFunc(caps, func(c *archive.Capture) bool {
			return c.Method != "" && c.Method != "GET"
		})
		if len(caps) > 0 {
			return caps, v, nil
		}
	}
	return nil, "", nil
}

// byCloseness returns the indexes of caps (oldest first) ordered by
// |capture time - at|, the earlier of two equally close first. A zero at
// means "latest": newest first.
func byCloseness(caps []*archive.Capture, at time.Time) []int {
	idx := make([]int, len(caps))
	for i := range idx {
		idx[i] = i
	}
	if at.IsZero() {
		slices.Reverse(idx)
		return idx
	}
	// Seconds and nanoseconds apart, compared separately: a Duration
	// saturates beyond 292 years.
	dist := func(i int) (int64, int64) {
		s := caps[i].Time.Unix() - at.Unix()
		n := int64(caps[i].Time.Nanosecond()) - int64(at.Nanosecond())
		if s < 0 || (s == 0 && n < 0) {
			s, n = -s, -n
		}
		return s, n
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		sa, na := dist(a)
		sb, nb := dist(b)
		switch {
		case sa != sb:
			return cmp.Compare(sa, sb)
		case na != nb:
			return cmp.Compare(na, nb)
		}
		return a - b
	})
	return idx
}

// redirectTarget returns the absolute URL a redirect capture points to, or
// "" when c is not a redirect.
func redirectTarget(c *archive.Capture, a *archived) string {
	if c.Status < 300 || c.Status > 399 || c.Status == 304 {
		return ""
	}
	loc := c.Location
	if loc == "" && a != nil {
		loc = a.Header.Get("Location")
	}
	if loc == "" {
		return ""
	}
	base, err := url.Parse(c.URL)
	if err != nil {
		return ""
	}
	u, err := base.Parse(loc)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return ""
	}
	u.Fragment = ""
	return u.String()
}

// choose picks the capture of u to serve for time at: the closest one,
// skipping redirects to the same resource (a self-redirect, as pywb does)
// and redirects whose chain, followed inside the archive at the same time,
// comes back to u (the /x <-> /x/ loop). It returns nil when every
// capture is such a redirect.
func (s *Server) choose(ctx context.Context, u string, caps []*archive.Capture, at time.Time) (*archive.Capture, error) {
	self := resourceKey(u)
	for n, i := range byCloseness(caps, at) {
		if n == maxCandidates {
			break
		}
		c := caps[i]
		loc := redirectTarget(c, nil)
		if loc == "" {
			return c, nil
		}
		if resourceKey(loc) == self {
			continue
		}
		ok, err := s.redirectEnds(ctx, loc, at, map[string]bool{self: true})
		if err != nil {
			return nil, err
		}
		if ok {
			return c, nil
		}
	}
	return nil, nil
}

// redirectEnds follows a redirect to u inside the archive, at time at,
// choosing at each hop what choose would, and reports whether the chain
// ends somewhere (a capture that is not a redirect, or a URL not in the
// archive) without revisiting a resource in seen.
func (s *Server) redirectEnds(ctx context.Context, u string, at time.Time, seen map[string]bool) (bool, error) {
	for hop := 0; hop < maxRedirectHops; hop++ {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		key := resourceKey(u)
		if seen[key] {
			return false, nil
		}
		seen[key] = true
		caps, _, err := s.lookup(u)
		if err != nil {
			return false, err
		}
		if len(caps) == 0 {
			return true, nil // ends on a "not in archive" page
		}
		next := ""
		found := false
		for n, i := range byCloseness(caps, at) {
			if n == maxCandidates {
				break
			}
			loc := redirectTarget(caps[i], nil)
			if loc == "" {
				return true, nil
			}
			if !seen[resourceKey(loc)] {
				next, found = loc, true
				break
			}
		}
		if !found {
			return false, nil
		}
		u = next
	}
	return false, nil
}

// errNoBody means a capture's body and that of the capture it revisits
// are both missing.
var errNoBody = errors.New("replay: capture body missing")

// resolve returns the response to replay for capture c: its own head and
// body, or for a revisit whose body the store lacks, c's head with the
// body of the capture it revisits; for a 304 answer to a conditional
// request (a server-not-modified revisit), the head and body of the latest
// earlier full capture of the same URL. from is the capture whose bytes
// are served (c itself unless a 304 was resolved).
func (s *Server) resolve(ctx context.Context, c *archive.Capture, caps []*archive.Capture) (a *archived, from *archive.Capture, err error) {
	from = c
	if c.Status == 304 {
		for i := len(caps) - 1; i >= 0; i-- {
			p := caps[i]
			if p.Time.Before(c.Time) && p.Status != 304 && p.Status/100 == 2 {
				from = p
				break
			}
		}
	}
	body, err := s.src.Body(ctx, from)
	if (err != nil || (len(body) == 0 && from.BodyLen == 0)) && from.RevisitOf != nil {
		ref, rerr := s.src.Capture(from.RevisitOf)
		if rerr == nil {
			body, err = s.src.Body(ctx, ref)
		}
	}
	if err != nil {
		if errors.Is(err, archive.ErrNotFound) {
			return nil, nil, fmt.Errorf("%w: %s at %s", errNoBody, from.URL, timestamp(from.Time))
		}
		return nil, nil, fmt.Errorf("body of %s at %s: %w", from.URL, timestamp(from.Time), err)
	}
	a, err = parseArchived(from.ResponseHead, body)
	if err != nil {
		return nil, nil, fmt.Errorf("response of %s at %s: %w", from.URL, timestamp(from.Time), err)
	}
	return a, from, nil
}
