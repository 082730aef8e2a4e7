package service_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/jobs"
	"github.com/lokero/lokero/locker"
	"github.com/lokero/lokero/notify"
	"github.com/lokero/lokero/notify/webhook"
	"github.com/lokero/lokero/service"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// testPoster sends webhooks with the Standard Webhooks client, as lokero
// serve does (cmd/lokero's webhookPoster).
type testPoster struct{ client *webhook.Client }

func (p testPoster) Post(ctx context.Context, url, id string, at time.Time, payload []byte, secrets []string) (int, error) {
	return p.client.Send(ctx, webhook.Request{ID: id, Timestamp: at, Payload: payload, Secrets: secrets, URL: url})
}

// withWebhooks gives the fixture's store the webhooks' event hook, with a
// real client allowed to reach the test's receivers on loopback.
func withWebhooks(t *testing.T, f lockersFixture) *service.Webhooks {
	t.Helper()
	poster := testPoster{webhook.New(webhook.Options{AllowPrivate: true, Timeout: 10 * time.Second})}
	hooks := service.NewWebhooks(f.store, f.clock, nil, poster, webhook.NextRetry, nil, slog.New(slog.DiscardHandler))
	hooks.SealSecrets(testSealer(t, locker.Key{Secret: []byte(strings.Repeat("s", 32))}))
	setter, ok := f.store.(interface{ SetEventHook(lokero.EventHook) })
	if !ok {
		t.Fatalf("the store (%T) takes no event hook", f.store)
	}
	setter.SetEventHook(hooks.Publish)
	return hooks
}

// testSealer is a keyring of keys, newest first, sealing as lokero serve
// seals the webhooks' secrets.
func testSealer(t *testing.T, keys ...locker.Key) *locker.Codes {
	t.Helper()
	c, err := locker.NewKeyring(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A webhook's secret is kept sealed: the store never holds it as the
// retailer was told it, the deliveries are signed with it all the same,
// and a secret kept in clear before sealing began, or sealed under a key
// rotated since, is sealed under the newest key by Reseal, which leaves a
// secret rotated meanwhile as the rotation wrote it.
func TestWebhookSecretsSealed(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		hooks := withWebhooks(t, f)
		recv := newHookReceiver(t)
		w, err := hooks.Create(ctx, f.retailer.ID, service.WebhookRequest{URL: recv.URL})
		if err != nil {
			t.Fatal(err)
		}
		stored := storedHook(t, f, w.ID)
		if gen, ok := locker.SealedUnder(stored.Secret); !ok || gen != 0 || strings.Contains(stored.Secret, strings.TrimPrefix(w.Secret, "whsec_")) {
			t.Fatalf("stored secret %q (told %q); want it sealed under generation 0", stored.Secret, w.Secret)
		}
		recv.set(w.Secret, 0)
		f.bookHooked(t)
		d := deliveries(t, hooks, f.retailer.ID, w.ID)[0]
		if err := hooks.DeliverWebhook(ctx, d.ID, 1); err != nil {
			t.Fatal(err)
		}
		if reqs := recv.requests(); len(reqs) != 1 || !verifies(t, reqs[0], w.Secret) {
			t.Fatalf("%d requests; want one signed with the secret told", len(reqs))
		}
		rotated, err := hooks.RotateSecret(ctx, f.retailer.ID, w.ID, time.Hour)
		if err != nil || rotated.PreviousSecret != w.Secret {
			t.Fatalf("rotated: %v, previous %q; want the old secret %q as told", err, rotated.PreviousSecret, w.Secret)
		}
		stored = storedHook(t, f, w.ID)
		for _, v := range []string{stored.Secret, stored.PreviousSecret} {
			if _, ok := locker.SealedUnder(v); !ok {
				t.Errorf("after the rotation the store holds %q; want every secret sealed", v)
			}
		}

		// A key added to the secret (lokero secret rotate), and one webhook
		// kept in clear from before sealing began.
		newer := locker.Key{Generation: 1, Secret: []byte(strings.Repeat("n", 32))}
		ring := testSealer(t, newer, locker.Key{Secret: []byte(strings.Repeat("s", 32))})
		plain, err := hooks.Create(ctx, f.retailer.ID, service.WebhookRequest{URL: recv.URL + "?plain"})
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := f.store.SwapWebhookSecrets(ctx, plain.ID, storedHook(t, f, plain.ID).Secret, "", plain.Secret, ""); !ok || err != nil {
			t.Fatalf("keep %s in clear: %v, %v", plain.ID, ok, err)
		}
		hooks.SealSecrets(ring)
		n, err := hooks.Reseal(ctx)
		if err != nil || n != 2 {
			t.Fatalf("Reseal = %d, %v; want both webhooks sealed again", n, err)
		}
		for _, id := range []string{w.ID, plain.ID} {
			got := storedHook(t, f, id)
			for _, v := range []string{got.Secret, got.PreviousSecret} {
				if gen, ok := locker.SealedUnder(v); v != "" && (!ok || gen != 1) {
					t.Errorf("%s after Reseal holds %q; want it sealed under generation 1", id, v)
				}
			}
		}
		if n, err := hooks.Reseal(ctx); n != 0 || err != nil {
			t.Errorf("Reseal again = %d, %v; want nothing to do", n, err)
		}
		// Only the newest key left (lokero secret retire): every secret
		// still opens, and the deliveries are signed as before.
		hooks.SealSecrets(testSealer(t, newer))
		recv.set(rotated.Secret, 0)
		if _, err := f.shipments.HandoverByCourier(ctx, f.courier, d.ShipmentID); err != nil {
			t.Fatal(err)
		}
		list := deliveries(t, hooks, f.retailer.ID, w.ID)
		if err := hooks.DeliverWebhook(ctx, list[len(list)-1].ID, 1); err != nil {
			t.Fatal(err)
		}
		if reqs := recv.requests(); len(reqs) != 2 || !verifies(t, reqs[1], rotated.Secret) || !verifies(t, reqs[1], w.Secret) {
			t.Errorf("after the retirement: %d requests; want the second signed with the new and the old secret", len(reqs))
		}
		// A secret sealed under a key the secret no longer holds does not
		// open: Reseal says which, and the delivery waits (an error: retried).
		if ok, err := f.store.SwapWebhookSecrets(ctx, plain.ID, storedHook(t, f, plain.ID).Secret, "", stored.Secret, ""); !ok || err != nil {
			t.Fatalf("put a generation-0 value back: %v, %v", ok, err)
		}
		if _, err := hooks.Reseal(ctx); err == nil || !strings.Contains(err.Error(), plain.ID) {
			t.Errorf("Reseal with a secret under a retired key: %v; want an error naming %s", err, plain.ID)
		}
	})
}

