/*
 * JSON-RPC 2.0 server of atelierd (see api.h). Framing: a request is one
 * line of UTF-8 JSON; the reply is one line. Batches (arrays) are not
 * supported and are answered with "invalid request", which JSON-RPC allows
 * a server to do.
 *
 * Each client has an input buffer, a reply buffer and a notification
 * buffer. Requests are taken from the input one at a time, only while the
 * reply buffer is empty and nothing is pending, at most API_PER_TURN per
 * turn; a client with more complete lines waiting is put back on the ready
 * list, which a zero-delay timer serves on the next turn, after every
 * other descriptor. Output is written a whole line at a time from one
 * buffer or the other, replies first.
 */
#include "api/api.h"

#include <acl/libacl.h>
#include <errno.h>
#include <grp.h>
#include <math.h>
#include <poll.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/acl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"

struct api_client {
	struct api *api;
	int fd;
	enum api_role role;
	uid_t uid;
	char *acting_account;   /* api_act_as, or NULL */
	char *acting_name;
	uid_t acting_key;       /* the calls' uid while acting (api_act_as) */
	bool subscribed;
	bool closing;           /* flush what is queued, then close */
	bool eof;               /* the client sent all it will: answer, then close */
	bool gone;              /* hung up: its requests still run, unanswered */
	bool ready;             /* on the ready list: complete lines wait */
	struct buf in;
	struct buf out;         /* replies */
	struct buf notes;       /* notifications */
	struct buf *writing;    /* the buffer a line is half-written from, or NULL */
	double stalled_since;   /* output waiting and the socket full since, or 0 */
	double connected_at, last_request_at;
	double partial_since;   /* a request's first bytes came at, or 0 */
	bool requested;         /* sent a whole request once */
	struct api_pending *pending;
	struct api_client *next, *next_ready;
};

struct api_pending {
	struct api *api;
	struct api_call *call;          /* while the handler that deferred runs */
	struct api_client *client;      /* NULL once gone */
	json_t *id;                     /* NULL for a notification */
	atomic_int *cancel;             /* set when the client goes, or NULL */
};

struct api {
	struct api_limits lim;
	const struct api_method *methods;
	size_t n_methods;
	api_role_fn role_fn;
	void *role_arg;
	struct loop *loop;
	int listen_fd;
	char *path;
	struct api_client *clients;
	size_t n_clients;
	struct api_client *ready;       /* clients with requests waiting */
	uint64_t kick_timer, stall_timer;
	void *data;
};

json_t *
api_unit(double value, int decimals)
{
	double k = pow(10, decimals);
	return isfinite(value) ? json_real(round(value * k) / k) : json_null();
}

void
api_set_data(struct api *api, void *data)
{
	api->data = data;
}

void *
api_data(const struct api *api)
{
	return api->data;
}

static const char *const role_names[] = { "none", "jeweller", "technician" };

const char *
api_role_name(enum api_role role)
{
	return role_names[role];
}

json_t *
api_fail(struct api_call *call, enum api_error code, const char *fmt, ...)
{
	va_list ap;

	call->error_code = code;
	va_start(ap, fmt);
	int n = vsnprintf(call->error_msg, sizeof call->error_msg, fmt, ap);
	va_end(ap);
	str_cut_words(call->error_msg, sizeof call->error_msg, n);
	return NULL;
}

struct api *
api_new(const struct api_limits *lim, const struct api_method *methods,
    size_t n_methods, api_role_fn role_fn, void *role_arg)
{
	struct api *api = xcalloc(1, sizeof *api);
	api->lim = *lim;
	if (!api->lim.max_request)
		api->lim.max_request = 65536;
	if (!api->lim.max_backlog)
		api->lim.max_backlog = 1 << 20;
	if (!api->lim.max_reply)
		api->lim.max_reply = API_MAX_REPLY;
	if (!(api->lim.stall > 0))
		api->lim.stall = API_STALL;
	if (!(api->lim.first_request > 0))
		api->lim.first_request = API_FIRST_REQUEST;
	if (!(api->lim.request_time > 0))
		api->lim.request_time = API_REQUEST_TIME;
	if (!(api->lim.idle > 0))
		api->lim.idle = API_IDLE;
	if (api->lim.max_per_user <= 0)
		api->lim.max_per_user = api->lim.max_clients;
	if (!api->lim.max_clients)
		api->lim.max_clients = 64;
	api->methods = methods;
	api->n_methods = n_methods;
	api->role_fn = role_fn;
	api->role_arg = role_arg;
	api->listen_fd = -1;
	return api;
}

