/*
 * The station methods' parameters (api_methods.c) on a daemon with no
 * devices: the shipped sim bench and catalogue, a real journal file in
 * /tmp, and the API's dispatch core. What it proves, from issue 19: a
 * piece's fields of the wrong type, or a duration outside its documented
 * range, are refused naming the field, before any station is asked.
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "daemon.h"
#include "jobs.h"
#include "loop.h"
#include "store.h"
#include "test.h"

static struct daemon d;
static char dir[64], path[128];
static int code;
static char msg[1200];

static void
remove_dir(void)
{
	if (!dir[0])
		return;
	DIR *dp = opendir(dir);
	struct dirent *e;
	while (dp && (e = readdir(dp)) != NULL) {
		char f[400];
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
			snprintf(f, sizeof f, "%s/%s", dir, e->d_name);
			unlink(f);
		}
	}
	if (dp)
		closedir(dp);
	rmdir(dir);
	dir[0] = '\0';
}

/* A daemon as atelierd makes one, without its devices and API socket. */
static bool
daemon_up(void)
{
	char err[300];
	struct cfg_errors e = { 0 };
	memset(&d, 0, sizeof d);
	d.cfg = cfg_load("config/sim.yaml", &e);
	d.catalog = d.cfg ? cfg_catalog_load(d.cfg, &e) : NULL;
	for (size_t i = 0; i < e.n; i++)
		printf("  %s\n", e.msgs[i]);
	cfg_errors_free(&e);
	snprintf(dir, sizeof dir, "/tmp/atelier-engine-XXXXXX");
	if (!mkdtemp(dir))
		dir[0] = '\0';
	snprintf(path, sizeof path, "%s/journal.db", dir);
	d.store = dir[0] ? store_open(path, err, sizeof err) : NULL;
	d.loop = loop_new();
	CHECK(d.cfg && d.catalog && d.store);
	return d.cfg && d.catalog && d.store;
}

static void
daemon_down(void)
{
	jobs_shutdown(&d);
	json_decref(d.jobs.queues);
	store_close(d.store);
	loop_free(d.loop);
	cfg_catalog_free(d.catalog);
	cfg_free(d.cfg);
	remove_dir();
}

/* Runs one request through the daemon's methods as a technician. */
static const char *
method(const char *name, const char *params)
{
	static char reply[2048];
	struct api_limits lim = { 65536, 1 << 20, 4 };
	struct api *api = api_new(&lim, daemon_methods, daemon_n_methods, NULL, NULL);
	api_set_data(api, &d);
	char line[1024];
	snprintf(line, sizeof line, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\",\"params\":%s}",
	    name, params);
	struct buf out;
	buf_init(&out);
	struct api_call ctx = { .api = api, .role = API_ROLE_TECHNICIAN };
	api_handle_line(api, &ctx, line, strlen(line), &out);
	snprintf(reply, sizeof reply, "%s", out.data ? out.data : "");
	buf_free(&out);
	api_free(api);
	return reply;
}

/* Issue 19, item C: a treatment of 5 was taken as "none" and the tank
 * started on a diamond; every field of a piece is read for its type. */
static void
t_piece_fields_typed(void)
{
	if (!daemon_up())
		return daemon_down();
	static const struct { const char *piece, *field; } bad[] = {
		{ "{\"metal\":\"platinum\",\"gems\":[{\"species\":\"diamond\",\"treatment\":5}]}",
		  "pieces[0].gems[0].treatment must be a name" },
		{ "{\"metal\":\"platinum\",\"gems\":[{\"species\":\"diamond\","
		  "\"treatment\":[\"fracture-filled\"]}]}", "pieces[0].gems[0].treatment must be a name" },
		{ "{\"metal\":\"platinum\",\"gems\":[{\"species\":\"diamond\",\"treatment\":true}]}",
		  "pieces[0].gems[0].treatment must be a name" },
		{ "{\"metal\":\"platinum\",\"gems\":[{\"species\":\"diamond\",\"treatment\":null}]}",
		  "pieces[0].gems[0].treatment must be a name" },
		{ "{\"metal\":\"platinum\",\"gems\":[{\"species\":\"diamond\",\"treatment\":\"\"}]}",
		  "pieces[0].gems[0].treatment must be a name" },
		{ "{\"metal\":\"platinum\",\"gems\":[{\"species\":7}]}",
		  "pieces[0].gems[0].species must be a name" },
		{ "{\"metal\":[\"platinum\"]}", "pieces[0].metal must be a name" },
		{ "{\"metal\":\"platinum\",\"barrier_layer\":\"yes\"}",
		  "pieces[0].barrier_layer must be true or false" },
		{ "{\"metal\":\"platinum\",\"gems\":[{\"species\":\"diamond\",\"treatmnet\":\"filled\"}]}",
		  "pieces[0].gems[0]: unknown field 'treatmnet'" },
		{ "{\"metal\":\"platinum\",\"gems\":[{\"species\":\"diamond\",\"count\":9223372036854775807}]}",
		  "pieces[0].gems[0].count must be a whole number from 1 to 10000" },
		{ "{\"metal\":\"platinum\",\"gems\":[\"diamond\"]}",
		  "pieces[0].gems[0] must be an object" },
	};
	char params[600];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(params, sizeof params, "{\"pieces\":[%s],\"seconds\":30}", bad[i].piece);
		const char *r = method("tank.start", params);
		CHECK_CONTAINS(r, "\"code\":-32602");
		CHECK_CONTAINS(r, bad[i].field);
		snprintf(params, sizeof params, "{\"pieces\":[%s],\"volts\":2,\"amps\":1,\"seconds\":30}",
		    bad[i].piece);
		r = method("bath.plate", params);
		CHECK_CONTAINS(r, "\"code\":-32602");
		CHECK_CONTAINS(r, bad[i].field);
		snprintf(params, sizeof params, "{\"engraving\":{\"text\":\"A\",\"area\":\"rect\","
		    "\"width\":10,\"height\":4},\"pieces\":[%s]}", bad[i].piece);
		r = method("engrave.start", params);
		CHECK_CONTAINS(r, "\"code\":-32602");
		CHECK_CONTAINS(r, bad[i].field);
	}
	CHECK_CONTAINS(method("engrave.start", "{\"engraving\":{\"text\":\"A\",\"area\":\"rect\","
	    "\"width\":10,\"height\":4},\"pieces\":[{\"metal\":\"platinum\"}],\"override\":\"yes\"}"),
	    "'override' must be true or false");
	/* Good pieces pass to the station, which finds no tank here. */
	CHECK_CONTAINS(method("tank.start", "{\"pieces\":[{\"metal\":\"platinum\",\"gems\":"
	    "[{\"species\":\"diamond\",\"treatment\":\"none\",\"count\":2}]}],\"seconds\":30}"),
	    "the cleaning tank is not connected");
	/* A fracture-filled diamond said properly is refused by policy. */
	CHECK_CONTAINS(method("tank.start", "{\"pieces\":[{\"metal\":\"platinum\",\"gems\":"
	    "[{\"species\":\"diamond\",\"treatment\":\"fracture_filled\"}]}],\"seconds\":30}"),
	    "\"code\":1002");
	daemon_down();
}

