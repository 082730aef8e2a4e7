package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/api"
	"github.com/lokero/lokero/calendar"
	"github.com/lokero/lokero/demo"
	"github.com/lokero/lokero/pgtest"
	"github.com/lokero/lokero/service"
	"github.com/lokero/lokero/sqlite"
)

func TestMain(m *testing.M) {
	// The SIGTERM test runs this binary as the lokero command.
	if os.Getenv("LOKERO_TEST_AS_MAIN") == "1" {
		main()
		return
	}
	// Every serve of the tests runs its embedded MQTT broker on a port of
	// its own.
	os.Setenv("LOKERO_MQTT_LISTEN", "127.0.0.1:0")
	pgtest.ForTest(m)
}

// runCmd runs the command line in-process and returns its exit code and
// output.
func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServe runs `lokero serve` in-process until the test ends and waits
// until it is healthy.
func startServe(t *testing.T, args ...string) string {
	t.Helper()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var stderr syncBuffer
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", addr}, args...), &bytes.Buffer{}, &stderr)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("serve exited with %d: %s", code, stderr.String())
			}
		case <-time.After(20 * time.Second):
			t.Error("serve did not stop within 20 s of its context ending")
		}
	})
	waitHealthy(t, "http://"+addr, done, &stderr)
	return "http://" + addr
}

func waitHealthy(t *testing.T, base string, done chan int, stderr *syncBuffer) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case code := <-done:
			done <- code // for the cleanup that waits for the exit
			t.Fatalf("serve exited early with %d: %s", code, stderr.String())
		default:
		}
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("serve at %s not healthy within 60 s: %s", base, stderr.String())
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: decode: %v", url, err)
	}
	return resp.StatusCode
}

type locations struct {
	Locations []struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	} `json:"locations"`
}

// checkDemoServed asserts that a server answers with the demo network.
func checkDemoServed(t *testing.T, base string) {
	t.Helper()
	var health struct {
		Status    string `json:"status"`
		Locations int    `json:"locations"`
	}
	if code := getJSON(t, base+"/healthz", &health); code != 200 || health.Locations < 5000 {
		t.Fatalf("healthz: %d %+v; want ok with the demo network", code, health)
	}
	var ls locations
	getJSON(t, base+"/v1/locations?postcode=00100&street=Mannerheimintie+5&type=LOCKER", &ls)
	if len(ls.Locations) != 1 || ls.Locations[0].ID != demo.DemoLockerID {
		t.Errorf("demo building's LOCKER not found: %+v", ls)
	}
}

func TestServeSQLite(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "lokero.db")
	base := startServe(t, "--db", db)
	checkDemoServed(t, base)
}

func TestServeNoDemo(t *testing.T) {
	t.Parallel()
	base := startServe(t, "--db", filepath.Join(t.TempDir(), "empty.db"), "--no-demo")
	var ls locations
	if code := getJSON(t, base+"/v1/locations?lat=60.17&lon=24.94", &ls); code != 200 || len(ls.Locations) != 0 {
		t.Errorf("--no-demo: %d %+v; want an empty directory", code, ls)
	}
	var pc map[string]any
	if code := getJSON(t, base+"/v1/postcodes/00104", &pc); code != 200 || pc["kind"] != "locker" {
		t.Errorf("postal codes are loaded even without the demo network: %d %v", code, pc)
	}
}

