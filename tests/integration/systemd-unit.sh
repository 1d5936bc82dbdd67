#!/bin/sh
# The shipped systemd unit verifies (systemd-analyze verify, with the
# program paths pointed at this build), is Type=notify with a watchdog and
# carries the hardening the deployment relies on.
set -u
bin=${ATELIER_BIN:-build/asan/bin}
pass=0
fail=0
ok() { echo "PASS: $1"; pass=$((pass + 1)); }
ko() { echo "FAIL: $1${2:+ ($2)}"; fail=$((fail + 1)); }
unit=config/atelierd.service
tmp=$(mktemp -d /tmp/atelier-unit-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
here=$(pwd)
abs=$(cd "$bin" && pwd)
sed -e "s|/usr/sbin/atelierd|$abs/atelierd|g" -e "s|/etc/atelier/atelier.yaml|$here/config/atelier.yaml|g" \
	"$unit" >"$tmp/atelierd.service"
if command -v systemd-analyze >/dev/null; then
	out=$(systemd-analyze verify --man=no "$tmp/atelierd.service" 2>&1)
	[ $? -eq 0 ] && [ -z "$out" ] && ok "systemd-analyze verify" || ko "systemd-analyze verify" "$out"
else
	ko "systemd-analyze is not installed (package systemd)"
fi
for want in "Type=notify" "WatchdogSec=" "ProtectSystem=strict" "NoNewPrivileges=yes" \
	"DevicePolicy=closed" "DeviceAllow=char-gpiochip rw" "DeviceAllow=char-ttyUSB rw" \
	"ReadWritePaths=/var/lib/atelier /run/atelier" "ExecReload=/bin/kill -HUP" \
	"ExecStartPre=/usr/sbin/atelierd -n --devices" "RestartPreventExitStatus=78" \
	"LimitRTPRIO=20" "RestrictRealtime=no"; do
	grep -q "^$want" "$unit" && ok "unit has $want" || ko "unit has $want"
done
# The unit's own check line passes on the shipped example configuration.
"$bin/atelierd" -n -c config/atelier.yaml >/dev/null && ok "the shipped example checks" ||
	ko "the shipped example checks"
# The unit's check before a start: on this machine, without the example's
# hardware, it refuses with EX_CONFIG and names what is missing.
"$bin/atelierd" -n --devices -c config/atelier.yaml >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 78 ] && grep -q "laser station 'laser': /dev/atelier/laser is not there: connect it" "$tmp/err" &&
	grep -q "GPIO chip /dev/gpiochip0 (line estop) is not there" "$tmp/err" && [ ! -s "$tmp/out" ] &&
	ok "ExecStartPre refuses a configuration whose devices are not there (78)" ||
	ko "ExecStartPre refuses missing devices" "exit $rc: $(cat "$tmp/err")"

# check_unit PROGRAM LABEL WANT...: PROGRAM's unit, pointed at this build,
# verifies (the atelierd.service it is ordered after is not installed
# here), and has a line starting with each WANT.
check_unit() {
	prog=$1
	label=$2
	shift 2
	u=config/$prog.service
	sed -e "s|/usr/bin/$prog|$abs/$prog|g" -e "s|/etc/atelier/atelier.yaml|$here/config/atelier.yaml|g" \
		"$u" >"$tmp/$prog.service"
	if command -v systemd-analyze >/dev/null; then
		out=$(systemd-analyze verify --man=no "$tmp/$prog.service" 2>&1 | grep -v "atelierd.service")
		[ -z "$out" ] && ok "systemd-analyze verify $prog.service" ||
			ko "systemd-analyze verify $prog.service" "$out"
	fi
	for want in "$@"; do
		grep -q "^$want" "$u" && ok "$label unit has $want" || ko "$label unit has $want"
	done
}

# atelier-web's unit: an unprivileged user, no capability, no device.
check_unit atelier-web web "Type=notify" "User=atelier-web" "CapabilityBoundingSet=$" \
	"PrivateDevices=yes" "DevicePolicy=closed" "ProtectSystem=strict" "NoNewPrivileges=yes" \
	"MemoryDenyWriteExecute=yes" "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6"
grep -q "^User=root" config/atelier-web.service && ko "atelier-web runs as root" ||
	ok "atelier-web does not run as root"

# atelier-sync's unit: the journal's user, no capability, no device.
check_unit atelier-sync sync "Type=notify" "WatchdogSec=" "User=atelier$" "CapabilityBoundingSet=$" \
	"PrivateDevices=yes" "ProtectSystem=strict" "ReadWritePaths=/var/lib/atelier$" \
	"NoNewPrivileges=yes" "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
