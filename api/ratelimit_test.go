package api

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/lokero/lokero"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func TestKeyedLimiter(t *testing.T) {
	t.Parallel()
	l := newKeyedLimiter("test", Limit{Rate: 1, Burst: 3}, 1000, hashString())
	for i := range 3 {
		v := l.take("a", t0)
		if !v.ok || v.remaining != 2-i {
			t.Fatalf("request %d of a burst of 3: %+v; want allowed with %d left", i+1, v, 2-i)
		}
		if want := time.Duration(i+1) * time.Second; v.reset != want {
			t.Errorf("request %d: full again in %v; want %v", i+1, v.reset, want)
		}
	}
	if v := l.take("a", t0); v.ok || v.reset <= 0 || v.reset > time.Second {
		t.Fatalf("4th request: %+v; want refused with a wait up to 1 s", v)
	}
	if v := l.take("a", t0.Add(400*time.Millisecond)); v.ok || v.reset != 600*time.Millisecond {
		t.Fatalf("0.4 s later: %+v; want refused, 0.6 s to wait", v)
	}
	if v := l.take("b", t0); !v.ok {
		t.Error("another key is limited by the first one's burst")
	}
	if v := l.take("a", t0.Add(time.Second)); !v.ok || v.remaining != 0 {
		t.Errorf("after a second: %+v; want one request back, none left after it", v)
	}
	if l := newKeyedLimiter("off", Limit{}, 1000, hashString()); l != nil {
		t.Error("a zero Limit made a limiter")
	}
	// A refused request spends nothing: a client that keeps hammering is
	// not pushed further back than one that waits.
	l = newKeyedLimiter("test", Limit{Rate: 1, Burst: 1}, 1000, hashString())
	l.take("c", t0)
	for range 10 {
		l.take("c", t0.Add(500*time.Millisecond))
	}
	if v := l.take("c", t0.Add(time.Second)); !v.ok {
		t.Errorf("refusals spent tokens: %+v", v)
	}
}

// TestKeyedLimiterBounded: however many addresses knock, the limiter
// remembers at most its bound, and a key whose bucket has refilled is
// forgotten at the next sweep while a busy one is kept.
func TestKeyedLimiterBounded(t *testing.T) {
	t.Parallel()
	const maxKeys = 160
	l := newKeyedLimiter("test", Limit{Rate: 1, Burst: 5}, maxKeys, hashAddr)
	for i := range 100_000 {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		l.take(a, t0)
		if n := l.size(); i%1000 == 0 && n > maxKeys {
			t.Fatalf("after %d addresses the limiter holds %d keys; the bound is %d", i+1, n, maxKeys)
		}
	}
	if n := l.size(); n > maxKeys {
		t.Fatalf("the limiter holds %d keys; the bound is %d", n, maxKeys)
	}

	ls := newKeyedLimiter("test", Limit{Rate: 1, Burst: 5}, 1000, hashString())
	for i := range 50 {
		ls.take(fmt.Sprint("idle", i), t0)
	}
	busy := "busy"
	for range 5 {
		ls.take(busy, t0.Add(4*time.Second))
	}
	// A minute on, every idle bucket is full: a new key sweeps them away
	// (in its shard; keys in all shards, so that every shard sweeps).
	later := t0.Add(sweepEvery + time.Second)
	for i := range 200 {
		ls.take(fmt.Sprint("new", i), later)
	}
	if n := ls.size(); n > 201 {
		t.Errorf("after the sweep the limiter holds %d keys; want the idle 50 forgotten (at most 201 left)", n)
	}
	// The busy key's bucket was emptied at t0+4s: 1/s refills it by t0+9s,
	// long before; so check the rule itself on a fresh limiter.
	ls = newKeyedLimiter("test", Limit{Rate: 0.001, Burst: 2}, 1000, hashString())
	ls.take(busy, t0)
	ls.take(busy, t0)
	for i := range 200 {
		ls.take(fmt.Sprint("new", i), t0.Add(2*sweepEvery))
	}
	if v := ls.take(busy, t0.Add(2*sweepEvery)); v.ok {
		t.Error("a sweep forgot a key whose bucket was still empty")
	}
}

func TestParseLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in     string
		want   Limit
		window int
		str    string
	}{
		{"20/s:100", Limit{20, 100}, 5, "20/s:100"},
		{"600/m:1000", Limit{10, 1000}, 100, "10/s:1000"},
		{"1/6s:10", Limit{1.0 / 6, 10}, 60, "1/6s:10"},
		{"1/s:60", Limit{1, 60}, 60, "1/s:60"},
		{"3600/h:1", Limit{1, 1}, 1, "1/s:1"},
		{"1/1m:5", Limit{1.0 / 60, 5}, 300, "1/60s:5"},
		{"off", Limit{}, 0, "off"},
		{"0", Limit{}, 0, "off"},
	}
	for _, tt := range tests {
		got, err := ParseLimit(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseLimit(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			continue
		}
		if w := got.Window(); w != tt.window {
			t.Errorf("%q: window %d; want %d", tt.in, w, tt.window)
		}
		if s := got.String(); s != tt.str {
			t.Errorf("%q: String() = %q; want %q", tt.in, s, tt.str)
		}
		if back, err := ParseLimit(got.String()); err != nil || back.Burst != got.Burst || back.Rate-got.Rate > 1e-9 || got.Rate-back.Rate > 1e-9 {
			t.Errorf("%q: String() %q does not read back: %+v, %v", tt.in, got.String(), back, err)
		}
	}
	for _, bad := range []string{"", "20", "20/s", "20:100", "x/s:1", "-1/s:10", "20/s:0", "20/s:x", "20/0s:5", "20/fortnight:5", "NaN/s:5", "Inf/s:5"} {
		if l, err := ParseLimit(bad); err == nil {
			t.Errorf("ParseLimit(%q) = %+v; want an error", bad, l)
		}
	}
}

// TestDefaultRateLimits: every default is on, and each says in its
// RateLimit-Policy what it does (q the burst, w the refill time).
func TestDefaultRateLimits(t *testing.T) {
	t.Parallel()
	d := DefaultRateLimits()
	set := newLimiterSet(d, defaultMaxKeys)
	policies := map[string]string{
		"retailer": set.retailer.policy, "courier": set.courier.policy, "device": set.device.policy, "operator": set.operator.policy,
		"tracking": set.tracking.policy, "returns": set.returns.policy, "directory": set.directory.policy,
	}
	want := map[string]string{
		"retailer": `"retailer";q=100;w=5`, "courier": `"courier";q=60;w=12`, "device": `"device";q=100;w=10`,
		"operator": `"operator";q=500;w=10`, "tracking": `"tracking";q=60;w=60`, "returns": `"returns";q=10;w=60`,
		"directory": `"directory";q=1000;w=10`,
	}
	for name, p := range policies {
		if p != want[name] {
			t.Errorf("%s: RateLimit-Policy %s; want %s", name, p, want[name])
		}
	}
	for kind, l := range map[lokero.CredentialKind]*keyedLimiter[string]{
		lokero.KindCourier: set.courier, lokero.KindDevice: set.device, lokero.KindOperator: set.operator,
	} {
		if got := set.forCredential(kind); got != l {
			t.Errorf("a %s credential is counted by the %s limit", kind, got.name)
		}
	}
}

var (
	policyHeader = regexp.MustCompile(`^"([a-z]+)";q=([0-9]+);w=([0-9]+)$`)
	limitHeader  = regexp.MustCompile(`^"([a-z]+)";r=([0-9]+);t=([0-9]+)$`)
)

