package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

// SettingStore is what a store promises about settings: named text values
// the server keeps in its database (the code secret's fingerprints, the
// development clock's offset).
type SettingStore interface {
	// Setting returns a setting's value; ok is false when none is stored.
	Setting(ctx context.Context, name string) (value string, ok bool, err error)
	// SetSetting stores a setting, replacing what was there.
	SetSetting(ctx context.Context, name, value string) error
	// InitSetting stores a setting unless one is stored already and
	// returns the value stored.
	InitSetting(ctx context.Context, name, value string) (string, error)
}

var settingTests = []struct {
	name string
	fn   func(t *testing.T, s Store)
}{
	{"SettingRoundTrip", testSettingRoundTrip},
	{"SettingInitKeepsTheFirst", testSettingInitKeepsTheFirst},
	{"SettingInitRace", testSettingInitRace},
}

// settings returns s's settings, failing the test when s keeps none.
func settings(t *testing.T, s Store) SettingStore {
	t.Helper()
	st, ok := s.(SettingStore)
	if !ok {
		t.Fatalf("%T keeps no settings", s)
	}
	return st
}

// testSettingRoundTrip: a missing setting is not an error; a stored one
// reads back byte for byte and is replaced by the next; an empty name is
// refused.
func testSettingRoundTrip(t *testing.T, s Store) {
	ctx := t.Context()
	st := settings(t, s)
	if v, ok, err := st.Setting(ctx, "nothing"); err != nil || ok || v != "" {
		t.Fatalf("a missing setting: %q %v %v; want \"\" false nil", v, ok, err)
	}
	for _, value := range []string{"v1 ä\n'; DROP TABLE settings; --", "", "v2"} {
		if err := st.SetSetting(ctx, "k", value); err != nil {
			t.Fatal(err)
		}
		if v, ok, err := st.Setting(ctx, "k"); err != nil || !ok || v != value {
			t.Fatalf("after SetSetting(%q): %q %v %v", value, v, ok, err)
		}
	}
	if v, _, _ := st.Setting(ctx, "K"); v != "" {
		t.Errorf("names are case-sensitive: K read %q", v)
	}
	if err := st.SetSetting(ctx, "", "x"); err == nil {
		t.Error("SetSetting with an empty name: no error")
	}
	if _, err := st.InitSetting(ctx, "", "x"); err == nil {
		t.Error("InitSetting with an empty name: no error")
	}
}

// testSettingInitKeepsTheFirst: InitSetting stores only into nothing and
// always answers what is stored.
func testSettingInitKeepsTheFirst(t *testing.T, s Store) {
	ctx := t.Context()
	st := settings(t, s)
	if v, err := st.InitSetting(ctx, "fp", "first"); err != nil || v != "first" {
		t.Fatalf("InitSetting into nothing: %q %v", v, err)
	}
	if v, err := st.InitSetting(ctx, "fp", "second"); err != nil || v != "first" {
		t.Fatalf("InitSetting again: %q %v; want the first value", v, err)
	}
	if err := st.SetSetting(ctx, "fp", "third"); err != nil {
		t.Fatal(err)
	}
	if v, err := st.InitSetting(ctx, "fp", "fourth"); err != nil || v != "third" {
		t.Fatalf("InitSetting after SetSetting: %q %v; want third", v, err)
	}
}

// testSettingInitRace: processes that start at once and race to set a
// setting all get the one value that won.
func testSettingInitRace(t *testing.T, s Store) {
	ctx := t.Context()
	st := settings(t, s)
	const n = 8
	got := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { got[i], errs[i] = st.InitSetting(ctx, "race", fmt.Sprint("value-", i)) })
	}
	wg.Wait()
	stored, _, err := st.Setting(ctx, "race")
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if errs[i] != nil || got[i] != stored {
			t.Errorf("racer %d: %q %v; want the stored %q", i, got[i], errs[i], stored)
		}
	}
}
