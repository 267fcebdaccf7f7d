package archive

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Line deltas: the heads part with tag 3 (see the capture record format at
// the top of codec.go). A re-capture's request and response head are the
// base's lines, mostly in the same order, with a few lines added, dropped
// or changed; a changed line is mostly a header whose value is a date near
// the capture time or a value the base holds elsewhere (If-None-Match
// repeats the base's ETag). Line copies and such references cost a byte
// each, where an S2 block against the base, knowing nothing of lines or
// dates and without entropy coding, spends 2-3 bytes per copy and one per
// new character: a fixture 304's heads take ~20 bytes instead of ~80.

// deltaStatic are the strings a composed line names by index. An entry
// may never change or move once written: new ones go at the end (the
// first 32 take one byte).
var deltaStatic = [...]string{
	"HTTP/1.1 304 Not Modified",
	"HTTP/1.1 200 OK",
	"If-None-Match: ",
	"If-Modified-Since: ",
	"Date: ",
	"Last-Modified: ",
	"ETag: ",
	"Etag: ",
	"Content-Length: ",
	"Expires: ",
	"HTTP/1.1 301 Moved Permanently",
	"HTTP/1.1 302 Found",
	"HTTP/1.1 404 Not Found",
	"Location: ",
	"Set-Cookie: ",
	"Age: ",
	"Cache-Control: ",
	"Content-Type: ",
	"Referer: ",
	"HTTP/1.0 200 OK",
	"HTTP/2 200",
	"HTTP/2 304",
}

// httpDate is the layout of a date piece. It is spelled out here, not
// taken from net/http, because what a stored piece means may never change.
const httpDate = "Mon, 02 Jan 2006 15:04:05 GMT"

// Ops and pieces of a line delta; see codec.go.
const (
	opCopy     = 0 // n lines from the cursor; n = 0 ends the part
	opJump     = 1 // the cursor to base line n
	opLiteral  = 2 // a line of n bytes, which follow
	opComposed = 3 // a line of n pieces, then CRLF

	pieceLiteral = 0
	pieceStatic  = 1
	pieceBase    = 2
	pieceDate    = 3
)

// deltaFields are the string fields of the heads part, in their order:
// IP, Parent, Anchor, Hops, WARCRecordID. Bit deltaFields of a line
// delta's mask says there are no Outlinks (and no ops for them).
const (
	deltaFields     = 5
	deltaNoOutlinks = 1 << deltaFields
)

// headsParts are the fields of a raw heads part (headsRaw), aliasing it.
type headsParts struct {
	req, resp []byte
	strs      [deltaFields][]byte
	outlinks  [][]byte
	lines     [2][][]byte // req and resp cut into lines, made on first use
}

// parseHeads cuts raw (the layout of headsRaw) into its fields.
func parseHeads(raw []byte) (*headsParts, error) {
	h := new(headsParts)
	r := reader{b: raw}
	h.req = r.bytes()
	h.resp = r.bytes()
	for i := range h.strs {
		h.strs[i] = r.bytes()
	}
	n := r.uvarint()
	if r.err != nil || n > uint64(len(raw)) {
		return nil, errors.New("bad base heads")
	}
	if n > 0 {
		h.outlinks = make([][]byte, n)
		for i := range h.outlinks {
			if h.outlinks[i] = r.bytes(); h.outlinks[i] == nil {
				h.outlinks[i] = []byte{}
			}
		}
	}
	if r.err != nil || r.off != len(raw) {
		return nil, errors.New("bad base heads")
	}
	return h, nil
}

// partLines returns part i (0 request, 1 response head) cut into lines.
func (h *headsParts) partLines(i int) [][]byte {
	if h.lines[i] == nil {
		p := h.req
		if i == 1 {
			p = h.resp
		}
		h.lines[i] = splitLines(p)
	}
	return h.lines[i]
}

// splitLines cuts p after each LF; a last line without one is a line too.
// The lines, joined, are p.
func splitLines(p []byte) [][]byte {
	lines := make([][]byte, 0, bytes.Count(p, []byte{'\n'})+1)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n') + 1
		if i == 0 {
			i = len(p)
		}
		lines = append(lines, p[:i:i])
		p = p[i:]
	}
	return lines
}

// lineName returns a header line's name, to its first ": " included, and
// the value after that without a final LF and then without a final CR; ok
// is false without ": ".
func lineName(line []byte) (name, value []byte, ok bool) {
	i := bytes.Index(line, []byte(": "))
	if i < 0 {
		return nil, nil, false
	}
	value = line[i+2:]
	value = bytes.TrimSuffix(value, []byte{'\n'})
	value = bytes.TrimSuffix(value, []byte{'\r'})
	return line[:i+2], value, true
}

