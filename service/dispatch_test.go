package service_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/notify"
	"github.com/lokero/lokero/routing"
	"github.com/lokero/lokero/service"
)

// TestDispatchCheck: Wednesday, two parcels arrive in LOCKER-M5's two L
// compartments. Thursday, the booking counts one of them as likely gone
// by Friday and books one parcel for Friday there. Thursday evening, the
// check counts what the locker holds then: with both still there, the
// Friday parcel goes to the nearest locker with room before the door has
// to turn it away — its reservation moved, its event and notice as any
// re-routing's, counted apart — and a second check does nothing new; with
// one picked up during Thursday, it stays.
func TestDispatchCheck(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name      string
		pickedUp  bool
		wantMoved int
	}{
		{"both still there", false, 1},
		{"one picked up", true, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			eachStore(t, func(t *testing.T, f lockersFixture) {
				ctx := context.Background()
				if err := f.dir.Availability().SetMargin(0); err != nil {
					t.Fatal(err)
				}
				dispatch := service.NewDispatch(f.shipments)
				if err := dispatch.SetMargin(-1); lokero.ErrorCode(err) != lokero.EINVALID {
					t.Errorf("SetMargin(-1) = %v; want EINVALID", err)
				}
				_, queued := f.readyWith(t, request())
				req := request()
				req.Reference = "ORDER-2"
				f.readyWith(t, req)

				// Thursday 14:00: one booking for Friday, handed over.
				f.clock.Advance(24 * time.Hour)
				req = request()
				req.Reference = "FRIDAY"
				booked := f.handedOver(t, req)
				friday := booked.DeliveryDate
				if booked.DestinationID != "LOCKER-M5" {
					t.Fatalf("Friday's booking went to %s at booking; the test needs it at LOCKER-M5", booked.DestinationID)
				}
				if tt.pickedUp {
					f.pickUp(t, f.openingCode(t, queued["email"]))
				}

				// Thursday 20:00: the check.
				f.clock.Advance(6 * time.Hour)
				if got := dispatch.DispatchDate(); got != friday {
					t.Fatalf("the check on Thursday evening is for %s; want Friday %s", got, friday)
				}
				out, err := dispatch.Check(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if len(out.Rerouted) != tt.wantMoved || len(out.NoRoom) != 0 {
					t.Fatalf("the check moved %d and found no room for %d; want %d moved", len(out.Rerouted), len(out.NoRoom), tt.wantMoved)
				}
				sh, err := f.store.Shipment(ctx, booked.ID)
				if err != nil {
					t.Fatal(err)
				}
				reserved, err := f.store.ReservedOn(ctx, friday)
				if err != nil {
					t.Fatal(err)
				}
				if rerouted, noRoom := dispatch.TurnedAway(); rerouted != int64(tt.wantMoved) || noRoom != 0 {
					t.Errorf("turned away at dispatch: %d rerouted, %d no room; want %d, 0", rerouted, noRoom, tt.wantMoved)
				}
				if tt.wantMoved == 0 {
					if sh.DestinationID != "LOCKER-M5" || reserved["LOCKER-M5"]["L"] != 1 {
						t.Errorf("with room, the parcel is at %s, LOCKER-M5's Friday reservations %v; want it kept", sh.DestinationID, reserved["LOCKER-M5"])
					}
					return
				}
				last := sh.Events[len(sh.Events)-1]
				switch {
				case sh.DestinationID == "LOCKER-M5" || out.Rerouted[0].DestinationID != sh.DestinationID:
					t.Errorf("moved to %s (the result says %s); want another locker", sh.DestinationID, out.Rerouted[0].DestinationID)
				case sh.Routing.Rule != routing.RuleCapacityOverflow || !strings.Contains(sh.Routing.Reason, "no free compartment") ||
					!strings.HasSuffix(sh.Routing.Reason, service.DispatchNote):
					t.Errorf("routing %+v; want a capacity overflow found the evening before", sh.Routing)
				case !strings.HasPrefix(last.Reason, service.DispatchRerouteNote) || last.LocationID != sh.DestinationID:
					t.Errorf("last event %+v; want a re-routing to %s", last, sh.DestinationID)
				case sh.Status != lokero.StatusInTransit || sh.SizeClass == "":
					t.Errorf("status %s, size class %q; want in transit with a reservation at its new locker", sh.Status, sh.SizeClass)
				case reserved["LOCKER-M5"]["L"] != 0 || reserved[sh.DestinationID][sh.SizeClass] != 1:
					t.Errorf("Friday's reservations %v; want LOCKER-M5's given back and one at %s", reserved, sh.DestinationID)
				}
				if m := f.queued(t, sh.TrackingCode)["email"]; m.Kind != notify.KindRerouted {
					t.Errorf("the recipient's newest e-mail is %q; want the notice of the re-routing", m.Kind)
				}
				// Again: nothing new.
				again, err := dispatch.Check(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if len(again.Rerouted) != 0 || len(again.NoRoom) != 0 || again.Over != 0 {
					t.Errorf("the second check found %d over, moved %d, no room for %d; want nothing", again.Over, len(again.Rerouted), len(again.NoRoom))
				}
				if rerouted, _ := dispatch.TurnedAway(); rerouted != 1 {
					t.Errorf("after the second check, %d rerouted; want still 1", rerouted)
				}
				if n := f.lockers.DoorReroutes(); n != 0 {
					t.Errorf("%d turned away at the door; want none", n)
				}
			})
		})
	}
}

