/*
 * Job planning against the shipped catalogue (config/services.yaml) and
 * gem table: every service plans for a piece it is meant for; every
 * eligibility rule refuses with the catalogue's own words quoted; every
 * pricing rule sets the price it names, by the piece's history; machine
 * steps refused by policy give way to their substitutes, with the reason;
 * rhodium phases take the piece's current within the bench's limits; bad
 * input is named, and the lists of known names in those messages are
 * never cut inside a name. Gems are taken as a jeweller writes them and
 * the plan records the table's species, with the variety named.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg/cfg.h"
#include "cfg/cfg_catalog.h"
#include "jobs/jobs_plan.h"
#include "test.h"

static struct cfg_services cat;
static struct cfg_tank tank = { 48, 55, 300, 600, 40, 80, true, 60 };
static struct cfg_bath bath = { 48, 3.0, 2.0, 2.0, 2.0, 35, 0.5, 2, 900 };
static int served;              /* what the fake history answers */
static char err[1200];

static int
times_served(void *arg, const char *serial, const char *service)
{
	(void)arg;
	(void)serial;
	(void)service;
	return served;
}

static json_t *
layout(void *arg, json_t *spec, char *e, size_t len, bool *refused)
{
	(void)arg;
	if (json_object_get(spec, "too_long")) {
		*refused = true;
		snprintf(e, len, "the text does not fit");
		return NULL;
	}
	return json_pack("{s:O}", "spec", spec);
}

static const struct job_plan_ctx *
ctx(void)
{
	static struct job_plan_ctx c;
	c = (struct job_plan_ctx){ .services = &cat, .gems = policy_default_gems(), .tank = &tank,
		.bath = &bath, .today = job_date_days("2026-12-02"), .times_served = times_served,
		.engrave_layout = layout };
	return &c;
}

/* Plans a request given as JSON text; NULL on failure with err set. */
static json_t *
plan(const char *text, enum job_plan_status *st)
{
	json_error_t je;
	json_t *params = json_loads(text, 0, &je);
	if (!params) {
		snprintf(err, sizeof err, "test JSON: %s", je.text);
		*st = PLAN_INVALID;
		return NULL;
	}
	struct job_request r;
	json_t *p = NULL;
	if (job_request_from_json(params, &r, err, sizeof err) < 0)
		*st = PLAN_INVALID;
	else
		p = job_plan(ctx(), &r, st, err, sizeof err);
	json_decref(params);
	return p;
}

static const char *
rule_of(const char *service)
{
	const struct cfg_service *s = cfg_service_find(&cat, service);
	return s ? s->rule : "(no such service)";
}

/* Expects a refusal that quotes the service's rule and says why. */
static void
expect_refused(const char *req, const char *service, const char *why)
{
	enum job_plan_status st;
	json_t *p = plan(req, &st);
	CHECK(p == NULL);
	json_decref(p);
	CHECK_INT(st, PLAN_REFUSED);
	CHECK_CONTAINS(err, rule_of(service));
	CHECK_CONTAINS(err, why);
}

static void
expect_invalid(const char *req, const char *why)
{
	enum job_plan_status st;
	json_t *p = plan(req, &st);
	CHECK(p == NULL);
	json_decref(p);
	CHECK_INT(st, PLAN_INVALID);
	CHECK_CONTAINS(err, why);
}

static json_t *
step_named(json_t *p, const char *id)
{
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(p, "steps"), i, s)
		if (strcmp(json_string_value(json_object_get(s, "id")), id) == 0)
			return s;
	return NULL;
}

static const char *
state_of(json_t *p, const char *id)
{
	json_t *s = step_named(p, id);
	return s ? json_string_value(json_object_get(s, "state")) : "(absent)";
}

static double
total(json_t *p)
{
	json_t *t = json_object_get(json_object_get(p, "quote"), "total");
	return json_is_number(t) ? json_number_value(t) : -1;
}

#define PIECE(extra) "{\"operator\": \"marie\", \"piece\": {\"serial\": \"S-1\", " extra "}, "

static void
t_dates(void)
{
	CHECK_INT(job_date_days("1970-01-01"), 0);
	CHECK_INT(job_date_days("2000-03-01"), 11017);
	CHECK_INT(job_date_days("2024-02-29") - job_date_days("2024-02-28"), 1);
	CHECK_INT(job_date_days("2023-02-29"), -1);
	CHECK_INT(job_date_days("2026-13-01"), -1);
	CHECK_INT(job_date_days("2026-1-01"), -1);
	CHECK_INT(job_date_days("tomorrow"), -1);
}

/* Every service of the catalogue plans for a piece it is meant for, with
 * its steps in the catalogue's order. */
