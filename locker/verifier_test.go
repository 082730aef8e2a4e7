package locker_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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

func TestKDFSlots(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		threads     uint8
		cores, want int
	}{
		{2, 1, 1}, {2, 2, 1}, {2, 3, 1}, {2, 8, 4}, // DefaultKDF's two lanes
		{1, 2, 2}, {4, 2, 1}, {0, 4, 4}, // one lane; more lanes than cores; none given: one
	} {
		k := locker.DefaultKDF
		k.Threads = tc.threads
		if got := k.Slots(tc.cores); got != tc.want {
			t.Errorf("%d lanes on %d cores: %d derivations at once; want %d", tc.threads, tc.cores, got, tc.want)
		}
	}
}

func TestDerivationsBound(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 2, 3} {
		d := locker.NewDerivations(n)
		var running, most, done atomic.Int64
		var wg sync.WaitGroup
		for range 24 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := d.Do(context.Background(), func() {
					now := running.Add(1)
					for m := most.Load(); now > m && !most.CompareAndSwap(m, now); m = most.Load() {
					}
					time.Sleep(5 * time.Millisecond) // long enough for the others to pile up
					running.Add(-1)
					done.Add(1)
				})
				if err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if want := int64(max(n, 1)); most.Load() != want || done.Load() != 24 {
			t.Errorf("locker.NewDerivations(%d): %d at most at once, %d done; want %d at once, 24 done", n, most.Load(), done.Load(), want)
		}
	}
}

func TestDerivationsWaitEndsWithTheContext(t *testing.T) {
	t.Parallel()
	d := locker.NewDerivations(1)
	hold, release := make(chan struct{}), make(chan struct{})
	go d.Do(context.Background(), func() { close(hold); <-release })
	<-hold
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	ran := false
	if err := d.Do(ctx, func() { ran = true }); !errors.Is(err, context.DeadlineExceeded) || ran {
		t.Errorf("Do while the only slot is taken: %v, ran %v; want the context's error, not run", err, ran)
	}
	close(release)
	if v, err := d.Verifier(context.Background(), locker.DefaultKDF, "12345", make([]byte, 16)); err != nil ||
		string(v) != string(locker.DefaultKDF.Verifier("12345", make([]byte, 16))) {
		t.Errorf("Verifier once the slot is free: %x, %v", v, err)
	}
	var none *locker.Derivations
	if err := none.Do(ctx, func() { ran = true }); err != nil || !ran {
		t.Errorf("a nil Derivations: %v, ran %v; want run at once", err, ran)
	}
}
