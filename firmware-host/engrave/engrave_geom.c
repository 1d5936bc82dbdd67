/*
 * Engraving geometry: polylines and their transforms, hatch fill of closed
 * outlines, the ordering of paths that keeps laser-off travel short, and
 * the compact GRBL laser-mode G-code writer. Everything here works on plain
 * arrays of points in millimetres and has no knowledge of fonts or SVG.
 * The loops whose cost grows with the design (hatch rows, ordering passes)
 * report their work to the layout's meter, which stops them when the time
 * budget runs out or the layout is cancelled.
 */
#include "engrave/engrave_int.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void
engrave_paths_init(struct engrave_paths *p)
{
	memset(p, 0, sizeof(*p));
}

void
engrave_paths_free(struct engrave_paths *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i].pts);
	free(p->v);
	memset(p, 0, sizeof(*p));
}

struct engrave_poly *
engrave_paths_new_poly(struct engrave_paths *p)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 16;
		p->v = xrealloc(p->v, p->cap * sizeof(*p->v));
	}
	struct engrave_poly *poly = &p->v[p->n++];
	memset(poly, 0, sizeof(*poly));
	return poly;
}

void
engrave_poly_add(struct engrave_poly *poly, double x, double y)
{
	if (poly->n == poly->cap) {
		poly->cap = poly->cap ? poly->cap * 2 : 8;
		poly->pts = xrealloc(poly->pts, poly->cap * sizeof(*poly->pts));
	}
	poly->pts[poly->n].x = x;
	poly->pts[poly->n].y = y;
	poly->n++;
}

void
engrave_paths_move(struct engrave_paths *dst, struct engrave_paths *src)
{
	for (size_t i = 0; i < src->n; i++) {
		struct engrave_poly *d = engrave_paths_new_poly(dst);
		*d = src->v[i];
	}
	free(src->v);
	memset(src, 0, sizeof(*src));
}

void
engrave_paths_transform(struct engrave_paths *p, const double m[6])
{
	for (size_t i = 0; i < p->n; i++)
		for (size_t j = 0; j < p->v[i].n; j++) {
			struct engrave_pt *q = &p->v[i].pts[j];
			double x = q->x, y = q->y;
			q->x = m[0] * x + m[2] * y + m[4];
			q->y = m[1] * x + m[3] * y + m[5];
		}
}

struct engrave_bbox
engrave_paths_bbox(const struct engrave_paths *p)
{
	struct engrave_bbox b = { DBL_MAX, DBL_MAX, -DBL_MAX, -DBL_MAX };

	for (size_t i = 0; i < p->n; i++)
		for (size_t j = 0; j < p->v[i].n; j++) {
			const struct engrave_pt *q = &p->v[i].pts[j];
			if (q->x < b.x0) b.x0 = q->x;
			if (q->y < b.y0) b.y0 = q->y;
			if (q->x > b.x1) b.x1 = q->x;
			if (q->y > b.y1) b.y1 = q->y;
		}
	return b;
}

size_t
engrave_paths_segments(const struct engrave_paths *p)
{
	size_t n = 0;

	for (size_t i = 0; i < p->n; i++)
		if (p->v[i].n > 1)
			n += p->v[i].n - 1;
	return n;
}

/* sqrt, not hypot: hypot's overflow care costs several times more and
 * coordinates here are millimetres. */
static double
dist(struct engrave_pt a, struct engrave_pt b)
{
	double dx = a.x - b.x, dy = a.y - b.y;
	return sqrt(dx * dx + dy * dy);
}

double
engrave_paths_length(const struct engrave_paths *p)
{
	double len = 0;

	for (size_t i = 0; i < p->n; i++)
		for (size_t j = 1; j < p->v[i].n; j++)
			len += dist(p->v[i].pts[j - 1], p->v[i].pts[j]);
	return len;
}

/* ---- hatch -------------------------------------------------------------- */

struct crossing {
	double x;
	int dir;
};

struct hatch_edge {
	double x0, y0, x1, y1;
	double lo, hi;              /* y range */
};

static int
edge_lo_cmp(const void *a, const void *b)
{
	double d = ((const struct hatch_edge *)a)->lo - ((const struct hatch_edge *)b)->lo;
	return (d > 0) - (d < 0);
}

static int
crossing_cmp(const void *a, const void *b)
{
	double d = ((const struct crossing *)a)->x - ((const struct crossing *)b)->x;
	return (d > 0) - (d < 0);
}

size_t
engrave_hatch_estimate(const struct engrave_paths *src, double interval, double angle_deg)
{
	if (!(interval > 0))
		return 0;
	double a = angle_deg * M_PI / 180.0, c = cos(a), s = sin(a);
	/* The rows an edge crosses are the grid lines k * interval in its
	 * extent across the hatch direction; engrave_hatch's grid is the same
	 * (or half an interval off, which changes a count by at most one). */
	double crossings = 0;
	for (size_t i = 0; i < src->n; i++) {
		const struct engrave_poly *q = &src->v[i];
		if (!q->closed || q->n < 3)
			continue;
		double prev = -s * q->pts[q->n - 1].x + c * q->pts[q->n - 1].y;
		for (size_t j = 0; j < q->n; j++) {
			double y = -s * q->pts[j].x + c * q->pts[j].y;
			double lo = y < prev ? y : prev, hi = y < prev ? prev : y;
			crossings += ceil(hi / interval) - ceil(lo / interval);
			prev = y;
		}
	}
	double lines = ceil(crossings / 2);
	return lines < (double)SIZE_MAX / 2 ? (size_t)lines : SIZE_MAX / 2;
}

