package main

import (
	"regexp"
	"strconv"
	"testing"

	"github.com/lokero/lokero/pgtest"
)

// TestBenchShipments books a few shipments on both stores through the
// HTTP API: every request is answered (created or refused by a rule, none
// failed), and PostgreSQL's line shows its own CPU beside lokero's.
func TestBenchShipments(t *testing.T) {
	pgtest.Require(t) // PostgreSQL is installed (fails with CI=true when not)
	code, stdout, stderr := runCmd(t, "bench", "shipments", "--n", "60", "--conns", "3")
	if code != 0 {
		t.Fatalf("exit %d:\n%s\n%s", code, stdout, stderr)
	}
	line := regexp.MustCompile(`(?m)^  (SQLite|PostgreSQL)[^\n]*?\d+ shipments/s  p50 \S+ +p99 \S+ +CPU \d+\.\d\d( \+ database (\d+\.\d\d))? ms/shipment  RSS [1-9]\d* MiB  \((\d+) created, (\d+) refused by rules`)
	found := map[string]bool{}
	for _, m := range line.FindAllStringSubmatch(stdout, -1) {
		store := m[1]
		found[store] = true
		created, _ := strconv.Atoi(m[4])
		refused, _ := strconv.Atoi(m[5])
		if created+refused != 60 || created == 0 {
			t.Errorf("%s: %d created and %d refused, want 60 answered, some created", store, created, refused)
		}
		if (store == "PostgreSQL") != (m[2] != "") {
			t.Errorf("%s: database CPU shown %q; want it for PostgreSQL only", store, m[2])
		}
		if m[3] == "0.00" {
			t.Errorf("%s: the database's CPU is 0.00 ms a shipment", store)
		}
	}
	if !found["SQLite"] || !found["PostgreSQL"] {
		t.Errorf("want a line for SQLite and PostgreSQL in:\n%s", stdout)
	}
}
