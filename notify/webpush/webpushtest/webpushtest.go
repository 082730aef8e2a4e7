// Package webpushtest is an in-process Web Push service for tests: it
// hands out subscriptions with fresh RFC 8291 keys, checks each push's
// VAPID authorization (RFC 8292), decrypts its payload (RFC 8291,
// aes128gcm) with code of its own, independent of the sender's, and
// records what arrived.
package webpushtest

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// MaxBody is the largest push body the service takes (RFC 8291 §4); a
// larger one is answered 413.
const MaxBody = 4096

// Subscription is a subscription as a browser's PushSubscription gives
// it: the endpoint, and the keys base64url without padding.
type Subscription struct {
	Endpoint string
	P256dh   string
	Auth     string
}

// Claims are a push's verified VAPID claims.
type Claims struct {
	Aud string
	Sub string
	Exp time.Time
}

// Push is one push the service accepted.
type Push struct {
	Endpoint string
	// Payload is the decrypted payload, padding removed.
	Payload []byte
	TTL     int
	Urgency string // "" when the header was absent
	Topic   string // "" when the header was absent
	// VAPIDKey is the k of the Authorization header, the sender's public
	// key (base64url), which the JWT's signature was checked against.
	VAPIDKey string
	Claims   Claims
}

type subscription struct {
	priv   *ecdh.PrivateKey
	auth   []byte
	status int
}

// Server is the push service. Its methods are safe for concurrent use.
type Server struct {
	// URL is the service's base URL (http://127.0.0.1:port).
	URL string

	srv    *httptest.Server
	now    func() time.Time
	mu     sync.Mutex
	subs   map[string]*subscription // by endpoint
	pushes []Push
	errs   []string
	seq    int
}

// NewServer starts a push service, closed when the test ends.
func NewServer(t testing.TB) *Server {
	t.Helper()
	s := &Server{subs: map[string]*subscription{}, now: time.Now}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// Subscribe makes a subscription with fresh keys.
func (s *Server) Subscribe() Subscription {
	priv, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	auth := make([]byte, 16)
	rand.Read(auth)
	id := make([]byte, 12)
	rand.Read(id)
	endpoint := s.URL + "/push/" + base64.RawURLEncoding.EncodeToString(id)
	s.mu.Lock()
	s.subs[endpoint] = &subscription{priv: priv, auth: auth}
	s.mu.Unlock()
	return Subscription{
		Endpoint: endpoint,
		P256dh:   base64.RawURLEncoding.EncodeToString(priv.PublicKey().Bytes()),
		Auth:     base64.RawURLEncoding.EncodeToString(auth),
	}
}

// SetStatus makes the service answer pushes to endpoint with code (after
// checking them) instead of accepting them; 0 accepts again. Pushes so
// answered are not recorded.
func (s *Server) SetStatus(endpoint string, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sub, ok := s.subs[endpoint]; ok {
		sub.status = code
	}
}

// Received is the pushes accepted so far, oldest first.
func (s *Server) Received() []Push {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Push(nil), s.pushes...)
}

// Errors is what was wrong with the pushes the service refused (400 or
// 413), oldest first.
func (s *Server) Errors() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.errs...)
}

