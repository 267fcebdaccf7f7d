package archive

import (
	"bytes"
	"encoding/base32"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	bolt "go.etcd.io/bbolt"
)

// valueVersion is the first byte of every JSON value in the store, so that
// the encoding can change (to a compact binary, say) without a new file.
const valueVersion = 1

// encode returns valueVersion followed by the JSON of v.
func encode(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("archive: encode %T: %w", v, err)
	}
	return append([]byte{valueVersion}, b...), nil
}

// decode reads a value written by encode. It copies as it parses, so it is
// safe on bytes owned by a transaction.
func decode(b []byte, v any) error {
	if len(b) == 0 || b[0] != valueVersion {
		return fmt.Errorf("archive: decode %T: %w: unknown value version", v, ErrCorrupt)
	}
	if err := json.Unmarshal(b[1:], v); err != nil {
		return fmt.Errorf("archive: decode %T: %w: %v", v, ErrCorrupt, err)
	}
	return nil
}

// Seen states: what happened to a URL once it was queued in a run.
const (
	stateQueued = "queued"
	stateDone   = "done"
)

// seenRecord is the value in a run's seen bucket.
type seenRecord struct {
	State  string
	Reason Reason
	Parent string `json:",omitempty"`
	Anchor string `json:",omitempty"`
	Hops   string `json:",omitempty"`
	Seq    uint64
	Time   int64 // unix nanoseconds when queued
}

// Capture records.
//
// Version 1 (still read) is the JSON of Capture, Request and ResponseHead in
// base64. Version 2, written since, is binary, in two parts:
//
//	0x02
//	listing part, raw: what a listing needs (Store.CaptureIndex)
//	  uvarint Status, varint Time - key time (ns), varint Duration,
//	  uvarint Run, varint Depth, uvarint BodyLen,
//	  digest BodyDigest, digest PayloadDigest, bytes RevisitOf,
//	  string Method, MIME, Truncated, Reason, Location,
//	  byte flags (1: Conditional), url URL
//	heads part: byte 0 (raw) or 1 (zstd with the built-in dictionary),
//	  uvarint raw length, then the (compressed) bytes of
//	  bytes Request, bytes ResponseHead, string IP, Parent, Anchor, Hops,
//	  WARCRecordID, uvarint count then strings of Outlinks;
//	  or byte 2 (delta), uvarint base time (ns), uvarint raw length, then
//	  those bytes as an S2 block whose dictionary is the raw heads of the
//	  base: the capture under the same SURT and that time, itself 0 or 1
//	  (never a delta, so no chains)
//
// where bytes and string are a uvarint length and the bytes; digest is a
// tag byte (0 empty, 1 "sha256:"/"sha1:" with the raw sum following, 2 a
// uvarint-prefixed string, 3 the digest of empty input) and url is 0 and a
// string, or 1-4 when the URL is rebuilt exactly from the key's SURT with
// scheme http, https, http + "www.", https + "www.".
//
// Commit writes a delta against the newest self-contained capture of the
// same SURT when it is smaller, which it nearly always is for a re-capture:
// a 304 of a daily re-crawl costs ~130 bytes (key ~70) instead of ~1,500.
// Captures are never deleted, so a base is always there; Verify reports a
// record whose base is missing as undecodable.
const captureVersion2 = 2

// headsDictID names headsDict in zstd frames. The dictionary's bytes may
// never change once written: a new dictionary needs a new ID (and both kept).
const headsDictID = 0xa3b0_0001

