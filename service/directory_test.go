package service_test

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/calendar"
	"github.com/lokero/lokero/demo"
	"github.com/lokero/lokero/geo"
	"github.com/lokero/lokero/locationfile"
	"github.com/lokero/lokero/postcode"
	"github.com/lokero/lokero/service"
	"github.com/lokero/lokero/sqlite"
)

// fixedClock is a clock that stands still.
type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

var (
	registryOnce sync.Once
	registry     *postcode.Registry
)

func testRegistry(t testing.TB) *postcode.Registry {
	t.Helper()
	registryOnce.Do(func() {
		codes, err := postcode.Bundled()
		if err != nil {
			t.Fatalf("bundled postcodes: %v", err)
		}
		points, err := postcode.BundledPoints()
		if err != nil {
			t.Fatalf("bundled points: %v", err)
		}
		registry = postcode.NewRegistry(codes, points)
	})
	return registry
}

func newDirectory(t testing.TB) *service.Directory {
	t.Helper()
	d, _ := newDirectoryStore(t)
	return d
}

// newDirectoryStore is newDirectory that also returns its store, for a
// test that writes what the directory would refuse.
func newDirectoryStore(t testing.TB) (*service.Directory, *sqlite.DB) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	clock := fixedClock{time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	st.SetClock(clock)
	return service.NewDirectory(st, testRegistry(t), clock, slog.New(slog.DiscardHandler)), st
}

func smartpost(id, postcode string, lat, lon float64) lokero.Location {
	return lokero.Location{ID: id, Type: lokero.TypeSmartpost, Name: "Smartpost " + id, Street: "Kauppakatu 1",
		Postcode: postcode, City: "Helsinki", Lat: lat, Lon: lon,
		Compartments: []lokero.CompartmentClass{{Size: "S", LengthCM: 70, WidthCM: 40, HeightCM: 10, Count: 10}}}
}

// network is a small hand-made network around central Helsinki.
func network() []lokero.Location {
	return []lokero.Location{
		smartpost("SP-NEAR", "00100", 60.1700, 24.9400),
		smartpost("SP-MID", "00120", 60.1640, 24.9400),
		{ID: "PO-FAR", Type: lokero.TypePostOffice, Name: "Posti Pasila", Street: "Ratapihantie 11", Postcode: "00520",
			City: "Helsinki", Lat: 60.1990, Lon: 24.9330, PaymentTerminal: true,
			OpeningHours: []lokero.OpeningHours{{Weekday: 1, From: "09:00", To: "18:00"}, {Weekday: 2, From: "09:00", To: "18:00"},
				{Weekday: 3, From: "09:00", To: "18:00"}, {Weekday: 4, From: "09:00", To: "18:00"}, {Weekday: 5, From: "09:00", To: "18:00"}}},
		{ID: "LOCKER-M5", Type: lokero.TypeLocker, Name: "As Oy Mannerheimintie 5", Street: "Mannerheimintie 5",
			Postcode: "00104", City: "Helsinki", Lat: 60.1699, Lon: 24.9384,
			Compartments: []lokero.CompartmentClass{{Size: "L", LengthCM: 70, WidthCM: 40, HeightCM: 40, Count: 2}}},
	}
}

func ids(results []service.LocationResult) []string {
	out := make([]string, len(results))
	for i, r := range results {
		out[i] = r.Location.ID
	}
	return out
}

func TestImportValidates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	base := network()[3] // the LOCKER
	tests := []struct {
		name   string
		change func(*lokero.Location)
		field  string
	}{
		{"locker at an area postcode", func(l *lokero.Location) { l.Postcode = "00100" }, "postcode"},
		{"unknown postcode", func(l *lokero.Location) { l.Postcode = "00009" }, "postcode"},
		{"locker with a terminal", func(l *lokero.Location) { l.PaymentTerminal = true }, "payment_terminal"},
		{"public locker", func(l *lokero.Location) { l.Access = lokero.AccessPublic }, "access"},
		{"compartment too big", func(l *lokero.Location) { l.Compartments[0].HeightCM = 41 }, "compartments[0]"},
		{"outside Finland", func(l *lokero.Location) { l.Lat = 48.85 }, "lat"},
		{"locker without a house number", func(l *lokero.Location) { l.Street = "Mannerheimintie" }, "street"},
		{"locker's Swedish street without a number", func(l *lokero.Location) { l.StreetSV = "Mannerheimvägen" }, "street_sv"},
		{"residents SMARTPOST without a house number", func(l *lokero.Location) {
			l.Type, l.Postcode, l.Street, l.Access = lokero.TypeSmartpost, "00100", "Kotikatu", lokero.AccessResidents
		}, "street"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := newDirectory(t)
			l := base
			l.Compartments = append([]lokero.CompartmentClass(nil), base.Compartments...)
			tt.change(&l)
			_, err := d.Import(ctx, []lokero.Location{smartpost("SP-OK", "00100", 60.17, 24.94), l})
			var e *lokero.Error
			if !asError(err, &e) || e.Code != lokero.EINVALID || e.Field != tt.field {
				t.Fatalf("Import: %v; want EINVALID on field %s", err, tt.field)
			}
			if err := d.Reload(ctx); err != nil {
				t.Fatal(err)
			}
			if n := d.Snapshot().Len(); n != 0 {
				t.Errorf("a refused import stored %d locations; want none", n)
			}
		})
	}
}

