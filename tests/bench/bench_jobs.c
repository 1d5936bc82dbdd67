/*
 * The job engine's benchmarks, printed side by side:
 *  - jobs planned per second (the planner alone, on the shipped
 *    catalogue), and jobs created per second (planned and committed to
 *    the journal with full durability);
 *  - journal writes (step transitions with their audit event) per second
 *    with full durability (WAL, synchronous=FULL: an fsync per commit),
 *    beside the same writes with synchronous=OFF, the cost of durability;
 *  - recovery after SIGKILL with 10,000 jobs in the journal: a writer
 *    killed in the middle of its transitions, then the time to open,
 *    check and recover the journal, and the time for atelierd to answer
 *    its API on that journal with every station safe.
 * Prints figures; asserts nothing about time.
 */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cfg/cfg_catalog.h"
#include "jobs/jobs_plan.h"
#include "journal/store.h"
#include "simproc.h"
#include "util.h"

#define STORE_JOBS 10000

static struct cfg_services cat;
static struct cfg_tank tank = {
	.temperature = 48, .max_temperature = 55, .cycle = 300, .max_cycle = 600,
	.frequency = 40, .power = 80, .sweep = true, .degas = 60,
};
static struct cfg_bath bath = {
	.temperature = 48, .max_voltage = 3.0, .max_current = 2.0, .current_density = 2.0,
	.rhodium_grams = 2.0, .efficiency = 35, .rhodium_warning = 0.5,
	.temperature_tolerance = 2, .max_warmup = 900,
};
static char err[600];

static const char *request =
    "{\"operator\": \"marie\", \"piece\": {\"serial\": \"B-1\", \"type\": \"necklace\", "
    "\"metal\": \"white_gold\", \"gems\": [{\"species\": \"diamond\", \"count\": 20}, "
    "{\"species\": \"sapphire\", \"treatment\": \"heat\"}]}, "
    "\"services\": [{\"id\": \"necklace_resizing\", \"change_cm\": -2}, \"polishing\"]}";

static struct store *
fresh_store(char *path, size_t len, const char *name)
{
	snprintf(path, len, "/tmp/atelier-bench-%s-%d.db", name, (int)getpid());
	unlink(path);
	char aux[300];
	snprintf(aux, sizeof aux, "%s-wal", path);
	unlink(aux);
	snprintf(aux, sizeof aux, "%s-shm", path);
	unlink(aux);
	struct store *s = store_open(path, err, sizeof err);
	if (!s)
		fprintf(stderr, "bench_jobs: %s\n", err);
	return s;
}

static void
remove_store(const char *path)
{
	char aux[300];
	unlink(path);
	snprintf(aux, sizeof aux, "%s-wal", path);
	unlink(aux);
	snprintf(aux, sizeof aux, "%s-shm", path);
	unlink(aux);
}

static int
history(void *arg, const char *serial, const char *service)
{
	return arg ? store_times_served(arg, serial, service) : 0;
}

/* Plans the request for serial, and records it when s is given. */
static int64_t
plan_and_create(struct store *s, json_t *params, const char *serial)
{
	struct job_request r;
	json_object_set_new(json_object_get(params, "piece"), "serial", json_string(serial));
	if (job_request_from_json(params, &r, err, sizeof err) < 0)
		return -1;
	struct job_plan_ctx ctx = { .services = &cat, .gems = policy_default_gems(), .tank = &tank,
		.bath = &bath, .today = job_date_days("2026-12-02"), .times_served = history, .arg = s };
	enum job_plan_status st;
	json_t *plan = job_plan(&ctx, &r, &st, err, sizeof err);
	if (!plan)
		return -1;
	int64_t id = 0;
	if (s) {
		json_t *steps = json_object_get(plan, "steps");
		size_t n = json_array_size(steps);
		struct store_step rows[64];
		char *texts[64];
		for (size_t i = 0; i < n && i < 64; i++) {
			json_t *o = json_array_get(steps, i);
			texts[i] = json_dumps(json_object_get(o, "params"), JSON_COMPACT);
			rows[i] = (struct store_step){ json_string_value(json_object_get(o, "id")),
				json_string_value(json_object_get(o, "title")),
				json_string_value(json_object_get(o, "kind")),
				json_string_value(json_object_get(o, "station")), texts[i], NULL,
				json_string_value(json_object_get(o, "state")),
				json_string_value(json_object_get(o, "reason")) };
		}
		const char *services[2] = { "necklace_resizing", "polishing" };
		char *pt = json_dumps(plan, JSON_COMPACT);
		char *qt = json_dumps(json_object_get(plan, "quote"), JSON_COMPACT);
		struct store_job j = { serial, "necklace", NULL, "white_gold", NULL, 0, services, 2,
			"marie", NULL, pt, qt, rows, n, NULL, false };
		id = store_job_create(s, &j, err, sizeof err);
		for (size_t i = 0; i < n && i < 64; i++)
			free(texts[i]);
		free(pt);
		free(qt);
	}
	json_decref(plan);
	return id;
}

