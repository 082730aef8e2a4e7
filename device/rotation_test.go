package device

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/service"
)

// keyLockers gives locker L1 one device credential whose BoardKey a
// rotation replaces (same ID, still active: as
// service.Lockers.RotateCredential does), and records the BoardKey each
// Sync was asked to seal under.
type keyLockers struct {
	*slowLockers
	mu    sync.Mutex
	key   string
	syncs chan string
}

func (f *keyLockers) LockerDevice(_ context.Context, id string) (lokero.Credential, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return lokero.Credential{ID: "cred-" + id, Kind: lokero.KindDevice, LocationID: id, BoardKey: f.key}, nil
}

func (f *keyLockers) Sync(_ context.Context, dev lokero.Credential, _ string) (service.DeviceSync, error) {
	f.syncs <- dev.BoardKey
	return service.DeviceSync{}, nil
}

// TestSyncAfterRotationUnderTheNewKey: the operator rotates L1's
// device token (POST /v1/credentials/{id}/rotate; serve's
// CredentialChanged only sweeps, and the sweep forgets nothing for a
// credential still active); its board restarts with the new token and
// asks for a sync within the 30-s cache. The sync is sealed under the old
// token's board key, which the new board cannot open.
func TestSyncAfterRotationUnderTheNewKey(t *testing.T) {
	t.Parallel()
	f := &keyLockers{slowLockers: newSlowLockers(), key: "board-key-of-old-token", syncs: make(chan string, 4)}
	c, _ := testCentre(t, f)
	next := func() string {
		t.Helper()
		select {
		case k := <-f.syncs:
			return k
		case <-time.After(waitFor):
			t.Fatal("no sync")
			return ""
		}
	}
	c.enqueue(Topic("L1", KindStatus), []byte(`{"online":true,"sync":true}`))
	if k := next(); k != "board-key-of-old-token" {
		t.Fatalf("first sync under %q", k)
	}
	f.mu.Lock()
	f.key = "board-key-of-new-token" // rotated
	f.mu.Unlock()
	c.enqueue(Topic("L1", KindStatus), []byte(`{"online":true,"sync":true}`)) // the board, back with its new token
	if k := next(); k != "board-key-of-new-token" {
		t.Errorf("the reconnected board's sync was sealed under %q (the centre's cached credential), not the rotated token's key", k)
	}
}
