package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The cluster shared by the tests of one test binary (each test binary
// links its own copy of this package).
var (
	mainActive atomic.Bool
	sharedOnce sync.Once
	shared     *Cluster
	sharedErr  error
)

// Main runs the tests of m with a shared cluster and returns the exit
// code: use it as
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
// The cluster is started by the first Require (never, when no test needs
// it) and stopped, its temp dir removed, after m.Run. When PostgreSQL is not
// installed the tests still run: Require skips them, or fails them in CI.
func Main(m *testing.M) int {
	mainActive.Store(true)
	code := m.Run()
	if shared != nil {
		if err := shared.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest: stop:", err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// ForTest is the TestMain helper: it runs m with a shared cluster (see
// Main), stops the cluster and exits.
//
//	func TestMain(m *testing.M) { pgtest.ForTest(m) }
func ForTest(m *testing.M) { os.Exit(Main(m)) }

// Require returns the test binary's shared cluster, starting it on first
// use. When PostgreSQL is not installed it skips the test, or fails it when
// the environment variable CI is "true" (in CI nothing may be skipped).
// Any other failure to start the cluster fails the test. Require needs
// TestMain to call ForTest or Main.
func Require(t testing.TB) *Cluster {
	t.Helper()
	if !mainActive.Load() {
		t.Fatal("pgtest.Require needs the shared cluster of TestMain: add func TestMain(m *testing.M) { pgtest.ForTest(m) }")
	}
	sharedOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		shared, sharedErr = Start(ctx)
	})
	switch {
	case shared != nil:
		return shared
	case errors.Is(sharedErr, ErrNotInstalled) && os.Getenv("CI") == "true":
		t.Fatalf("PostgreSQL is required in CI: %v", sharedErr)
	case errors.Is(sharedErr, ErrNotInstalled):
		t.Skip("PostgreSQL not installed (apt-get install postgresql): skipping")
	default:
		t.Fatalf("pgtest: cannot start PostgreSQL: %v", sharedErr)
	}
	return nil
}