static void
t_every_service_plans(void)
{
	for (size_t i = 0; i < cat.n_services; i++) {
		const struct cfg_service *sv = &cat.services[i];
		const struct cfg_eligibility *e = &sv->eligibility;
		char req[800], extra[120] = "";
		const char *type = e->piece_types ? e->piece_types[0] : "pendant";
		if (e->max_change_cm > 0)
			snprintf(extra, sizeof extra, ", \"change_cm\": %g", e->max_change_cm);
		else if (e->max_sizes > 0)
			snprintf(extra, sizeof extra, ", \"sizes\": -%d", e->max_sizes);
		snprintf(req, sizeof req, PIECE("\"type\": \"%s\", \"metal\": \"white_gold\", "
		    "\"gems\": [{\"species\": \"diamond\", \"count\": 2}], \"purchase_date\": "
		    "\"2026-11-20\", \"certificate\": true") "\"services\": [{\"id\": \"%s\"%s}]%s}",
		    type, sv->id, extra, strstr(sv->id, "engraving") ?
		    ", \"engraving\": {\"text\": \"Ana\"}" : "");
		enum job_plan_status st;
		json_t *p = plan(req, &st);
		if (!p)
			fprintf(stderr, "  %s: %s\n", sv->id, err);
		CHECK(p != NULL);
		if (!p)
			continue;
		/* Each catalogue step is there, in order (phases expand a
		 * rhodium step into several, named step.phase). */
		size_t at = 0;
		json_t *steps = json_object_get(p, "steps");
		for (size_t k = 0; sv->steps[k]; k++) {
			size_t len = strlen(sv->steps[k]);
			bool found = false;
			for (; at < json_array_size(steps) && !found; at++) {
				const char *id = json_string_value(json_object_get(json_array_get(steps, at), "id"));
				found = strncmp(id, sv->steps[k], len) == 0 && (id[len] == 0 || id[len] == '.');
			}
			CHECK(found);
		}
		json_decref(p);
	}
}

static void
t_refusals_quote_the_rule(void)
{
	expect_refused(PIECE("\"type\": \"bracelet\", \"collection\": \"LOVE\", \"metal\": "
	    "\"yellow_gold\"") "\"services\": [{\"id\": \"bracelet_resizing\", \"change_cm\": 1}]}",
	    "bracelet_resizing", "LOVE bracelets are not re-sized");
	expect_refused(PIECE("\"type\": \"bangle\", \"metal\": \"yellow_gold\"")
	    "\"services\": [{\"id\": \"bracelet_resizing\", \"change_cm\": 1}]}",
	    "bracelet_resizing", "a bangle is not re-sized");
	expect_refused(PIECE("\"type\": \"ring\", \"metal\": \"platinum\", \"paved\": true")
	    "\"services\": [{\"id\": \"ring_resizing\", \"sizes\": 1}]}",
	    "ring_resizing", "paved pieces are not re-sized");
	expect_refused(PIECE("\"type\": \"ring\", \"metal\": \"platinum\"")
	    "\"services\": [{\"id\": \"ring_resizing\", \"sizes\": 3}]}",
	    "ring_resizing", "ask for the 'reproduction' service instead");
	expect_refused(PIECE("\"type\": \"necklace\", \"metal\": \"platinum\"")
	    "\"services\": [{\"id\": \"necklace_resizing\", \"change_cm\": -4.5}]}",
	    "necklace_resizing", "4.5 cm asked, at most 4 cm");
	expect_refused(PIECE("\"type\": \"bracelet\", \"metal\": \"platinum\"")
	    "\"services\": [{\"id\": \"bracelet_resizing\", \"change_cm\": 2.5}]}",
	    "bracelet_resizing", "2.5 cm asked, at most 2 cm");
	expect_refused(PIECE("\"type\": \"bracelet\", \"metal\": \"platinum\"")
	    "\"services\": [{\"id\": \"ring_resizing\", \"sizes\": 1}]}",
	    "ring_resizing", "it is for a ring, and this piece is a bracelet");
	/* The 3-month window and the certificate. */
	expect_refused(PIECE("\"type\": \"ring\", \"metal\": \"platinum\", \"purchase_date\": "
	    "\"2026-08-01\", \"certificate\": true") "\"services\": [\"engraving\"], "
	    "\"engraving\": {\"text\": \"Ana\"}}", "engraving", "bought 123 days ago, more than 90");
	expect_refused(PIECE("\"type\": \"ring\", \"metal\": \"platinum\", \"purchase_date\": "
	    "\"2026-11-01\"") "\"services\": [\"engraving\"], \"engraving\": {\"text\": \"Ana\"}}",
	    "engraving", "the certificate of authenticity must be presented");
	expect_refused(PIECE("\"type\": \"ring\", \"metal\": \"platinum\", \"purchase_date\": "
	    "\"2026-11-01\", \"certificate\": true") "\"services\": [\"engraving_replacement\"], "
	    "\"engraving\": {\"text\": \"Ana\", \"too_long\": 1}}", "engraving_replacement", "")
	    ;
	/* The layout's own refusal is passed on as it is. */
	CHECK_CONTAINS(err, "the text does not fit");
	/* Exactly at the limits is allowed. */
	enum job_plan_status st;
	json_t *p = plan(PIECE("\"type\": \"ring\", \"metal\": \"platinum\", \"purchase_date\": "
	    "\"2026-09-03\", \"certificate\": true") "\"services\": [\"engraving\"], "
	    "\"engraving\": {\"text\": \"Ana\"}}", &st);
	CHECK(p != NULL);
	json_decref(p);
}

