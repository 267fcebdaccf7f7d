package bench

import (
	"fmt"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// storeBreakdown opens an amber store read-only after a crawl and adds up
// the key and value bytes under each bucket ("frontier/seen" for the
// per-run frontier buckets, the run ID level left out), to show where the
// store's bytes per page go. The rest of the file size is bbolt's page
// overhead, partly filled pages and free pages.
func storeBreakdown(path string) (string, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
	if err != nil {
		return "", err
	}
	defer db.Close()
	sums := map[string]int64{}
	var walk func(name string, b *bolt.Bucket)
	walk = func(name string, b *bolt.Bucket) {
		_ = b.ForEach(func(k, v []byte) error {
			if v != nil {
				sums[name] += int64(len(k) + len(v))
				return nil
			}
			sub := name + "/" + string(k)
			if name == "frontier" {
				sub = name // a run's bucket: its children are named
			}
			walk(sub, b.Bucket(k))
			return nil
		})
	}
	err = db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			walk(string(name), b)
			return nil
		})
	})
	if err != nil {
		return "", err
	}
	keys := make([]string, 0, len(sums))
	var total int64
	for k, v := range sums {
		keys = append(keys, k)
		total += v
	}
	sort.Slice(keys, func(i, j int) bool { return sums[keys[i]] > sums[keys[j]] })
	var sb strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&sb, "%s %.1f MB, ", k, float64(sums[k])/1e6)
	}
	fmt.Fprintf(&sb, "keys+values %.1f MB", float64(total)/1e6)
	return sb.String(), nil
}
