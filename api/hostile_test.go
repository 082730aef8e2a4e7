package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/lokero/lokero/api"
)

// hostileRequest is one malformed request of the corpus.
type hostileRequest struct {
	family string // what kind of malice, for the report
	route  string // the route it was made from
	method string
	path   string // escaped, as on the wire
	query  string // raw
	auth   string // the Authorization header, "" for none
	body   []byte
}

// TestHostileCorpus sends every endpoint malformed requests made from
// tables over the router's routes: wrong methods, bad Authorization
// headers, hostile path parameters and query strings (SQL metacharacters,
// path traversal, invalid UTF-8, duplicates, NaN and huge numbers), and
// bad bodies (malformed, deeply nested, huge, wrong types in every
// field). No answer may be a 5xx; every error is JSON, and one to a bad
// field names it; and no refused request may add or remove a row in any
// table of the database.
func TestHostileCorpus(t *testing.T) {
	t.Parallel()
	p := newProbe(t)
	// Rate limits would answer most of the corpus 429 before it reached
	// the code under test: off here (the matrix runs with them).
	p.srv.SetRateLimits(api.RateLimits{})

	corpus := p.hostileCorpus(t)
	if len(corpus) < 500 {
		t.Fatalf("the corpus has %d requests; want at least 500", len(corpus))
	}
	tables := p.tables(t)
	before := p.rowCounts(t, tables)
	families := map[string]int{}
	var fivexx, written int
	for i, hr := range corpus {
		req := hr.build(i)
		rec := httptest.NewRecorder()
		p.srv.ServeHTTP(rec, req)
		families[hr.family]++
		what := fmt.Sprintf("%s [%s] %s %.120s?%.80s (body %.60q)", hr.route, hr.family, hr.method, hr.path, hr.query, hr.body)
		status, out := rec.Code, rec.Body.Bytes()
		if status >= 500 {
			fivexx++
			t.Errorf("%s: %d %.300s", what, status, out)
		}
		// 204 No Content (a DELETE taken) has no body to be JSON.
		jsonAnswer := hr.method != http.MethodHead && (status >= 400 ||
			(status < 300 && status != http.StatusNoContent && !strings.HasSuffix(hr.path, ".pdf") && hr.path != "/metrics"))
		// A bad value in a field is named (a body over the limit is the
		// whole body's fault; a patch whose only field is null names
		// "body").
		if hr.family == "field" && status == http.StatusBadRequest {
			var e apiError
			if json.Unmarshal(out, &e) != nil || e.Error.Message == "" ||
				(e.Error.Field == "" && e.Error.Code != "body_too_large") {
				t.Errorf("%s: 400 %.300s; want an error naming the field", what, out)
			}
		}
		if status == http.StatusNoContent && len(out) > 0 {
			t.Errorf("%s: 204 with a body %.200q", what, out)
		}
		if jsonAnswer && (!json.Valid(out) || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json")) {
			t.Errorf("%s: %d answered %q %.200q; want JSON", what, status, rec.Header().Get("Content-Type"), out)
		}
		if status >= 300 && status < 400 {
			if loc := rec.Header().Get("Location"); !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") {
				t.Errorf("%s: %d redirects to %q; want a path on this server", what, status, loc)
			}
		}
		after := p.rowCounts(t, tables)
		if status < 300 {
			written++ // a request meant to write (one the API took): the counts move on
		} else if changed := diffCounts(tables, before, after); changed != "" && !writesWhenRefused[hr.route] {
			t.Errorf("%s: refused with %d but changed the database: %s", what, status, changed)
		}
		before = after
	}
	keys := make([]string, 0, len(families))
	for k := range families {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, families[k]))
	}
	t.Logf("hostile corpus: %d requests over %d routes (%s); %d answered 5xx, %d were taken (2xx); row counts of %d tables checked after each",
		len(corpus), len(p.srv.Routes()), strings.Join(parts, ", "), fivexx, written, len(tables))
}

// writesWhenRefused are the routes whose refusals write by design: a
// wrong code at the keypad is counted towards the lockout.
var writesWhenRefused = map[string]bool{"POST /v1/devices/{location_id}/keypad": true}

// build makes the request; each comes from its own client address, so
// that per-address limits do not stand in for the code under test.
func (hr hostileRequest) build(i int) *http.Request {
	req := httptest.NewRequest(http.MethodGet, "/", bytes.NewReader(hr.body))
	req.Method = hr.method
	path, err := url.PathUnescape(hr.path)
	if err != nil {
		path = hr.path
	}
	req.URL = &url.URL{Path: path, RawPath: hr.path, RawQuery: hr.query}
	req.RequestURI = req.URL.RequestURI()
	req.RemoteAddr = fmt.Sprintf("10.%d.%d.%d:4321", i>>16&255, i>>8&255, i&255)
	req.ContentLength = int64(len(hr.body))
	if len(hr.body) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	if hr.auth != "" {
		req.Header.Set("Authorization", hr.auth)
	}
	return req
}

