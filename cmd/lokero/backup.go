package main

import (
	"context"
	"fmt"
	"io"
)

// runBackup: `lokero backup FILE`.
func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return fmt.Errorf("%w: backup FILE", errUsage)
}
