/*
 * The job journal on real SQLite files: WAL and foreign keys, migrations
 * recorded and not repeated, a journal newer than the program refused,
 * transitions atomic with their audit event, refusal of a transition from
 * the wrong state, recovery after a crash marking running steps
 * interrupted, conflicting serial numbers, and a locked or corrupt file
 * reported with a sentence.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "journal/store.h"
#include "test.h"

static char dir[64], path[128];
static char err[600];

/* The journal folder of the last case, and what SQLite put in it. */
static void
remove_dir(void)
{
	if (!dir[0])
		return;
	chmod(dir, 0755);
	DIR *dp = opendir(dir);
	struct dirent *e;
	while (dp && (e = readdir(dp)) != NULL) {
		char f[400];
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(f, sizeof f, "%s/%s", dir, e->d_name);
		unlink(f);
	}
	if (dp)
		closedir(dp);
	rmdir(dir);
	dir[0] = '\0';
}

static void
fresh(void)
{
	remove_dir();
	snprintf(dir, sizeof dir, "/tmp/atelier-store-XXXXXX");
	CHECK(test_mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/journal.db", dir);
}

static long long
query_int(const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	long long v = -1;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return v;
}

/* A journal as it was before version 6. */
#define WITHOUT_OUTBOX "DROP TRIGGER outbox_never_changed; DROP TRIGGER " \
	"outbox_never_deleted; DROP TRIGGER outbox_piece_new; DROP TRIGGER outbox_piece_changed;" \
	"DROP TRIGGER outbox_job_new; DROP TRIGGER outbox_job_changed; DROP TRIGGER " \
	"outbox_step_new; DROP TRIGGER outbox_step_changed; DROP TRIGGER outbox_audit;" \
	"DROP TRIGGER outbox_calibration; DROP TABLE outbox; DROP TABLE outbox_origin;"

static int64_t
make_job_for(struct store *s, const char *serial, const char *service)
{
	static const struct store_step steps[] = {
		{ "diagnosis", "Diagnosis", "manual", NULL, NULL, NULL, NULL, NULL },
		{ "engrave", "Laser engraving", "machine", "laser", "{\"text\":\"A\"}", "G0X0\n", NULL, NULL },
		{ "clean", "Cleaning", "machine", "tank", NULL, NULL, NULL, NULL },
		{ "inspection", "Inspection", "manual", NULL, NULL, NULL, NULL, NULL },
	};
	const char *services[] = { service };
	struct store_job j = { serial, "ring", NULL, "white_gold", "2026-10-01", 0, services, 1,
		"marie", NULL, "{}", "{\"total\":0}", steps, 4, NULL, false };
	return store_job_create(s, &j, err, sizeof err);
}

static int64_t
make_job(struct store *s)
{
	return make_job_for(s, "CRT-0001", "engraving");
}

static void
t_open_migrate_reopen(void)
{
	fresh();
	struct store *s = store_open(path, err, sizeof err);
	CHECK(s != NULL);
	if (!s)
		return;
	CHECK_INT(store_version(s), 6);
	store_close(s);
	CHECK_INT(query_int("PRAGMA journal_mode = WAL") >= 0, 1);
	s = store_open(path, err, sizeof err);   /* no migration runs twice */
	CHECK(s != NULL);
	CHECK_INT(store_version(s), 6);
	store_close(s);
}

static void
t_job_steps_and_transitions(void)
{
	fresh();
	struct store *s = store_open(path, err, sizeof err);
	int64_t job = make_job(s);
	CHECK(job > 0);
	CHECK_INT(query_int("SELECT count(*) FROM steps"), 4);
	int64_t engrave = store_step_id(s, job, 2);
	CHECK(engrave > 0);
	CHECK_INT(store_step_transition(s, engrave, "pending", "running", "running", "marie",
	    "started at the bench", NULL, err, sizeof err), 0);
	CHECK_INT(query_int("SELECT attempts FROM steps WHERE name = 'engrave'"), 1);
	CHECK_INT(query_int("SELECT count(*) FROM jobs WHERE state = 'running'"), 1);
	char st[32];
	CHECK_INT(store_step_state(s, engrave, st, sizeof st), 0);
	CHECK_STR(st, "running");
	/* From the wrong state: refused, nothing written. */
	long long events = query_int("SELECT count(*) FROM events");
	CHECK_INT(store_step_transition(s, engrave, "pending", "done", NULL, "marie", NULL, NULL, err,
	    sizeof err), -1);
	CHECK_CONTAINS(err, "is running, not pending");
	CHECK_INT(query_int("SELECT count(*) FROM events"), events);
	CHECK_INT(store_step_transition(s, engrave, "running", "finished", NULL, "marie", NULL, NULL,
	    err, sizeof err), -1);
	CHECK_CONTAINS(err, "cannot record the transition");   /* CHECK constraint */
	CHECK_INT(query_int("SELECT count(*) FROM events WHERE what LIKE '%pending -> running'"), 1);
	/* The same serial with other data is refused. */
	CHECK_INT(store_piece(s, "CRT-0001", "bracelet", NULL, "platinum", 0, NULL, err, sizeof err), -1);
	CHECK_CONTAINS(err, "already recorded as another piece: its type was ring");
	CHECK_INT(store_piece_find(s, "CRT-0001", "ring", "LOVE", "white_gold", 0, "2026-10-01", err,
	    sizeof err), -1);
	CHECK_CONTAINS(err, "its collection was none");
	CHECK_INT(store_piece_find(s, "CRT-0001", "ring", NULL, "white_gold", 0, "2026-10-02", err,
	    sizeof err), -1);
	CHECK_CONTAINS(err, "its purchase date was 2026-10-01");
	CHECK_INT(store_piece_find(s, "CRT-0002", "ring", NULL, "white_gold", 0, NULL, err, sizeof err), 0);
	/* A job whose piece conflicts leaves nothing behind. */
	long long jobs = query_int("SELECT count(*) FROM jobs");
	struct store_job j = { "CRT-0001", "necklace", NULL, "platinum", NULL, 0, NULL, 0, "marie", NULL,
		"{}", "{}", NULL, 0, NULL, false };
	CHECK_INT(store_job_create(s, &j, err, sizeof err), -1);
	CHECK_INT(query_int("SELECT count(*) FROM jobs"), jobs);
	/* A note on a manual step, and its payload kept for the engraving. */
	int64_t diag = store_step_id(s, job, 1);
	CHECK_INT(store_step_transition(s, diag, "pending", "done", NULL, "marie", "confirmed",
	    "band sound", err, sizeof err), 0);
	CHECK_INT(query_int("SELECT count(*) FROM steps WHERE note = 'band sound'"), 1);
	CHECK_INT(query_int("SELECT count(*) FROM events WHERE why = 'band sound'"), 1);
	json_t *rows = store_query(s, "SELECT payload FROM steps WHERE id = ?", "i", engrave);
	CHECK_STR(json_string_value(json_object_get(json_array_get(rows, 0), "payload")), "G0X0\n");
	json_decref(rows);
	store_close(s);
}

static void
t_recover_after_crash(void)
{
	fresh();
	struct store *s = store_open(path, err, sizeof err);
	int64_t job = make_job(s);
	int64_t clean = store_step_id(s, job, 3);
	store_step_transition(s, clean, "pending", "running", "running", "marie", NULL, NULL, err,
	    sizeof err);
	/* A manual step at the bench is not the daemon's to interrupt. */
	int64_t insp = store_step_id(s, job, 4);
	CHECK_INT(store_step_transition(s, insp, "pending", "running", NULL, "marie", NULL, NULL, err,
	    sizeof err), 0);
	/* A crash: the process goes without closing anything. */
	pid_t child = fork();
	if (child == 0) {
		struct store *c = store_open(path, err, sizeof err);
		int64_t d = store_step_id(c, job, 1);
		store_step_transition(c, d, "pending", "done", NULL, "marie", "checked", NULL, err,
		    sizeof err);
		_exit(0);       /* no close: like SIGKILL after the commit */
	}
	int status;
	waitpid(child, &status, 0);
	store_close(s);
	s = store_open(path, err, sizeof err);
	CHECK_INT(store_recover(s, err, sizeof err), 1);
	char st[32];
	store_step_state(s, clean, st, sizeof st);
	CHECK_STR(st, "interrupted");
	store_step_state(s, store_step_id(s, job, 1), st, sizeof st);
	CHECK_STR(st, "done");          /* what was committed is kept */
	store_step_state(s, insp, st, sizeof st);
	CHECK_STR(st, "running");
	CHECK_INT(query_int("SELECT count(*) FROM jobs WHERE state = 'interrupted'"), 1);
	CHECK_INT(query_int("SELECT count(*) FROM events WHERE why = 'found running at start-up'"), 1);
	CHECK_INT(store_recover(s, err, sizeof err), 0);
	store_close(s);
}

static void
t_bad_files(void)
{
	fresh();
	/* Not an SQLite file. */
	int fd = open(path, O_WRONLY | O_CREAT, 0644);
	CHECK(write(fd, "this is not a database, it is a shopping list\n", 46) == 46);
	close(fd);
	CHECK(store_open(path, err, sizeof err) == NULL);
	CHECK_CONTAINS(err, "the journal");
	unlink(path);
	/* Newer than this program. */
	sqlite3 *db;
	sqlite3_open(path, &db);
	sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL);
	sqlite3_close(db);
	CHECK(store_open(path, err, sizeof err) == NULL);
	CHECK_CONTAINS(err, "newer than this program knows");
	unlink(path);
	/* Locked by another writer. */
	struct store *s = store_open(path, err, sizeof err);
	CHECK(s != NULL);
	sqlite3_open(path, &db);
	sqlite3_busy_timeout(db, 100);
	CHECK_INT(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	CHECK_INT(store_event(s, "marie", "note", NULL, 0, err, sizeof err), -1);
	CHECK_CONTAINS(err, "locked");
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(db);
	CHECK_INT(store_event(s, "marie", "note", NULL, 0, err, sizeof err), 0);
	store_close(s);
}

/* The piece's history sets the price: aborted jobs do not count. */
static void
t_times_served(void)
{
	fresh();
	struct store *s = store_open(path, err, sizeof err);
	CHECK_INT(store_times_served(s, "R-7", "ring_resizing"), 0);
	int64_t a = make_job_for(s, "R-7", "ring_resizing");
	CHECK(a > 0);
	CHECK_INT(store_times_served(s, "R-7", "ring_resizing"), 1);
	CHECK_INT(store_times_served(s, "R-7", "engraving"), 0);
	CHECK_INT(store_times_served(s, "R-8", "ring_resizing"), 0);
	CHECK_INT(store_job_transition(s, a, "aborted", "marie", "client changed her mind", err,
	    sizeof err), 0);
	CHECK_INT(store_times_served(s, "R-7", "ring_resizing"), 0);
	CHECK(make_job_for(s, "R-7", "ring_resizing") > 0);
	CHECK_INT(store_times_served(s, "R-7", "ring_resizing"), 1);
	store_close(s);
}

/* A journal written by the first schema is upgraded with its rows. */
static void
t_upgrade_from_version_1(void)
{
	fresh();
	sqlite3 *db;
	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db,
	    "CREATE TABLE pieces (id INTEGER PRIMARY KEY, serial TEXT NOT NULL UNIQUE, type TEXT NOT NULL,"
	    " collection TEXT, metal TEXT NOT NULL, paved INTEGER NOT NULL DEFAULT 0, purchase_date TEXT,"
	    " created TEXT NOT NULL DEFAULT 'x');"
	    "CREATE TABLE jobs (id INTEGER PRIMARY KEY, piece_id INTEGER NOT NULL REFERENCES pieces(id),"
	    " services TEXT NOT NULL, operator TEXT NOT NULL, state TEXT NOT NULL, plan TEXT NOT NULL,"
	    " created TEXT NOT NULL DEFAULT 'x');"
	    "CREATE TABLE steps (id INTEGER PRIMARY KEY, job_id INTEGER NOT NULL REFERENCES jobs(id),"
	    " seq INTEGER NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL, state TEXT NOT NULL,"
	    " updated TEXT NOT NULL DEFAULT 'x', UNIQUE (job_id, seq));"
	    "CREATE TABLE events (id INTEGER PRIMARY KEY, t TEXT NOT NULL DEFAULT 'x', who TEXT NOT NULL,"
	    " what TEXT NOT NULL, why TEXT, job_id INTEGER REFERENCES jobs(id));"
	    "INSERT INTO pieces (serial, type, metal) VALUES ('OLD-1', 'ring', 'white_gold');"
	    "INSERT INTO jobs (piece_id, services, operator, state, plan) VALUES (1, 'shining', 'ana', 'done', '{}');"
	    "INSERT INTO steps (job_id, seq, name, kind, state) VALUES (1, 1, 'buffing', 'manual', 'done');"
	    "PRAGMA user_version = 1;", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	struct store *s = store_open(path, err, sizeof err);
	CHECK(s != NULL);
	if (!s)
		return;
	CHECK_INT(store_version(s), 6);
	CHECK_INT(query_int("SELECT count(*) FROM steps WHERE name = 'buffing' AND state = 'done' "
	    "AND title = 'buffing'"), 1);
	CHECK(make_job_for(s, "NEW-1", "engraving") > 0);
	store_close(s);
}

/* A full disk: the job is refused whole, nothing half-written. */
static void
t_full_journal(void)
{
	fresh();
	struct store *s = store_open(path, err, sizeof err);
	CHECK(make_job(s) > 0);
	long long jobs = query_int("SELECT count(*) FROM jobs");
	long long steps = query_int("SELECT count(*) FROM steps");
	/* SQLite's own page limit stands in for a full filesystem: the
	 * same SQLITE_FULL on the same write path. */
	long long pages = query_int("PRAGMA page_count");
	char sql[64];
	snprintf(sql, sizeof sql, "PRAGMA max_page_count = %lld", pages);
	json_decref(store_query(s, sql, ""));
	int64_t job = 0;
	for (int i = 0; i < 200 && job >= 0; i++) {
		char serial[32];
		snprintf(serial, sizeof serial, "FULL-%d", i);
		job = make_job_for(s, serial, "engraving");
	}
	CHECK(job < 0);
	CHECK_CONTAINS(err, "full");
	store_close(s);
	/* Every job recorded has all its steps; the refused one left none. */
	CHECK_INT(query_int("SELECT count(*) FROM jobs j WHERE (SELECT count(*) FROM steps s "
	    "WHERE s.job_id = j.id) <> 4"), 0);
	CHECK(query_int("SELECT count(*) FROM jobs") >= jobs);
	CHECK(query_int("SELECT count(*) FROM steps") >= steps);
	CHECK_INT(query_int("SELECT count(*) FROM pieces p WHERE NOT EXISTS (SELECT 1 FROM jobs j "
	    "WHERE j.piece_id = p.id)"), 0);
}

/* A read-only journal is refused at open with a sentence. Root writes
 * through file modes, so the opening is done by a child that gave up root
 * for an account the journal does not belong to. */
static void
t_read_only(void)
{
	fresh();
	struct store *s = store_open(path, err, sizeof err);
	store_close(s);
	chmod(path, 0444);
	chmod(dir, 0555);
	int fds[2];
	CHECK_INT(pipe(fds), 0);
	pid_t child = fork();
	if (child == 0) {
		close(fds[0]);
		if (geteuid() == 0 && (setgid(65534) < 0 || setuid(65534) < 0))
			_exit(2);
		struct store *c = store_open(path, err, sizeof err);
		if (c) {
			/* opened: a write must then fail with a sentence */
			if (store_event(c, "marie", "note", NULL, 0, err, sizeof err) == 0)
				_exit(3);
		}
		ssize_t n = write(fds[1], err, strlen(err));
		(void)n;
		_exit(c ? 1 : 0);
	}
	close(fds[1]);
	char msg[300] = "";
	ssize_t n = read(fds[0], msg, sizeof msg - 1);
	msg[n > 0 ? n : 0] = '\0';
	close(fds[0]);
	int status;
	waitpid(child, &status, 0);
	CHECK(WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 1));
	CHECK_CONTAINS(msg, "the journal");
	chmod(dir, 0755);
}

