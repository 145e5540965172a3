package vcard

import (
	"net"
	"syscall"
)

// quickACK sets TCP_QUICKACK before each read: vpcd writes a frame's length
// and payload in two sends, and a delayed ACK would otherwise cost ~40 ms
// per APDU. Linux clears the flag after use, hence before every read.
func quickACK(conn net.Conn) {
	tc, ok := conn.(*net.TCPConn)
	if !ok {
		return
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return
	}
	raw.Control(func(fd uintptr) {
		syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
}
