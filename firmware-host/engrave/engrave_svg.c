/*
 * SVG reader for engraving designs: a small XML tokenizer that keeps only
 * geometry (path with every command including elliptical arcs, rect with
 * rounded corners, circle, ellipse, line, polyline, polygon; g and nested
 * svg with transform; the root viewBox; use of an element of the same
 * document), flattening curves to polylines.
 *
 * Designs come from outside (a client's file), so the reader is defensive:
 * bounded size, depth, number magnitude and <use> expansions; the point
 * count and the depth of <use> within the layout's budget, counted as the
 * points are made (a <use> chain is never expanded first and counted
 * later), with the clock and the cancel flag read as it goes; no entity
 * expansion; no external reference of any kind (href other than "#...",
 * url(...) pointing outside, image, foreignObject, script) is followed: each
 * is refused with a sentence naming it and its line.
 */
#include "engrave/engrave_int.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define SVG_MAX_BYTES (4u << 20)
#define SVG_MAX_DEPTH 32
#define SVG_MAX_NUMBER 1e6
#define SVG_MAX_ATTRS 64

struct svg_attr {
	const char *name, *val;
	size_t name_len, val_len;
};

struct svg {
	const char *p, *end, *start;
	char *err;
	size_t err_len;
	bool failed;
	double tol;                 /* in user units of the root */
	size_t points;
	struct engrave_paths *out;
	double root_h;              /* for the final flip */
	bool have_root;
	double vb[4];
	bool have_vb;
	double doc_w, doc_h;
	/* Elements with an id, found by the first pass, for <use href="#id">. */
	struct svg_id {
		const char *val, *tag;
		size_t len;
	} *ids;
	size_t n_ids;
	bool collect_ids;
	int use_depth;
	size_t expansions;
	size_t use_bytes;           /* bytes read again through <use> */
	/* The targets of the <use> chain being drawn, to refuse a cycle as
	 * one. The chain is never deeper than the element nesting. */
	const char *use_chain[SVG_MAX_DEPTH + 1];
	/* The budget: limits, and the meter for time and cancel (or NULL). */
	size_t max_points;
	int max_use_depth, deepest_use;
	struct engrave_meter *m;
	enum engrave_limit limit;   /* the budget limit that stopped the reading */
};

#define SVG_MAX_EXPANSIONS 10000
#define SVG_MAX_USE_BYTES (64u << 20)

static int
line_of(const struct svg *s, const char *at)
{
	int line = 1;
	for (const char *q = s->start; q < at && q < s->end; q++)
		if (*q == '\n')
			line++;
	return line;
}

