/*
 * The job engine (see jobs.h). The journal is the truth: every operation
 * reads the job's steps from it, commits its transition, and only then
 * acts on a station. After a transition the job is advanced: the first
 * step not yet finished starts at the bench (manual) or joins its
 * station's queue (machine); when none is left the job is done.
 */
#include "jobs/jobs.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "calib/calib.h"
#include "daemon/daemon.h"
#include "engrave/engrave.h"
#include "jobs/jobs_plan.h"
#include "log.h"
#include "loop.h"
#include "util.h"

#define WHO_DAEMON "atelierd"

static const char *const station_names[] = { "laser", "tank", "bath" };

const char *
jobs_station_name(enum job_station st)
{
	return st < JS_COUNT ? station_names[st] : "?";
}

static int
station_lookup(const char *name)
{
	for (int i = 0; i < JS_COUNT; i++)
		if (name && strcmp(name, station_names[i]) == 0)
			return i;
	return -1;
}

static json_t *
no_store(struct daemon *d, struct err *e)
{
	return err_null(e, API_ERR_STORE, "the job journal cannot be read: %s",
	    d->store ? store_errmsg(d->store) : "it is not open");
}

static json_t *
unreadable(struct store *st, struct err *e)
{
	return err_null(e, API_ERR_STORE, "the job journal cannot be read: %s",
	    store_errmsg(st));
}

/* Something moved in the journal: the queues shown must be read again. */
static void
changed(struct daemon *d)
{
	json_decref(d->jobs->queues);
	d->jobs->queues = NULL;
}

static void
notify_job(struct daemon *d, int64_t job, const char *state)
{
	changed(d);
	daemon_notify(d, "job", json_pack("{s:I, s:s}", "job", (json_int_t)job, "state", state));
}

static void
notify_step(struct daemon *d, int64_t job, int seq, const char *name, const char *state,
    const char *why)
{
	changed(d);
	json_t *p = json_pack("{s:I, s:i, s:s, s:s}", "job", (json_int_t)job, "seq", seq, "step",
	    name, "state", state);
	if (why)
		json_object_set_new(p, "why", json_string(why));
	daemon_notify(d, "job", p);
}

static int rejudge_piece(struct daemon *d, const char *serial, int64_t except,
    const char *metal, const char *gems, const char *who, json_t *changes, char *err,
    size_t errlen);
static int advance(struct daemon *d, int64_t job);
static json_t *job_row(struct daemon *d, int64_t job);
static const char *jstr(json_t *o, const char *k);
static const struct jobs_outcome *unrecorded(struct daemon *d, int64_t step);
static json_t *unrecorded_error(const struct jobs_outcome *o, struct err *e);

/* --- planning ---------------------------------------------------------- */

struct plan_env {
	struct daemon *d;
	char *gcode;            /* the engraving's G-code, for the step's payload */
	const struct jobs_layout *pre;  /* laid out already, or NULL */
};

static int
times_served(void *arg, const char *serial, const char *service)
{
	struct plan_env *env = arg;
	int n = store_times_served(env->d->store, serial, service);
	const struct jobs_shared *sh = env->pre ? &env->pre->shared : NULL;
	if (n >= 0 && sh && sh->answered)
		n += (int)json_integer_value(json_object_get(sh->served, service));
	return n;
}

/* The quote's words on where the history rules counted from, when a
 * shared history is configured. */
static const char *
history_scope(const struct jobs_layout *pre, char *buf, size_t len)
{
	if (!pre || !pre->shared.asked)
		return NULL;
	if (pre->shared.answered)
		snprintf(buf, len, "counted from the whole maison's history");
	else
		snprintf(buf, len, "counted from this workshop only: the shared history did not "
		    "answer (%s)", pre->shared.why);
	return buf;
}

void
jobs_layout_compute(const struct engrave_settings *set, json_t *spec, struct jobs_layout *out)
{
	struct engrave_request req;
	struct engrave_result res;
	memset(out, 0, sizeof *out);
	if (engrave_request_from_json(spec, &req, out->err, sizeof out->err) < 0)
		return;
	if (engrave_run(set, &req, &res) != ENGRAVE_OK) {
		out->refused = res.status == ENGRAVE_ERR_FIT;
		snprintf(out->err, sizeof out->err, "%s",
		    res.error ? res.error : "the engraving cannot be laid out");
		engrave_result_free(&res);
		return;
	}
	out->summary = engrave_result_json(&res, false, false);
	json_object_set(out->summary, "spec", spec);
	json_object_set_new(out->summary, "gcode_bytes", json_integer((json_int_t)strlen(res.gcode)));
	out->gcode = xstrdup(res.gcode);
	engrave_result_free(&res);
}

void
jobs_layout_free(struct jobs_layout *l)
{
	json_decref(l->summary);
	free(l->gcode);
	l->summary = NULL;
	l->gcode = NULL;
	json_decref(l->shared.served);
	l->shared.served = NULL;
}

static json_t *
engrave_layout(void *arg, json_t *spec, char *err, size_t errlen, bool *refused)
{
	struct plan_env *env = arg;
	struct jobs_layout own;
	const struct jobs_layout *l = env->pre;
	/* Asked off the loop for the shared history only, not laid out. */
	if (l && !l->summary && !l->err[0])
		l = NULL;
	if (!l) {
		struct engrave_settings set;
		int laser = cfg_station_of_kind(env->d->cfg, KIND_LASER, 0);
		if (laser < 0) {
			snprintf(err, errlen, "the workshop has no laser to engrave with");
			return NULL;
		}
		engrave_settings_default(&set, &env->d->cfg->stations[laser].laser);
		jobs_layout_compute(&set, spec, &own);
		l = &own;
	}
	json_t *summary = NULL;
	if (l->summary) {
		summary = json_incref(l->summary);
		free(env->gcode);
		env->gcode = xstrdup(l->gcode);
	} else {
		*refused = l->refused;
		snprintf(err, errlen, "%s", l->err);
	}
	if (l == &own)
		jobs_layout_free(&own);
	return summary;
}

static long
today_days(void)
{
	return (long)(time(NULL) / 86400);
}

/* The request's gems in the journal's form (store_gems_normal). */
static char *
request_gems(const struct job_request *r)
{
	json_t *a = json_array();
	for (size_t i = 0; i < r->n_gems; i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:i}", "species", r->gems[i].species,
		    "treatment", r->gems[i].treatment ? r->gems[i].treatment : "none", "count",
		    r->gems[i].count));
	char *t = store_gems_normal(a);
	json_decref(a);
	return t;
}

/* Records the job (its plan already made); when it supersedes the piece's
 * gems, every open step of the piece's other jobs is judged again in the
 * same transaction, and what changed is appended to changes. */
static int64_t
record_job(struct daemon *d, const struct store_job *j, bool supersede, const char *who,
    json_t *changes, char *err, size_t errlen)
{
	if (!supersede)
		return store_job_create(d->store, j, err, errlen);
	if (store_begin(d->store, err, errlen) < 0)
		return -1;
	int64_t id = store_job_create(d->store, j, err, errlen);
	if (id < 0 || rejudge_piece(d, j->serial, id, j->metal, j->gems, who, changes, err,
	    errlen) < 0 || store_commit(d->store, err, errlen) < 0) {
		store_rollback(d->store);
		json_array_clear(changes);
		return -1;
	}
	return id;
}

/* After its steps were judged again: a running job moves on to what
 * replaced its current step; an interrupted one whose interrupted step
 * gave way runs again. */
