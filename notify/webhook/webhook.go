// Package webhook sends retailers' webhooks by the Standard Webhooks
// specification (https://www.standardwebhooks.com): a JSON POST with the
// webhook-id, webhook-timestamp and webhook-signature headers, the
// signature an HMAC-SHA256 of "id.timestamp.body" made with the
// specification's own Go library, so that a retailer verifies it with any
// Standard Webhooks library.
//
// Send makes one try and reports how it went; the caller (the webhook job)
// keeps the delivery, decides whether to retry (NextRetry, Retryable) and
// when to disable an endpoint (Gone). Webhooks are always retried: no
// error here is marked notify.Permanent.
//
// A retailer's URL is untrusted: ValidateURL checks it when it is
// registered, and unless Options.AllowPrivate the Client refuses at
// connect time, after DNS resolution, any address inside lokero's own
// networks (loopback, private, link-local, CGNAT...), so that a webhook
// cannot be pointed at lokero's internals, not even by a DNS name that
// resolves there.
package webhook

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// SecretPrefix starts every secret: the prefix the specification and its
// libraries expect before the base64 of the key.
const SecretPrefix = "whsec_"

// secretBytes is the length of a secret's key: 32 bytes, as HMAC-SHA256's
// block of output.
const secretBytes = 32

// DefaultTimeout is how long a try may take, connection and answer
// included, when Options.Timeout is 0.
const DefaultTimeout = 15 * time.Second

// DefaultUserAgent is the User-Agent when Options.UserAgent is "".
const DefaultUserAgent = "lokero-webhooks/1"

// MaxURLLength is the longest URL ValidateURL accepts, in bytes.
const MaxURLLength = 2000

// maxSnippet is the most of a response body an error quotes, in bytes.
const maxSnippet = 200

// maxDrain is the most of a response body Send reads (so that the
// connection can be reused); the rest is left unread.
const maxDrain = 64 << 10

// ErrForbiddenAddress is wrapped by the error of a try that was refused
// because the URL's host is, or resolves to, an address lokero does not
// connect to without Options.AllowPrivate.
var ErrForbiddenAddress = errors.New("address not allowed for webhooks")

