/*
 * atelierctl calibrate ... and atelierctl calibration history|due: the
 * technician's guided calibration procedures, as thin clients of the
 * calibrate.* API (api_calib.c). Each step says what to do and asks for
 * the reading; every answer can also be given as a flag (--ref1 ...), and
 * is then not asked, so that CI runs the same flow. An empty answer, "q",
 * the end of input or Ctrl-C abandons the procedure: the daemon puts the
 * station back in its safe state and changes nothing.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "ctl.h"
#include "util.h"

#define MAX_OPTS 24

struct copts {
	const char *name[MAX_OPTS], *value[MAX_OPTS];
	size_t n;
	bool yes, preview;
};

static volatile sig_atomic_t interrupted;

static void
on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* --- the daemon -------------------------------------------------------------- */

static json_t *
read_reply(int fd, double timeout)
{
	struct buf in;
	buf_init(&in);
	double end = now_mono() + timeout;
	for (;;) {
		char *nl = in.data ? memchr(in.data, '\n', in.len) : NULL;
		if (nl) {
			json_t *j = json_loadb(in.data, (size_t)(nl - in.data), 0, NULL);
			buf_consume(&in, (size_t)(nl - in.data) + 1);
			if (j && json_object_get(j, "id")) {
				buf_free(&in);
				return j;
			}
			json_decref(j);
			continue;
		}
		int ms = (int)((end - now_mono()) * 1000);
		struct pollfd p = { fd, POLLIN, 0 };
		char tmp[4096];
		ssize_t n;
		if (ms <= 0 || poll(&p, 1, ms) <= 0 || (n = read(fd, tmp, sizeof tmp)) <= 0) {
			buf_free(&in);
			return NULL;
		}
		buf_append(&in, tmp, (size_t)n);
	}
}

static int
exit_for(int code)
{
	switch (code) {
	case API_ERR_FORBIDDEN:
	case API_ERR_REFUSED:
	case API_ERR_INTERLOCK:
	case API_ERR_BUSY:
		return CTL_ERR_REFUSED;
	case API_ERR_INVALID_PARAMS:
	case API_ERR_INVALID:
		return CTL_ERR_REFUSED;
	default:
		return CTL_ERR_FAILED;
	}
}

/* Calls method with params (stolen). Returns CTL_OK with *res (new
 * reference), or an exit code after printing the daemon's sentence (unless
 * quiet_code is the error's code: then *code holds it, for retries). */
static int
rpc(const struct ctl_opts *o, const char *method, json_t *params, json_t **res, int quiet_code,
    int *code)
{
	*res = NULL;
	int fd = unix_connect(o->socket);
	if (fd < 0) {
		fprintf(stderr, "atelierctl: cannot reach atelierd at %s: %s\n", o->socket,
		    strerror(errno));
		json_decref(params);
		return CTL_ERR_CONNECT;
	}
	json_t *req = json_pack("{s:s, s:i, s:s, s:o}", "jsonrpc", "2.0", "id", 1, "method", method,
	    "params", params ? params : json_object());
	char *text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	int ok = write_all(fd, text, strlen(text)) == 0 && write_all(fd, "\n", 1) == 0;
	free(text);
	json_t *reply = ok ? read_reply(fd, 60) : NULL;
	close(fd);
	if (!reply) {
		fprintf(stderr, "atelierctl: no answer from atelierd\n");
		return CTL_ERR_CONNECT;
	}
	json_t *err = json_object_get(reply, "error");
	if (err) {
		int c = (int)json_integer_value(json_object_get(err, "code"));
		if (code)
			*code = c;
		if (c != quiet_code) {
			const char *m = json_string_value(json_object_get(err, "message"));
			if (o->json) {
				char *t = json_dumps(err, JSON_COMPACT);
				puts(t);
				free(t);
			}
			fprintf(stderr, "atelierctl: %s\n", m ? m : "the request failed");
		}
		json_decref(reply);
		return exit_for(c);
	}
	*res = json_incref(json_object_get(reply, "result"));
	json_decref(reply);
	return CTL_OK;
}

