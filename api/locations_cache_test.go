package api

import (
	"bytes"
	"testing"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/service"
)

// TestOnDateCache: a location's fields on the delivery date, as kept for
// the next search, are what writeOnDate writes of each result, whatever
// changed between them: the date, the status, the availability (shared,
// copied or changed).
func TestOnDateCache(t *testing.T) {
	t.Parallel()
	l := &lokero.Location{ID: "L1", Type: lokero.TypeSmartpost, OpeningHours: []lokero.OpeningHours{
		{Weekday: 1, From: "07:00", To: "21:00"}, {Weekday: 2, From: "08:00", To: "20:00"}}}
	shared := &service.LockerAvailability{Date: "2026-12-07", Level: "some", Classes: []service.ClassAvailability{
		{Size: "S", Total: 10, Free: 3, Level: "few"}, {Size: "M", Total: 5, Free: 5, Level: "many"}}}
	copied := *shared
	copied.Classes = append([]service.ClassAvailability(nil), shared.Classes...)
	fewer := copied
	fewer.Classes = append([]service.ClassAvailability(nil), shared.Classes...)
	fewer.Classes[1].Free = 4
	otherLevel := copied
	otherLevel.Level = "full"
	results := []service.LocationResult{
		{Location: l, Date: "2026-12-07", Open: true, Availability: shared},
		{Location: l, Date: "2026-12-07", Open: true, Availability: shared},
		{Location: l, Date: "2026-12-07", Open: true, Availability: &copied},
		{Location: l, Date: "2026-12-07", Open: true, Availability: &fewer},
		{Location: l, Date: "2026-12-07", Open: true, Availability: &otherLevel},
		{Location: l, Date: "2026-12-07", Open: true},
		{Location: l, Date: "2026-12-08", Open: true},
		{Location: l, Date: "2026-12-08", ClosedReason: "renovation"},
		{Location: l, Date: "2026-12-08", ClosedReason: "holiday"},
		{Location: l, Date: "2026-12-07", Open: true, Availability: shared},
	}
	c := &cachedLocation{loc: l}
	for i := range results {
		var got, want bytes.Buffer
		c.writeOnDate(&got, &results[i])
		writeOnDate(&want, &results[i])
		if got.String() != want.String() {
			t.Errorf("result %d: %s; want %s", i, got.String(), want.String())
		}
	}
}
