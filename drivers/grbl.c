/*
 * GRBL 1.1 driver (see grbl.h). The in-flight ring mirrors GRBL's receive
 * buffer: every line sent and not yet answered, with its length, so that
 * each ok or error is matched to its line (GRBL answers in order) and the
 * bytes in GRBL's 128-byte buffer are always known. Lines wait in the
 * driver until they fit.
 */
#include "grbl.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "serial.h"
#include "util.h"

enum line_kind { K_STREAM, K_SYNC, K_COMMAND, K_SETTING, K_READBACK, K_HS_INFO, K_HS_SETTINGS,
	K_ABANDONED, K_CHECK_ON };

/* A program checked in GRBL's check mode: entering ($C), running it,
 * leaving (a soft reset, which ends check mode as `$C` would). */
enum check_state { CK_NONE = 0, CK_ENTER, CK_RUN, CK_LEAVE };

struct sent {
	enum line_kind kind;
	long line_no;
	size_t len;             /* bytes counted in GRBL's buffer, newline included */
	char text[GRBL_MAX_LINE + 1];
};

/* The port as the safety path sees it: the descriptor, under a lock that
 * the driver holds only around its own non-blocking writes, and the count
 * of resets sent, by which the driver learns that its queue is void. */
struct grbl_stopline {
	pthread_mutex_t lock;
	int fd;                 /* -1 while no port is open */
	unsigned resets;        /* resets sent through the stop line */
	atomic_bool ready;
};

/* How long the line must be quiet after a banner before the handshake
 * asks GRBL who it is: long enough for the second banner of a controller
 * that resets when its port opens. */
#define HS_SETTLE 0.3
/* After the banner of one of two soft resets sent close together (an abort,
 * then the station's safe state), how long to wait for the second banner
 * before taking GRBL to have answered both with one: nothing is sent
 * meanwhile, so that a late banner never lands in the next job. */
#define RESET_COALESCE 0.3

#define INFLIGHT_MAX 128    /* 128 bytes hold at most 64 one-character lines */
#define PENDING_MAX 32
#define RX_LINE_MAX 256

struct grbl {
	const struct cfg *cfg;          /* for device paths */
	const struct cfg_laser *laser;  /* its port, link settings and limits */
	struct grbl_events ev;
	void *arg;
	struct serial *port;
	enum grbl_link link;
	double retry_at, backoff;
	char last_problem[256];
	double hs_deadline;
	bool hs_banner;             /* a banner came since the port opened */
	bool hs_asked;              /* $I is sent: the handshake proper runs */
	double hs_settle_at;        /* ask once no banner came since this long */
	bool resetting;             /* a soft reset was sent: nothing until its banner */
	unsigned resets_owed;       /* soft resets sent whose banner has not come */
	bool reset_answered;        /* one of them was answered: the rest may be coalesced */
	double reset_deadline;

	char rx[RX_LINE_MAX + 1];
	size_t rx_len;
	bool rx_overlong;
	struct buf txq;

	struct sent inflight[INFLIGHT_MAX];
	size_t if_head, if_count, if_bytes;
	struct sent pending[PENDING_MAX];
	size_t pend_head, pend_count;

	char **lines;
	long *line_nos;
	long n_lines, next, acked;
	bool streaming, sync_sent;
	double started;

	struct grbl_status st;
	double next_poll, poll_sent;
	bool poll_outstanding;
	double last_heard;          /* monotonic s of the last line from GRBL */
	double settings[256];
	int setting_num;
	double setting_value;

	enum check_state check;
	bool check_ok;
	char check_why[300];

	struct grbl_stopline *sl;
	unsigned resets_seen;       /* sl->resets already accounted for */
	bool stopped_outside;       /* a stop-line reset ended the stream: say so */
};

/* --- parsing -------------------------------------------------------- */

static bool
printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

static int
parse_triple(const char *v, double out[3])
{
	char *end;
	for (int i = 0; i < 3; i++) {
		errno = 0;
		out[i] = strtod(v, &end);
		if (end == v || errno || !isfinite(out[i]))
			return -1;
		v = end;
		if (i < 2) {
			if (*v != ',')
				return -1;
			v++;
		}
	}
	/* Machines with more axes send more values: accept and ignore them. */
	return (*v == '\0' || *v == ',') ? 0 : -1;
}

