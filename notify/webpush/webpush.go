// Package webpush sends push notices to browsers: the Web Push protocol
// (RFC 8030) with the payload encrypted to the subscription's keys
// (RFC 8291, aes128gcm) and the sender identified by VAPID (RFC 8292),
// through github.com/SherClockHolmes/webpush-go.
//
// The VAPID key pair derives from a server secret (DeriveKeys), so every
// instance of a network signs with the same key and the browsers'
// subscriptions, made against its public key (Keys.PublicKey, the
// applicationServerKey), stay valid. Send posts a small JSON payload
// (the message's id, kind, a title in its language, the text, the
// tracking page and code) padded to one 4096-byte record, cutting the
// text when the whole would not fit. A push service's 404 or 410 means
// the subscription is gone: the error wraps ErrGone and is
// notify.Permanent, and the service drops the subscription.
// ValidateSubscription checks what a browser posts before it is stored.
package webpush

import (
	"context"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lokero/lokero/notify"

	webpushgo "github.com/SherClockHolmes/webpush-go"
)

// RecordSize is the size of the one encrypted record a push carries
// (RFC 8291 §4: push services need accept no more than 4096 bytes).
const RecordSize = 4096

// maxPayload is the most plaintext that fits in one RecordSize record:
// the header (16-byte salt, 4-byte record size, 1-byte key length and the
// 65-byte sender key), the 16-byte AEAD tag and the padding delimiter
// take the rest.
const maxPayload = RecordSize - (16 + 4 + 1 + 65) - 16 - 1

// Limits of the push headers.
const (
	// DefaultTTL is how long the push service keeps an undelivered notice
	// when the message names no deadline.
	DefaultTTL = 24 * time.Hour
	// MaxTTL caps the time to live of a notice with a far deadline.
	MaxTTL = 28 * 24 * time.Hour
	// MaxEndpointLength is the longest endpoint ValidateSubscription
	// accepts.
	MaxEndpointLength = 1000
)

// deriveLabel separates the VAPID key from anything else lokero derives
// from the same server secret.
const deriveLabel = "lokero: VAPID key"

// MinSecretLength is the shortest server secret DeriveKeys accepts.
const MinSecretLength = 16

// ErrGone is what a push service's 404 or 410 answer wraps: the
// subscription expired or the person unsubscribed, and it is to be
// dropped. It wraps notify.ErrGone, which the service acts on.
var ErrGone = fmt.Errorf("web push: subscription gone: %w", notify.ErrGone)

// Keys is a VAPID key pair on P-256. The zero Keys has no key.
type Keys struct {
	priv *ecdh.PrivateKey
}

// DeriveKeys derives the VAPID key pair from secret (at least
// MinSecretLength bytes): HKDF-SHA256 of secret with the info "lokero:
// VAPID key" gives 48 bytes, reduced to a scalar in [1, n-1]. The same
// secret gives the same key on every instance.
func DeriveKeys(secret []byte) (Keys, error) {
	if len(secret) < MinSecretLength {
		return Keys{}, fmt.Errorf("web push: VAPID key: the secret has %d bytes, want at least %d", len(secret), MinSecretLength)
	}
	okm, err := hkdf.Key(sha256.New, secret, nil, deriveLabel, 48)
	if err != nil {
		return Keys{}, fmt.Errorf("web push: VAPID key: %w", err)
	}
	return keysFromBytes(okm)
}

// GenerateKeys makes a new VAPID key pair from 48 bytes read from random
// (crypto/rand's Reader when nil).
func GenerateKeys(random io.Reader) (Keys, error) {
	if random == nil {
		random = rand.Reader
	}
	b := make([]byte, 48)
	if _, err := io.ReadFull(random, b); err != nil {
		return Keys{}, fmt.Errorf("web push: VAPID key: %w", err)
	}
	return keysFromBytes(b)
}

