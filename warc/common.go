package warc

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Record types defined by WARC 1.1.
const (
	TypeWarcinfo     = "warcinfo"
	TypeResponse     = "response"
	TypeResource     = "resource"
	TypeRequest      = "request"
	TypeMetadata     = "metadata"
	TypeRevisit      = "revisit"
	TypeConversion   = "conversion"
	TypeContinuation = "continuation"
)

// Revisit profiles. The 1.1 URIs are the ones to write; the others are
// accepted by readers because older and non-standard tools wrote them.
const (
	ProfileIdenticalPayloadDigest = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
	ProfileServerNotModified      = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"

	ProfileIdenticalPayloadDigest10 = "http://netpreserve.org/warc/1.0/revisit/identical-payload-digest"
	ProfileServerNotModified10      = "http://netpreserve.org/warc/1.0/revisit/server-not-modified"
	ProfileIdenticalPayloadDigest18 = "http://netpreserve.org/warc/0.18/revisit/identical-payload-digest"
	ProfileServerNotModified18      = "http://netpreserve.org/warc/0.18/revisit/server-not-modified"
	// ProfileURIAgnostic10 is the non-standard profile warcio writes for
	// revisits of a payload first seen under another URL.
	ProfileURIAgnostic10 = "http://netpreserve.org/warc/1.0/revisit/uri-agnostic-identical-payload-digest"
)

// Values of the WARC-Truncated field.
const (
	TruncatedLength      = "length"
	TruncatedTime        = "time"
	TruncatedDisconnect  = "disconnect"
	TruncatedUnspecified = "unspecified"
)

// Content types commonly used in WARC records.
const (
	ContentTypeHTTPRequest  = "application/http;msgtype=request"
	ContentTypeHTTPResponse = "application/http;msgtype=response"
	ContentTypeWARCFields   = "application/warc-fields"
)

// DateFormat is how WARC/1.1 dates are written: UTC with microseconds.
const DateFormat = "2006-01-02T15:04:05.000000Z"

// dateFormat10 is used for WARC/1.0 records, whose readers may reject
// fractional seconds.
const dateFormat10 = "2006-01-02T15:04:05Z"

// Sentinel errors.
var (
	// ErrTruncated reports a record or file that ends before its declared
	// length, such as a `.open` file left behind by a crash.
	ErrTruncated = errors.New("warc: truncated record")
	// ErrNotWARC reports input that holds no WARC record at all.
	ErrNotWARC = errors.New("warc: not a WARC file")
	// ErrBadHeader reports a record header that cannot be parsed.
	ErrBadHeader = errors.New("warc: malformed record header")
	// ErrLength reports a Content-Length that disagrees with the block.
	ErrLength = errors.New("warc: content length mismatch")
	// ErrDigest reports a malformed or unsupported digest value.
	ErrDigest = errors.New("warc: bad digest")
	// ErrClosed reports use of a closed writer.
	ErrClosed = errors.New("warc: writer closed")
)

// SyntaxError is a parse failure at a byte offset of the input (compressed
// offset for gzip files, or of the record's member when that is all that is
// known).
type SyntaxError struct {
	Offset int64
	Msg    string
	Err    error
}

// Error implements error.
func (e *SyntaxError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("warc: offset %d: %s: %v", e.Offset, e.Msg, e.Err)
	}
	return fmt.Sprintf("warc: offset %d: %s", e.Offset, e.Msg)
}

// Unwrap returns the underlying sentinel, if any.
func (e *SyntaxError) Unwrap() error { return e.Err }

// Field is one named header line, kept with its original case.
type Field struct {
	Name  string
	Value string
}

// Header is an ordered list of fields. Order, case and repetitions are
// preserved as read; lookups are case-insensitive.
type Header []Field

// Get returns the first value of the named field, or "".
func (h Header) Get(name string) string {
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// Has reports whether the named field is present (even with an empty value).
func (h Header) Has(name string) bool {
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			return true
		}
	}
	return false
}

// Values returns every value of the named field, in order.
func (h Header) Values(name string) []string {
	var vs []string
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			vs = append(vs, f.Value)
		}
	}
	return vs
}

// Set replaces the first field of that name (removing any others), or
// appends it when absent, so a field keeps its position when updated.
func (h *Header) Set(name, value string) {
	out := (*h)[:0]
	done := false
	for _, f := range *h {
		if strings.EqualFold(f.Name, name) {
			if done {
				continue
			}
			f.Value = value
			done = true
		}
		out = append(out, f)
	}
	if !done {
		out = append(out, Field{Name: name, Value: value})
	}
	*h = out
}

// Add appends a field, even when one of that name exists.
func (h *Header) Add(name, value string) {
	*h = append(*h, Field{Name: name, Value: value})
}

