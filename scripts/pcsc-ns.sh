#!/bin/sh
# Runs a command in private mount and network namespaces where tests may
# start, stop and restart their own pcscd (socket on a private /run/pcscd,
# reader configuration on a private /etc/reader.conf.d, vpcd on a private
# loopback), without touching the machine's pcscd. Test X servers get a
# private /tmp/.X11-unix too: Xvfb finds a free display number by its
# abstract socket, which is per namespace, and would otherwise replace the
# socket file of a display with that number outside. Needs root.
#   sh scripts/pcsc-ns.sh go test ./cardio/...
set -eu
if [ "$(id -u)" != 0 ]; then
	echo "pcsc-ns: needs root (unshare of mount and network namespaces)" >&2
	exit 2
fi
exec unshare -m -n --propagation private sh -c '
	set -eu
	mkdir -p /run/pcscd /etc/reader.conf.d
	mount -t tmpfs -o mode=0755 mykey-pcscd /run/pcscd
	mount -t tmpfs -o mode=0755 mykey-readers /etc/reader.conf.d
	mkdir -p /tmp/.X11-unix
	mount -t tmpfs -o mode=1777 mykey-x11 /tmp/.X11-unix
	ip link set lo up
	MYKEY_PCSC_NS=1 exec "$@"
' pcsc-ns "$@"
