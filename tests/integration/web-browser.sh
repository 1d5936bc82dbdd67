#!/bin/sh
# The web bench in Debian's chromium (tests/web/browser_test.py): runs the
# Selenium test with Debian's Python, for which python3-selenium is
# installed (the python3 first on PATH may be another interpreter).
# Screenshots go to $TEST_LOG_DIR/web.
set -u
for need in /usr/bin/chromium /usr/bin/chromedriver; do
	if [ ! -x "$need" ]; then
		echo "FAIL: $need is missing (packages chromium, chromium-driver)"
		exit 1
	fi
done
if ! /usr/bin/python3 -c 'import selenium' 2>/dev/null; then
	echo "FAIL: python3-selenium is missing"
	exit 1
fi
export TEST_LOG_DIR="$(cd "${TEST_LOG_DIR:-build/test-logs}" 2>/dev/null && pwd || echo "$PWD/build/test-logs")"
exec /usr/bin/python3 tests/web/browser_test.py
