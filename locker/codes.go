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
// The secret is a keyring (NewKeyring): one or more keys, each with a
// generation number, the newest first. New codes, and the hash Hash
// returns, use the newest key; a code made under an older key still
// matches (Hashes, Match) and its derived code can still be told again
// (Derive, Version), so that rotating the secret keeps every waiting
// parcel's code working. A derived code's version says which key made it:
// version v is made under the key of generation v / (MaxVersion+1)
// (generation 0, the only key of NewCodes, has versions 0..MaxVersion, as
// before keyrings).
//
// A *Codes is safe for concurrent use; it never changes after NewCodes.
// Printing it does not print the secret.
type Codes struct {
	keys []Key // newest (highest generation) first
}

// Key is one key of the opening-code secret's keyring.
type Key struct {
	// Generation numbers the keys: 0 for the first secret, one more at
	// each rotation.
	Generation int
	// Secret is the key, at least MinSecretLength bytes.
	Secret []byte
}

// MaxGeneration is the highest key generation a keyring may hold.
const MaxGeneration = 1 << 20

// NewCodes returns a Codes keyed with secret, which must be at least
// MinSecretLength (32) bytes, else it returns an EINVALID *lokero.Error. The
// secret is copied. It is a keyring of one key, generation 0.
func NewCodes(secret []byte) (*Codes, error) {
	return NewKeyring(Key{Generation: 0, Secret: secret})
}

// NewKeyring returns a Codes keyed with keys, the newest first: each at
// least MinSecretLength bytes, generations 0..MaxGeneration, strictly
// falling; else it returns an EINVALID *lokero.Error. The secrets are
// copied.
func NewKeyring(keys ...Key) (*Codes, error) {
	if len(keys) == 0 {
		return nil, lokero.Invalid("secret", "missing", "the opening-code secret needs at least one key")
	}
	c := &Codes{keys: make([]Key, len(keys))}
	for i, k := range keys {
		if len(k.Secret) < MinSecretLength {
			return nil, lokero.Invalid("secret", "too_short", "the opening-code secret must be at least %d bytes; got %d", MinSecretLength, len(k.Secret))
		}
		if k.Generation < 0 || k.Generation > MaxGeneration {
			return nil, lokero.Invalid("secret", "out_of_range", "a key's generation is 0..%d; got %d", MaxGeneration, k.Generation)
		}
		if i > 0 && k.Generation >= keys[i-1].Generation {
			return nil, lokero.Invalid("secret", "out_of_order", "the keys of the opening-code secret go newest first, each of a lower generation than the one before; got generation %d after %d", k.Generation, keys[i-1].Generation)
		}
		c.keys[i] = Key{Generation: k.Generation, Secret: append([]byte(nil), k.Secret...)}
	}
	return c, nil
}

// Generations returns the keyring's generations, newest first.
func (c *Codes) Generations() []int {
	out := make([]int, len(c.keys))
	for i, k := range c.keys {
		out[i] = k.Generation
	}
	return out
}

// FirstVersion is the first version of a derived code under the newest
// key: a new parcel's code is version FirstVersion() (or a later one up to
// FirstVersion()+MaxVersion, for uniqueness or a rotated code).
func (c *Codes) FirstVersion() int { return c.keys[0].Generation * (MaxVersion + 1) }

// tagFingerprint labels the fingerprint of a key.
const tagFingerprint = "lokero/code-secret-fingerprint/v1"

// Fingerprints identify the keys, newest first, as "GENERATION:HEX" with
// HEX the HMAC-SHA256 of a fixed label under the key: a database keeps
// them to tell that it is served with the secret its codes were made
// with. They do not reveal the keys.
func (c *Codes) Fingerprints() []string {
	out := make([]string, len(c.keys))
	for i, k := range c.keys {
		m := hmac.New(sha256.New, k.Secret)
		io.WriteString(m, tagFingerprint)
		out[i] = fmt.Sprintf("%d:%x", k.Generation, m.Sum(nil))
	}
	return out
}

