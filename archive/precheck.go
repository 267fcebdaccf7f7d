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
func precheckFile(path string) error {
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
	return nil
}
