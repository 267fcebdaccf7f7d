package archive

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// deltaBasePair returns a page as first captured and a copy of it to edit
// into a re-capture a day later.
func deltaBasePair() (base, c *Capture) {
	at := time.Date(2026, 5, 12, 10, 42, 7, 123456789, time.UTC)
	base = fixtureCapture(9, at, false)
	base.Body = nil
	base.Run, base.BodyLen = 1, 2480
	base.BodyDigest = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	base.PayloadDigest = "sha1:GVSDGGFOHDWFSHCMZ2CQ4YUHRVKYJBSC"
	c = fixtureCapture(9, at.Add(24*time.Hour+3*time.Millisecond), false)
	c.Body = nil
	c.Run, c.BodyLen, c.BodyDigest, c.PayloadDigest = 2, base.BodyLen, base.BodyDigest, base.PayloadDigest
	return base, c
}

// roundTripDelta stores base self-contained and c as a line delta against
// it, and checks that c reads back exactly, with and without heads, and
// that every cut of its record fails. It returns c's heads part.
func roundTripDelta(t testing.TB, base, c *Capture) []byte {
	t.Helper()
	sk := surt(base.URL)
	base.Key = captureKey(sk, base.Time.UnixNano())
	bv, err := encodeCapture(base, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The delta's key is bumped, as Commit does when two captures of a
	// URL share a time.
	c.Key = captureKey(sk, c.Time.UnixNano()+1)
	heads, err := encodeLineDelta(c, headsRaw(base), base.Time.UnixNano())
	if err != nil {
		t.Fatal(err)
	}
	v, err := encodeCapture(c, heads)
	if err != nil {
		t.Fatal(err)
	}
	// A decoder that has read the base keeps it: no bucket needed.
	d0 := &captureDecoder{}
	if _, err := d0.decode(base.Key, bv, true); err != nil {
		t.Fatal(err)
	}
	withBase := func() *captureDecoder {
		d := *d0
		return &d
	}
	got, err := withBase().decode(c.Key, v, true)
	if err != nil {
		t.Fatalf("decode: %v\nheads %q", err, heads)
	}
	want := *c
	if !got.Time.Equal(c.Time) {
		t.Fatalf("Time %s, want %s", got.Time, c.Time)
	}
	want.Time = got.Time
	if !reflect.DeepEqual(*got, want) {
		t.Fatalf("decoded\n%+v\nwant\n%+v\nheads %q", *got, want, heads)
	}
	light, err := (&captureDecoder{}).decode(c.Key, v, false)
	if err != nil {
		t.Fatalf("decode without heads or base: %v", err)
	}
	want.Request, want.ResponseHead, want.IP, want.Parent, want.Anchor, want.Hops, want.WARCRecordID, want.Outlinks = nil, nil, "", "", "", "", "", nil
	if !reflect.DeepEqual(*light, want) {
		t.Fatalf("decoded without heads\n%+v\nwant\n%+v", *light, want)
	}
	if _, err := (&captureDecoder{}).decode(c.Key, v, true); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("decoded without its base: %v", err)
	}
	// Every cut of a short record fails, and some of a long one (all would
	// take quadratic time).
	step := max(1, len(v)/1024)
	for n := 0; n < len(v); n += step {
		for _, cut := range []int{n, len(v) - 1 - n} {
			if _, err := withBase().decode(c.Key, v[:cut], true); err == nil {
				t.Fatalf("record cut at %d of %d decoded", cut, len(v))
			}
		}
	}
	return heads
}

