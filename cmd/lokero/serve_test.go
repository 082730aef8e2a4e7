package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/lokero/lokero/demo"
	"github.com/lokero/lokero/sqlite"
)

// server is a `lokero serve` run in-process that a test stops (and may
// start again on the same database).
type server struct {
	base   string
	stderr *syncBuffer
	stop   func() int // stops the server and returns its exit code
}

// startServer runs `lokero serve` until stop or the end of the test and
// waits until it is healthy (over HTTPS when client is given).
func startServer(t *testing.T, client *http.Client, args ...string) *server {
	t.Helper()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	stderr := &syncBuffer{}
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", addr}, args...), &bytes.Buffer{}, stderr)
	}()
	stopped, code := false, 0
	stop := func() int {
		if stopped {
			return code
		}
		stopped = true
		cancel()
		select {
		case code = <-done:
		case <-time.After(20 * time.Second):
			t.Error("serve did not stop within 20 s of its context ending")
			code = -1
		}
		return code
	}
	t.Cleanup(func() { stop() })
	scheme := "http"
	if client != nil {
		scheme = "https"
	} else {
		client = http.DefaultClient
	}
	base := scheme + "://" + addr
	for deadline := time.Now().Add(60 * time.Second); ; {
		select {
		case c := <-done:
			stopped, code = true, c
			t.Fatalf("serve exited early with %d: %s", c, stderr.String())
		default:
		}
		if resp, err := client.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve at %s not healthy within 60 s: %s", base, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return &server{base: base, stderr: stderr, stop: stop}
}

// TestDevRoutesOffByDefault: without --dev neither dev route exists, not
// even for an operator on loopback.
func TestDevRoutesOffByDefault(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "lokero.db")
	base := startServe(t, "--db", db)
	operator := lastLine(t, "operator", "add", "--db", db, "Olli")
	for _, token := range []string{"", operator} {
		if status := call(t, "GET", base+"/dev/outbox", token, nil, nil); status != 404 {
			t.Errorf("GET /dev/outbox without --dev (token %q): %d; want 404", token, status)
		}
		if status := call(t, "POST", base+"/v1/admin/clock", token, map[string]string{"advance": "1h"}, nil); status != 404 {
			t.Errorf("POST /v1/admin/clock without --dev (token %q): %d; want 404", token, status)
		}
	}
}

// TestDevRoutesOnlyForOperators: with --dev the outbox and the clock
// answer an operator's credential only, whatever the request claims about
// where it came from; the outbox refuses unknown and repeated parameters,
// naming them.
func TestDevRoutesOnlyForOperators(t *testing.T) {
	t.Parallel()
	rig := startLockerRig(t, "sqlite")
	type answer struct {
		Error struct{ Code, Reason, Field string }
	}
	for _, tt := range []struct {
		name, method, path, token string
		header                    map[string]string
		want                      int
		field                     string
	}{
		{"outbox anonymous", "GET", "/dev/outbox", "", nil, 401, ""},
		{"outbox through a proxy from loopback", "GET", "/dev/outbox", "", map[string]string{"X-Forwarded-For": "127.0.0.1", "Forwarded": "for=127.0.0.1"}, 401, ""},
		{"outbox bad token", "GET", "/dev/outbox", "lko_nonsense", nil, 401, ""},
		{"outbox courier", "GET", "/dev/outbox", rig.courier, nil, 401, ""},
		{"outbox retailer", "GET", "/dev/outbox", rig.key, nil, 401, ""},
		{"outbox device", "GET", "/dev/outbox", rig.device, nil, 401, ""},
		{"outbox operator", "GET", "/dev/outbox", rig.operator, nil, 200, ""},
		{"outbox operator limit", "GET", "/dev/outbox?limit=5", rig.operator, nil, 200, ""},
		{"outbox unknown parameter", "GET", "/dev/outbox?limit=5&channel=sms", rig.operator, nil, 400, "channel"},
		{"outbox duplicate parameter", "GET", "/dev/outbox?limit=5&limit=6", rig.operator, nil, 400, "limit"},
		{"outbox bad limit", "GET", "/dev/outbox?limit=0", rig.operator, nil, 400, "limit"},
		{"clock anonymous", "POST", "/v1/admin/clock", "", nil, 401, ""},
		{"clock courier", "POST", "/v1/admin/clock", rig.courier, nil, 401, ""},
		{"clock retailer", "POST", "/v1/admin/clock", rig.key, nil, 401, ""},
		{"clock operator", "POST", "/v1/admin/clock", rig.operator, nil, 200, ""},
	} {
		var body any
		if tt.method == "POST" {
			body = map[string]string{"advance": "1m"}
		}
		status := 0
		var out answer
		if tt.header == nil {
			status = call(t, tt.method, rig.base+tt.path, tt.token, body, &out)
		} else {
			req, _ := http.NewRequest(tt.method, rig.base+tt.path, nil)
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			status = resp.StatusCode
		}
		if status != tt.want || (tt.field != "" && out.Error.Field != tt.field) {
			t.Errorf("%s: %d %+v; want %d naming %q", tt.name, status, out, tt.want, tt.field)
		}
	}
}

