/*
 * The interlock: a pure state machine (no I/O) from the workshop's safety
 * inputs to the set of actuators that may be energised. Its layout is
 * built from the configuration: one actuator per station output (a
 * laser's relay and beacon, a tank's ultrasound and heater, a bath's
 * rectifier and heater), the guards that forbid them (each door or lid
 * guards its own station; the fume extraction is the workshop's, or a
 * station's own), and the device links each depends on. Stations ask it
 * before energising anything and obey its trips at once. The emergency
 * stop latches: once pressed, nothing is permitted until the button is
 * released AND a technician resets the latch.
 */
#ifndef ATELIER_INTERLOCK_H
#define ATELIER_INTERLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfg/cfg.h"

#define IL_MAX 64               /* actuators, guards or links: bits of a mask */
#define IL_LINK_GPIO 0          /* the GPIO lines themselves */

struct il_layout {
	size_t n_actuators, n_guards, n_links;
	struct il_actuator {
		char name[48];          /* the output's line name, "laser-2.enable" */
		int line;               /* index into cfg->lines */
		int station;            /* index into cfg->stations */
		enum cfg_role role;
		uint64_t guards;        /* every guard that must not block it */
		uint64_t links;         /* every link that must be up */
	} actuators[IL_MAX];
	struct il_guard {
		int line;               /* the input, index into cfg->lines */
		int station;            /* -1: the workshop's */
		enum cfg_role role;
		int blocks_at;          /* the input's value that forbids: 1 open, 0 no fume */
		char reason[112];       /* "the laser door is open" */
	} guards[IL_MAX];
	struct il_link {
		int station;            /* -1: the GPIO lines */
		int which;              /* a bath's 0 rectifier, 1 heater; else 0 */
		char reason[112];       /* "the laser is not connected" */
	} links[IL_MAX];
	int estop_line;             /* index into cfg->lines */
	/* The link of each station's device(s), -1: none. */
	int station_link[CFG_MAX_STATIONS][2];
};

/*
 * Builds the layout of a configuration. Returns 0, or -1 with why (more
 * than IL_MAX actuators, guards or links; no e-stop line).
 */
int interlock_layout(struct il_layout *out, const struct cfg *cfg, char *why, size_t len);
/* The actuator an output line feeds, or -1 when it is not an output. */
int interlock_actuator_of_line(const struct il_layout *l, int line);

struct il_inputs {
	bool estop_pressed;
	uint64_t blocked;       /* bit per guard whose input forbids now */
	uint64_t links_up;      /* bit per link that is up */
};

struct interlock {
	const struct il_layout *layout;
	struct il_inputs in;
	bool latched;           /* e-stop latch, cleared only by interlock_reset */
	uint64_t permitted;     /* bit per actuator */
};

/* Starts with every link down: nothing is permitted until the inputs have
 * been read and the links are up. The layout must outlive il. */
void interlock_init(struct interlock *il, const struct il_layout *layout);

/*
 * Takes a new snapshot of the inputs. Returns the bit mask of actuators
 * that were permitted and no longer are (the trips the stations must act
 * on now); 0 when nothing was withdrawn.
 */
uint64_t interlock_update(struct interlock *il, const struct il_inputs *in);

enum il_reset_result {
	IL_RESET_DONE = 0,
	IL_RESET_NOT_LATCHED,   /* nothing to reset */
	IL_RESET_STILL_PRESSED, /* the button must be released first */
};
/* A technician's reset of the e-stop latch. */
enum il_reset_result interlock_reset(struct interlock *il);

bool interlock_permits(const struct interlock *il, int actuator);
/*
 * Why the actuator is forbidden, as a sentence for a jeweller ("the
 * emergency stop is latched: a technician must reset it"), or NULL when it
 * is permitted. The first reason in order of severity is given: the
 * e-stop, the GPIO link, the station's door or lid, the fume extraction,
 * the device's link.
 */
const char *interlock_reason(const struct interlock *il, int actuator);
/* The same for an output line; "not an output" for any other line. */
const char *interlock_reason_line(const struct interlock *il, int line);
const char *interlock_actuator_name(const struct interlock *il, int actuator);

#endif