/* A piece's gems are compared as a set and said as people say them. */
static void
t_gems_normal(void)
{
	json_t *a = json_loads("[{\"species\": \"ruby\", \"count\": 2}, {\"species\": \"diamond\", "
	    "\"treatment\": \"none\"}, {\"species\": \"ruby\", \"treatment\": \"none\"}, "
	    "{\"species\": \"emerald\", \"treatment\": \"oiled\", \"count\": 3}]", 0, NULL);
	char *n = store_gems_normal(a);
	CHECK_STR(n, "[{\"count\":1,\"species\":\"diamond\",\"treatment\":\"none\"},"
	    "{\"count\":3,\"species\":\"emerald\",\"treatment\":\"oiled\"},"
	    "{\"count\":3,\"species\":\"ruby\",\"treatment\":\"none\"}]");
	char text[200];
	store_gems_describe(n, text, sizeof text);
	CHECK_STR(text, "diamond x1, emerald (oiled) x3, ruby x3");
	store_gems_describe("[]", text, sizeof text);
	CHECK_STR(text, "no stones");
	/* A long list is said in whole stones, the rest counted (issue 12:
	 * no message cut mid-word). */
	json_t *many = json_array();
	for (int i = 0; i < 32; i++)
		json_array_append_new(many, json_pack("{s:s, s:s, s:i}", "species", "diamond",
		    "treatment", i % 2 ? "fracture-filled" : "feathers", "count", 1000 + i));
	char *mt = json_dumps(many, 0);
	store_gems_describe(mt, text, sizeof text);
	CHECK(strlen(text) < sizeof text - 1);
	CHECK_CONTAINS(text, "diamond (feathers) x1000, diamond (feathers) x1002, ");
	size_t tl = strlen(text);
	CHECK(tl > 10 && strcmp(text + tl - 5, " more") == 0);
	free(mt);
	json_decref(many);
	CHECK(store_gems_same(n, "[{\"species\": \"emerald\", \"treatment\": \"oiled\", "
	    "\"count\": 3}, {\"species\": \"ruby\", \"count\": 3}, {\"species\": \"diamond\"}]"));
	/* Another count, another treatment, a stone less: another piece. */
	CHECK(!store_gems_same(n, "[{\"species\": \"emerald\", \"treatment\": \"oiled\", "
	    "\"count\": 3}, {\"species\": \"ruby\", \"count\": 2}, {\"species\": \"diamond\"}]"));
	CHECK(!store_gems_same(n, "[{\"species\": \"emerald\", \"count\": 3}, "
	    "{\"species\": \"ruby\", \"count\": 3}, {\"species\": \"diamond\"}]"));
	CHECK(!store_gems_same("[]", n));
	CHECK(store_gems_same("[]", "[]"));
	CHECK(!store_gems_same("[]", "not json"));
	CHECK(store_gems_normal_text("[{\"treatment\": \"none\"}]") == NULL);
	CHECK(store_gems_normal_text("[{\"species\": \"ruby\", \"count\": 0}]") == NULL);
	free(n);
	json_decref(a);
}