// TestDevClockSurvivesRestart: the test clock's advance is kept in the
// database, so that after a restart time goes on from where it was.
func TestDevClockSurvivesRestart(t *testing.T) {
	t.Parallel()
	onBothStores(t, func(t *testing.T, store string) {
		db, args := storeArgs(t, store)
		args = append(args, "--dev", "--no-demo")
		srv := startServer(t, nil, args...)
		operator := lastLine(t, "operator", "add", "--db", db, "Olli")
		var before struct{ Now time.Time }
		if status := call(t, "POST", srv.base+"/v1/admin/clock", operator, map[string]string{"advance": "240h"}, &before); status != 200 {
			t.Fatalf("advance: %d", status)
		}
		if code := srv.stop(); code != 0 {
			t.Fatalf("serve exited with %d: %s", code, srv.stderr.String())
		}
		srv = startServer(t, nil, args...)
		var after struct{ Now time.Time }
		if status := call(t, "POST", srv.base+"/v1/admin/clock", operator, map[string]string{"advance": "1ns"}, &after); status != 200 {
			t.Fatalf("advance after the restart: %d", status)
		}
		if after.Now.Before(before.Now) || after.Now.Sub(before.Now) > time.Minute {
			t.Errorf("the test clock after a restart: %v; before it %v: want time to go on from there", after.Now, before.Now)
		}
		if !strings.Contains(srv.stderr.String(), "test clock resumed") {
			t.Errorf("no log of the resumed clock: %s", srv.stderr.String())
		}
	})
}

// TestServeFileModes: a new SQLite database, its -wal and -shm and the
// code secret are 0600; an existing database others may read is made
// owner-only, with a warning.
func TestServeFileModes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "lokero.db")
	srv := startServer(t, nil, "--db", db, "--no-demo")
	lastLine(t, "operator", "add", "--db", db, "Olli") // a write: the WAL exists
	for _, f := range []string{db, db + "-wal", db + "-shm", db + ".secret"} {
		info, err := os.Stat(f)
		if err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v; want mode 0600", filepath.Base(f), info, err)
		}
	}
	srv.stop()
	for _, f := range []string{db, db + ".secret"} {
		if err := os.Chmod(f, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	srv = startServer(t, nil, "--db", db, "--no-demo")
	for _, f := range []string{db, db + ".secret"} {
		if info, err := os.Stat(f); err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("%s after a start: %v %v; want it made 0600", filepath.Base(f), info, err)
		}
	}
	if log := srv.stderr.String(); !strings.Contains(log, "readable by others") || !strings.Contains(log, filepath.Base(db)+`"`) {
		t.Errorf("no warning about the world-readable files: %s", log)
	}
}