static void
show(const struct ctl_opts *o, json_t *r)
{
	if (o->json) {
		char *t = json_dumps(r, JSON_COMPACT);
		puts(t);
		free(t);
		return;
	}
	const char *m = json_string_value(json_object_get(r, "message"));
	if (m)
		printf("%s\n", m);
	fflush(stdout);
}

/* --- options and questions ---------------------------------------------------- */

static int
parse_opts(int argc, char **argv, struct copts *c)
{
	memset(c, 0, sizeof *c);
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--yes") == 0 || strcmp(argv[i], "-y") == 0) {
			c->yes = true;
			continue;
		}
		if (strcmp(argv[i], "--preview") == 0) {
			c->preview = true;
			continue;
		}
		if (strncmp(argv[i], "--", 2) != 0 || i + 1 >= argc || c->n == MAX_OPTS) {
			fprintf(stderr, "atelierctl: '%s' is not an option of this procedure "
			    "(options are --name VALUE)\n", argv[i]);
			return -1;
		}
		c->name[c->n] = argv[i] + 2;
		c->value[c->n++] = argv[++i];
	}
	return 0;
}

static const char *
opt(const struct copts *c, const char *name)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->name[i], name) == 0)
			return c->value[i];
	return NULL;
}

/* A number from the flag, else asked. Returns 0, 1 to abandon (empty, q,
 * end of input, Ctrl-C), -1 for a flag that is not a number. */
static int
ask_number(const struct copts *c, const char *flag, const char *question, double *out)
{
	const char *v = opt(c, flag);
	char line[128], *end;
	for (;;) {
		if (!v) {
			printf("%s (--%s; empty or q abandons): ", question, flag);
			fflush(stdout);
			if (interrupted || !fgets(line, sizeof line, stdin) || interrupted) {
				printf("\n");
				return 1;
			}
			line[strcspn(line, "\r\n")] = '\0';
			if (!*line || strcmp(line, "q") == 0 || strcmp(line, "abort") == 0)
				return 1;
		} else {
			snprintf(line, sizeof line, "%s", v);
		}
		errno = 0;
		double d = strtod(line, &end);
		if (!errno && end != line && !*end && isfinite(d)) {
			*out = d;
			return 0;
		}
		if (v) {
			fprintf(stderr, "atelierctl: --%s must be a number, not '%s'\n", flag, v);
			return -1;
		}
		printf("'%s' is not a number\n", line);
	}
}

/* Asks to go on (Enter) unless --yes. Returns 0 to go on, 1 to abandon. */
static int
confirm(const struct copts *c, const char *question)
{
	char line[64];
	if (c->yes)
		return 0;
	printf("%s [Enter to go on, q abandons]: ", question);
	fflush(stdout);
	if (interrupted || !fgets(line, sizeof line, stdin) || interrupted)
		return 1;
	return line[0] == 'q' ? 1 : 0;
}

/* --- the guided flow ------------------------------------------------------------ */

struct flow {
	const struct ctl_opts *o;
	int session;
	json_t *last;
};

static int
abandon(struct flow *f)
{
	json_t *r;
	if (f->session > 0 && rpc(f->o, "calibrate.abort", json_pack("{s:i}", "session",
	    f->session), &r, 0, NULL) == CTL_OK) {
		show(f->o, r);
		json_decref(r);
	}
	fprintf(stderr, "atelierctl: calibration abandoned: nothing changed\n");
	return CTL_ERR_REFUSED;
}

static int
step(struct flow *f, const char *method, json_t *params)
{
	json_t *r;
	json_object_set_new(params, "session", json_integer(f->session));
	int rc = rpc(f->o, method, params, &r, 0, NULL);
	if (rc != CTL_OK)
		return rc;
	json_decref(f->last);
	f->last = r;
	show(f->o, r);
	return CTL_OK;
}

