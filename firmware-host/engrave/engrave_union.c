/*
 * The outline of shaped text is the union of its glyphs: joined Arabic
 * letters, a Devanagari vowel sign over the headline, marks touching their
 * letter overlap, and burning each glyph's own contour would burn the seams
 * and the overlaps twice. This file replaces the closed contours of a
 * laid-out text by the boundary of their nonzero fill, computed with GEOS
 * (libgeos-dev's C API), not by geometry of our own: the contours are
 * noded together, the faces of the arrangement polygonized, the faces
 * whose winding number is not zero kept and merged.
 *
 * Glyph contours must agree on their direction (glyph_outline turns
 * TrueType's clockwise outers to PostScript's counter-clockwise), so that
 * a glyph of one font overlapping a glyph of another adds up instead of
 * cancelling out.
 *
 * GEOS calls run under the layout's meter: a process-wide interrupt
 * callback (GEOS has no per-context one in Debian 12's 3.11) feeds it and
 * asks GEOS to stop when the budget runs out or the layout is cancelled.
 * Like the font cache, this is for the one thread that lays out.
 */
#include "engrave/engrave_int.h"

#include <float.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <geos_c.h>

#include "util.h"

static struct engrave_meter *union_meter;

/* Called by GEOS from inside its loops. */
static void
union_interrupt(void)
{
	if (union_meter && engrave_meter_tick(union_meter, 256))
		GEOS_interruptRequest();
}

/* GEOS's messages: a failure is handled by the caller, not printed. */
static void
geos_quiet(const char *message, void *user)
{
	(void)message;
	(void)user;
}

struct contour {
	struct engrave_poly *q;
	struct engrave_bbox b;
};

/* Winding number of the contours around pt (counter-clockwise positive). */
static int
winding(const struct contour *c, size_t n, double x, double y)
{
	int w = 0;
	for (size_t i = 0; i < n; i++) {
		if (x < c[i].b.x0 || x > c[i].b.x1 || y < c[i].b.y0 || y > c[i].b.y1)
			continue;
		const struct engrave_poly *q = c[i].q;
		for (size_t j = 0; j + 1 < q->n; j++) {
			struct engrave_pt a = q->pts[j], b = q->pts[j + 1];
			double cross = (b.x - a.x) * (y - a.y) - (x - a.x) * (b.y - a.y);
			if (a.y <= y) {
				if (b.y > y && cross > 0)
					w++;
			} else if (b.y <= y && cross < 0) {
				w--;
			}
		}
	}
	return w;
}

static GEOSGeometry *
ring_line(GEOSContextHandle_t h, const struct engrave_poly *q)
{
	GEOSCoordSequence *cs = GEOSCoordSeq_create_r(h, (unsigned)q->n, 2);
	if (!cs)
		return NULL;
	for (size_t j = 0; j < q->n; j++)
		GEOSCoordSeq_setXY_r(h, cs, (unsigned)j, q->pts[j].x, q->pts[j].y);
	return GEOSGeom_createLineString_r(h, cs);
}

/* Appends one ring of the result as a closed path. */
static void
add_ring(GEOSContextHandle_t h, const GEOSGeometry *ring, struct engrave_paths *out)
{
	const GEOSCoordSequence *cs = GEOSGeom_getCoordSeq_r(h, ring);
	unsigned n = 0;
	if (!cs || !GEOSCoordSeq_getSize_r(h, cs, &n) || n < 4)
		return;
	struct engrave_poly *d = engrave_paths_new_poly(out);
	d->closed = true;
	for (unsigned k = 0; k < n; k++) {
		double x, y;
		GEOSCoordSeq_getXY_r(h, cs, k, &x, &y);
		engrave_poly_add(d, x, y);
	}
}

/* Winding number around (x, y) of the contours c[idx[0..n)] but skip. */
static int
winding_of(const struct contour *c, const size_t *idx, size_t n, size_t skip, double x, double y)
{
	int w = 0;
	for (size_t k = 0; k < n; k++)
		if (idx[k] != skip)
			w += winding(&c[idx[k]], 1, x, y);
	return w;
}

/* Signed area: positive for a counter-clockwise contour. */
static double
area(const struct engrave_poly *q)
{
	double a = 0;
	for (size_t j = 0; j + 1 < q->n; j++)
		a += q->pts[j].x * q->pts[j + 1].y - q->pts[j + 1].x * q->pts[j].y;
	return a / 2;
}

/* The boundary of the nonzero fill of contours that cross or touch:
 * noded, polygonized, the faces inside kept and merged (a coverage union:
 * the faces share their edges exactly). Returns 0, or -1 when GEOS failed
 * or was interrupted. */
