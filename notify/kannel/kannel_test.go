package kannel

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/lokero/lokero/notify"
)

func TestNew(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url                  string
		endpoint, from, smsc string
		user, pass           string
	}{
		{"kannel://lokero:s3cret@kannel.example:13013", "http://kannel.example:13013/cgi-bin/sendsms", "lokero", "", "lokero", "s3cret"},
		{"kannel://u:p@127.0.0.1:14013/?from=Posti&smsc=elisa", "http://127.0.0.1:14013/cgi-bin/sendsms", "Posti", "elisa", "u", "p"},
		{"kannel://u:p%40ss@gw", "http://gw:13013/cgi-bin/sendsms", "lokero", "", "u", "p@ss"},
		{"kannel://u:p@[::1]:13013?from=%2B358401234567", "http://[::1]:13013/cgi-bin/sendsms", "+358401234567", "", "u", "p"},
		{"kannel://u:p@proxy:443/kannel/sendsms?from=Posti+Oy", "http://proxy:443/kannel/sendsms", "Posti Oy", "", "u", "p"},
	}
	for _, tc := range tests {
		s, err := New(tc.url, nil)
		if err != nil {
			t.Errorf("New(%q): %v", tc.url, err)
			continue
		}
		if s.endpoint != tc.endpoint || s.from != tc.from || s.smsc != tc.smsc || s.user != tc.user || s.pass != tc.pass {
			t.Errorf("New(%q) = endpoint %q from %q smsc %q user %q pass %q; want %q %q %q %q %q",
				tc.url, s.endpoint, s.from, s.smsc, s.user, s.pass, tc.endpoint, tc.from, tc.smsc, tc.user, tc.pass)
		}
	}
}

func TestNewRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct{ url, part string }{
		{"http://u:topsecret@gw:13013", "scheme"},
		{"smpp://u:topsecret@gw:2775", "scheme"},
		{"kannel://gw:13013", "user"},
		{"kannel://u@gw:13013", "password"},
		{"kannel://u:@gw:13013", "password"},
		{"kannel://u:topsecret@:13013", "host"},
		{"kannel:u:topsecret", "host"},
		{"kannel://u:topsecret@gw:port", "port"},
		{"kannel://u:topsecret@gw:99999", "port"},
		{"kannel://u:topsecret@gw:13013?from=", "from"},
		{"kannel://u:topsecret@gw:13013?from=PostiLogistiikka", "from"},
		{"kannel://u:topsecret@gw:13013?from=Pösti", "from"},
		{"kannel://u:topsecret@gw:13013?from=1234567890123456", "from"},
		{"kannel://u:topsecret@gw:13013?smsc=", "smsc"},
		{"kannel://u:topsecret@gw:13013?smsc=a+b", "smsc"},
		{"kannel://u:topsecret@gw:13013?form=Posti", `"form"`},
		{"kannel://u:topsecret@gw:13013?from=A&from=B", "from"},
		{"kannel://u:topsecret@gw:13013#x", "fragment"},
		{"kannel://u:top secret@gw:13013", "userinfo"},
	}
	for _, tc := range tests {
		_, err := New(tc.url, nil)
		if err == nil {
			t.Errorf("New(%q): no error", tc.url)
			continue
		}
		if !strings.Contains(err.Error(), tc.part) {
			t.Errorf("New(%q): %q does not name %q", tc.url, err, tc.part)
		}
		if strings.Contains(err.Error(), "topsecret") || strings.Contains(err.Error(), "top secret") {
			t.Errorf("New(%q): %q repeats the password", tc.url, err)
		}
	}
	if _, err := New("kannel://u:p@gw", nil, WithHTTPClient(nil)); err == nil {
		t.Error("New with a nil HTTP client: no error")
	}
}

// standIn is an HTTP server in smsbox's place that answers every request
// with status and body and keeps what it got.
type standIn struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []gotRequest
}

type gotRequest struct {
	method, path string
	header       http.Header
	body         string
}

func newStandIn(t *testing.T, status int, body string) *standIn {
	t.Helper()
	s := &standIn{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.reqs = append(s.reqs, gotRequest{r.Method, r.URL.Path, r.Header.Clone(), string(b)})
		s.mu.Unlock()
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *standIn) requests() []gotRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]gotRequest(nil), s.reqs...)
}

