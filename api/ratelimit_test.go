package api

import (
	"net/http"
	"testing"
	"time"
)

func TestRateLimit(t *testing.T) {
	t.Parallel()
	l := newRateLimit(3, time.Second)
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for i := range 3 {
		if _, ok := l.allow("a", now); !ok {
			t.Fatalf("request %d of a burst of 3 refused", i+1)
		}
	}
	wait, ok := l.allow("a", now)
	if ok || wait <= 0 || wait > time.Second {
		t.Fatalf("4th request: ok %v, wait %v; want refused with a wait up to 1 s", ok, wait)
	}
	if _, ok := l.allow("b", now); !ok {
		t.Error("another client is limited by the first one's burst")
	}
	if _, ok := l.allow("a", now.Add(time.Second)); !ok {
		t.Error("a token did not come back after the interval")
	}
}

func TestClientIP(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"192.0.2.7:5555":             "192.0.2.7",
		"[2001:db8:1:2:3:4:5:6]:443": "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1]:443": "2001:db8:1:2::/64",
		"[2001:db8:1:3::1]:443":      "2001:db8:1:3::/64",
		"not-an-address":             "not-an-address",
	}
	for remote, want := range tests {
		if got := clientIP(&http.Request{RemoteAddr: remote}); got != want {
			t.Errorf("clientIP(%q) = %q, want %q", remote, got, want)
		}
	}
}
