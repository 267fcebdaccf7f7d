package warc

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
)

// BlockDigest returns the WARC convention digest of b: "sha1:" followed by
// the uppercase Base32 SHA-1.
func BlockDigest(b []byte) string {
	sum := sha1.Sum(b)
	// A SHA-1 sum is 160 bits, exactly 32 Base32 digits: no padding. One
	// buffer makes the label and digits a single allocation.
	var out [len("sha1:") + 32]byte
	copy(out[:], "sha1:")
	base32.StdEncoding.Encode(out[len("sha1:"):], sum[:])
	return string(out[:])
}

// PayloadDigest returns the payload digest of an HTTP message block: SHA-1
// over the entity body with transfer coding removed and content coding kept.
func PayloadDigest(httpBlock []byte) (string, error) {
	body, err := HTTPPayload(httpBlock)
	if err != nil {
		return "", err
	}
	return BlockDigest(body), nil
}

// HTTPPayload returns the entity body of an HTTP message block, de-chunked
// when its head says `Transfer-Encoding: chunked`.
func HTTPPayload(httpBlock []byte) ([]byte, error) {
	head, body := SplitHTTP(httpBlock)
	h, err := ParseHTTPHead(head)
	if err != nil {
		return nil, err
	}
	if h.Chunked() {
		return Dechunk(body)
	}
	return body, nil
}

// SplitHTTP splits an HTTP message into its head (start line and header
// fields, including the blank line that ends them) and body. A block
// without a blank line is all head.
func SplitHTTP(block []byte) (head, body []byte) {
	if i := bytes.Index(block, []byte("\r\n\r\n")); i >= 0 {
		if j := bytes.Index(block[:i], []byte("\n\n")); j >= 0 {
			return block[:j+2], block[j+2:]
		}
		return block[:i+4], block[i+4:]
	}
	if j := bytes.Index(block, []byte("\n\n")); j >= 0 {
		return block[:j+2], block[j+2:]
	}
	return block, nil
}

// Dechunk removes HTTP/1.1 chunked transfer coding. Chunk extensions and
// trailers are dropped. A body cut short returns what was decoded with an
// error wrapping [ErrTruncated].
func Dechunk(b []byte) ([]byte, error) {
	var out []byte
	for {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return out, fmt.Errorf("warc: dechunk: missing chunk size: %w", ErrTruncated)
		}
		line := strings.TrimSpace(string(b[:i]))
		b = b[i+1:]
		if j := strings.IndexByte(line, ';'); j >= 0 {
			line = strings.TrimSpace(line[:j])
		}
		if line == "" {
			// Tolerate a stray blank line between chunks.
			continue
		}
		n, err := strconv.ParseUint(line, 16, 63)
		if err != nil {
			return out, fmt.Errorf("warc: dechunk: bad chunk size %q", line)
		}
		if n == 0 {
			return out, nil
		}
		if uint64(len(b)) < n {
			out = append(out, b...)
			return out, fmt.Errorf("warc: dechunk: chunk of %d bytes cut short: %w", n, ErrTruncated)
		}
		out = append(out, b[:n]...)
		b = b[n:]
		switch {
		case bytes.HasPrefix(b, []byte("\r\n")):
			b = b[2:]
		case bytes.HasPrefix(b, []byte("\n")):
			b = b[1:]
		}
	}
}

// HTTPHead is a parsed HTTP/1.x message head (request or response).
type HTTPHead struct {
	// Proto is "HTTP/1.1" and the like.
	Proto string
	// Method and Target are set for requests.
	Method, Target string
	// Status and Reason are set for responses; Status is 0 otherwise.
	Status int
	Reason string
	// Fields are the header fields in order, with their case.
	Fields Header
}

// ContentType returns the media type of the Content-Type field, lowercased
// and without parameters ("text/html" for "text/html; charset=utf-8").
func (h HTTPHead) ContentType() string {
	v := h.Fields.Get("Content-Type")
	if i := strings.IndexAny(v, "; "); i >= 0 {
		v = v[:i]
	}
	return strings.ToLower(strings.TrimSpace(v))
}

// Location returns the Location field (redirect target), or "".
func (h HTTPHead) Location() string { return strings.TrimSpace(h.Fields.Get("Location")) }

// Chunked reports whether the message uses chunked transfer coding.
func (h HTTPHead) Chunked() bool {
	for _, f := range h.Fields {
		if !strings.EqualFold(f.Name, "Transfer-Encoding") {
			continue
		}
		for v := f.Value; v != ""; {
			var c string
			c, v, _ = strings.Cut(v, ",")
			if strings.EqualFold(strings.TrimSpace(c), "chunked") {
				return true
			}
		}
	}
	return false
}

