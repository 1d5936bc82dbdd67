/*
 * Job planning: pure functions (no I/O) that turn a jeweller's request, a
 * piece and the services asked for, into a plan from the catalogue
 * (config/services.yaml, shared domain facts §1-4): the steps in order,
 * each machine step's parameters, every substitution with its reason, and
 * the price quote with the rule that set it. An ineligible request is
 * refused with the catalogue's rule quoted. What planning needs from
 * outside (the piece's history for pricing, the engraving layout) comes
 * through callbacks, so the tests drive every rule with no daemon.
 */
#ifndef ATELIER_JOBS_PLAN_H
#define ATELIER_JOBS_PLAN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "cfg/cfg.h"
#include "cfg/cfg_catalog.h"
#include "policy/policy.h"

#define JOB_MAX_GEMS 32
#define JOB_MAX_SERVICES 16

struct job_service_req {
	const char *id;
	double change_cm;       /* length services: signed change, 0 when not given */
	int sizes;              /* ring sizes: signed change, 0 when not given */
};

/* A request; strings point into the JSON it was read from. */
struct job_request {
	const char *serial;
	const char *type;
	const char *collection;     /* may be NULL */
	const char *metal;
	bool paved;
	struct policy_gem gems[JOB_MAX_GEMS];
	size_t n_gems;
	/* Once resolved (job_request_resolve_gems): the alias each gem was
	 * named by, and its treatments in the table's words. */
	const char *varieties[JOB_MAX_GEMS];
	char treatments[JOB_MAX_GEMS][sizeof(((struct policy_gem_name *)0)->treatment)];
	const char *purchase_date;  /* YYYY-MM-DD, may be NULL */
	bool certificate;           /* certificate of authenticity presented */
	double surface_dm2;         /* 0: the piece type's estimate */
	struct job_service_req services[JOB_MAX_SERVICES];
	size_t n_services;
	json_t *engraving;          /* the engraving specification, or NULL */
	const char *operator_;
	const char *note;           /* the jeweller's note at intake, may be NULL */
	bool supersede_gems;        /* a technician confirms gems other than those recorded */
};

/* What planning knows of the world. */
struct job_plan_ctx {
	const struct cfg_services *services;
	const struct cfg_gems *gems;
	const struct cfg_tank *tank;
	const struct cfg_bath *bath;
	long today;                 /* days since 1970-01-01, UTC */
	/* How many earlier jobs (not aborted) gave this service to this
	 * serial number; -1 when it cannot be told. */
	int (*times_served)(void *arg, const char *serial, const char *service);
	/* Where those counts come from, said in the quote's history rules
	 * ("counted from this workshop only: ..."), or NULL: not said. */
	const char *history_scope;
	/* Lays out the engraving spec: returns a summary object for the step's
	 * parameters (new reference), or NULL with a sentence in err and
	 * *refused set when the layout does not fit. */
	json_t *(*engrave_layout)(void *arg, json_t *spec, char *err, size_t errlen, bool *refused);
	void *arg;
};

enum job_plan_status { PLAN_OK = 0, PLAN_INVALID, PLAN_REFUSED };

/*
 * Reads a request from the API's parameters: {piece: {serial, type,
 * collection, metal, paved, gems: [{species, treatment, count}],
 * purchase_date, certificate, surface_dm2}, services: ["id" | {id,
 * change_cm, sizes}], engraving, operator, note}. Returns 0, or -1 with a
 * sentence naming the field in err.
 */
int job_request_from_json(json_t *params, struct job_request *r, char *err, size_t errlen);

/*
 * Resolves the request's gems against the gem table as a jeweller writes
 * them (policy_gem_resolve): each gem's species and treatment become the
 * table's, and the alias it was named by is kept in varieties. Returns 0,
 * or -1 with "piece.gems[i]: unknown gem ..." and the nearest names in err.
 * The strings point into the table and into r.
 */
int job_request_resolve_gems(const struct cfg_gems *g, struct job_request *r, char *err,
    size_t errlen);

/*
 * Plans the request (its gems resolved first). Returns the plan (new reference) with *status
 * PLAN_OK, or NULL with *status PLAN_INVALID (bad input: unknown service,
 * metal or gem, impossible size, date in the future...) or PLAN_REFUSED
 * (the catalogue's rule forbids it, quoted) and the sentence in err.
 */
json_t *job_plan(const struct job_plan_ctx *ctx, const struct job_request *r,
    enum job_plan_status *status, char *err, size_t errlen);

/*
 * Judges one step of the catalogue (its id; a rhodium phase "id.phase" as
 * its step) for a piece, as planning does: 0 permitted, or a step policy
 * does not judge (why holds a note, such as an override, or ""); 1 refused
 * and replaced: *sub is the substitute and why says "reason; instead:
 * substitute"; 2 refused with nothing to replace it (why is the reason).
 */
int job_step_judge(const struct cfg_services *cat, const struct cfg_gems *gems,
    const struct policy_piece *piece, const char *step, const struct cfg_step **sub, char *why,
    size_t len);

/* Days since 1970-01-01 of a YYYY-MM-DD date; -1 when it is not a real
 * date in that form. */
long job_date_days(const char *ymd);

#endif
