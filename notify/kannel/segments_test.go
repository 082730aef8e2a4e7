package kannel

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// Texts as lokero's templates would make them, shared with the end-to-end
// test.
const (
	// fiArrival is a Finnish notice of arrival: 147 characters, ä and ö
	// among them, so one GSM-7 segment (in UCS-2 it would take three).
	fiArrival = "Pakettisi odottaa Smartpost-automaatissa Itäkeskus, Itäkatu 1-7, 00930 Helsinki. Avauskoodi 482913. Nouda viimeistään pe 18.12. klo 23.59 mennessä."
	// fiReminder is a Finnish reminder of 290 characters: two GSM-7
	// segments.
	fiReminder = "Muistutus: pakettisi JJFI64231500012345678 odottaa yhä noutajaansa Smartpost-automaatissa Itäkeskus, Itäkatu 1-7, 00930 Helsinki. Avauskoodi 482913. Nouda viimeistään pe 18.12. klo 23.59, sen jälkeen paketti palautetaan lähettäjälle. Seuranta: https://lokero.example/t/JJFI64231500012345678"
	// svArrival is the Swedish notice of arrival, with å, ä and ö.
	svArrival = "Ditt paket väntar i Smartpost-automaten Östra centrum, Åbovägen 3, 00930 Helsingfors. Öppningskod 482913. Hämta det senast fre 18.12 kl. 23.59."
	// plArrival names a Polish recipient: ł and ś are not GSM-7.
	plArrival = "Paczka dla Małgorzaty Wiśniewskiej czeka w automacie Itäkeskus. Kod 482913."
)

func TestSegments(t *testing.T) {
	t.Parallel()
	a := func(n int) string { return strings.Repeat("a", n) }
	tests := []struct {
		name     string
		text     string
		coding   string
		segments int
	}{
		{"empty", "", CodingGSM7, 1},
		{"Finnish arrival, ~150 chars with ä ö", fiArrival, CodingGSM7, 1},
		{"Finnish reminder, 290 chars", fiReminder, CodingGSM7, 2},
		{"Swedish arrival with å ä ö", svArrival, CodingGSM7, 1},
		{"all of ÅÄÖåäö", "ÅÄÖåäö", CodingGSM7, 1},
		{"Polish ł ś", plArrival, CodingUCS2, 2},
		{"ś alone", "Wiśniewska", CodingUCS2, 1},
		{"emoji", "Paketti odottaa 📦", CodingUCS2, 1},
		{"GSM-7 160", a(160), CodingGSM7, 1},
		{"GSM-7 161", a(161), CodingGSM7, 2},
		{"GSM-7 2×153", a(306), CodingGSM7, 2},
		{"GSM-7 2×153+1", a(307), CodingGSM7, 3},
		{"€ is 2 septets: 158+2", a(158) + "€", CodingGSM7, 1},
		{"€ is 2 septets: 159+2", a(159) + "€", CodingGSM7, 2},
		{"[ is 2 septets: 158+2", a(158) + "[", CodingGSM7, 1},
		{"[ is 2 septets: 159+2", a(159) + "[", CodingGSM7, 2},
		{"80 € are 160 septets", strings.Repeat("€", 80), CodingGSM7, 1},
		{"81 € are 162 septets", strings.Repeat("€", 81), CodingGSM7, 2},
		{"76 × {} and a are 305 septets", strings.Repeat("{}", 76) + "a", CodingGSM7, 2},
		// Kannel never cuts an escape from its character: the first part
		// takes 76 € (152 septets), the second 76 more, the 153rd € needs
		// a third (fakesmsc got "€"×152 in two parts: one € lost).
		{"153 € are 306 septets, but in three parts", strings.Repeat("€", 153), CodingGSM7, 3},
		{"152 € are 304 septets in two parts", strings.Repeat("€", 152), CodingGSM7, 2},
		{"€ across the first part's end", a(152) + "€" + a(152), CodingGSM7, 3},
		{"€ after the first part's end", a(152) + "€" + a(151), CodingGSM7, 2},
		{"€ at the first part's end", a(151) + "€" + a(153), CodingGSM7, 2},
		{"154 € are 308 septets", strings.Repeat("€", 154), CodingGSM7, 3},
		{"UCS-2 70", strings.Repeat("ś", 70), CodingUCS2, 1},
		{"UCS-2 71", strings.Repeat("ś", 71), CodingUCS2, 2},
		{"UCS-2 2×67", strings.Repeat("ś", 134), CodingUCS2, 2},
		{"UCS-2 2×67+1", strings.Repeat("ś", 135), CodingUCS2, 3},
		{"35 emoji are 70 units", strings.Repeat("😀", 35), CodingUCS2, 1},
		{"36 emoji are 72 units", strings.Repeat("😀", 36), CodingUCS2, 2},
		{"69 ś and an emoji are 71 units", strings.Repeat("ś", 69) + "😀", CodingUCS2, 2},
		{"67 emoji are 134 units", strings.Repeat("😀", 67), CodingUCS2, 2},
		{"ESC itself is no GSM text", "a\x1bb", CodingUCS2, 1},
		{"Greek capitals of the default alphabet", "ΔΦΓΛΩΠΨΣΘΞ", CodingGSM7, 1},
		{"Greek α is not in it", "α", CodingUCS2, 1},
		{"ç (lower case) is not in it", "ç", CodingUCS2, 1},
		{"newline and CR are", "a\r\nb", CodingGSM7, 1},
		{"tab is not", "a\tb", CodingUCS2, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			coding, n := Segments(tc.text)
			if coding != tc.coding || n != tc.segments {
				t.Errorf("Segments(%q) = %s, %d; want %s, %d", tc.text, coding, n, tc.coding, tc.segments)
			}
		})
	}
	if n := utf8.RuneCountInString(fiArrival); n < 140 || n > 160 {
		t.Errorf("fiArrival has %d characters, want ~150", n)
	}
}

func TestGSMTables(t *testing.T) {
	t.Parallel()
	// 128 code points in the default alphabet, less ESC; 10 characters in
	// the extension table.
	if n := utf8.RuneCountInString(gsmBasic); n != 127 {
		t.Errorf("default alphabet has %d characters, want 127", n)
	}
	if n := utf8.RuneCountInString(gsmExtension); n != 10 {
		t.Errorf("extension table has %d characters, want 10", n)
	}
	if len(gsmSeptets) != 137 {
		t.Errorf("%d distinct characters, want 137: one is listed twice", len(gsmSeptets))
	}
}
