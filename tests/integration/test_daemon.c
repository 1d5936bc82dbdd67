/*
 * atelierd against the simulator, judged by what physically happened (the
 * simulator's actuators.log): an e-stop and an open door during an
 * engraving, the lid opened during ultrasound, a fume fault during
 * plating, a device link lost during a process, the daemon killed during
 * a process (the devices' own watchdogs and the relay board take over;
 * the restarted daemon comes up safe), and a pearl sent to the tank
 * through the station API itself, refused by the station.
 */
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "journal/store.h"
#include "simproc.h"
#include "test.h"
#include "util.h"

static struct simproc sp;
static pid_t daemon_pid;
static int api = -1;

static bool
wait_log(const char *what, const char *value, int at_least, double timeout)
{
	return simproc_wait_actuator(&sp, what, value, at_least, timeout);
}

static int
count(const char *what, const char *value)
{
	return simproc_actuator_count(&sp, what, value);
}

#define LASER_ON "\"device\":\"laser\",\"actuator\":\"emission\""
#define GPIO(x) "\"device\":\"gpio\",\"actuator\":\"" x "\""
#define ON "\"value\":1"
#define OFF "\"value\":0"

static const char *long_job =
    "{\"gcode\":\"G21 G90\\nM4 S400\\nG1 X40 F300\\nG1 Y40\\nG1 X0\\nG1 Y0\\nG1 X40\\nG1 Y40\\nM5\\n\"}";

static void
fresh_daemon(void)
{
	if (api >= 0)
		close(api);
	daemon_pid = simproc_daemon_start(&sp, NULL);
	api = simproc_api_connect(&sp);
}

static bool
status_has(void *needle)
{
	return strstr(simproc_api_call(api, "status", NULL), needle) != NULL;
}

static void
wait_ready(void)
{
	CHECK(wait_until(status_has, "\"link\": \"ready\"", 20) ||
	    wait_until(status_has, "\"link\":\"ready\"", 20));
	CHECK(wait_until(status_has, "\"bath_heater\":{\"up\":true", 20));
	CHECK(wait_until(status_has, "\"tank\":{\"up\":true", 20));
}

static void
t_starts_safe(void)
{
	CHECK(daemon_pid > 0 && api >= 0);
	wait_ready();
	const char *st = simproc_api_call(api, "status", NULL);
	CHECK_CONTAINS(st, "\"laser.enable\":0");
	CHECK_CONTAINS(st, "\"latched\":false");
	CHECK_INT(count(ON, NULL), 0);      /* nothing was ever energised */
}

static bool
laser_state(void *want)
{
	char reply[600];
	simproc_ctl(&sp, reply, sizeof reply, "status laser");
	return strstr(reply, (const char *)want) != NULL;
}

static void
t_estop_during_engraving(void)
{
	CHECK_CONTAINS(simproc_api_call(api, "laser.stream", long_job), "\"running\"");
	CHECK(wait_log(LASER_ON, ON, 1, 20));
	int offs = count(GPIO("laser.enable"), OFF);
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "estop press"), 0);
	CHECK(wait_log(GPIO("laser.enable"), OFF, offs + 1, 10));
	CHECK(wait_log(LASER_ON, OFF, 1, 10));
	/* The laser got the reset byte while moving: GRBL says ALARM:3. */
	CHECK(wait_until(laser_state, "\"state\":\"Alarm\"", 5));
	CHECK_CONTAINS(simproc_api_call(api, "status", NULL), "\"latched\":true");
	/* Latched: still refused after release, until a technician resets. */
	simproc_ctl(&sp, NULL, 0, "estop release");
	usleep(300000);
	CHECK_CONTAINS(simproc_api_call(api, "laser.stream", long_job), "latched");
	CHECK_CONTAINS(simproc_api_call(api, "estop.reset", NULL), "\"latched\":false");
	CHECK_CONTAINS(simproc_api_call(api, "estop.reset", NULL), "not latched");
}

static bool
laser_idle(void *arg)
{
	(void)arg;
	char reply[600];
	simproc_ctl(&sp, reply, sizeof reply, "status laser");
	return strstr(reply, "\"Idle\"") != NULL;
}

/* Unlocks GRBL (after a reset in an earlier test) and waits for Idle. */
static void
laser_ready(void)
{
	simproc_api_call(api, "laser.abort", NULL);
	simproc_api_call(api, "laser.unlock", NULL);
	CHECK(wait_until(laser_idle, NULL, 20));
	/* The daemon has heard it too, and the station is ready. */
	CHECK(wait_until(status_has, "\"state\":\"Idle\",\"substate\"", 20));
	CHECK(wait_until(status_has, "\"laser\":{\"kind\":\"laser\",\"state\":\"idle\"", 20));
}

