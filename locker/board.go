package locker

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
)

// A locker's controller derives its parcels' verifiers itself
// (docs/device-protocol.md, "The board derives"): the centre sends it each
// code sealed under a key only the two of them hold, and the controller
// opens it, derives the verifier, keeps the verifier and forgets the code.
// The key comes from the controller's device token, which the centre never
// keeps: it keeps the key instead, sealed under the code secret, from the
// moment it made the token.

// boardKeyLabel names what BoardKey derives, so that the key is of no use
// for anything else made from the token.
const boardKeyLabel = "lokero/board-seal/v1"

// BoardKey returns the 32-byte key under which the centre seals codes for
// the controller holding token: HMAC-SHA256 of a fixed label under the
// token.
func BoardKey(token string) []byte {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte(boardKeyLabel))
	return m.Sum(nil)
}

// The purposes of a code sealed for a board: what it opens.
const (
	BoardPickup = "pickup" // a parcel's opening code
	BoardReturn = "return" // a parcel's return code, for a drop-off
)

// boardAAD binds a sealed code to its locker, its parcel and its purpose:
// moved to another, it does not open.
func boardAAD(locationID, shipmentID, purpose string) []byte {
	return []byte(boardKeyLabel + "\x00" + locationID + "\x00" + shipmentID + "\x00" + purpose)
}

// boardAEAD is AES-256-GCM under key.
func boardAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("board key: %d bytes, want 32", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("board key: %w", err)
	}
	return cipher.NewGCM(block)
}

// SealForBoard seals code for the controller of locationID holding key
// (BoardKey): AES-256-GCM with a nonce read from random, bound to the
// locker, the parcel and the purpose (BoardPickup, BoardReturn). It
// returns the nonce followed by the ciphertext.
func SealForBoard(random io.Reader, key []byte, locationID, shipmentID, purpose, code string) ([]byte, error) {
	aead, err := boardAEAD(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, aead.NonceSize(), aead.NonceSize()+len(code)+aead.Overhead())
	if _, err := io.ReadFull(random, out); err != nil {
		return nil, fmt.Errorf("seal for the board: %w", err)
	}
	return aead.Seal(out, out, []byte(code), boardAAD(locationID, shipmentID, purpose)), nil
}

// errBoardSeal is the one answer to a sealed code that does not open:
// made under another key, for another locker, parcel or purpose, or
// altered.
var errBoardSeal = errors.New("sealed code: does not open under this board's key (another token, locker, parcel or purpose, or altered)")

// OpenOnBoard opens a code SealForBoard sealed for this locker, parcel and
// purpose under key.
func OpenOnBoard(key []byte, locationID, shipmentID, purpose string, sealed []byte) (string, error) {
	aead, err := boardAEAD(key)
	if err != nil {
		return "", err
	}
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return "", errBoardSeal
	}
	n := aead.NonceSize()
	code, err := aead.Open(nil, sealed[:n], sealed[n:], boardAAD(locationID, shipmentID, purpose))
	if err != nil {
		return "", errBoardSeal
	}
	return string(code), nil
}