static void
resume(struct daemon *d, int64_t job, const char *who)
{
	char err[300];
	json_t *row = job_row(d, job);
	const char *st = row ? jstr(row, "state") : "";
	json_t *left = store_query(d->store, "SELECT count(*) AS n FROM steps WHERE job_id = ? AND "
	    "state = 'interrupted'", "i", job);
	bool gone = left && json_integer_value(json_object_get(json_array_get(left, 0), "n")) == 0;
	json_decref(left);
	if (strcmp(st, "interrupted") == 0 && gone) {
		if (store_job_transition(d->store, job, "running", who, "its interrupted step gave "
		    "way to a substitute", err, sizeof err) < 0)
			log_err("job %lld: %s", (long long)job, err);
		else
			notify_job(d, job, "running");
	}
	json_decref(row);
	row = job_row(d, job);
	if (row && strcmp(jstr(row, "state"), "running") == 0)
		advance(d, job);
	json_decref(row);
}

/* The settings a plan's machine steps take: the first station of the
 * kind's (a step runs at any station of its kind). A workshop without
 * one refuses the plan after planning (missing_station). */
static const struct cfg_tank *
plan_tank(const struct daemon *d)
{
	static const struct cfg_tank none;
	int i = cfg_station_of_kind(d->cfg, KIND_TANK, 0);
	return i >= 0 ? &d->cfg->stations[i].tank : &none;
}

static const struct cfg_bath *
plan_bath(const struct daemon *d)
{
	static const struct cfg_bath none;
	int i = cfg_station_of_kind(d->cfg, KIND_BATH, 0);
	return i >= 0 ? &d->cfg->stations[i].bath : &none;
}

/* A machine step of the plan for a kind of station the workshop has not:
 * why, or NULL. */
static const char *
missing_station(const struct daemon *d, json_t *plan, char *why, size_t len)
{
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(plan, "steps"), i, s) {
		int kind = cfg_kind_lookup(jstr(s, "station"));
		if (kind >= 0 && cfg_stations_of_kind(d->cfg, (enum cfg_kind)kind) == 0) {
			snprintf(why, len, "step %zu (%s) needs a %s, and the workshop has none", i + 1,
			    jstr(s, "name") ? jstr(s, "name") : "?", cfg_kind_name((enum cfg_kind)kind));
			return why;
		}
	}
	return NULL;
}

json_t *
jobs_create(struct daemon *d, json_t *params, bool dry_run, const char *who,
    const struct jobs_layout *pre, struct err *e)
{
	struct job_request r;
	char err[600];
	if (!d->store)
		return no_store(d, e);
	if (job_request_from_json(params, &r, err, sizeof err) < 0)
		return err_null(e, API_ERR_INVALID_PARAMS, "%s", err);
	jobs_flush(d);
	/* A serial recorded with other data is a mistake at the bench or
	 * another piece: either way the jeweller must look. */
	if (store_piece_find(d->store, r.serial, r.type, r.collection, r.metal, r.paved,
	    r.purchase_date, err, sizeof err) < 0)
		return err_null(e, API_ERR_INVALID, "%s", err);
	/* So are other gems, unless a technician confirms that the piece
	 * changed (a stone replaced) or was recorded wrongly. The piece keeps
	 * the table's names: "Akoya" is the pearl recorded as "pearl". */
	struct job_request *canon = xmalloc(sizeof *canon);
	*canon = r;
	if (job_request_resolve_gems(&d->catalog->gems, canon, err, sizeof err) < 0) {
		free(canon);
		return err_null(e, API_ERR_INVALID_PARAMS, "%s", err);
	}
	char *had = NULL, *gems = request_gems(canon);
	free(canon);
	if (store_piece_gems(d->store, r.serial, &had, err, sizeof err) < 0) {
		free(gems);
		return err_null(e, API_ERR_STORE, "%s", err);
	}
	bool supersede = had && !store_gems_same(had, gems);
	char was[340], now[340];     /* both fit the message whole */
	store_gems_describe(had, was, sizeof was);
	store_gems_describe(gems, now, sizeof now);
	free(had);
	if (supersede && !r.supersede_gems) {
		free(gems);
		return err_null(e, API_ERR_INVALID, "serial number %s is already recorded "
		    "with other gems: %s; this job says %s. The gems are part of the piece: check it, "
		    "or a technician confirms the new list with \"supersede_gems\": true", r.serial,
		    was, now);
	}
	struct plan_env env = { d, NULL, pre };
	char scope[512];
	struct job_plan_ctx ctx = {
		.services = &d->catalog->services,
		.gems = &d->catalog->gems,
		.tank = plan_tank(d),
		.bath = plan_bath(d),
		.today = today_days(),
		.times_served = times_served,
		.history_scope = history_scope(pre, scope, sizeof scope),
		.engrave_layout = engrave_layout,
		.arg = &env,
	};
	enum job_plan_status st;
	json_t *plan = job_plan(&ctx, &r, &st, err, sizeof err);
	if (!plan) {
		free(env.gcode);
		free(gems);
		return err_null(e, st == PLAN_REFUSED ? API_ERR_REFUSED :
		    API_ERR_INVALID_PARAMS, "%s", err);
	}
	if (missing_station(d, plan, err, sizeof err)) {
		json_decref(plan);
		free(env.gcode);
		free(gems);
		return err_null(e, API_ERR_REFUSED, "%s", err);
	}
	/* Stations overdue for calibration: a warning, or a refusal when the
	 * configuration says so (calib.h). */
	if (calib_plan_check(d, plan, err, sizeof err) == 2) {
		json_decref(plan);
		free(env.gcode);
		free(gems);
		return err_null(e, API_ERR_REFUSED, "%s", err);
	}
	if (supersede)
		json_array_append_new(json_object_get(plan, "warnings"), json_sprintf("the gems "
		    "recorded for serial %s (%s) are superseded by %s: every open step of its jobs "
		    "is judged again", r.serial, was, now));
	if (dry_run) {
		free(env.gcode);
		free(gems);
		return plan;
	}
	json_t *steps = json_object_get(plan, "steps");
	size_t n = json_array_size(steps);
	struct store_step *rows = xcalloc(n ? n : 1, sizeof *rows);
	char **texts = xcalloc(n ? n : 1, sizeof *texts);
	const char *services[JOB_MAX_SERVICES];
	for (size_t i = 0; i < r.n_services; i++)
		services[i] = r.services[i].id;
	for (size_t i = 0; i < n; i++) {
		json_t *s = json_array_get(steps, i);
		texts[i] = json_dumps(json_object_get(s, "params"), JSON_COMPACT | JSON_SORT_KEYS);
		rows[i] = (struct store_step){
			json_string_value(json_object_get(s, "id")),
			json_string_value(json_object_get(s, "title")),
			json_string_value(json_object_get(s, "kind")),
			json_string_value(json_object_get(s, "station")),
			texts[i],
			strcmp(json_string_value(json_object_get(s, "id")), "engrave") == 0 ? env.gcode : NULL,
			json_string_value(json_object_get(s, "state")),
			json_string_value(json_object_get(s, "reason")),
		};
	}
	char *plan_text = json_dumps(plan, JSON_COMPACT);
	char *quote_text = json_dumps(json_object_get(plan, "quote"), JSON_COMPACT);
	struct store_job j = {
		r.serial, r.type, r.collection, r.metal, r.purchase_date, r.paved,
		services, r.n_services, r.operator_, who, plan_text, quote_text, rows, n,
		gems, supersede,
	};
	json_t *changes = json_array();
	int64_t id = record_job(d, &j, supersede, who, changes, err, sizeof err);
	for (size_t i = 0; i < n; i++)
		free(texts[i]);
	free(texts);
	free(rows);
	free(plan_text);
	free(quote_text);
	free(env.gcode);
	free(gems);
	if (id < 0) {
		json_decref(plan);
		json_decref(changes);
		return err_null(e, API_ERR_STORE, "the job was not recorded: %s", err);
	}
	json_object_set_new(plan, "job", json_integer(id));
	json_object_set_new(plan, "state", json_string("planned"));
	log_info("job %lld planned for %s (%s)", (long long)id, r.serial, r.operator_);
	notify_job(d, id, "planned");
	if (supersede) {
		log_warn("serial %s: gems superseded by %s (%s was recorded); %zu step%s judged "
		    "again", r.serial, who, was, json_array_size(changes),
		    json_array_size(changes) == 1 ? "" : "s");
		/* Committed: now the bench hears of it, and a job whose current
		 * step gave way moves on to its substitute. */
		size_t i;
		json_t *c;
		int64_t last = 0;
		json_array_foreach(changes, i, c) {
			int64_t job = (int64_t)json_integer_value(json_object_get(c, "job"));
			notify_step(d, job, (int)json_integer_value(json_object_get(c, "seq")),
			    jstr(c, "step"), jstr(c, "state"), jstr(c, "reason"));
			if (job != last) {
				resume(d, job, who);
				last = job;
			}
		}
	}
	json_object_set_new(plan, "rejudged", changes);
	return plan;
}