static void
t_door_during_engraving(void)
{
	laser_ready();
	int ons = count(LASER_ON, ON), relay_offs = count(GPIO("laser.enable"), OFF);
	CHECK_CONTAINS(simproc_api_call(api, "laser.stream", long_job), "\"running\"");
	CHECK(wait_log(LASER_ON, ON, ons + 1, 20));
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "door open"), 0);
	CHECK(wait_log(GPIO("laser.enable"), OFF, relay_offs + 1, 10));
	CHECK(wait_until(laser_state, "\"state\":\"Door\"", 10));
	CHECK(wait_until(laser_state, "\"emitting\":false", 10));
	CHECK_CONTAINS(simproc_api_call(api, "status", NULL), "the laser door is open");
	/* Whatever GRBL does, the beam is off: the last emission line is 0. */
	CHECK(count(LASER_ON, OFF) >= count(LASER_ON, ON));
	simproc_ctl(&sp, NULL, 0, "door close");
	simproc_api_call(api, "laser.abort", NULL);
}

static const char *diamond_load =
    "{\"pieces\":[{\"metal\":\"white_gold\",\"gems\":[{\"species\":\"diamond\",\"count\":12}]}],"
    "\"seconds\":120}";

static void
t_pearl_refused_by_the_station(void)
{
	int before = count(GPIO("tank.ultrasound_enable"), ON);
	const char *r = simproc_api_call(api, "tank.start",
	    "{\"pieces\":[{\"metal\":\"white_gold\",\"gems\":[{\"species\":\"diamond\"}]},"
	    "{\"metal\":\"platinum\",\"gems\":[{\"species\":\"pearl\"}]}],\"seconds\":60}");
	CHECK_CONTAINS(r, "\"code\":1002");
	CHECK_CONTAINS(r, "ultrasonic cleaning refused: pearl (never)");
	usleep(300000);
	CHECK_INT(count(GPIO("tank.ultrasound_enable"), ON), before);
	CHECK_INT(count("\"device\":\"tank\",\"actuator\":\"ultrasound\"", ON), 0);
}

static void
t_lid_during_ultrasound(void)
{
	CHECK_CONTAINS(simproc_api_call(api, "tank.start", diamond_load), "\"running\"");
	CHECK(wait_log("\"device\":\"tank\",\"actuator\":\"ultrasound\"", ON, 1, 10));
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "lid open"), 0);
	CHECK(wait_log(GPIO("tank.ultrasound_enable"), OFF, 1, 10));
	CHECK(wait_log(GPIO("tank.heater_enable"), OFF, 1, 10));
	CHECK(wait_log("\"device\":\"tank\",\"actuator\":\"ultrasound\"", OFF, 1, 10));
	CHECK_CONTAINS(simproc_api_call(api, "status", NULL), "the tank lid is open");
	simproc_ctl(&sp, NULL, 0, "lid close");
	simproc_api_call(api, "tank.stop", NULL);
}

static void
t_fume_fault_during_plating(void)
{
	const char *load = "{\"pieces\":[{\"metal\":\"platinum\",\"gems\":[{\"species\":\"diamond\"}]}],"
	    "\"volts\":2.0,\"amps\":1.5,\"seconds\":60}";
	const char *r = simproc_api_call(api, "bath.plate",
	    "{\"pieces\":[{\"metal\":\"yellow_gold\"}],\"volts\":2,\"amps\":1,\"seconds\":30}");
	CHECK_CONTAINS(r, "not yellow gold");
	r = simproc_api_call(api, "bath.plate",
	    "{\"pieces\":[{\"metal\":\"platinum\"}],\"volts\":5,\"amps\":1,\"seconds\":30}");
	CHECK_CONTAINS(r, "5 V is outside 0..3 V");
	/* The bath warm already: plating starts at once (test_bath has the
	 * warm-up). */
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "water bath_heater 48"), 0);
	CHECK(wait_until(status_has, "\"pv\":48.0", 10));
	CHECK_CONTAINS(simproc_api_call(api, "bath.plate", load), "\"result\"");
	CHECK(wait_log("\"device\":\"rectifier\",\"actuator\":\"output\"", ON, 1, 10));
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "fume fault"), 0);
	CHECK(wait_log(GPIO("bath.rectifier_enable"), OFF, 1, 10));
	CHECK(wait_log("\"device\":\"rectifier\",\"actuator\":\"output\"", OFF, 1, 10));
	simproc_ctl(&sp, NULL, 0, "fume ok");
	usleep(300000);
}

