package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/api"
	"github.com/lokero/lokero/calendar"
	"github.com/lokero/lokero/locker"
	"github.com/lokero/lokero/service"
)

// lookupCounter is a store that counts the lookups an authentication
// makes: of a retailer by its key, of a credential by its token, and of a
// session's credential by its ID.
type lookupCounter struct {
	service.LockerStore
	n atomic.Int64
}

func (c *lookupCounter) RetailerByKeyHash(ctx context.Context, hash []byte) (lokero.Retailer, error) {
	c.n.Add(1)
	return c.LockerStore.RetailerByKeyHash(ctx, hash)
}

func (c *lookupCounter) CredentialByTokenHash(ctx context.Context, hash []byte) (lokero.Credential, error) {
	c.n.Add(1)
	return c.LockerStore.CredentialByTokenHash(ctx, hash)
}

func (c *lookupCounter) CredentialByID(ctx context.Context, id string) (lokero.Credential, error) {
	c.n.Add(1)
	return c.LockerStore.CredentialByID(ctx, id)
}

// authFailFixture is a server whose services count their lookups, with a
// retailer's key, an operator's token and session, and failed
// authentications limited to authBurst per address with no refill to
// speak of.
type authFailFixture struct {
	srv                    *api.Server
	store                  *lookupCounter
	key, operator, session string // a retailer's API key, an operator's token, the operator's session cookie
	operatorID             string
}

const authBurst = 3

func newAuthFailFixture(t *testing.T) authFailFixture {
	t.Helper()
	ctx := context.Background()
	p := newDemoPlatform(t)
	store := &lookupCounter{LockerStore: p.st}
	codes, err := locker.NewCodes(bytes.Repeat([]byte("k"), 32))
	if err != nil {
		t.Fatal(err)
	}
	shipments := service.NewShipments(store, p.dir, calendar.Default(), p.clock, nil, p.log)
	lockers := service.NewLockers(store, p.dir, calendar.Default(), p.clock, nil, codes, p.log)
	_, key, err := shipments.AddRetailer(ctx, "Kauppa", false)
	if err != nil {
		t.Fatal(err)
	}
	op, operator, err := lockers.AddCredential(ctx, lokero.KindOperator, "Olli", "")
	if err != nil {
		t.Fatal(err)
	}
	srv := api.New(p.dir, p.st, p.log)
	srv.EnableShipments(shipments)
	srv.EnableLockers(lockers, api.LockerOptions{})
	if err := srv.EnableSessions(bytes.Repeat([]byte{9}, 32)); err != nil {
		t.Fatal(err)
	}
	limits := api.DefaultRateLimits()
	limits.Authentication = api.Limit{Rate: 1.0 / 3600, Burst: authBurst}
	srv.SetRateLimits(limits)
	srv.SetReady(true)
	f := authFailFixture{srv: srv, store: store, key: key, operator: operator, operatorID: op.ID}

	rec := serveFrom(srv, "203.0.113.250", "POST", "/v1/session", `{"token": "`+operator+`"}`, "Content-Type", "application/json")
	if rec.Code != http.StatusOK {
		t.Fatalf("sign in: %d %s", rec.Code, rec.Body)
	}
	for _, c := range rec.Result().Cookies() {
		if c.Name == api.SessionCookie {
			f.session = c.Name + "=" + c.Value
		}
	}
	if f.session == "" {
		t.Fatal("no session cookie")
	}
	return f
}

// forgedSession is the i-th forged session cookie of the operator's
// credential: in the session's format, expiring in 2100, with a MAC the
// server never made. Its credential is looked up before the MAC can be
// checked.
func (f authFailFixture) forgedSession(i int) string {
	return fmt.Sprintf("%s=v1.%s.4102444800.Zm9yZ2VkLW1hYy%04d", api.SessionCookie, f.operatorID, i) // a MAC of 16 base64url characters
}

// bogusKey is the i-th API key of no retailer.
func bogusKey(i int) string { return "lok_bogus" + strconv.Itoa(i) + "xxxxxxxxxxxxxxxxxxxxxxxx" }

// serveFrom sends a request to srv from a client address, with a header
// pair or two (name, value, ...), and returns the answer.
func serveFrom(srv http.Handler, addr, method, path, body string, headers ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, bytes.NewBufferString(body))
	req.RemoteAddr = addr + ":40000"
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	return rec
}

