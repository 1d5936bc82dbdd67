/*
 * The job journal: SQLite in WAL mode with foreign keys on, prepared
 * statements only, and versioned schema migrations. Nothing is ever
 * deleted. Every step transition is committed, with its audit event (who,
 * when, what, why), before the caller acts on it, so that after a crash
 * the journal says exactly which steps were running: store_recover marks
 * them interrupted before anything else happens.
 */
#ifndef ATELIER_STORE_H
#define ATELIER_STORE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct store;

/* Opens (creating if needed) and migrates the journal; NULL with a sentence
 * in err (locked by another process, read-only, full, corrupt, newer
 * schema than this program knows). */
struct store *store_open(const char *path, char *err, size_t errlen);
/* A second, read-only connection to an existing journal, for a thread of
 * its own (WAL lets it read while the daemon writes); NULL with a sentence
 * in err. Only the store_query-style readers may be used on it. */
struct store *store_open_reader(const char *path, char *err, size_t errlen);
/* Interrupts the reader's statements once *cancel is set or the monotonic
 * time passes deadline (0: none), so that a heavy read stays in budget. */
void store_reader_limit(struct store *s, const atomic_int *cancel, double deadline);
void store_close(struct store *s);
/* The SQLite handle, for the other tables' own query files
 * (calib_store.c); NULL for a NULL store. */
struct sqlite3;
struct sqlite3 *store_db(struct store *s);
/* The schema version the journal is at. */
int store_version(struct store *s);

/* Records an audit event; job may be 0. Returns 0 or -1 (err set). */
int store_event(struct store *s, const char *who, const char *what, const char *why, int64_t job,
    char *err, size_t errlen);

/* A piece by serial number: its id, 0 when the serial is new, or -1 with
 * err naming the field when the serial is recorded with other data (type,
 * collection, metal, paved, purchase date). Writes nothing. */
int64_t store_piece_find(struct store *s, const char *serial, const char *type,
    const char *collection, const char *metal, int paved, const char *purchase_date,
    char *err, size_t errlen);
/* The same, creating the piece when the serial is new; its id or -1. */
int64_t store_piece(struct store *s, const char *serial, const char *type, const char *collection,
    const char *metal, int paved, const char *purchase_date, char *err, size_t errlen);

/*
 * A piece's gems are part of its identity, like its metal. A gem list is
 * compared as a set: store_gems_normal gives the journal's form of one
 * (JSON text, to free: [{count, species, treatment}] sorted by species
 * and treatment, a missing treatment "none", the same stone named twice
 * one entry with both counts), or NULL when it is not a list of
 * {species, treatment, count}.
 */
char *store_gems_normal(json_t *gems);
/* The same from JSON text; NULL when it cannot be read. */
char *store_gems_normal_text(const char *text);
/* Whether two gem lists (JSON texts) are the same set; false when either
 * cannot be read. */
bool store_gems_same(const char *a, const char *b);
/* A gem list for people: "diamond x3, emerald (oiled) x1", "no stones". */
void store_gems_describe(const char *gems, char *out, size_t len);
/* The piece's current gem list: 1 with *gems (JSON text to free; NULL
 * when none is recorded yet), 0 when the serial is new, -1 with err. */
int store_piece_gems(struct store *s, const char *serial, char **gems, char *err,
    size_t errlen);

/* One step of a new job, as planned. */
struct store_step {
	const char *name, *title, *kind, *station;
	const char *params;     /* JSON object text */
	const char *payload;    /* the G-code of an engraving, or NULL */
	const char *state;      /* pending, substituted or skipped */
	const char *reason;     /* why substituted or skipped */
};

struct store_job {
	const char *serial, *type, *collection, *metal, *purchase_date;
	int paved;
	const char *const *services;
	size_t n_services;
	const char *operator_;      /* who took the piece in */
	const char *who;            /* for the audit event (NULL: operator_) */
	const char *plan, *quote;   /* JSON texts */
	const struct store_step *steps;
	size_t n_steps;
	const char *gems;           /* the piece's gem list, JSON text (NULL: none) */
	bool supersede_gems;        /* a technician confirmed a list other than the recorded one */
};

/* Records the piece (or checks it against its record), the job, its
 * services and steps, and the audit event, in one transaction: all or
 * nothing; inside the caller's transaction it joins that one. A piece
 * recorded with another gem list is refused naming both lists, unless
 * supersede_gems: then the job's list becomes the piece's, with an event
 * "piece gems superseded" saying what it was. Returns the job id, or -1
 * with a sentence in err. */
int64_t store_job_create(struct store *s, const struct store_job *j, char *err, size_t errlen);
/* Earlier jobs, not aborted, that gave service to this serial; -1 on error. */
int store_times_served(struct store *s, const char *serial, const char *service);
/* The id of step seq (from 1) of a job, or -1. */
int64_t store_step_id(struct store *s, int64_t job, int seq);
/* Moves a step from state `from` to `to`, sets its job's state to job_to
 * (NULL: unchanged) and records who, why and the bench note (may be NULL),
 * in one transaction committed before returning. A step entering running
 * counts an attempt; the reason is kept for failed, aborted, interrupted
 * and substituted.
 * Returns 0, or -1 with err (the step is not in `from`, or the journal
 * cannot be written). */
int store_step_transition(struct store *s, int64_t step, const char *from, const char *to,
    const char *job_to, const char *who, const char *why, const char *note, char *err,
    size_t errlen);
/* Inside the caller's transaction: adds a step to a job after step
 * `after` (the later steps move one place down), with an audit event.
 * Returns the new step's id, or -1 with err. */
int64_t store_step_insert(struct store *s, int64_t job, int after, const struct store_step *st,
    const char *who, const char *why, char *err, size_t errlen);
/* A job's state with its audit event, in one committed transaction. */
int store_job_transition(struct store *s, int64_t job, const char *to, const char *who,
    const char *why, char *err, size_t errlen);
/* Inside a transaction of the caller's: the job's state only. */
int store_job_set(struct store *s, int64_t job, const char *state, char *err, size_t errlen);
/* A step's state into out; returns 0 or -1. */
int store_step_state(struct store *s, int64_t step, char *out, size_t len);

/* Several changes that stand or fall together. */
int store_begin(struct store *s, char *err, size_t errlen);
int store_commit(struct store *s, char *err, size_t errlen);
void store_rollback(struct store *s);

/* Runs a prepared read with text ('t') and int64 ('i') parameters; the
 * rows as an array of objects keyed by column name, or NULL on error
 * (store_errmsg says why). */
json_t *store_query(struct store *s, const char *sql, const char *fmt, ...);
const char *store_errmsg(struct store *s);

/* After a crash: every machine step found running is marked interrupted
 * (and its job), with an audit event each. A manual step at the bench goes
 * on: the daemon stopping does not stop the jeweller. Returns how many, or
 * -1. */
int store_recover(struct store *s, char *err, size_t errlen);

/* The outbox (outbox.c): the journal's events in order, for the shared
 * history. The last sequence number (0: none yet; -1 on error); the
 * events after one, at most limit, as [{seq, t, kind, body}] (NULL on
 * error); the journal's origin id (0, or -1). */
int64_t store_outbox_last(struct store *s);
json_t *store_outbox_after(struct store *s, int64_t after, int limit);
int store_outbox_origin(struct store *s, char *out, size_t len);

#endif
