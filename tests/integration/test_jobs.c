/*
 * Jobs end to end: atelierd and the simulator, driven through the job API
 * as the bench would drive them, judged by the journal (job.show) and by
 * what physically happened (actuators.log). An engraving job runs from
 * diagnosis to inspection; two jobs' pieces go into one tank load; a
 * refused request quotes its rule; an e-stop fails a running step, which
 * is retried; an abort stops the station; a piece's gems are part of
 * it, and the tank judges a load by them; and the daemon is SIGKILLed at
 * random points during machine steps, several times: on restart the step
 * is found interrupted, nothing committed is lost, nothing is energised;
 * and a necklace's rhodium phases run on the bath at its surface's current.
 */
#include <jansson.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "simproc.h"
#include "test.h"
#include "util.h"

static struct simproc sp;
static pid_t daemon_pid = -1;
static int api = -1;

#define ULTRASOUND_ON "\"device\":\"tank\",\"actuator\":\"ultrasound\",\"value\":1"
#define LASER_ON "\"device\":\"laser\",\"actuator\":\"emission\",\"value\":1"

static bool
status_has(void *needle)
{
	return strstr(simproc_api_call(api, "status", NULL), needle) != NULL;
}

static json_t *
call(const char *method, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Calls a method; the whole reply object (result or error). */
static json_t *
call(const char *method, const char *fmt, ...)
{
	char params[4096] = "{}";
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(params, sizeof params, fmt, ap);
		va_end(ap);
	}
	const char *line = simproc_api_call(api, method, params);
	json_t *r = json_loads(line, 0, NULL);
	return r ? r : json_pack("{s:{s:i, s:s}}", "error", "code", 0, "message", "no answer");
}

static json_t *
result(json_t *reply)
{
	return json_object_get(reply, "result");
}

static const char *
error_message(json_t *reply)
{
	const char *m = json_string_value(json_object_get(json_object_get(reply, "error"), "message"));
	return m ? m : "";
}

static void
start_daemon(void)
{
	if (api >= 0)
		close(api);
	daemon_pid = simproc_daemon_start(&sp, NULL);   /* config/sim.yaml */
	api = simproc_api_connect(&sp);
}

static bool
stations_up(void *arg)
{
	(void)arg;
	json_t *r = call("status", NULL);
	json_t *dev = json_object_get(result(r), "devices");
	bool up = json_is_true(json_object_get(json_object_get(dev, "tank"), "up")) &&
	    json_is_true(json_object_get(json_object_get(dev, "rectifier"), "up")) &&
	    json_string_value(json_object_get(json_object_get(dev, "laser"), "link")) &&
	    strcmp(json_string_value(json_object_get(json_object_get(dev, "laser"), "link")),
	    "ready") == 0;
	json_decref(r);
	return up;
}

static int64_t
create(const char *request)
{
	json_t *r = call("job.create", "%s", request);
	int64_t id = (int64_t)json_integer_value(json_object_get(result(r), "job"));
	if (id <= 0)
		fprintf(stderr, "  job.create: %s\n", error_message(r));
	json_decref(r);
	return id;
}

/* The state of step seq of a job, from the journal, into a static buffer. */
static const char *
step_state(int64_t job, int seq)
{
	static char out[32];
	json_t *r = call("job.show", "{\"job\": %lld}", (long long)job);
	json_t *s = json_array_get(json_object_get(result(r), "steps"), (size_t)seq - 1);
	snprintf(out, sizeof out, "%s", s ? json_string_value(json_object_get(s, "state")) : "?");
	json_decref(r);
	return out;
}

static const char *
job_state(int64_t job)
{
	static char out[32];
	json_t *r = call("job.show", "{\"job\": %lld}", (long long)job);
	const char *s = json_string_value(json_object_get(result(r), "state"));
	snprintf(out, sizeof out, "%s", s ? s : "?");
	json_decref(r);
	return out;
}

struct want_step {
	int64_t job;
	int seq;
	const char *state;
};

static bool
step_is(void *arg)
{
	struct want_step *w = arg;
	return strcmp(step_state(w->job, w->seq), w->state) == 0;
}

static bool
wait_step(int64_t job, int seq, const char *state, double timeout)
{
	struct want_step w = { job, seq, state };
	bool ok = wait_until(step_is, &w, timeout);
	if (!ok)
		fprintf(stderr, "  job %lld step %d is %s, not %s\n", (long long)job, seq,
		    step_state(job, seq), state);
	return ok;
}