static void
unready(struct api *api, struct api_client *c)
{
	if (!c->ready)
		return;
	struct api_client **pp = &api->ready;
	while (*pp && *pp != c)
		pp = &(*pp)->next_ready;
	if (*pp)
		*pp = c->next_ready;
	c->ready = false;
}

static void
client_free(struct api *api, struct api_client *c)
{
	struct api_client **pp = &api->clients;
	while (*pp && *pp != c)
		pp = &(*pp)->next;
	if (*pp)
		*pp = c->next;
	unready(api, c);
	if (c->pending) {
		c->pending->client = NULL;      /* its answer will be dropped */
		if (c->pending->cancel)
			atomic_store(c->pending->cancel, 1);
	}
	if (api->loop)
		loop_del_fd(api->loop, c->fd);
	close(c->fd);
	buf_free(&c->in);
	buf_free(&c->out);
	buf_free(&c->notes);
	free(c->acting_account);
	free(c->acting_name);
	free(c);
	api->n_clients--;
}

void
api_free(struct api *api)
{
	if (!api)
		return;
	while (api->clients)
		client_free(api, api->clients);
	if (api->loop) {
		loop_cancel(api->loop, api->kick_timer);
		loop_cancel(api->loop, api->stall_timer);
	}
	if (api->listen_fd >= 0) {
		if (api->loop)
			loop_del_fd(api->loop, api->listen_fd);
		close(api->listen_fd);
		unlink(api->path);
	}
	free(api->path);
	free(api);
}

size_t
api_client_count(const struct api *api)
{
	return api->n_clients;
}

