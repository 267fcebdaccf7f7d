package replay

import (
	"bytes"
	"strings"
)

// rewriteCSS rewrites the URLs of a stylesheet (or a style attribute, or a
// <style> element): every url(...) to an image (im_) and every @import,
// string or url(), to a stylesheet (cs_). Comments, strings and everything
// else are copied as they are. It appends to dst.
func (rw *rewriter) rewriteCSS(dst, css []byte) []byte {
	if !containsFold(css, "url(") && !containsFold(css, "@import") {
		return append(dst, css...)
	}
	i, last := 0, 0
	afterImport := false // the next string is an @import target
	for i < len(css) {
		c := css[i]
		switch {
		case c == '/' && i+1 < len(css) && css[i+1] == '*':
			end := bytes.Index(css[i+2:], []byte("*/"))
			if end < 0 {
				i = len(css)
			} else {
				i += end + 4
			}
		case c == '"' || c == '\'':
			end := cssStringEnd(css, i)
			if afterImport {
				dst = append(dst, css[last:i+1]...)
				dst = rw.cssURL(dst, css[i+1:end], modCSS, c)
				last = end
				afterImport = false
			}
			i = end + 1
		case c == '\\':
			i += 2
		case c == '@' && hasPrefixFold(css[i:], "@import"):
			afterImport = true
			i += len("@import")
		case (c == 'u' || c == 'U') && hasPrefixFold(css[i:], "url(") && (i == 0 || !isIdentByte(css[i-1])):
			mod := modImage
			if afterImport {
				mod = modCSS
			}
			afterImport = false
			j := i + 4
			for j < len(css) && isCSSSpace(css[j]) {
				j++
			}
			if j < len(css) && (css[j] == '"' || css[j] == '\'') {
				q := css[j]
				end := cssStringEnd(css, j)
				dst = append(dst, css[last:j+1]...)
				dst = rw.cssURL(dst, css[j+1:end], mod, q)
				last = end
				i = end + 1
				continue
			}
			// Unquoted: up to ")", trailing spaces not part of the URL.
			end := bytes.IndexByte(css[j:], ')')
			if end < 0 {
				i = len(css)
				continue
			}
			end += j
			k := end
			for k > j && isCSSSpace(css[k-1]) {
				k--
			}
			raw := css[j:k]
			if bytes.ContainsAny(raw, "\\\"'(") || len(raw) == 0 {
				// Escapes and bad URLs are left alone: a wrong rewrite is
				// worse than none, and the CSP keeps them in the archive.
				i = end + 1
				continue
			}
			dst = append(dst, css[last:j]...)
			dst = rw.cssURL(dst, raw, mod, 0)
			last = k
			i = end + 1
		case c == ';' || c == '{' || c == '}':
			afterImport = false
			i++
		default:
			i++
		}
	}
	return append(dst, css[last:]...)
}

// cssURL appends the rewritten form of a URL found in CSS, escaped for a
// string quoted with q (0: unquoted url()).
func (rw *rewriter) cssURL(dst, raw []byte, mod string, q byte) []byte {
	s := string(raw)
	if bytes.IndexByte(raw, '\\') >= 0 {
		return append(dst, raw...)
	}
	out := rw.url(s, mod)
	if out == s {
		return append(dst, raw...)
	}
	for i := 0; i < len(out); i++ {
		c := out[i]
		switch {
		case q != 0 && c == q, c == '\\':
			dst = append(dst, '\\', c)
		case q == 0 && (c == '(' || c == ')' || c == '"' || c == '\'' || c == ' '):
			dst = append(dst, '%')
			dst = append(dst, "0123456789ABCDEF"[c>>4], "0123456789ABCDEF"[c&15])
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// cssStringEnd returns the index of the quote closing the string opened at
// css[i]; for an unclosed string, that of the newline ending it, or len(css).
func cssStringEnd(css []byte, i int) int {
	q := css[i]
	for j := i + 1; j < len(css); j++ {
		switch css[j] {
		case '\\':
			j++
		case q, '\n':
			return j
		}
	}
	return len(css)
}

func isCSSSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

func isIdentByte(c byte) bool {
	return c == '-' || c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c >= 0x80
}

func hasPrefixFold(b []byte, p string) bool {
	return len(b) >= len(p) && strings.EqualFold(string(b[:len(p)]), p)
}

// containsFold reports whether b contains the ASCII string p, ignoring case.
func containsFold(b []byte, p string) bool {
	if len(p) == 0 {
		return true
	}
	first := p[0]
	upper := first
	if 'a' <= first && first <= 'z' {
		upper = first - 32
	}
	for i := 0; i+len(p) <= len(b); i++ {
		if (b[i] == first || b[i] == upper) && strings.EqualFold(string(b[i:i+len(p)]), p) {
			return true
		}
	}
	return false
}