static int fail(struct svg *s, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(struct svg *s, const char *at, const char *fmt, ...)
{
	if (s->failed)
		return -1;
	s->failed = true;
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(s->err, s->err_len, "SVG line %d: %s", line_of(s, at), msg);
	return -1;
}

/* A refusal for the budget: the sentence is the jeweller's, with the line
 * at the end; the numbers go to the layout's record. */
static int budget_fail(struct svg *s, const char *at, enum engrave_limit lim, double needed,
    double allowed, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static int
budget_fail(struct svg *s, const char *at, enum engrave_limit lim, double needed, double allowed,
    const char *fmt, ...)
{
	if (s->failed)
		return -1;
	s->failed = true;
	s->limit = lim;
	if (s->m) {
		s->m->work->limit = lim;
		s->m->work->needed = needed;
		s->m->work->allowed = allowed;
	}
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(s->err, s->err_len, "%s (SVG line %d)", msg, line_of(s, at));
	return -1;
}

/* Stopped by the time budget or the cancel flag: the caller words it. */
static int
stopped(struct svg *s)
{
	if (s->failed)
		return -1;
	s->failed = true;
	s->limit = s->m->stop;
	snprintf(s->err, s->err_len, "stopped by the %s", engrave_limit_name(s->m->stop));
	return -1;
}

/* ---- numbers and transforms --------------------------------------------- */

static const char *
skip_sep(const char *p, const char *end)
{
	while (p < end && (isspace((unsigned char)*p) || *p == ','))
		p++;
	return p;
}

/* Reads one SVG number (no locale); returns 0 or -1 (not a number, or out
 * of range, which sets *huge). */
static int
read_num(const char **pp, const char *end, double *v, bool *huge)
{
	const char *p = skip_sep(*pp, end);
	char tmp[64];
	size_t n = 0;
	if (p < end && (*p == '+' || *p == '-'))
		tmp[n++] = *p++;
	bool digits = false, dot = false;
	while (p < end && n < sizeof(tmp) - 8) {
		if (isdigit((unsigned char)*p)) {
			digits = true;
		} else if (*p == '.' && !dot) {
			dot = true;
		} else {
			break;
		}
		tmp[n++] = *p++;
	}
	if (!digits)
		return -1;
	if (p < end && (*p == 'e' || *p == 'E') && p + 1 < end &&
	    (isdigit((unsigned char)p[1]) || ((p[1] == '-' || p[1] == '+') && p + 2 < end &&
	    isdigit((unsigned char)p[2])))) {
		tmp[n++] = *p++;
		if (*p == '-' || *p == '+')
			tmp[n++] = *p++;
		while (p < end && isdigit((unsigned char)*p) && n < sizeof(tmp) - 1)
			tmp[n++] = *p++;
		while (p < end && isdigit((unsigned char)*p))
			p++;  /* an absurd exponent: caught by the range check below */
	}
	tmp[n] = 0;
	double d = strtod(tmp, NULL);
	if (!isfinite(d) || fabs(d) > SVG_MAX_NUMBER) {
		if (huge)
			*huge = true;
		return -1;
	}
	*v = d;
	*pp = p;
	return 0;
}

static void
mat_mul(double r[6], const double a[6], const double b[6])
{
	/* r = a * b: b is applied first. */
	double t[6];
	t[0] = a[0] * b[0] + a[2] * b[1];
	t[1] = a[1] * b[0] + a[3] * b[1];
	t[2] = a[0] * b[2] + a[2] * b[3];
	t[3] = a[1] * b[2] + a[3] * b[3];
	t[4] = a[0] * b[4] + a[2] * b[5] + a[4];
	t[5] = a[1] * b[4] + a[3] * b[5] + a[5];
	memcpy(r, t, sizeof(t));
}

static int
parse_transform(struct svg *s, const struct svg_attr *a, double m[6])
{
	const char *p = a->val, *end = a->val + a->val_len;
	for (;;) {
		p = skip_sep(p, end);
		if (p >= end)
			return 0;
		const char *name = p;
		while (p < end && isalpha((unsigned char)*p))
			p++;
		size_t nl = (size_t)(p - name);
		p = skip_sep(p, end);
		if (p >= end || *p != '(')
			return fail(s, a->val, "transform: expected '(' after '%.*s'", (int)nl, name);
		p++;
		double v[6];
		int n = 0;
		bool huge = false;
		for (;;) {
			p = skip_sep(p, end);
			if (p < end && *p == ')') {
				p++;
				break;
			}
			if (n == 6 || read_num(&p, end, &v[n], &huge) < 0)
				return fail(s, a->val, huge ? "transform: number beyond 1e6" :
				    "transform: bad argument list in '%.*s'", (int)nl, name);
			n++;
		}
		double t[6] = { 1, 0, 0, 1, 0, 0 };
		if (nl == 6 && !memcmp(name, "matrix", 6) && n == 6) {
			memcpy(t, v, sizeof(t));
		} else if (nl == 9 && !memcmp(name, "translate", 9) && (n == 1 || n == 2)) {
			t[4] = v[0];
			t[5] = n == 2 ? v[1] : 0;
		} else if (nl == 5 && !memcmp(name, "scale", 5) && (n == 1 || n == 2)) {
			t[0] = v[0];
			t[3] = n == 2 ? v[1] : v[0];
		} else if (nl == 6 && !memcmp(name, "rotate", 6) && (n == 1 || n == 3)) {
			double r = v[0] * M_PI / 180, c = cos(r), si = sin(r);
			double rot[6] = { c, si, -si, c, 0, 0 };
			if (n == 3) {
				double t1[6] = { 1, 0, 0, 1, v[1], v[2] }, t2[6] = { 1, 0, 0, 1, -v[1], -v[2] };
				mat_mul(t, t1, rot);
				mat_mul(t, t, t2);
			} else {
				memcpy(t, rot, sizeof(t));
			}
		} else if (nl == 5 && !memcmp(name, "skewX", 5) && n == 1) {
			t[2] = tan(v[0] * M_PI / 180);
		} else if (nl == 5 && !memcmp(name, "skewY", 5) && n == 1) {
			t[1] = tan(v[0] * M_PI / 180);
		} else {
			return fail(s, a->val, "transform: unknown or malformed '%.*s' with %d arguments",
			    (int)nl, name, n);
		}
		mat_mul(m, m, t);
		if (!isfinite(m[0] + m[1] + m[2] + m[3] + m[4] + m[5]))
			return fail(s, a->val, "transform: result out of range");
	}
}

/* ---- output --------------------------------------------------------------- */

struct pen {
	struct svg *s;
	double m[6];
	double tol;                 /* in local units */
	struct engrave_poly *cur;
	double sx, sy;              /* subpath start, local */
};

static void
pen_point(struct pen *pn, double x, double y)
{
	struct svg *s = pn->s;
	if (s->failed)
		return;
	if (++s->points > s->max_points) {
		char n[32];
		engrave_count_str(n, sizeof(n), (double)s->max_points);
		budget_fail(s, s->p, ENGRAVE_LIMIT_POINTS, (double)s->points, (double)s->max_points,
		    "the design needs more than %s points once its curves are flattened and its "
		    "<use> copies drawn; at most %s: use a simpler design", n, n);
		return;
	}
	if (engrave_meter_tick(s->m, 1)) {
		stopped(s);
		return;
	}
	if (!pn->cur)
		pn->cur = engrave_paths_new_poly(s->out);
	engrave_poly_add(pn->cur, pn->m[0] * x + pn->m[2] * y + pn->m[4],
	    pn->m[1] * x + pn->m[3] * y + pn->m[5]);
}

static void
pen_move(struct pen *pn, double x, double y)
{
	pn->cur = NULL;
	pn->sx = x;
	pn->sy = y;
	pen_point(pn, x, y);
}

static void
pen_close(struct pen *pn)
{
	if (pn->cur && pn->cur->n > 1) {
		struct engrave_pt f = pn->cur->pts[0], l = pn->cur->pts[pn->cur->n - 1];
		if (f.x != l.x || f.y != l.y)
			engrave_poly_add(pn->cur, f.x, f.y);
		pn->cur->closed = true;
	}
	pn->cur = NULL;
}

static int
segs_for(double len, double tol)
{
	if (!(len > 0))
		return 1;
	double n = ceil(sqrt(len / (tol > 0 ? tol : 1e-3)));
	return n < 1 ? 1 : n > 1000 ? 1000 : (int)n;
}

static void
pen_quad(struct pen *pn, double x0, double y0, double x1, double y1, double x2, double y2)
{
	double dd = hypot(x0 - 2 * x1 + x2, y0 - 2 * y1 + y2);
	int n = segs_for(dd / 4, pn->tol);
	for (int i = 1; i <= n; i++) {
		double t = (double)i / n, u = 1 - t;
		pen_point(pn, u * u * x0 + 2 * u * t * x1 + t * t * x2,
		    u * u * y0 + 2 * u * t * y1 + t * t * y2);
	}
}

static void
pen_cubic(struct pen *pn, double x0, double y0, double x1, double y1, double x2, double y2,
    double x3, double y3)
{
	double d1 = hypot(x0 - 2 * x1 + x2, y0 - 2 * y1 + y2);
	double d2 = hypot(x1 - 2 * x2 + x3, y1 - 2 * y2 + y3);
	int n = segs_for(0.75 * (d1 > d2 ? d1 : d2), pn->tol);
	for (int i = 1; i <= n; i++) {
		double t = (double)i / n, u = 1 - t;
		double a = u * u * u, b = 3 * u * u * t, c = 3 * u * t * t, d = t * t * t;
		pen_point(pn, a * x0 + b * x1 + c * x2 + d * x3, a * y0 + b * y1 + c * y2 + d * y3);
	}
}

/* Elliptical arc from the current point (x0,y0) to (x,y), SVG 1.1 F.6. */
static void
pen_arc(struct pen *pn, double x0, double y0, double rx, double ry, double phi_deg,
    bool large, bool sweep, double x, double y)
{
	rx = fabs(rx);
	ry = fabs(ry);
	if ((x0 == x && y0 == y))
		return;
	if (rx < 1e-12 || ry < 1e-12) {
		pen_point(pn, x, y);
		return;
	}
	double phi = phi_deg * M_PI / 180, c = cos(phi), s = sin(phi);
	double dx = (x0 - x) / 2, dy = (y0 - y) / 2;
	double x1p = c * dx + s * dy, y1p = -s * dx + c * dy;
	double lam = (x1p * x1p) / (rx * rx) + (y1p * y1p) / (ry * ry);
	if (lam > 1) {
		rx *= sqrt(lam);
		ry *= sqrt(lam);
	}
	double num = rx * rx * ry * ry - rx * rx * y1p * y1p - ry * ry * x1p * x1p;
	double den = rx * rx * y1p * y1p + ry * ry * x1p * x1p;
	double co = den > 0 && num > 0 ? sqrt(num / den) : 0;
	if (large == sweep)
		co = -co;
	double cxp = co * rx * y1p / ry, cyp = -co * ry * x1p / rx;
	double cx = c * cxp - s * cyp + (x0 + x) / 2, cy = s * cxp + c * cyp + (y0 + y) / 2;
	double ux = (x1p - cxp) / rx, uy = (y1p - cyp) / ry;
	double vx = (-x1p - cxp) / rx, vy = (-y1p - cyp) / ry;
	double th1 = atan2(uy, ux);
	double dth = atan2(ux * vy - uy * vx, ux * vx + uy * vy);
	if (!sweep && dth > 0)
		dth -= 2 * M_PI;
	else if (sweep && dth < 0)
		dth += 2 * M_PI;
	double r = rx > ry ? rx : ry;
	double step = r > pn->tol ? 2 * acos(1 - pn->tol / r) : M_PI / 2;
	if (!(step > 1e-4))
		step = 1e-4;
	int n = (int)ceil(fabs(dth) / step);
	if (n < 1) n = 1;
	if (n > 2000) n = 2000;
	for (int i = 1; i <= n; i++) {
		double t = th1 + dth * i / n;
		if (i == n) {
			pen_point(pn, x, y);
		} else {
			double ex = rx * cos(t), ey = ry * sin(t);
			pen_point(pn, c * ex - s * ey + cx, s * ex + c * ey + cy);
		}
	}
}

/* ---- path data ------------------------------------------------------------ */

static int
path_data(struct svg *s, struct pen *pn, const struct svg_attr *a)
{
	const char *p = a->val, *end = a->val + a->val_len;
	double x = 0, y = 0, lcx = 0, lcy = 0;  /* current point, last control */
	char prev = 0, cmd = 0;
	bool huge = false;

	for (;;) {
		p = skip_sep(p, end);
		if (p >= end)
			break;
		if (isalpha((unsigned char)*p)) {
			cmd = *p++;
			if (!strchr("MmLlHhVvCcSsQqTtAaZz", cmd))
				return fail(s, a->val, "path: unknown command '%c'", cmd);
		} else if (!cmd) {
			return fail(s, a->val, "path: data must start with a command");
		}
		bool rel = islower((unsigned char)cmd);
		double v[7];
		int need = 0;
		switch (tolower((unsigned char)cmd)) {
		case 'm': case 'l': case 't': need = 2; break;
		case 'h': case 'v': need = 1; break;
		case 'c': need = 6; break;
		case 's': case 'q': need = 4; break;
		case 'a': need = 7; break;
		case 'z': need = 0; break;
		}
		for (int i = 0; i < need; i++) {
			if (tolower((unsigned char)cmd) == 'a' && (i == 3 || i == 4)) {
				p = skip_sep(p, end);
				if (p >= end || (*p != '0' && *p != '1'))
					return fail(s, a->val, "path: arc flag must be 0 or 1");
				v[i] = *p++ - '0';
				continue;
			}
			if (read_num(&p, end, &v[i], &huge) < 0)
				return fail(s, a->val, huge ? "path: number beyond 1e6" :
				    "path: command '%c' needs %d numbers", cmd, need);
		}
		double ox = rel ? x : 0, oy = rel ? y : 0;
		char lc = (char)tolower((unsigned char)cmd);
		switch (lc) {
		case 'm':
			x = ox + v[0]; y = oy + v[1];
			pen_move(pn, x, y);
			cmd = rel ? 'l' : 'L';  /* further pairs are lines */
			lc = 'm';
			break;
		case 'l': x = ox + v[0]; y = oy + v[1]; pen_point(pn, x, y); break;
		case 'h': x = ox + v[0]; pen_point(pn, x, y); break;
		case 'v': y = (rel ? y : 0) + v[0]; pen_point(pn, x, y); break;
		case 'c':
			pen_cubic(pn, x, y, ox + v[0], oy + v[1], ox + v[2], oy + v[3], ox + v[4], oy + v[5]);
			lcx = ox + v[2]; lcy = oy + v[3];
			x = ox + v[4]; y = oy + v[5];
			break;
		case 's': {
			double c1x = x, c1y = y;
			if (prev == 'c' || prev == 's') {
				c1x = 2 * x - lcx;
				c1y = 2 * y - lcy;
			}
			pen_cubic(pn, x, y, c1x, c1y, ox + v[0], oy + v[1], ox + v[2], oy + v[3]);
			lcx = ox + v[0]; lcy = oy + v[1];
			x = ox + v[2]; y = oy + v[3];
			break;
		}
		case 'q':
			pen_quad(pn, x, y, ox + v[0], oy + v[1], ox + v[2], oy + v[3]);
			lcx = ox + v[0]; lcy = oy + v[1];
			x = ox + v[2]; y = oy + v[3];
			break;
		case 't': {
			double c1x = x, c1y = y;
			if (prev == 'q' || prev == 't') {
				c1x = 2 * x - lcx;
				c1y = 2 * y - lcy;
			}
			pen_quad(pn, x, y, c1x, c1y, ox + v[0], oy + v[1]);
			lcx = c1x; lcy = c1y;
			x = ox + v[0]; y = oy + v[1];
			break;
		}
		case 'a':
			pen_arc(pn, x, y, v[0], v[1], v[2], v[3] != 0, v[4] != 0, ox + v[5], oy + v[6]);
			x = ox + v[5]; y = oy + v[6];
			break;
		case 'z':
			pen_close(pn);
			x = pn->sx; y = pn->sy;
			cmd = 0;  /* a number after Z without a command is an error */
			break;
		}
		prev = lc;
		if (s->failed)
			return -1;
		if (lc == 'z') {
			/* A drawing command after Z starts a new subpath at the start. */
			pn->cur = NULL;
			p = skip_sep(p, end);
			if (p < end && !isalpha((unsigned char)*p))
				return fail(s, a->val, "path: numbers after 'z' without a command");
			if (p < end && *p != 'M' && *p != 'm')
				pen_move(pn, x, y);
		}
	}
	return 0;
}

/* ---- XML ------------------------------------------------------------------ */

static const struct svg_attr *
attr_get(const struct svg_attr *a, size_t n, const char *name)
{
	size_t l = strlen(name);
	for (size_t i = 0; i < n; i++)
		if (a[i].name_len == l && !memcmp(a[i].name, name, l))
			return &a[i];
	return NULL;
}

static int
attr_num(struct svg *s, const struct svg_attr *a, size_t n, const char *name, double def,
    double *out)
{
	const struct svg_attr *at = attr_get(a, n, name);
	*out = def;
	if (!at)
		return 0;
	const char *p = at->val, *end = at->val + at->val_len;
	bool huge = false;
	if (read_num(&p, end, out, &huge) < 0)
		return fail(s, at->val, huge ? "attribute %s: number beyond 1e6" :
		    "attribute %s: not a number", name);
	/* Units: px and none are user units; mm and others are scaled by the
	 * viewBox mapping anyway, so a plain suffix is accepted; % is not. */
	p = skip_sep(p, end);
	if (p < end && *p == '%')
		return fail(s, at->val, "attribute %s: percentages are not supported", name);
	return 0;
}

static bool
name_is(const char *n, size_t l, const char *lit)
{
	return strlen(lit) == l && !memcmp(n, lit, l);
}

static bool
val_has(const struct svg_attr *a, const char *needle)
{
	size_t l = strlen(needle);
	for (size_t i = 0; i + l <= a->val_len; i++)
		if (!strncasecmp(a->val + i, needle, l))
			return true;
	return false;
}

/* Refuses any attribute that would fetch something from outside. */
static int
check_refs(struct svg *s, const struct svg_attr *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		bool href = name_is(a[i].name, a[i].name_len, "href") ||
		    (a[i].name_len > 5 && !memcmp(a[i].name + a[i].name_len - 5, ":href", 5));
		if (href && (a[i].val_len == 0 || a[i].val[0] != '#'))
			return fail(s, a[i].val, "external reference '%.*s' refused",
			    (int)(a[i].val_len > 60 ? 60 : a[i].val_len), a[i].val);
		if (val_has(&a[i], "url(") && !val_has(&a[i], "url(#"))
			return fail(s, a[i].val, "external url() in attribute %.*s refused",
			    (int)a[i].name_len, a[i].name);
	}
	return 0;
}

static void
shape_poly(struct pen *pn, const double *v, size_t n, bool closed)
{
	for (size_t i = 0; i + 1 < n; i += 2) {
		if (i == 0)
			pen_move(pn, v[0], v[1]);
		else
			pen_point(pn, v[i], v[i + 1]);
	}
	if (closed)
		pen_close(pn);
	pn->cur = NULL;
}

static int
element(struct svg *s, const char *name, size_t nl, const struct svg_attr *a, size_t na,
    double m[6], const char *at)
{
	if (check_refs(s, a, na) < 0)
		return -1;
	const struct svg_attr *tr = attr_get(a, na, "transform");
	if (tr && parse_transform(s, tr, m) < 0)
		return -1;
	struct pen pn = { .s = s };
	memcpy(pn.m, m, sizeof(pn.m));
	/* Tolerance in local units: root tolerance over the transform's scale. */
	double sc = sqrt(fabs(m[0] * m[3] - m[1] * m[2]));
	pn.tol = s->tol / (sc > 1e-12 ? sc : 1e-12);
	double v[8];

	if (name_is(name, nl, "path")) {
		const struct svg_attr *d = attr_get(a, na, "d");
		if (d)
			return path_data(s, &pn, d);
		return 0;
	}
	if (name_is(name, nl, "rect")) {
		if (attr_num(s, a, na, "x", 0, &v[0]) || attr_num(s, a, na, "y", 0, &v[1]) ||
		    attr_num(s, a, na, "width", 0, &v[2]) || attr_num(s, a, na, "height", 0, &v[3]) ||
		    attr_num(s, a, na, "rx", -1, &v[4]) || attr_num(s, a, na, "ry", -1, &v[5]))
			return -1;
		if (v[2] < 0 || v[3] < 0)
			return fail(s, at, "rect with a negative size");
		if (v[2] == 0 || v[3] == 0)
			return 0;
		double rx = v[4], ry = v[5];
		if (rx < 0) rx = ry;
		if (ry < 0) ry = rx;
		if (rx < 0) rx = ry = 0;
		if (rx > v[2] / 2) rx = v[2] / 2;
		if (ry > v[3] / 2) ry = v[3] / 2;
		double x = v[0], y = v[1], w = v[2], h = v[3];
		if (rx == 0 || ry == 0) {
			double q[8] = { x, y, x + w, y, x + w, y + h, x, y + h };
			shape_poly(&pn, q, 8, true);
			return 0;
		}
		pen_move(&pn, x + rx, y);
		pen_point(&pn, x + w - rx, y);
		pen_arc(&pn, x + w - rx, y, rx, ry, 0, false, true, x + w, y + ry);
		pen_point(&pn, x + w, y + h - ry);
		pen_arc(&pn, x + w, y + h - ry, rx, ry, 0, false, true, x + w - rx, y + h);
		pen_point(&pn, x + rx, y + h);
		pen_arc(&pn, x + rx, y + h, rx, ry, 0, false, true, x, y + h - ry);
		pen_point(&pn, x, y + ry);
		pen_arc(&pn, x, y + ry, rx, ry, 0, false, true, x + rx, y);
		pen_close(&pn);
		return 0;
	}
	if (name_is(name, nl, "circle") || name_is(name, nl, "ellipse")) {
		bool circle = name_is(name, nl, "circle");
		if (attr_num(s, a, na, "cx", 0, &v[0]) || attr_num(s, a, na, "cy", 0, &v[1]))
			return -1;
		if (circle) {
			if (attr_num(s, a, na, "r", 0, &v[2]))
				return -1;
			v[3] = v[2];
		} else if (attr_num(s, a, na, "rx", 0, &v[2]) || attr_num(s, a, na, "ry", 0, &v[3])) {
			return -1;
		}
		if (v[2] < 0 || v[3] < 0)
			return fail(s, at, "%s with a negative radius", circle ? "circle" : "ellipse");
		if (v[2] == 0 || v[3] == 0)
			return 0;
		pen_move(&pn, v[0] + v[2], v[1]);
		pen_arc(&pn, v[0] + v[2], v[1], v[2], v[3], 0, false, true, v[0] - v[2], v[1]);
		pen_arc(&pn, v[0] - v[2], v[1], v[2], v[3], 0, false, true, v[0] + v[2], v[1]);
		pen_close(&pn);
		return 0;
	}
	if (name_is(name, nl, "line")) {
		if (attr_num(s, a, na, "x1", 0, &v[0]) || attr_num(s, a, na, "y1", 0, &v[1]) ||
		    attr_num(s, a, na, "x2", 0, &v[2]) || attr_num(s, a, na, "y2", 0, &v[3]))
			return -1;
		shape_poly(&pn, v, 4, false);
		return 0;
	}
	if (name_is(name, nl, "polyline") || name_is(name, nl, "polygon")) {
		const struct svg_attr *pts = attr_get(a, na, "points");
		if (!pts)
			return 0;
		const char *p = pts->val, *end = pts->val + pts->val_len;
		bool first = true, huge = false;
		for (;;) {
			double x, y;
			p = skip_sep(p, end);
			if (p >= end)
				break;
			if (read_num(&p, end, &x, &huge) < 0 || read_num(&p, end, &y, &huge) < 0)
				return fail(s, pts->val, huge ? "points: number beyond 1e6" :
				    "points: expected pairs of numbers");
			if (first)
				pen_move(&pn, x, y);
			else
				pen_point(&pn, x, y);
			first = false;
			if (s->failed)
				return -1;
		}
		if (name_is(name, nl, "polygon"))
			pen_close(&pn);
		return 0;
	}
	return 0;
}

/* Containers whose contents are not drawn where they stand. */
static bool
is_hidden_container(const char *n, size_t l)
{
	return name_is(n, l, "defs") || name_is(n, l, "symbol") || name_is(n, l, "clipPath") ||
	    name_is(n, l, "mask") || name_is(n, l, "pattern") || name_is(n, l, "marker") ||
	    name_is(n, l, "title") || name_is(n, l, "desc") || name_is(n, l, "metadata") ||
	    name_is(n, l, "style") || name_is(n, l, "linearGradient") ||
	    name_is(n, l, "radialGradient") || name_is(n, l, "filter");
}

static bool
is_refused(const char *n, size_t l)
{
	return name_is(n, l, "image") || name_is(n, l, "script") ||
	    name_is(n, l, "foreignObject") || name_is(n, l, "text") ||
	    name_is(n, l, "iframe") || name_is(n, l, "video") || name_is(n, l, "audio");
}

static int
root_svg(struct svg *s, const struct svg_attr *a, size_t na, double m[6], const char *at)
{
	double w, h;
	if (attr_num(s, a, na, "width", -1, &w) || attr_num(s, a, na, "height", -1, &h))
		return -1;
	const struct svg_attr *vb = attr_get(a, na, "viewBox");
	if (vb) {
		const char *p = vb->val, *end = vb->val + vb->val_len;
		bool huge = false;
		for (int i = 0; i < 4; i++)
			if (read_num(&p, end, &s->vb[i], &huge) < 0)
				return fail(s, at, huge ? "viewBox: number beyond 1e6" :
				    "viewBox needs four numbers");
		if (!(s->vb[2] > 0 && s->vb[3] > 0))
			return fail(s, at, "viewBox width and height must be positive");
		s->have_vb = true;
	}
	if (s->have_vb) {
		/* The viewBox is the design: map it to itself (keep its units),
		 * only moving its corner to 0,0. Scale comes later from the fit. */
		double t[6] = { 1, 0, 0, 1, -s->vb[0], -s->vb[1] };
		mat_mul(m, m, t);
		s->doc_w = s->vb[2];
		s->doc_h = s->vb[3];
	} else {
		s->doc_w = w > 0 ? w : 0;
		s->doc_h = h > 0 ? h : 0;
	}
	return 0;
}

/* Skips "<!-- ... -->", "<? ... ?>", "<![CDATA[ ... ]]>", "<!DOCTYPE ...>". */
static int
skip_special(struct svg *s)
{
	const char *p = s->p;
	const char *endm = NULL;
	if (s->end - p >= 4 && !memcmp(p, "<!--", 4)) {
		endm = "-->";
	} else if (s->end - p >= 2 && !memcmp(p, "<?", 2)) {
		endm = "?>";
	} else if (s->end - p >= 9 && !memcmp(p, "<![CDATA[", 9)) {
		endm = "]]>";
	} else if (s->end - p >= 2 && !memcmp(p, "<!", 2)) {
		/* DOCTYPE: no internal subset (entities are how XML bombs and
		 * external entity fetches are made), so refuse '[' and ENTITY. */
		const char *q = p;
		while (q < s->end && *q != '>') {
			if (*q == '[')
				return fail(s, p, "DOCTYPE with an internal subset (entities) refused");
			q++;
		}
		for (const char *r = p; r + 6 <= q; r++)
			if (!memcmp(r, "SYSTEM", 6) || !memcmp(r, "ENTITY", 6))
				return fail(s, p, "DOCTYPE with an external or entity declaration refused");
		if (q >= s->end)
			return fail(s, p, "unterminated <!...>");
		s->p = q + 1;
		return 1;
	} else {
		return 0;
	}
	size_t ml = strlen(endm);
	for (const char *q = p + 2; q + ml <= s->end; q++)
		if (!memcmp(q, endm, ml)) {
			s->p = q + ml;
			return 1;
		}
	return fail(s, p, "unterminated %s", endm[0] == '-' ? "comment" : endm[0] == '?' ?
	    "processing instruction" : "CDATA section");
}

static bool
is_name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-' || c == ':' || c == '.';
}

