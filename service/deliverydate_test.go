package service_test

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/service"
)

// TestDeliveryDateRefusalIsShort: a malformed delivery date is named in
// the refusal cut short, not echoed whole (a query may carry megabytes).
func TestDeliveryDateRefusalIsShort(t *testing.T) {
	t.Parallel()
	onEveryStore(t, storeOnly, func(t *testing.T, st lockerStore) {
		dir := service.NewDirectory(st, testRegistry(t), fixedClock{now}, slog.New(slog.DiscardHandler))
		err := dir.CheckDeliveryDate(strings.Repeat("9", 100_000))
		e, ok := err.(*lokero.Error)
		if !ok || e.Code != lokero.EINVALID || e.Field != "delivery_date" || len(e.Message) > 200 {
			t.Fatalf("a 100,000-character delivery date: %v; want EINVALID on delivery_date in a short message", err)
		}
	})
}
