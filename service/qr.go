package service

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/locker"
	"github.com/lokero/lokero/notify"
)

// A parcel ready in a locker has, beside its opening code, a QR token
// (locker.SignQR): signed by the centre's Ed25519 key, bound to the
// locker, the compartment, the parcel and a window from the time the
// parcel became ready (or its code was last rotated) to its storage
// deadline. The locker's scanner opens the door for it whatever the
// keypad's lockout, so that someone typing wrong codes at the keypad
// cannot keep a recipient who has the notice of arrival from the parcel
// (docs/security.md). The token is made again whenever it is needed (the
// same parcel and window give the same token) and never stored.
//
// The notice of arrival carries it as an image (e-mail) and as a link to
// a page showing it (e-mail, SMS when the link fits two segments, push):
// PublicURL + "/q/" + the link key, tracking code + "." + a MAC of the
// parcel under the report keys (SetReportKeys). The link's MAC covers the
// parcel's code hash, so that rotating the code also changes the link.

// SetQRKey sets the centre's key that signs the QR tokens of parcels
// ready in lockers. Every instance of a network must use the same key
// (lokero serve keeps it in the database's settings); its public half
// (QRPublicKey) goes to the lockers' scanners. Without a key no notice
// carries a QR code and the scanner's event is refused. Call it before
// serving.
func (l *Lockers) SetQRKey(k ed25519.PrivateKey) {
	if len(k) != ed25519.PrivateKeySize {
		l.delivery.qrKey = nil
		return
	}
	l.delivery.qrKey = append(ed25519.PrivateKey(nil), k...)
}

// QRPublicKey returns the public key the lockers verify QR tokens with,
// nil when no key is set.
func (l *Lockers) QRPublicKey() ed25519.PublicKey {
	if l.delivery.qrKey == nil {
		return nil
	}
	return l.delivery.qrKey.Public().(ed25519.PublicKey)
}

// qrSince is when a ready parcel's current QR window begins: when it last
// became ready for pickup, or its code was last rotated (a rotation is
// how an operator stops a notice that leaked: the old token stops
// opening at the centre, and the old link stops resolving). Whole
// seconds, rounded down, as the token carries it.
func qrSince(sh *lokero.Shipment) time.Time {
	var since time.Time
	prev := lokero.ShipmentStatus("")
	for _, e := range sh.Events {
		if e.Status == lokero.StatusReadyForPickup && prev != lokero.StatusReadyForPickup {
			since = e.At
		}
		if e.Reason == reasonCodeRotated {
			since = e.At
		}
		prev = e.Status
	}
	return since.Truncate(time.Second)
}

// qrClaims are the claims of a parcel's QR token as of now: ok only for a
// parcel ready for pickup in a compartment of a locker, before its
// deadline.
func (l *Lockers) qrClaims(sh *lokero.Shipment, now time.Time) (locker.QRClaims, bool) {
	if sh.Status != lokero.StatusReadyForPickup || sh.Compartment < 1 || sh.StorageDeadline.IsZero() ||
		!now.Before(sh.StorageDeadline) {
		return locker.QRClaims{}, false
	}
	loc := l.dir.Snapshot().ByID(sh.DestinationID)
	if loc == nil || !loc.Type.IsLocker() || sh.Compartment > locker.MaxQRCompartment {
		return locker.QRClaims{}, false // past what a token can name: its code alone opens it
	}
	since := qrSince(sh)
	if since.IsZero() || since.After(now) {
		since = now.Truncate(time.Second)
	}
	return locker.QRClaims{LocationID: loc.ID, ShipmentID: sh.ID, Compartment: sh.Compartment,
		NotBefore: since, NotAfter: sh.StorageDeadline}, true
}

// qrToken is a parcel's QR token as of now, "" when it has none (no key,
// or the parcel is not ready in a locker).
func (l *Lockers) qrToken(sh *lokero.Shipment, now time.Time) string {
	if l.delivery.qrKey == nil {
		return ""
	}
	c, ok := l.qrClaims(sh, now)
	if !ok {
		return ""
	}
	return locker.SignQR(l.delivery.qrKey, c)
}

// qrLinkLabel separates the QR links' MACs from the delivery reports'
// under the same keys.
const qrLinkLabel = "qr-link:"

// qrLinkMAC is the MAC of a parcel's QR link under key: 96 bits of
// HMAC-SHA256 over the shipment, its tracking code and its code's hash,
// base64url (16 characters).
func qrLinkMAC(key []byte, sh *lokero.Shipment) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(qrLinkLabel))
	mac.Write([]byte(sh.ID))
	mac.Write([]byte{0})
	mac.Write([]byte(sh.TrackingCode))
	mac.Write([]byte{0})
	mac.Write(sh.OpeningCodeHash)
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:12])
}

// QRLink is the key of a parcel's QR page (GET /q/{link}): its tracking
// code, ".", and the MAC. Anyone with it can show the QR code that opens
// the compartment: it travels only in the notice of arrival.
func (l *Lockers) QRLink(sh *lokero.Shipment) string {
	return sh.TrackingCode + "." + qrLinkMAC(l.delivery.keys()[0], sh)
}

