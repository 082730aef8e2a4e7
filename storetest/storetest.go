// Package storetest is the one behavioural suite every lokero store passes
// (sqlite, postgres): what the stores promise the service, tested once.
//
// Besides the interface documentation in package lokero, the suite pins
// down what the stores agree on:
//
//   - Times are kept to the microsecond (PostgreSQL's precision) and come
//     back in UTC. On insert created_at is loc.CreatedAt; on update the
//     stored created_at is kept. updated_at is loc.UpdatedAt, or when that is
//     zero loc.CreatedAt, or when both are zero the time of the call; a
//     zero CreatedAt on insert takes the same value as updated_at.
//   - A nil or empty Compartments, OpeningHours, ExceptionDays or
//     Functions comes back as nil.
//   - Locations and Postcodes are ordered by ID/code in byte order (not by
//     a locale's collation).
//   - A batch repeating an ID is applied row by row: the later row updates
//     the earlier one and counts as an update.
//   - The schema refuses a location with an empty ID or type and a postal
//     code record with an empty code (integrity, not business rules: those
//     are the domain's).
//   - UpsertLocations and ReplacePostcodes are all or nothing, and may run
//     concurrently (from one or several processes) without failing.
//
// What they agree on about retailers, shipments and reservations is in
// shipment.go; about credentials, compartments, keypads and the outbox in
// locker.go; about a location's status fields and its events in
// locationstatus.go.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lokero/lokero"
)

// Store is what the suite needs.
type Store interface {
	lokero.LocationStore
	lokero.PostcodeStore
	lokero.RetailerStore
	lokero.ShipmentStore
	lokero.CredentialStore
	lokero.LockerStore
	lokero.DeviceStore
	// SetClock sets where the store's times come from (a test moves it
	// on to see arrival and departure days).
	SetClock(lokero.Clock)
}

// Opened returns a function that takes what a store's Open returns and
// gives the store, failing the test on an error and closing the store when
// the test ends: storetest.Opened[*sqlite.DB](t)(sqlite.Open(ctx, path)).
func Opened[S interface{ Close() error }](t testing.TB) func(S, error) S {
	return func(s S, err error) S {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
}

// Run runs the conformance suite as parallel subtests of t. newStore
// returns a fresh, empty, migrated store for each subtest; it should
// register its own cleanup with t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s Store)
	}{
		{"UpsertInsertThenUpdate", testUpsertInsertThenUpdate},
		{"UpsertIsIdempotent", testUpsertIsIdempotent},
		{"UpsertEmpty", testUpsertEmpty},
		{"UpsertTimeDefaults", testUpsertTimeDefaults},
		{"UpsertDuplicateIDsInBatch", testUpsertDuplicateIDsInBatch},
		{"UpsertFailingBatchIsAtomic", testUpsertFailingBatchIsAtomic},
		{"UpsertCancelledContext", testUpsertCancelledContext},
		{"Upsert10000", testUpsert10000},
		{"UpsertConcurrent", testUpsertConcurrent},
		{"LocationNotFound", testLocationNotFound},
		{"LocationsOrderedByID", testLocationsOrderedByID},
		{"DirectoryVersion", testDirectoryVersion},
		{"ReplacePostcodes", testReplacePostcodes},
		{"ReplacePostcodesIsAtomic", testReplacePostcodesIsAtomic},
		{"ReplacePostcodesConcurrent", testReplacePostcodesConcurrent},
	}
	tests = append(tests, shipmentTests...)       // shipment.go
	tests = append(tests, lockerTests...)         // locker.go
	tests = append(tests, codTests...)            // cod.go
	tests = append(tests, locationStatusTests...) // locationstatus.go
	tests = append(tests, credentialTests...)     // credential.go
	tests = append(tests, settingTests...)        // setting.go
	tests = append(tests, quotaTests...)          // quota.go
	tests = append(tests, outletTests...)         // outlet.go
	tests = append(tests, notificationTests...)   // notification.go
	tests = append(tests, pushTests...)           // push.go
	tests = append(tests, webhookTests...)        // webhook.go
	tests = append(tests, deviceTests...)         // device.go
	tests = append(tests, verifierTests...)       // verifier.go
	tests = append(tests, occupancyTests...)      // occupancy.go
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, newStore(t))
		})
	}
}

