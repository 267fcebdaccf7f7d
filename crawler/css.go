package crawler

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"github.com/amberarchive/amber/internal/pct"
)

// CSSLinks returns the URLs referenced by a stylesheet, in order: url(...)
// unquoted or in either quote, @import "x" and @import url(x), and the strings
// of image-set(). URLs are returned with CSS escapes undone and surrounding
// spaces trimmed, unresolved. Comments, other strings (content: "url(x)"),
// empty and data: URLs are skipped. It works as well on a style attribute.
//
// The scanner follows the tokenizer of CSS Syntax Level 3 only as far as
// needed to find these tokens, so it is not fooled by comments or strings and
// never fails: malformed input yields what could be read.
func CSSLinks(css []byte) []string {
	s := cssScanner{src: css}
	return s.links()
}

// cssScanner walks a stylesheet byte by byte.
type cssScanner struct {
	src []byte
	pos int
	out []string
}

func (s *cssScanner) peek(off int) byte {
	if s.pos+off < len(s.src) {
		return s.src[s.pos+off]
	}
	return 0
}

func (s *cssScanner) emit(u string) {
	u = strings.TrimSpace(u)
	if u == "" || len(u) >= 5 && strings.EqualFold(u[:5], "data:") {
		return
	}
	s.out = append(s.out, u)
}

func (s *cssScanner) links() []string {
	imageSetDepth := 0 // parenthesis depth inside image-set(), 0 outside
	for s.pos < len(s.src) {
		c := s.src[s.pos]
		switch {
		case c == '/' && s.peek(1) == '*':
			s.skipComment()
		case c == '"' || c == '\'':
			str := s.readString()
			if imageSetDepth > 0 {
				s.emit(str)
			}
		case c == '@':
			s.pos++
			if isIdentStart(s.peek(0), s.peek(1), s.peek(2)) {
				if bytes.EqualFold(s.readIdent(), []byte("import")) {
					s.atImport()
				}
			}
		case c == '\\' && validEscape(c, s.peek(1)):
			s.identLike(&imageSetDepth)
		case isNameStart(c) || c == '-':
			if isIdentStart(c, s.peek(1), s.peek(2)) {
				s.identLike(&imageSetDepth)
			} else {
				s.pos++
			}
		case c == '#':
			// A hash token ("#url") is not a function name.
			s.pos++
			s.readIdent()
		case c == '(':
			if imageSetDepth > 0 {
				imageSetDepth++
			}
			s.pos++
		case c == ')':
			if imageSetDepth > 0 {
				imageSetDepth--
			}
			s.pos++
		case isDigit(c):
			// Numbers and dimensions ("10px") must not start an identifier.
			s.pos++
			for s.pos < len(s.src) && (isNameChar(s.src[s.pos]) || s.src[s.pos] == '.') {
				s.pos++
			}
		default:
			s.pos++
		}
	}
	return s.out
}

// identLike reads an identifier and, if it opens url( or image-set(), what
// follows.
func (s *cssScanner) identLike(imageSetDepth *int) {
	name := s.readIdent()
	if s.peek(0) != '(' {
		return
	}
	switch {
	case bytes.EqualFold(name, []byte("url")):
		s.pos++
		if u, ok := s.readURLBody(); ok {
			s.emit(u)
		}
	case bytes.EqualFold(name, []byte("image-set")), bytes.EqualFold(name, []byte("-webkit-image-set")):
		s.pos++
		if *imageSetDepth > 0 {
			*imageSetDepth++
		} else {
			*imageSetDepth = 1
		}
	}
}

// atImport reads what follows "@import": a string or url().
func (s *cssScanner) atImport() {
	s.skipSpaceAndComments()
	switch c := s.peek(0); {
	case c == '"' || c == '\'':
		s.emit(s.readString())
	case isIdentStart(c, s.peek(1), s.peek(2)):
		if bytes.EqualFold(s.readIdent(), []byte("url")) && s.peek(0) == '(' {
			s.pos++
			if u, ok := s.readURLBody(); ok {
				s.emit(u)
			}
		}
	}
}

func (s *cssScanner) skipComment() {
	end := bytes.Index(s.src[s.pos+2:], []byte("*/"))
	if end < 0 {
		s.pos = len(s.src)
		return
	}
	s.pos += 2 + end + 2
}

func (s *cssScanner) skipSpaceAndComments() {
	for s.pos < len(s.src) {
		c := s.src[s.pos]
		switch {
		case isCSSSpace(c):
			s.pos++
		case c == '/' && s.peek(1) == '*':
			s.skipComment()
		default:
			return
		}
	}
}

// readString reads a quoted string at s.pos and returns its value. An
// unescaped newline ends a (bad) string, as in CSS.
func (s *cssScanner) readString() string {
	q := s.src[s.pos]
	s.pos++
	var b strings.Builder
	for s.pos < len(s.src) {
		c := s.src[s.pos]
		switch {
		case c == q:
			s.pos++
			return b.String()
		case c == '\n' || c == '\r' || c == '\f':
			return b.String() // bad string: the newline is left for the caller
		case c == '\\':
			next := s.peek(1)
			switch {
			case s.pos+1 >= len(s.src):
				s.pos++
			case next == '\n' || next == '\f':
				s.pos += 2
			case next == '\r':
				s.pos += 2
				if s.peek(0) == '\n' {
					s.pos++
				}
			default:
				s.pos++
				b.WriteRune(s.readEscape())
			}
		default:
			b.WriteByte(c)
			s.pos++
		}
	}
	return b.String()
}

