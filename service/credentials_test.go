package service_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/calendar"
	"github.com/lokero/lokero/service"
	"github.com/lokero/lokero/sqlite"
)

// checkRefused fails the test unless token of kind answers exactly as a
// wrong token does: the same EUNAUTHORIZED, the same words.
func checkRefused(t *testing.T, l *service.Lockers, kind lokero.CredentialKind, token, what string) {
	t.Helper()
	ctx := context.Background()
	_, want := l.Authenticate(ctx, kind, "lk"+string(kind[0])+"_"+strings.Repeat("a", 52))
	_, err := l.Authenticate(ctx, kind, token)
	if lokero.ErrorCode(err) != lokero.EUNAUTHORIZED || err.Error() != want.Error() {
		t.Errorf("%s: %v; want the answer to a wrong token, %v", what, err, want)
	}
}

func mustAuthenticate(t *testing.T, l *service.Lockers, kind lokero.CredentialKind, token, what string) lokero.Credential {
	t.Helper()
	c, err := l.Authenticate(context.Background(), kind, token)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return c
}

func TestCredentialExpiry(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		c, token, _, err := f.lockers.IssueCredential(ctx, service.CredentialRequest{Kind: lokero.KindCourier, Name: "Kesä", ValidFor: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if want := f.clock.Now().Add(time.Hour); !c.ExpiresAt.Equal(want) {
			t.Errorf("expires at %v; want %v", c.ExpiresAt, want)
		}
		mustAuthenticate(t, f.lockers, lokero.KindCourier, token, "a fresh expiring token")
		f.clock.Advance(time.Hour - time.Microsecond)
		mustAuthenticate(t, f.lockers, lokero.KindCourier, token, "a token a microsecond before its expiry")
		f.clock.Advance(time.Microsecond)
		checkRefused(t, f.lockers, lokero.KindCourier, token, "a token at its expiry")
		if got, _ := f.lockers.Credential(ctx, c.ID); got.State(f.clock.Now()) != lokero.CredentialExpired {
			t.Errorf("state of an expired credential: %s", got.State(f.clock.Now()))
		}

		// Rotating an expired credential gives a token for the same hour,
		// from now.
		f.clock.Advance(24 * time.Hour)
		rotated, newToken, err := f.lockers.RotateCredential(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if want := f.clock.Now().Add(time.Hour); !rotated.ExpiresAt.Equal(want) || !rotated.RotatedAt.Equal(f.clock.Now()) {
			t.Errorf("rotated: expires %v, rotated %v; want %v, %v", rotated.ExpiresAt, rotated.RotatedAt, want, f.clock.Now())
		}
		mustAuthenticate(t, f.lockers, lokero.KindCourier, newToken, "the rotated token")
		checkRefused(t, f.lockers, lokero.KindCourier, token, "the expired token after rotation")

		for _, d := range []time.Duration{-time.Second, service.MaxValidFor + time.Hour} {
			_, _, _, err := f.lockers.IssueCredential(ctx, service.CredentialRequest{Kind: lokero.KindOperator, Name: "O", ValidFor: d})
			var e *lokero.Error
			if !asError(err, &e) || e.Code != lokero.EINVALID || e.Field != "expires" {
				t.Errorf("valid for %s: %v; want EINVALID naming expires", d, err)
			}
		}
	})
}

func TestCredentialRevokeAndRotate(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		f.clock.Advance(time.Second) // listed after f.courier
		c, token, err := f.lockers.AddCredential(ctx, lokero.KindCourier, "Kuski 2", "")
		if err != nil {
			t.Fatal(err)
		}
		// Never-expiring, rotated: still never expires; the old token is dead.
		rotated, newToken, err := f.lockers.RotateCredential(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !rotated.ExpiresAt.IsZero() || rotated.ID != c.ID || rotated.Name != c.Name || newToken == token ||
			!strings.HasPrefix(newToken, "lkc_") {
			t.Errorf("rotated %+v, token %.4s…; want the same credential, never expiring, a new courier token", rotated, newToken)
		}
		checkRefused(t, f.lockers, lokero.KindCourier, token, "the token before rotation")
		mustAuthenticate(t, f.lockers, lokero.KindCourier, newToken, "the rotated token")

		revoked, err := f.lockers.RevokeCredential(ctx, c.ID, true)
		if err != nil || !revoked.RevokedAt.Equal(f.clock.Now()) {
			t.Fatalf("revoke: %+v, %v", revoked, err)
		}
		checkRefused(t, f.lockers, lokero.KindCourier, newToken, "a revoked token")
		if _, _, err := f.lockers.RotateCredential(ctx, c.ID); lokero.ErrorCode(err) != lokero.ECONFLICT {
			t.Errorf("rotate a revoked credential: %v; want ECONFLICT", err)
		}
		checkRefused(t, f.lockers, lokero.KindCourier, newToken, "a revoked token after a refused rotation")
		// The other courier is untouched.
		list, err := f.lockers.Credentials(ctx, lokero.CredentialFilter{Kind: lokero.KindCourier})
		if err != nil || len(list) != 2 || list[0].ID != f.courier.ID || !list[0].RevokedAt.IsZero() || list[1].RevokedAt.IsZero() {
			t.Errorf("couriers after revoking one: %+v, %v", list, err)
		}
		// Hostile IDs answer as unknown ones, also on PostgreSQL (no NUL
		// reaches a query).
		for _, id := range []string{"nobody", "", "a\x00b", "\xff", "x' OR '1'='1", strings.Repeat("x", 65)} {
			if _, err := f.lockers.RevokeCredential(ctx, id, false); lokero.ErrorCode(err) != lokero.ENOTFOUND {
				t.Errorf("revoke %q: %v; want ENOTFOUND", id, err)
			}
			if _, _, err := f.lockers.RotateCredential(ctx, id); lokero.ErrorCode(err) != lokero.ENOTFOUND {
				t.Errorf("rotate %q: %v; want ENOTFOUND", id, err)
			}
		}
		for _, filter := range []lokero.CredentialFilter{{Kind: "admin"}, {LocationID: "a\x00b"}, {LocationID: "\xff"}} {
			if _, err := f.lockers.Credentials(ctx, filter); lokero.ErrorCode(err) != lokero.EINVALID {
				t.Errorf("list %+v: %v; want EINVALID", filter, err)
			}
		}
	})
}