// helsinki is a fixed +02:00 zone (no tzdata needed): times handed to the
// store in it must come back as the same instant in UTC.
var helsinki = time.FixedZone("EET", 2*60*60)

// t0 is a time with microsecond precision, the stores' precision.
var t0 = time.Date(2025, time.March, 1, 12, 30, 15, 123456000, time.UTC)

// locker returns a LOCKER with every field set.
func locker(id string) lokero.Location {
	return lokero.Location{
		ID:           id,
		Type:         lokero.TypeLocker,
		Name:         "Åbo Akademi, Domkyrkotorget 3 – pakettiautomaatti",
		Street:       "Domkyrkotorget 3",
		StreetSV:     "Domkyrkotorget 3 (sv)",
		Postcode:     "20504",
		City:         "Åbo",
		Lat:          60.45148212345678,
		Lon:          22.27865019876543,
		OpeningHours: lokero.AlwaysOpen(),
		Access:       lokero.AccessResidents,
		Compartments: []lokero.CompartmentClass{
			{Size: "S", LengthCM: 70, WidthCM: 40, HeightCM: 10, Count: 12},
			{Size: "M", LengthCM: 70, WidthCM: 40, HeightCM: 20, Count: 6},
			{Size: "L", LengthCM: 70, WidthCM: 40, HeightCM: 40, Count: 2},
		},
		WheelchairAccess: true,
		CreatedAt:        t0.In(helsinki),
		UpdatedAt:        t0.Add(time.Hour).In(helsinki),
	}
}

// postOffice returns a POSTOFFICE: no compartments, irregular hours.
func postOffice(id string) lokero.Location {
	return lokero.Location{
		ID:       id,
		Type:     lokero.TypePostOffice,
		Name:     "Posti Helsinki Kamppi",
		Street:   "Urho Kekkosen katu 1",
		Postcode: "00100",
		City:     "Helsinki",
		Lat:      60.1690,
		Lon:      24.9327,
		OpeningHours: []lokero.OpeningHours{
			{Weekday: 1, From: "08:00", To: "20:00"},
			{Weekday: 6, From: "10:00", To: "16:30"},
		},
		Access:          lokero.AccessPublic,
		PaymentTerminal: true,
		CreatedAt:       t0,
		UpdatedAt:       t0,
	}
}

// numbered returns the i-th of many generated locations.
func numbered(prefix string, i int) lokero.Location {
	l := locker(fmt.Sprintf("%s%06d", prefix, i))
	l.Type = lokero.TypeSmartpost
	l.Access = lokero.AccessPublic
	l.PaymentTerminal = i%3 == 0
	l.Name = fmt.Sprintf("Smartpost K-Market Ääkkönen %d", i)
	l.Lat = 60 + float64(i)/1e5
	l.Lon = 24 + float64(i)/7e4
	l.Postcode = fmt.Sprintf("%05d", i%100000)
	return l
}

func numberedBatch(prefix string, from, to int) []lokero.Location {
	locs := make([]lokero.Location, 0, to-from)
	for i := from; i < to; i++ {
		locs = append(locs, numbered(prefix, i))
	}
	return locs
}

// checkLocation fails t unless got is want as stored: the same instants
// (returned in UTC), nil and empty slices alike.
func checkLocation(t *testing.T, got, want lokero.Location) {
	t.Helper()
	for _, tm := range []struct {
		name      string
		got, want time.Time
	}{{"CreatedAt", got.CreatedAt, want.CreatedAt}, {"UpdatedAt", got.UpdatedAt, want.UpdatedAt}} {
		if !tm.got.Equal(tm.want) {
			t.Errorf("location %s: %s = %v, want %v", want.ID, tm.name, tm.got, tm.want)
		}
		if tm.got.Location() != time.UTC {
			t.Errorf("location %s: %s = %v, not in UTC", want.ID, tm.name, tm.got)
		}
	}
	got.CreatedAt, got.UpdatedAt, want.CreatedAt, want.UpdatedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if len(want.Compartments) == 0 {
		want.Compartments = nil
	}
	if len(want.OpeningHours) == 0 {
		want.OpeningHours = nil
	}
	if len(want.ExceptionDays) == 0 {
		want.ExceptionDays = nil
	}
	if len(want.Functions) == 0 {
		want.Functions = nil
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("location %s:\n got %+v\nwant %+v", want.ID, got, want)
	}
}

