/*
 * What jewellers may do with the laser after a trip and during another's
 * program (issue 19), atelierd against the simulator, judged by the
 * simulated GRBL and actuators.log:
 *  - a door trip that stops a program clears GRBL's planner once the hold
 *    is complete, so that nothing of it can run again, and laser.resume
 *    then has nothing to resume;
 *  - laser.frame moves the head with the laser's power relay off and no
 *    M3/M4, and only inside the work area;
 *  - laser.resume resumes only a hold its program's owner made.
 * The jeweller is the `nobody` account, made one through jeweller_groups
 * (its group nogroup); root is a technician.
 */
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "simproc.h"
#include "test.h"
#include "util.h"

static struct simproc sp;
static pid_t daemon_pid;
static int api = -1;

#define LASER_ON "\"device\":\"laser\",\"actuator\":\"emission\""
#define RELAY(x) "\"device\":\"gpio\",\"actuator\":\"" x "\""
#define ON "\"value\":1"
#define OFF "\"value\":0"
/* The hold complete, as the daemon has last heard from GRBL. */
#define HELD "\"state\":\"Hold\",\"substate\":0"

static const char *long_job =
    "{\"gcode\":\"G21 G90\\nM4 S500\\nG1 X40 F300\\nG1 Y40\\nG1 X0\\nG1 Y0\\nG1 X40\\nG1 Y40\\n"
    "G1 X0\\nG1 Y0\\nG1 X40\\nG1 Y40\\nG1 X0\\nG1 Y0\\nG1 X40\\nG1 Y40\\nG1 X0\\nG1 Y0\\n"
    "G1 X40\\nG1 Y40\\nG1 X0\\nG1 Y10\\nM5\\n\"}";

static int
count(const char *what, const char *value)
{
	return simproc_actuator_count(&sp, what, value);
}

static bool
wait_log(const char *what, const char *value, int at_least, double timeout)
{
	return simproc_wait_actuator(&sp, what, value, at_least, timeout);
}

static bool
sim_laser_has(void *needle)
{
	char reply[700];
	simproc_ctl(&sp, reply, sizeof reply, "status laser");
	return strstr(reply, needle) != NULL;
}

static bool
status_has(void *needle)
{
	return strstr(simproc_api_call(api, "status", NULL), needle) != NULL;
}

/*
 * Calls a method as the jeweller `nobody`, in a child; the reply goes to
 * out. Returns false when the child could not connect.
 */
static bool
as_jeweller(const char *method, const char *params, char *out, size_t len)
{
	int pfd[2];
	if (pipe(pfd) < 0)
		return false;
	pid_t pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		struct passwd *pw = getpwnam("nobody");
		if (!pw || initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
		    setuid(pw->pw_uid) < 0)
			_exit(2);
		int fd = simproc_api_connect(&sp);
		if (fd < 0)
			_exit(3);
		const char *r = simproc_api_call(fd, method, params);
		if (write_all(pfd[1], r, strlen(r)) < 0)
			_exit(4);
		_exit(0);
	}
	close(pfd[1]);
	size_t n = 0;
	ssize_t k;
	while (n + 1 < len && (k = read(pfd[0], out + n, len - 1 - n)) > 0)
		n += (size_t)k;
	out[n] = '\0';
	close(pfd[0]);
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* Back to Idle after an earlier test: stop, unlock, wait. */
static void
laser_ready(void)
{
	simproc_api_call(api, "laser.abort", NULL);
	simproc_api_call(api, "laser.unlock", NULL);
	CHECK(wait_until(sim_laser_has, "\"state\":\"Idle\"", 20));
	CHECK(wait_until(status_has, "\"state\":\"Idle\",\"substate\"", 20));
	CHECK(wait_until(status_has, "\"laser\":{\"kind\":\"laser\",\"state\":\"idle\"", 20));
}

static void
t_door_trip_clears_the_program(void)
{
	laser_ready();
	int ons = count(LASER_ON, ON), offs = count(RELAY("laser.enable"), OFF);
	CHECK_CONTAINS(simproc_api_call(api, "laser.stream", long_job), "\"running\"");
	CHECK(wait_log(LASER_ON, ON, ons + 1, 20));
	/* Let GRBL's planner fill with the rest of the program. */
	usleep(500000);
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "door open"), 0);
	CHECK(wait_log(RELAY("laser.enable"), OFF, offs + 1, 10));
	/* Once held, GRBL is reset: its planner holds nothing any more. */
	CHECK(wait_until(sim_laser_has, "\"planner\":0,", 10));
	int ons_after_trip = count(LASER_ON, ON);
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "door close"), 0);
	CHECK(wait_until(sim_laser_has, "\"state\":\"Idle\"", 10));
	char reply[800];
	CHECK(as_jeweller("laser.resume", NULL, reply, sizeof reply));
	CHECK_CONTAINS(reply, "no held engraving");
	CHECK_CONTAINS(simproc_api_call(api, "laser.resume", NULL), "no held engraving");
	/* Nothing of the stopped program runs: the head stays, the beam off. */
	char before[800], after[800];
	simproc_ctl(&sp, before, sizeof before, "status laser");
	sleep(1);
	simproc_ctl(&sp, after, sizeof after, "status laser");
	CHECK_STR(strstr(after, "\"pos\""), strstr(before, "\"pos\"") ? strstr(before, "\"pos\"") : "");
	CHECK_INT(count(LASER_ON, ON), ons_after_trip);
}

