/*
 * Register-map arithmetic (see mb_map.h). u32 and s32 take two registers,
 * high word first as the Riden's counters, or low word first as the E5CC
 * in two-byte mode, as the profile says; bits are read from the register
 * that holds them.
 */
#include "mb_map.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
words(const struct profile_reg *r)
{
	return r->type == REG_U32 || r->type == REG_S32 ? 2 : 1;
}

static int
cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

size_t
mb_map_blocks(const struct profile *p, struct mb_block *out, size_t max)
{
	int *addr = calloc(p->n_regs * 2 + 1, sizeof *addr);
	size_t n = 0, nb = 0;
	if (!addr)
		abort();
	for (size_t i = 0; i < p->n_regs; i++) {
		if (p->regs[i].access == REG_WO)
			continue;
		for (int w = 0; w < words(&p->regs[i]); w++)
			addr[n++] = p->regs[i].address + w;
	}
	qsort(addr, n, sizeof *addr, cmp_int);
	for (size_t i = 0; i < n; i++) {
		if (i && addr[i] == addr[i - 1])
			continue;       /* bits share their register */
		if (nb && addr[i] == out[nb - 1].start + out[nb - 1].count &&
		    out[nb - 1].count < MB_MAX_BLOCK) {
			out[nb - 1].count++;
			continue;
		}
		if (nb == max)
			break;
		out[nb++] = (struct mb_block){ addr[i], 1 };
	}
	free(addr);
	return nb;
}

const struct profile_variant *
mb_map_variant(const struct profile *p, int model, int select)
{
	for (size_t i = 0; i < p->n_variants; i++) {
		const struct profile_variant *v = &p->variants[i];
		if (model >= v->model_min && model <= v->model_max &&
		    (v->select < 0 || v->select == select))
			return v;
	}
	return NULL;
}

double
mb_map_scale(const struct profile *p, const struct profile_reg *r, const struct profile_variant *v)
{
	(void)p;
	for (size_t i = 0; v && i < v->n_scales; i++)
		if (strcmp(v->reg_names[i], r->name) == 0)
			return v->scales[i];
	return r->scale;
}

bool
mb_map_range(const struct profile *p, const struct profile_reg *r, const struct profile_variant *v,
    double *min, double *max)
{
	(void)p;
	for (size_t i = 0; v && i < v->n_ranges; i++)
		if (strcmp(v->range_names[i], r->name) == 0) {
			*min = v->ranges[i][0];
			*max = v->ranges[i][1];
			return true;
		}
	*min = r->min;
	*max = r->max;
	return r->has_range;
}

/* The 32 bits of a two-register value in the profile's word order. */
static uint32_t
join(const struct profile_reg *r, uint16_t first, uint16_t second)
{
	return r->word_order == WORDS_LOW_FIRST ? (uint32_t)second << 16 | first :
	    (uint32_t)first << 16 | second;
}

int
mb_map_decode(const struct profile *p, const struct profile_reg *r, const struct profile_variant *var,
    const struct mb_raw *raw, double *out)
{
	int a = r->address;
	if (!raw->valid[a] || (words(r) == 2 && (a == 65535 || !raw->valid[a + 1])))
		return -1;
	double v;
	switch (r->type) {
	case REG_U16: v = raw->value[a]; break;
	case REG_S16: v = (int16_t)raw->value[a]; break;
	case REG_U32: v = (double)join(r, raw->value[a], raw->value[a + 1]); break;
	case REG_S32: v = (double)(int32_t)join(r, raw->value[a], raw->value[a + 1]); break;
	default: v = (raw->value[a] >> r->bit) & 1; break;
	}
	*out = r->type == REG_BIT ? v : v * mb_map_scale(p, r, var);
	return 0;
}

int
mb_map_encode(const struct profile *p, const struct profile_reg *r, const struct profile_variant *var,
    double value, uint16_t w[2], int *n, char *err, size_t errlen)
{
	if (r->never_write) {
		snprintf(err, errlen, "%s is never written (factory calibration)", r->name);
		return -1;
	}
	if (r->access == REG_RO || r->type == REG_BIT) {
		snprintf(err, errlen, "%s is read-only", r->name);
		return -1;
	}
	double min, max;
	bool ranged = mb_map_range(p, r, var, &min, &max);
	if (!isfinite(value) || (ranged && (value < min - 1e-9 || value > max + 1e-9))) {
		snprintf(err, errlen, "%s %g%s%s is outside %g..%g%s%s", r->name, value,
		    r->unit && *r->unit ? " " : "", r->unit ? r->unit : "", min, max,
		    var ? " on an " : "", var ? var->name : "");
		return -1;
	}
	double raw = round(value / mb_map_scale(p, r, var));
	double lo, hi;
	switch (r->type) {
	case REG_U16: lo = 0; hi = 65535; break;
	case REG_S16: lo = -32768; hi = 32767; break;
	case REG_U32: lo = 0; hi = 4294967295.0; break;
	default: lo = -2147483648.0; hi = 2147483647.0; break;
	}
	if (raw < lo || raw > hi) {
		snprintf(err, errlen, "%s %g does not fit its register", r->name, value);
		return -1;
	}
	if (words(r) == 2) {
		uint32_t u = r->type == REG_U32 ? (uint32_t)raw : (uint32_t)(int32_t)raw;
		bool low_first = r->word_order == WORDS_LOW_FIRST;
		w[low_first ? 1 : 0] = (uint16_t)(u >> 16);
		w[low_first ? 0 : 1] = (uint16_t)u;
		*n = 2;
	} else {
		w[0] = r->type == REG_U16 ? (uint16_t)raw : (uint16_t)(int16_t)raw;
		*n = 1;
	}
	return 0;
}