static int64_t
job_with_gems(struct store *s, const char *serial, const char *gems, bool supersede)
{
	static const struct store_step steps[] = {
		{ "clean", "Cleaning", "machine", "tank", NULL, NULL, NULL, NULL },
	};
	const char *services[] = { "shining" };
	struct store_job j = { serial, "ring", NULL, "white_gold", NULL, 0, services, 1, "marie",
		"Ada (root)", "{}", "{}", steps, 1, gems, supersede };
	return store_job_create(s, &j, err, sizeof err);
}

/* Issue 19: ED-10 was accepted with a diamond, then an oiled emerald,
 * then a pearl. The gems are part of the piece now. */
static void
t_gems_part_of_the_piece(void)
{
	fresh();
	struct store *s = store_open(path, err, sizeof err);
	CHECK(job_with_gems(s, "ED-10", "[{\"species\": \"diamond\", \"count\": 1}]", false) > 0);
	CHECK_INT(query_int("SELECT count(*) FROM pieces WHERE gems IS NOT NULL"), 1);
	char *g = NULL;
	CHECK_INT(store_piece_gems(s, "ED-10", &g, err, sizeof err), 1);
	CHECK(store_gems_same(g, "[{\"species\": \"diamond\"}]"));
	free(g);
	CHECK_INT(store_piece_gems(s, "ED-11", &g, err, sizeof err), 0);
	/* The same set, said otherwise: the same piece. */
	CHECK(job_with_gems(s, "ED-10", "[{\"species\": \"diamond\", \"treatment\": \"none\"}]",
	    false) > 0);
	long long jobs = query_int("SELECT count(*) FROM jobs");
	CHECK_INT(job_with_gems(s, "ED-10", "[{\"species\": \"emerald\", \"treatment\": "
	    "\"oiled\"}]", false), -1);
	CHECK_CONTAINS(err, "serial number ED-10 is already recorded with other gems: diamond x1, "
	    "and this job says emerald (oiled) x1");
	CHECK_INT(query_int("SELECT count(*) FROM jobs"), jobs);
	/* Confirmed: the new list is the piece's, with who and what it was. */
	int64_t job = job_with_gems(s, "ED-10", "[{\"species\": \"pearl\"}]", true);
	CHECK(job > 0);
	CHECK_INT(store_piece_gems(s, "ED-10", &g, err, sizeof err), 1);
	CHECK(store_gems_same(g, "[{\"species\": \"pearl\", \"count\": 1}]"));
	free(g);
	CHECK_INT(query_int("SELECT count(*) FROM events WHERE what = 'piece gems superseded' AND "
	    "who = 'Ada (root)' AND why = 'serial ED-10: the gems recorded were diamond x1; they are "
	    "now pearl x1' AND t IS NOT NULL"), 1);
	/* Superseding with the same list changes nothing and says nothing. */
	CHECK(job_with_gems(s, "ED-10", "[{\"species\": \"pearl\"}]", true) > 0);
	CHECK_INT(query_int("SELECT count(*) FROM events WHERE what = 'piece gems superseded'"), 1);
	CHECK_INT(job_with_gems(s, "ED-10", "[{\"count\": 1}]", true), -1);
	CHECK_CONTAINS(err, "not a list of {species, treatment, count}");
	store_close(s);
}