// hookRequest is a request a receiver got.
type hookRequest struct {
	header http.Header
	body   []byte
}

// hookReceiver is a retailer's endpoint: it verifies each request's
// signature with the Standard Webhooks library (with secret, when set:
// 401 when it fails) and answers status (200 when 0). With gate set, a
// request waits there: it signals arrive and waits for release.
type hookReceiver struct {
	URL string

	mu      sync.Mutex
	secret  string
	status  int
	reqs    []hookRequest
	arrive  chan struct{}
	release chan struct{}
}

func newHookReceiver(t *testing.T) *hookReceiver {
	t.Helper()
	r := &hookReceiver{}
	srv := httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(srv.Close)
	r.URL = srv.URL + "/hooks/lokero"
	return r
}

func (r *hookReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, hookRequest{req.Header.Clone(), body})
	secret, status, arrive, release := r.secret, r.status, r.arrive, r.release
	r.mu.Unlock()
	if arrive != nil {
		arrive <- struct{}{}
		select {
		case <-release:
		case <-time.After(10 * time.Second):
		}
	}
	if secret != "" {
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		// The test's clock stands still in 2026-11: the timestamp is
		// checked against it by the test, not against this machine's.
		if err := wh.VerifyIgnoringTimestamp(body, req.Header); err != nil {
			http.Error(w, "signature: "+err.Error(), http.StatusUnauthorized)
			return
		}
	}
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	fmt.Fprint(w, "answer of the test")
}

// set sets the secret the receiver verifies with and the status it answers.
func (r *hookReceiver) set(secret string, status int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secret, r.status = secret, status
}

// requests returns what the receiver got, oldest first.
func (r *hookReceiver) requests() []hookRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.reqs)
}

