package storetest

// What the stores agree on about the delivery of the outbox
// (lokero.NotificationStore):
//
//   - AddOutbox queues a message in state queued with no attempts, error,
//     provider id, report or times beyond CreatedAt, and schedules its
//     delivery job (lokero.JobDeliver with the message's ID) through the
//     store's job queue in the same transaction.
//   - RecordDelivery moves a message out of queued once: whoever records
//     second, in turn or at the same time, gets ECONFLICT "not_queued" and
//     changes nothing.
//   - RecordReport keeps the latest report; a failed report fails a
//     queued or sent message with the report as its reason.
//   - Notifications lists newest first (by ID), filtered by state,
//     channel and shipment, at most Limit (100 when none is given).
//   - The store's EventHook (SetEventHook) is called in the transaction of
//     every InsertShipment and UpdateShipment that stored new events, after
//     they were written, with the index of the first new one; what it
//     writes with its Tx commits with the shipment; its error fails the
//     write and the transaction rolls back whole.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/sqlstore"
)

var notificationTests = []struct {
	name string
	fn   func(t *testing.T, s Store)
}{
	{"NotificationQueuedWithItsJob", testNotificationQueuedWithItsJob},
	{"NotificationRecordDelivery", testNotificationRecordDelivery},
	{"NotificationRecordDeliveryOnce", testNotificationRecordDeliveryOnce},
	{"NotificationRecordAttempt", testNotificationRecordAttempt},
	{"NotificationRecordReport", testNotificationRecordReport},
	{"NotificationList", testNotificationList},
	{"NotificationListByShipment", testNotificationListByShipment},
	{"EventHook", testEventHook},
	{"EventHookError", testEventHookError},
}

// jobQueue records the jobs a store schedules, by the transaction they
// were inserted in.
type jobQueue struct {
	mu       sync.Mutex
	inserted map[*sql.Tx][]lokero.Job
}

// InsertTx implements sqlstore.JobQueue.
func (q *jobQueue) InsertTx(ctx context.Context, tx *sql.Tx, j lokero.Job) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.inserted == nil {
		q.inserted = map[*sql.Tx][]lokero.Job{}
	}
	q.inserted[tx] = append(q.inserted[tx], j)
	return nil
}

// jobs returns every job inserted so far.
func (q *jobQueue) jobs() []lokero.Job {
	q.mu.Lock()
	defer q.mu.Unlock()
	var all []lokero.Job
	for _, js := range q.inserted {
		all = append(all, js...)
	}
	return all
}

// queueMessages adds messages in one transaction and returns them as
// stored, oldest first.
func queueMessages(t *testing.T, s Store, msgs ...lokero.OutboxMessage) []lokero.OutboxMessage {
	t.Helper()
	ctx := t.Context()
	before, err := s.Outbox(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	mustInTx(t, s, func(tx lokero.Tx) error {
		for _, m := range msgs {
			if err := tx.AddOutbox(ctx, m); err != nil {
				return err
			}
		}
		return nil
	})
	list, err := s.Outbox(ctx, len(msgs))
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != len(msgs) || len(before) > 0 && list[len(list)-1].ID <= before[0].ID {
		t.Fatalf("Outbox after queueing %d messages: %+v", len(msgs), list)
	}
	for i, j := 0, len(list)-1; i < j; i, j = i+1, j-1 {
		list[i], list[j] = list[j], list[i]
	}
	return list
}

// message is the i-th of a set of test messages.
func message(i int) lokero.OutboxMessage {
	return lokero.OutboxMessage{
		Channel:      []string{"sms", "email"}[i%2],
		To:           fmt.Sprintf("+35840100%04d", i),
		TrackingCode: fmt.Sprintf("JJFI%010d", i),
		Kind:         "arrival",
		Text:         "Avauskoodi: " + lokero.CodePlaceholder,
		CreatedAt:    t0.Add(time.Duration(i) * time.Second),
		ShipmentID:   fmt.Sprintf("shp_%d", i),
		Code:         &lokero.CodeRef{LocationID: "LOCKER-1", Version: i},
	}
}

// mustMessage reads a message back.
func mustMessage(t *testing.T, s Store, id int64) lokero.OutboxMessage {
	t.Helper()
	m, err := s.OutboxMessage(t.Context(), id)
	if err != nil {
		t.Fatalf("OutboxMessage(%d): %v", id, err)
	}
	return m
}

// wantCode fails t unless err is a *lokero.Error of the code (and the
// reason, when not "").
func wantCode(t *testing.T, what string, err error, code, reason string) {
	t.Helper()
	var e *lokero.Error
	if !errors.As(err, &e) || e.Code != code || reason != "" && e.Reason != reason {
		t.Errorf("%s = %v (%T); want %s %s", what, err, err, code, reason)
	}
}

func testNotificationQueuedWithItsJob(t *testing.T, s Store) {
	ctx := t.Context()
	setter, ok := s.(interface{ SetJobQueue(sqlstore.JobQueue) })
	if !ok {
		t.Fatalf("the store (%T) takes no job queue (SetJobQueue)", s)
	}
	q := &jobQueue{}
	setter.SetJobQueue(q)
	msgs := queueMessages(t, s, message(1), message(2))
	want := message(1)
	want.ID, want.State = msgs[0].ID, lokero.DeliveryQueued
	if got := mustMessage(t, s, msgs[0].ID); !reflect.DeepEqual(got, want) {
		t.Errorf("OutboxMessage:\n got %+v\nwant %+v", got, want)
	}
	if got := mustMessage(t, s, msgs[0].ID); got.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt %v not in UTC", got.CreatedAt)
	}
	jobs := q.jobs()
	if len(jobs) != 2 {
		t.Fatalf("jobs scheduled for 2 messages: %+v", jobs)
	}
	for i, j := range jobs {
		if j.Kind != lokero.JobDeliver || j.MessageID != msgs[i].ID || j.ShipmentID != "" {
			t.Errorf("job %d: %+v; want %s of message %d", i, j, lokero.JobDeliver, msgs[i].ID)
		}
	}
	_, err := s.OutboxMessage(ctx, msgs[1].ID+1000)
	wantCode(t, "OutboxMessage(unknown)", err, lokero.ENOTFOUND, "")
}

