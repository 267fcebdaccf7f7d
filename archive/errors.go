package archive

import "errors"

// Sentinel errors. Errors returned by the store wrap these, so callers test
// them with [errors.Is].
var (
	// ErrLocked means another process holds the store file open for writing.
	ErrLocked = errors.New("archive: store is locked")
	// ErrCorrupt means the file is not a bbolt database or is damaged.
	ErrCorrupt = errors.New("archive: store file is corrupt")
	// ErrNotFound means the run, capture or body asked for does not exist.
	ErrNotFound = errors.New("archive: not found")
	// ErrClosed means the store was used after Close.
	ErrClosed = errors.New("archive: store is closed")
	// ErrReadOnly means a write was attempted on a store opened read-only.
	ErrReadOnly = errors.New("archive: store is read-only")
	// ErrSchema means the file was written by a newer amber with a layout
	// this one does not understand.
	ErrSchema = errors.New("archive: unsupported schema version")
)
