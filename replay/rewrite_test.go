package replay

import (
	"strings"
	"testing"
)

const testTS = "20160512104200"

func TestRewriteHTML(t *testing.T) {
	const page = "http://cdt.test/2016/05/post/"
	const W = "/web/" + testTS
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"relative", `<a href="next/">n</a>`, `<a href="` + W + `/http://cdt.test/2016/05/post/next/">n</a>`},
		{"dot-dot", `<a href="../../../tag/x/">t</a>`, `<a href="` + W + `/http://cdt.test/tag/x/">t</a>`},
		{"root-relative", `<img src="/logo.png">`, `<img src="` + W + `im_/http://cdt.test/logo.png">`},
		{"absolute other host", `<a href="http://xinhua.test/a.htm" target="_blank">[Source]</a>`,
			`<a href="` + W + `/http://xinhua.test/a.htm" target="_blank">[Source]</a>`},
		{"protocol-relative script", `<script src="//cdn.test/site.js?ver=1"></script>`,
			`<script src="` + W + `js_/http://cdn.test/site.js?ver=1"></script>`},
		{"https kept", `<a href="https://s.test/">s</a>`, `<a href="` + W + `/https://s.test/">s</a>`},
		{"stylesheet", `<link rel="stylesheet" href="style.css">`, `<link rel="stylesheet" href="` + W + `cs_/http://cdt.test/2016/05/post/style.css">`},
		{"icon", `<link rel=icon href=/f.png>`, `<link rel=icon href="` + W + `im_/http://cdt.test/f.png">`},
		{"iframe", `<iframe src="/embed"></iframe>`, `<iframe src="` + W + `if_/http://cdt.test/embed"></iframe>`},
		{"srcset", `<img srcset="a.png 1x, /b@2x.png 2x,http://o.test/c.png 640w">`,
			`<img srcset="` + W + `im_/http://cdt.test/2016/05/post/a.png 1x, ` + W + `im_/http://cdt.test/b@2x.png 2x, ` + W + `im_/http://o.test/c.png 640w">`},
		{"srcset comma in url", `<img srcset="/a,b.png 1x">`, `<img srcset="` + W + `im_/http://cdt.test/a,b.png 1x">`},
		{"javascript left", `<a href="javascript:void(0)">x</a>`, `<a href="javascript:void(0)">x</a>`},
		{"javascript with newline left", "<a href=\"java\nscript:alert(1)\">x</a>", "<a href=\"java\nscript:alert(1)\">x</a>"},
		{"data left", `<img src="data:image/png;base64,AAAA">`, `<img src="data:image/png;base64,AAAA">`},
		{"mailto left", `<a href="mailto:tips@cdt.test">m</a>`, `<a href="mailto:tips@cdt.test">m</a>`},
		{"tel left", `<a href="tel:+1">t</a>`, `<a href="tel:+1">t</a>`},
		{"fragment alone left", `<a href="#content">skip</a>`, `<a href="#content">skip</a>`},
		{"fragment kept", `<a href="/about/#team">a</a>`, `<a href="` + W + `/http://cdt.test/about/#team">a</a>`},
		{"empty left", `<a href="">self</a>`, `<a href="">self</a>`},
		{"meta refresh", `<meta http-equiv="refresh" content="5; url=/moved/">`,
			`<meta http-equiv="refresh" content="5; url=` + W + `/http://cdt.test/moved/">`},
		{"meta refresh quoted", `<meta http-equiv="Refresh" content="0;URL='http://o.test/x'">`,
			`<meta http-equiv="Refresh" content="0;URL=&#39;` + W + `/http://o.test/x&#39;">`},
		{"meta other left", `<meta name="description" content="/not/a/link">`, `<meta name="description" content="/not/a/link">`},
		{"inline style", `<div style="background:url(/bg.png)">x</div>`, `<div style="background:url(` + W + `im_/http://cdt.test/bg.png)">x</div>`},
		{"style element", `<style>@import "t.css"; a{background:url('i.gif')}</style>`,
			`<style>@import "` + W + `cs_/http://cdt.test/2016/05/post/t.css"; a{background:url('` + W + `im_/http://cdt.test/2016/05/post/i.gif')}</style>`},
		{"base", `<base href="http://other.test/dir/"><a href="x">x</a><img src="/y.png">`,
			`<base href="` + W + `/http://other.test/dir/"><a href="` + W + `/http://other.test/dir/x">x</a><img src="` + W + `im_/http://other.test/y.png">`},
		{"relative base", `<base href="/sub/"><a href="x">x</a>`, `<base href="` + W + `/http://cdt.test/sub/"><a href="` + W + `/http://cdt.test/sub/x">x</a>`},
		{"javascript base", `<base href="javascript:alert(1)"><a href="x">x</a>`, `<base href="` + W + `/http://cdt.test/2016/05/post/"><a href="` + W + `/http://cdt.test/2016/05/post/x">x</a>`},
		{"integrity and ping dropped", `<script src="/a.js" integrity="sha384-x" crossorigin></script><a href="/p" ping="http://track.test/">p</a>`,
			`<script src="` + W + `js_/http://cdt.test/a.js"  crossorigin></script><a href="` + W + `/http://cdt.test/p" >p</a>`},
		{"other attributes kept byte for byte", `<LINK REL="alternate" title="CDT &raquo; Feed" HREF='/feed/'>`,
			`<LINK REL="alternate" title="CDT &raquo; Feed" HREF="` + W + `/http://cdt.test/feed/">`},
		{"entity in url", `<a href="/s?a=1&amp;b=2">s</a>`, `<a href="` + W + `/http://cdt.test/s?a=1&amp;b=2">s</a>`},
		{"form action", `<form action="/subscribe/" method="post"></form>`, `<form action="` + W + `/http://cdt.test/subscribe/" method="post"></form>`},
		{"video poster and source", `<video poster="p.jpg"><source src="v.mp4"></video>`,
			`<video poster="` + W + `im_/http://cdt.test/2016/05/post/p.jpg"><source src="` + W + `oe_/http://cdt.test/2016/05/post/v.mp4"></video>`},
		{"table background", `<td background="/bg.gif">`, `<td background="` + W + `im_/http://cdt.test/bg.gif">`},
		{"inline script left", `<script>var u="/x"; fetch("http://live.test/")</script>`, `<script>var u="/x"; fetch("http://live.test/")</script>`},
		{"comment left", `<!-- <a href="/x"> -->`, `<!-- <a href="/x"> -->`},
		{"text not touched", `<p>see href="/x" and url(/y)</p>`, `<p>see href="/x" and url(/y)</p>`},
		{"self-closing", `<img src="/a.png"/>`, `<img src="` + W + `im_/http://cdt.test/a.png"/>`},
		{"hostile value escaped", `<a href='/x"onmouseover="alert(1)'>x</a>`,
			`<a href="` + W + `/http://cdt.test/x%22onmouseover=%22alert%281%29">x</a>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(newRewriter(testTS, page).rewriteHTML(nil, []byte(tt.in), nil))
			if got != tt.want {
				t.Errorf("rewriteHTML(%s)\n got  %s\n want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestRewriteHTMLKeepsCharsetBytes(t *testing.T) {
	// "中国" in GBK, in text and in an attribute of a rewritten tag.
	gbk := "\xd6\xd0\xb9\xfa"
	in := `<html><head><meta charset="gbk"><title>` + gbk + `</title></head><body><a title="` + gbk + `" href="/x">` + gbk + `</a></body></html>`
	got := string(newRewriter(testTS, "http://cdt.test/").rewriteHTML(nil, []byte(in), nil))
	want := strings.Replace(in, `href="/x"`, `href="/web/`+testTS+`/http://cdt.test/x"`, 1)
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestRewriteHTMLBanner(t *testing.T) {
	banner := []byte(`<div id="b"></div>`)
	tests := []struct{ in, want string }{
		{`<html><body class="x"><p>hi</p></body></html>`, `<html><body class="x"><div id="b"></div><p>hi</p></body></html>`},
		{`<p>no body tag</p>`, `<p>no body tag</p><div id="b"></div>`},
		{`<body><body>`, `<body><div id="b"></div><body>`},
	}
	for _, tt := range tests {
		got := string(newRewriter(testTS, "http://cdt.test/").rewriteHTML(nil, []byte(tt.in), banner))
		if got != tt.want {
			t.Errorf("banner in %s:\n got  %s\n want %s", tt.in, got, tt.want)
		}
	}
}

func TestRewriteCSS(t *testing.T) {
	const css = "http://cdt.test/wp-content/themes/cdt/style.css"
	const W = "/web/" + testTS
	tests := []struct {
		name, in, want string
	}{
		{"unquoted url", `a{background:url(images/bg.png) no-repeat}`, `a{background:url(` + W + `im_/http://cdt.test/wp-content/themes/cdt/images/bg.png) no-repeat}`},
		{"spaces inside url()", `a{background:url(  ../i.gif  )}`, `a{background:url(  ` + W + `im_/http://cdt.test/wp-content/themes/i.gif  )}`},
		{"double-quoted url", `a{background:URL("/x.png")}`, `a{background:URL("` + W + `im_/http://cdt.test/x.png")}`},
		{"single-quoted url", `a{background:url('//o.test/x.png')}`, `a{background:url('` + W + `im_/http://o.test/x.png')}`},
		{"import string", `@import "css/typography.css";`, `@import "` + W + `cs_/http://cdt.test/wp-content/themes/cdt/css/typography.css";`},
		{"import url", `@import url("css/t.css") screen;`, `@import url("` + W + `cs_/http://cdt.test/wp-content/themes/cdt/css/t.css") screen;`},
		{"IMPORT upper", `@IMPORT 'a.css';`, `@IMPORT '` + W + `cs_/http://cdt.test/wp-content/themes/cdt/a.css';`},
		{"data left", `a{background:url(data:image/gif;base64,R0lG)}`, `a{background:url(data:image/gif;base64,R0lG)}`},
		{"comment left", `/* url(/x.png) @import "y.css"; */ b{}`, `/* url(/x.png) @import "y.css"; */ b{}`},
		{"string not url left", `a:after{content:"url(/x.png)"}`, `a:after{content:"url(/x.png)"}`},
		{"font-face", `@font-face{src:url(f.woff2) format("woff2"),url(f.woff) format("woff")}`,
			`@font-face{src:url(` + W + `im_/http://cdt.test/wp-content/themes/cdt/f.woff2) format("woff2"),url(` + W + `im_/http://cdt.test/wp-content/themes/cdt/f.woff) format("woff")}`},
		{"not url function", `a{x:myurl(/a)}`, `a{x:myurl(/a)}`},
		{"fragment kept", `a{filter:url(/f.svg#blur)}`, `a{filter:url(` + W + `im_/http://cdt.test/f.svg#blur)}`},
		{"escape left", `a{background:url(a\)b.png)}`, `a{background:url(a\)b.png)}`},
		{"unterminated", `a{background:url(`, `a{background:url(`},
		{"no links", `a{color:red}`, `a{color:red}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(newRewriter(testTS, css).rewriteCSS(nil, []byte(tt.in)))
			if got != tt.want {
				t.Errorf("rewriteCSS(%s)\n got  %s\n want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestSrcsetAndMetaRefresh(t *testing.T) {
	rw := newRewriter(testTS, "http://cdt.test/")
	for in, want := range map[string]string{
		"":                    "",
		"  a.png  ":           "/web/" + testTS + "im_/http://cdt.test/a.png",
		"a.png 1x,b.png 2x":   "/web/" + testTS + "im_/http://cdt.test/a.png 1x, /web/" + testTS + "im_/http://cdt.test/b.png 2x",
		"data:image/png,x 1x": "data:image/png,x 1x",
	} {
		if got := rw.srcset(in); got != want {
			t.Errorf("srcset(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"5":               "5",
		"0; url=":         "0; url=",
		"3;http://o.test": "3;/web/" + testTS + "/http://o.test",
		"0; URL = /x":     "0; URL = /web/" + testTS + "/http://cdt.test/x",
	} {
		if got := rw.metaRefresh(in); got != want {
			t.Errorf("metaRefresh(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestFastResolveAgrees checks the shortcut for simple links against net/url.
func TestFastResolveAgrees(t *testing.T) {
	rw := newRewriter(testTS, "http://cdt.test:8080/2016/05/post/")
	for _, ref := range []string{
		"/a/b/", "/a?b=1&c=2", "/a#frag", "/wp-content/x@2x.png", "http://o.test/x", "https://o.test:443/x?y",
		"http://O.test/x", "/a/./b", "/a/../b", "/.hidden", "http://o.test", "http://o.test?x", "/a b", "/a%20b",
		"/a:b", "/a;b,c+d=e", "/~u/", "http://user@o.test/",
	} {
		want := ""
		if u, err := rw.base.Parse(ref); err == nil {
			want = u.String()
		}
		if got, ok := rw.fastResolve(ref); ok && got != want {
			t.Errorf("fastResolve(%q) = %q, net/url gives %q", ref, got, want)
		}
	}
}
