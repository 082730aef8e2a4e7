package service_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/mail"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/jobs"
	"github.com/lokero/lokero/notify"
	"github.com/lokero/lokero/notify/email"
	"github.com/lokero/lokero/service"
)

// The figure: from the door closing to the e-mail accepted by the
// SMTP server, p50 and p99 over 10,000 deposits, and notifications/s
// sustained, on SQLite; target p99 ≤ 1 s and ≥ 1,000 notifications/s.
//
//	go test ./service -run '^$' -bench Delivery -benchtime 10000x -timeout 40m
//
// Each round is a fresh SQLite store with lockers enough for b.N parcels
// (benchDeliveryPerLocker each), b.N parcels in transit written straight
// through the store (recipients with an e-mail address only: one message
// each), and the job runner lokero serve uses (jobs.New, River). The timed
// part: couriers deposit the parcels and each locker's device reports the
// door closed, as fast as SQLite takes them; the delivery jobs run
// meanwhile. One courier works one locker after the other; with several
// (the "-cN" runs, a peak day's many couriers at many lockers), each works
// its own share of the lockers in a goroutine of its own. Each e-mail's
// latency runs from the return of DoorClosed (its transaction, with the
// delivery job, committed) to its acceptance: for "smtp", the in-process
// go-smtp server's Data handler has read the message (keyed by its
// Message-ID); for "local" (the baseline: no sender, the message kept for
// the local outbox viewer) Lockers.Deliver has returned. notif/s is b.N
// over the time from the first door closed to the last acceptance;
// deposits/s is the offered load (deposit and door closed, per second).
//
// Honesty: a round fails when an e-mail is accepted twice, when one is
// missing, or when the outbox does not end with every message recorded
// (sent, or local for the baseline) exactly once.

// benchDeliveryPerLocker is how many parcels go to each locker of 60
// compartments (10 of each size class).
const benchDeliveryPerLocker = 30

// BenchmarkDelivery compares delivery over SMTP with the local baseline
// (no sender), offered by one courier and by eight at once, and the
// delivery's own capacity (drain).
func BenchmarkDelivery(b *testing.B) {
	for _, r := range []struct {
		name     string
		overSMTP bool
		couriers int
		drain    bool
	}{
		{"smtp", true, 1, false},
		{"local", false, 1, false},
		{"smtp-c8", true, 8, false},
		{"local-c8", false, 8, false},
		// The drain runs deposit every parcel first and start the jobs
		// after: notif/s is then the delivery's own capacity, from the
		// start of the jobs to the last acceptance (the latencies include
		// the wait for the deposits to end, and mean nothing).
		{"smtp-drain", true, 1, true},
		{"local-drain", false, 1, true},
	} {
		b.Run(r.name, func(b *testing.B) { benchDelivery(b, r.overSMTP, r.couriers, r.drain) })
	}
}

// acceptLog records when each message was accepted, by its key (the
// Message-ID, or the outbox id in decimal).
type acceptLog struct {
	mu   sync.Mutex
	at   map[string]time.Time
	dups int // acceptances of a message accepted already
	all  chan struct{}
	want int
}

func newAcceptLog(want int) *acceptLog {
	return &acceptLog{at: make(map[string]time.Time, want), all: make(chan struct{}), want: want}
}

func (a *acceptLog) accept(key string, at time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.at[key]; ok {
		a.dups++
		return
	}
	a.at[key] = at
	if len(a.at) == a.want {
		close(a.all)
	}
}

func (a *acceptLog) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.at)
}

// timedHandler is the Lockers as the jobs' handler, noting when each
// delivery starts (runs) and when it returns without error (done).
type timedHandler struct {
	*service.Lockers
	runs *runLog
	done func(key string, at time.Time)
}

// runLog notes, by outbox id, when a delivery job started to run and how
// long its run took: the way from the door to the provider is the wait
// for River to fetch the job, then the run.
type runLog struct {
	mu      sync.Mutex
	started map[int64]time.Time
	took    map[int64]time.Duration
	sending map[int64][2]time.Time // the Send call's start and return
}

func newRunLog(n int) *runLog {
	return &runLog{started: make(map[int64]time.Time, n), took: make(map[int64]time.Duration, n),
		sending: make(map[int64][2]time.Time, n)}
}

