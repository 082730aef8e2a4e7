//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/textproto"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/lokero/lokero/demo"
	"github.com/lokero/lokero/notify/kannel"
	"github.com/lokero/lokero/notify/kannel/kanneltest"
	"github.com/lokero/lokero/notify/webpush/webpushtest"
)

// webhookCall is one POST the retailer's receiver got.
type webhookCall struct {
	header http.Header
	body   []byte
}

// webhookReceiver is a retailer's webhook endpoint: it keeps what it gets
// and answers 204.
type webhookReceiver struct {
	mu    sync.Mutex
	calls []webhookCall
}

func (r *webhookReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.calls = append(r.calls, webhookCall{header: req.Header.Clone(), body: body})
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (r *webhookReceiver) received() []webhookCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

// webhookEvent is the body of a lokero webhook (the fields the test reads).
type webhookEvent struct {
	Type string
	Data struct {
		ShipmentID   string `json:"shipment_id"`
		TrackingCode string `json:"tracking_code"`
		Sequence     int
		Status       string
		Reason       string
	}
}

// mimeTree describes a message's MIME structure: its media types, a
// multipart's parts in brackets ("multipart/alternative[text/plain
// text/html]").
func mimeTree(t *testing.T, header textproto.MIMEHeader, body io.Reader) string {
	t.Helper()
	media, params, err := mime.ParseMediaType(header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type %q: %v", header.Get("Content-Type"), err)
	}
	if !strings.HasPrefix(media, "multipart/") {
		_, _ = io.Copy(io.Discard, body)
		return media
	}
	if params["boundary"] == "" {
		t.Fatalf("%s without a boundary", media)
	}
	var parts []string
	mr := multipart.NewReader(body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("%s: %v", media, err)
		}
		parts = append(parts, mimeTree(t, part.Header, part))
	}
	return media + "[" + strings.Join(parts, " ") + "]"
}

// e2eParcel is a parcel of the end-to-end test and what its recipient
// should get.
type e2eParcel struct {
	name      string
	phone     string // as booked
	e164      string
	email     string
	language  string
	codeLabel string // the word before the code in the SMS and the e-mail
	subject   string // how the e-mail's subject begins
	id        string
	tracking  string
	code      string // from the development outbox
	smsText   string // from the development outbox, code filled in
	qrLabel   string // what the SMS says before the link to the parcel's QR code
}

// qrLinkKey is the length of the key after the tracking code in a QR link
// (a 96-bit MAC in base64url).
const qrLinkKey = 16