// TestProductionRefuses: --production (or LOKERO_ENV=production) refuses
// --dev, no TLS in front, a secret made on the fly and files others may
// read, each with a message saying what to do, and a non-zero exit.
func TestProductionRefuses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte(strings.Repeat("ab", 32)), 0o600); err != nil {
		t.Fatal(err)
	}
	readable := filepath.Join(dir, "readable.db")
	lastLine(t, "operator", "add", "--db", readable, "Olli")
	if err := os.Chmod(readable, 0o644); err != nil {
		t.Fatal(err)
	}
	openSecret := filepath.Join(dir, "open-secret")
	if err := os.WriteFile(openSecret, []byte(strings.Repeat("ab", 32)), 0o644); err != nil {
		t.Fatal(err)
	}
	fresh := func() string { return filepath.Join(t.TempDir(), "lokero.db") }
	const kannelURL = "kannel://lokero:pw@127.0.0.1:13013" // a real channel, never reached here
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"dev", []string{"--production", "--dev", "--behind-proxy", "--db", fresh(), "--code-secret-file", secret}, "--production refuses --dev"},
		{"no TLS", []string{"--production", "--db", fresh(), "--code-secret-file", secret}, "--behind-proxy"},
		{"secret on the fly", []string{"--production", "--behind-proxy", "--sms", kannelURL, "--db", fresh()}, "does not make one on the fly"},
		{"readable database", []string{"--production", "--behind-proxy", "--sms", kannelURL, "--db", readable, "--code-secret-file", secret}, "readable.db; chmod 600"},
		{"readable secret", []string{"--production", "--behind-proxy", "--sms", kannelURL, "--db", fresh(), "--code-secret-file", openSecret}, "chmod 600"},
		{"tls cert without key", []string{"--production", "--tls-cert", secret, "--db", fresh()}, "--tls-cert and --tls-key go together"},
		{"no channel", []string{"--production", "--behind-proxy", "--db", fresh(), "--code-secret-file", secret}, "--production needs a real channel"},
	} {
		code, _, stderr := runCmd(t, append([]string{"serve", "--addr", "127.0.0.1:0"}, tt.args...)...)
		if code == 0 || !strings.Contains(stderr, tt.want) {
			t.Errorf("%s: exit %d, %q; want a refusal mentioning %q", tt.name, code, stderr, tt.want)
		}
	}
	if info, err := os.Stat(readable); err != nil || info.Mode().Perm() != 0o644 {
		t.Errorf("--production changed the refused file's mode: %v %v", info, err)
	}
}

// TestProductionEnvironment: LOKERO_ENV=production is --production.
func TestProductionEnvironment(t *testing.T) {
	t.Setenv("LOKERO_ENV", "production")
	code, _, stderr := runCmd(t, "serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "x.db"))
	if code != 1 || !strings.Contains(stderr, "--production needs TLS") {
		t.Errorf("LOKERO_ENV=production without TLS: exit %d %q", code, stderr)
	}
}

// TestProductionServesHTTPS: --production with --tls-cert/--tls-key
// serves HTTPS (a self-signed certificate made here) and nothing in clear.
func TestProductionServesHTTPS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte(strings.Repeat("ab", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 10 * time.Second}
	srv := startServer(t, client, "--production", "--tls-cert", certFile, "--tls-key", keyFile,
		"--db", filepath.Join(dir, "lokero.db"), "--code-secret-file", secret, "--no-demo",
		"--sms", "kannel://lokero:secret@127.0.0.1:13013")
	resp, err := client.Get(srv.base + "/healthz")
	if err != nil {
		t.Fatalf("HTTPS: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil {
		t.Errorf("HTTPS /healthz: %d, TLS %v", resp.StatusCode, resp.TLS != nil)
	}
	plain := "http://" + strings.TrimPrefix(srv.base, "https://") + "/healthz"
	if resp, err := http.Get(plain); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Errorf("plain HTTP answered 200 on the HTTPS port")
		}
	}
}

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key
// into dir and returns their paths and a pool that trusts it.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "lokero test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestServeParseProxies(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		want []string
		bad  string
	}{
		{"", nil, ""},
		{"10.0.0.0/8", []string{"10.0.0.0/8"}, ""},
		{" 10.1.2.3/8 , 192.168.1.1,::1, 2001:db8::/32", []string{"10.0.0.0/8", "192.168.1.1/32", "::1/128", "2001:db8::/32"}, ""},
		{"::ffff:10.0.0.1", []string{"10.0.0.1/32"}, ""},
		{"10.0.0.0/33", nil, "10.0.0.0/33"},
		{"10.0.0.1,proxy.local", nil, "proxy.local"},
		{"300.1.1.1", nil, "300.1.1.1"},
	} {
		got, err := parseProxies(tt.in)
		if tt.bad != "" {
			if err == nil || !strings.Contains(err.Error(), tt.bad) {
				t.Errorf("parseProxies(%q): %v; want an error naming %q", tt.in, err, tt.bad)
			}
			continue
		}
		var s []string
		for _, p := range got {
			s = append(s, p.String())
		}
		if err != nil || !slices.Equal(s, tt.want) {
			t.Errorf("parseProxies(%q) = %v, %v; want %v", tt.in, s, err, tt.want)
		}
	}
}

