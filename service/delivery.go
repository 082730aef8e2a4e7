package service

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/notify"
)

// MaxDeliveryAge is how long a message keeps being retried: a message
// whose send fails for a reason retrying may cure (a server down, a
// timeout) fails for good once it is older than this, by the service's
// clock.
const MaxDeliveryAge = 24 * time.Hour

// maxErrorText bounds the reasons and reports a message keeps.
const maxErrorText = 500

// The delivery report types of an SMS gateway (Kannel's) that mean the
// message failed at the network: it will not arrive.
const (
	dlrFailed   = 2
	dlrRejected = 16
)

// delivery is what the locker use cases need to send the outbox's
// messages. Its senders and public URL are set before the jobs start and
// never change after.
type delivery struct {
	senders   map[string]notify.Sender
	publicURL string

	keysOnce   sync.Once
	reportKeys [][]byte // the newest first; made at first use when none are set; they sign the QR links too (qr.go)

	qrKey ed25519.PrivateKey // signs the QR tokens of parcels ready in lockers (qr.go); nil: none

	mu     sync.Mutex
	counts map[[2]string]uint64 // by channel and state
}

// SetSenders sets the provider of each channel (notify.ChannelEmail,
// ChannelSMS, ChannelPush): a message of a channel without one is kept for
// the local outbox viewer (lokero.DeliveryLocal). Call it before the jobs
// start.
func (l *Lockers) SetSenders(senders map[string]notify.Sender) {
	l.delivery.senders = make(map[string]notify.Sender, len(senders))
	for ch, s := range senders {
		if s != nil {
			l.delivery.senders[ch] = s
		}
	}
}

// SetPublicURL sets the base of the links messages carry, as the
// recipient's browser reaches lokero ("https://lokero.example.fi"): the
// tracking link is base + "/v1/tracking/" + the tracking code. Call it
// before the jobs start; with none, messages carry no link.
func (l *Lockers) SetPublicURL(base string) {
	l.delivery.publicURL = strings.TrimRight(base, "/")
}

// Deliver sends one message of the outbox through its channel's provider
// and records how that went (the delivery job; attempt is the job's
// attempt number, from 1). It is idempotent: a message no longer queued
// is done already, and nothing is sent.
//
// With no sender for its channel the message is kept for the local outbox
// viewer (lokero.DeliveryLocal). Otherwise it is built with the opening
// code, the place and its hours, the deadline and any cash on delivery,
// and sent: accepted, it is DeliverySent with the provider's id; refused
// for good (notify.IsPermanent), DeliveryFailed with the reason; any other
// error is recorded as an attempt and returned, so that the job is tried
// again later, until the message is older than MaxDeliveryAge (or the job
// at its last attempt), when it fails with the last error.
//
// Exactly once: the record follows the provider's acceptance at once, in
// one statement that moves the message out of queued only once. Only a
// crash (or a database that stays away) between the two can send a
// message a second time, when the job is run again; the message's ID,
// which the provider sees, tells the repeat. Neither the code nor the text
// is ever logged.
func (l *Lockers) Deliver(ctx context.Context, messageID int64, attempt int) error {
	m, err := l.store.OutboxMessage(ctx, messageID)
	if lokero.ErrorCode(err) == lokero.ENOTFOUND {
		l.log.Warn("delivery: no such message", "message", messageID)
		return nil
	} else if err != nil {
		return fmt.Errorf("deliver message %d: %w", messageID, err)
	}
	if m.State == lokero.DeliveryFailed {
		// Done already; a run after a failure whose unreachable check
		// could not be made makes it now.
		return l.checkUnreachable(ctx, m)
	}
	if m.State != lokero.DeliveryQueued {
		return nil
	}
	sender := l.delivery.senders[m.Channel]
	if sender == nil {
		return l.endDelivery(ctx, m, lokero.DeliveryLocal, "", "")
	}
	if attempt > m.Attempts+1 {
		// An earlier run of this job left no record: its process died
		// (River rescued the job), perhaps after the provider had
		// accepted the message. This send may be a repeat.
		l.delivery.count(m.Channel, "resent")
		l.log.Warn("notification sent again after a run that left no record: the provider may have it twice",
			"message", m.ID, "channel", m.Channel, "attempt", attempt, "recorded_attempts", m.Attempts)
	}
	out, err := l.outgoing(ctx, m)
	if err != nil {
		return l.failedAttempt(ctx, m, attempt, err)
	}
	if m.Channel == notify.ChannelPush {
		sub, err := l.store.PushSubscription(ctx, m.To)
		if lokero.ErrorCode(err) == lokero.ENOTFOUND {
			return l.endDelivery(ctx, m, lokero.DeliveryFailed, "", "the push subscription was removed")
		} else if err != nil {
			return l.failedAttempt(ctx, m, attempt, err)
		}
		out.Push = &notify.PushTarget{Endpoint: sub.Endpoint, P256dh: sub.P256dh, Auth: sub.Auth}
	}
	providerID, err := sender.Send(ctx, out)
	if errors.Is(err, notify.ErrGone) && m.Channel == notify.ChannelPush {
		// The browser unsubscribed, or the push service forgot it: no
		// notice goes there again.
		if derr := l.store.DeletePushSubscription(ctx, m.To); derr != nil && lokero.ErrorCode(derr) != lokero.ENOTFOUND {
			l.log.Error("drop a push subscription that is gone", "subscription", m.To, "err", derr)
		} else {
			l.log.Info("push subscription gone: dropped", "subscription", m.To)
		}
	}
	if err != nil {
		return l.failedAttempt(ctx, m, attempt, err)
	}
	return l.endDelivery(ctx, m, lokero.DeliverySent, providerID, "")
}