// TestLineDelta stores re-captures as line deltas against an earlier
// capture and reads every field back byte for byte, whatever changed.
func TestLineDelta(t *testing.T) {
	replace := func(b []byte, old, new string) []byte {
		return []byte(strings.Replace(string(b), old, new, 1))
	}
	date := func(c *Capture, d time.Duration) string {
		return c.Time.Add(d).UTC().Format(httpDate)
	}
	tests := []struct {
		name    string
		edit    func(base, c *Capture)
		maxSize int // of the heads part, 0 for any
	}{
		{"304", func(base, c *Capture) {
			*c = *fixtureCapture(9, c.Time, true)
			c.Run, c.BodyDigest, c.PayloadDigest = 2, sha256Empty, sha1Empty
			c.ResponseHead = replace(c.ResponseHead, "Date: "+date(base, 0), "Date: "+date(c, 0))
		}, 32},
		{"same payload, new date", func(base, c *Capture) {
			c.ResponseHead = replace(c.ResponseHead, "Date: "+date(base, 0), "Date: "+date(c, time.Second))
		}, 24},
		{"changed page", func(base, c *Capture) {
			c.ResponseHead = replace(c.ResponseHead, "Etag: \"", "Etag: \"1")
			c.ResponseHead = replace(c.ResponseHead, "Last-Modified: Thu, 09 Jun 2016 03:36:00 GMT",
				"Last-Modified: "+date(c, -90*time.Minute))
			c.ResponseHead = replace(c.ResponseHead, "Vary: Accept-Encoding\r\n", "Expires: "+date(c, 365*24*time.Hour)+"\r\nSet-Cookie: a=b\r\n")
			c.Outlinks = append(append([]string{"http://new.test/"}, c.Outlinks[3:20]...), c.Outlinks[:2]...)
			c.Anchor, c.Hops, c.Depth = "Another anchor", "LLL", 3
		}, 0},
		{"not canonical dates", func(base, c *Capture) {
			c.ResponseHead = replace(c.ResponseHead, "Date: "+date(base, 0),
				"Date: "+strings.Replace(date(c, 0), "GMT", "gmt", 1)+"\r\nExpires: Fri, 13 May 2026 10:42:07 GMT"+
					"\r\nX-Date: Wed, 13 May 2026 1:42:07 GMT\r\nX-Far: Mon, 01 Jan 0001 00:00:00 GMT")
		}, 0},
		{"capture before 1970", func(base, c *Capture) {
			c.Time = time.Date(1969, 12, 31, 23, 59, 58, 500_000_000, time.UTC)
			c.ResponseHead = replace(c.ResponseHead, "Date: "+date(base, 0), "Date: Wed, 31 Dec 1969 23:59:58 GMT")
		}, 0},
		{"base after capture", func(base, c *Capture) {
			c.Time = base.Time.Add(-48 * time.Hour)
		}, 0},
		{"bare LF, body, no last LF", func(base, c *Capture) {
			c.Request = []byte("POST /x HTTP/1.1\nHost: a\n\nbody\x00\xff: \r\r\n\r")
			c.ResponseHead = append(bytes.ReplaceAll(c.ResponseHead, []byte("\r\n"), []byte("\n")), "tail"...)
		}, 0},
		{"lines without a colon", func(base, c *Capture) {
			c.ResponseHead = replace(c.ResponseHead, "Connection: close\r\n", "Odd:value\r\nodd line\r\n: \r\n:\r\n")
		}, 0},
		{"values from the base's other lines", func(base, c *Capture) {
			c.ResponseHead = replace(c.ResponseHead, "Connection: close\r\n",
				"X-Host: chinadigitaltimes.test:42959\r\nHost: 127.0.0.2\r\nEtag: \r\n")
		}, 0},
		{"long heads", func(base, c *Capture) {
			var long, changed strings.Builder
			for i := range 80 {
				fmt.Fprintf(&long, "X-%d: v%d\r\n", i, i%9)
				fmt.Fprintf(&changed, "X-%d: v%d\r\nY: v%d\r\n", i, (i+1)%9, i%11)
			}
			base.ResponseHead = append(base.ResponseHead[:len(base.ResponseHead)-2:len(base.ResponseHead)-2], long.String()+"\r\n"...)
			c.ResponseHead = append(c.ResponseHead[:len(c.ResponseHead)-2:len(c.ResponseHead)-2], changed.String()+"\r\n"...)
		}, 0},
		{"empty heads", func(base, c *Capture) {
			c.Request, c.ResponseHead, c.Outlinks, c.IP, c.Parent, c.Anchor, c.Hops = nil, nil, nil, "", "", "", ""
		}, 0},
		{"empty base", func(base, c *Capture) {
			base.Request, base.ResponseHead, base.Outlinks, base.IP, base.Parent, base.Anchor, base.Hops = nil, nil, nil, "", "", "", ""
		}, 0},
		{"fields differ", func(base, c *Capture) {
			c.IP, c.Parent, c.WARCRecordID = "::1", "", "<urn:uuid:2>"
			base.WARCRecordID = "<urn:uuid:1>"
		}, 0},
		{"outlinks repeated, empty, many", func(base, c *Capture) {
			base.Outlinks = append(base.Outlinks, base.Outlinks...)
			base.Outlinks = append(base.Outlinks, "", "")
			for i := range 300 {
				c.Outlinks = append(c.Outlinks, fmt.Sprintf("http://x.test/%d", i%7), "")
			}
			c.Outlinks = append(c.Outlinks, base.Outlinks...)
		}, 0},
		{"one outlink, empty", func(base, c *Capture) { c.Outlinks = []string{""} }, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, c := deltaBasePair()
			tt.edit(base, c)
			heads := roundTripDelta(t, base, c)
			if tt.maxSize > 0 && len(heads) > tt.maxSize {
				t.Errorf("heads part %d bytes, want at most %d: %q", len(heads), tt.maxSize, heads)
			}
		})
	}
}

