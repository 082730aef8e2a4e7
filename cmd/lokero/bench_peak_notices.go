package main

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
)

// The bench's recipients read their notices where real ones do: half of
// them by e-mail, at an SMTP server in this process (go-smtp, which the
// servers reach with --smtp), half by text message, at an HTTP endpoint
// in this process that answers as Kannel's smsbox does (the servers reach
// it with --sms kannel://…) and reports each message delivered to the
// delivery-report URL, as Kannel does. The notice of arrival's code is
// what the recipient types at the keypad.

// peakNotice is a notice with an opening code, as a recipient got it.
type peakNotice struct {
	code string
	at   time.Time
}

// peakInbox is the recipients' side of the notices: the SMTP server and
// the SMS endpoint, the parcels waiting for their codes and a count of
// every message by its id (lokero's Message-ID, or the X-Kannel-Account
// it gives each text message), so that one delivered twice shows.
type peakInbox struct {
	smtpAddr, smsAddr string

	smtp *smtp.Server
	http *http.Server

	mu       sync.Mutex
	waiting  map[int]chan peakNotice // parcel (its recipient's number) → its notice, once
	seen     map[string]int          // message id → deliveries
	problems []string                // the first few

	emails, texts, reports atomic.Int64
}

// peakBySMS reports whether parcel n's recipient (n from 1) is told by
// text message (odd n) or by e-mail (even n); peakEmailAddress and
// peakPhone are the addresses.
func peakBySMS(n int) bool { return n%2 == 1 }

func peakEmailAddress(n int) string { return fmt.Sprintf("peak-%d@example.fi", n) }
func peakPhone(n int) string        { return fmt.Sprintf("+35850%08d", n) }

// startPeakInbox starts the SMTP server and the SMS endpoint on loopback
// ports.
func startPeakInbox() (*peakInbox, error) {
	in := &peakInbox{waiting: map[int]chan peakNotice{}, seen: map[string]int{}}
	smtpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	smsLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		smtpLn.Close()
		return nil, err
	}
	in.smtpAddr, in.smsAddr = smtpLn.Addr().String(), smsLn.Addr().String()
	in.smtp = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &peakMailSession{in: in}, nil }))
	in.smtp.Domain = "localhost"
	in.smtp.MaxRecipients = 1
	in.smtp.MaxMessageBytes = 1 << 20
	in.http = &http.Server{Handler: http.HandlerFunc(in.serveSMS), ReadHeaderTimeout: 10 * time.Second}
	go in.smtp.Serve(smtpLn)
	go in.http.Serve(smsLn)
	return in, nil
}

// serveFlags are the flags that send a server's notices here.
func (in *peakInbox) serveFlags() []string {
	return []string{"--smtp", "smtp://" + in.smtpAddr, "--sms", "kannel://lokero:peak@" + in.smsAddr}
}

func (in *peakInbox) close() {
	in.smtp.Close()
	in.http.Close()
}

// expect registers parcel n (its recipient's number, from 1), whose
// notice of arrival is to come.
func (in *peakInbox) expect(n int) <-chan peakNotice {
	ch := make(chan peakNotice, 1)
	in.mu.Lock()
	in.waiting[n] = ch
	in.mu.Unlock()
	return ch
}

// forget drops a registration (the parcel went elsewhere).
func (in *peakInbox) forget(n int) {
	in.mu.Lock()
	delete(in.waiting, n)
	in.mu.Unlock()
}

// received counts a message by its id and hands the code in text, if
// any, to parcel n's waiting registration.
func (in *peakInbox) received(id string, n int, text string) {
	at := time.Now()
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.seen[id]++; in.seen[id] == 2 {
		in.problem("message %s reached its recipient twice", id)
	}
	code := simCodeRE.FindStringSubmatch(text)
	if code == nil {
		return // not a notice with a code (a re-routing's, a return's)
	}
	if ch := in.waiting[n]; ch != nil {
		ch <- peakNotice{code: code[1], at: at}
		delete(in.waiting, n)
	}
}

// problem records something that went wrong at the recipients' side;
// called with in.mu held.
func (in *peakInbox) problem(format string, args ...any) {
	if len(in.problems) < 10 {
		in.problems = append(in.problems, fmt.Sprintf(format, args...))
	}
}

// result returns what went wrong, and how many messages arrived twice.
func (in *peakInbox) result() (problems []string, twice int) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, n := range in.seen {
		if n > 1 {
			twice++
		}
	}
	return append([]string(nil), in.problems...), twice
}

