package storetest

// What the stores agree on about retailers' webhooks (lokero.WebhookStore
// and the Tx's WebhookSubscriptions and AddWebhookDelivery):
//
//   - A webhook and a delivery come back as stored: times in UTC to the
//     microsecond, zero times as zero, nil or empty Events as nil, the
//     payload byte for byte. An ID in use is an ECONFLICT "duplicate_id".
//   - CreateWebhook refuses a retailer's webhook beyond the most it is
//     given (ECONFLICT "too_many_webhooks"), disabled ones counted, other
//     retailers' not; concurrent creations together stay within it.
//   - WebhooksOf lists a retailer's webhooks oldest first (CreatedAt, then
//     ID in byte order), disabled ones too; Tx.WebhookSubscriptions only the
//     enabled ones' IDs and event types (nil: every one), in that order,
//     the same when the transaction read them with the events it stored.
//   - UpdateWebhook writes what a retailer changes (URL, Events,
//     ContactEmail, UpdatedAt, on or off) and returns the webhook after;
//     secrets, failure state, RetailerID and CreatedAt stay.
//     RotateWebhookSecret rotates only from the secret the caller read.
//   - WebhookResult: ok clears FailingSince; a failure sets it unless it is
//     set; UpdatedAt is left as it is.
//   - DisableWebhook disables once: of concurrent callers exactly one gets
//     true, and the first reason and time stand; it also sets UpdatedAt.
//   - DeleteWebhook fails its pending deliveries ("webhook deleted") and
//     leaves the others, and other webhooks' deliveries, as they were; the
//     deliveries stay readable.
//   - AddWebhookDelivery stores a pending delivery due at its CreatedAt
//     (the transaction's time when zero) and schedules exactly one
//     lokero.JobWebhook for it, at that time, in the same transaction.
//   - WebhookDeliveries lists newest first (CreatedAt, then ID, both
//     descending), by state, at most limit (100 when <= 0).
//   - RecordWebhookAttempt changes a pending delivery once: a delivery no
//     longer pending is an ECONFLICT "not_pending" and stays as it is; of
//     concurrent records of one try exactly one wins, whatever state it
//     leaves.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/sqlstore"
)

var webhookTests = []struct {
	name string
	fn   func(t *testing.T, s Store)
}{
	{"WebhookRoundTrip", testWebhookRoundTrip},
	{"CreateWebhookAtMost", testCreateWebhookAtMost},
	{"WebhooksOfAndFor", testWebhooksOfAndFor},
	{"SubscriptionsWithEvents", testSubscriptionsWithEvents},
	{"UpdateWebhook", testUpdateWebhook},
	{"AllWebhooksAndSwapSecrets", testAllWebhooksAndSwapSecrets},
	{"WebhookResult", testWebhookResult},
	{"DisableWebhook", testDisableWebhook},
	{"DisableWebhookOnce", testDisableWebhookOnce},
	{"DeleteWebhook", testDeleteWebhook},
	{"WebhookDeliveryScheduled", testWebhookDeliveryScheduled},
	{"WebhookDeliveryRollback", testWebhookDeliveryRollback},
	{"WebhookDeliveries", testWebhookDeliveries},
	{"RecordWebhookAttempt", testRecordWebhookAttempt},
	{"RecordWebhookAttemptOnce", testRecordWebhookAttemptOnce},
}

// webhookStore returns s as a lokero.WebhookStore, or fails t.
func webhookStore(t *testing.T, s Store) lokero.WebhookStore {
	t.Helper()
	ws, ok := s.(lokero.WebhookStore)
	if !ok {
		t.Fatalf("the store (%T) is no lokero.WebhookStore", s)
	}
	return ws
}

// webhook returns a webhook with every field but the failure and
// disabling ones set, times in another zone than UTC and finer than a
// microsecond.
func webhook(retailerID, id string) lokero.Webhook {
	return lokero.Webhook{
		ID:             id,
		RetailerID:     retailerID,
		URL:            "https://kauppa.example.fi/hooks/lokero?id=" + id,
		Events:         []string{"shipment.ready_for_pickup", "shipment.created"},
		Secret:         "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
		PreviousSecret: "whsec_b2xkIHNlY3JldCBvZiBsb2tlcm8=",
		PreviousUntil:  t0.Add(24*time.Hour + 999).In(helsinki),
		ContactEmail:   "kehitys@kauppa.example.fi",
		CreatedAt:      t0.Add(999).In(helsinki),
		UpdatedAt:      t0.Add(time.Minute).In(helsinki),
	}
}

// storedWebhook is w as a store gives it back.
func storedWebhook(w lokero.Webhook) lokero.Webhook {
	utc := func(t time.Time) time.Time {
		if t.IsZero() {
			return time.Time{}
		}
		return t.UTC().Truncate(time.Microsecond)
	}
	w.PreviousUntil, w.FailingSince, w.DisabledAt = utc(w.PreviousUntil), utc(w.FailingSince), utc(w.DisabledAt)
	w.CreatedAt, w.UpdatedAt = utc(w.CreatedAt), utc(w.UpdatedAt)
	if len(w.Events) == 0 {
		w.Events = nil
	}
	return w
}

