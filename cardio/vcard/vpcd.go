package vcard

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// DefaultVPCD is where Debian's vpcd driver listens for the first virtual
// reader; the second listens on port 35964.
const DefaultVPCD = "127.0.0.1:35963"

// vpcd control messages (a 1-byte payload from the driver).
const (
	ctrlPowerOff = 0x00
	ctrlPowerOn  = 0x01
	ctrlReset    = 0x02
	ctrlGetATR   = 0x04
)

// Serve inserts the card into the vpcd reader at addr: it dials the driver
// and answers its messages (2-byte big-endian length, then payload) until ctx
// ends, the driver closes the connection, or a RemoveAfter fault pulls the
// card. Closing the connection is how the card leaves the reader. It returns
// nil when the card was pulled by a fault or ctx ended.
func (c *Card) Serve(ctx context.Context, addr string) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("connecting to vpcd at %s: %w", addr, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	c.Insert()
	for {
		quickACK(conn)
		msg, err := readFrame(conn)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("reading from vpcd: %w", err)
		}
		var reply []byte
		if len(msg) == 1 {
			switch msg[0] {
			case ctrlPowerOff, ctrlPowerOn, ctrlReset:
				c.Reset()
				continue
			case ctrlGetATR:
				reply = ATR
			default:
				continue
			}
		} else {
			var removed bool
			reply, removed = c.Process(msg)
			if removed {
				return nil
			}
		}
		if err := writeFrame(conn, reply); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("writing to vpcd: %w", err)
		}
	}
}

func readFrame(r io.Reader) ([]byte, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	msg := make([]byte, binary.BigEndian.Uint16(hdr[:]))
	if _, err := io.ReadFull(r, msg); err != nil {
		return nil, err
	}
	return msg, nil
}

func writeFrame(w io.Writer, msg []byte) error {
	buf := make([]byte, 2+len(msg))
	binary.BigEndian.PutUint16(buf, uint16(len(msg)))
	copy(buf[2:], msg)
	_, err := w.Write(buf)
	return err
}

// ServeLoop keeps the card in the reader: after each removal (by a fault or
// by the driver) it waits reinsert and connects again, until ctx ends.
// Connection failures are retried with the same pause, so the card may be
// started before pcscd.
func (c *Card) ServeLoop(ctx context.Context, addr string, reinsert time.Duration, onErr func(error)) {
	for ctx.Err() == nil {
		if err := c.Serve(ctx, addr); err != nil && onErr != nil {
			onErr(err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(reinsert):
		}
	}
}
