package service

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"slices"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/geo"
	"github.com/lokero/lokero/routing"
)

// FallbackNearestOpen is the fallback a retailer may ask for when the
// chosen pickup point will be closed on the delivery date: the nearest open
// point of the same access where the parcel fits and a compartment (at an
// outlet: a shelf place of the day) is free.
const FallbackNearestOpen = "nearest_open"

// RuleClosureReroute is the routing rule of a shipment sent elsewhere
// because its point is closed on its delivery date.
const RuleClosureReroute = "closed_point_reroute"

// Prefixes of the events that record a re-routing: public tracking tells
// them in its own words, since their reasons name the points' addresses.
const (
	// RerouteNote begins the event of a parcel re-routed from a closed point.
	RerouteNote = "Re-routed: "
	// LockerRerouteNote begins the event of a parcel re-routed at a full locker.
	LockerRerouteNote = "Re-routed at the locker: "
	// DispatchRerouteNote begins the event of a booking re-routed by the
	// evening's dispatch check (dispatch.go), before a courier took it to
	// its locker.
	DispatchRerouteNote = "Re-routed before delivery: "
	// DispatchBackNote begins the event of a booking that had overflowed to
	// another locker and that the evening's dispatch check (dispatch.go)
	// moved back to the locker asked for, which has room after all.
	DispatchBackNote = "Back to the chosen pickup point: "
)

// maxAlternatives is how many open points a refusal suggests.
const maxAlternatives = 3

// openAlternatives lists, nearest to the closed point first, up to k open
// points on date of the same access that take the parcel (cash on delivery
// included) and have room on date: a locker a free compartment that fits,
// an outlet (whose own limit takes the parcel) a free shelf place. It
// reserves nothing.
func openAlternatives(ctx context.Context, dir *Directory, closed *lokero.Location, req routing.Request, limits routing.Limits, date lokero.Date, k int) ([]*lokero.Location, error) {
	on := date.String() // as the location status fields OpenOn compares it with
	snap := dir.Snapshot()
	var reserved map[string]map[string]int
	if a := dir.Availability(); a != nil {
		var err error
		if reserved, err = a.Day(ctx, date); err != nil {
			return nil, err
		}
	}
	dims := req.Parcel.Dimensions()
	var out []*lokero.Location
	if closed.Type.IsLocker() {
		// The directory shown to the rules holds only points open on date.
		rdir := routingDirectory{snap: snap, dir: dir, date: on}
		for _, d := range routing.Overflow(closed, req, rdir, limits, on, nil, 4*k) {
			if len(out) < k && (reserved == nil || HasFree(d.Location, reserved, &dims)) {
				out = append(out, d.Location)
			}
		}
		return out, nil
	}
	// An outlet's alternatives are the nearest open outlets that take the
	// parcel and have a shelf place that day.
	keep := func(l *lokero.Location) bool {
		return l.Type.IsOutlet() && l.ID != closed.ID && l.OpenOn(on) && (!req.COD || l.TakesCOD()) &&
			routing.OutletTakes(req.Parcel, l, limits) && (reserved == nil || HasFree(l, reserved, nil))
	}
	return snap.Nearest(geo.Point{Lat: closed.Lat, Lon: closed.Lon}, k, keep), nil
}

// closedRefusal is the answer to a booking for a point closed on its
// delivery date: 422 pickup_point_closed naming the point, its status and
// until when, with the open alternatives.
func closedRefusal(l *lokero.Location, date string, alts []*lokero.Location) error {
	msg := fmt.Sprintf("%s (%s) is %s on %s: %s", l.Name, l.ID, l.Status, date, l.ClosedReason(date))
	if len(alts) > 0 {
		msg += "; open instead:"
		for i, a := range alts {
			if i > 0 {
				msg += ","
			}
			msg += fmt.Sprintf(" %s (%s), %s", a.Name, a.ID, a.Street)
		}
		msg += fmt.Sprintf(`; or book with "fallback": %q`, FallbackNearestOpen)
	}
	offered := make([]lokero.Alternative, len(alts))
	for i, a := range alts {
		offered[i] = lokero.Alternative{ID: a.ID, Type: a.Type, Name: a.Name, Street: a.Street, Postcode: a.Postcode, City: a.City,
			DistanceM: math.Round(geo.Distance(geo.Point{Lat: l.Lat, Lon: l.Lon}, geo.Point{Lat: a.Lat, Lon: a.Lon}))}
	}
	return &lokero.Error{Code: lokero.EUNPROCESSABLE, Reason: "pickup_point_closed", Field: "pickup_point_id", Message: msg, Alternatives: offered}
}