func mustUpsert(t *testing.T, s Store, locs []lokero.Location, want lokero.UpsertResult) {
	t.Helper()
	res, err := s.UpsertLocations(t.Context(), locs)
	if err != nil {
		t.Fatalf("UpsertLocations: %v", err)
	}
	if res != want {
		t.Fatalf("UpsertLocations = %+v, want %+v", res, want)
	}
}

func mustLocation(t *testing.T, s Store, id string) lokero.Location {
	t.Helper()
	l, err := s.Location(t.Context(), id)
	if err != nil {
		t.Fatalf("Location(%q): %v", id, err)
	}
	return l
}

func checkCount(t *testing.T, s Store, want int) {
	t.Helper()
	n, err := s.CountLocations(t.Context())
	if err != nil {
		t.Fatalf("CountLocations: %v", err)
	}
	if n != want {
		t.Fatalf("CountLocations = %d, want %d", n, want)
	}
}

func testUpsertInsertThenUpdate(t *testing.T, s Store) {
	a, b := locker("a-1"), postOffice("b-2")
	mustUpsert(t, s, []lokero.Location{a, b}, lokero.UpsertResult{Inserted: 2})
	checkLocation(t, mustLocation(t, s, a.ID), a)
	checkLocation(t, mustLocation(t, s, b.ID), b)
	checkCount(t, s, 2)

	// Update every field of a (and flip the booleans), insert c.
	a2 := a
	a2.Type = lokero.TypeSmartpost
	a2.Name = "Smartpost Åbo – Tuomiokirkontori"
	a2.Street = "Tuomiokirkontori 3"
	a2.StreetSV = "Domkyrkotorget 3"
	a2.Postcode = "20500"
	a2.City = "Turku"
	a2.Lat, a2.Lon = 60.4518, 22.2787
	a2.OpeningHours = []lokero.OpeningHours{{Weekday: 7, From: "00:00", To: "24:00"}}
	a2.Access = lokero.AccessPublic
	a2.PaymentTerminal = true
	a2.WheelchairAccess = false
	a2.Compartments = []lokero.CompartmentClass{{Size: "XL", LengthCM: 40, WidthCM: 70, HeightCM: 40, Count: 1}}
	a2.CreatedAt = t0.Add(24 * time.Hour) // ignored on update
	a2.UpdatedAt = t0.Add(48 * time.Hour)
	c := numbered("c-", 3)
	mustUpsert(t, s, []lokero.Location{a2, c}, lokero.UpsertResult{Inserted: 1, Updated: 1})

	want := a2
	want.CreatedAt = a.CreatedAt
	checkLocation(t, mustLocation(t, s, a.ID), want)
	checkLocation(t, mustLocation(t, s, b.ID), b)
	checkLocation(t, mustLocation(t, s, c.ID), c)
	checkCount(t, s, 3)

	// Clearing the slices of a location stores no compartments, no hours.
	a3 := a2
	a3.Compartments, a3.OpeningHours = []lokero.CompartmentClass{}, nil
	mustUpsert(t, s, []lokero.Location{a3}, lokero.UpsertResult{Updated: 1})
	want = a3
	want.CreatedAt = a.CreatedAt
	checkLocation(t, mustLocation(t, s, a.ID), want)
}