static void
t_pricing_rules(void)
{
	enum job_plan_status st;
	const char *ring = PIECE("\"type\": \"ring\", \"metal\": \"platinum\"")
	    "\"services\": [{\"id\": \"ring_resizing\", \"sizes\": 1}]}";
	served = 0;
	json_t *p = plan(ring, &st);
	CHECK_NEAR(total(p), 0, 1e-9);
	json_t *line = json_array_get(json_object_get(json_object_get(p, "quote"), "lines"), 0);
	CHECK_CONTAINS(json_string_value(json_object_get(line, "rule")), "complimentary the first time");
	json_decref(p);
	served = 1;
	p = plan(ring, &st);
	CHECK_NEAR(total(p), cfg_service_find(&cat, "ring_resizing")->pricing.price, 1e-9);
	CHECK_NEAR(total(p), 190, 1e-9);
	CHECK(json_is_true(json_object_get(json_object_get(p, "quote"), "from")));
	line = json_array_get(json_object_get(json_object_get(p, "quote"), "lines"), 0);
	CHECK_CONTAINS(json_string_value(json_object_get(line, "rule")), "had this service before");
	CHECK(json_object_get(json_object_get(p, "quote"), "history") == NULL);
	json_decref(p);
	/* With a shared history configured, the quote says where it counted
	 * (fleet.h): on the history rule's line and once for the quote. */
	struct job_plan_ctx x = *ctx();
	x.history_scope = "counted from this workshop only: the shared history did not answer "
	    "(PostgreSQL at db:5432: Connection refused)";
	struct job_request r;
	char e[600];
	json_t *params = json_loads(ring, 0, NULL);
	CHECK_INT(job_request_from_json(params, &r, e, sizeof e), 0);
	p = job_plan(&x, &r, &st, e, sizeof e);
	line = json_array_get(json_object_get(json_object_get(p, "quote"), "lines"), 0);
	CHECK_CONTAINS(json_string_value(json_object_get(line, "rule")),
	    "had this service before (1 earlier job); complimentary the first time only; counted "
	    "from this workshop only: the shared history did not answer (PostgreSQL at db:5432");
	CHECK_STR(json_string_value(json_object_get(json_object_get(p, "quote"), "history")),
	    x.history_scope);
	json_decref(p);
	json_decref(params);
	served = 0;
	/* Care services: one price whatever their number, parts on top. */
	p = plan(PIECE("\"type\": \"necklace\", \"metal\": \"yellow_gold\"")
	    "\"services\": [\"polishing\", \"clasp_link_repair\", \"stone_replacement\"]}", &st);
	CHECK_NEAR(total(p), 190, 1e-9);
	CHECK_CONTAINS(json_string_value(json_object_get(json_object_get(p, "quote"), "note")),
	    "invoiced on top");
	json_decref(p);
	p = plan(PIECE("\"type\": \"necklace\", \"metal\": \"yellow_gold\"")
	    "\"services\": [\"polishing\"]}", &st);
	CHECK_NEAR(total(p), 190, 1e-9);
	json_decref(p);
	/* Estimates leave no total. */
	p = plan(PIECE("\"type\": \"ring\", \"metal\": \"yellow_gold\"")
	    "\"services\": [\"restoration\", \"shining\"]}", &st);
	CHECK(p != NULL);
	CHECK(json_is_null(json_object_get(json_object_get(p, "quote"), "total")));
	CHECK(json_is_true(json_object_get(json_object_get(p, "quote"), "estimate")));
	json_decref(p);
	/* Complimentary services cost nothing, together too. */
	p = plan(PIECE("\"type\": \"necklace\", \"metal\": \"yellow_gold\"")
	    "\"services\": [\"shining\", \"cord_replacement\"]}", &st);
	CHECK_NEAR(total(p), 0, 1e-9);
	json_decref(p);
}