/* A substitute goes in after a step; the later steps move down. */
static void
t_step_insert(void)
{
	fresh();
	struct store *s = store_open(path, err, sizeof err);
	int64_t job = make_job(s);
	int64_t clean = store_step_id(s, job, 3), insp = store_step_id(s, job, 4);
	CHECK_INT(store_begin(s, err, sizeof err), 0);
	struct store_step sub = { "manual_clean", "Manual clean", "manual", NULL, NULL, NULL,
		"pending", NULL };
	int64_t id = store_step_insert(s, job, 3, &sub, "ada", "pearl", err, sizeof err);
	CHECK(id > 0);
	CHECK_INT(store_commit(s, err, sizeof err), 0);
	CHECK_INT(store_step_id(s, job, 3), clean);
	CHECK_INT(store_step_id(s, job, 4), id);
	CHECK_INT(store_step_id(s, job, 5), insp);
	CHECK_INT(query_int("SELECT count(*) FROM events WHERE what LIKE '%added as step 4: "
	    "manual_clean' AND why = 'pearl'"), 1);
	store_close(s);
}

/* Migration 4 on a journal written before gems were part of the piece:
 * a piece whose jobs agree gets their list; ED-10, whose jobs said a
 * diamond, an oiled emerald and a pearl, gets all three (the strictest
 * case) and an event naming the lists. */
