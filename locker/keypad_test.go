package locker_test

import (
	"encoding/json"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/locker"
)

// hel returns the wall-clock time y-m-d h:mi in Helsinki.
func hel(t testing.TB, y int, m time.Month, d, h, mi int) time.Time {
	t.Helper()
	return time.Date(y, m, d, h, mi, 0, 0, lokero.Helsinki)
}

// wrong records a wrong entry and checks the lockout it started.
func wrong(t *testing.T, p locker.CodePolicy, k locker.Keypad, now time.Time, wantLock time.Duration) locker.Keypad {
	t.Helper()
	k, lock := p.Wrong(k, now)
	if lock != wantLock {
		t.Fatalf("Wrong at %s started a lockout of %v, want %v (state %+v)", now.Format(time.TimeOnly), lock, wantLock, k)
	}
	return k
}

// mustTake asserts that the keypad takes a code at now.
func mustTake(t *testing.T, p locker.CodePolicy, k locker.Keypad, now time.Time) {
	t.Helper()
	if wait, ok := p.Check(k, now); !ok || wait != 0 {
		t.Fatalf("Check at %s = %v, %v; want it to take a code", now.Format(time.TimeOnly), wait, ok)
	}
}

// mustWait asserts that the keypad refuses codes at now for exactly want.
func mustWait(t *testing.T, p locker.CodePolicy, k locker.Keypad, now time.Time, want time.Duration) {
	t.Helper()
	if wait, ok := p.Check(k, now); ok || wait != want {
		t.Fatalf("Check at %s = %v, %v; want a wait of %v", now.Format(time.TimeOnly), wait, ok, want)
	}
}

// uncapped is the default policy without the daily cap, to watch the
// schedule alone.
func uncapped() locker.CodePolicy {
	p := locker.DefaultPolicy()
	p.DailyCap = 0
	return p
}

func TestDefaultPolicy(t *testing.T) {
	t.Parallel()
	p := locker.DefaultPolicy()
	if p.OutdoorLength < 6 || p.IndoorLength < 6 || p.OutdoorLength <= p.IndoorLength {
		t.Errorf("lengths outdoor %d, indoor %d: want at least 6, longer outdoors", p.OutdoorLength, p.IndoorLength)
	}
	if p.WrongLimit != 5 || p.Window != 10*time.Minute {
		t.Errorf("lockout after %d wrong within %v, want 5 within 10m", p.WrongLimit, p.Window)
	}
	wantSchedule := []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour}
	if !slices.Equal(p.Lockouts, wantSchedule) {
		t.Errorf("Lockouts = %v, want %v", p.Lockouts, wantSchedule)
	}
	p.Lockouts[0] = time.Hour
	if again := locker.DefaultPolicy(); again.Lockouts[0] != time.Minute {
		t.Errorf("DefaultPolicy shares its Lockouts slice between calls")
	}
	if got := locker.DefaultPolicy().CodeLength(lokero.TypeLocker); got != p.IndoorLength {
		t.Errorf("CodeLength(LOCKER) = %d, want %d", got, p.IndoorLength)
	}
	if got := locker.DefaultPolicy().CodeLength(lokero.TypeSmartpost); got != p.OutdoorLength {
		t.Errorf("CodeLength(SMARTPOST) = %d, want %d", got, p.OutdoorLength)
	}
}

// TestDefaultPolicyArithmetic checks the package documentation's figures:
// expected compartments opened by guessing per year across 2,000 SMARTPOSTs
// and 10,000 LOCKERs, every keypad attacked to its daily cap every day.
func TestDefaultPolicyArithmetic(t *testing.T) {
	t.Parallel()
	p := locker.DefaultPolicy()
	perLockerYear := func(active float64, length int) float64 {
		return active * float64(p.DailyCap) * 365 / math.Pow10(length)
	}
	network := func(activeOutdoor, activeIndoor float64) float64 {
		return 2000*perLockerYear(activeOutdoor, p.OutdoorLength) + 10000*perLockerYear(activeIndoor, p.IndoorLength)
	}
	tests := []struct {
		name                 string
		outdoor, indoor, max float64
	}{
		{"100 active codes at every locker", 100, 100, 1},
		{"realistic occupancy", 100, 10, 0.1},
	}
	for _, tt := range tests {
		if got := network(tt.outdoor, tt.indoor); got >= tt.max {
			t.Errorf("%s: %.3f compartments a year, want < %v", tt.name, got, tt.max)
		}
	}
	// Issue 21's network (docs/security.md): 2,300 lockers with 100 active
	// codes each, every one attacked to its cap every day, even were they
	// all indoor LOCKERs with the shorter code.
	for _, tt := range []struct {
		length int
		want   float64
	}{{p.IndoorLength, 0.1679}, {p.OutdoorLength, 0.01679}} {
		got := 2300 * perLockerYear(100, tt.length)
		if math.Abs(got-tt.want) > 1e-3*tt.want || got >= 1 {
			t.Errorf("2,300 lockers × 100 codes of %d digits: %.5f a year, want %.5f (< 1)", tt.length, got, tt.want)
		}
	}
}

