/*
 * Counters behind tests/test.h, linked into every test program, and the
 * cleanup of what a test made: its temporary folders, and what the
 * programs it started register (test_at_cleanup).
 */
#include "test.h"

#include <ftw.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int test_case_failed;
int test_cases_passed, test_cases_failed;

int
test_summary(void)
{
	printf("%d passed, %d failed\n", test_cases_passed, test_cases_failed);
	return test_cases_failed ? 1 : 0;
}

#define MAX_DIRS 32
#define MAX_HOOKS 8
static char dirs[MAX_DIRS][256];
static size_t n_dirs;
static void (*hooks[MAX_HOOKS])(void);
static size_t n_hooks;
/* Only the process that made them cleans up: a forked child exiting must
 * not. */
static pid_t owner_pid;

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void
cleanup(void)
{
	if (getpid() != owner_pid)
		return;
	for (size_t i = n_hooks; i-- > 0;)
		hooks[i]();
	n_hooks = 0;
	const char *keep = getenv("ATELIER_KEEP_TEST_DIRS");
	if (keep && *keep == '1')
		n_dirs = 0;
	for (size_t i = 0; i < n_dirs; i++)
		nftw(dirs[i], remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	n_dirs = 0;
}

/* nftw is not async-signal-safe; a test program killed by its time limit
 * is past caring, and a left folder is the worse outcome. */
static void
cleanup_on_signal(int sig)
{
	cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
arm(void)
{
	if (owner_pid)
		return;
	owner_pid = getpid();
	atexit(cleanup);
	signal(SIGTERM, cleanup_on_signal);
	signal(SIGINT, cleanup_on_signal);
	signal(SIGHUP, cleanup_on_signal);
}

char *
test_mkdtemp(char *tmpl)
{
	if (!mkdtemp(tmpl))
		return NULL;
	arm();
	if (n_dirs < MAX_DIRS)
		snprintf(dirs[n_dirs++], sizeof dirs[0], "%s", tmpl);
	return tmpl;
}

void
test_at_cleanup(void (*fn)(void))
{
	arm();
	for (size_t i = 0; i < n_hooks; i++)
		if (hooks[i] == fn)
			return;
	if (n_hooks < MAX_HOOKS)
		hooks[n_hooks++] = fn;
}
