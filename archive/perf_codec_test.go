package archive

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestCaptureRecordRoundTrip encodes captures in version 2 and reads them
// back unchanged, whatever their URL, digests and time.
func TestCaptureRecordRoundTrip(t *testing.T) {
	at := time.Date(2026, 5, 12, 10, 42, 0, 123456789, time.UTC)
	long := "http://example.test/" + strings.Repeat("a/", 700)
	tests := []struct {
		name string
		edit func(c *Capture)
	}{
		{"fixture 200", func(c *Capture) {}},
		{"https www", func(c *Capture) { c.URL = "https://www.example.test/a?b=1&a=2" }},
		{"sorted query", func(c *Capture) { c.URL = "https://example.test/a?a=2&b=1" }},
		{"upper-case host", func(c *Capture) { c.URL = "http://Example.TEST:8080/x" }},
		{"no path", func(c *Capture) { c.URL = "http://example.test" }},
		{"ipv6", func(c *Capture) { c.URL = "http://[::1]:8080/x" }},
		{"ipv4 port", func(c *Capture) { c.URL = "http://127.0.0.1:8080/x/" }},
		{"fragment", func(c *Capture) { c.URL = "http://example.test/#top" }},
		{"userinfo", func(c *Capture) { c.URL = "http://u:p@example.test/" }},
		{"nul", func(c *Capture) { c.URL = "http://example.test/\x00" }},
		{"long", func(c *Capture) { c.URL = long }},
		{"not a URL", func(c *Capture) { c.URL = "dns:example.test" }},
		{"odd digests", func(c *Capture) {
			c.BodyDigest, c.PayloadDigest = "sha256:ABC", "sha1:lower"
		}},
		{"uppercase hex digest", func(c *Capture) {
			c.BodyDigest = "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"
		}},
		{"empty digests", func(c *Capture) { c.BodyDigest, c.PayloadDigest = "", "" }},
		{"revisit and location", func(c *Capture) {
			c.RevisitOf = captureKey("test,example)/", 42)
			c.Location, c.Status = "http://example.test/b", 301
			c.Truncated, c.WARCRecordID = TruncLength, "<urn:uuid:1>"
		}},
		{"empty heads", func(c *Capture) {
			c.Request, c.ResponseHead, c.Outlinks, c.Parent, c.Anchor, c.Hops, c.IP = nil, nil, nil, "", "", "", ""
		}},
		{"local time", func(c *Capture) { c.Time = at.In(time.FixedZone("X", 3600)) }},
		{"negative duration and depth", func(c *Capture) { c.Duration, c.Depth = -1, -2 }},
		{"304", func(c *Capture) {
			*c = *fixtureCapture(3, at, true)
			c.BodyDigest, c.PayloadDigest = sha256Empty, sha1Empty
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fixtureCapture(1, at, false)
			c.Body = nil
			c.Run, c.BodyLen = 7, 1234
			c.BodyDigest = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
			c.PayloadDigest = "sha1:GVSDGGFOHDWFSHCMZ2CQ4YUHRVKYJBSC"
			tt.edit(c)
			c.Key = captureKey(surt(c.URL), c.Time.UnixNano()+3) // a bumped key
			v, err := encodeCapture(c, nil)
			if err != nil {
				t.Fatal(err)
			}
			if v[0] != captureVersion3 {
				t.Fatalf("version %d", v[0])
			}
			got, err := decodeCapture(nil, c.Key, v)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Time.Equal(c.Time) {
				t.Errorf("Time %s, want %s", got.Time, c.Time)
			}
			want := *c
			want.Time = got.Time
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("decoded\n%+v\nwant\n%+v", *got, want)
			}
			light, err := decodeCaptureParts(nil, c.Key, v, false)
			if err != nil {
				t.Fatal(err)
			}
			want.Request, want.ResponseHead, want.IP, want.Parent, want.Anchor, want.Hops, want.WARCRecordID, want.Outlinks = nil, nil, "", "", "", "", "", nil
			if !reflect.DeepEqual(*light, want) {
				t.Errorf("decoded without heads\n%+v\nwant\n%+v", *light, want)
			}
			// Every cut of the record is an error, never a panic.
			for n := range len(v) {
				if _, err := decodeCapture(nil, c.Key, v[:n]); err == nil {
					t.Errorf("record cut at %d of %d decoded", n, len(v))
				} else if !errors.Is(err, ErrCorrupt) {
					t.Errorf("cut at %d: %v, want ErrCorrupt", n, err)
				}
			}
		})
	}
}

// TestCaptureRecordVersion1 reads records written before version 2.
func TestCaptureRecordVersion1(t *testing.T) {
	c := fixtureCapture(5, time.Date(2020, 1, 2, 3, 4, 5, 6, time.UTC), false)
	c.Body = nil
	c.BodyDigest = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	key := captureKey(surt(c.URL), c.Time.UnixNano())
	v, err := encode(c)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeCapture(nil, key, v)
	if err != nil {
		t.Fatal(err)
	}
	want := *c
	want.Key = key
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("decoded\n%+v\nwant\n%+v", *got, want)
	}
	light, err := decodeCaptureParts(nil, key, v, false)
	if err != nil || light.Request != nil || light.ResponseHead != nil || light.Status != 200 || light.URL != c.URL {
		t.Errorf("without heads: %+v, %v", light, err)
	}
}

