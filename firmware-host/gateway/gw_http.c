/*
 * atelier-web's HTTP and WebSocket front, on civetweb. civetweb parses
 * HTTP, frames WebSockets and speaks TLS; this file decides what each
 * request may do:
 *   - the pages and their files, from the web root only: a path with a
 *     dot segment, a hidden name or a backslash is refused before any
 *     file is looked at, and what is served must resolve inside the root;
 *     every page but the login page needs a session, and the calibration
 *     page a technician;
 *   - /api/login, /api/logout, /api/session: accounts (web_users.h),
 *     sessions and the login throttle (gw_session.c);
 *   - /api/rpc: one atelierd method for the logged-in user, with the
 *     session's CSRF token in X-CSRF-Token; atelierd applies the user's
 *     role (gw_rpc.c, act_as);
 *   - /api/qr.svg: the QR code of a job's page, for its ticket;
 *   - /ws: atelierd's notifications, to logged-in pages of this origin.
 * Every answer carries a Content-Security-Policy that allows this
 * origin's scripts only.
 */
#include "gateway/gw.h"

#include <civetweb.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define GW_WS_MAX 256
#define GW_BODY_MAX (512 * 1024)        /* an SVG design is the largest */
#define GW_RPC_TIMEOUT 30.0             /* s: atelierd's journal reads take up to 20 */
#define COOKIE "atelier_session"

static const char security_headers[] =
    "Content-Security-Policy: default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "X-Frame-Options: DENY\r\n"
    "Referrer-Policy: same-origin\r\n";

struct gw {
	struct mg_context *ctx;
	struct gw_sessions sessions;
	char root[PATH_MAX];            /* resolved */
	char *socket, *users, *certificate, *key;
	bool tls;
	pthread_mutex_t login_lock;     /* one Argon2id (64 MiB) at a time */
	char dummy_hash[128];           /* checked for unknown users, for even timing */
	pthread_mutex_t ws_lock;
	struct mg_connection *ws[GW_WS_MAX];
	size_t n_ws;
	pthread_t relay;
	atomic_int stopping;
};

/* --- answers ------------------------------------------------------------ */

static void
send_body(struct mg_connection *c, int status, const char *type, const char *extra,
    const char *body, size_t len)
{
	mg_printf(c, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n%s%s\r\n",
	    status, mg_get_response_code_text(c, status), type, len, security_headers,
	    extra ? extra : "");
	if (strcmp(mg_get_request_info(c)->request_method, "HEAD") != 0)
		mg_write(c, body, len);
}

/* Sends body (stolen) as JSON. */
static int
send_json(struct mg_connection *c, int status, json_t *body, const char *extra)
{
	char *text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	send_body(c, status, "application/json; charset=utf-8", extra, text, strlen(text));
	free(text);
	return status;
}

static int
send_error(struct mg_connection *c, int status, const char *msg)
{
	return send_json(c, status, json_pack("{s:s}", "error", msg), NULL);
}

static int
send_page_error(struct mg_connection *c, int status, const char *title, const char *msg)
{
	char page[1024];
	int n = snprintf(page, sizeof page, "<!DOCTYPE html><html><head><meta charset=\"utf-8\">"
	    "<title>%s</title><link rel=\"stylesheet\" href=\"/css/atelier.css\"></head><body>"
	    "<main class=\"refused\"><h1>%s</h1><p>%s</p><p><a href=\"/\">Bench</a></p></main>"
	    "</body></html>\n", title, title, msg);
	send_body(c, status, "text/html; charset=utf-8", NULL, page, (size_t)n);
	return status;
}

/* --- requests ----------------------------------------------------------- */

static bool
is_method(struct mg_connection *c, const char *m)
{
	return strcmp(mg_get_request_info(c)->request_method, m) == 0;
}

/* Reads the body, at most max bytes; NULL when larger or cut short. */
static char *
read_body(struct mg_connection *c, size_t max, size_t *len)
{
	long long cl = mg_get_request_info(c)->content_length;
	if (cl < 0 || (unsigned long long)cl > max)
		return NULL;
	char *data = xmalloc((size_t)cl + 1);
	size_t got = 0;
	while (got < (size_t)cl) {
		int n = mg_read(c, data + got, (size_t)cl - got);
		if (n <= 0) {
			free(data);
			return NULL;
		}
		got += (size_t)n;
	}
	data[got] = '\0';
	*len = got;
	return data;
}

