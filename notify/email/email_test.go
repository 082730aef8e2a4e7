package email

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	stdmail "net/mail"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/lokero/lokero/notify"
)

const testFrom = "lokero <noreply@posti.example.fi>"

// clock is the fixed time the tests' Date headers show.
var clock = time.Date(2025, 12, 8, 9, 30, 0, 0, time.UTC)

// arrival is a Finnish notice of arrival at a locker with cash on
// delivery, whose place's name needs escaping in HTML.
func arrival(id int64) notify.Message {
	return notify.Message{
		ID: id, Channel: notify.ChannelEmail, To: "Maija Meikäläinen <maija@example.fi>",
		Kind: notify.KindArrival, Language: "fi",
		Text: "Pakettisi JJFI64000000000000042 on noudettavissa.",
		Parcel: notify.Parcel{
			TrackingCode: "JJFI64000000000000042",
			TrackingURL:  "https://lokero.example.fi/seuranta/JJFI64000000000000042",
			Code:         "483920",
			// Midnight in Helsinki: the last day is the day before.
			Deadline: time.Date(2025, 12, 14, 22, 0, 0, 0, time.UTC),
			CODCents: 4990, Currency: "EUR",
			Place: notify.Place{ID: "SP-0042", Type: "SMARTPOST", Name: "Sello <b>& Co",
				Street: "Leppävaarankatu 3", Postcode: "02600", City: "Espoo"},
		},
	}
}

// newSender makes a Sender for url, failing the test on error.
func newSender(t *testing.T, url string, opts ...Option) *Sender {
	t.Helper()
	s, err := New(url, testFrom, append([]Option{WithClock(func() time.Time { return clock }), WithTimeout(5 * time.Second)}, opts...)...)
	if err != nil {
		t.Fatalf("New(%q): %v", url, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// mimeMail is a received message read back with net/mail and
// mime/multipart.
type mimeMail struct {
	Header   stdmail.Header
	Subject  string            // decoded
	Parts    map[string]string // decoded body by media type
	Charsets map[string]string // charset by media type
	Type     string            // the message's media type
}

// parseMail reads data as an RFC 5322 message with a MIME body (a
// multipart/alternative or a single text part).
func parseMail(t *testing.T, data []byte) mimeMail {
	t.Helper()
	msg, err := stdmail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("net/mail: %v\n%s", err, data)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatalf("Subject %q: %v", msg.Header.Get("Subject"), err)
	}
	m := mimeMail{Header: msg.Header, Subject: subject, Parts: map[string]string{}, Charsets: map[string]string{}}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type %q: %v", msg.Header.Get("Content-Type"), err)
	}
	m.Type = mt
	if !strings.HasPrefix(mt, "multipart/") {
		body := decodeBody(t, msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
		m.Parts[mt], m.Charsets[mt] = body, params["charset"]
		return m
	}
	r := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := r.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("multipart: %v", err)
		}
		pt, pp, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if err != nil {
			t.Fatalf("part Content-Type %q: %v", p.Header.Get("Content-Type"), err)
		}
		m.Parts[pt] = decodeBody(t, p.Header.Get("Content-Transfer-Encoding"), p)
		m.Charsets[pt] = pp["charset"]
	}
	return m
}

func decodeBody(t *testing.T, cte string, r io.Reader) string {
	t.Helper()
	if strings.EqualFold(cte, "quoted-printable") {
		r = quotedprintable.NewReader(r)
	} else if cte != "" && !strings.EqualFold(cte, "7bit") && !strings.EqualFold(cte, "8bit") {
		t.Fatalf("unexpected Content-Transfer-Encoding %q", cte)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("body: %v", err)
	}
	return strings.ReplaceAll(string(b), "\r\n", "\n")
}

