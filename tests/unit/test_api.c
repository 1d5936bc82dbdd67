/*
 * The JSON-RPC framing and dispatch of the daemon's API: replies to good
 * and bad requests with their stable codes, roles, notifications, and the
 * limits that keep one bad client from disturbing the others.
 */
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/api.h"
#include "test.h"
#include "util.h"

static json_t *
m_echo(struct api_call *call, void *arg)
{
	(void)arg;
	return json_pack("{s:O?}", "params", call->params);
}

static json_t *
m_refuse(struct api_call *call, void *arg)
{
	(void)arg;
	return api_fail(call, API_ERR_REFUSED, "ultrasonic cleaning refused: pearl");
}

static json_t *
m_watch(struct api_call *call, void *arg)
{
	(void)arg;
	api_client_subscribe(call->client, true);
	return json_true();
}

static int notified_calls;
static json_t *
m_note(struct api_call *call, void *arg)
{
	(void)call;
	(void)arg;
	notified_calls++;
	return json_true();
}

/* A reply of 64 KiB: a few fill a socket's buffer. */
static int big_calls;
static json_t *
m_big(struct api_call *call, void *arg)
{
	(void)call;
	(void)arg;
	big_calls++;
	static char text[65536];
	memset(text, 'x', sizeof text - 1);
	return json_string(text);
}

/* Answers later, when the test says so. */
static struct api_pending *later;
static json_t *
m_later(struct api_call *call, void *arg)
{
	(void)arg;
	later = api_defer(call);
	return NULL;
}

/* Defers, then finds it must refuse (or answer) before returning, as
 * laser.stream does when the laser cannot take the program: the answer
 * is the handler's own, at once. */
static json_t *
m_defer_then_answer(struct api_call *call, void *arg)
{
	struct api_pending *p = api_defer(call);
	if (arg)
		api_pending_result(p, json_pack("{s:b}", "early", 1));
	else
		api_pending_fail(p, API_ERR_BUSY, "the laser is busy");
	return NULL;
}

static const struct api_method methods[] = {
	{ "refused_late", API_ROLE_NONE, m_defer_then_answer, NULL, "defers, then refuses" },
	{ "answered_early", API_ROLE_NONE, m_defer_then_answer, "", "defers, then answers" },
	{ "big", API_ROLE_NONE, m_big, NULL, "a large reply" },
	{ "later", API_ROLE_NONE, m_later, NULL, "answered later" },
	{ "echo", API_ROLE_NONE, m_echo, NULL, "echo the params" },
	{ "refuse", API_ROLE_JEWELLER, m_refuse, NULL, "always refused" },
	{ "estop.reset", API_ROLE_TECHNICIAN, m_echo, NULL, "technician only" },
	{ "watch", API_ROLE_NONE, m_watch, NULL, "subscribe" },
	{ "note", API_ROLE_NONE, m_note, NULL, "counts calls" },
};

static struct api *
new_api(size_t max_request, size_t max_backlog)
{
	struct api_limits lim = { .max_request = max_request, .max_backlog = max_backlog,
		.max_clients = 8 };
	return api_new(&lim, methods, sizeof methods / sizeof methods[0], NULL, NULL);
}

/* Runs one request through the dispatch core; returns the reply line. */
static char *
call(struct api *api, enum api_role role, const char *line)
{
	static char reply[1024];
	struct buf out;
	struct api_call ctx = { .api = api, .role = role };
	buf_init(&out);
	api_handle_line(api, &ctx, line, strlen(line), &out);
	snprintf(reply, sizeof reply, "%s", out.data ? out.data : "");
	buf_free(&out);
	return reply;
}

static void
t_deferred_answer_within_the_handler(void)
{
	struct api *api = new_api(0, 0);
	CHECK_STR(call(api, API_ROLE_JEWELLER,
	    "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"refused_late\"}"),
	    "{\"jsonrpc\":\"2.0\",\"id\":3,\"error\":{\"code\":1005,\"message\":"
	    "\"the laser is busy\"}}\n");
	CHECK_STR(call(api, API_ROLE_JEWELLER,
	    "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"answered_early\"}"),
	    "{\"jsonrpc\":\"2.0\",\"id\":4,\"result\":{\"early\":true}}\n");
	api_free(api);
}