func testNotificationRecordDelivery(t *testing.T, s Store) {
	ctx := t.Context()
	msgs := queueMessages(t, s, message(1), message(2), message(3))
	at := t0.Add(time.Hour).In(helsinki)
	for _, tt := range []struct {
		m                     lokero.OutboxMessage
		state, provider, fail string
	}{
		{msgs[0], lokero.DeliverySent, "<1.lokero@example.fi>", ""},
		{msgs[1], lokero.DeliveryFailed, "", "550 no such user"},
		{msgs[2], lokero.DeliveryLocal, "", ""},
	} {
		if err := s.RecordDelivery(ctx, tt.m.ID, tt.state, tt.provider, tt.fail, at); err != nil {
			t.Fatalf("RecordDelivery(%d, %s): %v", tt.m.ID, tt.state, err)
		}
		want := tt.m
		want.State, want.ProviderID, want.LastError, want.UpdatedAt = tt.state, tt.provider, tt.fail, at.UTC()
		if tt.state != lokero.DeliveryLocal {
			want.Attempts = 1
		}
		if tt.state != lokero.DeliveryFailed {
			want.SentAt = at.UTC()
		}
		got := mustMessage(t, s, tt.m.ID)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("after RecordDelivery %s:\n got %+v\nwant %+v", tt.state, got, want)
		}
		if got.UpdatedAt.Location() != time.UTC || !got.SentAt.IsZero() && got.SentAt.Location() != time.UTC {
			t.Errorf("times not in UTC: %+v", got)
		}
		// A second record changes nothing, whatever it says.
		err := s.RecordDelivery(ctx, tt.m.ID, lokero.DeliverySent, "other", "", at.Add(time.Hour))
		wantCode(t, "a second RecordDelivery", err, lokero.ECONFLICT, "not_queued")
		if again := mustMessage(t, s, tt.m.ID); !reflect.DeepEqual(again, got) {
			t.Errorf("a second RecordDelivery changed the message:\n got %+v\nwant %+v", again, got)
		}
	}
	err := s.RecordDelivery(ctx, msgs[2].ID+1000, lokero.DeliverySent, "", "", at)
	wantCode(t, "RecordDelivery(unknown)", err, lokero.ENOTFOUND, "")
	more := queueMessages(t, s, message(4))
	for _, state := range []string{lokero.DeliveryQueued, "delivered", ""} {
		err := s.RecordDelivery(ctx, more[0].ID, state, "", "", at)
		wantCode(t, "RecordDelivery to "+state, err, lokero.EINVALID, "")
	}
	if got := mustMessage(t, s, more[0].ID); got.State != lokero.DeliveryQueued {
		t.Errorf("a refused RecordDelivery left the message %s", got.State)
	}
}

