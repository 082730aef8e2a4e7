package service_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/notify"
	"github.com/lokero/lokero/notify/webpush"
	"github.com/lokero/lokero/notify/webpush/webpushtest"
	"github.com/lokero/lokero/service"
	"github.com/lokero/lokero/tracking"
)

// pushKeys are a browser subscription's keys as a test gives them: a
// valid P-256 point and a 16-byte auth secret (Subscribe does not check
// them; the caller does).
var pushKeys = struct{ p256dh, auth string }{
	p256dh: "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4", // RFC 8291's example
	auth:   "BTBZMqHH6r4Tts7J_aSIgg",
}

// subscribeReq is a subscription request for a parcel, proven with its
// recipient's postcode (request()'s).
func subscribeReq(trackingCode, endpoint string) service.PushSubscriptionRequest {
	return service.PushSubscriptionRequest{TrackingCode: trackingCode, Postcode: "00104", Endpoint: endpoint,
		P256dh: pushKeys.p256dh, Auth: pushKeys.auth}
}

// pickUp opens a ready parcel's compartment with code and closes its
// door: the parcel is picked up.
func (f lockersFixture) pickUp(t *testing.T, code string) lokero.Shipment {
	t.Helper()
	ctx := context.Background()
	open, err := f.lockers.Keypad(ctx, f.device, "LOCKER-M5", code)
	if err != nil || open.Result != "open" {
		t.Fatalf("keypad: %+v, %v", open, err)
	}
	done, err := f.lockers.DoorClosed(ctx, f.device, "LOCKER-M5", open.Compartment)
	if err != nil || done.Status != lokero.StatusPickedUp {
		t.Fatalf("door closed after pickup: %+v, %v", done.Status, err)
	}
	return done
}

// openingCode renders a queued message that tells a code and returns the
// code, as the recipient gets it.
func (f lockersFixture) openingCode(t *testing.T, m lokero.OutboxMessage) string {
	t.Helper()
	sent, err := f.lockers.Render(m)
	if err != nil {
		t.Fatal(err)
	}
	c := codePattern.FindStringSubmatch(sent.Text)
	if c == nil {
		t.Fatalf("message %d tells no code: %q", m.ID, sent.Text)
	}
	return c[1]
}

