package crawler

import (
	"bytes"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/amberarchive/amber/testdata/chaos"
	"github.com/amberarchive/amber/testdata/fixture"
)

// trickyPages are inputs where the HTML5 tree builder does something a
// naive walk of tags would not. Each must give the DOM's links, by the
// token walk or by falling back to the DOM; fast says which is expected
// (fast: the walk must take it; slow: it must fall back; either: no claim).
type trickyPage struct {
	name, html string
	want       int // fast, slow or either
}

const (
	either = iota
	fast
	slow
)

var trickyPages = []trickyPage{
	{"plain", `<p>Hello <a href="/x">world</a> <a href=y>[Source]</a></p>`, fast},
	{"unclosed a at eof", `<p><a href=/x>text and <b>more`, fast},
	{"a inside a", `<a href=1>one <a href=2>two</a> three`, fast},
	{"a inside a, misnested", `<a href=1>one <div><a href=2>two</a></div> three`, slow},
	{"a closes across div", `<a href=1><div>in</a>out</div>`, slow},
	{"a across p", `<p><a href=1>one</p>two`, slow},
	{"a across p, no text", `<p><a href=1>one</p><p>`, fast},
	{"a across li", `<ul><li><a href=1>one<li>two</ul>`, slow},
	{"li implies end", `<ul><li><a href=1>one</a><li><a href=2>two</a></ul>`, fast},
	{"li with p", `<ul><li><p>x<li>y</ul><a href=z>z</a>`, fast},
	{"dd dt", `<dl><dt>t<dd><a href=1>d</a><dt>u</dl>`, fast},
	{"p closed by div", `<p>one<div><a href=1>two</a></div>`, fast},
	{"p with span closed by div", `<p><span>one<div><a href=1>two</a></div>`, fast},
	{"b across p", `<p><b>bold</p><a href=1>x</a>`, slow},
	{"stray end tags", `</a></b></div></p></br><a href=1>x</span></a>`, fast},
	{"stray p end in pre", "<pre></p>\nx<a href=1>\ny</a></pre>", fast},
	{"pre newline", "<pre>\n<a href=1>\nx</a></pre><listing>\n\ny</listing>", fast},
	{"pre comment newline", "<pre><!--c-->\n<a href=1>x</a></pre>", fast},
	{"textarea newline", "<a href=1><textarea>\n\nin</textarea>out</a>", fast},
	{"template", `<template><a href=1>t</a></template><a href=2>u</a>`, slow},
	{"noscript in head", `<head><noscript><link rel=stylesheet href=n.css></noscript></head><a href=1>x</a>`, fast},
	{"noscript in a", `<a href=1>x<noscript><img src=i.png>y</noscript>z</a>`, fast},
	{"script and style in a", `<a href=1>x<script>if (a<b) "</a>"</script><style>b{background:url(s.png)}</style>y</a>`, fast},
	{"base after links", `<a href=x>x</a><img src=i.png><base href="http://other.test/dir/">`, fast},
	{"two bases", `<base target=_top><base href="/one/"><base href="/two/"><a href=x>x</a>`, fast},
	{"base fragment", `<base href="#top"><a href=x>x</a>`, fast},
	{"base in body", `<p>t</p><base href="/b/"><a href=x>x</a>`, fast},
	{"uppercase", `<A HREF="/X" REL=NoFollow>Up</A><IMG SRC=a.PNG SrcSet="b.png 2x"><LINK REL="Stylesheet" HREF=s.css>`, fast},
	{"duplicate attributes", `<a href=1 href=2 rel=a rel=b>x</a><img src=1 src=2>`, fast},
	{"entities", `<a href="/a?b=1&amp;c=2&lt;&#x41;&copy">&lt;Source&gt; &amp;&nbsp;x&#0;</a><a href="&#0;">n</a>`, fast},
	{"svg a", `<svg><a xlink:href="/svg">s</a><image href=i.png /></svg><a href=1>x</a>`, slow},
	{"math", `<math><mi><a href=1>x</a></mi></math>`, slow},
	{"area", `<map><area href=/a alt=x><area nohref></map><a href=1>x</a>`, fast},
	{"image", `<image src=i.png srcset="j.png 2x">`, fast},
	{"frameset", `<frameset><frame src=f.html><noframes><a href=1>x</a></noframes></frameset>`, slow},
	{"frame in body", `<frame src=f.html><a href=1>x</a>`, fast},
	{"iframe", `<iframe src=i.html><a href=1>not a link</a></iframe>`, fast},
	{"table", `<table><tr><td><a href=1>x</a></td></tr></table>`, fast},
	{"table implied parts", `<table><td><a href=1>x<td>y<tr><th>z</table><a href=2>w</a>`, fast},
	{"table full", "<table>\n<caption><a href=c>cap</a></caption><colgroup><col style=\"background:url(c.png)\"></colgroup>\n<thead><tr><th>h</th></tr></thead>\n<tbody><tr><td><img src=i.png></td></tr></tbody><tfoot><tr><td>f</td></tr></tfoot></table>", fast},
	{"table nested", `<table><tr><td><table><tr><td><a href=1>x</a></table></td></tr></table><a href=2>y</a>`, fast},
	{"table in p", `<p><table><tr><td><a href=1>x</a></table>`, slow},
	{"table in a", `<a href=1><table><tr><td>x</td></tr></table>y</a>`, fast},
	{"table b in cell", `<table><tr><td><b>x</td><td>y</b></td></tr></table><a href=1>z</a>`, fast},
	{"table style script hidden form", `<table><style>a{background:url(t.png)}</style><script src=t.js></script><input type=HIDDEN src=h.png><form style="background:url(f.png)"><tr><td><form></form><a href=1>x</a></table>`, fast},
	{"table input visible", `<table><input src=v.png><tr><td>x</table>`, slow},
	{"table table", `<table><tr><table><tr><td><a href=1>x</a></table>`, fast},
	{"table colgroup text", "<table><colgroup> \n<col>x<tr><td>y</table>", slow},
	{"table colgroup ws", "<table><colgroup> \n<col></colgroup> <tr><td>y</table>", fast},
	{"table end tags", `<table></p></div></a><tr><td>x</td></tr></table>`, slow},
	{"table stray end tags", `<table></div></span><tr></td><td>x</tbody></body></table>`, fast},
	{"table caption th", `<table><caption>c<th>h</caption><tr><td>x</table>`, fast},
	{"table object in cell", `<table><tr><td><object><b>x</td><td><a href=1>y</a></table>`, fast},
	{"table foster", `<table><a href=1>x</a><tr><td>y</td></tr></table>`, slow},
	{"table text in a", `<a href=1><table>foster<tr><td>x</td></tr></table></a>`, slow},
	{"table parts outside table", `<tr><td><a href=1>x</a></td></tr><caption>c</caption></table>`, fast},
	{"select option", `<a href=1>pick <select><option>one<option>two</select></a>`, fast},
	{"select nested", `<select><option>a<select style="background:url(s.png)"><a href=1>x</a>`, fast},
	{"select input", `<select><option><input src=i.png><a href=1>x</a>`, fast},
	{"optgroup", `<select><optgroup><option>a<optgroup><option>b</select><a href=1>x</a>`, fast},
	{"form pointer", `<form><div></div><form style="background:url(f.png)"></form><a href=1>x</a></form>`, fast},
	{"form misnested", `<div><form></div><a href=1>x</a></form><form style="background:url(f.png)">`, fast},
	{"button nested", `<button><a href=1>x<button>y</button>`, slow},
	{"headings", `<h1><a href=1>x<h2>y</h2>`, fast},
	{"headings close", `<h1>x<h2>y</h1><a href=1>z</a>`, fast},
	{"nobr", `<nobr>a<nobr>b</nobr><a href=1>x</a>`, fast},
	{"noah", `<b><b><b><b>x</b></b></b></b>`, slow},
	{"object marker", `<a href=1>x<object><a href=2>y</a></object>z</a>`, fast},
	{"applet", `<applet><b>x</applet><a href=1>y</a>`, fast},
	{"ruby", `<ruby>a<rb>b<rt>c<rp>d</ruby><a href=1>x</a>`, fast},
	{"html style", `<html style="background:url(h.png)"><a href=1>x</a>`, slow},
	{"body style late", `<a href=1>x</a><body style="background:url(b.png)">`, slow},
	{"style attrs", `<div style="background:url(d.png)"><a href=1 style="background:url(a.png)">x</a><audio poster=p.png style="x:url(s.png)"></audio><embed srcset=e.png><video poster=v.png></video></div>`, fast},
	{"head content", `<!doctype html><html><head><title>T &amp; <a href=1></title><style>@import "i.css";</style><script src=s.js></script></head><body><a href=2>x</a></body></html>`, fast},
	{"after body", "<body><pre></body><!--c-->\nx</pre>", fast},
	{"after html", "<a href=1>x</a></body></html><!--c--><a href=2>y</a>", fast},
	{"after body doctype", "<pre></body><!doctype html><!--c-->\nx", fast},
	{"text before head", `hello<title>t</title><a href=1>x</a>`, fast},
	{"head after text", `<meta charset=utf-8> <link rel=icon href=i.ico> <a href=1>x</a><link href=l.css rel=stylesheet>`, fast},
	{"plaintext", `<a href=1><plaintext>x</a><a href=2>`, fast},
	{"xmp", `<p>x<xmp><a href=2></xmp><a href=1>y</a>`, fast},
	{"xmp clones a", `<p><a href=1>x<xmp><a href=2></xmp></a>`, slow},
	{"nul", "<a href=1>a\x00b</a><pre>\x00\nx</pre><style>a{b:url(\x00)}</style>", fast},
	{"cr", "<a href=1>a\r\nb\rc</a><pre>\r\nx</pre>", fast},
	{"custom elements", `<my-el style="background:url(m.png)"><a href=1>x</a></my-el><My-El>y</mY-eL>`, fast},
	{"custom element closes a", `<my-el><a href=1>x</my-el>y</a>`, slow},
	{"self-closing", `<a href=1/>x<div/>y<br/><script src=s.js />z`, fast},
	{"deep", strings.Repeat("<div>", 600) + `<a href=1>x</a>`, slow},
	{"hr in select", `<select><option>a<hr><a href=1>x</a>`, fast},
	{"li in div", `<li><div><li><a href=1>x</a>`, fast},
	{"li across b", `<li><b>x<li><a href=1>y</a>`, slow},
	{"p in button", `<button><p>x</button><a href=1>y</a>`, fast},
	{"end tag other", `<span><div></span><a href=1>x</a>`, fast},
	{"invalid utf8 across tags", "<a href=1>\xe2\x80<b>\x83</b>x</a>", fast},
	{"srcset", `<img srcset="a.png 1x, b,c.png 2x,  d.png"><source src="" srcset=""><picture><source srcset=p.webp></picture>`, fast},
	{"empty", ``, fast},
	{"only text", `just text`, fast},
	{"unterminated tag", `<a href=1>x</a><img src="i.png`, fast},
	{"comment tricks", `<!-- <a href=1> --><a href=2>x</a><!--->y<!---->`, fast},
	{"cdata", `<![CDATA[<a href=1>]]><a href=2>x</a>`, fast},
	{"marquee", `<marquee><a href=1>x</marquee>y</a>`, fast},
	{"formatting stack", `<a href=1><b><i>x</i></b></a><em><strong>y</strong></em>`, fast},
	{"a then b misnest", `<a href=1><b>x</a>y</b>`, slow},
	{"b then a misnest", `<b><a href=1>x</b>y</a>`, slow},
}

