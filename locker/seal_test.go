package locker_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/lokero/lokero/locker"
)

func TestSealOpen(t *testing.T) {
	t.Parallel()
	old := locker.Key{Generation: 0, Secret: testSecret}
	newer := locker.Key{Generation: 1, Secret: []byte("fedcba9876543210fedcba9876543210")}
	first := mustKeyring(t, old)
	rotated := mustKeyring(t, newer, old)
	retired := mustKeyring(t, newer)
	plain := []byte("whsec_c2VjcmV0IG9mIGEgd2ViaG9vaw==")
	aad := []byte("wh_1")

	sealed, err := first.Seal("webhook-secret", aad, plain)
	if err != nil {
		t.Fatal(err)
	}
	if gen, ok := locker.SealedUnder(sealed); !ok || gen != 0 {
		t.Errorf("SealedUnder(%q) = %d, %v; want generation 0", sealed, gen, ok)
	}
	if strings.Contains(sealed, string(plain)) || strings.Contains(sealed, "c2VjcmV0") {
		t.Errorf("sealed value %q shows the secret", sealed)
	}
	again, err := first.Seal("webhook-secret", aad, plain)
	if err != nil || again == sealed {
		t.Errorf("sealing twice gave %q twice (%v); want a fresh nonce each time", sealed, err)
	}
	for _, tt := range []struct {
		name string
		c    *locker.Codes
	}{{"the same keyring", first}, {"a keyring rotated since", rotated}} {
		if got, err := tt.c.Open("webhook-secret", aad, sealed); err != nil || !bytes.Equal(got, plain) {
			t.Errorf("%s opens %q, %v; want the plaintext", tt.name, got, err)
		}
	}
	// Sealed again after the rotation: under the newest key.
	resealed, err := rotated.Seal("webhook-secret", aad, plain)
	if gen, ok := locker.SealedUnder(resealed); err != nil || !ok || gen != 1 {
		t.Errorf("sealed after the rotation under %d, %v (%v); want generation 1", gen, ok, err)
	}
	if got, err := retired.Open("webhook-secret", aad, resealed); err != nil || !bytes.Equal(got, plain) {
		t.Errorf("the retired keyring opens the resealed value: %q, %v", got, err)
	}

	tampered := []byte(sealed)
	tampered[len(tampered)-6] ^= 1
	for _, tt := range []struct {
		name, purpose, stored string
		aad                   []byte
		c                     *locker.Codes
	}{
		{"another row", "webhook-secret", sealed, []byte("wh_2"), first},
		{"another purpose", "other", sealed, aad, first},
		{"altered", "webhook-secret", string(tampered), aad, first},
		{"a key retired before it was sealed again", "webhook-secret", sealed, aad, retired},
		{"another secret", "webhook-secret", sealed, aad, mustKeyring(t, locker.Key{Generation: 0, Secret: bytes.Repeat([]byte("x"), 32)})},
		{"a later version", "webhook-secret", "sealed:v2:0:AAAA", aad, first},
		{"not base64", "webhook-secret", "sealed:v1:0:!!!", aad, first},
	} {
		if got, err := tt.c.Open(tt.purpose, tt.aad, tt.stored); err == nil {
			t.Errorf("%s: Open = %q; want an error", tt.name, got)
		}
	}
	// A value kept before sealing began is read as it is.
	if got, err := first.Open("webhook-secret", aad, string(plain)); err != nil || !bytes.Equal(got, plain) {
		t.Errorf("Open of a plain value = %q, %v; want it as it is", got, err)
	}
	if _, ok := locker.SealedUnder(string(plain)); ok {
		t.Error("a plain value counts as sealed")
	}
}

func mustKeyring(t *testing.T, keys ...locker.Key) *locker.Codes {
	t.Helper()
	c, err := locker.NewKeyring(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
