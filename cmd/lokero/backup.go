package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/lokero/lokero/sqlite"
)

// runBackup: `lokero backup [--db lokero.db] FILE` writes a consistent
// copy of the embedded SQLite database to a new file (0600), while the
// server runs. The code secret is not in it: keep the secret file apart
// (a backup and its secret together open every waiting parcel).
func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("backup", stderr)
	db := dbFlag(fs)
	files, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(files) != 1 {
		return fmt.Errorf("%w: backup takes exactly one FILE to write", errUsage)
	}
	return backup(ctx, *db, files[0], stdout)
}

func backup(ctx context.Context, dsn, file string, stdout io.Writer) error {
	if isPostgres(dsn) {
		return errors.New("backup: lokero backs up only its embedded SQLite database; back PostgreSQL up with its own tools, e.g. pg_dump --format=custom (or continuous archiving), and keep the code secret apart")
	}
	if _, err := os.Stat(dsn); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("backup: no database at %s (give the server's --db or LOKERO_DB)", dsn)
	} else if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if _, err := os.Lstat(file); err == nil {
		return fmt.Errorf("backup: %s exists: lokero does not overwrite it; name a new file", file)
	}
	st, err := sqlite.Open(ctx, dsn)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer st.Close()
	if err := st.Backup(ctx, file); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backed up %s to %s (mode 0600); the code secret is not in it: keep %s.secret (or your secret file) apart, you need it to restore\n", dsn, file, dsn)
	return nil
}