func TestCredentialLastOperator(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		op1, _, err := f.lockers.AddCredential(ctx, lokero.KindOperator, "Olli", "")
		if err != nil {
			t.Fatal(err)
		}
		op2, _, err := f.lockers.AddCredential(ctx, lokero.KindOperator, "Outi", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.lockers.RevokeCredential(ctx, op1.ID, true); err != nil {
			t.Fatalf("revoke one of two operators: %v", err)
		}
		_, err = f.lockers.RevokeCredential(ctx, op2.ID, true)
		var e *lokero.Error
		if !asError(err, &e) || e.Code != lokero.ECONFLICT || e.Reason != "last_operator" || !strings.Contains(e.Message, "lokero") {
			t.Fatalf("revoke the last operator through the API: %v; want ECONFLICT last_operator saying what to do", err)
		}
		if _, err := f.lockers.RevokeCredential(ctx, op2.ID, false); err != nil {
			t.Errorf("revoke the last operator from the command line: %v", err)
		}
	})
}

func TestCredentialProvisionRevokesOlder(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		// f.device is LOCKER-M5's; add a second one, kept.
		f.clock.Advance(time.Second)
		_, kept, err := f.lockers.AddCredential(ctx, lokero.KindDevice, "M5 spare", "LOCKER-M5")
		if err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(time.Minute)
		c, token, revoked, err := f.lockers.IssueCredential(ctx, service.CredentialRequest{Kind: lokero.KindDevice,
			Name: "M5 new", LocationID: "LOCKER-M5", RevokeOlder: true, ValidFor: 90 * 24 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if len(revoked) != 2 || revoked[0].ID != f.device.ID || revoked[1].RevokedAt.IsZero() {
			t.Fatalf("re-provisioning revoked %+v; want LOCKER-M5's two older devices", revoked)
		}
		checkRefused(t, f.lockers, lokero.KindDevice, kept, "an older device token after re-provisioning")
		if got := mustAuthenticate(t, f.lockers, lokero.KindDevice, token, "the new device token"); got.ID != c.ID {
			t.Errorf("the new token is %s's; want %s", got.ID, c.ID)
		}
		list, err := f.lockers.Credentials(ctx, lokero.CredentialFilter{LocationID: "SP-NEAR"})
		if err != nil || len(list) != 1 || list[0].State(f.clock.Now()) != lokero.CredentialActive {
			t.Errorf("SP-NEAR's device after re-provisioning LOCKER-M5: %+v, %v; want it active", list, err)
		}
		// A courier is not a locker's: nothing to revoke.
		if _, _, revoked, err := f.lockers.IssueCredential(ctx, service.CredentialRequest{Kind: lokero.KindCourier,
			Name: "K", LocationID: "LOCKER-M5", RevokeOlder: true}); err != nil || len(revoked) != 0 {
			t.Errorf("a courier with RevokeOlder: revoked %+v, %v; want none", revoked, err)
		}
	})
}

