package pcsc

import (
	"errors"
	"testing"

	"github.com/ebfe/scard"

	"github.com/mykey-jp/mykey/cardio"
)

// A connection reset reaches us as a security violation: on a working
// context it means the service went away; on its own (a polkit refusal
// when connecting) it is passed on as it is.
func TestSecurityViolationMeansLostOnlyAfterConnecting(t *testing.T) {
	if !serviceLost(scard.ErrSecurityViolation) || serviceDown(scard.ErrSecurityViolation) {
		t.Error("a reset must count as lost on an established context, and never make establish retry")
	}
	if err := mapLost(scard.ErrSecurityViolation); !errors.Is(err, cardio.ErrReaderGone) {
		t.Errorf("mapLost = %v, want ErrReaderGone", err)
	}
	if err := mapErr(scard.ErrSecurityViolation); errors.Is(err, cardio.ErrReaderGone) {
		t.Errorf("mapErr = %v: a refusal is not a lost reader", err)
	}
	if err := mapLost(scard.ErrRemovedCard); !errors.Is(err, cardio.ErrCardRemoved) {
		t.Errorf("mapLost(removed) = %v", err)
	}
}
