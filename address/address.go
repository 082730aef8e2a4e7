// Package address normalises Finnish street addresses so that the same
// building is recognised however a person wrote it: "Mannerheimintie 12 B 34",
// "MANNERHEIMINTIE 12", "Mannerheimint. 12 as. 34" and "Mannerheimin tie 12"
// all live in building "mannerheimintie 12".
//
// The rules are ours (the reference text only says that the locker in a
// building is found from the street address):
//   - case, whitespace, punctuation and the Nordic letters ä, ö, å (folded to
//     a, o, a) do not matter;
//   - the street name is everything before the first token that starts with
//     a digit; spaces and hyphens inside it do not matter;
//   - a dotted abbreviation of a street-type suffix is spelled out:
//     "k." katu, "t." tie, "kj." kuja, "p." polku, "g." gatan, "v." vägen;
//   - the house number is that first digit token, with a letter attached
//     to it ("3a", "3 a" is read as staircase a) or a range ("12-14");
//     staircase, apartment and anything after them are dropped.
package address

import (
	"strings"
	"unicode"
)

// suffixes spells out the dotted abbreviations of street-type words, keyed
// by the abbreviation without its dot; "kj" comes before "k" so that the
// longer abbreviation wins.
var suffixes = []struct{ abbr, word string }{
	{"kj", "kuja"},
	{"k", "katu"},
	{"t", "tie"},
	{"p", "polku"},
	{"g", "gatan"},
	{"v", "vagen"},
}

// Building returns the key of the building a street address lies in, or ""
// when the address has no street name or no house number.
func Building(street string) string {
	name, number := Split(street)
	if name == "" || number == "" {
		return ""
	}
	return name + " " + number
}

// Split returns the normalised street name and house number of a street
// address ("Mannerheimintie 12 B 34" → "mannerheimintie", "12").
func Split(street string) (name, number string) {
	tokens := tokenize(street)
	var nameParts []string
	for _, tok := range tokens {
		if tok.text != "" && isDigit(rune(tok.text[0])) {
			number = houseNumber(tok.text)
			break
		}
		word := tok.text
		if tok.dotted {
			word = expand(word)
		}
		nameParts = append(nameParts, word)
	}
	name = strings.Join(nameParts, "")
	if name == "" {
		return "", ""
	}
	return name, number
}

type token struct {
	text   string
	dotted bool // the token ended in a full stop: an abbreviation
}

// tokenize lower-cases, folds ä/ö/å and splits on anything that is not a
// letter or digit, keeping a hyphen between digits ("12-14") and noting a
// trailing full stop.
func tokenize(s string) []token {
	var tokens []token
	var b strings.Builder
	flush := func(dotted bool) {
		if b.Len() > 0 {
			tokens = append(tokens, token{text: b.String(), dotted: dotted})
			b.Reset()
		}
	}
	runes := []rune(s)
	for i, r := range runes {
		r = fold(unicode.ToLower(r))
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		case r == '-' && b.Len() > 0 && isDigit(rune(b.String()[b.Len()-1])) && i+1 < len(runes) && isDigit(runes[i+1]):
			b.WriteRune(r)
		case r == '.':
			flush(true)
		default:
			flush(false)
		}
	}
	flush(false)
	return tokens
}

// houseNumber returns the building number from a token starting with a
// digit: digits, an optional range, and one letter directly attached.
func houseNumber(tok string) string {
	end := 0
	for end < len(tok) && (isDigit(rune(tok[end])) || tok[end] == '-') {
		end++
	}
	var parts []string
	for _, p := range strings.Split(tok[:end], "-") {
		if p == "" {
			continue
		}
		if p = strings.TrimLeft(p, "0"); p == "" {
			p = "0"
		}
		parts = append(parts, p)
	}
	num := strings.Join(parts, "-")
	rest := tok[end:]
	if len(rest) == 1 && rest[0] >= 'a' && rest[0] <= 'z' {
		num += rest // "3a": building 3a; a longer tail ("12as") is not a building letter
	}
	return num
}

// expand spells out a dotted abbreviation at the end of a name token:
// "mannerheimint" (from "Mannerheimint.") → "mannerheimintie".
func expand(word string) string {
	for _, s := range suffixes {
		if word == s.abbr {
			return s.word
		}
	}
	for _, s := range suffixes {
		if len(word) > len(s.abbr)+2 && strings.HasSuffix(word, s.abbr) {
			return strings.TrimSuffix(word, s.abbr) + s.word
		}
	}
	return word
}

func fold(r rune) rune {
	switch r {
	case 'ä', 'å', 'á', 'à', 'â':
		return 'a'
	case 'ö', 'ø', 'ó', 'ô':
		return 'o'
	case 'é', 'è', 'ê':
		return 'e'
	case 'ü':
		return 'u'
	}
	return r
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }
