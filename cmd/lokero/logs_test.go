package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lokero/lokero/demo"
	"github.com/lokero/lokero/sqlite"
)

// TestLogsHoldNoCodes runs a parcel's whole life at a locker through the
// real server on SQLite and on PostgreSQL, its log captured: booked,
// handed over, deposited, its notice sent, sent again, a wrong code at
// the keypad, the code rotated by an operator, the old code refused, the
// new one opening; and a COD parcel at a SMARTPOST paid and picked up.
// Every opening code it issued (read from the development outbox) and the
// wrong one entered must appear nowhere in the log, nor in the database
// (a SQLite file's bytes, with its WAL; every row of PostgreSQL's
// tables).
func TestLogsHoldNoCodes(t *testing.T) {
	t.Parallel()
	onBothStores(t, func(t *testing.T, store string) {
		db, args := storeArgs(t, store)
		base, logs := startServeLogged(t, append(args, "--dev")...)
		key := lastLine(t, "retailer", "add", "--db", db, "Kauppa")
		courier := lastLine(t, "courier", "add", "--db", db, "Kuski")
		operator := lastLine(t, "operator", "add", "--db", db, "Olli")
		lockerDevice := lastLine(t, "locker", "provision", "--db", db, demo.DemoLockerID)
		smartpostDevice := lastLine(t, "locker", "provision", "--db", db, demo.DemoSmartpostID)

		codes := map[string]bool{} // every opening code the outbox showed
		outbox := func(tracking string) []string {
			t.Helper()
			var box struct {
				Messages []struct {
					Text         string
					TrackingCode string `json:"tracking_code"`
				}
			}
			if status := call(t, "GET", base+"/dev/outbox?limit=1000", operator, nil, &box); status != 200 {
				t.Fatalf("outbox: %d", status)
			}
			var mine []string
			for _, m := range box.Messages {
				for _, c := range issuedCode.FindAllStringSubmatch(m.Text, -1) {
					codes[c[1]] = true
					if m.TrackingCode == tracking {
						mine = append(mine, c[1])
					}
				}
			}
			return mine // newest first
		}
		type shipment struct {
			ID           string `json:"id"`
			TrackingCode string `json:"tracking_code"`
			Status       string `json:"status"`
		}
		deliver := func(body map[string]any, lockerID, device string) (shipment, int, string) {
			t.Helper()
			var sh shipment
			if status := call(t, "POST", base+"/v1/shipments", key, body, &sh); status != 201 {
				t.Fatalf("book: %d", status)
			}
			if status := call(t, "POST", base+"/v1/shipments/"+sh.ID+"/handover", courier, nil, &sh); status != 200 {
				t.Fatalf("handover: %d", status)
			}
			var dep struct{ Compartment int }
			if status := call(t, "POST", base+"/v1/lockers/"+lockerID+"/deposits", courier, map[string]string{"tracking_code": sh.TrackingCode}, &dep); status != 200 {
				t.Fatalf("deposit: %d", status)
			}
			if status := call(t, "POST", base+"/v1/devices/"+lockerID+"/events", device, map[string]any{"type": "door_closed", "compartment": dep.Compartment}, nil); status != 200 {
				t.Fatalf("door closed: %d", status)
			}
			got := outbox(sh.TrackingCode)
			if len(got) == 0 {
				t.Fatalf("no opening code for %s in the outbox", sh.TrackingCode)
			}
			return sh, dep.Compartment, got[0]
		}
		keypad := func(lockerID, device, code string) (int, map[string]any) {
			t.Helper()
			var out map[string]any
			return call(t, "POST", base+"/v1/devices/"+lockerID+"/keypad", device, map[string]string{"code": code}, &out), out
		}

		// The demo building's LOCKER: notice, again, a wrong code, rotated.
		sh, compartment, first := deliver(demoBuildingParcel(), demo.DemoLockerID, lockerDevice)
		wrong := fmt.Sprintf("%010d", rand.Int64N(1e10))
		if wrong == first {
			wrong = "5" + first[1:]
		}
		if status, _ := keypad(demo.DemoLockerID, lockerDevice, wrong); status != 403 {
			t.Errorf("a wrong code: %d; want 403", status)
		}
		if status := call(t, "POST", base+"/v1/shipments/"+sh.ID+"/notice", key, nil, nil); status != 200 {
			t.Fatalf("notice again: %d", status)
		}
		if got := outbox(sh.TrackingCode); len(got) < 2 || got[0] != first {
			t.Fatalf("the notice sent again shows %v; want the same code %s", got, first)
		}
		if status := call(t, "POST", base+"/v1/shipments/"+sh.ID+"/opening-code/rotate", operator, nil, nil); status != 200 {
			t.Fatalf("rotate: %d", status)
		}
		second := outbox(sh.TrackingCode)[0]
		if second == first {
			t.Fatal("rotating the code kept it")
		}
		if status, _ := keypad(demo.DemoLockerID, lockerDevice, first); status != 403 {
			t.Errorf("the code before the rotation: %d; want 403", status)
		}
		if status, out := keypad(demo.DemoLockerID, lockerDevice, second); status != 200 || out["result"] != "open" {
			t.Fatalf("the rotated code: %d %v", status, out)
		}
		call(t, "POST", base+"/v1/devices/"+demo.DemoLockerID+"/events", lockerDevice, map[string]any{"type": "door_closed", "compartment": compartment}, nil)
		if call(t, "GET", base+"/v1/shipments/"+sh.ID, key, nil, &sh); sh.Status != "PICKED_UP" {
			t.Errorf("after the pickup the parcel is %s", sh.Status)
		}

		// A COD parcel at the demo SMARTPOST: the code, then the payment.
		body := demoBuildingParcel()
		body["pickup_point_id"] = demo.DemoSmartpostID
		body["recipient"].(map[string]any)["street"] = "Aleksanterinkatu 10"
		body["recipient"].(map[string]any)["postcode"] = "00100"
		body["cod"] = map[string]any{"amount_cents": 4990, "currency": "EUR"}
		cod, compartment, third := deliver(body, demo.DemoSmartpostID, smartpostDevice)
		if status, out := keypad(demo.DemoSmartpostID, smartpostDevice, third); status != 200 || out["result"] != "payment_required" {
			t.Fatalf("the COD parcel's code: %d %v; want payment_required", status, out)
		}
		if status := call(t, "POST", base+"/v1/devices/"+demo.DemoSmartpostID+"/payments", smartpostDevice,
			map[string]any{"compartment": compartment, "amount_cents": 4990, "terminal_ref": "LOG-1"}, nil); status != 200 {
			t.Fatalf("payment: %d", status)
		}
		call(t, "POST", base+"/v1/devices/"+demo.DemoSmartpostID+"/events", smartpostDevice, map[string]any{"type": "door_closed", "compartment": compartment}, nil)
		if call(t, "GET", base+"/v1/shipments/"+cod.ID, key, nil, &cod); cod.Status != "PICKED_UP" {
			t.Errorf("after the payment and pickup the COD parcel is %s", cod.Status)
		}

		secrets := []string{wrong}
		for c := range codes {
			secrets = append(secrets, c)
		}
		if len(codes) < 3 {
			t.Fatalf("the run issued %d codes; want at least 3", len(codes))
		}
		// Let the job queue and the request logs settle before reading.
		time.Sleep(200 * time.Millisecond)
		log := logs.String()
		if !strings.Contains(log, `"msg":"ready"`) {
			t.Fatalf("the captured log is not the server's: %.500s", log)
		}
		for _, c := range secrets {
			if containsCode([]byte(log), c) {
				t.Errorf("the log holds the code %s: %s", c, lineWith(log, c))
			}
		}
		rowsChecked := 0
		if store == "sqlite" {
			for _, f := range sqlite.Files(db) {
				raw, err := os.ReadFile(f)
				if err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
				rowsChecked += len(raw)
				for _, c := range secrets {
					if containsCode(raw, c) {
						t.Errorf("%s holds the code %s in clear", f, c)
					}
				}
			}
		} else {
			rowsChecked = checkTablesHoldNoCodes(t, db, secrets)
		}
		t.Logf("%s: %d opening codes issued and 1 wrong code entered; none in %d bytes of log nor in the database (%d %s)",
			store, len(codes), len(log), rowsChecked, map[string]string{"sqlite": "bytes", "postgres": "rows"}[store])
	})
}

