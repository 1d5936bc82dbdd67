/*
 * The Atelier configuration as the programs see it once loaded: one struct
 * for the workshop (its stations, each an instance of a kind with its
 * devices and lines; the Modbus buses and devices; the workshop's GPIO
 * lines; API, store) read from atelier.yaml / sim.yaml, plus the device
 * profiles (register maps) it names. The daemon and the simulator read the
 * same file, so the simulator emulates exactly the workshop the daemon
 * expects.
 *
 * Loading is driven by schema tables in cfg_schema.c (key, type, unit,
 * range, default, required); errors are collected as "file:line:col:
 * message", all of them, before the load fails.
 */
#ifndef ATELIER_CFG_H
#define ATELIER_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The kinds of station a workshop may have, any number of each. */
enum cfg_kind { KIND_LASER = 0, KIND_TANK, KIND_BATH, KIND_COUNT };
/* "laser", "tank", "bath" */
const char *cfg_kind_name(enum cfg_kind kind);
/* Returns the kind, or -1 if the name is not a kind. */
int cfg_kind_lookup(const char *name);

/*
 * What a GPIO line does. The e-stop and the fume extraction are the
 * workshop's (gpio.lines); a station's lines are under its own entry in
 * stations: (a laser's door and enable relay, a tank's lid, ...), and a
 * laser or a bath may have a fume line of its own.
 */
enum cfg_role {
	ROLE_ESTOP = 0,         /* input: emergency stop pressed (the workshop's) */
	ROLE_FUME_OK,           /* input: fume extraction running */
	ROLE_DOOR,              /* input: a laser's enclosure door open */
	ROLE_LID,               /* input: a tank's lid open */
	ROLE_LASER_ENABLE,      /* output: a laser's power relay */
	ROLE_BEACON,            /* output: a laser's emission beacon */
	ROLE_ULTRASOUND_ENABLE, /* output: a tank's ultrasonic generator relay */
	ROLE_TANK_HEATER_ENABLE,/* output: a tank's heater relay */
	ROLE_RECTIFIER_ENABLE,  /* output: a bath's rectifier relay */
	ROLE_BATH_HEATER_ENABLE,/* output: a bath's heater relay (the E5CC's load) */
	ROLE_COUNT
};
/* Whether a role is an output (a relay or the beacon). */
bool cfg_role_output(enum cfg_role role);
/* The YAML key of a role in a station of that kind, or in gpio.lines for
 * kind -1 ("door", "enable", "heater_enable", "estop", ...). */
const char *cfg_role_key(int kind, enum cfg_role role);

/* The most lines a workshop may have: the interlock's masks are 64 bits. */
#define CFG_MAX_LINES 64
#define CFG_MAX_STATIONS 32

enum cfg_parity { PARITY_NONE = 'N', PARITY_EVEN = 'E', PARITY_ODD = 'O' };
enum cfg_transport { TRANSPORT_RTU = 0, TRANSPORT_TCP };
enum cfg_gpio_backend { GPIO_BACKEND_SIM = 0, GPIO_BACKEND_GPIOD };

/* A rotary in place of the laser's Y axis (docs/engraving.md, "Rotary"):
 * round pieces turn under the beam; Y moves around them. */
enum cfg_rotary_kind { ROTARY_NONE = 0, ROTARY_CHUCK, ROTARY_ROLLERS };

struct cfg_rotary {
	int kind;                   /* enum cfg_rotary_kind */
	int axis;                   /* 1: Y, the only axis GRBL wires for it */
	double travel_per_turn;     /* Y units per full turn, as $101 is set for it */
	double roller_diameter;     /* mm, rollers only */
	double min_diameter, max_diameter;  /* mm of the pieces it holds */
	bool inner_band;            /* can the beam reach the inside of a band */
	double inner_min_diameter;  /* mm: the smallest inner band it reaches */
	int mounted_setting;        /* the GRBL setting that says it is mounted ($101) */
	double mounted_value;       /* ... when it reads back this value */
};

struct cfg_laser {
	char *port;             /* path, relative to device_dir, or "usb:VID:PID[:SERIAL]" */
	int baud;               /* one of the standard rates */
	double status_hz;       /* status polling, 0.5 .. 10 Hz, default 5 */
	double connect_timeout; /* s */
	double max_feed;        /* mm/min */
	int max_power;          /* S value for full power ($30) */
	double resolution;      /* mm the machine resolves (G-code decimals) */
	double work_x, work_y;  /* mm, travel of the engraving area */
	double min_char_height; /* mm, the technical constraint on lettering */
	struct cfg_rotary rotary;
};

