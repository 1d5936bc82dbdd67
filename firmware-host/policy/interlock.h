/*
 * The interlock: a pure state machine (no I/O) from the bench's safety
 * inputs to the set of actuators that may be energised. Stations ask it
 * before energising anything and obey its trips at once. The emergency
 * stop latches: once pressed, nothing is permitted until the button is
 * released AND a technician resets the latch.
 */
#ifndef ATELIER_INTERLOCK_H
#define ATELIER_INTERLOCK_H

#include <stdbool.h>

/* Device links whose loss forbids the actuators that depend on them. */
enum il_link { IL_LINK_GPIO = 0, IL_LINK_LASER, IL_LINK_TANK, IL_LINK_RECTIFIER,
	IL_LINK_BATH_HEATER, IL_LINK_COUNT };

enum il_actuator { IL_LASER = 0, IL_ULTRASOUND, IL_TANK_HEATER, IL_RECTIFIER,
	IL_BATH_HEATER, IL_ACTUATOR_COUNT };

struct il_inputs {
	bool estop_pressed;
	bool laser_door_open;
	bool tank_lid_open;
	bool fume_ok;
	bool link_ok[IL_LINK_COUNT];
};

struct interlock {
	struct il_inputs in;
	bool latched;           /* e-stop latch, cleared only by interlock_reset */
	unsigned permitted;     /* bit per il_actuator */
};

/* Starts with every link down: nothing is permitted until the inputs have
 * been read and the links are up. */
void interlock_init(struct interlock *il);

/*
 * Takes a new snapshot of the inputs. Returns the bit mask of actuators
 * that were permitted and no longer are (the trips the stations must act
 * on now); 0 when nothing was withdrawn.
 */
unsigned interlock_update(struct interlock *il, const struct il_inputs *in);

enum il_reset_result {
	IL_RESET_DONE = 0,
	IL_RESET_NOT_LATCHED,   /* nothing to reset */
	IL_RESET_STILL_PRESSED, /* the button must be released first */
};
/* A technician's reset of the e-stop latch. */
enum il_reset_result interlock_reset(struct interlock *il);

bool interlock_permits(const struct interlock *il, enum il_actuator a);
/*
 * Why the actuator is forbidden, as a sentence for a jeweller ("the
 * emergency stop is latched: a technician must reset it"), or NULL when it
 * is permitted. The first reason in order of severity is given.
 */
const char *interlock_reason(const struct interlock *il, enum il_actuator a);
const char *interlock_actuator_name(enum il_actuator a);

#endif
