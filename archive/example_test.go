package archive_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/amberarchive/amber/archive"
)

func Example() {
	dir, err := os.MkdirTemp("", "amber-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	s, err := archive.Open(filepath.Join(dir, "amber.db"), archive.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()

	run, err := s.CreateRun(ctx, archive.Run{Seeds: []string{"http://example.test/"}})
	if err != nil {
		log.Fatal(err)
	}
	// One fetch: the capture, and the links it found, in one transaction.
	res, err := s.Commit(ctx, run.ID, archive.Batch{
		Captures: []*archive.Capture{{
			URL:          "http://example.test/",
			Method:       "GET",
			Time:         time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
			Request:      []byte("GET / HTTP/1.1\r\nHost: example.test\r\n\r\n"),
			ResponseHead: []byte("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n"),
			Body:         []byte("<a href=/2026/03/post/>post</a>"),
			Status:       200,
			Reason:       archive.ReasonSeed,
		}},
		Enqueue: []archive.Item{{URL: "http://example.test/2026/03/post/", HostKey: "http://example.test:80", Reason: archive.ReasonArticle}},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("queued", res.Queued[0].URL, "seq", res.Queued[0].Seq)

	caps, err := s.CapturesOf("http://example.test/")
	if err != nil {
		log.Fatal(err)
	}
	body, err := s.Body(ctx, caps[0])
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d capture, %s, %s\n", len(caps), caps[0].Time.Format(time.RFC3339), body)
	// Output:
	// queued http://example.test/2026/03/post/ seq 1
	// 1 capture, 2026-03-01T12:00:00Z, <a href=/2026/03/post/>post</a>
}
