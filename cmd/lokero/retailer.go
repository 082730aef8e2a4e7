package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/lokero/lokero/calendar"
	"github.com/lokero/lokero/service"
)

// runRetailer administers retailers: `lokero retailer add NAME` prints the
// new retailer's API key as the last line of stdout; `lokero retailer
// rotate-key ID` replaces a retailer's key (a leaked one) and prints the
// new one so.
func runRetailer(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "rotate-key" {
		return rotateRetailerKey(ctx, args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "add" {
		return fmt.Errorf("%w: retailer add NAME [--free-returns] | retailer rotate-key RETAILER_ID", errUsage)
	}
	fs := newFlagSet("retailer add", stderr)
	db := dbFlag(fs)
	freeReturns := fs.Bool("free-returns", false, "the retailer offers free returns: its shipments may get return codes")
	names, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return err
	}
	name := strings.TrimSpace(strings.Join(names, " "))
	if name == "" {
		return fmt.Errorf("%w: retailer add needs the retailer's NAME", errUsage)
	}
	p, err := openPlatform(ctx, *db, calendar.Default(), clock(), newLogger(stderr))
	if err != nil {
		return err
	}
	defer p.Close()
	r, key, err := p.shipments.AddRetailer(ctx, name, *freeReturns)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "retailer %s (%s) added; free returns: %v\n", r.Name, r.ID, r.FreeReturns)
	fmt.Fprintln(stdout, "its API key (shown once; send it as Authorization: Bearer <key>):")
	fmt.Fprintln(stdout, key)
	return nil
}

// rotateRetailerKey is `lokero retailer rotate-key RETAILER_ID`.
func rotateRetailerKey(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("retailer rotate-key", stderr)
	db := dbFlag(fs)
	ids, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(ids) != 1 {
		return fmt.Errorf("%w: retailer rotate-key takes exactly one RETAILER_ID (ret_…)", errUsage)
	}
	p, err := openPlatform(ctx, *db, calendar.Default(), clock(), newLogger(stderr))
	if err != nil {
		return err
	}
	defer p.Close()
	r, key, err := p.shipments.RotateRetailerKey(ctx, ids[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "retailer %s (%s): the old API key no longer works (running instances drop it within %s)\n", r.Name, r.ID, service.RetailerCacheTTL)
	fmt.Fprintln(stdout, "its new API key (shown once; send it as Authorization: Bearer <key>):")
	fmt.Fprintln(stdout, key)
	return nil
}