/* --- reading the journal ------------------------------------------------ */

static json_t *
job_row(struct daemon *d, int64_t job)
{
	json_t *rows = store_query(d->store, "SELECT j.id, j.state, j.operator, j.services, j.plan, "
	    "j.created, j.updated, p.serial, p.gems AS piece_gems FROM jobs j JOIN pieces p ON "
	    "p.id = j.piece_id WHERE j.id = ?", "i", job);
	json_t *row = rows && json_array_size(rows) ? json_incref(json_array_get(rows, 0)) : NULL;
	json_decref(rows);
	return row;
}

static json_t *
job_steps(struct daemon *d, int64_t job)
{
	return store_query(d->store, "SELECT id, seq, name, title, kind, station, params, state, "
	    "reason, note, attempts, updated FROM steps WHERE job_id = ? ORDER BY seq", "i", job);
}

static int64_t
jint(json_t *o, const char *k)
{
	return (int64_t)json_integer_value(json_object_get(o, k));
}

static const char *
jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static bool
is_finished(const char *state)
{
	return strcmp(state, "done") == 0 || strcmp(state, "substituted") == 0 ||
	    strcmp(state, "skipped") == 0;
}

/* The piece of a job, as policy sees it. */
struct job_piece {
	struct policy_piece p;
	struct policy_gem g[JOB_MAX_GEMS];
	json_t *row;            /* keeps the strings alive */
	json_t *gems;
	char serial[80];
};

/* Fills g from a gem list (JSON); how many, or -1 when it is not one or
 * holds more than max (a piece judged on part of its stones is not
 * judged). */
static int
gems_of(json_t *list, struct policy_gem *g, size_t max)
{
	if (!json_is_array(list) || json_array_size(list) > max)
		return -1;
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v) {
		int64_t c = jint(v, "count");
		g[i] = (struct policy_gem){ jstr(v, "species"), jstr(v, "treatment"),
			c > INT_MAX ? INT_MAX : (int)c };
		if (!g[i].species)
			return -1;
	}
	return (int)json_array_size(list);
}

/* The piece of a job as the journal knows it now: its metal and its
 * current gems, not the copy in the job's plan, which a technician may
 * have superseded since (and which a job planned before gems were part of
 * the piece may contradict). */
static bool
load_piece(struct daemon *d, int64_t job, struct job_piece *out)
{
	memset(out, 0, sizeof *out);
	json_t *rows = store_query(d->store, "SELECT p.serial, p.metal, p.gems FROM jobs j "
	    "JOIN pieces p ON p.id = j.piece_id WHERE j.id = ?", "i", job);
	out->row = json_incref(json_array_get(rows, 0));
	json_decref(rows);
	if (!out->row)
		return false;
	snprintf(out->serial, sizeof out->serial, "%s", jstr(out->row, "serial") ?
	    jstr(out->row, "serial") : "?");
	out->gems = jstr(out->row, "gems") ? json_loads(jstr(out->row, "gems"), 0, NULL) : NULL;
	int n = gems_of(out->gems, out->g, JOB_MAX_GEMS);
	if (n < 0)
		return false;
	out->p.metal = jstr(out->row, "metal");
	out->p.gems = out->g;
	out->p.n_gems = (size_t)n;
	return true;
}

static void
free_piece(struct job_piece *p)
{
	json_decref(p->gems);
	json_decref(p->row);
}

/* --- advancing ------------------------------------------------------------- */

/* Starts the job's next step: at the bench, or in its station's queue.
 * Marks the job done when nothing is left. Returns -1 when the journal
 * could not record it. */
static int
advance(struct daemon *d, int64_t job)
{
	char err[300];
	json_t *steps = job_steps(d, job);
	size_t i;
	json_t *s;
	bool all = true;
	int rc = steps ? 0 : -1;
	json_array_foreach(steps, i, s) {
		const char *state = jstr(s, "state");
		if (is_finished(state))
			continue;
		all = false;
		if (strcmp(state, "pending") != 0)
			break;
		bool manual = strcmp(jstr(s, "kind"), "manual") == 0;
		const char *to = manual ? "running" : "queued";
		char why[160];
		if (manual)
			snprintf(why, sizeof why, "at the bench: confirm with a note when done");
		else
			snprintf(why, sizeof why, "waiting at the %s: load the piece and run the station",
			    jstr(s, "station"));
		if (store_step_transition(d->store, jint(s, "id"), "pending", to, NULL, WHO_DAEMON, why,
		    NULL, err, sizeof err) < 0) {
			log_err("job %lld: %s", (long long)job, err);
			rc = -1;
		} else {
			notify_step(d, job, (int)jint(s, "seq"), jstr(s, "name"), to, why);
		}
		break;
	}
	if (all && steps) {
		json_t *row = job_row(d, job);
		if (row && strcmp(jstr(row, "state"), "done") != 0) {
			if (store_job_transition(d->store, job, "done", WHO_DAEMON, "every step is done",
			    err, sizeof err) < 0) {
				log_err("job %lld: %s", (long long)job, err);
				rc = -1;
			} else {
				notify_job(d, job, "done");
			}
		}
		json_decref(row);
	}
	json_decref(steps);
	return rc;
}

static json_t *
step_of(struct daemon *d, int64_t job, int seq)
{
	json_t *steps = job_steps(d, job);
	json_t *s = NULL;
	size_t i;
	json_t *v;
	json_array_foreach(steps, i, v)
		if (jint(v, "seq") == seq)
			s = json_incref(v);
	json_decref(steps);
	return s;
}

/* The step seq of a job from the journal (new reference), or NULL with
 * the error set. */
static json_t *
find_step(struct daemon *d, int64_t job, int seq, struct err *e)
{
	if (!d->store)
		return no_store(d, e);
	jobs_flush(d);
	json_t *s = step_of(d, job, seq);
	if (!s)
		return err_null(e, API_ERR_NOT_FOUND, "job %lld has no step %d",
		    (long long)job, seq);
	return s;
}

static json_t *
show_or_fail(struct daemon *d, int64_t job, struct err *e)
{
	return jobs_show(d, job, e);
}

json_t *
jobs_start(struct daemon *d, int64_t job, const char *who, struct err *e)
{
	char err[300];
	if (!d->store)
		return no_store(d, e);
	jobs_flush(d);
	json_t *row = job_row(d, job);
	if (!row)
		return err_null(e, API_ERR_NOT_FOUND, "there is no job %lld", (long long)job);
	const char *state = jstr(row, "state");
	if (strcmp(state, "planned") != 0) {
		json_t *r = err_null(e, API_ERR_INVALID, "job %lld is %s, not planned",
		    (long long)job, state);
		json_decref(row);
		return r;
	}
	json_decref(row);
	if (store_job_transition(d->store, job, "running", who, "started", err, sizeof err) < 0)
		return err_null(e, API_ERR_STORE, "%s", err);
	notify_job(d, job, "running");
	advance(d, job);
	return show_or_fail(d, job, e);
}

