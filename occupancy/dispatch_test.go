package occupancy_test

import (
	"math"
	"slices"
	"testing"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/occupancy"
)

// date is a day of December 2026 (the 4th a Friday, the 7th a Monday).
func date(day int) lokero.Date { return lokero.Date{Year: 2026, Month: 12, Day: day} }

func TestEvening(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name            string
		today, on, want lokero.Date
	}{
		{"Thursday's check of Friday", date(3), date(4), date(4)},
		{"Friday's check of Monday: from Saturday", date(4), date(7), date(5)},
		{"after midnight, on the day itself", date(4), date(4), date(4)},
	}
	for _, tt := range tests {
		if got := occupancy.Evening(tt.today, tt.on); got != tt.want {
			t.Errorf("%s: Evening(%s, %s) = %s; want %s", tt.name, tt.today, tt.on, got, tt.want)
		}
	}
}

// TestOver: the evening counts the parcels in the compartments and the
// undelivered bookings of earlier days as there the next morning — the
// truth of the evening, whatever the dwell or the margin — and the
// dwell only for the days after it.
func TestOver(t *testing.T) {
	t.Parallel()
	prior := occupancy.Prior()
	// Parcels that arrived on Wednesday 2 Dec and on Thursday 3 Dec,
	// still there on Thursday evening.
	waiting := map[lokero.Date]int{date(2): 3, date(3): 4}
	tests := []struct {
		name              string
		total, outOfOrder int
		c                 occupancy.Class
		today, on         lokero.Date
		z                 float64
		want              int
	}{
		{"nothing booked", 10, 0, occupancy.Class{Waiting: waiting}, date(3), date(4), 0, 0},
		{"room for all", 10, 0, occupancy.Class{Waiting: waiting, Reserved: map[lokero.Date]int{date(4): 3}}, date(3), date(4), 0, 0},
		{"seven there, four booked, ten compartments: one over", 10, 0,
			occupancy.Class{Waiting: waiting, Reserved: map[lokero.Date]int{date(4): 4}}, date(3), date(4), 0, 1},
		{"the margin changes nothing for the next day", 10, 0,
			occupancy.Class{Waiting: waiting, Reserved: map[lokero.Date]int{date(4): 4}}, date(3), date(4), 2, 1},
		{"one out of order", 10, 1,
			occupancy.Class{Waiting: waiting, Reserved: map[lokero.Date]int{date(4): 4}}, date(3), date(4), 0, 2},
		{"waiting for a courier counts too", 10, 0,
			occupancy.Class{Waiting: waiting, ForCourier: 2, Reserved: map[lokero.Date]int{date(4): 4}}, date(3), date(4), 0, 3},
		{"today's booking not yet delivered arrives tomorrow", 10, 0,
			occupancy.Class{Waiting: waiting, Reserved: map[lokero.Date]int{date(3): 2, date(4): 3}}, date(3), date(4), 0, 2},
		{"more carried than compartments: every booking over", 5, 0,
			occupancy.Class{Waiting: waiting, Reserved: map[lokero.Date]int{date(4): 4}}, date(3), date(4), 0, 4},
		{"Friday's check of Monday: the weekend's pickups by the dwell", 10, 0,
			occupancy.Class{Waiting: map[lokero.Date]int{date(4): 10}, Reserved: map[lokero.Date]int{date(7): 10}}, date(4), date(7), 0,
			int(math.Round(10 * prior.Stay(1, 3)))},
	}
	for _, tt := range tests {
		if got := prior.Over(tt.total, tt.outOfOrder, tt.c, tt.today, tt.on, tt.z); got != tt.want {
			t.Errorf("%s: Over = %d; want %d", tt.name, got, tt.want)
		}
	}
	// The booking's count on Thursday morning for Friday counts the chance
	// of pickups during Thursday; the evening's counts none.
	c := occupancy.Class{Waiting: waiting}
	if morning, evening := prior.Carried(c, date(3), date(4)), prior.CarriedAtDispatch(c, date(3), date(4), 0); morning >= evening || evening != 7 {
		t.Errorf("carried into Friday: %v counted on Thursday morning, %v in the evening; want fewer in the morning, 7 in the evening", morning, evening)
	}
}

func TestToMove(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		bookings []occupancy.Booking
		want     []int
	}{
		{"none", nil, []int{}},
		{"the last booked first", []occupancy.Booking{{ID: "shp_1", HandedOver: true}, {ID: "shp_3", HandedOver: true}, {ID: "shp_2", HandedOver: true}}, []int{1, 2, 0}},
		{"not handed over before handed over", []occupancy.Booking{{ID: "shp_1"}, {ID: "shp_3", HandedOver: true}, {ID: "shp_2"}}, []int{2, 0, 1}},
		{"ties keep their order", []occupancy.Booking{{ID: "shp_1"}, {ID: "shp_1"}}, []int{0, 1}},
	}
	for _, tt := range tests {
		if got := occupancy.ToMove(tt.bookings); !slices.Equal(got, tt.want) {
			t.Errorf("%s: ToMove = %v; want %v", tt.name, got, tt.want)
		}
	}
}

func TestFinal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		today, on lokero.Date
		want      bool
	}{
		{"Thursday's check of Friday: the truth", date(3), date(4), true},
		{"after midnight, on the day itself", date(4), date(4), true},
		{"Friday's check of Monday: the weekend by the dwell", date(4), date(7), false},
		{"Saturday's check of Monday", date(5), date(7), false},
		{"Sunday's check of Monday", date(6), date(7), true},
	}
	for _, tt := range tests {
		if got := occupancy.Final(tt.today, tt.on); got != tt.want {
			t.Errorf("%s: Final(%s, %s) = %v; want %v", tt.name, tt.today, tt.on, got, tt.want)
		}
	}
}

func TestToMoveBack(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		bookings []occupancy.Booking
		want     []int
	}{
		{"none", nil, []int{}},
		{"the first booked first", []occupancy.Booking{{ID: "shp_3"}, {ID: "shp_1"}, {ID: "shp_2"}}, []int{1, 2, 0}},
		{"handed over or not alike", []occupancy.Booking{{ID: "shp_2"}, {ID: "shp_1", HandedOver: true}, {ID: "shp_3", HandedOver: true}}, []int{1, 0, 2}},
		{"ties keep their order", []occupancy.Booking{{ID: "shp_1", HandedOver: true}, {ID: "shp_1"}}, []int{0, 1}},
	}
	for _, tt := range tests {
		if got := occupancy.ToMoveBack(tt.bookings); !slices.Equal(got, tt.want) {
			t.Errorf("%s: ToMoveBack = %v; want %v", tt.name, got, tt.want)
		}
	}
}