// TestPushSubscribe: a subscription is proven with the recipient's
// postcode or phone (in any usual form) and stored; a wrong proof or an
// unknown parcel get one and the same answer; malformed requests are
// EINVALID naming the field; the same endpoint again is the same
// subscription; a parcel picked up takes none.
func TestPushSubscribe(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		sh := f.inTransit(t)

		byPostcode, err := f.lockers.Subscribe(ctx, subscribeReq(strings.ToLower(sh.TrackingCode), "https://push.example/ep/1"))
		if err != nil {
			t.Fatalf("subscribe with the postcode: %v", err)
		}
		if !strings.HasPrefix(byPostcode.ID, "psub_") || byPostcode.ShipmentID != sh.ID || byPostcode.TrackingCode != sh.TrackingCode {
			t.Errorf("subscription %+v", byPostcode)
		}
		stored, err := f.store.PushSubscription(ctx, byPostcode.ID)
		if err != nil || stored.Endpoint != "https://push.example/ep/1" || stored.P256dh != pushKeys.p256dh ||
			stored.Auth != pushKeys.auth || stored.ShipmentID != sh.ID {
			t.Errorf("stored: %+v, %v", stored, err)
		}

		// The recipient gave "040 123 4567": the international form proves it too.
		for i, phone := range []string{"+358 40 1234567", "00358401234567", "0401234567"} {
			req := subscribeReq(sh.TrackingCode, "https://push.example/phone/"+string(rune('a'+i)))
			req.Postcode, req.Phone = "", phone
			s, err := f.lockers.Subscribe(ctx, req)
			if err != nil || s.ID == byPostcode.ID {
				t.Errorf("subscribe with phone %q: %+v, %v", phone, s, err)
			}
		}

		// A wrong proof and an unknown parcel: the same answer.
		unknown, err := tracking.New(rand.Reader, "ZZ")
		if err != nil {
			t.Fatal(err)
		}
		var first *lokero.Error
		for _, tt := range []struct {
			name string
			mod  func(*service.PushSubscriptionRequest)
		}{
			{"wrong postcode", func(r *service.PushSubscriptionRequest) { r.Postcode = "00100" }},
			{"wrong phone", func(r *service.PushSubscriptionRequest) { r.Postcode, r.Phone = "", "+358 40 7654321" }},
			{"unknown tracking code", func(r *service.PushSubscriptionRequest) { r.TrackingCode = unknown }},
			{"another recipient's postcode and phone", func(r *service.PushSubscriptionRequest) {
				r.Postcode, r.Phone = "00220", "050 999 8888"
			}},
		} {
			req := subscribeReq(sh.TrackingCode, "https://push.example/wrong")
			tt.mod(&req)
			_, err := f.lockers.Subscribe(ctx, req)
			var e *lokero.Error
			if !asError(err, &e) || e.Code != lokero.ENOTFOUND || e.Reason != "no_such_shipment" {
				t.Errorf("%s: %v; want ENOTFOUND no_such_shipment", tt.name, err)
				continue
			}
			if first == nil {
				first = e
			} else if e.Message != first.Message || e.Field != first.Field {
				t.Errorf("%s: %q differs from %q: the answer tells which was wrong", tt.name, e.Message, first.Message)
			}
		}

		for _, tt := range []struct {
			name, field string
			mod         func(*service.PushSubscriptionRequest)
		}{
			{"malformed tracking code", "tracking_code", func(r *service.PushSubscriptionRequest) { r.TrackingCode = "CL12345678FI" }},
			{"bad check digit", "tracking_code", func(r *service.PushSubscriptionRequest) {
				r.TrackingCode = sh.TrackingCode[:10] + string(rune('0'+(sh.TrackingCode[10]-'0'+1)%10)) + sh.TrackingCode[11:]
			}},
			{"no proof", "postcode", func(r *service.PushSubscriptionRequest) { r.Postcode = "" }},
			{"short postcode", "postcode", func(r *service.PushSubscriptionRequest) { r.Postcode = "0010" }},
			{"letters in postcode", "postcode", func(r *service.PushSubscriptionRequest) { r.Postcode = "0010A" }},
			{"short phone", "phone", func(r *service.PushSubscriptionRequest) { r.Postcode, r.Phone = "", "12-34" }},
			{"unknown language", "language", func(r *service.PushSubscriptionRequest) { r.Language = "de" }},
		} {
			req := subscribeReq(sh.TrackingCode, "https://push.example/bad")
			tt.mod(&req)
			_, err := f.lockers.Subscribe(ctx, req)
			t.Run(tt.name, func(t *testing.T) { checkInvalid(t, err, tt.field) })
		}

		// The same browser again: the same subscription, its keys updated.
		again := subscribeReq(sh.TrackingCode, "https://push.example/ep/1")
		again.Auth, again.Language = "AAAAAAAAAAAAAAAAAAAAAA", "sv"
		s, err := f.lockers.Subscribe(ctx, again)
		if err != nil || s.ID != byPostcode.ID {
			t.Errorf("the same endpoint again: %+v, %v; want %s back", s, err, byPostcode.ID)
		}
		if stored, err := f.store.PushSubscription(ctx, byPostcode.ID); err != nil || stored.Auth != again.Auth || stored.Language != "sv" {
			t.Errorf("keys after subscribing again: %+v, %v; want updated", stored, err)
		}

		// At most MaxPushSubscriptions a parcel: the same endpoint again
		// still gets its own back.
		have := 4 // ep/1 and the three by phone
		for i := have; i < lokero.MaxPushSubscriptions; i++ {
			if _, err := f.lockers.Subscribe(ctx, subscribeReq(sh.TrackingCode, "https://push.example/more/"+string(rune('a'+i)))); err != nil {
				t.Fatalf("subscription %d: %v", i+1, err)
			}
		}
		_, err = f.lockers.Subscribe(ctx, subscribeReq(sh.TrackingCode, "https://push.example/one-too-many"))
		checkError(t, "subscription 11", err, lokero.ECONFLICT, "too_many_subscriptions", "")
		if s, err := f.lockers.Subscribe(ctx, subscribeReq(sh.TrackingCode, "https://push.example/ep/1")); err != nil || s.ID != byPostcode.ID {
			t.Errorf("a known endpoint at the limit: %+v, %v; want %s back", s, err, byPostcode.ID)
		}

		// A parcel picked up takes no subscription.
		if _, err := f.lockers.Deposit(ctx, f.courier, "LOCKER-M5", sh.TrackingCode); err != nil {
			t.Fatal(err)
		}
		if _, err := f.lockers.DoorClosed(ctx, f.device, "LOCKER-M5", 1); err != nil {
			t.Fatal(err)
		}
		f.pickUp(t, f.openingCode(t, f.queued(t, sh.TrackingCode)[notify.ChannelSMS]))
		_, err = f.lockers.Subscribe(ctx, subscribeReq(sh.TrackingCode, "https://push.example/late"))
		checkError(t, "subscribe to a parcel picked up", err, lokero.ECONFLICT, "tracking_ended", "")
	})
}