// touchCounter counts the store's writes of a credential's last use.
type touchCounter struct {
	service.LockerStore
	touches atomic.Int32
}

func (c *touchCounter) TouchCredential(ctx context.Context, id string, at, notBefore time.Time) error {
	c.touches.Add(1)
	return c.LockerStore.TouchCredential(ctx, id, at, notBefore)
}

func TestCredentialLastUsed(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		counter := &touchCounter{LockerStore: f.store}
		l := service.NewLockers(counter, f.dir, calendar.Default(), f.clock, nil, nil, slog.New(slog.DiscardHandler))
		c, token, err := l.AddCredential(ctx, lokero.KindDevice, "poller", "LOCKER-M5")
		if err != nil {
			t.Fatal(err)
		}
		lastUsed := func() time.Time {
			t.Helper()
			got, err := l.Credential(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			return got.LastUsedAt
		}
		if !lastUsed().IsZero() {
			t.Fatal("a new credential has been used")
		}
		first := f.clock.Now()
		// A device polling every second for a minute and a half: two
		// writes, at the first request and a minute on.
		for range 90 {
			mustAuthenticate(t, l, lokero.KindDevice, token, "the poller")
			f.clock.Advance(time.Second)
		}
		if n := counter.touches.Load(); n != 2 {
			t.Errorf("%d writes of the last use for 90 requests in 90 s; want 2", n)
		}
		if got, want := lastUsed(), first.Add(time.Minute); !got.Equal(want) {
			t.Errorf("last used %v; want %v", got, want)
		}
		// A refused token is not a use.
		f.clock.Advance(time.Hour)
		if _, err := l.RevokeCredential(ctx, c.ID, false); err != nil {
			t.Fatal(err)
		}
		checkRefused(t, l, lokero.KindDevice, token, "a revoked token")
		if got, want := lastUsed(), first.Add(time.Minute); !got.Equal(want) {
			t.Errorf("last used after a refused request %v; want %v", got, want)
		}
	})
}