// testNotificationRecordDeliveryOnce records one message from several
// goroutines at once: exactly one succeeds, and its record stands.
func testNotificationRecordDeliveryOnce(t *testing.T, s Store) {
	ctx := t.Context()
	msgs := queueMessages(t, s, message(1))
	const workers = 8
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := range workers {
		wg.Go(func() {
			errs[w] = s.RecordDelivery(ctx, msgs[0].ID, lokero.DeliverySent, fmt.Sprintf("worker-%d", w), "", t0)
		})
	}
	wg.Wait()
	won := -1
	for w, err := range errs {
		switch {
		case err == nil && won >= 0:
			t.Errorf("workers %d and %d both recorded the message", won, w)
		case err == nil:
			won = w
		default:
			wantCode(t, fmt.Sprintf("worker %d", w), err, lokero.ECONFLICT, "not_queued")
		}
	}
	if won < 0 {
		t.Fatal("no worker recorded the message")
	}
	if got := mustMessage(t, s, msgs[0].ID); got.ProviderID != fmt.Sprintf("worker-%d", won) || got.Attempts != 1 {
		t.Errorf("message after the race: %+v; want worker-%d's record, 1 attempt", got, won)
	}
}

func testNotificationRecordAttempt(t *testing.T, s Store) {
	ctx := t.Context()
	msgs := queueMessages(t, s, message(1))
	id := msgs[0].ID
	for attempt := 1; attempt <= 3; attempt++ {
		if err := s.RecordAttempt(ctx, id, attempt, fmt.Sprintf("421 try again (%d)", attempt)); err != nil {
			t.Fatalf("RecordAttempt %d: %v", attempt, err)
		}
	}
	got := mustMessage(t, s, id)
	if got.State != lokero.DeliveryQueued || got.Attempts != 3 || got.LastError != "421 try again (3)" ||
		got.UpdatedAt.IsZero() || got.UpdatedAt.Location() != time.UTC || !got.SentAt.IsZero() {
		t.Errorf("after 3 attempts: %+v", got)
	}
	// Sent on the fourth: attempts go on from there.
	if err := s.RecordDelivery(ctx, id, lokero.DeliverySent, "p-1", "", t0); err != nil {
		t.Fatal(err)
	}
	if got := mustMessage(t, s, id); got.Attempts != 4 || got.LastError != "" || got.State != lokero.DeliverySent {
		t.Errorf("sent after 3 failed attempts: %+v; want 4 attempts, no error", got)
	}
	// An attempt recorded late, for a message no longer queued, changes
	// nothing.
	if err := s.RecordAttempt(ctx, id, 9, "late"); err != nil {
		t.Errorf("RecordAttempt of a sent message: %v", err)
	}
	if got := mustMessage(t, s, id); got.Attempts != 4 || got.LastError != "" {
		t.Errorf("a late attempt changed the sent message: %+v", got)
	}
	wantCode(t, "RecordAttempt(unknown)", s.RecordAttempt(ctx, id+1000, 1, "x"), lokero.ENOTFOUND, "")
}

