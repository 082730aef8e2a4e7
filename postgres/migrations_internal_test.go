package postgres

import (
	"database/sql"
	"errors"
	"io/fs"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/lokero/lokero/pgtest"
)

// busyTables are written all day by every instance: a migration that
// builds an index on one must not block their writes for the build.
var busyTables = map[string]bool{"shipments": true, "shipment_events": true, "outbox": true}

// firstOnline is the first migration that must build such indexes
// online; the ones before it ran when the tables were small.
const firstOnline = 27

var (
	createIndexRE = regexp.MustCompile(`(?is)\bCREATE\s+(?:UNIQUE\s+)?INDEX\s+(CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?("?\w+"?)\s+ON\s+(?:ONLY\s+)?(?:\w+\.)?"?(\w+)"?`)
	dropIndexRE   = regexp.MustCompile(`(?is)\bDROP\s+INDEX\s+(CONCURRENTLY\s+)?(?:IF\s+EXISTS\s+)?("?\w+"?)`)
)

// TestMigrationsBuildIndexesOnline scans the embedded migrations: from
// 00027 on, every index built on a busy table is built CONCURRENTLY in a
// NO TRANSACTION file (CONCURRENTLY cannot run in goose's transaction),
// after dropping CONCURRENTLY an invalid leftover of the same name, and
// dropped CONCURRENTLY in Down.
func TestMigrationsBuildIndexesOnline(t *testing.T) {
	t.Parallel()
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("embedded migrations: %v (%d files)", err, len(files))
	}
	checked := 0
	for _, name := range files {
		base := strings.TrimPrefix(name, "migrations/")
		n, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			t.Fatalf("%s: no version number: %v", base, err)
		}
		if n < firstOnline {
			continue
		}
		b, err := fs.ReadFile(migrations, name)
		if err != nil {
			t.Fatal(err)
		}
		up, down, noTx := sections(string(b))
		dropped := map[string]bool{} // indexes the Up drops CONCURRENTLY before building
		upAt := 0
		for _, m := range createIndexRE.FindAllStringSubmatchIndex(up, -1) {
			concurrently, index, table := m[2] >= 0, strings.Trim(up[m[4]:m[5]], `"`), strings.ToLower(up[m[6]:m[7]])
			for _, d := range dropIndexRE.FindAllStringSubmatch(up[upAt:m[0]], -1) {
				if d[1] != "" {
					dropped[strings.Trim(d[2], `"`)] = true
				}
			}
			upAt = m[0]
			if !busyTables[table] {
				continue
			}
			checked++
			switch {
			case !concurrently:
				t.Errorf("%s: CREATE INDEX %s ON %s without CONCURRENTLY: blocks every write to %s for the whole build", base, index, table, table)
			case !noTx:
				t.Errorf("%s: CREATE INDEX CONCURRENTLY %s without -- +goose NO TRANSACTION: it cannot run in goose's transaction", base, index)
			case !dropped[index]:
				t.Errorf("%s: CREATE INDEX CONCURRENTLY %s not preceded by DROP INDEX CONCURRENTLY IF EXISTS %s: an interrupted build's INVALID index would stay", base, index, index)
			}
			downOK := false
			for _, d := range dropIndexRE.FindAllStringSubmatch(down, -1) {
				if strings.Trim(d[2], `"`) == index {
					downOK = d[1] != ""
				}
			}
			if !downOK {
				t.Errorf("%s: Down does not DROP INDEX CONCURRENTLY %s", base, index)
			}
		}
	}
	if checked == 0 {
		t.Fatalf("no index on %v found in migrations %05d and later: the scan is broken", busyTables, firstOnline)
	}
}

// sections splits a goose SQL file into its Up and Down statements,
// comments left out, and says whether it runs outside a transaction.
func sections(src string) (up, down string, noTx bool) {
	var cur *strings.Builder
	var u, d strings.Builder
	for line := range strings.Lines(src) {
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trimmed, "-- +goose"):
			switch strings.TrimSpace(strings.TrimPrefix(trimmed, "-- +goose")) {
			case "Up":
				cur = &u
			case "Down":
				cur = &d
			case "NO TRANSACTION":
				noTx = true
			}
		case strings.HasPrefix(trimmed, "--"):
		case cur != nil:
			cur.WriteString(line)
		}
	}
	return u.String(), d.String(), noTx
}