/* Waits for the session to leave "running" / "writing"; returns its state. */
static const char *
wait_state(struct flow *f, double timeout)
{
	static char st[32];
	double end = now_mono() + timeout;
	st[0] = '\0';
	while (now_mono() < end && !interrupted) {
		json_t *r;
		if (rpc(f->o, "calibrate.status", json_pack("{s:i}", "session", f->session), &r, 0,
		    NULL) != CTL_OK)
			return "lost";
		snprintf(st, sizeof st, "%s", json_string_value(json_object_get(r, "state")));
		if (strcmp(st, "running") && strcmp(st, "writing")) {
			json_decref(f->last);
			f->last = r;
			show(f->o, r);
			return st;
		}
		json_decref(r);
		usleep(250000);
	}
	return interrupted ? "interrupted" : "timed out";
}

/* Waits for a test program or sweep to finish: 0 when it waits for the
 * technician, else the exit code (a failure, or an interruption that
 * abandons the procedure). */
static int
wait_ready(struct flow *f, double timeout)
{
	const char *st = wait_state(f, timeout);
	if (strcmp(st, "ready") == 0)
		return 0;
	if (strcmp(st, "failed") == 0 || strcmp(st, "lost") == 0)
		return CTL_ERR_FAILED;
	return abandon(f);
}

static int
begin(struct flow *f, json_t *params, const struct copts *c)
{
	json_t *r;
	const char *t = opt(c, "technician"), *i = opt(c, "instrument");
	if (t)
		json_object_set_new(params, "technician", json_string(t));
	if (i)
		json_object_set_new(params, "instrument", json_string(i));
	int rc = rpc(f->o, "calibrate.begin", params, &r, 0, NULL);
	if (rc != CTL_OK)
		return rc;
	f->session = (int)json_integer_value(json_object_get(r, "session"));
	f->last = r;
	show(f->o, r);
	return CTL_OK;
}

static int
finish_commit(struct flow *f, json_t *params, const struct copts *c)
{
	if (confirm(c, "Apply and record the result?"))
		return abandon(f);
	int rc = step(f, "calibrate.commit", params);
	if (rc != CTL_OK)
		return rc;
	const char *st = json_string_value(json_object_get(f->last, "state"));
	if (st && strcmp(st, "writing") == 0)
		st = wait_state(f, 60);
	return st && strcmp(st, "recorded") == 0 ? CTL_OK : CTL_ERR_FAILED;
}

/* Asks a number; 1 = abandoned (already aborted), -1 = bad flag. */
static int
need(struct flow *f, const struct copts *c, const char *flag, const char *q, double *v)
{
	int a = ask_number(c, flag, q, v);
	if (a == 1)
		abandon(f);
	return a;
}

static int
two_point(struct flow *f, const struct copts *c, const char *procedure)
{
	bool bath = strncmp(procedure, "bath.", 5) == 0;
	bool volts = strcmp(procedure, "bath.voltage") == 0;
	const char *unit = bath ? (volts ? "V" : "A") : "C";
	int rc = begin(f, json_pack("{s:s}", "procedure", procedure), c);
	if (rc != CTL_OK)
		return rc;
	static const double vdef[2] = { 1.0, 2.5 }, idef[2] = { 0.4, 1.2 };
	for (int k = 0; k < 2; k++) {
		char flag[16], q[160];
		double ref, set = volts ? vdef[k] : idef[k];
		if (bath) {
			snprintf(flag, sizeof flag, "set%d", k + 1);
			const char *sv = opt(c, flag);
			if (sv)
				set = atof(sv);
			if ((rc = step(f, "calibrate.drive", json_pack("{s:f}", "value", set))) != CTL_OK)
				return abandon(f), rc;
		} else if (k == 1 && !opt(c, "ref2") && confirm(c, "Bring the tank to a second "
		    "temperature at least 5 C away (fresh water or the heater)")) {
			return abandon(f);
		}
		snprintf(flag, sizeof flag, "ref%d", k + 1);
		snprintf(q, sizeof q, "Point %d: the reference %s reads (%s)", k + 1, bath ? "meter" :
		    "thermometer", unit);
		int a = need(f, c, flag, q, &ref);
		if (a)
			return a > 0 ? CTL_ERR_REFUSED : (abandon(f), CTL_ERR_USAGE);
		/* The output settles for a moment after each drive. */
		for (int tries = 0;; tries++) {
			json_t *r, *p = json_pack("{s:i, s:f}", "session", f->session, "reference", ref);
			int code = 0;
			rc = rpc(f->o, "calibrate.point", p, &r, API_ERR_BUSY, &code);
			if (rc == CTL_OK) {
				show(f->o, r);
				json_decref(r);
				break;
			}
			if (code != API_ERR_BUSY || tries > 40)
				return abandon(f), rc;
			usleep(250000);
		}
	}
	return finish_commit(f, json_object(), c);
}

