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
//   - the house number is that first digit token: its digits, or a range
//     of them ("12-14"), without leading zeros;
//   - a single letter attached to the number is the building's ("Kotikatu
//     3a" and "Kotikatu 3b" are often separate buildings), unless a flat
//     number comes straight after it: then the letter is a staircase, as in
//     "Mannerheimintie 5B 12" and "Mannerheimintie 5b12", which live in
//     building "mannerheimintie 5" like "Mannerheimintie 5 B 12". A flat
//     number is the next token if it starts with a digit, or digits glued
//     to the letter; a word in between ("Kotikatu 3a as. 4", "3a lh 2",
//     "3a B 12", "Storgatan 3a bst. 4") leaves the letter with the
//     building, since the word then marks what follows;
//   - a letter written apart from the number ("5 B", "5 B 12") is always a
//     staircase;
//   - staircase, flat and anything after them are dropped.
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

// Buildings returns the keys of the buildings a street address may lie
// in, the likeliest first: Building's, and where a letter glued to the
// house number was read as a staircase because a flat number follows
// ("Kotikatu 3a 12"), the lettered building too ("kotikatu 3a"), which a
// lookup tries when the first names no known building. None when the
// address has no street name or no house number.
func Buildings(street string) []string {
	name, number, lettered := split(street)
	if name == "" || number == "" {
		return nil
	}
	if lettered != "" && lettered != number {
		return []string{name + " " + number, name + " " + lettered}
	}
	return []string{name + " " + number}
}

// Split returns the normalised street name and house number of a street
// address ("Mannerheimintie 12 B 34" → "mannerheimintie", "12").
func Split(street string) (name, number string) {
	name, number, _ = split(street)
	return name, number
}

// split is Split, with the house number as it reads with a glued letter
// kept whatever follows (lettered: "3a" for "3a 12", where number is "3").
func split(street string) (name, number, lettered string) {
	tokens := tokenize(street)
	var nameParts []string
	for i, tok := range tokens {
		if startsWithDigit(tok.text) {
			flatFollows := i+1 < len(tokens) && startsWithDigit(tokens[i+1].text)
			number = houseNumber(tok.text, flatFollows)
			if flatFollows {
				lettered = houseNumber(tok.text, false)
			}
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
		return "", "", ""
	}
	return name, number, lettered
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
// digit: digits, an optional range, and one letter directly attached
// unless flatFollows (the next token is a flat number) makes that letter a
// staircase.
func houseNumber(tok string, flatFollows bool) string {
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
	// "3a": building 3a; "3a 12": staircase a, flat 12. A longer tail is
	// not a building letter: "5b12" is staircase b, flat 12, and "12as"
	// is not a letter at all.
	if len(rest) == 1 && rest[0] >= 'a' && rest[0] <= 'z' && !flatFollows {
		num += rest
	}
	return num
}

func startsWithDigit(s string) bool { return s != "" && isDigit(rune(s[0])) }

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