static void
t_good_request(void)
{
	struct api *api = new_api(0, 0);
	CHECK_STR(call(api, API_ROLE_JEWELLER,
	    "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"echo\",\"params\":{\"a\":1}}"),
	    "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"params\":{\"a\":1}}}\n");
	CHECK_STR(call(api, API_ROLE_JEWELLER,
	    "{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"echo\"}"),
	    "{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"result\":{\"params\":null}}\n");
	api_free(api);
}

static void
t_bad_requests(void)
{
	struct api *api = new_api(0, 0);
	CHECK_CONTAINS(call(api, API_ROLE_JEWELLER, "{\"jsonrpc\":"), "\"code\":-32700");
	CHECK_CONTAINS(call(api, API_ROLE_JEWELLER, "{\"jsonrpc\":"), "not valid JSON");
	CHECK_CONTAINS(call(api, API_ROLE_JEWELLER, "[1,2]"), "\"code\":-32600");
	CHECK_CONTAINS(call(api, API_ROLE_JEWELLER, "{\"id\":1,\"method\":\"echo\"}"),
	    "needs \\\"jsonrpc\\\":\\\"2.0\\\"");
	CHECK_CONTAINS(call(api, API_ROLE_JEWELLER,
	    "{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"echo\"}"), "id must be");
	CHECK_CONTAINS(call(api, API_ROLE_JEWELLER,
	    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"nope\"}"),
	    "{\"code\":-32601,\"message\":\"there is no method 'nope'\"}");
	CHECK_CONTAINS(call(api, API_ROLE_JEWELLER,
	    "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"echo\",\"params\":5}"), "\"code\":-32602");
	CHECK_CONTAINS(call(api, API_ROLE_JEWELLER,
	    "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"echo\",\"id\":5}"), "\"code\":-32700");
	/* Blank lines are ignored, not answered. */
	CHECK_STR(call(api, API_ROLE_JEWELLER, "  \r"), "");
	api_free(api);
}

static void
t_roles_and_errors(void)
{
	struct api *api = new_api(0, 0);
	CHECK_CONTAINS(call(api, API_ROLE_JEWELLER,
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"estop.reset\"}"),
	    "{\"code\":1001,\"message\":\"'estop.reset' is for the technician role; you are jeweller\"}");
	CHECK_CONTAINS(call(api, API_ROLE_NONE,
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"refuse\"}"),
	    "you are not a member of any Atelier group");
	CHECK_CONTAINS(call(api, API_ROLE_TECHNICIAN,
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"estop.reset\"}"), "\"result\"");
	CHECK_CONTAINS(call(api, API_ROLE_JEWELLER,
	    "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"refuse\"}"),
	    "{\"code\":1002,\"message\":\"ultrasonic cleaning refused: pearl\"}");
	/* A notification runs but is never answered. */
	notified_calls = 0;
	CHECK_STR(call(api, API_ROLE_JEWELLER, "{\"jsonrpc\":\"2.0\",\"method\":\"note\"}"), "");
	CHECK_INT(notified_calls, 1);
	api_free(api);
}

static int
read_reply(int fd, char *out, size_t len)
{
	size_t n = 0;
	while (n + 1 < len) {
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, 5000) <= 0)
			break;
		ssize_t r = read(fd, out + n, 1);
		if (r <= 0)
			break;
		if (out[n++] == '\n')
			break;
	}
	out[n] = '\0';
	return (int)n;
}

static void
pump(struct loop *l, int rounds)
{
	for (int i = 0; i < rounds; i++)
		loop_run_once(l, 0.01);
}

