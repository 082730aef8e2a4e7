package service

import (
	"strings"
	"testing"
	"time"

	"github.com/lokero/lokero"
)

// postOffice is a post office open Monday to Friday 9-18 and Saturday
// 10-14, closed on an exception day and with a short day.
func postOffice() *lokero.Location {
	hours := []lokero.OpeningHours{{Weekday: 6, From: "10:00", To: "14:00"}}
	for d := 1; d <= 5; d++ {
		hours = append(hours, lokero.OpeningHours{Weekday: d, From: "09:00", To: "18:00"})
	}
	l := &lokero.Location{ID: "PO-1", Type: lokero.TypePostOffice, Name: "Posti Kamppi", Street: "Urho Kekkosen katu 1",
		StreetSV: "Urho Kekkonens gata 1", Postcode: "00100", City: "Helsinki", OpeningHours: hours,
		ExceptionDays: []lokero.ExceptionDay{
			{Date: "2026-12-24", Closed: true, Reason: "Christmas Eve"},
			{Date: "2026-12-23", From: "09:00", To: "12:00"},
		}}
	l.Normalize()
	return l
}

func TestHoursText(t *testing.T) {
	t.Parallel()
	po := postOffice()
	day := lokero.Date{Year: 2026, Month: time.December, Day: 21} // a Monday
	for _, tt := range []struct {
		lang, want string
	}{
		{"fi", "ma 21.12. 9.00–18.00, ti 22.12. 9.00–18.00, ke 23.12. 9.00–12.00, to 24.12. suljettu, pe 25.12. 9.00–18.00, la 26.12. 10.00–14.00, su 27.12. suljettu"},
		{"sv", "mån 21.12. 9.00–18.00, tis 22.12. 9.00–18.00, ons 23.12. 9.00–12.00, tors 24.12. stängt, fre 25.12. 9.00–18.00, lör 26.12. 10.00–14.00, sön 27.12. stängt"},
		{"en", "Mon 21.12. 9:00–18:00, Tue 22.12. 9:00–18:00, Wed 23.12. 9:00–12:00, Thu 24.12. closed, Fri 25.12. 9:00–18:00, Sat 26.12. 10:00–14:00, Sun 27.12. closed"},
		{"", "ma 21.12. 9.00–18.00, ti 22.12. 9.00–18.00, ke 23.12. 9.00–12.00, to 24.12. suljettu, pe 25.12. 9.00–18.00, la 26.12. 10.00–14.00, su 27.12. suljettu"},
	} {
		if got := hoursText(po, day, NoticeHoursDays, tt.lang); got != tt.want {
			t.Errorf("%q:\n got %s\nwant %s", tt.lang, got, tt.want)
		}
	}
	// A closure counts as closed days; hours not known read as open.
	closed := *po
	closed.SetStatus(lokero.LocationTemporarilyClosed)
	closed.StatusFrom, closed.StatusUntil = "2026-12-22", "2026-12-22"
	if got := hoursText(&closed, day, 2, "en"); got != "Mon 21.12. 9:00–18:00, Tue 22.12. closed" {
		t.Errorf("with a closure: %s", got)
	}
	if got := hoursText(&lokero.Location{}, day, 1, "fi"); got != "ma 21.12. avoinna" {
		t.Errorf("hours not known: %s", got)
	}
}

