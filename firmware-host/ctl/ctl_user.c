/*
 * atelierctl user add|passwd|del|list: the web bench's accounts
 * (web/web_users.h), managed by root on the workshop PC. A password is
 * read from the terminal twice with echo off, or as one line from a pipe;
 * it never appears on a command line. `list` shows names, roles and
 * display names, never a hash.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "ctl.h"
#include "util.h"
#include "web/web_users.h"

#define DEFAULT_USERS "/etc/atelier/web-users"

static void
usage(FILE *f)
{
	fprintf(f, "usage: atelierctl user [--file FILE] add NAME --role jeweller|technician "
	    "[--name \"DISPLAY NAME\"]\n"
	    "       atelierctl user [--file FILE] passwd NAME | del NAME | list\n"
	    "The web bench's accounts (default file " DEFAULT_USERS "); root only. The "
	    "password is read\nfrom the terminal (twice), or as one line from standard input.\n");
}

/* One line from fd 0, echo off on a terminal; "" at end of input. */
static bool
read_line(const char *prompt, char *out, size_t len)
{
	struct termios old, quiet;
	bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
	if (tty) {
		fprintf(stderr, "%s", prompt);
		quiet = old;
		quiet.c_lflag &= (tcflag_t)~ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	bool ok = fgets(out, (int)len, stdin) != NULL;
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fprintf(stderr, "\n");
	}
	if (!ok) {
		out[0] = '\0';
		return false;
	}
	size_t n = strlen(out);
	if (n && out[n - 1] == '\n')
		out[--n] = '\0';
	else if (n == len - 1)
		return false;   /* longer than any password may be */
	return true;
}

/* The new password, asked twice on a terminal. */
static bool
new_password(char *pw, size_t len)
{
	char again[WEB_PASSWORD_MAX + 2];
	if (!read_line("new password: ", pw, len)) {
		fprintf(stderr, "atelierctl user: no password given (or longer than %d bytes)\n",
		    WEB_PASSWORD_MAX);
		return false;
	}
	if (isatty(STDIN_FILENO)) {
		bool same = read_line("again: ", again, sizeof again) && strcmp(pw, again) == 0;
		memset(again, 0, sizeof again);
		if (!same) {
			fprintf(stderr, "atelierctl user: the two passwords differ; nothing changed\n");
			return false;
		}
	}
	return true;
}

struct edit {
	const char *op, *name, *display;
	int role;
	const char *password;
};

static int
apply(struct web_users *users, void *arg, char *err, size_t len)
{
	struct edit *e = arg;
	struct web_user *u = web_users_find(users, e->name);
	if (strcmp(e->op, "add") == 0) {
		if (u) {
			snprintf(err, len, "user '%s' exists already (atelierctl user passwd %s)",
			    e->name, e->name);
			return -1;
		}
		if (users->n == WEB_USERS_MAX) {
			snprintf(err, len, "the file holds %d users already", WEB_USERS_MAX);
			return -1;
		}
		u = &users->u[users->n];
		memset(u, 0, sizeof *u);
		snprintf(u->name, sizeof u->name, "%s", e->name);
		u->role = (enum web_role)e->role;
		snprintf(u->display, sizeof u->display, "%s", e->display ? e->display : e->name);
		if (web_user_set_password(u, e->password, err, len) < 0)
			return -1;
		users->n++;
		return 0;
	}
	if (!u) {
		snprintf(err, len, "there is no user '%s'", e->name);
		return -1;
	}
	if (strcmp(e->op, "passwd") == 0)
		return web_user_set_password(u, e->password, err, len);
	/* del */
	size_t i = (size_t)(u - users->u);
	memmove(&users->u[i], &users->u[i + 1], (users->n - i - 1) * sizeof users->u[0]);
	users->n--;
	return 0;
}

/* Whether the caller owns the folder of a file named with --file: the
 * simulator's run folder or a demo's, where the accounts are a test's
 * and not the workshop's. */
