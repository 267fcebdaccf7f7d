package replay

import (
	"bytes"
	"html"
	"net/url"
	"strings"

	nethtml "golang.org/x/net/html"
)

// rewriter turns the links of one archived resource into links to the same
// archive at the resource's own timestamp, so that a reader (and the
// browser fetching images, styles and scripts) stays inside the snapshot.
type rewriter struct {
	ts   string   // 14-digit timestamp of the resource
	base *url.URL // what relative links resolve against (the URL, or <base href>)
}

func newRewriter(ts string, pageURL string) *rewriter {
	u, err := url.Parse(pageURL)
	if err != nil {
		u = &url.URL{Scheme: "http", Host: "invalid.invalid", Path: "/"}
	}
	return &rewriter{ts: ts, base: u}
}

// url returns the archive URL of ref (resolved against the base) with the
// modifier mod: "/web/TSmod/ABSOLUTE#fragment". Links that are not web
// resources (javascript:, data:, mailto:, tel:, ...), fragments alone and
// empty links are returned unchanged.
func (rw *rewriter) url(ref, mod string) string {
	s := strings.TrimSpace(ref)
	if s == "" || s[0] == '#' {
		return ref
	}
	if scheme, ok := refScheme(s); ok {
		switch scheme {
		case "http", "https":
		default:
			// javascript:, data:, mailto:, tel:, about:, blob:, custom
			// schemes: not something the browser fetches from the web.
			return ref
		}
	}
	if abs, ok := rw.fastResolve(s); ok {
		return "/web/" + rw.ts + mod + "/" + abs
	}
	abs, err := rw.base.Parse(s)
	if err != nil || abs.Host == "" {
		// Unparsable: never leave a link that names another host, even
		// broken; one without a host resolves inside the archive anyway.
		switch {
		case strings.HasPrefix(s, "//"):
			return "/web/" + rw.ts + mod + "/" + rw.base.Scheme + ":" + s
		case strings.HasPrefix(strings.ToLower(s), "http"):
			return "/web/" + rw.ts + mod + "/" + s
		}
		return ref
	}
	if abs.Scheme != "http" && abs.Scheme != "https" {
		return ref
	}
	return "/web/" + rw.ts + mod + "/" + abs.String()
}

// fastResolve resolves the common simple references (absolute http(s)
// URLs and root-relative paths made of plain characters, without dot
// segments) without net/url, giving what base.Parse(ref).String() would.
func (rw *rewriter) fastResolve(ref string) (string, bool) {
	var rest string
	switch {
	case strings.HasPrefix(ref, "http://"), strings.HasPrefix(ref, "https://"):
		rest = ref[strings.Index(ref, "://")+3:]
		if i := strings.IndexAny(rest, "/?#"); i <= 0 || rest[i] != '/' {
			return "", false
		} else if !plainHost(rest[:i]) {
			return "", false
		} else {
			rest = rest[i:]
		}
	case len(ref) > 1 && ref[0] == '/' && ref[1] != '/' && ref[1] != '\\':
		if rw.base.RawPath != "" || rw.base.Opaque != "" || rw.base.User != nil || !plainHost(rw.base.Host) {
			return "", false
		}
		rest = ref
		ref = ""
	default:
		return "", false
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-' || c == '_' || c == '~' || c == '/' || c == '?' || c == '&' || c == '=' || c == '+' || c == ',' || c == ';' || c == ':' || c == '@':
		case c == '.':
			if rest[i-1] == '/' { // a dot segment, or a dotfile: leave it to net/url
				return "", false
			}
		case c == '#':
			// A fragment of plain characters is fine too; stop checking the
			// path here but check the fragment the same way.
		default:
			return "", false
		}
	}
	if ref == "" {
		return rw.base.Scheme + "://" + rw.base.Host + rest, true
	}
	return ref, true
}

// plainHost reports whether a host[:port] needs no normalising.
func plainHost(h string) bool {
	if h == "" {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

// refScheme returns the lower-case scheme of a URL reference, if it has one.
func refScheme(s string) (string, bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		case c == ':' && i > 0:
			return strings.ToLower(s[:i]), true
		case c == '\t' || c == '\n' || c == '\r':
			// Browsers drop these anywhere in a URL: "java\nscript:".
			return refScheme(strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(s))
		default:
			return "", false
		}
	}
	return "", false
}

