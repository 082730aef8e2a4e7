package locker_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"strings"
	"testing"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/locker"
)

// testSecret is a 32-byte server secret for tests.
var testSecret = []byte("0123456789abcdef0123456789abcdef")

// mustCodes returns a Codes keyed with secret.
func mustCodes(t testing.TB, secret []byte) *locker.Codes {
	t.Helper()
	c, err := locker.NewCodes(secret)
	if err != nil {
		t.Fatalf("NewCodes: %v", err)
	}
	return c
}

// mustNew makes a code of n digits at loc, failing the test on an error.
func mustNew(t testing.TB, c *locker.Codes, r io.Reader, loc string, n int) (string, []byte) {
	t.Helper()
	code, hash, err := c.New(r, loc, n)
	if err != nil {
		t.Fatalf("New(%d): %v", n, err)
	}
	return code, hash
}

// onlyDigits reports whether s is non-empty ASCII digits.
func onlyDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// cycleReader yields the bytes 0, 1, …, 255, 0, 1, … forever.
type cycleReader struct{ next byte }

func (r *cycleReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r.next
		r.next++
	}
	return len(p), nil
}

func TestNewCodesSecret(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		secret []byte
		ok     bool
	}{
		{"nil", nil, false},
		{"empty", []byte{}, false},
		{"31 bytes", bytes.Repeat([]byte{7}, 31), false},
		{"32 bytes", bytes.Repeat([]byte{7}, 32), true},
		{"64 bytes", bytes.Repeat([]byte{7}, 64), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := locker.NewCodes(tt.secret)
			if tt.ok {
				if err != nil || c == nil {
					t.Fatalf("NewCodes(%d bytes) = %v, %v; want a Codes", len(tt.secret), c, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("NewCodes(%d bytes) succeeded; want an error", len(tt.secret))
			}
			if code := lokero.ErrorCode(err); code != lokero.EINVALID {
				t.Errorf("NewCodes(%d bytes) error class %q, want %q", len(tt.secret), code, lokero.EINVALID)
			}
		})
	}
}

func TestNewCodeLength(t *testing.T) {
	t.Parallel()
	c := mustCodes(t, testSecret)
	for _, n := range []int{6, 9, 10, 11, 16, 32} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			for range 200 {
				code, hash := mustNew(t, c, rand.Reader, "SP-1", n)
				if len(code) != n || !onlyDigits(code) {
					t.Fatalf("New(%d) = %q, want %d digits", n, code, n)
				}
				if len(hash) != 32 {
					t.Fatalf("hash is %d bytes, want 32", len(hash))
				}
			}
		})
	}
	for _, n := range []int{-1, 0, 5, 33} {
		t.Run(fmt.Sprintf("refuses %d", n), func(t *testing.T) {
			t.Parallel()
			code, hash, err := c.New(rand.Reader, "SP-1", n)
			if err == nil || lokero.ErrorCode(err) != lokero.EINVALID {
				t.Errorf("New(%d) = %q, %x, %v; want an EINVALID error", n, code, hash, err)
			}
		})
	}
}

func TestNewCodeReaderError(t *testing.T) {
	t.Parallel()
	c := mustCodes(t, testSecret)
	boom := errors.New("entropy exhausted")
	tests := []struct {
		name string
		r    io.Reader
	}{
		{"failing reader", iotestErrReader{boom}},
		{"short reader", bytes.NewReader([]byte{1, 2, 3})},
		{"reader of rejected bytes only", bytes.NewReader(bytes.Repeat([]byte{250, 255}, 100))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if code, _, err := c.New(tt.r, "SP-1", 10); err == nil {
				t.Errorf("New = %q, want an error", code)
			}
		})
	}
	if _, _, err := c.New(iotestErrReader{boom}, "SP-1", 10); !errors.Is(err, boom) {
		t.Errorf("New error %v does not wrap the reader's error", err)
	}
}

// iotestErrReader fails every read with err.
type iotestErrReader struct{ err error }

func (r iotestErrReader) Read([]byte) (int, error) { return 0, r.err }

