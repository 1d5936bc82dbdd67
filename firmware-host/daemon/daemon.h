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

struct station_ops;

/*
 * A station: an instance of a kind (cfg.h's enum cfg_kind), named in the
 * configuration, with its devices and lines. What is common is here; a
 * kind's own state is behind priv, in its file (station_laser.c,
 * station_tank.c, station_bath.c), and the daemon reaches it only through
 * the kind's ops table (daemon/station.h).
 */
struct station {
	char name[40];          /* "laser", "rings", "tank-rinse" */
	/* How sentences name it after its kind: "" for a station named after
	 * its kind ("the laser is not connected"), " rings" for another
	 * ("the laser rings is not connected"). */
	char suffix[42];
	enum cfg_kind kind;
	int index;              /* in d->stations, as in cfg->stations */
	enum station_state state;
	char detail[200];       /* what it is doing, or why it stopped */
	double ends_at;         /* timed processes: monotonic end, 0 = none */
	const struct cfg_station *cfg;  /* its configuration, in d->cfg */
	const struct station_ops *ops;
	void *priv;             /* the kind's own state */
	struct daemon *d;
};

/* A Modbus command a station's start depends on (its failure faults it). */
struct station_command {
	struct mb_bus *bus;
	int id;                 /* 0: free */
	struct station *st;
	char what[64];
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
	void (*laser_setting)(struct daemon *d, const struct station *st, int num, double value,
	    bool verified, void *ctx);
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
struct fleet_settings;
struct fleet_conn;

struct daemon {
	struct cfg *cfg;
	char *config_path;
	const char *device_dir_override;
	struct cfg_catalog *catalog;
	struct loop *loop;
	struct safety *safety;      /* GPIO lines, interlock, relays: its own thread */
	struct mb_bus *buses[16];
	size_t n_buses;
	struct station stations[CFG_MAX_STATIONS];
	size_t n_stations;
	struct api *api;
	struct store *store;        /* the job journal */
	char *journal_path;         /* for the workers' read-only connections */
	struct worker *layout_worker, *journal_worker;  /* heavy requests (offload.h) */
	/* The shared history (fleet.h), when configured: its settings, and a
	 * connection for each worker that asks it (used in that worker's
	 * thread only). */
	struct fleet_settings *fleet;
	struct fleet_conn *fleet_layout_conn, *fleet_journal_conn;
	const struct daemon_part *const *parts;
	size_t n_parts, n_started;  /* parts listed, parts started */
	struct station_listener listeners[DAEMON_MAX_LISTENERS];
	size_t n_listeners;
	struct jobs *jobs;          /* the job engine's (jobs.h) */
	struct calib_state *calib;  /* calibration's (calib.h) */
	/* The technicians' corrections in force, by station. */
	struct corrections corr[CFG_MAX_STATIONS];
	struct api_method *methods; /* every part's methods, joined */
	size_t n_methods;
	struct api_groups groups;
	struct interlock il;        /* the safety path's, as last read (daemon_interlock) */
	struct il_layout no_layout; /* the interlock's without a safety path: nothing */
	uint64_t tick_timer;
	int sigfd;
	bool stopping;
	bool reacting;              /* inside an interlock trip's reaction */
	/* The configuration the GPIO lines and the buses were opened with: a
	 * reload keeps the devices whose configuration did not change. */
	struct cfg *gpio_cfg, *bus_cfg;
	double last_watchdog;
	struct station_command commands[32];
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

/* --- stations, for the parts ------------------------------------------ */

/* The station named, or NULL. */
struct station *daemon_station(struct daemon *d, const char *name);
/*
 * The station a request means: the one named, or, when no name is given,
 * the only station of the kind (kind -1: of any kind). Returns NULL with
 * e set: no such station, or several of the kind and none named (the
 * sentence lists them), or a station of another kind.
 */
struct station *daemon_station_for(struct daemon *d, const char *name, int kind, struct err *e);
/* daemon_station_for with the name an API call gives in 'station'; NULL
 * after failing the call. */
struct station *daemon_station_param(struct daemon *d, struct api_call *c, int kind);
/* A station's Modbus device: a tank's generator (which 0), a bath's
 * rectifier (0) or heater (1). Returns false when it has none. */
bool station_device(const struct station *st, int which, struct mb_bus **bus, int *dev);
/* The kind's name and the state's, as status shows them. */
const char *station_state_name(enum station_state s);

/*
 * Starts a load on a station: the pieces (each judged by policy for the
 * kind's process) and the kind's parameters (a laser: {"gcode"}; a tank:
 * {"seconds", "power", "frequency", "temperature"}; a bath: {"volts",
 * "amps", "seconds"}), for owner (the caller's uid). Returns 0, or -1
 * with e.
 */
int station_start(struct station *st, const struct policy_piece *pieces, size_t n,
    json_t *params, uid_t owner, struct err *e);
/* Stops what the station runs; its steps fail with why. */
void station_stop(struct station *st, const char *why);
/* Whether the station could take a load now; -1 with e says why not. */
int station_ready(struct station *st, struct err *e);

/* The laser's own operations (st is a laser). */
/* Whether the laser could take a program now (burning one when emit):
 * connected, not running, not in alarm, the interlock permitting, laser
 * mode on. Returns 0, or -1 with a code and why. */
int station_laser_ready(struct station *st, bool emit, struct err *e);
/* The owner of a program the daemon runs itself (calibration). */
#define LASER_OWNER_DAEMON ((uid_t)-2)
/* Whether this laser could burn the program: its content (laser_program.h)
 * and, for an absolute program in mm, its extent inside the work area.
 * Returns 0, or -1 with e (1007). */
int station_laser_fits(struct station *st, const char *gcode, struct err *e);
/* Burns a program, on behalf of owner (the caller's uid). */
int station_laser_stream(struct station *st, const char *gcode, uid_t owner, struct err *e);
/* Moves the head along a program with the laser's power relay off; a
 * program with M3 or M4 is refused. */
int station_laser_move(struct station *st, const char *gcode, uid_t owner, struct err *e);
/* A program from outside Atelier's pipeline: checked first in GRBL's check
 * mode, relays off; burnt only if every line passes; answer (may be NULL)
 * gets the outcome. */
int station_laser_check_then_stream(struct station *st, const char *gcode, uid_t owner,
    struct api_pending *answer, struct err *e);
/* A feed hold; when a program runs, remembered as who's, for resume. */
int station_laser_hold(struct station *st, uid_t who, struct err *e);
/* Resumes only a program its owner held with station_laser_hold, still
 * running, completely held, with the interlock permitting. */
int station_laser_resume(struct station *st, uid_t who, struct err *e);
/* The laser's driver (NULL while it has none). */
struct grbl *station_laser_grbl(struct station *st);
/* GRBL's $X after an alarm, once a technician checked the piece. */
int station_laser_unlock(struct station *st, struct err *e);
/* Writes $num=value and answers once GRBL read it back. */
int station_laser_setting(struct station *st, int num, double value, struct api_pending *answer,
    struct err *e);

/* The tank's (st is a tank). */
int station_tank_start(struct station *st, const struct policy_piece *pieces, size_t n,
    double seconds, double power, double khz, double temperature, struct err *e);

/* The bath's (st is a bath). */
int station_bath_plate(struct station *st, const struct policy_piece *pieces, size_t n,
    double volts, double amps, double seconds, struct err *e);
/* The rectifier alone at volts and amps, without heating the bath: a
 * technician's calibration drive. */
int station_bath_drive(struct station *st, double volts, double amps, double seconds,
    struct err *e);
/* Whether the bath is still warming up before it plates. */
bool station_bath_warming(const struct station *st);

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
