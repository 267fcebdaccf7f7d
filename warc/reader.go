package warc

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/klauspost/compress/gzip"
)

// maxHeaderLine bounds one header line; longer lines are a defect, not a
// reason to buffer an unbounded amount of memory.
const maxHeaderLine = 1 << 20

// countingReader counts the bytes taken from the underlying reader so the
// compressed position of each gzip member is known exactly.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Reader reads WARC records from a plain or gzip-compressed stream,
// detected by magic bytes. After [Reader.Next], the Reader itself reads the
// record's block.
type Reader struct {
	cr *countingReader
	br *bufio.Reader // compressed (or plain) bytes

	gzipped   bool
	gz        *gzip.Reader
	memberBeg int64 // compressed offset of the current member
	memberEnd int64 // compressed offset where the last finished member ended
	memberEOF bool  // the current member has been read to its end
	memberD   int64 // decompressed position where the current member began

	cb   *bufio.Reader // decompressed bytes, over src
	dpos int64         // decompressed bytes handed to cb

	started bool
	cur     *Record
	curD    int64 // decompressed position where cur began
	remain  int64 // block bytes of cur not yet read
	done    bool  // cur's block and end marker are consumed
	lf      bool  // LF-only line ends already reported for cur
	nrec    int
	wholeGz bool
	defects []string
	err     error // sticky: what Next returns once the stream is unusable
}

// NewReader returns a Reader reading from r.
func NewReader(r io.Reader) *Reader {
	cr := &countingReader{r: r}
	rd := &Reader{cr: cr, br: bufio.NewReaderSize(cr, 64<<10)}
	rd.cb = bufio.NewReaderSize(srcReader{rd}, 64<<10)
	return rd
}

// Defects returns the file-level defects found so far: trailing garbage,
// whole-file gzip, empty gzip members, truncation.
func (r *Reader) Defects() []string { return r.defects }

func (r *Reader) fileDefect(format string, args ...any) {
	r.defects = append(r.defects, fmt.Sprintf(format, args...))
}

// srcReader hands cb the decompressed bytes of the current member only, so
// member boundaries stay visible to the Reader.
type srcReader struct{ r *Reader }

func (s srcReader) Read(p []byte) (int, error) {
	r := s.r
	if !r.gzipped {
		n, err := r.br.Read(p)
		r.dpos += int64(n)
		return n, err
	}
	if r.memberEOF || r.gz == nil {
		return 0, io.EOF
	}
	n, err := r.gz.Read(p)
	r.dpos += int64(n)
	if err == io.EOF {
		r.memberEOF = true
		r.memberEnd = r.cpos()
	}
	return n, err
}

// cpos is the compressed position of the next byte not yet decoded.
func (r *Reader) cpos() int64 { return r.cr.n - int64(r.br.Buffered()) }

// dconsumed is the decompressed position of the next byte the Reader will
// parse.
func (r *Reader) dconsumed() int64 { return r.dpos - int64(r.cb.Buffered()) }

// where is the offset to name in a defect: the member's start for gzip
// files, the exact byte for plain ones.
func (r *Reader) where() int64 {
	if r.gzipped {
		return r.memberBeg
	}
	return r.dconsumed()
}

func (r *Reader) start() error {
	r.started = true
	magic, err := r.br.Peek(2)
	if len(magic) == 0 {
		if err == io.EOF {
			return io.EOF
		}
		return fmt.Errorf("warc: read: %w", err)
	}
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		r.gzipped = true
		r.memberEOF = true // so advance opens the first member
		if ok, err := r.advance(); !ok {
			if err != nil {
				return err
			}
			return io.EOF
		}
	}
	return nil
}