// kannelURL is the kannel:// URL of the stand-in, with query q.
func (s *standIn) kannelURL(q string) string {
	return "kannel://lokero:pw@" + strings.TrimPrefix(s.URL, "http://") + q
}

func TestSendRequest(t *testing.T) {
	t.Parallel()
	srv := newStandIn(t, http.StatusAccepted, "0: Accepted for delivery")
	dlr := func(id int64) string {
		// A signature with % escapes in it: Kannel must get them as %%.
		return "https://lokero.example/v1/sms/dlr?id=" + itoa(id) + "&sig=ab%2Fcd%3D"
	}
	s, err := New(srv.kannelURL("?from=Posti&smsc=elisa"), dlr)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		id     int64
		to     string
		text   string
		e164   string
		coding string
	}{
		{42, "040 123 4567", fiArrival, "+358401234567", "0"},
		{43, "+46 70 123 45 67", svArrival, "+46701234567", "0"},
		{44, "0501234567", plArrival, "+358501234567", "2"},
		{45, "0501234567", fiReminder, "+358501234567", "0"},
	}
	for _, tc := range tests {
		id, err := s.Send(context.Background(), notify.Message{ID: tc.id, Channel: notify.ChannelSMS, To: tc.to, Text: tc.text})
		if err != nil {
			t.Fatalf("Send %d: %v", tc.id, err)
		}
		if id != "lokero-"+itoa(tc.id) {
			t.Errorf("Send %d: provider id %q", tc.id, id)
		}
	}
	reqs := srv.requests()
	if len(reqs) != len(tests) {
		t.Fatalf("%d requests, want %d", len(reqs), len(tests))
	}
	for i, tc := range tests {
		r := reqs[i]
		if r.method != http.MethodPost || r.path != "/cgi-bin/sendsms" {
			t.Errorf("message %d: %s %s", tc.id, r.method, r.path)
		}
		if r.body != tc.text {
			t.Errorf("message %d: body %q, want the text %q", tc.id, r.body, tc.text)
		}
		want := map[string]string{
			"Content-Type":      "text/plain; charset=utf-8",
			"X-Kannel-Username": "lokero",
			"X-Kannel-Password": "pw",
			"X-Kannel-From":     "Posti",
			"X-Kannel-To":       tc.e164,
			"X-Kannel-Coding":   tc.coding,
			"X-Kannel-SMSC":     "elisa",
			"X-Kannel-Account":  "lokero-" + itoa(tc.id),
			"X-Kannel-DLR-Mask": "31",
			"X-Kannel-DLR-URL":  "https://lokero.example/v1/sms/dlr?id=" + itoa(tc.id) + "&sig=ab%%2Fcd%%3D&status=%d&answer=%A",
		}
		for k, v := range want {
			if got := r.header.Get(k); got != v {
				t.Errorf("message %d: %s = %q, want %q", tc.id, k, got, v)
			}
		}
	}
}

