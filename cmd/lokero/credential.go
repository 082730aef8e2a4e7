package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/api"
	"github.com/lokero/lokero/calendar"
	"github.com/lokero/lokero/device"
	"github.com/lokero/lokero/service"
)

// secretFileFlag adds the --code-secret-file flag: where the code secret
// is, for a device's credential (default: where serve finds it).
func secretFileFlag(fs *flag.FlagSet) *string {
	return fs.String("code-secret-file", envOr("LOKERO_CODE_SECRET_FILE", ""),
		"the opening-code secret's file, as lokero serve is given it, for the key of the locker's board (default: LOKERO_CODE_SECRET, or for SQLite the file beside the database)")
}

// expiresFlag adds the --expires flag: how long a new token works.
func expiresFlag(fs *flag.FlagSet) *string {
	return fs.String("expires", "", "the token stops working after this long: days (\"90d\") or a duration "+
		"(\"720h\", \"1h30m\"), at most 3650d; `lokero credential rotate` renews it for as long again (default: never expires)")
}

// parseExpires reads --expires: 0 when it is not given.
func parseExpires(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := service.ParseValidFor(s)
	if err != nil {
		return 0, fmt.Errorf("%w: --expires: %s", errUsage, lokero.ErrorMessage(err))
	}
	return d, nil
}

// runCredential: `lokero courier add NAME` and `lokero operator add NAME`
// print the new token as the last line of stdout.
func runCredential(ctx context.Context, kind lokero.CredentialKind, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "add" {
		return fmt.Errorf("%w: %s add [--expires 90d] NAME", errUsage, kind)
	}
	fs := newFlagSet(string(kind)+" add", stderr)
	db := dbFlag(fs)
	expires := expiresFlag(fs)
	names, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return err
	}
	name := strings.TrimSpace(strings.Join(names, " "))
	if name == "" {
		return fmt.Errorf("%w: %s add needs a NAME", errUsage, kind)
	}
	validFor, err := parseExpires(*expires)
	if err != nil {
		return err
	}
	return addCredential(ctx, *db, "", service.CredentialRequest{Kind: kind, Name: name, ValidFor: validFor}, stdout, stderr, nil)
}

// runClerk: `lokero clerk add --outlet LOCATION_ID NAME` prints the
// clerk's token, bound to that outlet (a POSTOFFICE or PICKUPPOINT), as
// the last line of stdout.
func runClerk(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = "clerk add --outlet LOCATION_ID [--expires 90d] NAME"
	if len(args) == 0 || args[0] != "add" {
		return fmt.Errorf("%w: %s", errUsage, use)
	}
	fs := newFlagSet("clerk add", stderr)
	db := dbFlag(fs)
	expires := expiresFlag(fs)
	outlet := fs.String("outlet", "", "the outlet (a POSTOFFICE or PICKUPPOINT) the clerk works at; the token acts there only")
	names, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return err
	}
	name := strings.TrimSpace(strings.Join(names, " "))
	if name == "" || strings.TrimSpace(*outlet) == "" {
		return fmt.Errorf("%w: %s (both --outlet and NAME are needed)", errUsage, use)
	}
	validFor, err := parseExpires(*expires)
	if err != nil {
		return err
	}
	return addCredential(ctx, *db, "", service.CredentialRequest{Kind: lokero.KindClerk, Name: name,
		LocationID: strings.TrimSpace(*outlet), ValidFor: validFor}, stdout, stderr, nil)
}