struct cfg_bus {
	char *name;
	enum cfg_transport transport;
	/* RTU */
	char *port;             /* path relative to device_dir, or absolute */
	int baud;
	enum cfg_parity parity;
	int data_bits;          /* 7 or 8 */
	int stop_bits;          /* 1 or 2 */
	bool rs485;             /* modbus_rtu_set_serial_mode(RS485); fails on a pty */
	/* TCP */
	char *host;
	int tcp_port;
	/* both */
	double timeout;         /* response timeout, s */
	int retries;
	double poll_interval;   /* s between poll cycles */
};

struct cfg_device {
	char *name;             /* "tank", "rectifier", "bath_heater" */
	char *bus;              /* name of a cfg_bus */
	int slave;              /* 1..247 */
	char *profile;          /* profile name, file config/profiles/NAME.yaml */
	double heartbeat_interval; /* s between heartbeat writes, 0 = none */
	double watchdog;        /* s the device waits for a heartbeat before going safe */
};

struct cfg_gpio_line {
	bool configured;
	char *chip;             /* gpiod: chip name, label or path */
	int offset;             /* gpiod: line offset, or -1 when named */
	char *line_name;        /* gpiod: line name, or NULL */
	bool active_low;
	double debounce;        /* s, inputs only */
};

struct cfg_gpio {
	enum cfg_gpio_backend backend;
	char *socket;           /* sim backend: path relative to device_dir */
	/* The workshop's own lines, by role: the e-stop and the fume
	 * extraction (the others are the stations'). */
	struct cfg_gpio_line lines[ROLE_COUNT];
};

struct cfg_tank {
	double temperature;     /* C, working setpoint (45-50 "lukewarm") */
	double max_temperature; /* C */
	double cycle;           /* s, default cycle */
	double max_cycle;       /* s */
	double frequency;       /* kHz, 20..80 */
	double power;           /* % */
	bool sweep;
	double degas;           /* s of degas before cleaning, 0 = none */
};

struct cfg_bath {
	double temperature;         /* C, plating bath */
	double max_voltage;         /* V, never exceeded whatever the recipe */
	double max_current;         /* A */
	double current_density;     /* A/dm2 for plating */
	double rhodium_grams;       /* g of Rh in a fresh bath */
	double efficiency;          /* %, cathode efficiency */
	double rhodium_warning;     /* g remaining that triggers a warning */
	double temperature_tolerance; /* C either side of temperature for plating */
	double max_warmup;          /* s the bath may take to reach its temperature */
};

/* One station: an instance of a kind, with its settings, its devices and
 * its lines. Only the section of its kind is used. */
struct cfg_station {
	char *name;                 /* "laser-1", "rings", "tank-rinse" */
	int kind;                   /* enum cfg_kind */
	struct cfg_laser laser;     /* kind laser: port and limits */
	struct cfg_tank tank;       /* kind tank */
	char *device;               /* kind tank: its generator, a device by name */
	struct cfg_bath bath;       /* kind bath */
	char *rectifier;            /* kind bath: its rectifier, a device by name */
	char *heater;               /* kind bath: its heater controller, a device by name */
	struct cfg_gpio_line lines[ROLE_COUNT];     /* by role, as configured */
	int line[ROLE_COUNT];       /* the same as indexes into cfg->lines, -1: none */
	int src_line, src_col;      /* where it is written, for errors found later */
};

/* Every GPIO line of the workshop, the workshop's first, then each
 * station's: the daemon, the safety path and the simulator index them
 * the same way. */
struct cfg_line {
	char *name;                 /* "estop", "fume_ok", "laser-2.door", "tank.lid" */
	int station;                /* index into cfg->stations, -1: the workshop's */
	enum cfg_role role;
	bool output;
	const struct cfg_gpio_line *gl;     /* its wiring, in the station or gpio.lines */
};

struct cfg_api {
	char *socket;               /* path of the JSON-RPC socket */
	int mode;                   /* octal permissions, default 0660 */
	char *group;                /* group owning the socket, or NULL */
	char **jeweller_groups;     /* NULL-terminated */
	char **technician_groups;   /* NULL-terminated */
	int max_request;            /* bytes in one request line */
	int max_clients;
	int max_clients_per_user;   /* connections of one account at once */
	int technician_slots;       /* of max_clients, kept for technicians */
	char *web_gateway;          /* the user atelier-web runs as, trusted to
	                             * act for its users (api_web.c), or NULL */
	char *web_users;            /* the web bench's accounts (web_users.h) */
};

