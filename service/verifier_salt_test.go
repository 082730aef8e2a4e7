package service_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/calendar"
	"github.com/lokero/lokero/locker"
	"github.com/lokero/lokero/pgtest"
	"github.com/lokero/lokero/postgres"
	"github.com/lokero/lokero/service"
	"github.com/lokero/lokero/sqlite"
)

// The centre keeps the verifiers it derives for controllers without a
// board key (locker_verifiers) with the SHA-256 of the locker's salt, never
// the salt: the salt is derived from the code secret, and with it a copy
// of the database alone would let anyone test guessed codes against the
// kept verifiers.

// sha256Of is the SHA-256 of b, as a slice.
func sha256Of(b []byte) []byte {
	sum := sha256.Sum256(b)
	return sum[:]
}

// readyAtM5 makes a parcel ready in a compartment of LOCKER-M5 (its door
// closed as event seq) and returns it with its opening code.
func (f lockersFixture) readyAtM5(t *testing.T, seq int64) (lokero.Shipment, string) {
	t.Helper()
	sh, n := f.depositedAtM5(t)
	f.apply(t, service.DeviceEvent{Seq: seq, Type: service.DeviceEventDoorClosed, Compartment: n})
	msgs, err := sentMessages(context.Background(), f.lockers, 1)
	if err != nil || len(msgs) == 0 {
		t.Fatalf("outbox: %d messages, %v", len(msgs), err)
	}
	return sh, codePattern.FindStringSubmatch(msgs[0].Text)[1]
}

