package archive

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
)

// maxGroup is the most batches the writer puts in one transaction.
const maxGroup = 256

// commitReq is one Commit call waiting for the writer goroutine.
type commitReq struct {
	run    uint64
	b      Batch
	bodies []preparedBody // one per capture, in order
	pdigs  []string       // payload digest per capture
	bdigs  []string       // block digest per capture; "" without a body
	plens  []int          // entity body length per capture
	heads  [][]byte       // encodeHeads per capture

	res  BatchResult
	err  error
	done chan struct{} // closed when res and err are set
}

// Commit applies everything in b to run's frontier and counters, and stores
// its captures, in one transaction: after a crash either all of b is in the
// store or none of it. It returns once the transaction is durable on disk.
//
// Bodies are hashed and compressed in the caller's goroutine; the write
// itself is done by the store's writer goroutine, which puts the batches of
// concurrent callers in one transaction (group commit). If that combined
// transaction fails, each batch is retried alone, so one bad batch fails
// only its own caller.
//
// Commit fills the store-set fields of each capture (Key, BodyDigest,
// BodyLen, PayloadDigest, BlockDigest, RevisitOf; Time and Run when zero). A capture
// whose payload digest was stored before gets RevisitOf, the key of the
// first capture with that payload. Enqueue items not yet seen in the run
// are queued and returned in the result with Seq set; Done items leave the
// queue; Requeue items are rewritten under their Seq; only the first skip of
// a URL in a run is kept. Run 0 means "no run": nothing is counted.
//
// ctx is honoured until the batch is handed to the writer; after that
// Commit waits for the transaction, so that its answer is always true.
func (s *Store) Commit(ctx context.Context, run uint64, b Batch) (BatchResult, error) {
	if err := ctx.Err(); err != nil {
		return BatchResult{}, err
	}
	req := &commitReq{run: run, b: b, done: make(chan struct{})}
	if err := s.prepare(req); err != nil {
		return BatchResult{}, err
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return BatchResult{}, ErrClosed
	}
	if s.reqs == nil {
		s.mu.RUnlock()
		return BatchResult{}, ErrReadOnly
	}
	select {
	case s.reqs <- req:
	case <-ctx.Done():
		s.mu.RUnlock()
		return BatchResult{}, ctx.Err()
	}
	s.mu.RUnlock()
	<-req.done
	return req.res, req.err
}

// prepare hashes and compresses the bodies and heads of req's captures.
func (s *Store) prepare(req *commitReq) error {
	for _, c := range req.b.Captures {
		if c == nil {
			return fmt.Errorf("archive: commit: nil capture")
		}
		p, err := s.prepareBody(c.Body)
		if err != nil {
			return err
		}
		d, n := payloadDigest(c.ResponseHead, c.Body)
		bd := ""
		if len(c.Body) > 0 {
			bd = blockDigest(c.ResponseHead, c.Body)
		}
		h, err := s.headsFor(c)
		if err != nil {
			return err
		}
		req.heads = append(req.heads, h)
		req.bodies = append(req.bodies, p)
		req.pdigs = append(req.pdigs, d)
		req.bdigs = append(req.bdigs, bd)
		req.plens = append(req.plens, n)
	}
	return nil
}

// Group commit tuning. Every transaction writes the leaf pages its keys
// fall on, their branch pages and the meta page, and syncs twice; keys of
// a crawl (SURTs, digests, seen URLs) land on different leaves, so a
// transaction of 3 batches wrote 16 pages per batch and one of 12 wrote 9.
// Batches pile up in the channel while a commit syncs, but at 1,500 pages/s
// only about 3 arrived per transaction, and the writer goroutine was busy
// 85% of the crawl: the crawl's bottleneck. So when the last transaction
// had company (concurrent callers), the writer waits up to groupWait for
// groupEnough batches before it starts the next. A batch after a lone one
// never waits, so a sequential caller waits only once, for its first batch
// after concurrent ones. BenchmarkCrawl (1,000 articles, --per-host 8)
// went from about 1,430 to 1,720-1,800 pages/s (bench/README.md), and CPU
// per page fell by a fifth; a crawler with 32 commits in flight loses
// nothing to the wait.
const (
	groupWait   = 2 * time.Millisecond
	groupEnough = 16
)