static void
done(int64_t job, int seq, const char *note)
{
	json_t *r = call("step.done", "{\"job\": %lld, \"step\": %d, \"note\": \"%s\"}",
	    (long long)job, seq, note);
	CHECK(result(r) != NULL);
	if (!result(r))
		fprintf(stderr, "  step.done: %s\n", error_message(r));
	json_decref(r);
}

static bool
run_station(const char *station)
{
	json_t *r = call("station.run", "{\"station\": \"%s\"}", station);
	bool ok = result(r) != NULL;
	if (!ok)
		fprintf(stderr, "  station.run %s: %s\n", station, error_message(r));
	json_decref(r);
	return ok;
}

static char engrave_req[1024], clean_req[1024];

static const char *
engraving_job(const char *serial)
{
	snprintf(engrave_req, sizeof engrave_req, "{\"operator\": \"marie\", \"piece\": {\"serial\": "
	    "\"%s\", \"type\": \"ring\", \"metal\": \"white_gold\", \"gems\": [{\"species\": "
	    "\"diamond\", \"count\": 3}], \"purchase_date\": \"%s\", \"certificate\": true}, "
	    "\"services\": [\"engraving\"], \"engraving\": {\"text\": \"Ana\", \"area\": \"rect\", "
	    "\"width\": 12, \"height\": 3}}", serial, "2026-11-20");
	return engrave_req;
}

/* Shining: diagnosis, buffing, clean (tank), technical, aesthetic. */
static const char *
shining_job(const char *serial, const char *gems)
{
	snprintf(clean_req, sizeof clean_req, "{\"operator\": \"luc\", \"piece\": {\"serial\": "
	    "\"%s\", \"type\": \"ring\", \"metal\": \"yellow_gold\", \"gems\": %s}, "
	    "\"services\": [\"shining\"]}", serial, gems);
	return clean_req;
}

/* Starts a job and confirms its manual steps up to the machine step seq. */
static void
bring_to(int64_t job, int seq)
{
	json_t *r = call("job.start", "{\"job\": %lld}", (long long)job);
	CHECK(result(r) != NULL);
	json_decref(r);
	for (int s = 1; s < seq; s++)
		done(job, s, "done at the bench");
	CHECK(wait_step(job, seq, "queued", 5));
}

static void
t_engraving_job_end_to_end(void)
{
	int64_t job = create(engraving_job("ENG-1"));
	CHECK(job > 0);
	CHECK_STR(job_state(job), "planned");
	int lasers = simproc_actuator_count(&sp, LASER_ON, NULL);
	bring_to(job, 2);
	/* Nothing burns until the jeweller runs the laser. */
	CHECK_INT(simproc_actuator_count(&sp, LASER_ON, NULL), lasers);
	CHECK(run_station("laser"));
	CHECK(wait_step(job, 2, "done", 60));
	CHECK(simproc_actuator_count(&sp, LASER_ON, NULL) > lasers);
	CHECK_STR(step_state(job, 3), "queued");
	int us = simproc_actuator_count(&sp, ULTRASOUND_ON, NULL);
	CHECK(run_station("tank"));
	CHECK(wait_step(job, 3, "done", 40));
	CHECK(simproc_actuator_count(&sp, ULTRASOUND_ON, NULL) > us);
	CHECK_STR(step_state(job, 4), "running");       /* the inspection, at the bench */
	done(job, 4, "lettering crisp, no mark on the stones");
	CHECK_STR(job_state(job), "done");
	/* The audit trail names who did what. */
	json_t *r = call("job.show", "{\"job\": %lld}", (long long)job);
	char *text = json_dumps(result(r), JSON_COMPACT);
	CHECK_CONTAINS(text, "lettering crisp");
	/* the operator named, with the account the socket proved */
	CHECK_CONTAINS(text, "\"who\":\"marie (root)\"");
	CHECK_CONTAINS(text, "every step is done");
	free(text);
	json_decref(r);
	/* history and export see it. */
	r = call("history", "{\"serial\": \"ENG-1\"}");
	CHECK_INT(json_array_size(json_object_get(result(r), "jobs")), 1);
	json_decref(r);
	r = call("export", "{\"serial\": \"ENG-1\"}");
	CHECK_INT(json_array_size(result(r)), 4);
	json_decref(r);
}

