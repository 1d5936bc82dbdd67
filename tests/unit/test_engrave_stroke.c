/*
 * Single-stroke text (--fill stroke, the Hershey font): what the font has
 * is engraved as it always was, byte for byte against G-code written
 * before accented letters were composed (tests/data/engrave/stroke-*.gcode).
 * The tests run from the top of the tree.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engrave/engrave.h"
#include "engrave/engrave_int.h"
#include "test.h"
#include "util.h"

static struct engrave_settings S;

/* Every printable ASCII character, on two lines in a rectangle and on an
 * arc: the G-code the engine wrote before accents were composed. */
static void
t_ascii_unchanged(void)
{
	struct engrave_request rect = { .content = ENGRAVE_TEXT,
		.text = "The quick brown fox jumps over the lazy dog 0123456789\n"
		    "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~ PACK MY BOX WITH FIVE DOZEN LIQUOR JUGS",
		.area = ENGRAVE_AREA_RECT, .width = 90, .height = 12, .fill = ENGRAVE_FILL_STROKE,
		.material = "gold" };
	struct engrave_request round = { .content = ENGRAVE_TEXT, .text = "Camille 2026",
		.area = ENGRAVE_AREA_ROUND, .width = 20, .fill = ENGRAVE_FILL_STROKE,
		.material = "gold" };
	const struct {
		const struct engrave_request *r;
		const char *file;
	} cases[] = {
		{ &rect, "tests/data/engrave/stroke-ascii.gcode" },
		{ &round, "tests/data/engrave/stroke-ascii-round.gcode" },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		size_t len = 0;
		char *want = file_read(cases[i].file, 0, &len);
		if (!want)
			printf("  cannot read %s\n", cases[i].file);
		struct engrave_result res;
		CHECK_INT(engrave_run(&S, cases[i].r, &res), ENGRAVE_OK);
		CHECK(want && res.gcode && strlen(res.gcode) == len && memcmp(res.gcode, want, len) == 0);
		engrave_result_free(&res);
		free(want);
	}
}

int
main(void)
{
	engrave_settings_default(&S, NULL);
	RUN(t_ascii_unchanged);
	engrave_cache_clear();
	return test_summary();
}