static void
t_substitutions(void)
{
	enum job_plan_status st;
	/* An emerald: no tank, no acid bath; the manual ways instead. */
	json_t *p = plan(PIECE("\"type\": \"ring\", \"metal\": \"platinum\", \"gems\": "
	    "[{\"species\": \"emerald\", \"treatment\": \"oiled\"}]")
	    "\"services\": [{\"id\": \"ring_resizing\", \"sizes\": 1}]}", &st);
	CHECK(p != NULL);
	CHECK_STR(state_of(p, "clean"), "substituted");
	CHECK_STR(state_of(p, "manual_clean"), "pending");
	CHECK_STR(state_of(p, "rhodium_plate"), "substituted");
	CHECK_STR(state_of(p, "rhodium_pen"), "pending");
	CHECK_STR(state_of(p, "rhodium_strip_manual"), "pending");
	json_t *subs = json_object_get(p, "substitutions");
	CHECK_INT(json_array_size(subs), 3);
	const char *why = json_string_value(json_object_get(step_named(p, "clean"), "reason"));
	CHECK_CONTAINS(why, "ultrasonic cleaning refused: emerald (oiled)");
	CHECK_CONTAINS(why, "instead: manual clean in lukewarm soapy water");
	json_decref(p);
	/* A pearl among diamonds: the whole piece stays out of the tank. */
	p = plan(PIECE("\"type\": \"pendant\", \"metal\": \"yellow_gold\", \"gems\": "
	    "[{\"species\": \"diamond\", \"count\": 12}, {\"species\": \"pearl\"}]")
	    "\"services\": [\"shining\"]}", &st);
	CHECK_STR(state_of(p, "clean"), "substituted");
	CHECK_CONTAINS(json_string_value(json_object_get(step_named(p, "clean"), "reason")), "pearl");
	json_decref(p);
	/* Yellow gold takes no rhodium: skipped, with the reason. */
	p = plan(PIECE("\"type\": \"ring\", \"metal\": \"yellow_gold\", \"gems\": "
	    "[{\"species\": \"diamond\"}]") "\"services\": [{\"id\": \"ring_resizing\", \"sizes\": 2}]}",
	    &st);
	CHECK_STR(state_of(p, "rhodium_strip"), "skipped");
	CHECK_STR(state_of(p, "rhodium_plate"), "skipped");
	CHECK_CONTAINS(json_string_value(json_object_get(step_named(p, "rhodium_plate"), "reason")),
	    "not yellow gold");
	CHECK_STR(state_of(p, "clean"), "pending");
	json_decref(p);
}

static void
t_rhodium_phases(void)
{
	enum job_plan_status st;
	json_t *p = plan(PIECE("\"type\": \"necklace\", \"metal\": \"white_gold\", \"gems\": "
	    "[{\"species\": \"diamond\"}]") "\"services\": [{\"id\": \"necklace_resizing\", "
	    "\"change_cm\": -2}]}", &st);
	CHECK(p != NULL);
	const struct cfg_piece_type *pt = cfg_piece_type_find(&cat, "necklace");
	json_t *plate = json_object_get(step_named(p, "rhodium_plate.plate"), "params");
	CHECK_NEAR(json_number_value(json_object_get(plate, "amps")), pt->area_dm2 *
	    bath.current_density, 1e-3);
	CHECK_NEAR(json_number_value(json_object_get(plate, "volts")), fmin(pt->plate_volts,
	    bath.max_voltage), 1e-9);
	/* The recipe's 4 V electroclean is held to the bench's 3 V, and said. */
	json_t *ec = json_object_get(step_named(p, "rhodium_plate.electroclean"), "params");
	CHECK_NEAR(json_number_value(json_object_get(ec, "volts")), bath.max_voltage, 1e-9);
	CHECK_CONTAINS(json_string_value(json_array_get(json_object_get(p, "warnings"), 0)),
	    "the bench's limit");
	CHECK_STR(json_string_value(json_object_get(step_named(p, "rhodium_plate.activate"), "kind")),
	    "manual");
	CHECK_STR(json_string_value(json_object_get(step_named(p, "rhodium_plate.plate"), "station")),
	    "bath");
	/* Strip comes before polishing, plating after cleaning. */
	json_t *steps = json_object_get(p, "steps");
	int strip = -1, polish = -1, clean = -1, pl = -1;
	for (size_t i = 0; i < json_array_size(steps); i++) {
		const char *id = json_string_value(json_object_get(json_array_get(steps, i), "id"));
		if (strcmp(id, "rhodium_strip.strip") == 0) strip = (int)i;
		if (strcmp(id, "polish") == 0) polish = (int)i;
		if (strcmp(id, "clean") == 0) clean = (int)i;
		if (strcmp(id, "rhodium_plate.plate") == 0) pl = (int)i;
	}
	CHECK(strip >= 0 && strip < polish && polish < clean && clean < pl);
	json_decref(p);
	/* A large surface: the current is capped at the bench's limit. */
	p = plan(PIECE("\"type\": \"necklace\", \"metal\": \"white_gold\", \"surface_dm2\": 5")
	    "\"services\": [{\"id\": \"necklace_resizing\", \"change_cm\": 1}]}", &st);
	plate = json_object_get(step_named(p, "rhodium_plate.plate"), "params");
	CHECK_NEAR(json_number_value(json_object_get(plate, "amps")), bath.max_current, 1e-9);
	json_decref(p);
}