func testUpsertIsIdempotent(t *testing.T, s Store) {
	batch := append(numberedBatch("x", 0, 50), locker("l"), postOffice("p"))
	mustUpsert(t, s, batch, lokero.UpsertResult{Inserted: len(batch)})
	before, err := s.Locations(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	mustUpsert(t, s, batch, lokero.UpsertResult{Updated: len(batch)})
	checkCount(t, s, len(batch))
	after, err := s.Locations(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Fatalf("Locations: %d after re-upsert, %d before", len(after), len(before))
	}
	for i := range after {
		checkLocation(t, after[i], before[i])
	}
}

func testUpsertEmpty(t *testing.T, s Store) {
	mustUpsert(t, s, nil, lokero.UpsertResult{})
	mustUpsert(t, s, []lokero.Location{}, lokero.UpsertResult{})
	checkCount(t, s, 0)
	locs, err := s.Locations(t.Context())
	if err != nil || len(locs) != 0 {
		t.Fatalf("Locations of an empty store = %v, %v", locs, err)
	}
	codes, err := s.Postcodes(t.Context())
	if err != nil || len(codes) != 0 {
		t.Fatalf("Postcodes of an empty store = %v, %v", codes, err)
	}
}

func testUpsertTimeDefaults(t *testing.T, s Store) {
	onlyCreated := locker("only-created")
	onlyCreated.UpdatedAt = time.Time{}
	neither := locker("neither")
	neither.CreatedAt, neither.UpdatedAt = time.Time{}, time.Time{}

	before := time.Now().Add(-time.Second) // allow for a clock in the database
	mustUpsert(t, s, []lokero.Location{onlyCreated, neither}, lokero.UpsertResult{Inserted: 2})
	after := time.Now().Add(time.Second)

	got := mustLocation(t, s, onlyCreated.ID)
	if !got.UpdatedAt.Equal(onlyCreated.CreatedAt) || !got.CreatedAt.Equal(onlyCreated.CreatedAt) {
		t.Errorf("zero UpdatedAt: stored created %v, updated %v; want both %v", got.CreatedAt, got.UpdatedAt, onlyCreated.CreatedAt)
	}
	got = mustLocation(t, s, neither.ID)
	if got.UpdatedAt.Before(before) || got.UpdatedAt.After(after) || !got.CreatedAt.Equal(got.UpdatedAt) {
		t.Errorf("zero CreatedAt and UpdatedAt: stored created %v, updated %v; want both now (%v)", got.CreatedAt, got.UpdatedAt, before)
	}
	if got.UpdatedAt.Location() != time.UTC {
		t.Errorf("UpdatedAt %v not in UTC", got.UpdatedAt)
	}

	// An update with zero times keeps created_at and sets updated_at to now.
	neither.Name = "renamed"
	mustUpsert(t, s, []lokero.Location{neither}, lokero.UpsertResult{Updated: 1})
	again := mustLocation(t, s, neither.ID)
	if !again.CreatedAt.Equal(got.CreatedAt) || again.UpdatedAt.Before(got.UpdatedAt) || again.Name != "renamed" {
		t.Errorf("update with zero times: %+v, created before %v", again, got.CreatedAt)
	}
}

func testUpsertDuplicateIDsInBatch(t *testing.T, s Store) {
	v1, v2 := locker("dup"), locker("dup")
	v2.Name, v2.UpdatedAt = "second", t0.Add(2*time.Hour)
	v2.CreatedAt = t0.Add(time.Hour) // an update: the first row's created_at stays
	batch := append(numberedBatch("n", 0, 3), v1, v2)
	mustUpsert(t, s, batch, lokero.UpsertResult{Inserted: 4, Updated: 1})
	checkCount(t, s, 4)
	want := v2
	want.CreatedAt = v1.CreatedAt
	checkLocation(t, mustLocation(t, s, "dup"), want)
}

// testUpsertFailingBatchIsAtomic sends updates of existing rows and
// thousands of new rows, then one row the schema refuses (an empty ID, or
// an empty type): it is last both in the batch and in ID order, so that the
// rows before it have been written inside the transaction whatever order a
// store writes in, and only a real rollback leaves the store as it was.
func testUpsertFailingBatchIsAtomic(t *testing.T, s Store) {
	seed := numberedBatch("s", 0, 10)
	mustUpsert(t, s, seed, lokero.UpsertResult{Inserted: len(seed)})

	var good []lokero.Location
	for _, l := range seed {
		l.Name = "changed"
		good = append(good, l)
	}
	good = append(good, numberedBatch("new", 0, 2500)...)
	noType := locker("zzzz")
	noType.Type = ""
	for _, bad := range []lokero.Location{locker(""), noType} {
		res, err := s.UpsertLocations(t.Context(), append(slices.Clip(good), bad))
		if err == nil {
			t.Fatalf("UpsertLocations with ID %q and type %q = %+v, want an error", bad.ID, bad.Type, res)
		}
		checkCount(t, s, len(seed))
		for _, l := range seed {
			checkLocation(t, mustLocation(t, s, l.ID), l)
		}
	}
	// The store still works after the failed transactions.
	mustUpsert(t, s, good, lokero.UpsertResult{Inserted: 2500, Updated: 10})
}

func testUpsertCancelledContext(t *testing.T, s Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.UpsertLocations(ctx, numberedBatch("c", 0, 100)); err == nil {
		t.Fatal("UpsertLocations with a cancelled context succeeded")
	}
	checkCount(t, s, 0)
}

func testUpsert10000(t *testing.T, s Store) {
	const n = 10000
	batch := numberedBatch("bulk", 0, n)
	rand.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })

	start := time.Now()
	mustUpsert(t, s, batch, lokero.UpsertResult{Inserted: n})
	inserted := time.Since(start)
	start = time.Now()
	mustUpsert(t, s, batch, lokero.UpsertResult{Updated: n})
	updated := time.Since(start)
	t.Logf("upsert of %d locations: insert %v, update %v (BenchmarkUpsert10000 measures them)", n, inserted, updated)

	checkCount(t, s, n)
	all, err := s.Locations(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != n {
		t.Fatalf("Locations returned %d, want %d", len(all), n)
	}
	for i := range all {
		checkLocation(t, all[i], numbered("bulk", i))
		if t.Failed() {
			break
		}
	}
}