// verifierColumns reads every column of every row of locker_verifiers
// as stored, by column name. when names the schema in the statement's
// text: pgx keeps statements prepared by their text, and one prepared
// before a migration changed the table's columns fails after it ("cached
// plan must not change result type").
func verifierColumns(t *testing.T, db *sql.DB, when string) []map[string][]byte {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), `SELECT * FROM locker_verifiers -- `+when)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string][]byte
	for rows.Next() {
		vals := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := make(map[string][]byte, len(cols))
		for i, c := range cols {
			row[c] = bytes.Clone(vals[i])
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// wantNoSalt fails t when a stored verifier holds salt in any column.
func wantNoSalt(t *testing.T, what string, db *sql.DB, salt []byte) {
	t.Helper()
	for _, row := range verifierColumns(t, db, what) {
		for c, b := range row {
			if bytes.Contains(b, salt) {
				t.Errorf("%s: column %s of a stored verifier holds the locker's salt", what, c)
			}
		}
	}
}

// plant makes the verifier kept of a shipment hash, kept with keptSalt in
// salt_sha256, through SQL: what PutVerifier refuses (a salt where its
// SHA-256 goes) included.
func plant(t *testing.T, db *sql.DB, shipmentID string, keptSalt, hash []byte) {
	t.Helper()
	res, err := db.ExecContext(context.Background(),
		`UPDATE locker_verifiers SET salt_sha256 = $1, hash = $2 WHERE shipment_id = $3`, keptSalt, hash, shipmentID)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		t.Fatalf("planting the verifier of %s: %d rows, %v", shipmentID, n, err)
	}
}

// TestKeptVerifierSalt: a verifier kept for a controller without a board
// key is stored with the SHA-256 of its salt, not the salt, and is reused,
// by the next sync and by Recheck, exactly when the salt it was made under
// is the locker's salt now: a new key of the code secret (a new salt), or a
// row that still holds the salt itself, gets the verifier derived again.
func TestKeptVerifierSalt(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		f.device.BoardKey = "" // provisioned before boards derived: the centre derives and keeps its verifiers
		ctx := context.Background()
		db := f.store.SQL()
		sh, code := f.readyAtM5(t, 1)

		// The same store under a keyring with a new key in front: the
		// locker's salt changes, the parcel's code (of the old key) stays.
		keyring, err := locker.NewKeyring(locker.Key{Generation: 1, Secret: []byte(strings.Repeat("t", 32))},
			locker.Key{Generation: 0, Secret: []byte(strings.Repeat("s", 32))})
		if err != nil {
			t.Fatal(err)
		}
		rotated := service.NewLockers(f.store, f.dir, calendar.Default(), f.clock, nil, keyring, slog.New(slog.DiscardHandler))

		sync := func(l *service.Lockers) (service.DeviceSync, service.ExpectedPickup) {
			t.Helper()
			s, err := l.Sync(ctx, f.device, "LOCKER-M5")
			if err != nil || len(s.Pickups) != 1 || s.Pickups[0].ShipmentID != sh.ID {
				t.Fatalf("sync: %+v, %v; want %s", s.Pickups, err, sh.ID)
			}
			return s, s.Pickups[0]
		}
		base, basePickup := sync(f.lockers)
		if !bytes.Equal(basePickup.Verifier, base.KDF.Verifier(code, base.Salt)) {
			t.Fatal("the first sync's verifier does not match the code")
		}
		wantNoSalt(t, "after the first sync", db, base.Salt)
		next, nextPickup := sync(rotated)
		if bytes.Equal(next.Salt, base.Salt) {
			t.Fatal("a new key of the secret keeps the locker's salt")
		}

		planted := []byte("planted: reused, not derived")
		for _, tc := range []struct {
			name     string
			lockers  *service.Lockers
			salt     []byte                 // the locker's salt under lockers
			other    service.ExpectedPickup // made under the other salt, for Recheck
			keptSalt []byte                 // what the kept row holds in salt_sha256
			reused   bool
		}{
			{"the salt's SHA-256", f.lockers, base.Salt, nextPickup, sha256Of(base.Salt), true},
			{"the salt itself, as kept before 00028", f.lockers, base.Salt, nextPickup, base.Salt, false},
			{"an older salt's SHA-256, after a new key", rotated, next.Salt, basePickup, sha256Of(base.Salt), false},
			{"the new salt's SHA-256", rotated, next.Salt, basePickup, sha256Of(next.Salt), true},
		} {
			l := tc.lockers
			wantVerifier := base.KDF.Verifier(code, tc.salt)
			if tc.reused {
				wantVerifier = planted
			}
			check := func(how string, got service.ExpectedPickup, err error) {
				t.Helper()
				if err != nil || !bytes.Equal(got.Verifier, wantVerifier) {
					t.Errorf("%s, %s: verifier %q, %v; want %q", tc.name, how, got.Verifier, err, wantVerifier)
				}
				kept, err := f.store.Verifiers(ctx, []string{sh.ID})
				if v := kept[sh.ID]; err != nil || !bytes.Equal(v.SaltSHA256, sha256Of(tc.salt)) || !bytes.Equal(v.Hash, wantVerifier) {
					t.Errorf("%s, %s: kept %x with salt SHA-256 %x, %v; want %x with %x", tc.name, how, v.Hash, v.SaltSHA256, err, wantVerifier, sha256Of(tc.salt))
				}
				wantNoSalt(t, tc.name+", "+how, db, tc.salt)
			}

			plant(t, db, sh.ID, tc.keptSalt, planted)
			s, err := l.Sync(ctx, f.device, "LOCKER-M5")
			var p service.ExpectedPickup
			if len(s.Pickups) == 1 {
				p = s.Pickups[0]
			}
			check("the next sync", p, err)

			plant(t, db, sh.ID, tc.keptSalt, planted)
			p, ok, err := l.Recheck(ctx, f.device, "LOCKER-M5", tc.other)
			if !ok {
				t.Errorf("%s: Recheck says the parcel no longer waits", tc.name)
			}
			check("Recheck", p, err)
		}
	})
}

