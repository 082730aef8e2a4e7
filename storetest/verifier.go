package storetest

// Verifiers of opening codes for lockers' controllers (DeviceStore's
// Verifiers and PutVerifier). Besides the interface documentation in
// package lokero, the stores agree that:
//
//   - A verifier's bytes come back byte for byte (an empty CodeHash or
//     SaltSHA256 as nil), its CreatedAt in UTC to the microsecond; a zero
//     CreatedAt is stored as the time of the call.
//   - No salt is kept: the stored row holds the salt's SHA-256 and not
//     the salt (a copy of the database alone must not give it), and a
//     SaltSHA256 of another length than a SHA-256's is EINVALID.
//   - PutVerifier replaces every field of the stored verifier, CreatedAt
//     too.
//   - A verifier needs a shipment ID and a hash: EINVALID otherwise. It
//     belongs to a stored shipment: one of an unknown shipment is ENOTFOUND;
//     a shipment's verifier goes with it.
//   - PruneVerifiers forgets exactly the verifiers made before its time,
//     compared as instants whatever their zone, and counts them.
//   - Verifiers of an empty list is an empty map; unknown or repeated IDs
//     are no error; lists of any length (longer than a statement's
//     arguments) are answered whole.

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/lokero/lokero"
)

var verifierTests = []struct {
	name string
	fn   func(t *testing.T, s Store)
}{
	{"VerifierRoundTrip", testVerifierRoundTrip},
	{"VerifierReplace", testVerifierReplace},
	{"VerifiersUnknownAndEmpty", testVerifiersUnknownAndEmpty},
	{"VerifiersMany", testVerifiersMany},
	{"VerifierInvalid", testVerifierInvalid},
	{"VerifierKeepsNoSalt", testVerifierKeepsNoSalt},
	{"VerifierNeedsShipment", testVerifierNeedsShipment},
	{"PruneVerifiers", testPruneVerifiers},
}

// verifier returns a verifier of a shipment whose bytes depend on n and
// hold every byte value that a text conversion could spoil (0x00, 0xff,
// invalid UTF-8); CreatedAt is finer than a microsecond, not in UTC.
func verifier(shipmentID, locationID string, n byte) lokero.Verifier {
	return lokero.Verifier{
		ShipmentID: shipmentID,
		LocationID: locationID,
		CodeHash:   []byte{0x00, n, 0xff, 0xfe, 'c', 0x00},
		SaltSHA256: append(bytes.Repeat([]byte{n, 0x80, 0x00}, 10), 0xff, n),
		Hash:       append([]byte{0xc3, 0x28, n}, bytes.Repeat([]byte{0x00, 0xff}, 15)...),
		CreatedAt:  t0.Add(time.Duration(n)*time.Hour + 999).In(helsinki),
	}
}

// mustShipments inserts shipments with the IDs given, of one retailer.
func mustShipments(t *testing.T, s Store, ids ...string) {
	t.Helper()
	mustRetailer(t, s, "r-verifiers")
	list := make([]lokero.Shipment, len(ids))
	for i, id := range ids {
		list[i] = shipment("r-verifiers", id)
	}
	mustInsert(t, s, list...)
}

func mustPutVerifier(t *testing.T, s Store, v lokero.Verifier) {
	t.Helper()
	if err := s.PutVerifier(t.Context(), v); err != nil {
		t.Fatalf("PutVerifier(%s): %v", v.ShipmentID, err)
	}
}

func mustVerifiers(t *testing.T, s Store, ids []string) map[string]lokero.Verifier {
	t.Helper()
	got, err := s.Verifiers(t.Context(), ids)
	if err != nil {
		t.Fatalf("Verifiers(%d IDs): %v", len(ids), err)
	}
	if got == nil {
		t.Fatalf("Verifiers(%d IDs) = nil map, want a map", len(ids))
	}
	return got
}

