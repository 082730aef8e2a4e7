package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lokero/lokero/sqlite"
)

// TestImportSecondLockerInBuilding: a file that adds a second LOCKER to a
// building is refused whole, naming the line and the locker already there.
func TestImportSecondLockerInBuilding(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "building.db")
	file := filepath.Join(dir, "network.csv")
	if err := os.WriteFile(file, []byte(locationsCSV), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCmd(t, "import", "locations", "--db", db, file); code != 0 {
		t.Fatalf("first import: exit %d: %s", code, stderr)
	}
	more := locationsCSV + "LK-2,LOCKER,As Oy Testitalo B,Testikatu 3 B,00104,Helsinki,60.171,24.941,residents,false,,S*4\n"
	if err := os.WriteFile(file, []byte(more), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCmd(t, "import", "locations", "--db", db, file)
	if code != 1 || !strings.Contains(stderr, "line 5: street:") || !strings.Contains(stderr, "LK-1") || stdout != "" {
		t.Fatalf("second LOCKER: exit %d, stdout %q, stderr %q; want exit 1 naming line 5 and LK-1", code, stdout, stderr)
	}
}

// TestImportPostcodesInUse: a postal code file lacking codes that stored
// locations use is refused, listing them, and replaces nothing; --force
// imports it.
func TestImportPostcodesInUse(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "pcuse.db")
	network := filepath.Join(dir, "network.csv")
	if err := os.WriteFile(network, []byte(locationsCSV), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCmd(t, "import", "locations", "--db", db, network); code != 0 {
		t.Fatalf("import locations: exit %d: %s", code, stderr)
	}
	// A newer file without 00104, the code of LOCKER LK-1.
	pcf := filepath.Join(dir, "PCF_20270101.dat")
	if err := os.WriteFile(pcf, latin1(pcfLine("20270101", "00100", "HELSINKI", "HELSINGFORS", "1", "091", "Helsinki", "Helsingfors")), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		args  []string
		code  int
		codes int // postal codes stored after
	}{
		{"refused", []string{"import", "postcodes", "--db", db, pcf}, 1, 0},
		{"forced", []string{"import", "postcodes", "--force", "--db", db, pcf}, 0, 1},
	}
	for _, tt := range tests { // in order: the second changes the database
		code, stdout, stderr := runCmd(t, tt.args...)
		if code != tt.code {
			t.Fatalf("%s: exit %d, stdout %q, stderr %q; want exit %d", tt.name, code, stdout, stderr, tt.code)
		}
		if tt.code != 0 && (!strings.Contains(stderr, "LK-1: postcode 00104") || strings.Contains(stderr, "SP-1") || stdout != "") {
			t.Errorf("%s: stderr %q; want LK-1 and 00104 listed, nothing else", tt.name, stderr)
		}
		st, err := sqlite.Open(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		codes, err := st.Postcodes(context.Background())
		st.Close()
		if err != nil {
			t.Fatal(err)
		}
		if tt.codes == 1 && len(codes) != 1 || tt.codes == 0 && len(codes) < 2 {
			t.Errorf("%s: %d postal codes stored after", tt.name, len(codes))
		}
	}
}