// recordTries is how many times endDelivery tries to record a message the
// provider accepted, before it leaves the job to be retried (and the
// message, perhaps, to be sent again).
var recordTries = []time.Duration{0, 100 * time.Millisecond, time.Second}

// endDelivery records the end of a message's delivery and counts it. A
// message recorded already (by another worker) is left as it is.
func (l *Lockers) endDelivery(ctx context.Context, m lokero.OutboxMessage, state, providerID, lastError string) error {
	var err error
	for _, wait := range recordTries {
		if wait > 0 {
			select {
			case <-ctx.Done():
				return fmt.Errorf("record delivery of message %d: %w (after: %w)", m.ID, ctx.Err(), err)
			case <-time.After(wait):
			}
		}
		if err = l.store.RecordDelivery(ctx, m.ID, state, providerID, lastError, l.now()); err == nil ||
			lokero.ErrorCode(err) != lokero.EINTERNAL {
			break
		}
	}
	var e *lokero.Error
	switch {
	case errors.As(err, &e) && e.Code == lokero.ECONFLICT && e.Reason == "not_queued":
		if state == lokero.DeliverySent {
			if cur, err := l.store.OutboxMessage(ctx, m.ID); err == nil && cur.State == lokero.DeliveryFailed && cur.Report != "" {
				// The provider's report that it failed came before the
				// record that it took it (an SMSC rejecting at once).
				l.log.Info("notification failed before its sending was recorded", "message", m.ID, "channel", m.Channel, "provider_id", providerID)
				return nil
			}
			// Another worker got there first: the provider had it twice.
			l.log.Warn("notification sent again: another worker recorded it first",
				"message", m.ID, "channel", m.Channel, "provider_id", providerID)
			l.delivery.count(m.Channel, "repeated")
		}
		return nil
	case err != nil:
		return fmt.Errorf("record delivery of message %d: %w", m.ID, err)
	}
	l.delivery.count(m.Channel, state)
	switch state {
	case lokero.DeliveryFailed:
		l.log.Warn("notification failed", "message", m.ID, "channel", m.Channel, "kind", m.Kind, "reason", lastError)
		// An error here has the job run again: Deliver then finds the
		// message failed and checks again.
		return l.checkUnreachable(ctx, m)
	default:
		l.log.Info("notification "+state, "message", m.ID, "channel", m.Channel, "kind", m.Kind, "provider_id", providerID)
	}
	return nil
}

// UnreachableNote begins the event recorded on a parcel ready for pickup
// whose notice of arrival failed on every channel its recipient gave: the
// operator sees the parcel as unreachable (and GET
// /v1/notifications?state=failed lists the messages). The reasons follow,
// by channel, with the recipient's address left out.
const UnreachableNote = "Notice of arrival could not be delivered: "

// maxFailedScan is how many of a parcel's newest messages
// checkUnreachable reads to find a notice's other messages.
const maxFailedScan = 1000

