package archive

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestVerify(t *testing.T) {
	s := newStore(t, Options{})
	ctx := context.Background()
	run := newRun(t, s, "")
	t0 := time.Unix(1700000000, 0).UTC()
	big := testCapture("http://example.test/big", t0, randomBody(t, 2<<20+5, 3))
	small := testCapture("http://example.test/small", t0, []byte("small body"))
	same := testCapture("http://example.test/same", t0, []byte("small body"))
	commit(t, s, run.ID, Batch{Captures: []*Capture{big, small, same}})

	var problems []string
	vs, err := s.Verify(ctx, func(p string) { problems = append(problems, p) })
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 0 || vs.Problems != 0 {
		t.Fatalf("a fresh store has problems: %q", problems)
	}
	if vs.Captures != 3 || vs.Bodies != 2 || vs.Chunks != 4 || vs.PayloadDigests != 2 || vs.BlockDigests != 3 {
		t.Errorf("checked %+v; want 3 captures, 2 bodies, 4 chunks, 2 payload digests, 3 block digests", vs)
	}

	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Captures != 3 || st.Bodies != 2 || st.Chunks != 4 || st.RawBytes != int64(len(big.Body)+len("small body")) ||
		st.CompressedBytes <= 0 || st.FileSize <= 0 || st.Runs != 1 {
		t.Errorf("Stats = %+v", st)
	}

	tests := []struct {
		name   string
		damage func(tx *bolt.Tx) error
		want   string
	}{
		{"flipped byte in a body chunk", func(tx *bolt.Tx) error {
			sum, _ := bodySum(big.BodyDigest)
			k := chunkKey(sum, 1)
			v := bytes.Clone(tx.Bucket(bucketBodies).Get(k))
			v[len(v)/2] ^= 0x40
			return tx.Bucket(bucketBodies).Put(k, v)
		}, "body " + big.BodyDigest},
		{"missing chunk", func(tx *bolt.Tx) error {
			sum, _ := bodySum(big.BodyDigest)
			return tx.Bucket(bucketBodies).Delete(chunkKey(sum, 2))
		}, "chunk 2 of 3 missing"},
		{"capture without body", func(tx *bolt.Tx) error {
			sum, _ := bodySum(small.BodyDigest)
			return tx.Bucket(bucketBodyInfo).Delete(sum)
		}, "capture http://example.test/same"},
		{"pdig pointing nowhere", func(tx *bolt.Tx) error {
			return capsOf(tx).Delete(small.Key)
		}, "payload digest " + small.PayloadDigest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.db.Update(tc.damage); err != nil {
				t.Fatal(err)
			}
			var problems []string
			vs, err := s.Verify(ctx, func(p string) { problems = append(problems, p) })
			if err != nil {
				t.Fatal(err)
			}
			if int(vs.Problems) != len(problems) {
				t.Errorf("Problems = %d, reported %d", vs.Problems, len(problems))
			}
			found := false
			for _, p := range problems {
				found = found || strings.Contains(p, tc.want)
			}
			if !found {
				t.Errorf("no problem mentions %q: %q", tc.want, problems)
			}
		})
	}
	if _, err := s.Body(ctx, big); err == nil {
		t.Error("Body of a damaged body succeeded")
	}
}
