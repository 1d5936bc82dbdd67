/*
 * atelier-web's sessions and login throttle (gateway/gw_session.c): tokens
 * that are random and compared whole, sessions that end when idle or at
 * logout, and wrong passwords counted per user and address, waiting
 * longer after each one past the fifth. Time is passed in, so no test
 * here sleeps; the QR code of a ticket is checked to be a drawing of the
 * right size.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/gw.h"
#include "test.h"

static struct gw_sessions g;

static void
t_tokens(void)
{
	char a[GW_TOKEN_HEX + 1], b[GW_TOKEN_HEX + 1];
	gw_token_make(a);
	gw_token_make(b);
	CHECK_INT((int)strlen(a), GW_TOKEN_HEX);
	CHECK_INT((int)strspn(a, "0123456789abcdef"), GW_TOKEN_HEX);
	CHECK(strcmp(a, b) != 0);
	CHECK(gw_token_equal(a, a));
	CHECK(!gw_token_equal(a, b));
	char c[GW_TOKEN_HEX + 1];
	memcpy(c, a, sizeof c);
	c[GW_TOKEN_HEX - 1] = c[GW_TOKEN_HEX - 1] == '0' ? '1' : '0';
	CHECK(!gw_token_equal(a, c));
	CHECK(!gw_token_equal(a, ""));
	CHECK(!gw_token_equal(a, NULL));
	/* A prefix is not the token. */
	c[10] = '\0';
	CHECK(!gw_token_equal(a, c));
}

static void
t_sessions(void)
{
	gw_sessions_init(&g, 3600);
	struct gw_session s, got, t;
	gw_session_new(&g, "marie", "Marie Curie", WEB_ROLE_JEWELLER, 100, &s);
	CHECK_STR(s.user, "marie");
	CHECK_STR(s.name, "Marie Curie");
	CHECK(strcmp(s.token, s.csrf) != 0);
	CHECK(gw_session_get(&g, s.token, 200, &got));
	CHECK_STR(got.csrf, s.csrf);
	CHECK_INT(got.role, WEB_ROLE_JEWELLER);
	/* The CSRF token does not open the session. */
	CHECK(!gw_session_get(&g, s.csrf, 200, &got));
	/* Used at 200: alive at 3700, idle too long at 7400. */
	CHECK(gw_session_get(&g, s.token, 3700, &got));
	CHECK(!gw_session_get(&g, s.token, 7400, &got));
	CHECK(!gw_session_get(&g, s.token, 7401, &got));

	gw_session_new(&g, "tom", "", WEB_ROLE_TECHNICIAN, 10, &t);
	CHECK_STR(t.name, "tom");
	gw_session_end(&g, t.token);
	CHECK(!gw_session_get(&g, t.token, 11, &got));

	gw_session_new(&g, "ana", "Ana", WEB_ROLE_JEWELLER, 10, &s);
	gw_session_new(&g, "ana", "Ana", WEB_ROLE_JEWELLER, 10, &t);
	gw_sessions_end_user(&g, "ana");
	CHECK(!gw_session_get(&g, s.token, 11, &got));
	CHECK(!gw_session_get(&g, t.token, 11, &got));

	/* A full table ends the session used least recently. */
	struct gw_session first;
	gw_session_new(&g, "u0", "", WEB_ROLE_JEWELLER, 1, &first);
	for (int i = 1; i <= GW_SESSIONS_MAX; i++) {
		char name[16];
		snprintf(name, sizeof name, "u%d", i);
		gw_session_new(&g, name, "", WEB_ROLE_JEWELLER, 1 + i, &s);
	}
	CHECK(!gw_session_get(&g, first.token, 2000, &got));
	CHECK(gw_session_get(&g, s.token, 2000, &got));
	gw_sessions_destroy(&g);
}

