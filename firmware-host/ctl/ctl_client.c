/*
 * atelierctl's commands that talk to the daemon over its JSON-RPC socket:
 * status, watch, estop reset, laser, tank, bath, methods. Each prints a
 * short human answer, or the daemon's JSON with --json, and exits with the
 * codes of ctl.h: refused (policy, interlock, role) is 3, not reachable 4,
 * failed 5.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/api.h"
#include "ctl.h"
#include "policy/policy.h"
#include "util.h"

static int
connect_daemon(const struct ctl_opts *o)
{
	int fd = unix_connect(o->socket);
	if (fd < 0)
		fprintf(stderr, "atelierctl: cannot reach atelierd at %s: %s\n", o->socket,
		    strerror(errno));
	return fd;
}

/* Reads one line (a JSON object); NULL on end or after timeout s (<0: none). */
static json_t *
read_message(int fd, double timeout)
{
	static struct buf in;
	double end = now_mono() + timeout;
	for (;;) {
		char *nl = in.data ? memchr(in.data, '\n', in.len) : NULL;
		if (nl) {
			json_t *j = json_loadb(in.data, (size_t)(nl - in.data), 0, NULL);
			buf_consume(&in, (size_t)(nl - in.data) + 1);
			if (j)
				return j;
			continue;
		}
		int ms = timeout < 0 ? -1 : (int)((end - now_mono()) * 1000);
		if (timeout >= 0 && ms <= 0)
			return NULL;
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, ms) <= 0)
			return NULL;
		char tmp[4096];
		ssize_t n = read(fd, tmp, sizeof tmp);
		if (n <= 0)
			return NULL;
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
		return CTL_ERR_REFUSED;
	case API_ERR_INVALID_PARAMS:
	case API_ERR_INVALID:
		return CTL_ERR_USAGE;
	default:
		return CTL_ERR_FAILED;
	}
}

int
ctl_call(const struct ctl_opts *o, const char *method, json_t *params, json_t **result)
{
	int fd = connect_daemon(o);
	*result = NULL;
	if (fd < 0) {
		json_decref(params);
		return CTL_ERR_CONNECT;
	}
	if (!params)
		params = json_object();
	/* The station meant, for the methods that take one; the others
	 * ignore it. */
	if (o->station && json_is_object(params) && !json_object_get(params, "station"))
		json_object_set_new(params, "station", json_string(o->station));
	json_t *req = json_pack("{s:s, s:i, s:s, s:o}", "jsonrpc", "2.0", "id", 1, "method", method,
	    "params", params);
	char *text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	int rc = write_all(fd, text, strlen(text)) == 0 && write_all(fd, "\n", 1) == 0 ? 0 : -1;
	free(text);
	json_t *reply = NULL;
	while (rc == 0 && (reply = read_message(fd, 120)) != NULL) {
		if (json_object_get(reply, "id"))
			break;
		json_decref(reply);     /* a notification */
	}
	close(fd);
	if (!reply) {
		fprintf(stderr, "atelierctl: no answer from atelierd\n");
		return CTL_ERR_CONNECT;
	}
	json_t *err = json_object_get(reply, "error");
	if (err) {
		int code = (int)json_integer_value(json_object_get(err, "code"));
		const char *msg = json_string_value(json_object_get(err, "message"));
		if (o->json) {
			char *t = json_dumps(err, JSON_INDENT(2) | JSON_REAL_PRECISION(12));
			puts(t);
			free(t);
		} else {
			fprintf(stderr, "atelierctl: %s\n", msg ? msg : "the request failed");
		}
		json_decref(reply);
		return exit_for(code);
	}
	*result = json_incref(json_object_get(reply, "result"));
	json_decref(reply);
	return CTL_OK;
}

int
ctl_print_result(const struct ctl_opts *o, json_t *r, const char *human)
{
	if (o->json) {
		char *t = json_dumps(r, JSON_INDENT(2) | JSON_REAL_PRECISION(12));
		puts(t);
		free(t);
	} else if (human) {
		puts(human);
	}
	json_decref(r);
	return CTL_OK;
}

static int
simple(const struct ctl_opts *o, const char *method, json_t *params, const char *human)
{
	json_t *r;
	int rc = ctl_call(o, method, params, &r);
	return rc == CTL_OK ? ctl_print_result(o, r, human) : rc;
}