size_t
engrave_hatch(const struct engrave_paths *src, double interval, double angle_deg,
    bool even_odd, size_t max_lines, struct engrave_paths *dst)
{
	return engrave_hatch_m(src, interval, angle_deg, even_odd, max_lines, dst, NULL);
}

size_t
engrave_hatch_m(const struct engrave_paths *src, double interval, double angle_deg,
    bool even_odd, size_t max_lines, struct engrave_paths *dst, struct engrave_meter *m)
{
	if (!(interval > 0) || src->n == 0)
		return 0;
	double a = angle_deg * M_PI / 180.0, c = cos(a), s = sin(a);
	/* Rotate the outlines by -angle so that hatch lines are horizontal. */
	size_t n_edges = 0;
	for (size_t i = 0; i < src->n; i++)
		if (src->v[i].closed)
			n_edges += src->v[i].n;
	if (n_edges == 0)
		return 0;
	struct hatch_edge *e = xmalloc(n_edges * sizeof(*e));
	size_t ne = 0;
	double ymin = DBL_MAX, ymax = -DBL_MAX;
	for (size_t i = 0; i < src->n; i++) {
		const struct engrave_poly *q = &src->v[i];
		if (!q->closed || q->n < 3)
			continue;
		for (size_t j = 0; j < q->n; j++) {
			struct engrave_pt p0 = q->pts[j], p1 = q->pts[(j + 1) % q->n];
			double x0 = c * p0.x + s * p0.y, y0 = -s * p0.x + c * p0.y;
			double x1 = c * p1.x + s * p1.y, y1 = -s * p1.x + c * p1.y;
			if (y0 == y1)
				continue;
			e[ne].x0 = x0; e[ne].y0 = y0; e[ne].x1 = x1; e[ne].y1 = y1;
			e[ne].lo = y0 < y1 ? y0 : y1;
			e[ne].hi = y0 < y1 ? y1 : y0;
			ne++;
			if (y0 < ymin) ymin = y0;
			if (y0 > ymax) ymax = y0;
		}
	}
	size_t added = 0, cap = 64;
	struct crossing *cr = xmalloc(cap * sizeof(*cr));
	/* Lines sit on a grid anchored at 0, so adjacent glyphs hatch in step. */
	double y = ceil(ymin / interval) * interval;
	if (y == ymin)
		y += interval * 0.5;
	/* Scanline with an active edge list: edges sorted by their lowest y
	 * enter as the line passes it and leave past their highest, so a
	 * design with many edges costs edges + crossings, not edges x rows. */
	qsort(e, ne, sizeof(*e), edge_lo_cmp);
	size_t *active = xmalloc((ne + 1) * sizeof(size_t)), na = 0, next = 0;
	for (size_t row = 0; y < ymax && ne; y += interval, row++) {
		if (engrave_meter_tick(m, na + 1)) {
			added = SIZE_MAX;
			goto done;
		}
		size_t nc = 0;
		while (next < ne && e[next].lo <= y)
			active[na++] = next++;
		for (size_t ai = 0; ai < na;) {
			if (e[active[ai]].hi <= y)
				active[ai] = active[--na];
			else
				ai++;
		}
		for (size_t ai = 0; ai < na; ai++) {
			size_t k = active[ai];
			double y0 = e[k].y0, y1 = e[k].y1;
			int dir = y1 > y0 ? 1 : -1;
			if ((y0 <= y && y < y1) || (y1 <= y && y < y0)) {
				double t = (y - y0) / (y1 - y0);
				if (nc == cap) {
					cap *= 2;
					cr = xrealloc(cr, cap * sizeof(*cr));
				}
				cr[nc].x = e[k].x0 + t * (e[k].x1 - e[k].x0);
				cr[nc].dir = dir;
				nc++;
			}
		}
		qsort(cr, nc, sizeof(*cr), crossing_cmp);
		int wind = 0;
		for (size_t k = 0; k + 1 < nc; k++) {
			wind += even_odd ? 1 : cr[k].dir;
			if ((even_odd ? (wind & 1) == 0 : wind == 0) || cr[k + 1].x - cr[k].x <= 1e-9)
				continue;
			if (added == max_lines) {
				added = SIZE_MAX;
				goto done;
			}
			struct engrave_poly *l = engrave_paths_new_poly(dst);
			double xa = cr[k].x, xb = cr[k + 1].x;
			if (row & 1) {  /* boustrophedon: the order as drawn is already fair */
				double t = xa; xa = xb; xb = t;
			}
			engrave_poly_add(l, c * xa - s * y, s * xa + c * y);
			engrave_poly_add(l, c * xb - s * y, s * xb + c * y);
			added++;
		}
	}
done:
	free(active);
	free(cr);
	free(e);
	return added;
}

/* ---- ordering ----------------------------------------------------------- */

static struct engrave_pt
first_pt(const struct engrave_poly *q)
{
	return q->pts[0];
}

static struct engrave_pt
last_pt(const struct engrave_poly *q)
{
	return q->pts[q->n - 1];
}

