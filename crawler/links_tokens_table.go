package crawler

import (
	"bytes"

	"golang.org/x/net/html/atom"
)

// The token walk's table modes: html.Parse's "in table", "in caption", "in
// column group", "in table body", "in row" and "in cell", rule for rule.
// Tables are common on the sites a crawl cites, and well-formed ones build
// the tree their tags say. Content in a table outside any cell is foster-
// parented: moved in front of the table, out of document order. The walk
// notices the one place that happens (an insertion while the current node
// is a table, tbody, thead, tfoot or tr and the parser's foster-parenting
// flag is set) and leaves the page to the DOM.

// Insertion modes in the body.
const (
	modeBody = iota
	modeTable
	modeCaption
	modeColgroup
	modeTbody
	modeRow
	modeCell
)

// fostering reports whether an insertion now would be foster-parented,
// and if so gives up the walk.
func (w *tokWalker) fostering() bool {
	if !w.foster || !tableish(w.top()) {
		return false
	}
	w.fail = true
	return true
}

func tableish(t *tokElem) bool {
	if t == nil {
		return false
	}
	switch t.tag {
	case atom.Table, atom.Tbody, atom.Tfoot, atom.Thead, atom.Tr:
		return true
	}
	return false
}

// tagHandler handles a tag in one insertion mode; false means it changed
// the mode and the tag is to be reprocessed.
type tagHandler func(w *tokWalker, tag atom.Atom, name string) bool

// Start and end tag handlers of the table modes, by mode; modeBody's are
// bodyStart and bodyEnd, which always consume the tag.
var (
	startIn = [...]tagHandler{modeTable: (*tokWalker).tableStart, modeCaption: (*tokWalker).captionStart,
		modeColgroup: (*tokWalker).colgroupStart, modeTbody: (*tokWalker).tbodyStart,
		modeRow: (*tokWalker).rowStart, modeCell: (*tokWalker).cellStart}
	endIn = [...]tagHandler{modeTable: (*tokWalker).tableEnd, modeCaption: (*tokWalker).captionEnd,
		modeColgroup: (*tokWalker).colgroupEnd, modeTbody: (*tokWalker).tbodyEnd,
		modeRow: (*tokWalker).rowEnd, modeCell: (*tokWalker).cellEnd}
)

// modeStart dispatches a start tag in the body by insertion mode.
func (w *tokWalker) modeStart(tag atom.Atom, name string) {
	w.dispatch(&startIn, (*tokWalker).bodyStart, tag, name)
}

// modeEnd dispatches an end tag in the body by insertion mode.
func (w *tokWalker) modeEnd(tag atom.Atom, name string) {
	w.dispatch(&endIn, (*tokWalker).bodyEnd, tag, name)
}

// dispatch hands a tag to the current mode's handler until one consumes it.
func (w *tokWalker) dispatch(in *[modeCell + 1]tagHandler, body func(*tokWalker, atom.Atom, string), tag atom.Atom, name string) {
	for !w.fail {
		if w.mode == modeBody {
			body(w, tag, name)
			return
		}
		if in[w.mode](w, tag, name) {
			return
		}
	}
}

// modeText dispatches a text token in the body by insertion mode.
func (w *tokWalker) modeText(d []byte) {
	for !w.fail {
		switch w.mode {
		case modeTable, modeTbody, modeRow:
			w.tableText(d)
			return
		case modeColgroup:
			var done bool
			if d, done = w.colgroupText(d); done {
				return
			}
		default:
			w.bodyText(d)
			return
		}
	}
}

// insertImplied inserts an element that no tag of the page made, so with
// no attributes.
func (w *tokWalker) insertImplied(tag atom.Atom) {
	saved := w.tokAttrs
	w.clearAttrs()
	w.insert(tag, "", false, false)
	w.tokAttrs = saved
}