// testUpsertConcurrent runs overlapping upserts from several goroutines,
// half of them in reverse order: none may fail (no SQLITE_BUSY, no
// deadlock), and every ID is inserted exactly once.
func testUpsertConcurrent(t *testing.T, s Store) {
	const workers, rounds, size, stride = 8, 3, 200, 50
	var (
		mu       sync.Mutex
		inserted int
		total    int
		wg       sync.WaitGroup
		errs     = make(chan error, workers*rounds)
	)
	for w := range workers {
		batch := numberedBatch("w", w*stride, w*stride+size)
		if w%2 == 1 {
			slices.Reverse(batch)
		}
		wg.Go(func() {
			for r := range rounds {
				res, err := s.UpsertLocations(t.Context(), batch)
				if err != nil {
					errs <- fmt.Errorf("worker %d round %d: %w", w, r, err)
					return
				}
				mu.Lock()
				inserted += res.Inserted
				total += res.Inserted + res.Updated
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	distinct := (workers-1)*stride + size
	if inserted != distinct || total != workers*rounds*size {
		t.Errorf("inserted %d of %d rows, want %d of %d", inserted, total, distinct, workers*rounds*size)
	}
	checkCount(t, s, distinct)
}

func testLocationNotFound(t *testing.T, s Store) {
	for _, seed := range [][]lokero.Location{nil, {locker("present")}} {
		mustUpsert(t, s, seed, lokero.UpsertResult{Inserted: len(seed)})
		_, err := s.Location(t.Context(), "missing")
		var e *lokero.Error
		if !errors.As(err, &e) || e.Code != lokero.ENOTFOUND {
			t.Fatalf("Location(missing) = %v (%T), want a *lokero.Error with code %s", err, err, lokero.ENOTFOUND)
		}
		if !strings.Contains(e.Message, "missing") {
			t.Errorf("not-found message %q does not name the location", e.Message)
		}
	}
}

// testDirectoryVersion: every write of a location changes the version;
// reads and a failed write leave it.
func testDirectoryVersion(t *testing.T, s Store) {
	ctx := t.Context()
	version := func() int64 {
		t.Helper()
		v, err := s.DirectoryVersion(ctx)
		if err != nil {
			t.Fatalf("DirectoryVersion: %v", err)
		}
		return v
	}
	changed := func(step string, before int64) int64 {
		t.Helper()
		after := version()
		if after == before {
			t.Errorf("%s: DirectoryVersion stayed %d", step, after)
		}
		return after
	}
	v := version()
	mustUpsert(t, s, []lokero.Location{locker("dv-1"), postOffice("dv-2")}, lokero.UpsertResult{Inserted: 2})
	v = changed("insert", v)
	if _, err := s.Locations(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Location(ctx, "dv-1"); err != nil {
		t.Fatal(err)
	}
	if got := version(); got != v {
		t.Errorf("reads changed DirectoryVersion from %d to %d", v, got)
	}
	moved := postOffice("dv-2")
	moved.Name = "Moved post office"
	mustUpsert(t, s, []lokero.Location{moved}, lokero.UpsertResult{Updated: 1})
	v = changed("upsert of a changed location", v)
	closed := locker("dv-1")
	closed.Status = lokero.LocationClosed
	if err := s.UpdateLocation(ctx, closed, lokero.LocationEvent{Actor: "op"}); err != nil {
		t.Fatal(err)
	}
	v = changed("UpdateLocation", v)
	if err := s.UpdateLocation(ctx, locker("dv-missing"), lokero.LocationEvent{Actor: "op"}); err == nil {
		t.Fatal("UpdateLocation of a missing location: no error")
	}
	if _, err := s.UpsertLocations(ctx, []lokero.Location{locker("dv-3"), locker("")}); err == nil {
		t.Fatal("UpsertLocations with an empty ID: no error")
	}
	if got := version(); got != v {
		t.Errorf("failed writes changed DirectoryVersion from %d to %d", v, got)
	}
}

func testLocationsOrderedByID(t *testing.T, s Store) {
	ids := []string{"b", "A", "a", "B", "a-2", "a.1", "a_1", "Z9", "0", "10", "9", "zz"}
	var batch []lokero.Location
	for i, id := range ids {
		if i%2 == 0 {
			batch = append(batch, locker(id))
		} else {
			batch = append(batch, postOffice(id))
		}
	}
	mustUpsert(t, s, batch, lokero.UpsertResult{Inserted: len(batch)})
	got, err := s.Locations(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(batch, func(a, b lokero.Location) int { return strings.Compare(a.ID, b.ID) })
	var gotIDs, wantIDs []string
	for i := range got {
		gotIDs = append(gotIDs, got[i].ID)
	}
	for i := range batch {
		wantIDs = append(wantIDs, batch[i].ID)
	}
	if !slices.Equal(gotIDs, wantIDs) {
		t.Fatalf("Locations IDs = %q, want byte order %q", gotIDs, wantIDs)
	}
	for i := range got {
		checkLocation(t, got[i], batch[i])
	}
}

// postcode returns a record with every field set.
func postcode(code string) lokero.Postcode {
	return lokero.Postcode{
		Code:              code,
		Kind:              lokero.PostcodeArea,
		TypeCode:          "1",
		NameFI:            "TURKU",
		NameSV:            "ÅBO",
		AbbrFI:            "TKU",
		AbbrSV:            "ÅBO",
		ValidFrom:         "19700101",
		AreaCode:          "200",
		AreaFI:            "Turku",
		AreaSV:            "Åbo",
		MunicipalityCode:  "853",
		MunicipalityFI:    "Turku",
		MunicipalitySV:    "Åbo",
		LanguageRatioCode: "1",
		FileDate:          "20250301",
	}
}

func checkPostcodes(t *testing.T, s Store, want []lokero.Postcode) {
	t.Helper()
	got, err := s.Postcodes(t.Context())
	if err != nil {
		t.Fatalf("Postcodes: %v", err)
	}
	want = slices.Clone(want)
	slices.SortFunc(want, func(a, b lokero.Postcode) int { return strings.Compare(a.Code, b.Code) })
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Postcodes:\n got %+v\nwant %+v", got, want)
	}
}

func testReplacePostcodes(t *testing.T, s Store) {
	locker := postcode("20504")
	locker.Kind, locker.TypeCode, locker.NameFI, locker.NameSV = lokero.PostcodeLocker, "6", "SMARTPOST", "SMARTPOST"
	sparse := lokero.Postcode{Code: "99999", Kind: lokero.PostcodeOther, TypeCode: "4", NameFI: "KORVATUNTURI", MunicipalityCode: "698", MunicipalityFI: "Rovaniemi"}
	first := []lokero.Postcode{postcode("20500"), locker, postcode("00100"), sparse}
	if err := s.ReplacePostcodes(t.Context(), first); err != nil {
		t.Fatal(err)
	}
	checkPostcodes(t, s, first)

	changed := postcode("00100")
	changed.NameFI, changed.NameSV, changed.FileDate = "HELSINKI", "HELSINGFORS", "20250401"
	second := []lokero.Postcode{changed, postcode("00104"), postcode("33100")}
	if err := s.ReplacePostcodes(t.Context(), second); err != nil {
		t.Fatal(err)
	}
	checkPostcodes(t, s, second) // 20500, 20504 and 99999 are gone

	many := make([]lokero.Postcode, 0, 3000)
	for i := range 3000 {
		many = append(many, postcode(fmt.Sprintf("%05d", i*33)))
	}
	if err := s.ReplacePostcodes(t.Context(), many); err != nil {
		t.Fatal(err)
	}
	checkPostcodes(t, s, many)

	if err := s.ReplacePostcodes(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	checkPostcodes(t, s, nil)
}

// testReplacePostcodesIsAtomic replaces the registry with one that repeats
// a code: the primary key refuses it after the old rows were deleted and
// the new ones partly inserted, and the old registry must be intact.
func testReplacePostcodesIsAtomic(t *testing.T, s Store) {
	first := []lokero.Postcode{postcode("20500"), postcode("00100")}
	if err := s.ReplacePostcodes(t.Context(), first); err != nil {
		t.Fatal(err)
	}
	var bad []lokero.Postcode
	for i := range 2000 {
		bad = append(bad, postcode(fmt.Sprintf("%05d", 10000+i)))
	}
	bad = append(bad, postcode("10000"))
	if err := s.ReplacePostcodes(t.Context(), bad); err == nil {
		t.Fatal("ReplacePostcodes with a repeated code succeeded")
	}
	checkPostcodes(t, s, first)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.ReplacePostcodes(ctx, bad[:10]); err == nil {
		t.Fatal("ReplacePostcodes with a cancelled context succeeded")
	}
	checkPostcodes(t, s, first)
}

// testReplacePostcodesConcurrent replaces the registry from several
// goroutines at once: none may fail, and the result is exactly one of the
// registries, not a mix.
func testReplacePostcodesConcurrent(t *testing.T, s Store) {
	const workers = 6
	sets := make([][]lokero.Postcode, workers)
	for w := range sets {
		for i := range 300 {
			p := postcode(fmt.Sprintf("%05d", i*7+w)) // overlapping codes
			p.FileDate = fmt.Sprintf("2025010%d", w)
			sets[w] = append(sets[w], p)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers*2)
	for w := range workers {
		wg.Go(func() {
			for range 2 {
				if err := s.ReplacePostcodes(t.Context(), sets[w]); err != nil {
					errs <- fmt.Errorf("worker %d: %w", w, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got, err := s.Postcodes(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 {
		t.Fatal("no postcodes after concurrent replaces")
	}
	w := int(got[0].FileDate[len(got[0].FileDate)-1] - '0')
	if w < 0 || w >= workers {
		t.Fatalf("unexpected file date %q", got[0].FileDate)
	}
	checkPostcodes(t, s, sets[w])
}
