package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/calendar"
	"github.com/lokero/lokero/locationfile"
	"github.com/lokero/lokero/postcode"
)

func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: import what? postcodes or locations", errUsage)
	}
	what := args[0]
	fs := newFlagSet("import "+what, stderr)
	db := dbFlag(fs)
	var force *bool
	if what == "postcodes" {
		force = fs.Bool("force", false, "replace the registry even when stored locations use postal codes the file lacks")
	}
	files, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return err
	}
	if len(files) != 1 {
		return fmt.Errorf("%w: import %s takes exactly one FILE", errUsage, what)
	}
	switch what {
	case "postcodes":
		return importPostcodes(ctx, *db, files[0], *force, stdout)
	case "locations":
		return importLocations(ctx, *db, files[0], stdout, stderr)
	default:
		return fmt.Errorf("%w: cannot import %q: postcodes or locations", errUsage, what)
	}
}

// importPostcodes replaces the postal code registry with file's codes.
// Unless force, it refuses (and writes nothing) when stored locations use
// codes the file lacks: those points could no longer be changed (a
// PATCH checks the postal code against the registry).
func importPostcodes(ctx context.Context, db, file string, force bool, stdout io.Writer) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	codes, err := postcode.ParseFile(f)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	st, err := openStore(ctx, db)
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer st.Close()
	if !force {
		if err := checkPostcodesInUse(ctx, st, codes); err != nil {
			return fmt.Errorf("%s: nothing imported: %w", file, err)
		}
	}
	if err := st.ReplacePostcodes(ctx, codes); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "imported %d postal codes from %s\n", len(codes), file)
	return nil
}

func importLocations(ctx context.Context, db, file string, stdout, stderr io.Writer) error {
	p, err := openPlatform(ctx, db, calendar.Default(), clock(), newLogger(stderr))
	if err != nil {
		return err
	}
	defer p.Close()
	// An import that closes points re-routes their parcels: the notices
	// and webhook deliveries it queues get their jobs in the same
	// transactions, for lokero serve to work.
	if _, err := p.queueJobs(ctx, db, newLogger(io.Discard)); err != nil {
		return err
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := p.dir.Reload(ctx); err != nil {
		return err
	}
	start := time.Now()
	locs, kept, err := locationfile.ReadKept(f, file, p.dir.ImportCheck(), func(rows int) {
		fmt.Fprintf(stderr, "read %d rows…\n", rows)
	})
	if err != nil {
		return fmt.Errorf("%s: nothing imported:\n%w", file, err)
	}
	// What the file leaves out of the operator's fields stays as set: as
	// stored when the import writes, read in its transaction, so that an
	// operator's PATCH meanwhile is kept too.
	res, err := p.dir.ImportKeeping(ctx, locs, func(i int, stored *lokero.Location) {
		kept[i].Apply(&locs[i], stored)
	})
	if err != nil {
		return fmt.Errorf("%s: nothing imported: %w", file, err)
	}
	fmt.Fprintf(stdout, "imported %d locations from %s in %s: %d new, %d updated\n",
		len(locs), file, time.Since(start).Round(time.Millisecond), res.Inserted, res.Updated)
	moved, err := p.shipments.RerouteAll(ctx)
	if err != nil {
		return fmt.Errorf("imported, but re-routing the shipments of closed points failed (import the file again to finish): %w", err)
	}
	if len(moved.Rerouted)+len(moved.Stranded) > 0 {
		fmt.Fprintf(stdout, "re-routed %d shipments from points closed on their delivery date; %d stranded (GET /v1/stranded)\n",
			len(moved.Rerouted), len(moved.Stranded))
		for _, sh := range moved.Stranded {
			fmt.Fprintf(stdout, "  stranded: %s (%s) at %s, delivery %s\n", sh.ID, sh.TrackingCode, sh.DestinationID, sh.DeliveryDate)
		}
	}
	return nil
}

// maxListedLocations is how many locations a refused postal code import
// lists; the rest are counted.
const maxListedLocations = 50

// checkPostcodesInUse returns an error listing the stored locations whose
// postal code is not among codes, or nil when there are none.
func checkPostcodesInUse(ctx context.Context, st lokero.LocationStore, codes []lokero.Postcode) error {
	known := make(map[string]bool, len(codes))
	for _, c := range codes {
		known[c.Code] = true
	}
	locs, err := st.Locations(ctx)
	if err != nil {
		return fmt.Errorf("read stored locations: %w", err)
	}
	var b strings.Builder
	missing := 0
	for _, l := range locs {
		if known[l.Postcode] {
			continue
		}
		if missing < maxListedLocations {
			fmt.Fprintf(&b, "\n  %s: postcode %s", l.ID, l.Postcode)
		}
		missing++
	}
	if missing == 0 {
		return nil
	}
	if missing > maxListedLocations {
		fmt.Fprintf(&b, "\n  … and %d more", missing-maxListedLocations)
	}
	return fmt.Errorf("%d stored %s use postal codes the file lacks (change or remove them first, or import with --force):%s",
		missing, pluralLocations(missing), b.String())
}

func pluralLocations(n int) string {
	if n == 1 {
		return "location"
	}
	return "locations"
}
