package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/lokero/lokero/mqtttest"
)

// With --instances N the peak runs as an operator runs many instances:
// N `lokero serve` processes on one PostgreSQL database and one Mosquitto,
// each with the centre's credentials (sharing the lockers' events), the
// bench's requests spread over them in turn and its controllers connected
// to Mosquitto with the credentials `lokero locker provision --mosquitto`
// writes.

// startPeakMosquitto gives the centre's user a password in dir, starts
// Mosquitto with dir's password file and ACL (mqtttest.Run: no anonymous
// access, no persistence) and returns it with the centre's password.
func startPeakMosquitto(dir string) (m *mqtttest.Mosquitto, centrePass string, err error) {
	if mqtttest.Path() == "" {
		return nil, "", errors.New("bench peak: --instances needs Mosquitto, which is not installed (apt-get install mosquitto)")
	}
	var out strings.Builder
	if err := provisionMosquittoCentre(dir, &out); err != nil {
		return nil, "", fmt.Errorf("bench peak: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if m, err = mqtttest.Run(dir); err != nil {
		return nil, "", fmt.Errorf("bench peak: %w", err)
	}
	return m, lines[len(lines)-1], nil
}

// provisionPeakLockers writes each locker's password (its device token)
// into dir and has Mosquitto read the files again.
func provisionPeakLockers(m *mqtttest.Mosquitto, dir string, lockers []*simLocker) error {
	for _, l := range lockers {
		if err := provisionMosquittoLocker(dir, l.id, l.token, io.Discard); err != nil {
			return fmt.Errorf("bench peak: %w", err)
		}
	}
	if err := m.ReloadFiles(); err != nil {
		return fmt.Errorf("bench peak: %w", err)
	}
	return nil
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
	for i, in := range instances {
		if err := waitServing(ctx, in.base, in.exited, in.log, fmt.Sprintf("instance %d", i+1)); err != nil {
			stop()
			return nil, nil, err
		}
	}
	return instances, stop, nil
}

// waitServing waits until the server at base answers /healthz: an error
// when exited closes first (with the server's log), when ctx ends, or
// after a minute.
func waitServing(ctx context.Context, base string, exited <-chan struct{}, log *syncBuffer, name string) error {
	client := &http.Client{Timeout: 2 * time.Second}
	for start := time.Now(); ; {
		if resp, err := client.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return fmt.Errorf("bench peak: %s exited: %s", name, log.String())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Since(start) > time.Minute {
			return fmt.Errorf("bench peak: %s did not answer within a minute: %s", name, log.String())
		}
	}
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
	return statCPU(procStat(pid), children)
}

// procStat returns the fields of /proc/PID/stat after the command's name
// (which ends with the last ')'): state first, the parent's pid second,
// utime 12th; nil where it cannot be read. pid 0 is this process.
func procStat(pid int) []string {
	path := "/proc/self/stat"
	if pid != 0 {
		path = "/proc/" + strconv.Itoa(pid) + "/stat"
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	i := strings.LastIndexByte(string(raw), ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(raw[i+1:]))
}

// statCPU is the CPU time in procStat's fields: utime and stime (fields
// 14 and 15 of the file), with children cutime and cstime (16 and 17).
func statCPU(f []string, children bool) time.Duration {
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
	parent := strconv.Itoa(pid)
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if f := procStat(child); len(f) > 1 && f[1] == parent {
			total += statCPU(f, false)
		}
	}
	return total
}