/* Whether a Host header is a plain host[:port], safe to put in a URL. */
static bool
host_valid(const char *h)
{
	if (!h || !*h || strlen(h) > 255)
		return false;
	for (const char *p = h; *p; p++)
		if (!(('a' <= *p && *p <= 'z') || ('A' <= *p && *p <= 'Z') ||
		    ('0' <= *p && *p <= '9') || strchr(".-:[]", *p)))
			return false;
	return true;
}

/* Whether the request's Origin is this server as the browser reached it.
 * required: a request without Origin fails (WebSockets, where browsers
 * always send it); else only a different Origin does. */
static bool
same_origin(struct gw *g, struct mg_connection *c, bool required)
{
	const char *origin = mg_get_header(c, "Origin");
	const char *host = mg_get_header(c, "Host");
	if (!origin)
		return !required;
	if (!host_valid(host))
		return false;
	char expect[300];
	snprintf(expect, sizeof expect, "%s://%s", g->tls ? "https" : "http", host);
	return strcmp(origin, expect) == 0;
}

static bool
session_of(struct gw *g, const struct mg_connection *c, struct gw_session *s)
{
	const char *cookie = mg_get_header(c, "Cookie");
	char token[GW_TOKEN_HEX + 2];
	if (!cookie || mg_get_cookie(cookie, COOKIE, token, sizeof token) != GW_TOKEN_HEX)
		return false;
	return gw_session_get(&g->sessions, token, now_mono(), s);
}

static bool
csrf_ok(struct mg_connection *c, const struct gw_session *s)
{
	return gw_token_equal(mg_get_header(c, "X-CSRF-Token"), s->csrf);
}

static json_t *
session_json(const struct gw_session *s)
{
	return json_pack("{s:s, s:s, s:s, s:s}", "user", s->user, "name", s->name, "role",
	    web_role_name(s->role), "csrf", s->csrf);
}

/* --- /api --------------------------------------------------------------- */

static int
api_login(struct gw *g, struct mg_connection *c)
{
	size_t len;
	char *body = read_body(c, 4096, &len);
	json_t *req = body ? json_loadb(body, len, 0, NULL) : NULL;
	free(body);
	const char *user = json_string_value(json_object_get(req, "user"));
	const char *password = json_string_value(json_object_get(req, "password"));
	if (!user || !password) {
		json_decref(req);
		return send_error(c, 400, "the user and the password are both needed");
	}
	const char *addr = mg_get_request_info(c)->remote_addr;
	char name[WEB_USER_NAME_MAX + 1];
	snprintf(name, sizeof name, "%s", user);
	double wait;
	if (!gw_throttle_allows(&g->sessions, name, addr, now_mono(), &wait)) {
		json_decref(req);
		log_warn("login of %s from %s refused: too many wrong passwords", name, addr);
		return send_json(c, 429, json_pack("{s:s, s:i}", "error", "too many wrong passwords: "
		    "wait before trying again", "retry_after", (int)wait + 1), NULL);
	}

	struct web_users *users = xcalloc(1, sizeof *users);
	char err[512], why[160];
	bool ok = false;
	struct web_user found = { 0 };
	pthread_mutex_lock(&g->login_lock);
	if (web_users_load(g->users, users, err, sizeof err) < 0) {
		pthread_mutex_unlock(&g->login_lock);
		free(users);
		json_decref(req);
		log_err("%s", err);
		return send_error(c, 503, "the accounts cannot be read: see the gateway's log");
	}
	struct web_user *u = web_user_name_valid(user, why, sizeof why) ?
	    web_users_find(users, user) : NULL;
	if (u) {
		ok = web_user_check_password(u, password);
		found = *u;
	} else {
		/* The same work as for a real user, so that timing does not
		 * say which names exist. */
		struct web_user dummy = { .role = WEB_ROLE_JEWELLER };
		memcpy(dummy.hash, g->dummy_hash, sizeof dummy.hash);
		(void)web_user_check_password(&dummy, password);
	}
	pthread_mutex_unlock(&g->login_lock);
	sodium_memzero(users, sizeof *users);
	free(users);
	json_decref(req);

	if (!ok) {
		gw_throttle_failed(&g->sessions, name, addr, now_mono());
		log_warn("login of %s from %s: wrong user or password", name, addr);
		return send_error(c, 401, "wrong user or password");
	}
	gw_throttle_succeeded(&g->sessions, name, addr);
	struct gw_session s;
	gw_session_new(&g->sessions, found.name, found.display, found.role, now_mono(), &s);
	sodium_memzero(&found, sizeof found);
	char cookie[256];
	snprintf(cookie, sizeof cookie, "Set-Cookie: " COOKIE "=%s; Path=/; HttpOnly; "
	    "SameSite=Strict%s\r\n", s.token, g->tls ? "; Secure" : "");
	log_info("%s (%s) logged in from %s", s.user, web_role_name(s.role), addr);
	int rc = send_json(c, 200, session_json(&s), cookie);
	sodium_memzero(&s, sizeof s);
	return rc;
}

