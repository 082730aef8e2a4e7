package controller

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
)

// fakeLocker answers the screen's calls with set answers and records
// them as "keypad:CODE", "signin:TOKEN", "signout:", "deposit:CODE",
// "qr:TEXT". An open answer opens its door on the driver, as a controller
// would. A deposit before a sign-in answered ResultSignedIn (or after a
// sign-out) is refused ErrCourierSignIn, as a controller refuses it.
type fakeLocker struct {
	d       *SimDriver
	answers map[string]fakeAnswer // by kind: keypad, deposit, qr
	online  bool

	mu       sync.Mutex
	calls    []string
	signedIn bool
}

type fakeAnswer struct {
	res KeypadResult
	err error
}

func (f *fakeLocker) answer(kind, arg string) (KeypadResult, error) {
	f.mu.Lock()
	f.calls = append(f.calls, kind+":"+arg)
	f.mu.Unlock()
	a, ok := f.answers[kind]
	if !ok {
		return KeypadResult{Result: ResultWrongCode}, nil
	}
	if a.err == nil && a.res.Result == ResultOpen && f.d != nil {
		if err := f.d.Open(context.Background(), a.res.Compartment); err != nil {
			return KeypadResult{}, err
		}
	}
	return a.res, a.err
}

func (f *fakeLocker) Keypad(_ context.Context, code string) (KeypadResult, error) {
	return f.answer("keypad", code)
}

func (f *fakeLocker) SignInCourier(_ context.Context, token string) (KeypadResult, error) {
	res, err := f.answer("signin", token)
	f.mu.Lock()
	f.signedIn = err == nil && res.Result == ResultSignedIn
	f.mu.Unlock()
	return res, err
}

func (f *fakeLocker) SignOutCourier() {
	f.mu.Lock()
	f.signedIn = false
	f.mu.Unlock()
	f.answer("signout", "")
}

func (f *fakeLocker) Deposit(_ context.Context, tracking string) (KeypadResult, error) {
	f.mu.Lock()
	in := f.signedIn
	f.mu.Unlock()
	if !in {
		f.answer("deposit(refused)", tracking)
		return KeypadResult{}, ErrCourierSignIn
	}
	return f.answer("deposit", tracking)
}

func (f *fakeLocker) ScanQR(_ context.Context, token string) (KeypadResult, error) {
	return f.answer("qr", token)
}

// onlineLocker is a fakeLocker that says whether it is connected.
type onlineLocker struct{ *fakeLocker }

func (o onlineLocker) Connected() bool { return o.online }

