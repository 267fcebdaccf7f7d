package replay

import (
	"bytes"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/amberarchive/amber/archive"
	nethtml "golang.org/x/net/html"
)

// Limits that keep amber's own pages bounded, whatever the archive holds.
const (
	maxListURLs   = 1000 // distinct URLs on a prefix list
	maxNearby     = 20   // nearby URLs offered on a "not in archive" page
	maxNewest     = 25   // newest captures on the front page
	maxSites      = 200  // sites on the front page
	maxTitleBytes = 2 << 20
)

// errStop stops a listing early.
var errStop = errors.New("stop")

// capRow is one capture as amber's pages show it.
type capRow struct {
	Time   string // human
	TS     string
	URL    string
	Status int
	MIME   string
	Href   string // the replay URL
	Reason string
}

func row(c *archive.Capture) capRow {
	ts := timestamp(c.Time)
	return capRow{Time: humanTime(c.Time), TS: ts, URL: c.URL, Status: c.Status, MIME: c.MIME,
		Href: "/web/" + ts + "/" + c.URL, Reason: string(c.Reason)}
}

var pageFuncs = template.FuncMap{
	"listHref":   func(u string) string { return "/web/*/" + u },
	"prefixHref": func(u string) string { return "/web/*/" + u + "*" },
}

const pageHead = `{{define "head"}}<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.}} · amber replay</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#7a3e00;color:#fff;padding:10px 20px}header a{color:#fff;font-weight:bold;text-decoration:none}
main{max-width:1100px;margin:0 auto;padding:10px 20px}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:3px 8px;border-bottom:1px solid #e4e4e4;vertical-align:top}
td.url{word-break:break-all}.muted{color:#777}.s4,.s5{color:#a00}.s3{color:#850}
form input[type=text]{width:60%;padding:4px}
.year{margin:1em 0}.month{display:inline-block;vertical-align:top;margin:0 12px 12px 0;padding:6px 10px;background:#fff;border:1px solid #ddd;min-width:220px}
.day{margin:2px 0}.day b{display:inline-block;width:2.2em}
.note{background:#fff3cd;border:1px solid #e0c060;padding:8px 12px}
</style></head><body><header><a href="/">amber replay</a></header><main>{{end}}`

const searchForm = `{{define "search"}}<form action="/search" method="get"><input type="text" name="q" value="{{.}}" placeholder="URL or start of a URL, e.g. https://chinadigitaltimes.net/2016/" aria-label="URL prefix"> <button type="submit">Find captures</button></form>{{end}}`