func TestSearch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := newDirectory(t)
	res, err := d.Import(ctx, network())
	if err != nil {
		t.Fatal(err)
	}
	if res.Inserted != 4 || res.Updated != 0 {
		t.Fatalf("import: %+v, want 4 inserted", res)
	}
	origin := &geo.Point{Lat: 60.1699, Lon: 24.9384}
	tests := []struct {
		name string
		q    service.LocationQuery
		want []string
	}{
		{"nearest, no LOCKER", service.LocationQuery{Origin: origin}, []string{"SP-NEAR", "SP-MID", "PO-FAR"}},
		{"limit", service.LocationQuery{Origin: origin, Limit: 1}, []string{"SP-NEAR"}},
		{"type", service.LocationQuery{Origin: origin, Types: []lokero.LocationType{lokero.TypePostOffice}}, []string{"PO-FAR"}},
		{"payment terminal", service.LocationQuery{Origin: origin, PaymentTerminal: true}, []string{"PO-FAR"}},
		// fits lists the lockers with a class that takes the parcel and the
		// outlets whose limit does (PO-FAR: a POSTOFFICE's default, 120 × 60 × 60 cm).
		{"fits", service.LocationQuery{Origin: origin, Fits: &[3]float64{10, 30, 60}}, []string{"SP-NEAR", "SP-MID", "PO-FAR"}},
		{"fits lockers only", service.LocationQuery{Origin: origin, Fits: &[3]float64{10, 30, 60}, Types: []lokero.LocationType{lokero.TypeSmartpost}}, []string{"SP-NEAR", "SP-MID"}},
		{"fits no locker: the post office", service.LocationQuery{Origin: origin, Fits: &[3]float64{11, 41, 60}}, []string{"PO-FAR"}},
		{"fits a post office turned", service.LocationQuery{Origin: origin, Fits: &[3]float64{60, 120, 60}}, []string{"PO-FAR"}},
		{"fits nowhere", service.LocationQuery{Origin: origin, Fits: &[3]float64{60, 121, 60}}, []string{}},
		{"by postcode area", service.LocationQuery{Postcode: "00520", Limit: 1}, []string{"PO-FAR"}},
		{"no origin: by id", service.LocationQuery{}, []string{"PO-FAR", "SP-MID", "SP-NEAR"}},
		{"resident at the building", service.LocationQuery{Postcode: "00100", Street: "Mannerheimintie 5 A 3", Limit: 2}, []string{"LOCKER-M5", "SP-NEAR"}},
		{"resident, locker postcode", service.LocationQuery{Postcode: "00104", Street: "MANNERHEIMINT. 5", Limit: 1}, []string{"LOCKER-M5"}},
		{"resident, only lockers", service.LocationQuery{Postcode: "00100", Street: "Mannerheimintie 5", Types: []lokero.LocationType{lokero.TypeLocker}}, []string{"LOCKER-M5"}},
		{"resident, too big for it", service.LocationQuery{Postcode: "00100", Street: "Mannerheimintie 5", Types: []lokero.LocationType{lokero.TypeLocker}, Fits: &[3]float64{50, 50, 50}}, []string{}},
		{"neighbour building", service.LocationQuery{Postcode: "00100", Street: "Mannerheimintie 7", Types: []lokero.LocationType{lokero.TypeLocker}}, []string{}},
		{"same street, other area", service.LocationQuery{Postcode: "00120", Street: "Mannerheimintie 5", Types: []lokero.LocationType{lokero.TypeLocker}}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := d.Search(ctx, tt.q)
			if err != nil {
				t.Fatalf("Search: %v", err)
			}
			if g := ids(got); !equal(g, tt.want) {
				t.Errorf("got %v, want %v", g, tt.want)
			}
			for i, r := range got {
				if r.HasDistance && i > 0 && r.DistanceM < got[i-1].DistanceM && got[i-1].Location.Type != lokero.TypeLocker {
					t.Errorf("not nearest first: %v", got)
				}
			}
		})
	}
}