/* The web bench, atelier-web (docs/web.md); atelierd ignores it. */
struct cfg_web {
	char *listen;               /* address to bind, default 127.0.0.1 */
	int port;                   /* default 8080 */
	char *certificate, *key;    /* PEM files: HTTPS when both are set */
	char *root;                 /* the pages, default the installed ones */
	double session_hours;       /* a session ends after this long idle */
	int threads;                /* requests and WebSockets served at once */
};

/* The maison's shared history and telemetry (docs/fleet.md): atelier-sync
 * sends the journal's events to PostgreSQL and the stations' states to an
 * MQTT broker; atelierd asks the shared history when it prices a job. */
struct cfg_mqtt {
	char *host;                 /* the broker; NULL: no telemetry */
	int port;                   /* default 1883, 8883 with TLS */
	char *username;
	char *password_file;        /* the password alone, first line */
	char *ca_file;              /* TLS when set: the broker's CA */
	char *certificate, *key;    /* a client certificate, both or neither */
	char *prefix;               /* topics under PREFIX/WORKSHOP/, default "atelier" */
	int keepalive;              /* s */
};

struct cfg_fleet {
	char *workshop;             /* this workshop's id; NULL: no fleet */
	char *name;                 /* its name for people, default the id */
	char *postgres;             /* a libpq connection string, without the password */
	char *password_file;        /* the password alone, first line */
	double lookup_seconds;      /* how long pricing waits for the shared history */
	int batch;                  /* events sent in one transaction */
	char *status_file;          /* atelier-sync's state, relative to state_dir */
	struct cfg_mqtt mqtt;
};

struct cfg_calibration {
	double laser_days, tank_days, bath_days;  /* due intervals */
	bool refuse_overdue;
};

/* Physics and behaviour of the simulator; ignored by the daemon. */
struct cfg_sim {
	double ambient;             /* C */
	double tank_heater_power;   /* W */
	double tank_heat_capacity;  /* J/K */
	double tank_loss;           /* W/K to ambient */
	double ultrasound_heating;  /* W into the water while running */
	double bath_heater_power;   /* W */
	double bath_heat_capacity;  /* J/K */
	double bath_loss;           /* W/K */
	double bath_resistance;     /* ohm seen by the rectifier */
	double turnaround;          /* s between a request and the reply */
	double laser_accel;         /* mm/s2 */
	int rectifier_model;        /* register 0 value, e.g. 60062 */
	int rectifier_range;        /* an RD6012P's register 20: 0 = 6 A, 1 = 12 A */
	bool laser_reset_on_open;   /* GRBL on an Arduino: reboots when its port opens */
};

struct cfg {
	char *file;                 /* path it was loaded from */
	char *dir;                  /* its folder: gems, services, profiles resolve here */
	char *device_dir;           /* relative device paths resolve here */
	char *state_dir;
	char *user;                 /* drop to this user after opening devices */
	char *log_level;            /* "error", "warn", "info", "debug" */
	int log_level_id;           /* the same, as enum log_level */
	char *gems_file;            /* relative to the config file's folder */
	char *services_file;
	char *profile_dir;
	double watchdog;            /* s, systemd watchdog expectations */
	struct cfg_bus *buses;
	size_t n_buses;
	struct cfg_device *devices;
	size_t n_devices;
	struct cfg_gpio gpio;
	struct cfg_station *stations;
	size_t n_stations;
	struct cfg_line lines[CFG_MAX_LINES];
	size_t n_lines;
	struct cfg_api api;
	struct cfg_calibration calibration;
	struct cfg_web web;
	struct cfg_fleet fleet;
	struct cfg_sim sim;
};

