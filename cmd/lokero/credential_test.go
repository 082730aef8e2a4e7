package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/demo"
	"github.com/lokero/lokero/locker"
)

// listedCredential is a credential as `credential list --json` prints it.
type listedCredential struct {
	ID         string     `json:"id"`
	Kind       string     `json:"kind"`
	Name       string     `json:"name"`
	LocationID *string    `json:"location_id"`
	State      string     `json:"state"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
	RotatedAt  *time.Time `json:"rotated_at"`
}

// listCredentials runs `credential list --json` with the extra args.
func listCredentials(t *testing.T, db string, args ...string) map[string]listedCredential {
	t.Helper()
	code, stdout, stderr := runCmd(t, append([]string{"credential", "list", "--db", db, "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("credential list %v: exit %d: %s", args, code, stderr)
	}
	var out struct{ Credentials []listedCredential }
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("credential list --json: %v\n%s", err, stdout)
	}
	byName := map[string]listedCredential{}
	for _, c := range out.Credentials {
		byName[c.Name] = c
	}
	return byName
}

func TestCredentialAdminCommands(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "admin.db")
	base := startServe(t, "--db", db)
	keypad := base + "/v1/devices/" + demo.DemoLockerID + "/keypad"
	collections := base + "/v1/lockers/" + demo.DemoLockerID + "/collections"
	wrongCode := map[string]string{"code": "000000"}

	code, stdout, stderr := runCmd(t, "courier", "add", "--db", db, "--expires", "90d", "Kalle")
	if code != 0 || !strings.Contains(stdout, "expires 20") {
		t.Fatalf("courier add --expires 90d: exit %d %q %q; want its expiry told", code, stdout, stderr)
	}
	courier := lastLine(t, "courier", "add", "--db", db, "Kalle", "Kuski")
	_ = lastLine(t, "operator", "add", "--db", db, "--expires", "720h", "Olli")
	operator := lastLine(t, "operator", "add", "--db", db, "Outi")
	dev1 := lastLine(t, "locker", "provision", "--db", db, demo.DemoLockerID)

	// Re-provisioning revokes the older device, unless --keep-old.
	code, stdout, stderr = runCmd(t, "locker", "provision", "--db", db, demo.DemoLockerID)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	dev2 := lines[len(lines)-1]
	if code != 0 || !strings.Contains(stdout, "revoked 1 older device credential(s) of "+demo.DemoLockerID) || !strings.HasPrefix(dev2, "lkd_") {
		t.Fatalf("provision again: exit %d %q %q; want one older credential revoked, the token last", code, stdout, stderr)
	}
	code, stdout, stderr = runCmd(t, "locker", "provision", "--db", db, "--keep-old", "--expires", "1d", demo.DemoLockerID)
	lines = strings.Split(strings.TrimSpace(stdout), "\n")
	dev3 := lines[len(lines)-1]
	if code != 0 || !strings.Contains(stdout, "kept the older device credentials") || !strings.HasPrefix(dev3, "lkd_") {
		t.Fatalf("provision --keep-old: exit %d %q %q", code, stdout, stderr)
	}
	if status := call(t, "POST", keypad, dev1, wrongCode, nil); status != 401 {
		t.Errorf("the first device after re-provisioning: %d; want 401", status)
	}
	for _, token := range []string{dev2, dev3} {
		if status := call(t, "POST", keypad, token, wrongCode, nil); status == 401 {
			t.Errorf("a device token kept working answered 401")
		}
	}

	// The list: a table for people, JSON for machines.
	code, stdout, stderr = runCmd(t, "credential", "list", "--db", db)
	if code != 0 || !strings.Contains(stdout, "LAST USED") || !strings.Contains(stdout, "REVOKED") ||
		!strings.Contains(stdout, "Kalle Kuski") || !strings.Contains(stdout, "revoked") || !strings.Contains(stdout, "7 credential(s)") {
		t.Errorf("credential list: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, token := range []string{courier, operator, dev1, dev2, dev3} {
		if strings.Contains(stdout, token[4:]) {
			t.Errorf("credential list prints a token")
		}
	}
	all := listCredentials(t, db) // the three devices share a name
	if len(all) != 5 {
		t.Errorf("credentials by name: %+v; want Kalle, Kalle Kuski, Olli, Outi and the devices", all)
	}
	kalle, olli := all["Kalle"], all["Olli"]
	if kalle.ExpiresAt == nil || kalle.ExpiresAt.Sub(kalle.CreatedAt) != 90*24*time.Hour || kalle.State != "active" {
		t.Errorf("Kalle: %+v; want active, expiring 90 days after its creation", kalle)
	}
	if olli.ExpiresAt == nil || olli.ExpiresAt.Sub(olli.CreatedAt) != 720*time.Hour {
		t.Errorf("Olli: %+v; want expiring 720 h after its creation", olli)
	}
	if others := listCredentials(t, db, "--location", demo.DemoSmartpostID); len(others) != 0 {
		t.Errorf("the devices of %s: %+v; want none", demo.DemoSmartpostID, others)
	}
	code, stdout, _ = runCmd(t, "credential", "list", "--db", db, "--json", "--kind", "device")
	var devs struct{ Credentials []listedCredential }
	if err := json.Unmarshal([]byte(stdout), &devs); code != 0 || err != nil || len(devs.Credentials) != 3 ||
		devs.Credentials[0].State != "revoked" || devs.Credentials[1].State != "active" || devs.Credentials[2].ExpiresAt == nil ||
		devs.Credentials[0].LocationID == nil || *devs.Credentials[0].LocationID != demo.DemoLockerID {
		t.Errorf("credential list --json --kind device: exit %d, %v\n%s", code, err, stdout)
	}

	// Last use: recorded by the server, shown by the list.
	if status := call(t, "GET", base+"/v1/credentials?kind=operator", operator, nil, nil); status != 200 {
		t.Errorf("GET /v1/credentials as an operator: %d", status)
	}
	if outi := listCredentials(t, db)["Outi"]; outi.LastUsedAt == nil || time.Since(*outi.LastUsedAt) > time.Minute {
		t.Errorf("Outi after a request: %+v; want last used just now", outi)
	}

	// Rotation: the new token last, the old one dead.
	code, stdout, stderr = runCmd(t, "credential", "rotate", "--db", db, all["Kalle Kuski"].ID)
	lines = strings.Split(strings.TrimSpace(stdout), "\n")
	rotated := lines[len(lines)-1]
	if code != 0 || !strings.HasPrefix(rotated, "lkc_") || rotated == courier {
		t.Fatalf("credential rotate: exit %d %q %q; want the new courier token last", code, stdout, stderr)
	}
	if status := call(t, "GET", collections, courier, nil, nil); status != 401 {
		t.Errorf("the courier's old token after rotation: %d; want 401", status)
	}
	if status := call(t, "GET", collections, rotated, nil, nil); status != 200 {
		t.Errorf("the courier's new token: %d; want 200", status)
	}

	// Revocation, also of the last operator: the command line may.
	for _, name := range []string{"Olli", "Outi"} {
		code, stdout, stderr = runCmd(t, "credential", "revoke", "--db", db, all[name].ID)
		if code != 0 || !strings.Contains(stdout, "revoked") {
			t.Errorf("credential revoke %s: exit %d %q %q", name, code, stdout, stderr)
		}
	}
	if !strings.Contains(stderr, "no active operator credential is left") {
		t.Errorf("revoking the last operator does not warn: %q", stderr)
	}
	if status := call(t, "GET", base+"/v1/credentials", operator, nil, nil); status != 401 {
		t.Errorf("a revoked operator: %d; want 401", status)
	}

	// Unknown IDs and bad command lines.
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"credential", "revoke", "--db", db, "nobody"}, 1, `no credential with id "nobody"`},
		{[]string{"credential", "rotate", "--db", db, "courier_nobody"}, 1, `no credential with id "courier_nobody"`},
		{[]string{"credential", "rotate", "--db", db, all["Olli"].ID}, 1, "revoked"},
		{[]string{"credential", "list", "--db", db, "--kind", "admin"}, 1, "kind must be courier, device, operator or clerk"},
		{[]string{"credential"}, 2, "credential list"},
		{[]string{"credential", "frob"}, 2, `unknown credential command "frob"`},
		{[]string{"credential", "revoke", "--db", db}, 2, "exactly one credential ID"},
		{[]string{"credential", "rotate", "--db", db, "a", "b"}, 2, "exactly one credential ID"},
		{[]string{"credential", "list", "--db", db, "extra"}, 2, "takes no arguments"},
		{[]string{"courier", "add", "--db", db, "--expires", "0d", "X"}, 2, "--expires"},
		{[]string{"operator", "add", "--db", db, "--expires", "soon", "X"}, 2, "--expires"},
		{[]string{"locker", "provision", "--db", db, "--expires", "9999d", demo.DemoLockerID}, 2, "--expires"},
	} {
		code, _, stderr := runCmd(t, tt.args...)
		if code != tt.code || !strings.Contains(stderr, tt.want) {
			t.Errorf("lokero %v: exit %d %q; want %d and %q", tt.args, code, stderr, tt.code, tt.want)
		}
	}
}

// TestClerkAdd: `lokero clerk add --outlet ID NAME` makes a clerk's token
// that acts at that outlet only; a locker or an unknown outlet is refused
// naming the outlet, and the command needs both --outlet and NAME.
func TestClerkAdd(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "clerk.db")
	base := startServe(t, "--db", db)
	code, stdout, stderr := runCmd(t, "clerk", "add", "--db", db, "--outlet", "POSTOFFICE-00100", "Kaisa", "Kassa")
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	token := lines[len(lines)-1]
	if code != 0 || !strings.HasPrefix(token, "lkk_") || !strings.Contains(stdout, "at POSTOFFICE-00100") {
		t.Fatalf("clerk add: exit %d %q %q", code, stdout, stderr)
	}
	if status := call(t, "GET", base+"/v1/outlets/POSTOFFICE-00100", token, nil, nil); status != 200 {
		t.Errorf("the clerk's view of their outlet: %d; want 200", status)
	}
	if status := call(t, "GET", base+"/v1/outlets/POSTOFFICE-33100", token, nil, nil); status != 403 {
		t.Errorf("the clerk's view of another outlet: %d; want 403", status)
	}
	if c := listCredentials(t, db, "--kind", "clerk")["Kaisa Kassa"]; c.Kind != "clerk" || c.LocationID == nil || *c.LocationID != "POSTOFFICE-00100" {
		t.Errorf("credential list --kind clerk: %+v", c)
	}
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"clerk", "add", "--db", db, "--outlet", demo.DemoSmartpostID, "Kalle"}, 1, "outlet"},
		{[]string{"clerk", "add", "--db", db, "--outlet", "POSTOFFICE-NOWHERE", "Kalle"}, 1, "outlet"},
		{[]string{"clerk", "add", "--db", db, "Kalle"}, 2, "--outlet"},
		{[]string{"clerk"}, 2, "clerk add --outlet"},
	} {
		if code, _, stderr := runCmd(t, tt.args...); code != tt.code || !strings.Contains(stderr, tt.want) {
			t.Errorf("lokero %q: exit %d %q; want exit %d mentioning %q", tt.args, code, stderr, tt.code, tt.want)
		}
	}
}

// TestProvisionStoresTheBoardKey: `locker provision` and `credential
// rotate` store the key the locker's board derives from its token, sealed
// under the code secret serve uses; `credential list` shows none of it.
func TestProvisionStoresTheBoardKey(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := filepath.Join(t.TempDir(), "board.db")
	startServe(t, "--db", db)
	token := lastLine(t, "locker", "provision", "--db", db, demo.DemoLockerID)
	st, err := openStore(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	codes, _, _, err := loadSecret(ctx, st, db, "", secretOptions{}, newLogger(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	device := func() lokero.Credential {
		t.Helper()
		list, err := st.Credentials(ctx, lokero.CredentialFilter{Kind: lokero.KindDevice, LocationID: demo.DemoLockerID})
		if err != nil || len(list) != 1 {
			t.Fatalf("the locker's devices: %+v, %v; want one", list, err)
		}
		return list[0]
	}
	opensTo := func(what string, c lokero.Credential, token string) {
		t.Helper()
		key, err := codes.Open("board-key", []byte(c.ID), c.BoardKey)
		if err != nil || !bytes.Equal(key, locker.BoardKey(token)) || strings.Contains(c.BoardKey, hex.EncodeToString(key)) {
			t.Errorf("%s: the stored board key (%q) opens to %x, %v; want the key of its token, sealed", what, c.BoardKey, key, err)
		}
	}
	first := device()
	opensTo("provisioned", first, token)

	newToken := lastLine(t, "credential", "rotate", "--db", db, first.ID)
	rotated := device()
	if rotated.BoardKey == first.BoardKey {
		t.Fatal("a rotation kept the old token's board key")
	}
	opensTo("rotated", rotated, newToken)

	_, stdout, _ := runCmd(t, "credential", "list", "--db", db, "--json")
	if strings.Contains(stdout, "sealed:") || strings.Contains(stdout, rotated.BoardKey) {
		t.Errorf("credential list shows a board key:\n%s", stdout)
	}
}
