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

	"github.com/lokero/lokero/controller"
)

const lockerRunUsage = "locker run --id LOCATION_ID [--broker tcp://host:1883] [--token-file FILE] [--state FILE] [--compartments 60]"

// runLockerRun: `lokero locker run`, the program inside a locker: its
// controller on the device protocol, with the simulated lock board. The
// device token comes from --token-file or LOKERO_DEVICE_TOKEN, never from
// the command line (where ps would show it). stdin takes what happens at
// the locker, a line each:
//
//	C 12345678901 OK   a code entered at the keypad ("C…OK" as on Posti's keypads)
//	close 7            the door of compartment 7 shut
//	letters 2          two letters through the mail slot
func runLockerRun(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("locker run", stderr)
	id := fs.String("id", "", "the locker's location ID (its MQTT username)")
	broker := fs.String("broker", envOr("LOKERO_BROKER", "tcp://127.0.0.1:1883"), "the MQTT broker: tcp://host:port or tls://host:port (env LOKERO_BROKER)")
	tokenFile := fs.String("token-file", "", "file holding the locker's device token (from lokero locker provision); default: env LOKERO_DEVICE_TOKEN")
	state := fs.String("state", "", "the controller's state file (bbolt; default locker-LOCATION_ID.db in the current directory)")
	compartments := fs.Int("compartments", 60, "compartments of the simulated lock board")
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
	if *state == "" {
		*state = "locker-" + *id + ".db"
	}
	log := newLogger(stderr)
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
	go console(ctx, c, driver, stdin, stdout)
	fmt.Fprintf(stdout, "locker %s: controller running against %s; state %s\n", *id, *broker, *state)
	return <-done
}

// console reads what happens at the locker from r (see runLockerRun) and
// writes what the locker does to w.
func console(ctx context.Context, c *controller.Controller, d *controller.SimDriver, r io.Reader, w io.Writer) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		fields := strings.Fields(strings.ToUpper(sc.Text()))
		if len(fields) == 0 {
			continue
		}
		switch {
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
			fmt.Fprintln(w, `say "C <code> OK", "close <n>" or "letters <n>"`)
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
