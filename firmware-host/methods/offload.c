/*
 * Heavy methods off the loop (see offload.h). Each request becomes a task
 * that owns copies of what its work needs (the request's parameters, the
 * engraving settings, the journal's path), so that a reload may replace
 * the configuration while it runs; its completion, on the loop, answers
 * the client and does what only the loop may do.
 */
#include "methods/offload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon.h"
#include "calib/calib.h"
#include "engrave/engrave.h"
#include "fleet/fleet.h"
#include "jobs/jobs.h"
#include "jobs/jobs_plan.h"
#include "journal/store.h"
#include "log.h"
#include "util.h"
#include "worker.h"

/* The journal reads' time budget, checked while they read (the layouts'
 * is the engraving budget's, engrave.h): beyond it the request is refused
 * with the figure rather than holding a worker. */
#define JOURNAL_SECONDS 20.0

struct layout_task {
	struct worker_task t;
	struct daemon *d;
	struct api_pending *p;
	enum offload_layout kind;
	json_t *params;                 /* the request's, held */
	struct engrave_settings set;
	bool with_gcode;
	uid_t uid;
	char who[160];
	char station[40];               /* the laser it is laid out for */
	/* The materials with the station's material test applied, and the
	 * words that say so (set.materials and set.materials_source). */
	struct engrave_material materials[16];
	char source[160];
	/* results */
	enum engrave_status status;
	struct engrave_result res;      /* OFFLOAD_ENGRAVE */
	char *text;                     /* OFFLOAD_PREVIEW: the result, serialised */
	struct jobs_layout layout;      /* OFFLOAD_PLAN, OFFLOAD_CREATE */
	char err[400];
	/* A plan asks the shared history how often the piece was served at
	 * the other workshops (fleet.h), when one is configured. */
	struct fleet_settings fleet;
	char *serial;
};

struct journal_task {
	struct worker_task t;
	struct api_pending *p;
	enum offload_read kind;
	char *path, *serial;
	char *text;
	struct err e;
	struct daemon *d;
	struct fleet_settings fleet;    /* OFFLOAD_HISTORY: every workshop's */
};

/* The shared history's settings, read again at each reload; without its
 * password file the lookups go on and the server says what is missing. */
static void
fleet_load(struct daemon *d)
{
	if (d->fleet) {
		fleet_settings_clear(d->fleet);
		free(d->fleet);
		d->fleet = NULL;
	}
	if (!d->cfg->fleet.workshop || !d->cfg->fleet.postgres)
		return;
	char err[400];
	d->fleet = xcalloc(1, sizeof *d->fleet);
	if (fleet_settings_from_cfg(d->fleet, d->cfg, "atelierd", err, sizeof err) < 0) {
		log_warn("shared history: %s", err);
		struct fleet_settings *f = d->fleet;
		snprintf(f->workshop, sizeof f->workshop, "%s", d->cfg->fleet.workshop);
		f->conninfo = xstrdup(d->cfg->fleet.postgres);
		f->seconds = d->cfg->fleet.lookup_seconds;
		snprintf(f->application, sizeof f->application, "atelierd");
	}
}

static int
offload_start(struct daemon *d, struct err *e)
{
	(void)e;
	fleet_load(d);
	/* Each worker's own connection to the shared history; after a
	 * failure, the quotes go on from this workshop's journal at once for
	 * a while rather than waiting out the bound each time. */
	d->fleet_layout_conn = fleet_conn_new();
	d->fleet_journal_conn = fleet_conn_new();
	fleet_conn_retry_after(d->fleet_layout_conn, 5);
	fleet_conn_retry_after(d->fleet_journal_conn, 5);
	d->layout_worker = worker_new(d->loop, "layout", OFFLOAD_QUEUE);
	d->journal_worker = worker_new(d->loop, "journal", OFFLOAD_QUEUE);
	return 0;
}

/* Cancels everything queued or running and waits: answers still owed are
 * sent as failures. */