static int
api_logout(struct gw *g, struct mg_connection *c, const struct gw_session *s)
{
	gw_session_end(&g->sessions, s->token);
	return send_json(c, 200, json_object(), "Set-Cookie: " COOKIE "=; Path=/; HttpOnly; "
	    "SameSite=Strict; Max-Age=0\r\n");
}

static bool
method_name_valid(const char *m)
{
	size_t n = m ? strlen(m) : 0;
	if (n == 0 || n > 64)
		return false;
	for (const char *p = m; *p; p++)
		if (!(('a' <= *p && *p <= 'z') || ('0' <= *p && *p <= '9') || *p == '.' || *p == '_'))
			return false;
	/* The gateway's own: who it acts for, and the notification stream. */
	return strcmp(m, "act_as") != 0 && strcmp(m, "watch") != 0;
}

static int
api_rpc(struct gw *g, struct mg_connection *c, const struct gw_session *s)
{
	size_t len;
	char *body = read_body(c, GW_BODY_MAX, &len);
	if (!body)
		return send_error(c, 413, "the request is too large or was cut short");
	json_error_t jerr;
	json_t *req = json_loadb(body, len, 0, &jerr);
	free(body);
	const char *method = json_string_value(json_object_get(req, "method"));
	json_t *params = json_object_get(req, "params");
	if (!req || !method_name_valid(method) ||
	    (params && !json_is_object(params) && !json_is_array(params))) {
		json_decref(req);
		return send_error(c, 400, "a call is {\"method\": name, \"params\": {...}}");
	}
	json_t *call = json_pack("{s:s, s:i, s:s}", "jsonrpc", "2.0", "id", 1, "method", method);
	if (params)
		json_object_set(call, "params", params);
	char *line = json_dumps(call, JSON_COMPACT);
	json_decref(call);
	json_decref(req);

	char *reply = NULL, err[512];
	int rc = gw_rpc_call(g->socket, s->user, line, GW_RPC_TIMEOUT, &reply, err, sizeof err);
	free(line);
	if (rc == -2) {
		/* The account is gone from the file: every session of it ends. */
		log_warn("%s: ending the sessions of %s", err, s->user);
		gw_sessions_end_user(&g->sessions, s->user);
		return send_error(c, 401, "this account no longer exists: log in again");
	}
	if (rc < 0) {
		log_warn("%s", err);
		return send_error(c, 503, err);
	}
	json_t *r = json_loads(reply, 0, NULL);
	free(reply);
	json_t *out = json_object();
	if (r && json_object_get(r, "result"))
		json_object_set(out, "result", json_object_get(r, "result"));
	else if (r && json_object_get(r, "error"))
		json_object_set(out, "error", json_object_get(r, "error"));
	else
		json_object_set_new(out, "error", json_pack("{s:i, s:s}", "code", -32603, "message",
		    "atelierd's answer could not be read"));
	json_decref(r);
	return send_json(c, 200, out, NULL);
}

static int
api_qr(struct gw *g, struct mg_connection *c)
{
	char job[24];
	const char *q = mg_get_request_info(c)->query_string;
	const char *host = mg_get_header(c, "Host");
	if (!q || mg_get_var(q, strlen(q), "job", job, sizeof job) <= 0 ||
	    strspn(job, "0123456789") != strlen(job) || strlen(job) > 18)
		return send_error(c, 400, "job=N is needed");
	if (!host_valid(host))
		return send_error(c, 400, "the Host header is not a host name");
	char url[400], err[256];
	snprintf(url, sizeof url, "%s://%s/job.html?job=%s", g->tls ? "https" : "http", host, job);
	char *svg = gw_qr_svg(url, err, sizeof err);
	if (!svg)
		return send_error(c, 500, err);
	send_body(c, 200, "image/svg+xml", NULL, svg, strlen(svg));
	free(svg);
	return 200;
}

