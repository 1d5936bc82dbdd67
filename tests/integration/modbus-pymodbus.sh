#!/bin/sh
# A third-party client nobody here wrote (Debian's python3-pymodbus) reads
# and writes the simulated Riden's map as the independent Riden drivers do,
# and the E5CC's status, over RTU (the rectifier's 115200 line, the bath
# heater's 9600) and over TCP on loopback; then the simulator
# shows that nothing reached the Riden's calibration registers.
set -u
bin=${ATELIER_BIN:-build/asan/bin}
pass=0
fail=0
ok() { echo "PASS: $1"; pass=$((pass + 1)); }
ko() { echo "FAIL: $1${2:+ ($2)}"; fail=$((fail + 1)); }

tmp=$(mktemp -d /tmp/atelier-pymodbus-XXXXXX)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT

start_sim() {
	rm -rf "$tmp/run"
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

# $1 = label; the client's own PASS/FAIL lines are counted here.
client() {
	label=$1
	shift
	/usr/bin/python3 tests/integration/riden_pymodbus.py "$@" >"$tmp/out" 2>&1
	cat "$tmp/out"
	pass=$((pass + $(grep -c '^PASS:' "$tmp/out")))
	fail=$((fail + $(grep -c '^FAIL:' "$tmp/out")))
	grep -q '^PASS:' "$tmp/out" || ko "$label: the client ran" "$(tail -3 "$tmp/out")"
	got=$("$bin/atelier-sim" ctl "$tmp/run" calwrites rectifier)
	[ "$got" = 0 ] && ok "$label: no calibration register written" || ko "$label: calwrites" "$got"
}

if start_sim config/sim.yaml; then
	client RTU rtu "$tmp/run/rectifier" "$tmp/run/bath_heater"
	stop_sim && ok "RTU: the simulator stops cleanly" || ko "RTU: simulator stop"
else
	ko "RTU: simulator start"
fi

ports=$(/usr/bin/python3 -c '
import socket
s = [socket.socket() for _ in range(3)]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))')
set -- $ports
here=$(pwd)
sed -e "s/tcp_port: 15020/tcp_port: $1/" -e "s/tcp_port: 15021/tcp_port: $2/" \
	-e "s/tcp_port: 15022/tcp_port: $3/" config/sim-tcp.yaml >"$tmp/sim-tcp.yaml"
printf 'gems_file: %s/config/gems.yaml\nservices_file: %s/config/services.yaml\nprofile_dir: %s/config/profiles\n' \
	"$here" "$here" "$here" >>"$tmp/sim-tcp.yaml"
if start_sim "$tmp/sim-tcp.yaml"; then
	client TCP tcp "$2" "$3"
	stop_sim && ok "TCP: the simulator stops cleanly" || ko "TCP: simulator stop"
else
	ko "TCP: simulator start"
fi
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