// Wait waits until n pushes were accepted and returns them; after timeout
// it fails the test, reporting the refused pushes' errors.
func (s *Server) Wait(t testing.TB, n int, timeout time.Duration) []Push {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if got := s.Received(); len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("webpushtest: %d pushes after %v, want %d (errors: %q)", len(s.Received()), timeout, n, s.Errors())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	endpoint := s.URL + r.URL.Path
	s.mu.Lock()
	sub, ok := s.subs[endpoint]
	s.mu.Unlock()
	if !ok || !strings.HasPrefix(r.URL.Path, "/push/") {
		http.Error(w, "no such subscription", http.StatusNotFound)
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		s.refuse(w, http.StatusBadRequest, "reading the body: %v", err)
		return
	}
	if len(body) > MaxBody {
		s.refuse(w, http.StatusRequestEntityTooLarge, "body over %d bytes", MaxBody)
		return
	}
	p := Push{Endpoint: endpoint, Urgency: r.Header.Get("Urgency"), Topic: r.Header.Get("Topic")}
	p.VAPIDKey, p.Claims, err = verifyVAPID(r.Header.Get("Authorization"), origin(s.URL), s.now())
	if err != nil {
		s.refuse(w, http.StatusBadRequest, "VAPID: %v", err)
		return
	}
	if p.TTL, err = strconv.Atoi(r.Header.Get("TTL")); err != nil || p.TTL < 0 {
		s.refuse(w, http.StatusBadRequest, "TTL %q: not a number of seconds", r.Header.Get("TTL"))
		return
	}
	switch p.Urgency {
	case "", "very-low", "low", "normal", "high":
	default:
		s.refuse(w, http.StatusBadRequest, "Urgency %q: unknown", p.Urgency)
		return
	}
	if !validTopic(p.Topic) {
		s.refuse(w, http.StatusBadRequest, "Topic %q: not at most 32 characters of base64url", p.Topic)
		return
	}
	if ce := r.Header.Get("Content-Encoding"); ce != "aes128gcm" {
		s.refuse(w, http.StatusBadRequest, "Content-Encoding %q: want aes128gcm", ce)
		return
	}
	p.Payload, err = Decrypt(sub.priv, sub.auth, body)
	if err != nil {
		s.refuse(w, http.StatusBadRequest, "decrypting: %v", err)
		return
	}
	s.mu.Lock()
	status := sub.status
	if status == 0 {
		s.pushes = append(s.pushes, p)
		s.seq++
	}
	seq := s.seq
	s.mu.Unlock()
	if status != 0 {
		http.Error(w, "webpushtest: status set for the test", status)
		return
	}
	w.Header().Set("Location", s.URL+"/message/"+strconv.Itoa(seq))
	w.WriteHeader(http.StatusCreated)
}

// refuse answers code and records why.
func (s *Server) refuse(w http.ResponseWriter, code int, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.mu.Lock()
	s.errs = append(s.errs, msg)
	s.mu.Unlock()
	http.Error(w, msg, code)
}

// origin is the scheme and host of a URL, the VAPID audience.
func origin(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	return p.Scheme + "://" + p.Host
}

