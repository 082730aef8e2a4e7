package service_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/service"
)

// codPayload is the cash on delivery a delivery's body tells.
type codPayload struct {
	Type string `json:"type"`
	Data struct {
		Sequence int         `json:"sequence"`
		Status   string      `json:"status"`
		COD      *lokero.COD `json:"cod"`
	} `json:"data"`
}

// TestWebhookCODOnEveryEvent: a counter pickup writes the payment
// (cod_collected) and the pickup (picked_up) in one transaction, and their
// deliveries run in parallel, so either may arrive first: both tell the
// cash on delivery collected, and the events before it tell it due.
func TestWebhookCODOnEveryEvent(t *testing.T) {
	t.Parallel()
	eachOutletStore(t, func(t *testing.T, f outletFixture) {
		ctx := context.Background()
		hooks := withWebhooks(t, f.lockersFixture)
		all, err := hooks.Create(ctx, f.retailer.ID, service.WebhookRequest{URL: "https://kauppa.example/all"})
		if err != nil {
			t.Fatal(err)
		}
		sh := f.toOutlet(t, "PO-FAR", 4990)
		_, code := f.arrive(t, sh)
		f.clock.Advance(time.Hour)
		done, err := f.lockers.CounterPickup(ctx, f.clerk, "PO-FAR", service.PickupRequest{PickupCode: code, IdentityChecked: true,
			Payment: &service.CounterPayment{Method: "cash", AmountCents: 4990, Reference: "KUITTI-7"}})
		if err != nil || done.Result != service.ResultPickedUp {
			t.Fatalf("the paid pickup: %+v, %v", done, err)
		}
		paidAt := done.Shipment.COD.CollectedAt
		if paidAt == nil {
			t.Fatalf("the pickup's shipment shows no payment: %+v", done.Shipment.COD)
		}

		byType := map[string]codPayload{}
		for _, d := range deliveries(t, hooks, f.retailer.ID, all.ID) {
			var p codPayload
			if err := json.Unmarshal(d.Payload, &p); err != nil {
				t.Fatalf("delivery %d: payload %q: %v", d.Sequence, d.Payload, err)
			}
			byType[d.Event] = p
		}
		for _, tt := range []struct {
			event     string
			collected bool
		}{
			{service.EventCreated, false},
			{service.EventReadyForPickup, false},
			{service.EventCODCollected, true},
			{service.EventPickedUp, true},
		} {
			t.Run(tt.event, func(t *testing.T) {
				p, ok := byType[tt.event]
				if !ok {
					t.Fatalf("no %s delivery among %v", tt.event, keys(byType))
				}
				c := p.Data.COD
				switch {
				case c == nil:
					t.Fatalf("%s (sequence %d) tells no cash on delivery", tt.event, p.Data.Sequence)
				case c.AmountCents != 4990 || c.Currency != "EUR":
					t.Errorf("%s: cod %+v; want 4990 EUR", tt.event, c)
				case tt.collected && (c.CollectedAt == nil || !c.CollectedAt.Equal(*paidAt) || c.Method != lokero.PaymentCash || c.LocationID != "PO-FAR"):
					t.Errorf("%s: cod %+v; want collected at %v, in cash at PO-FAR", tt.event, c, paidAt)
				case !tt.collected && c.CollectedAt != nil:
					t.Errorf("%s: cod %+v; want it still due", tt.event, c)
				}
			})
		}
		if byType[service.EventPickedUp].Data.Sequence != byType[service.EventCODCollected].Data.Sequence+1 {
			t.Errorf("picked_up sequence %d, cod_collected %d; want the pickup right after the payment",
				byType[service.EventPickedUp].Data.Sequence, byType[service.EventCODCollected].Data.Sequence)
		}

		// A parcel without cash on delivery tells none.
		plain, plainCode := f.arrive(t, f.toOutlet(t, "PO-FAR", 0))
		if _, err := f.lockers.CounterPickup(ctx, f.clerk, "PO-FAR", service.PickupRequest{PickupCode: plainCode, IdentityChecked: true}); err != nil {
			t.Fatal(err)
		}
		for _, d := range deliveries(t, hooks, f.retailer.ID, all.ID) {
			var raw struct {
				Data map[string]any `json:"data"`
			}
			if err := json.Unmarshal(d.Payload, &raw); err != nil {
				t.Fatal(err)
			}
			if _, has := raw.Data["cod"]; d.ShipmentID == plain.Shipment.ID && has {
				t.Errorf("%s of a parcel without cash on delivery tells cod: %s", d.Event, d.Payload)
			}
		}
	})
}

// keys is the event types delivered.
func keys(m map[string]codPayload) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
