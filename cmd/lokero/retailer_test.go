package main

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/calendar"
)

// TestRetailerRotateKey: `lokero retailer rotate-key` gives a retailer a
// new key, printed last; the old one no longer authenticates; an unknown
// retailer or a missing ID is refused with a non-zero exit.
func TestRetailerRotateKey(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "rotate.db")
	code, stdout, stderr := runCmd(t, "retailer", "add", "--db", db, "Vuotanut Kauppa")
	if code != 0 {
		t.Fatalf("retailer add: exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	old := lines[len(lines)-1]
	id := regexp.MustCompile(`\((ret_[a-z0-9]+)\)`).FindStringSubmatch(stdout)
	if id == nil {
		t.Fatalf("retailer add printed no retailer ID: %q", stdout)
	}
	key := lastLine(t, "retailer", "rotate-key", "--db", db, id[1])
	if !strings.HasPrefix(key, "lok_") || key == old {
		t.Fatalf("rotate-key printed %q last; want a new key", key)
	}
	ctx := context.Background()
	p, err := openPlatform(ctx, db, calendar.Default(), lokero.SystemClock{}, newLogger(&strings.Builder{}))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.shipments.Authenticate(ctx, old); lokero.ErrorCode(err) != lokero.EUNAUTHORIZED {
		t.Errorf("the old key after rotate-key: %v; want EUNAUTHORIZED", err)
	}
	if r, err := p.shipments.Authenticate(ctx, key); err != nil || r.ID != id[1] {
		t.Errorf("the new key: %+v, %v; want %s", r, err, id[1])
	}
	for _, args := range [][]string{{"retailer", "rotate-key", "--db", db, "ret_missing"}, {"retailer", "rotate-key", "--db", db}} {
		if code, _, stderr := runCmd(t, args...); code == 0 || stderr == "" {
			t.Errorf("lokero %v: exit %d, %q; want a refusal", args, code, stderr)
		}
	}
}