// checkVerifiers fails t unless got holds exactly want's verifiers, as
// stored: times in UTC to the microsecond, bytes exact.
func checkVerifiers(t *testing.T, what string, got map[string]lokero.Verifier, want ...lokero.Verifier) {
	t.Helper()
	wantIDs := make([]string, len(want))
	for i, v := range want {
		wantIDs[i] = v.ShipmentID
	}
	slices.Sort(wantIDs)
	if gotIDs := slices.Sorted(maps.Keys(got)); !slices.Equal(gotIDs, wantIDs) {
		t.Errorf("%s: verifiers of %q, want %q", what, gotIDs, wantIDs)
	}
	for _, w := range want {
		g, ok := got[w.ShipmentID]
		if !ok {
			continue
		}
		w.CreatedAt = w.CreatedAt.UTC().Truncate(time.Microsecond)
		if g.CreatedAt.Location() != time.UTC {
			t.Errorf("%s: CreatedAt %v of %s not in UTC", what, g.CreatedAt, w.ShipmentID)
		}
		if g.ShipmentID != w.ShipmentID || g.LocationID != w.LocationID || !g.CreatedAt.Equal(w.CreatedAt) ||
			!bytes.Equal(g.CodeHash, w.CodeHash) || !bytes.Equal(g.SaltSHA256, w.SaltSHA256) || !bytes.Equal(g.Hash, w.Hash) {
			t.Errorf("%s: verifier of %s\n got %+v\nwant %+v", what, w.ShipmentID, g, w)
		}
	}
}

func testVerifierRoundTrip(t *testing.T, s Store) {
	mustShipments(t, s, "s-1", "s-2", "s-3", "s-4")
	v1, v2 := verifier("s-1", "locker-1", 1), verifier("s-2", "locker-2", 2)
	mustPutVerifier(t, s, v1)
	mustPutVerifier(t, s, v2)
	checkVerifiers(t, "two stored", mustVerifiers(t, s, []string{"s-1", "s-2", "s-3"}), v1, v2)
	checkVerifiers(t, "one asked", mustVerifiers(t, s, []string{"s-2"}), v2)

	// A zero CreatedAt is the time of the call.
	now := verifier("s-3", "locker-1", 3)
	now.CreatedAt = time.Time{}
	before := time.Now().Add(-time.Second) // allow for a clock in the database
	mustPutVerifier(t, s, now)
	after := time.Now().Add(time.Second)
	got := mustVerifiers(t, s, []string{"s-3"})["s-3"]
	if got.CreatedAt.Before(before) || got.CreatedAt.After(after) {
		t.Errorf("zero CreatedAt stored as %v, want the time of the call (%v to %v)", got.CreatedAt, before, after)
	}
	now.CreatedAt = got.CreatedAt
	checkVerifiers(t, "zero CreatedAt", mustVerifiers(t, s, []string{"s-3"}), now)

	// Empty CodeHash and SaltSHA256 are stored, and come back nil.
	empty := verifier("s-4", "", 4)
	empty.CodeHash, empty.SaltSHA256 = []byte{}, nil
	mustPutVerifier(t, s, empty)
	e := mustVerifiers(t, s, []string{"s-4"})["s-4"]
	if e.CodeHash != nil || e.SaltSHA256 != nil {
		t.Errorf("empty CodeHash and SaltSHA256 came back as %#v, %#v; want nil", e.CodeHash, e.SaltSHA256)
	}
	checkVerifiers(t, "all four", mustVerifiers(t, s, []string{"s-4", "s-3", "s-2", "s-1"}), v1, v2, now, empty)
}

func testVerifierReplace(t *testing.T, s Store) {
	mustShipments(t, s, "s-1", "s-2")
	old, other := verifier("s-1", "locker-1", 1), verifier("s-2", "locker-1", 2)
	mustPutVerifier(t, s, old)
	mustPutVerifier(t, s, other)

	// Every field changes, CreatedAt too, even to an earlier time.
	for i, v := range []lokero.Verifier{verifier("s-1", "locker-9", 9), verifier("s-1", "locker-1", 0)} {
		mustPutVerifier(t, s, v)
		checkVerifiers(t, fmt.Sprintf("replacement %d", i), mustVerifiers(t, s, []string{"s-1", "s-2"}), v, other)
	}
	// Longer and shorter byte strings replace the old ones whole.
	long := verifier("s-1", "locker-1", 5)
	long.Hash = bytes.Repeat([]byte{0xab}, 4096)
	long.SaltSHA256 = bytes.Repeat([]byte{0x01}, sha256.Size)
	mustPutVerifier(t, s, long)
	checkVerifiers(t, "long hash", mustVerifiers(t, s, []string{"s-1"}), long)
	short := long
	short.Hash = []byte{0x00}
	mustPutVerifier(t, s, short)
	checkVerifiers(t, "short hash", mustVerifiers(t, s, []string{"s-1", "s-2"}), short, other)
}