// TestNotifyEndToEnd runs the real `lokero serve` in a child process with
// --smtp to an SMTP server in this test, --sms to a real Kannel (bearerbox
// and smsbox with fakesmsc as the SMSC) and --dev (http push endpoints
// and webhooks to this machine, the development outbox). A retailer
// registers a webhook; a Finnish recipient's browser subscribes to push
// for their parcel; that parcel and a Finland-Swede's (language sv), each
// with a phone and an e-mail address, are deposited at the demo building's
// LOCKER and their doors closed. Then, for each parcel: exactly one e-mail,
// multipart/alternative with a text and an HTML part in the recipient's
// language, both with the opening code the development outbox shows;
// exactly one SMS at fakesmsc, in the coding and number of parts
// kannel.Segments counts for its text, carrying that text; and Kannel's
// delivery report recorded. The push service decrypts exactly one push,
// with the code. The webhook receiver gets every event of both parcels,
// each signed so that the Standard Webhooks library verifies it with the
// secret POST /v1/webhooks answered, ready_for_pickup last. A phone "123"
// is refused at booking; a landline, which takes no SMS, ends in the
// operator's failed list with the reason.
func TestNotifyEndToEnd(t *testing.T) {
	t.Parallel()
	gw := kanneltest.Start(t)
	mailServer := startSMTPSink(t)
	pushService := webpushtest.NewServer(t)
	hooks := &webhookReceiver{}
	receiver := httptest.NewServer(hooks)
	t.Cleanup(receiver.Close)

	db := filepath.Join(t.TempDir(), "lokero.db")
	srv := &childServe{t: t, addr: freeAddr(t), args: []string{"--db", db, "--dev",
		"--smtp", "smtp://" + mailServer.addr, "--mail-from", "Posti-lokero <noreply@lokero.test>",
		"--sms", gw.URL("from=Posti")}}
	srv.start()
	t.Cleanup(srv.kill)
	if err := srv.waitHealthy(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	base := "http://" + srv.addr
	key := lastLine(t, "retailer", "add", "--db", db, "Kauppa")
	courier := lastLine(t, "courier", "add", "--db", db, "Kuski")
	operator := lastLine(t, "operator", "add", "--db", db, "Olli")
	device := lastLine(t, "locker", "provision", "--db", db, demo.DemoLockerID)

	// The retailer's webhook, every event: the secret is told once.
	var hook struct {
		ID     string
		Secret string
	}
	if status := call(t, "POST", base+"/v1/webhooks", key, map[string]any{"url": receiver.URL + "/lokero"}, &hook); status != 201 ||
		!strings.HasPrefix(hook.Secret, "whsec_") {
		t.Fatalf("POST /v1/webhooks: %d %+v", status, hook)
	}
	verifier, err := standardwebhooks.NewWebhook(hook.Secret)
	if err != nil {
		t.Fatalf("the secret %q: %v", hook.Secret, err)
	}

	// A phone number that cannot be normalised is refused at booking.
	bad := demoBuildingParcel()
	bad["recipient"].(map[string]any)["phone"] = "123"
	var refused struct {
		Error struct{ Code, Field, Message string }
	}
	if status := call(t, "POST", base+"/v1/shipments", key, bad, &refused); status != 400 ||
		refused.Error.Field != "recipient.phone" || refused.Error.Code != "invalid_phone" || !strings.Contains(refused.Error.Message, `"123"`) {
		t.Errorf("booking with phone \"123\": %d %+v; want 400 recipient.phone invalid_phone", status, refused)
	}

	parcels := []*e2eParcel{
		{name: "Finnish", phone: "040 123 4567", e164: "+358401234567", email: "maija@example.fi", language: "fi",
			codeLabel: "Avauskoodi", subject: "Pakettisi on noudettavissa", qrLabel: "QR-koodi automaatille"},
		{name: "Swedish", phone: "050 765 4321", e164: "+358507654321", email: "stina@example.fi", language: "sv",
			codeLabel: "Öppningskod", subject: "Ditt paket kan hämtas", qrLabel: "QR-kod för automaten"},
	}
	// A landline: a valid number, so booked, but it takes no SMS.
	landline := &e2eParcel{name: "landline", phone: "09 310 1691", e164: "+35893101691", language: "fi"}

	create := func(p *e2eParcel) {
		t.Helper()
		body := demoBuildingParcel()
		r := body["recipient"].(map[string]any)
		r["phone"], r["language"] = p.phone, p.language
		if p.email != "" {
			r["email"] = p.email
		}
		var sh struct {
			ID           string `json:"id"`
			TrackingCode string `json:"tracking_code"`
		}
		if status := call(t, "POST", base+"/v1/shipments", key, body, &sh); status != 201 {
			t.Fatalf("create the %s parcel: %d", p.name, status)
		}
		p.id, p.tracking = sh.ID, sh.TrackingCode
	}
	deliver := func(p *e2eParcel) {
		t.Helper()
		depositAtDemoLocker(t, base, courier, device, p.id, p.tracking)
	}
	for _, p := range append(slices.Clone(parcels), landline) {
		create(p)
	}

	// The Finnish recipient's browser subscribes to push for the parcel,
	// proving it with the postcode.
	sub := pushService.Subscribe()
	var subscribed struct {
		ID           string
		TrackingCode string `json:"tracking_code"`
	}
	if status := call(t, "POST", base+"/v1/push-subscriptions", "", map[string]any{
		"tracking_code": parcels[0].tracking, "postcode": "00104", "language": "fi",
		"subscription": map[string]any{"endpoint": sub.Endpoint, "keys": map[string]string{"p256dh": sub.P256dh, "auth": sub.Auth}},
	}, &subscribed); status != 201 || subscribed.TrackingCode != parcels[0].tracking {
		t.Fatalf("POST /v1/push-subscriptions: %d %+v", status, subscribed)
	}

	for _, p := range append(slices.Clone(parcels), landline) {
		deliver(p)
	}

	// The codes and the SMS texts as lokero sends them, from the
	// development outbox (the operator's).
	var box struct {
		Messages []struct {
			Channel      string
			To           string
			TrackingCode string `json:"tracking_code"`
			Kind         string
			Text         string
		}
	}
	if status := call(t, "GET", base+"/dev/outbox", operator, nil, &box); status != 200 {
		t.Fatalf("GET /dev/outbox: %d", status)
	}
	for _, p := range parcels {
		for _, m := range box.Messages {
			if m.TrackingCode == p.tracking && m.Channel == "sms" && m.Kind == "arrival" {
				p.smsText = m.Text
			}
		}
		c := regexp.MustCompile(regexp.QuoteMeta(p.codeLabel) + `: ([0-9]{4,})`).FindStringSubmatch(p.smsText)
		if c == nil {
			t.Fatalf("the %s parcel's SMS in the development outbox has no %s: %q (outbox %+v)", p.name, p.codeLabel, p.smsText, box)
		}
		p.code = c[1]
	}

	// Every channel's messages recorded sent, the landline's SMS failed.
	var all []e2eNotification
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		all = e2eNotifications(t, base, operator, "")
		done := 0
		for _, n := range all {
			if n.State != "queued" {
				done++
			}
		}
		if len(all) == 6 && done == 6 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not all of 6 messages (2 e-mails, 3 SMS, 1 push) done within 30 s: %+v\nserve's log:\n%s\nKannel:\n%s",
				all, srv.log.String(), gw.Logs())
		}
	}
	for _, n := range all {
		want := "sent"
		if n.TrackingCode == landline.tracking {
			want = "failed"
		}
		if n.State != want || n.Kind != "arrival" {
			t.Errorf("message %d: %+v; want an arrival %s", n.ID, n, want)
		}
	}

	// The landline: in the failed list, with the number's problem.
	failed := e2eNotifications(t, base, operator, "?state=failed")
	if len(failed) != 1 {
		t.Fatalf("failed list: %+v; want the landline's SMS only", failed)
	}
	if f := failed[0]; f.Channel != "sms" || f.TrackingCode != landline.tracking || f.To != landline.e164 ||
		!strings.Contains(f.LastError, landline.e164) || !strings.Contains(f.LastError, "not a mobile number") {
		t.Errorf("the landline's failure: %+v; want its SMS with a reason naming %s as no mobile number", f, landline.e164)
	}

	// The e-mails: one per parcel, MIME multipart/alternative, the code in
	// both parts, in the recipient's language, with a Message-ID that is
	// the provider id the operator sees.
	time.Sleep(time.Second) // a repeat would show by now
	mails := mailServer.messages()
	if len(mails) != len(parcels) {
		t.Errorf("the SMTP server got %d e-mails; want %d", len(mails), len(parcels))
	}
	providerIDs := map[string]string{} // tracking code + channel → provider id
	for _, n := range all {
		providerIDs[n.TrackingCode+" "+n.Channel] = n.ProviderID
	}
	for _, p := range parcels {
		var got []smtpMessage
		for _, m := range mails {
			if slices.Equal(m.to, []string{p.email}) {
				got = append(got, m)
			}
		}
		if len(got) != 1 {
			t.Errorf("%s parcel: %d e-mails to %s; want 1", p.name, len(got), p.email)
			continue
		}
		msg, err := mail.ReadMessage(bytes.NewReader(got[0].data))
		if err != nil {
			t.Errorf("%s parcel: the e-mail is not a message: %v", p.name, err)
			continue
		}
		if v := msg.Header.Get("MIME-Version"); v != "1.0" {
			t.Errorf("%s parcel: MIME-Version %q", p.name, v)
		}
		if id := msg.Header.Get("Message-Id"); id == "" || id != providerIDs[p.tracking+" email"] {
			t.Errorf("%s parcel: Message-ID %q; the operator sees provider id %q", p.name, id, providerIDs[p.tracking+" email"])
		}
		subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		if err != nil || !strings.HasPrefix(subject, p.subject) {
			t.Errorf("%s parcel: Subject %q (%v); want it to begin %q", p.name, subject, err, p.subject)
		}
		const wantTree = "multipart/related[multipart/alternative[text/plain text/html] image/png]" // the QR code inline
		if tree := mimeTree(t, textproto.MIMEHeader(msg.Header), bytes.NewReader(mustBody(t, got[0].data))); tree != wantTree {
			t.Errorf("%s parcel: the e-mail's MIME structure is %s; want %s", p.name, tree, wantTree)
		}
		parts := map[string]string{}
		msg, _ = mail.ReadMessage(bytes.NewReader(got[0].data))
		mimeParts(t, textproto.MIMEHeader(msg.Header), msg.Body, parts)
		for _, media := range []string{"text/plain", "text/html"} {
			if !strings.Contains(parts[media], p.code) || !strings.Contains(parts[media], p.codeLabel) ||
				!strings.Contains(parts[media], p.tracking) {
				t.Errorf("%s parcel: the e-mail's %s part lacks %s %s or the tracking code %s: %.600q",
					p.name, media, p.codeLabel, p.code, p.tracking, parts[media])
			}
		}
	}

	// The SMS: one per parcel (as many parts as kannel.Segments counts),
	// from Posti to the number in E.164, carrying the text lokero sends.
	expectParts := 0
	type expectation struct {
		coding string
		parts  int
	}
	expect := map[string]expectation{}
	// The SMS is the outbox's text and, as it fits in two segments, the
	// link to the parcel's QR code (made as it is sent, never stored).
	qrLink := func(p *e2eParcel) *regexp.Regexp {
		return regexp.MustCompile("^" + regexp.QuoteMeta(p.smsText+" "+p.qrLabel+": "+base+"/q/"+p.tracking+".") + "[A-Za-z0-9_-]{" + strconv.Itoa(qrLinkKey) + "}$")
	}
	for _, p := range parcels {
		sent := p.smsText + " " + p.qrLabel + ": " + base + "/q/" + p.tracking + "." + strings.Repeat("x", qrLinkKey)
		coding, segs := kannel.Segments(sent)
		if coding != kannel.CodingGSM7 {
			t.Errorf("%s parcel: the SMS %q is %s; want GSM-7 (å, ä and ö are in it)", p.name, p.smsText, coding)
		}
		expect[p.e164] = expectation{coding, segs}
		expectParts += segs
		t.Logf("%s parcel: SMS of %d characters, %s, %d segment(s): %q", p.name, len([]rune(sent)), coding, segs, sent)
	}
	got := gw.Receive(t, expectParts, 30*time.Second)
	got = append(got, gw.More(time.Second)...) // a repeat, or a part too many
	byReceiver := map[string][]kanneltest.Message{}
	for _, m := range got {
		t.Logf("fakesmsc got <%s>", m.Line)
		byReceiver[m.Receiver] = append(byReceiver[m.Receiver], m)
	}
	if len(got) != expectParts || len(byReceiver) != len(parcels) {
		t.Errorf("fakesmsc got %d parts to %d numbers; want %d to %d", len(got), len(byReceiver), expectParts, len(parcels))
	}
	for _, p := range parcels {
		want, msgs := expect[p.e164], byReceiver[p.e164]
		if len(msgs) != want.parts {
			t.Errorf("%s parcel: %d parts to %s; want one SMS of %d", p.name, len(msgs), p.e164, want.parts)
			continue
		}
		if want.parts > 1 {
			// Parts of one SMS: the same reference, numbered 1..n of n.
			sort.Slice(msgs, func(i, j int) bool {
				_, _, a, _ := msgs[i].Part()
				_, _, b, _ := msgs[j].Part()
				return a < b
			})
			ref0, _, _, _ := msgs[0].Part()
			for i, m := range msgs {
				ref, total, seq, ok := m.Part()
				if !ok || ref != ref0 || total != want.parts || seq != i+1 {
					t.Errorf("%s parcel: part %d: %s UDH % x; want part %d of %d of one SMS", p.name, i+1, m.Type, m.UDH, i+1, want.parts)
				}
			}
		} else if wantType := map[string]string{kannel.CodingGSM7: "text", kannel.CodingUCS2: "ucs-2"}[want.coding]; msgs[0].Type != wantType {
			t.Errorf("%s parcel: fakesmsc got a %q message; want %q", p.name, msgs[0].Type, wantType)
		}
		for _, m := range msgs {
			if m.Sender != "Posti" {
				t.Errorf("%s parcel: sender %q; want Posti", p.name, m.Sender)
			}
		}
		text := kanneltest.Text(msgs, want.coding == kannel.CodingUCS2)
		if !qrLink(p).MatchString(text) {
			t.Errorf("%s parcel: fakesmsc got %q; want %q with the QR link", p.name, text, p.smsText)
			continue
		}
		// The link shows the parcel's QR code: its page names the locker.
		link := text[strings.LastIndex(text, " ")+1:]
		var page struct {
			LocationID  string `json:"location_id"`
			Compartment int    `json:"compartment"`
		}
		if status := call(t, "GET", link, "", nil, &page); status != 200 || page.LocationID != demo.DemoLockerID || page.Compartment < 1 {
			t.Errorf("%s parcel: GET %s: %d %+v; want the demo locker and a compartment", p.name, link, status, page)
		}
	}
	// Kannel's delivery reports come back to lokero and are recorded.
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		reported := 0
		sms := e2eNotifications(t, base, operator, "?channel=sms&state=sent")
		for _, n := range sms {
			if strings.HasPrefix(n.Report, "dlr ") {
				reported++
			}
		}
		if reported == len(parcels) {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("Kannel's delivery reports not recorded within 15 s: %+v", sms)
			break
		}
	}

	// The push: one, decrypted by the push service, saying where the code
	// went, never the code.
	pushes := pushService.Wait(t, 1, 15*time.Second)
	var payload struct {
		Kind         string
		Body         string
		TrackingCode string `json:"tracking_code"`
		Lang         string
	}
	if err := json.Unmarshal(pushes[0].Payload, &payload); err != nil {
		t.Fatalf("the push's payload %q: %v", pushes[0].Payload, err)
	}
	if pushes[0].Endpoint != sub.Endpoint || payload.TrackingCode != parcels[0].tracking || payload.Kind != "arrival" ||
		strings.Contains(payload.Body, parcels[0].code) || !strings.Contains(payload.Body, "Avauskoodi: ") {
		t.Errorf("the push: %s %+v; want the Finnish parcel's arrival without its code %s", pushes[0].Endpoint, payload, parcels[0].code)
	}

	// The webhooks: every event of each parcel once, in sequence, signed.
	var byShipment map[string]map[int]string // shipment → sequence → event type
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		calls := hooks.received()
		byShipment = map[string]map[int]string{}
		ready := 0
		for _, c := range calls {
			var ev webhookEvent
			if err := json.Unmarshal(c.body, &ev); err != nil {
				t.Fatalf("a webhook's body %q: %v", c.body, err)
			}
			if byShipment[ev.Data.ShipmentID] == nil {
				byShipment[ev.Data.ShipmentID] = map[int]string{}
			}
			byShipment[ev.Data.ShipmentID][ev.Data.Sequence] = ev.Type
			if ev.Type == "shipment.ready_for_pickup" {
				ready++
			}
		}
		if ready == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ready_for_pickup webhooks of %d of 3 parcels within 30 s; got %v", ready, byShipment)
		}
	}
	time.Sleep(500 * time.Millisecond) // a repeat would show by now
	seenIDs := map[string]bool{}
	for _, c := range hooks.received() {
		if err := verifier.Verify(c.body, c.header); err != nil {
			t.Errorf("webhook %s (%s): the Standard Webhooks library refuses it: %v", c.header.Get("webhook-id"), c.body, err)
		}
		id := c.header.Get("webhook-id")
		if seenIDs[id] {
			t.Errorf("webhook %s arrived twice", id)
		}
		seenIDs[id] = true
	}
	for _, p := range append(slices.Clone(parcels), landline) {
		events := byShipment[p.id]
		if events[1] != "shipment.created" {
			t.Errorf("%s parcel: first event %q; want shipment.created (%v)", p.name, events[1], events)
		}
		seqOf := map[string]int{}
		for seq := 1; seq <= len(events); seq++ {
			if events[seq] == "" {
				t.Errorf("%s parcel: no webhook with sequence %d: %v", p.name, seq, events)
			}
			seqOf[events[seq]] = seq
		}
		ready := seqOf["shipment.ready_for_pickup"]
		if ready == 0 || seqOf["shipment.in_transit"] >= ready || seqOf["shipment.in_locker"] >= ready {
			t.Errorf("%s parcel: events %v; want ready_for_pickup after created, in_transit and in_locker", p.name, events)
		}
		t.Logf("%s parcel: webhooks %v", p.name, events)
	}
	if events := byShipment[landline.id]; !slices.Contains(mapValues(events), "shipment.noted") {
		t.Errorf("landline parcel: events %v; want a shipment.noted that its notice reached nobody", events)
	}
	if n := len(pushService.Received()); n != 1 {
		t.Errorf("the push service got %d pushes; want 1", n)
	}
}

// mustBody is the body of a raw message.
func mustBody(t *testing.T, raw []byte) []byte {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(msg.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mapValues lists a map's values.
func mapValues[K comparable, V any](m map[K]V) []V {
	out := make([]V, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
