package locker_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lokero/lokero/locker"
)

// qrKey is a fixed key pair for the tests (seed of one byte value).
func qrKey(t testing.TB, b byte) (ed25519.PrivateKey, ed25519.PublicKey) {
	t.Helper()
	k := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, ed25519.SeedSize))
	return k, k.Public().(ed25519.PublicKey)
}

func qrClaims() locker.QRClaims {
	nbf := time.Date(2026, 12, 7, 9, 30, 0, 0, time.UTC)
	return locker.QRClaims{LocationID: "SP-00100-1", ShipmentID: "shp_01JF2Q7X8Y9Z0A1B2C3D4E5F6G", Compartment: 17,
		NotBefore: nbf, NotAfter: nbf.Add(7*24*time.Hour + 12*time.Hour)}
}

func TestQRRoundTrip(t *testing.T) {
	t.Parallel()
	key, pub := qrKey(t, 1)
	c := qrClaims()
	tok := locker.SignQR(key, c)
	if tok != locker.SignQR(key, c) {
		t.Error("SignQR is not deterministic: the same claims gave two tokens")
	}
	if strings.ContainsAny(tok, "=+/ ") || len(tok) > 200 {
		t.Errorf("token %q (%d characters): want base64url without padding, short", tok, len(tok))
	}
	got, err := locker.VerifyQR(pub, tok, c.LocationID, c.NotBefore.Add(time.Hour))
	if err != nil {
		t.Fatalf("VerifyQR: %v", err)
	}
	if got.LocationID != c.LocationID || got.ShipmentID != c.ShipmentID || got.Compartment != c.Compartment ||
		!got.NotBefore.Equal(c.NotBefore) || !got.NotAfter.Equal(c.NotAfter) {
		t.Errorf("claims %+v, want %+v", got, c)
	}
	if parsed, err := locker.ParseQR(tok); err != nil || parsed.ShipmentID != c.ShipmentID {
		t.Errorf("ParseQR = %+v, %v", parsed, err)
	}
	// Sub-second times widen the window to whole seconds, never narrow it.
	c2 := c
	c2.NotBefore, c2.NotAfter = c.NotBefore.Add(400*time.Millisecond), c.NotAfter.Add(-600*time.Millisecond)
	got, err = locker.VerifyQR(pub, locker.SignQR(key, c2), c.LocationID, c2.NotBefore)
	if err != nil || got.NotBefore.After(c2.NotBefore) || got.NotAfter.Before(c2.NotAfter) {
		t.Errorf("sub-second window %v..%v became %v..%v (%v)", c2.NotBefore, c2.NotAfter, got.NotBefore, got.NotAfter, err)
	}
}

