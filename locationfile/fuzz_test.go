package locationfile

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzRead reads any file as CSV and as JSON: Read never panics; what it
// accepts is valid, and its export reads back to the same export (the
// first export may normalise, e.g. a ';' in a reason; after that nothing
// changes). `go test ./locationfile -run XXX -fuzz FuzzRead` looks further.
func FuzzRead(f *testing.F) {
	f.Add(statusCSV)
	f.Add("id;type;name;street;postcode;city;lat;lon;compartments\nSP-1;SMARTPOST;A;Katu 1;00100;Helsinki;60,17;24,94;S*10\n")
	f.Add(`[{"id":"SP-1","type":"smartpost","name":"A","street":"Katu 1","postcode":"00100","city":"Helsinki","lat":60.17,"lon":24.94,` +
		`"compartments":[{"size":"S","length_cm":70,"width_cm":40,"height_cm":10,"count":3}],"exception_days":"2026-12-24 10:00-14:00 Aatto",` +
		`"status":"TEMPORARILY_CLOSED","status_from":"2026-12-20","functions":["collect"]}]`)
	f.Add(outletCSV)
	f.Add(`[{"id":"PO-1","type":"POSTOFFICE","name":"P","street":"Katu 1","postcode":"00100","city":"Helsinki","lat":60.17,"lon":24.94,` +
		`"max_parcel":{"length_cm":130,"weight_kg":31.5},"shelf_capacity":60}]`)
	f.Add("\ufeffid,type\n\"unterminated")
	f.Fuzz(func(t *testing.T, file string) {
		for _, name := range []string{"f.csv", "f.json"} {
			locs, kept, err := ReadKept(strings.NewReader(file), name, nil, nil)
			if err != nil {
				continue
			}
			if len(kept) != len(locs) {
				t.Fatalf("%s: %d locations, %d kept sets", name, len(locs), len(kept))
			}
			for i := range locs {
				if err := locs[i].Validate(); err != nil {
					t.Fatalf("%s: accepted an invalid location %+v: %v", name, locs[i], err)
				}
			}
			var first bytes.Buffer
			if err := Write(&first, locs); err != nil {
				t.Fatalf("%s: export: %v", name, err)
			}
			again, err := Read(bytes.NewReader(first.Bytes()), "export.csv", nil, nil)
			if err != nil {
				t.Fatalf("%s: its export does not read back: %v\n%s", name, err, first.String())
			}
			var second bytes.Buffer
			if err := Write(&second, again); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(first.Bytes(), second.Bytes()) {
				t.Fatalf("%s: export changes on the way back:\n%s\n---\n%s", name, first.String(), second.String())
			}
		}
	})
}
