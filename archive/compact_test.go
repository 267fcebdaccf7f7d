package archive

import (
	"context"
	"reflect"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestCompactSeen: when a run finishes, the seen entries its captures
// repeat are dropped; Queued and Why still say what they said before.
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
	if len(before) != 4 || len(whyA) != 2 {
		t.Fatalf("before: queued %v, why a %v", before, whyA)
	}

	for range 2 { // finishing twice compacts once
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