// checkUnreachable notes a parcel unreachable (UnreachableNote) when m, a
// notice of arrival just recorded failed, was the last of its notice to
// fail: every message of that notice (the parcel's arrival messages
// queued with m, in one transaction) failed, and the recipient gave no
// channel it did not go to. The note is made once per notice, and only
// for a parcel still ready for pickup.
//
// The note cannot join the failure's record, which is a statement of its
// own outside any transaction (lokero.NotificationStore); it follows it.
// Two channels failing at once are both recorded before either check, so
// that the later check sees both; the shipment's lock and the search for
// an earlier note keep the note single.
func (l *Lockers) checkUnreachable(ctx context.Context, m lokero.OutboxMessage) error {
	if m.Kind != notify.KindArrival || m.ShipmentID == "" {
		return nil
	}
	// The notice's messages, among the parcel's: the failed ones' reasons
	// by channel. A push counts for nothing: it never tells the code
	// (pushAlong), so it reaches no one for the pickup. (One kept for the
	// local viewer reaches nobody.)
	msgs, err := l.store.Notifications(ctx, lokero.NotificationFilter{ShipmentID: m.ShipmentID, Limit: maxFailedScan})
	if err != nil {
		return fmt.Errorf("unreachable check of message %d: %w", m.ID, err)
	}
	reasons := map[string]string{} // by channel
	for _, f := range msgs {
		if f.Kind != notify.KindArrival || !f.CreatedAt.Equal(m.CreatedAt) {
			continue
		}
		switch {
		case f.Channel == notify.ChannelPush:
			continue
		case f.State == lokero.DeliveryFailed:
			reason := f.LastError
			if f.To != "" {
				reason = strings.ReplaceAll(reason, f.To, "<"+f.Channel+">")
			}
			reasons[f.Channel] = reason
		}
	}
	if len(reasons) == 0 {
		return nil
	}
	noted := false
	err = l.store.InTx(ctx, func(tx lokero.Tx) error {
		noted = false
		sh, err := tx.Shipment(ctx, m.ShipmentID)
		if lokero.ErrorCode(err) == lokero.ENOTFOUND {
			return nil
		} else if err != nil {
			return err
		}
		if sh.Status != lokero.StatusReadyForPickup {
			return nil // picked up, or over: nothing for the operator to do
		}
		var parts []string
		for _, ch := range [...]struct{ channel, to string }{{notify.ChannelSMS, sh.Recipient.Phone}, {notify.ChannelEmail, sh.Recipient.Email}} {
			if ch.to == "" {
				continue
			}
			reason, ok := reasons[ch.channel]
			if !ok {
				return nil // this channel's message is not failed (yet)
			}
			parts = append(parts, ch.channel+": "+reason)
		}
		if len(parts) == 0 {
			return nil
		}
		for _, e := range sh.Events {
			if strings.HasPrefix(e.Reason, UnreachableNote) && !e.At.Before(m.CreatedAt) {
				return nil // noted already
			}
		}
		sh.Note(tx.Now(), sh.DestinationID, cleanText(UnreachableNote+strings.Join(parts, "; ")))
		noted = true
		return tx.UpdateShipment(ctx, &sh)
	})
	if err != nil {
		return fmt.Errorf("unreachable check of message %d: %w", m.ID, err)
	}
	if noted {
		l.log.Warn("recipient unreachable: every message of the notice of arrival failed", "shipment", m.ShipmentID, "message", m.ID)
	}
	return nil
}

// failedAttempt handles a message that could not be sent: failed for good
// when err is permanent, the message too old or the job at its last
// attempt; else the attempt is recorded and err returned for the job to
// be retried.
func (l *Lockers) failedAttempt(ctx context.Context, m lokero.OutboxMessage, attempt int, err error) error {
	reason := errorText(err)
	switch {
	case notify.IsPermanent(err):
		return l.endDelivery(ctx, m, lokero.DeliveryFailed, "", reason)
	case l.now().Sub(m.CreatedAt) >= MaxDeliveryAge:
		return l.endDelivery(ctx, m, lokero.DeliveryFailed, "", "gave up after 24 h: "+reason)
	case attempt >= lokero.MaxDeliveryAttempts:
		return l.endDelivery(ctx, m, lokero.DeliveryFailed, "", fmt.Sprintf("gave up after %d attempts: %s", attempt, reason))
	}
	if rerr := l.store.RecordAttempt(ctx, m.ID, attempt, reason); rerr != nil {
		l.log.Error("record a failed attempt", "message", m.ID, "err", rerr)
	}
	l.delivery.count(m.Channel, "retried")
	l.log.Warn("notification not sent yet: will retry", "message", m.ID, "channel", m.Channel, "attempt", attempt, "reason", reason)
	return fmt.Errorf("deliver message %d over %s, attempt %d: %w", m.ID, m.Channel, attempt, err)
}

