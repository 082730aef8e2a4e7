package storetest

// Pickup point status: the status fields of a location, and its events.
// Besides the interface documentation in package lokero, the stores agree
// that
//
//   - a nil or empty ExceptionDays or Functions comes back as nil, and the
//     status fields come back exactly as written (the store normalises
//     nothing: an empty Status stays empty);
//   - UpsertLocations appends its events at the row's updated_at, by
//     lokero.ActorImport; an update that changes only other fields (the
//     name, the hours) appends none;
//   - UpdateLocation numbers events after every earlier one, imports
//     included, without gaps or repeats even when run concurrently; it sets
//     the event's LocationID and Seq whatever the caller passed;
//   - a failed UpsertLocations appends no event;
//   - PatchLocation and UpsertLocationsKeeping hand their function the row
//     as stored at the write, read locked: concurrent patches of one
//     location lose none of each other's changes.

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lokero/lokero"
)

var locationStatusTests = []struct {
	name string
	fn   func(t *testing.T, s Store)
}{
	{"LocationStatusRoundTrip", testLocationStatusRoundTrip},
	{"UpdateLocationNotFound", testUpdateLocationNotFound},
	{"UpdateLocationNumbersEvents", testUpdateLocationNumbersEvents},
	{"UpdateLocationDefaults", testUpdateLocationDefaults},
	{"UpdateLocationConcurrent", testUpdateLocationConcurrent},
	{"UpsertAppendsImportEvents", testUpsertAppendsImportEvents},
	{"UpsertFailingBatchAppendsNoEvent", testUpsertFailingBatchAppendsNoEvent},
	{"PatchLocation", testPatchLocation},
	{"PatchLocationUnchangedOrRefused", testPatchLocationUnchangedOrRefused},
	{"PatchLocationConcurrent", testPatchLocationConcurrent},
	{"UpsertLocationsKeeping", testUpsertLocationsKeeping},
}

// closedLocker returns locker(id) temporarily closed, with every status
// field set; its exception days and functions are deliberately not in
// the order Normalize would sort them, so that the store is seen to keep
// the order it is given.
func closedLocker(id string) lokero.Location {
	l := locker(id)
	l.Status = lokero.LocationTemporarilyClosed
	l.StatusFrom, l.StatusUntil = "2026-12-20", "2027-01-06"
	l.StatusReason = "renovation – remontti ”ä”"
	l.ExceptionDays = []lokero.ExceptionDay{
		{Date: "2026-12-24", From: "10:00", To: "14:00", Reason: "Christmas Eve"},
		{Date: "2026-06-19", Closed: true, Reason: "Midsummer Eve"},
		{Date: "2026-06-20", Closed: true},
		{Date: "2026-12-31", From: "00:00", To: "24:00"},
	}
	l.Functions = []string{lokero.FunctionReturn, lokero.FunctionCollect}
	return l
}

// notYetOpen returns postOffice(id), opening later.
func notYetOpen(id string) lokero.Location {
	l := postOffice(id)
	l.Status, l.OpensOn, l.StatusReason = lokero.LocationNotYetOpen, "2027-02-01", "new building"
	l.Functions = []string{lokero.FunctionCollect, lokero.FunctionSend, lokero.FunctionReturn}
	return l
}

func mustEvents(t *testing.T, s Store, id string) []lokero.LocationEvent {
	t.Helper()
	evs, err := s.LocationEvents(t.Context(), id)
	if err != nil {
		t.Fatalf("LocationEvents(%q): %v", id, err)
	}
	return evs
}

