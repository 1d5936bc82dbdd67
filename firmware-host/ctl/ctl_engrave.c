/*
 * atelierctl engrave preview|gcode: lays out an engraving locally (the same
 * engrave_run() the daemon's API calls) and writes its SVG preview or its
 * G-code, or with --json the whole result: fit decision, refusal with its
 * numbers, missing characters, statistics and the texts. The laser's
 * numbers come from --config, /etc/atelier/atelier.yaml by default, or,
 * where that file does not exist, from the shipped example compiled in.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg/cfg.h"
#include "ctl.h"
#include "engrave/engrave.h"
#include "util.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: atelierctl [--json] [--config FILE] engrave preview|gcode CONTENT AREA [OPTIONS]\n"
	    "content (one):\n"
	    "  --text TEXT            UTF-8 text; \\n in TEXT starts a new line\n"
	    "  --date YYYY-MM-DD      a date, with --lang and --date-style numeric|long|iso\n"
	    "  --symbol NAME          heart, star, infinity, monogram (config/symbols/NAME.svg);\n"
	    "                         with --text, the text goes inside (initials in the monogram)\n"
	    "  --svg FILE             an SVG design\n"
	    "area (one):\n"
	    "  --area WxH             rectangle in mm\n"
	    "  --round D              round piece of diameter D mm (text on an arc)\n"
	    "  --ring SIZE --band W   inner band of a ring, size of ISO 8653 (the inside's\n"
	    "                         circumference in mm); --outer --thickness T: its outside\n"
	    "  --bangle D --band W    a bangle of inside diameter D mm: its inside, or with\n"
	    "                         --outer --thickness T its outside\n"
	    "  --cylinder D --band W  a plain cylinder of diameter D mm\n"
	    "  round pieces are engraved turning on a laser with a rotary (--station);\n"
	    "  --start-angle DEG turns the piece before the text starts\n"
	    "options:\n"
	    "  --lang CODE  --height MM  --align left|center|right  --arc  --arc-radius MM\n"
	    "  --fill outline|hatch|stroke (stroke = single-stroke Hershey font)\n"
	    "  --hatch-interval MM  --hatch-angle DEG  --cross  --material NAME\n"
	    "  --origin X,Y  --no-optimise  -o FILE\n"
	    "  --station NAME         the laser station whose work area and limits apply\n"
	    "                         (needed when the configuration has several lasers)\n");
}

static int
parse_double(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end)
		return -1;
	*out = v;
	return 0;
}

/* Turns the two characters "\n" typed on a command line into a newline. */
static char *
unescape_newlines(const char *s)
{
	char *o = xstrdup(s), *w = o;
	for (const char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] == 'n') {
			*w++ = '\n';
			r++;
		} else {
			*w++ = *r;
		}
	}
	*w = 0;
	return o;
}

