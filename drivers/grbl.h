/*
 * The GRBL 1.1 driver of the laser: a non-blocking state machine for the
 * daemon's poll loop (no threads, no blocking calls). It connects with a
 * soft reset (a pty has no DTR) and reads $I and $$; polls status; streams
 * G-code with character counting so that the 128-byte receive buffer is
 * never overrun; sends settings one at a time and reads them back; sends
 * realtime bytes at once; decodes every error and alarm; and stops a
 * stream at the first error or alarm, saying which line. A lost link is
 * reported and retried with back-off; a stream it interrupted is never
 * resumed, since GRBL's ok means planned, not done.
 */
#ifndef ATELIER_GRBL_H
#define ATELIER_GRBL_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>

#include "cfg/cfg.h"

#define GRBL_RX_BUFFER 128
#define GRBL_MAX_LINE 80

/* Realtime bytes. */
enum {
	GRBL_RT_STATUS = '?', GRBL_RT_HOLD = '!', GRBL_RT_RESUME = '~', GRBL_RT_RESET = 0x18,
	GRBL_RT_DOOR = 0x84, GRBL_RT_JOG_CANCEL = 0x85,
	GRBL_RT_FEED_100 = 0x90, GRBL_RT_FEED_PLUS10 = 0x91, GRBL_RT_FEED_MINUS10 = 0x92,
	GRBL_RT_FEED_PLUS1 = 0x93, GRBL_RT_FEED_MINUS1 = 0x94, GRBL_RT_RAPID_100 = 0x95,
	GRBL_RT_RAPID_50 = 0x96, GRBL_RT_RAPID_25 = 0x97, GRBL_RT_POWER_100 = 0x99,
	GRBL_RT_POWER_PLUS10 = 0x9A, GRBL_RT_POWER_MINUS10 = 0x9B, GRBL_RT_POWER_PLUS1 = 0x9C,
	GRBL_RT_POWER_MINUS1 = 0x9D,
};

struct grbl_status {
	char state[8];          /* Idle, Run, Hold, Jog, Alarm, Door, Check, Home, Sleep */
	int substate;           /* Hold:N, Door:N; -1 when none */
	double mpos[3], wpos[3];
	double wco[3];          /* last known work coordinate offset */
	bool has_bf;
	int bf_blocks, bf_bytes;
	double feed, spindle;
	int ov[3];              /* feed, rapid, spindle %; last known */
	char pins[12];
	long line;              /* Ln:, or -1 */
};

enum grbl_kind {
	GRBL_R_OK, GRBL_R_ERROR, GRBL_R_ALARM, GRBL_R_STATUS, GRBL_R_BANNER, GRBL_R_MSG,
	GRBL_R_SETTING, GRBL_R_FEEDBACK, GRBL_R_STARTUP, GRBL_R_EMPTY, GRBL_R_UNKNOWN,
	GRBL_R_INVALID,
};

struct grbl_response {
	enum grbl_kind kind;
	int code;               /* error or alarm code; setting number */
	double value;           /* setting value */
	char text[128];         /* message, banner version, feedback body */
	struct grbl_status status;
};

/*
 * Parses one line from GRBL (without its line end). Status reports update
 * *st in place (so WCO and Ov, sent only now and then, carry over) and are
 * rejected as GRBL_R_INVALID when truncated or malformed; bytes that are
 * not printable ASCII make a line GRBL_R_INVALID.
 */
enum grbl_kind grbl_parse(const char *line, struct grbl_status *st, struct grbl_response *r);
const char *grbl_error_text(int code);
const char *grbl_alarm_text(int code);

enum grbl_link { GRBL_DOWN = 0, GRBL_CONNECTING, GRBL_READY };

/* What the driver tells its owner. Any callback may be NULL. */
struct grbl_events {
	void (*link)(void *arg, enum grbl_link state, const char *why);
	void (*status)(void *arg, const struct grbl_status *st);
	/* A stream or command line failed: file line number (0 for a command),
	 * its text, the code and its meaning. */
	void (*error)(void *arg, long line_no, const char *line, int code, const char *meaning);
	void (*alarm)(void *arg, int code, const char *meaning);
	void (*message)(void *arg, const char *text);
	/* A stream ended: ok, or why not. */
	void (*stream_done)(void *arg, bool ok, const char *why);
	/* A setting was written and read back (verified) or not. */
	void (*setting)(void *arg, int num, double value, bool verified);
	/* A check (grbl_check_text) ended: every line passed, or why not
	 * (the first line GRBL refused, with its number, code and meaning). */
	void (*checked)(void *arg, bool ok, const char *why);
};