func TestParseValidFor(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"90d", 90 * 24 * time.Hour, true},
		{" 1d ", 24 * time.Hour, true},
		{"720h", 720 * time.Hour, true},
		{"1h30m", 90 * time.Minute, true},
		{"3650d", service.MaxValidFor, true},
		{"3651d", 0, false},
		{"0d", 0, false},
		{"-1d", 0, false},
		{"0", 0, false},
		{"-5h", 0, false},
		{"", 0, false},
		{"d", 0, false},
		{"1.5d", 0, false},
		{"90 days", 0, false},
		{"1w", 0, false},
		{"99999999999999999999d", 0, false},
		{"100000h", 0, false},
	} {
		got, err := service.ParseValidFor(tt.in)
		if tt.ok && (err != nil || got != tt.want) {
			t.Errorf("ParseValidFor(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
		var e *lokero.Error
		if !tt.ok && (!asError(err, &e) || e.Code != lokero.EINVALID || e.Field != "expires") {
			t.Errorf("ParseValidFor(%q) = %v, %v; want EINVALID naming expires", tt.in, got, err)
		}
	}
}

// TestCredentialTokensNeverStored issues, rotates and uses tokens of every
// kind through the service on a SQLite file, closes it, and reads the
// database's files byte by byte: no token is there in clear.
func TestCredentialTokensNeverStored(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "tokens.db")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	f := newLockers(t, st) // closes st at the end, too late for the scan; closing twice is harmless
	var tokens []string
	for _, req := range []service.CredentialRequest{
		{Kind: lokero.KindCourier, Name: "K"},
		{Kind: lokero.KindOperator, Name: "O", ValidFor: time.Hour},
		{Kind: lokero.KindDevice, Name: "D", LocationID: "LOCKER-M5", RevokeOlder: true},
		{Kind: lokero.KindClerk, Name: "C", LocationID: "PO-FAR"},
	} {
		c, token, _, err := f.lockers.IssueCredential(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		mustAuthenticate(t, f.lockers, req.Kind, token, "a new token")
		_, rotated, err := f.lockers.RotateCredential(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		mustAuthenticate(t, f.lockers, req.Kind, rotated, "a rotated token")
		tokens = append(tokens, token, rotated)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(path + "*")
	if err != nil || len(files) == 0 {
		t.Fatalf("the database's files: %v, %v", files, err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, token := range tokens {
			secret := token[len("lkc_"):]
			if bytes.Contains(b, []byte(secret)) || bytes.Contains(bytes.ToLower(b), []byte(secret)) {
				t.Errorf("%s holds the token %.8s… in clear", filepath.Base(file), token)
			}
		}
	}
}

// TestClerkCredential: a clerk belongs to one outlet, which must be a
// POSTOFFICE or a PICKUPPOINT; its token authenticates as a clerk only,
// and is listed, revoked and rotated like any other.
func TestClerkCredential(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		for _, tt := range []struct{ name, location, reason string }{
			{"no outlet", "", "required"},
			{"an unknown outlet", "PO-NOWHERE", "unknown_outlet"},
			{"a LOCKER", "LOCKER-M5", "not_an_outlet"},
			{"a SMARTPOST", "SP-NEAR", "not_an_outlet"},
		} {
			_, _, _, err := f.lockers.IssueCredential(ctx, service.CredentialRequest{Kind: lokero.KindClerk, Name: "Kaisa", LocationID: tt.location})
			var e *lokero.Error
			if !asError(err, &e) || e.Code != lokero.EINVALID || e.Field != "outlet" || e.Reason != tt.reason {
				t.Errorf("a clerk at %s: %v; want EINVALID %s naming outlet", tt.name, err, tt.reason)
			}
		}
		clerk, token, _, err := f.lockers.IssueCredential(ctx, service.CredentialRequest{Kind: lokero.KindClerk, Name: "Kaisa", LocationID: "PO-FAR"})
		if err != nil {
			t.Fatal(err)
		}
		if clerk.Kind != lokero.KindClerk || clerk.LocationID != "PO-FAR" || !strings.HasPrefix(clerk.ID, "clerk_") || !strings.HasPrefix(token, "lkk_") {
			t.Errorf("clerk credential %+v; want a clerk of PO-FAR", clerk)
		}
		if got := mustAuthenticate(t, f.lockers, lokero.KindClerk, token, "a clerk's token"); got.ID != clerk.ID || got.LocationID != "PO-FAR" {
			t.Errorf("authenticated as %+v; want the clerk of PO-FAR", got)
		}
		for _, kind := range []lokero.CredentialKind{lokero.KindCourier, lokero.KindDevice, lokero.KindOperator} {
			if _, err := f.lockers.Authenticate(ctx, kind, token); lokero.ErrorCode(err) != lokero.EUNAUTHORIZED {
				t.Errorf("a clerk's token as a %s: %v; want EUNAUTHORIZED", kind, err)
			}
		}
		if _, err := f.lockers.Authenticate(ctx, lokero.KindClerk, "lkk_"+strings.Repeat("a", 52)); lokero.ErrorCode(err) != lokero.EUNAUTHORIZED {
			t.Errorf("a wrong clerk token: %v; want EUNAUTHORIZED", err)
		}
		list, err := f.lockers.Credentials(ctx, lokero.CredentialFilter{Kind: lokero.KindClerk})
		if err != nil || len(list) != 1 || list[0].ID != clerk.ID {
			t.Errorf("clerks listed: %+v, %v; want the one", list, err)
		}
		_, rotated, err := f.lockers.RotateCredential(ctx, clerk.ID)
		if err != nil {
			t.Fatal(err)
		}
		checkRefused(t, f.lockers, lokero.KindClerk, token, "a clerk's token after rotation")
		mustAuthenticate(t, f.lockers, lokero.KindClerk, rotated, "a clerk's rotated token")
		if _, err := f.lockers.RevokeCredential(ctx, clerk.ID, true); err != nil {
			t.Fatal(err)
		}
		checkRefused(t, f.lockers, lokero.KindClerk, rotated, "a revoked clerk's token")
	})
}

// countingRetailers counts the lookups of retailers by key hash that
// reach the store.
type countingRetailers struct {
	lockerStore
	lookups atomic.Int64
}

func (c *countingRetailers) RetailerByKeyHash(ctx context.Context, hash []byte) (lokero.Retailer, error) {
	c.lookups.Add(1)
	return c.lockerStore.RetailerByKeyHash(ctx, hash)
}

// A retailer's API key is looked up in the store once: the retailer and
// its key never change. A key the store does not know is asked again
// each time, so that a retailer another instance creates is found.
func TestAuthenticateKeepsKnownRetailers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := &countingRetailers{lockerStore: stores[0].open(t)}
	t.Cleanup(func() { st.Close() })
	st.SetClock(fixedClock{now})
	log := slog.New(slog.DiscardHandler)
	dir := service.NewDirectory(st, testRegistry(t), fixedClock{now}, log)
	shipments := service.NewShipments(st, dir, calendar.Default(), fixedClock{now}, nil, log)
	want, key, err := shipments.AddRetailer(ctx, "Verkkokauppa Oy", true)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		got, err := shipments.Authenticate(ctx, key)
		if err != nil || got != want {
			t.Fatalf("Authenticate(its key) = %+v, %v; want %+v", got, err, want)
		}
	}
	if n := st.lookups.Load(); n != 1 {
		t.Errorf("three calls with one key asked the store %d times; want 1", n)
	}

	// A key unknown at first, then stored by another instance.
	other := service.NewShipments(st, dir, calendar.Default(), fixedClock{now}, nil, log)
	later := service.APIKeyPrefix + strings.Repeat("b", 52)
	if _, err := shipments.Authenticate(ctx, later); lokero.ErrorCode(err) != lokero.EUNAUTHORIZED {
		t.Fatalf("Authenticate(an unknown key) = %v; want EUNAUTHORIZED", err)
	}
	r := lokero.Retailer{ID: "ret_later", Name: "Myöhempi Kauppa", CreatedAt: now}
	if err := st.CreateRetailer(ctx, r, service.HashKey(later)); err != nil {
		t.Fatal(err)
	}
	if got, err := shipments.Authenticate(ctx, later); err != nil || got.ID != r.ID {
		t.Errorf("Authenticate(the key once stored) = %+v, %v; want %s", got, err, r.ID)
	}
	if _, err := other.Authenticate(ctx, key); err != nil {
		t.Errorf("another instance: Authenticate(the first key) = %v", err)
	}
	if n := st.lookups.Load(); n != 4 {
		t.Errorf("the store was asked %d times in all; want 4 (one key once, the unknown one twice, the other instance once)", n)
	}
}

