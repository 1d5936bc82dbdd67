/*
 * JSON form of an engraving result, shared by `atelierctl engrave --json`
 * and the daemon's API so both report a fit decision, refusal and missing
 * characters the same way.
 */
#include "engrave/engrave.h"

#include <jansson.h>
#include <math.h>

/* Millimetres to the micrometre: more digits are noise in a report. */
static double
r3(double v)
{
	return round(v * 1000) / 1000;
}

struct json_t *
engrave_result_json(const struct engrave_result *res, bool with_gcode, bool with_svg)
{
	json_t *o = json_object();
	json_object_set_new(o, "status", json_string(engrave_status_name(res->status)));
	if (res->error)
		json_object_set_new(o, "error", json_string(res->error));
	if (res->text_used)
		json_object_set_new(o, "text", json_string(res->text_used));
	if (res->n_missing) {
		json_t *a = json_array();
		for (size_t i = 0; i < res->n_missing; i++) {
			char cp[16];
			snprintf(cp, sizeof(cp), "U+%04X", (unsigned)res->missing[i].codepoint);
			json_array_append_new(a, json_pack("{s:s, s:I, s:I}", "codepoint", cp,
			    "position", (json_int_t)res->missing[i].position,
			    "line", (json_int_t)res->missing[i].line));
		}
		json_object_set_new(o, "missing", a);
	}
	const struct engrave_fit *f = &res->fit;
	json_object_set_new(o, "fit", json_pack("{s:b, s:f, s:f, s:f, s:f, s:f, s:f, s:I}",
	    "fits", f->fits, "area_w", r3(f->area_w), "area_h", r3(f->area_h), "scale", r3(f->scale),
	    "char_height", r3(f->char_height), "needed", r3(f->needed), "available", r3(f->available),
	    "lines", (json_int_t)f->lines));
	if (res->status == ENGRAVE_OK) {
		const struct engrave_stats *s = &res->stats;
		json_object_set_new(o, "stats", json_pack("{s:I, s:I, s:f, s:f, s:f, s:f, s:I, s:I}",
		    "paths", (json_int_t)s->paths, "segments", (json_int_t)s->segments,
		    "burn_mm", r3(s->burn_mm), "travel_mm", r3(s->travel_mm),
		    "travel_as_drawn_mm", r3(s->travel_as_drawn_mm), "seconds", r3(s->seconds),
		    "gcode_bytes", (json_int_t)s->gcode_bytes, "gcode_lines", (json_int_t)s->gcode_lines));
		if (with_gcode && res->gcode)
			json_object_set_new(o, "gcode", json_string(res->gcode));
		if (with_svg && res->svg)
			json_object_set_new(o, "svg", json_string(res->svg));
	}
	return o;
}
