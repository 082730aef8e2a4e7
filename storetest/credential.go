package storetest

// Revocable credentials (issue #18). Besides the interface documentation
// in package lokero, the stores agree that:
//
//   - A credential's ExpiresAt, LastUsedAt, RevokedAt and RotatedAt are
//     stored as NULL when zero and come back as the zero time; set, they
//     are kept to the microsecond and come back in UTC.
//   - Revoked and expired credentials are still found by their token's
//     hash and by ID (the service refuses them), and listed.
//   - Rotation keeps the credential's ID, name, locker, creation and last
//     use; only the new hash finds it.
//   - No column of any table holds a token in clear (nor hex- or
//     base64-encoded): only its SHA-256 hash.

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lokero/lokero"
)

var credentialTests = []struct {
	name string
	fn   func(t *testing.T, s Store)
}{
	{"CredentialFields", testCredentialFields},
	{"CredentialList", testCredentialList},
	{"CredentialRevoke", testCredentialRevoke},
	{"CredentialRevokeLastOperatorConcurrent", testCredentialRevokeLastOperatorConcurrent},
	{"CredentialRotate", testCredentialRotate},
	{"CredentialSwapBoardKey", testCredentialSwapBoardKey},
	{"CredentialProvision", testCredentialProvision},
	{"CredentialProvisionConcurrent", testCredentialProvisionConcurrent},
	{"CredentialTouch", testCredentialTouch},
	{"CredentialEndSessions", testCredentialEndSessions},
	{"CredentialTokensOnlyHashed", testCredentialTokensOnlyHashed},
	{"CredentialRetiredCourierTokens", testCredentialRetiredCourierTokens},
}

// storedCredential is c as the store gives it back: every time in UTC, to
// the microsecond.
func storedCredential(c lokero.Credential) lokero.Credential {
	for _, t := range []*time.Time{&c.CreatedAt, &c.ExpiresAt, &c.LastUsedAt, &c.RevokedAt, &c.RotatedAt} {
		if !t.IsZero() {
			*t = t.UTC().Truncate(time.Microsecond)
		}
	}
	return c
}

// mustCreateCredentials stores the credentials, each with tokenHash(ID).
func mustCreateCredentials(t *testing.T, s Store, cs ...lokero.Credential) {
	t.Helper()
	for _, c := range cs {
		if err := s.CreateCredential(t.Context(), c, tokenHash(c.ID)); err != nil {
			t.Fatalf("CreateCredential(%s): %v", c.ID, err)
		}
	}
}

