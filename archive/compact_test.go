package archive

import (
	"bytes"
	"context"
	"reflect"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestCompactSeen: the commit of a capture shrinks the URL's seen entry to
// a marker when the capture repeats it, and when the run finishes the
// markers are deleted; Queued and Why say the same before and after.
func TestCompactSeen(t *testing.T) {
	s := newStore(t, Options{})
	ctx := context.Background()
	run := newRun(t, s, "")
	a, b, c, d := item("http://example.test/a"), item("http://example.test/b"), item("http://example.test/c"), item("http://example.test/d")
	d.Reason, d.Hops = ReasonSource, "LS"
	commit(t, s, run.ID, Batch{Enqueue: []Item{a, b, c, d}})
	at := time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)
	capOf := func(it Item, n int) *Capture {
		cp := testCapture(it.URL, at.Add(time.Duration(n)*time.Second), []byte(it.URL))
		cp.Reason, cp.Parent, cp.Anchor, cp.Hops = it.Reason, it.Parent, it.Anchor, it.Hops
		return cp
	}
	cb := capOf(b, 1)
	cb.Parent = "http://example.test/elsewhere" // a capture that does not repeat its entry
	commit(t, s, run.ID, Batch{
		Done:     []Item{a, b, c, d},
		Captures: []*Capture{capOf(a, 0), cb, capOf(d, 3)},
		Failures: []Failure{{URL: c.URL, Reason: c.Reason, Parent: c.Parent, Tries: 3, Err: "timeout"}},
	})
	queued := func() []Item {
		var out []Item
		if err := s.Queued(ctx, run.ID, func(it Item) error { out = append(out, it); return nil }); err != nil {
			t.Fatal(err)
		}
		return out
	}
	before := queued()
	whyA, err := s.Why(a.URL)
	if err != nil {
		t.Fatal(err)
	}
	if len(before) != 4 || len(whyA) != 1 {
		t.Fatalf("before: queued %v, why a %v", before, whyA)
	}
	var values [][]byte
	_ = s.db.View(func(tx *bolt.Tx) error {
		return runBucket(tx, run.ID, bucketSeen).ForEach(func(_, v []byte) error {
			values = append(values, clone(v))
			return nil
		})
	})
	if len(values) != 4 || !bytes.Equal(values[0], seenCaptured) || bytes.Equal(values[1], seenCaptured) ||
		bytes.Equal(values[2], seenCaptured) || !bytes.Equal(values[3], seenCaptured) {
		t.Errorf("seen values before finishing: %q; want a and d shrunk to the marker, b and c kept", values)
	}

	defer func(n int) { compactBatch = n }(compactBatch)
	compactBatch = 1 // a transaction per deleted entry
	for range 2 {    // finishing twice compacts once
		if err := s.UpdateRun(ctx, run.ID, func(r *Run) error { r.Status = RunFinished; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	var left []string
	_ = s.db.View(func(tx *bolt.Tx) error {
		return runBucket(tx, run.ID, bucketSeen).ForEach(func(k, _ []byte) error {
			left = append(left, string(k))
			return nil
		})
	})
	if want := []string{b.URL, c.URL}; !reflect.DeepEqual(left, want) {
		t.Errorf("seen after compaction: %q, want %q (the failed URL and the capture with another parent)", left, want)
	}
	if after := queued(); !reflect.DeepEqual(after, before) {
		t.Errorf("Queued after compaction:\n%+v\nwant\n%+v", after, before)
	}
	why, err := s.Why(a.URL)
	if err != nil {
		t.Fatal(err)
	}
	if len(why) != 1 || why[0].Kind != DecisionCaptured || why[0].Reason != a.Reason || why[0].Parent != a.Parent ||
		why[0].Anchor != a.Anchor || why[0].Hops != a.Hops {
		t.Errorf("why a after compaction: %+v, want the capture with its reason, parent, anchor and hops", why)
	}
}
