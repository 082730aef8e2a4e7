package api

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/calendar"
	"github.com/lokero/lokero/service"
)

// TestStatusTextsComplete: every status has a name and a description in
// every language, the Finnish and Swedish ones are not the English ones,
// and no two statuses share a name in one language.
func TestStatusTextsComplete(t *testing.T) {
	t.Parallel()
	for l := range languageTags {
		seen := map[string]lokero.ShipmentStatus{}
		for _, st := range lokero.ShipmentStatuses {
			tx, ok := statusTexts[st]
			if !ok {
				t.Fatalf("%s has no texts", st)
			}
			name, desc := tx.name[l], tx.description[l]
			if name == "" || desc == "" {
				t.Errorf("%s in %s: name %q, description %q", st, language(l), name, desc)
			}
			if other, dup := seen[name]; dup {
				t.Errorf("%s and %s are both %q in %s", st, other, name, language(l))
			}
			seen[name] = st
			if language(l) != langEN && (name == tx.name[langEN] || desc == tx.description[langEN]) {
				t.Errorf("%s in %s is still English: %q", st, language(l), name)
			}
		}
	}
	if len(statusTexts) != len(lokero.ShipmentStatuses) {
		t.Errorf("texts for %d statuses; there are %d", len(statusTexts), len(lokero.ShipmentStatuses))
	}
	want := map[language]string{langEN: "Ready for pickup", langFI: "Noudettavissa", langSV: "Kan hämtas"}
	for l, name := range want {
		if got := statusName(lokero.StatusReadyForPickup, l); got != name {
			t.Errorf("READY_FOR_PICKUP in %s: %q; want %q", l, got, name)
		}
	}
}

