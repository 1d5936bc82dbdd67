/*
 * The laser kind: a GRBL 1.1 engraver on its own serial port, its power
 * relay and beacon under the interlock, its door guarding it alone.
 * Programs are checked for content (policy/laser_program.h) and for the
 * station's state before a byte is sent; an outside program runs first
 * in GRBL's check mode. After a door trip or a refused line the machine
 * is held, then reset once the hold is complete, so nothing of the old
 * program can run on a resume. The stop byte of a trip is the safety
 * path's (the driver's stop line); what is left here is the bookkeeping.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/station.h"
#include "log.h"
#include "policy/laser_program.h"
#include "util.h"

struct laser {
	struct grbl *grbl;
	struct grbl_stopline *stopline;     /* its port, for the safety path */
	int fd;                     /* registered in the loop, or -1 */
	/* The current program: who started it, which one it is, and who held
	 * it with laser.hold ((uid_t)-1: nobody). */
	uid_t owner, hold_by;
	unsigned stream_id, hold_stream;
	/* A trip held GRBL mid-program: reset it once the hold is complete,
	 * by this monotonic time at the latest (0: nothing to clear). */
	double flush_until;
	double door_reset_at;       /* no reset of a closed-door hold before this */
	bool error;                 /* the running program had a line refused */
	bool reacting;              /* inside a trip's bookkeeping */
	char alarm[160];            /* GRBL's last alarm while it stays in Alarm */
	/* An outside program in GRBL's check mode, to burn if it passes. */
	struct {
		char *gcode;
		uid_t owner;
		struct api_pending *answer;
	} check;
	/* A technician's laser.setting, answered once read back. */
	struct {
		int num;
		struct api_pending *answer;
	} setting;
};

static struct laser *
L(const struct station *st)
{
	return st->priv;
}

/* --- driver callbacks ----------------------------------------------------- */

static void
on_link(void *arg, enum grbl_link state, const char *why)
{
	struct station *st = arg;
	struct laser *l = L(st);
	static const char *const names[] = { "down", "connecting", "ready" };
	log_info("%s link %s%s%s", st->name, names[state], why ? ": " : "", why ? why : "");
	l->alarm[0] = '\0';     /* a new link: GRBL says its state afresh */
	if (state == GRBL_READY && st->state == ST_OFFLINE)
		station_set(st, ST_IDLE, "%s", "");
	if (state == GRBL_DOWN)
		station_set(st, ST_OFFLINE, "%s", why ? why : "link down");
	daemon_notify(st->d, "device", json_pack("{s:s, s:s, s:s}", "device", st->name,
	    "station", st->name, "link", names[state]));
	if (st->d->safety)
		safety_poke(st->d->safety);
}

static void
on_error(void *arg, long line_no, const char *line, int code, const char *meaning)
{
	struct station *st = arg;
	log_warn("%s: line %ld (%s): error:%d, %s", st->name, line_no, line, code, meaning);
	if (grbl_streaming(L(st)->grbl))
		L(st)->error = true;
}

static void
beam_off(struct station *st)
{
	station_relay(st, ROLE_LASER_ENABLE, 0, NULL, 0);
	station_relay(st, ROLE_BEACON, 0, NULL, 0);
}

static void
on_alarm(void *arg, int code, const char *meaning)
{
	struct station *st = arg;
	log_warn("%s: ALARM:%d, %s", st->name, code, meaning);
	snprintf(L(st)->alarm, sizeof L(st)->alarm, "ALARM:%d, %s", code, meaning);
	beam_off(st);
}

static void
on_done(void *arg, bool ok, const char *why)
{
	struct station *st = arg;
	struct laser *l = L(st);
	beam_off(st);
	l->hold_by = (uid_t)-1;
	/* GRBL runs on past an error with what it has buffered; the driver
	 * held it. Once the hold is complete a reset empties its buffers
	 * (keeping the position), so that nothing of the program can run. */
	if (!ok && l->error && grbl_link_state(l->grbl) == GRBL_READY)
		l->flush_until = now_mono() + 10;
	l->error = false;
	if (!l->reacting)
		daemon_station_finished(st->d, st, ok, ok ? "the engraving is complete" : why);
	if (st->state == ST_RUNNING) {
		if (ok)
			station_set(st, ST_IDLE, "the engraving is complete");
		else
			station_set(st, ST_FAULT, "%s", why);
	}
}

