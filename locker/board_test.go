package locker_test

import (
	"bytes"
	"crypto/rand"
	"strings"
	"testing"

	"github.com/lokero/lokero/locker"
)

// TestSealForBoard: a code sealed for a board opens only under the key of
// the same token, for the same locker, parcel and purpose, unaltered; and
// the sealed bytes do not hold the code.
func TestSealForBoard(t *testing.T) {
	t.Parallel()
	key := locker.BoardKey("lkd_first")
	if len(key) != 32 || bytes.Equal(key, locker.BoardKey("lkd_second")) || !bytes.Equal(key, locker.BoardKey("lkd_first")) {
		t.Fatalf("BoardKey: %d bytes, or not one key per token", len(key))
	}
	const code = "12345678901"
	sealed, err := locker.SealForBoard(rand.Reader, key, "SP-1", "SH1", locker.BoardPickup, code)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte(code)) {
		t.Fatal("the sealed bytes hold the code")
	}
	again, err := locker.SealForBoard(rand.Reader, key, "SP-1", "SH1", locker.BoardPickup, code)
	if err != nil || bytes.Equal(again, sealed) {
		t.Fatalf("sealed twice alike (%v): the nonce is not fresh", err)
	}
	if got, err := locker.OpenOnBoard(key, "SP-1", "SH1", locker.BoardPickup, sealed); err != nil || got != code {
		t.Fatalf("OpenOnBoard = %q, %v; want the code", got, err)
	}
	altered := bytes.Clone(sealed)
	altered[len(altered)-1] ^= 1
	for _, tc := range []struct {
		name                      string
		key                       []byte
		location, shipment, purps string
		sealed                    []byte
	}{
		{"another token's key", locker.BoardKey("lkd_second"), "SP-1", "SH1", locker.BoardPickup, sealed},
		{"another locker", key, "SP-2", "SH1", locker.BoardPickup, sealed},
		{"another parcel", key, "SP-1", "SH2", locker.BoardPickup, sealed},
		{"another purpose", key, "SP-1", "SH1", locker.BoardReturn, sealed},
		{"altered", key, "SP-1", "SH1", locker.BoardPickup, altered},
		{"cut short", key, "SP-1", "SH1", locker.BoardPickup, sealed[:10]},
		{"empty", key, "SP-1", "SH1", locker.BoardPickup, nil},
		{"a short key", key[:16], "SP-1", "SH1", locker.BoardPickup, sealed},
	} {
		got, err := locker.OpenOnBoard(tc.key, tc.location, tc.shipment, tc.purps, tc.sealed)
		if err == nil || got != "" {
			t.Errorf("%s: OpenOnBoard = %q, %v; want an error", tc.name, got, err)
		} else if strings.Contains(err.Error(), code) {
			t.Errorf("%s: the error %q holds the code", tc.name, err)
		}
	}
}