int
api_act_as(struct api_call *call, enum api_role role, const char *account, const char *display)
{
	struct api_client *c = call->client;
	if (!c || c->acting_account)
		return -1;
	c->acting_account = xstrdup(account);
	c->acting_name = xstrdup(display && *display ? display : account);
	/* What owns a laser's program or hold is the caller's uid: web users
	 * share the gateway's, so each gets a number of its own, derived from
	 * the account's name (FNV-1a), above the range of real uids. */
	uint32_t h = 2166136261u;
	for (const char *p = account; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	c->acting_key = (uid_t)(0x80000000u | (h & 0x7ffffffeu));
	c->role = role;
	call->role = role;
	call->uid = c->acting_key;
	call->acting_account = c->acting_account;
	call->acting_name = c->acting_name;
	return 0;
}

bool
api_acting_label(const struct api_call *call, char *out, size_t len)
{
	if (!call->acting_account)
		return false;
	snprintf(out, len, "%s (%s, web)", call->acting_name, call->acting_account);
	return true;
}

void
api_client_subscribe(struct api_client *c, bool on)
{
	c->subscribed = on;
}

static char *
error_line(json_t *id, int code, const char *msg)
{
	json_t *reply = json_pack("{s:s, s:O, s:{s:i, s:s}}", "jsonrpc", "2.0",
	    "id", id ? id : json_null(), "error", "code", code, "message", msg);
	char *text = json_dumps(reply, API_JSON_FLAGS);
	json_decref(reply);
	return text;
}

static void
append_line(struct buf *out, const char *text)
{
	if (text) {
		buf_append(out, text, strlen(text));
		buf_append(out, "\n", 1);
	}
}

static void
append_error(struct buf *out, json_t *id, int code, const char *msg)
{
	char *text = error_line(id, code, msg);
	append_line(out, text);
	free(text);
}

/* A reply over the limit is replaced by an error that says how large it
 * would have been, so the client can ask for less. */
static void
append_reply(struct api *api, struct buf *out, json_t *id, char *result_text)
{
	if (!result_text) {
		append_error(out, id, API_ERR_INTERNAL, "the reply could not be written");
		return;
	}
	char *idt = json_dumps(id, JSON_COMPACT | JSON_ENCODE_ANY);
	size_t len = strlen(result_text) + strlen(idt ? idt : "null") + 40;
	if (len > api->lim.max_reply) {
		char msg[200];
		snprintf(msg, sizeof msg, "the reply would be %zu bytes, over the limit of %zu: ask for "
		    "less (one serial, a shorter period)", len, api->lim.max_reply);
		append_error(out, id, API_ERR_INVALID, msg);
	} else {
		buf_printf(out, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":", idt ? idt : "null");
		buf_append(out, result_text, strlen(result_text));
		buf_append(out, "}\n", 2);
	}
	free(idt);
	free(result_text);
}

void
api_handle_line(struct api *api, struct api_call *ctx, const char *line,
    size_t len, struct buf *out)
{
	json_error_t jerr;
	json_t *req, *id = NULL, *params;
	const char *method, *version;
	char msg[300];

	while (len && (line[len - 1] == '\r' || line[len - 1] == ' '))
		len--;
	if (len == 0)
		return;
	req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!req) {
		snprintf(msg, sizeof msg, "the request is not valid JSON (column %d: %s)",
		    jerr.column, jerr.text);
		append_error(out, NULL, API_ERR_PARSE, msg);
		return;
	}
	if (!json_is_object(req)) {
		append_error(out, NULL, API_ERR_INVALID_REQUEST,
		    "a request must be one JSON object (batches are not supported)");
		goto done;
	}
	id = json_object_get(req, "id");
	if (id && !json_is_string(id) && !json_is_integer(id) && !json_is_null(id)) {
		append_error(out, NULL, API_ERR_INVALID_REQUEST,
		    "the request id must be a string or an integer");
		goto done;
	}
	version = json_string_value(json_object_get(req, "jsonrpc"));
	method = json_string_value(json_object_get(req, "method"));
	params = json_object_get(req, "params");
	if (!version || strcmp(version, "2.0") != 0 || !method) {
		append_error(out, id, API_ERR_INVALID_REQUEST,
		    "a request needs \"jsonrpc\":\"2.0\" and a \"method\" string");
		goto done;
	}
	if (params && !json_is_object(params) && !json_is_array(params)) {
		append_error(out, id, API_ERR_INVALID_PARAMS,
		    "\"params\" must be an object or an array");
		goto done;
	}

	const struct api_method *m = NULL;
	for (size_t i = 0; i < api->n_methods; i++)
		if (strcmp(api->methods[i].name, method) == 0)
			m = &api->methods[i];
	if (!m) {
		snprintf(msg, sizeof msg, "there is no method '%.100s'", method);
		if (id)
			append_error(out, id, API_ERR_METHOD_NOT_FOUND, msg);
		goto done;
	}
	if (ctx->role < m->role) {
		snprintf(msg, sizeof msg, "'%s' is for the %s role; you are %s", m->name,
		    api_role_name(m->role), ctx->role == API_ROLE_NONE ?
		    "not a member of any Atelier group" : api_role_name(ctx->role));
		if (id)
			append_error(out, id, API_ERR_FORBIDDEN, msg);
		goto done;
	}

	ctx->params = params;
	ctx->error_code = 0;
	ctx->error_msg[0] = '\0';
	ctx->pending = NULL;
	ctx->early_result = NULL;
	json_t *result = m->fn(ctx, m->arg);
	ctx->params = NULL;
	if (ctx->pending) {
		/* Answered later; the handle keeps its own copy of the id. */
		json_decref(result);
		ctx->pending->call = NULL;
		if (id)
			ctx->pending->id = json_deep_copy(id);
		goto done;
	}
	if (ctx->early_result) {
		json_decref(result);
		result = json_loads(ctx->early_result, JSON_DECODE_ANY, NULL);
		free(ctx->early_result);
		ctx->early_result = NULL;
	}
	if (!id) {
		/* A notification from the client: run, never answer. */
		json_decref(result);
		goto done;
	}
	if (!result) {
		append_error(out, id, ctx->error_code ? ctx->error_code : API_ERR_INTERNAL,
		    ctx->error_msg[0] ? ctx->error_msg : "the request failed");
		goto done;
	}
	append_reply(api, out, id, json_dumps(result, API_JSON_FLAGS | JSON_ENCODE_ANY));
	json_decref(result);
done:
	json_decref(req);
}

