/*
 * The web bench's accounts file: parsing with the line of each problem,
 * Argon2id hashes that check the right password and no other, and the
 * locked rewrite that changes all or nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "util.h"
#include "web/web_users.h"

static char dir[64];

static const char *
parse_error(const char *text)
{
	static char err[300];
	struct web_users *u = xcalloc(1, sizeof *u);
	err[0] = '\0';
	if (web_users_parse("users", text, strlen(text), u, err, sizeof err) == 0)
		snprintf(err, sizeof err, "(parsed, %zu users)", u->n);
	free(u);
	return err;
}

static void
t_parse_errors_name_the_line(void)
{
	CHECK_STR(parse_error("# comment\n\nana\tjeweller\t$argon2id$v=19$m=65536,t=2,p=1$x$y"
	    "\tAna\n"), "(parsed, 1 users)");
	CHECK_STR(parse_error("ana\tjeweller\t$argon2id$x\n"), "users:1: a user's line has 4 "
	    "fields separated by tabs (name, role, hash, display name), not 3");
	CHECK_STR(parse_error("\nAna\tjeweller\t$argon2id$x\tAna\n"), "users:2: 'Ana': a user name "
	    "is 1 to 32 characters, starting with a letter a-z");
	CHECK_STR(parse_error("ana\tboss\t$argon2id$x\tAna\n"), "users:1: role 'boss' is not "
	    "jeweller or technician");
	CHECK_STR(parse_error("ana\tjeweller\tsecret\tAna\n"), "users:1: the password of 'ana' is "
	    "not an Argon2id hash (set it with atelierctl user passwd)");
	CHECK_STR(parse_error("ana\tjeweller\t$argon2id$x\tAna\nana\ttechnician\t$argon2id$y\tA\n"),
	    "users:2: user 'ana' appears twice");
	CHECK_STR(parse_error("ana\tjeweller\t$argon2id$x\tAna\x01\n"), "users:1: a display name "
	    "is 1 to 64 bytes of UTF-8 text without control characters");
	CHECK_STR(parse_error("ana\tjeweller\t$argon2id$x\t\xc3\n"), "users:1: a display name is 1 "
	    "to 64 bytes of UTF-8 text without control characters");
	CHECK_STR(parse_error("ana\tjeweller\t$argon2id$x\tA\tB\n"), "users:1: a user's line has 4 "
	    "fields separated by tabs (name, role, hash, display name), not 5");
	char nul[] = "ana\tjeweller\t$argon2id$x\tAna\0\n";
	struct web_users *u = xcalloc(1, sizeof *u);
	char err[300];
	CHECK_INT(web_users_parse("users", nul, sizeof nul - 1, u, err, sizeof err), -1);
	CHECK_STR(err, "users: contains NUL bytes: not a users file");
	free(u);
}

static void
t_password_hash(void)
{
	struct web_user u = { .name = "marie", .role = WEB_ROLE_JEWELLER };
	char err[200];
	CHECK_INT(web_user_set_password(&u, "short", err, sizeof err), -1);
	CHECK_STR(err, "a password is 8 to 256 characters");
	CHECK_INT(web_user_set_password(&u, "tab\there!", err, sizeof err), -1);
	CHECK_INT(web_user_set_password(&u, "émeraude-huilée", err, sizeof err), 0);
	CHECK(strncmp(u.hash, "$argon2id$", 10) == 0);
	CHECK(web_user_check_password(&u, "émeraude-huilée"));
	CHECK(!web_user_check_password(&u, "emeraude-huilee"));
	CHECK(!web_user_check_password(&u, ""));
	/* A salt of its own: the same password hashes differently. */
	struct web_user v = u;
	CHECK_INT(web_user_set_password(&v, "émeraude-huilée", err, sizeof err), 0);
	CHECK(strcmp(u.hash, v.hash) != 0);
	CHECK(web_user_check_password(&v, "émeraude-huilée"));
}

static int
add_ana(struct web_users *users, void *arg, char *err, size_t len)
{
	(void)arg;
	struct web_user *u = &users->u[users->n];
	memset(u, 0, sizeof *u);
	snprintf(u->name, sizeof u->name, "ana");
	snprintf(u->display, sizeof u->display, "Ana Lima");
	if (web_user_set_password(u, "correct horse", err, len) < 0)
		return -1;
	users->n++;
	return 0;
}

static int
refuse(struct web_users *users, void *arg, char *err, size_t len)
{
	users->n = 0;           /* whatever it did, nothing is written */
	(void)arg;
	snprintf(err, len, "refused");
	return -1;
}

static void
t_update_all_or_nothing(void)
{
	char path[128], err[300];
	snprintf(path, sizeof path, "%s/web-users", dir);
	struct web_users *u = xcalloc(1, sizeof *u);
	CHECK_INT(web_users_load(path, u, err, sizeof err), 0);      /* none yet: empty */
	CHECK_INT((int)u->n, 0);
	CHECK_INT(web_users_update(path, add_ana, NULL, err, sizeof err), 0);
	struct stat st;
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0640);
	CHECK_INT(web_users_load(path, u, err, sizeof err), 0);
	CHECK_INT((int)u->n, 1);
	CHECK(web_users_find(u, "ana") && web_user_check_password(web_users_find(u, "ana"),
	    "correct horse"));
	CHECK_STR(web_users_find(u, "ana")->display, "Ana Lima");
	char *before = file_read(path, 0, NULL);
	CHECK_INT(web_users_update(path, refuse, NULL, err, sizeof err), -1);
	CHECK_STR(err, "refused");
	char *after = file_read(path, 0, NULL);
	CHECK(before && after && strcmp(before, after) == 0);
	free(before);
	free(after);
	/* A file that does not parse is not overwritten either. */
	FILE *f = fopen(path, "a");
	if (f) {
		fputs("broken line\n", f);
		fclose(f);
	}
	CHECK_INT(web_users_update(path, add_ana, NULL, err, sizeof err), -1);
	CHECK_CONTAINS(err, "web-users:3: a user's line has 4 fields");
	free(u);
}

int
main(void)
{
	snprintf(dir, sizeof dir, "/tmp/atelier-users-XXXXXX");
	if (!test_mkdtemp(dir)) {
		printf("FAIL: mkdtemp\n");
		return 1;
	}
	RUN(t_parse_errors_name_the_line);
	RUN(t_password_hash);
	RUN(t_update_all_or_nothing);
	return test_summary();
}
