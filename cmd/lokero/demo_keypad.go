package main

import (
	"context"
	"net"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/service"
)

// demoLockers is the demo's web keypad (web.DemoLockers): a page acting as
// a locker's device, through the service calls of the HTTP device
// endpoints, with the locker's device credential; a locker without one
// gets one, named for the demo (added, not provisioned: a controller's
// credential stays as it is). Serve enables it only with --dev on a
// loopback address.
type demoLockers struct{ lockers *service.Lockers }

func (d demoLockers) device(ctx context.Context, locationID string) (lokero.Credential, error) {
	cred, err := d.lockers.LockerDevice(ctx, locationID)
	if lokero.ErrorCode(err) != lokero.EUNAUTHORIZED {
		return cred, err
	}
	cred, _, err = d.lockers.AddCredential(ctx, lokero.KindDevice, "demo web keypad", locationID)
	return cred, err
}

// Keypad enters a code at the locker's keypad.
func (d demoLockers) Keypad(ctx context.Context, locationID, code string) (int, int64, error) {
	cred, err := d.device(ctx, locationID)
	if err != nil {
		return 0, 0, err
	}
	res, err := d.lockers.Keypad(ctx, cred, locationID, code)
	if err != nil {
		return 0, 0, err
	}
	if res.Result == "payment_required" {
		return 0, res.AmountCents, nil
	}
	return res.Compartment, 0, nil
}

// CloseDoor reports a compartment's door shut.
func (d demoLockers) CloseDoor(ctx context.Context, locationID string, compartment int) (string, error) {
	cred, err := d.device(ctx, locationID)
	if err != nil {
		return "", err
	}
	sh, err := d.lockers.DoorClosed(ctx, cred, locationID, compartment)
	return string(sh.Status), err
}

// demoOperatorName names the operator credential the demo signs a
// visitor in with.
const demoOperatorName = "demo operator"

// operator returns the demo's operator credential, made on first use.
func (d demoLockers) operator(ctx context.Context) (lokero.Credential, error) {
	list, err := d.lockers.Credentials(ctx, lokero.CredentialFilter{Kind: lokero.KindOperator})
	if err != nil {
		return lokero.Credential{}, err
	}
	now := d.lockers.Now()
	for _, c := range list {
		if c.Name == demoOperatorName && c.State(now) == lokero.CredentialActive {
			return c, nil
		}
	}
	c, _, err := d.lockers.AddCredential(ctx, lokero.KindOperator, demoOperatorName, "")
	return c, err
}

// loopback reports whether addr is a loopback TCP address.
func loopback(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}
