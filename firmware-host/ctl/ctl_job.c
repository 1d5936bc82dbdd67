/*
 * atelierctl's job commands, for the jeweller at the bench: plan and
 * create a job for a piece (from flags, or a JSON request file), start,
 * show, list and abort jobs, confirm manual steps with a note, run the
 * load waiting at a station, a piece's history by serial number, and the
 * export of the journal to CSV or JSON. The human output says at once why
 * something was refused or substituted; --json gives the daemon's answer.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "util.h"

static int
usage_job(void)
{
	fprintf(stderr,
	    "usage: atelierctl job plan|create [--file REQUEST.json] [--serial S] [--type T]\n"
	    "           [--metal M] [--collection C] [--paved] [--gem SPECIES[:TREATMENT][:COUNT]]...\n"
	    "           [--purchase-date YYYY-MM-DD] [--certificate] [--surface DM2]\n"
	    "           [--service ID[:change_cm=N|:sizes=N]]... [--engraving JSON]\n"
	    "           [--operator NAME] [--note TEXT]\n"
	    "       atelierctl job start|show JOB\n"
	    "       atelierctl job list [--state S] [--serial S] [--limit N]\n"
	    "       atelierctl job abort JOB [--why TEXT]\n");
	return CTL_ERR_USAGE;
}

static bool
parse_id(const char *s, long long *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < 1)
		return false;
	*out = v;
	return true;
}

static json_t *
object_at(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_object(v)) {
		v = json_object();
		json_object_set_new(o, key, v);
	}
	return v;
}

/* "id[:change_cm=N][:sizes=N]" as the API's service entry. */
static json_t *
service_arg(const char *arg)
{
	char buf[200];
	snprintf(buf, sizeof buf, "%s", arg);
	char *rest = strchr(buf, ':');
	if (!rest)
		return json_string(buf);
	*rest++ = '\0';
	json_t *o = json_pack("{s:s}", "id", buf);
	for (char *kv = strtok(rest, ":"); kv; kv = strtok(NULL, ":")) {
		char *eq = strchr(kv, '='), *end;
		if (!eq)
			goto bad;
		*eq = '\0';
		double v = strtod(eq + 1, &end);
		if (end == eq + 1 || *end)
			goto bad;
		if (strcmp(kv, "sizes") == 0 && v == (long long)v)
			json_object_set_new(o, kv, json_integer((json_int_t)v));
		else if (strcmp(kv, "change_cm") == 0)
			json_object_set_new(o, kv, json_real(v));
		else
			goto bad;
	}
	return o;
bad:
	json_decref(o);
	fprintf(stderr, "atelierctl: --service %s: expected ID[:change_cm=N][:sizes=N]\n", arg);
	return NULL;
}