/* Two services keep both orders: the ring is engraved after diagnosis,
 * cleaned once, after polishing. */
static void
t_merged_services(void)
{
	enum job_plan_status st;
	json_t *p = plan(PIECE("\"type\": \"ring\", \"metal\": \"yellow_gold\", \"purchase_date\": "
	    "\"2026-11-20\", \"certificate\": true") "\"services\": [\"engraving\", "
	    "{\"id\": \"ring_resizing\", \"sizes\": 1}], \"engraving\": {\"text\": \"Ana\"}}", &st);
	CHECK(p != NULL);
	int n_clean = 0, n_diag = 0;
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(p, "steps"), i, s) {
		const char *id = json_string_value(json_object_get(s, "id"));
		n_clean += strcmp(id, "clean") == 0;
		n_diag += strcmp(id, "diagnosis") == 0;
	}
	CHECK_INT(n_clean, 1);
	CHECK_INT(n_diag, 1);
	CHECK_STR(json_string_value(json_object_get(json_array_get(json_object_get(p, "steps"), 0),
	    "id")), "diagnosis");
	json_decref(p);
}

static void
t_bad_input(void)
{
	expect_invalid(PIECE("\"type\": \"ring\", \"metal\": \"platinum\"")
	    "\"services\": [\"gilding\"]}", "unknown service 'gilding'");
	expect_invalid(PIECE("\"type\": \"ring\", \"metal\": \"tin\"") "\"services\": [\"shining\"]}",
	    "unknown metal 'tin'");
	expect_invalid(PIECE("\"type\": \"tiara\", \"metal\": \"platinum\"")
	    "\"services\": [\"shining\"]}", "unknown piece type 'tiara'");
	expect_invalid(PIECE("\"type\": \"ring\", \"metal\": \"platinum\", \"gems\": "
	    "[{\"species\": \"kryptonite\"}]") "\"services\": [\"shining\"]}", "kryptonite");
	expect_invalid(PIECE("\"type\": \"ring\", \"metal\": \"platinum\", \"gems\": "
	    "[{\"species\": \"diamond\", \"count\": -2}]") "\"services\": [\"shining\"]}",
	    "piece.gems[0].count must be a whole number from 1");
	expect_invalid(PIECE("\"type\": \"ring\", \"metal\": \"platinum\"")
	    "\"services\": [{\"id\": \"ring_resizing\", \"sizes\": 40}]}", "services[0].sizes");
	expect_invalid(PIECE("\"type\": \"ring\", \"metal\": \"platinum\"")
	    "\"services\": [{\"id\": \"ring_resizing\", \"sizes\": 1.5}]}", "services[0].sizes");
	expect_invalid(PIECE("\"type\": \"ring\", \"metal\": \"platinum\"")
	    "\"services\": [\"ring_resizing\"]}", "needs the number of sizes");
	expect_invalid(PIECE("\"type\": \"ring\", \"metal\": \"platinum\"")
	    "\"services\": [{\"id\": \"shining\", \"change_cm\": 2}]}", "does not take a change");
	expect_invalid(PIECE("\"type\": \"ring\", \"metal\": \"platinum\", \"purchase_date\": "
	    "\"2027-01-05\"") "\"services\": [\"shining\"]}", "is in the future");
	expect_invalid(PIECE("\"type\": \"ring\", \"metal\": \"platinum\", \"purchase_date\": "
	    "\"2026-02-30\"") "\"services\": [\"shining\"]}", "is not a date");
	expect_invalid(PIECE("\"type\": \"ring\", \"metal\": \"platinum\"")
	    "\"services\": [\"shining\", \"shining\"]}", "asked for twice");
	expect_invalid(PIECE("\"type\": \"ring\", \"metal\": \"platinum\", \"colour\": \"red\"")
	    "\"services\": [\"shining\"]}", "unknown field 'colour'");
	expect_invalid(PIECE("\"type\": \"ring\", \"metal\": \"platinum\"")
	    "\"services\": [\"shining\"], \"engraving\": {\"text\": \"A\"}}",
	    "no service asked for engraves");
	expect_invalid(PIECE("\"type\": \"ring\", \"metal\": \"platinum\", \"purchase_date\": "
	    "\"2026-11-20\", \"certificate\": true") "\"services\": [\"engraving\"]}",
	    "needs 'engraving'");
	expect_invalid("{\"piece\": {\"serial\": \"S 1\", \"type\": \"ring\", \"metal\": \"platinum\"},"
	    " \"services\": [\"shining\"], \"operator\": \"marie\"}", "piece.serial 'S 1'");
	expect_invalid("{\"piece\": {\"serial\": \"S1\", \"type\": \"ring\", \"metal\": \"platinum\"},"
	    " \"services\": [\"shining\"]}", "'operator'");
	expect_invalid("{\"piece\": {\"serial\": \"S1\", \"type\": \"ring\", \"metal\": \"platinum\"},"
	    " \"services\": [], \"operator\": \"marie\"}", "'services' must be a list of 1");
	expect_invalid("[1, 2]", "must be an object");
}

