package lokero_test

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/lokero/lokero"
)

// legalMoves is the lifecycle as the service relies on it, written out
// here rather than read from the table it checks.
var legalMoves = map[[2]lokero.ShipmentStatus]bool{
	{lokero.StatusCreated, lokero.StatusInTransit}:          true, // handed over
	{lokero.StatusCreated, lokero.StatusCancelled}:          true, // cancelled before handover
	{lokero.StatusCreated, lokero.StatusDroppedOff}:         true, // a return or pre-paid parcel in a compartment
	{lokero.StatusDroppedOff, lokero.StatusInTransit}:       true, // collected by the courier
	{lokero.StatusInTransit, lokero.StatusInLocker}:         true, // deposited
	{lokero.StatusInTransit, lokero.StatusReadyForPickup}:   true, // at an outlet
	{lokero.StatusInTransit, lokero.StatusReturning}:        true,
	{lokero.StatusInTransit, lokero.StatusReturnedToSender}: true, // a return at its store
	{lokero.StatusInLocker, lokero.StatusReadyForPickup}:    true, // door closed
	{lokero.StatusReadyForPickup, lokero.StatusPickedUp}:    true,
	{lokero.StatusReadyForPickup, lokero.StatusExpired}:     true,
	{lokero.StatusExpired, lokero.StatusReturning}:          true, // collected by the courier
	{lokero.StatusExpired, lokero.StatusReadyForPickup}:     true, // handed out in time, reported late
	{lokero.StatusReturning, lokero.StatusReturnedToSender}: true,
}

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// begun is a shipment in status from with a history that led there.
func begun(t *testing.T, from lokero.ShipmentStatus) lokero.Shipment {
	t.Helper()
	sh := lokero.Shipment{ID: "shp_1", DestinationID: "SP-1", COD: &lokero.COD{AmountCents: 100, Currency: "EUR"}}
	if err := sh.Begin(t0, "SP-1", "Shipment booked."); err != nil {
		t.Fatal(err)
	}
	// Any status is reachable from CREATED: walk the legal moves.
	path := pathTo(lokero.StatusCreated, from)
	if path == nil {
		t.Fatalf("%s is not reachable from CREATED", from)
	}
	for i, st := range path {
		if err := sh.Transition(st, t0.Add(time.Duration(i+1)*time.Hour), "SP-1", "to "+string(st)); err != nil {
			t.Fatalf("walk to %s: %v", from, err)
		}
	}
	return sh
}

// pathTo returns the statuses after from on a shortest legal path to to.
func pathTo(from, to lokero.ShipmentStatus) []lokero.ShipmentStatus {
	type step struct {
		at   lokero.ShipmentStatus
		path []lokero.ShipmentStatus
	}
	queue, visited := []step{{at: from, path: []lokero.ShipmentStatus{}}}, map[lokero.ShipmentStatus]bool{from: true}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		if s.at == to {
			return s.path
		}
		for _, next := range lokero.ShipmentStatuses {
			if legalMoves[[2]lokero.ShipmentStatus{s.at, next}] && !visited[next] {
				visited[next] = true
				queue = append(queue, step{at: next, path: append(slices.Clone(s.path), next)})
			}
		}
	}
	return nil
}

// clone copies a shipment deeply enough to tell whether it changed.
func clone(sh lokero.Shipment) lokero.Shipment {
	c := sh
	c.Events = slices.Clone(sh.Events)
	if sh.COD != nil {
		cod := *sh.COD
		c.COD = &cod
	}
	return c
}

