#!/bin/sh
# The code's layers (docs/architecture.md), read from the includes: a file
# in firmware-host/ or drivers/ includes headers of its own folder or of
# folders below it, never above, so that no circle can form between the
# daemon, the job engine and calibration. Every source file also opens
# with the comment that says what it is for. The checker is first run on
# a small tree with one include upwards and one file without its opening
# comment, and must find both.
set -u
pass=0
fail=0
ok() { echo "PASS: $1"; pass=$((pass + 1)); }
ko() { echo "FAIL: $1${2:+ ($2)}"; fail=$((fail + 1)); }

# The rank of each folder: lower ranks never include higher ones.
rank() {
	case $1 in
	lib) echo 0 ;;
	cfg|api|journal|web) echo 1 ;;
	drivers|engrave|policy|fleet) echo 2 ;;
	daemon) echo 3 ;;
	calib) echo 4 ;;
	jobs) echo 5 ;;
	methods|gateway|sync) echo 6 ;;
	ctl|top) echo 7 ;;
	*) echo "" ;;
	esac
}

# folder_of ROOT PATH: the layer a file belongs to.
folder_of() {
	case $2 in
	"$1"/drivers/*) echo drivers ;;
	"$1"/firmware-host/*/*) p=${2#"$1"/firmware-host/}; echo "${p%%/*}" ;;
	"$1"/firmware-host/*) echo top ;;
	*) echo "" ;;
	esac
}

# check ROOT: prints a line per violation; the number of violations is
# the count of lines.
check() {
	root=$1
	find "$root/firmware-host" "$root/drivers" -name '*.[ch]' | sort | while read -r f; do
		from=$(folder_of "$root" "$f")
		rf=$(rank "$from")
		if [ -z "$rf" ]; then
			echo "$f: folder '$from' has no layer (add it to tests/unit/layering.sh)"
			continue
		fi
		head -c 2 "$f" | grep -q '^/\*' || echo "$f: does not open with a comment on its purpose"
		dir=$(dirname "$f")
		sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f" | while read -r inc; do
			if [ -f "$dir/$inc" ]; then
				to=$(folder_of "$root" "$dir/$inc")
			elif [ -f "$root/firmware-host/lib/$inc" ]; then
				to=lib
			elif [ -f "$root/firmware-host/$inc" ]; then
				to=$(folder_of "$root" "$root/firmware-host/$inc")
			elif [ -f "$root/drivers/$inc" ]; then
				to=drivers
			else
				echo "$f: includes \"$inc\", which is not in the tree"
				continue
			fi
			[ "$to" = "$from" ] && continue
			rt=$(rank "$to")
			if [ -z "$rt" ] || [ "$rt" -ge "$rf" ]; then
				echo "$f: includes \"$inc\" from $to (layer ${rt:-?}), above or beside $from (layer $rf)"
			fi
		done
	done
}

# The checker finds what it is there to find.
tmp=$(mktemp -d /tmp/atelier-layering-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/firmware-host/lib" "$tmp/firmware-host/daemon" "$tmp/firmware-host/jobs" "$tmp/drivers"
printf '/*\n * a\n */\n' >"$tmp/firmware-host/lib/util.h"
printf '/*\n * b\n */\n#include "util.h"\n' >"$tmp/firmware-host/jobs/jobs.h"
printf '/*\n * c\n */\n#include "jobs/jobs.h"\n#include "util.h"\n' >"$tmp/firmware-host/daemon/daemon.c"
printf '#include "util.h"\n' >"$tmp/drivers/grbl.c"
out=$(check "$tmp")
echo "$out" | grep -q 'daemon/daemon.c: includes "jobs/jobs.h" from jobs (layer 5), above or beside daemon' &&
	ok "an include upwards is found" || ko "an include upwards is found" "$out"
echo "$out" | grep -q 'drivers/grbl.c: does not open with a comment' &&
	ok "a file without its opening comment is found" || ko "a file without its opening comment is found" "$out"
[ "$(echo "$out" | grep -c .)" -eq 2 ] && ok "nothing else is reported on the small tree" ||
	ko "nothing else is reported on the small tree" "$out"

# The tree itself.
out=$(check .)
if [ -z "$out" ]; then
	ok "every include points down the layers, every file says what it is for"
else
	ko "layers" "
$out"
fi
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