// checkWebhook fails t unless got is want as stored, times in UTC.
func checkWebhook(t *testing.T, what string, got, want lokero.Webhook) {
	t.Helper()
	for _, tm := range []time.Time{got.PreviousUntil, got.FailingSince, got.DisabledAt, got.CreatedAt, got.UpdatedAt} {
		if !tm.IsZero() && tm.Location() != time.UTC {
			t.Errorf("%s: time %v not in UTC", what, tm)
		}
	}
	if want = storedWebhook(want); !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func mustCreateWebhook(t *testing.T, ws lokero.WebhookStore, w lokero.Webhook) {
	t.Helper()
	if err := ws.CreateWebhook(t.Context(), w, 100); err != nil {
		t.Fatalf("CreateWebhook(%s): %v", w.ID, err)
	}
}

func mustWebhook(t *testing.T, ws lokero.WebhookStore, id string) lokero.Webhook {
	t.Helper()
	w, err := ws.Webhook(t.Context(), id)
	if err != nil {
		t.Fatalf("Webhook(%s): %v", id, err)
	}
	return w
}

// delivery returns the i-th test delivery to a webhook.
func delivery(w lokero.Webhook, i int) lokero.WebhookDelivery {
	return lokero.WebhookDelivery{
		ID:         fmt.Sprintf("msg_%s_%03d", w.ID, i),
		WebhookID:  w.ID,
		RetailerID: w.RetailerID,
		ShipmentID: fmt.Sprintf("shp_%d", i),
		Event:      "shipment.ready_for_pickup",
		Sequence:   i + 1,
		// Not as a JSON encoder would write it: kept byte for byte.
		Payload:   fmt.Appendf(nil, "{\"type\":\"shipment.ready_for_pickup\",  \"b\":1,\"a\":\"Åbo \\u00e4 😀\",\"seq\":%d}\n", i+1),
		CreatedAt: t0.Add(time.Duration(i)*time.Second + 999).In(helsinki),
	}
}

// storedDelivery is d as AddWebhookDelivery stores it.
func storedDelivery(d lokero.WebhookDelivery) lokero.WebhookDelivery {
	d.CreatedAt = d.CreatedAt.UTC().Truncate(time.Microsecond)
	d.State, d.NextAttemptAt, d.DeliveredAt = lokero.WebhookPending, d.CreatedAt, time.Time{}
	return d
}

// addDeliveries adds deliveries in one transaction.
func addDeliveries(t *testing.T, s Store, ds ...lokero.WebhookDelivery) {
	t.Helper()
	mustInTx(t, s, func(tx lokero.Tx) error {
		for _, d := range ds {
			if err := tx.AddWebhookDelivery(t.Context(), d); err != nil {
				return err
			}
		}
		return nil
	})
}

func mustDelivery(t *testing.T, ws lokero.WebhookStore, id string) lokero.WebhookDelivery {
	t.Helper()
	d, err := ws.WebhookDelivery(t.Context(), id)
	if err != nil {
		t.Fatalf("WebhookDelivery(%s): %v", id, err)
	}
	return d
}

// checkDelivery fails t unless got is want, times in UTC.
func checkDelivery(t *testing.T, what string, got, want lokero.WebhookDelivery) {
	t.Helper()
	for _, tm := range []time.Time{got.NextAttemptAt, got.CreatedAt, got.DeliveredAt} {
		if !tm.IsZero() && tm.Location() != time.UTC {
			t.Errorf("%s: time %v not in UTC", what, tm)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v\n got payload %q\nwant payload %q", what, got, want, got.Payload, want.Payload)
	}
}

func testWebhookRoundTrip(t *testing.T, s Store) {
	ctx := t.Context()
	ws := webhookStore(t, s)
	full := webhook("r", "wh_full")
	full.FailingSince = t0.Add(2 * time.Hour).In(helsinki)
	full.DisabledAt, full.DisabledReason = t0.Add(3*time.Hour), "failing for 5 days"
	bare := lokero.Webhook{ID: "wh_bare", RetailerID: "r", URL: "https://example.com/h", Secret: "whsec_x",
		Events: []string{}, CreatedAt: t0, UpdatedAt: t0}
	for _, w := range []lokero.Webhook{full, bare} {
		mustCreateWebhook(t, ws, w)
		checkWebhook(t, "Webhook("+w.ID+")", mustWebhook(t, ws, w.ID), w)
	}
	if got := mustWebhook(t, ws, bare.ID); got.Events != nil || !got.PreviousUntil.IsZero() ||
		!got.FailingSince.IsZero() || !got.DisabledAt.IsZero() {
		t.Errorf("a bare webhook: %+v; want nil events, zero times", got)
	}
	dup := webhook("other", full.ID)
	wantCode(t, "CreateWebhook(duplicate ID)", ws.CreateWebhook(ctx, dup, 100), lokero.ECONFLICT, "duplicate_id")
	checkWebhook(t, "after a duplicate", mustWebhook(t, ws, full.ID), full)
	_, err := ws.Webhook(ctx, "wh_unknown")
	wantCode(t, "Webhook(unknown)", err, lokero.ENOTFOUND, "")
}

// testCreateWebhookAtMost: a retailer's webhooks stop at the most
// CreateWebhook is given, one at a time and all at once.
func testCreateWebhookAtMost(t *testing.T, s Store) {
	ctx := t.Context()
	ws := webhookStore(t, s)
	const most = 3
	off := webhook("r", "wh_off")
	off.DisabledAt, off.DisabledReason = t0, "manual"
	for _, w := range []lokero.Webhook{webhook("r", "wh_1"), off, webhook("r", "wh_2")} {
		if err := ws.CreateWebhook(ctx, w, most); err != nil {
			t.Fatalf("CreateWebhook(%s) within %d: %v", w.ID, most, err)
		}
	}
	wantCode(t, "CreateWebhook beyond the most (the disabled one counted)",
		ws.CreateWebhook(ctx, webhook("r", "wh_3"), most), lokero.ECONFLICT, "too_many_webhooks")
	if err := ws.CreateWebhook(ctx, webhook("other", "wh_4"), most); err != nil {
		t.Errorf("another retailer's first webhook: %v", err)
	}

	// All at once: exactly most of them get in.
	const tries = 12
	var wg sync.WaitGroup
	errs := make([]error, tries)
	for i := range tries {
		wg.Go(func() {
			errs[i] = ws.CreateWebhook(ctx, webhook("busy", fmt.Sprintf("wh_busy_%02d", i)), most)
		})
	}
	wg.Wait()
	created := 0
	for i, err := range errs {
		var e *lokero.Error
		switch {
		case err == nil:
			created++
		case errors.As(err, &e) && e.Code == lokero.ECONFLICT && e.Reason == "too_many_webhooks":
		default:
			t.Errorf("creation %d: %v; want nil or too_many_webhooks", i, err)
		}
	}
	list, err := ws.WebhooksOf(ctx, "busy")
	if err != nil {
		t.Fatal(err)
	}
	if created != most || len(list) != most {
		t.Errorf("%d creations at once within %d: %d succeeded, %d stored; want %d", tries, most, created, len(list), most)
	}
}

// testAllWebhooksAndSwapSecrets lists every retailer's webhooks, and
// swaps a webhook's secrets only while they are what the caller read.
func testAllWebhooksAndSwapSecrets(t *testing.T, s Store) {
	ctx := t.Context()
	ws := webhookStore(t, s)
	if list, err := ws.AllWebhooks(ctx); err != nil || len(list) != 0 {
		t.Errorf("AllWebhooks of none = %v, %v", list, err)
	}
	a, b, c := webhook("r1", "wh_a"), webhook("r2", "wh_B"), webhook("r1", "wh_1")
	c.DisabledAt, c.DisabledReason = t0, "manual"
	for _, w := range []lokero.Webhook{a, b, c} {
		mustCreateWebhook(t, ws, w)
	}
	all, err := ws.AllWebhooks(ctx)
	if err != nil || len(all) != 3 {
		t.Fatalf("AllWebhooks = %v, %v; want 3", all, err)
	}
	for i, want := range []lokero.Webhook{c, b, a} { // by ID in byte order
		checkWebhook(t, fmt.Sprintf("AllWebhooks[%d]", i), all[i], want)
	}

	ok, err := ws.SwapWebhookSecrets(ctx, a.ID, a.Secret, a.PreviousSecret, "sealed:new", "sealed:old")
	if err != nil || !ok {
		t.Fatalf("SwapWebhookSecrets = %v, %v; want swapped", ok, err)
	}
	want := a
	want.Secret, want.PreviousSecret = "sealed:new", "sealed:old"
	checkWebhook(t, "after the swap", mustWebhook(t, ws, a.ID), want)
	// Read before the swap: changed meanwhile, so nothing is written.
	for _, was := range [][2]string{{a.Secret, a.PreviousSecret}, {"sealed:new", a.PreviousSecret}, {a.Secret, "sealed:old"}} {
		if ok, err := ws.SwapWebhookSecrets(ctx, a.ID, was[0], was[1], "x", "y"); err != nil || ok {
			t.Errorf("SwapWebhookSecrets from %v = %v, %v; want not swapped", was, ok, err)
		}
	}
	checkWebhook(t, "after the refused swaps", mustWebhook(t, ws, a.ID), want)
	checkWebhook(t, "the other retailer's", mustWebhook(t, ws, b.ID), b)
	if _, err := ws.SwapWebhookSecrets(ctx, "wh_none", "", "", "x", "y"); lokero.ErrorCode(err) != lokero.ENOTFOUND {
		t.Errorf("SwapWebhookSecrets of no webhook: %v; want ENOTFOUND", err)
	}
}

func testWebhooksOfAndFor(t *testing.T, s Store) {
	ctx := t.Context()
	ws := webhookStore(t, s)
	// Created out of order; b and c at the same time, c first in byte
	// order ("wh_B" < "wh_a"), b in a locale's; d disabled.
	a, b, c, d := webhook("r1", "wh_1"), webhook("r1", "wh_a"), webhook("r1", "wh_B"), webhook("r1", "wh_0")
	a.CreatedAt = t0.Add(time.Hour)
	b.CreatedAt, c.CreatedAt = t0, t0
	d.CreatedAt, d.DisabledAt, d.DisabledReason = t0.Add(30*time.Minute), t0.Add(time.Hour), "manual"
	for _, w := range []lokero.Webhook{a, b, c, d, webhook("r2", "wh_2")} {
		mustCreateWebhook(t, ws, w)
	}
	whIDs := func(list []lokero.Webhook) []string {
		out := []string{}
		for _, w := range list {
			out = append(out, w.ID)
		}
		return out
	}
	all, err := ws.WebhooksOf(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := whIDs(all), []string{"wh_B", "wh_a", "wh_0", "wh_1"}; !reflect.DeepEqual(got, want) {
		t.Errorf("WebhooksOf(r1) = %v; want %v", got, want)
	} else {
		checkWebhook(t, "WebhooksOf(r1)[2]", all[2], d)
	}
	if list, err := ws.WebhooksOf(ctx, "r-none"); err != nil || len(list) != 0 {
		t.Errorf("WebhooksOf(a retailer with none) = %v, %v", list, err)
	}
	mustInTx(t, s, func(tx lokero.Tx) error {
		enabled, err := tx.WebhookSubscriptions(ctx, "r1")
		if err != nil {
			return err
		}
		want := []lokero.WebhookSubscription{{ID: c.ID, Events: c.Events}, {ID: b.ID, Events: b.Events}, {ID: a.ID, Events: a.Events}}
		if !reflect.DeepEqual(enabled, want) {
			t.Errorf("WebhookSubscriptions(r1) = %v; want %v", enabled, want)
		}
		if list, err := tx.WebhookSubscriptions(ctx, "r-none"); err != nil || len(list) != 0 {
			t.Errorf("WebhookSubscriptions(a retailer with none) = %v, %v", list, err)
		}
		return nil
	})
}

func testUpdateWebhook(t *testing.T, s Store) {
	ctx := t.Context()
	ws := webhookStore(t, s)
	orig := webhook("r", "wh_1")
	orig.FailingSince = t0.Add(2 * time.Hour)
	mustCreateWebhook(t, ws, orig)
	mustCreateWebhook(t, ws, webhook("r", "wh_2"))
	update := func(w lokero.Webhook, enabled *bool, want lokero.Webhook, what string) {
		t.Helper()
		got, err := ws.UpdateWebhook(ctx, w, enabled)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		checkWebhook(t, what+" (returned)", got, want)
		checkWebhook(t, what+" (read back)", mustWebhook(t, ws, w.ID), want)
	}

	// What the retailer changes is written; the secrets and the failure
	// state are not (a rotation meanwhile stands), nor RetailerID and
	// CreatedAt.
	w := orig
	w.URL = "https://uusi.example.fi/h"
	w.Events = []string{"shipment.picked_up"}
	w.ContactEmail = "ops@example.fi"
	w.UpdatedAt = t0.Add(7 * time.Hour)
	want := w
	w.Secret, w.PreviousSecret, w.PreviousUntil = "whsec_stale", "", time.Time{}
	w.FailingSince, w.DisabledAt, w.DisabledReason = time.Time{}, t0.Add(6*time.Hour), "stale"
	w.RetailerID, w.CreatedAt = "other", t0.Add(100*time.Hour)
	update(w, nil, want, "UpdateWebhook")
	checkWebhook(t, "the other webhook", mustWebhook(t, ws, "wh_2"), webhook("r", "wh_2"))

	// Off: DisabledAt is the update's time, with the reason given; off
	// again keeps the first time and reason.
	off, on := false, true
	w = want
	w.Events, w.UpdatedAt, w.DisabledReason = nil, t0.Add(8*time.Hour), "disabled by the retailer"
	want.Events, want.UpdatedAt = nil, w.UpdatedAt
	want.DisabledAt, want.DisabledReason = w.UpdatedAt, "disabled by the retailer"
	update(w, &off, want, "UpdateWebhook off")
	w.UpdatedAt, w.DisabledReason = t0.Add(9*time.Hour), "again"
	want.UpdatedAt = w.UpdatedAt
	update(w, &off, want, "UpdateWebhook off again")
	// On: DisabledAt, DisabledReason and FailingSince cleared.
	w.UpdatedAt = t0.Add(10 * time.Hour)
	want.UpdatedAt, want.DisabledAt, want.DisabledReason, want.FailingSince = w.UpdatedAt, time.Time{}, "", time.Time{}
	update(w, &on, want, "UpdateWebhook on")

	unknown := webhook("r", "wh_unknown")
	_, err := ws.UpdateWebhook(ctx, unknown, nil)
	wantCode(t, "UpdateWebhook(unknown)", err, lokero.ENOTFOUND, "")
	if _, err := ws.Webhook(ctx, unknown.ID); err == nil {
		t.Error("UpdateWebhook of an unknown webhook created it")
	}

	// RotateWebhookSecret: only from the secret read.
	want = mustWebhook(t, ws, orig.ID)
	until, at := t0.Add(48*time.Hour), t0.Add(11*time.Hour)
	if ok, err := ws.RotateWebhookSecret(ctx, orig.ID, "whsec_stale", "whsec_lost", until, at); err != nil || ok {
		t.Errorf("RotateWebhookSecret from a secret it no longer has = %v, %v; want not rotated", ok, err)
	}
	checkWebhook(t, "after a rotation from a stale secret", mustWebhook(t, ws, orig.ID), want)
	if ok, err := ws.RotateWebhookSecret(ctx, orig.ID, want.Secret, "whsec_new", until, at); err != nil || !ok {
		t.Fatalf("RotateWebhookSecret = %v, %v; want rotated", ok, err)
	}
	want.PreviousSecret, want.Secret, want.PreviousUntil, want.UpdatedAt = want.Secret, "whsec_new", until, at
	checkWebhook(t, "after RotateWebhookSecret", mustWebhook(t, ws, orig.ID), want)
	if _, err := ws.RotateWebhookSecret(ctx, "wh_none", "", "x", until, at); lokero.ErrorCode(err) != lokero.ENOTFOUND {
		t.Errorf("RotateWebhookSecret of no webhook: %v; want ENOTFOUND", err)
	}
}

func testWebhookResult(t *testing.T, s Store) {
	ctx := t.Context()
	ws := webhookStore(t, s)
	w := webhook("r", "wh_1")
	mustCreateWebhook(t, ws, w)
	at1, at2, at3 := t0.Add(time.Hour).In(helsinki), t0.Add(2*time.Hour), t0.Add(3*time.Hour)
	for i, tt := range []struct {
		ok      bool
		at      time.Time
		failing time.Time
	}{
		{true, at1, time.Time{}}, // already answering: stays so
		{false, at1, at1},        // the first failure
		{false, at2, at1},        // the first one stays
		{true, at3, time.Time{}}, // a success clears it
		{false, at3, at3},        // failing again from then
	} {
		got, err := ws.WebhookResult(ctx, w.ID, tt.ok, tt.at)
		if err != nil {
			t.Fatalf("result %d: %v", i, err)
		}
		want := w
		want.FailingSince = tt.failing
		checkWebhook(t, fmt.Sprintf("WebhookResult %d (ok %v)", i, tt.ok), got, want)
		checkWebhook(t, fmt.Sprintf("Webhook after result %d", i), mustWebhook(t, ws, w.ID), want)
	}
	_, err := ws.WebhookResult(ctx, "wh_unknown", false, at1)
	wantCode(t, "WebhookResult(unknown)", err, lokero.ENOTFOUND, "")
}

func testDisableWebhook(t *testing.T, s Store) {
	ctx := t.Context()
	ws := webhookStore(t, s)
	w := webhook("r", "wh_1")
	mustCreateWebhook(t, ws, w)
	at := t0.Add(time.Hour).In(helsinki)
	if ok, err := ws.DisableWebhook(ctx, w.ID, "failing for 5 days", at); err != nil || !ok {
		t.Fatalf("DisableWebhook = %v, %v; want true", ok, err)
	}
	want := w
	want.DisabledAt, want.DisabledReason, want.UpdatedAt = at, "failing for 5 days", at
	checkWebhook(t, "after DisableWebhook", mustWebhook(t, ws, w.ID), want)
	if ok, err := ws.DisableWebhook(ctx, w.ID, "again", at.Add(time.Hour)); err != nil || ok {
		t.Errorf("DisableWebhook of a disabled webhook = %v, %v; want false", ok, err)
	}
	checkWebhook(t, "after a second DisableWebhook", mustWebhook(t, ws, w.ID), want)
	mustInTx(t, s, func(tx lokero.Tx) error {
		if list, err := tx.WebhookSubscriptions(ctx, "r"); err != nil || len(list) != 0 {
			t.Errorf("WebhookSubscriptions after DisableWebhook = %+v, %v; want none", list, err)
		}
		return nil
	})
	_, err := ws.DisableWebhook(ctx, "wh_unknown", "x", at)
	wantCode(t, "DisableWebhook(unknown)", err, lokero.ENOTFOUND, "")
}

// testDisableWebhookOnce disables one webhook from several goroutines at
// once: exactly one does, and its reason stands.
func testDisableWebhookOnce(t *testing.T, s Store) {
	ctx := t.Context()
	ws := webhookStore(t, s)
	mustCreateWebhook(t, ws, webhook("r", "wh_1"))
	const workers = 8
	oks := make([]bool, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			oks[w], errs[w] = ws.DisableWebhook(ctx, "wh_1", fmt.Sprintf("worker-%d", w), t0.Add(time.Duration(w)*time.Second))
		})
	}
	wg.Wait()
	won := -1
	for w := range workers {
		switch {
		case errs[w] != nil:
			t.Errorf("worker %d: %v", w, errs[w])
		case oks[w] && won >= 0:
			t.Errorf("workers %d and %d both disabled the webhook", won, w)
		case oks[w]:
			won = w
		}
	}
	if won < 0 {
		t.Fatal("no worker disabled the webhook")
	}
	got := mustWebhook(t, ws, "wh_1")
	if got.DisabledReason != fmt.Sprintf("worker-%d", won) || !got.DisabledAt.Equal(t0.Add(time.Duration(won)*time.Second)) {
		t.Errorf("webhook after the race: %+v; want worker-%d's", got, won)
	}
}

func testDeleteWebhook(t *testing.T, s Store) {
	ctx := t.Context()
	ws := webhookStore(t, s)
	w, other := webhook("r", "wh_1"), webhook("r", "wh_2")
	mustCreateWebhook(t, ws, w)
	mustCreateWebhook(t, ws, other)
	pending, succeeded, failed, pendingElsewhere := delivery(w, 1), delivery(w, 2), delivery(w, 3), delivery(other, 4)
	addDeliveries(t, s, pending, succeeded, failed, pendingElsewhere)
	at := t0.Add(time.Hour)
	for _, d := range []lokero.WebhookDelivery{succeeded, failed} {
		d.Attempts, d.ResponseCode = 1, 200
		d.State = lokero.WebhookSucceeded
		if d.ID == failed.ID {
			d.State, d.ResponseCode, d.LastError = lokero.WebhookFailed, 410, "410 Gone"
		}
		if err := ws.RecordWebhookAttempt(ctx, d, at); err != nil {
			t.Fatal(err)
		}
	}
	before := map[string]lokero.WebhookDelivery{}
	for _, d := range []lokero.WebhookDelivery{pending, succeeded, failed, pendingElsewhere} {
		before[d.ID] = mustDelivery(t, ws, d.ID)
	}

	if err := ws.DeleteWebhook(ctx, w.ID, at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	_, err := ws.Webhook(ctx, w.ID)
	wantCode(t, "Webhook(deleted)", err, lokero.ENOTFOUND, "")
	if list, err := ws.WebhooksOf(ctx, "r"); err != nil || len(list) != 1 || list[0].ID != other.ID {
		t.Errorf("WebhooksOf after a delete = %+v, %v; want %s alone", list, err, other.ID)
	}
	want := before[pending.ID]
	want.State, want.LastError, want.NextAttemptAt = lokero.WebhookFailed, "webhook deleted", time.Time{}
	checkDelivery(t, "a pending delivery of the deleted webhook", mustDelivery(t, ws, pending.ID), want)
	for _, id := range []string{succeeded.ID, failed.ID, pendingElsewhere.ID} {
		checkDelivery(t, "delivery "+id+" after the delete", mustDelivery(t, ws, id), before[id])
	}
	// Its deliveries stay listed.
	if list, err := ws.WebhookDeliveries(ctx, w.ID, "", 0); err != nil || len(list) != 3 {
		t.Errorf("WebhookDeliveries of a deleted webhook: %d, %v; want 3", len(list), err)
	}
	wantCode(t, "DeleteWebhook(deleted)", ws.DeleteWebhook(ctx, w.ID, at), lokero.ENOTFOUND, "")
	wantCode(t, "DeleteWebhook(unknown)", ws.DeleteWebhook(ctx, "wh_unknown", at), lokero.ENOTFOUND, "")
}

// txCheckingQueue is a job queue that, as it inserts a JobWebhook, reads
// the job's delivery through the transaction it was given: a delivery
// written in another transaction, or not yet, is not found.
type txCheckingQueue struct {
	mu   sync.Mutex
	jobs []lokero.Job
	errs []error
}

// InsertTx implements sqlstore.JobQueue.
func (q *txCheckingQueue) InsertTx(ctx context.Context, tx *sql.Tx, j lokero.Job) error {
	var state string
	err := tx.QueryRowContext(ctx, `SELECT state FROM webhook_deliveries WHERE id = $1`, j.DeliveryID).Scan(&state)
	q.mu.Lock()
	defer q.mu.Unlock()
	q.jobs = append(q.jobs, j)
	if err != nil {
		q.errs = append(q.errs, fmt.Errorf("job %+v: its delivery in the job's transaction: %w", j, err))
	} else if state != lokero.WebhookPending {
		q.errs = append(q.errs, fmt.Errorf("job %+v: its delivery is %s", j, state))
	}
	return nil
}

func testWebhookDeliveryScheduled(t *testing.T, s Store) {
	ctx := t.Context()
	setter, ok := s.(interface{ SetJobQueue(sqlstore.JobQueue) })
	if !ok {
		t.Fatalf("the store (%T) takes no job queue (SetJobQueue)", s)
	}
	q := &txCheckingQueue{}
	setter.SetJobQueue(q)
	ws := webhookStore(t, s)
	w := webhook("r", "wh_1")
	mustCreateWebhook(t, ws, w)
	given, now := delivery(w, 1), delivery(w, 2)
	now.CreatedAt = time.Time{}
	var txNow time.Time
	mustInTx(t, s, func(tx lokero.Tx) error {
		txNow = tx.Now()
		if err := tx.AddWebhookDelivery(ctx, given); err != nil {
			return err
		}
		return tx.AddWebhookDelivery(ctx, now)
	})
	if len(q.errs) > 0 {
		t.Error(errors.Join(q.errs...))
	}
	want := []lokero.Job{
		{Kind: lokero.JobWebhook, DeliveryID: given.ID, At: given.CreatedAt},
		{Kind: lokero.JobWebhook, DeliveryID: now.ID, At: txNow},
	}
	if len(q.jobs) != len(want) {
		t.Fatalf("jobs scheduled for 2 deliveries: %+v", q.jobs)
	}
	for i, j := range q.jobs {
		if j.Kind != want[i].Kind || j.DeliveryID != want[i].DeliveryID || !j.At.Equal(want[i].At) ||
			j.ShipmentID != "" || j.MessageID != 0 {
			t.Errorf("job %d: %+v; want %+v", i, j, want[i])
		}
	}
	checkDelivery(t, "a delivery", mustDelivery(t, ws, given.ID), storedDelivery(given))
	now.CreatedAt = txNow
	checkDelivery(t, "a delivery created now", mustDelivery(t, ws, now.ID), storedDelivery(now))
	_, err := ws.WebhookDelivery(ctx, "msg_unknown")
	wantCode(t, "WebhookDelivery(unknown)", err, lokero.ENOTFOUND, "")

	// A duplicate ID is refused; the transaction goes on, and what else it
	// wrote commits with one job more.
	third := delivery(w, 3)
	mustInTx(t, s, func(tx lokero.Tx) error {
		dup := delivery(w, 9)
		dup.ID = given.ID
		wantCode(t, "AddWebhookDelivery(duplicate ID)", tx.AddWebhookDelivery(ctx, dup), lokero.ECONFLICT, "duplicate_id")
		return tx.AddWebhookDelivery(ctx, third)
	})
	checkDelivery(t, "the delivery after a refused one", mustDelivery(t, ws, third.ID), storedDelivery(third))
	checkDelivery(t, "the delivery whose ID was reused", mustDelivery(t, ws, given.ID), storedDelivery(given))
	if len(q.jobs) != 3 || q.jobs[2].DeliveryID != third.ID {
		t.Errorf("jobs after a refused delivery: %+v; want one more, of %s", q.jobs, third.ID)
	}
}

func testWebhookDeliveryRollback(t *testing.T, s Store) {
	ctx := t.Context()
	ws := webhookStore(t, s)
	w := webhook("r", "wh_1")
	mustCreateWebhook(t, ws, w)
	d := delivery(w, 1)
	errFail := errors.New("use case failed")
	err := s.InTx(ctx, func(tx lokero.Tx) error {
		if err := tx.AddWebhookDelivery(ctx, d); err != nil {
			return err
		}
		return errFail
	})
	if !errors.Is(err, errFail) {
		t.Fatalf("InTx = %v; want fn's error", err)
	}
	_, err = ws.WebhookDelivery(ctx, d.ID)
	wantCode(t, "WebhookDelivery(rolled back)", err, lokero.ENOTFOUND, "")
	if list, err := ws.WebhookDeliveries(ctx, w.ID, "", 0); err != nil || len(list) != 0 {
		t.Errorf("WebhookDeliveries after a rollback = %+v, %v", list, err)
	}
	addDeliveries(t, s, d) // its ID is free
	checkDelivery(t, "the delivery added again", mustDelivery(t, ws, d.ID), storedDelivery(d))
}

func testWebhookDeliveries(t *testing.T, s Store) {
	ctx := t.Context()
	ws := webhookStore(t, s)
	w, other := webhook("r", "wh_1"), webhook("r", "wh_2")
	var ds []lokero.WebhookDelivery
	for i := range 6 {
		ds = append(ds, delivery(w, i))
	}
	// 4 and 5 at the same time: 5 is newer by ID.
	ds[4].CreatedAt = ds[5].CreatedAt
	// Added out of order.
	addDeliveries(t, s, ds[3], ds[0], ds[5], ds[1], ds[4], ds[2], delivery(other, 0))
	// 1 and 3 succeeded, 2 failed, the rest pending.
	for i, state := range map[int]string{1: lokero.WebhookSucceeded, 3: lokero.WebhookSucceeded, 2: lokero.WebhookFailed} {
		d := ds[i]
		d.State, d.Attempts = state, 1
		if err := ws.RecordWebhookAttempt(ctx, d, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		state string
		limit int
		want  []int
	}{
		{"", 0, []int{5, 4, 3, 2, 1, 0}},
		{"", 2, []int{5, 4}},
		{lokero.WebhookPending, 0, []int{5, 4, 0}},
		{lokero.WebhookSucceeded, 0, []int{3, 1}},
		{lokero.WebhookSucceeded, 1, []int{3}},
		{lokero.WebhookFailed, -1, []int{2}},
	} {
		list, err := ws.WebhookDeliveries(ctx, w.ID, tt.state, tt.limit)
		if err != nil {
			t.Fatalf("WebhookDeliveries(%q, %d): %v", tt.state, tt.limit, err)
		}
		var want []string
		for _, i := range tt.want {
			want = append(want, ds[i].ID)
		}
		var got []string
		for _, d := range list {
			got = append(got, d.ID)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("WebhookDeliveries(%q, %d) = %v; want %v", tt.state, tt.limit, got, want)
		}
	}
	list, err := ws.WebhookDeliveries(ctx, w.ID, lokero.WebhookPending, 1)
	if err != nil || len(list) != 1 {
		t.Fatal(list, err)
	}
	checkDelivery(t, "a listed delivery", list[0], storedDelivery(ds[5]))
	if list, err := ws.WebhookDeliveries(ctx, "wh_none", "", 0); err != nil || len(list) != 0 {
		t.Errorf("WebhookDeliveries of a webhook with none = %v, %v", list, err)
	}
	// The default limit is 100.
	var many []lokero.WebhookDelivery
	for i := range 101 {
		many = append(many, delivery(w, 100+i))
	}
	addDeliveries(t, s, many...)
	if list, err := ws.WebhookDeliveries(ctx, w.ID, "", 0); err != nil || len(list) != 100 || list[0].ID != many[100].ID {
		t.Errorf("WebhookDeliveries of 107: %d, %v; want the newest 100", len(list), err)
	}
}

func testRecordWebhookAttempt(t *testing.T, s Store) {
	ctx := t.Context()
	ws := webhookStore(t, s)
	w := webhook("r", "wh_1")
	d, f := delivery(w, 1), delivery(w, 2)
	addDeliveries(t, s, d, f)
	want := storedDelivery(d)

	// A failed try, to be retried.
	retry := want
	retry.Attempts, retry.ResponseCode, retry.LastError = 1, 503, "503 Service Unavailable"
	retry.NextAttemptAt = t0.Add(5 * time.Minute).In(helsinki)
	if err := ws.RecordWebhookAttempt(ctx, retry, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	want.Attempts, want.ResponseCode, want.LastError = 1, 503, "503 Service Unavailable"
	want.NextAttemptAt = t0.Add(5 * time.Minute)
	checkDelivery(t, "after a retried try", mustDelivery(t, ws, d.ID), want)

	// Then it succeeds: no next attempt; delivered at the time given.
	ok := want
	ok.State, ok.Attempts, ok.ResponseCode, ok.LastError = lokero.WebhookSucceeded, 2, 204, ""
	ok.NextAttemptAt = t0.Add(time.Hour) // ignored: not pending
	at := t0.Add(6 * time.Minute).In(helsinki)
	if err := ws.RecordWebhookAttempt(ctx, ok, at); err != nil {
		t.Fatal(err)
	}
	want.State, want.Attempts, want.ResponseCode, want.LastError = lokero.WebhookSucceeded, 2, 204, ""
	want.NextAttemptAt, want.DeliveredAt = time.Time{}, at.UTC()
	checkDelivery(t, "after a successful try", mustDelivery(t, ws, d.ID), want)

	// A delivery no longer pending is left as it is.
	late := want
	late.State, late.Attempts, late.LastError = lokero.WebhookFailed, 3, "late"
	wantCode(t, "RecordWebhookAttempt(succeeded)", ws.RecordWebhookAttempt(ctx, late, at), lokero.ECONFLICT, "not_pending")
	checkDelivery(t, "after a late try", mustDelivery(t, ws, d.ID), want)

	// Giving up.
	gaveUp := storedDelivery(f)
	gaveUp.State, gaveUp.Attempts, gaveUp.LastError = lokero.WebhookFailed, 8, "dial tcp: connection refused"
	if err := ws.RecordWebhookAttempt(ctx, gaveUp, at); err != nil {
		t.Fatal(err)
	}
	gaveUp.NextAttemptAt = time.Time{}
	checkDelivery(t, "after giving up", mustDelivery(t, ws, f.ID), gaveUp)
	again := gaveUp
	again.State = lokero.WebhookPending
	wantCode(t, "RecordWebhookAttempt(failed)", ws.RecordWebhookAttempt(ctx, again, at), lokero.ECONFLICT, "not_pending")

	unknown := storedDelivery(delivery(w, 9))
	wantCode(t, "RecordWebhookAttempt(unknown)", ws.RecordWebhookAttempt(ctx, unknown, at), lokero.ENOTFOUND, "")
	for i, state := range []string{"", "delivered", "PENDING"} {
		bad := storedDelivery(delivery(w, 10+i))
		addDeliveries(t, s, bad)
		bad.State = state
		wantCode(t, "RecordWebhookAttempt to "+state, ws.RecordWebhookAttempt(ctx, bad, at), lokero.EINVALID, "")
		if got := mustDelivery(t, ws, bad.ID); got.State != lokero.WebhookPending || got.Attempts != 0 {
			t.Errorf("a refused RecordWebhookAttempt changed the delivery: %+v", got)
		}
	}
}

// testRecordWebhookAttemptOnce records one try of a delivery from several
// goroutines at once: exactly one succeeds, and its record stands —
// whether the try leaves the delivery succeeded or pending for a retry.
func testRecordWebhookAttemptOnce(t *testing.T, s Store) {
	ctx := t.Context()
	ws := webhookStore(t, s)
	w := webhook("r", "wh_1")
	for n, state := range []string{lokero.WebhookSucceeded, lokero.WebhookPending} {
		d := delivery(w, n+1)
		addDeliveries(t, s, d)
		const workers = 8
		errs := make([]error, workers)
		var wg sync.WaitGroup
		for i := range workers {
			wg.Go(func() {
				try := storedDelivery(d)
				try.State, try.Attempts, try.ResponseCode = state, 1, 200+i
				if state == lokero.WebhookPending {
					try.NextAttemptAt = t0.Add(time.Minute)
				}
				errs[i] = ws.RecordWebhookAttempt(ctx, try, t0)
			})
		}
		wg.Wait()
		won := -1
		for i, err := range errs {
			switch {
			case err == nil && won >= 0:
				t.Errorf("%s: workers %d and %d both recorded the try", state, won, i)
			case err == nil:
				won = i
			default:
				wantCode(t, fmt.Sprintf("%s: worker %d", state, i), err, lokero.ECONFLICT, "not_pending")
			}
		}
		if won < 0 {
			t.Fatalf("%s: no worker recorded the try", state)
		}
		if got := mustDelivery(t, ws, d.ID); got.ResponseCode != 200+won || got.Attempts != 1 || got.State != state {
			t.Errorf("%s: delivery after the race: %+v; want worker %d's record", state, got, won)
		}
	}
}

// testSubscriptionsWithEvents: the event hook, called in the transaction
// that stored a shipment's events, finds the retailer's subscriptions as
// a transaction that stored none does (the store may read them with the
// events), for an insert of one event or five and for an update; and a
// retailer without webhooks has none.
func testSubscriptionsWithEvents(t *testing.T, s Store) {
	ctx := t.Context()
	ws := webhookStore(t, s)
	every := webhook("r", "wh_every")
	every.Events, every.CreatedAt = nil, t0.Add(time.Minute)
	off := webhook("r", "wh_off")
	off.DisabledAt, off.DisabledReason = t0, "manual"
	for _, w := range []lokero.Webhook{webhook("r", "wh_some"), every, off, webhook("other", "wh_other")} {
		mustCreateWebhook(t, ws, w)
	}
	want := []lokero.WebhookSubscription{{ID: "wh_some", Events: webhook("r", "").Events}, {ID: "wh_every"}}
	var seen [][]lokero.WebhookSubscription
	setEventHook(t, s, func(ctx context.Context, tx lokero.Tx, sh *lokero.Shipment, first int) error {
		subs, err := tx.WebhookSubscriptions(ctx, sh.RetailerID)
		seen = append(seen, subs)
		return err
	})
	mustRetailer(t, s, "r")
	mustRetailer(t, s, "quiet")
	mustInsert(t, s, shipment("r", "s1"), fullShipment("r", "s2"))
	if err := updateEvents(t, s, "s1", func(sh *lokero.Shipment) {
		sh.Status = lokero.StatusInTransit
		sh.Events = append(sh.Events, lokero.ShipmentEvent{Status: lokero.StatusInTransit, At: t0.Add(time.Hour)})
	}); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 3 {
		t.Fatalf("the hook was called %d times; want 3", len(seen))
	}
	for i, got := range seen {
		if !reflect.DeepEqual(got, want) {
			t.Errorf("call %d: WebhookSubscriptions(r) = %+v; want %+v", i+1, got, want)
		}
	}
	mustInTx(t, s, func(tx lokero.Tx) error {
		if got, err := tx.WebhookSubscriptions(ctx, "r"); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("in a transaction that stored no events: WebhookSubscriptions(r) = %+v, %v; want %+v", got, err, want)
		}
		return nil
	})
	seen = nil
	mustInsert(t, s, shipment("quiet", "s3"))
	if len(seen) != 1 || len(seen[0]) != 0 {
		t.Errorf("a retailer without webhooks: the hook saw %+v; want one call with none", seen)
	}
}