// TestServeTrustedProxyUsage: a bad --trusted-proxy (or its environment
// variable) is a usage error naming it.
func TestServeTrustedProxyUsage(t *testing.T) {
	t.Setenv("LOKERO_TRUSTED_PROXY", "10.0.0.1,nonsense")
	code, _, stderr := runCmd(t, "serve", "--db", filepath.Join(t.TempDir(), "x.db"))
	if code != 2 || !strings.Contains(stderr, "--trusted-proxy") || !strings.Contains(stderr, `"nonsense"`) {
		t.Errorf("a bad LOKERO_TRUSTED_PROXY: exit %d %q; want a usage error naming it", code, stderr)
	}
}

// TestHelpListsEveryCommand: `lokero --help`, `lokero help` and no
// arguments list every command and say that admin commands need the
// server's --db.
func TestHelpListsEveryCommand(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--help"}, {"help"}, {"-h"}, nil} {
		code, stdout, stderr := runCmd(t, args...)
		text := stdout + stderr
		if (args == nil) != (code == 2) || (args != nil && code != 0) {
			t.Errorf("lokero %v: exit %d", args, code)
		}
		for _, want := range []string{"serve", "--production", "--tls-cert", "--behind-proxy", "--trusted-proxy", "--dev",
			"--smtp", "--mail-from", "--sms", "--public-url",
			"import postcodes", "import locations", "retailer add", "courier add", "operator add", "locker provision",
			"credential list", "credential revoke", "credential rotate", "secret rotate", "secret retire", "backup",
			"bench", "LOKERO_DB", "the server's database"} {
			if !strings.Contains(text, want) {
				t.Errorf("lokero %v does not mention %q", args, want)
			}
		}
	}
}

// TestServeNotificationFlags: a bad --smtp, --sms or --public-url stops
// serve before it starts, as a usage error naming the flag and never
// repeating a password; --production with neither --smtp nor --sms is
// refused (TestProductionRefuses), and starts with one
// (TestProductionServesHTTPS).
func TestServeNotificationFlags(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "lokero.db")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--public-url", "ftp://lokero.example.fi"}, "--public-url must be an absolute http(s) URL"},
		{[]string{"--public-url", "lokero.example.fi"}, "--public-url must be"},
		{[]string{"--public-url", "https://lokero.example.fi/?x=1"}, "--public-url must be"},
		{[]string{"--public-url", "https://admin:hunter2@lokero.example.fi"}, "--public-url must be"},
		{[]string{"--sms", "http://127.0.0.1:13013"}, "--sms: "},
		{[]string{"--sms", "kannel://lokero:hunter2@"}, "--sms: "},
		{[]string{"--sms", "kannel://127.0.0.1:13013"}, "--sms: "},
		{[]string{"--smtp", "ftp://lokero:hunter2@127.0.0.1"}, "--smtp: "},
	} {
		code, _, stderr := runCmd(t, append([]string{"serve", "--addr", "127.0.0.1:0", "--db", db}, tt.args...)...)
		if code != 2 || !strings.Contains(stderr, tt.want) {
			t.Errorf("serve %q: exit %d, %q; want a usage error mentioning %q", tt.args, code, stderr, tt.want)
		}
		if strings.Contains(stderr, "hunter2") {
			t.Errorf("serve %q: the error repeats the password: %q", tt.args, stderr)
		}
	}
	if _, err := os.Stat(db); err == nil {
		t.Errorf("a refused serve created the database")
	}
}

