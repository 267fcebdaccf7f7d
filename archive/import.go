package archive

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/amberarchive/amber/warc"
)

// What happened to one record or file during Import.
const (
	ImportStored    = "stored"    // a new capture
	ImportDuplicate = "duplicate" // imported before: nothing stored
	ImportSkipped   = "skipped"   // not imported; Why says why
	ImportDefect    = "defect"    // the file departs from the standard; what could be read was
	ImportFailed    = "failed"    // the file could not be read at all
)

// ImportEvent reports what Import did with one record (or, with Offset
// -1, one file).
type ImportEvent struct {
	File   string
	Offset int64 // the record's offset in the file; -1 for the file itself or when unknown
	Type   string
	URI    string
	Action string // ImportStored, ImportDuplicate, ImportSkipped, ImportDefect or ImportFailed
	Why    string
}

// String formats the event as one line of `amber import` output.
func (e ImportEvent) String() string {
	where := e.File
	if e.Offset >= 0 {
		where += fmt.Sprintf(" offset %d", e.Offset)
	}
	s := where + ": " + e.Action
	if e.Type != "" {
		s += " " + e.Type
	}
	if e.URI != "" {
		s += " " + e.URI
	}
	if e.Why != "" {
		s += ": " + e.Why
	}
	return s
}

// ImportResult sums up an Import call.
type ImportResult struct {
	Run         uint64 // the run the captures were stored under
	Files       int    // files read
	FailedFiles int    // files that could not be read at all
	Records     int64  // records read
	Stored      int64  // captures stored
	Duplicates  int64  // records imported before, or exported from this store's own captures
	Skipped     int64  // records not imported (resource, no HTTP, ...)
	Defects     int64  // defects reported
	Bytes       int64  // response bytes stored
}

// importBatch is how many captures one import commit carries.
const importBatch = 64

// Import reads WARC files written elsewhere (wget, Heritrix, warcio,
// browsertrix, amber) into the store, as captures of one new run with Job
// "import" and Reason import (so `amber runs` lists it), whose
// Settings["files"] names the files.
//
// Response records become captures; the request record paired with each
// (by WARC-Concurrent-To in either direction, else the same URI and date)
// gives Request, and a metadata record concurrent to it gives Parent (via),
// Hops (hopsFromSeed), Duration (fetchTimeMs) and Outlinks. An
// identical-payload revisit becomes a capture with its own response head
// and its original's body, so the store marks it RevisitOf the original;
// the original is looked up by WARC-Refers-To, then payload digest, then
// WARC-Refers-To-Target-URI and -Date, then an earlier capture of the same
// URL, in the store or in any file of the same call. A server-not-modified
// revisit with HTTP headers becomes a conditional 304 capture. Resource,
// conversion and continuation records, responses without an HTTP message,
// and revisits whose original cannot be found are skipped and reported.
// ARC files are refused.
//
// Each stored capture carries its WARC-Record-ID, recorded in the same
// commit, so importing a file again stores nothing twice; an interrupted
// import is finished by importing the same files again. report, when not
// nil, is called from Import's goroutine with every record not stored
// silently (skips, duplicates, defects) and every stored capture.
func (s *Store) Import(ctx context.Context, paths []string, report func(ImportEvent)) (ImportResult, error) {
	var res ImportResult
	if report == nil {
		report = func(ImportEvent) {}
	}
	run, err := s.CreateRun(ctx, Run{Job: "import", Settings: map[string]string{"files": strings.Join(paths, " ")}})
	if err != nil {
		return res, err
	}
	res.Run = run.ID
	im := &importer{s: s, run: run.ID, res: &res, report: report, pending: map[string]bool{}, p1: newPass1()}
	// First pass over every file: requests and metadata, so that records
	// of one exchange pair up even when split across files.
	ok := make([]bool, len(paths))
	var runErr error
	for i, p := range paths {
		if runErr = ctx.Err(); runErr != nil {
			break
		}
		res.Files++
		if err := im.firstPass(p); err != nil {
			res.FailedFiles++
			report(ImportEvent{File: p, Offset: -1, Action: ImportFailed, Why: err.Error()})
			continue
		}
		ok[i] = true
	}
	for i, p := range paths {
		if runErr != nil {
			break
		}
		if runErr = ctx.Err(); runErr != nil || !ok[i] {
			continue
		}
		if err := im.file(ctx, p); err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrClosed) || isCommitErr(err) {
				runErr = err
				break
			}
			res.FailedFiles++
			report(ImportEvent{File: p, Offset: -1, Action: ImportFailed, Why: err.Error()})
		}
	}
	if runErr == nil {
		runErr = im.flush(ctx)
	}
	if runErr == nil {
		// Revisits whose original came later in the files.
		runErr = im.retryDeferred(ctx)
	}
	status := RunFinished
	if runErr != nil {
		status = RunStopped
	}
	uerr := s.UpdateRun(context.WithoutCancel(ctx), run.ID, func(r *Run) error {
		r.Status, r.Ended = status, s.now().UTC()
		return nil
	})
	if runErr != nil {
		return res, fmt.Errorf("import: %w", runErr)
	}
	return res, uerr
}

