package api

import (
	"net/url"
	"runtime"
	"strings"
	"testing"
)

// TestPostiQueryBounds: over-long values of what selects (types, city,
// municipality, pupCode) are not read: the answer is empty, as for a
// value nobody has, and reading a 1 MB one costs no copies of it. At most
// maxPostiTypes type names are read.
func TestPostiQueryBounds(t *testing.T) {
	// Not parallel: it measures what the parse allocates.
	huge := strings.Repeat("SMARTPOST,", 100_000) // 1 MB
	for _, name := range []string{"types", "city", "municipality", "pupCode"} {
		v := url.Values{name: {huge}, "zipCode": {"00100"}}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		q, err := parsePostiQuery(v)
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !q.none || len(q.types) != 0 || q.city != "" || q.municipal != "" || q.pupCode != "" {
			t.Errorf("%s of 1 MB: none %v, %d types, city %d bytes, municipality %d, pupCode %d; want an empty answer reading none of it",
				name, q.none, len(q.types), len(q.city), len(q.municipal), len(q.pupCode))
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 64<<10 {
			t.Errorf("%s of 1 MB: the parse allocated %d bytes; want it bounded", name, n)
		}
	}

	many := make([]string, 1000)
	for i := range many {
		many[i] = "SMARTPOST,POSTOFFICE"
	}
	q, err := parsePostiQuery(url.Values{"types": many})
	if err != nil {
		t.Fatal(err)
	}
	if len(q.types) == 0 || len(q.types) > maxPostiTypes || q.none {
		t.Errorf("1000 types values: %d types read (none %v); want 1..%d", len(q.types), q.none, maxPostiTypes)
	}
	// Within the bounds, values are read as before.
	q, err = parsePostiQuery(url.Values{"types": {"SMARTPOST, postoffice"}, "city": {"Helsinki"}, "pupCode": {"SP-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(q.types) != 2 || q.none || q.city != "Helsinki" || q.pupCode != "SP-1" {
		t.Errorf("ordinary query: %+v", q)
	}
}
