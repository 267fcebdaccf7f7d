package crawler

import (
	"bytes"
	"net/url"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// The token walk: ExtractLinks without a DOM.
//
// html.Parse builds a tree from the same tokenizer this walk reads, and the
// tree differs from a naive nesting of tags only where the HTML5 tree
// builder moves, drops, clones or implies elements. The walk keeps the
// parser's stack of open elements and list of active formatting elements,
// and follows its "in head", "after head", "in body", "text", "after body"
// and table rules line by line (golang.org/x/net/html parse.go), so it knows
// which elements exist, in what order, and which text falls inside which
// anchor. Where following the rules would take more than that, it gives up
// and ExtractLinks asks the DOM; giving up costs one wasted walk, and a
// wrong answer would change what the crawl fetches, so every doubt gives up.
//
// What goes to the DOM (extractLinksDOM):
//   - a non-empty source selector: the walk evaluates no CSS (amber's
//     default, Rules.SourceSelector "", marks sources by text instead);
//   - content a table foster-parents: text other than whitespace, or an
//     element other than table parts, <style>, <script>, hidden <input>
//     and <form>, directly in a table, tbody, thead, tfoot or tr (it moves
//     in front of the table, out of document order; links_tokens_table.go);
//   - <table> while a <p> is open (quirks mode decides whether it closes);
//   - <template>, <svg>, <math>, <frameset>: template contents, foreign
//     content (namespaced attributes such as xlink:href, no raw text) and
//     framesets, which replace the body;
//   - the adoption agency with a "furthest block" (misnested formatting
//     elements such as <a><div></a>, or <a> inside an <a> that is not the
//     current node), which moves subtrees and clones anchors;
//   - reconstructing an active formatting element that was closed
//     implicitly (<p><a href=x>t</p>more), which clones it, href and all;
//   - a fourth formatting element of one tag open at once (the "Noah's
//     Ark" clause), and a document nested deeper than tokMaxDepth;
//   - a style attribute on <html>, <head> or <body>, whose attributes the
//     parser merges into the first such element.
//
// What the walk does reproduce: implied html, head, body, tbody, tr and
// colgroup; elements the parser ignores (<frame> outside a frameset,
// <caption> or <tr> outside a table, a second <form>, a nested <select>);
// implied end tags and the scope rules that close <p>, <li>, <dd>,
// <option>, headings, buttons, cells and rows; <image> read as <img>;
// stray end tags; the form element pointer; active formatting elements and
// their markers; raw text (<script>, <style>, <noscript> with scripting on,
// <textarea>, <title>, <iframe>, <xmp>, ...) as text of the anchors around
// it; the newline dropped after <pre>, <listing> and <textarea>; NULs
// dropped from body text; the first <base href>, even after the links; and
// each anchor's text: everything inside it until it is closed.

// Stack limit: html.Parse fails on more than 512 open elements (and then
// the page has no links); the walk leaves deep pages to it well before.
const tokMaxDepth = 480

// tokElem is one element on the walk's stack of open elements.
type tokElem struct {
	tag   atom.Atom
	name  string // the tag name when tag is 0 (an element with no atom)
	id    int32
	text  int32 // 1 + index in tokWalker.texts of the text this element collects, or 0
	raw   bool  // the parser is in its "text" mode for this element
	child bool  // a node was appended to it (what the parser's FirstChild checks)
}

// tokFormat is an entry of the list of active formatting elements: an
// element id, or a marker (id 0).
type tokFormat struct {
	id  int32
	tag atom.Atom
}

// tokLink is a link as the walk finds it: unresolved, with its anchor text
// (or, for a <style> element, the CSS to scan) still to come.
type tokLink struct {
	Link
	text int32 // 1 + index in tokWalker.texts, or 0
}

// Insertion phases before and in the body (html.Parse's insertion modes,
// merged where the difference does not matter here).
const (
	phaseBeforeHead = iota // initial, before html, before head
	phaseInHead
	phaseAfterHead
	phaseInBody
)

// After-body states: comments there are not children of the current node.
const (
	inBody = iota
	afterBody
	afterAfterBody
)

// tokWalker is the state of one walk.
type tokWalker struct {
	stack  []tokElem
	afe    []tokFormat
	nextID int32
	phase  int
	mode   int  // in the body: "in body" or one of the table modes
	foster bool // an insertion now would be foster-parented
	after  int
	form   int32 // the form element pointer
	fail   bool  // leave the page to the DOM

	texts    [][]byte
	scratch  []byte
	nText    int // elements on the stack that collect text
	groups   [7][]tokLink
	baseHref string
	hasBase  bool

	tokAttrs // the current tag's
}

// tokAttrs are the attributes of a tag that matter here.
type tokAttrs struct {
	href, src, srcset, poster, rel, style         string
	hasHref, hasSrc, hasSrcset, hasPoster, hasSty bool
	hidden                                        bool // type=hidden, for <input> in a table
}

// walkers keeps a walk's slices from page to page: a crawl extracts links
// from thousands of pages of the same shape.
var walkers = sync.Pool{New: func() any { return new(tokWalker) }}

// reset empties w for a new page, keeping its buffers.
func (w *tokWalker) reset() {
	all := w.texts[:cap(w.texts)]
	for i := range all {
		if cap(all[i]) > 64<<10 {
			all[i] = nil // let a huge anchor text go
		}
	}
	for i := range w.groups {
		w.groups[i] = w.groups[i][:0]
	}
	*w = tokWalker{stack: w.stack[:0], afe: w.afe[:0], texts: w.texts[:0], groups: w.groups, scratch: w.scratch[:0]}
}

// extractLinksTokens is ExtractLinks for an empty selector, by a token
// walk; ok is false when the page must go to the DOM (see above).
func extractLinksTokens(base *url.URL, src []byte) (links []Link, ok bool) {
	if base == nil {
		return nil, true
	}
	w := walkers.Get().(*tokWalker)
	defer walkers.Put(w)
	w.reset()
	z := html.NewTokenizer(bytes.NewReader(src))
	for !w.fail {
		switch z.Next() {
		case html.ErrorToken:
			// A bytes.Reader fails only with io.EOF: the end of the page.
			return w.finish(base)
		case html.TextToken:
			w.textToken(z.Text())
		case html.StartTagToken, html.SelfClosingTagToken:
			raw := z.Raw()
			tag, name := w.tagName(z, raw[1:])
			w.clearAttrs()
			if tag == atom.Input || mayHaveLinkAttr(raw) {
				w.readAttrs(z)
			}
			w.startTag(tag, name)
			if rawText(tag) && (len(w.stack) == 0 || !w.top().raw) {
				// The tokenizer reads raw text now; the walk must agree.
				w.fail = true
			}
		case html.EndTagToken:
			tag, name := w.tagName(z, z.Raw()[2:])
			w.clearAttrs()
			w.endTag(tag, name)
		case html.CommentToken:
			w.comment()
		case html.DoctypeToken:
			// Quirks mode matters only to a <table> in an open <p>, which
			// goes to the DOM. After </body> (not </html>) a doctype
			// returns to "in body".
			if w.after == afterBody {
				w.after = inBody
			}
		}
	}
	return nil, false
}

// tagName reads a tag's name from the raw token after "<" or "</", as the
// tokenizer's TagName has it (which copies every name), and looks up its
// atom; name is set only for a tag with no atom.
func (w *tokWalker) tagName(z *html.Tokenizer, raw []byte) (tag atom.Atom, name string) {
	n := 0
	for n < len(raw) {
		switch raw[n] {
		case ' ', '\n', '\r', '\t', '\f', '/', '>':
			goto done
		case 0:
			// The tokenizer makes NULs U+FFFD: let it.
			b, _ := z.TagName()
			if tag = atom.Lookup(b); tag == 0 {
				name = string(b)
			}
			return tag, name
		}
		n++
	}
done:
	var buf [16]byte
	lower := buf[:0]
	if n > len(buf) {
		lower = make([]byte, 0, n)
	}
	for _, c := range raw[:n] {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower = append(lower, c)
	}
	if tag = atom.Lookup(lower); tag == 0 {
		name = string(lower)
	}
	return tag, name
}

// mayHaveLinkAttr reports whether a raw tag may have an href, src, srcset,
// poster, rel or style attribute: most tags have none, and reading
// attributes copies each key and value.
func mayHaveLinkAttr(raw []byte) bool {
	for i := 1; i < len(raw); i++ {
		switch raw[i] | 0x20 {
		case 'h':
			if hasFold(raw[i+1:], "ref") {
				return true
			}
		case 's':
			if hasFold(raw[i+1:], "rc") || hasFold(raw[i+1:], "tyle") {
				return true
			}
		case 'p':
			if hasFold(raw[i+1:], "oster") {
				return true
			}
		case 'r':
			if hasFold(raw[i+1:], "el") {
				return true
			}
		}
	}
	return false
}

// hasFold reports whether b starts with the lower-case ASCII prefix, in
// any case.
func hasFold(b []byte, prefix string) bool {
	if len(b) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		if b[i]|0x20 != prefix[i] {
			return false
		}
	}
	return true
}

