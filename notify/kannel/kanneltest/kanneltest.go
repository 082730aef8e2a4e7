//go:build linux

// Package kanneltest runs a real Kannel for tests: Debian's bearerbox and
// smsbox (package kannel) with fakesmsc (kannel-extras) as the SMSC, on
// free loopback ports and a configuration in a temporary directory. A test
// sends through smsbox's sendsms interface (Gateway.URL is what lokero's
// --sms takes) and reads what the fake SMSC received (Gateway.Receive).
//
// Without the binaries Start skips the test, or fails it where CI=true
// (CI installs the packages).
package kanneltest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf16"
)

// StartTimeout is how long Kannel may take to come up: bearerbox, smsbox
// and fakesmsc connected. It takes well under a second here.
const StartTimeout = 10 * time.Second

// SMSCID is the smsc-id of the fake SMSC (kannel://…?smsc=fake routes to
// it; it is the only one, so any message goes there).
const SMSCID = "fake"

// Binaries finds bearerbox, smsbox (Debian's kannel) and fakesmsc
// (kannel-extras), or skips the test, or fails it where CI=true.
func Binaries(t testing.TB) (bearerbox, smsbox, fakesmsc string) {
	t.Helper()
	find := func(name string, dirs ...string) string {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
		for _, d := range dirs {
			p := filepath.Join(d, name)
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
				return p
			}
		}
		return ""
	}
	bearerbox = find("bearerbox", "/usr/sbin", "/usr/local/sbin")
	smsbox = find("smsbox", "/usr/sbin", "/usr/local/sbin")
	fakesmsc = find("fakesmsc", "/usr/lib/kannel/test", "/usr/local/lib/kannel/test")
	var missing []string
	for _, b := range []struct{ name, path string }{
		{"bearerbox (Debian package kannel)", bearerbox},
		{"smsbox (kannel)", smsbox},
		{"fakesmsc (kannel-extras)", fakesmsc},
	} {
		if b.path == "" {
			missing = append(missing, b.name)
		}
	}
	if len(missing) > 0 {
		msg := fmt.Sprintf("Kannel is not installed (apt-get install kannel kannel-extras): no %s", strings.Join(missing, ", "))
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return bearerbox, smsbox, fakesmsc
}

// Message is one message fakesmsc received, from its log line
// "Got message N: <sender receiver type data>". A concatenated SMS
// arrives as one Message per part, each of Type "udh".
type Message struct {
	Line             string // as fakesmsc printed it, between the <>
	Sender, Receiver string
	// Type is "text" (7-bit, shown as UTF-8), "ucs-2", "data" or "udh"
	// (a part, its coding not shown).
	Type string
	UDH  []byte // a part's user data header
	// Data is the text: UTF-8 for "text"; UTF-16BE for "ucs-2"; a part's
	// data in its coding for "udh".
	Data []byte
}

// Part reads a concatenation header (UDH 05 00 03 ref total seq): the
// reference all parts of one SMS share, how many parts it has and which
// this is (from 1); ok is false for a message that is no part.
func (m Message) Part() (ref, total, seq int, ok bool) {
	u := m.UDH
	if m.Type != "udh" || len(u) != 6 || u[0] != 5 || u[1] != 0 || u[2] != 3 || u[4] == 0 || u[5] == 0 || u[5] > u[4] {
		return 0, 0, 0, false
	}
	return int(u[3]), int(u[4]), int(u[5]), true
}

var gotMessage = regexp.MustCompile(`Got message \d+: <(.*)>$`)

// Parse reads a fakesmsc line: "sender receiver text TEXT",
// "sender receiver ucs-2 URLENCODED", "sender receiver data URLENCODED"
// or "sender receiver udh URLENCODED data URLENCODED".
func Parse(line string) (Message, error) {
	m := Message{Line: line}
	f := strings.SplitN(line, " ", 4)
	if len(f) != 4 {
		return m, fmt.Errorf("fakesmsc line %q: want sender receiver type data", line)
	}
	m.Sender, m.Receiver, m.Type = f[0], f[1], f[2]
	var err error
	switch m.Type {
	case "text":
		m.Data = []byte(f[3])
	case "ucs-2", "data":
		m.Data, err = unescape(f[3])
	case "udh":
		g := strings.SplitN(f[3], " ", 3)
		if len(g) != 3 || g[1] != "data" {
			return m, fmt.Errorf("fakesmsc line %q: want udh UDH data DATA", line)
		}
		if m.UDH, err = unescape(g[0]); err == nil {
			m.Data, err = unescape(g[2])
		}
	default:
		return m, fmt.Errorf("fakesmsc line %q: type %q", line, m.Type)
	}
	if err != nil {
		return m, fmt.Errorf("fakesmsc line %q: %w", line, err)
	}
	return m, nil
}

// unescape undoes Kannel's octstr_url_encode ("+" for a space).
func unescape(s string) ([]byte, error) {
	u, err := url.QueryUnescape(s)
	return []byte(u), err
}