static int
parse_status(const char *line, struct grbl_status *st)
{
	size_t len = strlen(line);
	char body[RX_LINE_MAX + 1];
	struct grbl_status n = *st;

	if (len < 3 || line[len - 1] != '>')
		return -1;              /* truncated */
	if (len - 2 >= sizeof body)
		return -1;              /* longer than any report GRBL sends */
	memcpy(body, line + 1, len - 2);
	body[len - 2] = '\0';
	n.has_bf = false;
	n.line = -1;
	n.pins[0] = '\0';
	n.substate = -1;
	bool have_pos = false, have_mpos = false;
	char *save, *field = strtok_r(body, "|", &save);
	if (!field)
		return -1;
	/* State, with an optional :N. */
	char *colon = strchr(field, ':');
	if (colon) {
		*colon = '\0';
		char *end;
		long s = strtol(colon + 1, &end, 10);
		if (*end || end == colon + 1 || s < 0 || s > 9)
			return -1;
		n.substate = (int)s;
	}
	static const char *const states[] = { "Idle", "Run", "Hold", "Jog", "Alarm", "Door",
		"Check", "Home", "Sleep" };
	bool known = false;
	for (size_t i = 0; i < ARRAY_LEN(states); i++)
		if (strcmp(field, states[i]) == 0)
			known = true;
	if (!known)
		return -1;
	snprintf(n.state, sizeof n.state, "%s", field);
	while ((field = strtok_r(NULL, "|", &save)) != NULL) {
		char *v = strchr(field, ':');
		if (!v)
			return -1;
		*v++ = '\0';
		if (strcmp(field, "MPos") == 0) {
			if (parse_triple(v, n.mpos) < 0)
				return -1;
			have_pos = have_mpos = true;
		} else if (strcmp(field, "WPos") == 0) {
			if (parse_triple(v, n.wpos) < 0)
				return -1;
			have_pos = true;
		} else if (strcmp(field, "WCO") == 0) {
			if (parse_triple(v, n.wco) < 0)
				return -1;
		} else if (strcmp(field, "Bf") == 0) {
			if (sscanf(v, "%d,%d", &n.bf_blocks, &n.bf_bytes) != 2)
				return -1;
			n.has_bf = true;
		} else if (strcmp(field, "FS") == 0) {
			if (sscanf(v, "%lf,%lf", &n.feed, &n.spindle) != 2)
				return -1;
		} else if (strcmp(field, "F") == 0) {
			if (sscanf(v, "%lf", &n.feed) != 1)
				return -1;
		} else if (strcmp(field, "Ov") == 0) {
			if (sscanf(v, "%d,%d,%d", &n.ov[0], &n.ov[1], &n.ov[2]) != 3)
				return -1;
		} else if (strcmp(field, "Ln") == 0) {
			if (sscanf(v, "%ld", &n.line) != 1)
				return -1;
		} else if (strcmp(field, "Pn") == 0) {
			snprintf(n.pins, sizeof n.pins, "%s", v);
		}
		/* A:, Buf:, RX: and fields of later versions are tolerated. */
	}
	if (!have_pos)
		return -1;
	for (int i = 0; i < 3; i++) {
		if (have_mpos)
			n.wpos[i] = n.mpos[i] - n.wco[i];
		else
			n.mpos[i] = n.wpos[i] + n.wco[i];
	}
	*st = n;
	return 0;
}

enum grbl_kind
grbl_parse(const char *line, struct grbl_status *st, struct grbl_response *r)
{
	memset(r, 0, sizeof *r);
	if (!printable(line))
		return r->kind = GRBL_R_INVALID;
	if (!*line)
		return r->kind = GRBL_R_EMPTY;
	if (strcmp(line, "ok") == 0)
		return r->kind = GRBL_R_OK;
	if (strncmp(line, "error:", 6) == 0 || strncmp(line, "ALARM:", 6) == 0) {
		char *end;
		long c = strtol(line + 6, &end, 10);
		if (*end || end == line + 6 || c < 0 || c > 255)
			return r->kind = GRBL_R_INVALID;
		r->code = (int)c;
		return r->kind = line[0] == 'e' ? GRBL_R_ERROR : GRBL_R_ALARM;
	}
	if (line[0] == '<') {
		if (parse_status(line, st) < 0)
			return r->kind = GRBL_R_INVALID;
		r->status = *st;
		return r->kind = GRBL_R_STATUS;
	}
	if (strncmp(line, "Grbl ", 5) == 0) {
		snprintf(r->text, sizeof r->text, "%s", line + 5);
		char *sp = strchr(r->text, ' ');
		if (sp)
			*sp = '\0';
		return r->kind = GRBL_R_BANNER;
	}
	if (strncmp(line, "[MSG:", 5) == 0 && line[strlen(line) - 1] == ']') {
		snprintf(r->text, sizeof r->text, "%.*s", (int)strlen(line) - 6, line + 5);
		return r->kind = GRBL_R_MSG;
	}
	if (line[0] == '[' && line[strlen(line) - 1] == ']') {
		snprintf(r->text, sizeof r->text, "%.*s", (int)strlen(line) - 2, line + 1);
		return r->kind = GRBL_R_FEEDBACK;
	}
	if (line[0] == '>') {
		snprintf(r->text, sizeof r->text, "%s", line + 1);
		return r->kind = GRBL_R_STARTUP;
	}
	if (line[0] == '$' && isdigit((unsigned char)line[1])) {
		char *end;
		long num = strtol(line + 1, &end, 10);
		if (*end == '=' && num >= 0 && num < 256) {
			char *vend;
			double v = strtod(end + 1, &vend);
			if (!*vend && vend != end + 1 && isfinite(v)) {
				r->code = (int)num;
				r->value = v;
				return r->kind = GRBL_R_SETTING;
			}
		}
		return r->kind = GRBL_R_INVALID;
	}
	snprintf(r->text, sizeof r->text, "%s", line);
	return r->kind = GRBL_R_UNKNOWN;
}

int
grbl_clean_line(const char *in, char *out, size_t outlen)
{
	size_t n = 0;
	int comment = 0;
	for (; *in; in++) {
		unsigned char c = (unsigned char)*in;
		if (c == '\r' || c == '\n')
			break;
		if (c > 0x7e || (c < 0x20 && c != '\t'))
			return -1;
		if (comment) {
			if (comment == '(' && c == ')')
				comment = 0;
			continue;
		}
		if (c == '(' || c == ';') {
			comment = c;
			continue;
		}
		if (c == ' ' || c == '\t')
			continue;
		if (n + 1 >= outlen || n >= GRBL_MAX_LINE)
			return -1;
		out[n++] = (char)toupper(c);
	}
	out[n] = '\0';
	return (int)n;
}

