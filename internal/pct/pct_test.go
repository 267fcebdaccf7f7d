package pct

import (
	"strconv"
	"testing"
)

func TestUnhex(t *testing.T) {
	for c := 0; c < 256; c++ {
		v, ok := Unhex(byte(c))
		want, err := strconv.ParseUint(string(rune(c)), 16, 8)
		if ok != (err == nil) || (ok && uint64(v) != want) {
			t.Errorf("Unhex(%q) = %d, %v; want %d, %v", rune(c), v, ok, want, err == nil)
		}
	}
}

func TestIsUnreserved(t *testing.T) {
	n := 0
	for c := 0; c < 256; c++ {
		if IsUnreserved(byte(c)) {
			n++
		}
	}
	// ALPHA (52) + DIGIT (10) + "-._~" (4).
	if n != 66 || !IsUnreserved('~') || IsUnreserved('%') || IsUnreserved('/') {
		t.Errorf("IsUnreserved accepts %d bytes, want the 66 of RFC 3986", n)
	}
}