// TestRateLimitAnswers: every answer of a limited endpoint carries the
// draft's RateLimit-Policy and RateLimit headers; a refusal is 429 with
// Retry-After in whole seconds (rounded up, never before the effective
// window ends) and a JSON error body, and the handler does not run.
func TestRateLimitAnswers(t *testing.T) {
	t.Parallel()
	s := &Server{log: slog.New(slog.DiscardHandler)}
	s.SetRateLimits(RateLimits{Tracking: Limit{Rate: 0.25, Burst: 2}})
	ran := 0
	h := s.perAddress(func(l *limiterSet) *keyedLimiter[netip.Addr] { return l.tracking }, "tracking requests",
		func(w http.ResponseWriter, r *http.Request) { ran++; writeJSON(w, http.StatusOK, map[string]string{}) })
	for i := range 3 {
		rec := httptest.NewRecorder()
		h(rec, httptest.NewRequest("GET", "/v1/tracking/X", nil))
		p := policyHeader.FindStringSubmatch(rec.Header().Get("RateLimit-Policy"))
		l := limitHeader.FindStringSubmatch(rec.Header().Get("RateLimit"))
		if p == nil || l == nil || p[1] != "tracking" || p[2] != "2" || p[3] != "8" || l[1] != "tracking" {
			t.Fatalf("request %d: RateLimit-Policy %q, RateLimit %q; want \"tracking\";q=2;w=8 and \"tracking\";r=…;t=…",
				i+1, rec.Header().Get("RateLimit-Policy"), rec.Header().Get("RateLimit"))
		}
		remaining, _ := strconv.Atoi(l[2])
		reset, _ := strconv.Atoi(l[3])
		if i < 2 {
			if rec.Code != 200 || remaining != 1-i || reset < 4*(i+1) || reset > 4*(i+1)+1 {
				t.Errorf("request %d: %d, RateLimit %s; want 200, r=%d, t≈%d", i+1, rec.Code, l[0], 1-i, 4*(i+1))
			}
			continue
		}
		var body struct {
			Error struct{ Code, Message string }
		}
		json.Unmarshal(rec.Body.Bytes(), &body)
		retry, err := strconv.Atoi(rec.Header().Get("Retry-After"))
		if rec.Code != 429 || body.Error.Code != "rate_limited" || body.Error.Message == "" || err != nil {
			t.Fatalf("request 3: %d, Retry-After %q, %s; want 429 rate_limited with Retry-After", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
		}
		if remaining != 0 || retry < 1 || retry > 4 || retry < reset {
			t.Errorf("request 3: Retry-After %d with RateLimit %s; want r=0 and a wait of 1..4 s, not before t", retry, l[0])
		}
	}
	if ran != 2 {
		t.Errorf("the handler ran %d times; want 2 (not for the refusal)", ran)
	}

	// Off: no headers, no refusals.
	s.SetRateLimits(RateLimits{})
	for range 5 {
		rec := httptest.NewRecorder()
		h(rec, httptest.NewRequest("GET", "/v1/tracking/X", nil))
		if rec.Code != 200 || rec.Header().Get("RateLimit") != "" || rec.Header().Get("RateLimit-Policy") != "" {
			t.Fatalf("with the limit off: %d %v", rec.Code, rec.Header())
		}
	}
}

// TestWriteErrorRetryAfter: any ETOOMANY error that says how long to wait
// is answered 429 with Retry-After in whole seconds rounded up, however
// deep in the chain it is; without a wait there is no Retry-After.
func TestWriteErrorRetryAfter(t *testing.T) {
	t.Parallel()
	log := slog.New(slog.DiscardHandler)
	tests := []struct {
		name  string
		err   error
		retry string
	}{
		{"whole seconds", &lokero.Error{Code: lokero.ETOOMANY, Reason: "quota", Message: "m", RetryAfter: 3 * time.Second}, "3"},
		{"rounded up", &lokero.Error{Code: lokero.ETOOMANY, Reason: "quota", Message: "m", RetryAfter: 1500 * time.Millisecond}, "2"},
		{"under a second", &lokero.Error{Code: lokero.ETOOMANY, Message: "m", RetryAfter: time.Millisecond}, "1"},
		{"a day", &lokero.Error{Code: lokero.ETOOMANY, Message: "m", RetryAfter: 24 * time.Hour}, "86400"},
		{"wrapped", fmt.Errorf("notice again: %w", &lokero.Error{Code: lokero.ETOOMANY, Reason: "notice_quota", Message: "m", RetryAfter: 7 * time.Hour}), "25200"},
		{"no wait known", &lokero.Error{Code: lokero.ETOOMANY, Reason: "locked", Message: "m"}, ""},
		{"not ETOOMANY", &lokero.Error{Code: lokero.ECONFLICT, Message: "m", RetryAfter: time.Second}, ""},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		writeError(rec, httptest.NewRequest("GET", "/", nil), log, tt.err)
		var body errorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error.Message == "" {
			t.Errorf("%s: body %s is not a JSON error", tt.name, rec.Body)
		}
		if got := rec.Header().Get("Retry-After"); got != tt.retry {
			t.Errorf("%s: Retry-After %q; want %q", tt.name, got, tt.retry)
		}
		if want := map[bool]int{true: 429, false: 409}[lokero.ErrorCode(tt.err) == lokero.ETOOMANY]; rec.Code != want {
			t.Errorf("%s: status %d; want %d", tt.name, rec.Code, want)
		}
	}
}
