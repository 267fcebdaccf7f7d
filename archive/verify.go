package archive

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"

	bolt "go.etcd.io/bbolt"
)

// StoreStats sums up what a store holds.
type StoreStats struct {
	Captures        int64 // capture records
	Bodies          int64 // distinct bodies (repeats are stored once)
	Chunks          int64 // body chunks
	RawBytes        int64 // bodies' size uncompressed
	CompressedBytes int64 // bodies' size as stored (zstd)
	CaptureBytes    int64 // capture records' size as stored: keys and values, and the URL index (SURT -> id)
	PayloadDigests  int64 // distinct non-empty payloads
	Runs            int64 // crawl runs
	AllBytes        int64 // every key and value of every bucket, nested ones included: all the store holds
	FileSize        int64 // size of the file on disk (it never shrinks)
}

// Stats counts what the store holds. It reads every capture record and
// every body record's header (not the bodies), so it takes time
// proportional to the number of captures and bodies.
func (s *Store) Stats() (StoreStats, error) {
	var st StoreStats
	err := s.view(func(tx *bolt.Tx) error {
		st.Captures = int64(capsOf(tx).Len())
		st.PayloadDigests = int64(tx.Bucket(bucketPdig).Stats().KeyN)
		st.Runs = int64(tx.Bucket(bucketRuns).Stats().KeyN)
		for _, b := range [][]byte{bucketCaps, bucketURLs} {
			if err := tx.Bucket(b).ForEach(func(k, v []byte) error {
				st.CaptureBytes += int64(len(k) + len(v))
				return nil
			}); err != nil {
				return err
			}
		}
		if err := tx.Bucket(bucketBodyInfo).ForEach(func(_, v []byte) error {
			bi, err := decodeBodyInfo(v)
			if err != nil {
				return err
			}
			st.Bodies++
			st.RawBytes += bi.RawLen
			return nil
		}); err != nil {
			return err
		}
		if err := tx.Bucket(bucketBodies).ForEach(func(_, v []byte) error {
			st.Chunks++
			st.CompressedBytes += int64(len(v))
			return nil
		}); err != nil {
			return err
		}
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			st.AllBytes += int64(len(name)) + bucketBytes(b)
			return nil
		})
	})
	if err != nil {
		return st, err
	}
	fi, err := os.Stat(s.path)
	if err != nil {
		return st, fmt.Errorf("archive: stats: %w", err)
	}
	st.FileSize = fi.Size()
	return st, nil
}

// VerifyStats says how much Verify checked and how many problems it found.
type VerifyStats struct {
	Captures       int64
	Bodies         int64
	Chunks         int64
	PayloadDigests int64
	BlockDigests   int64 // captures whose head and body were checked against the block digest stored with them
	Problems       int64
}

