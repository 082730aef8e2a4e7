package main

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lokero/lokero/demo"
)

// TestLockerRunConsole runs `lokero locker run` in a child process against
// lokero serve, and says what happens at the locker on its stdin: the
// recipient's code opens the parcel's door, shutting it completes the
// pickup at the centre, a wrong code opens nothing.
func TestLockerRunConsole(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "lokero.db")
	listen := freeAddr(t)
	base := startServe(t, "--db", db, "--dev", "--mqtt-listen", listen)
	key := lastLine(t, "retailer", "add", "--db", db, "Kauppa")
	courier := lastLine(t, "courier", "add", "--db", db, "Kuski")
	operator := lastLine(t, "operator", "add", "--db", db, "Olli")
	device := lastLine(t, "locker", "provision", "--db", db, demo.DemoLockerID)
	id, tracking := emailOnlyParcel(t, base, key, "maija@example.fi")
	compartment := depositAtDemoLocker(t, base, courier, device, id, tracking)
	code := noticeCode(t, base, operator, tracking)

	if code, _, stderr := runCmd(t, "locker", "run", "--id", demo.DemoLockerID, "--broker", "tcp://"+listen); code != 2 || !strings.Contains(stderr, "device token") {
		t.Errorf("locker run without a token: exit %d, %q; want 2 naming the device token", code, stderr)
	}
	cmd := exec.Command(os.Args[0], "locker", "run", "--id", demo.DemoLockerID, "--broker", "tcp://"+listen,
		"--state", filepath.Join(dir, "controller.db"))
	cmd.Env = append(os.Environ(), "LOKERO_TEST_AS_MAIN=1", "LOKERO_DEVICE_TOKEN="+device)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	expect := func(say, want string) {
		t.Helper()
		if say != "" {
			io.WriteString(stdin, say+"\n")
		}
		deadline := time.After(20 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("locker run ended before %q", want)
				}
				if strings.Contains(l, want) {
					return
				}
			case <-deadline:
				t.Fatalf("after %q: no %q within 20 s", say, want)
			}
		}
	}
	expect("", "controller running")
	eventually(t, "the controller connected", func() bool {
		var links struct{ Devices []struct{ Online bool } }
		return call(t, "GET", base+"/v1/devices", operator, nil, &links) == 200 && len(links.Devices) == 1 && links.Devices[0].Online
	})
	expect("C 00000000000 OK", "wrong code")
	expect("C "+code+" OK", "door "+strconv.Itoa(compartment)+" is open")
	expect("close "+strconv.Itoa(compartment), "door "+strconv.Itoa(compartment)+" shut")
	expect("bogus", `say "C <code> OK"`)
	eventually(t, "the centre has the parcel picked up", func() bool {
		var sh struct{ Status string }
		return call(t, "GET", base+"/v1/shipments/"+id, key, nil, &sh) == 200 && sh.Status == "PICKED_UP"
	})
	stdin.Close()
	cmd.Process.Signal(os.Interrupt)
}
