package storetest

// Lockers speaking the device protocol: the sequence of the events applied
// from each device credential (Tx.DeviceSequence) and each locker's link
// (DeviceStore). Besides the interface documentation in package lokero,
// the stores agree that:
//
//   - A device sequence belongs to an existing credential (the schema
//     refuses one for an unknown credential) and goes with it.
//   - DeviceSequence serialises the transactions of one credential, also
//     before its first sequence is stored: concurrent read-then-set
//     increments are all counted.
//   - A status and its heartbeat are judged each against the stored one of
//     its kind: a status at the same time as the stored one is applied; an
//     online status later than the stored heartbeat but earlier than the
//     stored status (a late delivery) updates the heartbeat's fields only.
//   - An offline status changes neither the heartbeat, nor the firmware,
//     nor the compartments.
//   - A link's times come back in UTC, to the microsecond; its
//     compartments byte for byte, nil when none were reported.
//   - LockerLinks are ordered by location ID in byte order.

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lokero/lokero"
)

var deviceTests = []struct {
	name string
	fn   func(t *testing.T, s Store)
}{
	{"DeviceSequence", testDeviceSequence},
	{"DeviceSequenceConcurrent", testDeviceSequenceConcurrent},
	{"AdvanceDeviceSequence", testAdvanceDeviceSequence},
	{"DeviceSequenceNeedsCredential", testDeviceSequenceNeedsCredential},
	{"LockerStatus", testLockerStatus},
	{"LockerStatusConcurrent", testLockerStatusConcurrent},
	{"LockerLinks", testLockerLinks},
}

// deviceCredential returns the device credential id of the locker.
func deviceCredential(id, locationID string) lokero.Credential {
	return lokero.Credential{ID: id, Kind: lokero.KindDevice, Name: "locker " + locationID,
		LocationID: locationID, CreatedAt: t0}
}

// deviceSequence reads a credential's sequence in a transaction of its own.
func deviceSequence(t *testing.T, s Store, credentialID string) int64 {
	t.Helper()
	var seq int64
	mustInTx(t, s, func(tx lokero.Tx) error {
		var err error
		seq, err = tx.DeviceSequence(t.Context(), credentialID)
		return err
	})
	return seq
}

