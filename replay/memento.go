package replay

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/amberarchive/amber/archive"
)

// serveMemento answers /web/TS[mod]/URL with the capture closest to TS.
func (s *Server) serveMemento(w http.ResponseWriter, r *http.Request, t target) {
	ctx := r.Context()
	caps, archURL, err := s.lookup(t.URL)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(caps) == 0 {
		s.notFound(w, r, t, "")
		return
	}
	c, err := s.choose(ctx, archURL, caps, t.Time)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if c == nil {
		s.notFound(w, r, t, "Every capture of this URL is a redirect that leads back to it, so none can be shown.")
		return
	}
	a, from, err := s.resolve(ctx, c, caps)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ts := timestamp(c.Time)
	h := w.Header()
	copyHeaders(h, a.Header)
	if h.Get("Content-Type") == "" && c.MIME != "" && t.Mod != modRaw {
		h.Set("Content-Type", c.MIME)
	}
	h.Set("Memento-Datetime", c.Time.UTC().Format(http.TimeFormat))
	h.Set("Link", mementoLinks(baseURL(r), archURL, caps, c))
	h.Set("X-DNS-Prefetch-Control", "off")
	h.Set("Referrer-Policy", "same-origin")
	if t.TS != ts {
		h.Set("Content-Location", "/web/"+ts+t.Mod+"/"+archURL)
	}
	if from != c {
		h.Set("X-Archive-Revisit-Of", "/web/"+timestamp(from.Time)+"id_/"+from.URL)
	}
	switch {
	case c.Truncated != "":
		h.Set("X-Archive-Truncated", c.Truncated)
	case a.Partial:
		h.Set("X-Archive-Truncated", "body ends before its framing says")
	}
	if loc := redirectTarget(c, a); loc != "" {
		h.Set("Location", "/web/"+t.TS+t.Mod+"/"+loc)
	}
	status := a.Status
	if status < 100 || status > 999 {
		status = http.StatusBadGateway
	}

	if t.Mod == modRaw {
		h.Set("Content-Security-Policy", cspRaw)
		if ce := a.Header["Content-Encoding"]; len(ce) > 0 {
			h["Content-Encoding"] = ce
		}
		h.Set("Content-Length", strconv.Itoa(len(a.Entity)))
		w.WriteHeader(status)
		if r.Method != http.MethodHead {
			w.Write(a.Entity)
		}
		return
	}

	h.Set("Content-Security-Policy", cspArchived)
	body, ok, cut := decodeContent(a.Entity, a.Header["Content-Encoding"], s.opts.MaxBody)
	if !ok {
		// An unknown content-coding: pass it on for the browser to decode.
		h["Content-Encoding"] = a.Header["Content-Encoding"]
	}
	if cut {
		h.Set("X-Archive-Truncated", "decoded body longer than the replay limit")
	}
	mt := mediaType(h.Get("Content-Type"))
	if ok && status != http.StatusNotModified {
		rw := newRewriter(ts, c.URL)
		switch {
		case isHTML(mt):
			var banner []byte
			if s.opts.Banner && (t.Mod == modPage || t.Mod == modMain) && h.Get("Location") == "" {
				banner = s.banner(t, c, archURL)
			}
			body = rw.rewriteHTML(make([]byte, 0, len(body)+len(body)/8+2048), body, banner)
		case isCSS(mt) || (mt == "" && t.Mod == modCSS):
			body = rw.rewriteCSS(make([]byte, 0, len(body)+len(body)/8), body)
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// serveTimeGate answers /web/URL: a Memento TimeGate (RFC 7089, pattern
// 2.2). It redirects to the capture closest to the Accept-Datetime header,
// or to the latest capture without one.
func (s *Server) serveTimeGate(w http.ResponseWriter, r *http.Request, t target) {
	var at time.Time // zero: the latest
	if v := r.Header.Get("Accept-Datetime"); v != "" {
		tm, err := http.ParseTime(v)
		if err != nil {
			s.errorPage(w, r, http.StatusBadRequest, "Bad Accept-Datetime",
				"Accept-Datetime must be an HTTP date, such as Thu, 12 May 2016 00:00:00 GMT.")
			return
		}
		at = tm.UTC()
	}
	caps, archURL, err := s.lookup(t.URL)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Vary", "accept-datetime")
	if len(caps) == 0 {
		s.notFound(w, r, t, "")
		return
	}
	c, err := s.choose(r.Context(), archURL, caps, at)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if c == nil {
		c = caps[byCloseness(caps, at)[0]]
	}
	h.Set("Link", mementoLinks(baseURL(r), archURL, caps, c))
	h.Set("Content-Security-Policy", cspOwn)
	redirect(w, r, "/web/"+timestamp(c.Time)+t.Mod+"/"+archURL, http.StatusFound)
}

// serveTimeMap answers /timemap/link/URL (application/link-format, RFC
// 7089 section 5) and /timemap/json/URL (one JSON object per capture, as
// /cdx).
func (s *Server) serveTimeMap(w http.ResponseWriter, r *http.Request, rest string, asJSON bool) {
	u, err := parseArchivedURL(rest, false)
	if err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "Bad request", err.Error())
		return
	}
	caps, archURL, err := s.lookup(u)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(caps) == 0 {
		s.notFound(w, r, target{Kind: kindList, URL: u}, "")
		return
	}
	if asJSON {
		s.writeCDX(w, r, caps)
		return
	}
	base := baseURL(r)
	var b bytes.Buffer
	b.WriteString("<" + linkURL(archURL) + ">; rel=\"original\",\n")
	b.WriteString("<" + base + "/timemap/link/" + linkURL(archURL) + ">; rel=\"self\"; type=\"application/link-format\"" +
		"; from=\"" + httpDate(caps[0].Time) + "\"; until=\"" + httpDate(caps[len(caps)-1].Time) + "\",\n")
	b.WriteString("<" + base + "/web/" + linkURL(archURL) + ">; rel=\"timegate\"")
	for i, c := range caps {
		rel := "memento"
		switch {
		case len(caps) == 1:
			rel = "first last memento"
		case i == 0:
			rel = "first memento"
		case i == len(caps)-1:
			rel = "last memento"
		}
		b.WriteString(",\n<" + base + "/web/" + timestamp(c.Time) + "/" + linkURL(archURL) + ">; rel=\"" + rel +
			"\"; datetime=\"" + httpDate(c.Time) + "\"")
	}
	b.WriteString("\n")
	h := w.Header()
	h.Set("Content-Type", "application/link-format")
	h.Set("Content-Length", strconv.Itoa(b.Len()))
	if r.Method != http.MethodHead {
		w.Write(b.Bytes())
	}
}

// mementoLinks is the Link header of a memento (or of the TimeGate
// answer): the original, the TimeGate, the TimeMap, and the first, last,
// previous, next and this memento.
func mementoLinks(base, archURL string, caps []*archive.Capture, c *archive.Capture) string {
	orig := linkURL(archURL)
	parts := []string{
		"<" + orig + ">; rel=\"original\"",
		"<" + base + "/web/" + orig + ">; rel=\"timegate\"",
		"<" + base + "/timemap/link/" + orig + ">; rel=\"timemap\"; type=\"application/link-format\"",
	}
	self := -1
	for i, x := range caps {
		if x == c {
			self = i
		}
	}
	rels := map[int][]string{}
	add := func(i int, rel string) {
		if i >= 0 && i < len(caps) {
			rels[i] = append(rels[i], rel)
		}
	}
	add(0, "first")
	add(self-1, "prev")
	add(self, "")
	add(self+1, "next")
	add(len(caps)-1, "last")
	for _, i := range []int{0, self - 1, self, self + 1, len(caps) - 1} {
		rs, ok := rels[i]
		if !ok {
			continue
		}
		delete(rels, i)
		var words []string
		for _, r := range rs {
			if r != "" {
				words = append(words, r)
			}
		}
		words = append(words, "memento")
		parts = append(parts, "<"+base+"/web/"+timestamp(caps[i].Time)+"/"+orig+">; rel=\""+
			strings.Join(words, " ")+"\"; datetime=\""+httpDate(caps[i].Time)+"\"")
	}
	return strings.Join(parts, ", ")
}

func httpDate(t time.Time) string { return t.UTC().Format(http.TimeFormat) }

// linkURL escapes what may not appear inside <...> of a Link header or a
// link-format document: spaces, quotes, angle brackets, commas are fine
// inside <> but control and non-ASCII bytes are not.
func linkURL(u string) string {
	var b strings.Builder
	for i := 0; i < len(u); i++ {
		c := u[i]
		if c <= 0x20 || c >= 0x7f || c == '<' || c == '>' || c == '"' {
			b.WriteByte('%')
			b.WriteByte("0123456789ABCDEF"[c>>4])
			b.WriteByte("0123456789ABCDEF"[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