static int
numbers(json_t *params, const struct copts *c, const char *const *keys)
{
	for (; *keys; keys++) {
		const char *v = opt(c, *keys);
		char *end;
		if (!v)
			continue;
		double d = strtod(v, &end);
		if (end == v || *end) {
			fprintf(stderr, "atelierctl: --%s must be a number, not '%s'\n", *keys, v);
			return -1;
		}
		json_object_set_new(params, *keys, json_real(d));
	}
	return 0;
}

/* Two numbers "AxB" or "A,B" into params a and b. */
static int
pair(json_t *params, const char *v, const char *sep, const char *a, const char *b)
{
	char *end;
	if (!v)
		return 0;
	double x = strtod(v, &end), y = 0;
	bool ok = end != v && strncmp(end, sep, strlen(sep)) == 0;
	if (ok) {
		const char *rest = end + strlen(sep);
		y = strtod(rest, &end);
		ok = end != rest && !*end;
	}
	if (!ok) {
		fprintf(stderr, "atelierctl: '%s' must be two numbers as A%sB\n", v, sep);
		return -1;
	}
	json_object_set_new(params, a, json_real(x));
	json_object_set_new(params, b, json_real(y));
	return 0;
}

static int
run_then_commit(struct flow *f, const struct copts *c, json_t *params, double timeout,
    json_t *commit)
{
	int rc = begin(f, params, c);
	if (rc != CTL_OK) {
		json_decref(commit);
		return rc;
	}
	const char *st = json_string_value(json_object_get(f->last, "state"));
	if (st && strcmp(st, "running") == 0 && (rc = wait_ready(f, timeout)) != 0) {
		json_decref(commit);
		return rc;
	}
	return finish_commit(f, commit, c);
}

