#!/bin/sh
# atelierctl user (issue 14, the web bench's accounts) as root runs it: add
# with the password from a pipe, list without hashes, passwd, del; every
# refusal says why and leaves the file as it was; an account other than
# root is refused. The hashes are checked by libsodium's own verifier in
# test_web_users; here, that they are Argon2id and differ per user.
set -u
bin=${ATELIER_BIN:-build/asan/bin}
pass=0
fail=0
ok() { echo "PASS: $1"; pass=$((pass + 1)); }
ko() { echo "FAIL: $1${2:+ ($2)}"; fail=$((fail + 1)); }
if [ "$(id -u)" -ne 0 ]; then
	ko "atelierctl-user.sh runs atelierctl user as root"
	exit 1
fi
dir=$(mktemp -d /tmp/atelier-user-XXXXXX)
trap 'rm -rf "$dir"' EXIT INT TERM
file=$dir/web-users
u() { "$bin/atelierctl" user --file "$file" "$@"; }

out=$(printf 'correct horse\n' | u add marie --role jeweller --name "Marie Curie" 2>&1)
[ $? -eq 0 ] && [ "$out" = "marie: added" ] && ok "add a jeweller" || ko "add a jeweller" "$out"
printf 'battery staple\n' | u add paul --role technician >/dev/null 2>&1 &&
	ok "add a technician" || ko "add a technician"
out=$(u list)
echo "$out" | grep -q '^marie  *jeweller  *Marie Curie$' && echo "$out" | grep -q '^paul  *technician  *paul$' &&
	! echo "$out" | grep -q argon2 && ok "list: names, roles, display names, no hash" ||
	ko "list" "$out"
[ "$(grep -c '\$argon2id\$' "$file")" -eq 2 ] && ok "Argon2id hashes in the file" || ko "hashes"
[ "$(stat -c %a "$file")" = 640 ] && ok "file mode 0640" || ko "mode" "$(stat -c %a "$file")"
h1=$(awk -F'\t' '$1 == "marie" { print $3 }' "$file")
before=$(cat "$file")
out=$(printf 'another one\n' | u add marie --role jeweller 2>&1)
[ $? -eq 3 ] && echo "$out" | grep -q "user 'marie' exists already" && [ "$(cat "$file")" = "$before" ] &&
	ok "add twice refused, file unchanged" || ko "add twice" "$out"
out=$(printf 'short\n' | u add eve --role jeweller 2>&1)
[ $? -eq 3 ] && echo "$out" | grep -q "a password is 8 to 256 characters; nothing changed" &&
	[ "$(cat "$file")" = "$before" ] && ok "short password refused" || ko "short password" "$out"
out=$(u add eve --role boss 2>&1 </dev/null)
[ $? -eq 2 ] && echo "$out" | grep -q "role is jeweller or technician, not 'boss'" &&
	ok "unknown role refused" || ko "unknown role" "$out"
out=$(u add Eve --role jeweller 2>&1 </dev/null)
[ $? -eq 2 ] && echo "$out" | grep -q "starting with a letter a-z" && ok "bad name refused" ||
	ko "bad name" "$out"
out=$(u add eve --role jeweller 2>&1 </dev/null)
[ $? -eq 3 ] && echo "$out" | grep -q "no password given" && ok "no password refused" ||
	ko "no password" "$out"
out=$(printf 'new secret!\n' | u passwd marie 2>&1)
h2=$(awk -F'\t' '$1 == "marie" { print $3 }' "$file")
[ "$out" = "marie: password changed" ] && [ -n "$h2" ] && [ "$h1" != "$h2" ] &&
	ok "passwd" || ko "passwd" "$out"
out=$(printf 'whatever1\n' | u passwd nobody 2>&1)
[ $? -eq 3 ] && echo "$out" | grep -q "there is no user 'nobody'" && ok "passwd of no user" ||
	ko "passwd of no user" "$out"
out=$(u del paul 2>&1)
[ "$out" = "paul: removed" ] && ! grep -q '^paul	' "$file" && grep -q '^marie	' "$file" &&
	ok "del" || ko "del" "$out"
out=$(runuser -u nobody -- "$bin/atelierctl" user --file "$file" list 2>&1)
[ $? -eq 3 ] && echo "$out" | grep -q "only root manages the web bench's accounts" &&
	ok "refused to another account" || ko "another account" "$out"
# A folder of one's own (the simulator's, a demo's) is that account's to
# manage; the workshop's file, or another's folder, stays root's.
chmod 711 "$dir" && mkdir "$dir/own" && chown nobody "$dir/own"
out=$(printf 'whatever1\n' | runuser -u nobody -- "$bin/atelierctl" user --file "$dir/own/web-users" \
	add demo --role jeweller 2>&1)
[ $? -eq 0 ] && [ "$out" = "demo: added" ] && ok "the owner of a --file's folder manages it" ||
	ko "own folder" "$out"
out=$(runuser -u nobody -- "$bin/atelierctl" user list 2>&1)
[ $? -eq 3 ] && ok "the workshop's file stays root's" || ko "default file as another" "$out"
printf 'marie\tjeweller\tnot-a-hash\tMarie\n' >"$dir/bad"
out=$("$bin/atelierctl" user --file "$dir/bad" list 2>&1)
[ $? -eq 5 ] && echo "$out" | grep -q "bad:1: the password of 'marie' is not an Argon2id hash" &&
	ok "a bad file names its line" || ko "bad file" "$out"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