// commitError marks a failure to write the store: it stops the import.
type commitError struct{ err error }

func (e commitError) Error() string { return e.err.Error() }
func (e commitError) Unwrap() error { return e.err }

func isCommitErr(err error) bool {
	var ce commitError
	return errors.As(err, &ce)
}

// importer carries the state of one Import call.
type importer struct {
	s       *Store
	run     uint64
	res     *ImportResult
	report  func(ImportEvent)
	batch   []*Capture
	events  []ImportEvent
	pending map[string]bool // import keys in the uncommitted batch
	p1      *pass1          // requests and metadata of every file
	// deferred are revisits whose original was not found when read.
	deferred []deferredRevisit
}

type deferredRevisit struct {
	ev  ImportEvent
	c   *Capture
	ref revisitRef
}

// revisitRef is what an identical-payload revisit says about its original.
type revisitRef struct {
	refersTo, targetURI, digest string
	date                        time.Time
}

// pass1 holds what the first pass over a file learns: requests and
// metadata, to pair with responses in the second.
type pass1 struct {
	reqByID         map[string][]byte
	reqByConcurrent map[string]string // response ID -> request ID
	reqByURIDate    map[string]string
	metaByConc      map[string]warc.Header // response ID -> metadata fields
	metaByURIDate   map[string]warc.Header
}

func uriDate(rec *warc.Record) string {
	return rec.TargetURI() + " " + rec.Header.Get("WARC-Date")
}

