// Command lokero runs the lokero parcel-locker platform and administers it.
//
//	lokero serve                     start the platform (API on 127.0.0.1:8080, SQLite lokero.db)
//	lokero import postcodes FILE     replace the postal code registry (Posti's PCF .dat or JSON)
//	lokero import locations FILE     add or update pickup points (CSV or JSON)
//	lokero retailer|courier|operator add, locker provision, credential list|revoke|rotate
//	lokero secret rotate|retire      change the opening-code secret
//	lokero backup FILE               copy the SQLite database while it serves
//	lokero bench locations|http      measure search speed
//
// Every command takes --db (a file path for SQLite, a postgres:// URL for
// PostgreSQL), also read from LOKERO_DB: an admin command must name the
// server's database. `lokero help` lists every command.
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	// Embed the tz database so that the binary runs on a minimal machine
	// without /usr/share/zoneinfo (a scratch container, Windows). The root
	// package embeds it too, for lokero.Helsinki; this keeps the binary
	// self-contained whatever the packages do.
	_ "time/tzdata"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/postgres"
	"github.com/lokero/lokero/sqlite"
	"github.com/lokero/lokero/sqlstore"
)

func main() {
	if os.Getenv("GOGC") == "" {
		// lokero's heap is small (tens of MB: the directory and its
		// indexes) and its garbage is per request: collecting at 4× the
		// live heap instead of 2× halves the collections that show in
		// p99 latency, for a few tens of MB. GOGC in the environment wins.
		debug.SetGCPercent(400)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `lokero: a parcel-locker network platform

Usage:
  lokero serve [--addr 127.0.0.1:8080] [--db lokero.db] [--no-demo]
               [--production] [--tls-cert FILE --tls-key FILE | --behind-proxy]
               [--trusted-proxy CIDR,...] [--code-secret-file FILE] [--dev]
               [--retailer-share 25%] [--rate-limit CLASS=RATE/PERIOD:BURST,...]
               [--smtp smtp://user:pass@host:587] [--mail-from ADDRESS]
               [--sms kannel://user:pass@host:13013] [--public-url URL]
                                             start the platform (--help lists every flag)
  lokero import postcodes [--db ...] FILE    (Posti's PCF_*.dat or its JSON)
  lokero import locations [--db ...] FILE    (CSV or JSON; see docs/import.md)
  lokero retailer add [--db ...] [--free-returns] NAME   prints the retailer's API key
  lokero courier add [--db ...] [--expires 90d] NAME    prints a courier token
  lokero operator add [--db ...] [--expires 90d] NAME   prints an operator token
  lokero clerk add [--db ...] --outlet LOCATION_ID [--expires 90d] NAME
                                             prints a counter clerk's token, for that outlet only
  lokero locker provision [--db ...] [--expires 90d] [--keep-old] [--code-secret-file FILE] LOCATION_ID
                                             prints the locker device's token (revokes
                                             the locker's older ones unless --keep-old)
  lokero credential list [--db ...] [--kind KIND] [--location ID] [--json]
                                             every credential, when made and last used
  lokero credential revoke [--db ...] ID     the credential stops working at once
  lokero credential rotate [--db ...] [--code-secret-file FILE] ID     prints a new token; the old one stops working
  lokero secret rotate [--db ...] [--code-secret-file FILE]
                                             a new opening-code key; waiting parcels' codes keep working
  lokero secret retire [--db ...] [--code-secret-file FILE]
                                             drop the older keys once no waiting parcel needs them
  lokero backup [--db lokero.db] FILE        a consistent copy of the SQLite database while it serves
                                             (0600; never overwrites; PostgreSQL: use pg_dump)
  lokero bench locations [--n 100000]        in-memory index vs PostgreSQL's GiST
  lokero bench http [--duration 10s]         requests/s of GET /v1/locations
  lokero sim [--lockers N] [--parcels M] [--offline 10%] ...  a fleet of simulated lockers against serve --dev
  lokero help                                this text

--db is a SQLite file path or a postgres:// URL (env LOKERO_DB; default lokero.db
in the current directory). Every admin command (import, retailer, courier, operator,
clerk, locker, credential, secret, backup) must be given the server's database — the same
--db or LOKERO_DB as lokero serve — or its changes land in another database (a new
lokero.db wherever it runs) and the server never sees them: a key added there
answers 401.
--addr is the listen address (env LOKERO_ADDR). The code secret: LOKERO_CODE_SECRET
or --code-secret-file, or for SQLite the file lokero.db.secret beside the database
(0600; keep it out of the database's backups, and keep a copy: without it no waiting
parcel can be opened).
`

// errUsage marks a command line that could not be understood.
var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		// No command: the usage, as for help, and a usage error's code.
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		err = runServe(ctx, rest, stdout, stderr)
	case "import":
		err = runImport(ctx, rest, stdout, stderr)
	case "bench":
		err = runBench(ctx, rest, stdout, stderr)
	case "retailer":
		err = runRetailer(ctx, rest, stdout, stderr)
	case "courier", "operator":
		err = runCredential(ctx, lokero.CredentialKind(cmd), rest, stdout, stderr)
	case "clerk":
		err = runClerk(ctx, rest, stdout, stderr)
	case "locker":
		err = runLocker(ctx, rest, stdout, stderr)
	case "credential":
		err = runCredentialAdmin(ctx, rest, stdout, stderr)
	case "secret":
		err = runSecret(ctx, rest, stdout, stderr)
	case "backup":
		err = runBackup(ctx, rest, stdout, stderr)
	case "sim":
		err = runSim(ctx, rest, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		err = fmt.Errorf("%w: unknown command %q", errUsage, cmd)
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "lokero: %v\nRun 'lokero help' for usage.\n", err)
		return 2
	default:
		fmt.Fprintf(stderr, "lokero: %v\n", err)
		return 1
	}
}

