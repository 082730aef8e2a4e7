package pgtest

import (
	"database/sql"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	if os.Getenv(hideEnv) == "1" { // TestNotInstalled's child: no PostgreSQL here
		binGlob = "/nonexistent/*/bin"
	}
	ForTest(m)
}

const hideEnv = "LOKERO_PGTEST_HIDE_POSTGRES"

// TestNotInstalled runs TestCluster in a child test binary that finds no
// PostgreSQL: it must skip, or fail when CI=true.
func TestNotInstalled(t *testing.T) {
	if os.Getenv(hideEnv) == "1" {
		t.Skip("child")
	}
	for _, ci := range []string{"", "true"} {
		cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestCluster$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), hideEnv+"=1", "PATH=/nonexistent", "CI="+ci)
		out, err := cmd.CombinedOutput()
		switch {
		case ci == "" && (err != nil || !strings.Contains(string(out), "--- SKIP: TestCluster") ||
			!strings.Contains(string(out), "PostgreSQL not installed (apt-get install postgresql): skipping")):
			t.Errorf("without PostgreSQL: %v, want a skip:\n%s", err, out)
		case ci == "true" && (err == nil || !strings.Contains(string(out), "--- FAIL: TestCluster") ||
			!strings.Contains(string(out), "PostgreSQL is required in CI")):
			t.Errorf("without PostgreSQL in CI: %v, want a failure:\n%s", err, out)
		}
	}
}

func TestCluster(t *testing.T) {
	c := Require(t)
	ctx := t.Context()
	u1, err := c.CreateDatabase(ctx)
	if err != nil {
		t.Fatal(err)
	}
	u2, err := c.CreateDatabase(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if u1 == u2 {
		t.Fatalf("CreateDatabase returned %s twice", u1)
	}
	for _, u := range []string{u1, u2} {
		db, err := sql.Open("pgx", u)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var n int
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&n); err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		if n != 0 {
			t.Errorf("%s: %d tables in a new database", u, n)
		}
		var fsync, enc string
		if err := db.QueryRowContext(ctx, "SHOW fsync").Scan(&fsync); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRowContext(ctx, "SHOW server_encoding").Scan(&enc); err != nil {
			t.Fatal(err)
		}
		if fsync != "off" || enc != "UTF8" {
			t.Errorf("fsync=%s server_encoding=%s, want off, UTF8", fsync, enc)
		}
	}
}

func TestStartStop(t *testing.T) {
	Require(t) // skips without PostgreSQL
	c, err := Start(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	dir := c.dir
	if _, err := c.CreateDatabase(t.Context()); err != nil {
		t.Error(err)
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temp dir %s not removed: %v", dir, err)
	}
}

func TestStatementLog(t *testing.T) {
	Require(t) // skips without PostgreSQL
	log := filepath.Join(t.TempDir(), "statements.log")
	t.Setenv(StatementLogEnv, log)
	c, err := Start(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	db, err := sql.Open("pgx", c.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(t.Context(), "SELECT 4242 + 1").Scan(&n); err != nil || n != 4243 {
		t.Fatalf("query: %d, %v", n, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		text, err := os.ReadFile(log)
		if err == nil && strings.Contains(string(text), "SELECT 4242 + 1") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the statement is not in %s (%v):\n%s", log, err, text)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestFindBinDir(t *testing.T) {
	root := t.TempDir()
	for _, v := range []string{"9.6", "15", "13"} {
		mkProgs(t, filepath.Join(root, v, "bin"))
	}
	if err := os.MkdirAll(filepath.Join(root, "99", "bin"), 0o755); err != nil { // no programs
		t.Fatal(err)
	}
	got, err := findBinDir(filepath.Join(root, "*", "bin"), "")
	if want := filepath.Join(root, "15", "bin"); err != nil || got != want {
		t.Errorf("findBinDir = %q, %v; want %q", got, err, want)
	}

	onPath := filepath.Join(root, "path")
	mkProgs(t, onPath)
	got, err = findBinDir(filepath.Join(root, "none", "*"), "/nonexistent:"+onPath)
	if err != nil || got != onPath {
		t.Errorf("findBinDir from PATH = %q, %v; want %q", got, err, onPath)
	}

	_, err = findBinDir(filepath.Join(root, "none", "*"), "/nonexistent")
	if !errors.Is(err, ErrNotInstalled) {
		t.Errorf("findBinDir with nothing installed: %v, want ErrNotInstalled", err)
	}
}

func mkProgs(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"initdb", "postgres"} {
		if err := os.WriteFile(filepath.Join(dir, p), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}
