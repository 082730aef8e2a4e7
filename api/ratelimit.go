package api

import (
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/lokero/lokero"
)

// Limit is one rate limit: a token bucket per key (a retailer, a
// credential, a client address) that holds at most Burst requests and
// refills at Rate requests a second. A Limit whose Rate or Burst is not
// positive limits nothing.
type Limit struct {
	Rate  float64 // requests a second, sustained
	Burst int     // requests at once, after a quiet spell
}

// Enabled reports whether the limit limits anything.
func (l Limit) Enabled() bool {
	return l.Rate > 0 && l.Burst > 0 && !math.IsInf(l.Rate, 0) && !math.IsNaN(l.Rate)
}

// Window is the time the bucket takes to refill from empty, in whole
// seconds (at least 1): the w of the RateLimit-Policy header, whose q is
// Burst.
func (l Limit) Window() int {
	if !l.Enabled() {
		return 0
	}
	return max(1, int(math.Ceil(float64(l.Burst)/l.Rate-1e-9)))
}

// String writes the limit as ParseLimit reads it: "20/s:100" (20 a
// second, bursts of 100), "1/6s:10", or "off".
func (l Limit) String() string {
	if !l.Enabled() {
		return "off"
	}
	if l.Rate >= 1 {
		return strconv.FormatFloat(l.Rate, 'g', -1, 64) + "/s:" + strconv.Itoa(l.Burst)
	}
	// Below one a second: one per so many seconds reads better.
	return "1/" + strconv.FormatFloat(1/l.Rate, 'g', -1, 64) + "s:" + strconv.Itoa(l.Burst)
}

// ParseLimit reads a limit written as RATE/PERIOD:BURST, e.g. "20/s:100"
// (20 requests a second, bursts of 100), "600/m:1000", "1/6s:10" (one
// every 6 s, bursts of 10); PERIOD is a Go duration, and a bare unit
// ("s", "m", "h") means one of it. "off" (or "0") is no limit.
func ParseLimit(s string) (Limit, error) {
	s = strings.TrimSpace(s)
	if s == "off" || s == "0" {
		return Limit{}, nil
	}
	bad := func(why string) (Limit, error) {
		return Limit{}, fmt.Errorf("rate limit %q: %s (write it as RATE/PERIOD:BURST, e.g. 20/s:100, or off)", s, why)
	}
	spec, burstS, ok := strings.Cut(s, ":")
	if !ok {
		return bad("no burst")
	}
	countS, periodS, ok := strings.Cut(spec, "/")
	if !ok {
		return bad("no period")
	}
	count, err := strconv.ParseFloat(countS, 64)
	if err != nil || !(count > 0) || math.IsInf(count, 0) {
		return bad("the rate is not a positive number")
	}
	if periodS == "s" || periodS == "m" || periodS == "h" {
		periodS = "1" + periodS
	}
	period, err := time.ParseDuration(periodS)
	if err != nil || period <= 0 {
		return bad("the period is not a positive duration")
	}
	burst, err := strconv.Atoi(burstS)
	if err != nil || burst < 1 {
		return bad("the burst is not a positive whole number")
	}
	return Limit{Rate: count / period.Seconds(), Burst: burst}, nil
}

