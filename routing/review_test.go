package routing_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/routing"
)

// Spread's doc: each alternative moved ahead of a nearer one with room
// says so in its Reason. One moved ahead of a nearer one with room that
// is not the nearest (the nearest having the most room, it stays first)
// must not keep Overflow's "the nearest … with room", which is then
// false: it names the nearer one it was put ahead of.
func TestSpreadReasonNamesTheNearerOneSkipped(t *testing.T) {
	t.Parallel()
	dir := network()
	const date = "2026-03-05"
	req := routing.Request{Recipient: resident104, Parcel: small}
	full := dir.Location("LK-MANNER-1")
	alts := routing.Overflow(full, req, dir, routing.DefaultLimits(), date, nil, 10)
	room := map[string]int{"SP-ALEPA": 5, "SP-KAMPPI": 1, "SP-BIG": 3}
	got := routing.Spread(full, req, date, alts, func(l *lokero.Location) int { return room[l.ID] })
	var ids []string
	for _, d := range got {
		ids = append(ids, d.Location.ID)
	}
	if want := []string{"SP-ALEPA", "SP-BIG", "SP-KAMPPI", "LK-MANNER-2"}; !slices.Equal(ids, want) {
		t.Fatalf("Spread = %v, want %v", ids, want)
	}
	from := pointOf(t, dir, "LK-MANNER-1")
	cases := []struct {
		id      string
		skipped string // the nearer one with room it was put ahead of; "" none
	}{
		{"SP-ALEPA", ""},
		{"SP-BIG", "SP-KAMPPI"},
		{"SP-KAMPPI", ""},
	}
	for _, c := range cases {
		d := got[slices.IndexFunc(got, func(o routing.Decision) bool { return o.Location.ID == c.id })]
		if c.skipped == "" {
			if strings.Contains(d.Reason, "more compartments are free") {
				t.Errorf("%s: reason %q, but it was put ahead of no nearer locker with room", c.id, d.Reason)
			}
			continue
		}
		if strings.Contains(d.Reason, "nearest") {
			t.Errorf("%s: reason %q calls it the nearest, but %s is nearer and has room", c.id, d.Reason, c.skipped)
		}
		wantContains(t, c.id+"'s reason", d.Reason, "more compartments are free than at", dir.Location(c.skipped).Name,
			routing.FormatDistance(distance(t, dir, from, c.id)), routing.FormatDistance(distance(t, dir, from, c.skipped)))
	}
}

// A refusal's message starts with a capital letter, and stays valid UTF-8
// when the first word is a Finnish name starting with Ä or Ö.
func TestRefusalStartsWithCapitalLetter(t *testing.T) {
	t.Parallel()
	dir := network()
	dir.locs = append(dir.locs, &lokero.Location{ID: "SP-AANEKOSKI", Type: lokero.TypeSmartpost, Name: "Äänekosken Smartpost",
		Street: "Keskustie 1", Postcode: "44100", Lat: 62.6, Lon: 25.73, Access: lokero.AccessPublic})
	_, err := routing.Route(routing.Request{PickupPointID: "SP-AANEKOSKI", Recipient: resident104, Parcel: small}, dir, routing.DefaultLimits())
	var le *lokero.Error
	if !errors.As(err, &le) || le.Reason != "parcel_too_large" {
		t.Fatalf("Route = %v, want a parcel_too_large refusal", err)
	}
	if !utf8.ValidString(le.Message) || !strings.HasPrefix(le.Message, "Äänekosken Smartpost (SP-AANEKOSKI) has no compartments") {
		t.Errorf("message %q, want valid UTF-8 starting %q", le.Message, "Äänekosken Smartpost (SP-AANEKOSKI) has no compartments")
	}
}