// serveSMS answers as smsbox's sendsms with X-Kannel-* headers and the
// text as the body (notify/kannel): 202 "0: Accepted for delivery", then
// the delivery report "delivered" (type 1) to the message's report URL.
func (in *peakInbox) serveSMS(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/cgi-bin/sendsms" || r.Header.Get("X-Kannel-Username") != "lokero" || r.Header.Get("X-Kannel-Password") != "peak" {
		http.Error(w, "Authorization failed for sendsms", http.StatusForbidden)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 4096))
	if err != nil {
		http.Error(w, "read the message", http.StatusBadRequest)
		return
	}
	to, id := r.Header.Get("X-Kannel-To"), r.Header.Get("X-Kannel-Account")
	n, err := strconv.Atoi(strings.TrimPrefix(to, "+35850"))
	if err != nil || !strings.HasPrefix(to, "+35850") || id == "" {
		in.mu.Lock()
		in.problem("a text message to %q (id %q), not to a recipient of the bench", to, id)
		in.mu.Unlock()
		http.Error(w, "unknown recipient", http.StatusBadRequest)
		return
	}
	in.texts.Add(1)
	in.received(id, n, string(body))
	w.WriteHeader(http.StatusAccepted)
	io.WriteString(w, "0: Accepted for delivery")
	if report := r.Header.Get("X-Kannel-DLR-URL"); report != "" {
		go in.report(report)
	}
}

// report calls a delivery-report URL as Kannel does for a message
// delivered: %d is the report's type (1), %A the SMSC's answer, %% a
// percent sign.
func (in *peakInbox) report(u string) {
	var b strings.Builder
	for i := 0; i < len(u); i++ {
		if u[i] != '%' || i+1 == len(u) {
			b.WriteByte(u[i])
			continue
		}
		i++
		switch u[i] {
		case 'd':
			b.WriteString("1")
		case 'A':
			b.WriteString("ACK%2F")
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(u[i])
		}
	}
	resp, err := http.Get(b.String())
	if err != nil {
		return // the server stopping: the message stays "sent"
	}
	resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		in.reports.Add(1)
	}
}

// peakMailSession is one SMTP session: one message to one recipient.
type peakMailSession struct {
	in *peakInbox
	n  int // the recipient's parcel
}

func (s *peakMailSession) Reset()                               { s.n = 0 }
func (s *peakMailSession) Logout() error                        { return nil }
func (s *peakMailSession) Mail(string, *smtp.MailOptions) error { return nil }

func (s *peakMailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	local, ok := strings.CutSuffix(to, "@example.fi")
	n, err := strconv.Atoi(strings.TrimPrefix(local, "peak-"))
	if !ok || err != nil || !strings.HasPrefix(local, "peak-") {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such recipient"}
	}
	s.n = n
	return nil
}

func (s *peakMailSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("bench peak: a message it cannot read: %w", err)
	}
	text, err := plainText(textHeader(msg.Header), msg.Body)
	if err != nil {
		return fmt.Errorf("bench peak: message %s: %w", msg.Header.Get("Message-ID"), err)
	}
	s.in.emails.Add(1)
	s.in.received(msg.Header.Get("Message-ID"), s.n, text)
	return nil
}

// textHeader is the part of a message's header that says how its body is
// made.
type textHeader interface{ Get(string) string }

// plainText returns a message's text/plain part, decoded.
func plainText(h textHeader, body io.Reader) (string, error) {
	leaves, err := mimeLeaves(h, body)
	if err != nil {
		return "", err
	}
	text, ok := leaves["text/plain"]
	if !ok {
		return "", errors.New("no text/plain part")
	}
	return text, nil
}

// mimeLeaves returns the decoded bodies of a message's leaf parts by media
// type (text/plain, text/html, …), the parts of one type joined in order.
func mimeLeaves(h textHeader, body io.Reader) (map[string]string, error) {
	leaves := map[string]string{}
	return leaves, addMIMELeaves(h, body, leaves)
}

// addMIMELeaves adds the leaf parts of one part (or message) to leaves.
func addMIMELeaves(h textHeader, body io.Reader, leaves map[string]string) error {
	media, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		return fmt.Errorf("content type %q: %w", h.Get("Content-Type"), err)
	}
	if strings.HasPrefix(media, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			part, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				return nil
			} else if err != nil {
				return err
			}
			if err := addMIMELeaves(part.Header, part, leaves); err != nil {
				return err
			}
		}
	}
	switch strings.ToLower(h.Get("Content-Transfer-Encoding")) {
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body)
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return fmt.Errorf("a %s part: %w", media, err)
	}
	leaves[media] += string(b)
	return nil
}
