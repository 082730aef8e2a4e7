package api_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/api"
	"github.com/lokero/lokero/demo"
)

// sessionCookie returns the session's cookie a sign-in's answer sets.
func sessionCookie(t *testing.T, h http.Header) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == api.SessionCookie {
			return c
		}
	}
	t.Fatalf("no %s cookie in %v", api.SessionCookie, h["Set-Cookie"])
	return nil
}

// signIn signs in with token and returns the session's cookie header.
func signIn(t *testing.T, f lockerFixture, token string) (cookie string) {
	t.Helper()
	status, h, out := f.do(t, "POST", "/v1/session", "", map[string]string{"token": token}, "Sec-Fetch-Site", "same-origin")
	if status != 200 {
		t.Fatalf("sign in: %d %s", status, out)
	}
	c := sessionCookie(t, h)
	return c.Name + "=" + c.Value
}

// TestSessionHTTP: an operator signs in at a page with their token and the
// cookie then acts as the token: HttpOnly, SameSite=Strict, Secure over
// TLS, for operator calls only when it is an operator's; requests that
// change anything come from the platform's own pages only; a forged,
// stale, expired, revoked or rotated session is nobody.
func TestSessionHTTP(t *testing.T) {
	t.Parallel()
	f := newLockerFixture(t)
	if err := f.srv.EnableSessions(bytes.Repeat([]byte{9}, 32)); err != nil {
		t.Fatal(err)
	}

	status, h, out := f.do(t, "POST", "/v1/session", "", map[string]string{"token": f.operator})
	if status != 200 {
		t.Fatalf("sign in: %d %s", status, out)
	}
	c := sessionCookie(t, h)
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure || c.Path != "/" || c.MaxAge != int(api.SessionLifetime/time.Second) {
		t.Errorf("session cookie over plain HTTP: %+v; want HttpOnly, SameSite=Strict, not Secure, Path=/, 12 h", c)
	}
	if strings.Contains(c.Value, f.operator) {
		t.Error("the cookie carries the token")
	}
	signedIn := decode[struct {
		Credential struct{ ID, Kind string }
		ExpiresAt  *time.Time `json:"expires_at"`
	}](t, out)
	if signedIn.Credential.Kind != "operator" || signedIn.ExpiresAt == nil {
		t.Errorf("sign-in answer: %s", out)
	}
	_, h, _ = f.do(t, "POST", "/v1/session", "", map[string]string{"token": f.operator}, "X-Forwarded-Proto", "https")
	if c := sessionCookie(t, h); !c.Secure {
		t.Errorf("session cookie over TLS at a proxy: %+v; want Secure", c)
	}

	cookie := c.Name + "=" + c.Value
	for _, path := range []string{"/v1/session", "/v1/network", "/v1/lockers/" + demo.DemoLockerID, "/dev/outbox"} {
		if status, _, out := f.do(t, "GET", path, "", nil, "Cookie", cookie); status != 200 {
			t.Errorf("GET %s with the operator's session: %d %s", path, status, out)
		}
	}
	if status, _, _ := f.do(t, "GET", "/v1/shipments", "", nil, "Cookie", cookie); status != 401 {
		t.Errorf("a retailer's call with an operator's session: %d; want 401", status)
	}
	// A change from the platform's pages passes; from another site, or a
	// browser that says cross-site, it does not.
	outOfOrder := "/v1/lockers/" + demo.DemoLockerID + "/compartments/1/out-of-order"
	for _, tc := range []struct {
		headers []string
		want    int
	}{
		{[]string{"Cookie", cookie, "Sec-Fetch-Site", "same-origin"}, 200},
		{[]string{"Cookie", cookie, "Sec-Fetch-Site", "cross-site"}, 403},
		{[]string{"Cookie", cookie, "Origin", "https://evil.example"}, 403},
		{[]string{"Cookie", cookie, "Sec-Fetch-Site", "same-site"}, 403},
	} {
		status, _, out := f.do(t, "POST", outOfOrder, "", nil, tc.headers...)
		if status != tc.want {
			t.Errorf("POST out-of-order with %v: %d %s; want %d", tc.headers[2:], status, out, tc.want)
		}
		if tc.want == 403 && !strings.Contains(string(out), "cross_origin") {
			t.Errorf("cross-origin refusal: %s; want reason cross_origin", out)
		}
	}
	// A token in the Authorization header needs no such proof (no cookie,
	// no ambient authority).
	if status, _, out := f.do(t, "DELETE", outOfOrder, f.operator, nil, "Sec-Fetch-Site", "cross-site"); status != 200 {
		t.Errorf("DELETE out-of-order with a bearer token from another site: %d %s", status, out)
	}
	if status, _, out := f.do(t, "POST", "/v1/session", "", map[string]string{"token": f.operator}, "Sec-Fetch-Site", "cross-site"); status != 403 {
		t.Errorf("sign-in from another site: %d %s; want 403", status, out)
	}

	// Wrong tokens and kinds.
	for _, tc := range []struct {
		body   any
		status int
		want   string
	}{
		{map[string]string{"token": "lko_op_nothing"}, 401, "invalid_token"},
		{map[string]string{"token": f.courier}, 401, "invalid_token"}, // couriers use their handhelds, not pages
		{map[string]string{"token": f.device}, 401, "invalid_token"},
		{map[string]string{"token": f.key}, 401, "invalid_token"},
		{map[string]string{"token": " "}, 400, `"field":"token"`},
		{map[string]any{"token": 5}, 400, `"field":"token"`},
		{`{"token":"x","extra":1}`, 400, "extra"},
	} {
		status, _, out := f.do(t, "POST", "/v1/session", "", tc.body)
		if status != tc.status || !strings.Contains(string(out), tc.want) {
			t.Errorf("sign in with %v: %d %s; want %d naming %s", tc.body, status, out, tc.status, tc.want)
		}
	}

	// Forged and altered cookies are nobody.
	parts := strings.Split(c.Value, ".")
	if len(parts) != 4 {
		t.Fatalf("cookie value %q: want v1.ID.EXPIRES.MAC", c.Value)
	}
	for name, value := range map[string]string{
		"another MAC":      strings.Join([]string{parts[0], parts[1], parts[2], strings.Repeat("A", len(parts[3]))}, "."),
		"a later expiry":   strings.Join([]string{parts[0], parts[1], "9999999999", parts[3]}, "."),
		"another ID":       strings.Join([]string{parts[0], "op_nobody", parts[2], parts[3]}, "."),
		"garbage":          "v1...",
		"another version":  "v2." + strings.Join(parts[1:], "."),
		"not base64":       strings.Join([]string{parts[0], parts[1], parts[2], "!!!"}, "."),
		"a negative time":  strings.Join([]string{parts[0], parts[1], "-5", parts[3]}, "."),
		"a hostile ID":     strings.Join([]string{parts[0], "op_'; DROP TABLE credentials;--", parts[2], parts[3]}, "."),
		"no value at all":  "",
		"an expired value": strings.Join([]string{parts[0], parts[1], "1", parts[3]}, "."),
	} {
		if status, _, out := f.do(t, "GET", "/v1/network", "", nil, "Cookie", api.SessionCookie+"="+value); status != 401 {
			t.Errorf("a session with %s: %d %s; want 401", name, status, out)
		}
	}

	// A clerk's session is a clerk: not an operator.
	clerk, clerkToken, err := f.lockers.AddCredential(t.Context(), lokero.KindClerk, "Kaisa", "POSTOFFICE-00100")
	if err != nil {
		t.Fatal(err)
	}
	clerkCookie := signIn(t, f, clerkToken)
	if status, _, _ := f.do(t, "GET", "/v1/network", "", nil, "Cookie", clerkCookie); status != 401 {
		t.Errorf("the network with a clerk's session: %d; want 401", status)
	}
	if status, _, out := f.do(t, "GET", "/v1/outlets/POSTOFFICE-00100", "", nil, "Cookie", clerkCookie); status != 200 {
		t.Errorf("the clerk's outlet with their session: %d %s", status, out)
	}
	// Rotating the clerk's token ends their sessions; revoking an
	// operator ends theirs.
	if _, _, err := f.lockers.RotateCredential(t.Context(), clerk.ID); err != nil {
		t.Fatal(err)
	}
	if status, _, _ := f.do(t, "GET", "/v1/session", "", nil, "Cookie", clerkCookie); status != 401 {
		t.Errorf("a session after its token was rotated: %d; want 401", status)
	}
	other, otherToken, err := f.lockers.AddCredential(t.Context(), lokero.KindOperator, "Outi", "")
	if err != nil {
		t.Fatal(err)
	}
	otherCookie := signIn(t, f, otherToken)
	if _, err := f.lockers.RevokeCredential(t.Context(), other.ID, true); err != nil {
		t.Fatal(err)
	}
	if status, _, _ := f.do(t, "GET", "/v1/session", "", nil, "Cookie", otherCookie); status != 401 {
		t.Errorf("a session of a revoked operator: %d; want 401", status)
	}

	// Twelve hours on, the session is over.
	if status, _, out := f.do(t, "POST", "/v1/admin/clock", f.operator, map[string]string{"advance": "12h"}); status != 200 {
		t.Fatalf("advance the clock: %d %s", status, out)
	}
	if status, _, _ := f.do(t, "GET", "/v1/session", "", nil, "Cookie", cookie); status != 401 {
		t.Errorf("a session 12 hours old: %d; want 401", status)
	}

	// Signing out forgets the cookie.
	status, h, _ = f.do(t, "DELETE", "/v1/session", "", nil, "Cookie", cookie, "Sec-Fetch-Site", "same-origin")
	if gone := sessionCookie(t, h); status != 204 || gone.MaxAge >= 0 || gone.Value != "" {
		t.Errorf("sign out: %d %+v; want 204 and the cookie cleared", status, gone)
	}

	// Signing out ends the credential's sessions: the cookie of another
	// browser, or a copy of this one, stops working; a sign-in right after
	// works.
	first, second := signIn(t, f, f.operator), signIn(t, f, f.operator)
	for _, c := range []string{first, second} {
		if status, _, _ := f.do(t, "GET", "/v1/session", "", nil, "Cookie", c); status != 200 {
			t.Fatalf("a fresh session: %d; want 200", status)
		}
	}
	if status, _, _ := f.do(t, "DELETE", "/v1/session", "", nil, "Cookie", first, "Sec-Fetch-Site", "same-origin"); status != 204 {
		t.Fatalf("sign out: %d", status)
	}
	for name, c := range map[string]string{"the signed-out cookie kept": first, "another browser's": second} {
		if status, _, _ := f.do(t, "GET", "/v1/session", "", nil, "Cookie", c); status != 401 {
			t.Errorf("%s after the sign-out: %d; want 401", name, status)
		}
	}
	again := signIn(t, f, f.operator)
	if status, _, out := f.do(t, "GET", "/v1/session", "", nil, "Cookie", again); status != 200 {
		t.Errorf("a sign-in right after the sign-out: %d %s; want 200", status, out)
	}
	// The token itself is untouched by a sign-out.
	if status, _, _ := f.do(t, "GET", "/v1/session", f.operator, nil); status != 200 {
		t.Errorf("the operator's token after the sign-out: %d; want 200", status)
	}
}

