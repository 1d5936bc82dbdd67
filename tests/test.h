/*
 * The unit-test harness: each test program runs its cases and prints one
 * line per failed check and per case ("PASS: name" / "FAIL: name"), which
 * tests/run-tests totals into the closing "N passed, N failed" line.
 *
 *	static void t_parse(void) { CHECK(parse("x") == 0); CHECK_STR(s, "x"); }
 *	int main(void) { RUN(t_parse); return test_summary(); }
 */
#ifndef ATELIER_TEST_H
#define ATELIER_TEST_H

#include <math.h>
#include <stdio.h>
#include <string.h>

extern int test_case_failed;
extern int test_cases_passed, test_cases_failed;

#define CHECK(cond)                                                           \
	do {                                                                  \
		if (!(cond)) {                                                \
			printf("  %s:%d: check failed: %s\n", __FILE__,       \
			    __LINE__, #cond);                                 \
			test_case_failed = 1;                                 \
		}                                                             \
	} while (0)

#define CHECK_INT(a, b)                                                       \
	do {                                                                  \
		long long a_ = (long long)(a), b_ = (long long)(b);           \
		if (a_ != b_) {                                               \
			printf("  %s:%d: %s == %lld, expected %lld\n",        \
			    __FILE__, __LINE__, #a, a_, b_);                  \
			test_case_failed = 1;                                 \
		}                                                             \
	} while (0)

#define CHECK_NEAR(a, b, tol)                                                 \
	do {                                                                  \
		double a_ = (double)(a), b_ = (double)(b);                    \
		if (!(fabs(a_ - b_) <= (tol))) {                              \
			printf("  %s:%d: %s == %g, expected %g +- %g\n",      \
			    __FILE__, __LINE__, #a, a_, b_, (double)(tol));   \
			test_case_failed = 1;                                 \
		}                                                             \
	} while (0)

#define CHECK_STR(a, b)                                                       \
	do {                                                                  \
		const char *a_ = (a), *b_ = (b);                              \
		if (!a_ || !b_ || strcmp(a_, b_) != 0) {                      \
			printf("  %s:%d: %s == \"%s\", expected \"%s\"\n",    \
			    __FILE__, __LINE__, #a, a_ ? a_ : "(null)",       \
			    b_ ? b_ : "(null)");                              \
			test_case_failed = 1;                                 \
		}                                                             \
	} while (0)

/* Checks that haystack contains needle. */
#define CHECK_CONTAINS(hay, needle)                                           \
	do {                                                                  \
		const char *h_ = (hay), *n_ = (needle);                       \
		if (!h_ || !strstr(h_, n_)) {                                 \
			printf("  %s:%d: %s == \"%s\", lacks \"%s\"\n",       \
			    __FILE__, __LINE__, #hay, h_ ? h_ : "(null)",     \
			    n_);                                              \
			test_case_failed = 1;                                 \
		}                                                             \
	} while (0)

#define RUN(fn)                                                               \
	do {                                                                  \
		test_case_failed = 0;                                         \
		fflush(stdout);                                               \
		fn();                                                         \
		if (test_case_failed) {                                       \
			test_cases_failed++;                                  \
			printf("FAIL: %s\n", #fn);                            \
		} else {                                                      \
			test_cases_passed++;                                  \
			printf("PASS: %s\n", #fn);                            \
		}                                                             \
		fflush(stdout);                                               \
	} while (0)

/* Prints the program's own totals; returns the exit status for main. */
int test_summary(void);

/*
 * mkdtemp, and the folder removed with everything in it when the test
 * program ends: returning from main, exit, or SIGTERM/SIGINT/SIGHUP (the
 * runner's time limit), so that a failing test leaves nothing in /tmp.
 * ATELIER_KEEP_TEST_DIRS=1 keeps them, for a look at the logs by hand.
 * Returns tmpl, or NULL (errno) as mkdtemp does.
 */
char *test_mkdtemp(char *tmpl);
/* A function run at that same moment, before the folders go (the
 * simulator's processes are stopped there). At most 8. */
void test_at_cleanup(void (*fn)(void));

#endif