func FuzzCaptureRecord(f *testing.F) {
	c := fixtureCapture(1, time.Now(), false)
	c.Key = captureKey(surt(c.URL), c.Time.UnixNano())
	v, _ := encodeCapture(c, nil)
	f.Add(c.Key, v)
	f.Fuzz(func(t *testing.T, key, v []byte) {
		c, err := decodeCapture(nil, key, v)
		if err != nil {
			return
		}
		v2, err := encodeCapture(c, nil)
		if err != nil {
			if len(key) >= 9 {
				t.Logf("re-encode: %v", err)
			}
			return
		}
		// Whatever a record held, written again it reads the same.
		again, err := decodeCapture(nil, key, v2)
		if err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		norm := func(c *Capture) Capture {
			n := *c
			n.Time = time.Unix(0, c.Time.UnixNano()).UTC()
			for _, b := range []*[]byte{&n.Request, &n.ResponseHead, &n.RevisitOf} {
				if len(*b) == 0 {
					*b = nil
				}
			}
			if len(n.Outlinks) == 0 {
				n.Outlinks = nil
			}
			return n
		}
		if a, b := norm(c), norm(again); !reflect.DeepEqual(a, b) {
			t.Fatalf("re-encoded\n%+v\nreads\n%+v", a, b)
		}
	})
}

// TestCaptureRecordDelta commits a page, then its 304 answers and a changed
// full answer: later records are stored as line deltas against the first
// and read back exactly, by every read path; without their base they are
// reported, not misread.
func TestCaptureRecordDelta(t *testing.T) {
	s := newStore(t, Options{})
	at := time.Date(2026, 5, 12, 10, 0, 0, 0, time.UTC)
	var want []*Capture
	for day := range 4 {
		c := fixtureCapture(9, at.Add(time.Duration(day)*24*time.Hour), day == 1 || day == 2)
		if day == 3 {
			c.Body = append(c.Body, "changed"...)
			c.Outlinks = c.Outlinks[:3]
		}
		commit(t, s, 0, Batch{Captures: []*Capture{c}})
		cp := *c
		cp.Body = nil
		want = append(want, &cp)
	}
	var tags []byte
	if err := s.db.View(func(tx *bolt.Tx) error {
		return capsOf(tx).ForEach(func(k, v []byte) error {
			p, _ := headsPart(v)
			tags = append(tags, p[0])
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	if string(tags) != "\x01\x03\x03\x03" {
		t.Errorf("heads tags %v, want self-contained then deltas", tags)
	}
	got, err := s.CapturesOf(want[0].URL)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d captures, want %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("capture %d:\n%+v\nwant\n%+v", i, got[i], want[i])
		}
		one, err := s.Capture(want[i].Key)
		if err != nil || !reflect.DeepEqual(one, want[i]) {
			t.Errorf("Capture(%d) = %+v, %v", i, one, err)
		}
	}
	vs, err := s.Verify(context.Background(), func(p string) { t.Error(p) })
	if err != nil || vs.Problems != 0 {
		t.Errorf("Verify: %+v, %v", vs, err)
	}
	// A delta whose base is gone is reported, not misread.
	if err := s.db.Update(func(tx *bolt.Tx) error { return capsOf(tx).Delete(want[0].Key) }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Capture(want[1].Key); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Capture without base: %v, want ErrCorrupt", err)
	}
	var problems []string
	if _, err := s.Verify(context.Background(), func(p string) { problems = append(problems, p) }); err != nil {
		t.Fatal(err)
	}
	missing := 0
	for _, p := range problems {
		if strings.Contains(p, "delta base") && strings.Contains(p, "missing") {
			missing++
		}
	}
	if missing != 3 {
		t.Errorf("Verify without base: %q, want the 3 deltas reported", problems)
	}
	if light, err := s.CaptureIndex(want[0].URL); err != nil || len(light) != 3 || light[0].Status != 304 {
		t.Errorf("CaptureIndex without base: %d, %v", len(light), err)
	}
}

// BenchmarkCaptureDecodeDelta decodes a stored 304 delta whose base the
// decoder already holds, as a listing of a URL's captures does: an S2
// delta (version 2, tag 2) and a line delta (version 3, tag 3).
func BenchmarkCaptureDecodeDelta(b *testing.B) {
	for _, tt := range []struct {
		name    string
		records []goldenRecord
	}{{"s2", goldenV2}, {"line", goldenV3}} {
		b.Run(tt.name, func(b *testing.B) {
			base, delta := tt.records[0], tt.records[1]
			d := &captureDecoder{}
			if _, err := d.decode([]byte(base.key), []byte(base.value), true); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(len(delta.value)), "B/record")
			b.ReportAllocs()
			for b.Loop() {
				if _, err := d.decode([]byte(delta.key), []byte(delta.value), true); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
