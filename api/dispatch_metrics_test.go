package api_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lokero/lokero/api"
	"github.com/lokero/lokero/service"
)

// TestDispatchMetrics: with the evening's check enabled, /metrics counts
// its turn-aways beside the booking's and the door's, and its moves back
// to the locker chosen apart from them.
func TestDispatchMetrics(t *testing.T) {
	t.Parallel()
	p := newDemoPlatform(t)
	srv := api.New(p.dir, p.st, p.log)
	srv.EnableShipments(p.shipments)
	srv.EnableDispatch(service.NewDispatch(p.shipments))
	srv.SetReady(true)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	resp, err := http.Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("/metrics: %d, %v", resp.StatusCode, err)
	}
	for _, series := range []string{`lokero_turned_away_total{at="dispatch",outcome="rerouted"} 0`,
		`lokero_turned_away_total{at="dispatch",outcome="no_room"} 0`, "\nlokero_dispatch_moved_back_total 0\n"} {
		if !strings.Contains(string(out), series) {
			t.Errorf("/metrics lacks %q", strings.TrimSpace(series))
		}
	}
}