// Verify checks the whole store and calls report with each problem found,
// going on after each: bbolt's own page consistency; every body's chunks
// decompress, add up to its length and hash to its address; every capture's
// body exists with the capture's length and its RevisitOf capture exists;
// a capture's head and body hash to the block digest stored with it (a
// change since the exchange was received); every pdig entry points at an
// existing capture. It reads in transactions of a few hundred records each
// (decoding their bodies for the block digests), so it can run next to a
// crawl in the same process.
func (s *Store) Verify(ctx context.Context, report func(problem string)) (VerifyStats, error) {
	var vs VerifyStats
	problem := func(format string, args ...any) {
		vs.Problems++
		report(fmt.Sprintf(format, args...))
	}

	err := s.view(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			problem("bbolt: %v", err)
		}
		return nil
	})
	if err != nil {
		return vs, err
	}

	// Bodies.
	err = s.eachPage(ctx, bucketBodyInfo, func(tx *bolt.Tx, k, v []byte) error {
		vs.Bodies++
		bi, err := decodeBodyInfo(v)
		if err != nil || len(k) != sha256.Size {
			problem("body %x: bad body info record", k)
			return nil
		}
		h := sha256.New()
		var n int64
		bad := false // a chunk is unreadable: the hash cannot be checked
		for i := range bi.Chunks {
			vs.Chunks++
			z := tx.Bucket(bucketBodies).Get(chunkKey(k, i))
			if z == nil {
				problem("body sha256:%x: chunk %d of %d missing", k, i, bi.Chunks)
				bad = true
				continue
			}
			raw, err := s.dec.DecodeAll(z, nil)
			if err != nil {
				problem("body sha256:%x: chunk %d does not decompress: %v", k, i, err)
				bad = true
				continue
			}
			if len(raw) > chunkSize {
				problem("body sha256:%x: chunk %d holds %d bytes, more than %d", k, i, len(raw), chunkSize)
			}
			h.Write(raw)
			n += int64(len(raw))
		}
		if bad {
			return nil
		}
		if n != bi.RawLen {
			problem("body sha256:%x: %d bytes, its record says %d", k, n, bi.RawLen)
		}
		if sum := h.Sum(nil); !bytes.Equal(sum, k) {
			problem("body sha256:%x: content hashes to sha256:%x", k, sum)
		}
		return nil
	})
	if err != nil {
		return vs, err
	}

	// Captures.
	var stored int
	var body, bodyOf []byte // the last body decoded, and its address
	_ = s.view(func(tx *bolt.Tx) error { stored = capsOf(tx).Len(); return nil })
	err = s.eachCapture(ctx, func(tx *bolt.Tx, caps *captable, k, v []byte) error {
		vs.Captures++
		c, err := decodeCapture(caps, k, v)
		if err != nil {
			problem("capture %q: %v", k, err)
			return nil
		}
		sum, err := bodySum(c.BodyDigest)
		if err != nil {
			problem("capture %s at %s: bad body digest %q", c.URL, c.Time, c.BodyDigest)
			return nil
		}
		bv := tx.Bucket(bucketBodyInfo).Get(sum)
		if bv == nil {
			problem("capture %s at %s: body %s missing", c.URL, c.Time, c.BodyDigest)
		} else if bi, err := decodeBodyInfo(bv); err == nil && bi.RawLen != c.BodyLen {
			problem("capture %s at %s: body is %d bytes, capture says %d", c.URL, c.Time, bi.RawLen, c.BodyLen)
		} else if c.BlockDigest != "" {
			// Captures of a URL sit together and often share a body:
			// decode it once for them.
			if !bytes.Equal(sum, bodyOf) {
				bodyOf = nil
				if body, err = s.appendBodyTx(ctx, tx, body[:0], c, sum); err == nil {
					bodyOf = append(bodyOf[:0:0], sum...)
				}
			}
			// A body that does not decode is named by the bodies pass.
			if bodyOf != nil {
				vs.BlockDigests++
				if d := blockDigest(c.ResponseHead, body); d != c.BlockDigest {
					problem("capture %s at %s: response head and body hash to %s, but %s when received", c.URL, c.Time, d, c.BlockDigest)
				}
			}
		}
		if c.RevisitOf != nil && caps.Get(c.RevisitOf) == nil {
			problem("capture %s at %s: revisit of missing capture %q", c.URL, c.Time, c.RevisitOf)
		}
		return nil
	})
	if err != nil {
		return vs, err
	}
	if n := int64(stored) - vs.Captures; n > 0 {
		// Records under an id that no URL has: no reader can find them.
		vs.Captures += n
		problem("%d capture records have no entry in the URL index", n)
	}

	// Payload digests.
	err = s.eachPage(ctx, bucketPdig, func(tx *bolt.Tx, k, v []byte) error {
		vs.PayloadDigests++
		if capsOf(tx).Get(v) == nil {
			problem("payload digest %s: first capture %q missing", k, v)
		}
		return nil
	})
	return vs, err
}

// eachCapture calls fn for every capture record, by logical key, a few at
// a time, each group in its own short read transaction.
func (s *Store) eachCapture(ctx context.Context, fn func(tx *bolt.Tx, caps *captable, k, v []byte) error) error {
	return s.eachPaged(ctx, func(tx *bolt.Tx) kvCursor { return capsOf(tx).Cursor() },
		func(tx *bolt.Tx, k, v []byte) error { return fn(tx, capsOf(tx), k, v) })
}

// eachPage calls fn for every key of a top-level bucket, a few at a time,
// each group in its own short read transaction.
func (s *Store) eachPage(ctx context.Context, bucket []byte, fn func(tx *bolt.Tx, k, v []byte) error) error {
	return s.eachPaged(ctx, func(tx *bolt.Tx) kvCursor { return tx.Bucket(bucket).Cursor() }, fn)
}

// kvCursor is what eachPaged needs of a bbolt or capture cursor.
type kvCursor interface {
	First() ([]byte, []byte)
	Seek([]byte) ([]byte, []byte)
	Next() ([]byte, []byte)
}

// eachPaged calls fn for every key of the cursors open gives, pageSize at
// a time, each page in its own read transaction, going on after the last
// key of the page before.
func (s *Store) eachPaged(ctx context.Context, open func(*bolt.Tx) kvCursor, fn func(tx *bolt.Tx, k, v []byte) error) error {
	var after []byte
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		more := false
		err := s.view(func(tx *bolt.Tx) error {
			c := open(tx)
			var k, v []byte
			if after == nil {
				k, v = c.First()
			} else if k, v = c.Seek(after); bytes.Equal(k, after) {
				k, v = c.Next()
			}
			for n := 0; k != nil; k, v = c.Next() {
				if n == pageSize {
					more = true
					return nil
				}
				n++
				after = clone(k)
				if err := fn(tx, k, v); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil || !more {
			return err
		}
	}
}

// bucketBytes adds up the keys and values of b and of its nested buckets.
func bucketBytes(b *bolt.Bucket) int64 {
	var n int64
	_ = b.ForEach(func(k, v []byte) error {
		n += int64(len(k) + len(v))
		if v == nil {
			n += bucketBytes(b.Bucket(k))
		}
		return nil
	})
	return n
}