// advance opens the next gzip member. It reports false at the end of the
// input (after noting trailing garbage) or when the next member's header is
// unreadable.
func (r *Reader) advance() (bool, error) {
	if !r.memberEOF || r.cb.Buffered() > 0 {
		return false, nil
	}
	beg := r.cpos()
	magic, _ := r.br.Peek(3)
	if len(magic) == 0 {
		return false, nil
	}
	if len(magic) < 3 || magic[0] != 0x1f || magic[1] != 0x8b || magic[2] != 8 {
		n, _ := io.Copy(io.Discard, r.br)
		r.fileDefect("trailing garbage: %d bytes that are not a gzip member at offset %d", n, beg)
		return false, nil
	}
	var err error
	if r.gz == nil {
		r.gz, err = gzip.NewReader(r.br)
	} else {
		err = r.gz.Reset(r.br)
	}
	if err != nil {
		r.fileDefect("truncated at offset %d: unreadable gzip member header: %v", beg, err)
		r.memberEOF = true
		r.gz = nil
		return false, &SyntaxError{Offset: beg, Msg: "gzip member header", Err: ErrTruncated}
	}
	r.gz.Multistream(false)
	r.memberBeg = beg
	r.memberEOF = false
	r.memberD = r.dpos
	return true, nil
}

// peekByte returns the next decompressed byte of the current member; ok is
// false at the end of the member (or of a plain file).
func (r *Reader) peekByte() (byte, bool, error) {
	b, err := r.cb.Peek(1)
	if len(b) == 1 {
		return b[0], true, nil
	}
	if err == io.EOF {
		return 0, false, nil
	}
	return 0, false, r.streamErr(err)
}

// streamErr converts a decompression error into a truncation error that
// names the member where it happened.
func (r *Reader) streamErr(err error) error {
	off := r.where()
	r.fileDefect("truncated at offset %d: %v", off, err)
	r.memberEOF = true
	r.gz = nil
	r.err = &SyntaxError{Offset: off, Msg: "corrupt or truncated data", Err: ErrTruncated}
	return r.err
}

// Next advances to the next record, skipping the rest of the current one.
// It returns io.EOF at the end of the input. The returned Record's Length
// (and, for whole-file gzip, Offset and Defects) are completed once its
// block has been read to the end or Next is called again.
func (r *Reader) Next() (*Record, error) {
	if r.err != nil {
		return nil, r.err
	}
	if !r.started {
		if err := r.start(); err != nil {
			r.err = err
			if err == io.EOF {
				r.fileDefect("empty input: no WARC record")
			}
			return nil, err
		}
	}
	if r.cur != nil {
		if err := r.finish(); err != nil {
			return nil, err
		}
		r.cur = nil
	}
	rec, err := r.readHeader()
	if err != nil {
		if r.err == nil {
			r.err = err
		}
		return nil, err
	}
	r.nrec++
	r.cur = rec
	r.done = false
	return rec, nil
}

// skipToRecord moves to the next byte of record data, crossing gzip member
// boundaries; false means the input is exhausted.
func (r *Reader) skipToRecord() (bool, error) {
	for {
		_, ok, err := r.peekByte()
		if err != nil {
			return false, err
		}
		if ok {
			return true, nil
		}
		if !r.gzipped {
			return false, nil
		}
		if r.memberEOF && r.memberD == r.dpos {
			r.fileDefect("empty gzip member at offset %d", r.memberBeg)
		}
		adv, err := r.advance()
		if err != nil {
			return false, err
		}
		if !adv {
			return false, nil
		}
	}
}

// readLine reads one line (without its line end) from the current record,
// crossing into the next gzip member when a record was split. ok is false
// when the input ended before any byte; eol reports whether a line end was
// seen.
func (r *Reader) readLine(rec *Record) (line string, eol bool, err error) {
	var buf []byte
	for {
		chunk, rerr := r.cb.ReadSlice('\n')
		buf = append(buf, chunk...)
		if len(buf) > maxHeaderLine {
			return "", false, &SyntaxError{Offset: r.where(), Msg: "header line too long", Err: ErrBadHeader}
		}
		if rerr == nil {
			break
		}
		if rerr == bufio.ErrBufferFull {
			continue
		}
		if rerr != io.EOF {
			return string(buf), false, r.streamErr(rerr)
		}
		if !r.gzipped {
			return string(buf), false, nil
		}
		at := r.memberEnd
		adv, aerr := r.advance()
		if aerr != nil {
			return string(buf), false, aerr
		}
		if !adv {
			return string(buf), false, nil
		}
		if rec != nil {
			rec.defect("record split across gzip members at offset %d", at)
		}
	}
	s := string(buf)
	if strings.HasSuffix(s, "\r\n") {
		return s[:len(s)-2], true, nil
	}
	if rec != nil && !r.lf {
		r.lf = true
		rec.defect("header line without carriage return")
	}
	return s[:len(s)-1], true, nil
}