// tokensOrDOM reports whether the token walk took the page.
func tokensOrDOM(base *url.URL, page string) bool {
	_, ok := extractLinksTokens(base, []byte(page))
	return ok
}

// sameLinks fails t when ExtractLinks and the DOM reference disagree.
func sameLinks(t testing.TB, base *url.URL, name string, page []byte) {
	t.Helper()
	got := ExtractLinks(base, page, "")
	want := extractLinksDOM(base, page, "")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: links differ from the DOM's\n%s", name, diffLinks(got, want))
	}
}

func diffLinks(got, want []Link) string {
	var b strings.Builder
	for i := 0; i < len(got) || i < len(want); i++ {
		var g, w string
		if i < len(got) {
			g = fmt.Sprintf("%+v", got[i])
		}
		if i < len(want) {
			w = fmt.Sprintf("%+v", want[i])
		}
		mark := "  "
		if g != w {
			mark = "! "
		}
		fmt.Fprintf(&b, "%s%3d got  %s\n%s    want %s\n", mark, i, g, mark, w)
	}
	if got == nil || want == nil {
		fmt.Fprintf(&b, "got nil: %v, want nil: %v\n", got == nil, want == nil)
	}
	return b.String()
}

var tokBase, _ = url.Parse("http://www.example.test/2016/05/page/")