func TestSearchRefuses(t *testing.T) {
	t.Parallel()
	d := newDirectory(t)
	tests := []struct {
		q     service.LocationQuery
		field string
	}{
		{service.LocationQuery{Limit: -1}, "limit"},
		{service.LocationQuery{Limit: 101}, "limit"},
		{service.LocationQuery{Street: "Mannerheimintie 5"}, "street"},
		{service.LocationQuery{Postcode: "0010"}, "postcode"},
		{service.LocationQuery{Postcode: "00009"}, "postcode"},
	}
	for _, tt := range tests {
		_, err := d.Search(context.Background(), tt.q)
		var e *lokero.Error
		if !asError(err, &e) || e.Code != lokero.EINVALID || e.Field != tt.field {
			t.Errorf("Search(%+v) = %v; want EINVALID on %s", tt.q, err, tt.field)
		}
	}
}

func TestReimportUpdates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := newDirectory(t)
	if _, err := d.Import(ctx, network()); err != nil {
		t.Fatal(err)
	}
	moved := network()[:1]
	moved[0].Name = "Smartpost renamed"
	res, err := d.Import(ctx, moved)
	if err != nil {
		t.Fatal(err)
	}
	if res.Inserted != 0 || res.Updated != 1 || d.Snapshot().Len() != 4 {
		t.Fatalf("re-import: %+v with %d locations; want 1 updated of 4", res, d.Snapshot().Len())
	}
	l, err := d.Location("SP-NEAR")
	if err != nil || l.Name != "Smartpost renamed" {
		t.Errorf("after re-import: %+v, %v", l, err)
	}
	if _, err := d.Location("NOPE"); lokero.ErrorCode(err) != lokero.ENOTFOUND {
		t.Errorf("unknown id: %v, want ENOTFOUND", err)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestSwedishStreetName: a resident who writes the building's Swedish
// address finds its locker too.
func TestSwedishStreetName(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := newDirectory(t)
	locs := network()
	locs[3].StreetSV = "Mannerheimvägen 5"
	if _, err := d.Import(ctx, locs); err != nil {
		t.Fatal(err)
	}
	for _, street := range []string{"Mannerheimvägen 5 B 12", "MANNERHEIMV. 5", "Mannerheimintie 5"} {
		got, err := d.Search(ctx, service.LocationQuery{Postcode: "00104", Street: street, Types: []lokero.LocationType{lokero.TypeLocker}})
		if err != nil || len(got) != 1 || got[0].Location.ID != "LOCKER-M5" {
			t.Errorf("%q: %v, %v; want LOCKER-M5", street, ids(got), err)
		}
	}
	got, err := d.Search(ctx, service.LocationQuery{Postcode: "00104", Street: "Mannerheimvägen 7", Types: []lokero.LocationType{lokero.TypeLocker}})
	if err != nil || len(got) != 0 {
		t.Errorf("the neighbour's Swedish address found %v (%v)", ids(got), err)
	}
}

// TestOneLockerPerBuilding: a second LOCKER at a building that has one —
// in the directory or earlier in the same import, by its Finnish or its
// Swedish street name — is refused, naming the first; the same LOCKER
// again, or a SMARTPOST in the building, is not.
func TestOneLockerPerBuilding(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	locker := network()[3] // LOCKER-M5 at Mannerheimintie 5, 00104
	second := locker
	second.ID, second.Name, second.Street = "LOCKER-M5B", "As Oy Mannerheimintie 5 B", "Mannerheimintie 5 B"
	swedish := locker
	swedish.ID, swedish.Street, swedish.StreetSV = "LOCKER-M5SV", "Mannerheimintie 7", "Mannerheimvägen 5"
	lockerSV := locker
	lockerSV.StreetSV = "Mannerheimvägen 5"
	shop := smartpost("SP-M5", "00100", 60.1699, 24.9384)
	shop.Street = "Mannerheimintie 5"

	tests := []struct {
		name    string
		first   []lokero.Location // imported before
		then    []lokero.Location
		refused string // the id named in the refusal; "" when accepted
	}{
		{"second in the directory", []lokero.Location{locker}, []lokero.Location{second}, "LOCKER-M5"},
		{"second in the same file", nil, []lokero.Location{locker, second}, "LOCKER-M5"},
		{"by its Swedish name", []lokero.Location{lockerSV}, []lokero.Location{swedish}, "LOCKER-M5"},
		{"the same locker again", []lokero.Location{locker}, []lokero.Location{locker}, ""},
		{"a SMARTPOST in the building", []lokero.Location{locker}, []lokero.Location{shop}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := newDirectory(t)
			if tt.first != nil {
				if _, err := d.Import(ctx, tt.first); err != nil {
					t.Fatal(err)
				}
			}
			_, err := d.Import(ctx, tt.then)
			if tt.refused == "" {
				if err != nil {
					t.Fatalf("Import: %v; want it accepted", err)
				}
				return
			}
			var e *lokero.Error
			if !asError(err, &e) || e.Reason != "second_locker_in_building" || e.Field != "street" || !strings.Contains(e.Message, tt.refused) {
				t.Fatalf("Import: %v; want second_locker_in_building on street naming %s", err, tt.refused)
			}
			if got := d.Snapshot().LockersAt("00100", "Mannerheimintie 5"); len(got) > 1 {
				t.Errorf("after the refusal the building has %d lockers; want at most 1", len(got))
			}
		})
	}
}

