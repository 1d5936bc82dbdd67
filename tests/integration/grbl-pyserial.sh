#!/bin/sh
# An external client nobody here wrote (Debian's python3-serial) talks to
# the simulated GRBL laser: status, ok, error. Then the simulator stops on
# SIGTERM and removes its pty link.
set -u
bin=${ATELIER_BIN:-build/asan/bin}
dir=$(mktemp -d /tmp/atelier-pyserial-XXXXXX)
trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
"$bin/atelier-sim" --run-dir "$dir" --config config/sim.yaml 2>"$dir/sim.err" &
pid=$!
i=0
while [ ! -S "$dir/ctl.sock" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
if [ ! -S "$dir/ctl.sock" ]; then
	echo "FAIL: simulator did not start"; cat "$dir/sim.err"; exit 1
fi
/usr/bin/python3 tests/integration/grbl_client.py "$dir/laser"
rc=$?
kill -TERM $pid
wait $pid
simrc=$?
if [ $simrc -eq 0 ] && [ ! -e "$dir/laser" ] && [ ! -e "$dir/ctl.sock" ]; then
	echo "PASS: simulator exits 0 on SIGTERM and removes its links"
else
	echo "FAIL: simulator exit $simrc, links left: $(ls "$dir")"; rc=1
fi
exit $rc
