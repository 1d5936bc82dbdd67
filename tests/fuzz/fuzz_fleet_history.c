/* Fuzz target: arbitrary bytes as the shared history's answer about a
 * piece (a PostgreSQL server's, which may be anyone's), merged into this
 * workshop's history. Whatever the answer, the merge keeps every local
 * entry, takes only objects, and leaves two arrays. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "fleet/fleet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	json_t *shared = json_loadb((const char *)data + 1, size - 1, 0, NULL);
	json_t *local = NULL;
	if (data[0] & 1)
		local = json_loads("{\"piece\": {\"serial\": \"FR-1\"}, \"jobs\": [{\"id\": 1, "
		    "\"created\": \"2026-12-01T10:00:00.000Z\"}], \"events\": [{\"t\": "
		    "\"2026-12-01T10:00:00.000Z\", \"what\": \"job created\"}]}", 0, NULL);
	json_t *out = fleet_history_merge(local, shared, (data[0] & 2) ? "no answer" : NULL,
	    "paris", "Paris");
	if (local && !out)
		abort();
	if (out) {
		json_t *jobs = json_object_get(out, "jobs"), *events = json_object_get(out, "events");
		if (!json_is_array(jobs) || !json_is_array(events))
			abort();
		if (local && (json_array_size(jobs) < 1 || json_array_size(events) < 1))
			abort();
		size_t i;
		json_t *o;
		json_array_foreach(jobs, i, o)
			if (!json_is_object(o))
				abort();
	}
	json_decref(out);
	json_decref(shared);
	return 0;
}
