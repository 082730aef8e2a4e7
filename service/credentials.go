package service

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/locker"
)

// Token prefixes by kind, so that a leaked token is recognisable and a
// token of one kind is refused as another before any lookup.
var tokenPrefixes = map[lokero.CredentialKind]string{
	lokero.KindCourier:  "lkc_",
	lokero.KindDevice:   "lkd_",
	lokero.KindOperator: "lko_",
	lokero.KindClerk:    "lkk_", // counter staff ("kassa")
}

// kindNames lists the credential kinds for messages.
const kindNames = "courier, device, operator or clerk"

// CredentialRequest is a credential to issue.
type CredentialRequest struct {
	Kind       lokero.CredentialKind
	Name       string
	LocationID string        // a device's locker or a clerk's outlet; ignored for couriers and operators
	ValidFor   time.Duration // how long its token works (at most MaxValidFor); 0: until revoked
	// RevokeOlder, for a device, revokes in the same transaction the
	// locker's older device credentials: re-provisioning a locker retires
	// the tokens it had. Couriers and operators have no locker: for them
	// it does nothing.
	RevokeOlder bool
}

// MaxValidFor is the longest expiry a credential can be given: ten years.
const MaxValidFor = 3650 * 24 * time.Hour

// TouchEvery is how often at most a credential's LastUsedAt is written: a
// device polling every second writes once a minute, not every second.
const TouchEvery = time.Minute

// AddCredential creates a courier's, a device's, an operator's or a
// clerk's token that never expires and returns it (shown once; stored as a
// hash). A device belongs to one locker, which must exist; the locker's
// other device tokens keep working (IssueCredential can revoke them). A
// clerk belongs to one outlet (a POSTOFFICE or a PICKUPPOINT), which must
// exist.
func (l *Lockers) AddCredential(ctx context.Context, kind lokero.CredentialKind, name, locationID string) (lokero.Credential, string, error) {
	c, token, _, err := l.IssueCredential(ctx, CredentialRequest{Kind: kind, Name: name, LocationID: locationID})
	return c, token, err
}

// IssueCredential creates a credential and returns it with its token
// (shown once; stored as a hash) and, when asked to, the older credentials
// of its kind and locker it revoked. A device's LocationID must be a
// locker in the directory (EINVALID field "location_id"), a clerk's an
// outlet, a POSTOFFICE or a PICKUPPOINT (EINVALID field "outlet": a clerk
// acts only at the counter it is bound to).
func (l *Lockers) IssueCredential(ctx context.Context, req CredentialRequest) (lokero.Credential, string, []lokero.Credential, error) {
	kind := req.Kind
	if _, ok := tokenPrefixes[kind]; !ok {
		return lokero.Credential{}, "", nil, lokero.Invalid("kind", "unknown_kind", "kind must be %s; got %q", kindNames, kind)
	}
	name := strings.TrimSpace(req.Name)
	if err := checkText("name", name, true, maxTextLen); err != nil {
		return lokero.Credential{}, "", nil, err
	}
	if err := checkValidFor(req.ValidFor); err != nil {
		return lokero.Credential{}, "", nil, err
	}
	locationID := req.LocationID
	switch kind {
	case lokero.KindDevice:
		loc := l.dir.Snapshot().ByID(locationID)
		if loc == nil || !loc.Type.IsLocker() {
			return lokero.Credential{}, "", nil, lokero.Invalid("location_id", "not_a_locker", "no locker with id %q", locationID)
		}
	case lokero.KindClerk:
		if err := l.checkClerkOutlet(locationID); err != nil {
			return lokero.Credential{}, "", nil, err
		}
	default:
		locationID = ""
	}
	token, err := l.newToken(kind)
	if err != nil {
		return lokero.Credential{}, "", nil, err
	}
	var idb [8]byte
	if _, err := io.ReadFull(l.random, idb[:]); err != nil {
		return lokero.Credential{}, "", nil, fmt.Errorf("new credential: %w", err)
	}
	now := l.now()
	c := lokero.Credential{ID: string(kind) + "_" + strings.ToLower(tokenEncoding.EncodeToString(idb[:])), Kind: kind, Name: name,
		LocationID: locationID, CreatedAt: now}
	if req.ValidFor > 0 {
		c.ExpiresAt = now.Add(req.ValidFor)
	}
	if c.BoardKey, err = l.boardKeyFor(c.Kind, c.ID, token); err != nil {
		return lokero.Credential{}, "", nil, err
	}
	var revoked []lokero.Credential
	if req.RevokeOlder && kind == lokero.KindDevice {
		revoked, err = l.store.ProvisionCredential(ctx, c, HashKey(token))
	} else {
		err = l.store.CreateCredential(ctx, c, HashKey(token))
	}
	if err != nil {
		return lokero.Credential{}, "", nil, fmt.Errorf("add %s: %w", kind, err)
	}
	return c, token, revoked, nil
}