func checkCredential(t *testing.T, what string, got, want lokero.Credential) {
	t.Helper()
	for _, tm := range []time.Time{got.CreatedAt, got.ExpiresAt, got.LastUsedAt, got.RevokedAt, got.RotatedAt} {
		if !tm.IsZero() && tm.Location() != time.UTC {
			t.Errorf("%s: time %v not in UTC", what, tm)
		}
	}
	if want = storedCredential(want); !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func credentialIDs(list []lokero.Credential) []string {
	ids := make([]string, len(list))
	for i, c := range list {
		ids[i] = c.ID
	}
	return ids
}

func testCredentialFields(t *testing.T, s Store) {
	ctx := t.Context()
	expiring := lokero.Credential{ID: "c-exp", Kind: lokero.KindCourier, Name: "Kaisa", CreatedAt: t0.In(helsinki),
		ExpiresAt: t0.Add(90*24*time.Hour + 789).In(helsinki)}
	forever := lokero.Credential{ID: "o-1", Kind: lokero.KindOperator, Name: "Olli", CreatedAt: t0}
	mustCreateCredentials(t, s, expiring, forever)
	for _, want := range []lokero.Credential{expiring, forever} {
		got, err := s.CredentialByID(ctx, want.ID)
		if err != nil {
			t.Fatalf("CredentialByID(%s): %v", want.ID, err)
		}
		checkCredential(t, "CredentialByID("+want.ID+")", got, want)
		got, err = s.CredentialByTokenHash(ctx, tokenHash(want.ID))
		if err != nil {
			t.Fatalf("CredentialByTokenHash(%s): %v", want.ID, err)
		}
		checkCredential(t, "CredentialByTokenHash("+want.ID+")", got, want)
	}
	for _, id := range []string{"nobody", "", "C-EXP"} {
		_, err := s.CredentialByID(ctx, id)
		checkError(t, err, lokero.ENOTFOUND, "")
	}
	// The times of use, revocation and rotation start empty whatever the
	// caller sets: CreateCredential stores a new credential.
	busy := lokero.Credential{ID: "c-busy", Kind: lokero.KindCourier, CreatedAt: t0, LastUsedAt: t0, RevokedAt: t0, RotatedAt: t0}
	mustCreateCredentials(t, s, busy)
	got, err := s.CredentialByID(ctx, busy.ID)
	if err != nil {
		t.Fatal(err)
	}
	checkCredential(t, "a new credential", got, lokero.Credential{ID: busy.ID, Kind: busy.Kind, CreatedAt: t0})
}

func testCredentialList(t *testing.T, s Store) {
	ctx := t.Context()
	mustCreateCredentials(t, s,
		lokero.Credential{ID: "d-b", Kind: lokero.KindDevice, LocationID: "locker-1", CreatedAt: t0.Add(time.Hour)},
		lokero.Credential{ID: "d-a", Kind: lokero.KindDevice, LocationID: "locker-1", CreatedAt: t0.Add(time.Hour)},
		lokero.Credential{ID: "d-c", Kind: lokero.KindDevice, LocationID: "locker-2", CreatedAt: t0},
		lokero.Credential{ID: "c-1", Kind: lokero.KindCourier, CreatedAt: t0.Add(2 * time.Hour)},
		lokero.Credential{ID: "o-1", Kind: lokero.KindOperator, CreatedAt: t0.Add(-time.Hour)},
	)
	if _, err := s.RevokeCredential(ctx, "d-b", t0.Add(3*time.Hour), false); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		filter lokero.CredentialFilter
		want   []string
	}{
		{lokero.CredentialFilter{}, []string{"o-1", "d-c", "d-a", "d-b", "c-1"}},
		{lokero.CredentialFilter{Kind: lokero.KindDevice}, []string{"d-c", "d-a", "d-b"}},
		{lokero.CredentialFilter{LocationID: "locker-1"}, []string{"d-a", "d-b"}},
		{lokero.CredentialFilter{Kind: lokero.KindDevice, LocationID: "locker-2"}, []string{"d-c"}},
		{lokero.CredentialFilter{Kind: lokero.KindCourier, LocationID: "locker-1"}, []string{}},
		{lokero.CredentialFilter{Kind: "nobody"}, []string{}},
	} {
		list, err := s.Credentials(ctx, tt.filter)
		if err != nil {
			t.Fatalf("Credentials(%+v): %v", tt.filter, err)
		}
		if got := credentialIDs(list); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Credentials(%+v) = %v; want %v (oldest first, then by ID)", tt.filter, got, tt.want)
		}
		for _, c := range list {
			if c.ID == "d-b" && !c.RevokedAt.Equal(t0.Add(3*time.Hour)) {
				t.Errorf("listed d-b revoked at %v; want %v", c.RevokedAt, t0.Add(3*time.Hour))
			}
		}
	}
}