// writer gathers pending batches and commits them together.
func (s *Store) writer() {
	defer close(s.done)
	var trim trimmer
	g := gatherer{reqs: s.reqs, wait: groupWait, enough: groupEnough}
	for {
		group := g.next()
		if group == nil {
			return
		}
		s.commitGroup(group)
		trim.trim(s)
	}
}

// gatherer collects the next group of batches from reqs (see groupWait).
type gatherer struct {
	reqs   <-chan *commitReq
	wait   time.Duration
	enough int

	timer *time.Timer
	last  int // size of the previous group
}

// next returns the next group, or nil once reqs is closed and drained.
// It takes what is already waiting; after a group of several it also
// waits, up to g.wait, for groupEnough batches in all.
func (g *gatherer) next() []*commitReq {
	req, ok := <-g.reqs
	if !ok {
		return nil
	}
	group := []*commitReq{req}
	var timeout <-chan time.Time // nil: take only what is waiting
	if g.last > 1 && g.wait > 0 {
		if g.timer == nil {
			g.timer = time.NewTimer(g.wait)
		} else {
			g.timer.Reset(g.wait)
		}
		defer g.timer.Stop()
		timeout = g.timer.C
	}
gather:
	for len(group) < maxGroup {
		if len(group) >= g.enough {
			timeout = nil
		}
		var r *commitReq
		if timeout == nil {
			select {
			case r, ok = <-g.reqs:
			default:
				break gather
			}
		} else {
			select {
			case r, ok = <-g.reqs:
			case <-timeout:
				timeout = nil
				continue
			}
		}
		if !ok {
			break
		}
		group = append(group, r)
	}
	g.last = len(group)
	return group
}

// commitGroup commits group in one transaction, or each batch alone if
// that fails, and answers every caller.
func (s *Store) commitGroup(group []*commitReq) {
	err := s.writeTx(group)
	if err != nil && len(group) > 1 {
		for _, r := range group {
			s.answer(r, s.writeTx([]*commitReq{r}))
		}
		return
	}
	for _, r := range group {
		s.answer(r, err)
	}
}

func (s *Store) answer(r *commitReq, err error) {
	if err != nil {
		r.res = BatchResult{}
		r.err = fmt.Errorf("archive: commit to %s: %w", s.path, err)
	}
	close(r.done)
}

// writeTx applies the batches in one read-write transaction. A panic from a
// damaged page becomes an error and the transaction rolls back.
func (s *Store) writeTx(group []*commitReq) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", ErrCorrupt, r)
		}
	}()
	return s.db.Update(func(tx *bolt.Tx) error {
		st := &txState{tx: tx, runs: map[uint64]*Run{}, fronts: map[uint64]*frontier{}}
		for _, r := range group {
			if err := s.apply(st, r); err != nil {
				return err
			}
		}
		return st.flush()
	})
}

// txState caches what several batches of one transaction share: decoded
// runs (written once at the end) and frontier buckets.
type txState struct {
	tx     *bolt.Tx
	runs   map[uint64]*Run
	fronts map[uint64]*frontier
}

func (st *txState) run(id uint64) (*Run, error) {
	if r, ok := st.runs[id]; ok {
		return r, nil
	}
	v := st.tx.Bucket(bucketRuns).Get(be64(id))
	if v == nil {
		return nil, fmt.Errorf("run %d: %w", id, ErrNotFound)
	}
	r := new(Run)
	if err := decode(v, r); err != nil {
		return nil, err
	}
	if r.Counts.ByStatus == nil {
		r.Counts.ByStatus = map[string]int64{}
	}
	if r.Counts.ByReason == nil {
		r.Counts.ByReason = map[string]int64{}
	}
	st.runs[id] = r
	return r, nil
}

func (st *txState) flush() error {
	b := st.tx.Bucket(bucketRuns)
	for id, r := range st.runs {
		v, err := encode(r)
		if err != nil {
			return err
		}
		if err := b.Put(be64(id), v); err != nil {
			return err
		}
	}
	return nil
}