// deliveries lists a webhook's deliveries by sequence (then shipment):
// a shipment's oldest first.
func deliveries(t *testing.T, hooks *service.Webhooks, retailerID, hookID string) []lokero.WebhookDelivery {
	t.Helper()
	list, err := hooks.Deliveries(context.Background(), retailerID, hookID, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortStableFunc(list, func(a, b lokero.WebhookDelivery) int {
		if a.Sequence != b.Sequence {
			return a.Sequence - b.Sequence
		}
		return strings.Compare(a.ShipmentID, b.ShipmentID)
	})
	return list
}

// brief is a delivery as an error message tells it: without its payload.
func brief(d lokero.WebhookDelivery) string {
	return fmt.Sprintf("{%s %s seq %d %s attempts %d response %d error %q next %v delivered %v}", d.ID, d.Event, d.Sequence,
		d.State, d.Attempts, d.ResponseCode, d.LastError, d.NextAttemptAt, d.DeliveredAt)
}

// briefs is brief of each delivery.
func briefs(list []lokero.WebhookDelivery) []string {
	out := make([]string, len(list))
	for i, d := range list {
		out[i] = brief(d)
	}
	return out
}

// delivery reads a delivery back from the store.
func delivery(t *testing.T, f lockersFixture, id string) lokero.WebhookDelivery {
	t.Helper()
	d, err := f.store.WebhookDelivery(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// storedHook reads a webhook back from the store.
func storedHook(t *testing.T, f lockersFixture, id string) lokero.Webhook {
	t.Helper()
	w, err := f.store.Webhook(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// disabledNotices returns the e-mails queued to tell contacts that a
// webhook was disabled.
func disabledNotices(t *testing.T, f lockersFixture) []lokero.OutboxMessage {
	t.Helper()
	all, err := f.lockers.Outbox(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []lokero.OutboxMessage
	for _, m := range all {
		if m.Kind == service.KindWebhookDisabled {
			out = append(out, m)
		}
	}
	return out
}

// bookHooked books a parcel for the fixture's retailer (request()).
func (f lockersFixture) bookHooked(t *testing.T) lokero.Shipment {
	t.Helper()
	res, err := f.shipments.Create(context.Background(), f.retailer, request(), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	return res.Shipment
}

// TestWebhookCreate: a webhook is checked field by field, gets a
// whsec_ secret (told by Create), and is its retailer's alone; a retailer
// has at most MaxWebhooks.
func TestWebhookCreate(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		hooks := withWebhooks(t, f)
		rid := f.retailer.ID
		for _, tt := range []struct {
			name  string
			req   service.WebhookRequest
			field string
		}{
			{"no url", service.WebhookRequest{}, "url"},
			{"not http", service.WebhookRequest{URL: "ftp://kauppa.example/hooks"}, "url"},
			{"relative url", service.WebhookRequest{URL: "/hooks"}, "url"},
			{"unknown event", service.WebhookRequest{URL: "https://kauppa.example/hooks",
				Events: []string{service.EventCreated, "shipment.exploded"}}, "events[1]"},
			{"event in another case", service.WebhookRequest{URL: "https://kauppa.example/hooks",
				Events: []string{"SHIPMENT.CREATED"}}, "events[0]"},
			{"contact not an address", service.WebhookRequest{URL: "https://kauppa.example/hooks", ContactEmail: "ops at kauppa"}, "contact_email"},
			{"contact with a name", service.WebhookRequest{URL: "https://kauppa.example/hooks", ContactEmail: "Ops <ops@kauppa.example>"}, "contact_email"},
		} {
			_, err := hooks.Create(ctx, rid, tt.req)
			t.Run(tt.name, func(t *testing.T) { checkInvalid(t, err, tt.field) })
		}
		if list, err := hooks.List(ctx, rid); err != nil || len(list) != 0 {
			t.Fatalf("after refused requests: %v, %v; want none stored", list, err)
		}

		w, err := hooks.Create(ctx, rid, service.WebhookRequest{URL: "https://kauppa.example/hooks",
			Events:       []string{service.EventReadyForPickup, service.EventCreated, service.EventReadyForPickup},
			ContactEmail: "ops@kauppa.example"})
		if err != nil {
			t.Fatal(err)
		}
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(w.Secret, "whsec_"))
		switch {
		case !strings.HasPrefix(w.ID, "wh_") || w.RetailerID != rid || w.URL != "https://kauppa.example/hooks":
			t.Errorf("created %+v", w)
		case !strings.HasPrefix(w.Secret, "whsec_") || err != nil || len(key) != 32:
			t.Errorf("secret %q: want whsec_ and the base64 of 32 bytes", w.Secret)
		case !slices.Equal(w.Events, []string{service.EventCreated, service.EventReadyForPickup}):
			t.Errorf("events %v; want sorted, once each", w.Events)
		case !w.DisabledAt.IsZero() || w.PreviousSecret != "":
			t.Errorf("created %+v", w)
		}
		if _, err := standardwebhooks.NewWebhook(w.Secret); err != nil {
			t.Errorf("the library takes no secret %q: %v", w.Secret, err)
		}
		got, err := hooks.Get(ctx, rid, w.ID)
		if err != nil || got.ID != w.ID || got.ContactEmail != "ops@kauppa.example" || !slices.Equal(got.Events, w.Events) {
			t.Errorf("get: %+v, %v", got, err)
		}
		keptSecret := storedHook(t, f, w.ID).Secret // sealed (TestWebhookSecretsSealed)
		f.clock.Advance(time.Second)                // the fixture's clock stands still: equal times list by ID
		w2, err := hooks.Create(ctx, rid, service.WebhookRequest{URL: "https://kauppa.example/all"})
		if err != nil || w2.Secret == w.Secret || w2.ID == w.ID || len(w2.Events) != 0 {
			t.Fatalf("a second webhook: %+v, %v; want its own id and secret, every event", w2, err)
		}
		if list, err := hooks.List(ctx, rid); err != nil || len(list) != 2 || list[0].ID != w.ID || list[1].ID != w2.ID {
			t.Errorf("list: %+v, %v; want both, oldest first", list, err)
		}

		// Another retailer's webhooks are not found.
		other, _, err := f.shipments.AddRetailer(ctx, "Toinen kauppa", false)
		if err != nil {
			t.Fatal(err)
		}
		_, err = hooks.Get(ctx, other.ID, w.ID)
		checkError(t, "another retailer's get", err, lokero.ENOTFOUND, "unknown_webhook", "")
		_, err = hooks.Update(ctx, other.ID, w.ID, service.WebhookChange{URL: strp("https://evil.example/")})
		checkError(t, "another retailer's update", err, lokero.ENOTFOUND, "unknown_webhook", "")
		_, err = hooks.RotateSecret(ctx, other.ID, w.ID, 0)
		checkError(t, "another retailer's rotation", err, lokero.ENOTFOUND, "unknown_webhook", "")
		_, err = hooks.Deliveries(ctx, other.ID, w.ID, "", 0)
		checkError(t, "another retailer's deliveries", err, lokero.ENOTFOUND, "unknown_webhook", "")
		err = hooks.Delete(ctx, other.ID, w.ID)
		checkError(t, "another retailer's delete", err, lokero.ENOTFOUND, "unknown_webhook", "")
		if list, err := hooks.List(ctx, other.ID); err != nil || len(list) != 0 {
			t.Errorf("another retailer's list: %v, %v; want none", list, err)
		}
		if got := storedHook(t, f, w.ID); got.URL != w.URL || got.Secret != keptSecret {
			t.Errorf("after another retailer's tries: %+v; want unchanged", got)
		}
		_, err = hooks.Get(ctx, rid, "wh_nosuch")
		checkError(t, "get unknown", err, lokero.ENOTFOUND, "unknown_webhook", "")

		// Update checks as Create does.
		_, err = hooks.Update(ctx, rid, w.ID, service.WebhookChange{Events: &[]string{"nope"}})
		checkInvalid(t, err, "events[0]")
		_, err = hooks.Deliveries(ctx, rid, w.ID, "lost", 0)
		checkInvalid(t, err, "state")

		// At most MaxWebhooks.
		for i := 2; i < service.MaxWebhooks; i++ {
			if _, err := hooks.Create(ctx, rid, service.WebhookRequest{URL: fmt.Sprintf("https://kauppa.example/%d", i)}); err != nil {
				t.Fatalf("webhook %d: %v", i+1, err)
			}
		}
		_, err = hooks.Create(ctx, rid, service.WebhookRequest{URL: "https://kauppa.example/one-too-many"})
		checkError(t, "webhook 11", err, lokero.ECONFLICT, "too_many_webhooks", "")
		if _, err := hooks.Create(ctx, other.ID, service.WebhookRequest{URL: "https://toinen.example/hooks"}); err != nil {
			t.Errorf("another retailer's first webhook: %v", err)
		}
	})
}

// eventPayload is a delivery's body.
type eventPayload struct {
	Type      string         `json:"type"`
	Timestamp time.Time      `json:"timestamp"`
	Data      map[string]any `json:"data"`
}

// TestWebhookPublish: every event of a shipment's life becomes one
// delivery to each enabled webhook of its retailer that wants its type,
// numbered by the shipment's sequence, its body the shipment after the
// event and never the opening code; a disabled webhook and another
// retailer's get none.
func TestWebhookPublish(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		hooks := withWebhooks(t, f)
		rid := f.retailer.ID
		all, err := hooks.Create(ctx, rid, service.WebhookRequest{URL: "https://kauppa.example/all"})
		if err != nil {
			t.Fatal(err)
		}
		ready, err := hooks.Create(ctx, rid, service.WebhookRequest{URL: "https://kauppa.example/ready",
			Events: []string{service.EventReadyForPickup}})
		if err != nil {
			t.Fatal(err)
		}
		off, err := hooks.Create(ctx, rid, service.WebhookRequest{URL: "https://kauppa.example/off"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := hooks.Update(ctx, rid, off.ID, service.WebhookChange{Enabled: new(bool)}); err != nil {
			t.Fatal(err)
		}
		other, _, err := f.shipments.AddRetailer(ctx, "Toinen kauppa", false)
		if err != nil {
			t.Fatal(err)
		}
		others, err := hooks.Create(ctx, other.ID, service.WebhookRequest{URL: "https://toinen.example/hooks"})
		if err != nil {
			t.Fatal(err)
		}

		sh := f.bookHooked(t)
		list := deliveries(t, hooks, rid, all.ID)
		if len(list) != 1 {
			t.Fatalf("after booking: %d deliveries; want 1", len(list))
		}
		d := list[0]
		if d.Event != service.EventCreated || d.Sequence != 1 || d.ShipmentID != sh.ID || d.State != lokero.WebhookPending ||
			d.Attempts != 0 || d.RetailerID != rid || !strings.HasPrefix(d.ID, "msg_") {
			t.Errorf("delivery of the booking: %s", brief(d))
		}
		if n := len(deliveries(t, hooks, rid, ready.ID)); n != 0 {
			t.Errorf("a webhook for ready_for_pickup only got %d deliveries of the booking", n)
		}

		// The parcel's journey.
		if _, err := f.shipments.HandoverByCourier(ctx, f.courier, sh.ID); err != nil {
			t.Fatal(err)
		}
		dep, err := f.lockers.Deposit(ctx, f.courier, "LOCKER-M5", sh.TrackingCode)
		if err != nil {
			t.Fatal(err)
		}
		readySh, err := f.lockers.DoorClosed(ctx, f.device, "LOCKER-M5", dep.Compartment.Number)
		if err != nil {
			t.Fatal(err)
		}
		code := f.openingCode(t, f.queued(t, sh.TrackingCode)[notify.ChannelSMS])
		f.clock.Advance(time.Hour)
		f.pickUp(t, code)
		final, err := f.shipments.Get(ctx, f.retailer, sh.ID)
		if err != nil {
			t.Fatal(err)
		}

		list = deliveries(t, hooks, rid, all.ID)
		if len(list) != len(final.Events) {
			t.Fatalf("%d deliveries for %d events", len(list), len(final.Events))
		}
		var types []string
		for i, d := range list {
			e := final.Events[i]
			if d.Sequence != i+1 {
				t.Errorf("delivery %d has sequence %d; want %d (no gap, no repeat)", i, d.Sequence, i+1)
			}
			if i == 0 || e.Status != final.Events[i-1].Status {
				types = append(types, d.Event)
			}
			var p eventPayload
			if err := json.Unmarshal(d.Payload, &p); err != nil {
				t.Fatalf("delivery %d: payload %q: %v", d.Sequence, d.Payload, err)
			}
			data := p.Data
			switch {
			case p.Type != d.Event || !p.Timestamp.Equal(e.At):
				t.Errorf("delivery %d: type %q at %v; want %q at %v", d.Sequence, p.Type, p.Timestamp, d.Event, e.At)
			case data["shipment_id"] != sh.ID || data["tracking_code"] != sh.TrackingCode || data["reference"] != "ORDER-1":
				t.Errorf("delivery %d: data %v", d.Sequence, data)
			case data["sequence"] != float64(d.Sequence) || data["status"] != string(e.Status):
				t.Errorf("delivery %d: sequence %v status %v; want %d %s", d.Sequence, data["sequence"], data["status"], d.Sequence, e.Status)
			}
			if strings.Contains(string(d.Payload), code) || strings.Contains(strings.ToLower(string(d.Payload)), "opening_code") ||
				strings.Contains(string(d.Payload), "Matti") || strings.Contains(string(d.Payload), "matti@example.fi") {
				t.Errorf("delivery %d tells the code or the recipient: %s", d.Sequence, d.Payload)
			}
		}
		want := []string{service.EventCreated, service.EventInTransit, service.EventInLocker, service.EventReadyForPickup, service.EventPickedUp}
		if !slices.Equal(types, want) {
			t.Errorf("event types %v; want %v", types, want)
		}

		readyList := deliveries(t, hooks, rid, ready.ID)
		if len(readyList) != 1 || readyList[0].Event != service.EventReadyForPickup {
			t.Fatalf("the ready_for_pickup webhook got %s; want that event alone", briefs(readyList))
		}
		idx := slices.IndexFunc(final.Events, func(e lokero.ShipmentEvent) bool { return e.Status == lokero.StatusReadyForPickup })
		var p eventPayload
		if err := json.Unmarshal(readyList[0].Payload, &p); err != nil {
			t.Fatal(err)
		}
		deadline, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(p.Data["storage_deadline"]))
		if readyList[0].Sequence != idx+1 || !deadline.Equal(readySh.StorageDeadline) || p.Data["location_id"] != "LOCKER-M5" {
			t.Errorf("ready_for_pickup: sequence %d (want %d), data %v (want deadline %v)", readyList[0].Sequence, idx+1, p.Data, readySh.StorageDeadline)
		}
		if n := len(deliveries(t, hooks, rid, off.ID)); n != 0 {
			t.Errorf("a disabled webhook got %d deliveries", n)
		}
		if n := len(deliveries(t, hooks, other.ID, others.ID)); n != 0 {
			t.Errorf("another retailer's webhook got %d deliveries", n)
		}

		// Enabled again, it gets the events from then on.
		if _, err := hooks.Update(ctx, rid, off.ID, service.WebhookChange{Enabled: boolp(true)}); err != nil {
			t.Fatal(err)
		}
		f.bookHooked(t)
		if list := deliveries(t, hooks, rid, off.ID); len(list) != 1 || list[0].Event != service.EventCreated {
			t.Errorf("enabled again: %s; want the next booking only", briefs(list))
		}
	})
}

func boolp(b bool) *bool { return &b }

// TestWebhookDeliver: a delivery is posted signed (verified by the
// Standard Webhooks library) and recorded succeeded; a failing endpoint
// has it retried on the schedule, and failed after the last attempt; a
// delivery done is not sent again.
func TestWebhookDeliver(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		hooks := withWebhooks(t, f)
		recv := newHookReceiver(t)
		w, err := hooks.Create(ctx, f.retailer.ID, service.WebhookRequest{URL: recv.URL, ContactEmail: "ops@kauppa.example"})
		if err != nil {
			t.Fatal(err)
		}
		recv.set(w.Secret, 0)
		sh := f.bookHooked(t)
		d := deliveries(t, hooks, f.retailer.ID, w.ID)[0]
		for attempt := 1; attempt <= 2; attempt++ { // the second: done already
			if err := hooks.DeliverWebhook(ctx, d.ID, attempt); err != nil {
				t.Fatalf("deliver, attempt %d: %v", attempt, err)
			}
		}
		reqs := recv.requests()
		if len(reqs) != 1 {
			t.Fatalf("the receiver got %d requests; want 1", len(reqs))
		}
		h := reqs[0].header
		if h.Get("webhook-id") != d.ID || string(reqs[0].body) != string(d.Payload) ||
			h.Get("webhook-timestamp") != strconv.FormatInt(f.clock.Now().Unix(), 10) {
			t.Errorf("request: id %q timestamp %q body %s; want %s at %d with the stored payload",
				h.Get("webhook-id"), h.Get("webhook-timestamp"), reqs[0].body, d.ID, f.clock.Now().Unix())
		}
		got := delivery(t, f, d.ID)
		if got.State != lokero.WebhookSucceeded || got.ResponseCode != 200 || got.Attempts != 1 || got.LastError != "" ||
			!got.DeliveredAt.Equal(f.clock.Now()) || !got.NextAttemptAt.IsZero() {
			t.Errorf("after success: %s", brief(got))
		}

		// The endpoint fails: retried on the schedule, the error back for the job.
		recv.set(w.Secret, http.StatusInternalServerError)
		if _, err := f.shipments.HandoverByCourier(ctx, f.courier, sh.ID); err != nil {
			t.Fatal(err)
		}
		list := deliveries(t, hooks, f.retailer.ID, w.ID)
		d2 := list[len(list)-1]
		if d2.Event != service.EventInTransit {
			t.Fatalf("newest delivery %s; want in_transit", brief(d2))
		}
		err = hooks.DeliverWebhook(ctx, d2.ID, 1)
		if err == nil || !strings.Contains(err.Error(), "500") {
			t.Errorf("a 500: %v; want the error back for a retry", err)
		}
		wait, _ := webhook.NextRetry(1)
		got = delivery(t, f, d2.ID)
		if got.State != lokero.WebhookPending || got.Attempts != 1 || got.ResponseCode != 500 ||
			!got.NextAttemptAt.Equal(f.clock.Now().Add(wait)) || !strings.Contains(got.LastError, "500") {
			t.Errorf("after a 500: %s; want pending, next attempt at %v", brief(got), f.clock.Now().Add(wait))
		}
		if hw := storedHook(t, f, w.ID); !hw.FailingSince.Equal(f.clock.Now()) || !hw.DisabledAt.IsZero() {
			t.Errorf("webhook after a failure: failing since %v, disabled %v", hw.FailingSince, hw.DisabledAt)
		}
		if d := hooks.WebhookRetry(1); d != wait {
			t.Errorf("WebhookRetry(1) = %v; want %v", d, wait)
		}

		// The last attempt fails: the delivery fails for good.
		f.clock.Advance(time.Hour)
		if err := hooks.DeliverWebhook(ctx, d2.ID, webhook.MaxAttempts); err != nil {
			t.Errorf("the last attempt: %v; want no error (nothing more to try)", err)
		}
		got = delivery(t, f, d2.ID)
		if got.State != lokero.WebhookFailed || got.Attempts != webhook.MaxAttempts ||
			!strings.HasPrefix(got.LastError, fmt.Sprintf("gave up after %d attempts: ", webhook.MaxAttempts)) || !got.NextAttemptAt.IsZero() {
			t.Errorf("after the last attempt: %s", brief(got))
		}
		n := len(recv.requests())
		if err := hooks.DeliverWebhook(ctx, d2.ID, webhook.MaxAttempts); err != nil || len(recv.requests()) != n {
			t.Errorf("a failed delivery run again: %v, %d requests (want %d)", err, len(recv.requests()), n)
		}

		// A success after failures clears FailingSince.
		recv.set(w.Secret, 0)
		dep, err := f.lockers.Deposit(ctx, f.courier, "LOCKER-M5", sh.TrackingCode)
		if err != nil || dep.Compartment.Number == 0 {
			t.Fatal(err)
		}
		list = deliveries(t, hooks, f.retailer.ID, w.ID)
		if err := hooks.DeliverWebhook(ctx, list[len(list)-1].ID, 1); err != nil {
			t.Fatal(err)
		}
		if hw := storedHook(t, f, w.ID); !hw.FailingSince.IsZero() {
			t.Errorf("after a success: failing since %v; want cleared", hw.FailingSince)
		}
		if c := hooks.WebhookCounts(); c["succeeded"] != 2 || c["retried"] != 1 || c["failed"] != 1 || c["disabled"] != 0 {
			t.Errorf("counts %v", c)
		}
		if len(disabledNotices(t, f)) != 0 {
			t.Error("a webhook disabled by failures short of DisableAfter")
		}
	})
}

// TestWebhookGone: an endpoint answering 410 Gone fails its delivery at
// once and is disabled, its contact told by e-mail; it gets no more.
func TestWebhookGone(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		hooks := withWebhooks(t, f)
		recv := newHookReceiver(t)
		w, err := hooks.Create(ctx, f.retailer.ID, service.WebhookRequest{URL: recv.URL, ContactEmail: "ops@kauppa.example"})
		if err != nil {
			t.Fatal(err)
		}
		recv.set(w.Secret, http.StatusGone)
		f.bookHooked(t)
		d := deliveries(t, hooks, f.retailer.ID, w.ID)[0]
		if err := hooks.DeliverWebhook(ctx, d.ID, 1); err != nil {
			t.Errorf("a 410: %v; want no error (nothing to retry)", err)
		}
		got := delivery(t, f, d.ID)
		if got.State != lokero.WebhookFailed || got.ResponseCode != 410 || got.Attempts != 1 {
			t.Errorf("delivery after a 410: %s; want failed", brief(got))
		}
		hw := storedHook(t, f, w.ID)
		if hw.DisabledAt.IsZero() || !strings.Contains(hw.DisabledReason, "410") {
			t.Errorf("webhook after a 410: disabled at %v (%q); want disabled", hw.DisabledAt, hw.DisabledReason)
		}
		notices := disabledNotices(t, f)
		if len(notices) != 1 {
			t.Fatalf("%d notices of the disabled webhook; want 1", len(notices))
		}
		if m := notices[0]; m.Channel != notify.ChannelEmail || m.To != "ops@kauppa.example" || !strings.Contains(m.Text, w.ID) ||
			!strings.Contains(m.Text, "410") {
			t.Errorf("notice %+v", m)
		}
		// The notice goes out as any e-mail does.
		email, _ := withSenders(f)
		if err := f.lockers.Deliver(ctx, notices[0].ID, 1); err != nil {
			t.Fatal(err)
		}
		if sent := email.messages(); len(sent) != 1 || sent[0].To != "ops@kauppa.example" || sent[0].Kind != service.KindWebhookDisabled ||
			sent[0].Text != notices[0].Text {
			t.Errorf("the notice as sent: %+v", sent)
		}
		if m := f.message(t, notices[0].ID); m.State != lokero.DeliverySent {
			t.Errorf("the notice as recorded: %+v; want sent", m)
		}

		n := len(recv.requests())
		f.bookHooked(t)
		if list := deliveries(t, hooks, f.retailer.ID, w.ID); len(list) != 1 {
			t.Errorf("a disabled webhook got %d deliveries; want the first only", len(list))
		}
		if len(recv.requests()) != n {
			t.Errorf("requests to a disabled webhook")
		}
		if c := hooks.WebhookCounts(); c["disabled"] != 1 || c["failed"] != 1 {
			t.Errorf("counts %v", c)
		}
	})
}