// errorText is err as a message keeps it: one line, at most maxErrorText
// bytes.
func errorText(err error) string {
	return cleanText(err.Error())
}

// cleanText makes s one line of printable characters, at most
// maxErrorText bytes (cut at a character).
func cleanText(s string) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }), " ")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	if len(s) > maxErrorText {
		cut := maxErrorText
		for cut > 0 && !utf8Start(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return strings.TrimSpace(s)
}

// utf8Start reports whether b begins a UTF-8 character.
func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// outgoing builds the message as its sender gets it: the text with the
// code filled in, in the recipient's language, and what a template needs
// of the parcel and its place.
func (l *Lockers) outgoing(ctx context.Context, m lokero.OutboxMessage) (notify.Message, error) {
	sh, err := l.messageShipment(ctx, m)
	if err != nil {
		return notify.Message{}, err
	}
	lang := sh.Recipient.Language
	if m.Kind == notify.KindDropOffReceipt {
		// To the consumer who dropped the parcel: the shipment's sender
		// (a return's sender is the delivery's recipient, its recipient
		// the store).
		lang = sh.Sender.Language
	}
	switch {
	case m.ShipmentID == "" && m.TrackingCode == "":
		lang = "en" // to a retailer's contact (a webhook disabled), not a recipient
	case lang != "sv" && lang != "en":
		lang = "fi"
	}
	if m.Code != nil && l.codes == nil {
		return notify.Message{}, notify.Permanent(fmt.Errorf("message %d tells an opening code, and no code secret is configured", m.ID))
	}
	text, code, err := l.render(m)
	if err != nil {
		if lokero.ErrorCode(err) != lokero.ENOTFOUND {
			// The code cannot be derived (a key retired since): retrying
			// will not change that.
			err = notify.Permanent(err)
		}
		return notify.Message{}, err
	}
	out := notify.Message{ID: m.ID, Channel: m.Channel, To: m.To, Kind: m.Kind, Language: lang, Text: text,
		Parcel: notify.Parcel{TrackingCode: m.TrackingCode, TrackingURL: l.trackingURL(m.TrackingCode, lang), Code: code,
			Deadline: sh.StorageDeadline}}
	if m.Kind == notify.KindArrival && strings.HasSuffix(m.Text, codeChangedText(sh.Recipient)) {
		out.Parcel.CodeChanged = true
	}
	if cod := sh.COD; cod != nil && cod.CollectedAt == nil && cod.AmountCents > 0 {
		out.Parcel.CODCents, out.Parcel.Currency = cod.AmountCents, cod.Currency
	}
	placeID := sh.DestinationID
	if m.Code != nil {
		placeID = m.Code.LocationID
	}
	if m.Kind == notify.KindArrival && m.Code != nil && m.Code.LocationID == sh.DestinationID {
		// The QR code that opens the compartment whatever the keypad's
		// lockout (qr.go): made now, for the parcel as it is now (none
		// once it is picked up or expired), never stored.
		if tok := l.qrToken(&sh, l.now()); tok != "" {
			out.Parcel.QRToken, out.Parcel.QRURL = tok, l.qrURL(&sh)
			switch {
			case m.Channel == notify.ChannelSMS:
				// Only when it fits two segments; else e-mail and push carry it.
				out.Text, _ = withQRLink(out.Text, out.Parcel.QRURL, lang)
			case m.Channel == notify.ChannelPush && out.Parcel.QRURL != "":
				out.Text += " " + qrLinkText(lang) + " " + out.Parcel.QRURL
			}
		}
	}
	if placeID != "" {
		// The text tells the place already: a place gone from the
		// directory leaves the template without it, not the recipient
		// without the message.
		if loc, err := l.dir.Location(placeID); err == nil {
			out.Parcel.Place = place(loc, lang, lokero.DateOf(l.now()))
		} else {
			l.log.Warn("delivery: the message's place is not in the directory", "message", m.ID, "location", placeID)
		}
	}
	return out, nil
}

// messageShipment reads the shipment a message is about: by its ID, or
// (messages queued without one) by its tracking code; a zero shipment
// when there is none.
func (l *Lockers) messageShipment(ctx context.Context, m lokero.OutboxMessage) (lokero.Shipment, error) {
	var (
		sh  lokero.Shipment
		err error
	)
	switch {
	case m.ShipmentID != "":
		sh, err = l.store.Shipment(ctx, m.ShipmentID)
	case m.TrackingCode != "":
		sh, err = l.store.ShipmentByTrackingCode(ctx, m.TrackingCode)
	default:
		return sh, nil
	}
	if lokero.ErrorCode(err) == lokero.ENOTFOUND {
		return lokero.Shipment{}, nil
	}
	if err != nil {
		return sh, fmt.Errorf("message %d: its shipment: %w", m.ID, err)
	}
	return sh, nil
}

// trackingURL is the public tracking page of a tracking code (the web
// page /t/{code}, in the message's language), what a recipient opens from
// a notice; "" without a public URL.
func (l *Lockers) trackingURL(code, lang string) string {
	if l.delivery.publicURL == "" || code == "" {
		return ""
	}
	return l.delivery.publicURL + "/t/" + url.PathEscape(code) + "?lang=" + url.QueryEscape(lang)
}

// place is what a message tells of a location in a language, with its
// opening hours for NoticeHoursDays days from day on: always for an
// outlet, and for a locker unless it is open round the clock on each of
// them.
func place(loc *lokero.Location, lang string, day lokero.Date) notify.Place {
	p := notify.Place{ID: loc.ID, Type: string(loc.Type), Counter: loc.Type.IsOutlet(), Name: loc.Name,
		Street: loc.Street, Postcode: loc.Postcode, City: loc.City}
	if lang == "sv" && loc.StreetSV != "" {
		p.Street = loc.StreetSV
	}
	if p.Counter || !roundTheClock(loc, day, NoticeHoursDays) {
		p.Hours = hoursLines(loc, day, NoticeHoursDays, lang)
	}
	return p
}

// roundTheClock reports whether a location is open all day on each of
// the days from day on (no hours known counts as all day).
func roundTheClock(loc *lokero.Location, day lokero.Date, days int) bool {
	for i := range days {
		date := day.AddDays(i).String()
		if !loc.OpenOn(date) {
			return false
		}
		hours := loc.HoursOn(date)
		if len(hours) > 1 || len(hours) == 1 && (hours[0].From != "00:00" || hours[0].To != "24:00") {
			return false
		}
	}
	return true
}

// Notifications lists the outbox's messages the filter selects, newest
// first, as stored: an opening code is its placeholder. A state other
// than lokero.DeliveryStates, a channel other than sms, email or push, or
// a limit outside 0..1000 (0: 100) is EINVALID naming the field.
func (l *Lockers) Notifications(ctx context.Context, f lokero.NotificationFilter) ([]lokero.OutboxMessage, error) {
	if f.State != "" && !slices.Contains(lokero.DeliveryStates, f.State) {
		return nil, lokero.Invalid("state", "unknown_state", "state must be one of %s; got %q",
			strings.Join(lokero.DeliveryStates, ", "), truncateText(f.State, 32))
	}
	if f.Channel != "" && !slices.Contains([]string{notify.ChannelEmail, notify.ChannelSMS, notify.ChannelPush}, f.Channel) {
		return nil, lokero.Invalid("channel", "unknown_channel", "channel must be one of email, sms, push; got %q", truncateText(f.Channel, 32))
	}
	if f.Limit < 0 || f.Limit > 1000 {
		return nil, lokero.Invalid("limit", "out_of_range", "limit must be 1..1000; got %d", f.Limit)
	}
	return l.store.Notifications(ctx, f)
}

// RecordSMSReport records a delivery report of an SMS gateway about a
// message (Kannel's DLR: status its report type, text the SMSC's answer),
// as "dlr <status>: <text>". A report that the message failed at the
// network (status 2, failed, or 16, rejected by the SMSC) fails it, with
// the report as its reason. ENOTFOUND when there is no SMS with that id.
func (l *Lockers) RecordSMSReport(ctx context.Context, messageID int64, status int, text string) error {
	m, err := l.store.OutboxMessage(ctx, messageID)
	if err != nil {
		return err
	}
	if m.Channel != notify.ChannelSMS {
		return lokero.Errorf(lokero.ENOTFOUND, "no SMS with id %d", messageID)
	}
	report := "dlr " + strconv.Itoa(status)
	if text = cleanText(text); text != "" {
		report += ": " + text
	}
	failed := status == dlrFailed || status == dlrRejected
	if err := l.store.RecordReport(ctx, messageID, report, failed, l.now()); err != nil {
		return err
	}
	if failed && (m.State == lokero.DeliveryQueued || m.State == lokero.DeliverySent) {
		l.delivery.count(m.Channel, lokero.DeliveryFailed)
		l.log.Warn("notification failed: the SMS gateway reported it", "message", m.ID, "report", report)
		// The report is recorded: an error of the check is logged, not
		// answered (a repeated report finds the message failed already).
		if err := l.checkUnreachable(ctx, m); err != nil {
			l.log.Error("unreachable check after a delivery report", "message", m.ID, "err", err)
		}
	}
	return nil
}

// reportLabel separates the keys that sign delivery-report URLs from any
// other use of the secrets they come from.
const reportLabel = "lokero: SMS delivery report URL"

// SetReportKeys sets the secrets that sign the delivery-report URLs given
// to the SMS gateway (ReportSignature), the newest first: signatures are
// made with the first and checked against each, so that a key rotated out
// keeps the reports of messages sent under it coming. Every instance of a
// network must use the same (lokero serve derives them from the code
// secret's keys). Without any, a random key of this process is made at
// first use. Call it before serving.
func (l *Lockers) SetReportKeys(keys ...[]byte) {
	var derived [][]byte
	for _, k := range keys {
		if len(k) == 0 {
			continue
		}
		mac := hmac.New(sha256.New, k)
		mac.Write([]byte(reportLabel))
		derived = append(derived, mac.Sum(nil))
	}
	if len(derived) == 0 {
		return
	}
	l.delivery.keysOnce.Do(func() {})
	l.delivery.reportKeys = derived
}

// keys returns the report keys, making a random one when none were set.
func (d *delivery) keys() [][]byte {
	d.keysOnce.Do(func() {
		if len(d.reportKeys) == 0 {
			k := make([]byte, 32)
			rand.Read(k)
			d.reportKeys = [][]byte{k}
		}
	})
	return d.reportKeys
}

// reportMAC is the signature of a message's delivery-report URL under
// key: 128 bits of HMAC-SHA256, base64url.
func reportMAC(key []byte, messageID int64) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("sms-dlr:" + strconv.FormatInt(messageID, 10)))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:16])
}

