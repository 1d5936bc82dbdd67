/*
 * atelierctl: the command-line client of jewellers and technicians. Each
 * subcommand lives in a ctl_*.c file and registers itself in the table of
 * atelierctl.c; every command takes --json for machine-readable output.
 */
#ifndef ATELIER_CTL_H
#define ATELIER_CTL_H

#include <stdbool.h>

/* Exit codes of atelierctl, documented in atelierctl(1). */
enum ctl_exit {
	CTL_OK = 0,
	CTL_ERR_USAGE = 2,      /* bad command line */
	CTL_ERR_REFUSED = 3,    /* the request was understood and refused */
	CTL_ERR_CONNECT = 4,    /* the daemon could not be reached */
	CTL_ERR_FAILED = 5,     /* the operation failed (device, I/O, input file) */
};

struct ctl_opts {
	bool json;
	const char *socket;     /* API socket path */
	const char *config;     /* configuration file, for local commands */
	const char *station;    /* --station: added to every call that names none */
};

struct ctl_command {
	const char *name;
	const char *summary;
	int (*run)(const struct ctl_opts *o, int argc, char **argv);
};

struct json_t;
/* Calls a method of the daemon (steals params, may be NULL); on success
 * *result holds the result (new reference) and CTL_OK is returned, else
 * the error was printed and its exit code is returned. */
int ctl_call(const struct ctl_opts *o, const char *method, struct json_t *params,
    struct json_t **result);
/* Prints the result as JSON with --json, else the human line (may be
 * NULL); releases r. Returns CTL_OK. */
int ctl_print_result(const struct ctl_opts *o, struct json_t *r, const char *human);

/* A --gem argument, SPECIES[:TREATMENT][:COUNT] (policy_gem_arg_parse),
 * as the API's {species, treatment, count}; NULL after printing why. The
 * one parser of every command that takes gems. */
struct json_t *ctl_gem_arg(const char *arg);

/* Subcommands, defined in their own files. */
int ctl_engrave(const struct ctl_opts *o, int argc, char **argv);
int ctl_ports(const struct ctl_opts *o, int argc, char **argv);
int ctl_user(const struct ctl_opts *o, int argc, char **argv);
int ctl_status(const struct ctl_opts *o, int argc, char **argv);
int ctl_watch(const struct ctl_opts *o, int argc, char **argv);
int ctl_estop(const struct ctl_opts *o, int argc, char **argv);
int ctl_fleet(const struct ctl_opts *o, int argc, char **argv);
int ctl_methods(const struct ctl_opts *o, int argc, char **argv);
int ctl_laser(const struct ctl_opts *o, int argc, char **argv);
int ctl_tank(const struct ctl_opts *o, int argc, char **argv);
int ctl_bath(const struct ctl_opts *o, int argc, char **argv);
int ctl_job(const struct ctl_opts *o, int argc, char **argv);
int ctl_step(const struct ctl_opts *o, int argc, char **argv);
int ctl_run(const struct ctl_opts *o, int argc, char **argv);
int ctl_history(const struct ctl_opts *o, int argc, char **argv);
int ctl_export(const struct ctl_opts *o, int argc, char **argv);
int ctl_calibrate(const struct ctl_opts *o, int argc, char **argv);
int ctl_calibration(const struct ctl_opts *o, int argc, char **argv);

#endif