// TestWebhookDisableAfter: an endpoint failing every delivery for
// DisableAfter is disabled, once, and its contact told once, even when
// two deliveries fail at the same moment; its pending deliveries then
// fail without a request.
func TestWebhookDisableAfter(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		hooks := withWebhooks(t, f)
		recv := newHookReceiver(t)
		w, err := hooks.Create(ctx, f.retailer.ID, service.WebhookRequest{URL: recv.URL, ContactEmail: "ops@kauppa.example"})
		if err != nil {
			t.Fatal(err)
		}
		recv.set(w.Secret, http.StatusServiceUnavailable)
		sh := f.bookHooked(t)
		if _, err := f.shipments.HandoverByCourier(ctx, f.courier, sh.ID); err != nil {
			t.Fatal(err)
		}
		list := deliveries(t, hooks, f.retailer.ID, w.ID)
		if len(list) != 2 {
			t.Fatalf("%d deliveries; want 2", len(list))
		}
		d1, d2 := list[0], list[1]
		start := f.clock.Now().UTC()
		if err := hooks.DeliverWebhook(ctx, d1.ID, 1); err == nil {
			t.Fatal("a 503: no error")
		}
		// Short of DisableAfter: still enabled.
		f.clock.Advance(service.DisableAfter - time.Hour)
		if err := hooks.DeliverWebhook(ctx, d1.ID, 2); err == nil {
			t.Fatal("a 503: no error")
		}
		if hw := storedHook(t, f, w.ID); !hw.DisabledAt.IsZero() || !hw.FailingSince.Equal(start) {
			t.Fatalf("failing for less than DisableAfter: disabled at %v, failing since %v (want %v)", hw.DisabledAt, hw.FailingSince, start)
		}

		// Past it, two deliveries fail at once: both requests are held
		// until both have arrived.
		f.clock.Advance(2 * time.Hour)
		recv.mu.Lock()
		recv.arrive, recv.release = make(chan struct{}, 2), make(chan struct{})
		arrive, release := recv.arrive, recv.release
		recv.mu.Unlock()
		var wg sync.WaitGroup
		for _, run := range []struct {
			id      string
			attempt int
		}{{d1.ID, 3}, {d2.ID, 1}} {
			wg.Go(func() { hooks.DeliverWebhook(ctx, run.id, run.attempt) })
		}
		for i := range 2 {
			select {
			case <-arrive:
			case <-time.After(10 * time.Second):
				t.Errorf("request %d did not arrive", i+1)
			}
		}
		close(release)
		wg.Wait()
		recv.mu.Lock()
		recv.arrive, recv.release = nil, nil
		recv.mu.Unlock()

		hw := storedHook(t, f, w.ID)
		if hw.DisabledAt.IsZero() || !strings.Contains(hw.DisabledReason, "every delivery failed since") {
			t.Errorf("failing for more than DisableAfter: disabled at %v (%q); want disabled", hw.DisabledAt, hw.DisabledReason)
		}
		if notices := disabledNotices(t, f); len(notices) != 1 || notices[0].To != "ops@kauppa.example" {
			t.Errorf("notices of the disabled webhook: %+v; want one to the contact", notices)
		}
		if c := hooks.WebhookCounts(); c["disabled"] != 1 {
			t.Errorf("counts %v; want disabled once", c)
		}

		// Its deliveries still pending fail without a request.
		n := len(recv.requests())
		for _, run := range []struct {
			id      string
			attempt int
		}{{d1.ID, 4}, {d2.ID, 2}} {
			if err := hooks.DeliverWebhook(ctx, run.id, run.attempt); err != nil {
				t.Errorf("delivery %s to a disabled webhook: %v", run.id, err)
			}
			if got := delivery(t, f, run.id); got.State != lokero.WebhookFailed || !strings.HasPrefix(got.LastError, "webhook disabled") {
				t.Errorf("delivery to a disabled webhook: %s; want failed", brief(got))
			}
		}
		if len(recv.requests()) != n {
			t.Errorf("%d requests to a disabled webhook", len(recv.requests())-n)
		}
	})
}