/* Issue 19: "sizes": -9223372036854775808 reached llabs(INT64_MIN),
 * undefined, and aborted the sanitised build. Every integer of a request
 * at the ends of its type is refused by comparison, never negated. */
static void
t_integers_at_their_limits(void)
{
	static const char *const huge[] = { "-9223372036854775808", "9223372036854775807",
		"-21", "21" };
	for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
		char req[400];
		snprintf(req, sizeof req, PIECE("\"type\": \"ring\", \"metal\": \"platinum\"")
		    "\"services\": [{\"id\": \"ring_resizing\", \"sizes\": %s}]}", huge[i]);
		expect_invalid(req, "services[0].sizes must be a whole number of sizes other than 0, "
		    "at most 20 either way");
		if (i >= 2)
			continue;       /* 21 stones is a count */
		snprintf(req, sizeof req, PIECE("\"type\": \"ring\", \"metal\": \"platinum\", "
		    "\"gems\": [{\"species\": \"diamond\", \"count\": %s}]") "\"services\": "
		    "[\"shining\"]}", huge[i]);
		expect_invalid(req, "piece.gems[0].count must be a whole number from 1 to 10000");
	}
	/* -20 is a size change the reader takes; the catalogue then refuses. */
	enum job_plan_status st;
	json_t *p = plan(PIECE("\"type\": \"ring\", \"metal\": \"platinum\"")
	    "\"services\": [{\"id\": \"ring_resizing\", \"sizes\": -20}]}", &st);
	CHECK(p == NULL);
	CHECK_INT(st, PLAN_REFUSED);
	CHECK_CONTAINS(err, "20 sizes asked, at most 2");
	expect_invalid(PIECE("\"type\": \"necklace\", \"metal\": \"platinum\"")
	    "\"services\": [{\"id\": \"necklace_resizing\", \"change_cm\": -1e308}]}",
	    "services[0].change_cm must be a change in length other than 0");
	expect_invalid(PIECE("\"type\": \"ring\", \"metal\": \"platinum\", \"surface_dm2\": "
	    "-9223372036854775808") "\"services\": [\"shining\"]}", "piece.surface_dm2");
	expect_invalid(PIECE("\"type\": \"ring\", \"metal\": \"platinum\"")
	    "\"services\": [\"shining\"], \"supersede_gems\": \"yes\"}",
	    "'supersede_gems' must be true or false");
}

/* A step judged again for a piece whose gems changed, as planning does. */
static void
t_step_judge(void)
{
	struct policy_gem pearl = { "pearl", NULL, 1 }, diamond = { "diamond", "none", 2 };
	struct policy_gem emerald = { "emerald", "oiled", 1 };
	struct policy_piece p = { "white_gold", &pearl, 1, false, false };
	const struct cfg_step *sub;
	char why[600];
	CHECK_INT(job_step_judge(&cat, policy_default_gems(), &p, "clean", &sub, why, sizeof why), 1);
	CHECK_STR(sub ? sub->id : NULL, "manual_clean");
	CHECK_CONTAINS(why, "ultrasonic cleaning refused: pearl (never)");
	CHECK_CONTAINS(why, "; instead: manual clean in lukewarm soapy water");
	p.gems = &emerald;
	CHECK_INT(job_step_judge(&cat, policy_default_gems(), &p, "rhodium_plate.plate", &sub, why,
	    sizeof why), 1);
	CHECK_STR(sub ? sub->id : NULL, "rhodium_pen");
	CHECK_INT(job_step_judge(&cat, policy_default_gems(), &p, "rhodium_plate.rinse", &sub, why,
	    sizeof why), 1);
	/* Engraving near a never-list stone has nothing to replace it. */
	p.gems = &pearl;
	CHECK_INT(job_step_judge(&cat, policy_default_gems(), &p, "engrave", &sub, why, sizeof why), 2);
	CHECK(sub == NULL);
	CHECK_CONTAINS(why, "laser engraving refused: pearl");
	p.gems = &diamond;
	CHECK_INT(job_step_judge(&cat, policy_default_gems(), &p, "clean", &sub, why, sizeof why), 0);
	CHECK_INT(job_step_judge(&cat, policy_default_gems(), &p, "diagnosis", &sub, why, sizeof why), 0);
	CHECK_STR(why, "");
}

