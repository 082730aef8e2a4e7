package locker_test

import (
	"math"
	"slices"
	"testing"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/locker"
)

// comp returns a free compartment numbered n of the given inside size.
func comp(n int, size string, l, w, h int) locker.Compartment {
	return locker.Compartment{Number: n, Size: size, LengthCM: l, WidthCM: w, HeightCM: h}
}

// occupied returns c with a parcel in it.
func occupied(c locker.Compartment) locker.Compartment { c.Occupied = true; return c }

// broken returns c out of order.
func broken(c locker.Compartment) locker.Compartment { c.OutOfOrder = true; return c }

func TestLayout(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		classes []lokero.CompartmentClass
		want    []locker.Compartment
	}{
		{name: "no classes", classes: nil, want: []locker.Compartment{}},
		{
			name: "classes in the order given, numbered on from 1",
			classes: []lokero.CompartmentClass{
				{Size: "L", LengthCM: 70, WidthCM: 40, HeightCM: 40, Count: 1},
				{Size: "S", LengthCM: 70, WidthCM: 40, HeightCM: 10, Count: 3},
				{Size: "M", LengthCM: 70, WidthCM: 40, HeightCM: 20, Count: 2},
			},
			want: []locker.Compartment{
				comp(1, "L", 70, 40, 40),
				comp(2, "S", 70, 40, 10), comp(3, "S", 70, 40, 10), comp(4, "S", 70, 40, 10),
				comp(5, "M", 70, 40, 20), comp(6, "M", 70, 40, 20),
			},
		},
		{
			name: "a class without compartments is skipped",
			classes: []lokero.CompartmentClass{
				{Size: "S", LengthCM: 70, WidthCM: 40, HeightCM: 10, Count: 0},
				{Size: "M", LengthCM: 70, WidthCM: 40, HeightCM: 20, Count: -2},
				{Size: "L", LengthCM: 70, WidthCM: 40, HeightCM: 40, Count: 2},
			},
			want: []locker.Compartment{comp(1, "L", 70, 40, 40), comp(2, "L", 70, 40, 40)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := locker.Layout(tt.classes); !slices.Equal(got, tt.want) {
				t.Errorf("Layout() =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestLayoutStandard(t *testing.T) {
	t.Parallel()
	classes := slices.Clone(lokero.StandardCompartmentClasses)
	for i := range classes {
		classes[i].Count = 10 * (i + 1) // 10 S, 20 M, 30 L
	}
	got := locker.Layout(classes)
	if len(got) != 60 {
		t.Fatalf("Layout() made %d compartments, want 60", len(got))
	}
	for i, c := range got {
		if c.Number != i+1 {
			t.Errorf("compartment %d is numbered %d", i, c.Number)
		}
		want := "L"
		switch {
		case c.Number <= 10:
			want = "S"
		case c.Number <= 30:
			want = "M"
		}
		if c.Size != want || c.Occupied || c.OutOfOrder {
			t.Errorf("compartment %d = %+v, want a free %s", c.Number, c, want)
		}
	}
}

func TestAllocate(t *testing.T) {
	t.Parallel()
	s1, s2 := comp(1, "S", 70, 40, 10), comp(2, "S", 70, 40, 10)
	m3, m4 := comp(3, "M", 70, 40, 20), comp(4, "M", 70, 40, 20)
	l5 := comp(5, "L", 70, 40, 40)
	std := []locker.Compartment{s1, s2, m3, m4, l5}
	tests := []struct {
		name   string
		parcel [3]float64
		comps  []locker.Compartment
		want   int // compartment number; 0: none fits
	}{
		{"smallest that fits", [3]float64{30, 20, 15}, std, 3},
		{"smallest that fits, small parcel", [3]float64{30, 20, 5}, std, 1},
		{"big parcel goes to the big one", [3]float64{60, 35, 30}, std, 5},
		{"parcel turned: 40×70×10 into 70×40×10", [3]float64{40, 70, 10}, std, 1},
		{"parcel turned: 10×40×70 into 70×40×10", [3]float64{10, 40, 70}, std, 1},
		{"exactly the compartment size fits", [3]float64{70, 40, 10}, std, 1},
		{"0.1 cm over does not fit", [3]float64{70, 40, 10.1}, std, 3},
		{"0.1 cm over the largest fits nothing", [3]float64{70.1, 40, 40}, std, 0},
		{"occupied skipped", [3]float64{30, 20, 5}, []locker.Compartment{occupied(s1), s2, m3}, 2},
		{"out of order skipped", [3]float64{30, 20, 5}, []locker.Compartment{broken(s1), broken(s2), m3, l5}, 3},
		{"all small taken: the next size up", [3]float64{30, 20, 5}, []locker.Compartment{occupied(s1), broken(s2), m3, m4, l5}, 3},
		{"tie goes to the lowest number, whatever the order", [3]float64{30, 20, 15}, []locker.Compartment{l5, m4, m3}, 3},
		{"nothing free", [3]float64{30, 20, 5}, []locker.Compartment{occupied(s1), broken(m3)}, 0},
		{"no compartments", [3]float64{30, 20, 5}, nil, 0},
		{"too big for all", [3]float64{80, 10, 10}, std, 0},
		{
			"equal volume: smaller largest dimension first",
			[3]float64{30, 30, 30},
			[]locker.Compartment{comp(1, "W", 80, 40, 40), comp(2, "C", 40, 40, 80), comp(3, "K", 50, 50, 51), comp(4, "Q", 50, 51, 50)},
			3,
		},
		{"only the bigger one fits", [3]float64{10, 10, 10},
			[]locker.Compartment{comp(1, "cube", 20, 20, 20), comp(2, "flat", 70, 40, 2)}, 1},
		{"smaller volume beats a smaller largest dimension", [3]float64{10, 10, 2},
			[]locker.Compartment{comp(1, "cube", 20, 20, 20), comp(2, "flat", 70, 40, 2)}, 2},
		{"zero dimension", [3]float64{0, 10, 10}, std, 0},
		{"negative dimension", [3]float64{-1, 10, 10}, std, 0},
		{"NaN dimension", [3]float64{math.NaN(), 10, 10}, std, 0},
		{"infinite dimension", [3]float64{math.Inf(1), 10, 10}, std, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := slices.Clone(tt.comps)
			got, ok := locker.Allocate(tt.parcel, tt.comps)
			if !slices.Equal(in, tt.comps) {
				t.Errorf("Allocate modified its input")
			}
			switch {
			case tt.want == 0 && ok:
				t.Errorf("Allocate(%v) = compartment %d, want none", tt.parcel, got.Number)
			case tt.want != 0 && !ok:
				t.Errorf("Allocate(%v) found none, want compartment %d", tt.parcel, tt.want)
			case tt.want != 0 && got.Number != tt.want:
				t.Errorf("Allocate(%v) = compartment %d (%s), want %d", tt.parcel, got.Number, got.Size, tt.want)
			case ok && (got.Occupied || got.OutOfOrder):
				t.Errorf("Allocate(%v) = unusable compartment %+v", tt.parcel, got)
			case ok && !lokero.FitsBox(tt.parcel, [3]float64{float64(got.LengthCM), float64(got.WidthCM), float64(got.HeightCM)}):
				t.Errorf("Allocate(%v) = compartment %+v that the parcel does not fit", tt.parcel, got)
			}
		})
	}
}

// TestAllocateFillsLocker deposits parcels one by one into a standard locker
// until nothing fits: every compartment is used once, small parcels never
// take an L while an S is free, and the last parcel finds nothing.
func TestAllocateFillsLocker(t *testing.T) {
	t.Parallel()
	classes := slices.Clone(lokero.StandardCompartmentClasses)
	for i := range classes {
		classes[i].Count = 3
	}
	comps := locker.Layout(classes)
	small := [3]float64{20, 30, 8}
	var sizes []string
	for {
		c, ok := locker.Allocate(small, comps)
		if !ok {
			break
		}
		if comps[c.Number-1].Occupied {
			t.Fatalf("compartment %d allocated twice", c.Number)
		}
		comps[c.Number-1].Occupied = true
		sizes = append(sizes, c.Size)
	}
	want := []string{"S", "S", "S", "M", "M", "M", "L", "L", "L"}
	if !slices.Equal(sizes, want) {
		t.Errorf("allocation order = %v, want %v", sizes, want)
	}
}