/* Issue 19, item C: "seconds": 1e-300 against "1..600 s". */
static void
t_durations_in_range(void)
{
	if (!daemon_up())
		return daemon_down();
	char params[300], want[120];
	double max = d.cfg->tank.max_cycle;
	static const char *const tank_bad[] = { "1e-300", "0", "-5", "0.999", "1e300" };
	for (size_t i = 0; i < sizeof tank_bad / sizeof tank_bad[0]; i++) {
		snprintf(params, sizeof params, "{\"pieces\":[{\"metal\":\"platinum\"}],\"seconds\":%s}",
		    tank_bad[i]);
		const char *r = method("tank.start", params);
		CHECK_CONTAINS(r, "\"code\":1007");
		snprintf(want, sizeof want, "'seconds' must be from 1 to %g s", max);
		CHECK_CONTAINS(r, want);
		snprintf(params, sizeof params, "{\"pieces\":[{\"metal\":\"platinum\"}],\"volts\":2,"
		    "\"amps\":1,\"seconds\":%s}", tank_bad[i]);
		r = method("bath.plate", params);
		CHECK_CONTAINS(r, "\"code\":1007");
		CHECK_CONTAINS(r, "'seconds' must be from 1 to 3600 s");
	}
	snprintf(params, sizeof params, "{\"pieces\":[{\"metal\":\"platinum\"}],\"seconds\":%g}",
	    max + 1);
	CHECK_CONTAINS(method("tank.start", params), "\"code\":1007");
	CHECK_CONTAINS(method("bath.plate", "{\"pieces\":[{\"metal\":\"platinum\"}],\"volts\":2,"
	    "\"amps\":1,\"seconds\":3601}"), "\"code\":1007");
	CHECK_CONTAINS(method("tank.start", "{\"pieces\":[{\"metal\":\"platinum\"}],\"seconds\":\"30\"}"),
	    "'seconds' must be a number");
	/* The ends of the ranges are in them. */
	snprintf(params, sizeof params, "{\"pieces\":[{\"metal\":\"platinum\"}],\"seconds\":%g}", max);
	CHECK_CONTAINS(method("tank.start", params), "not connected");
	CHECK_CONTAINS(method("tank.start", "{\"pieces\":[{\"metal\":\"platinum\"}],\"seconds\":1}"),
	    "not connected");
	CHECK_CONTAINS(method("bath.plate", "{\"pieces\":[{\"metal\":\"platinum\"}],\"volts\":2,"
	    "\"amps\":1,\"seconds\":3600}"), "not connected");
	/* The station checks again, for callers other than the API. */
	struct policy_piece p = { "platinum", NULL, 0, false, false };
	CHECK_INT(station_tank_start(&d, &p, 1, 1e-300, 80, 40, 45, &code, msg, sizeof msg), -1);
	CHECK_INT(code, 1007);
	CHECK_INT(station_tank_start(&d, &p, 1, NAN, 80, 40, 45, &code, msg, sizeof msg), -1);
	CHECK_INT(code, 1007);
	CHECK_INT(station_bath_plate(&d, &p, 1, 2, 1, 0.5, &code, msg, sizeof msg), -1);
	CHECK_INT(code, 1007);
	CHECK_INT(station_bath_plate(&d, &p, 1, 2, 1, NAN, &code, msg, sizeof msg), -1);
	CHECK_INT(code, 1007);
	daemon_down();
}

int
main(void)
{
	RUN(t_piece_fields_typed);
	RUN(t_durations_in_range);
	return test_summary();
}
