/*
 * Engraving content: turns a client's request (a text in any script, a date
 * in their language, a symbol or an SVG design) into a laser toolpath that
 * fits the piece, the GRBL laser-mode G-code that burns it and an SVG
 * preview for the jeweller. Pure computation: no device, no daemon.
 *
 * The one entry point is engrave_run(): request in, result out (toolpath,
 * G-code text, SVG text, fit decision, errors). The API and atelierctl both
 * call it, and a job's engraving step burns exactly result.gcode.
 *
 * Units: millimetres. Geometry is laid out in the engraving area with the
 * origin at its lower-left corner and y up (the machine's sense); the
 * G-code adds the area's origin on the machine.
 */
#ifndef ATELIER_ENGRAVE_H
#define ATELIER_ENGRAVE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- geometry --------------------------------------------------------- */

struct engrave_pt {
	double x, y;
};

/* One polyline; closed means the last point joins the first (the point is
 * repeated explicitly once the path is finished, so burning it is just
 * following the points). */
struct engrave_poly {
	struct engrave_pt *pts;
	size_t n, cap;
	bool closed;
};

struct engrave_paths {
	struct engrave_poly *v;
	size_t n, cap;
};

struct engrave_bbox {
	double x0, y0, x1, y1;  /* x0 > x1 when empty */
};

void engrave_paths_init(struct engrave_paths *p);
void engrave_paths_free(struct engrave_paths *p);
/* Starts a new polyline and returns it (valid until the next call). */
struct engrave_poly *engrave_paths_new_poly(struct engrave_paths *p);
void engrave_poly_add(struct engrave_poly *poly, double x, double y);
/* Moves every polyline of src to the end of dst; src is left empty. */
void engrave_paths_move(struct engrave_paths *dst, struct engrave_paths *src);
/* Applies x' = a x + c y + e, y' = b x + d y + f (SVG matrix order). */
void engrave_paths_transform(struct engrave_paths *p, const double m[6]);
struct engrave_bbox engrave_paths_bbox(const struct engrave_paths *p);
size_t engrave_paths_segments(const struct engrave_paths *p);
double engrave_paths_length(const struct engrave_paths *p);

/* Parallel hatch lines inside the closed polylines of src, interval in
 * mm, angle in degrees, inside meaning nonzero winding (glyphs, whose
 * shaped outlines may overlap) or even-odd (designs: a contour inside a
 * contour is a hole whatever its direction); appended to dst. Returns the
 * number of lines added, or SIZE_MAX when more than max_lines would be
 * needed (dst then holds max_lines of them). */
size_t engrave_hatch(const struct engrave_paths *src, double interval,
    double angle_deg, bool even_odd, size_t max_lines, struct engrave_paths *dst);
/* The number of hatch lines engrave_hatch would make, estimated without
 * hatching: the crossings of every closed outline's edges with the hatch
 * rows (counted per edge from its extent across the rows), halved. Within
 * a line or so per edge of the count for outlines that do not overlap, a
 * bound under even-odd where they do; it costs one pass over the points. */
size_t engrave_hatch_estimate(const struct engrave_paths *src, double interval,
    double angle_deg);

/* ---- SVG reader ------------------------------------------------------- */

/*
 * Reads an SVG document's geometry: path (every command, arcs included),
 * rect, circle, ellipse, line, polyline, polygon, g, nested svg, transform
 * and viewBox. Output is in the document's user units with y up (flipped
 * from SVG's y down), curves flattened to within tol_rel times the larger
 * side of the document. Refuses external references, DOCTYPE entities,
 * text and raster images, nesting deeper than 32, numbers beyond 1e6,
 * documents over 4 MiB, and (the defaults of struct engrave_budget) more
 * than 300000 points or <use> nested more than 4 deep.
 * Returns 0, or -1 with a sentence in err (err_len bytes) naming the
 * problem and its line.
 */
int engrave_svg_read(const char *data, size_t len, double tol_rel,
    struct engrave_paths *out, char *err, size_t err_len);

/* ---- dates ------------------------------------------------------------ */

enum engrave_date_style {
	ENGRAVE_DATE_NUMERIC = 0,  /* 23.11.2026, 23/11/2026, 11/23/2026 */
	ENGRAVE_DATE_LONG,         /* 23 novembre 2026, 2026年11月23日 */
	ENGRAVE_DATE_ISO,          /* 2026-11-23 */
};