/* --- link ----------------------------------------------------------- */

static void
set_link(struct grbl *g, enum grbl_link l, const char *why)
{
	if (g->link == l)
		return;
	g->link = l;
	if (g->sl)
		atomic_store(&g->sl->ready, l == GRBL_READY);
	if (g->ev.link)
		g->ev.link(g->arg, l, why);
}

static void
clear_flight(struct grbl *g)
{
	g->if_head = g->if_count = g->if_bytes = 0;
	g->pend_head = g->pend_count = 0;
	buf_reset(&g->txq);
	g->poll_outstanding = false;
}

static void
free_stream(struct grbl *g)
{
	for (long i = 0; i < g->n_lines; i++)
		free(g->lines[i]);
	free(g->lines);
	free(g->line_nos);
	g->lines = NULL;
	g->line_nos = NULL;
	g->n_lines = g->next = g->acked = 0;
	g->streaming = false;
}

static void
check_finish(struct grbl *g, bool ok, const char *why)
{
	if (g->check == CK_NONE)
		return;
	g->check = CK_NONE;
	free_stream(g);
	if (g->ev.checked)
		g->ev.checked(g->arg, ok, why);
}

/* Stops sending the lines of a stream or a check; what is still in
 * GRBL's buffer of it is answered but no longer counted as done. */
static void
stop_lines(struct grbl *g)
{
	g->streaming = false;
	for (size_t i = 0; i < g->if_count; i++) {
		struct sent *s = &g->inflight[(g->if_head + i) % INFLIGHT_MAX];
		if (s->kind == K_STREAM || s->kind == K_SYNC)
			s->kind = K_ABANDONED;
	}
}

static void
end_stream(struct grbl *g, bool ok, const char *why)
{
	if (g->check != CK_NONE) {
		/* A check cut short (alarm, reset, lost link, cancel) says so
		 * as a check, never as a stream. */
		stop_lines(g);
		check_finish(g, false, why ? why : "the check was stopped");
		return;
	}
	if (!g->streaming)
		return;
	stop_lines(g);
	if (g->ev.stream_done)
		g->ev.stream_done(g->arg, ok, why);
}

static void close_port(struct grbl *g);

static void
disconnect(struct grbl *g, const char *why)
{
	char msg[300];
	close_port(g);
	if (g->check != CK_NONE) {
		snprintf(msg, sizeof msg, "the laser link was lost (%s) during the check", why);
		end_stream(g, false, msg);
	}
	if (g->streaming) {
		snprintf(msg, sizeof msg, "the laser link was lost (%s) with %ld of %ld lines "
		    "acknowledged; GRBL's ok means planned, not done, so the job is not resumed",
		    why, g->acked, g->n_lines);
		end_stream(g, false, msg);
	}
	clear_flight(g);
	g->retry_at = now_mono() + g->backoff;
	g->backoff = g->backoff * 2 > 5 ? 5 : g->backoff * 2;
	set_link(g, GRBL_DOWN, why);
}

/* A reset went out through the stop line: GRBL's buffers are void, and so
 * is everything the driver meant to send. Bookkeeping only (this runs
 * inside writes); the stream's end is told at the next sync_stopline. */
/* A reset discards GRBL's buffers: what was not sent yet must not follow
 * it onto the wire, where it would run after the reset, and nothing is
 * sent until the banner says GRBL is back. */
static void
discard_for_reset(struct grbl *g)
{
	buf_reset(&g->txq);
	g->if_head = g->if_count = g->if_bytes = 0;
	g->pend_head = g->pend_count = 0;
	if (!g->resetting) {
		g->resets_owed = 0;
		g->reset_answered = false;
	}
	g->resets_owed++;
	g->resetting = true;
	g->reset_deadline = now_mono() + g->laser->connect_timeout;
}

static void pump(struct grbl *g);

/* Our reset answered: the buffers were cleared when it was sent; what
 * waits since may go now, and a check that was being left ends. */
static void
reset_done(struct grbl *g)
{
	if (g->check == CK_LEAVE)
		check_finish(g, g->check_ok, g->check_why);
	pump(g);
}

static void
absorb_reset(struct grbl *g, unsigned resets)
{
	g->resets_seen = resets;
	discard_for_reset(g);
	if (g->streaming)
		g->stopped_outside = true;
}

static void
sync_stopline(struct grbl *g)
{
	if (!g->sl)
		return;
	pthread_mutex_lock(&g->sl->lock);
	unsigned r = g->sl->resets;
	pthread_mutex_unlock(&g->sl->lock);
	if (r != g->resets_seen)
		absorb_reset(g, r);
	if (g->stopped_outside) {
		g->stopped_outside = false;
		end_stream(g, false, "the laser was stopped by the safety path");
	}
}

/* Every byte to the port goes through here: with a stop line, under its
 * lock, and never after a reset the driver has not accounted for. */
static ssize_t
port_write(struct grbl *g, const void *data, size_t len)
{
	if (!g->sl)
		return serial_write(g->port, data, len);
	pthread_mutex_lock(&g->sl->lock);
	ssize_t n;
	if (g->sl->resets != g->resets_seen) {
		absorb_reset(g, g->sl->resets);
		n = 0;
	} else {
		n = serial_write(g->port, data, len);
	}
	pthread_mutex_unlock(&g->sl->lock);
	return n;
}

