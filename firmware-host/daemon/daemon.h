/*
 * atelierd's state and life cycle: configuration, the one event loop, the
 * drivers, the stations and the API, beside the safety path (safety.h),
 * which owns the GPIO lines and the interlock in a thread of its own.
 * Start-up order is configuration, the safety path, safe state for every
 * station, the journal, the parts built on the stations, then the API;
 * SIGTERM puts every station in its safe state before the daemon exits.
 *
 * What is built on the stations (the job engine, calibration, the API's
 * methods, the workers for heavy requests) comes in as parts (struct
 * daemon_part) that atelierd.c lists: the daemon starts and stops them,
 * joins their API methods, and tells them what the stations do through
 * listeners (struct station_listener). It calls none of them by name, so
 * that nothing below depends on what is above.
 */
#ifndef ATELIER_DAEMON_H
#define ATELIER_DAEMON_H

#include <stdbool.h>
#include <sys/types.h>

#include "api/api.h"
#include "cfg/cfg.h"
#include "cfg/cfg_catalog.h"
#include "daemon/corrections.h"
#include "daemon/safety.h"
#include "err.h"
#include "grbl.h"
#include "journal/store.h"
#include "loop.h"
#include "mb_bus.h"
#include "policy/interlock.h"
#include "policy/policy.h"
#include "worker.h"

enum station_state { ST_IDLE = 0, ST_RUNNING, ST_STOPPING, ST_FAULT, ST_OFFLINE };
enum station_kind { STATION_LASER = 0, STATION_TANK, STATION_BATH, STATION_KINDS };

struct station {
	const char *name;       /* laser, tank, bath */
	enum station_kind kind;
	enum station_state state;
	char detail[200];       /* what it is doing, or why it stopped */
	double ends_at;         /* timed processes: monotonic end, 0 = none */
	int cmd;                /* Modbus command in progress */
};

/* A Modbus command a station's start depends on (its failure faults it). */
struct station_command {
	struct mb_bus *bus;
	int id;                 /* 0: free */
	struct station *st;
	char what[64];
};

/* The bath's process: warming up, then plating. */
struct bath_run {
	double volts, amps, seconds;
	bool heat;              /* through the bath heater (not for calibration) */
	bool warming;
	double warm_deadline;
	double shown_pv;        /* the temperature the bench was last told */
	double plating_since, low_current_since;
};

struct daemon;

/* What a part hears from the stations. A callback may be NULL. */
struct station_listener {
	/* A station ended what it ran: ok when it completed, or why not (a
	 * fault, an interlock trip with the interlock's reason, an abort, a
	 * reload). Said also of a station that ran nothing for the listener:
	 * it ignores what it did not start. */
	void (*finished)(struct daemon *d, const struct station *st, bool ok, const char *why,
	    void *ctx);
	/* The laser read back a setting written with $N=V: verified when it
	 * holds the value written. */
	void (*laser_setting)(struct daemon *d, int num, double value, bool verified, void *ctx);
	void *ctx;
};

/* A part built on the stations. */
struct daemon_part {
	const char *name;
	/* Once the stations are safe and the journal open, before the API
	 * listens; NULL: nothing to start. Returns 0, or -1 with e. */
	int (*start)(struct daemon *d, struct err *e);
	/* A reload: the configuration changes under the part; NULL: nothing. */
	void (*reload)(struct daemon *d);
	/* Before the drivers close, in the reverse order of the starts, if
	 * the start succeeded. NULL: nothing to stop. */
	void (*stop)(struct daemon *d);
	/* Adds the part's own members to the status object; NULL: none. */
	void (*status)(struct daemon *d, json_t *out);
	const struct api_method *methods;
	size_t n_methods;
};

#define DAEMON_MAX_LISTENERS 8

struct jobs;
struct calib_state;