func testCredentialRevoke(t *testing.T, s Store) {
	ctx := t.Context()
	courier := lokero.Credential{ID: "c-1", Kind: lokero.KindCourier, Name: "Kaisa", CreatedAt: t0}
	op1 := lokero.Credential{ID: "o-1", Kind: lokero.KindOperator, CreatedAt: t0}
	op2 := lokero.Credential{ID: "o-2", Kind: lokero.KindOperator, CreatedAt: t0}
	expiredOp := lokero.Credential{ID: "o-old", Kind: lokero.KindOperator, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	mustCreateCredentials(t, s, courier, op1, op2, expiredOp)
	at := t0.Add(2 * time.Hour).In(helsinki)

	got, err := s.RevokeCredential(ctx, courier.ID, at, true)
	if err != nil {
		t.Fatalf("revoke a courier: %v", err)
	}
	want := courier
	want.RevokedAt = at
	checkCredential(t, "the revoked courier", got, want)
	// Revoking again keeps the first time; the token's hash still finds it.
	if got, err = s.RevokeCredential(ctx, courier.ID, at.Add(time.Hour), false); err != nil {
		t.Fatal(err)
	}
	checkCredential(t, "revoked twice", got, want)
	if got, err = s.CredentialByTokenHash(ctx, tokenHash(courier.ID)); err != nil {
		t.Fatal(err)
	}
	checkCredential(t, "a revoked credential by its hash", got, want)
	_, err = s.RevokeCredential(ctx, "nobody", at, false)
	checkError(t, err, lokero.ENOTFOUND, "")

	// Two active operators: one may go; the last one (the expired one does
	// not count) may not, unless the caller does not ask to keep one.
	if _, err := s.RevokeCredential(ctx, op1.ID, at, true); err != nil {
		t.Fatalf("revoke one of two operators: %v", err)
	}
	_, err = s.RevokeCredential(ctx, op2.ID, at, true)
	checkError(t, err, lokero.ECONFLICT, "last_operator")
	if got, _ := s.CredentialByID(ctx, op2.ID); !got.RevokedAt.IsZero() {
		t.Errorf("a refused revocation revoked %s at %v", op2.ID, got.RevokedAt)
	}
	// The expired operator is not active: revoking it is fine.
	if _, err := s.RevokeCredential(ctx, expiredOp.ID, at, true); err != nil {
		t.Errorf("revoke an expired operator credential: %v", err)
	}
	if got, err = s.RevokeCredential(ctx, op2.ID, at, false); err != nil || !got.RevokedAt.Equal(at) {
		t.Errorf("revoke the last operator without keeping one: %+v, %v", got, err)
	}
}

func testCredentialRevokeLastOperatorConcurrent(t *testing.T, s Store) {
	ctx := t.Context()
	const n = 4
	for i := range n {
		mustCreateCredentials(t, s, lokero.Credential{ID: fmt.Sprintf("o-%d", i), Kind: lokero.KindOperator, CreatedAt: t0})
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = s.RevokeCredential(ctx, fmt.Sprintf("o-%d", i), t0.Add(time.Hour), true)
		})
	}
	wg.Wait()
	refused := 0
	for i, err := range errs {
		if err != nil {
			checkError(t, err, lokero.ECONFLICT, "last_operator")
			refused++
		} else if c, _ := s.CredentialByID(ctx, fmt.Sprintf("o-%d", i)); c.RevokedAt.IsZero() {
			t.Errorf("o-%d: revocation succeeded but it is not revoked", i)
		}
	}
	if refused != 1 {
		t.Errorf("%d of %d concurrent revocations of every operator refused; want exactly 1 (one operator left)", refused, n)
	}
}

func testCredentialRotate(t *testing.T, s Store) {
	ctx := t.Context()
	device := lokero.Credential{ID: "d-1", Kind: lokero.KindDevice, Name: "M5", LocationID: "locker-1",
		CreatedAt: t0, ExpiresAt: t0.Add(24 * time.Hour), BoardKey: "sealed:v1:1:first"}
	other := lokero.Credential{ID: "c-1", Kind: lokero.KindCourier, CreatedAt: t0}
	mustCreateCredentials(t, s, device, other)
	if got, err := s.CredentialByID(ctx, device.ID); err != nil || got.BoardKey != device.BoardKey {
		t.Fatalf("a device's board key as stored: %q, %v; want %q", got.BoardKey, err, device.BoardKey)
	}
	if err := s.TouchCredential(ctx, device.ID, t0.Add(time.Minute), t0); err != nil {
		t.Fatal(err)
	}
	at := t0.Add(30 * time.Hour).In(helsinki)
	got, err := s.RotateCredential(ctx, device.ID, tokenHash("new"), "sealed:v1:1:second", at, at.Add(24*time.Hour))
	if err != nil {
		t.Fatalf("RotateCredential: %v", err)
	}
	want := device
	want.LastUsedAt, want.RotatedAt, want.ExpiresAt, want.BoardKey = t0.Add(time.Minute), at, at.Add(24*time.Hour), "sealed:v1:1:second"
	checkCredential(t, "rotated", got, want)
	if _, err := s.CredentialByTokenHash(ctx, tokenHash(device.ID)); lokero.ErrorCode(err) != lokero.ENOTFOUND {
		t.Errorf("the old token's hash after rotation: %v; want ENOTFOUND", err)
	}
	if got, err = s.CredentialByTokenHash(ctx, tokenHash("new")); err != nil {
		t.Fatalf("the new token's hash: %v", err)
	}
	checkCredential(t, "rotated, by the new hash", got, want)
	// A zero expiry: never.
	if got, err = s.RotateCredential(ctx, device.ID, tokenHash("newer"), "", at, time.Time{}); err != nil || !got.ExpiresAt.IsZero() {
		t.Errorf("rotate to no expiry: %+v, %v", got, err)
	}

	_, err = s.RotateCredential(ctx, device.ID, tokenHash(other.ID), "", at, time.Time{})
	checkError(t, err, lokero.ECONFLICT, "duplicate_token")
	_, err = s.RotateCredential(ctx, "nobody", tokenHash("x"), "", at, time.Time{})
	checkError(t, err, lokero.ENOTFOUND, "")

	if _, err := s.RevokeCredential(ctx, device.ID, at, false); err != nil {
		t.Fatal(err)
	}
	_, err = s.RotateCredential(ctx, device.ID, tokenHash("revived"), "", at, time.Time{})
	checkError(t, err, lokero.ECONFLICT, "revoked")
	if _, err := s.CredentialByTokenHash(ctx, tokenHash("revived")); lokero.ErrorCode(err) != lokero.ENOTFOUND {
		t.Errorf("a refused rotation stored its hash: %v", err)
	}
	if got, err := s.CredentialByTokenHash(ctx, tokenHash("newer")); err != nil || got.RevokedAt.IsZero() {
		t.Errorf("a revoked credential after a refused rotation: %+v, %v; want it found by its hash, revoked", got, err)
	}
}

