/*
 * Fuzz target: arbitrary bytes as the text a client asks to engrave, run
 * through the whole pipeline (decoding, script runs, bidi, shaping with the
 * configured fonts, fit, hatch, ordering, G-code and preview). The first
 * byte picks the area, fill and language so those paths are fuzzed too.
 * Every input ends in a result or a sentence naming the problem.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engrave/engrave.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const langs[] = { NULL, "fr", "ar", "he", "ja", "zh", "ko", "hi" };
	static struct engrave_settings s;
	static int ready;
	if (!ready) {
		engrave_settings_default(&s, NULL);
		s.max_chars = 64;  /* keeps each run short; the limit itself is checked */
		ready = 1;
	}
	if (size == 0)
		return 0;
	uint8_t ctl = data[0];
	char *text = malloc(size);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = 0;
	struct engrave_request r = { .content = ENGRAVE_TEXT, .text = text,
		.lang = langs[ctl & 7], .area = (enum engrave_area_kind)((ctl >> 3) % 3),
		.width = 30, .height = 6, .ring_size = 52, .band_width = 3,
		.fill = (enum engrave_fill)((ctl >> 5) % 3), .hatch_interval = 0.2,
		.cross_hatch = (ctl & 0x80) != 0 };
	struct engrave_result res;
	enum engrave_status st = engrave_run(&s, &r, &res);
	if (st != ENGRAVE_OK && (!res.error || !res.error[0]))
		abort();
	if (st == ENGRAVE_OK && (!res.gcode || !res.svg))
		abort();
	engrave_result_free(&res);
	free(text);
	return 0;
}