// checkClerkOutlet refuses a clerk's outlet that is missing, unknown or
// not an outlet (EINVALID field "outlet").
func (l *Lockers) checkClerkOutlet(id string) error {
	if strings.TrimSpace(id) == "" {
		return lokero.Invalid("outlet", "required", "a clerk belongs to one outlet: give the id of a POSTOFFICE or a PICKUPPOINT")
	}
	loc := l.dir.Snapshot().ByID(id)
	switch {
	case loc == nil:
		return lokero.Invalid("outlet", "unknown_outlet", "no post office or pickup point with id %q", truncateText(id, 64))
	case !loc.Type.IsOutlet():
		return lokero.Invalid("outlet", "not_an_outlet", "%s (%s) is a %s: clerks work at a POSTOFFICE or a PICKUPPOINT, where parcels are handed over at a counter", loc.Name, loc.ID, loc.Type)
	}
	return nil
}

// boardKeyPurpose is what the code secret seals a device credential's
// BoardKey for.
const boardKeyPurpose = "board-key"

// boardKeyFor is the BoardKey a device credential keeps for its token: the
// key its controller derives from the token (locker.BoardKey), sealed under
// the code secret with the credential's ID; "" for the other kinds, and
// without a code secret (the centre then derives the verifiers itself).
func (l *Lockers) boardKeyFor(kind lokero.CredentialKind, id, token string) (string, error) {
	if kind != lokero.KindDevice || l.codes == nil {
		return "", nil
	}
	sealed, err := l.codes.Seal(boardKeyPurpose, []byte(id), locker.BoardKey(token))
	if err != nil {
		return "", fmt.Errorf("seal the board key of %s: %w", id, err)
	}
	return sealed, nil
}

// boardKeyOf opens a device credential's BoardKey: nil when it has none
// (its controller gets verifiers the centre derived), and nil, with a
// warning, when it does not open here (sealed under a key of the secret
// this instance does not hold: retired without ResealBoardKeys, or made by
// an instance already given a newer one): every controller still takes
// verifiers, so the board is served as one provisioned before.
func (l *Lockers) boardKeyOf(device lokero.Credential) ([]byte, error) {
	if device.BoardKey == "" || l.codes == nil {
		return nil, nil
	}
	key, err := l.codes.Open(boardKeyPurpose, []byte(device.ID), device.BoardKey)
	if err != nil {
		l.log.Warn("a device's board key does not open under this secret: the centre derives its verifiers", "credential", device.ID, "err", err)
		return nil, nil
	}
	return key, nil
}

// ResealBoardKeys seals again, under the newest key of the code secret,
// every active device's board key sealed under an older one, and returns
// how many: run it before the older keys go (lokero secret retire does).
// A credential rotated meanwhile keeps its new key.
func (l *Lockers) ResealBoardKeys(ctx context.Context) (int, error) {
	if l.codes == nil {
		return 0, nil
	}
	list, err := l.store.Credentials(ctx, lokero.CredentialFilter{Kind: lokero.KindDevice})
	if err != nil {
		return 0, fmt.Errorf("reseal board keys: %w", err)
	}
	n := 0
	for _, c := range list {
		if c.BoardKey == "" || !c.RevokedAt.IsZero() || l.codes.SealedUnderNewest(c.BoardKey) {
			continue
		}
		key, err := l.codes.Open(boardKeyPurpose, []byte(c.ID), c.BoardKey)
		if err != nil {
			return n, fmt.Errorf("reseal the board key of %s: %w", c.ID, err)
		}
		sealed, err := l.codes.Seal(boardKeyPurpose, []byte(c.ID), key)
		if err != nil {
			return n, fmt.Errorf("reseal the board key of %s: %w", c.ID, err)
		}
		swapped, err := l.store.SwapBoardKey(ctx, c.ID, c.BoardKey, sealed)
		if err != nil && lokero.ErrorCode(err) != lokero.ENOTFOUND {
			return n, fmt.Errorf("reseal the board key of %s: %w", c.ID, err)
		}
		if swapped {
			n++
		}
	}
	return n, nil
}