// TestPushUnsubscribe: a subscription removed is gone; removing it again,
// or one that never was, is ENOTFOUND.
func TestPushUnsubscribe(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		sh := f.inTransit(t)
		s, err := f.lockers.Subscribe(ctx, subscribeReq(sh.TrackingCode, "https://push.example/ep/1"))
		if err != nil {
			t.Fatal(err)
		}
		keep, err := f.lockers.Subscribe(ctx, subscribeReq(sh.TrackingCode, "https://push.example/ep/2"))
		if err != nil {
			t.Fatal(err)
		}
		if err := f.lockers.Unsubscribe(ctx, s.ID); err != nil {
			t.Fatalf("unsubscribe: %v", err)
		}
		if _, err := f.store.PushSubscription(ctx, s.ID); lokero.ErrorCode(err) != lokero.ENOTFOUND {
			t.Errorf("after unsubscribing: %v; want ENOTFOUND", err)
		}
		if _, err := f.store.PushSubscription(ctx, keep.ID); err != nil {
			t.Errorf("the other subscription: %v; want it kept", err)
		}
		err = f.lockers.Unsubscribe(ctx, s.ID)
		checkError(t, "unsubscribe twice", err, lokero.ENOTFOUND, "unknown_subscription", "")
		for _, id := range []string{"", "psub_", "wh_" + s.ID[5:], "psub_x'; DROP TABLE push_subscriptions; --", "psub_" + strings.Repeat("A", 80)} {
			err := f.lockers.Unsubscribe(ctx, id)
			checkError(t, "unsubscribe "+id, err, lokero.ENOTFOUND, "unknown_subscription", "")
		}
	})
}

// pushPayload is the payload a push carries, as webpush.Sender makes it.
type pushPayload struct {
	ID           int64  `json:"id"`
	Kind         string `json:"kind"`
	Title        string `json:"title"`
	Body         string `json:"body"`
	URL          string `json:"url"`
	TrackingCode string `json:"tracking_code"`
	Lang         string `json:"lang"`
}

