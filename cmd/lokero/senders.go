package main

import (
	"fmt"
	"net"
	"net/url"
	"strings"

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
