#!/usr/bin/python3
"""An external GRBL client, written with Debian's python3-serial and nothing
of Atelier's, talking to the simulated laser the way any GRBL host would.
Prints PASS:/FAIL: lines; exits non-zero on any failure."""
import sys
import time

import serial

failures = 0


def check(name, cond, detail=""):
    global failures
    print(("PASS: " if cond else "FAIL: ") + name + ("" if cond else " (" + detail + ")"))
    if not cond:
        failures += 1


def read_until(port, token, timeout=10.0):
    """Reads until token appears or the timeout passes; returns the text."""
    got = b""
    end = time.monotonic() + timeout
    while time.monotonic() < end and token not in got:
        got += port.read(port.in_waiting or 1)
    return got.decode("ascii", "replace")


def main():
    port = serial.Serial(sys.argv[1], 115200, timeout=0.1)
    port.write(b"\x18")
    banner = read_until(port, b"for help]")
    check("pyserial: soft reset gives the banner", "Grbl 1.1h ['$' for help]" in banner, banner)
    port.write(b"?")
    status = read_until(port, b">")
    check("pyserial: ? gives an Idle status report", "<Idle|" in status, status)
    port.write(b"G21 G90 G1 X1 Y1 F600\n")
    reply = read_until(port, b"ok")
    check("pyserial: a G-code line gives ok", reply.strip().endswith("ok"), reply)
    port.write(b"HELLO WORLD\n")
    reply = read_until(port, b"error:")
    reply += read_until(port, b"\n", 1)
    check("pyserial: garbage gives error:N", "error:" in reply and reply.split("error:")[1].strip().isdigit(), reply)
    port.close()
    return 1 if failures else 0


sys.exit(main())
