package locker_test

import (
	"fmt"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/locker"
)

func ExampleAllocate() {
	comps := locker.Layout([]lokero.CompartmentClass{
		{Size: "S", LengthCM: 70, WidthCM: 40, HeightCM: 10, Count: 2},
		{Size: "M", LengthCM: 70, WidthCM: 40, HeightCM: 20, Count: 2},
		{Size: "L", LengthCM: 70, WidthCM: 40, HeightCM: 40, Count: 1},
	})
	comps[0].Occupied = true
	for _, parcel := range [][3]float64{{40, 70, 10}, {30, 25, 15}, {80, 10, 10}} {
		if c, ok := locker.Allocate(parcel, comps); ok {
			fmt.Printf("%v cm → compartment %d (%s)\n", parcel, c.Number, c.Size)
		} else {
			fmt.Printf("%v cm → no compartment\n", parcel)
		}
	}
	// Output:
	// [40 70 10] cm → compartment 2 (S)
	// [30 25 15] cm → compartment 3 (M)
	// [80 10 10] cm → no compartment
}

func ExampleCodePolicy_Wrong() {
	p := locker.DefaultPolicy()
	now := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	var k locker.Keypad
	for i := 1; i <= 5; i++ {
		var lock time.Duration
		k, lock = p.Wrong(k, now)
		fmt.Printf("wrong entry %d: lockout %v\n", i, lock)
	}
	wait, ok := p.Check(k, now.Add(20*time.Second))
	fmt.Println("20 s later:", wait, ok)
	// Output:
	// wrong entry 1: lockout 0s
	// wrong entry 2: lockout 0s
	// wrong entry 3: lockout 0s
	// wrong entry 4: lockout 0s
	// wrong entry 5: lockout 1m0s
	// 20 s later: 40s false
}