static void
open_port(struct grbl *g, struct serial *port)
{
	if (g->sl)
		pthread_mutex_lock(&g->sl->lock);
	g->port = port;
	if (g->sl) {
		g->sl->fd = serial_fd(port);
		g->resets_seen = g->sl->resets;
		pthread_mutex_unlock(&g->sl->lock);
	}
}

static void
close_port(struct grbl *g)
{
	if (!g->port)
		return;
	/* Under the lock, so that the stop line never writes to a closed
	 * descriptor, or to another file that took its number. */
	if (g->sl)
		pthread_mutex_lock(&g->sl->lock);
	serial_close(g->port);
	g->port = NULL;
	if (g->sl) {
		g->sl->fd = -1;
		pthread_mutex_unlock(&g->sl->lock);
	}
}

static void
flush_tx(struct grbl *g)
{
	while (g->port && g->txq.len) {
		ssize_t n = port_write(g, g->txq.data, g->txq.len);
		if (n < 0) {
			disconnect(g, strerror(errno));
			return;
		}
		if (n == 0)
			return;
		buf_consume(&g->txq, (size_t)n);
	}
}

int
grbl_realtime(struct grbl *g, unsigned char byte)
{
	if (!g->port)
		return -1;
	sync_stopline(g);
	if (byte == GRBL_RT_RESET) {
		discard_for_reset(g);
		if (g->streaming)
			end_stream(g, false, "the laser controller was reset");
	}
	/* GRBL picks realtime bytes out of the stream wherever they fall, so
	 * they may go ahead of a half-sent line. */
	if (g->txq.len == 0) {
		ssize_t n = port_write(g, &byte, 1);
		if (n == 1)
			return 0;
		if (n < 0) {
			disconnect(g, strerror(errno));
			return -1;
		}
	}
	struct buf nb;
	buf_init(&nb);
	buf_append(&nb, &byte, 1);
	buf_append(&nb, g->txq.data, g->txq.len);
	buf_free(&g->txq);
	g->txq = nb;
	flush_tx(g);
	return 0;
}

static bool
setting_in_flight(const struct grbl *g)
{
	for (size_t i = 0; i < g->if_count; i++) {
		enum line_kind k = g->inflight[(g->if_head + i) % INFLIGHT_MAX].kind;
		if (k == K_SETTING)
			return true;
	}
	return false;
}

/* Sends a line if it fits in GRBL's buffer by our count. */
static bool
try_send(struct grbl *g, enum line_kind kind, long line_no, const char *text)
{
	size_t len = strlen(text) + 1;
	if (g->if_count == INFLIGHT_MAX || g->if_bytes + len > GRBL_RX_BUFFER)
		return false;
	/* EEPROM writes stop GRBL's receive interrupt: a setting goes
	 * alone, and nothing follows it until it is answered. */
	if (kind == K_SETTING && g->if_count)
		return false;
	if (setting_in_flight(g))
		return false;
	struct sent *s = &g->inflight[(g->if_head + g->if_count) % INFLIGHT_MAX];
	s->kind = kind;
	s->line_no = line_no;
	s->len = len;
	snprintf(s->text, sizeof s->text, "%s", text);
	g->if_count++;
	g->if_bytes += len;
	buf_append(&g->txq, text, len - 1);
	buf_append(&g->txq, "\n", 1);
	return true;
}

static void
pump(struct grbl *g)
{
	if (!g->port || g->resetting)
		return;
	while (g->pend_count) {
		struct sent *p = &g->pending[g->pend_head];
		if (!try_send(g, p->kind, p->line_no, p->text))
			break;
		g->pend_head = (g->pend_head + 1) % PENDING_MAX;
		g->pend_count--;
	}
	while (!g->pend_count && g->streaming && g->next < g->n_lines &&
	    try_send(g, K_STREAM, g->line_nos[g->next], g->lines[g->next]))
		g->next++;
	/* GRBL's ok means planned: a dwell after the last line is answered
	 * only once the machine has run everything before it, so the stream
	 * ends when the work is done, not when it is queued. */
	if (!g->pend_count && g->streaming && g->next == g->n_lines && !g->sync_sent &&
	    try_send(g, K_SYNC, g->n_lines ? g->line_nos[g->n_lines - 1] : 0, "G4P0.01"))
		g->sync_sent = true;
	flush_tx(g);
}

static int
queue_line(struct grbl *g, enum line_kind kind, const char *text)
{
	if (g->pend_count == PENDING_MAX)
		return -1;
	struct sent *p = &g->pending[(g->pend_head + g->pend_count) % PENDING_MAX];
	p->kind = kind;
	p->line_no = 0;
	snprintf(p->text, sizeof p->text, "%s", text);
	p->len = strlen(p->text) + 1;
	g->pend_count++;
	pump(g);
	return 0;
}

