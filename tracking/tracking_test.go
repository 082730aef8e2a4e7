package tracking

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	mrand "math/rand/v2"
	"strings"
	"testing"

	"github.com/lokero/lokero"
)

// Check digits computed by hand: sum = Σ digit × weight with the weights
// 8 6 4 2 3 5 9 7; r = sum mod 11; c = 11 - r, 10 → 0, 11 → 5.
var checkDigitTable = []struct {
	serial string
	sum    int // by hand, for the reader of the test
	want   int
	source string
}{
	// 4·8 + 7·6 + 3·4 + 1·2 + 2·3 + 4·5 + 8·9 + 2·7 = 32+42+12+2+6+20+72+14 = 200;
	// 200 mod 11 = 2; 11 - 2 = 9. The worked example of the S10 article
	// (Wikipedia, "S10 (UPU standard)"): RR473124829GB.
	{"47312482", 200, 9, "Wikipedia S10 example"},
	// 1·8 + 2·6 + 3·4 + 4·2 + 5·3 + 6·5 + 7·9 + 8·7 = 8+12+12+8+15+30+63+56 = 204;
	// 204 mod 11 = 6; 11 - 6 = 5: the often published RA123456785GB.
	{"12345678", 204, 5, "published example RA123456785GB"},
	// 8·8 + 7·6 + 6·4 + 5·2 + 4·3 + 3·5 + 2·9 + 1·7 = 64+42+24+10+12+15+18+7 = 192;
	// 192 mod 11 = 5; 11 - 5 = 6 (so "EE876543210" would be wrong: it is EE876543216).
	{"87654321", 192, 6, "by hand"},
	// sum 0, r = 0, c = 11 → 5.
	{"00000000", 0, 5, "by hand: c = 11 is written 5"},
	// 0·… + 1·5 + 0·9 + 1·7 = 12; r = 1; c = 10 → 0.
	{"00000101", 12, 0, "by hand: c = 10 is written 0"},
	// 9 × (8+6+4+2+3+5+9+7) = 9 × 44 = 396 = 36 × 11; r = 0; c → 5.
	{"99999999", 396, 5, "by hand"},
	// 0·8 + 1·6 + 2·4 + 3·2 + 4·3 + 5·5 + 6·9 + 7·7 = 0+6+8+6+12+25+54+49 = 160;
	// 160 mod 11 = 6; 11 - 6 = 5.
	{"01234567", 160, 5, "by hand"},
	// 1·8 = 8; r = 8; c = 3.
	{"10000000", 8, 3, "by hand"},
	// 7·7 = 49 = 4·11 + 5; c = 6.
	{"00000007", 49, 6, "by hand"},
}

func TestCheckDigitTable(t *testing.T) {
	for _, tc := range checkDigitTable {
		got, err := CheckDigit(tc.serial)
		if err != nil {
			t.Fatalf("CheckDigit(%q): %v", tc.serial, err)
		}
		if got != tc.want {
			t.Errorf("CheckDigit(%q) = %d, want %d (%s)", tc.serial, got, tc.want, tc.source)
		}
		// The hand-computed sum is right, and gives the hand-computed digit.
		if r := remainder(tc.serial); r != tc.sum%11 {
			t.Errorf("%q: weighted sum mod 11 is %d, the hand sum %d gives %d", tc.serial, r, tc.sum, tc.sum%11)
		}
		c := 11 - tc.sum%11
		if c == 10 {
			c = 0
		} else if c == 11 {
			c = 5
		}
		if c != tc.want {
			t.Errorf("hand sum %d of %q gives %d, table says %d", tc.sum, tc.serial, c, tc.want)
		}
	}
}

func TestCheckDigitRejects(t *testing.T) {
	for _, s := range []string{"", "1234567", "123456789", "1234567a", " 1234567", "１２３４５６７８", "-1234567"} {
		if _, err := CheckDigit(s); lokero.ErrorCode(err) != lokero.EINVALID {
			t.Errorf("CheckDigit(%q) error = %v, want EINVALID", s, err)
		}
	}
}

