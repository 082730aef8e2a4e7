package controller

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	tea "github.com/charmbracelet/bubbletea"
)

// Locker is what the keypad's screen asks of a locker's controller
// (Controller implements it). Each call says what the screen shows.
type Locker interface {
	// Keypad takes an opening code entered at the keypad.
	Keypad(ctx context.Context, code string) (KeypadResult, error)
	// SignInCourier takes a courier's token, courier mode's first entry:
	// ResultSignedIn when the courier may deposit.
	SignInCourier(ctx context.Context, token string) (KeypadResult, error)
	// SignOutCourier ends the courier's sign-in (courier mode left).
	SignOutCourier()
	// Deposit takes a courier's tracking code: ResultOpen and the
	// compartment the parcel goes in, or an error saying why not
	// (ErrCourierSignIn: the courier is to sign in again).
	Deposit(ctx context.Context, trackingCode string) (KeypadResult, error)
	// ScanQR takes the text of a QR code held to the scanner.
	ScanQR(ctx context.Context, token string) (KeypadResult, error)
}

// ScreenMode is what the screen takes typed input as.
type ScreenMode int

// The modes of the screen.
const (
	ModeRecipient ScreenMode = iota // an opening code: C, digits, OK
	ModeCourier                     // the courier's token, then tracking codes to deposit
	ModeQR                          // the text of a QR code
)

// String names the mode as the screen shows it.
func (m ScreenMode) String() string {
	switch m {
	case ModeCourier:
		return "COURIER"
	case ModeQR:
		return "SCAN QR"
	}
	return "RECIPIENT"
}

// Limits of what an entry holds; keys beyond them are ignored.
const (
	maxCodeLen     = 32
	maxTrackingLen = 64
	maxTokenLen    = maxCourierToken
	maxQRLen       = 4096
	maxDoorLen     = 3
)

// screenTick is how often the screen reads the doors and the link again.
const screenTick = 500 * time.Millisecond

// Screen is a locker's face in a terminal (a bubbletea model, run by
// `lokero locker run --keypad`): the locker's ID and whether it is
// online, a grid of its compartment doors (an open one as [ 7], in
// reverse video), the mode, the entry, a display line saying what the
// locker did, and a hint of the keys.
//
// Keys, in every mode: Tab or F2 switches between recipient and courier;
// F3 scans a QR code; F4 starts "shut door n" (type n, then Enter: the
// simulated door shuts and the controller reports it); Esc or ctrl+c
// quits. In recipient mode (the default, as at Posti's lockers): C clears
// the entry, digits type the code, Enter is OK; Q also scans a QR code
// and S also starts "shut door n". Courier mode first asks for the
// courier's sign-in: their courier token, typed or scanned (pasted), Enter
// signs in (Locker.SignInCourier); then letters, digits and "-" type a
// tracking code (upper-cased), Enter deposits. Leaving courier mode signs
// the courier out; a deposit answered ErrCourierSignIn asks for the
// sign-in again. In QR mode anything typed or pasted is the QR code's
// text, Enter scans it.
//
// An opening code shows masked, a • a digit, none in clear (the screen of
// a locker is in a public place); a QR code's text and a courier's token
// show only as their length (they open doors too); a tracking code shows
// in clear (it is on the parcel's label). The screen logs nothing. Its calls to the Locker
// run as tea.Cmds, one at a time: while one runs the screen says so and
// takes no entry.
type Screen struct {
	ctx    context.Context
	id     string
	locker Locker
	doors  *SimDriver
	n      int
	online func() bool // nil: the link is not shown
	tick   time.Duration

	mode     ScreenMode
	signedIn bool // courier mode: a courier signed in, the entry is a tracking code
	shutting bool // the entry is the number of a door to shut
	entry    []rune
	busy     bool
	display  string
	open     []bool // the doors as last read, index compartment-1
}

