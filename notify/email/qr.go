package email

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"

	"github.com/boombuler/barcode/qr"
)

// QRContentID is the Content-ID of the QR code's image in an arrival
// e-mail: the HTML part shows it as <img src="cid:qr@lokero">.
const QRContentID = "qr@lokero"

// qrQuiet is the quiet zone round a QR code, in modules: 4 by ISO/IEC
// 18004, which scanners count on to find the code.
const qrQuiet = 4

// QRCodePNG draws content as a QR code (error correction level M, the
// encoding chosen for the content), scale pixels a module, with its quiet
// zone, black on white, as a PNG. A token of the locker package (about 150
// base64url characters) is a version 8 or 9 code: about 250 pixels wide
// at scale 4.
func QRCodePNG(content string, scale int) ([]byte, error) {
	if scale < 1 || scale > 32 {
		return nil, fmt.Errorf("qr code: scale %d: want 1..32", scale)
	}
	code, err := qr.Encode(content, qr.M, qr.Auto)
	if err != nil {
		return nil, fmt.Errorf("qr code: %w", err)
	}
	b := code.Bounds()
	n := b.Dx()
	side := (n + 2*qrQuiet) * scale
	img := image.NewPaletted(image.Rect(0, 0, side, side), color.Palette{color.White, color.Black})
	for y := range n {
		for x := range n {
			if r, _, _, _ := code.At(b.Min.X+x, b.Min.Y+y).RGBA(); r > 0x7fff {
				continue // a light module
			}
			x0, y0 := (x+qrQuiet)*scale, (y+qrQuiet)*scale
			for dy := range scale {
				for dx := range scale {
					img.SetColorIndex(x0+dx, y0+dy, 1)
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("qr code: png: %w", err)
	}
	return buf.Bytes(), nil
}
