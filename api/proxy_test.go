package api

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

// TestClientAddr: forwarding headers are believed only from a trusted
// proxy, and then only as far as the nearest hop that is not a trusted
// proxy; anything a client can write on its own is never the answer.
func TestClientAddr(t *testing.T) {
	t.Parallel()
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8:ffff::/48"),
		netip.MustParsePrefix("::ffff:192.168.1.0/120")} // IPv4-mapped: the same as 192.168.1.0/24
	tests := []struct {
		name    string
		peer    string
		xff     []string
		fwd     []string
		want    string
		noProxy bool // no trusted proxies configured
	}{
		{name: "no proxy, no header", peer: "203.0.113.5:4000", want: "203.0.113.5"},
		{name: "spoof: X-Forwarded-For from a client that is no proxy", peer: "203.0.113.5:4000", xff: []string{"198.51.100.1"}, want: "203.0.113.5"},
		{name: "spoof: Forwarded from a client that is no proxy", peer: "203.0.113.5:4000", fwd: []string{"for=198.51.100.1"}, want: "203.0.113.5"},
		{name: "spoof: headers believed from nobody when no proxy is configured", peer: "10.0.0.1:4000", xff: []string{"198.51.100.1"}, want: "10.0.0.1", noProxy: true},
		{name: "trusted proxy, X-Forwarded-For", peer: "10.0.0.1:4000", xff: []string{"198.51.100.1"}, want: "198.51.100.1"},
		{name: "spoof: client prepends an address, the proxy appends the real one", peer: "10.0.0.1:4000", xff: []string{"1.2.3.4, 198.51.100.1"}, want: "198.51.100.1"},
		{name: "spoof: client writes garbage left of the real one", peer: "10.0.0.1:4000", xff: []string{"<script>, 198.51.100.1"}, want: "198.51.100.1"},
		{name: "spoof: client claims to be a trusted proxy", peer: "10.0.0.1:4000", xff: []string{"198.51.100.1, 10.9.9.9"}, want: "198.51.100.1"},
		{name: "two proxies in a row", peer: "10.0.0.1:4000", xff: []string{"198.51.100.7, 10.2.3.4"}, want: "198.51.100.7"},
		{name: "several header lines, the nearest last", peer: "10.0.0.1:4000", xff: []string{"1.2.3.4", "198.51.100.1, 10.0.0.2"}, want: "198.51.100.1"},
		{name: "an address with a port", peer: "10.0.0.1:4000", xff: []string{"198.51.100.1:5555"}, want: "198.51.100.1"},
		{name: "IPv6 in brackets with a port", peer: "10.0.0.1:4000", xff: []string{"[2001:db8:1:2::9]:443"}, want: "2001:db8:1:2::9"},
		{name: "IPv6 in brackets", peer: "10.0.0.1:4000", xff: []string{"[2001:db8:1:2::9]"}, want: "2001:db8:1:2::9"},
		{name: "IPv4-mapped IPv6 is IPv4", peer: "10.0.0.1:4000", xff: []string{"::ffff:198.51.100.1"}, want: "198.51.100.1"},
		{name: "trusted IPv6 proxy", peer: "[2001:db8:ffff::1]:4000", xff: []string{"198.51.100.1"}, want: "198.51.100.1"},
		{name: "trusted by an IPv4-mapped prefix", peer: "192.168.1.7:4000", xff: []string{"198.51.100.1"}, want: "198.51.100.1"},
		{name: "peer as IPv4-mapped IPv6", peer: "[::ffff:10.0.0.1]:4000", xff: []string{"198.51.100.1"}, want: "198.51.100.1"},
		{name: "malformed at the hop that counts", peer: "10.0.0.1:4000", xff: []string{"198.51.100.1, not-an-ip"}, want: "10.0.0.1"},
		{name: "empty element", peer: "10.0.0.1:4000", xff: []string{"198.51.100.1,"}, want: "10.0.0.1"},
		{name: "empty header", peer: "10.0.0.1:4000", xff: []string{""}, want: "10.0.0.1"},
		{name: "only trusted proxies", peer: "10.0.0.1:4000", xff: []string{"10.1.1.1, 10.2.2.2"}, want: "10.0.0.1"},
		{name: "a hostname is no address", peer: "10.0.0.1:4000", xff: []string{"evil.example"}, want: "10.0.0.1"},
		{name: "overlong", peer: "10.0.0.1:4000", xff: []string{"198.51.100.1111"}, want: "10.0.0.1"},

		{name: "Forwarded for=", peer: "10.0.0.1:4000", fwd: []string{"for=198.51.100.1;proto=https;by=10.0.0.1"}, want: "198.51.100.1"},
		{name: "Forwarded, any case, several elements", peer: "10.0.0.1:4000", fwd: []string{`For="1.2.3.4", for=198.51.100.1`}, want: "198.51.100.1"},
		{name: "Forwarded, quoted IPv6 with a port", peer: "10.0.0.1:4000", fwd: []string{`for="[2001:db8:cafe::17]:4711"`}, want: "2001:db8:cafe::17"},
		{name: "Forwarded, quoted IPv4 with a port", peer: "10.0.0.1:4000", fwd: []string{`for="198.51.100.1:80"`}, want: "198.51.100.1"},
		{name: "Forwarded, two lines", peer: "10.0.0.1:4000", fwd: []string{"for=1.2.3.4", "for=198.51.100.1, for=10.3.3.3"}, want: "198.51.100.1"},
		{name: "Forwarded, unquoted IPv6 is malformed", peer: "10.0.0.1:4000", fwd: []string{"for=[2001:db8:cafe::17]"}, want: "10.0.0.1"},
		{name: "Forwarded, unterminated quote", peer: "10.0.0.1:4000", fwd: []string{`for="198.51.100.1`}, want: "10.0.0.1"},
		{name: "Forwarded, spoof: a malformed part from the client spoils the whole", peer: "10.0.0.1:4000", fwd: []string{`for="1.2.3.4, for=198.51.100.1`}, want: "10.0.0.1"},
		{name: "Forwarded, unknown", peer: "10.0.0.1:4000", fwd: []string{"for=unknown"}, want: "10.0.0.1"},
		{name: "Forwarded, obfuscated", peer: "10.0.0.1:4000", fwd: []string{"for=_hidden"}, want: "10.0.0.1"},
		{name: "Forwarded, no for=", peer: "10.0.0.1:4000", fwd: []string{"proto=https"}, want: "10.0.0.1"},
		{name: "Forwarded, a parameter twice", peer: "10.0.0.1:4000", fwd: []string{"for=198.51.100.1;for=1.2.3.4"}, want: "10.0.0.1"},
		{name: "Forwarded, garbage", peer: "10.0.0.1:4000", fwd: []string{";;,=,"}, want: "10.0.0.1"},

		{name: "both headers agree", peer: "10.0.0.1:4000", xff: []string{"198.51.100.1"}, fwd: []string{"for=198.51.100.1"}, want: "198.51.100.1"},
		{name: "spoof: the client adds the header the proxy does not write", peer: "10.0.0.1:4000", xff: []string{"198.51.100.1"}, fwd: []string{"for=1.2.3.4"}, want: "10.0.0.1"},
		{name: "one header names only proxies: the other counts", peer: "10.0.0.1:4000", xff: []string{"198.51.100.1"}, fwd: []string{"for=10.5.5.5"}, want: "198.51.100.1"},
		{name: "one header malformed", peer: "10.0.0.1:4000", xff: []string{"198.51.100.1"}, fwd: []string{"for="}, want: "10.0.0.1"},
		{name: "peer that is no IP address", peer: "@", xff: []string{"198.51.100.1"}, want: "invalid IP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := &Server{}
			if !tt.noProxy {
				s.SetTrustedProxies(append(proxies, netip.Prefix{})) // an invalid prefix is ignored
			}
			r := httptest.NewRequest(http.MethodGet, "/v1/tracking/X", nil)
			r.RemoteAddr = tt.peer
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			for _, v := range tt.fwd {
				r.Header.Add("Forwarded", v)
			}
			if got := s.clientAddr(r).String(); got != tt.want {
				t.Errorf("client address %s; want %s (peer %s, X-Forwarded-For %q, Forwarded %q)", got, tt.want, tt.peer, tt.xff, tt.fwd)
			}
		})
	}
}