// TestExtractLinksTokensTricky: on constructs where the tree builder
// moves, clones, drops or implies elements, the links are the DOM's, and
// the walk takes (or leaves) the pages it claims to.
func TestExtractLinksTokensTricky(t *testing.T) {
	for _, c := range trickyPages {
		sameLinks(t, tokBase, c.name, []byte(c.html))
		switch ok := tokensOrDOM(tokBase, c.html); {
		case c.want == fast && !ok:
			t.Errorf("%s: fell back to the DOM; the token walk should take it", c.name)
		case c.want == slow && ok:
			t.Errorf("%s: the token walk took it; it should fall back to the DOM", c.name)
		}
	}
}

// TestExtractLinksSelectorFallsBack: any selector goes to the DOM, which
// marks what it matches.
func TestExtractLinksSelectorFallsBack(t *testing.T) {
	page := []byte(`<blockquote><a href=/s target=_blank>see</a></blockquote><a href=/t>[Source]</a>`)
	got := ExtractLinks(tokBase, page, `blockquote a[target="_blank"]`)
	if len(got) != 2 || !got[0].SourceSel || got[1].SourceSel {
		t.Fatalf("selector marks: %+v", got)
	}
	if !reflect.DeepEqual(got, extractLinksDOM(tokBase, page, `blockquote a[target="_blank"]`)) {
		t.Fatalf("selector path differs from the DOM")
	}
	if ExtractLinks(nil, page, "") != nil {
		t.Fatalf("a nil base gave links")
	}
}

