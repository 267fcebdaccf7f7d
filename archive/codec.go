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
// base64. Versions 2 (still read) and 3 (written since) are binary, in two
// parts: a listing part, what a listing needs (Store.CaptureIndex), which
// is always self-contained, and a heads part.
//
// Version 2:
//
//	0x02
//	listing part:
//	  uvarint Status, varint Time - key time (ns), varint Duration,
//	  uvarint Run, varint Depth, uvarint BodyLen,
//	  digest BodyDigest, digest PayloadDigest, bytes RevisitOf,
//	  string Method, MIME, Truncated, Reason, Location,
//	  byte flags (1: Conditional), url URL
//	heads part (tags 0-2 below)
//
// Version 3:
//
//	0x03
//	listing part:
//	  uvarint flags: 1 Conditional, 2 RevisitOf set, 4 empty body,
//	    bits 3-5 (flags>>3&7) url code, 64 Location set,
//	    128 Time is not the key time, 256 Duration < 0,
//	    512 Method is not GET, 1024 Truncated set,
//	    2048 BlockDigest set (since schema 5); no other bit
//	  uvarint status: 0 then varint Status, or i+1 for listStatus[i]
//	  [varint Time - key time (ns)]          if 128
//	  uvarint |Duration|, uvarint Run, varint Depth
//	  [uvarint BodyLen, digest BodyDigest,   unless 4, which stands for
//	   digest PayloadDigest]                 0, sha256Empty and sha1Empty
//	  [digest BlockDigest]                   if 2048
//	  [uvarint n, bytes s]                   if 2: RevisitOf is the first
//	                                         n bytes of the key then s
//	  [code Method]                          if 512, else "GET"
//	  code MIME
//	  [code Truncated]                       if 1024, else ""
//	  code Reason
//	  [string Location]                      if 64
//	  [string URL]                           if url code 0
//	heads part (tags 0, 1 and 3 below)
//
// The heads part is self-contained:
//
//	byte 0 (raw) or 1 (zstd with the built-in dictionary headsDict),
//	uvarint raw length, then the (compressed) raw heads:
//	  bytes Request, bytes ResponseHead, string IP, Parent, Anchor, Hops,
//	  WARCRecordID, uvarint count then strings of Outlinks
//
// or a delta against the raw heads of a base, the record under the same
// SURT and the time given, which must itself be self-contained (never a
// delta: no chains, so a damaged record spoils only its own deltas):
//
//	byte 2 (version 2 only), uvarint base time (ns), uvarint raw length,
//	  then the raw heads as an S2 block whose dictionary is 0x00 and the
//	  base's raw heads
//	byte 3 (line delta, codec_delta.go), varint Time - base time (ns),
//	  uvarint mask: bit i set (i = 0-4) when IP, Parent, Anchor, Hops,
//	    WARCRecordID (in that order) is the base's; each other follows as
//	    a string, in that order; bit 5 set when there are no Outlinks
//	  ops Request (base lines: the base's Request cut after each LF, a
//	    last line without one being a line too),
//	  ops ResponseHead (the same, of its ResponseHead),
//	  [ops Outlinks] unless bit 5 (base lines: the base's Outlinks, one
//	    line each; no composed lines), and nothing after
//
// where ops make a field, a sequence of lines, from base lines with a
// cursor starting at line 0; each op is a uvarint x, with n = x>>2:
//
//	x&3 = 0: n > 0: copy n base lines from the cursor, which moves past
//	         them; n = 0: the field is complete
//	x&3 = 1: move the cursor to base line n (at most the line count)
//	x&3 = 2: a line of the n bytes that follow
//	x&3 = 3: a line of n pieces, then CRLF; a piece is a uvarint p,
//	         with m = p>>2:
//	  p&3 = 0: the m bytes that follow
//	  p&3 = 1: deltaStatic[m]
//	  p&3 = 2: from line m>>2 of the base's Request (m>>1&1 = 0) or
//	           ResponseHead (1): its name, to the first ": " included
//	           (m&1 = 0), or its value, after that, without a final LF
//	           and then without a final CR (m&1 = 1)
//	  p&3 = 3: Time, rounded down to the second, plus the seconds that
//	           zigzag(m) encodes, in the layout httpDate, in UTC
//
// and bytes and string are a uvarint length and the bytes; digest is a tag
// byte (0 empty, 1 "sha256:"/"sha1:" with the raw sum following, 2 a
// uvarint-prefixed string, 3 the digest of empty input); code is a uvarint
// c, 2i+1 for listStrings[i] or 2n for the n bytes that follow; url is 0
// and a string, or 1-4 when the URL is rebuilt exactly from the key's SURT
// with scheme http, https, http + "www.", https + "www." (version 3 keeps
// the code in its flags and the string at the end of the listing).
//
// Commit writes a line delta against the newest self-contained capture of
// the same SURT when it is smaller, which it nearly always is for a
// re-capture: a 304 of a daily re-crawl costs ~35-40 bytes besides its
// key (~70-95), as against ~120 in version 2 and ~1,500 self-contained: its
// request is the base's with If-None-Match and If-Modified-Since, whose
// values are the base's ETag and Last-Modified; its response head keeps
// most of the base's lines, and its Date is the capture time. Captures
// are never deleted, so a base is always there; Verify reports a record
// whose base is missing as undecodable.
const (
	captureVersion2 = 2
	captureVersion3 = 3
)

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
		// Heads are kilobytes: a short window keeps the encoders' history
		// buffers (8 MiB each by default) out of a crawl's live heap.
		zstd.WithLowerEncoderMem(true), zstd.WithWindowSize(1<<18))
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