// isVersionLine reports whether line starts a WARC record.
func isVersionLine(line string) bool {
	return strings.HasPrefix(line, "WARC/") && len(line) > 5 && line[5] >= '0' && line[5] <= '9'
}

func (r *Reader) readHeader() (*Record, error) {
	var blank int
	var line string
	var startD int64
	var skipped int64
	skippedAt := int64(-1)
	for {
		ok, err := r.skipToRecord()
		if err != nil {
			return nil, err
		}
		if !ok {
			if skipped > 0 {
				r.fileDefect("trailing garbage: %d bytes after the last record at offset %d", skipped, skippedAt)
			}
			if r.nrec == 0 {
				if skipped > 0 {
					return nil, &SyntaxError{Offset: 0, Msg: "no WARC record found", Err: ErrNotWARC}
				}
				r.fileDefect("empty input: no WARC record")
			}
			return nil, io.EOF
		}
		startD = r.dconsumed()
		at := r.where()
		l, eol, err := r.readLine(nil)
		if err != nil {
			return nil, err
		}
		if isVersionLine(l) {
			line = l
			break
		}
		if strings.TrimSpace(l) == "" && eol {
			// Blank lines between records: extra end-marker bytes.
			blank += len(l) + 1
			continue
		}
		if skippedAt < 0 {
			skippedAt = at
		}
		skipped += int64(len(l))
		if eol {
			skipped++
		}
	}
	rec := &Record{Offset: -1, Length: -1}
	r.lf = false
	switch {
	case !r.gzipped:
		rec.Offset = startD
	case startD == r.memberD:
		rec.Offset = r.memberBeg
	default:
		rec.defect("gzip member holds more than one record; offset and length unusable")
	}
	if skipped > 0 {
		rec.defect("skipped %d bytes of non-WARC data at offset %d before this record", skipped, skippedAt)
	}
	if blank > 0 {
		rec.defect("%d bytes of blank lines before this record", blank)
	}
	r.curD = startD
	line = strings.TrimRight(line, " \t\r")
	rec.Version = strings.TrimPrefix(line, "WARC/")
	switch rec.Version {
	case "1.1", "1.0":
	case "0.18", "0.17":
		rec.defect("old WARC version %s", rec.Version)
	default:
		rec.defect("unknown WARC version %q", rec.Version)
	}
	for {
		l, eol, err := r.readLine(rec)
		if err != nil {
			return nil, err
		}
		if !eol {
			off := r.where()
			rec.defect("truncated at offset %d: header ends without a blank line", off)
			r.fileDefect("truncated at offset %d: last record's header is incomplete", off)
			r.cur = rec
			r.err = &SyntaxError{Offset: off, Msg: "record header cut short", Err: ErrTruncated}
			return nil, r.err
		}
		if l == "" {
			break
		}
		if (l[0] == ' ' || l[0] == '\t') && len(rec.Header) > 0 {
			rec.defect("folded header line")
			rec.Header[len(rec.Header)-1].Value += " " + strings.TrimSpace(l)
			continue
		}
		name, value, ok := strings.Cut(l, ":")
		if !ok || strings.TrimSpace(name) == "" {
			rec.defect("header line without a colon: %q", truncateForMsg(l))
			continue
		}
		rec.Header = append(rec.Header, Field{Name: strings.TrimSpace(name), Value: strings.TrimSpace(value)})
	}
	if v := rec.Header.Get("WARC-Target-URI"); strings.HasPrefix(v, "<") && strings.HasSuffix(v, ">") {
		rec.Header.Set("WARC-Target-URI", v[1:len(v)-1])
		rec.defect("WARC-Target-URI in angle brackets (stripped)")
	}
	n := rec.ContentLength()
	if n < 0 {
		rec.defect("missing or invalid Content-Length %q", rec.Header.Get("Content-Length"))
		n = 0
	}
	r.remain = n
	return rec, nil
}

