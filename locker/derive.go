package locker

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"io"
)

// tagDerive separates the stream that derives codes from the keyed hash.
const tagDerive = "lokero/opening-code/v1/derive"

// MaxVersion is the highest version Derive and Version go to: a parcel's
// code can be replaced this many times (uniqueness retries included).
const MaxVersion = 63

// Derive returns version v (0 first) of the opening code of a parcel at a
// locker, and its hash. The code is computed from the server secret, so
// that the notice of arrival can be sent again with the same code while
// only its hash is stored; rotating the code takes the next version. Its
// digits are uniform as New's: the stream under them is HMAC-SHA256 in
// counter mode, indistinguishable from random without the secret (and
// whoever has the secret can test every code against a stored hash
// anyway).
func (c *Codes) Derive(locationID, shipmentID string, v, n int) (code string, hash []byte, err error) {
	var label []byte
	var num [binary.MaxVarintLen64]byte
	for _, part := range []string{tagDerive, locationID, shipmentID} {
		label = append(label, num[:binary.PutUvarint(num[:], uint64(len(part)))]...)
		label = append(label, part...)
	}
	label = binary.BigEndian.AppendUint64(label, uint64(v))
	return c.New(&stream{key: c.secret, label: label}, locationID, n)
}

// Version finds which version of a parcel's derived code hashes to hash,
// and that code; ok is false when none up to MaxVersion does.
func (c *Codes) Version(locationID, shipmentID string, n int, hash []byte) (v int, code string, ok bool) {
	for v := 0; v <= MaxVersion; v++ {
		code, h, err := c.Derive(locationID, shipmentID, v, n)
		if err != nil {
			return 0, "", false
		}
		if hmac.Equal(h, hash) {
			return v, code, true
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