// headsFor returns the heads part of c's record: a line delta (tag 3)
// against the heads of the newest self-contained capture under the same
// SURT when that is smaller, else self-contained. Successive captures of a
// page (a 304 re-crawl above all) repeat nearly all of their heads.
func (s *Store) headsFor(c *Capture) ([]byte, error) {
	raw := headsRaw(c)
	self, err := packHeads(raw)
	if err != nil || c.Time.IsZero() {
		// Commit sets a zero Time later; a line delta, whose base and
		// dates are relative to Time, cannot be made before.
		return self, err
	}
	baseKey, baseRaw, err := s.deltaBase(c.URL)
	if err != nil || baseKey == nil {
		return self, err
	}
	baseNanos, _, _ := splitCaptureKey(baseKey)
	delta, err := encodeLineDelta(c, baseRaw, baseNanos)
	if err != nil || len(delta) >= len(self) {
		return self, nil // a base that does not parse is no base
	}
	return delta, nil
}

// deltaBase returns the key and raw heads of the newest self-contained
// capture among the maxDeltaBases newest of u's SURT, or nil.
func (s *Store) deltaBase(u string) (key, raw []byte, err error) {
	prefix := append([]byte(surt(u)), 0)
	end := append(append([]byte(nil), prefix...), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
	err = s.view(func(tx *bolt.Tx) error {
		cur := capsOf(tx).Cursor()
		var k, v []byte
		if k, _ = cur.Seek(end); k == nil {
			k, v = cur.Last()
		} else {
			k, v = cur.Prev()
		}
		for n := 0; n < maxDeltaBases && k != nil && bytes.HasPrefix(k, prefix); k, v = cur.Prev() {
			n++
			if r, ok := selfHeadsRaw(v); ok {
				key, raw = clone(k), r
				return nil
			}
		}
		return nil
	})
	return key, raw, err
}

// dictBytes is raw as an s2 dictionary (repeat offset 0 first).
func dictBytes(raw []byte) []byte {
	b := make([]byte, 1, 1+len(raw)+16)
	return append(b, raw...)
}

// selfHeadsRaw returns the uncompressed heads of a version 2 or 3 record
// whose heads are self-contained (not a delta); ok is false for any other
// value.
func selfHeadsRaw(v []byte) ([]byte, bool) {
	p, ok := headsPart(v)
	if !ok || len(p) == 0 || p[0] > 1 {
		return nil, false
	}
	raw, err := (&captureDecoder{}).unpackHeads(nil, p, 0)
	return raw, err == nil
}

// headsPart returns the heads part of a version 2 or 3 record.
func headsPart(v []byte) ([]byte, bool) {
	if len(v) == 0 {
		return nil, false
	}
	r := reader{b: v[1:]}
	switch v[0] {
	case captureVersion2:
		skipListing(&r)
	case captureVersion3:
		readListingV3(&r, new(Capture))
	default:
		return nil, false
	}
	if r.err != nil {
		return nil, false
	}
	return r.rest(), true
}

// Flags of a version 3 listing part.
const (
	flagConditional = 1 << 0
	flagRevisit     = 1 << 1
	flagEmptyBody   = 1 << 2
	flagURLShift    = 3 // bits 3-5: the url code
	flagLocation    = 1 << 6
	flagTime        = 1 << 7
	flagNegDuration = 1 << 8
	flagMethod      = 1 << 9 // Method is not GET
	flagTruncated   = 1 << 10
	flagBlock       = 1 << 11 // BlockDigest set (schema 5)
	flagsKnown      = 1<<12 - 1
)

// listStatus are the status codes a version 3 listing writes in one byte,
// listStrings the strings (Method, MIME, Truncated, Reason) it writes as
// one. Entries may never change or move once written: new ones go at the
// end (the first 64 strings and 127 statuses take one byte).
var (
	listStatus  = [...]int{200, 304, 301, 302, 404, 403, 410, 500, 503, 307, 308, 206, 429, 401, 400, 502, 504, 204, 303, 451}
	listStrings = [...]string{
		"GET", "HEAD", "POST",
		string(ReasonSeed), string(ReasonArticle), string(ReasonNav), string(ReasonSource),
		string(ReasonRequisite), string(ReasonRedirect), string(ReasonRobots), string(ReasonImport),
		TruncLength, TruncTime, TruncDisconnect,
		"text/html", "text/css", "text/plain", "text/javascript", "text/xml",
		"application/javascript", "application/json", "application/xml", "application/xhtml+xml",
		"application/rss+xml", "application/atom+xml", "application/pdf", "application/octet-stream",
		"image/png", "image/jpeg", "image/gif", "image/webp", "image/svg+xml", "image/x-icon",
		"image/vnd.microsoft.icon", "image/avif", "font/woff2", "font/woff", "video/mp4",
	}
)

// encodeCapture returns the record of c (Body left out, its key c.Key) in
// version 3. heads is its heads part (headsFor), or nil to make it
// self-contained here.
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
	at := c.Time.UnixNano()
	if !time.Unix(0, at).Equal(c.Time) {
		return nil, fmt.Errorf("archive: encode capture %s: time %s out of range", c.URL, c.Time)
	}
	code := urlCode(sk, c.URL)
	flags := uint64(code) << flagURLShift
	if c.Conditional {
		flags |= flagConditional
	}
	if len(c.RevisitOf) > 0 {
		flags |= flagRevisit
	}
	empty := c.BodyLen == 0 && c.BodyDigest == sha256Empty && c.PayloadDigest == sha1Empty
	if empty {
		flags |= flagEmptyBody
	}
	if c.Location != "" {
		flags |= flagLocation
	}
	if at != keyNanos {
		flags |= flagTime
	}
	if c.Method != "GET" {
		flags |= flagMethod
	}
	if c.Truncated != "" {
		flags |= flagTruncated
	}
	if c.BlockDigest != "" {
		flags |= flagBlock
	}
	dur := uint64(c.Duration)
	if c.Duration < 0 {
		flags |= flagNegDuration
		dur = -dur
	}
	b := make([]byte, 0, 48+len(c.RevisitOf)+len(c.Location)+len(heads))
	b = append(b, captureVersion3)
	b = binary.AppendUvarint(b, flags)
	if i := indexOf(listStatus[:], c.Status); i >= 0 {
		b = binary.AppendUvarint(b, uint64(i)+1)
	} else {
		b = binary.AppendVarint(append(b, 0), int64(c.Status))
	}
	if flags&flagTime != 0 {
		b = binary.AppendVarint(b, at-keyNanos)
	}
	b = binary.AppendUvarint(b, dur)
	b = binary.AppendUvarint(b, c.Run)
	b = binary.AppendVarint(b, int64(c.Depth))
	if !empty {
		b = binary.AppendUvarint(b, uint64(c.BodyLen))
		b = appendDigest(b, c.BodyDigest, "sha256:", sha256Empty, 32)
		b = appendDigest(b, c.PayloadDigest, "sha1:", sha1Empty, 20)
	}
	if flags&flagBlock != 0 {
		b = appendDigest(b, c.BlockDigest, "sha1:", sha1Empty, 20)
	}
	if flags&flagRevisit != 0 {
		n := 0
		for n < len(c.Key) && n < len(c.RevisitOf) && c.Key[n] == c.RevisitOf[n] {
			n++
		}
		b = binary.AppendUvarint(b, uint64(n))
		b = appendBytes(b, c.RevisitOf[n:])
	}
	if flags&flagMethod != 0 {
		b = appendCode(b, c.Method)
	}
	b = appendCode(b, c.MIME)
	if flags&flagTruncated != 0 {
		b = appendCode(b, c.Truncated)
	}
	b = appendCode(b, string(c.Reason))
	if c.Location != "" {
		b = appendString(b, c.Location)
	}
	if code == 0 {
		b = appendString(b, c.URL)
	}
	return append(b, heads...), nil
}

