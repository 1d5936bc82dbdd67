/*
 * Station device commands over Modbus (see mb_devices.h). Safe states are
 * the profiles' own (safe_state:), so that a device mapped by a new
 * profile brings its own. The E5CC needs
 * "communications writing" enabled (0x0001 to its command register) before
 * any write, and loses that after a power cycle, so every command to it
 * starts by enabling it again.
 */
#include "mb_devices.h"

#include <stdio.h>
#include <string.h>

#include "cfg/cfg.h"

#define E5CC_WRITE_ENABLE 0x0001
#define E5CC_RUN 0x0100
#define E5CC_STOP 0x0101

/* Checks that dev is a device of the given profile; says why not. */
static bool
is(struct mb_bus *b, int dev, const char *profile, char *err, size_t errlen)
{
	if (dev < 0 || (size_t)dev >= mb_bus_devices(b)) {
		snprintf(err, errlen, "no such device");
		return false;
	}
	if (strcmp(mb_bus_device_profile(b, dev), profile) != 0) {
		snprintf(err, errlen, "%s is a %s, not a %s", mb_bus_device_name(b, dev),
		    mb_bus_device_profile(b, dev), profile);
		return false;
	}
	return true;
}

int
mb_safe_state(struct mb_bus *b, int dev, char *err, size_t errlen)
{
	if (dev < 0 || (size_t)dev >= mb_bus_devices(b)) {
		snprintf(err, errlen, "no such device");
		return -1;
	}
	const struct profile *p = mb_bus_profile(b, dev);
	if (p->n_safe == 0) {
		snprintf(err, errlen, "%s has no safe state in profile %s", mb_bus_device_name(b, dev),
		    p->name);
		return -1;
	}
	struct mb_write w[PROFILE_MAX_SAFE];
	for (size_t i = 0; i < p->n_safe; i++) {
		w[i].reg = p->safe[i].reg;
		w[i].value = p->safe[i].value;
	}
	return mb_bus_write(b, dev, w, p->n_safe, true, err, errlen);
}

int
mb_tank_ultrasound(struct mb_bus *b, int dev, bool on, double power, double khz, double timer,
    bool sweep, char *err, size_t errlen)
{
	if (!is(b, dev, "tank-generator", err, errlen))
		return -1;
	if (!on) {
		struct mb_write w[] = { { "ultrasound_run", 0 } };
		return mb_bus_write(b, dev, w, 1, false, err, errlen);
	}
	struct mb_write w[] = { { "power_set", power }, { "frequency_set", khz },
		{ "timer_set", timer }, { "sweep", sweep ? 1 : 0 }, { "ultrasound_run", 1 } };
	return mb_bus_write(b, dev, w, 5, false, err, errlen);
}

int
mb_tank_heater(struct mb_bus *b, int dev, bool on, double setpoint, char *err, size_t errlen)
{
	if (!is(b, dev, "tank-generator", err, errlen))
		return -1;
	if (!on) {
		struct mb_write w[] = { { "heater_run", 0 } };
		return mb_bus_write(b, dev, w, 1, false, err, errlen);
	}
	struct mb_write w[] = { { "temperature_set", setpoint }, { "heater_run", 1 } };
	return mb_bus_write(b, dev, w, 2, false, err, errlen);
}

int
mb_rectifier(struct mb_bus *b, int dev, double volts, double amps, bool on, char *err,
    size_t errlen)
{
	if (!is(b, dev, "riden-rd60xx", err, errlen))
		return -1;
	struct mb_write w[] = { { "v_set", volts }, { "i_set", amps }, { "output", on ? 1 : 0 } };
	return mb_bus_write(b, dev, w, 3, false, err, errlen);
}

int
mb_heater(struct mb_bus *b, int dev, double setpoint, bool run, char *err, size_t errlen)
{
	if (!is(b, dev, "e5cc", err, errlen))
		return -1;
	struct mb_write w[] = { { "command", E5CC_WRITE_ENABLE }, { "sv", setpoint },
		{ "command", run ? E5CC_RUN : E5CC_STOP } };
	return mb_bus_write(b, dev, w, 3, false, err, errlen);
}
