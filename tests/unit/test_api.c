/*
 * The JSON-RPC framing and dispatch of the daemon's API: replies to good
 * and bad requests with their stable codes, roles, notifications, and the
 * limits that keep one bad client from disturbing the others.
 */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api.h"
#include "test.h"

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

static const struct api_method methods[] = {
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
	CHECK(mkdtemp(tmpl) != NULL);
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
	RUN(t_good_request);
	RUN(t_bad_requests);
	RUN(t_roles_and_errors);
	RUN(t_socket_limits_and_notifications);
	RUN(t_role_resolution);
	return test_summary();
}