// attrMod returns the modifier for a link in attribute key of element tag,
// and whether that attribute holds a URL at all.
func attrMod(tag, key string, rel, as string) (string, bool) {
	switch key {
	case "href":
		switch tag {
		case "a", "area":
			return modPage, true
		case "link":
			return linkMod(rel, as), true
		case "image", "use":
			return modImage, true
		}
	case "xlink:href":
		if tag == "image" {
			return modImage, true
		}
		return modPage, true
	case "src":
		switch tag {
		case "img", "input":
			return modImage, true
		case "script":
			return modJS, true
		case "iframe", "frame":
			return modFrame, true
		case "embed", "audio", "video", "source", "track":
			return modEmbed, true
		}
	case "srcset":
		if tag == "img" || tag == "source" {
			return modImage, true
		}
	case "data":
		if tag == "object" {
			return modEmbed, true
		}
	case "poster":
		if tag == "video" {
			return modImage, true
		}
	case "background":
		switch tag {
		case "body", "table", "td", "th", "tr":
			return modImage, true
		}
	case "action":
		if tag == "form" {
			return modPage, true
		}
	case "formaction":
		if tag == "button" || tag == "input" {
			return modPage, true
		}
	case "cite":
		switch tag {
		case "blockquote", "q", "del", "ins":
			return modPage, true
		}
	case "longdesc":
		if tag == "img" || tag == "frame" || tag == "iframe" {
			return modPage, true
		}
	}
	return "", false
}

// linkMod picks the modifier of a <link href> from its rel and as.
func linkMod(rel, as string) string {
	for _, r := range strings.Fields(strings.ToLower(rel)) {
		switch r {
		case "stylesheet":
			return modCSS
		case "icon", "apple-touch-icon", "apple-touch-icon-precomposed", "mask-icon", "image_src":
			return modImage
		case "preload", "prefetch", "modulepreload":
			switch strings.ToLower(as) {
			case "style":
				return modCSS
			case "script", "worker", "":
				if r == "modulepreload" || strings.ToLower(as) != "" {
					return modJS
				}
			case "image":
				return modImage
			case "font", "audio", "video", "track", "fetch":
				return modEmbed
			}
		}
	}
	return modPage
}

// urlTags are the elements whose attributes may hold links; any element
// may also carry a style attribute.
var urlTags = map[string]bool{
	"a": true, "area": true, "link": true, "img": true, "input": true, "script": true,
	"iframe": true, "frame": true, "embed": true, "audio": true, "video": true,
	"source": true, "track": true, "object": true, "body": true, "table": true,
	"td": true, "th": true, "tr": true, "form": true, "button": true, "blockquote": true,
	"q": true, "del": true, "ins": true, "base": true, "meta": true, "image": true, "use": true,
}

// attr is one attribute of a start tag as written: its lower-case name,
// its value with character references decoded, and where its name and its
// value (quotes included) sit in the raw tag, so that a rewrite replaces
// only that value and leaves every other byte of the tag alone.
type attr struct {
	key           string
	raw           []byte // the value as written, without quotes
	val           string // the value decoded, once value has been called
	decoded       bool
	keyStart      int
	valStart, end int // valStart == end: no value
	drop, changed bool
}

// value returns the attribute's value with character references decoded.
func (a *attr) value() string {
	if !a.decoded {
		a.val, a.decoded = unescapeAttr(a.raw), true
	}
	return a.val
}

func unescapeAttr(b []byte) string {
	if bytes.IndexByte(b, '&') < 0 {
		return string(b)
	}
	return html.UnescapeString(string(b))
}

// internKey returns the lower-case attribute name, without allocating for
// the common ones.
func internKey(b []byte) string {
	switch string(b) {
	case "href":
		return "href"
	case "src":
		return "src"
	case "srcset":
		return "srcset"
	case "class":
		return "class"
	case "id":
		return "id"
	case "rel":
		return "rel"
	case "style":
		return "style"
	case "alt":
		return "alt"
	case "title":
		return "title"
	case "type":
		return "type"
	case "width":
		return "width"
	case "height":
		return "height"
	case "target":
		return "target"
	case "name":
		return "name"
	case "content":
		return "content"
	case "media":
		return "media"
	case "sizes":
		return "sizes"
	case "lang":
		return "lang"
	case "charset":
		return "charset"
	case "role":
		return "role"
	case "action":
		return "action"
	case "method":
		return "method"
	case "placeholder":
		return "placeholder"
	case "datetime":
		return "datetime"
	case "integrity":
		return "integrity"
	case "crossorigin":
		return "crossorigin"
	}
	return strings.ToLower(string(b))
}

