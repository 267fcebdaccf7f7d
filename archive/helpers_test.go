package archive

import (
	"math/rand"
	"testing"
	"time"
)

// testCapture builds a capture of a plain (not chunked) 200 response.
func testCapture(url string, at time.Time, body []byte) *Capture {
	return &Capture{
		URL:          url,
		Method:       "GET",
		Time:         at,
		Duration:     120 * time.Millisecond,
		IP:           "127.0.0.1",
		Request:      []byte("GET / HTTP/1.1\r\nHost: example.test\r\nUser-Agent: amber-test\r\n\r\n"),
		ResponseHead: []byte("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Case: KeEp\r\n\r\n"),
		Body:         body,
		Status:       200,
		MIME:         "text/html",
		Reason:       ReasonArticle,
		Parent:       "http://example.test/",
		Anchor:       "an article",
		Hops:         "L",
		Depth:        1,
	}
}

// randomBody returns n incompressible bytes, the same for the same seed.
func randomBody(t testing.TB, n int, seed int64) []byte {
	t.Helper()
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}
