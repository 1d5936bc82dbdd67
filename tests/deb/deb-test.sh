#!/bin/sh
# The Debian package on this machine (root, Debian 12), as a workshop PC is
# set up: install with apt, check the shipped configuration and the units,
# the udev rules on fake devices (umockdev), a journal with jobs written by
# the installed daemon on the simulator, an upgrade to a newer build that
# keeps the journal and a local change to a conffile, then a purge that
# leaves nothing. Prints PASS/FAIL lines and a summary. It changes the
# system (it installs and purges the package) and puts back what udevadm
# test left in /dev and /run/udev.
# Arguments: the folder of the package to test (make deb's build/deb).
set -u
out=${1:-build/deb}
pass=0
fail=0
ok() { echo "PASS: $1"; pass=$((pass + 1)); }
ko() { echo "FAIL: $1${2:+ ($2)}"; fail=$((fail + 1)); }
check() { name=$1; shift; if "$@"; then ok "$name"; else ko "$name"; fi; }

if [ "$(id -u)" -ne 0 ]; then
	echo "FAIL: the package test installs a package: run it as root (CI does)"
	exit 1
fi
if dpkg-query -W -f='${Status}' atelier 2>/dev/null | grep -q "ok installed"; then
	echo "FAIL: atelier is installed on this machine already: the test would remove it"
	exit 1