/* --- files -------------------------------------------------------------- */

bool
gw_path_clean(const char *p)
{
	if (!p || p[0] != '/' || strlen(p) > 200)
		return false;
	for (const char *s = p; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == '\\' || *s == 0x7f)
			return false;
	for (const char *seg = p + 1; *seg;) {
		const char *end = strchr(seg, '/');
		size_t n = end ? (size_t)(end - seg) : strlen(seg);
		if ((n == 0 && end) || seg[0] == '.')
			return false;
		if (!end)
			break;
		seg = end + 1;
	}
	return true;
}

static bool
ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int
serve_file(struct gw *g, struct mg_connection *c, const char *uri)
{
	if (!is_method(c, "GET") && !is_method(c, "HEAD"))
		return send_error(c, 405, "only GET and HEAD are served here");
	if (!gw_path_clean(uri))
		return send_page_error(c, 404, "Not found", "There is no such page.");
	const char *rel = strcmp(uri, "/") == 0 ? "/index.html" : uri;
	bool page = ends_with(rel, ".html");
	struct gw_session s;
	if (page && strcmp(rel, "/login.html") != 0 && !session_of(g, c, &s)) {
		const struct mg_request_info *ri = mg_get_request_info(c);
		char next[512], enc[1600], loc[1700];
		snprintf(next, sizeof next, "%s%s%s", uri, ri->query_string ? "?" : "",
		    ri->query_string ? ri->query_string : "");
		mg_url_encode(next, enc, sizeof enc);
		snprintf(loc, sizeof loc, "Location: /login.html?next=%s\r\n", enc);
		send_body(c, 303, "text/plain; charset=utf-8", loc, "log in first\n", 13);
		return 303;
	}
	if (page && strcmp(rel, "/calibration.html") == 0 && s.role != WEB_ROLE_TECHNICIAN)
		return send_page_error(c, 403, "Technicians only",
		    "Calibration is for technicians. Ask a technician of the workshop.");

	char path[PATH_MAX + 256], real[PATH_MAX];
	snprintf(path, sizeof path, "%s%s", g->root, rel);
	struct stat st;
	size_t rl = strlen(g->root);
	if (!realpath(path, real) || strncmp(real, g->root, rl) != 0 || real[rl] != '/' ||
	    stat(real, &st) < 0 || !S_ISREG(st.st_mode))
		return send_page_error(c, 404, "Not found", "There is no such page.");
	mg_send_mime_file2(c, real, NULL, security_headers);
	return 200;
}

/* --- dispatch ----------------------------------------------------------- */

static int
handle(struct mg_connection *c, void *arg)
{
	struct gw *g = arg;
	const struct mg_request_info *ri = mg_get_request_info(c);
	const char *uri = ri->local_uri_raw ? ri->local_uri_raw : ri->local_uri;
	if (!uri)
		return send_error(c, 400, "no path");
	if (strncmp(uri, "/api/", 5) != 0)
		return serve_file(g, c, uri);

	if (!same_origin(g, c, false))
		return send_error(c, 403, "this request comes from another site");
	if (strcmp(uri, "/api/login") == 0) {
		if (!is_method(c, "POST"))
			return send_error(c, 405, "POST the user and the password");
		return api_login(g, c);
	}
	struct gw_session s;
	if (!session_of(g, c, &s))
		return send_error(c, 401, "log in first");
	if (strcmp(uri, "/api/session") == 0 && is_method(c, "GET"))
		return send_json(c, 200, session_json(&s), NULL);
	if (strcmp(uri, "/api/qr.svg") == 0 && is_method(c, "GET"))
		return api_qr(g, c);
	if (!is_method(c, "POST"))
		return send_error(c, 405, "no such resource for this method");
	if (!csrf_ok(c, &s))
		return send_error(c, 403, "the page's CSRF token is missing or wrong: reload the page");
	if (strcmp(uri, "/api/logout") == 0)
		return api_logout(g, c, &s);
	if (strcmp(uri, "/api/rpc") == 0)
		return api_rpc(g, c, &s);
	return send_error(c, 404, "no such resource");
}

/* --- WebSockets ----------------------------------------------------------- */