/* How many steps wait at the tank, as status shows it. */
static int
tank_queue(int *running)
{
	json_t *r = call("status", NULL);
	json_t *t = json_object_get(json_object_get(result(r), "queues"), "tank");
	int n = t ? (int)json_array_size(json_object_get(t, "queued")) : -1;
	if (running)
		*running = (int)json_integer_value(json_object_get(t, "running"));
	json_decref(r);
	return n;
}

/* Two jobs' pieces are cleaned in one load, each cleared by policy. */
static void
t_tank_load_of_several_jobs(void)
{
	int64_t a = create(shining_job("LOAD-A", "[{\"species\": \"diamond\"}]"));
	int64_t b = create(shining_job("LOAD-B", "[{\"species\": \"sapphire\", \"treatment\": \"heat\"}]"));
	CHECK(a > 0 && b > 0);
	bring_to(a, 3);
	bring_to(b, 3);
	CHECK_INT(tank_queue(NULL), 2);
	json_t *r = call("station.run", "{\"station\": \"tank\"}");
	CHECK_INT(json_array_size(json_object_get(result(r), "load")), 2);
	json_decref(r);
	int running = -1;
	CHECK_INT(tank_queue(&running), 0);       /* status follows the journal */
	CHECK_INT(running, 2);
	CHECK_STR(step_state(a, 3), "running");
	CHECK_STR(step_state(b, 3), "running");
	CHECK(wait_step(a, 3, "done", 40));
	CHECK_STR(step_state(b, 3), "done");
	CHECK_STR(step_state(a, 4), "running");
	json_decref(call("job.abort", "{\"job\": %lld}", (long long)a));
	json_decref(call("job.abort", "{\"job\": %lld}", (long long)b));
	CHECK_STR(job_state(a), "aborted");
}

static void
t_refusals_through_the_api(void)
{
	json_t *r = call("job.create", "{\"operator\": \"marie\", \"piece\": {\"serial\": \"LOVE-1\", "
	    "\"type\": \"bracelet\", \"collection\": \"LOVE\", \"metal\": \"yellow_gold\"}, "
	    "\"services\": [{\"id\": \"bracelet_resizing\", \"change_cm\": 1}]}");
	CHECK_INT(json_integer_value(json_object_get(json_object_get(r, "error"), "code")), 1002);
	CHECK_CONTAINS(error_message(r), "LOVE bracelets are not re-sized");
	CHECK_CONTAINS(error_message(r), "Rule: \"Bracelets can be re-sized by up to 2 cm");
	json_decref(r);
	/* Nothing was recorded for the refused request. */
	r = call("history", "{\"serial\": \"LOVE-1\"}");
	CHECK_CONTAINS(error_message(r), "no piece with serial number LOVE-1");
	json_decref(r);
	/* The same serial with other data is refused. */
	CHECK(create(shining_job("DUP-1", "[]")) > 0);
	r = call("job.create", "{\"operator\": \"marie\", \"piece\": {\"serial\": \"DUP-1\", "
	    "\"type\": \"necklace\", \"metal\": \"yellow_gold\"}, \"services\": [\"shining\"]}");
	CHECK_CONTAINS(error_message(r), "already recorded as another piece: its type was ring");
	json_decref(r);
	/* A manual step cannot be skipped, nor confirmed without a note. */
	int64_t job = create(shining_job("NOTE-1", "[]"));
	json_decref(call("job.start", "{\"job\": %lld}", (long long)job));
	r = call("step.done", "{\"job\": %lld, \"step\": 2, \"note\": \"x\"}", (long long)job);
	CHECK_CONTAINS(error_message(r), "is pending, not at the bench");
	json_decref(r);
	r = call("step.done", "{\"job\": %lld, \"step\": 1}", (long long)job);
	CHECK_CONTAINS(error_message(r), "confirmed with a note");
	json_decref(r);
	json_decref(call("job.abort", "{\"job\": %lld}", (long long)job));
}

/* An e-stop during a tank step fails it with the reason; once reset, the
 * jeweller retries and the step runs again. */
