package storetest

// What the stores agree on about Web Push subscriptions
// (lokero.PushStore and Tx.PushSubscriptions):
//
//   - A subscription comes back as stored, its CreatedAt in UTC to the
//     microsecond.
//   - Adding a parcel's endpoint again updates its keys and language in
//     place: the stored subscription keeps its ID, CreatedAt and tracking
//     code, and is what AddPushSubscription returns.
//   - A parcel keeps at most lokero.MaxPushSubscriptions: a new endpoint
//     beyond them is an ECONFLICT "too_many_subscriptions", also when the
//     adds race; an endpoint already stored may still be updated.
//   - An ID in use for another endpoint is an ECONFLICT "duplicate_id".
//   - Tx.PushSubscriptions lists a parcel's subscriptions oldest first (by
//     CreatedAt, then ID in byte order).

import (
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/lokero/lokero"
)

var pushTests = []struct {
	name string
	fn   func(t *testing.T, s Store)
}{
	{"PushRoundTrip", testPushRoundTrip},
	{"PushUpsertKeepsID", testPushUpsertKeepsID},
	{"PushLimit", testPushLimit},
	{"PushLimitConcurrent", testPushLimitConcurrent},
	{"PushSubscriptionsInTx", testPushSubscriptionsInTx},
}

// pushStore returns s as a lokero.PushStore, or fails t.
func pushStore(t *testing.T, s Store) lokero.PushStore {
	t.Helper()
	ps, ok := s.(lokero.PushStore)
	if !ok {
		t.Fatalf("the store (%T) is no lokero.PushStore", s)
	}
	return ps
}

// subscription returns the i-th test subscription of a shipment.
func subscription(shipmentID string, i int) lokero.PushSubscription {
	return lokero.PushSubscription{
		ID:           fmt.Sprintf("psub_%s_%02d", shipmentID, i),
		ShipmentID:   shipmentID,
		TrackingCode: "JJ-" + shipmentID + "-FI",
		Endpoint:     fmt.Sprintf("https://push.example.com/send/%s/%02d?ä=1", shipmentID, i),
		P256dh:       fmt.Sprintf("BNc-p256dh-%02d_xyz", i),
		Auth:         fmt.Sprintf("auth-%02d", i),
		Language:     []string{"fi", "sv", "en", ""}[i%4],
		CreatedAt:    t0.Add(time.Duration(i)*time.Minute + 999).In(helsinki),
	}
}

// storedPush is p as a store gives it back.
func storedPush(p lokero.PushSubscription) lokero.PushSubscription {
	p.CreatedAt = p.CreatedAt.UTC().Truncate(time.Microsecond)
	return p
}

// mustAddPush adds a subscription and returns what the store returned.
func mustAddPush(t *testing.T, ps lokero.PushStore, p lokero.PushSubscription) lokero.PushSubscription {
	t.Helper()
	got, err := ps.AddPushSubscription(t.Context(), p)
	if err != nil {
		t.Fatalf("AddPushSubscription(%s): %v", p.ID, err)
	}
	return got
}

// txPushSubscriptions reads a shipment's subscriptions in a transaction.
func txPushSubscriptions(t *testing.T, s Store, shipmentID string) []lokero.PushSubscription {
	t.Helper()
	var list []lokero.PushSubscription
	mustInTx(t, s, func(tx lokero.Tx) error {
		var err error
		list, err = tx.PushSubscriptions(t.Context(), shipmentID)
		return err
	})
	return list
}

func pushIDs(list []lokero.PushSubscription) []string {
	out := []string{}
	for _, p := range list {
		out = append(out, p.ID)
	}
	return out
}

func testPushRoundTrip(t *testing.T, s Store) {
	ctx := t.Context()
	ps := pushStore(t, s)
	p := subscription("shp_1", 1)
	want := storedPush(p)
	if got := mustAddPush(t, ps, p); !reflect.DeepEqual(got, want) {
		t.Errorf("AddPushSubscription returned\n %+v\nwant %+v", got, want)
	}
	got, err := ps.PushSubscription(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) || got.CreatedAt.Location() != time.UTC {
		t.Errorf("PushSubscription:\n got %+v\nwant %+v", got, want)
	}
	_, err = ps.PushSubscription(ctx, "psub_unknown")
	wantCode(t, "PushSubscription(unknown)", err, lokero.ENOTFOUND, "")

	// Another endpoint under an ID in use.
	dup := subscription("shp_1", 2)
	dup.ID = p.ID
	_, err = ps.AddPushSubscription(ctx, dup)
	wantCode(t, "AddPushSubscription(duplicate ID)", err, lokero.ECONFLICT, "duplicate_id")

	if err := ps.DeletePushSubscription(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	_, err = ps.PushSubscription(ctx, p.ID)
	wantCode(t, "PushSubscription(deleted)", err, lokero.ENOTFOUND, "")
	wantCode(t, "DeletePushSubscription(deleted)", ps.DeletePushSubscription(ctx, p.ID), lokero.ENOTFOUND, "")
	if list := txPushSubscriptions(t, s, "shp_1"); len(list) != 0 {
		t.Errorf("PushSubscriptions after the delete: %+v", list)
	}
}

func testPushUpsertKeepsID(t *testing.T, s Store) {
	ctx := t.Context()
	ps := pushStore(t, s)
	first := mustAddPush(t, ps, subscription("shp_1", 1))

	again := subscription("shp_1", 1)
	again.ID = "psub_new"
	again.TrackingCode = "JJ-other-FI"
	again.P256dh, again.Auth, again.Language = "BNc-new-key", "new-auth", "en"
	again.CreatedAt = t0.Add(24 * time.Hour)
	want := first
	want.P256dh, want.Auth, want.Language = again.P256dh, again.Auth, again.Language
	if got := mustAddPush(t, ps, again); !reflect.DeepEqual(got, want) {
		t.Errorf("AddPushSubscription of a stored endpoint returned\n %+v\nwant %+v", got, want)
	}
	if got, err := ps.PushSubscription(ctx, first.ID); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("the updated subscription: %+v, %v; want %+v", got, err, want)
	}
	_, err := ps.PushSubscription(ctx, again.ID)
	wantCode(t, "PushSubscription(the new ID of an update)", err, lokero.ENOTFOUND, "")
	if got := pushIDs(txPushSubscriptions(t, s, "shp_1")); !reflect.DeepEqual(got, []string{first.ID}) {
		t.Errorf("PushSubscriptions after an update = %v; want one, %s", got, first.ID)
	}

	// The same endpoint for another parcel is a subscription of its own.
	other := subscription("shp_1", 1)
	other.ID, other.ShipmentID = "psub_other", "shp_2"
	if got := mustAddPush(t, ps, other); got.ID != other.ID {
		t.Errorf("the same endpoint for another parcel got ID %s; want %s", got.ID, other.ID)
	}
	if got := pushIDs(txPushSubscriptions(t, s, "shp_2")); !reflect.DeepEqual(got, []string{other.ID}) {
		t.Errorf("PushSubscriptions(shp_2) = %v", got)
	}
}

