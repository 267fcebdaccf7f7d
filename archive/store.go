package archive

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// schemaVersion is the layout version written to the meta bucket. Bump it
// when the meaning of a key or value changes; Open refuses newer files.
//
// 2: capture records may be version 2 (binary, heads compressed or a delta).
// 3: capture records may be version 3 (flag-coded listing, line deltas
// of heads; see codec.go).
// 4: capture records are keyed by a URL id and time, the SURT stored once
// (captable.go); Open moves a schema 3 file's records (migrate.go).
// 5: capture records may hold the response's block digest (flag 2048 of
// a version 3 listing); nothing moves.
// Opening an older file upgrades it (its older records are still read), so
// that an older amber refuses it instead of failing on the records it
// cannot read.
const schemaVersion = 5

// Bucket names. The frontier bucket holds one nested bucket per run, itself
// holding the run's seen, queue, skips and failures buckets.
var (
	bucketMeta     = []byte("meta")
	bucketRuns     = []byte("runs")
	bucketCaptures = []byte("captures") // schema 3 and older only; see migrate.go
	bucketBodies   = []byte("bodies")
	bucketBodyInfo = []byte("bodyinfo")
	bucketPdig     = []byte("pdig")
	bucketFrontier = []byte("frontier")
	bucketRobots   = []byte("robots")
	bucketImported = []byte("imported")

	bucketSeen      = []byte("seen")
	bucketQueue     = []byte("queue")
	bucketSkips     = []byte("skips")
	bucketHostPages = []byte("hostpages")
	bucketFailures  = []byte("failures")

	keySchema = []byte("schema")
)

var topBuckets = [][]byte{bucketMeta, bucketRuns, bucketURLs, bucketCaps, bucketBodies,
	bucketBodyInfo, bucketPdig, bucketFrontier, bucketRobots, bucketImported}

// Options tune how a store is opened. The zero value is a sensible default.
type Options struct {
	Timeout  time.Duration    // how long Open waits for another process's lock; default 2s
	ReadOnly bool             // open for reading only (still blocked by a writer's lock)
	Now      func() time.Time // clock for run times and queue records; default time.Now
	NoSync   bool             // skip fsync: benchmarks and rebuildable imports only
}

// Store is an open amber archive file. Its methods are safe for concurrent
// use. Commits from many goroutines are coalesced into few transactions by
// one writer goroutine, which Close stops after it has written what is pending.
type Store struct {
	db   *bolt.DB
	path string
	now  func() time.Time

	enc *zstd.Encoder
	dec *zstd.Decoder

	// mu guards closed and sends on reqs, so that Close never closes the
	// channel under a sender.
	mu     sync.RWMutex
	closed bool
	reqs   chan *commitReq
	done   chan struct{} // closed when the writer goroutine has exited
}

// Open opens the store at path, creating it unless opts.ReadOnly is set.
//
// When another process holds the file, Open fails within opts.Timeout with
// an error wrapping [ErrLocked]. A file that is not a store or is damaged
// gives an error wrapping [ErrCorrupt]; one written by a newer amber gives
// [ErrSchema].
func Open(path string, opts Options) (*Store, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	db, err := openBolt(path, opts)
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, path: path, now: opts.Now}
	if err := s.checkSize(); err != nil {
		_ = db.Close()
		return nil, err
	}
	if err := s.initSchema(opts.ReadOnly); err != nil {
		_ = db.Close()
		return nil, err
	}
	var old bool
	_ = db.View(func(tx *bolt.Tx) error { old = needsUpgrade(tx); return nil })
	if old && opts.ReadOnly {
		// A reader cannot move records: upgrade with a writer, then read.
		_ = db.Close()
		w, err := Open(path, Options{Timeout: opts.Timeout, Now: opts.Now})
		if err != nil {
			return nil, fmt.Errorf("archive: open %s: the file needs a one-time upgrade to schema %d, which needs it writable and unused: %w", path, schemaVersion, err)
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
		return Open(path, opts)
	}
	if old {
		if err := s.upgrade(); err != nil {
			_ = db.Close()
			return nil, err
		}
	}
	// bbolt rebuilt its free list by reading every page of the file (the
	// list is not stored: NoFreelistSync), which left the whole file
	// resident; nothing else uses the map yet, so it cannot move.
	dropMapped(s)
	// Chunks are at most 1 MiB, so a longer window buys nothing; the
	// default 8 MiB window made each of the encoder's per-core states
	// several MB of a crawl's live heap, which GOGC multiplies.
	s.enc, err = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithWindowSize(chunkSize))
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("archive: open %s: zstd encoder: %w", path, err)
	}
	s.dec, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(1<<30))
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("archive: open %s: zstd decoder: %w", path, err)
	}
	s.done = make(chan struct{})
	if opts.ReadOnly {
		close(s.done)
	} else {
		s.reqs = make(chan *commitReq, maxGroup)
		go s.writer()
	}
	return s, nil
}

