package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/api"
	"github.com/lokero/lokero/service"
	"github.com/lokero/lokero/sqlite"
)

// TestSearchDuringReload: answers stay valid JSON while imports swap the
// directory's snapshot under running searches.
func TestSearchDuringReload(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "reload.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	st.SetClock(fixedClock{})
	reg, err := service.LoadPostcodes(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	dir := service.NewDirectory(st, reg, fixedClock{}, slog.New(slog.DiscardHandler))
	point := func(name string) []lokero.Location {
		return []lokero.Location{{ID: "PO-1", Type: lokero.TypePostOffice, Name: name, Street: "Postikatu 1",
			Postcode: "00100", City: "Helsinki", Lat: 60.17, Lon: 24.94}}
	}
	if _, err := dir.Import(ctx, point("Posti 0")); err != nil {
		t.Fatal(err)
	}
	srv := api.New(dir, st, slog.New(slog.DiscardHandler))
	srv.SetReady(true)
	// The test searches as fast as it can from one address while the
	// imports run: it is about reloads, not the directory's rate limit.
	srv.SetRateLimits(api.RateLimits{})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(done)
		for i := range 40 {
			if _, err := dir.Import(ctx, point(fmt.Sprintf("Posti %d", i+1))); err != nil {
				t.Error(err)
				return
			}
		}
	})
	for searches := 0; ; searches++ {
		select {
		case <-done:
			wg.Wait()
			if searches == 0 {
				t.Fatal("no search ran during the imports")
			}
			return
		default:
		}
		_, body := httpGet(t, ts.URL+"/v1/locations?lat=60.17&lon=24.94")
		var ans struct{ Locations []struct{ ID string } }
		if !json.Valid(body) || json.Unmarshal(body, &ans) != nil || len(ans.Locations) != 1 || ans.Locations[0].ID != "PO-1" {
			t.Fatalf("answer during a reload: %s", body)
		}
	}
}
