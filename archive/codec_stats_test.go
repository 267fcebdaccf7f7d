package archive

import (
	"fmt"
	"sort"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// RecordSizes adds up the stored bytes of a class of capture records.
type RecordSizes struct {
	N, Key, Listing, Heads int64
}

// CaptureRecordBreakdown splits the stored bytes of run's capture records
// into key, listing part (with the version byte) and heads part, by class:
// "304", "200-revisit" (a 200 whose payload was stored before), "other".
// It is for benchmarks that say where a re-crawl's bytes go.
func CaptureRecordBreakdown(s *Store, run uint64) (map[string]RecordSizes, error) {
	out := map[string]RecordSizes{}
	err := s.view(func(tx *bolt.Tx) error {
		caps := capsOf(tx)
		return caps.ForEach(func(k, v []byte) error {
			c, err := decodeCaptureParts(caps, k, v, false)
			if err != nil {
				return err
			}
			if c.Run != run {
				return nil
			}
			class := "other"
			switch {
			case c.Status == 304:
				class = "304"
			case c.Status == 200 && c.RevisitOf != nil:
				class = "200-revisit"
			}
			listing, heads := recordParts(v)
			rs := out[class]
			rs.N++
			rs.Key += physKeyLen // the SURT is in the URL index, once per URL
			rs.Listing += int64(listing)
			rs.Heads += int64(heads)
			out[class] = rs
			return nil
		})
	})
	return out, err
}

// FormatRecordBreakdown lays out a CaptureRecordBreakdown as a table of
// bytes per record.
func FormatRecordBreakdown(m map[string]RecordSizes) string {
	var classes []string
	var all RecordSizes
	for c, rs := range m {
		classes = append(classes, c)
		all.N += rs.N
		all.Key += rs.Key
		all.Listing += rs.Listing
		all.Heads += rs.Heads
	}
	sort.Strings(classes)
	var b strings.Builder
	fmt.Fprintf(&b, "%-12s %6s %8s %8s %8s %8s\n", "class", "n", "key", "listing", "heads", "total")
	row := func(name string, rs RecordSizes) {
		n := float64(max(rs.N, 1))
		fmt.Fprintf(&b, "%-12s %6d %8.1f %8.1f %8.1f %8.1f\n", name, rs.N,
			float64(rs.Key)/n, float64(rs.Listing)/n, float64(rs.Heads)/n, float64(rs.Key+rs.Listing+rs.Heads)/n)
	}
	for _, c := range classes {
		row(c, m[c])
	}
	row("all", all)
	return b.String()
}

// recordParts returns the sizes of a record's listing part (with the
// version byte) and heads part.
func recordParts(v []byte) (listing, heads int) {
	p, ok := headsPart(v)
	if !ok {
		return len(v), 0
	}
	return len(v) - len(p), len(p)
}
