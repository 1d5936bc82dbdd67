/*
 * Sessions and the login throttle of atelier-web. A session is a random
 * token (the HttpOnly cookie) and a second one, the CSRF token, that pages
 * send back in a header on every state-changing request: a page of
 * another site can make the browser send the cookie, never read the CSRF
 * token. Wrong passwords are counted per user and address, so that one
 * person mistyping does not lock the bench for everyone, and a guesser at
 * one address waits longer after each try.
 */
#include "gateway/gw.h"

#include <sodium.h>
#include <string.h>

#include "util.h"

void
gw_sessions_init(struct gw_sessions *g, double idle_seconds)
{
	memset(g, 0, sizeof *g);
	pthread_mutex_init(&g->lock, NULL);
	g->idle = idle_seconds;
}

void
gw_sessions_destroy(struct gw_sessions *g)
{
	sodium_memzero(g->s, sizeof g->s);
	pthread_mutex_destroy(&g->lock);
}

void
gw_token_make(char *out)
{
	unsigned char raw[GW_TOKEN_HEX / 2];
	randombytes_buf(raw, sizeof raw);
	sodium_bin2hex(out, GW_TOKEN_HEX + 1, raw, sizeof raw);
	sodium_memzero(raw, sizeof raw);
}

bool
gw_token_equal(const char *a, const char *b)
{
	if (!a || !b || strlen(a) != GW_TOKEN_HEX || strlen(b) != GW_TOKEN_HEX)
		return false;
	return sodium_memcmp(a, b, GW_TOKEN_HEX) == 0;
}

static void
drop(struct gw_sessions *g, size_t i)
{
	sodium_memzero(&g->s[i], sizeof g->s[i]);
	g->s[i] = g->s[--g->n];
}

void
gw_session_new(struct gw_sessions *g, const char *user, const char *name, enum web_role role,
    double now, struct gw_session *out)
{
	pthread_mutex_lock(&g->lock);
	if (g->n == GW_SESSIONS_MAX) {
		size_t oldest = 0;
		for (size_t i = 1; i < g->n; i++)
			if (g->s[i].used < g->s[oldest].used)
				oldest = i;
		drop(g, oldest);
	}
	struct gw_session *s = &g->s[g->n++];
	memset(s, 0, sizeof *s);
	gw_token_make(s->token);
	gw_token_make(s->csrf);
	snprintf(s->user, sizeof s->user, "%s", user);
	snprintf(s->name, sizeof s->name, "%s", name && *name ? name : user);
	s->role = role;
	s->created = s->used = now;
	*out = *s;
	pthread_mutex_unlock(&g->lock);
}

bool
gw_session_get(struct gw_sessions *g, const char *token, double now, struct gw_session *out)
{
	bool found = false;
	pthread_mutex_lock(&g->lock);
	for (size_t i = 0; i < g->n; i++) {
		if (!gw_token_equal(g->s[i].token, token))
			continue;
		if (now - g->s[i].used > g->idle) {
			drop(g, i);
			break;
		}
		g->s[i].used = now;
		*out = g->s[i];
		found = true;
		break;
	}
	pthread_mutex_unlock(&g->lock);
	return found;
}

void
gw_session_end(struct gw_sessions *g, const char *token)
{
	pthread_mutex_lock(&g->lock);
	for (size_t i = 0; i < g->n; i++)
		if (gw_token_equal(g->s[i].token, token)) {
			drop(g, i);
			break;
		}
	pthread_mutex_unlock(&g->lock);
}

void
gw_sessions_end_user(struct gw_sessions *g, const char *user)
{
	pthread_mutex_lock(&g->lock);
	for (size_t i = 0; i < g->n;)
		if (strcmp(g->s[i].user, user) == 0)
			drop(g, i);
		else
			i++;
	pthread_mutex_unlock(&g->lock);
}

/* The entry of user at addr, made when make is set (the stalest one
 * replaced when the table is full); NULL otherwise. Under the lock. */
static struct gw_throttle_entry *
throttle_entry(struct gw_sessions *g, const char *user, const char *addr, double now, bool make)
{
	for (size_t i = 0; i < g->n_throttle; i++) {
		struct gw_throttle_entry *t = &g->t[i];
		if (strcmp(t->user, user) != 0 || strcmp(t->addr, addr) != 0)
			continue;
		if (now - t->last_failure > GW_THROTTLE_FORGET && now >= t->until) {
			g->t[i] = g->t[--g->n_throttle];
			break;
		}
		return t;
	}
	if (!make)
		return NULL;
	size_t at = g->n_throttle;
	if (at == GW_THROTTLE_MAX) {
		at = 0;
		for (size_t i = 1; i < g->n_throttle; i++)
			if (g->t[i].last_failure < g->t[at].last_failure && now >= g->t[i].until)
				at = i;
	} else {
		g->n_throttle++;
	}
	struct gw_throttle_entry *t = &g->t[at];
	memset(t, 0, sizeof *t);
	snprintf(t->user, sizeof t->user, "%s", user);
	snprintf(t->addr, sizeof t->addr, "%s", addr);
	return t;
}

bool
gw_throttle_allows(struct gw_sessions *g, const char *user, const char *addr, double now,
    double *retry_after)
{
	pthread_mutex_lock(&g->lock);
	struct gw_throttle_entry *t = throttle_entry(g, user, addr, now, false);
	bool ok = !t || now >= t->until;
	if (!ok && retry_after)
		*retry_after = t->until - now;
	pthread_mutex_unlock(&g->lock);
	return ok;
}

void
gw_throttle_failed(struct gw_sessions *g, const char *user, const char *addr, double now)
{
	pthread_mutex_lock(&g->lock);
	struct gw_throttle_entry *t = throttle_entry(g, user, addr, now, true);
	t->failures++;
	t->last_failure = now;
	if (t->failures >= GW_THROTTLE_FREE) {
		double wait = GW_THROTTLE_FIRST;
		for (int i = GW_THROTTLE_FREE; i < t->failures && wait < GW_THROTTLE_LONGEST; i++)
			wait *= 2;
		t->until = now + (wait < GW_THROTTLE_LONGEST ? wait : GW_THROTTLE_LONGEST);
	}
	pthread_mutex_unlock(&g->lock);
}

void
gw_throttle_succeeded(struct gw_sessions *g, const char *user, const char *addr)
{
	pthread_mutex_lock(&g->lock);
	for (size_t i = 0; i < g->n_throttle; i++)
		if (strcmp(g->t[i].user, user) == 0 && strcmp(g->t[i].addr, addr) == 0) {
			g->t[i] = g->t[--g->n_throttle];
			break;
		}
	pthread_mutex_unlock(&g->lock);
}