// TestPushNotices: a parcel's notice of arrival is queued to its
// recipient's phone and e-mail and once to each of its push
// subscriptions, stored without the code; sent through Web Push to a push
// service that decrypts it, it carries the tracking code and where the
// code went, never the code;
// a subscription the push service answers 410 Gone is dropped and gets
// no later notice, while the others still do.
func TestPushNotices(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		pushSvc := webpushtest.NewServer(t)
		keys, err := webpush.GenerateKeys(nil)
		if err != nil {
			t.Fatal(err)
		}
		email, sms := &fakeSender{}, &fakeSender{}
		f.lockers.SetSenders(map[string]notify.Sender{notify.ChannelEmail: email, notify.ChannelSMS: sms,
			notify.ChannelPush: webpush.New(keys, "mailto:ops@lokero.example", nil, webpush.WithClock(f.clock.Now))})
		f.lockers.SetPublicURL(publicURL)

		sh := f.inTransit(t)
		browsers := []webpushtest.Subscription{pushSvc.Subscribe(), pushSvc.Subscribe()}
		subs := make([]lokero.PushSubscription, len(browsers))
		for i, b := range browsers {
			req := subscribeReq(sh.TrackingCode, b.Endpoint)
			req.P256dh, req.Auth = b.P256dh, b.Auth
			if subs[i], err = f.lockers.Subscribe(ctx, req); err != nil {
				t.Fatal(err)
			}
		}
		dep, err := f.lockers.Deposit(ctx, f.courier, "LOCKER-M5", sh.TrackingCode)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.lockers.DoorClosed(ctx, f.device, "LOCKER-M5", dep.Compartment.Number); err != nil {
			t.Fatal(err)
		}

		arrival := kindMessagesAll(t, f, sh.TrackingCode, notify.KindArrival)
		if len(arrival[notify.ChannelSMS]) != 1 || len(arrival[notify.ChannelEmail]) != 1 || len(arrival[notify.ChannelPush]) != 2 {
			t.Fatalf("notice of arrival: %d SMS, %d e-mails, %d pushes; want 1, 1 and one per subscription (2)",
				len(arrival[notify.ChannelSMS]), len(arrival[notify.ChannelEmail]), len(arrival[notify.ChannelPush]))
		}
		code := f.openingCode(t, arrival[notify.ChannelSMS][0])
		pushes := map[string]lokero.OutboxMessage{} // by subscription
		for _, m := range arrival[notify.ChannelPush] {
			pushes[m.To] = m
			switch {
			case m.State != lokero.DeliveryQueued || m.ShipmentID != sh.ID:
				t.Errorf("push %d: state %s, shipment %q", m.ID, m.State, m.ShipmentID)
			case m.Code != nil || strings.Contains(m.Text, lokero.CodePlaceholder) || strings.Contains(m.Text, code) ||
				!strings.Contains(m.Text, "tekstiviestissäsi ja sähköpostissasi"):
				t.Errorf("push %d stored as %q (code ref %v): want no code, nor its placeholder, but where it went", m.ID, m.Text, m.Code)
			}
		}
		for _, s := range subs {
			if _, ok := pushes[s.ID]; !ok {
				t.Fatalf("no push queued to subscription %s (pushes to %v)", s.ID, pushes)
			}
		}

		// Sent through Web Push: the push service decrypts a notice that
		// says where the code went, never the code (a subscription is
		// proven with what others may know) nor the QR link.
		first := pushes[subs[0].ID]
		for range 2 { // the second time: done already
			if err := f.lockers.Deliver(ctx, first.ID, 1); err != nil {
				t.Fatalf("deliver the push: %v", err)
			}
		}
		got := pushSvc.Received()
		if len(got) != 1 {
			t.Fatalf("the push service got %d pushes (errors %q); want 1", len(got), pushSvc.Errors())
		}
		var p pushPayload
		if err := json.Unmarshal(got[0].Payload, &p); err != nil {
			t.Fatalf("payload %q: %v", got[0].Payload, err)
		}
		switch {
		case got[0].Endpoint != browsers[0].Endpoint:
			t.Errorf("pushed to %s; want %s", got[0].Endpoint, browsers[0].Endpoint)
		case strings.Contains(p.Body, code) || strings.Contains(p.Body, lokero.CodePlaceholder) || strings.Contains(p.Body, "/q/") ||
			!strings.Contains(p.Body, "Avauskoodi: tekstiviestissäsi ja sähköpostissasi"):
			t.Errorf("push body %q: want where the code went, not the code %s nor a QR link", p.Body, code)
		case !strings.Contains(p.Body, sh.TrackingCode) || p.TrackingCode != sh.TrackingCode:
			t.Errorf("push %+v: want the tracking code %s", p, sh.TrackingCode)
		case p.ID != first.ID || p.Kind != notify.KindArrival || p.URL != publicURL+"/t/"+sh.TrackingCode+"?lang=fi":
			t.Errorf("push %+v", p)
		}
		if m := f.message(t, first.ID); m.State != lokero.DeliverySent || m.ProviderID == "" || m.Attempts != 1 {
			t.Errorf("the push as recorded: %+v; want sent with the push service's message URL", m)
		}
		if len(email.messages())+len(sms.messages()) != 0 {
			t.Errorf("delivering the push sent %d e-mails and %d SMS", len(email.messages()), len(sms.messages()))
		}

		// The second browser is gone: its message fails, its subscription
		// is dropped.
		pushSvc.SetStatus(browsers[1].Endpoint, 410)
		second := pushes[subs[1].ID]
		if err := f.lockers.Deliver(ctx, second.ID, 1); err != nil {
			t.Errorf("a 410 is no error for the job: %v", err)
		}
		if m := f.message(t, second.ID); m.State != lokero.DeliveryFailed || !strings.Contains(m.LastError, "410") {
			t.Errorf("the push to a gone subscription: %+v; want failed with the 410", m)
		}
		if _, err := f.store.PushSubscription(ctx, subs[1].ID); lokero.ErrorCode(err) != lokero.ENOTFOUND {
			t.Errorf("the gone subscription: %v; want dropped (ENOTFOUND)", err)
		}
		if _, err := f.store.PushSubscription(ctx, subs[0].ID); err != nil {
			t.Errorf("the live subscription: %v; want kept", err)
		}
		if c := counts(f.lockers); c["push/sent"] != 1 || c["push/failed"] != 1 {
			t.Errorf("counts %v; want one push sent and one failed", c)
		}

		// A later notice goes to the live subscription only.
		if err := f.lockers.Remind(ctx, sh.ID); err != nil {
			t.Fatal(err)
		}
		reminder := kindMessagesAll(t, f, sh.TrackingCode, notify.KindReminder)
		if len(reminder[notify.ChannelSMS]) != 1 || len(reminder[notify.ChannelEmail]) != 1 ||
			len(reminder[notify.ChannelPush]) != 1 || reminder[notify.ChannelPush][0].To != subs[0].ID {
			var got []string
			for ch, ms := range reminder {
				for _, m := range ms {
					got = append(got, ch+" to "+m.To)
				}
			}
			t.Errorf("reminder: %q; want SMS, e-mail and one push to %s", got, subs[0].ID)
		}
	})
}

