/*
 * The web bench's accounts file (web_users.h): parsing with the line of
 * every problem, Argon2id hashing through libsodium, and the locked,
 * all-or-nothing rewrite that `atelierctl user` uses.
 */
#include "web/web_users.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

static const char *const role_names[] = { "jeweller", "technician" };

int
web_role_lookup(const char *name)
{
	for (size_t i = 0; name && i < ARRAY_LEN(role_names); i++)
		if (strcmp(name, role_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *
web_role_name(enum web_role role)
{
	return (unsigned)role < ARRAY_LEN(role_names) ? role_names[role] : "?";
}

bool
web_user_name_valid(const char *name, char *why, size_t len)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > WEB_USER_NAME_MAX || name[0] < 'a' || name[0] > 'z') {
		snprintf(why, len, "a user name is 1 to %d characters, starting with a letter a-z",
		    WEB_USER_NAME_MAX);
		return false;
	}
	for (const char *c = name; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '.' ||
		    *c == '_' || *c == '-')) {
			snprintf(why, len, "a user name holds only a-z, 0-9, '.', '_' and '-', not '%c'",
			    *c);
			return false;
		}
	return true;
}

/* Well-formed UTF-8 without control characters (tabs and newlines would
 * break the file's lines). */
static bool
printable_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		size_t k = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2 :
		    (*p & 0xf8) == 0xf0 ? 3 : 4;
		if (k == 4 || (k == 1 && *p < 0xc2))
			return false;
		if (k == 0 && (*p < 0x20 || *p == 0x7f))
			return false;
		for (size_t i = 1; i <= k; i++)
			if ((p[i] & 0xc0) != 0x80)
				return false;
		p += k + 1;
	}
	return true;
}

bool
web_user_display_valid(const char *display, char *why, size_t len)
{
	if (!display || !*display || strlen(display) > WEB_USER_DISPLAY_MAX ||
	    !printable_utf8(display)) {
		snprintf(why, len, "a display name is 1 to %d bytes of UTF-8 text without control "
		    "characters", WEB_USER_DISPLAY_MAX);
		return false;
	}
	return true;
}

/* One line's fields, split at tabs in place; returns how many. */
static int
split_tabs(char *line, char **f, int max)
{
	int n = 0;
	f[n++] = line;
	for (char *c = line; *c && n < max + 1; c++)
		if (*c == '\t') {
			*c = '\0';
			if (n == max)
				return max + 1;
			f[n++] = c + 1;
		}
	return n;
}

int
web_users_parse(const char *name, const char *text, size_t len, struct web_users *out,
    char *err, size_t errlen)
{
	char why[160];
	out->n = 0;
	if (memchr(text, '\0', len))
		return fail_msg(err, errlen, "%s: contains NUL bytes: not a users file", name);
	size_t no = 0;
	for (size_t at = 0; at < len;) {
		const char *eol = memchr(text + at, '\n', len - at);
		size_t n = eol ? (size_t)(eol - (text + at)) : len - at;
		no++;
		char *line = xstrndup(text + at, n);
		at += n + (eol ? 1 : 0);
		if (!*line || line[0] == '#') {
			free(line);
			continue;
		}
		char *f[4];
		int nf = split_tabs(line, f, 4);
		int rc = 0;
		if (nf != 4)
			rc = fail_msg(err, errlen, "%s:%zu: a user's line has 4 fields separated by tabs "
			    "(name, role, hash, display name), not %d", name, no, nf);
		else if (!web_user_name_valid(f[0], why, sizeof why))
			rc = fail_msg(err, errlen, "%s:%zu: '%.40s': %s", name, no, f[0], why);
		else if (web_role_lookup(f[1]) < 0)
			rc = fail_msg(err, errlen, "%s:%zu: role '%.20s' is not jeweller or technician",
			    name, no, f[1]);
		else if (strncmp(f[2], "$argon2id$", 10) != 0 ||
		    strlen(f[2]) >= sizeof out->u[0].hash)
			rc = fail_msg(err, errlen, "%s:%zu: the password of '%s' is not an Argon2id hash "
			    "(set it with atelierctl user passwd)", name, no, f[0]);
		else if (!web_user_display_valid(f[3], why, sizeof why))
			rc = fail_msg(err, errlen, "%s:%zu: %s", name, no, why);
		else if (web_users_find(out, f[0]))
			rc = fail_msg(err, errlen, "%s:%zu: user '%s' appears twice", name, no, f[0]);
		else if (out->n == WEB_USERS_MAX)
			rc = fail_msg(err, errlen, "%s:%zu: more than %d users", name, no, WEB_USERS_MAX);
		if (rc == 0) {
			struct web_user *u = &out->u[out->n++];
			memset(u, 0, sizeof *u);
			snprintf(u->name, sizeof u->name, "%s", f[0]);
			u->role = (enum web_role)web_role_lookup(f[1]);
			snprintf(u->hash, sizeof u->hash, "%s", f[2]);
			snprintf(u->display, sizeof u->display, "%s", f[3]);
		}
		free(line);
		if (rc < 0) {
			out->n = 0;
			return -1;
		}
	}
	return 0;
}