func testCredentialProvision(t *testing.T, s Store) {
	ctx := t.Context()
	d1 := lokero.Credential{ID: "d-1", Kind: lokero.KindDevice, LocationID: "locker-1", CreatedAt: t0}
	d2 := lokero.Credential{ID: "d-2", Kind: lokero.KindDevice, LocationID: "locker-1", CreatedAt: t0.Add(time.Minute)}
	gone := lokero.Credential{ID: "d-0", Kind: lokero.KindDevice, LocationID: "locker-1", CreatedAt: t0}
	elsewhere := lokero.Credential{ID: "d-3", Kind: lokero.KindDevice, LocationID: "locker-2", CreatedAt: t0}
	courier := lokero.Credential{ID: "c-1", Kind: lokero.KindCourier, CreatedAt: t0}
	mustCreateCredentials(t, s, d2, d1, gone, elsewhere, courier)
	goneAt := t0.Add(time.Hour)
	if _, err := s.RevokeCredential(ctx, gone.ID, goneAt, false); err != nil {
		t.Fatal(err)
	}

	// A refused provisioning (the ID is in use) revokes nothing.
	at := t0.Add(2 * time.Hour)
	_, err := s.ProvisionCredential(ctx, lokero.Credential{ID: d1.ID, Kind: lokero.KindDevice, LocationID: "locker-1", CreatedAt: at}, tokenHash("x"))
	checkError(t, err, lokero.ECONFLICT, "duplicate_id")
	if c, _ := s.CredentialByID(ctx, d1.ID); !c.RevokedAt.IsZero() {
		t.Errorf("a refused provisioning revoked %s", d1.ID)
	}

	d4 := lokero.Credential{ID: "d-4", Kind: lokero.KindDevice, LocationID: "locker-1", CreatedAt: at.In(helsinki), ExpiresAt: at.Add(time.Hour)}
	revoked, err := s.ProvisionCredential(ctx, d4, tokenHash(d4.ID))
	if err != nil {
		t.Fatalf("ProvisionCredential: %v", err)
	}
	if got := credentialIDs(revoked); !reflect.DeepEqual(got, []string{"d-1", "d-2"}) {
		t.Fatalf("revoked %v; want [d-1 d-2] (the locker's active devices, oldest first)", got)
	}
	for i, want := range []lokero.Credential{d1, d2} {
		want.RevokedAt = at
		checkCredential(t, "revoked by provisioning", revoked[i], want)
		got, err := s.CredentialByID(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		checkCredential(t, "stored after provisioning", got, want)
	}
	got, err := s.CredentialByTokenHash(ctx, tokenHash(d4.ID))
	if err != nil {
		t.Fatal(err)
	}
	checkCredential(t, "the provisioned device", got, d4)
	for id, wantRevoked := range map[string]time.Time{gone.ID: goneAt, elsewhere.ID: {}, courier.ID: {}} {
		if c, err := s.CredentialByID(ctx, id); err != nil || !c.RevokedAt.Equal(wantRevoked) {
			t.Errorf("%s after provisioning locker-1: revoked at %v, %v; want %v", id, c.RevokedAt, err, wantRevoked)
		}
	}
}

func testCredentialTouch(t *testing.T, s Store) {
	ctx := t.Context()
	c := lokero.Credential{ID: "c-1", Kind: lokero.KindCourier, CreatedAt: t0}
	mustCreateCredentials(t, s, c)
	lastUsed := func() time.Time {
		t.Helper()
		got, err := s.CredentialByID(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got.LastUsedAt
	}
	if !lastUsed().IsZero() {
		t.Fatal("a new credential was used")
	}
	for _, tt := range []struct {
		what          string
		at, notBefore time.Time
		want          time.Time
	}{
		{"first use", t0.Add(time.Minute).In(helsinki), t0, t0.Add(time.Minute)},
		{"within the minute", t0.Add(90 * time.Second), t0.Add(30 * time.Second), t0.Add(time.Minute)},
		{"a minute on", t0.Add(2 * time.Minute), t0.Add(time.Minute), t0.Add(2 * time.Minute)},
		{"backwards", t0.Add(-time.Hour), t0.Add(-2 * time.Hour), t0.Add(2 * time.Minute)},
	} {
		if err := s.TouchCredential(ctx, c.ID, tt.at, tt.notBefore); err != nil {
			t.Fatalf("%s: %v", tt.what, err)
		}
		if got := lastUsed(); !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("%s: last used %v; want %v in UTC", tt.what, got, tt.want)
		}
	}
	if err := s.TouchCredential(ctx, "nobody", t0, t0); err != nil {
		t.Errorf("touching an unknown credential: %v", err)
	}
}

// testCredentialEndSessions moves a credential's SessionsEndedAt forward
// only, to the microsecond, and touches no other credential.
func testCredentialEndSessions(t *testing.T, s Store) {
	ctx := t.Context()
	c, other := lokero.Credential{ID: "c-1", Kind: lokero.KindOperator, CreatedAt: t0}, lokero.Credential{ID: "c-2", Kind: lokero.KindOperator, CreatedAt: t0}
	mustCreateCredentials(t, s, c, other)
	ended := func(id string) time.Time {
		t.Helper()
		got, err := s.CredentialByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return got.SessionsEndedAt
	}
	if !ended(c.ID).IsZero() {
		t.Fatal("a new credential's sessions were ended")
	}
	for _, tt := range []struct {
		what     string
		at, want time.Time
	}{
		{"first sign-out", t0.Add(time.Minute + 999).In(helsinki), t0.Add(time.Minute)},
		{"a later one", t0.Add(time.Hour), t0.Add(time.Hour)},
		{"backwards", t0.Add(time.Minute), t0.Add(time.Hour)},
	} {
		if err := s.EndSessions(ctx, c.ID, tt.at); err != nil {
			t.Fatalf("%s: %v", tt.what, err)
		}
		if got := ended(c.ID); !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("%s: sessions ended at %v; want %v in UTC", tt.what, got, tt.want)
		}
	}
	if got := ended(other.ID); !got.IsZero() {
		t.Errorf("the other credential's sessions ended at %v; want never", got)
	}
	if list, err := s.Credentials(ctx, lokero.CredentialFilter{}); err != nil || len(list) != 2 || !list[0].SessionsEndedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("Credentials = %+v, %v; want c-1 listed with its sessions ended at %v", list, err, t0.Add(time.Hour))
	}
	if err := s.EndSessions(ctx, "nobody", t0); err != nil {
		t.Errorf("ending an unknown credential's sessions: %v", err)
	}
}

