package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/calendar"
	"github.com/lokero/lokero/notify"
	"golang.org/x/text/unicode/norm"
)

// MaxNoticesAgain is how many times a day (a Helsinki calendar day) a
// parcel's notice of arrival may be sent again, rotations of its code
// included: a recipient who lost the first message gets it again, and
// again, but a retailer's script or a stolen key cannot flood a phone
// with messages (nor the operator's SMS bill).
const MaxNoticesAgain = 3

// The reasons of the events NoticeAgain records, by which the day's sends
// are counted.
const (
	reasonNoticeAgain = "The notice of arrival was sent again."
	reasonCodeRotated = "The opening code was changed by the operator and a new notice of arrival sent."
)

// NoticeAgain sends a parcel's notice of arrival again, with the same
// opening code (for the retailer's customer service, ownerID its id, or
// an operator, ownerID ""). With rotate (operators only) the parcel gets a
// new code first and the old one stops working.
//
// A notice is sent again at most MaxNoticesAgain times a Helsinki day;
// one more is refused with ETOOMANY "notice_limit" and a RetryAfter until
// the next Helsinki midnight. A rotation counts as a send, but is never
// refused: it is how an operator stops a code that leaked, which must not
// wait for the next day, and only an operator can ask for it. The sends
// are counted from the parcel's own events (each send records one,
// whatever the channels), read and locked with it: no other table, and
// two requests at once cannot both take the last send.
func (l *Lockers) NoticeAgain(ctx context.Context, ownerID, id string, rotate bool) (lokero.Shipment, error) {
	if !plainID(id) || len(id) > 64 {
		return lokero.Shipment{}, notFoundShipment(id)
	}
	if l.codes == nil {
		return lokero.Shipment{}, errors.New("notice: no code secret configured")
	}
	var out lokero.Shipment
	err := l.store.InTx(ctx, func(tx lokero.Tx) error {
		sh, err := ownedShipment(ctx, tx, ownerID, id)
		if err != nil {
			return err
		}
		if sh.Status != lokero.StatusReadyForPickup {
			return &lokero.Error{Code: lokero.ECONFLICT, Reason: "not_ready_for_pickup",
				Message: fmt.Sprintf("shipment %s is %s: a notice of arrival is sent only for a parcel ready for pickup", sh.ID, sh.Status)}
		}
		loc, err := l.pointAt(sh.DestinationID)
		if err != nil {
			return err
		}
		n := l.policy.CodeLength(loc.Type)
		v, _, ok := l.codes.Version(loc.ID, sh.ID, n, sh.OpeningCodeHash)
		if !ok && !rotate {
			return &lokero.Error{Code: lokero.ECONFLICT, Reason: "code_not_derivable",
				Message: "this parcel's code was made before codes could be sent again (or under another secret): an operator can rotate it"}
		}
		now := tx.Now()
		if sent := noticesSentOn(&sh, now); sent >= MaxNoticesAgain && !rotate {
			midnight := nextHelsinkiMidnight(now)
			return &lokero.Error{Code: lokero.ETOOMANY, Reason: "notice_limit", RetryAfter: midnight.Sub(now),
				Message: fmt.Sprintf("the notice of arrival of shipment %s was sent again %d times today, the most in one day; it can be sent again from %s",
					sh.ID, sent, midnight.Format("2006-01-02 15:04 MST"))}
		}
		reason := reasonNoticeAgain
		if rotate {
			if v, err = l.newCode(ctx, tx, loc, &sh, v+1); err != nil {
				return err
			}
			reason = reasonCodeRotated
		}
		ms := notices(loc, &sh, v, n, sh.StorageDeadline, now, rotate)
		for i := range ms {
			if err := tx.AddOutbox(ctx, ms[i]); err != nil {
				return fmt.Errorf("queue notice of arrival: %w", err)
			}
		}
		if len(ms) > 0 {
			if err := pushAlong(ctx, tx, sh.Recipient, ms[0]); err != nil {
				return err
			}
		}
		sh.Note(now, loc.ID, reason)
		if err := tx.UpdateShipment(ctx, &sh); err != nil {
			return err
		}
		out = sh
		return nil
	})
	if err == nil && rotate {
		l.log.Info("opening code rotated", "shipment", id)
	}
	return out, err
}

// codeChangedText ends the notice of arrival of a rotated code, in the
// recipient's language: the code of the earlier notice no longer works.
// (The SMS is this text; the arrival e-mail says it from its own
// template, by notify.Parcel.CodeChanged.)
func codeChangedText(p lokero.Party) string {
	switch messageLanguage(p) {
	case "sv":
		return "Koden har bytts: den tidigare koden fungerar inte längre."
	case "en":
		return "The code has been changed: the earlier code no longer works."
	}
	return "Koodi on vaihdettu: aiempi koodi ei enää toimi."
}

