package locker

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"

	"golang.org/x/crypto/argon2"
)

// A locker's controller checks opening codes while offline against
// verifiers: argon2id of the code under the locker's salt. One keypad
// entry is one derivation (the controller derives the entered code once
// and looks the result up among its parcels' verifiers); guessing a code
// from a stolen controller's verifiers costs that derivation per guess
// (docs/security.md has the figures).

// KDF are the parameters of the verifiers' derivation, sent to the
// controller with them.
type KDF struct {
	Alg       string // "argon2id"
	Time      uint32 // passes
	MemoryKiB uint32
	Threads   uint8
	KeyLen    uint32
}

// DefaultKDF is argon2id with one pass over 16 MiB in two lanes: about
// 13 ms of one core's work a derivation on the 2-core machine the
// benchmarks run on, and memory enough that a GPU gains little per guess.
// The two lanes are filled in parallel, on two cores: the same work and
// memory for an attacker's guess, half the wait at the keypad (its budget
// is 20 ms at the 99th percentile, the derivation included; a locker's
// board has two cores or more).
var DefaultKDF = KDF{Alg: "argon2id", Time: 1, MemoryKiB: 16 << 10, Threads: 2, KeyLen: 32}

// Check refuses parameters a controller should not accept: another
// algorithm, or a derivation far too cheap or too dear.
func (k KDF) Check() error {
	switch {
	case k.Alg != "argon2id":
		return fmt.Errorf("verifier kdf %q: only argon2id", k.Alg)
	case k.Time < 1 || k.Time > 16, k.MemoryKiB < 1<<10 || k.MemoryKiB > 1<<20, k.Threads < 1 || k.Threads > 16, k.KeyLen < 16 || k.KeyLen > 64:
		return fmt.Errorf("verifier kdf %+v: parameters out of range (time 1..16, memory 1 MiB..1 GiB, threads 1..16, key 16..64 bytes)", k)
	}
	return nil
}

// Verifier returns the verifier of code under salt.
func (k KDF) Verifier(code string, salt []byte) []byte {
	return argon2.IDKey([]byte(code), salt, k.Time, k.MemoryKiB, k.Threads, k.KeyLen)
}

// Derivations bounds the derivations that run at once in one process.
// Each streams through its 16 MiB; more at once than there are cores
// only thrash the caches and the allocator: on the 2-core machine of the
// benchmarks a derivation cost 14–15 ms of CPU two at a time, 30 ms
// sixteen at a time and 53 ms sixty-four at a time, so that a burst of
// deposits (a verifier each) or of keypad entries at many simulated
// lockers used two to four times the CPU for the same work, and 16 MiB
// more memory for each one waiting (docs/benchmarks.md).
type Derivations struct{ slots chan struct{} }

// NewDerivations lets n derivations run at once (at least one); Slots
// says how many fill a process's cores.
func NewDerivations(n int) *Derivations {
	return &Derivations{slots: make(chan struct{}, max(n, 1))}
}

// Slots is how many derivations with k fill cores: each fills its k.Threads
// lanes in parallel, so cores ÷ lanes (at least one). More at once keep
// every core on lanes, and every request's goroutine waits behind them
// for one: on the 2-core machine of the benchmarks, beside two two-lane
// derivations at once a short task's p99 was 0.5–2.8 ms, beside one
// 0.15–0.38 ms. The price is a quarter fewer derivations a second while
// they are the only work (a derivation's 16 MiB is cleared before its
// lanes start, and their last blocks combined after they end, on one
// core, leaving the other to the rest); in a parcel's whole
// life, where they never are, lokero bench peak ran as fast or faster
// (BenchmarkBesideDerivations; docs/benchmarks.md).
func (k KDF) Slots(cores int) int {
	return max(1, cores/max(int(k.Threads), 1))
}

// Do runs derive once a slot is free, or returns ctx's error without
// running it. A nil *Derivations runs derive at once.
func (d *Derivations) Do(ctx context.Context, derive func()) error {
	if d == nil {
		derive()
		return nil
	}
	select {
	case d.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-d.slots }()
	derive()
	return nil
}

// Verifier is KDF.Verifier once a slot is free.
func (d *Derivations) Verifier(ctx context.Context, k KDF, code string, salt []byte) ([]byte, error) {
	var v []byte
	err := d.Do(ctx, func() { v = k.Verifier(code, salt) })
	return v, err
}

// tagSalt separates the verifier salts from the codes' other derivations.
const tagSalt = "lokero/verifier-salt/v1"

// Salt returns the salt of a locker's verifiers made with k: 16 bytes
// derived from the newest key of the secret, the locker and k's
// parameters, so that every instance of the centre makes the same
// verifiers, and a new key or new parameters make new ones (a verifier
// kept with the salt it was made under is remade when the salt changes).
func (c *Codes) Salt(locationID string, k KDF) []byte {
	m := hmac.New(sha256.New, c.keys[0].Secret)
	fmt.Fprintf(m, "%s\x00%s\x00%d\x00%d\x00%d\x00%d\x00", tagSalt, k.Alg, k.Time, k.MemoryKiB, k.Threads, k.KeyLen)
	m.Write([]byte(locationID))
	return m.Sum(nil)[:16]
}