static json_t *
gem_at(json_t *p, size_t i)
{
	return json_array_get(json_object_get(json_object_get(p, "piece"), "gems"), i);
}

/* Issue 12: gem names in any case and spacing, trade and variety names;
 * the plan records the table's species and treatments. */
static void
t_gems_as_written(void)
{
	enum job_plan_status st;
	json_t *p = plan(PIECE("\"type\": \"ring\", \"metal\": \"platinum\", \"gems\": "
	    "[{\"species\": \" Akoya \", \"count\": 2}, {\"species\": \"Jadeite Type B\"}, "
	    "{\"species\": \"EMERALD\", \"treatment\": \"Oiled\"}, {\"species\": \"South Sea\", "
	    "\"treatment\": \"none\"}, {\"species\": \"Tsavorite\"}]")
	    "\"services\": [\"shining\"]}", &st);
	CHECK(p != NULL);
	if (!p) {
		printf("  %s\n", err);
		return;
	}
	static const char *const want[][4] = {
		{ "pearl", "none", "akoya", "2" },
		{ "jade", "bleached+polymer", "jadeite type b", "1" },
		{ "emerald", "oiled", NULL, "1" },
		{ "pearl", "none", "south sea", "1" },
		{ "garnet", "none", "tsavorite", "1" },
	};
	for (size_t i = 0; i < 5; i++) {
		json_t *g = gem_at(p, i);
		CHECK_STR(json_string_value(json_object_get(g, "species")), want[i][0]);
		CHECK_STR(json_string_value(json_object_get(g, "treatment")), want[i][1]);
		if (want[i][2])
			CHECK_STR(json_string_value(json_object_get(g, "variety")), want[i][2]);
		else
			CHECK(json_object_get(g, "variety") == NULL);
		CHECK_INT(json_integer_value(json_object_get(g, "count")), atoi(want[i][3]));
	}
	CHECK_STR(state_of(p, "clean"), "substituted");
	CHECK_CONTAINS(json_string_value(json_object_get(step_named(p, "clean"), "reason")),
	    "ultrasonic cleaning refused: pearl");
	json_decref(p);
	/* Resolving a resolved request changes nothing (the journal's form). */
	json_t *params = json_loads(PIECE("\"type\": \"ring\", \"metal\": \"platinum\", "
	    "\"gems\": [{\"species\": \"Jadeite Type B\"}]") "\"services\": [\"shining\"]}", 0,
	    NULL);
	static struct job_request r;
	CHECK_INT(job_request_from_json(params, &r, err, sizeof err), 0);
	CHECK_INT(job_request_resolve_gems(policy_default_gems(), &r, err, sizeof err), 0);
	CHECK_INT(job_request_resolve_gems(policy_default_gems(), &r, err, sizeof err), 0);
	CHECK_STR(r.gems[0].species, "jade");
	CHECK_STR(r.gems[0].treatment, "bleached+polymer");
	CHECK_STR(r.varieties[0], "jadeite type b");
	json_decref(params);
	/* Unknown: refused, with the nearest names. */
	expect_invalid(PIECE("\"type\": \"ring\", \"metal\": \"platinum\", \"gems\": "
	    "[{\"species\": \"diamond\"}, {\"species\": \"emrald\"}]") "\"services\": [\"shining\"]}",
	    "piece.gems[1]: unknown gem 'emrald': did you mean emerald?");
	expect_invalid(PIECE("\"type\": \"ring\", \"metal\": \"platinum\", \"gems\": "
	    "[{\"species\": \"ruby\", \"treatment\": \"heated\"}]") "\"services\": [\"shining\"]}",
	    "piece.gems[0]: unknown treatment 'heated' of ruby: did you mean heat");
	/* A species known, with no entry for the treatment: still refused. */
	expect_invalid(PIECE("\"type\": \"ring\", \"metal\": \"platinum\", \"gems\": "
	    "[{\"species\": \"Zircon\"}]") "\"services\": [\"shining\"]}",
	    "piece.gems[0]: unknown gem zircon: this gem, with this treatment, is not in the gem list");
}