static void
on_setting(void *arg, int num, double value, bool verified)
{
	struct station *st = arg;
	struct laser *l = L(st);
	struct daemon *d = st->d;
	for (size_t i = 0; i < d->n_listeners; i++)
		if (d->listeners[i].laser_setting)
			d->listeners[i].laser_setting(d, st, num, value, verified, d->listeners[i].ctx);
	if (l->setting.answer && l->setting.num == num) {
		if (verified)
			api_pending_result(l->setting.answer, json_pack("{s:s, s:i, s:f, s:b}",
			    "station", st->name, "setting", num, "value", value, "verified", 1));
		else
			api_pending_fail(l->setting.answer, API_ERR_UNAVAILABLE, "GRBL refused "
			    "$%d=%g, or read it back different", num, value);
		l->setting.answer = NULL;
	}
}

static void on_checked(void *arg, bool ok, const char *why);

static const struct grbl_events events = { on_link, NULL, on_error, on_alarm, NULL, on_done,
	on_setting, on_checked };

/* --- loop plumbing ------------------------------------------------------- */

static void laser_sync_fds(struct station *st);

static void
on_io(struct loop *lp, int fd, short revents, void *arg)
{
	struct station *st = arg;
	(void)lp;
	(void)fd;
	grbl_on_io(L(st)->grbl, revents);
	laser_sync_fds(st);
}

/* The port's descriptor changes when the link comes and goes. */
static void
laser_sync_fds(struct station *st)
{
	struct laser *l = L(st);
	struct pollfd want;
	bool have = l->grbl && grbl_pollfd(l->grbl, &want) == 1;
	if (l->fd >= 0 && (!have || want.fd != l->fd)) {
		loop_del_fd(st->d->loop, l->fd);
		l->fd = -1;
	}
	if (!have)
		return;
	if (l->fd < 0) {
		loop_add_fd(st->d->loop, want.fd, want.events, on_io, st);
		l->fd = want.fd;
	} else {
		loop_set_events(st->d->loop, want.fd, want.events);
	}
}

static double
laser_deadline(struct station *st)
{
	return L(st)->grbl ? grbl_next_deadline(L(st)->grbl) : 0;
}

static void
laser_on_timer(struct station *st, double now)
{
	if (L(st)->grbl && now >= grbl_next_deadline(L(st)->grbl))
		grbl_on_timer(L(st)->grbl, now);
}

/* --- life cycle ---------------------------------------------------------- */

static int
laser_open(struct station *st)
{
	struct laser *l = xcalloc(1, sizeof *l);
	st->priv = l;
	l->fd = -1;
	l->hold_by = (uid_t)-1;
	l->stopline = grbl_stopline_new();
	l->grbl = grbl_new(st->d->cfg, &st->cfg->laser, &events, st);
	grbl_set_stopline(l->grbl, l->stopline);
	st->state = ST_OFFLINE;
	snprintf(st->detail, sizeof st->detail, "connecting");
	/* Devices are opened as root, before the privilege drop. */
	grbl_on_timer(l->grbl, now_mono());
	laser_sync_fds(st);
	return 0;
}

/* A check or a setting whose driver goes away will never end: its answer
 * must. */
static void
abandon_answers(struct station *st, const char *why)
{
	struct laser *l = L(st);
	if (l->setting.answer)
		api_pending_fail(l->setting.answer, API_ERR_UNAVAILABLE, "the setting was not "
		    "confirmed: %s", why);
	l->setting.answer = NULL;
	if (l->check.answer)
		api_pending_fail(l->check.answer, API_ERR_UNAVAILABLE, "the program was not "
		    "burnt: %s", why);
	l->check.answer = NULL;
	free(l->check.gcode);
	l->check.gcode = NULL;
}

static void
laser_close(struct station *st)
{
	struct laser *l = L(st);
	if (!l)
		return;
	abandon_answers(st, "the laser's driver was stopped");
	if (l->fd >= 0)
		loop_del_fd(st->d->loop, l->fd);
	grbl_free(l->grbl);
	grbl_stopline_free(l->stopline);
	free(l);
	st->priv = NULL;
}

