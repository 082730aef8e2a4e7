package kannel

import (
	"strings"
	"testing"

	"github.com/lokero/lokero/notify"
)

func TestE164(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string
	}{
		{"040 123 4567", "+358401234567"},
		{"0401234567", "+358401234567"},
		{"040-123 4567", "+358401234567"},
		{" +358 40 123 4567 ", "+358401234567"},
		{"+358 (0)40 123 4567", "+358401234567"},
		{"00358 40 123 4567", "+358401234567"},
		{"050 123 4567", "+358501234567"},
		{"+46 70 123 45 67", "+46701234567"},
		{"+46701234567", "+46701234567"},
		{"+47 412 34 567", "+4741234567"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := E164(tc.in)
			if err != nil || got != tc.want {
				t.Errorf("E164(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestE164Refuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in     string
		reason string // what the error must say
	}{
		{"", "empty"},
		{"12", "too short"},
		{"abc", "letters"},
		{"040 ABC 4567", "letters"},
		{"puh. 040 123 4567", "letters"},
		{"040 123 4567 4567 4567 4567", "too long"},
		{"+210 1234 5678", "country code"},
		{"09 123 4567", "fixed-line"},
		{"0800 12345", "toll-free"},
		{"040#1234567", `'#'`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := E164(tc.in)
			if err == nil {
				t.Fatalf("E164(%q) = %q, want an error", tc.in, got)
			}
			if !notify.IsPermanent(err) {
				t.Errorf("E164(%q): %v is not permanent", tc.in, err)
			}
			if !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("E164(%q): %q does not say %q", tc.in, err, tc.reason)
			}
		})
	}
}