static void
t_socket_limits_and_notifications(void)
{
	struct loop *l = loop_new();
	struct api *api = new_api(64, 4096);
	char tmpl[] = "/tmp/atelier-api-XXXXXX";
	CHECK(test_mkdtemp(tmpl) != NULL);
	char path[128];
	snprintf(path, sizeof path, "%s/api.sock", tmpl);
	CHECK_INT(api_listen(api, l, path, 0660, NULL), 0);
	struct stat st;
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0660);

	int fds[3];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, path);
	for (int i = 0; i < 3; i++) {
		fds[i] = socket(AF_UNIX, SOCK_STREAM, 0);
		CHECK(connect(fds[i], (struct sockaddr *)&sa, sizeof sa) == 0);
	}
	pump(l, 5);
	CHECK_INT(api_client_count(api), 3);

	/* Client 0 subscribes; client 1 never reads; client 2 is hostile. */
	char line[512];
	const char *w = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"watch\"}\n";
	CHECK(write(fds[0], w, strlen(w)) == (ssize_t)strlen(w));
	CHECK(write(fds[1], w, strlen(w)) == (ssize_t)strlen(w));
	pump(l, 5);
	CHECK(read_reply(fds[0], line, sizeof line) > 0);
	CHECK_STR(line, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":true}\n");

	char big[200];
	memset(big, 'x', sizeof big);
	CHECK(write(fds[2], big, sizeof big) == (ssize_t)sizeof big);
	pump(l, 5);
	CHECK(read_reply(fds[2], line, sizeof line) > 0);
	CHECK_CONTAINS(line, "the request is longer than 64 bytes");
	pump(l, 5);
	CHECK(read_reply(fds[2], line, sizeof line) == 0);  /* closed */

	/* Flood events: the reader keeps up, the non-reader is cut off at its
	 * backlog without stalling anyone. */
	int got = 0;
	for (int i = 0; i < 2000 && api_client_count(api) > 1; i++) {
		api_notify(api, "station", json_pack("{s:i}", "seq", i));
		pump(l, 1);
		while (read_reply(fds[0], line, sizeof line) > 0) {
			got++;
			struct pollfd p = { fds[0], POLLIN, 0 };
			if (poll(&p, 1, 0) <= 0)
				break;
		}
	}
	CHECK_INT(api_client_count(api), 1);
	CHECK(got > 0);
	CHECK_CONTAINS(line, "\"method\":\"station\"");

	for (int i = 0; i < 3; i++)
		close(fds[i]);
	pump(l, 5);
	CHECK_INT(api_client_count(api), 0);
	api_free(api);
	CHECK(stat(path, &st) < 0);
	rmdir(tmpl);
	loop_free(l);
}

/* A listening API on a fresh socket, with clients connected to it. */
struct rig {
	struct loop *l;
	struct api *api;
	char dir[64], path[100];
};

static void
rig_up(struct rig *r, const struct api_limits *lim)
{
	r->l = loop_new();
	r->api = api_new(lim, methods, sizeof methods / sizeof methods[0], NULL, NULL);
	snprintf(r->dir, sizeof r->dir, "/tmp/atelier-api-XXXXXX");
	CHECK(test_mkdtemp(r->dir) != NULL);
	snprintf(r->path, sizeof r->path, "%s/api.sock", r->dir);
	CHECK_INT(api_listen(r->api, r->l, r->path, 0600, NULL), 0);
}

static int
rig_connect(struct rig *r)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", r->path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
	pump(r->l, 2);
	return fd;
}

static void
rig_down(struct rig *r)
{
	api_free(r->api);
	rmdir(r->dir);
	loop_free(r->l);
}

static void
send_lines(int fd, const char *line, int n)
{
	for (int i = 0; i < n; i++)
		CHECK(write(fd, line, strlen(line)) == (ssize_t)strlen(line));
}

/* Reads whatever is there now; returns the number of lines. */
static int
drain_lines(int fd)
{
	char tmp[65536];
	int lines = 0;
	struct pollfd p = { fd, POLLIN, 0 };
	while (poll(&p, 1, 0) > 0) {
		ssize_t n = read(fd, tmp, sizeof tmp);
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			lines += tmp[i] == '\n';
	}
	return lines;
}

/* A client that does not read is not read either: once its socket is
 * full of replies, its further requests wait in its own buffers. */
