package main

import (
	"database/sql"
	"testing"
	"time"

	"github.com/lokero/lokero/demo"
	"github.com/lokero/lokero/sqlite"
)

// TestStoreTimesFollowTheDevClock: with --dev's test clock advanced by 30 days,
// the times the store writes itself follow the test clock, not the wall
// clock: a keypad's state (keypads.updated_at), a queued notice of arrival
// (outbox.created_at) and a location's status event — on SQLite and on
// PostgreSQL.
func TestStoreTimesFollowTheDevClock(t *testing.T) {
	t.Parallel()
	onBothStores(t, func(t *testing.T, store string) {
		rig := startLockerRig(t, store)
		base, db, key, courier, operator, device := rig.base, rig.db, rig.key, rig.courier, rig.operator, rig.device

		const ahead = 30 * 24 * time.Hour
		if status := call(t, "POST", base+"/v1/admin/clock", operator, map[string]string{"advance": ahead.String()}, nil); status != 200 {
			t.Fatalf("advance the clock: %d", status)
		}
		// followsClock fails unless at is the test clock's time: 30 days
		// ahead of the wall clock, give or take the test's own run.
		followsClock := func(what string, at time.Time) {
			t.Helper()
			if want := time.Now().Add(ahead); at.Before(want.Add(-5*time.Minute)) || at.After(want.Add(time.Minute)) {
				t.Errorf("%s at %v; want the test clock's %v", what, at, want)
			}
		}

		// A wrong code at the keypad: the keypad's state is stored.
		var refused struct{ Error struct{ Code string } }
		if status := call(t, "POST", base+"/v1/devices/"+demo.DemoLockerID+"/keypad", device,
			map[string]string{"code": "123456789"}, &refused); status != 403 || refused.Error.Code != "wrong_code" {
			t.Fatalf("a wrong code: %d %+v; want 403 wrong_code", status, refused)
		}
		followsClock("the keypad's state", keypadUpdatedAt(t, store, db))

		// A parcel deposited and its door closed: the notice is queued.
		body := demoBuildingParcel()
		var sh struct {
			ID           string
			TrackingCode string `json:"tracking_code"`
		}
		if status := call(t, "POST", base+"/v1/shipments", key, body, &sh); status != 201 {
			t.Fatalf("create: %d", status)
		}
		var handed struct{ Status string }
		if status := call(t, "POST", base+"/v1/shipments/"+sh.ID+"/handover", courier, nil, &handed); status != 200 {
			t.Fatalf("handover: %d %+v", status, handed)
		}
		var dep struct {
			Compartment int
			Error       any
		}
		if status := call(t, "POST", base+"/v1/lockers/"+demo.DemoLockerID+"/deposits", courier,
			map[string]string{"tracking_code": sh.TrackingCode}, &dep); status != 200 {
			t.Fatalf("deposit: %d %+v", status, dep)
		}
		if status := call(t, "POST", base+"/v1/devices/"+demo.DemoLockerID+"/events", device,
			map[string]any{"type": "door_closed", "compartment": dep.Compartment}, nil); status != 200 {
			t.Fatalf("door closed: %d", status)
		}
		var box struct {
			Messages []struct {
				CreatedAt time.Time `json:"created_at"`
			}
		}
		if status := call(t, "GET", base+"/dev/outbox", operator, nil, &box); status != 200 || len(box.Messages) == 0 {
			t.Fatalf("outbox: %d %+v", status, box)
		}
		followsClock("the notice of arrival", box.Messages[0].CreatedAt)

		// The operator closes a point for a day: its event.
		day := time.Now().Add(ahead + 7*24*time.Hour).Format(time.DateOnly)
		closing := map[string]any{"status": "TEMPORARILY_CLOSED", "status_from": day, "status_until": day, "status_reason": "renovation"}
		if status := call(t, "PATCH", base+"/v1/locations/"+demo.DemoLockerID, operator, closing, nil); status != 200 {
			t.Fatalf("closing: %d", status)
		}
		var events struct{ Events []struct{ At time.Time } }
		if status := call(t, "GET", base+"/v1/locations/"+demo.DemoLockerID+"/events", operator, nil, &events); status != 200 || len(events.Events) < 2 {
			t.Fatalf("events: %d %+v", status, events)
		}
		followsClock("the operator's event", events.Events[len(events.Events)-1].At)
	})
}

// keypadUpdatedAt reads, straight from the database, when the demo
// locker's keypad state was last written.
func keypadUpdatedAt(t *testing.T, store, db string) time.Time {
	t.Helper()
	driver, dsn := "sqlite", sqlite.DSN(db)
	if store == "postgres" {
		driver, dsn = "pgx", db
	}
	conn, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var at any
	if err := conn.QueryRowContext(t.Context(), `SELECT updated_at FROM keypads WHERE location_id = $1`,
		demo.DemoLockerID).Scan(&at); err != nil {
		t.Fatalf("the keypad's row: %v", err)
	}
	switch v := at.(type) {
	case time.Time:
		return v
	case string:
		parsed, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			t.Fatal(err)
		}
		return parsed
	}
	t.Fatalf("keypads.updated_at is a %T", at)
	return time.Time{}
}
