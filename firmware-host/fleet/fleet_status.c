/*
 * atelier-sync's state in a small JSON file it rewrites as it works (see
 * fleet.h): atelierd's status and `atelierctl fleet status` read it, so
 * that neither asks the sender anything nor waits for it. The file is
 * replaced by rename, never seen half-written; a file not rewritten for
 * a while, or whose writer is gone, says atelier-sync is not running.
 */
#include "fleet/fleet.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

/* atelier-sync rewrites the file at least this often while it runs. */
#define FLEET_STATUS_STALE 15.0

char *
fleet_status_path(const struct cfg *cfg)
{
	const char *f = cfg->fleet.status_file ? cfg->fleet.status_file : "fleet-status.json";
	if (f[0] == '/')
		return xstrdup(f);
	/* The state folder as atelierd finds it (relative to the devices'
	 * folder, as the simulator's run folder is). */
	char *state = cfg_device_path(cfg, cfg->state_dir ? cfg->state_dir : ".");
	char *path = xasprintf("%s/%s", state, f);
	free(state);
	return path;
}

int
fleet_status_write(const char *path, const struct fleet_status *st)
{
	json_t *o = json_pack("{s:s, s:i, s:b, s:I, s:{s:b, s:b}, s:{s:b, s:b}, s:s, s:f, s:f}",
	    "program", "atelier-sync", "pid", st->pid, "stopped", st->stopped,
	    "position", (json_int_t)st->position,
	    "postgres", "configured", st->postgres, "ok", st->postgres_ok,
	    "mqtt", "configured", st->mqtt, "ok", st->mqtt_ok,
	    "error", st->error, "error_since", st->error_since, "updated", st->updated);
	char *tmp = xasprintf("%s.tmp", path);
	int rc = json_dump_file(o, tmp, JSON_COMPACT);
	json_decref(o);
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -1;
	if (rc < 0) {
		int saved = errno;
		unlink(tmp);
		errno = saved;
	}
	free(tmp);
	return rc;
}

int
fleet_status_read(const char *path, struct fleet_status *st, char *err, size_t len)
{
	memset(st, 0, sizeof *st);
	json_error_t je;
	json_t *o = json_load_file(path, 0, &je);
	if (!o)
		return fail_msg(err, len, "%s cannot be read: %s", path,
		    access(path, F_OK) == 0 ? je.text : "there is none");
	json_t *pg = json_object_get(o, "postgres"), *mq = json_object_get(o, "mqtt");
	const char *program = json_string_value(json_object_get(o, "program"));
	if (!program || strcmp(program, "atelier-sync") != 0 ||
	    !json_is_integer(json_object_get(o, "position"))) {
		json_decref(o);
		return fail_msg(err, len, "%s is not atelier-sync's status", path);
	}
	st->pid = (int)json_integer_value(json_object_get(o, "pid"));
	st->stopped = json_is_true(json_object_get(o, "stopped"));
	st->position = json_integer_value(json_object_get(o, "position"));
	st->postgres = json_is_true(json_object_get(pg, "configured"));
	st->postgres_ok = json_is_true(json_object_get(pg, "ok"));
	st->mqtt = json_is_true(json_object_get(mq, "configured"));
	st->mqtt_ok = json_is_true(json_object_get(mq, "ok"));
	snprintf(st->error, sizeof st->error, "%s",
	    json_string_value(json_object_get(o, "error")) ?
	    json_string_value(json_object_get(o, "error")) : "");
	st->error_since = json_number_value(json_object_get(o, "error_since"));
	st->updated = json_number_value(json_object_get(o, "updated"));
	json_decref(o);
	return 0;
}

static const char *
link_word(bool configured, bool ok)
{
	return !configured ? "not configured" : ok ? "ok" : "down";
}

json_t *
fleet_status_json(const struct cfg *cfg, int64_t local_last, char *line, size_t len)
{
	const struct cfg_fleet *f = &cfg->fleet;
	if (!f->workshop) {
		snprintf(line, len, "fleet: not configured (this workshop works alone)");
		return json_pack("{s:b}", "configured", 0);
	}
	char *path = fleet_status_path(cfg);
	struct fleet_status st;
	char err[400];
	bool have = fleet_status_read(path, &st, err, sizeof err) == 0;
	double age = have ? now_wall() - st.updated : 0;
	bool alive = have && !st.stopped && age < FLEET_STATUS_STALE &&
	    (st.pid <= 0 || kill(st.pid, 0) == 0 || errno == EPERM);
	char sync[480];
	if (!have)
		snprintf(sync, sizeof sync, "atelier-sync has not run (%s)", err);
	else if (st.stopped)
		snprintf(sync, sizeof sync, "atelier-sync is stopped");
	else if (!alive)
		snprintf(sync, sizeof sync, "atelier-sync is not running (its status is %.0f s old)",
		    age);
	else
		snprintf(sync, sizeof sync, "running");
	int64_t position = have ? st.position : 0;
	int64_t backlog = local_last > position ? local_last - position : 0;
	json_t *o = json_pack("{s:b, s:s, s:s, s:I, s:I, s:I, s:s, s:s, s:s, s:s}",
	    "configured", 1, "workshop", f->workshop, "sync", sync,
	    "position", (json_int_t)position, "journal", (json_int_t)local_last,
	    "backlog", (json_int_t)backlog,
	    "postgres", !f->postgres ? "not configured" : !alive ? "unknown" :
	    link_word(true, st.postgres_ok),
	    "mqtt", !f->mqtt.host ? "not configured" : !alive ? "unknown" :
	    link_word(true, st.mqtt_ok),
	    "error", have ? st.error : "", "status_file", path);
	if (have)
		json_object_set_new(o, "pid", json_integer(st.pid));
	if (have && st.error[0] && st.error_since > 0)
		json_object_set_new(o, "error_for_seconds", json_real(now_wall() - st.error_since));
	if (!alive)
		snprintf(line, len, "fleet %s: %s; %lld event%s not sent", f->workshop, sync,
		    (long long)backlog, backlog == 1 ? "" : "s");
	else
		snprintf(line, len, "fleet %s: sent to event %lld, backlog %lld, PostgreSQL %s, "
		    "MQTT %s%s%s", f->workshop, (long long)position, (long long)backlog,
		    json_string_value(json_object_get(o, "postgres")),
		    json_string_value(json_object_get(o, "mqtt")), st.error[0] ? "; last error: " : "",
		    st.error);
	free(path);
	return o;
}
