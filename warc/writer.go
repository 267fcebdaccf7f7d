package warc

import (
	"crypto/rand"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
)

// WriterOptions configures a [Writer]. The zero value writes gzip-compressed
// WARC/1.1 records with random record IDs and the current time.
type WriterOptions struct {
	// Uncompressed writes plain records instead of one gzip member each.
	Uncompressed bool
	// GzipLevel is the compression level; 0 means gzip.DefaultCompression.
	GzipLevel int
	// Now supplies WARC-Date for records without one; nil means time.Now.
	Now func() time.Time
	// NewRecordID supplies WARC-Record-ID values (with angle brackets) for
	// records without one; nil means random version 4 UUID URNs.
	NewRecordID func() string
	// Offset is the position of the underlying writer's first byte in its
	// file, for appending to an existing file.
	Offset int64
	// Filename is copied into every returned [Position].
	Filename string
}

// Position says where a written record landed: what a CDXJ line needs.
type Position struct {
	Filename string
	Offset   int64
	Length   int64
}

// Writer writes WARC records to an io.Writer, one gzip member per record
// unless uncompressed. It is not safe for concurrent use.
type Writer struct {
	w    io.Writer
	opts WriterOptions
	off  int64
	enc  encoder
	err  error
}

// NewWriter returns a Writer writing to w.
func NewWriter(w io.Writer, opts WriterOptions) *Writer {
	return &Writer{w: w, opts: opts, off: opts.Offset, enc: encoder{opts: opts}}
}

// Offset returns the position the next record will be written at.
func (w *Writer) Offset() int64 { return w.off }

// WriteRecord writes one record whose block is block. Missing mandatory
// fields are filled in rec.Header (WARC-Record-ID, WARC-Date,
// Content-Length, WARC-Block-Digest, and WARC-Payload-Digest for HTTP
// request/response records and resources) so the caller learns the record
// ID; a Content-Length that disagrees with len(block) is an error. On
// success rec.Offset and rec.Length hold the record's position.
func (w *Writer) WriteRecord(rec *Record, block []byte) (Position, error) {
	if w.err != nil {
		return Position{}, w.err
	}
	b, err := w.enc.encode(rec, block)
	if err != nil {
		return Position{}, err
	}
	return w.writeEncoded(rec, b)
}

func (w *Writer) writeEncoded(rec *Record, b []byte) (Position, error) {
	off := w.off
	if err := w.put(b); err != nil {
		return Position{}, err
	}
	pos := Position{Filename: w.opts.Filename, Offset: off, Length: int64(len(b))}
	rec.Offset, rec.Length = pos.Offset, pos.Length
	return pos, nil
}

// put writes encoded records whole and advances the offset.
func (w *Writer) put(b []byte) error {
	n, err := w.w.Write(b)
	if err == nil && n != len(b) {
		err = io.ErrShortWrite
	}
	if err != nil {
		// A partial record makes the rest of the output useless; refuse more.
		w.err = fmt.Errorf("warc: write record at offset %d: %w", w.off, err)
		return w.err
	}
	w.off += int64(n)
	return nil
}

// Close flushes nothing (records are written whole) and makes later writes
// fail; it does not close the underlying writer.
func (w *Writer) Close() error {
	if w.err == nil {
		w.err = ErrClosed
	}
	return nil
}

// encoder turns a record into its on-disk bytes; the Writer and FileWriter
// share it so FileWriter can learn a record's size before choosing a file.
type encoder struct {
	opts WriterOptions
	gz   *gzip.Writer
	out  appender // where gz writes: the caller's slice
	head []byte   // the record's version line and fields, reused
	buf  []byte   // encode's output, reused
}

// appender is an io.Writer appending to a slice, so the compressor can
// write straight into the destination a caller names (a batch's data)
// instead of into a buffer that is then copied there.
type appender struct{ b []byte }

func (a *appender) Write(p []byte) (int, error) {
	a.b = append(a.b, p...)
	return len(p), nil
}

func (e *encoder) now() time.Time {
	if e.opts.Now != nil {
		return e.opts.Now()
	}
	return time.Now()
}

func (e *encoder) newID() string {
	if e.opts.NewRecordID != nil {
		return e.opts.NewRecordID()
	}
	return NewRecordID()
}

// Names of the fields prepare reads.
const (
	fieldType = iota
	fieldID
	fieldDate
	fieldTarget
	fieldLength
	fieldPayload
	fieldBlock
	fieldContentType
	numFields
)

// preparedFields spells them.
var preparedFields = [numFields]string{
	fieldType:        "WARC-Type",
	fieldID:          "WARC-Record-ID",
	fieldDate:        "WARC-Date",
	fieldTarget:      "WARC-Target-URI",
	fieldLength:      "Content-Length",
	fieldPayload:     "WARC-Payload-Digest",
	fieldBlock:       "WARC-Block-Digest",
	fieldContentType: "Content-Type",
}

