package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/lokero/lokero/locker"
	"github.com/lokero/lokero/service"
)

// The opening-code secret is a keyring: one or more keys, newest first,
// each written "GENERATION:HEX" (a bare HEX, the format before keyrings,
// is generation 0), separated by new lines, spaces or commas; '#' starts a
// comment. New codes use the newest key; codes made under an older one
// keep working until `lokero secret retire` drops it. The database keeps
// the fingerprints of the keys (settingFingerprints), never the keys, and
// a server whose secret lacks one of them refuses to start: its waiting
// parcels' codes would all be wrong.

// settingFingerprints is the setting that holds the fingerprints of the
// secret's keys, newest first, separated by spaces (locker.Codes.Fingerprints).
const settingFingerprints = "code_secret_fingerprints"

// settingStore is what the secret needs of a database.
type settingStore interface {
	Setting(ctx context.Context, name string) (string, bool, error)
	SetSetting(ctx context.Context, name, value string) error
	InitSetting(ctx context.Context, name, value string) (string, error)
}

// errPostgresSecret: PostgreSQL's instances must be given their one secret.
var errPostgresSecret = errors.New("code secret: set LOKERO_CODE_SECRET (hex keys, at least 32 bytes, the same on every instance) or --code-secret-file for PostgreSQL")

// checkSecretGiven fails early, before the database is opened, where no
// secret can be found: PostgreSQL without LOKERO_CODE_SECRET or a file.
func checkSecretGiven(dsn, file string) error {
	if isPostgres(dsn) && file == "" && os.Getenv("LOKERO_CODE_SECRET") == "" {
		return errPostgresSecret
	}
	return nil
}

// secretSource is where a server's secret comes from.
type secretSource struct {
	path string // the file the keyring is in; "" when it comes from LOKERO_CODE_SECRET
	// beside is true for the file made beside a SQLite database.
	beside bool
}

func (s secretSource) String() string {
	if s.path == "" {
		return "LOKERO_CODE_SECRET"
	}
	return s.path
}

// secretOptions say what loadSecret may do.
type secretOptions struct {
	production bool // refuse to make a secret or use a file others may read
	mayCreate  bool // make the secret beside a SQLite database that has none
}

// loadSecret loads the server's opening-code secret — from file when one
// is named, else LOKERO_CODE_SECRET, else (SQLite only) the file beside the
// database — and checks it against the fingerprints the database keeps. A
// new secret is made (beside a SQLite database) only for a database that
// keeps no fingerprints yet, and its fingerprints are stored then. A
// secret that lacks a key the database knows is refused with what to do;
// keys the database does not know yet (added by hand, or a rotation cut
// short) are recorded.
func loadSecret(ctx context.Context, st settingStore, dsn, file string, opts secretOptions, log *slog.Logger) (*locker.Codes, []locker.Key, secretSource, error) {
	stored, has, err := st.Setting(ctx, settingFingerprints)
	if err != nil {
		return nil, nil, secretSource{}, fmt.Errorf("code secret: %w", err)
	}
	var (
		src secretSource
		raw string
	)
	switch env := os.Getenv("LOKERO_CODE_SECRET"); {
	case file != "":
		src = secretSource{path: file}
	case env != "":
		raw = env
	case isPostgres(dsn):
		return nil, nil, src, errPostgresSecret
	default:
		src = secretSource{path: dsn + ".secret", beside: true}
	}
	if src.path != "" {
		b, err := os.ReadFile(src.path)
		switch {
		case errors.Is(err, fs.ErrNotExist) && src.beside && !has && opts.production:
			return nil, nil, src, fmt.Errorf("code secret: %s does not exist and --production does not make one on the fly: make it first (lokero serve without --production makes it on its first start) or give one with --code-secret-file, and keep a copy outside the database's backup", src.path)
		case errors.Is(err, fs.ErrNotExist) && src.beside && !has && opts.mayCreate:
			if b, err = makeSecretFile(src.path); err != nil {
				return nil, nil, src, err
			}
			log.Info("made a new opening-code secret for a new database", "file", src.path)
		case errors.Is(err, fs.ErrNotExist) && has:
			return nil, nil, src, fmt.Errorf("code secret: %s is missing, but the database was served with a secret (it keeps its fingerprint): "+
				"restore the file from where you keep it; a new secret would make every waiting parcel's opening code wrong, so lokero does not make one", src.path)
		case err != nil:
			return nil, nil, src, fmt.Errorf("code secret: %w", err)
		}
		if err := checkSecretFileMode(src.path, opts.production, log); err != nil {
			return nil, nil, src, err
		}
		raw = string(b)
	}
	keys, err := parseKeyring(raw)
	if err != nil {
		return nil, nil, src, fmt.Errorf("code secret in %s: %w", src, err)
	}
	codes, err := locker.NewKeyring(keys...)
	if err != nil {
		return nil, nil, src, fmt.Errorf("code secret in %s: %w", src, err)
	}
	ours := codes.Fingerprints()
	if !has {
		// The first start on this database: record the secret. Of
		// instances that start at once, the first to store wins and
		// the others must agree with it.
		if stored, err = st.InitSetting(ctx, settingFingerprints, strings.Join(ours, " ")); err != nil {
			return nil, nil, src, fmt.Errorf("code secret: %w", err)
		}
	}
	storedFPs := strings.Fields(stored)
	var missing []string
	for _, fp := range storedFPs {
		if !slices.Contains(ours, fp) {
			gen, _, _ := strings.Cut(fp, ":")
			missing = append(missing, gen)
		}
	}
	if len(missing) > 0 {
		return nil, nil, src, fmt.Errorf("code secret: the secret in %s does not match the database: the database's opening codes were made under key generation(s) %s, which it does not hold "+
			"(the secret was lost, replaced or changed). Serving would make every waiting parcel's code wrong: give the secret the database was served with "+
			"(restore the file, or set LOKERO_CODE_SECRET as before); to change it, use `lokero secret rotate`", src, strings.Join(missing, ", "))
	}
	if len(ours) != len(storedFPs) {
		if err := st.SetSetting(ctx, settingFingerprints, strings.Join(ours, " ")); err != nil {
			return nil, nil, src, fmt.Errorf("code secret: %w", err)
		}
		log.Warn("the opening-code secret holds keys the database did not know: recorded", "generations", codes.Generations())
	}
	return codes, keys, src, nil
}

