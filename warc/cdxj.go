package warc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// CDXJ is one line of a CDXJ index as pywb and cdxj-indexer write it.
// Empty strings and negative numbers are left out of the JSON.
type CDXJ struct {
	URLKey    string
	Timestamp string // 14 digits, UTC
	URL       string
	MIME      string
	Status    string
	Digest    string // payload digest, with its "sha1:" label
	Length    int64  // on-disk record length; -1 when unknown
	Offset    int64  // on-disk record offset; -1 when unknown
	Filename  string
	// RecordDigest is "sha256:<hex>" of the stored record bytes (WACZ).
	RecordDigest string
	// RequestBody and Method are set for non-GET requests.
	RequestBody string
	Method      string
}

// String formats the line exactly as cdxj-indexer does:
// `urlkey timestamp {"url": "...", "mime": "...", "status": "200", ...}`.
func (c CDXJ) String() string {
	// One buffer sized for the usual line; an export formats one per
	// capture.
	b := make([]byte, 0, 160+len(c.URLKey)+len(c.URL)+len(c.Filename)+len(c.RequestBody))
	b = append(b, c.URLKey...)
	b = append(b, ' ')
	b = append(b, c.Timestamp...)
	b = append(b, " {"...)
	n := len(b)
	add := func(k, v string) {
		if v == "" {
			return
		}
		if len(b) > n {
			b = append(b, ", "...)
		}
		b = appendPyQuote(b, k)
		b = append(b, ": "...)
		b = appendPyQuote(b, v)
	}
	num := func(n int64) string {
		if n < 0 {
			return ""
		}
		return strconv.FormatInt(n, 10)
	}
	add("url", c.URL)
	add("mime", c.MIME)
	add("status", c.Status)
	add("digest", c.Digest)
	add("length", num(c.Length))
	add("offset", num(c.Offset))
	add("filename", c.Filename)
	add("recordDigest", c.RecordDigest)
	add("requestBody", c.RequestBody)
	add("method", c.Method)
	b = append(b, '}')
	return string(b)
}

// appendPyQuote appends s quoted as Python's json.dumps does by default:
// ASCII only, non-ASCII as \uXXXX (surrogate pairs above the BMP).
func appendPyQuote(b []byte, s string) []byte {
	const hexd = "0123456789abcdef"
	b = append(b, '"')
	// Printable ASCII other than the quote and backslash stands for
	// itself, and most values are nothing else: copy those in one go.
	plain := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			plain = false
			break
		}
	}
	if plain {
		b = append(b, s...)
		return append(b, '"')
	}
	for _, r := range s {
		switch {
		case r == '"':
			b = append(b, `\"`...)
		case r == '\\':
			b = append(b, `\\`...)
		case r == '\n':
			b = append(b, `\n`...)
		case r == '\r':
			b = append(b, `\r`...)
		case r == '\t':
			b = append(b, `\t`...)
		case r < 0x20 || (r >= 0x7f && r <= 0xffff) || r == utf8.RuneError:
			u := uint16(r)
			b = append(b, `\u`...)
			b = append(b, hexd[u>>12], hexd[u>>8&15], hexd[u>>4&15], hexd[u&15])
		case r > 0xffff:
			r -= 0x10000
			for _, u := range [2]uint16{uint16(0xd800 + r>>10), uint16(0xdc00 + r&0x3ff)} {
				b = append(b, `\u`...)
				b = append(b, hexd[u>>12], hexd[u>>8&15], hexd[u>>4&15], hexd[u&15])
			}
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	return append(b, '"')
}

// ParseCDXJ parses one CDXJ line. JSON values may be strings or numbers
// (pywb writes strings, the CDXJ spec example numbers).
func ParseCDXJ(line string) (CDXJ, error) {
	c := CDXJ{Length: -1, Offset: -1}
	line = strings.TrimRight(line, "\r\n")
	key, rest, ok := strings.Cut(line, " ")
	if !ok {
		return c, fmt.Errorf("warc: cdxj: no timestamp in %q", line)
	}
	ts, js, ok := strings.Cut(rest, " ")
	if !ok {
		return c, fmt.Errorf("warc: cdxj: no JSON block in %q", line)
	}
	c.URLKey, c.Timestamp = key, ts
	dec := json.NewDecoder(strings.NewReader(js))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return c, fmt.Errorf("warc: cdxj: %w", err)
	}
	str := func(k string) (string, error) {
		switch v := m[k].(type) {
		case nil:
			return "", nil
		case string:
			return v, nil
		case json.Number:
			return v.String(), nil
		default:
			return "", fmt.Errorf("warc: cdxj: field %q has unexpected type %T", k, v)
		}
	}
	num := func(k string) (int64, error) {
		s, err := str(k)
		if err != nil || s == "" {
			return -1, err
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return -1, fmt.Errorf("warc: cdxj: field %q: %w", k, err)
		}
		return n, nil
	}
	var errs []error
	for k, dst := range map[string]*string{
		"url": &c.URL, "mime": &c.MIME, "status": &c.Status, "digest": &c.Digest,
		"filename": &c.Filename, "recordDigest": &c.RecordDigest,
		"requestBody": &c.RequestBody, "method": &c.Method,
	} {
		v, err := str(k)
		*dst = v
		errs = append(errs, err)
	}
	var err error
	c.Length, err = num("length")
	errs = append(errs, err)
	c.Offset, err = num("offset")
	errs = append(errs, err)
	return c, errors.Join(errs...)
}

