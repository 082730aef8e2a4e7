package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/mqtttest"
	"github.com/lokero/lokero/pgtest"
	"github.com/lokero/lokero/routing"
)

// TestBenchPeak runs a small peak through the real server: a few lockers
// in a town with controllers over MQTT, parcels booked over two days,
// delivered, picked up after their dwell or expired and collected; every
// invariant holds and the figures are printed, lokero's turn-aways never
// below the offline optimum's.
func TestBenchPeak(t *testing.T) {
	boards := t.TempDir()
	code, stdout, stderr := runCmd(t, "bench", "peak", "--lockers", "6", "--parcels", "90", "--days", "2", "--never", "6%", "--conns", "4", "--network", "town",
		"--board-dir", boards)
	if code != 0 {
		t.Fatalf("exit %d:\n%s\n%s", code, stdout, stderr)
	}
	// The controllers kept their state where --board-dir said, and it is
	// gone with the run.
	if !strings.Contains(stdout, "controllers over MQTT, their state in "+boards+")") {
		t.Errorf("the header does not name --board-dir %s:\n%s", boards, stdout)
	}
	if left, err := os.ReadDir(boards); err != nil || len(left) != 0 {
		t.Errorf("--board-dir after the run: %v, %v; want it empty", left, err)
	}
	if !regexp.MustCompile(`(?m)^peak: \[#+\] 100 % day \d+`).MatchString(stderr) {
		t.Errorf("no progress bar reaching 100 %% in:\n%s", stderr)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^  whole lives: \d+ parcels in .*: \d+ parcels/s end to end`),
		regexp.MustCompile(`(?m)^  book +90 +\S+ +\S+$`),
		regexp.MustCompile(`(?m)^  keypad pickup +[1-9]\d* `),
		regexp.MustCompile(`(?m)^  turned away at booking: \d+ of 90 `),
		regexp.MustCompile(`(?m)^  turned away at dispatch \(the evening before, check on, 20:00\): \d+ \(\d+\.\d %\) to another locker`),
		regexp.MustCompile(`(?m)^  moved back to the shopper's locker at dispatch: \d+ \(\d+\.\d %\)$`),
		regexp.MustCompile(`(?m)^  turned away at the door: \d+ `),
		regexp.MustCompile(`(?m)^  first come, first served, knowing each morning what the lockers hold: \d+\.\d % not in the shopper.s locker`),
		regexp.MustCompile(`(?m)^  memory of this process .*: [1-9]\d* MiB resident`),
		regexp.MustCompile(`(?m)^  CPU a whole life: this process \(server, broker, controllers and the bench\) \d+\.\d\d ms$`),
		regexp.MustCompile(`(?m)^  CPU at rest before the first day \(.*; 3s\): this process \(server, broker, controllers and the bench\) \d+ ms/s$`),
		regexp.MustCompile(`(?m)^  invariants: every parcel ended as its life led`),
		regexp.MustCompile(`(?m)^  invariants: .*no two parcels waiting in one locker at once had the same opening code \([1-9]\d* codes from the notices\)`),
	} {
		if !want.MatchString(stdout) {
			t.Errorf("no line matching %s in:\n%s", want, stdout)
		}
	}
	// Every booked parcel's life ended: picked up, expired and collected,
	// or (rarely) undeliverable; the refused never lived.
	m := regexp.MustCompile(`picked up (\d+), expired and collected (\d+)`).FindStringSubmatch(stdout)
	booked := regexp.MustCompile(`turned away at booking: (\d+) of 90 .* (\d+) refused`).FindStringSubmatch(stdout)
	if m == nil || booked == nil {
		t.Fatalf("no counts in:\n%s", stdout)
	}
	picked, collected, refused := atoi(m[1]), atoi(m[2]), atoi(booked[2])
	if picked+collected+refused > 90 || picked+collected+refused < 85 || picked == 0 {
		t.Errorf("picked %d + collected %d + refused %d of 90 parcels", picked, collected, refused)
	}
	// The optimum knows the future: neither first come, first served nor
	// lokero turns away fewer.
	away := regexp.MustCompile(`not in the shopper's locker in the end: \d+ \((\d+\.\d) %\)`).FindStringSubmatch(stdout)
	opt := regexp.MustCompile(`offline optimum, knowing every arrival and pickup in advance: (\d+\.\d) % not in the shopper's locker \(exact\)`).FindStringSubmatch(stdout)
	fc := regexp.MustCompile(`first come, first served, .*: (\d+\.\d) % not in the shopper's locker`).FindStringSubmatch(stdout)
	if away == nil || opt == nil || fc == nil {
		t.Fatalf("no lokero, optimum or first-come share in:\n%s", stdout)
	}
	if atof(opt[1]) > atof(away[1]) || atof(opt[1]) > atof(fc[1]) {
		t.Errorf("the optimum turns away %s %%, more than lokero's %s %% or first come's %s %%", opt[1], away[1], fc[1])
	}
	// The notices went by e-mail and by text message, to the SMTP server
	// and the SMS endpoint: one of arrival at least for each parcel
	// deposited, none twice, each text message reported delivered.
	notices := regexp.MustCompile(`(?m)^  notices: (\d+) e-mails at the SMTP server, (\d+) text messages at the SMS endpoint \((\d+) delivery reports taken\); (\d+) reached their recipient twice$`).FindStringSubmatch(stdout)
	if notices == nil {
		t.Fatalf("no notices line in:\n%s", stdout)
	}
	emails, texts, reports, twice := atoi(notices[1]), atoi(notices[2]), atoi(notices[3]), atoi(notices[4])
	if emails == 0 || texts == 0 || emails+texts < picked+collected || twice != 0 {
		t.Errorf("%d e-mails and %d text messages (%d twice) for %d parcels picked up and %d collected", emails, texts, twice, picked, collected)
	}
	if reports > texts {
		t.Errorf("%d delivery reports taken for %d text messages", reports, texts)
	}
	if !strings.Contains(stderr, "lockers moved into a town") {
		t.Errorf("the lockers were not moved into a town:\n%s", stderr)
	}
}

