package replay

import (
	"context"

	"github.com/amberarchive/amber/archive"
)

// Source is what replay reads: the captures of an archive and their
// bodies. *archive.Store satisfies it. Every method may be called from
// many goroutines at once (one per request being served) and must only
// read; replay never writes.
type Source interface {
	// CapturesOf returns the metadata (Body nil) of every capture of
	// exactly url, oldest first.
	CapturesOf(url string) ([]*archive.Capture, error)

	// Captures calls fn with the metadata of every capture whose URL
	// starts with prefix ("" for all), in key order (by SURT, then time).
	// An error from fn stops the listing and is returned; replay uses
	// that to stop early.
	Captures(ctx context.Context, prefix string, fn func(*archive.Capture) error) error

	// Capture returns the metadata of the capture stored under key (a
	// Capture.RevisitOf), or an error wrapping archive.ErrNotFound.
	Capture(key []byte) (*archive.Capture, error)

	// Body returns the raw stored body of c: as received, chunked framing
	// and content-coding kept.
	Body(ctx context.Context, c *archive.Capture) ([]byte, error)

	// Runs returns every crawl run, oldest first.
	Runs() ([]archive.Run, error)
}

var _ Source = (*archive.Store)(nil)
