/*
 * The calibration records in the journal (the "calibrations" migration of
 * store.c): appended with their audit event in one transaction, read back
 * for the history, for the corrections in force and for the due dates.
 * The table's triggers refuse updates and deletes, so a record is kept
 * exactly as the technician committed it.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "calib/calib.h"
#include "engrave/engrave.h"
#include "journal/store.h"

static int
db_fail(sqlite3 *db, char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "the journal %s: %s", what, db ? sqlite3_errmsg(db) : "is not open");
	return -1;
}

int64_t
calib_store_add(struct store *s, const struct calib_record *r, char *err, size_t errlen)
{
	sqlite3 *db = store_db(s);
	sqlite3_stmt *st = NULL;
	if (!db)
		return db_fail(db, err, errlen, "is not open");
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(db, err, errlen, "is busy");
	const char *sql = r->t ?
	    "INSERT INTO calibrations (station, procedure, kind, technician, instrument, before, "
	    "after, note, t) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)" :
	    "INSERT INTO calibrations (station, procedure, kind, technician, instrument, before, "
	    "after, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		goto fail;
	const char *v[] = { r->station, r->procedure, r->kind, r->technician, r->instrument,
		r->before ? r->before : "{}", r->after ? r->after : "{}", r->note, r->t };
	for (int i = 0; i < (r->t ? 9 : 8); i++)
		sqlite3_bind_text(st, i + 1, v[i], -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(st);
	int64_t id = sqlite3_last_insert_rowid(db);
	char what[160];
	snprintf(what, sizeof what, "%s %s recorded (%s %lld)", r->station, r->procedure, r->kind,
	    (long long)id);
	if (store_event(s, r->technician, what, r->note, 0, err, errlen) < 0) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		db_fail(db, err, errlen, "cannot be written");
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return id;
fail:
	db_fail(db, err, errlen, "cannot record the calibration");
	sqlite3_finalize(st);
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

static json_t *
text_json(sqlite3_stmt *st, int col)
{
	const char *t = (const char *)sqlite3_column_text(st, col);
	return t ? json_string(t) : json_null();
}

json_t *
calib_store_history(struct store *s, const char *station, int limit, char *err, size_t errlen)
{
	sqlite3 *db = store_db(s);
	sqlite3_stmt *st;
	if (!db || sqlite3_prepare_v2(db, "SELECT id, t, station, procedure, kind, technician, "
	    "instrument, before, after, note FROM calibrations WHERE ?1 IS NULL OR station = ?1 "
	    "ORDER BY id DESC LIMIT ?2", -1, &st, NULL) != SQLITE_OK) {
		db_fail(db, err, errlen, "cannot be read");
		return NULL;
	}
	sqlite3_bind_text(st, 1, station, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 2, limit > 0 ? limit : 1000);
	json_t *out = json_array();
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *before = json_loads((const char *)sqlite3_column_text(st, 7), 0, NULL);
		json_t *after = json_loads((const char *)sqlite3_column_text(st, 8), 0, NULL);
		json_array_append_new(out, json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, "
		    "s:o}", "id", (json_int_t)sqlite3_column_int64(st, 0), "time", text_json(st, 1),
		    "station", text_json(st, 2), "procedure", text_json(st, 3), "kind",
		    text_json(st, 4), "technician", text_json(st, 5), "instrument", text_json(st, 6),
		    "before", before ? before : json_null(), "after", after ? after : json_null(),
		    "note", text_json(st, 9)));
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		json_decref(out);
		db_fail(db, err, errlen, "cannot be read");
		return NULL;
	}
	return out;
}

json_t *
calib_store_latest(struct store *s, const char *station, const char *procedure)
{
	sqlite3 *db = store_db(s);
	sqlite3_stmt *st;
	json_t *out = NULL;
	if (!db || sqlite3_prepare_v2(db, "SELECT after FROM calibrations WHERE station = ? AND "
	    "procedure = ? ORDER BY id DESC LIMIT 1", -1, &st, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_text(st, 1, station, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, procedure, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW)
		out = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
	sqlite3_finalize(st);
	return out;
}

int
calib_store_grid_choice(struct store *s, const char *station, const char *metal,
    const char *material, double *power, double *speed, char *when, size_t whenlen,
    int64_t *record)
{
	sqlite3 *db = store_db(s);
	sqlite3_stmt *st;
	if (!db || sqlite3_prepare_v2(db, "SELECT id, t, after FROM calibrations WHERE station = ? "
	    "AND procedure = 'laser.grid' ORDER BY id DESC", -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, station, -1, SQLITE_TRANSIENT);
	int rc = 1, step;
	while (rc == 1 && (step = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *after = json_loads((const char *)sqlite3_column_text(st, 2), 0, NULL);
		const char *m = json_string_value(json_object_get(after, "metal"));
		json_t *chosen = json_object_get(after, "chosen");
		char of[40];
		engrave_material_of_metal(m, of, sizeof of);
		if (m && json_is_object(chosen) && ((metal && strcmp(m, metal) == 0) ||
		    (material && strcmp(of, material) == 0))) {
			*power = json_number_value(json_object_get(chosen, "power"));
			*speed = json_number_value(json_object_get(chosen, "speed"));
			*record = sqlite3_column_int64(st, 0);
			snprintf(when, whenlen, "%s", (const char *)sqlite3_column_text(st, 1));
			rc = 0;
		}
		json_decref(after);
	}
	sqlite3_finalize(st);
	return rc;
}

int
calib_store_last(struct store *s, const char *station, char *t, size_t tlen, double *age_days)
{
	sqlite3 *db = store_db(s);
	sqlite3_stmt *st;
	if (!db || sqlite3_prepare_v2(db, "SELECT t, julianday('now') - julianday(t) FROM "
	    "calibrations WHERE station = ? AND kind = 'calibration' ORDER BY t DESC, id DESC "
	    "LIMIT 1", -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, station, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(st), found = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
	if (found == 1) {
		snprintf(t, tlen, "%s", (const char *)sqlite3_column_text(st, 0));
		*age_days = sqlite3_column_double(st, 1);
	}
	sqlite3_finalize(st);
	return found;
}

json_t *
calib_store_get(struct store *s, int64_t id)
{
	sqlite3 *db = store_db(s);
	sqlite3_stmt *st;
	json_t *out = NULL;
	if (!db || sqlite3_prepare_v2(db, "SELECT station, procedure, after FROM calibrations "
	    "WHERE id = ?", -1, &st, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		json_t *after = json_loads((const char *)sqlite3_column_text(st, 2), 0, NULL);
		out = json_pack("{s:o, s:o, s:o}", "station", text_json(st, 0), "procedure",
		    text_json(st, 1), "after", after ? after : json_null());
	}
	sqlite3_finalize(st);
	return out;
}
