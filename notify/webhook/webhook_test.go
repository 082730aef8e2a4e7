package webhook

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// received is a request as the receiving server saw it.
type received struct {
	header http.Header
	body   []byte
}

// receiver starts a server that records every request and answers with
// status and body.
func receiver(t *testing.T, status int, body string) (*httptest.Server, <-chan received) {
	t.Helper()
	ch := make(chan received, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("receiver: read body: %v", err)
		}
		ch <- received{header: r.Header.Clone(), body: b}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, ch
}

// secret makes a secret from a fixed byte.
func secret(t *testing.T, b byte) string {
	t.Helper()
	s, err := NewSecret(bytes.NewReader(bytes.Repeat([]byte{b}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// verify verifies a received request with secret, as a receiver does.
func verify(t *testing.T, secret string, payload []byte, h http.Header) error {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatalf("NewWebhook: %v", err)
	}
	return wh.Verify(payload, h)
}

func TestSendVerifies(t *testing.T) {
	t.Parallel()
	srv, got := receiver(t, http.StatusNoContent, "")
	current := secret(t, 1)
	c := New(Options{AllowPrivate: true, UserAgent: "lokero-test"})
	payload := []byte(`{"type":"shipment.ready_for_pickup","timestamp":"2026-12-06T16:00:00.000Z","data":{"id":"JJFI1"}}`)
	now := time.Now()
	status, err := c.Send(context.Background(), Request{ID: "msg_1", Timestamp: now, Payload: payload, Secrets: []string{current}, URL: srv.URL + "/hooks?token=x"})
	if err != nil || status != http.StatusNoContent {
		t.Fatalf("Send = %d, %v; want 204, nil", status, err)
	}
	r := <-got
	if !bytes.Equal(r.body, payload) {
		t.Errorf("body = %q; want %q", r.body, payload)
	}
	for name, want := range map[string]string{
		"Content-Type":      "application/json",
		"User-Agent":        "lokero-test",
		"webhook-id":        "msg_1",
		"webhook-timestamp": strconv.FormatInt(now.Unix(), 10),
	} {
		if v := r.header.Get(name); v != want {
			t.Errorf("header %s = %q; want %q", name, v, want)
		}
	}
	if sig := r.header.Get("webhook-signature"); !strings.HasPrefix(sig, "v1,") || strings.Contains(sig, " ") {
		t.Errorf("webhook-signature = %q; want one v1 signature", sig)
	}
	if err := verify(t, current, r.body, r.header); err != nil {
		t.Errorf("Verify: %v", err)
	}
	if err := verify(t, secret(t, 9), r.body, r.header); !errors.Is(err, standardwebhooks.ErrNoMatchingSignature) {
		t.Errorf("Verify with another secret = %v; want ErrNoMatchingSignature", err)
	}
}

func TestSendOverlap(t *testing.T) {
	t.Parallel()
	srv, got := receiver(t, http.StatusOK, "ok")
	current, previous := secret(t, 1), secret(t, 2)
	c := New(Options{AllowPrivate: true})
	payload := []byte(`{"type":"shipment.collected","timestamp":"2026-12-06T16:00:00.000Z","data":{}}`)
	status, err := c.Send(context.Background(), Request{ID: "msg_2", Timestamp: time.Now(), Payload: payload, Secrets: []string{current, previous}, URL: srv.URL})
	if err != nil || status != http.StatusOK {
		t.Fatalf("Send = %d, %v; want 200, nil", status, err)
	}
	r := <-got
	if sigs := strings.Split(r.header.Get("webhook-signature"), " "); len(sigs) != 2 {
		t.Errorf("webhook-signature has %d signatures (%q); want 2", len(sigs), sigs)
	}
	for name, s := range map[string]string{"current": current, "previous": previous} {
		if err := verify(t, s, r.body, r.header); err != nil {
			t.Errorf("Verify with the %s secret alone: %v", name, err)
		}
	}
	if err := verify(t, secret(t, 3), r.body, r.header); err == nil {
		t.Error("Verify with a third secret succeeded")
	}

	tests := []struct {
		name   string
		tamper func(payload []byte, h http.Header) []byte
	}{
		{"payload", func(p []byte, h http.Header) []byte {
			return bytes.Replace(p, []byte("collected"), []byte("returned"), 1)
		}},
		{"payload whitespace", func(p []byte, h http.Header) []byte { return append(append([]byte{}, p...), '\n') }},
		{"timestamp", func(p []byte, h http.Header) []byte {
			ts, _ := strconv.ParseInt(h.Get("webhook-timestamp"), 10, 64)
			h.Set("webhook-timestamp", strconv.FormatInt(ts-1, 10))
			return p
		}},
		{"id", func(p []byte, h http.Header) []byte { h.Set("webhook-id", "msg_3"); return p }},
	}
	for _, tc := range tests {
		h := r.header.Clone()
		p := tc.tamper(r.body, h)
		for _, s := range []string{current, previous} {
			if err := verify(t, s, p, h); !errors.Is(err, standardwebhooks.ErrNoMatchingSignature) {
				t.Errorf("tampered %s: Verify = %v; want ErrNoMatchingSignature", tc.name, err)
			}
		}
	}
}

func TestSignatureSecrets(t *testing.T) {
	t.Parallel()
	ts := time.Unix(1765036800, 0)
	one, err := Signature("msg_1", ts, []byte("{}"), []string{secret(t, 1)})
	if err != nil {
		t.Fatal(err)
	}
	twice, err := Signature("msg_1", ts, []byte("{}"), []string{secret(t, 1), secret(t, 1)})
	if err != nil || twice != one {
		t.Errorf("Signature with a repeated secret = %q, %v; want %q", twice, err, one)
	}
	for _, secrets := range [][]string{nil, {""}, {"whsec_not base64!"}, {secret(t, 1), "whsec_"}} {
		if _, err := Signature("msg_1", ts, []byte("{}"), secrets); err == nil {
			t.Errorf("Signature(secrets %q): no error", secrets)
		}
	}
}

func TestSendRefusesRequest(t *testing.T) {
	t.Parallel()
	srv, got := receiver(t, http.StatusOK, "")
	c := New(Options{AllowPrivate: true})
	good := Request{ID: "msg_1", Timestamp: time.Now(), Payload: []byte("{}"), Secrets: []string{secret(t, 1)}, URL: srv.URL}
	tests := []struct {
		name   string
		change func(*Request)
	}{
		{"no ID", func(r *Request) { r.ID = "" }},
		{"no timestamp", func(r *Request) { r.Timestamp = time.Time{} }},
		{"no secret", func(r *Request) { r.Secrets = nil }},
		{"bad secret", func(r *Request) { r.Secrets = []string{"whsec_%%%"} }},
		{"bad URL", func(r *Request) { r.URL = "ftp://example.com/" }},
	}
	for _, tc := range tests {
		r := good
		tc.change(&r)
		if status, err := c.Send(context.Background(), r); err == nil || status != 0 {
			t.Errorf("%s: Send = %d, %v; want 0 and an error", tc.name, status, err)
		}
	}
	if len(got) != 0 {
		t.Errorf("the receiver got %d requests; want none", len(got))
	}
}

func TestSendFailureStatus(t *testing.T) {
	t.Parallel()
	long := "Internal\x00 error:\n\n  database\tdown " + strings.Repeat("é", 300)
	tests := []struct {
		status  int
		body    string
		snippet string
	}{
		{http.StatusInternalServerError, long, `Internal error: database down éé`},
		{http.StatusNotFound, "no such hook", `"no such hook"`},
		{http.StatusGone, "", "410"},
		{http.StatusTooManyRequests, "slow down", "slow down"},
	}
	for _, tc := range tests {
		srv, _ := receiver(t, tc.status, tc.body)
		c := New(Options{AllowPrivate: true})
		status, err := c.Send(context.Background(), Request{ID: "msg_1", Timestamp: time.Now(), Payload: []byte("{}"), Secrets: []string{secret(t, 1)}, URL: srv.URL})
		if status != tc.status || err == nil {
			t.Errorf("HTTP %d: Send = %d, %v; want %d and an error", tc.status, status, err, tc.status)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, strconv.Itoa(tc.status)) || !strings.Contains(msg, tc.snippet) {
			t.Errorf("HTTP %d: error %q does not name the status and %q", tc.status, msg, tc.snippet)
		}
		if strings.ContainsRune(msg, 0) || strings.Contains(msg, "\n") {
			t.Errorf("HTTP %d: error %q has a control character", tc.status, msg)
		}
	}
}

func TestSnippet(t *testing.T) {
	t.Parallel()
	tests := []struct{ body, want string }{
		{"", ""},
		{"  ok \r\n", "ok"},
		{"a\x00\x01b\tc", "a b c"},
		{"bad \xff utf-8", "bad \uFFFD utf-8"},
		{strings.Repeat("x", 200), strings.Repeat("x", 200)},
		{strings.Repeat("x", 201), strings.Repeat("x", 197) + "…"},
		{strings.Repeat("ä", 150), strings.Repeat("ä", 98) + "…"},
	}
	for _, tc := range tests {
		got := Snippet([]byte(tc.body))
		if got != tc.want {
			t.Errorf("Snippet(%.20q…) = %q; want %q", tc.body, got, tc.want)
		}
		if len(got) > 200 || !utf8.ValidString(got) {
			t.Errorf("Snippet(%.20q…) = %q: %d bytes, valid UTF-8 %v", tc.body, got, len(got), utf8.ValidString(got))
		}
	}
}

func TestSendNoRedirect(t *testing.T) {
	t.Parallel()
	var followed atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/old", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/new", http.StatusFound)
	})
	mux.HandleFunc("/new", func(w http.ResponseWriter, r *http.Request) { followed.Add(1) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	c := New(Options{AllowPrivate: true, HTTPClient: &http.Client{}}) // a given client's redirects are not followed either
	status, err := c.Send(context.Background(), Request{ID: "msg_1", Timestamp: time.Now(), Payload: []byte("{}"), Secrets: []string{secret(t, 1)}, URL: srv.URL + "/old"})
	if status != http.StatusFound || err == nil || !strings.Contains(err.Error(), `"/new"`) {
		t.Errorf("Send = %d, %v; want 302 and an error naming /new", status, err)
	}
	if n := followed.Load(); n != 0 {
		t.Errorf("the redirect was followed %d times", n)
	}
}

func TestSendTimeout(t *testing.T) {
	t.Parallel()
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-done:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(done) })
	c := New(Options{AllowPrivate: true, Timeout: 100 * time.Millisecond})
	start := time.Now()
	status, err := c.Send(context.Background(), Request{ID: "msg_1", Timestamp: time.Now(), Payload: []byte("{}"), Secrets: []string{secret(t, 1)}, URL: srv.URL})
	if status != 0 || err == nil {
		t.Errorf("Send = %d, %v; want 0 and an error", status, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Send took %v with a 100 ms timeout", d)
	}
	if err != nil && strings.Contains(err.Error(), "?") {
		t.Errorf("error %q repeats the URL's query", err)
	}
}

func TestSendPrivateAddress(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(srv.Close)
	_, port, _ := strings.Cut(strings.TrimPrefix(srv.URL, "https://"), ":")
	req := Request{ID: "msg_1", Timestamp: time.Now(), Payload: []byte("{}"), Secrets: []string{secret(t, 1)}}

	// A name resolving to 127.0.0.1 passes ValidateURL: the dialer's guard
	// refuses it when it connects.
	req.URL = "https://localhost:" + port + "/hook"
	if err := ValidateURL(req.URL, false); err != nil {
		t.Fatalf("ValidateURL(%q) = %v; want nil (the name is checked at connect time)", req.URL, err)
	}
	// srv.Client trusts the test certificate, made for example.com and
	// 127.0.0.1: let it check the name example.com, whatever the URL's.
	hc := srv.Client()
	tr := hc.Transport.(*http.Transport).Clone()
	tr.TLSClientConfig.ServerName = "example.com"
	hc.Transport = tr
	guarded := New(Options{HTTPClient: hc})
	status, err := guarded.Send(context.Background(), req)
	if status != 0 || !errors.Is(err, ErrForbiddenAddress) || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("Send to localhost = %d, %v; want 0 and ErrForbiddenAddress naming loopback", status, err)
	}
	// The Client's own transport has the guard too.
	if status, err := New(Options{}).Send(context.Background(), req); status != 0 || !errors.Is(err, ErrForbiddenAddress) {
		t.Errorf("Send to localhost with the own client = %d, %v; want 0 and ErrForbiddenAddress", status, err)
	}
	// An IP literal is refused before any connection.
	req.URL = "https://127.0.0.1:" + port + "/hook"
	status, err = guarded.Send(context.Background(), req)
	var ie *InvalidError
	if status != 0 || !errors.As(err, &ie) || ie.Problem != "private_address" {
		t.Errorf("Send to 127.0.0.1 = %d, %v; want 0 and a private_address InvalidError", status, err)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the server got %d requests without AllowPrivate", n)
	}

	open := New(Options{HTTPClient: hc, AllowPrivate: true})
	for _, u := range []string{"https://localhost:" + port + "/hook", "https://127.0.0.1:" + port + "/hook"} {
		req.URL = u
		if status, err := open.Send(context.Background(), req); status != http.StatusOK || err != nil {
			t.Errorf("Send to %s with AllowPrivate = %d, %v; want 200, nil", u, status, err)
		}
	}
	if n := hits.Load(); n != 2 {
		t.Errorf("the server got %d requests with AllowPrivate; want 2", n)
	}
}

