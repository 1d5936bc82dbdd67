/*
 * The simulated GRBL 1.1h controller (see grbl_sim.h). Organised as GRBL's
 * own main loop is: realtime bytes are acted on as they arrive; the
 * protocol loop takes characters from the receive buffer into a line,
 * strips spaces and comments, and hands complete lines to the G-code
 * parser or the '$' system commands, which plan motion blocks; the stepper
 * side moves through the planner in (simulated) time.
 */
#include "grbl_sim.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* GRBL status codes and alarms used here. */
enum {
	E_EXPECTED_LETTER = 1, E_BAD_NUMBER = 2, E_INVALID_STATEMENT = 3, E_NEGATIVE = 4,
	E_SETTING_DISABLED = 5, E_NOT_IDLE = 8, E_LOCKED = 9, E_OVERFLOW = 11,
	E_JOG = 16, E_UNSUPPORTED = 20, E_MODAL = 21, E_UNDEFINED_FEED = 22,
	E_NOT_INTEGER = 23, E_WORD_REPEATED = 25, E_NO_AXIS = 26, E_INVALID_TARGET = 33,
	E_NO_OFFSETS = 35, E_TOOL = 38,
};

/* Output a host that does not read may leave queued; past it, output is
 * dropped as bytes would be when nobody drains the UART. */
#define OUT_CAP 8192
/* The parser waits while this much output is queued (GRBL's TX buffer). */
#define OUT_BUSY 256

static const struct {
	int num;
	double def;
	bool integer;
} setting_table[GRBL_N_SETTINGS] = {
	{ 0, 10, true }, { 1, 25, true }, { 2, 0, true }, { 3, 0, true }, { 4, 0, true },
	{ 5, 0, true }, { 6, 0, true }, { 10, 1, true }, { 11, 0.010, false },
	{ 12, 0.002, false }, { 13, 0, true }, { 20, 0, true }, { 21, 0, true },
	{ 22, 0, true }, { 23, 0, true }, { 24, 25, false }, { 25, 500, false },
	{ 26, 250, true }, { 27, 1, false }, { 30, 1000, true }, { 31, 0, true },
	/* Laser mode off, as GRBL 1.1h leaves the factory: a bench sets it. */
	{ 32, 0, true }, { 100, 250, false }, { 101, 250, false }, { 102, 250, false },
	{ 110, 6000, false }, { 111, 6000, false }, { 112, 1000, false },
	{ 120, 500, false }, { 121, 500, false }, { 122, 100, false },
	{ 130, 110, false }, { 131, 110, false }, { 132, 20, false },
};

static int
setting_index(int num)
{
	for (int i = 0; i < GRBL_N_SETTINGS; i++)
		if (setting_table[i].num == num)
			return i;
	return -1;
}

static double
setting(const struct grbl_sim *g, int num)
{
	int i = setting_index(num);
	return i >= 0 ? g->settings[i] : 0;
}

static void
say(struct grbl_sim *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
say(struct grbl_sim *g, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof line - 3)
		n = (int)sizeof line - 3;
	memcpy(line + n, "\r\n", 2);
	if (g->out.len + (size_t)n + 2 > OUT_CAP)
		return;
	buf_append(&g->out, line, (size_t)n + 2);
}

static int execute_line(struct grbl_sim *g, char *line);

static void
modal_defaults(struct grbl_sim *g)
{
	g->modal_motion = MOTION_RAPID;
	g->inches = false;
	g->relative = false;
	g->coord_sys = 0;
	g->feed = 0;
	g->power = 0;
	g->spindle = 0;
	g->flood = g->mist = false;
}

void
grbl_sim_init(struct grbl_sim *g, double now, double accel)
{
	memset(g, 0, sizeof *g);
	buf_init(&g->out);
	for (int i = 0; i < GRBL_N_SETTINGS; i++)
		g->settings[i] = setting_table[i].def;
	if (accel > 0) {
		g->settings[setting_index(120)] = accel;
		g->settings[setting_index(121)] = accel;
	}
	g->parse_rate = 450;
	g->time_scale = 1;
	g->now = now;
	grbl_sim_reset(g, true);
}

void
grbl_sim_free(struct grbl_sim *g)
{
	buf_free(&g->out);
}

static bool
moving(const struct grbl_sim *g)
{
	return g->pl_count > 0 && (g->state == GRBL_RUN || g->state == GRBL_JOG ||
	    g->state == GRBL_HOLD || g->state == GRBL_DOOR) && g->speed > 0;
}

static void
flush_motion(struct grbl_sim *g)
{
	g->sync_pending = false;
	g->pl_count = 0;
	g->block_pos = 0;
	g->speed = 0;
	g->hold_pending = false;
}

