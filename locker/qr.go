package locker

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// A QR token is the recipient's second way to open a compartment, beside
// the opening code: a short statement signed by the centre (Ed25519) that
// the parcel ShipmentID waits in compartment Compartment of locker
// LocationID between NotBefore and NotAfter. The locker's scanner checks
// it with the centre's public key alone, offline if need be, and no keypad
// lockout applies to it: an attacker typing wrong codes cannot keep a
// recipient who has the notice of arrival from the parcel
// (docs/security.md). A token cannot be guessed or forged without the
// centre's private key, so a bad token counts towards no lockout.
//
// The token, base64url without padding, is
//
//	payload ‖ signature(64 bytes)
//	payload = version(1 byte, QRVersion) ‖ uvarint(Compartment) ‖
//	          uvarint(NotBefore, unix s) ‖ uvarint(NotAfter − NotBefore, s) ‖
//	          uvarint(len LocationID) ‖ LocationID ‖ uvarint(len ShipmentID) ‖ ShipmentID
//
// and the signature is Ed25519 over qrContext ‖ payload. Ed25519 is
// deterministic: the same claims under the same key give the same token,
// so a token need not be stored, only made again.

// QRVersion is the version byte that begins every token of this format.
const QRVersion = 1

// qrContext separates the tokens' signatures from anything else the key
// might sign.
const qrContext = "lokero/qr/v1\x00"

// Bounds of a token's parts: a location or shipment ID longer than
// maxQRID, or a token longer than MaxQRTokenLen characters, is refused
// unread.
const (
	maxQRID = 64
	// MaxQRTokenLen bounds an encoded token: the longest payload with
	// both IDs at maxQRID and the signature fits well within it.
	MaxQRTokenLen = 512
	// MaxQRCompartment is the highest compartment a token names.
	MaxQRCompartment = 1<<16 - 1
)

// QRClaims are what a QR token says.
type QRClaims struct {
	LocationID  string
	ShipmentID  string
	Compartment int
	NotBefore   time.Time // unix seconds; the token opens from this instant…
	NotAfter    time.Time // …until just before this one
}

// The errors of VerifyQR, each distinct, so that a scanner can say why
// (and a test can tell them apart). Wrapped with detail: test with
// errors.Is.
var (
	// ErrQRMalformed: not a token of this format at all (bad base64, an
	// unknown version, truncated or trailing bytes, an absurd field).
	ErrQRMalformed = errors.New("qr token malformed")
	// ErrQRSignature: well-formed, but not signed by the key given.
	ErrQRSignature = errors.New("qr token signature invalid")
	// ErrQRWrongLocker: genuine, for another locker.
	ErrQRWrongLocker = errors.New("qr token is for another locker")
	// ErrQRNotYetValid: genuine, before its window.
	ErrQRNotYetValid = errors.New("qr token not valid yet")
	// ErrQRExpired: genuine, after its window.
	ErrQRExpired = errors.New("qr token expired")
)

// SignQR returns the token of c under key. Times are taken in whole unix
// seconds (NotBefore rounded down, NotAfter up), so that the window never
// shrinks. It panics on claims no token can carry (an ID empty or longer
// than 64 bytes, a compartment outside 1..MaxQRCompartment, a window that is empty or before
// 1970): the caller makes them, and such a token would be a bug.
func SignQR(key ed25519.PrivateKey, c QRClaims) string {
	payload, err := encodeQR(c)
	if err != nil {
		panic(err)
	}
	sig := ed25519.Sign(key, append([]byte(qrContext), payload...))
	return base64.RawURLEncoding.EncodeToString(append(payload, sig...))
}

// encodeQR is the payload of c.
func encodeQR(c QRClaims) ([]byte, error) {
	nbf := c.NotBefore.Unix()
	naf := c.NotAfter.Unix()
	if c.NotAfter.Nanosecond() > 0 {
		naf++ // round up
	}
	switch {
	case !qrID(c.LocationID):
		return nil, fmt.Errorf("qr token: location ID %q: want 1..%d bytes of printable ASCII", c.LocationID, maxQRID)
	case !qrID(c.ShipmentID):
		return nil, fmt.Errorf("qr token: shipment ID %q: want 1..%d bytes of printable ASCII", c.ShipmentID, maxQRID)
	case c.Compartment < 1 || c.Compartment > MaxQRCompartment:
		return nil, fmt.Errorf("qr token: compartment %d: want 1..%d", c.Compartment, MaxQRCompartment)
	case nbf < 0 || nbf >= 1<<40 || naf <= nbf || naf-nbf >= 1<<32:
		return nil, fmt.Errorf("qr token: window %s..%s: want a non-empty window after 1970", c.NotBefore, c.NotAfter)
	}
	b := make([]byte, 0, 1+3*binary.MaxVarintLen64+2+len(c.LocationID)+len(c.ShipmentID))
	b = append(b, QRVersion)
	b = binary.AppendUvarint(b, uint64(c.Compartment))
	b = binary.AppendUvarint(b, uint64(nbf))
	b = binary.AppendUvarint(b, uint64(naf-nbf))
	b = binary.AppendUvarint(b, uint64(len(c.LocationID)))
	b = append(b, c.LocationID...)
	b = binary.AppendUvarint(b, uint64(len(c.ShipmentID)))
	b = append(b, c.ShipmentID...)
	return b, nil
}