// appendCode writes s as a code.
func appendCode(b []byte, s string) []byte {
	if i := indexOf(listStrings[:], s); i >= 0 {
		return binary.AppendUvarint(b, uint64(i)<<1|1)
	}
	b = binary.AppendUvarint(b, uint64(len(s))<<1)
	return append(b, s...)
}

func indexOf[T comparable](list []T, v T) int {
	for i, x := range list {
		if x == v {
			return i
		}
	}
	return -1
}

// decodeCapture reads a capture record stored under key, of any version.
// It copies what it keeps, so it is safe on bytes owned by a transaction.
func decodeCapture(caps *captable, key, v []byte) (*Capture, error) {
	return decodeCaptureParts(caps, key, v, true)
}

// captureDecoder decodes the records of one transaction, keeping the last
// delta base it read: the captures of one URL share it.
type captureDecoder struct {
	caps    *captable
	baseKey []byte      // valid for the transaction only
	baseRaw []byte      // the uncompressed heads of baseKey's record
	base    *s2.Dict    // baseRaw as a dictionary, made when a delta needs it
	parts   *headsParts // baseRaw cut into fields, made when a delta needs it
	delta   deltaDecoder

	key []byte // the record being decoded
}

func (d *captureDecoder) decode(key, v []byte, heads bool) (*Capture, error) {
	return decodeCaptureDec(d, key, v, heads)
}

