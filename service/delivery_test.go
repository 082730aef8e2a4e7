package service_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/calendar"
	"github.com/lokero/lokero/jobs"
	"github.com/lokero/lokero/locker"
	"github.com/lokero/lokero/notify"
	"github.com/lokero/lokero/service"
)

// fakeSender is a channel's provider that keeps what it accepts; fail,
// when set, decides the error of each try (nil: accepted).
type fakeSender struct {
	mu    sync.Mutex
	sent  []notify.Message
	tries int
	fail  func(try int, m notify.Message) error
}

func (s *fakeSender) Send(ctx context.Context, m notify.Message) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tries++
	if s.fail != nil {
		if err := s.fail(s.tries, m); err != nil {
			return "", err
		}
	}
	s.sent = append(s.sent, m)
	return fmt.Sprintf("%s-%d", m.Channel, m.ID), nil
}

// messages returns what the sender accepted.
func (s *fakeSender) messages() []notify.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]notify.Message(nil), s.sent...)
}

const publicURL = "https://lokero.example.fi"

// withSenders gives the fixture's lockers a fake e-mail and SMS provider.
func withSenders(f lockersFixture) (email, sms *fakeSender) {
	email, sms = &fakeSender{}, &fakeSender{}
	f.lockers.SetSenders(map[string]notify.Sender{notify.ChannelEmail: email, notify.ChannelSMS: sms})
	f.lockers.SetPublicURL(publicURL + "/")
	return email, sms
}

// readyWith books a parcel for req to the demo building's locker, has it
// deposited and its door closed, and returns it with its queued
// messages by channel.
func (f lockersFixture) readyWith(t *testing.T, req service.ShipmentRequest) (lokero.Shipment, map[string]lokero.OutboxMessage) {
	t.Helper()
	ctx := context.Background()
	res, err := f.shipments.Create(ctx, f.retailer, req, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.shipments.HandoverByCourier(ctx, f.courier, res.Shipment.ID); err != nil {
		t.Fatal(err)
	}
	dep, err := f.lockers.Deposit(ctx, f.courier, "LOCKER-M5", res.Shipment.TrackingCode)
	if err != nil {
		t.Fatal(err)
	}
	sh, err := f.lockers.DoorClosed(ctx, f.device, "LOCKER-M5", dep.Compartment.Number)
	if err != nil {
		t.Fatal(err)
	}
	return sh, f.queued(t, sh.TrackingCode)
}

// queued returns a parcel's messages still queued, by channel (the newest
// of each).
func (f lockersFixture) queued(t *testing.T, trackingCode string) map[string]lokero.OutboxMessage {
	t.Helper()
	list, err := f.lockers.Notifications(context.Background(), lokero.NotificationFilter{State: lokero.DeliveryQueued})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]lokero.OutboxMessage{}
	for _, m := range list {
		if _, ok := out[m.Channel]; !ok && m.TrackingCode == trackingCode {
			out[m.Channel] = m
		}
	}
	return out
}