// indexInTableScope is indexInScope for table scope, which only html,
// table and template bound, with any of tags.
func (w *tokWalker) indexInTableScope(tags ...atom.Atom) int {
	for i := len(w.stack) - 1; i >= 0; i-- {
		t := w.stack[i].tag
		for _, m := range tags {
			if t == m {
				return i
			}
		}
		if t == atom.Html || t == atom.Table || t == atom.Template {
			return -1
		}
	}
	return -1
}

func (w *tokWalker) popUntilTable(tags ...atom.Atom) bool {
	if i := w.indexInTableScope(tags...); i >= 0 {
		w.popTo(i)
		return true
	}
	return false
}

// clearToContext pops until the current node is one of tags (or html or
// template, which are never open here).
func (w *tokWalker) clearToContext(tags ...atom.Atom) {
	for len(w.stack) > 0 {
		t := w.top().tag
		for _, m := range tags {
			if t == m {
				return
			}
		}
		w.pop()
	}
}

// resetMode is "reset the insertion mode appropriately".
func (w *tokWalker) resetMode() {
	for i := len(w.stack) - 1; i >= 0; i-- {
		switch w.stack[i].tag {
		case atom.Td, atom.Th:
			w.mode = modeCell
		case atom.Tr:
			w.mode = modeRow
		case atom.Tbody, atom.Thead, atom.Tfoot:
			w.mode = modeTbody
		case atom.Caption:
			w.mode = modeCaption
		case atom.Colgroup:
			w.mode = modeColgroup
		case atom.Table:
			w.mode = modeTable
		default:
			continue
		}
		return
	}
	w.mode = modeBody
}

// tableStart is "in table" for a start tag.
func (w *tokWalker) tableStart(tag atom.Atom, name string) bool {
	switch tag {
	case atom.Caption:
		w.clearToContext(atom.Table)
		w.afe = append(w.afe, tokFormat{})
		w.insert(tag, "", false, false)
		w.mode = modeCaption
		return true
	case atom.Colgroup:
		w.clearToContext(atom.Table)
		w.insert(tag, "", false, false)
		w.mode = modeColgroup
		return true
	case atom.Col:
		w.clearToContext(atom.Table)
		w.insertImplied(atom.Colgroup)
		w.mode = modeColgroup
		return false
	case atom.Tbody, atom.Tfoot, atom.Thead:
		w.clearToContext(atom.Table)
		w.insert(tag, "", false, false)
		w.mode = modeTbody
		return true
	case atom.Td, atom.Th, atom.Tr:
		w.clearToContext(atom.Table)
		w.insertImplied(atom.Tbody)
		w.mode = modeTbody
		return false
	case atom.Table:
		if w.popUntilTable(atom.Table) {
			w.resetMode()
			return false
		}
		return true
	case atom.Style, atom.Script, atom.Template:
		w.inHeadStart(tag)
		return true
	case atom.Input:
		if w.hidden {
			w.insert(tag, "", true, false)
			return true
		}
	case atom.Form:
		if w.form != 0 {
			return true
		}
		w.insert(tag, "", false, false)
		w.form = w.nextID
		w.pop()
		return true
	}
	w.foster = true
	w.bodyStart(tag, name)
	w.foster = false
	return true
}

// tableEnd is "in table" for an end tag.
func (w *tokWalker) tableEnd(tag atom.Atom, name string) bool {
	switch tag {
	case atom.Table:
		if w.popUntilTable(atom.Table) {
			w.resetMode()
		}
		return true
	case atom.Body, atom.Caption, atom.Col, atom.Colgroup, atom.Html, atom.Tbody, atom.Td, atom.Tfoot, atom.Th, atom.Thead, atom.Tr, atom.Template:
		return true
	}
	w.foster = true
	w.bodyEnd(tag, name)
	w.foster = false
	return true
}

