/*
 * The JSON-RPC 2.0 API of atelierd over a Unix stream socket: one JSON
 * object per line each way, notifications for station, interlock and job
 * events. Roles come from the peer's credentials (SO_PEERCRED) and the
 * configured groups. Every client is served from the daemon's event loop,
 * fairly and with bounded memory, so that no client can hold the loop or
 * starve another (the safety path does not depend on this loop at all):
 *  - at most API_PER_TURN requests of one client per loop turn;
 *  - a client's next request is read only once the reply to the previous
 *    one has gone into its socket (a client that never reads stops being
 *    read; its backlog is checked before a request is read, not after);
 *  - one request line of at most max_request bytes, one reply of at most
 *    max_reply bytes, notifications left unread of at most max_backlog
 *    bytes, and no output left unread for more than API_STALL seconds: a
 *    client over a limit is told so, if it can be, and disconnected;
 *  - heavy methods answer later (api_defer), their work done off the loop;
 *  - a connection must send a whole request within API_FIRST_REQUEST s,
 *    each request within API_REQUEST_TIME s of its first byte, and one at
 *    least every API_IDLE s unless it watches events; one account holds at
 *    most max_per_user connections, and technician_slots of max_clients are
 *    kept for technicians, so that a stuck or hostile process cannot lock
 *    the bench out of status and a technician out of estop.reset.
 */
#ifndef ATELIER_API_H
#define ATELIER_API_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>

#include "loop.h"
#include "util.h"

enum api_role { API_ROLE_NONE = 0, API_ROLE_JEWELLER = 1, API_ROLE_TECHNICIAN = 2 };

/* Stable error codes: JSON-RPC's own, then Atelier's (documented in
 * docs/api.md). Each goes out with a sentence a jeweller understands. */
enum api_error {
	API_ERR_PARSE = -32700,
	API_ERR_INVALID_REQUEST = -32600,
	API_ERR_METHOD_NOT_FOUND = -32601,
	API_ERR_INVALID_PARAMS = -32602,
	API_ERR_INTERNAL = -32603,
	API_ERR_FORBIDDEN = 1001,       /* the caller's role does not allow it */
	API_ERR_REFUSED = 1002,         /* policy refused the process for the piece */
	API_ERR_INTERLOCK = 1003,       /* an interlock forbids it now */
	API_ERR_UNAVAILABLE = 1004,     /* the device is not connected or faulted */
	API_ERR_BUSY = 1005,            /* the station is doing something else */
	API_ERR_NOT_FOUND = 1006,       /* no such job, step, file... */
	API_ERR_INVALID = 1007,         /* the request makes no sense (bad input) */
	API_ERR_STORE = 1008,           /* the journal could not be written */
};

struct api;
struct api_client;

/* What a method handler gets: params (object or array, may be NULL) and
 * the caller. It returns a new JSON result, or NULL after api_fail(). */
struct api_call {
	struct api *api;
	struct api_client *client;
	json_t *params;
	enum api_role role;
	uid_t uid;              /* the peer's; for a gateway acting for a web
	                         * user, a number of that user's own (above
	                         * 2^31), so that a hold or a program is theirs */
	/* For a trusted gateway acting for one of its users (api_act_as):
	 * that user's account and display name, else NULL. */
	const char *acting_account;
	const char *acting_name;
	int error_code;
	char error_msg[1024];    /* cut at a word if longer (str_cut_words) */
	struct api_pending *pending;    /* set by api_defer */
	/* A deferred answer given before the handler returned: the reply,
	 * as text, written as the handler's own. */
	char *early_result;
};
typedef json_t *(*api_handler)(struct api_call *call, void *arg);