/*
 * Writes the date in the language (ISO 639-1 code, optionally with a
 * region: "en", "en-US", "fr", "de", "es", "it", "pt", "ru", "ar", "he",
 * "hi", "ko", "el", "ja", "zh", "nl") and style, UTF-8, into out.
 * Returns 0, or -1 with errno EINVAL for an impossible date, ENOENT for an
 * unknown language, ENOSPC when out is too small.
 */
int engrave_date_format(int year, int month, int day, const char *lang,
    enum engrave_date_style style, char *out, size_t out_len);
/* Parses "YYYY-MM-DD" (a real calendar date); returns 0 or -1. */
int engrave_date_parse(const char *s, int *year, int *month, int *day);
/* Parses "numeric", "long", "iso"; returns 0 or -1. */
int engrave_date_style_parse(const char *s, enum engrave_date_style *out);

/* ---- budget ----------------------------------------------------------- */

/*
 * How much work one layout may take. The limits are checked while
 * computing, as early as each can be known (points as the SVG reader
 * produces them, <use> depth as it descends, hatch lines estimated before
 * hatching, the clock and the cancel flag every few thousand steps of each
 * loop), so a runaway or hostile request is refused with its numbers
 * instead of tying up the worker that lays it out.
 *
 * A size limit of 0 takes its default (engrave_budget_default, the one
 * place they are named; docs/engraving.md explains them); there is no
 * "unlimited": a caller that trusts its input raises the number. A time of
 * 0 is no limit.
 */
struct engrave_budget {
	double seconds;             /* compute time from engrave_run's start; 0 = none */
	double deadline;            /* now_mono() time to stop at; 0 = none. For a
	                             * worker counting from when the request came */
	const atomic_int *cancel;   /* another thread sets it non-zero to stop; NULL = none */
	size_t max_segments;        /* toolpath segments, outlines and hatch lines */
	size_t max_points;          /* points the SVG reader produces, <use> copies included */
	int max_use_depth;          /* <use> drawn inside what a <use> draws */
	size_t max_hatch_lines;     /* estimated before hatching */
};

/* Fills b with the defaults: 5 s, 300000 segments, 300000 SVG points,
 * <use> 4 deep, 300000 hatch lines; no deadline, no cancel flag. */
void engrave_budget_default(struct engrave_budget *b);

/* Which limit stopped a layout (ENGRAVE_ERR_BUDGET). */
enum engrave_limit {
	ENGRAVE_LIMIT_NONE = 0,
	ENGRAVE_LIMIT_TIME,         /* seconds or deadline */
	ENGRAVE_LIMIT_CANCEL,       /* the cancel flag was set */
	ENGRAVE_LIMIT_SEGMENTS,
	ENGRAVE_LIMIT_POINTS,
	ENGRAVE_LIMIT_USE_DEPTH,
	ENGRAVE_LIMIT_HATCH_LINES,
};

/* "time", "cancelled", "segments", "points", "use_depth", "hatch_lines". */
const char *engrave_limit_name(enum engrave_limit l);

/* ---- settings --------------------------------------------------------- */

/* One fallback chain: the fonts tried in order for a script. key is an
 * ISO 15924 tag ("Latn", "Arab", "Hani"), optionally with ":lang" ("Hani:ja"),
 * or "*" for every script. A font is "path" or "path:face-index". */
struct engrave_font_chain {
	const char *key;
	const char *const *fonts;   /* NULL-terminated */
};

/* Cutting settings of one material: power in % of the laser's maximum,
 * speed in mm/min, passes over each path. */
struct engrave_material {
	const char *name;
	double power;
	double speed;
	int passes;
};

/*
 * What the engraving needs from the configuration. engrave_settings_default
 * fills it from the laser section (min_char_height, resolution, max_power,
 * max_feed, work area) and compiled-in defaults for the rest, which are the
 * proposed `engrave:` section of the configuration (docs/engraving.md).
 */
/* The laser's rotary (cfg_rotary), when it has one: round pieces are
 * then burned turning, around the piece on Y, across the band on X. */