// headsDict is a raw zstd dictionary: text common to HTTP request and
// response heads and capture fields, most frequent last.
const headsDict = "" +
	"HTTP/1.0 200 OK\r\nHTTP/1.1 301 Moved Permanently\r\nHTTP/1.1 302 Found\r\nHTTP/1.1 404 Not Found\r\n" +
	"Cache-Control: max-age=0, no-cache, no-store, must-revalidate, private, public\r\n" +
	"Content-Security-Policy: \r\nStrict-Transport-Security: max-age=31536000; includeSubDomains\r\n" +
	"X-Frame-Options: SAMEORIGIN\r\nX-Content-Type-Options: nosniff\r\nX-XSS-Protection: 1; mode=block\r\n" +
	"Access-Control-Allow-Origin: *\r\nAccept-Ranges: bytes\r\nAge: 0\r\nVia: 1.1 varnish\r\nX-Cache: HIT, MISS\r\n" +
	"Set-Cookie: ; path=/; HttpOnly; Secure; SameSite=Lax\r\nExpires: Thu, 01 Jan 1970 00:00:00 GMT\r\n" +
	"Pragma: no-cache\r\nKeep-Alive: timeout=5, max=100\r\nContent-Type: image/png\r\nContent-Type: image/jpeg\r\n" +
	"Content-Type: text/css\r\nContent-Type: application/javascript\r\nContent-Type: text/plain; charset=utf-8\r\n" +
	"Content-Type: application/json; charset=utf-8\r\nContent-Type: text/html; charset=utf-8\r\n" +
	"Location: https://www.\r\nLink: <>; rel=\"https://api.w.org/\"\r\nServer: nginx\r\nServer: cloudflare\r\n" +
	"Server: Apache/2.4.18 (Ubuntu)\r\nx-powered-by: PHP/5.6.40\r\nX-Powered-By: PHP/7.4\r\n" +
	"Content-Encoding: gzip\r\nContent-Length: 1\r\nContent-Type: text/html; charset=UTF-8\r\n" +
	"Transfer-Encoding: chunked\r\nVary: Accept-Encoding\r\nConnection: keep-alive\r\n" +
	"GET /robots.txt HTTP/1.1\r\nHost: www.\r\nUser-Agent: amber/0.1.0 (+mailto:\r\n" +
	"Accept: */*\r\nAccept-Language: en\r\nReferer: https://\r\n" +
	"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n" +
	"Accept-Encoding: gzip, deflate\r\nConnection: close\r\n\r\n" +
	"If-None-Match: \"\r\nIf-Modified-Since: Mon, Tue, Wed, Thu, Fri, Sat, Sun, Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec 20" +
	"HTTP/1.1 304 Not Modified\r\nDate: \r\nEtag: \"-gzip\"\r\nETag: W/\"\r\nLast-Modified: \r\n" +
	"127.0.0.1http://https://www./index.html/20" +
	"HTTP/1.1 200 OK\r\nGET / HTTP/1.1\r\nHost: "

// sha256Empty and sha1Empty are the digests of empty bodies and payloads:
// every 304 and redirect has them.
var (
	sha256Empty = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	sha1Empty   = "sha1:3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ"
)

// recordCodec compresses the heads part of capture records. It holds no
// state beyond the dictionary: encoders and decoders are pools safe for
// concurrent EncodeAll and DecodeAll.
type recordCodec struct {
	enc *zstd.Encoder
	dec *zstd.Decoder
}

// records returns the shared record codec, built on first use.
var records = sync.OnceValues(func() (*recordCodec, error) {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest),
		zstd.WithEncoderDictRaw(headsDictID, []byte(headsDict)), zstd.WithEncoderCRC(false),
		zstd.WithLowerEncoderMem(true))
	if err != nil {
		return nil, fmt.Errorf("archive: record encoder: %w", err)
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderDictRaw(headsDictID, []byte(headsDict)),
		zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(1<<30))
	if err != nil {
		return nil, fmt.Errorf("archive: record decoder: %w", err)
	}
	return &recordCodec{enc: enc, dec: dec}, nil
})

