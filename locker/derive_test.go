package locker

import (
	"bytes"
	"strings"
	"testing"
)

func TestDerive(t *testing.T) {
	t.Parallel()
	c, err := NewCodes([]byte(strings.Repeat("d", 32)))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewCodes([]byte(strings.Repeat("e", 32)))
	code, hash, err := c.Derive("L1", "shp_1", 0, 10)
	if err != nil || len(code) != 10 || !isDigits(code) {
		t.Fatalf("Derive: %q, %v; want 10 digits", code, err)
	}
	if !c.Match("L1", code, hash) {
		t.Error("the derived code does not match its own hash")
	}
	again, _, _ := c.Derive("L1", "shp_1", 0, 10)
	if again != code {
		t.Errorf("Derive is not repeatable: %s then %s", code, again)
	}
	seen := map[string]string{code: "L1/shp_1/0"}
	for _, k := range []struct {
		c        *Codes
		loc, id  string
		v        int
		variants string
	}{{c, "L1", "shp_1", 1, "next version"}, {c, "L1", "shp_2", 0, "another parcel"}, {c, "L2", "shp_1", 0, "another locker"},
		{other, "L1", "shp_1", 0, "another secret"}, {c, "L1s", "hp_1", 0, "shifted boundary"}} {
		got, _, err := k.c.Derive(k.loc, k.id, k.v, 10)
		if err != nil {
			t.Fatal(err)
		}
		if prev, dup := seen[got]; dup {
			t.Errorf("%s gives the same code %s as %s", k.variants, got, prev)
		}
		seen[got] = k.variants
	}
	// Version finds the version from the hash alone.
	_, h3, _ := c.Derive("L1", "shp_1", 3, 10)
	v, got, ok := c.Version("L1", "shp_1", 10, h3)
	want, _, _ := c.Derive("L1", "shp_1", 3, 10)
	if !ok || v != 3 || got != want {
		t.Errorf("Version = %d %s %v; want 3 %s", v, got, ok, want)
	}
	if _, _, ok := c.Version("L1", "shp_1", 10, bytes.Repeat([]byte{1}, 32)); ok {
		t.Error("Version found a version for a hash no derived code has")
	}
	// The digits are uniform enough: over 2,000 codes each digit appears
	// 10 % ± 1.5 % of the time.
	var count [10]int
	for i := range 2000 {
		code, _, _ := c.Derive("L1", "shp_"+strings.Repeat("x", i%7)+string(rune('a'+i%26)), i/182, 10)
		for _, d := range code {
			count[d-'0']++
		}
	}
	for d, n := range count {
		if n < 1700 || n > 2300 {
			t.Errorf("digit %d appears %d times in 20,000; want about 2,000", d, n)
		}
	}
}