// ParseKeys reads a private key as Keys.PrivateKey writes it (32 bytes,
// base64url).
func ParseKeys(privateKey string) (Keys, error) {
	b, err := decodeBase64(privateKey)
	if err != nil {
		return Keys{}, fmt.Errorf("web push: VAPID private key: not base64url")
	}
	priv, err := ecdh.P256().NewPrivateKey(b)
	if err != nil {
		return Keys{}, fmt.Errorf("web push: VAPID private key: not a P-256 private key")
	}
	return Keys{priv: priv}, nil
}

// keysFromBytes reduces b (48 bytes: the bias of the reduction is below
// 2^-128) to a scalar in [1, n-1] and makes the key pair.
func keysFromBytes(b []byte) (Keys, error) {
	n, _ := new(big.Int).SetString("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551", 16)
	d := new(big.Int).SetBytes(b)
	d.Mod(d, new(big.Int).Sub(n, big.NewInt(1)))
	d.Add(d, big.NewInt(1))
	priv, err := ecdh.P256().NewPrivateKey(d.FillBytes(make([]byte, 32)))
	if err != nil {
		return Keys{}, fmt.Errorf("web push: VAPID key: %w", err)
	}
	return Keys{priv: priv}, nil
}

// PublicKey is the public key as the browser's applicationServerKey
// takes it: the uncompressed point (65 bytes), base64url without padding.
// It is "" for the zero Keys.
func (k Keys) PublicKey() string {
	if k.priv == nil {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(k.priv.PublicKey().Bytes())
}

// PrivateKey is the private scalar (32 bytes), base64url without padding,
// as webpush-go and ParseKeys take it. It is "" for the zero Keys.
func (k Keys) PrivateKey() string {
	if k.priv == nil {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(k.priv.Bytes())
}

// Sender sends notify messages as Web Push notices. It is safe for
// concurrent use.
type Sender struct {
	keys    Keys
	subject string
	client  *http.Client
	now     func() time.Time
}

var _ notify.Sender = (*Sender)(nil)

// Option configures a Sender.
type Option func(*Sender)

// WithClock makes the Sender read the time (for the time to live of a
// notice with a deadline) from now instead of time.Now.
func WithClock(now func() time.Time) Option {
	return func(s *Sender) { s.now = now }
}

// New makes a Sender signing with keys. subject is the VAPID "sub", how
// a push service's operator reaches lokero's: "mailto:…" or an https
// URL. client nil is a client with a 15 s timeout. The Sender uses a copy
// of client that follows no redirect: the endpoint is the subscriber's
// to choose, and a redirect from it could lead anywhere (http, an
// address inside lokero's network); a push service answers a push with
// 201, not with a redirect.
func New(keys Keys, subject string, client *http.Client, opts ...Option) *Sender {
	var hc http.Client
	if client != nil {
		hc = *client
	} else {
		hc.Timeout = 15 * time.Second
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	s := &Sender{keys: keys, subject: subject, client: &hc, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s
}

// payload is what the service worker gets.
type payload struct {
	ID           int64  `json:"id"`
	Kind         string `json:"kind"`
	Title        string `json:"title"`
	Body         string `json:"body"`
	URL          string `json:"url"`
	TrackingCode string `json:"tracking_code"`
	Lang         string `json:"lang"`
}

// Send encrypts the notice for m to m.Push and posts it. A push
// service's 2xx is success, with its Location header (the message's
// resource) as the provider's id; a redirect is not followed, and is
// permanent; 404 and 410 are ErrGone, permanent; 400,
// 403 (a VAPID it refuses), 413 and any other 4xx but 408 and 429 are
// permanent; 408, 429, a 5xx or a connection failure are errors to retry.
// No error carries the message's text.
func (s *Sender) Send(ctx context.Context, m notify.Message) (string, error) {
	if m.Push == nil {
		return "", notify.Permanent(fmt.Errorf("web push: message %d: no push subscription", m.ID))
	}
	if s.keys.priv == nil {
		return "", fmt.Errorf("web push: message %d: no VAPID key", m.ID)
	}
	sub, err := vapidSubscriber(s.subject)
	if err != nil {
		return "", fmt.Errorf("web push: message %d: %w", m.ID, err)
	}
	if err := ValidateSubscription(m.Push.Endpoint, m.Push.P256dh, m.Push.Auth, true); err != nil {
		return "", notify.Permanent(fmt.Errorf("web push: message %d: %w", m.ID, err))
	}
	body, err := encodePayload(m)
	if err != nil {
		return "", notify.Permanent(fmt.Errorf("web push: message %d: %w", m.ID, err))
	}
	opts := &webpushgo.Options{
		HTTPClient:      s.client,
		RecordSize:      RecordSize,
		Subscriber:      sub,
		Topic:           Topic(m.Parcel.TrackingCode, m.Kind),
		TTL:             s.ttl(m),
		Urgency:         webpushgo.UrgencyNormal,
		VAPIDPublicKey:  s.keys.PublicKey(),
		VAPIDPrivateKey: s.keys.PrivateKey(),
	}
	if m.Kind == notify.KindArrival {
		opts.Urgency = webpushgo.UrgencyHigh
	}
	host := endpointHost(m.Push.Endpoint)
	resp, err := webpushgo.SendNotificationWithContext(ctx, body, &webpushgo.Subscription{
		Endpoint: m.Push.Endpoint,
		Keys:     webpushgo.Keys{Auth: m.Push.Auth, P256dh: m.Push.P256dh},
	}, opts)
	if err != nil {
		// url.Error repeats the endpoint, a capability URL: keep its cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", fmt.Errorf("web push: message %d: push service %s: %w", m.ID, host, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	answer := snippet(raw)
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return resp.Header.Get("Location"), nil
	case code >= 300 && code < 400:
		// Not followed (see New), and the same endpoint will answer the
		// same again.
		return "", notify.Permanent(fmt.Errorf("web push: message %d: push service %s answered HTTP %d, a redirect: not followed", m.ID, host, code))
	case code == http.StatusNotFound || code == http.StatusGone:
		return "", notify.Permanent(fmt.Errorf("web push: message %d: push service %s: HTTP %d: %w", m.ID, host, code, ErrGone))
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests:
		return "", fmt.Errorf("web push: message %d: push service %s: HTTP %d %q", m.ID, host, code, answer)
	case code >= 400 && code < 500:
		return "", notify.Permanent(fmt.Errorf("web push: message %d: push service %s refused it: HTTP %d %q", m.ID, host, code, answer))
	default:
		return "", fmt.Errorf("web push: message %d: push service %s: HTTP %d %q", m.ID, host, code, answer)
	}
}

// ttl is the notice's time to live in seconds: until the deadline (at
// most MaxTTL) when it is ahead, else DefaultTTL.
func (s *Sender) ttl(m notify.Message) int {
	d := DefaultTTL
	if !m.Parcel.Deadline.IsZero() {
		if left := m.Parcel.Deadline.Sub(s.now()); left > 0 {
			d = min(left, MaxTTL)
		}
	}
	return int((d + time.Second - 1) / time.Second)
}

// vapidSubscriber checks the subject and gives it as webpush-go takes it:
// an https URL as is, an e-mail address without "mailto:" (webpush-go
// adds it).
func vapidSubscriber(subject string) (string, error) {
	switch {
	case strings.HasPrefix(subject, "https://") && len(subject) > len("https://"):
		return subject, nil
	case strings.HasPrefix(subject, "mailto:") && strings.Contains(subject, "@"):
		return strings.TrimPrefix(subject, "mailto:"), nil
	default:
		return "", fmt.Errorf("VAPID subject %q: want mailto:address or an https URL", subject)
	}
}

// Topic is the Topic header of a notice of kind about the parcel
// tracking: 22 characters of base64url (the first 16 bytes of SHA-256),
// the same for every notice of that kind about that parcel, so that a
// newer one replaces one still undelivered. It is "" without a tracking
// code.
func Topic(tracking, kind string) string {
	if tracking == "" {
		return ""
	}
	h := sha256.Sum256([]byte(tracking + "\x00" + kind))
	return base64.RawURLEncoding.EncodeToString(h[:16])
}

// encodePayload makes the JSON payload, cutting the text (with "…") so
// that it fits in one record.
func encodePayload(m notify.Message) ([]byte, error) {
	p := payload{
		ID:           m.ID,
		Kind:         m.Kind,
		Title:        Title(m.Kind, m.Language),
		Body:         m.Text,
		URL:          m.Parcel.TrackingURL,
		TrackingCode: m.Parcel.TrackingCode,
		Lang:         m.Language,
	}
	b, err := marshal(p)
	if err != nil || len(b) <= maxPayload {
		return b, err
	}
	text := []rune(strings.ToValidUTF8(m.Text, "\uFFFD"))
	// The longest prefix of the text that fits with "…": lo fits, hi not.
	lo, hi := 0, len(text)
	p.Body = ""
	if b, err = marshal(p); err != nil {
		return nil, err
	} else if len(b) > maxPayload {
		return nil, fmt.Errorf("the payload has %d bytes without the text, more than %d", len(b), maxPayload)
	}
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		p.Body = string(text[:mid]) + "…"
		if b, _ = marshal(p); len(b) <= maxPayload {
			lo = mid
		} else {
			hi = mid
		}
	}
	p.Body = strings.TrimRightFunc(string(text[:lo]), func(r rune) bool { return r == ' ' || r == '\n' }) + "…"
	return marshal(p)
}

// marshal encodes p without escaping <, > and & (a service worker reads
// JSON, not HTML) and without the encoder's newline.
func marshal(p payload) ([]byte, error) {
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	return []byte(strings.TrimSuffix(sb.String(), "\n")), nil
}

// titles are the notices' titles by kind and language.
var titles = map[string][3]string{ // fi, sv, en
	notify.KindArrival:        {"Paketti on noudettavissa", "Paketet kan hämtas", "Your parcel is ready for pickup"},
	notify.KindReminder:       {"Muistathan noutaa pakettisi", "Kom ihåg att hämta ditt paket", "Reminder: collect your parcel"},
	notify.KindRerouted:       {"Paketin noutopaikka vaihtui", "Paketets utlämningsställe har ändrats", "Your parcel's pickup point changed"},
	notify.KindExpired:        {"Paketin säilytysaika päättyi", "Paketets förvaringstid har gått ut", "Your parcel's storage period ended"},
	notify.KindDropOffReceipt: {"Kuitti jättämästäsi paketista", "Kvitto på ditt inlämnade paket", "Receipt for your dropped-off parcel"},
	"":                        {"Tietoa paketistasi", "Information om ditt paket", "About your parcel"},
}

// Title is the notice's title for kind in lang ("fi", "sv" or "en";
// Finnish for any other), a generic one for an unknown kind.
func Title(kind, lang string) string {
	t, ok := titles[kind]
	if !ok {
		t = titles[""]
	}
	switch lang {
	case "sv":
		return t[1]
	case "en":
		return t[2]
	default:
		return t[0]
	}
}

// snippet is the start of a push service's answer for an error: at most
// 200 bytes of valid UTF-8, trimmed.
func snippet(b []byte) string {
	s := strings.TrimSpace(strings.ToValidUTF8(string(b), "\uFFFD"))
	if len(s) > 200 {
		cut := 200
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// endpointHost names the push service in errors without the endpoint's
// path (which identifies the subscription).
func endpointHost(endpoint string) string {
	if u, err := url.Parse(endpoint); err == nil && u.Host != "" {
		return u.Host
	}
	return "?"
}

// InvalidError is what ValidateSubscription finds wrong with one field of
// a subscription.
type InvalidError struct {
	// Field is "endpoint", "keys.p256dh" or "keys.auth".
	Field string
	// Problem is a short snake_case reason: "missing", "not_url",
	// "not_https", "too_long", "ip_host", "localhost", "bad_base64",
	// "bad_key", "not_on_curve" or "bad_length".
	Problem string
	// Message says it in English.
	Message string
}

func (e *InvalidError) Error() string {
	return "web push subscription: " + e.Field + ": " + e.Message
}

// ValidateSubscription checks a subscription as a browser's
// PushSubscription gives it: endpoint an absolute https URL of at most
// MaxEndpointLength bytes whose host is a name, not an IP address or
// localhost (allowInsecure admits http, IP addresses and localhost, for
// tests and development); p256dh the uncompressed P-256 point (65 bytes)
// of a point on the curve; auth 16 bytes. The keys may be base64 or
// base64url, padded or not. A problem is an *InvalidError.
func ValidateSubscription(endpoint, p256dh, auth string, allowInsecure bool) error {
	if err := validateEndpoint(endpoint, allowInsecure); err != nil {
		return err
	}
	bad := func(field, problem, msg string) error {
		return &InvalidError{Field: field, Problem: problem, Message: msg}
	}
	if p256dh == "" {
		return bad("keys.p256dh", "missing", "missing")
	}
	key, err := decodeBase64(p256dh)
	if err != nil {
		return bad("keys.p256dh", "bad_base64", "not base64url")
	}
	if len(key) != 65 || key[0] != 4 {
		return bad("keys.p256dh", "bad_key", fmt.Sprintf("not an uncompressed P-256 point (65 bytes starting with 0x04): %d bytes", len(key)))
	}
	if _, err := ecdh.P256().NewPublicKey(key); err != nil {
		return bad("keys.p256dh", "not_on_curve", "not a point on the P-256 curve")
	}
	if auth == "" {
		return bad("keys.auth", "missing", "missing")
	}
	secret, err := decodeBase64(auth)
	if err != nil {
		return bad("keys.auth", "bad_base64", "not base64url")
	}
	if len(secret) != 16 {
		return bad("keys.auth", "bad_length", fmt.Sprintf("%d bytes, want 16", len(secret)))
	}
	return nil
}

// validateEndpoint checks the endpoint for ValidateSubscription.
func validateEndpoint(endpoint string, allowInsecure bool) error {
	bad := func(problem, msg string) error {
		return &InvalidError{Field: "endpoint", Problem: problem, Message: msg}
	}
	if endpoint == "" {
		return bad("missing", "missing")
	}
	if len(endpoint) > MaxEndpointLength {
		return bad("too_long", fmt.Sprintf("%d bytes, more than %d", len(endpoint), MaxEndpointLength))
	}
	u, err := url.Parse(endpoint)
	if err != nil || !u.IsAbs() || u.Opaque != "" || u.Host == "" || u.Hostname() == "" || u.User != nil || u.Fragment != "" {
		return bad("not_url", "not an absolute URL with a host")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !allowInsecure {
			return bad("not_https", "not an https URL")
		}
	default:
		return bad("not_https", "not an https URL")
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return bad("not_url", "the port is not a port number")
		}
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if allowInsecure {
		return nil
	}
	if net.ParseIP(host) != nil {
		return bad("ip_host", "the host is an IP address, not a push service's name")
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return bad("localhost", "the host is localhost")
	}
	return nil
}

// decodeBase64 decodes s in any of the base64 forms browsers and
// libraries give keys in: the URL or the standard alphabet, padded or not.
func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "=\r\n ") {
		return nil, errors.New("not base64")
	}
	s = strings.NewReplacer("+", "-", "/", "_").Replace(s)
	return base64.RawURLEncoding.DecodeString(s)
}