// Hostile values, for path parameters, query values and JSON strings.
var hostileStrings = []string{
	"' OR '1'='1", "1; DROP TABLE shipments;--", `"; SELECT * FROM retailers --`, "%", "_", `\`,
	"../../../../etc/passwd", `..\..\windows\win.ini`, "/dev/outbox", "\x00", "\xff\xfe\xfd", "\xed\xa0\x80",
	"NaN", "-Infinity", "1e400", "-1", "0", "99999999999999999999999", "<script>alert(1)</script>", "${jndi:ldap://x/a}",
	strings.Repeat("A", 5000), "  ", "\u202e\u0000\ufeff",
}

// hostileValues replace a JSON field's value: every wrong type, and
// numbers JSON cannot hold or Go refuses.
var hostileValues = []string{
	`null`, `true`, `123`, `-1`, `1e400`, `-1e400`, `9223372036854775808`, `0.000000000000000000001`, `"x"`, `""`,
	`[]`, `{}`, `[1,"a",null]`, `{"$gt":""}`, `"' OR '1'='1"`, `"../../etc/passwd"`, `"\u0000"`, `"\ud800"`,
	`"` + strings.Repeat("z", 70000) + `"`,
}

// hostileBodies replace a whole body.
var hostileBodies = [][]byte{
	[]byte(``), []byte(`{`), []byte(`}`), []byte(`[]`), []byte(`null`), []byte(`1`), []byte(`"x"`), []byte(`{"a":1}`),
	[]byte(`{} {}`), []byte(`{"x":NaN}`), []byte(`{"x":Infinity}`), []byte(`{'single':'quotes'}`), []byte("\xef\xbb\xbf{}"),
	[]byte("{\"\xff\xfe\":1}"), []byte("{\"a\":\"\xff\"}"), []byte(`{"a":1,"a":2}`), []byte("\x00\x00\x00"),
	[]byte(strings.Repeat("[", 100000) + strings.Repeat("]", 100000)),
	[]byte(strings.Repeat(`{"a":`, 20000) + "1" + strings.Repeat("}", 20000)),
	bytes.Repeat([]byte("x"), 2<<20),
	[]byte(`{"a":"` + strings.Repeat("y", 1<<20) + `"}`),
	[]byte(`[` + strings.Repeat(`{},`, 100000) + `{}]`),
}

// hostileAuth are Authorization headers that must not authenticate.
func hostileAuth(p *probe) []string {
	return []string{
		"Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer lok_' OR '1'='1", "Bearer lko_../../etc/passwd",
		"Bearer " + strings.Repeat("lko_", 5000), "Bearer lkc_\x00\xff", "Token " + p.token[operator],
		"Bearer " + p.token[operator] + "x", "Bearer " + strings.ToUpper(p.token[courier]), "Bearer " + p.token[retailerA][:20],
		"Bearer " + p.token[deviceY] + " " + p.token[deviceX],
	}
}

// hostileQueries are query strings added to a GET route's own (dup is
// each of its own parameters given twice).
var hostileQueries = []string{
	"limit=NaN", "limit=1e400", "limit=-1", "limit=99999999999999999999", "date=2026-02-30", "cursor=' OR '1'='1",
	"status=../../etc/passwd", "%zz=1", "a=%zz", "%ff%fe=%ff%fe", "x=" + strings.Repeat("q", 5000), "lat=NaN&lon=Infinity",
	"postcode=00100%00", "reference[]=1&reference[$ne]=2", "limit=1;DROP TABLE shipments",
}

// hostileCorpus builds the corpus from the router's routes and the
// authorisation matrix's rows (a route's sample request and who may send
// it).
func (p *probe) hostileCorpus(t *testing.T) []hostileRequest {
	t.Helper()
	rows := map[string]authzRow{}
	for _, row := range authzTable {
		rows[row.route] = row
	}
	var corpus []hostileRequest
	for _, route := range p.srv.Routes() {
		method, pattern, _ := strings.Cut(route, " ")
		row, ok := rows[route]
		if !ok { // a route without a row (the matrix fails for it): a guess
			row = authzRow{route: route, path: strings.NewReplacer("{$}", "", "{", "", "}", "").Replace(pattern),
				want: expect{operator: 200}}
		}
		// Every fixture value made now, before the database is counted;
		// $fresh is the one shipment of A's every request shares.
		cell := map[string]string{"fresh": p.value(t, "created", "")}
		target, body := p.fill(t, row.path, cell), p.fill(t, row.body, cell)
		path, query, _ := strings.Cut(target, "?")
		auth := "Bearer " + p.token[allowedFor(row)]
		if p.token[allowedFor(row)] == "" {
			auth = ""
		}
		add := func(family, m, path, query, auth string, body []byte) {
			corpus = append(corpus, hostileRequest{family: family, route: route, method: m, path: path, query: query, auth: auth, body: body})
		}

		for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "PROPFIND", "get"} {
			if m != method {
				add("method", m, path, query, auth, nil)
			}
		}
		for _, a := range hostileAuth(p) {
			add("authorization", method, path, query, a, []byte(body))
		}
		// Hostile values in each path parameter, and traversal of the
		// path itself.
		segs := strings.Split(pattern, "/")
		for i, seg := range segs {
			if !strings.HasPrefix(seg, "{") || seg == "{$}" {
				continue
			}
			for _, v := range hostileStrings {
				got := strings.Split(path, "/")
				got[i] = url.PathEscape(v)
				add("path parameter", method, strings.Join(got, "/"), query, auth, []byte(body))
			}
		}
		for _, tr := range []string{"/..", "/../..%2f..%2fdev%2foutbox", "%2e%2e/%2e%2e/healthz", "//", "/.%00", "/%ff"} {
			add("path traversal", method, path+tr, query, auth, []byte(body))
		}
		if method == "GET" {
			for _, q := range hostileQueries {
				add("query", method, path, join(query, q), auth, nil)
			}
			own, _ := url.ParseQuery(query)
			for name, vs := range own {
				add("duplicate parameter", method, path, join(query, url.QueryEscape(name)+"="+url.QueryEscape(vs[0])), auth, nil)
				add("duplicate parameter", method, path, join(query, url.QueryEscape(name)+"=other"), auth, nil)
			}
			continue
		}
		for _, b := range hostileBodies {
			add("body", method, path, query, auth, b)
		}
		// Every field of the sample body (and of its objects) given each
		// hostile value, and each hostile string.
		var sample map[string]any
		if json.Unmarshal([]byte(body), &sample) != nil {
			continue
		}
		for _, mutated := range mutations(sample) {
			add("field", method, path, query, auth, mutated)
		}
	}
	return corpus
}

// allowedFor is the identity a row lets through (a 2xx, or a conflict of
// state): the hostile requests pass authorisation, to reach the code
// behind it.
func allowedFor(row authzRow) who {
	for w := range identities {
		if row.want[w] < 400 || row.want[w] == http.StatusConflict {
			return w
		}
	}
	return anonymous
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "&" + b
}

// mutations returns the body with each field (at the top level and one
// level down) replaced by each hostile value and string in turn.
func mutations(body map[string]any) [][]byte {
	var out [][]byte
	values := slices.Clone(hostileValues)
	for _, s := range hostileStrings {
		b, _ := json.Marshal(s)
		values = append(values, string(b))
	}
	// Invalid UTF-8 inside a JSON string, which json.Marshal would mend.
	values = append(values, "\"\xff\xfe\"")
	for key, v := range body {
		for _, hv := range values {
			out = append(out, replaceField(body, []string{key}, hv))
		}
		if inner, ok := v.(map[string]any); ok {
			for k := range inner {
				for _, hv := range values[:len(hostileValues)] {
					out = append(out, replaceField(body, []string{key, k}, hv))
				}
			}
		}
	}
	return out
}

// replaceField returns body as JSON with the field at path set to the raw
// JSON value.
func replaceField(body map[string]any, path []string, raw string) []byte {
	const mark = "\x01HOSTILE\x01"
	clone := map[string]any{}
	for k, v := range body {
		clone[k] = v
	}
	if len(path) == 1 {
		clone[path[0]] = mark
	} else {
		inner := map[string]any{}
		for k, v := range body[path[0]].(map[string]any) {
			inner[k] = v
		}
		inner[path[1]] = mark
		clone[path[0]] = inner
	}
	b, _ := json.Marshal(clone)
	quoted, _ := json.Marshal(mark)
	return bytes.Replace(b, quoted, []byte(raw), 1)
}

// tables lists the database's tables.
func (p *probe) tables(t *testing.T) []string {
	t.Helper()
	rows, err := p.db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(names) < 5 {
		t.Fatalf("the database has only the tables %v", names)
	}
	return names
}

// rowCounts counts the rows of each table, in one query.
func (p *probe) rowCounts(t *testing.T, tables []string) []int64 {
	t.Helper()
	parts := make([]string, len(tables))
	for i, name := range tables {
		parts[i] = fmt.Sprintf(`(SELECT count(*) FROM "%s")`, name)
	}
	counts := make([]int64, len(tables))
	dest := make([]any, len(tables))
	for i := range counts {
		dest[i] = &counts[i]
	}
	if err := p.db.QueryRow(`SELECT ` + strings.Join(parts, ", ")).Scan(dest...); err != nil {
		t.Fatal(err)
	}
	return counts
}

// diffCounts says which tables' counts differ ("" when none).
func diffCounts(tables []string, before, after []int64) string {
	var out []string
	for i := range before {
		if before[i] != after[i] {
			out = append(out, fmt.Sprintf("%s %d → %d rows", tables[i], before[i], after[i]))
		}
	}
	return strings.Join(out, ", ")
}
