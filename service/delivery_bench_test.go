package service_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/mail"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"

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
//	go test ./service -run '^$' -bench Delivery -benchtime 10000x
//
// Each round is a fresh SQLite store with lockers enough for b.N parcels
// (benchDeliveryPerLocker each), b.N parcels in transit written straight
// through the store (recipients with an e-mail address only: one message
// each), and a real jobs.Runner (River, as lokero serve runs it). The
// timed part: one courier deposits the parcels one after the other and the
// locker's device reports each door closed, as fast as SQLite takes them;
// the delivery jobs run meanwhile. Each e-mail's latency runs from the
// return of DoorClosed (its transaction, with the delivery job, committed)
// to its acceptance: for "smtp", the in-process go-smtp server's Data
// handler has read the message (keyed by its Message-ID); for "local"
// (the baseline: no sender, the message kept for the local outbox viewer)
// Lockers.Deliver has returned. notif/s is b.N over the time from the
// first door closed to the last acceptance; deposits/s is the offered
// load (deposit and door closed, per second).

// benchDeliveryPerLocker is how many parcels go to each locker of 60
// compartments (10 of each size class).
const benchDeliveryPerLocker = 30

// BenchmarkDelivery compares delivery over SMTP with the local baseline,
// both with the job runner lokero serve uses (jobs.New), and then over
// SMTP with River tuned as benchTunedRiver says (a client built here, the
// same worker calling Lockers.Deliver): what a change to jobs.New gives.
func BenchmarkDelivery(b *testing.B) {
	b.Run("smtp", func(b *testing.B) { benchDelivery(b, true, false, false) })
	b.Run("local", func(b *testing.B) { benchDelivery(b, false, false, false) })
	b.Run("smtp-tuned", func(b *testing.B) { benchDelivery(b, true, true, false) })
	b.Run("local-tuned", func(b *testing.B) { benchDelivery(b, false, true, false) })
	// The drain runs deposit every parcel first and start the jobs after:
	// notif/s is then the delivery's own capacity, from the start of the
	// jobs to the last acceptance (the latencies include the wait for
	// the deposits to end, and mean nothing).
	b.Run("smtp-drain", func(b *testing.B) { benchDelivery(b, true, false, true) })
	b.Run("smtp-tuned-drain", func(b *testing.B) { benchDelivery(b, true, true, true) })
}

// benchTunedRiver is the queue configuration the tuned runs use, against
// jobs.New's 4 workers, River's default FetchCooldown of 100 ms and a 1 s
// FetchPollInterval. On SQLite River is poll-only and InsertTx wakes no
// producer, so a job committed with the door waits for the next poll;
// and a producer fetches at most MaxWorkers minus its running jobs at
// most once per FetchCooldown, which caps it at 4 / 100 ms = 40 jobs/s.
var benchTunedRiver = struct {
	workers                int
	cooldown, pollInterval time.Duration
}{workers: 32, cooldown: 5 * time.Millisecond, pollInterval: 100 * time.Millisecond}

// tunedDeliverArgs are jobs' delivery arguments (kind and JSON alike).
type tunedDeliverArgs struct {
	MessageID int64 `json:"message_id" river:"unique"`
}

func (tunedDeliverArgs) Kind() string { return jobs.KindDeliver }

// tunedQueue is a River client on SQLite that works delivery jobs as
// jobs.Runner does, with benchTunedRiver's configuration. Reminders and
// expiries are inserted but never worked (the bench's clock stands still,
// so they never fall due).
type tunedQueue struct {
	client *river.Client[*sql.Tx]
	clock  lokero.Clock
}

func newTunedQueue(b *testing.B, db *sql.DB, clock lokero.Clock, h jobs.Handler) *tunedQueue {
	b.Helper()
	workers := river.NewWorkers()
	river.AddWorker(workers, river.WorkFunc(func(ctx context.Context, job *river.Job[tunedDeliverArgs]) error {
		return h.Deliver(ctx, job.Args.MessageID, job.Attempt)
	}))
	client, err := river.NewClient(riversqlite.New(db), &river.Config{
		FetchCooldown:       benchTunedRiver.cooldown,
		FetchPollInterval:   benchTunedRiver.pollInterval,
		Logger:              slog.New(slog.DiscardHandler),
		Queues:              map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: benchTunedRiver.workers}},
		Workers:             workers,
		SkipUnknownJobCheck: true,
		Test:                river.TestConfig{Time: benchClockTime{clock}},
	})
	if err != nil {
		b.Fatal(err)
	}
	return &tunedQueue{client: client, clock: clock}
}

// InsertTx inserts a job as jobs.Runner.InsertTx does (unique by its
// arguments while unfinished).
func (q *tunedQueue) InsertTx(ctx context.Context, tx *sql.Tx, j lokero.Job) error {
	var args river.JobArgs
	switch j.Kind {
	case jobs.KindDeliver:
		args = tunedDeliverArgs{MessageID: j.MessageID}
	case jobs.KindReminder, jobs.KindExpiry:
		args = otherJobArgs{kind: j.Kind, ShipmentID: j.ShipmentID}
	default:
		return fmt.Errorf("unknown job kind %q", j.Kind)
	}
	opts := &river.InsertOpts{MaxAttempts: jobs.DeliverMaxAttempts, UniqueOpts: river.UniqueOpts{ByArgs: true}}
	if j.At.After(q.clock.Now()) {
		opts.ScheduledAt = j.At
	}
	_, err := q.client.InsertTx(ctx, tx, args, opts)
	return err
}