// NewScreen returns the face of locker id with compartments doors: its
// entries go to l, each call bounded by ctx; the doors are read from, and
// shut through, d (nil: no door can be shut and all show closed). When l
// also has a Connected() bool method (as Controller does), the screen
// shows whether the locker is online.
func NewScreen(ctx context.Context, id string, l Locker, d *SimDriver, compartments int) *Screen {
	s := &Screen{ctx: ctx, id: id, locker: l, doors: d, n: max(compartments, 0), tick: screenTick,
		display: idleText(ModeRecipient)}
	if c, ok := l.(interface{ Connected() bool }); ok {
		s.online = c.Connected
	}
	s.readDoors()
	return s
}

// Mode returns the screen's current mode.
func (s *Screen) Mode() ScreenMode { return s.mode }

// Display returns the screen's display line.
func (s *Screen) Display() string { return s.display }

// The messages the screen's commands return.
type (
	tickMsg struct{}
	shutMsg struct {
		n    int
		shut bool
	}
	answeredMsg struct {
		mode   ScreenMode
		signIn bool // the answer to a courier's sign-in
		res    KeypadResult
		err    error
	}
)

// Init starts the screen's tick.
func (s *Screen) Init() tea.Cmd { return s.tickCmd() }

func (s *Screen) tickCmd() tea.Cmd {
	if s.tick <= 0 {
		return nil
	}
	return tea.Tick(s.tick, func(time.Time) tea.Msg { return tickMsg{} })
}

// Update takes a key, an answer of the locker or a tick.
func (s *Screen) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.KeyMsg:
		return s, s.key(msg)
	case answeredMsg:
		s.busy = false
		if msg.signIn {
			s.display = signInText(msg.res, msg.err)
			if msg.err == nil && msg.res.Result == ResultSignedIn {
				if s.mode != ModeCourier {
					// Left courier mode while the sign-in was answered.
					return s, s.signOut()
				}
				s.signedIn = true
			}
			break
		}
		if msg.mode == ModeCourier && errors.Is(msg.err, ErrCourierSignIn) {
			s.signedIn = false
		}
		s.display = answerText(msg.mode, msg.res, msg.err)
	case shutMsg:
		if msg.shut {
			s.display = fmt.Sprintf("Door %d shut", msg.n)
		} else {
			s.display = fmt.Sprintf("Door %d was not open", msg.n)
		}
	case tickMsg:
		s.readDoors()
		return s, s.tickCmd()
	}
	s.readDoors()
	return s, nil
}

// key takes one key press (or a run of runes typed or pasted at once).
func (s *Screen) key(k tea.KeyMsg) tea.Cmd {
	switch k.Type {
	case tea.KeyCtrlC, tea.KeyEsc:
		return tea.Quit
	case tea.KeyTab, tea.KeyF2:
		if s.mode == ModeCourier {
			return s.setMode(ModeRecipient)
		}
		return s.setMode(ModeCourier)
	case tea.KeyF3:
		return s.setMode(ModeQR)
	case tea.KeyF4:
		s.startShut()
		return nil
	}
	if s.busy {
		return nil
	}
	switch k.Type {
	case tea.KeyEnter:
		return s.ok()
	case tea.KeyBackspace, tea.KeyDelete:
		if len(s.entry) > 0 {
			s.entry = s.entry[:len(s.entry)-1]
		}
	case tea.KeySpace:
		if s.mode == ModeQR && !s.shutting { // (a courier's token has no space)
			s.typeRune(' ')
		}
	case tea.KeyRunes:
		if k.Alt {
			return nil
		}
		var cmd tea.Cmd
		for _, r := range k.Runes {
			if c := s.typeRune(r); c != nil {
				cmd = c
			}
		}
		return cmd
	}
	return nil
}

// setMode switches to mode m with an empty entry; leaving courier mode
// signs the courier out (the command it returns).
func (s *Screen) setMode(m ScreenMode) tea.Cmd {
	var cmd tea.Cmd
	if s.mode == ModeCourier && m != ModeCourier {
		cmd = s.signOut()
	}
	s.mode, s.shutting, s.entry = m, false, nil
	if !s.busy {
		s.display = s.idle()
	}
	return cmd
}

// signOut forgets the courier's sign-in and returns the command that ends
// it at the locker.
func (s *Screen) signOut() tea.Cmd {
	s.signedIn = false
	l := s.locker
	return func() tea.Msg {
		l.SignOutCourier()
		return nil
	}
}