func TestKeypadLockout(t *testing.T) {
	t.Parallel()
	p := locker.DefaultPolicy()
	t0 := hel(t, 2026, 11, 25, 8, 0)
	var k locker.Keypad
	mustTake(t, p, k, t0)

	// 4 wrong entries: still taking codes.
	for i := range 4 {
		now := t0.Add(time.Duration(i) * time.Minute)
		k = wrong(t, p, k, now, 0)
		mustTake(t, p, k, now)
	}
	// The 5th within 10 minutes locks the keypad for 1 minute.
	t5 := t0.Add(4 * time.Minute)
	k = wrong(t, p, k, t5, time.Minute)
	mustWait(t, p, k, t5, time.Minute)
	mustWait(t, p, k, t5.Add(20*time.Second), 40*time.Second)
	mustTake(t, p, k, t5.Add(time.Minute))
	if k.Level != 1 || !k.LastLockout.Equal(t5) || !k.LockedUntil.Equal(t5.Add(time.Minute)) || k.DayWrong != 5 || k.Day != "2026-11-25" {
		t.Errorf("state after the first lockout = %+v", k)
	}
}

func TestKeypadWindow(t *testing.T) {
	t.Parallel()
	p := locker.DefaultPolicy()
	t0 := hel(t, 2026, 11, 25, 8, 0)
	tests := []struct {
		name  string
		fifth time.Duration // after the first of 4 entries at t0, t0+1m, t0+2m, t0+3m
		lock  time.Duration
	}{
		{"5th within the window", 9*time.Minute + 59*time.Second, time.Minute},
		{"first entry exactly a window old", 10 * time.Minute, 0},
		{"first entry older than the window", 10*time.Minute + time.Second, 0},
		{"two entries older than the window", 11*time.Minute + time.Second, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var k locker.Keypad
			for i := range 4 {
				k = wrong(t, p, k, t0.Add(time.Duration(i)*time.Minute), 0)
			}
			k = wrong(t, p, k, t0.Add(tt.fifth), tt.lock)
			if tt.lock == 0 {
				mustTake(t, p, k, t0.Add(tt.fifth))
				for _, w := range k.Wrong {
					if t0.Add(tt.fifth).Sub(w) >= p.Window {
						t.Errorf("Keypad.Wrong keeps %s, older than the window", w)
					}
				}
			}
		})
	}
}

// lockoutRound enters p.WrongLimit wrong codes a second apart from start and
// returns the state and the lockout the last one started.
func lockoutRound(t *testing.T, p locker.CodePolicy, k locker.Keypad, start time.Time, want time.Duration) (locker.Keypad, time.Time) {
	t.Helper()
	for i := range p.WrongLimit - 1 {
		k = wrong(t, p, k, start.Add(time.Duration(i)*time.Second), 0)
	}
	last := start.Add(time.Duration(p.WrongLimit-1) * time.Second)
	k = wrong(t, p, k, last, want)
	mustWait(t, p, k, last, want)
	mustWait(t, p, k, last.Add(want-time.Second), time.Second)
	mustTake(t, p, k, last.Add(want))
	return k, last.Add(want)
}

func TestKeypadSchedule(t *testing.T) {
	t.Parallel()
	p := uncapped()
	now := hel(t, 2026, 11, 25, 8, 0)
	var k locker.Keypad
	for i, want := range []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour, time.Hour, time.Hour} {
		k, now = lockoutRound(t, p, k, now, want)
		if k.Level != i+1 {
			t.Errorf("Level after lockout %d = %d", i+1, k.Level)
		}
	}
}

