package archive

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// chunkSize is the most raw bytes in one body chunk, so that bbolt never
// needs long runs of contiguous overflow pages.
const chunkSize = 1 << 20

// bodyInfo is the value in the bodyinfo bucket: 8 bytes raw length, 4 bytes
// chunk count.
type bodyInfo struct {
	RawLen int64
	Chunks uint32
}

func (bi bodyInfo) encode() []byte {
	b := binary.BigEndian.AppendUint64(nil, uint64(bi.RawLen))
	return binary.BigEndian.AppendUint32(b, bi.Chunks)
}

func decodeBodyInfo(v []byte) (bodyInfo, error) {
	if len(v) != 12 {
		return bodyInfo{}, fmt.Errorf("archive: body info: %w: %d bytes", ErrCorrupt, len(v))
	}
	return bodyInfo{RawLen: int64(binary.BigEndian.Uint64(v)), Chunks: binary.BigEndian.Uint32(v[8:])}, nil
}

// chunkKey is sha256 + big-endian chunk index.
func chunkKey(sum []byte, i uint32) []byte {
	k := make([]byte, 0, 36)
	k = append(k, sum...)
	return binary.BigEndian.AppendUint32(k, i)
}

// bodySum parses a "sha256:hex" BodyDigest.
func bodySum(digest string) ([]byte, error) {
	h, ok := strings.CutPrefix(digest, "sha256:")
	if !ok {
		return nil, fmt.Errorf("archive: body digest %q: %w", digest, ErrNotFound)
	}
	sum, err := hex.DecodeString(h)
	if err != nil || len(sum) != sha256.Size {
		return nil, fmt.Errorf("archive: body digest %q: %w", digest, ErrNotFound)
	}
	return sum, nil
}

// preparedBody is a body hashed and compressed outside the write lock.
type preparedBody struct {
	sum    [sha256.Size]byte
	rawLen int64
	chunks [][]byte // zstd chunks; nil when the body was already stored
}

// prepareBody hashes body and, unless the store already has it, splits and
// compresses it. It runs in the committing caller's goroutine.
func (s *Store) prepareBody(body []byte) (preparedBody, error) {
	p := preparedBody{sum: sha256.Sum256(body), rawLen: int64(len(body))}
	var have bool
	err := s.view(func(tx *bolt.Tx) error {
		have = tx.Bucket(bucketBodyInfo).Get(p.sum[:]) != nil
		return nil
	})
	if err != nil || have {
		return p, err
	}
	p.chunks = make([][]byte, 0, (len(body)+chunkSize-1)/chunkSize)
	for off := 0; off < len(body); off += chunkSize {
		raw := body[off:min(off+chunkSize, len(body))]
		p.chunks = append(p.chunks, s.enc.EncodeAll(raw, make([]byte, 0, len(raw)/2)))
	}
	return p, nil
}

// putBody stores a prepared body unless the same bytes are already stored.
// It reports whether it wrote.
func putBody(tx *bolt.Tx, p *preparedBody) (bool, error) {
	info := tx.Bucket(bucketBodyInfo)
	if info.Get(p.sum[:]) != nil {
		return false, nil
	}
	if p.chunks == nil && p.rawLen > 0 {
		// Stored when prepared, gone now: bodies are never deleted, so the
		// file was changed behind our back.
		return false, fmt.Errorf("archive: body sha256:%x: %w: vanished", p.sum, ErrCorrupt)
	}
	bodies := tx.Bucket(bucketBodies)
	for i, c := range p.chunks {
		if err := bodies.Put(chunkKey(p.sum[:], uint32(i)), c); err != nil {
			return false, fmt.Errorf("archive: put body chunk: %w", err)
		}
	}
	bi := bodyInfo{RawLen: p.rawLen, Chunks: uint32(len(p.chunks))}
	return true, info.Put(p.sum[:], bi.encode())
}

// Body returns the raw body of c (as received: chunked framing and
// content-coding kept).
func (s *Store) Body(ctx context.Context, c *Capture) ([]byte, error) {
	return s.appendBody(ctx, nil, c)
}