static void
poly_reverse(struct engrave_poly *q)
{
	for (size_t i = 0, j = q->n - 1; i < j; i++, j--) {
		struct engrave_pt t = q->pts[i];
		q->pts[i] = q->pts[j];
		q->pts[j] = t;
	}
}

double
engrave_travel(const struct engrave_paths *p)
{
	struct engrave_pt at = { 0, 0 };
	double t = 0;

	for (size_t i = 0; i < p->n; i++) {
		if (p->v[i].n == 0)
			continue;
		t += dist(at, first_pt(&p->v[i]));
		at = last_pt(&p->v[i]);
	}
	return t;
}

/* Spatial grid over path endpoints so the nearest-neighbour search looks
 * at nearby cells first instead of every path. */
struct grid {
	double x0, y0, cell;
	int nx, ny;
	size_t *start, *items;  /* CSR layout: items of cell c in [start[c], start[c+1]) */
};

static int
grid_cell(const struct grid *g, struct engrave_pt p, int *cx, int *cy)
{
	int x = (int)((p.x - g->x0) / g->cell), y = (int)((p.y - g->y0) / g->cell);
	if (x < 0) x = 0;
	if (y < 0) y = 0;
	if (x >= g->nx) x = g->nx - 1;
	if (y >= g->ny) y = g->ny - 1;
	*cx = x;
	*cy = y;
	return y * g->nx + x;
}

static void
grid_build(struct grid *g, const struct engrave_paths *p)
{
	struct engrave_bbox b = engrave_paths_bbox(p);
	size_t n = p->n;
	double w = b.x1 - b.x0, h = b.y1 - b.y0;
	double area = (w > 1e-9 ? w : 1e-9) * (h > 1e-9 ? h : 1e-9);
	g->cell = sqrt(area / (double)(n ? n : 1)) * 1.5;
	if (!(g->cell > 1e-9))
		g->cell = 1;
	g->x0 = b.x0;
	g->y0 = b.y0;
	g->nx = (int)(w / g->cell) + 1;
	g->ny = (int)(h / g->cell) + 1;
	if (g->nx > 2048) g->nx = 2048;
	if (g->ny > 2048) g->ny = 2048;
	size_t nc = (size_t)g->nx * (size_t)g->ny;
	g->start = xcalloc(nc + 1, sizeof(size_t));
	g->items = xmalloc(2 * n * sizeof(size_t) + 1);
	int cx, cy;
	for (size_t i = 0; i < n; i++) {
		g->start[grid_cell(g, first_pt(&p->v[i]), &cx, &cy) + 1]++;
		g->start[grid_cell(g, last_pt(&p->v[i]), &cx, &cy) + 1]++;
	}
	for (size_t c = 0; c < nc; c++)
		g->start[c + 1] += g->start[c];
	size_t *fill = xmalloc((nc + 1) * sizeof(size_t));
	memcpy(fill, g->start, (nc + 1) * sizeof(size_t));
	for (size_t i = 0; i < n; i++) {
		g->items[fill[grid_cell(g, first_pt(&p->v[i]), &cx, &cy)]++] = 2 * i;
		g->items[fill[grid_cell(g, last_pt(&p->v[i]), &cx, &cy)]++] = 2 * i + 1;
	}
	free(fill);
}

/* Nearest unused endpoint to 'at' by rings of cells; returns endpoint code
 * 2*i (start of i) or 2*i+1 (end of i), or SIZE_MAX when none is left. */
static size_t
grid_nearest(const struct grid *g, const struct engrave_paths *p, const bool *used,
    struct engrave_pt at, struct engrave_meter *m)
{
	int cx, cy;
	grid_cell(g, at, &cx, &cy);
	size_t best = SIZE_MAX;
	double bd = DBL_MAX;
	int maxr = g->nx > g->ny ? g->nx : g->ny;
	for (int r = 0; r <= maxr; r++) {
		/* Once something is found, one more ring can still hold a nearer
		 * point; beyond r cells away nothing can beat bd. */
		if (best != SIZE_MAX && (double)(r - 1) * g->cell > bd)
			break;
		/* Late in the tour the rings grow wide and mostly empty: the
		 * work of a ring is its cells. */
		if (engrave_meter_tick(m, 8 * (size_t)r + 1))
			return best;
		for (int y = cy - r; y <= cy + r; y++) {
			if (y < 0 || y >= g->ny)
				continue;
			for (int x = cx - r; x <= cx + r; x++) {
				if (x < 0 || x >= g->nx)
					continue;
				if (r && y != cy - r && y != cy + r && x != cx - r && x != cx + r)
					continue;
				size_t c = (size_t)y * (size_t)g->nx + (size_t)x;
				for (size_t k = g->start[c]; k < g->start[c + 1]; k++) {
					size_t code = g->items[k], i = code / 2;
					if (used[i])
						continue;
					struct engrave_pt q = (code & 1) ? last_pt(&p->v[i]) : first_pt(&p->v[i]);
					double d = dist(at, q);
					if (d < bd) {
						bd = d;
						best = code;
					}
				}
			}
		}
	}
	return best;
}

/* Reverses p[i..j] as a block, each path reversed too. */
static void
reverse_block(struct engrave_paths *p, size_t i, size_t j)
{
	for (size_t a = i, b = j; a < b; a++, b--) {
		struct engrave_poly t = p->v[a];
		p->v[a] = p->v[b];
		p->v[b] = t;
	}
	for (size_t k = i; k <= j; k++)
		poly_reverse(&p->v[k]);
}

