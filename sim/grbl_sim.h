/*
 * The simulated GRBL 1.1h controller, as pure code: bytes from the host go
 * in (grbl_sim_receive), time goes forward (grbl_sim_step), and responses
 * come out (grbl_sim_output). No I/O and no clock of its own, so that unit
 * tests and the fuzz target drive it with a fake clock; sim_laser.c wraps
 * it with a paced pty and the simulator's GPIO lines.
 *
 * Faithful where a host can tell: the 128-byte receive buffer that loses
 * bytes when overrun, a 16-block planner that stops the parser when full,
 * ok/error:N/ALARM:N, realtime bytes, status reports, laser mode. Motion is
 * simplified: blocks run at their feed rate, accelerating from rest and
 * decelerating to rest only where the planner has no next block, as if
 * junctions were perfectly smooth.
 */
#ifndef ATELIER_GRBL_SIM_H
#define ATELIER_GRBL_SIM_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

#define GRBL_RX_SIZE 128
#define GRBL_PLANNER_SIZE 16
#define GRBL_LINE_MAX 80
#define GRBL_N_SETTINGS 34

enum grbl_state {
	GRBL_IDLE = 0, GRBL_RUN, GRBL_HOLD, GRBL_JOG, GRBL_ALARM, GRBL_DOOR,
	GRBL_CHECK, GRBL_HOME, GRBL_SLEEP,
};

enum grbl_motion { MOTION_RAPID = 0, MOTION_LINEAR, MOTION_CW, MOTION_CCW, MOTION_DWELL };

struct grbl_block {
	enum grbl_motion motion;
	double start[3], end[3];
	double center[2];       /* arcs, XY plane */
	double length;          /* mm (dwell: seconds) */
	double feed;            /* mm/min */
	int spindle;            /* 0 off, 3 M3, 4 M4 */
	double power;           /* S */
	bool jog;
};

struct grbl_sim {
	/* Receive buffer: bytes received and not yet parsed. */
	char rx[GRBL_RX_SIZE];
	size_t rx_len;
	/* The line being assembled from rx, whitespace and comments removed. */
	char line[GRBL_LINE_MAX + 1];
	size_t line_len;
	bool line_overflow;
	int comment;                /* 0, '(' inside a paren comment, ';' to the end */
	unsigned long overruns;     /* bytes lost because rx was full */
	/* Output to the host, bounded: a host that never reads loses output. */
	struct buf out;
	/* Planner ring. */
	struct grbl_block planner[GRBL_PLANNER_SIZE];
	size_t pl_head, pl_count;
	double block_pos;           /* progress in the current block (mm or s) */
	double speed;               /* mm/s now */
	double pos[3];              /* machine position, mm */

	enum grbl_state state;
	int substate;               /* Hold:N, Door:N */
	int alarm;                  /* code of the pending alarm, 0 = none */
	bool alarm_locked;          /* G-code refused until $X or $H */
	bool needs_reset;           /* critical alarm: nothing until 0x18 */
	double accel;               /* mm/s2 */
	bool check_mode;
	bool reset_after_ok;        /* `$C` off: reset once its ok is out */
	int refuse_lines;           /* fault injection: G-code lines to refuse */
	int refuse_code;            /* with this error code */
	bool door_open;
	bool hold_pending;          /* decelerating to a hold */
	bool status_pending;
	bool sync_pending;          /* G4: ok once the planner has run dry */
	int report_count;           /* status reports sent, for WCO/Ov pacing */
	bool ov_changed, wco_changed;

	/* Parser modal state. */
	enum grbl_motion modal_motion;
	bool inches, relative;
	int coord_sys;              /* 0..5 for G54..G59 */
	double feed;                /* mm/min */
	double power;               /* S */
	int spindle;
	bool flood, mist;
	double wcs[6][3];           /* G54..G59 offsets */
	double g92[3];
	double g28[3], g30[3];
	char startup[2][GRBL_LINE_MAX + 1];

	/* Overrides, percent. */
	int ov_feed, ov_rapid, ov_spindle;

	double settings[GRBL_N_SETTINGS];

	/* Parsing pace: lines parsed per second at most (AVR: about 450). */
	double parse_rate;
	double parse_credit;
	double time_scale;          /* motion runs this many times faster */
	double now;

	/* Counters for tests and the status command. */
	unsigned long lines_ok, lines_error;
	bool emitting;              /* beam on, as GRBL commands it */
	double emit_power;

	/* The mechanics, for the scale calibration: the steps a motor really
	 * needs per mm of travel (0 = exactly $100/$101). GRBL counts mm as
	 * steps / $100, so the head really moves pos * $100 / mech_steps. */
	double mech_steps[2];
	/* Where the beam burned, in real mm (bounding box), since cleared. */
	bool burned;
	double burn_lo[2], burn_hi[2];
};

/* The real position of the head on the plate (mm), after the mechanics. */
void grbl_sim_real_xy(const struct grbl_sim *g, double out[2]);
/* Forgets what burned so far. */
void grbl_sim_burn_clear(struct grbl_sim *g);
/* Sets a setting as if stored in EEPROM long ago (the bench's
 * commissioning); returns 0, or -1 for no such setting or a bad value. */
int grbl_sim_set(struct grbl_sim *g, int num, double value);

void grbl_sim_init(struct grbl_sim *g, double now, double accel);
void grbl_sim_free(struct grbl_sim *g);
/* Power-up or reset: prints the banner. hard: power cycle (position lost). */
void grbl_sim_reset(struct grbl_sim *g, bool hard);
/* Bytes that reached the UART: realtime bytes act at once, the others go
 * into the receive buffer or are lost when it is full. */
void grbl_sim_receive(struct grbl_sim *g, const char *data, size_t len);
/* Advances the controller to time now (seconds): parses lines while the
 * planner has room and the parse rate allows, moves, answers. */
void grbl_sim_step(struct grbl_sim *g, double now);
/* The door input of the machine (wired to GRBL's door pin). */
void grbl_sim_door(struct grbl_sim *g, bool open);
/* Raises ALARM:code as a limit switch or fault would. */
void grbl_sim_alarm(struct grbl_sim *g, int code);
/* One-line JSON of the machine for the simulator's status command. */
void grbl_sim_describe(const struct grbl_sim *g, struct buf *out);
const char *grbl_sim_state_name(const struct grbl_sim *g);

#endif
