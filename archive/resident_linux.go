package archive

import (
	"os"
	"syscall"
	"time"
)

// trimEvery is how often the writer drops the resident pages of the store's
// memory map.
const trimEvery = 20 * time.Millisecond

// trimmer drops the pages of bbolt's read-only, file-backed memory map from
// the process's resident set.
//
// Why: every commit walks B+tree pages at random keys (SURT-keyed captures,
// sha256-keyed bodies, the seen set), so after a long crawl nearly the whole
// file is mapped in and RSS grows with the store, not with the work in hand.
// Those pages are clean copies of the file — bbolt writes with pwrite, never
// through the map — so MADV_DONTNEED is safe at any moment, even under a
// reader: the next access faults the page back in from the page cache. The
// kernel keeps hot pages cached; the crawler's own footprint stays flat.
//
// Random keys mean a few hundred commits touch most of the file, so the
// trim must be frequent; re-faulting a cached page costs about a
// microsecond, a few dozen per commit, far below a page's fetch and parse.
type trimmer struct {
	last time.Time
}

// trim is called by the writer goroutine after each commit.
func (t *trimmer) trim(s *Store) {
	now := time.Now()
	if now.Sub(t.last) < trimEvery {
		return
	}
	t.last = now
	dropMapped(s)
}

// dropMapped drops the pages of the store's memory map from the resident
// set. It must run where the map cannot move: in the writer goroutine or
// inside a write transaction (bbolt remaps only in one).
func dropMapped(s *Store) {
	fi, err := os.Stat(s.path)
	if err != nil {
		return
	}
	info := s.db.Info()
	size := uintptr(fi.Size()) &^ uintptr(os.Getpagesize()-1)
	if info.Data == 0 || size == 0 {
		return
	}
	// The map is at least as long as the file: bbolt remaps before the file
	// outgrows it, and only this goroutine commits, so it cannot move now.
	_, _, _ = syscall.Syscall(syscall.SYS_MADVISE, info.Data, size, syscall.MADV_DONTNEED)
}