// rawText reports whether the tokenizer reads the content of a start tag
// as text (plaintext excepted: the parser treats it as a normal element).
func rawText(tag atom.Atom) bool {
	switch tag {
	case atom.Iframe, atom.Noembed, atom.Noframes, atom.Noscript, atom.Script, atom.Style, atom.Textarea, atom.Title, atom.Xmp:
		return true
	}
	return false
}

func (w *tokWalker) clearAttrs() { w.tokAttrs = tokAttrs{} }

// readAttrs keeps the attributes a link can come from. The tokenizer drops
// repeated attribute names, keeping the first, as the DOM has them.
func (w *tokWalker) readAttrs(z *html.Tokenizer) {
	for more := true; more; {
		var k, v []byte
		if k, v, more = z.TagAttr(); k == nil {
			return
		}
		switch string(k) {
		case "href":
			w.href, w.hasHref = string(v), true
		case "src":
			w.src, w.hasSrc = string(v), true
		case "srcset":
			w.srcset, w.hasSrcset = string(v), true
		case "poster":
			w.poster, w.hasPoster = string(v), true
		case "rel":
			w.rel = string(v)
		case "style":
			w.style, w.hasSty = string(v), true
		case "type":
			w.hidden = strings.EqualFold(string(v), "hidden")
		}
	}
}

