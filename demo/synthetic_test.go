package demo

import (
	"reflect"
	"testing"

	"github.com/lokero/lokero"
)

func TestSynthetic(t *testing.T) {
	t.Parallel()
	reg := registry(t)
	a, b := Synthetic(reg, 2000, 3), Synthetic(reg, 2000, 3)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("Synthetic is not reproducible for the same seed")
	}
	counts := map[lokero.LocationType]int{}
	ids := map[string]bool{}
	for i := range a {
		l := &a[i]
		if err := l.Validate(); err != nil {
			t.Fatalf("%s: %v", l.ID, err)
		}
		if ids[l.ID] {
			t.Fatalf("duplicate id %s", l.ID)
		}
		ids[l.ID] = true
		counts[l.Type]++
	}
	if counts[lokero.TypePostOffice] != 500 || counts[lokero.TypeSmartpost] != 1000 || counts[lokero.TypeLocker] != 0 {
		t.Errorf("type counts %v; want a quarter POSTOFFICE, half SMARTPOST, no LOCKER", counts)
	}
	if reflect.DeepEqual(a, Synthetic(reg, 2000, 4)) {
		t.Error("another seed gives the same network")
	}
}