static void
t_throttle(void)
{
	gw_sessions_init(&g, 3600);
	double wait = 0;
	for (int i = 0; i < GW_THROTTLE_FREE - 1; i++) {
		CHECK(gw_throttle_allows(&g, "marie", "10.0.0.5", 100 + i, &wait));
		gw_throttle_failed(&g, "marie", "10.0.0.5", 100 + i);
	}
	CHECK(gw_throttle_allows(&g, "marie", "10.0.0.5", 110, &wait));
	gw_throttle_failed(&g, "marie", "10.0.0.5", 110);     /* the fifth */
	CHECK(!gw_throttle_allows(&g, "marie", "10.0.0.5", 111, &wait));
	CHECK(wait > GW_THROTTLE_FIRST - 2 && wait <= GW_THROTTLE_FIRST);
	/* Another address, another user: not held back. */
	CHECK(gw_throttle_allows(&g, "marie", "10.0.0.6", 111, &wait));
	CHECK(gw_throttle_allows(&g, "tom", "10.0.0.5", 111, &wait));
	/* The wait doubles with each further failure, up to the longest. */
	double at = 110 + GW_THROTTLE_FIRST;
	CHECK(gw_throttle_allows(&g, "marie", "10.0.0.5", at, &wait));
	gw_throttle_failed(&g, "marie", "10.0.0.5", at);
	CHECK(!gw_throttle_allows(&g, "marie", "10.0.0.5", at + 2 * GW_THROTTLE_FIRST - 1, &wait));
	CHECK(gw_throttle_allows(&g, "marie", "10.0.0.5", at + 2 * GW_THROTTLE_FIRST, &wait));
	for (int i = 0; i < 20; i++)
		gw_throttle_failed(&g, "marie", "10.0.0.5", 1000);
	CHECK(!gw_throttle_allows(&g, "marie", "10.0.0.5", 1000, &wait));
	CHECK(wait <= GW_THROTTLE_LONGEST);
	CHECK(wait > GW_THROTTLE_LONGEST - 1);
	/* A right password clears the count. */
	gw_throttle_succeeded(&g, "marie", "10.0.0.5");
	CHECK(gw_throttle_allows(&g, "marie", "10.0.0.5", 1001, &wait));
	gw_throttle_failed(&g, "marie", "10.0.0.5", 1001);
	CHECK(gw_throttle_allows(&g, "marie", "10.0.0.5", 1002, &wait));
	/* A full table still throttles the newest guesser. */
	for (int i = 0; i < GW_THROTTLE_MAX + 10; i++) {
		char addr[32];
		snprintf(addr, sizeof addr, "10.1.%d.%d", i / 256, i % 256);
		gw_throttle_failed(&g, "x", addr, 2000);
	}
	for (int i = 0; i < GW_THROTTLE_FREE; i++)
		gw_throttle_failed(&g, "eve", "10.9.9.9", 2001);
	CHECK(!gw_throttle_allows(&g, "eve", "10.9.9.9", 2002, &wait));
	gw_sessions_destroy(&g);
}

static void
t_qr(void)
{
	char err[200];
	char *svg = gw_qr_svg("http://127.0.0.1:8080/job.html?job=42", err, sizeof err);
	CHECK(svg != NULL);
	if (!svg)
		return;
	/* 37 URL bytes need a version 3 symbol (29 modules) with a quiet
	 * zone of 4 on each side. */
	CHECK(strstr(svg, "viewBox=\"0 0 37 37\"") != NULL);
	/* The three finder patterns' corners are dark. */
	CHECK(strstr(svg, "M4 4h1v1h-1z") != NULL);
	CHECK(strstr(svg, "M28 4h1v1h-1z") != NULL);
	CHECK(strstr(svg, "M4 28h1v1h-1z") != NULL);
	free(svg);
}

int
main(void)
{
	RUN(t_tokens);
	RUN(t_sessions);
	RUN(t_throttle);
	RUN(t_qr);
	return test_summary();
}