int
ctl_status(const struct ctl_opts *o, int argc, char **argv)
{
	json_t *r;
	(void)argv;
	if (argc != 1)
		return CTL_ERR_USAGE;
	int rc = ctl_call(o, "status", NULL, &r);
	if (rc != CTL_OK || o->json)
		return rc == CTL_OK ? ctl_print_result(o, r, NULL) : rc;
	json_t *il = json_object_get(r, "interlock");
	printf("interlock: %s\n", json_is_true(json_object_get(il, "latched")) ?
	    "EMERGENCY STOP LATCHED (a technician must reset it)" : "not latched");
	const char *key;
	json_t *v;
	json_object_foreach(json_object_get(il, "reasons"), key, v)
		printf("  %-12s forbidden: %s\n", key, json_string_value(v));
	printf("stations:\n");
	json_object_foreach(json_object_get(r, "stations"), key, v) {
		const char *detail = json_string_value(json_object_get(v, "detail"));
		printf("  %-12s %s%s%s\n", key, json_string_value(json_object_get(v, "state")),
		    detail && *detail ? ": " : "", detail ? detail : "");
	}
	json_object_foreach(json_object_get(r, "queues"), key, v) {
		size_t i;
		json_t *q;
		json_array_foreach(json_object_get(v, "queued"), i, q)
			printf("  %-12s waiting: job %lld step %lld (%s, %s)\n", key,
			    (long long)json_integer_value(json_object_get(q, "job")),
			    (long long)json_integer_value(json_object_get(q, "seq")),
			    json_string_value(json_object_get(q, "step")),
			    json_string_value(json_object_get(q, "serial")));
	}
	printf("devices:\n");
	json_object_foreach(json_object_get(r, "devices"), key, v) {
		char *t = json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(12));
		printf("  %-12s %s\n", key, t);
		free(t);
	}
	if (json_is_string(json_object_get(r, "fleet")))
		printf("%s\n", json_string_value(json_object_get(r, "fleet")));
	json_decref(r);
	return CTL_OK;
}

int
ctl_watch(const struct ctl_opts *o, int argc, char **argv)
{
	long max = argc >= 3 && strcmp(argv[1], "--count") == 0 ? atol(argv[2]) : -1;
	int fd = connect_daemon(o);
	if (fd < 0)
		return CTL_ERR_CONNECT;
	const char *req = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"watch\"}\n";
	if (write_all(fd, req, strlen(req)) < 0) {
		close(fd);
		return CTL_ERR_CONNECT;
	}
	long seen = 0;
	json_t *m;
	while ((max < 0 || seen < max) && (m = read_message(fd, -1)) != NULL) {
		if (json_object_get(m, "method")) {
			char *t = json_dumps(o->json ? m : json_object_get(m, "params"), JSON_COMPACT |
			    JSON_REAL_PRECISION(12));
			if (o->json)
				puts(t);
			else
				printf("%s %s\n", json_string_value(json_object_get(m, "method")), t);
			fflush(stdout);
			free(t);
			seen++;
		}
		json_decref(m);
	}
	close(fd);
	return CTL_OK;
}

int
ctl_estop(const struct ctl_opts *o, int argc, char **argv)
{
	if (argc != 2 || strcmp(argv[1], "reset") != 0) {
		fprintf(stderr, "usage: atelierctl estop reset\n");
		return CTL_ERR_USAGE;
	}
	return simple(o, "estop.reset", NULL, "emergency stop reset");
}

int
ctl_methods(const struct ctl_opts *o, int argc, char **argv)
{
	json_t *r;
	(void)argc;
	(void)argv;
	int rc = ctl_call(o, "methods", NULL, &r);
	if (rc != CTL_OK || o->json)
		return rc == CTL_OK ? ctl_print_result(o, r, NULL) : rc;
	size_t i;
	json_t *m;
	json_array_foreach(r, i, m)
		printf("%-16s %-11s %s\n", json_string_value(json_object_get(m, "method")),
		    json_string_value(json_object_get(m, "role")),
		    json_string_value(json_object_get(m, "summary")));
	json_decref(r);
	return CTL_OK;
}

