package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lokero/lokero/controller"
	"github.com/lokero/lokero/demo"
	"github.com/lokero/lokero/jobs"
	"github.com/lokero/lokero/mqtttest"
)

// instanceKills is how many times TestTwoInstancesOneDatabase kills an
// instance, the two in turn.
const instanceKills = 6

// TestTwoInstancesOneDatabase runs two `lokero serve` in child processes
// on one PostgreSQL database and one Mosquitto (each with the centre's
// credentials, sharing the lockers' events) and an SMTP server, under the
// kill test's load spread over both: bookings with Idempotency-Keys,
// couriers' deposits and doors closed, each request to either instance.
// A controller at the demo locker reports a letter every 25 ms over
// MQTT. The two are killed with SIGKILL in turn, instanceKills times, each
// restarted while the other serves. Then: every acknowledged booking is
// there once, every acknowledged deposit is ready in its compartment, no
// compartment holds two parcels (the kill test's checks); every letter
// the controller reported is counted once; every parcel made ready has
// one notice, recorded sent, which reached the SMTP server; and an e-mail
// reached it twice only when its delivery job was left running by a kill
// (each such job is counted when the test hands it to River's rescuer).
func TestTwoInstancesOneDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("kills instances under load")
	}
	t.Parallel()
	mqtttest.Find(t)
	ctx := context.Background()
	db, args := storeArgs(t, "postgres")
	k := setUpKillRig(t, db, "postgres")
	k.email = true

	mailServer := startSMTPSink(t)
	mosqDir := t.TempDir()
	centrePass := lastLine(t, "locker", "provision", "--mosquitto", mosqDir, "--centre")
	mosq := mqtttest.Start(t, mosqDir)
	device := lastLine(t, "locker", "provision", "--db", db, "--mosquitto", mosqDir, demo.DemoLockerID)
	mosq.Reload(t)
	args = append(args, "--mqtt", "tcp://lokero-centre:"+centrePass+"@"+mosq.CentreAddr, "--mqtt-listen", "off",
		"--smtp", "smtp://"+mailServer.addr)
	instances := make([]*childServe, 2)
	for i := range instances {
		instances[i] = &childServe{t: t, addr: freeAddr(t),
			args: append(slices.Clone(args), "--mail-from", fmt.Sprintf("Instance %d <noreply-%d@lokero.test>", i, i))}
		instances[i].start()
		t.Cleanup(instances[i].kill)
		k.bases = append(k.bases, "http://"+instances[i].addr)
	}
	for _, srv := range instances {
		if err := srv.waitHealthy(60 * time.Second); err != nil {
			t.Fatal(err)
		}
	}
	k.bookDepositParcels(t)

	// The controller's letters: one event each, exactly once at the centre
	// whichever instance takes it.
	c, err := controller.Open(controller.Config{LocationID: demo.DemoLockerID, Broker: "tcp://" + mosq.Addr, Token: device,
		StatePath: filepath.Join(t.TempDir(), "controller.db"), Driver: controller.NewSimDriver(60),
		Heartbeat: time.Second, ResendAfter: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	runCtx, cancel := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- c.Run(runCtx) }()
	defer func() {
		cancel()
		if err := <-ran; err != nil {
			t.Errorf("controller run: %v", err)
		}
	}()
	eventually(t, "the controller connected", c.Connected)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var letters atomic.Int64
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(25 * time.Millisecond):
			}
			if err := c.Letters(ctx, 1); err != nil {
				k.fail("letters: %v", err)
				return
			}
			letters.Add(1)
		}
	})
	k.startLoad(&wg, stop)
	started := time.Now()
	for kill := range instanceKills {
		srv := instances[kill%2]
		time.Sleep(loadMinimum + time.Duration(rand.Int64N(int64(loadMaximum-loadMinimum))))
		srv.kill()
		k.kills.Add(1)
		// The other instance serves alone for a while.
		time.Sleep(loadMinimum)
		srv.start()
		if err := srv.waitHealthy(60 * time.Second); err != nil {
			close(stop)
			wg.Wait()
			t.Fatalf("instance %d after kill %d: %v", kill%2, kill+1, err)
		}
	}
	endLoad(t, &wg, stop)
	load := time.Since(started)

	sqlDB, err := sql.Open("pgx", db)
	if err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Close()
	// A killed instance's running delivery jobs wait for River's rescuer,
	// which counts by the wall clock (rescueAfter, 2 minutes): their runs
	// are moved 3 minutes back instead of waiting.
	res, err := sqlDB.ExecContext(ctx, `UPDATE river_job SET attempted_at = attempted_at - interval '3 minutes'
		WHERE state = 'running' AND kind = $1`, jobs.KindDeliver)
	if err != nil {
		t.Fatal(err)
	}
	stuck, _ := res.RowsAffected()

	// Every letter once.
	operator := k.operator
	var view struct{ Letters map[string]int }
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		status, _, out, err := k.post("GET", "/v1/lockers/"+demo.DemoLockerID, operator, nil)
		if err == nil && status == 200 {
			json.Unmarshal(out, &view)
		}
		if c.Pending() == 0 && view.Letters["dropped"] == int(letters.Load()) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the centre counts %d letters, the controller reported %d (%d unanswered)",
				view.Letters["dropped"], letters.Load(), c.Pending())
		}
	}

	lost := k.verify(t, sqlDB)

	// Every parcel made ready: one notice, recorded sent, at the SMTP
	// server.
	ready := map[string]bool{}
	for _, p := range k.done {
		if p.closed {
			ready[p.tracking] = true
		}
	}
	var notices []e2eNotification
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		notices = e2eNotifications(t, k.bases[0], operator, "?state=sent&limit=1000")
		if len(notices) >= len(ready) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d notices recorded sent within 90 s: %+v", len(notices), len(ready), e2eNotifications(t, k.bases[0], operator, "?limit=1000"))
		}
	}
	time.Sleep(2 * time.Second) // a repeat would show by now
	arrivals := map[string]int{}
	for _, m := range mailServer.messages() {
		arrivals[messageID(m.data)]++
	}
	perParcel := map[string]int{}
	for _, n := range notices {
		perParcel[n.TrackingCode]++
		if arrivals[n.ProviderID] == 0 {
			t.Errorf("notice %d of %s recorded sent as %q, which never reached the SMTP server", n.ID, n.TrackingCode, n.ProviderID)
		}
	}
	for tracking := range ready {
		if perParcel[tracking] != 1 {
			t.Errorf("parcel %s was made ready; %d notices of it recorded sent, want 1", tracking, perParcel[tracking])
		}
	}
	repeats := 0
	for id, n := range arrivals {
		repeats += n - 1
		if n > 2 {
			t.Errorf("e-mail %s reached the SMTP server %d times", id, n)
		}
	}
	if int64(repeats) > stuck {
		t.Errorf("%d e-mails reached the SMTP server twice, but kills left only %d delivery jobs running", repeats, stuck)
	}
	if len(notices) == 0 || letters.Load() == 0 || len(k.acked) == 0 {
		t.Errorf("no load: %d notices, %d letters, %d bookings", len(notices), letters.Load(), len(k.acked))
	}
	t.Logf("two instances, %d SIGKILLs in %s: %d bookings acknowledged (%d answers lost and replayed), %d deposits, %d doors closed, %d letters over MQTT counted once, %d notices sent (%d e-mails repeated, %d delivery jobs left running by the kills); lost %d, duplicated %d, doubled %d",
		k.kills.Load(), load.Round(time.Millisecond), len(k.acked), k.retried.Load(), k.deposits.Load(), k.doors.Load(),
		letters.Load(), len(notices), repeats, stuck, lost.lost, lost.duplicated, lost.doubled)
}
