/*
 * The sender: the journal's outbox to the shared history, in batches, in
 * order. It keeps no position of its own: at every (re)connection it asks
 * PostgreSQL for the last event it holds from this workshop and goes on
 * from the next, and PostgreSQL refuses any event that does not follow
 * (fleet_schema.c). So a sender killed at any point, a commit whose
 * answer was lost, or an outage of any length ends with every event
 * there once, in order: nothing to reconcile, nothing written twice.
 *
 * The journal is opened read-only (WAL lets atelierd write meanwhile) and
 * watched through SQLite's data_version, which changes when another
 * connection commits: cheap enough to look every 50 ms.
 */
#include "sync/sync.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "journal/store.h"
#include "log.h"
#include "util.h"

#define POLL_SECONDS 0.05
#define RETRY_FIRST 1.0
#define RETRY_MAX 15.0

static int64_t
data_version(struct store *st)
{
	json_t *r = store_query(st, "PRAGMA data_version", "");
	int64_t v = r ? json_integer_value(json_object_get(json_array_get(r, 0), "data_version")) :
	    -1;
	json_decref(r);
	return v;
}

static void
set_position(struct sync_state *s, int64_t position, bool ok)
{
	pthread_mutex_lock(&s->lock);
	if (s->status.position != position || s->status.postgres_ok != ok)
		s->changed = true;
	s->status.position = position;
	s->status.postgres_ok = ok;
	pthread_mutex_unlock(&s->lock);
}

/* The events must follow position one by one: the outbox never skips a
 * number (AUTOINCREMENT, written in the change's own transaction). */
static int
check_follows(json_t *events, int64_t position, char *err, size_t len)
{
	size_t i;
	json_t *e;
	json_array_foreach(events, i, e) {
		int64_t seq = json_integer_value(json_object_get(e, "seq"));
		if (seq != position + 1 + (int64_t)i)
			return fail_msg(err, len, "the journal's outbox jumps from event %lld to %lld: "
			    "refusing to leave a gap in the shared history",
			    (long long)(position + (int64_t)i), (long long)seq);
	}
	return 0;
}

/* After a failure of the shared history: said in the status; --once
 * stops there (exit 1); else a wait, longer after each failure in a row.
 * Returns false to stop. */
static bool
wait_after_failure(struct sync_state *s, int64_t position, const char *err, double *retry)
{
	set_position(s, position, false);
	sync_error(s, true, err);
	if (s->once) {
		s->exit_code = 1;
		return false;
	}
	sync_sleep(s, *retry);
	*retry = *retry * 2 > RETRY_MAX ? RETRY_MAX : *retry * 2;
	return true;
}

void *
sync_send_thread(void *arg)
{
	struct sync_state *s = arg;
	const struct cfg *cfg = s->cfg;
	struct fleet_settings set;
	struct fleet_conn *conn = fleet_conn_new();
	struct store *st = NULL;
	char err[600], origin[64] = "";
	bool registered = false;
	int64_t position = 0, seen_version = -1;
	double retry = RETRY_FIRST;
	fleet_conn_retry_after(conn, 0);
	if (fleet_settings_from_cfg(&set, cfg, "atelier-sync", err, sizeof err) < 0) {
		sync_error(s, true, err);
		memset(&set, 0, sizeof set);
		s->exit_code = 1;
		goto out;
	}
	/* Sending is the sender's whole work: a batch may take longer than
	 * a lookup at the bench. */
	set.seconds = cfg->fleet.lookup_seconds * 5 > 5 ? cfg->fleet.lookup_seconds * 5 : 5;
	while (atomic_load(&s->running)) {
		if (!st) {
			st = store_open_reader(s->journal, err, sizeof err);
			if (!st || store_outbox_origin(st, origin, sizeof origin) < 0) {
				if (st)
					snprintf(err, sizeof err, "the journal %s has no outbox origin",
					    s->journal);
				store_close(st);
				st = NULL;
				sync_error(s, true, err);
				if (s->once) {
					s->exit_code = 1;
					break;
				}
				sync_sleep(s, retry);
				continue;
			}
		}
		if (!registered) {
			if (fleet_register(conn, &set, origin, &cfg->calibration, &position, err,
			    sizeof err) < 0) {
				if (!wait_after_failure(s, position, err, &retry))
					break;
				continue;
			}
			registered = true;
			retry = RETRY_FIRST;
			seen_version = -1;
			set_position(s, position, true);
			sync_error(s, true, NULL);
			log_info("shared history: workshop %s, %lld events received so far",
			    set.workshop, (long long)position);
		}
		int64_t v = data_version(st);
		json_t *events = v == seen_version ? NULL :
		    store_outbox_after(st, position, cfg->fleet.batch);
		if (v != seen_version && !events) {
			/* The journal went away (replaced, or its disk): open again. */
			snprintf(err, sizeof err, "the journal %s cannot be read: %s", s->journal,
			    store_errmsg(st));
			sync_error(s, true, err);
			store_close(st);
			st = NULL;
			sync_sleep(s, retry);
			continue;
		}
		if (!events || json_array_size(events) == 0) {
			/* Caught up: seen_version only moves once everything up to
			 * that version is sent. */
			seen_version = v;
			json_decref(events);
			if (s->once)
				break;
			sync_sleep(s, POLL_SECONDS);
			continue;
		}
		int rc = check_follows(events, position, err, sizeof err);
		if (rc == 0)
			rc = fleet_send(conn, &set, events, &position, err, sizeof err);
		json_decref(events);
		if (rc < 0) {
			registered = false;     /* learn where the server stands */
			if (!wait_after_failure(s, position, err, &retry))
				break;
			continue;
		}
		set_position(s, position, true);
	}
out:
	store_close(st);
	fleet_conn_free(conn);
	fleet_settings_clear(&set);
	pthread_mutex_lock(&s->lock);
	s->changed = true;
	pthread_mutex_unlock(&s->lock);
	if (s->once) {
		/* The main thread waits in sigwait: end it. */
		atomic_store(&s->running, false);
		kill(getpid(), SIGTERM);
	}
	return NULL;
}