// runLocker: `lokero locker provision LOCATION_ID` prints the locker
// device's secret as the last line of stdout. The locker's older device
// credentials are revoked unless --keep-old is given. With --mosquitto DIR
// it also writes the locker's line of DIR/passwd and the rules of DIR/acl
// for a Mosquitto broker; with --centre (and no LOCATION_ID) it adds the
// centre's user to DIR/passwd-centre instead, the password file of the
// centre's own listener (mqtttest.Conf, docs/device-protocol.md).
func runLocker(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "run" {
		return runLockerRun(ctx, args[1:], os.Stdin, stdout, stderr)
	}
	if len(args) == 0 || args[0] != "provision" {
		return fmt.Errorf("%w: locker provision [--expires 90d] [--keep-old] [--mosquitto DIR] [--code-secret-file FILE] LOCATION_ID | locker provision --mosquitto DIR --centre | %s", errUsage, lockerRunUsage)
	}
	fs := newFlagSet("locker provision", stderr)
	db := dbFlag(fs)
	expires := expiresFlag(fs)
	secretFile := secretFileFlag(fs)
	keepOld := fs.Bool("keep-old", false, "keep the locker's older device credentials working (by default a new one revokes them)")
	mosquittoDir := fs.String("mosquitto", "", "also give a Mosquitto broker the locker: its password line in DIR/passwd (replacing an older one) and the device protocol's rules in DIR/acl; send Mosquitto SIGHUP after")
	centre := fs.Bool("centre", false, "with --mosquitto: add the centre's user ("+centreUser+") to DIR/passwd-centre, the centre's listener's password file, with a new password, printed last, for lokero serve --mqtt tcp://"+centreUser+":PASSWORD@host:PORT (no LOCATION_ID)")
	ids, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return err
	}
	if *centre {
		if *mosquittoDir == "" || len(ids) != 0 {
			return fmt.Errorf("%w: locker provision --mosquitto DIR --centre takes no LOCATION_ID", errUsage)
		}
		return provisionMosquittoCentre(*mosquittoDir, stdout)
	}
	if len(ids) != 1 {
		return fmt.Errorf("%w: locker provision takes exactly one LOCATION_ID", errUsage)
	}
	validFor, err := parseExpires(*expires)
	if err != nil {
		return err
	}
	var withToken func(string) error
	if *mosquittoDir != "" && strings.HasPrefix(ids[0], device.CentreClientIDPrefix) {
		// Mosquitto's lockers' listener makes a locker's username, its
		// location ID, its client ID, which must not be a centre's.
		return fmt.Errorf("%w: locker provision --mosquitto: location ID %q starts with %q, the centre's client IDs'", errUsage, ids[0], device.CentreClientIDPrefix)
	}
	if *mosquittoDir != "" && ids[0] == centreUser {
		// Both listeners read one ACL file, which gives the user
		// centreUser every locker's topics: a locker of that name would
		// get them too.
		return fmt.Errorf("%w: locker provision --mosquitto: location ID %q is the centre's Mosquitto user, which may read and write every locker's topics", errUsage, ids[0])
	}
	if *mosquittoDir != "" {
		withToken = func(token string) error { return provisionMosquittoLocker(*mosquittoDir, ids[0], token, stdout) }
	}
	return addCredential(ctx, *db, *secretFile, service.CredentialRequest{Kind: lokero.KindDevice, Name: "device of " + ids[0],
		LocationID: ids[0], ValidFor: validFor, RevokeOlder: !*keepOld}, stdout, stderr, withToken)
}

// provisionMosquittoLocker writes a locker's password line and the ACL.
func provisionMosquittoLocker(dir, locationID, token string, stdout io.Writer) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("mosquitto: %w", err)
	}
	if err := device.SetMosquittoPassword(filepath.Join(dir, "passwd"), locationID, token); err != nil {
		return fmt.Errorf("mosquitto: %w", err)
	}
	if err := writeMosquittoACL(dir); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "mosquitto: %s in %s and %s (send mosquitto SIGHUP to read them)\n", locationID,
		filepath.Join(dir, "passwd"), filepath.Join(dir, "acl"))
	return nil
}

// provisionMosquittoCentre gives the centre's user a new password at
// Mosquitto and prints it last.
func provisionMosquittoCentre(dir string, stdout io.Writer) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("mosquitto: %w", err)
	}
	var secret [24]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return err
	}
	pass := hex.EncodeToString(secret[:])
	if err := device.SetMosquittoPassword(filepath.Join(dir, "passwd-centre"), centreUser, pass); err != nil {
		return fmt.Errorf("mosquitto: %w", err)
	}
	if err := writeMosquittoACL(dir); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "mosquitto: %s in %s (send mosquitto SIGHUP to read it); lokero serve --mqtt tcp://%s:PASSWORD@HOST:PORT (the centre's listener) with the password (shown once):\n%s\n",
		centreUser, filepath.Join(dir, "passwd-centre"), centreUser, pass)
	return nil
}