/* Checks entity references in an attribute value: only the five XML ones
 * and numeric references; anything else would need a DTD. */
static int
check_entities(struct svg *s, const char *v, size_t l)
{
	for (size_t i = 0; i < l; i++) {
		if (v[i] != '&')
			continue;
		size_t j = i + 1;
		while (j < l && v[j] != ';' && j - i < 12)
			j++;
		if (j >= l || v[j] != ';')
			return fail(s, v + i, "bare '&' in an attribute");
		size_t n = j - i - 1;
		const char *e = v + i + 1;
		if (!(n >= 2 && e[0] == '#') && !(n == 2 && (!memcmp(e, "lt", 2) || !memcmp(e, "gt", 2))) &&
		    !(n == 3 && !memcmp(e, "amp", 3)) && !(n == 4 && (!memcmp(e, "quot", 4) ||
		    !memcmp(e, "apos", 4))))
			return fail(s, v + i, "unknown entity '&%.*s;' refused", (int)n, e);
	}
	return 0;
}

static int parse_children(struct svg *s, int depth, const double m[6], bool draw,
    const char *parent, size_t parent_len, bool single);

/* <use href="#id" x y transform>: draws the element with that id here,
 * as if it stood in a group translated by x, y. Bounded in depth and in
 * total expansions, since chains of uses can multiply without end. */
