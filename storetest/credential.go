package storetest

import "testing"

var credentialTests = []struct {
	name string
	fn   func(t *testing.T, s Store)
}{}
