package warc

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// batchSamples are records of mixed sizes, each with its own ID so that
// the order IDs are handed out in cannot matter, and a block that does not
// compress, so files rotate between records of a batch.
func batchSamples() ([]*Record, [][]byte) {
	rng := rand.NewChaCha8([32]byte{2})
	var recs []*Record
	var blocks [][]byte
	for i := range 40 {
		n := []int{3, 200, 1500, 4000}[i%4]
		if i == 17 {
			n = 9000 // alone exceeds MaxSize
		}
		b := make([]byte, n)
		rng.Read(b)
		rec := NewRecord(TypeResource, fmt.Sprintf("http://a.test/%d", i), fixedClock()(), "application/octet-stream")
		rec.Header.Add("WARC-Record-ID", fmt.Sprintf("<urn:uuid:00000000-0000-4000-8000-%012d>", i))
		recs, blocks = append(recs, rec), append(blocks, b)
	}
	return recs, blocks
}

func batchFileWriter(t *testing.T, dir string) *FileWriter {
	t.Helper()
	fw, err := NewFileWriter(FileWriterOptions{
		Dir: dir, Host: "h", MaxSize: 6000,
		Writer: WriterOptions{Now: fixedClock(), NewRecordID: func() string { return "<urn:uuid:00000000-0000-4000-8000-00000000beef>" }},
	})
	if err != nil {
		t.Fatal(err)
	}
	return fw
}

// TestWriteBatchSameAsWriteRecord: batches of any size give the files,
// bytes and positions that one WriteRecord per record gives.
func TestWriteBatchSameAsWriteRecord(t *testing.T) {
	recs, blocks := batchSamples()
	one := t.TempDir()
	fw := batchFileWriter(t, one)
	var want []Position
	for i, rec := range recs {
		p, err := fw.WriteRecord(rec, blocks[i])
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, p)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{1, 3, 7, len(recs)} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			recs, blocks := batchSamples()
			dir := t.TempDir()
			fw := batchFileWriter(t, dir)
			var b RecordBatch
			var got []Position
			for i, rec := range recs {
				if err := fw.Encode(&b, rec, blocks[i]); err != nil {
					t.Fatal(err)
				}
				if b.Records() == size || i == len(recs)-1 {
					ps, err := fw.WriteBatch(&b)
					if err != nil {
						t.Fatal(err)
					}
					if b.Records() != 0 || b.Len() != 0 {
						t.Fatalf("batch not emptied: %d records, %d bytes", b.Records(), b.Len())
					}
					got = append(got, ps...)
				}
			}
			if err := fw.Close(); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("positions differ:\n got %v\nwant %v", got, want)
			}
			for i, rec := range recs {
				if rec.Offset != want[i].Offset || rec.Length != want[i].Length {
					t.Errorf("record %d: Offset, Length = %d, %d; want %d, %d", i, rec.Offset, rec.Length, want[i].Offset, want[i].Length)
				}
			}
			sameFiles(t, one, dir)
		})
	}
}

func sameFiles(t *testing.T, a, b string) {
	t.Helper()
	ea, _ := os.ReadDir(a)
	eb, _ := os.ReadDir(b)
	if len(ea) != len(eb) || len(ea) < 3 {
		t.Fatalf("%d files and %d files (want the same, at least 3)", len(ea), len(eb))
	}
	for i := range ea {
		da, _ := os.ReadFile(filepath.Join(a, ea[i].Name()))
		db, _ := os.ReadFile(filepath.Join(b, eb[i].Name()))
		if ea[i].Name() != eb[i].Name() || !bytes.Equal(da, db) {
			t.Errorf("%s (%d bytes) differs from %s (%d bytes)", ea[i].Name(), len(da), eb[i].Name(), len(db))
		}
	}
}

// TestEncodeError: a record that cannot be encoded is refused and leaves
// the batch as it was; the writer stays usable.
func TestEncodeError(t *testing.T) {
	fw := batchFileWriter(t, t.TempDir())
	var b RecordBatch
	recs, blocks := batchSamples()
	if err := fw.Encode(&b, recs[0], blocks[0]); err != nil {
		t.Fatal(err)
	}
	n := b.Len()
	if err := fw.Encode(&b, &Record{Version: "1.1"}, []byte("x")); err == nil {
		t.Fatal("record without WARC-Type encoded")
	}
	if b.Records() != 1 || b.Len() != n {
		t.Errorf("batch changed by a refused record: %d records, %d bytes", b.Records(), b.Len())
	}
	if _, err := fw.WriteBatch(&b); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := fw.Encode(&b, recs[1], blocks[1]); !errors.Is(err, ErrClosed) {
		t.Errorf("Encode after Close: %v, want ErrClosed", err)
	}
}