// TestServeNotificationEnvironment: LOKERO_SMS, LOKERO_SMTP and
// LOKERO_PUBLIC_URL are the flags.
func TestServeNotificationEnvironment(t *testing.T) {
	db := filepath.Join(t.TempDir(), "lokero.db")
	for _, env := range []string{"LOKERO_SMS", "LOKERO_SMTP", "LOKERO_PUBLIC_URL"} {
		t.Run(env, func(t *testing.T) {
			t.Setenv(env, "gopher://not-a-provider")
			flag := map[string]string{"LOKERO_SMS": "--sms", "LOKERO_SMTP": "--smtp", "LOKERO_PUBLIC_URL": "--public-url"}[env]
			if code, _, stderr := runCmd(t, "serve", "--addr", "127.0.0.1:0", "--db", db); code != 2 || !strings.Contains(stderr, flag) {
				t.Errorf("%s=gopher://…: exit %d, %q; want the %s usage error", env, code, stderr, flag)
			}
		})
	}
}

// TestServeDefaultPublicURL: without --public-url, links go to the
// listen address (localhost for an unspecified host), over https with TLS.
func TestServeDefaultPublicURL(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		addr string
		tls  bool
		want string
	}{
		{"127.0.0.1:8080", false, "http://127.0.0.1:8080"},
		{"0.0.0.0:8443", true, "https://localhost:8443"},
		{"[::]:80", false, "http://localhost:80"},
		{":8080", false, "http://localhost:8080"},
		{"[::1]:8080", false, "http://[::1]:8080"},
	} {
		if got := defaultPublicURL(tt.addr, tt.tls); got != tt.want {
			t.Errorf("defaultPublicURL(%q, %v) = %q; want %q", tt.addr, tt.tls, got, tt.want)
		}
		if err := checkPublicURL(defaultPublicURL(tt.addr, tt.tls)); err != nil {
			t.Errorf("the default %q is refused: %v", defaultPublicURL(tt.addr, tt.tls), err)
		}
	}
}

// fakeKannel is Kannel's smsbox as lokero sees it: sendsms takes a
// message and answers "0: Accepted for delivery".
type fakeKannel struct {
	mu   sync.Mutex
	sent []http.Header // with "Text" the body
}

func (k *fakeKannel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/cgi-bin/sendsms" || r.Header.Get("X-Kannel-Username") != "lokero" || r.Header.Get("X-Kannel-Password") != "pw" {
		http.Error(w, "Authorization failed for sendsms", http.StatusForbidden)
		return
	}
	body, _ := io.ReadAll(r.Body)
	h := r.Header.Clone()
	h.Set("Text", string(body))
	k.mu.Lock()
	k.sent = append(k.sent, h)
	k.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
	io.WriteString(w, "0: Accepted for delivery")
}

func (k *fakeKannel) messages() []http.Header {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.sent)
}

// smtpSink is a real SMTP server (go-smtp) on a loopback port that keeps
// the messages it accepts.
type smtpSink struct {
	addr string
	mu   sync.Mutex
	msgs []smtpMessage
}

type smtpMessage struct {
	from string
	to   []string
	data []byte
}

type smtpSession struct {
	sink *smtpSink
	m    smtpMessage
}

func (s *smtpSession) Reset()        { s.m = smtpMessage{} }
func (s *smtpSession) Logout() error { return nil }
func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	s.m.from = from
	return nil
}
func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.m.to = append(s.m.to, to)
	return nil
}
func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.m.data = b
	s.sink.mu.Lock()
	s.sink.msgs = append(s.sink.msgs, s.m)
	s.sink.mu.Unlock()
	return nil
}

func startSMTPSink(t *testing.T) *smtpSink {
	t.Helper()
	sink := &smtpSink{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &smtpSession{sink: sink}, nil }))
	srv.Domain = "localhost"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sink.addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return sink
}

func (s *smtpSink) messages() []smtpMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.msgs)
}