// TestSessionSecureCookies: with SetSecureCookies (serve behind a proxy
// that terminates TLS, or serving it itself), the session's cookie is
// Secure though the request came over plain HTTP and no header says
// otherwise; signing out clears it Secure too.
func TestSessionSecureCookies(t *testing.T) {
	t.Parallel()
	f := newLockerFixture(t)
	if err := f.srv.EnableSessions(bytes.Repeat([]byte{9}, 32)); err != nil {
		t.Fatal(err)
	}
	f.srv.SetSecureCookies(true)
	for _, tc := range []struct {
		name    string
		method  string
		body    any
		headers []string
	}{
		{"sign-in, no header", "POST", map[string]string{"token": f.operator}, nil},
		{"sign-in, a proxy saying http", "POST", map[string]string{"token": f.operator}, []string{"X-Forwarded-Proto", "http"}},
		{"sign-out", "DELETE", nil, []string{"Sec-Fetch-Site", "same-origin"}},
	} {
		status, h, out := f.do(t, tc.method, "/v1/session", "", tc.body, tc.headers...)
		if status >= 300 {
			t.Fatalf("%s: %d %s", tc.name, status, out)
		}
		if c := sessionCookie(t, h); !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
			t.Errorf("%s: cookie %+v; want Secure, HttpOnly, SameSite=Strict", tc.name, c)
		}
	}
}

