/*
 * libpq with deadlines (see fleet.h). Everything uses libpq's
 * non-blocking calls and poll(), so that a server that accepts and never
 * answers, or a network that drops packets, costs at most the call's
 * deadline; after a failure the connection is dropped and the next
 * attempt waits for the retry delay. Errors are one line naming the
 * server.
 */
#include "fleet/fleet.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "fleet/fleet_schema.h"
#include "util.h"

struct fleet_conn {
	PGconn *pg;
	char *conninfo;             /* what pg was opened with */
	double retry_at;            /* monotonic: no attempt before */
	double retry_delay;
	char last_err[320];
};

/* The ISO 8601 text the journal writes, from a timestamptz. */
#define ISO(x) "to_char(" x " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

struct fleet_conn *
fleet_conn_new(void)
{
	struct fleet_conn *c = xcalloc(1, sizeof *c);
	c->retry_delay = 5;
	return c;
}

static void
drop(struct fleet_conn *c)
{
	if (c->pg)
		PQfinish(c->pg);
	c->pg = NULL;
}

void
fleet_conn_free(struct fleet_conn *c)
{
	if (!c)
		return;
	drop(c);
	free(c->conninfo);
	free(c);
}

void
fleet_conn_retry_after(struct fleet_conn *c, double seconds)
{
	c->retry_delay = seconds;
}

int
fleet_settings_from_cfg(struct fleet_settings *s, const struct cfg *cfg, const char *application,
    char *err, size_t len)
{
	const struct cfg_fleet *f = &cfg->fleet;
	memset(s, 0, sizeof *s);
	snprintf(s->workshop, sizeof s->workshop, "%s", f->workshop ? f->workshop : "");
	snprintf(s->name, sizeof s->name, "%s", f->name ? f->name : s->workshop);
	snprintf(s->application, sizeof s->application, "%s", application);
	s->conninfo = xstrdup(f->postgres ? f->postgres : "");
	s->seconds = f->lookup_seconds > 0 ? f->lookup_seconds : 1;
	if (fleet_read_secret(cfg, "fleet.password_file", f->password_file, &s->password, err,
	    len) < 0) {
		fleet_settings_clear(s);
		return -1;
	}
	return 0;
}

int
fleet_read_secret(const struct cfg *cfg, const char *key, const char *file, char **out,
    char *err, size_t len)
{
	*out = NULL;
	if (!file)
		return 0;
	char *path = cfg_resolve(cfg, file);
	size_t n = 0;
	char *text = file_read(path, 4096, &n);
	if (!text) {
		fail_msg(err, len, "%s %s cannot be read: %s", key, path, strerror(errno));
		free(path);
		return -1;
	}
	free(path);
	text[strcspn(text, "\r\n")] = '\0';
	*out = text;
	return 0;
}

void
fleet_settings_clear(struct fleet_settings *s)
{
	free(s->conninfo);
	if (s->password) {
		explicit_bzero(s->password, strlen(s->password));
		free(s->password);
	}
	s->conninfo = s->password = NULL;
}

void
fleet_settings_copy(struct fleet_settings *to, const struct fleet_settings *from)
{
	*to = *from;
	to->conninfo = from->conninfo ? xstrdup(from->conninfo) : NULL;
	to->password = from->password ? xstrdup(from->password) : NULL;
}

/* The server as people name it: host:port, or the socket's folder. */
static void
server_name(PGconn *pg, const struct fleet_settings *s, char *out, size_t len)
{
	const char *host = pg ? PQhost(pg) : NULL, *port = pg ? PQport(pg) : NULL;
	if (host && *host)
		snprintf(out, len, "%s%s%s", host, port && *port ? ":" : "", port ? port : "");
	else
		snprintf(out, len, "%s", s->conninfo);
}

/* Records and returns the error: "PostgreSQL at SERVER: first line". */
static int
failed(struct fleet_conn *c, const struct fleet_settings *s, const char *why, char *err,
    size_t len)
{
	char server[100], line[180];
	server_name(c->pg, s, server, sizeof server);
	snprintf(line, sizeof line, "%s", why && *why ? why : "unknown error");
	line[strcspn(line, "\n")] = '\0';
	/* libpq names the server again ("connection to server at ...
	 * failed: ") and the severity: ours says both already. */
	const char *text = line, *again = strstr(line, " failed: ");
	if (strncmp(text, "connection to server ", 21) == 0 && again)
		text = again + 9;
	if (strncmp(text, "FATAL:  ", 8) == 0 || strncmp(text, "ERROR:  ", 8) == 0)
		text += 8;
	snprintf(c->last_err, sizeof c->last_err, "PostgreSQL at %s: %s", server, text);
	snprintf(err, len, "%s", c->last_err);
	drop(c);
	c->retry_at = now_mono() + c->retry_delay;
	return -1;
}

