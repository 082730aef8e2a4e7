package sqlite_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/sqlite"
	"github.com/lokero/lokero/storetest"
)

func open(t testing.TB, path string) *sqlite.DB {
	return storetest.Opened[*sqlite.DB](t)(sqlite.Open(t.Context(), path))
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		return open(t, filepath.Join(t.TempDir(), "lokero.db"))
	})
}

// BenchmarkUpsert10000: go test ./sqlite ./postgres -run '^$' -bench Upsert10000
func BenchmarkUpsert10000(b *testing.B) {
	storetest.BenchmarkUpsert10000(b, func(tb testing.TB) storetest.Store {
		return open(tb, filepath.Join(tb.TempDir(), "lokero.db"))
	})
}

func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lokero.db")
	ctx := t.Context()
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	loc := lokero.Location{ID: "x", Type: lokero.TypeSmartpost, Name: "Åbo", Street: "Aurakatu 1",
		Postcode: "20100", City: "Åbo", Lat: 60.45, Lon: 22.26,
		Compartments: lokero.StandardCompartmentClasses, OpeningHours: lokero.AlwaysOpen()}
	if _, err := db.UpsertLocations(ctx, []lokero.Location{loc}); err != nil {
		t.Fatal(err)
	}
	if err := db.ReplacePostcodes(ctx, []lokero.Postcode{{Code: "20100", NameFI: "TURKU"}}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = open(t, path) // migrations again: nothing to do
	if err := db.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := db.Location(ctx, "x")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Åbo" || len(got.Compartments) != 3 || len(got.OpeningHours) != 7 {
		t.Errorf("after re-open: %+v", got)
	}
	codes, err := db.Postcodes(ctx)
	if err != nil || len(codes) != 1 || codes[0].NameFI != "TURKU" {
		t.Errorf("postcodes after re-open: %+v, %v", codes, err)
	}
}

// TestPragmas checks that every connection of the pool gets the settings
// of the DSN.
func TestPragmas(t *testing.T) {
	path := filepath.Join(t.TempDir(), "with space?and#odd%chars.db")
	db := open(t, path)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database file not where asked: %v", err)
	}
	ctx := t.Context()
	conns := make([]interface{ Close() error }, 0, 3)
	for range 3 { // distinct connections
		conn, err := db.SQL().Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, conn)
		var mode string
		var busy, fk, sync int
		if err := conn.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if err := conn.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy); err != nil {
			t.Fatal(err)
		}
		if err := conn.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
			t.Fatal(err)
		}
		if err := conn.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil {
			t.Fatal(err)
		}
		if mode != "wal" || busy != 10000 || fk != 1 || sync != 1 {
			t.Errorf("journal_mode=%s busy_timeout=%d foreign_keys=%d synchronous=%d; want wal 10000 1 1(NORMAL)", mode, busy, fk, sync)
		}
	}
	for _, c := range conns {
		c.Close()
	}
}

func TestOpenRejectsMemory(t *testing.T) {
	for _, p := range []string{"", ":memory:", "file::memory:"} {
		if db, err := sqlite.Open(t.Context(), p); err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded", p)
		}
	}
	if _, err := os.Stat(":memory:"); err == nil {
		t.Error("Open(:memory:) created a file")
	}
}

// TestConcurrentReadThenWrite runs transactions that read before they
// write (as the service's use cases and the job queue do) from several
// goroutines. With deferred transactions the read lock could not be
// upgraded and SQLite would fail at once with SQLITE_BUSY; the DSN's
// _txlock=immediate makes them queue on busy_timeout instead.
func TestConcurrentReadThenWrite(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "lokero.db"))
	ctx := t.Context()
	if err := db.ReplacePostcodes(ctx, []lokero.Postcode{{Code: "00000", FileDate: "0"}}); err != nil {
		t.Fatal(err)
	}
	const workers, rounds = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for r := range rounds {
				if err := readThenWrite(t, db); err != nil {
					errs <- fmt.Errorf("worker %d round %d: %w", w, r, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var n int
	if err := db.SQL().QueryRowContext(ctx, "SELECT CAST(file_date AS INTEGER) FROM postcodes").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != workers*rounds {
		t.Errorf("counter = %d, want %d (lost updates)", n, workers*rounds)
	}
}

func readThenWrite(t *testing.T, db *sqlite.DB) error {
	tx, err := db.SQL().BeginTx(t.Context(), nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(t.Context(), "SELECT CAST(file_date AS INTEGER) FROM postcodes").Scan(&n); err != nil {
		return err
	}
	if _, err := tx.ExecContext(t.Context(), "UPDATE postcodes SET file_date = ?", fmt.Sprint(n+1)); err != nil {
		return err
	}
	return tx.Commit()
}