static int
laser_flow(struct flow *f, const struct copts *c, const char *what)
{
	static const char *const scale_keys[] = { "size", "x", "y", "power", "feed", NULL };
	static const char *const focus_keys[] = { "x", "y", "dz", "steps", "power", "feed", NULL };
	json_t *p = json_pack("{s:s}", "procedure", "laser.scale");
	double a, b;
	int r;
	if (strcmp(what, "scale") == 0) {
		if (numbers(p, c, scale_keys) < 0)
			return json_decref(p), CTL_ERR_USAGE;
		int rc = begin(f, p, c);
		if (rc != CTL_OK)
			return rc;
		if ((rc = wait_ready(f, 300)) != 0)
			return rc;
		if ((r = need(f, c, "measured-x", "Measured width of the square in X (mm)", &a)) ||
		    (r = need(f, c, "measured-y", "Measured height of the square in Y (mm)", &b)))
			return r > 0 ? CTL_ERR_REFUSED : (abandon(f), CTL_ERR_USAGE);
		return finish_commit(f, json_pack("{s:f, s:f}", "measured_x", a, "measured_y", b), c);
	}
	json_object_set_new(p, "procedure", json_string(strcmp(what, "grid") == 0 ? "laser.grid" :
	    strcmp(what, "focus") == 0 ? "laser.focus" : "laser.origin"));
	if (strcmp(what, "grid") == 0) {
		static const char *const grid_keys[] = { "steps", NULL };
		const char *m = opt(c, "metal");
		if (!m) {
			fprintf(stderr, "atelierctl: --metal (of the test plate) is required\n");
			return json_decref(p), CTL_ERR_USAGE;
		}
		json_object_set_new(p, "metal", json_string(m));
		if (numbers(p, c, grid_keys) < 0 || pair(p, opt(c, "plate"), "x", "plate_w",
		    "plate_h") < 0 || pair(p, opt(c, "at"), ",", "x", "y") < 0)
			return json_decref(p), CTL_ERR_USAGE;
		if (c->preview) {
			json_t *r2;
			json_object_set_new(p, "preview", json_true());
			int rc = rpc(f->o, "calibrate.begin", p, &r2, 0, NULL);
			if (rc == CTL_OK) {
				if (f->o->json)
					show(f->o, r2);
				else
					fputs(json_string_value(json_object_get(r2, "gcode")), stdout);
				json_decref(r2);
			}
			return rc;
		}
		int rc = begin(f, p, c);
		if (rc != CTL_OK)
			return rc;
		if ((rc = wait_ready(f, 900)) != 0)
			return rc;
		if ((r = need(f, c, "power", "Best cell: its power (%)", &a)) ||
		    (r = need(f, c, "speed", "Best cell: its speed (mm/min)", &b)))
			return r > 0 ? CTL_ERR_REFUSED : (abandon(f), CTL_ERR_USAGE);
		return finish_commit(f, json_pack("{s:f, s:f}", "power", a, "speed", b), c);
	}
	if (strcmp(what, "focus") == 0) {
		if (numbers(p, c, focus_keys) < 0)
			return json_decref(p), CTL_ERR_USAGE;
		int rc = begin(f, p, c);
		if (rc != CTL_OK)
			return rc;
		if ((rc = wait_ready(f, 300)) != 0)
			return rc;
		if ((r = need(f, c, "line", "Number of the sharpest line", &a)))
			return r > 0 ? CTL_ERR_REFUSED : (abandon(f), CTL_ERR_USAGE);
		return finish_commit(f, json_pack("{s:f}", "line", a), c);
	}
	/* origin */
	int rc = begin(f, p, c);
	if (rc != CTL_OK)
		return rc;
	json_t *commit = json_object();
	if (numbers(commit, c, (const char *const[]){ "x", "y", NULL }) < 0) {
		json_decref(commit);
		return abandon(f), CTL_ERR_USAGE;
	}
	if (!opt(c, "x") && confirm(c, "Jog the head to the origin (atelierctl laser jog), then"))
		return json_decref(commit), abandon(f);
	return finish_commit(f, commit, c);
}

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: atelierctl [--json] calibrate STATION PROCEDURE [--name VALUE ...] [--yes]\n"
	    "  tank temperature --instrument I [--ref1 C] [--ref2 C]\n"
	    "  tank sweep [--from KHZ --to KHZ --step KHZ --power %%]\n"
	    "  tank power [--power %% --rated W]\n"
	    "  bath voltage|current --instrument I [--set1 V --ref1 V --set2 V --ref2 V]\n"
	    "  bath replenish [--grams G]     bath rhodium\n"
	    "  laser scale [--size MM --x X --y Y] [--measured-x MM --measured-y MM]\n"
	    "  laser grid --metal M [--plate WxH --at X,Y --steps N] [--preview] [--power %% --speed S]\n"
	    "  laser focus [--steps N --dz MM] [--line N]\n"
	    "  laser origin [--x X --y Y]\n"
	    "  laser backup | diff --backup N | restore --backup N\n"
	    "  abort [--session N]\n"
	    "every procedure takes --technician NAME (default: your login name)\n"
	    "       atelierctl calibration history [--station S] [--limit N] | due\n");
}

