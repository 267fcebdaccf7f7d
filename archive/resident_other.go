//go:build !linux

package archive

// trimmer is a no-op where madvise is not used; see resident_linux.go.
type trimmer struct{}

func (t *trimmer) trim(*Store) {}

func dropMapped(*Store) {}