// idle is the display line of the current mode awaiting an entry.
func (s *Screen) idle() string {
	if s.mode == ModeCourier && !s.signedIn {
		return signInIdle
	}
	return idleText(s.mode)
}

// startShut starts the entry of a door to shut.
func (s *Screen) startShut() {
	s.shutting, s.entry = true, nil
	if !s.busy {
		s.display = "Type the door's number, then Enter"
	}
}

// typeRune takes one typed character (Q in recipient mode returns the
// command of the mode's change).
func (s *Screen) typeRune(r rune) tea.Cmd {
	switch {
	case s.shutting:
		switch {
		case r >= '0' && r <= '9' && len(s.entry) < maxDoorLen:
			s.entry = append(s.entry, r)
		case r == 'c' || r == 'C':
			s.entry = nil
		}
	case s.mode == ModeRecipient:
		switch {
		case r >= '0' && r <= '9' && len(s.entry) < maxCodeLen:
			s.entry = append(s.entry, r)
		case r == 'c' || r == 'C': // C clears, as at Posti's keypads
			s.entry = nil
			s.display = idleText(ModeRecipient)
		case r == 'q' || r == 'Q':
			return s.setMode(ModeQR)
		case r == 's' || r == 'S':
			s.startShut()
		}
	case s.mode == ModeCourier && !s.signedIn:
		if r > ' ' && r < unicode.MaxASCII && len(s.entry) < maxTokenLen {
			s.entry = append(s.entry, r)
		}
	case s.mode == ModeCourier:
		if (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-') && r < unicode.MaxASCII && len(s.entry) < maxTrackingLen {
			s.entry = append(s.entry, unicode.ToUpper(r))
		}
	case s.mode == ModeQR:
		if !unicode.IsControl(r) && len(s.entry) < maxQRLen {
			s.entry = append(s.entry, r)
		}
	}
	return nil
}

// ok is Enter: the entry goes to the locker (or shuts a door).
func (s *Screen) ok() tea.Cmd {
	entry := strings.TrimSpace(string(s.entry))
	s.entry = nil
	if s.shutting {
		s.shutting = false
		n, err := strconv.Atoi(entry)
		switch {
		case err != nil || n < 1 || n > s.n:
			s.display = fmt.Sprintf("No door %q: the doors are 1 to %d", entry, s.n)
			return nil
		case s.doors == nil:
			s.display = "No door can be shut here"
			return nil
		}
		d := s.doors
		return func() tea.Msg { return shutMsg{n: n, shut: d.Close(n)} }
	}
	if entry == "" {
		s.display = s.idle()
		return nil
	}
	s.busy = true
	s.display = "One moment…"
	ctx, l, mode := s.ctx, s.locker, s.mode
	if mode == ModeCourier && !s.signedIn {
		return func() tea.Msg {
			res, err := l.SignInCourier(ctx, entry)
			return answeredMsg{mode: mode, signIn: true, res: res, err: err}
		}
	}
	return func() tea.Msg {
		var res KeypadResult
		var err error
		switch mode {
		case ModeCourier:
			res, err = l.Deposit(ctx, entry)
		case ModeQR:
			res, err = l.ScanQR(ctx, entry)
		default:
			res, err = l.Keypad(ctx, entry)
		}
		return answeredMsg{mode: mode, res: res, err: err}
	}
}

// readDoors reads the doors from the driver.
func (s *Screen) readDoors() {
	if len(s.open) != s.n {
		s.open = make([]bool, s.n)
	}
	if s.doors == nil {
		return
	}
	for i := range s.open {
		s.open[i] = s.doors.IsOpen(i + 1)
	}
}

// signInIdle is courier mode's display line awaiting the sign-in.
const signInIdle = "Courier: type or scan your courier token, then Enter"

// signInText is the display line for the locker's answer to a courier's
// sign-in.
func signInText(r KeypadResult, err error) string {
	switch {
	case err != nil:
		return "Sorry: " + err.Error()
	case r.Result == ResultSignedIn:
		return "Signed in: type the tracking code, then Enter"
	case r.Result == ResultWrongCode:
		return "Unknown courier token"
	}
	return "No answer: try again"
}

