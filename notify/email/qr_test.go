package email

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"image/png"
	"io"
	"mime"
	"mime/multipart"
	stdmail "net/mail"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/lokero/lokero/zbartest"

	"github.com/lokero/lokero/locker"
)

// mimeLeaf is one non-multipart part of a message, decoded.
type mimeLeaf struct {
	Type      string
	ContentID string
	Body      []byte
}

// mimeLeaves walks a MIME body depth first and returns its leaves, and
// the tree of media types ("multipart/related[multipart/alternative[…] image/png]").
func mimeLeaves(t *testing.T, h textproto.MIMEHeader, body io.Reader) ([]mimeLeaf, string) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type %q: %v", h.Get("Content-Type"), err)
	}
	if !strings.HasPrefix(mt, "multipart/") {
		var r io.Reader = body
		switch strings.ToLower(h.Get("Content-Transfer-Encoding")) {
		case "base64":
			r = base64.NewDecoder(base64.StdEncoding, body)
		case "quoted-printable":
			// multipart.Reader's NextPart decodes it already; the top
			// level is never quoted-printable here.
		}
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatalf("%s body: %v", mt, err)
		}
		return []mimeLeaf{{Type: mt, ContentID: h.Get("Content-Id"), Body: b}}, mt
	}
	mr := multipart.NewReader(body, params["boundary"])
	var leaves []mimeLeaf
	var kids []string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("multipart: %v", err)
		}
		l, tree := mimeLeaves(t, p.Header, p)
		leaves = append(leaves, l...)
		kids = append(kids, tree)
	}
	return leaves, mt + "[" + strings.Join(kids, " ") + "]"
}

// TestSendArrivalWithQR: an arrival with a QR token carries it as an
// inline PNG (Content-ID qr@lokero) that the HTML part shows; the text
// part has the link instead; the image reads back (zbarimg) as the very
// token, which VerifyQR accepts at the locker.
func TestSendArrivalWithQR(t *testing.T) {
	t.Parallel()
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	claims := locker.QRClaims{LocationID: "SP-0042", ShipmentID: "shp_01JF2Q7X8Y9Z0A1B2C3D4E5F6G", Compartment: 12,
		NotBefore: time.Date(2025, 12, 7, 9, 0, 0, 0, time.UTC), NotAfter: time.Date(2025, 12, 14, 22, 0, 0, 0, time.UTC)}
	token := locker.SignQR(key, claims)
	m := arrival(43)
	m.Parcel.QRToken = token
	m.Parcel.QRURL = "https://lokero.example.fi/q/JJFI64000000000000042.AbCdEfGhIjKlMnOp"

	ts := startServer(t, serverConfig{})
	s := newSender(t, ts.url("smtp", "", ""))
	if _, err := s.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := ts.messages()
	if len(got) != 1 {
		t.Fatalf("server received %d messages, want 1", len(got))
	}
	msg, err := stdmail.ReadMessage(bytes.NewReader(got[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	leaves, tree := mimeLeaves(t, textproto.MIMEHeader(msg.Header), msg.Body)
	var text, html string
	var img []byte
	for _, l := range leaves {
		switch l.Type {
		case "text/plain":
			text = string(l.Body)
		case "text/html":
			html = string(l.Body)
		case "image/png":
			if l.ContentID != "<"+QRContentID+">" {
				t.Errorf("image Content-ID %q, want <%s>", l.ContentID, QRContentID)
			}
			img = l.Body
		}
	}
	if text == "" || html == "" || img == nil || len(leaves) != 3 {
		t.Fatalf("MIME %s: want a text, an HTML and a PNG part", tree)
	}
	t.Logf("MIME structure: %s", tree)
	if !strings.Contains(tree, "multipart/alternative") {
		t.Errorf("MIME %s: no multipart/alternative", tree)
	}
	if !strings.Contains(html, `src="cid:`+QRContentID+`"`) {
		t.Errorf("HTML part does not show the image cid:%s:\n%s", QRContentID, html)
	}
	if !strings.Contains(text, m.Parcel.QRURL) || strings.Contains(text, token) {
		t.Errorf("text part: want the link, not the token:\n%s", text)
	}
	if strings.Contains(html, token) {
		t.Error("HTML part carries the token in clear: only the image should")
	}
	pic, err := png.Decode(bytes.NewReader(img))
	if err != nil {
		t.Fatalf("the image is no PNG: %v", err)
	}
	if b := pic.Bounds(); b.Dx() < 150 || b.Dx() != b.Dy() {
		t.Errorf("QR image %v: want a square of at least 150 pixels", b)
	}
	read := zbartest.Scan(t, img)
	if read != token {
		t.Fatalf("zbarimg read %q, want the token %q", read, token)
	}
	c, err := locker.VerifyQR(key.Public().(ed25519.PublicKey), read, "SP-0042", claims.NotBefore.Add(time.Hour))
	if err != nil || c.ShipmentID != claims.ShipmentID || c.Compartment != 12 {
		t.Errorf("VerifyQR of what the scanner read: %+v, %v", c, err)
	}
}

// TestRenderArrivalWithoutQR: without a token no image and no QR text.
func TestRenderArrivalWithoutQR(t *testing.T) {
	t.Parallel()
	for _, lang := range Languages {
		m := arrival(44)
		m.Language = lang
		_, text, html, err := Render(m)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(html, "cid:") || strings.Contains(html, "<img") || strings.Contains(text, "QR") {
			t.Errorf("%s: a message without a QR token mentions one:\n%s\n%s", lang, text, html)
		}
		m.Parcel.QRToken, m.Parcel.QRURL = "token", "https://lokero.example.fi/q/x.y"
		_, text, html, err = Render(m)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(html, `src="cid:qr@lokero"`) || !strings.Contains(text, "QR") || !strings.Contains(text, m.Parcel.QRURL) {
			t.Errorf("%s: a message with a QR token lacks it:\n%s\n%s", lang, text, html)
		}
		m.Kind = "reminder"
		if _, text, html, _ = Render(m); strings.Contains(html, "cid:") || strings.Contains(text, m.Parcel.QRURL) {
			t.Errorf("%s: a reminder shows the QR code", lang)
		}
	}
}

func TestQRCodePNG(t *testing.T) {
	t.Parallel()
	for _, scale := range []int{0, 33} {
		if _, err := QRCodePNG("x", scale); err == nil {
			t.Errorf("scale %d accepted", scale)
		}
	}
	if _, err := QRCodePNG(strings.Repeat("x", 5000), 4); err == nil {
		t.Error("5,000 bytes fit no QR code, yet no error")
	}
	// A word, and a token as long as the locker package's (about 150
	// base64url characters), read back by a scanner.
	token := "LQ1." + strings.Repeat("Zm9vYmFy-_09", 13)
	for _, content := range []string{"hello", token} {
		img, err := QRCodePNG(content, 4)
		if err != nil {
			t.Fatal(err)
		}
		if got := zbartest.Scan(t, img); got != content {
			t.Errorf("read back %q, want %q", got, content)
		}
	}
}

// BenchmarkQRCodePNG: the QR code of an arrival e-mail, a token as long
// as the locker package's.
func BenchmarkQRCodePNG(b *testing.B) {
	token := "LQ1." + strings.Repeat("Zm9vYmFy-_09", 13)
	for b.Loop() {
		if _, err := QRCodePNG(token, 6); err != nil {
			b.Fatal(err)
		}
	}
}