func testNotificationRecordReport(t *testing.T, s Store) {
	ctx := t.Context()
	msgs := queueMessages(t, s, message(1), message(2), message(3), message(4))
	sent, queued, local, failed := msgs[0].ID, msgs[1].ID, msgs[2].ID, msgs[3].ID
	for id, state := range map[int64]string{sent: lokero.DeliverySent, local: lokero.DeliveryLocal, failed: lokero.DeliveryFailed} {
		if err := s.RecordDelivery(ctx, id, state, "", map[bool]string{true: "refused"}[state == lokero.DeliveryFailed], t0); err != nil {
			t.Fatal(err)
		}
	}
	at := t0.Add(time.Minute)
	// A report that is no failure changes the report alone.
	if err := s.RecordReport(ctx, sent, "dlr 8: ACK/", false, at); err != nil {
		t.Fatal(err)
	}
	if got := mustMessage(t, s, sent); got.State != lokero.DeliverySent || got.Report != "dlr 8: ACK/" || !got.UpdatedAt.Equal(at) || got.LastError != "" {
		t.Errorf("after a report: %+v", got)
	}
	if err := s.RecordReport(ctx, sent, "dlr 1: stat:DELIVRD", false, at.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := mustMessage(t, s, sent); got.Report != "dlr 1: stat:DELIVRD" {
		t.Errorf("the latest report is not kept: %q", got.Report)
	}
	// A failure fails a sent or queued message with the report as the
	// reason; a failed one keeps its first reason, a local one stays
	// local.
	for _, tt := range []struct {
		id              int64
		state, lastErr  string
		sentAtUnchanged bool
	}{
		{sent, lokero.DeliveryFailed, "dlr 16: rejected", true},
		{queued, lokero.DeliveryFailed, "dlr 16: rejected", true},
		{failed, lokero.DeliveryFailed, "refused", true},
		{local, lokero.DeliveryLocal, "", true},
	} {
		before := mustMessage(t, s, tt.id)
		if err := s.RecordReport(ctx, tt.id, "dlr 16: rejected", true, at.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		got := mustMessage(t, s, tt.id)
		if got.State != tt.state || got.LastError != tt.lastErr || got.Report != "dlr 16: rejected" ||
			!got.SentAt.Equal(before.SentAt) || got.Attempts != before.Attempts {
			t.Errorf("message %s then a failed report: %+v; want %s with error %q", before.State, got, tt.state, tt.lastErr)
		}
	}
	// Once failed by a report, the job's record of it comes too late.
	err := s.RecordDelivery(ctx, queued, lokero.DeliverySent, "late", "", at)
	wantCode(t, "RecordDelivery after a failed report", err, lokero.ECONFLICT, "not_queued")
	wantCode(t, "RecordReport(unknown)", s.RecordReport(ctx, failed+1000, "x", false, at), lokero.ENOTFOUND, "")
}

func testNotificationList(t *testing.T, s Store) {
	ctx := t.Context()
	var batch []lokero.OutboxMessage
	for i := range 12 {
		batch = append(batch, message(i))
	}
	msgs := queueMessages(t, s, batch...)
	// 0-3 sent, 4-5 failed, 6 local, 7-11 queued; channels alternate sms,
	// email.
	for i, m := range msgs[:7] {
		state := lokero.DeliverySent
		if i >= 4 {
			state = lokero.DeliveryFailed
		}
		if i == 6 {
			state = lokero.DeliveryLocal
		}
		if err := s.RecordDelivery(ctx, m.ID, state, "", "", t0); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(list []lokero.OutboxMessage) []int {
		out := make([]int, len(list))
		for i, m := range list {
			out[i] = int(m.ID - msgs[0].ID)
		}
		return out
	}
	for _, tt := range []struct {
		f    lokero.NotificationFilter
		want []int
	}{
		{lokero.NotificationFilter{}, []int{11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0}},
		{lokero.NotificationFilter{Limit: 3}, []int{11, 10, 9}},
		{lokero.NotificationFilter{State: lokero.DeliverySent}, []int{3, 2, 1, 0}},
		{lokero.NotificationFilter{State: lokero.DeliveryFailed}, []int{5, 4}},
		{lokero.NotificationFilter{State: lokero.DeliveryLocal}, []int{6}},
		{lokero.NotificationFilter{State: lokero.DeliveryQueued, Limit: 2}, []int{11, 10}},
		{lokero.NotificationFilter{Channel: "email"}, []int{11, 9, 7, 5, 3, 1}},
		{lokero.NotificationFilter{State: lokero.DeliverySent, Channel: "sms"}, []int{2, 0}},
		{lokero.NotificationFilter{State: lokero.DeliveryFailed, Channel: "push"}, []int{}},
	} {
		list, err := s.Notifications(ctx, tt.f)
		if err != nil {
			t.Fatalf("Notifications(%+v): %v", tt.f, err)
		}
		if got := ids(list); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Notifications(%+v) = %v; want %v", tt.f, got, tt.want)
		}
	}
	list, err := s.Notifications(ctx, lokero.NotificationFilter{State: lokero.DeliveryFailed})
	if err != nil || len(list) == 0 {
		t.Fatal(list, err)
	}
	want := msgs[5]
	want.State, want.Attempts, want.UpdatedAt = lokero.DeliveryFailed, 1, t0
	if !reflect.DeepEqual(list[0], want) {
		t.Errorf("a listed message:\n got %+v\nwant %+v", list[0], want)
	}
	// The default limit is 100.
	var many []lokero.OutboxMessage
	for i := range 101 {
		many = append(many, message(100+i))
	}
	queueMessages(t, s, many...)
	if list, err := s.Notifications(ctx, lokero.NotificationFilter{State: lokero.DeliveryQueued}); err != nil || len(list) != 100 {
		t.Errorf("Notifications of 106 queued messages: %d, %v; want the newest 100", len(list), err)
	}
}

func testNotificationListByShipment(t *testing.T, s Store) {
	ctx := t.Context()
	var batch []lokero.OutboxMessage
	for i := range 8 {
		m := message(i)
		m.ShipmentID = []string{"shp_a", "shp_b"}[min(i%3, 1)] // 0, 3, 6: shp_a
		batch = append(batch, m)
	}
	batch[7].ShipmentID = "" // a message of no shipment
	msgs := queueMessages(t, s, batch...)
	if err := s.RecordDelivery(ctx, msgs[3].ID, lokero.DeliverySent, "", "", t0); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		f    lokero.NotificationFilter
		want []int
	}{
		{lokero.NotificationFilter{ShipmentID: "shp_a"}, []int{6, 3, 0}},
		{lokero.NotificationFilter{ShipmentID: "shp_b"}, []int{5, 4, 2, 1}},
		{lokero.NotificationFilter{ShipmentID: "shp_a", Limit: 2}, []int{6, 3}},
		{lokero.NotificationFilter{ShipmentID: "shp_a", State: lokero.DeliveryQueued}, []int{6, 0}},
		{lokero.NotificationFilter{ShipmentID: "shp_a", State: lokero.DeliverySent}, []int{3}},
		{lokero.NotificationFilter{ShipmentID: "shp_b", Channel: "email"}, []int{5, 1}},
		{lokero.NotificationFilter{ShipmentID: "shp_none"}, []int{}},
		{lokero.NotificationFilter{}, []int{7, 6, 5, 4, 3, 2, 1, 0}},
	} {
		list, err := s.Notifications(ctx, tt.f)
		if err != nil {
			t.Fatalf("Notifications(%+v): %v", tt.f, err)
		}
		got := []int{}
		for _, m := range list {
			got = append(got, int(m.ID-msgs[0].ID))
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Notifications(%+v) = %v; want %v", tt.f, got, tt.want)
		}
	}
}

// hookCall is one call of an EventHook, as a test hook records it.
type hookCall struct {
	ShipmentID string
	First      int
	Events     int                   // len(s.Events)
	New        lokero.ShipmentStatus // s.Events[first].Status
}

// setEventHook sets the store's EventHook, or fails t.
func setEventHook(t *testing.T, s Store, h lokero.EventHook) {
	t.Helper()
	setter, ok := s.(interface{ SetEventHook(lokero.EventHook) })
	if !ok {
		t.Fatalf("the store (%T) takes no event hook (SetEventHook)", s)
	}
	setter.SetEventHook(h)
}

// recordingHook returns an EventHook that records its calls and queues
// an outbox message with its Tx for each.
func recordingHook(calls *[]hookCall) lokero.EventHook {
	return func(ctx context.Context, tx lokero.Tx, s *lokero.Shipment, first int) error {
		c := hookCall{ShipmentID: s.ID, First: first, Events: len(s.Events)}
		if first >= 0 && first < len(s.Events) {
			c.New = s.Events[first].Status
		}
		*calls = append(*calls, c)
		return tx.AddOutbox(ctx, lokero.OutboxMessage{Channel: "sms", To: "+358401234567",
			TrackingCode: s.TrackingCode, Kind: "event", Text: string(c.New), ShipmentID: s.ID})
	}
}

// updateEvents reads a shipment in a transaction, lets change change it,
// and writes it back.
func updateEvents(t *testing.T, s Store, id string, change func(sh *lokero.Shipment)) error {
	t.Helper()
	ctx := t.Context()
	return s.InTx(ctx, func(tx lokero.Tx) error {
		sh, err := tx.Shipment(ctx, id)
		if err != nil {
			return err
		}
		change(&sh)
		return tx.UpdateShipment(ctx, &sh)
	})
}

func testEventHook(t *testing.T, s Store) {
	ctx := t.Context()
	var calls []hookCall
	setEventHook(t, s, recordingHook(&calls))
	mustRetailer(t, s, "r")
	mustInsert(t, s, shipment("r", "s1"), fullShipment("r", "s2"))
	want := []hookCall{
		{"s1", 0, 1, lokero.StatusCreated},
		{"s2", 0, 5, lokero.StatusCreated},
	}
	if !reflect.DeepEqual(calls, want) {
		t.Fatalf("hook calls on insert:\n got %+v\nwant %+v", calls, want)
	}
	// Two events appended: the first new one is the second of three.
	calls = nil
	if err := updateEvents(t, s, "s1", func(sh *lokero.Shipment) {
		sh.Status = lokero.StatusInTransit
		sh.Events = append(sh.Events,
			lokero.ShipmentEvent{Status: lokero.StatusInTransit, At: t0.Add(time.Hour)},
			lokero.ShipmentEvent{Status: lokero.StatusInLocker, At: t0.Add(2 * time.Hour)})
	}); err != nil {
		t.Fatal(err)
	}
	if want := []hookCall{{"s1", 1, 3, lokero.StatusInTransit}}; !reflect.DeepEqual(calls, want) {
		t.Errorf("hook calls on update:\n got %+v\nwant %+v", calls, want)
	}
	// No event appended: no call.
	calls = nil
	if err := updateEvents(t, s, "s1", func(sh *lokero.Shipment) { sh.SizeClass = "L" }); err != nil {
		t.Fatal(err)
	}
	if len(calls) != 0 {
		t.Errorf("hook called on an update that appended no event: %+v", calls)
	}
	// No event at all on insert: no call.
	bare := shipment("r", "s3")
	bare.Events = nil
	mustInsert(t, s, bare)
	if len(calls) != 0 {
		t.Errorf("hook called on an insert of no event: %+v", calls)
	}
	// What the hook wrote with its Tx committed with the shipments.
	list, err := s.Notifications(ctx, lokero.NotificationFilter{ShipmentID: "s1"})
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, m := range list {
		texts = append(texts, m.Text)
	}
	if want := []string{string(lokero.StatusInTransit), string(lokero.StatusCreated)}; !reflect.DeepEqual(texts, want) {
		t.Errorf("messages the hook queued for s1: %v; want %v", texts, want)
	}
	if got := mustShipment(t, s, "s1"); got.SizeClass != "L" || len(got.Events) != 3 {
		t.Errorf("s1 after the updates: %s", dump(got))
	}
}

func testEventHookError(t *testing.T, s Store) {
	ctx := t.Context()
	errHook := errors.New("webhook fan-out failed")
	var calls []hookCall
	record := recordingHook(&calls)
	failOn := ""
	setEventHook(t, s, func(ctx context.Context, tx lokero.Tx, sh *lokero.Shipment, first int) error {
		if err := record(ctx, tx, sh, first); err != nil { // writes, then fails
			return err
		}
		if sh.ID == failOn {
			return fmt.Errorf("hook: %w", errHook)
		}
		return nil
	})
	mustRetailer(t, s, "r")

	// On insert: the shipment and what the hook wrote are rolled back.
	failOn = "s1"
	err := s.InTx(ctx, func(tx lokero.Tx) error {
		sh := shipment("r", "s1")
		return tx.InsertShipment(ctx, &sh, "key-1", []byte{1})
	})
	if !errors.Is(err, errHook) {
		t.Fatalf("InsertShipment with a failing hook: %v; want the hook's error", err)
	}
	var e *lokero.Error
	if errors.As(err, &e) {
		t.Errorf("a hook's error taken for a store error: %v", e)
	}
	_, err = s.Shipment(ctx, "s1")
	checkError(t, err, lokero.ENOTFOUND, "")
	if list, err := s.Notifications(ctx, lokero.NotificationFilter{}); err != nil || len(list) != 0 {
		t.Errorf("messages after a failed hook: %+v, %v; want none", list, err)
	}
	// Nothing is left: the same shipment and key insert now.
	failOn = ""
	mustInTx(t, s, func(tx lokero.Tx) error {
		sh := shipment("r", "s1")
		return tx.InsertShipment(ctx, &sh, "key-1", []byte{1})
	})

	// On update: the update is rolled back too.
	failOn = "s1"
	err = updateEvents(t, s, "s1", func(sh *lokero.Shipment) {
		sh.Status = lokero.StatusInTransit
		sh.Events = append(sh.Events, lokero.ShipmentEvent{Status: lokero.StatusInTransit, At: t0.Add(time.Hour)})
	})
	if !errors.Is(err, errHook) {
		t.Fatalf("UpdateShipment with a failing hook: %v; want the hook's error", err)
	}
	checkShipment(t, mustShipment(t, s, "s1"), shipment("r", "s1"), true)
	if list, err := s.Notifications(ctx, lokero.NotificationFilter{ShipmentID: "s1"}); err != nil || len(list) != 1 {
		t.Errorf("messages after a failed hook on update: %+v, %v; want the insert's one", list, err)
	}
	if len(calls) != 3 || calls[2].First != 1 {
		t.Errorf("hook calls: %+v; want 3, the last from event 1", calls)
	}
}