// store is what the commands need of a database.
type store interface {
	lokero.LocationStore
	lokero.PostcodeStore
	lokero.ShipmentStore
	lokero.RetailerStore
	lokero.CredentialStore
	lokero.LockerStore
	lokero.PushStore
	lokero.DeviceStore
	lokero.WebhookStore
	SQL() *sql.DB
	SetEventHook(lokero.EventHook)
	Dialect() sqlstore.Dialect
	SetClock(lokero.Clock)
	SetJobQueue(sqlstore.JobQueue)
	Ping(ctx context.Context) error
	Close() error

	// Settings (the code secret's fingerprints, the dev clock's offset).
	Setting(ctx context.Context, name string) (string, bool, error)
	SetSetting(ctx context.Context, name, value string) error
	InitSetting(ctx context.Context, name, value string) (string, error)
	// CodesInUse lists the parcels waiting with opening codes.
	CodesInUse(ctx context.Context) ([]sqlstore.CodeInUse, error)
}

// openStore opens PostgreSQL for a postgres:// URL and SQLite otherwise.
func openStore(ctx context.Context, dsn string) (store, error) {
	if isPostgres(dsn) {
		return postgres.Open(ctx, dsn)
	}
	return sqlite.Open(ctx, dsn)
}

// isPostgres reports whether dsn names a PostgreSQL database.
func isPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// newFlagSet returns a flag set that reports errors instead of exiting.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags parses args, marking a bad command line as a usage error (the
// flag set has already printed what it takes).
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil && !errors.Is(err, flag.ErrHelp) {
		return fmt.Errorf("%w: %v", errUsage, err)
	} else if err != nil {
		return err
	}
	return nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// envBool reads a yes/no environment variable: 1, true, yes or on (any
// case) is true.
func envBool(name string) bool {
	switch strings.ToLower(strings.TrimSpace(os.Getenv(name))) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

// dbFlag adds the --db flag.
func dbFlag(fs *flag.FlagSet) *string {
	return fs.String("db", envOr("LOKERO_DB", "lokero.db"), "SQLite file path or postgres:// URL (env LOKERO_DB)")
}

// parseInterspersed parses flags that may come before or after the
// positional arguments ("import locations FILE --db x" as well as
// "import locations --db x FILE").
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

func newLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// clock is the wall clock; commands are where time enters the program
// (serve --dev hands the platform a test clock instead).
func clock() lokero.Clock { return lokero.SystemClock{} }