func truncateForMsg(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

// Read reads from the current record's block. It returns io.EOF at the end
// of the block, and an error wrapping [ErrTruncated] when the input ends
// first.
func (r *Reader) Read(p []byte) (int, error) {
	if r.cur == nil {
		return 0, io.EOF
	}
	if r.remain == 0 {
		if err := r.finish(); err != nil {
			return 0, err
		}
		return 0, io.EOF
	}
	if int64(len(p)) > r.remain {
		p = p[:r.remain]
	}
	for {
		n, err := r.cb.Read(p)
		r.remain -= int64(n)
		if n > 0 {
			return n, nil
		}
		if err == nil {
			continue
		}
		if err != io.EOF {
			return 0, r.streamErr(err)
		}
		if !r.gzipped {
			return 0, r.truncated()
		}
		// End of member inside the block: a split record, or a
		// Content-Length longer than the record really is.
		at := r.memberEnd
		adv, aerr := r.advance()
		if aerr != nil {
			return 0, aerr
		}
		if !adv {
			return 0, r.truncated()
		}
		if head, _ := r.cb.Peek(6); isVersionLine(string(head)) {
			r.cur.defect("Content-Length %d too long: block ends %d bytes early at the end of its gzip member", r.cur.ContentLength(), r.remain)
			r.remain = 0
			r.done = true
			r.setLength(at)
			return 0, io.EOF
		}
		r.cur.defect("record split across gzip members at offset %d", at)
	}
}

func (r *Reader) truncated() error {
	off := r.where()
	r.cur.defect("truncated at offset %d: block is %d bytes short of Content-Length", off, r.remain)
	r.fileDefect("truncated at offset %d: last record is %d bytes short", off, r.remain)
	r.remain = 0
	r.done = true
	r.err = io.EOF
	return &SyntaxError{Offset: off, Msg: fmt.Sprintf("record block %d bytes short", r.cur.ContentLength()), Err: ErrTruncated}
}

// finish skips the rest of the current block, consumes the end-of-record
// marker and settles the record's Length.
func (r *Reader) finish() error {
	if r.done || r.cur == nil {
		return nil
	}
	if r.remain > 0 {
		if _, err := io.Copy(io.Discard, struct{ io.Reader }{r}); err != nil {
			if errors.Is(err, ErrTruncated) {
				return nil
			}
			return err
		}
		if r.done {
			return nil
		}
	}
	r.done = true
	rec := r.cur
	matched := 0
	for matched < 4 {
		c, ok, err := r.peekByte()
		if err != nil {
			return err
		}
		if !ok || c != "\r\n\r\n"[matched] {
			break
		}
		r.cb.Discard(1)
		matched++
	}
	if matched < 4 {
		rec.defect("bad end-of-record marker: %d of 4 bytes (\\r\\n\\r\\n)", matched)
	}
	if !r.gzipped {
		rec.Length = r.dconsumed() - rec.Offset
		return nil
	}
	_, more, err := r.peekByte()
	if err != nil {
		return err
	}
	if !more {
		r.setLength(r.memberEnd)
		return nil
	}
	// The member goes on after this record.
	if head, _ := r.cb.Peek(6); isVersionLine(string(head)) {
		if !r.wholeGz {
			r.wholeGz = true
			r.fileDefect("gzip member at offset %d holds more than one record (not record-at-a-time gzip); offsets unusable", r.memberBeg)
		}
		if rec.Offset >= 0 {
			rec.defect("gzip member holds more than one record; offset and length unusable")
		}
		rec.Offset = -1
	}
	rec.Length = -1
	return nil
}

// setLength sets the current record's on-disk length given where its last
// member ended.
func (r *Reader) setLength(end int64) {
	if r.cur.Offset >= 0 {
		r.cur.Length = end - r.cur.Offset
	}
}

// ReadBlock reads the rest of the current block into memory.
func (r *Reader) ReadBlock() ([]byte, error) {
	var b bytes.Buffer
	// Trust Content-Length only so far: a corrupt header must not make
	// the reader allocate gigabytes up front.
	if n := r.remain; n > 0 {
		b.Grow(int(min(n, 1<<20)))
	}
	_, err := io.Copy(&b, struct{ io.Reader }{r})
	return b.Bytes(), err
}
