/*
 * JSON-RPC 2.0 server of atelierd (see api.h). Framing: a request is one
 * line of UTF-8 JSON; the reply is one line. Batches (arrays) are not
 * supported and are answered with "invalid request", which JSON-RPC allows
 * a server to do. Every client has its own input and output buffers; the
 * loop reads what is there, answers each complete line at once, and writes
 * as much as the socket takes, so one client never waits on another.
 */
#include "api.h"

#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	bool subscribed;
	bool closing;           /* flush what is queued, then close */
	struct buf in, out;
	struct api_client *next;
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
	void *data;
};

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
	vsnprintf(call->error_msg, sizeof call->error_msg, fmt, ap);
	va_end(ap);
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
client_free(struct api *api, struct api_client *c)
{
	struct api_client **pp = &api->clients;
	while (*pp && *pp != c)
		pp = &(*pp)->next;
	if (*pp)
		*pp = c->next;
	if (api->loop)
		loop_del_fd(api->loop, c->fd);
	close(c->fd);
	buf_free(&c->in);
	buf_free(&c->out);
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

void
api_client_subscribe(struct api_client *c, bool on)
{
	c->subscribed = on;
}

static void
append_json(struct buf *out, json_t *msg)
{
	char *text = json_dumps(msg, JSON_COMPACT);
	if (text) {
		buf_append(out, text, strlen(text));
		buf_append(out, "\n", 1);
		free(text);
	}
}

static void
append_error(struct buf *out, json_t *id, int code, const char *msg)
{
	json_t *reply = json_pack("{s:s, s:O, s:{s:i, s:s}}", "jsonrpc", "2.0",
	    "id", id ? id : json_null(), "error", "code", code, "message", msg);
	append_json(out, reply);
	json_decref(reply);
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
	json_t *result = m->fn(ctx, m->arg);
	ctx->params = NULL;
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
	json_t *reply = json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id,
	    "result", result);
	append_json(out, reply);
	json_decref(reply);
done:
	json_decref(req);
}

static void client_io(struct loop *l, int fd, short revents, void *arg);

static void
client_update_events(struct api_client *c)
{
	if (c->api->loop)
		loop_set_events(c->api->loop, c->fd,
		    (c->closing ? 0 : POLLIN) | (c->out.len ? POLLOUT : 0));
}

/* Writes what the socket takes; returns -1 when the client is gone. */
static int
client_flush(struct api_client *c)
{
	while (c->out.len) {
		ssize_t n = send(c->fd, c->out.data, c->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			return -1;
		}
		buf_consume(&c->out, (size_t)n);
	}
	if (c->out.len > c->api->lim.max_backlog) {
		log_warn("API client uid %u does not read its replies: disconnected",
		    (unsigned)c->uid);
		return -1;
	}
	if (c->closing && !c->out.len)
		return -1;
	client_update_events(c);
	return 0;
}

/* Returns -1 when the client must be dropped. */
static int
client_read(struct api_client *c)
{
	struct api *api = c->api;
	char tmp[4096];

	for (;;) {
		ssize_t n = recv(c->fd, tmp, sizeof tmp, MSG_DONTWAIT);
		if (n == 0)
			return -1;
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			return -1;
		}
		buf_append(&c->in, tmp, (size_t)n);
		size_t start = 0;
		char *nl;
		while ((nl = memchr(c->in.data + start, '\n', c->in.len - start))) {
			size_t len = (size_t)(nl - (c->in.data + start));
			if (len > api->lim.max_request)
				goto too_long;
			struct api_call ctx = { .api = api, .client = c, .role = c->role,
				.uid = c->uid };
			api_handle_line(api, &ctx, c->in.data + start, len, &c->out);
			start += len + 1;
		}
		buf_consume(&c->in, start);
		if (c->in.len > api->lim.max_request)
			goto too_long;
	}
	return 0;
too_long:;
	char msg[128];
	snprintf(msg, sizeof msg, "the request is longer than %zu bytes",
	    api->lim.max_request);
	append_error(&c->out, NULL, API_ERR_INVALID_REQUEST, msg);
	buf_reset(&c->in);
	c->closing = true;
	return 0;
}

static void
client_io(struct loop *l, int fd, short revents, void *arg)
{
	struct api_client *c = arg;
	(void)l;
	(void)fd;
	if ((revents & (POLLIN | POLLHUP | POLLERR)) && !c->closing &&
	    client_read(c) < 0) {
		client_free(c->api, c);
		return;
	}
	if (client_flush(c) < 0)
		client_free(c->api, c);
}

struct api_client *
api_attach(struct api *api, int fd, enum api_role role, uid_t uid)
{
	if ((int)api->n_clients >= api->lim.max_clients) {
		static const char busy[] = "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":"
		    "{\"code\":1005,\"message\":\"too many clients are connected; try again later\"}}\n";
		ssize_t r = send(fd, busy, sizeof busy - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		(void)r;
		close(fd);
		return NULL;
	}
	struct api_client *c = xcalloc(1, sizeof *c);
	c->api = api;
	c->fd = fd;
	c->role = role;
	c->uid = uid;
	buf_init(&c->in);
	buf_init(&c->out);
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

void
api_notify(struct api *api, const char *event, json_t *params)
{
	json_t *msg = json_pack("{s:s, s:s, s:o}", "jsonrpc", "2.0", "method", event,
	    "params", params ? params : json_object());
	/* Only queue here: this may run inside a method handler of one of
	 * these very clients, so nobody is freed; the loop writes and drops. */
	for (struct api_client *c = api->clients; c; c = c->next) {
		if (!c->subscribed || c->closing)
			continue;
		append_json(&c->out, msg);
		if (c->out.len > api->lim.max_backlog) {
			log_warn("API client uid %u does not read its events: disconnected",
			    (unsigned)c->uid);
			buf_reset(&c->out);
			c->closing = true;
			/* Its socket buffer is full, so it would never poll
			 * writable: hang it up to wake the loop for it. */
			shutdown(c->fd, SHUT_RDWR);
		}
		if (api->loop)
			loop_set_events(api->loop, c->fd, POLLOUT);
	}
	json_decref(msg);
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