// TestSessionNoticeAgain: an operator signed in at /ops sends a parcel's
// notice again with their session, as the OpenAPI document allows (and
// as they rotate its code): from the platform's own pages only. A
// clerk's session is no operator, and is asked for a retailer's key.
func TestSessionNoticeAgain(t *testing.T) {
	t.Parallel()
	f := newLockerFixture(t)
	if err := f.srv.EnableSessions(bytes.Repeat([]byte{9}, 32)); err != nil {
		t.Fatal(err)
	}
	sh := lockerReadyParcel(t, f, "SESSION-NOTICE-1")
	operator := signIn(t, f, f.operator)
	_, clerkToken, err := f.lockers.AddCredential(t.Context(), lokero.KindClerk, "Kaisa", "POSTOFFICE-00100")
	if err != nil {
		t.Fatal(err)
	}
	clerk := signIn(t, f, clerkToken)
	for _, tc := range []struct {
		name    string
		path    string
		headers []string
		status  int
		code    string
	}{
		{"the operator's session, same origin", "notice", []string{"Cookie", operator, "Sec-Fetch-Site", "same-origin"}, 200, ""},
		{"the operator's session, rotating", "opening-code/rotate", []string{"Cookie", operator, "Sec-Fetch-Site", "same-origin"}, 200, ""},
		{"the operator's session, another site", "notice", []string{"Cookie", operator, "Sec-Fetch-Site", "cross-site"}, 403, "cross_origin"},
		{"a clerk's session", "notice", []string{"Cookie", clerk, "Sec-Fetch-Site", "same-origin"}, 401, "missing_api_key"},
		{"nobody", "notice", []string{"Sec-Fetch-Site", "same-origin"}, 401, "missing_api_key"},
	} {
		status, _, out := f.do(t, "POST", "/v1/shipments/"+sh.ID+"/"+tc.path, "", nil, tc.headers...)
		if status != tc.status || !strings.Contains(string(out), tc.code) {
			t.Errorf("%s: POST %s: %d %s; want %d %s", tc.name, tc.path, status, out, tc.status, tc.code)
		}
	}
}