// signatures returns the v1 signatures of a request's webhook-signature.
func signatures(h http.Header) []string {
	var out []string
	for _, s := range strings.Fields(h.Get("webhook-signature")) {
		if strings.HasPrefix(s, "v1,") {
			out = append(out, s)
		}
	}
	return out
}

// verifies reports whether the Standard Webhooks library verifies req
// with secret alone.
func verifies(t *testing.T, req hookRequest, secret string) bool {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	return wh.VerifyIgnoringTimestamp(req.body, req.header) == nil
}

// TestWebhookRotateSecret: after a rotation both secrets sign, each alone
// verifying, until the overlap ends; then only the new one.
func TestWebhookRotateSecret(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		hooks := withWebhooks(t, f)
		recv := newHookReceiver(t)
		w, err := hooks.Create(ctx, f.retailer.ID, service.WebhookRequest{URL: recv.URL})
		if err != nil {
			t.Fatal(err)
		}
		old := w.Secret
		_, err = hooks.RotateSecret(ctx, f.retailer.ID, w.ID, service.MaxSecretOverlap+time.Second)
		checkInvalid(t, err, "overlap_seconds")
		_, err = hooks.RotateSecret(ctx, f.retailer.ID, w.ID, -time.Second)
		checkInvalid(t, err, "overlap_seconds")

		rotated, err := hooks.RotateSecret(ctx, f.retailer.ID, w.ID, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if rotated.Secret == old || !strings.HasPrefix(rotated.Secret, "whsec_") || rotated.PreviousSecret != old ||
			!rotated.PreviousUntil.Equal(f.clock.Now().Add(time.Hour)) {
			t.Fatalf("rotated: secret %q (old %q), previous %q until %v", rotated.Secret, old, rotated.PreviousSecret, rotated.PreviousUntil)
		}
		stranger := "whsec_" + base64.StdEncoding.EncodeToString([]byte(strings.Repeat("x", 32)))

		sh := f.bookHooked(t)
		d := deliveries(t, hooks, f.retailer.ID, w.ID)[0]
		if err := hooks.DeliverWebhook(ctx, d.ID, 1); err != nil {
			t.Fatal(err)
		}
		reqs := recv.requests()
		if len(reqs) != 1 {
			t.Fatalf("%d requests", len(reqs))
		}
		if sigs := signatures(reqs[0].header); len(sigs) != 2 {
			t.Errorf("during the overlap: signatures %q; want two v1", reqs[0].header.Get("webhook-signature"))
		}
		if !verifies(t, reqs[0], old) || !verifies(t, reqs[0], rotated.Secret) || verifies(t, reqs[0], stranger) {
			t.Errorf("during the overlap: old verifies %v, new %v, a stranger's %v; want true, true, false",
				verifies(t, reqs[0], old), verifies(t, reqs[0], rotated.Secret), verifies(t, reqs[0], stranger))
		}

		// After the overlap, only the new secret signs.
		f.clock.Advance(time.Hour + time.Second)
		if _, err := f.shipments.HandoverByCourier(ctx, f.courier, sh.ID); err != nil {
			t.Fatal(err)
		}
		list := deliveries(t, hooks, f.retailer.ID, w.ID)
		if err := hooks.DeliverWebhook(ctx, list[len(list)-1].ID, 1); err != nil {
			t.Fatal(err)
		}
		reqs = recv.requests()
		if len(reqs) != 2 {
			t.Fatalf("%d requests", len(reqs))
		}
		if sigs := signatures(reqs[1].header); len(sigs) != 1 {
			t.Errorf("after the overlap: signatures %q; want one", reqs[1].header.Get("webhook-signature"))
		}
		if verifies(t, reqs[1], old) || !verifies(t, reqs[1], rotated.Secret) {
			t.Errorf("after the overlap: old verifies %v, new %v; want false, true", verifies(t, reqs[1], old), verifies(t, reqs[1], rotated.Secret))
		}
	})
}

