package webpush_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lokero/lokero/notify"
	"github.com/lokero/lokero/notify/webpush"
	"github.com/lokero/lokero/notify/webpush/webpushtest"
)

var secret = []byte("a server secret of some length, for tests")

func keys(t *testing.T) webpush.Keys {
	t.Helper()
	k, err := webpush.DeriveKeys(secret)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// message is an arrival notice to sub.
func message(sub webpushtest.Subscription) notify.Message {
	return notify.Message{
		ID:       42,
		Channel:  notify.ChannelPush,
		To:       "sub-1",
		Kind:     notify.KindArrival,
		Language: "fi",
		Text:     "Pakettisi JJFI64123450000000001 on noudettavissa: Lokero K-Market Kamppi, koodi 123456, 14.12. asti. <&>",
		Parcel: notify.Parcel{
			TrackingCode: "JJFI64123450000000001",
			TrackingURL:  "https://lokero.example/t/JJFI64123450000000001",
			Code:         "123456",
			Deadline:     time.Date(2026, 12, 14, 21, 0, 0, 0, time.UTC),
		},
		Push: &notify.PushTarget{Endpoint: sub.Endpoint, P256dh: sub.P256dh, Auth: sub.Auth},
	}
}

var now = time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)

func sender(t *testing.T) *webpush.Sender {
	t.Helper()
	return webpush.New(keys(t), "mailto:ops@lokero.example", nil, webpush.WithClock(func() time.Time { return now }))
}

func TestSendArrives(t *testing.T) {
	t.Parallel()
	srv := webpushtest.NewServer(t)
	sub := srv.Subscribe()
	m := message(sub)
	id, err := sender(t).Send(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(id, srv.URL+"/message/") {
		t.Errorf("provider id %q: want the Location %s/message/…", id, srv.URL)
	}
	got := srv.Wait(t, 1, 5*time.Second)[0]
	want := `{"id":42,"kind":"arrival","title":"Paketti on noudettavissa","body":"Pakettisi JJFI64123450000000001 on noudettavissa: Lokero K-Market Kamppi, koodi 123456, 14.12. asti. <&>","url":"https://lokero.example/t/JJFI64123450000000001","tracking_code":"JJFI64123450000000001","lang":"fi"}`
	if string(got.Payload) != want {
		t.Errorf("payload\n got %s\nwant %s", got.Payload, want)
	}
	if got.Endpoint != sub.Endpoint {
		t.Errorf("endpoint %q, want %q", got.Endpoint, sub.Endpoint)
	}
	if wantTTL := int(m.Parcel.Deadline.Sub(now) / time.Second); got.TTL != wantTTL {
		t.Errorf("TTL %d, want %d (until the deadline)", got.TTL, wantTTL)
	}
	if got.Urgency != "high" {
		t.Errorf("Urgency %q, want high", got.Urgency)
	}
	if wantTopic := webpush.Topic(m.Parcel.TrackingCode, m.Kind); got.Topic != wantTopic || len(got.Topic) != 22 {
		t.Errorf("Topic %q, want %q (22 characters)", got.Topic, wantTopic)
	}
	if got.VAPIDKey != keys(t).PublicKey() {
		t.Errorf("VAPID k %q, want DeriveKeys' %q", got.VAPIDKey, keys(t).PublicKey())
	}
	if got.Claims.Sub != "mailto:ops@lokero.example" {
		t.Errorf("VAPID sub %q", got.Claims.Sub)
	}
	if got.Claims.Aud != srv.URL {
		t.Errorf("VAPID aud %q, want %q", got.Claims.Aud, srv.URL)
	}
	if errs := srv.Errors(); len(errs) != 0 {
		t.Errorf("push service errors: %q", errs)
	}
}

func TestSendHeaders(t *testing.T) {
	t.Parallel()
	srv := webpushtest.NewServer(t)
	s := sender(t)
	tests := []struct {
		name     string
		edit     func(*notify.Message)
		ttl      int
		urgency  string
		title    string
		topicSet bool
	}{
		{"reminder sv, deadline in 2 days", func(m *notify.Message) {
			m.Kind, m.Language = notify.KindReminder, "sv"
			m.Parcel.Deadline = now.Add(48 * time.Hour)
		}, 48 * 3600, "normal", "Kom ihåg att hämta ditt paket", true},
		{"no deadline: 24 h", func(m *notify.Message) { m.Parcel.Deadline = time.Time{} }, 24 * 3600, "high", "Paketti on noudettavissa", true},
		{"deadline passed (expired): 24 h", func(m *notify.Message) {
			m.Kind, m.Language = notify.KindExpired, "en"
			m.Parcel.Deadline = now.Add(-time.Hour)
		}, 24 * 3600, "normal", "Your parcel's storage period ended", true},
		{"far deadline capped at 28 days", func(m *notify.Message) { m.Parcel.Deadline = now.Add(90 * 24 * time.Hour) }, 28 * 24 * 3600, "high", "Paketti on noudettavissa", true},
		{"unknown kind, no tracking code: no topic", func(m *notify.Message) {
			m.Kind, m.Language = "something", "sv"
			m.Parcel.TrackingCode = ""
		}, 7*24*3600 + 12*3600, "normal", "Information om ditt paket", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub := srv.Subscribe()
			m := message(sub)
			tt.edit(&m)
			if _, err := s.Send(context.Background(), m); err != nil {
				t.Fatal(err)
			}
			var got webpushtest.Push
			for _, p := range srv.Received() {
				if p.Endpoint == sub.Endpoint {
					got = p
				}
			}
			if got.Endpoint == "" {
				t.Fatalf("no push arrived: %q", srv.Errors())
			}
			if got.TTL != tt.ttl || got.Urgency != tt.urgency {
				t.Errorf("TTL %d Urgency %q, want %d %q", got.TTL, got.Urgency, tt.ttl, tt.urgency)
			}
			if (got.Topic != "") != tt.topicSet {
				t.Errorf("Topic %q, want set: %v", got.Topic, tt.topicSet)
			}
			var p struct{ Title, Kind, Lang string }
			if err := json.Unmarshal(got.Payload, &p); err != nil {
				t.Fatal(err)
			}
			if p.Title != tt.title || p.Kind != m.Kind || p.Lang != m.Language {
				t.Errorf("title %q kind %q lang %q, want %q %q %q", p.Title, p.Kind, p.Lang, tt.title, m.Kind, m.Language)
			}
		})
	}
}

