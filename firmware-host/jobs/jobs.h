/*
 * The job engine of atelierd: creates jobs from plans (jobs_plan.h), keeps
 * them in the journal (store.h) and runs their steps. A manual step waits
 * at the bench for the jeweller's confirmation with a note. A machine step
 * waits in its station's queue until the jeweller has loaded the piece and
 * runs the station: the laser and the bath take one step at a time, the
 * tank takes a load of every queued piece, each cleared by policy again.
 * Every transition is committed to the journal before the actuator command
 * that follows it is sent; a station that stops (complete, fault,
 * interlock, abort) ends its steps done or failed.
 */
#ifndef ATELIER_JOBS_H
#define ATELIER_JOBS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cfg/cfg.h"
#include "err.h"

struct daemon;
struct engrave_settings;

/* The queues: a machine step waits for a kind of station, and runs at any
 * free station of the kind (or at the one station.run names). */
enum job_station { JS_LASER = KIND_LASER, JS_TANK = KIND_TANK, JS_BATH = KIND_BATH,
	JS_COUNT = KIND_COUNT };

/* A station's outcome for a step that the journal could not record
 * (full, locked): kept and written again until it is, so that no step
 * stays running for ever. */
struct jobs_outcome {
	int64_t step, job;
	int seq;
	enum job_station station;       /* its queue */
	bool ok;
	bool recorded;          /* written; the job still has to advance */
	char name[64];
	char why[200];          /* the station's reason */
	char error[200];        /* why the journal refused it */
};

/* The engine's memory: which steps each station (by its index in the
 * configuration) is running now. The journal holds everything else. */
struct jobs {
	int64_t active[CFG_MAX_STATIONS][32];   /* step ids */
	size_t n_active[CFG_MAX_STATIONS];
	/* What waits at each station, as status shows it; dropped at every
	 * change, so that status (polled by every client) reads the journal
	 * only after something moved. */
	json_t *queues;
	/* Outcomes waiting for the journal, at most one a step a station ran;
	 * the retry timer writes them again after a second, then less often
	 * (a locked journal makes each try wait for its busy timeout). */
	struct jobs_outcome unrecorded[CFG_MAX_STATIONS * 32];
	size_t n_unrecorded;
	uint64_t retry_timer;
	double retry_delay;     /* s until the next try; 0: none yet */
	bool flushing;          /* writing them again: said once, not at every try */
};

/* An engraving laid out ahead of planning, off the loop (offload.c): what
 * the planner's layout step gives, or why it failed. */
/* What the maison's shared history said of the piece (fleet.h), asked off
 * the loop before planning. */
struct jobs_shared {
	bool asked;             /* a shared history is configured */
	bool answered;          /* within fleet.lookup_seconds */
	json_t *served;         /* {"service": times} at the other workshops */
	char why[400];          /* why it did not answer */
};

/* What a plan needs that is computed off the loop: the engraving's layout
 * (when there is one) and the shared history's answer. */
struct jobs_layout {
	json_t *summary;        /* the step's parameters, or NULL on failure */
	char *gcode;            /* the toolpath for the step's payload */
	bool refused;           /* it does not fit: a refusal, not bad input */
	char err[400];
	struct jobs_shared shared;
};
void jobs_layout_free(struct jobs_layout *l);
/* Lays out the request's engraving as the planner would (any thread that
 * may run the engraving engine); settings from the laser's configuration. */
void jobs_layout_compute(const struct engrave_settings *set, json_t *spec,
    struct jobs_layout *out);

/* API-facing operations; each returns a result (new reference), or NULL
 * with an API error code in *code and a sentence in msg. `who` is what
 * the audit trail records: the operator named and the caller's account.
 * pre, when not NULL, is the engraving's layout already made. */
json_t *jobs_create(struct daemon *d, json_t *params, bool dry_run, const char *who,
    const struct jobs_layout *pre, struct err *e);
json_t *jobs_start(struct daemon *d, int64_t job, const char *who, struct err *e);
json_t *jobs_step_done(struct daemon *d, int64_t job, int seq, const char *who,
    const char *note, struct err *e);
json_t *jobs_step_retry(struct daemon *d, int64_t job, int seq, const char *who, struct err *e);
json_t *jobs_step_abort(struct daemon *d, int64_t job, int seq, const char *who,
    const char *why, struct err *e);
json_t *jobs_abort(struct daemon *d, int64_t job, const char *who, const char *why, struct err *e);
/* Runs the next load queued for a station: the one named, or any free
 * station of a kind named ("laser", "tank", "bath"). uid is the
 * caller's, who owns the run (a laser hold and resume are its). */
json_t *jobs_station_run(struct daemon *d, const char *station, const char *who, uid_t uid,
    struct err *e);
json_t *jobs_show(struct daemon *d, int64_t job, struct err *e);
json_t *jobs_list(struct daemon *d, const char *state, const char *serial, int limit, struct err *e);
/* A piece's jobs and events, read from st: the journal, or a reader of it
 * (store_open_reader) in a worker. */
struct store;
json_t *jobs_history(struct store *st, const char *serial, struct err *e);
/* Every step of every job (of one serial when given), one row each. */
json_t *jobs_export(struct store *st, const char *serial, struct err *e);
/* What waits at each station. */
json_t *jobs_queues(struct daemon *d);

/* The station (its index in the configuration) ended what it was
 * running: ok when it completed. Safe to call when it ran nothing for a
 * job. */
void jobs_station_finished(struct daemon *d, int station, bool ok, const char *why);
/* Writes again the outcomes the journal refused (and advances their
 * jobs); returns how many still wait. Every job operation calls it first;
 * a timer calls it while any wait. */
size_t jobs_flush(struct daemon *d);
/* The daemon is stopping: running steps are marked interrupted. An
 * outcome the journal still refuses leaves its step running there, and
 * the next start marks it interrupted (store_recover). */
void jobs_shutdown(struct daemon *d);
/* The engine in a daemon: its state (d->jobs), listening to the stations
 * for the end of what they run. Returns 0, or -1 with e. */
int jobs_attach(struct daemon *d, struct err *e);
/* jobs_shutdown, then the engine's state freed. */
void jobs_detach(struct daemon *d);

const char *jobs_station_name(enum job_station st);

#endif
