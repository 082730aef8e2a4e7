// Package kannel sends SMS through Kannel, the open-source SMS gateway an
// operator runs in front of its SMSC: lokero posts each message to
// smsbox's sendsms interface and asks for delivery reports at a URL of
// its own, which smsbox calls as the SMSC reports.
//
// Send normalises the number to E.164, chooses the coding (GSM-7 where the
// text allows, UCS-2 otherwise), refuses a text over MaxSegments and posts
// the message with Kannel's X-Kannel-* headers (so neither the text nor
// the password ends up in a URL that some proxy logs). Kannel gives no
// message id of its own: the outbox message's id travels in the
// delivery-report URL and in Kannel's account field (its access log's
// [ACT:...]), and Send returns "lokero-<id>" as the provider's id.
//
// The sendsms-user lokero uses needs max-messages = 2 and concatenation
// = true (without them Kannel cuts a 2-segment text down to one); smsbox
// needs http-request-retry so that a delivery report survives lokero
// being briefly away.
package kannel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/lokero/lokero/notify"
	"github.com/nyaruka/phonenumbers"
)

// DefaultPort is smsbox's sendsms port when the URL names none (the port
// of Kannel's own examples).
const DefaultPort = "13013"

// DefaultFrom is the sender id when the URL has no ?from=.
const DefaultFrom = "lokero"

// sendsmsPath is smsbox's sendsms interface.
const sendsmsPath = "/cgi-bin/sendsms"

// Delivery-report types, as Kannel puts them in %d.
const (
	DLRDelivered = 1  // delivered to the phone (final)
	DLRFailed    = 2  // not delivered (final)
	DLRBuffered  = 4  // the SMSC keeps it for a later try
	DLRSubmitted = 8  // the SMSC accepted it
	DLRRejected  = 16 // the SMSC refused it (final)
)

// dlrMask asks for every report type: 1|2|4|8|16.
const dlrMask = "31"

// DLRQuery is the query Send appends to the delivery-report URL that dlr
// makes, for Kannel to fill in: %d the report's type, %A its answer (the
// SMSC's text, URL-encoded by Kannel). ParseDLR reads the result.
const DLRQuery = "status=%d&answer=%A"

// Sender sends SMS through one Kannel smsbox. It is safe for concurrent
// use.
type Sender struct {
	endpoint string // http://host:port/cgi-bin/sendsms
	user     string
	pass     string
	from     string
	smsc     string
	dlr      func(messageID int64) string
	client   *http.Client
}

var _ notify.Sender = (*Sender)(nil)

// Option configures a Sender.
type Option func(*Sender)

// WithHTTPClient makes the Sender talk to smsbox with c (the default has
// a 30 s timeout).
func WithHTTPClient(c *http.Client) Option {
	return func(s *Sender) { s.client = c }
}

// New parses kannelURL, kannel://user:pass@host:13013 (smsbox's sendsms
// port; user and pass are a sendsms-user's; ?from=Posti sets the sender
// id, DefaultFrom when absent; ?smsc=ID routes to one SMSC; a path, when
// given, replaces /cgi-bin/sendsms), and takes dlr, which makes the
// delivery-report URL for a message id (lokero signs it; Send appends
// DLRQuery). dlr may be nil: no reports are asked for. A bad URL is an
// error naming the part, never repeating the password.
func New(kannelURL string, dlr func(messageID int64) string, opts ...Option) (*Sender, error) {
	u, err := url.Parse(kannelURL)
	if err != nil {
		// url.Error repeats the whole URL, password included: keep only
		// what went wrong.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("kannel URL: %w", err)
	}
	if u.Scheme != "kannel" {
		return nil, fmt.Errorf("kannel URL: scheme %q: want kannel://user:pass@host:port", u.Scheme)
	}
	if u.Opaque != "" || u.Host == "" || u.Hostname() == "" {
		return nil, errors.New("kannel URL: host: missing (smsbox's host, as in kannel://user:pass@host:13013)")
	}
	if u.User == nil || u.User.Username() == "" {
		return nil, errors.New("kannel URL: user: missing (a sendsms-user's username)")
	}
	pass, ok := u.User.Password()
	if !ok || pass == "" {
		return nil, errors.New("kannel URL: password: missing (the sendsms-user's password)")
	}
	port := u.Port()
	if port == "" {
		port = DefaultPort
	} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return nil, fmt.Errorf("kannel URL: port %q: not a port number", port)
	}
	path := u.EscapedPath()
	if path == "" || path == "/" {
		path = sendsmsPath
	}
	if u.Fragment != "" {
		return nil, errors.New("kannel URL: fragment: not allowed")
	}
	s := &Sender{
		user:   u.User.Username(),
		pass:   pass,
		from:   DefaultFrom,
		dlr:    dlr,
		client: &http.Client{Timeout: 30 * time.Second},
	}
	host := u.Hostname()
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	s.endpoint = "http://" + host + ":" + port + path
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("kannel URL: query: %w", err)
	}
	for key, vals := range q {
		if len(vals) != 1 {
			return nil, fmt.Errorf("kannel URL: %s: given %d times", key, len(vals))
		}
		v := vals[0]
		switch key {
		case "from":
			if err := checkFrom(v); err != nil {
				return nil, fmt.Errorf("kannel URL: from %q: %w", v, err)
			}
			s.from = v
		case "smsc":
			if v == "" || strings.IndexFunc(v, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
				return nil, fmt.Errorf("kannel URL: smsc %q: want an smsc-id (printable ASCII, no spaces)", v)
			}
			s.smsc = v
		default:
			return nil, fmt.Errorf("kannel URL: query parameter %q: unknown (want from or smsc)", key)
		}
	}
	for _, o := range opts {
		o(s)
	}
	if s.client == nil {
		return nil, errors.New("kannel: WithHTTPClient: nil client")
	}
	return s, nil
}