// headsRaw returns the heads part of c's record, uncompressed: the fields
// the store never changes, so Commit can encode them in the caller's
// goroutine.
func headsRaw(c *Capture) []byte {
	n := len(c.Request) + len(c.ResponseHead) + len(c.IP) + len(c.Parent) + len(c.Anchor) + len(c.Hops) + len(c.WARCRecordID) + 8*10
	for _, l := range c.Outlinks {
		n += len(l) + 3
	}
	raw := make([]byte, 0, n)
	raw = appendBytes(raw, c.Request)
	raw = appendBytes(raw, c.ResponseHead)
	for _, s := range []string{c.IP, c.Parent, c.Anchor, c.Hops, c.WARCRecordID} {
		raw = appendString(raw, s)
	}
	raw = binary.AppendUvarint(raw, uint64(len(c.Outlinks)))
	for _, l := range c.Outlinks {
		raw = appendString(raw, l)
	}
	return raw
}

// encodeHeads returns the self-contained heads part of c's record (tag 0
// or 1).
func encodeHeads(c *Capture) ([]byte, error) {
	return packHeads(headsRaw(c))
}

func packHeads(raw []byte) ([]byte, error) {
	rc, err := records()
	if err != nil {
		return nil, err
	}
	out := binary.AppendUvarint([]byte{1}, uint64(len(raw)))
	if z := rc.enc.EncodeAll(raw, out); len(z)-len(out) < len(raw) {
		return z, nil
	}
	out = binary.AppendUvarint([]byte{0}, uint64(len(raw)))
	return append(out, raw...), nil
}

// maxDeltaBases is how many of a URL's newest captures are tried as the
// base of a delta, newest first.
const maxDeltaBases = 4