static json_t *
build_request(int argc, char **argv)
{
	json_t *req = NULL;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--file") == 0 && i + 1 < argc) {
			json_error_t e;
			req = strcmp(argv[i + 1], "-") == 0 ? json_loadf(stdin, 0, &e) :
			    json_load_file(argv[i + 1], 0, &e);
			if (!json_is_object(req)) {
				fprintf(stderr, "atelierctl: %s:%d:%d: %s\n", argv[i + 1], e.line, e.column,
				    req ? "the request must be a JSON object" : e.text);
				json_decref(req);
				return NULL;
			}
		}
	if (!req)
		req = json_object();
	json_t *piece = object_at(req, "piece");
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		static const struct { const char *flag, *key; } texts[] = {
			{ "--serial", "serial" }, { "--type", "type" }, { "--metal", "metal" },
			{ "--collection", "collection" }, { "--purchase-date", "purchase_date" },
		};
		bool done = false;
		for (size_t k = 0; k < ARRAY_LEN(texts) && !done; k++)
			if (strcmp(a, texts[k].flag) == 0 && v) {
				json_object_set_new(piece, texts[k].key, json_string(v));
				i++;
				done = true;
			}
		if (done)
			continue;
		if (strcmp(a, "--file") == 0 && v) {
			i++;
		} else if (strcmp(a, "--paved") == 0) {
			json_object_set_new(piece, "paved", json_true());
		} else if (strcmp(a, "--certificate") == 0) {
			json_object_set_new(piece, "certificate", json_true());
		} else if (strcmp(a, "--surface") == 0 && v) {
			json_object_set_new(piece, "surface_dm2", json_real(atof(v)));
			i++;
		} else if (strcmp(a, "--gem") == 0 && v) {
			json_t *g = ctl_gem_arg(v);
			if (!g)
				goto bad;
			json_t *gems = json_object_get(piece, "gems");
			if (!json_is_array(gems)) {
				gems = json_array();
				json_object_set_new(piece, "gems", gems);
			}
			json_array_append_new(gems, g);
			i++;
		} else if (strcmp(a, "--service") == 0 && v) {
			json_t *s = service_arg(v);
			if (!s)
				goto bad;
			json_t *list = json_object_get(req, "services");
			if (!json_is_array(list)) {
				list = json_array();
				json_object_set_new(req, "services", list);
			}
			json_array_append_new(list, s);
			i++;
		} else if (strcmp(a, "--engraving") == 0 && v) {
			json_error_t e;
			json_t *spec = json_loads(v, 0, &e);
			if (!json_is_object(spec)) {
				fprintf(stderr, "atelierctl: --engraving: %s\n", spec ? "must be a JSON "
				    "object" : e.text);
				json_decref(spec);
				goto bad;
			}
			json_object_set_new(req, "engraving", spec);
			i++;
		} else if ((strcmp(a, "--operator") == 0 || strcmp(a, "--note") == 0) && v) {
			json_object_set_new(req, a + 2, json_string(v));
			i++;
		} else {
			fprintf(stderr, "atelierctl: job: unknown or incomplete option '%s'\n", a);
			goto bad;
		}
	}
	if (!json_object_get(req, "operator")) {
		const char *user = getenv("USER");
		json_object_set_new(req, "operator", json_string(user && *user ? user : "bench"));
	}
	return req;
bad:
	json_decref(req);
	return NULL;
}

static const char *
s_(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));
	return v ? v : "";
}

static void
print_quote(json_t *q)
{
	size_t i;
	json_t *l;
	printf("quote:\n");
	json_array_foreach(json_object_get(q, "lines"), i, l) {
		json_t *p = json_object_get(l, "price");
		if (json_is_number(p))
			printf("  %-34s %8.2f USD  (%s)\n", s_(l, "title"), json_number_value(p),
			    s_(l, "rule"));
		else
			printf("  %-34s on estimate\n", s_(l, "title"));
	}
	json_t *t = json_object_get(q, "total");
	if (json_is_number(t))
		printf("  %-34s %8.2f USD%s\n", "total", json_number_value(t),
		    json_is_true(json_object_get(q, "from")) ? "  (a starting price: from)" : "");
	else
		printf("  %-34s on estimate\n", "total");
	if (*s_(q, "note"))
		printf("  (%s)\n", s_(q, "note"));
}

static void
print_steps(json_t *steps)
{
	size_t i;
	json_t *s;
	json_array_foreach(steps, i, s) {
		const char *st = s_(s, "state");
		printf("  %2d. %-12s %-7s %s%s%s\n", (int)json_integer_value(json_object_get(s, "seq")),
		    st, s_(s, "kind"), s_(s, "title"), *s_(s, "station") ? " @" : "", s_(s, "station"));
		json_t *p = json_object_get(s, "params");
		if (json_is_number(json_object_get(p, "volts")))
			printf("      the bath heated to %.0f C, then %.2f V, %.3f A for %.0f s (%.3f "
			    "dm2 x %.1f A/dm2)\n", json_number_value(json_object_get(p, "temperature")),
			    json_number_value(json_object_get(p, "volts")),
			    json_number_value(json_object_get(p, "amps")),
			    json_number_value(json_object_get(p, "seconds")),
			    json_number_value(json_object_get(p, "area_dm2")),
			    json_number_value(json_object_get(p, "current_density")));
		else if (json_is_number(json_object_get(p, "power")))
			printf("      %.0f s at %.0f C, %.0f %% power, %.0f kHz\n",
			    json_number_value(json_object_get(p, "seconds")),
			    json_number_value(json_object_get(p, "temperature")),
			    json_number_value(json_object_get(p, "power")),
			    json_number_value(json_object_get(p, "frequency")));
		else if (json_object_get(p, "fit"))
			printf("      \"%s\", %lld bytes of G-code\n", s_(p, "text"),
			    (long long)json_integer_value(json_object_get(p, "gcode_bytes")));
		if (*s_(s, "reason"))
			printf("      why: %s\n", s_(s, "reason"));
		if (*s_(s, "note"))
			printf("      note: %s\n", s_(s, "note"));
	}
}