// TestNewCodeRejectionSampling feeds every byte value equally often: with
// rejection sampling each digit comes out exactly equally often, whereas a
// plain b%10 would favour 0..5 (26 of 256 bytes each, not 25).
func TestNewCodeRejectionSampling(t *testing.T) {
	t.Parallel()
	c := mustCodes(t, testSecret)
	r := &cycleReader{}
	var counts [10]int
	// 125 codes of 10 digits = 1,250 digits = the 250 accepted bytes of 5
	// cycles through 0..255.
	for range 125 {
		code, _ := mustNew(t, c, r, "SP-1", 10)
		for _, d := range code {
			counts[d-'0']++
		}
	}
	for d, n := range counts {
		if n != 125 {
			t.Errorf("digit %d came %d times, want 125 (all counts: %v)", d, n, counts)
		}
	}
	// Bytes 250..255 are skipped, not mapped to digits: the code comes
	// from the bytes after them.
	code, _ := mustNew(t, c, bytes.NewReader([]byte{250, 251, 252, 253, 254, 255, 3, 14, 159, 26, 5, 35}), "SP-1", 6)
	if code != "349655" {
		t.Errorf("New skipping 250..255 = %q, want %q", code, "349655")
	}
}

// TestNewCodeUniform is a chi-square test of the digits of codes from
// crypto/rand, overall and per position.
func TestNewCodeUniform(t *testing.T) {
	t.Parallel()
	const (
		codes  = 20000
		length = 10
		// The chi-square critical value for 9 degrees of freedom at
		// p = 1e-6 (Wilson–Hilferty): a uniform source fails about once
		// in a million runs per statistic.
		critical = 46.0
	)
	c := mustCodes(t, testSecret)
	var overall [10]int
	var perPos [length][10]int
	for range codes {
		code, _ := mustNew(t, c, rand.Reader, "SP-1", length)
		for i, d := range code {
			overall[d-'0']++
			perPos[i][d-'0']++
		}
	}
	if x := chiSquare(overall[:]); x > critical {
		t.Errorf("digits overall: chi-square %.1f > %.1f; counts %v", x, critical, overall)
	}
	for i := range perPos {
		if x := chiSquare(perPos[i][:]); x > critical {
			t.Errorf("digit %d: chi-square %.1f > %.1f; counts %v", i+1, x, critical, perPos[i])
		}
	}
	// The test itself must be able to fail: a source skewed like b%10
	// without rejection is caught at this sample size.
	var skewed [10]int
	for b := range codes * length {
		skewed[(b%256)%10]++
	}
	if x := chiSquare(skewed[:]); x <= critical {
		t.Errorf("chi-square %.1f of a b%%10 source does not exceed %.1f: the test has no power", x, critical)
	}
}

// chiSquare returns Pearson's statistic of counts against a uniform
// distribution.
func chiSquare(counts []int) float64 {
	total := 0
	for _, n := range counts {
		total += n
	}
	exp := float64(total) / float64(len(counts))
	x := 0.0
	for _, n := range counts {
		d := float64(n) - exp
		x += d * d / exp
	}
	return x
}

func TestNewCodeDeterministic(t *testing.T) {
	t.Parallel()
	c := mustCodes(t, testSecret)
	seed := [32]byte{1, 2, 3}
	a, ha := mustNew(t, c, mrand.NewChaCha8(seed), "SP-1", 10)
	b, hb := mustNew(t, c, mrand.NewChaCha8(seed), "SP-1", 10)
	if a != b || !bytes.Equal(ha, hb) {
		t.Errorf("same reader gave %q (%x) and %q (%x)", a, ha, b, hb)
	}
	other, _ := mustNew(t, c, mrand.NewChaCha8([32]byte{4, 5, 6}), "SP-1", 10)
	if other == a {
		t.Errorf("different seeds gave the same code %q", a)
	}
	// A fixed byte stream gives a known code: 0x00 → 0, 0x0b → 1, 0xf9 (249) → 9.
	code, _ := mustNew(t, c, bytes.NewReader([]byte{0, 11, 249, 100, 42, 77}), "SP-1", 6)
	if code != "019027" {
		t.Errorf("New from fixed bytes = %q, want %q", code, "019027")
	}
}