// qrURL is the link to a parcel's QR page, "" without a public URL or a
// QR key.
func (l *Lockers) qrURL(sh *lokero.Shipment) string {
	if l.delivery.publicURL == "" || l.delivery.qrKey == nil || sh.TrackingCode == "" {
		return ""
	}
	return l.delivery.publicURL + "/q/" + url.PathEscape(l.QRLink(sh))
}

// QRLinkOf returns the QR link of a parcel ready in a locker (QRLink)
// and its page's URL ("" without a public URL): for the operator's and
// the development tools, and tests. ENOTFOUND for a parcel that has no QR
// code now (not ready in a locker, or no QR key set).
func (l *Lockers) QRLinkOf(ctx context.Context, shipmentID string) (link, pageURL string, err error) {
	sh, err := l.store.Shipment(ctx, shipmentID)
	if err != nil {
		return "", "", err
	}
	if l.qrToken(&sh, l.now()) == "" {
		return "", "", notFoundQR()
	}
	return l.QRLink(&sh), l.qrURL(&sh), nil
}

// QRPage is what a parcel's QR page shows.
type QRPage struct {
	TrackingCode string
	Token        string // the QR code's content
	Place        *lokero.Location
	Compartment  int
	Deadline     time.Time
}

// notFoundQR is the one answer to every link that shows nothing.
func notFoundQR() error {
	return &lokero.Error{Code: lokero.ENOTFOUND, Reason: "not_found", Message: "not found"}
}

// QRPageOf resolves a QR link (QRLink): the parcel's token as of now,
// its locker and compartment. Any link that does not show a QR code now
// — malformed, a wrong MAC, a parcel unknown, not ready in a locker any
// more (picked up, expired), its code rotated since, or no QR key set —
// is the same ENOTFOUND, which tells nothing.
func (l *Lockers) QRPageOf(ctx context.Context, link string) (QRPage, error) {
	tracking, mac, ok := strings.Cut(link, ".")
	if !ok || l.delivery.qrKey == nil || tracking == "" || len(tracking) > 32 || len(mac) != 16 {
		return QRPage{}, notFoundQR()
	}
	sh, err := l.store.ShipmentByTrackingCode(ctx, tracking)
	if lokero.ErrorCode(err) == lokero.ENOTFOUND {
		return QRPage{}, notFoundQR()
	} else if err != nil {
		return QRPage{}, fmt.Errorf("qr page: %w", err)
	}
	valid := false
	for _, k := range l.delivery.keys() {
		if hmac.Equal([]byte(qrLinkMAC(k, &sh)), []byte(mac)) {
			valid = true
		}
	}
	if !valid || sh.TrackingCode != tracking {
		return QRPage{}, notFoundQR()
	}
	tok := l.qrToken(&sh, l.now())
	if tok == "" {
		return QRPage{}, notFoundQR()
	}
	return QRPage{TrackingCode: sh.TrackingCode, Token: tok, Place: l.dir.Snapshot().ByID(sh.DestinationID),
		Compartment: sh.Compartment, Deadline: sh.StorageDeadline}, nil
}

// DeviceEventQR: the locker's scanner read a QR code (DeviceEvent.Token).
const DeviceEventQR = "qr"

// ScanQR opens a compartment for a QR token read by the locker's scanner,
// as a right code does (or answers "payment_required" and starts the
// keypad's payment session, for cash on delivery). It is never subject to
// the keypad's lockout, and a bad token is not counted as a wrong entry:
// a token cannot be guessed (it is an Ed25519 signature by the centre's
// key), so refusing it is all the defence needed. The token must verify
// for this locker now, and name the parcel that is in that compartment,
// ready for pickup, with a window that begins no earlier than the
// parcel's current one (a token from before a rotation of its code opens
// nothing). A refusal is EFORBIDDEN: "qr_invalid" (not a token of the
// centre's), "qr_wrong_locker", "qr_expired" (outside its window) or
// "qr_not_current" (genuine, but the parcel is not waiting there now);
// "qr_disabled" when no key is set.
func (l *Lockers) ScanQR(ctx context.Context, device lokero.Credential, locationID, token string) (KeypadResult, error) {
	loc, err := l.deviceLocker(device, locationID)
	if err != nil {
		return KeypadResult{}, err
	}
	pub := l.QRPublicKey()
	if pub == nil {
		return KeypadResult{}, &lokero.Error{Code: lokero.EFORBIDDEN, Reason: "qr_disabled", Message: "QR codes are not in use: enter the opening code"}
	}
	claims, err := locker.VerifyQR(pub, token, loc.ID, l.now())
	if err != nil {
		reason, msg := "qr_invalid", "that is not a parcel's QR code"
		switch {
		case errors.Is(err, locker.ErrQRWrongLocker):
			reason, msg = "qr_wrong_locker", "that QR code is for another locker"
		case errors.Is(err, locker.ErrQRNotYetValid), errors.Is(err, locker.ErrQRExpired):
			reason, msg = "qr_expired", "that QR code is not valid now"
		}
		l.log.Info("QR code refused", "location", loc.ID, "reason", reason)
		return KeypadResult{}, &lokero.Error{Code: lokero.EFORBIDDEN, Reason: reason, Message: msg}
	}
	var res KeypadResult
	notCurrent := false
	err = l.deviceTx(ctx, func(tx lokero.Tx) error {
		res, notCurrent = KeypadResult{}, false
		sh, err := tx.Shipment(ctx, claims.ShipmentID)
		if lokero.ErrorCode(err) == lokero.ENOTFOUND {
			notCurrent = true
			return nil
		} else if err != nil {
			return err
		}
		now := tx.Now()
		if sh.DestinationID != loc.ID || sh.Status != lokero.StatusReadyForPickup || sh.Compartment != claims.Compartment ||
			!now.Before(sh.StorageDeadline) || claims.NotBefore.Before(qrSince(&sh)) {
			notCurrent = true
			return nil
		}
		k, err := loadKeypad(ctx, tx, loc.ID)
		if err != nil {
			return err
		}
		// No l.policy.Check: the lockout is for guessed codes, and a token
		// is not guessed. Right ends any payment session, as any entry does.
		res, err = l.handOut(ctx, tx, loc, sh, l.policy.Right(k, now), now)
		return err
	})
	if err != nil {
		return KeypadResult{}, err
	}
	if notCurrent {
		l.log.Info("QR code refused", "location", loc.ID, "reason", "qr_not_current")
		return KeypadResult{}, &lokero.Error{Code: lokero.EFORBIDDEN, Reason: "qr_not_current", Message: "that parcel is not waiting here any more"}
	}
	return res, nil
}