static void
print_job(json_t *j)
{
	json_t *piece = json_object_get(j, "piece");
	json_t *id = json_object_get(j, "job");
	if (!id)
		id = json_object_get(j, "id");
	if (id)
		printf("job %lld: %s\n", (long long)json_integer_value(id), s_(j, "state"));
	else
		printf("plan (not recorded)\n");
	printf("piece: %s, %s %s%s%s%s\n", s_(piece, "serial"), s_(piece, "metal"), s_(piece, "type"),
	    *s_(piece, "collection") ? " (" : "", s_(piece, "collection"),
	    *s_(piece, "collection") ? ")" : "");
	size_t i;
	json_t *g;
	json_array_foreach(json_object_get(piece, "gems"), i, g)
		printf("  gem: %lld x %s (%s%s%s)\n", (long long)json_integer_value(json_object_get(g,
		    "count")), s_(g, "species"), *s_(g, "variety") ? s_(g, "variety") : "",
		    *s_(g, "variety") ? ", " : "", s_(g, "treatment"));
	printf("steps:\n");
	print_steps(json_object_get(j, "steps"));
	json_t *subs = json_object_get(j, "substitutions");
	if (json_array_size(subs)) {
		printf("substitutions (the reasons are with the steps above):\n");
		json_array_foreach(subs, i, g)
			if (json_is_string(json_object_get(g, "instead")))
				printf("  - %s replaced by %s\n", s_(g, "step"), s_(g, "instead"));
			else
				printf("  - %s skipped\n", s_(g, "step"));
	}
	json_array_foreach(json_object_get(j, "warnings"), i, g)
		printf("warning: %s\n", json_string_value(g));
	if (json_object_get(j, "quote"))
		print_quote(json_object_get(j, "quote"));
}

static int
show(const struct ctl_opts *o, const char *method, json_t *params)
{
	json_t *r;
	int rc = ctl_call(o, method, params, &r);
	if (rc != CTL_OK || o->json)
		return rc == CTL_OK ? ctl_print_result(o, r, NULL) : rc;
	print_job(r);
	json_decref(r);
	return CTL_OK;
}

static int
job_list(const struct ctl_opts *o, int argc, char **argv)
{
	json_t *params = json_object(), *r;
	for (int i = 2; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--state") == 0 || strcmp(argv[i], "--serial") == 0)
			json_object_set_new(params, argv[i] + 2, json_string(argv[i + 1]));
		else if (strcmp(argv[i], "--limit") == 0)
			json_object_set_new(params, "limit", json_integer(atoi(argv[i + 1])));
		else {
			json_decref(params);
			return usage_job();
		}
	}
	int rc = ctl_call(o, "job.list", params, &r);
	if (rc != CTL_OK || o->json)
		return rc == CTL_OK ? ctl_print_result(o, r, NULL) : rc;
	size_t i;
	json_t *j;
	printf("%5s  %-11s %-14s %-9s %-11s %-5s %s\n", "job", "state", "serial", "type", "metal",
	    "steps", "services");
	json_array_foreach(r, i, j)
		printf("%5lld  %-11s %-14s %-9s %-11s %2lld/%-2lld %s\n",
		    (long long)json_integer_value(json_object_get(j, "id")), s_(j, "state"),
		    s_(j, "serial"), s_(j, "type"), s_(j, "metal"),
		    (long long)json_integer_value(json_object_get(j, "steps_done")),
		    (long long)json_integer_value(json_object_get(j, "steps")), s_(j, "services"));
	json_decref(r);
	return CTL_OK;
}