static int
use_element(struct svg *s, const struct svg_attr *a, size_t na, double m[6], int depth,
    const char *tag)
{
	const struct svg_attr *href = NULL;
	for (size_t i = 0; i < na; i++)
		if (name_is(a[i].name, a[i].name_len, "href") ||
		    (a[i].name_len > 5 && !memcmp(a[i].name + a[i].name_len - 5, ":href", 5)))
			href = &a[i];
	if (!href || href->val_len < 2)
		return 0;
	const struct svg_id *target = NULL;
	for (size_t i = 0; i < s->n_ids && !target; i++)
		if (s->ids[i].len == href->val_len - 1 && !memcmp(s->ids[i].val, href->val + 1, s->ids[i].len))
			target = &s->ids[i];
	if (!target)
		return fail(s, tag, "<use> of '%.*s': no element has that id",
		    (int)(href->val_len > 60 ? 60 : href->val_len), href->val);
	for (int i = 0; i < s->use_depth; i++)
		if (s->use_chain[i] == target->tag)
			return fail(s, tag, "<use> of '%.*s' draws itself (a cycle of <use>)",
			    (int)(href->val_len > 60 ? 60 : href->val_len), href->val);
	if (s->use_depth >= s->max_use_depth)
		return budget_fail(s, tag, ENGRAVE_LIMIT_USE_DEPTH, s->use_depth + 1, s->max_use_depth,
		    "the design nests <use> %d deep; at most %d", s->use_depth + 1, s->max_use_depth);
	if (s->use_depth >= SVG_MAX_DEPTH)
		return fail(s, tag, "elements nested deeper than %d", SVG_MAX_DEPTH);
	if (++s->expansions > SVG_MAX_EXPANSIONS)
		return fail(s, tag, "more than %d <use> expansions", SVG_MAX_EXPANSIONS);
	const struct svg_attr *tr = attr_get(a, na, "transform");
	if (tr && parse_transform(s, tr, m) < 0)
		return -1;
	double x, y;
	if (attr_num(s, a, na, "x", 0, &x) || attr_num(s, a, na, "y", 0, &y))
		return -1;
	double t[6] = { 1, 0, 0, 1, x, y };
	mat_mul(m, m, t);
	const char *saved = s->p;
	s->p = target->tag;
	s->use_chain[s->use_depth++] = target->tag;
	if (s->use_depth > s->deepest_use)
		s->deepest_use = s->use_depth;
	int rc = parse_children(s, depth + 1, m, true, NULL, 0, true);
	s->use_depth--;
	s->use_bytes += (size_t)(s->p - target->tag);
	s->p = saved;
	if (rc == 0 && s->use_bytes > SVG_MAX_USE_BYTES)
		return fail(s, tag, "<use> would read more than %u MiB again", SVG_MAX_USE_BYTES >> 20);
	return rc;
}