fi
here=$(pwd)
tmp=$(mktemp -d /tmp/atelier-debtest-XXXXXX)
sim=
dmn=
before_dev="$tmp/dev.before"
find /dev /run/udev 2>/dev/null | sort >"$before_dev"
made_systemd_dir=
unmake_systemd_dir() {
	case $made_systemd_dir in
	both) rmdir /run/systemd/system /run/systemd ;;
	system) rmdir /run/systemd/system ;;
	esac
	made_systemd_dir=
}
restore_policy() {
	if [ -e "$tmp/policy-rc.d.saved" ]; then
		mv "$tmp/policy-rc.d.saved" /usr/sbin/policy-rc.d
	elif grep -q "$tmp/calls" /usr/sbin/policy-rc.d 2>/dev/null; then
		rm -f /usr/sbin/policy-rc.d
	fi
}
cleanup() {
	unmake_systemd_dir 2>/dev/null
	restore_policy
	[ -n "$dmn" ] && kill "$dmn" 2>/dev/null && wait "$dmn" 2>/dev/null
	[ -n "$sim" ] && kill "$sim" 2>/dev/null && wait "$sim" 2>/dev/null
	rm -f /etc/udev/rules.d/62-atelier-site.rules
	# What udevadm test created in /dev and /run/udev for the fake devices.
	find /dev /run/udev 2>/dev/null | sort | comm -13 "$before_dev" - | sort -r |
		while read -r p; do rm -f "$p" 2>/dev/null || rmdir "$p" 2>/dev/null; done
	if dpkg-query -W -f='${Status}' atelier 2>/dev/null | grep -q "installed"; then
		DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq atelier >/dev/null 2>&1
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
export DEBIAN_FRONTEND=noninteractive

# --- two builds: the one under test, and a newer one to upgrade to ----------
prev=$(ls "$out"/atelier_*_amd64.deb 2>/dev/null | head -1)
if [ -z "$prev" ]; then
	echo "FAIL: no package in $out (make deb)"
	exit 1
fi
version=$(dpkg-deb -f "$prev" Version)
next_version="$version+upgrade1"
sh scripts/build-deb "$tmp/next" "$next_version" >"$tmp/build-next.log" 2>&1 ||
	{ cat "$tmp/build-next.log"; echo "FAIL: the newer build"; exit 1; }
next="$tmp/next/atelier_${next_version}_amd64.deb"

# --- lintian ------------------------------------------------------------------
lintian --fail-on error,warning "$prev" >"$tmp/lintian" 2>&1
rc=$?
grep -v "running with root privileges" "$tmp/lintian"
[ $rc -eq 0 ] && ok "lintian: no error, no warning (overrides say why in debian/)" ||
	ko "lintian" "exit $rc"

# --- install --------------------------------------------------------------------
apt-get install -y -qq "$(cd "$(dirname "$prev")" && pwd)/$(basename "$prev")" >"$tmp/install.log" 2>&1
dpkg-query -W -f='${Status}\n' atelier 2>/dev/null | grep -q "install ok installed" ||
	{ cat "$tmp/install.log"; echo "FAIL: apt install ./atelier_${version}_amd64.deb"; exit 1; }
ok "apt install ./atelier_${version}_amd64.deb"
check "the system users: atelier, and atelier-web in the atelier group" \
	sh -c 'getent passwd atelier >/dev/null && getent passwd atelier-web >/dev/null &&
	    id -nG atelier-web | grep -qw atelier'
check "nobody logs in as them" sh -c '[ "$(getent passwd atelier | cut -d: -f7)" != /bin/bash ]'
check "/var/lib/atelier belongs to atelier, 0750" \
	sh -c '[ "$(stat -c %U:%G:%a /var/lib/atelier)" = atelier:atelier:750 ]'
check "/run/atelier belongs to atelier, 0750" \
	sh -c '[ "$(stat -c %U:%G:%a /run/atelier)" = atelier:atelier:750 ]'
check "the configuration files are conffiles" \
	sh -c 'dpkg-query -W -f="\${Conffiles}" atelier | grep -q "/etc/atelier/atelier.yaml" &&
	    dpkg-query -W -f="\${Conffiles}" atelier | grep -q "/etc/atelier/gems.yaml" &&
	    dpkg-query -W -f="\${Conffiles}" atelier | grep -q "/etc/atelier/profiles/e5cc.yaml"'
check "atelierd -n -c /etc/atelier/atelier.yaml: the shipped example checks" \
	sh -c '/usr/sbin/atelierd -n -c /etc/atelier/atelier.yaml | head -1 | grep -qx "configuration OK"'
/usr/sbin/atelierd -n --devices -c /etc/atelier/atelier.yaml >/dev/null 2>"$tmp/devices"
rc=$?
check "without the hardware, the unit's check refuses to start atelierd (78), naming what is missing" \
	sh -c "[ $rc -eq 78 ] && grep -q '/dev/atelier/laser is not there: connect it' '$tmp/devices'"
wants=/etc/systemd/system/multi-user.target.wants
check "atelierd is enabled (it starts at boot once its devices are there)" \
	test -L "$wants/atelierd.service"
check "atelier-web and atelier-sync are not enabled (the site configures them first)" \
	sh -c "[ ! -e '$wants/atelier-web.service' ] && [ ! -e '$wants/atelier-sync.service' ]"
out_verify=$(systemd-analyze verify --man=no /lib/systemd/system/atelierd.service \
	/lib/systemd/system/atelier-web.service /lib/systemd/system/atelier-sync.service 2>&1)
[ -z "$out_verify" ] && ok "systemd-analyze verify on the installed units" ||
	ko "systemd-analyze verify on the installed units" "$out_verify"
check "the pages and man pages are installed" \
	sh -c '[ -f /usr/share/atelier/web/index.html ] && man -w atelierd >/dev/null 2>&1 &&
	    man -w atelier-sync >/dev/null 2>&1 && /usr/bin/atelier-web -n -c /etc/atelier/atelier.yaml >/dev/null'
for p in atelierd atelier-web atelier-sync; do
	check "$p's unit does not run it as root after start-up" \
		sh -c "grep -q '^User=atelier' /lib/systemd/system/$p.service ||
		    { grep -q '^user: atelier' /etc/atelier/atelier.yaml && [ $p = atelierd ]; }"
done

# --- udev rules, on fake devices --------------------------------------------------
udev_test() {   # DEVICE-FILE SYSPATH: udevadm test's output
	umockdev-run -d "tests/deb/$1" -- udevadm test --action=add "$2" 2>&1
}
tty=/sys/devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0/ttyUSB0/tty/ttyUSB0
udev_test arduino-uno.umockdev "$tty" >"$tmp/udev1"
check "udev: GRBL on an Arduino is /dev/atelier/laser, group atelier, 0660" \
	sh -c "grep -q \"LINK 'atelier/laser'\" '$tmp/udev1' && grep -q 'GROUP $(getent group atelier | cut -d: -f3)' '$tmp/udev1' &&
	    grep -q 'MODE 0660' '$tmp/udev1'"
udev_test ftdi-rs485.umockdev "$tty" >"$tmp/udev2"
check "udev: FTDI's USB-RS485 cable is /dev/atelier/rs485-SERIAL (FT4TANK1), as the example names it" \
	sh -c "grep -q \"LINK 'atelier/rs485-FT4TANK1'\" '$tmp/udev2' &&
	    grep -q 'port: atelier/rs485-FT4TANK1' /etc/atelier/atelier.yaml"
udev_test gpiochip.umockdev /sys/devices/platform/gpio-sim.0/gpiochip0 >"$tmp/udev3"
check "udev: the GPIO chip belongs to the atelier group" \
	sh -c "grep -q 'GROUP $(getent group atelier | cut -d: -f3)' '$tmp/udev3'"
udev_test cp2102.umockdev "$tty" >"$tmp/udev4"
check "udev: another adapter gets no name of ours" sh -c "! grep -q \"LINK 'atelier/\" '$tmp/udev4'"
# A site's own adapter: the rule atelierctl ports --udev writes for it.
umockdev-run -d tests/deb/cp2102.umockdev -- atelierctl ports --udev rs485-rinse=/dev/ttyUSB0 \
	>/etc/udev/rules.d/62-atelier-site.rules 2>"$tmp/ports.err"
check "atelierctl ports --udev writes the site's rule from the adapter's USB ids and serial" \
	grep -q 'ATTRS{idVendor}=="10c4", ATTRS{idProduct}=="ea60", ATTRS{serial}=="0001RINSE", SYMLINK+="atelier/rs485-rinse"' \
	/etc/udev/rules.d/62-atelier-site.rules
udev_test cp2102.umockdev "$tty" >"$tmp/udev5"
check "udev: with the site's rule, that adapter is /dev/atelier/rs485-rinse" \
	grep -q "LINK 'atelier/rs485-rinse'" "$tmp/udev5"
rm -f /etc/udev/rules.d/62-atelier-site.rules

# --- a journal with jobs, written by the installed daemon on the simulator ---------
mkdir -p "$tmp/run"
chmod 755 "$tmp" "$tmp/run"
# The socket where the package's postinst asks atelierd about its stations.
sed -e 's|^state_dir: state|state_dir: /var/lib/atelier\nuser: atelier|' \
	-e 's|^device_dir: .*|device_dir: '"$tmp/run"'|' \
	-e 's|^  socket: atelier.sock|  socket: /run/atelier/atelier.sock|' config/sim-workshop.yaml >"$tmp/run/w.yaml"
cp -r config/gems.yaml config/services.yaml config/profiles config/symbols "$tmp/run/"
start_bench() {
	rm -f "$tmp/run/ctl.sock" /run/atelier/atelier.sock
	/usr/bin/atelier-sim --run-dir "$tmp/run" --config "$tmp/run/w.yaml" 2>"$tmp/sim.log" &
	sim=$!
	i=0; while [ ! -e "$tmp/run/ctl.sock" ] && [ $i -lt 100 ]; do i=$((i + 1)); sleep 0.1; done
	/usr/sbin/atelierd -c "$tmp/run/w.yaml" 2>"$tmp/atelierd.log" &
	dmn=$!
	# Up once the lasers' links are ready.
	i=0; until ctl status 2>/dev/null | grep -qE '^  laser-1 +idle' || [ $i -gt 150 ]; do
		i=$((i + 1)); sleep 0.1
	done
}
stop_bench() {
	kill "$dmn"; wait "$dmn"; dmn=
	kill "$sim"; wait "$sim"; sim=
}
ctl() { /usr/bin/atelierctl --socket /run/atelier/atelier.sock "$@"; }
start_bench
ctl job create --serial DEB-0001 --type ring --metal white_gold --service ring_resizing:sizes=1 >/dev/null &&
	ctl job create --serial DEB-0002 --type ring --metal platinum --service polishing >/dev/null
check "the installed atelierd takes two jobs, as the atelier user" \
	sh -c "grep -q 'running as atelier' '$tmp/atelierd.log' && [ \"\$(ps -o user= -p $dmn)\" = atelier ]"
stop_bench
check "the journal belongs to atelier" \
	sh -c '[ "$(stat -c %U /var/lib/atelier/journal.db)" = atelier ]'
jobs_in() {
	/usr/bin/python3 -c 'import sqlite3,sys; d=sqlite3.connect("file:/var/lib/atelier/journal.db?mode=ro", uri=True)
print(d.execute("SELECT group_concat(p.serial) FROM jobs j JOIN pieces p ON p.id = j.piece_id ORDER BY j.id").fetchone()[0], d.execute("PRAGMA user_version").fetchone()[0])'
}

# --- upgrade, while a laser engraves --------------------------------------------------
# The postinst restarts atelierd only when every station is idle. It acts
# only where systemd runs (/run/systemd/system): the folder is made for the
# upgrade. Debian's policy-rc.d(8) hook, which deb-systemd-invoke asks
# before any start or restart, records the requests and refuses them, as a
# container's does: the test sees what the scripts asked for.
made_systemd_dir=
if [ ! -d /run/systemd/system ]; then
	[ -d /run/systemd ] || made_systemd_dir=both
	mkdir -p /run/systemd/system
	made_systemd_dir=${made_systemd_dir:-system}
fi
[ -e /usr/sbin/policy-rc.d ] && cp -p /usr/sbin/policy-rc.d "$tmp/policy-rc.d.saved"
printf '#!/bin/sh\necho "$*" >>%s/calls\nexit 101\n' "$tmp" >/usr/sbin/policy-rc.d
chmod 755 /usr/sbin/policy-rc.d
: >"$tmp/calls"
sed -i 's/^log_level: info/log_level: debug/' /etc/atelier/atelier.yaml
start_bench
ctl --station laser-1 laser setting 32 1 >/dev/null
printf 'G21 G90\nM4 S100\nG1 X100 F60\nG1 Y100\nM5\n' >"$tmp/long.nc"
ctl --station laser-1 laser stream "$tmp/long.nc" >/dev/null
i=0; until ctl status | grep -qE '^  laser-1 +running' || [ $i -gt 50 ]; do i=$((i + 1)); sleep 0.1; done
check "laser-1 engraves during the upgrade" sh -c "ctl() { /usr/bin/atelierctl --socket /run/atelier/atelier.sock \"\$@\"; }; ctl status | grep -qE '^  laser-1 +running'"
apt-get install -y -qq -o Dpkg::Options::=--force-confold "$next" \
	>"$tmp/upgrade.log" 2>&1
check "apt install of the newer build ($next_version) upgrades" \
	sh -c "[ \"\$(dpkg-query -W -f='\${Version}' atelier)\" = '$next_version' ]"
check "a station engraving: the upgrade leaves atelierd running, and says why" \
	sh -c "kill -0 $dmn && grep -q 'a station is working' '$tmp/upgrade.log' &&
	    grep -q 'atelierd.service start' '$tmp/calls' &&
	    ! grep -q 'atelierd.service restart' '$tmp/calls'"
ctl --station laser-1 laser abort >/dev/null
i=0; until ! ctl status | grep -qE '^  laser-1 +(running|stopping)' || [ $i -gt 50 ]; do
	i=$((i + 1)); sleep 0.1
done
: >"$tmp/calls"
apt-get install -y -qq --reinstall -o Dpkg::Options::=--force-confold \
	"$next" >"$tmp/reinstall.log" 2>&1
grep -q "atelierd.service restart" "$tmp/calls" &&
	ok "every station idle: the upgrade restarts atelierd" ||
	ko "every station idle: the upgrade restarts atelierd" "$(cat "$tmp/calls" "$tmp/reinstall.log")"
stop_bench
unmake_systemd_dir
restore_policy
check "the upgrade keeps the local change to atelier.yaml" \
	grep -q '^log_level: debug' /etc/atelier/atelier.yaml
# The journal as the version before the outbox (schema 5) left it: the
# upgraded daemon must migrate it, keeping every job.
/usr/bin/python3 - <<'PY'
import sqlite3
d = sqlite3.connect("/var/lib/atelier/journal.db")
for t in ("outbox_never_changed", "outbox_never_deleted", "outbox_piece_new", "outbox_piece_changed",
          "outbox_job_new", "outbox_job_changed", "outbox_step_new", "outbox_step_changed",
          "outbox_audit", "outbox_calibration"):
    d.execute("DROP TRIGGER " + t)
d.execute("DROP TABLE outbox")
d.execute("DROP TABLE outbox_origin")
d.execute("PRAGMA user_version = 5")
d.commit()
PY
before_jobs=$(jobs_in)
start_bench
n=$(ctl --json job list | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
check "the upgraded atelierd opens the journal and lists its two jobs" [ "$n" = 2 ]
stop_bench
after_jobs=$(jobs_in)
[ "$before_jobs" = "DEB-0001,DEB-0002 5" ] && [ "$after_jobs" = "DEB-0001,DEB-0002 6" ] &&
	ok "the upgrade keeps the journal's jobs and migrates it (schema 5 to 6)" ||
	ko "the journal after the upgrade" "before: $before_jobs, after: $after_jobs"

# --- purge --------------------------------------------------------------------------
files=$(dpkg -L atelier | grep -v '^/\.$')
apt-get purge -y -qq atelier >"$tmp/purge.log" 2>&1
check "apt purge removes the package" \
	sh -c '! dpkg-query -W -f="\${Status}" atelier 2>/dev/null | grep -q installed'
check "purge removes the users" sh -c '! getent passwd atelier && ! getent passwd atelier-web &&
	! getent group atelier'
check "purge removes the state (the journal) and /etc/atelier" \
	sh -c '[ ! -e /var/lib/atelier ] && [ ! -e /etc/atelier ]'
left=""
for f in $files; do
	[ -d "$f" ] && continue
	[ -e "$f" ] && left="$left $f"
done
[ -z "$left" ] && ok "nothing of the package is left" || ko "files left after purge" "$left"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
