/*
 * The SQLite journal (see store.h). Migrations are an ordered list of SQL
 * scripts; PRAGMA user_version records how many ran, each in its own
 * transaction, so an interrupted upgrade leaves the journal at the last
 * complete version. A journal newer than the program is refused rather
 * than misread.
 */
#include "journal/store.h"

#include <sqlite3.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct store {
	sqlite3 *db;
	const atomic_int *cancel;   /* a reader's: stop when set */
	double deadline;            /* a reader's: stop past this monotonic time */
};

/*
 * The outbox's events (migration 6), one JSON object per row of the table
 * named by R: what the shared history needs, without the G-code or the
 * plan (kept here, too large to share). Text that should be JSON but is
 * not is sent as text rather than failing the change it describes.
 */
#define OUTBOX_JSON(x) "CASE WHEN json_valid(" x ") THEN json(" x ") ELSE " x " END"
#define OUTBOX_PIECE(R) "json_object('serial', " R ".serial, 'type', " R ".type, " \
	"'collection', " R ".collection, 'metal', " R ".metal, 'paved', " R ".paved, " \
	"'purchase_date', " R ".purchase_date, 'gems', json(" R ".gems), 'created', " R ".created)"
#define OUTBOX_JOB(R) "json_object('job', " R ".id, 'serial', " \
	"(SELECT serial FROM pieces WHERE id = " R ".piece_id), 'services', " R ".services, " \
	"'operator', " R ".operator, 'state', " R ".state, 'quote', " OUTBOX_JSON(R ".quote") ", " \
	"'created', " R ".created, 'updated', coalesce(" R ".updated, " R ".created))"
#define OUTBOX_STEP(R) "json_object('job', " R ".job_id, 'step', " R ".id, 'seq', " R ".seq, " \
	"'name', " R ".name, 'title', " R ".title, 'kind', " R ".kind, 'station', " R ".station, " \
	"'params', " OUTBOX_JSON(R ".params") ", 'state', " R ".state, 'reason', " R ".reason, " \
	"'note', " R ".note, 'attempts', " R ".attempts, 'updated', " R ".updated)"
#define OUTBOX_AUDIT(R) "json_object('id', " R ".id, 't', " R ".t, 'who', " R ".who, " \
	"'what', " R ".what, 'why', " R ".why, 'job', " R ".job_id)"
#define OUTBOX_CALIBRATION(R) "json_object('id', " R ".id, 't', " R ".t, 'station', " \
	R ".station, 'procedure', " R ".procedure, 'kind', " R ".kind, 'technician', " \
	R ".technician, 'instrument', " R ".instrument, 'before', json(" R ".before), " \
	"'after', json(" R ".after), 'note', " R ".note)"