static void
t_link_lost_during_process(void)
{
	int offs = count(GPIO("tank.ultrasound_enable"), OFF);
	CHECK(wait_until(status_has, "\"tank\":{\"up\":true", 20));
	CHECK_CONTAINS(simproc_api_call(api, "tank.start", diamond_load), "\"running\"");
	CHECK(wait_log(GPIO("tank.ultrasound_enable"), ON, 2, 10));
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "unplug tank"), 0);
	CHECK(wait_log(GPIO("tank.ultrasound_enable"), OFF, offs + 1, 20));
	CHECK(wait_until(status_has, "the cleaning tank is not connected", 20));
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "replug tank"), 0);
	CHECK(wait_until(status_has, "\"tank\":{\"up\":true", 20));
	/* The station follows its device: ready again, not a stale fault. */
	CHECK(wait_until(status_has, "\"tank\":{\"kind\":\"tank\",\"state\":\"idle\",\"detail\":\"connected\"}", 20));
	simproc_api_call(api, "tank.stop", NULL);
}

static void
t_sigkill_during_process(void)
{
	int us_on = count("\"device\":\"tank\",\"actuator\":\"ultrasound\"", ON);
	int us_off = count("\"device\":\"tank\",\"actuator\":\"ultrasound\"", OFF);
	int relay_off = count(GPIO("tank.ultrasound_enable"), OFF);
	CHECK_CONTAINS(simproc_api_call(api, "tank.start", diamond_load), "\"running\"");
	CHECK(wait_log("\"device\":\"tank\",\"actuator\":\"ultrasound\"", ON, us_on + 1, 10));
	int ons = count(ON, NULL);
	CHECK_INT(simproc_daemon_stop(daemon_pid, SIGKILL), 128 + SIGKILL);
	/* The relay board drops the lines of a dead process... */
	CHECK(wait_log(GPIO("tank.ultrasound_enable"), OFF, relay_off + 1, 10));
	CHECK(wait_log("\"device\":\"tank\",\"actuator\":\"ultrasound\"", OFF, us_off + 1, 10));
	/* ...and the restarted daemon comes up safe, energising nothing. */
	fresh_daemon();
	CHECK(daemon_pid > 0);
	wait_ready();
	usleep(500000);
	CHECK_INT(count(ON, NULL), ons);
	CHECK_CONTAINS(simproc_api_call(api, "status", NULL), "\"tank\":{\"kind\":\"tank\",\"state\":\"idle\"");
}