// RateLimits are the API's rate limits. Each counts requests per key in
// a token bucket: an authenticated call per retailer or per credential
// (whoever the caller is, and from however many addresses), an anonymous
// one per client address (an IPv6 client's whole /64; behind a trusted
// proxy the address it forwarded for: SetTrustedProxies). A request over
// the limit is answered 429 with Retry-After; every answer of a limited
// endpoint carries RateLimit-Policy and RateLimit
// (draft-ietf-httpapi-ratelimit-headers), the policy named after the
// field ("retailer", "tracking"...), its q the burst and its w the time
// the bucket takes to refill. With several instances each enforces its
// own limits.
type RateLimits struct {
	// Retailer limits every call made with a retailer's API key: booking,
	// listing, labels, cancelling, handover, notices. Default 20 a second
	// in bursts of 100: a checkout books one parcel per order, and a
	// nightly batch of 10,000 bookings still goes through in under ten
	// minutes, while one key can no longer fill a network's compartments
	// in a minute (the per-day share of each locker is capped apart).
	Retailer Limit
	// Courier limits a courier's credential: handovers at the depot,
	// deposits and collections at lockers. Default 5 a second in bursts of
	// 60: scanning a cage of parcels at the depot is about one a second,
	// and a locker is loaded one door at a time.
	Courier Limit
	// Device limits a locker's own credential: door events, keypad
	// entries, payments, letters. Default 10 a second in bursts of 100: a
	// locker reports a few events a second at most, even while a courier
	// loads it; wrong codes are locked out apart from this.
	Device Limit
	// Operator limits an operator's credential: the locker view,
	// settlements, closing points, credentials. Default 50 a second in
	// bursts of 500: generous, for dashboards and scripts that go through
	// every point of the network.
	Operator Limit
	// Clerk limits an outlet clerk's credential: arrivals, pickups and
	// drop-offs at the counter. Default 5 a second in bursts of 100: a
	// clerk scans the day's delivery cage in at about one parcel a second,
	// and serves one customer at a time.
	Clerk Limit
	// Tracking limits public tracking (GET /v1/tracking/{code}) per client
	// address. Default 1 a second in bursts of 60: a page that polls is
	// fine, enumerating tracking codes is not.
	Tracking Limit
	// Returns limits a consumer asking for a return code (POST
	// /v1/returns) per client address. Default one every 6 s in bursts of
	// 10: a few tries with a mistyped code, then slow enough that guessing
	// tracking code and postcode pairs gets nowhere.
	Returns Limit
	// Directory limits anonymous directory reads (locations, postal
	// codes, the Posti-compatible search) per client address. Default 100
	// a second in bursts of 1,000: generous, since a store's server may
	// search for all its shoppers from one address and a mobile network
	// puts thousands of phones behind one; it stops one address from
	// scraping the network at the server's full speed.
	Directory Limit
	// Authentication limits failed authentications per client address: a
	// bearer token or API key that is no one's (or is revoked or
	// expired), a session cookie that does not hold. Each costs a
	// database lookup, so once an address has spent its budget every
	// authenticated call from it is answered 429 before the store is
	// asked, whatever token it carries, until the bucket refills; a
	// valid token from another address is unaffected. Calls that
	// authenticate are not counted. Default, public tracking's budget:
	// one a second in bursts of 60, far more than a client with a wrong
	// key needs to notice, far too few to cost the database anything.
	Authentication Limit
}

// DefaultRateLimits returns the limits a real network would start with;
// RateLimits documents each.
func DefaultRateLimits() RateLimits {
	return RateLimits{
		Retailer:  Limit{Rate: 20, Burst: 100},
		Courier:   Limit{Rate: 5, Burst: 60},
		Device:    Limit{Rate: 10, Burst: 100},
		Operator:  Limit{Rate: 50, Burst: 500},
		Clerk:     Limit{Rate: 5, Burst: 100},
		Tracking:  Limit{Rate: 1, Burst: 60},
		Returns:   Limit{Rate: 1.0 / 6, Burst: 10},
		Directory: Limit{Rate: 100, Burst: 1000},

		Authentication: Limit{Rate: 1, Burst: 60},
	}
}

// SetRateLimits replaces the server's rate limits (New starts with
// DefaultRateLimits). Buckets start full again. Safe while serving.
func (s *Server) SetRateLimits(l RateLimits) {
	s.limits.Store(newLimiterSet(l, defaultMaxKeys))
}

// defaultMaxKeys bounds the keys each limit remembers (about 200 bytes
// each).
const defaultMaxKeys = 1 << 16

// limiterSet is the limiters of one RateLimits; nil where off.
type limiterSet struct {
	retailer, courier, device, operator, clerk *keyedLimiter[string]
	tracking, returns, directory               *keyedLimiter[netip.Addr]
	authentication                             *keyedLimiter[netip.Addr] // failed authentications
}

func newLimiterSet(l RateLimits, maxKeys int) *limiterSet {
	return &limiterSet{
		retailer:  newKeyedLimiter[string]("retailer", l.Retailer, maxKeys, hashString()),
		courier:   newKeyedLimiter[string]("courier", l.Courier, maxKeys, hashString()),
		device:    newKeyedLimiter[string]("device", l.Device, maxKeys, hashString()),
		operator:  newKeyedLimiter[string]("operator", l.Operator, maxKeys, hashString()),
		clerk:     newKeyedLimiter[string]("clerk", l.Clerk, maxKeys, hashString()),
		tracking:  newKeyedLimiter[netip.Addr]("tracking", l.Tracking, maxKeys, hashAddr),
		returns:   newKeyedLimiter[netip.Addr]("returns", l.Returns, maxKeys, hashAddr),
		directory: newKeyedLimiter[netip.Addr]("directory", l.Directory, maxKeys, hashAddr),

		authentication: newKeyedLimiter[netip.Addr]("authentication", l.Authentication, maxKeys, hashAddr),
	}
}