// dateAt renders the capture time at (unix ns), to the second, plus off
// seconds, as a date piece does.
func dateAt(dst []byte, at int64, off int64) []byte {
	t := time.Unix(unixSeconds(at)+off, 0).UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(dst, httpDate)
	}
	// What AppendFormat(httpDate) writes, several times faster: a listing
	// decodes a date for every 304.
	hour, min, sec := t.Clock()
	dst = append(dst, t.Weekday().String()[:3]...)
	dst = append(dst, ',', ' ', byte('0'+day/10), byte('0'+day%10), ' ')
	dst = append(dst, month.String()[:3]...)
	dst = append(dst, ' ', byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), ' ',
		byte('0'+hour/10), byte('0'+hour%10), ':', byte('0'+min/10), byte('0'+min%10), ':',
		byte('0'+sec/10), byte('0'+sec%10))
	return append(dst, " GMT"...)
}

// unixSeconds is the second of the unix time at (ns), rounded down.
func unixSeconds(at int64) int64 {
	sec := at / 1e9
	if at%1e9 < 0 {
		sec--
	}
	return sec
}

// maxDateOffset bounds a date piece's offset (about 35,000 years).
const maxDateOffset = 1 << 40

// deltaEncoder writes the line delta of one capture against one base.
type deltaEncoder struct {
	base *headsParts
	at   int64             // the capture's time (unix ns)
	refs [2]map[string]int // base pieces by the names and values they stand for, for long heads
}

// encodeLineDelta returns the heads part of c as a line delta (tag 3)
// against base, the raw heads (headsRaw) of the self-contained record
// stored under c's SURT and the time baseNanos.
func encodeLineDelta(c *Capture, base []byte, baseNanos int64) ([]byte, error) {
	bh, err := parseHeads(base)
	if err != nil {
		return nil, err
	}
	at := c.Time.UnixNano()
	e := &deltaEncoder{base: bh, at: at}
	b := append(make([]byte, 0, 64), 3)
	b = binary.AppendVarint(b, at-baseNanos)
	var same uint64
	strs := [deltaFields]string{c.IP, c.Parent, c.Anchor, c.Hops, c.WARCRecordID}
	for i, s := range strs {
		if s == string(bh.strs[i]) {
			same |= 1 << i
		}
	}
	if len(c.Outlinks) == 0 {
		same |= deltaNoOutlinks
	}
	b = binary.AppendUvarint(b, same)
	for i, s := range strs {
		if same&(1<<i) == 0 {
			b = appendString(b, s)
		}
	}
	b = e.appendOps(b, splitLines(c.Request), bh.partLines(0), true)
	b = e.appendOps(b, splitLines(c.ResponseHead), bh.partLines(1), true)
	if same&deltaNoOutlinks != 0 {
		return b, nil
	}
	links := make([][]byte, len(c.Outlinks))
	for i, l := range c.Outlinks {
		links[i] = []byte(l)
	}
	return e.appendOps(b, links, bh.outlinks, false), nil
}

// appendOps appends the ops that make target from base's lines. Lines of
// base are copied in runs; a line found nowhere in base is written out,
// composed of pieces when compose is set and that is shorter.
func (e *deltaEncoder) appendOps(b []byte, target, base [][]byte, compose bool) []byte {
	// find returns the first base line equal to line at or after cur, else
	// the first before it, else -1.
	var index map[string][]int // base lines' indexes, ascending, by line
	if len(base)*len(target) > 256 {
		index = make(map[string][]int, len(base))
		for j, l := range base {
			index[string(l)] = append(index[string(l)], j)
		}
	}
	find := func(line []byte, cur int) int {
		if index != nil {
			js := index[string(line)]
			if len(js) == 0 {
				return -1
			}
			if k, _ := slices.BinarySearch(js, cur); k < len(js) {
				return js[k]
			}
			return js[0]
		}
		first := -1
		for j, l := range base {
			if bytes.Equal(l, line) {
				if j >= cur {
					return j
				}
				if first < 0 {
					first = j
				}
			}
		}
		return first
	}
	cur := 0
	for i := 0; i < len(target); {
		j := find(target[i], cur)
		if j < 0 {
			b = e.appendLine(b, target[i], compose)
			i++
			continue
		}
		if j != cur {
			b = binary.AppendUvarint(b, uint64(j)<<2|opJump)
		}
		n := 1
		for i+n < len(target) && j+n < len(base) && bytes.Equal(target[i+n], base[j+n]) {
			n++
		}
		b = binary.AppendUvarint(b, uint64(n)<<2|opCopy)
		i += n
		cur = j + n
	}
	return append(b, 0)
}

