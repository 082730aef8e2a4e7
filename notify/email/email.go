// Package email sends lokero's notices as e-mail over SMTP, with
// github.com/wneessen/go-mail: a multipart/alternative message (text and
// HTML, rendered from the embedded templates in the recipient's language)
// with a Message-ID derived from the outbox message's id, so that a repeat
// after a crash is recognisably the same message.
//
// The relay is named by a URL: smtp://[user:pass@]host[:port] (port 587;
// STARTTLS when the server offers it, plain otherwise, as for a local
// relay; ?starttls=required refuses a server without it) or
// smtps://[user:pass@]host[:port] (TLS from the first byte, port 465).
// Credentials are sent only over TLS, or to a relay on the loopback
// interface: AUTH PLAIN, or LOGIN where that is all the server offers.
//
// A Sender keeps a few idle connections to the relay and reuses them (a
// NOOP first), so that a burst of notices does not pay a TCP and TLS
// handshake each.
package email

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	stdmail "net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lokero/lokero/notify"
	mail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"
)

// Default ports and timeout.
const (
	DefaultPort        = 587 // smtp://: submission, STARTTLS
	DefaultPortTLS     = 465 // smtps://: implicit TLS
	DefaultTimeout     = 30 * time.Second
	maxIdle            = 4                // idle connections kept for reuse
	idleTimeout        = 20 * time.Second // an idle connection older than this is closed, not reused
	messageIDPrefix    = "lokero-msg-"
	headerAutoSubmit   = mail.Header("Auto-Submitted")
	headerContentLang  = mail.Header("Content-Language")
	headerAutoResponse = mail.Header("X-Auto-Response-Suppress")
)

// Sender sends e-mail through one SMTP relay. It is safe for concurrent
// use.
type Sender struct {
	host        string
	port        int
	implicitTLS bool           // smtps://
	policy      mail.TLSPolicy // STARTTLS policy for smtp://
	user, pass  string
	from        *stdmail.Address
	domain      string // of from: the Message-ID's right-hand side
	tlsConfig   *tls.Config
	timeout     time.Duration
	now         func() time.Time

	client *mail.Client // message writing, STARTTLS and the SMTP transaction

	mu   sync.Mutex
	idle []*conn // most recently used last
}

var _ notify.Sender = (*Sender)(nil)

// Option configures a Sender.
type Option func(*Sender)

// WithTLSConfig makes the Sender verify the relay with c (a private CA, or
// a test's self-signed certificate) for STARTTLS and smtps. Its
// ServerName defaults to the URL's host.
func WithTLSConfig(c *tls.Config) Option {
	return func(s *Sender) { s.tlsConfig = c }
}

// WithTimeout bounds each Send, dial and SMTP transaction together
// (DefaultTimeout when not given).
func WithTimeout(d time.Duration) Option {
	return func(s *Sender) { s.timeout = d }
}

// WithClock sets the clock the Date header is read from (time.Now when
// not given).
func WithClock(now func() time.Time) Option {
	return func(s *Sender) { s.now = now }
}

