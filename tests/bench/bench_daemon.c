/*
 * The daemon's benchmarks, against the simulator, printed side by side:
 *  - reaction to the e-stop, over many trips: from the simulator's input
 *    change to (a) the laser's stop byte arriving on its port, (b) the
 *    enable relays dropped, (c) the tank's Modbus stop arriving; median and
 *    p99 (goal: p99 under 2 ms for a and b);
 *  - footprint: idle RSS and CPU of atelierd with every station connected
 *    (goal: under 10 MB and 1 %);
 *  - API: status requests per second with 50 clients connected while a
 *    job streams, and whether the stream kept going.
 * Times come from the simulator's own logs (wall clock, same host).
 * Prints figures; asserts nothing about time.
 */
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "simproc.h"
#include "util.h"

#define TRIPS 300
#define CLIENTS 50

static struct simproc sp;

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void
report(const char *what, double *v, int n)
{
	if (n == 0) {
		printf("  %-44s no samples\n", what);
		return;
	}
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	printf("  %-44s median %7.3f ms   p99 %7.3f ms   (%d trips)\n", what, v[n / 2] * 1000,
	    v[(int)floor(0.99 * (n - 1))] * 1000, n);
}

/* Times of lines in a log that contain both needles, in order. */
static int
times_of(const char *file, const char *a, const char *b, double *out, int max)
{
	FILE *f = fopen(simproc_path(&sp, file), "r");
	char line[512];
	int n = 0;
	if (!f)
		return 0;
	while (fgets(line, sizeof line, f) && n < max)
		if (strstr(line, a) && (!b || strstr(line, b)))
			out[n++] = atof(line + 5);
	fclose(f);
	return n;
}

/* For each press, the first reaction at or after it (and before the next). */
static int
deltas(const double *press, int np, const double *react, int nr, double *out)
{
	int k = 0, n = 0;
	for (int i = 0; i < np; i++) {
		double next = i + 1 < np ? press[i + 1] : INFINITY;
		while (k < nr && react[k] < press[i])
			k++;
		if (k < nr && react[k] < next)
			out[n++] = react[k] - press[i];
	}
	return n;
}

static bool
status_has(void *arg)
{
	int fd = simproc_api_connect(&sp);
	bool ok = fd >= 0 && strstr(simproc_api_call(fd, "status", NULL), (const char *)arg);
	if (fd >= 0)
		close(fd);
	return ok;
}

static long
rss_kb(pid_t pid)
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

static double
cpu_seconds(pid_t pid)
{
	char path[64];
	unsigned long ut = 0, st = 0;
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%*d %*s %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
			ut = st = 0;
		fclose(f);
	}
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void
sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - floor(s)) * 1e9) };
	nanosleep(&ts, NULL);
}

