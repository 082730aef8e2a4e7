package storetest

import "testing"

var quotaTests = []struct {
	name string
	fn   func(t *testing.T, s Store)
}{}
