/*
 * The safety path: a thread of its own, with its own poll, that owns the
 * workshop's GPIO lines (the e-stop, every door, lid and fume input; every
 * enable relay and beacon), the interlock built from the configuration,
 * and each laser's stop byte. It reacts to a trip on its own, in the pass
 * that saw the input change, for each station whose outputs the trip
 * withdrew: relays off, the stop byte on that laser's port, the safe-state
 * commands at the head of that station's Modbus queues. It never waits for the API, the
 * journal, the engraving engine or a Modbus bus, so nothing a client does
 * can delay it (DESIGN.md, "The safety path").
 *
 * The rest of the daemon asks it: an output is energised only through
 * safety_energise(), which checks the interlock and drives the relay in
 * the safety thread, so no trip can fall between the check and the relay.
 * The daemon hears of trips afterwards, through safety_fd() and
 * safety_drain(), to end streams, stations and steps and to tell clients.
 *
 * Locking: one mutex guards what the two sides share (the request slot,
 * the event queue, the published snapshot); it is never held across I/O.
 */
#ifndef ATELIER_SAFETY_H
#define ATELIER_SAFETY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfg/cfg.h"
#include "grbl.h"
#include "mb_bus.h"
#include "policy/interlock.h"

/* The devices the safety path stops and whose links the interlock needs,
 * by station (as cfg->stations). */
struct safety_devices {
	struct safety_station {
		struct grbl_stopline *laser;    /* a laser's port; NULL: none */
		struct mb_bus *bus[2];          /* a tank's generator; a bath's rectifier, heater */
		int dev[2];                     /* -1: none */
	} st[CFG_MAX_STATIONS];
};
/* Every station without devices. */
void safety_devices_none(struct safety_devices *dev);

enum safety_event_type {
	SAFETY_EV_TRIP,         /* actuators withdrawn; the safe state is already made */
	SAFETY_EV_INPUT,        /* a debounced input changed */
	SAFETY_EV_GPIO_LINK,    /* the GPIO lines were lost or came back */
};

struct safety_event {
	enum safety_event_type type;
	uint64_t tripped;               /* TRIP: bit per actuator of the layout */
	/* TRIP: what went to each laser's port (0: nothing), by station. */
	unsigned char laser_byte[CFG_MAX_STATIONS];
	int line;                       /* INPUT: index into cfg->lines */
	int value;                      /* INPUT */
	bool up;                        /* GPIO_LINK */
	char why[160];                  /* GPIO_LINK */
};

/* What the daemon may read at any time. */
struct safety_state {
	struct interlock il;            /* its layout is the safety path's */
	int lines[CFG_MAX_LINES];       /* inputs debounced (-1 unknown), outputs as driven */
	bool gpio_up;
	bool realtime;                  /* the thread runs at a real-time priority */
};

struct safety;

/*
 * Builds the interlock of cfg, opens its GPIO lines (outputs inactive) and
 * starts the thread. cfg must outlive the safety path. Returns NULL with
 * the reason logged.
 */
struct safety *safety_start(const struct cfg *cfg);
/* The interlock's layout, for as long as the safety path runs. */
const struct il_layout *safety_layout(const struct safety *s);
/* Every output inactive, lines released, thread joined. */
void safety_stop(struct safety *s);

/* Readable when events wait; safety_drain takes up to max of them. Trips
 * are never lost: those not yet drained are merged into one TRIP event,
 * which comes first. Input and link news may be dropped, oldest first, if
 * the daemon falls behind by more than a few hundred. */
int safety_fd(const struct safety *s);
size_t safety_drain(struct safety *s, struct safety_event *out, size_t max);

/* Replaces the devices (NULL: none). Returns once the safety thread has
 * let go of the old ones, so the caller may then free them. */
void safety_set_devices(struct safety *s, const struct safety_devices *dev);
/* A device link may have changed: look now rather than at the next tick. */
void safety_poke(struct safety *s);

/*
 * Drives an output (an enable relay or a beacon; an index into cfg->lines)
 * on, if the interlock permits it. Returns 0, or -1 with the interlock's
 * reason (or the relay's failure) in why.
 */
int safety_energise(struct safety *s, int line, char *why, size_t len);
/* Drives an output off; returns once it is. */
void safety_release(struct safety *s, int line);
/* A technician's reset of the e-stop latch. */
enum il_reset_result safety_reset(struct safety *s);
void safety_snapshot(struct safety *s, struct safety_state *out);

#endif