static void
laser_reconfigure(struct station *st)
{
	/* Same port and link settings (daemon.c checked): the driver reads
	 * its limits from the new configuration. */
	grbl_set_config(L(st)->grbl, st->d->cfg, &st->cfg->laser);
}

static void
laser_safe(struct station *st, const char *why)
{
	struct laser *l = L(st);
	beam_off(st);
	if (l->grbl && grbl_link_state(l->grbl) != GRBL_DOWN) {
		if (grbl_streaming(l->grbl))
			grbl_stream_cancel(l->grbl, why);
		grbl_realtime(l->grbl, GRBL_RT_RESET);
	}
	l->flush_until = 0;
	l->hold_by = (uid_t)-1;
}

/* Pushes the reset byte out if the port did not take it at once. */
static void
laser_flush(struct station *st)
{
	struct laser *l = L(st);
	double end = now_mono() + 0.5;
	while (now_mono() < end && l->grbl && grbl_link_state(l->grbl) != GRBL_DOWN) {
		struct pollfd p;
		if (grbl_pollfd(l->grbl, &p) && p.events & POLLOUT)
			grbl_on_io(l->grbl, POLLOUT);
		else
			break;
	}
}

static void
laser_safety_devices(struct station *st, struct safety_station *out)
{
	out->laser = L(st)->stopline;
}

/* --- programs --------------------------------------------------------------- */

int
station_laser_ready(struct station *st, bool emit, struct err *e)
{
	struct laser *l = L(st);
	if (st->kind != KIND_LASER || !l)
		return err_set(e, API_ERR_INVALID_PARAMS, "%s is not a laser", st->name);
	if (st->state == ST_RUNNING)
		return err_set(e, API_ERR_BUSY, "the laser%s is %s", st->suffix,
		    grbl_checking(l->grbl) ? "checking a program" : "already engraving");
	if (grbl_link_state(l->grbl) != GRBL_READY)
		return err_set(e, API_ERR_UNAVAILABLE, "the laser%s is not connected", st->suffix);
	const char *why = station_forbidden(st, ROLE_LASER_ENABLE);
	if (why)
		return err_set(e, API_ERR_INTERLOCK, "the laser%s cannot start: %s", st->suffix, why);
	const struct grbl_status *gs = grbl_last_status(l->grbl);
	if (!strcmp(gs->state, "Alarm"))
		return err_set(e, API_ERR_UNAVAILABLE, "the laser%s is in alarm%s%s and has lost "
		    "its position: a technician must check the piece and unlock it (laser.unlock)",
		    st->suffix, l->alarm[0] ? ": " : "", l->alarm);
	if (l->flush_until > 0)
		return err_set(e, API_ERR_BUSY, "the laser%s is still clearing the program a trip "
		    "or an error stopped; try again in a moment", st->suffix);
	/* Atelier's programs turn the beam off in G0 moves by laser mode
	 * (M4): without it the beam would stay on between the letters. */
	if (emit && grbl_setting(l->grbl, 32) != 1)
		return err_set(e, API_ERR_UNAVAILABLE, "GRBL's laser mode is off%s%s ($32=%g): "
		    "the beam would stay on across moves; a technician sets $32=1 (atelierctl laser "
		    "setting 32 1)", st->suffix[0] ? " on" : "", st->suffix, grbl_setting(l->grbl, 32));
	return 0;
}

static int
laser_ready(struct station *st, struct err *e)
{
	return station_laser_ready(st, true, e);
}

/* Whether the rotary is mounted: its setting reads back the value the
 * configuration gives for it (rotary.mounted_setting, mounted_value),
 * give or take its calibration. */
static bool
rotary_mounted(struct station *st, double *reads)
{
	const struct cfg_rotary *r = &st->cfg->laser.rotary;
	*reads = grbl_setting(L(st)->grbl, r->mounted_setting);
	/* Within 10 %: the rotary's calibration (laser.rotary) trims the
	 * setting a little; the bed's value is nowhere near. */
	return r->kind != ROTARY_NONE && isfinite(*reads) &&
	    fabs(*reads - r->mounted_value) <= 0.1 * r->mounted_value;
}

