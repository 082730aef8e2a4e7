//go:build linux

package kannel

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lokero/lokero/notify"
	"github.com/lokero/lokero/notify/kannel/kanneltest"
)

// TestKannelEndToEnd sends through a real smsbox and bearerbox to
// fakesmsc and reads what the SMSC got, and the delivery reports smsbox
// calls back with.
func TestKannelEndToEnd(t *testing.T) {
	t.Parallel()
	g := kanneltest.Start(t)

	type report struct {
		q      url.Values
		status int
		text   string
		err    error
	}
	dlrs := make(chan report, 64)
	dlrSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status, text, err := ParseDLR(r.URL.Query())
		dlrs <- report{r.URL.Query(), status, text, err}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(dlrSrv.Close)
	dlr := func(id int64) string {
		// lokero's signed callback; the escaped "/" in the signature must
		// come back as it went (Send doubles the %).
		return fmt.Sprintf("%s/v1/sms/dlr?id=%d&sig=k%%2Fq", dlrSrv.URL, id)
	}
	s, err := New(g.URL("from=Posti"), dlr)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	tests := []struct {
		name   string
		id     int64
		to     string
		text   string
		e164   string
		coding string
		parts  int
	}{
		{"Finnish arrival", 101, "040 123 4567", fiArrival, "+358401234567", CodingGSM7, 1},
		{"Swedish arrival", 102, "+46 70 123 45 67", svArrival, "+46701234567", CodingGSM7, 1},
		{"Finnish reminder", 103, "050 765 4321", fiReminder, "+358507654321", CodingGSM7, 2},
		{"Polish name", 104, "0401234567", plArrival, "+358401234567", CodingUCS2, 2},
		{"emoji", 105, "0401234567", "Paketti odottaa 📦 Itäkeskus", "+358401234567", CodingUCS2, 1},
		// € (escape and e) ends the first part exactly: 153 + 153 septets.
		{"escape at the first part's end", 106, "0401234567", strings.Repeat("a", 151) + "€" + strings.Repeat("b", 153), "+358401234567", CodingGSM7, 2},
		// € right after 152 septets: Kannel keeps the escape with its e
		// and starts the second part with it, 2 + 151 septets.
		{"escape after 152 septets", 107, "0401234567", strings.Repeat("a", 152) + "€" + strings.Repeat("b", 151), "+358401234567", CodingGSM7, 2},
	}
	for _, tc := range tests {
		coding, segs := Segments(tc.text)
		if coding != tc.coding || segs != tc.parts {
			t.Fatalf("%s: Segments = %s, %d; want %s, %d", tc.name, coding, segs, tc.coding, tc.parts)
		}
		id, err := s.Send(ctx, notify.Message{ID: tc.id, Channel: notify.ChannelSMS, To: tc.to, Text: tc.text, Language: "fi"})
		if err != nil {
			t.Fatalf("%s: Send: %v\n%s", tc.name, err, g.Logs())
		}
		if id != ProviderID(tc.id) {
			t.Errorf("%s: provider id %q", tc.name, id)
		}
		got := g.Receive(t, tc.parts, 10*time.Second)
		for i, m := range got {
			t.Logf("%s: fakesmsc got <%s>", tc.name, m.Line)
			if m.Sender != "Posti" || m.Receiver != tc.e164 {
				t.Errorf("%s: from %q to %q, want Posti to %s", tc.name, m.Sender, m.Receiver, tc.e164)
			}
			switch {
			case tc.parts == 1 && tc.coding == CodingGSM7 && m.Type != "text",
				tc.parts == 1 && tc.coding == CodingUCS2 && m.Type != "ucs-2":
				t.Errorf("%s: fakesmsc got a %q message, want %s", tc.name, m.Type, tc.coding)
			case tc.parts > 1:
				// A part: UDH 05 00 03 ref total seq, the same ref in every part.
				ref, total, seq, ok := m.Part()
				ref0, _, _, _ := got[0].Part()
				if !ok || total != tc.parts || seq != i+1 || ref != ref0 {
					t.Errorf("%s: part %d: %s UDH % x, want a concatenation header %d of %d", tc.name, i+1, m.Type, m.UDH, i+1, tc.parts)
				}
			}
		}
		if text := kanneltest.Text(got, tc.coding == CodingUCS2); text != tc.text {
			t.Errorf("%s: fakesmsc got %q decoded as %s, want %q", tc.name, text, tc.coding, tc.text)
		}
	}

	// Delivery reports: smsbox calls the dlr-url with 8 (the fake SMSC
	// took the message) and 1 (fake SMSC reports every message delivered).
	seen := map[int64]map[int]int{}
	want := func() bool {
		for _, tc := range tests {
			if seen[tc.id][DLRSubmitted] == 0 || seen[tc.id][DLRDelivered] == 0 {
				return false
			}
		}
		return true
	}
	timeout := time.After(10 * time.Second)
	for !want() {
		select {
		case r := <-dlrs:
			if r.err != nil {
				t.Fatalf("ParseDLR(%s): %v", r.q.Encode(), r.err)
			}
			if sig := r.q.Get("sig"); sig != "k/q" {
				t.Errorf("dlr-url came back with sig %q, want k/q", sig)
			}
			id, _ := strconv.ParseInt(r.q.Get("id"), 10, 64)
			if seen[id] == nil {
				seen[id] = map[int]int{}
			}
			seen[id][r.status]++
			t.Logf("DLR for message %d: status %d %q", id, r.status, r.text)
			if r.status == DLRSubmitted && r.text != "ACK/" {
				t.Errorf("DLR 8 for message %d: answer %q, want ACK/", id, r.text)
			}
		case <-timeout:
			t.Fatalf("delivery reports in 10 s: %v, want 8 and 1 for each of %d messages\n%s", seen, len(tests), g.Logs())
		}
	}
	// Any more reports (one per part of a concatenated message?) arrive
	// at once; what came is logged for the service's author.
	for drain := time.After(500 * time.Millisecond); ; {
		select {
		case r := <-dlrs:
			id, _ := strconv.ParseInt(r.q.Get("id"), 10, 64)
			seen[id][r.status]++
			continue
		case <-drain:
		}
		break
	}
	t.Logf("delivery reports by message and status: %v", seen)
	// Kannel's access log names each message by its account, lokero's id.
	alog := g.AccessLog()
	for _, tc := range tests {
		if !strings.Contains(alog, "[ACT:"+ProviderID(tc.id)+"]") {
			t.Errorf("access log has no [ACT:%s]:\n%s", ProviderID(tc.id), alog)
		}
	}

	// A text that takes three parts because Kannel keeps an escape with
	// its character (152 a, then € and 152 b: 306 septets) is refused, not
	// cut by the sendsms-user's max-messages with the gateway's "0:
	// Accepted".
	if _, err := s.Send(ctx, notify.Message{ID: 108, To: "0401234567", Text: strings.Repeat("a", 152) + "€" + strings.Repeat("b", 152)}); err == nil || !notify.IsPermanent(err) {
		t.Errorf("a text of three parts: %v, want a permanent error", err)
	}

	// Kannel's own refusal of a wrong password is lokero's configuration,
	// not the message's fault: transient, so the message goes once fixed.
	bad, err := New(fmt.Sprintf("kannel://%s:wrong@%s", g.User, g.SendsmsAddr), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Send(ctx, notify.Message{ID: 200, To: "0401234567", Text: "Moi"}); err == nil || notify.IsPermanent(err) ||
		!strings.Contains(err.Error(), "Authorization failed") {
		t.Errorf("wrong password: %v, want a transient error quoting Kannel's 403", err)
	}

	// smsbox down: the message stays for a retry.
	g.StopSmsbox()
	if _, err := s.Send(ctx, notify.Message{ID: 201, To: "0401234567", Text: "Moi"}); err == nil || notify.IsPermanent(err) {
		t.Errorf("smsbox down: %v, want a transient error", err)
	}
	for _, m := range g.More(200 * time.Millisecond) {
		t.Errorf("fakesmsc got %q after the tests", m.Line)
	}
	t.Logf("Kannel configuration:\n%s", g.Config)
}