/* Parses elements until the closing tag of the current one (or the end at
 * depth 0), or only the next element when single. draw says whether
 * geometry is kept. */
static int
parse_children(struct svg *s, int depth, const double m[6], bool draw, const char *parent,
    size_t parent_len, bool single)
{
	while (!s->failed) {
		if (engrave_meter_tick(s->m, 1))
			return stopped(s);
		while (s->p < s->end && *s->p != '<')
			s->p++;
		if (s->p >= s->end) {
			if (depth > 0)
				return fail(s, s->p, "element <%.*s> is not closed", (int)parent_len, parent);
			return 0;
		}
		int sp = skip_special(s);
		if (sp < 0)
			return -1;
		if (sp > 0)
			continue;
		const char *tag = s->p;
		s->p++;
		bool closing = false;
		if (s->p < s->end && *s->p == '/') {
			closing = true;
			s->p++;
		}
		const char *name = s->p;
		while (s->p < s->end && is_name_char(*s->p))
			s->p++;
		size_t nl = (size_t)(s->p - name);
		if (nl == 0)
			return fail(s, tag, "malformed tag");
		/* Drop a namespace prefix: svg:path is path. */
		const char *colon = memchr(name, ':', nl);
		const char *lname = colon ? colon + 1 : name;
		size_t lnl = nl - (size_t)(lname - name);
		if (closing) {
			while (s->p < s->end && isspace((unsigned char)*s->p))
				s->p++;
			if (s->p >= s->end || *s->p != '>')
				return fail(s, tag, "malformed closing tag");
			s->p++;
			if (depth == 0 || nl != parent_len || memcmp(name, parent, nl))
				return fail(s, tag, "closing tag </%.*s> does not match <%.*s>", (int)nl,
				    name, (int)parent_len, parent ? parent : "");
			return 0;
		}
		struct svg_attr a[SVG_MAX_ATTRS];
		size_t na = 0;
		bool self_close = false;
		for (;;) {
			while (s->p < s->end && isspace((unsigned char)*s->p))
				s->p++;
			if (s->p >= s->end)
				return fail(s, tag, "unterminated tag <%.*s>", (int)nl, name);
			if (*s->p == '>') {
				s->p++;
				break;
			}
			if (*s->p == '/' && s->p + 1 < s->end && s->p[1] == '>') {
				s->p += 2;
				self_close = true;
				break;
			}
			const char *an = s->p;
			while (s->p < s->end && is_name_char(*s->p))
				s->p++;
			size_t anl = (size_t)(s->p - an);
			while (s->p < s->end && isspace((unsigned char)*s->p))
				s->p++;
			if (anl == 0 || s->p >= s->end || *s->p != '=')
				return fail(s, an, "malformed attribute in <%.*s>", (int)nl, name);
			s->p++;
			while (s->p < s->end && isspace((unsigned char)*s->p))
				s->p++;
			if (s->p >= s->end || (*s->p != '"' && *s->p != '\''))
				return fail(s, an, "attribute value must be quoted");
			char q = *s->p++;
			const char *av = s->p;
			while (s->p < s->end && *s->p != q)
				s->p++;
			if (s->p >= s->end)
				return fail(s, an, "unterminated attribute value");
			size_t avl = (size_t)(s->p - av);
			s->p++;
			if (check_entities(s, av, avl) < 0)
				return -1;
			if (na == SVG_MAX_ATTRS)
				return fail(s, an, "more than %d attributes", SVG_MAX_ATTRS);
			a[na++] = (struct svg_attr){ an, av, anl, avl };
			if (s->collect_ids && anl == 2 && !memcmp(an, "id", 2) && avl) {
				s->ids = xrealloc(s->ids, (s->n_ids + 1) * sizeof(*s->ids));
				s->ids[s->n_ids++] = (struct svg_id){ av, tag, avl };
			}
		}
		if (depth + 1 > SVG_MAX_DEPTH)
			return fail(s, tag, "elements nested deeper than %d", SVG_MAX_DEPTH);
		double mm[6];
		memcpy(mm, m, sizeof(mm));
		bool child_draw = draw;
		if (!s->have_root) {
			if (!name_is(lname, lnl, "svg"))
				return fail(s, tag, "the document is not SVG (root <%.*s>)", (int)nl, name);
			s->have_root = true;
			if (root_svg(s, a, na, mm, tag) < 0)
				return -1;
		} else if (is_refused(lname, lnl)) {
			if (check_refs(s, a, na) < 0)
				return -1;
			if (name_is(lname, lnl, "text"))
				return fail(s, tag, "<text> is not engraved from SVG: convert text to paths, or engrave it as text");
			return fail(s, tag, "<%.*s> refused (external or active content)", (int)nl, name);
		} else if (name_is(lname, lnl, "use")) {
			if (check_refs(s, a, na) < 0)
				return -1;
			const struct svg_attr *disp = attr_get(a, na, "display");
			bool hidden = disp && disp->val_len == 4 && !memcmp(disp->val, "none", 4);
			if (draw && !hidden && use_element(s, a, na, mm, depth, tag) < 0)
				return -1;
		} else if (is_hidden_container(lname, lnl) && !(single && name_is(lname, lnl, "symbol"))) {
			/* (a symbol drawn through <use> is shown like a group) */
			child_draw = false;
			if (check_refs(s, a, na) < 0)
				return -1;
		} else if (draw) {
			const struct svg_attr *disp = attr_get(a, na, "display");
			if (disp && disp->val_len == 4 && !memcmp(disp->val, "none", 4))
				child_draw = false;
			else if (element(s, lname, lnl, a, na, mm, tag) < 0)
				return -1;
		} else if (check_refs(s, a, na) < 0) {
			return -1;
		}
		if (!self_close && parse_children(s, depth + 1, mm, child_draw, name, nl, false) < 0)
			return -1;
		if (single)
			return 0;
	}
	return -1;
}