// TestFailedAuthenticationLimited: every failed authentication — a bogus
// retailer key, a bogus credential token, a forged session cookie — costs
// its client address one of RateLimits.Authentication's budget; once the
// address has spent it, it is answered 429 with Retry-After, before the
// store is asked, even with a valid token; a valid token from another
// address is unaffected, and calls that authenticate spend nothing.
func TestFailedAuthenticationLimited(t *testing.T) {
	t.Parallel()
	f := newAuthFailFixture(t)
	bearer := func(token string) []string { return []string{"Authorization", "Bearer " + token} }
	cookie := func(c string) []string { return []string{"Cookie", c} }
	for i, tt := range []struct {
		name  string
		path  string
		bogus func(i int) []string // the headers of the i-th bogus request
		valid []string
	}{
		{"retailer key", "/v1/shipments", func(i int) []string { return bearer(bogusKey(i)) }, bearer(f.key)},
		{"credential token", "/v1/network", func(i int) []string {
			return bearer("lko_bogus" + strconv.Itoa(i) + "xxxxxxxxxxxxxxxxxxxxxxxx")
		}, bearer(f.operator)},
		{"session cookie", "/v1/session", func(i int) []string { return cookie(f.forgedSession(i)) }, cookie(f.session)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			guesser, other, honest := "198.51.100."+strconv.Itoa(10+i), "198.51.100."+strconv.Itoa(110+i), "198.51.100."+strconv.Itoa(210+i)
			call := func(addr string, headers []string) (*httptest.ResponseRecorder, int64) {
				t.Helper()
				before := f.store.n.Load()
				rec := serveFrom(f.srv, addr, "GET", tt.path, "", headers...)
				return rec, f.store.n.Load() - before
			}

			// Calls that authenticate spend nothing of the budget.
			for n := range authBurst + 2 {
				if rec, _ := call(honest, tt.valid); rec.Code != http.StatusOK {
					t.Fatalf("valid call %d: %d %s", n+1, rec.Code, rec.Body)
				}
			}
			if rec, _ := call(honest, tt.bogus(99)); rec.Code != http.StatusUnauthorized {
				t.Fatalf("the first failure after valid calls: %d %s; want 401", rec.Code, rec.Body)
			}

			for n := range authBurst {
				rec, lookups := call(guesser, tt.bogus(n))
				if rec.Code != http.StatusUnauthorized || lookups != 1 {
					t.Fatalf("bogus %d: %d after %d lookups, %s; want 401 after 1", n+1, rec.Code, lookups, rec.Body)
				}
			}
			for n, h := range [][]string{tt.bogus(authBurst), tt.bogus(authBurst + 1), tt.valid} {
				rec, lookups := call(guesser, h)
				retry, err := strconv.Atoi(rec.Header().Get("Retry-After"))
				var body struct{ Error struct{ Code string } }
				json.Unmarshal(rec.Body.Bytes(), &body)
				switch {
				case rec.Code != http.StatusTooManyRequests || err != nil || retry < 1 || body.Error.Code != "rate_limited":
					t.Errorf("call %d after the budget: %d, Retry-After %q, %s; want 429 rate_limited with Retry-After",
						authBurst+n+1, rec.Code, rec.Header().Get("Retry-After"), rec.Body)
				case lookups != 0:
					t.Errorf("call %d after the budget: %d lookups; want the refusal before the store", authBurst+n+1, lookups)
				case rec.Header().Get("RateLimit") != `"authentication";r=0;t=`+strconv.Itoa(retry) ||
					rec.Header().Get("RateLimit-Policy") != `"authentication";q=3;w=10800`:
					t.Errorf("call %d after the budget: RateLimit %q, RateLimit-Policy %q", authBurst+n+1,
						rec.Header().Get("RateLimit"), rec.Header().Get("RateLimit-Policy"))
				}
			}

			// Another address: its valid calls go through, its own
			// failures are its own.
			if rec, _ := call(other, tt.valid); rec.Code != http.StatusOK {
				t.Errorf("a valid call from another address: %d %s; want 200", rec.Code, rec.Body)
			}
			if rec, lookups := call(other, tt.bogus(100)); rec.Code != http.StatusUnauthorized || lookups != 1 {
				t.Errorf("a bogus call from another address: %d after %d lookups; want 401 after 1", rec.Code, lookups)
			}
		})
	}
}

// TestFailedAuthenticationUnlimited: with the limit off, failures are
// answered 401 however many.
func TestFailedAuthenticationUnlimited(t *testing.T) {
	t.Parallel()
	f := newAuthFailFixture(t)
	limits := api.DefaultRateLimits()
	limits.Authentication = api.Limit{}
	f.srv.SetRateLimits(limits)
	for n := range 2 * authBurst {
		rec := serveFrom(f.srv, "198.51.100.7", "GET", "/v1/shipments", "", "Authorization", "Bearer "+bogusKey(n))
		if rec.Code != http.StatusUnauthorized {
			t.Fatalf("bogus %d with the limit off: %d %s; want 401", n+1, rec.Code, rec.Body)
		}
	}
}

// TestAuthenticationLimitDefault: failed authentications are limited by
// default, on public tracking's budget (docs/security.md).
func TestAuthenticationLimitDefault(t *testing.T) {
	t.Parallel()
	d := api.DefaultRateLimits()
	if got := d.Authentication; got != d.Tracking || !got.Enabled() || got.String() != "1/s:60" {
		t.Errorf("default authentication limit %v; want tracking's, 1/s:60", got)
	}
}