func (w *tokWalker) top() *tokElem {
	if len(w.stack) == 0 {
		return nil
	}
	return &w.stack[len(w.stack)-1]
}

func (w *tokWalker) topIs(tag atom.Atom) bool {
	return len(w.stack) > 0 && w.stack[len(w.stack)-1].tag == tag
}

// popTo removes the element at index i and every element above it.
func (w *tokWalker) popTo(i int) {
	for j := i; j < len(w.stack); j++ {
		if w.stack[j].text != 0 {
			w.nText--
		}
	}
	w.stack = w.stack[:i]
}

func (w *tokWalker) pop() {
	if len(w.stack) > 0 {
		w.popTo(len(w.stack) - 1)
	}
}

// removeAt removes one element from the middle of the stack, as the parser
// does with a form at </form>: the elements above it stay open.
func (w *tokWalker) removeAt(i int) {
	if w.stack[i].text != 0 {
		w.nText--
	}
	w.stack = append(w.stack[:i], w.stack[i+1:]...)
}

func (w *tokWalker) stackIndex(id int32) int {
	for i := len(w.stack) - 1; i >= 0; i-- {
		if w.stack[i].id == id {
			return i
		}
	}
	return -1
}

// Scopes, as html.Parse's indexOfElementInScope has them.
type tokScope int

const (
	scopeDefault tokScope = iota
	scopeListItem
	scopeButton
)

// indexInScope returns the index of the highest open element with one of
// the tags (h1 stands for every heading) in scope s, or -1.
func (w *tokWalker) indexInScope(s tokScope, tag atom.Atom) int {
	for i := len(w.stack) - 1; i >= 0; i-- {
		t := w.stack[i].tag
		if t == tag || tag == atom.H1 && isHeading(t) {
			return i
		}
		switch {
		case s == scopeListItem && (t == atom.Ol || t == atom.Ul),
			s == scopeButton && t == atom.Button:
			return -1
		}
		switch t {
		case atom.Applet, atom.Caption, atom.Html, atom.Table, atom.Td, atom.Th, atom.Marquee, atom.Object, atom.Template, atom.Select:
			return -1
		}
	}
	return -1
}

func (w *tokWalker) inScope(s tokScope, tag atom.Atom) bool { return w.indexInScope(s, tag) >= 0 }

// popUntil pops up to and including the highest tag in scope s, and
// reports whether there was one.
func (w *tokWalker) popUntil(s tokScope, tag atom.Atom) bool {
	if i := w.indexInScope(s, tag); i >= 0 {
		w.popTo(i)
		return true
	}
	return false
}

func (w *tokWalker) closeP() { w.popUntil(scopeButton, atom.P) }

// generateImpliedEndTags pops the elements whose end tag is implied, except
// one tag (0 for none).
func (w *tokWalker) generateImpliedEndTags(except atom.Atom) {
	for len(w.stack) > 0 {
		switch t := w.top().tag; t {
		case atom.Dd, atom.Dt, atom.Li, atom.Optgroup, atom.Option, atom.P, atom.Rb, atom.Rp, atom.Rt, atom.Rtc:
			if t != except {
				w.pop()
				continue
			}
		}
		return
	}
}

func isHeading(t atom.Atom) bool {
	switch t {
	case atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6:
		return true
	}
	return false
}

// isSpecial is html's isSpecialElementMap, for HTML elements.
func isSpecial(t atom.Atom) bool {
	switch t {
	case atom.Address, atom.Applet, atom.Area, atom.Article, atom.Aside, atom.Base, atom.Basefont, atom.Bgsound,
		atom.Blockquote, atom.Body, atom.Br, atom.Button, atom.Caption, atom.Center, atom.Col, atom.Colgroup,
		atom.Dd, atom.Details, atom.Dir, atom.Div, atom.Dl, atom.Dt, atom.Embed, atom.Fieldset, atom.Figcaption,
		atom.Figure, atom.Footer, atom.Form, atom.Frame, atom.Frameset, atom.H1, atom.H2, atom.H3, atom.H4,
		atom.H5, atom.H6, atom.Head, atom.Header, atom.Hgroup, atom.Hr, atom.Html, atom.Iframe, atom.Img,
		atom.Input, atom.Keygen, atom.Li, atom.Link, atom.Listing, atom.Main, atom.Marquee, atom.Menu, atom.Meta,
		atom.Nav, atom.Noembed, atom.Noframes, atom.Noscript, atom.Object, atom.Ol, atom.P, atom.Param,
		atom.Plaintext, atom.Pre, atom.Script, atom.Search, atom.Section, atom.Select, atom.Source, atom.Style,
		atom.Summary, atom.Table, atom.Tbody, atom.Td, atom.Template, atom.Textarea, atom.Tfoot, atom.Th,
		atom.Thead, atom.Title, atom.Tr, atom.Track, atom.Ul, atom.Wbr, atom.Xmp:
		return true
	}
	return false
}

