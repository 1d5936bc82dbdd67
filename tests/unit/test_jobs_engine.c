/*
 * The job engine (jobs.c) and the station methods' parameters
 * (api_methods.c) on a daemon with no devices: the shipped sim bench and
 * catalogue, a real journal file in /tmp, and the API's dispatch core.
 * What it proves, from issue 19: a piece's gems are part of its identity
 * (a second job with other gems is refused, a technician's confirmation
 * supersedes them and judges every open step again, and a station judges
 * a load by the piece's gems now, not a plan's copy); a station's outcome
 * that a full journal refused is recorded when space returns, never left
 * running; and a piece's fields of the wrong type, or a duration outside
 * its documented range, are refused naming the field.
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"
#include "daemon/daemon.h"
#include "daemon/station.h"
#include "jobs/jobs.h"
#include "journal/store.h"
#include "loop.h"
#include "methods/api_jobs.h"
#include "methods/api_methods.h"
#include "test.h"

static struct daemon d;
static char dir[64], path[128];
static struct err refusal;      /* the engine's last refusal, for the checks */

static void
remove_dir(void)
{
	if (!dir[0])
		return;
	DIR *dp = opendir(dir);
	struct dirent *e;
	while (dp && (e = readdir(dp)) != NULL) {
		char f[400];
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
			snprintf(f, sizeof f, "%s/%s", dir, e->d_name);
			unlink(f);
		}
	}
	if (dp)
		closedir(dp);
	rmdir(dir);
	dir[0] = '\0';
}

/* A daemon as atelierd makes one, without its devices and API socket. */
static bool
daemon_up(void)
{
	char err[300];
	struct cfg_errors e = { 0 };
	memset(&d, 0, sizeof d);
	d.cfg = cfg_load("config/sim.yaml", &e);
	d.catalog = d.cfg ? cfg_catalog_load(d.cfg, &e) : NULL;
	for (size_t i = 0; i < e.n; i++)
		printf("  %s\n", e.msgs[i]);
	cfg_errors_free(&e);
	snprintf(dir, sizeof dir, "/tmp/atelier-engine-XXXXXX");
	if (!test_mkdtemp(dir))
		dir[0] = '\0';
	snprintf(path, sizeof path, "%s/journal.db", dir);
	d.store = dir[0] ? store_open(path, err, sizeof err) : NULL;
	d.loop = loop_new();
	for (size_t i = 0; i < CFG_MAX_STATIONS; i++)
		corrections_reset(&d.corr[i]);
	/* The stations as the daemon opens them, without their devices: no
	 * bus, no safety path, so that they stay offline. */
	for (size_t i = 0; d.cfg && i < d.cfg->n_stations; i++) {
		const struct cfg_station *c = &d.cfg->stations[i];
		struct station *st = &d.stations[d.n_stations++];
		*st = (struct station){ .kind = (enum cfg_kind)c->kind, .index = (int)i, .cfg = c,
			.d = &d };
		st->ops = c->kind == KIND_LASER ? &station_laser_ops : c->kind == KIND_TANK ?
		    &station_tank_ops : &station_bath_ops;
		snprintf(st->name, sizeof st->name, "%s", c->name);
		st->ops->open(st);
	}
	CHECK(jobs_attach(&d, &refusal) == 0);
	CHECK(d.cfg && d.catalog && d.store);
	return d.cfg && d.catalog && d.store;
}

static void
daemon_down(void)
{
	jobs_detach(&d);
	for (size_t i = 0; i < d.n_stations; i++)
		d.stations[i].ops->close(&d.stations[i]);
	store_close(d.store);
	loop_free(d.loop);
	cfg_catalog_free(d.catalog);
	cfg_free(d.cfg);
	remove_dir();
}

/* job.create (or job.plan) through the engine; the result or NULL with
 * refusal set. */
