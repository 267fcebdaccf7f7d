package wacz

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"io"
	"strings"

	"github.com/andybalholm/brotli"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
	"golang.org/x/net/html/charset"

	"github.com/amberarchive/amber/warc"
)

// maxText bounds the extracted text of one page.
const maxText = 100_000

// Extract returns the <title> and the visible text of an HTML response,
// given its head and its body as received: chunked framing removed,
// content-coding (gzip, deflate, br) decoded, charset converted to UTF-8
// from the Content-Type header or the document's <meta>. Script, style
// and similar elements are left out; whitespace runs become one space.
func Extract(head, body []byte) (title, text string) {
	h, err := warc.ParseHTTPHead(head)
	if err != nil {
		return "", ""
	}
	if h.Chunked() {
		if d, err := warc.Dechunk(body); err == nil || len(d) > 0 {
			body = d
		}
	}
	var r io.Reader = bytes.NewReader(body)
	switch strings.ToLower(strings.TrimSpace(h.Fields.Get("Content-Encoding"))) {
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(r)
		if err != nil {
			return "", ""
		}
		r = zr
	case "deflate":
		r = flate.NewReader(r)
	case "br":
		r = brotli.NewReader(r)
	}
	dec, err := io.ReadAll(io.LimitReader(r, 32<<20))
	if err != nil && len(dec) == 0 {
		return "", ""
	}
	ur, err := charset.NewReader(bytes.NewReader(dec), h.Fields.Get("Content-Type"))
	if err != nil {
		return "", ""
	}
	doc, err := html.Parse(ur)
	if err != nil {
		return "", ""
	}
	var tb, xb strings.Builder
	var walk func(n *html.Node, inTitle bool)
	walk = func(n *html.Node, inTitle bool) {
		if n.Type == html.ElementNode {
			switch n.DataAtom {
			case atom.Script, atom.Style, atom.Noscript, atom.Template, atom.Iframe, atom.Svg, atom.Object:
				return
			case atom.Title:
				inTitle = true
			}
		}
		if n.Type == html.TextNode {
			if inTitle {
				tb.WriteString(n.Data)
			} else if xb.Len() < maxText {
				xb.WriteString(n.Data)
				xb.WriteByte(' ')
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, inTitle)
		}
	}
	walk(doc, false)
	text = strings.Join(strings.Fields(xb.String()), " ")
	if len(text) > maxText {
		text = strings.ToValidUTF8(text[:maxText], "")
	}
	return strings.Join(strings.Fields(tb.String()), " "), text
}
