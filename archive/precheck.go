package archive

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// bbolt meta page layout (internal/common/meta.go and page.go in bbolt
// v1.5): a 16-byte page header, then magic, version, page size, flags (4
// bytes each), root bucket (16), freelist page (8), high-water page id (8),
// txid (8) and an FNV-64a checksum of everything before it. Values are in
// the machine's byte order.
const (
	boltMagic     = 0xED0CDAED
	metaOff       = 16
	metaChecksum  = metaOff + 56
	metaLen       = metaChecksum + 8
	metaPageSize  = metaOff + 8
	metaPgid      = metaOff + 40
	metaTxid      = metaOff + 48
	minBoltPageSz = 512
)

// precheckFile refuses a bbolt file that is shorter than its newest valid
// meta page says. bbolt would otherwise read past the end of the mapping
// while scanning free pages on another goroutine, a fault that kills the
// process and cannot be recovered. Files whose meta pages are unreadable
// are left to bbolt, which reports them as invalid.
//
// With walk, it also walks the whole tree, as bbolt itself does when it
// opens a file for writing. A read-only open skips that: bbolt does not
// rebuild the freelist then, a damaged page is met (and recovered from) in
// the read that reaches it, and reading every page of a large cold archive
// would make each "amber ls" wait for the disk.
func precheckFile(path string, walk bool) error {
	f, err := os.Open(path)
	if err != nil {
		return nil // missing: bbolt creates it or reports the error
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return nil
	}
	readMeta := func(off int64) (pageSize uint32, pgid, txid uint64, ok bool) {
		b := make([]byte, metaLen)
		if _, err := f.ReadAt(b, off); err != nil && err != io.EOF {
			return 0, 0, 0, false
		}
		ne := binary.NativeEndian
		if ne.Uint32(b[metaOff:]) != boltMagic {
			return 0, 0, 0, false
		}
		h := fnv.New64a()
		h.Write(b[metaOff:metaChecksum])
		if h.Sum64() != ne.Uint64(b[metaChecksum:]) {
			return 0, 0, 0, false
		}
		return ne.Uint32(b[metaPageSize:]), ne.Uint64(b[metaPgid:]), ne.Uint64(b[metaTxid:]), true
	}
	ps0, pg0, tx0, ok0 := readMeta(0)
	var ps1 uint32
	var pg1, tx1 uint64
	ok1 := false
	if ok0 && ps0 >= minBoltPageSz {
		ps1, pg1, tx1, ok1 = readMeta(int64(ps0))
	} else {
		// bbolt then looks for the second meta page at the OS page size.
		ps1, pg1, tx1, ok1 = readMeta(int64(os.Getpagesize()))
	}
	pageSize, pgid := ps0, pg0
	switch {
	case ok1 && (!ok0 || tx1 > tx0):
		pageSize, pgid = ps1, pg1
	case !ok0:
		return nil
	}
	if want := int64(pgid) * int64(pageSize); fi.Size() < want {
		return fmt.Errorf("archive: open %s: %w: file is truncated (%d bytes, its header says %d)", path, ErrCorrupt, fi.Size(), want)
	}
	if !walk {
		return nil
	}
	// The store opens with NoFreelistSync, so bbolt rebuilds the freelist
	// by walking every page of the tree on a goroutine of its own, where a
	// damaged page panics out of reach of any recover and kills the
	// process with a stack trace (issue 6: a flipped page made "amber
	// verify" crash). Walk the tree first, here, and refuse what bbolt
	// would choke on.
	root := binary.NativeEndian.Uint64
	rootOff := int64(0)
	if pageSize == ps1 && pgid == pg1 && ok1 && (!ok0 || tx1 > tx0) {
		rootOff = int64(ps1)
	}
	rb := make([]byte, 8)
	if _, err := f.ReadAt(rb, rootOff+metaOff+16); err != nil {
		return nil
	}
	w := &pageWalk{f: f, ps: int64(pageSize), hwm: pgid, seen: map[uint64]bool{}}
	if err := w.visit(root(rb), 0); err != nil {
		return fmt.Errorf("archive: open %s: %w: %v", path, ErrCorrupt, err)
	}
	return nil
}