static void
start_connect(struct grbl *g, double now)
{
	char err[256];
	char *path = serial_resolve(g->cfg, g->laser->port, err, sizeof err);
	if (path) {
		struct serial *port = serial_open(path, g->laser->baud, err, sizeof err);
		if (port)
			open_port(g, port);
		free(path);
	}
	if (!g->port) {
		if (strcmp(err, g->last_problem) != 0)
			log_warn("laser: %s; retrying", err);
		snprintf(g->last_problem, sizeof g->last_problem, "%s", err);
		g->retry_at = now + g->backoff;
		g->backoff = g->backoff * 2 > 5 ? 5 : g->backoff * 2;
		return;
	}
	g->last_problem[0] = '\0';
	clear_flight(g);
	g->last_heard = now;
	g->hs_banner = false;
	g->hs_asked = false;
	g->resetting = false;
	g->resets_owed = 0;
	g->reset_answered = false;
	g->hs_deadline = now + g->laser->connect_timeout;
	set_link(g, GRBL_CONNECTING, NULL);
	/* A soft reset, not DTR: GRBL answers with its banner, and whatever a
	 * previous host left in its buffers is gone. */
	grbl_realtime(g, GRBL_RT_RESET);
}

/* --- responses ------------------------------------------------------ */

static struct sent
pop_flight(struct grbl *g)
{
	struct sent s = g->inflight[g->if_head];
	g->if_head = (g->if_head + 1) % INFLIGHT_MAX;
	g->if_count--;
	g->if_bytes -= s.len;
	return s;
}

/* The check is over (every line answered, or the first refused): a soft
 * reset ends check mode, and its banner ends the check. */
static void
leave_check(struct grbl *g, bool ok, const char *why)
{
	stop_lines(g);
	g->check = CK_LEAVE;
	g->check_ok = ok;
	snprintf(g->check_why, sizeof g->check_why, "%s", why ? why : "");
	grbl_realtime(g, GRBL_RT_RESET);
}

static void
answered(struct grbl *g, bool ok, int code)
{
	if (g->if_count == 0) {
		/* After a reset, what answers lines sent before it is not an
		 * answer to anything sent since: expected, and dropped. */
		if (g->resetting || g->link == GRBL_CONNECTING)
			log_debug("laser: %s after a reset, for a line sent before it: ignored",
			    ok ? "ok" : "error");
		else
			log_warn("laser: %s with no line waiting for it", ok ? "ok" : "error");
		return;
	}
	struct sent s = pop_flight(g);
	char msg[300];
	switch (s.kind) {
	case K_STREAM:
		if (ok) {
			g->acked++;
			break;
		}
		snprintf(msg, sizeof msg, "line %ld (%s): error:%d, %s", s.line_no, s.text, code,
		    grbl_error_text(code));
		if (g->ev.error)
			g->ev.error(g->arg, s.line_no, s.text, code, grbl_error_text(code));
		if (g->check == CK_RUN) {
			leave_check(g, false, msg);
			break;
		}
		/* GRBL goes on with what is already in its buffer: hold the
		 * machine at once so that it does not run past the error. */
		grbl_realtime(g, GRBL_RT_HOLD);
		end_stream(g, false, msg);
		break;
	case K_SYNC:
		if (g->check == CK_RUN)
			leave_check(g, ok, ok ? NULL : "GRBL refused the end-of-program dwell");
		else if (ok)
			end_stream(g, true, NULL);
		else
			end_stream(g, false, "the machine refused the end-of-program dwell");
		break;
	case K_CHECK_ON:
		if (g->check != CK_ENTER)
			break;
		if (!ok) {
			snprintf(msg, sizeof msg, "GRBL cannot enter check mode: error:%d, %s", code,
			    grbl_error_text(code));
			check_finish(g, false, msg);
			break;
		}
		/* In check mode: the program goes as a stream would, parsed and
		 * answered line by line, nothing moving. */
		g->check = CK_RUN;
		g->streaming = true;
		g->sync_sent = false;
		g->started = now_mono();
		pump(g);
		break;
	case K_COMMAND:
		if (!ok && g->ev.error)
			g->ev.error(g->arg, 0, s.text, code, grbl_error_text(code));
		/* A command changes the state ($X unlocks, $J moves): ask for
		 * it now rather than at the next poll, so that the owner does
		 * not act on the state from before. */
		g->next_poll = now_mono();
		break;
	case K_SETTING:
		if (!ok) {
			if (g->ev.error)
				g->ev.error(g->arg, 0, s.text, code, grbl_error_text(code));
			if (g->ev.setting)
				g->ev.setting(g->arg, g->setting_num, g->setting_value, false);
			g->setting_num = -1;
		} else {
			queue_line(g, K_READBACK, "$$");
		}
		break;
	case K_READBACK:
		if (g->setting_num >= 0 && g->ev.setting) {
			double got = g->settings[g->setting_num];
			bool same = ok && fabs(got - g->setting_value) <= 1e-6 * fmax(1, fabs(got));
			g->ev.setting(g->arg, g->setting_num, g->setting_value, same);
		}
		g->setting_num = -1;
		break;
	case K_HS_INFO:
		queue_line(g, K_HS_SETTINGS, "$$");
		break;
	case K_HS_SETTINGS:
		g->backoff = 0.25;
		g->next_poll = now_mono();
		set_link(g, GRBL_READY, NULL);
		break;
	case K_ABANDONED:
		break;
	}
}

/* A line's bytes, printable ones as they are, others as \xNN. */
static void
escape_bytes(const char *line, char *out, size_t len)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)line; *p && n + 5 < len; p++) {
		if (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\')
			out[n++] = (char)*p;
		else
			n += (size_t)snprintf(out + n, len - n, "\\x%02x", *p);
	}
	out[n] = '\0';
}

