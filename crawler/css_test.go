package crawler

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCSSLinks(t *testing.T) {
	tests := []struct {
		name string
		css  string
		want []string
	}{
		{name: "empty", css: "", want: nil},
		{name: "unquoted", css: `body{background:url(/img/bg.png) no-repeat}`, want: []string{"/img/bg.png"}},
		{name: "double quoted", css: `a{background:url("a b.png")}`, want: []string{"a b.png"}},
		{name: "single quoted", css: `a{background:url('x.png')}`, want: []string{"x.png"}},
		{name: "spaces inside parens", css: "a{b:url(  x.png  )}\nc{d:url( \"y.png\" )}", want: []string{"x.png", "y.png"}},
		{name: "upper case URL", css: `a{b:URL(x.png)}`, want: []string{"x.png"}},
		{name: "order kept", css: `@import "a.css"; x{y:url(b.png)} z{w:url(c.png)}`, want: []string{"a.css", "b.png", "c.png"}},
		{name: "import string", css: `@import "theme.css";`, want: []string{"theme.css"}},
		{name: "import single quoted with media", css: `@import 'print.css' print;`, want: []string{"print.css"}},
		{name: "import url", css: `@import url(reset.css);`, want: []string{"reset.css"}},
		{name: "import url quoted", css: `@IMPORT url("fonts.css") screen;`, want: []string{"fonts.css"}},
		{name: "import after comment", css: `@import/* c */"a.css";`, want: []string{"a.css"}},
		{name: "comment hides url", css: `/* background: url(old.png); */ a{b:url(new.png)}`, want: []string{"new.png"}},
		{name: "unterminated comment", css: `a{b:url(x.png)} /* url(y.png)`, want: []string{"x.png"}},
		{name: "string hides url", css: `a::before{content:"url(no.png)"} b{c:url(yes.png)}`, want: []string{"yes.png"}},
		{name: "string hides comment start", css: `a{content:"/*"} b{c:url(yes.png)} /* */`, want: []string{"yes.png"}},
		{name: "comment-like in url", css: `a{b:url(/a/*b.png)}`, want: []string{"/a/*b.png"}},
		{name: "escaped quote in string", css: `a{b:url("x\"y.png")}`, want: []string{`x"y.png`}},
		{name: "hex escape", css: `a{b:url(\2f img\2f a\ b.png)}`, want: []string{"/img/a b.png"}},
		{name: "hex escape six digits", css: `a{b:url("\00004a.png")}`, want: []string{"J.png"}},
		{name: "escaped paren", css: `a{b:url(x\).png)}`, want: []string{"x).png"}},
		{name: "escaped function name", css: `a{b:u\72l(x.png)}`, want: []string{"x.png"}},
		{name: "line continuation in string", css: "a{b:url(\"lo\\\nng.png\")}", want: []string{"long.png"}},
		{name: "not url function", css: `a{b:myurl(x.png); c:--url(y.png)} #url(z.png)`, want: nil},
		{name: "data url skipped", css: `a{b:url(data:image/png;base64,iVBOR)} c{d:url("DATA:image/svg+xml;utf8,<svg/>")} e{f:url(ok.png)}`, want: []string{"ok.png"}},
		{name: "empty url skipped", css: `a{b:url()} c{d:url("")}`, want: nil},
		{name: "bad url skipped", css: `a{b:url(x y.png)} c{d:url(ok.png)}`, want: []string{"ok.png"}},
		{name: "bad url quote", css: `a{b:url(x"y.png)} c{d:url(ok.png)}`, want: []string{"ok.png"}},
		{name: "font face", css: `@font-face{font-family:F;src:url(f.woff2) format("woff2"),url('f.woff') format('woff')}`, want: []string{"f.woff2", "f.woff"}},
		{name: "image-set", css: `a{b:image-set("a.png" 1x, url(b.png) 2x); c:-webkit-image-set('c.png' 1x)} d{content:"d.png"}`, want: []string{"a.png", "b.png", "c.png"}},
		{name: "number before ident", css: `a{margin:10url(x.png)}`, want: nil},
		{name: "unterminated url", css: `a{b:url(x.png`, want: []string{"x.png"}},
		{name: "unterminated string", css: "a{b:url(\"x.png\n)} c{d:url(y.png)}", want: []string{"x.png", "y.png"}},
		{name: "absolute and protocol relative", css: `a{b:url(https://cdn.example/a.png)} c{d:url(//cdn.example/b.png)}`, want: []string{"https://cdn.example/a.png", "//cdn.example/b.png"}},
		{name: "style attribute", css: `background-image: url('/wp-content/uploads/hero.jpg'); color: red`, want: []string{"/wp-content/uploads/hero.jpg"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CSSLinks([]byte(tt.css)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("CSSLinks(%q) = %q, want %q", tt.css, got, tt.want)
			}
		})
	}
}

func FuzzCSSLinks(f *testing.F) {
	for _, s := range []string{
		`@import "a.css"; @import url(b.css) screen;`,
		`a{b:url( "x\"y.png" )} /* url(c.png) */ d{content:"url(e)"}`,
		`a{b:u\72l(\2f x\ y.png)} c{d:image-set("a.png" 1x, url(b.png) 2x)}`,
		"a{b:url(\"lo\\\nng\")} e{f:url(data:x)} g{h:url(x y)}",
		`@font-face{src:url(f.woff2) format("woff2")}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, css []byte) {
		links := CSSLinks(css)
		for _, l := range links {
			if l == "" || l != strings.TrimSpace(l) {
				t.Fatalf("CSSLinks(%q) returned %q: empty or untrimmed", css, l)
			}
			if strings.HasPrefix(strings.ToLower(l), "data:") {
				t.Fatalf("CSSLinks(%q) returned data: URL %q", css, l)
			}
		}
		// A comment appended cannot add links.
		more := CSSLinks(append(bytes.Clone(css), "\n/* url(zzz-comment.png) */"...))
		for _, l := range more {
			if l == "zzz-comment.png" && utf8.Valid(css) && !bytes.Contains(css, []byte("zzz")) && balanced(css) {
				t.Fatalf("CSSLinks(%q + comment) found a link inside the comment", css)
			}
		}
	})
}

// balanced reports whether css leaves no string, comment or url( open at its
// end, so that text appended to it starts fresh. It is deliberately crude:
// it only accepts inputs without quotes, backslashes, "/*" or "(".
func balanced(css []byte) bool {
	return !bytes.ContainsAny(css, "\"'\\(") && !bytes.Contains(css, []byte("/*")) && !bytes.HasSuffix(css, []byte("/"))
}

func BenchmarkCSSLinks(b *testing.B) {
	var css bytes.Buffer
	css.WriteString(`@import url("reset.css"); @import 'theme.css' screen;` + "\n")
	for i := 0; i < 200; i++ {
		css.WriteString(`/* section */ .post-` + strings.Repeat("x", i%7) + ` { color: #333; margin: 10px 0 1em; background: url(/wp-content/themes/cdt/img/bg.png) no-repeat; }` + "\n")
		css.WriteString(`.icon::before { content: "\f101"; background-image: url("data:image/svg+xml;utf8,<svg/>"); }` + "\n")
	}
	data := css.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		CSSLinks(data)
	}
}