// forCredential is the limiter of a credential's kind.
func (ls *limiterSet) forCredential(kind lokero.CredentialKind) *keyedLimiter[string] {
	switch kind {
	case lokero.KindCourier:
		return ls.courier
	case lokero.KindDevice:
		return ls.device
	case lokero.KindClerk:
		return ls.clerk
	}
	return ls.operator
}

func hashString() func(string) uint64 {
	seed := maphash.MakeSeed()
	return func(s string) uint64 { return maphash.String(seed, s) }
}

func hashAddr(a netip.Addr) uint64 {
	b := a.As16()
	h := binary.LittleEndian.Uint64(b[:8])*0x9E3779B97F4A7C15 ^ binary.LittleEndian.Uint64(b[8:])
	return h * 0xBF58476D1CE4E5B9 >> 32
}

// limiterShards spreads a limiter's keys over locks, so that searches on
// many cores do not queue on one mutex.
const limiterShards = 16

// keyedLimiter is a token bucket (golang.org/x/time/rate) per key, in a
// bounded map: a key whose bucket has refilled is idle and forgotten
// (forgetting it changes nothing), idle keys are swept once a minute,
// and when more keys than maxKeys are busy at once arbitrary ones are
// forgotten, their buckets full again, so that memory cannot grow
// without bound whatever the traffic.
type keyedLimiter[K comparable] struct {
	name     string
	limit    Limit
	policy   string        // the RateLimit-Policy header's value
	policyH  []string      // the same as a header's values, shared by every answer
	refill   time.Duration // from empty to full
	maxShard int           // keys per shard
	hash     func(K) uint64
	shards   [limiterShards]limiterShard[K]
}

type limiterShard[K comparable] struct {
	mu        sync.Mutex
	keys      map[K]*keyBucket
	lastSweep time.Time
}

type keyBucket struct {
	lim  *rate.Limiter
	last time.Time // of the last request
}

// sweepEvery is how often a limiter forgets idle keys.
const sweepEvery = time.Minute

// newKeyedLimiter returns a limiter, or nil when l limits nothing.
func newKeyedLimiter[K comparable](name string, l Limit, maxKeys int, hash func(K) uint64) *keyedLimiter[K] {
	if !l.Enabled() {
		return nil
	}
	k := &keyedLimiter[K]{name: name, limit: l, hash: hash, maxShard: max(1, maxKeys/limiterShards),
		policy: fmt.Sprintf("%q;q=%d;w=%d", name, l.Burst, l.Window()),
		refill: time.Duration(min(float64(l.Burst)/l.Rate*float64(time.Second), math.MaxInt64/2))}
	k.policyH = []string{k.policy}
	for i := range k.shards {
		k.shards[i].keys = map[K]*keyBucket{}
	}
	return k
}

// verdict is what a limiter says of one request.
type verdict struct {
	ok        bool
	remaining int           // whole requests left in the bucket
	reset     time.Duration // until the bucket is full again (when ok), or until the next request is allowed (when not)
}

