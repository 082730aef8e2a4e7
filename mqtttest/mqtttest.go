// Package mqtttest starts Debian's Mosquitto for tests (and for lokero
// bench peak): a real MQTT broker on two free ports of 127.0.0.1, one for
// the lockers and one for the centre, reading the password and ACL files
// of a directory (as lokero locker provision --mosquitto writes them)
// with the configuration docs/device-protocol.md gives operators (Conf).
// Without mosquitto installed a test skips, or fails where CI=true.
package mqtttest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Mosquitto is a running mosquitto.
type Mosquitto struct {
	// Addr is the lockers' listener (host:port): a locker's client ID
	// there is its username, whatever it asks for.
	Addr string
	// CentreAddr is the centre's listener (host:port): only the users of
	// passwd-centre connect there.
	CentreAddr string
	cmd        *exec.Cmd
	log        *lockedBuffer
	exited     chan struct{} // closed once the process has exited
	waitErr    error         // its exit status, once exited is closed
}

// Path returns the local mosquitto binary's path, or "" when Debian's
// mosquitto is not installed.
func Path() string {
	if p, err := exec.LookPath("mosquitto"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/mosquitto"); err == nil {
		return "/usr/sbin/mosquitto"
	}
	return ""
}

// Find returns the mosquitto binary's path; it skips the test when there
// is none, or fails it where CI=true.
func Find(t testing.TB) string {
	t.Helper()
	if p := Path(); p != "" {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("mosquitto not found (apt-get install mosquitto)")
	}
	t.Skip("mosquitto not found (apt-get install mosquitto)")
	return ""
}

// Start runs mosquitto with dir/passwd (the lockers), dir/passwd-centre
// (the centre) and dir/acl, which must exist, no anonymous access and no
// persistence, until the test ends.
func Start(t testing.TB, dir string) *Mosquitto {
	t.Helper()
	Find(t)
	m, err := Run(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		m.Stop()
		if t.Failed() {
			t.Logf("mosquitto log:\n%s", m.log.String())
		}
	})
	return m
}

// Run is Start outside a test (lokero bench peak): it writes
// dir/mosquitto.conf, starts mosquitto on two free ports of 127.0.0.1
// (Addr, CentreAddr) and waits until both accept connections; Stop ends
// it.
func Run(dir string) (*Mosquitto, error) {
	bin := Path()
	if bin == "" {
		return nil, errors.New("mosquitto not found (apt-get install mosquitto)")
	}
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	// max_queued_messages: a peak's bursts of events queue for the centre
	// beyond the default 1,000.
	conf := Conf(dir, fmt.Sprintf("%d 127.0.0.1", ports[0]), fmt.Sprintf("%d 127.0.0.1", ports[1])) +
		"\npersistence false\nmax_queued_messages 100000\nlog_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\nlog_type information\n"
	if os.Geteuid() == 0 {
		// As root, mosquitto would switch to user mosquitto, which cannot
		// read the caller's files.
		conf += "user root\n"
	}
	confFile := filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	m := &Mosquitto{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0])), CentreAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1])),
		log: &lockedBuffer{}, exited: make(chan struct{})}
	m.cmd = exec.Command(bin, "-c", confFile)
	m.cmd.Stdout, m.cmd.Stderr = m.log, m.log
	if err := m.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start mosquitto: %w", err)
	}
	go func() {
		m.waitErr = m.cmd.Wait()
		close(m.exited)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := dialBoth(m.Addr, m.CentreAddr)
		if err == nil {
			return m, nil
		}
		select {
		case <-m.exited:
			return nil, fmt.Errorf("mosquitto exited: %v\n%s", m.waitErr, m.log.String())
		default:
		}
		if time.Now().After(deadline) {
			m.Stop()
			return nil, fmt.Errorf("mosquitto not accepting on %s: %v\n%s", m.Addr, err, m.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Conf is the part of a mosquitto.conf (Mosquitto 2.0) that serves
// lokero with the files of dir: the lockers on one listener, the centre
// on another, each listener given as mosquitto.conf's "listener" takes it
// ("1883" or "1883 10.0.0.5"). On the lockers' a client's ID is its
// username, which is its location ID (use_username_as_clientid), so no
// locker takes over another's connection or persistent session; the
// centre's reads only passwd-centre, so no locker's credential connects
// there with a client ID of its choosing. docs/device-protocol.md gives
// operators the same lines.
func Conf(dir, lockers, centre string) string {
	return fmt.Sprintf(`per_listener_settings true

# The lockers: a locker's client ID is its username, its location ID.
listener %s
allow_anonymous false
use_username_as_clientid true
password_file %s
acl_file %s

# The centre (lokero serve --mqtt): its own password file.
listener %s
allow_anonymous false
password_file %s
acl_file %s
`, lockers, filepath.Join(dir, "passwd"), filepath.Join(dir, "acl"), centre, filepath.Join(dir, "passwd-centre"), filepath.Join(dir, "acl"))
}

// freePorts returns n ports of 127.0.0.1 free a moment ago.
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer ln.Close()
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// dialBoth connects to each address once.
func dialBoth(addrs ...string) error {
	for _, a := range addrs {
		c, err := net.DialTimeout("tcp", a, time.Second)
		if err != nil {
			return err
		}
		c.Close()
	}
	return nil
}

// Stop kills mosquitto and waits for it to be gone.
func (m *Mosquitto) Stop() {
	_ = m.cmd.Process.Kill()
	<-m.exited
}

// Reload has mosquitto read its password and ACL files again (SIGHUP)
// and waits until it has (its log says so).
func (m *Mosquitto) Reload(t testing.TB) {
	t.Helper()
	if err := m.ReloadFiles(); err != nil {
		t.Fatal(err)
	}
}

// ReloadFiles is Reload outside a test.
func (m *Mosquitto) ReloadFiles() error {
	before := strings.Count(m.log.String(), "Reloading config")
	if err := m.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		return fmt.Errorf("SIGHUP mosquitto: %w", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(m.log.String(), "Reloading config") == before {
		if time.Now().After(deadline) {
			return fmt.Errorf("mosquitto did not reload within 10 s:\n%s", m.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The reload is logged as it begins: give it a moment to finish.
	time.Sleep(100 * time.Millisecond)
	return nil
}

// Log returns what mosquitto logged so far.
func (m *Mosquitto) Log() string { return m.log.String() }

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
