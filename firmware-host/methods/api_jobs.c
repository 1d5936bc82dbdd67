/*
 * The job methods of the daemon's API (documented in docs/api.md): plan,
 * create, start, show, list and abort jobs, confirm, retry and abort
 * steps, run a station's queue, a piece's history and the export. The
 * parameters are checked here; the engine (jobs/jobs.c) does the rest. Who
 * acts is the "operator" given, or the caller's user name. With the
 * engine, the methods make the job engine's part of the daemon.
 */
#include "methods/api_jobs.h"

#include <pwd.h>
#include <stdio.h>
#include <string.h>

#include "daemon/daemon.h"
#include "jobs/jobs.h"
#include "methods/offload.h"
#include "policy/policy.h"
#include "util.h"

static struct daemon *
D(struct api_call *c)
{
	return api_data(c->api);
}

/* Who acts, for the audit trail: a web user as the gateway names them
 * ("Marie Curie (marie, web)"), else the operator the request names with
 * the account the socket's credentials prove ("Marie (marie)"), or the
 * account alone. */
static const char *
who(struct api_call *c)
{
	static char name[160];
	char account[64];
	if (api_acting_label(c, name, sizeof name))
		return name;
	struct passwd *pw = getpwuid(c->uid);
	if (pw)
		snprintf(account, sizeof account, "%s", pw->pw_name);
	else
		snprintf(account, sizeof account, "uid %u", (unsigned)c->uid);
	const char *op = json_string_value(c->params ? json_object_get(c->params, "operator") : NULL);
	if (op && *op && strlen(op) <= 64 && strcmp(op, account) != 0)
		snprintf(name, sizeof name, "%s (%s)", op, account);
	else
		snprintf(name, sizeof name, "%s", account);
	return name;
}

static bool
job_id(struct api_call *c, int64_t *out)
{
	json_t *v = c->params ? json_object_get(c->params, "job") : NULL;
	if (!json_is_integer(v) || json_integer_value(v) < 1) {
		api_fail(c, API_ERR_INVALID_PARAMS, "'job' (the job number) is required");
		return false;
	}
	*out = (int64_t)json_integer_value(v);
	return true;
}

static bool
step_seq(struct api_call *c, int *out)
{
	json_t *v = c->params ? json_object_get(c->params, "step") : NULL;
	if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 1000) {
		api_fail(c, API_ERR_INVALID_PARAMS, "'step' (the step number in the job, from 1) is "
		    "required");
		return false;
	}
	*out = (int)json_integer_value(v);
	return true;
}

static const char *
opt_str(struct api_call *c, const char *key)
{
	return json_string_value(c->params ? json_object_get(c->params, key) : NULL);
}

/* The engine's answer, or its error as the call's. */
static json_t *
answer(struct api_call *c, json_t *r, const struct err *e)
{
	return r ? r : api_fail(c, e->code, "%s", e->msg);
}

/* A piece's gems are part of its identity: only a technician confirms
 * that they changed (a stone replaced, a list recorded wrongly), since the
 * stations judge every later load by the new list. */
static bool
may_supersede(struct api_call *c)
{
	json_t *v = json_is_object(c->params) ? json_object_get(c->params, "supersede_gems") : NULL;
	if (json_is_true(v) && c->role < API_ROLE_TECHNICIAN) {
		api_fail(c, API_ERR_FORBIDDEN, "'supersede_gems' is for the technician role; you are "
		    "%s: a technician confirms that a piece's gems changed", api_role_name(c->role));
		return false;
	}
	return true;
}

/* A plan with an engraving is laid out off the loop first (offload.c). */
static json_t *
plan_or_create(struct api_call *c, bool dry_run)
{
	if (!may_supersede(c))
		return NULL;
	/* A web user takes the job in under the name they logged in with,
	 * unless the form names someone. */
	if (c->acting_name && json_is_object(c->params) &&
	    !json_object_get(c->params, "operator"))
		json_object_set_new(c->params, "operator", json_string(c->acting_name));
	/* The shared history is asked off the loop too: the bench never
	 * waits for the network on the loop. */
	if (c->params && (json_object_get(c->params, "engraving") || D(c)->fleet))
		return offload_layout(c, dry_run ? OFFLOAD_PLAN : OFFLOAD_CREATE, who(c));
	struct err e = { 0, "" };
	return answer(c, jobs_create(D(c), c->params, dry_run, who(c), NULL, &e), &e);
}

