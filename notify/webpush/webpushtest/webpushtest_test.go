package webpushtest_test

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"encoding/base64"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lokero/lokero/notify"
	"github.com/lokero/lokero/notify/webpush"
	"github.com/lokero/lokero/notify/webpush/webpushtest"
)

func b64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDecryptRFC8291 decrypts the example of RFC 8291 §5 / Appendix A.
func TestDecryptRFC8291(t *testing.T) {
	t.Parallel()
	ua, err := ecdh.P256().NewPrivateKey(b64(t, "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"))
	if err != nil {
		t.Fatal(err)
	}
	if got := base64.RawURLEncoding.EncodeToString(ua.PublicKey().Bytes()); got != "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4" {
		t.Fatalf("ua_public %s: not the RFC's", got)
	}
	auth := b64(t, "BTBZMqHH6r4Tts7J_aSIgg")
	body := b64(t, "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27ml"+
		"mlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPT"+
		"pK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN")
	got, err := webpushtest.Decrypt(ua, auth, body)
	if err != nil {
		t.Fatal(err)
	}
	if want := "When I grow up, I want to be a watermelon"; string(got) != want {
		t.Errorf("plaintext %q, want %q", got, want)
	}

	// Any change fails: a flipped ciphertext bit, another auth secret.
	tampered := bytes.Clone(body)
	tampered[len(tampered)-20] ^= 1
	if _, err := webpushtest.Decrypt(ua, auth, tampered); err == nil {
		t.Error("a tampered body decrypted")
	}
	other := bytes.Clone(auth)
	other[0] ^= 1
	if _, err := webpushtest.Decrypt(ua, other, body); err == nil {
		t.Error("the body decrypted with another auth secret")
	}
	if _, err := webpushtest.Decrypt(ua, auth, body[:50]); err == nil {
		t.Error("a truncated body decrypted")
	}
}

// rewrite is a transport that edits each request before sending it.
type rewrite func(*http.Request)

func (f rewrite) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	f(r)
	return http.DefaultTransport.RoundTrip(r)
}

func TestServerRefuses(t *testing.T) {
	t.Parallel()
	keys, err := webpush.DeriveKeys([]byte("webpushtest secret of some bytes"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := webpush.DeriveKeys([]byte("another secret of at least 16 bytes"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit func(*http.Request)
		want string // in the recorded error
		code int
	}{
		{"another k", func(r *http.Request) {
			a := r.Header.Get("Authorization")
			r.Header.Set("Authorization", strings.Replace(a, "k="+keys.PublicKey(), "k="+other.PublicKey(), 1))
		}, "does not verify", 400},
		{"no authorization", func(r *http.Request) { r.Header.Del("Authorization") }, "vapid scheme", 400},
		{"signature changed", func(r *http.Request) {
			a := r.Header.Get("Authorization")
			i := strings.Index(a, ", k=")
			c := "A"
			if a[i-5] == 'A' {
				c = "B"
			}
			r.Header.Set("Authorization", a[:i-5]+c+a[i-4:])
		}, "JWT signature", 400},
		{"no TTL", func(r *http.Request) { r.Header.Del("TTL") }, "TTL", 400},
		{"bad topic", func(r *http.Request) { r.Header.Set("Topic", "not a topic!") }, "Topic", 400},
		{"bad urgency", func(r *http.Request) { r.Header.Set("Urgency", "now") }, "Urgency", 400},
		{"other encoding", func(r *http.Request) { r.Header.Set("Content-Encoding", "aesgcm") }, "Content-Encoding", 400},
		{"body tampered", func(r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			b[len(b)-1] ^= 1
			r.Body = io.NopCloser(bytes.NewReader(b))
		}, "decrypting", 400},
		{"body too large", func(r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			b = append(b, 0)
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
		}, "over 4096", 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := webpushtest.NewServer(t)
			sub := srv.Subscribe()
			s := webpush.New(keys, "mailto:ops@lokero.example", &http.Client{Transport: rewrite(tt.edit)})
			_, err := s.Send(context.Background(), notify.Message{
				ID: 1, Kind: notify.KindArrival, Language: "en", Text: "hello",
				Parcel: notify.Parcel{TrackingCode: "JJFI1"},
				Push:   &notify.PushTarget{Endpoint: sub.Endpoint, P256dh: sub.P256dh, Auth: sub.Auth},
			})
			if err == nil || !notify.IsPermanent(err) || !strings.Contains(err.Error(), "HTTP "+strconv.Itoa(tt.code)) {
				t.Errorf("err %v: want a permanent HTTP %d", err, tt.code)
			}
			errs := srv.Errors()
			if len(errs) != 1 || !strings.Contains(errs[0], tt.want) {
				t.Errorf("errors %q: want one with %q", errs, tt.want)
			}
			if n := len(srv.Received()); n != 0 {
				t.Errorf("%d pushes recorded", n)
			}
		})
	}
}

func TestServerAccepts(t *testing.T) {
	t.Parallel()
	srv := webpushtest.NewServer(t)
	keys, err := webpush.GenerateKeys(nil)
	if err != nil {
		t.Fatal(err)
	}
	s := webpush.New(keys, "mailto:ops@lokero.example", nil)
	subs := []webpushtest.Subscription{srv.Subscribe(), srv.Subscribe()}
	if subs[0].Endpoint == subs[1].Endpoint || subs[0].P256dh == subs[1].P256dh || subs[0].Auth == subs[1].Auth {
		t.Fatal("two subscriptions share an endpoint or keys")
	}
	for i, sub := range subs {
		go s.Send(context.Background(), notify.Message{ //nolint:errcheck // Wait tells
			ID: int64(i), Kind: notify.KindReminder, Language: "en", Text: "hello",
			Push: &notify.PushTarget{Endpoint: sub.Endpoint, P256dh: sub.P256dh, Auth: sub.Auth},
		})
	}
	got := srv.Wait(t, 2, 5*time.Second)
	for _, p := range got {
		if !bytes.Contains(p.Payload, []byte(`"body":"hello"`)) || p.VAPIDKey != keys.PublicKey() {
			t.Errorf("push %+v", p)
		}
		if d := time.Until(p.Claims.Exp); d <= 0 || d > 24*time.Hour {
			t.Errorf("exp %v", p.Claims.Exp)
		}
	}
	// An unknown endpoint is 404, recorded as no error.
	resp, err := http.Post(srv.URL+"/push/nope", "application/octet-stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown endpoint: HTTP %d", resp.StatusCode)
	}
}