static void
handle_line(struct grbl *g, const char *line)
{
	struct grbl_response r;
	enum grbl_kind kind = grbl_parse(line, &g->st, &r);
	switch (kind) {
	case GRBL_R_OK:
		answered(g, true, 0);
		break;
	case GRBL_R_ERROR:
		answered(g, false, r.code);
		break;
	case GRBL_R_ALARM: {
		char msg[200];
		snprintf(msg, sizeof msg, "ALARM:%d, %s", r.code, grbl_alarm_text(r.code));
		if (g->ev.alarm)
			g->ev.alarm(g->arg, r.code, grbl_alarm_text(r.code));
		end_stream(g, false, msg);
		break;
	}
	case GRBL_R_STATUS:
		g->poll_outstanding = false;
		if (g->ev.status)
			g->ev.status(g->arg, &g->st);
		break;
	case GRBL_R_BANNER: {
		/* GRBL reset: whatever was in its buffers is gone. */
		bool ours = g->resetting;
		if (ours && g->resets_owed > 1 && g->link == GRBL_READY) {
			/* One of two resets of ours answered; the other's banner
			 * may follow: wait for it, or a moment (reset_done). */
			g->resets_owed--;
			g->reset_answered = true;
			g->reset_deadline = now_mono() + RESET_COALESCE;
			break;
		}
		g->resetting = false;
		g->resets_owed = 0;
		g->reset_answered = false;
		if (ours && g->link == GRBL_READY) {
			reset_done(g);
			break;
		}
		if (g->link == GRBL_CONNECTING) {
			/* A controller that resets when its port opens (an Arduino)
			 * sends its power-up banner, then the banner of our own
			 * reset; any banner starts the handshake over, and it is
			 * asked for once the line has been quiet a moment. */
			g->hs_banner = true;
			g->hs_asked = false;
			clear_flight(g);
			g->hs_settle_at = now_mono() + HS_SETTLE;
			g->hs_deadline = fmax(g->hs_deadline, g->hs_settle_at +
			    g->laser->connect_timeout);
		} else {
			end_stream(g, false, "the laser controller reset during the job");
			clear_flight(g);
			pump(g);
			if (g->link == GRBL_READY && g->ev.message)
				g->ev.message(g->arg, "the laser controller reset");
		}
		break;
	}
	case GRBL_R_SETTING:
		g->settings[r.code] = r.value;
		break;
	case GRBL_R_MSG:
		if (g->ev.message)
			g->ev.message(g->arg, r.text);
		break;
	case GRBL_R_FEEDBACK:
	case GRBL_R_STARTUP:
	case GRBL_R_EMPTY:
		break;
	case GRBL_R_INVALID:
	case GRBL_R_UNKNOWN: {
		/* Around a reset a line may be cut (GRBL drops its output): that
		 * is expected there, and said quietly; elsewhere it is a fault
		 * of the link worth a warning. The bytes go to the debug log,
		 * escaped, to be diagnosed. */
		char esc[200];
		escape_bytes(line, esc, sizeof esc);
		if (g->resetting || g->link == GRBL_CONNECTING)
			log_debug("laser: line cut by a reset ignored: \"%s\"", esc);
		else
			log_warn("laser: %s line from the controller ignored: \"%s\"",
			    kind == GRBL_R_INVALID ? "garbled" : "unexpected", esc);
		break;
	}
	}
}

void
grbl_on_io(struct grbl *g, short revents)
{
	char tmp[512];
	if (!g->port)
		return;
	sync_stopline(g);
	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		for (;;) {
			ssize_t n = serial_read(g->port, tmp, sizeof tmp);
			if (n < 0) {
				disconnect(g, errno == EPIPE ? "the port hung up" : strerror(errno));
				return;
			}
			if (n == 0)
				break;
			for (ssize_t i = 0; i < n; i++) {
				char c = tmp[i];
				if (c == '\n') {
					g->last_heard = now_mono();
					g->rx[g->rx_len] = '\0';
					if (g->rx_overlong)
						log_warn("laser: over-long line from the controller dropped");
					else
						handle_line(g, g->rx);
					g->rx_len = 0;
					g->rx_overlong = false;
					if (!g->port)
						return;
				} else if (c != '\r') {
					if (g->rx_len < RX_LINE_MAX)
						g->rx[g->rx_len++] = c;
					else
						g->rx_overlong = true;
				}
			}
		}
		if ((revents & (POLLHUP | POLLERR)) && g->port) {
			disconnect(g, "the port hung up");
			return;
		}
	}
	pump(g);
}

int
grbl_pollfd(const struct grbl *g, struct pollfd *pfd)
{
	if (!g->port)
		return 0;
	*pfd = (struct pollfd){ .fd = serial_fd(g->port),
		.events = POLLIN | (g->txq.len ? POLLOUT : 0) };
	return 1;
}

double
grbl_next_deadline(const struct grbl *g)
{
	switch (g->link) {
	case GRBL_DOWN: return g->retry_at;
	case GRBL_CONNECTING:
		return g->hs_banner && !g->hs_asked ? fmin(g->hs_settle_at, g->hs_deadline) :
		    g->hs_deadline;
	default: return g->next_poll;
	}
}

