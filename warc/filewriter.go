package warc

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// DefaultMaxSize is the file size FileWriter rotates at (1 GB, the size the
// WARC standard's Annex C suggests).
const DefaultMaxSize = 1_000_000_000

// FileWriterOptions configures a [FileWriter].
type FileWriterOptions struct {
	// Dir is the folder files are written in; it must exist.
	Dir string
	// Prefix, Host: files are named PREFIX-TIMESTAMP-SERIAL-HOST.warc.gz.
	Prefix string
	Host   string
	// FirstSerial is the serial of the first file.
	FirstSerial int
	// MaxSize is the size a file should not exceed; 0 means DefaultMaxSize.
	// A single record larger than that goes alone (after the warcinfo) in
	// an oversize file; records are never segmented.
	MaxSize int64
	// Warcinfo returns the warc-fields block of the warcinfo record that
	// starts every file (software, operator, robots, ...); nil writes a
	// minimal one. The record itself carries WARC-Filename.
	Warcinfo func(filename string) Header
	// Writer configures compression, clock and record IDs. Its Now also
	// dates the file names.
	Writer WriterOptions
}

// FileWriter writes records into a series of WARC files, rotating by size.
// Each file is written as NAME.open and renamed to NAME once complete, so a
// final name always holds a whole file. It is not safe for concurrent use.
type FileWriter struct {
	opts     FileWriterOptions
	enc      encoder // records
	infoEnc  encoder // warcinfo, so the pending record's bytes survive
	serial   int
	f        *os.File
	name     string // final base name of the open file
	w        *Writer
	nrec     int // records in the open file, excluding the warcinfo
	finished []string
	err      error
}

// NewFileWriter returns a FileWriter; no file is created until the first
// record is written.
func NewFileWriter(opts FileWriterOptions) (*FileWriter, error) {
	if opts.Dir == "" {
		opts.Dir = "."
	}
	if opts.Prefix == "" {
		opts.Prefix = "amber"
	}
	if opts.Host == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			h = "localhost"
		}
		opts.Host = h
	}
	if opts.MaxSize <= 0 {
		opts.MaxSize = DefaultMaxSize
	}
	opts.Writer.Offset = 0
	return &FileWriter{
		opts:    opts,
		enc:     encoder{opts: opts.Writer},
		infoEnc: encoder{opts: opts.Writer},
		serial:  opts.FirstSerial,
	}, nil
}

func (fw *FileWriter) now() time.Time {
	if fw.opts.Writer.Now != nil {
		return fw.opts.Writer.Now()
	}
	return time.Now()
}

// Files returns the final paths of the files completed so far.
func (fw *FileWriter) Files() []string { return append([]string(nil), fw.finished...) }

// WriteRecord writes a record (see [Writer.WriteRecord]) into the current
// file, first rotating when the record would push the file past MaxSize.
// The Position names the file's final name, not its `.open` name.
func (fw *FileWriter) WriteRecord(rec *Record, block []byte) (Position, error) {
	if fw.err != nil {
		return Position{}, fw.err
	}
	b, err := fw.enc.encode(rec, block)
	if err != nil {
		return Position{}, err
	}
	if fw.full(fw.nrec, int64(len(b))) {
		if err := fw.closeFile(); err != nil {
			return Position{}, err
		}
	}
	if fw.f == nil {
		if err := fw.openFile(); err != nil {
			return Position{}, err
		}
	}
	pos, err := fw.w.writeEncoded(rec, b)
	if err != nil {
		fw.err = fw.named(err)
		return Position{}, fw.err
	}
	fw.nrec++
	return pos, nil
}

// full reports whether n more bytes would push the open file, holding
// records records, past MaxSize: then it is closed and the next opened. A
// file with no record yet takes a record of any size.
func (fw *FileWriter) full(records int, n int64) bool {
	return fw.f != nil && records > 0 && fw.w.Offset()+n > fw.opts.MaxSize
}

func (fw *FileWriter) openFile() error {
	ext := ".warc.gz"
	if fw.opts.Writer.Uncompressed {
		ext = ".warc"
	}
	name := fmt.Sprintf("%s-%s-%05d-%s%s", fw.opts.Prefix, fw.now().UTC().Format("20060102150405"), fw.serial, fw.opts.Host, ext)
	path := filepath.Join(fw.opts.Dir, name+".open")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("warc: create %s: %w", path, err)
	}
	fw.serial++
	fw.f, fw.name, fw.nrec = f, name, 0
	wopts := fw.opts.Writer
	wopts.Filename = name
	fw.w = &Writer{w: f, opts: wopts, enc: encoder{opts: wopts}}

	var fields Header
	if fw.opts.Warcinfo != nil {
		fields = fw.opts.Warcinfo(name)
	} else {
		fields = Header{
			{Name: "software", Value: "amber warc"},
			{Name: "format", Value: "WARC File Format 1.1"},
			{Name: "conformsTo", Value: "http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"},
		}
	}
	info := NewWarcinfoRecord(name, time.Time{})
	b, err := fw.infoEnc.encode(info, FieldsBlock(fields))
	if err != nil {
		return err
	}
	if _, err := fw.w.writeEncoded(info, b); err != nil {
		fw.err = named(path, err)
		return fw.err
	}
	return nil
}

// closeFile syncs, closes and renames the open file to its final name.
func (fw *FileWriter) closeFile() error {
	if fw.f == nil {
		return nil
	}
	open := fw.f.Name()
	final := filepath.Join(fw.opts.Dir, fw.name)
	err := fw.f.Sync()
	if cerr := fw.f.Close(); err == nil {
		err = cerr
	}
	fw.f, fw.w = nil, nil
	if err != nil {
		// Leave it as .open: a final name must only ever hold a whole file.
		fw.err = fmt.Errorf("warc: close %s: %w", open, err)
		return fw.err
	}
	if err := os.Rename(open, final); err != nil {
		fw.err = fmt.Errorf("warc: rename %s: %w", open, err)
		return fw.err
	}
	fw.finished = append(fw.finished, final)
	return nil
}

// Close completes the current file (renaming it from `.open`). Later
// writes fail with ErrClosed.
func (fw *FileWriter) Close() error {
	if errors.Is(fw.err, ErrClosed) {
		return nil
	}
	if fw.err != nil {
		if fw.f != nil {
			fw.f.Close()
			fw.f = nil
		}
		return fw.err
	}
	err := fw.closeFile()
	if err == nil {
		fw.err = ErrClosed
	}
	return err
}

// named makes sure a write error names the file, once: the os.File
// errors already carry the path, and a second copy made the messages of a
// full disk hard to read.
func (fw *FileWriter) named(err error) error { return named(fw.f.Name(), err) }

func named(path string, err error) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok && pe.Path == path {
		return err
	}
	return fmt.Errorf("warc: %s: %w", path, err)
}
