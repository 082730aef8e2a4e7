package email

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"sync"

	"rsc.io/qr"
)

// QRContentID is the Content-ID of the QR code's image in an arrival
// e-mail: the HTML part shows it as <img src="cid:qr@lokero">.
const QRContentID = "qr@lokero"

// qrQuiet is the quiet zone round a QR code, in modules: 4 by ISO/IEC
// 18004, which scanners count on to find the code.
const qrQuiet = 4

// qrEncoder writes the QR codes' PNGs: two colours compress well at the
// fastest level, and its buffers (a compressor is about 1 MB) are kept
// for the next code.
var qrEncoder = png.Encoder{CompressionLevel: png.BestSpeed, BufferPool: &pngBuffers{}}

// pngBuffers is a png.EncoderBufferPool over a sync.Pool.
type pngBuffers struct{ pool sync.Pool }

func (p *pngBuffers) Get() *png.EncoderBuffer {
	b, _ := p.pool.Get().(*png.EncoderBuffer)
	return b
}

func (p *pngBuffers) Put(b *png.EncoderBuffer) { p.pool.Put(b) }

// QRCodePNG draws content as a QR code (error correction level M, byte
// mode, the smallest version that holds it), scale pixels a module, with
// its quiet zone, black on white, as a PNG. rsc.io/qr applies one mask
// pattern where the standard suggests scoring all eight: any of them is
// valid and scanners read it (the tests read each back with zbar), and
// the scoring cost boombuler/barcode about 5 ms a code, which every
// arrival e-mail paid (70 µs now; BenchmarkQRCodePNG). A token of the locker package (about 150
// base64url characters) is a version 8 or 9 code: about 250 pixels wide
// at scale 4.
func QRCodePNG(content string, scale int) ([]byte, error) {
	if scale < 1 || scale > 32 {
		return nil, fmt.Errorf("qr code: scale %d: want 1..32", scale)
	}
	code, err := qr.Encode(content, qr.M)
	if err != nil {
		return nil, fmt.Errorf("qr code: %w", err)
	}
	n := code.Size
	side := (n + 2*qrQuiet) * scale
	// 8-bit grey, white to start with: the PNG encoder copies its rows as
	// they are, where a two-colour palette is read pixel by pixel.
	img := image.NewGray(image.Rect(0, 0, side, side))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for y := range n {
		for x := range n {
			if !code.Black(x, y) {
				continue // a light module
			}
			x0, y0 := (x+qrQuiet)*scale, (y+qrQuiet)*scale
			for dy := range scale {
				row := img.Pix[(y0+dy)*img.Stride+x0:]
				for dx := range scale {
					row[dx] = 0
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := qrEncoder.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("qr code: png: %w", err)
	}
	return buf.Bytes(), nil
}