static void
t_upgrade_gems(void)
{
	fresh();
	sqlite3 *db;
	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db,
	    "CREATE TABLE pieces (id INTEGER PRIMARY KEY, serial TEXT NOT NULL UNIQUE, type TEXT NOT NULL,"
	    " collection TEXT, metal TEXT NOT NULL, paved INTEGER NOT NULL DEFAULT 0, purchase_date TEXT,"
	    " created TEXT NOT NULL DEFAULT 'x');"
	    "CREATE TABLE jobs (id INTEGER PRIMARY KEY, piece_id INTEGER NOT NULL REFERENCES pieces(id),"
	    " services TEXT NOT NULL, operator TEXT NOT NULL, state TEXT NOT NULL, plan TEXT NOT NULL,"
	    " created TEXT NOT NULL DEFAULT 'x');"
	    "CREATE TABLE steps (id INTEGER PRIMARY KEY, job_id INTEGER NOT NULL REFERENCES jobs(id),"
	    " seq INTEGER NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL, state TEXT NOT NULL,"
	    " updated TEXT NOT NULL DEFAULT 'x', UNIQUE (job_id, seq));"
	    "CREATE TABLE events (id INTEGER PRIMARY KEY, t TEXT NOT NULL DEFAULT 'x', who TEXT NOT NULL,"
	    " what TEXT NOT NULL, why TEXT, job_id INTEGER REFERENCES jobs(id));"
	    "INSERT INTO pieces (serial, type, metal) VALUES ('ED-10', 'ring', 'white_gold');"
	    "INSERT INTO pieces (serial, type, metal) VALUES ('OK-1', 'ring', 'white_gold');"
	    "INSERT INTO pieces (serial, type, metal) VALUES ('OLD-1', 'ring', 'white_gold');"
	    "INSERT INTO jobs (piece_id, services, operator, state, plan) VALUES (1, 'shining', 'ana',"
	    " 'running', '{\"piece\":{\"gems\":[{\"species\":\"diamond\",\"treatment\":\"none\",\"count\":1}]}}');"
	    "INSERT INTO jobs (piece_id, services, operator, state, plan) VALUES (1, 'shining', 'ana',"
	    " 'planned', '{\"piece\":{\"gems\":[{\"species\":\"emerald\",\"treatment\":\"oiled\",\"count\":1},"
	    "{\"species\":\"diamond\",\"treatment\":\"none\",\"count\":2}]}}');"
	    "INSERT INTO jobs (piece_id, services, operator, state, plan) VALUES (1, 'shining', 'ana',"
	    " 'planned', '{\"piece\":{\"gems\":[{\"species\":\"pearl\",\"treatment\":\"none\",\"count\":1}]}}');"
	    "INSERT INTO jobs (piece_id, services, operator, state, plan) VALUES (2, 'shining', 'ana',"
	    " 'done', '{\"piece\":{\"gems\":[{\"species\":\"ruby\",\"count\":1},{\"species\":\"ruby\",\"count\":2}]}}');"
	    "INSERT INTO jobs (piece_id, services, operator, state, plan) VALUES (2, 'shining', 'ana',"
	    " 'done', '{\"piece\":{\"gems\":[{\"species\":\"ruby\",\"treatment\":\"none\",\"count\":3}]}}');"
	    "INSERT INTO jobs (piece_id, services, operator, state, plan) VALUES (3, 'shining', 'ana',"
	    " 'done', '{}');"
	    "PRAGMA user_version = 1;", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	struct store *s = store_open(path, err, sizeof err);
	CHECK(s != NULL);
	if (!s)
		return;
	CHECK_INT(store_version(s), 6);
	char *g = NULL;
	CHECK_INT(store_piece_gems(s, "ED-10", &g, err, sizeof err), 1);
	CHECK(store_gems_same(g, "[{\"species\": \"diamond\", \"count\": 2}, {\"species\": "
	    "\"emerald\", \"treatment\": \"oiled\"}, {\"species\": \"pearl\"}]"));
	free(g);
	CHECK_INT(store_piece_gems(s, "OK-1", &g, err, sizeof err), 1);
	CHECK(store_gems_same(g, "[{\"species\": \"ruby\", \"count\": 3}]"));
	free(g);
	CHECK_INT(store_piece_gems(s, "OLD-1", &g, err, sizeof err), 1);
	CHECK(store_gems_same(g, "[]"));
	free(g);
	CHECK_INT(query_int("SELECT count(*) FROM events WHERE what = 'piece gems merged'"), 1);
	CHECK_INT(query_int("SELECT job_id FROM events WHERE what = 'piece gems merged'"), 3);
	json_t *ev = store_query(s, "SELECT why FROM events WHERE what = 'piece gems merged'", "");
	CHECK_STR(json_string_value(json_object_get(json_array_get(ev, 0), "why")),
	    "serial ED-10: its jobs recorded different gems (diamond x1; diamond x2, emerald "
	    "(oiled) x1; pearl x1): every stone any of them named is judged (diamond x2, emerald "
	    "(oiled) x1, pearl x1) until a technician confirms the piece's gems");
	json_decref(ev);
	/* From now on the piece's list is the one a new job must give. */
	CHECK_INT(job_with_gems(s, "ED-10", "[{\"species\": \"pearl\"}]", false), -1);
	CHECK_CONTAINS(err, "already recorded with other gems: diamond x2, emerald (oiled) x1, "
	    "pearl x1");
	CHECK(job_with_gems(s, "OK-1", "[{\"species\": \"ruby\", \"count\": 3}]", false) > 0);
	store_close(s);
}