static bool
own_folder(const char *file, bool named)
{
	if (!named)
		return false;
	char *copy = xstrdup(file);
	char *slash = strrchr(copy, '/');
	const char *folder = slash ? (slash == copy ? "/" : (*slash = '\0', copy)) : ".";
	struct stat st;
	bool own = stat(folder, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid();
	free(copy);
	return own;
}

int
ctl_user(const struct ctl_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "role", required_argument, NULL, 'r' },
		{ "name", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char default_file[] = DEFAULT_USERS;
	const char *file = default_file;
	struct edit e = { .role = -1 };
	char why[200], err[300];
	int ch;
	optind = 0;      /* GNU getopt: start over, options anywhere on the line */
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f': file = optarg; break;
		case 'r':
			if ((e.role = web_role_lookup(optarg)) < 0) {
				fprintf(stderr, "atelierctl user: --role is jeweller or technician, not "
				    "'%s'\n", optarg);
				return CTL_ERR_USAGE;
			}
			break;
		case 'n': e.display = optarg; break;
		case 'h': usage(stdout); return CTL_OK;
		default: usage(stderr); return CTL_ERR_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CTL_ERR_USAGE;
	}
	e.op = argv[optind];
	bool list = strcmp(e.op, "list") == 0;
	if (!list && strcmp(e.op, "add") && strcmp(e.op, "passwd") && strcmp(e.op, "del")) {
		usage(stderr);
		return CTL_ERR_USAGE;
	}
	if (optind + (list ? 1 : 2) != argc) {
		usage(stderr);
		return CTL_ERR_USAGE;
	}
	if (geteuid() != 0 && !own_folder(file, file != default_file)) {
		fprintf(stderr, "atelierctl user: only root manages the web bench's accounts (or, "
		    "with --file, the owner of the file's folder: the simulator's, a demo's)\n");
		return CTL_ERR_REFUSED;
	}
	if (list) {
		struct web_users *users = xcalloc(1, sizeof *users);
		if (web_users_load(file, users, err, sizeof err) < 0) {
			fprintf(stderr, "atelierctl user: %s\n", err);
			free(users);
			return CTL_ERR_FAILED;
		}
		for (size_t i = 0; i < users->n; i++) {
			if (o->json)
				printf("{\"name\":\"%s\",\"role\":\"%s\"}\n", users->u[i].name,
				    web_role_name(users->u[i].role));
			else
				printf("%-20s %-11s %s\n", users->u[i].name,
				    web_role_name(users->u[i].role), users->u[i].display);
		}
		free(users);
		return CTL_OK;
	}
	e.name = argv[optind + 1];
	if (!web_user_name_valid(e.name, why, sizeof why)) {
		fprintf(stderr, "atelierctl user: '%s': %s\n", e.name, why);
		return CTL_ERR_USAGE;
	}
	if (strcmp(e.op, "add") == 0 && e.role < 0) {
		fprintf(stderr, "atelierctl user add: --role jeweller or --role technician is "
		    "required\n");
		return CTL_ERR_USAGE;
	}
	if (e.display && !web_user_display_valid(e.display, why, sizeof why)) {
		fprintf(stderr, "atelierctl user: --name: %s\n", why);
		return CTL_ERR_USAGE;
	}
	char pw[WEB_PASSWORD_MAX + 2] = "";
	if (strcmp(e.op, "del") != 0) {
		if (!new_password(pw, sizeof pw)) {
			memset(pw, 0, sizeof pw);
			return CTL_ERR_REFUSED;
		}
		e.password = pw;
	}
	int rc = web_users_update(file, apply, &e, err, sizeof err);
	memset(pw, 0, sizeof pw);
	if (rc < 0) {
		fprintf(stderr, "atelierctl user %s: %s; nothing changed\n", e.op, err);
		return CTL_ERR_REFUSED;
	}
	if (!o->json)
		printf("%s: %s\n", e.name, strcmp(e.op, "add") == 0 ? "added" :
		    strcmp(e.op, "del") == 0 ? "removed" : "password changed");
	return CTL_OK;
}
