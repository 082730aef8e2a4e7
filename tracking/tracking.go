// Package tracking makes and checks the codes printed on a shipment: UPU
// S10 tracking codes ("JJ123456785FI") and the numeric return codes a
// consumer types at a locker's keypad (Posti calls them Helposti codes).
//
// It is pure: randomness comes from the io.Reader the caller passes
// (crypto/rand.Reader in production, a fixed reader in tests), and nothing
// is stored. Uniqueness is the store's business: it refuses a code already
// in use, and the caller draws again.
package tracking

import (
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/lokero/lokero"
)

// Country is the country code ending every tracking code lokero issues.
const Country = "FI"

// New returns a new UPU S10 tracking code: the two-letter service
// indicator prefix (two upper-case letters A-Z, e.g. "CA" for parcel
// post), eight digits drawn uniformly from r, the S10 check digit, and
// "FI", e.g. "JJ123456785FI". r is crypto/rand.Reader in production.
//
// The eight random digits give 10^8 codes per prefix: by the birthday
// bound two codes among ~10,000 collide with a probability of ~40%, so
// the store must refuse duplicates and the caller draw again.
func New(r io.Reader, prefix string) (string, error) {
	if !isUpperLetters(prefix, 2) {
		return "", fmt.Errorf("new tracking code: %w",
			lokero.Invalid("prefix", "malformed", "the service indicator must be two letters A-Z; got %q", prefix))
	}
	var serial [8]byte
	if err := randomDigits(r, serial[:], 0); err != nil {
		return "", fmt.Errorf("new tracking code: %w", err)
	}
	c, err := CheckDigit(string(serial[:]))
	if err != nil {
		return "", fmt.Errorf("new tracking code: %w", err)
	}
	return prefix + string(serial[:]) + string(rune('0'+c)) + Country, nil
}

// Valid reports whether s is a well-formed S10 code with a correct check
// digit: two letters A-Z, eight digits, the check digit and a two-letter
// country code (any country). It is strict about form: upper case, no
// spaces; pass what a person typed through Normalize first.
//
// The S10 check digit catches most, not all, single-digit typing errors:
// it maps both remainders 0 and 6 of the weighted sum to the check digit
// 5, so a change of a serial digit that moves the remainder between 0 and
// 6 goes unnoticed. That is the standard's, and every S10 code's, limit.
func Valid(s string) bool {
	if len(s) != 13 || !isUpperLetters(s[:2], 2) || !isUpperLetters(s[11:], 2) || !isDigits(s[2:11]) {
		return false
	}
	c, err := CheckDigit(s[2:10])
	return err == nil && int(s[10]-'0') == c
}

// Normalize upper-cases s and removes every space (and any other white
// space) from it, so that "jj 1234 5678 5 fi" becomes "JJ123456785FI". It
// does not validate: follow it with Valid.
func Normalize(s string) string {
	return strings.ToUpper(strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s))
}

// CheckDigit returns the S10 check digit of an eight-digit serial number:
// the digits weighted 8, 6, 4, 2, 3, 5, 9, 7 and summed; c = 11 - (sum mod
// 11), with 10 written as 0 and 11 as 5. For "47312482" it is 9.
func CheckDigit(serial string) (int, error) {
	if len(serial) != 8 || !isDigits(serial) {
		return 0, lokero.Invalid("serial", "malformed", "an S10 serial number is eight digits; got %q", serial)
	}
	weights := [8]int{8, 6, 4, 2, 3, 5, 9, 7}
	sum := 0
	for i, w := range weights {
		sum += int(serial[i]-'0') * w
	}
	switch c := 11 - sum%11; c {
	case 10:
		return 0, nil
	case 11:
		return 5, nil
	default:
		return c, nil
	}
}

// ReturnCodeLength is the number of digits of a return code.
const ReturnCodeLength = 12

// NewReturnCode returns a new return code (Posti calls them Helposti
// codes): the code a consumer types at a locker's numeric keypad to open
// an empty compartment for a return. It is 12 digits, so digits only; the
// first is never 0 (a code never loses a digit in a spreadsheet or a
// number field), and the last is a Luhn check digit.
//
// Why so: the 10 random digits give 9 × 10^10 codes, so guessing a code
// among even a million live ones takes ~90,000 tries on average, far more
// than a keypad's daily cap on wrong entries allows; the Luhn digit makes
// every single mistyped digit and every swap of two neighbouring digits
// (except 09 ↔ 90) an invalid code, refused without a lookup; and the
// length differs from the 6-9 digit opening codes, so a keypad knows from
// the length alone which kind of code was typed and an opening code can
// never be taken for a return code or the other way round.
func NewReturnCode(r io.Reader) (string, error) {
	var code [ReturnCodeLength]byte
	if err := randomDigits(r, code[:1], 1); err != nil {
		return "", fmt.Errorf("new return code: %w", err)
	}
	if err := randomDigits(r, code[1:ReturnCodeLength-1], 0); err != nil {
		return "", fmt.Errorf("new return code: %w", err)
	}
	code[ReturnCodeLength-1] = '0' + luhnCheckDigit(string(code[:ReturnCodeLength-1]))
	return string(code[:]), nil
}

// ValidReturnCode reports whether s is a well-formed return code: 12
// digits, the first not 0, the last the Luhn check digit of the others.
func ValidReturnCode(s string) bool {
	if len(s) != ReturnCodeLength || !isDigits(s) || s[0] == '0' {
		return false
	}
	return s[ReturnCodeLength-1]-'0' == luhnCheckDigit(s[:ReturnCodeLength-1])
}

// luhnCheckDigit returns the Luhn check digit to append to the digits
// payload: doubling every second digit from the right, starting with the
// payload's last one.
func luhnCheckDigit(payload string) byte {
	sum := 0
	double := true
	for i := len(payload) - 1; i >= 0; i-- {
		d := int(payload[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return byte((10 - sum%10) % 10)
}

// randomDigits fills dst with ASCII digits drawn uniformly from lo..9,
// by rejection sampling: a byte is used only when it is below the largest
// multiple of the number of choices that fits in a byte, so that every
// digit is equally likely.
func randomDigits(r io.Reader, dst []byte, lo byte) error {
	n := 10 - int(lo)
	limit := 256 - 256%n // 250 for ten digits, 252 for nine
	var buf [32]byte
	for i, reads := 0, 0; i < len(dst); reads++ {
		if reads == 64 {
			// A fair source gets here once in far more than 10^100 calls.
			return fmt.Errorf("read random bytes: %d reads gave almost no usable bytes: the source is broken", reads)
		}
		want := min(len(buf), 2*(len(dst)-i))
		if _, err := io.ReadFull(r, buf[:want]); err != nil {
			return fmt.Errorf("read random bytes: %w", err)
		}
		for _, b := range buf[:want] {
			if int(b) >= limit {
				continue
			}
			dst[i] = '0' + lo + byte(int(b)%n)
			if i++; i == len(dst) {
				break
			}
		}
	}
	return nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isUpperLetters(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}