// tokenEncoding spells tokens and credential IDs (lower-cased).
var tokenEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newToken returns a new random token of the kind: its prefix and 256
// random bits.
func (l *Lockers) newToken(kind lokero.CredentialKind) (string, error) {
	var secret [32]byte
	if _, err := io.ReadFull(l.random, secret[:]); err != nil {
		return "", fmt.Errorf("new token: %w", err)
	}
	return tokenPrefixes[kind] + strings.ToLower(tokenEncoding.EncodeToString(secret[:])), nil
}

// checkValidFor refuses a negative expiry or one past MaxValidFor.
func checkValidFor(d time.Duration) error {
	if d < 0 || d > MaxValidFor {
		return lokero.Invalid("expires", "out_of_range", "a credential expires after more than 0 and at most %d days; got %s", MaxValidFor/(24*time.Hour), d)
	}
	return nil
}

// ParseValidFor reads how long a credential is to work: a number of days
// ("90d") or a Go duration ("720h", "1h30m"), more than zero and at most
// MaxValidFor (3650d).
func ParseValidFor(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 || n > int(MaxValidFor/(24*time.Hour)) {
			return 0, lokero.Invalid("expires", "bad_duration", "expires must be a number of days from 1 to %d (\"90d\") or a duration (\"720h\"); got %q", MaxValidFor/(24*time.Hour), s)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil || d <= 0 {
			return 0, lokero.Invalid("expires", "bad_duration", "expires must be a number of days (\"90d\") or a positive duration (\"720h\"); got %q", s)
		}
	}
	if err := checkValidFor(d); err != nil {
		return 0, err
	}
	return d, nil
}

// Authenticate returns the credential of a token of the given kind, or
// EUNAUTHORIZED: a courier token never acts as a device, nor the reverse,
// and a revoked or expired token answers as a wrong one. It records the
// credential's use, at most once a minute (TouchEvery).
func (l *Lockers) Authenticate(ctx context.Context, kind lokero.CredentialKind, token string) (lokero.Credential, error) {
	unauthorized := &lokero.Error{Code: lokero.EUNAUTHORIZED, Reason: "invalid_token",
		Message: fmt.Sprintf("this call needs a %s token: send Authorization: Bearer <token>", kind)}
	if !strings.HasPrefix(token, tokenPrefixes[kind]) || len(token) > 128 {
		return lokero.Credential{}, unauthorized
	}
	c, err := l.store.CredentialByTokenHash(ctx, HashKey(token))
	if lokero.ErrorCode(err) == lokero.ENOTFOUND || (err == nil && c.Kind != kind) {
		return lokero.Credential{}, unauthorized
	} else if err != nil {
		return lokero.Credential{}, err
	}
	now := l.now()
	if state := c.State(now); state != lokero.CredentialActive {
		l.log.Debug("refused a credential", "credential", c.ID, "state", state)
		return lokero.Credential{}, unauthorized
	}
	l.touch(ctx, &c, now)
	return c, nil
}

// touch records a credential's use now, at most every TouchEvery; a
// failure to record it is logged and refuses nothing.
func (l *Lockers) touch(ctx context.Context, c *lokero.Credential, now time.Time) {
	if !c.LastUsedAt.IsZero() && now.Sub(c.LastUsedAt) < TouchEvery {
		return
	}
	if err := l.store.TouchCredential(ctx, c.ID, now, now.Add(-TouchEvery)); err != nil {
		l.log.Warn("record a credential's use", "credential", c.ID, "err", err)
		return
	}
	c.LastUsedAt = now
}

// KeypadCourierNote starts the event a deposit at a locker's keypad adds
// to the parcel: the courier credential who signed in at the keypad
// (its ID, never its name: the events show in tracking).
const KeypadCourierNote = "Deposited at the locker's keypad by courier credential "