int
ctl_job(const struct ctl_opts *o, int argc, char **argv)
{
	long long id;
	if (argc < 2)
		return usage_job();
	const char *sub = argv[1];
	if (strcmp(sub, "plan") == 0 || strcmp(sub, "create") == 0) {
		json_t *req = build_request(argc - 1, argv + 1);
		if (!req)
			return CTL_ERR_USAGE;
		return show(o, sub[0] == 'p' ? "job.plan" : "job.create", req);
	}
	if (strcmp(sub, "list") == 0)
		return job_list(o, argc, argv);
	if (argc < 3 || !parse_id(argv[2], &id))
		return usage_job();
	json_t *params = json_pack("{s:I}", "job", (json_int_t)id);
	if (strcmp(sub, "start") == 0 && argc == 3)
		return show(o, "job.start", params);
	if (strcmp(sub, "show") == 0 && argc == 3)
		return show(o, "job.show", params);
	if (strcmp(sub, "abort") == 0) {
		if (argc == 5 && strcmp(argv[3], "--why") == 0)
			json_object_set_new(params, "why", json_string(argv[4]));
		else if (argc != 3) {
			json_decref(params);
			return usage_job();
		}
		return show(o, "job.abort", params);
	}
	json_decref(params);
	return usage_job();
}

int
ctl_step(const struct ctl_opts *o, int argc, char **argv)
{
	long long job, seq;
	if (argc < 4 || !parse_id(argv[2], &job) || !parse_id(argv[3], &seq)) {
		fprintf(stderr, "usage: atelierctl step done JOB STEP --note TEXT\n"
		    "       atelierctl step retry JOB STEP\n"
		    "       atelierctl step abort JOB STEP [--why TEXT]\n");
		return CTL_ERR_USAGE;
	}
	json_t *params = json_pack("{s:I, s:I}", "job", (json_int_t)job, "step", (json_int_t)seq);
	const char *method = strcmp(argv[1], "done") == 0 ? "step.done" :
	    strcmp(argv[1], "retry") == 0 ? "step.retry" :
	    strcmp(argv[1], "abort") == 0 ? "step.abort" : NULL;
	for (int i = 4; i + 1 < argc; i += 2)
		if (strcmp(argv[i], "--note") == 0 || strcmp(argv[i], "--why") == 0 ||
		    strcmp(argv[i], "--operator") == 0)
			json_object_set_new(params, argv[i] + 2, json_string(argv[i + 1]));
	if (!method || (argc - 4) % 2) {
		json_decref(params);
		fprintf(stderr, "atelierctl: step: expected done, retry or abort with their options\n");
		return CTL_ERR_USAGE;
	}
	return show(o, method, params);
}

int
ctl_run(const struct ctl_opts *o, int argc, char **argv)
{
	json_t *r;
	if (argc != 2) {
		fprintf(stderr, "usage: atelierctl run laser|tank|bath\n");
		return CTL_ERR_USAGE;
	}
	int rc = ctl_call(o, "station.run", json_pack("{s:s}", "station", argv[1]), &r);
	if (rc != CTL_OK || o->json)
		return rc == CTL_OK ? ctl_print_result(o, r, NULL) : rc;
	size_t i;
	json_t *l;
	printf("%s running:", s_(r, "station"));
	json_array_foreach(json_object_get(r, "load"), i, l)
		printf("%s job %lld step %lld (%s, %s)", i ? "," : "",
		    (long long)json_integer_value(json_object_get(l, "job")),
		    (long long)json_integer_value(json_object_get(l, "seq")), s_(l, "step"),
		    s_(l, "serial"));
	printf("\n");
	json_decref(r);
	return CTL_OK;
}

