package main

import (
	"context"
	"net"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/service"
	"github.com/lokero/lokero/web"
)

// demoLockers is the demo's web keypad (web.DemoLockers): a page acting as
// a locker's device, through the service calls of the HTTP device
// endpoints, with the locker's device credential; a locker without one
// gets one, named for the demo (added, not provisioned: a controller's
// credential stays as it is). Serve enables it only with --dev on a
// loopback address.
type demoLockers struct {
	lockers   *service.Lockers
	shipments *service.Shipments // the demo shop's orders (Order)
	dir       *service.Directory
	store     demoStore // where the demo shop's retailer is kept
}

// demoStore is what the demo shop needs of the database.
type demoStore interface {
	settingStore
	Retailer(ctx context.Context, id string) (lokero.Retailer, error)
}

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

// operator returns the demo's operator credential, made on first use:
// the visitor of a loopback --dev start is signed in with it to read the
// local outbox.
func (d demoLockers) operator(ctx context.Context) (lokero.Credential, error) {
	return d.credential(ctx, lokero.KindOperator, "demo operator")
}

// credential returns the active credential of kind called name, made on
// first use.
func (d demoLockers) credential(ctx context.Context, kind lokero.CredentialKind, name string) (lokero.Credential, error) {
	list, err := d.lockers.Credentials(ctx, lokero.CredentialFilter{Kind: kind})
	if err != nil {
		return lokero.Credential{}, err
	}
	now := d.lockers.Now()
	for _, c := range list {
		if c.Name == name && c.State(now) == lokero.CredentialActive {
			return c, nil
		}
	}
	c, _, err := d.lockers.AddCredential(ctx, kind, name, "")
	return c, err
}

// settingDemoShop keeps the ID of the demo shop's retailer.
const settingDemoShop = "demo_shop_retailer"

// shop returns the demo shop's retailer, made on first use.
func (d demoLockers) shop(ctx context.Context) (lokero.Retailer, error) {
	id, ok, err := d.store.Setting(ctx, settingDemoShop)
	if err != nil {
		return lokero.Retailer{}, err
	}
	if !ok {
		r, _, err := d.shipments.AddRetailer(ctx, "Demo shop", true)
		if err != nil {
			return lokero.Retailer{}, err
		}
		// Of two first orders at once, the first retailer stored wins.
		if id, err = d.store.InitSetting(ctx, settingDemoShop, r.ID); err != nil {
			return lokero.Retailer{}, err
		}
	}
	return d.store.Retailer(ctx, id)
}

// Order books the demo shop's parcel (30 × 20 × 10 cm, 1 kg) to the
// shopper's pickup point and delivers it at once, as a courier would:
// handed over, and at a locker deposited and its door closed, which queues
// the notice of arrival. At a counter it waits for the clerk's arrival
// scan (/counter).
func (d demoLockers) Order(ctx context.Context, o web.DemoOrder) (web.DemoDelivery, error) {
	shop, err := d.shop(ctx)
	if err != nil {
		return web.DemoDelivery{}, err
	}
	req := service.ShipmentRequest{
		Reference:     "DEMO",
		Sender:        lokero.Party{Name: "Demo shop", Street: "Tyynenmerenkatu 11", Postcode: "00220", City: "Helsinki", Country: "FI"},
		Recipient:     lokero.Party{Name: o.Name, Street: o.Street, Postcode: o.Postcode, City: o.City, Country: "FI", Email: o.Email, Language: "en"},
		PickupPointID: o.PickupPoint,
		Parcel:        &lokero.Parcel{LengthCM: 30, WidthCM: 20, HeightCM: 10, WeightKG: 1, Contents: lokero.ContentsGoods},
	}
	res, err := d.shipments.Create(ctx, shop, req, "", nil)
	if err != nil {
		return web.DemoDelivery{}, err
	}
	sh := res.Shipment
	out := web.DemoDelivery{TrackingCode: sh.TrackingCode, LocationID: sh.DestinationID, Status: string(sh.Status)}
	courier, err := d.credential(ctx, lokero.KindCourier, "demo courier")
	if err != nil {
		return out, err
	}
	if sh, err = d.shipments.HandoverByCourier(ctx, courier, sh.ID); err != nil {
		return out, err
	}
	out.Status = string(sh.Status)
	if loc := d.dir.Snapshot().ByID(sh.DestinationID); loc == nil || !loc.Type.IsLocker() {
		return out, nil
	}
	dep, err := d.lockers.Deposit(ctx, courier, sh.DestinationID, sh.TrackingCode)
	if err != nil {
		return out, err
	}
	out.Locker, out.Compartment = true, dep.Compartment.Number
	status, err := d.CloseDoor(ctx, sh.DestinationID, dep.Compartment.Number)
	out.Status = status
	return out, err
}

// demoLockers is the demo's web keypad and shop over the platform.
func (p *platform) demoLockers() demoLockers {
	return demoLockers{lockers: p.lockers, shipments: p.shipments, dir: p.dir, store: p.store}
}

// loopback reports whether addr is a loopback TCP address.
func loopback(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}