static const char *const migrations[] = {
	/* 1: pieces, jobs, steps and the audit trail. */
	"CREATE TABLE pieces ("
	"  id INTEGER PRIMARY KEY, serial TEXT NOT NULL UNIQUE, type TEXT NOT NULL,"
	"  collection TEXT, metal TEXT NOT NULL, paved INTEGER NOT NULL DEFAULT 0,"
	"  purchase_date TEXT, created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')));"
	"CREATE TABLE jobs ("
	"  id INTEGER PRIMARY KEY, piece_id INTEGER NOT NULL REFERENCES pieces(id),"
	"  services TEXT NOT NULL, operator TEXT NOT NULL,"
	"  state TEXT NOT NULL CHECK (state IN ('planned','running','done','aborted','interrupted')),"
	"  plan TEXT NOT NULL, created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')));"
	"CREATE TABLE steps ("
	"  id INTEGER PRIMARY KEY, job_id INTEGER NOT NULL REFERENCES jobs(id), seq INTEGER NOT NULL,"
	"  name TEXT NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('manual','machine')),"
	"  state TEXT NOT NULL CHECK (state IN ('pending','running','done','failed','aborted',"
	"    'interrupted','substituted')),"
	"  updated TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')), UNIQUE (job_id, seq));"
	"CREATE TABLE events ("
	"  id INTEGER PRIMARY KEY, t TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),"
	"  who TEXT NOT NULL, what TEXT NOT NULL, why TEXT, job_id INTEGER REFERENCES jobs(id));"
	"CREATE INDEX steps_state ON steps(state);"
	"CREATE INDEX pieces_serial ON pieces(serial);",
	/* 2: the job engine: steps carry their title, station, parameters,
	 * payload (the G-code engraved), reason and bench note, and may be
	 * queued at a station or skipped; jobs keep their quote; the services
	 * of a job are rows, for pricing by the piece's history. SQLite cannot
	 * change a CHECK constraint, so steps are rebuilt. */
	"CREATE TABLE steps_v2 ("
	"  id INTEGER PRIMARY KEY, job_id INTEGER NOT NULL REFERENCES jobs(id), seq INTEGER NOT NULL,"
	"  name TEXT NOT NULL, title TEXT NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('manual','machine')),"
	"  station TEXT, params TEXT NOT NULL DEFAULT '{}', payload TEXT,"
	"  state TEXT NOT NULL CHECK (state IN ('pending','queued','running','done','failed','aborted',"
	"    'interrupted','substituted','skipped')),"
	"  reason TEXT, note TEXT, attempts INTEGER NOT NULL DEFAULT 0,"
	"  updated TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')), UNIQUE (job_id, seq));"
	"INSERT INTO steps_v2 (id, job_id, seq, name, title, kind, state, updated)"
	"  SELECT id, job_id, seq, name, name, kind, state, updated FROM steps;"
	"DROP TABLE steps;"
	"ALTER TABLE steps_v2 RENAME TO steps;"
	"CREATE INDEX steps_state ON steps(state);"
	"CREATE INDEX steps_job ON steps(job_id);"
	"ALTER TABLE jobs ADD COLUMN quote TEXT;"
	"ALTER TABLE jobs ADD COLUMN updated TEXT;"
	"CREATE TABLE job_services ("
	"  job_id INTEGER NOT NULL REFERENCES jobs(id), service TEXT NOT NULL,"
	"  PRIMARY KEY (job_id, service));"
	"CREATE INDEX job_services_service ON job_services(service);"
	"CREATE INDEX jobs_piece ON jobs(piece_id);"
	"CREATE INDEX events_job ON events(job_id);",
	/* 3: calibrations */
	/* Every technician calibration, check and station maintenance
	 * (calib_store.c), with the values before and after as JSON; the
	 * triggers keep the records as written, for ever. */
	"CREATE TABLE calibrations ("
	"  id INTEGER PRIMARY KEY, t TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),"
	"  station TEXT NOT NULL CHECK (station IN ('laser','tank','bath')),"
	"  procedure TEXT NOT NULL,"
	"  kind TEXT NOT NULL CHECK (kind IN ('calibration','check','maintenance')),"
	"  technician TEXT NOT NULL, instrument TEXT,"
	"  before TEXT NOT NULL CHECK (json_valid(before)),"
	"  after TEXT NOT NULL CHECK (json_valid(after)), note TEXT);"
	"CREATE INDEX calibrations_station ON calibrations(station, kind, t);"
	"CREATE TRIGGER calibrations_never_deleted BEFORE DELETE ON calibrations "
	"  BEGIN SELECT RAISE(ABORT, 'calibration records are never deleted'); END;"
	"CREATE TRIGGER calibrations_never_changed BEFORE UPDATE ON calibrations "
	"  BEGIN SELECT RAISE(ABORT, 'calibration records are never changed'); END;",
	/* 4: a piece's gems are part of its identity, like its metal: the
	 * current list (normalised, store_gems_normal) is kept with the piece,
	 * and the stations judge a load by it rather than by a plan's copy.
	 * Filled from the jobs' plans by piece_gems_backfill below. */
	"ALTER TABLE pieces ADD COLUMN gems TEXT CHECK (gems IS NULL OR json_valid(gems));",
	/* 5: a workshop has stations of its own names (laser-1, rings,
	 * tank-rinse), and its calibrations are theirs: the table of version
	 * 3 only took the kinds' names, so it is rebuilt with the records as
	 * they were (SQLite cannot drop a CHECK), and its guards again. */
	"DROP TRIGGER IF EXISTS calibrations_never_deleted;"
	"DROP TRIGGER IF EXISTS calibrations_never_changed;"
	"ALTER TABLE calibrations RENAME TO calibrations_v3;"
	"CREATE TABLE calibrations ("
	"  id INTEGER PRIMARY KEY, t TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),"
	"  station TEXT NOT NULL CHECK (length(station) BETWEEN 1 AND 32),"
	"  procedure TEXT NOT NULL,"
	"  kind TEXT NOT NULL CHECK (kind IN ('calibration','check','maintenance')),"
	"  technician TEXT NOT NULL, instrument TEXT,"
	"  before TEXT NOT NULL CHECK (json_valid(before)),"
	"  after TEXT NOT NULL CHECK (json_valid(after)), note TEXT);"
	"INSERT INTO calibrations SELECT * FROM calibrations_v3;"
	"DROP TABLE calibrations_v3;"
	"CREATE INDEX calibrations_station ON calibrations(station, kind, t);"
	"CREATE TRIGGER calibrations_never_deleted BEFORE DELETE ON calibrations "
	"  BEGIN SELECT RAISE(ABORT, 'calibration records are never deleted'); END;"
	"CREATE TRIGGER calibrations_never_changed BEFORE UPDATE ON calibrations "
	"  BEGIN SELECT RAISE(ABORT, 'calibration records are never changed'); END;",
	/* 6: the outbox, the journal's events in the order they happened, for
	 * the maison's shared history (atelier-sync, docs/fleet.md). Triggers
	 * write it in the same transaction as the change they describe, so no
	 * code path can change the journal without its event, and a rollback
	 * takes both; AUTOINCREMENT never reuses a number, so the sequence
	 * has no gap. What the journal held before is written first, oldest
	 * first. The outbox is kept, like the rest of the journal. */
	"CREATE TABLE outbox ("
	"  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  t TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),"
	"  kind TEXT NOT NULL CHECK (kind IN ('piece','job','step','audit','calibration')),"
	"  body TEXT NOT NULL CHECK (json_valid(body)));"
	/* This journal's identity in the shared history: the same workshop
	 * id sent from two journals would mix their numbers. */
	"CREATE TABLE outbox_origin (id TEXT NOT NULL);"
	"INSERT INTO outbox_origin VALUES (lower(hex(randomblob(16))));"
	"INSERT INTO outbox (t, kind, body) SELECT t, kind, body FROM ("
	"  SELECT created AS t, 0 AS k, id, 'piece' AS kind, " OUTBOX_PIECE("p") " AS body FROM pieces p"
	"  UNION ALL SELECT created, 1, id, 'job', " OUTBOX_JOB("j") " FROM jobs j"
	"  UNION ALL SELECT updated, 2, id, 'step', " OUTBOX_STEP("s") " FROM steps s"
	"  UNION ALL SELECT t, 3, id, 'audit', " OUTBOX_AUDIT("e") " FROM events e"
	"  UNION ALL SELECT t, 4, id, 'calibration', " OUTBOX_CALIBRATION("c") " FROM calibrations c"
	") ORDER BY t, k, id;"
	"CREATE TRIGGER outbox_never_changed BEFORE UPDATE ON outbox "
	"  BEGIN SELECT RAISE(ABORT, 'the outbox is never changed'); END;"
	"CREATE TRIGGER outbox_never_deleted BEFORE DELETE ON outbox "
	"  BEGIN SELECT RAISE(ABORT, 'the outbox is never deleted'); END;"
	"CREATE TRIGGER outbox_piece_new AFTER INSERT ON pieces BEGIN "
	"  INSERT INTO outbox (kind, body) VALUES ('piece', " OUTBOX_PIECE("NEW") "); END;"
	"CREATE TRIGGER outbox_piece_changed AFTER UPDATE ON pieces "
	"  WHEN OLD.gems IS NOT NEW.gems OR OLD.metal IS NOT NEW.metal OR OLD.type IS NOT NEW.type "
	"  OR OLD.collection IS NOT NEW.collection OR OLD.paved IS NOT NEW.paved BEGIN "
	"  INSERT INTO outbox (kind, body) VALUES ('piece', " OUTBOX_PIECE("NEW") "); END;"
	"CREATE TRIGGER outbox_job_new AFTER INSERT ON jobs BEGIN "
	"  INSERT INTO outbox (kind, body) VALUES ('job', " OUTBOX_JOB("NEW") "); END;"
	"CREATE TRIGGER outbox_job_changed AFTER UPDATE ON jobs "
	"  WHEN OLD.state IS NOT NEW.state OR OLD.quote IS NOT NEW.quote "
	"  OR OLD.services IS NOT NEW.services BEGIN "
	"  INSERT INTO outbox (kind, body) VALUES ('job', " OUTBOX_JOB("NEW") "); END;"
	"CREATE TRIGGER outbox_step_new AFTER INSERT ON steps WHEN NEW.seq > 0 BEGIN "
	"  INSERT INTO outbox (kind, body) VALUES ('step', " OUTBOX_STEP("NEW") "); END;"
	/* A step inserted within a job moves the later ones through negative
	 * numbers (store_step_insert): only where they land is an event. */
	"CREATE TRIGGER outbox_step_changed AFTER UPDATE ON steps WHEN NEW.seq > 0 AND "
	"  (OLD.state IS NOT NEW.state OR OLD.station IS NOT NEW.station OR OLD.seq <> NEW.seq "
	"  OR OLD.note IS NOT NEW.note) BEGIN "
	"  INSERT INTO outbox (kind, body) VALUES ('step', " OUTBOX_STEP("NEW") "); END;"
	"CREATE TRIGGER outbox_audit AFTER INSERT ON events BEGIN "
	"  INSERT INTO outbox (kind, body) VALUES ('audit', " OUTBOX_AUDIT("NEW") "); END;"
	"CREATE TRIGGER outbox_calibration AFTER INSERT ON calibrations BEGIN "
	"  INSERT INTO outbox (kind, body) VALUES ('calibration', " OUTBOX_CALIBRATION("NEW") "); END;",
};
#define N_MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