func testVerifiersUnknownAndEmpty(t *testing.T, s Store) {
	for _, ids := range [][]string{nil, {}} {
		if got := mustVerifiers(t, s, ids); len(got) != 0 {
			t.Errorf("Verifiers(%#v) of an empty store = %v", ids, got)
		}
	}
	mustShipments(t, s, "s-1", "s-2", "S-1")
	v1, v2 := verifier("s-1", "locker-1", 1), verifier("S-1", "locker-1", 2)
	mustPutVerifier(t, s, v1)
	mustPutVerifier(t, s, v2)
	for _, ids := range [][]string{nil, {}} {
		if got := mustVerifiers(t, s, ids); len(got) != 0 {
			t.Errorf("Verifiers(%#v) = %v, want an empty map", ids, got)
		}
	}
	// Unknown shipments, shipments without a verifier, IDs that differ
	// only in case or trailing space, repeats: only stored ones answer.
	checkVerifiers(t, "unknown", mustVerifiers(t, s, []string{"nobody", "", "s-2", "s-1 ", "s-10"}))
	checkVerifiers(t, "mixed", mustVerifiers(t, s, []string{"nobody", "s-1", "s-2", "s-1", "", "S-1", "s-1"}), v1, v2)
}

// testVerifiersMany asks for more IDs than one statement takes in either
// database (their MaxArgs are 2,400 and 12,000), with the stored ones at
// the ends and at both sides of where a store of either may cut the list.
func testVerifiersMany(t *testing.T, s Store) {
	const n = 25_001
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("s-%05d", i)
	}
	var stored []string
	for _, i := range []int{0, 1, 2399, 2400, 2401, 4800, 11_999, 12_000, 12_001, 23_999, 24_000, n - 2, n - 1} {
		stored = append(stored, ids[i])
	}
	mustShipments(t, s, stored...)
	var want []lokero.Verifier
	for i, id := range stored {
		v := verifier(id, fmt.Sprintf("locker-%d", i%3), byte(i))
		mustPutVerifier(t, s, v)
		want = append(want, v)
	}
	start := time.Now()
	got := mustVerifiers(t, s, ids)
	t.Logf("Verifiers of %d IDs: %v", n, time.Since(start))
	checkVerifiers(t, fmt.Sprintf("%d IDs", n), got, want...)

	// The same in reverse order, and only the stored ones.
	slices.Reverse(ids)
	checkVerifiers(t, fmt.Sprintf("%d IDs reversed", n), mustVerifiers(t, s, ids), want...)
	checkVerifiers(t, "only the stored", mustVerifiers(t, s, stored), want...)
}

func testVerifierInvalid(t *testing.T, s Store) {
	mustShipments(t, s, "s-1")
	noID := verifier("", "locker-1", 1)
	noHash, emptyHash := verifier("s-1", "locker-1", 1), verifier("s-1", "locker-1", 1)
	noHash.Hash, emptyHash.Hash = nil, []byte{}
	// A locker's salt (16 bytes) where its SHA-256 goes, or one byte short
	// of a SHA-256.
	salt, short := verifier("s-1", "locker-1", 1), verifier("s-1", "locker-1", 1)
	salt.SaltSHA256, short.SaltSHA256 = bytes.Repeat([]byte{0x5a}, 16), short.SaltSHA256[:sha256.Size-1]
	for _, tc := range []struct {
		name  string
		v     lokero.Verifier
		field string
	}{
		{"no shipment ID", noID, "shipment_id"},
		{"nil hash", noHash, "hash"},
		{"empty hash", emptyHash, "hash"},
		{"a salt, not its SHA-256", salt, "salt_sha256"},
		{"short SHA-256", short, "salt_sha256"},
	} {
		err := s.PutVerifier(t.Context(), tc.v)
		checkError(t, err, lokero.EINVALID, "")
		if e := (*lokero.Error)(nil); errors.As(err, &e) && e.Field != tc.field {
			t.Errorf("%s: error's field %q, want %q", tc.name, e.Field, tc.field)
		}
	}
	checkVerifiers(t, "after refused ones", mustVerifiers(t, s, []string{"", "s-1"}))
}