var templates = template.Must(template.New("pages").Funcs(pageFuncs).Parse(pageHead + searchForm + `
{{define "index"}}{{template "head" "Collection"}}
<h1>What amber kept</h1>
{{template "search" ""}}
<p>{{.Captures}} captures of {{len .Sites}}{{if .SitesMore}}+{{end}} sites, {{.Articles}} articles.</p>
<h2>Crawl runs</h2>
{{if .Runs}}<table><tr><th>Run</th><th>Started</th><th>Status</th><th>Captures</th><th>Seeds</th></tr>
{{range .Runs}}<tr><td>{{.ID}}</td><td>{{.Started}}</td><td>{{.Status}}</td><td>{{.Captures}}</td><td class="url">{{range .Seeds}}<a href="{{listHref .}}">{{.}}</a> {{end}}</td></tr>
{{end}}</table>{{else}}<p class="muted">No crawl runs.</p>{{end}}
<h2>Sites</h2>
<table><tr><th>Site</th><th>Captures</th></tr>
{{range .Sites}}<tr><td class="url"><a href="{{prefixHref .Prefix}}">{{.Host}}</a></td><td>{{.Captures}}</td></tr>
{{end}}</table>
<h2>Newest captures</h2>
<table><tr><th>Time</th><th>Status</th><th>Type</th><th>URL</th></tr>
{{range .Newest}}<tr><td><a href="{{.Href}}">{{.Time}}</a></td><td class="s{{slice (print .Status) 0 1}}">{{.Status}}</td><td>{{.MIME}}</td><td class="url"><a href="{{listHref .URL}}">{{.URL}}</a></td></tr>
{{end}}</table>
</main></body></html>{{end}}

{{define "list"}}{{template "head" .URL}}
{{template "search" .URL}}
{{if .Prefix}}<h1>URLs starting with <span class="url">{{.URL}}</span></h1>
<p>{{len .URLs}}{{if .More}}+{{end}} URLs. <a href="{{.JSONHref}}">JSON</a></p>
<table><tr><th>URL</th><th>Captures</th><th>First</th><th>Last</th></tr>
{{range .URLs}}<tr><td class="url"><a href="{{listHref .URL}}">{{.URL}}</a></td><td>{{.Count}}</td><td><a href="{{.First.Href}}">{{.First.Time}}</a></td><td><a href="{{.Last.Href}}">{{.Last.Time}}</a></td></tr>
{{end}}</table>
{{if .More}}<p class="muted">Only the first {{len .URLs}} URLs are listed; give a longer prefix.</p>{{end}}
{{else}}<h1>Captures of <span class="url">{{.URL}}</span></h1>
{{if .Title}}<p>Title: <b>{{.Title}}</b></p>{{end}}
<p>{{.Count}} captures, from <a href="{{.First.Href}}">{{.First.Time}}</a> to <a href="{{.Last.Href}}">{{.Last.Time}}</a>.
<a href="{{.JSONHref}}">JSON</a> · <a href="{{.TimeMapHref}}">TimeMap</a> · <a href="{{prefixHref .URL}}">URLs under this one</a></p>
{{range .Years}}<div class="year"><h2>{{.Year}}</h2>
{{range .Months}}<div class="month"><h3>{{.Name}}</h3>
{{range .Days}}<div class="day"><b>{{.Day}}</b> {{range .Caps}}<a href="{{.Href}}" title="{{.MIME}}">{{.Clock}}</a>{{if ne .Status 200}} <span class="s{{slice (print .Status) 0 1}}">{{.Status}}</span>{{end}} {{end}}</div>
{{end}}</div>{{end}}</div>
{{end}}{{end}}
</main></body></html>{{end}}

{{define "notfound"}}{{template "head" "Not in the archive"}}
<h1>Not in the archive</h1>
<p>amber has no capture of <b class="url">{{.URL}}</b>{{if .When}} near {{.When}}{{end}}.</p>
{{if .Note}}<p class="note">{{.Note}}</p>{{end}}
{{if .Nearby}}<h2>Nearby captures</h2><table><tr><th>URL</th><th>Captures</th><th>Latest</th></tr>
{{range .Nearby}}<tr><td class="url"><a href="{{listHref .URL}}">{{.URL}}</a></td><td>{{.Count}}</td><td><a href="{{.Last.Href}}">{{.Last.Time}}</a></td></tr>
{{end}}</table>{{else}}<p class="muted">Nothing else from this site either.</p>{{end}}
{{template "search" .Search}}
</main></body></html>{{end}}

{{define "error"}}{{template "head" .Title}}
<h1>{{.Title}}</h1><p>{{.Message}}</p>
</main></body></html>{{end}}

`))

// render executes a page template with the headers of amber's own pages.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	var b bytes.Buffer
	if err := templates.ExecuteTemplate(&b, name, data); err != nil {
		if s.opts.Logf != nil {
			s.opts.Logf("replay: render %s: %v", name, err)
		}
		http.Error(w, "amber replay: internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", cspOwn)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(b.Bytes())
	}
}

func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, status int, title, msg string) {
	s.render(w, r, status, "error", struct{ Title, Message string }{title, msg})
}

// banner renders the archived-copy notice for capture c, served for t.
// It is on the hot path of every page, so it is written directly, every
// archived string through html/template's escaper; the links all start
// with "/web/", so no archived URL can make them javascript: links.
func (s *Server) banner(t target, c *archive.Capture, archURL string) []byte {
	const a = `<a style="all:unset;color:#7a3e00;text-decoration:underline;cursor:pointer" href="`
	ts := timestamp(c.Time)
	u := template.HTMLEscapeString(archURL)
	var b strings.Builder
	b.Grow(1200 + 4*len(u))
	b.WriteString(`<div id="amber-replay-banner" style="all:initial;display:block;box-sizing:border-box;width:100%;margin:0;padding:6px 12px;` +
		`background:#fff8e1;border-bottom:2px solid #7a3e00;color:#222;font:13px/1.4 system-ui,sans-serif;text-align:left;position:relative;z-index:2147483647">` +
		`<b style="all:unset;font-weight:bold">Archived copy</b> of <span style="all:unset;word-break:break-all">`)
	b.WriteString(u)
	b.WriteString(`</span>, captured ` + humanTime(c.Time) + ` (` + humanDelta(s.opts.Now(), c.Time) + `).` + "\n")
	b.WriteString(a + `/web/*/` + u + `">All captures</a> &#183;` + "\n")
	b.WriteString(a + `/web/` + ts + modRaw + `/` + u + `">Raw capture</a> &#183;` + "\n")
	b.WriteString(a + `/web/` + ts + modFrame + `/` + u + `">Hide this banner</a>`)
	if !strings.HasPrefix(ts, t.TS) {
		b.WriteString(`<br><span style="all:unset;color:#a00;font-weight:bold">You asked for ` + humanTS(t.TS, t.Time) +
			`; this is the closest capture, ` + humanDelta(t.Time, c.Time) + `.</span>`)
	}
	b.WriteString("</div>")
	return asciiHTML([]byte(b.String()))
}