func TestSendWithoutDLR(t *testing.T) {
	t.Parallel()
	srv := newStandIn(t, http.StatusAccepted, "0: Accepted for delivery")
	s, err := New(srv.kannelURL(""), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Send(context.Background(), notify.Message{ID: 1, To: "0401234567", Text: "Moi"}); err != nil {
		t.Fatal(err)
	}
	r := srv.requests()[0]
	for _, k := range []string{"X-Kannel-DLR-Mask", "X-Kannel-DLR-URL", "X-Kannel-SMSC"} {
		if v := r.header.Get(k); v != "" {
			t.Errorf("%s = %q, want none", k, v)
		}
	}
	if v := r.header.Get("X-Kannel-From"); v != "lokero" {
		t.Errorf("From = %q, want the default lokero", v)
	}
}

// TestSendAnswers maps smsbox's answers (Kannel 1.4.5's wording) to
// success, permanent and transient failures.
func TestSendAnswers(t *testing.T) {
	t.Parallel()
	const ok, transient, permanent = "ok", "transient", "permanent"
	tests := []struct {
		status int
		body   string
		want   string
	}{
		{202, "0: Accepted for delivery", ok},
		{200, "0: Accepted for delivery", ok},
		{202, "3: Queued for later delivery", ok},
		{202, "Sent.", ok},
		{200, "<html>It works!</html>", transient},           // not smsbox: keep the message
		{403, "Authorization failed for sendsms", transient}, // lokero's configuration, not the message
		{400, "Number(s) has/have been denied by white- and/or black-lists.", permanent},
		{403, "Not routable. Do not try again.", permanent},
		{400, "Coding field misformed, rejected", permanent},
		{404, "Unknown service", permanent},
		{429, "Too many requests", transient},
		{503, "Temporal failure, try again later.", transient},
		{500, "Sending failed.", transient},
		{502, "Bad gateway", transient},
	}
	for _, tc := range tests {
		t.Run(itoa(int64(tc.status))+" "+tc.body, func(t *testing.T) {
			t.Parallel()
			srv := newStandIn(t, tc.status, tc.body)
			s, err := New(srv.kannelURL(""), nil)
			if err != nil {
				t.Fatal(err)
			}
			id, err := s.Send(context.Background(), notify.Message{ID: 7, To: "0401234567", Text: "Moi"})
			got := ok
			switch {
			case err != nil && notify.IsPermanent(err):
				got = permanent
			case err != nil:
				got = transient
			}
			if got != tc.want {
				t.Fatalf("HTTP %d %q: %s (%q, %v), want %s", tc.status, tc.body, got, id, err, tc.want)
			}
			if err != nil && tc.status != 200 && !strings.Contains(err.Error(), tc.body) {
				t.Errorf("error %q does not quote smsbox's answer %q", err, tc.body)
			}
			if err != nil && strings.Contains(err.Error(), "pw") {
				t.Errorf("error %q repeats the password", err)
			}
		})
	}
}

// TestSendRefuses: what cannot go out is refused for good before any
// request is made.
func TestSendRefuses(t *testing.T) {
	t.Parallel()
	srv := newStandIn(t, http.StatusAccepted, "0: Accepted for delivery")
	s, err := New(srv.kannelURL(""), func(int64) string { return "/relative" })
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, to, text, reason string
	}{
		{"no number", "12", "Moi", "too short"},
		{"letters", "soita äidille", "Moi", "letters"},
		{"fixed line", "09 123 4567", "Moi", "fixed-line"},
		{"3 GSM-7 segments", "0401234567", strings.Repeat("ä", 307), "3 gsm7 segments"},
		{"3 UCS-2 segments", "0401234567", strings.Repeat("ś", 135), "3 ucs2 segments"},
		{"empty text", "0401234567", "", "empty"},
		{"bad dlr URL", "0401234567", "Moi", "delivery-report URL"},
	}
	for _, tc := range tests {
		_, err := s.Send(context.Background(), notify.Message{ID: 9, To: tc.to, Text: tc.text})
		if err == nil || !notify.IsPermanent(err) || !strings.Contains(err.Error(), tc.reason) {
			t.Errorf("%s: %v, want a permanent error saying %q", tc.name, err, tc.reason)
		}
	}
	if n := len(srv.requests()); n != 0 {
		t.Errorf("%d requests reached smsbox", n)
	}
}