static json_t *
m_job_plan(struct api_call *c, void *arg)
{
	(void)arg;
	return plan_or_create(c, true);
}

static json_t *
m_job_create(struct api_call *c, void *arg)
{
	(void)arg;
	return plan_or_create(c, false);
}

static json_t *
m_job_start(struct api_call *c, void *arg)
{
	int64_t job;
	(void)arg;
	if (!job_id(c, &job))
		return NULL;
	struct err e = { 0, "" };
	return answer(c, jobs_start(D(c), job, who(c), &e), &e);
}

static json_t *
m_job_show(struct api_call *c, void *arg)
{
	int64_t job;
	(void)arg;
	if (!job_id(c, &job))
		return NULL;
	struct err e = { 0, "" };
	return answer(c, jobs_show(D(c), job, &e), &e);
}

static json_t *
m_job_list(struct api_call *c, void *arg)
{
	(void)arg;
	json_t *lim = c->params ? json_object_get(c->params, "limit") : NULL;
	if (lim && (!json_is_integer(lim) || json_integer_value(lim) < 1 ||
	    json_integer_value(lim) > 100000))
		return api_fail(c, API_ERR_INVALID_PARAMS, "'limit' must be 1 to 100000");
	struct err e = { 0, "" };
	return answer(c, jobs_list(D(c), opt_str(c, "state"), opt_str(c, "serial"),
	    lim ? (int)json_integer_value(lim) : 50, &e), &e);
}

static json_t *
m_job_abort(struct api_call *c, void *arg)
{
	int64_t job;
	(void)arg;
	if (!job_id(c, &job))
		return NULL;
	struct err e = { 0, "" };
	return answer(c, jobs_abort(D(c), job, who(c), opt_str(c, "why"), &e), &e);
}

static json_t *
m_step_done(struct api_call *c, void *arg)
{
	int64_t job;
	int seq;
	(void)arg;
	if (!job_id(c, &job) || !step_seq(c, &seq))
		return NULL;
	const char *note = opt_str(c, "note");
	if (note && strlen(note) > 2000)
		return api_fail(c, API_ERR_INVALID_PARAMS, "'note' is at most 2000 characters");
	struct err e = { 0, "" };
	return answer(c, jobs_step_done(D(c), job, seq, who(c), note, &e), &e);
}

static json_t *
m_step_retry(struct api_call *c, void *arg)
{
	int64_t job;
	int seq;
	(void)arg;
	if (!job_id(c, &job) || !step_seq(c, &seq))
		return NULL;
	struct err e = { 0, "" };
	return answer(c, jobs_step_retry(D(c), job, seq, who(c), &e), &e);
}

static json_t *
m_step_abort(struct api_call *c, void *arg)
{
	int64_t job;
	int seq;
	(void)arg;
	if (!job_id(c, &job) || !step_seq(c, &seq))
		return NULL;
	struct err e = { 0, "" };
	return answer(c, jobs_step_abort(D(c), job, seq, who(c), opt_str(c, "why"), &e), &e);
}

static json_t *
m_station_run(struct api_call *c, void *arg)
{
	(void)arg;
	struct err e = { 0, "" };
	return answer(c, jobs_station_run(D(c), opt_str(c, "station"), who(c), c->uid, &e), &e);
}

static json_t *
m_history(struct api_call *c, void *arg)
{
	(void)arg;
	const char *serial = opt_str(c, "serial");
	if (!serial || !*serial)
		return api_fail(c, API_ERR_INVALID_PARAMS, "'serial' (the piece's serial number) is "
		    "required");
	return offload_journal(c, OFFLOAD_HISTORY, serial);
}

static json_t *
m_export(struct api_call *c, void *arg)
{
	(void)arg;
	return offload_journal(c, OFFLOAD_EXPORT, opt_str(c, "serial"));
}