/* --- deferred answers ------------------------------------------------------ */

struct api_pending *
api_defer(struct api_call *call)
{
	struct api_pending *p = xcalloc(1, sizeof *p);
	p->api = call->api;
	p->call = call;
	p->client = call->client;
	if (call->client)
		call->client->pending = p;
	call->pending = p;
	return p;
}

bool
api_pending_alive(const struct api_pending *p)
{
	return p->client && !p->client->gone;
}

void
api_pending_cancel_with(struct api_pending *p, atomic_int *flag)
{
	p->cancel = flag;
}

static void make_ready(struct api_client *c);
static void schedule_serve(struct api_client *c);
static void client_update_events(struct api_client *c);

static void
pending_finish(struct api_pending *p, char *result_text, int code, const char *msg)
{
	if (p->call) {
		/* Answered before its handler returned (a refusal found after
		 * deferring): the handler's own reply, at once. */
		struct api_call *call = p->call;
		call->pending = NULL;
		if (p->client)
			p->client->pending = NULL;
		if (result_text) {
			call->early_result = result_text;
		} else {
			call->error_code = code;
			snprintf(call->error_msg, sizeof call->error_msg, "%s", msg);
		}
		json_decref(p->id);
		free(p);
		return;
	}
	struct api_client *c = p->client;
	if (c) {
		c->pending = NULL;
		if (p->id && result_text)
			append_reply(p->api, &c->out, p->id, result_text);
		else if (p->id)
			append_error(&c->out, p->id, code, msg);
		else
			free(result_text);
		/* Written, and the client's waiting requests taken, by the loop:
		 * this may run inside a handler of this very client. */
		if (c->gone) {
			/* Served (and freed, once nothing is left) on the next turn. */
			buf_reset(&c->out);
			schedule_serve(c);
		} else {
			client_update_events(c);
		}
	} else {
		free(result_text);
	}
	json_decref(p->id);
	free(p);
}

void
api_pending_result(struct api_pending *p, json_t *result)
{
	char *text = result ? json_dumps(result, API_JSON_FLAGS | JSON_ENCODE_ANY) : NULL;
	json_decref(result);
	if (text)
		pending_finish(p, text, 0, NULL);
	else
		pending_finish(p, NULL, API_ERR_INTERNAL, "the reply could not be written");
}

void
api_pending_result_text(struct api_pending *p, char *json_text)
{
	pending_finish(p, json_text, 0, NULL);
}

void
api_pending_fail(struct api_pending *p, int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	str_cut_words(msg, sizeof msg, n);
	pending_finish(p, NULL, code, msg);
}

/* --- clients on the socket ------------------------------------------------- */

static void client_io(struct loop *l, int fd, short revents, void *arg);

/* Whether the client's next request may be taken now. */
static bool
can_serve(const struct api_client *c)
{
	return !c->closing && !c->pending && c->out.len == 0;
}

static bool
has_line(const struct api_client *c)
{
	return c->in.len && memchr(c->in.data, '\n', c->in.len);
}

static void on_kick(struct loop *l, void *arg);

/* Whole requests wait and may be taken: served on the next turn, after
 * every other client's. */
static void
schedule_serve(struct api_client *c)
{
	struct api *api = c->api;
	if (c->ready)
		return;
	c->ready = true;
	c->next_ready = api->ready;
	api->ready = c;
	if (api->loop && !api->kick_timer)
		api->kick_timer = loop_add_timer(api->loop, 0, on_kick, api);
}

static void
make_ready(struct api_client *c)
{
	if (can_serve(c) && has_line(c))
		schedule_serve(c);
}