// appendLine appends an op that writes line, which base does not hold.
func (e *deltaEncoder) appendLine(b []byte, line []byte, compose bool) []byte {
	if compose && bytes.HasSuffix(line, []byte("\r\n")) {
		n := len(b)
		if out, ok := e.appendComposed(b, line); ok && len(out)-n < len(line) {
			return out
		}
		b = b[:n]
	}
	b = binary.AppendUvarint(b, uint64(len(line))<<2|opLiteral)
	return append(b, line...)
}

// appendComposed appends line, which ends in CRLF, as a composed line: a
// static line, or a header whose name and value are each a static string,
// a reference to the base or a date, or else literal.
func (e *deltaEncoder) appendComposed(b []byte, line []byte) ([]byte, bool) {
	content := line[:len(line)-2]
	if i := staticIndex(content); i >= 0 {
		b = binary.AppendUvarint(b, 1<<2|opComposed)
		return binary.AppendUvarint(b, uint64(i)<<2|pieceStatic), true
	}
	name, value, ok := lineName(line)
	if !ok {
		return b, false
	}
	np := uint64(1)
	if len(value) > 0 {
		np = 2
	}
	b = binary.AppendUvarint(b, np<<2|opComposed)
	if i := staticIndex(name); i >= 0 {
		b = binary.AppendUvarint(b, uint64(i)<<2|pieceStatic)
	} else if ref := e.baseRef(name, 0); ref >= 0 {
		b = binary.AppendUvarint(b, uint64(ref)<<2|pieceBase)
	} else {
		b = binary.AppendUvarint(b, uint64(len(name))<<2|pieceLiteral)
		b = append(b, name...)
	}
	if len(value) == 0 {
		return b, true
	}
	if ref := e.baseRef(value, 1); ref >= 0 {
		return binary.AppendUvarint(b, uint64(ref)<<2|pieceBase), true
	}
	if off, ok := e.dateOffset(value); ok {
		return binary.AppendUvarint(b, zigzag(off)<<2|pieceDate), true
	}
	b = binary.AppendUvarint(b, uint64(len(value))<<2|pieceLiteral)
	return append(b, value...), true
}

// baseRef returns the argument of a base piece naming s as the name (what
// 0) or value (what 1) of a line of the base's request or response head,
// or -1.
func (e *deltaEncoder) baseRef(s []byte, what int) int {
	// The response head first: what a response repeats is mostly there;
	// of equal lines the first wins.
	if n := len(e.base.partLines(0)) + len(e.base.partLines(1)); n <= 64 {
		for part := 1; part >= 0; part-- {
			for i, l := range e.base.partLines(part) {
				if name, value, ok := lineName(l); ok && bytes.Equal([2][]byte{name, value}[what], s) {
					return i<<2 | part<<1 | what
				}
			}
		}
		return -1
	}
	if e.refs[0] == nil {
		for w := range e.refs {
			e.refs[w] = map[string]int{}
		}
		for part := 1; part >= 0; part-- {
			for i, l := range e.base.partLines(part) {
				name, value, ok := lineName(l)
				if !ok {
					continue
				}
				for w, v := range [2][]byte{name, value} {
					if _, dup := e.refs[w][string(v)]; !dup {
						e.refs[w][string(v)] = i<<2 | part<<1 | w
					}
				}
			}
		}
	}
	if ref, ok := e.refs[what][string(s)]; ok {
		return ref
	}
	return -1
}

// dateOffset returns value as a date piece's offset from the capture
// time, if the piece renders back to exactly value.
func (e *deltaEncoder) dateOffset(value []byte) (int64, bool) {
	if len(value) != len(httpDate) {
		return 0, false
	}
	t, err := time.Parse(httpDate, string(value))
	if err != nil {
		return 0, false
	}
	off := t.Unix() - unixSeconds(e.at)
	if off > maxDateOffset || off < -maxDateOffset || !bytes.Equal(dateAt(nil, e.at, off), value) {
		return 0, false
	}
	return off, true
}

func staticIndex(s []byte) int {
	for i, v := range deltaStatic {
		if string(s) == v {
			return i
		}
	}
	return -1
}

func zigzag(v int64) uint64 { return uint64(v<<1) ^ uint64(v>>63) }

func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

// deltaDecoder rebuilds raw heads from line deltas, reusing its buffers.
type deltaDecoder struct {
	base *headsParts
	at   int64
	buf  []byte // the fields being built
	ends []int  // where each outlink ends in buf
}

// decodeLineDelta returns the raw heads (the layout of headsRaw) that data,
// the line delta after its tag and base time, makes from base for a
// capture at time at (unix ns).
func decodeLineDelta(base *headsParts, data []byte, at int64) ([]byte, error) {
	var d deltaDecoder
	return d.decode(base, data, at)
}