// fridayOverflow is the start of a move-back test: on Wednesday two
// parcels arrive in LOCKER-M5's two L compartments; on Thursday 14:00,
// with the booking's margin at its widest, the forecast counts both as
// still there on Friday, and n Friday bookings whose shopper chose
// LOCKER-M5 overflow to another locker at booking. Each is handed over.
// It returns them in the order booked and the Wednesday parcels' queued
// messages (their opening codes).
func (f lockersFixture) fridayOverflow(t *testing.T, n int) (booked []lokero.Shipment, waiting []map[string]lokero.OutboxMessage) {
	t.Helper()
	return f.overflowAfter(t, 1, n)
}

// overflowAfter is fridayOverflow with the bookings made days after
// Wednesday (1: on Thursday, for Friday; 2: on Friday, for Monday).
func (f lockersFixture) overflowAfter(t *testing.T, days, n int) (booked []lokero.Shipment, waiting []map[string]lokero.OutboxMessage) {
	t.Helper()
	if err := f.dir.Availability().SetMargin(4); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		req := request()
		req.Reference = fmt.Sprintf("WEDNESDAY-%d", i)
		_, queued := f.readyWith(t, req)
		waiting = append(waiting, queued)
	}
	f.clock.Advance(time.Duration(days) * 24 * time.Hour)
	for i := range n {
		f.clock.Advance(time.Minute) // ids sort by the millisecond booked
		sh := f.bookChosen(t, fmt.Sprintf("FRIDAY-%d", i))
		if sh.DestinationID == "LOCKER-M5" || sh.Routing.Rule != routing.RuleCapacityOverflow || sh.PickupPointID != "LOCKER-M5" {
			t.Fatalf("booking %d for %s went to %s by %s (asked %s); the test needs it overflowed from LOCKER-M5 at booking",
				i, sh.DeliveryDate, sh.DestinationID, sh.Routing.Rule, sh.PickupPointID)
		}
		booked = append(booked, sh)
	}
	return booked, waiting
}

// bookChosen books a parcel whose shopper chose LOCKER-M5 (the recipient
// lives in its building) and hands it over.
func (f lockersFixture) bookChosen(t *testing.T, reference string) lokero.Shipment {
	t.Helper()
	req := request()
	req.Reference, req.PickupPointID = reference, "LOCKER-M5"
	return f.handedOver(t, req)
}

