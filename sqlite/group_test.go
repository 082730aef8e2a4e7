package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lokero/lokero"
)

// TestGroupCommit holds one write transaction open while others arrive:
// they wait for it and then commit together, one transaction for the
// lot. Each keeps its own outcome: the writes that succeed are all there;
// one that fails, one that panics (the panic raised again in its own
// goroutine) and one whose context ended while it waited leave nothing,
// and do not undo the others.
func TestGroupCommit(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "lokero.db"))
	ctx := t.Context()
	date, _ := lokero.ParseDate("2026-12-07")
	reserve := func(tx lokero.Tx) error {
		ok, err := tx.Reserve(ctx, "L", date, "S", 1000)
		if err == nil && !ok {
			err = errors.New("no room")
		}
		return err
	}
	writes0, commits0 := db.GroupStats()

	started, release := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	var leaderErr error
	wg.Go(func() {
		leaderErr = db.InTx(ctx, func(tx lokero.Tx) error {
			err := reserve(tx)
			close(started)
			<-release
			return err
		})
	})
	<-started

	const followers = 12
	errs := make([]error, followers)
	panics := make([]any, followers)
	cancelled, cancel := context.WithCancel(ctx)
	for i := range followers {
		wg.Go(func() {
			defer func() { panics[i] = recover() }()
			wctx := ctx
			if i == 3 {
				wctx = cancelled
			}
			errs[i] = db.InTx(wctx, func(tx lokero.Tx) error {
				if err := reserve(tx); err != nil {
					return err
				}
				switch i {
				case 1:
					return fmt.Errorf("follower %d refuses", i)
				case 2:
					panic("follower 2 panics")
				}
				return nil
			})
		})
	}
	time.Sleep(200 * time.Millisecond) // the followers queue behind the leader
	cancel()
	close(release)
	wg.Wait()

	if leaderErr != nil {
		t.Fatalf("the leading write: %v", leaderErr)
	}
	want := 1 // the leader's
	for i := range followers {
		switch {
		case i == 1:
			if errs[i] == nil || errs[i].Error() != "follower 1 refuses" {
				t.Errorf("the refusing write returned %v", errs[i])
			}
		case i == 2:
			if panics[i] != "follower 2 panics" {
				t.Errorf("the panicking write's goroutine recovered %v", panics[i])
			}
		case i == 3:
			if !errors.Is(errs[i], context.Canceled) {
				t.Errorf("the write whose context ended returned %v, want context.Canceled", errs[i])
			}
		default:
			if errs[i] != nil || panics[i] != nil {
				t.Errorf("write %d: %v, panic %v", i, errs[i], panics[i])
			}
			want++
		}
	}
	got, err := db.ReservedOn(ctx, date, "L")
	if err != nil {
		t.Fatal(err)
	}
	if got["L"]["S"] != want {
		t.Errorf("%d reservations stored, want the %d of the writes that succeeded", got["L"]["S"], want)
	}
	writes, commits := db.GroupStats()
	writes, commits = writes-writes0, commits-commits0
	if writes != int64(want) || commits >= writes {
		t.Errorf("%d writes committed in %d commits; want %d writes in fewer commits", writes, commits, want)
	}
	t.Logf("%d writes committed in %d commits", writes, commits)
}

// TestGroupCommitContextEndsMidStatement ends the context of one write of
// a group while a statement of it runs. SQLite interrupting a write
// statement rolls back the whole transaction, so the statements of a
// group run without their requests' cancellation: the write whose context
// ended fails alone (or, had it finished, commits), and the writes grouped
// with it, the leader's and a follower's before it, commit.
func TestGroupCommitContextEndsMidStatement(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "lokero.db"))
	ctx := t.Context()
	date, _ := lokero.ParseDate("2026-12-07")
	reserve := func(tx lokero.Tx) error {
		ok, err := tx.Reserve(ctx, "L", date, "S", 1000)
		if err == nil && !ok {
			err = errors.New("no room")
		}
		return err
	}
	// A write long enough to be cancelled while SQLite runs it: the
	// registry of postal codes, some 200,000 rows.
	codes := make([]lokero.Postcode, 200_000)
	for i := range codes {
		codes[i] = lokero.Postcode{Code: fmt.Sprintf("%06d", i), NameFI: "HELSINKI", NameSV: "HELSINGFORS",
			MunicipalityCode: "091", MunicipalityFI: "Helsinki", MunicipalitySV: "Helsingfors"}
	}

	started, release := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	var leaderErr, followerErr, cancelledErr error
	wg.Go(func() {
		leaderErr = db.InTx(ctx, func(tx lokero.Tx) error {
			err := reserve(tx)
			close(started)
			<-release
			return err
		})
	})
	<-started
	wg.Go(func() { followerErr = db.InTx(ctx, reserve) })
	time.Sleep(100 * time.Millisecond) // the follower queues first
	cancelled, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Go(func() { cancelledErr = db.ReplacePostcodes(cancelled, codes) })
	time.Sleep(100 * time.Millisecond)
	close(release)
	// End the context while the registry's statements run.
	time.Sleep(150 * time.Millisecond)
	cancel()
	wg.Wait()

	if leaderErr != nil {
		t.Errorf("the leading write: %v", leaderErr)
	}
	if followerErr != nil {
		t.Errorf("the follower grouped before the cancelled write: %v", followerErr)
	}
	got, err := db.ReservedOn(ctx, date, "L")
	if err != nil {
		t.Fatal(err)
	}
	if got["L"]["S"] != 2 {
		t.Errorf("%d reservations stored, want the leader's and the follower's 2", got["L"]["S"])
	}
	stored, err := db.Postcodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case cancelledErr == nil && len(stored) != len(codes):
		t.Errorf("the cancelled write succeeded with %d of %d postal codes stored", len(stored), len(codes))
	case cancelledErr != nil && len(stored) != 0:
		t.Errorf("the cancelled write failed (%v) with %d postal codes stored", cancelledErr, len(stored))
	}
	t.Logf("the cancelled write: %v", cancelledErr)
}