func TestTopic(t *testing.T) {
	t.Parallel()
	a := webpush.Topic("JJFI1", notify.KindArrival)
	if a != webpush.Topic("JJFI1", notify.KindArrival) {
		t.Error("Topic is not stable")
	}
	for _, other := range []string{webpush.Topic("JJFI1", notify.KindReminder), webpush.Topic("JJFI2", notify.KindArrival)} {
		if other == a {
			t.Errorf("Topic %q for another parcel or kind", other)
		}
	}
	if len(a) > 32 || strings.Trim(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
		t.Errorf("Topic %q: not ≤32 base64url characters", a)
	}
}

func TestDeriveKeys(t *testing.T) {
	t.Parallel()
	a, err := webpush.DeriveKeys(secret)
	if err != nil {
		t.Fatal(err)
	}
	b, err := webpush.DeriveKeys(bytes.Clone(secret))
	if err != nil {
		t.Fatal(err)
	}
	if a.PublicKey() != b.PublicKey() || a.PrivateKey() != b.PrivateKey() {
		t.Error("the same secret gave different keys")
	}
	c, err := webpush.DeriveKeys([]byte("another server secret, for tests"))
	if err != nil {
		t.Fatal(err)
	}
	if c.PublicKey() == a.PublicKey() {
		t.Error("different secrets gave the same key")
	}
	pub, err := base64.RawURLEncoding.DecodeString(a.PublicKey())
	if err != nil || len(pub) != 65 || pub[0] != 4 {
		t.Errorf("PublicKey %q: not 65 bytes of uncompressed point in base64url", a.PublicKey())
	}
	// The public key is one a browser takes: a subscription's p256dh check
	// (a point on the curve) accepts it.
	if err := webpush.ValidateSubscription("https://push.example/x", a.PublicKey(), base64.RawURLEncoding.EncodeToString(make([]byte, 16)), false); err != nil {
		t.Errorf("the derived public key is not a valid P-256 point: %v", err)
	}
	p, err := webpush.ParseKeys(a.PrivateKey())
	if err != nil || p.PublicKey() != a.PublicKey() {
		t.Errorf("ParseKeys(PrivateKey()) = %q, %v; want %q", p.PublicKey(), err, a.PublicKey())
	}
	if _, err := webpush.DeriveKeys([]byte("short")); err == nil {
		t.Error("DeriveKeys took a 5-byte secret")
	}
}

