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

#include <stddef.h>
#include <stdint.h>

struct store;

/* Opens (creating if needed) and migrates the journal; NULL with a sentence
 * in err (locked by another process, read-only, full, corrupt, newer
 * schema than this program knows). */
struct store *store_open(const char *path, char *err, size_t errlen);
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

/* A piece, looked up by serial number or created; returns its id or -1. */
int64_t store_piece(struct store *s, const char *serial, const char *type, const char *collection,
    const char *metal, int paved, const char *purchase_date, char *err, size_t errlen);
/* A planned job with its steps (names and kinds, in order), in one
 * transaction with its audit event; returns the job id or -1. */
int64_t store_job_create(struct store *s, int64_t piece, const char *services, const char *operator_,
    const char *plan_json, const char *const *step_names, const char *const *step_kinds,
    size_t n_steps, char *err, size_t errlen);
/* The id of step seq (from 1) of a job, or -1. */
int64_t store_step_id(struct store *s, int64_t job, int seq);
/* Moves a step from state `from` to `to` and records who and why, in one
 * transaction committed before returning. Returns 0, or -1 with err (the
 * step is not in `from`, or the journal cannot be written). */
int store_step_transition(struct store *s, int64_t step, const char *from, const char *to,
    const char *who, const char *why, char *err, size_t errlen);
/* A step's state into out; returns 0 or -1. */
int store_step_state(struct store *s, int64_t step, char *out, size_t len);

/* After a crash: every step found running is marked interrupted (and its
 * job), with an audit event each. Returns how many, or -1. */
int store_recover(struct store *s, char *err, size_t errlen);

#endif