// Del removes every field of that name.
func (h *Header) Del(name string) {
	out := (*h)[:0]
	for _, f := range *h {
		if !strings.EqualFold(f.Name, name) {
			out = append(out, f)
		}
	}
	*h = out
}

// Clone returns a copy that shares nothing with h.
func (h Header) Clone() Header {
	if h == nil {
		return nil
	}
	return append(Header(nil), h...)
}

// Record is one WARC record's header and where it sits in its file. The
// block is read from the [Reader] or passed to the [Writer] separately.
type Record struct {
	// Version is the version from the record's first line, e.g. "1.1".
	Version string
	// Header holds the WARC named fields in file order.
	Header Header
	// Offset is where the record starts in the file: the start of its gzip
	// member for compressed files, or -1 when that is not a usable position
	// (several records in one gzip member).
	Offset int64
	// Length is the record's size on disk (the compressed member for gzip
	// files, including the end-of-record marker), or -1 when unusable. A
	// Reader fills it once the record's block has been read or skipped.
	Length int64
	// Defects names the ways this record departs from the standard but
	// could still be read.
	Defects []string
}

// Type returns the WARC-Type field.
func (r *Record) Type() string { return r.Header.Get("WARC-Type") }

// ID returns the WARC-Record-ID field, with its angle brackets.
func (r *Record) ID() string { return r.Header.Get("WARC-Record-ID") }

// TargetURI returns the WARC-Target-URI field.
func (r *Record) TargetURI() string { return r.Header.Get("WARC-Target-URI") }

// Date parses the WARC-Date field.
func (r *Record) Date() (time.Time, error) { return ParseDate(r.Header.Get("WARC-Date")) }

// ContentLength parses the Content-Length field; -1 when absent or invalid.
func (r *Record) ContentLength() int64 { return parseLength(r.Header.Get("Content-Length")) }

// parseLength parses a Content-Length value; -1 when invalid.
func parseLength(v string) int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < 0 {
		return -1
	}
	return n
}

func (r *Record) defect(format string, args ...any) {
	r.Defects = append(r.Defects, fmt.Sprintf(format, args...))
}

// dateLayouts are the W3CDTF forms WARC readers meet, most precise first.
var dateLayouts = [...]string{
	time.RFC3339Nano,
	"2006-01-02T15:04Z07:00",
	"2006-01-02",
	"2006-01",
	"2006",
}

// ParseDate parses a WARC-Date (W3C date-time, any precision, UTC or offset).
func ParseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("warc: bad date %q", s)
}

// FormatDate formats t as a WARC/1.1 date with microseconds.
func FormatDate(t time.Time) string {
	var b [len(DateFormat)]byte
	return string(appendDate(b[:0], t))
}

// appendDate appends t as [FormatDate] does. Writing the digits by hand
// costs a fraction of time.Format, which ran three times per exported
// capture; years time.Format writes with other than four digits go
// through it.
func appendDate(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(b, DateFormat)
	}
	hour, minute, sec := t.Clock()
	b = appendDigits(b, year, 4)
	b = append(b, '-')
	b = appendDigits(b, int(month), 2)
	b = append(b, '-')
	b = appendDigits(b, day, 2)
	b = append(b, 'T')
	b = appendDigits(b, hour, 2)
	b = append(b, ':')
	b = appendDigits(b, minute, 2)
	b = append(b, ':')
	b = appendDigits(b, sec, 2)
	b = append(b, '.')
	// time.Format truncates fractions; so does this.
	b = appendDigits(b, t.Nanosecond()/1000, 6)
	return append(b, 'Z')
}

// FormatTimestamp formats t as the 14-digit UTC timestamp of CDXJ lines
// and Wayback URLs (time layout "20060102150405"). It is written by hand
// for the same reason as [FormatDate]: an export indexes every capture.
func FormatTimestamp(t time.Time) string {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.Format("20060102150405")
	}
	hour, minute, sec := t.Clock()
	var a [14]byte
	b := appendDigits(a[:0], year, 4)
	for _, v := range [...]int{int(month), day, hour, minute, sec} {
		b = appendDigits(b, v, 2)
	}
	return string(b)
}

// appendDigits appends v, 0 <= v < 10^width, zero-padded to width digits.
func appendDigits(b []byte, v, width int) []byte {
	b = append(b, make([]byte, width)...)
	for i := len(b) - 1; i >= len(b)-width; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return b
}

// isRecordID reports whether v looks like `<scheme:...>` without whitespace.
func isRecordID(v string) bool {
	if len(v) < 4 || v[0] != '<' || v[len(v)-1] != '>' {
		return false
	}
	inner := v[1 : len(v)-1]
	if strings.ContainsAny(inner, " \t\r\n<>") {
		return false
	}
	i := strings.IndexByte(inner, ':')
	return i > 0 && i < len(inner)-1
}