void
grbl_on_timer(struct grbl *g, double now)
{
	sync_stopline(g);
	if (g->link == GRBL_DOWN) {
		if (now >= g->retry_at)
			start_connect(g, now);
		return;
	}
	if (g->link == GRBL_CONNECTING) {
		if (g->hs_banner && !g->hs_asked && now >= g->hs_settle_at) {
			g->hs_asked = true;
			queue_line(g, K_HS_INFO, "$I");
		}
		if (now >= g->hs_deadline) {
			char why[128];
			snprintf(why, sizeof why, "no GRBL answer within %g s of a reset",
			    g->laser->connect_timeout);
			log_warn("laser: %s", why);
			disconnect(g, why);
		}
		return;
	}
	if (g->resetting && now >= g->reset_deadline) {
		if (!g->reset_answered) {
			disconnect(g, "no banner after a soft reset");
			return;
		}
		/* GRBL answered our resets with one banner. */
		g->resetting = false;
		g->resets_owed = 0;
		g->reset_answered = false;
		reset_done(g);
	}
	/* A real UART does not hang up when the far end goes (a cable
	 * pulled between an RS-232 adapter and the controller, a controller
	 * switched off): the line just falls silent. GRBL answers every
	 * status request at once, whatever it is doing, so status requests
	 * unanswered for connect_timeout mean the laser is gone. */
	if (g->poll_outstanding && now - g->last_heard > g->laser->connect_timeout) {
		char why[128];
		snprintf(why, sizeof why, "no answer from the laser for %g s",
		    g->laser->connect_timeout);
		log_warn("laser: %s", why);
		disconnect(g, why);
		return;
	}
	if (now >= g->next_poll) {
		/* One status request at a time; a lost answer is asked again. */
		if (!g->poll_outstanding || now - g->poll_sent > 1.0) {
			grbl_realtime(g, GRBL_RT_STATUS);
			g->poll_outstanding = true;
			g->poll_sent = now;
		}
		g->next_poll = now + 1.0 / g->laser->status_hz;
	}
}

/* --- public --------------------------------------------------------- */

void
grbl_set_config(struct grbl *g, const struct cfg *cfg, const struct cfg_laser *laser)
{
	g->cfg = cfg;
	g->laser = laser;
}

struct grbl *
grbl_new(const struct cfg *cfg, const struct cfg_laser *laser, const struct grbl_events *ev,
    void *arg)
{
	struct grbl *g = xcalloc(1, sizeof *g);
	g->cfg = cfg;
	g->laser = laser;
	if (ev)
		g->ev = *ev;
	g->arg = arg;
	g->backoff = 0.25;
	g->retry_at = 0;
	g->setting_num = -1;
	g->st.substate = -1;
	g->st.line = -1;
	g->st.ov[0] = g->st.ov[1] = g->st.ov[2] = 100;
	snprintf(g->st.state, sizeof g->st.state, "?");
	for (int i = 0; i < 256; i++)
		g->settings[i] = NAN;
	buf_init(&g->txq);
	return g;
}

void
grbl_set_stopline(struct grbl *g, struct grbl_stopline *sl)
{
	g->sl = sl;
	if (sl)
		atomic_store(&sl->ready, g->link == GRBL_READY);
}

void
grbl_free(struct grbl *g)
{
	if (!g)
		return;
	close_port(g);
	if (g->sl)
		atomic_store(&g->sl->ready, false);
	free_stream(g);
	buf_free(&g->txq);
	free(g);
}

enum grbl_link
grbl_link_state(const struct grbl *g)
{
	return g->link;
}

const struct grbl_status *
grbl_last_status(const struct grbl *g)
{
	return &g->st;
}

double
grbl_setting(const struct grbl *g, int num)
{
	return num >= 0 && num < 256 ? g->settings[num] : NAN;
}

static int
ready_or_say(const struct grbl *g, char *err, size_t errlen)
{
	if (g->link != GRBL_READY) {
		snprintf(err, errlen, "the laser is not connected");
		return -1;
	}
	if (g->streaming || g->check != CK_NONE) {
		snprintf(err, errlen, g->check != CK_NONE ? "the laser is checking a program" :
		    "the laser is running a job");
		return -1;
	}
	return 0;
}

int
grbl_command(struct grbl *g, const char *line, char *err, size_t errlen)
{
	char clean[GRBL_MAX_LINE + 2];
	if (ready_or_say(g, err, errlen) < 0)
		return -1;
	int n = grbl_clean_line(line, clean, sizeof clean);
	if (n <= 0) {
		snprintf(err, errlen, n < 0 ? "the line is not ASCII or longer than %d characters" :
		    "the line is empty", GRBL_MAX_LINE);
		return -1;
	}
	if (clean[0] == '$' && isdigit((unsigned char)clean[1]) && strchr(clean, '=')) {
		snprintf(err, errlen, "settings are written with grbl_write_setting, one at a time");
		return -1;
	}
	if (queue_line(g, K_COMMAND, clean) < 0) {
		snprintf(err, errlen, "too many commands are waiting");
		return -1;
	}
	return 0;
}

int
grbl_write_setting(struct grbl *g, int num, double value, char *err, size_t errlen)
{
	char line[64];
	if (ready_or_say(g, err, errlen) < 0)
		return -1;
	if (num < 0 || num > 255 || !isfinite(value) || value < 0) {
		snprintf(err, errlen, "$%d=%g is not a setting GRBL can take", num, value);
		return -1;
	}
	if (g->setting_num >= 0) {
		snprintf(err, errlen, "another setting is being written");
		return -1;
	}
	snprintf(line, sizeof line, "$%d=%.6g", num, value);
	g->setting_num = num;
	g->setting_value = value;
	return queue_line(g, K_SETTING, line);
}