int
ctl_history(const struct ctl_opts *o, int argc, char **argv)
{
	json_t *r;
	if (argc != 3 || strcmp(argv[1], "--serial") != 0) {
		fprintf(stderr, "usage: atelierctl history --serial SERIAL\n");
		return CTL_ERR_USAGE;
	}
	int rc = ctl_call(o, "history", json_pack("{s:s}", "serial", argv[2]), &r);
	if (rc != CTL_OK || o->json)
		return rc == CTL_OK ? ctl_print_result(o, r, NULL) : rc;
	json_t *p = json_object_get(r, "piece");
	printf("piece %s: %s %s, first seen %s\n", s_(p, "serial"), s_(p, "metal"), s_(p, "type"),
	    s_(p, "created"));
	size_t i;
	json_t *j;
	json_array_foreach(json_object_get(r, "jobs"), i, j) {
		json_t *t = json_object_get(json_object_get(j, "quote"), "total");
		char price[40];
		if (json_is_number(t))
			snprintf(price, sizeof price, "%.2f USD", json_number_value(t));
		else
			snprintf(price, sizeof price, "on estimate");
		printf("  job %lld  %-11s %-28s %s  by %s, %s%s%s\n",
		    (long long)json_integer_value(json_object_get(j, "id")), s_(j, "state"),
		    s_(j, "services"), price, s_(j, "operator"), s_(j, "created"),
		    *s_(j, "workshop_name") ? ", at " : "", s_(j, "workshop_name"));
	}
	printf("events:\n");
	json_array_foreach(json_object_get(r, "events"), i, j)
		printf("  %s  %-10s job %lld  %s%s%s%s%s\n", s_(j, "t"), s_(j, "who"),
		    (long long)json_integer_value(json_object_get(j, "job_id")), s_(j, "what"),
		    *s_(j, "why") ? ": " : "", s_(j, "why"),
		    *s_(j, "workshop") ? "  @" : "", s_(j, "workshop"));
	/* Whether the other workshops' entries are in it. */
	json_t *sh = json_object_get(r, "shared");
	if (sh)
		printf("%s%s%s\n", s_(sh, "scope"), *s_(sh, "why") ? ": " : "", s_(sh, "why"));
	json_decref(r);
	return CTL_OK;
}

/* `fleet status`: atelier-sync's position, backlog and last error, as
 * atelierd sees them. */
int
ctl_fleet(const struct ctl_opts *o, int argc, char **argv)
{
	if (argc != 2 || strcmp(argv[1], "status") != 0) {
		fprintf(stderr, "usage: atelierctl fleet status\n");
		return CTL_ERR_USAGE;
	}
	json_t *r;
	int rc = ctl_call(o, "fleet.status", NULL, &r);
	if (rc != CTL_OK || o->json)
		return rc == CTL_OK ? ctl_print_result(o, r, NULL) : rc;
	if (!json_is_true(json_object_get(r, "configured"))) {
		printf("%s\n", s_(r, "summary"));
		json_decref(r);
		return CTL_OK;
	}
	printf("workshop     %s\n", s_(r, "workshop"));
	printf("sender       %s\n", s_(r, "sync"));
	printf("position     event %lld of %lld in the journal\n",
	    (long long)json_integer_value(json_object_get(r, "position")),
	    (long long)json_integer_value(json_object_get(r, "journal")));
	printf("backlog      %lld event%s\n",
	    (long long)json_integer_value(json_object_get(r, "backlog")),
	    json_integer_value(json_object_get(r, "backlog")) == 1 ? "" : "s");
	printf("PostgreSQL   %s\n", s_(r, "postgres"));
	printf("MQTT         %s\n", s_(r, "mqtt"));
	json_t *since = json_object_get(r, "error_for_seconds");
	if (*s_(r, "error"))
		printf("last error   %s (for %.0f s)\n", s_(r, "error"), json_number_value(since));
	else
		printf("last error   none\n");
	json_decref(r);
	return CTL_OK;
}

/* One CSV field (RFC 4180): quoted when it holds a comma, quote or line.
 * A text a spreadsheet would take for a formula (=, +, -, @, tab or CR
 * first: "=HYPERLINK(...)" in a bench note) is written with a quote mark
 * before it, as OWASP advises, so that it shows as the text it is. Numbers
 * are the journal's own (job, sequence, attempts, price) and are written
 * as numbers: only texts, which people typed, are neutralised. */
static void
csv_field(FILE *f, json_t *v)
{
	char num[64];
	const char *t = json_string_value(v);
	bool formula = t && *t && strchr("=+-@\t\r", *t);
	if (json_is_integer(v)) {
		snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
		t = num;
	} else if (json_is_real(v)) {
		snprintf(num, sizeof num, "%.2f", json_real_value(v));
		t = num;
	}
	if (!t)
		return;
	if (!strpbrk(t, ",\"\r\n")) {
		if (formula)
			fputc('\'', f);
		fputs(t, f);
		return;
	}
	fputc('"', f);
	if (formula)
		fputc('\'', f);
	for (; *t; t++) {
		if (*t == '"')
			fputc('"', f);
		fputc(*t, f);
	}
	fputc('"', f);
}