// TestDispatchMovesBack: Friday's bookings whose shopper chose LOCKER-M5
// overflowed at booking, the forecast counting Wednesday's two parcels as
// still there. On Thursday evening the check counts what the locker
// holds: as many of them as the Wednesday parcels picked up meanwhile
// leave room for go back to LOCKER-M5, the first booked first — routed as
// a booking straight to it, their reservations moved, with the event,
// the webhook and the recipient's notice of a re-routing, counted apart —
// never more than the room, and a booking routed elsewhere for another
// reason (its overflow locker closed, it went on to the nearest open one)
// stays. A second check moves nothing.
func TestDispatchMovesBack(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name       string
		overflowed int
		pickedUp   int
		closed     bool  // then the first booking's overflow locker closes (it goes on to the nearest open point), and one more overflows
		wantBack   []int // the bookings moved back, by the order booked
	}{
		{"no room: it stays", 1, 0, false, nil},
		{"room for the one", 1, 1, false, []int{0}},
		{"room for one of three: the first booked", 3, 1, false, []int{0}},
		{"room for two of three", 3, 2, false, []int{0, 1}},
		{"room to spare: one re-routed from a closed point stays", 1, 2, true, []int{1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			eachStore(t, func(t *testing.T, f lockersFixture) {
				ctx := context.Background()
				hooks := withWebhooks(t, f)
				hook, err := hooks.Create(ctx, f.retailer.ID, service.WebhookRequest{URL: "https://kauppa.example/hooks", Events: []string{service.EventRerouted}})
				if err != nil {
					t.Fatal(err)
				}
				dispatch := service.NewDispatch(f.shipments)
				booked, waiting := f.fridayOverflow(t, tt.overflowed)
				friday := booked[0].DeliveryDate
				if tt.closed {
					at := booked[0].DestinationID
					if _, err := f.dir.Patch(ctx, "operator_1", at, service.LocationPatch{Status: strp("CLOSED")}); err != nil {
						t.Fatal(err)
					}
					if res, err := f.shipments.RerouteClosed(ctx, at); err != nil || len(res.Rerouted) != 1 {
						t.Fatalf("closing %s re-routed %+v, %v; want the first booking", at, res, err)
					}
					if _, err := f.dir.Patch(ctx, "operator_1", at, service.LocationPatch{Status: strp("OPEN")}); err != nil {
						t.Fatal(err)
					}
					if booked[0], err = f.store.Shipment(ctx, booked[0].ID); err != nil {
						t.Fatal(err)
					}
					if booked[0].Routing.Rule != service.RuleClosureReroute || booked[0].DestinationID == "LOCKER-M5" {
						t.Fatalf("the first booking went on to %s by %s; want the nearest open point", booked[0].DestinationID, booked[0].Routing.Rule)
					}
					f.clock.Advance(time.Minute)
					booked = append(booked, f.bookChosen(t, "FRIDAY-LAST"))
					if last := booked[1]; last.Routing.Rule != routing.RuleCapacityOverflow {
						t.Fatalf("the last booking went to %s by %s; want an overflow at booking", last.DestinationID, last.Routing.Rule)
					}
				}
				for _, queued := range waiting[:tt.pickedUp] {
					f.pickUp(t, f.openingCode(t, queued["email"]))
				}

				// Thursday 20:00: the check.
				f.clock.Advance(6 * time.Hour)
				out, err := dispatch.Check(ctx)
				if err != nil {
					t.Fatal(err)
				}
				wantBack := len(tt.wantBack)
				if len(out.MovedBack) != wantBack || len(out.Rerouted) != 0 || len(out.NoRoom) != 0 {
					t.Fatalf("the check moved %d back, %d out, found no room for %d; want %d back, none out",
						len(out.MovedBack), len(out.Rerouted), len(out.NoRoom), wantBack)
				}
				if n := dispatch.MovedBack(); n != int64(wantBack) {
					t.Errorf("counted %d moved back; want %d", n, wantBack)
				}
				if rerouted, noRoom := dispatch.TurnedAway(); rerouted != 0 || noRoom != 0 {
					t.Errorf("turned away at dispatch: %d, %d; want none", rerouted, noRoom)
				}
				reserved, err := f.store.ReservedOn(ctx, friday)
				if err != nil {
					t.Fatal(err)
				}
				if got := reserved["LOCKER-M5"]["L"]; got != wantBack || got > tt.pickedUp {
					t.Errorf("LOCKER-M5's Friday reservations: %d; want %d, within its room of %d", got, wantBack, tt.pickedUp)
				}
				for i, b := range booked {
					sh, err := f.store.Shipment(ctx, b.ID)
					if err != nil {
						t.Fatal(err)
					}
					last := sh.Events[len(sh.Events)-1]
					k := slices.Index(tt.wantBack, i)
					if k < 0 {
						if sh.DestinationID != b.DestinationID || sh.Routing != b.Routing || reserved[b.DestinationID][b.SizeClass] == 0 {
							t.Errorf("booking %d: at %s by %+v; want it left at %s", i, sh.DestinationID, sh.Routing, b.DestinationID)
						}
						continue
					}
					switch {
					case sh.DestinationID != "LOCKER-M5" || out.MovedBack[k].ID != sh.ID:
						t.Errorf("booking %d is at %s (moved back: %s); want LOCKER-M5, the first booked first", i, sh.DestinationID, out.MovedBack[k].ID)
					case sh.Routing.Rule != routing.RulePickupPoint || !strings.Contains(sh.Routing.Reason, "chose") ||
						!strings.HasSuffix(sh.Routing.Reason, service.DispatchBackReason):
						t.Errorf("booking %d: routing %+v; want the chosen point's, moved back", i, sh.Routing)
					case !strings.HasPrefix(last.Reason, service.DispatchBackNote) || last.LocationID != "LOCKER-M5":
						t.Errorf("booking %d: last event %+v; want the move back to LOCKER-M5", i, last)
					case sh.Status != lokero.StatusInTransit || sh.SizeClass != "L":
						t.Errorf("booking %d: %s with class %q; want in transit with LOCKER-M5's L", i, sh.Status, sh.SizeClass)
					}
					if m := f.queued(t, sh.TrackingCode)["email"]; m.Kind != notify.KindRerouted || !strings.Contains(m.Text, "Mannerheimintie 5") {
						t.Errorf("booking %d: the recipient's newest e-mail is %q (%q); want the notice of the new place", i, m.Kind, m.Text)
					}
				}
				deliveries, err := hooks.Deliveries(ctx, f.retailer.ID, hook.ID, "", 100)
				if err != nil {
					t.Fatal(err)
				}
				var hooked []string
				for _, d := range deliveries {
					if slices.ContainsFunc(out.MovedBack, func(sh lokero.Shipment) bool { return sh.ID == d.ShipmentID }) {
						hooked = append(hooked, d.ShipmentID)
					}
				}
				if len(hooked) != wantBack {
					t.Errorf("%d webhooks %q for the bookings moved back (of %d); want one each", len(hooked), service.EventRerouted, len(deliveries))
				}

				// Again: nothing new.
				again, err := dispatch.Check(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if len(again.MovedBack) != 0 || len(again.Rerouted) != 0 || len(again.NoRoom) != 0 || again.Over != 0 {
					t.Errorf("the second check found %d over, moved %d back, %d out, no room for %d; want nothing",
						again.Over, len(again.MovedBack), len(again.Rerouted), len(again.NoRoom))
				}
				if n := dispatch.MovedBack(); n != int64(wantBack) {
					t.Errorf("after the second check, %d moved back; want still %d", n, wantBack)
				}
			})
		})
	}
}