int
web_users_load(const char *path, struct web_users *out, char *err, size_t errlen)
{
	size_t len;
	out->n = 0;
	char *text = file_read(path, 1 << 20, &len);
	if (!text) {
		if (errno == ENOENT)
			return 0;
		return fail_msg(err, errlen, "%s: %s", path, strerror(errno));
	}
	int rc = web_users_parse(path, text, len, out, err, errlen);
	free(text);
	return rc;
}

struct web_user *
web_users_find(struct web_users *users, const char *name)
{
	for (size_t i = 0; name && i < users->n; i++)
		if (strcmp(users->u[i].name, name) == 0)
			return &users->u[i];
	return NULL;
}

static bool
sodium_ready(void)
{
	return sodium_init() >= 0;     /* idempotent, and safe from any thread */
}

int
web_user_set_password(struct web_user *u, const char *password, char *err, size_t errlen)
{
	size_t n = strlen(password);
	if (n < WEB_PASSWORD_MIN || n > WEB_PASSWORD_MAX)
		return fail_msg(err, errlen, "a password is %d to %d characters", WEB_PASSWORD_MIN,
		    WEB_PASSWORD_MAX);
	for (const char *c = password; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return fail_msg(err, errlen, "a password holds no control characters");
	if (!sodium_ready())
		return fail_msg(err, errlen, "libsodium cannot start");
	char hash[crypto_pwhash_STRBYTES];
	/* The interactive limits (64 MiB, a fraction of a second): a login is
	 * interactive, and the web gateway rate-limits attempts besides. */
	if (crypto_pwhash_str(hash, password, n, crypto_pwhash_OPSLIMIT_INTERACTIVE,
	    crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		return fail_msg(err, errlen, "the password could not be hashed (out of memory)");
	snprintf(u->hash, sizeof u->hash, "%s", hash);
	sodium_memzero(hash, sizeof hash);
	return 0;
}

bool
web_user_check_password(const struct web_user *u, const char *password)
{
	return sodium_ready() && crypto_pwhash_str_verify(u->hash, password, strlen(password)) == 0;
}

/* The file's text for a list of users. */
static void
users_text(const struct web_users *users, struct buf *b)
{
	buf_printf(b, "# Atelier web bench accounts, managed by `atelierctl user`: name, role, "
	    "Argon2id hash, display name, separated by tabs.\n");
	for (size_t i = 0; i < users->n; i++)
		buf_printf(b, "%s\t%s\t%s\t%s\n", users->u[i].name, web_role_name(users->u[i].role),
		    users->u[i].hash, users->u[i].display);
}

int
web_users_update(const char *path, int (*edit)(struct web_users *, void *, char *, size_t),
    void *arg, char *err, size_t errlen)
{
	/* The lock is on a file beside it, which a rename never replaces. */
	char *lock_path = xasprintf("%s.lock", path);
	int lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	free(lock_path);
	if (lock < 0)
		return fail_msg(err, errlen, "%s.lock: %s", path, strerror(errno));
	if (flock(lock, LOCK_EX) < 0) {
		int e = errno;
		close(lock);
		return fail_msg(err, errlen, "%s.lock: %s", path, strerror(e));
	}
	struct web_users *users = xcalloc(1, sizeof *users);
	char *tmp = NULL;
	int fd = -1, rc = -1;
	struct buf b;
	buf_init(&b);
	if (web_users_load(path, users, err, errlen) < 0 || edit(users, arg, err, errlen) < 0)
		goto out;
	users_text(users, &b);
	tmp = xasprintf("%s.XXXXXX", path);
	fd = mkstemp(tmp);
	if (fd < 0) {
		fail_msg(err, errlen, "%s: cannot write beside it: %s", path, strerror(errno));
		free(tmp);
		tmp = NULL;
		goto out;
	}
	if (fchmod(fd, 0640) < 0 || write_all(fd, b.data, b.len) < 0 || fsync(fd) < 0) {
		fail_msg(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		fail_msg(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		fail_msg(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	free(tmp);
	tmp = NULL;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	if (b.data)
		sodium_memzero(b.data, b.len);
	buf_free(&b);
	sodium_memzero(users, sizeof *users);
	free(users);
	close(lock);
	return rc;
}