// checkFrom accepts what an SMSC takes as a sender: an alphanumeric id of
// at most 11 characters, or a number of at most 15 digits.
func checkFrom(v string) error {
	digits := strings.TrimPrefix(v, "+")
	if digits != "" && strings.Trim(digits, "0123456789") == "" {
		if len(digits) > 15 {
			return errors.New("a numeric sender has at most 15 digits")
		}
		return nil
	}
	if v == "" || len(v) > 11 {
		return errors.New("an alphanumeric sender has 1 to 11 characters")
	}
	for _, r := range v {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune(" .-_&", r)) {
			return fmt.Errorf("%q is not a letter, digit, space or .-_& an SMSC takes in a sender id", r)
		}
	}
	return nil
}

// ProviderID is the id Send returns for the outbox message id: Kannel has
// none of its own, so lokero's stands in.
func ProviderID(messageID int64) string {
	return "lokero-" + strconv.FormatInt(messageID, 10)
}

// Send sends m.Text to m.To. The number is normalised with E164; the
// coding and the segments are Segments'; a text over MaxSegments is
// refused. smsbox's 2xx "0: Accepted for delivery" (or "3: Queued for
// later delivery", or an older Kannel's "Sent.") is success, with
// ProviderID(m.ID); a 4xx answer (bad credentials, number denied,
// "Not routable. Do not try again.") is notify.Permanent, except 408 and
// 429; a connection failure, a timeout, a 5xx ("Temporal failure, try
// again later.") or a 2xx that is not Kannel's answer is an error to
// retry.
func (s *Sender) Send(ctx context.Context, m notify.Message) (string, error) {
	to, err := E164(m.To)
	if err != nil {
		return "", fmt.Errorf("kannel: message %d: %w", m.ID, err)
	}
	if m.Text == "" {
		return "", notify.Permanent(fmt.Errorf("kannel: message %d: empty text", m.ID))
	}
	coding, segments := Segments(m.Text)
	if segments > MaxSegments {
		return "", notify.Permanent(fmt.Errorf("kannel: message %d: the text takes %d %s segments, more than %d", m.ID, segments, coding, MaxSegments))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint, strings.NewReader(m.Text))
	if err != nil {
		return "", fmt.Errorf("kannel: message %d: %w", m.ID, err)
	}
	h := req.Header
	h.Set("Content-Type", "text/plain; charset=utf-8") // smsbox converts from it
	h.Set("X-Kannel-Username", s.user)
	h.Set("X-Kannel-Password", s.pass)
	h.Set("X-Kannel-From", s.from)
	h.Set("X-Kannel-To", to)
	if coding == CodingUCS2 {
		h.Set("X-Kannel-Coding", "2")
	} else {
		h.Set("X-Kannel-Coding", "0")
	}
	h.Set("X-Kannel-Account", ProviderID(m.ID))
	if s.smsc != "" {
		h.Set("X-Kannel-SMSC", s.smsc)
	}
	if s.dlr != nil {
		dlrURL, err := dlrURL(s.dlr(m.ID))
		if err != nil {
			return "", notify.Permanent(fmt.Errorf("kannel: message %d: %w", m.ID, err))
		}
		h.Set("X-Kannel-DLR-Mask", dlrMask)
		h.Set("X-Kannel-DLR-URL", dlrURL)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("kannel: message %d: smsbox: %w", m.ID, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	answer := strings.TrimSpace(string(body))
	if len(answer) > 200 {
		answer = answer[:200] + "…"
	}
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		if accepted(answer) {
			return ProviderID(m.ID), nil
		}
		if err != nil {
			return "", fmt.Errorf("kannel: message %d: smsbox answered %d but the answer broke off: %w", m.ID, code, err)
		}
		// Some other server answering 200 would swallow every message:
		// keep the message and let the operator see why.
		return "", fmt.Errorf("kannel: message %d: HTTP %d %q is not an answer of smsbox's sendsms: is the URL smsbox's sendsms-port?", m.ID, code, answer)
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests:
		return "", fmt.Errorf("kannel: message %d: smsbox: HTTP %d %q", m.ID, code, answer)
	case strings.HasPrefix(answer, "Authorization failed"):
		// smsbox refuses lokero itself (user, password, or sendsms-user's
		// allow-ip), not the message: transient, as an SMTP relay's refusal
		// to log in is, so that the messages go once that is fixed.
		return "", fmt.Errorf("kannel: message %d: smsbox refused lokero's credentials or address (HTTP %d %q): "+
			"check the kannel:// URL's user and password against smsbox's sendsms-user; the message is kept and retried", m.ID, code, answer)
	case code >= 400 && code < 500:
		return "", notify.Permanent(fmt.Errorf("kannel: message %d: smsbox refused it: HTTP %d %q", m.ID, code, answer))
	default:
		return "", fmt.Errorf("kannel: message %d: smsbox: HTTP %d %q", m.ID, code, answer)
	}
}

// accepted reports whether answer is sendsms's answer for a message
// taken: "0: Accepted for delivery", "3: Queued for later delivery"
// (bearerbox is away and smsbox keeps it), or "Sent." (Kannel 1.4.1 and
// older).
func accepted(answer string) bool {
	return strings.HasPrefix(answer, "0:") || strings.HasPrefix(answer, "3:") || strings.HasPrefix(answer, "Sent.")
}

// dlrURL makes the dlr-url Kannel gets from lokero's callback URL u: every
// "%" in u doubled (Kannel reads %A, %d, %F... in it as its own escapes,
// and %% as "%"), and DLRQuery appended.
func dlrURL(u string) (string, error) {
	p, err := url.Parse(u)
	if err != nil || !p.IsAbs() || (p.Scheme != "http" && p.Scheme != "https") {
		return "", errors.New("the delivery-report URL is not an absolute http(s) URL")
	}
	if strings.IndexFunc(u, unicode.IsControl) >= 0 {
		return "", errors.New("the delivery-report URL has a control character")
	}
	if p.Fragment != "" || strings.Contains(u, "#") {
		return "", errors.New("the delivery-report URL has a fragment")
	}
	u = strings.ReplaceAll(u, "%", "%%")
	switch {
	case !strings.Contains(u, "?"):
		u += "?"
	case !strings.HasSuffix(u, "?") && !strings.HasSuffix(u, "&"):
		u += "&"
	}
	return u + DLRQuery, nil
}

// ParseDLR reads the query of a delivery report Kannel sends to the
// dlr-url Send gave it: status, Kannel's report type (DLRDelivered,
// DLRFailed, DLRBuffered, DLRSubmitted or DLRRejected), and text, the
// SMSC's answer ("ACK/" for an accepted submit, an SMPP receipt such as
// "id:… sub:001 dlvrd:001 … stat:DELIVRD err:000" for a delivery). The
// receipt's "text:" field, which quotes the start of the message and so
// perhaps its opening code, is cut off.
func ParseDLR(q url.Values) (status int, text string, err error) {
	raw, ok := q["status"]
	if !ok || len(raw) == 0 || raw[0] == "" {
		return 0, "", errors.New("kannel DLR: status: missing")
	}
	if len(raw) > 1 {
		return 0, "", errors.New("kannel DLR: status: given more than once")
	}
	status, err = strconv.Atoi(raw[0])
	if err != nil {
		return 0, "", fmt.Errorf("kannel DLR: status %q: not a number", raw[0])
	}
	switch status {
	case DLRDelivered, DLRFailed, DLRBuffered, DLRSubmitted, DLRRejected:
	default:
		return 0, "", fmt.Errorf("kannel DLR: status %d: not a Kannel report type (1, 2, 4, 8 or 16)", status)
	}
	text = q.Get("answer")
	if i := indexFoldASCII(text, " text:"); i >= 0 {
		text = text[:i]
	}
	return status, strings.TrimSpace(text), nil
}

// indexFoldASCII is the byte index in s of the first instance of sub (in
// lower case ASCII), ASCII letters of s compared in either case, or -1.
// Unlike an index into strings.ToLower(s), it is an index into s itself:
// a character whose lower case has another length in UTF-8 (İ, Ⱥ, K)
// shifts nothing.
func indexFoldASCII(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		j := 0
		for ; j < len(sub); j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != sub[j] {
				break
			}
		}
		if j == len(sub) {
			return i
		}
	}
	return -1
}