func TestValid(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{"RR473124829GB", true},
		{"RA123456785GB", true},
		{"RA123456785US", true}, // any country
		{"JJ123456785FI", true},
		{"CA000000005FI", true},
		{"CA000001010FI", true},
		{"EE876543216FI", true},
		{"EE876543210FI", false},
		{"RR473124828GB", false}, // wrong check digit
		{"RA123456784GB", false},
		{"rr473124829gb", false}, // not normalized
		{"RR 473124829 GB", false},
		{"RR473124829G", false},
		{"RR473124829GBX", false},
		{"R1473124829GB", false},
		{"RR47312482XGB", false},
		{"RR4731248295B", false},
		{"ÄR473124829GB", false},
		{"", false},
	} {
		if got := Valid(tc.s); got != tc.want {
			t.Errorf("Valid(%q) = %v, want %v", tc.s, got, tc.want)
		}
	}
}

// remainder returns the weighted sum mod 11 of a serial.
func remainder(serial string) int {
	w := [8]int{8, 6, 4, 2, 3, 5, 9, 7}
	sum := 0
	for i := range 8 {
		sum += int(serial[i]-'0') * w[i]
	}
	return sum % 11
}

// TestValidSingleDigitErrors changes every digit of many codes to every
// other digit. S10 detects each such error except one, built into the
// standard: remainders 0 and 6 share the check digit 5, so a change that
// moves the weighted sum's remainder between 0 and 6 is not detected. The
// test checks that exactly those, and nothing else, slip through, and that
// a wrong check digit itself is always caught.
func TestValidSingleDigitErrors(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(1, 2))
	serials := []string{"47312482", "12345678", "00000000", "99999999", "00000101"}
	for range 3000 {
		var b [8]byte
		for i := range b {
			b[i] = byte('0' + rng.IntN(10))
		}
		serials = append(serials, string(b[:]))
	}
	undetected := 0
	for _, serial := range serials {
		c, err := CheckDigit(serial)
		if err != nil {
			t.Fatal(err)
		}
		code := "CA" + serial + string(rune('0'+c)) + "FI"
		if !Valid(code) {
			t.Fatalf("Valid(%q) = false", code)
		}
		for pos := 2; pos <= 10; pos++ {
			for d := byte('0'); d <= '9'; d++ {
				if d == code[pos] {
					continue
				}
				bad := code[:pos] + string(d) + code[pos+1:]
				if !Valid(bad) {
					continue
				}
				r0, r1 := remainder(serial), remainder(bad[2:10])
				if pos == 10 || !((r0 == 0 && r1 == 6) || (r0 == 6 && r1 == 0)) {
					t.Fatalf("single-digit error %s → %s not detected (remainders %d → %d)", code, bad, r0, r1)
				}
				undetected++
			}
		}
	}
	if undetected == 0 {
		t.Error("no 0 ↔ 6 remainder case was met: the sample misses the known S10 blind spot")
	}
	t.Logf("%d codes × 81 single-digit errors: %d undetected, all the S10 standard's 0 ↔ 6 case", len(serials), undetected)
}

