package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/pgtest"
	"github.com/lokero/lokero/postgres"
	"github.com/lokero/lokero/storetest"
)

// One throwaway cluster for the test binary; a database per test.
func TestMain(m *testing.M) { pgtest.ForTest(m) }

func freshURL(t testing.TB) string {
	t.Helper()
	url, err := pgtest.Require(t).CreateDatabase(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return url
}

func open(t testing.TB, url string) *postgres.DB {
	return storetest.Opened[*postgres.DB](t)(postgres.Open(t.Context(), url))
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		return open(t, freshURL(t))
	})
}

// BenchmarkUpsert10000: go test ./sqlite ./postgres -run '^$' -bench Upsert10000
func BenchmarkUpsert10000(b *testing.B) {
	storetest.BenchmarkUpsert10000(b, func(tb testing.TB) storetest.Store { return open(tb, freshURL(tb)) })
}

// TestConcurrentOpen starts several instances on one fresh database at
// once: the migrations must run once, without error.
func TestConcurrentOpen(t *testing.T) {
	url := freshURL(t)
	const n = 4
	var wg sync.WaitGroup
	dbs := make([]*postgres.DB, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { dbs[i], errs[i] = postgres.Open(t.Context(), url) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Errorf("Open %d: %v", i, errs[i])
		} else {
			defer dbs[i].Close()
		}
	}
	if t.Failed() {
		return
	}
	db := dbs[0]
	var applied, versions int
	if err := db.SQL().QueryRowContext(t.Context(),
		`SELECT count(*), count(DISTINCT version_id) FROM goose_db_version WHERE version_id > 0 AND is_applied`).
		Scan(&applied, &versions); err != nil {
		t.Fatal(err)
	}
	if applied != versions || applied == 0 {
		t.Errorf("goose_db_version: %d applied rows for %d versions", applied, versions)
	}
	if err := db.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	for i, d := range dbs {
		if _, err := d.UpsertLocations(t.Context(), []lokero.Location{{ID: "x", Type: lokero.TypeSmartpost}}); err != nil {
			t.Errorf("instance %d: %v", i, err)
		}
	}
	if n, err := dbs[n-1].CountLocations(t.Context()); err != nil || n != 1 {
		t.Errorf("CountLocations = %d, %v; want 1", n, err)
	}
}

func TestReopen(t *testing.T) {
	url := freshURL(t)
	db, err := postgres.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.ReplacePostcodes(t.Context(), []lokero.Postcode{{Code: "00100", NameFI: "HELSINKI"}}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = open(t, url)
	codes, err := db.Postcodes(t.Context())
	if err != nil || len(codes) != 1 || codes[0].NameFI != "HELSINKI" {
		t.Errorf("postcodes after re-open: %+v, %v", codes, err)
	}
}

func TestOpenBadURL(t *testing.T) {
	c := pgtest.Require(t)
	if db, err := postgres.Open(t.Context(), c.URL("no_such_database")); err == nil {
		db.Close()
		t.Fatal("Open of a missing database succeeded")
	}
}

// TestReserveFullLocksNothing: a booking that finds a class full holds no
// lock on its counter, so that bookings overflowing between two full
// lockers in opposite directions do not deadlock: while one transaction
// that found the class full is still open, another changes the counter at
// once.
func TestReserveFullLocksNothing(t *testing.T) {
	db := open(t, freshURL(t))
	ctx := t.Context()
	date := lokero.Date{Year: 2026, Month: 12, Day: 8}
	if err := db.InTx(ctx, func(tx lokero.Tx) error {
		ok, err := tx.Reserve(ctx, "A", date, "M", 1)
		if err == nil && !ok {
			t.Error("the first reservation of an empty class was refused")
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	found, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- db.InTx(ctx, func(tx lokero.Tx) error {
			ok, err := tx.Reserve(ctx, "A", date, "M", 1)
			if err == nil && ok {
				t.Error("a full class took one more")
			}
			close(found)
			<-release // still open
			return err
		})
	}()
	<-found
	quick, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	err := db.InTx(quick, func(tx lokero.Tx) error { return tx.Release(quick, "A", date, "M") })
	close(release)
	if err != nil {
		t.Errorf("releasing while another transaction found the class full: %v; want no wait", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