// TestSections checks the scan's own parsing on a file of each kind.
func TestSections(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, src      string
		up, down       string
		noTx, violates bool
	}{
		{"plain", "-- a comment\n-- +goose Up\nCREATE INDEX a ON shipments (x);\n-- +goose Down\nDROP INDEX a;\n",
			"CREATE INDEX a ON shipments (x);\n", "DROP INDEX a;\n", false, true},
		{"online", "-- +goose NO TRANSACTION\n-- +goose Up\n-- CREATE INDEX in a comment ON shipments\nDROP INDEX CONCURRENTLY IF EXISTS a;\nCREATE INDEX CONCURRENTLY IF NOT EXISTS a ON shipments (x);\n-- +goose Down\nDROP INDEX CONCURRENTLY IF EXISTS a;\n",
			"DROP INDEX CONCURRENTLY IF EXISTS a;\nCREATE INDEX CONCURRENTLY IF NOT EXISTS a ON shipments (x);\n", "DROP INDEX CONCURRENTLY IF EXISTS a;\n", true, false},
	} {
		up, down, noTx := sections(tt.src)
		if up != tt.up || down != tt.down || noTx != tt.noTx {
			t.Errorf("%s: sections = %q, %q, %v; want %q, %q, %v", tt.name, up, down, noTx, tt.up, tt.down, tt.noTx)
		}
		m := createIndexRE.FindStringSubmatch(up)
		if m == nil || m[3] != "shipments" || (m[1] == "") != tt.violates {
			t.Errorf("%s: CREATE INDEX match %q", tt.name, m)
		}
	}
}

// TestReturnsExpectedIndexLeftover runs migration 00027 as goose does on
// a database (its Down, then its Up again) over an INVALID index of its
// name, what an interrupted concurrent build leaves: the Up must build
// the real index anyway, not take the leftover for done (IF NOT EXISTS)
// nor fail on it. Both directions run outside a transaction, as
// CONCURRENTLY requires.
func TestReturnsExpectedIndexLeftover(t *testing.T) {
	t.Parallel()
	const index = "shipments_returns_expected_idx"
	ctx := t.Context()
	url, err := pgtest.Require(t).CreateDatabase(ctx)
	if err != nil {
		t.Fatal(err)
	}
	db, err := Open(ctx, url) // a fresh database: every migration, 00027 among them
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	conn := db.SQL()
	// valid says whether the index is there and valid, and its definition.
	valid := func() (exists, ok bool, def string) {
		t.Helper()
		err := conn.QueryRowContext(ctx, `SELECT i.indisvalid, pg_get_indexdef(i.indexrelid)
			FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = $1`, index).Scan(&ok, &def)
		if errors.Is(err, sql.ErrNoRows) {
			return false, false, ""
		}
		if err != nil {
			t.Fatal(err)
		}
		return true, ok, def
	}
	wantBuilt := func(when string) {
		t.Helper()
		exists, ok, def := valid()
		if !exists || !ok || !strings.Contains(def, "picked_up_location, picked_up_at") || !strings.Contains(def, "WHERE") {
			t.Errorf("%s: index %s exists %v, valid %v, %q; want the valid partial index", when, index, exists, ok, def)
		}
	}
	wantBuilt("fresh database")

	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, conn, sub,
		goose.WithDisableGlobalRegistry(true), goose.WithSessionLocker(locker))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.ApplyVersion(ctx, 27, false); err != nil {
		t.Fatalf("00027 down: %v", err)
	}
	if exists, _, _ := valid(); exists {
		t.Fatalf("00027 down left index %s", index)
	}
	// The leftover of an interrupted CREATE INDEX CONCURRENTLY: an index
	// of that name, marked invalid (and here of another definition).
	for _, q := range []string{
		`CREATE INDEX ` + index + ` ON shipments (id)`,
		`UPDATE pg_index SET indisvalid = false WHERE indexrelid = '` + index + `'::regclass`,
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if _, ok, _ := valid(); ok {
		t.Fatal("the leftover is valid: the test proves nothing")
	}
	if _, err := p.ApplyVersion(ctx, 27, true); err != nil {
		t.Fatalf("00027 up over an invalid leftover: %v", err)
	}
	wantBuilt("00027 up over an invalid leftover")
}