func TestKeypadLevelReset(t *testing.T) {
	t.Parallel()
	p := uncapped()
	t0 := hel(t, 2026, 11, 25, 8, 0)
	var k locker.Keypad
	k, _ = lockoutRound(t, p, k, t0, time.Minute)
	k, _ = lockoutRound(t, p, k, t0.Add(time.Hour), 5*time.Minute)
	// Less than a day after the last lockout: the schedule goes on.
	k1, _ := lockoutRound(t, p, k, t0.Add(time.Hour+23*time.Hour), 15*time.Minute)
	if k1.Level != 3 {
		t.Errorf("Level = %d, want 3", k1.Level)
	}
	// A day without a lockout: it starts again from 1 minute.
	k2, _ := lockoutRound(t, p, k, t0.Add(time.Hour+24*time.Hour+time.Minute), time.Minute)
	if k2.Level != 1 {
		t.Errorf("Level after a quiet day = %d, want 1", k2.Level)
	}
}

func TestKeypadDailyCap(t *testing.T) {
	t.Parallel()
	p := locker.DefaultPolicy()
	tests := []struct {
		name  string
		start time.Time     // first wrong entry; then every 3 minutes, so the window never holds 5
		wait  time.Duration // from the 20th entry to the next Helsinki midnight
	}{
		{"ordinary day", hel(t, 2026, 11, 25, 9, 0), 24*time.Hour - 9*time.Hour - 57*time.Minute},
		{"start given in UTC", time.Date(2026, 11, 25, 7, 0, 0, 0, time.UTC), 24*time.Hour - 9*time.Hour - 57*time.Minute},
		// 2026-03-29: clocks go from 03:00 to 04:00, a 23-hour day.
		{"spring forward", hel(t, 2026, 3, 29, 0, 30), 23*time.Hour - 30*time.Minute - 57*time.Minute},
		// 2026-10-25: clocks go from 04:00 back to 03:00, a 25-hour day.
		{"fall back", hel(t, 2026, 10, 25, 0, 30), 25*time.Hour - 30*time.Minute - 57*time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var k locker.Keypad
			now := tt.start
			for range p.DailyCap - 1 {
				k = wrong(t, p, k, now, 0)
				mustTake(t, p, k, now)
				now = now.Add(3 * time.Minute)
			}
			k = wrong(t, p, k, now, tt.wait)
			mustWait(t, p, k, now, tt.wait)
			midnight := now.Add(tt.wait)
			if h, m, s := midnight.In(lokero.Helsinki).Clock(); h != 0 || m != 0 || s != 0 {
				t.Errorf("keypad locked until %s, not a Helsinki midnight", midnight.In(lokero.Helsinki))
			}
			mustWait(t, p, k, midnight.Add(-time.Minute), time.Minute)
			mustTake(t, p, k, midnight)
			// The new day starts a new count.
			k = wrong(t, p, k, midnight, 0)
			if k.DayWrong != 1 || k.Day != midnight.In(lokero.Helsinki).Format(time.DateOnly) {
				t.Errorf("after midnight: Day %q, DayWrong %d; want a fresh count", k.Day, k.DayWrong)
			}
			mustTake(t, p, k, midnight)
		})
	}
}

// TestKeypadCapAndScheduleTogether: when the entry that reaches the daily cap
// also starts a lockout longer than the time to midnight, the longer wins.
func TestKeypadCapAndScheduleTogether(t *testing.T) {
	t.Parallel()
	p := locker.DefaultPolicy()
	now := hel(t, 2026, 11, 25, 23, 50)
	k := locker.Keypad{Level: 3, LastLockout: now.Add(-time.Hour), Day: "2026-11-25", DayWrong: 15}
	for range 4 {
		k = wrong(t, p, k, now, 0)
		now = now.Add(time.Second)
	}
	// 20th of the day (cap: 10m to midnight) and 5th in the window (60m).
	k = wrong(t, p, k, now, time.Hour)
	mustWait(t, p, k, now, time.Hour)
	mustWait(t, p, k, now.Add(30*time.Minute), 30*time.Minute) // past midnight: still locked
}

// TestKeypadNeverShortens: a lockout started while another runs does not
// cut it short.
func TestKeypadNeverShortens(t *testing.T) {
	t.Parallel()
	p := uncapped()
	now := hel(t, 2026, 11, 25, 8, 0)
	until := now.Add(3 * time.Hour)
	k := locker.Keypad{LockedUntil: until}
	for range p.WrongLimit {
		k, _ = p.Wrong(k, now)
	}
	if !k.LockedUntil.Equal(until) {
		t.Errorf("LockedUntil = %s, want %s", k.LockedUntil, until)
	}
	mustWait(t, p, k, now, 3*time.Hour)
}