static void
t_roles(void)
{
	/* A user in none of the configured groups may look, not act. The
	 * socket's 0660 would keep them out altogether; open it for the test. */
	CHECK(chmod(simproc_path(&sp, "atelier.sock"), 0666) == 0);
	CHECK(chmod(sp.dir, 0755) == 0);
	pid_t child = fork();
	if (child == 0) {
		struct passwd *pw = getpwnam("nobody");
		if (!pw || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
			_exit(2);
		int fd = simproc_api_connect(&sp);
		if (fd < 0)
			_exit(3);
		const char *r = simproc_api_call(fd, "tank.start", diamond_load);
		if (!strstr(r, "\"code\":1001") || !strstr(r, "for the technician role"))
			_exit(4);
		r = simproc_api_call(fd, "status", NULL);
		_exit(strstr(r, "\"result\"") ? 0 : 5);
	}
	int status;
	waitpid(child, &status, 0);
	CHECK(WIFEXITED(status));
	CHECK_INT(WEXITSTATUS(status), 0);
}

static void
t_engraving_preview_and_start(void)
{
	const char *r = simproc_api_call(api, "engrave.preview",
	    "{\"engraving\":{\"text\":\"Amélie\",\"area\":\"rect\",\"width\":20,\"height\":5}}");
	CHECK_CONTAINS(r, "\"fits\":true");
	CHECK_CONTAINS(r, "<svg");
	r = simproc_api_call(api, "engrave.preview",
	    "{\"engraving\":{\"text\":\"A very long dedication that cannot fit\",\"area\":\"rect\","
	    "\"width\":8,\"height\":1}}");
	CHECK_CONTAINS(r, "\"code\":1002");
	CHECK_CONTAINS(r, "available");
	/* Issue 19's design (one path through <use> 10 x 10 x 10) is over the
	 * layout's budget: 1007, with its numbers. */
	size_t len = 0;
	char *svg = file_read("tests/data/engrave/nested-use.svg", 0, &len);
	CHECK(svg != NULL);
	json_t *heavy = json_pack("{s:{s:s%, s:s, s:f, s:f, s:s, s:f, s:b}}", "engraving",
	    "svg", svg ? svg : "", svg ? len : 0, "area", "rect", "width", 90.0, "height", 90.0,
	    "fill", "hatch", "hatch_interval", 0.01, "cross_hatch", 1);
	char *params = json_dumps(heavy, JSON_COMPACT);
	r = simproc_api_call(api, "engrave.preview", params);
	CHECK_CONTAINS(r, "\"code\":1007");
	CHECK_CONTAINS(r, "more than 300,000 points");
	free(params);
	json_decref(heavy);
	free(svg);
	/* Near a pearl, refused without a technician's override. */
	r = simproc_api_call(api, "engrave.start",
	    "{\"engraving\":{\"text\":\"AM\",\"area\":\"rect\",\"width\":10,\"height\":4},"
	    "\"pieces\":[{\"metal\":\"white_gold\",\"gems\":[{\"species\":\"pearl\"}]}]}");
	CHECK_CONTAINS(r, "override");
	laser_ready();
	int ons = count(LASER_ON, ON);
	r = simproc_api_call(api, "engrave.start",
	    "{\"engraving\":{\"text\":\"AM\",\"area\":\"rect\",\"width\":10,\"height\":4}}");
	CHECK_CONTAINS(r, "\"result\"");
	CHECK(wait_log(LASER_ON, ON, ons + 1, 30));
	CHECK(wait_until(status_has, "the engraving is complete", 120));
}

static void
t_sigterm_leaves_everything_safe(void)
{
	CHECK_CONTAINS(simproc_api_call(api, "tank.start", diamond_load), "\"running\"");
	CHECK(wait_log(GPIO("tank.ultrasound_enable"), ON, 1, 10));
	CHECK_INT(simproc_daemon_stop(daemon_pid, SIGTERM), 0);
	char reply[400];
	simproc_ctl(&sp, reply, sizeof reply, "lines");
	CHECK_CONTAINS(reply, "\"laser.enable\":0,\"laser.beacon\":0,\"tank.lid\":0,"
	    "\"tank.ultrasound_enable\":0,\"tank.heater_enable\":0,\"bath.rectifier_enable\":0,"
	    "\"bath.heater_enable\":0");
	simproc_ctl(&sp, reply, sizeof reply, "status tank");
	CHECK_CONTAINS(reply, "\"ultrasound\":0,\"heater\":0");
}

static bool
log_says(void *needle)
{
	FILE *f = fopen(simproc_path(&sp, "atelierd.stderr"), "r");
	char line[600];
	bool found = false;
	while (f && fgets(line, sizeof line, f))
		if (strstr(line, needle))
			found = true;
	if (f)
		fclose(f);
	return found;
}

static void
t_sighup_reload(void)
{
	const char *conf = simproc_config_copy(&sp, "config/sim.yaml", "reload.yaml", NULL, NULL);
	CHECK(conf != NULL);
	if (!conf)
		return;
	char path[600];
	snprintf(path, sizeof path, "%s", conf);
	daemon_pid = simproc_daemon_start(&sp, path);
	CHECK(daemon_pid > 0);
	api = simproc_api_connect(&sp);
	/* An invalid file is refused and the running configuration kept. */
	FILE *f = fopen(path, "w");
	fputs("laser: [\n", f);
	fclose(f);
	kill(daemon_pid, SIGHUP);
	CHECK(wait_until(log_says, "keeping the one in use", 10));
	CHECK(kill(daemon_pid, 0) == 0);
	CHECK_CONTAINS(simproc_api_call(api, "status", NULL), "\"result\"");
	/* A valid one is taken, devices reopened, stations safe. */
	CHECK(simproc_config_copy(&sp, "config/sim.yaml", "reload.yaml", "log_level: info",
	    "log_level: debug") != NULL);
	kill(daemon_pid, SIGHUP);
	CHECK(wait_until(log_says, "reloading", 10));
	CHECK(wait_until(status_has, "\"tank\":{\"up\":true", 20));
	CHECK_INT(simproc_daemon_stop(daemon_pid, SIGTERM), 0);
	close(api);
	api = -1;
}

static void
t_drops_privileges(void)
{
	const char *conf = simproc_config_copy(&sp, "config/sim.yaml", "nobody.yaml", "log_level: info",
	    "log_level: info\nuser: nobody");
	CHECK(conf != NULL);
	if (!conf)
		return;
	pid_t pid = simproc_daemon_start(&sp, conf);
	CHECK(pid > 0);
	CHECK(wait_until(log_says, "running as nobody", 10));
	/* The devices were opened before the drop, so the stations come up. */
	int fd = simproc_api_connect(&sp);
	CHECK(fd >= 0);
	if (fd >= 0) {
		api = fd;
		CHECK(wait_until(status_has, "\"link\":\"ready\"", 20));
		CHECK(wait_until(status_has, "\"tank\":{\"up\":true", 20));
		close(fd);
		api = -1;
	}
	/* A reload after the drop keeps the devices that did not change: the
	 * daemon could not open them again as nobody. */
	CHECK(simproc_config_copy(&sp, "config/sim.yaml", "nobody.yaml", "log_level: info",
	    "log_level: debug\nuser: nobody") != NULL);
	/* Only what this reload logs is looked at (the daemon appends). */
	CHECK(truncate(simproc_path(&sp, "atelierd.stderr"), 0) == 0);
	kill(pid, SIGHUP);
	CHECK(wait_until(log_says, "reloaded: kept the GPIO lines, kept the Modbus buses, kept the "
	    "stations (0 laser ports reopened)", 10));
	fd = simproc_api_connect(&sp);
	CHECK(fd >= 0);
	if (fd >= 0) {
		api = fd;
		CHECK(wait_until(status_has, "\"tank.ultrasound_enable\":true", 20));
		CHECK_CONTAINS(simproc_api_call(api, "status", NULL), "\"link\":\"ready\"");
		CHECK_CONTAINS(simproc_api_call(api, "tank.start", diamond_load), "\"running\"");
		simproc_api_call(api, "tank.stop", NULL);
		close(fd);
		api = -1;
	}
	CHECK(!log_says("GPIO link lost"));
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	long uid = -1;
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, "Uid:", 4) == 0)
			uid = atol(line + 4);
	if (f)
		fclose(f);
	struct passwd *pw = getpwnam("nobody");
	CHECK(pw && uid == (long)pw->pw_uid);
	CHECK_INT(simproc_daemon_stop(pid, SIGTERM), 0);
}

