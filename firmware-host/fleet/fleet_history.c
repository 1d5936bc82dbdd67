/*
 * A piece's history at every workshop (see fleet.h): this workshop's own
 * journal, read locally, with what the shared history answered about the
 * others, each entry naming its workshop and the lists in time order. The
 * answer comes from a server: whatever its shape, only objects are taken
 * from it, and nothing in it can fail the local part.
 */
#include "fleet/fleet.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ISO 8601 times in UTC sort as text. */
static int
by_time(const void *a, const void *b, const char *key)
{
	const char *x = json_string_value(json_object_get(*(json_t *const *)a, key));
	const char *y = json_string_value(json_object_get(*(json_t *const *)b, key));
	return strcmp(x ? x : "", y ? y : "");
}
static int by_created(const void *a, const void *b) { return by_time(a, b, "created"); }
static int by_t(const void *a, const void *b) { return by_time(a, b, "t"); }

/* Appends the objects of from to to, then sorts to; qsort is not stable,
 * so entries of the same millisecond may come in either order. */
static void
merge_sorted(json_t *to, json_t *from, int (*cmp)(const void *, const void *))
{
	size_t i;
	json_t *o;
	json_array_foreach(from, i, o)
		if (json_is_object(o))
			json_array_append(to, o);
	size_t n = json_array_size(to);
	json_t **v = xcalloc(n ? n : 1, sizeof *v);
	for (i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(to, i));
	qsort(v, n, sizeof *v, cmp);
	json_array_clear(to);
	for (i = 0; i < n; i++)
		json_array_append_new(to, v[i]);
	free(v);
}

static void
mark(json_t *arr, const char *workshop, const char *name)
{
	size_t i;
	json_t *o;
	json_array_foreach(arr, i, o) {
		json_object_set_new(o, "workshop", json_string(workshop));
		json_object_set_new(o, "workshop_name", json_string(name));
	}
}

json_t *
fleet_history_merge(json_t *local, json_t *shared, const char *why, const char *workshop,
    const char *name)
{
	json_t *other_piece = json_object_get(shared, "piece");
	if (!local && !json_is_object(other_piece))
		return NULL;
	if (!local)
		local = json_pack("{s:O, s:[], s:[]}", "piece", other_piece, "jobs", "events");
	json_t *jobs = json_object_get(local, "jobs"), *events = json_object_get(local, "events");
	if (!json_is_array(jobs))
		json_object_set_new(local, "jobs", jobs = json_array());
	if (!json_is_array(events))
		json_object_set_new(local, "events", events = json_array());
	mark(jobs, workshop, name);
	mark(events, workshop, name);
	merge_sorted(jobs, json_object_get(shared, "jobs"), by_created);
	merge_sorted(events, json_object_get(shared, "events"), by_t);
	json_object_set_new(local, "shared", why ? json_pack("{s:b, s:s, s:s}", "answered", 0,
	    "why", why, "scope", "this workshop's history only: the shared history did not answer") :
	    json_pack("{s:b, s:s}", "answered", 1, "scope", "every workshop's history"));
	json_object_set_new(local, "workshop", json_string(workshop));
	return local;
}