static void
bench_planning(void)
{
	json_t *params = json_loads(request, 0, NULL);
	char serial[32];
	int n = 0;
	double t0 = now_mono();
	while (now_mono() - t0 < 2.0) {
		snprintf(serial, sizeof serial, "P-%d", n);
		if (plan_and_create(NULL, params, serial) < 0) {
			fprintf(stderr, "bench_jobs: %s\n", err);
			break;
		}
		n++;
	}
	double planned = n / (now_mono() - t0);
	char path[256];
	struct store *s = fresh_store(path, sizeof path, "create");
	n = 0;
	t0 = now_mono();
	while (s && now_mono() - t0 < 3.0) {
		snprintf(serial, sizeof serial, "C-%d", n);
		if (plan_and_create(s, params, serial) <= 0) {
			fprintf(stderr, "bench_jobs: %s\n", err);
			break;
		}
		n++;
	}
	double created = n / (now_mono() - t0);
	store_close(s);
	remove_store(path);
	json_decref(params);
	printf("planning (necklace re-size + polishing, 14 steps):\n");
	printf("  %-52s %10.0f /s\n", "jobs planned (planner alone)", planned);
	printf("  %-52s %10.0f /s\n", "jobs created (planned + committed, synchronous=FULL)", created);
}

static double
transitions_per_second(const char *sync)
{
	char path[256];
	struct store *s = fresh_store(path, sizeof path, sync);
	if (!s)
		return 0;
	char pragma[64];
	snprintf(pragma, sizeof pragma, "PRAGMA synchronous = %s", sync);
	json_decref(store_query(s, pragma, ""));
	json_t *params = json_loads(request, 0, NULL);
	int64_t job = plan_and_create(s, params, "T-1");
	json_decref(params);
	int64_t step = store_step_id(s, job, 1);
	int n = 0;
	double t0 = now_mono();
	while (now_mono() - t0 < 2.0) {
		const char *from = n % 2 ? "running" : "pending", *to = n % 2 ? "pending" : "running";
		if (store_step_transition(s, step, from, to, NULL, "bench", "bench", NULL, err,
		    sizeof err) < 0) {
			fprintf(stderr, "bench_jobs: %s\n", err);
			break;
		}
		n++;
	}
	double rate = n / (now_mono() - t0);
	store_close(s);
	remove_store(path);
	return rate;
}

static void
bench_writes(void)
{
	double full = transitions_per_second("FULL");
	double off = transitions_per_second("OFF");
	printf("journal writes (a step transition with its audit event, one commit each):\n");
	printf("  %-52s %10.0f /s\n", "synchronous=FULL (durable: fsync per commit)", full);
	printf("  %-52s %10.0f /s   (durability costs %.1fx)\n", "synchronous=OFF (not durable)", off,
	    full > 0 ? off / full : 0);
}

static void
bench_recovery(void)
{
	struct simproc sp;
	if (simproc_start(&sp, NULL) < 0)
		return;
	char state[400], path[500];
	snprintf(state, sizeof state, "%s/state", sp.dir);
	mkdir(state, 0750);
	snprintf(path, sizeof path, "%s/journal.db", state);
	struct store *s = store_open(path, err, sizeof err);
	if (!s) {
		fprintf(stderr, "bench_jobs: %s\n", err);
		simproc_stop(&sp);
		return;
	}
	/* Filling is not what is measured: no fsync while filling. */
	json_decref(store_query(s, "PRAGMA synchronous = OFF", ""));
	json_t *params = json_loads(request, 0, NULL);
	char serial[32];
	double t0 = now_mono();
	for (int i = 0; i < STORE_JOBS; i++) {
		snprintf(serial, sizeof serial, "R-%05d", i);
		plan_and_create(s, params, serial);
	}
	json_decref(params);
	double fill = now_mono() - t0;
	store_close(s);
	/* A writer killed in the middle of its transitions. */
	pid_t child = fork();
	if (child == 0) {
		struct store *c = store_open(path, err, sizeof err);
		for (int64_t job = 1; c; job = job % STORE_JOBS + 1) {
			int64_t step = store_step_id(c, job, 3);   /* the strip, a machine step */
			store_step_transition(c, step, "pending", "running", "running", "bench", NULL,
			    NULL, err, sizeof err);
		}
		_exit(1);
	}
	usleep(1500000);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	struct stat stt;
	stat(path, &stt);
	t0 = now_mono();
	s = store_open(path, err, sizeof err);
	double opened = now_mono() - t0;
	int cut = s ? store_recover(s, err, sizeof err) : -1;
	double recovered = now_mono() - t0;
	store_close(s);
	/* The daemon on that journal: from exec to its API answering. */
	t0 = now_mono();
	pid_t d = simproc_daemon_start(&sp, NULL);
	int fd = d > 0 ? simproc_api_connect(&sp) : -1;
	const char *reply = fd >= 0 ? simproc_api_call(fd, "job.list", "{\"limit\": 1}") : "";
	double daemon = now_mono() - t0;
	bool answered = strstr(reply, "\"result\"") != NULL;
	if (fd >= 0)
		close(fd);
	if (d > 0)
		simproc_daemon_stop(d, SIGTERM);
	simproc_stop(&sp);
	printf("recovery after SIGKILL, %d jobs in the journal (%.1f MB, filled in %.1f s):\n",
	    STORE_JOBS, stt.st_size / 1e6, fill);
	printf("  %-52s %10.1f ms\n", "open, integrity check and migration check", opened * 1000);
	printf("  %-52s %10.1f ms   (%d steps found running)\n", "... and running steps marked "
	    "interrupted", recovered * 1000, cut);
	printf("  %-52s %10.1f ms   (%s)\n", "atelierd started to API answering, stations safe",
	    daemon * 1000, answered ? "answered" : "did not answer");
}

int
main(void)
{
	struct cfg_errors e = { 0 };
	if (cfg_services_load("config/services.yaml", &cat, &e) < 0) {
		for (size_t i = 0; i < e.n; i++)
			fprintf(stderr, "%s\n", e.msgs[i]);
		return 1;
	}
	bench_planning();
	bench_writes();
	bench_recovery();
	cfg_services_release(&cat);
	return 0;
}