static void
t_estop_fails_the_step_then_retry(void)
{
	char reply[200];
	int64_t job = create(shining_job("ESTOP-1", "[{\"species\": \"diamond\"}]"));
	bring_to(job, 3);
	CHECK(run_station("tank"));
	CHECK_STR(step_state(job, 3), "running");
	CHECK_INT(simproc_ctl(&sp, reply, sizeof reply, "estop press"), 0);
	CHECK(wait_step(job, 3, "failed", 5));
	json_t *r = call("job.show", "{\"job\": %lld}", (long long)job);
	CHECK_CONTAINS(json_string_value(json_object_get(json_array_get(json_object_get(result(r),
	    "steps"), 2), "reason")), "emergency stop");
	json_decref(r);
	r = call("step.retry", "{\"job\": %lld, \"step\": 3}", (long long)job);
	CHECK(result(r) != NULL);
	json_decref(r);
	CHECK_STR(step_state(job, 3), "queued");
	/* Still latched: the station refuses before anything is recorded. */
	r = call("station.run", "{\"station\": \"tank\"}");
	CHECK_CONTAINS(error_message(r), "emergency stop");
	json_decref(r);
	CHECK_STR(step_state(job, 3), "queued");
	CHECK_INT(simproc_ctl(&sp, reply, sizeof reply, "estop release"), 0);
	usleep(200000);
	json_decref(call("estop.reset", NULL));
	CHECK(run_station("tank"));
	CHECK_STR(step_state(job, 3), "running");
	/* Aborting the job stops the tank at once. */
	json_decref(call("job.abort", "{\"job\": %lld, \"why\": \"client called back\"}",
	    (long long)job));
	CHECK_STR(step_state(job, 3), "aborted");
	r = call("status", NULL);
	CHECK_STR(json_string_value(json_object_get(json_object_get(json_object_get(result(r),
	    "stations"), "tank"), "state")), "idle");
	json_decref(r);
	CHECK_INT(simproc_ctl(&sp, reply, sizeof reply, "lines"), 0);
	CHECK_CONTAINS(reply, "\"tank.ultrasound_enable\":0");
}

static bool
relay_off(void *arg)
{
	char reply[300];
	if (simproc_ctl(&sp, reply, sizeof reply, "lines") < 0)
		return false;
	return strstr(reply, (const char *)arg) != NULL;
}

static bool
laser_idle(void *arg)
{
	(void)arg;
	json_t *r = call("status", NULL);
	const char *st = json_string_value(json_object_get(json_object_get(json_object_get(
	    result(r), "devices"), "laser"), "state"));
	bool idle = st && strcmp(st, "Idle") == 0;
	json_decref(r);
	return idle;
}

/* A reset in motion leaves GRBL in alarm: the station refuses to engrave
 * until a technician unlocks it, as at the bench. */
static void
unlock_laser(void)
{
	if (laser_idle(NULL))
		return;
	json_t *r = call("station.run", "{\"station\": \"laser\"}");
	CHECK_CONTAINS(error_message(r), "the laser is in alarm");
	json_decref(r);
	json_decref(call("laser.unlock", NULL));
	CHECK(wait_until(laser_idle, NULL, 10));
}