struct engrave_rotary {
	int kind;                   /* 0 none, 1 chuck, 2 rollers (enum cfg_rotary_kind) */
	double travel_per_turn;     /* Y units per full turn */
	double roller_diameter;     /* mm, rollers */
	double min_diameter, max_diameter;  /* mm, the pieces it holds */
	bool inner_band;            /* the head reaches the inside of a band */
	double inner_min_diameter;  /* mm */
};

struct engrave_settings {
	double min_char_height;     /* mm, refuse below */
	double resolution;          /* mm the machine resolves: G-code decimals */
	int max_power;              /* S for 100 % ($30) */
	double max_feed;            /* mm/min; also the G0 rate for time estimates */
	double work_x, work_y;      /* mm, machine travel */
	double chord_tolerance;     /* mm, curve flattening */
	double line_spacing;        /* line pitch in character heights */
	double edge_margin;         /* mm kept free at the area's edges */
	double ring_usable;         /* fraction of a ring's inner circumference usable */
	const struct engrave_font_chain *fonts;  /* terminated by key == NULL */
	const char *hershey_dir;    /* folder of the .jhf files */
	const char *hershey_font;   /* file name, e.g. "futural.jhf" */
	const char *symbol_dir;     /* folder of the symbol SVGs */
	const struct engrave_material *materials;  /* terminated by name == NULL */
	size_t max_chars;           /* refuse longer texts */
	struct engrave_rotary rotary;  /* from the laser; kind 0: a flat bed */
	/* Where the materials' power and speed come from, when not the table
	 * compiled in (the station's material test), said in the result. */
	const char *materials_source;
	/* Z at which the beam is in focus on the bed's surface (the focus
	 * calibration), NAN when unknown: the program then sets no Z. A round
	 * piece on the rotary raises it by the piece's radius. */
	double focus_z;
	struct engrave_budget budget;  /* per call: a worker sets deadline and cancel */
};

struct cfg_laser;
/* Fills s with defaults, taking the laser's numbers from laser when not
 * NULL. Strings point to static data. */
void engrave_settings_default(struct engrave_settings *s, const struct cfg_laser *laser);

/* ---- request and result ----------------------------------------------- */

enum engrave_content { ENGRAVE_TEXT = 0, ENGRAVE_DATE, ENGRAVE_SYMBOL, ENGRAVE_SVG };
enum engrave_fill { ENGRAVE_FILL_OUTLINE = 0, ENGRAVE_FILL_HATCH, ENGRAVE_FILL_STROKE };
enum engrave_align { ENGRAVE_ALIGN_CENTER = 0, ENGRAVE_ALIGN_LEFT, ENGRAVE_ALIGN_RIGHT };
/* RING, BANGLE and CYLINDER are round pieces: their band is laid out
 * unrolled, x around the piece and y across the band. */
enum engrave_area_kind { ENGRAVE_AREA_RECT = 0, ENGRAVE_AREA_ROUND, ENGRAVE_AREA_RING,
	ENGRAVE_AREA_BANGLE, ENGRAVE_AREA_CYLINDER };

struct engrave_request {
	enum engrave_content content;
	const char *text;           /* TEXT: UTF-8, lines separated by '\n';
	                             * SYMBOL/SVG: initials set inside the frame */
	const char *date;           /* DATE: "YYYY-MM-DD" */
	enum engrave_date_style date_style;
	const char *lang;           /* client's language; also picks CJK faces */
	const char *symbol;         /* SYMBOL: name of config/symbols/NAME.svg */
	const char *svg;            /* SVG: the document */
	size_t svg_len;

	enum engrave_area_kind area;
	double width, height;       /* RECT: mm; ROUND: diameter in width */
	double ring_size;           /* RING: European size (ISO 8653) */
	double band_width;          /* RING, BANGLE, CYLINDER: mm across the band */
	bool outer_band;            /* RING, BANGLE: the outside (else the inside) */
	double thickness;           /* RING, BANGLE: mm of metal (the outside's diameter) */
	double diameter;            /* BANGLE: inside, CYLINDER: the piece's, mm */
	double start_angle;         /* round pieces on a rotary: degrees turned before
	                             * the text starts (from the hallmark, say) */
	double origin_x, origin_y;  /* mm, the area's lower-left corner on the machine */

	double char_height;         /* mm wanted; 0 = as large as fits */
	enum engrave_align align;
	bool on_arc;                /* text along an arc (round pieces) */
	double arc_radius;          /* mm of the baseline; 0 = from the area */

