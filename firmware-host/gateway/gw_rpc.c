/*
 * atelier-web's calls to atelierd. Each HTTP request gets a connection of
 * its own to the API socket, on which the gateway first says for whom it
 * acts (`act_as`): atelierd then applies that person's role, not the
 * gateway's, and names them in the audit trail. A connection per request
 * costs a few microseconds on a Unix socket and means no request waits
 * behind another's (an export, a heavy preview) and no identity is ever
 * carried over from one user to the next.
 */
#include "gateway/gw.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util.h"

static int
connect_api(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof sa.sun_path) {
		snprintf(err, errlen, "the socket path %s is too long", path);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		snprintf(err, errlen, "atelierd does not answer on %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Reads until count lines have come (count <= 2), into lines[]. */
static int
read_lines(int fd, int count, double deadline, char **lines, char *err, size_t errlen)
{
	struct buf in = { 0 };
	char chunk[16384];
	int seen = 0;
	size_t start = 0, scanned = 0;
	for (;;) {
		for (; scanned < in.len; scanned++)
			if (in.data[scanned] == '\n') {
				lines[seen++] = xstrndup(in.data + start, scanned - start);
				start = scanned + 1;
				if (seen == count) {
					buf_free(&in);
					return 0;
				}
			}
		double left = deadline - now_mono();
		if (left <= 0) {
			snprintf(err, errlen, "atelierd did not answer in time");
			break;
		}
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, (int)(left * 1000) + 1);
		if (r <= 0)
			continue;
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "atelierd closed the connection");
			break;
		}
		buf_append(&in, chunk, (size_t)n);
	}
	while (seen > 0)
		free(lines[--seen]);
	buf_free(&in);
	return -1;
}

int
gw_rpc_call(const char *socket_path, const char *user, const char *request, double timeout,
    char **reply, char *err, size_t errlen)
{
	*reply = NULL;
	int fd = connect_api(socket_path, err, errlen);
	if (fd < 0)
		return -1;
	double deadline = now_mono() + timeout;
	char *act = NULL;
	int rc = -1;
	if (user) {
		json_t *a = json_pack("{s:s, s:i, s:s, s:{s:s}}", "jsonrpc", "2.0", "id", 0,
		    "method", "act_as", "params", "user", user);
		act = json_dumps(a, JSON_COMPACT);
		json_decref(a);
	}
	/* Both lines at once: atelierd answers them in order. */
	struct buf out = { 0 };
	if (act) {
		buf_append(&out, act, strlen(act));
		buf_append(&out, "\n", 1);
	}
	buf_append(&out, request, strlen(request));
	buf_append(&out, "\n", 1);
	if (write_all(fd, out.data, out.len) < 0) {
		snprintf(err, errlen, "atelierd closed the connection: %s", strerror(errno));
		goto out;
	}
	char *lines[2] = { NULL, NULL };
	if (read_lines(fd, act ? 2 : 1, deadline, lines, err, errlen) < 0)
		goto out;
	if (act) {
		json_t *r = json_loads(lines[0], 0, NULL);
		json_t *e = r ? json_object_get(r, "error") : NULL;
		bool acting = r && json_object_get(r, "result");
		const char *m = json_string_value(json_object_get(e, "message"));
		if (!acting)
			snprintf(err, errlen, "atelierd does not let the gateway act for %s: %s", user,
			    m ? m : "no answer");
		json_decref(r);
		free(lines[0]);
		if (!acting) {
			free(lines[1]);
			rc = -2;
			goto out;
		}
		lines[0] = lines[1];
	}
	*reply = lines[0];
	rc = 0;
out:
	buf_free(&out);
	free(act);
	close(fd);
	return rc;
}

int
gw_rpc_watch(const char *socket_path, char *err, size_t errlen)
{
	int fd = connect_api(socket_path, err, errlen);
	if (fd < 0)
		return -1;
	/* The answer, {"watching": true}, comes back on the descriptor with
	 * the notifications after it: the reader skips it. */
	static const char req[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"watch\"}\n";
	if (write_all(fd, req, sizeof req - 1) < 0) {
		snprintf(err, errlen, "atelierd closed the connection: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}