// fixturePages fetches every page a default crawl of the fixture site
// fetches, once per test binary, from a fixture served on loopback.
var fixturePages = sync.OnceValues(func() (map[string][]byte, error) {
	srv, err := fixture.Start(fixture.Options{Articles: 24})
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	c := srv.Client()
	pages := map[string][]byte{}
	for _, u := range srv.Expected().Fetch() {
		resp, err := c.Get(u)
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		if isHTML(strings.ToLower(resp.Header.Get("Content-Type")), b) {
			pages[u] = b
		}
	}
	return pages, nil
})

// seedArticle is the seed post's text as an HTML article, when the shared
// seed folder is beside the repository.
func seedArticle() []byte {
	b, err := os.ReadFile(filepath.Join("..", "..", "shared", "seed", "cdt-article.txt"))
	if err != nil {
		return nil
	}
	var h bytes.Buffer
	h.WriteString("<!DOCTYPE html><html><head><title>Seed</title></head><body><article><div class=\"entry-content\">\n")
	for _, para := range strings.Split(string(b), "\n\n") {
		para = strings.ReplaceAll(strings.TrimSpace(para), "&", "&amp;")
		para = strings.ReplaceAll(para, "[Source]", `<a href="http://xinhua.test/english/2016-05/12/c_135353000.htm">[Source]</a>`)
		fmt.Fprintf(&h, "<p>%s</p>\n", para)
	}
	h.WriteString("</div></article></body></html>\n")
	return h.Bytes()
}

