package archive

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	bolt "go.etcd.io/bbolt"
)

// Capture records are stored under short keys (schema 4).
//
// A capture's key, as the rest of the package and every caller sees it
// (Capture.Key, RevisitOf, the pdig and imported buckets), is its logical
// key: SURT + 0x00 + big-endian unix nanoseconds (captureKey). Stored that
// way, the SURT, some 90 bytes, was most of what a daily re-crawl of an
// unchanged site added to the store: every 304 repeated it. So the SURT is
// stored once, in the urls bucket, with a 4-byte id, and the record under
// id + nanoseconds (12 bytes) in the caps bucket. captable gives the two
// buckets the shape of one bucket of logical keys, in the same order (by
// SURT, then time: a SURT holds no 0x00, so SURT order is key order).
var (
	bucketURLs = []byte("urls") // SURT -> 4-byte big-endian id
	bucketCaps = []byte("caps") // id + big-endian unix ns -> capture record
)

// idLen and physKeyLen are the sizes of a URL id and of a record's key in
// the caps bucket.
const (
	idLen      = 4
	physKeyLen = idLen + 8
)

// errTooManyURLs is returned when the store has used every URL id.
var errTooManyURLs = errors.New("archive: the store holds 4,294,967,295 distinct URLs, its limit")

// captable is the captures of one transaction, addressed by logical key.
type captable struct {
	urls, caps *bolt.Bucket
}

// capsOf returns the captures of tx.
func capsOf(tx *bolt.Tx) *captable {
	return &captable{urls: tx.Bucket(bucketURLs), caps: tx.Bucket(bucketCaps)}
}

// physKey returns the caps key of the logical key lk, or nil if lk is not a
// capture key or its SURT has no id yet.
func (t *captable) physKey(lk []byte) []byte {
	nanos, sk, ok := splitCaptureKey(lk)
	if !ok {
		return nil
	}
	id := t.urls.Get(sk)
	if len(id) != idLen {
		return nil
	}
	return binary.BigEndian.AppendUint64(append(make([]byte, 0, physKeyLen), id...), uint64(nanos))
}

// Get returns the record under the logical key lk, or nil.
func (t *captable) Get(lk []byte) []byte {
	pk := t.physKey(lk)
	if pk == nil {
		return nil
	}
	return t.caps.Get(pk)
}

// Put stores v under the logical key lk, giving its SURT an id if it has
// none.
func (t *captable) Put(lk, v []byte) error {
	nanos, sk, ok := splitCaptureKey(lk)
	if !ok {
		return fmt.Errorf("archive: bad capture key %q", lk)
	}
	id, err := t.idOf(sk)
	if err != nil {
		return err
	}
	return t.caps.Put(binary.BigEndian.AppendUint64(id, uint64(nanos)), v)
}

// idOf returns (a copy of) the id of the SURT sk, making one if needed.
func (t *captable) idOf(sk []byte) ([]byte, error) {
	if id := t.urls.Get(sk); len(id) == idLen {
		return append(make([]byte, 0, physKeyLen), id...), nil
	}
	n, err := t.urls.NextSequence()
	if err != nil {
		return nil, err
	}
	if n > math.MaxUint32 {
		return nil, errTooManyURLs
	}
	id := binary.BigEndian.AppendUint32(make([]byte, 0, physKeyLen), uint32(n))
	if err := t.urls.Put(sk, id); err != nil {
		return nil, err
	}
	return id, nil
}

// Delete removes the record under the logical key lk. The SURT keeps its
// id: a URL without captures is passed over by cursors.
func (t *captable) Delete(lk []byte) error {
	pk := t.physKey(lk)
	if pk == nil {
		return nil
	}
	return t.caps.Delete(pk)
}

// Len returns the number of capture records.
func (t *captable) Len() int { return t.caps.Stats().KeyN }

// Cursor returns a cursor over the logical keys.
func (t *captable) Cursor() *capCursor {
	return &capCursor{uc: t.urls.Cursor(), cc: t.caps.Cursor()}
}