// frontier holds one run's frontier buckets.
type frontier struct {
	seen, queue, skips, failures *bolt.Bucket
}

func (st *txState) frontier(run uint64) (*frontier, error) {
	if f, ok := st.fronts[run]; ok {
		return f, nil
	}
	rb, err := st.tx.Bucket(bucketFrontier).CreateBucketIfNotExists(be64(run))
	if err != nil {
		return nil, err
	}
	f := &frontier{}
	for _, x := range []struct {
		name []byte
		b    **bolt.Bucket
	}{{bucketSeen, &f.seen}, {bucketQueue, &f.queue}, {bucketSkips, &f.skips}, {bucketFailures, &f.failures}} {
		if *x.b, err = rb.CreateBucketIfNotExists(x.name); err != nil {
			return nil, err
		}
	}
	st.fronts[run] = f
	return f, nil
}

// apply writes one batch. It starts from scratch each time, because a
// failed group is retried batch by batch.
func (s *Store) apply(st *txState, r *commitReq) error {
	r.res = BatchResult{}
	var counts *Counts
	if r.run != 0 {
		run, err := st.run(r.run)
		if err != nil {
			return err
		}
		counts = &run.Counts
	} else {
		counts = &Counts{ByStatus: map[string]int64{}, ByReason: map[string]int64{}} // discarded
	}
	b := &r.b
	var f *frontier
	if len(b.Done)+len(b.Requeue)+len(b.Enqueue)+len(b.Skipped)+len(b.Failures) > 0 {
		var err error
		if f, err = st.frontier(r.run); err != nil {
			return err
		}
	}

	for _, it := range b.Done {
		hk := it.HostKey
		if hk == "" {
			hk = hostKeyOf(it.URL)
		}
		if err := f.queue.Delete(queueKey(hk, it.Seq)); err != nil {
			return err
		}
		if err := markSeen(f.seen, it.URL, capturedBy(b.Captures, it.URL, r.run)); err != nil {
			return err
		}
	}

	for _, it := range b.Requeue {
		if it.Seq == 0 {
			return fmt.Errorf("requeue %s: item has no Seq", it.URL)
		}
		if it.HostKey == "" {
			it.HostKey = hostKeyOf(it.URL)
		}
		v, err := encode(&it)
		if err != nil {
			return err
		}
		if err := f.queue.Put(queueKey(it.HostKey, it.Seq), v); err != nil {
			return err
		}
	}

	if len(b.Counted) > 0 && r.run != 0 {
		rb, err := st.tx.Bucket(bucketFrontier).CreateBucketIfNotExists(be64(r.run))
		if err != nil {
			return err
		}
		hp, err := rb.CreateBucketIfNotExists(bucketHostPages)
		if err != nil {
			return err
		}
		for _, hk := range b.Counted {
			var n uint64
			if v := hp.Get([]byte(hk)); len(v) == 8 {
				n = binary.BigEndian.Uint64(v)
			}
			if err := hp.Put([]byte(hk), be64(n+1)); err != nil {
				return err
			}
		}
	}

	caps := capsOf(st.tx)
	pdig := st.tx.Bucket(bucketPdig)
	for i, c := range b.Captures {
		p := &r.bodies[i]
		if _, err := putBody(st.tx, p); err != nil {
			return err
		}
		if c.Time.IsZero() {
			c.Time = s.now().UTC()
		}
		if c.Run == 0 {
			c.Run = r.run
		}
		c.BodyDigest = "sha256:" + hex.EncodeToString(p.sum[:])
		c.BodyLen = p.rawLen
		c.PayloadDigest = r.pdigs[i]
		c.BlockDigest = r.bdigs[i]
		c.RevisitOf = nil

		sk := surt(c.URL)
		nanos := c.Time.UnixNano()
		key := captureKey(sk, nanos)
		for caps.Get(key) != nil {
			nanos++
			key = captureKey(sk, nanos)
		}
		c.Key = key

		// Truncated payloads are not complete copies of anything: they
		// neither refer to nor stand for an earlier capture.
		if r.plens[i] > 0 && c.Truncated == "" {
			if first := pdig.Get([]byte(c.PayloadDigest)); first != nil {
				c.RevisitOf = clone(first)
				counts.Revisits++
			} else if err := pdig.Put([]byte(c.PayloadDigest), key); err != nil {
				return err
			}
		}
		if c.WARCRecordID != "" {
			if err := putImported(st.tx, c, key); err != nil {
				return err
			}
		}
		v, err := encodeCapture(c, r.heads[i])
		if err != nil {
			return err
		}
		if err := caps.Put(key, v); err != nil {
			return fmt.Errorf("put capture %s: %w", c.URL, err)
		}
		counts.Captures++
		counts.Bytes += int64(len(c.ResponseHead) + len(c.Body))
		counts.ByStatus[strconv.Itoa(c.Status)]++
		counts.ByReason[string(c.Reason)]++
	}

	now := s.now().UTC()
	for _, it := range b.Enqueue {
		uk := urlKey(it.URL)
		if f.seen.Get(uk) != nil {
			continue
		}
		if it.HostKey == "" {
			it.HostKey = hostKeyOf(it.URL)
		}
		seq, err := f.queue.NextSequence()
		if err != nil {
			return err
		}
		it.Seq = seq
		v, err := encode(&it)
		if err != nil {
			return err
		}
		if err := f.queue.Put(queueKey(it.HostKey, seq), v); err != nil {
			return err
		}
		sv, err := encode(&seenRecord{State: stateQueued, Reason: it.Reason, Parent: it.Parent,
			Anchor: it.Anchor, Hops: it.Hops, Seq: seq, Time: now.UnixNano()})
		if err != nil {
			return err
		}
		if err := f.seen.Put(uk, sv); err != nil {
			return err
		}
		counts.Queued++
		r.res.Queued = append(r.res.Queued, it)
	}

	for _, sk := range b.Skipped {
		uk := urlKey(sk.URL)
		if f.skips.Get(uk) != nil {
			continue
		}
		v, err := encode(&skipRecord{Skip: sk, Time: now})
		if err != nil {
			return err
		}
		if err := f.skips.Put(uk, v); err != nil {
			return err
		}
		counts.Skipped++
	}

	for _, fl := range b.Failures {
		if fl.Time.IsZero() {
			fl.Time = now
		}
		uk := urlKey(fl.URL)
		fresh := f.failures.Get(uk) == nil
		v, err := encode(&fl)
		if err != nil {
			return err
		}
		if err := f.failures.Put(uk, v); err != nil {
			return err
		}
		if fresh {
			counts.Failed++
			counts.ByStatus["failed"]++
		}
	}

	rb := st.tx.Bucket(bucketRobots)
	for _, re := range b.Robots {
		k := urlKey(re.HostKey)
		if old := rb.Get(k); old != nil {
			var prev RobotsEntry
			if err := decode(old, &prev); err == nil && prev.Fetched.After(re.Fetched) {
				continue
			}
		}
		v, err := encode(&re)
		if err != nil {
			return err
		}
		if err := rb.Put(k, v); err != nil {
			return err
		}
	}
	return nil
}

// markSeen marks a URL's seen record, if it has one, done: as
// seenCaptured when c, its capture in this commit, repeats the record.
func markSeen(seen *bolt.Bucket, u string, c *Capture) error {
	uk := urlKey(u)
	v := seen.Get(uk)
	if v == nil || bytes.Equal(v, seenCaptured) {
		return nil
	}
	var rec seenRecord
	if err := decode(v, &rec); err != nil {
		return err
	}
	if c != nil && repeats(c, &rec) {
		return seen.Put(uk, seenCaptured)
	}
	if rec.State == stateDone {
		return nil
	}
	rec.State = stateDone
	nv, err := encode(&rec)
	if err != nil {
		return err
	}
	return seen.Put(uk, nv)
}

// skipRecord is the value in a run's skips bucket.
type skipRecord struct {
	Skip
	Time time.Time
}

// capturedBy returns the capture of u in caps made in run (or not yet
// given a run), or nil.
func capturedBy(caps []*Capture, u string, run uint64) *Capture {
	for _, c := range caps {
		if c.URL == u && (c.Run == 0 || c.Run == run) {
			return c
		}
	}
	return nil
}