// TestTransitions: every legal move succeeds and records its event; every
// other pair of statuses is an ECONFLICT illegal_transition naming both,
// and the shipment is as it was.
func TestTransitions(t *testing.T) {
	for _, from := range lokero.ShipmentStatuses {
		for _, to := range lokero.ShipmentStatuses {
			legal := legalMoves[[2]lokero.ShipmentStatus{from, to}]
			t.Run(fmt.Sprintf("%s→%s", from, to), func(t *testing.T) {
				if got := from.CanBecome(to); got != legal {
					t.Fatalf("CanBecome = %v, want %v", got, legal)
				}
				sh := begun(t, from)
				before := clone(sh)
				at := t0.Add(48 * time.Hour)
				err := sh.Transition(to, at, "LOCKER-1", "the reason")
				if legal {
					if err != nil {
						t.Fatalf("Transition: %v", err)
					}
					want := clone(before)
					want.Status, want.UpdatedAt = to, at
					want.Events = append(want.Events, lokero.ShipmentEvent{Status: to, At: at, LocationID: "LOCKER-1", Reason: "the reason"})
					if !reflect.DeepEqual(sh, want) {
						t.Fatalf("after the move:\n got %+v\nwant %+v", sh, want)
					}
					return
				}
				checkIllegal(t, err, fmt.Sprintf("shipment shp_1 is %s and cannot become %s", from, to))
				if check := before.CheckTransition(to); check == nil || check.Error() != err.Error() {
					t.Errorf("CheckTransition = %v, want %v", check, err)
				}
				if !reflect.DeepEqual(sh, before) {
					t.Fatalf("an illegal move changed the shipment:\n got %+v\nwant %+v", sh, before)
				}
			})
		}
	}
}

func checkIllegal(t *testing.T, err error, message string) {
	t.Helper()
	var e *lokero.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want a *lokero.Error", err)
	}
	if e.Code != lokero.ECONFLICT || e.Reason != "illegal_transition" || e.Message != message {
		t.Fatalf("err = %q %q %q, want conflict illegal_transition %q", e.Code, e.Reason, e.Message, message)
	}
}

// TestFinalStatuses: the statuses nothing leaves are the ends of the
// lifecycle.
func TestFinalStatuses(t *testing.T) {
	for _, s := range lokero.ShipmentStatuses {
		want := true
		for move := range legalMoves {
			if move[0] == s {
				want = false
			}
		}
		if s.Final() != want {
			t.Errorf("%s.Final() = %v, want %v", s, s.Final(), want)
		}
	}
}

// TestBegin: a shipment starts CREATED with one event, once.
func TestBegin(t *testing.T) {
	var sh lokero.Shipment
	sh.ID = "shp_1"
	if err := sh.Transition(lokero.StatusInTransit, t0, "", "too early"); err == nil {
		t.Fatal("a shipment not begun moved")
	}
	if err := sh.Begin(t0, "SP-1", "Shipment booked."); err != nil {
		t.Fatal(err)
	}
	want := lokero.Shipment{ID: "shp_1", Status: lokero.StatusCreated, CreatedAt: t0, UpdatedAt: t0,
		Events: []lokero.ShipmentEvent{{Status: lokero.StatusCreated, At: t0, LocationID: "SP-1", Reason: "Shipment booked."}}}
	if !reflect.DeepEqual(sh, want) {
		t.Fatalf("begun:\n got %+v\nwant %+v", sh, want)
	}
	for _, from := range lokero.ShipmentStatuses {
		sh := begun(t, from)
		before := clone(sh)
		checkIllegal(t, sh.Begin(t0.Add(72*time.Hour), "SP-2", "again"), "shipment shp_1 was created already")
		if !reflect.DeepEqual(sh, before) {
			t.Fatalf("Begin on a %s shipment changed it", from)
		}
	}
}

// TestNote: an event without a change of status, in any status.
func TestNote(t *testing.T) {
	for _, st := range lokero.ShipmentStatuses {
		sh := begun(t, st)
		before := clone(sh)
		at := t0.Add(72 * time.Hour)
		sh.Note(at, "SP-2", "Reminder sent.")
		want := clone(before)
		want.UpdatedAt = at
		want.Events = append(want.Events, lokero.ShipmentEvent{Status: st, At: at, LocationID: "SP-2", Reason: "Reminder sent."})
		if !reflect.DeepEqual(sh, want) {
			t.Fatalf("%s: after Note:\n got %+v\nwant %+v", st, sh, want)
		}
	}
}