// capCursor walks capture records in logical key order: the urls bucket
// in SURT order and, for each SURT, its records in the caps bucket in time
// order. Keys it returns are valid until the next move.
type capCursor struct {
	uc, cc *bolt.Cursor
	sk, id []byte // the current SURT and its id (owned by the transaction)
	key    []byte // the logical key last returned
}

// at returns the logical key of the caps record pk, v, or nils when pk is
// not one of the current id's records.
func (c *capCursor) at(pk, v []byte) ([]byte, []byte) {
	if pk == nil || len(pk) != physKeyLen || !bytes.Equal(pk[:idLen], c.id) {
		return nil, nil
	}
	c.key = append(append(append(c.key[:0], c.sk...), 0), pk[idLen:]...)
	return c.key, v
}

// firstFrom returns the first record of the SURT sk (id) or, if it has
// none, of the next SURT that has one.
func (c *capCursor) firstFrom(sk, id []byte) ([]byte, []byte) {
	for ; sk != nil; sk, id = c.uc.Next() {
		if len(id) != idLen {
			continue
		}
		c.sk, c.id = sk, id
		if k, v := c.at(c.cc.Seek(id)); k != nil {
			return k, v
		}
	}
	c.id = nil
	return nil, nil
}

// lastFrom returns the last record of the SURT sk (id) or, if it has
// none, of the previous SURT that has one.
func (c *capCursor) lastFrom(sk, id []byte) ([]byte, []byte) {
	for ; sk != nil; sk, id = c.uc.Prev() {
		if len(id) != idLen {
			continue
		}
		c.sk, c.id = sk, id
		next := binary.BigEndian.Uint32(id) + 1
		var pk, v []byte
		if next != 0 {
			pk, _ = c.cc.Seek(binary.BigEndian.AppendUint32(nil, next))
		}
		if pk == nil {
			pk, v = c.cc.Last()
		} else {
			pk, v = c.cc.Prev()
		}
		if k, v := c.at(pk, v); k != nil {
			return k, v
		}
	}
	c.id = nil
	return nil, nil
}

// First moves to the first record.
func (c *capCursor) First() ([]byte, []byte) { return c.firstFrom(c.uc.First()) }

// Last moves to the last record.
func (c *capCursor) Last() ([]byte, []byte) { return c.lastFrom(c.uc.Last()) }

// Seek moves to the first record whose logical key is at least lk, which
// may be any byte string: a SURT prefix, a SURT + 0x00, a whole key or
// more.
func (c *capCursor) Seek(lk []byte) ([]byte, []byte) {
	sk, rest := lk, []byte(nil)
	if i := bytes.IndexByte(lk, 0); i >= 0 {
		sk, rest = lk[:i], lk[i+1:]
	}
	u, id := c.uc.Seek(sk)
	if u == nil {
		c.id = nil
		return nil, nil
	}
	if !bytes.Equal(u, sk) || len(id) != idLen {
		return c.firstFrom(u, id)
	}
	c.sk, c.id = u, id
	if k, v := c.at(c.cc.Seek(append(append(make([]byte, 0, idLen+len(rest)), id...), rest...))); k != nil {
		return k, v
	}
	return c.firstFrom(c.uc.Next())
}

// Next moves to the next record.
func (c *capCursor) Next() ([]byte, []byte) {
	if c.id == nil {
		return nil, nil
	}
	if k, v := c.at(c.cc.Next()); k != nil {
		return k, v
	}
	return c.firstFrom(c.uc.Next())
}

// Prev moves to the previous record.
func (c *capCursor) Prev() ([]byte, []byte) {
	if c.id == nil {
		return nil, nil
	}
	if k, v := c.at(c.cc.Prev()); k != nil {
		return k, v
	}
	return c.lastFrom(c.uc.Prev())
}

// ForEach calls fn with every record in logical key order.
func (t *captable) ForEach(fn func(lk, v []byte) error) error {
	c := t.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return nil
}
