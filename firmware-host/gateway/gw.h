/*
 * atelier-web, the web bench's gateway (issue 14, docs/web.md): the parts
 * that the HTTP front (gw_http.c) puts together. Sessions and the login
 * throttle (gw_session.c) are plain data under a lock, so that they are
 * tested without a server; calls to atelierd (gw_rpc.c) go over its API
 * socket, one connection per request, acting for the logged-in user; the
 * QR code of a job's ticket is made by libqrencode (gw_qr.c).
 */
#ifndef ATELIER_GW_H
#define ATELIER_GW_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "web/web_users.h"

#define GW_TOKEN_HEX 64                 /* 32 random bytes, in hex */
#define GW_SESSIONS_MAX 512
#define GW_THROTTLE_MAX 1024
#define GW_THROTTLE_FREE 5              /* failed logins before a wait */
#define GW_THROTTLE_FIRST 30.0          /* s of the first wait, doubled after */
#define GW_THROTTLE_LONGEST 900.0       /* s: a wait is never longer */
#define GW_THROTTLE_FORGET 900.0        /* s without a failure: forgotten */

struct gw_session {
	char token[GW_TOKEN_HEX + 1];   /* the cookie's value */
	char csrf[GW_TOKEN_HEX + 1];    /* sent back on each state change */
	char user[WEB_USER_NAME_MAX + 1];
	char name[WEB_USER_DISPLAY_MAX + 1];
	enum web_role role;
	double created, used;           /* monotonic s */
};

struct gw_throttle_entry {
	char user[WEB_USER_NAME_MAX + 1];
	char addr[48];
	int failures;
	double last_failure;            /* monotonic s */
	double until;                   /* no attempt before this */
};

struct gw_sessions {
	pthread_mutex_t lock;
	double idle;                    /* s a session lives unused */
	struct gw_session s[GW_SESSIONS_MAX];
	size_t n;
	struct gw_throttle_entry t[GW_THROTTLE_MAX];
	size_t n_throttle;
};

void gw_sessions_init(struct gw_sessions *g, double idle_seconds);
void gw_sessions_destroy(struct gw_sessions *g);
/* A new session for the user; its copy in *out. When the table is full
 * the least recently used session ends. */
void gw_session_new(struct gw_sessions *g, const char *user, const char *name,
    enum web_role role, double now, struct gw_session *out);
/* The session of that token, touched, copied into *out; false when there
 * is none or it has been idle too long (it then ends). */
bool gw_session_get(struct gw_sessions *g, const char *token, double now, struct gw_session *out);
void gw_session_end(struct gw_sessions *g, const char *token);
/* Ends every session of a user (a password change, a deleted account). */
void gw_sessions_end_user(struct gw_sessions *g, const char *user);

/* Whether user may try a password from addr now; else the seconds to
 * wait in *retry_after. */
bool gw_throttle_allows(struct gw_sessions *g, const char *user, const char *addr, double now,
    double *retry_after);
/* A wrong password: after GW_THROTTLE_FREE of them, each further one
 * doubles the wait, up to GW_THROTTLE_LONGEST. */
void gw_throttle_failed(struct gw_sessions *g, const char *user, const char *addr, double now);
void gw_throttle_succeeded(struct gw_sessions *g, const char *user, const char *addr);

/* Whether two tokens are equal, in time independent of where they differ. */
bool gw_token_equal(const char *a, const char *b);
/* GW_TOKEN_HEX hex digits of fresh random bytes into out (GW_TOKEN_HEX + 1). */
void gw_token_make(char *out);

/*
 * One call to atelierd over its API socket: connects, says for whom it
 * acts (when user is not NULL), sends the request line (a JSON-RPC
 * request with an id, no newline) and returns atelierd's reply line in
 * *reply (malloc'd). Returns 0; -2 when atelierd refuses to act for
 * user (no longer in the accounts file); -1 for any other failure
 * (connecting, no answer within timeout seconds). err names it.
 */
int gw_rpc_call(const char *socket_path, const char *user, const char *request, double timeout,
    char **reply, char *err, size_t errlen);

/* A connection to atelierd that asked for its notifications (`watch`):
 * the answer to that request, then one notification per line. Returns
 * the descriptor, or -1 with err. */
int gw_rpc_watch(const char *socket_path, char *err, size_t errlen);

/* Whether a decoded URL path is one the web root may serve: absolute,
 * no empty, dot or hidden segment, no backslash or control character,
 * at most 200 bytes. */
bool gw_path_clean(const char *path);

/* The SVG (malloc'd) of a QR code of text, or NULL with err. */
char *gw_qr_svg(const char *text, char *err, size_t errlen);

/* The server: civetweb's threads serve requests and WebSockets; one
 * thread of ours relays atelierd's notifications to every WebSocket. */
struct gw_options {
	const char *listen;             /* address */
	int port;
	const char *certificate, *key;  /* HTTPS when both are set */
	const char *root;               /* the pages */
	const char *socket;             /* atelierd's API socket */
	const char *users;              /* the web-users file */
	double session_hours;
	int threads;
};

struct gw;
/* Starts serving; NULL with err naming what failed (the port taken, a
 * certificate that does not load, a missing web root). */
struct gw *gw_start(const struct gw_options *o, char *err, size_t errlen);
void gw_stop(struct gw *g);
/* How many WebSockets are open (for the tests and the status line). */
size_t gw_websockets(struct gw *g);

#endif