// TestDispatchMovesBackOnTheLastEvening: a booking for Monday overflowed
// on Friday; Wednesday's parcels in LOCKER-M5 are picked up on Friday.
// Friday's check of Monday counts the weekend by the dwell: it moves
// nothing back on a forecast. Sunday's, the last before Monday, counts
// the truth and moves it back.
func TestDispatchMovesBackOnTheLastEvening(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		if err := f.dir.Availability().SetMargin(4); err != nil {
			t.Fatal(err)
		}
		var waiting []map[string]lokero.OutboxMessage
		for i := range 2 {
			req := request()
			req.Reference = fmt.Sprintf("WEDNESDAY-%d", i)
			_, queued := f.readyWith(t, req)
			waiting = append(waiting, queued)
		}
		f.clock.Advance(48 * time.Hour) // Friday 14:00
		sh := f.bookChosen(t, "MONDAY")
		if sh.Routing.Rule != routing.RuleCapacityOverflow || sh.DeliveryDate.Weekday() != time.Monday {
			t.Fatalf("Friday's booking for %s (%s) went to %s by %s; the test needs it overflowed for Monday",
				sh.DeliveryDate, sh.DeliveryDate.Weekday(), sh.DestinationID, sh.Routing.Rule)
		}
		for _, queued := range waiting {
			f.pickUp(t, f.openingCode(t, queued["email"]))
		}
		dispatch := service.NewDispatch(f.shipments)
		for _, evening := range []struct {
			name     string
			advance  time.Duration
			wantBack int
		}{
			{"Friday", 6 * time.Hour, 0},
			{"Saturday", 24 * time.Hour, 0},
			{"Sunday", 24 * time.Hour, 1},
		} {
			f.clock.Advance(evening.advance)
			out, err := dispatch.Check(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if out.Date != sh.DeliveryDate || len(out.MovedBack) != evening.wantBack {
				t.Errorf("%s evening's check of %s moved %d back; want %d (of %s)", evening.name, out.Date, len(out.MovedBack), evening.wantBack, sh.DeliveryDate)
			}
		}
		got, err := f.store.Shipment(ctx, sh.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.DestinationID != "LOCKER-M5" {
			t.Errorf("on Monday the parcel goes to %s; want LOCKER-M5", got.DestinationID)
		}
	})
}