// issuedCode finds an opening code in a notice, in any of its languages.
var issuedCode = regexp.MustCompile(`(?:Avauskoodi|Opening code|Öppningskod): ([0-9]+)`)

// containsCode reports whether b holds code as a number of its own (not
// inside a longer run of digits).
func containsCode(b []byte, code string) bool {
	for i := 0; ; {
		j := bytes.Index(b[i:], []byte(code))
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(code)
		if (start == 0 || !isDigit(b[start-1])) && (end == len(b) || !isDigit(b[end])) {
			return true
		}
		i = start + 1
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// lineWith returns the log line holding s.
func lineWith(log, s string) string {
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, s) {
			return line
		}
	}
	return ""
}

// checkTablesHoldNoCodes reads every row of every table of a PostgreSQL
// database as text and fails where one holds a code; it returns the rows
// read.
func checkTablesHoldNoCodes(t *testing.T, dsn string, secrets []string) int {
	t.Helper()
	ctx := context.Background()
	st, err := openStore(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	db := st.SQL()
	rows, err := db.QueryContext(ctx, `SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) FROM information_schema.tables
		WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	n := 0
	for _, table := range tables {
		rows, err := db.QueryContext(ctx, `SELECT row_to_json(t)::text FROM `+table+` t`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var text string
			if err := rows.Scan(&text); err != nil {
				t.Fatal(err)
			}
			n++
			for _, c := range secrets {
				if containsCode([]byte(text), c) {
					t.Errorf("table %s holds the code %s in clear: %.300s", table, c, text)
				}
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	return n
}

// startServeLogged is startServe that also returns what the server logs.
func startServeLogged(t *testing.T, args ...string) (string, *syncBuffer) {
	t.Helper()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	logs := &syncBuffer{}
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", addr}, args...), logs, logs)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("serve exited with %d: %s", code, logs.String())
			}
		case <-time.After(20 * time.Second):
			t.Error("serve did not stop within 20 s of its context ending")
		}
	})
	waitHealthy(t, "http://"+addr, done, logs)
	return "http://" + addr, logs
}