/* Records an error for the call; returns NULL for `return api_fail(...)`. */
json_t *api_fail(struct api_call *call, enum api_error code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

struct api_method {
	const char *name;
	enum api_role role;     /* least role allowed */
	api_handler fn;
	void *arg;
	const char *summary;    /* one line, for docs and `help` */
};

struct api_limits {
	size_t max_request;     /* bytes in one request line (default 64 KiB) */
	size_t max_backlog;     /* bytes of notifications left unread (default 1 MiB) */
	size_t max_reply;       /* bytes in one reply (default API_MAX_REPLY) */
	int max_clients;
	int max_per_user;       /* connections of one uid (default: max_clients) */
	int technician_slots;   /* of max_clients, only technicians may take them */
	double stall;           /* s output may wait unread (default API_STALL) */
	double first_request;   /* s from connecting to a first whole request */
	double request_time;    /* s from a request's first byte to its end */
	double idle;            /* s without a request, for a client not watching */
};

/* How the API writes JSON: compact, and numbers with 12 significant
 * digits, so that 0.022 mm reads 0.022, not 0.021999999999999999 (values
 * are rounded to their unit where they are made, api_unit). */
#define API_JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(12))
/* A measured value rounded to its unit's precision (decimals places:
 * 3 for mm and A, 2 for V, 1 for C). */
json_t *api_unit(double value, int decimals);

/* The limits the API documents (docs/api.md). */
#define API_PER_TURN 4                  /* requests of one client per loop turn */
#define API_MAX_REPLY (64u << 20)       /* default bytes in one reply */
#define API_STALL 30.0                  /* s a client may leave its output unread */
#define API_FIRST_REQUEST 5.0           /* s to send a first whole request */
#define API_REQUEST_TIME 10.0           /* s to send one whole request */
#define API_IDLE 600.0                  /* s without a request, not watching */

/* Role resolution: given a peer's uid and gid, which role it has. The
 * default resolves root and the daemon's own user to technician, members
 * of the technician groups to technician, of the jeweller groups to
 * jeweller, anyone else to none. */
typedef enum api_role (*api_role_fn)(uid_t uid, gid_t gid, void *arg);

struct api *api_new(const struct api_limits *lim, const struct api_method *methods,
    size_t n_methods, api_role_fn role_fn, void *role_arg);
void api_free(struct api *api);

/* Listens on path with the given mode and group (NULL: unchanged) and
 * serves clients from the loop. Returns 0, or -1 with errno. */
int api_listen(struct api *api, struct loop *loop, const char *path, int mode,
    const char *group);
/*
 * Lets every role reach the socket at path, whatever its group: owner
 * (the daemon's own user, (uid_t)-1 for none) becomes its owner, and each
 * jeweller and technician group gets read and write through a POSIX ACL.
 * Returns 0, or -1 with a sentence in err (a group that does not exist, a
 * file system without ACLs).
 */
int api_socket_grant(const char *path, uid_t owner, char *const *jeweller,
    char *const *technician, char *err, size_t errlen);
/* Serves an already connected descriptor (tests, socket activation). */
struct api_client *api_attach(struct api *api, int fd, enum api_role role, uid_t uid);
/* Sends a notification to every subscribed client: {"jsonrpc":"2.0",
 * "method":event,"params":params}. Steals params. */
void api_notify(struct api *api, const char *event, json_t *params);
/*
 * A trusted gateway (atelier-web) acts for one of its users on this
 * connection from now on: the call's client takes that user's role, and
 * calls carry the account and display name for the audit trail. Once per
 * connection: returns -1 if the client already acts for someone.
 */
int api_act_as(struct api_call *call, enum api_role role, const char *account,
    const char *display);
/* For a call acting for a web user, who they are for the audit trail,
 * "Marie Curie (marie, web)", into out; false (out untouched) otherwise. */
bool api_acting_label(const struct api_call *call, char *out, size_t len);
/* Subscribes a client to notifications (the "watch" method does this). */
void api_client_subscribe(struct api_client *c, bool on);
size_t api_client_count(const struct api *api);
/* The owner's data, for method handlers (the daemon). */
void api_set_data(struct api *api, void *data);
void *api_data(const struct api *api);

/*
 * Deferred answers, for methods whose work runs off the loop. A handler
 * calls api_defer() and returns NULL; the answer goes out later through
 * exactly one of the api_pending_* calls below, which free the handle.
 * While a client has a call pending, none of its other requests is read.
 * If the client goes away meanwhile, the answer is dropped.
 */
struct api_pending;
struct api_pending *api_defer(struct api_call *call);
/* Answers with result (stolen). */
void api_pending_result(struct api_pending *p, json_t *result);
/* Answers with a result already serialised to JSON text (stolen), so that
 * a large result is serialised off the loop too. */
void api_pending_result_text(struct api_pending *p, char *json_text);
void api_pending_fail(struct api_pending *p, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Whether the client that asked is still connected. */
bool api_pending_alive(const struct api_pending *p);
/* A flag set to 1 if the client goes away first: the work stops. */
void api_pending_cancel_with(struct api_pending *p, atomic_int *flag);

/*
 * Handles one request line for a client as if it had arrived on the socket
 * and appends the response (if any) to out. The framing and dispatch core,
 * used by the socket path and by the fuzz target.
 */
void api_handle_line(struct api *api, struct api_call *ctx, const char *line,
    size_t len, struct buf *out);

/* Default role resolution from group names (NULL-terminated lists). */
struct api_groups {
	char **jeweller;
	char **technician;
};
enum api_role api_role_from_groups(uid_t uid, gid_t gid, void *groups);
const char *api_role_name(enum api_role role);

#endif
