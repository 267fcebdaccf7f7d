package archive

import (
	"testing"

	bolt "go.etcd.io/bbolt"
)

// BenchmarkBareTx is the floor under any commit: a bbolt write
// transaction with one small Put, fsync on (two fdatasyncs).
func BenchmarkBareTx(b *testing.B) {
	s := newStore(b, Options{})
	for i := 0; i < b.N; i++ {
		err := s.db.Update(func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMeta).Put([]byte("bench"), be64(uint64(i)))
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