// testVerifierNeedsShipment: a verifier of an unknown shipment is refused
// (ENOTFOUND), and a shipment's verifier goes with it.
func testVerifierNeedsShipment(t *testing.T, s Store) {
	ctx := t.Context()
	err := s.PutVerifier(ctx, verifier("nobody", "locker-1", 1))
	checkError(t, err, lokero.ENOTFOUND, "")
	checkVerifiers(t, "unknown shipment", mustVerifiers(t, s, []string{"nobody"}))

	mustShipments(t, s, "s-1", "s-2")
	v1, v2 := verifier("s-1", "locker-1", 1), verifier("s-2", "locker-1", 2)
	mustPutVerifier(t, s, v1)
	mustPutVerifier(t, s, v2)

	// No store deletes shipments: delete one through the store's SQL handle
	// (its events first, which do not go with it).
	raw, ok := s.(interface{ SQL() *sql.DB })
	if !ok {
		t.Fatalf("the store (%T) does not give its SQL handle (SQL() *sql.DB), which this suite needs to check the cascade", s)
	}
	for _, q := range []string{`DELETE FROM shipment_events WHERE shipment_id = 's-1'`, `DELETE FROM shipments WHERE id = 's-1'`} {
		if _, err := raw.SQL().ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	checkVerifiers(t, "after a shipment's deletion", mustVerifiers(t, s, []string{"s-1", "s-2"}), v2)
	// And its verifier cannot come back without it.
	checkError(t, s.PutVerifier(ctx, v1), lokero.ENOTFOUND, "")
}

func testPruneVerifiers(t *testing.T, s Store) {
	ctx := t.Context()
	mustShipments(t, s, "p-1", "p-2", "p-3", "p-4")
	// verifier(…, n) is made n hours after t0, in Helsinki's zone.
	v1, v2, v3, v4 := verifier("p-1", "locker-1", 1), verifier("p-2", "locker-1", 2),
		verifier("p-3", "locker-2", 3), verifier("p-4", "locker-2", 30)
	for _, v := range []lokero.Verifier{v1, v2, v3, v4} {
		mustPutVerifier(t, s, v)
	}
	ids := []string{"p-1", "p-2", "p-3", "p-4"}
	// v3's time to the microsecond, given in another zone: v1 and v2 are
	// before it, v3 is not.
	cut := v3.CreatedAt.Truncate(time.Microsecond).In(time.FixedZone("UTC-5", -5*3600))
	n, err := s.PruneVerifiers(ctx, cut)
	if err != nil || n != 2 {
		t.Fatalf("PruneVerifiers(%v) = %d, %v; want 2", cut, n, err)
	}
	checkVerifiers(t, "after the prune", mustVerifiers(t, s, ids), v3, v4)
	if n, err := s.PruneVerifiers(ctx, cut); err != nil || n != 0 {
		t.Errorf("PruneVerifiers again = %d, %v; want 0", n, err)
	}
	// A pruned verifier is made again as any new one.
	mustPutVerifier(t, s, v1)
	checkVerifiers(t, "one made again", mustVerifiers(t, s, ids), v1, v3, v4)
}

// testVerifierKeepsNoSalt: what the store keeps of a verifier, read
// column by column through its SQL handle, holds the SHA-256 of the salt
// it was made with and nowhere the salt: with the salt, a copy of the
// database alone would let anyone test guessed codes against the hash.
func testVerifierKeepsNoSalt(t *testing.T, s Store) {
	ctx := t.Context()
	mustShipments(t, s, "s-1")
	salt := []byte("a locker's salt!") // 16 bytes, as locker.Codes.Salt's
	sum := sha256.Sum256(salt)
	v := verifier("s-1", "locker-1", 1)
	v.SaltSHA256 = sum[:]
	mustPutVerifier(t, s, v)
	checkVerifiers(t, "with the salt's SHA-256", mustVerifiers(t, s, []string{"s-1"}), v)

	raw, ok := s.(interface{ SQL() *sql.DB })
	if !ok {
		t.Fatalf("the store (%T) does not give its SQL handle (SQL() *sql.DB), which this suite needs to read the row", s)
	}
	rows, err := raw.SQL().QueryContext(ctx, `SELECT * FROM locker_verifiers`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	n, fingerprint := 0, false
	for rows.Next() {
		n++
		vals := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, b := range vals {
			if bytes.Contains(b, salt) {
				t.Errorf("column %s of the stored verifier holds the salt: %x", cols[i], []byte(b))
			}
			fingerprint = fingerprint || bytes.Equal(b, sum[:])
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != 1 || !fingerprint {
		t.Errorf("%d stored verifiers (columns %q), the salt's SHA-256 among them %v; want 1, true", n, cols, fingerprint)
	}
}
