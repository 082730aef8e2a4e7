package storetest

import (
	"bytes"
	"encoding/hex"
	"slices"
	"testing"
	"time"

	"github.com/lokero/lokero"
)

// testCredentialRetiredCourierTokens: RetiredCourierTokens lists, once
// each and in byte order, the hashes of the courier tokens that stopped
// working at or after since: revoked then, expired then and by until, or
// replaced by a rotation then (every rotation's, not only the last);
// nothing of another kind, nothing older, no token still working, and a
// refused rotation keeps nothing.
func testCredentialRetiredCourierTokens(t *testing.T, s Store) {
	ctx := t.Context()
	day := 24 * time.Hour
	since, until := t0, t0.Add(10*day)
	courier := func(id string, expires time.Time) lokero.Credential {
		return lokero.Credential{ID: id, Kind: lokero.KindCourier, CreatedAt: t0.Add(-60 * day), ExpiresAt: expires}
	}
	mustCreateCredentials(t, s,
		courier("c-active", time.Time{}),
		courier("c-revoked", time.Time{}),
		courier("c-revoked-at-since", time.Time{}),
		courier("c-revoked-long-ago", time.Time{}),
		courier("c-expired", t0.Add(2*day)),
		courier("c-expired-at-until", until),
		courier("c-expires-later", t0.Add(20*day)),
		courier("c-expired-long-ago", t0.Add(-time.Hour)),
		courier("c-expired-and-revoked", t0.Add(3*day)),
		courier("c-rotated", time.Time{}),
		courier("c-rotated-long-ago", time.Time{}),
		lokero.Credential{ID: "d-revoked", Kind: lokero.KindDevice, LocationID: "locker-1", CreatedAt: t0.Add(-60 * day)},
		lokero.Credential{ID: "o-expired", Kind: lokero.KindOperator, CreatedAt: t0.Add(-60 * day), ExpiresAt: t0.Add(day)},
		lokero.Credential{ID: "k-rotated", Kind: lokero.KindClerk, LocationID: "outlet-1", CreatedAt: t0.Add(-60 * day)},
	)
	revoke := func(id string, at time.Time) {
		t.Helper()
		if _, err := s.RevokeCredential(ctx, id, at, false); err != nil {
			t.Fatalf("RevokeCredential(%s): %v", id, err)
		}
	}
	rotate := func(id, token string, at time.Time) {
		t.Helper()
		if _, err := s.RotateCredential(ctx, id, tokenHash(token), "", at, time.Time{}); err != nil {
			t.Fatalf("RotateCredential(%s): %v", id, err)
		}
	}
	revoke("c-revoked", t0.Add(day))
	revoke("c-revoked-at-since", since)
	revoke("c-revoked-long-ago", t0.Add(-day))
	revoke("c-expired-and-revoked", t0.Add(4*day))
	revoke("d-revoked", t0.Add(day))
	rotate("c-rotated", "c-rotated 2", t0.Add(3*day))
	rotate("c-rotated", "c-rotated 3", t0.Add(4*day))
	rotate("c-rotated-long-ago", "c-rotated-long-ago 2", t0.Add(-2*day))
	rotate("k-rotated", "k-rotated 2", t0.Add(day))
	// A refused rotation (the credential is revoked) keeps nothing.
	if _, err := s.RotateCredential(ctx, "c-revoked", tokenHash("c-revoked 2"), "", t0.Add(5*day), time.Time{}); lokero.ErrorCode(err) != lokero.ECONFLICT {
		t.Fatalf("rotate a revoked courier: %v; want ECONFLICT", err)
	}

	want := [][]byte{tokenHash("c-revoked"), tokenHash("c-revoked-at-since"), tokenHash("c-expired"),
		tokenHash("c-expired-at-until"), tokenHash("c-expired-and-revoked"), tokenHash("c-rotated"), tokenHash("c-rotated 2")}
	slices.SortFunc(want, bytes.Compare)
	got, err := s.RetiredCourierTokens(ctx, since.In(helsinki), until.In(helsinki))
	if err != nil {
		t.Fatalf("RetiredCourierTokens: %v", err)
	}
	if !slices.EqualFunc(got, want, bytes.Equal) {
		t.Errorf("RetiredCourierTokens:\n got %v\nwant %v", hexes(got), hexes(want))
	}
	// Later, the older ones drop out of the window.
	got, err = s.RetiredCourierTokens(ctx, t0.Add(4*day), until)
	if err != nil {
		t.Fatalf("RetiredCourierTokens: %v", err)
	}
	want = [][]byte{tokenHash("c-expired-and-revoked"), tokenHash("c-rotated 2"), tokenHash("c-expired-at-until")}
	slices.SortFunc(want, bytes.Compare)
	if !slices.EqualFunc(got, want, bytes.Equal) {
		t.Errorf("RetiredCourierTokens from day 4:\n got %v\nwant %v", hexes(got), hexes(want))
	}
	if got, err := s.RetiredCourierTokens(ctx, t0.Add(30*day), t0.Add(31*day)); err != nil || len(got) != 0 {
		t.Errorf("RetiredCourierTokens of a window without any: %v, %v; want none", hexes(got), err)
	}
}

// hexes spells hashes in hex, for messages.
func hexes(list [][]byte) []string {
	out := make([]string, len(list))
	for i, h := range list {
		out[i] = hex.EncodeToString(h)
	}
	return out
}
