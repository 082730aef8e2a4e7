package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/lokero/lokero/calendar"
)

// runRetailer administers retailers: `lokero retailer add NAME` prints the
// new retailer's API key as the last line of stdout.
func runRetailer(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "add" {
		return fmt.Errorf("%w: retailer add NAME [--free-returns]", errUsage)
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
