package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"strings"
	"time"

	"github.com/lokero/lokero/locker"
	"github.com/lokero/lokero/notify/webhook"
	"github.com/lokero/lokero/notify/webpush"
	"github.com/lokero/lokero/service"

	"github.com/lokero/lokero/notify"
	"github.com/lokero/lokero/notify/email"
	"github.com/lokero/lokero/notify/kannel"
)

// senderFlags are the notification providers serve is given.
type senderFlags struct {
	smtp     string // --smtp: smtp://user:pass@host:587, smtps://…
	mailFrom string // --mail-from
	sms      string // --sms: kannel://user:pass@host:13013
}

// channels names the channels the flags give a provider, for the log and
// the production check ("" for none).
func (f senderFlags) channels() string {
	var out []string
	if f.smtp != "" {
		out = append(out, "e-mail over SMTP")
	}
	if f.sms != "" {
		out = append(out, "SMS through Kannel")
	}
	return strings.Join(out, ", ")
}

// newSenders builds the providers of the channels the flags name: an SMS
// sender through Kannel for --sms, whose delivery reports go to the URLs
// dlr makes; an e-mail sender for --smtp. A channel without a flag has
// none (its messages stay in the local outbox). A bad URL is a usage
// error naming its flag, never repeating a password.
func newSenders(f senderFlags, dlr func(messageID int64) string) (map[string]notify.Sender, error) {
	senders := map[string]notify.Sender{}
	if f.sms != "" {
		s, err := kannel.New(f.sms, dlr)
		if err != nil {
			return nil, fmt.Errorf("%w: --sms: %v", errUsage, err)
		}
		senders[notify.ChannelSMS] = s
	}
	if f.smtp != "" {
		s, err := email.New(f.smtp, f.mailFrom)
		if err != nil {
			return nil, fmt.Errorf("%w: --smtp: %v", errUsage, err)
		}
		senders[notify.ChannelEmail] = s
	}
	return senders, nil
}

// defaultPublicURL is lokero's URL as serve listens on addr: http(s)://
// the address, with localhost for an unspecified host.
func defaultPublicURL(addr string, tls bool) string {
	scheme := "http"
	if tls {
		scheme = "https"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return scheme + "://" + addr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// checkPublicURL checks --public-url: an absolute http(s) URL with a host,
// and no query or fragment (paths are appended to it).
func checkPublicURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.ForceQuery ||
		u.Fragment != "" || u.User != nil {
		got := s
		if strings.Contains(got, "@") {
			got = "(a URL with credentials)" // not repeated into a log
		}
		return fmt.Errorf("%w: --public-url must be an absolute http(s) URL without credentials or a query, as the recipients' browsers and the SMS gateway reach lokero (e.g. https://lokero.example.fi); got %q", errUsage, got)
	}
	return nil
}

// settingVAPIDKey names the setting that holds the VAPID private key
// (base64url, sealed under the code secret) every instance signs Web Push
// requests with: made by the first instance to start, read by the others,
// and never changed, since a browser's subscription is bound to the public
// key it subscribed with.
const settingVAPIDKey = "vapid_private_key"

// pushKeys returns the network's VAPID key pair, making it on the first
// start (InitSetting keeps the first of several instances' keys), kept
// sealed under the code secret (sealedSetting).
func pushKeys(ctx context.Context, st store, codes *locker.Codes) (webpush.Keys, error) {
	stored, err := sealedSetting(ctx, st, codes, settingVAPIDKey, func() (string, error) {
		fresh, err := webpush.GenerateKeys(nil)
		if err != nil {
			return "", err
		}
		return fresh.PrivateKey(), nil
	})
	if err != nil {
		return webpush.Keys{}, fmt.Errorf("push keys: %w", err)
	}
	keys, err := webpush.ParseKeys(stored)
	if err != nil {
		return webpush.Keys{}, fmt.Errorf("push keys: the stored key: %w", err)
	}
	return keys, nil
}

// pushSubject is the VAPID "sub" claim: how a push service reaches the
// operator, the From address of --mail-from as a mailto: URL, or else
// lokero's public URL.
func pushSubject(mailFrom, publicURL string) string {
	if a, err := mail.ParseAddress(mailFrom); err == nil && !strings.HasSuffix(a.Address, "@localhost") {
		return "mailto:" + a.Address
	}
	if strings.HasPrefix(publicURL, "https://") {
		return publicURL
	}
	return "mailto:noreply@lokero.invalid"
}

// webhookPoster sends webhooks with the Standard Webhooks client: the
// service's WebhookPoster.
type webhookPoster struct{ client *webhook.Client }

// Post implements service.WebhookPoster.
func (p webhookPoster) Post(ctx context.Context, url, id string, at time.Time, payload []byte, secrets []string) (int, error) {
	return p.client.Send(ctx, webhook.Request{ID: id, Timestamp: at, Payload: payload, Secrets: secrets, URL: url})
}

// newWebhookPoster returns the webhook client and its URL check; with
// allowPrivate, endpoints on loopback and private addresses are allowed
// (a retailer's test endpoint on the same machine, --dev).
func newWebhookPoster(allowPrivate bool) (service.WebhookPoster, func(string) error) {
	return webhookPoster{webhook.New(webhook.Options{AllowPrivate: allowPrivate})},
		func(raw string) error { return webhook.ValidateURL(raw, allowPrivate) }
}

// pushClient is the HTTP client Web Push posts with: unless private
// endpoints are allowed (--dev, --allow-private-endpoints) it dials
// through the webhooks' guard, which refuses internal addresses at connect
// time; nil (webpush's own client) when they are allowed.
func pushClient(allowPrivate bool) *http.Client {
	if allowPrivate {
		return nil
	}
	return &http.Client{Timeout: 15 * time.Second, Transport: webhook.GuardedTransport()}
}

// settingQRKey names the setting that holds the Ed25519 key (its 32-byte
// seed, base64url, sealed under the code secret) the QR codes of the
// notices of arrival are signed with: made by the first instance to start,
// read by the others; the lockers' controllers get its public key with
// every sync.
const settingQRKey = "qr_signing_key"

// qrKey returns the network's QR signing key, making it on the first
// start, kept sealed under the code secret (sealedSetting): whoever holds
// it can open every waiting parcel's compartment, so a copy of the
// database must not show it.
func qrKey(ctx context.Context, st store, codes *locker.Codes) (ed25519.PrivateKey, error) {
	stored, err := sealedSetting(ctx, st, codes, settingQRKey, func() (string, error) {
		seed := make([]byte, ed25519.SeedSize)
		if _, err := rand.Read(seed); err != nil {
			return "", err
		}
		return base64.RawURLEncoding.EncodeToString(seed), nil
	})
	if err != nil {
		return nil, fmt.Errorf("qr key: %w", err)
	}
	raw, err := base64.RawURLEncoding.DecodeString(stored)
	if err != nil || len(raw) != ed25519.SeedSize {
		return nil, fmt.Errorf("qr key: the stored key is not a %d-byte seed", ed25519.SeedSize)
	}
	return ed25519.NewKeyFromSeed(raw), nil
}