json_t *
jobs_step_done(struct daemon *d, int64_t job, int seq, const char *who, const char *note,
    struct err *e)
{
	char err[300];
	if (!note || !*note)
		return err_null(e, API_ERR_INVALID_PARAMS, "a manual step is confirmed "
		    "with a note: what was done or seen");
	json_t *s = find_step(d, job, seq, e);
	if (!s)
		return NULL;
	json_t *r = NULL;
	if (strcmp(jstr(s, "kind"), "manual") != 0)
		r = err_null(e, API_ERR_INVALID, "step %d (%s) is a machine step: its "
		    "station ends it", seq, jstr(s, "name"));
	else if (strcmp(jstr(s, "state"), "running") != 0)
		r = err_null(e, API_ERR_INVALID, "step %d (%s) is %s, not at the bench",
		    seq, jstr(s, "name"), jstr(s, "state"));
	else if (store_step_transition(d->store, jint(s, "id"), "running", "done", NULL, who,
	    "confirmed at the bench", note, err, sizeof err) < 0)
		r = err_null(e, API_ERR_STORE, "%s", err);
	else {
		notify_step(d, job, seq, jstr(s, "name"), "done", NULL);
		advance(d, job);
		r = show_or_fail(d, job, e);
	}
	json_decref(s);
	return r;
}

json_t *
jobs_step_retry(struct daemon *d, int64_t job, int seq, const char *who, struct err *e)
{
	char err[300];
	json_t *s = find_step(d, job, seq, e);
	if (!s)
		return NULL;
	const char *state = jstr(s, "state");
	json_t *row = job_row(d, job);
	json_t *r = NULL;
	const struct jobs_outcome *o = unrecorded(d, jint(s, "id"));
	if (o)
		r = unrecorded_error(o, e);
	else if (row && strcmp(jstr(row, "state"), "aborted") == 0)
		r = err_null(e, API_ERR_INVALID, "job %lld was aborted", (long long)job);
	else if (strcmp(state, "failed") != 0 && strcmp(state, "interrupted") != 0 &&
	    strcmp(state, "aborted") != 0)
		r = err_null(e, API_ERR_INVALID, "step %d (%s) is %s: only a failed, "
		    "interrupted or aborted step is retried", seq, jstr(s, "name"), state);
	else if (store_step_transition(d->store, jint(s, "id"), state, "pending", "running", who,
	    "retried", NULL, err, sizeof err) < 0)
		r = err_null(e, API_ERR_STORE, "%s", err);
	else {
		notify_step(d, job, seq, jstr(s, "name"), "pending", "retried");
		advance(d, job);
		r = show_or_fail(d, job, e);
	}
	json_decref(row);
	json_decref(s);
	return r;
}

/* Takes a step off its station's active list; true when it was there. */
static bool
deactivate(struct daemon *d, int64_t step, int *where)
{
	for (int st = 0; st < CFG_MAX_STATIONS; st++)
		for (size_t i = 0; i < d->jobs->n_active[st]; i++)
			if (d->jobs->active[st][i] == step) {
				d->jobs->active[st][i] = d->jobs->active[st][--d->jobs->n_active[st]];
				*where = st;
				changed(d);
				return true;
			}
	return false;
}

/* Stops the station (by index) the engine started. */
static void
stop_station(struct daemon *d, int st, const char *why)
{
	if (st >= 0 && (size_t)st < d->n_stations)
		station_stop(&d->stations[st], why);
}

/* A step stopped by the operator: committed aborted first, then its
 * station stopped when the step was the only one it was running. */
static int
abort_step(struct daemon *d, json_t *s, const char *who, const char *why, char *err,
    size_t errlen)
{
	const char *state = jstr(s, "state");
	if (store_step_transition(d->store, jint(s, "id"), state, "aborted", NULL, who, why, NULL,
	    err, errlen) < 0)
		return -1;
	int st;
	if (deactivate(d, jint(s, "id"), &st) && d->jobs->n_active[st] == 0)
		stop_station(d, st, why);
	return 0;
}

json_t *
jobs_step_abort(struct daemon *d, int64_t job, int seq, const char *who, const char *why,
    struct err *e)
{
	char err[300];
	json_t *s = find_step(d, job, seq, e);
	if (!s)
		return NULL;
	const char *state = jstr(s, "state");
	json_t *r = NULL;
	if (strcmp(state, "running") != 0 && strcmp(state, "queued") != 0)
		r = err_null(e, API_ERR_INVALID, "step %d (%s) is %s: only a running or "
		    "queued step is aborted", seq, jstr(s, "name"), state);
	else if (abort_step(d, s, who, why ? why : "aborted by the operator", err, sizeof err) < 0)
		r = err_null(e, API_ERR_STORE, "%s", err);
	else {
		notify_step(d, job, seq, jstr(s, "name"), "aborted", why);
		r = show_or_fail(d, job, e);
	}
	json_decref(s);
	return r;
}

json_t *
jobs_abort(struct daemon *d, int64_t job, const char *who, const char *why, struct err *e)
{
	char err[300];
	if (!d->store)
		return no_store(d, e);
	jobs_flush(d);
	json_t *row = job_row(d, job);
	if (!row)
		return err_null(e, API_ERR_NOT_FOUND, "there is no job %lld", (long long)job);
	const char *state = jstr(row, "state");
	if (strcmp(state, "done") == 0 || strcmp(state, "aborted") == 0) {
		json_t *r = err_null(e, API_ERR_INVALID, "job %lld is already %s",
		    (long long)job, state);
		json_decref(row);
		return r;
	}
	json_decref(row);
	if (!why)
		why = "aborted by the operator";
	/* Steps on a station first, so that it is stopped at once. */
	json_t *steps = job_steps(d, job);
	size_t i;
	json_t *s;
	int rc = 0;
	json_array_foreach(steps, i, s)
		if (strcmp(jstr(s, "state"), "running") == 0)
			rc |= abort_step(d, s, who, why, err, sizeof err);
	if (rc == 0 && store_begin(d->store, err, sizeof err) == 0) {
		json_array_foreach(steps, i, s) {
			const char *st = jstr(s, "state");
			if (strcmp(st, "pending") == 0 || strcmp(st, "queued") == 0 ||
			    strcmp(st, "failed") == 0 || strcmp(st, "interrupted") == 0)
				rc |= store_step_transition(d->store, jint(s, "id"), st, "aborted", NULL,
				    who, why, NULL, err, sizeof err);
		}
		rc |= store_job_transition(d->store, job, "aborted", who, why, err, sizeof err);
		if (rc == 0)
			rc = store_commit(d->store, err, sizeof err);
		else
			store_rollback(d->store);
	} else {
		rc = -1;
	}
	json_decref(steps);
	if (rc < 0)
		return err_null(e, API_ERR_STORE, "%s", err);
	notify_job(d, job, "aborted");
	return show_or_fail(d, job, e);
}

/* --- a piece's gems superseded ----------------------------------------------- */

/* A step that may still run: waiting, queued, or sent back by a retry. */
static bool
is_open(const char *state)
{
	return strcmp(state, "pending") == 0 || strcmp(state, "queued") == 0 ||
	    strcmp(state, "failed") == 0 || strcmp(state, "interrupted") == 0 ||
	    strcmp(state, "aborted") == 0;
}

/* The catalogue step a row belongs to: "rhodium_plate.rinse" is a phase of
 * rhodium_plate; the phases stand or fall together. */