// parseKeyring reads a keyring: "GENERATION:HEX" or a bare HEX (generation
// 0) entries, newest first.
func parseKeyring(raw string) ([]locker.Key, error) {
	var keys []locker.Key
	for _, line := range strings.Split(raw, "\n") {
		line, _, _ = strings.Cut(line, "#")
		for _, entry := range strings.FieldsFunc(line, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\r' }) {
			gen, hexKey := 0, entry
			if g, k, ok := strings.Cut(entry, ":"); ok {
				n, err := strconv.Atoi(g)
				if err != nil {
					return nil, fmt.Errorf("a key's generation must be a number before ':'; got %q", g)
				}
				gen, hexKey = n, k
			}
			secret, err := hex.DecodeString(hexKey)
			if err != nil {
				return nil, fmt.Errorf("not hex: %w", err)
			}
			keys = append(keys, locker.Key{Generation: gen, Secret: secret})
		}
	}
	if len(keys) == 0 {
		return nil, errors.New("no key: write at least one key in hex (32 bytes or more)")
	}
	return keys, nil
}

// formatKeyring writes keys in the form parseKeyring reads, one a line.
func formatKeyring(keys []locker.Key) string {
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%d:%s\n", k.Generation, hex.EncodeToString(k.Secret))
	}
	return b.String()
}

// newKey returns a random key of generation gen.
func newKey(gen int) (locker.Key, error) {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return locker.Key{}, fmt.Errorf("code secret: %w", err)
	}
	return locker.Key{Generation: gen, Secret: secret}, nil
}

// makeSecretFile makes a new secret of one key in a new file (0600).
func makeSecretFile(path string) ([]byte, error) {
	k, err := newKey(0)
	if err != nil {
		return nil, err
	}
	b := []byte(hex.EncodeToString(k.Secret) + "\n")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("code secret: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("code secret: %w", err)
	}
	// On the disk before any code is made with it: a secret lost to a
	// power cut would leave every code and sealed secret unreadable.
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("code secret: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("code secret: %w", err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("code secret: %w", err)
	}
	return b, nil
}

// syncDir makes the entries just made or renamed in dir durable (a file's
// own sync does not cover its name in the directory).
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// writeKeyring replaces the keyring file at path with keys, atomically
// and durably (a new 0600 file, synced, renamed over it, the directory
// synced). Any step that fails is the
// error: a rotation whose new key is not on disk must not go on.
func writeKeyring(path string, keys []locker.Key) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".new*")
	if err != nil {
		return fmt.Errorf("code secret: %w", err)
	}
	defer os.Remove(tmp.Name())
	err = tmp.Chmod(0o600)
	if err == nil {
		_, err = io.WriteString(tmp, formatKeyring(keys))
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		return fmt.Errorf("code secret: write %s: %w", path, err)
	}
	return nil
}

// checkSecretFileMode takes the group's and others' rights away from the
// secret file, with a warning; in production it refuses instead.
func checkSecretFileMode(path string, production bool, log *slog.Logger) error {
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("code secret: %w", err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		if production {
			return fmt.Errorf("code secret: %s is readable by others than its owner (mode %04o): --production refuses it; chmod 600 it", path, perm)
		}
		if err := os.Chmod(path, perm&^0o077); err != nil {
			return fmt.Errorf("code secret: tighten %s: %w", path, err)
		}
		log.Warn("the code secret was readable by others than its owner: made 0600", "file", path, "was", fmt.Sprintf("%04o", perm))
	}
	return nil
}