// TestDispatchMovesBackFromAFullLocker: two bookings whose shoppers
// chose LOCKER-M5 overflowed at booking to SP-TWO, the locker next door
// (with more room than SP-NEAR, routing.Spread), whose compartments are
// then all out of order; LOCKER-M5 has room
// for one of them. On the last evening before delivery the first booked
// goes back to LOCKER-M5 before SP-TWO's excess is counted, and the other
// moves out to the nearest locker with room. On an evening further ahead
// (Friday's check of Monday) nothing moves back on its own, but moving
// SP-TWO's excess out (the last booked first, occupancy.ToMove), the check
// sends the first it moves to LOCKER-M5 — a move back, not a turn-away —
// and the other to a locker with room. That is SP-ROOMY, 550 m on, with
// twice SP-NEAR's room: within routing.SpreadM of SP-NEAR (78 m from
// SP-TWO), so the check spreads its move there, as a booking would; the
// bookings at LOCKER-M5 never weighed it (SP-TWO, 11 m from LOCKER-M5,
// had room, and SP-ROOMY is more than SpreadM beyond).
func TestDispatchMovesBackFromAFullLocker(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name              string
		days              int // after Wednesday, the day of the bookings and of the check
		wantOver          int
		wantBack, wantOut int // the booking moved back and the one moved out, by the order booked
	}{
		{"Thursday's check of Friday", 1, 1, 0, 1},
		{"Friday's check of Monday", 2, 2, 1, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			eachStore(t, func(t *testing.T, f lockersFixture) {
				ctx := context.Background()
				two := smartpost("SP-TWO", "00100", 60.1699, 24.9386)
				two.Compartments[0].Count = 12 // 11 free after the first overflow, SP-NEAR's 10
				roomy := smartpost("SP-ROOMY", "00100", 60.17485, 24.9385)
				roomy.Compartments[0].Count = 20
				if _, err := f.dir.Import(ctx, []lokero.Location{two, roomy}); err != nil {
					t.Fatal(err)
				}
				operator, _, err := f.lockers.AddCredential(ctx, lokero.KindOperator, "Olli", "")
				if err != nil {
					t.Fatal(err)
				}
				booked, waiting := f.overflowAfter(t, tt.days, 2)
				for i, sh := range booked {
					if sh.DestinationID != "SP-TWO" {
						t.Fatalf("booking %d overflowed to %s; the test needs SP-TWO", i, sh.DestinationID)
					}
				}
				// LOCKER-M5's room: one of its two compartments, by the
				// truth on Thursday, by the dwell too on Friday.
				for _, queued := range waiting {
					f.pickUp(t, f.openingCode(t, queued["email"]))
				}
				out := map[string][]int{"LOCKER-M5": {1}, "SP-TWO": {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}}
				for _, id := range []string{"LOCKER-M5", "SP-TWO"} {
					for _, n := range out[id] {
						if _, err := f.lockers.SetOutOfOrder(ctx, operator, id, n, true); err != nil {
							t.Fatal(err)
						}
					}
				}
				f.clock.Advance(6 * time.Hour) // 20:00
				dispatch := service.NewDispatch(f.shipments)
				res, err := dispatch.Check(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if res.Date != booked[0].DeliveryDate || res.Over != tt.wantOver || len(res.MovedBack) != 1 || res.MovedBack[0].ID != booked[tt.wantBack].ID ||
					len(res.Rerouted) != 1 || res.Rerouted[0].ID != booked[tt.wantOut].ID {
					t.Fatalf("the check of %s found %d over, moved back %v, out %v; want %d over, booking %d (of %v) back, %d out",
						res.Date, res.Over, shipmentIDs(res.MovedBack), shipmentIDs(res.Rerouted), tt.wantOver, tt.wantBack, shipmentIDs(booked), tt.wantOut)
				}
				if rerouted, noRoom := dispatch.TurnedAway(); rerouted != 1 || noRoom != 0 || dispatch.MovedBack() != 1 {
					t.Errorf("counted %d rerouted, %d no room, %d moved back; want 1, 0, 1", rerouted, noRoom, dispatch.MovedBack())
				}
				back, away := res.MovedBack[0], res.Rerouted[0]
				if back.DestinationID != "LOCKER-M5" || back.Routing.Rule != routing.RulePickupPoint || !strings.HasPrefix(back.Events[len(back.Events)-1].Reason, service.DispatchBackNote) {
					t.Errorf("moved back to %s by %s; want LOCKER-M5 by %s", back.DestinationID, back.Routing.Rule, routing.RulePickupPoint)
				}
				if away.DestinationID != "SP-ROOMY" || away.Routing.Rule != routing.RuleCapacityOverflow ||
					!strings.Contains(away.Routing.Reason, "more compartments are free than at Smartpost SP-NEAR") {
					t.Errorf("moved out to %s by %s (%s); want SP-ROOMY, the roomiest within reach, by the overflow", away.DestinationID, away.Routing.Rule, away.Routing.Reason)
				}
				reserved, err := f.store.ReservedOn(ctx, booked[0].DeliveryDate)
				if err != nil {
					t.Fatal(err)
				}
				if reserved["LOCKER-M5"]["L"] != 1 || reserved["SP-TWO"]["S"] != 0 {
					t.Errorf("the reservations %v; want one L at LOCKER-M5, none at SP-TWO", reserved)
				}
			})
		})
	}
}