// noticesSentOn counts the notices of arrival a parcel was sent again (or
// sent with a rotated code) on now's Helsinki day.
func noticesSentOn(sh *lokero.Shipment, now time.Time) int {
	day := lokero.DateOf(now)
	n := 0
	for _, e := range sh.Events {
		if (e.Reason == reasonNoticeAgain || e.Reason == reasonCodeRotated) && lokero.DateOf(e.At) == day {
			n++
		}
	}
	return n
}

// nextHelsinkiMidnight returns the first midnight in Helsinki after t (a
// day is 23 or 25 hours long across a change of summer time).
func nextHelsinkiMidnight(t time.Time) time.Time {
	return lokero.DateOf(t).AddDays(1).Start()
}

// notices are the notices of arrival of a parcel, one per channel the
// recipient gave, in the recipient's language. They tell the opening code
// (at an outlet, the pickup code) of that version, filled in only when
// sent (Lockers.Render), and, when changed, that the earlier code no
// longer works. An outlet's notice also tells its opening hours for the
// days from now on (outletNoticeText). The SMS always fits smsMaxSegments
// GSM-7 segments with a code of codeLen characters: its characters are
// GSM 03.38's (smsText), and an outlet's tells the hours of as many days
// as fit (the e-mail and the push tell them all).
func notices(loc *lokero.Location, sh *lokero.Shipment, version, codeLen int, deadline, now time.Time, changed bool) []lokero.OutboxMessage {
	ref := &lokero.CodeRef{LocationID: loc.ID, Version: version}
	until := deadline.Add(-time.Minute).In(calendar.Helsinki).Format("2.1.2006")
	text := func(hoursDays int) string {
		t := arrivalText(loc, sh, until, lokero.DateOf(now), hoursDays)
		if changed {
			t += " " + codeChangedText(sh.Recipient)
		}
		return t
	}
	full := text(NoticeHoursDays)
	sms := smsText(full)
	for days := NoticeHoursDays - 1; days >= 0 && loc.Type.IsOutlet() && !smsFits(sms, codeLen); days-- {
		sms = smsText(text(days))
	}
	var out []lokero.OutboxMessage
	if sh.Recipient.Phone != "" {
		out = append(out, lokero.OutboxMessage{Channel: "sms", To: sh.Recipient.Phone, TrackingCode: sh.TrackingCode, Kind: "arrival",
			Text: sms, CreatedAt: now, ShipmentID: sh.ID, Code: ref})
	}
	if sh.Recipient.Email != "" {
		out = append(out, lokero.OutboxMessage{Channel: "email", To: sh.Recipient.Email, TrackingCode: sh.TrackingCode, Kind: "arrival",
			Text: full, CreatedAt: now, ShipmentID: sh.ID, Code: ref})
	}
	return out
}

// arrivalText is a notice of arrival in the recipient's language: at a
// locker its place and the code's placeholder, at an outlet
// outletNoticeText with the hours of hoursDays days from day.
func arrivalText(loc *lokero.Location, sh *lokero.Shipment, until string, day lokero.Date, hoursDays int) string {
	code := lokero.CodePlaceholder
	place := placeText(loc, sh.Recipient.Language)
	switch {
	case loc.Type.IsOutlet():
		return outletNoticeText(loc, sh, until, day, hoursDays)
	case sh.Recipient.Language == "sv":
		return fmt.Sprintf("Ditt paket %s finns i paketautomaten %s. Öppningskod: %s. Hämta det senast %s.", sh.TrackingCode, place, code, until)
	case sh.Recipient.Language == "en":
		return fmt.Sprintf("Your parcel %s is in the parcel locker %s. Opening code: %s. Collect it by %s.", sh.TrackingCode, place, code, until)
	default:
		return fmt.Sprintf("Pakettisi %s on noudettavissa pakettiautomaatista %s. Avauskoodi: %s. Nouda viimeistään %s.", sh.TrackingCode, place, code, until)
	}
}

// smsFits reports whether an SMS text fits smsMaxSegments GSM-7 segments
// once its code placeholder is a code of codeLen characters.
func smsFits(text string, codeLen int) bool {
	n, ok := gsm7Segments(strings.ReplaceAll(text, lokero.CodePlaceholder, strings.Repeat("0", codeLen)))
	return ok && n <= smsMaxSegments
}