int
main(void)
{
	if (simproc_start(&sp, NULL) < 0)
		return 1;
	pid_t d = simproc_daemon_start(&sp, NULL);
	if (d < 0)
		return 1;
	if (!wait_until(status_has, "\"link\":\"ready\"", 30) ||
	    !wait_until(status_has, "\"bath_heater\":{\"up\":true", 30))
		fprintf(stderr, "devices did not all come up\n");

	/* Footprint, idle, every station connected. */
	sleep_s(1);
	double c0 = cpu_seconds(d), t0 = now_mono();
	sleep_s(10);
	double cpu = (cpu_seconds(d) - c0) / (now_mono() - t0) * 100;
	long rss = rss_kb(d);

	/* Reaction to the e-stop, with the tank running so relays are on. */
	int api = simproc_api_connect(&sp);
	const char *load = "{\"pieces\":[{\"metal\":\"white_gold\",\"gems\":[{\"species\":\"diamond\"}]}],"
	    "\"seconds\":600}";
	int trips = 0;
	for (int i = 0; i < TRIPS; i++) {
		const char *r = simproc_api_call(api, "tank.start", load);
		if (!strstr(r, "\"result\"")) {
			static int shown;
			if (shown++ < 3)
				fprintf(stderr, "tank.start: %s\n", r);
			sleep_s(0.05);
			continue;
		}
		sleep_s(0.02);
		simproc_ctl(&sp, NULL, 0, "estop press");
		sleep_s(0.03);
		simproc_ctl(&sp, NULL, 0, "estop release");
		sleep_s(0.03);
		simproc_api_call(api, "estop.reset", NULL);
		simproc_api_call(api, "tank.stop", NULL);
		trips++;
	}
	static double press[TRIPS + 8], r[4 * TRIPS + 64], dl[TRIPS + 8];
	int np = times_of("events.log", "\"name\":\"estop\"", "\"value\":1", press, TRIPS + 8);

	printf("atelierd reaction to the e-stop (%d trips; from the input change in the simulator)\n", trips);
	int nr = times_of("events.log", "laser_realtime", NULL, r, 4 * TRIPS + 64);
	report("(a) stop byte (0x18) on the laser port", dl, deltas(press, np, r, nr, dl));
	nr = times_of("actuators.log", "ultrasound_enable", "\"value\":0", r, 4 * TRIPS + 64);
	report("(b) enable relay (ultrasound_enable) dropped", dl, deltas(press, np, r, nr, dl));
	nr = times_of("events.log", "\"device\":\"tank\",\"address\":10,\"value\":0", NULL, r, 4 * TRIPS + 64);
	report("(c) Modbus stop at the tank (RTU 19200)", dl, deltas(press, np, r, nr, dl));
	printf("  goal: p99 under 2 ms for (a) and (b)\n\n");

	printf("atelierd footprint, idle with every station connected\n");
	printf("  RSS %.1f MB (goal < 10 MB), CPU %.2f %% over 10 s (goal < 1 %%)\n\n", rss / 1024.0, cpu);

	/* API throughput with 50 clients while a job streams. */
	int fds[CLIENTS];
	for (int i = 0; i < CLIENTS; i++)
		fds[i] = simproc_api_connect(&sp);
	struct buf job;
	buf_init(&job);
	buf_printf(&job, "{\"gcode\":\"G21G90\\nM4S200\\n");
	for (int i = 0; i < 2000; i++)
		buf_printf(&job, "G1X%dY%.2fF3000\\n", i % 2 ? 20 : 0, 0.01 * i);
	buf_printf(&job, "M5\\n\"}");
	simproc_ctl(&sp, NULL, 0, "rate laser 5000");
	simproc_ctl(&sp, NULL, 0, "timescale laser 1000");   /* the link, not the head, limits */
	simproc_api_call(api, "laser.stream", "{\"gcode\":\"$X\\n\"}");
	sleep_s(0.5);
	const char *sr = simproc_api_call(api, "laser.stream", job.data);
	if (!strstr(sr, "\"result\""))
		fprintf(stderr, "laser.stream: %s\n", sr);
	buf_free(&job);
	char before[512];
	simproc_ctl(&sp, before, sizeof before, "status laser");
	long ok0 = strstr(before, "\"ok\":") ? atol(strstr(before, "\"ok\":") + 5) : 0;
	double start = now_mono();
	long requests = 0;
	while (now_mono() - start < 5) {
		for (int i = 0; i < CLIENTS; i++)
			if (fds[i] >= 0 && strstr(simproc_api_call(fds[i], "status", NULL), "\"result\""))
				requests++;
	}
	double el = now_mono() - start;
	char after[512];
	simproc_ctl(&sp, after, sizeof after, "status laser");
	long ok1 = strstr(after, "\"ok\":") ? atol(strstr(after, "\"ok\":") + 5) : 0;
	printf("API with %d clients while a job streams\n", CLIENTS);
	printf("  %.0f status requests/s; the laser acknowledged %ld lines meanwhile (%.0f lines/s)%s\n",
	    requests / el, ok1 - ok0, (ok1 - ok0) / el,
	    strstr(sr, "\"result\"") ? "" : " (the stream did not start)");
	for (int i = 0; i < CLIENTS; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	close(api);
	simproc_daemon_stop(d, SIGTERM);
	simproc_stop(&sp);
	return 0;
}