// nameIs reports strings.EqualFold(name, field) for a field name (ASCII)
// without comparing most names at all: only a name of the same length, or
// a longer one holding non-ASCII runes that fold to ASCII (U+212A KELVIN
// SIGN, U+017F LONG S), can equal it.
func nameIs(name, field string) bool {
	if len(name) < len(field) {
		return false
	}
	if len(name) > len(field) {
		for i := 0; i < len(name); i++ {
			if name[i] >= 0x80 {
				return strings.EqualFold(name, field)
			}
		}
		return false
	}
	return strings.EqualFold(name, field)
}

// prepare fills the missing mandatory and digest fields of rec.
func (e *encoder) prepare(rec *Record, block []byte) error {
	if rec.Version == "" {
		rec.Version = "1.1"
	}
	h := &rec.Header
	// One pass finds the first value of every field looked at below:
	// asking Header for each in turn scanned the header eight times per
	// record, a visible share of an export's small records.
	var vals [numFields]string
	var has [numFields]bool
	for _, f := range *h {
		for i, name := range preparedFields {
			if !has[i] && nameIs(f.Name, name) {
				vals[i], has[i] = f.Value, true
				break
			}
		}
	}
	typ := vals[fieldType]
	if typ == "" {
		return fmt.Errorf("warc: record has no WARC-Type")
	}
	if !has[fieldID] {
		h.Add("WARC-Record-ID", e.newID())
	}
	if !has[fieldDate] {
		layout := DateFormat
		if rec.Version != "1.1" {
			layout = dateFormat10
		}
		h.Add("WARC-Date", e.now().UTC().Format(layout))
	}
	if v := vals[fieldTarget]; strings.HasPrefix(v, "<") && strings.HasSuffix(v, ">") {
		h.Set("WARC-Target-URI", v[1:len(v)-1])
	}
	if has[fieldLength] {
		if n := parseLength(vals[fieldLength]); n != int64(len(block)) {
			return fmt.Errorf("%w: header says %q, block has %d bytes", ErrLength, vals[fieldLength], len(block))
		}
	}
	if !has[fieldPayload] {
		ct := strings.ToLower(vals[fieldContentType])
		switch {
		case (typ == TypeResponse || typ == TypeRequest) && strings.HasPrefix(ct, "application/http"):
			if d, err := PayloadDigest(block); err == nil {
				h.Add("WARC-Payload-Digest", d)
			}
		case typ == TypeResource:
			h.Add("WARC-Payload-Digest", BlockDigest(block))
		}
	}
	if !has[fieldBlock] {
		h.Add("WARC-Block-Digest", BlockDigest(block))
	}
	if !has[fieldLength] {
		h.Add("Content-Length", strconv.Itoa(len(block)))
	}
	return nil
}

// encode returns the record's bytes as they go on disk. The slice is valid
// until the next call.
func (e *encoder) encode(rec *Record, block []byte) ([]byte, error) {
	b, err := e.appendRecord(e.buf[:0], rec, block)
	if err != nil {
		return nil, err
	}
	e.buf = b
	return b, nil
}

// appendRecord appends the record's on-disk bytes to dst. On error dst is
// returned as it was.
func (e *encoder) appendRecord(dst []byte, rec *Record, block []byte) ([]byte, error) {
	if err := e.prepare(rec, block); err != nil {
		return dst, err
	}
	e.head = appendHead(e.head[:0], rec)
	if e.opts.Uncompressed {
		dst = append(dst, e.head...)
		dst = append(dst, block...)
		return append(dst, endOfRecord...), nil
	}
	start := len(dst)
	e.out.b = dst
	if e.gz == nil {
		level := e.opts.GzipLevel
		if level == 0 {
			level = gzip.DefaultCompression
		}
		gz, err := gzip.NewWriterLevel(&e.out, level)
		if err != nil {
			e.out.b = nil
			return dst, fmt.Errorf("warc: gzip: %w", err)
		}
		e.gz = gz
	} else {
		e.gz.Reset(&e.out)
	}
	// Three writes avoid copying a large block into the head buffer.
	e.gz.Write(e.head)
	e.gz.Write(block)
	e.gz.Write(endOfRecord)
	err := e.gz.Close()
	dst, e.out.b = e.out.b, nil
	if err != nil {
		return dst[:start], fmt.Errorf("warc: gzip: %w", err)
	}
	return dst, nil
}

// endOfRecord follows every block; a variable, so writing it allocates
// nothing.
var endOfRecord = []byte("\r\n\r\n")