/* SIGKILL during a machine step, at a random point, several times. */
static void
t_sigkill_during_steps(void)
{
	unsigned seed = (unsigned)time(NULL);
	fprintf(stderr, "  random seed %u\n", seed);
	srand(seed);
	for (int round = 0; round < 4; round++) {
		bool laser = round % 2 == 0;
		char serial[32];
		snprintf(serial, sizeof serial, "KILL-%d", round);
		CHECK(wait_until(stations_up, NULL, 30));
		int64_t job = create(laser ? engraving_job(serial) :
		    shining_job(serial, "[{\"species\": \"diamond\"}]"));
		int seq = laser ? 2 : 3;
		bring_to(job, seq);
		if (laser)
			unlock_laser();
		json_t *before = call("job.show", "{\"job\": %lld}", (long long)job);
		size_t events = json_array_size(json_object_get(result(before), "events"));
		json_decref(before);
		CHECK(run_station(laser ? "laser" : "tank"));
		usleep((useconds_t)(rand() % 1500) * 1000);
		CHECK_INT(simproc_daemon_stop(daemon_pid, SIGKILL), 128 + SIGKILL);
		/* The relay board lets go of a dead client's lines. */
		CHECK(wait_until(relay_off, laser ? "\"laser.enable\":0" : "\"tank.ultrasound_enable\":0", 5));
		int energised = simproc_actuator_count(&sp, laser ? LASER_ON : ULTRASOUND_ON, NULL);
		start_daemon();
		CHECK(daemon_pid > 0);
		CHECK(wait_until(stations_up, NULL, 30));
		CHECK_STR(step_state(job, seq), "interrupted");
		CHECK_STR(job_state(job), "interrupted");
		/* Nothing committed is lost: the earlier steps, every event. */
		CHECK_STR(step_state(job, 1), "done");
		json_t *after = call("job.show", "{\"job\": %lld}", (long long)job);
		CHECK(json_array_size(json_object_get(result(after), "events")) >= events + 2);
		char *text = json_dumps(result(after), JSON_COMPACT);
		CHECK_CONTAINS(text, "found running at start-up");
		free(text);
		json_decref(after);
		/* The restarted daemon energised nothing on its own. */
		usleep(300000);
		CHECK_INT(simproc_actuator_count(&sp, laser ? LASER_ON : ULTRASOUND_ON, NULL), energised);
		/* The interrupted step is retried, or the job given up. */
		json_t *r = call("step.retry", "{\"job\": %lld, \"step\": %d}", (long long)job, seq);
		CHECK(result(r) != NULL);
		json_decref(r);
		CHECK_STR(step_state(job, seq), "queued");
		CHECK_STR(job_state(job), "running");
		json_decref(call("job.abort", "{\"job\": %lld}", (long long)job));
	}
}

static int
error_code(json_t *reply)
{
	return (int)json_integer_value(json_object_get(json_object_get(reply, "error"), "code"));
}

/* Issue 19: ED-10 was taken with a diamond, then an oiled emerald, then a
 * pearl, and the tank ran job 1's load on the diamond plan. The gems are
 * part of the piece: another list is refused, a technician's confirmation
 * supersedes it and the queued clean gives way; and the tank judges a
 * load by the piece's gems in the journal, not by its plan. */