static int
late(struct fleet_conn *c, const struct fleet_settings *s, double budget, char *err, size_t len)
{
	char why[80];
	snprintf(why, sizeof why, "no answer within %g s", budget);
	return failed(c, s, why, err, len);
}

/* Waits until the socket is ready for what libpq wants or the deadline
 * passes: 1 ready, 0 time is up, -1 error. */
static int
wait_socket(PGconn *pg, bool for_write, double deadline)
{
	int fd = PQsocket(pg);
	if (fd < 0)
		return -1;
	for (;;) {
		double left = deadline - now_mono();
		if (left <= 0)
			return 0;
		struct pollfd p = { fd, (short)(for_write ? POLLOUT : POLLIN), 0 };
		int n = poll(&p, 1, (int)ceil(left * 1000));
		if (n > 0)
			return 1;
		if (n == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

/* The server's notices ("schema already exists, skipping") are for
 * whoever runs SQL by hand, not for the workshop's log. */
static void
quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* Connects before the deadline (monotonic); see fleet_connect. */
static int
connect_by(struct fleet_conn *c, const struct fleet_settings *s, double deadline, double budget,
    char *err, size_t len)
{
	if (c->pg && PQstatus(c->pg) == CONNECTION_OK && c->conninfo &&
	    strcmp(c->conninfo, s->conninfo) == 0)
		return 0;
	drop(c);
	if (c->conninfo && strcmp(c->conninfo, s->conninfo) != 0)
		c->retry_at = 0;        /* another server: try it now */
	free(c->conninfo);
	c->conninfo = xstrdup(s->conninfo);
	double now = now_mono();
	if (now < c->retry_at && c->last_err[0]) {
		snprintf(err, len, "%s (next attempt in %.0f s)", c->last_err, ceil(c->retry_at - now));
		return -1;
	}
	const char *keys[] = { "dbname", "password", "application_name", "connect_timeout", NULL };
	char timeout[16];
	snprintf(timeout, sizeof timeout, "%d", (int)ceil(s->seconds) + 1);
	const char *values[] = { s->conninfo, s->password, s->application, timeout, NULL };
	if (!s->password) {
		/* libpq reads a NULL value as the end of the list. */
		keys[1] = "application_name";
		values[1] = s->application;
		keys[2] = "connect_timeout";
		values[2] = timeout;
		keys[3] = values[3] = NULL;
	}
	c->pg = PQconnectStartParams(keys, values, 1);
	if (!c->pg)
		return failed(c, s, "out of memory", err, len);
	if (PQstatus(c->pg) == CONNECTION_BAD)
		return failed(c, s, PQerrorMessage(c->pg), err, len);
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	while (st != PGRES_POLLING_OK) {
		if (st == PGRES_POLLING_FAILED)
			return failed(c, s, PQerrorMessage(c->pg), err, len);
		int w = wait_socket(c->pg, st == PGRES_POLLING_WRITING, deadline);
		if (w == 0)
			return late(c, s, budget, err, len);
		if (w < 0)
			return failed(c, s, strerror(errno), err, len);
		st = PQconnectPoll(c->pg);
	}
	if (PQsetnonblocking(c->pg, 1) != 0)
		return failed(c, s, PQerrorMessage(c->pg), err, len);
	PQsetNoticeProcessor(c->pg, quiet, NULL);
	c->last_err[0] = '\0';
	return 0;
}

int
fleet_connect(struct fleet_conn *c, const struct fleet_settings *s, char *err, size_t len)
{
	return connect_by(c, s, now_mono() + s->seconds, s->seconds, err, len);
}

/*
 * Sends sql (with text parameters, or several statements when n == 0 and
 * values is NULL) and waits for every result until the deadline. Returns
 * the last result (PQclear it) when every one succeeded, else NULL with
 * err (the connection dropped).
 */
static PGresult *
query(struct fleet_conn *c, const struct fleet_settings *s, double seconds, const char *sql,
    int n, const char *const *values, char *err, size_t len)
{
	/* One deadline for the connection and the answer: the bound is the
	 * caller's whole wait. */
	double deadline = now_mono() + seconds;
	if (connect_by(c, s, deadline, seconds, err, len) < 0)
		return NULL;
	int sent = values ? PQsendQueryParams(c->pg, sql, n, NULL, values, NULL, NULL, 0) :
	    PQsendQuery(c->pg, sql);
	if (!sent)
		return failed(c, s, PQerrorMessage(c->pg), err, len), NULL;
	int f;
	while ((f = PQflush(c->pg)) == 1)
		if (wait_socket(c->pg, true, deadline) <= 0)
			return late(c, s, seconds, err, len), NULL;
	if (f < 0)
		return failed(c, s, PQerrorMessage(c->pg), err, len), NULL;
	PGresult *last = NULL;
	char bad[300] = "";
	for (;;) {
		while (PQisBusy(c->pg)) {
			int w = wait_socket(c->pg, false, deadline);
			if (w <= 0 || !PQconsumeInput(c->pg)) {
				PQclear(last);
				return (w == 0 ? late(c, s, seconds, err, len) :
				    failed(c, s, PQerrorMessage(c->pg), err, len)), NULL;
			}
		}
		PGresult *r = PQgetResult(c->pg);
		if (!r)
			break;
		ExecStatusType st = PQresultStatus(r);
		if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && !bad[0]) {
			const char *m = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
			snprintf(bad, sizeof bad, "%s", m ? m : PQresultErrorMessage(r));
		}
		PQclear(last);
		last = r;
	}
	if (bad[0] || !last) {
		PQclear(last);
		/* A statement's error leaves the connection usable, but a
		 * transaction half-done must not be reused: start again. */
		return failed(c, s, bad[0] ? bad : "no result", err, len), NULL;
	}
	return last;
}

/* --- the sender ------------------------------------------------------------ */

static int
migrate(struct fleet_conn *c, const struct fleet_settings *s, char *err, size_t len)
{
	/* Several workshops may start at once against a new database: the
	 * advisory lock lets one migrate while the others wait, then see it
	 * done. DDL is transactional in PostgreSQL. */
	PGresult *r = query(c, s, s->seconds * 10,
	    "BEGIN; SELECT pg_advisory_xact_lock(7236);"
	    "CREATE SCHEMA IF NOT EXISTS atelier;"
	    "CREATE TABLE IF NOT EXISTS atelier.schema_version (version int NOT NULL);"
	    "SELECT coalesce(max(version), 0) FROM atelier.schema_version;", 0, NULL, err, len);
	if (!r)
		return -1;
	int v = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	if (v > fleet_n_migrations) {
		char why[200];
		snprintf(why, sizeof why, "the shared history's schema is at version %d, newer than "
		    "this program's %d: upgrade atelier", v, fleet_n_migrations);
		return failed(c, s, why, err, len);
	}
	for (; v < fleet_n_migrations; v++) {
		char *sql = xasprintf("%s; INSERT INTO atelier.schema_version VALUES (%d);",
		    fleet_migrations[v], v + 1);
		r = query(c, s, s->seconds * 30, sql, 0, NULL, err, len);
		free(sql);
		if (!r)
			return -1;
		PQclear(r);
	}
	if (!(r = query(c, s, s->seconds, "COMMIT", 0, NULL, err, len)))
		return -1;
	PQclear(r);
	return 0;
}

int
fleet_register(struct fleet_conn *c, const struct fleet_settings *s, const char *origin,
    const struct cfg_calibration *due, int64_t *position, char *err, size_t len)
{
	if (migrate(c, s, err, len) < 0)
		return -1;
	char laser[32], tank[32], bath[32];
	snprintf(laser, sizeof laser, "%g", due ? due->laser_days : 90);
	snprintf(tank, sizeof tank, "%g", due ? due->tank_days : 180);
	snprintf(bath, sizeof bath, "%g", due ? due->bath_days : 30);
	const char *v[] = { s->workshop, s->name, origin, laser, tank, bath };
	PGresult *r = query(c, s, s->seconds,
	    "INSERT INTO atelier.workshops AS w (id, name, origin, laser_days, tank_days, bath_days)"
	    " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name,"
	    " laser_days = EXCLUDED.laser_days, tank_days = EXCLUDED.tank_days,"
	    " bath_days = EXCLUDED.bath_days WHERE w.origin = EXCLUDED.origin RETURNING last_seq",
	    6, v, err, len);
	if (!r)
		return -1;
	if (PQntuples(r) != 1) {
		PQclear(r);
		char why[240];
		snprintf(why, sizeof why, "workshop '%s' is already sent from another journal: two "
		    "workshops share one id, or this journal is new (docs/fleet.md, \"A new PC\")",
		    s->workshop);
		return failed(c, s, why, err, len);
	}
	*position = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return 0;
}

int
fleet_send(struct fleet_conn *c, const struct fleet_settings *s, json_t *events,
    int64_t *position, char *err, size_t len)
{
	size_t n = json_array_size(events);
	if (n == 0)
		return 0;
	json_int_t last = json_integer_value(json_object_get(json_array_get(events, n - 1), "seq"));
	char *text = json_dumps(events, JSON_COMPACT);
	const char *v[] = { s->workshop, text };
	/* One statement, so one transaction: all of the batch or none. */
	PGresult *r = query(c, s, s->seconds * 10,
	    "INSERT INTO atelier.events (workshop, seq, t, kind, body)"
	    " SELECT $1, e.seq, e.t, e.kind, e.body FROM jsonb_to_recordset($2::jsonb)"
	    " AS e(seq bigint, t timestamptz, kind text, body jsonb) ORDER BY e.seq", 2, v, err, len);
	free(text);
	if (!r)
		return -1;
	PQclear(r);
	*position = last;
	return 0;
}

/* --- the readers ------------------------------------------------------------ */

/* The one text value of a one-row, one-column result, as JSON. */
static json_t *
json_result(struct fleet_conn *c, const struct fleet_settings *s, const char *sql,
    const char *serial, char *err, size_t len)
{
	const char *v[] = { serial, s->workshop };
	PGresult *r = query(c, s, s->seconds, sql, 2, v, err, len);
	if (!r)
		return NULL;
	json_error_t je;
	json_t *out = PQntuples(r) == 1 ? json_loads(PQgetvalue(r, 0, 0), 0, &je) : NULL;
	PQclear(r);
	if (!out)
		failed(c, s, "the answer is not the shared history's", err, len);
	return out;
}

json_t *
fleet_served(struct fleet_conn *c, const struct fleet_settings *s, const char *serial,
    char *err, size_t len)
{
	return json_result(c, s, "SELECT coalesce(json_object_agg(service, n), '{}')::text FROM"
	    " (SELECT sv AS service, count(*) AS n FROM atelier.jobs j"
	    "  CROSS JOIN LATERAL unnest(j.services) AS sv"
	    "  WHERE j.serial = $1 AND j.workshop <> $2 AND j.state <> 'aborted' GROUP BY sv) x",
	    serial, err, len);
}

json_t *
fleet_history(struct fleet_conn *c, const struct fleet_settings *s, const char *serial,
    char *err, size_t len)
{
	return json_result(c, s, "SELECT json_build_object("
	    "'piece', (SELECT json_build_object('serial', serial, 'type', type, 'collection',"
	    "  collection, 'metal', metal, 'paved', paved::int, 'purchase_date', purchase_date,"
	    "  'gems', gems, 'first_workshop', first_workshop, 'created', " ISO("created") ")"
	    "  FROM atelier.pieces WHERE serial = $1),"
	    "'jobs', coalesce((SELECT json_agg(json_build_object('workshop', j.workshop,"
	    "  'workshop_name', w.name, 'id', j.job, 'state', j.state, 'services',"
	    "  array_to_string(j.services, ','), 'operator', j.operator, 'created', "
	    ISO("j.created") ", 'updated', " ISO("j.updated") ", 'quote', j.quote)"
	    "  ORDER BY j.created) FROM atelier.jobs j JOIN atelier.workshops w ON w.id = j.workshop"
	    "  WHERE j.serial = $1 AND j.workshop <> $2), '[]'),"
	    "'events', coalesce((SELECT json_agg(json_build_object('workshop', h.workshop,"
	    "  'workshop_name', h.workshop_name, 't', " ISO("h.t") ", 'who', h.who, 'what', h.what,"
	    "  'why', h.why, 'job_id', h.job) ORDER BY h.t) FROM atelier.piece_history h"
	    "  WHERE h.serial = $1 AND h.workshop <> $2), '[]'))::text", serial, err, len);
}