func TestQRVerifyErrors(t *testing.T) {
	t.Parallel()
	key, pub := qrKey(t, 1)
	_, otherPub := qrKey(t, 2)
	c := qrClaims()
	tok := locker.SignQR(key, c)
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	flip := func(i int) string {
		b := bytes.Clone(raw)
		b[i] ^= 1
		return base64.RawURLEncoding.EncodeToString(b)
	}
	versioned := bytes.Clone(raw)
	versioned[0] = 2
	inside := c.NotBefore.Add(time.Minute)
	tests := []struct {
		name  string
		pub   ed25519.PublicKey
		token string
		loc   string
		now   time.Time
		want  error
	}{
		{"good", pub, tok, c.LocationID, inside, nil},
		{"at NotBefore", pub, tok, c.LocationID, c.NotBefore, nil},
		{"just before NotAfter", pub, tok, c.LocationID, c.NotAfter.Add(-time.Nanosecond), nil},
		{"before the window", pub, tok, c.LocationID, c.NotBefore.Add(-time.Second), locker.ErrQRNotYetValid},
		{"at NotAfter", pub, tok, c.LocationID, c.NotAfter, locker.ErrQRExpired},
		{"long after", pub, tok, c.LocationID, c.NotAfter.Add(30 * 24 * time.Hour), locker.ErrQRExpired},
		{"another locker", pub, tok, "SP-00100-2", inside, locker.ErrQRWrongLocker},
		{"another key", otherPub, tok, c.LocationID, inside, locker.ErrQRSignature},
		{"nil key", nil, tok, c.LocationID, inside, locker.ErrQRSignature},
		{"short key", pub[:10], tok, c.LocationID, inside, locker.ErrQRSignature},
		{"a claim's bit flipped", pub, flip(5), c.LocationID, inside, locker.ErrQRSignature},
		{"the signature's bit flipped", pub, flip(len(raw) - 1), c.LocationID, inside, locker.ErrQRSignature},
		{"version 2", pub, base64.RawURLEncoding.EncodeToString(versioned), c.LocationID, inside, locker.ErrQRMalformed},
		{"empty", pub, "", c.LocationID, inside, locker.ErrQRMalformed},
		{"not base64url", pub, "!!!!", c.LocationID, inside, locker.ErrQRMalformed},
		{"padded", pub, tok + "==", c.LocationID, inside, locker.ErrQRMalformed},
		{"truncated", pub, tok[:len(tok)-8], c.LocationID, inside, locker.ErrQRMalformed},
		{"signature only", pub, base64.RawURLEncoding.EncodeToString(raw[len(raw)-64:]), c.LocationID, inside, locker.ErrQRMalformed},
		{"far too long", pub, strings.Repeat("A", 10000), c.LocationID, inside, locker.ErrQRMalformed},
		{"an opening code", pub, "12345678901", c.LocationID, inside, locker.ErrQRMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := locker.VerifyQR(tt.pub, tt.token, tt.loc, tt.now)
			if tt.want == nil {
				if err != nil || got.ShipmentID != c.ShipmentID {
					t.Fatalf("VerifyQR = %+v, %v; want the claims", got, err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("VerifyQR error %v; want %v", err, tt.want)
			}
			for _, other := range []error{locker.ErrQRMalformed, locker.ErrQRSignature, locker.ErrQRWrongLocker, locker.ErrQRNotYetValid, locker.ErrQRExpired} {
				if other != tt.want && errors.Is(err, other) {
					t.Errorf("error %v is also %v: the errors must be distinct", err, other)
				}
			}
		})
	}
}

// TestQRTokenIsShort: the token of a realistic parcel fits a small QR code
// (version 10 at level M holds 213 bytes) with room to spare.
func TestQRTokenIsShort(t *testing.T) {
	t.Parallel()
	key, _ := qrKey(t, 1)
	tok := locker.SignQR(key, qrClaims())
	if len(tok) > 160 {
		t.Errorf("token of %d characters; want at most 160", len(tok))
	}
}

func TestSignQRRefusesBadClaims(t *testing.T) {
	t.Parallel()
	key, _ := qrKey(t, 1)
	good := qrClaims()
	tests := []struct {
		name string
		edit func(*locker.QRClaims)
	}{
		{"no location", func(c *locker.QRClaims) { c.LocationID = "" }},
		{"no shipment", func(c *locker.QRClaims) { c.ShipmentID = "" }},
		{"a space in an ID", func(c *locker.QRClaims) { c.ShipmentID = "shp 1" }},
		{"an ID too long", func(c *locker.QRClaims) { c.LocationID = strings.Repeat("x", 65) }},
		{"compartment 0", func(c *locker.QRClaims) { c.Compartment = 0 }},
		{"a compartment no token reads", func(c *locker.QRClaims) { c.Compartment = locker.MaxQRCompartment + 1 }},
		{"empty window", func(c *locker.QRClaims) { c.NotAfter = c.NotBefore }},
		{"window backwards", func(c *locker.QRClaims) { c.NotAfter = c.NotBefore.Add(-time.Hour) }},
		{"before 1970", func(c *locker.QRClaims) { c.NotBefore = time.Unix(-10, 0) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := good
			tt.edit(&c)
			defer func() {
				if recover() == nil {
					t.Errorf("SignQR(%+v) did not panic", c)
				}
			}()
			locker.SignQR(key, c)
		})
	}
}

// FuzzVerifyQR: no input makes VerifyQR panic, and whatever it accepts
// under the test key is a token SignQR makes again, byte for byte (no
// second encoding of the same claims verifies).
func FuzzVerifyQR(f *testing.F) {
	key, pub := qrKey(f, 1)
	c := qrClaims()
	tok := locker.SignQR(key, c)
	f.Add(tok, c.NotBefore.Unix())
	f.Add(tok[:20], int64(0))
	f.Add("", int64(0))
	f.Add("AQ", int64(1))
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	f.Add(base64.RawURLEncoding.EncodeToString(raw[:len(raw)-64]), int64(0))
	// Found by fuzzing: the same bytes with other trailing bits in the
	// last character (base64 malleability) must not verify.
	f.Add(tok[:len(tok)-1]+string(tok[len(tok)-1]^1), c.NotBefore.Unix())
	f.Fuzz(func(t *testing.T, token string, now int64) {
		got, err := locker.VerifyQR(pub, token, c.LocationID, time.Unix(now, 0))
		if err == nil && locker.SignQR(key, got) != token {
			t.Errorf("accepted %q, which is not SignQR's encoding of %+v", token, got)
		}
		_, _ = locker.ParseQR(token)
		_, _ = locker.VerifyQR(nil, token, "", time.Time{})
	})
}

// BenchmarkVerifierDerivation is one derivation of DefaultKDF: what a
// thief with a stolen controller's verifiers pays per guessed code
// (docs/security.md has the arithmetic).
func BenchmarkVerifierDerivation(b *testing.B) {
	salt := bytes.Repeat([]byte{5}, 16)
	for b.Loop() {
		locker.DefaultKDF.Verifier("12345678901", salt)
	}
}

// BenchmarkVerifyQR is the scanner's check of one token.
func BenchmarkVerifyQR(b *testing.B) {
	key, pub := qrKey(b, 1)
	c := qrClaims()
	tok := locker.SignQR(key, c)
	now := c.NotBefore.Add(time.Hour)
	for b.Loop() {
		if _, err := locker.VerifyQR(pub, tok, c.LocationID, now); err != nil {
			b.Fatal(err)
		}
	}
}
