package storetest

import (
	"testing"

	"github.com/lokero/lokero"
)

// testCredentialSwapBoardKey: SwapBoardKey changes a credential's board
// key only from the one the caller read.
func testCredentialSwapBoardKey(t *testing.T, s Store) {
	ctx := t.Context()
	device := lokero.Credential{ID: "d-1", Kind: lokero.KindDevice, Name: "M5", LocationID: "locker-1", CreatedAt: t0, BoardKey: "sealed:v1:0:old"}
	mustCreateCredentials(t, s, device)
	if ok, err := s.SwapBoardKey(ctx, device.ID, "sealed:v1:0:other", "sealed:v1:1:new"); err != nil || ok {
		t.Errorf("a swap from a key it does not have: %v, %v; want false", ok, err)
	}
	if ok, err := s.SwapBoardKey(ctx, device.ID, "sealed:v1:0:old", "sealed:v1:1:new"); err != nil || !ok {
		t.Errorf("a swap from the key it has: %v, %v; want true", ok, err)
	}
	if got, err := s.CredentialByID(ctx, device.ID); err != nil || got.BoardKey != "sealed:v1:1:new" {
		t.Errorf("after the swap: %q, %v; want the new key", got.BoardKey, err)
	}
	_, err := s.SwapBoardKey(ctx, "nobody", "", "x")
	checkError(t, err, lokero.ENOTFOUND, "")
}