// keys turns a key script into key presses: each character is typed on
// its own; <enter>, <tab>, <f2>, <f3>, <f4>, <bs>, <space>, <esc> and
// <ctrl+c> are those keys; <paste:TEXT> pastes TEXT at once.
func keys(t *testing.T, script string) []tea.KeyMsg {
	t.Helper()
	special := map[string]tea.KeyType{
		"enter": tea.KeyEnter, "tab": tea.KeyTab, "f2": tea.KeyF2, "f3": tea.KeyF3, "f4": tea.KeyF4,
		"bs": tea.KeyBackspace, "space": tea.KeySpace, "esc": tea.KeyEsc, "ctrl+c": tea.KeyCtrlC,
	}
	var out []tea.KeyMsg
	for script != "" {
		if script[0] == '<' {
			end := strings.IndexByte(script, '>')
			if end < 0 {
				t.Fatalf("key script: unclosed <: %q", script)
			}
			name := script[1:end]
			script = script[end+1:]
			if text, ok := strings.CutPrefix(name, "paste:"); ok {
				out = append(out, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(text), Paste: true})
				continue
			}
			k, ok := special[name]
			if !ok {
				t.Fatalf("key script: no key <%s>", name)
			}
			out = append(out, tea.KeyMsg{Type: k})
			continue
		}
		r := []rune(script)[0]
		script = script[len(string(r)):]
		out = append(out, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
	return out
}

// press feeds the key presses to s, running every command they return
// (and those of the messages they make) at once; it reports whether the
// screen quit.
func press(t *testing.T, s *Screen, ks []tea.KeyMsg) (quit bool) {
	t.Helper()
	var run func(cmd tea.Cmd)
	run = func(cmd tea.Cmd) {
		if cmd == nil {
			return
		}
		switch msg := cmd().(type) {
		case nil:
		case tea.QuitMsg:
			quit = true
		case tea.BatchMsg:
			for _, c := range msg {
				run(c)
			}
		default:
			_, next := s.Update(msg)
			run(next)
		}
	}
	for _, k := range ks {
		_, cmd := s.Update(k)
		run(cmd)
	}
	return quit
}

var ansiSeq = regexp.MustCompile(`\x1b\[[0-9;?]*[ -/]*[@-~]`)

// plainView is the screen's view without ANSI attributes.
func plainView(s *Screen) string { return ansiSeq.ReplaceAllString(s.View(), "") }

func TestScreenKeys(t *testing.T) {
	t.Parallel()
	open := func(n int) fakeAnswer { return fakeAnswer{res: KeypadResult{Result: ResultOpen, Compartment: n}} }
	signedIn := fakeAnswer{res: KeypadResult{Result: ResultSignedIn}}
	tests := []struct {
		name        string
		answers     map[string]fakeAnswer
		opened      []int // doors open before the keys
		script      string
		wantCalls   []string
		wantDisplay string
		wantMode    ScreenMode
		wantView    []string // in the view, ANSI stripped
		notView     []string // not in it
		wantQuit    bool
		wantOpen    []int // doors open after
		wantShut    []int // doors shut after
	}{
		{name: "right code opens a door", answers: map[string]fakeAnswer{"keypad": open(7)},
			script: "C12345678901<enter>", wantCalls: []string{"keypad:12345678901"},
			wantDisplay: "Door 7 is open", wantView: []string{"[  7]", "> Door 7 is open"}, wantOpen: []int{7}},
		{name: "C clears what was typed", answers: map[string]fakeAnswer{"keypad": open(2)},
			script: "C99C123<enter>", wantCalls: []string{"keypad:123"}, wantDisplay: "Door 2 is open"},
		{name: "digits without C", answers: map[string]fakeAnswer{"keypad": open(2)},
			script: "4455<enter>", wantCalls: []string{"keypad:4455"}, wantDisplay: "Door 2 is open"},
		{name: "backspace and letters ignored", answers: map[string]fakeAnswer{"keypad": open(3)},
			script: "C12x39<bs><space>4<enter>", wantCalls: []string{"keypad:1234"}, wantDisplay: "Door 3 is open"},
		{name: "wrong code", answers: map[string]fakeAnswer{"keypad": {res: KeypadResult{Result: ResultWrongCode}}},
			script: "C111<enter>", wantCalls: []string{"keypad:111"}, wantDisplay: "Wrong code", notView: []string{"[  "}},
		{name: "wrong code that locks the keypad",
			answers: map[string]fakeAnswer{"keypad": {res: KeypadResult{Result: ResultWrongCode, Wait: 5 * time.Minute}}},
			script:  "C111<enter>", wantCalls: []string{"keypad:111"}, wantDisplay: "Wrong code: locked for 5m"},
		{name: "locked, minutes rounded up",
			answers: map[string]fakeAnswer{"keypad": {res: KeypadResult{Result: ResultLocked, Wait: 3*time.Minute + 30*time.Second}}},
			script:  "C111<enter>", wantCalls: []string{"keypad:111"}, wantDisplay: "Locked: try again in 4m"},
		{name: "locked under a minute",
			answers: map[string]fakeAnswer{"keypad": {res: KeypadResult{Result: ResultLocked, Wait: 20 * time.Second}}},
			script:  "C111<enter>", wantCalls: []string{"keypad:111"}, wantDisplay: "Locked: try again in 20s"},
		{name: "cash on delivery",
			answers: map[string]fakeAnswer{"keypad": {res: KeypadResult{Result: ResultPaymentRequired, Compartment: 4, AmountCents: 1250}}},
			script:  "C222<enter>", wantCalls: []string{"keypad:222"}, wantDisplay: "Pay 12.50 EUR at the terminal"},
		{name: "no answer", answers: map[string]fakeAnswer{"keypad": {res: KeypadResult{Result: ResultUnknown}}},
			script: "C333<enter>", wantCalls: []string{"keypad:333"}, wantDisplay: "No answer: try again"},
		{name: "no answer, and the keypad locked for it",
			answers: map[string]fakeAnswer{"keypad": {res: KeypadResult{Result: ResultUnknown, Wait: 5 * time.Minute}}},
			script:  "C333<enter>", wantCalls: []string{"keypad:333"}, wantDisplay: "No answer: locked for 5m"},
		{name: "an error", answers: map[string]fakeAnswer{"keypad": {err: errors.New("lock board silent")}},
			script: "C333<enter>", wantCalls: []string{"keypad:333"}, wantDisplay: "Sorry: lock board silent"},
		{name: "empty OK calls nothing", script: "C<enter>", wantDisplay: "Type C, your code, OK"},
		{name: "the code is masked", script: "C4321",
			wantView: []string{"Code: ••••_", "RECIPIENT"}, notView: []string{"4321"}, wantDisplay: "Type C, your code, OK"},
		{name: "courier mode asks for the sign-in first", script: "<tab>",
			wantMode: ModeCourier, wantView: []string{"COURIER", "Courier token: 0 characters read", "Enter: sign in"},
			wantDisplay: "Courier: type or scan your courier token, then Enter"},
		{name: "a courier's token is masked", script: "<tab>lkc_secret", notView: []string{"secret", "lkc_"},
			wantMode: ModeCourier, wantView: []string{"Courier token: 10 characters read"},
			wantDisplay: "Courier: type or scan your courier token, then Enter"},
		{name: "the first entry is the token, not a deposit", answers: map[string]fakeAnswer{"deposit": open(12)},
			script: "<tab>CL123456785FI<enter>", wantCalls: []string{"signin:CL123456785FI"}, wantMode: ModeCourier,
			wantDisplay: "Unknown courier token", wantView: []string{"Courier token:"}, notView: []string{"[ 12]"}},
		{name: "courier signs in and deposits", answers: map[string]fakeAnswer{"signin": signedIn, "deposit": open(12)},
			script: "<tab><paste:lkc_tok><enter>jjfi-0012<enter>", wantCalls: []string{"signin:lkc_tok", "deposit:JJFI-0012"}, wantMode: ModeCourier,
			wantDisplay: "Put the parcel in door 12", wantView: []string{"COURIER", "[ 12]"}, notView: []string{"lkc_tok"}, wantOpen: []int{12}},
		{name: "courier sees the tracking code", answers: map[string]fakeAnswer{"signin": signedIn},
			script: "<f2>lkc_tok<enter>JJFI7", wantCalls: []string{"signin:lkc_tok"},
			wantMode: ModeCourier, wantView: []string{"Tracking code: JJFI7_"}, wantDisplay: "Signed in: type the tracking code, then Enter"},
		{name: "courier's deposit refused", answers: map[string]fakeAnswer{"signin": signedIn, "deposit": {err: errors.New("no parcel JJFI9 for this locker")}},
			script: "<tab>lkc_tok<enter>JJFI9<enter>", wantCalls: []string{"signin:lkc_tok", "deposit:JJFI9"}, wantMode: ModeCourier,
			wantDisplay: "Sorry: no parcel JJFI9 for this locker", wantView: []string{"Tracking code: _"}},
		{name: "a lapsed sign-in asks for it again", answers: map[string]fakeAnswer{"signin": signedIn, "deposit": {err: ErrCourierSignIn}},
			script: "<tab>lkc_tok<enter>JJFI9<enter>", wantCalls: []string{"signin:lkc_tok", "deposit:JJFI9"}, wantMode: ModeCourier,
			wantDisplay: "Sorry: " + ErrCourierSignIn.Error(), wantView: []string{"Courier token: 0 characters read"}},
		{name: "no answer to the sign-in", answers: map[string]fakeAnswer{"signin": {res: KeypadResult{Result: ResultUnknown}}},
			script: "<tab>lkc_tok<enter>", wantCalls: []string{"signin:lkc_tok"}, wantMode: ModeCourier, wantDisplay: "No answer: try again"},
		{name: "tab back to recipient", answers: map[string]fakeAnswer{"keypad": open(1)},
			script: "<tab>AB<tab>C55<enter>", wantCalls: []string{"signout:", "keypad:55"}, wantDisplay: "Door 1 is open"},
		{name: "leaving courier mode signs the courier out", answers: map[string]fakeAnswer{"signin": signedIn, "deposit": open(4)},
			script: "<tab>lkc_tok<enter><tab><tab>JJFI1<enter>", wantCalls: []string{"signin:lkc_tok", "signout:", "signin:JJFI1"},
			wantMode: ModeCourier, wantDisplay: "Signed in: type the tracking code, then Enter", notView: []string{"[  4]"}},
		{name: "a QR code pasted", answers: map[string]fakeAnswer{"qr": open(3)},
			script: "Q<paste:eyJhIjoxfQ.c2ln-_x><enter>", wantCalls: []string{"qr:eyJhIjoxfQ.c2ln-_x"}, wantMode: ModeQR,
			wantDisplay: "Door 3 is open"},
		{name: "a QR code shows only its length", script: "<f3><paste:secret.token>",
			wantMode: ModeQR, wantView: []string{"SCAN QR", "QR code: 12 characters read"}, notView: []string{"secret"},
			wantDisplay: "Hold the QR code to the scanner (paste its text), then Enter"},
		{name: "QR from courier mode, then Tab", answers: map[string]fakeAnswer{"signin": signedIn, "deposit": open(8)},
			script: "<tab><f3>abc<tab>lkc_t<enter>XY1<enter>", wantCalls: []string{"signout:", "signin:lkc_t", "deposit:XY1"}, wantMode: ModeCourier,
			wantDisplay: "Put the parcel in door 8"},
		{name: "S shuts a door", opened: []int{5}, script: "S5<enter>",
			wantDisplay: "Door 5 shut", wantShut: []int{5}, notView: []string{"[  5]"}},
		{name: "F4 shuts a door in courier mode", opened: []int{5, 6}, script: "<tab><f4>6<enter>",
			wantMode: ModeCourier, wantDisplay: "Door 6 shut", wantShut: []int{6}, wantOpen: []int{5}, wantView: []string{"[  5]"}},
		{name: "a shut door shuts not", script: "S6<enter>", wantDisplay: "Door 6 was not open"},
		{name: "no such door", script: "S61<enter>", wantDisplay: `No door "61": the doors are 1 to 60`},
		{name: "esc quits", script: "C12<esc>", wantQuit: true, wantDisplay: "Type C, your code, OK"},
		{name: "ctrl+c quits", script: "<tab>AB<ctrl+c>", wantQuit: true, wantMode: ModeCourier,
			wantDisplay: "Courier: type or scan your courier token, then Enter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := NewSimDriver(60)
			for _, n := range tt.opened {
				if err := d.Open(context.Background(), n); err != nil {
					t.Fatal(err)
				}
			}
			f := &fakeLocker{d: d, answers: tt.answers}
			s := NewScreen(context.Background(), "SP-00100-1", f, d, 60)
			s.tick = 0
			if cmd := s.Init(); cmd != nil {
				t.Fatal("Init with no tick returned a command")
			}
			quit := press(t, s, keys(t, tt.script))
			if quit != tt.wantQuit {
				t.Errorf("quit = %v; want %v", quit, tt.wantQuit)
			}
			if !slices.Equal(f.calls, tt.wantCalls) {
				t.Errorf("calls %q; want %q", f.calls, tt.wantCalls)
			}
			if s.Display() != tt.wantDisplay {
				t.Errorf("display %q; want %q", s.Display(), tt.wantDisplay)
			}
			if s.Mode() != tt.wantMode {
				t.Errorf("mode %v; want %v", s.Mode(), tt.wantMode)
			}
			view := plainView(s)
			for _, want := range tt.wantView {
				if !strings.Contains(view, want) {
					t.Errorf("view lacks %q:\n%s", want, view)
				}
			}
			for _, not := range tt.notView {
				if strings.Contains(view, not) {
					t.Errorf("view shows %q:\n%s", not, view)
				}
			}
			for _, n := range tt.wantOpen {
				if !d.IsOpen(n) {
					t.Errorf("door %d shut; want it open", n)
				}
			}
			for _, n := range tt.wantShut {
				if d.IsOpen(n) {
					t.Errorf("door %d open; want it shut", n)
				}
				select {
				case ev := <-d.Events():
					if ev != (DoorEvent{Compartment: n}) {
						t.Errorf("driver reported %+v; want door %d shut", ev, n)
					}
				default:
					t.Errorf("the driver reported no door shut; want %d", n)
				}
			}
		})
	}
}