func TestGuard(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr string
		why  string // "" when allowed
	}{
		{"127.0.0.1:443", "loopback"},
		{"127.8.9.10:443", "loopback"},
		{"[::1]:443", "loopback"},
		{"[::ffff:127.0.0.1]:443", "loopback"},
		{"10.1.2.3:443", "private"},
		{"172.16.0.1:443", "private"},
		{"172.31.255.255:443", "private"},
		{"192.168.1.1:443", "private"},
		{"[fc00::1]:443", "private"},
		{"[fd12:3456::1]:443", "private"},
		{"[::ffff:10.0.0.1]:443", "private"},
		{"169.254.169.254:80", "link-local"},
		{"[fe80::1]:443", "link-local"},
		{"0.0.0.0:443", "unspecified"},
		{"0.1.2.3:443", "unspecified"},
		{"[::]:443", "unspecified"},
		{"224.0.0.1:443", "multicast"},
		{"[ff02::1]:443", "multicast"},
		{"100.64.0.1:443", "carrier-grade NAT"},
		{"100.127.255.255:443", "carrier-grade NAT"},
		{"100.128.0.1:443", ""},
		{"100.63.255.255:443", ""},
		{"172.32.0.1:443", ""},
		{"8.8.8.8:443", ""},
		{"195.156.1.1:443", ""},
		{"[2a00:1450:4010::8a]:443", ""},
		// NAT64 (RFC 6052): a network's translator connects to the IPv4
		// address inside, so 64:ff9b::10.0.0.1 is 10.0.0.1.
		{"[64:ff9b::10.0.0.1]:443", "private"},
		{"[64:ff9b::7f00:1]:443", "loopback"},
		{"[64:ff9b::169.254.169.254]:80", "link-local"},
		{"[64:ff9b::8.8.8.8]:443", ""},
		{"[64:ff9b:1::a00:1]:443", "NAT64"}, // local-use prefix (RFC 8215): the network's own
		{"example.com:443", "not an IP address"},
	}
	for _, tc := range tests {
		err := guard("tcp", tc.addr, nil)
		switch {
		case tc.why == "" && err != nil:
			t.Errorf("guard(%s) = %v; want nil", tc.addr, err)
		case tc.why != "" && (!errors.Is(err, ErrForbiddenAddress) || !strings.Contains(err.Error(), tc.why)):
			t.Errorf("guard(%s) = %v; want ErrForbiddenAddress naming %q", tc.addr, err, tc.why)
		}
	}
	if why := forbidden(netip.Addr{}); why == "" {
		t.Error("forbidden(zero Addr) allows it")
	}
}

func TestValidateURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url          string
		allowPrivate bool
		problem      string // "" when valid
	}{
		{"https://shop.example.com/webhooks/lokero", false, ""},
		{"https://shop.example.com:8443/hooks?token=abc", false, ""},
		{"https://8.8.8.8/hook", false, ""},
		{"https://[2a00:1450:4010::8a]/hook", false, ""},
		{"https://localhost/hook", false, ""}, // refused when it connects
		{"http://localhost:8080/hook", true, ""},
		{"http://127.0.0.1:8080/hook", true, ""},
		{"https://10.0.0.5/hook", true, ""},
		{"", false, "empty"},
		{"http://shop.example.com/hook", false, "scheme"},
		{"ftp://shop.example.com/hook", true, "scheme"},
		{"javascript:alert(1)", true, "not_absolute"},
		{"/webhooks", true, "not_absolute"},
		{"shop.example.com/webhooks", true, "not_absolute"},
		{"https://user:hunter2@shop.example.com/hook", false, "userinfo"},
		{"https://user@shop.example.com/hook", true, "userinfo"},
		{"https://shop.example.com/hook#part", false, "fragment"},
		{"https://shop.example.com/hook#", false, "fragment"},
		{"https://shop.example.com/" + strings.Repeat("a", 2000), false, "too_long"},
		{"https://shop.example.com/" + strings.Repeat("a", 2000-len("https://shop.example.com/")), false, ""},
		{"https://shop.example.com/a b", false, "malformed"},
		{"https://shop.example.com/\n", false, "malformed"},
		{"https://shop.example.com:99999/", false, "host"},
		{"https:///hook", false, "host"},
		{"https://127.0.0.1/hook", false, "private_address"},
		{"https://[::1]/hook", false, "private_address"},
		{"https://[::ffff:192.168.0.1]/hook", false, "private_address"},
		{"https://10.0.0.5/hook", false, "private_address"},
		{"https://169.254.169.254/latest/meta-data", false, "private_address"},
		{"https://100.64.1.1/hook", false, "private_address"},
		{"https://0.0.0.0/hook", false, "private_address"},
		{"https://[fe80::1%25eth0]/hook", false, "private_address"},
	}
	for _, tc := range tests {
		err := ValidateURL(tc.url, tc.allowPrivate)
		if tc.problem == "" {
			if err != nil {
				t.Errorf("ValidateURL(%.60q, %v) = %v; want nil", tc.url, tc.allowPrivate, err)
			}
			continue
		}
		var ie *InvalidError
		if !errors.As(err, &ie) || ie.Field != "url" || ie.Problem != tc.problem || ie.Message == "" {
			t.Errorf("ValidateURL(%.60q, %v) = %#v; want an InvalidError about url, %q", tc.url, tc.allowPrivate, err, tc.problem)
		}
		if ie != nil && strings.Contains(ie.Error(), "hunter2") {
			t.Errorf("ValidateURL(%.60q): %q repeats the password", tc.url, ie)
		}
	}
}