// take spends one request of key's bucket at now.
func (k *keyedLimiter[K]) take(key K, now time.Time) verdict {
	sh := &k.shards[k.hash(key)%limiterShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	b, ok := sh.keys[key]
	if !ok {
		if len(sh.keys) >= k.maxShard || now.Sub(sh.lastSweep) >= sweepEvery {
			k.sweep(sh, now)
		}
		b = &keyBucket{lim: rate.NewLimiter(rate.Limit(k.limit.Rate), k.limit.Burst)}
		sh.keys[key] = b
	}
	if now.After(b.last) {
		b.last = now
	}
	perSecond := k.limit.Rate
	if !b.lim.AllowN(now, 1) {
		missing := 1 - b.lim.TokensAt(now)
		return verdict{reset: time.Duration(missing / perSecond * float64(time.Second))}
	}
	tokens := b.lim.TokensAt(now)
	return verdict{ok: true, remaining: int(math.Floor(tokens + 1e-9)),
		reset: time.Duration((float64(k.limit.Burst) - tokens) / perSecond * float64(time.Second))}
}

// spent reports whether key's bucket holds less than one request at now,
// and then how long until it holds one, without spending any or
// remembering a key it does not know (a key it does not know is full).
func (k *keyedLimiter[K]) spent(key K, now time.Time) (time.Duration, bool) {
	sh := &k.shards[k.hash(key)%limiterShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	b, ok := sh.keys[key]
	if !ok {
		return 0, false
	}
	tokens := b.lim.TokensAt(now)
	if tokens >= 1 {
		return 0, false
	}
	return time.Duration((1 - tokens) / k.limit.Rate * float64(time.Second)), true
}

// sweep forgets sh's idle keys and, when that is not enough, arbitrary
// ones until a tenth of the shard is free. sh is locked.
func (k *keyedLimiter[K]) sweep(sh *limiterShard[K], now time.Time) {
	sh.lastSweep = now
	for key, b := range sh.keys {
		if now.Sub(b.last) >= k.refill {
			delete(sh.keys, key)
		}
	}
	target := k.maxShard - max(1, k.maxShard/10)
	for key := range sh.keys { // map order is random: no key can count on staying
		if len(sh.keys) <= target {
			break
		}
		delete(sh.keys, key)
	}
}

// size is how many keys the limiter remembers.
func (k *keyedLimiter[K]) size() int {
	n := 0
	for i := range k.shards {
		k.shards[i].mu.Lock()
		n += len(k.shards[i].keys)
		k.shards[i].mu.Unlock()
	}
	return n
}

// Canonical header names, set straight into the map on the hot path.
const (
	headerPolicy = "Ratelimit-Policy"
	headerLimit  = "Ratelimit"
)

// admit spends a request of key's bucket in l and writes the RateLimit
// headers; when the bucket is empty it answers 429 (through refuse, with
// Retry-After set) and reports false. A nil l admits everything and
// writes nothing.
func admit[K comparable](w http.ResponseWriter, l *keyedLimiter[K], key K, refuse func(wait time.Duration)) bool {
	if l == nil {
		return true
	}
	v := l.take(key, time.Now())
	h := w.Header()
	h[headerPolicy] = l.policyH[:1:1] // capacity 1: an Add copies rather than writes into the shared array
	var buf [64]byte
	b := append(append(append(buf[:0], '"'), l.name...), `";r=`...)
	b = strconv.AppendInt(b, int64(v.remaining), 10)
	b = strconv.AppendInt(append(b, ";t="...), ceilSeconds(v.reset), 10)
	h[headerLimit] = []string{string(b)}
	if !v.ok {
		refuse(v.reset)
		return false
	}
	return true
}

// ceilSeconds rounds d up to whole seconds.
func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}

// tooMany is the refusal of a spent rate limit.
func tooMany(what string, wait time.Duration) *lokero.Error {
	secs := max(1, ceilSeconds(wait))
	return &lokero.Error{Code: lokero.ETOOMANY, Reason: "rate_limited", RetryAfter: time.Duration(secs) * time.Second,
		Message: fmt.Sprintf("too many %s; try again in %d s", what, secs)}
}

// perAddress limits an anonymous endpoint per client address with the
// limiter pick chooses, answering 429 in lokero's error shape.
func (s *Server) perAddress(pick func(*limiterSet) *keyedLimiter[netip.Addr], what string, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		l := pick(s.limits.Load())
		if l == nil { // no limit: no client address to work out
			next(w, r)
			return
		}
		if admit(w, l, s.clientKey(r), func(wait time.Duration) {
			writeError(w, r, s.log, tooMany(what+" from this address", wait))
		}) {
			next(w, r)
		}
	}
}

// perAddressPosti is perAddress for the Posti-compatible interface,
// answering 429 in Posti's error shape.
func (s *Server) perAddressPosti(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if admit(w, s.limits.Load().directory, s.clientKey(r), func(wait time.Duration) {
			e := tooMany("location requests from this address", wait)
			setRetryAfter(w, e.RetryAfter)
			writePostiError(w, r, http.StatusTooManyRequests, e.Message)
		}) {
			next(w, r)
		}
	}
}