static int piece_gems_backfill(struct store *s, char *err, size_t errlen);

/* What SQL alone cannot do in an upgrade runs in C, inside the migration's
 * transaction, after its script. */
static const struct {
	int version;
	int (*run)(struct store *s, char *err, size_t errlen);
} migration_code[] = {
	{ 4, piece_gems_backfill },
};

static int
fail(struct store *s, char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "the journal %s: %s", what, s && s->db ? sqlite3_errmsg(s->db) : "?");
	return -1;
}

static int
exec(struct store *s, const char *sql, char *err, size_t errlen, const char *what)
{
	char *msg = NULL;
	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "the journal %s: %s", what, msg ? msg : "?");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

int
store_version(struct store *s)
{
	sqlite3_stmt *st;
	int v = -1;
	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int
migrate(struct store *s, char *err, size_t errlen)
{
	int v = store_version(s);
	if (v < 0)
		return fail(s, err, errlen, "cannot be read (is it an SQLite file?)");
	if (v > N_MIGRATIONS) {
		snprintf(err, errlen, "the journal is at schema version %d, newer than this program "
		    "knows (%d): refusing to touch it", v, N_MIGRATIONS);
		return -1;
	}
	for (; v < N_MIGRATIONS; v++) {
		char sql[64];
		if (exec(s, "BEGIN IMMEDIATE", err, errlen, "cannot be upgraded") < 0)
			return -1;
		snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v + 1);
		int rc = exec(s, migrations[v], err, errlen, "cannot be upgraded");
		for (size_t k = 0; rc == 0 && k < sizeof migration_code / sizeof migration_code[0]; k++)
			if (migration_code[k].version == v + 1)
				rc = migration_code[k].run(s, err, errlen);
		if (rc < 0 || exec(s, sql, err, errlen, "cannot be upgraded") < 0) {
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
		if (exec(s, "COMMIT", err, errlen, "cannot be upgraded") < 0)
			return -1;
	}
	return 0;
}

struct store *
store_open(const char *path, char *err, size_t errlen)
{
	struct store *s = xcalloc(1, sizeof *s);
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		fail(s, err, errlen, "cannot be opened");
		store_close(s);
		return NULL;
	}
	sqlite3_extended_result_codes(s->db, 1);
	/* Another process holding the journal is waited for briefly, then
	 * reported, never overwritten. */
	sqlite3_busy_timeout(s->db, 2000);
	if (exec(s, "PRAGMA foreign_keys = ON", err, errlen, "cannot be set up") < 0 ||
	    exec(s, "PRAGMA journal_mode = WAL", err, errlen, "cannot use write-ahead logging") < 0 ||
	    exec(s, "PRAGMA synchronous = FULL", err, errlen, "cannot be set up") < 0 ||
	    exec(s, "PRAGMA quick_check", err, errlen, "is damaged") < 0 ||
	    migrate(s, err, errlen) < 0) {
		store_close(s);
		return NULL;
	}
	return s;
}