// SortCDXJ sorts index lines bytewise (as `LC_ALL=C sort` does), the order
// CDXJ files must be in.
func SortCDXJ(lines []string) { slices.Sort(lines) }

// maxIndexHead bounds how much of a block Index keeps to parse the HTTP
// head; the rest is streamed past.
const maxIndexHead = 64 << 10

// Index reads a WARC file and calls fn with a CDXJ line for every response,
// revisit and resource record, in file order, as cdxj-indexer does by
// default. filename goes into each line. Records whose offset is unusable
// (whole-file gzip) are indexed without offset and length.
func Index(r io.Reader, filename string, fn func(CDXJ) error) error {
	rd := NewReader(r)
	var head bytes.Buffer
	copyBuf := make([]byte, 32<<10)
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		typ := rec.Type()
		if typ != TypeResponse && typ != TypeRevisit && typ != TypeResource {
			continue
		}
		head.Reset()
		if _, err := io.CopyBuffer(&capWriter{buf: &head, max: maxIndexHead}, struct{ io.Reader }{rd}, copyBuf); err != nil && !errors.Is(err, ErrTruncated) {
			return err
		}
		line, err := cdxjFor(rec, head.Bytes(), filename)
		if err != nil {
			return err
		}
		if err := fn(line); err != nil {
			return err
		}
	}
}

// capWriter keeps the first max bytes written and drops the rest.
type capWriter struct {
	buf *bytes.Buffer
	max int
}

func (w *capWriter) Write(p []byte) (int, error) {
	if room := w.max - w.buf.Len(); room > 0 {
		w.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

func cdxjFor(rec *Record, block []byte, filename string) (CDXJ, error) {
	c := CDXJ{
		URL:      rec.TargetURI(),
		Digest:   rec.Header.Get("WARC-Payload-Digest"),
		Length:   rec.Length,
		Offset:   rec.Offset,
		Filename: filename,
	}
	if rec.Offset < 0 {
		c.Length = -1
	}
	key, err := SURT(c.URL)
	if err != nil {
		key = c.URL
	}
	c.URLKey = key
	if d, err := rec.Date(); err == nil {
		c.Timestamp = FormatTimestamp(d)
	} else {
		c.Timestamp = strings.Repeat("0", 14)
	}
	typ := rec.Type()
	isHTTP := strings.HasPrefix(strings.ToLower(rec.Header.Get("Content-Type")), "application/http") ||
		bytes.HasPrefix(block, []byte("HTTP/"))
	switch {
	case typ == TypeResource:
		c.MIME = mediaType(rec.Header.Get("Content-Type"))
	case len(block) > 0 && isHTTP:
		h, herr := ParseHTTPHead(block)
		if herr == nil {
			c.MIME = mediaType(h.Fields.Get("Content-Type"))
			if h.Status > 0 {
				c.Status = strconv.Itoa(h.Status)
			}
		}
	}
	if typ == TypeRevisit {
		c.MIME = "warc/revisit"
	}
	return c, nil
}

// mediaType strips parameters from a Content-Type value, also when the
// `;` is missing ("text/html charset=utf-8" seen in the wild).
func mediaType(v string) string {
	if i := strings.IndexAny(v, "; \t"); i >= 0 {
		v = v[:i]
	}
	return strings.TrimSpace(v)
}