// migrationStores open a store of each kind at a place the test knows,
// with the dialect and directory of its migrations.
var migrationStores = []struct {
	name    string
	dialect goose.Dialect
	dir     string // the package whose migrations/ the store embeds
	open    func(t *testing.T) (st lockerStore, path string)
}{
	{"sqlite", goose.DialectSQLite3, "../sqlite", func(t *testing.T) (lockerStore, string) {
		path := filepath.Join(t.TempDir(), "lockers.db")
		st, err := sqlite.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		return st, path
	}},
	{"postgres", goose.DialectPostgres, "../postgres", func(t *testing.T) (lockerStore, string) {
		url, err := pgtest.Require(t).CreateDatabase(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		st, err := postgres.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		return st, ""
	}},
}

// TestVerifierSaltMigration runs migration 00028 on a database whose kept
// verifiers hold their salt, as before it: back down, the rows put back as
// the code before kept them, then up again. No row holds the salt after.
// PostgreSQL keeps each verifier with the salt's SHA-256, and the next
// sync reuses it; SQLite, which has no SHA-256 function, forgets them and
// the next sync derives them again, and its file keeps no salt either.
func TestVerifierSaltMigration(t *testing.T) {
	t.Parallel()
	for _, ms := range migrationStores {
		t.Run(ms.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st, path := ms.open(t)
			f := newLockers(t, st)
			f.device.BoardKey = "" // the centre derives and keeps its verifiers
			db := st.SQL()
			a, _ := f.readyAtM5(t, 1)
			b, _ := f.readyAtM5(t, 2)
			s, err := f.lockers.Sync(ctx, f.device, "LOCKER-M5")
			if err != nil || len(s.Pickups) != 2 {
				t.Fatalf("sync: %+v, %v; want two pickups", s.Pickups, err)
			}
			derived := map[string][]byte{}
			for _, p := range s.Pickups {
				derived[p.ShipmentID] = p.Verifier
			}

			sub, err := fs.Sub(os.DirFS(ms.dir), "migrations")
			if err != nil {
				t.Fatal(err)
			}
			p, err := goose.NewProvider(ms.dialect, db, sub, goose.WithDisableGlobalRegistry(true))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.ApplyVersion(ctx, 28, false); err != nil {
				t.Fatalf("00028 down: %v", err)
			}
			// The rows as the code before 00028 kept them: the salt itself;
			// and a hash of their own, to tell a kept verifier from one
			// derived again.
			kept := []byte("kept before 00028")
			if _, err := db.ExecContext(ctx, `UPDATE locker_verifiers SET salt = $1, hash = $2`, s.Salt, kept); err != nil {
				t.Fatal(err)
			}
			before := verifierColumns(t, db, "before 00028")
			if len(before) != 2 || !bytes.Equal(before[0]["salt"], s.Salt) {
				t.Fatalf("before 00028: %d rows, the first's salt %x; want 2 with %x", len(before), before[0]["salt"], s.Salt)
			}
			if _, err := p.ApplyVersion(ctx, 28, true); err != nil {
				t.Fatalf("00028 up: %v", err)
			}

			after := verifierColumns(t, db, "after 00028")
			wantNoSalt(t, "after 00028", db, s.Salt)
			want := map[string][]byte{a.ID: kept, b.ID: kept} // the verifiers the next sync gives
			switch ms.name {
			case "postgres":
				if len(after) != 2 {
					t.Fatalf("after 00028: %d rows; want both kept", len(after))
				}
				for _, row := range after {
					if !bytes.Equal(row["salt_sha256"], sha256Of(s.Salt)) || !bytes.Equal(row["hash"], kept) {
						t.Errorf("after 00028: %s kept with salt_sha256 %x, hash %q; want %x, %q",
							row["shipment_id"], row["salt_sha256"], row["hash"], sha256Of(s.Salt), kept)
					}
				}
			case "sqlite":
				if len(after) != 0 {
					t.Fatalf("after 00028: %d rows; want none (derived again)", len(after))
				}
				want = derived
				// Nor do the file's free pages keep the salt (secure_delete).
				if _, err := db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
					t.Fatal(err)
				}
				for _, name := range []string{path, path + "-wal"} {
					b, err := os.ReadFile(name)
					if err != nil && !os.IsNotExist(err) {
						t.Fatal(err)
					}
					if bytes.Contains(b, s.Salt) {
						t.Errorf("%s holds the locker's salt after 00028", filepath.Base(name))
					}
				}
			}

			again, err := f.lockers.Sync(ctx, f.device, "LOCKER-M5")
			if err != nil || len(again.Pickups) != 2 {
				t.Fatalf("sync after 00028: %+v, %v; want two pickups", again.Pickups, err)
			}
			for _, p := range again.Pickups {
				if !bytes.Equal(p.Verifier, want[p.ShipmentID]) {
					t.Errorf("sync after 00028: %s's verifier %q; want %q", p.ShipmentID, p.Verifier, want[p.ShipmentID])
				}
			}
			wantNoSalt(t, "after the next sync", db, s.Salt)
		})
	}
}