// TestSendDown: nothing listens at smsbox's port, or the context ends:
// an error to retry.
func TestSendDown(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s, err := New("kannel://u:p@"+addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Send(context.Background(), notify.Message{ID: 3, To: "0401234567", Text: "Moi"})
	if err == nil || notify.IsPermanent(err) {
		t.Errorf("smsbox down: %v, want a transient error", err)
	}

	srv := newStandIn(t, http.StatusAccepted, "0: Accepted for delivery")
	s, err = New(srv.kannelURL(""), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = s.Send(ctx, notify.Message{ID: 3, To: "0401234567", Text: "Moi"})
	if err == nil || notify.IsPermanent(err) {
		t.Errorf("context cancelled: %v, want a transient error", err)
	}
}

func TestDLRURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"https://l.example/dlr", "https://l.example/dlr?status=%d&answer=%A"},
		{"https://l.example/dlr?", "https://l.example/dlr?status=%d&answer=%A"},
		{"https://l.example/dlr?id=4", "https://l.example/dlr?id=4&status=%d&answer=%A"},
		{"https://l.example/dlr?id=4&", "https://l.example/dlr?id=4&status=%d&answer=%A"},
		{"http://l.example/d%41?sig=%2F%25", "http://l.example/d%%41?sig=%%2F%%25&status=%d&answer=%A"},
	}
	for _, tc := range tests {
		got, err := dlrURL(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("dlrURL(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "/dlr", "ftp://x/dlr", "https://l.example/dlr#f", "https://l.example/dlr?a=\n"} {
		if got, err := dlrURL(bad); err == nil {
			t.Errorf("dlrURL(%q) = %q, want an error", bad, got)
		}
	}
}

func TestParseDLR(t *testing.T) {
	t.Parallel()
	tests := []struct {
		query  string
		status int
		text   string
	}{
		{"status=8&answer=ACK%2F", DLRSubmitted, "ACK/"},
		{"status=1&answer=", DLRDelivered, ""},
		{"id=5&status=1", DLRDelivered, ""},
		{"status=2&answer=NACK%2F0x00000045%2FSubmit+failed", DLRFailed, "NACK/0x00000045/Submit failed"},
		{"status=4&answer=x", DLRBuffered, "x"},
		{"status=16&answer=NACK%2F0x0000000b%2FInvalid+Destination+Address", DLRRejected, "NACK/0x0000000b/Invalid Destination Address"},
		// An SMPP receipt quotes the message's start: cut off.
		{"status=1&answer=" + url.QueryEscape("id:0a1b sub:001 dlvrd:001 submit date:2612061200 done date:2612061201 stat:DELIVRD err:000 text:Avauskoodi 482913"),
			DLRDelivered, "id:0a1b sub:001 dlvrd:001 submit date:2612061200 done date:2612061201 stat:DELIVRD err:000"},
	}
	for _, tc := range tests {
		q, _ := url.ParseQuery(tc.query)
		status, text, err := ParseDLR(q)
		if err != nil || status != tc.status || text != tc.text {
			t.Errorf("ParseDLR(%s) = %d, %q, %v; want %d, %q", tc.query, status, text, err, tc.status, tc.text)
		}
	}
	for _, bad := range []string{"", "answer=ACK", "status=", "status=%d", "status=x", "status=3", "status=0", "status=32", "status=1&status=2"} {
		q, _ := url.ParseQuery(bad)
		if s, _, err := ParseDLR(q); err == nil {
			t.Errorf("ParseDLR(%s) = %d, want an error", bad, s)
		}
	}
	if !FinalDLR(DLRDelivered) || !FinalDLR(DLRFailed) || !FinalDLR(DLRRejected) || FinalDLR(DLRSubmitted) || FinalDLR(DLRBuffered) {
		t.Error("FinalDLR: delivered, failed and rejected are final; submitted and buffered are not")
	}
}

// TestParseDLRCutsTextByBytes: the receipt's text field is found by its
// bytes, whatever else the answer holds. A character whose lower case is
// longer in UTF-8 (Ⱥ, 2 bytes, lower-cased ⱥ, 3) before the field must not
// shift the cut into the quoted message (and its code) or past the
// answer's end, nor one whose lower case is shorter (İ, 2 bytes, is i)
// cut the answer short.
func TestParseDLRCutsTextByBytes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		answer string
		text   string
	}{
		{"upper case field", "stat:DELIVRD err:000 Text:Avauskoodi 482913", "stat:DELIVRD err:000"},
		{"Ⱥ before the field", "sub:" + strings.Repeat("Ⱥ", 20) + " err:001 text:Koodi 4829131234 odottaa",
			"sub:" + strings.Repeat("Ⱥ", 20) + " err:001"},
		{"Ⱥ before a field at the end", "sub:" + strings.Repeat("Ⱥ", 40) + " text:", "sub:" + strings.Repeat("Ⱥ", 40)},
		{"İ before the field", "sub:" + strings.Repeat("İ", 10) + " stat:UNDELIV err:001 text:Koodi 4829131234",
			"sub:" + strings.Repeat("İ", 10) + " stat:UNDELIV err:001"},
		{"no field", "stat:DELIVRD " + strings.Repeat("Ⱥİ", 10), "stat:DELIVRD " + strings.Repeat("Ⱥİ", 10)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			q := url.Values{"status": {"1"}, "answer": {tc.answer}}
			var (
				text string
				err  error
			)
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Fatalf("ParseDLR(%q) panicked: %v", tc.answer, p)
					}
				}()
				_, text, err = ParseDLR(q)
			}()
			if err != nil || text != tc.text {
				t.Errorf("ParseDLR(%q) = %q, %v; want %q", tc.answer, text, err, tc.text)
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