// message reads a message back from the store.
func (f lockersFixture) message(t *testing.T, id int64) lokero.OutboxMessage {
	t.Helper()
	m, err := f.store.OutboxMessage(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// counts returns the lockers' notification counts as "channel/state" → n.
func counts(l *service.Lockers) map[string]uint64 {
	out := map[string]uint64{}
	for _, c := range l.NotificationCounts() {
		out[c.Channel+"/"+c.State] = c.N
	}
	return out
}

// TestDeliverArrival: a deposit's door closed queues an SMS and an
// e-mail; delivering each sends exactly one message over its channel, with
// the opening code (the one the keypad takes) and the place filled in,
// and records it sent; delivering again sends nothing.
func TestDeliverArrival(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		email, sms := withSenders(f)
		sh, queued := f.readyWith(t, request())
		if len(queued) != 2 || queued["sms"].ID == 0 || queued["email"].ID == 0 {
			t.Fatalf("queued messages: %+v; want an SMS and an e-mail", queued)
		}
		for range 2 { // the second time: done already
			for _, ch := range []string{"sms", "email"} {
				if err := f.lockers.Deliver(ctx, queued[ch].ID, 1); err != nil {
					t.Fatalf("deliver %s: %v", ch, err)
				}
			}
		}
		if len(email.messages()) != 1 || len(sms.messages()) != 1 {
			t.Fatalf("sent %d e-mails and %d SMS; want one each", len(email.messages()), len(sms.messages()))
		}
		var code string
		for _, tt := range []struct {
			sender *fakeSender
			stored lokero.OutboxMessage
			to     string
		}{{email, queued["email"], "matti@example.fi"}, {sms, queued["sms"], sh.Recipient.Phone}} {
			m := tt.sender.messages()[0]
			c := codePattern.FindStringSubmatch(m.Text)
			switch {
			case m.ID != tt.stored.ID || m.Channel != tt.stored.Channel || m.To != tt.to || m.Kind != notify.KindArrival || m.Language != "fi":
				t.Errorf("%s: %d %s to %q, %s in %q", tt.stored.Channel, m.ID, m.Channel, m.To, m.Kind, m.Language)
			case c == nil || strings.Contains(m.Text, lokero.CodePlaceholder) || m.Parcel.Code != c[1]:
				t.Errorf("%s: code %q, text %q", m.Channel, m.Parcel.Code, m.Text)
			case strings.Contains(tt.stored.Text, m.Parcel.Code):
				t.Errorf("%s: the stored text has the code in clear", m.Channel)
			}
			if code == "" {
				code = m.Parcel.Code
			} else if m.Parcel.Code != code {
				t.Errorf("the SMS and the e-mail tell different codes")
			}
			p := m.Parcel
			if p.TrackingCode != sh.TrackingCode || p.TrackingURL != publicURL+"/t/"+sh.TrackingCode+"?lang=fi" ||
				!p.Deadline.Equal(sh.StorageDeadline) || p.CODCents != 0 {
				t.Errorf("%s: parcel %+v", m.Channel, p)
			}
			want := notify.Place{ID: "LOCKER-M5", Type: "LOCKER", Name: "As Oy Mannerheimintie 5", Street: "Mannerheimintie 5",
				Postcode: "00104", City: "Helsinki"}
			if fmt.Sprint(p.Place) != fmt.Sprint(want) {
				t.Errorf("%s: place %+v; want %+v (a locker open round the clock: no hours)", m.Channel, p.Place, want)
			}
			got := f.message(t, tt.stored.ID)
			if got.State != lokero.DeliverySent || got.ProviderID != fmt.Sprintf("%s-%d", m.Channel, m.ID) || got.Attempts != 1 ||
				got.SentAt.IsZero() || got.LastError != "" {
				t.Errorf("%s as recorded: %+v", m.Channel, got)
			}
		}
		// The code sent is the one the keypad opens the door with.
		if res, err := f.lockers.Keypad(ctx, f.device, "LOCKER-M5", code); err != nil || res.Compartment == 0 {
			t.Errorf("the code sent at the keypad: %+v, %v", res, err)
		}
		if c := counts(f.lockers); c["email/sent"] != 1 || c["sms/sent"] != 1 {
			t.Errorf("counts %v; want one e-mail and one SMS sent", c)
		}
	})
}