/* Travel into position k (from the previous path's end, or the origin). */
static double
hop_in(const struct engrave_paths *p, size_t k)
{
	struct engrave_pt origin = { 0, 0 };
	return dist(k ? last_pt(&p->v[k - 1]) : origin, first_pt(&p->v[k]));
}

/*
 * Nearest neighbour leaves stragglers that are fetched later with long
 * hops, beyond the reach of the windowed 2-opt. For the longest hops only,
 * try every 2-opt partner in the whole sequence, and try moving the path
 * after the hop (or-opt) to the best place anywhere, in either direction.
 */
static void
fix_long_hops(struct engrave_paths *p, struct engrave_meter *m)
{
	size_t n = p->n;
	if (n < 4)
		return;
	double *h = xmalloc(n * sizeof(double));
	for (int pass = 0; pass < 3; pass++) {
		if (engrave_meter_tick(m, n))
			break;
		for (size_t k = 0; k < n; k++)
			h[k] = hop_in(p, k);
		/* threshold: the 64th longest hop */
		double *sorted = xmalloc(n * sizeof(double));
		memcpy(sorted, h, n * sizeof(double));
		size_t want = n < 64 ? n - 1 : 63;
		/* partial selection: good enough with a full sort at these sizes */
		for (size_t a = 0; a <= want; a++) {
			if (engrave_meter_tick(m, n))
				break;
			for (size_t b = a + 1; b < n; b++)
				if (sorted[b] > sorted[a]) {
					double t = sorted[a];
					sorted[a] = sorted[b];
					sorted[b] = t;
				}
		}
		double thr = sorted[want];
		free(sorted);
		bool improved = false;
		for (size_t i = 1; i < n; i++) {
			if (hop_in(p, i) < thr || hop_in(p, i) < 1e-9)
				continue;
			/* 2-opt: reverse p[i..j] or p[j..i-1], full range. Each of
			 * these full-range scans is a few milliseconds on the
			 * largest jobs, so the meter is fed inside them. */
			double best = -1e-9;
			size_t bi = 0, bj = 0;
			for (size_t j = 0; j < n; j++) {
				if ((j & 1023) == 0 && engrave_meter_tick(m, 1024))
					break;
				size_t a = j > i ? i : j, b = j > i ? j : i - 1;
				if (j == i || b < a)
					continue;
				double before = hop_in(p, a) + (b + 1 < n ? hop_in(p, b + 1) : 0);
				struct engrave_pt origin = { 0, 0 };
				struct engrave_pt prev = a ? last_pt(&p->v[a - 1]) : origin;
				double after = dist(prev, last_pt(&p->v[b])) +
				    (b + 1 < n ? dist(first_pt(&p->v[a]), first_pt(&p->v[b + 1])) : 0);
				if (after - before < best) {
					best = after - before;
					bi = a;
					bj = b;
				}
			}
			if (m && m->stop)
				break;
			if (best < -1e-9) {
				reverse_block(p, bi, bj);
				improved = true;
				continue;
			}
			/* Or-opt: move path i elsewhere. */
			struct engrave_pt origin = { 0, 0 };
			struct engrave_pt prev = last_pt(&p->v[i - 1]);
			double gain = hop_in(p, i);
			if (i + 1 < n)
				gain += hop_in(p, i + 1) - dist(prev, first_pt(&p->v[i + 1]));
			double bc = gain - 1e-9;
			size_t pos = SIZE_MAX;
			bool rev = false;
			for (size_t a = 0; a <= n; a++) {
				if ((a & 1023) == 0 && engrave_meter_tick(m, 1024))
					break;
				/* insert before position a (between a-1 and a) */
				if (a == i || a == i + 1)
					continue;
				struct engrave_pt pa = a ? last_pt(&p->v[a - 1]) : origin;
				bool has = a < n;
				struct engrave_pt nb = has ? first_pt(&p->v[a]) : origin;
				double base = has ? dist(pa, nb) : 0;
				for (int o = 0; o < 2; o++) {
					struct engrave_pt s0 = o ? last_pt(&p->v[i]) : first_pt(&p->v[i]);
					struct engrave_pt s1 = o ? first_pt(&p->v[i]) : last_pt(&p->v[i]);
					double c = dist(pa, s0) + (has ? dist(s1, nb) : 0) - base;
					if (c < bc) {
						bc = c;
						pos = a;
						rev = o;
					}
				}
			}
			if (m && m->stop)
				break;
			if (pos != SIZE_MAX) {
				struct engrave_poly t = p->v[i];
				if (rev)
					poly_reverse(&t);
				if (pos > i) {
					memmove(&p->v[i], &p->v[i + 1], (pos - 1 - i) * sizeof(t));
					p->v[pos - 1] = t;
				} else {
					memmove(&p->v[pos + 1], &p->v[pos], (i - pos) * sizeof(t));
					p->v[pos] = t;
				}
				improved = true;
			}
		}
		if (!improved)
			break;
	}
	free(h);
}

/*
 * 2-opt with path reversal over the whole sequence, on neighbour lists:
 * reversing positions [i..j] (each path turned round) replaces the hops
 * X(i-1)->E(i) and X(j)->E(j+1) by X(i-1)->X(j) and E(i)->E(j+1), where E
 * and X are where a position's path is entered and left. An improving
 * move almost always joins points that are near each other, so for each
 * hop only the K nearest endpoints are tried as the new partner; the
 * passes repeat until none improves, so the order ends where a 2-opt pass
 * over all pairs finds next to nothing (the bench measures what it still
 * finds). The paths are kept in arrays of positions and turned round only
 * at the end.
 */