func TestOutletNoticeAndReminderTexts(t *testing.T) {
	t.Parallel()
	po := postOffice()
	kiosk := &lokero.Location{ID: "PP-1", Type: lokero.TypePickupPoint, Name: "R-kioski", Street: "Asema-aukio 1", Postcode: "00100", City: "Helsinki"}
	day := lokero.Date{Year: 2026, Month: time.December, Day: 21}
	for _, tt := range []struct {
		lang     string
		loc      *lokero.Location
		notice   []string
		reminder []string
	}{
		{"fi", po, []string{"Pakettisi JJ1 on noudettavissa postista Posti Kamppi, Urho Kekkosen katu 1, 00100 Helsinki.", "Noutokoodi: " + lokero.CodePlaceholder,
			"Nouda viimeistään 28.12.2026", "henkilöllisyystodistus", "Aukioloajat: ma 21.12. 9.00–18.00"},
			[]string{"odottaa postissa Posti Kamppi, Urho Kekkosen katu 1", "noutokoodi on saapumisilmoituksessa"}},
		{"sv", po, []string{"Ditt paket JJ1 kan hämtas på postkontoret Posti Kamppi, Urho Kekkonens gata 1, 00100 Helsinki.", "Avhämtningskod: " + lokero.CodePlaceholder,
			"Hämta det senast 28.12.2026", "legitimation", "Öppettider: mån 21.12. 9.00–18.00"},
			[]string{"väntar på postkontoret Posti Kamppi, Urho Kekkonens gata 1", "avhämtningskoden finns i ankomstaviseringen"}},
		{"en", kiosk, []string{"Your parcel JJ1 is ready for pickup at the pickup point R-kioski, Asema-aukio 1, 00100 Helsinki.", "Pickup code: " + lokero.CodePlaceholder,
			"Collect it by 28.12.2026", "bring an ID", "Opening hours: Mon 21.12. open"},
			[]string{"waiting at the pickup point R-kioski, Asema-aukio 1", "the pickup code is in the notice of arrival"}},
		{"fi", kiosk, []string{"noudettavissa noutopisteestä R-kioski"}, []string{"odottaa noutopisteessä R-kioski"}},
	} {
		sh := &lokero.Shipment{TrackingCode: "JJ1", Recipient: lokero.Party{Language: tt.lang}}
		notice := outletNoticeText(tt.loc, sh, "28.12.2026", day, NoticeHoursDays)
		for _, want := range tt.notice {
			if !strings.Contains(notice, want) {
				t.Errorf("%s notice %q lacks %q", tt.lang, notice, want)
			}
		}
		reminder := reminderText(tt.loc, sh, "28.12.2026")
		for _, want := range tt.reminder {
			if !strings.Contains(reminder, want) {
				t.Errorf("%s reminder %q lacks %q", tt.lang, reminder, want)
			}
		}
		for _, text := range []string{notice, reminder} {
			for _, locker := range []string{"automaat", "paketautomat", "parcel locker", "Avauskoodi", "Opening code", "Öppningskod"} {
				if strings.Contains(text, locker) {
					t.Errorf("%s outlet text %q speaks of a locker (%q)", tt.lang, text, locker)
				}
			}
		}
	}
}

func TestFreeShelfPlace(t *testing.T) {
	t.Parallel()
	loc := &lokero.Location{ID: "PP-1", Type: lokero.TypePickupPoint, ShelfCapacity: 1} // 10 places
	row := func(n int, shipment string, broken bool) lokero.Compartment {
		return lokero.Compartment{LocationID: "PP-1", Number: n, Size: lokero.ShelfSize, ShipmentID: shipment, OutOfOrder: broken}
	}
	full := make([]lokero.Compartment, 10)
	for i := range full {
		full[i] = row(i+1, "shp", false)
	}
	for _, tt := range []struct {
		name string
		rows []lokero.Compartment
		want int // 0: none free
	}{
		{"none laid out", nil, 1},
		{"the lowest taken", []lokero.Compartment{row(1, "a", false)}, 2},
		{"a freed place before the end", []lokero.Compartment{row(1, "a", false), row(2, "", false), row(3, "c", false)}, 2},
		{"an out-of-order place is passed", []lokero.Compartment{row(1, "", true), row(2, "b", false)}, 3},
		{"a gap in the rows", []lokero.Compartment{row(1, "a", false), row(3, "c", false)}, 2},
		{"all taken", full, 0},
		{"places beyond the capacity are not used", append(full[:9:9], row(10, "x", false), row(11, "", false)), 0},
	} {
		got, ok := freeShelfPlace(loc, tt.rows)
		switch {
		case tt.want == 0 && ok:
			t.Errorf("%s: place %d; want none free", tt.name, got.Number)
		case tt.want != 0 && (!ok || got.Number != tt.want || got.Size != lokero.ShelfSize || got.LocationID != "PP-1" || got.ShipmentID != ""):
			t.Errorf("%s: %+v, %v; want free shelf place %d", tt.name, got, ok, tt.want)
		}
	}
}
