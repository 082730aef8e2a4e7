package locker

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/lokero/lokero"
)

// sealedPrefix begins every value Seal makes: "sealed:v1:GENERATION:" and
// the base64 (standard, padded) of the GCM nonce and ciphertext.
const sealedPrefix = "sealed:v1:"

// Seal encrypts plaintext for keeping at rest (a webhook's signing secret,
// which lokero must read back to sign, so cannot hash): AES-256-GCM under
// a key derived by HKDF-SHA256 from the keyring's newest key for purpose,
// with additional data aad (e.g. the row's ID, so that a sealed value
// copied to another row does not open there). A copy of the database
// alone reveals nothing: the keys are kept outside it.
func (c *Codes) Seal(purpose string, aad, plaintext []byte) (string, error) {
	k := c.keys[0]
	aead, err := sealing(k, purpose)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal: %w", err)
	}
	box := aead.Seal(nonce, nonce, plaintext, aad)
	return sealedPrefix + strconv.Itoa(k.Generation) + ":" + base64.StdEncoding.EncodeToString(box), nil
}

// SealedUnder returns the key generation a value of Seal was sealed
// under; ok is false for anything else (a value kept before sealing).
func SealedUnder(stored string) (generation int, ok bool) {
	generation, _, ok = parseSealed(stored)
	return generation, ok
}

// SealedUnderNewest reports whether stored is a value of Seal sealed under
// the keyring's newest key (one to seal again before older keys go when
// not).
func (c *Codes) SealedUnderNewest(stored string) bool {
	gen, ok := SealedUnder(stored)
	return ok && gen == c.keys[0].Generation
}

// parseSealed splits a value of Seal into its key generation and the
// base64 of its nonce and ciphertext.
func parseSealed(stored string) (generation int, encoded string, ok bool) {
	rest, found := strings.CutPrefix(stored, sealedPrefix)
	if !found {
		return 0, "", false
	}
	gen, encoded, found := strings.Cut(rest, ":")
	g, err := strconv.Atoi(gen)
	if !found || err != nil || g < 0 || g > MaxGeneration {
		return 0, "", false
	}
	return g, encoded, true
}

// Open decrypts a value of Seal made for purpose and aad under any key of
// the keyring. A value not sealed at all (kept before sealing began) is
// returned as it is. A sealed value under a key the keyring no longer
// holds, or one altered or moved, is an error.
func (c *Codes) Open(purpose string, aad []byte, stored string) ([]byte, error) {
	gen, encoded, ok := parseSealed(stored)
	if !ok {
		if strings.HasPrefix(stored, "sealed:") {
			return nil, fmt.Errorf("open: not a sealed value of this version (%.16q…)", stored)
		}
		return []byte(stored), nil
	}
	i := c.index(gen)
	if i < 0 {
		return nil, lokero.Errorf(lokero.EINVALID, "open: sealed under key generation %d, which the secret no longer holds (retired before this value was sealed again)", gen)
	}
	aead, err := sealing(c.keys[i], purpose)
	if err != nil {
		return nil, err
	}
	box, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil || len(box) < aead.NonceSize() {
		return nil, fmt.Errorf("open: a malformed sealed value")
	}
	plain, err := aead.Open(nil, box[:aead.NonceSize()], box[aead.NonceSize():], aad)
	if err != nil {
		return nil, fmt.Errorf("open: the sealed value does not open (altered, or sealed for another row): %w", err)
	}
	return plain, nil
}

// index is the position of the key of generation gen, or -1.
func (c *Codes) index(gen int) int {
	for i, k := range c.keys {
		if k.Generation == gen {
			return i
		}
	}
	return -1
}

// sealing returns the AEAD of key k for purpose.
func sealing(k Key, purpose string) (cipher.AEAD, error) {
	key, err := hkdf.Key(sha256.New, k.Secret, nil, "lokero/sealed/v1/"+purpose, 32)
	if err != nil {
		return nil, fmt.Errorf("seal: derive the key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return cipher.NewGCM(block)
}