// tableText is "in table" for text: whitespace stays, anything else is
// foster-parented.
func (w *tokWalker) tableText(d []byte) {
	if bytes.IndexByte(d, 0) >= 0 {
		d = bytes.ReplaceAll(d, []byte{0}, nil)
	}
	if tableish(w.top()) && len(bytes.Trim(d, tokWhitespace)) == 0 {
		w.addText(d)
		return
	}
	w.foster = true
	w.bodyText(d)
	w.foster = false
}

// captionStart is "in caption" for a start tag.
func (w *tokWalker) captionStart(tag atom.Atom, name string) bool {
	switch tag {
	case atom.Caption, atom.Col, atom.Colgroup, atom.Tbody, atom.Td, atom.Tfoot, atom.Thead, atom.Tr:
		// (html.Parse leaves <th> to "in body", which ignores it.)
		if !w.popUntilTable(atom.Caption) {
			return true
		}
		w.clearToMarker()
		w.mode = modeTable
		return false
	}
	w.bodyStart(tag, name)
	return true
}

// captionEnd is "in caption" for an end tag.
func (w *tokWalker) captionEnd(tag atom.Atom, name string) bool {
	switch tag {
	case atom.Caption:
		if w.popUntilTable(atom.Caption) {
			w.clearToMarker()
			w.mode = modeTable
		}
		return true
	case atom.Table:
		if !w.popUntilTable(atom.Caption) {
			return true
		}
		w.clearToMarker()
		w.mode = modeTable
		return false
	case atom.Body, atom.Col, atom.Colgroup, atom.Html, atom.Tbody, atom.Td, atom.Tfoot, atom.Th, atom.Thead, atom.Tr:
		return true
	}
	w.bodyEnd(tag, name)
	return true
}

// colgroupAnythingElse ends the column group, if it is the current node,
// and has the token reprocessed; otherwise the token is ignored.
func (w *tokWalker) colgroupAnythingElse() bool {
	if !w.topIs(atom.Colgroup) {
		return true
	}
	w.pop()
	w.mode = modeTable
	return false
}

// colgroupText is "in column group" for text: leading whitespace stays,
// the rest is reprocessed after the group.
func (w *tokWalker) colgroupText(d []byte) ([]byte, bool) {
	s := bytes.TrimLeft(d, tokWhitespace)
	if len(s) < len(d) {
		w.addText(d[:len(d)-len(s)])
		if len(s) == 0 {
			return nil, true
		}
	}
	return s, w.colgroupAnythingElse()
}

// colgroupStart is "in column group" for a start tag.
func (w *tokWalker) colgroupStart(tag atom.Atom, name string) bool {
	switch tag {
	case atom.Html:
		w.bodyStart(tag, name)
		return true
	case atom.Col:
		w.insert(tag, "", true, false)
		return true
	case atom.Template:
		w.fail = true
		return true
	}
	return w.colgroupAnythingElse()
}

// colgroupEnd is "in column group" for an end tag.
func (w *tokWalker) colgroupEnd(tag atom.Atom, _ string) bool {
	switch tag {
	case atom.Colgroup:
		if w.topIs(atom.Colgroup) {
			w.pop()
			w.mode = modeTable
		}
		return true
	case atom.Col, atom.Template:
		return true
	}
	return w.colgroupAnythingElse()
}

// tbodyStart is "in table body" for a start tag.
func (w *tokWalker) tbodyStart(tag atom.Atom, name string) bool {
	switch tag {
	case atom.Tr:
		w.clearToContext(atom.Tbody, atom.Tfoot, atom.Thead)
		w.insert(tag, "", false, false)
		w.mode = modeRow
		return true
	case atom.Td, atom.Th:
		w.clearToContext(atom.Tbody, atom.Tfoot, atom.Thead)
		w.insertImplied(atom.Tr)
		w.mode = modeRow
		return false
	case atom.Caption, atom.Col, atom.Colgroup, atom.Tbody, atom.Tfoot, atom.Thead:
		if w.popUntilTable(atom.Tbody, atom.Thead, atom.Tfoot) {
			w.mode = modeTable
			return false
		}
		return true
	}
	return w.tableStart(tag, name)
}

