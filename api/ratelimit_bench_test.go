package api_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/lokero/lokero/api"
)

// BenchmarkDirectoryLimit is the cost of the directory's per-address rate
// limit on a search: the same search with the limit off and on (a limit
// one address never reaches, so that every request is served):
//
//	go test -bench DirectoryLimit -run '^$' ./api/
func BenchmarkDirectoryLimit(b *testing.B) {
	srv := benchServer(b).(*api.Server)
	unreached := api.DefaultRateLimits()
	unreached.Directory = api.Limit{Rate: 1e9, Burst: 1 << 30}
	defer srv.SetRateLimits(unreached) // as benchServer leaves it for the other benchmarks
	for _, path := range []string{benchSearches[0].v1, benchSearches[0].posti} {
		for _, on := range []bool{false, true} {
			limits := api.DefaultRateLimits()
			limits.Directory = api.Limit{}
			name := "off"
			if on {
				limits, name = unreached, "on"
			}
			srv.SetRateLimits(limits)
			b.Run(path[:7]+"/"+name, func(b *testing.B) {
				req := httptest.NewRequest(http.MethodGet, path, nil)
				body := new(bytes.Buffer)
				b.ReportAllocs()
				for b.Loop() {
					body.Reset()
					rec := httptest.NewRecorder()
					rec.Body = body
					srv.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						b.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
					}
				}
			})
		}
	}
}