// FuzzLineDelta checks that any re-capture, against any base, reads back
// exactly from its line delta.
func FuzzLineDelta(f *testing.F) {
	base, c := deltaBasePair()
	nm := fixtureCapture(9, c.Time, true)
	f.Add(base.Request, base.ResponseHead, "a\nb", nm.Request, nm.ResponseHead, "b\nc\n", int64(86400), "127.0.0.2")
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"), []byte("HTTP/1.1 200 OK\r\nDate: Thu, 01 Jan 1970 00:00:00 GMT\r\n\r\n"), "",
		[]byte("\n\n"), []byte("HTTP/1.1 200 OK\r\nDate: Thu, 01 Jan 1970 00:00:01 GMT\r\n\r\n"), "\n", int64(-1), "")
	f.Fuzz(func(t *testing.T, breq, bresp []byte, blinks string, req, resp []byte, links string, dt int64, ip string) {
		base, c := deltaBasePair()
		base.Request, base.ResponseHead = breq, bresp
		c.Request, c.ResponseHead, c.IP = req, resp, ip
		base.Outlinks, c.Outlinks = nil, nil
		if blinks != "" {
			base.Outlinks = strings.Split(blinks, "\n")
		}
		if links != "" {
			c.Outlinks = strings.Split(links, "\n")
		}
		if dt > 1<<50 || dt < -(1<<50) {
			return
		}
		c.Time = base.Time.Add(time.Duration(dt))
		// Decoding gives nil for empty heads.
		if len(c.Request) == 0 {
			c.Request = nil
		}
		if len(c.ResponseHead) == 0 {
			c.ResponseHead = nil
		}
		roundTripDelta(t, base, c)
	})
}

// FuzzLineDeltaDecode feeds any bytes to the line delta decoder: an error
// or some heads, never a panic.
func FuzzLineDeltaDecode(f *testing.F) {
	base, c := deltaBasePair()
	*c = *fixtureCapture(9, c.Time, true)
	heads, err := encodeLineDelta(c, headsRaw(base), base.Time.UnixNano())
	if err != nil {
		f.Fatal(err)
	}
	r := reader{b: heads[1:]}
	r.varint()
	f.Add(r.rest())
	f.Fuzz(func(t *testing.T, data []byte) {
		parts, err := parseHeads(headsRaw(base))
		if err != nil {
			t.Fatal(err)
		}
		raw, err := decodeLineDelta(parts, data, c.Time.UnixNano())
		if err != nil {
			return
		}
		if err := fillHeads(new(Capture), raw); err != nil {
			t.Errorf("decoded heads do not parse: %v", err)
		}
	})
}

// TestDateAt checks that date pieces render as the layout httpDate does,
// whatever the time: what a stored piece means may never change.
func TestDateAt(t *testing.T) {
	var ats []int64
	for _, y := range []int{-1, 0, 1, 99, 1969, 1970, 2000, 2026, 9999, 10000} {
		for _, d := range []time.Duration{0, 1, -1, 999_999_999, 1e9, 86399 * 1e9} {
			ats = append(ats, time.Date(y, 12, 31, 0, 0, 0, 0, time.UTC).Add(d).UnixNano())
		}
	}
	for i := range 20000 {
		ats = append(ats, int64(i)*7_777_777_777_777_777+int64(i)*12345)
	}
	for _, at := range ats {
		for _, off := range []int64{0, 1, -1, 86400 * 365 * 100} {
			sec := at / 1e9
			if at%1e9 < 0 {
				sec--
			}
			want := time.Unix(sec+off, 0).UTC().Format(httpDate)
			if got := string(dateAt(nil, at, off)); got != want {
				t.Fatalf("dateAt(%d, %d) = %q, want %q", at, off, got, want)
			}
		}
	}
}