void
grbl_sim_reset(struct grbl_sim *g, bool hard)
{
	bool aborted = !hard && moving(g);

	flush_motion(g);
	g->rx_len = 0;
	g->line_len = 0;
	g->line_overflow = false;
	g->comment = 0;
	g->status_pending = false;
	modal_defaults(g);
	g->ov_feed = g->ov_rapid = g->ov_spindle = 100;
	g->check_mode = false;
	g->needs_reset = false;
	if (hard) {
		memset(g->pos, 0, sizeof g->pos);
		memset(g->g92, 0, sizeof g->g92);
		g->alarm_locked = setting(g, 22) != 0;   /* homing enabled */
	}
	if (aborted) {
		/* Steps were lost: the position can no longer be trusted. */
		say(g, "ALARM:3");
		g->alarm_locked = true;
	}
	g->alarm = 0;
	say(g, "%s", "");
	say(g, "Grbl 1.1h ['$' for help]");
	if (g->alarm_locked) {
		g->state = GRBL_ALARM;
		say(g, "[MSG:'$H'|'$X' to unlock]");
	} else if (g->door_open) {
		g->state = GRBL_DOOR;
		g->substate = 1;
		say(g, "[MSG:Check Door]");
	} else {
		g->state = GRBL_IDLE;
	}
	g->emitting = false;
	/* Startup lines run after the banner, each echoed with its result. */
	if (g->state == GRBL_IDLE) {
		for (int i = 0; i < 2; i++) {
			if (!g->startup[i][0])
				continue;
			char copy[GRBL_LINE_MAX + 1];
			snprintf(copy, sizeof copy, "%s", g->startup[i]);
			int rc = execute_line(g, copy);
			if (rc)
				say(g, ">%s:error:%d", g->startup[i], rc);
			else
				say(g, ">%s:ok", g->startup[i]);
		}
	}
}

static void
enter_alarm(struct grbl_sim *g, int code, bool critical)
{
	flush_motion(g);
	g->spindle = 0;
	g->state = GRBL_ALARM;
	g->alarm_locked = true;
	g->needs_reset = critical;
	g->emitting = false;
	say(g, "ALARM:%d", code);
	if (critical)
		say(g, "[MSG:Reset to continue]");
}

void
grbl_sim_alarm(struct grbl_sim *g, int code)
{
	/* Limit switches and e-stop-like faults are critical in GRBL: they
	 * need a reset before anything else. */
	enter_alarm(g, code, code == 1 || code == 2 || code == 10);
}

static void
enter_door(struct grbl_sim *g)
{
	if (g->state == GRBL_ALARM || g->state == GRBL_CHECK || g->state == GRBL_SLEEP)
		return;
	if (g->state == GRBL_JOG)
		flush_motion(g);
	g->state = GRBL_DOOR;
	g->substate = g->speed > 0 ? 2 : 1;
	g->hold_pending = g->speed > 0;
}

void
grbl_sim_door(struct grbl_sim *g, bool open)
{
	if (open == g->door_open)
		return;
	g->door_open = open;
	if (open)
		enter_door(g);
	else if (g->state == GRBL_DOOR && g->substate != 2)
		g->substate = 0;        /* closed: ready to resume with '~' */
}

static void
cycle_start(struct grbl_sim *g)
{
	if (g->state == GRBL_HOLD && g->substate == 0) {
		g->state = g->pl_count ? GRBL_RUN : GRBL_IDLE;
	} else if (g->state == GRBL_DOOR && g->substate == 0 && !g->door_open) {
		g->state = g->pl_count ? GRBL_RUN : GRBL_IDLE;
	} else if (g->state == GRBL_IDLE && g->pl_count) {
		g->state = GRBL_RUN;
	}
}

static void
override(int *v, int delta, int set, int lo, int hi)
{
	if (set)
		*v = set;
	else
		*v += delta;
	if (*v < lo)
		*v = lo;
	if (*v > hi)
		*v = hi;
}

static void
realtime(struct grbl_sim *g, unsigned char c)
{
	switch (c) {
	case '?':
		g->status_pending = true;
		return;
	case '!':
		if (g->state == GRBL_RUN) {
			g->state = GRBL_HOLD;
			g->substate = g->speed > 0 ? 1 : 0;
			g->hold_pending = g->speed > 0;
		} else if (g->state == GRBL_JOG) {
			flush_motion(g);
			g->state = GRBL_IDLE;
		}
		return;
	case '~':
		cycle_start(g);
		return;
	case 0x18:
		grbl_sim_reset(g, false);
		return;
	case 0x84:
		enter_door(g);
		if (!g->door_open && !g->hold_pending)
			g->substate = 0;
		return;
	case 0x85:
		if (g->state == GRBL_JOG) {
			flush_motion(g);
			g->state = GRBL_IDLE;
		}
		return;
	case 0x90: override(&g->ov_feed, 0, 100, 10, 200); break;
	case 0x91: override(&g->ov_feed, 10, 0, 10, 200); break;
	case 0x92: override(&g->ov_feed, -10, 0, 10, 200); break;
	case 0x93: override(&g->ov_feed, 1, 0, 10, 200); break;
	case 0x94: override(&g->ov_feed, -1, 0, 10, 200); break;
	case 0x95: g->ov_rapid = 100; break;
	case 0x96: g->ov_rapid = 50; break;
	case 0x97: g->ov_rapid = 25; break;
	case 0x99: override(&g->ov_spindle, 0, 100, 10, 200); break;
	case 0x9A: override(&g->ov_spindle, 10, 0, 10, 200); break;
	case 0x9B: override(&g->ov_spindle, -10, 0, 10, 200); break;
	case 0x9C: override(&g->ov_spindle, 1, 0, 10, 200); break;
	case 0x9D: override(&g->ov_spindle, -1, 0, 10, 200); break;
	default:
		return;     /* other extended bytes are ignored, as GRBL does */
	}
	g->ov_changed = true;
}

