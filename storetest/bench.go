package storetest

import (
	"math/rand/v2"
	"testing"

	"github.com/lokero/lokero"
)

// BenchmarkUpsert10000 times the directory import's bulk write on stores
// from newStore (fresh, empty and migrated, as Run's): "insert" writes
// 10,000 new locations into an empty store, "update" writes the same
// 10,000 again over them. Each reports its time per 10,000 as ns/op. The
// conformance suite's Upsert10000 checks the results; this measures them
// (a time limit in a test fails on a busy machine and says nothing on an
// idle one).
func BenchmarkUpsert10000(b *testing.B, newStore func(testing.TB) Store) {
	const n = 10000
	batch := numberedBatch("bulk", 0, n)
	rand.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
	upsert := func(b *testing.B, s Store, want lokero.UpsertResult) {
		b.Helper()
		res, err := s.UpsertLocations(b.Context(), batch)
		if err != nil {
			b.Fatalf("UpsertLocations: %v", err)
		}
		if res != want {
			b.Fatalf("UpsertLocations = %+v, want %+v", res, want)
		}
	}
	b.Run("insert", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			s := newStore(b)
			b.StartTimer()
			upsert(b, s, lokero.UpsertResult{Inserted: n})
		}
	})
	b.Run("update", func(b *testing.B) {
		s := newStore(b)
		upsert(b, s, lokero.UpsertResult{Inserted: n})
		for b.Loop() {
			upsert(b, s, lokero.UpsertResult{Updated: n})
		}
	})
}