/* A program for the rotary runs only with the rotary mounted, and a flat
 * program never does: either way the piece would be burned where nobody
 * laid the text out. */
static int
rotary_or_say(struct station *st, bool for_rotary, struct err *e)
{
	const struct cfg_rotary *r = &st->cfg->laser.rotary;
	double reads;
	bool mounted = rotary_mounted(st, &reads);
	if (for_rotary && r->kind == ROTARY_NONE)
		return err_set(e, API_ERR_INVALID, "the program is for a rotary (its first line says "
		    "so), and the laser%s has none", st->suffix);
	if (for_rotary && !mounted)
		return err_set(e, API_ERR_INVALID, "the program is for the rotary, and the rotary of "
		    "the laser%s is not mounted: $%d reads %g, not %g; mount it (and set $%d) first",
		    st->suffix, r->mounted_setting, reads, r->mounted_value, r->mounted_setting);
	if (!for_rotary && mounted)
		return err_set(e, API_ERR_INVALID, "the rotary of the laser%s is mounted ($%d reads "
		    "%g): a flat program would burn a turning piece; take the rotary off (and set $%d "
		    "back), or engrave for the rotary", st->suffix, r->mounted_setting, reads,
		    r->mounted_setting);
	return 0;
}

/* The content check every program passes (laser_program.h), and, for an
 * absolute program in mm, its extent against this laser's work area: a
 * workshop's lasers differ, and a job laid out for one may come to
 * another. (A relative or inch program is left to GRBL's soft limits.) */
static int
content_or_say(struct station *st, const char *gcode, bool emit, struct err *e)
{
	struct laser_program_info info;
	char err[300];
	const struct cfg_laser *c = &st->cfg->laser;
	if (laser_program_check(gcode, &info, err, sizeof err) < 0)
		return err_set(e, API_ERR_INVALID, "the program is refused: %s", err);
	if (!emit && info.emits)
		return err_set(e, API_ERR_INVALID, "a program that only moves the head may "
		    "not turn the laser on (M3 or M4)");
	if (rotary_or_say(st, info.rotary, e) < 0)
		return -1;
	const double tol = 1e-6;
	/* On the rotary, Y turns the piece: it has no end to leave. */
	bool y_free = info.rotary;
	if (!info.relative && !info.inches && ((info.x_lo <= info.x_hi && (info.x_lo < -tol ||
	    info.x_hi > c->work_x + tol)) || (!y_free && info.y_lo <= info.y_hi &&
	    (info.y_lo < -tol || info.y_hi > c->work_y + tol))))
		return err_set(e, API_ERR_INVALID, "the program spans X %g..%g, Y %g..%g mm, outside "
		    "the work area of the laser%s (0..%g x 0..%g mm)", info.x_lo, info.x_hi, info.y_lo,
		    info.y_hi, st->suffix, c->work_x, c->work_y);
	return 0;
}

int
station_laser_fits(struct station *st, const char *gcode, struct err *e)
{
	return content_or_say(st, gcode, true, e);
}

static int
run_program(struct station *st, const char *gcode, uid_t owner, bool emit, struct err *e)
{
	struct laser *l = L(st);
	char err[300];
	if (content_or_say(st, gcode, emit, e) < 0 || station_laser_ready(st, emit, e) < 0)
		return -1;
	if (emit) {
		/* The emission indicator is lit before the source is powered. */
		if (station_relay(st, ROLE_BEACON, 1, err, sizeof err) < 0 ||
		    station_relay(st, ROLE_LASER_ENABLE, 1, err, sizeof err) < 0) {
			station_relay(st, ROLE_BEACON, 0, NULL, 0);
			return err_set(e, API_ERR_INTERLOCK, "the laser%s cannot start: %s", st->suffix,
			    err);
		}
	}
	if (grbl_stream_text(l->grbl, gcode, err, sizeof err) < 0) {
		beam_off(st);
		return err_set(e, API_ERR_INVALID, "the program is refused: %s", err);
	}
	l->owner = owner;
	l->stream_id++;
	l->hold_by = (uid_t)-1;
	l->error = false;
	station_set(st, ST_RUNNING, "%s", emit ? "engraving" : "framing (laser off)");
	return 0;
}

