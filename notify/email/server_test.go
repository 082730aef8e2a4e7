package email

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// received is one message the test server accepted.
type received struct {
	From string   // MAIL FROM
	To   []string // RCPT TO
	Data []byte
	TLS  bool   // the session was encrypted (STARTTLS or implicit)
	User string // who logged in ("" without AUTH)
	Mech string // with which mechanism
}

// serverConfig says how a test server behaves.
type serverConfig struct {
	listen    string      // "127.0.0.1:0" when empty
	tls       *tls.Config // offered with STARTTLS (or from the start, with implicit)
	implicit  bool        // smtps: TLS from the first byte
	user      string      // when set, MAIL needs AUTH as user/pass
	pass      string
	mechs     []string                   // offered AUTH mechanisms (PLAIN, LOGIN)
	insecure  bool                       // offer AUTH without TLS
	mail      *smtp.SMTPError            // the answer to every MAIL FROM
	rcpt      map[string]*smtp.SMTPError // RCPT TO answers by address
	data      *smtp.SMTPError            // the answer to every message
	dataDelay time.Duration              // a pause before answering the message
}

// testServer is a real SMTP server (go-smtp) on a free loopback port that
// records what it accepts.
type testServer struct {
	cfg  serverConfig
	addr string // host:port
	host string
	port string

	mu       sync.Mutex
	msgs     []received
	accepted int        // TCP connections
	conns    []net.Conn // open ones, for kill
	auths    int        // AUTH commands seen (successful or not)
}

// startServer starts a test server; it stops when the test ends.
func startServer(t testing.TB, cfg serverConfig) *testServer {
	t.Helper()
	if cfg.listen == "" {
		cfg.listen = "127.0.0.1:0"
	}
	ts := &testServer{cfg: cfg}
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{ts: ts, conn: c}, nil
	}))
	s.Domain = "relay.test"
	s.ReadTimeout = 10 * time.Second
	s.WriteTimeout = 10 * time.Second
	s.AllowInsecureAuth = cfg.insecure
	s.ErrorLog = log.New(io.Discard, "", 0)
	var l net.Listener
	l, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		t.Fatalf("test SMTP server: %v", err)
	}
	l = &countingListener{Listener: l, ts: ts}
	if cfg.implicit {
		l = tls.NewListener(l, cfg.tls)
	} else {
		s.TLSConfig = cfg.tls
	}
	ts.addr = l.Addr().String()
	ts.host, ts.port, _ = net.SplitHostPort(ts.addr)
	go func() { _ = s.Serve(l) }()
	t.Cleanup(func() { _ = s.Close() })
	return ts
}

// messages returns what the server has accepted so far.
func (ts *testServer) messages() []received {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]received(nil), ts.msgs...)
}

// connections is how many TCP connections the server has accepted.
func (ts *testServer) connections() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.accepted
}

// authAttempts is how many AUTH commands the server has seen.
func (ts *testServer) authAttempts() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.auths
}

// kill closes every open connection, as a relay does to an idle client.
func (ts *testServer) kill() {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for _, c := range ts.conns {
		_ = c.Close()
	}
	ts.conns = nil
}

type countingListener struct {
	net.Listener
	ts *testServer
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.ts.mu.Lock()
		l.ts.accepted++
		l.ts.conns = append(l.ts.conns, c)
		l.ts.mu.Unlock()
	}
	return c, err
}

// session is one SMTP session of the test server.
type session struct {
	ts   *testServer
	conn *smtp.Conn
	user string
	mech string
	from string
	to   []string
}

func (s *session) AuthMechanisms() []string {
	if s.ts.cfg.user == "" {
		return nil
	}
	return s.ts.cfg.mechs
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	s.ts.mu.Lock()
	s.ts.auths++
	s.ts.mu.Unlock()
	check := func(user, pass string) error {
		if user != s.ts.cfg.user || pass != s.ts.cfg.pass {
			return smtp.ErrAuthFailed
		}
		s.user, s.mech = user, mech
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, user, pass string) error { return check(user, pass) }), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.ts.cfg.user != "" && s.user == "" {
		return smtp.ErrAuthRequired
	}
	if e := s.ts.cfg.mail; e != nil {
		return e
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if e := s.ts.cfg.rcpt[to]; e != nil {
		return e
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	time.Sleep(s.ts.cfg.dataDelay)
	if e := s.ts.cfg.data; e != nil {
		return e
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.ts.mu.Lock()
	s.ts.msgs = append(s.ts.msgs, received{From: s.from, To: s.to, Data: b, TLS: isTLS, User: s.user, Mech: s.mech})
	s.ts.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

// loginServer is the server side of AUTH LOGIN (go-sasl has only the
// client's): a username, then a password, each asked for.
type loginServer struct {
	step  int
	user  string
	check func(user, pass string) error
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step++
		if len(resp) == 0 {
			return []byte("Username:"), false, nil
		}
		l.user = string(resp)
		l.step++
		return []byte("Password:"), false, nil
	case 1:
		l.user = string(resp)
		l.step++
		return []byte("Password:"), false, nil
	case 2:
		l.step++
		return nil, true, l.check(l.user, string(resp))
	}
	return nil, false, errors.New("unexpected LOGIN step")
}

// selfSigned makes a certificate for the loopback addresses and
// "localhost", and a pool that trusts it.
func selfSigned(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "lokero test relay"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("127.0.0.2")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}

// url is an smtp:// or smtps:// URL to the server with the given
// userinfo ("" for none) and query.
func (ts *testServer) url(scheme, userinfo, query string) string {
	u := scheme + "://"
	if userinfo != "" {
		u += userinfo + "@"
	}
	u += ts.addr
	if query != "" {
		u += "?" + query
	}
	return u
}

// rcptList is the RCPT addresses of a received message, for messages.
func (r received) rcptList() string { return strings.Join(r.To, ",") }
