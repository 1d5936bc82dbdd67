/*
 * atelierctl engrave end to end: the real program (from $ATELIER_BIN, by
 * default build/asan/bin) with the simulator's configuration, checking
 * exit codes, the G-code and preview it writes, --json, refusals with
 * their numbers (a design over the layout's budget among them), usage
 * errors, and a preview with no configuration installed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"
#include "util.h"

static char dir[64];

/* Runs atelierctl --config config with args through sh; returns the exit
 * status and the captured stdout and stderr (new strings). */
static int
ctl_with(const char *config, const char *args, char **out, char **err)
{
	const char *bin = getenv("ATELIER_BIN");
	char *cmd = xasprintf("'%s/atelierctl' --config '%s' %s >%s/out 2>%s/err",
	    bin ? bin : "build/asan/bin", config, args, dir, dir);
	int st = system(cmd);
	free(cmd);
	char *paths[2] = { xasprintf("%s/out", dir), xasprintf("%s/err", dir) };
	char **dst[2] = { out, err };
	for (int i = 0; i < 2; i++) {
		struct buf b;
		buf_init(&b);
		FILE *f = fopen(paths[i], "r");
		char chunk[4096];
		size_t n;
		while (f && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
			buf_append(&b, chunk, n);
		if (f)
			fclose(f);
		*dst[i] = b.data ? b.data : xstrdup("");
		free(paths[i]);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int
ctl(const char *args, char **out, char **err)
{
	return ctl_with("config/sim.yaml", args, out, err);
}

/* Issue 12: a designer previews at the bench with neither a daemon nor an
 * installed configuration: the shipped example's laser, said on stderr. */
static void
t_no_configuration(void)
{
	char *out, *err, *out2, *err2;
	char *missing = xasprintf("%s/no-such-folder/atelier.yaml", dir);
	CHECK_INT(ctl_with(missing, "engrave gcode --text Ana --area 20x5", &out, &err), 0);
	char *note = xasprintf("atelierctl engrave: %s does not exist: laying out with the shipped "
	    "example's laser (config/atelier.yaml: work area 110 x 110 mm, characters of at least "
	    "0.8 mm); give the bench's configuration with --config FILE\n", missing);
	CHECK(strncmp(err, note, strlen(note)) == 0);
	if (strncmp(err, note, strlen(note)) != 0)
		printf("  stderr: %s\n", err);
	CHECK_INT(ctl_with("config/atelier.yaml", "engrave gcode --text Ana --area 20x5", &out2,
	    &err2), 0);
	CHECK(strlen(out) > 100);
	CHECK_STR(out, out2);                   /* exactly the example's layout */
	free(out2);
	free(err2);
	free(out);
	free(err);
	/* Past the example's 110 mm the work area refuses, as on its bench. */
	CHECK_INT(ctl_with(missing, "--json engrave preview --text Ana --area 20x5 --origin 100,10",
	    &out, &err), 5);
	CHECK_CONTAINS(out, "110");
	free(out);
	free(err);
	/* A configuration that exists but does not load is an error, not a
	 * reason to guess. */
	char *bad = xasprintf("%s/bad.yaml", dir);
	FILE *f = fopen(bad, "w");
	if (f) {
		fputs("stations:\n  - {name: laser, kind: laser, port: p, work_x: wide}\n", f);
		fclose(f);
	}
	CHECK_INT(ctl_with(bad, "engrave gcode --text Ana --area 20x5", &out, &err), 5);
	CHECK_CONTAINS(err, "bad.yaml:2:49: stations[0].work_x must be a number in mm, not 'wide'");
	CHECK_CONTAINS(err, "cannot load the configuration");
	free(out);
	free(err);
	free(bad);
	free(note);
	free(missing);
}

static void
t_gcode_and_preview(void)
{
	char *out, *err;
	CHECK_INT(ctl("engrave gcode --text 'Léa & Zoë' --area 30x8 --material gold", &out, &err), 0);
	CHECK(strncmp(out, "G21G90\nM4S0\n", 12) == 0);
	CHECK_CONTAINS(out, "F600S800");  /* gold: 600 mm/min, 80 % of $30=1000 */
	CHECK_CONTAINS(out, "\nM5\n");
	CHECK_CONTAINS(err, "character height");
	free(out);
	free(err);
	CHECK_INT(ctl("engrave preview --text 'שלום 2026' --area 30x8 --fill hatch", &out, &err), 0);
	CHECK(strncmp(out, "<?xml", 5) == 0);
	CHECK_CONTAINS(out, "id=\"burn\"");
	free(out);
	free(err);
	/* Issue 12: accented names in single stroke; a script with no
	 * single-stroke font refused (exit 3) with the reason. */
	CHECK_INT(ctl("engrave preview --text 'Amélie & François' --area 30x8 --fill stroke", &out,
	    &err), 0);
	CHECK_CONTAINS(out, "id=\"burn\"");
	free(out);
	free(err);
	CHECK_INT(ctl("engrave preview --text 'שלום' --area 30x8 --fill stroke", &out, &err), 3);
	CHECK_CONTAINS(err, "single stroke has no font for Hebr");
	free(out);
	free(err);
	char *o = xasprintf("engrave preview --symbol heart --round 15 -o %s/heart.svg", dir);
	CHECK_INT(ctl(o, &out, &err), 0);
	free(o);
	free(out);
	free(err);
	char *p = xasprintf("%s/heart.svg", dir);
	CHECK(access(p, R_OK) == 0);
	free(p);
}

static void
t_json_and_refusals(void)
{
	char *out, *err;
	CHECK_INT(ctl("--json engrave preview --date 2026-11-23 --lang ja --date-style long "
	    "--ring 52 --band 3", &out, &err), 0);
	CHECK_CONTAINS(out, "\"status\": \"ok\"");
	CHECK_CONTAINS(out, "2026年11月23日");
	CHECK_CONTAINS(out, "\"svg\"");
	free(out);
	free(err);
	CHECK_INT(ctl("engrave gcode --text 'Alexandra Maximiliane' --area 8x3", &out, &err), 3);
	CHECK_CONTAINS(err, "mm at 0.8 mm;");
	CHECK_CONTAINS(err, "7.6 mm available");
	CHECK_INT(strlen(out), 0);
	free(out);
	free(err);
	/* Vithkuqi (Unicode 14): no face of Debian's Noto or Symbola has it. */
	CHECK_INT(ctl("--json engrave gcode --text 'Ab 𐕰' --area 20x8", &out, &err), 3);
	CHECK_CONTAINS(out, "\"missing_glyph\"");
	CHECK_CONTAINS(out, "U+10570");
	free(out);
	free(err);
	CHECK_INT(ctl("engrave gcode --text \"$(printf 'caf\\303')\" --area 20x8", &out, &err), 5);
	CHECK_CONTAINS(err, "not valid UTF-8");
	free(out);
	free(err);
	CHECK_INT(ctl("engrave gcode --text x --area 0x8", &out, &err), 5);
	CHECK_CONTAINS(err, "positive width");
	free(out);
	free(err);
	/* Issue 19's design is over the layout's budget: refused (3) with the
	 * limit and its numbers. */
	CHECK_INT(ctl("--json engrave preview --svg tests/data/engrave/nested-use.svg --area 90x90 "
	    "--fill hatch --hatch-interval 0.01 --cross", &out, &err), 3);
	CHECK_CONTAINS(out, "\"status\": \"over_budget\"");
	CHECK_CONTAINS(out, "\"limit\": \"points\"");
	CHECK_CONTAINS(out, "more than 300,000 points");
	free(out);
	free(err);
	CHECK_INT(ctl("engrave preview --svg tests/data/engrave/nested-use.svg --area 90x90", &out,
	    &err), 3);
	CHECK_CONTAINS(err, "more than 300,000 points");
	CHECK_INT(strlen(out), 0);
	free(out);
	free(err);
}

static void
t_usage(void)
{
	char *out, *err;
	CHECK_INT(ctl("engrave burn --text x --area 1x1", &out, &err), 2);
	free(out);
	free(err);
	CHECK_INT(ctl("engrave gcode --area 10x10", &out, &err), 2);
	CHECK_CONTAINS(err, "exactly one of --text");
	free(out);
	free(err);
	CHECK_INT(ctl("engrave gcode --text x --ring 52", &out, &err), 2);
	CHECK_CONTAINS(err, "--band");
	free(out);
	free(err);
	CHECK_INT(ctl("engrave gcode --text x --area 10", &out, &err), 2);
	free(out);
	free(err);
}

/* Issue 18, item 4, at the command line: refusals with exit 5 and no
 * program, and a design's summary giving its size. */
static void
t_bounds_and_summary(void)
{
	char *out, *err;
	CHECK_INT(ctl("engrave gcode --text Ana --ring 52 --band 4 --origin 500,500", &out, &err), 5);
	CHECK_CONTAINS(err, "is outside the laser's");
	CHECK_INT(strlen(out), 0);
	free(out);
	free(err);
	CHECK_INT(ctl("engrave gcode --text Ana --area 20x5 --height 0.5", &out, &err), 5);
	CHECK_CONTAINS(err, "0.50 mm is below the laser's minimum of 0.80 mm");
	CHECK_INT(strlen(out), 0);
	free(out);
	free(err);
	CHECK_INT(ctl("engrave gcode --text Ana --ring 52 --band 4 --arc", &out, &err), 5);
	CHECK_CONTAINS(err, "--arc cannot be used with --ring");
	free(out);
	free(err);
	char *o = xasprintf("engrave preview --symbol heart --area 20x18 -o %s/h.svg", dir);
	CHECK_INT(ctl(o, &out, &err), 0);
	CHECK_CONTAINS(err, "heart: 1 paths, size 18.");
	CHECK(strstr(err, "character height") == NULL);
	free(o);
	free(out);
	free(err);
	CHECK_INT(ctl("engrave gcode --text Ana --area 20x5", &out, &err), 0);
	CHECK_CONTAINS(err, "Ana: ");
	CHECK_CONTAINS(err, "character height ");
	free(out);
	free(err);
}

int
main(void)
{
	strcpy(dir, "/tmp/test_engrave_ctl.XXXXXX");
	if (!test_mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(t_gcode_and_preview);
	RUN(t_json_and_refusals);
	RUN(t_usage);
	RUN(t_no_configuration);
	RUN(t_bounds_and_summary);
	char *rm = xasprintf("rm -rf '%s'", dir);
	if (system(rm) != 0)
		printf("  could not remove %s\n", dir);
	free(rm);
	return test_summary();
}
