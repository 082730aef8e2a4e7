package locker_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/lokero/lokero/locker"
)

func TestVerifierSaltAndKDF(t *testing.T) {
	t.Parallel()
	codes, err := locker.NewCodes([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	k := locker.DefaultKDF
	if err := k.Check(); err != nil {
		t.Fatalf("the default KDF fails its own check: %v", err)
	}
	lighter := k
	lighter.MemoryKiB = 8 << 10
	a, b := codes.Salt("SP-1", k), codes.Salt("SP-1", k)
	switch {
	case len(a) != 16 || !bytes.Equal(a, b):
		t.Errorf("salt %x, %x: want 16 bytes, the same each time", a, b)
	case bytes.Equal(a, codes.Salt("SP-2", k)):
		t.Error("two lockers share a salt")
	case bytes.Equal(a, codes.Salt("SP-1", lighter)):
		t.Error("other KDF parameters keep the salt: kept verifiers would not be remade")
	}
	v := k.Verifier("12345678901", a)
	if !bytes.Equal(v, k.Verifier("12345678901", a)) || bytes.Equal(v, k.Verifier("12345678902", a)) || len(v) != int(k.KeyLen) {
		t.Error("the verifier is not a deterministic function of the code")
	}
	for _, bad := range []locker.KDF{{Alg: "scrypt", Time: 1, MemoryKiB: 1 << 14, Threads: 1, KeyLen: 32},
		{Alg: "argon2id", Time: 0, MemoryKiB: 1 << 14, Threads: 1, KeyLen: 32},
		{Alg: "argon2id", Time: 1, MemoryKiB: 1, Threads: 1, KeyLen: 32}} {
		if bad.Check() == nil {
			t.Errorf("KDF %+v passes the check", bad)
		}
	}
}