struct store *
store_open_reader(const char *path, char *err, size_t errlen)
{
	struct store *s = xcalloc(1, sizeof *s);
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		fail(s, err, errlen, "cannot be opened");
		store_close(s);
		return NULL;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, 2000);
	if (store_version(s) != N_MIGRATIONS) {
		snprintf(err, errlen, "the journal %s is at schema %d, not %d", path, store_version(s),
		    N_MIGRATIONS);
		store_close(s);
		return NULL;
	}
	return s;
}

/* SQLite calls this every few thousand virtual-machine steps; non-zero
 * interrupts the statement. */
static int
reader_progress(void *arg)
{
	struct store *s = arg;
	return (s->cancel && atomic_load(s->cancel)) || (s->deadline > 0 && now_mono() > s->deadline);
}

void
store_reader_limit(struct store *s, const atomic_int *cancel, double deadline)
{
	s->cancel = cancel;
	s->deadline = deadline;
	sqlite3_progress_handler(s->db, 4096, reader_progress, s);
}

sqlite3 *
store_db(struct store *s)
{
	return s ? s->db : NULL;
}

void
store_close(struct store *s)
{
	if (!s)
		return;
	sqlite3_close_v2(s->db);
	free(s);
}

/* Prepares sql and binds text (NULL stays NULL) and int64 parameters as
 * fmt says ('t' text, 'i' int64). Returns the statement, or NULL. */
static sqlite3_stmt *
prepare(struct store *s, const char *sql, const char *fmt, va_list ap)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return NULL;
	for (int i = 0; fmt[i]; i++) {
		if (fmt[i] == 't')
			sqlite3_bind_text(st, i + 1, va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
	}
	return st;
}

/* Prepares, binds and steps once. Returns the sqlite code of the step;
 * the statement is finalised unless *out_stmt is given. */
static int
run(struct store *s, const char *sql, const char *fmt, sqlite3_stmt **out_stmt, ...)
{
	va_list ap;
	va_start(ap, out_stmt);
	sqlite3_stmt *st = prepare(s, sql, fmt, ap);
	va_end(ap);
	if (!st)
		return sqlite3_errcode(s->db);
	int rc = sqlite3_step(st);
	if (out_stmt)
		*out_stmt = st;
	else
		sqlite3_finalize(st);
	return rc;
}

int
store_event(struct store *s, const char *who, const char *what, const char *why, int64_t job,
    char *err, size_t errlen)
{
	int rc = job > 0 ?
	    run(s, "INSERT INTO events (who, what, why, job_id) VALUES (?, ?, ?, ?)", "ttti", NULL,
		who, what, why, job) :
	    run(s, "INSERT INTO events (who, what, why) VALUES (?, ?, ?)", "ttt", NULL, who, what, why);
	return rc == SQLITE_DONE ? 0 : fail(s, err, errlen, "cannot record the event");
}

static bool
same_text(sqlite3_stmt *st, int col, const char *v)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	return (!t && !v) || (t && v && strcmp((const char *)t, v) == 0);
}

/* --- a piece's gems -------------------------------------------------- */

struct gem_row {
	const char *species, *treatment;
	json_int_t count;
};

static int
gem_cmp(const void *a, const void *b)
{
	const struct gem_row *x = a, *y = b;
	int c = strcmp(x->species, y->species);
	return c ? c : strcmp(x->treatment, y->treatment);
}

/* Counts come from requests (at most 10000 a stone) or from old journals;
 * a sum that would overflow stays at the largest count instead. */
static json_int_t
add_count(json_int_t a, json_int_t b)
{
	return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/* Reads a gem list into rows sorted by species and treatment; n rows, or
 * (size_t)-1 when it is not a list of gems. */
static size_t
gem_rows(json_t *gems, struct gem_row **out)
{
	*out = NULL;
	if (gems && !json_is_array(gems))
		return (size_t)-1;
	size_t n = json_array_size(gems);
	struct gem_row *rows = xcalloc(n ? n : 1, sizeof *rows);
	for (size_t i = 0; i < n; i++) {
		json_t *g = json_array_get(gems, i);
		json_t *t = json_object_get(g, "treatment"), *c = json_object_get(g, "count");
		const char *sp = json_string_value(json_object_get(g, "species"));
		if (!sp || (t && !json_is_string(t) && !json_is_null(t)) || (c && !json_is_integer(c)) ||
		    (c && json_integer_value(c) < 1)) {
			free(rows);
			return (size_t)-1;
		}
		rows[i] = (struct gem_row){ sp, json_is_string(t) ? json_string_value(t) : "none",
			c ? json_integer_value(c) : 1 };
	}
	qsort(rows, n, sizeof *rows, gem_cmp);
	*out = rows;
	return n;
}

static char *
gem_rows_text(const struct gem_row *rows, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:I}", "species", rows[i].species,
		    "treatment", rows[i].treatment, "count", rows[i].count));
	char *t = json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(a);
	return t;
}