// validTopic reports whether t is a Topic RFC 8030 §5.4 allows: at most
// 32 characters of the base64url alphabet.
func validTopic(t string) bool {
	if len(t) > 32 {
		return false
	}
	for _, c := range t {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// verifyVAPID checks an Authorization header "vapid t=<JWT>, k=<key>"
// (RFC 8292 §3): an ES256 JWT signed by k, for the audience aud, expiring
// after now and within 24 hours, with a sub. It returns k and the claims.
func verifyVAPID(header, aud string, now time.Time) (string, Claims, error) {
	scheme, params, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "vapid") {
		return "", Claims{}, fmt.Errorf("authorization %q: not the vapid scheme", cut(header))
	}
	var token, k string
	for _, part := range strings.Split(params, ",") {
		name, val, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch name {
		case "t":
			token = val
		case "k":
			k = val
		}
	}
	if token == "" || k == "" {
		return "", Claims{}, errors.New("authorization: t or k missing")
	}
	kb, err := base64.RawURLEncoding.DecodeString(k)
	if err != nil {
		return "", Claims{}, errors.New("k: not base64url without padding")
	}
	pub, err := publicKey(kb)
	if err != nil {
		return "", Claims{}, fmt.Errorf("k: %w", err)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", Claims{}, errors.New("t: not a JWS in compact form")
	}
	var hdr struct {
		Alg string `json:"alg"`
		Typ string `json:"typ"`
	}
	if err := decodeJSON(parts[0], &hdr); err != nil {
		return "", Claims{}, fmt.Errorf("JWT header: %w", err)
	}
	if hdr.Alg != "ES256" {
		return "", Claims{}, fmt.Errorf("JWT alg %q: want ES256", hdr.Alg)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return "", Claims{}, errors.New("JWT signature: not 64 bytes of base64url")
	}
	h := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if !ecdsa.Verify(pub, h[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return "", Claims{}, errors.New("JWT signature: does not verify with k")
	}
	var c struct {
		Aud string          `json:"aud"`
		Sub string          `json:"sub"`
		Exp json.RawMessage `json:"exp"`
	}
	if err := decodeJSON(parts[1], &c); err != nil {
		return "", Claims{}, fmt.Errorf("JWT claims: %w", err)
	}
	exp, err := strconv.ParseInt(string(c.Exp), 10, 64)
	if err != nil {
		return "", Claims{}, fmt.Errorf("JWT exp %s: not a number of seconds", c.Exp)
	}
	claims := Claims{Aud: c.Aud, Sub: c.Sub, Exp: time.Unix(exp, 0)}
	switch {
	case c.Aud != aud:
		return "", Claims{}, fmt.Errorf("JWT aud %q: want %q", c.Aud, aud)
	case !claims.Exp.After(now):
		return "", Claims{}, fmt.Errorf("JWT exp %v: expired", claims.Exp)
	case claims.Exp.After(now.Add(24 * time.Hour)):
		return "", Claims{}, fmt.Errorf("JWT exp %v: more than 24 hours ahead", claims.Exp)
	case c.Sub == "":
		return "", Claims{}, errors.New("JWT sub: missing")
	case !strings.HasPrefix(c.Sub, "mailto:") && !strings.HasPrefix(c.Sub, "https:"):
		return "", Claims{}, fmt.Errorf("JWT sub %q: not mailto: or https:", c.Sub)
	}
	return k, claims, nil
}

// publicKey reads an uncompressed P-256 point as an ECDSA key, checking
// that it is on the curve.
func publicKey(b []byte) (*ecdsa.PublicKey, error) {
	if _, err := ecdh.P256().NewPublicKey(b); err != nil {
		return nil, errors.New("not an uncompressed P-256 point on the curve")
	}
	return &ecdsa.PublicKey{
		Curve: elliptic.P256(),
		X:     new(big.Int).SetBytes(b[1:33]),
		Y:     new(big.Int).SetBytes(b[33:65]),
	}, nil
}

func decodeJSON(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return errors.New("not base64url without padding")
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	return nil
}

func cut(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// Decrypt decrypts a push body encrypted for the user agent key receiver
// and authSecret (RFC 8291 §3.4, in the aes128gcm content coding of
// RFC 8188 with one record): it reads the header (salt, record size, and
// the sender's public key as keyid), derives the key and the nonce, opens
// the record and strips the padding.
func Decrypt(receiver *ecdh.PrivateKey, authSecret, body []byte) ([]byte, error) {
	const hdrLen = 16 + 4 + 1
	if len(body) < hdrLen {
		return nil, errors.New("body shorter than the aes128gcm header")
	}
	salt := body[:16]
	rs := binary.BigEndian.Uint32(body[16:20])
	idlen := int(body[20])
	if rs < 18 {
		return nil, fmt.Errorf("record size %d: below 18", rs)
	}
	if idlen != 65 || len(body) < hdrLen+idlen {
		return nil, fmt.Errorf("keyid of %d bytes: want the sender's 65-byte public key", idlen)
	}
	asPublic := body[hdrLen : hdrLen+idlen]
	record := body[hdrLen+idlen:]
	if len(record) > int(rs) {
		return nil, fmt.Errorf("%d bytes of ciphertext: more than one record of %d", len(record), rs)
	}
	if len(record) < 17 {
		return nil, errors.New("record shorter than the tag and a delimiter")
	}
	sender, err := ecdh.P256().NewPublicKey(asPublic)
	if err != nil {
		return nil, errors.New("keyid: not a P-256 point on the curve")
	}
	shared, err := receiver.ECDH(sender)
	if err != nil {
		return nil, fmt.Errorf("ECDH: %w", err)
	}
	// IKM = HKDF(salt = auth_secret, IKM = ecdh_secret,
	//            info = "WebPush: info" || 0x00 || ua_public || as_public, 32)
	info := append([]byte("WebPush: info\x00"), receiver.PublicKey().Bytes()...)
	info = append(info, asPublic...)
	ikm, err := hkdf.Key(sha256.New, shared, authSecret, string(info), 32)
	if err != nil {
		return nil, err
	}
	prk, err := hkdf.Extract(sha256.New, ikm, salt)
	if err != nil {
		return nil, err
	}
	cek, err := hkdf.Expand(sha256.New, prk, "Content-Encoding: aes128gcm\x00", 16)
	if err != nil {
		return nil, err
	}
	nonce, err := hkdf.Expand(sha256.New, prk, "Content-Encoding: nonce\x00", 12)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	plain, err := gcm.Open(nil, nonce, record, nil) // sequence 0: the nonce as derived
	if err != nil {
		return nil, errors.New("AES-GCM: the record does not open (wrong keys or tampered)")
	}
	// The last record ends in 0x02 and zeros of padding.
	end := len(bytes.TrimRight(plain, "\x00"))
	if end == 0 || plain[end-1] != 0x02 {
		return nil, errors.New("padding: no 0x02 delimiter of a last record")
	}
	return plain[:end-1], nil
}
