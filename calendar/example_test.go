package calendar_test

import (
	"fmt"
	"time"

	"github.com/lokero/lokero/calendar"
)

func ExampleCalendar_DeliveryDate() {
	c := calendar.Default() // cut-off 16:00 Helsinki time
	for _, handover := range []time.Time{
		time.Date(2026, 3, 2, 10, 0, 0, 0, calendar.Helsinki),   // Monday morning
		time.Date(2026, 3, 2, 16, 0, 0, 0, calendar.Helsinki),   // Monday at the cut-off
		time.Date(2026, 12, 23, 12, 0, 0, 0, calendar.Helsinki), // before Christmas
	} {
		d := c.DeliveryDate(handover)
		fmt.Println(handover.Format("Mon 2 Jan 15:04"), "→", d.Weekday().String()[:3], d)
	}
	// Output:
	// Mon 2 Mar 10:00 → Tue 2026-03-03
	// Mon 2 Mar 16:00 → Wed 2026-03-04
	// Wed 23 Dec 12:00 → Mon 2026-12-28
}

func ExampleCalendar_StorageDeadline() {
	c := calendar.Default()
	deposit := time.Date(2026, 3, 26, 10, 0, 0, 0, calendar.Helsinki)
	deadline := c.StorageDeadline(deposit, calendar.StorageDays)
	fmt.Println(deadline)
	fmt.Println(deadline.In(calendar.Helsinki))
	fmt.Println(c.ReminderAt(deadline, 2).In(calendar.Helsinki))
	// Output:
	// 2026-04-02 21:00:00 +0000 UTC
	// 2026-04-03 00:00:00 +0300 EEST
	// 2026-04-01 10:00:00 +0300 EEST
}

func ExampleCalendar_Holiday() {
	c := calendar.Default()
	name, ok := c.Holiday(time.Date(2026, 12, 6, 12, 0, 0, 0, calendar.Helsinki))
	fmt.Println(name, ok)
	// Output:
	// Itsenäisyyspäivä true
}
