package service

import (
	"strings"
	"testing"

	"github.com/lokero/lokero/notify/kannel"
)

// TestGSM7SegmentsAsKannel: the service decides whether the QR link fits
// an SMS by the gateway's own count (notify/kannel.Segments, which Kannel
// itself checks in notify/kannel's end-to-end test), escaped characters
// at the parts' boundaries included.
func TestGSM7SegmentsAsKannel(t *testing.T) {
	t.Parallel()
	texts := []string{
		"",
		"Noutokoodi 12345678901",
		strings.Repeat("a", 160),
		strings.Repeat("a", 161),
		strings.Repeat("€", 80),
		strings.Repeat("€", 81),
		strings.Repeat("a", 152) + "€" + strings.Repeat("a", 100), // the escape would end part one
		strings.Repeat("a", 151) + "€" + strings.Repeat("a", 154),
		strings.Repeat("a", 152) + "€" + strings.Repeat("a", 152),
		strings.Repeat("a", 305) + "[",
		strings.Repeat("€", 153),
		strings.Repeat("ä", 306),
		strings.Repeat("ä", 307),
		"Paketti odottaa: Smartpost Å",
		"emoji 📦 goes UCS-2",
	}
	for _, text := range texts {
		coding, want := kannel.Segments(text)
		got, ok := gsm7Segments(text)
		if ok != (coding == kannel.CodingGSM7) {
			t.Errorf("%d runes: GSM-7 %v here, %s at the gateway", len([]rune(text)), ok, coding)
			continue
		}
		if ok && got != want {
			t.Errorf("%d runes (%.20q…): %d segments here, %d at the gateway", len([]rune(text)), text, got, want)
		}
	}
}