static int
ws_connect(const struct mg_connection *c, void *arg)
{
	struct gw *g = arg;
	struct gw_session s;
	/* civetweb hands a const connection here; the checks only read it. */
	struct mg_connection *mc = (struct mg_connection *)(uintptr_t)c;
	if (!same_origin(g, mc, true) || !session_of(g, c, &s))
		return 1;
	pthread_mutex_lock(&g->ws_lock);
	bool full = g->n_ws == GW_WS_MAX;
	pthread_mutex_unlock(&g->ws_lock);
	return full ? 1 : 0;
}

static void
ws_ready(struct mg_connection *c, void *arg)
{
	struct gw *g = arg;
	static const char hello[] = "{\"jsonrpc\":\"2.0\",\"method\":\"hello\",\"params\":{}}";
	pthread_mutex_lock(&g->ws_lock);
	if (g->n_ws < GW_WS_MAX)
		g->ws[g->n_ws++] = c;
	mg_websocket_write(c, MG_WEBSOCKET_OPCODE_TEXT, hello, sizeof hello - 1);
	pthread_mutex_unlock(&g->ws_lock);
}

static int
ws_data(struct mg_connection *c, int bits, char *data, size_t len, void *arg)
{
	(void)c;
	(void)data;
	(void)len;
	(void)arg;
	/* Pages only listen; a close frame ends the connection. */
	return (bits & 0x0f) != MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE;
}

static void
ws_close(const struct mg_connection *c, void *arg)
{
	struct gw *g = arg;
	pthread_mutex_lock(&g->ws_lock);
	for (size_t i = 0; i < g->n_ws; i++)
		if (g->ws[i] == c) {
			g->ws[i] = g->ws[--g->n_ws];
			break;
		}
	pthread_mutex_unlock(&g->ws_lock);
}

static void
broadcast(struct gw *g, const char *text, size_t len)
{
	pthread_mutex_lock(&g->ws_lock);
	for (size_t i = 0; i < g->n_ws; i++) {
		mg_lock_connection(g->ws[i]);
		mg_websocket_write(g->ws[i], MG_WEBSOCKET_OPCODE_TEXT, text, len);
		mg_unlock_connection(g->ws[i]);
	}
	pthread_mutex_unlock(&g->ws_lock);
}

/* Relays atelierd's notifications to the pages, reconnecting (and
 * telling the pages) when atelierd goes away. */
static void *
relay(void *arg)
{
	struct gw *g = arg;
	bool told_down = false;
	while (!atomic_load(&g->stopping)) {
		char err[512];
		int fd = gw_rpc_watch(g->socket, err, sizeof err);
		if (fd < 0) {
			if (!told_down) {
				log_warn("%s; trying again every second", err);
				static const char down[] = "{\"jsonrpc\":\"2.0\",\"method\":\"gateway\","
				    "\"params\":{\"atelierd\":false}}";
				broadcast(g, down, sizeof down - 1);
				told_down = true;
			}
			for (int i = 0; i < 10 && !atomic_load(&g->stopping); i++)
				usleep(100000);
			continue;
		}
		if (told_down) {
			static const char up[] = "{\"jsonrpc\":\"2.0\",\"method\":\"gateway\","
			    "\"params\":{\"atelierd\":true}}";
			broadcast(g, up, sizeof up - 1);
			log_info("atelierd answers again");
			told_down = false;
		}
		struct buf in = { 0 };
		char chunk[16384];
		while (!atomic_load(&g->stopping)) {
			struct pollfd p = { .fd = fd, .events = POLLIN };
			int r = poll(&p, 1, 200);
			if (r == 0 || (r < 0 && errno == EINTR))
				continue;
			ssize_t n = r > 0 ? read(fd, chunk, sizeof chunk) : -1;
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			buf_append(&in, chunk, (size_t)n);
			size_t start = 0;
			for (size_t i = 0; i < in.len; i++) {
				if (in.data[i] != '\n')
					continue;
				const char *line = in.data + start;
				size_t len = i - start;
				/* The answer to `watch` has an id; notifications do not. */
				if (len && !memmem(line, len < 64 ? len : 64, "\"id\"", 4))
					broadcast(g, line, len);
				start = i + 1;
			}
			buf_consume(&in, start);
		}
		buf_free(&in);
		close(fd);
	}
	return NULL;
}

/* --- start and stop -------------------------------------------------------- */

static int
log_message(const struct mg_connection *c, const char *message)
{
	(void)c;
	log_warn("http: %s", message);
	return 1;
}