static void
client_update_events(struct api_client *c)
{
	make_ready(c);
	if (!c->api->loop || c->gone)
		return;
	/* Read only what can be served: a client whose replies wait, or
	 * whose buffer holds a whole request already, is not read. */
	bool want_in = can_serve(c) && !c->eof && !has_line(c) &&
	    c->in.len <= c->api->lim.max_request;
	bool want_out = c->out.len || c->notes.len;
	loop_set_events(c->api->loop, c->fd, (short)((want_in ? POLLIN : 0) | (want_out ? POLLOUT : 0)));
}


/* Sends from one buffer; returns bytes sent, or -1 when the client is gone. */
static ssize_t
send_some(struct api_client *c, struct buf *b)
{
	ssize_t n = send(c->fd, b->data, b->len, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	/* A line is half-written unless what went ended at a newline. */
	c->writing = n > 0 && b->data[n - 1] != '\n' ? b : (n > 0 ? NULL : c->writing);
	buf_consume(b, (size_t)n);
	return n;
}

/* Writes what the socket takes, whole lines interleaved from the replies
 * and the notifications; returns -1 when the client must be dropped. */
static int
client_flush(struct api_client *c)
{
	bool progress = false;
	if (c->gone) {
		buf_reset(&c->out);
		buf_reset(&c->notes);
		c->writing = NULL;
		make_ready(c);
		return has_line(c) || c->pending ? 0 : -1;
	}
	for (;;) {
		struct buf *b = c->writing ? c->writing : c->out.len ? &c->out :
		    c->notes.len ? &c->notes : NULL;
		if (!b || !b->len)
			break;
		ssize_t n = send_some(c, b);
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		progress = true;
	}
	if (c->out.len || c->notes.len) {
		if (progress || !c->stalled_since)
			c->stalled_since = now_mono();
	} else {
		/* Its next request's time runs from when it may be read. */
		if (c->stalled_since && c->in.len)
			c->partial_since = now_mono();
		c->stalled_since = 0;
	}
	if (c->notes.len > c->api->lim.max_backlog) {
		log_warn("API client uid %u does not read its events: disconnected", (unsigned)c->uid);
		return -1;
	}
	if (c->closing && !c->out.len && !c->notes.len)
		return -1;
	client_update_events(c);
	return 0;
}

static void
too_long(struct api_client *c)
{
	char msg[128];
	snprintf(msg, sizeof msg, "the request is longer than %zu bytes", c->api->lim.max_request);
	append_error(&c->out, NULL, API_ERR_INVALID_REQUEST, msg);
	buf_reset(&c->in);
	c->closing = true;
}

/* Takes up to API_PER_TURN requests from what was read. */
static void
client_serve(struct api_client *c)
{
	struct api *api = c->api;
	int served = 0;
	/* What is left of an earlier reply goes first: the next request is
	 * taken only once it has. */
	if ((c->out.len || c->notes.len) && client_flush(c) < 0) {
		client_free(api, c);
		return;
	}
	while (can_serve(c) && served < API_PER_TURN) {
		char *nl = c->in.len ? memchr(c->in.data, '\n', c->in.len) : NULL;
		if (!nl)
			break;
		size_t len = (size_t)(nl - c->in.data);
		if (len > api->lim.max_request) {
			too_long(c);
			break;
		}
		struct api_call ctx = { .api = api, .client = c, .role = c->role,
			.uid = c->acting_account ? c->acting_key : c->uid,
			.acting_account = c->acting_account, .acting_name = c->acting_name };
		api_handle_line(api, &ctx, c->in.data, len, &c->out);
		buf_consume(&c->in, len + 1);
		served++;
		c->requested = true;
		c->last_request_at = now_mono();
		/* What follows the line is the next request's start. */
		c->partial_since = c->in.len ? c->last_request_at : 0;
		/* Try the reply at once: most fit the socket, and the next
		 * request may then be taken in this same turn. */
		if (c->out.len && client_flush(c) < 0) {
			client_free(api, c);
			return;
		}
	}
	if (!c->closing && !has_line(c) && c->in.len > api->lim.max_request)
		too_long(c);
	if (c->eof && !c->pending && !has_line(c))
		c->closing = true;
	/* The flush also puts the client back on the ready list when more
	 * requests wait (client_update_events). */
	if (client_flush(c) < 0)
		client_free(api, c);
}

static void
on_kick(struct loop *l, void *arg)
{
	struct api *api = arg;
	(void)l;
	api->kick_timer = 0;
	struct api_client *list = api->ready;
	api->ready = NULL;
	while (list) {
		struct api_client *c = list;
		list = c->next_ready;
		c->ready = false;
		client_serve(c);
	}
}

/* Clients whose output has waited unread too long are cut: they hold a
 * slot and their replies, and a reading client never stalls that long. */
/* Why a client holding a connection without using it must go, or NULL. */
static const char *
idle_reason(const struct api *api, const struct api_client *c, double now, char *buf,
    size_t len)
{
	const struct api_limits *lim = &api->lim;
	if (c->gone || c->pending)
		return NULL;
	if (c->stalled_since && now - c->stalled_since > lim->stall)
		snprintf(buf, len, "left its replies unread for %g s", lim->stall);
	else if (!c->requested && !has_line(c) && now - c->connected_at > lim->first_request)
		snprintf(buf, len, "sent no whole request within %g s of connecting",
		    lim->first_request);
	else if (can_serve(c) && c->in.len && !has_line(c) && c->partial_since &&
	    now - c->partial_since > lim->request_time)
		snprintf(buf, len, "took more than %g s to send one request", lim->request_time);
	else if (c->requested && !c->subscribed && !c->in.len && !c->out.len &&
	    now - c->last_request_at > lim->idle)
		snprintf(buf, len, "sent no request for %g s and watches no events", lim->idle);
	else
		return NULL;
	return buf;
}

static void
on_stall_check(struct loop *l, void *arg)
{
	struct api *api = arg;
	double now = now_mono();
	char why[120];
	for (struct api_client *c = api->clients, *next; c; c = next) {
		next = c->next;
		if (idle_reason(api, c, now, why, sizeof why)) {
			log_warn("API client uid %u %s: disconnected", (unsigned)c->uid, why);
			client_free(api, c);
		}
	}
	double every = fmin(fmin(1.0, api->lim.stall / 4), fmin(api->lim.first_request,
	    api->lim.request_time) / 4);
	api->stall_timer = loop_add_timer(l, every, on_stall_check, api);
}

/* Reads one chunk; returns -1 when the client is gone. */
static int
client_read(struct api_client *c)
{
	char tmp[16384];
	ssize_t n = recv(c->fd, tmp, sizeof tmp, MSG_DONTWAIT);
	if (n == 0) {
		c->eof = true;
		return 0;
	}
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (c->in.len == 0)
		c->partial_since = now_mono();
	buf_append(&c->in, tmp, (size_t)n);
	return 0;
}

static void
client_io(struct loop *l, int fd, short revents, void *arg)
{
	struct api_client *c = arg;
	(void)l;
	(void)fd;
	/* POLLHUP: the peer closed both ways. What it sent before still
	 * runs (a stop sent just before closing must stop), unanswered; the
	 * descriptor leaves the loop, which would otherwise report the hang-up
	 * on every turn. A client that only stopped sending reads EOF instead,
	 * and is answered. */
	if ((revents & (POLLHUP | POLLERR)) && !c->gone) {
		char tmp[16384];
		ssize_t n;
		while (c->in.len <= c->api->lim.max_request &&
		    (n = recv(c->fd, tmp, sizeof tmp, MSG_DONTWAIT)) > 0)
			buf_append(&c->in, tmp, (size_t)n);
		c->gone = true;
		if (c->pending && c->pending->cancel)
			atomic_store(c->pending->cancel, 1);
		unready(c->api, c);
		if (c->api->loop)
			loop_del_fd(c->api->loop, c->fd);
	}
	if ((revents & POLLIN) && !c->closing && !c->eof && can_serve(c) && !has_line(c) &&
	    client_read(c) < 0) {
		client_free(c->api, c);
		return;
	}
	client_serve(c);
}

/* Refuses a connection with a sentence, at once. */
static void
refuse(int fd, const char *why)
{
	struct buf b;
	buf_init(&b);
	append_error(&b, NULL, API_ERR_BUSY, why);
	ssize_t r = send(fd, b.data, b.len, MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)r;        /* best effort: it is being refused anyway */
	buf_free(&b);
	close(fd);
}

struct api_client *
api_attach(struct api *api, int fd, enum api_role role, uid_t uid)
{
	const struct api_limits *lim = &api->lim;
	int mine = 0;
	for (struct api_client *c = api->clients; c; c = c->next)
		mine += c->uid == uid;
	char why[200];
	/* The last slots are a technician's, so that an e-stop can always be
	 * reset and the bench seen, whatever else is connected. */
	int open_to_role = role >= API_ROLE_TECHNICIAN ? lim->max_clients :
	    lim->max_clients - lim->technician_slots;
	if ((int)api->n_clients >= open_to_role) {
		snprintf(why, sizeof why, "too many clients are connected (%zu of %d%s); try again "
		    "later", api->n_clients, lim->max_clients, role >= API_ROLE_TECHNICIAN ? "" :
		    ", the rest kept for technicians");
		refuse(fd, why);
		return NULL;
	}
	if (mine >= lim->max_per_user) {
		snprintf(why, sizeof why, "this account has %d connections open already, the most "
		    "one account may hold", mine);
		refuse(fd, why);
		return NULL;
	}
	struct api_client *c = xcalloc(1, sizeof *c);
	c->api = api;
	c->fd = fd;
	c->role = role;
	c->uid = uid;
	c->connected_at = c->last_request_at = now_mono();
	buf_init(&c->in);
	buf_init(&c->out);
	buf_init(&c->notes);
	c->next = api->clients;
	api->clients = c;
	api->n_clients++;
	fd_set_nonblock(fd);
	if (api->loop)
		loop_add_fd(api->loop, fd, POLLIN, client_io, c);
	return c;
}

static void
on_accept(struct loop *l, int lfd, short revents, void *arg)
{
	struct api *api = arg;
	(void)l;
	(void)revents;
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		struct ucred cred;
		socklen_t len = sizeof cred;
		enum api_role role = API_ROLE_NONE;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
			/* Without credentials there is no role to give. */
			close(fd);
			continue;
		}
		if (api->role_fn)
			role = api->role_fn(cred.uid, cred.gid, api->role_arg);
		api_attach(api, fd, role, cred.uid);
	}
}