// checkEvents fails t unless the location's events are want: the same
// numbers, instants (returned in UTC), actors and changes.
func checkEvents(t *testing.T, s Store, id string, want []lokero.LocationEvent) {
	t.Helper()
	got := mustEvents(t, s, id)
	if len(got) != len(want) {
		t.Fatalf("location %s: %d events, want %d:\n got %+v\nwant %+v", id, len(got), len(want), got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.LocationID != id || g.Seq != w.Seq || g.Actor != w.Actor || !g.At.Equal(w.At) || !g.Change.Equal(w.Change) {
			t.Errorf("location %s: event %d:\n got %+v\nwant %+v", id, i, g, w)
		}
		if g.At.Location() != time.UTC {
			t.Errorf("location %s: event %d: At %v not in UTC", id, g.Seq, g.At)
		}
	}
}

func importEvent(l lokero.Location, seq int) lokero.LocationEvent {
	return lokero.LocationEvent{LocationID: l.ID, Seq: seq, At: l.UpdatedAt, Actor: lokero.ActorImport, Change: l.Change()}
}

func testLocationStatusRoundTrip(t *testing.T, s Store) {
	a, b, c := closedLocker("a"), notYetOpen("b"), locker("c")
	c.Status = lokero.LocationClosed
	c.StatusReason = "demolished"
	c.ExceptionDays = []lokero.ExceptionDay{}
	c.Functions = []string{lokero.FunctionSend}
	mustUpsert(t, s, []lokero.Location{a, b, c}, lokero.UpsertResult{Inserted: 3})
	for _, want := range []lokero.Location{a, b, c} {
		checkLocation(t, mustLocation(t, s, want.ID), want)
	}
	all, err := s.Locations(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 {
		t.Fatalf("Locations: %d, want 3", len(all))
	}
	checkLocation(t, all[0], a)
	checkLocation(t, all[1], b)
	checkLocation(t, all[2], c)
	// The events hold the status fields too, in their order.
	checkEvents(t, s, a.ID, []lokero.LocationEvent{importEvent(a, 1)})
	if got := mustEvents(t, s, a.ID)[0].Change; len(got.ExceptionDays) != 4 || got.ExceptionDays[0].Date != "2026-12-24" ||
		got.Functions[0] != lokero.FunctionReturn {
		t.Errorf("event change lost the order: %+v", got)
	}

	// Every field changed, through UpsertLocations then UpdateLocation.
	a2 := a
	a2.Status, a2.StatusFrom, a2.StatusUntil, a2.StatusReason = lokero.LocationNotYetOpen, "", "", "moving"
	a2.OpensOn = "2027-03-01"
	a2.ExceptionDays = []lokero.ExceptionDay{{Date: "2027-03-02", Closed: true, Reason: "inventory"}}
	a2.Functions = []string{lokero.FunctionCollect, lokero.FunctionSend}
	a2.WheelchairAccess = !a.WheelchairAccess
	a2.UpdatedAt = t0.Add(5 * time.Hour)
	mustUpsert(t, s, []lokero.Location{a2}, lokero.UpsertResult{Updated: 1})
	checkLocation(t, mustLocation(t, s, a.ID), a2)

	a3 := a2
	a3.Status, a3.OpensOn, a3.StatusReason = lokero.LocationOpen, "", ""
	a3.ExceptionDays, a3.Functions = nil, nil
	a3.Name = "renamed by the operator"
	a3.UpdatedAt = t0.Add(6 * time.Hour)
	a3.CreatedAt = t0.Add(6 * time.Hour) // ignored: the stored created_at stays
	if err := s.UpdateLocation(t.Context(), a3, lokero.LocationEvent{At: a3.UpdatedAt, Actor: "op", Change: a3.Change()}); err != nil {
		t.Fatalf("UpdateLocation: %v", err)
	}
	want := a3
	want.CreatedAt = a.CreatedAt
	checkLocation(t, mustLocation(t, s, a.ID), want)
}

func testUpdateLocationNotFound(t *testing.T, s Store) {
	isNotFound := func(what string, err error) {
		t.Helper()
		var e *lokero.Error
		if !errors.As(err, &e) || e.Code != lokero.ENOTFOUND {
			t.Errorf("%s = %v (%T), want a *lokero.Error with code %s", what, err, err, lokero.ENOTFOUND)
		}
	}
	for _, seed := range [][]lokero.Location{nil, {locker("present")}} {
		mustUpsert(t, s, seed, lokero.UpsertResult{Inserted: len(seed)})
		missing := closedLocker("missing")
		isNotFound("UpdateLocation(missing)", s.UpdateLocation(t.Context(), missing,
			lokero.LocationEvent{At: t0, Actor: "op", Change: missing.Change()}))
		_, err := s.LocationEvents(t.Context(), "missing")
		isNotFound("LocationEvents(missing)", err)
		_, err = s.Location(t.Context(), "missing")
		isNotFound("Location(missing) after UpdateLocation", err)
		checkCount(t, s, len(seed))
	}
	// The present location is untouched, and keeps its one event.
	checkEvents(t, s, "present", []lokero.LocationEvent{importEvent(locker("present"), 1)})
}

func testUpdateLocationNumbersEvents(t *testing.T, s Store) {
	l := locker("l")
	mustUpsert(t, s, []lokero.Location{l, locker("other")}, lokero.UpsertResult{Inserted: 2})
	want := []lokero.LocationEvent{importEvent(l, 1)}

	closed := l
	closed.Status, closed.StatusFrom, closed.StatusReason = lokero.LocationTemporarilyClosed, "2026-12-20", "holiday"
	closed.UpdatedAt = t0.Add(2 * time.Hour).In(helsinki)
	reopened := closed
	reopened.Status, reopened.StatusFrom, reopened.StatusReason = lokero.LocationOpen, "", ""
	reopened.ExceptionDays = []lokero.ExceptionDay{{Date: "2026-12-24", From: "10:00", To: "14:00"}}
	reopened.UpdatedAt = t0.Add(3*time.Hour + 999) // finer than a microsecond: stored truncated
	for i, step := range []struct {
		loc   lokero.Location
		actor string
	}{{closed, "cred-op-1"}, {reopened, "cred-op-2"}} {
		ev := lokero.LocationEvent{
			LocationID: "wrong", Seq: 42, // the store's to set
			At: step.loc.UpdatedAt, Actor: step.actor, Change: step.loc.Change(),
		}
		if err := s.UpdateLocation(t.Context(), step.loc, ev); err != nil {
			t.Fatalf("UpdateLocation %d: %v", i, err)
		}
		want = append(want, lokero.LocationEvent{
			LocationID: l.ID, Seq: i + 2, At: step.loc.UpdatedAt.Truncate(time.Microsecond),
			Actor: step.actor, Change: step.loc.Change(),
		})
		checkEvents(t, s, l.ID, want)
		stored := step.loc
		stored.UpdatedAt = stored.UpdatedAt.Truncate(time.Microsecond)
		checkLocation(t, mustLocation(t, s, l.ID), stored)
	}
	if evs := mustEvents(t, s, l.ID); evs[1].Change.Status != lokero.LocationTemporarilyClosed ||
		evs[1].Change.StatusReason != "holiday" || evs[2].Change.Status != lokero.LocationOpen ||
		len(evs[2].Change.ExceptionDays) != 1 {
		t.Errorf("events do not hold the changes: %+v", evs)
	}
	// The other location's events are its own.
	checkEvents(t, s, "other", []lokero.LocationEvent{importEvent(locker("other"), 1)})

	// A re-import of the original file is a change too (it reopens what
	// the operator closed): event 4 by the import; importing it again is
	// none.
	l.UpdatedAt = t0.Add(4 * time.Hour)
	mustUpsert(t, s, []lokero.Location{l}, lokero.UpsertResult{Updated: 1})
	want = append(want, importEvent(l, 4))
	checkEvents(t, s, l.ID, want)
	mustUpsert(t, s, []lokero.Location{l}, lokero.UpsertResult{Updated: 1})
	checkEvents(t, s, l.ID, want)
}

func testUpdateLocationDefaults(t *testing.T, s Store) {
	l := postOffice("p")
	mustUpsert(t, s, []lokero.Location{l}, lokero.UpsertResult{Inserted: 1})

	// A zero At is the updated_at; a zero Change is the location's.
	l.Status, l.StatusReason = lokero.LocationClosed, "moved"
	l.UpdatedAt = t0.Add(time.Hour)
	if err := s.UpdateLocation(t.Context(), l, lokero.LocationEvent{Actor: "op"}); err != nil {
		t.Fatal(err)
	}
	want := []lokero.LocationEvent{importEvent(postOffice("p"), 1),
		{Seq: 2, At: l.UpdatedAt, Actor: "op", Change: l.Change()}}
	checkEvents(t, s, l.ID, want)

	// A zero UpdatedAt is the event's At.
	l.Status, l.StatusReason, l.UpdatedAt = lokero.LocationOpen, "", time.Time{}
	at := t0.Add(2 * time.Hour)
	if err := s.UpdateLocation(t.Context(), l, lokero.LocationEvent{At: at, Actor: "op", Change: l.Change()}); err != nil {
		t.Fatal(err)
	}
	want = append(want, lokero.LocationEvent{Seq: 3, At: at, Actor: "op", Change: l.Change()})
	checkEvents(t, s, l.ID, want)
	if got := mustLocation(t, s, l.ID); !got.UpdatedAt.Equal(at) || !got.CreatedAt.Equal(t0) {
		t.Errorf("created %v, updated %v; want %v, %v", got.CreatedAt, got.UpdatedAt, t0, at)
	}

	// Both zero: the time of the call, for both.
	before := time.Now().Add(-time.Second)
	if err := s.UpdateLocation(t.Context(), l, lokero.LocationEvent{Actor: "op"}); err != nil {
		t.Fatal(err)
	}
	after := time.Now().Add(time.Second)
	evs := mustEvents(t, s, l.ID)
	got := mustLocation(t, s, l.ID)
	if len(evs) != 4 || evs[3].At.Before(before) || evs[3].At.After(after) || !got.UpdatedAt.Equal(evs[3].At) {
		t.Errorf("zero times: event %+v, updated_at %v; want both now (%v)", evs[len(evs)-1], got.UpdatedAt, before)
	}
}

// testUpdateLocationConcurrent runs operators' updates of one location and
// imports of it at once: every write succeeds, and the events are
// numbered 1, 2, ... without a gap or a repeat.
func testUpdateLocationConcurrent(t *testing.T, s Store) {
	const workers, rounds = 6, 5
	base := locker("busy")
	mustUpsert(t, s, []lokero.Location{base, locker("busy-neighbour")}, lokero.UpsertResult{Inserted: 2})
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	for w := range workers {
		wg.Go(func() {
			for r := range rounds {
				l := base
				l.Status, l.StatusFrom = lokero.LocationTemporarilyClosed, fmt.Sprintf("2026-%02d-%02d", w+1, r+1)
				l.UpdatedAt = t0.Add(time.Duration(w*rounds+r) * time.Minute)
				var err error
				if w%2 == 0 {
					err = s.UpdateLocation(t.Context(), l, lokero.LocationEvent{Actor: fmt.Sprintf("op-%d", w), Change: l.Change()})
				} else {
					// An import of a batch: every round changes this
					// location's status, never its neighbour's.
					_, err = s.UpsertLocations(t.Context(), []lokero.Location{l, locker("busy-neighbour")})
				}
				if err != nil {
					errs <- fmt.Errorf("worker %d round %d: %w", w, r, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	evs := mustEvents(t, s, base.ID)
	if len(evs) != 1+workers*rounds {
		t.Fatalf("%d events, want %d", len(evs), 1+workers*rounds)
	}
	ops, imports := 0, 0
	for i, ev := range evs {
		if ev.Seq != i+1 {
			t.Fatalf("event %d has Seq %d", i, ev.Seq)
		}
		if ev.Actor == lokero.ActorImport {
			imports++
		} else {
			ops++
		}
	}
	if ops != workers/2*rounds || imports != 1+(workers-workers/2)*rounds {
		t.Errorf("%d operator events and %d import events, want %d and %d", ops, imports, workers/2*rounds, 1+(workers-workers/2)*rounds)
	}
	// The location holds the state of the last event.
	stored := mustLocation(t, s, base.ID)
	if got, last := stored.Change(), evs[len(evs)-1].Change; !got.Equal(last) {
		t.Errorf("location's status %+v is not that of its last event %+v", got, last)
	}
	checkEvents(t, s, "busy-neighbour", []lokero.LocationEvent{importEvent(locker("busy-neighbour"), 1)})
}

func testUpsertAppendsImportEvents(t *testing.T, s Store) {
	a, b := locker("a"), postOffice("b")
	mustUpsert(t, s, []lokero.Location{a, b}, lokero.UpsertResult{Inserted: 2})
	wantA := []lokero.LocationEvent{importEvent(a, 1)}
	wantB := []lokero.LocationEvent{importEvent(b, 1)}
	check := func() {
		t.Helper()
		checkEvents(t, s, a.ID, wantA)
		checkEvents(t, s, b.ID, wantB)
	}
	check()

	// The same file again: no event, though updated_at moves on.
	a.UpdatedAt, b.UpdatedAt = t0.Add(2*time.Hour), t0.Add(2*time.Hour)
	mustUpsert(t, s, []lokero.Location{a, b}, lokero.UpsertResult{Updated: 2})
	check()

	// Other fields than the status fields: no event.
	a.Name, a.OpeningHours, a.Lat = "renamed", nil, 61.5
	b.PaymentTerminal, b.Compartments = false, nil
	mustUpsert(t, s, []lokero.Location{a, b}, lokero.UpsertResult{Updated: 2})
	check()

	// Each status field alone is a change.
	at := t0.Add(3 * time.Hour)
	for i, edit := range []func(l *lokero.Location){
		func(l *lokero.Location) { l.Status, l.StatusFrom = lokero.LocationTemporarilyClosed, "2026-12-20" },
		func(l *lokero.Location) { l.StatusUntil = "2027-01-06" },
		func(l *lokero.Location) { l.StatusReason = "renovation" },
		func(l *lokero.Location) {
			l.Status, l.StatusFrom, l.StatusUntil, l.OpensOn = lokero.LocationNotYetOpen, "", "", "2027-02-01"
		},
		func(l *lokero.Location) { l.ExceptionDays = []lokero.ExceptionDay{{Date: "2026-06-19", Closed: true}} },
		func(l *lokero.Location) { l.ExceptionDays[0].Reason = "Midsummer Eve" },
		func(l *lokero.Location) {
			l.ExceptionDays = append(l.ExceptionDays, lokero.ExceptionDay{Date: "2026-12-24", From: "10:00", To: "14:00"})
		},
		func(l *lokero.Location) { l.ExceptionDays[1].To = "15:00" },
		func(l *lokero.Location) { l.WheelchairAccess = !l.WheelchairAccess },
		func(l *lokero.Location) { l.Functions = []string{lokero.FunctionCollect} },
		func(l *lokero.Location) { l.Functions = []string{lokero.FunctionCollect, lokero.FunctionReturn} },
		func(l *lokero.Location) { l.Functions = []string{lokero.FunctionReturn, lokero.FunctionCollect} },
	} {
		a.ExceptionDays = append([]lokero.ExceptionDay(nil), a.ExceptionDays...)
		edit(&a)
		a.UpdatedAt = at.Add(time.Duration(i) * time.Minute)
		mustUpsert(t, s, []lokero.Location{a, b}, lokero.UpsertResult{Updated: 2})
		wantA = append(wantA, importEvent(a, len(wantA)+1))
		check()
	}

	// nil and empty slices are the same state.
	a.Functions = []string{lokero.FunctionReturn, lokero.FunctionCollect}
	b.ExceptionDays, b.Functions = []lokero.ExceptionDay{}, []string{}
	mustUpsert(t, s, []lokero.Location{a, b}, lokero.UpsertResult{Updated: 2})
	check()

	// A batch repeating an ID: each row is compared with the one before.
	a1, a2, a3 := a, a, a
	a1.Status, a1.OpensOn, a1.StatusReason = lokero.LocationClosed, "", ""
	a2.Status, a2.OpensOn, a2.StatusReason = lokero.LocationClosed, "", ""
	a2.Name = "same status"
	a3.Status, a3.OpensOn, a3.StatusReason = lokero.LocationOpen, "", ""
	a1.UpdatedAt, a2.UpdatedAt, a3.UpdatedAt = t0.Add(5*time.Hour), t0.Add(6*time.Hour), t0.Add(7*time.Hour)
	mustUpsert(t, s, []lokero.Location{a1, a2, a3}, lokero.UpsertResult{Updated: 3})
	wantA = append(wantA, importEvent(a1, len(wantA)+1), importEvent(a3, len(wantA)+2))
	check()

	// A new location among known ones.
	c := notYetOpen("c")
	mustUpsert(t, s, []lokero.Location{a3, c, b}, lokero.UpsertResult{Inserted: 1, Updated: 2})
	checkEvents(t, s, c.ID, []lokero.LocationEvent{importEvent(c, 1)})
	check()
}

func testUpsertFailingBatchAppendsNoEvent(t *testing.T, s Store) {
	seed := numberedBatch("s", 0, 5)
	mustUpsert(t, s, seed, lokero.UpsertResult{Inserted: len(seed)})
	var batch []lokero.Location
	for _, l := range seed {
		l.Status, l.StatusReason = lokero.LocationClosed, "closed by a file that fails"
		batch = append(batch, l)
	}
	batch = append(batch, numberedBatch("new", 0, 1500)...)
	batch = append(batch, locker("")) // refused by the schema
	if _, err := s.UpsertLocations(t.Context(), batch); err == nil {
		t.Fatal("UpsertLocations with an empty ID succeeded")
	}
	for _, l := range seed {
		checkEvents(t, s, l.ID, []lokero.LocationEvent{importEvent(l, 1)})
		checkLocation(t, mustLocation(t, s, l.ID), l)
	}
	if _, err := s.LocationEvents(t.Context(), "new000000"); lokero.ErrorCode(err) != lokero.ENOTFOUND {
		t.Errorf("LocationEvents of a location of the failed batch = %v, want %s", err, lokero.ENOTFOUND)
	}
}

// testPatchLocation: the patch sees the row as stored now (an update
// written after the caller last read it included), and what it leaves is
// written with its event; the ID and created_at stay whatever it does.
func testPatchLocation(t *testing.T, s Store) {
	l := closedLocker("p")
	mustUpsert(t, s, []lokero.Location{l, locker("other")}, lokero.UpsertResult{Inserted: 2})
	// Another writer renames it after the caller's copy was read.
	renamed := l
	renamed.Name, renamed.UpdatedAt = "renamed meanwhile", t0.Add(time.Hour)
	if err := s.UpdateLocation(t.Context(), renamed, lokero.LocationEvent{Actor: "op0"}); err != nil {
		t.Fatal(err)
	}
	at := t0.Add(2 * time.Hour)
	var seen lokero.Location
	got, err := s.PatchLocation(t.Context(), l.ID, func(loc *lokero.Location) (bool, lokero.LocationEvent, error) {
		seen = *loc
		loc.WheelchairAccess = !loc.WheelchairAccess
		loc.ID, loc.CreatedAt = "moved", t0.Add(time.Minute) // ignored
		loc.UpdatedAt = at
		return true, lokero.LocationEvent{LocationID: "wrong", Seq: 42, At: at, Actor: "op", Change: loc.Change()}, nil
	})
	if err != nil {
		t.Fatalf("PatchLocation: %v", err)
	}
	checkLocation(t, seen, renamed)
	want := renamed
	want.WheelchairAccess, want.UpdatedAt = !renamed.WheelchairAccess, at
	checkLocation(t, got, want)
	checkLocation(t, mustLocation(t, s, l.ID), want)
	evs := mustEvents(t, s, l.ID)
	checkEvents(t, s, l.ID, append(evs[:2:2], lokero.LocationEvent{Seq: 3, At: at, Actor: "op", Change: want.Change()}))
	checkEvents(t, s, "other", []lokero.LocationEvent{importEvent(locker("other"), 1)})
	if _, err := s.Location(t.Context(), "moved"); err == nil {
		t.Error("the patch's ID was written")
	}

	// A zero At and Change and UpdatedAt: as UpdateLocation, the time of
	// the call and the location's state.
	before2 := time.Now().Add(-time.Second)
	got, err = s.PatchLocation(t.Context(), l.ID, func(loc *lokero.Location) (bool, lokero.LocationEvent, error) {
		loc.UpdatedAt = time.Time{}
		loc.Status, loc.StatusFrom, loc.StatusUntil, loc.StatusReason = lokero.LocationOpen, "", "", ""
		return true, lokero.LocationEvent{Actor: "op2"}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	evs = mustEvents(t, s, l.ID)
	last := evs[len(evs)-1]
	if len(evs) != 4 || last.Actor != "op2" || last.At.Before(before2) || !got.UpdatedAt.Equal(last.At) ||
		!last.Change.Equal(got.Change()) || got.Status != lokero.LocationOpen {
		t.Errorf("patch with zero times: returned %+v, events %+v", got, evs)
	}
}

// testPatchLocationUnchangedOrRefused: a patch that reports no change, or
// fails, writes nothing (no event, no new DirectoryVersion); an unknown
// ID is ENOTFOUND without calling the patch.
func testPatchLocationUnchangedOrRefused(t *testing.T, s Store) {
	l := closedLocker("p")
	mustUpsert(t, s, []lokero.Location{l}, lokero.UpsertResult{Inserted: 1})
	version := func() int64 {
		t.Helper()
		v, err := s.DirectoryVersion(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	v0 := version()
	refused := errors.New("refused")
	for _, tt := range []struct {
		name    string
		changed bool
		err     error
	}{{"unchanged", false, nil}, {"refused", true, refused}} {
		got, err := s.PatchLocation(t.Context(), l.ID, func(loc *lokero.Location) (bool, lokero.LocationEvent, error) {
			loc.Name, loc.WheelchairAccess = "not written", !loc.WheelchairAccess
			return tt.changed, lokero.LocationEvent{At: t0.Add(time.Hour), Actor: "op"}, tt.err
		})
		if err != tt.err { // the patch's own error, not wrapped
			t.Errorf("%s: error %v, want %v", tt.name, err, tt.err)
		}
		if tt.err == nil {
			checkLocation(t, got, l)
		}
		checkLocation(t, mustLocation(t, s, l.ID), l)
		checkEvents(t, s, l.ID, []lokero.LocationEvent{importEvent(l, 1)})
		if v := version(); v != v0 {
			t.Errorf("%s: DirectoryVersion %d, want %d as before", tt.name, v, v0)
		}
	}
	called := false
	_, err := s.PatchLocation(t.Context(), "missing", func(*lokero.Location) (bool, lokero.LocationEvent, error) {
		called = true
		return true, lokero.LocationEvent{Actor: "op"}, nil
	})
	var e *lokero.Error
	if !errors.As(err, &e) || e.Code != lokero.ENOTFOUND || called {
		t.Errorf("PatchLocation(missing) = %v, patch called %v; want ENOTFOUND, not called", err, called)
	}
	checkCount(t, s, 1)
}

// testPatchLocationConcurrent runs patches that each add an exception day
// to one location at once: a patch that read a row another changed
// before its commit would drop that day. Every day is there at the end,
// and the events are numbered without a gap.
func testPatchLocationConcurrent(t *testing.T, s Store) {
	const workers, rounds = 6, 4
	l := locker("busy")
	mustUpsert(t, s, []lokero.Location{l}, lokero.UpsertResult{Inserted: 1})
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	for w := range workers {
		wg.Go(func() {
			for r := range rounds {
				day := fmt.Sprintf("2026-%02d-%02d", w+1, r+1)
				_, err := s.PatchLocation(t.Context(), l.ID, func(loc *lokero.Location) (bool, lokero.LocationEvent, error) {
					loc.ExceptionDays = append(loc.ExceptionDays, lokero.ExceptionDay{Date: day, Closed: true})
					return true, lokero.LocationEvent{At: t0, Actor: fmt.Sprintf("op-%d", w)}, nil
				})
				if err != nil {
					errs <- fmt.Errorf("worker %d round %d: %w", w, r, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	days := mustLocation(t, s, l.ID).ExceptionDays
	if len(days) != workers*rounds {
		t.Errorf("%d exception days, want %d: patches were lost", len(days), workers*rounds)
	}
	evs := mustEvents(t, s, l.ID)
	for i, ev := range evs {
		if ev.Seq != i+1 {
			t.Fatalf("event %d has Seq %d", i, ev.Seq)
		}
	}
	if len(evs) != 1+workers*rounds {
		t.Errorf("%d events, want %d", len(evs), 1+workers*rounds)
	}
}

// testUpsertLocationsKeeping: keep sees each stored row as it is at the
// write (not as the caller read it), only for locations already stored;
// what it changes is written; its error writes nothing of the batch.
func testUpsertLocationsKeeping(t *testing.T, s Store) {
	a := locker("a")
	mustUpsert(t, s, []lokero.Location{a}, lokero.UpsertResult{Inserted: 1})
	// The operator closes a after the importer read it.
	closed := closedLocker("a")
	closed.UpdatedAt = t0.Add(time.Hour)
	if err := s.UpdateLocation(t.Context(), closed, lokero.LocationEvent{Actor: "op"}); err != nil {
		t.Fatal(err)
	}
	file := []lokero.Location{locker("b"), locker("a")} // a's status left out
	file[1].Name, file[1].UpdatedAt, file[0].UpdatedAt = "renamed", t0.Add(2*time.Hour), t0.Add(2*time.Hour)
	var calls []int
	res, err := s.UpsertLocationsKeeping(t.Context(), file, func(i int, stored *lokero.Location) error {
		calls = append(calls, i)
		if stored.ID != file[i].ID || stored.Status != lokero.LocationTemporarilyClosed {
			t.Errorf("keep(%d) got stored %+v; want a as the operator left it", i, stored)
		}
		file[i].Status, file[i].StatusFrom, file[i].StatusUntil, file[i].StatusReason, file[i].OpensOn =
			stored.Status, stored.StatusFrom, stored.StatusUntil, stored.StatusReason, stored.OpensOn
		file[i].ExceptionDays, file[i].Functions = slices.Clone(stored.ExceptionDays), slices.Clone(stored.Functions)
		file[i].WheelchairAccess = stored.WheelchairAccess
		return nil
	})
	if err != nil || res != (lokero.UpsertResult{Inserted: 1, Updated: 1}) {
		t.Fatalf("UpsertLocationsKeeping = %+v, %v", res, err)
	}
	if !slices.Equal(calls, []int{1}) {
		t.Errorf("keep called for %v, want [1] (a only)", calls)
	}
	got := mustLocation(t, s, "a")
	if got.Name != "renamed" || got.Status != lokero.LocationTemporarilyClosed || got.StatusReason != closed.StatusReason ||
		len(got.ExceptionDays) != len(closed.ExceptionDays) {
		t.Errorf("a after the import: %+v; want the file's name and the operator's closure", got)
	}
	// No status field changed: no import event after the operator's.
	if evs := mustEvents(t, s, "a"); len(evs) != 2 || evs[1].Actor != "op" {
		t.Errorf("a's events %+v; want the import's and the operator's only", evs)
	}

	// keep's error: nothing of the batch is written.
	refused := errors.New("refused")
	c := locker("c")
	_, err = s.UpsertLocationsKeeping(t.Context(), []lokero.Location{c, file[1]}, func(int, *lokero.Location) error { return refused })
	if !errors.Is(err, refused) {
		t.Errorf("UpsertLocationsKeeping with a failing keep = %v, want %v", err, refused)
	}
	checkCount(t, s, 2)

	// A nil keep is UpsertLocations.
	if res, err := s.UpsertLocationsKeeping(t.Context(), []lokero.Location{c}, nil); err != nil || res.Inserted != 1 {
		t.Errorf("UpsertLocationsKeeping(nil keep) = %+v, %v", res, err)
	}
}