// TestWebhookDelete: a deleted webhook's pending deliveries fail
// ("webhook deleted") and are not sent; its succeeded ones stay as they
// were.
func TestWebhookDelete(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		hooks := withWebhooks(t, f)
		recv := newHookReceiver(t)
		w, err := hooks.Create(ctx, f.retailer.ID, service.WebhookRequest{URL: recv.URL})
		if err != nil {
			t.Fatal(err)
		}
		sh := f.bookHooked(t)
		if _, err := f.shipments.HandoverByCourier(ctx, f.courier, sh.ID); err != nil {
			t.Fatal(err)
		}
		list := deliveries(t, hooks, f.retailer.ID, w.ID)
		if len(list) != 2 {
			t.Fatalf("%d deliveries; want 2", len(list))
		}
		done, pending := list[0], list[1]
		if err := hooks.DeliverWebhook(ctx, done.ID, 1); err != nil {
			t.Fatal(err)
		}
		recv.set("", http.StatusBadGateway)
		if err := hooks.DeliverWebhook(ctx, pending.ID, 1); err == nil {
			t.Fatal("a 502: no error")
		}
		if err := hooks.Delete(ctx, f.retailer.ID, w.ID); err != nil {
			t.Fatal(err)
		}
		if got := delivery(t, f, pending.ID); got.State != lokero.WebhookFailed || got.LastError != "webhook deleted" || !got.NextAttemptAt.IsZero() {
			t.Errorf("a pending delivery of a deleted webhook: %s; want failed, webhook deleted", brief(got))
		}
		if got := delivery(t, f, done.ID); got.State != lokero.WebhookSucceeded {
			t.Errorf("a succeeded delivery of a deleted webhook: %s; want it kept", brief(got))
		}
		n := len(recv.requests())
		if err := hooks.DeliverWebhook(ctx, pending.ID, 2); err != nil || len(recv.requests()) != n {
			t.Errorf("the job of a deleted webhook's delivery: %v, %d requests; want nothing sent", err, len(recv.requests())-n)
		}
		_, err = hooks.Get(ctx, f.retailer.ID, w.ID)
		checkError(t, "get a deleted webhook", err, lokero.ENOTFOUND, "unknown_webhook", "")
		err = hooks.Delete(ctx, f.retailer.ID, w.ID)
		checkError(t, "delete twice", err, lokero.ENOTFOUND, "unknown_webhook", "")
		// Its events stop: a new one makes no delivery.
		if _, err := f.lockers.Deposit(ctx, f.courier, "LOCKER-M5", sh.TrackingCode); err != nil {
			t.Fatal(err)
		}
		if list, err := f.store.WebhookDeliveries(ctx, w.ID, "", 0); err != nil || len(list) != 2 {
			t.Errorf("deliveries of a deleted webhook after another event: %d, %v; want the 2 before", len(list), err)
		}
	})
}

