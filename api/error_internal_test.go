package api

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestWriteErrorLogsNoCapability: a server error on a QR page logs its
// route, not its link, which opens a compartment as the code does; other
// paths are logged as they are.
func TestWriteErrorLogsNoCapability(t *testing.T) {
	t.Parallel()
	tests := []struct{ path, logged, secret string }{
		{"/q/JJ123456785FI.AbCdEfGhIjKlMnOp", "/q/{link}", "AbCdEfGhIjKlMnOp"},
		{"/q/JJ123456785FI.AbCdEfGhIjKlMnOp.png", "/q/{link}", "AbCdEfGhIjKlMnOp"},
		{"/v1/shipments/SH-1", "/v1/shipments/SH-1", ""},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		log := slog.New(slog.NewTextHandler(&buf, nil))
		rec := httptest.NewRecorder()
		writeError(rec, httptest.NewRequest("GET", tt.path, nil), log, errors.New("store down"))
		if rec.Code != 500 {
			t.Fatalf("%s: status %d, want 500", tt.path, rec.Code)
		}
		out := buf.String()
		if !strings.Contains(out, "path="+tt.logged) || tt.secret != "" && strings.Contains(out, tt.secret) {
			t.Errorf("%s: logged %q; want path=%s and not %q", tt.path, out, tt.logged, tt.secret)
		}
	}
}