struct grbl;

/*
 * The stop line: lets another thread (the daemon's safety path) put a
 * realtime byte on the laser's port at once, whatever the driver is doing,
 * waiting for it at most one non-blocking write. It outlives the drivers
 * attached to it, so that it is handed to the safety path once and holds
 * across reconnections and reloads. A reset sent through it discards what
 * the driver had not written yet: nothing queued before the stop can run
 * after it. Every function here may be called from any thread.
 */
struct grbl_stopline;
struct grbl_stopline *grbl_stopline_new(void);
/* Only once no driver is attached. */
void grbl_stopline_free(struct grbl_stopline *sl);
/* Writes byte to the attached driver's port now. Returns 0, or -1 when no
 * port is open or the port did not take the byte (the caller retries, and
 * relies on the enable relay meanwhile). */
int grbl_stopline_send(struct grbl_stopline *sl, unsigned char byte);
/* Whether the attached driver's link is ready (handshake done). */
bool grbl_stopline_ready(struct grbl_stopline *sl);

/* A driver for a laser station of cfg (laser: its port, baud, status
 * rate, connect timeout). It connects on the first grbl_on_timer. */
struct grbl *grbl_new(const struct cfg *cfg, const struct cfg_laser *laser,
    const struct grbl_events *ev, void *arg);
/* A reload kept the port: the same settings, from a new configuration
 * (both must outlive the driver). */
void grbl_set_config(struct grbl *g, const struct cfg *cfg, const struct cfg_laser *laser);
/* Attaches the stop line (before the first grbl_on_timer; NULL: none). */
void grbl_set_stopline(struct grbl *g, struct grbl_stopline *sl);
void grbl_free(struct grbl *g);

/* Poll integration: the descriptor (or -1 while down) and its events. */
int grbl_pollfd(const struct grbl *g, struct pollfd *pfd);
void grbl_on_io(struct grbl *g, short revents);
/* Monotonic time of the next timer work (status poll, timeout, retry). */
double grbl_next_deadline(const struct grbl *g);
void grbl_on_timer(struct grbl *g, double now);

enum grbl_link grbl_link_state(const struct grbl *g);
const struct grbl_status *grbl_last_status(const struct grbl *g);
/* A setting read by $$, or NAN when unknown. */
double grbl_setting(const struct grbl *g, int num);

/* Sends a realtime byte at once, ahead of anything queued. Returns 0, or
 * -1 when the link is down. */
int grbl_realtime(struct grbl *g, unsigned char byte);

/*
 * Queues one command line (G-code, $X, $H, $J=...) with character
 * counting. Returns 0, or -1 with a reason in err (link down, a stream is
 * running, line too long or not ASCII).
 */
int grbl_command(struct grbl *g, const char *line, char *err, size_t errlen);
/* Writes a setting ($N=V) alone, then reads $$ back to verify it. */
int grbl_write_setting(struct grbl *g, int num, double value, char *err, size_t errlen);

/*
 * Streams G-code: checked whole first (every line at most 80 characters
 * once spaces and comments are stripped, printable ASCII), then sent with
 * character counting. Returns 0, or -1 with the first problem in err
 * (naming its line) and nothing sent.
 */
int grbl_stream_text(struct grbl *g, const char *text, char *err, size_t errlen);
int grbl_stream_file(struct grbl *g, const char *path, char *err, size_t errlen);
/*
 * Checks a program in GRBL's check mode ($C): GRBL parses and answers every
 * line as it would, nothing moves and nothing burns; a soft reset then ends
 * check mode. The result comes through events.checked. Returns 0, or -1
 * with why in err (link down, a stream or check running, a bad line).
 */
int grbl_check_text(struct grbl *g, const char *text, char *err, size_t errlen);
bool grbl_checking(const struct grbl *g);
/* Stops sending the stream (the owner decides about hold and reset). */
void grbl_stream_cancel(struct grbl *g, const char *why);
bool grbl_streaming(const struct grbl *g);

struct grbl_progress {
	long total, sent, acked;    /* lines */
	double elapsed;             /* s since the stream started */
	double remaining;           /* s estimated from the rate so far, -1 unknown */
	size_t in_flight_bytes;     /* in GRBL's receive buffer by our count */
};
void grbl_progress(const struct grbl *g, struct grbl_progress *p);

/* Prepares a G-code line as it will be sent: comments and spaces removed,
 * upper case. Returns its length, or -1 (not ASCII, or over 80 chars). */
int grbl_clean_line(const char *in, char *out, size_t outlen);

#endif
