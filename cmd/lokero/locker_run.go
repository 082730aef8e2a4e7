package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/lokero/lokero/controller"
)

const lockerRunUsage = "locker run --id LOCATION_ID [--broker tcp://host:1883] [--token-file FILE] [--courier-token-file FILE] [--state FILE] [--compartments 60] [--keypad] [--log FILE]"

// runLockerRun: `lokero locker run`, the program inside a locker: its
// controller on the device protocol, with the simulated lock board. The
// device token comes from --token-file or LOKERO_DEVICE_TOKEN, never from
// the command line (where ps would show it). stdin takes what happens at
// the locker, a line each:
//
//	C 12345678901 OK   a code entered at the keypad ("C…OK" as on Posti's keypads)
//	qr TOKEN           a QR code shown to the scanner
//	courier            a courier signs in at the keypad, with the courier token of
//	                   --courier-token-file or LOKERO_COURIER_TOKEN
//	courier TOKEN      … with the courier token typed (or scanned from their card)
//	courier off        the courier signs out
//	deposit CL…FI      a signed-in courier's scan of a parcel
//	close 7            the door of compartment 7 shut
//	letters 2          two letters through the mail slot
//
// With --keypad it shows the locker's face in the terminal instead
// (controller.Screen): the doors, the keypad ("C", the code, Enter as OK),
// a courier mode for deposits (Tab: the courier's token first, then the
// tracking codes), a QR scanner (Q or F3: paste the QR code's text) and
// "S n Enter" to shut door n; Esc or ctrl+c quits. The log, which would
// tear the face, goes to --log (default: the state file's path with ".log"
// added).
func runLockerRun(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("locker run", stderr)
	id := fs.String("id", "", "the locker's location ID (its MQTT username)")
	broker := fs.String("broker", envOr("LOKERO_BROKER", "tcp://127.0.0.1:1883"), "the MQTT broker: tcp://host:port or tls://host:port (env LOKERO_BROKER)")
	tokenFile := fs.String("token-file", "", "file holding the locker's device token (from lokero locker provision); default: env LOKERO_DEVICE_TOKEN")
	courierFile := fs.String("courier-token-file", "", `file holding the courier token the console's "courier" line signs in with (from lokero courier add); default: env LOKERO_COURIER_TOKEN`)
	state := fs.String("state", "", "the controller's state file (bbolt; default locker-LOCATION_ID.db in the current directory)")
	compartments := fs.Int("compartments", 60, "compartments of the simulated lock board")
	keypad := fs.Bool("keypad", false, "show the locker's face and keypad in the terminal instead of reading lines from stdin")
	logFile := fs.String("log", "", "append the log to FILE (default: stderr; with --keypad, the state file's path + .log)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *id == "" || fs.NArg() > 0 {
		return fmt.Errorf("%w: %s", errUsage, lockerRunUsage)
	}
	if *compartments < 1 || *compartments > 500 {
		return fmt.Errorf("%w: --compartments must be 1..500; got %d", errUsage, *compartments)
	}
	token := os.Getenv("LOKERO_DEVICE_TOKEN")
	if *tokenFile != "" {
		raw, err := os.ReadFile(*tokenFile)
		if err != nil {
			return fmt.Errorf("locker run: %w", err)
		}
		token = strings.TrimSpace(string(raw))
	}
	if token == "" {
		return fmt.Errorf("%w: locker run needs the locker's device token: --token-file FILE or LOKERO_DEVICE_TOKEN", errUsage)
	}
	courierToken := os.Getenv("LOKERO_COURIER_TOKEN")
	if *courierFile != "" {
		raw, err := os.ReadFile(*courierFile)
		if err != nil {
			return fmt.Errorf("locker run: %w", err)
		}
		courierToken = strings.TrimSpace(string(raw))
	}
	if *state == "" {
		*state = "locker-" + *id + ".db"
	}
	if *logFile == "" && *keypad {
		*logFile = *state + ".log"
	}
	logTo := stderr
	if *logFile != "" {
		f, err := os.OpenFile(*logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("locker run: log: %w", err)
		}
		defer f.Close()
		logTo = f
	}
	log := newLogger(logTo)
	driver := controller.NewSimDriver(*compartments)
	c, err := controller.Open(controller.Config{LocationID: *id, Broker: *broker, Token: token, StatePath: *state,
		Driver: driver, Clock: clock(), Log: log})
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	if *keypad {
		err := runKeypad(ctx, *id, c, driver, *compartments, stdin, stdout)
		cancel()
		if runErr := <-done; runErr != nil {
			return runErr
		}
		return err
	}
	go console(ctx, c, driver, courierToken, stdin, stdout)
	fmt.Fprintf(stdout, "locker %s: controller running against %s; state %s\n", *id, *broker, *state)
	return <-done
}

