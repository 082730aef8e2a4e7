// Package zbartest reads QR codes in tests with zbar's zbarimg (Debian's
// zbar-tools), a reader not ours. Without it a test skips, or fails where
// CI=true.
package zbartest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Scan returns the text of the QR code in a PNG image.
func Scan(t testing.TB, png []byte) string {
	t.Helper()
	bin, err := exec.LookPath("zbarimg")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("zbarimg is required in CI (package zbar-tools)")
		}
		t.Skip("zbarimg not installed (apt-get install zbar-tools)")
	}
	file := filepath.Join(t.TempDir(), "qr.png")
	if err := os.WriteFile(file, png, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "--quiet", "--raw", "-Sbinary", file).Output()
	if err != nil {
		t.Fatalf("zbarimg: %v (%s)", err, out)
	}
	return strings.TrimRight(string(out), "\r\n")
}
