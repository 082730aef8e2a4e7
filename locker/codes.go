package locker

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/lokero/lokero"
)

// Code length limits for Codes.New.
const (
	// MinCodeLength is the shortest opening code New makes.
	MinCodeLength = 6
	// MaxCodeLength is the longest opening code New makes.
	MaxCodeLength = 32
	// MinSecretLength is the shortest server secret NewCodes takes, in bytes.
	MinSecretLength = 32
)

// Domain-separation tags of the keyed hash: a well-formed code and anything
// else hash under different tags, so a malformed entry can match no code.
const (
	tagCode    = "lokero/opening-code/v1"
	tagInvalid = "lokero/opening-code/v1/invalid"
)

// Codes makes and checks opening codes. Codes are random digits from a
// CSPRNG, stored only as a keyed hash (HMAC-SHA256 with a server secret,
// over the location id and the code, so that the same code at two lockers
// hashes differently and a leaked database alone does not reveal codes).
//
// A *Codes is safe for concurrent use; it never changes after NewCodes.
// Printing it does not print the secret.
type Codes struct {
	secret []byte
}

// NewCodes returns a Codes keyed with secret, which must be at least
// MinSecretLength (32) bytes, else it returns an EINVALID *lokero.Error. The
// secret is copied.
func NewCodes(secret []byte) (*Codes, error) {
	if len(secret) < MinSecretLength {
		return nil, lokero.Invalid("secret", "too_short", "the opening-code secret must be at least %d bytes; got %d", MinSecretLength, len(secret))
	}
	return &Codes{secret: append([]byte(nil), secret...)}, nil
}

// String describes c without its secret, so that logging a Codes leaks
// nothing.
func (c *Codes) String() string { return "locker.Codes{secret: redacted}" }

// GoString is String, for %#v.
func (c *Codes) GoString() string { return c.String() }

// New returns a new code of n digits (n >= 6) read from r (crypto/rand.Reader
// in production), uniform (rejection sampling), and its hash at locationID.
// It returns an EINVALID *lokero.Error for n outside
// MinCodeLength..MaxCodeLength and a wrapped error when r fails.
func (c *Codes) New(r io.Reader, locationID string, n int) (code string, hash []byte, err error) {
	if n < MinCodeLength || n > MaxCodeLength {
		return "", nil, lokero.Invalid("length", "out_of_range", "an opening code has %d..%d digits; got %d", MinCodeLength, MaxCodeLength, n)
	}
	digits := make([]byte, 0, n)
	var buf [MaxCodeLength]byte
	for len(digits) < n {
		// Read as many bytes as digits are still missing: never more
		// randomness than the code can use.
		chunk := buf[:n-len(digits)]
		if _, err := io.ReadFull(r, chunk); err != nil {
			return "", nil, fmt.Errorf("locker: read random bytes for an opening code: %w", err)
		}
		for _, b := range chunk {
			// 250 is the largest multiple of 10 ≤ 256: bytes 250..255
			// would make 0..5 more likely than 6..9, so they are skipped.
			if b < 250 {
				digits = append(digits, '0'+b%10)
			}
		}
	}
	code = string(digits)
	return code, c.Hash(locationID, code), nil
}

// Hash returns the keyed hash of a code entered at a location (normalise:
// strip spaces; non-digits give a hash that matches nothing — do not error).
// Only the ASCII digits 0-9 are digits; any Unicode white space is stripped.
// The hash is 32 bytes; the same code at the same location always gives the
// same hash, so the caller can look a code up by its hash.
func (c *Codes) Hash(locationID, code string) []byte {
	code = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, code)
	tag := tagCode
	if !isDigits(code) {
		tag = tagInvalid
	}
	m := hmac.New(sha256.New, c.secret)
	// Length-prefix the variable parts so that no two (tag, location,
	// code) triples share an encoding: ("A1", "23") ≠ ("A", "123").
	var n [binary.MaxVarintLen64]byte
	for _, part := range []string{tag, locationID} {
		m.Write(n[:binary.PutUvarint(n[:], uint64(len(part)))])
		io.WriteString(m, part)
	}
	io.WriteString(m, code)
	return m.Sum(nil)
}

// Match reports, in constant time, whether code entered at locationID has
// the stored hash.
func (c *Codes) Match(locationID, code string, hash []byte) bool {
	return hmac.Equal(c.Hash(locationID, code), hash)
}

// isDigits reports whether s is non-empty and only ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
