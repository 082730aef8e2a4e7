package locker

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/lokero/lokero"
)

func TestDerive(t *testing.T) {
	t.Parallel()
	c, err := NewCodes([]byte(strings.Repeat("d", 32)))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewCodes([]byte(strings.Repeat("e", 32)))
	code, hash, err := c.Derive("L1", "shp_1", 0, 10)
	if err != nil || len(code) != 10 || !isDigits(code) {
		t.Fatalf("Derive: %q, %v; want 10 digits", code, err)
	}
	if !c.Match("L1", code, hash) {
		t.Error("the derived code does not match its own hash")
	}
	again, _, _ := c.Derive("L1", "shp_1", 0, 10)
	if again != code {
		t.Errorf("Derive is not repeatable: %s then %s", code, again)
	}
	seen := map[string]string{code: "L1/shp_1/0"}
	for _, k := range []struct {
		c        *Codes
		loc, id  string
		v        int
		variants string
	}{{c, "L1", "shp_1", 1, "next version"}, {c, "L1", "shp_2", 0, "another parcel"}, {c, "L2", "shp_1", 0, "another locker"},
		{other, "L1", "shp_1", 0, "another secret"}, {c, "L1s", "hp_1", 0, "shifted boundary"}} {
		got, _, err := k.c.Derive(k.loc, k.id, k.v, 10)
		if err != nil {
			t.Fatal(err)
		}
		if prev, dup := seen[got]; dup {
			t.Errorf("%s gives the same code %s as %s", k.variants, got, prev)
		}
		seen[got] = k.variants
	}
	// Version finds the version from the hash alone.
	_, h3, _ := c.Derive("L1", "shp_1", 3, 10)
	v, got, ok := c.Version("L1", "shp_1", 10, h3)
	want, _, _ := c.Derive("L1", "shp_1", 3, 10)
	if !ok || v != 3 || got != want {
		t.Errorf("Version = %d %s %v; want 3 %s", v, got, ok, want)
	}
	if _, _, ok := c.Version("L1", "shp_1", 10, bytes.Repeat([]byte{1}, 32)); ok {
		t.Error("Version found a version for a hash no derived code has")
	}
	// The digits are uniform enough: over 2,000 codes each digit appears
	// 10 % ± 1.5 % of the time.
	var count [10]int
	for i := range 2000 {
		code, _, _ := c.Derive("L1", "shp_"+strings.Repeat("x", i%7)+string(rune('a'+i%26)), i/182, 10)
		for _, d := range code {
			count[d-'0']++
		}
	}
	for d, n := range count {
		if n < 1700 || n > 2300 {
			t.Errorf("digit %d appears %d times in 20,000; want about 2,000", d, n)
		}
	}
}

