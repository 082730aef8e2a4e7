package main

import (
	"regexp"
	"strconv"
	"testing"

	"github.com/lokero/lokero/pgtest"
)

// TestBenchPeak runs a small peak through the real server: a few lockers
// with controllers over MQTT, parcels booked over two days, delivered,
// picked up after their dwell or expired and collected; every invariant
// holds and the figures are printed.
func TestBenchPeak(t *testing.T) {
	code, stdout, stderr := runCmd(t, "bench", "peak", "--lockers", "6", "--parcels", "90", "--days", "2", "--never", "6%", "--conns", "4")
	if code != 0 {
		t.Fatalf("exit %d:\n%s\n%s", code, stdout, stderr)
	}
	if !regexp.MustCompile(`(?m)^peak: \[#+\] 100 % day \d+`).MatchString(stderr) {
		t.Errorf("no progress bar reaching 100 %% in:\n%s", stderr)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^  whole lives: \d+ parcels in .*: \d+ parcels/s end to end`),
		regexp.MustCompile(`(?m)^  book +90 +\S+ +\S+$`),
		regexp.MustCompile(`(?m)^  keypad pickup +[1-9]\d* `),
		regexp.MustCompile(`(?m)^  turned away at booking: \d+ of 90 `),
		regexp.MustCompile(`(?m)^  turned away at the door: \d+ `),
		regexp.MustCompile(`(?m)^  offline bound, knowing every arrival and pickup in advance: \d+\.\d % not in the shopper.s locker`),
		regexp.MustCompile(`(?m)^  memory of this process .*: [1-9]\d* MiB resident`),
		regexp.MustCompile(`(?m)^  invariants: every parcel ended as its life led`),
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
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// TestBenchPeakPostgres runs a smaller peak with the server on a
// throwaway PostgreSQL cluster: the same invariants hold.
func TestBenchPeakPostgres(t *testing.T) {
	pgtest.Require(t) // PostgreSQL is installed (fails with CI=true when not)
	code, stdout, stderr := runCmd(t, "bench", "peak", "--postgres", "--lockers", "4", "--parcels", "50", "--days", "2", "--conns", "4")
	if code != 0 {
		t.Fatalf("exit %d:\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^lokero bench peak on PostgreSQL: 4 lockers`),
		regexp.MustCompile(`(?m)^  database: [0-9]+ MiB \(PostgreSQL`),
		regexp.MustCompile(`(?m)^  invariants: every parcel ended as its life led`),
	} {
		if !want.MatchString(stdout) {
			t.Errorf("no line matching %s in:\n%s", want, stdout)
		}
	}
}