static void
t_gems_are_the_pieces(void)
{
	int64_t job = create(shining_job("GEM-1", "[{\"species\": \"diamond\"}]"));
	CHECK(job > 0);
	bring_to(job, 3);
	json_t *r = call("job.create", "%s", shining_job("GEM-1", "[{\"species\": \"emerald\", "
	    "\"treatment\": \"oiled\"}]"));
	CHECK_INT(error_code(r), 1007);
	CHECK_CONTAINS(error_message(r), "serial number GEM-1 is already recorded with other gems: "
	    "diamond x1; this job says emerald (oiled) x1");
	json_decref(r);
	/* The technician (root here) confirms a pearl. */
	char req[1200];
	snprintf(req, sizeof req, "%s", shining_job("GEM-1", "[{\"species\": \"pearl\"}]"));
	snprintf(req + strlen(req) - 1, sizeof req - strlen(req) + 1, ", \"supersede_gems\": true}");
	r = call("job.create", "%s", req);
	char *text = json_dumps(json_object_get(result(r), "rejudged"), JSON_COMPACT);
	CHECK_CONTAINS(text, "\"step\":\"clean\",\"state\":\"substituted\"");
	free(text);
	int64_t second = (int64_t)json_integer_value(json_object_get(result(r), "job"));
	json_decref(r);
	CHECK_STR(step_state(job, 3), "substituted");
	CHECK_STR(step_state(job, 4), "running");       /* the manual clean, at the bench */
	int us = simproc_actuator_count(&sp, ULTRASOUND_ON, NULL);
	r = call("station.run", "{\"station\": \"tank\"}");
	CHECK_CONTAINS(error_message(r), "nothing is waiting at the tank");
	json_decref(r);
	r = call("history", "{\"serial\": \"GEM-1\"}");
	text = json_dumps(result(r), JSON_COMPACT);
	CHECK_CONTAINS(text, "\"gems\":[{\"count\":1,\"species\":\"pearl\",\"treatment\":\"none\"}]");
	CHECK_CONTAINS(text, "piece gems superseded");
	free(text);
	json_decref(r);
	/* A piece whose journal says pearl now (as migration 4 leaves a piece
	 * whose old jobs disagreed), with a job planned on a diamond. */
	int64_t old = create(shining_job("GEM-2", "[{\"species\": \"diamond\"}]"));
	bring_to(old, 3);
	sqlite3 *db;
	char journal[400];
	snprintf(journal, sizeof journal, "%s/state/journal.db", sp.dir);
	CHECK_INT(sqlite3_open(journal, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	CHECK_INT(sqlite3_exec(db, "UPDATE pieces SET gems = '[{\"count\":1,\"species\":\"pearl\","
	    "\"treatment\":\"none\"}]' WHERE serial = 'GEM-2'", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	r = call("station.run", "{\"station\": \"tank\"}");
	CHECK_INT(error_code(r), 1002);
	CHECK_CONTAINS(error_message(r), "ultrasonic cleaning refused: pearl");
	json_decref(r);
	CHECK_STR(step_state(old, 3), "queued");
	usleep(300000);
	CHECK_INT(simproc_actuator_count(&sp, ULTRASOUND_ON, NULL), us);
	json_decref(call("job.abort", "{\"job\": %lld}", (long long)job));
	json_decref(call("job.abort", "{\"job\": %lld}", (long long)second));
	json_decref(call("job.abort", "{\"job\": %lld}", (long long)old));
	CHECK_STR(job_state(old), "aborted");
}

/* A copy of a file of the source tree with each find replaced. */
static bool
copy_with(const char *from, const char *to, const char *const *pairs, size_t n)
{
	char *text = file_read(from, 0, NULL);
	if (!text)
		return false;
	for (size_t i = 0; i + 1 < n; i += 2) {
		char *at = strstr(text, pairs[i]);
		if (!at) {
			free(text);
			return false;
		}
		char *next = xasprintf("%.*s%s%s", (int)(at - text), text, pairs[i + 1],
		    at + strlen(pairs[i]));
		free(text);
		text = next;
	}
	FILE *out = fopen(to, "w");
	bool ok = out && fputs(text, out) >= 0;
	if (out)
		ok = fclose(out) == 0 && ok;
	free(text);
	return ok;
}

static bool
rectifier_volts(void *arg)
{
	return simproc_actuator_count(&sp, "\"device\":\"rectifier\",\"actuator\":\"voltage\"",
	    arg) > 0;
}

/* A white-gold necklace re-sized: the rhodium phases run on the bath at
 * the current its surface needs. The recipe's times are shortened in a
 * copy of the catalogue, so the test waits seconds. */
static void
t_rhodium_phases_on_the_bath(void)
{
	char cwd[300], services[400], cfg[400], line[1200];
	CHECK(getcwd(cwd, sizeof cwd) != NULL);
	snprintf(services, sizeof services, "%s/services-short.yaml", sp.dir);
	static const char *const shorter[] = {
		"volts: 3, seconds: 60", "volts: 3, seconds: 2",
		"volts: 4, seconds: 120", "volts: 4, seconds: 2",
		"plate: true, seconds: 20", "plate: true, seconds: 2",
	};
	CHECK(copy_with("config/services.yaml", services, shorter, ARRAY_LEN(shorter)));
	snprintf(cfg, sizeof cfg, "%s/short.yaml", sp.dir);
	snprintf(line, sizeof line, "api:\n");
	char tail[1200];
	snprintf(tail, sizeof tail, "gems_file: %s/config/gems.yaml\nservices_file: %s\n"
	    "profile_dir: %s/config/profiles\napi:\n", cwd, services, cwd);
	const char *const pairs[] = { line, tail };
	CHECK(copy_with("config/sim.yaml", cfg, pairs, 2));
	close(api);
	simproc_daemon_stop(daemon_pid, SIGTERM);
	daemon_pid = simproc_daemon_start(&sp, cfg);
	api = simproc_api_connect(&sp);
	CHECK(wait_until(stations_up, NULL, 30));
	int64_t job = create("{\"operator\": \"ana\", \"piece\": {\"serial\": \"NK-1\", \"type\": "
	    "\"necklace\", \"metal\": \"white_gold\", \"gems\": [{\"species\": \"diamond\", "
	    "\"count\": 20}]}, \"services\": [{\"id\": \"necklace_resizing\", \"change_cm\": -2}]}");
	CHECK(job > 0);
	bring_to(job, 3);                       /* the strip */
	/* A cold bath: it is heated to its temperature first, the bench and
	 * the plan saying so, and only then does current flow. */
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "water bath_heater 21"), 0);
	char show[64];
	snprintf(show, sizeof show, "{\"job\": %lld}", (long long)job);
	CHECK_CONTAINS(simproc_api_call(api, "job.show", show), "\"temperature\":48");
	int rect_on = simproc_actuator_count(&sp, "\"device\":\"rectifier\",\"actuator\":\"output\"",
	    "\"value\":1");
	CHECK(run_station("bath"));
	CHECK(wait_until(status_has, "heating the bath to 48 C", 10));
	CHECK_INT(simproc_actuator_count(&sp, "\"device\":\"rectifier\",\"actuator\":\"output\"",
	    "\"value\":1"), rect_on);
	CHECK(wait_step(job, 3, "done", 60));
	done(job, 4, "polished");
	CHECK(run_station("tank"));
	CHECK(wait_step(job, 5, "done", 40));
	CHECK_STR(step_state(job, 6), "queued"); /* the electroclean */
	CHECK(run_station("bath"));
	CHECK(wait_step(job, 6, "done", 20));
	for (int s = 7; s <= 9; s++)
		done(job, s, "rinsed, activated, rinsed");
	int outputs = simproc_actuator_count(&sp, "\"device\":\"rectifier\",\"actuator\":\"output\"",
	    "\"value\":1");
	CHECK(run_station("bath"));             /* the plating */
	/* 0.40 dm2 at 2 A/dm2 is 0.80 A; the simulated bath's 2 ohm bring
	 * the supply into current limit at 1.60 V, under the 3 V set. */
	CHECK(wait_until(rectifier_volts, "\"value\":1.60}", 10));
	CHECK(wait_step(job, 10, "done", 20));
	CHECK(simproc_actuator_count(&sp, "\"device\":\"rectifier\",\"actuator\":\"output\"",
	    "\"value\":1") > outputs);
	done(job, 11, "dried");
	done(job, 12, "even white finish");
	CHECK_STR(job_state(job), "done");
	char reply[300];
	CHECK_INT(simproc_ctl(&sp, reply, sizeof reply, "lines"), 0);
	CHECK_CONTAINS(reply, "\"bath.rectifier_enable\":0");
}

/* A rectifier that refuses its start (exception 02 on V-SET) fails the
 * step with the reason: a job never records a plating that did not happen. */
static void
t_refused_start_fails_the_step(void)
{
	int64_t job = create("{\"operator\": \"ana\", \"piece\": {\"serial\": \"NK-2\", \"type\": "
	    "\"necklace\", \"metal\": \"white_gold\", \"gems\": [{\"species\": \"diamond\", "
	    "\"count\": 20}]}, \"services\": [{\"id\": \"necklace_resizing\", \"change_cm\": -2}]}");
	CHECK(job > 0);
	bring_to(job, 3);
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "water bath_heater 48"), 0);
	CHECK(wait_until(status_has, "\"pv\":48.0", 10));
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "exception rectifier 2 8"), 0);
	CHECK(run_station("bath"));
	CHECK(wait_step(job, 3, "failed", 20));
	json_t *r = call("job.show", "{\"job\": %lld}", (long long)job);
	json_t *st = json_array_get(json_object_get(result(r), "steps"), 2);
	CHECK_CONTAINS(json_string_value(json_object_get(st, "reason")),
	    "the rectifier's start (V-SET, I-SET, output) failed");
	json_decref(r);
	CHECK(status_has("\"bath\":{\"kind\":\"bath\",\"state\":\"fault\""));
}

int
main(void)
{
	if (simproc_start(&sp, NULL) < 0)
		return 1;
	/* config/sim.yaml runs 10 s tank cycles, so this waits seconds. */
	start_daemon();
	CHECK(daemon_pid > 0 && api >= 0);
	CHECK(wait_until(stations_up, NULL, 30));
	RUN(t_refusals_through_the_api);
	RUN(t_engraving_job_end_to_end);
	RUN(t_tank_load_of_several_jobs);
	RUN(t_estop_fails_the_step_then_retry);
	RUN(t_gems_are_the_pieces);
	RUN(t_sigkill_during_steps);
	RUN(t_rhodium_phases_on_the_bath);
	RUN(t_refused_start_fails_the_step);
	close(api);
	simproc_daemon_stop(daemon_pid, SIGTERM);
	simproc_stop(&sp);
	return test_summary();
}
