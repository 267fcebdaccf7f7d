package warc

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReaderDefects(t *testing.T) {
	data, _, pos := writeSamples(t, WriterOptions{Uncompressed: true})
	gzData, _, gzPos := writeSamples(t, WriterOptions{})
	one := func(b []byte, p Position) []byte { return b[p.Offset : p.Offset+p.Length] }
	tests := []struct {
		name      string
		in        []byte
		records   int
		wantErr   error // from ReadBlock or Next
		defect    string
		fileLevel bool
	}{
		{name: "truncated plain", in: data[:pos[2].Offset+pos[2].Length-50], records: 3, wantErr: ErrTruncated, defect: "truncated at offset"},
		{name: "truncated gzip", in: gzData[:gzPos[2].Offset+gzPos[2].Length-20], records: 3, wantErr: ErrTruncated, defect: "truncated at offset"},
		{name: "trailing garbage plain", in: append(bytes.Clone(data), "garbage\r\nmore"...), records: 7, defect: "trailing garbage", fileLevel: true},
		{name: "trailing garbage gzip", in: append(bytes.Clone(gzData), "garbage"...), records: 7, defect: "trailing garbage", fileLevel: true},
		{name: "short end marker", in: bytes.TrimSuffix(one(data, pos[1]), []byte("\r\n")), records: 1, defect: "bad end-of-record marker: 2 of 4"},
		{name: "content-length too long gzip", in: append(append([]byte{}, lengthen(t, one(data, pos[6]))...), one(gzData, gzPos[4])...), records: 2, defect: "too long"},
		{name: "old version", in: []byte(strings.Replace(string(one(data, pos[1])), "WARC/1.1", "WARC/0.18", 1)), records: 1, defect: "old WARC version 0.18"},
		{name: "empty", in: nil, records: 0, defect: "empty input", fileLevel: true},
		{name: "not a warc", in: []byte("hello\nworld\n"), records: 0, wantErr: ErrNotWARC},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(bytes.NewReader(tt.in))
			var defects []string
			var gotErr error
			n := 0
			for {
				rec, err := r.Next()
				if err != nil {
					if err != io.EOF {
						gotErr = err
					}
					break
				}
				n++
				if _, err := r.ReadBlock(); err != nil {
					gotErr = err
				}
				defects = append(defects, rec.Defects...)
			}
			if !tt.fileLevel {
				defects = append(defects, r.Defects()...)
			} else {
				defects = r.Defects()
			}
			if n != tt.records {
				t.Errorf("records = %d, want %d", n, tt.records)
			}
			if tt.wantErr != nil && !errors.Is(gotErr, tt.wantErr) {
				t.Errorf("error = %v, want %v", gotErr, tt.wantErr)
			}
			if tt.wantErr == nil && gotErr != nil {
				t.Errorf("unexpected error %v", gotErr)
			}
			if tt.defect != "" && !strings.Contains(strings.Join(defects, "|"), tt.defect) {
				t.Errorf("defect %q not reported: %q", tt.defect, defects)
			}
		})
	}
}

// lengthen gzips a plain record after raising its Content-Length by 10, so
// the block runs past the end of its member.
func lengthen(t *testing.T, plain []byte) []byte {
	t.Helper()
	s := string(plain)
	i := strings.Index(s, "Content-Length: ")
	j := strings.Index(s[i:], "\r\n")
	var n int
	for _, c := range s[i+16 : i+j] {
		n = n*10 + int(c-'0')
	}
	s = s[:i] + "Content-Length: " + itoa(n+10) + s[i+j:]
	return gzipBytes(t, s)
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}

func TestVerifyFlippedByte(t *testing.T) {
	data, _, pos := writeSamples(t, WriterOptions{Uncompressed: true})
	bad := bytes.Clone(data)
	// Flip a byte inside the plain response's body (record 3).
	i := pos[3].Offset + pos[3].Length - 10
	bad[i] ^= 0x20
	rep, err := Verify(bytes.NewReader(bad), "flipped.warc")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Errors() == 0 {
		t.Fatalf("flipped byte not found:\n%s", rep)
	}
	for _, p := range rep.Problems {
		if p.Offset != pos[3].Offset {
			t.Errorf("problem at offset %d, want the record's offset %d: %s", p.Offset, pos[3].Offset, p)
		}
	}
	s := rep.String()
	for _, want := range []string{"block digest mismatch", "payload digest mismatch", "offset " + itoa(int(pos[3].Offset))} {
		if !strings.Contains(s, want) {
			t.Errorf("report lacks %q:\n%s", want, s)
		}
	}
}

func TestVerifyHeaderRules(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf, WriterOptions{Uncompressed: true, Now: fixedClock(), NewRecordID: seqIDs()})
	bad := NewRecord(TypeResponse, "", fixedClock()(), ContentTypeHTTPResponse) // no Target-URI
	bad.Header.Add("WARC-Filename", "x.warc")                                   // forbidden here
	bad.Header.Add("WARC-Concurrent-To", "urn:uuid:no-brackets")
	if _, err := w.WriteRecord(bad, []byte("HTTP/1.1 204 No Content\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	raw := strings.Replace(buf.String(), "WARC-Date: 2024-05-01T12:00:00.123456Z", "WARC-Date: yesterday", 1)
	rep, err := Verify(strings.NewReader(raw), "rules.warc")
	if err != nil {
		t.Fatal(err)
	}
	s := rep.String()
	for _, want := range []string{"missing mandatory field WARC-Target-URI", "field WARC-Filename not allowed", "bad record id in WARC-Concurrent-To", "bad WARC-Date"} {
		if !strings.Contains(s, want) {
			t.Errorf("report lacks %q:\n%s", want, s)
		}
	}
}