// otherJobArgs are a reminder's or an expiry's arguments.
type otherJobArgs struct {
	kind       string
	ShipmentID string `json:"shipment_id"`
}

func (a otherJobArgs) Kind() string { return a.kind }

// benchClockTime is River's time from the bench's clock, as jobs gives it.
type benchClockTime struct{ clock lokero.Clock }

func (c benchClockTime) Now() time.Time { return c.clock.Now() }
func (c benchClockTime) NowOrNil() *time.Time {
	t := c.clock.Now()
	return &t
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
// delivery returns without error.
type timedHandler struct {
	*service.Lockers
	done func(key string, at time.Time)
}

func (h timedHandler) Deliver(ctx context.Context, id int64, attempt int) error {
	err := h.Lockers.Deliver(ctx, id, attempt)
	if err == nil && h.done != nil {
		h.done(strconv.FormatInt(id, 10), time.Now())
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

func benchDelivery(b *testing.B, overSMTP, tuned, drain bool) {
	ctx := context.Background()
	n := b.N
	locs := benchLockers("DLV", n/benchDeliveryPerLocker+1, 20, 20, 20)
	e := newBenchEnv(b, "delivery", slices.Clone(locs))
	courier, _, err := e.lockers.AddCredential(ctx, lokero.KindCourier, "Bench Kuski", "")
	if err != nil {
		b.Fatal(err)
	}

	// The parcels in transit, e-mail only.
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

	accepted := newAcceptLog(n)
	h := timedHandler{Lockers: e.lockers}
	var sender *email.Sender
	if overSMTP {
		addr := startBenchSMTP(b, accepted.accept)
		if sender, err = email.New("smtp://"+addr, "lokero <noreply@lokero.test>"); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { sender.Close() })
		e.lockers.SetSenders(map[string]notify.Sender{notify.ChannelEmail: sender})
	} else {
		h.done = accepted.accept
	}
	// jobs.New migrates River's tables; the tuned runs then use their own
	// client instead of starting this one.
	runner, err := jobs.New(ctx, e.st.SQL(), jobs.SQLite, e.clock, h, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	var startJobs func()
	if tuned {
		q := newTunedQueue(b, e.st.SQL(), e.clock, h)
		startJobs = func() {
			if err := q.client.Start(ctx); err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() {
				stop, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				q.client.Stop(stop)
			})
		}
		e.st.SetJobQueue(q)
	} else {
		startJobs = func() {
			if err := runner.Start(ctx); err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() {
				stop, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				runner.Stop(stop)
			})
		}
		e.st.SetJobQueue(runner)
	}
	if !drain {
		startJobs()
	}

	closedAt := make(map[string]time.Time, n) // by tracking code
	b.ResetTimer()
	start := time.Now()
	for _, p := range parcels {
		dep, err := e.lockers.Deposit(ctx, courier, p.dest, p.code)
		if err != nil {
			b.Fatalf("deposit %s at %s: %v", p.code, p.dest, err)
		}
		device := lokero.Credential{ID: "cred_bench_" + p.dest, Kind: lokero.KindDevice, Name: p.dest, LocationID: p.dest}
		if _, err := e.lockers.DoorClosed(ctx, device, p.dest, dep.Compartment.Number); err != nil {
			b.Fatalf("door closed %s: %v", p.code, err)
		}
		closedAt[p.code] = time.Now()
	}
	offered := time.Since(start)
	if drain {
		start = time.Now()
		startJobs()
	}

	// Which message is whose: the outbox ids of the e-mails by tracking code.
	rows, err := e.st.SQL().QueryContext(ctx, `SELECT id, tracking_code FROM outbox WHERE channel = 'email'`)
	if err != nil {
		b.Fatal(err)
	}
	codeOf := make(map[int64]string, n)
	for rows.Next() {
		var id int64
		var code string
		if err := rows.Scan(&id, &code); err != nil {
			b.Fatal(err)
		}
		codeOf[id] = code
	}
	if err := rows.Close(); err != nil {
		b.Fatal(err)
	}
	if len(codeOf) != n {
		b.Fatalf("%d e-mails queued for %d parcels", len(codeOf), n)
	}

	wait := 2*time.Minute + time.Duration(n)*100*time.Millisecond
	select {
	case <-accepted.all:
	case <-time.After(wait):
		b.Fatalf("%d of %d e-mails accepted within %s", accepted.count(), n, wait)
	}
	b.StopTimer()
	accepted.mu.Lock()
	defer accepted.mu.Unlock()
	if accepted.dups != 0 {
		b.Errorf("%d e-mails accepted twice", accepted.dups)
	}
	durs := make(timings, 0, n)
	var last time.Time
	for id, code := range codeOf {
		key := strconv.FormatInt(id, 10)
		if sender != nil {
			key = sender.MessageID(id)
		}
		at, ok := accepted.at[key]
		closed, closedOK := closedAt[code]
		if !ok || !closedOK {
			b.Fatalf("message %d (%s): accepted %v, door closed %v", id, code, ok, closedOK)
		}
		durs = append(durs, at.Sub(closed))
		if at.After(last) {
			last = at
		}
	}
	durs.report(b)
	slices.Sort(durs)
	b.ReportMetric(float64(durs[len(durs)-1])/1e6, "max-ms")
	b.ReportMetric(float64(n)/last.Sub(start).Seconds(), "notif/s")
	b.ReportMetric(float64(n)/offered.Seconds(), "deposits/s")
}