// TestScreenBusy: while the locker answers, the screen says so and takes
// no entry; the answer then shows.
func TestScreenBusy(t *testing.T) {
	t.Parallel()
	f := &fakeLocker{answers: map[string]fakeAnswer{"keypad": {res: KeypadResult{Result: ResultOpen, Compartment: 9}}}}
	s := NewScreen(context.Background(), "L1", f, nil, 12)
	s.tick = 0
	press(t, s, keys(t, "C42"))
	_, cmd := s.Update(tea.KeyMsg{Type: tea.KeyEnter})
	if cmd == nil {
		t.Fatal("OK made no call")
	}
	if len(f.calls) != 0 {
		t.Fatalf("the call ran in Update: %q", f.calls)
	}
	if s.Display() != "One moment…" {
		t.Errorf("display while busy %q", s.Display())
	}
	press(t, s, keys(t, "77<enter>"))
	if view := plainView(s); !strings.Contains(view, "Code: _") {
		t.Errorf("busy screen took an entry:\n%s", view)
	}
	s.Update(cmd())
	if !slices.Equal(f.calls, []string{"keypad:42"}) || s.Display() != "Door 9 is open" {
		t.Errorf("calls %q, display %q; want one keypad:42 and door 9 open", f.calls, s.Display())
	}
	// No driver: every door shows shut and none can be shut.
	press(t, s, keys(t, "S9<enter>"))
	if s.Display() != "No door can be shut here" {
		t.Errorf("shutting without a driver: %q", s.Display())
	}
}

// TestScreenOnline: a locker with Connected shows its link, read again on
// each tick.
func TestScreenOnline(t *testing.T) {
	t.Parallel()
	f := onlineLocker{&fakeLocker{}}
	s := NewScreen(context.Background(), "SP-00100-1", f, NewSimDriver(3), 3)
	if s.Init() == nil {
		t.Error("Init started no tick")
	}
	if view := plainView(s); !strings.Contains(view, "LOKERO  locker SP-00100-1  · offline") {
		t.Errorf("view:\n%s", view)
	}
	f.online = true
	if _, cmd := s.Update(tickMsg{}); cmd == nil {
		t.Error("a tick started no next tick")
	}
	if view := plainView(s); !strings.Contains(view, "· online") {
		t.Errorf("view after going online:\n%s", view)
	}
	plain := NewScreen(context.Background(), "X", &fakeLocker{}, nil, 3)
	if view := plainView(plain); strings.Contains(view, "online") || strings.Contains(view, "offline") {
		t.Errorf("a locker without Connected shows a link:\n%s", view)
	}
}