static int
one_shot(const struct ctl_opts *o, const char *method, json_t *params, const char *what)
{
	json_t *r;
	int rc = rpc(o, method, params, &r, 0, NULL);
	if (rc != CTL_OK)
		return rc;
	if (o->json) {
		show(o, r);
	} else if (json_object_get(r, "message")) {
		show(o, r);
	} else if (json_object_get(r, "differences")) {
		size_t i;
		json_t *e;
		json_array_foreach(json_object_get(r, "differences"), i, e)
			printf("$%lld: now %g, backup %g\n", (long long)json_integer_value(json_object_get(e,
			    "setting")), json_number_value(json_object_get(e, "now")),
			    json_number_value(json_object_get(e, "backup")));
		if (!json_array_size(json_object_get(r, "differences")))
			printf("no setting differs from backup %lld\n",
			    (long long)json_integer_value(json_object_get(r, "backup")));
	} else {
		printf("%s (record %lld)\n", what, (long long)json_integer_value(json_object_get(r,
		    "record")));
	}
	json_decref(r);
	return CTL_OK;
}

int
ctl_calibrate(const struct ctl_opts *o, int argc, char **argv)
{
	struct copts c;
	struct flow f = { o, 0, NULL };
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sigint;      /* no SA_RESTART: a prompt returns at once */
	sigaction(SIGINT, &sa, NULL);
	if (argc >= 2 && strcmp(argv[1], "abort") == 0) {
		json_t *r;
		if (parse_opts(argc - 2, argv + 2, &c) < 0)
			return CTL_ERR_USAGE;
		int rc = rpc(o, "calibrate.status", NULL, &r, 0, NULL);
		if (rc != CTL_OK)
			return rc;
		f.session = opt(&c, "session") ? atoi(opt(&c, "session")) :
		    (int)json_integer_value(json_object_get(r, "session"));
		json_decref(r);
		return f.session > 0 ? abandon(&f) : (fprintf(stderr, "atelierctl: no calibration "
		    "in progress\n"), CTL_ERR_REFUSED);
	}
	if (argc < 3 || parse_opts(argc - 3, argv + 3, &c) < 0) {
		usage(stderr);
		return CTL_ERR_USAGE;
	}
	const char *st = argv[1], *what = argv[2];
	int rc;
	if (strcmp(st, "tank") == 0 && strcmp(what, "temperature") == 0) {
		rc = two_point(&f, &c, "tank.temperature");
	} else if (strcmp(st, "bath") == 0 && (strcmp(what, "voltage") == 0 ||
	    strcmp(what, "current") == 0)) {
		rc = two_point(&f, &c, strcmp(what, "voltage") == 0 ? "bath.voltage" : "bath.current");
	} else if (strcmp(st, "tank") == 0 && (strcmp(what, "sweep") == 0 ||
	    strcmp(what, "power") == 0)) {
		static const char *const sweep_keys[] = { "from", "to", "step", "power", NULL };
		static const char *const power_keys[] = { "power", "rated", NULL };
		bool sweep = strcmp(what, "sweep") == 0;
		json_t *p = json_pack("{s:s}", "procedure", sweep ? "tank.sweep" : "tank.power");
		if (numbers(p, &c, sweep ? sweep_keys : power_keys) < 0) {
			json_decref(p);
			return CTL_ERR_USAGE;
		}
		if (confirm(&c, "Close the lid; the tank will run ultrasound (no heating)")) {
			json_decref(p);
			fprintf(stderr, "atelierctl: calibration abandoned: nothing changed\n");
			return CTL_ERR_REFUSED;
		}
		rc = run_then_commit(&f, &c, p, 300, json_object());
	} else if (strcmp(st, "bath") == 0 && strcmp(what, "replenish") == 0) {
		json_t *p = json_object();
		if (opt(&c, "grams"))
			json_object_set_new(p, "rhodium_grams", json_real(atof(opt(&c, "grams"))));
		if (opt(&c, "technician"))
			json_object_set_new(p, "technician", json_string(opt(&c, "technician")));
		rc = one_shot(o, "bath.replenish", p, "replenishment recorded");
	} else if (strcmp(st, "bath") == 0 && strcmp(what, "rhodium") == 0) {
		rc = one_shot(o, "bath.rhodium", NULL, "");
	} else if (strcmp(st, "laser") == 0 && strcmp(what, "backup") == 0) {
		json_t *p = json_object();
		if (opt(&c, "technician"))
			json_object_set_new(p, "technician", json_string(opt(&c, "technician")));
		rc = one_shot(o, "laser.settings.backup", p, "settings backed up");
	} else if (strcmp(st, "laser") == 0 && (strcmp(what, "diff") == 0 ||
	    strcmp(what, "restore") == 0)) {
		if (!opt(&c, "backup")) {
			fprintf(stderr, "atelierctl: --backup N (the record number of a backup) is "
			    "required\n");
			return CTL_ERR_USAGE;
		}
		json_t *p = json_pack("{s:i}", "backup", atoi(opt(&c, "backup")));
		if (strcmp(what, "diff") == 0)
			return one_shot(o, "laser.settings.diff", p, "");
		json_object_set_new(p, "procedure", json_string("laser.restore"));
		rc = begin(&f, p, &c);
		if (rc == CTL_OK)
			rc = strcmp(wait_state(&f, 60), "recorded") == 0 ? CTL_OK : CTL_ERR_FAILED;
	} else if (strcmp(st, "laser") == 0 && (strcmp(what, "scale") == 0 ||
	    strcmp(what, "grid") == 0 || strcmp(what, "focus") == 0 || strcmp(what, "origin") == 0)) {
		rc = laser_flow(&f, &c, what);
	} else {
		usage(stderr);
		rc = CTL_ERR_USAGE;
	}
	json_decref(f.last);
	return rc;
}

