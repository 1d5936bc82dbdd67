/*
 * Technician calibration of the stations (issue 7): the pure maths of
 * each procedure (two-point gain and offset, the transducer's resonance
 * from a frequency sweep, steps-per-mm from a measured square, rhodium
 * left from ampere-hours, when a calibration is due), the corrections it
 * gives the daemon (corrections.h) and the records in the journal
 * (calib_store.c). Calibration is built on the stations: it hears them
 * through a listener and the daemon never calls it by name.
 */
#ifndef ATELIER_CALIB_H
#define ATELIER_CALIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "cfg/cfg.h"
#include "daemon/corrections.h"

struct daemon;
struct store;

/* --- pure maths ---------------------------------------------------------- */

/* struct calib_line, calib_forward and calib_inverse: corrections.h. */

/* Limits a two-point calibration must respect to be believed. */
struct calib_limits {
	double min_span;        /* the two points at least this far apart (device units) */
	double max_gain_error;  /* |gain - 1| at most this */
	double max_offset;      /* |offset| at most this (true units) */
};

/*
 * The line through (device1, true1) and (device2, true2). Returns 0, or -1
 * with a sentence in err when the readings make no sense: not finite, the
 * points too close, a gain or offset beyond the limits (a wrong unit, the
 * probe out of the water), or a negative slope.
 */
int calib_two_point(double dev1, double ref1, double dev2, double ref2,
    const struct calib_limits *lim, struct calib_line *out, char *err, size_t errlen);

/*
 * The resonance of a sweep: frequencies (kHz, strictly increasing) and
 * transducer currents. The maximum, refined by a parabola through it and
 * its neighbours. Returns 0, or -1 with err when there is no peak worth
 * the name: fewer than 3 points, the maximum on an edge of the sweep (the
 * resonance is outside it), or a flat response (no current rises 20 %
 * above the sweep's lowest, or a maximum less than 1.5 times both ends:
 * no transducer, the tank empty, or noise on a flank).
 */
int calib_resonance(const double *khz, const double *current, size_t n, double *peak_khz,
    double *peak_current, char *err, size_t errlen);

/*
 * Steps-per-mm correction from a reference square of `commanded` mm
 * engraved at `steps` and measured at `measured` mm: steps * commanded /
 * measured. Refuses (-1, err) a measurement that is not positive or off by
 * more than max_error (fraction, e.g. 0.2): a misread rule, not a scale.
 */
int calib_steps_per_mm(double steps, double commanded, double measured, double max_error,
    double *out, char *err, size_t errlen);

/* Rhodium deposited by ah ampere-hours at a cathode efficiency in %
 * (shared domain facts §4: 1.28 g/Ah at 100 %). */
#define CALIB_RH_G_PER_AH 1.28
double calib_rhodium_used(double ah, double efficiency_pct);

/* --- calibration in the daemon ------------------------------------------ */

/* Calibration's state, in the daemon (d->calib) while calibration runs. */
struct calib_state {
	/* Each bath's rhodium, by station index. */
	struct calib_bath {
		bool replenished;       /* a replenishment was recorded */
		double ah_base;         /* rectifier counter at the replenishment, Ah */
		double rh_grams;        /* rhodium in the bath then, g */
		bool warned;
	} bath[CFG_MAX_STATIONS];
	void *proc;             /* the procedure in progress (api_calib.c) */
	uint64_t proc_timer;    /* runs it while there is one */
	json_t *due;            /* calib_due_json for status, until due_until */
	double due_until;
};

/* Reads the corrections in force from the journal (the latest record of
 * each procedure for each station) into d->corr, and each bath's last
 * replenishment. */
void calib_load(struct daemon *d);

/*
 * Whether a station's calibration is due, for the job engine at planning.
 * Returns 0: up to date; 1: overdue, warn; 2: overdue and the
 * configuration (calibration.refuse_overdue) refuses; -1: the journal
 * cannot be read (msg says so; treat as 2). msg says which station and
 * since when ("the tank was last calibrated on 2026-01-02, 180 days are
 * allowed: overdue since 2026-07-01", or "never calibrated").
 */
int calib_due_check(struct daemon *d, const char *station, char *msg, size_t len);

/*
 * calib_due_check for every station a job plan's pending machine steps
 * use: each overdue one adds a sentence to the plan's "warnings"; returns
 * 2 with err when one is overdue and the configuration refuses, else 0.
 */
int calib_plan_check(struct daemon *d, json_t *plan, char *err, size_t errlen);

/* The due state of every station as JSON, for calibration.due. */
json_t *calib_due_json(struct daemon *d);
/* The same for status, which is asked many times a second: kept for a
 * minute, or until calib_changed says a record was added. */
json_t *calib_due_status(struct daemon *d);
void calib_changed(struct daemon *d);
/* A bath station's rhodium estimate as JSON, for bath.rhodium (NULL when
 * no replenishment is recorded). */
struct station;
json_t *calib_rhodium_json(struct daemon *d, struct station *bath);

/* --- records (calib_store.c) --------------------------------------------- */

struct calib_record {
	const char *station;    /* laser, tank, bath */
	const char *procedure;  /* e.g. "tank.temperature" */
	const char *kind;       /* calibration, check, maintenance */
	const char *technician;
	const char *instrument; /* the reference instrument, or NULL */
	const char *before;     /* JSON text */
	const char *after;      /* JSON text */
	const char *note;       /* or NULL */
	const char *t;          /* ISO 8601 UTC; NULL = now (tests back-date) */
};

/* Appends a record, with its audit event, in one transaction. Returns the
 * record's id, or -1 with err. */
int64_t calib_store_add(struct store *s, const struct calib_record *r, char *err, size_t errlen);
/* The records, newest first, of a station (NULL: all), at most limit. */
json_t *calib_store_history(struct store *s, const char *station, int limit, char *err,
    size_t errlen);
/* The "after" of the latest record of a procedure for a station, parsed
 * (new reference), or NULL when there is none. */
json_t *calib_store_latest(struct store *s, const char *station, const char *procedure);
/*
 * The latest material test (laser.grid) at station for that metal, or
 * for any metal of that engraving material (the golds are "gold"): its
 * chosen power (%) and speed (mm/min), when and its record. Returns 0,
 * 1 when there is none, -1 when the journal cannot be read.
 */
int calib_store_grid_choice(struct store *s, const char *station, const char *metal,
    const char *material, double *power, double *speed, char *when, size_t whenlen,
    int64_t *record);
/* One record by id: {"station", "procedure", "after"} (new reference), or
 * NULL when there is none. */
json_t *calib_store_get(struct store *s, int64_t id);
/* The time (ISO) and age in days of the latest record of kind
 * 'calibration' of a station. Returns 1 found, 0 none, -1 error. */
int calib_store_last(struct store *s, const char *station, char *t, size_t tlen, double *age_days);

#endif
