package lokero

import (
	"testing"
	"time"
)

// TestWeekdayOfAgreesWithTime checks the arithmetic weekday against the
// time package for every day of four centuries (leap years of every kind)
// and that what time.Parse refuses is not a date.
func TestWeekdayOfAgreesWithTime(t *testing.T) {
	t.Parallel()
	for d := time.Date(1899, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() < 2301; d = d.AddDate(0, 0, 1) {
		s := d.Format(dateLayout)
		if got, want := weekdayOf(s), (int(d.Weekday())+6)%7+1; got != want {
			t.Fatalf("weekdayOf(%q) = %d, want %d", s, got, want)
		}
	}
	for _, s := range []string{"", "2026-13-01", "2026-00-10", "2026-02-29", "2100-02-29", "2026-04-31",
		"2026-01-00", "2026-1-01", "2026/01/01", "20260101", "2026-01-1a", "+026-01-01", "0000-01-01", "2026-01-011"} {
		_, err := time.Parse(dateLayout, s)
		if got := weekdayOf(s); got != 0 {
			t.Errorf("weekdayOf(%q) = %d, want 0 (time.Parse: %v)", s, got, err)
		}
	}
	if weekdayOf("2000-02-29") != 2 || weekdayOf("2024-02-29") != 4 {
		t.Error("leap days of 2000 and 2024 are a Tuesday and a Thursday")
	}
}
