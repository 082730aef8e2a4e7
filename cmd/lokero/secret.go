package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/lokero/lokero/locker"
)

// codeSecret loads the server secret opening codes are hashed with: from
// a file when one is named, else LOKERO_CODE_SECRET (hex), else — for a
// SQLite database only — from a file beside it, made on first start. Every
// instance on one PostgreSQL database must share the secret, so there it
// has to be given.
func codeSecret(dsn, file string) (*locker.Codes, error) {
	raw := os.Getenv("LOKERO_CODE_SECRET")
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("code secret: %w", err)
		}
		raw = string(b)
	} else if raw == "" {
		if isPostgres(dsn) {
			return nil, errors.New("code secret: set LOKERO_CODE_SECRET (hex, at least 32 bytes, the same on every instance) or --code-secret-file for PostgreSQL")
		}
		path := dsn + ".secret"
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			var secret [32]byte
			if _, err := rand.Read(secret[:]); err != nil {
				return nil, fmt.Errorf("code secret: %w", err)
			}
			b = []byte(hex.EncodeToString(secret[:]) + "\n")
			if err := os.WriteFile(path, b, 0o600); err != nil {
				return nil, fmt.Errorf("code secret: %w", err)
			}
		} else if err != nil {
			return nil, fmt.Errorf("code secret: %w", err)
		}
		raw = string(b)
	}
	secret, err := hex.DecodeString(strings.TrimSpace(raw))
	if err != nil {
		return nil, fmt.Errorf("code secret: not hex: %w", err)
	}
	return locker.NewCodes(secret)
}

// runSecret: `lokero secret ...`.
func runSecret(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return fmt.Errorf("%w: secret rotate", errUsage)
}
