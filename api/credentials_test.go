package api_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/api"
	"github.com/lokero/lokero/demo"
	"github.com/lokero/lokero/service"
)

// credFixture is a server over the demo network with locker operations,
// its locker service and test clock, and a token of each kind.
type credFixture struct {
	shipFixture
	lockers                     *service.Lockers
	clock                       *lokero.DevClock
	courier, device, operator   string // tokens
	courierID, deviceID, opID   string
	collections, keypad, locker string // a courier's, a device's and an operator's endpoint
}

func newCredFixture(t *testing.T) credFixture {
	t.Helper()
	ctx := context.Background()
	p := newDemoPlatform(t)
	st, dir, clock, log := p.st, p.dir, p.clock, p.log
	lockers := p.lockers
	f := credFixture{lockers: lockers, clock: clock,
		collections: "/v1/lockers/" + demo.DemoLockerID + "/collections",
		keypad:      "/v1/devices/" + demo.DemoLockerID + "/keypad",
		locker:      "/v1/lockers/" + demo.DemoLockerID}
	for _, c := range []struct {
		kind       lokero.CredentialKind
		locationID string
		id, token  *string
	}{
		{lokero.KindCourier, "", &f.courierID, &f.courier},
		{lokero.KindDevice, demo.DemoLockerID, &f.deviceID, &f.device},
		{lokero.KindOperator, "", &f.opID, &f.operator},
	} {
		clock.Advance(time.Second) // listed in this order
		cred, token, err := lockers.AddCredential(ctx, c.kind, "the "+string(c.kind), c.locationID)
		if err != nil {
			t.Fatal(err)
		}
		*c.id, *c.token = cred.ID, token
	}
	srv := api.New(dir, st, log)
	srv.EnableLockers(lockers, api.LockerOptions{})
	srv.SetReady(true)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	f.shipFixture = shipFixture{server: ts, router: newShipFixture(t).router}
	return f
}

// credentialAnswer is a credential in an answer.
type credentialAnswer struct {
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

func (f credFixture) list(t *testing.T, query string) []credentialAnswer {
	t.Helper()
	status, _, out := f.do(t, "GET", "/v1/credentials"+query, f.operator, nil)
	if status != 200 {
		t.Fatalf("GET /v1/credentials%s: %d %s", query, status, out)
	}
	return decode[struct{ Credentials []credentialAnswer }](t, out).Credentials
}

// checkStatus fails the test unless the request answers want (and, for
// 4xx, the error code when one is given).
func (f credFixture) checkStatus(t *testing.T, method, path, token string, want int, code string) []byte {
	t.Helper()
	status, _, out := f.do(t, method, path, token, nil)
	if status != want {
		t.Errorf("%s %s: %d %s; want %d", method, path, status, out, want)
	} else if code != "" {
		if got := decode[apiError](t, out).Error.Code; got != code {
			t.Errorf("%s %s: error %q (%s); want %q", method, path, got, out, code)
		}
	}
	return out
}

func TestCredentialsListHTTP(t *testing.T) {
	t.Parallel()
	f := newCredFixture(t)
	f.checkStatus(t, "GET", f.collections, f.courier, 200, "") // a use to show
	all := f.list(t, "")
	var ids []string
	for _, c := range all {
		ids = append(ids, c.ID)
	}
	if want := []string{f.courierID, f.deviceID, f.opID}; fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Fatalf("listed %v; want %v, oldest first", ids, want)
	}
	courier, device, op := all[0], all[1], all[2]
	if courier.Kind != "courier" || courier.Name != "the courier" || courier.LocationID != nil || courier.State != "active" ||
		courier.ExpiresAt != nil || courier.RevokedAt != nil || courier.RotatedAt != nil ||
		courier.LastUsedAt == nil || !courier.LastUsedAt.Equal(f.clock.Now()) {
		t.Errorf("the courier: %+v; want active, never expiring, used now", courier)
	}
	if device.LocationID == nil || *device.LocationID != demo.DemoLockerID || device.LastUsedAt != nil {
		t.Errorf("the device: %+v; want its locker, never used", device)
	}
	if op.LastUsedAt == nil {
		t.Errorf("the operator listing: %+v; want its use recorded", op)
	}

	for _, tt := range []struct {
		query string
		want  []string
	}{
		{"?kind=device", []string{f.deviceID}},
		{"?kind=operator", []string{f.opID}},
		{"?location_id=" + demo.DemoLockerID, []string{f.deviceID}},
		{"?kind=courier&location_id=" + demo.DemoLockerID, nil},
		{"?location_id=nowhere", nil},
		{"?_=123", []string{f.courierID, f.deviceID, f.opID}},
	} {
		var got []string
		for _, c := range f.list(t, tt.query) {
			got = append(got, c.ID)
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("GET /v1/credentials%s: %v; want %v", tt.query, got, tt.want)
		}
	}
	for _, tt := range []struct{ query, field, code string }{
		{"?kind=admin", "kind", "unknown_kind"},
		{"?knd=device", "knd", "unknown_parameter"},
		{"?location=x", "location", "unknown_parameter"},
		{"?kind=device&kind=courier", "kind", "duplicate_parameter"},
		{"?location_id=" + strings.Repeat("x", 5000), "location_id", "too_long"},
	} {
		status, _, out := f.do(t, "GET", "/v1/credentials"+tt.query, f.operator, nil)
		if e := decode[apiError](t, out).Error; status != 400 || e.Field != tt.field || e.Code != tt.code {
			t.Errorf("GET /v1/credentials%.40s: %d %s; want 400 %s naming %s", tt.query, status, out, tt.code, tt.field)
		}
	}

	// Nothing secret in the answer: no token, no hash in any spelling.
	_, _, out := f.do(t, "GET", "/v1/credentials", f.operator, nil)
	for _, token := range []string{f.courier, f.device, f.operator} {
		h := service.HashKey(token)
		for _, secret := range []string{token, token[4:], hex.EncodeToString(h), base64.StdEncoding.EncodeToString(h),
			base64.RawURLEncoding.EncodeToString(h)} {
			if strings.Contains(strings.ToLower(string(out)), strings.ToLower(secret)) {
				t.Errorf("the list tells a token or its hash (%.8s…): %s", secret, out)
			}
		}
	}
	if strings.Contains(string(out), "hash") {
		t.Errorf("the list has a hash field: %s", out)
	}
}