// reconstruct is "reconstruct the active formatting elements": a no-op
// unless a formatting element was closed implicitly, and then the parser
// clones it (with its href, when it is an anchor): the DOM's business.
func (w *tokWalker) reconstruct() {
	if n := len(w.afe); n > 0 {
		if last := w.afe[n-1]; last.id != 0 && w.stackIndex(last.id) < 0 {
			w.fail = true
		}
	}
}

func (w *tokWalker) afeIndex(id int32) int {
	for i := len(w.afe) - 1; i >= 0; i-- {
		if w.afe[i].id == id {
			return i
		}
	}
	return -1
}

func (w *tokWalker) afeRemove(id int32) {
	if i := w.afeIndex(id); i >= 0 {
		w.afe = append(w.afe[:i], w.afe[i+1:]...)
	}
}

// clearToMarker is "clear the list of active formatting elements up to the
// last marker".
func (w *tokWalker) clearToMarker() {
	for len(w.afe) > 0 {
		n := w.afe[len(w.afe)-1]
		w.afe = w.afe[:len(w.afe)-1]
		if n.id == 0 {
			return
		}
	}
}

// adoption is the adoption agency algorithm for an end tag of a formatting
// element, in the cases that neither move nor clone anything.
func (w *tokWalker) adoption(tag atom.Atom) {
	if t := w.top(); t != nil && t.tag == tag && w.afeIndex(t.id) < 0 {
		w.pop()
		return
	}
	var fe int32
	for i := len(w.afe) - 1; i >= 0 && w.afe[i].id != 0; i-- {
		if w.afe[i].tag == tag {
			fe = w.afe[i].id
			break
		}
	}
	if fe == 0 {
		w.endTagOther(tag, "")
		return
	}
	i := w.stackIndex(fe)
	if i < 0 {
		w.afeRemove(fe)
		return
	}
	if !w.inScope(scopeDefault, tag) {
		return
	}
	for _, e := range w.stack[i:] {
		if isSpecial(e.tag) {
			w.fail = true // a furthest block: subtrees move, the element is cloned
			return
		}
	}
	w.popTo(i)
	w.afeRemove(fe)
}

// endTagOther is the "any other end tag" rule of "in body".
func (w *tokWalker) endTagOther(tag atom.Atom, name string) {
	for i := len(w.stack) - 1; i >= 0; i-- {
		e := &w.stack[i]
		if e.tag == tag && (tag != 0 || e.name == name) {
			w.popTo(i)
			return
		}
		if isSpecial(e.tag) {
			return
		}
	}
}

// insert adds an element for the current tag: its links are found, it
// becomes a child of the current node, and unless void it is pushed.
func (w *tokWalker) insert(tag atom.Atom, name string, void, raw bool) {
	if len(w.stack) >= tokMaxDepth || w.fostering() {
		w.fail = true
		return
	}
	if t := w.top(); t != nil {
		t.child = true
	}
	w.nextID++
	text := w.emit(tag, name)
	if void {
		return
	}
	w.stack = append(w.stack, tokElem{tag: tag, name: name, id: w.nextID, text: text, raw: raw})
	if text != 0 {
		w.nText++
	}
}

// insertFormatting inserts a formatting element and puts it on the list
// of active formatting elements.
func (w *tokWalker) insertFormatting(tag atom.Atom) {
	same := 0
	for i := len(w.afe) - 1; i >= 0 && w.afe[i].id != 0; i-- {
		if w.afe[i].tag == tag {
			same++
		}
	}
	if same >= 3 {
		// The parser drops the earliest of three with equal attributes,
		// which changes what a later reconstruction clones.
		w.fail = true
		return
	}
	w.insert(tag, "", false, false)
	w.afe = append(w.afe, tokFormat{id: w.nextID, tag: tag})
}

// startTag handles a start tag in the phases before the body, then in the
// body.
func (w *tokWalker) startTag(tag atom.Atom, name string) {
	switch w.phase {
	case phaseBeforeHead:
		switch tag {
		case atom.Html:
			w.htmlHeadBody()
			return
		case atom.Head:
			w.htmlHeadBody()
			w.phase = phaseInHead
			return
		}
		w.phase = phaseInHead
		fallthrough
	case phaseInHead:
		if w.inHeadStart(tag) {
			return
		}
		w.phase = phaseAfterHead
		fallthrough
	case phaseAfterHead:
		switch tag {
		case atom.Html, atom.Head:
			w.htmlHeadBody()
			return
		case atom.Body:
			w.htmlHeadBody()
			w.phase = phaseInBody
			return
		case atom.Frameset:
			w.fail = true
			return
		case atom.Base, atom.Basefont, atom.Bgsound, atom.Link, atom.Meta, atom.Noframes, atom.Script, atom.Style, atom.Template, atom.Title:
			w.inHeadStart(tag)
			return
		}
		w.phase = phaseInBody
	}
	if w.after != inBody && tag != atom.Html {
		w.after = inBody
	}
	w.modeStart(tag, name)
}

