package archive

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/base32"
	"io"
	"strconv"
	"strings"
)

// blockDigest is the WARC-Block-Digest of a response record whose block is
// head then body.
func blockDigest(head, body []byte) string {
	h := sha1.New()
	h.Write(head)
	h.Write(body)
	return "sha1:" + base32.StdEncoding.EncodeToString(h.Sum(nil))
}

// payloadDigest returns "sha1:" + base32 of the entity body: transfer-coding
// removed, content-coding kept (the WARC convention), and the entity body's
// length. To be replaced by the warc package's implementation.
func payloadDigest(head, body []byte) (digest string, n int) {
	payload := body
	if isChunked(head) {
		if p, ok := dechunk(body); ok {
			payload = p
		}
	}
	sum := sha1.Sum(payload)
	return "sha1:" + base32.StdEncoding.EncodeToString(sum[:]), len(payload)
}

// isChunked reports whether the response head's last transfer-coding is
// chunked.
func isChunked(head []byte) bool {
	lines := bytes.Split(head, []byte("\n"))
	chunked := false
	for _, l := range lines[min(1, len(lines)):] {
		name, value, ok := bytes.Cut(l, []byte(":"))
		if !ok || !strings.EqualFold(string(bytes.TrimSpace(name)), "Transfer-Encoding") {
			continue
		}
		codings := strings.Split(string(value), ",")
		chunked = strings.EqualFold(strings.TrimSpace(codings[len(codings)-1]), "chunked")
	}
	return chunked
}

// dechunk removes chunked framing. A body cut short (a truncated capture)
// gives what was decoded so far; ok is false only when the body does not
// start with a chunk-size line at all.
func dechunk(body []byte) (out []byte, ok bool) {
	r := bufio.NewReader(bytes.NewReader(body))
	out = []byte{}
	for first := true; ; first = false {
		line, err := r.ReadString('\n')
		if err != nil && line == "" {
			return out, !first
		}
		line = strings.TrimSpace(line)
		if i := strings.IndexByte(line, ';'); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		n, perr := strconv.ParseUint(line, 16, 63)
		if perr != nil {
			return out, !first
		}
		if n == 0 {
			return out, true
		}
		start := len(out)
		out = append(out, make([]byte, int(min(n, uint64(len(body)))))...)
		got, _ := io.ReadFull(r, out[start:])
		out = out[:start+got]
		if uint64(got) < n {
			return out, true
		}
		// The CRLF after the chunk data.
		if _, err := r.ReadString('\n'); err != nil {
			return out, true
		}
	}
}