// readURLBody reads after "url(": a quoted string then ")", or an unquoted
// URL. ok is false for a bad url (the rest up to ")" is skipped).
func (s *cssScanner) readURLBody() (string, bool) {
	for s.pos < len(s.src) && isCSSSpace(s.src[s.pos]) {
		s.pos++
	}
	if c := s.peek(0); c == '"' || c == '\'' {
		u := s.readString()
		// Expect optional space then ")"; anything else makes it bad, but the
		// string was the URL the author meant, so keep it.
		s.skipBadURLRest()
		return u, true
	}
	var b strings.Builder
	for s.pos < len(s.src) {
		c := s.src[s.pos]
		switch {
		case c == ')':
			s.pos++
			return b.String(), true
		case isCSSSpace(c):
			for s.pos < len(s.src) && isCSSSpace(s.src[s.pos]) {
				s.pos++
			}
			if s.peek(0) == ')' || s.pos >= len(s.src) {
				s.pos++
				return b.String(), true
			}
			s.skipBadURLRest()
			return "", false
		case c == '"' || c == '\'' || c == '(' || c < 0x09 || c == 0x0b || c == 0x0e || c == 0x7f || (c > 0x0e && c < 0x20):
			s.skipBadURLRest()
			return "", false
		case c == '\\':
			if !validEscape(c, s.peek(1)) {
				s.skipBadURLRest()
				return "", false
			}
			s.pos++
			b.WriteRune(s.readEscape())
		default:
			b.WriteByte(c)
			s.pos++
		}
	}
	return b.String(), true // EOF in url(): a parse error, but the URL is whole
}

// skipBadURLRest consumes up to and including the next ")", skipping escapes.
func (s *cssScanner) skipBadURLRest() {
	for s.pos < len(s.src) {
		c := s.src[s.pos]
		s.pos++
		if c == ')' {
			return
		}
		if c == '\\' && s.pos < len(s.src) {
			s.pos++
		}
	}
}

// readIdent reads a CSS name (identifier characters and escapes). Without
// escapes it returns a slice of the source, so scanning does not allocate.
func (s *cssScanner) readIdent() []byte {
	start := s.pos
	for s.pos < len(s.src) && isNameChar(s.src[s.pos]) {
		s.pos++
	}
	if s.pos >= len(s.src) || !validEscape(s.src[s.pos], s.peek(1)) {
		return s.src[start:s.pos]
	}
	b := append([]byte(nil), s.src[start:s.pos]...)
	for s.pos < len(s.src) {
		c := s.src[s.pos]
		switch {
		case isNameChar(c):
			b = append(b, c)
			s.pos++
		case validEscape(c, s.peek(1)):
			s.pos++
			b = utf8.AppendRune(b, s.readEscape())
		default:
			return b
		}
	}
	return b
}

// readEscape reads an escape after its backslash: 1 to 6 hex digits and one
// optional space, or any other single character.
func (s *cssScanner) readEscape() rune {
	if s.pos >= len(s.src) {
		return utf8.RuneError
	}
	if isHex(s.src[s.pos]) {
		var r rune
		n := 0
		for n < 6 && s.pos < len(s.src) && isHex(s.src[s.pos]) {
			v, _ := pct.Unhex(s.src[s.pos])
			r = r<<4 | rune(v)
			s.pos++
			n++
		}
		if s.pos < len(s.src) && isCSSSpace(s.src[s.pos]) {
			if s.src[s.pos] == '\r' && s.peek(1) == '\n' {
				s.pos++
			}
			s.pos++
		}
		if r == 0 || r > utf8.MaxRune || (r >= 0xD800 && r <= 0xDFFF) {
			return utf8.RuneError
		}
		return r
	}
	r, size := utf8.DecodeRune(s.src[s.pos:])
	s.pos += size
	return r
}

func isCSSSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isHex(c byte) bool {
	_, ok := pct.Unhex(c)
	return ok
}

func isNameStart(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || c >= 0x80
}

func isNameChar(c byte) bool { return isNameStart(c) || isDigit(c) || c == '-' }

// validEscape reports whether a backslash c followed by d starts an escape.
func validEscape(c, d byte) bool {
	return c == '\\' && d != '\n' && d != '\r' && d != '\f' && d != 0
}

// isIdentStart reports whether three bytes start an identifier (CSS Syntax
// 4.3.9).
func isIdentStart(a, b, c byte) bool {
	switch {
	case a == '-':
		return isNameStart(b) || b == '-' || validEscape(b, c)
	case isNameStart(a):
		return true
	case a == '\\':
		return validEscape(a, b)
	}
	return false
}