static bool
same_group(const char *a, const char *b)
{
	size_t n = strcspn(a, ".");
	return n == strcspn(b, ".") && strncmp(a, b, n) == 0;
}

/* Inside the caller's transaction: every open step of every unfinished
 * job of the piece (but `except`) judged again by policy for the piece's
 * gems now, as planning judges: a step no longer permitted is substituted
 * with the reason (a rhodium step with all its open phases) and its
 * substitute added after it, or, with nothing to replace it, failed with
 * the reason. A step running on a station now is left to finish. Each
 * change goes into changes as {job, seq, step, state, reason}. */
static int
rejudge_piece(struct daemon *d, const char *serial, int64_t except, const char *metal,
    const char *gems, const char *who, json_t *changes, char *err, size_t errlen)
{
	struct policy_gem g[JOB_MAX_GEMS];
	json_t *list = json_loads(gems ? gems : "[]", 0, NULL);
	int ng = gems_of(list, g, JOB_MAX_GEMS);
	char now[400];
	store_gems_describe(gems, now, sizeof now);
	if (ng < 0) {
		json_decref(list);
		snprintf(err, errlen, "the piece's gem list cannot be read");
		return -1;
	}
	struct policy_piece piece = { metal, g, (size_t)ng, false, false };
	json_t *jobs = store_query(d->store, "SELECT j.id FROM jobs j JOIN pieces p ON "
	    "p.id = j.piece_id WHERE p.serial = ? AND j.id <> ? AND j.state NOT IN "
	    "('done','aborted') ORDER BY j.id", "ti", serial, except);
	int rc = jobs ? 0 : -1;
	if (!jobs)
		snprintf(err, errlen, "the journal cannot be read: %s", store_errmsg(d->store));
	size_t i;
	json_t *jr;
	json_array_foreach(jobs, i, jr) {
		int64_t job = jint(jr, "id");
		json_t *steps = job_steps(d, job);
		json_t *adds = json_array();    /* [{after, id, title}], in seq order */
		size_t first = json_array_size(changes);
		size_t k;
		json_t *s;
		json_array_foreach(steps, k, s) {
			if (rc < 0 || !is_open(jstr(s, "state")))
				continue;
			/* A group already decided by an earlier row. */
			bool seen = false;
			for (size_t b = 0; b < k && !seen; b++) {
				json_t *e = json_array_get(steps, b);
				seen = is_open(jstr(e, "state")) && same_group(jstr(e, "name"),
				    jstr(s, "name"));
			}
			if (seen)
				continue;
			const struct cfg_step *sub;
			char why[600], reason[1100];
			int verdict = job_step_judge(&d->catalog->services, &d->catalog->gems, &piece,
			    jstr(s, "name"), &sub, why, sizeof why);
			if (verdict == 0)
				continue;
			snprintf(reason, sizeof reason, "%s (judged again: the piece's gems are now %s)",
			    why, now);
			int last = 0;
			json_t *e;
			size_t m;
			json_array_foreach(steps, m, e) {
				if (!same_group(jstr(e, "name"), jstr(s, "name")))
					continue;
				if (jint(e, "seq") > last)
					last = (int)jint(e, "seq");
				const char *st = jstr(e, "state");
				/* Refused without a substitute: the machine step fails,
				 * the bench's own steps stay for the jeweller. */
				if (!is_open(st) || (verdict == 2 && strcmp(jstr(e, "kind"), "machine") != 0))
					continue;
				const char *to = verdict == 1 ? "substituted" : "failed";
				if (store_step_transition(d->store, jint(e, "id"), st, to, NULL, who, reason,
				    NULL, err, errlen) < 0) {
					rc = -1;
					break;
				}
				json_array_append_new(changes, json_pack("{s:I, s:I, s:s, s:s, s:s}", "job",
				    (json_int_t)job, "id", (json_int_t)jint(e, "id"), "step", jstr(e, "name"),
				    "state", to, "reason", reason));
			}
			if (verdict == 1)
				json_array_append_new(adds, json_pack("{s:i, s:s, s:s, s:s}", "after", last,
				    "id", sub->id, "title", sub->title, "reason", reason));
		}
		/* From the last: an addition moves only the steps after it. */
		for (size_t a = json_array_size(adds); rc == 0 && a-- > 0;) {
			json_t *add = json_array_get(adds, a);
			struct store_step row = { jstr(add, "id"), jstr(add, "title"), "manual", NULL,
				NULL, NULL, "pending", NULL };
			int64_t id = store_step_insert(d->store, job, (int)jint(add, "after"), &row, who,
			    jstr(add, "reason"), err, errlen);
			if (id < 0)
				rc = -1;
			else
				json_array_append_new(changes, json_pack("{s:I, s:I, s:s, s:s, s:s}", "job",
				    (json_int_t)job, "id", (json_int_t)id, "step", jstr(add, "id"), "state",
				    "pending", "reason", jstr(add, "reason")));
		}
		/* The numbers the bench sees, once every addition is made. */
		for (size_t c = first; rc == 0 && c < json_array_size(changes); c++) {
			json_t *ch = json_array_get(changes, c);
			json_t *r = store_query(d->store, "SELECT seq FROM steps WHERE id = ?", "i",
			    jint(ch, "id"));
			json_object_set_new(ch, "seq", json_integer(jint(json_array_get(r, 0), "seq")));
			json_object_del(ch, "id");
			json_decref(r);
		}
		json_decref(adds);
		json_decref(steps);
		if (rc < 0)
			break;
	}
	json_decref(jobs);
	json_decref(list);
	return rc;
}

/* --- stations ------------------------------------------------------------- */

static json_t *
queued_at(struct daemon *d, enum job_station st)
{
	return store_query(d->store, "SELECT s.id, s.job_id, s.seq, s.name, s.title, s.params, "
	    "p.serial FROM steps s JOIN jobs j ON j.id = s.job_id JOIN pieces p ON p.id = j.piece_id "
	    "WHERE s.state = 'queued' AND s.station = ? ORDER BY s.updated, s.id", "t",
	    station_names[st]);
}

static double
param(json_t *params, const char *k, double def)
{
	json_t *v = json_object_get(params, k);
	return json_is_number(v) ? json_number_value(v) : def;
}

/* Moves every step of the load from queued to running in one
 * transaction, so that a load starts whole or not at all. */