// openWARC opens path and checks it is not an ARC file.
func openWARC(path string) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReader(f)
	head, _ := br.Peek(3)
	var start []byte
	if len(head) == 3 && head[0] == 0x1f && head[1] == 0x8b {
		if zr, err := gzip.NewReader(br); err == nil {
			start = make([]byte, 16)
			n, _ := io.ReadFull(zr, start)
			start = start[:n]
		}
	} else {
		start, _ = br.Peek(16)
	}
	if bytes.HasPrefix(start, []byte("filedesc:")) {
		f.Close()
		return nil, fmt.Errorf("ARC is not supported (an ARC file, not WARC: convert it with warcio or jwarc first)")
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func newPass1() *pass1 {
	return &pass1{reqByID: map[string][]byte{}, reqByConcurrent: map[string]string{}, reqByURIDate: map[string]string{},
		metaByConc: map[string]warc.Header{}, metaByURIDate: map[string]warc.Header{}}
}

// firstPass reads path's request and metadata records into im.p1.
func (im *importer) firstPass(path string) error {
	p1 := im.p1
	f, err := openWARC(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := warc.NewReader(bufio.NewReaderSize(f, 256<<10))
	for {
		rec, err := r.Next()
		if err != nil {
			if errors.Is(err, warc.ErrNotWARC) {
				return fmt.Errorf("not a WARC file: %v", err)
			}
			// Other read errors are reported by the second pass.
			return nil
		}
		switch rec.Type() {
		case warc.TypeRequest:
			b, err := r.ReadBlock()
			if err != nil {
				continue
			}
			id := rec.ID()
			p1.reqByID[id] = b
			for _, to := range rec.Header.Values("WARC-Concurrent-To") {
				p1.reqByConcurrent[to] = id
			}
			p1.reqByURIDate[uriDate(rec)] = id
		case warc.TypeMetadata:
			b, err := r.ReadBlock()
			if err != nil {
				continue
			}
			fields := parseFields(b)
			for _, to := range rec.Header.Values("WARC-Concurrent-To") {
				p1.metaByConc[to] = fields
			}
			p1.metaByURIDate[uriDate(rec)] = fields
		}
	}
}

// file imports the responses and revisits of one WARC file.
func (im *importer) file(ctx context.Context, path string) error {
	name := path
	p1 := im.p1
	f, err := openWARC(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := warc.NewReader(bufio.NewReaderSize(f, 256<<10))
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			im.defect(name, -1, fmt.Sprintf("reading stopped: %v", err))
			break
		}
		im.res.Records++
		ev := ImportEvent{File: name, Offset: rec.Offset, Type: rec.Type(), URI: rec.TargetURI()}
		typ := rec.Type()
		switch typ {
		case warc.TypeWarcinfo, warc.TypeRequest, warc.TypeMetadata:
			// Requests and metadata were paired in the first pass.
			continue
		case warc.TypeResponse, warc.TypeRevisit:
		default:
			ev.Action, ev.Why = ImportSkipped, typ+" record: not an HTTP exchange, not imported"
			if typ == "" {
				ev.Why = "record without WARC-Type"
			}
			im.skip(ev)
			continue
		}
		block, err := r.ReadBlock()
		if err != nil {
			ev.Action, ev.Why = ImportSkipped, fmt.Sprintf("block unreadable: %v", err)
			im.skip(ev)
			continue
		}
		for _, d := range rec.Defects {
			im.defect(name, rec.Offset, fmt.Sprintf("%s %s: %s", typ, rec.TargetURI(), d))
		}
		if err := im.record(ctx, ev, rec, block, p1); err != nil {
			return err
		}
	}
	for _, d := range r.Defects() {
		im.defect(name, -1, d)
	}
	return nil
}

func (im *importer) skip(ev ImportEvent) {
	im.res.Skipped++
	im.report(ev)
}

func (im *importer) defect(file string, off int64, why string) {
	im.res.Defects++
	im.report(ImportEvent{File: file, Offset: off, Action: ImportDefect, Why: why})
}

// record turns one response or revisit record into a capture.
func (im *importer) record(ctx context.Context, ev ImportEvent, rec *warc.Record, block []byte, p1 *pass1) error {
	date, err := rec.Date()
	if err != nil {
		ev.Action, ev.Why = ImportSkipped, fmt.Sprintf("unparsable WARC-Date %q", rec.Header.Get("WARC-Date"))
		im.skip(ev)
		return nil
	}
	u, err := url.Parse(rec.TargetURI())
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		ev.Action, ev.Why = ImportSkipped, "not an http(s) URL"
		im.skip(ev)
		return nil
	}
	c := &Capture{URL: rec.TargetURI(), Time: date.UTC(), Method: "GET", Reason: ReasonImport, Run: im.run,
		IP: rec.Header.Get("WARC-IP-Address"), WARCRecordID: importID(rec, block)}

	// The request.
	id := rec.ID()
	reqID := p1.reqByConcurrent[id]
	for _, to := range rec.Header.Values("WARC-Concurrent-To") {
		if _, ok := p1.reqByID[to]; ok && reqID == "" {
			reqID = to
		}
	}
	if reqID == "" {
		reqID = p1.reqByURIDate[uriDate(rec)]
	}
	if req := p1.reqByID[reqID]; req != nil {
		c.Request = req
		if rh, _ := warc.SplitHTTP(req); !bytes.HasSuffix(rh, []byte("\r\n\r\n")) {
			im.defect(ev.File, -1, fmt.Sprintf("request %s: HTTP head does not end in a blank line (kept as found)", ev.URI))
		}
		if h, err := warc.ParseHTTPHead(req); err == nil && h.Method != "" {
			c.Method = h.Method
			c.Conditional = h.Fields.Has("If-None-Match") || h.Fields.Has("If-Modified-Since")
		}
	}
	// The metadata.
	meta, ok := p1.metaByConc[id]
	if !ok {
		meta = p1.metaByURIDate[uriDate(rec)]
	}
	c.Parent = meta.Get("via")
	c.Hops = meta.Get("hopsFromSeed")
	if ms, err := strconv.ParseInt(meta.Get("fetchTimeMs"), 10, 64); err == nil {
		c.Duration = time.Duration(ms) * time.Millisecond
	}
	for _, l := range meta.Values("outlink") {
		if f := strings.Fields(l); len(f) > 0 {
			c.Outlinks = append(c.Outlinks, f[0])
		}
	}
	c.Depth = strings.Count(c.Hops, string(HopLink))

	if !bytes.HasPrefix(block, []byte("HTTP/")) {
		ev.Action = ImportSkipped
		ev.Why = "no HTTP response in the block"
		if len(block) == 0 {
			ev.Why = "empty block (Content-Length 0): no HTTP response to store"
		}
		im.skip(ev)
		return nil
	}
	head, body := warc.SplitHTTP(block)
	h, err := warc.ParseHTTPHead(head)
	if err != nil || h.Status == 0 {
		ev.Action, ev.Why = ImportSkipped, fmt.Sprintf("unparsable HTTP response head: %v", err)
		im.skip(ev)
		return nil
	}
	c.ResponseHead, c.Body = head, body
	c.Status, c.MIME = h.Status, h.ContentType()
	if loc := h.Location(); loc != "" {
		if lu, err := u.Parse(loc); err == nil {
			c.Location = lu.String()
		}
	}

	if rec.Type() == warc.TypeResponse {
		c.Truncated = rec.Header.Get("WARC-Truncated")
		if cl := h.Fields.Get("Content-Length"); cl != "" && !h.Chunked() && c.Truncated == "" && cl != strconv.Itoa(len(body)) {
			im.defect(ev.File, ev.Offset, fmt.Sprintf("response %s: HTTP Content-Length %s but the body has %d bytes (kept as found)", ev.URI, cl, len(body)))
		}
		return im.add(ctx, ev, c)
	}

	// Revisits.
	profile := rec.Header.Get("WARC-Profile")
	switch {
	case strings.HasSuffix(profile, "/revisit/server-not-modified"):
		c.Conditional = true
		return im.add(ctx, ev, c)
	case strings.HasSuffix(profile, "identical-payload-digest"):
		ref := revisitRef{refersTo: rec.Header.Get("WARC-Refers-To"), targetURI: rec.Header.Get("WARC-Refers-To-Target-URI"),
			digest: rec.Header.Get("WARC-Payload-Digest")}
		if d := rec.Header.Get("WARC-Refers-To-Date"); d != "" {
			ref.date, _ = warc.ParseDate(d)
		}
		c.Body = nil
		return im.revisit(ctx, ev, c, ref, false)
	default:
		ev.Action, ev.Why = ImportSkipped, fmt.Sprintf("revisit with unknown profile %q", profile)
		im.skip(ev)
		return nil
	}
}

