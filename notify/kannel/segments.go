package kannel

// Codings, as Segments names them.
const (
	CodingGSM7 = "gsm7" // the GSM 03.38 default alphabet and its extension table (Kannel's coding=0)
	CodingUCS2 = "ucs2" // UCS-2, UTF-16 units on the wire (Kannel's coding=2)
)

// MaxSegments is the most segments a lokero SMS may take: a notice of
// arrival fits two, and the gateway silently drops what goes past its
// sendsms-user's max-messages, so Send refuses a longer text instead.
const MaxSegments = 2

// gsmBasic is the GSM 03.38 default alphabet, one septet each, less ESC
// (0x1B), which only introduces the extension table.
const gsmBasic = "@£$¥èéùìòÇ\nØø\rÅå" +
	"Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ" +
	" !\"#¤%&'()*+,-./" +
	"0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§" +
	"¿abcdefghijklmnopqrstuvwxyzäöñüà"

// gsmExtension is the GSM 03.38 extension table: ESC and the character,
// two septets each.
const gsmExtension = "\f^{}\\[~]|€"

var gsmSeptets = func() map[rune]int {
	m := make(map[rune]int, 140)
	for _, r := range gsmBasic {
		m[r] = 1
	}
	for _, r := range gsmExtension {
		m[r] = 2
	}
	return m
}()

// Segments counts text as the gateway will: coding CodingGSM7 when every
// character is in the GSM default alphabet or its extension table (which
// counts 2 septets), CodingUCS2 otherwise; and the number of segments: a
// single SMS carries 160 septets or 70 UTF-16 units, a part of a
// concatenated one 153 or 67 (the rest is the concatenation header). A
// character outside the Basic Multilingual Plane, an emoji, takes 2
// units. Kannel 1.4.5 splits exactly so (it may cut an emoji's surrogate
// pair between two parts), except that it never cuts a character of the
// extension table from its escape: a part that would end on the escape
// ends one septet short, and the character starts the next part. The
// empty text is one segment.
func Segments(text string) (coding string, segments int) {
	// One pass: the septets in all, and the parts of 153 filled as Kannel
	// fills them, an escaped character whole in one part.
	septets, segments, used := 0, 1, 0
	for _, r := range text {
		n, ok := gsmSeptets[r]
		if !ok {
			return CodingUCS2, ucs2Segments(text)
		}
		septets += n
		if used+n > 153 {
			segments, used = segments+1, 0
		}
		used += n
	}
	if septets <= 160 {
		return CodingGSM7, 1
	}
	return CodingGSM7, segments
}

// ucs2Segments counts the segments of text sent as UCS-2.
func ucs2Segments(text string) int {
	units := 0
	for _, r := range text {
		if r > 0xFFFF {
			units += 2 // a surrogate pair
		} else {
			units++
		}
	}
	return split(units, 70, 67)
}

// split is how many segments n units take, single in one SMS or part in
// each part of a concatenated one.
func split(n, single, part int) int {
	if n <= single {
		return 1
	}
	return (n + part - 1) / part
}