// testCredentialTokensOnlyHashed gives the store credentials as the
// service does (the SHA-256 hash of a token, never the token), creates,
// rotates, provisions, touches and revokes them, then reads every column
// of every table: none holds a token in clear, hex or base64; the current
// token's hash is there (so the scan reads what the store wrote).
func testCredentialTokensOnlyHashed(t *testing.T, s Store) {
	ctx := t.Context()
	raw, ok := s.(interface{ SQL() *sql.DB })
	if !ok {
		t.Fatalf("the store (%T) does not give its SQL handle (SQL() *sql.DB): its columns cannot be checked", s)
	}
	hash := func(token string) []byte { h := sha256.Sum256([]byte(token)); return h[:] }
	tokens := map[string]string{ // ID → token, as the service spells them
		"courier_1":  "lkc_" + strings.Repeat("abcdefgh", 6) + "ijkl",
		"device_1":   "lkd_" + strings.Repeat("mnopqrst", 6) + "uvwx",
		"operator_1": "lko_" + strings.Repeat("yz234567", 6) + "abcd",
	}
	for id, token := range tokens {
		kind := lokero.CredentialKind(strings.TrimSuffix(id, "_1"))
		c := lokero.Credential{ID: id, Kind: kind, Name: "name " + id, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
		if kind == lokero.KindDevice {
			c.LocationID = "locker-1"
			if _, err := s.ProvisionCredential(ctx, c, hash(token)); err != nil {
				t.Fatal(err)
			}
		} else if err := s.CreateCredential(ctx, c, hash(token)); err != nil {
			t.Fatal(err)
		}
		if err := s.TouchCredential(ctx, id, t0.Add(time.Minute), t0); err != nil {
			t.Fatal(err)
		}
	}
	rotated := "lkc_" + strings.Repeat("rotatedx", 6) + "yzab"
	if _, err := s.RotateCredential(ctx, "courier_1", hash(rotated), "", t0.Add(time.Hour), time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RevokeCredential(ctx, "device_1", t0.Add(time.Hour), false); err != nil {
		t.Fatal(err)
	}
	tokens["courier_1 rotated"] = rotated

	var forbidden [][]byte
	for _, token := range tokens {
		secret := token[len("lkc_"):]
		for _, v := range []string{token, secret, strings.ToUpper(secret), hex.EncodeToString([]byte(token)),
			base64.StdEncoding.EncodeToString([]byte(token)), base64.RawURLEncoding.EncodeToString([]byte(token))} {
			forbidden = append(forbidden, []byte(v))
		}
	}
	current := hash(rotated)
	foundHash := false
	tables := storeTables(t, raw.SQL())
	if len(tables) == 0 {
		t.Fatal("no tables found")
	}
	for _, table := range tables {
		rows, err := raw.SQL().QueryContext(ctx, `SELECT * FROM "`+table+`"`)
		if err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		cols, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("read %s: %v", table, err)
			}
			for i, v := range vals {
				var b []byte
				switch v := v.(type) {
				case []byte:
					b = v
				case string:
					b = []byte(v)
				default:
					b = fmt.Appendf(nil, "%v", v)
				}
				if bytes.Equal(b, current) {
					foundHash = true
				}
				for _, f := range forbidden {
					if bytes.Contains(bytes.ToLower(b), bytes.ToLower(f)) {
						t.Errorf("%s.%s holds a token in clear: %.80q", table, cols[i], b)
					}
				}
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		rows.Close()
	}
	if !foundHash {
		t.Errorf("no column of %v holds the current token's SHA-256 hash: the scan missed the credentials", tables)
	}
}

// storeTables lists the tables of the store's database: PostgreSQL's
// (information_schema) or SQLite's (sqlite_master).
func storeTables(t *testing.T, db *sql.DB) []string {
	t.Helper()
	query := `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`
	if _, err := db.ExecContext(t.Context(), `SELECT 1 FROM information_schema.tables LIMIT 1`); err != nil {
		query = `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`
	}
	rows, err := db.QueryContext(t.Context(), query)
	if err != nil {
		t.Fatalf("list the tables: %v", err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return names
}

// testCredentialProvisionConcurrent provisions one locker from many
// transactions at once, each with a device credential of its own: every
// provisioning revokes the locker's other devices, so however they
// interleave, one device is left active (one whose provisioning did not
// see another's new row would leave both).
func testCredentialProvisionConcurrent(t *testing.T, s Store) {
	ctx := t.Context()
	const n = 8
	for round := range 5 {
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			c := lokero.Credential{ID: fmt.Sprintf("d-%d-%d", round, i), Kind: lokero.KindDevice,
				LocationID: "locker-1", CreatedAt: t0.Add(time.Duration(round) * time.Hour)}
			wg.Go(func() {
				<-start
				if _, err := s.ProvisionCredential(ctx, c, tokenHash(c.ID)); err != nil {
					t.Errorf("ProvisionCredential %s: %v", c.ID, err)
				}
			})
		}
		close(start)
		wg.Wait()
		list, err := s.Credentials(ctx, lokero.CredentialFilter{Kind: lokero.KindDevice, LocationID: "locker-1"})
		if err != nil {
			t.Fatal(err)
		}
		var active []string
		for _, c := range list {
			if c.RevokedAt.IsZero() {
				active = append(active, c.ID)
			}
		}
		if len(active) != 1 {
			t.Fatalf("round %d: %d provisionings at once left %v active; want one device", round, n, active)
		}
	}
}