// TestWebhookThroughJobs: with a real job runner, booking a parcel is
// enough: the webhook job queued with the event posts it, signed, once,
// and records it succeeded.
func TestWebhookThroughJobs(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		hooks := withWebhooks(t, f)
		recv := newHookReceiver(t)
		w, err := hooks.Create(ctx, f.retailer.ID, service.WebhookRequest{URL: recv.URL})
		if err != nil {
			t.Fatal(err)
		}
		recv.set(w.Secret, 0)
		dialect := jobs.SQLite
		if f.store.Dialect().Name() == "postgres" {
			dialect = jobs.Postgres
		}
		runner, err := jobs.New(ctx, f.store.SQL(), dialect, f.clock, jobHandler{f.lockers, hooks}, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		if err := runner.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			stop, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			runner.Stop(stop)
		})
		f.store.SetJobQueue(runner)
		f.bookHooked(t)
		list := deliveries(t, hooks, f.retailer.ID, w.ID)
		if len(list) != 1 {
			t.Fatalf("%d deliveries; want 1", len(list))
		}
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if d := delivery(t, f, list[0].ID); d.State == lokero.WebhookSucceeded {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("not delivered within 20 s: %s, %d requests", brief(delivery(t, f, list[0].ID)), len(recv.requests()))
			}
		}
		time.Sleep(200 * time.Millisecond) // a second run would show by now
		if reqs := recv.requests(); len(reqs) != 1 || reqs[0].header.Get("webhook-id") != list[0].ID {
			t.Errorf("the receiver got %d requests; want the delivery once", len(reqs))
		}
	})
}