int
station_laser_stream(struct station *st, const char *gcode, uid_t owner, struct err *e)
{
	if (st->kind != KIND_LASER)
		return err_set(e, API_ERR_INVALID_PARAMS, "%s is not a laser", st->name);
	return run_program(st, gcode, owner, true, e);
}

int
station_laser_move(struct station *st, const char *gcode, uid_t owner, struct err *e)
{
	if (st->kind != KIND_LASER)
		return err_set(e, API_ERR_INVALID_PARAMS, "%s is not a laser", st->name);
	return run_program(st, gcode, owner, false, e);
}

static int
laser_start(struct station *st, const struct policy_piece *pieces, size_t n, json_t *params,
    uid_t owner, struct err *e)
{
	const char *gcode = json_string_value(json_object_get(params, "gcode"));
	if (station_check_load(st, pieces, n, e) < 0)
		return -1;
	if (!gcode)
		return err_set(e, API_ERR_STORE, "the engraving's toolpath is missing");
	return run_program(st, gcode, owner, true, e);
}

int
station_laser_check_then_stream(struct station *st, const char *gcode, uid_t owner,
    struct api_pending *answer, struct err *e)
{
	char err[300];
	if (content_or_say(st, gcode, true, e) < 0 || station_laser_ready(st, true, e) < 0)
		return -1;
	struct laser *l = L(st);
	if (grbl_check_text(l->grbl, gcode, err, sizeof err) < 0)
		return err_set(e, API_ERR_INVALID, "the program is refused: %s", err);
	free(l->check.gcode);
	l->check.gcode = xstrdup(gcode);
	l->check.owner = owner;
	l->check.answer = answer;
	station_set(st, ST_RUNNING, "checking the program in GRBL's check mode (nothing moves, "
	    "nothing burns)");
	return 0;
}

/* The check of an outside program ended: burn it if it passed, with every
 * check of the station made again, else say which line GRBL refused. */
static void
on_checked(void *arg, bool ok, const char *why)
{
	struct station *st = arg;
	struct laser *l = L(st);
	struct api_pending *answer = l->check.answer;
	char *gcode = l->check.gcode;
	uid_t owner = l->check.owner;
	l->check.answer = NULL;
	l->check.gcode = NULL;
	struct err e;
	int rc = -1;
	if (!ok) {
		err_set(&e, API_ERR_INVALID, "the program was not burnt: %s (checked in GRBL's check "
		    "mode: nothing moved)", why);
		station_set(st, ST_IDLE, "%s", e.msg);
	} else if (answer && !api_pending_alive(answer)) {
		err_set(&e, API_ERR_INVALID, "the program passed the check, but whoever sent it left: "
		    "nothing was burnt");
		station_set(st, ST_IDLE, "%s", e.msg);
	} else {
		/* Idle again for the burn's own start, which checks it all anew. */
		station_set(st, ST_IDLE, "the program passed GRBL's check mode");
		rc = run_program(st, gcode, owner, true, &e);
	}
	if (answer) {
		if (rc == 0)
			api_pending_result(answer, json_pack("{s:s, s:s, s:b}", "station", st->name,
			    "state", "running", "checked", 1));
		else
			api_pending_fail(answer, e.code, "%s", e.msg);
	}
	free(gcode);
}

int
station_laser_hold(struct station *st, uid_t who, struct err *e)
{
	struct laser *l = st->kind == KIND_LASER ? L(st) : NULL;
	if (!l || grbl_realtime(l->grbl, GRBL_RT_HOLD) < 0)
		return err_set(e, API_ERR_UNAVAILABLE, "the laser%s is not connected", st->suffix);
	if (grbl_streaming(l->grbl) && l->hold_by == (uid_t)-1) {
		l->hold_by = who;
		l->hold_stream = l->stream_id;
	}
	return 0;
}