func TestNextRetry(t *testing.T) {
	t.Parallel()
	var total, prev time.Duration
	for attempt := 1; attempt < MaxAttempts; attempt++ {
		d, ok := NextRetry(attempt)
		if !ok {
			t.Fatalf("NextRetry(%d) = false; want a wait (MaxAttempts %d)", attempt, MaxAttempts)
		}
		if d < prev {
			t.Errorf("NextRetry(%d) = %v, shorter than the wait before it, %v", attempt, d, prev)
		}
		prev = d
		total += d
	}
	if d, _ := NextRetry(1); d != 5*time.Second {
		t.Errorf("NextRetry(1) = %v; want 5s", d)
	}
	if want := 27*time.Hour + 35*time.Minute + 5*time.Second; total != want {
		t.Errorf("the schedule spans %v; want %v (the specification's)", total, want)
	}
	// Even with every wait jittered down by 10%, it spans a day.
	if low := Jitter(total, func() float64 { return 0 }); low < 24*time.Hour {
		t.Errorf("with -10%% jitter the schedule spans %v, less than 24h", low)
	}
	for _, attempt := range []int{MaxAttempts, MaxAttempts + 1, 0, -1} {
		if d, ok := NextRetry(attempt); ok || d != 0 {
			t.Errorf("NextRetry(%d) = %v, %v; want 0, false", attempt, d, ok)
		}
	}
	if MaxAttempts != 8 {
		t.Errorf("MaxAttempts = %d; want 8", MaxAttempts)
	}
}