// New parses the SMTP URL and returns the sender. from is the From
// address ("lokero <noreply@example.fi>"); the Message-ID's domain is its
// domain. A bad URL or from is an error naming the part (scheme, host,
// port, user, password, starttls, from...), never repeating the password.
func New(smtpURL, from string, opts ...Option) (*Sender, error) {
	u, err := url.Parse(smtpURL)
	if err != nil {
		// url.Error repeats the whole URL, password included: keep only
		// what went wrong.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("smtp URL: %w", err)
	}
	s := &Sender{timeout: DefaultTimeout, now: time.Now}
	switch u.Scheme {
	case "smtp":
		s.port, s.policy = DefaultPort, mail.TLSOpportunistic
	case "smtps":
		s.port, s.implicitTLS, s.policy = DefaultPortTLS, true, mail.NoTLS
	default:
		return nil, fmt.Errorf("smtp URL: scheme %q: want smtp:// (STARTTLS) or smtps:// (implicit TLS)", u.Scheme)
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return nil, errors.New("smtp URL: host: missing (as in smtp://mail.example.fi:587)")
	}
	s.host = u.Hostname()
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("smtp URL: port %q: not a port number", p)
		}
		s.port = n
	}
	if u.User != nil {
		s.user = u.User.Username()
		pass, ok := u.User.Password()
		if s.user == "" {
			return nil, errors.New("smtp URL: user: missing before the password")
		}
		if !ok || pass == "" {
			return nil, errors.New("smtp URL: password: missing (smtp://user:pass@host)")
		}
		s.pass = pass
	}
	if u.Path != "" && u.Path != "/" {
		return nil, fmt.Errorf("smtp URL: path %q: not allowed", u.Path)
	}
	if u.Fragment != "" {
		return nil, errors.New("smtp URL: fragment: not allowed")
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("smtp URL: query: %w", err)
	}
	for key, vals := range q {
		// An unknown parameter is refused rather than ignored: a typo in
		// ?starttls=required must not silently send in clear.
		if key != "starttls" {
			return nil, fmt.Errorf("smtp URL: query parameter %q: unknown (want starttls)", key)
		}
		if len(vals) != 1 {
			return nil, fmt.Errorf("smtp URL: starttls: given %d times", len(vals))
		}
		switch v := vals[0]; {
		case s.implicitTLS:
			return nil, errors.New("smtp URL: starttls: not with smtps:// (TLS from the start)")
		case v == "required":
			s.policy = mail.TLSMandatory
		case v == "opportunistic":
			s.policy = mail.TLSOpportunistic
		default:
			return nil, fmt.Errorf("smtp URL: starttls %q: want required (or opportunistic, the default)", v)
		}
	}
	addr, err := stdmail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("email: from %q: %w", from, err)
	}
	at := strings.LastIndexByte(addr.Address, '@')
	if at < 1 || at == len(addr.Address)-1 {
		return nil, fmt.Errorf("email: from %q: no domain", from)
	}
	s.from, s.domain = addr, addr.Address[at+1:]
	for _, o := range opts {
		o(s)
	}
	if s.timeout <= 0 {
		return nil, fmt.Errorf("email: timeout %v: must be positive", s.timeout)
	}
	if s.now == nil {
		return nil, errors.New("email: WithClock: nil clock")
	}
	if s.tlsConfig == nil {
		s.tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	} else {
		s.tlsConfig = s.tlsConfig.Clone()
	}
	if s.tlsConfig.ServerName == "" {
		s.tlsConfig.ServerName = s.host
	}
	mopts := []mail.Option{
		mail.WithPort(s.port),
		mail.WithTimeout(s.timeout),
		mail.WithTLSPolicy(s.policy),
		mail.WithTLSConfig(s.tlsConfig),
		// lokero dials (so that a cancelled context can close the
		// socket, and smtps is TLS from the start) and authenticates
		// (one SASL state per connection) itself.
		mail.WithDialContextFunc(s.dial),
		// A fresh connection needs no NOOP; a reused one gets one in get.
		mail.WithoutNoop(),
	}
	if s.client, err = mail.NewClient(s.host, mopts...); err != nil {
		return nil, fmt.Errorf("email: %w", err)
	}
	return s, nil
}

// MessageID is the Message-ID (with its angle brackets) of the outbox
// message id: the same on every attempt. Send returns it as the
// provider's id.
func (s *Sender) MessageID(id int64) string {
	return "<" + messageIDPrefix + strconv.FormatInt(id, 10) + "@" + s.domain + ">"
}