static void
t_journal_recovery_after_a_crash(void)
{
	/* A journal left by a daemon that died with a step running. */
	char path[400], err[300];
	snprintf(path, sizeof path, "%s/state/journal.db", sp.dir);
	struct store *st = store_open(path, err, sizeof err);
	CHECK(st != NULL);
	if (!st)
		return;
	static const struct store_step steps[] = {
		{ "clean", "Cleaning", "machine", "tank", NULL, NULL, NULL, NULL },
	};
	static const char *const services[] = { "shining" };
	struct store_job j = { "CRT-42", "ring", NULL, "platinum", NULL, 0, services, 1, "marie", NULL,
		"{}", "{}", steps, 1, NULL, false };
	int64_t job = store_job_create(st, &j, err, sizeof err);
	int64_t step = store_step_id(st, job, 1);
	CHECK_INT(store_step_transition(st, step, "pending", "running", "running", "atelierd", NULL,
	    NULL, err, sizeof err), 0);
	store_close(st);
	pid_t pid = simproc_daemon_start(&sp, NULL);
	CHECK(pid > 0);
	CHECK(wait_until(log_says, "1 step was found running after a crash: marked interrupted", 10));
	st = store_open(path, err, sizeof err);
	char state[32] = "";
	if (st)
		store_step_state(st, step, state, sizeof state);
	CHECK_STR(state, "interrupted");
	store_close(st);
	CHECK_INT(simproc_daemon_stop(pid, SIGTERM), 0);
}

int
main(void)
{
	if (simproc_start(&sp, NULL) < 0) {
		printf("FAIL: simulator start\n");
		return 1;
	}
	fresh_daemon();
	RUN(t_starts_safe);
	RUN(t_estop_during_engraving);
	RUN(t_door_during_engraving);
	RUN(t_pearl_refused_by_the_station);
	RUN(t_lid_during_ultrasound);
	RUN(t_fume_fault_during_plating);
	RUN(t_link_lost_during_process);
	RUN(t_sigkill_during_process);
	RUN(t_roles);
	RUN(t_engraving_preview_and_start);
	RUN(t_sigterm_leaves_everything_safe);
	RUN(t_sighup_reload);
	RUN(t_drops_privileges);
	RUN(t_journal_recovery_after_a_crash);
	if (api >= 0)
		close(api);
	simproc_stop(&sp);
	return test_summary();
}