// appendHead appends the version line, fields and blank line. Field values
// are written as given, except line breaks, which would corrupt the
// framing and are never legitimate (WARC forbids folded lines in practice).
func appendHead(b []byte, rec *Record) []byte {
	b = append(b, "WARC/"...)
	b = append(b, rec.Version...)
	b = append(b, "\r\n"...)
	for _, f := range rec.Header {
		b = append(b, f.Name...)
		b = append(b, ": "...)
		b = append(b, oneLine(f.Value)...)
		b = append(b, "\r\n"...)
	}
	return append(b, "\r\n"...)
}

// oneLine replaces line breaks, which would break the record framing.
func oneLine(v string) string {
	// Two IndexByte scans beat ContainsAny's generic search; this runs for
	// every field of every record.
	if strings.IndexByte(v, '\r') < 0 && strings.IndexByte(v, '\n') < 0 {
		return v
	}
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
}

// NewRecordID returns a fresh `<urn:uuid:...>` record ID (random UUID v4).
func NewRecordID() string {
	var u [16]byte
	// crypto/rand.Read never fails on supported platforms (Go 1.24+).
	_, _ = rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("<urn:uuid:%x-%x-%x-%x-%x>", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// NewRecord returns a record of type typ with WARC-Type first, then
// WARC-Target-URI, WARC-Date and Content-Type when those are non-empty.
// Record ID, length and digests are added by the Writer.
func NewRecord(typ, targetURI string, date time.Time, contentType string) *Record {
	// Room for the fields a Writer and the exporters add, so the header
	// is allocated once rather than grown field by field.
	rec := &Record{Version: "1.1", Offset: -1, Length: -1, Header: make(Header, 0, 12)}
	rec.Header.Add("WARC-Type", typ)
	if targetURI != "" {
		rec.Header.Add("WARC-Target-URI", targetURI)
	}
	if !date.IsZero() {
		rec.Header.Add("WARC-Date", FormatDate(date))
	}
	if contentType != "" {
		rec.Header.Add("Content-Type", contentType)
	}
	return rec
}

// Revisit describes the capture a revisit record refers to.
type Revisit struct {
	// Profile is ProfileIdenticalPayloadDigest or ProfileServerNotModified.
	Profile string
	// RefersTo is the original record's WARC-Record-ID (optional).
	RefersTo string
	// TargetURI and Date are the original capture's URL and time; always
	// written because replay tools resolve revisits through them.
	TargetURI string
	Date      time.Time
	// PayloadDigest is the original's payload digest (required for
	// identical-payload-digest revisits).
	PayloadDigest string
}

// NewRevisitRecord returns a revisit record header for targetURI at date.
// Its block should be the HTTP response head only (or empty); the record
// says `WARC-Truncated: length` when the block is non-empty, as the profile
// asks.
func NewRevisitRecord(targetURI string, date time.Time, rv Revisit, headOnly bool) *Record {
	ct := ""
	if headOnly {
		ct = ContentTypeHTTPResponse
	}
	rec := NewRecord(TypeRevisit, targetURI, date, ct)
	rec.Header.Add("WARC-Profile", rv.Profile)
	if rv.RefersTo != "" {
		rec.Header.Add("WARC-Refers-To", rv.RefersTo)
	}
	if rv.TargetURI != "" {
		rec.Header.Add("WARC-Refers-To-Target-URI", rv.TargetURI)
	}
	if !rv.Date.IsZero() {
		rec.Header.Add("WARC-Refers-To-Date", FormatDate(rv.Date))
	}
	if rv.PayloadDigest != "" {
		rec.Header.Add("WARC-Payload-Digest", rv.PayloadDigest)
	}
	if headOnly {
		rec.Header.Add("WARC-Truncated", TruncatedLength)
	}
	return rec
}

// FieldsBlock encodes fields as an application/warc-fields block, the body
// of warcinfo and metadata records.
func FieldsBlock(fields Header) []byte {
	n := 0
	for _, f := range fields {
		n += len(f.Name) + len(": ") + len(f.Value) + len("\r\n")
	}
	if n == 0 {
		return nil
	}
	// oneLine keeps lengths, so n is exact: one allocation.
	b := make([]byte, 0, n)
	for _, f := range fields {
		b = append(b, f.Name...)
		b = append(b, ": "...)
		b = append(b, oneLine(f.Value)...)
		b = append(b, "\r\n"...)
	}
	return b
}

// NewWarcinfoRecord returns a warcinfo record naming filename (may be "").
func NewWarcinfoRecord(filename string, date time.Time) *Record {
	rec := NewRecord(TypeWarcinfo, "", date, ContentTypeWARCFields)
	if filename != "" {
		rec.Header.Add("WARC-Filename", filename)
	}
	return rec
}