// TestRotateRetailerKey: a rotated (leaked) retailer key stops at once on
// the instance that rotated it and within RetailerCacheTTL on another
// that had it cached; the new key works on both; an unknown retailer is
// ENOTFOUND.
func TestRotateRetailerKey(t *testing.T) {
	t.Parallel()
	onEveryStore(t, storeOnly, func(t *testing.T, st lockerStore) {
		ctx := context.Background()
		clock := lokero.NewDevClock(fixedClock{now})
		st.SetClock(clock)
		log := slog.New(slog.DiscardHandler)
		dir := service.NewDirectory(st, testRegistry(t), clock, log)
		a := service.NewShipments(st, dir, calendar.Default(), clock, nil, log)
		b := service.NewShipments(st, dir, calendar.Default(), clock, nil, log)
		r, old, err := a.AddRetailer(ctx, "Vuotanut Kauppa", false)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []*service.Shipments{a, b} {
			if _, err := s.Authenticate(ctx, old); err != nil {
				t.Fatal(err)
			}
		}
		got, key, err := a.RotateRetailerKey(ctx, r.ID)
		if err != nil || got.ID != r.ID || key == old || !strings.HasPrefix(key, service.APIKeyPrefix) {
			t.Fatalf("RotateRetailerKey: %+v, %q, %v", got, key, err)
		}
		if _, err := a.Authenticate(ctx, old); lokero.ErrorCode(err) != lokero.EUNAUTHORIZED {
			t.Errorf("the old key where it was rotated: %v; want EUNAUTHORIZED", err)
		}
		if _, err := b.Authenticate(ctx, old); err != nil {
			t.Errorf("the old key on another instance within its cache's lifetime: %v; want it still taken", err)
		}
		clock.Advance(service.RetailerCacheTTL)
		if _, err := b.Authenticate(ctx, old); lokero.ErrorCode(err) != lokero.EUNAUTHORIZED {
			t.Errorf("the old key on another instance after %s: %v; want EUNAUTHORIZED", service.RetailerCacheTTL, err)
		}
		for _, s := range []*service.Shipments{a, b} {
			if got, err := s.Authenticate(ctx, key); err != nil || got.ID != r.ID {
				t.Errorf("the new key: %+v, %v", got, err)
			}
		}
		if _, _, err := a.RotateRetailerKey(ctx, "ret_missing"); lokero.ErrorCode(err) != lokero.ENOTFOUND {
			t.Errorf("rotating an unknown retailer's key: %v; want ENOTFOUND", err)
		}
	})
}
