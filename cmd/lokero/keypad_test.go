package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/lokero/lokero/demo"
)

// ansiControl matches the terminal's control sequences (CSI, OSC and
// character set selections) and carriage returns.
var ansiControl = regexp.MustCompile(`\x1b\[[0-9;?<=>]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>78]|\r`)

// ptyOutput collects what a program writes to its pseudo-terminal.
type ptyOutput struct {
	buf  syncBuffer
	seen int // how far, in the text without control sequences, waitFor has read
}

// text is the output so far without its control sequences.
func (o *ptyOutput) text() string { return ansiControl.ReplaceAllString(o.buf.String(), "") }

// waitFor waits up to 20 s for the output after what it read before to
// match re, and returns the match; it reads past it.
func (o *ptyOutput) waitFor(t *testing.T, re *regexp.Regexp, what string) []string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		text := o.text()
		if loc := re.FindStringSubmatchIndex(text[o.seen:]); loc != nil {
			var m []string
			for i := 0; i < len(loc); i += 2 {
				if loc[i] < 0 {
					m = append(m, "")
					continue
				}
				m = append(m, text[o.seen+loc[i]:o.seen+loc[i+1]])
			}
			o.seen += loc[1]
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within 20 s: %s (/%s/); the screen so far:\n%s", what, re, text)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestKeypadOnTerminal runs `lokero locker run --keypad` in a child
// process on a pseudo-terminal, against lokero serve and its embedded
// broker: a parcel deposited at the demo locker (its door reported shut
// through the device's HTTP endpoint), the recipient types C, the code
// of the notice and OK, and the screen shows the parcel's door open; a
// wrong code shows "Wrong code"; ctrl+c ends the program with 0.
func TestKeypadOnTerminal(t *testing.T) {
	t.Parallel()
	p := newParcelAtLocker(t)

	tokenFile := filepath.Join(p.dir, "token")
	if err := os.WriteFile(tokenFile, []byte(p.device+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(p.dir, "controller.db")
	cmd := exec.Command(os.Args[0], "locker", "run", "--keypad", "--id", demo.DemoLockerID,
		"--broker", "tcp://"+p.listen, "--token-file", tokenFile, "--state", state)
	cmd.Env = append(os.Environ(), "LOKERO_TEST_AS_MAIN=1", "TERM=xterm-256color")
	term, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 120})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { term.Close() })
	var waitErr error
	exited := make(chan struct{})
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			cmd.Process.Kill()
			<-exited
		}
	})
	var out ptyOutput
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := term.Read(buf)
			out.buf.Write(buf[:n])
			if err != nil {
				return // EIO once the child is gone
			}
		}
	}()
	type_ := func(s string) {
		t.Helper()
		if _, err := term.Write([]byte(s)); err != nil {
			t.Fatalf("type %q: %v", s, err)
		}
	}
	logOnFailure := func() {
		if t.Failed() {
			raw, _ := os.ReadFile(state + ".log")
			t.Logf("the controller's log:\n%s", raw)
		}
	}
	defer logOnFailure()

	out.waitFor(t, regexp.MustCompile(`locker `+regexp.QuoteMeta(demo.DemoLockerID)+`\s+· online`), "the locker online on its screen")
	type_("C")
	for _, r := range p.code { // a key at a time, as at the keypad
		type_(string(r))
		time.Sleep(5 * time.Millisecond)
	}
	out.waitFor(t, regexp.MustCompile(`Code: •{`+fmt.Sprint(len(p.code))+`}_`), "the code typed, masked")
	if strings.Contains(out.text(), p.code) {
		t.Errorf("the screen shows the code %s", p.code)
	}
	type_("\r")
	// The grid is drawn above the display line: the door opens in it, then
	// the display says which.
	grid := out.waitFor(t, regexp.MustCompile(`\[\s*(\d+)\]`), "a door shown open in the grid")
	opened := out.waitFor(t, regexp.MustCompile(`Door (\d+) is open`), "the door open")
	if want := fmt.Sprint(p.compartment); grid[1] != want || opened[1] != want {
		t.Errorf("the screen shows door %s open and says door %s is open; the parcel is in %d", grid[1], opened[1], p.compartment)
	}

	type_("C0000000000\r")
	out.waitFor(t, regexp.MustCompile(`Wrong code`), "a wrong code refused")

	type_("\x03") // ctrl+c
	select {
	case <-exited:
		if waitErr != nil {
			t.Errorf("lokero locker run --keypad after ctrl+c: %v; want exit 0; the screen:\n%s", waitErr, out.text())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no exit within 10 s of ctrl+c; the screen:\n%s", out.text())
	}
}