func TestGenerateKeys(t *testing.T) {
	t.Parallel()
	a, err := webpush.GenerateKeys(bytes.NewReader(bytes.Repeat([]byte{7}, 48)))
	if err != nil {
		t.Fatal(err)
	}
	b, err := webpush.GenerateKeys(bytes.NewReader(bytes.Repeat([]byte{7}, 48)))
	if err != nil {
		t.Fatal(err)
	}
	if a.PublicKey() != b.PublicKey() {
		t.Error("the same random bytes gave different keys")
	}
	c, err := webpush.GenerateKeys(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.PublicKey() == a.PublicKey() {
		t.Error("crypto/rand gave the key of bytes of 7")
	}
	if _, err := webpush.GenerateKeys(bytes.NewReader(make([]byte, 10))); err == nil {
		t.Error("GenerateKeys took 10 random bytes")
	}
	// A generated key signs pushes the service verifies.
	srv := webpushtest.NewServer(t)
	sub := srv.Subscribe()
	if _, err := webpush.New(c, "https://lokero.example/contact", nil).Send(context.Background(), message(sub)); err != nil {
		t.Fatal(err)
	}
	got := srv.Wait(t, 1, 5*time.Second)[0]
	if got.VAPIDKey != c.PublicKey() || got.Claims.Sub != "https://lokero.example/contact" {
		t.Errorf("k %q sub %q, want %q https://lokero.example/contact", got.VAPIDKey, got.Claims.Sub, c.PublicKey())
	}
}

func TestSendStatus(t *testing.T) {
	t.Parallel()
	srv := webpushtest.NewServer(t)
	s := sender(t)
	tests := []struct {
		code      int
		gone      bool
		permanent bool
	}{
		{http.StatusGone, true, true},
		{http.StatusNotFound, true, true},
		{http.StatusBadRequest, false, true},
		{http.StatusForbidden, false, true},
		{http.StatusRequestEntityTooLarge, false, true},
		{http.StatusTooManyRequests, false, false},
		{http.StatusInternalServerError, false, false},
		{http.StatusServiceUnavailable, false, false},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.code), func(t *testing.T) {
			sub := srv.Subscribe()
			srv.SetStatus(sub.Endpoint, tt.code)
			m := message(sub)
			_, err := s.Send(context.Background(), m)
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, webpush.ErrGone) != tt.gone {
				t.Errorf("errors.Is(ErrGone) = %v, want %v: %v", !tt.gone, tt.gone, err)
			}
			if notify.IsPermanent(err) != tt.permanent {
				t.Errorf("IsPermanent = %v, want %v: %v", !tt.permanent, tt.permanent, err)
			}
			if strings.Contains(err.Error(), "123456") || strings.Contains(err.Error(), "noudettavissa") {
				t.Errorf("the error tells the message: %v", err)
			}
			if !strings.Contains(err.Error(), "HTTP "+strconv.Itoa(tt.code)) {
				t.Errorf("the error does not tell the status: %v", err)
			}
		})
	}
	if errs := srv.Errors(); len(errs) != 0 {
		t.Errorf("push service errors: %q", errs)
	}
}

func TestSendNetworkError(t *testing.T) {
	t.Parallel()
	srv := webpushtest.NewServer(t)
	sub := srv.Subscribe()
	m := message(sub)
	m.Push.Endpoint = "http://127.0.0.1:1/push/x" // nothing listens on port 1
	_, err := sender(t).Send(context.Background(), m)
	if err == nil || notify.IsPermanent(err) {
		t.Fatalf("err %v: want an error to retry", err)
	}
	if strings.Contains(err.Error(), "/push/x") {
		t.Errorf("the error repeats the endpoint: %v", err)
	}
}

func TestSendContext(t *testing.T) {
	t.Parallel()
	srv := webpushtest.NewServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := sender(t).Send(ctx, message(srv.Subscribe()))
	if !errors.Is(err, context.Canceled) || notify.IsPermanent(err) {
		t.Fatalf("err %v: want context.Canceled, to retry", err)
	}
	if n := len(srv.Received()); n != 0 {
		t.Errorf("%d pushes arrived with a cancelled context", n)
	}
}