// TestDeliverFailures: a provider refusing for good fails its message
// with the reason and leaves the other channel alone; a provider that is
// down has the attempt recorded and the error returned for the job to
// retry, until the message is a day old, when it fails.
func TestDeliverFailures(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		email, sms := withSenders(f)
		sms.fail = func(int, notify.Message) error { return notify.Permanent(errors.New("not a mobile number")) }
		email.fail = func(try int, _ notify.Message) error {
			if try == 1 {
				return errors.New("dial tcp: connection refused")
			}
			return nil
		}
		_, queued := f.readyWith(t, request())
		if err := f.lockers.Deliver(ctx, queued["sms"].ID, 1); err != nil {
			t.Fatalf("a permanent failure is no error for the job: %v", err)
		}
		if got := f.message(t, queued["sms"].ID); got.State != lokero.DeliveryFailed || got.LastError != "not a mobile number" || got.Attempts != 1 {
			t.Errorf("SMS after a permanent failure: %+v", got)
		}
		err := f.lockers.Deliver(ctx, queued["email"].ID, 1)
		if err == nil || !strings.Contains(err.Error(), "connection refused") {
			t.Fatalf("a transient failure: %v; want the error back for a retry", err)
		}
		if got := f.message(t, queued["email"].ID); got.State != lokero.DeliveryQueued || got.Attempts != 1 ||
			got.LastError != "dial tcp: connection refused" {
			t.Errorf("e-mail after a transient failure: %+v", got)
		}
		if err := f.lockers.Deliver(ctx, queued["email"].ID, 2); err != nil {
			t.Fatal(err)
		}
		if got := f.message(t, queued["email"].ID); got.State != lokero.DeliverySent || got.Attempts != 2 {
			t.Errorf("e-mail sent on the second try: %+v", got)
		}
		if n := len(email.messages()); n != 1 {
			t.Errorf("%d e-mails sent; want 1", n)
		}
		// The SMS stays failed: retrying sends nothing.
		failedSMS := queued["sms"].ID
		if err := f.lockers.Deliver(ctx, failedSMS, 2); err != nil || sms.tries != 1 {
			t.Errorf("a failed message delivered again: %v, %d tries", err, sms.tries)
		}

		// A provider down for a day.
		email.fail = func(int, notify.Message) error { return errors.New("421 service not available") }
		req := request()
		req.Reference = "ORDER-2"
		_, queued = f.readyWith(t, req)
		for attempt := 1; attempt <= 2; attempt++ {
			if err := f.lockers.Deliver(ctx, queued["email"].ID, attempt); err == nil {
				t.Fatalf("attempt %d: no error", attempt)
			}
			f.clock.Advance(time.Hour)
		}
		if got := f.message(t, queued["email"].ID); got.State != lokero.DeliveryQueued || got.Attempts != 2 {
			t.Errorf("after 2 failed attempts: %+v", got)
		}
		f.clock.Advance(service.MaxDeliveryAge)
		if err := f.lockers.Deliver(ctx, queued["email"].ID, 3); err != nil {
			t.Fatalf("giving up is no error for the job: %v", err)
		}
		got := f.message(t, queued["email"].ID)
		if got.State != lokero.DeliveryFailed || got.LastError != "gave up after 24 h: 421 service not available" || got.Attempts != 3 {
			t.Errorf("after a day: %+v", got)
		}
		if c := counts(f.lockers); c["email/failed"] != 1 || c["sms/failed"] != 1 || c["email/sent"] != 1 || c["email/retried"] != 3 {
			t.Errorf("counts %v", c)
		}
		list, err := f.lockers.Notifications(ctx, lokero.NotificationFilter{State: lokero.DeliveryFailed})
		if err != nil || len(list) != 2 || list[0].ID != got.ID || list[1].ID != failedSMS {
			t.Errorf("failed list: %+v, %v", list, err)
		}
	})
}

// TestDeliverWithoutSender: a channel without a provider keeps its
// messages for the local outbox viewer (local); a channel with one sends.
func TestDeliverWithoutSender(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		email := &fakeSender{}
		f.lockers.SetSenders(map[string]notify.Sender{notify.ChannelEmail: email})
		_, queued := f.readyWith(t, request())
		for _, m := range queued {
			if err := f.lockers.Deliver(ctx, m.ID, 1); err != nil {
				t.Fatal(err)
			}
		}
		if got := f.message(t, queued["sms"].ID); got.State != lokero.DeliveryLocal || got.SentAt.IsZero() || got.Attempts != 0 {
			t.Errorf("an SMS without a provider: %+v; want local", got)
		}
		if got := f.message(t, queued["email"].ID); got.State != lokero.DeliverySent || len(email.messages()) != 1 {
			t.Errorf("the e-mail: %+v", got)
		}
		// The development outbox still shows it, code filled in.
		if msgs, err := sentMessages(ctx, f.lockers, 2); err != nil || len(msgs) != 2 {
			t.Errorf("outbox: %v, %v", msgs, err)
		}
		if c := counts(f.lockers); c["sms/local"] != 1 || c["email/sent"] != 1 {
			t.Errorf("counts %v", c)
		}
	})
}