func testDeviceSequence(t *testing.T, s Store) {
	ctx := t.Context()
	mustCreateCredentials(t, s, deviceCredential("d-1", "locker-1"), deviceCredential("d-2", "locker-2"))
	for _, id := range []string{"d-1", "d-2", "nobody"} {
		if got := deviceSequence(t, s, id); got != 0 {
			t.Fatalf("DeviceSequence(%s) with none stored = %d, want 0", id, got)
		}
	}

	mustInTx(t, s, func(tx lokero.Tx) error {
		if err := tx.SetDeviceSequence(ctx, "d-1", "locker-1", 7); err != nil {
			return err
		}
		if got, err := tx.DeviceSequence(ctx, "d-1"); err != nil || got != 7 {
			return fmt.Errorf("DeviceSequence in the setting transaction = %d, %v; want 7", got, err)
		}
		return nil
	})
	if got := deviceSequence(t, s, "d-1"); got != 7 {
		t.Errorf("DeviceSequence(d-1) after setting 7 = %d", got)
	}
	if got := deviceSequence(t, s, "d-2"); got != 0 {
		t.Errorf("DeviceSequence(d-2) after setting d-1's = %d, want 0", got)
	}

	// Large values, and each credential its own.
	const big = int64(1) << 40
	mustInTx(t, s, func(tx lokero.Tx) error { return tx.SetDeviceSequence(ctx, "d-2", "locker-2", big) })
	mustInTx(t, s, func(tx lokero.Tx) error { return tx.SetDeviceSequence(ctx, "d-1", "locker-1", 8) })
	if got1, got2 := deviceSequence(t, s, "d-1"), deviceSequence(t, s, "d-2"); got1 != 8 || got2 != big {
		t.Errorf("DeviceSequence(d-1), (d-2) = %d, %d; want 8, %d", got1, got2, big)
	}

	// A rolled-back set leaves the sequence as it was, the first one as well.
	errRollback := errors.New("roll back")
	for _, id := range []string{"d-1", "d-2"} {
		err := s.InTx(ctx, func(tx lokero.Tx) error {
			if err := tx.SetDeviceSequence(ctx, id, "locker-x", 1000); err != nil {
				return err
			}
			return errRollback
		})
		if !errors.Is(err, errRollback) {
			t.Fatalf("InTx = %v, want %v", err, errRollback)
		}
	}
	if got1, got2 := deviceSequence(t, s, "d-1"), deviceSequence(t, s, "d-2"); got1 != 8 || got2 != big {
		t.Errorf("after rolled-back sets: DeviceSequence(d-1), (d-2) = %d, %d; want 8, %d", got1, got2, big)
	}
	mustCreateCredentials(t, s, deviceCredential("d-3", "locker-3"))
	err := s.InTx(ctx, func(tx lokero.Tx) error {
		if err := tx.SetDeviceSequence(ctx, "d-3", "locker-3", 5); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("InTx = %v, want %v", err, errRollback)
	}
	if got := deviceSequence(t, s, "d-3"); got != 0 {
		t.Errorf("DeviceSequence after a rolled-back first set = %d, want 0", got)
	}
}

// testAdvanceDeviceSequence records an event only when it directly
// follows the stored one, and then holds the sequence as DeviceSequence
// does: of concurrent deliveries of one event, one advances it.
func testAdvanceDeviceSequence(t *testing.T, s Store) {
	ctx := t.Context()
	mustCreateCredentials(t, s, deviceCredential("d-1", "locker-1"))
	advance := func(seq int64, want bool) {
		t.Helper()
		mustInTx(t, s, func(tx lokero.Tx) error {
			ok, err := tx.AdvanceDeviceSequence(ctx, "d-1", "locker-1", seq)
			if err != nil || ok != want {
				t.Errorf("AdvanceDeviceSequence(%d) = %v, %v; want %v", seq, ok, err, want)
			}
			return nil
		})
	}
	advance(1, false) // none stored yet: the caller's DeviceSequence decides
	if got := deviceSequence(t, s, "d-1"); got != 0 {
		t.Fatalf("after a refused first advance: %d; want 0", got)
	}
	mustInTx(t, s, func(tx lokero.Tx) error { return tx.SetDeviceSequence(ctx, "d-1", "locker-1", 1) })
	advance(2, true)
	advance(2, false) // a duplicate
	advance(4, false) // a gap
	advance(1, false)
	if got := deviceSequence(t, s, "d-1"); got != 2 {
		t.Fatalf("after advancing to 2 and refusing 2, 4, 1: %d; want 2", got)
	}
	// Rolled back with its transaction.
	errRollback := errors.New("roll back")
	err := s.InTx(ctx, func(tx lokero.Tx) error {
		if ok, err := tx.AdvanceDeviceSequence(ctx, "d-1", "locker-1", 3); err != nil || !ok {
			return fmt.Errorf("advance to 3: %v, %v", ok, err)
		}
		if got, err := tx.DeviceSequence(ctx, "d-1"); err != nil || got != 3 {
			return fmt.Errorf("DeviceSequence in the advancing transaction = %d, %v; want 3", got, err)
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("InTx = %v, want %v", err, errRollback)
	}
	if got := deviceSequence(t, s, "d-1"); got != 2 {
		t.Fatalf("after a rolled-back advance: %d; want 2", got)
	}
	// Ten deliveries of event 3 at once: one advances, the others find 3
	// stored when they read it.
	var (
		wg               sync.WaitGroup
		mu               sync.Mutex
		advanced, stored int
		start            = make(chan struct{})
	)
	for range 10 {
		wg.Go(func() {
			<-start
			err := s.InTx(ctx, func(tx lokero.Tx) error {
				ok, err := tx.AdvanceDeviceSequence(ctx, "d-1", "locker-1", 3)
				if err != nil {
					return err
				}
				time.Sleep(2 * time.Millisecond) // hold it, as applying the event does
				seq, err := tx.DeviceSequence(ctx, "d-1")
				mu.Lock()
				defer mu.Unlock()
				if ok {
					advanced++
				} else if seq == 3 {
					stored++
				}
				return err
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	close(start)
	wg.Wait()
	if advanced != 1 || stored != 9 {
		t.Errorf("ten deliveries of event 3: %d advanced, %d found it applied; want 1 and 9", advanced, stored)
	}
}

// testDeviceSequenceConcurrent increments the sequences of a few
// credentials from many transactions at once, all starting together while
// no sequence is stored yet: each reads, then sets one more, and none may
// be lost (not even the first, when there is no row to lock).
func testDeviceSequenceConcurrent(t *testing.T, s Store) {
	ctx := t.Context()
	const creds, workers, rounds = 4, 12, 3
	for c := range creds {
		mustCreateCredentials(t, s, deviceCredential(fmt.Sprintf("d-%d", c), fmt.Sprintf("locker-%d", c)))
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			<-start
			for r := range rounds {
				c := (w + r) % creds
				id := fmt.Sprintf("d-%d", c)
				err := s.InTx(ctx, func(tx lokero.Tx) error {
					seq, err := tx.DeviceSequence(ctx, id)
					if err != nil {
						return err
					}
					time.Sleep(2 * time.Millisecond) // widen the race a lock must close
					return tx.SetDeviceSequence(ctx, id, fmt.Sprintf("locker-%d", c), seq+1)
				})
				if err != nil {
					t.Errorf("worker %d round %d: %v", w, r, err)
				}
			}
		})
	}
	close(start)
	wg.Wait()
	for c := range creds {
		// Each credential got exactly its own increments.
		want := 0
		for w := range workers {
			for r := range rounds {
				if (w+r)%creds == c {
					want++
				}
			}
		}
		if got := deviceSequence(t, s, fmt.Sprintf("d-%d", c)); got != int64(want) {
			t.Errorf("%d concurrent increments of d-%d counted as %d", want, c, got)
		}
	}
}

// testDeviceSequenceNeedsCredential: a sequence of an unknown credential
// is refused, and a credential's sequence goes with it.
func testDeviceSequenceNeedsCredential(t *testing.T, s Store) {
	ctx := t.Context()
	if err := s.InTx(ctx, func(tx lokero.Tx) error {
		return tx.SetDeviceSequence(ctx, "nobody", "locker-1", 1)
	}); err == nil {
		t.Error("SetDeviceSequence of an unknown credential succeeded")
	}
	if got := deviceSequence(t, s, "nobody"); got != 0 {
		t.Errorf("DeviceSequence(nobody) = %d, want 0", got)
	}

	raw, ok := s.(interface{ SQL() *sql.DB })
	if !ok {
		t.Fatalf("the store (%T) does not give its SQL handle (SQL() *sql.DB), which this suite needs to check the cascade", s)
	}
	mustCreateCredentials(t, s, deviceCredential("d-1", "locker-1"))
	mustInTx(t, s, func(tx lokero.Tx) error { return tx.SetDeviceSequence(ctx, "d-1", "locker-1", 3) })
	if _, err := raw.SQL().ExecContext(ctx, `DELETE FROM credentials WHERE id = 'd-1'`); err != nil {
		t.Fatalf("delete a credential with a sequence: %v", err)
	}
	var n int
	if err := raw.SQL().QueryRowContext(ctx, `SELECT count(*) FROM device_sequences`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d device sequences left after their credential was deleted", n)
	}
}

// mustRecordStatus records a locker's status.
func mustRecordStatus(t *testing.T, s Store, loc string, online bool, at time.Time, firmware string, compartments []byte) {
	t.Helper()
	if err := s.RecordLockerStatus(t.Context(), loc, online, at, firmware, compartments); err != nil {
		t.Fatalf("RecordLockerStatus(%s, %v, %v): %v", loc, online, at, err)
	}
}

// checkLink fails t unless the stored link of want's locker is want as
// stored: times in UTC to the microsecond.
func checkLink(t *testing.T, s Store, what string, want lokero.LockerLink) {
	t.Helper()
	got, err := s.LockerLink(t.Context(), want.LocationID)
	if err != nil {
		t.Fatalf("%s: LockerLink(%s): %v", what, want.LocationID, err)
	}
	compareLink(t, what, got, want)
}

func compareLink(t *testing.T, what string, got, want lokero.LockerLink) {
	t.Helper()
	for _, tm := range []*time.Time{&want.ChangedAt, &want.HeartbeatAt} {
		if !tm.IsZero() {
			*tm = tm.UTC().Truncate(time.Microsecond)
		}
	}
	for _, tm := range []time.Time{got.ChangedAt, got.HeartbeatAt} {
		if !tm.IsZero() && tm.Location() != time.UTC {
			t.Errorf("%s: time %v not in UTC", what, tm)
		}
	}
	if got.LocationID != want.LocationID || got.Online != want.Online || !got.ChangedAt.Equal(want.ChangedAt) ||
		!got.HeartbeatAt.Equal(want.HeartbeatAt) || got.Firmware != want.Firmware ||
		!bytes.Equal(got.Compartments, want.Compartments) || (got.Compartments == nil) != (want.Compartments == nil) {
		t.Errorf("%s:\n got %+v (compartments %q)\nwant %+v (compartments %q)", what, got, got.Compartments,
			want, want.Compartments)
	}
}

func testLockerStatus(t *testing.T, s Store) {
	ctx := t.Context()
	_, err := s.LockerLink(ctx, "locker-1")
	checkError(t, err, lokero.ENOTFOUND, "")

	at := func(minutes int) time.Time { return t0.Add(time.Duration(minutes)*time.Minute + 789).In(helsinki) }
	c1 := []byte(`[{"number":1,"door":"closed","occupied":true},  {"number":2,"door":"open","note":"ä"}]`)
	c2 := []byte(`[{"number":1,"door":"open"}]`)

	// A first status online is a heartbeat too.
	mustRecordStatus(t, s, "locker-1", true, at(10), "1.0.0", c1)
	want := lokero.LockerLink{LocationID: "locker-1", Online: true, ChangedAt: at(10), HeartbeatAt: at(10),
		Firmware: "1.0.0", Compartments: c1}
	checkLink(t, s, "first status", want)

	for _, step := range []struct {
		what         string
		online       bool
		at           int
		firmware     string
		compartments []byte
		change       func(l *lokero.LockerLink)
	}{
		{"a heartbeat without firmware nor compartments keeps them", true, 20, "", nil,
			func(l *lokero.LockerLink) { l.ChangedAt, l.HeartbeatAt = at(20), at(20) }},
		{"a heartbeat with firmware and compartments changes them", true, 30, "1.1.0", c2,
			func(l *lokero.LockerLink) {
				l.ChangedAt, l.HeartbeatAt, l.Firmware, l.Compartments = at(30), at(30), "1.1.0", c2
			}},
		{"an earlier heartbeat changes nothing", true, 25, "0.9.0", c1, nil},
		{"an earlier offline status changes nothing", false, 5, "", nil, nil},
		{"offline keeps the heartbeat's fields", false, 40, "", nil,
			func(l *lokero.LockerLink) { l.Online, l.ChangedAt = false, at(40) }},
		{"offline ignores firmware and compartments", false, 41, "9.9.9", c1,
			func(l *lokero.LockerLink) { l.ChangedAt = at(41) }},
		{"an earlier online status changes nothing", true, 29, "0.9.0", c1, nil},
		{"a late heartbeat, before the stored status but after the stored heartbeat, updates the heartbeat only",
			true, 35, "1.2.0", c1,
			func(l *lokero.LockerLink) { l.HeartbeatAt, l.Firmware, l.Compartments = at(35), "1.2.0", c1 }},
		{"a later online status changes both", true, 50, "", nil,
			func(l *lokero.LockerLink) { l.Online, l.ChangedAt, l.HeartbeatAt = true, at(50), at(50) }},
		{"the same status again changes nothing", true, 50, "", nil, nil},
		{"a status at the same time as the stored one is applied", false, 50, "", nil,
			func(l *lokero.LockerLink) { l.Online = false }},
	} {
		mustRecordStatus(t, s, "locker-1", step.online, at(step.at), step.firmware, step.compartments)
		if step.change != nil {
			step.change(&want)
		}
		checkLink(t, s, step.what, want)
	}

	// A first status offline: no heartbeat, no firmware, no compartments;
	// the other locker is left alone.
	mustRecordStatus(t, s, "locker-2", false, at(60), "", nil)
	checkLink(t, s, "a first status offline",
		lokero.LockerLink{LocationID: "locker-2", ChangedAt: at(60)})
	checkLink(t, s, "another locker's status", want)
	// Its first heartbeat, earlier than its status, is still its first.
	mustRecordStatus(t, s, "locker-2", true, at(55), "2.0.0", nil)
	checkLink(t, s, "a late first heartbeat",
		lokero.LockerLink{LocationID: "locker-2", ChangedAt: at(60), HeartbeatAt: at(55), Firmware: "2.0.0"})
}

// testLockerStatusConcurrent records statuses of one locker, which has
// none yet, from many goroutines in a random order: the latest status and
// the latest heartbeat win, whatever order they arrive in.
func testLockerStatusConcurrent(t *testing.T, s Store) {
	ctx := t.Context()
	const n = 24
	order := rand.Perm(n)
	var wg sync.WaitGroup
	for _, i := range order {
		wg.Go(func() {
			online := i%3 != 2 // the last (23) is offline, the one before (22) online
			at := t0.Add(time.Duration(i) * time.Second)
			err := s.RecordLockerStatus(ctx, "locker-c", online, at, fmt.Sprintf("fw-%02d", i),
				fmt.Appendf(nil, `{"i":%d}`, i))
			if err != nil {
				t.Errorf("RecordLockerStatus %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	checkLink(t, s, fmt.Sprintf("after %d concurrent statuses", n), lokero.LockerLink{LocationID: "locker-c",
		Online: false, ChangedAt: t0.Add((n - 1) * time.Second), HeartbeatAt: t0.Add((n - 2) * time.Second),
		Firmware: fmt.Sprintf("fw-%02d", n-2), Compartments: fmt.Appendf(nil, `{"i":%d}`, n-2)})
}

func testLockerLinks(t *testing.T, s Store) {
	ctx := t.Context()
	list, err := s.LockerLinks(ctx)
	if err != nil || len(list) != 0 {
		t.Fatalf("LockerLinks of an empty store = %+v, %v", list, err)
	}
	ids := []string{"b", "A", "a", "B", "a-2", "a.1", "a_1", "Z9", "0", "10", "9", "zz", "Ä"}
	want := map[string]lokero.LockerLink{}
	for i, id := range ids {
		at := t0.Add(time.Duration(i) * time.Hour)
		l := lokero.LockerLink{LocationID: id, Online: i%2 == 0, ChangedAt: at}
		if l.Online {
			l.HeartbeatAt, l.Firmware = at, "fw "+id
		}
		mustRecordStatus(t, s, id, l.Online, at, l.Firmware, nil)
		want[id] = l
	}
	list, err = s.LockerLinks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range list {
		got = append(got, l.LocationID)
	}
	sorted := slices.Clone(ids)
	slices.SortFunc(sorted, strings.Compare)
	if !slices.Equal(got, sorted) {
		t.Fatalf("LockerLinks IDs = %q, want byte order %q", got, sorted)
	}
	for _, l := range list {
		compareLink(t, "LockerLinks "+l.LocationID, l, want[l.LocationID])
	}
	_, err = s.LockerLink(ctx, "missing")
	checkError(t, err, lokero.ENOTFOUND, "")
}