	enum engrave_fill fill;
	double hatch_interval;      /* mm; 0 = from the resolution */
	double hatch_angle;         /* degrees */
	bool cross_hatch;

	const char *material;       /* name in the materials table */
	/* A technician's power (%) and speed (mm/min) for this engraving,
	 * over the material's; 0: the material's. */
	double power, speed;
	bool no_optimise;           /* keep the order as drawn (bench, debugging) */
};

enum engrave_status {
	ENGRAVE_OK = 0,
	ENGRAVE_ERR_INPUT,          /* bad request: encoding, empty, area, options */
	ENGRAVE_ERR_GLYPH,          /* characters no configured font has */
	ENGRAVE_ERR_SVG,            /* the design could not be read */
	ENGRAVE_ERR_FIT,            /* does not fit even at the minimum height */
	ENGRAVE_ERR_FONT,           /* a configured font could not be loaded */
	ENGRAVE_ERR_BUDGET,         /* over a limit of the budget, or stopped by time or cancel */
};

struct engrave_missing {
	uint32_t codepoint;
	size_t position;            /* character index in the text, from 0 */
	size_t line;                /* from 1 */
};

struct engrave_fit {
	bool fits;
	double area_w, area_h;      /* mm, after margins */
	double scale;               /* mm per em (text) or per design unit */
	double char_height;         /* mm, text only */
	double needed;              /* mm at the minimum height (refusals) */
	double available;           /* mm */
	char limiting;              /* 'w' or 'h' */
	size_t lines;
};

/* Where a round piece's band was laid: its diameters (for the preview's
 * view from above) and, on a rotary (kind not 0), what Y moves per mm
 * around it. */
struct engrave_round {
	int kind;                   /* the rotary's kind, 0: not on a rotary */
	double diameter;            /* mm of the surface engraved */
	double piece_diameter;      /* mm of the piece's outside (what is held) */
	double inner_diameter;      /* mm of its inside (0: a solid cylinder) */
	bool outside;               /* the text is on the outside */
	double y_per_mm;            /* Y units per mm around the surface */
	double start_y;             /* Y of the text's start (start_angle) */
	double text_mm;             /* the text's extent around the surface, mm */
};

/* The cutting parameters the program burns with, and why. */
struct engrave_params {
	const char *material;
	double power;               /* % of the laser's maximum */
	double speed;               /* mm/min on the piece's surface */
	int passes;
	char source[160];           /* "the laser's defaults for gold", the test, the job */
	double z;                   /* NAN: the program sets no Z */
};

struct engrave_stats {
	size_t paths, segments;
	double burn_mm, travel_mm, travel_as_drawn_mm;
	double seconds;             /* estimated machine time */
	size_t gcode_bytes, gcode_lines;
};

/* What a layout computed, kept when it is refused too: which limit refused
 * it and its numbers (for the JSON), and counters that show how far the
 * work went before (for tests, the bench and logs). */
struct engrave_work {
	enum engrave_limit limit;   /* ENGRAVE_ERR_BUDGET: the limit reached */
	double needed, allowed;     /* its numbers: seconds, segments, points, depth or lines;
	                             * needed is what was reached when the work stopped there */
	size_t svg_points;          /* points the SVG reader produced, <use> copies included */
	int use_depth;              /* deepest <use> nesting drawn */
	size_t hatch_estimate;      /* hatch lines estimated before hatching, both directions */
	size_t hatch_lines;         /* hatch lines made */
	size_t checks;              /* reads of the clock and the cancel flag */
	double seconds;             /* compute time */
};

struct engrave_result {
	enum engrave_status status;
	char *error;                /* sentence for the jeweller, or NULL */
	struct engrave_missing *missing;
	size_t n_missing;
	struct engrave_fit fit;
	struct engrave_paths toolpath;  /* in burn order, area coordinates */
	struct engrave_pt outline_c;    /* ROUND: centre of the piece */
	char *gcode;
	char *svg;
	struct engrave_stats stats;
	struct engrave_round round;
	struct engrave_params params;
	char *text_used;            /* the text engraved (dates rendered) */
	struct engrave_work work;
};