static void
t_non_reader_is_not_read(void)
{
	struct api_limits lim = { .max_clients = 4 };
	struct rig r;
	rig_up(&r, &lim);
	int fd = rig_connect(&r);
	big_calls = 0;
	const char *req = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"big\"}\n";
	for (int i = 0; i < 200; i++) {
		send_lines(fd, req, 1);
		pump(r.l, 1);
	}
	pump(r.l, 50);
	/* A few 64 KiB replies fill the socket; then nothing more is taken. */
	int served = big_calls;
	CHECK(served < 40);
	pump(r.l, 50);
	CHECK_INT(big_calls, served);
	/* Reading, it gets every answer, in order. */
	int got = 0;
	for (int i = 0; i < 4000 && got < 200; i++) {
		got += drain_lines(fd);
		pump(r.l, 1);
	}
	CHECK_INT(got, 200);
	CHECK_INT(big_calls, 200);
	close(fd);
	pump(r.l, 2);
	rig_down(&r);
}

/* One turn serves a few requests of a busy client and the request of a
 * quiet one: the quiet client does not wait for the busy one's queue. */
static void
t_turns_are_fair(void)
{
	struct api_limits lim = { .max_clients = 4 };
	struct rig r;
	rig_up(&r, &lim);
	int busy = rig_connect(&r), quiet = rig_connect(&r);
	notified_calls = 0;
	send_lines(busy, "{\"jsonrpc\":\"2.0\",\"method\":\"note\"}\n", 100);
	send_lines(quiet, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"echo\"}\n", 1);
	loop_run_once(r.l, 0.5);
	loop_run_once(r.l, 0.5);
	char line[512];
	CHECK(read_reply(quiet, line, sizeof line) > 0);
	CHECK_CONTAINS(line, "\"id\":5");
	CHECK(notified_calls <= 2 * API_PER_TURN);
	/* The busy one gets the rest over the next turns. */
	pump(r.l, 100);
	CHECK_INT(notified_calls, 100);
	close(busy);
	close(quiet);
	pump(r.l, 2);
	rig_down(&r);
}

/* A deferred call holds that client's later requests until it is
 * answered, so replies keep their order; other clients go on. */
static void
t_deferred_answers_keep_order(void)
{
	struct api_limits lim = { .max_clients = 4 };
	struct rig r;
	rig_up(&r, &lim);
	int a = rig_connect(&r), b = rig_connect(&r);
	later = NULL;
	send_lines(a, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"later\"}\n", 1);
	send_lines(a, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"echo\"}\n", 1);
	send_lines(b, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"echo\"}\n", 1);
	pump(r.l, 10);
	CHECK(later != NULL);
	char line[512];
	CHECK(read_reply(b, line, sizeof line) > 0);
	CHECK_CONTAINS(line, "\"id\":3");
	struct pollfd p = { a, POLLIN, 0 };
	CHECK_INT(poll(&p, 1, 0), 0);
	CHECK(api_pending_alive(later));
	api_pending_result(later, json_pack("{s:s}", "done", "later"));
	pump(r.l, 10);
	CHECK(read_reply(a, line, sizeof line) > 0);
	CHECK_STR(line, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"done\":\"later\"}}\n");
	CHECK(read_reply(a, line, sizeof line) > 0);
	CHECK_CONTAINS(line, "\"id\":2");
	/* A client gone before its answer: the answer is dropped. */
	later = NULL;
	send_lines(b, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"later\"}\n", 1);
	pump(r.l, 10);
	CHECK(later != NULL);
	close(b);
	pump(r.l, 10);
	if (later) {
		CHECK(!api_pending_alive(later));
		api_pending_fail(later, API_ERR_BUSY, "%s", "too late");
	}
	pump(r.l, 2);
	CHECK_INT(api_client_count(r.api), 1);
	close(a);
	pump(r.l, 2);
	rig_down(&r);
}

/* A reply over the limit is an error that says its size; a reply under
 * it, however large, arrives whole. */
