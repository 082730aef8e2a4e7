package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// With --instances N the peak runs as an operator runs many instances:
// N `lokero serve` processes on one PostgreSQL database and one Mosquitto,
// each with the centre's credentials (sharing the lockers' events), the
// bench's requests spread over them in turn and its controllers connected
// to Mosquitto with the credentials `lokero locker provision --mosquitto`
// writes.

// peakMosquitto is the Mosquitto a many-instance peak runs on: started
// from the local install with a password file and the ACL in dir.
type peakMosquitto struct {
	dir, addr string
	cmd       *exec.Cmd
	log       *syncBuffer
	exited    chan struct{}
}

// findMosquitto returns the path of the local mosquitto, or an error
// that says how to install it.
func findMosquitto() (string, error) {
	if p, err := exec.LookPath("mosquitto"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/sbin/mosquitto"); err == nil {
		return "/usr/sbin/mosquitto", nil
	}
	return "", fmt.Errorf("bench peak: --instances needs Mosquitto, which is not installed (apt-get install mosquitto)")
}

// startPeakMosquitto gives the centre's user a password in dir, starts
// Mosquitto on a free loopback port with dir's password file and ACL (no
// anonymous access, no persistence) and returns it with the centre's
// password.
func startPeakMosquitto(ctx context.Context, dir string) (m *peakMosquitto, centrePass string, err error) {
	bin, err := findMosquitto()
	if err != nil {
		return nil, "", err
	}
	var out strings.Builder
	if err := provisionMosquittoCentre(dir, &out); err != nil {
		return nil, "", fmt.Errorf("bench peak: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	centrePass = lines[len(lines)-1]
	addr, err := freeLoopback()
	if err != nil {
		return nil, "", err
	}
	_, port, _ := net.SplitHostPort(addr)
	conf := fmt.Sprintf("listener %s 127.0.0.1\nallow_anonymous false\npassword_file %s\nacl_file %s\npersistence false\n"+
		"max_queued_messages 100000\nlog_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\nlog_type information\n",
		port, filepath.Join(dir, "passwd"), filepath.Join(dir, "acl"))
	if os.Geteuid() == 0 {
		// As root, mosquitto would switch to user mosquitto, which cannot
		// read the bench's files.
		conf += "user root\n"
	}
	confFile := filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
		return nil, "", err
	}
	m = &peakMosquitto{dir: dir, addr: addr, log: &syncBuffer{}, exited: make(chan struct{})}
	m.cmd = exec.Command(bin, "-c", confFile)
	m.cmd.Stdout, m.cmd.Stderr = m.log, m.log
	if err := m.cmd.Start(); err != nil {
		return nil, "", fmt.Errorf("bench peak: start mosquitto: %w", err)
	}
	go func() {
		m.cmd.Wait()
		close(m.exited)
	}()
	for start := time.Now(); ; {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return m, centrePass, nil
		}
		select {
		case <-m.exited:
			return nil, "", fmt.Errorf("bench peak: mosquitto exited: %s", m.log.String())
		case <-ctx.Done():
			m.stop()
			return nil, "", ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Since(start) > 10*time.Second {
			m.stop()
			return nil, "", fmt.Errorf("bench peak: mosquitto not accepting on %s within 10 s: %s", addr, m.log.String())
		}
	}
}

// provision writes each locker's password (its device token) and has
// Mosquitto read the file again.
func (m *peakMosquitto) provision(lockers []*simLocker) error {
	for _, l := range lockers {
		if err := provisionMosquittoLocker(m.dir, l.id, l.token, io.Discard); err != nil {
			return fmt.Errorf("bench peak: %w", err)
		}
	}
	before := strings.Count(m.log.String(), "Reloading config")
	if err := m.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		return fmt.Errorf("bench peak: SIGHUP mosquitto: %w", err)
	}
	for start := time.Now(); strings.Count(m.log.String(), "Reloading config") == before; time.Sleep(20 * time.Millisecond) {
		if time.Since(start) > 10*time.Second {
			return fmt.Errorf("bench peak: mosquitto did not reload within 10 s: %s", m.log.String())
		}
	}
	// The reload is logged as it begins.
	time.Sleep(200 * time.Millisecond)
	return nil
}

func (m *peakMosquitto) stop() {
	m.cmd.Process.Kill()
	<-m.exited
}

