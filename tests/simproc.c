/*
 * Test-side control of a real atelier-sim process (see simproc.h). Tests
 * never assume timing: they wait for the ctl socket, and poll conditions
 * with generous limits, since the machines running them are shared.
 */
#include "simproc.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cfg/cfg.h"
#include "test.h"
#include "util.h"

/* The processes the test program started, stopped when it ends (returning
 * from main, exit, or SIGTERM from the test runner's time limit: the
 * harness's cleanup, tests/test.c), before its run directories go. */
#define MAX_PIDS 32
static pid_t made_pids[MAX_PIDS];
static size_t n_made_pids;

static void
stop_made(void)
{
	for (size_t i = 0; i < n_made_pids; i++) {
		if (made_pids[i] > 0 && waitpid(made_pids[i], NULL, WNOHANG) == 0) {
			kill(made_pids[i], SIGKILL);
			waitpid(made_pids[i], NULL, 0);
		}
	}
	n_made_pids = 0;
}

static void
track_pid(pid_t pid, bool on)
{
	for (size_t i = 0; i < n_made_pids; i++)
		if (made_pids[i] == pid) {
			if (!on)
				made_pids[i] = made_pids[--n_made_pids];
			return;
		}
	if (on && n_made_pids < MAX_PIDS) {
		test_at_cleanup(stop_made);
		made_pids[n_made_pids++] = pid;
	}
}

const char *
simproc_bindir(void)
{
	const char *b = getenv("ATELIER_BIN");
	return b && *b ? b : "build/asan/bin";
}

long
simproc_rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, "VmRSS:", 6) == 0)
			kb = atol(line + 6);
	if (f)
		fclose(f);
	return kb;
}

bool
wait_until(bool (*cond)(void *), void *arg, double timeout)
{
	double end = now_mono() + timeout;
	for (;;) {
		if (cond(arg))
			return true;
		if (now_mono() > end)
			return false;
		struct timespec ts = { 0, 5000000 };
		nanosleep(&ts, NULL);
	}
}

static bool
ctl_ready(void *arg)
{
	struct simproc *sp = arg;
	struct stat st;
	int status;
	if (waitpid(sp->pid, &status, WNOHANG) == sp->pid) {
		sp->pid = -1;
		return true;
	}
	return stat(simproc_path(sp, "ctl.sock"), &st) == 0;
}

int
simproc_start(struct simproc *sp, const char *config)
{
	memset(sp, 0, sizeof *sp);
	snprintf(sp->dir, sizeof sp->dir, "/tmp/atelier-test-XXXXXX");
	if (!test_mkdtemp(sp->dir)) {
		perror("mkdtemp");
		return -1;
	}
	snprintf(sp->config, sizeof sp->config, "%s", config ? config : "config/sim.yaml");
	return simproc_restart(sp);
}

int
simproc_restart(struct simproc *sp)
{
	char bin[512];
	snprintf(bin, sizeof bin, "%s/atelier-sim", simproc_bindir());
	sp->pid = fork();
	if (sp->pid < 0)
		return -1;
	if (sp->pid == 0) {
		char log[300];
		snprintf(log, sizeof log, "%s/sim.stderr", sp->dir);
		if (!freopen(log, "w", stderr))
			_exit(126);
		/* A benchmark may ask for the simulator at a real-time priority,
		 * below the daemon's safety path: it stands in for hardware,
		 * which does not queue behind the load the benchmark makes. */
		const char *rt = getenv("ATELIER_SIM_RT_PRIORITY");
		if (rt && atoi(rt) > 0) {
			struct sched_param p = { .sched_priority = atoi(rt) };
			if (sched_setscheduler(0, SCHED_FIFO, &p) < 0)
				fprintf(stderr, "no real-time priority %s: %s\n", rt, strerror(errno));
		}
		execl(bin, "atelier-sim", "--run-dir", sp->dir, "--config", sp->config, (char *)NULL);
		fprintf(stderr, "exec %s: %s\n", bin, strerror(errno));
		_exit(127);
	}
	track_pid(sp->pid, true);
	if (!wait_until(ctl_ready, sp, 30) || sp->pid < 0) {
		fprintf(stderr, "simulator did not start; see %s/sim.stderr\n", sp->dir);
		if (sp->pid > 0)
			simproc_stop(sp);
		return -1;
	}
	/* The bench as commissioned: GRBL leaves the factory with laser mode
	 * off, and a workshop sets it once. A test of the factory state sets
	 * it back. */
	struct cfg_errors e = { 0 };
	struct cfg *cfg = cfg_load(sp->config, &e);
	cfg_errors_free(&e);
	for (size_t i = 0; cfg && i < cfg->n_stations; i++) {
		if (cfg->stations[i].kind != KIND_LASER)
			continue;
		if (simproc_ctl(sp, NULL, 0, "setting %s 32 1", cfg->stations[i].name) < 0) {
			fprintf(stderr, "simulator: cannot set $32 of %s\n", cfg->stations[i].name);
			cfg_free(cfg);
			simproc_stop(sp);
			return -1;
		}
	}
	cfg_free(cfg);
	return 0;
}