// htmlHeadBody handles <html>, <head> and <body> tags: they carry no link,
// except in a style attribute, which the parser may merge into the element
// an earlier tag made.
func (w *tokWalker) htmlHeadBody() {
	if w.hasSty {
		w.fail = true
	}
}

// inHeadStart is "in head" for a start tag; false means "anything else"
// (the head ends and the tag is reprocessed).
func (w *tokWalker) inHeadStart(tag atom.Atom) bool {
	switch tag {
	case atom.Html, atom.Head:
		w.htmlHeadBody()
	case atom.Base, atom.Basefont, atom.Bgsound, atom.Link, atom.Meta:
		w.insert(tag, "", true, false)
	case atom.Noscript, atom.Script, atom.Title, atom.Noframes, atom.Style:
		// <noscript> is raw text: html.Parse runs with scripting on.
		w.insert(tag, "", false, true)
	case atom.Template:
		w.fail = true
	default:
		return false
	}
	return true
}

// bodyStart is "in body" for a start tag.
func (w *tokWalker) bodyStart(tag atom.Atom, name string) {
	switch tag {
	case atom.Html, atom.Body:
		w.htmlHeadBody()
	case atom.Base, atom.Basefont, atom.Bgsound, atom.Link, atom.Meta, atom.Noframes, atom.Script, atom.Style, atom.Template, atom.Title:
		w.inHeadStart(tag)
	case atom.Frameset, atom.Math, atom.Svg:
		w.fail = true
	case atom.Table:
		if w.inScope(scopeButton, atom.P) {
			// Whether <table> closes the <p> depends on quirks mode.
			w.fail = true
			return
		}
		w.insert(tag, "", false, false)
		w.mode = modeTable
	case atom.Address, atom.Article, atom.Aside, atom.Blockquote, atom.Center, atom.Details, atom.Dialog, atom.Dir,
		atom.Div, atom.Dl, atom.Fieldset, atom.Figcaption, atom.Figure, atom.Footer, atom.Header, atom.Hgroup,
		atom.Main, atom.Menu, atom.Nav, atom.Ol, atom.P, atom.Search, atom.Section, atom.Summary, atom.Ul,
		atom.Pre, atom.Listing, atom.Plaintext:
		w.closeP()
		w.insert(tag, "", false, false)
	case atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6:
		w.closeP()
		if t := w.top(); t != nil && isHeading(t.tag) {
			w.pop()
		}
		w.insert(tag, "", false, false)
	case atom.Form:
		if w.form != 0 {
			return // ignored
		}
		w.closeP()
		w.insert(tag, "", false, false)
		w.form = w.nextID
	case atom.Li, atom.Dd, atom.Dt:
		for i := len(w.stack) - 1; i >= 0; i-- {
			t := w.stack[i].tag
			if t == tag || tag != atom.Li && (t == atom.Dd || t == atom.Dt) {
				w.popTo(i)
				break
			}
			if t == atom.Address || t == atom.Div || t == atom.P || !isSpecial(t) {
				continue
			}
			break
		}
		w.closeP()
		w.insert(tag, "", false, false)
	case atom.Button:
		if w.inScope(scopeDefault, atom.Button) {
			w.generateImpliedEndTags(0)
			w.popUntil(scopeDefault, atom.Button)
		}
		w.reconstruct()
		w.insert(tag, "", false, false)
	case atom.A:
		for i := len(w.afe) - 1; i >= 0 && w.afe[i].id != 0; i-- {
			if w.afe[i].tag == atom.A {
				n := w.afe[i].id
				w.adoption(atom.A)
				if w.stackIndex(n) >= 0 {
					w.fail = true // the parser removes it from mid-stack
				}
				w.afeRemove(n)
				break
			}
		}
		w.reconstruct()
		w.insertFormatting(tag)
	case atom.B, atom.Big, atom.Code, atom.Em, atom.Font, atom.I, atom.S, atom.Small, atom.Strike, atom.Strong, atom.Tt, atom.U:
		w.reconstruct()
		w.insertFormatting(tag)
	case atom.Nobr:
		w.reconstruct()
		if w.inScope(scopeDefault, atom.Nobr) {
			w.adoption(atom.Nobr)
			w.reconstruct()
		}
		w.insertFormatting(tag)
	case atom.Applet, atom.Marquee, atom.Object:
		w.reconstruct()
		w.insert(tag, "", false, false)
		w.afe = append(w.afe, tokFormat{})
	case atom.Area, atom.Br, atom.Embed, atom.Img, atom.Keygen, atom.Wbr:
		w.reconstruct()
		w.insert(tag, "", true, false)
	case atom.Image:
		w.reconstruct()
		w.insert(atom.Img, "", true, false)
	case atom.Input:
		w.popUntil(scopeDefault, atom.Select)
		w.reconstruct()
		w.insert(tag, "", true, false)
	case atom.Param, atom.Source, atom.Track:
		w.insert(tag, "", true, false)
	case atom.Hr:
		if w.inScope(scopeButton, atom.P) {
			w.generateImpliedEndTags(atom.P)
			w.popUntil(scopeDefault, atom.P)
		}
		if w.inScope(scopeDefault, atom.Select) {
			w.generateImpliedEndTags(0)
		}
		w.insert(tag, "", true, false)
	case atom.Textarea, atom.Iframe, atom.Noembed, atom.Noscript:
		w.insert(tag, "", false, true)
	case atom.Xmp:
		w.closeP()
		w.reconstruct()
		w.insert(tag, "", false, true)
	case atom.Select:
		if w.popUntil(scopeDefault, atom.Select) {
			return // a <select> in a <select> closes it and is ignored
		}
		w.reconstruct()
		w.insert(tag, "", false, false)
	case atom.Option, atom.Optgroup:
		if w.inScope(scopeDefault, atom.Select) {
			except := atom.Atom(0)
			if tag == atom.Option {
				except = atom.Optgroup
			}
			w.generateImpliedEndTags(except)
		} else if w.topIs(atom.Option) {
			w.pop()
		}
		w.reconstruct()
		w.insert(tag, "", false, false)
	case atom.Rb, atom.Rtc, atom.Rp, atom.Rt:
		if w.inScope(scopeDefault, atom.Ruby) {
			except := atom.Atom(0)
			if tag == atom.Rp || tag == atom.Rt {
				except = atom.Rtc
			}
			w.generateImpliedEndTags(except)
		}
		w.insert(tag, "", false, false)
	case atom.Caption, atom.Col, atom.Colgroup, atom.Frame, atom.Head, atom.Tbody, atom.Td, atom.Tfoot, atom.Th, atom.Thead, atom.Tr:
		// ignored in body
	default:
		w.reconstruct()
		w.insert(tag, name, false, false)
	}
}