// TestStatusesLanguageNegotiation: ?lang wins, Accept-Language is read
// with its q-values, English when nothing of ours is asked for, and a bad
// lang is a 400 naming it.
func TestStatusesLanguageNegotiation(t *testing.T) {
	t.Parallel()
	s := &Server{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, c := range []struct {
		query, accept string
		status        int
		want          string
	}{
		{"", "", 200, "en"},
		{"", "sv-FI,sv;q=0.9,en;q=0.5", 200, "sv"},
		{"", "de", 200, "en"},
		{"", "fi", 200, "fi"},
		{"", "FI-fi", 200, "fi"},
		{"", "de-DE, en;q=0.3, fi;q=0.8", 200, "fi"},
		{"", "fi;q=0, sv;q=0.1", 200, "sv"},
		{"", "fi;q=bad, en;q=0.2", 200, "en"},
		{"", "*", 200, "en"},
		{"?lang=sv", "fi", 200, "sv"},
		{"?lang=fi", "sv-FI,sv;q=0.9", 200, "fi"},
		{"?lang=en", "fi", 200, "en"},
		{"?lang=de", "fi", 400, "unknown_language"},
		{"?lang=", "", 400, "unknown_language"},
		{"?lang=fi-FI", "", 400, "unknown_language"},
		{"?lang=fi&lang=sv", "", 400, "duplicate_parameter"},
		{"?lang=fi&lang=fi", "", 400, "duplicate_parameter"},
	} {
		r := httptest.NewRequest("GET", "/v1/statuses"+c.query, nil)
		if c.accept != "" {
			r.Header.Set("Accept-Language", c.accept)
		}
		w := httptest.NewRecorder()
		s.handleStatuses(w, r)
		name := fmt.Sprintf("%s Accept-Language %q", c.query, c.accept)
		if w.Code != c.status {
			t.Errorf("%s: %d %s; want %d", name, w.Code, w.Body, c.status)
			continue
		}
		if c.status != 200 {
			var e struct{ Error struct{ Code, Field string } }
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Field != "lang" || e.Error.Code != c.want {
				t.Errorf("%s: %s; want %s naming lang", name, w.Body, c.want)
			}
			continue
		}
		var got struct {
			Language string
			Statuses []struct{ Status, Name, Description string }
		}
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if got.Language != c.want || w.Header().Get("Content-Language") != c.want {
			t.Errorf("%s: language %q, Content-Language %q; want %s", name, got.Language, w.Header().Get("Content-Language"), c.want)
		}
		if !strings.Contains(strings.Join(w.Header().Values("Vary"), ","), "Accept-Language") {
			t.Errorf("%s: Vary %q lacks Accept-Language", name, w.Header().Values("Vary"))
		}
		l, _ := parseLanguage(c.want)
		if len(got.Statuses) != len(lokero.ShipmentStatuses) {
			t.Fatalf("%s: %d statuses; want %d", name, len(got.Statuses), len(lokero.ShipmentStatuses))
		}
		for i, st := range got.Statuses {
			want := statusTexts[lokero.ShipmentStatuses[i]]
			if st.Status != string(lokero.ShipmentStatuses[i]) || st.Name != want.name[l] || st.Description != want.description[l] {
				t.Errorf("%s: status %d is %+v; want %s %q", name, i, st, lokero.ShipmentStatuses[i], want.name[l])
			}
		}
	}
}

// TestPublicEventTextsEveryReason: every reason the service writes into
// an event shown in public tracking is classified (its English text is
// the reason exactly) and put into Finnish and Swedish with its values —
// dates, places, compartment numbers — and an unknown reason is not.
func TestPublicEventTextsEveryReason(t *testing.T) {
	t.Parallel()
	outlet := &lokero.Location{ID: "po1", Name: "Posti Kamppi", Type: lokero.TypePostOffice}
	residents := &lokero.Location{ID: "lk1", Name: "Mannerheimintie 5", Type: lokero.TypeLocker, Access: lokero.AccessResidents}
	byID := func(id string) *lokero.Location {
		switch id {
		case outlet.ID:
			return outlet
		case residents.ID:
			return residents
		}
		return nil
	}
	deadline := time.Date(2026, 12, 15, 21, 59, 0, 0, time.UTC) // 15.12.2026 23.59 in Helsinki
	sh := &lokero.Shipment{DestinationID: outlet.ID, DeliveryDate: lokero.Date{Year: 2026, Month: time.December, Day: 8}, StorageDeadline: deadline}
	until := deadline.In(calendar.Helsinki).Format("2.1.2006 15:04")
	for _, c := range []struct {
		status lokero.ShipmentStatus
		loc    string
		reason string
		values []string // in every language's text
	}{
		{lokero.StatusCreated, "", "Compartment 7 opened for the drop-off.", []string{"7"}},
		{lokero.StatusInTransit, "", "Handed over to the carrier.", nil},
		{lokero.StatusInTransit, "", "Handed over to the carrier; expected on 2026-12-08.", nil},
		{lokero.StatusInTransit, "", "Handed over to the carrier; expected on 2026-12-08. The outlet's shelves are full for that day.", nil},
		{lokero.StatusInTransit, "", "Handed over to the carrier; expected on 2026-12-08. The locker has no free compartment reserved for that day.", nil},
		{lokero.StatusInTransit, "", "Collected by the courier: on its way to the store.", nil},
		{lokero.StatusInTransit, "", "Collected by the courier: on its way to the recipient.", nil},
		{lokero.StatusInTransit, "", "Collected by the courier: on its way to Posti Kamppi.", []string{"Posti Kamppi"}},
		{lokero.StatusInLocker, "", "Put in compartment 12 by the courier.", []string{"12"}},
		{lokero.StatusReadyForPickup, "", "Ready for pickup until " + until + ".", []string{"15.12.2026"}},
		{lokero.StatusReadyForPickup, outlet.ID, "Arrived at Posti Kamppi: ready for pickup at the counter until " + until + ".", []string{"Posti Kamppi", "15.12.2026"}},
		{lokero.StatusReadyForPickup, "", "The notice of arrival was sent again.", nil},
		{lokero.StatusReadyForPickup, "", "The opening code was changed by the operator and a new notice of arrival sent.", nil},
		{lokero.StatusReadyForPickup, "", "Reminder sent: the storage period ends on 15.12.2026.", []string{"15.12.2026"}},
		{lokero.StatusReadyForPickup, "", "Cash on delivery paid at the locker's terminal.", nil},
		{lokero.StatusReadyForPickup, "", "Cash on delivery paid at the counter, in cash.", nil},
		{lokero.StatusReadyForPickup, "", "Cash on delivery paid at the counter, by card.", nil},
		{lokero.StatusPickedUp, "", "Picked up by the recipient.", nil},
		{lokero.StatusPickedUp, "", "Picked up at the counter by the recipient.", nil},
		{lokero.StatusPickedUp, "", "Picked up at the counter by a representative with a power of attorney.", nil},
		{lokero.StatusPickedUp, "", "The recipient is returning the parcel: tracking code JR123456785FI.", []string{"JR123456785FI"}},
		{lokero.StatusExpired, "", "The 7-day storage period ended: the parcel goes back to the sender.", nil},
		{lokero.StatusReturning, "", "Collected by the courier: on its way back to the sender.", nil},
		{lokero.StatusCancelled, "", "Cancelled by the sender before handover.", nil},
		{lokero.StatusReturnedToSender, "", "The return was delivered to the store.", nil},
		{lokero.StatusReturnedToSender, "", "Handed back to the sender.", nil},
		{lokero.StatusDroppedOff, "", "Dropped off in compartment 3; the courier collects it from here.", []string{"3"}},
		{lokero.StatusDroppedOff, outlet.ID, "Dropped off at the counter of Posti Kamppi; the courier collects it from there.", []string{"Posti Kamppi"}},
	} {
		e := lokero.ShipmentEvent{Status: c.status, LocationID: c.loc, Reason: c.reason}
		tx, ok := eventText(sh, e, byID)
		if !ok {
			t.Errorf("%s %q is not classified", c.status, c.reason)
			continue
		}
		if got := tx.in(langEN); got != c.reason {
			t.Errorf("%s %q in English: %q", c.status, c.reason, got)
		}
		for _, l := range []language{langFI, langSV} {
			got := tx.in(l)
			if got == c.reason || strings.Contains(got, "%!") {
				t.Errorf("%s %q in %s: %q", c.status, c.reason, l, got)
			}
			for _, v := range c.values {
				if !strings.Contains(got, v) {
					t.Errorf("%s %q in %s: %q lacks %q", c.status, c.reason, l, got, v)
				}
			}
		}
	}
	if got := (text{{pubHandedOverOn, []any{deliveryDay(sh.DeliveryDate)}}}).in(langFI); !strings.Contains(got, "8.12.2026") {
		t.Errorf("the delivery day in Finnish: %q; want 8.12.2026", got)
	}
	if got := (text{{pubReady, []any{deadlineAt(deadline)}}}).in(langSV); got != "Kan hämtas till 15.12.2026 kl. 23.59." {
		t.Errorf("the deadline in Swedish: %q", got)
	}
	for _, e := range []lokero.ShipmentEvent{
		{Status: lokero.StatusInTransit, Reason: "Handed over to the carrier; expected on 2026-12-09."},            // not the shipment's date
		{Status: lokero.StatusReadyForPickup, Reason: "Ready for pickup until 16.12.2026 23:59."},                  // not its deadline
		{Status: lokero.StatusPickedUp, Reason: "Handed over to the carrier."},                                     // not at this status
		{Status: lokero.StatusInTransit, Reason: "Collected by the courier: on its way to Mannerheimintie 5."},     // a residents' locker is not named
		{Status: lokero.StatusDroppedOff, LocationID: residents.ID, Reason: "Something the service says one day."}, // unknown
	} {
		if tx, ok := eventText(sh, e, byID); ok {
			t.Errorf("%s %q classified as %q", e.Status, e.Reason, tx.in(langFI))
		}
	}
}

// TestPublicEventsReplaceWhatIsNotPublic: the booking (by its rule; of a
// re-routed parcel, by none), a re-routing and a notice that reached
// nobody get public sentences in place of the service's reasons, which name addresses and the recipient's contacts;
// a residents-only locker is not named; an unclassified reason stays as
// it is in every language.
func TestPublicEventsReplaceWhatIsNotPublic(t *testing.T) {
	t.Parallel()
	residents := &lokero.Location{ID: "lk1", Name: "Mannerheimintie 5", Type: lokero.TypeLocker, Access: lokero.AccessResidents}
	byID := func(id string) *lokero.Location {
		if id == residents.ID {
			return residents
		}
		return nil
	}
	at := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	sh := &lokero.Shipment{Routing: lokero.Routing{Rule: "building_locker"}, Events: []lokero.ShipmentEvent{
		{Status: lokero.StatusCreated, At: at, LocationID: residents.ID, Reason: "Routed to the locker at Mannerheimintie 5, 00104 Helsinki."},
		{Status: lokero.StatusCreated, At: at, LocationID: residents.ID, Reason: "Re-routed: Mannerheimintie 5 is closed on 2026-12-04: the parcel goes to Kalevankatu 3."},
		{Status: lokero.StatusReadyForPickup, At: at, LocationID: residents.ID,
			Reason: "Notice of arrival could not be delivered: sms: +358401234567 rejected; email: maija@example.fi bounced"},
		{Status: lokero.StatusInTransit, At: at, LocationID: residents.ID,
			Reason: service.LockerRerouteNote + "Mannerheimintie 5 has no free compartment: the parcel goes to Kalevankatu 3."},
		{Status: lokero.StatusInTransit, At: at, LocationID: residents.ID,
			Reason: service.DispatchRerouteNote + "Mannerheimintie 5 has no free compartment: the parcel goes to Kalevankatu 3." + service.DispatchNote},
		{Status: lokero.StatusInTransit, At: at, LocationID: residents.ID,
			Reason: service.DispatchBackNote + "The recipient chose the LOCKER As Oy Mannerheimintie 5 (lk1) in their own building at checkout." + service.DispatchBackReason},
		{Status: lokero.StatusReadyForPickup, At: at, Reason: "Something new the service says."},
	}}
	for _, l := range []language{langEN, langFI, langSV} {
		evs := publicEventsOf(sh, l, byID)
		if len(evs) != len(sh.Events) {
			t.Fatalf("%d events; want %d", len(evs), len(sh.Events))
		}
		for i, e := range evs[:6] {
			for _, private := range []string{"Mannerheimintie", "00104", "Kalevankatu", "+358", "maija@"} {
				if strings.Contains(e.Reason, private) || strings.Contains(e.Text, private) {
					t.Errorf("%s event %d names %q: %+v", l, i, private, e)
				}
			}
			if e.LocationID != "" {
				t.Errorf("%s event %d names the residents' locker %s", l, i, e.LocationID)
			}
			if e.StatusName != statusName(e.Status, l) || e.Text == "" || (l != langEN && e.Text == e.Reason) || (l == langEN && e.Text != e.Reason) {
				t.Errorf("%s event %d: %+v", l, i, e)
			}
		}
		if e := evs[6]; e.Reason != sh.Events[6].Reason || e.Text != e.Reason {
			t.Errorf("%s: an unclassified event became %+v", l, e)
		}
	}
	fi := publicEventsOf(sh, langFI, byID)
	for i, want := range []string{pubBooked[langFI], pubClosureReroute[langFI], pubUnreachable[langFI], pubLockerReroute[langFI], pubDispatchReroute[langFI], pubDispatchBack[langFI]} {
		if fi[i].Text != want {
			t.Errorf("event %d in Finnish: %q; want %q", i, fi[i].Text, want)
		}
	}
	if sv := publicEventsOf(sh, langSV, byID); sv[5].Text != pubDispatchBack[langSV] || sv[5].Reason != pubDispatchBack[langEN] {
		t.Errorf("the move back in Swedish: %q (%q); want its own sentence", sv[5].Text, sv[5].Reason)
	}
	// Which courier deposited at the keypad is the operator's to read.
	byCourier := &lokero.Shipment{Events: []lokero.ShipmentEvent{sh.Events[0],
		{Status: lokero.StatusInTransit, At: at, LocationID: "SP-1", Reason: service.KeypadCourierNote + "crd_019ab2c4d5e6f7."}}}
	if e := publicEventsOf(byCourier, langEN, byID)[1]; e.Reason != "" || e.Text != "" || e.LocationID != "" || e.Status != lokero.StatusInTransit {
		t.Errorf("the keypad courier's note in public: %+v; want its status and time only", e)
	}
	// Moved back, the shipment's rule is the chosen point's again, but the
	// booking was not by it: it says only that it was booked.
	back := &lokero.Shipment{Routing: lokero.Routing{Rule: "pickup_point"}, Events: []lokero.ShipmentEvent{sh.Events[0], sh.Events[5]}}
	if got := publicEventsOf(back, langEN, byID)[0].Text; got != pubBooked[langEN] {
		t.Errorf("the booking of a parcel moved back: %q; want %q", got, pubBooked[langEN])
	}
	booked := &lokero.Shipment{Routing: sh.Routing, Events: sh.Events[:1]}
	if got := publicEventsOf(booked, langSV, byID)[0].Text; got != pubRouting["building_locker"][langSV] {
		t.Errorf("the booking in Swedish: %q; want its rule's sentence", got)
	}
}

// TestPublicStrandedAtResidentsLocker: a parcel handed over late for a
// residents-only locker closed on its new delivery day, with no open point
// near, is stranded; public tracking says so without naming the locker
// (its name is the recipient's building), both while the locker is closed
// (the reason is classified) and after it has reopened (it is not).
func TestPublicStrandedAtResidentsLocker(t *testing.T) {
	t.Parallel()
	closed := &lokero.Location{ID: "lk1", Name: "As Oy Mannerheimintie 5", Street: "Mannerheimintie 5", Type: lokero.TypeLocker,
		Access: lokero.AccessResidents, Status: lokero.LocationTemporarilyClosed, StatusFrom: "2026-12-08", StatusUntil: "2026-12-10",
		StatusReason: "renovation"}
	reopened := *closed
	reopened.Status, reopened.StatusFrom, reopened.StatusUntil, reopened.StatusReason = lokero.LocationOpen, "", "", ""
	reason := "Handed over to the carrier; expected on 2026-12-08. " + closed.Name + " is closed that day (" +
		closed.ClosedReason("2026-12-08") + ") and no open point nearby takes the parcel: the operator is told."
	at := time.Date(2026, 12, 7, 17, 0, 0, 0, time.UTC)
	sh := &lokero.Shipment{DestinationID: closed.ID, DeliveryDate: lokero.Date{Year: 2026, Month: time.December, Day: 8},
		Routing: lokero.Routing{Rule: "building_locker"}, Events: []lokero.ShipmentEvent{
			{Status: lokero.StatusCreated, At: at, LocationID: closed.ID, Reason: "Routed to the locker in the recipient's building."},
			{Status: lokero.StatusInTransit, At: at, LocationID: closed.ID, Reason: reason},
		}}
	for _, c := range []struct {
		name string
		loc  *lokero.Location
	}{{"closed", closed}, {"reopened", &reopened}} {
		byID := func(id string) *lokero.Location {
			if id == c.loc.ID {
				return c.loc
			}
			return nil
		}
		for _, l := range []language{langEN, langFI, langSV} {
			e := publicEventsOf(sh, l, byID)[1]
			for _, private := range []string{"Mannerheimintie", "As Oy"} {
				if strings.Contains(e.Reason, private) || strings.Contains(e.Text, private) {
					t.Errorf("%s, in %s: the stranded event names %q: %+v", c.name, l, private, e)
				}
			}
			if c.loc == closed && (e.Text == "" || strings.Contains(e.Text, "%!") || !strings.Contains(e.Text, "renovation")) {
				t.Errorf("%s, in %s: the stranded event says %q; want why, without the name", c.name, l, e.Text)
			}
		}
	}
}