void
grbl_sim_receive(struct grbl_sim *g, const char *data, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)data[i];
		if (c == '?' || c == '!' || c == '~' || c == 0x18 || c >= 0x80) {
			realtime(g, c);
			continue;
		}
		if (g->rx_len == GRBL_RX_SIZE) {
			g->overruns++;
			continue;
		}
		g->rx[g->rx_len++] = (char)c;
	}
}

/* --- G-code -------------------------------------------------------- */

static double
wco(const struct grbl_sim *g, int axis)
{
	return g->wcs[g->coord_sys][axis] + g->g92[axis];
}

static bool
planner_full(const struct grbl_sim *g)
{
	return g->pl_count >= GRBL_PLANNER_SIZE;
}

static void
plan(struct grbl_sim *g, const struct grbl_block *b)
{
	size_t tail = (g->pl_head + g->pl_count) % GRBL_PLANNER_SIZE;
	g->planner[tail] = *b;
	g->pl_count++;
	if (g->state == GRBL_IDLE)
		g->state = b->jog ? GRBL_JOG : GRBL_RUN;
}

/* Where the planned motion ends: new blocks start there. */
static void
planned_end(const struct grbl_sim *g, double out[3])
{
	if (g->pl_count == 0) {
		memcpy(out, g->pos, sizeof g->pos);
		return;
	}
	size_t last = (g->pl_head + g->pl_count - 1) % GRBL_PLANNER_SIZE;
	memcpy(out, g->planner[last].end, sizeof g->planner[last].end);
}

/* GRBL's read_float: digits with an optional sign and point, no exponent. */
static int
read_number(const char *s, size_t *i, double *out)
{
	size_t j = *i;
	bool neg = false, digits = false;
	double v = 0, scale = 0;

	if (s[j] == '-' || s[j] == '+')
		neg = s[j++] == '-';
	for (;; j++) {
		if (isdigit((unsigned char)s[j])) {
			digits = true;
			if (scale) {
				v += (s[j] - '0') * scale;
				scale /= 10;
			} else {
				v = v * 10 + (s[j] - '0');
			}
			if (v > 1e12)
				return -1;
		} else if (s[j] == '.' && !scale) {
			scale = 0.1;
		} else {
			break;
		}
	}
	if (!digits)
		return -1;
	*out = neg ? -v : v;
	*i = j;
	return 0;
}

struct words {
	unsigned seen;              /* bit per letter A-Z */
	double v[26];
	int g_motion, g_nonmodal, g_plane, g_units, g_dist, g_coord, g_feedmode;
	bool g53;
	int m_flow, m_spindle, m_coolant;
};

#define W(c) (1u << ((c) - 'A'))