static void
write_csv(FILE *f, json_t *rows)
{
	static const char *const cols[] = { "job", "serial", "type", "metal", "services", "operator",
		"job_state", "price_usd", "seq", "step", "kind", "station", "state", "reason", "note",
		"attempts", "updated" };
	for (size_t c = 0; c < ARRAY_LEN(cols); c++)
		fprintf(f, "%s%s", c ? "," : "", cols[c]);
	fputs("\r\n", f);
	size_t i;
	json_t *r;
	json_array_foreach(rows, i, r) {
		for (size_t c = 0; c < ARRAY_LEN(cols); c++) {
			if (c)
				fputc(',', f);
			csv_field(f, json_object_get(r, cols[c]));
		}
		fputs("\r\n", f);
	}
}

static void
write_export(FILE *f, json_t *rows, bool json)
{
	if (json) {
		json_dumpf(rows, f, JSON_INDENT(2));
		fputc('\n', f);
	} else {
		write_csv(f, rows);
	}
}

int
ctl_export(const struct ctl_opts *o, int argc, char **argv)
{
	const char *format = "csv", *output = NULL;
	json_t *params = json_object(), *r;
	for (int i = 1; i < argc; i += 2) {
		if (i + 1 >= argc)
			goto usage;
		if (strcmp(argv[i], "--serial") == 0)
			json_object_set_new(params, "serial", json_string(argv[i + 1]));
		else if (strcmp(argv[i], "--format") == 0)
			format = argv[i + 1];
		else if (strcmp(argv[i], "--output") == 0)
			output = argv[i + 1];
		else
			goto usage;
	}
	if (strcmp(format, "csv") != 0 && strcmp(format, "json") != 0)
		goto usage;
	int rc = ctl_call(o, "export", params, &r);
	if (rc != CTL_OK)
		return rc;
	bool json = strcmp(format, "json") == 0 || o->json;
	if (!output) {
		write_export(stdout, r, json);
		json_decref(r);
		return fflush(stdout) == 0 ? CTL_OK : CTL_ERR_FAILED;
	}
	/* A file is written whole or not at all: a temporary beside it, then
	 * renamed over it. The temporary is made by mkstemp (a new file, never
	 * one that exists, a symbolic link or not), so that a link planted in
	 * a shared folder cannot turn an export run by root into the
	 * overwriting of another file; rename replaces the target's name, not
	 * what a link there points to. */
	char *slash = strrchr(output, '/');
	char *tmp = slash ? xasprintf("%.*s/.%s.XXXXXX", (int)(slash - output), output, slash + 1) :
	    xasprintf(".%s.XXXXXX", output);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		fprintf(stderr, "atelierctl: cannot write %s: %s\n", output, strerror(errno));
		free(tmp);
		json_decref(r);
		return CTL_ERR_FAILED;
	}
	/* mkstemp makes it 0600; an export is for reading, as a new file
	 * would be under the user's umask. */
	mode_t mask = umask(0);
	umask(mask);
	int failure = 0;
	FILE *f = fchmod(fd, 0644 & ~mask) == 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		failure = errno;
		close(fd);
	} else {
		write_export(f, r, json);
		if (fflush(f) != 0 || fsync(fileno(f)) != 0)
			failure = errno;
		else if (ferror(f))
			failure = EIO;
		if (fclose(f) != 0 && !failure)
			failure = errno;
	}
	json_decref(r);
	if (!failure && rename(tmp, output) < 0)
		failure = errno;
	if (failure) {
		fprintf(stderr, "atelierctl: cannot write %s: %s\n", output, strerror(failure));
		unlink(tmp);
		free(tmp);
		return CTL_ERR_FAILED;
	}
	/* The new name is durable only once its folder is. */
	char *dir = slash ? xasprintf("%.*s", slash == output ? 1 : (int)(slash - output), output) :
	    xstrdup(".");
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	free(dir);
	free(tmp);
	return CTL_OK;
usage:
	json_decref(params);
	fprintf(stderr, "usage: atelierctl export [--serial S] [--format csv|json] [--output FILE]\n");
	return CTL_ERR_USAGE;
}