static int
commit_load(struct daemon *d, json_t *load, size_t n, const char *who, char *err, size_t errlen)
{
	if (store_begin(d->store, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		json_t *s = json_array_get(load, i);
		if (store_step_transition(d->store, jint(s, "id"), "queued", "running", NULL, who,
		    "started on its station", NULL, err, errlen) < 0) {
			store_rollback(d->store);
			return -1;
		}
	}
	return store_commit(d->store, err, errlen);
}

/* --- outcomes the journal refused ------------------------------------------ */

static void retry_later(struct daemon *d);

/* Keeps a station's outcome for a step that the journal refused. */
static void
keep_outcome(struct daemon *d, enum job_station st, json_t *step, bool ok, bool recorded,
    const char *why, const char *error)
{
	struct jobs *j = d->jobs;
	int64_t id = jint(step, "id");
	size_t k;
	for (k = 0; k < j->n_unrecorded && j->unrecorded[k].step != id; k++)
		;
	if (k == ARRAY_LEN(j->unrecorded)) {
		/* Cannot happen: no load starts while the journal refuses writes. */
		log_err("step %lld: its outcome cannot be kept either", (long long)id);
		return;
	}
	struct jobs_outcome *o = &j->unrecorded[k];
	if (k == j->n_unrecorded)
		j->n_unrecorded++;
	*o = (struct jobs_outcome){ .step = id, .job = jint(step, "job_id"),
		.seq = (int)jint(step, "seq"), .station = st, .ok = ok, .recorded = recorded };
	snprintf(o->name, sizeof o->name, "%s", jstr(step, "name") ? jstr(step, "name") : "?");
	snprintf(o->why, sizeof o->why, "%s", why ? why : "");
	snprintf(o->error, sizeof o->error, "%s", error);
	if (!j->flushing)
		log_warn("job %lld step %d (%s): the %s %s but the journal cannot record it yet "
		    "(%s): trying again, every second at first", (long long)o->job, o->seq,
		    o->name, jobs_station_name(st), ok ? "finished it" : "stopped it", error);
	retry_later(d);
}

/* A station ended a step: done or failed, recorded, then the job moves
 * on. What the journal refuses is kept and written again later. */
static void
record_outcome(struct daemon *d, enum job_station st, json_t *step, bool ok, const char *why)
{
	char err[300];
	const char *to = ok ? "done" : "failed";
	if (store_step_transition(d->store, jint(step, "id"), "running", to, NULL, WHO_DAEMON, why,
	    NULL, err, sizeof err) < 0) {
		keep_outcome(d, st, step, ok, false, why, err);
		return;
	}
	notify_step(d, jint(step, "job_id"), (int)jint(step, "seq"), jstr(step, "name"), to,
	    ok ? NULL : why);
	if (ok && advance(d, jint(step, "job_id")) < 0)
		keep_outcome(d, st, step, ok, true, why, "the next step could not be started");
}

static void
on_retry(struct loop *l, void *arg)
{
	struct daemon *d = arg;
	(void)l;
	d->jobs->retry_timer = 0;
	jobs_flush(d);
}

/* One second, doubling to at most 30 s while the journal refuses. */
static void
retry_later(struct daemon *d)
{
	struct jobs *j = d->jobs;
	if (!d->loop || j->retry_timer || j->n_unrecorded == 0)
		return;
	double delay = j->retry_delay > 0 ? j->retry_delay : 1;
	j->retry_timer = loop_add_timer(d->loop, delay, on_retry, d);
	j->retry_delay = fmin(delay * 2, 30);
}

size_t
jobs_flush(struct daemon *d)
{
	struct jobs *j = d->jobs;
	if (j->n_unrecorded == 0 || !d->store)
		return j->n_unrecorded;
	/* A copy: recording an outcome may keep another. */
	struct jobs_outcome todo[ARRAY_LEN(j->unrecorded)];
	size_t n = j->n_unrecorded;
	memcpy(todo, j->unrecorded, n * sizeof todo[0]);
	j->n_unrecorded = 0;
	j->flushing = true;
	for (size_t i = 0; i < n; i++) {
		struct jobs_outcome *o = &todo[i];
		json_t *step = json_pack("{s:I, s:I, s:i, s:s}", "id", (json_int_t)o->step, "job_id",
		    (json_int_t)o->job, "seq", o->seq, "name", o->name);
		if (o->recorded) {
			if (advance(d, o->job) < 0)
				keep_outcome(d, o->station, step, o->ok, true, o->why,
				    "the next step could not be started");
		} else {
			json_t *rows = store_query(d->store, "SELECT id, job_id, seq, name, state FROM "
			    "steps WHERE id = ?", "i", o->step);
			json_t *now = json_array_get(rows, 0);
			if (!rows)
				keep_outcome(d, o->station, step, o->ok, false, o->why,
				    store_errmsg(d->store));
			else if (now && strcmp(jstr(now, "state"), "running") == 0)
				record_outcome(d, o->station, now, o->ok, o->why);
			else
				/* Someone ended it meanwhile (an abort): that stands. */
				log_info("step %lld is %s: its earlier outcome is dropped",
				    (long long)o->step, now ? jstr(now, "state") : "gone");
			json_decref(rows);
		}
		json_decref(step);
	}
	j->flushing = false;
	retry_later(d);
	if (j->n_unrecorded == 0) {
		j->retry_delay = 0;
		log_info("the journal recorded every outcome it had refused");
	}
	return j->n_unrecorded;
}

/* The outcome waiting for the journal for a step, or NULL. */
static const struct jobs_outcome *
unrecorded(struct daemon *d, int64_t step)
{
	for (size_t i = 0; i < d->jobs->n_unrecorded; i++)
		if (d->jobs->unrecorded[i].step == step)
			return &d->jobs->unrecorded[i];
	return NULL;
}

static json_t *
unrecorded_error(const struct jobs_outcome *o, struct err *e)
{
	return err_null(e, API_ERR_STORE, "step %d (%s) of job %lld: the %s %s (%s) "
	    "but the journal could not record it: %s. It is recorded as soon as the journal can "
	    "be written again: free space on its disk", o->seq, o->name, (long long)o->job,
	    jobs_station_name(o->station), o->ok ? "finished it" : "stopped it", o->why, o->error);
}

/* A load that did not start: its steps fail with the station's reason. */
static void
fail_load(struct daemon *d, enum job_station st, json_t *load, size_t n, const char *why)
{
	for (size_t i = 0; i < n; i++)
		record_outcome(d, st, json_array_get(load, i), false, why);
}

static json_t *
payload_of(struct daemon *d, int64_t step)
{
	return store_query(d->store, "SELECT payload FROM steps WHERE id = ?", "i", step);
}

/* The station a load goes to: the one named (at >= 0), or the first free
 * and ready station of the kind. NULL with e when none can take it. */
static struct station *
pick_station(struct daemon *d, enum job_station kind, int at, const char *gcode, struct err *e)
{
	if (at >= 0) {
		if ((size_t)at >= d->n_stations)
			return err_null(e, API_ERR_UNAVAILABLE, "%s is not running",
			    d->cfg->stations[at].name);
		struct station *st = &d->stations[at];
		if (gcode && station_laser_fits(st, gcode, e) < 0)
			return NULL;
		return station_ready(st, e) < 0 ? NULL : st;
	}
	char why[600] = "";
	struct station *only = NULL;
	int count = 0;
	for (size_t i = 0; i < d->n_stations; i++) {
		struct station *st = &d->stations[i];
		if (st->kind != (enum cfg_kind)kind)
			continue;
		count++;
		only = st;
		struct err se;
		/* A laser takes the toolpath only if it fits its work area:
		 * a workshop's lasers differ. */
		if (d->jobs->n_active[i] > 0)
			err_set(&se, API_ERR_BUSY, "%s is running a load", st->name);
		else if (gcode && station_laser_fits(st, gcode, &se) < 0)
			;
		else if (station_ready(st, &se) == 0)
			return st;
		if (count == 1)
			*e = se;
		/* Each reason cut short, so that several fit in the answer. */
		snprintf(why + strlen(why), sizeof why - strlen(why), "%s%.160s", why[0] ? "; " : "",
		    se.msg);
	}
	if (count == 0)
		return err_null(e, API_ERR_UNAVAILABLE, "the workshop has no %s", station_names[kind]);
	if (count == 1 && only)
		return NULL;            /* e is the one station's own reason */
	return err_null(e, API_ERR_BUSY, "no %s can take the load now: %s", station_names[kind], why);
}

json_t *
jobs_station_run(struct daemon *d, const char *name, const char *who, uid_t uid, struct err *e)
{
	char err[400];
	/* A station by its name, or any station of a kind. */
	const struct cfg_station *named = name ? cfg_station_find(d->cfg, name) : NULL;
	int at = named ? (int)(named - d->cfg->stations) : -1;
	int st = named ? named->kind : station_lookup(name);
	if (st < 0) {
		char names[400] = "";
		for (size_t i = 0; i < d->cfg->n_stations; i++)
			snprintf(names + strlen(names), sizeof names - strlen(names), ", %s",
			    d->cfg->stations[i].name);
		return err_null(e, API_ERR_INVALID_PARAMS, "'station' must be a station (%s) or a "
		    "kind of station (laser, tank or bath)", names[0] ? names + 2 : "none");
	}
	if (!d->store)
		return no_store(d, e);
	if (at >= 0 && d->jobs->n_active[at] > 0)
		return err_null(e, API_ERR_BUSY, "%s is already running a load", named->name);
	jobs_flush(d);
	json_t *q = queued_at(d, (enum job_station)st);
	if (!q)
		return no_store(d, e);
	size_t n = json_array_size(q);
	if (n == 0) {
		json_decref(q);
		for (size_t k = 0; k < d->jobs->n_unrecorded; k++)
			if (d->jobs->unrecorded[k].station == (enum job_station)st)
				return unrecorded_error(&d->jobs->unrecorded[k], e);
		return err_null(e, API_ERR_INVALID, "nothing is waiting at the %s%s%s",
		    station_names[st], named && strcmp(named->name, station_names[st]) ? " " : "",
		    named && strcmp(named->name, station_names[st]) ? named->name : "");
	}
	/* The laser and the bath take one piece at a time; a tank a load. */
	if (st != JS_TANK)
		n = 1;
	else if (n > ARRAY_LEN(d->jobs->active[0]))
		n = ARRAY_LEN(d->jobs->active[0]);
	static struct job_piece pieces[32];
	struct policy_piece pp[32];
	const struct cfg_gems *gems = &d->catalog->gems;
	json_t *out = NULL;
	size_t loaded = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *s = json_array_get(q, i);
		bool ok = load_piece(d, jint(s, "job_id"), &pieces[i]);
		loaded = i + 1;
		if (!ok) {
			out = err_null(e, API_ERR_STORE, "the load is refused: the journal "
			    "has no readable gem list for piece %s (job %lld)", pieces[i].serial,
			    (long long)jint(s, "job_id"));
			goto done;
		}
		pp[i] = pieces[i].p;
		/* The engine's own check, before the station's: a gem table
		 * reloaded since planning may have changed a verdict. */
		enum policy_process proc = st == JS_TANK ? PROC_ULTRASONIC : st == JS_BATH ?
		    PROC_ACID_BATH : PROC_ENGRAVING;
		struct policy_verdict v;
		policy_judge(gems, &pp[i], proc, &v);
		if (!v.permitted) {
			out = err_null(e, API_ERR_REFUSED, "the load is refused: %s (piece %s, "
			    "job %lld)", v.reason, pieces[i].serial, (long long)jint(s, "job_id"));
			goto done;
		}
	}
	/* The station judges again, but a load that cannot start now (lid
	 * open, device away) is refused before anything is committed: the
	 * jeweller closes the lid and runs the station again. */
	json_t *first = json_array_get(q, 0);
	json_t *pl = NULL;
	const char *gcode = NULL;
	if (st == JS_LASER) {
		pl = payload_of(d, jint(first, "id"));
		gcode = pl ? jstr(json_array_get(pl, 0), "payload") : NULL;
		if (!gcode) {
			json_decref(pl);
			out = err_null(e, API_ERR_STORE, "the engraving's toolpath is missing from the "
			    "journal");
			goto done;
		}
	}
	struct station *sta = pick_station(d, (enum job_station)st, at, gcode, e);
	if (!sta) {
		json_decref(pl);
		goto done;
	}
	json_t *params = json_loads(jstr(first, "params") ? jstr(first, "params") : "{}", 0, NULL);
	if (!json_is_object(params)) {
		json_decref(params);
		params = json_object();
	}
	if (st == JS_LASER) {
		json_object_set_new(params, "gcode", json_string(gcode));
		json_decref(pl);
	} else if (st == JS_TANK) {
		/* One cycle for the load: the longest any of its pieces asks. */
		double secs = 0;
		for (size_t i = 0; i < n; i++) {
			json_t *pi = json_loads(jstr(json_array_get(q, i), "params"), 0, NULL);
			secs = fmax(secs, param(pi, "seconds", sta->cfg->tank.cycle));
			json_decref(pi);
		}
		json_object_set_new(params, "seconds", json_real(secs));
	}
	if (commit_load(d, q, n, who, err, sizeof err) < 0) {
		json_decref(params);
		out = err_null(e, API_ERR_STORE, "the load was not recorded: %s", err);
		goto done;
	}
	struct err se = { 0, "" };
	int rc = station_start(sta, pp, st == JS_TANK ? n : 1, params, uid, &se);
	json_decref(params);
	if (rc < 0) {
		fail_load(d, (enum job_station)st, q, n, se.msg);
		out = err_null(e, se.code ? se.code : API_ERR_UNAVAILABLE, "%s", se.msg);
		goto done;
	}
	/* Active only once started: a station stopping inside its own start
	 * (a refused write) leaves the load to fail_load above. */
	for (size_t i = 0; i < n; i++) {
		json_t *s = json_array_get(q, i);
		d->jobs->active[sta->index][d->jobs->n_active[sta->index]++] = jint(s, "id");
		notify_step(d, jint(s, "job_id"), (int)jint(s, "seq"), jstr(s, "name"), "running", NULL);
	}
	out = json_pack("{s:s, s:s, s:[]}", "station", sta->name, "kind", station_names[st], "load");
	for (size_t i = 0; i < n; i++) {
		json_t *s = json_array_get(q, i);
		json_array_append_new(json_object_get(out, "load"), json_pack("{s:I, s:I, s:s, s:s}",
		    "job", (json_int_t)jint(s, "job_id"), "seq", (json_int_t)jint(s, "seq"), "step",
		    jstr(s, "name"), "serial", jstr(s, "serial")));
	}
done:
	for (size_t i = 0; i < loaded; i++)
		free_piece(&pieces[i]);
	json_decref(q);
	return out;
}