// shipmentIDs lists shipments' ids.
func shipmentIDs(list []lokero.Shipment) []string {
	out := make([]string, len(list))
	for i, sh := range list {
		out[i] = sh.ID
	}
	return out
}

// TestDispatchReachesAsFarAsABooking: as TestDispatchCheck, the Friday
// parcel at LOCKER-M5 finds no room there on Thursday evening; this time
// the ten lockers nearest it (one compartment each, a few dozen metres
// away) are full on Friday too. The check looks as far as a booking's
// overflow does and moves it to SP-NEAR, the eleventh nearest, before the
// door would have to turn it away (it used to stop at ten: no room,
// left to the door).
func TestDispatchReachesAsFarAsABooking(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		if err := f.dir.Availability().SetMargin(0); err != nil {
			t.Fatal(err)
		}
		var near []lokero.Location
		for i := range 10 {
			l := smartpost(fmt.Sprintf("SP-CLOSE%d", i), "00100", 60.1699+float64(i+1)*0.00005, 24.9384)
			l.Compartments[0].Count = 1
			near = append(near, l)
		}
		if _, err := f.dir.Import(ctx, near); err != nil {
			t.Fatal(err)
		}
		dispatch := service.NewDispatch(f.shipments)
		f.readyWith(t, request())
		req := request()
		req.Reference = "ORDER-2"
		f.readyWith(t, req)

		// Thursday 14:00: each close locker's one compartment booked for
		// Friday, then one booking for Friday at LOCKER-M5.
		f.clock.Advance(24 * time.Hour)
		for _, l := range near {
			req := request()
			req.Reference, req.PickupPointID = "FULL-"+l.ID, l.ID
			res, err := f.shipments.Create(ctx, f.retailer, req, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.Shipment.DestinationID != l.ID {
				t.Fatalf("the booking for %s went to %s", l.ID, res.Shipment.DestinationID)
			}
		}
		req = request()
		req.Reference = "FRIDAY"
		booked := f.handedOver(t, req)
		if booked.DestinationID != "LOCKER-M5" {
			t.Fatalf("Friday's booking went to %s at booking; the test needs it at LOCKER-M5", booked.DestinationID)
		}

		// Thursday 20:00: the check.
		f.clock.Advance(6 * time.Hour)
		out, err := dispatch.Check(ctx)
		if err != nil {
			t.Fatal(err)
		}
		sh, err := f.store.Shipment(ctx, booked.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Rerouted) != 1 || len(out.NoRoom) != 0 || sh.DestinationID != "SP-NEAR" {
			t.Fatalf("the check moved %d, found no room for %d; the parcel goes to %s; want it moved to SP-NEAR",
				len(out.Rerouted), len(out.NoRoom), sh.DestinationID)
		}
	})
}

