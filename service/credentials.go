package service

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"io"
	"strings"

	"github.com/lokero/lokero"
)

// Token prefixes by kind, so that a leaked token is recognisable and a
// token of one kind is refused as another before any lookup.
var tokenPrefixes = map[lokero.CredentialKind]string{
	lokero.KindCourier:  "lkc_",
	lokero.KindDevice:   "lkd_",
	lokero.KindOperator: "lko_",
}

// AddCredential creates a courier's, a device's or an operator's token and
// returns it (shown once; stored as a hash). A device belongs to one
// locker, which must exist.
func (l *Lockers) AddCredential(ctx context.Context, kind lokero.CredentialKind, name, locationID string) (lokero.Credential, string, error) {
	prefix, ok := tokenPrefixes[kind]
	if !ok {
		return lokero.Credential{}, "", lokero.Invalid("kind", "unknown_kind", "kind must be courier, device or operator; got %q", kind)
	}
	name = strings.TrimSpace(name)
	if err := checkText("name", name, true, maxTextLen); err != nil {
		return lokero.Credential{}, "", err
	}
	if kind == lokero.KindDevice {
		loc := l.dir.Snapshot().ByID(locationID)
		if loc == nil || !loc.Type.IsLocker() {
			return lokero.Credential{}, "", lokero.Invalid("location_id", "not_a_locker", "no locker with id %q", locationID)
		}
	} else {
		locationID = ""
	}
	var secret [32]byte
	if _, err := io.ReadFull(l.random, secret[:]); err != nil {
		return lokero.Credential{}, "", fmt.Errorf("new token: %w", err)
	}
	var idb [8]byte
	if _, err := io.ReadFull(l.random, idb[:]); err != nil {
		return lokero.Credential{}, "", fmt.Errorf("new token: %w", err)
	}
	enc := base32.StdEncoding.WithPadding(base32.NoPadding)
	token := prefix + strings.ToLower(enc.EncodeToString(secret[:]))
	c := lokero.Credential{ID: string(kind) + "_" + strings.ToLower(enc.EncodeToString(idb[:])), Kind: kind, Name: name,
		LocationID: locationID, CreatedAt: l.now()}
	if err := l.store.CreateCredential(ctx, c, HashKey(token)); err != nil {
		return lokero.Credential{}, "", fmt.Errorf("add %s: %w", kind, err)
	}
	return c, token, nil
}

// Authenticate returns the credential of a token of the given kind, or
// EUNAUTHORIZED: a courier token never acts as a device, nor the reverse.
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
	return c, nil
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
	var secret [32]byte
	if _, err := io.ReadFull(s.random, secret[:]); err != nil {
		return lokero.Retailer{}, "", fmt.Errorf("new API key: %w", err)
	}
	key := APIKeyPrefix + strings.ToLower(strings.TrimRight(base32.StdEncoding.EncodeToString(secret[:]), "="))
	r := lokero.Retailer{ID: id, Name: name, FreeReturns: freeReturns, CreatedAt: now}
	if err := s.store.CreateRetailer(ctx, r, HashKey(key)); err != nil {
		return lokero.Retailer{}, "", fmt.Errorf("add retailer: %w", err)
	}
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
	r, err := s.store.RetailerByKeyHash(ctx, HashKey(key))
	if lokero.ErrorCode(err) == lokero.ENOTFOUND {
		return r, unauthorized
	}
	return r, err
}