// perKey limits an authenticated call per retailer or credential id.
func (s *Server) perKey(w http.ResponseWriter, r *http.Request, l *keyedLimiter[string], id string) bool {
	return admit(w, l, id, func(wait time.Duration) {
		writeError(w, r, s.log, tooMany("requests with this credential", wait))
	})
}

// authBarred answers 429 (with Retry-After and the RateLimit headers of
// the "authentication" policy) and reports true when the client's
// address has spent its budget of failed authentications
// (RateLimits.Authentication): call it before the store is asked about a
// token or a session. It spends nothing, so that a client whose
// credentials hold is never counted.
func (s *Server) authBarred(w http.ResponseWriter, r *http.Request) bool {
	l := s.limits.Load().authentication
	if l == nil {
		return false
	}
	wait, spent := l.spent(s.clientKey(r), time.Now())
	if !spent {
		return false
	}
	h := w.Header()
	h[headerPolicy] = l.policyH[:1:1]
	h[headerLimit] = []string{fmt.Sprintf("%q;r=0;t=%d", l.name, max(1, ceilSeconds(wait)))}
	writeError(w, r, s.log, tooMany("failed authentications from this address", wait))
	return true
}

// authFailed charges a failed authentication to the client's address
// (RateLimits.Authentication); a later call finds it with authBarred.
// Only a refusal of the credentials counts: a store that failed is not
// the client's doing.
func (s *Server) authFailed(r *http.Request) {
	if l := s.limits.Load().authentication; l != nil {
		l.take(s.clientKey(r), time.Now())
	}
}

// SetTrustedProxies names the addresses whose X-Forwarded-For and
// Forwarded headers are believed: only a request whose TCP peer is in one
// of proxies is counted by the client address those headers name (see
// clientAddr), for the per-address rate limits. Invalid prefixes are ignored. Safe while serving.
func (s *Server) SetTrustedProxies(proxies []netip.Prefix) {
	list := make([]netip.Prefix, 0, len(proxies))
	for _, p := range proxies {
		if p.IsValid() {
			if p.Addr().Is4In6() && p.Bits() >= 96 {
				p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
			}
			list = append(list, p.Masked())
		}
	}
	s.proxies.Store(&list)
}