// decodeCaptureParts decodes the record; without heads it leaves Request,
// ResponseHead, IP, Parent, Anchor, Hops, WARCRecordID and Outlinks empty
// (version 2 and 3 records skip decompressing them). caps is the captures
// bucket, where the base of a delta is read.
func decodeCaptureParts(caps *captable, key, v []byte, heads bool) (*Capture, error) {
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
	var c *Capture
	var err error
	switch {
	case len(v) > 0 && v[0] == captureVersion3:
		c, err = decodeCaptureV3(d, key, v[1:], heads)
	case len(v) > 0 && v[0] == captureVersion2:
		c, err = decodeCaptureV2(d, key, v[1:], heads)
	default:
		return nil, fmt.Errorf("archive: decode capture %q: %w: unknown value version", key, ErrCorrupt)
	}
	if err != nil {
		return nil, fmt.Errorf("archive: decode capture %q: %w: %v", key, ErrCorrupt, err)
	}
	return c, nil
}

var errShort = errors.New("record too short")

// listingV3 is what a version 3 listing part holds besides the fields it
// sets directly, aliasing the record.
type listingV3 struct {
	dt        int64 // Time - key time (ns)
	code      byte  // url code
	revShared uint64
	revRest   []byte
	url       []byte // the URL when code is 0
}

// readListingV3 reads a version 3 listing part from r into c, all but
// Time, Key, RevisitOf and URL, which need the key.
func readListingV3(r *reader, c *Capture) listingV3 {
	var l listingV3
	flags := r.uvarint()
	l.code = byte(flags >> flagURLShift & 7)
	if flags&^flagsKnown != 0 || l.code > 4 {
		r.bad("bad listing flags")
		return l
	}
	switch x := r.uvarint(); {
	case x == 0:
		c.Status = int(r.varint())
	case x <= uint64(len(listStatus)):
		c.Status = listStatus[x-1]
	default:
		r.bad("bad status code")
	}
	if flags&flagTime != 0 {
		l.dt = r.varint()
	}
	c.Duration = time.Duration(r.uvarint())
	if flags&flagNegDuration != 0 {
		c.Duration = -c.Duration
	}
	c.Run = r.uvarint()
	c.Depth = int(r.varint())
	if flags&flagEmptyBody != 0 {
		c.BodyLen, c.BodyDigest, c.PayloadDigest = 0, sha256Empty, sha1Empty
	} else {
		c.BodyLen = int64(r.uvarint())
		c.BodyDigest = r.digest("sha256:", sha256Empty, 32)
		c.PayloadDigest = r.digest("sha1:", sha1Empty, 20)
	}
	if flags&flagBlock != 0 {
		c.BlockDigest = r.digest("sha1:", sha1Empty, 20)
	}
	if flags&flagRevisit != 0 {
		l.revShared = r.uvarint()
		l.revRest = r.bytes()
	}
	c.Method = "GET"
	if flags&flagMethod != 0 {
		c.Method = r.code()
	}
	c.MIME = r.code()
	if flags&flagTruncated != 0 {
		c.Truncated = r.code()
	}
	c.Reason = Reason(r.code())
	if flags&flagLocation != 0 {
		c.Location = string(r.bytes())
	}
	if l.code == 0 {
		l.url = r.bytes()
	}
	c.Conditional = flags&flagConditional != 0
	return l
}