// runKeypad shows the locker's face on the terminal until the person at
// it quits (Esc, ctrl+c) or ctx ends.
func runKeypad(ctx context.Context, id string, c *controller.Controller, d *controller.SimDriver, compartments int,
	stdin io.Reader, stdout io.Writer) error {
	screen := controller.NewScreen(ctx, id, c, d, compartments)
	p := tea.NewProgram(screen, tea.WithContext(ctx), tea.WithInput(stdin), tea.WithOutput(stdout), tea.WithAltScreen())
	if _, err := p.Run(); err != nil && ctx.Err() == nil && !errors.Is(err, tea.ErrInterrupted) {
		return fmt.Errorf("locker run: keypad: %w", err)
	}
	return nil
}

// console reads what happens at the locker from r (see runLockerRun) and
// writes what the locker does to w; courierToken is what "courier" alone
// signs in with ("": none).
func console(ctx context.Context, c *controller.Controller, d *controller.SimDriver, courierToken string, r io.Reader, w io.Writer) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 64<<10)
	for sc.Scan() {
		raw := strings.Fields(sc.Text())
		if len(raw) == 0 {
			continue
		}
		fields := strings.Fields(strings.ToUpper(sc.Text()))
		switch {
		case fields[0] == "QR" && len(raw) == 2:
			res, err := c.ScanQR(ctx, raw[1]) // a token is case-sensitive
			if err != nil && !errors.Is(err, context.Canceled) {
				fmt.Fprintf(w, "qr: %v\n", err)
				continue
			}
			fmt.Fprintln(w, keypadScreen(res))
		case fields[0] == "COURIER" && len(fields) == 2 && fields[1] == "OFF":
			c.SignOutCourier()
			fmt.Fprintln(w, "courier signed out")
		case fields[0] == "COURIER":
			tok := courierToken
			if len(raw) == 2 {
				tok = raw[1] // a token is case-sensitive
			}
			if tok == "" || len(raw) > 2 {
				fmt.Fprintln(w, `courier: no courier token: say "courier <token>", or run with --courier-token-file FILE`)
				continue
			}
			res, err := c.SignInCourier(ctx, tok)
			switch {
			case err != nil:
				fmt.Fprintf(w, "courier: %v\n", err)
			case res.Result == controller.ResultSignedIn:
				fmt.Fprintln(w, "courier signed in: say \"deposit <tracking code>\"")
			case res.Result == controller.ResultWrongCode:
				fmt.Fprintln(w, "courier: unknown courier token")
			default:
				fmt.Fprintln(w, "courier: no answer: try again")
			}
		case fields[0] == "DEPOSIT" && len(fields) == 2:
			res, err := c.Deposit(ctx, fields[1])
			if errors.Is(err, controller.ErrCourierSignIn) {
				fmt.Fprintf(w, "deposit: %v: say \"courier\" (or \"courier <token>\")\n", err)
				continue
			}
			if err != nil {
				fmt.Fprintf(w, "deposit: %v\n", err)
				continue
			}
			if res.Result == controller.ResultOpen {
				fmt.Fprintf(w, "put the parcel in door %d\n", res.Compartment)
				continue
			}
			fmt.Fprintln(w, keypadScreen(res))
		case fields[0] == "CLOSE" && len(fields) == 2:
			n, err := strconv.Atoi(fields[1])
			if err != nil {
				fmt.Fprintf(w, "close: %q is no compartment number\n", fields[1])
				continue
			}
			if !d.Close(n) {
				fmt.Fprintf(w, "door %d was not open\n", n)
				continue
			}
			fmt.Fprintf(w, "door %d shut\n", n)
		case fields[0] == "LETTERS" && len(fields) == 2:
			n, err := strconv.Atoi(fields[1])
			if err == nil {
				err = c.Letters(ctx, n)
			}
			if err != nil {
				fmt.Fprintf(w, "letters: %v\n", err)
				continue
			}
			fmt.Fprintf(w, "%d letter(s) in the slot\n", n)
		case strings.HasPrefix(fields[0], "C"):
			code := strings.TrimSuffix(strings.TrimPrefix(strings.Join(fields, ""), "C"), "OK")
			res, err := c.Keypad(ctx, code)
			if err != nil && !errors.Is(err, context.Canceled) {
				fmt.Fprintf(w, "keypad: %v\n", err)
				continue
			}
			fmt.Fprintln(w, keypadScreen(res))
		default:
			fmt.Fprintln(w, `say "C <code> OK", "qr <token>", "courier [<token>|off]", "deposit <tracking code>", "close <n>" or "letters <n>"`)
		}
	}
}

// keypadScreen is what the keypad's screen says after a code.
func keypadScreen(r controller.KeypadResult) string {
	switch r.Result {
	case controller.ResultOpen:
		return fmt.Sprintf("door %d is open", r.Compartment)
	case controller.ResultPaymentRequired:
		return fmt.Sprintf("pay %d.%02d EUR at the terminal", r.AmountCents/100, r.AmountCents%100)
	case controller.ResultLocked:
		return fmt.Sprintf("too many wrong codes: try again in %s", r.Wait.Round(1e9))
	case controller.ResultWrongCode:
		if r.Wait > 0 {
			return fmt.Sprintf("wrong code; the keypad is locked for %s", r.Wait.Round(1e9))
		}
		return "wrong code"
	}
	return "no answer: try again"
}