static int
gcode(struct grbl_sim *g, const char *line, bool jog)
{
	struct words w;
	size_t i = 0;

	memset(&w, 0, sizeof w);
	w.g_motion = w.g_nonmodal = w.g_plane = w.g_units = w.g_dist = w.g_coord = -1;
	w.g_feedmode = w.m_flow = w.m_spindle = w.m_coolant = -1;
	while (line[i]) {
		char letter = line[i++];
		double val;
		if (letter < 'A' || letter > 'Z')
			return E_EXPECTED_LETTER;
		if (read_number(line, &i, &val) < 0)
			return E_BAD_NUMBER;
		int code10 = (int)lround(val * 10);
		int *slot = NULL;
		int value = code10;
		if (letter == 'G') {
			switch (code10) {
			case 0: case 10: case 20: case 30: slot = &w.g_motion; break;
			case 40: case 100: case 280: case 281: case 300: case 301: case 920: case 921:
				slot = &w.g_nonmodal; break;
			case 530: w.g53 = true; slot = &w.g_nonmodal; break;
			case 170: case 180: case 190: slot = &w.g_plane; break;
			case 200: case 210: slot = &w.g_units; break;
			case 900: case 910: slot = &w.g_dist; break;
			case 540: case 550: case 560: case 570: case 580: case 590: slot = &w.g_coord; break;
			case 930: case 940: slot = &w.g_feedmode; break;
			case 800: slot = &w.g_motion; break;
			default: return E_UNSUPPORTED;
			}
		} else if (letter == 'M') {
			if (code10 % 10)
				return E_UNSUPPORTED;
			switch (code10 / 10) {
			case 0: case 1: case 2: case 30: slot = &w.m_flow; break;
			case 3: case 4: case 5: slot = &w.m_spindle; break;
			case 7: case 8: case 9: slot = &w.m_coolant; break;
			default: return E_UNSUPPORTED;
			}
			value = code10 / 10;
		} else if (strchr("FIJKLNPRSTXYZ", letter)) {
			if (w.seen & W(letter))
				return E_WORD_REPEATED;
			if (val < 0 && strchr("FNPST", letter))
				return E_NEGATIVE;
			if ((letter == 'L' || letter == 'N' || letter == 'T') && val != floor(val))
				return E_NOT_INTEGER;
			if (letter == 'T' && val > 255)
				return E_TOOL;
			w.seen |= W(letter);
			w.v[letter - 'A'] = val;
			continue;
		} else {
			return E_UNSUPPORTED;
		}
		if (*slot != -1)
			return E_MODAL;
		*slot = value;
	}
	if (g->alarm_locked && !jog)
		return E_LOCKED;

	double unit = (w.g_units == 200 || (w.g_units == -1 && g->inches)) ? 25.4 : 1;
	/* Modal changes apply first, as GRBL's order of execution has it. */
	if (w.g_feedmode == 930)
		return E_UNSUPPORTED;   /* inverse time is not simulated */
	if (w.seen & W('F'))
		g->feed = w.v['F' - 'A'] * unit;
	if (w.seen & W('S'))
		g->power = w.v['S' - 'A'];
	if (w.m_spindle != -1)
		g->spindle = w.m_spindle == 5 ? 0 : w.m_spindle;
	if (w.m_coolant == 7)
		g->mist = true;
	if (w.m_coolant == 8)
		g->flood = true;
	if (w.m_coolant == 9)
		g->flood = g->mist = false;
	if (w.g_units != -1)
		g->inches = w.g_units == 200;
	if (w.g_dist != -1)
		g->relative = w.g_dist == 910;
	if (w.g_coord != -1) {
		g->coord_sys = (w.g_coord - 540) / 10;
		g->wco_changed = true;
	}
	bool axes = w.seen & (W('X') | W('Y') | W('Z'));
	double target[3];
	planned_end(g, target);
	double work[3];
	for (int a = 0; a < 3; a++)
		work[a] = target[a] - wco(g, a);

	if (w.g_nonmodal == 40) {           /* G4 dwell */
		if (!(w.seen & W('P')))
			return 28;
		struct grbl_block b = { .motion = MOTION_DWELL, .length = w.v['P' - 'A'] };
		memcpy(b.start, target, sizeof target);
		memcpy(b.end, target, sizeof target);
		if (!g->check_mode) {
			plan(g, &b);
			/* GRBL synchronises on a dwell: its ok comes when every
			 * move before it and the dwell itself are done. */
			g->sync_pending = true;
		}
		return 0;
	}
	if (w.g_nonmodal == 100) {          /* G10 L2 / L20 */
		if (!(w.seen & W('L')) || !(w.seen & W('P')))
			return 28;
		int l = (int)w.v['L' - 'A'], p = (int)w.v['P' - 'A'];
		if ((l != 2 && l != 20) || p < 0 || p > 6)
			return 29;
		int cs = p == 0 ? g->coord_sys : p - 1;
		for (int a = 0; a < 3; a++) {
			if (!(w.seen & W("XYZ"[a])))
				continue;
			double v = w.v["XYZ"[a] - 'A'] * unit;
			g->wcs[cs][a] = l == 2 ? v : target[a] - g->g92[a] - v;
		}
		g->wco_changed = true;
		return 0;
	}
	if (w.g_nonmodal == 920) {          /* G92 */
		if (!axes)
			return E_NO_AXIS;
		for (int a = 0; a < 3; a++)
			if (w.seen & W("XYZ"[a]))
				g->g92[a] = target[a] - g->wcs[g->coord_sys][a] - w.v["XYZ"[a] - 'A'] * unit;
		g->wco_changed = true;
		return 0;
	}
	if (w.g_nonmodal == 921) {
		memset(g->g92, 0, sizeof g->g92);
		g->wco_changed = true;
		return 0;
	}
	if (w.g_nonmodal == 281 || w.g_nonmodal == 301) {
		memcpy(w.g_nonmodal == 281 ? g->g28 : g->g30, target, sizeof target);
		return 0;
	}
	if (w.g_motion != -1)
		g->modal_motion = w.g_motion == 0 ? MOTION_RAPID : w.g_motion == 10 ? MOTION_LINEAR :
		    w.g_motion == 20 ? MOTION_CW : w.g_motion == 30 ? MOTION_CCW : MOTION_RAPID;

	double end[3];
	memcpy(end, target, sizeof end);
	for (int a = 0; a < 3; a++) {
		char L = "XYZ"[a];
		if (!(w.seen & W(L)))
			continue;
		double v = w.v[L - 'A'] * unit;
		if (w.g53)
			end[a] = v;
		else if (g->relative || jog)
			end[a] = target[a] + v;
		else
			end[a] = v + wco(g, a);
	}
	(void)work;
	if (w.g_nonmodal == 280 || w.g_nonmodal == 300) {
		/* G28/G30: through the intermediate point (if any) to home. */
		struct grbl_block b = { .motion = MOTION_RAPID };
		memcpy(b.start, target, sizeof target);
		memcpy(b.end, w.g_nonmodal == 280 ? g->g28 : g->g30, sizeof b.end);
		b.length = sqrt(pow(b.end[0] - b.start[0], 2) + pow(b.end[1] - b.start[1], 2) +
		    pow(b.end[2] - b.start[2], 2));
		if (!g->check_mode && b.length > 0)
			plan(g, &b);
		return 0;
	}
	if (!axes && !jog)
		goto program_flow;
	if (jog && !axes)
		return E_JOG;
	enum grbl_motion m = jog ? MOTION_LINEAR : g->modal_motion;
	double feed = jog ? w.v['F' - 'A'] * unit : g->feed;
	if (jog && !(w.seen & W('F')))
		return E_JOG;
	if (m != MOTION_RAPID && feed <= 0)
		return E_UNDEFINED_FEED;
	struct grbl_block b = { .motion = m, .feed = feed, .spindle = g->spindle,
		.power = g->power, .jog = jog };
	memcpy(b.start, target, sizeof target);
	memcpy(b.end, end, sizeof end);
	if (m == MOTION_CW || m == MOTION_CCW) {
		if (!(w.seen & (W('I') | W('J'))))
			return E_NO_OFFSETS;
		b.center[0] = target[0] + w.v['I' - 'A'] * unit;
		b.center[1] = target[1] + w.v['J' - 'A'] * unit;
		double r0 = hypot(target[0] - b.center[0], target[1] - b.center[1]);
		double r1 = hypot(end[0] - b.center[0], end[1] - b.center[1]);
		if (fabs(r1 - r0) > 0.005 && fabs(r1 - r0) > 0.001 * r0)
			return E_INVALID_TARGET;
		double a0 = atan2(target[1] - b.center[1], target[0] - b.center[0]);
		double a1 = atan2(end[1] - b.center[1], end[0] - b.center[0]);
		double sweep = a1 - a0;
		if (m == MOTION_CW && sweep >= 0)
			sweep -= 2 * M_PI;
		if (m == MOTION_CCW && sweep <= 0)
			sweep += 2 * M_PI;
		b.length = fabs(sweep) * r0;
	} else {
		b.length = sqrt(pow(end[0] - target[0], 2) + pow(end[1] - target[1], 2) +
		    pow(end[2] - target[2], 2));
	}
	if (!g->check_mode && b.length > 0)
		plan(g, &b);
program_flow:
	if (w.m_flow == 2 || w.m_flow == 30) {
		modal_defaults(g);
		say(g, "[MSG:Pgm End]");
	}
	return 0;
}

