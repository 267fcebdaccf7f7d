package archive

import (
	"encoding/json"
	"fmt"
)

// valueVersion is the first byte of every JSON value in the store, so that
// the encoding can change (to a compact binary, say) without a new file.
const valueVersion = 1

// encode returns valueVersion followed by the JSON of v.
func encode(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("archive: encode %T: %w", v, err)
	}
	return append([]byte{valueVersion}, b...), nil
}

// decode reads a value written by encode. It copies as it parses, so it is
// safe on bytes owned by a transaction.
func decode(b []byte, v any) error {
	if len(b) == 0 || b[0] != valueVersion {
		return fmt.Errorf("archive: decode %T: %w: unknown value version", v, ErrCorrupt)
	}
	if err := json.Unmarshal(b[1:], v); err != nil {
		return fmt.Errorf("archive: decode %T: %w: %v", v, ErrCorrupt, err)
	}
	return nil
}

// encodeCapture stores the metadata of c: the body lives in the bodies
// bucket and the key is the record's own key.
func encodeCapture(c *Capture) ([]byte, error) {
	m := *c
	m.Body, m.Key = nil, nil
	return encode(&m)
}

// decodeCapture reads a capture record stored under key.
func decodeCapture(key, v []byte) (*Capture, error) {
	c := new(Capture)
	if err := decode(v, c); err != nil {
		return nil, err
	}
	c.Key = clone(key)
	return c, nil
}

// Seen states: what happened to a URL once it was queued in a run.
const (
	stateQueued = "queued"
	stateDone   = "done"
)

// seenRecord is the value in a run's seen bucket.
type seenRecord struct {
	State  string
	Reason Reason
	Parent string `json:",omitempty"`
	Anchor string `json:",omitempty"`
	Hops   string `json:",omitempty"`
	Seq    uint64
	Time   int64 // unix nanoseconds when queued
}