// kindMessagesAll returns every outbox message of a kind about a
// tracking code, by channel.
func kindMessagesAll(t *testing.T, f lockersFixture, trackingCode, kind string) map[string][]lokero.OutboxMessage {
	t.Helper()
	all, err := f.lockers.Outbox(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]lokero.OutboxMessage{}
	for _, m := range all {
		if m.TrackingCode == trackingCode && m.Kind == kind {
			out[m.Channel] = append(out[m.Channel], m)
		}
	}
	return out
}

// TestPushRemovedBeforeDelivery: a push queued to a subscription removed
// since fails without a send.
func TestPushRemovedBeforeDelivery(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		push := &fakeSender{}
		f.lockers.SetSenders(map[string]notify.Sender{notify.ChannelPush: push})
		sh := f.inTransit(t)
		s, err := f.lockers.Subscribe(ctx, subscribeReq(sh.TrackingCode, "https://push.example/ep/1"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.lockers.Deposit(ctx, f.courier, "LOCKER-M5", sh.TrackingCode); err != nil {
			t.Fatal(err)
		}
		if _, err := f.lockers.DoorClosed(ctx, f.device, "LOCKER-M5", 1); err != nil {
			t.Fatal(err)
		}
		m := f.queued(t, sh.TrackingCode)[notify.ChannelPush]
		if m.To != s.ID {
			t.Fatalf("queued push %+v; want one to %s", m, s.ID)
		}
		if err := f.lockers.Unsubscribe(ctx, s.ID); err != nil {
			t.Fatal(err)
		}
		if err := f.lockers.Deliver(ctx, m.ID, 1); err != nil {
			t.Fatal(err)
		}
		if got := f.message(t, m.ID); got.State != lokero.DeliveryFailed || len(push.messages()) != 0 {
			t.Errorf("a push to a removed subscription: %+v, %d sent; want failed, none sent", got, len(push.messages()))
		}
	})
}

// TestPushDoesNotReachForTheCode: a push never tells the opening code, so
// a notice of arrival whose SMS and e-mail failed leaves the parcel
// unreachable (issue 20: "at least one channel must succeed or the
// operator sees the parcel as unreachable") whether its push reached the
// recipient or failed too.
func TestPushDoesNotReachForTheCode(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		refuse := func(int, notify.Message) error { return notify.Permanent(errors.New("refused")) }
		email, sms, push := &fakeSender{fail: refuse}, &fakeSender{fail: refuse}, &fakeSender{}
		f.lockers.SetSenders(map[string]notify.Sender{notify.ChannelEmail: email, notify.ChannelSMS: sms, notify.ChannelPush: push})
		unreachable := func(id string) bool {
			t.Helper()
			sh, err := f.shipments.Get(ctx, f.retailer, id)
			if err != nil {
				t.Fatal(err)
			}
			return slices.ContainsFunc(sh.Events, func(e lokero.ShipmentEvent) bool {
				return strings.HasPrefix(e.Reason, service.UnreachableNote)
			})
		}
		for _, pushFails := range []bool{false, true} {
			push.fail = nil
			if pushFails {
				push.fail = refuse
			}
			req := request()
			req.Reference = fmt.Sprintf("ORDER-push-fails-%v", pushFails)
			sh := f.handedOver(t, req)
			if _, err := f.lockers.Subscribe(ctx, subscribeReq(sh.TrackingCode, "https://push.example/"+req.Reference)); err != nil {
				t.Fatal(err)
			}
			dep, err := f.lockers.Deposit(ctx, f.courier, "LOCKER-M5", sh.TrackingCode)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.lockers.DoorClosed(ctx, f.device, "LOCKER-M5", dep.Compartment.Number); err != nil {
				t.Fatal(err)
			}
			queued := f.queued(t, sh.TrackingCode)
			for _, ch := range []string{notify.ChannelPush, notify.ChannelSMS, notify.ChannelEmail} {
				if err := f.lockers.Deliver(ctx, queued[ch].ID, 1); err != nil {
					t.Fatalf("deliver %s: %v", ch, err)
				}
			}
			if got := f.message(t, queued[notify.ChannelPush].ID).State; got != map[bool]string{false: lokero.DeliverySent, true: lokero.DeliveryFailed}[pushFails] {
				t.Fatalf("push fails %v: the push is %s", pushFails, got)
			}
			if !unreachable(sh.ID) {
				t.Errorf("push delivered %v, SMS and e-mail failed: the parcel is not noted unreachable; want it noted (the push told no code)", !pushFails)
			}
		}
	})
}
