"""A third-party Modbus client (Debian's python3-pymodbus) against the
simulated Riden RD60xx and E5CC, used as the independent Riden drivers use
a real unit: identity and one block read of 4-19, setpoints written with
FC 06 and read back, output on then off, the clock written with FC 16, the
keypad lock, preset, options and a preset's OVP/OCP, and a read-only
register refused with exception 03; then the E5CC's status, whose low word
comes first in two-byte mode. Prints PASS:/FAIL: lines; exits 1 on any
failure.

usage: riden_pymodbus.py rtu RECTIFIER_PTY BATH_HEATER_PTY
       riden_pymodbus.py tcp RECTIFIER_PORT BATH_HEATER_PORT
"""
import sys

from pymodbus.client import ModbusSerialClient, ModbusTcpClient

failed = 0


def check(name, cond, got=None):
    global failed
    if cond:
        print("PASS: " + name)
    else:
        failed += 1
        print("FAIL: %s (%r)" % (name, got))


def client(kind, where, e5cc):
    if kind == "tcp":
        c = ModbusTcpClient("127.0.0.1", port=int(where), timeout=1)
    elif e5cc:
        # The E5CC's real line is 9600 8E1; a pty carries no parity, and
        # the simulator's bench says 8N1 for it (config/sim.yaml).
        c = ModbusSerialClient(where, baudrate=9600, parity="N", timeout=1)
    else:
        c = ModbusSerialClient(where, baudrate=115200, parity="N", timeout=1)
    if not c.connect():
        print("FAIL: %s: cannot connect to %s" % (kind, where))
        sys.exit(1)
    return c


def regs(c, addr, count):
    r = c.read_holding_registers(addr, count, slave=1)
    return None if r.isError() else list(r.registers)


def main():
    kind, rect, heater = sys.argv[1], sys.argv[2], sys.argv[3]
    c = client(kind, rect, False)
    head = regs(c, 0, 4)
    check(kind + ": model, serial and firmware in one read",
          head is not None and head[0] == 60062, head)
    block = regs(c, 4, 16)                   # as ShayBox's Riden.update() reads
    check(kind + ": registers 4-19 in one read", block is not None and len(block) == 16, block)
    for reg, value in ((8, 333), (9, 1500)):   # 3.33 V, 1.500 A on an RD6006
        w = c.write_register(reg, value, slave=1)
        check("%s: FC 06 to %d and read back" % (kind, reg),
              not w.isError() and regs(c, reg, 1) == [value], regs(c, reg, 1))
    for value in (1, 0):
        c.write_register(18, value, slave=1)
        check("%s: output %d" % (kind, value), regs(c, 18, 1) == [value], regs(c, 18, 1))
    clock = [2026, 3, 14, 15, 9, 26]
    w = c.write_registers(48, clock, slave=1)
    check(kind + ": the clock written with FC 16 (48-53)",
          not w.isError() and regs(c, 48, 6) == clock, regs(c, 48, 6))
    for reg, value in ((15, 1), (19, 2), (69, 0), (86, 6100), (87, 6200), (15, 0)):
        w = c.write_register(reg, value, slave=1)
        check("%s: register %d accepts %d" % (kind, reg, value),
              not w.isError() and regs(c, reg, 1) == [value], w)
    w = c.write_register(10, 5, slave=1)      # V_OUT is a measurement
    check(kind + ": a write to a measurement is refused with exception 03",
          w.isError() and getattr(w, "exception_code", None) == 3, w)
    c.close()
    h = client(kind, heater, True)
    status = regs(h, 0x2406, 2)
    # Two-byte mode: the rightmost 16 bits first; STOP is bit 24.
    check(kind + ": E5CC status, low word first, STOP in the second",
          status is not None and status[1] & 0x0100 and not status[0] & 0x0100, status)
    check(kind + ": E5CC SV 48.0 C", regs(h, 0x2103, 1) == [480], regs(h, 0x2103, 1))
    h.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