int
api_listen(struct api *api, struct loop *loop, const char *path, int mode,
    const char *group)
{
	int fd = unix_listen(path, 32);
	if (fd < 0)
		return -1;
	if (group) {
		struct group *gr = getgrnam(group);
		if (!gr) {
			errno = ENOENT;
			log_err("API socket group '%s' does not exist", group);
			goto fail;
		}
		if (chown(path, (uid_t)-1, gr->gr_gid) < 0)
			goto fail;
	}
	if (chmod(path, (mode_t)mode) < 0)
		goto fail;
	api->loop = loop;
	api->listen_fd = fd;
	api->path = xstrdup(path);
	loop_add_fd(loop, fd, POLLIN, on_accept, api);
	api->stall_timer = loop_add_timer(loop, 0.25, on_stall_check, api);
	/* Clients attached before listening join the loop now. */
	for (struct api_client *c = api->clients; c; c = c->next)
		loop_add_fd(loop, c->fd, POLLIN, client_io, c);
	return 0;
fail:;
	int saved = errno;
	close(fd);
	unlink(path);
	errno = saved;
	return -1;
}

/* Adds "group gid: read and write" to an ACL. */
static int
acl_add_group(acl_t *acl, gid_t gid)
{
	acl_entry_t e;
	acl_permset_t ps;
	if (acl_create_entry(acl, &e) < 0 || acl_set_tag_type(e, ACL_GROUP) < 0 ||
	    acl_set_qualifier(e, &gid) < 0 || acl_get_permset(e, &ps) < 0 ||
	    acl_clear_perms(ps) < 0 || acl_add_perm(ps, ACL_READ) < 0 ||
	    acl_add_perm(ps, ACL_WRITE) < 0)
		return -1;
	return 0;
}