/* One collected error: "file:line:col: message". */
struct cfg_errors {
	char **msgs;
	size_t n;
};
void cfg_errors_add(struct cfg_errors *e, const char *file, int line, int col,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void cfg_errors_free(struct cfg_errors *e);

/*
 * Loads and checks the file. On success returns a new cfg (free with
 * cfg_free) and leaves errs empty; on failure returns NULL with every error
 * found in errs (missing file, YAML syntax, type, range with unit, unknown
 * key with the nearest known one, missing required key).
 */
struct cfg *cfg_load(const char *path, struct cfg_errors *errs);
/* cfg_load for a program's main: every error printed on stderr, one a
 * line, and NULL; on success the devices' folder is device_dir when one
 * is given (--device-dir, the simulator's run folder). */
struct cfg *cfg_load_main(const char *path, const char *device_dir);
/* Same, from a buffer; name is used in messages. */
struct cfg *cfg_load_buffer(const char *name, const char *data, size_t len,
    struct cfg_errors *errs);
void cfg_free(struct cfg *cfg);
/* Writes the normalised configuration as YAML (every key, defaults filled,
 * units in comments). */
void cfg_print(const struct cfg *cfg, FILE *out);
/* The laser section of the shipped example bench (config/atelier.yaml,
 * compiled in), for laying out an engraving where no configuration is
 * installed. Returns 0, or -1 with errors added; release with
 * cfg_laser_release. */
int cfg_laser_example(struct cfg_laser *out, struct cfg_errors *errs);
void cfg_laser_release(struct cfg_laser *laser);
/* Resolves a device path against device_dir; returns a new string. */
char *cfg_device_path(const struct cfg *cfg, const char *path);
/* Whether two configurations open the same devices: the GPIO lines (and
 * the stations they belong to); a laser's port and link settings; the
 * Modbus buses, their devices and profile folder (a reload keeps what is
 * the same). */
bool cfg_same_gpio(const struct cfg *a, const struct cfg *b);
bool cfg_same_laser_port(const struct cfg *a, const struct cfg_station *x,
    const struct cfg *b, const struct cfg_station *y);
bool cfg_same_buses(const struct cfg *a, const struct cfg *b);
/* The station named, or NULL. */
const struct cfg_station *cfg_station_find(const struct cfg *cfg, const char *name);
/* The index of the n-th station of a kind (n from 0), or -1. */
int cfg_station_of_kind(const struct cfg *cfg, enum cfg_kind kind, int n);
/* How many stations of a kind there are. */
int cfg_stations_of_kind(const struct cfg *cfg, enum cfg_kind kind);
/* The index into cfg->lines of a line by its name, or -1. */
int cfg_line_lookup(const struct cfg *cfg, const char *name);
/* The name of the line at an index ("?" when out of range). */
const char *cfg_line_name(const struct cfg *cfg, int line);
/* A path named in the configuration, resolved against its folder. */
char *cfg_resolve(const struct cfg *cfg, const char *path);
/* The file of a device profile: profile_dir/NAME.yaml. */
char *cfg_profile_path(const struct cfg *cfg, const char *profile);
const struct cfg_bus *cfg_bus_find(const struct cfg *cfg, const char *name);
const struct cfg_device *cfg_device_find(const struct cfg *cfg, const char *name);

/* Device profiles: Modbus register maps. */
enum reg_type { REG_U16 = 0, REG_S16, REG_U32, REG_S32, REG_BIT };
enum reg_access { REG_RO = 0, REG_RW, REG_WO };
/* Which register of a u32/s32 holds the high 16 bits: the Riden puts them
 * first, the E5CC in two-byte mode puts the low (rightmost) ones first. */
enum reg_words { WORDS_HIGH_FIRST = 0, WORDS_LOW_FIRST };

struct profile_reg {
	char *name;
	int address;            /* holding register address, 0..65535 */
	enum reg_type type;     /* u32/s32 take address and address+1 */
	enum reg_words word_order;  /* u32/s32: which word comes first */
	int bit;                /* REG_BIT: bit number 0..15 within the register */
	double scale;           /* engineering value = raw * scale */
	char *unit;             /* "V", "A", "C", "%", "s", "kHz", "" */
	enum reg_access access;
	bool has_range;
	double min, max;        /* engineering units, for writes */
	bool never_write;       /* e.g. Riden factory calibration */
};

/* A model variant: when the identify register holds a value in
 * [model_min, model_max] (and, if the profile names a select_by register,
 * that register holds `select`), the listed registers take the given
 * scales and ranges. */
struct profile_variant {
	char *name;
	int model_min, model_max;
	int select;             /* value of the select_by register, or -1: any */
	char **reg_names;       /* n_scales entries */
	double *scales;
	size_t n_scales;
	char **range_names;     /* n_ranges entries */
	double (*ranges)[2];
	size_t n_ranges;
};

/* One register write of a device's safe state. */
struct profile_write {
	char *reg;
	double value;           /* engineering units */
};

#define PROFILE_MAX_SAFE 6  /* writes in a safe state: one bus command */

struct profile {
	char *name;
	char *description;
	char *identify;         /* register that names the model, or NULL */
	char *select_by;        /* register read with it to choose a variant, or NULL */
	struct profile_reg *regs;
	size_t n_regs;
	struct profile_variant *variants;
	size_t n_variants;
	struct profile_write *safe; /* the safe state, written in order */
	size_t n_safe;
};

struct profile *profile_load(const char *path, struct cfg_errors *errs);
struct profile *profile_load_buffer(const char *name, const char *data, size_t len,
    struct cfg_errors *errs);
void profile_free(struct profile *p);
void profile_print(const struct profile *p, FILE *out);
const struct profile_reg *profile_reg_find(const struct profile *p, const char *name);

#endif