// mimeParts adds the decoded bodies of a message's leaf parts by media
// type (text/plain, text/html) to into.
func mimeParts(t *testing.T, header textproto.MIMEHeader, body io.Reader, into map[string]string) {
	t.Helper()
	if err := addMIMELeaves(header, body, into); err != nil {
		t.Fatal(err)
	}
}

// TestServeSendsEmailAndSMS: with --smtp and --sms, closing a locker's
// door sends the notice of arrival once to the SMTP server (both parts,
// the opening code, From as --mail-from) and once to Kannel (with the
// same code and a delivery-report URL back to lokero); the report Kannel
// makes of it is recorded, and the operator sees both messages sent.
func TestServeSendsEmailAndSMS(t *testing.T) {
	t.Parallel()
	kannel := &fakeKannel{}
	gw := httptest.NewServer(kannel)
	t.Cleanup(gw.Close)
	mailServer := startSMTPSink(t)
	db := filepath.Join(t.TempDir(), "lokero.db")
	base := startServe(t, "--db", db, "--sms", "kannel://lokero:pw@"+strings.TrimPrefix(gw.URL, "http://"),
		"--smtp", "smtp://"+mailServer.addr, "--mail-from", "Posti-lokero <noreply@lokero.test>")
	key := lastLine(t, "retailer", "add", "--db", db, "Kauppa")
	courier := lastLine(t, "courier", "add", "--db", db, "Kuski")
	operator := lastLine(t, "operator", "add", "--db", db, "Olli")
	device := lastLine(t, "locker", "provision", "--db", db, demo.DemoLockerID)

	var sh struct {
		ID           string `json:"id"`
		TrackingCode string `json:"tracking_code"`
	}
	parcel := demoBuildingParcel()
	parcel["recipient"].(map[string]any)["email"] = "maija@example.fi"
	if status := call(t, "POST", base+"/v1/shipments", key, parcel, &sh); status != 201 {
		t.Fatalf("create: %d", status)
	}
	if status := call(t, "POST", base+"/v1/shipments/"+sh.ID+"/handover", courier, nil, nil); status != 200 {
		t.Fatalf("handover: %d", status)
	}
	var dep struct{ Compartment int }
	if status := call(t, "POST", base+"/v1/lockers/"+demo.DemoLockerID+"/deposits", courier, map[string]string{"tracking_code": sh.TrackingCode}, &dep); status != 200 {
		t.Fatalf("deposit: %d", status)
	}
	if status := call(t, "POST", base+"/v1/devices/"+demo.DemoLockerID+"/events", device, map[string]any{"type": "door_closed", "compartment": dep.Compartment}, nil); status != 200 {
		t.Fatalf("door closed: %d", status)
	}
	type notification struct {
		ID         int64
		Channel    string
		State      string
		ProviderID string `json:"provider_id"`
		Report     string
		Text       string
		LastError  string `json:"last_error"`
	}
	var list struct{ Notifications []notification }
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		call(t, "GET", base+"/v1/notifications?state=sent", operator, nil, &list)
		if len(list.Notifications) == 2 {
			break
		}
		if time.Now().After(deadline) {
			call(t, "GET", base+"/v1/notifications", operator, nil, &list)
			t.Fatalf("not both recorded sent within 30 s: %+v", list)
		}
	}
	byChannel := map[string]notification{}
	for _, n := range list.Notifications {
		byChannel[n.Channel] = n
		if strings.Contains(n.Text, "Avauskoodi: 0") || !strings.Contains(n.Text, "{opening_code}") || n.ProviderID == "" {
			t.Errorf("the operator sees %+v", n)
		}
	}

	// The SMS, with its code.
	sent := kannel.messages()
	if len(sent) != 1 {
		t.Fatalf("Kannel got %d messages; want 1", len(sent))
	}
	m := sent[0]
	code := regexp.MustCompile(`Avauskoodi: ([0-9]{6,})`).FindStringSubmatch(m.Get("Text"))
	if m.Get("X-Kannel-To") != "+358401234567" || code == nil || !strings.Contains(m.Get("Text"), sh.TrackingCode) {
		t.Fatalf("the SMS Kannel got: to %q, %q", m.Get("X-Kannel-To"), m.Get("Text"))
	}

	// The e-mail, with the same code in both parts.
	mails := mailServer.messages()
	if len(mails) != 1 || len(mails[0].to) != 1 || mails[0].to[0] != "maija@example.fi" || mails[0].from != "noreply@lokero.test" {
		t.Fatalf("the SMTP server got %d messages: %+v", len(mails), mails)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(mails[0].data))
	if err != nil {
		t.Fatalf("the e-mail is not a message: %v", err)
	}
	if from := msg.Header.Get("From"); !strings.Contains(from, "noreply@lokero.test") || !strings.Contains(from, "Posti-lokero") {
		t.Errorf("From %q; want --mail-from", from)
	}
	if msg.Header.Get("Message-Id") == "" {
		t.Error("no Message-ID")
	}
	parts := map[string]string{}
	mimeParts(t, textproto.MIMEHeader(msg.Header), msg.Body, parts)
	for _, media := range []string{"text/plain", "text/html"} {
		if !strings.Contains(parts[media], code[1]) || !strings.Contains(parts[media], sh.TrackingCode) {
			t.Errorf("the e-mail's %s part lacks the code or the tracking code: %.500q", media, parts[media])
		}
	}

	// Kannel's delivery report of the SMS.
	dlr := m.Get("X-Kannel-DLR-URL")
	prefix := fmt.Sprintf("%s/v1/sms/dlr?msg=%d&sig=", base, byChannel["sms"].ID)
	if !strings.HasPrefix(dlr, prefix) || !strings.HasSuffix(dlr, "&status=%d&answer=%A") {
		t.Fatalf("delivery-report URL %q; want %s…&status=%%d&answer=%%A", dlr, prefix)
	}
	report := strings.NewReplacer("%d", "1", "%A", url.QueryEscape("id:7 sub:001 dlvrd:001 stat:DELIVRD err:000")).Replace(dlr)
	resp, err := http.Get(report)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("the delivery report: %d", resp.StatusCode)
	}
	call(t, "GET", base+"/v1/notifications?channel=sms", operator, nil, &list)
	if n := list.Notifications[0]; n.State != "sent" || n.Report != "dlr 1: id:7 sub:001 dlvrd:001 stat:DELIVRD err:000" {
		t.Errorf("after the report: %+v", n)
	}
	time.Sleep(200 * time.Millisecond) // a repeat would show by now
	if len(kannel.messages()) != 1 || len(mailServer.messages()) != 1 {
		t.Errorf("Kannel got %d messages and the SMTP server %d; want 1 each", len(kannel.messages()), len(mailServer.messages()))
	}
}