int
ctl_calibration(const struct ctl_opts *o, int argc, char **argv)
{
	struct copts c;
	json_t *r;
	if (argc < 2 || parse_opts(argc - 2, argv + 2, &c) < 0 || (strcmp(argv[1], "history") &&
	    strcmp(argv[1], "due"))) {
		fprintf(stderr, "usage: atelierctl calibration history [--station S] [--limit N] | due\n");
		return CTL_ERR_USAGE;
	}
	bool due = strcmp(argv[1], "due") == 0;
	json_t *p = json_object();
	if (opt(&c, "station"))
		json_object_set_new(p, "station", json_string(opt(&c, "station")));
	if (opt(&c, "limit"))
		json_object_set_new(p, "limit", json_integer(atoi(opt(&c, "limit"))));
	int rc = rpc(o, due ? "calibration.due" : "calibration.history", p, &r, 0, NULL);
	if (rc != CTL_OK)
		return rc;
	if (o->json) {
		show(o, r);
		json_decref(r);
		return CTL_OK;
	}
	size_t i;
	json_t *e;
	int worst = 0;
	json_array_foreach(r, i, e) {
		if (due) {
			const char *s = json_string_value(json_object_get(e, "state"));
			printf("%-6s %-8s %s\n", json_string_value(json_object_get(e, "station")), s,
			    json_string_value(json_object_get(e, "message")));
			if (strcmp(s, "ok"))
				worst = 1;
			continue;
		}
		char *b = json_dumps(json_object_get(e, "before"), JSON_COMPACT);
		char *a = json_dumps(json_object_get(e, "after"), JSON_COMPACT);
		const char *instr = json_string_value(json_object_get(e, "instrument"));
		printf("#%lld %.19s %-5s %-16s %-11s by %s%s%s\n    before %s\n    after  %s\n",
		    (long long)json_integer_value(json_object_get(e, "id")),
		    json_string_value(json_object_get(e, "time")),
		    json_string_value(json_object_get(e, "station")),
		    json_string_value(json_object_get(e, "procedure")),
		    json_string_value(json_object_get(e, "kind")),
		    json_string_value(json_object_get(e, "technician")), instr ? " with " : "",
		    instr ? instr : "", b ? b : "null", a ? a : "null");
		free(a);
		free(b);
	}
	if (!due && json_array_size(r) == 0)
		printf("no calibration recorded\n");
	json_decref(r);
	/* `calibration due` exits 3 when a station is overdue, for scripts. */
	return due && worst ? CTL_ERR_REFUSED : CTL_OK;
}