func TestSendLongText(t *testing.T) {
	t.Parallel()
	srv := webpushtest.NewServer(t)
	sub := srv.Subscribe()
	m := message(sub)
	m.Text = strings.Repeat("Ääkkösiä ja \"lainausmerkkejä\" ", 400) // ~12 kB, with escapes
	if _, err := sender(t).Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	got := srv.Wait(t, 1, 5*time.Second)[0]
	var p struct{ Body, Title string }
	if err := json.Unmarshal(got.Payload, &p); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(p.Body, "…") || !strings.HasPrefix(m.Text, strings.TrimSuffix(p.Body, "…")) {
		t.Errorf("body not cut from the text's start with …: %q", p.Body[:40])
	}
	if len(got.Payload) > 4096-86-16-1 || len(got.Payload) < 3900 {
		t.Errorf("payload %d bytes: want just under the record's %d", len(got.Payload), 4096-86-16-1)
	}
	if p.Title != "Paketti on noudettavissa" {
		t.Errorf("title %q", p.Title)
	}
}

func TestSendRefused(t *testing.T) {
	t.Parallel()
	srv := webpushtest.NewServer(t)
	tests := []struct {
		name string
		s    *webpush.Sender
		edit func(*notify.Message)
		perm bool
	}{
		{"no push target", sender(t), func(m *notify.Message) { m.Push = nil }, true},
		{"bad p256dh", sender(t), func(m *notify.Message) { m.Push.P256dh = "AAAA" }, true},
		{"auth of 15 bytes", sender(t), func(m *notify.Message) {
			m.Push.Auth = base64.RawURLEncoding.EncodeToString(make([]byte, 15))
		}, true},
		{"payload too long without the text", sender(t), func(m *notify.Message) {
			m.Parcel.TrackingURL = "https://lokero.example/" + strings.Repeat("x", 5000)
		}, true},
		{"no VAPID key", webpush.New(webpush.Keys{}, "mailto:ops@lokero.example", nil), func(*notify.Message) {}, false},
		{"bad subject", webpush.New(keys(t), "ops", nil), func(*notify.Message) {}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := message(srv.Subscribe())
			tt.edit(&m)
			_, err := tt.s.Send(context.Background(), m)
			if err == nil || notify.IsPermanent(err) != tt.perm {
				t.Fatalf("err %v: want an error, permanent %v", err, tt.perm)
			}
			if strings.Contains(err.Error(), "123456") {
				t.Errorf("the error tells the message: %v", err)
			}
		})
	}
	if n := len(srv.Received()) + len(srv.Errors()); n != 0 {
		t.Errorf("%d requests reached the push service", n)
	}
}

// TestSendNoRedirect: a push service's redirect is not followed, with
// the Sender's own client or a given one. The endpoint is the
// subscriber's to choose: a redirect would have lokero post wherever it
// points (an http URL, an address inside lokero's network) and report the
// notice sent on that other server's 2xx.
func TestSendNoRedirect(t *testing.T) {
	t.Parallel()
	// internal stands in for what a redirect points at; it is checked
	// after the parallel subtests.
	internal := webpushtest.NewServer(t)
	t.Cleanup(func() {
		if n := len(internal.Received()) + len(internal.Errors()); n != 0 {
			t.Errorf("%d requests followed the redirect to the other server: %q", n, internal.Errors())
		}
	})
	tests := []struct {
		name   string
		client *http.Client
		code   int
	}{
		{"own client, 307", nil, http.StatusTemporaryRedirect},
		{"own client, 308", nil, http.StatusPermanentRedirect},
		{"own client, 302", nil, http.StatusFound},
		{"given client, 307", &http.Client{Timeout: 5 * time.Second}, http.StatusTemporaryRedirect},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			target := internal.Subscribe()
			redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, target.Endpoint, tt.code)
			}))
			t.Cleanup(redirector.Close)
			m := message(target)
			m.Push.Endpoint = redirector.URL + "/push/evil"
			s := webpush.New(keys(t), "mailto:ops@lokero.example", tt.client, webpush.WithClock(func() time.Time { return now }))
			id, err := s.Send(context.Background(), m)
			if err == nil {
				t.Fatalf("Send through a %d redirect = %q, nil; want an error", tt.code, id)
			}
			if !notify.IsPermanent(err) || !strings.Contains(err.Error(), "HTTP "+strconv.Itoa(tt.code)) {
				t.Errorf("err %v: want a permanent error telling HTTP %d", err, tt.code)
			}
		})
	}
}

