/*
 * Fuzz target: arbitrary text as a program for the laser station, through
 * the content check every program passes before anything is sent.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/laser_program.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	struct laser_program_info info;
	char err[300];
	laser_program_check(text, &info, err, sizeof err);
	free(text);
	return 0;
}
