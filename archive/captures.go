package archive

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// pageSize is how many captures one short read transaction of a listing
// decodes before the callback runs outside it.
const pageSize = 256

// Captures calls fn with the metadata (Body nil) of every capture whose URL
// starts with prefix ("" for all), in key order: by SURT, then time. fn
// runs outside any transaction, so it may call Body or Commit. An error
// from fn stops the listing and is returned.
func (s *Store) Captures(ctx context.Context, prefix string, fn func(*Capture) error) error {
	seekPrefix := []byte(surtSeek(prefix))
	var after []byte // the last key read, where the next page starts
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var page []*Capture
		more := false
		err := s.view(func(tx *bolt.Tx) error {
			caps := capsOf(tx)
			dec := &captureDecoder{caps: caps}
			c := caps.Cursor()
			var k, v []byte
			if after == nil {
				k, v = c.Seek(seekPrefix)
			} else if k, v = c.Seek(after); bytes.Equal(k, after) {
				k, v = c.Next()
			}
			for n := 0; k != nil && bytes.HasPrefix(k, seekPrefix); k, v = c.Next() {
				if n == pageSize {
					more = true
					return nil
				}
				n++
				after = clone(k)
				cp, err := dec.decode(k, v, true)
				if err != nil {
					return fmt.Errorf("capture %q: %w", k, err)
				}
				if strings.HasPrefix(cp.URL, prefix) {
					page = append(page, cp)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, c := range page {
			if err := fn(c); err != nil {
				return err
			}
		}
		if !more {
			return nil
		}
	}
}

// CapturesOf returns the metadata of every capture of exactly url, oldest
// first.
func (s *Store) CapturesOf(url string) ([]*Capture, error) {
	return s.capturesOf(url, true)
}

// CaptureIndex is CapturesOf without the bulky fields: it returns every
// capture of exactly url, oldest first, with Request, ResponseHead, IP,
// Parent, Anchor, Hops, WARCRecordID and Outlinks left empty; everything
// else (Key, Time, Status, Method, MIME, Location, BodyDigest, BodyLen,
// PayloadDigest, RevisitOf, Run, Reason, ...) is set. It is what choosing a
// capture by time needs, at a fraction of the cost for URLs with many
// captures; [Store.Capture] with the chosen Key gives the rest.
func (s *Store) CaptureIndex(url string) ([]*Capture, error) {
	return s.capturesOf(url, false)
}

func (s *Store) capturesOf(url string, heads bool) ([]*Capture, error) {
	var out []*Capture
	sk := surt(url)
	prefix := make([]byte, len(sk)+1)
	copy(prefix, sk)
	err := s.view(func(tx *bolt.Tx) error {
		caps := capsOf(tx)
		dec := &captureDecoder{caps: caps}
		c := caps.Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			cp, err := dec.decode(k, v, heads)
			if err != nil {
				return err
			}
			if cp.URL == url {
				out = append(out, cp)
			}
		}
		return nil
	})
	return out, err
}

// Capture returns the metadata of the capture stored under key, or an error
// wrapping ErrNotFound.
func (s *Store) Capture(key []byte) (*Capture, error) {
	var c *Capture
	err := s.view(func(tx *bolt.Tx) error {
		caps := capsOf(tx)
		v := caps.Get(key)
		if v == nil {
			return fmt.Errorf("archive: capture %q: %w", key, ErrNotFound)
		}
		var err error
		c, err = decodeCapture(caps, key, v)
		return err
	})
	return c, err
}