static void
offload_stop(struct daemon *d)
{
	worker_free(d->layout_worker);
	worker_free(d->journal_worker);
	d->layout_worker = d->journal_worker = NULL;
	fleet_conn_free(d->fleet_layout_conn);
	fleet_conn_free(d->fleet_journal_conn);
	d->fleet_layout_conn = d->fleet_journal_conn = NULL;
	if (d->fleet) {
		fleet_settings_clear(d->fleet);
		free(d->fleet);
		d->fleet = NULL;
	}
}

/* A reload cancels what runs: the settings it used are gone. */
static void
offload_cancel(struct daemon *d)
{
	if (d->layout_worker)
		worker_cancel_all(d->layout_worker);
	if (d->journal_worker)
		worker_cancel_all(d->journal_worker);
	fleet_load(d);
}

/* In the layout worker: how often the piece was served at the other
 * workshops, within the bound, or why not. */
static void
ask_shared_history(struct layout_task *t)
{
	struct jobs_shared *sh = &t->layout.shared;
	char err[400];
	sh->asked = true;
	sh->served = fleet_served(t->d->fleet_layout_conn, &t->fleet, t->serial, err, sizeof err);
	sh->answered = sh->served != NULL;
	if (!sh->answered)
		snprintf(sh->why, sizeof sh->why, "%s", err);
}

/* Not fitting the piece is a refusal with numbers (1002); an engraving
 * over the layout's budget (too many points, lines or segments, <use>
 * nested too deep, or stopped by its time) is a request to change, like
 * bad input (1007), its sentence giving the numbers. */
static int
status_code(enum engrave_status st)
{
	return st == ENGRAVE_ERR_FIT ? API_ERR_REFUSED : API_ERR_INVALID;
}

/* --- layouts ------------------------------------------------------------- */

static void
layout_work(struct worker_task *wt)
{
	struct layout_task *t = (struct layout_task *)wt;
	json_t *spec = json_object_get(t->params, "engraving");
	t->set.budget.cancel = &wt->cancel;
	if (t->kind == OFFLOAD_PLAN || t->kind == OFFLOAD_CREATE) {
		if (spec)
			jobs_layout_compute(&t->set, spec, &t->layout);
		if (t->serial && !atomic_load(&wt->cancel))
			ask_shared_history(t);
		return;
	}
	struct engrave_request req;
	if (engrave_request_from_json(spec, &req, t->err, sizeof t->err) < 0) {
		t->status = ENGRAVE_ERR_INPUT;
		return;
	}
	t->status = engrave_run(&t->set, &req, &t->res);
	if (t->status != ENGRAVE_OK) {
		snprintf(t->err, sizeof t->err, "%s",
		    t->res.error ? t->res.error : "the engraving cannot be laid out");
		engrave_result_free(&t->res);
		return;
	}
	if (t->kind == OFFLOAD_PREVIEW) {
		json_t *out = engrave_result_json(&t->res, t->with_gcode, true);
		t->text = json_dumps(out, API_JSON_FLAGS);
		json_decref(out);
		engrave_result_free(&t->res);
	}
}

static void
layout_done(struct worker_task *wt)
{
	struct layout_task *t = (struct layout_task *)wt;
	struct daemon *d = t->d;
	struct api_pending *p = t->p;
	struct err e = { 0, "" };
	struct station *st;
	bool have_res = t->kind == OFFLOAD_ENGRAVE && t->status == ENGRAVE_OK;
	bool planned = t->layout.summary || t->layout.shared.asked;
	if (atomic_load(&wt->cancel) && !t->text && !have_res && !planned) {
		api_pending_fail(p, API_ERR_BUSY, "the layout was cancelled: the daemon is reloading "
		    "or stopping, or the client left");
	} else if (t->kind == OFFLOAD_PREVIEW) {
		if (t->text) {
			api_pending_result_text(p, t->text);
			t->text = NULL;
		} else {
			api_pending_fail(p, status_code(t->status), "%s", t->err);
		}
	} else if (t->kind == OFFLOAD_ENGRAVE) {
		if (!have_res)
			api_pending_fail(p, status_code(t->status), "%s", t->err);
		else if (!api_pending_alive(p))
			api_pending_fail(p, API_ERR_INVALID, "the client left");  /* nothing burnt */
		else if (!(st = daemon_station_for(d, t->station, KIND_LASER, &e)) ||
		    station_laser_stream(st, t->res.gcode, t->uid, &e) < 0)
			api_pending_fail(p, e.code, "%s", e.msg);
		else
			api_pending_result(p, engrave_result_json(&t->res, false, false));
	} else if (t->kind == OFFLOAD_CREATE && !api_pending_alive(p)) {
		/* Nobody would learn the new job's number: record nothing. */
		api_pending_fail(p, API_ERR_INVALID, "the client left");
	} else {
		json_t *r = jobs_create(d, t->params, t->kind == OFFLOAD_PLAN, t->who, &t->layout,
		    &e);
		if (r)
			api_pending_result(p, r);
		else
			api_pending_fail(p, e.code, "%s", e.msg);
	}
	if (have_res)
		engrave_result_free(&t->res);
	free(t->text);
	jobs_layout_free(&t->layout);
	json_decref(t->params);
	fleet_settings_clear(&t->fleet);
	free(t->serial);
	free(t);
}