int
station_laser_resume(struct station *st, uid_t who, struct err *e)
{
	struct laser *l = st->kind == KIND_LASER ? L(st) : NULL;
	if (!l || grbl_link_state(l->grbl) != GRBL_READY)
		return err_set(e, API_ERR_UNAVAILABLE, "the laser%s is not connected", st->suffix);
	if (!grbl_streaming(l->grbl) || st->state != ST_RUNNING)
		return err_set(e, API_ERR_INVALID, "there is no held engraving to resume%s%s%s%s",
		    st->suffix[0] ? " on" : "", st->suffix, st->detail[0] ? ": " : "", st->detail);
	if (l->hold_by == (uid_t)-1 || l->hold_stream != l->stream_id)
		return err_set(e, API_ERR_INVALID, "the engraving was not held with laser.hold, so "
		    "it cannot be resumed");
	if (l->hold_by != l->owner || who != l->owner)
		return err_set(e, API_ERR_FORBIDDEN, "only the one who started this engraving "
		    "and held it may resume it");
	const struct grbl_status *gs = grbl_last_status(l->grbl);
	if (strcmp(gs->state, "Hold") != 0 || gs->substate != 0)
		return err_set(e, API_ERR_BUSY, "the laser%s is %s%s, not in a completed hold",
		    st->suffix, gs->state, strcmp(gs->state, "Hold") == 0 ? " (still stopping)" : "");
	const char *why = station_forbidden(st, ROLE_LASER_ENABLE);
	if (why)
		return err_set(e, API_ERR_INTERLOCK, "the laser%s cannot resume: %s", st->suffix, why);
	if (grbl_realtime(l->grbl, GRBL_RT_RESUME) < 0)
		return err_set(e, API_ERR_UNAVAILABLE, "the laser%s is not connected", st->suffix);
	l->hold_by = (uid_t)-1;
	return 0;
}

struct grbl *
station_laser_grbl(struct station *st)
{
	return st && st->kind == KIND_LASER && L(st) ? L(st)->grbl : NULL;
}

int
station_laser_unlock(struct station *st, struct err *e)
{
	char err[200];
	struct grbl *g = station_laser_grbl(st);
	if (!g || grbl_command(g, "$X", err, sizeof err) < 0)
		return err_set(e, API_ERR_UNAVAILABLE, "%s", g ? err : "no laser");
	L(st)->alarm[0] = '\0';
	return 0;
}

int
station_laser_setting(struct station *st, int num, double value, struct api_pending *answer,
    struct err *e)
{
	char err[200];
	struct grbl *g = station_laser_grbl(st);
	if (!g)
		return err_set(e, API_ERR_INVALID_PARAMS, "%s is not a laser", st->name);
	if (L(st)->setting.answer)
		return err_set(e, API_ERR_BUSY, "another setting is being written");
	if (st->state == ST_RUNNING)
		return err_set(e, API_ERR_BUSY, "the laser%s is running a program", st->suffix);
	if (grbl_write_setting(g, num, value, err, sizeof err) < 0)
		return err_set(e, API_ERR_UNAVAILABLE, "%s", err);
	L(st)->setting.num = num;
	L(st)->setting.answer = answer;
	return 0;
}

static void
laser_stop(struct station *st, const char *why)
{
	struct laser *l = L(st);
	daemon_station_finished(st->d, st, false, why);
	if (grbl_link_state(l->grbl) != GRBL_DOWN) {
		if (grbl_streaming(l->grbl))
			grbl_stream_cancel(l->grbl, why);
		grbl_realtime(l->grbl, GRBL_RT_HOLD);
		grbl_realtime(l->grbl, GRBL_RT_RESET);
	}
	l->flush_until = 0;
	l->hold_by = (uid_t)-1;
	beam_off(st);
	/* In alarm it stays not ready (the tick says why) until unlocked. */
	bool alarm = !strcmp(grbl_last_status(l->grbl)->state, "Alarm");
	if ((st->state == ST_RUNNING || st->state == ST_FAULT) && !alarm)
		station_set(st, ST_IDLE, "%s", why);
}