// rewriteHTML rewrites the links of an HTML document and inserts banner
// (if not nil) just after the <body> start tag, or at the end when there
// is none. Bytes outside rewritten tags are copied unchanged, so the
// document's own charset (UTF-8, GBK, ...) is kept. It appends to dst.
func (rw *rewriter) rewriteHTML(dst, src, banner []byte) []byte {
	z := nethtml.NewTokenizer(bytes.NewReader(src))
	z.SetMaxBuf(0)
	baseSeen := false
	inStyle := false
	var attrs []attr
	var tagBuf []byte
	for {
		tt := z.Next()
		if tt == nethtml.ErrorToken {
			break
		}
		raw := z.Raw()
		switch tt {
		case nethtml.TextToken:
			if inStyle {
				dst = rw.rewriteCSS(dst, raw)
				continue
			}
		case nethtml.EndTagToken:
			inStyle = false
		case nethtml.StartTagToken, nethtml.SelfClosingTagToken:
			// Copy the tag first: TagName and TagAttr lower-case and
			// unescape the tokenizer's buffer in place.
			mark := len(dst)
			dst = append(dst, raw...)
			name, hasAttr := z.TagName()
			if tt == nethtml.StartTagToken && string(name) == "style" {
				inStyle = true
			}
			if hasAttr && (urlTags[string(name)] || containsFold(dst[mark:], "style")) {
				attrs = scanAttrs(dst[mark:], attrs[:0])
				if rw.rewriteAttrs(string(name), attrs, &baseSeen) {
					tagBuf = append(tagBuf[:0], dst[mark:]...)
					dst = writeTag(dst[:mark], tagBuf, attrs)
				}
			}
			if string(name) == "body" && banner != nil {
				dst = append(dst, banner...)
				banner = nil
			}
			continue
		}
		dst = append(dst, raw...)
	}
	if banner != nil {
		dst = append(dst, banner...)
	}
	return dst
}

// scanAttrs splits a raw start tag ("<a href=x>") into attributes, by the
// rules of the HTML tokenizer, appending them to attrs.
func scanAttrs(tag []byte, attrs []attr) []attr {
	i := 1
	for i < len(tag) && !isHTMLSpace(tag[i]) && tag[i] != '/' && tag[i] != '>' {
		i++
	}
	for i < len(tag) {
		for i < len(tag) && (isHTMLSpace(tag[i]) || tag[i] == '/') {
			i++
		}
		if i >= len(tag) || tag[i] == '>' {
			break
		}
		ks := i
		i++ // a first '=' belongs to the name
		for i < len(tag) && !isHTMLSpace(tag[i]) && tag[i] != '/' && tag[i] != '>' && tag[i] != '=' {
			i++
		}
		a := attr{key: internKey(tag[ks:i]), keyStart: ks, valStart: i, end: i}
		j := i
		for j < len(tag) && isHTMLSpace(tag[j]) {
			j++
		}
		if j < len(tag) && tag[j] == '=' {
			j++
			for j < len(tag) && isHTMLSpace(tag[j]) {
				j++
			}
			vs := j
			if j < len(tag) && (tag[j] == '"' || tag[j] == '\'') {
				q := tag[j]
				if k := bytes.IndexByte(tag[j+1:], q); k < 0 {
					j = len(tag)
					a.raw = tag[vs+1:]
				} else {
					j += k + 2
					a.raw = tag[vs+1 : j-1]
				}
			} else {
				for j < len(tag) && !isHTMLSpace(tag[j]) && tag[j] != '>' {
					j++
				}
				a.raw = tag[vs:j]
			}
			a.valStart, a.end, i = vs, j, j
		}
		attrs = append(attrs, a)
	}
	return attrs
}

func isHTMLSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