// countingStore counts the full reads of the directory.
type countingStore struct {
	lokero.LocationStore
	reads int
}

func (s *countingStore) Locations(ctx context.Context) ([]lokero.Location, error) {
	s.reads++
	return s.LocationStore.Locations(ctx)
}

// TestReloadReadsOnlyChanges: a reload with nothing changed costs no read
// of the directory; a write by another process (another handle on the
// same database) is seen on the next reload.
func TestReloadReadsOnlyChanges(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "reload.db")
	open := func() *sqlite.DB {
		st, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatalf("open store: %v", err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	store, other := &countingStore{LocationStore: open()}, open()
	clock := fixedClock{time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	d := service.NewDirectory(store, testRegistry(t), clock, slog.New(slog.DiscardHandler))
	if _, err := d.Import(ctx, network()); err != nil {
		t.Fatal(err)
	}
	before := store.reads
	for range 3 {
		if err := d.Reload(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if store.reads != before {
		t.Errorf("3 reloads of an unchanged directory read it %d times; want 0", store.reads-before)
	}
	moved := network()[0]
	moved.Name = "Smartpost moved"
	if _, err := other.UpsertLocations(ctx, []lokero.Location{moved}); err != nil {
		t.Fatal(err)
	}
	if err := d.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if store.reads != before+1 {
		t.Errorf("a reload after another process's write read the directory %d times; want 1", store.reads-before)
	}
	if got := d.Snapshot().ByID(moved.ID); got == nil || got.Name != moved.Name {
		t.Errorf("after the reload %s is %+v; want the name %q", moved.ID, got, moved.Name)
	}
}

// TestSearchMatchesReference checks the directory's search, with the
// checkout's view, against the plainest reading of a query: every public
// location tested with Location's own methods, sorted by geo.Distance
// then by position. Same hits, same order, same fields.
func TestSearchMatchesReference(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clock := fixedClock{time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	st.SetClock(clock)
	d := service.NewDirectory(st, testRegistry(t), clock, slog.New(slog.DiscardHandler))
	locs := demo.Synthetic(testRegistry(t), 3000, 5)
	for i := range locs {
		l := &locs[i]
		switch i % 9 {
		case 1: // not a plain point: closed over the delivery date
			l.Status, l.StatusFrom, l.StatusUntil = lokero.LocationTemporarilyClosed, "2026-11-20", "2026-12-31"
		case 2:
			l.WheelchairAccess = !l.WheelchairAccess
		case 3:
			l.PaymentTerminal = !l.PaymentTerminal
		}
	}
	if _, err := d.Import(ctx, locs); err != nil {
		t.Fatal(err)
	}
	d.SetCheckout(calendar.Default(), service.NewAvailability(st, clock, time.Hour))
	snap := d.Snapshot()
	all := snap.Locations()
	on := d.DeliveryDate().String()
	rng := rand.New(rand.NewPCG(5, 5))
	fits := [3]float64{50, 30, 30}
	for n := range 300 {
		l := &all[rng.IntN(len(all))]
		o := geo.Point{Lat: l.Lat + rng.NormFloat64()*0.05, Lon: l.Lon + rng.NormFloat64()*0.1}
		q := service.LocationQuery{Origin: &o, Limit: 1 + rng.IntN(20)}
		if n%2 == 0 {
			q.Types = []lokero.LocationType{lokero.LocationTypes[1+n/2%3]}
		}
		q.IncludeClosed = n%3 == 0
		q.Wheelchair = n%5 == 0
		q.COD = n%7 == 0
		if n%4 == 1 {
			q.Fits = &fits
			q.Available = n%8 == 1
		}
		got, err := d.Search(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		type ref struct {
			pos int
			d   float64
		}
		var want []ref
		for pos := range all {
			l := &all[pos]
			if l.Type == lokero.TypeLocker || len(q.Types) > 0 && l.Type != q.Types[0] ||
				!q.IncludeClosed && !l.OpenOn(on) || q.Wheelchair && !l.WheelchairAccess || q.COD && !l.TakesCOD() ||
				q.Fits != nil && !l.Fits(*q.Fits) {
				continue
			}
			want = append(want, ref{pos, geo.Distance(o, geo.Point{Lat: l.Lat, Lon: l.Lon})})
		}
		slices.SortStableFunc(want, func(a, b ref) int { return cmp.Compare(a.d, b.d) })
		want = want[:min(len(want), q.Limit)]
		if len(got) != len(want) {
			t.Fatalf("query %d %+v: %d hits, want %d", n, q, len(got), len(want))
		}
		for i, w := range want {
			g, l := got[i], &all[w.pos]
			if g.Location != l || g.DistanceM != w.d || !g.HasDistance || g.Date != on ||
				g.Open != l.OpenOn(on) || g.ClosedReason != l.ClosedReason(on) || g.Availability == nil {
				t.Fatalf("query %d hit %d: %s %v %v %s %v %q, want %s %v open %v", n, i, g.Location.ID, g.DistanceM, g.HasDistance, g.Date, g.Open, g.ClosedReason, l.ID, w.d, l.OpenOn(on))
			}
			// Nothing is booked: every class is all free.
			a, classes := g.Availability, l.Compartments
			if l.Type.IsOutlet() {
				classes = []lokero.CompartmentClass{{Size: lokero.ShelfSize, Count: l.ShelfCapacity}}
			}
			if a.Date != on || len(a.Classes) != len(classes) {
				t.Fatalf("query %d hit %d (%s): availability %+v", n, i, l.ID, a)
			}
			for j, c := range classes {
				if ac := a.Classes[j]; ac.Size != c.Size || ac.Total != c.Count || ac.Free != c.Count {
					t.Fatalf("query %d hit %d (%s): class %d %+v, want %+v", n, i, l.ID, j, ac, c)
				}
			}
		}
	}
}

// TestSearchShowsBookingsAtOnce: the capacity view keeps what a search
// shows of each location until its free compartments change; a booking
// or a cancellation shows in the very next search, at the point booked
// and nowhere else, whichever part of the directory the points lie in
// (600 more SMARTPOSTs, their ids not in the order of their distance).
func TestSearchShowsBookingsAtOnce(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		var more []lokero.Location
		for i := range 600 {
			more = append(more, smartpost(fmt.Sprintf("SP-X%03d", i), "00100", 60.18+float64(i*7%600)*0.001, 24.94))
		}
		if _, err := f.dir.Import(ctx, more); err != nil {
			t.Fatal(err)
		}
		// free returns each hit's free S compartments, and the
		// capacity the view shows for them all.
		free := func() map[string]int {
			t.Helper()
			_, hits := nearIDs(t, f, service.LocationQuery{Types: []lokero.LocationType{lokero.TypeSmartpost}, Limit: 100})
			out := map[string]int{}
			for _, h := range hits {
				if h.Availability == nil || len(h.Availability.Classes) != 1 || h.Availability.Classes[0].Size != "S" {
					t.Fatalf("%s shows %+v", h.Location.ID, h.Availability)
				}
				out[h.Location.ID] = h.Availability.Classes[0].Free
			}
			return out
		}
		before := free()
		// SP-X430 is the 11th nearest X, far from SP-NEAR among the ids.
		if before["SP-NEAR"] != 10 || before["SP-X430"] != 10 || len(before) != 100 {
			t.Fatalf("before any booking: %v", before)
		}
		expect := func(step string, booked map[string]int) {
			t.Helper()
			after := free()
			for id, n := range before {
				if after[id] != n-booked[id] {
					t.Fatalf("after %s %s shows %d S free; want %d", step, id, after[id], n-booked[id])
				}
			}
		}
		near := f.bookSmall(t, "SP-NEAR")
		expect("a booking at SP-NEAR", map[string]int{"SP-NEAR": 1})
		f.bookSmall(t, "SP-NEAR")
		f.bookSmall(t, "SP-X430")
		expect("two more bookings", map[string]int{"SP-NEAR": 2, "SP-X430": 1})
		if _, err := f.shipments.Cancel(ctx, f.retailer, near.ID); err != nil {
			t.Fatal(err)
		}
		expect("a cancellation", map[string]int{"SP-NEAR": 1, "SP-X430": 1})
	})
}

// storeOnly is onEveryStore's fixture of a bare store, closed at the end.
func storeOnly(t *testing.T, st lockerStore) lockerStore {
	t.Helper()
	t.Cleanup(func() { st.Close() })
	return st
}

// TestPatchAppliesToTheStoredRow: instances over one database, each with
// its own snapshot (serve reloads it every --reload). An operator's patch
// on an instance whose snapshot is stale changes only what it names, on
// the row as stored: another operator's closure, an import's new name and
// compartments all stay, and the event records the stored state with only
// that change. A stale instance asked to reopen a point another closed
// does reopen it, instead of seeing "no change" in its snapshot.
func TestPatchAppliesToTheStoredRow(t *testing.T) {
	t.Parallel()
	onEveryStore(t, storeOnly, func(t *testing.T, st lockerStore) {
		ctx := t.Context()
		clock := fixedClock{time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
		st.SetClock(clock)
		instance := func() *service.Directory {
			return service.NewDirectory(st, testRegistry(t), clock, slog.New(slog.DiscardHandler))
		}
		a, b, importer := instance(), instance(), instance()
		if _, err := a.Import(ctx, network()); err != nil {
			t.Fatal(err)
		}
		if err := b.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		// lokero import renames LOCKER-M5 and raises its L compartments.
		const renamed = "As Oy Mannerheimintie 5 (B)"
		file := network()
		m5 := &file[3]
		m5.Name, m5.Compartments[0].Count = renamed, 8
		if _, err := importer.Import(ctx, file); err != nil {
			t.Fatal(err)
		}
		// Operator 1 on A closes it.
		if _, err := a.Patch(ctx, "op1", "LOCKER-M5", service.LocationPatch{
			Status: strp("TEMPORARILY_CLOSED"), StatusFrom: strp("2030-01-01")}); err != nil {
			t.Fatal(err)
		}
		closedBy1 := mustEvents(t, st, "LOCKER-M5")
		// Operator 2 on B, whose snapshot has none of that, adds
		// wheelchair access.
		if stale := b.Snapshot().ByID("LOCKER-M5"); stale.Name == renamed || stale.Status == lokero.LocationTemporarilyClosed {
			t.Fatalf("B's snapshot is not stale (%+v): the test proves nothing", stale)
		}
		yes := true
		got, err := b.Patch(ctx, "op2", "LOCKER-M5", service.LocationPatch{WheelchairAccess: &yes})
		if err != nil {
			t.Fatal(err)
		}
		stored, err := st.Location(ctx, "LOCKER-M5")
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range []struct {
			what string
			loc  lokero.Location
		}{{"stored", stored}, {"returned", got}, {"B's snapshot", *b.Snapshot().ByID("LOCKER-M5")}} {
			if l.loc.Status != lokero.LocationTemporarilyClosed || l.loc.StatusFrom != "2030-01-01" || !l.loc.WheelchairAccess ||
				l.loc.Name != renamed || len(l.loc.Compartments) != 1 || l.loc.Compartments[0].Count != 8 {
				t.Errorf("%s after op2's patch: status %s from %q, wheelchair %v, name %q, compartments %+v; want op1's closure, op2's wheelchair access and the import's name and 8 L compartments",
					l.what, l.loc.Status, l.loc.StatusFrom, l.loc.WheelchairAccess, l.loc.Name, l.loc.Compartments)
			}
		}
		evs := mustEvents(t, st, "LOCKER-M5")
		if len(evs) != len(closedBy1)+1 {
			t.Fatalf("%d events after op2's patch, want %d", len(evs), len(closedBy1)+1)
		}
		want := closedBy1[len(closedBy1)-1].Change
		want.WheelchairAccess = true
		if last := evs[len(evs)-1]; last.Actor != "op2" || !last.Change.Equal(want) {
			t.Errorf("op2's event %+v; want by op2, op1's state %+v with wheelchair access only", last, want)
		}

		// The importer's snapshot still has LOCKER-M5 open: asked to
		// reopen it, it does.
		if stale := importer.Snapshot().ByID("LOCKER-M5"); stale.Status == lokero.LocationTemporarilyClosed {
			t.Fatalf("the importer's snapshot is not stale (%+v): the test proves nothing", stale)
		}
		if _, err := importer.Patch(ctx, "op3", "LOCKER-M5", service.LocationPatch{Status: strp("OPEN")}); err != nil {
			t.Fatal(err)
		}
		if stored, err := st.Location(ctx, "LOCKER-M5"); err != nil || stored.Status != lokero.LocationOpen || !stored.WheelchairAccess {
			t.Errorf("after op3 reopened it on a stale instance: %+v (%v); want OPEN, wheelchair access kept", stored, err)
		}
		if evs := mustEvents(t, st, "LOCKER-M5"); len(evs) != len(closedBy1)+2 || evs[len(evs)-1].Actor != "op3" {
			t.Errorf("events after op3's reopening: %+v; want one more, by op3", evs)
		}

		// Unknown ids and bad values are refused as before.
		if _, err := b.Patch(ctx, "op2", "NO-SUCH", service.LocationPatch{WheelchairAccess: &yes}); !isCode(err, lokero.ENOTFOUND) {
			t.Errorf("patch of an unknown id: %v; want ENOTFOUND", err)
		}
		_, err = b.Patch(ctx, "op2", "LOCKER-M5", service.LocationPatch{Status: strp("FOO")})
		checkInvalid(t, err, "status")
	})
}

// TestImportKeepsAPatchMadeMeanwhile: lokero import keeps the operator's
// status fields its file leaves out as they are stored when it writes,
// not as its snapshot (read before) had them: a closure committed by
// another instance in between stays.
func TestImportKeepsAPatchMadeMeanwhile(t *testing.T) {
	t.Parallel()
	onEveryStore(t, storeOnly, func(t *testing.T, st lockerStore) {
		ctx := t.Context()
		clock := fixedClock{time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
		st.SetClock(clock)
		instance := func() *service.Directory {
			return service.NewDirectory(st, testRegistry(t), clock, slog.New(slog.DiscardHandler))
		}
		serve, importer := instance(), instance()
		if _, err := serve.Import(ctx, network()); err != nil {
			t.Fatal(err)
		}
		if err := importer.Reload(ctx); err != nil { // the import reads its file
			t.Fatal(err)
		}
		if _, err := serve.Patch(ctx, "op1", "LOCKER-M5", service.LocationPatch{
			Status: strp("TEMPORARILY_CLOSED"), StatusFrom: strp("2030-01-01"), StatusReason: strp("lift repair")}); err != nil {
			t.Fatal(err)
		}
		file := network() // without status columns: every status field left out
		file[3].Name = "renamed"
		if _, err := importer.ImportKeeping(ctx, file, func(i int, stored *lokero.Location) {
			locationfile.KeepStatus.Apply(&file[i], stored)
		}); err != nil {
			t.Fatal(err)
		}
		stored, err := st.Location(ctx, "LOCKER-M5")
		if err != nil {
			t.Fatal(err)
		}
		if stored.Status != lokero.LocationTemporarilyClosed || stored.StatusFrom != "2030-01-01" ||
			stored.StatusReason != "lift repair" || stored.Name != "renamed" {
			t.Errorf("after the import: %+v; want op1's closure kept and the file's name", stored)
		}
		if evs := mustEvents(t, st, "LOCKER-M5"); evs[len(evs)-1].Actor != "op1" {
			t.Errorf("the import appended an event %+v though it changed no status field", evs[len(evs)-1])
		}
		// A keep whose result is invalid writes nothing.
		bad := network()
		bad[3].Name = "not written"
		if _, err := importer.ImportKeeping(ctx, bad, func(i int, stored *lokero.Location) {
			bad[i].Functions = []string{"teleport"}
		}); !isCode(err, lokero.EINVALID) {
			t.Errorf("import whose keep left an invalid location: %v; want EINVALID", err)
		}
		if stored, _ := st.Location(ctx, "LOCKER-M5"); stored.Name != "renamed" {
			t.Errorf("a refused import wrote name %q", stored.Name)
		}
	})
}

func mustEvents(t *testing.T, st lokero.LocationStore, id string) []lokero.LocationEvent {
	t.Helper()
	evs, err := st.LocationEvents(t.Context(), id)
	if err != nil {
		t.Fatalf("events of %s: %v", id, err)
	}
	return evs
}

// isCode reports whether err is a *lokero.Error of code.
func isCode(err error, code string) bool {
	var e *lokero.Error
	return asError(err, &e) && e.Code == code
}

// TestResidentsSmartpostOnlyInItsBuilding: a SMARTPOST with access
// residents is listed as a LOCKER is: never by postal area, type or
// distance, only (and first) for an address in its building.
func TestResidentsSmartpostOnlyInItsBuilding(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := newDirectory(t)
	res := smartpost("SP-RES", "00100", 60.1701, 24.9401)
	res.Street, res.Access = "Kotikatu 3", lokero.AccessResidents
	if _, err := d.Import(ctx, append(network(), res)); err != nil {
		t.Fatal(err)
	}
	near := &geo.Point{Lat: 60.1701, Lon: 24.9401}
	hidden := []struct {
		name string
		q    service.LocationQuery
	}{
		{"postcode", service.LocationQuery{Postcode: "00100", Limit: service.MaxLimit}},
		{"postcode and type", service.LocationQuery{Postcode: "00100", Types: []lokero.LocationType{lokero.TypeSmartpost}, Limit: service.MaxLimit}},
		{"origin", service.LocationQuery{Origin: near, Limit: service.MaxLimit}},
		{"no origin", service.LocationQuery{Limit: service.MaxLimit}},
		{"another building", service.LocationQuery{Postcode: "00100", Street: "Kotikatu 5"}},
		{"a street without a number", service.LocationQuery{Postcode: "00100", Street: "Kotikatu"}},
	}
	for _, tt := range hidden {
		got, err := d.Search(ctx, tt.q)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if slices.Contains(ids(got), "SP-RES") {
			t.Errorf("%s: search lists the residents-only SP-RES: %v", tt.name, ids(got))
		}
	}
	for _, l := range d.Snapshot().Nearest(geo.Point{Lat: 60.1701, Lon: 24.9401}, 10, nil) {
		if l.ID == "SP-RES" {
			t.Errorf("Nearest lists the residents-only SP-RES")
		}
	}
	for _, q := range []service.LocationQuery{
		{Postcode: "00100", Street: "Kotikatu 3 B 12"},
		{Postcode: "00100", Street: "Kotikatu 3", Types: []lokero.LocationType{lokero.TypeSmartpost}},
	} {
		got, err := d.Search(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 || got[0].Location.ID != "SP-RES" {
			t.Errorf("search for %s %v: %v; want SP-RES first", q.Street, q.Types, ids(got))
		}
		if n := strings.Count(strings.Join(ids(got), " "), "SP-RES"); n != 1 {
			t.Errorf("search for %s lists SP-RES %d times; want once", q.Street, n)
		}
	}
	if got := d.Snapshot().LockersAt("00100", "Kotikatu 3"); len(got) != 1 || got[0].ID != "SP-RES" {
		t.Errorf("LockersAt(Kotikatu 3) = %v; want SP-RES", got)
	}
}

// TestNumberlessLockerMatchesNoAddress: a LOCKER stored without a house
// number (before the import refused one) is no building's: an address
// without a number does not find it, and a second such LOCKER is refused
// for its own street, not as the same building.
func TestNumberlessLockerMatchesNoAddress(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, st := newDirectoryStore(t)
	bare := network()[3]
	bare.ID, bare.Street = "LOCKER-BARE", "Kissankatu"
	bare.Normalize()
	if _, err := st.UpsertLocations(ctx, []lokero.Location{bare}); err != nil {
		t.Fatal(err)
	}
	if err := d.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	for _, street := range []string{"Kissa", "Kissankatu", "Koirakuja"} {
		got, err := d.Search(ctx, service.LocationQuery{Postcode: "00100", Street: street})
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(ids(got), "LOCKER-BARE") {
			t.Errorf("search for %q lists LOCKER-BARE", street)
		}
		if got := d.Snapshot().LockersAt("00104", street); len(got) != 0 {
			t.Errorf("LockersAt(%q) = %d lockers; want none", street, len(got))
		}
	}
	other := network()[3]
	other.ID, other.Street = "LOCKER-OTHER", "Koirakuja"
	other.Normalize()
	var e *lokero.Error
	if err := d.ImportCheck()(&other); !asError(err, &e) || e.Field != "street" || e.Reason != "building_number_required" {
		t.Errorf("ImportCheck of a second number-less LOCKER: %v; want building_number_required on street", err)
	}
}
