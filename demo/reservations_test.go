package demo

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/sqlite"
)

// TestReserve books a busy day over the demo network and reads it back:
// every reservation is stored, none beyond a class's compartments, some
// classes are full and some free, and about a tenth of lockers are full
// in S.
func TestReserve(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "reserve.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	locs, err := Network(registry(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpsertLocations(ctx, locs); err != nil {
		t.Fatal(err)
	}
	date := lokero.Date{Year: 2026, Month: time.December, Day: 1}
	n, err := Reserve(ctx, st, locs, date, 3)
	if err != nil {
		t.Fatal(err)
	}
	reserved, err := st.ReservedOn(ctx, date)
	if err != nil {
		t.Fatal(err)
	}
	total, lockers, fullS, full, free := 0, 0, 0, 0, 0
	for _, l := range locs {
		if len(l.Compartments) == 0 {
			continue
		}
		lockers++
		for _, c := range l.Compartments {
			got := reserved[l.ID][c.Size]
			total += got
			switch {
			case got > c.Count:
				t.Fatalf("%s %s: %d reserved of %d compartments", l.ID, c.Size, got, c.Count)
			case got == c.Count:
				full++
				if c.Size == "S" {
					fullS++
				}
			default:
				free++
			}
		}
	}
	if total != n || n == 0 {
		t.Errorf("Reserve said %d, the store holds %d", n, total)
	}
	if full == 0 || free == 0 {
		t.Errorf("%d full and %d free classes: want both", full, free)
	}
	if share := float64(fullS) / float64(lockers); share < 0.1 || share > 0.3 {
		t.Errorf("%.2f of lockers full in S; want about a tenth plus the uniform draws", share)
	}
}
