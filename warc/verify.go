package warc

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// Severity ranks a verification problem.
type Severity int

// Severities: an Error makes a file non-conforming or loses data; a
// Warning is a departure readers tolerate.
const (
	Warning Severity = iota
	Error
)

// String returns "warning" or "error".
func (s Severity) String() string {
	if s == Error {
		return "error"
	}
	return "warning"
}

// Problem is one finding of [Verify]. Offset is the record's offset, or -1
// for file-level problems and records whose offset is unusable.
type Problem struct {
	Offset   int64
	Severity Severity
	Msg      string
}

// String formats the problem as one line: "offset 123: error: ...".
func (p Problem) String() string {
	if p.Offset < 0 {
		return fmt.Sprintf("%s: %s", p.Severity, p.Msg)
	}
	return fmt.Sprintf("offset %d: %s: %s", p.Offset, p.Severity, p.Msg)
}

// Report is what [Verify] found in one file.
type Report struct {
	File           string
	Records        int
	DigestsChecked int
	Problems       []Problem
}

// Errors counts the problems of severity Error.
func (r Report) Errors() int { return r.count(Error) }

// Warnings counts the problems of severity Warning.
func (r Report) Warnings() int { return r.count(Warning) }

func (r Report) count(s Severity) int {
	n := 0
	for _, p := range r.Problems {
		if p.Severity == s {
			n++
		}
	}
	return n
}

// String renders the report as `amber verify` prints it.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d records, %d digests checked, %d errors, %d warnings\n",
		r.File, r.Records, r.DigestsChecked, r.Errors(), r.Warnings())
	for _, p := range r.Problems {
		fmt.Fprintf(&b, "  %s\n", p)
	}
	return b.String()
}

// fieldRule says, per record type, which fields are mandatory and which are
// forbidden (WARC 1.1 section 6 and the table in the project notes).
type fieldRule struct {
	must, forbid []string
}

var fieldRules = map[string]fieldRule{
	TypeWarcinfo: {forbid: []string{"WARC-Target-URI", "WARC-Concurrent-To", "WARC-IP-Address", "WARC-Refers-To", "WARC-Refers-To-Target-URI", "WARC-Refers-To-Date", "WARC-Profile", "WARC-Payload-Digest"}},
	TypeRequest:  {must: []string{"WARC-Target-URI"}, forbid: []string{"WARC-Refers-To", "WARC-Refers-To-Target-URI", "WARC-Refers-To-Date", "WARC-Filename", "WARC-Profile"}},
	TypeResponse: {must: []string{"WARC-Target-URI"}, forbid: []string{"WARC-Refers-To", "WARC-Refers-To-Target-URI", "WARC-Refers-To-Date", "WARC-Filename", "WARC-Profile"}},
	TypeResource: {must: []string{"WARC-Target-URI"}, forbid: []string{"WARC-Refers-To", "WARC-Refers-To-Target-URI", "WARC-Refers-To-Date", "WARC-Filename", "WARC-Profile"}},
	TypeMetadata: {forbid: []string{"WARC-Refers-To-Target-URI", "WARC-Refers-To-Date", "WARC-Filename", "WARC-Profile", "WARC-Payload-Digest"}},
	TypeRevisit:  {must: []string{"WARC-Target-URI", "WARC-Profile"}, forbid: []string{"WARC-Filename"}},
	TypeConversion: {must: []string{"WARC-Target-URI"}, forbid: []string{"WARC-Concurrent-To", "WARC-IP-Address", "WARC-Refers-To-Target-URI",
		"WARC-Refers-To-Date", "WARC-Filename", "WARC-Profile"}},
}

// singleFields may appear at most once in a record.
var singleFields = []string{"WARC-Type", "WARC-Record-ID", "WARC-Date", "Content-Length", "Content-Type",
	"WARC-Block-Digest", "WARC-Payload-Digest", "WARC-Target-URI", "WARC-IP-Address", "WARC-Refers-To",
	"WARC-Refers-To-Target-URI", "WARC-Refers-To-Date", "WARC-Truncated", "WARC-Warcinfo-ID",
	"WARC-Filename", "WARC-Profile", "WARC-Identified-Payload-Type", "WARC-Segment-Number"}

// knownProfiles are the revisit profiles readers must accept.
var knownProfiles = []string{ProfileIdenticalPayloadDigest, ProfileServerNotModified,
	ProfileIdenticalPayloadDigest10, ProfileServerNotModified10, ProfileIdenticalPayloadDigest18,
	ProfileServerNotModified18, ProfileURIAgnostic10}