// TestParseDispatchCheck: serve --dispatch-check takes a time of day or
// off; anything else is a usage error.
func TestParseDispatchCheck(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int
		ok   bool
	}{
		{"20:00", 20 * 60, true},
		{"17:30", 17*60 + 30, true},
		{"off", -1, true},
		{"OFF", -1, true},
		{"25:00", 0, false},
		{"8pm", 0, false},
		{"", 0, false},
	} {
		got, err := parseDispatchCheck(tt.in)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("parseDispatchCheck(%q) = %d, %v; want %d, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
	if code, _, stderr := runCmd(t, "serve", "--dispatch-check", "8pm"); code != 2 || !strings.Contains(stderr, "--dispatch-check") {
		t.Errorf("serve --dispatch-check 8pm: exit %d, %q; want a usage error naming the flag", code, stderr)
	}
}

func atof(s string) float64 {
	f, _ := strconv.ParseFloat(s, 64)
	return f
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// TestBenchPeakPostgres runs a smaller peak on a throwaway PostgreSQL
// cluster with two `lokero serve` processes and Mosquitto, the requests
// spread over both, each running the evening's check: the same
// invariants hold, each server's memory is shown. Its lockers have
// compartments of three sizes and its parcels sizes to match (--mix
// demo): the offline optimum is then a search at each locker, exact on
// so small a load, and never above lokero's turn-aways or first come's.
// --instances without --postgres is a usage error.
func TestBenchPeakPostgres(t *testing.T) {
	pgtest.Require(t) // PostgreSQL is installed (fails with CI=true when not)
	mqtttest.Find(t)
	code, stdout, stderr := runCmd(t, "bench", "peak", "--postgres", "--instances", "2", "--lockers", "4", "--parcels", "50", "--days", "2", "--conns", "4", "--mix", "demo")
	if code != 0 {
		t.Fatalf("exit %d:\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^lokero bench peak on PostgreSQL \(2 lokero serve processes, Mosquitto\): 4 lockers of \d+ compartments \([1-9]\d* S, [1-9]\d* M, [1-9]\d* L;`),
		regexp.MustCompile(`(?m)^  lokero above the optimum: [-+]\d+\.\d points`),
		regexp.MustCompile(`(?m)^  by the parcel's size: S \d+, \d+\.\d % not in the shopper's locker, \d+ refused; M \d+, .*; L \d+, \d+\.\d % not in the shopper's locker, \d+ refused$`),
		regexp.MustCompile(`(?m)^  the optimum's by size, not in the shopper's locker: S \d+\.\d %, M \d+\.\d %, L \d+\.\d %$`),
		regexp.MustCompile(`(?m)^  database: [0-9]+ MiB \(PostgreSQL`),
		regexp.MustCompile(`(?m)^  CPU a whole life: server 1 \d+\.\d\d ms; server 2 \d+\.\d\d ms; the servers together \d+\.\d\d ms; this process \(controllers and the bench\) \d+\.\d\d ms; PostgreSQL \d+\.\d\d ms$`),
		regexp.MustCompile(`(?m)^  memory of server 1 \(lokero serve\): [1-9]\d* MiB resident`),
		regexp.MustCompile(`(?m)^  memory of server 2 \(lokero serve\): [1-9]\d* MiB resident`),
		regexp.MustCompile(`(?m)^  invariants: every parcel ended as its life led`),
	} {
		if !want.MatchString(stdout) {
			t.Errorf("no line matching %s in:\n%s", want, stdout)
		}
	}
	away := regexp.MustCompile(`not in the shopper's locker in the end: \d+ \((\d+\.\d) %\)`).FindStringSubmatch(stdout)
	opt := regexp.MustCompile(`offline optimum, knowing every arrival and pickup in advance: (\d+\.\d) % not in the shopper's locker \(exact\)`).FindStringSubmatch(stdout)
	fc := regexp.MustCompile(`first come, first served, knowing each morning what the lockers hold: (\d+\.\d) %`).FindStringSubmatch(stdout)
	if away == nil || opt == nil || fc == nil {
		t.Fatalf("no turn-aways, exact optimum or first come in:\n%s", stdout)
	}
	if a, o, f := atof(away[1]), atof(opt[1]), atof(fc[1]); a < o || f < o {
		t.Errorf("lokero turned away %.1f %% and first come %.1f %%; the optimum %.1f %% is above one", a, f, o)
	}
	if code, _, stderr := runCmd(t, "bench", "peak", "--instances", "2"); code != 2 || !strings.Contains(stderr, "--instances 2 needs --postgres") {
		t.Errorf("bench peak --instances 2 on SQLite: exit %d, %q; want a usage error", code, stderr)
	}
}

// TestSharedCodes: two parcels with one code in one locker clash only if
// their stays overlap (the day one leaves and the other arrives counts as
// both there); in another locker, or one after the other, they do not.
func TestSharedCodes(t *testing.T) {
	t.Parallel()
	a, b := &simLocker{id: "SIM-000001"}, &simLocker{id: "SIM-000002"}
	day := func(n int) lokero.Date { return lokero.Date{Year: 2026, Month: time.December, Day: n} }
	parcel := func(tracking string, l *simLocker, code string, arrived, left int) *peakParcel {
		p := &peakParcel{simParcel: simParcel{tracking: tracking}, code: code, arrived: day(arrived)}
		p.locker = l
		if left > 0 {
			p.left = day(left)
		}
		return p
	}
	for _, tc := range []struct {
		name    string
		parcels []*peakParcel
		clashes int
	}{
		{"different codes", []*peakParcel{parcel("A", a, "111", 1, 3), parcel("B", a, "222", 2, 4)}, 0},
		{"one code, overlapping", []*peakParcel{parcel("A", a, "111", 1, 3), parcel("B", a, "111", 2, 4)}, 1},
		{"one code, one leaves the day the other arrives", []*peakParcel{parcel("A", a, "111", 1, 3), parcel("B", a, "111", 3, 5)}, 1},
		{"one code, one after the other", []*peakParcel{parcel("A", a, "111", 1, 3), parcel("B", a, "111", 4, 5)}, 0},
		{"one code, the first still there", []*peakParcel{parcel("A", a, "111", 1, 0), parcel("B", a, "111", 9, 10)}, 1},
		{"one code, two lockers", []*peakParcel{parcel("A", a, "111", 1, 3), parcel("B", b, "111", 2, 4)}, 0},
		{"three with one code", []*peakParcel{parcel("A", a, "111", 1, 2), parcel("B", a, "111", 2, 3), parcel("C", a, "111", 3, 4)}, 2},
	} {
		checked, clashes := sharedCodes(tc.parcels)
		if checked != len(tc.parcels) || len(clashes) != tc.clashes {
			t.Errorf("%s: %d checked, clashes %q; want %d checked, %d clashes", tc.name, checked, clashes, len(tc.parcels), tc.clashes)
		}
	}
	// A parcel that never arrived (refused, undeliverable) has no code.
	if checked, _ := sharedCodes([]*peakParcel{{simParcel: simParcel{tracking: "X"}}}); checked != 0 {
		t.Errorf("a parcel without a code: %d checked", checked)
	}
}

// TestSimClassesAndParcels: a demo mix splits a locker's compartments
// into S, M and L with one of each at least, and each size of bench
// parcel fits its class and up by the routing's own rule, not the class
// below; with one class every parcel fits M.
func TestSimClassesAndParcels(t *testing.T) {
	t.Parallel()
	for _, n := range []int{3, 4, 5, 6, 7, 13, 14, 20, 40, 52} {
		cs := simClasses(mixDemo, n)
		total := 0
		for _, c := range cs {
			total += c.Count
			if c.Count < 1 {
				t.Errorf("%d compartments: %s has %d", n, c.Size, c.Count)
			}
		}
		if total != n || len(cs) != 3 || cs[0].Size != "S" || cs[0].Count < cs[2].Count {
			t.Errorf("%d compartments in the demo mix: %s", n, classesText(cs))
		}
	}
	for n, want := range map[int]string{13: "7 S, 4 M, 2 L", 14: "8 S, 4 M, 2 L", 20: "12 S, 6 M, 2 L", 52: "30 S, 15 M, 7 L"} {
		if got := classesText(simClasses(mixDemo, n)); got != want {
			t.Errorf("%d compartments: %s; want %s (58, 29 and 13 %% by largest remainders)", n, got, want)
		}
	}
	parcel := func(mix string, class int) lokero.Parcel {
		m := peakParcelOf(mix, class)
		return lokero.Parcel{LengthCM: float64(m["length_cm"].(int)), WidthCM: float64(m["width_cm"].(int)), HeightCM: float64(m["height_cm"].(int)), WeightKG: 1}
	}
	l := &lokero.Location{Type: lokero.TypeSmartpost, Compartments: simClasses(mixDemo, 13)}
	for class, want := range []string{"S M L", "M L", "L"} {
		var got []string
		for _, c := range routing.FittingClasses(parcel(mixDemo, class), l, routing.Limits{}) {
			got = append(got, c.Size)
		}
		if strings.Join(got, " ") != want {
			t.Errorf("a class %d parcel fits %v; want %s", class, got, want)
		}
	}
	one := &lokero.Location{Type: lokero.TypeSmartpost, Compartments: simClasses(mixOne, 5)}
	if cs := routing.FittingClasses(parcel(mixOne, 0), one, routing.Limits{}); len(cs) != 1 || cs[0].Size != "M" {
		t.Errorf("with one class the parcel fits %v; want M", cs)
	}
}

// TestBoardsDir: the boards' directory is made where --board-dir says,
// else in /dev/shm when it has room for the network's boards, else in
// the bench's temporary directory.
func TestBoardsDir(t *testing.T) {
	t.Parallel()
	tmp, given := t.TempDir(), t.TempDir()
	for _, tc := range []struct {
		name   string
		dir    string
		n      int
		parent string
	}{
		{"given", given, 1 << 40, given},
		{"no room in memory for a trillion boards", "", 1 << 40, tmp},
		{"one board in memory", "", 1, "/dev/shm"},
	} {
		if _, err := os.Stat("/dev/shm"); err != nil && tc.parent == "/dev/shm" {
			tc.parent = tmp // no /dev/shm here
		}
		boards, err := boardsDir(tc.dir, tmp, tc.n)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		os.RemoveAll(boards)
		if filepath.Dir(boards) != tc.parent {
			t.Errorf("%s: boards in %s; want a directory in %s", tc.name, boards, tc.parent)
		}
	}
}
