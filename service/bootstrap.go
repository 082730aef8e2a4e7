package service

import (
	"context"
	"fmt"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/demo"
	"github.com/lokero/lokero/postcode"
)

// LoadPostcodes returns the registry of postal codes held in the store,
// first filling an empty store with the bundled postal code file.
func LoadPostcodes(ctx context.Context, store lokero.PostcodeStore) (*postcode.Registry, error) {
	codes, err := store.Postcodes(ctx)
	if err != nil {
		return nil, fmt.Errorf("load postcodes: %w", err)
	}
	if len(codes) == 0 {
		if codes, err = postcode.Bundled(); err != nil {
			return nil, fmt.Errorf("load bundled postcodes: %w", err)
		}
		if err := store.ReplacePostcodes(ctx, codes); err != nil {
			return nil, fmt.Errorf("store bundled postcodes: %w", err)
		}
	}
	points, err := postcode.BundledPoints()
	if err != nil {
		return nil, fmt.Errorf("load postcode points: %w", err)
	}
	return postcode.NewRegistry(codes, points), nil
}

// DemoSeed is the seed of the bundled demo network: the same seed gives the
// same network on every machine, so docs and examples can name its points.
const DemoSeed = 1

// LoadDemo fills an empty directory with the bundled demo network and
// reports how many locations it added (0 when the store had locations).
func (d *Directory) LoadDemo(ctx context.Context) (int, error) {
	n, err := d.store.CountLocations(ctx)
	if err != nil {
		return 0, fmt.Errorf("load demo network: %w", err)
	}
	if n > 0 {
		return 0, nil
	}
	locs, err := demo.Network(d.postcodes, DemoSeed)
	if err != nil {
		return 0, fmt.Errorf("generate demo network: %w", err)
	}
	if _, err := d.Import(ctx, locs); err != nil {
		return 0, fmt.Errorf("load demo network: %w", err)
	}
	return len(locs), nil
}
