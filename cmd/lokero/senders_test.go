package main

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lokero/lokero/notify/webhook"
)

// TestPushClientGuarded: serve's Web Push client refuses an endpoint on an
// internal address (here loopback) unless private endpoints are allowed,
// when webpush's own client is used.
func TestPushClientGuarded(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusCreated) }))
	defer srv.Close()
	resp, err := pushClient(false).Post(srv.URL, "application/octet-stream", strings.NewReader("push"))
	if err == nil {
		resp.Body.Close()
	}
	if !errors.Is(err, webhook.ErrForbiddenAddress) {
		t.Errorf("push to %s without --allow-private-endpoints: %v; want ErrForbiddenAddress", srv.URL, err)
	}
	if c := pushClient(true); c != nil {
		t.Errorf("pushClient(allowPrivate) = %+v; want nil (webpush's own)", c)
	}
}