// openBolt opens the bbolt file, turning bbolt's panics and memory faults on
// damaged files into errors.
func openBolt(path string, opts Options) (db *bolt.DB, err error) {
	// bbolt reads pages through mmap: a truncated file faults (SIGBUS) and a
	// garbled one can panic. SetPanicOnFault is per goroutine, so this only
	// affects Open's own goroutine and is restored on return.
	if err := precheckFile(path, !opts.ReadOnly); err != nil {
		return nil, err
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, fmt.Errorf("archive: open %s: %w: %v", path, ErrCorrupt, r)
		}
	}()
	db, err = bolt.Open(path, 0o600, &bolt.Options{
		Timeout:         opts.Timeout,
		ReadOnly:        opts.ReadOnly,
		NoSync:          opts.NoSync,
		FreelistType:    bolt.FreelistMapType,
		NoFreelistSync:  true,
		InitialMmapSize: 1 << 34,
	})
	switch {
	case err == nil:
		return db, nil
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("archive: %w: %s is in use by another amber process; stop it or use `amber serve` to crawl and replay in one process", ErrLocked, path)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrVersionMismatch),
		errors.Is(err, berrors.ErrChecksum), errors.Is(err, berrors.ErrInvalidMapping),
		strings.Contains(err.Error(), "file size too small"):
		return nil, fmt.Errorf("archive: open %s: %w: not an amber store or damaged (%v)", path, ErrCorrupt, err)
	default:
		return nil, fmt.Errorf("archive: open %s: %w", path, err)
	}
}

// checkSize refuses a file shorter than its own meta page says: reading the
// missing pages through mmap would crash the process later.
func (s *Store) checkSize() error {
	fi, err := os.Stat(s.path)
	if err != nil {
		return fmt.Errorf("archive: open %s: %w", s.path, err)
	}
	var want int64
	err = s.db.View(func(tx *bolt.Tx) error { want = tx.Size(); return nil })
	if err != nil {
		return fmt.Errorf("archive: open %s: %w", s.path, err)
	}
	if fi.Size() < want {
		return fmt.Errorf("archive: open %s: %w: file is truncated (%d bytes, expected %d)", s.path, ErrCorrupt, fi.Size(), want)
	}
	return nil
}

// initSchema creates the buckets of a new file and checks the schema
// version of an existing one.
func (s *Store) initSchema(readOnly bool) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("archive: open %s: %w: %v", s.path, ErrCorrupt, r)
		}
	}()
	check := func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		if m == nil {
			if readOnly {
				return fmt.Errorf("archive: open %s: %w: no meta bucket, not an amber store", s.path, ErrCorrupt)
			}
			return nil
		}
		v := m.Get(keySchema)
		if len(v) != 4 {
			return fmt.Errorf("archive: open %s: %w: bad schema record", s.path, ErrCorrupt)
		}
		if n := binary.BigEndian.Uint32(v); n > schemaVersion {
			return fmt.Errorf("archive: open %s: %w: the file has schema %d, this amber understands up to %d; upgrade amber", s.path, ErrSchema, n, schemaVersion)
		}
		return nil
	}
	if readOnly {
		return s.db.View(check)
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketMeta) == nil && len(tx.Inspect().Children) > 0 {
			return fmt.Errorf("archive: open %s: %w: a bbolt file but not an amber store", s.path, ErrCorrupt)
		}
		if err := check(tx); err != nil {
			return err
		}
		for _, name := range topBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("archive: open %s: create bucket %s: %w", s.path, name, err)
			}
		}
		m := tx.Bucket(bucketMeta)
		if v := m.Get(keySchema); v == nil || binary.BigEndian.Uint32(v) < schemaVersion {
			return m.Put(keySchema, binary.BigEndian.AppendUint32(nil, schemaVersion))
		}
		return nil
	})
}

// Path returns the file the store was opened from.
func (s *Store) Path() string { return s.path }

// Close waits for pending commits, then closes the file.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	if s.reqs != nil {
		close(s.reqs)
	}
	s.mu.Unlock()
	<-s.done
	s.enc.Close()
	s.dec.Close()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("archive: close %s: %w", s.path, err)
	}
	return nil
}

// view runs fn in a read transaction, turning a panic from a damaged page
// into an error wrapping ErrCorrupt.
func (s *Store) view(fn func(tx *bolt.Tx) error) (err error) {
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("archive: read %s: %w: %v", s.path, ErrCorrupt, r)
		}
	}()
	return s.db.View(fn)
}

// update runs fn in its own write transaction (for rare writes such as runs;
// captures and the frontier go through Commit).
func (s *Store) update(fn func(tx *bolt.Tx) error) (err error) {
	s.mu.RLock()
	closed, ro := s.closed, s.reqs == nil
	s.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	if ro {
		return ErrReadOnly
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("archive: write %s: %w: %v", s.path, ErrCorrupt, r)
		}
	}()
	return s.db.Update(fn)
}

// clone copies a byte slice out of a transaction.
func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}

func be64(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }
