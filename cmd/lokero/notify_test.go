package main

import (
	"bytes"
	"net"
	"net/mail"
	"path/filepath"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/lokero/lokero/demo"
)

// outageParcels is how many parcels the SMTP outage test deposits.
const outageParcels = 5

// TestNotifySMTPOutage runs the real `lokero serve --smtp` with nothing
// listening on the SMTP port while outageParcels parcels are deposited and
// their doors closed: every e-mail stays queued, its attempts growing
// (River retries after about attempt⁴ s, plus up to 5 s for its
// scheduler). Then an SMTP server starts on that port: by the third
// attempt (about 16-21 s after the second) every message arrives exactly
// once, counted by Message-ID, and the operator sees each one sent with
// that Message-ID as its provider id. The test takes about 30 s.
func TestNotifySMTPOutage(t *testing.T) {
	t.Parallel()
	smtpAddr := freeAddr(t) // closed until the SMTP server starts on it
	db := filepath.Join(t.TempDir(), "lokero.db")
	base := startServe(t, "--db", db, "--smtp", "smtp://"+smtpAddr, "--mail-from", "Posti-lokero <noreply@lokero.test>")
	key := lastLine(t, "retailer", "add", "--db", db, "Kauppa")
	courier := lastLine(t, "courier", "add", "--db", db, "Kuski")
	operator := lastLine(t, "operator", "add", "--db", db, "Olli")
	device := lastLine(t, "locker", "provision", "--db", db, demo.DemoLockerID)

	tracking := map[string]bool{}
	for i := range outageParcels {
		id, code := emailOnlyParcel(t, base, key, "maija"+string(rune('a'+i))+"@example.fi")
		depositAtDemoLocker(t, base, courier, device, id, code)
		tracking[code] = true
	}

	type notification struct {
		ID           int64
		Channel      string
		TrackingCode string `json:"tracking_code"`
		State        string
		Attempts     int
		LastError    string `json:"last_error"`
		ProviderID   string `json:"provider_id"`
	}
	list := func(query string) []notification {
		t.Helper()
		var out struct{ Notifications []notification }
		if status := call(t, "GET", base+"/v1/notifications?channel=email"+query, operator, nil, &out); status != 200 {
			t.Fatalf("GET /v1/notifications%s: %d", query, status)
		}
		return out.Notifications
	}
	// While the server is down: all queued, each tried twice (attempt 1
	// at once, attempt 2 about 1-6 s later), none sent.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		queued, tried := list("&state=queued"), 0
		for _, n := range queued {
			if n.Attempts >= 2 && n.LastError != "" {
				tried++
			}
		}
		if len(queued) == outageParcels && tried == outageParcels {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("with the SMTP server down: not all %d e-mails queued with 2 attempts within 30 s: %+v", outageParcels, list(""))
		}
	}
	if sent := list("&state=sent"); len(sent) != 0 {
		t.Fatalf("sent while the SMTP server was down: %+v", sent)
	}
	for _, n := range list("") {
		if !tracking[n.TrackingCode] || n.State != "queued" {
			t.Errorf("during the outage: %+v", n)
		}
	}

	// The server comes back on the same port.
	sink := &smtpSink{addr: smtpAddr}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &smtpSession{sink: sink}, nil }))
	srv.Domain = "localhost"
	ln, err := net.Listen("tcp", smtpAddr)
	if err != nil {
		t.Fatalf("the SMTP server cannot take its port back: %v", err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	recovered := time.Now()

	// Within River's next retry (attempt 3: about 16 s after attempt 2,
	// plus up to 5 s for its scheduler) every message is sent.
	for deadline := time.Now().Add(45 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if sent := list("&state=sent"); len(sent) == outageParcels {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not all %d e-mails sent within 45 s of the SMTP server's return: %d at the server; %+v",
				outageParcels, len(sink.messages()), list(""))
		}
	}
	t.Logf("all %d e-mails sent %s after the SMTP server came back", outageParcels, time.Since(recovered).Round(100*time.Millisecond))
	time.Sleep(2 * time.Second) // a repeat would show by now

	byMessageID := map[string]int{}
	for _, m := range sink.messages() {
		msg, err := mail.ReadMessage(bytes.NewReader(m.data))
		if err != nil {
			t.Fatalf("not a message: %v", err)
		}
		byMessageID[msg.Header.Get("Message-Id")]++
	}
	if got := len(sink.messages()); got != outageParcels {
		t.Errorf("the SMTP server got %d messages; want %d", got, outageParcels)
	}
	sent := list("&state=sent")
	for _, n := range sent {
		if byMessageID[n.ProviderID] != 1 || !tracking[n.TrackingCode] || n.Attempts < 2 {
			t.Errorf("message %d (%s, %d attempts): its Message-ID %q arrived %d times; want once",
				n.ID, n.TrackingCode, n.Attempts, n.ProviderID, byMessageID[n.ProviderID])
		}
		delete(byMessageID, n.ProviderID)
	}
	if len(sent) != outageParcels || len(byMessageID) != 0 {
		t.Errorf("%d recorded sent; messages at the server with no sent record: %v", len(sent), byMessageID)
	}
	if all := list(""); len(all) != outageParcels {
		t.Errorf("%d e-mails in the outbox; want %d", len(all), outageParcels)
	}
}
