#!/bin/sh
# The API socket follows the roles (issue 19), with real accounts and
# groups made for the test and removed after it: the socket belongs to a
# group nobody is in, as in the example layout (socket group `atelier`,
# technicians in `atelier-tech`), yet a jeweller and a technician each
# connect with their role, the daemon's own user connects as a technician,
# and an account in no Atelier group cannot connect at all. Needs root, to
# make the accounts; says so and fails otherwise.
set -u
bin=${ATELIER_BIN:-build/asan/bin}
pass=0
fail=0
ok() { echo "PASS: $1"; pass=$((pass + 1)); }
ko() { echo "FAIL: $1${2:+ ($2)}"; fail=$((fail + 1)); }
if [ "$(id -u)" -ne 0 ]; then
	ko "socket-roles.sh makes test accounts and must run as root"
	exit 1
fi
tag=at$$
sock_group=$tag-sock jew_group=$tag-jew tech_group=$tag-tech
marie=$tag-marie paul=$tag-paul daemon_user=$tag-daemon eve=$tag-eve
dir=$(mktemp -d /tmp/atelier-roles-XXXXXX)
sim=
dmn=
cleanup() {
	[ -n "$dmn" ] && kill $dmn 2>/dev/null && wait $dmn 2>/dev/null
	[ -n "$sim" ] && kill $sim 2>/dev/null && wait $sim 2>/dev/null
	for u in $marie $paul $daemon_user $eve; do userdel "$u" 2>/dev/null; done
	for g in $sock_group $jew_group $tech_group; do groupdel "$g" 2>/dev/null; done
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
wait_for() { i=0; while [ ! -e "$1" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done; [ -e "$1" ]; }

for g in $sock_group $jew_group $tech_group; do groupadd "$g" || ko "groupadd $g"; done
useradd -M -N -g "$jew_group" -s /bin/sh "$marie" || ko "useradd $marie"
useradd -M -N -g users -G "$tech_group" -s /bin/sh "$paul" || ko "useradd $paul"
useradd -M -N -g users -s /bin/sh "$daemon_user" || ko "useradd $daemon_user"
useradd -M -N -g users -s /bin/sh "$eve" || ko "useradd $eve"
chmod 755 "$dir"

top=$(pwd)
sed -e "s|^  mode: 0660|  mode: 0660\n  group: $sock_group\n  jeweller_groups: [$jew_group]\n  technician_groups: [$tech_group]|" \
    -e "s|^log_level: info|log_level: info\nuser: $daemon_user|" config/sim.yaml >"$dir/roles.yaml"
printf 'gems_file: %s/config/gems.yaml\nservices_file: %s/config/services.yaml\nprofile_dir: %s/config/profiles\n' \
    "$top" "$top" "$top" >>"$dir/roles.yaml"

"$bin/atelier-sim" --run-dir "$dir" --config "$dir/roles.yaml" 2>"$dir/sim.err" &
sim=$!
wait_for "$dir/ctl.sock" || ko "simulator start"
"$bin/atelierd" -c "$dir/roles.yaml" --device-dir "$dir" 2>"$dir/d.err" &
dmn=$!
wait_for "$dir/atelier.sock" || ko "daemon start"
i=0
until grep -q "running as $daemon_user" "$dir/d.err" || [ $i -gt 100 ]; do sleep 0.1; i=$((i + 1)); done

ls -l "$dir/atelier.sock" | grep -q " $daemon_user $sock_group " &&
	ok "the socket is the daemon user's, in the socket group" || ko "socket owner" "$(ls -l "$dir/atelier.sock")"

# A technician's method tells the roles apart: a jeweller is refused it
# (1001), a technician is told there is nothing to reset.
as() {
	user=$1
	shift
	runuser -u "$user" -- "$bin/atelierctl" --socket "$dir/atelier.sock" --json "$@" 2>&1
}
out=$(as "$marie" status)
echo "$out" | grep -q '"interlock"' && ok "a jeweller connects" || ko "a jeweller connects" "$out"
out=$(as "$marie" estop reset)
echo "$out" | grep -q "for the technician role; you are jeweller" && ok "as a jeweller" || ko "jeweller's role" "$out"
out=$(as "$paul" estop reset)
echo "$out" | grep -q "not latched" && ok "a technician connects as a technician" || ko "technician's role" "$out"
out=$(as "$daemon_user" estop reset)
echo "$out" | grep -q "not latched" && ok "the daemon's own user is a technician" || ko "daemon user's role" "$out"
out=$(as "$eve" status)
rc=$?
[ $rc -eq 4 ] && echo "$out" | grep -qi "permission denied" &&
	ok "an account in no Atelier group cannot connect (exit 4)" || ko "eve refused" "$rc $out"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
