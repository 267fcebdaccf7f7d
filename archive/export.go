package archive

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/amberarchive/amber/warc"
)

// IndexName is the CDXJ index Export writes beside the WARC files.
const IndexName = "index.cdxj"

// ExportOptions says which captures Export writes, and where.
type ExportOptions struct {
	// Dir is the output folder; it is created when missing.
	Dir string
	// Prefix and Host name the files PREFIX-TIMESTAMP-SERIAL-HOST.warc.gz;
	// defaults "amber" and the machine's host name.
	Prefix string
	Host   string
	// MaxSize is the size files are rotated near; 0 means warc.DefaultMaxSize.
	MaxSize int64
	// GzipLevel is the gzip level of each record's member; 0 is the default.
	GzipLevel int

	// Runs selects captures of these runs; none selects every run.
	Runs []uint64
	// Since and Until select captures with Since <= Time < Until; zero
	// values leave that side open.
	Since, Until time.Time
	// URLPrefix selects captures whose URL starts with it.
	URLPrefix string

	// Software is the warcinfo software field, e.g. "amber/0.1.0".
	Software string
	// Operator is the warcinfo operator; default: the runs' contact setting.
	Operator string
	// UserAgent gives the User-Agent a run sent (http-header-user-agent);
	// default: the run's user-agent setting, else Software (+contact).
	UserAgent func(Run) string

	// NoIndex skips writing Dir/index.cdxj.
	NoIndex bool
	// Now dates the files' names; default time.Now.
	Now func() time.Time
}

// Includes reports whether the options select capture c.
func (o ExportOptions) Includes(c *Capture) bool {
	if len(o.Runs) > 0 && !slices.Contains(o.Runs, c.Run) {
		return false
	}
	if !o.Since.IsZero() && c.Time.Before(o.Since) {
		return false
	}
	if !o.Until.IsZero() && !c.Time.Before(o.Until) {
		return false
	}
	return strings.HasPrefix(c.URL, o.URLPrefix)
}

// ExportProgress is what Export has done so far.
type ExportProgress struct {
	Captures int64  // captures written
	Records  int64  // WARC records written, warcinfo records excluded
	Bytes    int64  // compressed bytes written
	File     string // the file being written (final name)
}

// ExportResult says what Export wrote.
type ExportResult struct {
	Files     []string // WARC files, final paths, in the order written
	Index     string   // the CDXJ index's path ("" with NoIndex)
	Captures  int64    // captures exported
	Responses int64    // written as response records
	Revisits  int64    // written as revisit records (both profiles)
	Records   int64    // WARC records, warcinfo excluded
	Bytes     int64    // compressed bytes of the records
	// Partial is the `.open` file an interrupted or failed export left
	// behind, if any.
	Partial string
}