// TestServeMetricsToken: with --metrics-token, /metrics answers only the
// scraper that sends it; the API is as before.
func TestServeMetricsToken(t *testing.T) {
	t.Parallel()
	_, args := storeArgs(t, "sqlite")
	srv := startServer(t, nil, append(args, "--no-demo", "--metrics-token", "scrape-me")...)
	scrape := func(token string) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, srv.base+"/metrics", nil)
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := scrape(""); got != http.StatusUnauthorized {
		t.Errorf("/metrics without the token: %d; want 401", got)
	}
	if got := scrape("scrape-me"); got != http.StatusOK {
		t.Errorf("/metrics with the token: %d; want 200", got)
	}
	if got := call(t, "GET", srv.base+"/healthz", "", nil, nil); got != http.StatusOK {
		t.Errorf("/healthz with a metrics token set: %d; want 200", got)
	}
}

// holdingSession is an SMTP session that, once it has a message, tells
// arrived and answers 250 only when release is closed: a provider slow to
// accept.
type holdingSession struct {
	smtpSession
	arrived chan<- struct{}
	release <-chan struct{}
}

func (s *holdingSession) Data(r io.Reader) error {
	if err := s.smtpSession.Data(r); err != nil {
		return err
	}
	s.arrived <- struct{}{}
	<-s.release
	return nil
}