// TestClientKey: an IPv6 client is counted by its /64, so that one
// machine cannot take a fresh bucket for each of its 2^64 addresses.
func TestClientKey(t *testing.T) {
	t.Parallel()
	s := &Server{}
	s.SetTrustedProxies([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")})
	tests := []struct{ peer, xff, want string }{
		{"192.0.2.7:5555", "", "192.0.2.7"},
		{"[2001:db8:1:2:3:4:5:6]:443", "", "2001:db8:1:2::"},
		{"[2001:db8:1:2:ffff::1]:443", "", "2001:db8:1:2::"},
		{"[2001:db8:1:3::1]:443", "", "2001:db8:1:3::"},
		{"[fe80::1%eth0]:443", "", "fe80::"},
		{"127.0.0.1:80", "2001:db8:9:9:1::1", "2001:db8:9:9::"},
		{"not-an-address", "", "invalid IP"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = tt.peer
		if tt.xff != "" {
			r.Header.Set("X-Forwarded-For", tt.xff)
		}
		if got := s.clientKey(r).String(); got != tt.want {
			t.Errorf("clientKey(%q, X-Forwarded-For %q) = %q; want %q", tt.peer, tt.xff, got, tt.want)
		}
	}
}

// FuzzForwardingHeaders: no header value panics, and whatever a client
// writes, a request that did not come through a trusted proxy is counted
// by its peer.
func FuzzForwardingHeaders(f *testing.F) {
	for _, seed := range []string{"198.51.100.1", `for="[::1]:80";by=x, for=1.2.3.4`, `"\`, ",,,", "for=\"\\", "[", "[]:", "for=a;for=b"} {
		f.Add(seed)
	}
	trusting := &Server{}
	trusting.SetTrustedProxies([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")})
	f.Fuzz(func(t *testing.T, v string) {
		for _, peer := range []string{"10.0.0.1:1", "203.0.113.5:1"} {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = peer
			r.Header.Set("X-Forwarded-For", v)
			r.Header.Set("Forwarded", v)
			got := trusting.clientKey(r)
			if peer == "203.0.113.5:1" && got.String() != "203.0.113.5" {
				t.Fatalf("an untrusted peer's headers %q were believed: %s", v, got)
			}
		}
	})
}