// TestDispatchMovesDownBeforeOut: LOCKER-M5 has one S and two L
// compartments, SP-NEAR room in L. On Thursday a small parcel is booked
// for Friday into an L compartment (the S taken by another booking, then
// cancelled) and a large one after it into the other L. On Thursday
// evening a large parcel from Wednesday still holds an L compartment: L is
// one over. The check moves the small parcel's reservation down into the
// free S — no one turned away — rather than sending the large parcel, the
// last booked, to SP-NEAR.
func TestDispatchMovesDownBeforeOut(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		f.smallAndLargeAtM5(t, 0)
		large := func(reference string) service.ShipmentRequest {
			req := largeParcel(request())
			req.Reference = reference
			return req
		}
		small := func(reference string) service.ShipmentRequest {
			req := request()
			req.Reference = reference
			return req
		}
		if waiting, _ := f.readyWith(t, large("WEDNESDAY")); waiting.SizeClass != "L" {
			t.Fatalf("Wednesday's large parcel booked as %q; want L", waiting.SizeClass)
		}

		f.clock.Advance(24 * time.Hour) // Thursday 14:00
		taken, err := f.shipments.Create(ctx, f.retailer, small("TAKES-S"), "", nil)
		if err != nil || taken.Shipment.SizeClass != "S" {
			t.Fatalf("the first small booking: %q, %v; want S", taken.Shipment.SizeClass, err)
		}
		smallInL := f.handedOver(t, small("SMALL"))
		f.clock.Advance(time.Minute)
		largeInL := f.handedOver(t, large("LARGE"))
		for _, sh := range []lokero.Shipment{smallInL, largeInL} {
			if sh.DestinationID != "LOCKER-M5" || sh.SizeClass != "L" {
				t.Fatalf("%s booked to %s in %q; the test needs LOCKER-M5's L", sh.Reference, sh.DestinationID, sh.SizeClass)
			}
		}
		if _, err := f.shipments.Cancel(ctx, f.retailer, taken.Shipment.ID); err != nil {
			t.Fatal(err)
		}

		f.clock.Advance(6 * time.Hour) // 20:00
		dispatch := service.NewDispatch(f.shipments)
		res, err := dispatch.Check(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if res.Over != 1 || len(res.Rerouted) != 0 || len(res.NoRoom) != 0 {
			t.Fatalf("the check found %d over, moved out %v, no room for %v; want 1 over, none moved out", res.Over, shipmentIDs(res.Rerouted), shipmentIDs(res.NoRoom))
		}
		f.wantAtM5(t, smallInL, "S")
		f.wantAtM5(t, largeInL, "L")
		reserved, err := f.store.ReservedOn(ctx, smallInL.DeliveryDate)
		if err != nil {
			t.Fatal(err)
		}
		if reserved["LOCKER-M5"]["S"] != 1 || reserved["LOCKER-M5"]["L"] != 1 || len(reserved["SP-NEAR"]) != 0 {
			t.Errorf("Friday's reservations %v; want LOCKER-M5's one S and one L, none at SP-NEAR", reserved)
		}
		if rerouted, noRoom := dispatch.TurnedAway(); rerouted != 0 || noRoom != 0 {
			t.Errorf("turned away at dispatch: %d rerouted, %d no room; want none", rerouted, noRoom)
		}
	})
}