// TestServeStopLetsJobsFinish: a notice being sent when serve is told to
// stop (SIGTERM, its context ending) is sent to the end and recorded as
// sent: the jobs get their grace period (Runner.Stop), they are not
// cancelled with the context, which would leave a message the provider
// took recorded as unsent, to be sent again at the next start.
func TestServeStopLetsJobsFinish(t *testing.T) {
	t.Parallel()
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	sink := &smtpSink{}
	smtpSrv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &holdingSession{smtpSession: smtpSession{sink: sink}, arrived: arrived, release: release}, nil
	}))
	smtpSrv.Domain = "localhost"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go smtpSrv.Serve(ln)
	t.Cleanup(func() { smtpSrv.Close() })
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) })

	db := filepath.Join(t.TempDir(), "lokero.db")
	srv := startServer(t, nil, "--db", db, "--smtp", "smtp://"+ln.Addr().String(), "--mail-from", "Posti-lokero <noreply@lokero.test>")
	key := lastLine(t, "retailer", "add", "--db", db, "Kauppa")
	courier := lastLine(t, "courier", "add", "--db", db, "Kuski")
	device := lastLine(t, "locker", "provision", "--db", db, demo.DemoLockerID)
	id, tracking := emailOnlyParcel(t, srv.base, key, "maija@example.fi")
	depositAtDemoLocker(t, srv.base, courier, device, id, tracking)
	select {
	case <-arrived:
	case <-time.After(30 * time.Second):
		t.Fatal("no e-mail at the SMTP server within 30 s of the door closing")
	}
	// The provider has the message and has not answered yet: serve is
	// told to stop, and the provider answers a moment later.
	stopped := make(chan int, 1)
	go func() { stopped <- srv.stop() }()
	time.Sleep(500 * time.Millisecond)
	once.Do(func() { close(release) })
	if code := <-stopped; code != 0 {
		t.Fatalf("serve exited with %d: %s", code, srv.stderr.String())
	}

	st, err := sqlite.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var state string
	var attempts int
	if err := st.SQL().QueryRowContext(t.Context(), `SELECT state, attempts FROM outbox WHERE tracking_code = $1 AND channel = 'email'`, tracking).Scan(&state, &attempts); err != nil {
		t.Fatal(err)
	}
	if state != "sent" || len(sink.messages()) != 1 {
		t.Errorf("after a stop while the provider took the notice: state %q after %d attempt(s), %d message(s) at the provider; want it recorded sent, once",
			state, attempts, len(sink.messages()))
	}
}

// TestServeWarnsPlainMQTT: the embedded broker speaks MQTT without TLS, so
// a locker's device token (its password) and the codes typed at its keypad
// cross the network in clear: listening beyond loopback is warned of, on
// loopback (a TLS terminator or tunnel in front) it is not.
func TestServeWarnsPlainMQTT(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		listen string
		warn   bool
	}{
		{"127.0.0.1:0", false},
		{"0.0.0.0:0", true},
		{":0", true},
	} {
		t.Run(c.listen, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, nil, "--db", filepath.Join(t.TempDir(), "lokero.db"), "--no-demo", "--mqtt-listen", c.listen)
			srv.stop()
			if got := strings.Contains(srv.stderr.String(), "without TLS"); got != c.warn {
				t.Errorf("--mqtt-listen %s: warned %v; want %v: %s", c.listen, got, c.warn, srv.stderr.String())
			}
		})
	}
}

// TestServeFailingAfterListenFreesItsPort: serve failing after it took its
// HTTP port (here its embedded broker's port is taken) gives the port back
// at once: started again on it, it listens.
func TestServeFailingAfterListenFreesItsPort(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	addr := freeAddr(t)
	db := filepath.Join(t.TempDir(), "lokero.db")
	code, _, stderr := runCmd(t, "serve", "--addr", addr, "--db", db, "--no-demo", "--mqtt-listen", busy.Addr().String())
	if code == 0 || !strings.Contains(stderr, "address already in use") {
		t.Fatalf("serve with its broker's port taken: exit %d, %s; want a failure naming the port", code, stderr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("the HTTP port after serve failed: %v; want it free", err)
	}
	ln.Close()
}