// ParseHTTPHead parses the head of an HTTP/1.x request or response as
// returned by [SplitHTTP].
func ParseHTTPHead(head []byte) (HTTPHead, error) {
	var h HTTPHead
	head, _ = SplitHTTP(head) // a whole message may be passed; parse its head only
	// One string for the whole head: every name and value is a substring
	// of it, so a head costs two allocations, not a few per line.
	s := string(head)
	line, rest, _ := strings.Cut(s, "\n")
	if strings.TrimSpace(line) == "" {
		return h, errors.New("warc: empty http head")
	}
	// Trimming every trailing CR also covers CRLF line ends.
	start := strings.TrimRight(line, "\r")
	parts := strings.SplitN(start, " ", 3)
	switch {
	case strings.HasPrefix(start, "HTTP/"):
		h.Proto = parts[0]
		if len(parts) < 2 {
			return h, fmt.Errorf("warc: bad http status line %q", start)
		}
		code, err := strconv.Atoi(parts[1])
		if err != nil || code < 100 || code > 999 {
			return h, fmt.Errorf("warc: bad http status line %q", start)
		}
		h.Status = code
		if len(parts) == 3 {
			h.Reason = parts[2]
		}
	case len(parts) == 3 && strings.HasPrefix(parts[2], "HTTP/"):
		h.Method, h.Target, h.Proto = parts[0], parts[1], parts[2]
	default:
		return h, fmt.Errorf("warc: bad http start line %q", start)
	}
	for more := true; more; {
		line, rest, more = strings.Cut(rest, "\n")
		line = strings.TrimRight(line, "\r")
		if line == "" {
			break
		}
		if (line[0] == ' ' || line[0] == '\t') && len(h.Fields) > 0 {
			h.Fields[len(h.Fields)-1].Value += " " + strings.TrimSpace(line)
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		if h.Fields == nil {
			h.Fields = make(Header, 0, strings.Count(rest, "\n")+1)
		}
		h.Fields.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	return h, nil
}

// newHash returns a hash for a digest label, normalised to the
// community-recommended lowercase spelling.
func newHash(label string) (hash.Hash, string) {
	switch strings.ToLower(strings.ReplaceAll(label, "-", "")) {
	case "sha1":
		return sha1.New(), "sha1"
	case "sha256":
		return sha256.New(), "sha256"
	case "sha512":
		return sha512.New(), "sha512"
	case "md5":
		return md5.New(), "md5"
	}
	return nil, ""
}

// decodeDigest decodes a digest value in Base32, Base16, Base64 or
// Base64url, choosing by the length the algorithm's sum must have.
func decodeDigest(v string, size int) ([]byte, bool) {
	try := []func(string) ([]byte, error){
		base32.StdEncoding.DecodeString,
		base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString,
		hex.DecodeString,
		base64.StdEncoding.DecodeString,
		base64.RawStdEncoding.DecodeString,
		base64.URLEncoding.DecodeString,
		base64.RawURLEncoding.DecodeString,
	}
	for i, dec := range try {
		in := v
		if i < 2 {
			in = strings.ToUpper(v)
		}
		if b, err := dec(in); err == nil && len(b) == size {
			return b, true
		}
	}
	return nil, false
}

// CheckDigest reports whether a labelled digest value ("sha1:B2LT...",
// "SHA-1:...", "sha256:<hex>", "md5:...") matches data. The value may be
// Base32, Base16, Base64 or Base64url. algo is the normalised label.
func CheckDigest(value string, data []byte) (ok bool, algo string, err error) {
	label, enc, found := strings.Cut(strings.TrimSpace(value), ":")
	if !found {
		return false, "", fmt.Errorf("%w: %q has no algorithm label", ErrDigest, value)
	}
	h, algo := newHash(label)
	if h == nil {
		return false, "", fmt.Errorf("%w: unsupported algorithm %q", ErrDigest, label)
	}
	want, good := decodeDigest(strings.TrimSpace(enc), h.Size())
	if !good {
		return false, algo, fmt.Errorf("%w: cannot decode %q", ErrDigest, value)
	}
	h.Write(data)
	return bytes.Equal(h.Sum(nil), want), algo, nil
}

// Forms of payload a payload digest was found to match.
const (
	PayloadDechunked = "dechunked"
	PayloadRaw       = "raw"
)

// CheckPayloadDigest checks a WARC-Payload-Digest value against an HTTP
// message block. When the message is chunked it accepts either the
// de-chunked digest (the WARC convention) or the raw chunked digest (what
// warcio and old Heritrix wrote), and returns which matched in form
// ([PayloadDechunked] or [PayloadRaw]); form is "" when neither did.
func CheckPayloadDigest(value string, httpBlock []byte) (ok bool, form string, err error) {
	head, body := SplitHTTP(httpBlock)
	h, err := ParseHTTPHead(head)
	if err != nil {
		return false, "", err
	}
	if h.Chunked() {
		if dec, derr := Dechunk(body); derr == nil {
			ok, _, err := CheckDigest(value, dec)
			if err != nil {
				return false, "", err
			}
			if ok {
				return true, PayloadDechunked, nil
			}
		}
		ok, _, err := CheckDigest(value, body)
		if err != nil || !ok {
			return false, "", err
		}
		return true, PayloadRaw, nil
	}
	ok, _, err = CheckDigest(value, body)
	if err != nil || !ok {
		return false, "", err
	}
	return true, PayloadDechunked, nil
}
