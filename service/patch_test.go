package service_test

import (
	"context"
	"testing"

	"github.com/lokero/lokero/service"
)

// TestPatchThatChangesNothing: an empty patch is refused naming the body;
// a patch that sets every field to what it already is stores nothing and
// writes no event; a real change writes one.
func TestPatchThatChangesNothing(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		_, err := f.dir.Patch(ctx, "operator_1", "SP-NEAR", service.LocationPatch{})
		checkInvalid(t, err, "body")

		imported, err := f.dir.Events(ctx, "SP-NEAR") // the import's
		if err != nil {
			t.Fatal(err)
		}
		before := *f.dir.Snapshot().ByID("SP-NEAR")
		same := before.WheelchairAccess
		got, err := f.dir.Patch(ctx, "operator_1", "SP-NEAR", service.LocationPatch{Status: strp(string(before.Status)), WheelchairAccess: &same})
		if err != nil {
			t.Fatalf("patch to the same values: %v", err)
		}
		if !got.UpdatedAt.Equal(before.UpdatedAt) {
			t.Errorf("a patch that changed nothing moved updated_at from %v to %v", before.UpdatedAt, got.UpdatedAt)
		}
		if events, err := f.dir.Events(ctx, "SP-NEAR"); err != nil || len(events) != len(imported) {
			t.Fatalf("events after patches that changed nothing: %+v (%v); want only the import's %d", events, err, len(imported))
		}

		changed := !before.WheelchairAccess
		if _, err := f.dir.Patch(ctx, "operator_1", "SP-NEAR", service.LocationPatch{WheelchairAccess: &changed}); err != nil {
			t.Fatal(err)
		}
		if events, err := f.dir.Events(ctx, "SP-NEAR"); err != nil || len(events) != len(imported)+1 {
			t.Errorf("events after one real change: %d (%v); want %d", len(events), err, len(imported)+1)
		}
	})
}