// gsmLookalikes write the typographic characters names and hours carry
// with the GSM 03.38 characters that look like them.
var gsmLookalikes = strings.NewReplacer("\u2018", "'", "\u2019", "'", "\u201a", "'", "\u00b4", "'", "`", "'",
	"\u201c", `"`, "\u201d", `"`, "\u201e", `"`, "\u00ab", `"`, "\u00bb", `"`,
	"\u2010", "-", "\u2011", "-", "\u2013", "-", "\u2014", "-", "\u2212", "-", "\u2026", "...", "\u00a0", " ", "\u202f", " ")

// smsText is text in GSM 03.38's characters, so that its SMS goes as
// GSM-7 (153 characters a segment) and not as UCS-2 (67), where one
// character of a name (a ’, an en dash) would take the whole text: the
// typographic characters become their lookalikes, a letter GSM lacks
// loses its accent ("š" → "s"), and what is left is "?".
func smsText(text string) string {
	text = gsmLookalikes.Replace(text)
	if _, ok := gsm7Segments(text); ok {
		return text
	}
	var b strings.Builder
	for _, r := range text {
		if strings.ContainsRune(gsmDefault, r) || strings.ContainsRune(gsmExtended, r) {
			b.WriteRune(r)
			continue
		}
		base, _ := utf8.DecodeRuneInString(norm.NFD.String(string(r)))
		if !strings.ContainsRune(gsmDefault, base) {
			base = '?'
		}
		b.WriteRune(base)
	}
	return b.String()
}

// NoticeHoursDays is how many days of an outlet's opening hours its
// notice of arrival tells: the day of the notice and the six after it.
const NoticeHoursDays = 7

// outletNoticeText is an outlet's notice of arrival in the recipient's
// language: the outlet's name and address, the pickup code (its
// placeholder), the last day, a reminder to bring an ID (the clerk checks
// it) and the opening hours of the NoticeHoursDays days from day on, as
// they stand that day: exception days and closures included.
func outletNoticeText(loc *lokero.Location, sh *lokero.Shipment, until string, day lokero.Date, days int) string {
	lang := sh.Recipient.Language
	place := placeText(loc, lang)
	from := outletWords(loc.Type, lang).from
	code := lokero.CodePlaceholder
	var text, hours string
	switch lang {
	case "sv":
		text, hours = fmt.Sprintf("Ditt paket %s kan hämtas %s %s. Avhämtningskod: %s. Hämta det senast %s och ta med legitimation.", sh.TrackingCode, from, place, code, until), "Öppettider"
	case "en":
		text, hours = fmt.Sprintf("Your parcel %s is ready for pickup %s %s. Pickup code: %s. Collect it by %s and bring an ID.", sh.TrackingCode, from, place, code, until), "Opening hours"
	default:
		text, hours = fmt.Sprintf("Pakettisi %s on noudettavissa %s %s. Noutokoodi: %s. Nouda viimeistään %s ja ota mukaan henkilöllisyystodistus.", sh.TrackingCode, from, place, code, until), "Aukioloajat"
	}
	if days > 0 {
		text += " " + hours + ": " + hoursText(loc, day, days, lang) + "."
	}
	return text
}

// outletWords name an outlet of a type in a language: where a parcel is
// collected from, and where it waits.
func outletWords(t lokero.LocationType, lang string) struct{ from, at string } {
	post := t == lokero.TypePostOffice
	switch {
	case lang == "sv" && post:
		return struct{ from, at string }{"på postkontoret", "på postkontoret"}
	case lang == "sv":
		return struct{ from, at string }{"på utlämningsstället", "på utlämningsstället"}
	case lang == "en" && post:
		return struct{ from, at string }{"at the post office", "at the post office"}
	case lang == "en":
		return struct{ from, at string }{"at the pickup point", "at the pickup point"}
	case post:
		return struct{ from, at string }{"postista", "postissa"}
	}
	return struct{ from, at string }{"noutopisteestä", "noutopisteessä"}
}