// timedSender is a notify.Sender noting when each Send starts and returns
// in a runLog: a run is reading and rendering, then the send, then the
// record.
type timedSender struct {
	notify.Sender
	runs *runLog
}

func (s timedSender) Send(ctx context.Context, m notify.Message) (string, error) {
	t0 := time.Now()
	id, err := s.Sender.Send(ctx, m)
	t1 := time.Now()
	s.runs.mu.Lock()
	if _, ok := s.runs.sending[m.ID]; !ok {
		s.runs.sending[m.ID] = [2]time.Time{t0, t1}
	}
	s.runs.mu.Unlock()
	return id, err
}

func (h timedHandler) Deliver(ctx context.Context, id int64, attempt int) error {
	t0 := time.Now()
	err := h.Lockers.Deliver(ctx, id, attempt)
	t1 := time.Now()
	if err == nil && h.done != nil {
		h.done(strconv.FormatInt(id, 10), t1)
	}
	if h.runs != nil {
		h.runs.mu.Lock()
		if _, ok := h.runs.started[id]; !ok {
			h.runs.started[id], h.runs.took[id] = t0, t1.Sub(t0)
		}
		h.runs.mu.Unlock()
	}
	return err
}

// DeliverWebhook: the benchmark's retailer has no webhooks.
func (h timedHandler) DeliverWebhook(ctx context.Context, id string, attempt int) error { return nil }

// WebhookRetry: never asked (no webhooks).
func (h timedHandler) WebhookRetry(attempt int) time.Duration { return time.Hour }

// benchSMTPSession is a session of the benchmark's SMTP server: it notes
// the time each message's DATA is read, by its Message-ID.
type benchSMTPSession struct {
	accepted func(messageID string, at time.Time)
}

func (s *benchSMTPSession) Reset()                               {}
func (s *benchSMTPSession) Logout() error                        { return nil }
func (s *benchSMTPSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *benchSMTPSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *benchSMTPSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	at := time.Now()
	if err != nil {
		return err
	}
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("not a message: %w", err)
	}
	s.accepted(msg.Header.Get("Message-Id"), at)
	return nil
}

