package main

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestBackupWhileServing backs the database up while a server takes
// bookings, restores it (the backup and the secret file copied to a new
// place), serves from it, and finds every shipment acknowledged before the
// backup began.
func TestBackupWhileServing(t *testing.T) {
	t.Parallel()
	rig := startLockerRig(t, "sqlite")
	var (
		mu    sync.Mutex
		acked []struct {
			id string
			at time.Time
		}
		stop = make(chan struct{})
		wg   sync.WaitGroup
	)
	for range 3 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				var sh struct{ ID string }
				if status := call(t, "POST", rig.base+"/v1/shipments", rig.key, demoBuildingParcel(), &sh); status == 201 {
					mu.Lock()
					acked = append(acked, struct {
						id string
						at time.Time
					}{sh.ID, time.Now()})
					mu.Unlock()
				}
			}
		})
	}
	time.Sleep(time.Second)
	file := filepath.Join(t.TempDir(), "backup.db")
	began := time.Now()
	code, stdout, stderr := runCmd(t, "backup", "--db", rig.db, file)
	time.Sleep(300 * time.Millisecond) // bookings go on after it
	close(stop)
	wg.Wait()
	if code != 0 || !strings.Contains(stdout, "secret") {
		t.Fatalf("backup: exit %d %q %q", code, stdout, stderr)
	}
	if info, err := os.Stat(file); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("the backup: %v %v; want mode 0600", info, err)
	}
	var before []string
	for _, a := range acked {
		if a.at.Before(began) {
			before = append(before, a.id)
		}
	}
	if len(before) == 0 {
		t.Fatalf("no booking acknowledged before the backup (%d in all)", len(acked))
	}
	// Not over an existing file.
	if code, _, stderr := runCmd(t, "backup", "--db", rig.db, file); code != 1 || !strings.Contains(stderr, "exists") {
		t.Errorf("backup over an existing file: exit %d %q; want a refusal", code, stderr)
	}

	// Restore: the backup and the secret, in a new place.
	restored := filepath.Join(t.TempDir(), "lokero.db")
	copyFile(t, file, restored)
	copyFile(t, rig.db+".secret", restored+".secret")
	// One GET per restored parcel: more than a retailer may send at once.
	base := startServe(t, "--db", restored, "--rate-limit", "retailer=off")
	for _, id := range before {
		var sh struct{ ID string }
		if status := call(t, "GET", base+"/v1/shipments/"+id, rig.key, nil, &sh); status != 200 || sh.ID != id {
			t.Errorf("shipment %s acknowledged before the backup: %d in the restored database", id, status)
		}
	}
	t.Logf("%d shipments acknowledged, %d before the backup, all restored", len(acked), len(before))
}

// TestBackupRefuses: PostgreSQL (pointing to pg_dump), a database that
// does not exist, and a command line without exactly one FILE.
func TestBackupRefuses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"backup", "--db", "postgres://nobody@127.0.0.1:1/x", filepath.Join(dir, "a")}, 1, "pg_dump"},
		{[]string{"backup", "--db", filepath.Join(dir, "none.db"), filepath.Join(dir, "b")}, 1, "no database"},
		{[]string{"backup"}, 2, "exactly one FILE"},
		{[]string{"backup", "x", "y"}, 2, "exactly one FILE"},
	} {
		code, _, stderr := runCmd(t, tt.args...)
		if code != tt.code || !strings.Contains(stderr, tt.want) {
			t.Errorf("lokero %q: exit %d %q; want %d mentioning %q", tt.args, code, stderr, tt.code, tt.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "none.db")); err == nil {
		t.Error("backing up a missing database created it")
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
