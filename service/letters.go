package service

import (
	"context"

	"github.com/lokero/lokero"
)

// Letter events a device reports.
const (
	LetterDropped = "letter_dropped" // cards or letters went through the mail slot
	SlotEmptied   = "slot_emptied"   // the courier emptied the slot
)

// Letters records a mail slot event of a locker's device: count letters
// dropped (at least 1), or the slot emptied by the courier. It returns the
// slot's counts.
func (l *Lockers) Letters(ctx context.Context, device lokero.Credential, locationID, event string, count int) (lokero.LetterSlot, error) {
	loc, err := l.deviceLocker(device, locationID)
	if err != nil {
		return lokero.LetterSlot{}, err
	}
	if event == LetterDropped && count == 0 {
		count = 1
	}
	if event == LetterDropped && (count < 1 || count > 1000) {
		return lokero.LetterSlot{}, lokero.Invalid("count", "out_of_range", "count must be 1..1000 letters; got %d", count)
	}
	var slot lokero.LetterSlot
	err = l.deviceTx(ctx, func(tx lokero.Tx) error {
		var err error
		if slot, err = tx.LetterSlot(ctx, loc.ID); err != nil {
			return err
		}
		switch event {
		case LetterDropped:
			slot.InSlot += count
			slot.Dropped += count
		case SlotEmptied:
			slot.Emptied += slot.InSlot
			slot.InSlot = 0
		default:
			return lokero.Invalid("type", "unknown_event", "type must be door_closed, letter_dropped or slot_emptied; got %q", event)
		}
		return tx.SaveLetterSlot(ctx, slot)
	})
	return slot, err
}