char *
store_gems_normal(json_t *gems)
{
	struct gem_row *rows;
	size_t n = gem_rows(gems, &rows);
	if (n == (size_t)-1)
		return NULL;
	/* A set: the same stone named twice is one entry with both counts. */
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (m > 0 && gem_cmp(&rows[m - 1], &rows[i]) == 0)
			rows[m - 1].count = add_count(rows[m - 1].count, rows[i].count);
		else
			rows[m++] = rows[i];
	}
	char *t = gem_rows_text(rows, m);
	free(rows);
	return t;
}

char *
store_gems_normal_text(const char *text)
{
	json_t *g = text ? json_loads(text, 0, NULL) : NULL;
	char *t = g ? store_gems_normal(g) : NULL;
	json_decref(g);
	return t;
}

bool
store_gems_same(const char *a, const char *b)
{
	char *na = store_gems_normal_text(a), *nb = store_gems_normal_text(b);
	bool same = na && nb && strcmp(na, nb) == 0;
	free(na);
	free(nb);
	return same;
}

void
store_gems_describe(const char *text, char *out, size_t len)
{
	json_t *g = text ? json_loads(text, 0, NULL) : NULL;
	struct gem_row *rows;
	size_t n = gem_rows(g, &rows);
	out[0] = '\0';
	if (!g || n == (size_t)-1)
		snprintf(out, len, "an unreadable gem list");
	else if (n == 0)
		snprintf(out, len, "no stones");
	/* Whole stones only: those that do not fit are counted ("and 3 more"). */
	const char **names = xcalloc(n != (size_t)-1 && n ? n : 1, sizeof *names);
	for (size_t i = 0; g && n != (size_t)-1 && i < n; i++) {
		bool plain = strcmp(rows[i].treatment, "none") == 0;
		names[i] = xasprintf("%s%s%s%s x%lld", rows[i].species, plain ? "" : " (",
		    plain ? "" : rows[i].treatment, plain ? "" : ")", (long long)rows[i].count);
	}
	if (g && n != (size_t)-1 && n > 0)
		str_join_fit(out, len, names, n);
	for (size_t i = 0; g && n != (size_t)-1 && i < n; i++)
		free((char *)names[i]);
	free(names);
	free(rows);
	json_decref(g);
}

int
store_piece_gems(struct store *s, const char *serial, char **gems, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	*gems = NULL;
	int rc = run(s, "SELECT gems FROM pieces WHERE serial = ?", "t", &st, serial);
	if (rc == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);
		*gems = t ? xstrdup((const char *)t) : NULL;
		sqlite3_finalize(st);
		return 1;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return fail(s, err, errlen, "cannot be read");
	return 0;
}

/* Migration 4: every piece gets the gem list its jobs recorded. Where
 * they disagree (a journal written before gems were part of the piece),
 * nobody can say which list is true, so the piece carries every stone any
 * of them named, each at its largest count: the stations then judge the
 * strictest case until a technician confirms the gems (supersede_gems);
 * an event on the piece's latest job says so and names the lists. */
