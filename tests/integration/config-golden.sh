#!/bin/sh
# Golden tests of the configuration: `atelierd -n` on every good file gives
# the expected normalised output, on every bad file exactly the expected
# errors (file:line:col) and exit status 1; every shipped configuration
# checks OK, and its normalised form loads again to the same text.
# Set GOLDEN_UPDATE=1 to rewrite the expected files after a deliberate change.
set -u
bin=${ATELIER_BIN:-build/asan/bin}
dir=tests/golden/config
pass=0
fail=0
tmp=$(mktemp -d /tmp/atelier-golden-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

ok() { echo "PASS: $1"; pass=$((pass + 1)); }
ko() { echo "FAIL: $1"; fail=$((fail + 1)); }

for f in "$dir"/good/*.yaml; do
	name=good/$(basename "$f" .yaml)
	"$bin/atelierd" -n -c "$f" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ -n "${GOLDEN_UPDATE:-}" ] && cp "$tmp/out" "${f%.yaml}.out"
	if [ $rc -eq 0 ] && [ ! -s "$tmp/err" ] && diff -u "${f%.yaml}.out" "$tmp/out"; then
		ok "$name"
	else
		cat "$tmp/err"; ko "$name (exit $rc)"
	fi
done

# Binary garbage is made here rather than kept in the tree.
printf 'laser:\0\377\376\001port: x\n' >"$tmp/garbage.yaml"
printf '%s: contains NUL bytes: not a YAML text file\n' "$tmp/garbage.yaml" >"$tmp/garbage.err"
"$bin/atelierd" -n -c "$tmp/garbage.yaml" >/dev/null 2>"$tmp/err"
if [ $? -eq 1 ] && diff -u "$tmp/garbage.err" "$tmp/err"; then ok bad/garbage; else ko bad/garbage; fi
"$bin/atelierd" -n -c "$tmp/no-such-file.yaml" >/dev/null 2>"$tmp/err"
if [ $? -eq 1 ] && grep -q "no-such-file.yaml: cannot open: No such file or directory" "$tmp/err"; then
	ok bad/missing-file
else
	ko bad/missing-file
fi

for f in "$dir"/bad/*.yaml; do
	name=bad/$(basename "$f" .yaml)
	"$bin/atelierd" -n -c "$f" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ -n "${GOLDEN_UPDATE:-}" ] && cp "$tmp/err" "${f%.yaml}.err"
	if [ $rc -eq 1 ] && [ ! -s "$tmp/out" ] && diff -u "${f%.yaml}.err" "$tmp/err"; then
		ok "$name"
	else
		ko "$name (exit $rc)"
	fi
done

# Every shipped configuration checks, and its normalised form is a fixed
# point: printed, loaded again from the same folder, printed the same.
for f in config/atelier.yaml config/sim.yaml config/sim-tcp.yaml config/sim-workshop.yaml; do
	name=shipped/$(basename "$f")
	norm=config/.golden-$$-$(basename "$f")
	if "$bin/atelierd" -n -c "$f" >"$tmp/out" 2>"$tmp/err" &&
	    head -1 "$tmp/out" | grep -qx "configuration OK"; then
		tail -n +2 "$tmp/out" >"$norm"
		"$bin/atelierd" -n -c "$norm" >"$tmp/out2" 2>"$tmp/err2"
		rc=$?
		rm -f "$norm"
		if [ $rc -eq 0 ] && diff -u "$tmp/out" "$tmp/out2"; then
			ok "$name"
		else
			cat "$tmp/err2"; ko "$name (normalised form does not reload identically)"
		fi
	else
		cat "$tmp/err"; ko "$name"
	fi
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
