package api_test

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/demo"
)

// notificationAnswer is GET /v1/notifications's answer.
type notificationAnswer struct {
	Notifications []struct {
		ID           int64   `json:"id"`
		Channel      string  `json:"channel"`
		To           string  `json:"to"`
		TrackingCode string  `json:"tracking_code"`
		Kind         string  `json:"kind"`
		Text         string  `json:"text"`
		State        string  `json:"state"`
		Attempts     int     `json:"attempts"`
		LastError    string  `json:"last_error"`
		ProviderID   string  `json:"provider_id"`
		SentAt       *string `json:"sent_at"`
		Report       string  `json:"report"`
		CreatedAt    string  `json:"created_at"`
	} `json:"notifications"`
}

// readyAtLocker books a parcel to the demo building's locker, has it
// deposited and its door closed, and returns its tracking code and its
// opening code (from the development outbox).
func (f lockerFixture) readyAtLocker(t *testing.T, ref string) (tracking, code string) {
	t.Helper()
	sh := f.create(t, shipmentBody(ref), f.key)
	f.deliverToDemoLocker(t, sh)
	_, _, out := f.do(t, "GET", "/dev/outbox?limit=1", f.operator, nil)
	box := decode[struct{ Messages []struct{ Text string } }](t, out)
	if len(box.Messages) == 0 || openingCode.FindStringSubmatch(box.Messages[0].Text) == nil {
		t.Fatalf("no code in the outbox: %s", out)
	}
	return sh.TrackingCode, openingCode.FindStringSubmatch(box.Messages[0].Text)[1]
}

// deliverToDemoLocker has a booked parcel for the demo building's locker
// handed over, deposited and its door closed, insisting on 200 at each.
func (f lockerFixture) deliverToDemoLocker(t *testing.T, sh shipmentAnswer) {
	t.Helper()
	if status, _, out := f.do(t, "POST", "/v1/shipments/"+sh.ID+"/handover", f.courier, nil); status != 200 {
		t.Fatalf("handover: %d %s", status, out)
	}
	status, _, out := f.do(t, "POST", "/v1/lockers/"+demo.DemoLockerID+"/deposits", f.courier, map[string]string{"tracking_code": sh.TrackingCode})
	if status != 200 {
		t.Fatalf("deposit: %d %s", status, out)
	}
	dep := decode[struct{ Compartment int }](t, out)
	if status, _, out := f.do(t, "POST", "/v1/devices/"+demo.DemoLockerID+"/events", f.device,
		map[string]any{"type": "door_closed", "compartment": dep.Compartment}); status != 200 {
		t.Fatalf("door closed: %d %s", status, out)
	}
}

// notifications lists the messages as the operator, insisting on 200.
func (f lockerFixture) notifications(t *testing.T, query string) notificationAnswer {
	t.Helper()
	status, _, out := f.do(t, "GET", "/v1/notifications"+query, f.operator, nil)
	if status != 200 {
		t.Fatalf("GET /v1/notifications%s: %d %s", query, status, out)
	}
	return decode[notificationAnswer](t, out)
}

// TestNotificationsList: the operator lists the messages with their
// delivery, filtered by state and channel, never with a code in clear;
// a bad filter is a 400 naming its parameter.
func TestNotificationsList(t *testing.T) {
	t.Parallel()
	f := newLockerFixture(t)
	tracking, code := f.readyAtLocker(t, "NOTIFY-1")
	all := f.notifications(t, "")
	if len(all.Notifications) != 2 {
		t.Fatalf("notifications: %+v; want an SMS and an e-mail", all)
	}
	for _, n := range all.Notifications {
		if n.TrackingCode != tracking || n.Kind != "arrival" || n.State != lokero.DeliveryQueued || n.SentAt != nil ||
			n.ID == 0 || n.CreatedAt == "" || !strings.Contains(n.Text, lokero.CodePlaceholder) {
			t.Errorf("notification %+v", n)
		}
	}
	if status, _, out := f.do(t, "GET", "/v1/notifications", f.operator, nil); strings.Contains(string(out), code) || status != 200 {
		t.Errorf("the list tells the opening code %s: %s", code, out)
	}
	if sms := f.notifications(t, "?channel=sms&state=queued&limit=5"); len(sms.Notifications) != 1 || sms.Notifications[0].Channel != "sms" ||
		sms.Notifications[0].To != "+358401234567" {
		t.Errorf("SMS only: %+v", sms)
	}
	if sent := f.notifications(t, "?state=sent"); len(sent.Notifications) != 0 {
		t.Errorf("sent: %+v; want none (no provider here)", sent)
	}
	if one := f.notifications(t, "?limit=1"); len(one.Notifications) != 1 || one.Notifications[0].ID != all.Notifications[0].ID {
		t.Errorf("limit 1: %+v; want the newest", one)
	}
	for _, tt := range []struct{ query, field string }{
		{"?state=lost", "state"},
		{"?channel=pigeon", "channel"},
		{"?limit=0", "limit"},
		{"?limit=1001", "limit"},
		{"?state=sent&state=failed", "state"},
		{"?status=failed", "status"},
	} {
		status, _, out := f.do(t, "GET", "/v1/notifications"+tt.query, f.operator, nil)
		if e := decode[apiError](t, out); status != 400 || e.Error.Field != tt.field {
			t.Errorf("GET /v1/notifications%s: %d %s; want 400 naming %s", tt.query, status, out, tt.field)
		}
	}
	if status, _, _ := f.do(t, "GET", "/v1/notifications", f.courier, nil); status != 401 {
		t.Errorf("a courier lists the notifications: %d; want 401", status)
	}
}