// moveOff takes a shipment off a point closed on its delivery date inside
// tx: its reservation is given back and it goes to the nearest open point
// of the same access that takes it and has room (a compartment or a shelf
// place reserved there), with a reason; the recipient of a parcel in
// transit is told of its new place (queueRerouted). It reports false,
// changing nothing, when there is none.
func (s *Shipments) moveOff(ctx context.Context, tx lokero.Tx, closed *lokero.Location, sh *lokero.Shipment) (bool, error) {
	date := sh.DeliveryDate
	req := routing.Request{Recipient: sh.Recipient, Parcel: sh.Parcel, COD: sh.COD != nil}
	alts, err := openAlternatives(ctx, s.dir, closed, req, s.limits, date, 10)
	if err != nil {
		return false, err
	}
	for _, alt := range alts {
		// A compartment at a locker, a shelf place at an outlet.
		size, ok, err := reserveAt(ctx, tx, s.dir.availability, alt, req.Parcel, s.limits, date)
		if err != nil {
			return false, err
		}
		if !ok {
			continue // taken since the availability was read
		}
		d := geo.Distance(geo.Point{Lat: closed.Lat, Lon: closed.Lon}, geo.Point{Lat: alt.Lat, Lon: alt.Lon})
		reason := fmt.Sprintf("%s is closed on %s (%s): the parcel goes to %s, %s, %.1f km away.",
			closed.Name, date, closed.ClosedReason(date.String()), alt.Name, alt.Street, d/1000)
		return true, rerouteTo(ctx, tx, sh, alt, size, lokero.Routing{Rule: RuleClosureReroute, Reason: reason}, RerouteNote+reason)
	}
	return false, nil
}

// rerouteTo sends a booked shipment not yet deposited to another point
// inside tx, where the caller has reserved size for it (a compartment's
// class, or lokero.ShelfSize): its reservation at the old point is given
// back, its routing is r, an event notes the move (note, which begins
// with RerouteNote, LockerRerouteNote, DispatchRerouteNote or
// DispatchBackNote, so that webhooks send it as "rerouted"), and the
// recipient of a parcel handed over hears of its new place
// (queueRerouted). A closed point's re-routing and the evening's
// check share it.
func rerouteTo(ctx context.Context, tx lokero.Tx, sh *lokero.Shipment, to *lokero.Location, size string, r lokero.Routing, note string) error {
	if sh.SizeClass != "" {
		if err := tx.Release(ctx, sh.DestinationID, sh.DeliveryDate, sh.SizeClass); err != nil {
			return fmt.Errorf("release reservation of %s: %w", sh.ID, err)
		}
	}
	sh.DestinationID, sh.SizeClass, sh.Routing = to.ID, size, r
	sh.Note(tx.Now(), to.ID, note)
	if err := tx.UpdateShipment(ctx, sh); err != nil {
		return err
	}
	return queueRerouted(ctx, tx, sh, to)
}

// RerouteResult is what closing a point did to the shipments routed there.
type RerouteResult struct {
	Rerouted []lokero.Shipment // now going elsewhere, with a reason
	Stranded []lokero.Shipment // no open point takes them: for the operator
}

// errStranded rolls back a shipment's transaction when nothing takes it.
var errStranded = errors.New("no open point takes the shipment")

// RerouteClosed moves every shipment routed to a location and not yet
// deposited (booked or in transit) whose delivery date the location is
// closed on to the nearest open point that takes it, each in its own
// transaction (so a repeat, or another instance doing the same, moves each
// once). Shipments nothing takes stay and are listed as stranded.
func (s *Shipments) RerouteClosed(ctx context.Context, locationID string) (RerouteResult, error) {
	var res RerouteResult
	list, err := s.store.ShipmentsTo(ctx, locationID, []lokero.ShipmentStatus{lokero.StatusCreated, lokero.StatusInTransit})
	if err != nil {
		return res, fmt.Errorf("reroute from %s: %w", locationID, err)
	}
	closed, err := s.dir.Location(locationID)
	if err != nil {
		return res, err
	}
	for _, found := range list {
		if closed.OpenOn(found.DeliveryDate.String()) || found.Kind == lokero.ShipmentReturn || notDroppedOffYet(&found) {
			continue
		}
		var moved, stranded lokero.Shipment
		err := s.store.InTx(ctx, func(tx lokero.Tx) error {
			sh, err := tx.Shipment(ctx, found.ID)
			if err != nil {
				return err
			}
			if sh.DestinationID != locationID || (sh.Status != lokero.StatusCreated && sh.Status != lokero.StatusInTransit) || sh.Compartment != 0 {
				return nil // moved or deposited meanwhile
			}
			ok, err := s.moveOff(ctx, tx, closed, &sh)
			if err != nil {
				return err
			}
			if !ok {
				stranded = sh
				return errStranded
			}
			moved = sh
			return nil
		})
		switch {
		case errors.Is(err, errStranded):
			res.Stranded = append(res.Stranded, stranded) // the caller tells the operator
		case err != nil:
			return res, fmt.Errorf("reroute %s: %w", found.ID, err)
		case moved.ID != "":
			res.Rerouted = append(res.Rerouted, moved)
		}
	}
	touched := []string{locationID}
	for _, sh := range res.Rerouted {
		touched = append(touched, sh.DestinationID)
	}
	s.dir.reservationsChanged(touched...)
	return res, nil
}