// TestExtractLinksTokensFixture: every HTML page of the fixture site (the
// CDT-shaped site and its sources) takes the token walk and gives the
// DOM's links.
func TestExtractLinksTokensFixture(t *testing.T) {
	pages, err := fixturePages()
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) < 50 {
		t.Fatalf("only %d fixture pages", len(pages))
	}
	if seed := seedArticle(); seed != nil {
		pages["seed-article"] = seed
	}
	for u, page := range pages {
		base := tokBase
		if bu, err := url.Parse(u); err == nil && bu.Scheme != "" {
			base = bu
		}
		sameLinks(t, base, u, page)
		if !tokensOrDOM(base, string(page)) {
			t.Errorf("%s fell back to the DOM", u)
		}
	}
}

// FuzzExtractLinksSame: for any page, the token walk (or its fallback)
// gives exactly the DOM's links.
func FuzzExtractLinksSame(f *testing.F) {
	for _, c := range trickyPages {
		f.Add([]byte(c.html), uint8(0))
	}
	f.Add([]byte(chaos.XSSPage), uint8(1))
	if seed := seedArticle(); seed != nil {
		f.Add(seed, uint8(0))
	}
	if pages, err := fixturePages(); err == nil {
		// A few of each shape: front, listing, article, source pages.
		n := 0
		for _, page := range pages {
			if n++; n > 12 {
				break
			}
			f.Add(page, uint8(n))
		}
	}
	f.Fuzz(func(t *testing.T, page []byte, b uint8) {
		base, err := url.Parse(cacheBases[int(b)%len(cacheBases)])
		if err != nil {
			t.Fatal(err)
		}
		got := ExtractLinks(base, page, "")
		want := extractLinksDOM(base, page, "")
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("links differ from the DOM's on %q\n%s", page, diffLinks(got, want))
		}
	})
}

// BenchmarkExtractLinks compares the token walk with the DOM on a
// fixture article page.
func BenchmarkExtractLinks(b *testing.B) {
	pages, err := fixturePages()
	if err != nil {
		b.Fatal(err)
	}
	var u string
	for p := range pages {
		if pu, _ := url.Parse(p); pu != nil && pu.Path == "/2016/05/hong-kong-booksellers-question-grassroots-elections/" {
			u = p
		}
	}
	if u == "" {
		for p := range pages {
			if strings.Contains(p, "/2016/") && (u == "" || p < u) {
				u = p
			}
		}
	}
	page := pages[u]
	base, _ := url.Parse(u)
	if _, ok := extractLinksTokens(base, page); !ok {
		b.Fatalf("%s falls back to the DOM", u)
	}
	b.Logf("%s: %d bytes, %d links", u, len(page), len(ExtractLinks(base, page, "")))
	b.Run("tokens", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(page)))
		for b.Loop() {
			ExtractLinks(base, page, "")
		}
	})
	b.Run("dom", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(page)))
		for b.Loop() {
			extractLinksDOM(base, page, "")
		}
	})
}