void
jobs_station_finished(struct daemon *d, int at, bool ok, const char *why)
{
	if (!d->jobs || at < 0 || at >= CFG_MAX_STATIONS || (size_t)at >= d->cfg->n_stations)
		return;
	size_t n = d->jobs->n_active[at];
	if (n == 0 || !d->store)
		return;
	enum job_station st = (enum job_station)d->cfg->stations[at].kind;
	int64_t ids[32];
	memcpy(ids, d->jobs->active[at], n * sizeof ids[0]);
	d->jobs->n_active[at] = 0;
	changed(d);
	for (size_t i = 0; i < n; i++) {
		json_t *rows = store_query(d->store, "SELECT id, job_id, seq, name, state FROM steps "
		    "WHERE id = ?", "i", ids[i]);
		json_t *s = json_array_get(rows, 0);
		if (!rows) {
			/* The journal cannot even be read: what the station said
			 * is kept all the same. */
			json_t *step = json_pack("{s:I, s:I, s:i, s:s}", "id", (json_int_t)ids[i],
			    "job_id", (json_int_t)0, "seq", 0, "name", "?");
			keep_outcome(d, st, step, ok, false, why, store_errmsg(d->store));
			json_decref(step);
		} else if (s && strcmp(jstr(s, "state"), "running") == 0) {
			record_outcome(d, st, s, ok, why);
		}
		json_decref(rows);
	}
}