// endTag handles an end tag.
func (w *tokWalker) endTag(tag atom.Atom, name string) {
	if t := w.top(); t != nil && t.raw {
		w.pop() // the end of raw text: the tokenizer only ends it with its own tag
		return
	}
	switch w.phase {
	case phaseBeforeHead, phaseInHead:
		switch tag {
		case atom.Head:
			// Before head, the head is implied first; either way it ends.
			w.phase = phaseAfterHead
			return
		case atom.Body, atom.Html, atom.Br:
			w.phase = phaseAfterHead
		default:
			return // ignored
		}
		fallthrough
	case phaseAfterHead:
		switch tag {
		case atom.Body, atom.Html, atom.Br:
			w.phase = phaseInBody
		default:
			return // ignored
		}
	}
	switch w.after {
	case afterBody:
		if tag == atom.Html {
			w.after = afterAfterBody
			return
		}
		w.after = inBody
	case afterAfterBody:
		w.after = inBody
	}
	w.modeEnd(tag, name)
}

// bodyEnd is "in body" for an end tag.
func (w *tokWalker) bodyEnd(tag atom.Atom, name string) {
	switch tag {
	case atom.Body, atom.Html:
		if w.bodyInScope() {
			if tag == atom.Body {
				w.after = afterBody
			} else {
				w.after = afterAfterBody
			}
		}
	case atom.Address, atom.Article, atom.Aside, atom.Blockquote, atom.Button, atom.Center, atom.Details, atom.Dialog,
		atom.Dir, atom.Div, atom.Dl, atom.Fieldset, atom.Figcaption, atom.Figure, atom.Footer, atom.Header,
		atom.Hgroup, atom.Listing, atom.Main, atom.Menu, atom.Nav, atom.Ol, atom.Pre, atom.Search, atom.Section,
		atom.Select, atom.Summary, atom.Ul:
		if !w.inScope(scopeDefault, tag) {
			return
		}
		w.generateImpliedEndTags(0)
		w.popUntil(scopeDefault, tag)
	case atom.Form:
		node := w.form
		w.form = 0
		i := w.indexInScope(scopeDefault, atom.Form)
		if node == 0 || i < 0 || w.stack[i].id != node {
			return
		}
		w.generateImpliedEndTags(0)
		if i := w.stackIndex(node); i >= 0 {
			w.removeAt(i)
		}
	case atom.P:
		if !w.inScope(scopeButton, atom.P) {
			w.insert(atom.P, "", false, false) // an empty <p>, closed at once
		}
		w.popUntil(scopeButton, atom.P)
	case atom.Li:
		w.popUntil(scopeListItem, atom.Li)
	case atom.Dd, atom.Dt:
		w.popUntil(scopeDefault, tag)
	case atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6:
		w.popUntil(scopeDefault, atom.H1)
	case atom.A, atom.B, atom.Big, atom.Code, atom.Em, atom.Font, atom.I, atom.Nobr, atom.S, atom.Small, atom.Strike, atom.Strong, atom.Tt, atom.U:
		w.adoption(tag)
	case atom.Applet, atom.Marquee, atom.Object:
		if w.popUntil(scopeDefault, tag) {
			w.clearToMarker()
		}
	case atom.Br:
		w.reconstruct()
		w.insert(atom.Br, "", true, false)
	case atom.Template:
		// ignored: no template is open (one would have gone to the DOM)
	default:
		w.endTagOther(tag, name)
	}
}