/* Version 5: calibrations of stations by their own names. A journal of
 * version 4, whose table took only the kinds' names, keeps its records
 * and its guards, and takes "rings" and "tank-rinse" after. */
static void
t_upgrade_calibration_stations(void)
{
	fresh();
	struct store *s = store_open(path, err, sizeof err);
	CHECK(s != NULL);
	if (!s)
		return;
	store_close(s);
	sqlite3 *db;
	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, WITHOUT_OUTBOX
	    "DROP TRIGGER calibrations_never_deleted; DROP TRIGGER calibrations_never_changed;"
	    "DROP TABLE calibrations;"
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
	    "  BEGIN SELECT RAISE(ABORT, 'calibration records are never changed'); END;"
	    "INSERT INTO calibrations (station, procedure, kind, technician, before, after) VALUES"
	    " ('tank', 'tank.temperature', 'calibration', 'ada', '{}', '{\"gain\":0.98}');"
	    "PRAGMA user_version = 4;", NULL, NULL, NULL), SQLITE_OK);
	/* The old table refuses a station's own name. */
	CHECK(sqlite3_exec(db, "INSERT INTO calibrations (station, procedure, kind, technician, "
	    "before, after) VALUES ('rings', 'laser.focus', 'calibration', 'ada', '{}', '{}')", NULL,
	    NULL, NULL) != SQLITE_OK);
	sqlite3_close(db);
	s = store_open(path, err, sizeof err);
	CHECK(s != NULL);
	if (!s) {
		printf("  %s\n", err);
		return;
	}
	CHECK_INT(store_version(s), 6);
	CHECK_INT(query_int("SELECT count(*) FROM calibrations WHERE station = 'tank' AND "
	    "technician = 'ada' AND json_extract(after, '$.gain') = 0.98"), 1);
	sqlite3 *raw = store_db(s);
	CHECK_INT(sqlite3_exec(raw, "INSERT INTO calibrations (station, procedure, kind, technician, "
	    "before, after) VALUES ('rings', 'laser.focus', 'calibration', 'ada', '{}', '{}')", NULL,
	    NULL, NULL), SQLITE_OK);
	CHECK(sqlite3_exec(raw, "INSERT INTO calibrations (station, procedure, kind, technician, "
	    "before, after) VALUES ('', 'laser.focus', 'calibration', 'ada', '{}', '{}')", NULL,
	    NULL, NULL) != SQLITE_OK);
	CHECK(sqlite3_exec(raw, "DELETE FROM calibrations", NULL, NULL, NULL) != SQLITE_OK);
	CHECK(sqlite3_exec(raw, "UPDATE calibrations SET technician = 'eve'", NULL, NULL, NULL) !=
	    SQLITE_OK);
	CHECK_INT(query_int("SELECT count(*) FROM calibrations"), 2);
	store_close(s);
}