int
ctl_laser(const struct ctl_opts *o, int argc, char **argv)
{
	if (argc == 3 && (strcmp(argv[1], "stream") == 0 || strcmp(argv[1], "frame") == 0)) {
		char *text = file_read(argv[2], 0, NULL);
		if (!text) {
			fprintf(stderr, "atelierctl: cannot open %s: %s\n", argv[2], strerror(errno));
			return CTL_ERR_FAILED;
		}
		json_t *p = json_pack("{s:s}", "gcode", text);
		free(text);
		if (!p) {
			fprintf(stderr, "atelierctl: %s is not text\n", argv[2]);
			return CTL_ERR_FAILED;
		}
		if (strcmp(argv[1], "frame") == 0)
			return simple(o, "laser.frame", p, "framing the program with the laser off");
		return simple(o, "laser.stream", p, "checked in GRBL's check mode; engraving started");
	}
	if (argc == 4 && strcmp(argv[1], "setting") == 0) {
		char *end;
		long n = strtol(argv[2], &end, 10);
		double v = strtod(argv[3], NULL);
		if (*end || n < 0 || n > 255) {
			fprintf(stderr, "atelierctl: '%s' is not a GRBL setting number (0 to 255)\n", argv[2]);
			return CTL_ERR_USAGE;
		}
		return simple(o, "laser.setting", json_pack("{s:i, s:f}", "setting", (int)n, "value", v),
		    "written and read back");
	}
	if (argc == 2 && strcmp(argv[1], "hold") == 0)
		return simple(o, "laser.hold", NULL, "held");
	if (argc == 2 && strcmp(argv[1], "resume") == 0)
		return simple(o, "laser.resume", NULL, "resumed");
	if (argc == 2 && strcmp(argv[1], "abort") == 0)
		return simple(o, "laser.abort", NULL, "aborted, laser off");
	if (argc == 2 && strcmp(argv[1], "unlock") == 0)
		return simple(o, "laser.unlock", NULL, "unlocked ($X)");
	if ((argc == 4 || argc == 5) && strcmp(argv[1], "jog") == 0)
		return simple(o, "laser.jog", json_pack("{s:f, s:f, s:f}", "x", atof(argv[2]), "y",
		    atof(argv[3]), "feed", argc == 5 ? atof(argv[4]) : 600.0), "jogging");
	fprintf(stderr, "usage: atelierctl laser stream FILE | frame FILE | hold | resume | abort | unlock | "
	    "jog X Y [FEED] | setting N VALUE\n");
	return CTL_ERR_USAGE;
}

json_t *
ctl_gem_arg(const char *arg)
{
	struct policy_gem_arg g;
	char err[300];
	if (policy_gem_arg_parse(arg, &g, err, sizeof err) < 0) {
		fprintf(stderr, "atelierctl: %s\n", err);
		return NULL;
	}
	json_t *o = json_pack("{s:s}", "species", g.species);
	if (!o) {
		fprintf(stderr, "atelierctl: --gem %s: not UTF-8 text\n", arg);
		return NULL;
	}
	if (g.treatment[0])
		json_object_set_new(o, "treatment", json_string(g.treatment));
	if (g.count)
		json_object_set_new(o, "count", json_integer(g.count));
	return o;
}

/* --metal M --gem SPECIES[:TREATMENT][:COUNT] ... make one piece; NULL
 * after printing why. */
static json_t *
piece_from_flags(int argc, char **argv, json_t *params)
{
	json_t *gems = json_array();
	const char *metal = NULL;
	for (int i = 2; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--metal") == 0) {
			metal = argv[i + 1];
		} else if (strcmp(argv[i], "--gem") == 0) {
			json_t *g = ctl_gem_arg(argv[i + 1]);
			if (!g) {
				json_decref(gems);
				json_decref(params);
				return NULL;
			}
			json_array_append_new(gems, g);
		} else if (argv[i][0] == '-' && argv[i][1] == '-') {
			json_object_set_new(params, argv[i] + 2, json_real(atof(argv[i + 1])));
		}
	}
	json_t *piece = json_pack("{s:o}", "gems", gems);
	if (metal)
		json_object_set_new(piece, "metal", json_string(metal));
	json_object_set_new(params, "pieces", json_pack("[o]", piece));
	return params;
}

int
ctl_tank(const struct ctl_opts *o, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "start") == 0) {
		json_t *params = piece_from_flags(argc, argv, json_object());
		return params ? simple(o, "tank.start", params, "cleaning started") : CTL_ERR_USAGE;
	}
	if (argc == 2 && strcmp(argv[1], "stop") == 0)
		return simple(o, "tank.stop", NULL, "tank stopped");
	fprintf(stderr, "usage: atelierctl tank start --metal M --gem SPECIES[:TREATMENT][:COUNT]... "
	    "[--seconds S] [--power P] [--frequency KHZ] [--temperature C] | stop\n");
	return CTL_ERR_USAGE;
}

int
ctl_bath(const struct ctl_opts *o, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "plate") == 0) {
		json_t *params = piece_from_flags(argc, argv, json_object());
		return params ? simple(o, "bath.plate", params, "started (a cold bath is heated first)") :
		    CTL_ERR_USAGE;
	}
	if (argc == 2 && strcmp(argv[1], "stop") == 0)
		return simple(o, "bath.stop", NULL, "rectifier stopped");
	fprintf(stderr, "usage: atelierctl bath plate --metal M [--gem SPECIES[:TREATMENT][:COUNT]]... "
	    "--volts V --amps A --seconds S | stop\n");
	return CTL_ERR_USAGE;
}