// Verify reads a whole WARC file and checks every record: block and payload
// digests (payload digests of chunked responses may match either the
// de-chunked or the raw bytes; a raw match is a warning), mandatory and
// forbidden fields per record type, WARC-Date and record-ID syntax, the
// end-of-record marker and Content-Length, record-at-a-time gzip, trailing
// garbage and truncation. name labels the report. The error is non-nil only
// when reading fails in a way that is not itself a finding.
func Verify(r io.Reader, name string) (Report, error) {
	rep := Report{File: name}
	rd := NewReader(r)
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			var se *SyntaxError
			if errors.As(err, &se) {
				rep.Problems = append(rep.Problems, Problem{Offset: se.Offset, Severity: Error, Msg: se.Msg})
				break
			}
			return rep, err
		}
		rep.Records++
		block, berr := rd.ReadBlock()
		if berr != nil && !errors.Is(berr, ErrTruncated) {
			return rep, berr
		}
		verifyRecord(&rep, rec, block)
	}
	for _, d := range rd.Defects() {
		sev := Error
		if strings.HasPrefix(d, "empty gzip member") {
			sev = Warning
		}
		rep.Problems = append(rep.Problems, Problem{Offset: -1, Severity: sev, Msg: d})
	}
	return rep, nil
}

func verifyRecord(rep *Report, rec *Record, block []byte) {
	off := rec.Offset
	add := func(sev Severity, format string, args ...any) {
		rep.Problems = append(rep.Problems, Problem{Offset: off, Severity: sev, Msg: fmt.Sprintf(format, args...)})
	}
	typ := rec.Type()
	for _, d := range rec.Defects {
		sev := Error
		switch {
		case strings.HasPrefix(d, "old WARC version"), strings.HasPrefix(d, "WARC-Target-URI in angle"),
			strings.HasPrefix(d, "header line without carriage"):
			sev = Warning
		}
		add(sev, "%s record: %s", typ, d)
	}
	for _, f := range []string{"WARC-Record-ID", "Content-Length", "WARC-Date", "WARC-Type"} {
		if !rec.Header.Has(f) {
			add(Error, "%s record: missing mandatory field %s", typ, f)
		}
	}
	for _, f := range singleFields {
		if n := len(rec.Header.Values(f)); n > 1 {
			add(Error, "%s record: field %s repeated %d times", typ, f, n)
		}
	}
	if rule, ok := fieldRules[typ]; ok {
		for _, f := range rule.must {
			if !rec.Header.Has(f) {
				add(Error, "%s record: missing mandatory field %s", typ, f)
			}
		}
		for _, f := range rule.forbid {
			if rec.Header.Has(f) {
				add(Error, "%s record: field %s not allowed", typ, f)
			}
		}
	} else if typ != "" && typ != TypeContinuation {
		add(Warning, "unknown record type %q", typ)
	}
	if len(block) > 0 && !rec.Header.Has("Content-Type") && typ != TypeContinuation {
		add(Warning, "%s record: Content-Type missing for a non-empty block", typ)
	}
	if v := rec.Header.Get("WARC-Date"); v != "" {
		if _, err := ParseDate(v); err != nil {
			add(Error, "%s record: bad WARC-Date %q", typ, v)
		}
	}
	for _, f := range []string{"WARC-Record-ID", "WARC-Concurrent-To", "WARC-Refers-To", "WARC-Warcinfo-ID"} {
		for _, v := range rec.Header.Values(f) {
			if !isRecordID(v) {
				add(Error, "%s record: bad record id in %s: %q", typ, f, v)
			}
		}
	}
	if typ == TypeRevisit {
		p := rec.Header.Get("WARC-Profile")
		if p != "" && !containsString(knownProfiles, p) {
			add(Warning, "revisit record: unknown profile %q", p)
		}
		if strings.HasSuffix(p, "identical-payload-digest") && !rec.Header.Has("WARC-Payload-Digest") {
			add(Error, "revisit record: identical-payload-digest profile without WARC-Payload-Digest")
		}
	}
	if cl := rec.ContentLength(); cl >= 0 && int64(len(block)) != cl {
		add(Error, "%s record: Content-Length %d but block has %d bytes", typ, cl, len(block))
	}
	if v := rec.Header.Get("WARC-Block-Digest"); v != "" {
		rep.DigestsChecked++
		ok, _, err := CheckDigest(v, block)
		switch {
		case err != nil:
			add(Error, "%s record: WARC-Block-Digest: %v", typ, err)
		case !ok:
			add(Error, "%s record: block digest mismatch: header says %s, block is %s", typ, v, BlockDigest(block))
		}
	}
	v := rec.Header.Get("WARC-Payload-Digest")
	if v == "" || typ == TypeRevisit {
		// A revisit's payload digest is the original's; nothing here to check.
		return
	}
	ct := strings.ToLower(rec.Header.Get("Content-Type"))
	rep.DigestsChecked++
	if strings.HasPrefix(ct, "application/http") && (typ == TypeResponse || typ == TypeRequest) {
		ok, form, err := CheckPayloadDigest(v, block)
		switch {
		case err != nil:
			add(Error, "%s record: WARC-Payload-Digest: %v", typ, err)
		case !ok:
			got, _ := PayloadDigest(block)
			add(Error, "%s record: payload digest mismatch: header says %s, payload is %s", typ, v, got)
		case form == PayloadRaw:
			add(Warning, "%s record: payload digest covers the raw chunked body, not the de-chunked payload", typ)
		}
		return
	}
	ok, _, err := CheckDigest(v, block)
	switch {
	case err != nil:
		add(Error, "%s record: WARC-Payload-Digest: %v", typ, err)
	case !ok:
		add(Error, "%s record: payload digest mismatch: header says %s, block is %s", typ, v, BlockDigest(block))
	}
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