func TestCredentialsAuthHTTP(t *testing.T) {
	t.Parallel()
	f := newCredFixture(t)
	for _, route := range []struct{ method, path string }{
		{"GET", "/v1/credentials"},
		{"POST", "/v1/credentials/" + f.courierID + "/revoke"},
		{"POST", "/v1/credentials/" + f.courierID + "/rotate"},
	} {
		for who, token := range map[string]string{"anonymous": "", "courier": f.courier, "device": f.device,
			"a wrong operator token": "lko_" + strings.Repeat("a", 52)} {
			status, _, out := f.do(t, route.method, route.path, token, nil)
			if status != 401 {
				t.Errorf("%s %s as %s: %d %s; want 401", route.method, route.path, who, status, out)
			}
		}
	}
	// None of them revoked or rotated anything.
	f.checkStatus(t, "GET", f.collections, f.courier, 200, "")
}

func TestCredentialRevokeRotateHTTP(t *testing.T) {
	t.Parallel()
	f := newCredFixture(t)
	ctx := context.Background()

	// Rotation: the new token works at once, the old one answers 401.
	status, headers, out := f.do(t, "POST", "/v1/credentials/"+f.courierID+"/rotate", f.operator, nil)
	rot := decode[struct {
		Credential credentialAnswer
		Token      string
	}](t, out)
	if status != 200 || rot.Credential.ID != f.courierID || !strings.HasPrefix(rot.Token, "lkc_") || rot.Token == f.courier ||
		rot.Credential.RotatedAt == nil || rot.Credential.State != "active" {
		t.Fatalf("rotate the courier: %d %s", status, out)
	}
	if cc := headers.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("the answer with a new token may be cached: Cache-Control %q", cc)
	}
	f.checkStatus(t, "GET", f.collections, f.courier, 401, "invalid_token")
	f.checkStatus(t, "GET", f.collections, rot.Token, 200, "")
	if !strings.Contains(string(out), rot.Token) || strings.Count(string(out), "lkc_") != 1 {
		t.Errorf("the rotation answers more than its one new token: %s", out)
	}

	// Revocation: for good, and twice is the same.
	out = f.checkStatus(t, "POST", "/v1/credentials/"+f.deviceID+"/revoke", f.operator, 200, "")
	rev := decode[struct{ Credential credentialAnswer }](t, out).Credential
	if rev.State != "revoked" || rev.RevokedAt == nil || !rev.RevokedAt.Equal(f.clock.Now()) {
		t.Errorf("revoked device: %s", out)
	}
	f.checkStatus(t, "POST", f.keypad, f.device, 401, "invalid_token")
	f.clock.Advance(time.Hour)
	out = f.checkStatus(t, "POST", "/v1/credentials/"+f.deviceID+"/revoke", f.operator, 200, "")
	if again := decode[struct{ Credential credentialAnswer }](t, out).Credential; !again.RevokedAt.Equal(*rev.RevokedAt) {
		t.Errorf("revoked twice: %s; want the first time kept", out)
	}
	f.checkStatus(t, "POST", "/v1/credentials/"+f.deviceID+"/rotate", f.operator, 409, "revoked")
	f.checkStatus(t, "POST", f.keypad, f.device, 401, "invalid_token")

	for _, id := range []string{"nobody", "courier_" + strings.Repeat("x", 13), "%00", strings.Repeat("x", 300)} {
		f.checkStatus(t, "POST", "/v1/credentials/"+id+"/revoke", f.operator, 404, "")
		f.checkStatus(t, "POST", "/v1/credentials/"+id+"/rotate", f.operator, 404, "")
	}
	f.checkStatus(t, "POST", "/v1/credentials/"+f.courierID+"/revoke?now=1", f.operator, 400, "unknown_parameter")
	f.checkStatus(t, "GET", "/v1/credentials/"+f.courierID+"/revoke", f.operator, 405, "")

	// An expired token answers as a wrong one.
	c, token, _, err := f.lockers.IssueCredential(ctx, service.CredentialRequest{Kind: lokero.KindCourier, Name: "kesä", ValidFor: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	f.checkStatus(t, "GET", f.collections, token, 200, "")
	f.clock.Advance(time.Hour)
	_, _, expired := f.do(t, "GET", f.collections, token, nil)
	status, _, wrong := f.do(t, "GET", f.collections, "lkc_"+strings.Repeat("b", 52), nil)
	if status != 401 || string(expired) != string(wrong) {
		t.Errorf("an expired token: %s; want the answer to a wrong one, %d %s", expired, status, wrong)
	}
	listed := f.list(t, "?kind=courier")
	if len(listed) != 2 || listed[1].ID != c.ID || listed[1].State != "expired" || listed[1].ExpiresAt == nil {
		t.Errorf("couriers after one expired: %+v", listed)
	}
	// Rotating it renews it for as long again.
	out = f.checkStatus(t, "POST", "/v1/credentials/"+c.ID+"/rotate", f.operator, 200, "")
	renewed := decode[struct {
		Credential credentialAnswer
		Token      string
	}](t, out)
	if renewed.Credential.State != "active" || !renewed.Credential.ExpiresAt.Equal(f.clock.Now().Add(time.Hour)) {
		t.Errorf("rotating an expired credential: %s; want active for another hour", out)
	}
	f.checkStatus(t, "GET", f.collections, renewed.Token, 200, "")
}

func TestCredentialLastOperatorHTTP(t *testing.T) {
	t.Parallel()
	f := newCredFixture(t)
	ctx := context.Background()
	out := f.checkStatus(t, "POST", "/v1/credentials/"+f.opID+"/revoke", f.operator, 409, "last_operator")
	if msg := decode[apiError](t, out).Error.Message; !strings.Contains(msg, "lokero credential revoke") {
		t.Errorf("the refusal does not say how to do it anyway: %q", msg)
	}
	f.checkStatus(t, "GET", f.locker, f.operator, 200, "")

	// With a second operator, either may go, but not both.
	other, otherToken, err := f.lockers.AddCredential(ctx, lokero.KindOperator, "Outi", "")
	if err != nil {
		t.Fatal(err)
	}
	f.checkStatus(t, "POST", "/v1/credentials/"+f.opID+"/revoke", otherToken, 200, "")
	f.checkStatus(t, "GET", f.locker, f.operator, 401, "invalid_token")
	f.checkStatus(t, "POST", "/v1/credentials/"+other.ID+"/revoke", otherToken, 409, "last_operator")
	// Rotating the last one locks nobody out: the answer has the new token.
	out = f.checkStatus(t, "POST", "/v1/credentials/"+other.ID+"/rotate", otherToken, 200, "")
	newToken := decode[struct{ Token string }](t, out).Token
	f.checkStatus(t, "GET", f.locker, otherToken, 401, "invalid_token")
	f.checkStatus(t, "GET", f.locker, newToken, 200, "")
	// An expired operator is no operator: the last active one stays.
	if _, _, _, err := f.lockers.IssueCredential(ctx, service.CredentialRequest{Kind: lokero.KindOperator, Name: "short", ValidFor: time.Minute}); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Minute)
	f.checkStatus(t, "POST", "/v1/credentials/"+other.ID+"/revoke", newToken, 409, "last_operator")
}