func TestKeypadRight(t *testing.T) {
	t.Parallel()
	p := locker.DefaultPolicy()
	t0 := hel(t, 2026, 11, 25, 8, 0)
	var k locker.Keypad
	k, _ = lockoutRound(t, p, k, t0, time.Minute)
	now := t0.Add(2 * time.Minute)
	for range 4 {
		k = wrong(t, p, k, now, 0)
		now = now.Add(time.Second)
	}
	before := k
	k = p.AwaitPayment(k, 7, "shp_1", now)
	k = p.Right(k, now)
	if _, ok := p.Payment(k, 7, now); ok {
		t.Error("Right kept the payment session")
	}
	if len(k.Wrong) != 4 || k.Level != before.Level || k.DayWrong != before.DayWrong || k.Day != before.Day ||
		!k.LastLockout.Equal(before.LastLockout) || !k.LockedUntil.Equal(before.LockedUntil) {
		t.Errorf("Right changed the count of wrong entries: %+v → %+v", before, k)
	}
	// The window goes on: the 5th wrong entry after the right one starts
	// the next lockout of the schedule.
	wrong(t, p, k, now, 5*time.Minute)
}

// TestKeypadInterleavedRightCodes: an attacker who holds one valid code
// (a return code, a parcel of their own) and types it between guesses
// gets no more guesses than one who only guesses, under the default
// policy (the daily cap) and under the schedule alone.
func TestKeypadInterleavedRightCodes(t *testing.T) {
	t.Parallel()
	// guesses plays an attacker at full speed (an entry every 2 s) for a
	// day from t0, typing the valid code after every `every` wrong ones
	// (0: never), and counts the wrong entries the keypad took.
	guesses := func(p locker.CodePolicy, every int) int {
		t0 := hel(t, 2026, 11, 25, 0, 0)
		var k locker.Keypad
		n, run := 0, 0
		for now := t0; now.Before(t0.Add(24 * time.Hour)); now = now.Add(2 * time.Second) {
			if _, ok := p.Check(k, now); !ok {
				continue
			}
			if every > 0 && run == every {
				k, run = p.Right(k, now), 0
				continue
			}
			k, _ = p.Wrong(k, now)
			n++
			run++
		}
		return n
	}
	for _, tt := range []struct {
		name string
		p    locker.CodePolicy
		max  int // wrong entries a day at most
	}{
		{"default policy", locker.DefaultPolicy(), 20},
		{"schedule alone", uncapped(), 5 * (4 + 23)}, // 1+5+15 min, then 60 min lockouts: about 27 rounds of 5
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			alone := guesses(tt.p, 0)
			if alone > tt.max {
				t.Errorf("guessing alone: %d wrong entries a day, want at most %d", alone, tt.max)
			}
			for _, every := range []int{1, 2, 3, 4} {
				if got := guesses(tt.p, every); got > alone {
					t.Errorf("a right code after every %d wrong: %d wrong entries a day, more than %d guessing alone", every, got, alone)
				}
			}
		})
	}
}

func TestKeypadWrongDoesNotAlias(t *testing.T) {
	t.Parallel()
	p := locker.DefaultPolicy()
	t0 := hel(t, 2026, 11, 25, 8, 0)
	old := []time.Time{t0, t0.Add(time.Second), t0.Add(2 * time.Second), {}}
	k := locker.Keypad{Wrong: old[:3]}
	k2, _ := p.Wrong(k, t0.Add(3*time.Second))
	if !old[3].IsZero() {
		t.Errorf("Wrong wrote into the caller's slice: %v", old)
	}
	if len(k.Wrong) != 3 || len(k2.Wrong) != 4 {
		t.Errorf("Wrong: old state %d entries, new %d; want 3 and 4", len(k.Wrong), len(k2.Wrong))
	}
}

func TestKeypadJSON(t *testing.T) {
	t.Parallel()
	p := locker.DefaultPolicy()
	t0 := hel(t, 2026, 11, 25, 8, 0)
	var k locker.Keypad
	k, _ = lockoutRound(t, p, k, t0, time.Minute)
	for i := range 3 {
		k = wrong(t, p, k, t0.Add(time.Duration(10+i)*time.Minute), 0)
	}
	data, err := json.Marshal(k)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	var back locker.Keypad
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatalf("unmarshal %s: %v", data, err)
	}
	equal := back.Level == k.Level && back.Day == k.Day && back.DayWrong == k.DayWrong &&
		back.LockedUntil.Equal(k.LockedUntil) && back.LastLockout.Equal(k.LastLockout) &&
		slices.EqualFunc(back.Wrong, k.Wrong, time.Time.Equal)
	if !equal {
		t.Errorf("JSON round trip: %+v → %s → %+v", k, data, back)
	}
	// The restored state behaves the same: 2 more entries lock for 5 minutes.
	now := t0.Add(13 * time.Minute)
	k1 := wrong(t, p, back, now, 0)
	wrong(t, p, k1, now, 5*time.Minute)

	if data, _ := json.Marshal(locker.Keypad{}); string(data) != "{}" {
		t.Errorf("zero Keypad marshals to %s, want {}", data)
	}
}

