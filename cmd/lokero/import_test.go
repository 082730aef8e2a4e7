package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
