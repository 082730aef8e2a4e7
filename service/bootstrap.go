package service

import (
	"context"
	"fmt"

	"github.com/lokero/lokero"
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
