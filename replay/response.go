package replay

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
)

// archived is an archived response, parsed: its status, its headers as
// received, and its entity body with transfer-coding removed.
type archived struct {
	Status  int
	Header  http.Header
	Entity  []byte // transfer-coding removed, content-coding kept
	Partial bool   // the stored body ended early (truncated capture or broken framing)
}

// parseArchived parses a stored response head and body. A body cut short
// (a truncated capture, broken chunking) gives what could be read.
func parseArchived(head, body []byte) (*archived, error) {
	if len(head) == 0 {
		return nil, errors.New("replay: capture has no response head")
	}
	r := bufio.NewReaderSize(io.MultiReader(bytes.NewReader(head), bytes.NewReader(body)), 4096)
	resp, err := http.ReadResponse(r, &http.Request{Method: http.MethodGet})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	// Size the buffer from the stored body: the entity is at most that long.
	buf := bytes.NewBuffer(make([]byte, 0, len(body)))
	_, err = buf.ReadFrom(resp.Body)
	a := &archived{Status: resp.StatusCode, Header: resp.Header, Entity: buf.Bytes(), Partial: err != nil}
	// http.ReadResponse removes chunked from the header it returns; the
	// archived head keeps it, which is what X-Archive-Orig-* shows.
	if len(resp.TransferEncoding) > 0 {
		a.Header["Transfer-Encoding"] = resp.TransferEncoding
	}
	return a, nil
}

// decodeContent removes the content-codings listed in the
// Content-Encoding header values, last applied first. It reports false
// when a coding is unknown (the entity is then returned as it was, for the
// browser to decode). A damaged or truncated stream gives what decoded
// before the damage. Output beyond limit bytes is cut (a decompression bomb
// costs no more than limit).
func decodeContent(entity []byte, encodings []string, limit int64) (out []byte, ok, cut bool) {
	var codings []string
	for _, v := range encodings {
		for _, c := range strings.Split(v, ",") {
			c = strings.ToLower(strings.TrimSpace(c))
			if c != "" && c != "identity" {
				codings = append(codings, c)
			}
		}
	}
	out = entity
	for i := len(codings) - 1; i >= 0; i-- {
		var r io.Reader
		src := bytes.NewReader(out)
		switch codings[i] {
		case "gzip", "x-gzip":
			zr, err := gzip.NewReader(src)
			if err != nil {
				return entity, false, false
			}
			r = zr
		case "deflate":
			// "deflate" is zlib by the RFC, raw deflate by some servers.
			if zr, err := zlib.NewReader(bytes.NewReader(out)); err == nil {
				r = zr
			} else {
				r = flate.NewReader(src)
			}
		case "br":
			r = brotli.NewReader(src)
		case "zstd":
			zr, err := zstd.NewReader(src, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(uint64(limit)+1<<20))
			if err != nil {
				return entity, false, false
			}
			defer zr.Close()
			r = zr
		default:
			return entity, false, false
		}
		var buf bytes.Buffer
		buf.Grow(min(4*len(out)+512, int(limit)))
		n, _ := buf.ReadFrom(io.LimitReader(r, limit+1))
		if n > limit {
			buf.Truncate(int(limit))
			cut = true
		}
		out = buf.Bytes()
	}
	return out, true, cut
}

// hopHeaders are never copied to the replayed response: they describe the
// archived connection, or are recomputed.
var hopHeaders = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true,
	"Transfer-Encoding": true, "Te": true, "Trailer": true, "Upgrade": true,
	"Proxy-Authenticate": true, "Proxy-Authorization": true,
	"Content-Length": true, "Content-Encoding": true, "Content-Md5": true,
	"Content-Range": true, "Accept-Ranges": true,
	"Date": true, "Server": true, "Age": true, "Expires": true, "Cache-Control": true, "Pragma": true, "Vary": true,
}

// unsafeHeaders are never copied either: they would set state in the
// reader's browser, change its security policy for the replay origin or
// make it reach the live web.
var unsafeHeaders = map[string]bool{
	"Set-Cookie": true, "Set-Cookie2": true,
	"Content-Security-Policy": true, "Content-Security-Policy-Report-Only": true, "X-Content-Security-Policy": true, "X-Webkit-Csp": true,
	"Strict-Transport-Security": true, "Public-Key-Pins": true, "Public-Key-Pins-Report-Only": true, "Expect-Ct": true,
	"Alt-Svc": true, "Clear-Site-Data": true, "Link": true, "Refresh": true, "Location": true,
	"Access-Control-Allow-Origin": true, "Access-Control-Allow-Credentials": true, "Access-Control-Allow-Headers": true,
	"Access-Control-Allow-Methods": true, "Access-Control-Expose-Headers": true, "Access-Control-Max-Age": true,
	"Service-Worker-Allowed": true, "Report-To": true, "Reporting-Endpoints": true, "Nel": true,
	"Permissions-Policy": true, "Feature-Policy": true, "Origin-Agent-Cluster": true,
	"Cross-Origin-Opener-Policy": true, "Cross-Origin-Embedder-Policy": true, "Cross-Origin-Resource-Policy": true,
	"X-Frame-Options": true, "X-Xss-Protection": true, "Etag": true, "Www-Authenticate": true,
	"Server-Timing": true, "Timing-Allow-Origin": true, "Sourcemap": true, "X-Sourcemap": true,
	"Supports-Loading-Mode": true, "Speculation-Rules": true, "X-Dns-Prefetch-Control": true,
}

// copyHeaders writes the archived headers that matter to dst as they were
// (Content-Type, Last-Modified, Content-Language, Content-Disposition and
// the like) and every archived header as X-Archive-Orig-*.
func copyHeaders(dst, src http.Header) {
	for k, vs := range src {
		for _, v := range vs {
			dst.Add("X-Archive-Orig-"+k, v)
		}
		if hopHeaders[k] || unsafeHeaders[k] || strings.HasPrefix(k, "X-Archive-") {
			continue
		}
		dst[k] = append(dst[k], vs...)
	}
}

// mediaType returns the lower-case media type of a Content-Type value.
func mediaType(ct string) string {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return strings.ToLower(strings.TrimSpace(ct))
}

// isHTML, isCSS report the kinds of resource replay rewrites.
func isHTML(mt string) bool { return mt == "text/html" || mt == "application/xhtml+xml" }
func isCSS(mt string) bool  { return mt == "text/css" }