func decodeCaptureV3(d *captureDecoder, key, v []byte, heads bool) (*Capture, error) {
	keyNanos, sk, ok := splitCaptureKey(key)
	if !ok {
		return nil, errors.New("bad key")
	}
	c := new(Capture)
	r := reader{b: v}
	l := readListingV3(&r, c)
	if r.err != nil {
		return nil, r.err
	}
	if l.revShared > uint64(len(key)) {
		return nil, errors.New("bad RevisitOf")
	}
	at := keyNanos + l.dt
	c.Time = time.Unix(0, at).UTC()
	// Key and RevisitOf share one allocation.
	nrev := int(l.revShared) + len(l.revRest)
	kb := make([]byte, len(key)+nrev)
	copy(kb, key)
	copy(kb[len(key):], key[:l.revShared])
	copy(kb[len(key)+int(l.revShared):], l.revRest)
	c.Key = kb[:len(key):len(key)]
	if nrev > 0 {
		c.RevisitOf = kb[len(key):]
	}
	if l.code == 0 {
		c.URL = string(l.url)
	} else if c.URL, ok = urlFromSURT(sk, l.code); !ok {
		return nil, errors.New("URL not rebuilt from key")
	}
	if !heads {
		return c, nil
	}
	p := r.rest()
	if len(p) > 0 && p[0] == 2 {
		return nil, errors.New("S2 delta in a version 3 record")
	}
	raw, err := d.unpackHeads(sk, p, at)
	if err != nil {
		return nil, err
	}
	if err := fillHeads(c, raw); err != nil {
		return nil, err
	}
	return c, nil
}

// unpackHeads returns the uncompressed heads part p of a record whose key
// has the SURT sk and whose Time is at (unix ns). A delta's base is read
// from d.caps, or reused.
func (d *captureDecoder) unpackHeads(sk, p []byte, at int64) ([]byte, error) {
	if len(p) < 2 {
		return nil, errShort
	}
	r := reader{b: p[1:]}
	if p[0] == 3 {
		rel := r.varint()
		if r.err != nil {
			return nil, r.err
		}
		if err := d.loadBase(sk, at-rel); err != nil {
			return nil, err
		}
		if d.parts == nil {
			parts, err := parseHeads(d.baseRaw)
			if err != nil {
				return nil, fmt.Errorf("delta base %q: %v", d.baseKey, err)
			}
			d.parts = parts
		}
		return d.delta.decode(d.parts, r.rest(), at)
	}
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
		if err := d.loadBase(sk, int64(baseNanos)); err != nil {
			return nil, err
		}
		if d.base == nil {
			if d.base = s2.NewDict(dictBytes(d.baseRaw)); d.base == nil {
				return nil, fmt.Errorf("delta base %q unusable", d.baseKey)
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
		d.baseKey, d.baseRaw, d.base, d.parts = d.key, raw, nil, nil
	}
	return raw, nil
}

// loadBase makes the self-contained record under the SURT sk and time
// nanos the decoder's base.
func (d *captureDecoder) loadBase(sk []byte, nanos int64) error {
	if n, bsk, ok := splitCaptureKey(d.baseKey); ok && n == nanos && bytes.Equal(bsk, sk) {
		return nil
	}
	bk := captureKey(string(sk), nanos)
	if d.caps == nil {
		return errors.New("delta without its base")
	}
	bv := d.caps.Get(bk)
	if bv == nil {
		return fmt.Errorf("delta base %q missing", bk)
	}
	base, ok := selfHeadsRaw(bv)
	if !ok {
		return fmt.Errorf("delta base %q not self-contained", bk)
	}
	d.baseKey, d.baseRaw, d.base, d.parts = bk, base, nil, nil
	return nil
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

// bad fails r with msg for a field that is there but malformed.
func (r *reader) bad(msg string) {
	if r.err == nil {
		r.err = errors.New(msg)
	}
	r.off = len(r.b)
}

// code reads a code: a string of listStrings, or the bytes that follow.
func (r *reader) code() string {
	x := r.uvarint()
	if x&1 == 1 {
		if x>>1 >= uint64(len(listStrings)) {
			r.bad("bad string code")
			return ""
		}
		return listStrings[x>>1]
	}
	if x>>1 > uint64(len(r.b)-r.off) {
		r.fail()
		return ""
	}
	s := string(r.b[r.off : r.off+int(x>>1)])
	r.off += int(x >> 1)
	return s
}