func TestSendArrivalAsMIME(t *testing.T) {
	t.Parallel()
	ts := startServer(t, serverConfig{})
	s := newSender(t, ts.url("smtp", "", ""))
	m := arrival(42)
	id, err := s.Send(context.Background(), m)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if want := "<lokero-msg-42@posti.example.fi>"; id != want {
		t.Errorf("provider id %q, want %q", id, want)
	}
	got := ts.messages()
	if len(got) != 1 {
		t.Fatalf("server received %d messages, want 1", len(got))
	}
	r := got[0]
	if r.From != "noreply@posti.example.fi" || r.rcptList() != "maija@example.fi" {
		t.Errorf("envelope MAIL FROM %q RCPT TO %q", r.From, r.rcptList())
	}
	if r.TLS || r.User != "" {
		t.Errorf("plain relay without credentials: TLS %v, user %q", r.TLS, r.User)
	}
	mm := parseMail(t, r.Data)
	h := mm.Header
	if h.Get("Message-ID") != id {
		t.Errorf("Message-ID %q, want %q", h.Get("Message-ID"), id)
	}
	if from, err := h.AddressList("From"); err != nil || len(from) != 1 || from[0].Address != "noreply@posti.example.fi" || from[0].Name != "lokero" {
		t.Errorf("From %q: %v %v", h.Get("From"), from, err)
	}
	if to, err := h.AddressList("To"); err != nil || len(to) != 1 || to[0].Address != "maija@example.fi" || to[0].Name != "Maija Meikäläinen" {
		t.Errorf("To %q: %v %v", h.Get("To"), to, err)
	}
	if d, err := h.Date(); err != nil || !d.Equal(clock) {
		t.Errorf("Date %q = %v, %v; want %v", h.Get("Date"), d, err, clock)
	}
	if want := "Pakettisi on noudettavissa: Sello <b>& Co"; mm.Subject != want {
		t.Errorf("Subject %q, want %q", mm.Subject, want)
	}
	if h.Get("Auto-Submitted") != "auto-generated" || h.Get("Content-Language") != "fi" {
		t.Errorf("Auto-Submitted %q, Content-Language %q", h.Get("Auto-Submitted"), h.Get("Content-Language"))
	}
	if mm.Type != "multipart/alternative" {
		t.Fatalf("Content-Type %q, want multipart/alternative", mm.Type)
	}
	text, html := mm.Parts["text/plain"], mm.Parts["text/html"]
	if text == "" || html == "" || len(mm.Parts) != 2 {
		t.Fatalf("parts %v: want text/plain and text/html", keys(mm.Parts))
	}
	for pt, cs := range mm.Charsets {
		if !strings.EqualFold(cs, "utf-8") {
			t.Errorf("%s charset %q, want UTF-8", pt, cs)
		}
	}
	for _, want := range []string{"483920", "JJFI64000000000000042", "Leppävaarankatu 3", "02600 Espoo", "14.12.2025", "49,90\u00a0€",
		"https://lokero.example.fi/seuranta/JJFI64000000000000042"} {
		if !strings.Contains(text, want) {
			t.Errorf("text part lacks %q:\n%s", want, text)
		}
		if !strings.Contains(html, want) {
			t.Errorf("HTML part lacks %q:\n%s", want, html)
		}
	}
	if !strings.Contains(text, "Sello <b>& Co") {
		t.Errorf("text part should carry the name as is:\n%s", text)
	}
	if strings.Contains(html, "<b>&") || !strings.Contains(html, "Sello &lt;b&gt;&amp; Co") {
		t.Errorf("HTML part does not escape the place's name:\n%s", html)
	}
	if !strings.Contains(html, `href="https://lokero.example.fi/seuranta/JJFI64000000000000042"`) {
		t.Errorf("HTML part lacks the tracking link:\n%s", html)
	}
}

func TestSendResendKeepsMessageID(t *testing.T) {
	t.Parallel()
	ts := startServer(t, serverConfig{})
	s := newSender(t, ts.url("smtp", "", ""))
	var ids []string
	for _, id := range []int64{7, 7, 8} {
		pid, err := s.Send(context.Background(), arrival(id))
		if err != nil {
			t.Fatalf("Send(%d): %v", id, err)
		}
		ids = append(ids, pid)
	}
	got := ts.messages()
	if len(got) != 3 {
		t.Fatalf("received %d, want 3", len(got))
	}
	var hdr []string
	for _, r := range got {
		hdr = append(hdr, parseMail(t, r.Data).Header.Get("Message-ID"))
	}
	if hdr[0] != "<lokero-msg-7@posti.example.fi>" || hdr[1] != hdr[0] || hdr[2] != "<lokero-msg-8@posti.example.fi>" {
		t.Errorf("Message-IDs %q: want the same for message 7 twice, another for 8", hdr)
	}
	for i := range ids {
		if ids[i] != hdr[i] {
			t.Errorf("send %d returned %q, header %q", i, ids[i], hdr[i])
		}
	}
}