#define NL_K 10

struct nl_state {
	const struct engrave_paths *p;
	size_t n;
	size_t *perm;               /* path at each position */
	size_t *pos;                /* position of each path */
	bool *flip;                 /* path turned round from its orientation in p */
	size_t *nb;                 /* NL_K neighbour nodes of each node (SIZE_MAX: none) */
};

/* Node 2i is path i's first point in p, 2i+1 its last. */
static struct engrave_pt
node_pt(const struct nl_state *st, size_t node)
{
	const struct engrave_poly *q = &st->p->v[node / 2];
	return (node & 1) ? last_pt(q) : first_pt(q);
}

static struct engrave_pt
entry_at(const struct nl_state *st, size_t k)
{
	size_t i = st->perm[k];
	return node_pt(st, 2 * i + (st->flip[i] ? 1 : 0));
}

static struct engrave_pt
exit_at(const struct nl_state *st, size_t k)
{
	size_t i = st->perm[k];
	return node_pt(st, 2 * i + (st->flip[i] ? 0 : 1));
}

static void
nl_reverse(struct nl_state *st, size_t i, size_t j)
{
	for (size_t a = i, b = j; a < b; a++, b--) {
		size_t t = st->perm[a];
		st->perm[a] = st->perm[b];
		st->perm[b] = t;
	}
	for (size_t k = i; k <= j; k++) {
		st->flip[st->perm[k]] = !st->flip[st->perm[k]];
		st->pos[st->perm[k]] = k;
	}
}

/* The K nearest endpoints of other paths to each endpoint, by rings of
 * the grid's cells. */
static void
nl_neighbours(struct nl_state *st, const struct grid *g, struct engrave_meter *m)
{
	size_t nn = 2 * st->n;
	double *bd = xmalloc(NL_K * sizeof(double));
	for (size_t a = 0; a < nn; a++) {
		size_t *out = st->nb + a * NL_K;
		size_t cnt = 0;
		for (size_t k = 0; k < NL_K; k++)
			out[k] = SIZE_MAX;
		struct engrave_pt at = node_pt(st, a);
		int cx, cy;
		grid_cell(g, at, &cx, &cy);
		int maxr = g->nx > g->ny ? g->nx : g->ny;
		for (int r = 0; r <= maxr; r++) {
			if (cnt == NL_K && (double)(r - 1) * g->cell > bd[NL_K - 1])
				break;
			if (engrave_meter_tick(m, 8 * (size_t)r + 1))
				goto done;
			for (int y = cy - r; y <= cy + r; y++) {
				if (y < 0 || y >= g->ny)
					continue;
				for (int x = cx - r; x <= cx + r; x++) {
					if (x < 0 || x >= g->nx)
						continue;
					if (r && y != cy - r && y != cy + r && x != cx - r && x != cx + r)
						continue;
					size_t c = (size_t)y * (size_t)g->nx + (size_t)x;
					for (size_t k = g->start[c]; k < g->start[c + 1]; k++) {
						size_t b = g->items[k];
						if (b / 2 == a / 2)
							continue;
						double d = dist(at, node_pt(st, b));
						if (cnt == NL_K && d >= bd[NL_K - 1])
							continue;
						/* insertion into the sorted list */
						size_t q = cnt < NL_K ? cnt++ : NL_K - 1;
						while (q > 0 && bd[q - 1] > d) {
							bd[q] = bd[q - 1];
							out[q] = out[q - 1];
							q--;
						}
						bd[q] = d;
						out[q] = b;
					}
				}
			}
		}
	}
done:
	free(bd);
}

/* Gain of reversing [i..j] (positive: shorter). */
static double
nl_gain(const struct nl_state *st, size_t i, size_t j)
{
	struct engrave_pt origin = { 0, 0 };
	struct engrave_pt prev = i ? exit_at(st, i - 1) : origin;
	struct engrave_pt ei = entry_at(st, i), xj = exit_at(st, j);
	double before = dist(prev, ei), after = dist(prev, xj);
	if (j + 1 < st->n) {
		struct engrave_pt en = entry_at(st, j + 1);
		before += dist(xj, en);
		after += dist(ei, en);
	}
	return before - after;
}

/* Longest block a move may reverse: reversing costs its length, and on the
 * largest jobs (hundreds of thousands of hatch lines) unbounded reversals
 * would make the pass quadratic; engraving jobs of a few thousand paths
 * never reach it. */
#define NL_MAX_REVERSE 4096

/* Best move for the hop into position k, X(k-1)->E(k): reverse [k..j] to
 * join X(k-1) to a near X(j), or [i..k-1] to join a near E(i) to E(k), or
 * a move reaching either end. Returns its gain (0 if none) and bounds. */
