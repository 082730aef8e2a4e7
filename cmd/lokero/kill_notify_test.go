package main

import (
	"bufio"
	"bytes"
	"database/sql"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/lokero/lokero/demo"
	"github.com/lokero/lokero/jobs"
	"github.com/lokero/lokero/sqlite"
)

// e2eNotification is a message of the outbox as GET /v1/notifications
// shows it to the operator.
type e2eNotification struct {
	ID           int64
	Channel      string
	To           string
	TrackingCode string `json:"tracking_code"`
	Kind         string
	State        string
	Attempts     int
	LastError    string `json:"last_error"`
	ProviderID   string `json:"provider_id"`
	Report       string
}

// e2eNotifications lists the operator's view of the outbox (query: "",
// "?state=failed", …).
func e2eNotifications(t *testing.T, base, operator, query string) []e2eNotification {
	t.Helper()
	var out struct{ Notifications []e2eNotification }
	if status := call(t, "GET", base+"/v1/notifications"+query, operator, nil, &out); status != 200 {
		t.Fatalf("GET /v1/notifications%s: %d", query, status)
	}
	return out.Notifications
}

// The kill test's figures: how many e-mails it sends, and how many of
// them take lokero down between the provider's acceptance and lokero's
// record of it.
const (
	killNotifyMessages = 4
	killNotifyKills    = 2
)

// killingSMTP is an SMTP server (go-smtp) in front of a child `lokero
// serve`: for the first kills messages it keeps the message and then
// SIGKILLs the child before answering 250, so that the provider has the
// message and lokero never recorded it; after that it accepts as any
// server does. A connection the child opened before it was killed is
// refused (451), as a message cut off by its sender's death is.
type killingSMTP struct {
	addr string

	mu        sync.Mutex
	msgs      []smtpMessage
	gen       int         // the child's start, counted from 1
	child     *os.Process // the running child, nil once killed
	killsLeft int
	killedIDs []string      // the Message-IDs a kill followed
	killed    chan struct{} // a kill happened
}

// killingSession is one SMTP connection, of the child started gen-th.
type killingSession struct {
	srv *killingSMTP
	gen int
	m   smtpMessage
}

func (s *killingSession) Reset()        { s.m = smtpMessage{} }
func (s *killingSession) Logout() error { return nil }
func (s *killingSession) Mail(from string, _ *smtp.MailOptions) error {
	s.m.from = from
	return nil
}
func (s *killingSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.m.to = append(s.m.to, to)
	return nil
}

// Data keeps the message, and kills the child first while kills are
// left.
func (s *killingSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	k := s.srv
	k.mu.Lock()
	defer k.mu.Unlock()
	if s.gen != k.gen || k.child == nil {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 4, 2}, Message: "the sender's connection is gone"}
	}
	s.m.data = b
	k.msgs = append(k.msgs, s.m)
	if k.killsLeft == 0 {
		return nil // 250
	}
	// The provider has the message; lokero dies before the 250.
	k.killsLeft--
	k.killedIDs = append(k.killedIDs, messageID(b))
	_ = k.child.Kill()
	k.child = nil
	k.killed <- struct{}{}
	return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "the sender died"}
}

// startKillingSMTP starts the server on a loopback port until the test
// ends.
func startKillingSMTP(t *testing.T, kills int) *killingSMTP {
	t.Helper()
	k := &killingSMTP{killsLeft: kills, killed: make(chan struct{}, kills)}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		k.mu.Lock()
		defer k.mu.Unlock()
		return &killingSession{srv: k, gen: k.gen}, nil
	}))
	srv.Domain = "localhost"
	// Each kill resets a connection: expected, not worth a line.
	srv.ErrorLog = log.New(io.Discard, "", 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	k.addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return k
}

// started tells the server of the child just started.
func (k *killingSMTP) started(p *os.Process) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.gen++
	k.child = p
}