// trusted reports whether a is one of the trusted proxies.
func (s *Server) trusted(a netip.Addr) bool {
	list := s.proxies.Load()
	if list == nil {
		return false
	}
	for _, p := range *list {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clientAddr is the address a request came from: its TCP peer, unless
// the peer is a trusted proxy (SetTrustedProxies). Then it is the client
// the proxy forwarded for: the rightmost address of X-Forwarded-For that
// is not itself a trusted proxy, or the same of RFC 7239's Forwarded
// "for=". When a proxy sends both and they name different clients, one of
// them was written by the client: neither is believed. A header that
// cannot be read (at the address that counts), or that names only
// trusted proxies, leaves the peer. The zero Addr when the peer is not an
// IP address.
func (s *Server) clientAddr(r *http.Request) netip.Addr {
	peer := parseNode(r.RemoteAddr)
	if !peer.IsValid() || !s.trusted(peer) {
		return peer
	}
	xff, xffFound, xffBad := fromXForwardedFor(r.Header.Values("X-Forwarded-For"), s.trusted)
	fwd, fwdFound, fwdBad := fromForwarded(r.Header.Values("Forwarded"), s.trusted)
	switch {
	case xffBad || fwdBad:
		return peer
	case xffFound && fwdFound:
		if xff != fwd {
			return peer
		}
		return xff
	case xffFound:
		return xff
	case fwdFound:
		return fwd
	}
	return peer
}

// clientKey is the rate-limit key of the request's client address: the
// address, or for IPv6 its /64 (a client owns a whole /64).
func (s *Server) clientKey(r *http.Request) netip.Addr {
	a := s.clientAddr(r)
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}

// parseNode reads an address as a forwarding header or RemoteAddr writes
// it: "192.0.2.1", "192.0.2.1:443", "2001:db8::1", "[2001:db8::1]" or
// "[2001:db8::1]:443". IPv4-mapped IPv6 is IPv4; a zone is dropped. The
// zero Addr when it is none of those.
func parseNode(s string) netip.Addr {
	var a netip.Addr
	if withPort := len(s) > 0 && s[0] == '[' && s[len(s)-1] != ']' || strings.Count(s, ":") == 1; withPort {
		// RemoteAddr's form, tried first: a failed parse costs an
		// allocation, and this is on every anonymous request's path.
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return netip.Addr{}
		}
		a = ap.Addr()
	} else if len(s) > 2 && s[0] == '[' {
		var err error
		if a, err = netip.ParseAddr(s[1 : len(s)-1]); err != nil || !a.Is6() {
			return netip.Addr{}
		}
	} else {
		var err error
		if a, err = netip.ParseAddr(s); err != nil {
			return netip.Addr{}
		}
	}
	return a.Unmap().WithZone("")
}

// fromXForwardedFor reads X-Forwarded-For (one or more lines, each a
// comma list, the nearest hop last) from the right: the first address
// that is not a trusted proxy. found is false when the header is absent
// or names only trusted proxies; bad when an element it had to read is
// not an address (what is left of the client is the client's to write,
// and never read).
func fromXForwardedFor(lines []string, trusted func(netip.Addr) bool) (client netip.Addr, found, bad bool) {
	for i := len(lines) - 1; i >= 0; i-- {
		rest := lines[i]
		for {
			elem := rest
			comma := strings.LastIndexByte(rest, ',')
			if comma >= 0 {
				elem, rest = rest[comma+1:], rest[:comma]
			}
			a := parseNode(strings.TrimSpace(elem))
			if !a.IsValid() {
				return netip.Addr{}, false, true
			}
			if !trusted(a) {
				return a, true, false
			}
			if comma < 0 {
				break
			}
		}
	}
	return netip.Addr{}, false, false
}

// fromForwarded reads RFC 7239's Forwarded header the same way, by the
// for= of each element, nearest hop last. Its quoted strings make it
// readable only as a whole: bad when any of it is malformed, or when an
// element it had to read has no for=, or one that is not an address
// ("unknown", an obfuscated "_name").
func fromForwarded(lines []string, trusted func(netip.Addr) bool) (client netip.Addr, found, bad bool) {
	if len(lines) == 0 {
		return netip.Addr{}, false, false
	}
	elems, ok := parseForwarded(strings.Join(lines, ","))
	if !ok {
		return netip.Addr{}, false, true
	}
	for i := len(elems) - 1; i >= 0; i-- {
		a := parseNode(elems[i])
		if !a.IsValid() {
			return netip.Addr{}, false, true
		}
		if !trusted(a) {
			return a, true, false
		}
	}
	return netip.Addr{}, false, false
}

// parseForwarded parses a Forwarded field value (RFC 7239 section 4:
// elements separated by commas, pairs within by semicolons, each
// token=value with a token or quoted-string value) into each element's
// for= value, "" for an element without one.
func parseForwarded(s string) ([]string, bool) {
	var fors []string
	i := 0
	skipSpace := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
	}
	for {
		forValue, seen := "", map[string]bool{}
		for { // the pairs of one element
			skipSpace()
			start := i
			for i < len(s) && isTokenChar(s[i]) {
				i++
			}
			name := strings.ToLower(s[start:i])
			if name == "" || i >= len(s) || s[i] != '=' || seen[name] {
				return nil, false
			}
			seen[name] = true
			i++
			var value string
			if i < len(s) && s[i] == '"' {
				var b strings.Builder
				i++
				for ; i < len(s) && s[i] != '"'; i++ {
					if s[i] == '\\' {
						if i++; i >= len(s) {
							return nil, false
						}
					}
					b.WriteByte(s[i])
				}
				if i >= len(s) {
					return nil, false // unterminated
				}
				i++
				value = b.String()
			} else {
				start := i
				for i < len(s) && isTokenChar(s[i]) {
					i++
				}
				if i == start {
					return nil, false
				}
				value = s[start:i]
			}
			if name == "for" {
				forValue = value
			}
			skipSpace()
			if i < len(s) && s[i] == ';' {
				i++
				continue
			}
			break
		}
		fors = append(fors, forValue)
		if i >= len(s) {
			return fors, true
		}
		if s[i] != ',' {
			return nil, false
		}
		i++
	}
}

// isTokenChar reports whether c may appear in an HTTP token (RFC 9110).
func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