// Export writes the selected captures as WARC 1.1 files in opts.Dir and,
// unless opts.NoIndex, a sorted CDXJ index of them (Dir/index.cdxj).
//
// Each capture becomes, with the same WARC-Date (the capture's Time): a
// response record (the stored head and body, unchanged) or a revisit; a
// request record; and a metadata record (via, hopsFromSeed, fetchTimeMs,
// outlink lines), the latter two WARC-Concurrent-To the response. A
// capture with RevisitOf becomes an identical-payload-digest revisit whose
// block is the response head, if its original is part of the same export;
// otherwise it is written in full, so that every export replays on its
// own. A 304 answer to a conditional request becomes a server-not-modified
// revisit referring to the previous capture of the URL.
//
// Record IDs are stable: a UUID derived from the capture key, body digest
// and the record's role, so exporting the same capture twice gives the
// same IDs (only warcinfo records get fresh ones).
//
// Files are written as NAME.open and renamed when complete. When ctx is
// cancelled or a write fails, the current file keeps its `.open` name
// (ExportResult.Partial), no index is written, and the error is returned.
// progress, when not nil, is called after each capture is written, from
// Export's goroutine; captures are written in batches of about 256 KiB.
func (s *Store) Export(ctx context.Context, opts ExportOptions, progress func(ExportProgress)) (ExportResult, error) {
	var res ExportResult
	if opts.Dir == "" {
		opts.Dir = "."
	}
	if opts.Software == "" {
		opts.Software = "amber"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return res, fmt.Errorf("export to %s: %w", opts.Dir, err)
	}
	runs, err := s.exportRuns(opts.Runs)
	if err != nil {
		return res, err
	}
	fw, err := warc.NewFileWriter(warc.FileWriterOptions{
		Dir:      opts.Dir,
		Prefix:   opts.Prefix,
		Host:     opts.Host,
		MaxSize:  opts.MaxSize,
		Warcinfo: func(string) warc.Header { return warcinfoFields(opts, runs) },
		Writer:   warc.WriterOptions{GzipLevel: opts.GzipLevel, Now: opts.Now},
	})
	if err != nil {
		return res, fmt.Errorf("export: %w", err)
	}
	ex := &exporter{s: s, opts: opts, fw: fw, res: &res, progress: progress}
	err = s.Captures(ctx, opts.URLPrefix, func(c *Capture) error {
		if !opts.Includes(c) {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		return ex.capture(ctx, c)
	})
	if err == nil {
		err = ex.flush()
	}
	if err == nil {
		// The last batch is written after the loop's last look at ctx.
		err = ctx.Err()
	}
	if err != nil {
		res.Partial = fw.Abort()
		res.Files = fw.Files()
		return res, fmt.Errorf("export to %s: %w", opts.Dir, err)
	}
	if err := fw.Close(); err != nil {
		res.Files = fw.Files()
		return res, fmt.Errorf("export to %s: %w", opts.Dir, err)
	}
	res.Files = fw.Files()
	if opts.NoIndex {
		return res, nil
	}
	res.Index = filepath.Join(opts.Dir, IndexName)
	if err := writeIndex(res.Index, ex.lines); err != nil {
		return res, fmt.Errorf("export: %w", err)
	}
	return res, nil
}

// exportRuns returns the runs an export is drawn from: those named, which
// must exist, or all.
func (s *Store) exportRuns(ids []uint64) ([]Run, error) {
	if len(ids) == 0 {
		return s.Runs()
	}
	var out []Run
	for _, id := range ids {
		r, err := s.Run(id)
		if err != nil {
			return nil, fmt.Errorf("export: run %d: %w", id, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// warcinfoFields is the block of every file's warcinfo record.
func warcinfoFields(o ExportOptions, runs []Run) warc.Header {
	h := warc.Header{{Name: "software", Value: o.Software}}
	ops := []string{o.Operator}
	if o.Operator == "" {
		ops = nil
		for _, r := range runs {
			if c := r.Settings["contact"]; c != "" && !slices.Contains(ops, c) {
				ops = append(ops, c)
			}
		}
	}
	for _, op := range ops {
		h.Add("operator", op)
	}
	if hn, err := os.Hostname(); err == nil && hn != "" {
		h.Add("hostname", hn)
	}
	robots := "classic"
	var ignored []string
	for _, r := range runs {
		if r.Settings["ignore-robots"] == "true" {
			robots = "ignore"
			ignored = append(ignored, strconv.FormatUint(r.ID, 10))
		}
	}
	h.Add("robots", robots)
	var uas []string
	for _, r := range runs {
		ua := ""
		if o.UserAgent != nil {
			ua = o.UserAgent(r)
		} else if ua = r.Settings["user-agent"]; ua == "" && r.Settings["contact"] != "" {
			ua = o.Software + " (+" + r.Settings["contact"] + ")"
		}
		if ua != "" && !slices.Contains(uas, ua) {
			uas = append(uas, ua)
		}
	}
	for _, ua := range uas {
		h.Add("http-header-user-agent", ua)
	}
	h.Add("format", "WARC File Format 1.1")
	h.Add("conformsTo", "http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/")
	var ids, desc []string
	for _, r := range runs {
		ids = append(ids, strconv.FormatUint(r.ID, 10))
		d := fmt.Sprintf("run %d", r.ID)
		if r.Job != "" {
			d += " (" + r.Job + ")"
		}
		d += " started " + r.Started.UTC().Format(time.RFC3339)
		if len(r.Seeds) > 0 {
			d += ", seeds " + strings.Join(r.Seeds, " ")
		}
		desc = append(desc, d)
	}
	if len(ids) > 0 {
		h.Add("isPartOf", "amber runs "+strings.Join(ids, ","))
		d := "amber export of " + strings.Join(desc, "; ")
		if len(ignored) > 0 {
			d += "; robots.txt ignored in runs " + strings.Join(ignored, ",")
		}
		h.Add("description", d)
	}
	return h
}

// exporter carries the state of one Export call.
type exporter struct {
	s        *Store
	opts     ExportOptions
	fw       *warc.FileWriter
	res      *ExportResult
	progress func(ExportProgress)
	lines    []string
	buf      []byte // reused response block buffer
	file     string
	batch    warc.RecordBatch
	pending  []pendingCapture // the captures whose records batch holds
}

// pendingCapture is a capture encoded into the batch, waiting for the
// write that gives its records their positions.
type pendingCapture struct {
	line    warc.CDXJ // its index line, but for the position
	records int       // its records in the batch, response or revisit first
	revisit bool
}

// exportBatchBytes is how much encoded output Export gathers before
// writing: appending a record at a time (a few KiB, often a few hundred
// bytes) costs ext4 about six times the CPU per byte that appending
// 256 KiB does.
const exportBatchBytes = 256 << 10

// recordID derives a stable record ID for one role ("response", "request",
// "metadata") of capture c: a name-based (version 5 style) UUID over the
// capture key and body digest.
func recordID(c *Capture, role string) string {
	// Hashing one buffer and formatting by hand spares sha1.New and fmt,
	// three times per capture.
	var in [256]byte
	b := append(in[:0], "amber\x00"...)
	b = append(b, c.Key...)
	b = append(b, 0)
	b = append(b, c.BodyDigest...)
	b = append(b, 0)
	b = append(b, role...)
	u := sha1.Sum(b)
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	var out [len("<urn:uuid:") + 36 + len(">")]byte
	o := append(out[:0], "<urn:uuid:"...)
	for i, part := range [...][2]int{{0, 4}, {4, 6}, {6, 8}, {8, 10}, {10, 16}} {
		if i > 0 {
			o = append(o, '-')
		}
		o = hex.AppendEncode(o, u[part[0]:part[1]])
	}
	o = append(o, '>')
	return string(o)
}

// mayBeRecordID reports whether id has the form recordID gives: a
// version 5 UUID URN in angle brackets (warcio, Heritrix and wget write
// version 4).
func mayBeRecordID(id string) bool {
	const prefix = "<urn:uuid:"
	return len(id) == len(prefix)+36+1 && strings.HasPrefix(id, prefix) && id[len(prefix)+14] == '5'
}

func (ex *exporter) encode(rec *warc.Record, block []byte) error {
	return ex.fw.Encode(&ex.batch, rec, block)
}

// flush writes the batch, then accounts for and indexes its captures.
func (ex *exporter) flush() error {
	if ex.batch.Records() == 0 {
		return nil
	}
	written, err := ex.fw.WriteBatch(&ex.batch)
	pending := ex.pending
	ex.pending = ex.pending[:0]
	for _, p := range pending {
		recs := written[:min(p.records, len(written))]
		written = written[len(recs):]
		for _, pos := range recs {
			ex.res.Records++
			ex.res.Bytes += pos.Length
			ex.file = pos.Filename
		}
		if len(recs) < p.records {
			break // the write failed within this capture
		}
		p.line.Length, p.line.Offset, p.line.Filename = recs[0].Length, recs[0].Offset, recs[0].Filename
		ex.lines = append(ex.lines, p.line.String())
		if p.revisit {
			ex.res.Revisits++
		} else {
			ex.res.Responses++
		}
		ex.res.Captures++
		if ex.progress != nil {
			ex.progress(ExportProgress{Captures: ex.res.Captures, Records: ex.res.Records, Bytes: ex.res.Bytes, File: ex.file})
		}
	}
	return err
}

// capture encodes one capture's records into the batch, writing the
// batch when it is full.
func (ex *exporter) capture(ctx context.Context, c *Capture) error {
	date := c.Time
	respID := recordID(c, "response")

	var rec *warc.Record
	var block []byte
	storedBlockDigest := ""
	switch orig := ex.original(c); {
	case c.Conditional && c.Status == 304:
		rv := warc.Revisit{Profile: warc.ProfileServerNotModified}
		if orig != nil {
			rv.TargetURI, rv.Date = orig.URL, orig.Time
			if ex.opts.Includes(orig) {
				rv.RefersTo = recordID(orig, "response")
			}
		}
		var err error
		if ex.buf, err = ex.s.appendBody(ctx, append(ex.buf[:0], c.ResponseHead...), c); err != nil {
			return err
		}
		block = ex.buf
		rec = warc.NewRevisitRecord(c.URL, date, rv, true)
		// The block is the whole 304 answer: nothing was cut.
		rec.Header.Del("WARC-Truncated")
	case orig != nil:
		rec = warc.NewRevisitRecord(c.URL, date, warc.Revisit{
			Profile:       warc.ProfileIdenticalPayloadDigest,
			RefersTo:      recordID(orig, "response"),
			TargetURI:     orig.URL,
			Date:          orig.Time,
			PayloadDigest: c.PayloadDigest,
		}, true)
		block = c.ResponseHead
	default:
		var err error
		if ex.buf, err = ex.s.appendBody(ctx, append(ex.buf[:0], c.ResponseHead...), c); err != nil {
			return err
		}
		block = ex.buf
		rec = warc.NewRecord(warc.TypeResponse, c.URL, date, warc.ContentTypeHTTPResponse)
		if c.Truncated != "" {
			rec.Header.Add("WARC-Truncated", c.Truncated)
		} else if c.PayloadDigest != "" && !isChunked(c.ResponseHead) {
			// The payload is exactly the stored body, whose digest the
			// store computed: spare the writer a second pass.
			rec.Header.Add("WARC-Payload-Digest", c.PayloadDigest)
			// So is the block, head then body, digested when it was
			// received (added below, where the writer would put it). A
			// store damaged since then shows as a digest mismatch in the
			// export, not as a new digest of the damaged bytes.
			storedBlockDigest = c.BlockDigest
		}
	}
	rec.Header.Add("WARC-Record-ID", respID)
	if c.IP != "" {
		rec.Header.Add("WARC-IP-Address", c.IP)
	}
	reqID := ""
	if len(c.Request) > 0 {
		reqID = recordID(c, "request")
		rec.Header.Add("WARC-Concurrent-To", reqID)
	}
	if storedBlockDigest != "" {
		rec.Header.Add("WARC-Block-Digest", storedBlockDigest)
	}
	if err := ex.encode(rec, block); err != nil {
		return err
	}
	// Index now, while the block is at hand (ex.buf is reused); the
	// position is filled in when the batch is written.
	p := pendingCapture{line: cdxjEntry(c, rec, block), records: 1, revisit: rec.Type() == warc.TypeRevisit}

	if reqID != "" {
		req := warc.NewRecord(warc.TypeRequest, c.URL, date, warc.ContentTypeHTTPRequest)
		req.Header.Add("WARC-Record-ID", reqID)
		req.Header.Add("WARC-Concurrent-To", respID)
		if c.IP != "" {
			req.Header.Add("WARC-IP-Address", c.IP)
		}
		if err := ex.encode(req, c.Request); err != nil {
			return err
		}
		p.records++
	}

	meta := warc.NewRecord(warc.TypeMetadata, c.URL, date, warc.ContentTypeWARCFields)
	meta.Header.Add("WARC-Record-ID", recordID(c, "metadata"))
	meta.Header.Add("WARC-Concurrent-To", respID)
	if err := ex.encode(meta, warc.FieldsBlock(metadataFields(c))); err != nil {
		return err
	}
	p.records++
	ex.pending = append(ex.pending, p)
	if ex.batch.Len() >= exportBatchBytes {
		return ex.flush()
	}
	return nil
}

// original returns the capture c is a revisit of, when it is to be written
// as a revisit: for a 304 to a conditional request, the previous capture of
// the URL (nil if none); for a repeated payload, the first capture with it,
// if this export includes it (nil otherwise: c is written in full).
func (ex *exporter) original(c *Capture) *Capture {
	if c.Conditional && c.Status == 304 {
		prev, err := ex.s.CapturesOf(c.URL)
		if err != nil {
			return nil
		}
		var best *Capture
		for _, p := range prev {
			if p.Time.Before(c.Time) && p.Status != 304 {
				best = p
			}
		}
		return best
	}
	if c.RevisitOf == nil {
		return nil
	}
	orig, err := ex.s.Capture(c.RevisitOf)
	if err != nil || !ex.opts.Includes(orig) || orig.PayloadDigest != c.PayloadDigest {
		return nil
	}
	return orig
}

// metadataFields is the block of a capture's metadata record, as Heritrix
// writes it, plus amber's reason.
func metadataFields(c *Capture) warc.Header {
	h := make(warc.Header, 0, 4+len(c.Outlinks))
	if c.Parent != "" {
		h.Add("via", c.Parent)
	}
	if c.Hops != "" {
		h.Add("hopsFromSeed", c.Hops)
	}
	if c.Reason != "" {
		h.Add("amber-reason", string(c.Reason))
	}
	h.Add("fetchTimeMs", strconv.FormatInt(c.Duration.Milliseconds(), 10))
	for _, l := range c.Outlinks {
		h.Add("outlink", l)
	}
	return h
}

// cdxjEntry indexes a response or revisit record as cdxj-indexer would
// index the file; the caller adds the record's position.
func cdxjEntry(c *Capture, rec *warc.Record, block []byte) warc.CDXJ {
	key, err := warc.SURT(c.URL)
	if err != nil {
		key = c.URL
	}
	line := warc.CDXJ{
		URLKey:    key,
		Timestamp: warc.FormatTimestamp(c.Time),
		URL:       c.URL,
		Digest:    rec.Header.Get("WARC-Payload-Digest"),
	}
	head, _ := warc.SplitHTTP(block)
	if h, err := warc.ParseHTTPHead(head); err == nil {
		ct := h.Fields.Get("Content-Type")
		if i := strings.IndexAny(ct, "; \t"); i >= 0 {
			ct = ct[:i]
		}
		line.MIME = strings.TrimSpace(ct)
		if h.Status > 0 {
			line.Status = strconv.Itoa(h.Status)
		}
	}
	if rec.Type() == warc.TypeRevisit {
		line.MIME = "warc/revisit"
	}
	return line
}

// writeIndex sorts lines bytewise and writes them to path, through a
// `.open` file renamed when complete.
func writeIndex(path string, lines []string) error {
	sort.Strings(lines)
	var b bytes.Buffer
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return writeFileAtomic(path, b.Bytes())
}

// writeFileAtomic writes data to path.open, syncs it and renames it.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".open"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if serr := f.Sync(); err == nil {
		err = serr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	return os.Rename(tmp, path)
}

// emptyBodyDigest is the content address of the empty body.
const emptyBodyDigest = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