static void
laser_tripped(struct station *st, const char *why, unsigned char laser_byte)
{
	struct laser *l = L(st);
	l->reacting = true;
	if (grbl_streaming(l->grbl))
		grbl_stream_cancel(l->grbl, why);
	l->reacting = false;
	/* A door byte holds GRBL with the rest of the program still planned:
	 * once the hold is complete (no step lost), a reset empties its
	 * buffers, so that no resume can run them. */
	if (laser_byte == GRBL_RT_DOOR)
		l->flush_until = now_mono() + 10;
	l->hold_by = (uid_t)-1;
	if (st->state == ST_RUNNING)
		station_set(st, ST_FAULT, "stopped: %s", why);
}

/* Hold complete (GRBL's Hold:0, Door:0 or Door:1), or nothing to hold. */
static bool
settled(const struct grbl_status *gs)
{
	if (!strcmp(gs->state, "Hold") || !strcmp(gs->state, "Door"))
		return gs->substate == 0 || gs->substate == 1;
	return strcmp(gs->state, "Run") != 0 && strcmp(gs->state, "Jog") != 0;
}

static void
laser_tick(struct station *st, double now)
{
	struct laser *l = L(st);
	const struct grbl_status *gs = grbl_last_status(l->grbl);
	if (l->flush_until > 0) {
		bool done = settled(gs);
		if (done || now >= l->flush_until) {
			if (!done)
				log_warn("%s: the hold did not complete; resetting GRBL anyway", st->name);
			if (strcmp(gs->state, "Alarm") != 0)
				grbl_realtime(l->grbl, GRBL_RT_RESET);
			l->flush_until = 0;
		}
	}
	/* In alarm, the laser is not ready, and says why; out of it, it is. */
	if (grbl_link_state(l->grbl) == GRBL_READY && st->state != ST_RUNNING) {
		if (!strcmp(gs->state, "Alarm"))
			station_set(st, ST_FAULT, "in alarm%s%s: the position may be lost; a technician "
			    "checks the piece and unlocks it (laser.unlock)", l->alarm[0] ? ", " : "",
			    l->alarm);
		else if (st->state == ST_FAULT && !strncmp(st->detail, "in alarm", 8))
			station_set(st, ST_IDLE, "unlocked");
	}
	/* After a door trip GRBL waits in Door:0 for a cycle start once the
	 * door is closed, with nothing planned (the trip cleared it): a reset
	 * brings it back to Idle. Never a resume. */
	if (l->flush_until == 0 && !grbl_streaming(l->grbl) && now >= l->door_reset_at &&
	    grbl_link_state(l->grbl) == GRBL_READY && !strcmp(gs->state, "Door") &&
	    gs->substate == 0 && !station_forbidden(st, ROLE_LASER_ENABLE)) {
		grbl_realtime(l->grbl, GRBL_RT_RESET);
		l->door_reset_at = now + 2;
	}
}

static void
laser_status(struct station *st, json_t *devices)
{
	struct grbl *g = L(st)->grbl;
	const struct grbl_status *gs = grbl_last_status(g);
	static const char *const links[] = { "down", "connecting", "ready" };
	bool up = grbl_link_state(g) == GRBL_READY;
	/* With the link down, what GRBL last said is no longer known. */
	json_object_set_new(devices, st->name, json_pack("{s:s, s:s, s:i, s:o, s:b, s:s}",
	    "link", links[grbl_link_state(g)], "state",
	    up ? gs->state : "unknown", "substate", up ? gs->substate : -1, "wpos", up ?
	    json_pack("[o,o,o]", api_unit(gs->wpos[0], 3), api_unit(gs->wpos[1], 3),
	    api_unit(gs->wpos[2], 3)) : json_null(), "laser_mode", up && grbl_setting(g, 32) == 1,
	    "station", st->name));
}

const struct station_ops station_laser_ops = {
	.kind = KIND_LASER,
	.process = PROC_ENGRAVING,
	.open = laser_open,
	.close = laser_close,
	.reconfigure = laser_reconfigure,
	.safe = laser_safe,
	.start = laser_start,
	.stop = laser_stop,
	.ready = laser_ready,
	.tick = laser_tick,
	.tripped = laser_tripped,
	.safety_devices = laser_safety_devices,
	.status = laser_status,
	.sync_fds = laser_sync_fds,
	.deadline = laser_deadline,
	.on_timer = laser_on_timer,
	.flush = laser_flush,
};