static double
nl_best(const struct nl_state *st, size_t k, size_t *bi, size_t *bj)
{
	size_t n = st->n;
	double best = 1e-9;
	size_t ex = k ? 2 * st->perm[k - 1] + (st->flip[st->perm[k - 1]] ? 0 : 1) : SIZE_MAX;
	size_t en = 2 * st->perm[k] + (st->flip[st->perm[k]] ? 1 : 0);
	for (int side = 0; side < 2; side++) {
		size_t from = side ? en : ex;
		if (from == SIZE_MAX)
			continue;
		for (size_t q = 0; q < NL_K; q++) {
			size_t c = st->nb[from * NL_K + q];
			if (c == SIZE_MAX)
				break;
			size_t path = c / 2, at = st->pos[path];
			bool closed = st->p->v[path].closed;
			bool is_exit = closed || (c & 1) != st->flip[path];
			bool is_entry = closed || (c & 1) == st->flip[path];
			size_t i, j;
			if (!side && is_exit && at >= k) {
				i = k;
				j = at;
			} else if (side && is_entry && k && at <= k - 1) {
				i = at;
				j = k - 1;
			} else {
				continue;
			}
			if (j - i >= NL_MAX_REVERSE)
				continue;
			double gn = nl_gain(st, i, j);
			if (gn > best) {
				best = gn;
				*bi = i;
				*bj = j;
			}
		}
	}
	if (n - k <= NL_MAX_REVERSE) {
		double gn = nl_gain(st, k, n - 1);
		if (gn > best) {
			best = gn;
			*bi = k;
			*bj = n - 1;
		}
	}
	if (k && k <= NL_MAX_REVERSE) {
		double gn = nl_gain(st, 0, k - 1);
		if (gn > best) {
			best = gn;
			*bi = 0;
			*bj = k - 1;
		}
	}
	return best > 1e-9 ? best : 0;
}

static void
two_opt_nl(struct engrave_paths *p, struct engrave_meter *m)
{
	size_t n = p->n;
	if (n < 3)
		return;
	struct nl_state st = { .p = p, .n = n };
	st.perm = xmalloc(n * sizeof(size_t));
	st.pos = xmalloc(n * sizeof(size_t));
	st.flip = xcalloc(n, sizeof(bool));
	st.nb = xmalloc(2 * n * NL_K * sizeof(size_t));
	for (size_t k = 0; k < n; k++)
		st.perm[k] = st.pos[k] = k;
	struct grid g;
	grid_build(&g, p);
	nl_neighbours(&st, &g, m);
	free(g.start);
	free(g.items);
	/* Don't-look bits: a path is looked at again only when a move
	 * changed one of the hops beside it. The queue holds paths. */
	bool *queued = xmalloc(n * sizeof(bool));
	size_t *queue = xmalloc(n * sizeof(size_t)), head = 0, count = n;
	for (size_t k = 0; k < n; k++) {
		queue[k] = k;
		queued[k] = true;
	}
	while (count && !(m && m->stop)) {
		size_t path = queue[head];
		head = (head + 1) % n;
		count--;
		queued[path] = false;
		if (engrave_meter_tick(m, 4 * NL_K))
			break;
		/* Both hops of the path: into it and out of it. */
		size_t at = st.pos[path];
		for (size_t k = at; k <= at + 1 && k < n; k++) {
			size_t bi = 0, bj = 0;
			if (nl_best(&st, k, &bi, &bj) <= 0)
				continue;
			engrave_meter_tick(m, bj - bi + 1);
			nl_reverse(&st, bi, bj);
			size_t touch[4] = { bi ? bi - 1 : bi, bi, bj, bj + 1 < n ? bj + 1 : bj };
			for (int t = 0; t < 4; t++) {
				size_t q = st.perm[touch[t]];
				if (!queued[q]) {
					queued[q] = true;
					queue[(head + count) % n] = q;
					count++;
				}
			}
			break;
		}
	}
	free(queue);
	free(queued);
	/* Even when stopped, the order is a permutation: apply it. */
	struct engrave_poly *v = xmalloc(n * sizeof(*v));
	for (size_t k = 0; k < n; k++) {
		v[k] = p->v[st.perm[k]];
		if (st.flip[st.perm[k]])
			poly_reverse(&v[k]);
	}
	memcpy(p->v, v, n * sizeof(*v));
	free(v);
	free(st.perm);
	free(st.pos);
	free(st.flip);
	free(st.nb);
}

double
engrave_two_opt_full(struct engrave_paths *p, int max_passes)
{
	size_t n = p->n;
	struct engrave_pt origin = { 0, 0 };
	for (int pass = 0; pass < max_passes; pass++) {
		bool improved = false;
		for (size_t i = 0; i < n; i++) {
			struct engrave_pt prev = i ? last_pt(&p->v[i - 1]) : origin;
			double hop = dist(prev, first_pt(&p->v[i]));
			for (size_t j = i; j < n; j++) {
				double before = hop, after = dist(prev, last_pt(&p->v[j]));
				if (j + 1 < n) {
					before += dist(last_pt(&p->v[j]), first_pt(&p->v[j + 1]));
					after += dist(first_pt(&p->v[i]), first_pt(&p->v[j + 1]));
				}
				if (after < before - 1e-9) {
					reverse_block(p, i, j);
					hop = dist(prev, first_pt(&p->v[i]));
					improved = true;
				}
			}
		}
		if (!improved)
			break;
	}
	return engrave_travel(p);
}

/* A closed path can be burnt from any of its vertices: start each one at
 * the vertex that makes the hops in and out of it shortest. */