// bodyInScope reports whether the body element is in scope: no element
// that bounds the default scope is open.
func (w *tokWalker) bodyInScope() bool {
	for i := len(w.stack) - 1; i >= 0; i-- {
		switch w.stack[i].tag {
		case atom.Applet, atom.Caption, atom.Html, atom.Table, atom.Td, atom.Th, atom.Marquee, atom.Object, atom.Template, atom.Select:
			return false
		}
	}
	return true
}

// comment appends a comment node: to the current node in body, elsewhere
// to nodes whose children do not matter here.
func (w *tokWalker) comment() {
	if w.phase == phaseInBody && w.after == inBody {
		if t := w.top(); t != nil {
			t.child = true
		}
	}
}

const tokWhitespace = " \t\r\n\f"

// textToken handles a text token: raw text of the current element, or text
// in a phase before the body, or body text.
func (w *tokWalker) textToken(d []byte) {
	if t := w.top(); t != nil && t.raw {
		// "text" mode: NULs were made U+FFFD by the tokenizer.
		if t.tag == atom.Textarea && !t.child {
			d = dropNewline(d)
		}
		if len(d) > 0 {
			w.addText(d)
		}
		return
	}
	if w.phase != phaseInBody {
		// Whitespace before the body goes to html or head; anything else
		// starts the body, where no anchor or <pre> is open yet.
		if len(bytes.TrimLeft(d, tokWhitespace)) == 0 {
			return
		}
		w.phase = phaseInBody
		return
	}
	if w.after != inBody && len(bytes.TrimLeft(d, tokWhitespace)) > 0 {
		w.after = inBody
	}
	w.modeText(d)
}

// bodyText is "in body" for a text token.
func (w *tokWalker) bodyText(d []byte) {
	if t := w.top(); t != nil && (t.tag == atom.Pre || t.tag == atom.Listing) && !t.child {
		d = dropNewline(d)
	}
	if bytes.IndexByte(d, 0) >= 0 {
		d = bytes.ReplaceAll(d, []byte{0}, nil)
	}
	if len(d) == 0 {
		return
	}
	w.reconstruct()
	w.addText(d)
}

// dropNewline drops the newline the parser ignores at the start of a
// <pre>, <listing> or <textarea>.
func dropNewline(d []byte) []byte {
	if len(d) > 0 && d[0] == '\r' {
		d = d[1:]
	}
	if len(d) > 0 && d[0] == '\n' {
		d = d[1:]
	}
	return d
}

// addText appends a text node to the current node: it is text of every
// open element that collects text (anchors with an href, <style>).
func (w *tokWalker) addText(d []byte) {
	if len(d) == 0 || w.fostering() {
		return
	}
	if t := w.top(); t != nil {
		t.child = true
	}
	if w.nText == 0 {
		return
	}
	for i := range w.stack {
		if n := w.stack[i].text; n != 0 {
			w.texts[n-1] = append(w.texts[n-1], d...)
		}
	}
}

// newText starts a text collector and returns its 1-based index.
func (w *tokWalker) newText() int32 {
	if n := len(w.texts); n < cap(w.texts) {
		w.texts = w.texts[:n+1]
		w.texts[n] = w.texts[n][:0]
	} else {
		w.texts = append(w.texts, nil)
	}
	return int32(len(w.texts))
}

func (w *tokWalker) add(group int, l Link, text int32) {
	w.groups[group] = append(w.groups[group], tokLink{Link: l, text: text})
}

