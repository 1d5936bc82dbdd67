/*
 * A local client cannot lock everyone else out of the API (issue 12), with
 * atelierd against the simulator: one account (nobody, a jeweller here)
 * opens 500 connections and sends nothing; the daemon keeps at most its
 * per-account share, a technician's estop.reset and another jeweller's
 * status are still answered, the daemon's memory stays flat, and the idle
 * connections are closed within seconds, after which that account may
 * connect again. The other jeweller is the system account `daemon`.
 */
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "simproc.h"
#include "test.h"
#include "util.h"

static struct simproc sp;
static pid_t daemon_pid;

static bool
become(const char *user)
{
	struct passwd *pw = getpwnam(user);
	return pw && initgroups(pw->pw_name, pw->pw_gid) == 0 && setgid(pw->pw_gid) == 0 &&
	    setuid(pw->pw_uid) == 0;
}

/* Calls a method as another account, in a child; the reply goes to out. */
static bool
call_as(const char *user, const char *method, char *out, size_t len)
{
	int pfd[2];
	if (pipe(pfd) < 0)
		return false;
	pid_t pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		if (!become(user))
			_exit(2);
		int fd = simproc_api_connect(&sp);
		if (fd < 0)
			_exit(3);
		const char *r = simproc_api_call(fd, method, NULL);
		_exit(write_all(pfd[1], r, strlen(r)) < 0 ? 4 : 0);
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

/* A child, as nobody, holding `n` connections that never send anything;
 * it writes how many the daemon let stay open after a moment. */
static pid_t
idle_crowd(int n, int report)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	if (!become("nobody"))
		_exit(2);
	int *fds = calloc((size_t)n, sizeof *fds);
	for (int i = 0; i < n; i++)
		fds[i] = simproc_api_connect(&sp);
	sleep(1);
	int open = 0;
	for (int i = 0; i < n; i++) {
		char c;
		if (fds[i] >= 0 && recv(fds[i], &c, 1, MSG_DONTWAIT | MSG_PEEK) < 0)
			open++;         /* nothing to read and not closed: still open */
	}
	if (write(report, &open, sizeof open) != sizeof open)
		_exit(3);
	for (;;)
		pause();
}

static void
t_idle_crowd_locks_nobody_out(void)
{
	long rss0 = simproc_rss_kb(daemon_pid);
	int pfd[2];
	CHECK(pipe(pfd) == 0);
	pid_t crowd = idle_crowd(500, pfd[1]);
	int open = -1;
	CHECK(read(pfd[0], &open, sizeof open) == sizeof open);
	printf("  of 500 idle connections from one account, %d stayed open\n", open);
	CHECK(open > 0 && open <= 16);
	char reply[4000];
	/* root is a technician: the e-stop reset gets through. */
	CHECK(call_as("root", "estop.reset", reply, sizeof reply));
	CHECK_CONTAINS(reply, "not latched");
	CHECK(call_as("daemon", "status", reply, sizeof reply));
	CHECK_CONTAINS(reply, "\"interlock\"");
	long rss1 = simproc_rss_kb(daemon_pid);
	printf("  daemon RSS %ld kB before, %ld kB with the crowd\n", rss0, rss1);
	/* Measured: 0.3 MB in a release build; the sanitizer build's quarantine
	 * keeps freed memory, about 16 MB here. */
	CHECK(rss1 - rss0 < 32 * 1024);
	/* They sent nothing: within seconds they are closed, and the account
	 * may connect again. */
	sleep(6);
	CHECK(call_as("nobody", "status", reply, sizeof reply));
	CHECK_CONTAINS(reply, "\"interlock\"");
	kill(crowd, SIGKILL);
	waitpid(crowd, NULL, 0);
	close(pfd[0]);
	close(pfd[1]);
}

int
main(void)
{
	if (simproc_start(&sp, NULL) < 0) {
		printf("FAIL: simulator start\n");
		return 1;
	}
	const char *conf = simproc_config_copy(&sp, "config/sim.yaml", "crowd.yaml", "  mode: 0660",
	    "  mode: 0660\n  jeweller_groups: [nogroup, daemon]");
	chmod(sp.dir, 0755);
	daemon_pid = conf ? simproc_daemon_start(&sp, conf) : -1;
	if (daemon_pid < 0) {
		printf("FAIL: daemon start\n");
		simproc_stop(&sp);
		return 1;
	}
	RUN(t_idle_crowd_locks_nobody_out);
	simproc_daemon_stop(daemon_pid, SIGTERM);
	simproc_stop(&sp);
	return test_summary();
}