// String describes c without its secret, so that logging a Codes leaks
// nothing.
func (c *Codes) String() string {
	return fmt.Sprintf("locker.Codes{generations: %v, secret: redacted}", c.Generations())
}

// GoString is String, for %#v.
func (c *Codes) GoString() string { return c.String() }

// New returns a new code of n digits (n >= 6) read from r (crypto/rand.Reader
// in production), uniform (rejection sampling), and its hash at locationID.
// It returns an EINVALID *lokero.Error for n outside
// MinCodeLength..MaxCodeLength and a wrapped error when r fails.
func (c *Codes) New(r io.Reader, locationID string, n int) (code string, hash []byte, err error) {
	code, err = newDigits(r, n)
	if err != nil {
		return "", nil, err
	}
	return code, c.Hash(locationID, code), nil
}

// newDigits reads a uniform code of n digits from r.
func newDigits(r io.Reader, n int) (string, error) {
	if n < MinCodeLength || n > MaxCodeLength {
		return "", lokero.Invalid("length", "out_of_range", "an opening code has %d..%d digits; got %d", MinCodeLength, MaxCodeLength, n)
	}
	digits := make([]byte, 0, n)
	var buf [MaxCodeLength]byte
	for len(digits) < n {
		// Read as many bytes as digits are still missing: never more
		// randomness than the code can use.
		chunk := buf[:n-len(digits)]
		if _, err := io.ReadFull(r, chunk); err != nil {
			return "", fmt.Errorf("locker: read random bytes for an opening code: %w", err)
		}
		for _, b := range chunk {
			// 250 is the largest multiple of 10 ≤ 256: bytes 250..255
			// would make 0..5 more likely than 6..9, so they are skipped.
			if b < 250 {
				digits = append(digits, '0'+b%10)
			}
		}
	}
	return string(digits), nil
}

// Hash returns the keyed hash of a code entered at a location under the
// newest key (normalise: strip spaces; non-digits give a hash that matches
// nothing — do not error). Only the ASCII digits 0-9 are digits; any
// Unicode white space is stripped. The hash is 32 bytes; the same code at
// the same location always gives the same hash, so the caller can look a
// code up by its hash. A code made under an older key of the ring has
// another hash: look a code up by every one of Hashes.
func (c *Codes) Hash(locationID, code string) []byte {
	return hashCode(c.keys[0].Secret, locationID, code)
}

// Hashes returns the hash of a code entered at a location under every key
// of the ring, newest first: the code is a parcel's if its stored hash is
// any of them.
func (c *Codes) Hashes(locationID, code string) [][]byte {
	out := make([][]byte, len(c.keys))
	for i, k := range c.keys {
		out[i] = hashCode(k.Secret, locationID, code)
	}
	return out
}

// hashCode is Hash under one key.
func hashCode(secret []byte, locationID, code string) []byte {
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
	m := hmac.New(sha256.New, secret)
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

// Match reports, in constant time for each key, whether code entered at
// locationID has the stored hash under any key of the ring.
func (c *Codes) Match(locationID, code string, hash []byte) bool {
	match := false
	for _, h := range c.Hashes(locationID, code) {
		if hmac.Equal(h, hash) {
			match = true
		}
	}
	return match
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

// tagSubKey labels a key derived from the secret for another purpose.
const tagSubKey = "lokero/sub-key/v1/"

// SubKey derives a key for purpose (a web session's signature, say) from
// the newest key: every instance served with one secret derives the same
// key, and a key for one purpose tells nothing of the secret or of another
// purpose's key. Rotating the secret changes it.
func (c *Codes) SubKey(purpose string) []byte {
	m := hmac.New(sha256.New, c.keys[0].Secret)
	io.WriteString(m, tagSubKey+purpose)
	return m.Sum(nil)
}
