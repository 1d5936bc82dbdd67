/*
 * Job planning (see jobs_plan.h). The order of work: read and check the
 * request (every field named in its error), check each service's
 * eligibility against the catalogue (refusals quote the rule), merge the
 * services' steps into one sequence, judge each machine step by policy
 * (a refused step gives way to its substitute, a step for other metals is
 * skipped), expand rhodium steps into their phases with the bench's
 * limits, then price the job.
 */
#include "jobs/jobs_plan.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

long
job_date_days(const char *s)
{
	int y, m, d, n = 0;
	if (!s || strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10 ||
	    s[4] != '-' || s[7] != '-' || !isdigit((unsigned char)s[0]) ||
	    !isdigit((unsigned char)s[5]) || !isdigit((unsigned char)s[8]))
		return -1;
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (y < 1900 || y > 9999 || m < 1 || m > 12 || d < 1 ||
	    d > mdays[m - 1] + (m == 2 && leap))
		return -1;
	/* Days from civil (H. Hinnant's algorithm), proleptic Gregorian. */
	y -= m <= 2;
	long era = y / 400;
	long yoe = y - era * 400;
	long doy = (153L * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* --- reading the request -------------------------------------------- */

static const char *
str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* A short printable text: serial numbers, names. */
static bool
plain_text(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

static int
known_keys(json_t *o, const char *where, const char *const *keys, char *err, size_t len)
{
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v) {
		size_t i;
		for (i = 0; keys[i] && strcmp(keys[i], k) != 0; i++)
			;
		if (!keys[i])
			return fail_msg(err, len, "%s: unknown field '%.40s'", where, k);
	}
	return 0;
}

static int
read_piece(json_t *p, struct job_request *r, char *err, size_t len)
{
	static const char *const keys[] = { "serial", "type", "collection", "metal", "paved",
		"gems", "purchase_date", "certificate", "surface_dm2", NULL };
	if (!json_is_object(p))
		return fail_msg(err, len, "'piece' (serial, type, metal, gems...) is required");
	if (known_keys(p, "piece", keys, err, len) < 0)
		return -1;
	r->serial = str(p, "serial");
	r->type = str(p, "type");
	r->metal = str(p, "metal");
	r->collection = str(p, "collection");
	r->purchase_date = str(p, "purchase_date");
	if (!r->serial || !plain_text(r->serial, 64))
		return fail_msg(err, len, "piece.serial (the serial number, 1 to 64 characters) is required");
	for (const char *c = r->serial; *c; c++)
		if (!isalnum((unsigned char)*c) && !strchr("-_./", *c))
			return fail_msg(err, len, "piece.serial '%.64s': only letters, digits and - _ . / "
			    "may be used", r->serial);
	if (!r->type || !plain_text(r->type, 64))
		return fail_msg(err, len, "piece.type (ring, bracelet, necklace...: a name of 1 to 64 "
		    "characters) is required");
	if (!r->metal || !plain_text(r->metal, 64))
		return fail_msg(err, len, "piece.metal (white_gold, platinum...: a name of 1 to 64 "
		    "characters) is required");
	if (json_object_get(p, "collection") && (!r->collection || !plain_text(r->collection, 64)))
		return fail_msg(err, len, "piece.collection must be a name of 1 to 64 characters");
	json_t *v = json_object_get(p, "paved");
	if (v && !json_is_boolean(v))
		return fail_msg(err, len, "piece.paved must be true or false");
	r->paved = json_is_true(v);
	v = json_object_get(p, "certificate");
	if (v && !json_is_boolean(v))
		return fail_msg(err, len, "piece.certificate must be true or false");
	r->certificate = json_is_true(v);
	if (json_object_get(p, "purchase_date") && !r->purchase_date)
		return fail_msg(err, len, "piece.purchase_date must be a date YYYY-MM-DD");
	v = json_object_get(p, "surface_dm2");
	if (v) {
		if (!json_is_number(v) || json_number_value(v) < 0.001 || json_number_value(v) > 10)
			return fail_msg(err, len, "piece.surface_dm2 must be a number of 0.001 to 10 dm2");
		r->surface_dm2 = json_number_value(v);
	}
	json_t *gems = json_object_get(p, "gems");
	if (gems && !json_is_array(gems))
		return fail_msg(err, len, "piece.gems must be a list of {species, treatment, count}");
	if (json_array_size(gems) > JOB_MAX_GEMS)
		return fail_msg(err, len, "piece.gems: at most %d entries", JOB_MAX_GEMS);
	size_t i;
	json_t *g;
	json_array_foreach(gems, i, g) {
		static const char *const gkeys[] = { "species", "treatment", "count", NULL };
		char where[48];
		snprintf(where, sizeof where, "piece.gems[%zu]", i);
		if (!json_is_object(g))
			return fail_msg(err, len, "%s must be an object {species, treatment, count}", where);
		if (known_keys(g, where, gkeys, err, len) < 0)
			return -1;
		struct policy_gem *pg = &r->gems[i];
		pg->species = str(g, "species");
		pg->treatment = str(g, "treatment");
		if (!pg->species || !plain_text(pg->species, 40))
			return fail_msg(err, len, "%s.species is required", where);
		if (json_object_get(g, "treatment") && (!pg->treatment || !plain_text(pg->treatment, 40)))
			return fail_msg(err, len, "%s.treatment must be a name", where);
		json_t *c = json_object_get(g, "count");
		if (c && (!json_is_integer(c) || json_integer_value(c) < 1 ||
		    json_integer_value(c) > 10000))
			return fail_msg(err, len, "%s.count must be a whole number from 1 to 10000", where);
		pg->count = c ? (int)json_integer_value(c) : 1;
	}
	r->n_gems = json_array_size(gems);
	return 0;
}

int
job_request_resolve_gems(const struct cfg_gems *g, struct job_request *r, char *err, size_t len)
{
	for (size_t i = 0; i < r->n_gems; i++) {
		struct policy_gem_name n;
		char why[400];
		if (policy_gem_resolve(g, r->gems[i].species, r->gems[i].treatment, &n, why,
		    sizeof why) < 0)
			return fail_msg(err, len, "piece.gems[%zu]: %s", i, why);
		r->gems[i].species = n.species;
		snprintf(r->treatments[i], sizeof r->treatments[i], "%s", n.treatment);
		r->gems[i].treatment = r->treatments[i];
		/* Resolving twice keeps the variety found the first time. */
		if (n.variety || !r->varieties[i])
			r->varieties[i] = n.variety;
	}
	return 0;
}

int
job_request_from_json(json_t *params, struct job_request *r, char *err, size_t len)
{
	static const char *const keys[] = { "piece", "services", "engraving", "operator", "note",
		"supersede_gems", NULL };
	memset(r, 0, sizeof *r);
	if (!json_is_object(params))
		return fail_msg(err, len, "the request must be an object {piece, services, operator...}");
	if (known_keys(params, "the job", keys, err, len) < 0 ||
	    read_piece(json_object_get(params, "piece"), r, err, len) < 0)
		return -1;
	json_t *sv = json_object_get(params, "services");
	if (!json_is_array(sv) || json_array_size(sv) == 0 || json_array_size(sv) > JOB_MAX_SERVICES)
		return fail_msg(err, len, "'services' must be a list of 1 to %d services", JOB_MAX_SERVICES);
	size_t i;
	json_t *s;
	json_array_foreach(sv, i, s) {
		struct job_service_req *q = &r->services[i];
		if (json_is_string(s)) {
			q->id = json_string_value(s);
		} else if (json_is_object(s)) {
			static const char *const skeys[] = { "id", "change_cm", "sizes", NULL };
			char where[48];
			snprintf(where, sizeof where, "services[%zu]", i);
			if (known_keys(s, where, skeys, err, len) < 0)
				return -1;
			q->id = str(s, "id");
			json_t *c = json_object_get(s, "change_cm");
			if (c && (!json_is_number(c) || json_number_value(c) == 0 ||
			    fabs(json_number_value(c)) > 50))
				return fail_msg(err, len, "%s.change_cm must be a change in length other than "
				    "0, at most 50 cm either way", where);
			q->change_cm = c ? json_number_value(c) : 0;
			/* Compared, never negated: -INT64_MIN does not exist. */
			c = json_object_get(s, "sizes");
			if (c && (!json_is_integer(c) || json_integer_value(c) == 0 ||
			    json_integer_value(c) < -20 || json_integer_value(c) > 20))
				return fail_msg(err, len, "%s.sizes must be a whole number of sizes other than "
				    "0, at most 20 either way", where);
			q->sizes = c ? (int)json_integer_value(c) : 0;
		}
		if (!q->id || !plain_text(q->id, 64))
			return fail_msg(err, len, "services[%zu] must be a service id or {id, ...}", i);
		for (size_t k = 0; k < i; k++)
			if (strcmp(r->services[k].id, q->id) == 0)
				return fail_msg(err, len, "service '%s' is asked for twice", q->id);
	}
	r->n_services = json_array_size(sv);
	r->engraving = json_object_get(params, "engraving");
	if (r->engraving && !json_is_object(r->engraving))
		return fail_msg(err, len, "'engraving' must be an object (text or design, and the area)");
	r->operator_ = str(params, "operator");
	if (!r->operator_ || !plain_text(r->operator_, 64))
		return fail_msg(err, len, "'operator' (who takes the job in) is required");
	r->note = str(params, "note");
	if (json_object_get(params, "note") && (!r->note || strlen(r->note) > 1000))
		return fail_msg(err, len, "'note' must be a text of at most 1000 characters");
	json_t *v = json_object_get(params, "supersede_gems");
	if (v && !json_is_boolean(v))
		return fail_msg(err, len, "'supersede_gems' must be true or false");
	r->supersede_gems = json_is_true(v);
	return 0;
}

/* --- eligibility ------------------------------------------------------ */

static bool
in_list(char **l, const char *s, bool nocase)
{
	for (size_t i = 0; l && l[i]; i++)
		if (nocase ? strcasecmp(l[i], s) == 0 : strcmp(l[i], s) == 0)
			return true;
	return false;
}

/* A list in a message: whole names, "and N more" for those that do not
 * fit, never one cut in the middle. */
static void
list_text(char **l, char *out, size_t len)
{
	size_t n = 0;
	while (l && l[n])
		n++;
	str_join_fit(out, len, (const char *const *)l, n);
}

static int
refuse(enum job_plan_status *st, const struct cfg_service *sv, char *err, size_t len,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* A refusal: why, then the catalogue's rule in its own words. */
static int
refuse(enum job_plan_status *st, const struct cfg_service *sv, char *err, size_t len,
    const char *fmt, ...)
{
	va_list ap;
	char why[400];
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	*st = PLAN_REFUSED;
	snprintf(err, len, "%s refused: %s. Rule: \"%s\"", sv->title, why, sv->rule);
	return -1;
}

static int
invalid(enum job_plan_status *st, char *err, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
invalid(enum job_plan_status *st, char *err, size_t len, const char *fmt, ...)
{
	va_list ap;
	*st = PLAN_INVALID;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -1;
}

static int
check_eligibility(const struct job_plan_ctx *ctx, const struct job_request *r,
    const struct cfg_service *sv, const struct job_service_req *q, enum job_plan_status *st,
    char *err, size_t len)
{
	const struct cfg_eligibility *e = &sv->eligibility;
	if (in_list(e->refuse_types, r->type, true))
		return refuse(st, sv, err, len, "a %s is not re-sized", r->type);
	if (e->piece_types && !in_list(e->piece_types, r->type, true)) {
		char l[120];
		list_text(e->piece_types, l, sizeof l);
		return refuse(st, sv, err, len, "it is for a %s, and this piece is a %s", l, r->type);
	}
	if (r->collection && in_list(e->refuse_collections, r->collection, true))
		return refuse(st, sv, err, len, "%s %ss are not re-sized", r->collection, r->type);
	if (e->refuse_paved && r->paved)
		return refuse(st, sv, err, len, "paved pieces are not re-sized");
	if (e->max_change_cm > 0) {
		if (q->change_cm == 0)
			return invalid(st, err, len, "%s needs the change in length: services[] "
			    "{\"id\": \"%s\", \"change_cm\": N}", sv->title, sv->id);
		if (fabs(q->change_cm) > e->max_change_cm + 1e-9)
			return refuse(st, sv, err, len, "%g cm asked, at most %g cm longer or shorter",
			    fabs(q->change_cm), e->max_change_cm);
	} else if (q->change_cm != 0) {
		return invalid(st, err, len, "%s does not take a change in length", sv->title);
	}
	if (e->max_sizes > 0) {
		if (q->sizes == 0)
			return invalid(st, err, len, "%s needs the number of sizes: services[] "
			    "{\"id\": \"%s\", \"sizes\": N}", sv->title, sv->id);
		if (abs(q->sizes) > e->max_sizes)
			return refuse(st, sv, err, len, "%d sizes asked, at most %d%s%s%s", abs(q->sizes),
			    e->max_sizes, e->beyond ? "; ask for the '" : "", e->beyond ? e->beyond : "",
			    e->beyond ? "' service instead" : "");
	} else if (q->sizes != 0) {
		return invalid(st, err, len, "%s does not take a number of sizes", sv->title);
	}
	if (e->within_days > 0) {
		if (!r->purchase_date)
			return invalid(st, err, len, "%s needs piece.purchase_date (YYYY-MM-DD)", sv->title);
		long days = ctx->today - job_date_days(r->purchase_date);
		if (days > e->within_days)
			return refuse(st, sv, err, len, "the piece was bought %ld days ago, more than "
			    "%d days", days, e->within_days);
		if (e->certificate_required && !r->certificate)
			return refuse(st, sv, err, len, "the certificate of authenticity must be "
			    "presented");
	}
	return 0;
}

/* --- steps ------------------------------------------------------------ */

/* Merges the services' step lists into one sequence that keeps every
 * service's own order, each step once; ties go to the step named first.
 * A cycle (two services ordering two steps both ways) cannot keep both:
 * the rest follows in first-named order. */
static size_t
merge_steps(const struct cfg_services *cat, const struct job_request *r, const char **out,
    size_t max)
{
	const char *names[64];
	size_t n = 0;
	bool before[64][64];
	memset(before, 0, sizeof before);
	for (size_t s = 0; s < r->n_services; s++) {
		const struct cfg_service *sv = cfg_service_find(cat, r->services[s].id);
		int prev = -1;
		for (size_t k = 0; sv->steps && sv->steps[k]; k++) {
			size_t i;
			for (i = 0; i < n && strcmp(names[i], sv->steps[k]) != 0; i++)
				;
			if (i == n) {
				if (n == ARRAY_LEN(names))
					break;
				names[n++] = sv->steps[k];
			}
			if (prev >= 0 && (size_t)prev != i)
				before[prev][i] = true;
			prev = (int)i;
		}
	}
	bool used[64] = { false };
	size_t m = 0;
	while (m < n && m < max) {
		size_t pick = n;
		for (size_t i = 0; i < n && pick == n; i++) {
			if (used[i])
				continue;
			bool ready = true;
			for (size_t j = 0; j < n && ready; j++)
				if (!used[j] && before[j][i])
					ready = false;
			if (ready)
				pick = i;
		}
		for (size_t i = 0; i < n && pick == n; i++)
			if (!used[i])
				pick = i;
		used[pick] = true;
		out[m++] = names[pick];
	}
	return m;
}

static const char *
metal_text(const char *m, char *buf, size_t len)
{
	snprintf(buf, len, "%s", m);
	for (char *c = buf; *c; c++)
		if (*c == '_')
			*c = ' ';
	return buf;
}

static void
add_step(json_t *steps, const char *id, const char *title, const char *kind,
    const char *station, const char *state, json_t *params, const char *reason)
{
	json_t *o = json_pack("{s:i, s:s, s:s, s:s, s:s}", "seq", (int)json_array_size(steps) + 1,
	    "id", id, "title", title, "kind", kind, "state", state);
	if (station)
		json_object_set_new(o, "station", json_string(station));
	json_object_set_new(o, "params", params ? params : json_object());
	if (reason)
		json_object_set_new(o, "reason", json_string(reason));
	json_array_append_new(steps, o);
}

/* The rectifier settings of one phase for this piece, within the bench's
 * limits; notes what a limit changed. */
static json_t *
phase_params(const struct job_plan_ctx *ctx, const struct job_request *r,
    const struct cfg_phase *ph, json_t *warnings)
{
	const struct cfg_piece_type *pt = cfg_piece_type_find(ctx->services, r->type);
	double area = r->surface_dm2 > 0 ? r->surface_dm2 : pt->area_dm2;
	double volts = ph->plate ? pt->plate_volts : ph->volts;
	double amps = area * ctx->bath->current_density;
	if (volts > ctx->bath->max_voltage) {
		json_array_append_new(warnings, json_sprintf("%s at %g V, the bench's limit, instead of "
		    "the recipe's %g V", ph->name, ctx->bath->max_voltage, volts));
		volts = ctx->bath->max_voltage;
	}
	if (amps > ctx->bath->max_current) {
		json_array_append_new(warnings, json_sprintf("%s current limited to %g A (the surface "
		    "asks %.3f A)", ph->name, ctx->bath->max_current, amps));
		amps = ctx->bath->max_current;
	}
	/* Two decimals is what the rectifier resolves at its coarsest scale. */
	amps = floor(amps * 1000 + 0.5) / 1000;
	/* The bath is heated to its temperature before the current flows. */
	return json_pack("{s:f, s:f, s:f, s:f, s:f, s:f}", "volts", volts, "amps", amps, "seconds",
	    ph->seconds, "area_dm2", area, "current_density", ctx->bath->current_density,
	    "temperature", ctx->bath->temperature);
}

int
job_step_judge(const struct cfg_services *cat, const struct cfg_gems *gems,
    const struct policy_piece *piece, const char *step, const struct cfg_step **sub, char *why,
    size_t len)
{
	char id[96];
	snprintf(id, sizeof id, "%.*s", (int)strcspn(step, "."), step);
	const struct cfg_step *cs = cfg_step_find(cat, id);
	*sub = NULL;
	why[0] = '\0';
	if (!cs || cs->kind != STEP_MACHINE || !cs->process)
		return 0;
	enum policy_process proc = strcmp(cs->process, "ultrasonic") == 0 ? PROC_ULTRASONIC :
	    strcmp(cs->process, "acid_bath") == 0 ? PROC_ACID_BATH : PROC_ENGRAVING;
	struct policy_verdict v;
	policy_judge(gems, piece, proc, &v);
	if (v.permitted) {
		snprintf(why, len, "%s", v.reason);
		return 0;
	}
	*sub = cs->substitute ? cfg_step_find(cat, cs->substitute) : NULL;
	if (!*sub) {
		snprintf(why, len, "%s", v.reason);
		return 2;
	}
	snprintf(why, len, "%s; instead: %c%s", v.reason, tolower((unsigned char)(*sub)->title[0]),
	    (*sub)->title + 1);
	return 1;
}

static int
plan_steps(const struct job_plan_ctx *ctx, const struct job_request *r, json_t *plan,
    enum job_plan_status *st, char *err, size_t len)
{
	const char *order[64];
	size_t n = merge_steps(ctx->services, r, order, ARRAY_LEN(order));
	json_t *steps = json_object_get(plan, "steps");
	json_t *subs = json_object_get(plan, "substitutions");
	json_t *warnings = json_object_get(plan, "warnings");
	struct policy_piece piece = { r->metal, r->gems, r->n_gems, false, false };
	bool wants_engraving = false;
	for (size_t i = 0; i < n; i++) {
		const struct cfg_step *cs = cfg_step_find(ctx->services, order[i]);
		const char *kind = cs->kind == STEP_MACHINE ? "machine" : "manual";
		char buf[64], why[480];
		if (cs->metals && !in_list(cs->metals, r->metal, false)) {
			char l[120];
			list_text(cs->metals, l, sizeof l);
			snprintf(why, sizeof why, "%s is for %s only, not %s: skipped", cs->title, l,
			    metal_text(r->metal, buf, sizeof buf));
			add_step(steps, cs->id, cs->title, kind, cs->station, "skipped", NULL, why);
			json_array_append_new(subs, json_pack("{s:s, s:n, s:s}", "step", cs->id,
			    "instead", "reason", why));
			continue;
		}
		const struct cfg_step *sub;
		int judged = job_step_judge(ctx->services, ctx->gems, &piece, cs->id, &sub, why,
		    sizeof why);
		if (judged == 2) {
			*st = PLAN_REFUSED;
			snprintf(err, len, "%s", why);
			return -1;
		}
		if (judged == 1) {
			add_step(steps, cs->id, cs->title, kind, cs->station, "substituted", NULL, why);
			add_step(steps, sub->id, sub->title, "manual", NULL, "pending", NULL, NULL);
			json_array_append_new(subs, json_pack("{s:s, s:s, s:s}", "step", cs->id,
			    "instead", sub->id, "reason", why));
			continue;
		}
		if (*why)
			json_array_append_new(warnings, json_string(why));
		if (strcmp(cs->id, "engrave") == 0) {
			wants_engraving = true;
			if (!r->engraving)
				return invalid(st, err, len, "%s needs 'engraving': the text or design and "
				    "the area on the piece", cs->title);
			bool refused = false;
			json_t *params = ctx->engrave_layout ?
			    ctx->engrave_layout(ctx->arg, r->engraving, err, len, &refused) :
			    json_object();
			if (!params) {
				*st = PLAN_INVALID;
				if (!refused)
					return -1;
				/* The space on the piece is the catalogue's own limit. */
				char why2[600];
				snprintf(why2, sizeof why2, "%s", err);
				for (size_t k = 0; k < r->n_services; k++) {
					const struct cfg_service *sv = cfg_service_find(ctx->services,
					    r->services[k].id);
					for (size_t m = 0; sv->steps && sv->steps[m]; m++)
						if (strcmp(sv->steps[m], cs->id) == 0)
							return refuse(st, sv, err, len, "%s", why2);
				}
				*st = PLAN_REFUSED;
				return -1;
			}
			add_step(steps, cs->id, cs->title, kind, cs->station, "pending", params, NULL);
			continue;
		}
		if (cs->n_phases > 0) {
			for (size_t k = 0; k < cs->n_phases; k++) {
				const struct cfg_phase *ph = &cs->phases[k];
				char id[96];
				snprintf(id, sizeof id, "%s.%s", cs->id, ph->name);
				if (ph->volts > 0 || ph->plate)
					add_step(steps, id, ph->title, "machine", cs->station, "pending",
					    phase_params(ctx, r, ph, warnings), NULL);
				else
					add_step(steps, id, ph->title, "manual", NULL, "pending",
					    ph->seconds > 0 ? json_pack("{s:f}", "seconds", ph->seconds) :
					    NULL, NULL);
			}
			continue;
		}
		json_t *params = NULL;
		if (cs->kind == STEP_MACHINE && cs->station && strcmp(cs->station, "tank") == 0)
			params = json_pack("{s:f, s:f, s:f, s:f, s:b}", "seconds", ctx->tank->cycle,
			    "power", ctx->tank->power, "frequency", ctx->tank->frequency,
			    "temperature", ctx->tank->temperature, "sweep", ctx->tank->sweep);
		add_step(steps, cs->id, cs->title, kind, cs->station, "pending", params, NULL);
	}
	if (r->engraving && !wants_engraving)
		return invalid(st, err, len, "an engraving is given but no service asked for engraves");
	return 0;
}

/* --- pricing ------------------------------------------------------------ */

static json_t *
quote(const struct job_plan_ctx *ctx, const struct job_request *r)
{
	json_t *lines = json_array();
	double total = 0;
	bool estimate = false, from = false, history = false;
	const char *bundle_group = NULL;
	const char *note = NULL;
	for (size_t i = 0; i < r->n_services; i++) {
		const struct cfg_service *sv = cfg_service_find(ctx->services, r->services[i].id);
		const struct cfg_pricing *p = &sv->pricing;
		json_t *price = NULL;
		char why[600];
		switch (p->rule) {
		case PRICE_COMPLIMENTARY:
			price = json_real(0);
			snprintf(why, sizeof why, "complimentary");
			break;
		case PRICE_FIRST_FREE: {
			int n = ctx->times_served ? ctx->times_served(ctx->arg, r->serial, sv->id) : 0;
			if (n == 0) {
				price = json_real(0);
				snprintf(why, sizeof why, "complimentary the first time for serial %s",
				    r->serial);
			} else {
				price = json_real(p->price);
				from = true;
				total += p->price;
				snprintf(why, sizeof why, "from %g %s: serial %s had this service before "
				    "(%d earlier job%s); complimentary the first time only", p->price,
				    p->currency, r->serial, n < 0 ? 1 : n, n == 1 ? "" : "s");
			}
			if (ctx->history_scope) {
				snprintf(why + strlen(why), sizeof why - strlen(why), "; %s",
				    ctx->history_scope);
				history = true;
			}
			break;
		}
		case PRICE_CARE_BUNDLE:
			if (!bundle_group || strcmp(bundle_group, sv->group ? sv->group : "") != 0) {
				bundle_group = sv->group ? sv->group : "";
				price = json_real(p->price);
				total += p->price;
				snprintf(why, sizeof why, "care services: %g %s in total whatever their "
				    "number", p->price, p->currency);
			} else {
				price = json_real(0);
				snprintf(why, sizeof why, "included in the care services' %g %s", p->price,
				    p->currency);
			}
			if (p->note)
				note = p->note;
			break;
		default:
			price = json_null();
			estimate = true;
			snprintf(why, sizeof why, "on estimate");
			break;
		}
		json_array_append_new(lines, json_pack("{s:s, s:s, s:o, s:s}", "service", sv->id,
		    "title", sv->title, "price", price, "rule", why));
	}
	json_t *q = json_pack("{s:s, s:o, s:b, s:b, s:o}", "currency", "USD", "total",
	    estimate ? json_null() : json_real(total), "from", from, "estimate", estimate,
	    "lines", lines);
	if (note)
		json_object_set_new(q, "note", json_string(note));
	if (history)
		json_object_set_new(q, "history", json_string(ctx->history_scope));
	return q;
}

/* --- the plan ------------------------------------------------------------ */

static json_t *
piece_json(const struct job_request *r)
{
	json_t *gems = json_array();
	for (size_t i = 0; i < r->n_gems; i++) {
		json_t *g = json_pack("{s:s, s:s, s:i}", "species", r->gems[i].species,
		    "treatment", r->gems[i].treatment ? r->gems[i].treatment : "none", "count",
		    r->gems[i].count);
		/* The trade or variety name the jeweller used ("akoya"). */
		if (r->varieties[i])
			json_object_set_new(g, "variety", json_string(r->varieties[i]));
		json_array_append_new(gems, g);
	}
	json_t *p = json_pack("{s:s, s:s, s:s, s:b, s:o, s:b}", "serial", r->serial, "type", r->type,
	    "metal", r->metal, "paved", r->paved, "gems", gems, "certificate", r->certificate);
	if (r->collection)
		json_object_set_new(p, "collection", json_string(r->collection));
	if (r->purchase_date)
		json_object_set_new(p, "purchase_date", json_string(r->purchase_date));
	if (r->surface_dm2 > 0)
		json_object_set_new(p, "surface_dm2", json_real(r->surface_dm2));
	return p;
}

static json_t *plan_resolved(const struct job_plan_ctx *ctx, const struct job_request *r,
    enum job_plan_status *st, char *err, size_t len);

json_t *
job_plan(const struct job_plan_ctx *ctx, const struct job_request *r,
    enum job_plan_status *st, char *err, size_t len)
{
	const struct cfg_services *cat = ctx->services;
	*st = PLAN_INVALID;
	if (!cfg_piece_type_find(cat, r->type)) {
		char l[300];
		const char **names = xcalloc(cat->n_pieces + 1, sizeof *names);
		for (size_t i = 0; i < cat->n_pieces; i++)
			names[i] = cat->pieces[i].type;
		str_join_fit(l, sizeof l, names, cat->n_pieces);
		free(names);
		return invalid(st, err, len, "unknown piece type '%s' (known: %s)", r->type, l), NULL;
	}
	if (!in_list(cat->metals, r->metal, false)) {
		char l[200];
		list_text(cat->metals, l, sizeof l);
		return invalid(st, err, len, "unknown metal '%s' (known: %s)", r->metal, l), NULL;
	}
	/* Judged as written (an alias with what its variety implies), so that
	 * no gem the stations would refuse as unknown is planned. */
	for (size_t i = 0; i < r->n_gems; i++) {
		const char *why;
		char name[400];
		struct policy_gem_name n;
		if (policy_gem_resolve(ctx->gems, r->gems[i].species, r->gems[i].treatment, &n, name,
		    sizeof name) < 0)
			return invalid(st, err, len, "piece.gems[%zu]: %s", i, name), NULL;
		if (policy_gem_name_verdict(ctx->gems, &n, PROC_ULTRASONIC, &why) < 0) {
			policy_gem_name_text(&n, name, sizeof name);
			return invalid(st, err, len, "piece.gems[%zu]: unknown gem %s: %s", i, name,
			    why), NULL;
		}
	}
	/* From here on the plan speaks of the table's species and treatments. */
	struct job_request *rr = xmalloc(sizeof *rr);
	*rr = *r;
	if (job_request_resolve_gems(ctx->gems, rr, err, len) < 0) {
		free(rr);
		*st = PLAN_INVALID;
		return NULL;
	}
	json_t *plan = plan_resolved(ctx, rr, st, err, len);
	free(rr);
	return plan;
}

static json_t *
plan_resolved(const struct job_plan_ctx *ctx, const struct job_request *r,
    enum job_plan_status *st, char *err, size_t len)
{
	const struct cfg_services *cat = ctx->services;
	if (r->purchase_date) {
		long d = job_date_days(r->purchase_date);
		if (d < 0)
			return invalid(st, err, len, "piece.purchase_date '%.20s' is not a date "
			    "YYYY-MM-DD", r->purchase_date), NULL;
		if (d > ctx->today)
			return invalid(st, err, len, "piece.purchase_date %s is in the future",
			    r->purchase_date), NULL;
	}
	for (size_t i = 0; i < r->n_services; i++) {
		const struct cfg_service *sv = cfg_service_find(cat, r->services[i].id);
		if (!sv) {
			char l[400];
			const char **names = xcalloc(cat->n_services + 1, sizeof *names);
			for (size_t k = 0; k < cat->n_services; k++)
				names[k] = cat->services[k].id;
			str_join_fit(l, sizeof l, names, cat->n_services);
			free(names);
			return invalid(st, err, len, "unknown service '%s' (known: %s)",
			    r->services[i].id, l), NULL;
		}
		if (check_eligibility(ctx, r, sv, &r->services[i], st, err, len) < 0)
			return NULL;
	}
	json_t *services = json_array();
	for (size_t i = 0; i < r->n_services; i++) {
		const struct cfg_service *sv = cfg_service_find(cat, r->services[i].id);
		json_t *o = json_pack("{s:s, s:s}", "id", sv->id, "title", sv->title);
		if (r->services[i].change_cm != 0)
			json_object_set_new(o, "change_cm", json_real(r->services[i].change_cm));
		if (r->services[i].sizes != 0)
			json_object_set_new(o, "sizes", json_integer(r->services[i].sizes));
		json_array_append_new(services, o);
	}
	json_t *plan = json_pack("{s:o, s:o, s:s, s:[], s:[], s:[]}", "piece", piece_json(r),
	    "services", services, "operator", r->operator_, "steps", "substitutions", "warnings");
	if (r->note)
		json_object_set_new(plan, "note", json_string(r->note));
	if (plan_steps(ctx, r, plan, st, err, len) < 0) {
		json_decref(plan);
		return NULL;
	}
	json_object_set_new(plan, "quote", quote(ctx, r));
	*st = PLAN_OK;
	return plan;
}