// tbodyEnd is "in table body" for an end tag.
func (w *tokWalker) tbodyEnd(tag atom.Atom, name string) bool {
	switch tag {
	case atom.Tbody, atom.Tfoot, atom.Thead:
		if w.indexInTableScope(tag) >= 0 {
			w.clearToContext(atom.Tbody, atom.Tfoot, atom.Thead)
			w.pop()
			w.mode = modeTable
		}
		return true
	case atom.Table:
		if w.popUntilTable(atom.Tbody, atom.Thead, atom.Tfoot) {
			w.mode = modeTable
			return false
		}
		return true
	case atom.Body, atom.Caption, atom.Col, atom.Colgroup, atom.Html, atom.Td, atom.Th, atom.Tr:
		return true
	}
	return w.tableEnd(tag, name)
}

// closeRow ends the current row, if a row is in table scope.
func (w *tokWalker) closeRow() bool {
	if w.indexInTableScope(atom.Tr) < 0 {
		return false
	}
	w.clearToContext(atom.Tr)
	w.pop()
	w.mode = modeTbody
	return true
}

// rowStart is "in row" for a start tag.
func (w *tokWalker) rowStart(tag atom.Atom, name string) bool {
	switch tag {
	case atom.Td, atom.Th:
		w.clearToContext(atom.Tr)
		w.insert(tag, "", false, false)
		w.afe = append(w.afe, tokFormat{})
		w.mode = modeCell
		return true
	case atom.Caption, atom.Col, atom.Colgroup, atom.Tbody, atom.Tfoot, atom.Thead, atom.Tr:
		return !w.closeRow()
	}
	return w.tableStart(tag, name)
}

// rowEnd is "in row" for an end tag.
func (w *tokWalker) rowEnd(tag atom.Atom, name string) bool {
	switch tag {
	case atom.Tr:
		w.closeRow()
		return true
	case atom.Table:
		return !w.closeRow()
	case atom.Tbody, atom.Tfoot, atom.Thead:
		if w.indexInTableScope(tag) >= 0 {
			return !w.closeRow()
		}
		return true
	case atom.Body, atom.Caption, atom.Col, atom.Colgroup, atom.Html, atom.Td, atom.Th:
		return true
	}
	return w.tableEnd(tag, name)
}

// closeCell ends the current cell, if one is in table scope.
func (w *tokWalker) closeCell() bool {
	if !w.popUntilTable(atom.Td, atom.Th) {
		return false
	}
	w.clearToMarker()
	w.mode = modeRow
	return true
}

// cellStart is "in cell" for a start tag.
func (w *tokWalker) cellStart(tag atom.Atom, name string) bool {
	switch tag {
	case atom.Caption, atom.Col, atom.Colgroup, atom.Tbody, atom.Td, atom.Tfoot, atom.Th, atom.Thead, atom.Tr:
		return !w.closeCell()
	}
	w.bodyStart(tag, name)
	return true
}

// cellEnd is "in cell" for an end tag.
func (w *tokWalker) cellEnd(tag atom.Atom, name string) bool {
	switch tag {
	case atom.Td, atom.Th:
		if w.popUntilTable(tag) {
			w.clearToMarker()
			w.mode = modeRow
		}
		return true
	case atom.Body, atom.Caption, atom.Col, atom.Colgroup, atom.Html:
		return true
	case atom.Table, atom.Tbody, atom.Tfoot, atom.Thead, atom.Tr:
		if w.indexInTableScope(tag) < 0 {
			return true
		}
		if w.popUntilTable(atom.Td, atom.Th) {
			w.clearToMarker()
		}
		w.mode = modeRow
		return false
	}
	w.bodyEnd(tag, name)
	return true
}