// revisit imports an identical-payload revisit: its own head, the body of
// its original. final says this is the last try (after all files).
func (im *importer) revisit(ctx context.Context, ev ImportEvent, c *Capture, ref revisitRef, final bool) error {
	if err := im.flush(ctx); err != nil { // the original may be pending
		return err
	}
	orig, err := im.s.findOriginal(c, ref)
	if err != nil {
		return commitError{err}
	}
	if orig == nil {
		if !final {
			im.deferred = append(im.deferred, deferredRevisit{ev: ev, c: c, ref: ref})
			return nil
		}
		ev.Action = ImportSkipped
		ev.Why = fmt.Sprintf("revisit of a payload not in the store (%s, first seen at %s %s): import the original's WARC first",
			ref.digest, ref.targetURI, ref.date.Format(time.RFC3339))
		im.skip(ev)
		return nil
	}
	body, err := im.s.Body(ctx, orig)
	if err != nil {
		return commitError{err}
	}
	origHead, _ := warc.ParseHTTPHead(orig.ResponseHead)
	head, _ := warc.ParseHTTPHead(c.ResponseHead)
	if origHead.Chunked() && !head.Chunked() {
		if d, err := warc.Dechunk(body); err == nil {
			body = d
		}
	}
	if d, _ := payloadDigest(c.ResponseHead, body); d != orig.PayloadDigest {
		ev.Action, ev.Why = ImportSkipped, fmt.Sprintf("revisit's transfer coding differs from its original %s %s", orig.URL, orig.Time.Format(time.RFC3339))
		im.skip(ev)
		return nil
	}
	c.Body = body
	if ev.Why == "" {
		ev.Why = "revisit of " + orig.URL + " " + orig.Time.Format(time.RFC3339)
	}
	return im.add(ctx, ev, c)
}

func (im *importer) retryDeferred(ctx context.Context) error {
	ds := im.deferred
	im.deferred = nil
	for _, d := range ds {
		if err := im.revisit(ctx, d.ev, d.c, d.ref, true); err != nil {
			return err
		}
	}
	return im.flush(ctx)
}

// importID is the key under which a record's import is remembered: its
// WARC-Record-ID, or for records without one, a digest of what it says.
func importID(rec *warc.Record, block []byte) string {
	if id := rec.ID(); id != "" {
		return id
	}
	return "<amber:no-record-id:" + warc.BlockDigest([]byte(rec.TargetURI()+" "+rec.Header.Get("WARC-Date")+" "+warc.BlockDigest(block))) + ">"
}

