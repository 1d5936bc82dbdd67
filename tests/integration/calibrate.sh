#!/bin/sh
# atelierctl calibrate and atelierctl calibration against a running atelierd
# and simulator: the guided flows with their answers as flags (CI) and as
# typed answers on standard input (a person), a technician who abandons
# half-way (exit 3, nothing recorded), readings that make no sense
# (refused, nothing recorded), and the records in calibration history and
# calibration due.
set -u
bin=${ATELIER_BIN:-build/asan/bin}
pass=0
fail=0
ok() { echo "PASS: $1"; pass=$((pass + 1)); }
ko() { echo "FAIL: $1${2:+ ($2)}"; fail=$((fail + 1)); }
dir=$(mktemp -d /tmp/atelier-cal-XXXXXX)
sim=
dmn=
cleanup() {
	[ -n "$dmn" ] && kill $dmn 2>/dev/null && wait $dmn 2>/dev/null
	[ -n "$sim" ] && kill $sim 2>/dev/null && wait $sim 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
ctl() { "$bin/atelierctl" --socket "$dir/atelier.sock" "$@"; }
simctl() { "$bin/atelier-sim" ctl "$dir" "$@"; }
wait_for() { i=0; while [ ! -e "$1" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done; [ -e "$1" ]; }
# The true temperature of the tank's water: the reference thermometer.
water() { simctl status tank | /usr/bin/python3 -c 'import json,sys; print("%.2f" % json.load(sys.stdin)["tank"]["temperature"])'; }
records() { ctl --json calibration history ${1:+--station $1} | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }

"$bin/atelier-sim" --run-dir "$dir" 2>"$dir/sim.err" &
sim=$!
wait_for "$dir/ctl.sock" || ko "simulator start"
"$bin/atelier-sim" ctl "$dir" setting laser 32 1 >/dev/null   # commissioned
"$bin/atelierd" -c config/sim.yaml --device-dir "$dir" 2>"$dir/d.err" &
dmn=$!
wait_for "$dir/atelier.sock" || ko "daemon start"
i=0
until ctl status | grep -q 'laser.*"link":"ready"' || [ $i -gt 200 ]; do sleep 0.1; i=$((i + 1)); done
i=0
until ctl status | grep -q 'rectifier .*"up":true' || [ $i -gt 200 ]; do sleep 0.1; i=$((i + 1)); done

out=$(ctl calibration history)
[ "$out" = "no calibration recorded" ] && ok "empty history" || ko "empty history" "$out"
ctl calibration due >"$dir/due.out"
[ $? -eq 3 ] && grep -q "tank *overdue *the tank has never been calibrated" "$dir/due.out" &&
	ok "never calibrated: due says overdue, exit 3" || ko "due before" "$(cat "$dir/due.out")"

simctl error tank 1.03 0.8 >/dev/null
sleep 0.8
t1=$(water)
# A technician who walks away before the second point: nothing recorded.
ctl calibrate tank temperature --instrument "Fluke 52 II" --technician ada --ref1 "$t1" \
	</dev/null >"$dir/abort.out" 2>&1
rc=$?
[ $rc -eq 3 ] && grep -q "nothing changed" "$dir/abort.out" && [ "$(records tank)" = 0 ] &&
	ok "abandoned half-way: exit 3, nothing recorded" || ko "abandon" "$rc $(cat "$dir/abort.out")"
# Typed answers: the second reading once fresh water is in.
{ sleep 1; simctl water tank 45 >/dev/null; sleep 1; water; } |
	ctl calibrate tank temperature --instrument "Fluke 52 II" --technician ada --ref1 "$t1" --yes \
	>"$dir/tank.out" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q "applied and recorded" "$dir/tank.out" && [ "$(records tank)" = 1 ] &&
	ok "tank temperature, guided" || ko "tank temperature" "$rc $(cat "$dir/tank.out")"
truth=$(water)
ctl --json status | /usr/bin/python3 -c 'import json,sys; t=json.load(sys.stdin)["devices"]["tank"]["temperature"]; sys.exit(0 if abs(t - float(sys.argv[1])) < 0.15 else 1)' "$truth" &&
	ok "status shows the corrected temperature" || ko "corrected" "truth $truth"

# The rectifier by flags alone; the simulator's error is known, so is the truth.
simctl error rectifier voltage 1.02 0.05 >/dev/null
ctl calibrate bath voltage --instrument "Fluke 87V" --set1 1.0 --ref1 750 --yes >"$dir/bad.out" 2>&1
rc=$?
[ $rc -eq 3 ] && grep -q "check the instrument" "$dir/bad.out" && [ "$(records bath)" = 0 ] &&
	ok "a reading in the wrong unit: refused, nothing recorded" || ko "nonsense" "$rc $(cat "$dir/bad.out")"
ctl calibrate bath voltage --instrument "Fluke 87V" --technician ada --set1 1.0 --ref1 0.9314 \
	--set2 2.5 --ref2 2.4020 --yes >"$dir/bath.out" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q "gain 0.98" "$dir/bath.out" && ok "bath voltage by flags" ||
	ko "bath voltage" "$rc $(cat "$dir/bath.out")"
out=$(ctl calibrate bath replenish --grams 2 --technician ada)
echo "$out" | grep -q "replenishment recorded" && ok "replenish" || ko "replenish" "$out"
out=$(ctl calibrate bath rhodium)
echo "$out" | grep -q "about 2.00 g of rhodium left" && ok "rhodium estimate" || ko "rhodium" "$out"

# The laser: a scale calibration that measures true, by flags.
ctl laser unlock >/dev/null 2>&1
sleep 1
simctl timescale laser 20 >/dev/null
out=$(ctl calibrate laser backup --technician ada)
echo "$out" | grep -q "settings backed up (record" && ok "settings backup" || ko "backup" "$out"
backup=$(echo "$out" | sed 's/.*record \([0-9]*\).*/\1/')
ctl calibrate laser scale --size 20 --measured-x 20.0 --measured-y 20.0 --technician ada --yes \
	>"$dir/scale.out" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q "written, read back and recorded" "$dir/scale.out" &&
	ok "laser scale, guided with flags" || ko "laser scale" "$rc $(cat "$dir/scale.out")"
out=$(ctl calibrate laser diff --backup "$backup")
[ "$out" = "no setting differs from backup $backup" ] && ok "settings diff" || ko "diff" "$out"
out=$(ctl calibrate laser grid --metal silver --plate 14x14 --steps 2 --preview)
echo "$out" | grep -q "(power 100% speed 600)" && ok "grid preview" || ko "grid preview" "$(echo "$out" | head -3)"

out=$(ctl calibration history --station tank)
echo "$out" | grep -q "tank  tank.temperature calibration by ada with Fluke 52 II" &&
	echo "$out" | grep -q '"gain":0.97' && ok "history shows the record, before and after" ||
	ko "history" "$out"
ctl calibration due >"$dir/due.out"
grep -q "tank *ok *the tank was calibrated on" "$dir/due.out" && grep -q "laser *ok" "$dir/due.out" &&
	ok "due after calibrating" || ko "due after" "$(cat "$dir/due.out")"
ctl calibrate kitchen sink >/dev/null 2>&1
[ $? -eq 2 ] && ok "bad usage: exit 2" || ko "bad usage"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