/*
 * What the station's calibrations say for this engraving: the material
 * (the request's, else the piece's metal as the table names it), its
 * power and speed from the latest material test that chose a cell for
 * that metal at this laser, and the focus height from the latest focus
 * calibration. Said in the result's parameters (engrave_params).
 */
static void
calibrated_settings(struct daemon *d, struct station *st, json_t *params, json_t *spec,
    struct layout_task *t)
{
	const char *metal = json_string_value(json_object_get(json_object_get(params, "piece"),
	    "metal"));
	const char *material = json_string_value(json_object_get(spec, "material"));
	char of[40] = "";
	if (!material && metal) {
		engrave_material_of_metal(metal, of, sizeof of);
		if (engrave_material_known(&t->set, of)) {
			json_object_set_new(spec, "material", json_string(of));
			material = json_string_value(json_object_get(spec, "material"));
		}
	}
	if (!material)
		material = t->set.materials[0].name;
	double power, speed;
	char when[40];
	int64_t record;
	if (d->store && calib_store_grid_choice(d->store, st->name, metal, material, &power, &speed,
	    when, sizeof when, &record) == 0 && power > 0 && power <= 100 && speed > 0) {
		size_t n = 0;
		for (; t->set.materials[n].name && n + 1 < ARRAY_LEN(t->materials); n++) {
			t->materials[n] = t->set.materials[n];
			if (strcmp(t->materials[n].name, material) == 0) {
				t->materials[n].power = power;
				t->materials[n].speed = speed;
			}
		}
		t->materials[n] = (struct engrave_material){ 0 };
		t->set.materials = t->materials;
		snprintf(t->source, sizeof t->source, "the material test of %.19s at %s (record %lld)",
		    when, st->name, (long long)record);
		t->set.materials_source = t->source;
	}
	json_t *focus = d->store ? calib_store_latest(d->store, st->name, "laser.focus") : NULL;
	if (json_is_number(json_object_get(focus, "focus_z")))
		t->set.focus_z = json_number_value(json_object_get(focus, "focus_z"));
	json_decref(focus);
}

/* Whether an engraving request is for a piece turning on a rotary: the
 * outside of a ring's band, a bangle or a cylinder. */
static bool
needs_rotary(json_t *spec)
{
	const char *area = json_string_value(json_object_get(spec, "area"));
	const char *band = json_string_value(json_object_get(spec, "band"));
	if (!area)
		return false;
	return !strcmp(area, "bangle") || !strcmp(area, "cylinder") ||
	    (!strcmp(area, "ring") && band && !strcmp(band, "outer"));
}

static struct station *laser_for(struct api_call *c, enum offload_layout kind, json_t *spec);