static void
t_reply_limit(void)
{
	struct api_limits lim = { .max_clients = 4, .max_reply = 100000 };
	struct api *api = api_new(&lim, methods, sizeof methods / sizeof methods[0], NULL, NULL);
	struct buf out;
	buf_init(&out);
	struct api_call ctx = { .api = api, .role = API_ROLE_NONE };
	const char *req = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"big\"}";
	api_handle_line(api, &ctx, req, strlen(req), &out);
	CHECK(out.len > 65536);
	CHECK_CONTAINS(out.data, "\"result\":\"xxx");
	api_free(api);
	buf_reset(&out);
	lim.max_reply = 1000;
	api = api_new(&lim, methods, sizeof methods / sizeof methods[0], NULL, NULL);
	api_handle_line(api, &ctx, req, strlen(req), &out);
	buf_append(&out, "", 1);
	CHECK_CONTAINS(out.data, "\"code\":1007");
	CHECK_CONTAINS(out.data, "the reply would be 655");
	CHECK_CONTAINS(out.data, "over the limit of 1000");
	buf_free(&out);
	api_free(api);
}

/* What a client sent before hanging up still runs (a stop must stop),
 * though nobody is there to answer. */
static void
t_hang_up_still_runs(void)
{
	struct api_limits lim = { .max_clients = 4 };
	struct rig r;
	rig_up(&r, &lim);
	int fd = rig_connect(&r);
	notified_calls = 0;
	send_lines(fd, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"note\"}\n", 10);
	close(fd);
	pump(r.l, 20);
	CHECK_INT(notified_calls, 10);
	CHECK_INT(api_client_count(r.api), 0);
	rig_down(&r);
}

/* Output left unread longer than the stall limit: the client is cut. */
static void
t_stalled_client_cut(void)
{
	struct api_limits lim = { .max_clients = 4, .stall = 0.3 };
	struct rig r;
	rig_up(&r, &lim);
	int fd = rig_connect(&r);
	send_lines(fd, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"big\"}\n", 20);
	double end = now_mono() + 5;
	while (api_client_count(r.api) > 0 && now_mono() < end)
		loop_run_once(r.l, 0.05);
	CHECK_INT(api_client_count(r.api), 0);
	close(fd);
	rig_down(&r);
}

/* Connections that hold a slot without using it are closed: no whole
 * request soon after connecting, a request trickled byte by byte, or no
 * request for long without watching events. */
static void
t_idle_connections_closed(void)
{
	struct api_limits lim = { .max_clients = 8, .first_request = 0.3, .request_time = 0.5,
		.idle = 0.6 };
	struct rig r;
	rig_up(&r, &lim);
	int silent = rig_connect(&r), trickle = rig_connect(&r), idle = rig_connect(&r),
	    watcher = rig_connect(&r);
	send_lines(idle, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\"}\n", 1);
	send_lines(watcher, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"watch\"}\n", 1);
	const char *req = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\"}\n";
	size_t sent = 0;
	double start = now_mono();
	/* The trickler keeps sending, one byte every 50 ms, never finishing
	 * its line within 0.5 s. */
	bool all_there = false;
	while (now_mono() - start < 2.0) {
		if (sent < strlen(req) - 1 && write(trickle, req + sent, 1) == 1)
			sent++;
		usleep(50000);
		pump(r.l, 2);
		if (now_mono() - start < 0.2)
			all_there = api_client_count(r.api) == 4;
	}
	CHECK(all_there);
	/* Only the watcher is left. */
	CHECK_INT(api_client_count(r.api), 1);
	char line[512];
	CHECK(read_reply(watcher, line, sizeof line) > 0);
	CHECK_CONTAINS(line, "\"result\":true");
	close(silent);
	close(trickle);
	close(idle);
	close(watcher);
	pump(r.l, 2);
	rig_down(&r);
}

/* One account holds at most max_per_user connections; the last
 * technician_slots are a technician's. */
static enum api_role next_role = API_ROLE_JEWELLER;
static enum api_role
role_of(uid_t uid, gid_t gid, void *arg)
{
	(void)uid;
	(void)gid;
	(void)arg;
	return next_role;
}