int
engrave_svg_read_m(const char *data, size_t len, double tol_rel, struct engrave_paths *out,
    char *err, size_t err_len, struct engrave_meter *m, enum engrave_limit *limit)
{
	struct engrave_budget b;
	if (m) {
		b = m->b;
	} else {
		engrave_budget_default(&b);
	}
	struct svg s = { .p = data, .end = data + len, .start = data, .err = err,
		.err_len = err_len, .out = out, .m = m, .max_points = b.max_points,
		.max_use_depth = b.max_use_depth };
	static const double ident[6] = { 1, 0, 0, 1, 0, 0 };

	if (limit)
		*limit = ENGRAVE_LIMIT_NONE;
	if (err_len)
		err[0] = 0;
	if (!data || len == 0) {
		snprintf(err, err_len, "the SVG document is empty");
		return -1;
	}
	if (len > SVG_MAX_BYTES) {
		snprintf(err, err_len, "the SVG document is %zu bytes; at most %u are read", len,
		    SVG_MAX_BYTES);
		return -1;
	}
	if (memchr(data, 0, len)) {
		snprintf(err, err_len, "the SVG document contains a NUL byte");
		return -1;
	}
	/* A first pass finds the document size so the tolerance is relative. */
	struct engrave_paths tmp;
	engrave_paths_init(&tmp);
	s.out = &tmp;
	s.tol = 1e9;  /* coarse: only the root's size and the ids matter here */
	s.collect_ids = true;
	if (parse_children(&s, 0, ident, false, NULL, 0, false) < 0) {
		engrave_paths_free(&tmp);
		free(s.ids);
		if (limit)
			*limit = s.limit;
		return -1;
	}
	engrave_paths_free(&tmp);
	if (!s.have_root) {
		snprintf(err, err_len, "no <svg> element found");
		free(s.ids);
		return -1;
	}
	double size = s.doc_w > s.doc_h ? s.doc_w : s.doc_h;
	bool had_size = size > 0;
	struct svg s2 = { .p = data, .end = data + len, .start = data, .err = err,
		.err_len = err_len, .out = out, .m = m, .max_points = b.max_points,
		.max_use_depth = b.max_use_depth };
	s2.tol = (had_size ? size : 100) * (tol_rel > 0 ? tol_rel : 1e-3);
	s2.ids = s.ids;
	s2.n_ids = s.n_ids;
	int rc = parse_children(&s2, 0, ident, true, NULL, 0, false);
	free(s.ids);
	if (m) {
		m->work->svg_points = s2.points;
		m->work->use_depth = s2.deepest_use;
	}
	if (rc < 0) {
		if (limit)
			*limit = s2.limit;
		return -1;
	}
	/* SVG's y goes down; the area's y goes up. */
	double h = s2.have_vb ? s2.vb[3] : s2.doc_h;
	if (!(h > 0)) {
		struct engrave_bbox bb = engrave_paths_bbox(out);
		h = bb.y1 > bb.y0 ? bb.y1 : 0;
	}
	double flip[6] = { 1, 0, 0, -1, 0, h };
	engrave_paths_transform(out, flip);
	return 0;
}

int
engrave_svg_read(const char *data, size_t len, double tol_rel, struct engrave_paths *out,
    char *err, size_t err_len)
{
	return engrave_svg_read_m(data, len, tol_rel, out, err, err_len, NULL, NULL);
}
