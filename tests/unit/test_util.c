/*
 * The string helpers that keep messages whole: a list of names joined to
 * fit a buffer ends with a whole name or "and N more", and a text cut at
 * its buffer ends at a whole word with "..." (issue 12: a list of
 * services ended in "restorati").
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "test.h"
#include "util.h"

static void
t_join_fits_whole_names(void)
{
	static const char *const names[] = { "engraving", "shining", "restoration", "pairing",
		"reproduction" };
	char out[200];
	CHECK_STR(str_join_fit(out, sizeof out, names, 5),
	    "engraving, shining, restoration, pairing, reproduction");
	CHECK_STR(str_join_fit(out, sizeof out, names, 1), "engraving");
	CHECK_STR(str_join_fit(out, sizeof out, names, 0), "");
	/* Each length from the smallest: whole names, then the count. */
	for (size_t len = 8; len <= 60; len++) {
		char small[64];
		str_join_fit(small, len, names, 5);
		CHECK(strlen(small) < len);
		const char *more = strstr(small, " and ");
		const char *end = more ? more : small + strlen(small);
		/* Every name shown is whole. */
		char shown[64];
		snprintf(shown, sizeof shown, "%.*s", (int)(end - small), small);
		for (char *tok = strtok(shown, ","); tok; tok = strtok(NULL, ",")) {
			while (*tok == ' ')
				tok++;
			bool whole = false;
			for (size_t i = 0; i < 5; i++)
				whole |= strcmp(tok, names[i]) == 0;
			if (!whole && strstr(small, "names") == NULL)
				printf("  len %zu: '%s' has a cut name '%s'\n", len, small, tok);
			CHECK(whole || strstr(small, "names"));
		}
	}
	CHECK_STR(str_join_fit(out, 30, names, 5), "engraving, shining and 3 more");
	CHECK_STR(str_join_fit(out, 12, names, 5), "5 names");
}

/* As the message functions do: vsnprintf into a fixed buffer, then cut. */
static __attribute__((noinline)) void
cut(char *buf, size_t cap, const char *text)
{
	int n = snprintf(buf, cap, "%s", text);
	str_cut_words(buf, cap, n);
}

static void
t_cut_at_a_word(void)
{
	char buf[32];
	cut(buf, sizeof buf, "unknown service 'x' (known: engraving, restoration)");
	CHECK_STR(buf, "unknown service 'x' (known...");
	cut(buf, sizeof buf, "short enough");
	CHECK_STR(buf, "short enough");
	/* One long word is cut, but never inside a UTF-8 character. */
	cut(buf, sizeof buf, "ééééééééééééééééééééééééé");
	CHECK(strlen(buf) < sizeof buf);
	CHECK(strcmp(buf + strlen(buf) - 3, "...") == 0);
	CHECK((strlen(buf) - 3) % 2 == 0);
}

int
main(void)
{
	RUN(t_join_fits_whole_names);
	RUN(t_cut_at_a_word);
	return test_summary();
}