json_t *
offload_layout(struct api_call *c, enum offload_layout kind, const char *who)
{
	struct daemon *d = api_data(c->api);
	json_t *spec = c->params ? json_object_get(c->params, "engraving") : NULL;
	char err[400];
	const char *serial = NULL;
	if (kind == OFFLOAD_PLAN || kind == OFFLOAD_CREATE) {
		/* The rest of the request first, as the planner checks it, so
		 * that bad input is answered at once and costs no layout. */
		struct job_request r;
		if (job_request_from_json(c->params, &r, err, sizeof err) < 0)
			return api_fail(c, API_ERR_INVALID_PARAMS, "%s", err);
		serial = r.serial;
	} else {
		struct engrave_request req;
		if (!json_is_object(spec))
			return api_fail(c, API_ERR_INVALID_PARAMS, "'engraving' (the text or design and "
			    "the area) is required");
		if (engrave_request_from_json(spec, &req, err, sizeof err) < 0)
			return api_fail(c, API_ERR_INVALID_PARAMS, "%s", err);
	}
	/* Power and speed set by hand for one engraving: a technician's call,
	 * over the material test. */
	if ((json_object_get(spec, "power") || json_object_get(spec, "speed")) &&
	    c->role < API_ROLE_TECHNICIAN)
		return api_fail(c, API_ERR_FORBIDDEN, "only a technician sets an engraving's power "
		    "and speed; without them, the material's are used");
	/* A plan without an engraving comes here only to ask the shared
	 * history (plan_or_create). */
	struct station *st = spec ? laser_for(c, kind, spec) : NULL;
	if (spec && !st)
		return NULL;
	struct layout_task *t = xcalloc(1, sizeof *t);
	t->t.work = layout_work;
	t->t.done = layout_done;
	t->d = d;
	t->kind = kind;
	t->params = json_incref(c->params);
	if (st) {
		snprintf(t->station, sizeof t->station, "%s", st->name);
		engrave_settings_default(&t->set, &st->cfg->laser);
		calibrated_settings(d, st, c->params, spec, t);
	}
	if ((kind == OFFLOAD_PLAN || kind == OFFLOAD_CREATE) && d->fleet && serial) {
		fleet_settings_copy(&t->fleet, d->fleet);
		t->serial = xstrdup(serial);
	}
	t->with_gcode = json_is_true(json_object_get(c->params, "gcode"));
	t->uid = c->uid;
	snprintf(t->who, sizeof t->who, "%s", who ? who : "");
	if (worker_submit(d->layout_worker, &t->t) < 0) {
		json_decref(t->params);
		fleet_settings_clear(&t->fleet);
		free(t->serial);
		free(t);
		return api_fail(c, API_ERR_BUSY, "%d engraving layouts are waiting already; try again "
		    "in a moment", OFFLOAD_QUEUE);
	}
	t->p = api_defer(c);
	api_pending_cancel_with(t->p, &t->t.cancel);
	return NULL;
}

/* The laser an engraving is laid out for: the one named, the only one, or
 * (a preview or a plan, which burn nothing) the first of the workshop.
 * NULL: failed on c. */
static struct station *
laser_for(struct api_call *c, enum offload_layout kind, json_t *spec)
{
	struct daemon *d = api_data(c->api);
	json_t *named = json_object_get(c->params, "station");
	if (named && !json_is_string(named)) {
		api_fail(c, API_ERR_INVALID_PARAMS, "'station' must be a laser's name");
		return NULL;
	}
	struct err e;
	struct station *st = daemon_station_for(d, json_string_value(named), KIND_LASER, &e);
	if (!st && !named && kind != OFFLOAD_ENGRAVE) {
		/* A piece engraved turning (a band's outside, a bangle, a
		 * cylinder) is laid out for the first laser with a rotary, so
		 * that its job runs there; anything else for the first laser. */
		int at = -1;
		for (int i = 0; needs_rotary(spec) &&
		    (at = cfg_station_of_kind(d->cfg, KIND_LASER, i)) >= 0; i++)
			if (d->cfg->stations[at].laser.rotary.kind != ROTARY_NONE)
				break;
		if (at < 0)
			at = cfg_station_of_kind(d->cfg, KIND_LASER, 0);
		st = at >= 0 ? daemon_station(d, d->cfg->stations[at].name) : NULL;
	}
	if (!st)
		api_fail(c, e.code, "%s", e.msg);
	return st;
}

/* --- journal reads --------------------------------------------------------- */

