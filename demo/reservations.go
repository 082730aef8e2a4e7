package demo

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/lokero/lokero"
)

// Reserve books a busy day for date: at every locker of locs each size
// class is booked 0–100 % (uniformly), and a tenth of the lockers are
// full in S, the class that runs out first. It is the load the checkout
// benchmarks search over; seed makes it repeatable. It returns how many
// compartments it reserved.
func Reserve(ctx context.Context, st lokero.ShipmentStore, locs []lokero.Location, date lokero.Date, seed uint64) (int, error) {
	rng := rand.New(rand.NewPCG(seed, seed))
	reserved := 0
	err := st.InTx(ctx, func(tx lokero.Tx) error {
		for _, l := range locs {
			for _, c := range l.Compartments {
				n := rng.IntN(c.Count + 1)
				if c.Size == "S" && rng.IntN(10) == 0 {
					n = c.Count
				}
				for range n {
					if _, err := tx.Reserve(ctx, l.ID, date, c.Size, c.Count); err != nil {
						return fmt.Errorf("reserve %s %s on %s: %w", l.ID, c.Size, date, err)
					}
					reserved++
				}
			}
		}
		return nil
	})
	return reserved, err
}
