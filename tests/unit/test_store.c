/*
 * The job journal on real SQLite files: WAL and foreign keys, migrations
 * recorded and not repeated, a journal newer than the program refused,
 * transitions atomic with their audit event, refusal of a transition from
 * the wrong state, recovery after a crash marking running steps
 * interrupted, conflicting serial numbers, and a locked or corrupt file
 * reported with a sentence.
 */
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store.h"
#include "test.h"

static char dir[64], path[128];
static char err[300];

static void
fresh(void)
{
	snprintf(dir, sizeof dir, "/tmp/atelier-store-XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
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

static int64_t
make_job(struct store *s)
{
	static const char *const names[] = { "diagnosis", "engrave", "clean", "inspection" };
	static const char *const kinds[] = { "manual", "machine", "machine", "manual" };
	int64_t piece = store_piece(s, "CRT-0001", "ring", NULL, "white_gold", 0, "2026-10-01",
	    err, sizeof err);
	CHECK(piece > 0);
	return store_job_create(s, piece, "engraving", "marie", "{}", names, kinds, 4, err, sizeof err);
}

static void
t_open_migrate_reopen(void)
{
	fresh();
	struct store *s = store_open(path, err, sizeof err);
	CHECK(s != NULL);
	if (!s)
		return;
	CHECK_INT(store_version(s), 2);
	store_close(s);
	CHECK_INT(query_int("PRAGMA journal_mode = WAL") >= 0, 1);
	s = store_open(path, err, sizeof err);   /* no migration runs twice */
	CHECK(s != NULL);
	CHECK_INT(store_version(s), 2);
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
	CHECK_INT(store_step_transition(s, engrave, "pending", "running", "marie", "started at the bench",
	    err, sizeof err), 0);
	char st[32];
	CHECK_INT(store_step_state(s, engrave, st, sizeof st), 0);
	CHECK_STR(st, "running");
	/* From the wrong state: refused, nothing written. */
	long long events = query_int("SELECT count(*) FROM events");
	CHECK_INT(store_step_transition(s, engrave, "pending", "done", "marie", NULL, err, sizeof err), -1);
	CHECK_CONTAINS(err, "is running, not pending");
	CHECK_INT(query_int("SELECT count(*) FROM events"), events);
	CHECK_INT(store_step_transition(s, engrave, "running", "finished", "marie", NULL, err, sizeof err), -1);
	CHECK_CONTAINS(err, "cannot record the transition");   /* CHECK constraint */
	CHECK_INT(query_int("SELECT count(*) FROM events WHERE what LIKE '%pending -> running'"), 1);
	/* The same serial with other data is refused. */
	CHECK_INT(store_piece(s, "CRT-0001", "bracelet", NULL, "platinum", 0, NULL, err, sizeof err), -1);
	CHECK_CONTAINS(err, "already recorded as another piece");
	store_close(s);
}

static void
t_recover_after_crash(void)
{
	fresh();
	struct store *s = store_open(path, err, sizeof err);
	int64_t job = make_job(s);
	int64_t clean = store_step_id(s, job, 3);
	store_step_transition(s, clean, "pending", "running", "marie", NULL, err, sizeof err);
	/* A crash: the process goes without closing anything. */
	pid_t child = fork();
	if (child == 0) {
		struct store *c = store_open(path, err, sizeof err);
		int64_t d = store_step_id(c, job, 1);
		store_step_transition(c, d, "pending", "done", "marie", "checked", err, sizeof err);
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

int
main(void)
{
	RUN(t_open_migrate_reopen);
	RUN(t_job_steps_and_transitions);
	RUN(t_recover_after_crash);
	RUN(t_bad_files);
	return test_summary();
}
