package locker

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"io"

	"github.com/lokero/lokero"
)

// tagDerive separates the stream that derives codes from the keyed hash.
const tagDerive = "lokero/opening-code/v1/derive"

// MaxVersion is the highest version Derive and Version go to under one
// key: a parcel's code can be replaced this many times (uniqueness retries
// included). Under the key of generation g the versions are
// g*(MaxVersion+1) .. g*(MaxVersion+1)+MaxVersion (see Codes).
const MaxVersion = 63

// Derive returns version v (Codes.FirstVersion() for a new parcel) of the
// opening code of a parcel at a locker, and its hash under the key that
// made it. The code is computed from the server secret, so that the notice
// of arrival can be sent again with the same code while only its hash is
// stored; rotating the code takes the next version. Its digits are uniform
// as New's: the stream under them is HMAC-SHA256 in counter mode,
// indistinguishable from random without the secret (and whoever has the
// secret can test every code against a stored hash anyway). A version of a
// key the ring does not hold is an EINVALID *lokero.Error.
func (c *Codes) Derive(locationID, shipmentID string, v, n int) (code string, hash []byte, err error) {
	if v < 0 {
		return "", nil, lokero.Invalid("version", "out_of_range", "a code's version is not negative; got %d", v)
	}
	gen, local := v/(MaxVersion+1), v%(MaxVersion+1)
	for _, k := range c.keys {
		if k.Generation == gen {
			return derive(k.Secret, locationID, shipmentID, local, n)
		}
	}
	return "", nil, lokero.Invalid("version", "unknown_key", "version %d of a code was made under the key of generation %d, which the opening-code secret no longer holds", v, gen)
}

// derive is Derive under one key: local version v.
func derive(secret []byte, locationID, shipmentID string, v, n int) (string, []byte, error) {
	var label []byte
	var num [binary.MaxVarintLen64]byte
	for _, part := range []string{tagDerive, locationID, shipmentID} {
		label = append(label, num[:binary.PutUvarint(num[:], uint64(len(part)))]...)
		label = append(label, part...)
	}
	label = binary.BigEndian.AppendUint64(label, uint64(v))
	code, err := newDigits(&stream{key: secret, label: label}, n)
	if err != nil {
		return "", nil, err
	}
	return code, hashCode(secret, locationID, code), nil
}

// Version finds which version of a parcel's derived code hashes to hash,
// under any key of the ring (the newest first), and that code; ok is false
// when none does.
func (c *Codes) Version(locationID, shipmentID string, n int, hash []byte) (v int, code string, ok bool) {
	for _, k := range c.keys {
		for local := 0; local <= MaxVersion; local++ {
			code, h, err := derive(k.Secret, locationID, shipmentID, local, n)
			if err != nil {
				return 0, "", false
			}
			if hmac.Equal(h, hash) {
				return k.Generation*(MaxVersion+1) + local, code, true
			}
		}
	}
	return 0, "", false
}

// stream is HMAC-SHA256(key, label || counter) for counter 0, 1, ...
type stream struct {
	key     []byte
	label   []byte
	counter uint64
	buf     []byte
}

func (s *stream) Read(p []byte) (int, error) {
	for n := 0; n < len(p); {
		if len(s.buf) == 0 {
			m := hmac.New(sha256.New, s.key)
			m.Write(s.label)
			m.Write(binary.BigEndian.AppendUint64(nil, s.counter))
			s.buf = m.Sum(nil)
			s.counter++
		}
		k := copy(p[n:], s.buf)
		s.buf, n = s.buf[k:], n+k
	}
	return len(p), nil
}

var _ io.Reader = (*stream)(nil)