// TestNotificationSMSReport: the SMS gateway's report at the signed URL
// is recorded, a failure fails the message (and counts in
// lokero_notifications_total); an unsigned or wrongly signed URL, or one
// for a message that is no SMS, is a 404 like an unknown path.
func TestNotificationSMSReport(t *testing.T) {
	t.Parallel()
	f := newLockerFixture(t)
	f.readyAtLocker(t, "NOTIFY-DLR")
	sms := f.notifications(t, "?channel=sms").Notifications[0]
	email := f.notifications(t, "?channel=email").Notifications[0]
	reportURL := f.srv.SMSReportURL("https://lokero.example.fi/")
	signed := reportURL(sms.ID)
	prefix := "https://lokero.example.fi/v1/sms/dlr?msg=" + strconv.FormatInt(sms.ID, 10) + "&sig="
	if !strings.HasPrefix(signed, prefix) || len(signed) <= len(prefix) {
		t.Fatalf("report URL %q; want %s…", signed, prefix)
	}
	path := strings.TrimPrefix(signed, "https://lokero.example.fi")
	sig := strings.TrimPrefix(signed, prefix)

	if status, _, out := f.do(t, "GET", path+"&status=8&answer="+url.QueryEscape("ACK/"), "", nil); status != 200 {
		t.Fatalf("a submit report: %d %s", status, out)
	}
	if got := f.notifications(t, "?channel=sms").Notifications[0]; got.Report != "dlr 8: ACK/" || got.State != lokero.DeliveryQueued {
		t.Errorf("after a submit report: %+v", got)
	}
	_, _, unknown := f.do(t, "GET", "/v1/sms/nothing", "", nil)
	otherSig := strings.TrimPrefix(reportURL(email.ID), "https://lokero.example.fi/v1/sms/dlr?msg="+strconv.FormatInt(email.ID, 10)+"&sig=")
	for _, bad := range []string{
		"/v1/sms/dlr?status=2",
		"/v1/sms/dlr?msg=" + strconv.FormatInt(sms.ID, 10) + "&status=2",
		"/v1/sms/dlr?msg=" + strconv.FormatInt(sms.ID, 10) + "&sig=" + otherSig + "&status=2",
		"/v1/sms/dlr?msg=" + strconv.FormatInt(sms.ID, 10) + "&sig=x" + sig + "&status=2",
		"/v1/sms/dlr?msg=" + strconv.FormatInt(sms.ID, 10) + "&sig=" + sig + "&sig=" + sig + "&status=2",
		"/v1/sms/dlr?msg=" + strconv.FormatInt(sms.ID+1000, 10) + "&sig=" + sig + "&status=2",
		strings.TrimPrefix(reportURL(email.ID), "https://lokero.example.fi") + "&status=2", // signed, but no SMS
		"/v1/sms/dlr?msg=abc&sig=" + sig + "&status=2",
	} {
		status, _, out := f.do(t, "GET", bad, "", nil)
		e, u := decode[apiError](t, out), decode[apiError](t, unknown)
		if status != 404 || e.Error.Code != "no_route" || strings.Replace(e.Error.Message, "/v1/sms/dlr", "/v1/sms/nothing", 1) != u.Error.Message {
			t.Errorf("GET %s: %d %s; want 404 as for an unknown path", bad, status, out)
		}
	}
	if status, _, out := f.do(t, "GET", path, "", nil); status != 400 || decode[apiError](t, out).Error.Field != "status" {
		t.Errorf("a signed report without a status: %d %s; want 400 naming status", status, out)
	}
	if status, _, out := f.do(t, "GET", path+"&status=3", "", nil); status != 400 || decode[apiError](t, out).Error.Field != "status" {
		t.Errorf("a signed report of status 3: %d %s; want 400 naming status", status, out)
	}
	if got := f.notifications(t, "?channel=sms").Notifications[0]; got.Report != "dlr 8: ACK/" || got.State != lokero.DeliveryQueued {
		t.Errorf("refused reports changed the message: %+v", got)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(f.srv.NotificationMetrics())
	if status, _, out := f.do(t, "GET", path+"&status=16&answer="+url.QueryEscape("NACK/0x0000000b/Invalid Destination Address"), "", nil); status != 200 {
		t.Fatalf("a rejection report: %d %s", status, out)
	}
	failed := f.notifications(t, "?state=failed")
	if len(failed.Notifications) != 1 || failed.Notifications[0].ID != sms.ID ||
		failed.Notifications[0].LastError != "dlr 16: NACK/0x0000000b/Invalid Destination Address" {
		t.Errorf("failed list after a rejection: %+v", failed)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, fam := range families {
		if fam.GetName() != "lokero_notifications_total" {
			continue
		}
		for _, m := range fam.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			got = append(got, fmt.Sprintf("%s/%s %g", labels["channel"], labels["state"], m.GetCounter().GetValue()))
		}
	}
	if len(got) != 1 || got[0] != "sms/failed 1" {
		t.Errorf("lokero_notifications_total: %q; want sms/failed 1", got)
	}
}