func TestJitter(t *testing.T) {
	t.Parallel()
	d := 10 * time.Minute
	tests := []struct {
		random func() float64
		want   time.Duration
	}{
		{nil, d},
		{func() float64 { return 0 }, 9 * time.Minute},
		{func() float64 { return 0.5 }, d},
		{func() float64 { return 0.75 }, 10*time.Minute + 30*time.Second},
		{func() float64 { return 1 }, d},  // out of range: none
		{func() float64 { return -1 }, d}, // out of range: none
	}
	for i, tc := range tests {
		if got := Jitter(d, tc.random); got != tc.want {
			t.Errorf("%d: Jitter(%v) = %v; want %v", i, d, got, tc.want)
		}
	}
	if got := Jitter(d, func() float64 { return 0.999999 }); got > 11*time.Minute || got < 10*time.Minute {
		t.Errorf("Jitter(%v, 0.999999) = %v; want just under 11m", d, got)
	}
}

func TestRetryableGone(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status          int
		retryable, gone bool
	}{
		{0, true, false},
		{200, false, false},
		{204, false, false},
		{302, true, false},
		{400, true, false},
		{401, true, false},
		{404, true, false},
		{410, false, true},
		{429, true, false},
		{500, true, false},
		{503, true, false},
	}
	for _, tc := range tests {
		if got := Retryable(tc.status); got != tc.retryable {
			t.Errorf("Retryable(%d) = %v; want %v", tc.status, got, tc.retryable)
		}
		if got := Gone(tc.status); got != tc.gone {
			t.Errorf("Gone(%d) = %v; want %v", tc.status, got, tc.gone)
		}
	}
}