// headsFor returns the heads part of c's record: a delta (tag 2) against
// the heads of the newest earlier self-contained capture under the same
// SURT when that is smaller, else self-contained. Successive captures of a
// page (a 304 re-crawl above all) repeat nearly all of their heads.
func (s *Store) headsFor(c *Capture) ([]byte, error) {
	raw := headsRaw(c)
	self, err := packHeads(raw)
	if err != nil {
		return nil, err
	}
	var baseKey, baseRaw []byte
	prefix := append([]byte(surt(c.URL)), 0)
	end := append(append([]byte(nil), prefix...), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
	err = s.view(func(tx *bolt.Tx) error {
		cur := tx.Bucket(bucketCaptures).Cursor()
		var k, v []byte
		if k, _ = cur.Seek(end); k == nil {
			k, v = cur.Last()
		} else {
			k, v = cur.Prev()
		}
		for n := 0; n < maxDeltaBases && k != nil && bytes.HasPrefix(k, prefix); k, v = cur.Prev() {
			n++
			if r, ok := selfHeadsRaw(v); ok && len(r) >= s2.MinDictSize && len(r) <= s2.MaxDictSize {
				baseKey, baseRaw = clone(k), r
				return nil
			}
		}
		return nil
	})
	if err != nil || baseKey == nil {
		return self, err
	}
	baseNanos, _, _ := splitCaptureKey(baseKey)
	d := s2.NewDict(dictBytes(baseRaw))
	if d == nil {
		return self, nil
	}
	delta := binary.AppendUvarint(binary.AppendUvarint([]byte{2}, uint64(baseNanos)), uint64(len(raw)))
	delta = append(delta, d.Encode(nil, raw)...)
	if len(delta) < len(self) {
		return delta, nil
	}
	return self, nil
}

// dictBytes is raw as an s2 dictionary (repeat offset 0 first).
func dictBytes(raw []byte) []byte {
	b := make([]byte, 1, 1+len(raw)+16)
	return append(b, raw...)
}

// selfHeadsRaw returns the uncompressed heads of a version 2 record whose
// heads are self-contained (not a delta); ok is false for any other value.
func selfHeadsRaw(v []byte) ([]byte, bool) {
	if len(v) == 0 || v[0] != captureVersion2 {
		return nil, false
	}
	r := reader{b: v[1:]}
	skipListing(&r)
	if r.err != nil {
		return nil, false
	}
	p := r.rest()
	if len(p) == 0 || p[0] > 1 {
		return nil, false
	}
	raw, err := (&captureDecoder{}).unpackHeads(nil, p)
	return raw, err == nil
}

// encodeCapture returns the record of c (Body left out, its key c.Key) in
// version 2. heads is encodeHeads(c), or nil to compute it here.
func encodeCapture(c *Capture, heads []byte) ([]byte, error) {
	if heads == nil {
		var err error
		if heads, err = encodeHeads(c); err != nil {
			return nil, err
		}
	}
	keyNanos, sk, ok := splitCaptureKey(c.Key)
	if !ok {
		return nil, fmt.Errorf("archive: encode capture %s: bad key %q", c.URL, c.Key)
	}
	b := make([]byte, 0, 96+len(c.RevisitOf)+len(c.Location)+len(heads))
	b = append(b, captureVersion2)
	b = binary.AppendUvarint(b, uint64(c.Status))
	b = binary.AppendVarint(b, c.Time.UnixNano()-keyNanos)
	if !time.Unix(0, c.Time.UnixNano()).Equal(c.Time) {
		return nil, fmt.Errorf("archive: encode capture %s: time %s out of range", c.URL, c.Time)
	}
	b = binary.AppendVarint(b, int64(c.Duration))
	b = binary.AppendUvarint(b, c.Run)
	b = binary.AppendVarint(b, int64(c.Depth))
	b = binary.AppendUvarint(b, uint64(c.BodyLen))
	b = appendDigest(b, c.BodyDigest, "sha256:", sha256Empty, 32)
	b = appendDigest(b, c.PayloadDigest, "sha1:", sha1Empty, 20)
	b = appendBytes(b, c.RevisitOf)
	for _, s := range []string{c.Method, c.MIME, c.Truncated, string(c.Reason), c.Location} {
		b = appendString(b, s)
	}
	var flags byte
	if c.Conditional {
		flags |= 1
	}
	b = append(b, flags)
	if code := urlCode(sk, c.URL); code != 0 {
		b = append(b, code)
	} else {
		b = append(b, 0)
		b = appendString(b, c.URL)
	}
	return append(b, heads...), nil
}

// decodeCapture reads a capture record stored under key, of either
// version. It copies what it keeps, so it is safe on bytes owned by a
// transaction.
func decodeCapture(caps *bolt.Bucket, key, v []byte) (*Capture, error) {
	return decodeCaptureParts(caps, key, v, true)
}

// captureDecoder decodes the records of one transaction, keeping the last
// delta base it read: the captures of one URL share it.
type captureDecoder struct {
	caps    *bolt.Bucket
	baseKey []byte   // valid for the transaction only
	baseRaw []byte   // the uncompressed heads of baseKey's record
	base    *s2.Dict // baseRaw as a dictionary, made when a delta needs it

	key []byte // the record being decoded
}

func (d *captureDecoder) decode(key, v []byte, heads bool) (*Capture, error) {
	return decodeCaptureDec(d, key, v, heads)
}

// decodeCaptureParts decodes the record; without heads it leaves Request,
// ResponseHead, IP, Parent, Anchor, Hops, WARCRecordID and Outlinks empty
// (version 2 records skip decompressing them). caps is the captures bucket,
// where the base of a delta is read.
func decodeCaptureParts(caps *bolt.Bucket, key, v []byte, heads bool) (*Capture, error) {
	return decodeCaptureDec(&captureDecoder{caps: caps}, key, v, heads)
}

func decodeCaptureDec(d *captureDecoder, key, v []byte, heads bool) (*Capture, error) {
	d.key = key
	if len(v) > 0 && v[0] == valueVersion {
		c := new(Capture)
		if err := decode(v, c); err != nil {
			return nil, err
		}
		c.Key = clone(key)
		if !heads {
			c.Request, c.ResponseHead, c.IP, c.Parent, c.Anchor, c.Hops, c.WARCRecordID, c.Outlinks = nil, nil, "", "", "", "", "", nil
		}
		return c, nil
	}
	if len(v) == 0 || v[0] != captureVersion2 {
		return nil, fmt.Errorf("archive: decode capture %q: %w: unknown value version", key, ErrCorrupt)
	}
	c, err := decodeCaptureV2(d, key, v[1:], heads)
	if err != nil {
		return nil, fmt.Errorf("archive: decode capture %q: %w: %v", key, ErrCorrupt, err)
	}
	return c, nil
}

var errShort = errors.New("record too short")

func decodeCaptureV2(d *captureDecoder, key, v []byte, heads bool) (*Capture, error) {
	keyNanos, sk, ok := splitCaptureKey(key)
	if !ok {
		return nil, errors.New("bad key")
	}
	// The listing part's strings are cut from one string; key and
	// RevisitOf from one byte slice.
	r := reader{b: v}
	status := r.uvarint()
	dt := r.varint()
	dur := r.varint()
	run := r.uvarint()
	depth := r.varint()
	bodyLen := r.uvarint()
	bd := r.digest("sha256:", sha256Empty, 32)
	pd := r.digest("sha1:", sha1Empty, 20)
	revisit := r.bytes()
	var strs [5]string
	for i := range strs {
		strs[i] = internString(r.bytes())
	}
	flags := r.byte()
	code := r.byte()
	var urlLit []byte
	if code == 0 {
		urlLit = r.bytes()
	}
	if r.err != nil {
		return nil, r.err
	}
	c := &Capture{
		Status: int(status), Time: time.Unix(0, keyNanos+dt).UTC(), Duration: time.Duration(dur),
		Run: run, Depth: int(depth), BodyLen: int64(bodyLen), BodyDigest: bd, PayloadDigest: pd,
		Conditional: flags&1 != 0,
		Method:      strs[0], MIME: strs[1], Truncated: strs[2], Reason: Reason(strs[3]), Location: strs[4],
	}
	// Key and RevisitOf share one allocation.
	kb := make([]byte, len(key)+len(revisit))
	copy(kb, key)
	copy(kb[len(key):], revisit)
	c.Key = kb[:len(key):len(key)]
	if revisit != nil {
		c.RevisitOf = kb[len(key):]
	}
	switch {
	case code == 0:
		c.URL = string(urlLit)
	case code <= 4:
		u, ok := urlFromSURT(sk, code)
		if !ok {
			return nil, errors.New("URL not rebuilt from key")
		}
		c.URL = u
	default:
		return nil, fmt.Errorf("bad URL code %d", code)
	}
	if !heads {
		return c, nil
	}
	raw, err := d.unpackHeads(sk, r.rest())
	if err != nil {
		return nil, err
	}
	if err := fillHeads(c, raw); err != nil {
		return nil, err
	}
	return c, nil
}

// skipListing reads past the listing part of a version 2 record.
func skipListing(r *reader) {
	r.uvarint()
	r.varint()
	r.varint()
	r.uvarint()
	r.varint()
	r.uvarint()
	r.digest("sha256:", sha256Empty, 32)
	r.digest("sha1:", sha1Empty, 20)
	for range 6 { // RevisitOf, Method, MIME, Truncated, Reason, Location
		r.bytes()
	}
	r.byte()
	if r.byte() == 0 {
		r.bytes()
	}
}

// unpackHeads returns the uncompressed heads part p of a record whose key
// has the SURT sk. A delta's base is read from d.caps, or reused.
func (d *captureDecoder) unpackHeads(sk, p []byte) ([]byte, error) {
	if len(p) < 2 {
		return nil, errShort
	}
	r := reader{b: p[1:]}
	var baseNanos uint64
	if p[0] == 2 {
		baseNanos = r.uvarint()
	}
	n := r.uvarint()
	if r.err != nil || n > 1<<30 {
		return nil, errors.New("bad heads length")
	}
	data := r.rest()
	var raw []byte
	switch p[0] {
	case 0:
		raw = clone(data)
	case 1:
		rc, err := records()
		if err != nil {
			return nil, err
		}
		var dst []byte
		if n <= uint64(64*len(data)+4096) { // a plausible size: allocate it once
			dst = make([]byte, 0, n)
		}
		if raw, err = rc.dec.DecodeAll(data, dst); err != nil {
			return nil, err
		}
	case 2:
		bk := captureKey(string(sk), int64(baseNanos))
		if !bytes.Equal(d.baseKey, bk) {
			if d.caps == nil {
				return nil, errors.New("delta without its base")
			}
			bv := d.caps.Get(bk)
			if bv == nil {
				return nil, fmt.Errorf("delta base %q missing", bk)
			}
			base, ok := selfHeadsRaw(bv)
			if !ok {
				return nil, fmt.Errorf("delta base %q not self-contained", bk)
			}
			d.baseKey, d.baseRaw, d.base = bk, base, nil
		}
		if d.base == nil {
			if d.base = s2.NewDict(dictBytes(d.baseRaw)); d.base == nil {
				return nil, fmt.Errorf("delta base %q unusable", bk)
			}
		}
		dl, err := s2.DecodedLen(data)
		if err != nil || uint64(dl) != n {
			return nil, errors.New("bad delta length")
		}
		if raw, err = d.base.Decode(make([]byte, 0, n), data); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("bad heads tag %d", p[0])
	}
	if uint64(len(raw)) != n {
		return nil, errors.New("heads length mismatch")
	}
	if p[0] != 2 && d.key != nil {
		// The next records of the same URL are likely deltas against this.
		d.baseKey, d.baseRaw, d.base = d.key, raw, nil
	}
	return raw, nil
}

// fillHeads sets the heads part's fields of c from raw, which it keeps.
func fillHeads(c *Capture, raw []byte) error {
	r := reader{b: raw}
	req := r.bytes()
	head := r.bytes()
	// raw is ours: Request and ResponseHead share it, capped so that an
	// append to one never writes into the other.
	c.Request = req[:len(req):len(req)]
	c.ResponseHead = head[:len(head):len(head)]
	if len(req) == 0 {
		c.Request = nil
	}
	if len(head) == 0 {
		c.ResponseHead = nil
	}
	strOff := r.off
	for range 5 {
		r.bytes()
	}
	nl := r.uvarint()
	if r.err != nil {
		return r.err
	}
	if nl > uint64(len(raw)) {
		return errors.New("bad outlink count")
	}
	// One string holds every string field; the fields are cut from it.
	all := string(raw[strOff:])
	sr := reader{b: raw[strOff:]}
	cut := func() string {
		n := len(sr.bytes())
		return all[sr.off-n : sr.off]
	}
	c.IP, c.Parent, c.Anchor, c.Hops, c.WARCRecordID = cut(), cut(), cut(), cut(), cut()
	sr.uvarint()
	if nl > 0 {
		c.Outlinks = make([]string, nl)
		for i := range c.Outlinks {
			c.Outlinks[i] = cut()
		}
	}
	if sr.err != nil {
		return sr.err
	}
	if sr.off != len(sr.b) {
		return errors.New("trailing bytes in heads")
	}
	return nil
}

// internString returns common short strings without allocating.
func internString(b []byte) string {
	switch string(b) {
	case "":
		return ""
	case "GET":
		return "GET"
	case "text/html":
		return "text/html"
	case "article":
		return "article"
	case "requisite":
		return "requisite"
	case "source":
		return "source"
	case "nav":
		return "nav"
	case "seed":
		return "seed"
	case "robots":
		return "robots"
	case "text/plain":
		return "text/plain"
	case "text/css":
		return "text/css"
	case "image/png":
		return "image/png"
	}
	return string(b)
}

// splitCaptureKey returns the time and SURT of a capture key.
func splitCaptureKey(key []byte) (nanos int64, sk []byte, ok bool) {
	if len(key) < 9 || key[len(key)-9] != 0 {
		return 0, nil, false
	}
	return int64(binary.BigEndian.Uint64(key[len(key)-8:])), key[:len(key)-9], true
}

// urlCode returns the code (1-4) under which urlFromSURT rebuilds u from
// the SURT sk exactly, or 0.
func urlCode(sk []byte, u string) byte {
	var code byte
	switch {
	case strings.HasPrefix(u, "http://"):
		code = 1
	case strings.HasPrefix(u, "https://"):
		code = 2
	default:
		return 0
	}
	if strings.HasPrefix(u[strings.Index(u, "://")+3:], "www.") {
		code += 2
	}
	if r, ok := urlFromSURT(sk, code); ok && r == u {
		return code
	}
	return 0
}

// urlFromSURT rebuilds a URL from a capture key's SURT ("com,example:8080)/a?b")
// with the scheme and "www." that code says (see urlCode).
func urlFromSURT(sk []byte, code byte) (string, bool) {
	i := bytes.IndexByte(sk, ')')
	if i < 0 || code < 1 || code > 4 {
		return "", false
	}
	host, rest := string(sk[:i]), sk[i+1:]
	var b strings.Builder
	b.Grow(len(sk) + 12)
	if code%2 == 1 {
		b.WriteString("http://")
	} else {
		b.WriteString("https://")
	}
	if code > 2 {
		b.WriteString("www.")
	}
	if strings.HasPrefix(host, "[") {
		b.WriteString(host)
	} else {
		port := ""
		if j := strings.LastIndexByte(host, ':'); j >= 0 {
			host, port = host[:j], host[j:]
		}
		for j := len(host); j >= 0; {
			k := strings.LastIndexByte(host[:j], ',')
			b.WriteString(host[k+1 : j])
			if k >= 0 {
				b.WriteByte('.')
			}
			j = k
		}
		b.WriteString(port)
	}
	b.Write(rest)
	return b.String(), true
}

func appendBytes(b, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendDigest writes a digest: 0 empty, 3 the empty-input digest, 1 the
// raw sum of prefix + base16 (sha256) or base32 (sha1), 2 a literal string.
func appendDigest(b []byte, d, prefix, empty string, size int) []byte {
	switch {
	case d == "":
		return append(b, 0)
	case d == empty:
		return append(b, 3)
	}
	if rest, ok := strings.CutPrefix(d, prefix); ok {
		var sum []byte
		var err error
		if size == 32 {
			sum, err = hex.DecodeString(rest)
			if err == nil && hex.EncodeToString(sum) != rest {
				err = errors.New("not canonical")
			}
		} else {
			sum, err = base32.StdEncoding.DecodeString(rest)
			if err == nil && base32.StdEncoding.EncodeToString(sum) != rest {
				err = errors.New("not canonical")
			}
		}
		if err == nil && len(sum) == size {
			b = append(b, 1)
			return append(b, sum...)
		}
	}
	b = append(b, 2)
	return appendString(b, d)
}

// reader reads the fields of a record; the first error sticks.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) fail() {
	if r.err == nil {
		r.err = errShort
	}
	r.off = len(r.b)
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		r.fail()
		return 0
	}
	r.off += n
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b[r.off:])
	if n <= 0 {
		r.fail()
		return 0
	}
	r.off += n
	return v
}

func (r *reader) byte() byte {
	if r.off >= len(r.b) {
		r.fail()
		return 0
	}
	r.off++
	return r.b[r.off-1]
}

// bytes returns the next length-prefixed field, aliasing r.b (nil when
// empty).
func (r *reader) bytes() []byte {
	n := r.uvarint()
	if n > uint64(len(r.b)-r.off) {
		r.fail()
		return nil
	}
	if n == 0 {
		return nil
	}
	v := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return v
}

func (r *reader) rest() []byte { return r.b[r.off:] }

func (r *reader) digest(prefix, empty string, size int) string {
	switch r.byte() {
	case 0:
		return ""
	case 3:
		return empty
	case 1:
		if len(r.b)-r.off < size {
			r.fail()
			return ""
		}
		sum := r.b[r.off : r.off+size]
		r.off += size
		if size == 32 {
			return prefix + hex.EncodeToString(sum)
		}
		return prefix + base32.StdEncoding.EncodeToString(sum)
	case 2:
		return string(r.bytes())
	}
	if r.err == nil {
		r.err = errors.New("bad digest tag")
	}
	return ""
}