int
ctl_engrave(const struct ctl_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "text", required_argument, NULL, 't' },
		{ "date", required_argument, NULL, 'd' },
		{ "date-style", required_argument, NULL, 'D' },
		{ "lang", required_argument, NULL, 'l' },
		{ "symbol", required_argument, NULL, 'S' },
		{ "svg", required_argument, NULL, 'V' },
		{ "area", required_argument, NULL, 'a' },
		{ "round", required_argument, NULL, 'R' },
		{ "ring", required_argument, NULL, 'r' },
		{ "band", required_argument, NULL, 'b' },
		{ "bangle", required_argument, NULL, 'B' },
		{ "cylinder", required_argument, NULL, 'Y' },
		{ "outer", no_argument, NULL, 'u' },
		{ "thickness", required_argument, NULL, 'T' },
		{ "start-angle", required_argument, NULL, 'N' },
		{ "origin", required_argument, NULL, 'O' },
		{ "height", required_argument, NULL, 'H' },
		{ "align", required_argument, NULL, 'A' },
		{ "arc", no_argument, NULL, 'c' },
		{ "arc-radius", required_argument, NULL, 'C' },
		{ "fill", required_argument, NULL, 'f' },
		{ "hatch-interval", required_argument, NULL, 'i' },
		{ "hatch-angle", required_argument, NULL, 'g' },
		{ "cross", no_argument, NULL, 'x' },
		{ "material", required_argument, NULL, 'm' },
		{ "no-optimise", no_argument, NULL, 'n' },
		{ "output", required_argument, NULL, 'o' },
		{ "station", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct engrave_request req = { 0 };
	const char *out_path = NULL, *svg_path = NULL, *station = o->station;
	char *text = NULL, *svg_doc = NULL;
	int contents = 0, areas = 0, ch, rc = CTL_ERR_USAGE;
	bool have_band = false;

	if (argc < 2 || (strcmp(argv[1], "preview") && strcmp(argv[1], "gcode"))) {
		if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
			usage(stdout);
			return CTL_OK;
		}
		usage(stderr);
		return CTL_ERR_USAGE;
	}
	bool want_gcode = !strcmp(argv[1], "gcode");
	optind = 1;
	argc--;
	argv++;
	int li = -1;
	while ((ch = getopt_long(argc, argv, "o:h", longopts, &li)) != -1) {
		bool bad = false;
		switch (ch) {
		case 't': free(text); text = unescape_newlines(optarg); req.content = ENGRAVE_TEXT; contents++; break;
		case 'd': req.date = optarg; req.content = ENGRAVE_DATE; contents++; break;
		case 'D': bad = engrave_date_style_parse(optarg, &req.date_style) < 0; break;
		case 'l': req.lang = optarg; break;
		case 'S': req.symbol = optarg; req.content = ENGRAVE_SYMBOL; contents++; break;
		case 'V': svg_path = optarg; req.content = ENGRAVE_SVG; contents++; break;
		case 'a': {
			char *x = strchr(optarg, 'x');
			if (!x) {
				bad = true;
				break;
			}
			*x = 0;
			bad = parse_double(optarg, &req.width) < 0 || parse_double(x + 1, &req.height) < 0;
			*x = 'x';
			req.area = ENGRAVE_AREA_RECT;
			areas++;
			break;
		}
		case 'R': bad = parse_double(optarg, &req.width) < 0; req.area = ENGRAVE_AREA_ROUND; areas++; break;
		case 'r': bad = parse_double(optarg, &req.ring_size) < 0; req.area = ENGRAVE_AREA_RING; areas++; break;
		case 'b': bad = parse_double(optarg, &req.band_width) < 0; have_band = true; break;
		case 'B': bad = parse_double(optarg, &req.diameter) < 0; req.area = ENGRAVE_AREA_BANGLE; areas++; break;
		case 'Y': bad = parse_double(optarg, &req.diameter) < 0; req.area = ENGRAVE_AREA_CYLINDER; areas++; break;
		case 'u': req.outer_band = true; break;
		case 'T': bad = parse_double(optarg, &req.thickness) < 0; break;
		case 'N': bad = parse_double(optarg, &req.start_angle) < 0; break;
		case 'O': {
			char *c = strchr(optarg, ',');
			if (!c) {
				bad = true;
				break;
			}
			*c = 0;
			bad = parse_double(optarg, &req.origin_x) < 0 || parse_double(c + 1, &req.origin_y) < 0;
			*c = ',';
			break;
		}
		case 'H': bad = parse_double(optarg, &req.char_height) < 0; break;
		case 'A': bad = engrave_align_parse(optarg, &req.align) < 0; break;
		case 'c': req.on_arc = true; break;
		case 'C': bad = parse_double(optarg, &req.arc_radius) < 0; req.on_arc = true; break;
		case 'f': bad = engrave_fill_parse(optarg, &req.fill) < 0; break;
		case 'i': bad = parse_double(optarg, &req.hatch_interval) < 0; break;
		case 'g': bad = parse_double(optarg, &req.hatch_angle) < 0; break;
		case 'x': req.cross_hatch = true; break;
		case 'm': req.material = optarg; break;
		case 'n': req.no_optimise = true; break;
		case 'o': out_path = optarg; break;
		case 's': station = optarg; break;
		case 'h': usage(stdout); free(text); return CTL_OK;
		default: usage(stderr); goto out;
		}
		if (bad) {
			fprintf(stderr, "atelierctl engrave: bad value '%s' for --%s\n", optarg,
			    li >= 0 ? longopts[li].name : "?");
			goto out;
		}
		li = -1;
	}
	if (optind < argc) {
		fprintf(stderr, "atelierctl engrave: unexpected argument '%s'\n", argv[optind]);
		goto out;
	}
	if (contents == 2 && text && req.symbol) {
		/* initials inside a frame: --symbol monogram --text AM */
		req.content = ENGRAVE_SYMBOL;
		contents = 1;
	}
	if (contents != 1) {
		fprintf(stderr, "atelierctl engrave: give exactly one of --text, --date, --symbol, --svg\n");
		goto out;
	}
	if (areas != 1) {
		fprintf(stderr, "atelierctl engrave: give exactly one of --area, --round, --ring, "
		    "--bangle, --cylinder\n");
		goto out;
	}
	if (req.area >= ENGRAVE_AREA_RING && !have_band) {
		fprintf(stderr, "atelierctl engrave: --ring, --bangle and --cylinder need --band WIDTH\n");
		goto out;
	}
	req.text = text;
	rc = CTL_ERR_FAILED;
	if (svg_path) {
		FILE *f = fopen(svg_path, "rb");
		if (!f) {
			fprintf(stderr, "atelierctl engrave: %s: %s\n", svg_path, strerror(errno));
			goto out;
		}
		struct buf b;
		buf_init(&b);
		char chunk[8192];
		size_t n;
		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && b.len < (16u << 20))
			buf_append(&b, chunk, n);
		fclose(f);
		svg_doc = b.data ? b.data : xstrdup("");
		req.svg = svg_doc;
		req.svg_len = b.len;
	}

	/* The bench's laser numbers and the symbols beside the configuration;
	 * a designer with neither a daemon nor an installed configuration
	 * previews with the shipped example's laser, and is told so. */
	struct cfg_errors errs = { 0 };
	struct cfg *cfg = NULL;
	struct cfg_laser example;
	bool have_example = false;
	if (access(o->config, F_OK) < 0 && errno == ENOENT) {
		if (cfg_laser_example(&example, &errs) < 0) {
			for (size_t i = 0; i < errs.n; i++)
				fprintf(stderr, "%s\n", errs.msgs[i]);
			cfg_errors_free(&errs);
			goto out;
		}
		have_example = true;
		fprintf(stderr, "atelierctl engrave: %s does not exist: laying out with the shipped "
		    "example's laser (config/atelier.yaml: work area %g x %g mm, characters of at "
		    "least %g mm); give the bench's configuration with --config FILE\n", o->config,
		    example.work_x, example.work_y, example.min_char_height);
	} else if (!(cfg = cfg_load(o->config, &errs))) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msgs[i]);
		cfg_errors_free(&errs);
		fprintf(stderr, "atelierctl engrave: cannot load the configuration %s (--config FILE)\n",
		    o->config);
		goto out;
	}
	/* The laser named, or the bench's only one. */
	const struct cfg_station *laser = NULL;
	if (cfg && station) {
		laser = cfg_station_find(cfg, station);
		if (!laser || laser->kind != KIND_LASER) {
			fprintf(stderr, "atelierctl engrave: %s names no laser station ('%s')\n",
			    o->config, station);
			goto out_cfg;
		}
	} else if (cfg) {
		if (cfg_stations_of_kind(cfg, KIND_LASER) != 1) {
			fprintf(stderr, "atelierctl engrave: %s has %d laser stations: name one with "
			    "--station\n", o->config, cfg_stations_of_kind(cfg, KIND_LASER));
			goto out_cfg;
		}
		laser = &cfg->stations[cfg_station_of_kind(cfg, KIND_LASER, 0)];
	}
	struct engrave_settings s;
	engrave_settings_default(&s, laser ? &laser->laser : &example);
	char *symdir = cfg ? cfg_resolve(cfg, "symbols") : NULL;
	if (symdir)
		s.symbol_dir = symdir;

	struct engrave_result res;
	enum engrave_status st = engrave_run(&s, &req, &res);
	FILE *out = stdout;
	if (out_path && st == ENGRAVE_OK && !(out = fopen(out_path, "w"))) {
		fprintf(stderr, "atelierctl engrave: %s: %s\n", out_path, strerror(errno));
		out = NULL;
	}
	if (out && o->json) {
		json_t *j = engrave_result_json(&res, want_gcode, !want_gcode);
		char *txt = json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(12));
		fprintf(st == ENGRAVE_OK ? out : stdout, "%s\n", txt);
		free(txt);
		json_decref(j);
	} else if (out && st == ENGRAVE_OK) {
		fputs(want_gcode ? res.gcode : res.svg, out);
		/* A design has a size, not a character height; initials set
		 * in a symbol have both. */
		char what[96];
		struct engrave_bbox b = engrave_paths_bbox(&res.toolpath);
		if (req.content == ENGRAVE_SYMBOL || req.content == ENGRAVE_SVG) {
			int n = snprintf(what, sizeof(what), "size %.2f x %.2f mm", b.x1 - b.x0, b.y1 - b.y0);
			if (res.fit.char_height > 0 && n > 0 && (size_t)n < sizeof(what))
				snprintf(what + n, sizeof(what) - (size_t)n, ", initials %.2f mm high",
				    res.fit.char_height);
		} else {
			snprintf(what, sizeof(what), "character height %.2f mm", res.fit.char_height);
		}
		fprintf(stderr, "%s: %zu paths, %s, burn %.1f mm, travel %.1f mm (%.1f as drawn), "
		    "about %.0f s\n", req.content == ENGRAVE_SYMBOL ? req.symbol :
		    req.content == ENGRAVE_SVG ? "design" : res.text_used ? res.text_used : "text",
		    res.stats.paths, what, res.stats.burn_mm, res.stats.travel_mm,
		    res.stats.travel_as_drawn_mm, res.stats.seconds);
	}
	if (st != ENGRAVE_OK && !o->json)
		fprintf(stderr, "atelierctl engrave: %s\n", res.error);
	if (out && out != stdout)
		fclose(out);
	if (!out)
		rc = CTL_ERR_FAILED;
	else if (st == ENGRAVE_OK)
		rc = CTL_OK;
	else if (st == ENGRAVE_ERR_FIT || st == ENGRAVE_ERR_GLYPH || st == ENGRAVE_ERR_BUDGET)
		rc = CTL_ERR_REFUSED;  /* well formed, but not engraved as asked: change it */
	else
		rc = CTL_ERR_FAILED;
	engrave_result_free(&res);
	engrave_cache_clear();
	free(symdir);
out_cfg:
	cfg_free(cfg);
	if (have_example)
		cfg_laser_release(&example);
out:
	free(text);
	free(svg_doc);
	return rc;
}