// TestDeliverLanguage: a message goes in its recipient's language.
func TestDeliverLanguage(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		email, _ := withSenders(f)
		for _, lang := range []string{"sv", "en"} {
			req := request()
			req.Reference = "ORDER-" + lang
			req.Recipient.Language = lang
			_, queued := f.readyWith(t, req)
			if err := f.lockers.Deliver(ctx, queued["email"].ID, 1); err != nil {
				t.Fatal(err)
			}
			msgs := email.messages()
			m := msgs[len(msgs)-1]
			word := map[string]string{"sv": "Öppningskod: ", "en": "Opening code: "}[lang]
			if m.Language != lang || !strings.Contains(m.Text, word+m.Parcel.Code) {
				t.Errorf("%s: language %q, text %q", lang, m.Language, m.Text)
			}
		}
	})
}

// TestDeliverCounterParcel: a notice of arrival at a post office carries
// the counter, its hours for the coming seven days in the recipient's
// language, the pickup code and the cash on delivery to pay.
func TestDeliverCounterParcel(t *testing.T) {
	t.Parallel()
	onEveryStore(t, newOutlets, func(t *testing.T, f outletFixture) {
		ctx := context.Background()
		email, _ := withSenders(f.lockersFixture)
		sh := f.toOutlet(t, "PO-FAR", 2590)
		_, code := f.arrive(t, sh)
		queued := f.queued(t, sh.TrackingCode)
		if err := f.lockers.Deliver(ctx, queued["email"].ID, 1); err != nil {
			t.Fatal(err)
		}
		msgs := email.messages()
		if len(msgs) != 1 {
			t.Fatalf("%d e-mails", len(msgs))
		}
		p := msgs[0].Parcel
		if !p.Place.Counter || p.Place.ID != "PO-FAR" || p.Place.Type != "POSTOFFICE" || p.Place.Name != "Posti Pasila" {
			t.Errorf("place %+v", p.Place)
		}
		// 25.11.2026 is a Wednesday; PO-FAR opens Monday to Friday 9-18.
		want := []string{"ke 25.11. 9.00–18.00", "to 26.11. 9.00–18.00", "pe 27.11. 9.00–18.00", "la 28.11. suljettu",
			"su 29.11. suljettu", "ma 30.11. 9.00–18.00", "ti 1.12. 9.00–18.00"}
		if fmt.Sprint(p.Place.Hours) != fmt.Sprint(want) {
			t.Errorf("hours %q; want %q", p.Place.Hours, want)
		}
		if p.Code != code || p.CODCents != 2590 || p.Currency != "EUR" {
			t.Errorf("code %q (want %q), COD %d %s", p.Code, code, p.CODCents, p.Currency)
		}
	})
}