void
jobs_shutdown(struct daemon *d)
{
	char err[300];
	if (d->jobs->retry_timer && d->loop)
		loop_cancel(d->loop, d->jobs->retry_timer);
	d->jobs->retry_timer = 0;
	struct loop *loop = d->loop;
	d->loop = NULL;         /* no timer now: the daemon is going */
	jobs_flush(d);
	d->loop = loop;
	for (size_t i = 0; i < d->jobs->n_unrecorded; i++)
		log_err("job %lld step %d (%s) stays running in the journal, which cannot record "
		    "its outcome: the next start marks it interrupted",
		    (long long)d->jobs->unrecorded[i].job, d->jobs->unrecorded[i].seq,
		    d->jobs->unrecorded[i].name);
	d->jobs->n_unrecorded = 0;
	for (int st = 0; st < CFG_MAX_STATIONS; st++) {
		for (size_t i = 0; i < d->jobs->n_active[st] && d->store; i++)
			if (store_step_transition(d->store, d->jobs->active[st][i], "running",
			    "interrupted", "interrupted", WHO_DAEMON, "the daemon stopped during the step",
			    NULL, err, sizeof err) < 0)
				log_err("%s", err);
		d->jobs->n_active[st] = 0;
	}
	changed(d);
}

static void
on_station_finished(struct daemon *d, const struct station *st, bool ok, const char *why,
    void *ctx)
{
	(void)ctx;
	jobs_station_finished(d, st->index, ok, why);
}

int
jobs_attach(struct daemon *d, struct err *e)
{
	d->jobs = xcalloc(1, sizeof *d->jobs);
	static const struct station_listener listener = { .finished = on_station_finished };
	if (daemon_listen(d, &listener) < 0)
		return err_set(e, API_ERR_INTERNAL, "no room for the job engine's listener");
	return 0;
}

void
jobs_detach(struct daemon *d)
{
	if (!d->jobs)
		return;
	jobs_shutdown(d);
	json_decref(d->jobs->queues);
	free(d->jobs);
	d->jobs = NULL;
}

/* --- views ------------------------------------------------------------------- */

/* Parses the JSON texts a row holds, so clients get objects. */
static void
inflate(json_t *row, const char *key)
{
	const char *t = jstr(row, key);
	json_t *v = t ? json_loads(t, 0, NULL) : NULL;
	if (v)
		json_object_set_new(row, key, v);
}

json_t *
jobs_show(struct daemon *d, int64_t job, struct err *e)
{
	if (!d->store)
		return no_store(d, e);
	jobs_flush(d);
	json_t *row = job_row(d, job);
	if (!row)
		return err_null(e, API_ERR_NOT_FOUND, "there is no job %lld", (long long)job);
	inflate(row, "plan");
	inflate(row, "piece_gems");
	json_t *steps = job_steps(d, job);
	size_t i;
	json_t *s;
	json_array_foreach(steps, i, s) {
		inflate(s, "params");
		/* Still running in the journal, but the station has finished. */
		const struct jobs_outcome *o = unrecorded(d, jint(s, "id"));
		if (o)
			json_object_set_new(s, "unrecorded", json_sprintf("the %s %s (%s) but the "
			    "journal could not record it yet: %s", jobs_station_name(o->station),
			    o->ok ? "finished it" : "stopped it", o->why, o->error));
	}
	json_object_set_new(row, "steps", steps ? steps : json_array());
	json_t *plan = json_object_get(row, "plan");
	json_object_set(row, "quote", json_object_get(plan, "quote"));
	json_object_set(row, "substitutions", json_object_get(plan, "substitutions"));
	json_object_set(row, "piece", json_object_get(plan, "piece"));
	json_object_del(row, "plan");
	json_t *ev = store_query(d->store, "SELECT t, who, what, why FROM events WHERE job_id = ? "
	    "ORDER BY id", "i", job);
	json_object_set_new(row, "events", ev ? ev : json_array());
	return row;
}

json_t *
jobs_list(struct daemon *d, const char *state, const char *serial, int limit, struct err *e)
{
	if (!d->store)
		return no_store(d, e);
	json_t *rows = store_query(d->store, "SELECT j.id, j.state, p.serial, p.type, p.metal, "
	    "j.services, j.operator, j.created, j.updated, json_extract(j.quote, '$.total') AS total, "
	    "(SELECT count(*) FROM steps s WHERE s.job_id = j.id AND s.state IN "
	    "('done','substituted','skipped')) AS steps_done, "
	    "(SELECT count(*) FROM steps s WHERE s.job_id = j.id) AS steps "
	    "FROM jobs j JOIN pieces p ON p.id = j.piece_id "
	    "WHERE (?1 IS NULL OR j.state = ?1) AND (?2 IS NULL OR p.serial = ?2) "
	    "ORDER BY j.id DESC LIMIT ?3", "tti", state, serial, (int64_t)limit);
	return rows ? rows : no_store(d, e);
}

json_t *
jobs_history(struct store *st, const char *serial, struct err *e)
{
	json_t *piece = store_query(st, "SELECT serial, type, collection, metal, paved, "
	    "purchase_date, gems, created FROM pieces WHERE serial = ?", "t", serial);
	if (!piece)
		return unreadable(st, e);
	if (json_array_size(piece) == 0) {
		json_decref(piece);
		return err_null(e, API_ERR_NOT_FOUND, "no piece with serial number %s is "
		    "recorded", serial);
	}
	json_t *jobs = store_query(st, "SELECT j.id, j.state, j.services, j.operator, "
	    "j.created, j.updated, j.quote FROM jobs j JOIN pieces p ON p.id = j.piece_id "
	    "WHERE p.serial = ? ORDER BY j.id", "t", serial);
	size_t i;
	json_t *j;
	json_array_foreach(jobs, i, j)
		inflate(j, "quote");
	json_t *events = store_query(st, "SELECT e.t, e.who, e.what, e.why, e.job_id FROM "
	    "events e JOIN jobs j ON j.id = e.job_id JOIN pieces p ON p.id = j.piece_id "
	    "WHERE p.serial = ? ORDER BY e.id", "t", serial);
	inflate(json_array_get(piece, 0), "gems");
	json_t *out = json_pack("{s:O, s:o, s:o}", "piece", json_array_get(piece, 0), "jobs",
	    jobs ? jobs : json_array(), "events", events ? events : json_array());
	json_decref(piece);
	return out;
}

json_t *
jobs_export(struct store *st, const char *serial, struct err *e)
{
	json_t *rows = store_query(st, "SELECT j.id AS job, p.serial, p.type, p.metal, "
	    "j.services, j.operator, j.state AS job_state, json_extract(j.quote, '$.total') AS "
	    "price_usd, s.seq, s.name AS step, s.kind, s.station, s.state, s.reason, s.note, "
	    "s.attempts, s.updated FROM steps s JOIN jobs j ON j.id = s.job_id JOIN pieces p ON "
	    "p.id = j.piece_id WHERE (?1 IS NULL OR p.serial = ?1) ORDER BY j.id, s.seq", "t",
	    serial);
	return rows ? rows : unreadable(st, e);
}

json_t *
jobs_queues(struct daemon *d)
{
	if (d->jobs->queues)
		return json_incref(d->jobs->queues);
	json_t *out = json_object();
	for (int st = 0; st < JS_COUNT; st++) {
		json_t *q = d->store ? queued_at(d, (enum job_station)st) : NULL;
		json_t *list = json_array();
		size_t i;
		json_t *s;
		json_array_foreach(q, i, s)
			json_array_append_new(list, json_pack("{s:I, s:I, s:s, s:s}", "job",
			    (json_int_t)jint(s, "job_id"), "seq", (json_int_t)jint(s, "seq"), "step",
			    jstr(s, "name"), "serial", jstr(s, "serial")));
		json_decref(q);
		int running = 0;
		for (size_t k = 0; k < d->cfg->n_stations; k++)
			if (d->cfg->stations[k].kind == st)
				running += (int)d->jobs->n_active[k];
		json_object_set_new(out, station_names[st], json_pack("{s:o, s:i}", "queued", list,
		    "running", running));
	}
	d->jobs->queues = json_incref(out);
	return out;
}
