//go:build tools

// This file pins the chosen dependencies that no package imports yet, so
// that helpers working in parallel never edit go.mod at the same time.
package lokero

import (
	_ "github.com/boombuler/barcode/code128"
	_ "github.com/go-pdf/fpdf"
	_ "github.com/nyaruka/phonenumbers"
	_ "github.com/rickar/cal/v2"
	_ "github.com/riverqueue/river"
	_ "github.com/riverqueue/river/riverdriver/riverdatabasesql"
	_ "github.com/riverqueue/river/riverdriver/riversqlite"
	_ "golang.org/x/image/font/gofont/gobold"
	_ "golang.org/x/image/font/gofont/goregular"
)
