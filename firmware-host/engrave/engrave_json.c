/*
 * JSON form of an engraving result, shared by `atelierctl engrave --json`
 * and the daemon's API so both report a fit decision, refusal and missing
 * characters the same way.
 */
#include "engrave/engrave.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

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
	if (res->status == ENGRAVE_ERR_BUDGET) {
		/* The limit and its numbers, as fit carries them for a refusal
		 * to fit: seconds for time and cancel, else counts. */
		const struct engrave_work *w = &res->work;
		json_object_set_new(o, "budget", json_pack("{s:s, s:f, s:f}",
		    "limit", engrave_limit_name(w->limit), "needed", r3(w->needed),
		    "allowed", r3(w->allowed)));
	}
	if (res->status == ENGRAVE_OK) {
		const struct engrave_stats *s = &res->stats;
		json_object_set_new(o, "stats", json_pack("{s:I, s:I, s:f, s:f, s:f, s:f, s:I, s:I}",
		    "paths", (json_int_t)s->paths, "segments", (json_int_t)s->segments,
		    "burn_mm", r3(s->burn_mm), "travel_mm", r3(s->travel_mm),
		    "travel_as_drawn_mm", r3(s->travel_as_drawn_mm), "seconds", r3(s->seconds),
		    "gcode_bytes", (json_int_t)s->gcode_bytes, "gcode_lines", (json_int_t)s->gcode_lines));
		const struct engrave_params *pa = &res->params;
		json_t *params = json_pack("{s:s, s:f, s:f, s:i, s:s}", "material",
		    pa->material ? pa->material : "", "power", r3(pa->power), "speed", r3(pa->speed),
		    "passes", pa->passes, "source", pa->source);
		json_object_set_new(params, "z", isfinite(pa->z) ? json_real(r3(pa->z)) : json_null());
		json_object_set_new(o, "parameters", params);
		if (res->round.kind)
			json_object_set_new(o, "rotary", json_pack("{s:s, s:f, s:f, s:f, s:f, s:f}",
			    "kind", res->round.kind == 2 ? "rollers" : "chuck",
			    "diameter", r3(res->round.diameter),
			    "piece_diameter", r3(res->round.piece_diameter),
			    "y_per_mm", round(res->round.y_per_mm * 1e6) / 1e6,
			    "start_y", r3(res->round.start_y), "text_mm", r3(res->round.text_mm)));
		if (with_gcode && res->gcode)
			json_object_set_new(o, "gcode", json_string(res->gcode));
		if (with_svg && res->svg)
			json_object_set_new(o, "svg", json_string(res->svg));
	}
	return o;
}

static int
get_num(json_t *o, const char *key, double *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);
	if (!v)
		return 0;
	if (!json_is_number(v)) {
		snprintf(err, errlen, "'%s' must be a number", key);
		return -1;
	}
	*out = json_number_value(v);
	return 0;
}

