package main

import (
	"database/sql"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/demo"
	"github.com/lokero/lokero/sqlite"
)

// TestServeHourlyWorkAtStart: the work serve does every hour of its
// clock also runs when it starts: the capacity model learns the dwell
// from the departures in the database (and logs what it learnt), and the
// network's occupancy is sampled into the operator's history. Without
// the wiring neither shows.
func TestServeHourlyWorkAtStart(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "lokero.db")
	operator := lastLine(t, "operator", "add", "--db", db, "Olli")

	// Seven parcels that left the demo building's LOCKER after a day.
	conn, err := sql.Open("sqlite", sqlite.DSN(db))
	if err != nil {
		t.Fatal(err)
	}
	today := lokero.DateOf(time.Now())
	for range 7 {
		if _, err := conn.ExecContext(t.Context(), `INSERT INTO compartment_departures (location_id, size, arrived_on, left_on) VALUES ($1, 'M', $2, $3)`,
			demo.DemoLockerID, today.AddDays(-3).Text(), today.AddDays(-2).Text()); err != nil {
			t.Fatal(err)
		}
	}
	conn.Close()

	base, logs := startServeLogged(t, "--db", db, "--mqtt-listen", "off")
	learnt := regexp.MustCompile(`"msg":"dwell learnt","type":"LOCKER","departures":(\d+)`)
	deadline := time.Now().Add(10 * time.Second)
	var m []string
	for m = learnt.FindStringSubmatch(logs.String()); m == nil && time.Now().Before(deadline); m = learnt.FindStringSubmatch(logs.String()) {
		time.Sleep(50 * time.Millisecond)
	}
	if m == nil {
		t.Fatalf("no dwell learnt for LOCKER in the log:\n%s", logs.String())
	}
	if n, _ := strconv.Atoi(m[1]); n < 7 {
		t.Errorf("the dwell was learnt from %d departures; want the 7 in the database at least", n)
	}
	var history struct {
		Samples []struct {
			At    time.Time      `json:"at"`
			Sizes map[string]any `json:"sizes"`
		} `json:"samples"`
	}
	if code := call(t, "GET", base+"/v1/network/occupancy?days=1", operator, nil, &history); code != 200 || len(history.Samples) == 0 || len(history.Samples[0].Sizes) == 0 {
		t.Errorf("occupancy history after the start: %d %+v; want the start's sample", code, history)
	}
}

// TestServeHourlyWorkRepeats: serve does its hourly work again once its
// clock has passed into another hour. Under --dev it looks at the test
// clock every second, so an hour's jump shows within seconds: a second
// occupancy sample, an hour and more after the start's.
func TestServeHourlyWorkRepeats(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "lokero.db")
	operator := lastLine(t, "operator", "add", "--db", db, "Olli")
	base, _ := startServeLogged(t, "--db", db, "--dev", "--mqtt-listen", "off")
	type history struct {
		Samples []struct {
			At time.Time `json:"at"`
		} `json:"samples"`
	}
	samples := func() history {
		t.Helper()
		var h history
		if code := call(t, "GET", base+"/v1/network/occupancy?days=1", operator, nil, &h); code != 200 {
			t.Fatalf("occupancy history: %d", code)
		}
		return h
	}
	// serve answers HTTP before it takes the start's sample: wait for it.
	first := samples()
	for start := time.Now(); len(first.Samples) == 0 && time.Since(start) < 10*time.Second; first = samples() {
		time.Sleep(50 * time.Millisecond)
	}
	if len(first.Samples) != 1 {
		t.Fatalf("after the start: %d samples; want the start's one", len(first.Samples))
	}
	if code := call(t, "POST", base+"/v1/admin/clock", operator, map[string]string{"advance": "2h"}, nil); code != 200 {
		t.Fatalf("advance the test clock: %d", code)
	}
	deadline := time.Now().Add(15 * time.Second)
	h := samples()
	for len(h.Samples) < 2 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		h = samples()
	}
	if len(h.Samples) != 2 {
		t.Fatalf("15 s after the clock moved two hours: %d samples; want a second one", len(h.Samples))
	}
	at := []time.Time{h.Samples[0].At, h.Samples[1].At}
	slices.SortFunc(at, time.Time.Compare)
	if gap := at[1].Sub(at[0]); gap < time.Hour {
		t.Errorf("the two samples are %s apart; want the second in a later hour, two on the test clock", gap)
	}
}
