package archive

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
)

// TestPerfBodyLevels compares zstd levels on the bodies of a real store
// (AMBER_PERF_DB=path go test -run PerfBodyLevels -v ./archive): stored
// size and compression time of each level.
func TestPerfBodyLevels(t *testing.T) {
	path := os.Getenv("AMBER_PERF_DB")
	if path == "" {
		t.Skip("set AMBER_PERF_DB to a store")
	}
	s, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var bodies [][]byte
	var raw int
	seen := map[string]bool{}
	err = s.Captures(context.Background(), "", func(c *Capture) error {
		if seen[c.BodyDigest] || c.BodyLen == 0 {
			return nil
		}
		seen[c.BodyDigest] = true
		b, err := s.Body(context.Background(), c)
		if err != nil {
			return err
		}
		bodies = append(bodies, b)
		raw += len(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, lvl := range []zstd.EncoderLevel{zstd.SpeedFastest, zstd.SpeedDefault, zstd.SpeedBetterCompression} {
		enc, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(lvl))
		var best time.Duration
		var size int
		for range 5 {
			size = 0
			start := time.Now()
			for _, b := range bodies {
				size += len(enc.EncodeAll(b, make([]byte, 0, len(b)/2)))
			}
			if d := time.Since(start); best == 0 || d < best {
				best = d
			}
		}
		dec, _ := zstd.NewReader(nil)
		var z [][]byte
		for _, b := range bodies {
			z = append(z, enc.EncodeAll(b, nil))
		}
		start := time.Now()
		for _, c := range z {
			if _, err := dec.DecodeAll(c, nil); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("%-22s %d bodies, %d B raw -> %d B (%.1f%%), compress %.0f MB/s (%.1f µs/body), decompress %.1f µs/body",
			lvl, len(bodies), raw, size, 100*float64(size)/float64(raw), float64(raw)/best.Seconds()/1e6,
			float64(best.Microseconds())/float64(len(bodies)), float64(time.Since(start).Microseconds())/float64(len(bodies)))
		enc.Close()
		dec.Close()
	}
}