static int
join_crossing(GEOSContextHandle_t h, const struct contour *c, const size_t *idx, size_t n,
    GEOSGeometry *lines, struct engrave_paths *out, struct engrave_meter *m)
{
	int rc = -1;
	GEOSGeometry *noded = GEOSUnaryUnion_r(h, lines), *faces = NULL, *merged = NULL;
	GEOSGeometry **kept = NULL;
	size_t nk = 0;
	if (!noded)
		goto done;
	const GEOSGeometry *nodedp = noded;
	faces = GEOSPolygonize_r(h, &nodedp, 1);
	if (!faces)
		goto done;
	int nf = GEOSGetNumGeometries_r(h, faces);
	kept = xmalloc((size_t)(nf > 0 ? nf : 1) * sizeof(*kept));
	for (int f = 0; f < nf; f++) {
		const GEOSGeometry *face = GEOSGetGeometryN_r(h, faces, f);
		if (engrave_meter_tick(m, n))
			goto done;
		GEOSGeometry *pt = GEOSPointOnSurface_r(h, face);
		double x, y;
		bool ok = pt && !GEOSisEmpty_r(h, pt) && GEOSGeomGetX_r(h, pt, &x) &&
		    GEOSGeomGetY_r(h, pt, &y);
		if (pt)
			GEOSGeom_destroy_r(h, pt);
		/* A sliver with no inside has nothing to fill. */
		if (ok && winding_of(c, idx, n, SIZE_MAX, x, y) != 0)
			kept[nk++] = GEOSGeom_clone_r(h, face);
	}
	GEOSGeometry *coll = GEOSGeom_createCollection_r(h, GEOS_MULTIPOLYGON, kept, (unsigned)nk);
	nk = 0;  /* owned by coll now, or freed by GEOS on failure */
	if (!coll)
		goto done;
	merged = GEOSCoverageUnion_r(h, coll);
	GEOSGeom_destroy_r(h, coll);
	if (!merged || GEOSNormalize_r(h, merged) != 0)
		goto done;
	int np = GEOSGetNumGeometries_r(h, merged);
	for (int k = 0; k < np; k++) {
		const GEOSGeometry *poly = GEOSGetGeometryN_r(h, merged, k);
		if (GEOSGeomTypeId_r(h, poly) != GEOS_POLYGON)
			continue;
		add_ring(h, GEOSGetExteriorRing_r(h, poly), out);
		int ni = GEOSGetNumInteriorRings_r(h, poly);
		for (int r = 0; r < ni; r++)
			add_ring(h, GEOSGetInteriorRingN_r(h, poly, r), out);
	}
	rc = 0;
done:
	for (size_t i = 0; i < nk; i++)
		GEOSGeom_destroy_r(h, kept[i]);
	free(kept);
	if (merged)
		GEOSGeom_destroy_r(h, merged);
	if (faces)
		GEOSGeom_destroy_r(h, faces);
	if (noded)
		GEOSGeom_destroy_r(h, noded);
	return rc;
}

static size_t
uf_find(size_t *parent, size_t i)
{
	while (parent[i] != i)
		i = parent[i] = parent[parent[i]];
	return i;
}

static const struct contour *sort_c;

static int
by_x0(const void *a, const void *b)
{
	double d = sort_c[*(const size_t *)a].b.x0 - sort_c[*(const size_t *)b].b.x0;
	return (d > 0) - (d < 0);
}