// Text joins the data of a message's parts, in the order given, and
// decodes it: UTF-16BE when ucs2, else as the fake SMSC passes Kannel's
// 7-bit text (UTF-8).
func Text(parts []Message, ucs2 bool) string {
	var data []byte
	for _, m := range parts {
		data = append(data, m.Data...)
	}
	if !ucs2 {
		return string(data)
	}
	u := make([]uint16, len(data)/2)
	for i := range u {
		u[i] = uint16(data[2*i])<<8 | uint16(data[2*i+1])
	}
	return string(utf16.Decode(u))
}

// Gateway is a running Kannel: bearerbox with a fake SMSC, fakesmsc
// connected to it, and smsbox. Its processes end with the test.
type Gateway struct {
	// Dir holds the configuration and the logs.
	Dir string
	// Config is the configuration bearerbox and smsbox were given.
	Config string
	// SendsmsAddr is smsbox's sendsms interface, host:port.
	SendsmsAddr string
	// User and Pass are the sendsms-user's credentials.
	User, Pass string

	adminURL string
	smsbox   *proc
	received chan Message
}

// proc is a Kannel process the test started.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// startProc starts bin with args, its output to out, and stops it when
// the test ends.
func startProc(t testing.TB, out io.Writer, bin string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	// Should the test binary die, so do the boxes.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", filepath.Base(bin), err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(p.stop)
	return p
}

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop asks the process to shut down (SIGTERM, as Kannel's init script
// does) and kills it if it has not within 5 s.
func (p *proc) stop() {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// freePorts finds n free TCP ports on the loopback.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// config is the configuration bearerbox and smsbox are given. The
// sendsms-user takes messages of 2 parts (lokero's MaxSegments) and
// concatenates them; smsbox retries a delivery report's URL.
const config = `# A test's Kannel: bearerbox with a fake SMSC, one smsbox.
group = core
admin-port = {admin}
admin-interface = 127.0.0.1
admin-password = {adminpass}
admin-allow-ip = 127.0.0.1
smsbox-port = {smsboxport}
smsbox-interface = 127.0.0.1
box-allow-ip = 127.0.0.1
dlr-storage = internal
log-file = "{dir}/bearerbox.log"
log-level = 0
access-log = "{dir}/access.log"

group = smsc
smsc = fake
smsc-id = {smscid}
port = {fakeport}
our-host = 127.0.0.1
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {smsboxport}
sendsms-port = {sendsms}
sendsms-interface = 127.0.0.1
http-request-retry = 3
http-queue-delay = 1
log-file = "{dir}/smsbox.log"
log-level = 0

group = sendsms-user
username = {user}
password = {pass}
max-messages = 2
concatenation = true
`

// Start starts Kannel on free ports with a configuration in a temporary
// directory, and fails the test if it is not up within StartTimeout. It
// skips the test (fails it where CI=true) when Kannel is not installed.
func Start(t testing.TB) *Gateway {
	t.Helper()
	bearerbox, smsbox, fakesmsc := Binaries(t)
	ports := freePorts(t, 4)
	g := &Gateway{
		Dir:         t.TempDir(),
		SendsmsAddr: fmt.Sprintf("127.0.0.1:%d", ports[3]),
		User:        "lokero",
		Pass:        "sendsms-pw",
		adminURL:    fmt.Sprintf("http://127.0.0.1:%d/status.txt?password=adminpw", ports[0]),
		received:    make(chan Message, 1000),
	}
	g.Config = strings.NewReplacer(
		"{admin}", strconv.Itoa(ports[0]), "{adminpass}", "adminpw",
		"{smsboxport}", strconv.Itoa(ports[1]), "{fakeport}", strconv.Itoa(ports[2]),
		"{sendsms}", strconv.Itoa(ports[3]), "{dir}", g.Dir, "{smscid}", SMSCID,
		"{user}", g.User, "{pass}", g.Pass,
	).Replace(config)
	conf := filepath.Join(g.Dir, "kannel.conf")
	if err := os.WriteFile(conf, []byte(g.Config), 0o600); err != nil {
		t.Fatal(err)
	}
	logFile := func(name string) *os.File {
		f, err := os.Create(filepath.Join(g.Dir, name))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}

	deadline := time.Now().Add(StartTimeout)
	failed := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("Kannel did not start within %v: %s\n%s", StartTimeout, fmt.Sprintf(format, args...), g.Logs())
	}
	bb := startProc(t, logFile("bearerbox.out"), bearerbox, "-v", "1", conf)
	for g.Status() == "" {
		if bb.exited() {
			failed("bearerbox exited: %v", bb.err)
		}
		if time.Now().After(deadline) {
			failed("bearerbox's admin port does not answer")
		}
		time.Sleep(20 * time.Millisecond)
	}
	g.smsbox = startProc(t, logFile("smsbox.out"), smsbox, "-v", "1", conf)
	online := regexp.MustCompile(`FAKE:\d+ \(online`)
	var fake *proc
	fakeOut := logFile("fakesmsc.out")
	for tries := 0; ; {
		// fakesmsc connects once and exits if the fake SMSC is not
		// listening yet: start it again until it holds.
		if fake == nil || fake.exited() {
			if tries++; tries > 50 {
				failed("fakesmsc keeps exiting: %v", fake.err)
			}
			fake = g.startFake(t, fakeOut, fakesmsc, ports[2])
		}
		st := g.Status()
		if bb.exited() || g.smsbox.exited() {
			failed("bearerbox (%v) or smsbox (%v) exited", bb.err, g.smsbox.err)
		}
		if strings.Contains(st, "smsbox:") && strings.Contains(st, "on-line") && online.MatchString(st) {
			if c, err := net.DialTimeout("tcp", g.SendsmsAddr, time.Second); err == nil {
				c.Close()
				break
			}
		}
		if time.Now().After(deadline) {
			failed("bearerbox's status:\n%s", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("Kannel up (bearerbox, smsbox, fakesmsc) in %s", g.Dir)
	return g
}

// startFake starts fakesmsc against the fake SMSC's port, sending nothing
// (-m 0), and passes what it receives to g.received.
func (g *Gateway) startFake(t testing.TB, out io.Writer, fakesmsc string, port int) *proc {
	t.Helper()
	pr, pw := io.Pipe()
	p := startProc(t, io.MultiWriter(out, pw), fakesmsc,
		"-H", "127.0.0.1", "-r", strconv.Itoa(port), "-m", "0", "0 0 text unused")
	go func() {
		<-p.done
		pw.Close()
	}()
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			// fakesmsc logs what it receives ("Got message N: <...>") on
			// stderr, at debug level.
			if m := gotMessage.FindStringSubmatch(sc.Text()); m != nil {
				fm, err := Parse(m[1])
				if err != nil {
					fm.Type = "unparsed: " + err.Error()
				}
				g.received <- fm
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	return p
}

// URL is the gateway as lokero's --sms (kannel.New) takes it:
// kannel://user:pass@host:port, with query (e.g. "from=Posti") appended
// when not empty, and the fake SMSC's smsc-id.
func (g *Gateway) URL(query string) string {
	q := "smsc=" + SMSCID
	if query != "" {
		q = query + "&" + q
	}
	return fmt.Sprintf("kannel://%s:%s@%s?%s", url.PathEscape(g.User), url.PathEscape(g.Pass), g.SendsmsAddr, q)
}

// Status is bearerbox's status page (status.txt), "" while it does not
// answer.
func (g *Gateway) Status() string {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get(g.adminURL)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// AccessLog is Kannel's access log: a line per message, naming its
// account ([ACT:…]), sender and receiver.
func (g *Gateway) AccessLog() string {
	b, _ := os.ReadFile(filepath.Join(g.Dir, "access.log"))
	return string(b)
}

// Logs is the end of each log, for a failure message.
func (g *Gateway) Logs() string {
	var b strings.Builder
	for _, name := range []string{"bearerbox.out", "bearerbox.log", "smsbox.out", "smsbox.log", "fakesmsc.out"} {
		data, _ := os.ReadFile(filepath.Join(g.Dir, name))
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		if len(lines) > 25 {
			lines = lines[len(lines)-25:]
		}
		fmt.Fprintf(&b, "--- %s (last lines)\n%s\n", name, strings.Join(lines, "\n"))
	}
	return b.String()
}

// Receive waits up to timeout for n more messages (parts) at fakesmsc
// and returns them in the order they arrived; it fails the test when
// they do not come, or fakesmsc printed a line Parse cannot read.
func (g *Gateway) Receive(t testing.TB, n int, timeout time.Duration) []Message {
	t.Helper()
	var got []Message
	deadline := time.After(timeout)
	for len(got) < n {
		select {
		case m := <-g.received:
			if strings.HasPrefix(m.Type, "unparsed") {
				t.Fatalf("fakesmsc printed %q: %s", m.Line, m.Type)
			}
			got = append(got, m)
		case <-deadline:
			t.Fatalf("fakesmsc got %d of %d messages in %v\n%s", len(got), n, timeout, g.Logs())
		}
	}
	return got
}

// More returns what fakesmsc receives within wait beyond what Receive
// took: nothing, when no message was sent twice.
func (g *Gateway) More(wait time.Duration) []Message {
	var got []Message
	deadline := time.After(wait)
	for {
		select {
		case m := <-g.received:
			got = append(got, m)
		case <-deadline:
			return got
		}
	}
}

// StopSmsbox stops smsbox (SIGTERM), as when the gateway's HTTP side is
// down; bearerbox and fakesmsc keep running.
func (g *Gateway) StopSmsbox() {
	g.smsbox.stop()
}