static int
piece_gems_backfill(struct store *s, char *err, size_t errlen)
{
	json_t *pieces = store_query(s, "SELECT id, serial FROM pieces ORDER BY id", "");
	if (!pieces)
		return fail(s, err, errlen, "cannot be upgraded");
	int rc = 0;
	size_t i;
	json_t *p;
	json_array_foreach(pieces, i, p) {
		json_int_t id = json_integer_value(json_object_get(p, "id"));
		json_t *jobs = store_query(s, "SELECT id, plan FROM jobs WHERE piece_id = ? ORDER BY id",
		    "i", (int64_t)id);
		if (!jobs) {
			rc = fail(s, err, errlen, "cannot be upgraded");
			break;
		}
		json_t *most = json_object();   /* "species\ttreatment" -> largest count */
		json_t *seen = json_array();    /* the distinct lists, normalised */
		json_int_t last_job = 0;
		size_t k;
		json_t *j;
		json_array_foreach(jobs, k, j) {
			last_job = json_integer_value(json_object_get(j, "id"));
			json_t *plan = json_loads(json_string_value(json_object_get(j, "plan")) ?
			    json_string_value(json_object_get(j, "plan")) : "", 0, NULL);
			json_t *gems = json_object_get(json_object_get(plan, "piece"), "gems");
			char *norm = store_gems_normal(gems);
			if (norm) {
				size_t q;
				json_t *v;
				bool known = false;
				json_array_foreach(seen, q, v)
					known = known || strcmp(json_string_value(v), norm) == 0;
				if (!known)
					json_array_append_new(seen, json_string(norm));
				json_t *list = json_loads(norm, 0, NULL);
				json_array_foreach(list, q, v) {
					char *key = xasprintf("%s\t%s",
					    json_string_value(json_object_get(v, "species")),
					    json_string_value(json_object_get(v, "treatment")));
					json_int_t c = json_integer_value(json_object_get(v, "count"));
					json_t *had = json_object_get(most, key);
					if (!had || json_integer_value(had) < c)
						json_object_set(most, key, json_object_get(v, "count"));
					free(key);
				}
				json_decref(list);
			}
			free(norm);
			json_decref(plan);
		}
		json_t *merged = json_array();
		const char *key;
		json_t *v;
		json_object_foreach(most, key, v) {
			const char *tab = strchr(key, '\t');
			char *species = xasprintf("%.*s", (int)(tab - key), key);
			json_array_append_new(merged, json_pack("{s:s, s:s, s:O}", "species", species,
			    "treatment", tab + 1, "count", v));
			free(species);
		}
		char *gems = store_gems_normal(merged);
		if (run(s, "UPDATE pieces SET gems = ? WHERE id = ?", "ti", NULL, gems,
		    (int64_t)id) != SQLITE_DONE)
			rc = fail(s, err, errlen, "cannot be upgraded");
		if (rc == 0 && json_array_size(seen) > 1) {
			char why[1500], one[300];
			snprintf(why, sizeof why, "serial %s: its jobs recorded different gems (",
			    json_string_value(json_object_get(p, "serial")));
			json_array_foreach(seen, k, v) {
				store_gems_describe(json_string_value(v), one, sizeof one);
				snprintf(why + strlen(why), sizeof why - strlen(why), "%s%s", k ? "; " : "",
				    one);
			}
			store_gems_describe(gems, one, sizeof one);
			snprintf(why + strlen(why), sizeof why - strlen(why), "): every stone any of "
			    "them named is judged (%s) until a technician confirms the piece's gems", one);
			rc = store_event(s, "atelierd", "piece gems merged", why, (int64_t)last_job, err,
			    errlen);
		}
		free(gems);
		json_decref(merged);
		json_decref(seen);
		json_decref(most);
		json_decref(jobs);
		if (rc < 0)
			break;
	}
	json_decref(pieces);
	return rc;
}

