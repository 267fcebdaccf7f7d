package main

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/amberarchive/amber/archive"
	"github.com/amberarchive/amber/crawler"
	"github.com/amberarchive/amber/warc"
)

func newShowCmd(stdout io.Writer) *cobra.Command {
	var db, at string
	var raw, headers bool
	c := &cobra.Command{
		Use:   "show [flags] URL",
		Short: "show one capture: request, response headers, body",
		Long: `Show one capture of URL: how and why it was fetched, the request as sent,
the response headers as received, and the body, de-chunked and decoded from
its content-encoding for reading. --raw writes the response exactly as it
was received (status line, headers, body with chunking and gzip kept).

--at picks the capture closest to a time, given as a 4- to 14-digit
timestamp (2016, 20160512, 20160512093000); default: the latest.`,
		Example: `  amber show https://chinadigitaltimes.net/2016/05/u-s-china-cyber-group-holds-first-talks/
  amber show --at 20160512 --raw http://www.xinhuanet.com/english/ > page.http`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var want time.Time
			if at != "" {
				t, err := parseTimestamp(at)
				if err != nil {
					return usagef("show: --at: %v", err)
				}
				want = t
			}
			u, err := crawler.Canonical(args[0])
			if err != nil {
				return usagef("show: %q: %v", args[0], err)
			}
			s, err := openStore(db, true)
			if err != nil {
				return err
			}
			defer s.Close()
			caps, err := s.CapturesOf(u)
			if err != nil {
				return storeErr(db, err)
			}
			if len(caps) == 0 && u != args[0] {
				caps, err = s.CapturesOf(args[0])
				if err != nil {
					return err
				}
			}
			if len(caps) == 0 {
				return fmt.Errorf("no capture of %s in %s; 'amber why %s' says whether it was seen", args[0], db, args[0])
			}
			c := closest(caps, want)
			body, err := s.Body(cmd.Context(), c)
			if err != nil {
				return storeErr(db, err)
			}
			if raw {
				if _, err := stdout.Write(c.ResponseHead); err != nil {
					return err
				}
				_, err = stdout.Write(body)
				return err
			}
			fmt.Fprintf(stdout, "URL:       %s\nTime:      %s (took %s)\nRun:       %d\nReason:    %s", c.URL, c.Time.UTC().Format(time.RFC3339Nano), c.Duration.Round(time.Millisecond), c.Run, c.Reason)
			if c.Parent != "" {
				fmt.Fprintf(stdout, " from %s", c.Parent)
			}
			if c.Anchor != "" {
				fmt.Fprintf(stdout, " (%q)", c.Anchor)
			}
			fmt.Fprintf(stdout, "\nHop path:  %s\nRemote IP: %s\nPayload:   %s, %d bytes stored", dash(c.Hops), c.IP, dash(c.PayloadDigest), c.BodyLen)
			if c.Truncated != "" {
				fmt.Fprintf(stdout, ", TRUNCATED (%s)", c.Truncated)
			}
			if c.RevisitOf != nil {
				fmt.Fprintf(stdout, ", same payload as an earlier capture")
			}
			if len(caps) > 1 {
				fmt.Fprintf(stdout, "\nCaptures:  %d of this URL; use --at to pick another", len(caps))
			}
			fmt.Fprintf(stdout, "\n\n--- request ---\n%s\n--- response ---\n%s", c.Request, c.ResponseHead)
			if headers {
				return nil
			}
			dec, note := decodeBody(c.ResponseHead, body)
			if note != "" {
				fmt.Fprintf(stdout, "[%s]\n", note)
			}
			_, err = stdout.Write(dec)
			return err
		},
	}
	dbFlag(c, &db)
	c.Flags().StringVar(&at, "at", "", "timestamp: show the capture closest to it")
	c.Flags().BoolVar(&raw, "raw", false, "write the response exactly as received")
	c.Flags().BoolVar(&headers, "headers", false, "stop after the response headers")
	return c
}

// closest picks the capture nearest to want; the latest when want is zero.
func closest(caps []*archive.Capture, want time.Time) *archive.Capture {
	if want.IsZero() {
		return caps[len(caps)-1]
	}
	best := caps[0]
	for _, c := range caps[1:] {
		if absDur(c.Time.Sub(want)) < absDur(best.Time.Sub(want)) {
			best = c
		}
	}
	return best
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// parseTimestamp reads a 4- to 14-digit Wayback timestamp, missing digits
// taken as the start of the period.
func parseTimestamp(s string) (time.Time, error) {
	if len(s) < 4 || len(s) > 14 {
		return time.Time{}, fmt.Errorf("%q: want 4 to 14 digits, e.g. 20160512093000", s)
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return time.Time{}, fmt.Errorf("%q: want digits only, e.g. 20160512093000", s)
		}
	}
	full := s + "00000101000000"[len(s)-4:]
	t, err := time.Parse("20060102150405", full)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a valid time", s)
	}
	return t, nil
}

// decodeBody undoes chunking and content-encoding for reading.
func decodeBody(head, body []byte) ([]byte, string) {
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(head)), nil)
	if err != nil {
		return body, ""
	}
	resp.Body.Close()
	out := body
	if strings.EqualFold(strings.Join(resp.TransferEncoding, ","), "chunked") {
		if d, err := warc.Dechunk(body); err == nil {
			out = d
		}
	}
	var r io.ReadCloser
	switch strings.ToLower(resp.Header.Get("Content-Encoding")) {
	case "gzip", "x-gzip":
		if r, err = gzip.NewReader(bytes.NewReader(out)); err != nil {
			return out, "body says gzip but is not: shown as stored"
		}
	case "deflate":
		r = flate.NewReader(bytes.NewReader(out))
	default:
		return out, ""
	}
	defer r.Close()
	dec, err := io.ReadAll(io.LimitReader(r, 256<<20))
	if err != nil {
		return dec, "content-encoding could not be fully decoded: " + err.Error()
	}
	return dec, ""
}