static int
init_tls(void *ssl_ctx, void *arg)
{
	struct gw *g = arg;
	SSL_CTX *ctx = ssl_ctx;
	if (SSL_CTX_use_certificate_chain_file(ctx, g->certificate) != 1) {
		log_err("web.certificate %s does not load (a PEM certificate is needed)",
		    g->certificate);
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, g->key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		log_err("web.key %s does not load or is not the certificate's key", g->key);
		return -1;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	return 1;
}

size_t
gw_websockets(struct gw *g)
{
	pthread_mutex_lock(&g->ws_lock);
	size_t n = g->n_ws;
	pthread_mutex_unlock(&g->ws_lock);
	return n;
}

static void
gw_free(struct gw *g)
{
	free(g->socket);
	free(g->users);
	free(g->certificate);
	free(g->key);
	gw_sessions_destroy(&g->sessions);
	pthread_mutex_destroy(&g->login_lock);
	pthread_mutex_destroy(&g->ws_lock);
	free(g);
}

struct gw *
gw_start(const struct gw_options *o, char *err, size_t errlen)
{
	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium does not start");
		return NULL;
	}
	struct gw *g = xcalloc(1, sizeof *g);
	gw_sessions_init(&g->sessions, o->session_hours * 3600);
	pthread_mutex_init(&g->login_lock, NULL);
	pthread_mutex_init(&g->ws_lock, NULL);
	g->socket = xstrdup(o->socket);
	g->users = xstrdup(o->users);
	g->tls = o->certificate && o->key;
	g->certificate = o->certificate ? xstrdup(o->certificate) : NULL;
	g->key = o->key ? xstrdup(o->key) : NULL;
	struct stat st;
	if (!realpath(o->root, g->root) || stat(g->root, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "the web root %s is not a folder: %s", o->root, strerror(errno));
		gw_free(g);
		return NULL;
	}
	/* A hash to check unknown users against; its password is random. */
	struct web_user dummy = { 0 };
	char pw[GW_TOKEN_HEX + 1];
	gw_token_make(pw);
	if (web_user_set_password(&dummy, pw, err, errlen) < 0) {
		gw_free(g);
		return NULL;
	}
	memcpy(g->dummy_hash, dummy.hash, sizeof g->dummy_hash);

	char ports[300], threads[16];
	snprintf(ports, sizeof ports, strchr(o->listen, ':') ? "[%s]:%d%s" : "%s:%d%s", o->listen,
	    o->port, g->tls ? "s" : "");
	snprintf(threads, sizeof threads, "%d", o->threads);
	const char *opts[] = {
		"listening_ports", ports,
		"num_threads", threads,
		"enable_directory_listing", "no",
		"request_timeout_ms", "30000",
		"websocket_timeout_ms", "3600000",
		"enable_keep_alive", "yes",
		/* Pages are checked for a newer copy each time (ETag), so that
		 * an upgrade shows at the next load. */
		"static_file_max_age", "0",
		NULL, NULL, NULL,
	};
	if (g->tls) {
		opts[14] = "ssl_protocol_version";
		opts[15] = "4";         /* TLS 1.2 and later */
	}
	mg_init_library(g->tls ? MG_FEATURES_SSL : 0);
	struct mg_callbacks cb = { .log_message = log_message };
	if (g->tls)
		cb.init_ssl = init_tls;
	struct mg_init_data init = { .callbacks = &cb, .user_data = g,
		.configuration_options = opts };
	struct mg_error_data e = { .text = err, .text_buffer_size = errlen };
	g->ctx = mg_start2(&init, &e);
	if (!g->ctx) {
		mg_exit_library();
		gw_free(g);
		return NULL;
	}
	mg_set_request_handler(g->ctx, "/", handle, g);
	mg_set_websocket_handler(g->ctx, "/ws", ws_connect, ws_ready, ws_data, ws_close, g);
	if (pthread_create(&g->relay, NULL, relay, g) != 0) {
		snprintf(err, errlen, "no thread for atelierd's notifications");
		mg_stop(g->ctx);
		mg_exit_library();
		gw_free(g);
		return NULL;
	}
	return g;
}

void
gw_stop(struct gw *g)
{
	if (!g)
		return;
	atomic_store(&g->stopping, 1);
	pthread_join(g->relay, NULL);
	mg_stop(g->ctx);
	mg_exit_library();
	gw_free(g);
}