// runSecret: `lokero secret rotate|retire`.
func runSecret(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "rotate" && args[0] != "retire") {
		return fmt.Errorf("%w: secret rotate|retire [--db ...] [--code-secret-file FILE]", errUsage)
	}
	fs := newFlagSet("secret "+args[0], stderr)
	db := dbFlag(fs)
	file := fs.String("code-secret-file", envOr("LOKERO_CODE_SECRET_FILE", ""), "the file with the secret (default: LOKERO_CODE_SECRET, or for SQLite the file beside the database)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: secret %s takes no arguments, got %q", errUsage, args[0], fs.Args())
	}
	log := newLogger(stderr)
	st, err := openStore(ctx, *db)
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer st.Close()
	codes, keys, src, err := loadSecret(ctx, st, *db, *file, secretOptions{}, log)
	if err != nil {
		return err
	}
	if args[0] == "rotate" {
		return rotateSecret(ctx, st, keys, src, stdout)
	}
	return retireSecret(ctx, st, codes, keys, src, stdout)
}

// rotateSecret adds a new key before the others: new codes use it, codes
// made under the older keys keep working.
func rotateSecret(ctx context.Context, st store, keys []locker.Key, src secretSource, stdout io.Writer) error {
	k, err := newKey(keys[0].Generation + 1)
	if err != nil {
		return err
	}
	ring := append([]locker.Key{k}, keys...)
	codes, err := locker.NewKeyring(ring...)
	if err != nil {
		return err
	}
	if src.path == "" {
		// The environment is the deployment's to change: each instance
		// records the new key on its first start with it.
		fmt.Fprintf(stdout, "a new key, generation %d; set LOKERO_CODE_SECRET on every instance to the value below and restart them all:\n", k.Generation)
		fmt.Fprintln(stdout, "an instance still on the old value does not know the codes the new key makes.")
		fmt.Fprintln(stdout, strings.Join(strings.Fields(formatKeyring(ring)), ","))
		return nil
	}
	// The file first: a crash before the database is told leaves a file
	// with one more key, which the next start records.
	if err := writeKeyring(src.path, ring); err != nil {
		return err
	}
	if err := st.SetSetting(ctx, settingFingerprints, strings.Join(codes.Fingerprints(), " ")); err != nil {
		return fmt.Errorf("code secret: %w", err)
	}
	fmt.Fprintf(stdout, "rotated the code secret in %s: new codes use key generation %d; generation(s) %v kept for the parcels waiting with their codes.\n",
		src.path, k.Generation, codes.Generations()[1:])
	fmt.Fprintln(stdout, "restart lokero serve to use it; run `lokero secret retire` once the parcels that were waiting have been picked up or have expired.")
	return nil
}

// retireSecret drops every key but the newest, once no parcel ready for
// pickup has a code made under an older one.
func retireSecret(ctx context.Context, st store, codes *locker.Codes, keys []locker.Key, src secretSource, stdout io.Writer) error {
	if len(keys) == 1 {
		fmt.Fprintf(stdout, "the code secret has one key (generation %d): nothing to retire\n", keys[0].Generation)
		return nil
	}
	inUse, err := st.CodesInUse(ctx)
	if err != nil {
		return err
	}
	policy, first, needOld := locker.DefaultPolicy(), codes.FirstVersion(), 0
	for _, c := range inUse {
		if v, _, ok := codes.Version(c.LocationID, c.ShipmentID, policy.CodeLength(c.LocationType), c.Hash); !ok || v < first {
			needOld++
		}
	}
	if needOld > 0 {
		return fmt.Errorf("code secret: %d parcel(s) ready for pickup have codes made under an older key: retire it once they are picked up or expire (or an operator rotates their codes)", needOld)
	}
	newest, err := locker.NewKeyring(keys[0])
	if err != nil {
		return err
	}
	// The webhooks' secrets are sealed under the keys: sealed again under
	// the newest before the others go.
	hooks := service.NewWebhooks(st, nil, nil, nil, nil, nil, nil)
	hooks.SealSecrets(codes)
	resealed, err := hooks.Reseal(ctx)
	if err != nil {
		return fmt.Errorf("code secret: the webhooks' secrets could not all be sealed under the newest key, so the older keys stay: %w", err)
	}
	if resealed > 0 {
		fmt.Fprintf(stdout, "sealed %d webhook secret(s) again under key generation %d\n", resealed, keys[0].Generation)
	}
	// So are the network's private keys (the QR codes' and Web Push's).
	if resealed, err = resealSettings(ctx, st, codes); err != nil {
		return fmt.Errorf("code secret: the network's signing keys could not be sealed under the newest key, so the older keys stay: %w", err)
	}
	if resealed > 0 {
		fmt.Fprintf(stdout, "sealed %d signing key(s) again under key generation %d\n", resealed, keys[0].Generation)
	}
	// So are the devices' board keys.
	lockers := service.NewLockers(st, nil, nil, nil, nil, codes, newLogger(io.Discard))
	if resealed, err = lockers.ResealBoardKeys(ctx); err != nil {
		return fmt.Errorf("code secret: the lockers' board keys could not all be sealed under the newest key, so the older keys stay: %w", err)
	}
	if resealed > 0 {
		fmt.Fprintf(stdout, "sealed %d locker board key(s) again under key generation %d\n", resealed, keys[0].Generation)
	}
	// The database first: a crash before the file is rewritten leaves
	// a file with an old key more, which the next start records again.
	if err := st.SetSetting(ctx, settingFingerprints, strings.Join(newest.Fingerprints(), " ")); err != nil {
		return fmt.Errorf("code secret: %w", err)
	}
	if src.path == "" {
		fmt.Fprintf(stdout, "retired key generation(s) %v; set LOKERO_CODE_SECRET on every instance to:\n", codes.Generations()[1:])
		fmt.Fprintln(stdout, strings.TrimSpace(formatKeyring(keys[:1])))
		return nil
	}
	if err := writeKeyring(src.path, keys[:1]); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "retired key generation(s) %v from %s; restart lokero serve\n", codes.Generations()[1:], src.path)
	return nil
}

