/*
 * The station devices on their Modbus buses, in the words of the job: the
 * tank generator (ultrasound, heater), the Riden rectifier (voltage,
 * current, output) and the E5CC bath heater (setpoint, run, stop), each
 * with its safe state, which goes in the bus's priority lane. These build
 * register writes from the device profiles; they hold no policy.
 */
#ifndef ATELIER_MB_DEVICES_H
#define ATELIER_MB_DEVICES_H

#include <stdbool.h>
#include <stddef.h>

#include "mb_bus.h"

/* Everything off, as the device's profile says in safe_state (tank:
 * ultrasound and heater off; rectifier: output off; E5CC: STOP),
 * overtaking queued work. Returns a command id, or -1 with the reason in
 * err (no safe state in the profile, a device refused). */
int mb_safe_state(struct mb_bus *b, int dev, char *err, size_t errlen);

/* Tank: ultrasound at power %, frequency kHz, for timer s (0 = until
 * stopped), with sweep; or off. */
int mb_tank_ultrasound(struct mb_bus *b, int dev, bool on, double power, double khz, double timer,
    bool sweep, char *err, size_t errlen);
/* Tank: heater on to setpoint C, or off. */
int mb_tank_heater(struct mb_bus *b, int dev, bool on, double setpoint, char *err, size_t errlen);
/* Rectifier: set volts and amps, output on or off. */
int mb_rectifier(struct mb_bus *b, int dev, double volts, double amps, bool on, char *err,
    size_t errlen);
/* E5CC: enable communications writing, set SV, RUN (or STOP). */
int mb_heater(struct mb_bus *b, int dev, double setpoint, bool run, char *err, size_t errlen);

#endif