// TestServePostgresInstances starts two instances at once on one empty
// PostgreSQL database: both migrate, one demo network is loaded, and both
// serve it.
func TestServePostgresInstances(t *testing.T) {
	t.Parallel()
	cluster := pgtest.Require(t)
	url, err := cluster.CreateDatabase(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Every instance on one database shares the opening-code secret.
	secret := filepath.Join(t.TempDir(), "code.secret")
	if err := os.WriteFile(secret, []byte(strings.Repeat("ab", 32)), 0o600); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	bases := make([]string, 2)
	for i := range bases {
		wg.Go(func() { bases[i] = startServe(t, "--db", url, "--code-secret-file", secret) })
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	counts := make([]int, 2)
	for i, base := range bases {
		checkDemoServed(t, base)
		var health struct{ Locations int }
		getJSON(t, base+"/healthz", &health)
		counts[i] = health.Locations
	}
	if counts[0] != counts[1] {
		t.Errorf("instances disagree on the network: %v locations", counts)
	}
}

func TestServeEnvironment(t *testing.T) {
	addr := freeAddr(t)
	t.Setenv("LOKERO_ADDR", addr)
	t.Setenv("LOKERO_DB", filepath.Join(t.TempDir(), "env.db"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var stderr syncBuffer
	go func() { done <- run(ctx, []string{"serve", "--no-demo"}, &bytes.Buffer{}, &stderr) }()
	waitHealthy(t, "http://"+addr, done, &stderr)
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit %d: %s", code, stderr.String())
	}
	if _, err := os.Stat(os.Getenv("LOKERO_DB")); err != nil {
		t.Errorf("LOKERO_DB was not used: %v", err)
	}
}

// TestServeSIGTERM runs the real command in a child process and stops it
// with SIGTERM: it must drain and exit 0.
func TestServeSIGTERM(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	cmd := exec.Command(os.Args[0], "serve", "--addr", addr, "--db", filepath.Join(t.TempDir(), "sig.db"), "--no-demo")
	cmd.Env = append(os.Environ(), "LOKERO_TEST_AS_MAIN=1")
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan int, 1)
	go func() {
		cmd.Wait()
		done <- cmd.ProcessState.ExitCode()
	}()
	waitHealthy(t, "http://"+addr, done, &stderr)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit code %d after SIGTERM: %s", code, stderr.String())
		}
		if !strings.Contains(stderr.String(), `"msg":"stopped"`) {
			t.Errorf("no graceful stop logged: %s", stderr.String())
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("no exit within 20 s of SIGTERM")
	}
}

// TestBenchHTTPSideBySide runs the HTTP benchmark briefly over its own
// busy demo day: the plain query and the checkout query each answer, none
// fails, and the second is compared with the first.
func TestBenchHTTPSideBySide(t *testing.T) {
	code, stdout, stderr := runCmd(t, "bench", "http", "--duration", "300ms", "--conns", "2", "--query", "fits=30x20x15&available=true")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !regexp.MustCompile(`compartments booked for \d{4}-\d\d-\d\d`).MatchString(stdout) {
		t.Errorf("no busy day booked:\n%s", stdout)
	}
	for _, row := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^  \(plain\) +[1-9]\d* +0 `),
		regexp.MustCompile(`(?m)^  fits=30x20x15&available=true +[1-9]\d* +0 .*× the plain time per request\)$`),
	} {
		if !row.MatchString(stdout) {
			t.Errorf("no row matching %s:\n%s", row, stdout)
		}
	}
}

func TestParseShare(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]float64{"15%": 0.15, " 15 % ": 0.15, "0.15": 0.15, "99.5%": 0.995, "0.5": 0.5} {
		if got, err := parseShare(in, false); err != nil || math.Abs(got-want) > 1e-12 {
			t.Errorf("parseShare(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "%", "0", "0%", "100%", "1", "-5%", "15%%", "NaN", "Inf", "1e400"} {
		if got, err := parseShare(in, false); err == nil {
			t.Errorf("parseShare(%q) = %v; want an error", in, got)
		}
	}
	// A whole share (the retailer cap lifted) may be 1, and no more.
	for _, in := range []string{"100%", "1"} {
		if got, err := parseShare(in, true); err != nil || got != 1 {
			t.Errorf("parseShare(%q, whole) = %v, %v; want 1", in, got, err)
		}
	}
	for _, in := range []string{"100.5%", "1.01", "0"} {
		if got, err := parseShare(in, true); err == nil {
			t.Errorf("parseShare(%q, whole) = %v; want an error", in, got)
		}
	}
}

func TestParseRateLimits(t *testing.T) {
	t.Parallel()
	got, err := parseRateLimits("retailer=50/s:200, tracking=off,returns=1/m:5,authentication=2/s:10")
	if err != nil {
		t.Fatal(err)
	}
	want := api.DefaultRateLimits()
	want.Retailer = api.Limit{Rate: 50, Burst: 200}
	want.Tracking = api.Limit{}
	want.Returns = api.Limit{Rate: 1.0 / 60, Burst: 5}
	want.Authentication = api.Limit{Rate: 2, Burst: 10}
	if got != want {
		t.Errorf("parseRateLimits = %+v; want %+v", got, want)
	}
	if got, err := parseRateLimits(""); err != nil || got != api.DefaultRateLimits() {
		t.Errorf("parseRateLimits(\"\") = %+v, %v; want the defaults", got, err)
	}
	for _, in := range []string{"retailer", "shopper=1/s:1", "retailer=fast", "retailer=1/s"} {
		if _, err := parseRateLimits(in); err == nil {
			t.Errorf("parseRateLimits(%q): no error", in)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "Usage"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"serve", "--bogus"}, 2, "flag provided but not defined"},
		{[]string{"serve", "extra"}, 2, "serve takes no arguments"},
		{[]string{"import"}, 2, "import what?"},
		{[]string{"import", "cats", "x"}, 2, `cannot import "cats"`},
		{[]string{"import", "locations"}, 2, "exactly one FILE"},
		{[]string{"import", "locations", "--db", filepath.Join(t.TempDir(), "x.db"), "/no/such/file.csv"}, 1, "no such file"},
		{[]string{"bench", "nothing"}, 2, "unknown benchmark"},
		{[]string{"bench", "http", "--query", "fits=%zz"}, 2, "not query parameters"},
		{[]string{"bench", "peak", "--lockers", "1"}, 2, "--lockers must be 2..100000"},
		{[]string{"bench", "peak", "--never", "200%"}, 2, "--never"},
		{[]string{"bench", "peak", "--days", "0"}, 2, "--days must be 1..60"},
		{[]string{"bench", "peak", "--mix", "odd"}, 2, "--mix must be one or demo"},
		{[]string{"bench", "peak", "--board-dir", "/no/such/dir"}, 1, "--board-dir"},
		{[]string{"bench", "peak", "--mix", "demo", "--compartments", "2"}, 2, "--mix demo needs --compartments 3 or more"},
		{[]string{"serve", "--capacity-margin", "5"}, 2, "--capacity-margin must be 0 to 4"},
		{[]string{"serve", "--cutoff", "25:00"}, 2, "--cutoff must be HH:MM"},
		{[]string{"serve", "--reload", "0s"}, 2, "--reload must be a positive duration"},
		{[]string{"serve", "--busy-below", "0%"}, 2, "--busy-below must be a share"},
		{[]string{"serve", "--busy-below", "1.5"}, 2, "--busy-below must be a share"},
		{[]string{"serve", "--busy-below", "lots"}, 2, "--busy-below must be a share"},
		{[]string{"serve", "--dev-outbox", "on"}, 2, "flag provided but not defined: -dev-outbox"},
		{[]string{"serve", "--dev-clock"}, 2, "flag provided but not defined: -dev-clock"},
		{[]string{"serve", "--db", "postgres://nobody@127.0.0.1:1/x"}, 1, "LOKERO_CODE_SECRET"},
		{[]string{"courier"}, 2, "courier add [--expires 90d] NAME"},
		{[]string{"locker", "provision"}, 2, "exactly one LOCATION_ID"},
		// At Mosquitto a locker's location ID is its client ID.
		{[]string{"locker", "provision", "--db", filepath.Join(t.TempDir(), "z.db"), "--mosquitto", t.TempDir(), "lokero-centre-a"}, 2, `location ID "lokero-centre-a" starts with "lokero-centre-"`},
		// The centre's own Mosquitto user has every locker's topics.
		{[]string{"locker", "provision", "--db", filepath.Join(t.TempDir(), "z.db"), "--mosquitto", t.TempDir(), "lokero-centre"}, 2, `location ID "lokero-centre" is the centre's Mosquitto user`},
		{[]string{"retailer", "remove", "x"}, 2, "retailer add NAME"},
		{[]string{"serve", "--addr", "256.0.0.1:1", "--db", filepath.Join(t.TempDir(), "y.db")}, 1, "listen"},
	}
	for _, tt := range tests {
		code, _, stderr := runCmd(t, tt.args...)
		if code != tt.code || !strings.Contains(stderr, tt.want) {
			t.Errorf("lokero %q: exit %d, stderr %q; want exit %d mentioning %q", tt.args, code, stderr, tt.code, tt.want)
		}
	}
}

const locationsCSV = `id,type,name,street,postcode,city,lat,lon,access,payment_terminal,opening_hours,compartments
SP-1,SMARTPOST,Smartpost Testikauppa,Kauppakatu 1,00100,Helsinki,60.17,24.94,public,true,24/7,S*10; L*2
LK-1,LOCKER,As Oy Testitalo,Testikatu 3,00104,Helsinki,60.171,24.941,residents,false,,S*6
PO-1,POSTOFFICE,Posti Testi,Postikatu 2,00100,Helsinki,60.172,24.942,public,true,Mo-Fr 09:00-18:00,
`