static void
rig_up_roles(struct rig *r, const struct api_limits *lim)
{
	r->l = loop_new();
	r->api = api_new(lim, methods, sizeof methods / sizeof methods[0], role_of, NULL);
	snprintf(r->dir, sizeof r->dir, "/tmp/atelier-api-XXXXXX");
	CHECK(test_mkdtemp(r->dir) != NULL);
	snprintf(r->path, sizeof r->path, "%s/api.sock", r->dir);
	CHECK_INT(api_listen(r->api, r->l, r->path, 0600, NULL), 0);
}

static void
t_connections_per_user(void)
{
	struct api_limits lim = { .max_clients = 6, .max_per_user = 4 };
	struct rig r;
	rig_up_roles(&r, &lim);
	next_role = API_ROLE_JEWELLER;
	int fds[5];
	for (int i = 0; i < 5; i++)
		fds[i] = rig_connect(&r);
	/* Every connection here is the test's own account. */
	CHECK_INT(api_client_count(r.api), 4);
	char line[512];
	CHECK(read_reply(fds[4], line, sizeof line) > 0);
	CHECK_CONTAINS(line, "this account has 4 connections open already");
	for (int i = 0; i < 5; i++)
		close(fds[i]);
	pump(r.l, 2);
	rig_down(&r);
}

static void
t_slots_kept_for_technicians(void)
{
	struct api_limits lim = { .max_clients = 6, .technician_slots = 2 };
	struct rig r;
	rig_up_roles(&r, &lim);
	int fds[7];
	char line[512];
	next_role = API_ROLE_JEWELLER;
	for (int i = 0; i < 5; i++)
		fds[i] = rig_connect(&r);
	CHECK_INT(api_client_count(r.api), 4);
	CHECK(read_reply(fds[4], line, sizeof line) > 0);
	CHECK_CONTAINS(line, "too many clients are connected (4 of 6, the rest kept for technicians)");
	next_role = API_ROLE_TECHNICIAN;
	fds[4] = rig_connect(&r);
	fds[5] = rig_connect(&r);
	CHECK_INT(api_client_count(r.api), 6);
	send_lines(fds[5], "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"estop.reset\"}\n", 1);
	pump(r.l, 5);
	CHECK(read_reply(fds[5], line, sizeof line) > 0);
	CHECK_CONTAINS(line, "\"id\":9,\"result\"");
	fds[6] = rig_connect(&r);
	CHECK(read_reply(fds[6], line, sizeof line) > 0);
	CHECK_CONTAINS(line, "too many clients are connected (6 of 6)");
	for (int i = 0; i < 7; i++)
		close(fds[i]);
	pump(r.l, 2);
	rig_down(&r);
}

static void
t_role_resolution(void)
{
	struct api_groups g = { NULL, NULL };
	CHECK_INT(api_role_from_groups(0, 0, &g), API_ROLE_TECHNICIAN);
	/* A uid that is neither root, us, nor in any configured group. */
	CHECK_INT(api_role_from_groups(54321, 54321, &g), API_ROLE_NONE);
	CHECK_STR(api_role_name(API_ROLE_JEWELLER), "jeweller");
}

int
main(void)
{
	/* Writes to connections the API has closed must fail, not kill. */
	signal(SIGPIPE, SIG_IGN);
	RUN(t_good_request);
	RUN(t_deferred_answer_within_the_handler);
	RUN(t_bad_requests);
	RUN(t_roles_and_errors);
	RUN(t_socket_limits_and_notifications);
	RUN(t_non_reader_is_not_read);
	RUN(t_turns_are_fair);
	RUN(t_deferred_answers_keep_order);
	RUN(t_reply_limit);
	RUN(t_hang_up_still_runs);
	RUN(t_stalled_client_cut);
	RUN(t_idle_connections_closed);
	RUN(t_connections_per_user);
	RUN(t_slots_kept_for_technicians);
	RUN(t_role_resolution);
	return test_summary();
}