int
engrave_union_nonzero(struct engrave_paths *p, struct engrave_meter *m)
{
	size_t nc = 0;
	for (size_t i = 0; i < p->n; i++)
		nc += p->v[i].closed && p->v[i].n >= 4;
	if (nc == 0)
		return 0;
	struct contour *c = xmalloc(nc * sizeof(*c));
	nc = 0;
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i].closed && p->v[i].n >= 4) {
			struct engrave_paths one = { &p->v[i], 1, 1 };
			c[nc].q = &p->v[i];
			c[nc++].b = engrave_paths_bbox(&one);
		}
	/* Groups of contours whose boxes overlap, by a sweep along x: only
	 * within a group can contours cross, and most groups (a letter and
	 * its counters) do not, which spares GEOS's overlay. */
	size_t *parent = xmalloc(nc * sizeof(size_t)), *order = xmalloc(nc * sizeof(size_t));
	for (size_t i = 0; i < nc; i++)
		parent[i] = order[i] = i;
	sort_c = c;
	qsort(order, nc, sizeof(size_t), by_x0);
	for (size_t a = 0; a < nc; a++) {
		const struct engrave_bbox *ba = &c[order[a]].b;
		for (size_t k = a + 1; k < nc && c[order[k]].b.x0 <= ba->x1; k++) {
			if (engrave_meter_tick(m, 1))
				break;
			const struct engrave_bbox *bb = &c[order[k]].b;
			if (bb->y0 <= ba->y1 && ba->y0 <= bb->y1)
				parent[uf_find(parent, order[a])] = uf_find(parent, order[k]);
		}
	}
	/* Members of each group, contiguous: idx[start[g] .. start[g + 1]). */
	size_t *idx = xmalloc(nc * sizeof(size_t)), *start = xcalloc(nc + 1, sizeof(size_t));
	for (size_t i = 0; i < nc; i++)
		start[uf_find(parent, i) + 1]++;
	for (size_t g = 0; g < nc; g++)
		start[g + 1] += start[g];
	size_t *fill = xmalloc(nc * sizeof(size_t));
	memcpy(fill, start, nc * sizeof(size_t));
	for (size_t i = 0; i < nc; i++)
		idx[fill[uf_find(parent, i)]++] = i;
	free(fill);
	free(order);

	GEOSContextHandle_t h = GEOS_init_r();
	GEOSContext_setErrorMessageHandler_r(h, geos_quiet, NULL);
	GEOSContext_setNoticeMessageHandler_r(h, geos_quiet, NULL);
	union_meter = m;
	GEOSInterruptCallback *prev_cb = GEOS_interruptRegisterCallback(union_interrupt);
	int rc = 0;
	bool *keep = xcalloc(nc, sizeof(bool));
	struct engrave_paths out;
	engrave_paths_init(&out);
	for (size_t g = 0; g < nc && rc == 0; g++) {
		const size_t *gi = idx + start[g];
		size_t gn = start[g + 1] - start[g];
		if (gn == 0)
			continue;
		if (gn == 1) {
			keep[gi[0]] = true;
			continue;
		}
		size_t work = 0;
		for (size_t k = 0; k < gn; k++)
			work += c[gi[k]].q->n;
		if (engrave_meter_tick(m, work)) {
			rc = 1;
			break;
		}
		GEOSGeometry **lines = xmalloc(gn * sizeof(*lines));
		size_t nl = 0;
		for (size_t k = 0; k < gn; k++) {
			GEOSGeometry *l = ring_line(h, c[gi[k]].q);
			if (l)
				lines[nl++] = l;
		}
		GEOSGeometry *ml = GEOSGeom_createCollection_r(h, GEOS_MULTILINESTRING, lines,
		    (unsigned)nl);
		free(lines);
		char simple = ml ? GEOSisSimple_r(h, ml) : 2;
		if (simple == 1) {
			/* No two contours cross or touch: each is on the fill's
			 * boundary when the winding of the others around it and
			 * that plus its own direction differ in being zero. */
			for (size_t k = 0; k < gn; k++) {
				const struct engrave_poly *q = c[gi[k]].q;
				int w = winding_of(c, gi, gn, gi[k], q->pts[0].x, q->pts[0].y);
				int own = area(q) > 0 ? 1 : -1;
				keep[gi[k]] = (w == 0) != (w + own == 0);
			}
		} else if (simple == 0) {
			if (join_crossing(h, c, gi, gn, ml, &out, m) < 0)
				rc = m && m->stop ? 1 : -1;
		} else {
			rc = m && m->stop ? 1 : -1;
		}
		if (ml)
			GEOSGeom_destroy_r(h, ml);
	}
	GEOS_interruptRegisterCallback(prev_cb);
	GEOS_interruptCancel();
	union_meter = NULL;
	GEOS_finish_r(h);
	if (m && m->stop)
		rc = 1;
	if (rc == 0) {
		/* The contours kept whole, the joined rings, then the open paths
		 * (strokes) as they were. */
		struct engrave_paths res;
		engrave_paths_init(&res);
		for (size_t i = 0; i < nc; i++)
			if (keep[i]) {
				struct engrave_poly *d = engrave_paths_new_poly(&res);
				*d = *c[i].q;
				c[i].q->pts = NULL;
			}
		engrave_paths_move(&res, &out);
		for (size_t i = 0; i < p->n; i++) {
			if (p->v[i].closed && p->v[i].n >= 4) {
				free(p->v[i].pts);
			} else {
				struct engrave_poly *d = engrave_paths_new_poly(&res);
				*d = p->v[i];
			}
		}
		free(p->v);
		*p = res;
	} else {
		engrave_paths_free(&out);
	}
	free(keep);
	free(idx);
	free(start);
	free(parent);
	free(c);
	return rc;
}
