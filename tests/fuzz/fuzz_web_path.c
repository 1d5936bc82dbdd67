/* Fuzz target: arbitrary bytes as a decoded URL path asked of atelier-web.
 * A path it lets through to the web root has no segment that could climb
 * out of it or name a hidden file: no "..", no "." segment, no empty
 * segment, no backslash, no control byte, and it starts with '/'. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/gw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[512];
	if (size >= sizeof path)
		return 0;
	memcpy(path, data, size);
	path[size] = '\0';
	if (!gw_path_clean(path))
		return 0;
	if (path[0] != '/' || strstr(path, "/.") || strstr(path, "//") || strchr(path, '\\'))
		abort();
	for (const char *p = path; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			abort();
	return 0;
}