// Send renders m in its language and sends it: multipart/alternative
// text and HTML for an arrival or a reminder, text only (m.Text) for any
// other kind. It returns the Message-ID. A malformed To, and a 5xx reply
// to RCPT or to the message, are notify.Permanent; a connection failure,
// a timeout, a 4xx reply, a failed STARTTLS or AUTH (the relay's or
// lokero's configuration, not the message's fault) are transient.
func (s *Sender) Send(ctx context.Context, m notify.Message) (string, error) {
	to, err := stdmail.ParseAddress(m.To)
	if err != nil || !strings.Contains(to.Address, "@") {
		return "", notify.Permanent(fmt.Errorf("email: To %q: not an e-mail address", m.To))
	}
	subject, text, html, err := Render(m)
	if err != nil {
		return "", err
	}
	id := s.MessageID(m.ID)
	msg := mail.NewMsg(mail.WithNoDefaultUserAgent())
	msg.FromMailAddress(s.from)
	msg.ToMailAddress(&stdmail.Address{Name: to.Name, Address: to.Address})
	msg.Subject(subject)
	msg.SetMessageIDWithValue(strings.Trim(id, "<>"))
	msg.SetDateWithValue(s.now())
	msg.SetGenHeader(headerAutoSubmit, "auto-generated") // RFC 3834: no auto-replies
	msg.SetGenHeader(headerAutoResponse, "All")
	msg.SetGenHeader(headerContentLang, language(m.Language))
	msg.SetBodyString(mail.TypeTextPlain, text)
	if html != "" {
		msg.AddAlternativeString(mail.TypeTextHTML, html)
		if m.Kind == notify.KindArrival && m.Parcel.QRToken != "" {
			// The QR code the HTML part shows (cid:QRContentID), inline.
			img, err := QRCodePNG(m.Parcel.QRToken, 6)
			if err != nil {
				return "", notify.Permanent(fmt.Errorf("email: message %d: %w", m.ID, err))
			}
			if err := msg.EmbedReader("qr.png", bytes.NewReader(img), mail.WithFileContentID("<"+QRContentID+">"),
				mail.WithFileContentType(mail.ContentType("image/png"))); err != nil {
				return "", fmt.Errorf("email: message %d: %w", m.ID, err)
			}
		}
	}

	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	c, err := s.get(ctx)
	if err != nil {
		return "", fmt.Errorf("email: message %d: %w", m.ID, s.dialErr(ctx, err))
	}
	// A cancelled or expired context closes the socket: whatever the SMTP
	// exchange is waiting for then fails at once.
	stop := context.AfterFunc(ctx, func() { _ = c.raw.Close() })
	err = s.client.SendWithSMTPClient(c.smtp, msg)
	alive := stop()
	if msg.IsDelivered() {
		// The relay accepted the message (250 after DATA): a failed RSET
		// afterwards does not undo that.
		if err == nil && alive {
			s.put(c)
		} else {
			_ = c.raw.Close()
		}
		return id, nil
	}
	_ = c.raw.Close()
	if ctx.Err() != nil {
		return "", fmt.Errorf("email: message %d: sending: %w", m.ID, ctx.Err())
	}
	return "", fmt.Errorf("email: message %d: %w", m.ID, classify(err))
}

// Close ends the idle connections (QUIT). The Sender remains usable.
func (s *Sender) Close() error {
	s.mu.Lock()
	idle := s.idle
	s.idle = nil
	s.mu.Unlock()
	for _, c := range idle {
		c.quit()
	}
	return nil
}

// classify marks what retrying cannot cure as permanent: a 5xx answer to
// RCPT (a rejected recipient) or to DATA or the message itself (a rejected
// message). A 5xx answer to MAIL FROM concerns lokero's own From or
// session, as do 530 (authentication required) and a refusal to RCPT of
// the security class 5.7.x ("554 5.7.1 Relay access denied": a relay that
// does not know lokero's address or credentials refuses every recipient
// alike): transient, so that the messages go once the configuration is
// fixed. A recipient refused as a mailbox (5.1.x) stays permanent.
func classify(err error) error {
	var se *mail.SendError
	if !errors.As(err, &se) {
		return err
	}
	code := se.ErrorCode()
	switch se.Reason {
	case mail.ErrGetRcpts, mail.ErrNoUnencoded:
		return notify.Permanent(err)
	case mail.ErrSMTPRcptTo, mail.ErrSMTPData, mail.ErrSMTPDataClose:
		if se.Reason == mail.ErrSMTPRcptTo && strings.HasPrefix(se.EnhancedStatusCode(), "5.7.") {
			return err
		}
		if code/100 == 5 && code != 530 {
			return notify.Permanent(err)
		}
	}
	return err
}

// dialErr describes a failure to reach, greet, secure or log in to the
// relay; all of them are transient.
func (s *Sender) dialErr(ctx context.Context, err error) error {
	if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		err = fmt.Errorf("%w (%w)", ctx.Err(), err)
	}
	return fmt.Errorf("relay %s: %w", net.JoinHostPort(s.host, strconv.Itoa(s.port)), err)
}