/* --- system commands ----------------------------------------------- */

static bool
busy(const struct grbl_sim *g)
{
	return g->state == GRBL_RUN || g->state == GRBL_HOLD || g->state == GRBL_JOG;
}

static void
print_setting(struct grbl_sim *g, int i)
{
	if (setting_table[i].integer)
		say(g, "$%d=%d", setting_table[i].num, (int)g->settings[i]);
	else
		say(g, "$%d=%.3f", setting_table[i].num, g->settings[i]);
}

static int
system_command(struct grbl_sim *g, char *line)
{
	const char *arg = line + 1;

	if (!*arg) {
		say(g, "[HLP:$$ $# $G $I $N $x=val $Nx=line $J=line $SLP $C $X $H ~ ! ? ctrl-x]");
		return 0;
	}
	if (strncmp(arg, "J=", 2) == 0) {
		if (g->state != GRBL_IDLE && g->state != GRBL_JOG)
			return E_LOCKED;
		return gcode(g, arg + 2, true);
	}
	if (g->needs_reset)
		return E_LOCKED;
	if (strcmp(arg, "$") == 0) {
		if (busy(g))
			return E_NOT_IDLE;
		for (int i = 0; i < GRBL_N_SETTINGS; i++)
			print_setting(g, i);
		return 0;
	}
	if (strcmp(arg, "G") == 0) {
		say(g, "[GC:G%d G%d G17 G%d G%d G94 M%d M%d T0 F%.0f S%.0f]",
		    g->modal_motion == MOTION_RAPID ? 0 : g->modal_motion == MOTION_LINEAR ? 1 :
		    g->modal_motion == MOTION_CW ? 2 : 3, 54 + g->coord_sys, g->inches ? 20 : 21,
		    g->relative ? 91 : 90, g->spindle ? g->spindle : 5,
		    g->flood ? 8 : g->mist ? 7 : 9, g->feed, g->power);
		return 0;
	}
	if (strcmp(arg, "#") == 0) {
		if (busy(g))
			return E_NOT_IDLE;
		for (int c = 0; c < 6; c++)
			say(g, "[G%d:%.3f,%.3f,%.3f]", 54 + c, g->wcs[c][0], g->wcs[c][1], g->wcs[c][2]);
		say(g, "[G28:%.3f,%.3f,%.3f]", g->g28[0], g->g28[1], g->g28[2]);
		say(g, "[G30:%.3f,%.3f,%.3f]", g->g30[0], g->g30[1], g->g30[2]);
		say(g, "[G92:%.3f,%.3f,%.3f]", g->g92[0], g->g92[1], g->g92[2]);
		say(g, "[TLO:0.000]");
		say(g, "[PRB:0.000,0.000,0.000:0]");
		return 0;
	}
	if (strcmp(arg, "I") == 0) {
		if (busy(g))
			return E_NOT_IDLE;
		say(g, "[VER:1.1h.20190825:]");
		say(g, "[OPT:V,15,128]");
		return 0;
	}
	if (strncmp(arg, "I=", 2) == 0)
		return busy(g) ? E_NOT_IDLE : 0;
	if (strcmp(arg, "N") == 0) {
		say(g, "$N0=%s", g->startup[0]);
		say(g, "$N1=%s", g->startup[1]);
		return 0;
	}
	if (arg[0] == 'N' && (arg[1] == '0' || arg[1] == '1') && arg[2] == '=') {
		if (busy(g))
			return E_NOT_IDLE;
		if (strlen(arg + 3) > GRBL_LINE_MAX - 5)
			return 14;
		snprintf(g->startup[arg[1] - '0'], sizeof g->startup[0], "%s", arg + 3);
		return 0;
	}
	if (strcmp(arg, "X") == 0) {
		if (g->state == GRBL_ALARM) {
			g->alarm_locked = false;
			g->state = g->door_open ? GRBL_DOOR : GRBL_IDLE;
			say(g, "[MSG:Caution: Unlocked]");
		}
		return 0;
	}
	if (strcmp(arg, "H") == 0) {
		if (setting(g, 22) == 0)
			return E_SETTING_DISABLED;
		if (busy(g))
			return E_NOT_IDLE;
		/* Homing completes at once to machine zero in this model. */
		memset(g->pos, 0, sizeof g->pos);
		g->alarm_locked = false;
		g->state = GRBL_IDLE;
		return 0;
	}
	if (strcmp(arg, "C") == 0) {
		if (g->state == GRBL_CHECK) {
			/* As GRBL: the message, the line's ok, then the reset
			 * and its banner. */
			say(g, "[MSG:Disabled]");
			g->reset_after_ok = true;
		} else if (g->state == GRBL_IDLE) {
			g->check_mode = true;
			g->state = GRBL_CHECK;
			say(g, "[MSG:Enabled]");
		} else {
			return E_NOT_IDLE;
		}
		return 0;
	}
	if (strcmp(arg, "SLP") == 0) {
		flush_motion(g);
		g->state = GRBL_SLEEP;
		say(g, "[MSG:Sleeping]");
		return 0;
	}
	if (strncmp(arg, "RST=", 4) == 0) {
		if (busy(g))
			return E_NOT_IDLE;
		if (strcmp(arg + 4, "$") == 0 || strcmp(arg + 4, "*") == 0)
			for (int i = 0; i < GRBL_N_SETTINGS; i++)
				g->settings[i] = setting_table[i].def;
		if (strcmp(arg + 4, "#") == 0 || strcmp(arg + 4, "*") == 0) {
			memset(g->wcs, 0, sizeof g->wcs);
			memset(g->g28, 0, sizeof g->g28);
			memset(g->g30, 0, sizeof g->g30);
		}
		return 0;
	}
	if (isdigit((unsigned char)arg[0])) {
		size_t i = 0;
		double num, val;
		if (read_number(arg, &i, &num) < 0 || arg[i] != '=')
			return E_INVALID_STATEMENT;
		i++;
		if (read_number(arg, &i, &val) < 0 || arg[i])
			return E_BAD_NUMBER;
		if (busy(g))
			return E_NOT_IDLE;
		if (val < 0)
			return E_NEGATIVE;
		int idx = setting_index((int)num);
		if (idx < 0 || num != floor(num))
			return E_INVALID_STATEMENT;
		g->settings[idx] = setting_table[idx].integer ? floor(val) : val;
		return 0;
	}
	return E_INVALID_STATEMENT;
}