// writeMosquittoACL writes DIR/acl, and an empty password file for the
// lockers' or the centre's listener where there is none yet: Mosquitto
// does not start without every file its configuration names.
func writeMosquittoACL(dir string) error {
	if err := os.WriteFile(filepath.Join(dir, "acl"), []byte(device.MosquittoACL(centreUser)), 0o600); err != nil {
		return fmt.Errorf("mosquitto: %w", err)
	}
	for _, name := range []string{"passwd", "passwd-centre"} {
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("mosquitto: %w", err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("mosquitto: %w", err)
		}
	}
	return nil
}

// addCredential issues a credential and prints it, its token last;
// withToken, when not nil, is given the token before it is printed.
// A device's credential keeps the key of its board, made under the code
// secret (secretFile, or where serve finds it).
func addCredential(ctx context.Context, db, secretFile string, req service.CredentialRequest, stdout, stderr io.Writer, withToken func(token string) error) error {
	p, err := openPlatform(ctx, db, calendar.Default(), clock(), newLogger(stderr))
	if err != nil {
		return err
	}
	defer p.Close()
	if req.Kind == lokero.KindDevice {
		if err := p.useCodes(ctx, db, secretFile, stderr); err != nil {
			return err
		}
	}
	if err := p.dir.Reload(ctx); err != nil {
		return err
	}
	c, token, revoked, err := p.lockers.IssueCredential(ctx, req)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s %s (%s) added", c.Kind, c.Name, c.ID)
	if c.Kind == lokero.KindClerk {
		fmt.Fprintf(stdout, " at %s", c.LocationID)
	}
	if !c.ExpiresAt.IsZero() {
		fmt.Fprintf(stdout, "; expires %s", showTime(c.ExpiresAt))
	}
	fmt.Fprintln(stdout)
	if c.Kind == lokero.KindDevice {
		if req.RevokeOlder {
			fmt.Fprintf(stdout, "revoked %d older device credential(s) of %s%s\n", len(revoked), c.LocationID, listIDs(revoked))
		} else {
			fmt.Fprintf(stdout, "kept the older device credentials of %s working (--keep-old)\n", c.LocationID)
		}
	}
	if withToken != nil {
		if err := withToken(token); err != nil {
			return err
		}
	}
	fmt.Fprintln(stdout, "its token (shown once; send it as Authorization: Bearer <token>):")
	fmt.Fprintln(stdout, token)
	return nil
}

// listIDs is ": id, id" for credentials, or "" for none.
func listIDs(list []lokero.Credential) string {
	if len(list) == 0 {
		return ""
	}
	ids := make([]string, len(list))
	for i, c := range list {
		ids[i] = c.ID
	}
	return ": " + strings.Join(ids, ", ")
}

const credentialUsage = `credential list [--db ...] [--kind KIND] [--location LOCATION_ID] [--json]
       credential revoke [--db ...] ID
       credential rotate [--db ...] [--code-secret-file FILE] ID   (prints the new token last)`