// idleText is the display line of mode m awaiting an entry.
func idleText(m ScreenMode) string {
	switch m {
	case ModeCourier:
		return "Type the tracking code, then Enter"
	case ModeQR:
		return "Hold the QR code to the scanner (paste its text), then Enter"
	}
	return "Type C, your code, OK"
}

// answerText is the display line for the locker's answer to an entry of
// mode m.
func answerText(m ScreenMode, r KeypadResult, err error) string {
	if err != nil {
		return "Sorry: " + err.Error()
	}
	switch r.Result {
	case ResultOpen:
		if m == ModeCourier {
			return fmt.Sprintf("Put the parcel in door %d", r.Compartment)
		}
		return fmt.Sprintf("Door %d is open", r.Compartment)
	case ResultPaymentRequired:
		return fmt.Sprintf("Pay %d.%02d EUR at the terminal", r.AmountCents/100, r.AmountCents%100)
	case ResultLocked:
		return "Locked: try again in " + waitText(r.Wait)
	case ResultWrongCode:
		if m == ModeCourier {
			return "Wrong tracking code"
		}
		if r.Wait > 0 {
			return "Wrong code: locked for " + waitText(r.Wait)
		}
		return "Wrong code"
	}
	if r.Wait > 0 {
		return "No answer: locked for " + waitText(r.Wait)
	}
	return "No answer: try again"
}

// waitText says a wait in whole minutes (rounded up), or seconds under a
// minute: "4m", "30s".
func waitText(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%ds", max(int((d+time.Second-1)/time.Second), 1))
	}
	return fmt.Sprintf("%dm", int((d+time.Minute-1)/time.Minute))
}

// ANSI attributes of the face.
const (
	ansiBold    = "\x1b[1m"
	ansiReverse = "\x1b[7m"
	ansiReset   = "\x1b[0m"
)

// View draws the face.
func (s *Screen) View() string {
	var b strings.Builder
	b.WriteString(ansiBold + "LOKERO  locker " + s.id + ansiReset)
	if s.online != nil {
		if s.online() {
			b.WriteString("  · online")
		} else {
			b.WriteString("  · offline")
		}
	}
	b.WriteString("\n\n")
	perRow := 10
	if s.n > 100 {
		perRow = 20
	}
	for i, open := range s.open {
		if open {
			fmt.Fprintf(&b, ansiReverse+"[%3d]"+ansiReset, i+1)
		} else {
			fmt.Fprintf(&b, " %3d ", i+1)
		}
		if (i+1)%perRow == 0 || i == len(s.open)-1 {
			b.WriteString("\n")
		}
	}
	b.WriteString("  [n] is an open door\n\n")
	b.WriteString(ansiBold + s.mode.String() + ansiReset + "  ")
	switch {
	case s.shutting:
		b.WriteString("Shut door: " + string(s.entry) + "_")
	case s.mode == ModeRecipient:
		b.WriteString("Code: " + strings.Repeat("•", len(s.entry)) + "_")
	case s.mode == ModeCourier && !s.signedIn:
		fmt.Fprintf(&b, "Courier token: %d characters read", len(s.entry))
	case s.mode == ModeCourier:
		b.WriteString("Tracking code: " + string(s.entry) + "_")
	case s.mode == ModeQR:
		fmt.Fprintf(&b, "QR code: %d characters read", len(s.entry))
	}
	b.WriteString("\n\n> " + s.display + "\n\n")
	switch s.mode {
	case ModeRecipient:
		b.WriteString("C: clear · 0-9: code · Enter: OK · Q: scan a QR code · S n Enter: shut door n\n")
	case ModeCourier:
		if !s.signedIn {
			b.WriteString("Courier token · Enter: sign in · Backspace: delete · F4 n Enter: shut door n\n")
		} else {
			b.WriteString("Tracking code · Enter: deposit · Backspace: delete · F4 n Enter: shut door n\n")
		}
	case ModeQR:
		b.WriteString("Paste the QR code's text · Enter: scan · F4 n Enter: shut door n\n")
	}
	b.WriteString("Tab: courier/recipient · F3: QR · Esc: quit\n")
	return b.String()
}