/* The kinds of the outbox's events in order, comma-separated. */
static void
outbox_kinds(struct store *s, int64_t after, char *out, size_t len)
{
	json_t *rows = store_outbox_after(s, after, 1000);
	size_t i;
	json_t *r;
	out[0] = '\0';
	json_array_foreach(rows, i, r)
		snprintf(out + strlen(out), len - strlen(out), "%s%s", i ? "," : "",
		    json_string_value(json_object_get(r, "kind")));
	json_decref(rows);
}

/* Version 6: every change of the journal writes its event in the outbox,
 * in its own transaction: none for a rollback, no gap, never changed. */
static void
t_outbox(void)
{
	fresh();
	struct store *s = store_open(path, err, sizeof err);
	CHECK(s != NULL);
	if (!s)
		return;
	char origin[64], kinds[400];
	CHECK_INT(store_outbox_origin(s, origin, sizeof origin), 0);
	CHECK_INT((int)strlen(origin), 32);
	CHECK_INT(store_outbox_last(s), 0);
	int64_t job = make_job(s);
	CHECK(job > 0);
	outbox_kinds(s, 0, kinds, sizeof kinds);
	CHECK_STR(kinds, "piece,piece,job,step,step,step,step,audit");
	int64_t before = store_outbox_last(s);
	int64_t engrave = store_step_id(s, job, 2);
	CHECK_INT(store_step_transition(s, engrave, "pending", "running", "running", "marie",
	    "started", NULL, err, sizeof err), 0);
	outbox_kinds(s, before, kinds, sizeof kinds);
	CHECK_STR(kinds, "step,job,audit");
	json_t *rows = store_outbox_after(s, before, 1);
	json_t *body = json_object_get(json_array_get(rows, 0), "body");
	CHECK_STR(json_string_value(json_object_get(body, "state")), "running");
	CHECK_INT(json_integer_value(json_object_get(body, "job")), job);
	CHECK(json_object_get(body, "payload") == NULL);   /* the G-code stays here */
	json_decref(rows);

	/* A rollback takes the events with it, and the numbers go on. */
	int64_t last = store_outbox_last(s);
	CHECK_INT(store_begin(s, err, sizeof err), 0);
	CHECK(make_job_for(s, "CRT-0002", "engraving") > 0);
	CHECK(store_outbox_last(s) > last);
	store_rollback(s);
	CHECK_INT(store_outbox_last(s), last);
	CHECK_INT(store_event(s, "ada", "checked", NULL, 0, err, sizeof err), 0);
	CHECK_INT(store_outbox_last(s), last + 1);
	CHECK_INT(query_int("SELECT count(*) FROM outbox"), last + 1);
	CHECK_INT(query_int("SELECT max(seq) - min(seq) + 1 FROM outbox"), last + 1);

	sqlite3 *raw = store_db(s);
	CHECK(sqlite3_exec(raw, "DELETE FROM outbox", NULL, NULL, NULL) != SQLITE_OK);
	CHECK(sqlite3_exec(raw, "UPDATE outbox SET kind = 'job'", NULL, NULL, NULL) != SQLITE_OK);
	store_close(s);
}