int64_t
store_piece_find(struct store *s, const char *serial, const char *type, const char *collection,
    const char *metal, int paved, const char *purchase_date, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	int rc = run(s, "SELECT id, type, collection, metal, paved, purchase_date FROM pieces "
	    "WHERE serial = ?", "t", &st, serial);
	if (rc == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		const char *differs = !same_text(st, 1, type) ? "type" :
		    !same_text(st, 2, collection) ? "collection" : !same_text(st, 3, metal) ? "metal" :
		    sqlite3_column_int(st, 4) != paved ? "paved" :
		    !same_text(st, 5, purchase_date) ? "purchase date" : NULL;
		char was[80];
		if (differs) {
			int col = differs[0] == 't' ? 1 : differs[0] == 'c' ? 2 : differs[0] == 'm' ? 3 :
			    differs[1] == 'a' ? 4 : 5;
			const unsigned char *t = sqlite3_column_text(st, col);
			snprintf(was, sizeof was, "%s", t ? (const char *)t : "none");
		}
		sqlite3_finalize(st);
		if (differs) {
			snprintf(err, errlen, "serial number %s is already recorded as another piece: "
			    "its %s was %s", serial, differs, was);
			return -1;
		}
		return id;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return fail(s, err, errlen, "cannot be read");
	return 0;
}

int64_t
store_piece(struct store *s, const char *serial, const char *type, const char *collection,
    const char *metal, int paved, const char *purchase_date, char *err, size_t errlen)
{
	int64_t id = store_piece_find(s, serial, type, collection, metal, paved, purchase_date, err,
	    errlen);
	if (id != 0)
		return id;
	if (run(s, "INSERT INTO pieces (serial, type, collection, metal, paved, purchase_date) "
	    "VALUES (?, ?, ?, ?, ?, ?)", "ttttit", NULL, serial, type, collection, metal,
	    (int64_t)paved, purchase_date) != SQLITE_DONE)
		return fail(s, err, errlen, "cannot record the piece");
	return sqlite3_last_insert_rowid(s->db);
}

int64_t
store_job_create(struct store *s, const struct store_job *j, char *err, size_t errlen)
{
	err[0] = '\0';
	/* Inside the caller's transaction (a job that supersedes its piece's
	 * gems, with the steps judged again) it joins that one. */
	bool own = sqlite3_get_autocommit(s->db) != 0;
	if (own && exec(s, "BEGIN IMMEDIATE", err, errlen, "is busy") < 0)
		return -1;
	int64_t job = -1;
	char services[512] = "";
	char *gems = store_gems_normal_text(j->gems ? j->gems : "[]"), *had = NULL;
	for (size_t i = 0; i < j->n_services; i++)
		snprintf(services + strlen(services), sizeof services - strlen(services), "%s%s",
		    i ? "," : "", j->services[i]);
	if (!gems) {
		snprintf(err, errlen, "the job's gem list is not a list of {species, treatment, count}");
		goto rollback;
	}
	int64_t piece = store_piece(s, j->serial, j->type, j->collection, j->metal, j->paved,
	    j->purchase_date, err, errlen);
	if (piece < 0 || store_piece_gems(s, j->serial, &had, err, errlen) < 0)
		goto rollback;
	/* The gems are part of the piece: another list is a mistake at the
	 * bench, or a change a technician confirms. */
	bool supersede = had && !store_gems_same(had, gems);
	if (supersede && !j->supersede_gems) {
		char was[400], now[400];
		store_gems_describe(had, was, sizeof was);
		store_gems_describe(gems, now, sizeof now);
		snprintf(err, errlen, "serial number %s is already recorded with other gems: %s, "
		    "and this job says %s", j->serial, was, now);
		goto rollback;
	}
	if ((!had || supersede) && run(s, "UPDATE pieces SET gems = ? WHERE id = ?", "ti", NULL,
	    gems, piece) != SQLITE_DONE)
		goto rollback;
	if (run(s, "INSERT INTO jobs (piece_id, services, operator, state, plan, quote, updated) "
	    "VALUES (?, ?, ?, 'planned', ?, ?, strftime('%Y-%m-%dT%H:%M:%fZ','now'))", "ittttt", NULL,
	    piece, services, j->operator_, j->plan, j->quote) != SQLITE_DONE)
		goto rollback;
	job = sqlite3_last_insert_rowid(s->db);
	if (supersede) {
		char why[900], was[400], now[400];
		store_gems_describe(had, was, sizeof was);
		store_gems_describe(gems, now, sizeof now);
		snprintf(why, sizeof why, "serial %s: the gems recorded were %s; they are now %s",
		    j->serial, was, now);
		if (store_event(s, j->who ? j->who : j->operator_, "piece gems superseded", why, job,
		    err, errlen) < 0)
			goto rollback;
	}
	for (size_t i = 0; i < j->n_services; i++)
		if (run(s, "INSERT INTO job_services (job_id, service) VALUES (?, ?)", "it", NULL, job,
		    j->services[i]) != SQLITE_DONE)
			goto rollback;
	for (size_t i = 0; i < j->n_steps; i++) {
		const struct store_step *st = &j->steps[i];
		if (run(s, "INSERT INTO steps (job_id, seq, name, title, kind, station, params, payload, "
		    "state, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", "iitttttttt", NULL, job,
		    (int64_t)(i + 1), st->name, st->title, st->kind, st->station,
		    st->params ? st->params : "{}", st->payload, st->state ? st->state : "pending",
		    st->reason) != SQLITE_DONE)
			goto rollback;
	}
	if (store_event(s, j->who ? j->who : j->operator_, "job created", services, job, err,
	    errlen) < 0)
		goto rollback;
	if (own && exec(s, "COMMIT", err, errlen, "cannot be written") < 0)
		goto rollback;
	free(gems);
	free(had);
	return job;
rollback:
	if (!*err)
		fail(s, err, errlen, "cannot record the job");
	if (own)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	free(gems);
	free(had);
	return -1;
}

int
store_times_served(struct store *s, const char *serial, const char *service)
{
	sqlite3_stmt *st;
	int n = -1;
	if (run(s, "SELECT count(*) FROM job_services js JOIN jobs j ON j.id = js.job_id "
	    "JOIN pieces p ON p.id = j.piece_id WHERE p.serial = ? AND js.service = ? "
	    "AND j.state <> 'aborted'", "tt", &st, serial, service) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

int64_t
store_step_id(struct store *s, int64_t job, int seq)
{
	sqlite3_stmt *st;
	int64_t id = -1;
	if (run(s, "SELECT id FROM steps WHERE job_id = ? AND seq = ?", "ii", &st, job,
	    (int64_t)seq) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return id;
}

int
store_step_state(struct store *s, int64_t step, char *out, size_t len)
{
	sqlite3_stmt *st;
	int rc = -1;
	if (run(s, "SELECT state FROM steps WHERE id = ?", "i", &st, step) == SQLITE_ROW) {
		snprintf(out, len, "%s", (const char *)sqlite3_column_text(st, 0));
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

int
store_step_transition(struct store *s, int64_t step, const char *from, const char *to,
    const char *job_to, const char *who, const char *why, const char *note, char *err,
    size_t errlen)
{
	char what[96];
	err[0] = '\0';
	/* Inside the caller's transaction (a tank load) it joins that one. */
	bool own = sqlite3_get_autocommit(s->db) != 0;
	if (own && exec(s, "BEGIN IMMEDIATE", err, errlen, "is busy") < 0)
		return -1;
	if (run(s, "UPDATE steps SET state = ?, updated = strftime('%Y-%m-%dT%H:%M:%fZ','now'), "
	    "note = coalesce(?, note), reason = CASE WHEN ? IN ('failed','aborted','interrupted',"
	    "'substituted') "
	    "THEN ? ELSE reason END, attempts = attempts + (? = 'running') "
	    "WHERE id = ? AND state = ?", "tttttit", NULL, to, note, to, why, to, step,
	    from) != SQLITE_DONE)
		goto rollback;
	if (sqlite3_changes(s->db) != 1) {
		char now[32] = "?";
		store_step_state(s, step, now, sizeof now);
		snprintf(err, errlen, "step %lld is %s, not %s", (long long)step, now, from);
		goto rollback;
	}
	snprintf(what, sizeof what, "step %lld: %s -> %s", (long long)step, from, to);
	sqlite3_stmt *st;
	int64_t job = 0;
	if (run(s, "SELECT job_id FROM steps WHERE id = ?", "i", &st, step) == SQLITE_ROW)
		job = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (job_to && store_job_set(s, job, job_to, err, errlen) < 0)
		goto rollback;
	if (store_event(s, who, what, note ? note : why, job, err, errlen) < 0)
		goto rollback;
	/* Durable before the caller touches an actuator. */
	if (own && exec(s, "COMMIT", err, errlen, "cannot be written") < 0)
		goto rollback;
	return 0;
rollback:
	if (!*err)
		fail(s, err, errlen, "cannot record the transition");
	if (own)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

int64_t
store_step_insert(struct store *s, int64_t job, int after, const struct store_step *st,
    const char *who, const char *why, char *err, size_t errlen)
{
	char what[160];
	err[0] = '\0';
	/* (job_id, seq) is unique and SQLite checks it row by row: the later
	 * steps go through negative numbers to move one place down. */
	if (run(s, "UPDATE steps SET seq = -seq - 1 WHERE job_id = ? AND seq > ?", "ii", NULL, job,
	    (int64_t)after) != SQLITE_DONE ||
	    run(s, "UPDATE steps SET seq = -seq WHERE job_id = ? AND seq < 0", "i", NULL,
	    job) != SQLITE_DONE ||
	    run(s, "INSERT INTO steps (job_id, seq, name, title, kind, station, params, payload, "
	    "state, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", "iitttttttt", NULL, job,
	    (int64_t)after + 1, st->name, st->title, st->kind, st->station,
	    st->params ? st->params : "{}", st->payload, st->state ? st->state : "pending",
	    st->reason) != SQLITE_DONE)
		return fail(s, err, errlen, "cannot record the step");
	int64_t id = sqlite3_last_insert_rowid(s->db);
	snprintf(what, sizeof what, "step %lld added as step %d: %s", (long long)id, after + 1,
	    st->name);
	if (store_event(s, who, what, why, job, err, errlen) < 0)
		return -1;
	return id;
}

int
store_job_set(struct store *s, int64_t job, const char *state, char *err, size_t errlen)
{
	if (run(s, "UPDATE jobs SET state = ?, updated = strftime('%Y-%m-%dT%H:%M:%fZ','now') "
	    "WHERE id = ?", "ti", NULL, state, job) != SQLITE_DONE || sqlite3_changes(s->db) != 1)
		return fail(s, err, errlen, "cannot record the job's state");
	return 0;
}

int
store_job_transition(struct store *s, int64_t job, const char *to, const char *who,
    const char *why, char *err, size_t errlen)
{
	char what[96];
	err[0] = '\0';
	snprintf(what, sizeof what, "job %lld: %s", (long long)job, to);
	bool own = sqlite3_get_autocommit(s->db) != 0;
	if (own && exec(s, "BEGIN IMMEDIATE", err, errlen, "is busy") < 0)
		return -1;
	if (store_job_set(s, job, to, err, errlen) < 0 ||
	    store_event(s, who, what, why, job, err, errlen) < 0 ||
	    (own && exec(s, "COMMIT", err, errlen, "cannot be written") < 0)) {
		if (own)
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

int
store_begin(struct store *s, char *err, size_t errlen)
{
	return exec(s, "BEGIN IMMEDIATE", err, errlen, "is busy");
}

int
store_commit(struct store *s, char *err, size_t errlen)
{
	if (exec(s, "COMMIT", err, errlen, "cannot be written") < 0) {
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

void
store_rollback(struct store *s)
{
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

json_t *
store_query(struct store *s, const char *sql, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sqlite3_stmt *st = prepare(s, sql, fmt, ap);
	va_end(ap);
	if (!st)
		return NULL;
	json_t *rows = json_array();
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *row = json_object();
		for (int c = 0; c < sqlite3_column_count(st); c++) {
			json_t *v;
			switch (sqlite3_column_type(st, c)) {
			case SQLITE_INTEGER: v = json_integer(sqlite3_column_int64(st, c)); break;
			case SQLITE_FLOAT: v = json_real(sqlite3_column_double(st, c)); break;
			case SQLITE_NULL: v = json_null(); break;
			default: v = json_string((const char *)sqlite3_column_text(st, c)); break;
			}
			/* A text that is not UTF-8 cannot be JSON: shown as null. */
			json_object_set_new(row, sqlite3_column_name(st, c), v ? v : json_null());
		}
		json_array_append_new(rows, row);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		json_decref(rows);
		return NULL;
	}
	return rows;
}

const char *
store_errmsg(struct store *s)
{
	return sqlite3_errmsg(s->db);
}

int
store_recover(struct store *s, char *err, size_t errlen)
{
	err[0] = '\0';
	if (exec(s, "BEGIN IMMEDIATE", err, errlen, "is busy") < 0)
		return -1;
	if (run(s, "INSERT INTO events (who, what, why, job_id) SELECT 'atelierd', "
	    "'step ' || id || ': running -> interrupted', 'found running at start-up', job_id "
	    "FROM steps WHERE state = 'running' AND kind = 'machine'", "", NULL) != SQLITE_DONE ||
	    run(s, "UPDATE jobs SET state = 'interrupted', updated = "
	    "strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id IN "
	    "(SELECT job_id FROM steps WHERE state = 'running' AND kind = 'machine')", "",
	    NULL) != SQLITE_DONE ||
	    run(s, "UPDATE steps SET state = 'interrupted', reason = 'found running at start-up: "
	    "the daemon stopped during the step', updated = strftime('%Y-%m-%dT%H:%M:%fZ','now') "
	    "WHERE state = 'running' AND kind = 'machine'", "", NULL) != SQLITE_DONE) {
		fail(s, err, errlen, "cannot record the recovery");
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	int n = sqlite3_changes(s->db);
	if (exec(s, "COMMIT", err, errlen, "cannot be written") < 0)
		return -1;
	return n;
}