int
api_socket_grant(const char *path, uid_t owner, char *const *jeweller, char *const *technician,
    char *err, size_t errlen)
{
	if (owner != (uid_t)-1 && chown(path, owner, (gid_t)-1) < 0) {
		snprintf(err, errlen, "cannot give %s to its user: %s", path, strerror(errno));
		return -1;
	}
	acl_t acl = acl_get_file(path, ACL_TYPE_ACCESS);
	if (!acl) {
		snprintf(err, errlen, "cannot read the permissions of %s: %s", path, strerror(errno));
		return -1;
	}
	int rc = 0;
	char *const *lists[] = { jeweller, technician };
	for (size_t l = 0; l < 2 && rc == 0; l++) {
		for (char *const *g = lists[l]; g && *g && rc == 0; g++) {
			struct group *gr = getgrnam(*g);
			if (!gr) {
				snprintf(err, errlen, "role group '%s' does not exist", *g);
				rc = -1;
			} else if (acl_add_group(&acl, gr->gr_gid) < 0) {
				snprintf(err, errlen, "cannot add group '%s' to the permissions of %s: %s",
				    *g, path, strerror(errno));
				rc = -1;
			}
		}
	}
	if (rc == 0 && (acl_calc_mask(&acl) < 0 || acl_set_file(path, ACL_TYPE_ACCESS, acl) < 0)) {
		snprintf(err, errlen, "cannot let the role groups reach %s (%s): only its owner and "
		    "group can connect", path, strerror(errno));
		rc = -1;
	}
	acl_free(acl);
	return rc;
}