// runCredentialAdmin: `lokero credential list|revoke|rotate`.
func runCredentialAdmin(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: %s", errUsage, credentialUsage)
	}
	sub, args := args[0], args[1:]
	fs := newFlagSet("credential "+sub, stderr)
	db := dbFlag(fs)
	var kind, location, secretFile *string
	var asJSON *bool
	switch sub {
	case "list":
		kind = fs.String("kind", "", "only credentials of this kind: courier, device, operator or clerk")
		location = fs.String("location", "", "only the devices of this locker, or the clerks of this outlet")
		asJSON = fs.Bool("json", false, "print JSON (for machines) instead of a table")
	case "revoke":
	case "rotate":
		secretFile = secretFileFlag(fs)
	default:
		return fmt.Errorf("%w: unknown credential command %q: %s", errUsage, sub, credentialUsage)
	}
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	switch {
	case sub == "list" && len(rest) > 0:
		return fmt.Errorf("%w: credential list takes no arguments (filter with --kind and --location); got %q", errUsage, rest)
	case sub != "list" && len(rest) != 1:
		return fmt.Errorf("%w: credential %s takes exactly one credential ID (see lokero credential list)", errUsage, sub)
	}
	p, err := openPlatform(ctx, *db, calendar.Default(), clock(), newLogger(stderr))
	if err != nil {
		return err
	}
	defer p.Close()
	switch sub {
	case "list":
		list, err := p.lockers.Credentials(ctx, lokero.CredentialFilter{Kind: lokero.CredentialKind(*kind), LocationID: *location})
		if err != nil {
			return err
		}
		if *asJSON {
			return printCredentialsJSON(stdout, list, p.lockers.Now())
		}
		return printCredentials(stdout, list, p.lockers.Now())
	case "revoke":
		c, err := p.lockers.RevokeCredential(ctx, rest[0], false)
		if err != nil {
			return unknownCredential(err, rest[0], *db)
		}
		fmt.Fprintf(stdout, "%s %s (%s) revoked at %s: its token no longer works\n", c.Kind, c.Name, c.ID, showTime(c.RevokedAt))
		if c.Kind == lokero.KindOperator {
			ops, err := p.lockers.Credentials(ctx, lokero.CredentialFilter{Kind: lokero.KindOperator})
			if err != nil {
				return err
			}
			active := 0
			for _, op := range ops {
				if op.State(p.lockers.Now()) == lokero.CredentialActive {
					active++
				}
			}
			if active == 0 {
				fmt.Fprintln(stderr, "lokero: warning: no active operator credential is left; `lokero operator add NAME` makes one")
			}
		}
		return nil
	default: // rotate
		if old, err := p.lockers.Credential(ctx, rest[0]); err == nil && old.Kind == lokero.KindDevice {
			if err := p.useCodes(ctx, *db, *secretFile, stderr); err != nil {
				return err
			}
		}
		c, token, err := p.lockers.RotateCredential(ctx, rest[0])
		if err != nil {
			return unknownCredential(err, rest[0], *db)
		}
		fmt.Fprintf(stdout, "%s %s (%s) rotated: the old token no longer works", c.Kind, c.Name, c.ID)
		if !c.ExpiresAt.IsZero() {
			fmt.Fprintf(stdout, "; the new one expires %s", showTime(c.ExpiresAt))
		}
		fmt.Fprintln(stdout)
		fmt.Fprintln(stdout, "its new token (shown once; send it as Authorization: Bearer <token>):")
		fmt.Fprintln(stdout, token)
		return nil
	}
}

// unknownCredential words a credential ID that is not there so that the
// reader knows where to look; other errors pass as they are.
func unknownCredential(err error, id, db string) error {
	if lokero.ErrorCode(err) == lokero.ENOTFOUND {
		return fmt.Errorf("no credential with id %q in %s (lokero credential list shows them)", id, redactDSN(db))
	}
	return err
}

// showTime is how the commands print a time: UTC, to the second.
func showTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") }

// showOptional is showTime, or "-" for the zero time.
func showOptional(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return showTime(t)
}

// printable replaces control characters (a tab would break the table).
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// printCredentials prints the credentials as a table, one a line.
func printCredentials(w io.Writer, list []lokero.Credential, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tNAME\tLOCKER\tSTATE\tCREATED\tEXPIRES\tLAST USED\tREVOKED")
	for _, c := range list {
		locker := c.LocationID
		if locker == "" {
			locker = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", printable(c.ID), c.Kind, printable(c.Name), printable(locker),
			c.State(now), showTime(c.CreatedAt), showOptional(c.ExpiresAt), showOptional(c.LastUsedAt), showOptional(c.RevokedAt))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d credential(s)\n", len(list))
	return err
}

// printCredentialsJSON prints {"credentials": [...]}.
func printCredentialsJSON(w io.Writer, list []lokero.Credential, now time.Time) error {
	out := make([]api.CredentialJSON, len(list))
	for i, c := range list {
		out[i] = api.NewCredentialJSON(c, now)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(map[string]any{"credentials": out})
}