// appendBody appends the raw body of c to dst, reusing dst's memory.
func (s *Store) appendBody(ctx context.Context, dst []byte, c *Capture) ([]byte, error) {
	if c.BodyLen == 0 && c.BodyDigest == emptyBodyDigest {
		return dst, nil
	}
	sum, err := bodySum(c.BodyDigest)
	if err != nil {
		return dst, err
	}
	err = s.view(func(tx *bolt.Tx) (err error) {
		dst, err = s.appendBodyTx(ctx, tx, dst, c, sum)
		return err
	})
	return dst, err
}

// appendBodyTx is appendBody inside tx; sum is the body's address.
func (s *Store) appendBodyTx(ctx context.Context, tx *bolt.Tx, dst []byte, c *Capture, sum []byte) ([]byte, error) {
	v := tx.Bucket(bucketBodyInfo).Get(sum)
	if v == nil {
		return dst, fmt.Errorf("archive: body %s of %s: %w", c.BodyDigest, c.URL, ErrNotFound)
	}
	bi, err := decodeBodyInfo(v)
	if err != nil {
		return dst, err
	}
	var chunks [][]byte
	b := tx.Bucket(bucketBodies)
	for i := range bi.Chunks {
		v := b.Get(chunkKey(sum, i))
		if v == nil {
			return dst, fmt.Errorf("archive: body %s chunk %d: %w: missing", c.BodyDigest, i, ErrCorrupt)
		}
		// Decompress straight out of the mmap: DecodeAll copies.
		chunks = append(chunks, v)
	}
	start := len(dst)
	dst = slices.Grow(dst, int(bi.RawLen))
	for i, z := range chunks {
		if err := ctx.Err(); err != nil {
			return dst[:start], err
		}
		// zstd decodes straight into an empty destination but into a
		// scratch block, then copies, when it already holds bytes: hand
		// it the empty tail and keep what lands there in place.
		tail := dst[len(dst):]
		out, err := s.dec.DecodeAll(z, tail)
		if err != nil {
			return dst[:start], fmt.Errorf("archive: body %s chunk %d: %w: %v", c.BodyDigest, i, ErrCorrupt, err)
		}
		if len(out) > 0 && cap(tail) > 0 && &out[0] == &tail[:1][0] {
			dst = dst[:len(dst)+len(out)]
		} else {
			dst = append(dst, out...)
		}
	}
	if int64(len(dst)-start) != bi.RawLen {
		return dst[:start], fmt.Errorf("archive: body %s: %w: %d bytes, expected %d", c.BodyDigest, ErrCorrupt, len(dst)-start, bi.RawLen)
	}
	return dst, nil
}

// OpenBody streams the raw body of c, reading and decompressing one chunk
// at a time, each in its own short read transaction.
func (s *Store) OpenBody(c *Capture) (io.ReadCloser, error) {
	sum, err := bodySum(c.BodyDigest)
	if err != nil {
		return nil, err
	}
	var bi bodyInfo
	err = s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketBodyInfo).Get(sum)
		if v == nil {
			return fmt.Errorf("archive: body %s of %s: %w", c.BodyDigest, c.URL, ErrNotFound)
		}
		bi, err = decodeBodyInfo(v)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &bodyReader{s: s, sum: sum, digest: c.BodyDigest, n: bi.Chunks}, nil
}

// bodyReader reads a body chunk by chunk.
type bodyReader struct {
	s      *Store
	sum    []byte
	digest string
	next   uint32
	n      uint32
	buf    bytes.Reader
	closed bool
}

func (r *bodyReader) Read(p []byte) (int, error) {
	if r.closed {
		return 0, ErrClosed
	}
	for r.buf.Len() == 0 {
		if r.next >= r.n {
			return 0, io.EOF
		}
		var z []byte
		err := r.s.view(func(tx *bolt.Tx) error {
			z = clone(tx.Bucket(bucketBodies).Get(chunkKey(r.sum, r.next)))
			return nil
		})
		if err != nil {
			return 0, err
		}
		if z == nil {
			return 0, fmt.Errorf("archive: body %s chunk %d: %w: missing", r.digest, r.next, ErrCorrupt)
		}
		raw, err := r.s.dec.DecodeAll(z, nil)
		if err != nil {
			return 0, fmt.Errorf("archive: body %s chunk %d: %w: %v", r.digest, r.next, ErrCorrupt, err)
		}
		r.buf.Reset(raw)
		r.next++
	}
	return r.buf.Read(p)
}

func (r *bodyReader) Close() error {
	r.closed = true
	return nil
}