// hoursWords are the words of hoursText in each language.
var hoursWords = map[string]struct {
	weekdays     [8]string // 1 Monday … 7 Sunday
	closed, open string    // a closed day; a day open at hours not known
	and, clock   string    // between two ranges of a day; between hours and minutes
}{
	"fi": {[8]string{1: "ma", "ti", "ke", "to", "pe", "la", "su"}, "suljettu", "avoinna", " ja ", "."},
	"sv": {[8]string{1: "mån", "tis", "ons", "tors", "fre", "lör", "sön"}, "stängt", "öppet", " och ", "."},
	"en": {[8]string{1: "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}, "closed", "open", " and ", ":"},
}

// hoursText tells a location's opening hours on the days from day on, one
// after the other ("to 26.11. 9.00–18.00, pe 27.11. 9.00–18.00, la 28.11.
// suljettu, …"): hoursLines joined.
func hoursText(loc *lokero.Location, day lokero.Date, days int, lang string) string {
	return strings.Join(hoursLines(loc, day, days, lang), ", ")
}

// hoursLines tells a location's opening hours on the days from day on,
// one line a day ("to 26.11. 9.00–18.00", "la 28.11. suljettu"), as
// Location.OpenOn and HoursOn read them: weekly hours, exception days, a
// temporary closure.
func hoursLines(loc *lokero.Location, day lokero.Date, days int, lang string) []string {
	w, ok := hoursWords[lang]
	if !ok {
		w = hoursWords["fi"]
	}
	clock := func(hhmm string) string { // "09:00" → "9.00"
		return strings.TrimPrefix(strings.Replace(hhmm, ":", w.clock, 1), "0")
	}
	parts := make([]string, 0, days)
	for i := range days {
		d := day.AddDays(i)
		date := d.String()
		wd := int(d.Weekday())
		if wd == 0 {
			wd = 7
		}
		text := fmt.Sprintf("%s %d.%d.", w.weekdays[wd], d.Day, int(d.Month))
		hours := loc.HoursOn(date)
		switch {
		case !loc.OpenOn(date):
			text += " " + w.closed
		case len(hours) == 0:
			text += " " + w.open
		default:
			ranges := make([]string, len(hours))
			for j, h := range hours {
				ranges[j] = clock(h.From) + "–" + clock(h.To)
			}
			text += " " + strings.Join(ranges, w.and)
		}
		parts = append(parts, text)
	}
	return parts
}

// Outbox lists the queued messages, newest first, as stored: an opening
// code is a placeholder (see Render).
func (l *Lockers) Outbox(ctx context.Context, limit int) ([]lokero.OutboxMessage, error) {
	return l.store.Outbox(ctx, limit)
}

// Render returns a queued message as it is sent: its opening code, derived
// again from the code secret, in place of the placeholder. Only a sender
// (and the development outbox) calls it; the result is never stored or
// logged.
func (l *Lockers) Render(m lokero.OutboxMessage) (lokero.OutboxMessage, error) {
	text, _, err := l.render(m)
	if err != nil {
		return m, err
	}
	m.Text = text
	return m, nil
}

// render returns a message's text with its opening code filled in, and
// the code ("" when the message tells none).
func (l *Lockers) render(m lokero.OutboxMessage) (text, code string, err error) {
	if m.Code == nil {
		return m.Text, "", nil
	}
	if l.codes == nil {
		return "", "", errors.New("render message: no code secret configured")
	}
	loc, err := l.dir.Location(m.Code.LocationID)
	if err != nil {
		return "", "", fmt.Errorf("render message %d: %w", m.ID, err)
	}
	code, _, err = l.codes.Derive(loc.ID, m.ShipmentID, m.Code.Version, l.policy.CodeLength(loc.Type))
	if err != nil {
		return "", "", fmt.Errorf("render message %d: %w", m.ID, err)
	}
	return strings.ReplaceAll(m.Text, lokero.CodePlaceholder, code), code, nil
}

// The messages below tell of changes other than the parcel's arrival: a
// re-routing, the end of the storage period, a drop-off. Each is queued in
// the transaction of its change, in its person's language, on every
// channel they gave (queueTo). Their texts tell no code, and are short
// enough for two SMS segments (GSM-7) however long the place's name:
// names and streets are clipped to maxNameText and maxStreetText.
const (
	maxNameText   = 50 // runes of a place's name in a message
	maxPartyText  = 40 // runes of a person's or a company's name in a message
	maxStreetText = 35 // runes of a street address in a message
)

// messageLanguage is the language of a party's messages: "sv" or "en"
// when they asked for it, else "fi".
func messageLanguage(p lokero.Party) string {
	if p.Language == "sv" || p.Language == "en" {
		return p.Language
	}
	return "fi"
}

// queueTo queues m to a person on every channel they gave: an SMS to
// their phone, an e-mail to their address (m's Channel and To are set for
// each). A person who gave neither gets nothing. A message to a parcel's
// recipient goes to the parcel's push subscriptions too (pushAlong).
func queueTo(ctx context.Context, tx lokero.Tx, p lokero.Party, m lokero.OutboxMessage) error {
	for _, ch := range [...]struct{ channel, to string }{{notify.ChannelSMS, p.Phone}, {notify.ChannelEmail, p.Email}} {
		if ch.to == "" {
			continue
		}
		m.Channel, m.To = ch.channel, ch.to
		sent := m
		if ch.channel == notify.ChannelSMS {
			sent.Text = smsText(m.Text)
		}
		if err := tx.AddOutbox(ctx, sent); err != nil {
			return fmt.Errorf("queue %s message of %s over %s: %w", m.Kind, m.TrackingCode, ch.channel, err)
		}
	}
	return pushAlong(ctx, tx, p, m)
}

// clip cuts s to at most n runes, at a space where there is one in its
// second half, without the punctuation the cut leaves at its end.
func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	cut := string([]rune(s)[:n])
	if i := strings.LastIndexByte(cut, ' '); i > len(cut)/2 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " ,;:-–")
}