/*
 * A piece's history at every workshop (fleet_history_merge): this
 * journal's (local, NULL when the piece is not known here) with the shared
 * history's entries from the other workshops; NULL when neither knows the
 * piece (t->e says so).
 */
static json_t *
every_workshop(struct journal_task *t, json_t *local)
{
	char err[400];
	json_t *shared = fleet_history(t->d->fleet_journal_conn, &t->fleet, t->serial, err,
	    sizeof err);
	json_t *out = fleet_history_merge(local, shared, shared ? NULL : err, t->fleet.workshop,
	    t->fleet.name);
	json_decref(shared);
	if (out && !local) {
		t->e.code = 0;
		t->e.msg[0] = '\0';
	}
	return out;
}

static void
journal_work(struct worker_task *wt)
{
	struct journal_task *t = (struct journal_task *)wt;
	struct store *st = store_open_reader(t->path, t->e.msg, sizeof t->e.msg);
	if (!st) {
		t->e.code = API_ERR_STORE;
		return;
	}
	double deadline = now_mono() + JOURNAL_SECONDS;
	store_reader_limit(st, &wt->cancel, deadline);
	json_t *r = t->kind == OFFLOAD_HISTORY ?
	    jobs_history(st, t->serial, &t->e) :
	    jobs_export(st, t->serial, &t->e);
	if (t->kind == OFFLOAD_HISTORY && t->fleet.conninfo &&
	    (r || t->e.code == API_ERR_NOT_FOUND) && !atomic_load(&wt->cancel))
		r = every_workshop(t, r);
	if (!r && now_mono() > deadline) {
		t->e.code = API_ERR_BUSY;
		snprintf(t->e.msg, sizeof t->e.msg, "the journal read was stopped after %g s, its time "
		    "budget: ask for less (one serial)", JOURNAL_SECONDS);
	} else if (!r && atomic_load(&wt->cancel)) {
		t->e.msg[0] = '\0';     /* said by journal_done */
	}
	if (r) {
		t->text = json_dumps(r, API_JSON_FLAGS);
		json_decref(r);
	}
	store_close(st);
}

static void
journal_done(struct worker_task *wt)
{
	struct journal_task *t = (struct journal_task *)wt;
	if (t->text) {
		api_pending_result_text(t->p, t->text);
		t->text = NULL;
	} else if (atomic_load(&wt->cancel) && !t->e.msg[0]) {
		api_pending_fail(t->p, API_ERR_BUSY, "the journal read was cancelled: the daemon is "
		    "reloading or stopping, or the client left");
	} else {
		api_pending_fail(t->p, t->e.code ? t->e.code : API_ERR_STORE, "%s",
		    t->e.msg[0] ? t->e.msg : "the journal cannot be read");
	}
	free(t->path);
	free(t->serial);
	fleet_settings_clear(&t->fleet);
	free(t);
}

json_t *
offload_journal(struct api_call *c, enum offload_read kind, const char *serial)
{
	struct daemon *d = api_data(c->api);
	if (!d->journal_path)
		return api_fail(c, API_ERR_STORE, "the job journal is not open");
	struct journal_task *t = xcalloc(1, sizeof *t);
	t->t.work = journal_work;
	t->t.done = journal_done;
	t->kind = kind;
	t->path = xstrdup(d->journal_path);
	t->serial = serial ? xstrdup(serial) : NULL;
	t->d = d;
	if (kind == OFFLOAD_HISTORY && d->fleet)
		fleet_settings_copy(&t->fleet, d->fleet);
	if (worker_submit(d->journal_worker, &t->t) < 0) {
		fleet_settings_clear(&t->fleet);
		free(t->path);
		free(t->serial);
		free(t);
		return api_fail(c, API_ERR_BUSY, "%d journal reads are waiting already; try again in "
		    "a moment", OFFLOAD_QUEUE);
	}
	t->p = api_defer(c);
	api_pending_cancel_with(t->p, &t->t.cancel);
	return NULL;
}

const struct daemon_part offload_part = {
	.name = "workers",
	.start = offload_start,
	.reload = offload_cancel,
	.stop = offload_stop,
};