// ParseQR reads a token's claims without checking its signature: for
// display and logs only, never to open a door.
func ParseQR(token string) (QRClaims, error) {
	c, _, _, err := parseQR(token)
	return c, err
}

// parseQR decodes a token into its claims, its payload and its signature.
func parseQR(token string) (QRClaims, []byte, []byte, error) {
	if len(token) > MaxQRTokenLen {
		return QRClaims{}, nil, nil, fmt.Errorf("%w: %d characters, at most %d", ErrQRMalformed, len(token), MaxQRTokenLen)
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil {
		return QRClaims{}, nil, nil, fmt.Errorf("%w: not base64url: %v", ErrQRMalformed, err)
	}
	if len(raw) < 1+ed25519.SignatureSize {
		return QRClaims{}, nil, nil, fmt.Errorf("%w: %d bytes, too short", ErrQRMalformed, len(raw))
	}
	payload, sig := raw[:len(raw)-ed25519.SignatureSize], raw[len(raw)-ed25519.SignatureSize:]
	if payload[0] != QRVersion {
		return QRClaims{}, nil, nil, fmt.Errorf("%w: version %d, want %d", ErrQRMalformed, payload[0], QRVersion)
	}
	r := qrReader{b: payload[1:]}
	compartment := r.uvarint(MaxQRCompartment + 1)
	nbf := r.uvarint(1 << 40)
	span := r.uvarint(1 << 32)
	loc := r.text()
	ship := r.text()
	switch {
	case r.err != nil:
		return QRClaims{}, nil, nil, fmt.Errorf("%w: %v", ErrQRMalformed, r.err)
	case len(r.b) > 0:
		return QRClaims{}, nil, nil, fmt.Errorf("%w: %d bytes after the claims", ErrQRMalformed, len(r.b))
	case compartment < 1 || span < 1 || loc == "" || ship == "":
		return QRClaims{}, nil, nil, fmt.Errorf("%w: empty claims", ErrQRMalformed)
	}
	c := QRClaims{LocationID: loc, ShipmentID: ship, Compartment: int(compartment),
		NotBefore: time.Unix(int64(nbf), 0).UTC(), NotAfter: time.Unix(int64(nbf+span), 0).UTC()}
	return c, payload, sig, nil
}

// VerifyQR checks a token at the locker locationID at now, against the
// centre's public key, and returns its claims. The errors, in the order
// checked: ErrQRMalformed, ErrQRSignature, ErrQRWrongLocker,
// ErrQRNotYetValid, ErrQRExpired (each wrapped). It never panics,
// whatever the token (a nil or wrong-sized key is ErrQRSignature). The
// caller still checks that the parcel is the one in that compartment and
// ready: a token proves what the centre said, not that nothing has
// happened since.
func VerifyQR(pub ed25519.PublicKey, token string, locationID string, now time.Time) (QRClaims, error) {
	c, payload, sig, err := parseQR(token)
	if err != nil {
		return QRClaims{}, err
	}
	if len(pub) != ed25519.PublicKeySize ||
		!ed25519.Verify(pub, append([]byte(qrContext), payload...), sig) {
		return QRClaims{}, ErrQRSignature
	}
	switch {
	case c.LocationID != locationID:
		return c, fmt.Errorf("%w: %s, not %s", ErrQRWrongLocker, c.LocationID, locationID)
	case now.Before(c.NotBefore):
		return c, fmt.Errorf("%w: from %s", ErrQRNotYetValid, c.NotBefore.Format(time.RFC3339))
	case !now.Before(c.NotAfter):
		return c, fmt.Errorf("%w: at %s", ErrQRExpired, c.NotAfter.Format(time.RFC3339))
	}
	return c, nil
}

// qrReader reads a payload's fields, remembering the first error.
type qrReader struct {
	b   []byte
	err error
}

// uvarint reads an unsigned varint below limit.
func (r *qrReader) uvarint(limit uint64) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errors.New("truncated number")
		return 0
	}
	if v >= limit {
		r.err = fmt.Errorf("number %d out of range", v)
		return 0
	}
	r.b = r.b[n:]
	return v
}

// text reads a length-prefixed ID of printable ASCII.
func (r *qrReader) text() string {
	n := r.uvarint(maxQRID + 1)
	if r.err != nil {
		return ""
	}
	if uint64(len(r.b)) < n {
		r.err = errors.New("truncated ID")
		return ""
	}
	s := string(r.b[:n])
	if n > 0 && !qrID(s) {
		r.err = errors.New("an ID with a character that is not printable ASCII")
		return ""
	}
	r.b = r.b[n:]
	return s
}

// qrID reports whether s can be an ID in a token: 1..maxQRID bytes of
// printable ASCII, no space.
func qrID(s string) bool {
	if s == "" || len(s) > maxQRID {
		return false
	}
	for i := range len(s) {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
