/*
 * Fuzz target: arbitrary bytes as lines from a GRBL controller, through
 * the response parser with the status carried from line to line, and the
 * line cleaner used on programs before they are streamed.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "grbl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct grbl_status st;
	struct grbl_response r;
	char *text = malloc(size + 1);
	char clean[GRBL_MAX_LINE + 2];
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	memset(&st, 0, sizeof st);
	char *save, *line = strtok_r(text, "\n", &save);
	while (line) {
		grbl_parse(line, &st, &r);
		if (grbl_clean_line(line, clean, sizeof clean) > GRBL_MAX_LINE)
			abort();
		line = strtok_r(NULL, "\n", &save);
	}
	free(text);
	return 0;
}
