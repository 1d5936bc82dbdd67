/*
 * The maison's shared history in PostgreSQL (docs/fleet.md): the schema
 * and its versioned migrations, the sender's side (atelier-sync sends the
 * journal's outbox, exactly once and in order per workshop), and the
 * reader's side (atelierd asks how often a piece was served elsewhere, and
 * a piece's history at every workshop). Every call has a deadline: a
 * server that does not answer in time is an error, never a wait.
 *
 * A fleet_conn is used by one thread at a time. It keeps its connection
 * between calls, and after a failure answers at once with the last error
 * until a retry is due, so that an outage costs the bench nothing.
 */
#ifndef ATELIER_FLEET_H
#define ATELIER_FLEET_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "cfg/cfg.h"

/* The PostgreSQL schema version this program writes and reads. */
#define FLEET_SCHEMA_VERSION 1

/* What a connection needs, copied from the configuration so that a
 * reload may replace it while a worker uses these. */
struct fleet_settings {
	char workshop[40];
	char name[120];
	char *conninfo;             /* libpq's, without the password */
	char *password;             /* read from fleet.password_file, or NULL */
	double seconds;             /* each call's deadline */
	char application[32];       /* shown in pg_stat_activity */
};

/* Fills s from cfg (the password file read now); -1 with a sentence when
 * the file cannot be read. fleet_settings_clear frees. */
int fleet_settings_from_cfg(struct fleet_settings *s, const struct cfg *cfg,
    const char *application, char *err, size_t len);
void fleet_settings_clear(struct fleet_settings *s);
/* A password file's first line (key names it in the error, e.g.
 * "fleet.password_file"), file relative to the configuration's folder:
 * 0 and a new string in *out (NULL when file is NULL), or -1 with err. */
int fleet_read_secret(const struct cfg *cfg, const char *key, const char *file, char **out,
    char *err, size_t len);
/* A deep copy, for a task that outlives a reload. */
void fleet_settings_copy(struct fleet_settings *to, const struct fleet_settings *from);

struct fleet_conn;
struct fleet_conn *fleet_conn_new(void);
void fleet_conn_free(struct fleet_conn *c);
/* Seconds a failed connection waits before the next attempt. */
void fleet_conn_retry_after(struct fleet_conn *c, double seconds);

/*
 * Connects (when not connected) within s->seconds. Returns 0, or -1 with
 * one line in err naming the server and what went wrong (refused,
 * unreachable, password, not PostgreSQL, no answer in time).
 */
int fleet_connect(struct fleet_conn *c, const struct fleet_settings *s, char *err, size_t len);

/* --- the sender (atelier-sync) ------------------------------------------- */

/*
 * Brings the schema to FLEET_SCHEMA_VERSION (under an advisory lock, each
 * migration in its own transaction) and registers the workshop with its
 * journal's origin id: a workshop id already sent from another journal is
 * refused. Returns 0 and the last sequence number received from this
 * workshop in *position, or -1 with err.
 */
int fleet_register(struct fleet_conn *c, const struct fleet_settings *s, const char *origin,
    const struct cfg_calibration *due, int64_t *position, char *err, size_t len);

/*
 * Sends events (a JSON array of {seq, t, kind, body} in order, the first
 * at *position + 1) in one transaction. Returns 0 and advances *position,
 * or -1 with err; after any error, call fleet_register again to learn
 * where the server stands (a commit may have happened unheard).
 */
int fleet_send(struct fleet_conn *c, const struct fleet_settings *s, json_t *events,
    int64_t *position, char *err, size_t len);

/* --- the readers (atelierd) ---------------------------------------------- */

/* How often each service went to serial at the other workshops (jobs not
 * aborted): a new {"service": n} object, or NULL with err. */
json_t *fleet_served(struct fleet_conn *c, const struct fleet_settings *s, const char *serial,
    char *err, size_t len);

/* The piece's jobs and audit events at the other workshops, each with its
 * workshop and the workshop's name: {piece, jobs, events} (piece null when
 * unknown there), or NULL with err. */
json_t *fleet_history(struct fleet_conn *c, const struct fleet_settings *s, const char *serial,
    char *err, size_t len);

/*
 * Merges the shared history's answer (fleet_history's, or NULL with why
 * saying why not) into this journal's history of the piece (local, or
 * NULL when the piece is not known here): the entries of both, each with
 * its workshop, in time order, and "shared" {answered, scope, why}. Takes
 * local's reference; returns the result, or NULL when neither knows the
 * piece. Only objects are taken from the answer.
 */
json_t *fleet_history_merge(json_t *local, json_t *shared, const char *why,
    const char *workshop, const char *name);

/* --- atelier-sync's state, for atelierd and atelierctl ------------------- */

/* The status file atelier-sync rewrites (atomically) as it works. */
struct fleet_status {
	int64_t position;           /* last event the shared history confirmed */
	bool postgres_ok, mqtt_ok;
	bool postgres, mqtt;        /* configured */
	char error[300];            /* the last error, "" when none */
	double updated;             /* wall-clock time of the last write */
	double error_since;         /* when the error began, 0 */
	int pid;
	bool stopped;               /* it stopped cleanly: not running, not stale */
};

/* Writes st to path through a temporary file and rename. Returns 0 or -1
 * (errno). */
int fleet_status_write(const char *path, const struct fleet_status *st);
/* Reads the file: 0, or -1 with a sentence in err (missing, unreadable,
 * not atelier-sync's). */
int fleet_status_read(const char *path, struct fleet_status *st, char *err, size_t len);
/* The status file's path for cfg (relative to state_dir), new string. */
char *fleet_status_path(const struct cfg *cfg);

/*
 * The fleet's state as atelierd reports it: {workshop, position, backlog,
 * postgres, mqtt, error, sync} with the backlog counted from the journal's
 * last sequence number (local_last), and a one-line summary in line.
 */
json_t *fleet_status_json(const struct cfg *cfg, int64_t local_last, char *line, size_t len);

#endif