// ReportSignature signs a message's delivery-report URL (the value its
// "sig" parameter carries): only lokero can make it, so that a report
// comes from the gateway lokero gave the URL to.
func (l *Lockers) ReportSignature(messageID int64) string {
	return reportMAC(l.delivery.keys()[0], messageID)
}

// ValidReportSignature reports whether sig is a message's report
// signature under any of the report keys, in constant time.
func (l *Lockers) ValidReportSignature(messageID int64, sig string) bool {
	ok := false
	for _, k := range l.delivery.keys() {
		if hmac.Equal([]byte(reportMAC(k, messageID)), []byte(sig)) {
			ok = true
		}
	}
	return ok
}

// NotificationCount is how many messages of a channel this process saw
// reach an outcome: a delivery state (sent, failed, local), "retried" (a
// failed attempt to be tried again), "repeated" (sent again after
// another worker recorded it) or "resent" (sent again after a run that
// died leaving no record, so perhaps a repeat).
type NotificationCount struct {
	Channel, State string
	N              uint64
}

// NotificationCounts returns the counts of outcomes since the process
// started, by channel and state (the metric lokero_notifications_total).
func (l *Lockers) NotificationCounts() []NotificationCount {
	d := &l.delivery
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]NotificationCount, 0, len(d.counts))
	for k, n := range d.counts {
		out = append(out, NotificationCount{Channel: k[0], State: k[1], N: n})
	}
	slices.SortFunc(out, func(a, b NotificationCount) int {
		if c := strings.Compare(a.Channel, b.Channel); c != 0 {
			return c
		}
		return strings.Compare(a.State, b.State)
	})
	return out
}

// count counts one outcome.
func (d *delivery) count(channel, state string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.counts == nil {
		d.counts = map[[2]string]uint64{}
	}
	d.counts[[2]string{channel, state}]++
}
