#!/bin/sh
# External clients nobody here wrote: Debian's mbpoll reads and writes the
# simulated tank generator, rectifier and bath heater over Modbus RTU (pty
# links: the tank at 19200, the rectifier at the RD60xx's 115200, the E5CC
# at 9600, all 8N1 since a pty carries no parity) and over Modbus TCP on
# loopback. Values come from
# the register maps: tank device id 0x5441 (21569), power-on power 80 % and
# frequency 400 (40.0 kHz); Riden model 60062 (RD6006); E5CC SV 480
# (48.0 C).
set -u
bin=${ATELIER_BIN:-build/asan/bin}
pass=0
fail=0
ok() { echo "PASS: $1"; pass=$((pass + 1)); }
ko() { echo "FAIL: $1${2:+ ($2)}"; fail=$((fail + 1)); }

tmp=$(mktemp -d /tmp/atelier-mbpoll-XXXXXX)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT

start_sim() {
	"$bin/atelier-sim" --run-dir "$tmp/run" --config "$1" 2>"$tmp/sim.err" &
	pid=$!
	i=0
	while [ ! -S "$tmp/run/ctl.sock" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
	[ -S "$tmp/run/ctl.sock" ] || { cat "$tmp/sim.err"; return 1; }
}

stop_sim() {
	kill -TERM $pid
	wait $pid
	rc=$?
	pid=
	return $rc
}

# Reads COUNT holding registers from REF (0-based); prints the values, one per line.
read_regs() {
	# $1 = connection args, $2 = slave, $3 = ref, $4 = count
	# shellcheck disable=SC2086  # connection arguments are meant to split
	mbpoll $1 -a "$2" -t 4 -r "$3" -c "$4" -0 -1 -q 2>&1 | sed -n 's/^\[[0-9]*\]:[[:space:]]*\([-0-9]*\).*/\1/p'
}

check_bus() {
	# $1 = label, $2 = tank, $3 = rectifier, $4 = bath heater connection args
	got=$(read_regs "$2" 1 0 1)
	[ "$got" = "21569" ] && ok "$1: mbpoll reads the tank device id" || ko "$1: tank device id" "$got"
	got=$(read_regs "$2" 1 11 2 | tr '\n' ' ')
	[ "$got" = "80 400 " ] && ok "$1: mbpoll reads power 80 % and 40.0 kHz" || ko "$1: tank setpoints" "$got"
	got=$(read_regs "$3" 1 0 1)
	[ "$got" = "60062" ] && ok "$1: mbpoll reads the rectifier model" || ko "$1: rectifier model" "$got"
	got=$(read_regs "$4" 1 8451 1)
	[ "$got" = "480" ] && ok "$1: mbpoll reads the bath heater's SV (0x2103)" || ko "$1: E5CC SV" "$got"
	# shellcheck disable=SC2086
	mbpoll $2 -a 1 -t 4 -r 16 -0 -1 -q 500 >/dev/null 2>&1
	got=$(read_regs "$2" 1 16 1)
	[ "$got" = "500" ] && ok "$1: mbpoll writes the tank setpoint and reads it back" || ko "$1: write and read back" "$got"
	out=$(read_regs "$2" 1 2 1; mbpoll $2 -a 1 -t 4 -r 2 -c 1 -0 -1 -q 2>&1)
	case "$out" in
	*"Illegal data address"*) ok "$1: a register outside the map gives exception 02" ;;
	*) ko "$1: register outside the map" "$out" ;;
	esac
}

# RTU on the simulator's pty links.
if start_sim config/sim.yaml; then
	check_bus RTU "-m rtu -b 19200 -P none -d 8 -s 1 $tmp/run/tank" \
		"-m rtu -b 115200 -P none -d 8 -s 1 $tmp/run/rectifier" \
		"-m rtu -b 9600 -P none -d 8 -s 1 $tmp/run/bath_heater"
	if stop_sim && [ ! -e "$tmp/run/tank" ] && [ ! -e "$tmp/run/rectifier" ] &&
	    [ ! -e "$tmp/run/bath_heater" ]; then
		ok "RTU: the simulator stops and removes its links"
	else
		ko "RTU: simulator stop" "$(ls "$tmp/run")"
	fi
else
	ko "RTU: simulator start"
fi

# TCP on free loopback ports, in a copy of config/sim-tcp.yaml.
ports=$(/usr/bin/python3 -c '
import socket
s = [socket.socket() for _ in range(3)]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))')
set -- $ports
p1=$1 p2=$2 p3=$3
here=$(pwd)
sed -e "s/tcp_port: 15020/tcp_port: $p1/" -e "s/tcp_port: 15021/tcp_port: $p2/" \
	-e "s/tcp_port: 15022/tcp_port: $p3/" config/sim-tcp.yaml >"$tmp/sim-tcp.yaml"
printf 'gems_file: %s/config/gems.yaml\nservices_file: %s/config/services.yaml\nprofile_dir: %s/config/profiles\n' \
	"$here" "$here" "$here" >>"$tmp/sim-tcp.yaml"
if start_sim "$tmp/sim-tcp.yaml"; then
	check_bus TCP "-m tcp -p $p1 127.0.0.1" "-m tcp -p $p2 127.0.0.1" "-m tcp -p $p3 127.0.0.1"
	stop_sim && ok "TCP: the simulator stops cleanly" || ko "TCP: simulator stop"
else
	ko "TCP: simulator start"
fi
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