// placeText names a place as a message in lang tells it: its name, street
// (the Swedish name in sv, where there is one), postcode and city.
func placeText(loc *lokero.Location, lang string) string {
	street := loc.Street
	if lang == "sv" && loc.StreetSV != "" {
		street = loc.StreetSV
	}
	return fmt.Sprintf("%s, %s, %s %s", clip(loc.Name, maxNameText), clip(street, maxStreetText), loc.Postcode, clip(loc.City, 20))
}

// queueRerouted queues the notice that a parcel goes to another place,
// loc (sh already re-routed there), to its recipient: only for a parcel
// handed over to the carrier (IN_TRANSIT). One still CREATED, re-routed as
// it is booked or before its handover, has told its recipient nothing yet
// (what the checkout showed is the retailer's word), and its notice of
// arrival will name the place it waits at.
func queueRerouted(ctx context.Context, tx lokero.Tx, sh *lokero.Shipment, loc *lokero.Location) error {
	if sh.Status != lokero.StatusInTransit {
		return nil
	}
	return queueTo(ctx, tx, sh.Recipient, lokero.OutboxMessage{TrackingCode: sh.TrackingCode, Kind: notify.KindRerouted,
		Text: reroutedText(sh, loc), CreatedAt: tx.Now(), ShipmentID: sh.ID})
}

// reroutedText is the notice of a re-routing in the recipient's language:
// the new place, and that the notice of arrival follows.
func reroutedText(sh *lokero.Shipment, loc *lokero.Location) string {
	lang := messageLanguage(sh.Recipient)
	place := placeText(loc, lang)
	switch lang {
	case "sv":
		return fmt.Sprintf("Ditt paket %s har styrts om till ett nytt utlämningsställe: %s. Du får en ankomstavisering när det kan hämtas.", sh.TrackingCode, place)
	case "en":
		return fmt.Sprintf("Your parcel %s has been redirected to a new pickup point: %s. You will get a notice of arrival when it is ready for pickup.", sh.TrackingCode, place)
	default:
		return fmt.Sprintf("Pakettisi %s on ohjattu uuteen noutopaikkaan: %s. Saat saapumisilmoituksen, kun paketti on noudettavissa.", sh.TrackingCode, place)
	}
}

// queueExpired queues the notice of a parcel's expiry to its recipient:
// it was not collected, and goes back to its sender. It is sent no
// earlier than notBefore (the expiry runs at the deadline's midnight; the
// news can wait for the morning). (The retailer hears of it through its
// webhooks, the shipment's "expired" event, not here.)
func queueExpired(ctx context.Context, tx lokero.Tx, sh *lokero.Shipment, notBefore time.Time) error {
	return queueTo(ctx, tx, sh.Recipient, lokero.OutboxMessage{TrackingCode: sh.TrackingCode, Kind: notify.KindExpired,
		Text: expiredText(sh), CreatedAt: tx.Now(), ShipmentID: sh.ID, NotBefore: notBefore})
}

// expiredText is the notice of expiry in the recipient's language, naming
// the sender the parcel goes back to.
func expiredText(sh *lokero.Shipment) string {
	sender := clip(sh.Sender.Name, maxPartyText)
	switch messageLanguage(sh.Recipient) {
	case "sv":
		return fmt.Sprintf("Ditt paket %s hämtades inte inom förvaringstiden och returneras till avsändaren %s. Paketets kod fungerar inte längre.", sh.TrackingCode, sender)
	case "en":
		return fmt.Sprintf("Your parcel %s was not collected within the storage period and goes back to the sender, %s. Its code no longer works.", sh.TrackingCode, sender)
	default:
		return fmt.Sprintf("Pakettiasi %s ei noudettu säilytysajan kuluessa, joten se palautetaan lähettäjälle %s. Paketin koodi ei enää toimi.", sh.TrackingCode, sender)
	}
}