// TestKeypadPaymentSession: a payment is awaited only for the compartment
// whose code asked for it, within the window; any code entered after it,
// the payment, or the end of the window ends the session.
func TestKeypadPaymentSession(t *testing.T) {
	t.Parallel()
	p := locker.DefaultPolicy()
	if p.PaymentWindow != locker.DefaultPaymentWindow || p.PaymentWindow < time.Minute || p.PaymentWindow > 5*time.Minute {
		t.Fatalf("PaymentWindow = %v; want DefaultPaymentWindow, a few minutes", p.PaymentWindow)
	}
	t0 := hel(t, 2026, 11, 25, 8, 0)
	started := p.AwaitPayment(p.Right(locker.Keypad{}, t0), 7, "shp_1", t0)
	tests := []struct {
		name        string
		k           locker.Keypad
		compartment int
		at          time.Time
		want        bool
	}{
		{"no session", locker.Keypad{}, 7, t0, false},
		{"no session, compartment 0", locker.Keypad{}, 0, t0, false},
		{"the session's compartment", started, 7, t0, true},
		{"just before the window ends", started, 7, t0.Add(p.PaymentWindow - time.Nanosecond), true},
		{"as the window ends", started, 7, t0.Add(p.PaymentWindow), false},
		{"long after", started, 7, t0.Add(time.Hour), false},
		{"another compartment", started, 8, t0, false},
		{"after a wrong code", mustWrong(t, p, started, t0.Add(time.Second)), 7, t0.Add(2 * time.Second), false},
		{"after another right code", p.Right(started, t0.Add(time.Second)), 7, t0.Add(2 * time.Second), false},
		{"after the payment", p.Paid(started), 7, t0.Add(time.Second), false},
		{"a second code that asks for payment replaces the first", p.AwaitPayment(started, 3, "shp_2", t0.Add(time.Minute)), 7, t0.Add(time.Minute), false},
		{"the second session's compartment", p.AwaitPayment(started, 3, "shp_2", t0.Add(time.Minute)), 3, t0.Add(time.Minute + p.PaymentWindow - time.Second), true},
		{"zero window: no payment at all", zeroWindow().AwaitPayment(locker.Keypad{}, 7, "shp_1", t0), 7, t0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, ok := p.Payment(tt.k, tt.compartment, tt.at)
			if ok != tt.want {
				t.Fatalf("Payment(compartment %d) at t0+%v = %+v, %v; want %v", tt.compartment, tt.at.Sub(t0), s, ok, tt.want)
			}
			if ok && (s.Compartment != tt.compartment || s.ShipmentID == "") {
				t.Errorf("session %+v: want compartment %d and its parcel", s, tt.compartment)
			}
		})
	}
	if s, _ := p.Payment(started, 7, t0); s.ShipmentID != "shp_1" || !s.Until.Equal(t0.Add(p.PaymentWindow)) {
		t.Errorf("session %+v; want shp_1 until t0+%v", s, p.PaymentWindow)
	}
	// The policy returns new states: the one given keeps its session.
	p.Paid(started)
	p.Right(started, t0)
	p.Wrong(started, t0)
	if _, ok := p.Payment(started, 7, t0); !ok {
		t.Error("Paid, Right or Wrong modified the Keypad it was given")
	}
	// A session survives the trip through the database.
	data, err := json.Marshal(started)
	if err != nil {
		t.Fatal(err)
	}
	var back locker.Keypad
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatalf("unmarshal %s: %v", data, err)
	}
	if s, ok := p.Payment(back, 7, t0.Add(time.Minute)); !ok || s.ShipmentID != "shp_1" {
		t.Errorf("after a JSON round trip (%s): %+v, %v", data, s, ok)
	}
	if data, _ := json.Marshal(p.Paid(started)); string(data) != "{}" {
		t.Errorf("a keypad whose session ended marshals to %s, want {}", data)
	}
}

// mustWrong records a wrong entry that starts no lockout.
func mustWrong(t *testing.T, p locker.CodePolicy, k locker.Keypad, now time.Time) locker.Keypad {
	t.Helper()
	return wrong(t, p, k, now, 0)
}

func zeroWindow() locker.CodePolicy {
	p := locker.DefaultPolicy()
	p.PaymentWindow = 0
	return p
}
