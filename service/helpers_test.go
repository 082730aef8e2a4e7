package service_test

import (
	"errors"
	"testing"

	"github.com/lokero/lokero/pgtest"
)

func asError(err error, target any) bool { return err != nil && errors.As(err, target) }

func TestMain(m *testing.M) { pgtest.ForTest(m) }