// keypadCourier returns the courier credential a keypad event names: the
// courier signed in at the locker with their token, of which the
// controller keeps and sends only the SHA-256, base64url without padding
// (hash) — the form the centre stores tokens in, so it is looked up as
// such. It is checked before anything about the parcel, so that a refusal
// tells the keypad nothing of it: no hash is courier_required, one that
// is no courier credential's (a device's, an unknown or rotated token) or
// an inactive one's courier_unknown. taken is a deposit the controller
// took offline, the parcel in the compartment already: a courier
// credential revoked or expired since is accepted then, and the note
// returned (for the parcel's events) says so.
func (l *Lockers) keypadCourier(ctx context.Context, hash string, taken bool) (lokero.Credential, string, error) {
	if hash == "" {
		return lokero.Credential{}, "", &lokero.Error{Code: lokero.EUNAUTHORIZED, Reason: "courier_required", Field: "courier",
			Message: "a courier signs in at the locker before a deposit: no courier in the event"}
	}
	unknown := &lokero.Error{Code: lokero.EUNAUTHORIZED, Reason: "courier_unknown", Field: "courier",
		Message: "the courier who signed in at the locker is not an active courier: sign in again with a courier token"}
	sum, err := base64.RawURLEncoding.DecodeString(hash)
	if err != nil || len(sum) != sha256.Size {
		return lokero.Credential{}, "", unknown
	}
	c, err := l.store.CredentialByTokenHash(ctx, sum)
	if lokero.ErrorCode(err) == lokero.ENOTFOUND || (err == nil && c.Kind != lokero.KindCourier) {
		return lokero.Credential{}, "", unknown
	} else if err != nil {
		return lokero.Credential{}, "", fmt.Errorf("courier at the keypad: %w", err)
	}
	now := l.now()
	note := KeypadCourierNote + c.ID + "."
	switch state := c.State(now); {
	case state != lokero.CredentialActive && !taken:
		l.log.Debug("refused a courier at a keypad", "credential", c.ID, "state", state)
		return lokero.Credential{}, "", unknown
	case state != lokero.CredentialActive:
		// The parcel is in the locker: refusing the report would not take
		// it out. The operator sees whose it was.
		return c, fmt.Sprintf("%s%s, %s before the locker reported it (taken while offline).", KeypadCourierNote, c.ID, state), nil
	}
	l.touch(ctx, &c, now)
	return c, note, nil
}

// Now is the time by the service's clock: the time a credential's state
// (lokero.Credential.State) is judged at.
func (l *Lockers) Now() time.Time { return l.now() }

// Credentials lists the credentials the filter selects, oldest first. A
// kind, when given, must be one of the four.
func (l *Lockers) Credentials(ctx context.Context, f lokero.CredentialFilter) ([]lokero.Credential, error) {
	if _, ok := tokenPrefixes[f.Kind]; f.Kind != "" && !ok {
		return nil, lokero.Invalid("kind", "unknown_kind", "kind must be %s; got %q", kindNames, f.Kind)
	}
	if err := checkText("location_id", f.LocationID, false, maxTextLen); err != nil {
		return nil, err
	}
	list, err := l.store.Credentials(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("list credentials: %w", err)
	}
	return list, nil
}

// Credential returns one credential, or ENOTFOUND.
func (l *Lockers) Credential(ctx context.Context, id string) (lokero.Credential, error) {
	if err := checkCredentialID(id); err != nil {
		return lokero.Credential{}, err
	}
	return l.store.CredentialByID(ctx, id)
}

// EndSessions ends every web session of a credential begun until now (a
// sign-out): see Credential.SessionsEndedAt.
func (l *Lockers) EndSessions(ctx context.Context, id string) error {
	if err := checkCredentialID(id); err != nil {
		return err
	}
	return l.store.EndSessions(ctx, id, l.now())
}

// checkCredentialID answers ENOTFOUND, without asking the store, for an
// ID no credential can have (the IDs are "kind_" and base32): nothing
// hostile reaches a query, and PostgreSQL never sees a NUL.
func checkCredentialID(id string) error {
	ok := id != "" && len(id) <= 64
	for _, r := range id {
		ok = ok && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.')
	}
	if !ok {
		return &lokero.Error{Code: lokero.ENOTFOUND, Reason: "unknown_credential", Message: fmt.Sprintf("no credential with id %q", truncateText(id, 64))}
	}
	return nil
}

