package archive

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestCapCursorOrder checks the two-bucket cursor against the order one
// bucket of logical keys had (schema 3): every Seek, Next, Prev, First and
// Last lands where a sorted list of the keys says, including SURTs that
// are prefixes of others and a URL whose captures were all deleted.
func TestCapCursorOrder(t *testing.T) {
	s := newStore(t, Options{})
	surts := []string{"a", "a)", "a)/", "a)/b", "a)/b?x=1", "a)/ba", "b,c)/", "b,c)/d", "z"}
	rng := rand.New(rand.NewPCG(1, 2))
	var want [][]byte
	err := s.db.Update(func(tx *bolt.Tx) error {
		caps := capsOf(tx)
		for _, sk := range surts {
			for range 1 + rng.IntN(4) {
				k := captureKey(sk, rng.Int64N(1<<40))
				if caps.Get(k) != nil {
					continue
				}
				if err := caps.Put(k, []byte("v"+string(k))); err != nil {
					return err
				}
				want = append(want, k)
			}
		}
		// "a)/b" keeps its id but loses every capture.
		var kept [][]byte
		for _, k := range want {
			if _, sk, _ := splitCaptureKey(k); string(sk) == "a)/b" {
				if err := caps.Delete(k); err != nil {
					return err
				}
				continue
			}
			kept = append(kept, k)
		}
		want = kept
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(want, func(i, j int) bool { return bytes.Compare(want[i], want[j]) < 0 })
	check := func(what string, pos int, k, v []byte) {
		t.Helper()
		if pos < 0 || pos >= len(want) {
			if k != nil {
				t.Fatalf("%s: got %q, want the end", what, k)
			}
			return
		}
		if !bytes.Equal(k, want[pos]) || string(v) != "v"+string(want[pos]) {
			t.Fatalf("%s: got %q=%q, want %q", what, k, v, want[pos])
		}
	}
	seeks := [][]byte{nil, []byte("a"), []byte("a)/"), []byte("a)/b"), []byte("a)/b\x00"), []byte("a)/b\xff"),
		[]byte("a)/ba\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff"), []byte("b"), []byte("zz")}
	for _, k := range want {
		seeks = append(seeks, k, append(clone(k[:len(k)-1]), k[len(k)-1]+1))
	}
	err = s.db.View(func(tx *bolt.Tx) error {
		c := capsOf(tx).Cursor()
		var got [][]byte
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			got = append(got, clone(k))
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("forward walk:\n%q\nwant\n%q", got, want)
		}
		got = got[:0]
		for k, _ := c.Last(); k != nil; k, _ = c.Prev() {
			got = append([][]byte{clone(k)}, got...)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("backward walk:\n%q\nwant\n%q", got, want)
		}
		for _, sk := range seeks {
			pos := sort.Search(len(want), func(i int) bool { return bytes.Compare(want[i], sk) >= 0 })
			k, v := c.Seek(sk)
			check("Seek "+string(sk), pos, k, v)
			if k == nil {
				continue
			}
			// Moves in random directions from there.
			p := pos
			for range 6 {
				if rng.IntN(2) == 0 {
					p++
					k, v = c.Next()
				} else {
					p--
					k, v = c.Prev()
				}
				check("move", p, k, v)
				if k == nil {
					break
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// toSchema3 rewrites a closed store at path in schema 3's layout: every
// capture under its logical key in the captures bucket.
func toSchema3(t *testing.T, path string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		old, err := tx.CreateBucket(bucketCaptures)
		if err != nil {
			return err
		}
		if err := capsOf(tx).ForEach(func(k, v []byte) error { return old.Put(clone(k), clone(v)) }); err != nil {
			return err
		}
		for _, b := range [][]byte{bucketCaps, bucketURLs} {
			if err := tx.DeleteBucket(b); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Put(keySchema, binary.BigEndian.AppendUint32(nil, 3))
	})
	if err != nil {
		t.Fatal(err)
	}
}

// upgradeFixture makes a closed store with 30 URLs captured 3 times (a
// full answer, then two 304s, as line deltas) and a repeated payload, and
// returns its path and every capture as Captures lists them.
func upgradeFixture(t *testing.T) (string, []*Capture) {
	t.Helper()
	s, _ := fixtureStore(t, 30, 2)
	same := fixtureCapture(0, time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC), false)
	same.URL += "copy"
	commit(t, s, 0, Batch{Captures: []*Capture{same}}) // a revisit: same payload as article 0
	all := listAll(t, s)
	path := s.Path()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path, all
}

func listAll(t *testing.T, s *Store) []*Capture {
	t.Helper()
	var all []*Capture
	if err := s.Captures(context.Background(), "", func(c *Capture) error {
		full, err := s.Capture(c.Key)
		all = append(all, full)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return all
}

func schemaOf(t *testing.T, path string) (schema uint32, oldBucket bool) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_ = db.View(func(tx *bolt.Tx) error {
		schema = binary.BigEndian.Uint32(tx.Bucket(bucketMeta).Get(keySchema))
		oldBucket = tx.Bucket(bucketCaptures) != nil
		return nil
	})
	return schema, oldBucket
}

// checkUpgraded opens path and checks it holds exactly want, in the current schema,
// and passes Verify.
func checkUpgraded(t *testing.T, path string, opts Options, want []*Capture) {
	t.Helper()
	s, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := listAll(t, s); !reflect.DeepEqual(got, want) {
		t.Fatalf("after upgrade: %d captures, differing from the %d before", len(got), len(want))
	}
	vs, err := s.Verify(context.Background(), func(p string) { t.Error(p) })
	if err != nil || vs.Problems != 0 || vs.Captures != int64(len(want)) {
		t.Errorf("Verify: %+v, %v", vs, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if n, old := schemaOf(t, path); n != schemaVersion || old {
		t.Errorf("schema %d, old bucket left: %v", n, old)
	}
}

// TestUpgradeSchema3 opens a schema 3 store: its captures move to short
// keys, a few transactions at a time, and read back the same.
func TestUpgradeSchema3(t *testing.T) {
	path, want := upgradeFixture(t)
	if len(want) != 91 {
		t.Fatalf("fixture has %d captures", len(want))
	}
	toSchema3(t, path)
	if n, old := schemaOf(t, path); n != 3 || !old {
		t.Fatalf("toSchema3 left schema %d (old bucket %v)", n, old)
	}
	defer func(n int) { migrateBatch = n }(migrateBatch)
	migrateBatch = 7
	checkUpgraded(t, path, Options{}, want)
}

// TestUpgradeInterrupted stops an upgrade after its first transaction, as
// a kill would: the file already refuses an older amber (the current
// schema), and
// the next Open finishes the move without losing a record.
func TestUpgradeInterrupted(t *testing.T) {
	path, want := upgradeFixture(t)
	toSchema3(t, path)
	defer func(n int) { migrateBatch = n }(migrateBatch)
	migrateBatch = 10
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketCaps, bucketURLs} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		done, err := upgradeStep(tx)
		if done {
			return errors.New("one step moved everything")
		}
		return err
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if n, old := schemaOf(t, path); n != schemaVersion || !old {
		t.Fatalf("half-way: schema %d, old bucket %v; want %d and the old bucket", n, old, schemaVersion)
	}
	checkUpgraded(t, path, Options{}, want)
}

// TestUpgradeReadOnly: a read-only open (ls, show, export) of a schema 3
// store upgrades it first, then reads.
func TestUpgradeReadOnly(t *testing.T) {
	path, want := upgradeFixture(t)
	toSchema3(t, path)
	checkUpgraded(t, filepath.Clean(path), Options{ReadOnly: true}, want)
}