// TestDispatchMovesDownThenBack: LOCKER-M5 has one S and two L
// compartments. Wednesday a small parcel arrives in its S and a large one
// in an L. Thursday, the forecast counting both as still there on Friday,
// a small parcel for Friday is booked into the other L and a large one,
// whose shopper chose LOCKER-M5 too, overflows to SP-NEAR. Thursday the
// small parcel is picked up. On the evening, the last before Friday, the
// check moves the small booking into the free S, as the door would put
// it, and so the large one back into the L it leaves.
func TestDispatchMovesDownThenBack(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		f.smallAndLargeAtM5(t, 4)
		large := largeParcel
		smallWaiting, queued := f.readyWith(t, request())
		req := large(request())
		req.Reference = "WEDNESDAY-LARGE"
		if largeWaiting, _ := f.readyWith(t, req); smallWaiting.SizeClass != "S" || largeWaiting.SizeClass != "L" {
			t.Fatalf("Wednesday's parcels booked as %q and %q; want S and L", smallWaiting.SizeClass, largeWaiting.SizeClass)
		}

		f.clock.Advance(24 * time.Hour) // Thursday 14:00
		smallInL := f.bookChosen(t, "SMALL")
		f.clock.Advance(time.Minute)
		req = large(request())
		req.Reference, req.PickupPointID = "LARGE", "LOCKER-M5"
		overflowed := f.handedOver(t, req)
		if smallInL.DestinationID != "LOCKER-M5" || smallInL.SizeClass != "L" || overflowed.DestinationID != "SP-NEAR" || overflowed.Routing.Rule != routing.RuleCapacityOverflow {
			t.Fatalf("Thursday's bookings: the small to %s in %q, the large to %s by %s; the test needs LOCKER-M5's L and SP-NEAR by the overflow",
				smallInL.DestinationID, smallInL.SizeClass, overflowed.DestinationID, overflowed.Routing.Rule)
		}
		f.pickUp(t, f.openingCode(t, queued["email"]))

		f.clock.Advance(6 * time.Hour) // 20:00
		dispatch := service.NewDispatch(f.shipments)
		res, err := dispatch.Check(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.MovedBack) != 1 || res.MovedBack[0].ID != overflowed.ID || len(res.Rerouted) != 0 {
			t.Fatalf("the check moved back %v, out %v; want the large booking back", shipmentIDs(res.MovedBack), shipmentIDs(res.Rerouted))
		}
		f.wantAtM5(t, smallInL, "S")
		f.wantAtM5(t, overflowed, "L")
	})
}

// smallAndLargeAtM5 gives LOCKER-M5 one S and two L compartments and
// SP-NEAR five L beside its S, and sets the booking's margin for chance.
func (f lockersFixture) smallAndLargeAtM5(t *testing.T, margin float64) {
	t.Helper()
	m5, near := network()[3], network()[0]
	m5.Compartments = []lokero.CompartmentClass{{Size: "S", LengthCM: 70, WidthCM: 40, HeightCM: 10, Count: 1},
		{Size: "L", LengthCM: 70, WidthCM: 40, HeightCM: 40, Count: 2}}
	near.Compartments = append(near.Compartments, lokero.CompartmentClass{Size: "L", LengthCM: 70, WidthCM: 40, HeightCM: 40, Count: 5})
	if _, err := f.dir.Import(context.Background(), []lokero.Location{m5, near}); err != nil {
		t.Fatal(err)
	}
	if err := f.dir.Availability().SetMargin(margin); err != nil {
		t.Fatal(err)
	}
}

// largeParcel is req with a parcel only an L compartment takes.
func largeParcel(req service.ShipmentRequest) service.ShipmentRequest {
	req.Parcel = &lokero.Parcel{LengthCM: 30, WidthCM: 30, HeightCM: 30, WeightKG: 3, Contents: lokero.ContentsGoods}
	return req
}

// wantAtM5 fails t unless sh, as stored, goes to LOCKER-M5 with a
// reservation of size.
func (f lockersFixture) wantAtM5(t *testing.T, sh lokero.Shipment, size string) {
	t.Helper()
	got, err := f.store.Shipment(context.Background(), sh.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.DestinationID != "LOCKER-M5" || got.SizeClass != size {
		t.Errorf("%s after the check: at %s in %q; want LOCKER-M5 in %s", sh.Reference, got.DestinationID, got.SizeClass, size)
	}
}