/* Runs one complete, cleaned line; returns 0 or a GRBL error code. */
static int
execute_line(struct grbl_sim *g, char *line)
{
	if (line[0] == '$')
		return system_command(g, line);
	if (g->state == GRBL_SLEEP)
		return E_LOCKED;
	if (g->state == GRBL_JOG)
		return E_LOCKED;
	return gcode(g, line, false);
}

/* Moves characters from rx into the line; returns true with a line ready. */
static bool
assemble_line(struct grbl_sim *g)
{
	size_t used = 0;
	bool done = false;

	while (used < g->rx_len && !done) {
		char c = g->rx[used++];
		if (c == '\n' || c == '\r') {
			g->comment = 0;     /* every comment ends with its line */
			done = true;
			break;
		}
		if (g->comment) {
			if (g->comment == '(' && c == ')')
				g->comment = 0;
			continue;
		}
		if (c == '(' || c == ';') {
			g->comment = c;
			continue;
		}
		if (c == ' ' || c == '\t' || (unsigned char)c < 0x20)
			continue;
		if (g->line_len >= GRBL_LINE_MAX) {
			g->line_overflow = true;
			continue;
		}
		g->line[g->line_len++] = (char)toupper((unsigned char)c);
	}
	memmove(g->rx, g->rx + used, g->rx_len - used);
	g->rx_len -= used;
	return done;
}

static void
protocol(struct grbl_sim *g)
{
	if (g->sync_pending) {
		if (g->pl_count)
			return;
		g->sync_pending = false;
		say(g, "ok");
		g->lines_ok++;
	}
	while (!planner_full(g) && g->out.len < OUT_BUSY && !g->needs_reset &&
	    g->state != GRBL_HOME) {
		/* Parsing a line takes the controller time of its own: a line
		 * is answered 1/parse_rate after it is complete, and an idle
		 * parser banks nothing. */
		if (!memchr(g->rx, '\n', g->rx_len) && !memchr(g->rx, '\r', g->rx_len)) {
			assemble_line(g);
			g->parse_credit = 0;
			return;
		}
		if (g->parse_credit < 1)
			return;
		if (!assemble_line(g))
			return;
		g->line[g->line_len] = '\0';
		int rc;
		if (g->line_overflow)
			rc = E_OVERFLOW;
		else if (g->line_len == 0)
			rc = -1;            /* empty line: GRBL answers ok */
		else if (g->refuse_lines > 0 && g->line[0] != '$') {
			/* Fault injection: the line is refused, not run. */
			g->refuse_lines--;
			rc = g->refuse_code;
		} else
			rc = execute_line(g, g->line);
		g->line_len = 0;
		g->line_overflow = false;
		g->parse_credit -= 1;
		if (rc <= 0 && g->sync_pending)
			return;
		if (rc <= 0) {
			say(g, "ok");
			g->lines_ok++;
			if (g->reset_after_ok) {
				g->reset_after_ok = false;
				grbl_sim_reset(g, false);
				return;
			}
		} else {
			say(g, "error:%d", rc);
			g->lines_error++;
		}
	}
}

