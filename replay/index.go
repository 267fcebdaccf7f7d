package replay

import (
	"bufio"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/amberarchive/amber/archive"
)

// summary is what the front page shows. It is computed by one scan of the
// capture keys and reused for Options.SummaryTTL.
type summary struct {
	Runs      []runRow
	Captures  int
	Articles  int
	Sites     []siteRow
	SitesMore bool
	Newest    []capRow
}

type runRow struct {
	ID       uint64
	Started  string
	Status   string
	Captures int64
	Seeds    []string
}

type siteRow struct {
	Host     string // scheme://host[:port]
	Prefix   string // Host + "/"
	Captures int
}

// serveIndex answers / with the collection: runs, sites, article count, a
// search box and the newest captures.
func (s *Server) serveIndex(w http.ResponseWriter, r *http.Request) {
	sum, err := s.summary(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "index", sum)
}

func (s *Server) summary(r *http.Request) (*summary, error) {
	s.sumMu.Lock()
	defer s.sumMu.Unlock()
	now := s.opts.Now()
	if s.sum != nil && now.Sub(s.sumTime) < s.opts.SummaryTTL && now.Sub(s.sumTime) >= 0 {
		return s.sum, nil
	}
	sum := &summary{}
	runs, err := s.src.Runs()
	if err != nil {
		return nil, err
	}
	for i := len(runs) - 1; i >= 0; i-- {
		run := runs[i]
		sum.Runs = append(sum.Runs, runRow{ID: run.ID, Started: humanTime(run.Started), Status: run.Status,
			Captures: run.Counts.Captures, Seeds: run.Seeds})
	}
	sites := map[string]int{}
	var newest []*archive.Capture
	lastArticle := ""
	err = s.src.Captures(r.Context(), "", func(c *archive.Capture) error {
		sum.Captures++
		if c.Reason == archive.ReasonArticle && c.Status == 200 && c.URL != lastArticle {
			// Captures of one URL are adjacent in key order.
			sum.Articles++
			lastArticle = c.URL
		}
		site := siteOf(c.URL)
		if _, ok := sites[site]; ok || len(sites) < maxSites {
			sites[site]++
		} else {
			sum.SitesMore = true
		}
		if len(newest) < maxNewest || c.Time.After(newest[len(newest)-1].Time) {
			c.Request, c.ResponseHead, c.Outlinks = nil, nil, nil
			i, _ := slices.BinarySearchFunc(newest, c, func(a, b *archive.Capture) int { return b.Time.Compare(a.Time) })
			newest = slices.Insert(newest, i, c)
			if len(newest) > maxNewest {
				newest = newest[:maxNewest]
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for host, n := range sites {
		sum.Sites = append(sum.Sites, siteRow{Host: host, Prefix: host + "/", Captures: n})
	}
	slices.SortFunc(sum.Sites, func(a, b siteRow) int {
		if a.Captures != b.Captures {
			return b.Captures - a.Captures
		}
		return strings.Compare(a.Host, b.Host)
	})
	for _, c := range newest {
		sum.Newest = append(sum.Newest, row(c))
	}
	s.sum, s.sumTime = sum, now
	return sum, nil
}

// siteOf returns scheme://host[:port] of an absolute URL.
func siteOf(u string) string {
	i := strings.Index(u, "://")
	if i < 0 {
		return u
	}
	if j := strings.IndexAny(u[i+3:], "/?#"); j >= 0 {
		return u[:i+3+j]
	}
	return u
}

// cdxLine is one capture in the JSON answers of /cdx and /timemap/json/.
type cdxLine struct {
	Timestamp string `json:"timestamp"`
	URL       string `json:"url"`
	Status    int    `json:"status"`
	MIME      string `json:"mime,omitempty"`
	Digest    string `json:"digest,omitempty"`
	Length    int64  `json:"length"`
	Redirect  string `json:"redirect,omitempty"`
	Revisit   bool   `json:"revisit,omitempty"`
	Truncated string `json:"truncated,omitempty"`
	Reason    string `json:"reason,omitempty"`
	Replay    string `json:"replay"`
	Raw       string `json:"raw"`
}

func cdxOf(c *archive.Capture) cdxLine {
	ts := timestamp(c.Time)
	return cdxLine{Timestamp: ts, URL: c.URL, Status: c.Status, MIME: c.MIME, Digest: c.PayloadDigest,
		Length: c.BodyLen, Redirect: redirectTarget(c, nil), Revisit: c.RevisitOf != nil,
		Truncated: c.Truncated, Reason: string(c.Reason),
		Replay: "/web/" + ts + "/" + c.URL, Raw: "/web/" + ts + "id_/" + c.URL}
}

// maxCDX bounds the lines of one /cdx answer.
const maxCDX = 100000

// serveCDX answers /cdx?url=URL[&matchType=exact|prefix][&limit=N][&from=TS][&to=TS]
// with one JSON object per capture (newline-delimited JSON), as pywb's CDX
// server does with output=json. A url ending in '*' is a prefix.
func (s *Server) serveCDX(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	raw := q.Get("url")
	prefix := q.Get("matchType") == "prefix" || strings.HasSuffix(raw, "*")
	raw = strings.TrimSuffix(raw, "*")
	if m := q.Get("matchType"); m != "" && m != "exact" && m != "prefix" {
		s.errorPage(w, r, http.StatusBadRequest, "Bad request", "matchType is exact or prefix")
		return
	}
	u, err := parseArchivedURL(raw, prefix)
	if err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "Bad request", err.Error())
		return
	}
	limit := maxCDX
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			s.errorPage(w, r, http.StatusBadRequest, "Bad request", "limit must be a positive number")
			return
		}
		limit = min(n, maxCDX)
	}
	var from, to time.Time
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"from", &from}, {"to", &to}} {
		if v := q.Get(p.name); v != "" {
			tm, err := parseTimestamp(v)
			if err != nil {
				s.errorPage(w, r, http.StatusBadRequest, "Bad request", err.Error())
				return
			}
			*p.t = tm
		}
	}
	var caps []*archive.Capture
	keep := func(c *archive.Capture) bool {
		return (c.Method == "" || c.Method == "GET") &&
			(from.IsZero() || !c.Time.Before(from)) && (to.IsZero() || !c.Time.After(to))
	}
	if prefix {
		err = s.src.Captures(r.Context(), u, func(c *archive.Capture) error {
			if keep(c) {
				caps = append(caps, c)
			}
			if len(caps) >= limit {
				return errStop
			}
			return nil
		})
		if errors.Is(err, errStop) {
			err = nil
		}
	} else {
		caps, _, err = s.lookup(u)
		caps = slices.DeleteFunc(caps, func(c *archive.Capture) bool { return !keep(c) })
		if len(caps) > limit {
			caps = caps[:limit]
		}
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeCDX(w, r, caps)
}

func (s *Server) writeCDX(w http.ResponseWriter, r *http.Request, caps []*archive.Capture) {
	h := w.Header()
	h.Set("Content-Type", "application/x-ndjson")
	h.Set("Content-Security-Policy", cspOwn)
	h.Set("X-Content-Type-Options", "nosniff")
	if r.Method == http.MethodHead {
		return
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for _, c := range caps {
		if err := enc.Encode(cdxOf(c)); err != nil {
			return
		}
	}
	bw.Flush()
}