/* A journal of version 5 with jobs in it: its past goes into the outbox,
 * oldest first, before anything new. */
static void
t_upgrade_outbox(void)
{
	fresh();
	struct store *s = store_open(path, err, sizeof err);
	CHECK(s != NULL);
	if (!s)
		return;
	int64_t job = make_job(s);
	CHECK_INT(store_job_transition(s, job, "aborted", "marie", "client left", err, sizeof err),
	    0);
	store_close(s);
	sqlite3 *db;
	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, WITHOUT_OUTBOX "PRAGMA user_version = 5;", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	s = store_open(path, err, sizeof err);
	CHECK(s != NULL);
	if (!s)
		return;
	CHECK_INT(store_version(s), 6);
	char kinds[400];
	outbox_kinds(s, 0, kinds, sizeof kinds);
	/* The piece, the job (as it is now), its four steps, its events. */
	CHECK_STR(kinds, "piece,job,step,step,step,step,audit,audit");
	json_t *rows = store_outbox_after(s, 1, 1);
	CHECK_STR(json_string_value(json_object_get(json_object_get(json_array_get(rows, 0),
	    "body"), "state")), "aborted");
	json_decref(rows);
	CHECK_INT(store_event(s, "ada", "checked", NULL, 0, err, sizeof err), 0);
	CHECK_INT(store_outbox_last(s), 9);
	store_close(s);
}

int
main(void)
{
	RUN(t_open_migrate_reopen);
	RUN(t_times_served);
	RUN(t_upgrade_from_version_1);
	RUN(t_full_journal);
	RUN(t_read_only);
	RUN(t_job_steps_and_transitions);
	RUN(t_recover_after_crash);
	RUN(t_bad_files);
	RUN(t_gems_normal);
	RUN(t_gems_part_of_the_piece);
	RUN(t_step_insert);
	RUN(t_upgrade_gems);
	RUN(t_upgrade_calibration_stations);
	RUN(t_outbox);
	RUN(t_upgrade_outbox);
	remove_dir();
	return test_summary();
}