// soupWords are the tokens FuzzExtractLinksSoup builds pages from: the
// tags and text whose handling differs between the tree builder and a
// naive walk, so the fuzzer explores the builder's states rather than the
// tokenizer's.
var soupWords = []string{
	`<a href=1>`, `<a href="/2" rel=nofollow>`, `</a>`, `<b>`, `</b>`, `<i>`, `</i>`, `<nobr>`, `</nobr>`,
	`<p>`, `</p>`, `<div>`, `</div>`, `<span>`, `</span>`, `<ul>`, `</ul>`, `<li>`, `</li>`, `<dl>`, `<dt>`, `<dd>`, `</dd>`,
	`<h1>`, `<h2>`, `</h1>`, `</h2>`, `<pre>`, `</pre>`, `<listing>`, `<button>`, `</button>`,
	`<form>`, `</form>`, `<select>`, `</select>`, `<option>`, `<optgroup>`, `</option>`, `<input src=in.png>`, `<hr>`,
	`<object>`, `</object>`, `<marquee>`, `</marquee>`, `<ruby>`, `<rt>`, `<rp>`, `<rtc>`, `</ruby>`,
	`<textarea>`, `</textarea>`, `<style>`, `</style>`, `<script>`, `</script>`, `<title>`, `</title>`, `<noscript>`, `</noscript>`,
	`<xmp>`, `</xmp>`, `<iframe src=f.html>`, `</iframe>`, `<plaintext>`,
	`<img src=i.png>`, `<image src=im.png>`, `<br>`, `</br>`, `<area href=ar>`, `<link rel=stylesheet href=l.css>`, `<base href=/b/>`,
	`<html>`, `</html>`, `<head>`, `</head>`, `<body>`, `</body>`, `<!doctype html>`, `<!--c-->`,
	`<td>`, `<tr>`, `<caption>`, `<frame src=fr.html>`, `<x-y>`, `</x-y>`, `<em style="background:url(e.png)">`, `</em>`,
	`<table>`, `</table>`, `<tr>`, `</tr>`, `<td>`, `</td>`, `<th>`, `</th>`, `<tbody>`, `</tbody>`, `<thead>`, `<tfoot>`,
	`<caption>`, `</caption>`, `<colgroup>`, `</colgroup>`, `<col>`, `<input type=hidden src=h.png>`,
	`x`, `[Source]`, ` `, "\n", "\r\n", "\x00", `&amp;`, `url(u.png)`, `<template>`, `<svg>`,
}

func soup(program []byte) []byte {
	var b bytes.Buffer
	for _, c := range program {
		b.WriteString(soupWords[int(c)%len(soupWords)])
	}
	return b.Bytes()
}

// FuzzExtractLinksSoup: pages made of soupWords give the DOM's links.
func FuzzExtractLinksSoup(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5})
	f.Add([]byte("\x00\x09\x0a\x60\x02\x03\x61\x00\x62"))
	f.Add([]byte("arbitrary bytes pick the words"))
	f.Fuzz(func(t *testing.T, program []byte) {
		page := soup(program)
		got := ExtractLinks(tokBase, page, "")
		want := extractLinksDOM(tokBase, page, "")
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("links differ from the DOM's on %q\n%s", page, diffLinks(got, want))
		}
	})
}

// TestExtractLinksSoupRandom runs random soup pages through both paths,
// and checks that the token walk takes most of them: a walk that falls
// back on everything would pass the other tests and speed nothing up.
func TestExtractLinksSoupRandom(t *testing.T) {
	n, took := 3000, 0
	if testing.Short() {
		n = 300
	}
	rng := uint64(1)
	for i := 0; i < n; i++ {
		program := make([]byte, 5+i%40)
		for j := range program {
			rng ^= rng << 13
			rng ^= rng >> 7
			rng ^= rng << 17
			program[j] = byte(rng)
			if int(program[j])%len(soupWords) >= len(soupWords)-2 {
				program[j] = 0 // template and svg always fall back
			}
		}
		page := soup(program)
		sameLinks(t, tokBase, fmt.Sprintf("soup %q", page), page)
		if tokensOrDOM(tokBase, string(page)) {
			took++
		}
	}
	t.Logf("the token walk took %d of %d random pages", took, n)
	if took < n/4 {
		t.Errorf("the token walk took only %d of %d random pages", took, n)
	}
}

// FuzzCollapseBytes: collapseBytes is collapse.
func FuzzCollapseBytes(f *testing.F) {
	for _, s := range []string{"", " a  b ", "\u00a0x\u2003y\u0085", "\xe2\x80\x83", "\xe2\x80", "a\vb\fc\rd\te\nf", "\x1c\x1d\x1e\x1f"} {
		f.Add(s)
	}
	var buf []byte
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := collapseBytes([]byte(s), &buf), collapse(s); got != want {
			t.Fatalf("collapseBytes(%q) = %q, collapse gives %q", s, got, want)
		}
	})
}
