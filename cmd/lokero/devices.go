package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/device"
	"github.com/lokero/lokero/service"
)

// centreUser is the default user of lokero serve's centre at an external
// broker (lokero locker provision --centre).
const centreUser = "lokero-centre"

// devices is the locker device protocol's side of lokero serve: the
// embedded broker (unless an external one is used) and the centre's client.
type devices struct {
	broker *device.Broker // nil with an external broker
	centre *device.Centre
	log    *slog.Logger
}

// startDevices starts the device protocol: with mqttURL, the centre
// connects to that broker (several instances share its events); without,
// an embedded broker listens on listen ("off": no MQTT at all, only the
// HTTP device endpoints) and the centre connects to it.
func startDevices(ctx context.Context, lockers *service.Lockers, mqttURL, listen string, log *slog.Logger) (*devices, error) {
	d := &devices{log: log}
	host, _ := os.Hostname()
	cfg := device.CentreConfig{Lockers: lockers, Log: log,
		ClientID: device.CentreClientIDPrefix + strings.NewReplacer(".", "-", " ", "-").Replace(host) + fmt.Sprintf("-%d", os.Getpid())}
	switch {
	case mqttURL != "":
		if _, _, _, err := device.ParseBrokerURL(mqttURL); err != nil {
			return nil, fmt.Errorf("%w: --mqtt: %v", errUsage, err)
		}
		cfg.Broker, cfg.SharedGroup = mqttURL, "lokero"
	case listen == "off":
		log.Info("mqtt: off (--mqtt-listen off): lockers use the HTTP device endpoints only")
		return d, nil
	default:
		b, err := device.StartBroker(ctx, device.BrokerConfig{Addr: listen, Log: log.With("component", "mqtt"),
			Auth: brokerAuth{lockers: lockers}})
		if err != nil {
			return nil, fmt.Errorf("%w (another broker on that port? connect to it with --mqtt tcp://…, or move this one with --mqtt-listen)", err)
		}
		d.broker = b
		cfg.Embedded = b
		log.Info("mqtt: embedded broker", "addr", b.Addr())
		if !loopbackListen(listen) {
			log.Warn("mqtt: the embedded broker listens beyond loopback without TLS: the lockers' device tokens and the codes typed at their keypads cross the network in clear; "+
				"listen on loopback behind a TLS terminator or tunnel, or use an external broker with TLS (--mqtt tls://…)", "addr", b.Addr())
		}
	}
	c, err := device.StartCentre(ctx, cfg)
	if err != nil {
		d.Close()
		return nil, err
	}
	d.centre = c
	return d, nil
}

// sweep drops from the embedded broker every locker whose credential was
// revoked (or expired) since it connected, or rotated (its token no longer
// works, and codes are sealed for the new token's board key): it cannot
// connect again with that token.
func (d *devices) sweep(ctx context.Context, lockers *service.Lockers) {
	if d.broker == nil {
		return
	}
	connected := d.broker.Lockers()
	if len(connected) == 0 {
		return
	}
	// One read of every device credential, not one a connected locker.
	creds, err := lockers.Credentials(ctx, lokero.CredentialFilter{Kind: lokero.KindDevice})
	if err != nil {
		d.log.Warn("mqtt: check the connected lockers' credentials", "err", err)
		return
	}
	now := lockers.Now()
	issued := make(map[string]time.Time, len(creds)) // of the active ones
	for _, c := range creds {
		if c.State(now) == lokero.CredentialActive {
			issued[c.ID] = c.IssuedAt()
		}
	}
	for _, id := range connected {
		if at, ok := issued[id.CredentialID]; ok && !at.After(id.TokenIssuedAt) {
			continue
		}
		if d.broker.Disconnect(id.LocationID) {
			d.log.Info("mqtt: dropped a locker whose credential no longer works", "location", id.LocationID)
		}
		if d.centre != nil {
			d.centre.Forget(id.LocationID)
		}
	}
}

// sweepEvery is how often serve drops lockers whose credential was
// revoked.
const sweepEvery = 15 * time.Second

// Close stops the centre's client, then the broker.
func (d *devices) Close() {
	if d.centre != nil {
		d.centre.Close()
	}
	if d.broker != nil {
		if err := d.broker.Close(); err != nil {
			d.log.Warn("mqtt: close the broker", "err", err)
		}
	}
}

// brokerAuth authenticates the embedded broker's clients: a locker by its
// device token, with its location ID as username. The centre runs inside
// the broker (device.CentreConfig.Embedded) and needs no login.
type brokerAuth struct {
	lockers *service.Lockers
}

func (a brokerAuth) AuthenticateClient(ctx context.Context, username, password string) (device.Identity, error) {
	c, err := a.lockers.Authenticate(ctx, lokero.KindDevice, password)
	if err != nil {
		return device.Identity{}, err
	}
	if c.LocationID != username {
		return device.Identity{}, fmt.Errorf("a device token of %s used as %s", c.LocationID, username)
	}
	return device.Identity{LocationID: c.LocationID, CredentialID: c.ID, TokenIssuedAt: c.IssuedAt()}, nil
}

// loopbackListen reports whether a listen address (host:port) takes
// connections from this machine only: localhost or a loopback IP.
func loopbackListen(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