// NewSecret makes a new signing secret: SecretPrefix and the standard
// base64 of 32 bytes read from random (crypto/rand.Reader when nil).
func NewSecret(random io.Reader) (string, error) {
	if random == nil {
		random = rand.Reader
	}
	key := make([]byte, secretBytes)
	if _, err := io.ReadFull(random, key); err != nil {
		return "", fmt.Errorf("webhook: new secret: %w", err)
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(key), nil
}

// Request is one try of one delivery.
type Request struct {
	// ID is the delivery's id (webhook-id): the same on every retry, so
	// that the receiver can tell a repeat.
	ID string
	// Timestamp is the time of this try (webhook-timestamp, in unix
	// seconds), from the caller's clock: receivers refuse one more than a
	// few minutes (5 with the libraries) off their own clock, so a retry
	// gets a new one.
	Timestamp time.Time
	// Payload is the body, JSON (see Event), the same on every retry.
	Payload []byte
	// Secrets sign the request: the webhook's current secret first, then
	// its previous one while a rotation overlaps. The webhook-signature
	// header carries one "v1,<signature>" per secret, space-separated, and
	// the receiver accepts the request when any one of them verifies.
	Secrets []string
	// URL is the endpoint.
	URL string
}

// Options configure a Client.
type Options struct {
	// HTTPClient makes the requests; nil: the Client's own. Its
	// CheckRedirect is replaced (redirects are never followed); an
	// *http.Transport (or nil) is cloned and, unless AllowPrivate, given
	// the guarded dialer, which replaces its DialContext. Any other
	// RoundTripper is used as it is, and guarding against private
	// addresses is then its business. A proxy in the transport is dialled
	// through the guard too: the proxy's own address must be public.
	HTTPClient *http.Client
	// AllowPrivate lets requests go to loopback, private, link-local and
	// other internal addresses, and to http:// URLs: for tests and
	// development only.
	AllowPrivate bool
	// UserAgent is sent with every request; DefaultUserAgent when "".
	UserAgent string
	// Timeout bounds a try, connection and answer included;
	// DefaultTimeout when 0.
	Timeout time.Duration
}

// Client sends webhooks. It is safe for concurrent use.
type Client struct {
	http         *http.Client
	allowPrivate bool
	userAgent    string
	timeout      time.Duration
}

// New makes a Client.
func New(opts Options) *Client {
	c := &Client{
		allowPrivate: opts.AllowPrivate,
		userAgent:    opts.UserAgent,
		timeout:      opts.Timeout,
	}
	if c.userAgent == "" {
		c.userAgent = DefaultUserAgent
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	var hc http.Client
	if opts.HTTPClient != nil {
		hc = *opts.HTTPClient
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	switch t := hc.Transport.(type) {
	case nil:
		hc.Transport = c.transport(nil)
	case *http.Transport:
		hc.Transport = c.transport(t)
	}
	c.http = &hc
	return c
}

// transport clones base (or, when nil, makes a transport without a proxy)
// and, unless private addresses are allowed, dials through the guard.
func (c *Client) transport(base *http.Transport) *http.Transport {
	var t *http.Transport
	if base == nil {
		t = &http.Transport{
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          100,
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
			ResponseHeaderTimeout: c.timeout,
		}
	} else {
		t = base.Clone()
	}
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if !c.allowPrivate {
		d.Control = guard
	} else if base != nil {
		return t // keep the given dialer
	}
	t.DialContext = d.DialContext
	return t
}

// GuardedTransport is a transport that dials through the guard: it
// refuses to connect to loopback, private, link-local and other internal
// addresses (after DNS resolution), as a Client without AllowPrivate does,
// for other senders to endpoints that someone outside chooses (Web Push).
func GuardedTransport() *http.Transport {
	return (&Client{timeout: DefaultTimeout}).transport(nil)
}

// guard is the dialer's Control: it refuses a connection to an address
// that forbidden names, after DNS resolution (so a name resolving to an
// internal address is refused as well).
func guard(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %q is not an IP address and port", ErrForbiddenAddress, address)
	}
	if why := forbidden(ap.Addr()); why != "" {
		return fmt.Errorf("%w: %s is %s (only Options.AllowPrivate allows it)", ErrForbiddenAddress, ap.Addr(), why)
	}
	return nil
}

// cgnat is the shared address space of carrier-grade NAT (RFC 6598).
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// thisNetwork is 0.0.0.0/8 ("this network", RFC 1122), which Linux
// connects to the host itself.
var thisNetwork = netip.MustParsePrefix("0.0.0.0/8")

// nat64 is the well-known NAT64 prefix (RFC 6052): where a network has a
// translator, 64:ff9b::a.b.c.d reaches the IPv4 address a.b.c.d.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// nat64Local is the local-use NAT64 prefix (RFC 8215): a network's own
// translator, to its own choice of IPv4 addresses.
var nat64Local = netip.MustParsePrefix("64:ff9b:1::/48")

// forbidden says what kind of address a is when lokero does not send
// webhooks to it without AllowPrivate, and "" when it is allowed.
func forbidden(a netip.Addr) string {
	a = a.Unmap() // ::ffff:127.0.0.1 is 127.0.0.1
	if nat64.Contains(a) {
		// 64:ff9b::10.0.0.1 is, through the translator, 10.0.0.1.
		b := a.As16()
		a = netip.AddrFrom4([4]byte(b[12:]))
	}
	switch {
	case nat64Local.Contains(a):
		return "a local-use NAT64 address (64:ff9b:1::/48)"
	case !a.IsValid():
		return "not a valid address"
	case a.IsLoopback():
		return "a loopback address"
	case a.IsUnspecified() || thisNetwork.Contains(a):
		return "an unspecified address"
	case a.IsPrivate():
		return "a private address"
	case a.IsLinkLocalUnicast():
		return "a link-local address"
	case a.IsMulticast():
		return "a multicast address"
	case cgnat.Contains(a):
		return "a carrier-grade NAT address (100.64.0.0/10)"
	}
	return ""
}

// Send makes one try of r: a POST of r.Payload to r.URL, signed with every
// one of r.Secrets. A 2xx answer is (status, nil). Any other answer is
// (status, error) with the status and the start of the body; a redirect is
// not followed, and its error names where it led. No answer (a refused
// address, a connection that failed, a timeout) is (0, error). A request
// Send cannot make (no ID or secret, a bad secret or URL) is (0, error)
// too. Whether to retry is the caller's decision; see Retryable and Gone.
func (c *Client) Send(ctx context.Context, r Request) (status int, err error) {
	if r.ID == "" {
		return 0, errors.New("webhook: request: ID: missing")
	}
	if r.Timestamp.IsZero() {
		return 0, fmt.Errorf("webhook: message %s: timestamp: missing", r.ID)
	}
	if err := ValidateURL(r.URL, c.allowPrivate); err != nil {
		return 0, fmt.Errorf("webhook: message %s: %w", r.ID, err)
	}
	sig, err := Signature(r.ID, r.Timestamp, r.Payload, r.Secrets)
	if err != nil {
		return 0, fmt.Errorf("webhook: message %s: %w", r.ID, err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL, bytes.NewReader(r.Payload))
	if err != nil {
		return 0, fmt.Errorf("webhook: message %s: %w", r.ID, err)
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", c.userAgent)
	h.Set(standardwebhooks.HeaderWebhookID, r.ID)
	h.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(r.Timestamp.Unix(), 10))
	h.Set(standardwebhooks.HeaderWebhookSignature, sig)
	host := req.URL.Host
	resp, err := c.http.Do(req)
	if err != nil {
		// url.Error repeats the whole URL, whose query may hold a token
		// of the retailer's: name the host only.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, fmt.Errorf("webhook: message %s: POST to %s: %w", r.ID, host, err)
	}
	defer resp.Body.Close()
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, maxDrain))
	code := resp.StatusCode
	switch {
	case code >= 200 && code < 300:
		return code, nil
	case code >= 300 && code < 400:
		loc := resp.Header.Get("Location")
		if loc == "" {
			return code, fmt.Errorf("webhook: message %s: %s answered HTTP %d, a redirect without a Location (not followed)", r.ID, host, code)
		}
		return code, fmt.Errorf("webhook: message %s: %s answered HTTP %d, a redirect to %q: not followed (register the final URL)", r.ID, host, code, Snippet([]byte(loc)))
	}
	msg := fmt.Sprintf("webhook: message %s: %s answered HTTP %d", r.ID, host, code)
	if s := Snippet(body); s != "" {
		msg += fmt.Sprintf(": %q", s)
	}
	if readErr != nil {
		return code, fmt.Errorf("%s (body broke off: %w)", msg, readErr)
	}
	return code, errors.New(msg)
}

// Signature makes the webhook-signature header's value for a message:
// one "v1,<base64 HMAC-SHA256>" per secret, by the library's Sign, space
// separated, in the order of secrets (a repeated secret signs once).
func Signature(id string, timestamp time.Time, payload []byte, secrets []string) (string, error) {
	if len(secrets) == 0 {
		return "", errors.New("secrets: none to sign with")
	}
	sigs := make([]string, 0, len(secrets))
	for i, s := range secrets {
		if s == "" {
			return "", fmt.Errorf("secret %d: empty", i+1)
		}
		if i > 0 && contains(secrets[:i], s) {
			continue
		}
		wh, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			// The library's error does not repeat the secret.
			return "", fmt.Errorf("secret %d: %w", i+1, err)
		}
		sig, err := wh.Sign(id, timestamp, payload)
		if err != nil {
			return "", fmt.Errorf("secret %d: sign: %w", i+1, err)
		}
		sigs = append(sigs, sig)
	}
	return strings.Join(sigs, " "), nil
}

// contains reports whether ss holds s.
func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// Snippet makes the start of a response body fit for an error message and
// a delivery's LastError: valid UTF-8, control characters and runs of
// white space as one space, trimmed, and at most 200 bytes (cut at a
// character's boundary, "…" included).
func Snippet(body []byte) string {
	var b strings.Builder
	space := false
	for len(body) > 0 && b.Len() <= maxSnippet {
		r, size := utf8.DecodeRune(body)
		body = body[size:]
		if unicode.IsSpace(r) || !unicode.IsPrint(r) {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r) // utf8.RuneError for invalid bytes: printable
	}
	s := b.String()
	if len(s) <= maxSnippet && len(body) == 0 {
		return s
	}
	const ellipsis = "…"
	cut := maxSnippet - len(ellipsis)
	if cut > len(s) {
		cut = len(s)
	}
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strings.TrimRight(s[:cut], " ") + ellipsis
}

// Retryable reports whether a failed try that got status (0: no answer)
// is worth retrying by the schedule: every failure is, except 410 Gone,
// after which the endpoint should be disabled (Gone). A 2xx is no failure:
// false.
func Retryable(status int) bool {
	if status >= 200 && status < 300 {
		return false
	}
	return !Gone(status)
}

// Gone reports whether status tells that the endpoint is gone for good
// (410 Gone): the specification asks the sender to disable the endpoint
// and stop sending to it.
func Gone(status int) bool {
	return status == http.StatusGone
}

// InvalidError is a value refused by ValidateURL: the field it is about
// ("url"), a machine-readable Problem, and a Message a person understands.
// The API maps it to an EINVALID error.
type InvalidError struct {
	Field string
	// Problem is one of "empty", "malformed", "not_absolute", "scheme",
	// "userinfo", "too_long", "fragment", "host", "private_address".
	Problem string
	Message string
}

// Error implements the error interface.
func (e *InvalidError) Error() string {
	return fmt.Sprintf("%s: %s", e.Field, e.Message)
}

// invalidURL makes an *InvalidError about the URL.
func invalidURL(problem, format string, args ...any) *InvalidError {
	return &InvalidError{Field: "url", Problem: problem, Message: fmt.Sprintf(format, args...)}
}

