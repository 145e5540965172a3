package cardio_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/mykey-jp/mykey/cardio"
	"github.com/mykey-jp/mykey/cardio/vcard"
	"github.com/mykey-jp/mykey/internal/testcard"
	"github.com/mykey-jp/mykey/internal/testpki"
)

// TestAssistDOB reads the date of birth through the input-assist applet's
// PIN; the name, address and sex never leave the card; a wrong PIN costs
// one try and the last one is kept.
func TestAssistDOB(t *testing.T) {
	ctx := context.Background()
	cert, key, _ := testpki.Load("user")
	var log bytes.Buffer
	a := testcard.Assist("19891231", "5678")
	c, err := vcard.New(vcard.Config{AuthCert: cert, Key: key, PIN: "1234", Assist: a}, &log)
	if err != nil {
		t.Fatal(err)
	}
	var sent bytes.Buffer
	s := &cardio.Session{T: transportFunc(func(ctx context.Context, apdu []byte) ([]byte, error) {
		resp, err := c.Transmit(ctx, apdu)
		if len(apdu) > 1 && apdu[1] == 0xB0 {
			sent.Write(resp) // every byte read from the card
		}
		return resp, err
	})}
	if err := s.SelectAssist(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := s.AssistTriesLeft(ctx); err != nil || n != 3 {
		t.Fatalf("tries left = %d, %v", n, err)
	}
	var pe *cardio.PINError
	if err := s.VerifyAssistPIN(ctx, []byte("1234"), 1); !errors.As(err, &pe) || pe.TriesLeft != 2 {
		t.Fatalf("the JPKI PIN at the input-assist applet: %v", err)
	}
	if _, err := s.AssistDOB(ctx); err == nil {
		t.Fatal("read the DOB without the PIN")
	}
	if err := s.VerifyAssistPIN(ctx, []byte("5678"), 1); err != nil {
		t.Fatal(err)
	}
	dob, err := s.AssistDOB(ctx)
	if err != nil || dob != "19891231" {
		t.Fatalf("AssistDOB = %q, %v", dob, err)
	}
	for _, personal := range []string{"試験", "東京都"} {
		if bytes.Contains(sent.Bytes(), []byte(personal)) {
			t.Errorf("%q was read from the card", personal)
		}
	}
	if bytes.Contains(log.Bytes(), []byte(hex.EncodeToString([]byte("19891231")))) || bytes.Contains(log.Bytes(), []byte(hex.EncodeToString([]byte("5678")))) {
		t.Errorf("the APDU log holds the DOB or the PIN:\n%s", log.String())
	}
	if err := s.SelectAssist(ctx); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		s.VerifyAssistPIN(ctx, []byte("0000"), 0)
	}
	if err := s.VerifyAssistPIN(ctx, []byte("0000"), 1); !errors.Is(err, cardio.ErrLastTry) || c.AssistTriesLeft() != 1 {
		t.Fatalf("with one try left: %v, %d left", err, c.AssistTriesLeft())
	}
}

type transportFunc func(context.Context, []byte) ([]byte, error)

func (f transportFunc) Transmit(ctx context.Context, apdu []byte) ([]byte, error) {
	return f(ctx, apdu)
}