/* The catalogue's names, for a bench's forms and their autocompletion:
 * species, their aliases, treatments, metals, piece types, services. */
static json_t *
m_catalogue(struct api_call *c, void *arg)
{
	(void)arg;
	const struct cfg_catalog *cat = D(c)->catalog;
	const struct cfg_gems *g = cat ? &cat->gems : policy_default_gems();
	json_t *species = json_array(), *aliases = json_object(), *treatments = json_array();
	json_t *metals = json_array(), *pieces = json_array(), *services = json_array();
	for (size_t i = 0; i < g->n_gems; i++) {
		const char *s = g->gems[i].species;
		bool seen = strcmp(s, "*") == 0;
		for (size_t k = 0; !seen && k < json_array_size(species); k++)
			seen = strcmp(json_string_value(json_array_get(species, k)), s) == 0;
		if (!seen)
			json_array_append_new(species, json_string(s));
	}
	for (size_t i = 0; i < g->n_aliases; i++)
		for (char **n = g->aliases[i].names; n && *n; n++)
			json_object_set_new(aliases, *n, json_string(g->aliases[i].species));
	for (char **t = g->treatments; t && *t; t++)
		json_array_append_new(treatments, json_string(*t));
	if (cat) {
		const struct cfg_services *s = &cat->services;
		for (char **m = s->metals; m && *m; m++)
			json_array_append_new(metals, json_string(*m));
		for (size_t i = 0; i < s->n_pieces; i++)
			json_array_append_new(pieces, json_string(s->pieces[i].type));
		for (size_t i = 0; i < s->n_services; i++)
			json_array_append_new(services, json_pack("{s:s, s:s}", "id", s->services[i].id,
			    "title", s->services[i].title ? s->services[i].title : s->services[i].id));
	}
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "species", species, "aliases", aliases,
	    "treatments", treatments, "metals", metals, "pieces", pieces, "services", services);
}

static const struct api_method jobs_methods[] = {
	{ "catalogue", API_ROLE_JEWELLER, m_catalogue, NULL,
	    "the catalogue's names: species, aliases, treatments, metals, piece types, services" },
	{ "job.plan", API_ROLE_JEWELLER, m_job_plan, NULL,
	    "plan a job without recording it: steps, substitutions, quote" },
	{ "job.create", API_ROLE_JEWELLER, m_job_create, NULL,
	    "plan and record a job for a piece (refused with the catalogue's rule)" },
	{ "job.start", API_ROLE_JEWELLER, m_job_start, NULL, "start a planned job" },
	{ "job.show", API_ROLE_JEWELLER, m_job_show, NULL, "a job with its steps and audit trail" },
	{ "job.list", API_ROLE_JEWELLER, m_job_list, NULL, "jobs, newest first (state, serial)" },
	{ "job.abort", API_ROLE_JEWELLER, m_job_abort, NULL,
	    "abort a job: its station stopped, its steps aborted" },
	{ "step.done", API_ROLE_JEWELLER, m_step_done, NULL,
	    "confirm a manual step at the bench, with a note" },
	{ "step.retry", API_ROLE_JEWELLER, m_step_retry, NULL,
	    "retry a failed, interrupted or aborted step" },
	{ "step.abort", API_ROLE_JEWELLER, m_step_abort, NULL, "abort a running or queued step" },
	{ "station.run", API_ROLE_JEWELLER, m_station_run, NULL,
	    "run the load waiting at a station (laser, tank, bath)" },
	{ "history", API_ROLE_JEWELLER, m_history, NULL, "a piece's jobs and events by serial" },
	{ "export", API_ROLE_JEWELLER, m_export, NULL, "every step of every job, one row each" },
};

/* Status shows what waits at each station. */
static void
jobs_status(struct daemon *d, json_t *out)
{
	json_object_set_new(out, "queues", jobs_queues(d));
}

const struct daemon_part jobs_part = {
	.name = "job engine",
	.start = jobs_attach,
	.stop = jobs_detach,
	.status = jobs_status,
	.methods = jobs_methods,
	.n_methods = ARRAY_LEN(jobs_methods),
};
