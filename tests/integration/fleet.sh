#!/bin/sh
# Many workshops (tests/fleet/fleet_test.py): two simulated workshops, their
# atelier-sync, a real PostgreSQL (initdb in a temporary folder) and a real
# Mosquitto on a loopback port, broken on purpose. Run with Debian's Python.
set -u
for need in psql mosquitto mosquitto_sub mosquitto_pub mosquitto_passwd setpriv; do
	if ! command -v "$need" >/dev/null 2>&1; then
		echo "FAIL: $need is missing (packages postgresql, mosquitto, mosquitto-clients)"
		exit 1
	fi
done
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
	echo "FAIL: initdb is missing (package postgresql)"
	exit 1
fi
exec /usr/bin/python3 tests/fleet/fleet_test.py