// conn is one connection to the relay.
type conn struct {
	smtp      *smtp.Client
	raw       net.Conn // the TCP socket under any TLS
	idleSince time.Time
}

// quit says goodbye and closes the socket.
func (c *conn) quit() {
	_ = c.smtp.UpdateDeadline(2 * time.Second)
	_ = c.smtp.Quit()
	_ = c.raw.Close()
}

// socket is where dial leaves the TCP socket of a connection being made,
// for a cancelled context to close from another goroutine.
type socket struct {
	mu     sync.Mutex
	conn   net.Conn
	closed bool
}

// set records c, closing it at once if the context is already done.
func (k *socket) set(c net.Conn) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.conn = c
	if k.closed {
		_ = c.Close()
	}
}

// close closes the socket, now or as soon as it is set.
func (k *socket) close() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.closed = true
	if k.conn != nil {
		_ = k.conn.Close()
	}
}

// socketKey carries the *socket in the dial context.
type socketKey struct{}

// dial is go-mail's dial function: TCP, and for smtps the TLS handshake.
// It leaves the TCP socket in the context's *socket.
func (s *Sender) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	raw, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	if k, ok := ctx.Value(socketKey{}).(*socket); ok {
		k.set(raw)
	}
	if !s.implicitTLS {
		return raw, nil
	}
	tc := tls.Client(raw, s.tlsConfig)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = raw.Close()
		return nil, fmt.Errorf("TLS handshake: %w", err)
	}
	return tc, nil
}

// get returns an idle connection that still answers NOOP, or a new one:
// dialled, greeted (EHLO), secured (STARTTLS as the policy says) and
// logged in (when the URL has credentials).
func (s *Sender) get(ctx context.Context) (*conn, error) {
	for {
		s.mu.Lock()
		n := len(s.idle)
		if n == 0 {
			s.mu.Unlock()
			break
		}
		c := s.idle[n-1]
		s.idle = s.idle[:n-1]
		s.mu.Unlock()
		if time.Since(c.idleSince) > idleTimeout {
			c.quit()
			continue
		}
		stop := context.AfterFunc(ctx, func() { _ = c.raw.Close() })
		err := c.smtp.UpdateDeadline(s.timeout)
		if err == nil {
			err = c.smtp.Noop()
		}
		if !stop() || err != nil {
			_ = c.raw.Close()
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			continue
		}
		return c, nil
	}

	k := new(socket)
	stop := context.AfterFunc(ctx, k.close)
	client, err := s.client.DialToSMTPClientWithContext(context.WithValue(ctx, socketKey{}, k))
	if err == nil {
		err = s.authenticate(client)
	}
	alive := stop()
	if err != nil || !alive {
		k.close()
		if err == nil {
			err = ctx.Err()
		}
		return nil, err
	}
	return &conn{smtp: client, raw: k.conn}, nil
}

// put keeps c for the next Send, or ends it when enough are kept.
func (s *Sender) put(c *conn) {
	c.idleSince = time.Now()
	s.mu.Lock()
	if len(s.idle) < maxIdle {
		s.idle = append(s.idle, c)
		c = nil
	}
	s.mu.Unlock()
	if c != nil {
		c.quit()
	}
}

// authenticate logs in with the URL's credentials, if any: PLAIN, or
// LOGIN where the server offers only that. Like net/smtp, it refuses to
// send the password over a connection without TLS unless the relay is on
// the loopback interface.
func (s *Sender) authenticate(c *smtp.Client) error {
	if s.user == "" {
		return nil
	}
	ok, offered := c.Extension("AUTH")
	if !ok {
		return errors.New("credentials given, but the server offers no AUTH")
	}
	mechs := strings.Fields(strings.ToUpper(offered))
	var a smtp.Auth
	switch {
	case slices.Contains(mechs, "PLAIN"):
		a = smtp.PlainAuth("", s.user, s.pass, s.host, false)
	case slices.Contains(mechs, "LOGIN"):
		a = smtp.LoginAuth(s.user, s.pass, s.host, false)
	default:
		return fmt.Errorf("the server offers AUTH %s; lokero speaks PLAIN and LOGIN", offered)
	}
	if err := c.Auth(a); err != nil {
		return fmt.Errorf("SMTP AUTH: %w", err)
	}
	return nil
}