// bbolt page layout (internal/common/page.go): id (8), flags (2), count
// (2), overflow (4), then elements of 16 bytes.
const (
	pgBranch     = 0x01
	pgLeaf       = 0x02
	pgHeader     = 16
	pgElem       = 16
	bucketLeaf   = 0x01
	inBucketSize = 16
	maxDepth     = 64
)

// pageWalk checks the B+tree of a bbolt file: every reachable page is
// where it says it is, is a branch or a leaf, and its elements stay inside
// it; nested buckets are walked too.
type pageWalk struct {
	f    *os.File
	ps   int64
	hwm  uint64
	seen map[uint64]bool
}

func (w *pageWalk) visit(id uint64, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("page %d: tree deeper than %d levels", id, maxDepth)
	}
	if id < 2 || id >= w.hwm {
		return fmt.Errorf("page id %d out of range (2..%d)", id, w.hwm-1)
	}
	if w.seen[id] {
		return fmt.Errorf("page %d is reachable twice", id)
	}
	w.seen[id] = true
	hdr := make([]byte, pgHeader)
	if _, err := w.f.ReadAt(hdr, int64(id)*w.ps); err != nil {
		return fmt.Errorf("page %d: %v", id, err)
	}
	ne := binary.NativeEndian
	if got := ne.Uint64(hdr); got != id {
		return fmt.Errorf("page %d identifies itself as %d", id, got)
	}
	overflow := uint64(ne.Uint32(hdr[12:]))
	if id+overflow >= w.hwm {
		return fmt.Errorf("page %d: overflow of %d pages runs past the end", id, overflow)
	}
	buf := make([]byte, int64(overflow+1)*w.ps)
	if _, err := w.f.ReadAt(buf, int64(id)*w.ps); err != nil {
		return fmt.Errorf("page %d: %v", id, err)
	}
	return w.page(buf, fmt.Sprintf("page %d", id), depth)
}

// page checks one page (or an inline bucket's page) held in buf.
func (w *pageWalk) page(buf []byte, name string, depth int) error {
	ne := binary.NativeEndian
	if len(buf) < pgHeader {
		return fmt.Errorf("%s: shorter than a page header", name)
	}
	flags, count := ne.Uint16(buf[8:]), int(ne.Uint16(buf[10:]))
	if pgHeader+count*pgElem > len(buf) {
		return fmt.Errorf("%s: %d elements do not fit", name, count)
	}
	for i := 0; i < count; i++ {
		e := pgHeader + i*pgElem
		switch {
		case flags&pgBranch != 0:
			pos, ksize := int(ne.Uint32(buf[e:])), int(ne.Uint32(buf[e+4:]))
			if e+pos+ksize > len(buf) || e+pos+ksize < e {
				return fmt.Errorf("%s: branch key %d outside the page", name, i)
			}
			if err := w.visit(ne.Uint64(buf[e+8:]), depth+1); err != nil {
				return err
			}
		case flags&pgLeaf != 0:
			lf, pos, ksize, vsize := ne.Uint32(buf[e:]), int(ne.Uint32(buf[e+4:])), int(ne.Uint32(buf[e+8:])), int(ne.Uint32(buf[e+12:]))
			end := e + pos + ksize + vsize
			if end > len(buf) || end < e {
				return fmt.Errorf("%s: leaf value %d outside the page", name, i)
			}
			if lf&bucketLeaf == 0 {
				continue
			}
			v := buf[e+pos+ksize : end]
			if len(v) < inBucketSize {
				return fmt.Errorf("%s: bucket %d header is %d bytes", name, i, len(v))
			}
			if r := ne.Uint64(v); r != 0 {
				if err := w.visit(r, depth+1); err != nil {
					return err
				}
			} else if err := w.page(v[inBucketSize:], name+" inline bucket", depth+1); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: neither a branch nor a leaf (flags %#x)", name, flags)
		}
	}
	return nil
}