func TestSendSTARTTLSWithAuth(t *testing.T) {
	t.Parallel()
	srvTLS, pool := selfSigned(t)
	tests := []struct {
		name, query string
		mechs       []string
		wantMech    string
	}{
		{"PLAIN, opportunistic", "", []string{"PLAIN", "LOGIN"}, "PLAIN"},
		{"PLAIN, required", "starttls=required", []string{"LOGIN", "PLAIN"}, "PLAIN"},
		{"LOGIN only", "starttls=required", []string{"LOGIN"}, "LOGIN"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts := startServer(t, serverConfig{tls: srvTLS, user: "lokero", pass: "s3cr:et/", mechs: tc.mechs})
			s := newSender(t, ts.url("smtp", "lokero:s3cr%3Aet%2F", tc.query), WithTLSConfig(&tls.Config{RootCAs: pool}))
			if _, err := s.Send(context.Background(), arrival(1)); err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := ts.messages()
			if len(got) != 1 || !got[0].TLS || got[0].User != "lokero" || got[0].Mech != tc.wantMech {
				t.Fatalf("received %+v: want one message over TLS from lokero with %s", got, tc.wantMech)
			}
			mm := parseMail(t, got[0].Data)
			if !strings.Contains(mm.Parts["text/plain"], "483920") {
				t.Errorf("text part lacks the code")
			}
		})
	}
}

func TestSendImplicitTLS(t *testing.T) {
	t.Parallel()
	srvTLS, pool := selfSigned(t)
	ts := startServer(t, serverConfig{tls: srvTLS, implicit: true, user: "u", pass: "p", mechs: []string{"PLAIN"}})
	s := newSender(t, ts.url("smtps", "u:p", ""), WithTLSConfig(&tls.Config{RootCAs: pool}))
	if _, err := s.Send(context.Background(), arrival(3)); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := ts.messages(); len(got) != 1 || !got[0].TLS || got[0].User != "u" {
		t.Fatalf("received %+v: want one message over TLS from u", got)
	}
}

func TestSendTLSFailures(t *testing.T) {
	t.Parallel()
	srvTLS, trusted := selfSigned(t)
	_, other := selfSigned(t) // trusts another certificate only
	plain := startServer(t, serverConfig{})
	untrusted := startServer(t, serverConfig{tls: srvTLS})
	insecureAuth := startServer(t, serverConfig{listen: "127.0.0.2:0", user: "u", pass: "topsecret", mechs: []string{"PLAIN", "LOGIN"}, insecure: true})
	badPass := startServer(t, serverConfig{tls: srvTLS, user: "u", pass: "right", mechs: []string{"PLAIN"}})
	tests := []struct {
		name  string
		ts    *testServer
		url   string
		trust *x509.CertPool
		want  string
	}{
		// ?starttls=required against a server that does not offer it.
		{"starttls required", plain, plain.url("smtp", "", "starttls=required"), trusted, "STARTTLS"},
		// A server offering STARTTLS with a certificate the sender does
		// not trust: no fallback to plain text.
		{"untrusted certificate", untrusted, untrusted.url("smtp", "", ""), other, "certificate"},
		// Credentials are not sent in clear to a relay that is not
		// 127.0.0.1 or localhost, even when it offers AUTH without TLS.
		{"password in clear", insecureAuth, insecureAuth.url("smtp", "u:topsecret", ""), trusted, "unencrypted"},
		{"wrong password", badPass, badPass.url("smtp", "u:topsecret", ""), trusted, "535"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newSender(t, tc.url, WithTLSConfig(&tls.Config{RootCAs: tc.trust}))
			_, err := s.Send(context.Background(), arrival(5))
			if err == nil {
				t.Fatal("Send: no error")
			}
			t.Logf("Send: %v", err)
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
			if notify.IsPermanent(err) {
				t.Errorf("error %q is permanent: a relay's or lokero's configuration is not the message's fault", err)
			}
			if strings.Contains(err.Error(), "topsecret") {
				t.Errorf("error %q repeats the password", err)
			}
			if n := len(tc.ts.messages()); n != 0 {
				t.Errorf("server received %d messages", n)
			}
			if tc.ts == insecureAuth && tc.ts.authAttempts() != 0 {
				t.Errorf("the client sent AUTH over a plain connection")
			}
		})
	}
}