void
api_notify(struct api *api, const char *event, json_t *params)
{
	json_t *msg = json_pack("{s:s, s:s, s:o}", "jsonrpc", "2.0", "method", event,
	    "params", params ? params : json_object());
	char *text = json_dumps(msg, API_JSON_FLAGS);
	json_decref(msg);
	/* Only queue here: this may run inside a method handler of one of
	 * these very clients, so nobody is freed; the loop writes and drops. */
	for (struct api_client *c = api->clients; c && text; c = c->next) {
		if (!c->subscribed || c->closing || c->gone)
			continue;
		append_line(&c->notes, text);
		if (c->notes.len > api->lim.max_backlog) {
			log_warn("API client uid %u does not read its events: disconnected",
			    (unsigned)c->uid);
			buf_reset(&c->notes);
			buf_reset(&c->out);
			c->writing = NULL;
			c->closing = true;
			/* Its socket buffer is full, so it would never poll
			 * writable: hang it up to wake the loop for it. */
			shutdown(c->fd, SHUT_RDWR);
		}
		if (api->loop)
			loop_set_events(api->loop, c->fd, POLLOUT | (can_serve(c) ? POLLIN : 0));
	}
	free(text);
}

static bool
in_groups(char **names, uid_t uid, gid_t gid)
{
	struct passwd *pw = getpwuid(uid);
	gid_t groups[256];
	int ng = 256;

	if (!names)
		return false;
	if (!pw || getgrouplist(pw->pw_name, gid, groups, &ng) < 0) {
		groups[0] = gid;
		ng = 1;
	}
	for (char **n = names; *n; n++) {
		struct group *gr = getgrnam(*n);
		if (!gr)
			continue;
		for (int i = 0; i < ng; i++)
			if (groups[i] == gr->gr_gid)
				return true;
	}
	return false;
}

enum api_role
api_role_from_groups(uid_t uid, gid_t gid, void *arg)
{
	const struct api_groups *g = arg;

	/* root and the daemon's own user administer the bench. */
	if (uid == 0 || uid == geteuid())
		return API_ROLE_TECHNICIAN;
	if (in_groups(g->technician, uid, gid))
		return API_ROLE_TECHNICIAN;
	if (in_groups(g->jeweller, uid, gid))
		return API_ROLE_JEWELLER;
	return API_ROLE_NONE;
}