// emit records the links of a new element, as extractLinksDOM finds them
// (its selector decides which elements it visits at all), and returns the
// element's text collector, if it has one.
func (w *tokWalker) emit(tag atom.Atom, name string) (text int32) {
	if name == "" {
		name = tag.String()
	}
	if tag == atom.Base && w.hasHref && !w.hasBase {
		// The first <base href> in document order, wherever it is.
		w.baseHref, w.hasBase = w.href, true
	}
	matched := w.hasSty
	switch tag {
	case atom.A, atom.Area, atom.Link:
		matched = matched || w.hasHref
	case atom.Img, atom.Source:
		matched = matched || w.hasSrc || w.hasSrcset
	case atom.Video:
		matched = matched || w.hasPoster || w.hasSrc
	case atom.Audio, atom.Input, atom.Embed, atom.Script, atom.Iframe, atom.Frame:
		matched = matched || w.hasSrc
	case atom.Style:
		matched = true
	}
	if !matched {
		return 0
	}
	switch tag {
	case atom.A, atom.Area:
		if w.hasHref {
			if tag == atom.A {
				text = w.newText()
			}
			w.add(0, Link{URL: strings.TrimSpace(w.href), Kind: Anchor, Attr: attrName(tag, name, "href"), Rel: w.rel}, text)
		}
	case atom.Img, atom.Source, atom.Video, atom.Audio, atom.Input, atom.Embed:
		if v := strings.TrimSpace(w.src); v != "" {
			w.add(1, Link{URL: v, Kind: KindOf(name, "src", ""), Attr: attrName(tag, name, "src")}, 0)
		}
		if v := strings.TrimSpace(w.poster); v != "" {
			w.add(1, Link{URL: v, Kind: KindOf(name, "poster", ""), Attr: attrName(tag, name, "poster")}, 0)
		}
		if w.srcset != "" {
			for _, u := range ExtractSrcset(w.srcset) {
				w.add(1, Link{URL: u, Kind: KindOf(name, "srcset", ""), Attr: attrName(tag, name, "srcset")}, 0)
			}
		}
	case atom.Link:
		if w.hasHref {
			rel := strings.ToLower(w.rel)
			w.add(2, Link{URL: strings.TrimSpace(w.href), Kind: KindOf("link", "href", rel), Attr: "link@href", Rel: rel}, 0)
		}
	case atom.Script:
		if w.hasSrc {
			w.add(3, Link{URL: strings.TrimSpace(w.src), Kind: Script, Attr: "script@src"}, 0)
		}
	case atom.Iframe, atom.Frame:
		if w.hasSrc {
			w.add(4, Link{URL: strings.TrimSpace(w.src), Kind: Iframe, Attr: attrName(tag, name, "src")}, 0)
		}
	case atom.Style:
		text = w.newText()
		w.add(5, Link{}, text) // its url()s, once its text is known
	}
	if w.hasSty {
		for _, u := range CSSLinks([]byte(w.style)) {
			w.add(6, Link{URL: u, Kind: CSSURL, Attr: attrName(tag, name, "style")}, 0)
		}
	}
	return text
}

// finish resolves the links found, in extractLinksDOM's order.
func (w *tokWalker) finish(base *url.URL) ([]Link, bool) {
	abs, ok := pageResolver(base, w.baseHref, w.hasBase)
	if !ok {
		return nil, true
	}
	n := 0
	for _, group := range w.groups {
		n += len(group)
	}
	if n == 0 {
		return nil, true
	}
	links := make([]Link, 0, n)
	for g, group := range w.groups {
		for _, l := range group {
			if g == 5 {
				for _, u := range CSSLinks(w.texts[l.text-1]) {
					links = append(links, Link{URL: abs(u), Kind: CSSURL, Attr: "style@url"})
				}
				continue
			}
			l.URL = abs(l.URL)
			if l.text != 0 {
				l.Text = collapseBytes(w.texts[l.text-1], &w.scratch)
			}
			links = append(links, l.Link)
		}
	}
	if len(links) == 0 {
		return nil, true // as the DOM's: <style> elements without url()s
	}
	return links, true
}

// collapseBytes is collapse (strings.Fields joined by spaces) without the
// slice of fields, building in buf: the same runes are spaces, and bytes
// that are not valid UTF-8 are kept as they are.
func collapseBytes(b []byte, buf *[]byte) string {
	out := (*buf)[:0]
	gap := false
	for i := 0; i < len(b); {
		c, size := b[i], 1
		var space bool
		if c < utf8.RuneSelf {
			space = c == ' ' || '\t' <= c && c <= '\r'
		} else {
			var r rune
			r, size = utf8.DecodeRune(b[i:])
			space = unicode.IsSpace(r)
		}
		if space {
			gap = true
		} else {
			if gap && len(out) > 0 {
				out = append(out, ' ')
			}
			gap = false
			out = append(out, b[i:i+size]...)
		}
		i += size
	}
	*buf = out
	return string(out)
}

// attrName is name+"@"+attr, without building the common ones.
func attrName(tag atom.Atom, name, attr string) string {
	switch attr {
	case "href":
		switch tag {
		case atom.A:
			return "a@href"
		case atom.Area:
			return "area@href"
		}
	case "src":
		switch tag {
		case atom.Img:
			return "img@src"
		case atom.Source:
			return "source@src"
		case atom.Iframe:
			return "iframe@src"
		case atom.Video:
			return "video@src"
		case atom.Input:
			return "input@src"
		}
	case "srcset":
		switch tag {
		case atom.Img:
			return "img@srcset"
		case atom.Source:
			return "source@srcset"
		}
	case "style":
		switch tag {
		case atom.Div:
			return "div@style"
		case atom.Span:
			return "span@style"
		case atom.P:
			return "p@style"
		case atom.A:
			return "a@style"
		case atom.Img:
			return "img@style"
		case atom.Li:
			return "li@style"
		case atom.Section:
			return "section@style"
		}
	}
	return name + "@" + attr
}