func TestSendClassifiesReplies(t *testing.T) {
	t.Parallel()
	ts := startServer(t, serverConfig{rcpt: map[string]*smtp.SMTPError{
		"nobody@example.fi": {Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user"},
		"later@example.fi":  {Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Try again later"},
		"relay@example.fi":  {Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"},
		// A relay that does not know lokero's address (Postfix's answer).
		"denied@example.fi": {Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Relay access denied"},
	}})
	rejecting := startServer(t, serverConfig{data: &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "Message rejected"}})
	busy := startServer(t, serverConfig{data: &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 3, 1}, Message: "Insufficient storage"}})
	// A relay refusing lokero's own sender refuses every message alike:
	// the configuration's fault, cured by fixing it, not the message's.
	badSender := startServer(t, serverConfig{mail: &smtp.SMTPError{Code: 553, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Sender address rejected"}})
	tests := []struct {
		name      string
		ts        *testServer
		to        string
		permanent bool
		want      string
	}{
		{"rejected recipient", ts, "nobody@example.fi", true, "550"},
		{"greylisted recipient", ts, "later@example.fi", false, "451"},
		{"authentication required", ts, "relay@example.fi", false, "530"},
		{"relay access denied", ts, "denied@example.fi", false, "554"},
		{"rejected message", rejecting, "maija@example.fi", true, "554"},
		{"full mailbox store", busy, "maija@example.fi", false, "452"},
		{"sender refused", badSender, "maija@example.fi", false, "553"},
		{"malformed To", ts, "maija at example.fi", true, "To"},
		{"header injection in To", ts, "maija@example.fi\r\nBcc: eve@example.fi", true, "To"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newSender(t, tc.ts.url("smtp", "", ""))
			m := arrival(9)
			m.To = tc.to
			id, err := s.Send(context.Background(), m)
			if err == nil {
				t.Fatalf("Send to %q: no error (id %q)", tc.to, id)
			}
			t.Logf("Send to %q: %v", tc.to, err)
			if notify.IsPermanent(err) != tc.permanent {
				t.Errorf("Send to %q: %v: permanent %v, want %v", tc.to, err, notify.IsPermanent(err), tc.permanent)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
	if n := len(ts.messages()) + len(rejecting.messages()) + len(busy.messages()) + len(badSender.messages()); n != 0 {
		t.Errorf("servers stored %d messages", n)
	}
}

func TestSendMalformedToDialsNothing(t *testing.T) {
	t.Parallel()
	ts := startServer(t, serverConfig{})
	s := newSender(t, ts.url("smtp", "", ""))
	m := arrival(1)
	m.To = ""
	if _, err := s.Send(context.Background(), m); !notify.IsPermanent(err) {
		t.Fatalf("Send to an empty address: %v, want a permanent error", err)
	}
	if n := ts.connections(); n != 0 {
		t.Errorf("the sender connected %d times for a message it cannot send", n)
	}
}

func TestSendServerDown(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close() // nothing listens there now
	s := newSender(t, "smtp://"+addr)
	start := time.Now()
	_, err = s.Send(context.Background(), arrival(1))
	if err == nil {
		t.Fatal("Send to a closed port: no error")
	}
	if notify.IsPermanent(err) {
		t.Errorf("a relay that is down is a transient failure, got permanent %v", err)
	}
	if !strings.Contains(err.Error(), addr) {
		t.Errorf("error %q does not name the relay %s", err, addr)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("a refused connection took %v to report", d)
	}
}

func TestSendTimesOut(t *testing.T) {
	t.Parallel()
	// A server that accepts the connection and never greets.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	var mu sync.Mutex
	var held []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			_ = c.Close()
		}
	})
	s := newSender(t, "smtp://"+l.Addr().String(), WithTimeout(300*time.Millisecond))
	start := time.Now()
	_, err = s.Send(context.Background(), arrival(1))
	if err == nil || notify.IsPermanent(err) {
		t.Fatalf("Send to a silent server: %v, want a transient error", err)
	}
	if d := time.Since(start); d < 250*time.Millisecond || d > 3*time.Second {
		t.Errorf("timed out after %v, want about 300ms", d)
	}

	// A cancelled context ends the wait at once, whatever the timeout.
	s = newSender(t, "smtp://"+l.Addr().String(), WithTimeout(time.Minute))
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start = time.Now()
	_, err = s.Send(ctx, arrival(1))
	if !errors.Is(err, context.Canceled) || notify.IsPermanent(err) {
		t.Errorf("Send with a cancelled context: %v, want a transient context.Canceled", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("cancel took %v to end Send", d)
	}
}

func TestSendCancelledDuringData(t *testing.T) {
	t.Parallel()
	// The relay takes its time to answer the message: the sender gives up
	// at its timeout and reports the message as not sent (a retry sends
	// it with the same Message-ID).
	ts := startServer(t, serverConfig{dataDelay: 2 * time.Second})
	s := newSender(t, ts.url("smtp", "", ""), WithTimeout(400*time.Millisecond))
	start := time.Now()
	id, err := s.Send(context.Background(), arrival(11))
	if err == nil || notify.IsPermanent(err) {
		t.Fatalf("Send: id %q, err %v; want a transient error", id, err)
	}
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("Send took %v with a 400ms timeout", d)
	}
}

func TestSendReusesConnections(t *testing.T) {
	t.Parallel()
	ts := startServer(t, serverConfig{})
	s := newSender(t, ts.url("smtp", "", ""))
	for i := range 3 {
		if _, err := s.Send(context.Background(), arrival(int64(100+i))); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
	}
	if n := ts.connections(); n != 1 {
		t.Errorf("3 sends in a row used %d connections, want 1", n)
	}
	// The relay drops the idle connection: the next send notices (NOOP)
	// and dials again, and nothing is lost.
	ts.kill()
	if _, err := s.Send(context.Background(), arrival(200)); err != nil {
		t.Fatalf("Send after the relay closed the idle connection: %v", err)
	}
	if n, m := ts.connections(), len(ts.messages()); n != 2 || m != 4 {
		t.Errorf("%d connections, %d messages; want 2 and 4", n, m)
	}
	// Close says QUIT to the idle connection; the next Send dials anew.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Send(context.Background(), arrival(201)); err != nil {
		t.Fatalf("Send after Close: %v", err)
	}
	if n := ts.connections(); n != 3 {
		t.Errorf("%d connections after Close and a send, want 3", n)
	}
}

func TestSendConcurrently(t *testing.T) {
	t.Parallel()
	srvTLS, pool := selfSigned(t)
	ts := startServer(t, serverConfig{tls: srvTLS, user: "u", pass: "p", mechs: []string{"PLAIN"}})
	s := newSender(t, ts.url("smtp", "u:p", "starttls=required"), WithTLSConfig(&tls.Config{RootCAs: pool}))
	// 4 workers send 40 messages: a connection is dialled only while
	// every existing one is busy, so at most 4 are.
	const n, workers = 40, 4
	var wg sync.WaitGroup
	errs := make(chan error, n)
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				m := arrival(int64(1000 + i))
				m.To = fmt.Sprintf("r%d@example.fi", i)
				if _, err := s.Send(context.Background(), m); err != nil {
					errs <- err
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got := ts.messages()
	seen := map[string]string{}
	for _, r := range got {
		id := parseMail(t, r.Data).Header.Get("Message-ID")
		if prev, dup := seen[id]; dup {
			t.Errorf("Message-ID %s twice (%s, %s)", id, prev, r.rcptList())
		}
		seen[id] = r.rcptList()
		var i int
		if _, err := fmt.Sscanf(r.rcptList(), "r%d@example.fi", &i); err != nil {
			t.Fatalf("recipient %q: %v", r.rcptList(), err)
		}
		if want := fmt.Sprintf("<lokero-msg-%d@posti.example.fi>", 1000+i); id != want {
			t.Errorf("message to %s has Message-ID %s, want %s", r.rcptList(), id, want)
		}
	}
	if len(got) != n {
		t.Errorf("received %d messages, want %d", len(got), n)
	}
	if c := ts.connections(); c > workers {
		t.Errorf("%d sends by %d workers used %d connections: idle ones are not reused", n, workers, c)
	}
}

func TestSendOtherKindIsPlainText(t *testing.T) {
	t.Parallel()
	ts := startServer(t, serverConfig{})
	s := newSender(t, ts.url("smtp", "", ""))
	m := arrival(12)
	m.Kind, m.Language = "expired", "sv"
	m.Text = "Ditt paket JJFI64000000000000042 hämtades inte och returneras till avsändaren."
	if _, err := s.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := ts.messages()
	if len(got) != 1 {
		t.Fatalf("received %d", len(got))
	}
	mm := parseMail(t, got[0].Data)
	if mm.Type != "text/plain" || !strings.EqualFold(mm.Charsets["text/plain"], "utf-8") {
		t.Errorf("Content-Type %q charset %q, want text/plain UTF-8", mm.Type, mm.Charsets["text/plain"])
	}
	body := mm.Parts["text/plain"]
	if !strings.Contains(body, m.Text) || !strings.Contains(body, "Följ ditt paket: "+m.Parcel.TrackingURL) {
		t.Errorf("body lacks the text or the link:\n%s", body)
	}
	if strings.Contains(body, "483920") {
		t.Errorf("a text-only message shows the code it was not given in Text:\n%s", body)
	}
	if want := "Information om ditt paket JJFI64000000000000042"; mm.Subject != want {
		t.Errorf("Subject %q, want %q", mm.Subject, want)
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url        string
		host       string
		port       int
		implicit   bool
		required   bool
		user, pass string
	}{
		{"smtp://mail.example.fi", "mail.example.fi", 587, false, false, "", ""},
		{"smtp://127.0.0.1:2525", "127.0.0.1", 2525, false, false, "", ""},
		{"smtp://user:p%40ss@mail.example.fi:587?starttls=required", "mail.example.fi", 587, false, true, "user", "p@ss"},
		{"smtp://u:p@mail.example.fi/?starttls=opportunistic", "mail.example.fi", 587, false, false, "u", "p"},
		{"smtps://u:p@mail.example.fi", "mail.example.fi", 465, true, false, "u", "p"},
		{"smtps://[::1]:4650", "::1", 4650, true, false, "", ""},
	}
	for _, tc := range tests {
		s, err := New(tc.url, testFrom)
		if err != nil {
			t.Errorf("New(%q): %v", tc.url, err)
			continue
		}
		required := s.policy.String() == "TLSMandatory"
		if s.host != tc.host || s.port != tc.port || s.implicitTLS != tc.implicit || required != tc.required || s.user != tc.user || s.pass != tc.pass {
			t.Errorf("New(%q) = host %q port %d implicit %v required %v user %q pass %q", tc.url, s.host, s.port, s.implicitTLS, required, s.user, s.pass)
		}
		if s.tlsConfig.ServerName != tc.host || s.timeout != DefaultTimeout {
			t.Errorf("New(%q): TLS server name %q, timeout %v", tc.url, s.tlsConfig.ServerName, s.timeout)
		}
	}
}

func TestNewRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct{ url, from, part string }{
		{"http://u:topsecret@mail.example.fi", testFrom, "scheme"},
		{"mail.example.fi:587", testFrom, "scheme"},
		{"smtp://u:topsecret@:587", testFrom, "host"},
		{"smtp:mail.example.fi", testFrom, "host"},
		{"smtp://u:topsecret@mail.example.fi:smtp", testFrom, "port"},
		{"smtp://u:topsecret@mail.example.fi:0", testFrom, "port"},
		{"smtp://u:topsecret@mail.example.fi:65536", testFrom, "port"},
		{"smtp://u:topsecret@mail.example.fi?starttls=yes", testFrom, "starttls"},
		{"smtp://u:topsecret@mail.example.fi?starttls=required&starttls=required", testFrom, "starttls"},
		{"smtps://u:topsecret@mail.example.fi?starttls=required", testFrom, "starttls"},
		{"smtp://u:topsecret@mail.example.fi?startls=required", testFrom, `"startls"`},
		{"smtp://u@mail.example.fi", testFrom, "password"},
		{"smtp://:topsecret@mail.example.fi", testFrom, "user"},
		{"smtp://u:top secret@mail.example.fi", testFrom, "userinfo"},
		{"smtp://u:topsecret@mail.example.fi/relay", testFrom, "path"},
		{"smtp://u:topsecret@mail.example.fi", "", "from"},
		{"smtp://u:topsecret@mail.example.fi", "lokero", "from"},
		{"smtp://u:topsecret@mail.example.fi", "noreply@", "from"},
	}
	for _, tc := range tests {
		_, err := New(tc.url, tc.from)
		if err == nil {
			t.Errorf("New(%q, %q): no error", tc.url, tc.from)
			continue
		}
		if !strings.Contains(err.Error(), tc.part) {
			t.Errorf("New(%q, %q): %q does not name %q", tc.url, tc.from, err, tc.part)
		}
		if strings.Contains(err.Error(), "topsecret") || strings.Contains(err.Error(), "top secret") {
			t.Errorf("New(%q): %q repeats the password", tc.url, err)
		}
	}
	if _, err := New("smtp://mail.example.fi", testFrom, WithTimeout(0)); err == nil || !strings.Contains(err.Error(), "timeout") {
		t.Errorf("New with a zero timeout: %v", err)
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// BenchmarkSend measures notices sent per second through the in-process
// relay (plain, as a local relay), the connections reused.
func BenchmarkSend(b *testing.B) {
	ts := startServer(b, serverConfig{})
	s, err := New(ts.url("smtp", "", ""), testFrom)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var n atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Send(context.Background(), arrival(n.Add(1))); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
