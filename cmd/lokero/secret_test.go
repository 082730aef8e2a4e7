package main

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/lokero/lokero/demo"
	"github.com/lokero/lokero/locker"
	"github.com/lokero/lokero/sqlite"
)

// secretPath returns the file the serve flags take the code secret from.
func secretPath(db string, args []string) string {
	if i := slices.Index(args, "--code-secret-file"); i >= 0 {
		return args[i+1]
	}
	return db + ".secret"
}

// TestSecretMismatchRefused: a lost secret file is not made again, and a
// changed secret is refused, both with a message saying what to do; the
// right secret starts again — on SQLite and on PostgreSQL.
func TestSecretMismatchRefused(t *testing.T) {
	t.Parallel()
	onBothStores(t, func(t *testing.T, store string) {
		db, args := storeArgs(t, store)
		args = append(args, "--no-demo")
		path := secretPath(db, args)
		srv := startServer(t, nil, args...)
		srv.stop()
		good, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		serve := func() (int, string) {
			code, _, stderr := runCmd(t, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
			return code, stderr
		}
		// Lost.
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		if code, stderr := serve(); code != 1 || !strings.Contains(stderr, "is missing") || !strings.Contains(stderr, "restore") {
			t.Errorf("without the secret file: exit %d %q; want a refusal saying to restore it", code, stderr)
		}
		if _, err := os.Stat(path); err == nil {
			t.Error("a new secret was made for a database that had one")
		}
		// Changed.
		if err := os.WriteFile(path, []byte(strings.Repeat("ef", 32)), 0o600); err != nil {
			t.Fatal(err)
		}
		if code, stderr := serve(); code != 1 || !strings.Contains(stderr, "does not match the database") {
			t.Errorf("with another secret: exit %d %q; want a refusal", code, stderr)
		}
		// The right one again.
		if err := os.WriteFile(path, good, 0o600); err != nil {
			t.Fatal(err)
		}
		startServer(t, nil, args...)
	})
}

// TestSecretRotateKeepsWaitingCodes: `lokero secret rotate` adds a key;
// a parcel waiting with a code made under the old key still opens and its
// notice is sent again with the same code; a new parcel gets a code under
// the new key; `lokero secret retire` refuses while a parcel needs the old
// key and drops it afterwards; the old secret alone is then refused. A
// webhook's secret is never in the database's files as the retailer was
// told it, and is sealed under the newest key once served with it.
func TestSecretRotateKeepsWaitingCodes(t *testing.T) {
	t.Parallel()
	db, args := storeArgs(t, "sqlite")
	args = append(args, "--dev")
	srv := startServer(t, nil, args...)
	key := lastLine(t, "retailer", "add", "--db", db, "Kauppa")
	courier := lastLine(t, "courier", "add", "--db", db, "Kuski")
	operator := lastLine(t, "operator", "add", "--db", db, "Olli")
	device := lastLine(t, "locker", "provision", "--db", db, demo.DemoLockerID)
	lockerPath := "/v1/lockers/" + demo.DemoLockerID
	devices := "/v1/devices/" + demo.DemoLockerID

	// park books a parcel, deposits it and returns its id, compartment
	// and the opening code of its notice.
	park := func(base string) (id string, compartment int, code string) {
		t.Helper()
		var sh struct {
			ID           string
			TrackingCode string `json:"tracking_code"`
		}
		if status := call(t, "POST", base+"/v1/shipments", key, demoBuildingParcel(), &sh); status != 201 {
			t.Fatalf("create: %d", status)
		}
		call(t, "POST", base+"/v1/shipments/"+sh.ID+"/handover", courier, nil, nil)
		var dep struct{ Compartment int }
		if status := call(t, "POST", base+lockerPath+"/deposits", courier, map[string]string{"tracking_code": sh.TrackingCode}, &dep); status != 200 {
			t.Fatalf("deposit: %d", status)
		}
		call(t, "POST", base+devices+"/events", device, map[string]any{"type": "door_closed", "compartment": dep.Compartment}, nil)
		return sh.ID, dep.Compartment, noticeCode(t, base, operator, sh.TrackingCode)
	}
	oldID, oldCompartment, oldCode := park(srv.base)
	var hook struct{ ID, Secret string }
	if status := call(t, "POST", srv.base+"/v1/webhooks", key, map[string]string{"url": "http://127.0.0.1:9/hooks"}, &hook); status != 201 || !strings.HasPrefix(hook.Secret, "whsec_") {
		t.Fatalf("create a webhook: %d %+v", status, hook)
	}
	srv.stop()
	for _, name := range []string{db, db + "-wal"} {
		if b, err := os.ReadFile(name); err == nil && strings.Contains(string(b), strings.TrimPrefix(hook.Secret, "whsec_")) {
			t.Errorf("%s holds the webhook's secret as told", name)
		}
	}

	code, stdout, stderr := runCmd(t, "secret", "rotate", "--db", db)
	if code != 0 || !strings.Contains(stdout, "generation 1") {
		t.Fatalf("secret rotate: exit %d %q %q", code, stdout, stderr)
	}
	ring, _ := os.ReadFile(db + ".secret")
	if lines := strings.Fields(string(ring)); len(lines) != 2 || !strings.HasPrefix(lines[0], "1:") || !strings.HasPrefix(lines[1], "0:") {
		t.Fatalf("the secret file after rotate: %d keys; want generation 1, then 0", len(lines))
	}
	if info, err := os.Stat(db + ".secret"); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("the rotated secret file: %v %v; want 0600", info, err)
	}
	if code, _, stderr := runCmd(t, "secret", "retire", "--db", db); code != 1 || !strings.Contains(stderr, "1 parcel(s)") {
		t.Errorf("secret retire with a parcel waiting under the old key: exit %d %q; want a refusal", code, stderr)
	}

	srv = startServer(t, nil, args...)
	// The notice again: the same code, derived under the old key.
	var sh struct {
		TrackingCode string `json:"tracking_code"`
	}
	if status := call(t, "POST", srv.base+"/v1/shipments/"+oldID+"/notice", operator, nil, &sh); status != 200 {
		t.Fatalf("notice again after the rotation: %d", status)
	}
	if again := noticeCode(t, srv.base, operator, sh.TrackingCode); again != oldCode {
		t.Errorf("the notice sent again tells %q; want the old code", again)
	}
	_, newCompartment, newCode := park(srv.base)
	keypad := func(code string) (int, map[string]any) {
		var out map[string]any
		return call(t, "POST", srv.base+devices+"/keypad", device, map[string]string{"code": code}, &out), out
	}
	for _, p := range []struct {
		what, code  string
		compartment int
	}{{"the old key's code", oldCode, oldCompartment}, {"the new key's code", newCode, newCompartment}} {
		if status, out := keypad(p.code); status != 200 || out["purpose"] != "pick_up" {
			t.Fatalf("%s at the keypad: %d %v", p.what, status, out)
		}
		call(t, "POST", srv.base+devices+"/events", device, map[string]any{"type": "door_closed", "compartment": p.compartment}, nil)
	}
	srv.stop()

	// The locker's board key, sealed under the old key when it was
	// provisioned, is sealed again under the newest before the old one goes.
	if code, stdout, stderr := runCmd(t, "secret", "retire", "--db", db); code != 0 || !strings.Contains(stdout, "retired") ||
		!strings.Contains(stdout, "sealed 1 locker board key(s) again under key generation 1") {
		t.Fatalf("secret retire once nothing needs the old key: exit %d %q %q", code, stdout, stderr)
	}
	if lines := strings.Fields(readFile(t, db+".secret")); len(lines) != 1 || !strings.HasPrefix(lines[0], "1:") {
		t.Errorf("the secret file after retire: %q; want generation 1 alone", lines)
	}
	startServer(t, nil, args...).stop()
	st, err := sqlite.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := st.Webhook(t.Context(), hook.ID)
	st.Close()
	if gen, ok := locker.SealedUnder(stored.Secret); err != nil || !ok || gen != 1 {
		t.Errorf("the webhook's secret after the rotation: %q, %v; want it sealed under generation 1", stored.Secret, err)
	}
	// The old secret alone: refused.
	if err := os.WriteFile(db+".secret", []byte(strings.Fields(string(ring))[1]), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCmd(t, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...); code != 1 || !strings.Contains(stderr, "generation(s) 1") {
		t.Errorf("serving with the retired key alone: exit %d %q; want a refusal naming generation 1", code, stderr)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestWriteKeyring: a keyring written reads back the same, as the file's
// only content, 0600; and a write that cannot be completed (here the
// rename, onto a directory) is an error, the old content left as it was.
func TestWriteKeyring(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := dir + "/lokero.secret"
	keys := []locker.Key{{Generation: 2, Secret: []byte("0123456789abcdef0123456789abcdef")}, {Generation: 1, Secret: []byte("fedcba9876543210fedcba9876543210")}}
	if err := writeKeyring(path, keys); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseKeyring(string(raw))
	if err != nil || !slices.EqualFunc(got, keys, func(a, b locker.Key) bool {
		return a.Generation == b.Generation && string(a.Secret) == string(b.Secret)
	}) {
		t.Fatalf("read back %v, %v; want %v", got, err, keys)
	}
	if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v; want 0600", info.Mode().Perm(), err)
	}

	blocked := dir + "/a-directory"
	if err := os.Mkdir(blocked, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(blocked+"/inside", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	err = writeKeyring(blocked, keys)
	if err == nil || !strings.Contains(err.Error(), "code secret: write "+blocked) {
		t.Fatalf("writing over a directory: %v; want the write's error", err)
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 2 {
		t.Fatalf("the directory after the failed write: %v, %v; want the secret and the directory alone (no temporary file left)", entries, err)
	}
}

// TestSigningKeysSealed: the network's QR signing key (with it anyone can
// make a token that opens any waiting parcel's compartment at the
// scanner) and its VAPID key are kept in the database's settings sealed
// under the code secret, as the webhooks' secrets are, so that a backup of
// the database alone opens nothing; a key kept in clear before is sealed
// at the next start; `secret rotate` and a restart seal them again under
// the new key, and `secret retire` does so before it drops the old one,
// so that the keys never change and serve starts again.
func TestSigningKeysSealed(t *testing.T) {
	t.Parallel()
	db, args := storeArgs(t, "sqlite")
	args = append(args, "--no-demo")
	names := []string{settingQRKey, settingVAPIDKey}
	// read returns the settings as stored, and opened with the secret file.
	read := func() (stored, plain map[string]string) {
		t.Helper()
		keys, err := parseKeyring(readFile(t, db+".secret"))
		if err != nil {
			t.Fatal(err)
		}
		codes, err := locker.NewKeyring(keys...)
		if err != nil {
			t.Fatal(err)
		}
		st, err := sqlite.Open(t.Context(), db)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		stored, plain = map[string]string{}, map[string]string{}
		for _, name := range names {
			v, ok, err := st.Setting(t.Context(), name)
			if err != nil || !ok {
				t.Fatalf("setting %s: %v %v", name, ok, err)
			}
			p, err := codes.Open(sealPurposeSetting, []byte(name), v)
			if err != nil {
				t.Fatalf("setting %s does not open with the secret: %v", name, err)
			}
			stored[name], plain[name] = v, string(p)
		}
		return stored, plain
	}
	// check wants every key sealed under generation gen, the same keys as
	// want (when given), and none of them in clear in the database's files.
	check := func(when string, gen int, want map[string]string) map[string]string {
		t.Helper()
		stored, plain := read()
		for _, name := range names {
			if g, ok := locker.SealedUnder(stored[name]); !ok || g != gen {
				t.Errorf("%s: setting %s is %.24q…; want it sealed under generation %d", when, name, stored[name], gen)
			}
			if want != nil && plain[name] != want[name] {
				t.Errorf("%s: setting %s holds another key than before", when, name)
			}
			for _, f := range []string{db, db + "-wal"} {
				if b, err := os.ReadFile(f); err == nil && plain[name] != "" && strings.Contains(string(b), plain[name]) {
					t.Errorf("%s: %s holds %s in clear", when, f, name)
				}
			}
		}
		return plain
	}
	startServer(t, nil, args...).stop()
	first := check("first start", 0, nil)

	// Kept in clear by an older lokero: sealed at the next start.
	st, err := sqlite.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if err := st.SetSetting(t.Context(), name, first[name]); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	startServer(t, nil, args...).stop()
	check("a start after keys kept in clear", 0, first)

	// Rotated, then served: sealed under the new key.
	if code, stdout, stderr := runCmd(t, "secret", "rotate", "--db", db); code != 0 {
		t.Fatalf("secret rotate: exit %d %q %q", code, stdout, stderr)
	}
	startServer(t, nil, args...).stop()
	check("a start after secret rotate", 1, first)

	// Rotated and retired at once, without a start between: retire seals
	// them again before it drops the key they were sealed under.
	if code, stdout, stderr := runCmd(t, "secret", "rotate", "--db", db); code != 0 {
		t.Fatalf("secret rotate: exit %d %q %q", code, stdout, stderr)
	}
	if code, stdout, stderr := runCmd(t, "secret", "retire", "--db", db); code != 0 {
		t.Fatalf("secret retire: exit %d %q %q", code, stdout, stderr)
	}
	check("secret retire", 2, first)
	startServer(t, nil, args...).stop()
	check("a start after secret retire", 2, first)
}