func (k *killingSMTP) messages() []smtpMessage {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]smtpMessage(nil), k.msgs...)
}

// messageID is a raw message's Message-ID, "" when it has none.
func messageID(raw []byte) string {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return ""
	}
	return msg.Header.Get("Message-Id")
}

// rewindRunningDeliveries moves the attempted_at of River's running
// delivery jobs back by d, straight in the SQLite database while no lokero
// runs: as if d had passed since their runs (their processes killed)
// began. River's rescuer compares attempted_at with the wall clock
// (time.Now in river v0.51.2's JobRescuer.runOnce, not the client's
// time generator), so --dev's test clock cannot hasten it; without this
// the test waits rescueAfter (2 min) and the rescuer's 30 s interval.
func rewindRunningDeliveries(t *testing.T, db string, d time.Duration) int64 {
	t.Helper()
	conn, err := sql.Open("sqlite", sqlite.DSN(db))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// River keeps SQLite times as UTC text "2006-01-02 15:04:05.000".
	res, err := conn.ExecContext(t.Context(), `UPDATE river_job
		SET attempted_at = strftime('%Y-%m-%d %H:%M:%f', attempted_at, $1)
		WHERE state = 'running' AND kind = $2`, fmt.Sprintf("-%d seconds", int(d.Seconds())), jobs.KindDeliver)
	if err != nil {
		t.Fatalf("rewind River's running jobs: %v", err)
	}
	n, _ := res.RowsAffected()
	return n
}

// metricValue reads one series of a Prometheus text exposition; ok is
// false when it is not there.
func metricValue(t *testing.T, url, series string) (value float64, ok bool) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if rest, found := strings.CutPrefix(sc.Text(), series+" "); found {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err != nil {
				t.Fatalf("%s: %q", series, sc.Text())
			}
			return v, true
		}
	}
	return 0, false
}