func TestNewSecret(t *testing.T) {
	t.Parallel()
	key := bytes.Repeat([]byte{0xab}, 32)
	s, err := NewSecret(bytes.NewReader(key))
	if err != nil {
		t.Fatal(err)
	}
	if want := "whsec_" + base64.StdEncoding.EncodeToString(key); s != want {
		t.Errorf("NewSecret = %q; want %q", s, want)
	}
	// The library takes it, and its key is those 32 bytes: a signature
	// made with the raw key verifies with the secret.
	wh, err := standardwebhooks.NewWebhook(s)
	if err != nil {
		t.Fatalf("NewWebhook(%q): %v", s, err)
	}
	raw, err := standardwebhooks.NewWebhookRaw(key)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	sig, _ := raw.Sign("msg_1", now, []byte("{}"))
	h := http.Header{}
	h.Set("webhook-id", "msg_1")
	h.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	h.Set("webhook-signature", sig)
	if err := wh.Verify([]byte("{}"), h); err != nil {
		t.Errorf("Verify with the secret of a raw key's signature: %v", err)
	}

	a, err := NewSecret(nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewSecret(nil)
	if a == b || len(a) != len("whsec_")+44 {
		t.Errorf("NewSecret(nil) = %q, %q; want two different 50-byte secrets", a, b)
	}
	if _, err := NewSecret(bytes.NewReader(make([]byte, 31))); err == nil {
		t.Error("NewSecret with 31 random bytes: no error")
	}
}

func TestEventJSON(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 7, 11, 30, 0, 123456789, time.FixedZone("EET", 2*3600))
	tests := []struct {
		event Event
		want  string
	}{
		{Event{Type: "shipment.ready_for_pickup", Timestamp: at, Data: map[string]any{"tracking_code": "JJFI1", "note": "<b>&"}},
			`{"type":"shipment.ready_for_pickup","timestamp":"2026-12-07T09:30:00.123Z","data":{"note":"<b>&","tracking_code":"JJFI1"}}`},
		{Event{Type: "shipment.collected", Timestamp: time.Date(2026, 12, 7, 9, 30, 0, 0, time.UTC)},
			`{"type":"shipment.collected","timestamp":"2026-12-07T09:30:00.000Z","data":{}}`},
	}
	for _, tc := range tests {
		got, err := tc.event.JSON()
		if err != nil || string(got) != tc.want {
			t.Errorf("%s: JSON = %s, %v; want %s", tc.event.Type, got, err, tc.want)
		}
	}
	for _, e := range []Event{{Timestamp: at}, {Type: "x"}, {Type: "x", Timestamp: at, Data: func() {}}} {
		if _, err := e.JSON(); err == nil {
			t.Errorf("%+v: JSON: no error", e)
		}
	}
}

// TestGuardedTransport: the transport other senders borrow (Web Push)
// refuses a loopback endpoint at connect time, as the guarded Client does;
// the request never reaches it.
func TestGuardedTransport(t *testing.T) {
	t.Parallel()
	reached := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached <- struct{}{} }))
	defer srv.Close()
	client := &http.Client{Transport: GuardedTransport(), Timeout: 5 * time.Second}
	resp, err := client.Post(srv.URL, "application/octet-stream", strings.NewReader("push"))
	if err == nil {
		resp.Body.Close()
	}
	if !errors.Is(err, ErrForbiddenAddress) {
		t.Errorf("POST to %s through the guarded transport: %v; want ErrForbiddenAddress", srv.URL, err)
	}
	select {
	case <-reached:
		t.Error("the loopback endpoint was reached")
	default:
	}
}
