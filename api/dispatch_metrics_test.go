package api_test

import (
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
	resp, out := httpGet(t, ts.URL+"/metrics")
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	for _, series := range []string{`lokero_turned_away_total{at="dispatch",outcome="rerouted"} 0`,
		`lokero_turned_away_total{at="dispatch",outcome="no_room"} 0`, "\nlokero_dispatch_moved_back_total 0\n"} {
		if !strings.Contains(string(out), series) {
			t.Errorf("/metrics lacks %q", strings.TrimSpace(series))
		}
	}
}
