/*
 * The web bench's accounts (issue 14): a file of users, each with a role
 * (jeweller or technician), a display name and an Argon2id password hash
 * (libsodium's crypto_pwhash_str, which carries its own salt and
 * parameters). `atelierctl user` manages the file; atelier-web reads it to
 * log people in. The file is rewritten whole, under a lock, to a temporary
 * file renamed over the old one, so that a failure leaves it as it was.
 *
 * One line per user, fields separated by a tab:
 *   NAME <TAB> ROLE <TAB> HASH <TAB> DISPLAY NAME
 * Blank lines and lines starting with '#' are comments.
 */
#ifndef ATELIER_WEB_USERS_H
#define ATELIER_WEB_USERS_H

#include <stdbool.h>
#include <stddef.h>

#define WEB_USERS_MAX 256
#define WEB_USER_NAME_MAX 32    /* a-z 0-9 . _ -, starting with a letter */
#define WEB_USER_DISPLAY_MAX 64 /* bytes of UTF-8 */
#define WEB_PASSWORD_MIN 8
#define WEB_PASSWORD_MAX 256

enum web_role { WEB_ROLE_JEWELLER = 0, WEB_ROLE_TECHNICIAN };

struct web_user {
	char name[WEB_USER_NAME_MAX + 1];
	enum web_role role;
	char hash[128];         /* crypto_pwhash_STRBYTES */
	char display[WEB_USER_DISPLAY_MAX + 1];
};

struct web_users {
	struct web_user u[WEB_USERS_MAX];
	size_t n;
};

/* "jeweller" or "technician"; -1 for any other name. */
int web_role_lookup(const char *name);
const char *web_role_name(enum web_role role);

/* Whether a user name / display name may be written to the file. On
 * false, why names the problem. */
bool web_user_name_valid(const char *name, char *why, size_t len);
bool web_user_display_valid(const char *display, char *why, size_t len);

/*
 * Reads the file. A missing file is an empty list. Returns 0, or -1 with
 * "path:line: why" in err (a bad line, two users of one name, more than
 * WEB_USERS_MAX) or the system's reason.
 */
int web_users_load(const char *path, struct web_users *out, char *err, size_t errlen);
/* Parses a file's text; name is used in messages. Same returns. */
int web_users_parse(const char *name, const char *text, size_t len, struct web_users *out,
    char *err, size_t errlen);

/* The user of that name, or NULL. */
struct web_user *web_users_find(struct web_users *users, const char *name);

/*
 * Hashes a password (Argon2id) into u->hash. Refuses (-1, err) one
 * shorter than WEB_PASSWORD_MIN or longer than WEB_PASSWORD_MAX bytes, or
 * holding a control character.
 */
int web_user_set_password(struct web_user *u, const char *password, char *err, size_t errlen);
/* Whether password is the user's. Constant in time for a wrong one. */
bool web_user_check_password(const struct web_user *u, const char *password);

/*
 * Changes the file under an exclusive lock: loads it, calls edit (which
 * returns 0, or -1 with err set, and then nothing is written), and
 * replaces the file with the result (mode 0640). Returns 0 or -1 with err.
 */
int web_users_update(const char *path, int (*edit)(struct web_users *, void *, char *, size_t),
    void *arg, char *err, size_t errlen);

#endif