// truncateText cuts s to at most n bytes, for echoing input in an error.
func truncateText(s string, n int) string {
	if len(s) <= n {
		return strings.ToValidUTF8(s, "?")
	}
	return strings.ToValidUTF8(s[:n], "?") + "…"
}

// RevokeCredential revokes a credential for good: its token answers 401
// from now on. Revoking one already revoked changes nothing. With
// keepAnOperator (the operator's API), the last active operator
// credential is not revoked (ECONFLICT "last_operator"): locking every
// operator out takes the command line.
func (l *Lockers) RevokeCredential(ctx context.Context, id string, keepAnOperator bool) (lokero.Credential, error) {
	if err := checkCredentialID(id); err != nil {
		return lokero.Credential{}, err
	}
	c, err := l.store.RevokeCredential(ctx, id, l.now(), keepAnOperator)
	if err != nil {
		return lokero.Credential{}, fmt.Errorf("revoke credential %s: %w", id, err)
	}
	return c, nil
}

// RotateCredential gives a credential a new token and returns it (shown
// once): the old token stops working at once. The new token works as long
// as the credential was issued for, counted from now (an expired
// credential works again); one that never expired still never does. A
// revoked credential stays revoked (ECONFLICT "revoked").
func (l *Lockers) RotateCredential(ctx context.Context, id string) (lokero.Credential, string, error) {
	if err := checkCredentialID(id); err != nil {
		return lokero.Credential{}, "", err
	}
	old, err := l.store.CredentialByID(ctx, id)
	if err != nil {
		return lokero.Credential{}, "", fmt.Errorf("rotate credential %s: %w", id, err)
	}
	token, err := l.newToken(old.Kind)
	if err != nil {
		return lokero.Credential{}, "", err
	}
	now := l.now()
	var expires time.Time
	if !old.ExpiresAt.IsZero() {
		expires = now.Add(old.ExpiresAt.Sub(old.IssuedAt()))
	}
	boardKey, err := l.boardKeyFor(old.Kind, old.ID, token)
	if err != nil {
		return lokero.Credential{}, "", err
	}
	c, err := l.store.RotateCredential(ctx, id, HashKey(token), boardKey, now, expires)
	if err != nil {
		return lokero.Credential{}, "", fmt.Errorf("rotate credential %s: %w", id, err)
	}
	return c, token, nil
}

// RevokedCourierWindow is how far back a locker's sync names the courier
// tokens that stopped working (DeviceSync.RevokedCouriers): as long as a
// controller keeps a courier the centre accepted at its locker and takes
// them offline (controller's courierKeep, 30 days from the last
// acceptance, which came before the token stopped working), and a day
// more for a controller's clock set back meanwhile. Older ones are
// forgotten by the controllers themselves.
const RevokedCourierWindow = 31 * 24 * time.Hour

// revokedCouriers returns the courier tokens a controller must forget
// now: those revoked, expired or replaced by a rotation within
// RevokedCourierWindow, each as a controller names its courier (the
// SHA-256 of the token, base64url without padding: device.CourierHash),
// nil when none. The list is the last days' only, however many couriers
// the network has.
func (l *Lockers) revokedCouriers(ctx context.Context, now time.Time) ([]string, error) {
	hashes, err := l.store.RetiredCourierTokens(ctx, now.Add(-RevokedCourierWindow), now)
	if err != nil {
		return nil, fmt.Errorf("retired couriers: %w", err)
	}
	var out []string
	for _, h := range hashes {
		out = append(out, base64.RawURLEncoding.EncodeToString(h))
	}
	return out, nil
}

// APIKeyPrefix starts every retailer API key, so that a leaked key is
// recognisable (secret scanners look for such prefixes).
const APIKeyPrefix = "lok_"

// AddRetailer creates a retailer and returns its API key. Only the key's
// SHA-256 hash is stored: the key is shown once.
func (s *Shipments) AddRetailer(ctx context.Context, name string, freeReturns bool) (lokero.Retailer, string, error) {
	name = strings.TrimSpace(name)
	if err := checkText("name", name, true, maxTextLen); err != nil {
		return lokero.Retailer{}, "", err
	}
	now := s.now()
	id, err := s.newID("ret_", now)
	if err != nil {
		return lokero.Retailer{}, "", err
	}
	key, err := s.newAPIKey()
	if err != nil {
		return lokero.Retailer{}, "", err
	}
	r := lokero.Retailer{ID: id, Name: name, FreeReturns: freeReturns, CreatedAt: now}
	if err := s.store.CreateRetailer(ctx, r, HashKey(key)); err != nil {
		return lokero.Retailer{}, "", fmt.Errorf("add retailer: %w", err)
	}
	return r, key, nil
}

