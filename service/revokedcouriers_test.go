package service_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/service"
)

// TestSyncListsRevokedCouriers: a locker's sync names the courier tokens
// that stopped working within service.RevokedCourierWindow: revoked a day
// ago, expired, or replaced by a rotation (the old token, not the new);
// not a courier revoked 40 days ago, nor an active one, nor a device's
// credential revoked a day ago.
func TestSyncListsRevokedCouriers(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		day := 24 * time.Hour
		issue := func(kind lokero.CredentialKind, name, locationID string, validFor time.Duration) (lokero.Credential, string) {
			t.Helper()
			c, token, _, err := f.lockers.IssueCredential(ctx, service.CredentialRequest{Kind: kind, Name: name, LocationID: locationID, ValidFor: validFor})
			if err != nil {
				t.Fatalf("issue %s: %v", name, err)
			}
			return c, token
		}
		revoke := func(c lokero.Credential) {
			t.Helper()
			if _, err := f.lockers.RevokeCredential(ctx, c.ID, false); err != nil {
				t.Fatalf("revoke %s: %v", c.Name, err)
			}
		}
		longAgo, longAgoToken := issue(lokero.KindCourier, "revoked 40 days ago", "", 0)
		revoke(longAgo)
		f.clock.Advance(39 * day)
		recent, recentToken := issue(lokero.KindCourier, "revoked a day ago", "", 0)
		revoke(recent)
		dev, devToken := issue(lokero.KindDevice, "a device revoked a day ago", "SP-NEAR", 0)
		revoke(dev)
		rotated, rotatedToken := issue(lokero.KindCourier, "rotated a day ago", "", 0)
		_, newToken, err := f.lockers.RotateCredential(ctx, rotated.ID)
		if err != nil {
			t.Fatal(err)
		}
		_, expiredToken := issue(lokero.KindCourier, "expired", "", 12*time.Hour)
		_, activeToken := issue(lokero.KindCourier, "active", "", 0)
		f.clock.Advance(day)

		s, err := f.lockers.Sync(ctx, f.device, "LOCKER-M5")
		if err != nil {
			t.Fatalf("sync: %v", err)
		}
		want := []string{courierHash(recentToken), courierHash(rotatedToken), courierHash(expiredToken)}
		if got := slices.Sorted(slices.Values(s.RevokedCouriers)); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
			t.Errorf("revoked couriers %q; want %q", got, slices.Sorted(slices.Values(want)))
		}
		for name, token := range map[string]string{"revoked 40 days ago": longAgoToken, "device": devToken,
			"rotated's new token": newToken, "active": activeToken} {
			if slices.Contains(s.RevokedCouriers, courierHash(token)) {
				t.Errorf("the sync lists the %s courier", name)
			}
		}
	})
}
