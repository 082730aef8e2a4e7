//go:build linux

package kanneltest

import (
	"bytes"
	"testing"
)

// TestParse reads fakesmsc's lines of each type, and refuses what is not
// one.
func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line       string
		typ        string
		udh, data  []byte
		ucs2       bool
		text       string
		part       [3]int // ref, total, seq; 0s for no part
		wantErrMsg bool
	}{
		{line: "Posti +358401234567 text Paketti odottaa Itäkeskus", typ: "text",
			data: []byte("Paketti odottaa Itäkeskus"), text: "Paketti odottaa Itäkeskus"},
		{line: "Posti +358401234567 ucs-2 %00P%00a%01%42", typ: "ucs-2",
			data: []byte{0, 'P', 0, 'a', 1, 0x42}, ucs2: true, text: "Pał"},
		{line: "Posti +46701234567 udh %05%00%03%2A%02%01 data Hej+d%C3%A5", typ: "udh",
			udh: []byte{5, 0, 3, 0x2a, 2, 1}, data: []byte("Hej då"), text: "Hej då", part: [3]int{0x2a, 2, 1}},
		{line: "Posti +358401234567 udh %05%00%03%2A%02%03 data x", typ: "udh",
			udh: []byte{5, 0, 3, 0x2a, 2, 3}, data: []byte("x"), text: "x"}, // seq past total: no part
		{line: "Posti +358401234567", wantErrMsg: true},
		{line: "Posti +358401234567 binary xx", wantErrMsg: true},
		{line: "Posti +358401234567 udh %05 nodata x", wantErrMsg: true},
		{line: "Posti +358401234567 ucs-2 %zz", wantErrMsg: true},
	}
	for _, tc := range tests {
		m, err := Parse(tc.line)
		if tc.wantErrMsg {
			if err == nil {
				t.Errorf("Parse(%q) = %+v; want an error", tc.line, m)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.line, err)
			continue
		}
		if m.Sender != "Posti" || m.Type != tc.typ || !bytes.Equal(m.UDH, tc.udh) || !bytes.Equal(m.Data, tc.data) {
			t.Errorf("Parse(%q) = %+v; want type %s, UDH % x, data % x", tc.line, m, tc.typ, tc.udh, tc.data)
		}
		if got := Text([]Message{m}, tc.ucs2); got != tc.text {
			t.Errorf("Text of %q = %q; want %q", tc.line, got, tc.text)
		}
		ref, total, seq, ok := m.Part()
		if ok != (tc.part != [3]int{}) || [3]int{ref, total, seq} != tc.part {
			t.Errorf("Part of %q = %d, %d, %d, %v; want %v", tc.line, ref, total, seq, ok, tc.part)
		}
	}
}

// TestURL: the gateway as --sms takes it, routed to the fake SMSC.
func TestURL(t *testing.T) {
	t.Parallel()
	g := &Gateway{User: "lokero", Pass: "pw", SendsmsAddr: "127.0.0.1:13013"}
	for query, want := range map[string]string{
		"":           "kannel://lokero:pw@127.0.0.1:13013?smsc=fake",
		"from=Posti": "kannel://lokero:pw@127.0.0.1:13013?from=Posti&smsc=fake",
	} {
		if got := g.URL(query); got != want {
			t.Errorf("URL(%q) = %q; want %q", query, got, want)
		}
	}
}