static void
rotate_closed(struct engrave_paths *p, struct engrave_meter *meter)
{
	struct engrave_pt origin = { 0, 0 };
	for (size_t i = 0; i < p->n; i++) {
		struct engrave_poly *q = &p->v[i];
		if (!q->closed || q->n < 3)
			continue;
		if (engrave_meter_tick(meter, q->n))
			return;
		struct engrave_pt prev = i ? last_pt(&p->v[i - 1]) : origin;
		bool has_next = i + 1 < p->n;
		struct engrave_pt next = has_next ? first_pt(&p->v[i + 1]) : origin;
		size_t m = q->n - 1, best = 0;  /* the last point repeats the first */
		double bd = DBL_MAX;
		for (size_t k = 0; k < m; k++) {
			double d = dist(prev, q->pts[k]) + (has_next ? dist(q->pts[k], next) : 0);
			if (d < bd) {
				bd = d;
				best = k;
			}
		}
		if (best == 0)
			continue;
		struct engrave_pt *r = xmalloc(q->n * sizeof(*r));
		for (size_t k = 0; k < m; k++)
			r[k] = q->pts[(best + k) % m];
		r[m] = r[0];
		memcpy(q->pts, r, q->n * sizeof(*r));
		free(r);
	}
}

double
engrave_order(struct engrave_paths *p)
{
	return engrave_order_m(p, NULL);
}

double
engrave_order_m(struct engrave_paths *p, struct engrave_meter *m)
{
	size_t n = p->n, out = 0;
	if (n == 0)
		return 0;
	/* Drop empty polylines first: they carry no burn and no endpoints. */
	for (size_t i = 0; i < n; i++) {
		if (p->v[i].n == 0)
			free(p->v[i].pts);
		else
			p->v[out++] = p->v[i];
	}
	p->n = n = out;
	if (n == 0)
		return 0;
	struct grid g;
	grid_build(&g, p);
	bool *used = xcalloc(n, sizeof(bool));
	struct engrave_poly *ordered = xmalloc(n * sizeof(*ordered));
	struct engrave_pt at = { 0, 0 };
	size_t k = 0;
	for (; k < n; k++) {
		size_t code = grid_nearest(&g, p, used, at, m);
		if (code == SIZE_MAX || (m && m->stop))
			break;
		size_t i = code / 2;
		used[i] = true;
		ordered[k] = p->v[i];
		if (code & 1)
			poly_reverse(&ordered[k]);
		at = last_pt(&ordered[k]);
	}
	/* Stopped part-way: the paths not reached keep their order, so that
	 * every path is still owned once. */
	for (size_t i = 0; i < n && k < n; i++)
		if (!used[i])
			ordered[k++] = p->v[i];
	memcpy(p->v, ordered, n * sizeof(*ordered));
	free(ordered);
	free(used);
	free(g.start);
	free(g.items);
	/* 2-opt over the whole sequence on neighbour lists, then the longest
	 * hops' full-range 2-opt and or-opt, then closed paths entered where
	 * their neighbours are, and 2-opt again for the moves that opened. */
	two_opt_nl(p, m);
	fix_long_hops(p, m);
	rotate_closed(p, m);
	two_opt_nl(p, m);
	rotate_closed(p, m);
	return engrave_travel(p);
}

/* Shortest hop between the places where a and b can be entered or left:
 * the two ends of an open path, any vertex of a closed one. */
static double
hop(const struct engrave_poly *a, const struct engrave_poly *b)
{
	size_t na = a->closed ? a->n : 2, nb = b->closed ? b->n : 2;
	double best = DBL_MAX;
	for (size_t i = 0; i < na; i++) {
		struct engrave_pt pa = a->closed ? a->pts[i] : (i ? last_pt(a) : first_pt(a));
		for (size_t j = 0; j < nb; j++) {
			struct engrave_pt pb = b->closed ? b->pts[j] : (j ? last_pt(b) : first_pt(b));
			double d = dist(pa, pb);
			if (d < best)
				best = d;
		}
	}
	return best;
}

static double
bound_of(const struct engrave_poly *v, size_t n)
{
	if (n < 2)
		return 0;
	double *key = xmalloc(n * sizeof(double));
	bool *in = xcalloc(n, sizeof(bool));
	double *nearest = xmalloc(n * sizeof(double));
	for (size_t i = 0; i < n; i++) {
		key[i] = DBL_MAX;
		nearest[i] = DBL_MAX;
	}
	/* Prim's algorithm; every pair's hop is computed once, when the
	 * first of the two joins the tree, which also gives each path's
	 * nearest neighbour. */
	double mst = 0;
	key[0] = 0;
	for (size_t k = 0; k < n; k++) {
		size_t u = SIZE_MAX;
		for (size_t i = 0; i < n; i++)
			if (!in[i] && (u == SIZE_MAX || key[i] < key[u]))
				u = i;
		in[u] = true;
		mst += key[u];
		for (size_t i = 0; i < n; i++) {
			if (in[i])
				continue;
			double w = hop(&v[u], &v[i]);
			if (w < nearest[u]) nearest[u] = w;
			if (w < nearest[i]) nearest[i] = w;
			if (w < key[i])
				key[i] = w;
		}
	}
	double sum = 0, mx = 0;
	for (size_t i = 0; i < n; i++) {
		sum += nearest[i];
		if (nearest[i] > mx)
			mx = nearest[i];
	}
	free(key);
	free(in);
	free(nearest);
	sum -= mx;
	return mst > sum ? mst : sum;
}