struct daemon {
	struct cfg *cfg;
	char *config_path;
	const char *device_dir_override;
	struct cfg_catalog *catalog;
	struct loop *loop;
	struct safety *safety;      /* GPIO lines, interlock, relays: its own thread */
	struct grbl_stopline *stopline; /* the laser's port, for the safety path */
	struct grbl *laser;
	int laser_fd;               /* registered in the loop, or -1 */
	struct mb_bus *buses[8];
	size_t n_buses;
	struct api *api;
	struct store *store;        /* the job journal */
	char *journal_path;         /* for the workers' read-only connections */
	struct worker *layout_worker, *journal_worker;  /* heavy requests (offload.h) */
	const struct daemon_part *const *parts;
	size_t n_parts, n_started;  /* parts listed, parts started */
	struct station_listener listeners[DAEMON_MAX_LISTENERS];
	size_t n_listeners;
	struct jobs *jobs;          /* the job engine's (jobs.h) */
	struct calib_state *calib;  /* calibration's (calib.h) */
	struct corrections corr;    /* the technicians' corrections in force */
	struct api_method *methods; /* every part's methods, joined */
	size_t n_methods;
	struct api_groups groups;
	struct interlock il;        /* the safety path's, as last read (daemon_interlock) */
	struct station laser_st, tank_st, bath_st;
	uint64_t tick_timer;
	int sigfd;
	bool stopping;
	bool reacting;              /* inside an interlock trip's reaction */
	/* The configuration each group of devices was opened with (reload). */
	struct cfg *gpio_cfg, *laser_cfg, *bus_cfg;
	/* The laser's current program: who started it, which one it is, and
	 * who held it with laser.hold ((uid_t)-1: nobody). */
	uid_t laser_owner, laser_hold_by;
	unsigned laser_stream_id, laser_hold_stream;
	/* A trip held GRBL mid-program: reset it once the hold is complete,
	 * by this monotonic time at the latest (0: nothing to clear). */
	double laser_flush_until;
	double laser_door_reset_at;    /* no reset of a closed-door hold before this */
	bool laser_error;           /* the running program had a line refused */
	char laser_alarm[160];      /* GRBL's last alarm while it stays in Alarm */
	/* An outside program in GRBL's check mode, to burn if it passes. */
	struct {
		char *gcode;
		uid_t owner;
		struct api_pending *answer;
	} laser_check;
	/* A technician's laser.setting, answered once read back. */
	struct {
		int num;
		struct api_pending *answer;
	} laser_setting;
	/* Where each Modbus device lives, by role. */
	struct mb_bus *tank_bus, *rect_bus, *heater_bus;
	int tank_dev, rect_dev, heater_dev;
	double last_watchdog;
	struct station_command commands[8];
	struct bath_run bath_run;
};

/* Loads the configuration and starts everything, the parts in their
 * order; returns 0, or -1 after logging why (and leaving every station
 * safe). */
int daemon_start(struct daemon *d, const char *config, const char *device_dir,
    const struct daemon_part *const *parts, size_t n_parts);
/* Runs until SIGTERM/SIGINT; returns the exit status. */
int daemon_run(struct daemon *d);
/* Safe state everywhere, then releases everything. */
void daemon_stop(struct daemon *d);

/* Station control, shared by the API and the job engine; each returns 0,
 * or -1 with an API error code and a sentence. */
/* Whether the laser could take a program now (burning one when emit):
 * connected, not running, not in alarm, the interlock permitting, laser
 * mode on. Returns 0, or -1 with a code and why. */
int station_laser_ready(struct daemon *d, bool emit, struct err *e);
/* The owner of a program the daemon runs itself (calibration). */
#define LASER_OWNER_DAEMON ((uid_t)-2)
/* Burns a program, on behalf of owner (the caller's uid). */
int station_laser_stream(struct daemon *d, const char *gcode, uid_t owner, struct err *e);
/* Moves the head along a program with the laser's power relay off; a
 * program with M3 or M4 is refused. */
int station_laser_move(struct daemon *d, const char *gcode, uid_t owner, struct err *e);
/* A program from outside Atelier's pipeline: checked first in GRBL's check
 * mode, relays off; burnt only if every line passes. The caller may set
 * d->laser_check.answer, which then gets the outcome. */
int station_laser_check_then_stream(struct daemon *d, const char *gcode, uid_t owner, struct err *e);
/* A feed hold; when a program runs, remembered as who's, for resume. */
int station_laser_hold(struct daemon *d, uid_t who, struct err *e);
/* Resumes only a program its owner held with station_laser_hold, still
 * running, completely held, with the interlock permitting. */
int station_laser_resume(struct daemon *d, uid_t who, struct err *e);
int station_laser_stop(struct daemon *d, const char *why);
int station_tank_start(struct daemon *d, const struct policy_piece *pieces, size_t n,
    double seconds, double power, double khz, double temperature, struct err *e);
int station_tank_stop(struct daemon *d, const char *why);
int station_bath_plate(struct daemon *d, const struct policy_piece *pieces, size_t n,
    double volts, double amps, double seconds, struct err *e);
/* The rectifier alone at volts and amps, without heating the bath: a
 * technician's calibration drive. */
int station_bath_drive(struct daemon *d, double volts, double amps, double seconds, struct err *e);
int station_bath_stop(struct daemon *d, const char *why);

/* A part listens to the stations (at its start): returns 0, or -1 when
 * there are DAEMON_MAX_LISTENERS already. */
int daemon_listen(struct daemon *d, const struct station_listener *l);
/* Tells the listeners that a station ended what it ran. */
void daemon_station_finished(struct daemon *d, const struct station *st, bool ok,
    const char *why);
/* The interlock, the stations and their devices, and what each started
 * part adds: the answer to status. */
json_t *daemon_status_json(struct daemon *d);
/* The interlock as the safety path has it now. */
const struct interlock *daemon_interlock(struct daemon *d);
/* A technician's reset of the e-stop latch, done by the safety path. */
enum il_reset_result daemon_estop_reset(struct daemon *d);
void daemon_notify(struct daemon *d, const char *event, json_t *params);

#endif