func TestHash(t *testing.T) {
	t.Parallel()
	c := mustCodes(t, testSecret)
	other := mustCodes(t, []byte("another secret, at least 32 bytes long"))
	code, hash := mustNew(t, c, rand.Reader, "SP-1", 10)

	same := func(t *testing.T, what string, a, b []byte) {
		t.Helper()
		if !bytes.Equal(a, b) {
			t.Errorf("%s: hashes differ, want equal", what)
		}
	}
	differ := func(t *testing.T, what string, a, b []byte) {
		t.Helper()
		if bytes.Equal(a, b) {
			t.Errorf("%s: hashes equal, want different", what)
		}
	}
	same(t, "Hash(New)", c.Hash("SP-1", code), hash)
	if !c.Match("SP-1", code, hash) {
		t.Errorf("Match(the code) = false")
	}
	differ(t, "another location", c.Hash("SP-2", code), hash)
	if c.Match("SP-2", code, hash) {
		t.Errorf("Match at another location = true")
	}
	differ(t, "another secret", other.Hash("SP-1", code), hash)
	differ(t, "another code", c.Hash("SP-1", "0123456789"), c.Hash("SP-1", "0123456788"))
	differ(t, "leading zero matters", c.Hash("SP-1", "0123456789"), c.Hash("SP-1", "123456789"))
	differ(t, "location and code do not run together", c.Hash("SP-1", "23456789"), c.Hash("SP-", "123456789"))
	if len(hash) != 32 {
		t.Errorf("hash is %d bytes, want 32", len(hash))
	}
	if strings.Contains(string(hash), code) || bytes.Contains(hash, []byte(code)) {
		t.Errorf("hash contains the clear code")
	}

	// Spaces are stripped: a code may be typed in groups.
	grouped := code[:3] + " " + code[3:7] + "  " + code[7:]
	for _, typed := range []string{grouped, " " + code + " ", "\t" + code + "\n", strings.Join(strings.Split(code, ""), " ")} {
		same(t, fmt.Sprintf("typed %q", typed), c.Hash("SP-1", typed), hash)
	}

	// Anything but digits matches nothing, and does not panic.
	digits := c.Hash("SP-1", "1234567890")
	for _, bad := range []string{"", "   ", "12345678x0", "1234-567890", "١٢٣٤٥٦٧٨٩٠", "１２３４５６７８９０", "+1234567890", "12345678\x000"} {
		h := c.Hash("SP-1", bad)
		if len(h) != 32 {
			t.Errorf("Hash(%q) is %d bytes, want 32", bad, len(h))
		}
		differ(t, fmt.Sprintf("Hash(%q) vs a digit code", bad), h, digits)
		if c.Match("SP-1", bad, hash) {
			t.Errorf("Match(%q) = true", bad)
		}
	}
}

func TestCodesCopiesSecretAndHidesIt(t *testing.T) {
	t.Parallel()
	secret := bytes.Clone(testSecret)
	c := mustCodes(t, secret)
	before := c.Hash("SP-1", "1234567890")
	secret[0] ^= 0xff
	if after := c.Hash("SP-1", "1234567890"); !bytes.Equal(before, after) {
		t.Errorf("changing the caller's secret slice changed the hash")
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		if s := fmt.Sprintf(verb, c); strings.Contains(s, string(testSecret[:8])) || strings.Contains(s, "48 49 50") {
			t.Errorf("fmt %s of a Codes shows the secret: %s", verb, s)
		}
	}
}

// TestSubKey: a sub-key depends on the purpose and the newest key only,
// and is none of the keys nor a fingerprint.
func TestSubKey(t *testing.T) {
	t.Parallel()
	a := mustCodes(t, bytes.Repeat([]byte{1}, 32))
	again := mustCodes(t, bytes.Repeat([]byte{1}, 32))
	other := mustCodes(t, bytes.Repeat([]byte{2}, 32))
	rotated, err := locker.NewKeyring(locker.Key{Generation: 1, Secret: bytes.Repeat([]byte{2}, 32)}, locker.Key{Generation: 0, Secret: bytes.Repeat([]byte{1}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	session := a.SubKey("session")
	if len(session) != 32 {
		t.Fatalf("sub-key of %d bytes; want 32", len(session))
	}
	if !bytes.Equal(session, again.SubKey("session")) {
		t.Error("one secret derives two session keys")
	}
	if bytes.Equal(session, a.SubKey("other")) {
		t.Error("two purposes derive one key")
	}
	if bytes.Equal(session, other.SubKey("session")) {
		t.Error("two secrets derive one key")
	}
	if !bytes.Equal(rotated.SubKey("session"), other.SubKey("session")) {
		t.Error("a keyring's sub-key is not its newest key's")
	}
	if bytes.Equal(session, bytes.Repeat([]byte{1}, 32)) || strings.Contains(a.Fingerprints()[0], fmt.Sprintf("%x", session)) {
		t.Error("the sub-key is the secret or its fingerprint")
	}
}