// sealPurposeSetting is the purpose (locker.Codes.Seal) of the settings
// kept sealed under the code secret, each with its name as additional data.
const sealPurposeSetting = "setting"

// sealedSettings are the settings that hold the network's private keys:
// the QR codes' signing key (with it anyone could make a token that opens
// any waiting parcel's compartment at the scanner) and the VAPID key of Web
// Push. Like the webhooks' secrets they are kept sealed under the code
// secret, so that a copy of the database alone opens nothing.
var sealedSettings = []string{settingQRKey, settingVAPIDKey}

// sealedSetting returns the setting name opened with codes. Where there is
// none yet it stores fresh() sealed (of several instances starting at once
// the first to store wins, and all return its value). A value kept in
// clear (before sealing began) or sealed under an older key is sealed again
// under the newest; one that does not open is an error.
func sealedSetting(ctx context.Context, st settingStore, codes *locker.Codes, name string, fresh func() (string, error)) (string, error) {
	value, err := fresh()
	if err != nil {
		return "", fmt.Errorf("setting %s: %w", name, err)
	}
	sealed, err := codes.Seal(sealPurposeSetting, []byte(name), []byte(value))
	if err != nil {
		return "", fmt.Errorf("setting %s: %w", name, err)
	}
	stored, err := st.InitSetting(ctx, name, sealed)
	if err != nil {
		return "", err
	}
	plain, err := codes.Open(sealPurposeSetting, []byte(name), stored)
	if err != nil {
		return "", fmt.Errorf("setting %s: %w", name, err)
	}
	if _, err := resealSetting(ctx, st, codes, name, stored, plain); err != nil {
		return "", err
	}
	return string(plain), nil
}

// resealSetting seals the setting name, stored as stored and holding
// plain, under the newest key of codes unless it is sealed so already; it
// reports whether it wrote.
func resealSetting(ctx context.Context, st settingStore, codes *locker.Codes, name, stored string, plain []byte) (bool, error) {
	if codes.SealedUnderNewest(stored) {
		return false, nil
	}
	sealed, err := codes.Seal(sealPurposeSetting, []byte(name), plain)
	if err != nil {
		return false, fmt.Errorf("setting %s: %w", name, err)
	}
	if err := st.SetSetting(ctx, name, sealed); err != nil {
		return false, err
	}
	return true, nil
}

// resealSettings seals every one of sealedSettings that is stored again
// under the newest key of codes, and returns how many it wrote; a setting
// that does not open with codes is an error.
func resealSettings(ctx context.Context, st settingStore, codes *locker.Codes) (int, error) {
	n := 0
	for _, name := range sealedSettings {
		stored, ok, err := st.Setting(ctx, name)
		if err != nil {
			return n, err
		}
		if !ok {
			continue
		}
		plain, err := codes.Open(sealPurposeSetting, []byte(name), stored)
		if err != nil {
			return n, fmt.Errorf("setting %s: %w", name, err)
		}
		wrote, err := resealSetting(ctx, st, codes, name, stored, plain)
		if err != nil {
			return n, err
		}
		if wrote {
			n++
		}
	}
	return n, nil
}
