package device

import (
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lokero/lokero/service"
)

// TestPickupQRSinceOnTheWire: a pickup carries the start of its QR window
// as qr_since (RFC 3339) when the centre knows it, and nothing when not,
// which a controller reads as no start to check (an older centre).
func TestPickupQRSinceOnTheWire(t *testing.T) {
	t.Parallel()
	since := time.Date(2026, 12, 6, 18, 4, 5, 0, time.UTC)
	tests := []struct {
		name string
		in   Pickup
		want string // in the JSON; "" for no qr_since at all
	}{
		{"known", Pickup{ShipmentID: "SH-1", Compartment: 7, QRSince: since}, `"qr_since":"2026-12-06T18:04:05Z"`},
		{"unknown", Pickup{ShipmentID: "SH-1", Compartment: 7}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			data, err := json.Marshal(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == "" && strings.Contains(string(data), "qr_since") || tt.want != "" && !strings.Contains(string(data), tt.want) {
				t.Errorf("%s; want %q", data, tt.want)
			}
			var back Pickup
			if err := json.Unmarshal(data, &back); err != nil || !back.QRSince.Equal(tt.in.QRSince) {
				t.Errorf("decoded qr_since %v, %v; want %v", back.QRSince, err, tt.in.QRSince)
			}
		})
	}
}

// TestPickupOfCarriesQRSince: what the centre sends in a sync or an
// expect_pickup carries the service's start of the QR window.
func TestPickupOfCarriesQRSince(t *testing.T) {
	t.Parallel()
	since := time.Date(2026, 12, 6, 18, 4, 5, 0, time.UTC)
	if got := pickupOf(service.ExpectedPickup{ShipmentID: "shp_1", Compartment: 7, QRSince: since}); !got.QRSince.Equal(since) || got.Compartment != 7 {
		t.Errorf("pickupOf: %+v; want compartment 7 and qr_since %s", got, since)
	}
}

// TestRevokedCouriersOnTheWire: a sync names the couriers to forget in
// revoked_couriers, and leaves the field out when it has none, which a
// controller reads as nothing to forget (as from a centre before it).
func TestRevokedCouriersOnTheWire(t *testing.T) {
	t.Parallel()
	hash := CourierHash("lkc_revoked")
	tests := []struct {
		name string
		list []string
		want string // in the JSON; "" for no field at all
	}{
		{"none", nil, ""},
		{"one", []string{hash}, `"revoked_couriers":["` + hash + `"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			raw, err := json.Marshal(Command{Type: CommandSync, RevokedCouriers: tt.list})
			if err != nil {
				t.Fatal(err)
			}
			if has := strings.Contains(string(raw), "revoked_couriers"); tt.want == "" && has || tt.want != "" && !strings.Contains(string(raw), tt.want) {
				t.Errorf("sync on the wire: %s; want %q", raw, tt.want)
			}
			var back Command
			if err := json.Unmarshal(raw, &back); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back.RevokedCouriers, tt.list) {
				t.Errorf("read back: %q; want %q", back.RevokedCouriers, tt.list)
			}
		})
	}
}

// TestCourierHashIsTheStoredHash: a controller names a courier by the
// hash the centre stores their token as (service.HashKey), base64url:
// the centre looks a signed-in courier up by it, and names the revoked
// ones (a sync's revoked_couriers) in the same form.
func TestCourierHashIsTheStoredHash(t *testing.T) {
	t.Parallel()
	for _, token := range []string{"lkc_testcourier", "lkc_" + strings.Repeat("x", 52)} {
		if got, want := CourierHash(token), base64.RawURLEncoding.EncodeToString(service.HashKey(token)); got != want {
			t.Errorf("CourierHash(%q) = %s; want %s", token, got, want)
		}
	}
}
