package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/calendar"
)

// runCredential: `lokero courier add NAME` and `lokero operator add NAME`
// print the new token as the last line of stdout.
func runCredential(ctx context.Context, kind lokero.CredentialKind, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "add" {
		return fmt.Errorf("%w: %s add NAME", errUsage, kind)
	}
	fs := newFlagSet(string(kind)+" add", stderr)
	db := dbFlag(fs)
	names, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return err
	}
	name := strings.TrimSpace(strings.Join(names, " "))
	if name == "" {
		return fmt.Errorf("%w: %s add needs a NAME", errUsage, kind)
	}
	return addCredential(ctx, *db, kind, name, "", stdout, stderr)
}

// runLocker: `lokero locker provision LOCATION_ID` prints the locker
// device's secret as the last line of stdout.
func runLocker(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "provision" {
		return fmt.Errorf("%w: locker provision LOCATION_ID", errUsage)
	}
	fs := newFlagSet("locker provision", stderr)
	db := dbFlag(fs)
	ids, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return err
	}
	if len(ids) != 1 {
		return fmt.Errorf("%w: locker provision takes exactly one LOCATION_ID", errUsage)
	}
	return addCredential(ctx, *db, lokero.KindDevice, "device of "+ids[0], ids[0], stdout, stderr)
}

func addCredential(ctx context.Context, db string, kind lokero.CredentialKind, name, locationID string, stdout, stderr io.Writer) error {
	p, err := openPlatform(ctx, db, calendar.Default(), clock(), newLogger(stderr))
	if err != nil {
		return err
	}
	defer p.Close()
	if err := p.dir.Reload(ctx); err != nil {
		return err
	}
	c, token, err := p.lockers.AddCredential(ctx, kind, name, locationID)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s %s (%s) added\n", kind, c.Name, c.ID)
	fmt.Fprintln(stdout, "its token (shown once; send it as Authorization: Bearer <token>):")
	fmt.Fprintln(stdout, token)
	return nil
}

// runCredentialAdmin: `lokero credential list|revoke|rotate`.
func runCredentialAdmin(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return fmt.Errorf("%w: credential list|revoke|rotate", errUsage)
}
