package archive

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"reflect"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func newRun(t testing.TB, s *Store, job string) Run {
	t.Helper()
	r, err := s.CreateRun(context.Background(), Run{Job: job, Seeds: []string{"http://example.test/"}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func commit(t testing.TB, s *Store, run uint64, b Batch) BatchResult {
	t.Helper()
	res, err := s.Commit(context.Background(), run, b)
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	return res
}

func bucketLen(t *testing.T, s *Store, name []byte) int {
	t.Helper()
	var n int
	if err := s.db.View(func(tx *bolt.Tx) error { n = tx.Bucket(name).Stats().KeyN; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCaptureRoundTrip(t *testing.T) {
	s := newStore(t, Options{})
	ctx := context.Background()
	run := newRun(t, s, "")
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)

	chunkedHead := []byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n")
	chunkedBody := []byte("5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n")
	big := randomBody(t, 5<<20+123, 1)

	tests := []struct {
		name string
		c    *Capture
	}{
		{"plain", testCapture("http://example.test/2026/03/a/", t0, []byte("<html>a</html>"))},
		{"chunked gzip", func() *Capture {
			c := testCapture("http://example.test/2026/03/b/", t0, chunkedBody)
			c.ResponseHead = chunkedHead
			return c
		}()},
		{"empty body", testCapture("http://example.test/empty", t0, nil)},
		{"5 MiB body", testCapture("http://example.test/big.bin", t0, big)},
		{"binary head bytes", func() *Capture {
			c := testCapture("http://example.test/odd?b=2&a=1", t0, []byte{0, 1, 2, 255})
			c.ResponseHead = []byte("HTTP/1.1 200 OK\r\nX-Raw: \xff\xfe\r\n\r\n")
			return c
		}()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := *tc.c
			wantBody := append([]byte(nil), tc.c.Body...)
			commit(t, s, run.ID, Batch{Captures: []*Capture{tc.c}})
			if tc.c.Key == nil || tc.c.BodyDigest == "" || tc.c.PayloadDigest == "" {
				t.Fatalf("store-set fields not filled: key %q body %q payload %q", tc.c.Key, tc.c.BodyDigest, tc.c.PayloadDigest)
			}
			got, err := s.Capture(tc.c.Key)
			if err != nil {
				t.Fatal(err)
			}
			if got.Body != nil {
				t.Errorf("Capture returned a body; want metadata only")
			}
			if !bytes.Equal(got.Request, want.Request) || !bytes.Equal(got.ResponseHead, want.ResponseHead) {
				t.Errorf("request/head not byte-exact:\n%q\n%q", got.Request, got.ResponseHead)
			}
			if !got.Time.Equal(want.Time) || got.URL != want.URL || got.Status != want.Status ||
				got.Reason != want.Reason || got.Hops != want.Hops || got.Duration != want.Duration || got.Run != run.ID {
				t.Errorf("metadata changed: got %+v", got)
			}
			if got.BodyLen != int64(len(wantBody)) {
				t.Errorf("BodyLen = %d, want %d", got.BodyLen, len(wantBody))
			}
			body, err := s.Body(ctx, got)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(body, wantBody) {
				t.Errorf("Body not byte-exact: %d bytes, want %d", len(body), len(wantBody))
			}
			rc, err := s.OpenBody(got)
			if err != nil {
				t.Fatal(err)
			}
			streamed, err := io.ReadAll(rc)
			_ = rc.Close()
			if err != nil || !bytes.Equal(streamed, wantBody) {
				t.Errorf("OpenBody: %d bytes, %v; want %d bytes", len(streamed), err, len(wantBody))
			}
		})
	}

	t.Run("chunked payload digest is over de-chunked body", func(t *testing.T) {
		c := tests[1].c
		want, _ := payloadDigest(nil, []byte("hello, world"))
		if c.PayloadDigest != want {
			t.Errorf("PayloadDigest = %s, want %s (of %q)", c.PayloadDigest, want, "hello, world")
		}
	})

	t.Run("5 MiB body split into chunks of at most 1 MiB", func(t *testing.T) {
		sum, err := bodySum(tests[3].c.BodyDigest)
		if err != nil {
			t.Fatal(err)
		}
		var chunks int
		err = s.db.View(func(tx *bolt.Tx) error {
			c := tx.Bucket(bucketBodies).Cursor()
			for k, v := c.Seek(sum); k != nil && bytes.HasPrefix(k, sum); k, v = c.Next() {
				if got := binary.BigEndian.Uint32(k[32:]); got != uint32(chunks) {
					t.Errorf("chunk index %d, want %d", got, chunks)
				}
				raw, err := s.dec.DecodeAll(v, nil)
				if err != nil {
					return err
				}
				if len(raw) > 1<<20 {
					t.Errorf("chunk %d holds %d raw bytes", chunks, len(raw))
				}
				chunks++
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if chunks != 6 {
			t.Errorf("%d chunks, want 6", chunks)
		}
	})
}

func TestCaptureDedupAndRevisit(t *testing.T) {
	s := newStore(t, Options{})
	run := newRun(t, s, "")
	body := randomBody(t, 3<<20, 7)
	t0 := time.Unix(1700000000, 0).UTC()

	first := testCapture("http://example.test/img.png", t0, body)
	commit(t, s, run.ID, Batch{Captures: []*Capture{first}})
	bodies, infos := bucketLen(t, s, bucketBodies), bucketLen(t, s, bucketBodyInfo)

	again := testCapture("http://example.test/img.png", t0.Add(time.Hour), body)
	other := testCapture("http://mirror.test/copy.png", t0.Add(time.Hour), body)
	commit(t, s, run.ID, Batch{Captures: []*Capture{again, other}})

	if got := bucketLen(t, s, bucketBodies); got != bodies {
		t.Errorf("bodies bucket grew from %d to %d keys for an identical body", bodies, got)
	}
	if got := bucketLen(t, s, bucketBodyInfo); got != infos || got != 1 {
		t.Errorf("bodyinfo has %d keys, want 1", got)
	}
	if first.RevisitOf != nil {
		t.Errorf("first capture marked revisit of %q", first.RevisitOf)
	}
	for _, c := range []*Capture{again, other} {
		if !bytes.Equal(c.RevisitOf, first.Key) {
			t.Errorf("%s: RevisitOf = %q, want %q", c.URL, c.RevisitOf, first.Key)
		}
		stored, err := s.Capture(c.Key)
		if err != nil || !bytes.Equal(stored.RevisitOf, first.Key) {
			t.Errorf("%s: stored RevisitOf = %v, %v", c.URL, stored, err)
		}
	}
	r, err := s.Run(run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r.Counts.Revisits != 2 || r.Counts.Captures != 3 {
		t.Errorf("counts %+v, want 3 captures, 2 revisits", r.Counts)
	}

	t.Run("empty payloads are never revisits", func(t *testing.T) {
		a := testCapture("http://example.test/204a", t0, nil)
		b := testCapture("http://example.test/204b", t0, nil)
		commit(t, s, run.ID, Batch{Captures: []*Capture{a, b}})
		if a.RevisitOf != nil || b.RevisitOf != nil {
			t.Errorf("empty payload marked revisit")
		}
	})
}

func TestCapturesOrderAndPrefix(t *testing.T) {
	s := newStore(t, Options{})
	ctx := context.Background()
	run := newRun(t, s, "")
	t0 := time.Unix(1700000000, 0).UTC()
	urls := []string{
		"https://www.example.test/2026/01/a/",
		"https://example.test/2026/01/b/",
		"https://example.test/about",
		"https://other.test/2026/01/a/",
		"http://example.test.evil/x",
	}
	// Three captures of the first URL, committed newest first, two at the
	// same nanosecond.
	var batch []*Capture
	times := []time.Time{t0.Add(2 * time.Hour), t0, t0}
	for i, at := range times {
		batch = append(batch, testCapture(urls[0], at, []byte{byte(i)}))
	}
	for _, u := range urls[1:] {
		batch = append(batch, testCapture(u, t0, []byte(u)))
	}
	commit(t, s, run.ID, Batch{Captures: batch})

	t.Run("CapturesOf is in time order and keeps same-time captures", func(t *testing.T) {
		got, err := s.CapturesOf(urls[0])
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 {
			t.Fatalf("%d captures, want 3", len(got))
		}
		for i := 1; i < len(got); i++ {
			if got[i].Time.Before(got[i-1].Time) || bytes.Compare(got[i].Key, got[i-1].Key) <= 0 {
				t.Errorf("capture %d (%s) not after %d (%s)", i, got[i].Time, i-1, got[i-1].Time)
			}
		}
		if !got[2].Time.Equal(t0.Add(2 * time.Hour)) {
			t.Errorf("last capture at %s", got[2].Time)
		}
	})

	tests := []struct {
		prefix string
		want   []string
	}{
		{"", nil}, // all; checked by count
		{"https://example.test/2026/", []string{"https://example.test/2026/01/b/"}},
		{"https://example.test/", []string{"https://example.test/2026/01/b/", "https://example.test/about"}},
		{"https://www.example.test/", []string{urls[0], urls[0], urls[0]}},
		{"https://", nil},
		{"http://example.test", []string{"http://example.test.evil/x"}},
		{"https://nothing.test/", []string{}},
	}
	for _, tc := range tests {
		t.Run("prefix "+tc.prefix, func(t *testing.T) {
			var got []string
			var last []byte
			err := s.Captures(ctx, tc.prefix, func(c *Capture) error {
				if c.Body != nil {
					t.Errorf("Captures gave a body")
				}
				if bytes.Compare(c.Key, last) <= 0 {
					t.Errorf("keys out of order: %q after %q", c.Key, last)
				}
				last = c.Key
				got = append(got, c.URL)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			switch tc.prefix {
			case "":
				if len(got) != len(batch) {
					t.Errorf("%d captures, want %d", len(got), len(batch))
				}
			case "https://":
				if len(got) != 6 {
					t.Errorf("%d https captures, want 6: %q", len(got), got)
				}
			default:
				if len(got) == 0 && len(tc.want) == 0 {
					return
				}
				if !reflect.DeepEqual(got, tc.want) {
					t.Errorf("got %q, want %q", got, tc.want)
				}
			}
		})
	}

	t.Run("fn error stops the listing", func(t *testing.T) {
		stop := errors.New("stop")
		n := 0
		err := s.Captures(ctx, "", func(*Capture) error { n++; return stop })
		if !errors.Is(err, stop) || n != 1 {
			t.Errorf("err %v after %d calls", err, n)
		}
	})
}

func TestCapturesManyPages(t *testing.T) {
	s := newStore(t, Options{NoSync: true})
	run := newRun(t, s, "")
	const n = 3*pageSize + 17
	var batch []*Capture
	for i := range n {
		batch = append(batch, testCapture("http://example.test/p/"+string(rune('a'+i%26))+time.Duration(i).String(), time.Unix(1700000000, 0), []byte{byte(i)}))
	}
	commit(t, s, run.ID, Batch{Captures: batch})
	count := 0
	if err := s.Captures(context.Background(), "http://example.test/p/", func(*Capture) error { count++; return nil }); err != nil {
		t.Fatal(err)
	}
	if count != n {
		t.Errorf("listed %d captures, want %d", count, n)
	}
}