int
simproc_stop(struct simproc *sp)
{
	int status;
	if (sp->pid <= 0)
		return -1;
	kill(sp->pid, SIGTERM);
	double end = now_mono() + 30;
	while (waitpid(sp->pid, &status, WNOHANG) == 0) {
		if (now_mono() > end) {
			kill(sp->pid, SIGKILL);
			waitpid(sp->pid, &status, 0);
			break;
		}
		struct timespec ts = { 0, 5000000 };
		nanosleep(&ts, NULL);
	}
	track_pid(sp->pid, false);
	sp->pid = -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

const char *
simproc_path(struct simproc *sp, const char *name)
{
	static char path[600];
	snprintf(path, sizeof path, "%s/%s", sp->dir, name);
	return path;
}

int
simproc_ctl(struct simproc *sp, char *reply, size_t len, const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd - 1, fmt, ap);
	va_end(ap);
	strcat(cmd, "\n");
	int fd = unix_connect(simproc_path(sp, "ctl.sock"));
	if (fd < 0)
		return -1;
	if (write_all(fd, cmd, strlen(cmd)) < 0) {
		close(fd);
		return -1;
	}
	struct buf b;
	buf_init(&b);
	char tmp[4096];
	ssize_t n;
	while ((n = read(fd, tmp, sizeof tmp)) > 0)
		buf_append(&b, tmp, (size_t)n);
	close(fd);
	int ok = b.len >= 2 && strncmp(b.data, "ok", 2) == 0;
	if (reply && len) {
		const char *text = b.data ? b.data : "";
		text += ok ? 2 : (strncmp(text, "error", 5) == 0 ? 5 : 0);
		while (*text == ' ')
			text++;
		snprintf(reply, len, "%s", text);
		size_t l = strlen(reply);
		if (l && reply[l - 1] == '\n')
			reply[l - 1] = '\0';
	}
	buf_free(&b);
	return ok ? 0 : -1;
}

int
simproc_actuator_count(struct simproc *sp, const char *device_actuator, const char *value)
{
	FILE *f = fopen(simproc_path(sp, "actuators.log"), "r");
	char line[512];
	int count = 0;
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if ((!device_actuator || strstr(line, device_actuator)) &&
		    (!value || strstr(line, value)))
			count++;
	fclose(f);
	return count;
}

struct actuator_want {
	struct simproc *sp;
	const char *what, *value;
	int at_least;
};

static bool
actuator_seen(void *arg)
{
	struct actuator_want *w = arg;
	return simproc_actuator_count(w->sp, w->what, w->value) >= w->at_least;
}

bool
simproc_wait_actuator(struct simproc *sp, const char *device_actuator, const char *value,
    int at_least, double timeout)
{
	struct actuator_want w = { sp, device_actuator, value, at_least };
	return wait_until(actuator_seen, &w, timeout);
}