func TestValidateSubscription(t *testing.T) {
	t.Parallel()
	srv := webpushtest.NewServer(t)
	good := srv.Subscribe()
	b64 := base64.RawURLEncoding.EncodeToString
	key, _ := base64.RawURLEncoding.DecodeString(good.P256dh)
	auth, _ := base64.RawURLEncoding.DecodeString(good.Auth)
	offCurve := bytes.Clone(key)
	offCurve[64] ^= 1
	compressed := append([]byte{2 | key[64]&1}, key[1:33]...)
	tests := []struct {
		name                   string
		endpoint, p256dh, auth string
		insecure               bool
		field, problem         string // "" valid
	}{
		{"webpushtest subscription, insecure allowed", good.Endpoint, good.P256dh, good.Auth, true, "", ""},
		{"https push service", "https://fcm.googleapis.com/fcm/send/abc:def", good.P256dh, good.Auth, false, "", ""},
		{"std alphabet padded keys", "https://updates.push.services.mozilla.com/wpush/v2/x", base64.StdEncoding.EncodeToString(key), base64.StdEncoding.EncodeToString(auth), false, "", ""},
		{"url alphabet padded keys", "https://web.push.apple.com/x", base64.URLEncoding.EncodeToString(key), base64.URLEncoding.EncodeToString(auth), false, "", ""},
		{"http refused", good.Endpoint, good.P256dh, good.Auth, false, "endpoint", "not_https"},
		{"http name refused", "http://push.example/x", good.P256dh, good.Auth, false, "endpoint", "not_https"},
		{"ftp", "ftp://push.example/x", good.P256dh, good.Auth, true, "endpoint", "not_https"},
		{"relative", "/push/x", good.P256dh, good.Auth, true, "endpoint", "not_url"},
		{"empty endpoint", "", good.P256dh, good.Auth, true, "endpoint", "missing"},
		{"IP host", "https://10.0.0.1/push/x", good.P256dh, good.Auth, false, "endpoint", "ip_host"},
		{"IPv6 host", "https://[::1]/push/x", good.P256dh, good.Auth, false, "endpoint", "ip_host"},
		{"localhost", "https://localhost:8443/push/x", good.P256dh, good.Auth, false, "endpoint", "localhost"},
		{"too long", "https://push.example/" + strings.Repeat("x", 1000), good.P256dh, good.Auth, true, "endpoint", "too_long"},
		{"p256dh missing", good.Endpoint, "", good.Auth, true, "keys.p256dh", "missing"},
		{"p256dh not base64", good.Endpoint, "not*base64!", good.Auth, true, "keys.p256dh", "bad_base64"},
		{"p256dh compressed", good.Endpoint, b64(compressed), good.Auth, true, "keys.p256dh", "bad_key"},
		{"p256dh 64 bytes", good.Endpoint, b64(key[1:]), good.Auth, true, "keys.p256dh", "bad_key"},
		{"p256dh not on the curve", good.Endpoint, b64(offCurve), good.Auth, true, "keys.p256dh", "not_on_curve"},
		{"auth missing", good.Endpoint, good.P256dh, "", true, "keys.auth", "missing"},
		{"auth 15 bytes", good.Endpoint, good.P256dh, b64(auth[:15]), true, "keys.auth", "bad_length"},
		{"auth 17 bytes", good.Endpoint, good.P256dh, b64(append(bytes.Clone(auth), 0)), true, "keys.auth", "bad_length"},
		{"auth not base64", good.Endpoint, good.P256dh, "%%%", true, "keys.auth", "bad_base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := webpush.ValidateSubscription(tt.endpoint, tt.p256dh, tt.auth, tt.insecure)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var ie *webpush.InvalidError
			if !errors.As(err, &ie) {
				t.Fatalf("err %v: want an *InvalidError", err)
			}
			if ie.Field != tt.field || ie.Problem != tt.problem || ie.Message == "" {
				t.Errorf("got %q %q (%q), want %q %q", ie.Field, ie.Problem, ie.Message, tt.field, tt.problem)
			}
		})
	}
}

func TestTitles(t *testing.T) {
	t.Parallel()
	kinds := []string{notify.KindArrival, notify.KindReminder, notify.KindRerouted, notify.KindExpired, notify.KindDropOffReceipt}
	seen := map[string]bool{}
	for _, k := range kinds {
		for _, lang := range []string{"fi", "sv", "en"} {
			title := webpush.Title(k, lang)
			if title == "" || seen[title] {
				t.Errorf("Title(%q, %q) = %q: empty or repeated", k, lang, title)
			}
			seen[title] = true
		}
	}
	if got := webpush.Title(notify.KindArrival, "de"); got != "Paketti on noudettavissa" {
		t.Errorf("an unknown language: %q, want Finnish", got)
	}
}
