package main

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSim runs `lokero sim` against lokero serve (--dev, its embedded
// broker): 20 lockers, 60 parcels, a quarter of the lockers cut off for 2
// s. Every parcel booked is deposited, those collected are picked up
// (some offline), and the centre ends as the lockers did: no mismatch.
func TestSim(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "lokero.db")
	listen := freeAddr(t)
	base := startServe(t, "--db", db, "--dev", "--reload", "1s", "--mqtt-listen", listen)
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	code := run(ctx, []string{"sim", "--url", base, "--broker", "tcp://" + listen, "--db", db,
		"--lockers", "20", "--parcels", "60", "--rate", "30", "--offline", "25%", "--offline-for", "2s",
		"--picked", "80%", "--resend-after", "2s", "--burst", "5", "--state-dir", t.TempDir()}, &stdout, &stderr)
	out := stdout.String()
	t.Logf("sim output:\n%s", out)
	defer func() {
		if t.Failed() {
			t.Logf("sim progress:\n%s", stderr.String())
		}
	}()
	if code != 0 {
		t.Fatalf("sim exited with %d: %s", code, stderr.String())
	}
	num := func(re string) int {
		t.Helper()
		m := regexp.MustCompile(re).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no %q in the summary", re)
		}
		n, err := strconv.Atoi(m[1])
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	tests := []struct {
		name string
		re   string
		ok   func(int) bool
	}{
		{"lockers", `lockers: (\d+) `, func(n int) bool { return n == 20 }},
		{"lockers cut off", `\((\d+) cut off`, func(n int) bool { return n == 5 }},
		{"parcels booked", `parcels: (\d+) booked`, func(n int) bool { return n == 60 }},
		{"parcels deposited", `(\d+) deposited`, func(n int) bool { return n == 60 }},
		{"parcels picked up", `(\d+) picked up`, func(n int) bool { return n > 30 && n < 60 }},
		{"offline pickups", `picked up \((\d+) offline\)`, func(n int) bool { return n > 0 }},
		// Per parcel: door_closed after the deposit; per pickup: a pickup
		// (or keypad) and door_closed; 5 letters a locker.
		{"events applied", `(\d+) applied,`, func(n int) bool { return n >= 60+2*30+100 }},
		{"burst events", `burst: (\d+) events`, func(n int) bool { return n == 100 }},
		{"shipments checked", `checked: (\d+) shipments`, func(n int) bool { return n == 60 }},
		{"mismatches", `mismatches: (\d+)`, func(n int) bool { return n == 0 }},
		{"failures", `failures: (\d+)`, func(n int) bool { return n == 0 }},
	}
	for _, tt := range tests {
		if n := num(tt.re); !tt.ok(n) {
			t.Errorf("%s: %d", tt.name, n)
		}
	}
	if !strings.Contains(stderr.String(), "lockers cut off the network") || !strings.Contains(stderr.String(), "back on the network") {
		t.Errorf("no cut and restore in the progress:\n%s", stderr.String())
	}
}

// TestSimNeedsDev: against a server without --dev the sim cannot read
// the codes and says so.
func TestSimNeedsDev(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "lokero.db")
	listen := freeAddr(t)
	base := startServe(t, "--db", db, "--mqtt-listen", listen)
	code, _, stderr := runCmd(t, "sim", "--url", base, "--broker", "tcp://"+listen, "--db", db, "--lockers", "1", "--parcels", "1")
	if code != 1 || !strings.Contains(stderr, "--dev") {
		t.Errorf("sim without --dev: exit %d, %s; want 1 and a word about --dev", code, stderr)
	}
}

// TestSimUsage: bad flags are usage errors.
func TestSimUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"sim", "--lockers", "0"},
		{"sim", "--offline", "150%"},
		{"sim", "--parcels", "5", "--rate", "0"},
		{"sim", "extra"},
	} {
		if code, _, _ := runCmd(t, args...); code != 2 {
			t.Errorf("%v: exit %d; want 2", args, code)
		}
	}
}