const char *
simproc_config_copy(struct simproc *sp, const char *from, const char *name, const char *find,
    const char *replace)
{
	static char path[600];
	char cwd[400];
	FILE *in = fopen(from, "r");
	if (!in || !getcwd(cwd, sizeof cwd)) {
		if (in)
			fclose(in);
		return NULL;
	}
	struct buf b;
	buf_init(&b);
	char tmp[4096];
	size_t n;
	while ((n = fread(tmp, 1, sizeof tmp, in)) > 0)
		buf_append(&b, tmp, n);
	fclose(in);
	snprintf(path, sizeof path, "%s/%s", sp->dir, name);
	FILE *out = fopen(path, "w");
	if (!out) {
		buf_free(&b);
		return NULL;
	}
	char *at = find && b.data ? strstr(b.data, find) : NULL;
	if (at) {
		fwrite(b.data, 1, (size_t)(at - b.data), out);
		fputs(replace, out);
		fputs(at + strlen(find), out);
	} else if (b.data) {
		fputs(b.data, out);
	}
	fprintf(out, "\ngems_file: %s/config/gems.yaml\nservices_file: %s/config/services.yaml\n"
	    "profile_dir: %s/config/profiles\n", cwd, cwd, cwd);
	fclose(out);
	buf_free(&b);
	return at || !find ? path : NULL;
}

static bool
daemon_ready(void *arg)
{
	struct simproc *sp = arg;
	struct stat st;
	return stat(simproc_path(sp, "atelier.sock"), &st) == 0;
}

pid_t
simproc_daemon_start(struct simproc *sp, const char *config)
{
	char bin[512], log[600];
	snprintf(bin, sizeof bin, "%s/atelierd", simproc_bindir());
	snprintf(log, sizeof log, "%s/atelierd.stderr", sp->dir);
	unlink(simproc_path(sp, "atelier.sock"));
	pid_t pid = fork();
	if (pid == 0) {
		if (!freopen(log, "a", stderr))
			_exit(126);
		execl(bin, "atelierd", "-c", config ? config : "config/sim.yaml", "--device-dir",
		    sp->dir, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		track_pid(pid, true);
	if (pid < 0 || !wait_until(daemon_ready, sp, 30)) {
		fprintf(stderr, "atelierd did not start; see %s\n", log);
		if (pid > 0)
			simproc_daemon_stop(pid, SIGKILL);
		return -1;
	}
	return pid;
}

int
simproc_daemon_stop(pid_t pid, int sig)
{
	int status = 0;
	kill(pid, sig);
	double end = now_mono() + 30;
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (now_mono() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		struct timespec ts = { 0, 5000000 };
		nanosleep(&ts, NULL);
	}
	track_pid(pid, false);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int
simproc_api_connect(struct simproc *sp)
{
	return unix_connect(simproc_path(sp, "atelier.sock"));
}

const char *
simproc_api_call(int fd, const char *method, const char *params_json)
{
	static char line[16384];
	static int next_id = 1;
	char idtag[32];
	int id = next_id++;
	char *req = xasprintf("{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"%s\",\"params\":%s}\n",
	    id, method, params_json ? params_json : "{}");
	snprintf(idtag, sizeof idtag, "\"id\":%d,", id);
	int wr = write_all(fd, req, strlen(req));
	free(req);
	if (wr < 0)
		return "";
	size_t n = 0;
	double end = now_mono() + 20;
	while (now_mono() < end) {
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, 100) <= 0)
			continue;
		char c;
		if (read(fd, &c, 1) != 1)
			return "";
		if (c != '\n') {
			if (n < sizeof line - 1)
				line[n++] = c;
			continue;
		}
		line[n] = '\0';
		n = 0;
		if (strstr(line, idtag))
			return line;
	}
	return "";
}

int
simproc_gpio(struct simproc *sp, const char *request)
{
	char r[64] = "";
	int s = unix_connect(simproc_path(sp, "gpio.sock"));
	if (s < 0)
		return -1;
	if (write_all(s, request, strlen(request)) < 0 || write_all(s, "\n", 1) < 0) {
		close(s);
		return -1;
	}
	struct pollfd p = { s, POLLIN, 0 };
	if (poll(&p, 1, 5000) <= 0 || read(s, r, sizeof r - 1) <= 0 || strncmp(r, "ok", 2) != 0) {
		close(s);
		return -1;
	}
	return s;
}