// TestKeyringRotation: after a rotation (a new key first, the old one
// kept) a code made under the old key still matches and is derived again
// the same, new codes use the new key, and a code never matches under a
// ring that lost its key.
func TestKeyringRotation(t *testing.T) {
	t.Parallel()
	oldKey := []byte("0123456789abcdef0123456789abcdef")
	newKey := []byte("fedcba9876543210fedcba9876543210")
	single, err := NewCodes(oldKey)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := NewKeyring(Key{Generation: 1, Secret: newKey}, Key{Generation: 0, Secret: oldKey})
	if err != nil {
		t.Fatal(err)
	}
	newOnly, err := NewKeyring(Key{Generation: 1, Secret: newKey})
	if err != nil {
		t.Fatal(err)
	}
	const loc, ship, n = "LOCKER-1", "sh_1", 10

	// A parcel's code under the old secret alone (as before keyrings).
	oldCode, oldHash, err := single.Derive(loc, ship, 3, n)
	if err != nil {
		t.Fatal(err)
	}
	if single.FirstVersion() != 0 || ring.FirstVersion() != MaxVersion+1 {
		t.Fatalf("FirstVersion: %d, %d; want 0 and %d", single.FirstVersion(), ring.FirstVersion(), MaxVersion+1)
	}
	// The ring: the old code matches through Hashes and Match, not Hash.
	if bytes.Equal(ring.Hash(loc, oldCode), oldHash) {
		t.Error("Hash is the newest key's, yet it matched the old code")
	}
	if hs := ring.Hashes(loc, oldCode); len(hs) != 2 || !bytes.Equal(hs[1], oldHash) {
		t.Errorf("Hashes of the old code: %x; want the old hash second", hs)
	}
	if !ring.Match(loc, oldCode, oldHash) || newOnly.Match(loc, oldCode, oldHash) {
		t.Error("Match: the ring must match the old code, a ring without the old key must not")
	}
	// Found again, with its version: the notice can be sent again.
	if v, code, ok := ring.Version(loc, ship, n, oldHash); !ok || v != 3 || code != oldCode {
		t.Errorf("Version of the old code under the ring: %d %q %v; want 3 %q", v, code, ok, oldCode)
	}
	if code, hash, err := ring.Derive(loc, ship, 3, n); err != nil || code != oldCode || !bytes.Equal(hash, oldHash) {
		t.Errorf("Derive(3) under the ring: %q %x %v; want the old code and hash", code, hash, err)
	}
	// New codes: under the new key, found by Hash and by Version.
	first := ring.FirstVersion()
	newCode, newHash, err := ring.Derive(loc, ship, first, n)
	if err != nil {
		t.Fatal(err)
	}
	if newCode == oldCode || !bytes.Equal(ring.Hash(loc, newCode), newHash) || !bytes.Equal(newOnly.Hash(loc, newCode), newHash) {
		t.Errorf("a new code %q: its hash is not the newest key's", newCode)
	}
	if v, code, ok := newOnly.Version(loc, ship, n, newHash); !ok || v != first || code != newCode {
		t.Errorf("Version of the new code: %d %q %v; want %d", v, code, ok, first)
	}
	if _, _, ok := newOnly.Version(loc, ship, n, oldHash); ok {
		t.Error("a ring without the old key found the old code's version")
	}
	// A version of a key the ring does not hold: refused.
	if _, _, err := newOnly.Derive(loc, ship, 3, n); lokero.ErrorCode(err) != lokero.EINVALID {
		t.Errorf("Derive of a retired key's version: %v; want EINVALID", err)
	}
	if _, _, err := ring.Derive(loc, ship, -1, n); lokero.ErrorCode(err) != lokero.EINVALID {
		t.Errorf("Derive(-1): %v; want EINVALID", err)
	}
	// Fingerprints: one per key, stable, naming the generation, not the key.
	fps := ring.Fingerprints()
	if len(fps) != 2 || !strings.HasPrefix(fps[0], "1:") || fps[1] != single.Fingerprints()[0] || fps[0] != newOnly.Fingerprints()[0] {
		t.Errorf("fingerprints %q", fps)
	}
	for _, fp := range fps {
		if strings.Contains(fp, hex.EncodeToString(oldKey)) || strings.Contains(fp, hex.EncodeToString(newKey)) || strings.Contains(fp, string(oldKey)) {
			t.Errorf("a fingerprint shows a key: %s", fp)
		}
	}
}

func TestNewKeyringRefuses(t *testing.T) {
	t.Parallel()
	key := []byte("0123456789abcdef0123456789abcdef")
	for _, tt := range []struct {
		name string
		keys []Key
	}{
		{"none", nil},
		{"short", []Key{{Generation: 0, Secret: key[:31]}}},
		{"negative generation", []Key{{Generation: -1, Secret: key}}},
		{"oldest first", []Key{{Generation: 0, Secret: key}, {Generation: 1, Secret: key}}},
		{"same generation twice", []Key{{Generation: 2, Secret: key}, {Generation: 2, Secret: key}}},
		{"generation too high", []Key{{Generation: MaxGeneration + 1, Secret: key}}},
	} {
		if _, err := NewKeyring(tt.keys...); lokero.ErrorCode(err) != lokero.EINVALID {
			t.Errorf("%s: %v; want EINVALID", tt.name, err)
		}
	}
}
