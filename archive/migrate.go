package archive

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// migrateBatch is how many capture records one transaction of the schema
// 3 to 4 upgrade moves: enough to be quick, few enough that a transaction
// of large records stays a few MB in memory.
var migrateBatch = 20000

// needsUpgrade reports whether the file still has schema 3's captures
// bucket, which upgrade moves into the urls and caps buckets.
func needsUpgrade(tx *bolt.Tx) bool {
	return tx.Bucket(bucketCaptures) != nil
}

// upgrade moves the capture records of a schema 3 file to schema 4's short
// keys (captable.go), migrateBatch records per transaction. The first
// transaction already marks the file with the current schema, so an older amber refuses
// it instead of seeing part of its captures; the old bucket's presence is
// what says the move is not finished, so a kill at any point leaves a file
// that the next Open finishes upgrading. Records are moved as they are:
// their values do not depend on their keys.
func (s *Store) upgrade() error {
	for {
		var done bool
		err := s.db.Update(func(tx *bolt.Tx) (err error) {
			done, err = upgradeStep(tx)
			return err
		})
		if err != nil {
			return fmt.Errorf("archive: upgrade %s to schema %d: %w", s.path, schemaVersion, err)
		}
		if done {
			return nil
		}
	}
}

// upgradeStep moves up to migrateBatch records and says whether the move
// is finished.
func upgradeStep(tx *bolt.Tx) (done bool, err error) {
	old := tx.Bucket(bucketCaptures)
	if old == nil {
		return true, nil
	}
	if err := tx.Bucket(bucketMeta).Put(keySchema, binary.BigEndian.AppendUint32(nil, schemaVersion)); err != nil {
		return false, err
	}
	t := capsOf(tx)
	c := old.Cursor()
	n := 0
	for k, v := c.First(); k != nil && n < migrateBatch; k, v = c.First() {
		if err := t.Put(k, v); err != nil {
			return false, fmt.Errorf("capture %q: %w", k, err)
		}
		if err := c.Delete(); err != nil {
			return false, err
		}
		n++
	}
	if n < migrateBatch {
		return true, tx.DeleteBucket(bucketCaptures)
	}
	return false, nil
}