double
engrave_travel_bound(const struct engrave_paths *p)
{
	/* A closed path is left where it was entered, so skipping it never
	 * lengthens a tour (triangle inequality): a bound for the open paths
	 * alone bounds the whole job too, and is the tighter one for hatched
	 * work, where hatch ends touch the outlines. */
	double all = bound_of(p->v, p->n);
	struct engrave_poly *open = xmalloc((p->n + 1) * sizeof(*open));
	size_t no = 0;
	for (size_t i = 0; i < p->n; i++)
		if (!p->v[i].closed && p->v[i].n)
			open[no++] = p->v[i];
	double only_open = no < p->n ? bound_of(open, no) : 0;
	free(open);
	return all > only_open ? all : only_open;
}

/* ---- G-code ------------------------------------------------------------- */

/* Number of decimals that resolves 'res' mm: 0.01 -> 2, 0.005 -> 3. */
static int
decimals_for(double res)
{
	int d = 0;
	while (d < 6 && fabs(res * pow(10, d) - round(res * pow(10, d))) > 1e-9)
		d++;
	return d;
}

/* Writes v with at most 'dec' decimals, trailing zeros and "-0" dropped. */
static void
put_num(struct buf *b, double v, int dec)
{
	char tmp[48];
	if (fabs(v) < 0.5 * pow(10, -dec))
		v = 0;
	snprintf(tmp, sizeof(tmp), "%.*f", dec, v);
	if (dec > 0) {
		char *e = tmp + strlen(tmp) - 1;
		while (*e == '0')
			*e-- = 0;
		if (*e == '.')
			*e = 0;
	}
	buf_append(b, tmp, strlen(tmp));
}

char *
engrave_gcode(const struct engrave_paths *p, const struct engrave_gcode_opts *o, size_t *lines)
{
	struct buf b;
	buf_init(&b);
	int dec = o->plain ? 6 : decimals_for(o->resolution > 0 ? o->resolution : 0.01);
	double q = o->plain ? 1e-6 : (o->resolution > 0 ? o->resolution : 0.01);
	size_t nl = 0;
	int passes = o->passes > 0 ? o->passes : 1;

	if (o->header) {
		buf_printf(&b, "(%s)\n", o->header);
		nl++;
	}
	/* mm, absolute, dynamic laser power at 0 until a burn move sets S. */
	buf_printf(&b, o->plain ? "G21\nG90\n" : "G21G90\n");
	nl += o->plain ? 2 : 1;
	/* The focus, before the beam may come on. */
	if (o->with_z) {
		buf_printf(&b, o->plain ? "G0 Z%.6f\n" : "G0Z%.3f\n", o->z);
		nl++;
	}
	buf_printf(&b, o->plain ? "M4 S0\n" : "M4S0\n");
	nl++;
	/* The machine only lands on its own grid: round there, so moves that
	 * vanish after rounding are skipped and decimals are never wasted. */
	double cx = NAN, cy = NAN;  /* current position, rounded */
	int mode = -1;              /* 0 = G0, 1 = G1 */
	double cur_f = -1;
	int cur_s = 0;
	for (int pass = 0; pass < passes; pass++) {
		for (size_t i = 0; i < p->n; i++) {
			const struct engrave_poly *poly = &p->v[i];
			if (poly->n < 2)
				continue;
			for (size_t j = 0; j < poly->n; j++) {
				double x = round((poly->pts[j].x + o->origin_x) / q) * q;
				double y = round((poly->pts[j].y + o->origin_y) / q) * q;
				bool burn = j > 0;
				bool same_x = x == cx, same_y = y == cy;
				if (!o->plain && same_x && same_y)
					continue;
				if (o->plain) {
					if (burn)
						buf_printf(&b, "G1 X%.6f Y%.6f F%.6f S%d\n", x, y, o->speed, o->power_s);
					else
						buf_printf(&b, "G0 X%.6f Y%.6f\n", x, y);
					nl++;
					cx = x;
					cy = y;
					continue;
				}
				int want = burn ? 1 : 0;
				if (want != mode) {
					buf_append(&b, want ? "G1" : "G0", 2);
					mode = want;
				}
				if (!same_x) {
					buf_append(&b, "X", 1);
					put_num(&b, x, dec);
				}
				if (!same_y) {
					buf_append(&b, "Y", 1);
					put_num(&b, y, dec);
				}
				double f = o->speed;
				if (burn && o->y_per_mm > 0) {
					/* GRBL's F is in machine units: a mm around the
					 * piece is y_per_mm of them, a mm across is one. */
					double dx = x - cx, dy = y - cy;
					double surface = hypot(dx, dy / o->y_per_mm);
					if (surface > 0)
						f = round(o->speed * hypot(dx, dy) / surface);
				}
				if (burn && cur_f != f) {
					buf_append(&b, "F", 1);
					put_num(&b, f, 0);
					cur_f = f;
				}
				if (burn && cur_s != o->power_s) {
					buf_printf(&b, "S%d", o->power_s);
					cur_s = o->power_s;
				}
				buf_append(&b, "\n", 1);
				nl++;
				cx = x;
				cy = y;
			}
		}
	}
	buf_printf(&b, o->plain ? "M5 S0\nG0 X0 Y0\n" : "M5\n");
	nl += o->plain ? 2 : 1;
	if (lines)
		*lines = nl;
	return b.data ? b.data : xstrdup("");
}
