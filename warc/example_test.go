package warc_test

import (
	"bytes"
	"fmt"
	"io"
	"time"

	"github.com/amberarchive/amber/warc"
)

func ExampleWriter() {
	var buf bytes.Buffer
	w := warc.NewWriter(&buf, warc.WriterOptions{
		// Injected clock and IDs make the output reproducible.
		Now:         func() time.Time { return time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC) },
		NewRecordID: func() string { return "<urn:uuid:6f1c5b4e-0000-4000-8000-000000000001>" },
	})
	rec := warc.NewRecord(warc.TypeResponse, "http://example.test/", time.Time{}, warc.ContentTypeHTTPResponse)
	pos, err := w.WriteRecord(rec, []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("offset", pos.Offset, "id", rec.ID())
	fmt.Println(rec.Header.Get("WARC-Payload-Digest"))
	// Output:
	// offset 0 id <urn:uuid:6f1c5b4e-0000-4000-8000-000000000001>
	// sha1:VL2MMHO4YXUKFWV63YHTWSBM3GXKSQ2N
}

func ExampleReader() {
	const file = "WARC/1.1\r\nWARC-Type: resource\r\nWARC-Target-URI: <http://example.test/a.txt>\r\n" +
		"WARC-Date: 2024-05-01T12:00:00Z\r\nWARC-Record-ID: <urn:uuid:6f1c5b4e-0000-4000-8000-000000000002>\r\n" +
		"Content-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello\r\n\r\n"
	r := warc.NewReader(bytes.NewReader([]byte(file)))
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		block, _ := io.ReadAll(r)
		fmt.Printf("%s %s %q offset=%d length=%d\n", rec.Type(), rec.TargetURI(), block, rec.Offset, rec.Length)
		fmt.Println(rec.Defects)
	}
	// Output:
	// resource http://example.test/a.txt "hello" offset=0 length=231
	// [WARC-Target-URI in angle brackets (stripped)]
}

func ExampleSURT() {
	for _, u := range []string{
		"http://www.Example.com/A/?b=1&a=2#top",
		"https://archive.org:443/goo/?",
	} {
		key, _ := warc.SURT(u)
		fmt.Println(key)
	}
	// Output:
	// com,example)/a?a=2&b=1
	// org,archive)/goo
}