// asciiHTML writes non-ASCII characters as numeric references, so that the
// banner reads right whatever the charset of the page it goes into.
func asciiHTML(b []byte) []byte {
	ascii := true
	for _, c := range b {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return b
	}
	var out bytes.Buffer
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r < 0x80 {
			out.WriteByte(b[0])
		} else {
			out.WriteString("&#" + strconv.Itoa(int(r)) + ";")
		}
		b = b[n:]
	}
	return out.Bytes()
}

// urlRow sums up the captures of one URL.
type urlRow struct {
	URL         string
	Count       int
	First, Last capRow
}

// listURLs groups the captures under prefix by URL, at most max URLs, and
// reports whether there were more.
func (s *Server) listURLs(r *http.Request, prefix string, max int) ([]urlRow, bool, error) {
	var rows []urlRow
	index := map[string]int{}
	more := false
	err := s.src.Captures(r.Context(), prefix, func(c *archive.Capture) error {
		if c.Method != "" && c.Method != "GET" {
			return nil
		}
		i, ok := index[c.URL]
		if !ok {
			if len(rows) == max {
				more = true
				return errStop
			}
			i = len(rows)
			index[c.URL] = i
			rows = append(rows, urlRow{URL: c.URL, First: row(c), Last: row(c)})
		}
		rows[i].Count++
		if c.Time.Before(parseTS(rows[i].First.TS)) {
			rows[i].First = row(c)
		}
		if !c.Time.Before(parseTS(rows[i].Last.TS)) {
			rows[i].Last = row(c)
		}
		return nil
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	sort.SliceStable(rows, func(a, b int) bool { return rows[a].URL < rows[b].URL })
	return rows, more, err
}

func parseTS(ts string) time.Time {
	t, _ := time.ParseInLocation(tsLayout, ts, time.UTC)
	return t
}

type dayRow struct {
	Day  string
	Caps []struct {
		capRow
		Clock string
	}
}
type monthRow struct {
	Name string
	Days []*dayRow
}
type yearRow struct {
	Year   int
	Months []*monthRow
}

// calendar groups captures (oldest first) by year, month and day.
func calendar(caps []*archive.Capture) []*yearRow {
	var years []*yearRow
	for _, c := range caps {
		t := c.Time.UTC()
		if len(years) == 0 || years[len(years)-1].Year != t.Year() {
			years = append(years, &yearRow{Year: t.Year()})
		}
		y := years[len(years)-1]
		mname := t.Format("January")
		if len(y.Months) == 0 || y.Months[len(y.Months)-1].Name != mname {
			y.Months = append(y.Months, &monthRow{Name: mname})
		}
		m := y.Months[len(y.Months)-1]
		day := strconv.Itoa(t.Day())
		if len(m.Days) == 0 || m.Days[len(m.Days)-1].Day != day {
			m.Days = append(m.Days, &dayRow{Day: day})
		}
		d := m.Days[len(m.Days)-1]
		d.Caps = append(d.Caps, struct {
			capRow
			Clock string
		}{row(c), t.Format("15:04:05")})
	}
	return years
}

// serveList answers /web/*/URL (a calendar of the captures of URL) and
// /web/*/URL* (the URLs under a prefix).
func (s *Server) serveList(w http.ResponseWriter, r *http.Request, t target) {
	data := struct {
		URL, Title, JSONHref, TimeMapHref string
		Prefix, More                      bool
		URLs                              []urlRow
		Count                             int
		First, Last                       capRow
		Years                             []*yearRow
	}{URL: t.URL, Prefix: t.Prefix}
	if t.Prefix {
		rows, more, err := s.listURLs(r, t.URL, maxListURLs)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if len(rows) == 0 {
			s.notFound(w, r, t, "")
			return
		}
		data.URLs, data.More = rows, more
		data.JSONHref = "/cdx?matchType=prefix&url=" + url.QueryEscape(t.URL)
		s.render(w, r, http.StatusOK, "list", data)
		return
	}
	caps, archURL, err := s.lookup(t.URL)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(caps) == 0 {
		s.notFound(w, r, t, "")
		return
	}
	data.URL = archURL
	data.Count = len(caps)
	data.First, data.Last = row(caps[0]), row(caps[len(caps)-1])
	data.Years = calendar(caps)
	data.JSONHref = "/cdx?url=" + url.QueryEscape(archURL)
	data.TimeMapHref = "/timemap/link/" + archURL
	data.Title = s.title(r, caps)
	s.render(w, r, http.StatusOK, "list", data)
}

// title returns the <title> of the latest HTML capture among caps, or "".
func (s *Server) title(r *http.Request, caps []*archive.Capture) string {
	for i := len(caps) - 1; i >= 0; i-- {
		c := caps[i]
		if c.Status != 200 || !isHTML(c.MIME) || c.BodyLen > maxTitleBytes {
			continue
		}
		a, _, err := s.resolve(r.Context(), c, caps)
		if err != nil {
			return ""
		}
		body, ok, _ := decodeContent(a.Entity, a.Header["Content-Encoding"], maxTitleBytes)
		if !ok {
			return ""
		}
		return htmlTitle(body)
	}
	return ""
}

// htmlTitle returns the text of the first <title> element.
func htmlTitle(body []byte) string {
	z := nethtml.NewTokenizer(bytes.NewReader(body))
	for {
		switch z.Next() {
		case nethtml.ErrorToken:
			return ""
		case nethtml.StartTagToken:
			if name, _ := z.TagName(); string(name) == "title" {
				if z.Next() == nethtml.TextToken {
					t := strings.Join(strings.Fields(string(z.Text())), " ")
					if len(t) > 300 {
						t = t[:300]
					}
					return strings.ToValidUTF8(t, "\uFFFD")
				}
				return ""
			}
			if name, _ := z.TagName(); string(name) == "body" {
				return ""
			}
		}
	}
}

// notFound answers 404 for a URL the archive lacks, offering captures of
// nearby URLs: the same directory, else the same site.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request, t target, note string) {
	data := struct {
		URL, When, Note, Search string
		Nearby                  []urlRow
	}{URL: t.URL, Note: note}
	if t.Kind == kindMemento {
		data.When = humanTS(t.TS, t.Time)
	}
	for _, p := range nearbyPrefixes(t.URL) {
		rows, _, err := s.listURLs(r, p, maxNearby)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if len(rows) > 0 {
			data.Nearby, data.Search = rows, p
			break
		}
	}
	if data.Search == "" {
		data.Search = t.URL
	}
	s.render(w, r, http.StatusNotFound, "notfound", data)
}

// nearbyPrefixes returns the parent directory of u and its site root, in
// both schemes.
func nearbyPrefixes(u string) []string {
	c := canonical(u)
	i := strings.Index(c, "://")
	if i < 0 {
		return nil
	}
	hostEnd := strings.IndexAny(c[i+3:], "/?")
	if hostEnd < 0 {
		return []string{c + "/"}
	}
	hostEnd += i + 3
	root := c[:hostEnd] + "/"
	path := c[hostEnd:]
	if q := strings.IndexByte(path, '?'); q >= 0 {
		path = path[:q]
	}
	var out []string
	if j := strings.LastIndexByte(strings.TrimSuffix(path, "/"), '/'); j > 0 {
		out = append(out, c[:hostEnd]+path[:j+1])
	}
	out = append(out, root)
	var other []string
	for _, p := range out {
		switch {
		case strings.HasPrefix(p, "http://"):
			other = append(other, "https://"+p[7:])
		case strings.HasPrefix(p, "https://"):
			other = append(other, "http://"+p[8:])
		}
	}
	return append(out, other...)
}

// serveSearch answers the search box: a prefix list of what was typed.
func (s *Server) serveSearch(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if q == "" {
		redirect(w, r, "/", http.StatusFound)
		return
	}
	q = strings.TrimSuffix(q, "*")
	u, err := parseArchivedURL(q, true)
	if err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "Bad request", err.Error())
		return
	}
	redirect(w, r, "/web/*/"+u+"*", http.StatusFound)
}