// rewriteAttrs rewrites the link attributes of one start tag, marking
// what changed. It drops attributes that would break or leak once the
// document is rewritten (integrity, ping) and reports whether anything
// changed.
func (rw *rewriter) rewriteAttrs(tag string, attrs []attr, baseSeen *bool) bool {
	changed := false
	var rel, as, httpEquiv string
	for i := range attrs {
		switch a := &attrs[i]; a.key {
		case "rel":
			rel = a.value()
		case "as":
			as = a.value()
		case "http-equiv":
			httpEquiv = a.value()
		}
	}
	for i := range attrs {
		a := &attrs[i]
		if (a.key == "integrity" && (tag == "script" || tag == "link")) || (a.key == "ping" && (tag == "a" || tag == "area")) {
			a.drop, changed = true, true
			continue
		}
		if a.valStart == a.end {
			continue
		}
		var nv string
		switch {
		case a.key == "style":
			if !containsFold(a.raw, "url(") && !containsFold(a.raw, "@import") {
				continue
			}
			nv = string(rw.rewriteCSS(nil, []byte(a.value())))
		case tag == "base" && a.key == "href":
			b, err := rw.base.Parse(strings.TrimSpace(a.value()))
			if err != nil || (b.Scheme != "http" && b.Scheme != "https") {
				// A javascript:, data: or unparsable base would leave the
				// browser resolving against nothing useful: point it at the
				// page itself, inside the archive.
				nv = rw.url(rw.base.String(), modPage)
				break
			}
			if !*baseSeen {
				*baseSeen = true
				rw.base = b
			}
			nv = rw.url(a.value(), modPage)
		case tag == "meta" && a.key == "content" && strings.EqualFold(strings.TrimSpace(httpEquiv), "refresh"):
			nv = rw.metaRefresh(a.value())
		case a.key == "srcset":
			if _, ok := attrMod(tag, a.key, rel, as); !ok {
				continue
			}
			nv = rw.srcset(a.value())
		default:
			mod, ok := attrMod(tag, a.key, rel, as)
			if !ok {
				continue
			}
			nv = rw.url(a.value(), mod)
		}
		if nv != a.value() {
			a.val, a.changed, changed = nv, true, true
		}
	}
	return changed
}

// writeTag appends the raw tag with the changed attribute values replaced
// (quoted and escaped) and the dropped attributes removed.
func writeTag(dst, raw []byte, attrs []attr) []byte {
	last := 0
	for _, a := range attrs {
		switch {
		case a.drop:
			dst = append(dst, raw[last:a.keyStart]...)
			last = a.end
		case a.changed:
			dst = append(dst, raw[last:a.valStart]...)
			dst = append(dst, '"')
			dst = append(dst, html.EscapeString(a.val)...)
			dst = append(dst, '"')
			last = a.end
		}
	}
	return append(dst, raw[last:]...)
}

// srcset rewrites each image candidate of a srcset attribute, keeping its
// descriptors ("2x", "640w").
func (rw *rewriter) srcset(v string) string {
	var b strings.Builder
	i := 0
	first := true
	for i < len(v) {
		// Skip whitespace and commas between candidates.
		for i < len(v) && (isCSSSpace(v[i]) || v[i] == ',') {
			i++
		}
		if i >= len(v) {
			break
		}
		start := i
		for i < len(v) && !isCSSSpace(v[i]) {
			i++
		}
		u := v[start:i]
		descr := ""
		if strings.HasSuffix(u, ",") {
			u = strings.TrimRight(u, ",")
		} else {
			// Descriptors run to the next comma outside parentheses.
			ds := i
			depth := 0
			for i < len(v) {
				c := v[i]
				if c == '(' {
					depth++
				} else if c == ')' && depth > 0 {
					depth--
				} else if c == ',' && depth == 0 {
					break
				}
				i++
			}
			descr = strings.TrimSpace(v[ds:i])
		}
		if !first {
			b.WriteString(", ")
		}
		first = false
		b.WriteString(rw.url(u, modImage))
		if descr != "" {
			b.WriteByte(' ')
			b.WriteString(descr)
		}
	}
	return b.String()
}

// metaRefresh rewrites the URL of a <meta http-equiv=refresh> content
// value: "5; url=http://example.com/".
func (rw *rewriter) metaRefresh(v string) string {
	i := 0
	for i < len(v) && (v[i] >= '0' && v[i] <= '9' || v[i] == '.' || isCSSSpace(v[i])) {
		i++
	}
	if i >= len(v) || (v[i] != ';' && v[i] != ',') {
		return v
	}
	i++
	for i < len(v) && isCSSSpace(v[i]) {
		i++
	}
	if len(v)-i >= 3 && strings.EqualFold(v[i:i+3], "url") {
		j := i + 3
		for j < len(v) && isCSSSpace(v[j]) {
			j++
		}
		if j < len(v) && v[j] == '=' {
			i = j + 1
			for i < len(v) && isCSSSpace(v[i]) {
				i++
			}
		}
	}
	rest := v[i:]
	end := len(rest)
	if len(rest) > 0 && (rest[0] == '"' || rest[0] == '\'') {
		q := rest[0]
		i++
		rest = rest[1:]
		end = strings.IndexByte(rest, q)
		if end < 0 {
			end = len(rest)
		}
	}
	u := rest[:end]
	if strings.TrimSpace(u) == "" {
		return v
	}
	return v[:i] + rw.url(u, modPage) + rest[end:]
}