/* Plans against a catalogue with err of len bytes, as the daemon's
 * engine does (600). */
static void
plan_with(const struct cfg_services *c, const char *text, char *e, size_t len)
{
	json_t *params = json_loads(text, 0, NULL);
	static struct job_request r;
	struct job_plan_ctx x = *ctx();
	x.services = c;
	enum job_plan_status st;
	CHECK_INT(job_request_from_json(params, &r, e, len), 0);
	json_t *p = job_plan(&x, &r, &st, e, len);
	CHECK(p == NULL);
	CHECK_INT(st, PLAN_INVALID);
	json_decref(p);
	json_decref(params);
}

/* Issue 12: "job plan --service x" listed the known services and stopped
 * at "restorati". Every list of known names ends with a whole name, or
 * with "and N more" when the catalogue is too long for the message. */
static void
t_lists_of_names_whole(void)
{
	char e[600];
	plan_with(&cat, PIECE("\"type\": \"ring\", \"metal\": \"platinum\"")
	    "\"services\": [\"x\"]}", e, sizeof e);
	CHECK_CONTAINS(e, "unknown service 'x' (known: engraving, ");
	CHECK_CONTAINS(e, ", restoration, pairing, reproduction)");
	/* A catalogue of 80 services, 60 metals and 60 piece types. */
	static struct cfg_service many[80];
	static struct cfg_piece_type types[60];
	static char ids[80][48], metals_text[60][40];
	static char *metals[61];
	struct cfg_services big = cat;
	for (size_t i = 0; i < 80; i++) {
		snprintf(ids[i], sizeof ids[i], "an_after_sales_service_number_%zu", i);
		many[i] = cat.services[0];
		many[i].id = ids[i];
	}
	for (size_t i = 0; i < 60; i++) {
		snprintf(metals_text[i], sizeof metals_text[i], "an_alloy_of_gold_number_%zu", i);
		metals[i] = metals_text[i];
		types[i] = cat.pieces[0];
		types[i].type = metals_text[i];
	}
	big.services = many;
	big.n_services = 80;
	plan_with(&big, PIECE("\"type\": \"ring\", \"metal\": \"platinum\"")
	    "\"services\": [\"x\"]}", e, sizeof e);
	CHECK_CONTAINS(e, "unknown service 'x' (known: an_after_sales_service_number_0, ");
	CHECK(strlen(e) < sizeof e - 1);
	size_t n = strlen(e);
	CHECK(n > 10 && strcmp(e + n - 6, " more)") == 0);
	CHECK(strstr(e, "_number_9, an") || strstr(e, "and 7"));
	big.metals = metals;
	plan_with(&big, PIECE("\"type\": \"ring\", \"metal\": \"tin\"")
	    "\"services\": [\"shining\"]}", e, sizeof e);
	n = strlen(e);
	CHECK_CONTAINS(e, "unknown metal 'tin' (known: an_alloy_of_gold_number_0, ");
	CHECK(n > 10 && strcmp(e + n - 6, " more)") == 0);
	big.pieces = types;
	big.n_pieces = 60;
	plan_with(&big, PIECE("\"type\": \"tiara\", \"metal\": \"tin\"")
	    "\"services\": [\"shining\"]}", e, sizeof e);
	n = strlen(e);
	CHECK_CONTAINS(e, "unknown piece type 'tiara' (known: an_alloy_of_gold_number_0, ");
	CHECK(n > 10 && strcmp(e + n - 6, " more)") == 0);
}

int
main(void)
{
	struct cfg_errors e = { 0 };
	if (cfg_services_load("config/services.yaml", &cat, &e) < 0) {
		for (size_t i = 0; i < e.n; i++)
			fprintf(stderr, "%s\n", e.msgs[i]);
		return 1;
	}
	RUN(t_dates);
	RUN(t_every_service_plans);
	RUN(t_refusals_quote_the_rule);
	RUN(t_pricing_rules);
	RUN(t_substitutions);
	RUN(t_rhodium_phases);
	RUN(t_merged_services);
	RUN(t_bad_input);
	RUN(t_integers_at_their_limits);
	RUN(t_step_judge);
	RUN(t_gems_as_written);
	RUN(t_lists_of_names_whole);
	cfg_services_release(&cat);
	cfg_errors_free(&e);
	return test_summary();
}