// peakInstance is one `lokero serve` in a process of its own.
type peakInstance struct {
	base   string
	cmd    *exec.Cmd
	log    *syncBuffer
	exited chan struct{}
}

// startPeakInstances starts n `lokero serve` processes (this executable)
// on db with args, each on a free loopback port, and waits until each
// answers /healthz. stop ends them.
func startPeakInstances(ctx context.Context, n int, args []string) (instances []*peakInstance, stop func(), err error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, nil, fmt.Errorf("bench peak: %w", err)
	}
	stop = func() {
		for _, in := range instances {
			in.cmd.Process.Signal(syscall.SIGTERM)
		}
		for _, in := range instances {
			select {
			case <-in.exited:
			case <-time.After(20 * time.Second):
				in.cmd.Process.Kill()
				<-in.exited
			}
		}
	}
	for i := range n {
		addr, err := freeLoopback()
		if err != nil {
			stop()
			return nil, nil, err
		}
		in := &peakInstance{base: "http://" + addr, log: &syncBuffer{}, exited: make(chan struct{})}
		in.cmd = exec.Command(exe, append([]string{"serve", "--addr", addr,
			"--mail-from", fmt.Sprintf("lokero instance %d <noreply-%d@lokero.test>", i+1, i+1)}, args...)...)
		// A test binary runs as lokero with this set; lokero ignores it.
		in.cmd.Env = append(os.Environ(), "LOKERO_TEST_AS_MAIN=1")
		in.cmd.Stdout, in.cmd.Stderr = io.Discard, in.log
		if err := in.cmd.Start(); err != nil {
			stop()
			return nil, nil, fmt.Errorf("bench peak: start instance %d: %w", i+1, err)
		}
		go func() {
			in.cmd.Wait()
			close(in.exited)
		}()
		instances = append(instances, in)
	}
	client := &http.Client{Timeout: 2 * time.Second}
	for i, in := range instances {
		for start := time.Now(); ; {
			if resp, err := client.Get(in.base + "/healthz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			select {
			case <-in.exited:
				stop()
				return nil, nil, fmt.Errorf("bench peak: instance %d exited: %s", i+1, in.log.String())
			case <-ctx.Done():
				stop()
				return nil, nil, ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
			if time.Since(start) > time.Minute {
				stop()
				return nil, nil, fmt.Errorf("bench peak: instance %d did not answer within a minute: %s", i+1, in.log.String())
			}
		}
	}
	return instances, stop, nil
}

// freeLoopback returns a loopback address with a port free now.
func freeLoopback() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// procMemoryOf returns a process's resident memory now and at its peak
// (VmRSS, VmHWM), in bytes; 0 where /proc is not there.
func procMemoryOf(pid int) (rss, hwm int64) {
	return readProcMemory("/proc/" + strconv.Itoa(pid) + "/status")
}

// procCPU returns the CPU time (user and system) a process has used, and
// with children also that of its children it has waited for: from
// /proc/PID/stat, 0 where it cannot be read. pid 0 is this process.
func procCPU(pid int, children bool) time.Duration {
	path := "/proc/self/stat"
	if pid != 0 {
		path = "/proc/" + strconv.Itoa(pid) + "/stat"
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	// The fields after the command's name, which ends with the last ')':
	// state is field 3, utime 14, stime 15, cutime 16, cstime 17.
	i := strings.LastIndexByte(string(raw), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(raw[i+1:]))
	if len(f) < 15 {
		return 0
	}
	last := 12
	if children {
		last = 14
	}
	var ticks int64
	for _, v := range f[11 : last+1] {
		n, _ := strconv.ParseInt(v, 10, 64)
		ticks += n
	}
	// /proc counts in USER_HZ, 100 a second on Linux.
	return time.Duration(ticks) * (time.Second / 100)
}

// procTreeCPU is the CPU time of a process, of the children it has
// waited for and of its children running now (PostgreSQL's postmaster
// and its backends).
func procTreeCPU(pid int) time.Duration {
	total := procCPU(pid, true)
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		i := strings.LastIndexByte(string(raw), ')')
		if i < 0 {
			continue
		}
		if f := strings.Fields(string(raw[i+1:])); len(f) > 1 && f[1] == strconv.Itoa(pid) {
			total += procCPU(child, false)
		}
	}
	return total
}
