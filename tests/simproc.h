/*
 * Starting and stopping the real simulator from a test: a fresh run
 * directory, atelier-sim from $ATELIER_BIN, ready once DIR/ctl.sock exists,
 * fault injection through the same ctl socket, and the actuators log read
 * back for assertions about what physically happened.
 */
#ifndef ATELIER_TEST_SIMPROC_H
#define ATELIER_TEST_SIMPROC_H

#include <stdbool.h>
#include <sys/types.h>

struct simproc {
	pid_t pid;
	char dir[256];          /* the run directory */
	char config[512];
};

/* Directory holding the programs under test ($ATELIER_BIN or build/asan/bin). */
const char *simproc_bindir(void);
/* Starts atelier-sim with the configuration (NULL: config/sim.yaml) in a new
 * temporary run directory; returns 0 once ready, -1 on failure (logged).
 * The directory, and every simulator and daemon still running, are removed
 * and stopped when the test program ends, however it ends short of
 * SIGKILL. */
int simproc_start(struct simproc *sp, const char *config);
/* Starts the simulator again in the same run directory and configuration. */
int simproc_restart(struct simproc *sp);
/*
 * Writes a copy of the configuration file `from` into the run directory as
 * NAME, with `find` replaced by `replace` (NULL: no change) and the gems,
 * services and profiles pointed at the source tree; returns its path in a
 * static buffer, or NULL.
 */
const char *simproc_config_copy(struct simproc *sp, const char *from, const char *name,
    const char *find, const char *replace);
/* Sends one request on a new GPIO-socket connection; returns the
 * connection (kept open: the simulator releases a client's outputs when it
 * closes) if the answer is "ok", else -1. */
int simproc_gpio(struct simproc *sp, const char *request);
/* SIGTERM, wait; returns the simulator's exit status, or -1. */
int simproc_stop(struct simproc *sp);
/* Sends one ctl command (printf format); the reply without the leading
 * "ok"/"error" goes to reply. Returns 0 for "ok", -1 for "error" or failure. */
int simproc_ctl(struct simproc *sp, char *reply, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Path inside the run directory, in a static buffer. */
const char *simproc_path(struct simproc *sp, const char *name);
/* Number of lines of actuators.log matching both substrings (NULL = any). */
int simproc_actuator_count(struct simproc *sp, const char *device_actuator, const char *value);
/* Waits up to timeout s for at least at_least such lines; true if seen. */
bool simproc_wait_actuator(struct simproc *sp, const char *device_actuator, const char *value,
    int at_least, double timeout);
/* A process's resident memory in kB (/proc), or -1. */
long simproc_rss_kb(pid_t pid);
/* Polls cond() every 5 ms for up to timeout seconds; returns true if met. */
bool wait_until(bool (*cond)(void *), void *arg, double timeout);

#endif

/* The daemon against this simulator: atelierd -c CONFIG --device-dir DIR,
 * ready once DIR/atelier.sock exists. Returns its pid, or -1. */
pid_t simproc_daemon_start(struct simproc *sp, const char *config);
/* Sends sig and waits; returns the exit status (or 128+signal). */
int simproc_daemon_stop(pid_t pid, int sig);
/* A JSON-RPC client of the daemon's socket; returns the fd or -1. */
int simproc_api_connect(struct simproc *sp);
/* Sends {"jsonrpc":"2.0","id":N,"method":method,"params":params_json} and
 * returns the reply line with that id (notifications are skipped) in a
 * static buffer, or "" after 20 s. */
const char *simproc_api_call(int fd, const char *method, const char *params_json);