func TestImportLocations(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "import.db")
	file := filepath.Join(dir, "network.csv")
	if err := os.WriteFile(file, []byte(locationsCSV), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCmd(t, "import", "locations", "--db", db, file)
	if code != 0 || !strings.Contains(stdout, "3 new, 0 updated") {
		t.Fatalf("first import: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	code, stdout, _ = runCmd(t, "import", "locations", file, "--db", db)
	if code != 0 || !strings.Contains(stdout, "0 new, 3 updated") {
		t.Fatalf("re-import: exit %d, %q; want 3 updated", code, stdout)
	}
	st, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if n, err := st.CountLocations(context.Background()); err != nil || n != 3 {
		t.Errorf("after two imports: %d locations (%v); want 3", n, err)
	}
	l, err := st.Location(context.Background(), "SP-1")
	if err != nil || !l.PaymentTerminal || len(l.Compartments) != 2 {
		t.Errorf("SP-1 stored as %+v (%v)", l, err)
	}

	bad := strings.Replace(locationsCSV, "LK-1,LOCKER,As Oy Testitalo,Testikatu 3,00104", "LK-1,LOCKER,As Oy Testitalo,Testikatu 3,00100", 1)
	bad = strings.Replace(bad, "60.172,24.942", "91,24.942", 1)
	if err := os.WriteFile(file, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runCmd(t, "import", "locations", "--db", db, file)
	if code != 1 || !strings.Contains(stderr, "line 3: postcode:") || !strings.Contains(stderr, "line 4: lat:") || stdout != "" {
		t.Errorf("bad file: exit %d, stdout %q, stderr %q; want exit 1 naming line 3 postcode and line 4 lat", code, stdout, stderr)
	}
}

// TestImportClosingAPoint: a network file that closes a point re-routes
// the shipments booked there, as the operator's PATCH does, and says so;
// importing it again moves nothing twice.
func TestImportClosingAPoint(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "closing.db")
	file := filepath.Join(dir, "network.csv")
	network := locationsCSV + "SP-2,SMARTPOST,Smartpost Toinen,Kauppakatu 9,00100,Helsinki,60.1705,24.9405,public,false,24/7,S*10; L*2\n"
	if err := os.WriteFile(file, []byte(network), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCmd(t, "import", "locations", "--db", db, file); code != 0 {
		t.Fatalf("import: %s", stderr)
	}
	p, err := openPlatform(ctx, db, calendar.Default(), clock(), newLogger(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.dir.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	booked, _ := bookSmall(t, p, "SP-1")
	hook, err := p.webhooks.Create(ctx, booked.RetailerID, service.WebhookRequest{URL: "https://shop.example.fi/hooks/lokero"})
	if err != nil {
		t.Fatal(err)
	}
	p.Close()

	// The file now says SP-1 is closed until further notice.
	header, rows, _ := strings.Cut(network, "\n")
	closed := header + ",status,status_from,status_reason\n"
	for _, row := range strings.Split(strings.TrimSpace(rows), "\n") {
		if strings.HasPrefix(row, "SP-1,") {
			row += ",TEMPORARILY_CLOSED,2020-01-01,water damage"
		} else {
			row += ",,,"
		}
		closed += row + "\n"
	}
	if err := os.WriteFile(file, []byte(closed), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCmd(t, "import", "locations", "--db", db, file)
	if code != 0 || !strings.Contains(stdout, "re-routed 1 shipments") || !strings.Contains(stdout, "0 stranded") {
		t.Fatalf("closing import: exit %d, stdout %q, stderr %q; want 1 re-routed", code, stdout, stderr)
	}
	st, err := sqlite.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	sh, err := st.Shipment(ctx, booked.ID)
	st.Close()
	if err != nil || sh.DestinationID != "SP-2" || !strings.Contains(sh.Routing.Reason, "water damage") {
		t.Fatalf("after the import the shipment goes to %s (%+v, %v); want SP-2 with the reason", sh.DestinationID, sh.Routing, err)
	}
	// The re-routing's webhook delivery was queued with its job, for
	// lokero serve to send.
	rerouted := 0
	if st, err = sqlite.Open(ctx, db); err != nil {
		t.Fatal(err)
	}
	deliveries, err := st.WebhookDeliveries(ctx, hook.ID, lokero.WebhookPending, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range deliveries {
		if d.Event != service.EventRerouted {
			continue
		}
		rerouted++
		var jobs int
		if err := st.SQL().QueryRowContext(ctx, `SELECT count(*) FROM river_job WHERE kind = 'webhook' AND json_extract(args, '$.delivery_id') = $1`,
			d.ID).Scan(&jobs); err != nil || jobs != 1 {
			t.Errorf("the import's webhook delivery %s has %d jobs (%v); want 1", d.ID, jobs, err)
		}
	}
	st.Close()
	if rerouted != 1 {
		t.Errorf("%d shipment.rerouted deliveries pending after the import; want 1 (of %d)", rerouted, len(deliveries))
	}
	if code, stdout, _ := runCmd(t, "import", "locations", "--db", db, file); code != 0 || strings.Contains(stdout, "re-routed") {
		t.Errorf("the same file again: exit %d, %q; want nothing re-routed", code, stdout)
	}
	// A file without the status columns (a nightly export of the network
	// from elsewhere) leaves the closure as the operator set it.
	if err := os.WriteFile(file, []byte(network), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCmd(t, "import", "locations", "--db", db, file); code != 0 {
		t.Fatalf("import without status columns: %s", stderr)
	}
	if st, err = sqlite.Open(ctx, db); err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if l, err := st.Location(ctx, "SP-1"); err != nil || l.Status != lokero.LocationTemporarilyClosed || l.StatusReason != "water damage" {
		t.Errorf("after a file without status columns SP-1 is %s (%q), %v; want still TEMPORARILY_CLOSED", l.Status, l.StatusReason, err)
	}
}

// bookSmall adds a retailer to the platform's database and books a small
// parcel (30 × 20 × 8 cm) for it to a point; it returns the shipment and
// the retailer's API key.
func bookSmall(t *testing.T, p *platform, point string) (lokero.Shipment, string) {
	t.Helper()
	ctx := context.Background()
	retailer, key, err := p.shipments.AddRetailer(ctx, "Kauppa", false)
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.shipments.Create(ctx, retailer, service.ShipmentRequest{Reference: "R-1", PickupPointID: point,
		Sender:    lokero.Party{Name: "Kauppa Oy", Street: "Kauppakatu 2", Postcode: "00100", City: "Helsinki"},
		Recipient: lokero.Party{Name: "Maija", Street: "Fredrikinkatu 1", Postcode: "00120", City: "Helsinki", Phone: "0401234567"},
		Parcel:    &lokero.Parcel{LengthCM: 30, WidthCM: 20, HeightCM: 8, WeightKG: 1, Contents: lokero.ContentsGoods}}, "", nil)
	if err != nil || res.Shipment.DestinationID != point {
		t.Fatalf("booking to %s: to %q, %v", point, res.Shipment.DestinationID, err)
	}
	return res.Shipment, key
}

func TestImportPostcodes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "pc.db")
	// Two records of Posti's fixed-width file, in Latin-1.
	pcf := pcfLine("20250101", "00100", "HELSINKI", "HELSINGFORS", "1", "091", "Helsinki", "Helsingfors") +
		pcfLine("20250101", "00104", "SMARTPOST", "SMARTPOST", "6", "091", "Helsinki", "Helsingfors") +
		pcfLine("20250101", "99994", "NUORGAM SMARTPOST", "NUORGAM SMARTPOST", "6", "890", "Utsjoki", "Utsjoki")
	file := filepath.Join(dir, "PCF_20250101.dat")
	if err := os.WriteFile(file, latin1(pcf), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCmd(t, "import", "postcodes", "--db", db, file)
	if code != 0 || !strings.Contains(stdout, "imported 3 postal codes") {
		t.Fatalf("import: exit %d, %q, %q", code, stdout, stderr)
	}
	st, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	codes, err := st.Postcodes(context.Background())
	st.Close()
	if err != nil || len(codes) != 3 || codes[0].NameSV != "HELSINGFORS" {
		t.Fatalf("stored postcodes: %+v (%v)", codes, err)
	}
	// The server now knows exactly these codes.
	base := startServe(t, "--db", db, "--no-demo")
	var pc map[string]any
	if code := getJSON(t, base+"/v1/postcodes/00120", &pc); code != 404 {
		t.Errorf("00120 after importing a file without it: %d %v; want 404", code, pc)
	}
	if code := getJSON(t, base+"/v1/postcodes/99994", &pc); code != 200 || pc["kind"] != "locker" {
		t.Errorf("99994: %d %v", code, pc)
	}

	if err := os.WriteFile(file, []byte("PONOT2025010100100 short\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runCmd(t, "import", "postcodes", "--db", db, file)
	if code != 1 || !strings.Contains(stderr, "line 1") {
		t.Errorf("malformed PCF: exit %d, stderr %q; want exit 1 naming line 1", code, stderr)
	}
}

// pcfLine formats one record of Posti's PCF file.
func pcfLine(date, code, fi, sv, typ, munCode, munFI, munSV string) string {
	return "PONOT" + date + code + fmt.Sprintf("%-30s%-30s%-12s%-12s", fi, sv, "", "") + "19900101" + typ +
		fmt.Sprintf("%-5s%-30s%-30s", "FI1B1", "Helsinki-Uusimaa", "Helsingfors-Nyland") + munCode +
		fmt.Sprintf("%-20s%-20s", munFI, munSV) + "2\r\n"
}

func latin1(s string) []byte {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		out = append(out, byte(r))
	}
	return out
}

// TestRetailerEndToEnd is the retailer's first hour: add a retailer, take
// the key from the last line, start the platform, book a parcel to the
// demo building, fetch its label and track it.
func TestRetailerEndToEnd(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "e2e.db")
	code, stdout, stderr := runCmd(t, "retailer", "add", "--db", db, "--free-returns", "Verkkokauppa", "Oy")
	if code != 0 {
		t.Fatalf("retailer add: exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	key := lines[len(lines)-1]
	if !strings.HasPrefix(key, "lok_") || !strings.Contains(stdout, "Verkkokauppa Oy") {
		t.Fatalf("retailer add printed %q; want the key on the last line", stdout)
	}
	base := startServe(t, "--db", db)
	body := `{"reference":"E2E-1",
		"sender":{"name":"Verkkokauppa Oy","street":"Tyynenmerenkatu 11","postcode":"00220","city":"Helsinki","country":"FI"},
		"recipient":{"name":"Maija","street":"Mannerheimintie 5 A 1","postcode":"00104","city":"Helsinki","country":"FI","phone":"+358401234567"},
		"parcel":{"length_cm":30,"width_cm":20,"height_cm":10,"weight_kg":1,"contents":"goods"},"return_code":true}`
	req, _ := http.NewRequest("POST", base+"/v1/shipments", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var sh struct {
		ID           string `json:"id"`
		TrackingCode string `json:"tracking_code"`
		LabelURL     string `json:"label_url"`
		ReturnCode   string `json:"return_code"`
		Destination  struct{ ID string }
	}
	json.NewDecoder(resp.Body).Decode(&sh)
	resp.Body.Close()
	if resp.StatusCode != 201 || sh.Destination.ID != demo.DemoLockerID || sh.ReturnCode == "" {
		t.Fatalf("create: %d %+v", resp.StatusCode, sh)
	}
	req, _ = http.NewRequest("GET", base+sh.LabelURL, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	pdf, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Errorf("label: %d %.10q", resp.StatusCode, pdf)
	}
	var tr struct{ Status string }
	if code := getJSON(t, base+"/v1/tracking/"+sh.TrackingCode, &tr); code != 200 || tr.Status != "CREATED" {
		t.Errorf("tracking: %d %+v", code, tr)
	}
	// The booking was a write of this serve's store, committed (SQLite
	// groups the writes that overlap: never more commits than writes).
	writes, ok1 := metricValue(t, base+"/metrics", "lokero_store_writes_total")
	commits, ok2 := metricValue(t, base+"/metrics", "lokero_store_commits_total")
	if !ok1 || !ok2 || writes < 1 || commits < 1 || commits > writes {
		t.Errorf("/metrics: lokero_store_writes_total %v (%v), lokero_store_commits_total %v (%v)", writes, ok1, commits, ok2)
	}
	code, _, stderr = runCmd(t, "retailer", "add", "--db", db)
	if code != 2 || !strings.Contains(stderr, "NAME") {
		t.Errorf("retailer add without a name: exit %d %q", code, stderr)
	}
}

func TestRedactDSN(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"lokero.db": "lokero.db",
		"postgres://lokero:s3cret@db:5432/lokero":         "postgres://lokero:xxxxx@db:5432/lokero",
		"postgres://lokero@db/lokero?password=s3cret&x=1": "postgres://lokero@db/lokero?password=xxxxx&x=1",
		"postgres://lokero@db/lokero?sslmode=require":     "postgres://lokero@db/lokero?sslmode=require",
	}
	for in, want := range tests {
		if got := redactDSN(in); got != want || strings.Contains(got, "s3cret") {
			t.Errorf("redactDSN(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestCredentialCommands: courier, operator and device tokens come out as
// the last line, and a device is only for a locker that exists.
func TestCredentialCommands(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "cred.db")
	// serve --no-demo would leave no locker to provision: load the demo.
	base := startServe(t, "--db", db)
	if info, err := os.Stat(db + ".secret"); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("the code secret beside a SQLite database: %v, %v; want a 0600 file", info, err)
	}
	for _, tt := range []struct {
		args   []string
		prefix string
	}{
		{[]string{"courier", "add", "--db", db, "Kalle", "Kuski"}, "lkc_"},
		{[]string{"operator", "add", "--db", db, "Olli"}, "lko_"},
		{[]string{"locker", "provision", "--db", db, demo.DemoLockerID}, "lkd_"},
	} {
		code, stdout, stderr := runCmd(t, tt.args...)
		lines := strings.Split(strings.TrimSpace(stdout), "\n")
		if code != 0 || !strings.HasPrefix(lines[len(lines)-1], tt.prefix) {
			t.Errorf("%v: exit %d, %q %q; want the %s token last", tt.args, code, stdout, stderr, tt.prefix)
		}
	}
	code, _, stderr := runCmd(t, "locker", "provision", "--db", db, "POSTOFFICE-00100")
	if code != 1 || !strings.Contains(stderr, "no locker") {
		t.Errorf("provisioning a post office: exit %d %q", code, stderr)
	}
	// Without --dev the development aids do not exist, not even on
	// loopback.
	if status := call(t, "GET", base+"/dev/outbox", "", nil, nil); status != 404 {
		t.Errorf("/dev/outbox on loopback without --dev: %d; want 404", status)
	}
}

// call sends a JSON request with a bearer token and decodes the answer.
func call(t *testing.T, method, url, token string, body any, out any) int {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, r)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && json.Unmarshal(raw, out) != nil {
		t.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, raw)
	}
	return resp.StatusCode
}

// lastLine runs a command and returns the last line it printed (a key or
// token).
func lastLine(t *testing.T, args ...string) string {
	t.Helper()
	code, stdout, stderr := runCmd(t, args...)
	if code != 0 {
		t.Fatalf("lokero %v: exit %d: %s", args, code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	return lines[len(lines)-1]
}

// storeArgs returns a fresh database of the kind ("sqlite" or "postgres")
// and the serve flags for it: a file, or a throwaway PostgreSQL database
// with the code secret in a file (as several instances would share it).
func storeArgs(t *testing.T, store string) (db string, args []string) {
	t.Helper()
	if store != "postgres" {
		db = filepath.Join(t.TempDir(), "lokero.db")
		return db, []string{"--db", db}
	}
	url, err := pgtest.Require(t).CreateDatabase(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte(strings.Repeat("cd", 32)), 0o600); err != nil {
		t.Fatal(err)
	}
	return url, []string{"--db", url, "--code-secret-file", secret}
}

// onBothStores runs test in parallel on SQLite and on PostgreSQL.
func onBothStores(t *testing.T, test func(t *testing.T, store string)) {
	t.Helper()
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			test(t, store)
		})
	}
}

// lockerRig is the real command serving the demo network with the
// development aids (--dev: the test clock and the outbox), a store's key,
// a courier's token, an operator's token (the dev routes answer only an
// operator) and the demo building's LOCKER's device token.
type lockerRig struct{ base, db, key, courier, operator, device string }

// startLockerRig starts lokero serve --dev on a fresh store of the kind
// ("sqlite" or "postgres") and adds its credentials.
func startLockerRig(t *testing.T, store string) lockerRig {
	t.Helper()
	db, args := storeArgs(t, store)
	return lockerRig{
		base:     startServe(t, append(args, "--dev")...),
		db:       db,
		key:      lastLine(t, "retailer", "add", "--db", db, "Kauppa"),
		courier:  lastLine(t, "courier", "add", "--db", db, "Kuski"),
		operator: lastLine(t, "operator", "add", "--db", db, "Olli"),
		device:   lastLine(t, "locker", "provision", "--db", db, demo.DemoLockerID),
	}
}

// demoBuildingParcel is the body of a shipment from a store to a resident
// of the demo building, whose LOCKER it is routed to.
func demoBuildingParcel() map[string]any {
	return map[string]any{
		"sender":    map[string]any{"name": "Kauppa", "street": "Tyynenmerenkatu 11", "postcode": "00220", "city": "Helsinki"},
		"recipient": map[string]any{"name": "Maija", "street": "Mannerheimintie 5 A 1", "postcode": "00104", "city": "Helsinki", "phone": "0401234567"},
		"parcel":    map[string]any{"length_cm": 30, "width_cm": 20, "height_cm": 10, "weight_kg": 1, "contents": "goods"},
	}
}

// depositAtDemoLocker hands a booked parcel over, deposits it at the demo
// building's LOCKER and has the device report its door closed: the parcel
// is READY_FOR_PICKUP and its notice queued. It returns the compartment.
func depositAtDemoLocker(t *testing.T, base, courier, device, id, tracking string) int {
	t.Helper()
	if status := call(t, "POST", base+"/v1/shipments/"+id+"/handover", courier, nil, nil); status != 200 {
		t.Fatalf("hand %s over: %d", tracking, status)
	}
	var dep struct{ Compartment int }
	if status := call(t, "POST", base+"/v1/lockers/"+demo.DemoLockerID+"/deposits", courier,
		map[string]string{"tracking_code": tracking}, &dep); status != 200 {
		t.Fatalf("deposit %s: %d", tracking, status)
	}
	if status := call(t, "POST", base+"/v1/devices/"+demo.DemoLockerID+"/events", device,
		map[string]any{"type": "door_closed", "compartment": dep.Compartment}, nil); status != 200 {
		t.Fatalf("close %s's door: %d", tracking, status)
	}
	return dep.Compartment
}

// emailOnlyParcel books a demo building parcel whose recipient gave only
// an e-mail address (one message a notice) and returns its id and
// tracking code.
func emailOnlyParcel(t *testing.T, base, key, email string) (id, tracking string) {
	t.Helper()
	parcel := demoBuildingParcel()
	recipient := parcel["recipient"].(map[string]any)
	delete(recipient, "phone")
	recipient["email"] = email
	var sh struct {
		ID           string `json:"id"`
		TrackingCode string `json:"tracking_code"`
	}
	if status := call(t, "POST", base+"/v1/shipments", key, parcel, &sh); status != 201 {
		t.Fatalf("create a parcel for %s: %d", email, status)
	}
	return sh.ID, sh.TrackingCode
}

// TestLockerLifeEndToEnd runs the real command with a test clock, on
// SQLite and on PostgreSQL: book, hand over, deposit, door closed, the
// code in the outbox; then let the week pass: expired, on the collection
// list, collected, returned to the sender — the expiry done by the job
// queue.
func TestLockerLifeEndToEnd(t *testing.T) {
	t.Parallel()
	onBothStores(t, func(t *testing.T, store string) {
		rig := startLockerRig(t, store)
		base, db, key, courier, operator, device := rig.base, rig.db, rig.key, rig.courier, rig.operator, rig.device
		body := demoBuildingParcel()
		var sh struct {
			ID           string `json:"id"`
			TrackingCode string `json:"tracking_code"`
			Status       string `json:"status"`
		}
		if status := call(t, "POST", base+"/v1/shipments", key, body, &sh); status != 201 {
			t.Fatalf("create: %d", status)
		}
		if status := call(t, "POST", base+"/v1/shipments/"+sh.ID+"/handover", courier, nil, &sh); status != 200 || sh.Status != "IN_TRANSIT" {
			t.Fatalf("handover: %d %s", status, sh.Status)
		}
		var dep struct{ Compartment int }
		if status := call(t, "POST", base+"/v1/lockers/"+demo.DemoLockerID+"/deposits", courier, map[string]string{"tracking_code": sh.TrackingCode}, &dep); status != 200 {
			t.Fatalf("deposit: %d", status)
		}
		if status := call(t, "POST", base+"/v1/devices/"+demo.DemoLockerID+"/events", device, map[string]any{"type": "door_closed", "compartment": dep.Compartment}, nil); status != 200 {
			t.Fatalf("door closed: %d", status)
		}
		var box struct {
			Messages []struct {
				Text         string
				TrackingCode string `json:"tracking_code"`
			}
		}
		call(t, "GET", base+"/dev/outbox", operator, nil, &box)
		if len(box.Messages) == 0 || !strings.Contains(box.Messages[0].Text, sh.TrackingCode) {
			t.Fatalf("no notice of arrival in the outbox: %+v", box)
		}
		// Six and a half days on: past the reminder (at 10:00 two days
		// before the end of the 7th day; whatever the hour of the deposit,
		// between 12:00 on the 6th day and 12:00 on the 7th), before the
		// deadline.
		if status := call(t, "POST", base+"/v1/admin/clock", operator, map[string]string{"advance": "156h"}, nil); status != 200 {
			t.Fatalf("advance the clock: %d", status)
		}
		reminders := func() int {
			call(t, "GET", base+"/dev/outbox", operator, nil, &box)
			n := 0
			for _, m := range box.Messages {
				if strings.HasPrefix(m.Text, "Muistutus") && m.TrackingCode == sh.TrackingCode {
					n++
				}
			}
			return n
		}
		for wait := time.Now().Add(30 * time.Second); reminders() == 0 && time.Now().Before(wait); {
			time.Sleep(250 * time.Millisecond)
		}
		if n := reminders(); n != 1 {
			t.Fatalf("%d reminders 30 s after the sixth day; want one SMS", n)
		}
		if status := call(t, "POST", base+"/v1/admin/clock", operator, map[string]string{"advance": "48h"}, nil); status != 200 {
			t.Fatalf("advance the clock: %d", status)
		}
		var list struct {
			Collections []struct {
				TrackingCode string `json:"tracking_code"`
			}
		}
		deadline := time.Now().Add(30 * time.Second)
		for len(list.Collections) == 0 && time.Now().Before(deadline) {
			time.Sleep(250 * time.Millisecond)
			call(t, "GET", base+"/v1/lockers/"+demo.DemoLockerID+"/collections", courier, nil, &list)
		}
		if len(list.Collections) != 1 || list.Collections[0].TrackingCode != sh.TrackingCode {
			t.Fatalf("collection list 30 s after the week passed: %+v", list)
		}
		if status := call(t, "POST", base+"/v1/lockers/"+demo.DemoLockerID+"/collections", courier, map[string]string{"tracking_code": sh.TrackingCode}, &sh); status != 200 || sh.Status != "RETURNING" {
			t.Fatalf("collect: %d %s", status, sh.Status)
		}
		if status := call(t, "POST", base+"/v1/shipments/"+sh.ID+"/returned", key, nil, &sh); status != 200 || sh.Status != "RETURNED_TO_SENDER" {
			t.Fatalf("returned: %d %s", status, sh.Status)
		}
		if n := reminders(); n != 1 {
			t.Errorf("%d reminders at the end; want still one", n)
		}

		// A store with free returns: its customer picks the parcel up
		// with the code of the notice and returns it with the return
		// code at the same LOCKER (a resident), once.
		returnsKey := lastLine(t, "retailer", "add", "--db", db, "--free-returns", "Palautuskauppa")
		body["return_code"] = true
		type shipmentAnswer struct {
			ID                 string `json:"id"`
			TrackingCode       string `json:"tracking_code"`
			Status             string `json:"status"`
			Kind               string `json:"kind"`
			ReturnOf           string `json:"return_of"`
			ReturnCode         string `json:"return_code"`
			ReturnTrackingCode string `json:"return_tracking_code"`
			DropOffCode        string `json:"dropoff_code"`
		}
		var rs shipmentAnswer
		if status := call(t, "POST", base+"/v1/shipments", returnsKey, body, &rs); status != 201 || rs.ReturnCode == "" {
			t.Fatalf("create with a return code: %d %+v", status, rs)
		}
		delivery := rs
		call(t, "POST", base+"/v1/shipments/"+rs.ID+"/handover", courier, nil, &rs)
		if status := call(t, "POST", base+"/v1/lockers/"+demo.DemoLockerID+"/deposits", courier, map[string]string{"tracking_code": rs.TrackingCode}, &dep); status != 200 {
			t.Fatalf("deposit: %d", status)
		}
		call(t, "POST", base+"/v1/devices/"+demo.DemoLockerID+"/events", device, map[string]any{"type": "door_closed", "compartment": dep.Compartment}, nil)
		call(t, "GET", base+"/dev/outbox", operator, nil, &box)
		code := regexp.MustCompile(`Avauskoodi: ([0-9]+)`).FindStringSubmatch(box.Messages[0].Text)
		if code == nil || box.Messages[0].TrackingCode != rs.TrackingCode {
			t.Fatalf("no opening code for %s in the outbox: %+v", rs.TrackingCode, box.Messages[0])
		}
		keypad := func(code string) (int, map[string]any) {
			var out map[string]any
			return call(t, "POST", base+"/v1/devices/"+demo.DemoLockerID+"/keypad", device, map[string]string{"code": code}, &out), out
		}
		if status, out := keypad(code[1]); status != 200 || out["purpose"] != "pick_up" {
			t.Fatalf("pickup: %d %v", status, out)
		}
		call(t, "POST", base+"/v1/devices/"+demo.DemoLockerID+"/events", device, map[string]any{"type": "door_closed", "compartment": dep.Compartment}, nil)
		status, out := keypad(delivery.ReturnCode)
		if status != 200 || out["purpose"] != "drop_off" || out["result"] != "open" {
			t.Fatalf("return code at the keypad: %d %v; want a compartment opened for the drop-off", status, out)
		}
		call(t, "POST", base+"/v1/devices/"+demo.DemoLockerID+"/events", device, map[string]any{"type": "door_closed", "compartment": out["compartment"]}, nil)
		if status, out := keypad(delivery.ReturnCode); status != 403 {
			t.Fatalf("the return code again: %d %v; want 403, it works once", status, out)
		}
		if status := call(t, "GET", base+"/v1/tracking/"+delivery.ReturnTrackingCode, "", nil, &rs); status != 200 || rs.Status != "DROPPED_OFF" {
			t.Fatalf("tracking the return: %d %s; want DROPPED_OFF", status, rs.Status)
		}
		if status := call(t, "POST", base+"/v1/lockers/"+demo.DemoLockerID+"/collections", courier, map[string]string{"tracking_code": delivery.ReturnTrackingCode}, &rs); status != 200 || rs.Status != "IN_TRANSIT" {
			t.Fatalf("collect the return: %d %s", status, rs.Status)
		}
		var mine struct {
			Shipments []struct{ ID, Kind, Status, ReturnOf string }
		}
		call(t, "GET", base+"/v1/shipments?status=IN_TRANSIT", returnsKey, nil, &mine)
		if len(mine.Shipments) != 1 || mine.Shipments[0].Kind != "return" {
			t.Fatalf("the store's shipments in transit: %+v; want its customer's return", mine)
		}
		rs.ID = mine.Shipments[0].ID
		if status := call(t, "POST", base+"/v1/shipments/"+rs.ID+"/returned", returnsKey, nil, &rs); status != 200 || rs.Status != "RETURNED_TO_SENDER" {
			t.Fatalf("the return at the store: %d %s", status, rs.Status)
		}

		// A pre-paid parcel: booked with a size class, it gets a code.
		prepaid := map[string]any{"sender": body["recipient"], "recipient": body["recipient"], "size": "M"}
		rs = shipmentAnswer{}
		if status := call(t, "POST", base+"/v1/prepaid", key, prepaid, &rs); status != 201 || rs.Kind != "prepaid" || len(rs.DropOffCode) != 12 || rs.ReturnCode != "" {
			t.Fatalf("pre-paid: %d %+v", status, rs)
		}
		prepaid["size"] = "XXL"
		var e struct{ Error struct{ Field string } }
		if status := call(t, "POST", base+"/v1/prepaid", key, prepaid, &e); status != 400 || e.Error.Field != "size" {
			t.Errorf("pre-paid of size XXL: %d %+v; want 400 naming size", status, e)
		}
	})
}

// TestCheckoutTruthEndToEnd runs the real command on SQLite and on
// PostgreSQL through a checkout's day: a locker's free compartments count
// a booking at once; the operator closes it, and its booked parcel moves;
// both searches leave it out (the own one shows it with include_closed); a
// booking for it is refused with open alternatives, or re-routed with the
// fallback; the operator sees who changed what.
func TestCheckoutTruthEndToEnd(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			db, args := storeArgs(t, store)
			base := startServe(t, args...)
			key := lastLine(t, "retailer", "add", "--db", db, "Kauppa")
			operator := lastLine(t, "operator", "add", "--db", db, "Olli")

			type hit struct {
				ID           string
				OpenOnDate   bool   `json:"open_on_date"`
				ClosedReason string `json:"closed_reason"`
				Availability *struct {
					Level        string
					Compartments []struct {
						Size        string
						Free, Total int
						Level       string
					}
				}
			}
			search := func(query string) (string, []hit) {
				t.Helper()
				var ans struct {
					DeliveryDate string `json:"delivery_date"`
					Locations    []hit
				}
				if status := call(t, "GET", base+"/v1/locations?postcode=00100&type=SMARTPOST&"+query, "", nil, &ans); status != 200 {
					t.Fatalf("search %s: %d", query, status)
				}
				return ans.DeliveryDate, ans.Locations
			}
			find := func(hits []hit, id string) *hit {
				for i := range hits {
					if hits[i].ID == id {
						return &hits[i]
					}
				}
				return nil
			}
			date, hits := search("limit=1&fits=30x20x5&available=true")
			if len(hits) != 1 || hits[0].Availability == nil || hits[0].Availability.Level != "normal" {
				t.Fatalf("the nearest SMARTPOST with room: %+v", hits)
			}
			sp, free := hits[0].ID, hits[0].Availability.Compartments[0].Free

			body := map[string]any{
				"pickup_point_id": sp,
				"sender":          map[string]any{"name": "Kauppa", "street": "Tyynenmerenkatu 11", "postcode": "00220", "city": "Helsinki"},
				"recipient":       map[string]any{"name": "Maija", "street": "Fredrikinkatu 1", "postcode": "00120", "city": "Helsinki", "phone": "0401234567"},
				"parcel":          map[string]any{"length_cm": 30, "width_cm": 20, "height_cm": 5, "weight_kg": 1, "contents": "goods"},
			}
			var booked struct {
				ID          string
				Destination struct{ ID string }
			}
			if status := call(t, "POST", base+"/v1/shipments", key, body, &booked); status != 201 || booked.Destination.ID != sp {
				t.Fatalf("booking %s: %d to %s", sp, status, booked.Destination.ID)
			}
			if _, hits := search("limit=5"); find(hits, sp) == nil || find(hits, sp).Availability.Compartments[0].Free != free-1 {
				t.Fatalf("after one booking %s shows %+v; want %d free", sp, find(hits, sp), free-1)
			}

			var patched struct {
				Rerouted []string
				Stranded []any
			}
			closing := map[string]any{"status": "TEMPORARILY_CLOSED", "status_from": date, "status_until": date, "status_reason": "renovation"}
			if status := call(t, "PATCH", base+"/v1/locations/"+sp, operator, closing, &patched); status != 200 ||
				len(patched.Rerouted) != 1 || patched.Rerouted[0] != booked.ID {
				t.Fatalf("closing %s: %d, %+v; want the booked parcel re-routed", sp, status, patched)
			}
			if _, hits := search("limit=20"); find(hits, sp) != nil {
				t.Errorf("%s is listed on %s, the day it is closed", sp, date)
			}
			if _, hits := search("limit=20&include_closed=true"); find(hits, sp) == nil || find(hits, sp).OpenOnDate ||
				!strings.Contains(find(hits, sp).ClosedReason, "renovation") {
				t.Errorf("include_closed: %+v; want %s with its reason", find(hits, sp), sp)
			}
			var posti struct{ Locations []struct{ ID string } }
			call(t, "GET", base+"/api/2/location?zipCode=00100&types=SMARTPOST&top=20", "", nil, &posti)
			for _, l := range posti.Locations {
				if l.ID == sp {
					t.Errorf("the Posti interface lists %s on the day it is closed", sp)
				}
			}

			var refusal struct {
				Error struct {
					Code         string
					Alternatives []struct{ ID string }
				}
			}
			if status := call(t, "POST", base+"/v1/shipments", key, body, &refusal); status != 422 ||
				refusal.Error.Code != "pickup_point_closed" || len(refusal.Error.Alternatives) == 0 {
				t.Fatalf("booking the closed point: %d %+v", status, refusal)
			}
			body["fallback"] = "nearest_open"
			if status := call(t, "POST", base+"/v1/shipments", key, body, &booked); status != 201 || booked.Destination.ID != refusal.Error.Alternatives[0].ID {
				t.Errorf("with the fallback: %d to %s; want %s", status, booked.Destination.ID, refusal.Error.Alternatives[0].ID)
			}
			var events struct{ Events []struct{ Actor string } }
			if status := call(t, "GET", base+"/v1/locations/"+sp+"/events", operator, nil, &events); status != 200 ||
				len(events.Events) == 0 || !strings.HasPrefix(events.Events[len(events.Events)-1].Actor, "operator") {
				t.Errorf("events of %s: %d %+v; want the operator's change last", sp, status, events)
			}
			var stranded struct{ Stranded []any }
			if status := call(t, "GET", base+"/v1/stranded", operator, nil, &stranded); status != 200 || len(stranded.Stranded) != 0 {
				t.Errorf("stranded: %d %+v; want none (the parcel moved)", status, stranded)
			}
		})
	}
}

// TestClosedByAnotherInstance: a point closed by another instance (here
// written straight to the database) is seen at this instance's next
// directory reload, and the parcel this instance booked there moves.
func TestClosedByAnotherInstance(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "two.db")
	base := startServe(t, "--db", db, "--reload", "100ms")
	key := lastLine(t, "retailer", "add", "--db", db, "Kauppa")
	var hits struct{ Locations []struct{ ID string } }
	call(t, "GET", base+"/v1/locations?postcode=00100&type=SMARTPOST&limit=1", "", nil, &hits)
	if len(hits.Locations) != 1 {
		t.Fatalf("no SMARTPOST near 00100: %+v", hits)
	}
	sp := hits.Locations[0].ID
	var booked struct {
		ID           string
		DeliveryDate string `json:"estimated_delivery"`
		Destination  struct{ ID string }
	}
	body := map[string]any{
		"pickup_point_id": sp,
		"sender":          map[string]any{"name": "Kauppa", "street": "Tyynenmerenkatu 11", "postcode": "00220", "city": "Helsinki"},
		"recipient":       map[string]any{"name": "Maija", "street": "Fredrikinkatu 1", "postcode": "00120", "city": "Helsinki", "phone": "0401234567"},
		"parcel":          map[string]any{"length_cm": 30, "width_cm": 20, "height_cm": 5, "weight_kg": 1, "contents": "goods"},
	}
	if status := call(t, "POST", base+"/v1/shipments", key, body, &booked); status != 201 || booked.Destination.ID != sp {
		t.Fatalf("booking: %d to %s", status, booked.Destination.ID)
	}

	st, err := sqlite.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	l, err := st.Location(ctx, sp)
	if err != nil {
		t.Fatal(err)
	}
	l.Status, l.StatusFrom, l.StatusReason = lokero.LocationTemporarilyClosed, booked.DeliveryDate, "flooded"
	err = st.UpdateLocation(ctx, l, lokero.LocationEvent{LocationID: sp, At: time.Now().UTC(), Actor: "operator_elsewhere", Change: l.Change()})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}

	deadline := time.Now().Add(10 * time.Second)
	for {
		var sh struct {
			Destination struct{ ID string }
			Routing     struct{ Rule, Reason string }
		}
		call(t, "GET", base+"/v1/shipments/"+booked.ID, key, nil, &sh)
		if sh.Destination.ID != sp {
			if sh.Routing.Rule != "closed_point_reroute" || !strings.Contains(sh.Routing.Reason, "flooded") {
				t.Errorf("moved to %s with routing %+v; want the closure's reason", sh.Destination.ID, sh.Routing)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("10 s after another instance closed %s the parcel is still routed there", sp)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRerouteAtStart: a point closed while no server re-routed its parcels
// (a crash between the change and the re-routing; here the change is
// written straight to the database) has them moved when lokero serve
// starts.
func TestRerouteAtStart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "start.db")
	p, err := openPlatform(ctx, db, calendar.Default(), clock(), newLogger(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.loadDemo(ctx); err != nil {
		t.Fatal(err)
	}
	booked, key := bookSmall(t, p, "SMARTPOST-00102-1")
	l := *p.dir.Snapshot().ByID("SMARTPOST-00102-1")
	l.Status, l.StatusFrom, l.StatusReason = lokero.LocationClosed, "", "closed for good"
	err = p.store.UpdateLocation(ctx, l, lokero.LocationEvent{LocationID: l.ID, At: time.Now().UTC(), Actor: "operator_1", Change: l.Change()})
	p.Close()
	if err != nil {
		t.Fatal(err)
	}

	base := startServe(t, "--db", db)
	deadline := time.Now().Add(10 * time.Second)
	for {
		var sh struct {
			Destination struct{ ID string }
			Routing     struct{ Rule string }
		}
		call(t, "GET", base+"/v1/shipments/"+booked.ID, key, nil, &sh)
		if sh.Destination.ID != "SMARTPOST-00102-1" {
			if sh.Routing.Rule != "closed_point_reroute" {
				t.Errorf("moved to %s by rule %q; want closed_point_reroute", sh.Destination.ID, sh.Routing.Rule)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("10 s after the start the parcel is still routed to the closed point")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