static json_t *
create(bool dry_run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static json_t *
create(bool dry_run, const char *fmt, ...)
{
	char text[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	json_t *params = json_loads(text, 0, NULL);
	CHECK(params != NULL);
	refusal.code = 0;
	refusal.msg[0] = '\0';
	json_t *r = jobs_create(&d, params, dry_run, "Ada (root)", NULL, &refusal);
	json_decref(params);
	return r;
}

#define SHINING "{\"operator\": \"ada\", \"piece\": {\"serial\": \"%s\", \"type\": \"ring\", " \
	"\"metal\": \"white_gold\", \"gems\": %s}, \"services\": [\"shining\"]%s}"

static int64_t
job_id(json_t *r)
{
	int64_t id = (int64_t)json_integer_value(json_object_get(r, "job"));
	json_decref(r);
	return id;
}

static json_t *
step(int64_t job, int seq)
{
	json_t *rows = store_query(d.store, "SELECT id, name, state, reason FROM steps WHERE "
	    "job_id = ? AND seq = ?", "ii", job, (int64_t)seq);
	json_t *s = json_incref(json_array_get(rows, 0));
	json_decref(rows);
	return s ? s : json_object();
}

/* Step seq's state, into a static buffer. */
static const char *
state(int64_t job, int seq)
{
	static char out[32];
	json_t *s = step(job, seq);
	const char *t = json_string_value(json_object_get(s, "state"));
	snprintf(out, sizeof out, "%s", t ? t : "?");
	json_decref(s);
	return out;
}

static long long
count(const char *sql, int64_t job)
{
	json_t *rows = store_query(d.store, sql, "i", job);
	long long n = json_integer_value(json_object_get(json_array_get(rows, 0), "n"));
	json_decref(rows);
	return n;
}

/* Shining: diagnosis and buffing at the bench, then the clean queued. */
static void
to_the_tank(int64_t job)
{
	json_decref(jobs_start(&d, job, "ada", &refusal));
	json_decref(jobs_step_done(&d, job, 1, "ada", "sound", &refusal));
	json_decref(jobs_step_done(&d, job, 2, "ada", "buffed", &refusal));
	CHECK_STR(state(job, 3), "queued");
}

/* The tank takes the step (as station.run does once the tank started). */
static void
on_the_tank(int64_t job)
{
	char err[300];
	json_t *s = step(job, 3);
	int64_t id = (int64_t)json_integer_value(json_object_get(s, "id"));
	json_decref(s);
	CHECK_INT(store_step_transition(d.store, id, "queued", "running", NULL, "ada", "started",
	    NULL, err, sizeof err), 0);
	int t = daemon_station(&d, "tank")->index;
	d.jobs->active[t][d.jobs->n_active[t]++] = id;
}

/* Issue 19, item A: ED-10 was taken with a diamond, then an oiled emerald,
 * then a pearl, and the tank ran job 1's load on the diamond plan. */
static void
t_gems_refused_then_superseded(void)
{
	if (!daemon_up())
		return daemon_down();
	int64_t first = job_id(create(false, SHINING, "ED-10", "[{\"species\": \"diamond\"}]", ""));
	CHECK(first > 0);
	to_the_tank(first);
	/* Other gems: refused, naming both lists, for a plan as for a job. */
	for (int dry = 0; dry < 2; dry++) {
		CHECK(create(dry, SHINING, "ED-10", "[{\"species\": \"emerald\", \"treatment\": "
		    "\"oiled\"}]", "") == NULL);
		CHECK_INT(refusal.code, 1007);
		CHECK_CONTAINS(refusal.msg, "serial number ED-10 is already recorded with other gems: "
		    "diamond x1; this job says emerald (oiled) x1");
		CHECK_CONTAINS(refusal.msg, "\"supersede_gems\": true");
	}
	CHECK_INT(count("SELECT count(*) AS n FROM jobs WHERE id > ?", first), 0);
	/* The same stones said otherwise are the same piece. */
	json_t *r = create(true, SHINING, "ED-10", "[{\"species\": \"diamond\", \"treatment\": "
	    "\"none\", \"count\": 1}]", "");
	CHECK(r != NULL);
	json_decref(r);
	/* A plan that would supersede says so and changes nothing. */
	r = create(true, SHINING, "ED-10", "[{\"species\": \"pearl\"}]", ", \"supersede_gems\": true");
	CHECK(r != NULL);
	char *text = json_dumps(r, JSON_COMPACT);
	CHECK_CONTAINS(text, "the gems recorded for serial ED-10 (diamond x1) are superseded by "
	    "pearl x1");
	free(text);
	json_decref(r);
	CHECK_STR(state(first, 3), "queued");
	/* A technician confirms the pearl: the queued clean of job 1 gives way
	 * to the manual clean, which starts at the bench. */
	r = create(false, SHINING, "ED-10", "[{\"species\": \"pearl\"}]", ", \"supersede_gems\": true");
	CHECK(r != NULL);
	text = json_dumps(json_object_get(r, "rejudged"), JSON_COMPACT);
	CHECK_CONTAINS(text, "\"step\":\"clean\"");
	CHECK_CONTAINS(text, "\"state\":\"substituted\"");
	CHECK_CONTAINS(text, "\"step\":\"manual_clean\"");
	free(text);
	int64_t second = job_id(r);
	CHECK(second > first);
	CHECK_STR(state(first, 3), "substituted");
	json_t *s = step(first, 3);
	CHECK_CONTAINS(json_string_value(json_object_get(s, "reason")),
	    "ultrasonic cleaning refused: pearl (never)");
	CHECK_CONTAINS(json_string_value(json_object_get(s, "reason")),
	    "judged again: the piece's gems are now pearl x1");
	json_decref(s);
	s = step(first, 4);
	CHECK_STR(json_string_value(json_object_get(s, "name")), "manual_clean");
	CHECK_STR(json_string_value(json_object_get(s, "state")), "running");
	json_decref(s);
	s = step(first, 5);
	CHECK_STR(json_string_value(json_object_get(s, "name")), "technical_check");
	json_decref(s);
	/* Nothing waits at the tank any more. */
	json_t *q = jobs_queues(&d);
	CHECK_INT(json_array_size(json_object_get(json_object_get(q, "tank"), "queued")), 0);
	json_decref(q);
	/* The new job was planned with the pearl: its clean substituted. */
	CHECK_STR(state(second, 3), "substituted");
	/* Who and when, in the audit trail. */
	CHECK_INT(count("SELECT count(*) AS n FROM events WHERE job_id = ? AND what = 'piece gems "
	    "superseded' AND who = 'Ada (root)' AND t <> '' AND why LIKE '%diamond x1%pearl x1'",
	    second), 1);
	CHECK_INT(count("SELECT count(*) AS n FROM events WHERE job_id = ? AND who = 'Ada (root)' "
	    "AND what LIKE '%queued -> substituted'", first), 1);
	r = jobs_history(d.store, "ED-10", &refusal);
	text = json_dumps(json_object_get(json_object_get(r, "piece"), "gems"), JSON_COMPACT);
	CHECK_STR(text, "[{\"count\":1,\"species\":\"pearl\",\"treatment\":\"none\"}]");
	free(text);
	json_decref(r);
	/* From now on the pearl is the piece's list. */
	CHECK(create(false, SHINING, "ED-10", "[{\"species\": \"diamond\"}]", "") == NULL);
	CHECK_CONTAINS(refusal.msg, "already recorded with other gems: pearl x1");
	daemon_down();
}

/* The tank judges the load by the piece's gems in the journal now: a
 * step running when the gems were superseded, failed and retried, is not
 * cleaned on the strength of its plan's diamond. */
static void
t_station_judges_current_gems(void)
{
	if (!daemon_up())
		return daemon_down();
	int64_t job = job_id(create(false, SHINING, "RUN-1", "[{\"species\": \"diamond\"}]", ""));
	to_the_tank(job);
	on_the_tank(job);
	json_decref(create(false, SHINING, "RUN-1", "[{\"species\": \"pearl\"}]",
	    ", \"supersede_gems\": true"));
	/* A step on its station is left to finish. */
	CHECK_STR(state(job, 3), "running");
	jobs_station_finished(&d, daemon_station(&d, "tank")->index, false, "the lid was opened");
	CHECK_STR(state(job, 3), "failed");
	json_decref(jobs_step_retry(&d, job, 3, "ada", &refusal));
	CHECK_STR(state(job, 3), "queued");
	refusal.code = 0;
	CHECK(jobs_station_run(&d, "tank", "ada", 0, &refusal) == NULL);
	CHECK_INT(refusal.code, 1002);
	CHECK_CONTAINS(refusal.msg, "the load is refused: ultrasonic cleaning refused: pearl");
	CHECK_CONTAINS(refusal.msg, "piece RUN-1");
	CHECK_STR(state(job, 3), "queued");
	/* A journal whose piece has no readable list refuses the load. */
	json_decref(store_query(d.store, "UPDATE pieces SET gems = NULL", ""));
	CHECK(jobs_station_run(&d, "tank", "ada", 0, &refusal) == NULL);
	CHECK_CONTAINS(refusal.msg, "no readable gem list for piece RUN-1");
	daemon_down();
}

/* Open steps of every kind are judged again: a failed clean too, and the
 * rhodium phases of a necklace when an emerald is confirmed. */
static void
t_rejudge_open_steps(void)
{
	if (!daemon_up())
		return daemon_down();
	int64_t job = job_id(create(false, "{\"operator\": \"ada\", \"piece\": {\"serial\": \"NK-9\", "
	    "\"type\": \"necklace\", \"metal\": \"white_gold\", \"gems\": [{\"species\": "
	    "\"diamond\"}]}, \"services\": [{\"id\": \"necklace_resizing\", \"change_cm\": 2}]}"));
	CHECK(job > 0);
	/* diagnosis, resize, strip, polish, clean, electroclean, rinse,
	 * activate, rinse, plate, dry, final check */
	CHECK_STR(state(job, 6), "pending");
	json_t *r = create(false, "{\"operator\": \"ada\", \"piece\": {\"serial\": \"NK-9\", "
	    "\"type\": \"necklace\", \"metal\": \"white_gold\", \"gems\": [{\"species\": "
	    "\"emerald\", \"treatment\": \"oiled\"}]}, \"services\": [\"shining\"], "
	    "\"supersede_gems\": true}");
	CHECK(r != NULL);
	json_decref(r);
	/* The strip gives way to stripping by polishing... */
	CHECK_STR(state(job, 3), "substituted");
	json_t *s = step(job, 4);
	CHECK_STR(json_string_value(json_object_get(s, "name")), "rhodium_strip_manual");
	json_decref(s);
	/* ...the clean to the manual clean... */
	CHECK_STR(state(job, 6), "substituted");
	s = step(job, 7);
	CHECK_STR(json_string_value(json_object_get(s, "name")), "manual_clean");
	json_decref(s);
	/* ...and every phase of the finishing to the pen, placed after them. */
	for (int seq = 8; seq <= 13; seq++)
		CHECK_STR(state(job, seq), "substituted");
	s = step(job, 14);
	CHECK_STR(json_string_value(json_object_get(s, "name")), "rhodium_pen");
	CHECK_STR(json_string_value(json_object_get(s, "state")), "pending");
	json_decref(s);
	s = step(job, 15);
	CHECK_STR(json_string_value(json_object_get(s, "name")), "final_check");
	json_decref(s);
	CHECK_INT(count("SELECT count(*) AS n FROM steps WHERE job_id = ?", job), 15);
	/* A job interrupted on its clean runs again once the clean gave way. */
	int64_t cut = job_id(create(false, SHINING, "CUT-1", "[{\"species\": \"diamond\"}]", ""));
	to_the_tank(cut);
	on_the_tank(cut);
	jobs_shutdown(&d);              /* the daemon stops during the step */
	CHECK_STR(state(cut, 3), "interrupted");
	json_decref(create(false, SHINING, "CUT-1", "[{\"species\": \"pearl\"}]",
	    ", \"supersede_gems\": true"));
	CHECK_STR(state(cut, 3), "substituted");
	CHECK_STR(state(cut, 4), "running");    /* the manual clean, at the bench */
	json_t *row = jobs_show(&d, cut, &refusal);
	CHECK_STR(json_string_value(json_object_get(row, "state")), "running");
	json_decref(row);
	daemon_down();
}

/* The confirmation is a technician's: a jeweller asking it is refused
 * before the engine is asked anything. */
static void
t_jeweller_cannot_supersede(void)
{
	struct api_limits lim = { .max_request = 65536, .max_backlog = 1 << 20, .max_clients = 4 };
	struct api *api = api_new(&lim, jobs_part.methods, jobs_part.n_methods, NULL, NULL);
	static const char *const methods[] = { "job.create", "job.plan" };
	for (size_t i = 0; i < 2; i++) {
		char line[300];
		struct buf out;
		buf_init(&out);
		struct api_call ctx = { .api = api, .role = API_ROLE_JEWELLER };
		snprintf(line, sizeof line, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\",\"params\":"
		    "{\"supersede_gems\":true}}", methods[i]);
		api_handle_line(api, &ctx, line, strlen(line), &out);
		CHECK_CONTAINS(out.data, "\"code\":1001");
		CHECK_CONTAINS(out.data, "'supersede_gems' is for the technician role; you are jeweller");
		buf_free(&out);
	}
	api_free(api);
}

static void
journal_pages(long long n)
{
	char sql[64];
	snprintf(sql, sizeof sql, "PRAGMA max_page_count = %lld", n);
	json_decref(store_query(d.store, sql, ""));
}

/* Fills the journal: SQLite's own page limit stands in for a full disk
 * (the same SQLITE_FULL on the same write path), small rows so that no
 * gap is left for a transition's event. */
static void
fill_journal(void)
{
	char err[300];
	json_t *rows = store_query(d.store, "PRAGMA page_count", "");
	journal_pages(json_integer_value(json_object_get(json_array_get(rows, 0), "page_count")));
	json_decref(rows);
	int i;
	for (i = 0; i < 100000 && store_event(d.store, "x", "x", NULL, 0, err, sizeof err) == 0; i++)
		;
	CHECK(i < 100000);
	CHECK_CONTAINS(err, "full");
}

/* Issue 19, item B: a step whose station finished while the journal was
 * full stayed running for ever. */
static void
t_outcome_waits_for_space(void)
{
	if (!daemon_up())
		return daemon_down();
	int64_t job = job_id(create(false, SHINING, "FULL-1", "[{\"species\": \"diamond\"}]", ""));
	to_the_tank(job);
	on_the_tank(job);
	fill_journal();
	jobs_station_finished(&d, daemon_station(&d, "tank")->index, true, "the cleaning cycle is complete");
	CHECK_STR(state(job, 3), "running");            /* the journal could not say more */
	CHECK_INT(d.jobs->n_unrecorded, 1);
	CHECK(d.jobs->retry_timer != 0);
	/* What the bench hears meanwhile says what happened and what to do. */
	CHECK(jobs_step_retry(&d, job, 3, "ada", &refusal) == NULL);
	CHECK_INT(refusal.code, 1008);
	CHECK_CONTAINS(refusal.msg, "step 3 (clean) of job");
	CHECK_CONTAINS(refusal.msg, "the tank finished it (the cleaning cycle is complete) but the journal "
	    "could not record it");
	CHECK_CONTAINS(refusal.msg, "recorded as soon as the journal can be written again");
	CHECK(jobs_station_run(&d, "tank", "ada", 0, &refusal) == NULL);
	CHECK_INT(refusal.code, 1008);
	CHECK_CONTAINS(refusal.msg, "the tank finished it");
	/* A try while still full: kept, and the next one comes later (a
	 * locked journal makes every try wait for its busy timeout). */
	loop_run_once(d.loop, 3);
	CHECK_INT(d.jobs->n_unrecorded, 1);
	CHECK_STR(state(job, 3), "running");
	CHECK_NEAR(d.jobs->retry_delay, 4, 0);
	/* Space returns: the timer records the outcome and the job moves on. */
	journal_pages(1000000);
	for (int i = 0; i < 20 && d.jobs->n_unrecorded > 0; i++)
		loop_run_once(d.loop, 2);
	CHECK_INT(d.jobs->n_unrecorded, 0);
	CHECK_NEAR(d.jobs->retry_delay, 0, 0);
	CHECK_STR(state(job, 3), "done");
	CHECK_STR(state(job, 4), "running");            /* technical check, at the bench */
	CHECK_INT(count("SELECT count(*) AS n FROM events WHERE job_id = ? AND what LIKE "
	    "'%running -> done' AND why = 'the cleaning cycle is complete'", job), 1);
	daemon_down();
}

/* A station that stopped while the journal was full: the failure and its
 * reason are recorded once it can be; and if the daemon stops first, the
 * next start finds the step running and marks it interrupted. */
static void
t_failure_waits_for_space(void)
{
	if (!daemon_up())
		return daemon_down();
	char err[300];
	int64_t a = job_id(create(false, SHINING, "FULL-2", "[]", ""));
	int64_t b = job_id(create(false, SHINING, "FULL-3", "[]", ""));
	to_the_tank(a);
	to_the_tank(b);
	on_the_tank(a);
	on_the_tank(b);
	fill_journal();
	jobs_station_finished(&d, daemon_station(&d, "tank")->index, false, "emergency stop pressed");
	CHECK_INT(d.jobs->n_unrecorded, 2);
	json_t *shown = jobs_show(&d, a, &refusal);
	char *text = json_dumps(shown, JSON_COMPACT);
	CHECK_CONTAINS(text, "\"unrecorded\":\"the tank stopped it (emergency stop pressed) but the "
	    "journal could not record it yet");
	free(text);
	json_decref(shown);
	journal_pages(1000000);
	/* Any job operation writes first what waits. */
	json_decref(jobs_show(&d, a, &refusal));
	CHECK_INT(d.jobs->n_unrecorded, 0);
	CHECK_STR(state(a, 3), "failed");
	CHECK_STR(state(b, 3), "failed");
	json_t *s = step(b, 3);
	CHECK_STR(json_string_value(json_object_get(s, "reason")), "emergency stop pressed");
	json_decref(s);
	/* Again, and the daemon stops while the journal is still full. */
	json_decref(jobs_step_retry(&d, a, 3, "ada", &refusal));
	on_the_tank(a);
	fill_journal();
	jobs_station_finished(&d, daemon_station(&d, "tank")->index, false, "emergency stop pressed");
	jobs_shutdown(&d);
	CHECK_INT(d.jobs->n_unrecorded, 0);
	CHECK_INT(d.jobs->retry_timer, 0);
	store_close(d.store);
	d.store = store_open(path, err, sizeof err);
	CHECK(d.store != NULL);
	if (!d.store)
		return daemon_down();
	CHECK_INT(store_recover(d.store, err, sizeof err), 1);
	CHECK_STR(state(a, 3), "interrupted");
	daemon_down();
}

/* Runs one request through the daemon's methods as a technician. */
static const char *
method(const char *name, const char *params)
{
	static char reply[2048];
	struct api_limits lim = { .max_request = 65536, .max_backlog = 1 << 20, .max_clients = 4 };
	struct api *api = api_new(&lim, stations_api_part.methods, stations_api_part.n_methods, NULL,
	    NULL);
	api_set_data(api, &d);
	char line[1024];
	snprintf(line, sizeof line, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\",\"params\":%s}",
	    name, params);
	struct buf out;
	buf_init(&out);
	struct api_call ctx = { .api = api, .role = API_ROLE_TECHNICIAN };
	api_handle_line(api, &ctx, line, strlen(line), &out);
	snprintf(reply, sizeof reply, "%s", out.data ? out.data : "");
	buf_free(&out);
	api_free(api);
	return reply;
}

/* Issue 19, item C: a treatment of 5 was taken as "none" and the tank
 * started on a diamond; every field of a piece is read for its type. */
static void
t_piece_fields_typed(void)
{
	if (!daemon_up())
		return daemon_down();
	static const struct { const char *piece, *field; } bad[] = {
		{ "{\"metal\":\"platinum\",\"gems\":[{\"species\":\"diamond\",\"treatment\":5}]}",
		  "pieces[0].gems[0].treatment must be a name" },
		{ "{\"metal\":\"platinum\",\"gems\":[{\"species\":\"diamond\","
		  "\"treatment\":[\"fracture-filled\"]}]}", "pieces[0].gems[0].treatment must be a name" },
		{ "{\"metal\":\"platinum\",\"gems\":[{\"species\":\"diamond\",\"treatment\":true}]}",
		  "pieces[0].gems[0].treatment must be a name" },
		{ "{\"metal\":\"platinum\",\"gems\":[{\"species\":\"diamond\",\"treatment\":null}]}",
		  "pieces[0].gems[0].treatment must be a name" },
		{ "{\"metal\":\"platinum\",\"gems\":[{\"species\":\"diamond\",\"treatment\":\"\"}]}",
		  "pieces[0].gems[0].treatment must be a name" },
		{ "{\"metal\":\"platinum\",\"gems\":[{\"species\":7}]}",
		  "pieces[0].gems[0].species must be a name" },
		{ "{\"metal\":[\"platinum\"]}", "pieces[0].metal must be a name" },
		{ "{\"metal\":\"platinum\",\"barrier_layer\":\"yes\"}",
		  "pieces[0].barrier_layer must be true or false" },
		{ "{\"metal\":\"platinum\",\"gems\":[{\"species\":\"diamond\",\"treatmnet\":\"filled\"}]}",
		  "pieces[0].gems[0]: unknown field 'treatmnet'" },
		{ "{\"metal\":\"platinum\",\"gems\":[{\"species\":\"diamond\",\"count\":9223372036854775807}]}",
		  "pieces[0].gems[0].count must be a whole number from 1 to 10000" },
		{ "{\"metal\":\"platinum\",\"gems\":[\"diamond\"]}",
		  "pieces[0].gems[0] must be an object" },
	};
	char params[600];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(params, sizeof params, "{\"pieces\":[%s],\"seconds\":30}", bad[i].piece);
		const char *r = method("tank.start", params);
		CHECK_CONTAINS(r, "\"code\":-32602");
		CHECK_CONTAINS(r, bad[i].field);
		snprintf(params, sizeof params, "{\"pieces\":[%s],\"volts\":2,\"amps\":1,\"seconds\":30}",
		    bad[i].piece);
		r = method("bath.plate", params);
		CHECK_CONTAINS(r, "\"code\":-32602");
		CHECK_CONTAINS(r, bad[i].field);
		snprintf(params, sizeof params, "{\"engraving\":{\"text\":\"A\",\"area\":\"rect\","
		    "\"width\":10,\"height\":4},\"pieces\":[%s]}", bad[i].piece);
		r = method("engrave.start", params);
		CHECK_CONTAINS(r, "\"code\":-32602");
		CHECK_CONTAINS(r, bad[i].field);
	}
	CHECK_CONTAINS(method("engrave.start", "{\"engraving\":{\"text\":\"A\",\"area\":\"rect\","
	    "\"width\":10,\"height\":4},\"pieces\":[{\"metal\":\"platinum\"}],\"override\":\"yes\"}"),
	    "'override' must be true or false");
	/* Good pieces pass to the station, which finds no tank here. */
	CHECK_CONTAINS(method("tank.start", "{\"pieces\":[{\"metal\":\"platinum\",\"gems\":"
	    "[{\"species\":\"diamond\",\"treatment\":\"none\",\"count\":2}]}],\"seconds\":30}"),
	    "the cleaning tank is not connected");
	/* A fracture-filled diamond said properly is refused by policy. */
	CHECK_CONTAINS(method("tank.start", "{\"pieces\":[{\"metal\":\"platinum\",\"gems\":"
	    "[{\"species\":\"diamond\",\"treatment\":\"fracture_filled\"}]}],\"seconds\":30}"),
	    "\"code\":1002");
	daemon_down();
}

/* Issue 19, item C: "seconds": 1e-300 against "1..600 s". */
static void
t_durations_in_range(void)
{
	if (!daemon_up())
		return daemon_down();
	char params[300], want[120];
	struct station *tank = daemon_station(&d, "tank"), *bath = daemon_station(&d, "bath");
	double max = tank->cfg->tank.max_cycle;
	static const char *const tank_bad[] = { "1e-300", "0", "-5", "0.999", "1e300" };
	for (size_t i = 0; i < sizeof tank_bad / sizeof tank_bad[0]; i++) {
		snprintf(params, sizeof params, "{\"pieces\":[{\"metal\":\"platinum\"}],\"seconds\":%s}",
		    tank_bad[i]);
		const char *r = method("tank.start", params);
		CHECK_CONTAINS(r, "\"code\":1007");
		snprintf(want, sizeof want, "'seconds' must be from 1 to %g s", max);
		CHECK_CONTAINS(r, want);
		snprintf(params, sizeof params, "{\"pieces\":[{\"metal\":\"platinum\"}],\"volts\":2,"
		    "\"amps\":1,\"seconds\":%s}", tank_bad[i]);
		r = method("bath.plate", params);
		CHECK_CONTAINS(r, "\"code\":1007");
		CHECK_CONTAINS(r, "'seconds' must be from 1 to 3600 s");
	}
	snprintf(params, sizeof params, "{\"pieces\":[{\"metal\":\"platinum\"}],\"seconds\":%g}",
	    max + 1);
	CHECK_CONTAINS(method("tank.start", params), "\"code\":1007");
	CHECK_CONTAINS(method("bath.plate", "{\"pieces\":[{\"metal\":\"platinum\"}],\"volts\":2,"
	    "\"amps\":1,\"seconds\":3601}"), "\"code\":1007");
	CHECK_CONTAINS(method("tank.start", "{\"pieces\":[{\"metal\":\"platinum\"}],\"seconds\":\"30\"}"),
	    "'seconds' must be a number");
	/* The ends of the ranges are in them. */
	snprintf(params, sizeof params, "{\"pieces\":[{\"metal\":\"platinum\"}],\"seconds\":%g}", max);
	CHECK_CONTAINS(method("tank.start", params), "not connected");
	CHECK_CONTAINS(method("tank.start", "{\"pieces\":[{\"metal\":\"platinum\"}],\"seconds\":1}"),
	    "not connected");
	CHECK_CONTAINS(method("bath.plate", "{\"pieces\":[{\"metal\":\"platinum\"}],\"volts\":2,"
	    "\"amps\":1,\"seconds\":3600}"), "not connected");
	/* The station checks again, for callers other than the API. */
	struct policy_piece p = { "platinum", NULL, 0, false, false };
	CHECK_INT(station_tank_start(tank, &p, 1, 1e-300, 80, 40, 45, &refusal), -1);
	CHECK_INT(refusal.code, 1007);
	CHECK_INT(station_tank_start(tank, &p, 1, NAN, 80, 40, 45, &refusal), -1);
	CHECK_INT(refusal.code, 1007);
	CHECK_INT(station_bath_plate(bath, &p, 1, 2, 1, 0.5, &refusal), -1);
	CHECK_INT(refusal.code, 1007);
	CHECK_INT(station_bath_plate(bath, &p, 1, 2, 1, NAN, &refusal), -1);
	CHECK_INT(refusal.code, 1007);
	daemon_down();
}

int
main(void)
{
	RUN(t_gems_refused_then_superseded);
	RUN(t_station_judges_current_gems);
	RUN(t_rejudge_open_steps);
	RUN(t_jeweller_cannot_supersede);
	RUN(t_outcome_waits_for_space);
	RUN(t_failure_waits_for_space);
	RUN(t_piece_fields_typed);
	RUN(t_durations_in_range);
	return test_summary();
}