// startBenchSMTP starts a go-smtp server on a loopback port and returns
// its address.
func startBenchSMTP(b *testing.B, accepted func(messageID string, at time.Time)) string {
	b.Helper()
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &benchSMTPSession{accepted: accepted}, nil
	}))
	srv.Domain = "localhost"
	srv.MaxRecipients = 1
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func benchDelivery(b *testing.B, overSMTP bool, couriers int, drain bool) {
	ctx := context.Background()
	n := b.N
	nLockers := (n + benchDeliveryPerLocker - 1) / benchDeliveryPerLocker
	locs := benchLockers("DLV", nLockers, 20, 20, 20)
	e := newBenchEnv(b, "delivery", slices.Clone(locs))

	// The parcels in transit, e-mail only; parcel i goes to locker
	// i/benchDeliveryPerLocker.
	type parcel struct{ dest, code string }
	parcels := make([]parcel, n)
	const perTx = 500
	for lo := 0; lo < n; lo += perTx {
		err := e.st.InTx(ctx, func(tx lokero.Tx) error {
			for i := lo; i < min(lo+perTx, n); i++ {
				dest := locs[i/benchDeliveryPerLocker].ID
				sh := e.parcel(dest, lokero.StatusInTransit, depositParcels[i%len(depositParcels)])
				sh.Recipient.Phone, sh.Recipient.Email = "", fmt.Sprintf("r%d@example.fi", i)
				if err := tx.InsertShipment(ctx, &sh, "", nil); err != nil {
					return err
				}
				parcels[i] = parcel{dest, sh.TrackingCode}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	// Courier k works the lockers k, k+couriers, k+2·couriers...
	shares := make([][]int, couriers) // parcel indexes, in order
	creds := make([]lokero.Credential, couriers)
	for k := range couriers {
		var err error
		if creds[k], _, err = e.lockers.AddCredential(ctx, lokero.KindCourier, fmt.Sprintf("Bench Kuski %d", k), ""); err != nil {
			b.Fatal(err)
		}
	}
	for i := range parcels {
		k := (i / benchDeliveryPerLocker) % couriers
		shares[k] = append(shares[k], i)
	}

	accepted := newAcceptLog(n)
	h := timedHandler{Lockers: e.lockers, runs: newRunLog(n)}
	var sender *email.Sender
	if overSMTP {
		addr := startBenchSMTP(b, accepted.accept)
		var err error
		if sender, err = email.New("smtp://"+addr, "lokero <noreply@lokero.test>"); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { sender.Close() })
		e.lockers.SetSenders(map[string]notify.Sender{notify.ChannelEmail: timedSender{sender, h.runs}})
	} else {
		h.done = accepted.accept
	}
	runner, err := jobs.New(ctx, e.st.SQL(), jobs.SQLite, e.clock, h, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	e.st.SetJobQueue(runner)
	startJobs := func() {
		if err := runner.Start(ctx); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() {
			stop, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			runner.Stop(stop)
		})
	}
	if !drain {
		startJobs()
	}

	closedAt := make([]time.Time, n) // by parcel index
	errs := make([]error, couriers)
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for k, share := range shares {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, i := range share {
				p := parcels[i]
				dep, err := e.lockers.Deposit(ctx, creds[k], p.dest, p.code)
				if err != nil {
					errs[k] = fmt.Errorf("deposit %s at %s: %w", p.code, p.dest, err)
					return
				}
				device := lokero.Credential{ID: "cred_bench_" + p.dest, Kind: lokero.KindDevice, Name: p.dest, LocationID: p.dest}
				if _, err := e.lockers.DoorClosed(ctx, device, p.dest, dep.Compartment.Number); err != nil {
					errs[k] = fmt.Errorf("door closed %s: %w", p.code, err)
					return
				}
				closedAt[i] = time.Now()
			}
		}()
	}
	wg.Wait()
	offered := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		b.Fatal(err)
	}
	if drain {
		start = time.Now()
		startJobs()
	}

	// Which message is whose: the outbox ids of the e-mails by tracking code.
	index := make(map[string]int, n)
	for i, p := range parcels {
		index[p.code] = i
	}
	rows, err := e.st.SQL().QueryContext(ctx, `SELECT id, tracking_code FROM outbox WHERE channel = 'email'`)
	if err != nil {
		b.Fatal(err)
	}
	parcelOf := make(map[int64]int, n)
	for rows.Next() {
		var id int64
		var code string
		if err := rows.Scan(&id, &code); err != nil {
			b.Fatal(err)
		}
		i, ok := index[code]
		if !ok {
			b.Fatalf("an e-mail for %s, not a parcel of the round", code)
		}
		parcelOf[id] = i
	}
	if err := rows.Close(); err != nil {
		b.Fatal(err)
	}
	if len(parcelOf) != n {
		b.Fatalf("%d e-mails queued for %d parcels", len(parcelOf), n)
	}

	wait := 2*time.Minute + time.Duration(n)*100*time.Millisecond
	select {
	case <-accepted.all:
	case <-time.After(wait):
		b.Fatalf("%d of %d e-mails accepted within %s", accepted.count(), n, wait)
	}
	b.StopTimer()
	accepted.mu.Lock()
	dups := accepted.dups
	durs := make(timings, 0, n)
	var last time.Time
	for id, i := range parcelOf {
		key := strconv.FormatInt(id, 10)
		if sender != nil {
			key = sender.MessageID(id)
		}
		at, ok := accepted.at[key]
		if !ok || closedAt[i].IsZero() {
			b.Fatalf("message %d (%s): accepted %v, door closed %v", id, parcels[i].code, ok, !closedAt[i].IsZero())
		}
		durs = append(durs, at.Sub(closedAt[i]))
		if at.After(last) {
			last = at
		}
	}
	accepted.mu.Unlock()
	if dups != 0 {
		b.Errorf("%d e-mails accepted twice", dups)
	}
	// Every message recorded once as the channel ends it: sent over SMTP
	// (with one attempt), local without a sender. The record follows the
	// acceptance: give the last ones a moment.
	want := lokero.DeliveryLocal
	if overSMTP {
		want = lokero.DeliverySent
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var done, repeated int
		err := e.st.SQL().QueryRowContext(ctx, `SELECT count(*), coalesce(sum(attempts > 1), 0) FROM outbox
			WHERE channel = 'email' AND state = ?`, want).Scan(&done, &repeated)
		if err != nil {
			b.Fatal(err)
		}
		if done == n {
			if repeated != 0 {
				b.Errorf("%d e-mails sent after more than one attempt", repeated)
			}
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d e-mails recorded %s (%d after more than one attempt)", done, n, want, repeated)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var resent uint64
	for _, c := range e.lockers.NotificationCounts() {
		if c.State == "resent" || c.State == "repeated" || c.State == "retried" {
			resent += c.N
		}
	}
	if resent != 0 {
		b.Errorf("%d deliveries retried, resent or repeated (NotificationCounts)", resent)
	}
	// The two parts of the way: door closed → the job's run starts
	// (River's poll and fetch, and any backlog), and the run itself
	// (read, render, send, record).
	h.runs.mu.Lock()
	fetch, run, send, record := make(timings, 0, n), make(timings, 0, n), make(timings, 0, n), make(timings, 0, n)
	for id, i := range parcelOf {
		started := h.runs.started[id]
		fetch = append(fetch, started.Sub(closedAt[i]))
		run = append(run, h.runs.took[id])
		if sent, ok := h.runs.sending[id]; ok {
			send = append(send, sent[1].Sub(sent[0]))
			record = append(record, started.Add(h.runs.took[id]).Sub(sent[1]))
		}
	}
	h.runs.mu.Unlock()
	fetch.reportAs(b, "wait")
	run.reportAs(b, "run")
	if overSMTP {
		send.reportAs(b, "send")
		record.reportAs(b, "record")
	}
	durs.report(b)
	slices.Sort(durs)
	b.ReportMetric(float64(durs[len(durs)-1])/1e6, "max-ms")
	b.ReportMetric(float64(n)/last.Sub(start).Seconds(), "notif/s")
	b.ReportMetric(float64(n)/offered.Seconds(), "deposits/s")
}

// reportAs reports the p50 and p99 of t in ms as "<name>-p50-ms" and
// "<name>-p99-ms".
func (t timings) reportAs(b *testing.B, name string) {
	b.Helper()
	s := slices.Clone(t)
	slices.Sort(s)
	at := func(p float64) time.Duration {
		return s[max(0, min(int(math.Ceil(p*float64(len(s))))-1, len(s)-1))]
	}
	b.ReportMetric(float64(at(0.50))/1e6, name+"-p50-ms")
	b.ReportMetric(float64(at(0.99))/1e6, name+"-p99-ms")
}

// BenchmarkDeliverySend is the SMTP exchange alone: email.Sender.Send of
// a notice of arrival to the in-process go-smtp server, by one goroutine
// after the other ("serial") and by 32 at once (jobs.New's workers),
// without the store or River: what the "smtp" runs of BenchmarkDelivery
// spend on the wire.
func BenchmarkDeliverySend(b *testing.B) {
	for _, workers := range []int{1, 32} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			accepted := newAcceptLog(b.N)
			sender, err := email.New("smtp://"+startBenchSMTP(b, accepted.accept), "lokero <noreply@lokero.test>")
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { sender.Close() })
			next := make(chan int64)
			var wg sync.WaitGroup
			var mu sync.Mutex
			durs := make(timings, 0, b.N)
			b.ResetTimer()
			for range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for id := range next {
						m := notify.Message{ID: id, Channel: notify.ChannelEmail, To: fmt.Sprintf("r%d@example.fi", id),
							Kind: notify.KindArrival, Language: "fi", Text: "Paketti noudettavissa",
							Parcel: notify.Parcel{TrackingCode: "JJFI12345678901234", Code: "123456",
								Deadline: now.Add(7 * 24 * time.Hour),
								Place:    notify.Place{ID: "DLV-0000", Type: "SMARTPOST", Name: "Bench Smartpost", Street: "Testikatu 1", Postcode: "00100", City: "Helsinki"}}}
						t0 := time.Now()
						if _, err := sender.Send(context.Background(), m); err != nil {
							b.Error(err)
						}
						d := time.Since(t0)
						mu.Lock()
						durs = append(durs, d)
						mu.Unlock()
					}
				}()
			}
			for i := range b.N {
				next <- int64(i + 1)
			}
			close(next)
			wg.Wait()
			b.StopTimer()
			if accepted.count() != b.N || accepted.dups != 0 {
				b.Fatalf("%d of %d accepted, %d twice", accepted.count(), b.N, accepted.dups)
			}
			durs.report(b)
		})
	}
}