// newAPIKey makes a retailer API key: APIKeyPrefix and 256 random bits.
func (s *Shipments) newAPIKey() (string, error) {
	var secret [32]byte
	if _, err := io.ReadFull(s.random, secret[:]); err != nil {
		return "", fmt.Errorf("new API key: %w", err)
	}
	return APIKeyPrefix + strings.ToLower(strings.TrimRight(base32.StdEncoding.EncodeToString(secret[:]), "=")), nil
}

// RotateRetailerKey gives a retailer a new API key and returns it (shown
// once): the old key, leaked or not, stops at once on this instance and
// within RetailerCacheTTL on every other. ENOTFOUND for no such retailer.
func (s *Shipments) RotateRetailerKey(ctx context.Context, id string) (lokero.Retailer, string, error) {
	r, err := s.store.Retailer(ctx, id)
	if err != nil {
		return lokero.Retailer{}, "", err
	}
	key, err := s.newAPIKey()
	if err != nil {
		return lokero.Retailer{}, "", err
	}
	if err := s.store.RotateRetailerKey(ctx, id, HashKey(key)); err != nil {
		return lokero.Retailer{}, "", fmt.Errorf("rotate the key of retailer %s: %w", id, err)
	}
	s.retailers.drop(id)
	return r, key, nil
}

// HashKey returns the stored form of an API key or token. The keys are
// 256-bit random, so a fast hash is enough: nothing to brute-force.
func HashKey(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// Authenticate returns the retailer whose API key this is, or
// EUNAUTHORIZED.
func (s *Shipments) Authenticate(ctx context.Context, key string) (lokero.Retailer, error) {
	unauthorized := &lokero.Error{Code: lokero.EUNAUTHORIZED, Reason: "invalid_api_key", Message: "the API key is missing or wrong: send Authorization: Bearer <key>"}
	if !strings.HasPrefix(key, APIKeyPrefix) || len(key) > 128 {
		return lokero.Retailer{}, unauthorized
	}
	hash := HashKey(key)
	now := s.now()
	if r, ok := s.retailers.get(hash, now); ok {
		return r, nil
	}
	r, err := s.store.RetailerByKeyHash(ctx, hash)
	if lokero.ErrorCode(err) == lokero.ENOTFOUND {
		return r, unauthorized
	}
	if err == nil {
		s.retailers.put(hash, r, now)
	}
	return r, err
}

// retailerCacheSize bounds the retailers an instance keeps by their keys'
// hashes: a few thousand stores make nearly all bookings.
const retailerCacheSize = 4096

// RetailerCacheTTL is how long an instance trusts a retailer it found by
// its API key without asking the database again: how long a key rotated
// on another instance (a leaked key) goes on working here.
const RetailerCacheTTL = 30 * time.Second

// retailerCache keeps the retailers found by their API keys' hashes, so
// that an API call asks the database only for a key it has not seen in
// RetailerCacheTTL. A key that was not found is not kept (the store may
// gain it on another instance). Full, it starts again empty.
type retailerCache struct {
	mu     sync.RWMutex
	byHash map[string]cachedRetailer // by the key's hash, as a string
}

// cachedRetailer is a retailer and when its key was last found.
type cachedRetailer struct {
	lokero.Retailer
	at time.Time
}

func (c *retailerCache) get(hash []byte, now time.Time) (lokero.Retailer, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	r, ok := c.byHash[string(hash)]
	if !ok || now.Sub(r.at) >= RetailerCacheTTL || now.Before(r.at) {
		return lokero.Retailer{}, false
	}
	return r.Retailer, true
}

func (c *retailerCache) put(hash []byte, r lokero.Retailer, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byHash == nil || len(c.byHash) >= retailerCacheSize {
		c.byHash = make(map[string]cachedRetailer)
	}
	c.byHash[string(hash)] = cachedRetailer{r, now}
}

// drop forgets a retailer's keys.
func (c *retailerCache) drop(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for hash, r := range c.byHash {
		if r.ID == id {
			delete(c.byHash, hash)
		}
	}
}