func testPushLimit(t *testing.T, s Store) {
	ctx := t.Context()
	ps := pushStore(t, s)
	for i := range lokero.MaxPushSubscriptions {
		mustAddPush(t, ps, subscription("shp_1", i))
	}
	over := subscription("shp_1", lokero.MaxPushSubscriptions)
	_, err := ps.AddPushSubscription(ctx, over)
	wantCode(t, "AddPushSubscription beyond the limit", err, lokero.ECONFLICT, "too_many_subscriptions")
	_, err = ps.PushSubscription(ctx, over.ID)
	wantCode(t, "PushSubscription(refused)", err, lokero.ENOTFOUND, "")

	// A stored endpoint may still be updated at the limit.
	update := subscription("shp_1", 3)
	update.ID, update.Auth = "psub_ignored", "rotated"
	if got := mustAddPush(t, ps, update); got.ID != subscription("shp_1", 3).ID || got.Auth != "rotated" {
		t.Errorf("an update at the limit returned %+v", got)
	}
	// Another parcel has its own limit.
	mustAddPush(t, ps, subscription("shp_2", 0))
	// Once one is removed, there is room for one more.
	if err := ps.DeletePushSubscription(ctx, subscription("shp_1", 0).ID); err != nil {
		t.Fatal(err)
	}
	mustAddPush(t, ps, over)
	_, err = ps.AddPushSubscription(ctx, subscription("shp_1", lokero.MaxPushSubscriptions+1))
	wantCode(t, "AddPushSubscription beyond the limit again", err, lokero.ECONFLICT, "too_many_subscriptions")
	if n := len(txPushSubscriptions(t, s, "shp_1")); n != lokero.MaxPushSubscriptions {
		t.Errorf("shp_1 has %d subscriptions; want %d", n, lokero.MaxPushSubscriptions)
	}
}

// testPushLimitConcurrent adds twice the limit of new endpoints to one
// parcel at once: exactly the limit succeed.
func testPushLimitConcurrent(t *testing.T, s Store) {
	ctx := t.Context()
	ps := pushStore(t, s)
	const n = 2 * lokero.MaxPushSubscriptions
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, errs[i] = ps.AddPushSubscription(ctx, subscription("shp_1", i))
		})
	}
	wg.Wait()
	added := 0
	for i, err := range errs {
		if err == nil {
			added++
			continue
		}
		wantCode(t, fmt.Sprintf("add %d", i), err, lokero.ECONFLICT, "too_many_subscriptions")
	}
	if added != lokero.MaxPushSubscriptions {
		t.Errorf("%d concurrent adds: %d succeeded; want %d", n, added, lokero.MaxPushSubscriptions)
	}
	if got := len(txPushSubscriptions(t, s, "shp_1")); got != lokero.MaxPushSubscriptions {
		t.Errorf("stored %d subscriptions; want %d", got, lokero.MaxPushSubscriptions)
	}
}

func testPushSubscriptionsInTx(t *testing.T, s Store) {
	ps := pushStore(t, s)
	// Added out of order; b and c created at the same time, c first in
	// byte order ("B" < "a"), b in a locale's.
	a, b, c := subscription("shp_1", 1), subscription("shp_1", 2), subscription("shp_1", 3)
	a.CreatedAt = t0.Add(time.Hour)
	b.ID, c.ID = "psub_a", "psub_B"
	b.CreatedAt, c.CreatedAt = t0, t0
	for _, p := range []lokero.PushSubscription{a, b, c, subscription("shp_2", 1)} {
		mustAddPush(t, ps, p)
	}
	list := txPushSubscriptions(t, s, "shp_1")
	want := []lokero.PushSubscription{storedPush(c), storedPush(b), storedPush(a)}
	if !reflect.DeepEqual(list, want) {
		t.Errorf("PushSubscriptions(shp_1):\n got %+v\nwant %+v", list, want)
	}
	if list := txPushSubscriptions(t, s, "shp_none"); len(list) != 0 {
		t.Errorf("PushSubscriptions of a parcel with none: %+v", list)
	}
}