func TestNormalize(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"jj 1234 5678 5 fi", "JJ123456785FI"},
		{"JJ123456785FI", "JJ123456785FI"},
		{"  rr473124829gb\n", "RR473124829GB"},
		{"Rr 473 124 829 Gb", "RR473124829GB"},
		{"jj\t1234\u00a05678 5fi", "JJ123456785FI"}, // tab and no-break space
		{"", ""},
		{"   ", ""},
	} {
		if got := Normalize(tc.in); got != tc.want {
			t.Errorf("Normalize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if !Valid(Normalize("jj 1234 5678 5 fi")) {
		t.Error("a normalized typed code is not valid")
	}
}

func TestNewDeterministic(t *testing.T) {
	// Bytes ≥ 250 are rejected (250 = 25 × 10 keeps digits uniform); the
	// others give byte mod 10: 13→3 249→9 7→7 100→0 42→2 [251 rejected]
	// 0→0 99→9 58→8: serial 39702098.
	// Sum 3·8+9·6+7·4+0·2+2·3+0·5+9·9+8·7 = 24+54+28+0+6+0+81+56 = 249;
	// 249 mod 11 = 7; 11 - 7 = 4.
	src := []byte{255, 250, 13, 249, 7, 100, 42, 251, 0, 99, 58, 21, 36, 44, 60, 77}
	for range 2 {
		got, err := New(bytes.NewReader(src), "JJ")
		if err != nil {
			t.Fatal(err)
		}
		if got != "JJ397020984FI" {
			t.Fatalf("New = %q, want JJ397020984FI", got)
		}
	}
}

func TestNewRejectsPrefix(t *testing.T) {
	for _, p := range []string{"", "J", "jj", "Jj", "J1", "JJJ", "ÄÖ", " J"} {
		_, err := New(rand.Reader, p)
		if lokero.ErrorCode(err) != lokero.EINVALID {
			t.Errorf("New(%q) error = %v, want EINVALID", p, err)
		}
	}
}

func TestNewReaderErrors(t *testing.T) {
	_, err := New(bytes.NewReader([]byte{1, 2, 3}), "CA")
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short reader: error = %v, want io.ErrUnexpectedEOF in the chain", err)
	}
	if lokero.ErrorCode(err) != lokero.EINTERNAL {
		t.Errorf("short reader: code %q, want internal", lokero.ErrorCode(err))
	}
	// A reader that gives only bytes that are always rejected must not
	// loop forever.
	_, err = New(constReader(255), "CA")
	if err == nil || !strings.Contains(err.Error(), "broken") {
		t.Errorf("constant 255 reader: error = %v, want a broken-source error", err)
	}
	_, err = NewReturnCode(bytes.NewReader(nil))
	if !errors.Is(err, io.EOF) {
		t.Errorf("empty reader: error = %v, want io.EOF in the chain", err)
	}
}

// chiSquare returns Pearson's statistic of counts against equal expected
// counts.
func chiSquare(counts []int) float64 {
	n := 0
	for _, k := range counts {
		n += k
	}
	e := float64(n) / float64(len(counts))
	x := 0.0
	for _, k := range counts {
		x += (float64(k) - e) * (float64(k) - e) / e
	}
	return x
}

type constReader byte

func (c constReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(c)
	}
	return len(p), nil
}

// TestNewRandom draws 100,000 codes from crypto/rand: every one is valid,
// each digit appears about equally often in each position, and duplicates
// are as rare as the birthday bound says (~50 expected among 10^8).
func TestNewRandom(t *testing.T) {
	const n = 100_000
	var counts [8][10]int
	seen := make(map[string]struct{}, n)
	dups := 0
	for range n {
		code, err := New(rand.Reader, "CA")
		if err != nil {
			t.Fatal(err)
		}
		if !Valid(code) || !strings.HasPrefix(code, "CA") || !strings.HasSuffix(code, "FI") {
			t.Fatalf("New gave %q", code)
		}
		for i := range 8 {
			counts[i][code[2+i]-'0']++
		}
		if _, ok := seen[code]; ok {
			dups++
		}
		seen[code] = struct{}{}
	}
	// Chi-square of the digit counts (9 degrees of freedom, mean 9): a
	// fair generator exceeds 50 once in ~10^7 runs. Per position this
	// catches a degenerate generator; over all 800,000 digits it also
	// catches the bias of byte mod 10 without rejection (0-5 drawn 26/256,
	// 6-9 25/256 of the time: chi-square ≈ 290).
	var total [10]int
	for pos, c := range counts {
		for d, k := range c {
			total[d] += k
		}
		if x := chiSquare(c[:]); x > 50 {
			t.Errorf("serial position %d: digit counts %v, chi-square %.1f: not uniform", pos, c, x)
		}
	}
	if x := chiSquare(total[:]); x > 50 {
		t.Errorf("all positions: digit counts %v, chi-square %.1f: not uniform", total, x)
	}
	if dups > 150 {
		t.Errorf("%d duplicates among %d codes; ~50 expected", dups, n)
	}
	t.Logf("%d duplicates among %d codes (expected ~50: the store must refuse duplicates)", dups, n)
}