// FinalDLR reports whether a report of type status ends the message's
// story: delivered, failed or rejected. After DLRSubmitted and
// DLRBuffered more reports follow.
func FinalDLR(status int) bool {
	return status == DLRDelivered || status == DLRFailed || status == DLRRejected
}

// E164 normalises a phone number as a recipient wrote it to E.164
// ("040 123 4567" → "+358401234567"; a number without + is read as
// Finnish). A number that is no number, is not valid, or cannot take an
// SMS (a fixed line) is an error marked notify.Permanent that says what is
// wrong with it.
func E164(number string) (string, error) {
	raw := strings.TrimSpace(number)
	if raw == "" {
		return "", notify.Permanent(errors.New("phone number: empty"))
	}
	for _, r := range raw {
		// phonenumbers would read letters as a keypad's (1-800-FLOWERS):
		// a recipient's number has none.
		if unicode.IsLetter(r) {
			return "", notify.Permanent(fmt.Errorf("phone number %q: has letters", raw))
		}
		if !unicode.IsDigit(r) && !strings.ContainsRune("+ -().\u00a0/", r) {
			return "", notify.Permanent(fmt.Errorf("phone number %q: %q is not a digit, space or +-()./", raw, r))
		}
	}
	n, err := phonenumbers.Parse(raw, "FI")
	if err != nil {
		return "", notify.Permanent(fmt.Errorf("phone number %q: %w", raw, err))
	}
	switch phonenumbers.IsPossibleNumberWithReason(n) {
	case phonenumbers.TOO_SHORT:
		return "", notify.Permanent(fmt.Errorf("phone number %q: too short", raw))
	case phonenumbers.TOO_LONG:
		return "", notify.Permanent(fmt.Errorf("phone number %q: too long", raw))
	case phonenumbers.INVALID_COUNTRY_CODE:
		return "", notify.Permanent(fmt.Errorf("phone number %q: no such country code", raw))
	case phonenumbers.INVALID_LENGTH, phonenumbers.IS_POSSIBLE_LOCAL_ONLY:
		return "", notify.Permanent(fmt.Errorf("phone number %q: not a length a number has in %s", raw, region(n)))
	}
	if !phonenumbers.IsValidNumber(n) {
		return "", notify.Permanent(fmt.Errorf("phone number %q: not a valid number in %s", raw, region(n)))
	}
	switch t := phonenumbers.GetNumberType(n); t {
	case phonenumbers.MOBILE, phonenumbers.FIXED_LINE_OR_MOBILE:
	default:
		return "", notify.Permanent(fmt.Errorf("phone number %q: %s, not a mobile number: it takes no SMS", raw, typeName(t)))
	}
	return phonenumbers.Format(n, phonenumbers.E164), nil
}

// region names the number's country for an error.
func region(n *phonenumbers.PhoneNumber) string {
	if r := phonenumbers.GetRegionCodeForNumber(n); r != "" && r != "ZZ" {
		return r
	}
	return "+" + strconv.Itoa(int(n.GetCountryCode()))
}

// typeName names a number type for an error.
func typeName(t phonenumbers.PhoneNumberType) string {
	switch t {
	case phonenumbers.FIXED_LINE:
		return "a fixed-line number"
	case phonenumbers.TOLL_FREE:
		return "a toll-free number"
	case phonenumbers.PREMIUM_RATE:
		return "a premium-rate number"
	case phonenumbers.SHARED_COST:
		return "a shared-cost number"
	case phonenumbers.VOIP:
		return "a VoIP number"
	case phonenumbers.PERSONAL_NUMBER:
		return "a personal number"
	case phonenumbers.PAGER:
		return "a pager number"
	case phonenumbers.UAN:
		return "a corporate (UAN) number"
	case phonenumbers.VOICEMAIL:
		return "a voicemail number"
	default:
		return "not a number of a known kind"
	}
}
