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
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
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
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"dev", []string{"--production", "--dev", "--behind-proxy", "--db", fresh(), "--code-secret-file", secret}, "--production refuses --dev"},
		{"no TLS", []string{"--production", "--db", fresh(), "--code-secret-file", secret}, "--behind-proxy"},
		{"secret on the fly", []string{"--production", "--behind-proxy", "--db", fresh()}, "does not make one on the fly"},
		{"readable database", []string{"--production", "--behind-proxy", "--db", readable, "--code-secret-file", secret}, "readable.db; chmod 600"},
		{"readable secret", []string{"--production", "--behind-proxy", "--db", fresh(), "--code-secret-file", openSecret}, "chmod 600"},
		{"tls cert without key", []string{"--production", "--tls-cert", secret, "--db", fresh()}, "--tls-cert and --tls-key go together"},
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
		"--db", filepath.Join(dir, "lokero.db"), "--code-secret-file", secret, "--no-demo")
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
			"import postcodes", "import locations", "retailer add", "courier add", "operator add", "locker provision",
			"credential list", "credential revoke", "credential rotate", "secret rotate", "secret retire", "backup",
			"bench", "LOKERO_DB", "the server's database"} {
			if !strings.Contains(text, want) {
				t.Errorf("lokero %v does not mention %q", args, want)
			}
		}
	}
}