// TestNetworkHTTP: the operator's network view counts a deposit in its
// locker, lists the parcel when its storage period ends today, and the
// occupancy history answers the hourly samples.
func TestNetworkHTTP(t *testing.T) {
	t.Parallel()
	f := newLockerFixture(t)
	type network struct {
		Totals struct {
			Lockers, Compartments, Occupied int
			ExpiringToday                   int `json:"expiring_today"`
		}
		Sizes   map[string]struct{ Total, Occupied, Free int }
		Lockers []struct {
			ID                    string
			Total, Occupied, Free int
			Occupancy             float64
			Online                *bool
		}
		ExpiringToday []struct {
			TrackingCode string `json:"tracking_code"`
			LocationID   string `json:"location_id"`
		} `json:"expiring_today"`
	}
	read := func() network {
		t.Helper()
		status, _, out := f.do(t, "GET", "/v1/network", f.operator, nil)
		if status != 200 {
			t.Fatalf("network: %d %s", status, out)
		}
		return decode[network](t, out)
	}
	occupiedAt := func(n network, id string) (occupied, total int) {
		t.Helper()
		for _, l := range n.Lockers {
			if l.ID == id {
				return l.Occupied, l.Total
			}
		}
		t.Fatalf("locker %s not in the network view", id)
		return 0, 0
	}
	// Megabytes of JSON go gzipped to a client that takes it.
	for _, enc := range []string{"gzip", "gzip;q=0", ""} {
		req, _ := http.NewRequest("GET", f.server.URL+"/v1/network", nil)
		req.Header.Set("Authorization", "Bearer "+f.operator)
		req.Header.Set("Accept-Encoding", enc)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body io.Reader = resp.Body
		if resp.Header.Get("Content-Encoding") == "gzip" {
			if body, err = gzip.NewReader(resp.Body); err != nil {
				t.Fatal(err)
			}
		}
		var n network
		err = json.NewDecoder(body).Decode(&n)
		resp.Body.Close()
		if gz := resp.Header.Get("Content-Encoding") == "gzip"; err != nil || gz != (enc == "gzip") || len(n.Lockers) == 0 {
			t.Errorf("GET /v1/network with Accept-Encoding %q: gzipped %v, %d lockers, %v", enc, gz, len(n.Lockers), err)
		}
	}
	before := read()
	if before.Totals.Lockers < 10 || before.Totals.Occupied != 0 || len(before.Lockers) != before.Totals.Lockers {
		t.Fatalf("an empty demo network: %+v", before.Totals)
	}
	sum := 0
	for _, s := range before.Sizes {
		sum += s.Total
	}
	if sum != before.Totals.Compartments {
		t.Errorf("size classes count %d compartments; totals say %d", sum, before.Totals.Compartments)
	}
	if occupied, total := occupiedAt(before, demo.DemoLockerID); occupied != 0 || total == 0 {
		t.Fatalf("the demo locker before a deposit: %d of %d", occupied, total)
	}

	sh := f.create(t, shipmentBody("NETWORK-1"), f.key)
	f.deliverToDemoLocker(t, sh)
	after := read()
	if occupied, _ := occupiedAt(after, demo.DemoLockerID); occupied != 1 || after.Totals.Occupied != 1 {
		t.Errorf("after a deposit: the locker has %d occupied, the network %d; want 1 and 1", occupied, after.Totals.Occupied)
	}
	if after.Lockers[0].ID != demo.DemoLockerID || after.Lockers[0].Occupancy <= 0 {
		t.Errorf("the fullest locker first: %+v", after.Lockers[0])
	}
	if len(after.ExpiringToday) != 0 {
		t.Errorf("a parcel deposited today expires today: %+v", after.ExpiringToday)
	}
	// Six days later its storage period ends that day (7 days from the deposit).
	if status, _, out := f.do(t, "POST", "/v1/admin/clock", f.operator, map[string]string{"advance": "156h"}); status != 200 {
		t.Fatalf("advance the clock: %d %s", status, out)
	}
	later := read()
	for day := 0; len(later.ExpiringToday) == 0 && day < 2; day++ {
		f.do(t, "POST", "/v1/admin/clock", f.operator, map[string]string{"advance": "24h"})
		later = read()
	}
	if len(later.ExpiringToday) != 1 || later.ExpiringToday[0].TrackingCode != sh.TrackingCode || later.Totals.ExpiringToday != 1 {
		t.Errorf("on its last day: %+v (%d); want %s", later.ExpiringToday, later.Totals.ExpiringToday, sh.TrackingCode)
	}

	// Past its deadline it expires (the storage job) and waits in the
	// locker's collection list, which the network view lists too.
	if status, _, out := f.do(t, "POST", "/v1/admin/clock", f.operator, map[string]string{"advance": "48h"}); status != 200 {
		t.Fatalf("advance the clock: %d %s", status, out)
	}
	if err := f.lockers.Expire(t.Context(), sh.ID); err != nil {
		t.Fatalf("expire: %v", err)
	}
	status, _, out := f.do(t, "GET", "/v1/network", f.operator, nil)
	collect := decode[struct {
		Totals struct {
			ToCollect int `json:"to_collect"`
		}
		Lockers []struct {
			ID        string
			ToCollect int `json:"to_collect"`
		}
		ToCollect []struct {
			TrackingCode string `json:"tracking_code"`
			LocationID   string `json:"location_id"`
			Status       string
		} `json:"to_collect"`
	}](t, out)
	if status != 200 || collect.Totals.ToCollect != 1 || len(collect.ToCollect) != 1 || collect.ToCollect[0].TrackingCode != sh.TrackingCode ||
		collect.ToCollect[0].LocationID != demo.DemoLockerID || collect.ToCollect[0].Status != "EXPIRED" {
		t.Errorf("the collection lists after the expiry: %d %s", status, out)
	}
	for _, l := range collect.Lockers {
		if (l.ID == demo.DemoLockerID) != (l.ToCollect == 1) {
			t.Errorf("locker %s has %d to collect", l.ID, l.ToCollect)
		}
	}

	// Turn-aways, at booking and at the door, are counted for /metrics.
	resp, out := httpGet(t, f.server.URL+"/metrics")
	status = resp.StatusCode
	for _, series := range []string{`lokero_turned_away_total{at="booking",outcome="overflowed"} 0`,
		`lokero_turned_away_total{at="booking",outcome="refused"} 0`, `lokero_turned_away_total{at="door",outcome="rerouted"} 0`} {
		if status != 200 || !strings.Contains(string(out), series) {
			t.Errorf("/metrics lacks %s", series)
		}
	}

	// The hourly samples: one now.
	if stored, err := f.lockers.SampleOccupancy(t.Context()); err != nil || !stored {
		t.Fatalf("sample: %v %v", stored, err)
	}
	if stored, err := f.lockers.SampleOccupancy(t.Context()); err != nil || stored {
		t.Errorf("a second sample in the hour: %v %v; want none stored", stored, err)
	}
	status, _, out = f.do(t, "GET", "/v1/network/occupancy?days=2", f.operator, nil)
	history := decode[struct {
		Samples []struct {
			Sizes map[string]struct{ Total, Occupied int }
		}
	}](t, out)
	occupied := 0
	if status == 200 && len(history.Samples) == 1 {
		for _, s := range history.Samples[0].Sizes {
			occupied += s.Occupied
		}
	}
	if status != 200 || len(history.Samples) != 1 || occupied != 1 {
		t.Errorf("history: %d %s; want one sample with one parcel", status, out)
	}
	for _, q := range []string{"days=0", "days=91", "days=x", "since=1"} {
		if status, _, out := f.do(t, "GET", "/v1/network/occupancy?"+q, f.operator, nil); status != 400 {
			t.Errorf("history ?%s: %d %s; want 400", q, status, out)
		}
	}
}
