// Package mqtttest starts Debian's Mosquitto for tests: a real MQTT broker
// on a free port of 127.0.0.1, reading the password and ACL files of a
// directory (as lokero locker provision --mosquitto writes them). Without
// mosquitto installed a test skips, or fails where CI=true.
package mqtttest

import (
	"bytes"
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
	Addr string // host:port it listens on
	cmd  *exec.Cmd
	log  *lockedBuffer
}

// Find returns the mosquitto binary's path; it skips the test when there
// is none, or fails it where CI=true.
func Find(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("mosquitto"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/mosquitto"); err == nil {
		return "/usr/sbin/mosquitto"
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("mosquitto not found (apt-get install mosquitto)")
	}
	t.Skip("mosquitto not found (apt-get install mosquitto)")
	return ""
}

// Start runs mosquitto with dir/passwd and dir/acl (both must exist), no
// anonymous access and no persistence, until the test ends.
func Start(t testing.TB, dir string) *Mosquitto {
	t.Helper()
	bin := Find(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	conf := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous false\npassword_file %s\nacl_file %s\npersistence false\n"+
		"log_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\nlog_type information\n",
		port, filepath.Join(dir, "passwd"), filepath.Join(dir, "acl"))
	if os.Geteuid() == 0 {
		// As root, mosquitto would switch to user mosquitto, which cannot
		// read the test's files.
		conf += "user root\n"
	}
	confFile := filepath.Join(t.TempDir(), "mosquitto.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	m := &Mosquitto{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), log: &lockedBuffer{}}
	m.cmd = exec.Command(bin, "-c", confFile)
	m.cmd.Stdout, m.cmd.Stderr = m.log, m.log
	if err := m.cmd.Start(); err != nil {
		t.Fatalf("start mosquitto: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- m.cmd.Wait() }()
	t.Cleanup(func() {
		_ = m.cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("mosquitto log:\n%s", m.log.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", m.Addr, time.Second)
		if err == nil {
			c.Close()
			return m
		}
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("mosquitto exited: %v\n%s", err, m.log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("mosquitto not accepting on %s: %v\n%s", m.Addr, err, m.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Reload has mosquitto read its password and ACL files again (SIGHUP)
// and waits until it has (its log says so).
func (m *Mosquitto) Reload(t testing.TB) {
	t.Helper()
	before := strings.Count(m.log.String(), "Reloading config")
	if err := m.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatalf("SIGHUP mosquitto: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(m.log.String(), "Reloading config") == before {
		if time.Now().After(deadline) {
			t.Fatalf("mosquitto did not reload within 10 s:\n%s", m.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The reload is logged as it begins: give it a moment to finish.
	time.Sleep(100 * time.Millisecond)
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