/* --- motion -------------------------------------------------------- */

static double
block_speed(const struct grbl_sim *g, const struct grbl_block *b)
{
	double max = setting(g, 110) / 60.0;
	double v;
	if (b->motion == MOTION_RAPID)
		v = max * g->ov_rapid / 100.0;
	else
		v = fmin(b->feed / 60.0, max) * (b->jog ? 100 : g->ov_feed) / 100.0;
	return v > 0 ? v : 0.1;
}

static void
block_point(const struct grbl_block *b, double s, double out[3])
{
	double f = b->length > 0 ? s / b->length : 1;
	if (f > 1)
		f = 1;
	if (b->motion == MOTION_CW || b->motion == MOTION_CCW) {
		double r = hypot(b->start[0] - b->center[0], b->start[1] - b->center[1]);
		double a0 = atan2(b->start[1] - b->center[1], b->start[0] - b->center[0]);
		double sweep = b->length / (r > 0 ? r : 1);
		double a = a0 + (b->motion == MOTION_CCW ? sweep : -sweep) * f;
		out[0] = b->center[0] + r * cos(a);
		out[1] = b->center[1] + r * sin(a);
		out[2] = b->start[2] + (b->end[2] - b->start[2]) * f;
		if (f >= 1)
			memcpy(out, b->end, 3 * sizeof(double));
		return;
	}
	for (int a = 0; a < 3; a++)
		out[a] = b->start[a] + (b->end[a] - b->start[a]) * f;
}

static void
update_emission(struct grbl_sim *g)
{
	bool on = false;
	double power = 0;
	if (g->pl_count && (g->state == GRBL_RUN || g->state == GRBL_JOG)) {
		const struct grbl_block *b = &g->planner[g->pl_head];
		bool laser_mode = setting(g, 32) != 0;
		bool cutting = b->motion == MOTION_LINEAR || b->motion == MOTION_CW ||
		    b->motion == MOTION_CCW;
		if (b->spindle && b->power > 0 && g->speed > 0 && (cutting || !laser_mode)) {
			on = true;
			power = b->power * g->ov_spindle / 100.0;
		}
	} else if (!setting(g, 32) && g->spindle && g->power > 0 &&
	    (g->state == GRBL_IDLE || g->state == GRBL_RUN)) {
		/* Outside laser mode a spindle keeps turning when idle. */
		on = true;
		power = g->power * g->ov_spindle / 100.0;
	}
	g->emitting = on;
	g->emit_power = on ? power : 0;
	if (on) {
		double xy[2];
		grbl_sim_real_xy(g, xy);
		for (int a = 0; a < 2; a++) {
			if (!g->burned || xy[a] < g->burn_lo[a])
				g->burn_lo[a] = xy[a];
			if (!g->burned || xy[a] > g->burn_hi[a])
				g->burn_hi[a] = xy[a];
		}
		g->burned = true;
	}
}

void
grbl_sim_real_xy(const struct grbl_sim *g, double out[2])
{
	for (int a = 0; a < 2; a++) {
		double set = setting(g, 100 + a);
		out[a] = g->mech_steps[a] > 0 && set > 0 ? g->pos[a] * set / g->mech_steps[a] :
		    g->pos[a];
	}
}

int
grbl_sim_set(struct grbl_sim *g, int num, double value)
{
	int idx = setting_index(num);
	if (idx < 0 || !isfinite(value) || value < 0)
		return -1;
	g->settings[idx] = setting_table[idx].integer ? floor(value) : value;
	return 0;
}

void
grbl_sim_burn_clear(struct grbl_sim *g)
{
	g->burned = false;
	memset(g->burn_lo, 0, sizeof g->burn_lo);
	memset(g->burn_hi, 0, sizeof g->burn_hi);
}

static void
motion(struct grbl_sim *g, double dt)
{
	double a = setting(g, 120);
	if (a <= 0)
		a = 10;
	while (dt > 1e-9 && g->pl_count) {
		struct grbl_block *b = &g->planner[g->pl_head];
		bool stopping = g->hold_pending || g->state == GRBL_DOOR;
		if (g->state == GRBL_HOLD && !g->hold_pending)
			return;
		if (g->state == GRBL_DOOR && !g->hold_pending)
			return;
		if (g->state != GRBL_RUN && g->state != GRBL_JOG && !stopping)
			return;
		double step = dt > 0.0005 * g->time_scale ? 0.0005 * g->time_scale : dt;
		dt -= step;
		if (b->motion == MOTION_DWELL) {
			if (stopping)
				return;
			g->block_pos += step;
			if (g->block_pos >= b->length) {
				g->pl_head = (g->pl_head + 1) % GRBL_PLANNER_SIZE;
				g->pl_count--;
				g->block_pos = 0;
			}
			continue;
		}
		double vmax = block_speed(g, b);
		double remaining = b->length - g->block_pos;
		bool last = g->pl_count == 1 ||
		    g->planner[(g->pl_head + 1) % GRBL_PLANNER_SIZE].motion == MOTION_DWELL;
		if (stopping) {
			g->speed -= a * step;
			if (g->speed <= 0) {
				g->speed = 0;
				g->hold_pending = false;
				g->substate = g->state == GRBL_DOOR ? (g->door_open ? 1 : 0) : 0;
				update_emission(g);
				return;
			}
		} else if (last && g->speed * g->speed / (2 * a) >= remaining) {
			g->speed -= a * step;
			if (g->speed < 0.05 * vmax)
				g->speed = 0.05 * vmax;
		} else {
			g->speed += a * step;
			if (g->speed > vmax)
				g->speed = vmax;
		}
		g->block_pos += g->speed * step;
		if (g->block_pos >= b->length) {
			double over = g->block_pos - b->length;
			memcpy(g->pos, b->end, sizeof g->pos);
			g->pl_head = (g->pl_head + 1) % GRBL_PLANNER_SIZE;
			g->pl_count--;
			g->block_pos = over > 0 && g->pl_count ? over : 0;
			if (!g->pl_count || last)
				g->speed = 0;
		} else {
			block_point(b, g->block_pos, g->pos);
		}
		update_emission(g);
	}
	if (!g->pl_count && (g->state == GRBL_RUN || g->state == GRBL_JOG)) {
		g->state = GRBL_IDLE;
		g->speed = 0;
	}
	update_emission(g);
}