// TestDeliverThroughJobs: with a real job runner, closing the door is
// enough: the delivery jobs queued with the notice send one e-mail and one
// SMS, and record them sent.
func TestDeliverThroughJobs(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		email, sms := withSenders(f)
		dialect := jobs.SQLite
		if f.store.Dialect().Name() == "postgres" {
			dialect = jobs.Postgres
		}
		hooks := service.NewWebhooks(f.store, f.clock, nil, nil, nil, nil, slog.New(slog.DiscardHandler))
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
		sh := f.inTransit(t)
		if _, err := f.lockers.Deposit(ctx, f.courier, "LOCKER-M5", sh.TrackingCode); err != nil {
			t.Fatal(err)
		}
		if _, err := f.lockers.DoorClosed(ctx, f.device, "LOCKER-M5", 1); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for len(email.messages()) < 1 || len(sms.messages()) < 1 {
			if time.Now().After(deadline) {
				t.Fatalf("not delivered within 20 s: %d e-mails, %d SMS", len(email.messages()), len(sms.messages()))
			}
			time.Sleep(50 * time.Millisecond)
		}
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			list, err := f.lockers.Notifications(ctx, lokero.NotificationFilter{State: lokero.DeliverySent})
			if err == nil && len(list) == 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("not recorded sent: %+v, %v", list, err)
			}
		}
		time.Sleep(200 * time.Millisecond) // a second run would show by now
		if len(email.messages()) != 1 || len(sms.messages()) != 1 {
			t.Errorf("%d e-mails, %d SMS; want one each", len(email.messages()), len(sms.messages()))
		}
		if m := email.messages()[0]; m.Parcel.Code == "" || !strings.Contains(m.Text, m.Parcel.Code) || m.Parcel.Place.ID != "LOCKER-M5" {
			t.Errorf("the e-mail: code %q, place %+v", m.Parcel.Code, m.Parcel.Place)
		}
	})
}

// TestRecordSMSReport: a gateway's delivery reports are kept, the latest
// last; a failure at the network fails the message with the report.
func TestRecordSMSReport(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		withSenders(f)
		_, queued := f.readyWith(t, request())
		id := queued["sms"].ID
		if err := f.lockers.Deliver(ctx, id, 1); err != nil {
			t.Fatal(err)
		}
		if err := f.lockers.RecordSMSReport(ctx, id, 8, "ACK/"); err != nil {
			t.Fatal(err)
		}
		if got := f.message(t, id); got.State != lokero.DeliverySent || got.Report != "dlr 8: ACK/" {
			t.Errorf("after a submit report: %+v", got)
		}
		if err := f.lockers.RecordSMSReport(ctx, id, 16, "NACK/0x0000000b/Invalid Destination Address\n"); err != nil {
			t.Fatal(err)
		}
		got := f.message(t, id)
		if got.State != lokero.DeliveryFailed || got.LastError != "dlr 16: NACK/0x0000000b/Invalid Destination Address" || got.Report != got.LastError {
			t.Errorf("after a rejection: %+v", got)
		}
		if c := counts(f.lockers); c["sms/failed"] != 1 {
			t.Errorf("counts %v", c)
		}
		for _, bad := range []int64{queued["email"].ID, id + 1000} {
			if err := f.lockers.RecordSMSReport(ctx, bad, 1, ""); lokero.ErrorCode(err) != lokero.ENOTFOUND {
				t.Errorf("a report about message %d (no SMS): %v; want ENOTFOUND", bad, err)
			}
		}
	})
}

// TestSMSReportBeforeItsRecord: an SMSC that rejects at once may have its
// failure report recorded before the sender's acceptance is: the message
// stays failed, and nothing counts it as sent twice.
func TestSMSReportBeforeItsRecord(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		_, sms := withSenders(f)
		sms.fail = func(_ int, m notify.Message) error {
			return f.lockers.RecordSMSReport(ctx, m.ID, 16, "NACK/0x0000000b/Invalid Destination Address")
		}
		_, queued := f.readyWith(t, request())
		id := queued["sms"].ID
		if err := f.lockers.Deliver(ctx, id, 1); err != nil {
			t.Fatal(err)
		}
		if got := f.message(t, id); got.State != lokero.DeliveryFailed {
			t.Errorf("message after its report came first: %+v; want failed", got)
		}
		if c := counts(f.lockers); c["sms/repeated"] != 0 || c["sms/failed"] != 1 {
			t.Errorf("counts %v; want one failed, none repeated", c)
		}
	})
}