// rotateOnRead is a store whose first read of a webhook lets rotate run
// right after it: a rotation landing between a PATCH's read and its write.
type rotateOnRead struct {
	service.WebhookStore
	once   sync.Once
	rotate func()
}

func (r *rotateOnRead) Webhook(ctx context.Context, id string) (lokero.Webhook, error) {
	w, err := r.WebhookStore.Webhook(ctx, id)
	r.once.Do(r.rotate)
	return w, err
}

// TestWebhookPatchKeepsARotation: a PATCH whose read came before a
// rotation writes what it changes and leaves the rotated secret: the
// secret the retailer was just told still signs. (It wrote every column
// as it read them, the old secret back among them.)
func TestWebhookPatchKeepsARotation(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		hooks := withWebhooks(t, f)
		recv := newHookReceiver(t)
		w, err := hooks.Create(ctx, f.retailer.ID, service.WebhookRequest{URL: recv.URL})
		if err != nil {
			t.Fatal(err)
		}
		var rotated lokero.Webhook
		store := &rotateOnRead{WebhookStore: f.store, rotate: func() {
			if rotated, err = hooks.RotateSecret(ctx, f.retailer.ID, w.ID, time.Minute); err != nil {
				t.Errorf("RotateSecret: %v", err)
			}
		}}
		racing := service.NewWebhooks(store, f.clock, nil, nil, webhook.NextRetry, nil, slog.New(slog.DiscardHandler))
		racing.SealSecrets(testSealer(t, locker.Key{Secret: []byte(strings.Repeat("s", 32))}))
		email := "uusi@kauppa.example.fi"
		patched, err := racing.Update(ctx, f.retailer.ID, w.ID, service.WebhookChange{ContactEmail: &email})
		if err != nil {
			t.Fatal(err)
		}
		if patched.ContactEmail != email || rotated.Secret == "" {
			t.Fatalf("patched: contact %q; rotated secret %q", patched.ContactEmail, rotated.Secret)
		}

		// Past the overlap, the delivery is signed with the rotated
		// secret alone.
		f.clock.Advance(2 * time.Minute)
		f.bookHooked(t)
		d := deliveries(t, hooks, f.retailer.ID, w.ID)[0]
		if err := hooks.DeliverWebhook(ctx, d.ID, 1); err != nil {
			t.Fatal(err)
		}
		reqs := recv.requests()
		if len(reqs) != 1 || !verifies(t, reqs[0], rotated.Secret) {
			t.Errorf("%d requests; the secret told at the rotation verifies: %v", len(reqs), len(reqs) == 1 && verifies(t, reqs[0], rotated.Secret))
		}
	})
}