/* Reads a program into the driver's lines (checked as GRBL will take
 * them); returns 0, or -1 with the first problem in err and nothing kept. */
static int
load_lines(struct grbl *g, const char *text, char *err, size_t errlen)
{
	long cap = 64, n = 0, line_no = 0;
	char **lines = xcalloc((size_t)cap, sizeof *lines);
	long *nos = xcalloc((size_t)cap, sizeof *nos);
	const char *p = text;
	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		char raw[1024], clean[GRBL_MAX_LINE + 2];
		line_no++;
		if (len >= sizeof raw) {
			snprintf(err, errlen, "line %ld is %zu characters long; GRBL takes at most %d",
			    line_no, len, GRBL_MAX_LINE);
			goto refuse;
		}
		memcpy(raw, p, len);
		raw[len] = '\0';
		int k = grbl_clean_line(raw, clean, sizeof clean);
		if (k < 0) {
			snprintf(err, errlen, "line %ld is not printable ASCII or is longer than %d "
			    "characters without spaces and comments", line_no, GRBL_MAX_LINE);
			goto refuse;
		}
		if (k > 0) {
			if (n == cap) {
				cap *= 2;
				lines = xrealloc(lines, (size_t)cap * sizeof *lines);
				nos = xrealloc(nos, (size_t)cap * sizeof *nos);
			}
			lines[n] = xstrdup(clean);
			nos[n++] = line_no;
		}
		p = eol ? eol + 1 : p + len;
	}
	if (n == 0) {
		snprintf(err, errlen, "the program has no G-code line");
		goto refuse;
	}
	free_stream(g);
	g->lines = lines;
	g->line_nos = nos;
	g->n_lines = n;
	return 0;
refuse:
	for (long i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
	free(nos);
	return -1;
}

int
grbl_stream_text(struct grbl *g, const char *text, char *err, size_t errlen)
{
	if (ready_or_say(g, err, errlen) < 0 || load_lines(g, text, err, errlen) < 0)
		return -1;
	g->streaming = true;
	g->sync_sent = false;
	g->started = now_mono();
	pump(g);
	return 0;
}

int
grbl_check_text(struct grbl *g, const char *text, char *err, size_t errlen)
{
	if (ready_or_say(g, err, errlen) < 0 || load_lines(g, text, err, errlen) < 0)
		return -1;
	g->check = CK_ENTER;
	g->check_ok = false;
	g->check_why[0] = '\0';
	if (queue_line(g, K_CHECK_ON, "$C") < 0) {
		g->check = CK_NONE;
		free_stream(g);
		snprintf(err, errlen, "too many commands are waiting");
		return -1;
	}
	return 0;
}

bool
grbl_checking(const struct grbl *g)
{
	return g->check != CK_NONE;
}

int
grbl_stream_file(struct grbl *g, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	struct buf b;
	buf_init(&b);
	char tmp[8192];
	size_t n;
	while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
		buf_append(&b, tmp, n);
	fclose(f);
	if (b.len && memchr(b.data, '\0', b.len)) {
		snprintf(err, errlen, "%s is not a text file", path);
		buf_free(&b);
		return -1;
	}
	int rc = grbl_stream_text(g, b.data ? b.data : "", err, errlen);
	buf_free(&b);
	return rc;
}

void
grbl_stream_cancel(struct grbl *g, const char *why)
{
	end_stream(g, false, why);
}

bool
grbl_streaming(const struct grbl *g)
{
	return g->streaming;
}

void
grbl_progress(const struct grbl *g, struct grbl_progress *p)
{
	p->total = g->n_lines;
	p->sent = g->next;
	p->acked = g->acked;
	p->elapsed = g->n_lines ? now_mono() - g->started : 0;
	p->remaining = g->acked > 0 ? (double)(g->n_lines - g->acked) * p->elapsed / (double)g->acked : -1;
	p->in_flight_bytes = g->if_bytes;
}

/* --- the stop line --------------------------------------------------- */

struct grbl_stopline *
grbl_stopline_new(void)
{
	struct grbl_stopline *sl = xcalloc(1, sizeof *sl);
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	/* The safety path runs at a real-time priority: a driver preempted
	 * while holding the lock inherits it for the length of its write. */
	pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT);
	pthread_mutex_init(&sl->lock, &a);
	pthread_mutexattr_destroy(&a);
	sl->fd = -1;
	atomic_init(&sl->ready, false);
	return sl;
}

void
grbl_stopline_free(struct grbl_stopline *sl)
{
	if (!sl)
		return;
	pthread_mutex_destroy(&sl->lock);
	free(sl);
}

int
grbl_stopline_send(struct grbl_stopline *sl, unsigned char byte)
{
	int rc = -1;
	pthread_mutex_lock(&sl->lock);
	if (sl->fd >= 0 && write(sl->fd, &byte, 1) == 1) {
		rc = 0;
		if (byte == GRBL_RT_RESET)
			sl->resets++;
	}
	pthread_mutex_unlock(&sl->lock);
	return rc;
}

bool
grbl_stopline_ready(struct grbl_stopline *sl)
{
	return atomic_load(&sl->ready);
}