// add queues c for the next commit, unless it was imported before.
func (im *importer) add(ctx context.Context, ev ImportEvent, c *Capture) error {
	k := string(importedKey(c.WARCRecordID, c.URL))
	dup := im.pending[k]
	if !dup {
		var err error
		if dup, err = im.s.wasImported(c.WARCRecordID, c.URL); err != nil {
			return commitError{err}
		}
	}
	if dup {
		im.res.Duplicates++
		ev.Action, ev.Why = ImportDuplicate, "imported before ("+c.WARCRecordID+")"
		im.report(ev)
		return nil
	}
	if here, err := im.s.exportedHere(c); err != nil {
		return commitError{err}
	} else if here {
		im.res.Duplicates++
		ev.Action, ev.Why = ImportDuplicate, "this store holds it: amber exported this record ("+c.WARCRecordID+") from one of its captures"
		im.report(ev)
		return nil
	}
	im.pending[k] = true
	ev.Action = ImportStored
	im.batch = append(im.batch, c)
	im.events = append(im.events, ev)
	if len(im.batch) >= importBatch {
		return im.flush(ctx)
	}
	return nil
}

// flush commits the queued captures and reports them.
func (im *importer) flush(ctx context.Context) error {
	if len(im.batch) == 0 {
		return nil
	}
	if _, err := im.s.Commit(ctx, im.run, Batch{Captures: im.batch}); err != nil {
		return commitError{err}
	}
	for i, c := range im.batch {
		im.res.Stored++
		im.res.Bytes += int64(len(c.ResponseHead) + len(c.Body))
		im.report(im.events[i])
	}
	im.batch, im.events = nil, nil
	clear(im.pending)
	return nil
}

// importedKey is the imported bucket's key: record ID, 0, target URI (IDs
// are meant to be unique, but some tools reuse them).
func importedKey(recordID, uri string) []byte {
	return urlKey(recordID + "\x00" + uri)
}

// putImported records, in the capture's own transaction, that c was
// imported from its WARC record.
func putImported(tx *bolt.Tx, c *Capture, key []byte) error {
	b := tx.Bucket(bucketImported)
	if b == nil {
		return fmt.Errorf("imported bucket: %w", ErrNotFound)
	}
	k := importedKey(c.WARCRecordID, c.URL)
	if b.Get(k) != nil {
		return nil
	}
	return b.Put(k, key)
}

// exportedHere reports whether c's record was written by amber's export
// from a capture this store holds: the export derives each record's ID
// from its capture's key and body (recordID), and remembers nothing, so
// without this an export imported back into the store it came from would
// store every capture again, a nanosecond after the original.
func (s *Store) exportedHere(c *Capture) (bool, error) {
	id := c.WARCRecordID
	if !mayBeRecordID(id) { // other tools' records need no lookup
		return false, nil
	}
	caps, err := s.CaptureIndex(c.URL)
	if err != nil {
		return false, err
	}
	for _, o := range caps {
		if recordID(o, "response") == id {
			return true, nil
		}
	}
	return false, nil
}

// wasImported reports whether the record was imported before.
func (s *Store) wasImported(recordID, uri string) (bool, error) {
	var found bool
	err := s.view(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketImported); b != nil {
			found = b.Get(importedKey(recordID, uri)) != nil
		}
		return nil
	})
	return found, err
}

// findOriginal looks for the capture an identical-payload revisit refers
// to: by WARC-Refers-To (an imported record), by payload digest, by
// Refers-To-Target-URI and -Date, then the latest earlier capture of the
// same URL with the same payload digest. It returns nil when none is found.
func (s *Store) findOriginal(c *Capture, ref revisitRef) (*Capture, error) {
	var key []byte
	err := s.view(func(tx *bolt.Tx) error {
		if ref.refersTo != "" {
			if b := tx.Bucket(bucketImported); b != nil {
				prefix := []byte(ref.refersTo + "\x00")
				if k, v := b.Cursor().Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) {
					key = clone(v)
					return nil
				}
			}
		}
		if ref.digest != "" {
			if v := tx.Bucket(bucketPdig).Get([]byte(ref.digest)); v != nil {
				key = clone(v)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if key != nil {
		return s.Capture(key)
	}
	target := ref.targetURI
	if target == "" {
		target = c.URL
	}
	cs, err := s.CapturesOf(target)
	if err != nil {
		return nil, err
	}
	var best *Capture
	for _, o := range cs {
		if o.BodyLen == 0 || o.Truncated != "" {
			continue
		}
		switch {
		case !ref.date.IsZero() && o.Time.Truncate(time.Second).Equal(ref.date.Truncate(time.Second)):
			return o, nil
		case ref.date.IsZero() && o.Time.Before(c.Time) && (ref.digest == "" || o.PayloadDigest == ref.digest):
			best = o
		}
	}
	return best, nil
}

// parseFields parses an application/warc-fields block.
func parseFields(b []byte) warc.Header {
	var h warc.Header
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimRight(line, "\r")
		name, value, ok := strings.Cut(line, ":")
		if !ok || name == "" {
			continue
		}
		h.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	return h
}