const char *
grbl_sim_state_name(const struct grbl_sim *g)
{
	static const char *const names[] = { "Idle", "Run", "Hold", "Jog", "Alarm", "Door",
		"Check", "Home", "Sleep" };
	return names[g->state];
}

static void
status_report(struct grbl_sim *g)
{
	char r[256];
	int n = 0;
	int mask = (int)setting(g, 10);

	if (g->state == GRBL_HOLD || g->state == GRBL_DOOR)
		n += snprintf(r + n, sizeof r - (size_t)n, "<%s:%d", grbl_sim_state_name(g), g->substate);
	else
		n += snprintf(r + n, sizeof r - (size_t)n, "<%s", grbl_sim_state_name(g));
	if (mask & 1)
		n += snprintf(r + n, sizeof r - (size_t)n, "|MPos:%.3f,%.3f,%.3f", g->pos[0], g->pos[1], g->pos[2]);
	else
		n += snprintf(r + n, sizeof r - (size_t)n, "|WPos:%.3f,%.3f,%.3f", g->pos[0] - wco(g, 0),
		    g->pos[1] - wco(g, 1), g->pos[2] - wco(g, 2));
	if (mask & 2)
		n += snprintf(r + n, sizeof r - (size_t)n, "|Bf:%zu,%zu",
		    GRBL_PLANNER_SIZE - g->pl_count, GRBL_RX_SIZE - g->rx_len);
	n += snprintf(r + n, sizeof r - (size_t)n, "|FS:%.0f,%.0f", g->speed * 60,
	    g->emitting ? g->emit_power : (g->spindle ? g->power : 0));
	if (g->door_open || g->state == GRBL_HOLD)
		n += snprintf(r + n, sizeof r - (size_t)n, "|Pn:%s%s", g->door_open ? "D" : "",
		    g->state == GRBL_HOLD ? "H" : "");
	int k = g->report_count++ % 10;
	if (k == 0 || g->wco_changed) {
		n += snprintf(r + n, sizeof r - (size_t)n, "|WCO:%.3f,%.3f,%.3f", wco(g, 0), wco(g, 1), wco(g, 2));
		g->wco_changed = false;
	} else if (k == 1 || g->ov_changed) {
		n += snprintf(r + n, sizeof r - (size_t)n, "|Ov:%d,%d,%d", g->ov_feed, g->ov_rapid,
		    g->ov_spindle);
		g->ov_changed = false;
	}
	snprintf(r + n, sizeof r - (size_t)n, ">");
	say(g, "%s", r);
}

void
grbl_sim_step(struct grbl_sim *g, double now)
{
	double dt = now - g->now;
	if (dt < 0)
		dt = 0;
	if (dt > 1)
		dt = 1;         /* a stalled host thread does not teleport the head */
	g->now = now;
	g->parse_credit += dt * g->parse_rate;
	if (g->parse_credit > 2)
		g->parse_credit = 2;
	if (g->status_pending) {
		status_report(g);
		g->status_pending = false;
	}
	protocol(g);
	motion(g, dt * g->time_scale);
	protocol(g);
}

void
grbl_sim_describe(const struct grbl_sim *g, struct buf *out)
{
	buf_printf(out, "{\"state\":\"%s\",\"substate\":%d,\"pos\":[%.3f,%.3f,%.3f],"
	    "\"rx\":%zu,\"planner\":%zu,\"overruns\":%lu,\"ok\":%lu,\"errors\":%lu,"
	    "\"emitting\":%s,\"power\":%.1f,\"door\":%s,\"parse_rate\":%.0f,\"time_scale\":%g,"
	    "\"steps\":[%.3f,%.3f],\"burn\":[%.4f,%.4f,%.4f,%.4f]}",
	    grbl_sim_state_name(g), g->substate, g->pos[0], g->pos[1], g->pos[2], g->rx_len,
	    g->pl_count, g->overruns, g->lines_ok, g->lines_error, g->emitting ? "true" : "false",
	    g->emit_power, g->door_open ? "true" : "false", g->parse_rate, g->time_scale,
	    setting(g, 100), setting(g, 101), g->burn_lo[0], g->burn_lo[1], g->burn_hi[0],
	    g->burn_hi[1]);
}
