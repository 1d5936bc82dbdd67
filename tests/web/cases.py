"""
The PASS/FAIL lines of the Python tests (the browser test, the fleet test)
and their closing summary, as tests/run-tests counts them.
"""
import sys

passed = 0
failed = 0


def check(ok, name, detail=""):
    """Prints PASS or FAIL for name (with detail on failure); returns ok."""
    global passed, failed
    if ok:
        passed += 1
        print("PASS: " + name)
    else:
        failed += 1
        print("FAIL: %s%s" % (name, " (%s)" % detail if detail else ""))
    sys.stdout.flush()
    return ok


def summary():
    """Prints the closing line; the exit status: 1 when a case failed."""
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0