// TestNotifyKillBetweenAcceptAndRecord runs the real `lokero serve --smtp`
// in a child process against an SMTP server that, for the first
// killNotifyKills messages, keeps the message and then SIGKILLs lokero
// before answering 250: the provider has the message, lokero never
// recorded it, and its delivery job stays "running" in River. Each kill is
// followed by a restart on the same database and the next parcel;
// killNotifyMessages parcels in all, one e-mail each, one at a time (so
// that a kill finds no other message in flight). Once River's rescuer
// takes the stuck jobs (rescueAfter; the test rewinds their start instead
// of waiting), every message has arrived and is recorded sent with its
// Message-ID; no Message-ID arrived more than twice, and the repeats are
// at most the kills. lokero_notifications_total{state="resent"} counts
// the sends that followed a run that left no record.
func TestNotifyKillBetweenAcceptAndRecord(t *testing.T) {
	t.Parallel()
	mailServer := startKillingSMTP(t, killNotifyKills)
	db := filepath.Join(t.TempDir(), "lokero.db")
	srv := &childServe{t: t, addr: freeAddr(t), args: []string{"--db", db,
		"--smtp", "smtp://" + mailServer.addr, "--mail-from", "Posti-lokero <noreply@lokero.test>"}}
	start := func() {
		t.Helper()
		srv.start()
		mailServer.started(srv.cmd.Process)
		if err := srv.waitHealthy(60 * time.Second); err != nil {
			t.Fatal(err)
		}
	}
	start()
	t.Cleanup(srv.kill)
	base := "http://" + srv.addr
	key := lastLine(t, "retailer", "add", "--db", db, "Kauppa")
	courier := lastLine(t, "courier", "add", "--db", db, "Kuski")
	operator := lastLine(t, "operator", "add", "--db", db, "Olli")
	device := lastLine(t, "locker", "provision", "--db", db, demo.DemoLockerID)
	began := time.Now()

	tracking := map[string]bool{}
	for i := range killNotifyMessages {
		id, code := emailOnlyParcel(t, base, key, fmt.Sprintf("vastaanottaja%d@example.fi", i))
		depositAtDemoLocker(t, base, courier, device, id, code)
		tracking[code] = true

		if i < killNotifyKills {
			// The SMTP server takes the e-mail and kills lokero.
			select {
			case <-mailServer.killed:
			case <-time.After(30 * time.Second):
				t.Fatalf("parcel %d: its e-mail did not reach the SMTP server within 30 s: %s", i, srv.log.String())
			}
			<-srv.exited
			if i == killNotifyKills-1 {
				// While lokero is down: the stuck jobs' runs began 3
				// minutes ago, past rescueAfter (2 minutes).
				if n := rewindRunningDeliveries(t, db, 3*time.Minute); n != killNotifyKills {
					t.Errorf("%d delivery jobs left running by %d kills; want %d", n, killNotifyKills, killNotifyKills)
				}
			}
			start()
			continue
		}
		// No kill: sent and recorded before the next parcel.
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			sent := e2eNotifications(t, base, operator, "?state=sent")
			if hasTracking(sent, code) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("parcel %d's e-mail not recorded sent within 30 s: %+v", i, e2eNotifications(t, base, operator, ""))
			}
		}
	}

	// River's rescuer (on the leader: the killed leader's lease runs out
	// first, 15 s) takes the stuck jobs, and they are sent again.
	var sent []e2eNotification
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		sent = e2eNotifications(t, base, operator, "?state=sent")
		if len(sent) == killNotifyMessages {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d e-mails recorded sent within 60 s of the last start: %+v\nserve's log:\n%s",
				len(sent), killNotifyMessages, e2eNotifications(t, base, operator, ""), srv.log.String())
		}
	}
	time.Sleep(2 * time.Second) // a further repeat would show by now

	arrivals := map[string]int{}
	for _, m := range mailServer.messages() {
		arrivals[messageID(m.data)]++
	}
	repeats := 0
	for id, n := range arrivals {
		if id == "" {
			t.Errorf("an e-mail without a Message-ID arrived %d times", n)
		}
		if n > 2 {
			t.Errorf("Message-ID %s arrived %d times; want at most twice", id, n)
		}
		repeats += n - 1
	}
	for _, n := range sent {
		if !tracking[n.TrackingCode] || arrivals[n.ProviderID] == 0 {
			t.Errorf("message %d (%s): recorded sent as %q, which the SMTP server has %d times",
				n.ID, n.TrackingCode, n.ProviderID, arrivals[n.ProviderID])
		}
		delete(arrivals, n.ProviderID)
	}
	if len(arrivals) != 0 {
		t.Errorf("e-mails at the SMTP server that lokero has not recorded sent: %v", arrivals)
	}
	if repeats > killNotifyKills {
		t.Errorf("%d repeats after %d kills; want at most one per kill", repeats, killNotifyKills)
	}
	resent, counted := metricValue(t, base+"/metrics", `lokero_notifications_total{channel="email",state="resent"}`)
	if counted && int(resent) != repeats {
		t.Errorf("lokero counts %v e-mails resent after a run that left no record; the SMTP server got %d repeats", resent, repeats)
	}
	logged := len(regexp.MustCompile(`sent again after a run that left no record`).FindAllString(srv.log.String(), -1))
	t.Logf("%d e-mails, %d SIGKILLs between the SMTP server's acceptance and lokero's record (of %v), %d repeats at the SMTP server; lokero's resent counter: %v (present: %v), its log's warnings: %d; %s in all",
		killNotifyMessages, killNotifyKills, mailServer.killedIDs, repeats, resent, counted, logged, time.Since(began).Round(100*time.Millisecond))
}

// hasTracking reports whether list holds a message of the
// parcel.
func hasTracking(list []e2eNotification, trackingCode string) bool {
	for _, n := range list {
		if n.TrackingCode == trackingCode {
			return true
		}
	}
	return false
}