// qrLinkText introduces the QR link in an SMS, in the message's language.
func qrLinkText(lang string) string {
	switch lang {
	case "sv":
		return "QR-kod för automaten:"
	case "en":
		return "QR code for the locker:"
	}
	return "QR-koodi automaatille:"
}

// smsMaxSegments is the most segments a lokero SMS may take
// (notify/kannel's MaxSegments).
const smsMaxSegments = 2

// gsm7Segments counts the segments of text sent in GSM 03.38 (the default
// alphabet one septet, its extension table two), ok false when a
// character has none (the text would go as UCS-2): one of 160 septets,
// or parts of 153 filled as Kannel fills them, a character of the
// extension table never cut from its escape. It is notify/kannel's
// Segments count, which the service does not import (an adapter);
// TestGSM7SegmentsAsKannel holds the two equal.
func gsm7Segments(text string) (segments int, ok bool) {
	septets, segments, used := 0, 1, 0
	for _, r := range text {
		var n int
		switch {
		case strings.ContainsRune(gsmExtended, r):
			n = 2
		case strings.ContainsRune(gsmDefault, r):
			n = 1
		default:
			return 0, false
		}
		septets += n
		if used+n > 153 {
			segments, used = segments+1, 0
		}
		used += n
	}
	if septets <= 160 {
		return 1, true
	}
	return segments, true
}

// The GSM 03.38 default alphabet (less ESC) and extension table.
const (
	gsmDefault = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
		"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsmExtended = "\f^{}\\[~]|€"
)

// withQRLink returns an SMS text with the QR link added when the result
// still fits two GSM-7 segments; the text as it is otherwise (the link
// then reaches the recipient by e-mail and push only).
func withQRLink(text, link, lang string) (string, bool) {
	if link == "" {
		return text, false
	}
	out := text + " " + qrLinkText(lang) + " " + link
	if n, ok := gsm7Segments(out); !ok || n > smsMaxSegments {
		return text, false
	}
	return out, true
}

// NoticeAgainByPostcode sends the notice of arrival of a parcel ready for
// pickup again, for a visitor of its tracking page who proves the
// recipient's postcode: to the recipient's own phone and e-mail, as the
// store gave them, never to the visitor (the notice tells the code and
// links the QR code, which open the compartment whatever the keypad's
// lockout, and a tracking code and a postcode are what others may know).
// It returns the channels it went to ("sms", "email"). It counts among the
// parcel's sends of a day (NoticeAgain: ETOOMANY "notice_limit" beyond
// MaxNoticesAgain). A malformed tracking code or postcode is EINVALID;
// every other miss (unknown, another postcode, not ready for pickup) is
// the same ENOTFOUND, which tells a guesser nothing.
func (l *Lockers) NoticeAgainByPostcode(ctx context.Context, trackingCode, postcode string) ([]string, error) {
	sh, ok, err := provenShipment(ctx, l.store, trackingCode, postcode, "")
	if err != nil {
		return nil, err
	} else if !ok || sh.Status != lokero.StatusReadyForPickup {
		return nil, notFoundQR()
	}
	if _, err := l.NoticeAgain(ctx, "", sh.ID, false); err != nil {
		if lokero.ErrorCode(err) == lokero.ENOTFOUND {
			return nil, notFoundQR()
		}
		return nil, err
	}
	var to []string
	if sh.Recipient.Phone != "" {
		to = append(to, notify.ChannelSMS)
	}
	if sh.Recipient.Email != "" {
		to = append(to, notify.ChannelEmail)
	}
	return to, nil
}