static int
get_str(json_t *o, const char *key, const char **out, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);
	if (!v)
		return 0;
	if (!json_is_string(v)) {
		snprintf(err, errlen, "'%s' must be a string", key);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

int
engrave_request_from_json(struct json_t *o, struct engrave_request *req, char *err,
    size_t errlen)
{
	static const char *const known[] = { "text", "date", "date_style", "lang", "symbol", "svg",
		"area", "width", "height", "diameter", "ring_size", "band_width", "origin_x",
		"origin_y", "char_height", "align", "arc", "arc_radius", "fill", "hatch_interval",
		"hatch_angle", "cross_hatch", "material", "band", "thickness", "start_angle", "power", "speed", NULL };
	const char *s = NULL, *area = NULL, *fill = NULL, *align = NULL, *band = NULL;
	memset(req, 0, sizeof(*req));
	if (!json_is_object(o)) {
		snprintf(err, errlen, "the engraving request must be an object");
		return -1;
	}
	const char *key;
	json_t *val;
	json_object_foreach(o, key, val) {
		size_t i = 0;
		while (known[i] && strcmp(known[i], key))
			i++;
		if (!known[i]) {
			snprintf(err, errlen, "unknown field '%s' in the engraving request", key);
			return -1;
		}
	}
	int contents = 0;
	if (get_str(o, "text", &req->text, err, errlen) || get_str(o, "date", &req->date, err, errlen) ||
	    get_str(o, "symbol", &req->symbol, err, errlen) || get_str(o, "svg", &req->svg, err, errlen) ||
	    get_str(o, "lang", &req->lang, err, errlen) || get_str(o, "material", &req->material, err, errlen) ||
	    get_str(o, "date_style", &s, err, errlen) || get_str(o, "area", &area, err, errlen) ||
	    get_str(o, "fill", &fill, err, errlen) || get_str(o, "align", &align, err, errlen) ||
	    get_str(o, "band", &band, err, errlen))
		return -1;
	if (req->text) { req->content = ENGRAVE_TEXT; contents++; }
	if (req->date) { req->content = ENGRAVE_DATE; contents++; }
	if (req->symbol) {
		req->content = ENGRAVE_SYMBOL;
		contents += req->text ? 0 : 1;  /* text with a symbol: initials inside it */
	}
	if (req->svg) { req->content = ENGRAVE_SVG; contents++; }
	if (contents != 1) {
		snprintf(err, errlen, "give exactly one of text, date, symbol, svg");
		return -1;
	}
	if (s && engrave_date_style_parse(s, &req->date_style) < 0) {
		snprintf(err, errlen, "date_style must be numeric, long or iso");
		return -1;
	}
	if (fill && engrave_fill_parse(fill, &req->fill) < 0) {
		snprintf(err, errlen, "fill must be outline, hatch or stroke");
		return -1;
	}
	if (align && engrave_align_parse(align, &req->align) < 0) {
		snprintf(err, errlen, "align must be left, center or right");
		return -1;
	}
	double diameter = 0;
	if (get_num(o, "width", &req->width, err, errlen) || get_num(o, "height", &req->height, err, errlen) ||
	    get_num(o, "diameter", &diameter, err, errlen) ||
	    get_num(o, "ring_size", &req->ring_size, err, errlen) ||
	    get_num(o, "band_width", &req->band_width, err, errlen) ||
	    get_num(o, "origin_x", &req->origin_x, err, errlen) ||
	    get_num(o, "origin_y", &req->origin_y, err, errlen) ||
	    get_num(o, "char_height", &req->char_height, err, errlen) ||
	    get_num(o, "arc_radius", &req->arc_radius, err, errlen) ||
	    get_num(o, "hatch_interval", &req->hatch_interval, err, errlen) ||
	    get_num(o, "hatch_angle", &req->hatch_angle, err, errlen) ||
	    get_num(o, "thickness", &req->thickness, err, errlen) ||
	    get_num(o, "start_angle", &req->start_angle, err, errlen) ||
	    get_num(o, "power", &req->power, err, errlen) ||
	    get_num(o, "speed", &req->speed, err, errlen))
		return -1;
	if (!area || !strcmp(area, "rect")) {
		req->area = ENGRAVE_AREA_RECT;
	} else if (!strcmp(area, "round")) {
		req->area = ENGRAVE_AREA_ROUND;
		req->width = diameter;
	} else if (!strcmp(area, "ring")) {
		req->area = ENGRAVE_AREA_RING;
	} else if (!strcmp(area, "bangle")) {
		req->area = ENGRAVE_AREA_BANGLE;
		req->diameter = diameter;
	} else if (!strcmp(area, "cylinder")) {
		req->area = ENGRAVE_AREA_CYLINDER;
		req->diameter = diameter;
	} else {
		snprintf(err, errlen, "area must be rect, round, ring, bangle or cylinder");
		return -1;
	}
	if (band && strcmp(band, "inner") && strcmp(band, "outer")) {
		snprintf(err, errlen, "band must be inner or outer");
		return -1;
	}
	req->outer_band = band && !strcmp(band, "outer");
	req->on_arc = json_is_true(json_object_get(o, "arc")) || req->arc_radius > 0;
	req->cross_hatch = json_is_true(json_object_get(o, "cross_hatch"));
	if (req->svg)
		req->svg_len = strlen(req->svg);
	return 0;
}