func (d *deltaDecoder) decode(base *headsParts, data []byte, at int64) ([]byte, error) {
	d.base, d.at = base, at
	r := reader{b: data}
	same := r.uvarint()
	if same >= deltaNoOutlinks<<1 {
		return nil, errors.New("bad delta field mask")
	}
	var strs [deltaFields][]byte
	for i := range strs {
		if same&(1<<i) != 0 {
			strs[i] = base.strs[i]
		} else {
			strs[i] = r.bytes()
		}
	}
	// The fields are built in one buffer, then copied after their
	// lengths.
	buf, ends := d.buf[:0], d.ends[:0]
	defer func() { d.buf, d.ends = buf[:0], ends[:0] }()
	buf, err := d.applyOps(&r, buf, base.partLines(0), nil)
	if err != nil {
		return nil, err
	}
	nreq := len(buf)
	if buf, err = d.applyOps(&r, buf, base.partLines(1), nil); err != nil {
		return nil, err
	}
	links := len(buf)
	if same&deltaNoOutlinks == 0 {
		if buf, err = d.applyOps(&r, buf, base.outlinks, &ends); err != nil {
			return nil, err
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	if r.off != len(r.b) {
		return nil, errors.New("trailing bytes in delta")
	}
	n := len(buf) + 2*binary.MaxVarintLen64 + len(ends)*3
	for _, s := range strs {
		n += len(s) + 3
	}
	raw := make([]byte, 0, n)
	raw = appendBytes(raw, buf[:nreq])
	raw = appendBytes(raw, buf[nreq:links])
	for _, s := range strs {
		raw = appendBytes(raw, s)
	}
	raw = binary.AppendUvarint(raw, uint64(len(ends)))
	prev := links
	for _, e := range ends {
		raw = appendBytes(raw, buf[prev:e])
		prev = e
	}
	return raw, nil
}

// maxDeltaOut bounds what a line delta may make, so that a damaged record
// fails instead of filling memory.
const maxDeltaOut = 1 << 30

// applyOps reads one part's ops and appends its lines to out; ends, if not
// nil, gets the end offset of each line (outlinks are lines that are kept
// apart). Composed lines are not allowed in a part whose lines are kept
// apart.
func (d *deltaDecoder) applyOps(r *reader, out []byte, base [][]byte, ends *[]int) ([]byte, error) {
	cur := 0
	for {
		x := r.uvarint()
		if r.err != nil {
			return nil, r.err
		}
		n := x >> 2
		switch x & 3 {
		case opCopy:
			if n == 0 {
				return out, nil
			}
			if n > uint64(len(base)-cur) {
				return nil, errors.New("delta copies past the base")
			}
			for _, l := range base[cur : cur+int(n)] {
				out = append(out, l...)
				if ends != nil {
					*ends = append(*ends, len(out))
				}
			}
			cur += int(n)
		case opJump:
			if n > uint64(len(base)) {
				return nil, errors.New("delta jumps past the base")
			}
			cur = int(n)
		case opLiteral:
			if n > uint64(len(r.b)-r.off) {
				return nil, errShort
			}
			out = append(out, r.b[r.off:r.off+int(n)]...)
			r.off += int(n)
			if ends != nil {
				*ends = append(*ends, len(out))
			}
		case opComposed:
			if ends != nil || n == 0 || n > uint64(len(r.b)-r.off) {
				return nil, errors.New("bad composed line")
			}
			for range n {
				var err error
				if out, err = d.piece(r, out); err != nil {
					return nil, err
				}
			}
			out = append(out, '\r', '\n')
		}
		if len(out) > maxDeltaOut {
			return nil, errors.New("delta too large")
		}
	}
}

// piece reads one piece of a composed line and appends what it stands for.
func (d *deltaDecoder) piece(r *reader, out []byte) ([]byte, error) {
	p := r.uvarint()
	if r.err != nil {
		return nil, r.err
	}
	m := p >> 2
	switch p & 3 {
	case pieceLiteral:
		if m > uint64(len(r.b)-r.off) {
			return nil, errShort
		}
		out = append(out, r.b[r.off:r.off+int(m)]...)
		r.off += int(m)
	case pieceStatic:
		if m >= uint64(len(deltaStatic)) {
			return nil, fmt.Errorf("bad static piece %d", m)
		}
		out = append(out, deltaStatic[m]...)
	case pieceBase:
		lines := d.base.partLines(int(m >> 1 & 1))
		i := m >> 2
		if i >= uint64(len(lines)) {
			return nil, errors.New("base piece past the base")
		}
		name, value, ok := lineName(lines[i])
		if !ok {
			return nil, errors.New("base piece names no header")
		}
		if m&1 == 0 {
			out = append(out, name...)
		} else {
			out = append(out, value...)
		}
	case pieceDate:
		off := unzigzag(m)
		if off > maxDateOffset || off < -maxDateOffset {
			return nil, errors.New("bad date piece")
		}
		out = dateAt(out, d.at, off)
	}
	return out, nil
}
