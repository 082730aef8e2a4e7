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
// pickup at the centre, a wrong code opens nothing; courier mode takes a
// deposit only after the courier signed in (the token of
// --courier-token-file, or one typed), and the centre has the parcel
// deposited by that courier.
func TestLockerRunConsole(t *testing.T) {
	t.Parallel()
	p := newParcelAtLocker(t)

	if code, _, stderr := runCmd(t, "locker", "run", "--id", demo.DemoLockerID, "--broker", "tcp://"+p.listen); code != 2 || !strings.Contains(stderr, "device token") {
		t.Errorf("locker run without a token: exit %d, %q; want 2 naming the device token", code, stderr)
	}
	courierFile := filepath.Join(p.dir, "courier-token")
	if err := os.WriteFile(courierFile, []byte(p.courier+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "locker", "run", "--id", demo.DemoLockerID, "--broker", "tcp://"+p.listen,
		"--state", filepath.Join(p.dir, "controller.db"), "--courier-token-file", courierFile)
	cmd.Env = append(os.Environ(), "LOKERO_TEST_AS_MAIN=1", "LOKERO_DEVICE_TOKEN="+p.device)
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
	expect := func(say, want string) string {
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
					return l
				}
			case <-deadline:
				t.Fatalf("after %q: no %q within 20 s", say, want)
			}
		}
	}
	expect("", "controller running")
	eventually(t, "the controller connected", func() bool {
		var links struct{ Devices []struct{ Online bool } }
		return call(t, "GET", p.base+"/v1/devices", p.operator, nil, &links) == 200 && len(links.Devices) == 1 && links.Devices[0].Online
	})
	expect("C 00000000000 OK", "wrong code")
	door := strconv.Itoa(p.compartment)
	expect("C "+p.code+" OK", "door "+door+" is open")
	expect("close "+door, "door "+door+" shut")
	expect("bogus", `say "C <code> OK"`)
	eventually(t, "the centre has the parcel picked up", func() bool {
		var sh struct{ Status string }
		return call(t, "GET", p.base+"/v1/shipments/"+p.id, p.key, nil, &sh) == 200 && sh.Status == "PICKED_UP"
	})

	// A courier at the keypad: no deposit before the sign-in.
	id, tracking := emailOnlyParcel(t, p.base, p.key, "pekka@example.fi")
	if status := call(t, "POST", p.base+"/v1/shipments/"+id+"/handover", p.courier, nil, nil); status != 200 {
		t.Fatalf("handover: %d", status)
	}
	expect("deposit "+tracking, "sign in with your courier token first")
	expect("courier lkc_nobody", "unknown courier token")
	expect("deposit "+tracking, "sign in with your courier token first")
	expect("courier", "courier signed in")
	line := expect("deposit "+tracking, "put the parcel in door ")
	door = strings.TrimPrefix(line, "put the parcel in door ")
	expect("close "+door, "door "+door+" shut")
	var sh struct {
		Status string
		Events []struct{ Reason string }
	}
	eventually(t, "the centre has the parcel deposited at the keypad ready", func() bool {
		return call(t, "GET", p.base+"/v1/shipments/"+id, p.key, nil, &sh) == 200 && sh.Status == "READY_FOR_PICKUP"
	})
	noted := false
	for _, e := range sh.Events {
		noted = noted || strings.HasPrefix(e.Reason, "Deposited at the locker's keypad by courier credential courier_")
	}
	if !noted {
		t.Errorf("the parcel's events %+v do not name the courier", sh.Events)
	}
	expect("courier off", "courier signed out")
	expect("deposit "+tracking, "sign in with your courier token first")
	stdin.Close()
	cmd.Process.Signal(os.Interrupt)
}
