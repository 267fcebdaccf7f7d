// Package pct holds the byte-level pieces of percent-encoding (RFC 3986)
// that the crawler's URL canonicaliser, the replay server's lookups and
// the WARC package's SURT keys share, so that all three read an escape the
// same way.
package pct

// Unhex returns the value of the hex digit c, and false if c is not one.
func Unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// IsUnreserved reports whether c is an RFC 3986 unreserved character,
// which means the same encoded or not and so is always decoded.
func IsUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}
