/*
 * The journal's outbox (migration 6 in store.c): the events in order, for
 * atelier-sync to send to the shared history. Read-only here; triggers
 * write it as the journal changes.
 */
#include "journal/store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

int64_t
store_outbox_last(struct store *s)
{
	json_t *r = store_query(s, "SELECT coalesce(max(seq), 0) AS n FROM outbox", "");
	int64_t n = r ? json_integer_value(json_object_get(json_array_get(r, 0), "n")) : -1;
	json_decref(r);
	return n;
}

json_t *
store_outbox_after(struct store *s, int64_t after, int limit)
{
	json_t *rows = store_query(s, "SELECT seq, t, kind, body FROM outbox WHERE seq > ? "
	    "ORDER BY seq LIMIT ?", "ii", after, (int64_t)limit);
	size_t i;
	json_t *row;
	json_array_foreach(rows, i, row) {
		json_t *body = json_loads(json_string_value(json_object_get(row, "body")), 0, NULL);
		json_object_set_new(row, "body", body ? body : json_object());
	}
	return rows;
}

int
store_outbox_origin(struct store *s, char *out, size_t len)
{
	json_t *r = store_query(s, "SELECT id FROM outbox_origin LIMIT 1", "");
	const char *id = json_string_value(json_object_get(json_array_get(r, 0), "id"));
	int rc = id ? 0 : -1;
	snprintf(out, len, "%s", id ? id : "");
	json_decref(r);
	return rc;
}
