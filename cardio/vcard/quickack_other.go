//go:build !linux

package vcard

import "net"

// quickACK is Linux-only; elsewhere delayed ACKs stay as they are.
func quickACK(net.Conn) {}