// ValidateURL checks a webhook endpoint's URL as a retailer gives it: an
// absolute https URL (http too with allowPrivate) of at most MaxURLLength
// bytes, without user info or fragment, whose host is a name or, unless
// allowPrivate, an IP address outside the internal ranges the Client
// refuses. A name that resolves to such an address passes here and is
// refused when Send connects. The error is an *InvalidError.
func ValidateURL(raw string, allowPrivate bool) error {
	if raw == "" {
		return invalidURL("empty", "missing: the endpoint's URL, as https://example.com/webhooks")
	}
	if len(raw) > MaxURLLength {
		return invalidURL("too_long", "%d bytes, more than %d", len(raw), MaxURLLength)
	}
	if strings.IndexFunc(raw, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
		return invalidURL("malformed", "has a space or a control character")
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return invalidURL("malformed", "not a URL: %v", err)
	}
	if !u.IsAbs() || u.Opaque != "" {
		return invalidURL("not_absolute", "not an absolute URL: want https://host/path")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !allowPrivate {
			return invalidURL("scheme", "http: must be https")
		}
	default:
		return invalidURL("scheme", "scheme %q: must be https", u.Scheme)
	}
	if u.User != nil {
		return invalidURL("userinfo", "has user info (user:password@): not allowed, the signature authenticates lokero")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return invalidURL("fragment", "has a fragment (#...): not allowed")
	}
	host := u.Hostname()
	if host == "" {
		return invalidURL("host", "no host")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return invalidURL("host", "port %q: not a port number", p)
		}
	}
	if a, err := netip.ParseAddr(host); err == nil && !allowPrivate {
		if a.Zone() != "" {
			return invalidURL("private_address", "%s has a zone: a link-local address", host)
		}
		if why := forbidden(a); why != "" {
			return invalidURL("private_address", "%s is %s: not allowed", host, why)
		}
	}
	return nil
}

// schedule is the wait after each failed try, by the Standard Webhooks
// recommendation: the first try is immediate, then 5 s, 5 min, 30 min,
// 2 h, 5 h, 10 h and 10 h after each failure. From the first try to the
// last it spans 27 h 35 min 5 s (more than 24 h even with the jitter's
// -10%: 24 h 49 min 35 s), so an endpoint down for a day still gets its
// deliveries.
var schedule = [...]time.Duration{
	5 * time.Second,
	5 * time.Minute,
	30 * time.Minute,
	2 * time.Hour,
	5 * time.Hour,
	10 * time.Hour,
	10 * time.Hour,
}

// MaxAttempts is how many tries a delivery gets: the first and a retry
// after each of NextRetry's waits.
const MaxAttempts = len(schedule) + 1

// NextRetry returns the wait after the attempt-th try (from 1) failed, by
// the schedule, and false when that was the last one (attempt >=
// MaxAttempts) or attempt < 1. It has no jitter; see Jitter.
func NextRetry(attempt int) (time.Duration, bool) {
	if attempt < 1 || attempt >= MaxAttempts {
		return 0, false
	}
	return schedule[attempt-1], true
}

// Jitter spreads d by up to ±10%, by random, which returns a number in
// [0, 1) (math/rand/v2's Float64, or a fixed one in a test), so that
// deliveries that failed together are not all retried at once. With a nil
// random it returns d as it is.
func Jitter(d time.Duration, random func() float64) time.Duration {
	if random == nil {
		return d
	}
	f := random()
	if f < 0 || f >= 1 || math.IsNaN(f) {
		f = 0.5
	}
	return time.Duration(float64(d) * (0.9 + 0.2*f))
}

// Event is a webhook's payload in the specification's recommended shape:
// the event's type, when it happened, and its data.
type Event struct {
	Type      string // "shipment.ready_for_pickup", …
	Timestamp time.Time
	Data      any // marshalled with encoding/json; nil: {}
}

// eventJSON is Event as it is marshalled.
type eventJSON struct {
	Type      string `json:"type"`
	Timestamp string `json:"timestamp"`
	Data      any    `json:"data"`
}

// JSON returns the event as the body of a webhook:
// {"type":…,"timestamp":…,"data":…}, the timestamp in RFC 3339 in UTC with
// milliseconds ("2026-12-07T09:30:00.000Z"), HTML characters left as they
// are, no newline at the end.
func (e Event) JSON() ([]byte, error) {
	if e.Type == "" {
		return nil, errors.New("webhook: event: type: missing")
	}
	if e.Timestamp.IsZero() {
		return nil, fmt.Errorf("webhook: event %s: timestamp: missing", e.Type)
	}
	data := e.Data
	if data == nil {
		data = struct{}{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(eventJSON{
		Type:      e.Type,
		Timestamp: e.Timestamp.UTC().Format("2006-01-02T15:04:05.000Z07:00"),
		Data:      data,
	})
	if err != nil {
		return nil, fmt.Errorf("webhook: event %s: %w", e.Type, err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
