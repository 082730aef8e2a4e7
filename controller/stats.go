package controller

import (
	"sync/atomic"

	"github.com/lokero/lokero/device"
)

// ControllerStats counts what a controller sent and what the centre
// answered, since Open: for `lokero sim` and for a locker's diagnostics.
type ControllerStats struct {
	// Sent is how many events were published, resends included (not
	// paho's own redelivery of an unacknowledged publish on reconnecting,
	// which can draw one more answer).
	Sent int64
	// Applied, Duplicates, Rejected and Gaps count the centre's answers
	// by result (device.ResultApplied, …). An event sent twice can be
	// answered twice: applied once, then duplicate.
	Applied, Duplicates, Rejected, Gaps int64
	// Commands and CommandsRefused count the centre's commands taken and
	// refused (malformed, or an open command too old).
	Commands, CommandsRefused int64
	// Deriving is how many sealed codes wait for their derivation, or are
	// in it, now (the board derives: docs/device-protocol.md).
	Deriving int64
}

// ackCounters are a controller's counts, updated without its lock.
type ackCounters struct {
	sent, applied, duplicates, rejected, gaps atomic.Int64
	commands, commandsRefused                 atomic.Int64
	deriving                                  atomic.Int64
}

// Stats returns the controller's counts of events sent and answers
// received.
func (c *Controller) Stats() ControllerStats {
	return ControllerStats{
		Sent:       c.counts.sent.Load(),
		Applied:    c.counts.applied.Load(),
		Duplicates: c.counts.duplicates.Load(),
		Rejected:   c.counts.rejected.Load(),
		Gaps:       c.counts.gaps.Load(),

		Commands:        c.counts.commands.Load(),
		CommandsRefused: c.counts.commandsRefused.Load(),
		Deriving:        c.counts.deriving.Load(),
	}
}

// countAck counts one answer from the centre by its result.
func (c *Controller) countAck(result string) {
	switch result {
	case device.ResultApplied:
		c.counts.applied.Add(1)
	case device.ResultDuplicate:
		c.counts.duplicates.Add(1)
	case device.ResultRejected:
		c.counts.rejected.Add(1)
	case device.ResultGap:
		c.counts.gaps.Add(1)
	}
}