/*
 * Lays out the request, fits it, orders the toolpath and writes the
 * G-code and the preview, within s->budget. Always fills res (free with
 * engrave_result_free); returns res->status: ENGRAVE_OK, or an error with
 * res->error set (and res->missing for ENGRAVE_ERR_GLYPH, res->fit for
 * ENGRAVE_ERR_FIT, res->work.limit and its numbers for ENGRAVE_ERR_BUDGET).
 * Text layout caches fonts for one thread: run every layout of a process in
 * the same thread, or clear the cache between threads.
 */
enum engrave_status engrave_run(const struct engrave_settings *s,
    const struct engrave_request *req, struct engrave_result *res);
void engrave_result_free(struct engrave_result *res);

/* The result as a JSON object (jansson's json_t, new reference): status,
 * error, text, missing [{codepoint "U+05D0", position, line}], fit {fits,
 * area_w, area_h, scale, char_height, needed, available, lines}, budget
 * {limit, needed, allowed} when over budget, stats, and the G-code and SVG
 * texts when asked. */
struct json_t;
struct json_t *engrave_result_json(const struct engrave_result *res, bool with_gcode,
    bool with_svg);

/* Fills req from the API's parameters (an object): text | date | symbol |
 * svg, date_style, lang, area "rect" (width, height) | "round" (diameter) |
 * "ring" (ring_size, band_width), origin_x, origin_y, char_height, align,
 * arc, arc_radius, fill, hatch_interval, hatch_angle, cross_hatch,
 * material. Strings point into o, which must outlive req. Returns 0, or -1
 * with a sentence in err (unknown field, wrong type, bad value). */
int engrave_request_from_json(struct json_t *o, struct engrave_request *req, char *err,
    size_t errlen);

/* The comment that opens a program made for a rotary, without its
 * parentheses: "ATELIER ROTARY CHUCK D19.55 Y5.8608/MM" (kind 2: ROLLERS).
 * The laser station knows such a program by it (laser_program.h). */
void engrave_rotary_header(char *out, size_t len, int kind, double diameter, double y_per_mm);

/* The materials table's name for a catalogue metal: the golds are
 * "gold", other names are their own. Writes it into out (len bytes). */
void engrave_material_of_metal(const char *metal, char *out, size_t len);
/* Whether the settings' materials table names it. */
bool engrave_material_known(const struct engrave_settings *s, const char *name);

/* Releases cached fonts (FreeType faces, Hershey tables); for tests and exit. */
void engrave_cache_clear(void);

const char *engrave_status_name(enum engrave_status st);
int engrave_fill_parse(const char *s, enum engrave_fill *out);
int engrave_align_parse(const char *s, enum engrave_align *out);

/* ---- lower layers, for tests and the bench ---------------------------- */

/* Inner circumference (mm) of a ring of European size (ISO 8653). */
double engrave_ring_circumference(double size);

/* Orders paths for short travel (nearest neighbour from the origin, then
 * 2-opt with path reversal); returns the travel length after. */
double engrave_order(struct engrave_paths *p);
/* The check of an order: 2-opt with path reversal over every pair of
 * positions (no neighbour lists, no window), passes repeated up to
 * max_passes or until none improves; reorders p and returns its travel.
 * O(n^2) a pass: for tests and the bench, not for layouts. */
double engrave_two_opt_full(struct engrave_paths *p, int max_passes);
/* Travel length of the order as it stands, starting from (0,0). */
double engrave_travel(const struct engrave_paths *p);
/* Lower bound on the travel of any order: the largest of the minimum
 * spanning tree over paths (edge = shortest hop between entry points: ends
 * of open paths, any vertex of closed ones), the sum of each path's nearest
 * neighbour less the largest, and both over the open paths alone. */
double engrave_travel_bound(const struct engrave_paths *p);

struct engrave_gcode_opts {
	double resolution;
	int power_s;
	double speed;
	int passes;
	double origin_x, origin_y;
	bool plain;                 /* every word on every line, 6 decimals: for comparison */
	/* A rotary's Y: Y units per mm around the piece (0 on a flat bed).
	 * The paths are then already in machine coordinates, and each burn's
	 * F is scaled so that the surface moves at speed under the beam. */
	double y_per_mm;
	const char *header;         /* a comment line first, or NULL */
	bool with_z;                /* G0 Z to z first */
	double z;
};
/* Returns the G-code for the paths in their order (new string). */
char *engrave_gcode(const struct engrave_paths *p, const struct engrave_gcode_opts *o,
    size_t *lines);

#endif