static void
t_frame_with_the_power_off(void)
{
	laser_ready();
	int relay_on = count(RELAY("laser.enable"), ON), ons = count(LASER_ON, ON);
	char reply[800];
	CHECK(as_jeweller("laser.frame", "{\"gcode\":\"G90 M4 S800\\nG1 X12 Y8 F600\\nG1 X30 Y20\\n\"}",
	    reply, sizeof reply));
	CHECK_CONTAINS(reply, "\"frame\":[12");
	CHECK(wait_until(sim_laser_has, "\"pos\":[12.000,8.000", 30));
	CHECK(wait_until(status_has, "\"laser\":{\"kind\":\"laser\",\"state\":\"idle\"", 30));
	CHECK_INT(count(RELAY("laser.enable"), ON), relay_on);
	CHECK_INT(count(LASER_ON, ON), ons);
	/* Outside the work area, or relative moves: refused, nothing moves. */
	CHECK(as_jeweller("laser.frame", "{\"gcode\":\"G0X-99999999\\nG1Y5\\n\"}", reply, sizeof reply));
	CHECK_CONTAINS(reply, "\"code\":1007");
	CHECK_CONTAINS(reply, "outside the work area");
	CHECK(as_jeweller("laser.frame", "{\"gcode\":\"G91\\nG1X5Y5\\n\"}", reply, sizeof reply));
	CHECK_CONTAINS(reply, "relative moves");
	CHECK(sim_laser_has("\"pos\":[12.000,8.000"));
}

static void
t_resume_only_the_owners_hold(void)
{
	laser_ready();
	int ons = count(LASER_ON, ON);
	CHECK_CONTAINS(simproc_api_call(api, "laser.stream", long_job), "\"running\"");
	CHECK(wait_log(LASER_ON, ON, ons + 1, 20));
	CHECK_CONTAINS(simproc_api_call(api, "laser.hold", NULL), "\"sent\"");
	CHECK(wait_until(status_has, HELD, 10));
	char reply[800];
	CHECK(as_jeweller("laser.resume", NULL, reply, sizeof reply));
	CHECK_CONTAINS(reply, "\"code\":1001");
	CHECK(sim_laser_has("\"state\":\"Hold\""));
	/* The owner may. */
	CHECK_CONTAINS(simproc_api_call(api, "laser.resume", NULL), "\"sent\"");
	CHECK(wait_until(sim_laser_has, "\"state\":\"Run\"", 10));
	/* A hold by someone else is theirs: the owner cannot resume it, and
	 * nor can they, not being the owner. */
	CHECK(as_jeweller("laser.hold", NULL, reply, sizeof reply));
	CHECK(wait_until(status_has, HELD, 10));
	CHECK_CONTAINS(simproc_api_call(api, "laser.resume", NULL), "\"code\":1001");
	CHECK(as_jeweller("laser.resume", NULL, reply, sizeof reply));
	CHECK_CONTAINS(reply, "\"code\":1001");
	simproc_api_call(api, "laser.abort", NULL);
}

int
main(void)
{
	if (simproc_start(&sp, NULL) < 0) {
		printf("FAIL: simulator start\n");
		return 1;
	}
	const char *conf = simproc_config_copy(&sp, "config/sim.yaml", "jewellers.yaml",
	    "  mode: 0660", "  mode: 0660\n  jeweller_groups: [nogroup]");
	chmod(sp.dir, 0755);
	daemon_pid = conf ? simproc_daemon_start(&sp, conf) : -1;
	api = simproc_api_connect(&sp);
	if (daemon_pid < 0 || api < 0) {
		printf("FAIL: daemon start\n");
		simproc_stop(&sp);
		return 1;
	}
	if (!wait_until(status_has, "\"link\":\"ready\"", 30))
		printf("  the laser did not come up\n");
	RUN(t_door_trip_clears_the_program);
	RUN(t_frame_with_the_power_off);
	RUN(t_resume_only_the_owners_hold);
	close(api);
	simproc_daemon_stop(daemon_pid, SIGTERM);
	simproc_stop(&sp);
	return test_summary();
}
