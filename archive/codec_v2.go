package archive

import (
	"errors"
	"fmt"
	"time"
)

// Version 2 capture records are read, never written: this code may only
// change in ways that read every stored record exactly as before.

// decodeCaptureV2 decodes a version 2 record (v without its version byte)
// stored under key.
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
	p := r.rest()
	if len(p) > 0 && p[0] == 3 {
		return nil, errors.New("line delta in a version 2 record")
	}
	raw, err := d.unpackHeads(sk, p, keyNanos+dt)
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
