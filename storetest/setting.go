package storetest

import "testing"

var settingTests = []struct {
	name string
	fn   func(t *testing.T, s Store)
}{}