func TestLuhnCheckDigitKnown(t *testing.T) {
	// The classic Luhn example: 7992739871 has check digit 3.
	if got := luhnCheckDigit("7992739871"); got != 3 {
		t.Errorf("luhnCheckDigit(7992739871) = %d, want 3", got)
	}
	// 12-digit codes computed by hand: payload 10000000000 → doubled from
	// the right, the 1 is at an odd position from the right (11th) → doubled
	// = 2; check = (10 - 2) mod 10 = 8.
	for _, tc := range []struct {
		code string
		ok   bool
	}{
		{"100000000008", true},
		{"100000000000", false},
		{"799273987130", false}, // Luhn-valid 11 digits with a 0 appended is not valid
		{"079927398713", false}, // Luhn-valid but starts with 0
		{"10000000000", false},
		{"1000000000088", false},
		{"10000000000a", false},
		{"", false},
	} {
		if got := ValidReturnCode(tc.code); got != tc.ok {
			t.Errorf("ValidReturnCode(%q) = %v, want %v", tc.code, got, tc.ok)
		}
	}
}

func TestNewReturnCodeDeterministic(t *testing.T) {
	// First digit from 1..9 (bytes ≥ 252 rejected, 1 + byte mod 9): the
	// reader gives 253 (rejected) and 10 → 1 + 1 = 2. The next ten digits
	// come from 20 bytes 0..19: 0→0 … 9→9, so payload 20123456789.
	// Luhn from the right, doubling the payload's last digit:
	// 9·2=18→9, 8, 7·2=14→5, 6, 5·2=10→1, 4, 3·2=6, 2, 1·2=2, 0, 2·2=4:
	// 9+8+5+6+1+4+6+2+2+0+4 = 47 → check (10 - 7) = 3.
	src := []byte{253, 10}
	for i := range byte(20) {
		src = append(src, i)
	}
	got, err := NewReturnCode(bytes.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	if got != "201234567893" {
		t.Fatalf("NewReturnCode = %q, want 201234567893", got)
	}
}

// TestReturnCodeErrors: from many random codes, every single-digit
// substitution and every swap of two neighbouring digits gives an invalid
// code, except the swap 09 ↔ 90, which Luhn cannot see.
func TestReturnCodeErrors(t *testing.T) {
	var firsts [10]int
	seen09 := 0
	for range 2000 {
		code, err := NewReturnCode(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if len(code) != ReturnCodeLength || code[0] == '0' || !ValidReturnCode(code) {
			t.Fatalf("NewReturnCode gave %q", code)
		}
		firsts[code[0]-'0']++
		for pos := range ReturnCodeLength {
			for d := byte('0'); d <= '9'; d++ {
				if d == code[pos] {
					continue
				}
				if bad := code[:pos] + string(d) + code[pos+1:]; ValidReturnCode(bad) {
					t.Fatalf("substitution %s → %s not detected", code, bad)
				}
			}
		}
		for pos := range ReturnCodeLength - 1 {
			a, b := code[pos], code[pos+1]
			if a == b {
				continue
			}
			swapped := code[:pos] + string(b) + string(a) + code[pos+2:]
			is09 := (a == '0' && b == '9') || (a == '9' && b == '0')
			switch {
			case is09 && swapped[0] != '0':
				if !ValidReturnCode(swapped) {
					t.Fatalf("09 ↔ 90 swap %s → %s detected: Luhn should not see it", code, swapped)
				}
				seen09++
			case ValidReturnCode(swapped):
				t.Fatalf("transposition %s → %s not detected", code, swapped)
			}
		}
	}
	if firsts[0] != 0 {
		t.Errorf("%d codes start with 0", firsts[0])
	}
	for d := 1; d <= 9; d++ {
		if firsts[d] < 120 { // mean 222, σ ≈ 14
			t.Errorf("first digit %d drawn %d times in 2000", d, firsts[d])
		}
	}
	t.Logf("09 ↔ 90 swaps met (undetected, as Luhn's known limit): %d", seen09)
}
