package warc

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"strings"
	"testing"
	"time"
)

// fixedClock and seqIDs make written files byte-stable for goldens.
func fixedClock() func() time.Time {
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 123456000, time.UTC)
	return func() time.Time { return t0 }
}

func seqIDs() func() string {
	n := 0
	return func() string {
		n++
		return fmt.Sprintf("<urn:uuid:00000000-0000-4000-8000-%012d>", n)
	}
}

type sample struct {
	rec   *Record
	block []byte
}

func gzipBytes(t testing.TB, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(s))
	zw.Close()
	return b.Bytes()
}

// chunk encodes body as HTTP/1.1 chunks of at most n bytes.
func chunk(body []byte, n int) []byte {
	var b bytes.Buffer
	for len(body) > 0 {
		k := min(n, len(body))
		fmt.Fprintf(&b, "%x\r\n", k)
		b.Write(body[:k])
		b.WriteString("\r\n")
		body = body[k:]
	}
	b.WriteString("0\r\n\r\n")
	return b.Bytes()
}

// sampleRecords returns one capture event of each kind amber writes: a
// warcinfo, a request, a chunked+gzip response, a plain response, metadata,
// a revisit and a resource.
func sampleRecords(t testing.TB) []sample {
	t.Helper()
	date := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	html := strings.Repeat("<p>Archived words from chinadigitaltimes.test.</p>\n", 40)
	gz := gzipBytes(t, html)
	chunkedResp := append([]byte("HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"+
		"Content-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"), chunk(gz, 100)...)
	plainBody := "body of the source article\n"
	plainResp := []byte(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", len(plainBody), plainBody))
	req := []byte("GET /2024/05/slug/ HTTP/1.1\r\nHost: chinadigitaltimes.test\r\nUser-Agent: amber/0.1\r\n\r\n")

	info := NewWarcinfoRecord("test.warc.gz", date)
	infoBlock := FieldsBlock(Header{{Name: "software", Value: "amber test"}, {Name: "format", Value: "WARC File Format 1.1"}})

	reqRec := NewRecord(TypeRequest, "http://chinadigitaltimes.test/2024/05/slug/", date, ContentTypeHTTPRequest)
	respRec := NewRecord(TypeResponse, "http://chinadigitaltimes.test/2024/05/slug/", date, ContentTypeHTTPResponse)
	respRec.Header.Add("WARC-IP-Address", "127.0.0.1")
	plainRec := NewRecord(TypeResponse, "http://xinhua.test/a", date, ContentTypeHTTPResponse)
	meta := NewRecord(TypeMetadata, "http://chinadigitaltimes.test/2024/05/slug/", date, ContentTypeWARCFields)
	metaBlock := FieldsBlock(Header{{Name: "via", Value: "http://chinadigitaltimes.test/"}, {Name: "hopsFromSeed", Value: "L"}})
	head, _ := SplitHTTP(plainResp)
	pd, err := PayloadDigest(plainResp)
	if err != nil {
		t.Fatal(err)
	}
	rv := NewRevisitRecord("http://xinhua.test/a", date.Add(time.Hour), Revisit{
		Profile: ProfileIdenticalPayloadDigest, RefersTo: "<urn:uuid:00000000-0000-4000-8000-000000000099>",
		TargetURI: "http://xinhua.test/a", Date: date, PayloadDigest: pd,
	}, true)
	res := NewRecord(TypeResource, "http://chinadigitaltimes.test/favicon.ico", date, "image/x-icon")
	return []sample{
		{info, infoBlock},
		{reqRec, req},
		{respRec, chunkedResp},
		{plainRec, plainResp},
		{meta, metaBlock},
		{rv, head},
		{res, []byte("\x00\x00\x01\x00icon bytes")},
	}
}

// writeSamples writes the samples and returns the file bytes and positions.
func writeSamples(t testing.TB, opts WriterOptions) ([]byte, []sample, []Position) {
	t.Helper()
	var buf bytes.Buffer
	if opts.Now == nil {
		opts.Now = fixedClock()
	}
	if opts.NewRecordID == nil {
		opts.NewRecordID = seqIDs()
	}
	w := NewWriter(&buf, opts)
	ss := sampleRecords(t)
	var pos []Position
	for _, s := range ss {
		p, err := w.WriteRecord(s.rec, s.block)
		if err != nil {
			t.Fatalf("WriteRecord(%s): %v", s.rec.Type(), err)
		}
		pos = append(pos, p)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), ss, pos
}
