//go:build linux

package kannel

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
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

	"github.com/lokero/lokero/notify"
)

// startTimeout is how long Kannel may take to come up: bearerbox, smsbox
// and fakesmsc connected. It takes well under a second here.
const startTimeout = 10 * time.Second

// kannelBinaries finds bearerbox, smsbox (Debian's kannel) and fakesmsc
// (kannel-extras), or skips the test, or fails it where CI=true.
func kannelBinaries(t *testing.T) (bearerbox, smsbox, fakesmsc string) {
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
	for name, p := range map[string]string{"bearerbox (Debian package kannel)": bearerbox, "smsbox (kannel)": smsbox, "fakesmsc (kannel-extras)": fakesmsc} {
		if p == "" {
			missing = append(missing, name)
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

// proc is a Kannel process the test started; stop ends it.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// startProc starts bin with args, its output to out, and stops it when
// the test ends.
func startProc(t *testing.T, name string, out io.Writer, bin string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	// Should the test binary die, so do the boxes.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
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

// fakeMsg is one message fakesmsc received, from its log line
// "Got message N: <sender receiver type data>".
type fakeMsg struct {
	line             string // as fakesmsc printed it
	sender, receiver string
	typ              string // "text" (7-bit, shown as UTF-8), "ucs-2", or "udh" (a part)
	udh              []byte // a part's user data header
	data             []byte // text: UTF-8; ucs-2: UTF-16BE; udh: the part's data in its coding
}

var gotMessage = regexp.MustCompile(`Got message \d+: <(.*)>$`)

// parseFake reads a fakesmsc line: "sender receiver text TEXT",
// "sender receiver ucs-2 URLENCODED", or
// "sender receiver udh URLENCODED data URLENCODED".
func parseFake(line string) (fakeMsg, error) {
	m := fakeMsg{line: line}
	f := strings.SplitN(line, " ", 4)
	if len(f) != 4 {
		return m, fmt.Errorf("fakesmsc line %q: want sender receiver type data", line)
	}
	m.sender, m.receiver, m.typ = f[0], f[1], f[2]
	var err error
	switch m.typ {
	case "text":
		m.data = []byte(f[3])
	case "ucs-2", "data":
		m.data, err = unescape(f[3])
	case "udh":
		g := strings.SplitN(f[3], " ", 3)
		if len(g) != 3 || g[1] != "data" {
			return m, fmt.Errorf("fakesmsc line %q: want udh UDH data DATA", line)
		}
		if m.udh, err = unescape(g[0]); err == nil {
			m.data, err = unescape(g[2])
		}
	default:
		return m, fmt.Errorf("fakesmsc line %q: type %q", line, m.typ)
	}
	return m, err
}

// unescape undoes Kannel's octstr_url_encode ("+" for a space).
func unescape(s string) ([]byte, error) {
	u, err := url.QueryUnescape(s)
	return []byte(u), err
}

// gateway is a running Kannel: bearerbox with a fake SMSC, fakesmsc
// connected to it, and smsbox.
type gateway struct {
	dir         string
	config      string
	sendsmsAddr string
	adminURL    string
	user, pass  string
	smsbox      *proc
	received    chan fakeMsg
}

// freePorts finds n free TCP ports on the loopback.
func freePorts(t *testing.T, n int) []int {
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

// kannelConfig is the configuration the test gives bearerbox and smsbox.
const kannelConfig = `# lokero's test Kannel: bearerbox with a fake SMSC, one smsbox.
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
smsc-id = fake
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

// startKannel starts Kannel on free ports with a configuration in a
// temporary directory, and fails the test if it is not up within
// startTimeout.
func startKannel(t *testing.T) *gateway {
	t.Helper()
	bearerbox, smsbox, fakesmsc := kannelBinaries(t)
	ports := freePorts(t, 4)
	g := &gateway{
		dir:         t.TempDir(),
		sendsmsAddr: fmt.Sprintf("127.0.0.1:%d", ports[3]),
		adminURL:    fmt.Sprintf("http://127.0.0.1:%d/status.txt?password=adminpw", ports[0]),
		user:        "lokero",
		pass:        "sendsms-pw",
		received:    make(chan fakeMsg, 100),
	}
	g.config = strings.NewReplacer(
		"{admin}", strconv.Itoa(ports[0]), "{adminpass}", "adminpw",
		"{smsboxport}", strconv.Itoa(ports[1]), "{fakeport}", strconv.Itoa(ports[2]),
		"{sendsms}", strconv.Itoa(ports[3]), "{dir}", g.dir,
		"{user}", g.user, "{pass}", g.pass,
	).Replace(kannelConfig)
	conf := filepath.Join(g.dir, "kannel.conf")
	if err := os.WriteFile(conf, []byte(g.config), 0o600); err != nil {
		t.Fatal(err)
	}
	logFile := func(name string) *os.File {
		f, err := os.Create(filepath.Join(g.dir, name))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}

	deadline := time.Now().Add(startTimeout)
	failed := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("Kannel did not start within %v: %s\n%s", startTimeout, fmt.Sprintf(format, args...), g.logs())
	}
	bb := startProc(t, "bearerbox", logFile("bearerbox.out"), bearerbox, "-v", "1", conf)
	for g.status() == "" {
		if bb.exited() {
			failed("bearerbox exited: %v", bb.err)
		}
		if time.Now().After(deadline) {
			failed("bearerbox's admin port does not answer")
		}
		time.Sleep(20 * time.Millisecond)
	}
	g.smsbox = startProc(t, "smsbox", logFile("smsbox.out"), smsbox, "-v", "1", conf)
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
		st := g.status()
		if bb.exited() || g.smsbox.exited() {
			failed("bearerbox (%v) or smsbox (%v) exited", bb.err, g.smsbox.err)
		}
		if strings.Contains(st, "smsbox:") && strings.Contains(st, "on-line") &&
			regexp.MustCompile(`FAKE:\d+ \(online`).MatchString(st) {
			if c, err := net.DialTimeout("tcp", g.sendsmsAddr, time.Second); err == nil {
				c.Close()
				break
			}
		}
		if time.Now().After(deadline) {
			failed("bearerbox's status:\n%s", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("Kannel up (bearerbox, smsbox, fakesmsc) in %s", g.dir)
	return g
}

// startFake starts fakesmsc against the fake SMSC's port, sending nothing
// (-m 0), and passes what it receives to g.received.
func (g *gateway) startFake(t *testing.T, out io.Writer, fakesmsc string, port int) *proc {
	t.Helper()
	pr, pw := io.Pipe()
	p := startProc(t, "fakesmsc", io.MultiWriter(out, pw), fakesmsc,
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
				fm, err := parseFake(m[1])
				if err != nil {
					fm.typ = "unparsed: " + err.Error()
				}
				g.received <- fm
			}
		}
		io.Copy(io.Discard, pr)
	}()
	return p
}

// status is bearerbox's status page, "" while it does not answer.
func (g *gateway) status() string {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get(g.adminURL)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// logs is the end of each log, for a failure message.
func (g *gateway) logs() string {
	var b strings.Builder
	for _, name := range []string{"bearerbox.out", "bearerbox.log", "smsbox.out", "smsbox.log", "fakesmsc.out"} {
		data, _ := os.ReadFile(filepath.Join(g.dir, name))
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		if len(lines) > 25 {
			lines = lines[len(lines)-25:]
		}
		fmt.Fprintf(&b, "--- %s (last lines)\n%s\n", name, strings.Join(lines, "\n"))
	}
	return b.String()
}

// receive waits for n messages at fakesmsc.
func (g *gateway) receive(t *testing.T, n int) []fakeMsg {
	t.Helper()
	var got []fakeMsg
	timeout := time.After(10 * time.Second)
	for len(got) < n {
		select {
		case m := <-g.received:
			if strings.HasPrefix(m.typ, "unparsed") {
				t.Fatalf("fakesmsc printed %q: %s", m.line, m.typ)
			}
			got = append(got, m)
		case <-timeout:
			t.Fatalf("fakesmsc got %d of %d messages in 10 s\n%s", len(got), n, g.logs())
		}
	}
	return got
}

// decode is the text of a received message, decoded by coding.
func decode(data []byte, coding string) string {
	if coding == CodingUCS2 {
		u := make([]uint16, len(data)/2)
		for i := range u {
			u[i] = uint16(data[2*i])<<8 | uint16(data[2*i+1])
		}
		return string(utf16.Decode(u))
	}
	return string(data) // Kannel's 7-bit text, as fake SMSC passes it: UTF-8
}

// TestKannelEndToEnd sends through a real smsbox and bearerbox to
// fakesmsc and reads what the SMSC got, and the delivery reports smsbox
// calls back with.
func TestKannelEndToEnd(t *testing.T) {
	t.Parallel()
	g := startKannel(t)

	type report struct {
		q      url.Values
		status int
		text   string
		err    error
	}
	dlrs := make(chan report, 64)
	dlrSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status, text, err := ParseDLR(r.URL.Query())
		dlrs <- report{r.URL.Query(), status, text, err}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(dlrSrv.Close)
	dlr := func(id int64) string {
		// lokero's signed callback; the escaped "/" in the signature must
		// come back as it went (Send doubles the %).
		return fmt.Sprintf("%s/v1/sms/dlr?id=%d&sig=k%%2Fq", dlrSrv.URL, id)
	}
	s, err := New(fmt.Sprintf("kannel://%s:%s@%s?from=Posti&smsc=fake", g.user, g.pass, g.sendsmsAddr), dlr)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	tests := []struct {
		name   string
		id     int64
		to     string
		text   string
		e164   string
		coding string
		parts  int
	}{
		{"Finnish arrival", 101, "040 123 4567", fiArrival, "+358401234567", CodingGSM7, 1},
		{"Swedish arrival", 102, "+46 70 123 45 67", svArrival, "+46701234567", CodingGSM7, 1},
		{"Finnish reminder", 103, "050 765 4321", fiReminder, "+358507654321", CodingGSM7, 2},
		{"Polish name", 104, "0401234567", plArrival, "+358401234567", CodingUCS2, 2},
		{"emoji", 105, "0401234567", "Paketti odottaa 📦 Itäkeskus", "+358401234567", CodingUCS2, 1},
	}
	for _, tc := range tests {
		coding, segs := Segments(tc.text)
		if coding != tc.coding || segs != tc.parts {
			t.Fatalf("%s: Segments = %s, %d; want %s, %d", tc.name, coding, segs, tc.coding, tc.parts)
		}
		id, err := s.Send(ctx, notify.Message{ID: tc.id, Channel: notify.ChannelSMS, To: tc.to, Text: tc.text, Language: "fi"})
		if err != nil {
			t.Fatalf("%s: Send: %v\n%s", tc.name, err, g.logs())
		}
		if id != ProviderID(tc.id) {
			t.Errorf("%s: provider id %q", tc.name, id)
		}
		got := g.receive(t, tc.parts)
		var data []byte
		for i, m := range got {
			t.Logf("%s: fakesmsc got <%s>", tc.name, m.line)
			if m.sender != "Posti" || m.receiver != tc.e164 {
				t.Errorf("%s: from %q to %q, want Posti to %s", tc.name, m.sender, m.receiver, tc.e164)
			}
			switch {
			case tc.parts == 1 && tc.coding == CodingGSM7 && m.typ != "text",
				tc.parts == 1 && tc.coding == CodingUCS2 && m.typ != "ucs-2":
				t.Errorf("%s: fakesmsc got a %q message, want %s", tc.name, m.typ, tc.coding)
			case tc.parts > 1:
				// A part: UDH 05 00 03 ref total seq, the same ref in every part.
				if m.typ != "udh" || len(m.udh) != 6 || m.udh[0] != 5 || m.udh[1] != 0 || m.udh[2] != 3 ||
					int(m.udh[4]) != tc.parts || int(m.udh[5]) != i+1 || m.udh[3] != got[0].udh[3] {
					t.Errorf("%s: part %d: %s UDH % x, want a concatenation header %d of %d", tc.name, i+1, m.typ, m.udh, i+1, tc.parts)
				}
			}
			data = append(data, m.data...)
		}
		if text := decode(data, tc.coding); text != tc.text {
			t.Errorf("%s: fakesmsc got %q decoded as %s, want %q", tc.name, text, tc.coding, tc.text)
		}
	}

	// Delivery reports: smsbox calls the dlr-url with 8 (the fake SMSC
	// took the message) and 1 (fake SMSC reports every message delivered).
	seen := map[int64]map[int]int{}
	want := func() bool {
		for _, tc := range tests {
			if seen[tc.id][DLRSubmitted] == 0 || seen[tc.id][DLRDelivered] == 0 {
				return false
			}
		}
		return true
	}
	timeout := time.After(10 * time.Second)
	for !want() {
		select {
		case r := <-dlrs:
			if r.err != nil {
				t.Fatalf("ParseDLR(%s): %v", r.q.Encode(), r.err)
			}
			if sig := r.q.Get("sig"); sig != "k/q" {
				t.Errorf("dlr-url came back with sig %q, want k/q", sig)
			}
			id, _ := strconv.ParseInt(r.q.Get("id"), 10, 64)
			if seen[id] == nil {
				seen[id] = map[int]int{}
			}
			seen[id][r.status]++
			t.Logf("DLR for message %d: status %d %q", id, r.status, r.text)
			if r.status == DLRSubmitted && r.text != "ACK/" {
				t.Errorf("DLR 8 for message %d: answer %q, want ACK/", id, r.text)
			}
		case <-timeout:
			t.Fatalf("delivery reports in 10 s: %v, want 8 and 1 for each of %d messages\n%s", seen, len(tests), g.logs())
		}
	}
	// Any more reports (one per part of a concatenated message?) arrive
	// at once; what came is logged for the service's author.
	for drain := time.After(500 * time.Millisecond); ; {
		select {
		case r := <-dlrs:
			id, _ := strconv.ParseInt(r.q.Get("id"), 10, 64)
			seen[id][r.status]++
			continue
		case <-drain:
		}
		break
	}
	t.Logf("delivery reports by message and status: %v", seen)
	// Kannel's access log names each message by its account, lokero's id.
	alog, _ := os.ReadFile(filepath.Join(g.dir, "access.log"))
	for _, tc := range tests {
		if !strings.Contains(string(alog), "[ACT:"+ProviderID(tc.id)+"]") {
			t.Errorf("access log has no [ACT:%s]:\n%s", ProviderID(tc.id), alog)
		}
	}

	// Kannel's own refusal of a wrong password is permanent.
	bad, err := New(fmt.Sprintf("kannel://%s:wrong@%s", g.user, g.sendsmsAddr), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Send(ctx, notify.Message{ID: 200, To: "0401234567", Text: "Moi"}); err == nil || !notify.IsPermanent(err) ||
		!strings.Contains(err.Error(), "Authorization failed") {
		t.Errorf("wrong password: %v, want a permanent error quoting Kannel's 403", err)
	}

	// smsbox down: the message stays for a retry.
	g.smsbox.stop()
	if _, err := s.Send(ctx, notify.Message{ID: 201, To: "0401234567", Text: "Moi"}); err == nil || notify.IsPermanent(err) {
		t.Errorf("smsbox down: %v, want a transient error", err)
	}
	select {
	case m := <-g.received:
		t.Errorf("fakesmsc got %q after the tests", m.line)
	default:
	}
	t.Logf("Kannel configuration:\n%s", g.config)
}