// Stranded lists the shipments routed to a location and not yet deposited
// whose delivery date it is closed on: those no open point took when it
// closed, for the operator to handle.
func (s *Shipments) Stranded(ctx context.Context, locationID string) ([]lokero.Shipment, error) {
	loc, err := s.dir.Location(locationID)
	if err != nil {
		return nil, err
	}
	return s.strandedAt(ctx, loc)
}

// RerouteAll is RerouteClosed over every point that may be closed on some
// delivery date (as StrandedEverywhere chooses them). lokero serve runs it
// at start and after every directory reload, and an import after its
// write: it catches up points closed by a network file, by another
// instance, or before a crash cut their re-routing short. Each shipment
// moves once, whoever runs it.
func (s *Shipments) RerouteAll(ctx context.Context) (RerouteResult, error) {
	var moved RerouteResult
	for l := range mayCloseIn(s.dir.Snapshot()) {
		r, err := s.RerouteClosed(ctx, l.ID)
		if err != nil {
			return moved, err
		}
		moved.Rerouted = append(moved.Rerouted, r.Rerouted...)
		moved.Stranded = append(moved.Stranded, r.Stranded...)
	}
	return moved, nil
}

// StrandedEverywhere is Stranded over every point that may be closed on
// some delivery date (not OPEN, with exception days, or without hours on
// some weekday), by point id and then shipment id: the operator's list of
// parcels to decide on.
func (s *Shipments) StrandedEverywhere(ctx context.Context) ([]lokero.Shipment, error) {
	out := []lokero.Shipment{}
	for l := range mayCloseIn(s.dir.Snapshot()) {
		list, err := s.strandedAt(ctx, l)
		if err != nil {
			return nil, err
		}
		out = append(out, list...)
	}
	return out, nil
}

// mayCloseIn yields the locations of snap that may be closed on some
// delivery date (mayClose), by id.
func mayCloseIn(snap *Snapshot) iter.Seq[*lokero.Location] {
	return func(yield func(*lokero.Location) bool) {
		locs := snap.Locations()
		for i := range locs {
			if mayClose(&locs[i]) && !yield(&locs[i]) {
				return
			}
		}
	}
}

// mayClose reports whether a location can be closed on some weekday
// delivery date: its status, an exception day, or weekly hours that leave
// out a weekday.
func mayClose(l *lokero.Location) bool {
	if l.Status != lokero.LocationOpen || len(l.ExceptionDays) > 0 {
		return true
	}
	if len(l.OpeningHours) == 0 {
		return false // hours not known: counted as open
	}
	for wd := 1; wd <= 5; wd++ {
		if !slices.ContainsFunc(l.OpeningHours, func(h lokero.OpeningHours) bool { return h.Weekday == wd }) {
			return true
		}
	}
	return false
}

// notDroppedOffYet reports whether sh is a pre-paid parcel its sender has
// not dropped off: its delivery day is only known once it is (the
// booking's is a placeholder), so a closure on that day strands nothing;
// it is re-routed, if need be, once collected (IN_TRANSIT, its day set).
func notDroppedOffYet(sh *lokero.Shipment) bool {
	return sh.Kind.OrDefault() == lokero.ShipmentPrepaid && sh.Status == lokero.StatusCreated
}

// strandedAt is Stranded for a location of the snapshot.
func (s *Shipments) strandedAt(ctx context.Context, loc *lokero.Location) ([]lokero.Shipment, error) {
	list, err := s.store.ShipmentsTo(ctx, loc.ID, []lokero.ShipmentStatus{lokero.StatusCreated, lokero.StatusInTransit})
	if err != nil {
		return nil, fmt.Errorf("stranded at %s: %w", loc.ID, err)
	}
	out := []lokero.Shipment{}
	for _, sh := range list {
		if !loc.OpenOn(sh.DeliveryDate.String()) && sh.Compartment == 0 && !notDroppedOffYet(&sh) {
			out = append(out, sh)
		}
	}
	return out, nil
}