// TestDeliverNotificationsFilter: the list refuses what it cannot select
// by, naming the field.
func TestDeliverNotificationsFilter(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		for _, tt := range []struct {
			f     lokero.NotificationFilter
			field string
		}{
			{lokero.NotificationFilter{State: "lost"}, "state"},
			{lokero.NotificationFilter{Channel: "pigeon"}, "channel"},
			{lokero.NotificationFilter{Limit: 1001}, "limit"},
			{lokero.NotificationFilter{Limit: -1}, "limit"},
		} {
			_, err := f.lockers.Notifications(context.Background(), tt.f)
			checkInvalid(t, err, tt.field)
		}
	})
}

// TestDeliverNeverLogsTheCode: neither the code nor the text is logged,
// whatever happens to the message.
func TestDeliverNeverLogsTheCode(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		var logs bytes.Buffer
		var mu sync.Mutex
		codes, err := locker.NewCodes([]byte(strings.Repeat("s", 32))) // the fixture's secret
		if err != nil {
			t.Fatal(err)
		}
		l := service.NewLockers(f.store, f.dir, calendar.Default(), f.clock, nil, codes,
			slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, &slog.HandlerOptions{Level: slog.LevelDebug})))
		email, sms := &fakeSender{}, &fakeSender{}
		email.fail = func(int, notify.Message) error { return errors.New("timeout") }
		sms.fail = func(int, notify.Message) error { return notify.Permanent(errors.New("refused")) }
		l.SetSenders(map[string]notify.Sender{notify.ChannelEmail: email, notify.ChannelSMS: sms})
		_, queued := f.readyWith(t, request())
		l.Deliver(ctx, queued["email"].ID, 1)
		l.Deliver(ctx, queued["sms"].ID, 1)
		email.fail = nil
		if err := l.Deliver(ctx, queued["email"].ID, 2); err != nil {
			t.Fatal(err)
		}
		m := email.messages()[0]
		mu.Lock()
		defer mu.Unlock()
		if logs.Len() == 0 {
			t.Fatal("nothing logged")
		}
		if strings.Contains(logs.String(), m.Parcel.Code) || strings.Contains(logs.String(), "Pakettisi") {
			t.Errorf("the log tells the code or the text:\n%s", logs.String())
		}
	})
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

// TestDeliverReportSignature: a delivery-report URL's signature is the
// message's alone, and one made under a key rotated out still holds.
func TestDeliverReportSignature(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		l := f.lockers
		sig := l.ReportSignature(7)
		tampered := "A" + sig[1:]
		if sig[0] == 'A' {
			tampered = "B" + sig[1:]
		}
		if !l.ValidReportSignature(7, sig) || l.ValidReportSignature(8, sig) || l.ValidReportSignature(7, "") ||
			l.ValidReportSignature(7, tampered) {
			t.Errorf("signature %q checks wrongly", sig)
		}
		old, current := []byte(strings.Repeat("o", 32)), []byte(strings.Repeat("n", 32))
		a := service.NewLockers(f.store, f.dir, calendar.Default(), f.clock, nil, nil, slog.New(slog.DiscardHandler))
		a.SetReportKeys(old)
		b := service.NewLockers(f.store, f.dir, calendar.Default(), f.clock, nil, nil, slog.New(slog.DiscardHandler))
		b.SetReportKeys(current, old)
		if !b.ValidReportSignature(7, a.ReportSignature(7)) {
			t.Error("a signature under the older key fails after the rotation")
		}
		if a.ValidReportSignature(7, b.ReportSignature(7)) || b.ReportSignature(7) == a.ReportSignature(7) {
			t.Error("the newest key does not sign")
		}
		if l.ValidReportSignature(7, a.ReportSignature(7)) {
			t.Error("another process's random key matches")
		}
	})
}

// jobHandler is the jobs' handler as lokero serve wires it: the locker
// service's jobs and the webhooks'.
type jobHandler struct {
	*service.Lockers
	*service.Webhooks
}
