/*
 * Register-map arithmetic without a device: read blocks from a profile,
 * the variant chosen by a model id (and the RD6012P's range register),
 * decoding of every type with the variant's scales and word order, and
 * encoding with the variant's ranges and its refusals.
 */
#include <string.h>

#include "mb_map.h"
#include "test.h"

static struct profile *
load(const char *path)
{
	struct cfg_errors e = { 0 };
	struct profile *p = profile_load(path, &e);
	cfg_errors_free(&e);
	return p;
}

static void
t_blocks(void)
{
	struct profile *t = load("config/profiles/tank-generator.yaml");
	struct mb_block b[16];
	CHECK(t != NULL);
	if (!t)
		return;
	size_t n = mb_map_blocks(t, b, 16);
	/* 0-1, 10-17, 20-26 (bits share 25 and 26; 27 is write-only), 30-31 */
	CHECK_INT(n, 4);
	CHECK(b[0].start == 0 && b[0].count == 2);
	CHECK(b[1].start == 10 && b[1].count == 8);
	CHECK(b[2].start == 20 && b[2].count == 7);
	CHECK(b[3].start == 30 && b[3].count == 2);
	profile_free(t);
	struct profile *r = load("config/profiles/riden-rd60xx.yaml");
	n = mb_map_blocks(r, b, 16);
	/* 0-5, 8-14 (power is 12-13), 16-18, 20, 34-35, 38-41, 54-62 */
	CHECK_INT(n, 7);
	CHECK(b[0].start == 0 && b[0].count == 6);
	CHECK(b[1].start == 8 && b[1].count == 7);
	CHECK(b[3].start == 20 && b[3].count == 1);
	CHECK(b[5].start == 38 && b[5].count == 4);
	CHECK(b[6].start == 54 && b[6].count == 9);
	profile_free(r);
}

static struct mb_raw raw;

static const struct profile_variant *
var(const struct profile *p, int model, int range)
{
	return mb_map_variant(p, model, range);
}

static void
t_variants_by_model_and_range(void)
{
	struct profile *r = load("config/profiles/riden-rd60xx.yaml");
	CHECK(r != NULL);
	if (!r)
		return;
	CHECK_STR(var(r, 60062, 0)->name, "RD6006");
	CHECK_STR(var(r, 60065, 7)->name, "RD6006P");
	CHECK_STR(var(r, 60066, 0)->name, "RK6006");
	CHECK_STR(var(r, 60124, 0)->name, "RD6012");
	CHECK_STR(var(r, 60125, 0)->name, "RD6012P 6 A range");
	CHECK_STR(var(r, 60129, 1)->name, "RD6012P 12 A range");
	CHECK(var(r, 60125, 2) == NULL);        /* a range nobody documented */
	CHECK_STR(var(r, 60189, 0)->name, "RD6018");
	CHECK_STR(var(r, 60241, 0)->name, "RD6024");
	CHECK_STR(var(r, 60249, 1)->name, "RD6024");
	CHECK(var(r, 60240, 0) == NULL);
	CHECK(var(r, 60300, 0) == NULL);        /* RD6030: not in the profile */
	CHECK(var(r, 12345, 0) == NULL);
	profile_free(r);
}

static struct mb_raw raw;

static void
t_decode_with_variants(void)
{
	struct profile *r = load("config/profiles/riden-rd60xx.yaml");
	const struct profile_reg *vset = profile_reg_find(r, "v_set");
	const struct profile_reg *iout = profile_reg_find(r, "i_out");
	const struct profile_reg *ah = profile_reg_find(r, "ah");
	const struct profile_reg *power = profile_reg_find(r, "power");
	double v;
	memset(&raw, 0, sizeof raw);
	CHECK_INT(mb_map_decode(r, vset, var(r, 60062, 0), &raw, &v), -1);     /* not read */
	raw.value[8] = 1234;
	raw.valid[8] = true;
	raw.value[11] = 1500;
	raw.valid[11] = true;
	raw.value[38] = 1;
	raw.value[39] = 0x86A0;                 /* 0x186A0 = 100000 */
	raw.valid[38] = raw.valid[39] = true;
	CHECK_INT(mb_map_decode(r, vset, var(r, 60062, 0), &raw, &v), 0);
	CHECK_NEAR(v, 12.34, 1e-9);             /* RD6006: V/100 */
	CHECK_INT(mb_map_decode(r, vset, var(r, 60065, 0), &raw, &v), 0);
	CHECK_NEAR(v, 1.234, 1e-9);             /* RD6006P: V/1000 */
	mb_map_decode(r, vset, var(r, 60125, 0), &raw, &v);
	CHECK_NEAR(v, 1.234, 1e-9);             /* RD6012P: V/1000 */
	mb_map_decode(r, iout, var(r, 60062, 0), &raw, &v);
	CHECK_NEAR(v, 1.5, 1e-9);               /* I/1000 */
	mb_map_decode(r, iout, var(r, 60121, 0), &raw, &v);
	CHECK_NEAR(v, 15.0, 1e-9);              /* RD6012: I/100 */
	mb_map_decode(r, iout, var(r, 60241, 0), &raw, &v);
	CHECK_NEAR(v, 15.0, 1e-9);              /* RD6024: I/100, not the RD6006's I/1000 */
	mb_map_decode(r, iout, var(r, 60125, 0), &raw, &v);
	CHECK_NEAR(v, 0.15, 1e-9);              /* RD6012P 6 A range: I/10000 */
	mb_map_decode(r, iout, var(r, 60125, 1), &raw, &v);
	CHECK_NEAR(v, 1.5, 1e-9);               /* RD6012P 12 A range: I/1000 */
	mb_map_decode(r, ah, var(r, 60062, 0), &raw, &v);
	CHECK_NEAR(v, 100.0, 1e-9);             /* u32 high word first, /1000 */
	raw.value[12] = 1;                      /* 0x10000 + 1234 = 66770: 667.70 W */
	raw.value[13] = 1234;
	raw.valid[12] = raw.valid[13] = true;
	CHECK_INT(mb_map_decode(r, power, var(r, 60181, 0), &raw, &v), 0);
	CHECK_NEAR(v, 667.70, 1e-9);            /* past 655.35 W: no wrap */
	profile_free(r);
	struct profile *t = load("config/profiles/tank-generator.yaml");
	raw.value[20] = (uint16_t)-55;          /* -5.5 C */
	raw.valid[20] = true;
	raw.value[26] = 0x0004;
	raw.valid[26] = true;
	mb_map_decode(t, profile_reg_find(t, "temperature"), NULL, &raw, &v);
	CHECK_NEAR(v, -5.5, 1e-9);
	mb_map_decode(t, profile_reg_find(t, "fault_watchdog"), NULL, &raw, &v);
	CHECK_NEAR(v, 1, 0);
	mb_map_decode(t, profile_reg_find(t, "fault_overheat"), NULL, &raw, &v);
	CHECK_NEAR(v, 0, 0);
	profile_free(t);
	/* The E5CC in two-byte mode: rightmost 16 bits first. */
	struct profile *e = load("config/profiles/e5cc.yaml");
	raw.value[0x2406] = 0x0001;             /* heating output on */
	raw.value[0x2407] = 0x0100;             /* STOP, bit 24 */
	raw.valid[0x2406] = raw.valid[0x2407] = true;
	CHECK_INT(mb_map_decode(e, profile_reg_find(e, "status"), NULL, &raw, &v), 0);
	CHECK_NEAR(v, 0x01000001, 0);
	uint16_t w[2];
	int n;
	char err[100];
	struct profile_reg s32 = *profile_reg_find(e, "status");
	s32.access = REG_RW;
	s32.type = REG_S32;
	CHECK_INT(mb_map_encode(e, &s32, NULL, -2, w, &n, err, sizeof err), 0);
	CHECK(n == 2 && w[0] == 0xFFFE && w[1] == 0xFFFF);
	s32.type = REG_U32;
	CHECK_INT(mb_map_encode(e, &s32, NULL, 0x01000001, w, &n, err, sizeof err), 0);
	CHECK(n == 2 && w[0] == 0x0001 && w[1] == 0x0100);
	profile_free(e);
}

static void
t_encode_and_refusals(void)
{
	struct profile *r = load("config/profiles/riden-rd60xx.yaml");
	uint16_t w[2];
	int n;
	char err[200];
	const struct profile_reg *iset = profile_reg_find(r, "i_set");
	CHECK_INT(mb_map_encode(r, profile_reg_find(r, "v_set"), var(r, 60062, 0), 2.5, w, &n, err, sizeof err), 0);
	CHECK(n == 1 && w[0] == 250);
	CHECK_INT(mb_map_encode(r, profile_reg_find(r, "v_set"), var(r, 60125, 0), 2.5, w, &n, err, sizeof err), 0);
	CHECK_INT(w[0], 2500);                  /* RD6012P: V/1000, not 250 */
	CHECK_INT(mb_map_encode(r, iset, var(r, 60065, 0), 1.25, w, &n, err, sizeof err), 0);
	CHECK_INT(w[0], 12500);                 /* RD6006P: I/10000 */
	CHECK_INT(mb_map_encode(r, iset, var(r, 60241, 0), 1.5, w, &n, err, sizeof err), 0);
	CHECK_INT(w[0], 150);                   /* RD6024: I/100, so 1.5 A stays 1.5 A */
	/* Each family's own current range. */
	static const struct { int model, range; double ok, bad; } lim[] = {
		{ 60062, 0, 6, 6.01 }, { 60066, 0, 6, 6.01 }, { 60122, 0, 12, 12.01 },
		{ 60125, 0, 6, 6.01 }, { 60125, 1, 12, 12.01 }, { 60183, 0, 18, 18.01 },
		{ 60245, 0, 24, 24.01 },
	};
	for (size_t i = 0; i < sizeof lim / sizeof lim[0]; i++) {
		const struct profile_variant *v = var(r, lim[i].model, lim[i].range);
		CHECK_INT(mb_map_encode(r, iset, v, lim[i].ok, w, &n, err, sizeof err), 0);
		CHECK_INT(mb_map_encode(r, iset, v, lim[i].bad, w, &n, err, sizeof err), -1);
		CHECK_CONTAINS(err, "is outside 0..");
	}
	CHECK_INT(mb_map_encode(r, iset, var(r, 60062, 0), 12, w, &n, err, sizeof err), -1);
	CHECK_CONTAINS(err, "i_set 12 A is outside 0..6 on an RD6006");
	CHECK_INT(mb_map_encode(r, profile_reg_find(r, "v_set"), var(r, 60062, 0), 61, w, &n, err, sizeof err), -1);
	CHECK_CONTAINS(err, "v_set 61 V is outside 0..60");
	CHECK_INT(mb_map_encode(r, profile_reg_find(r, "cal_55"), var(r, 60062, 0), 1, w, &n, err, sizeof err), -1);
	CHECK_CONTAINS(err, "never written");
	CHECK_INT(mb_map_encode(r, profile_reg_find(r, "cal_commit"), NULL, 1, w, &n, err, sizeof err), -1);
	CHECK_CONTAINS(err, "never written");
	CHECK_INT(profile_reg_find(r, "cal_commit")->address, 54);
	CHECK_INT(mb_map_encode(r, profile_reg_find(r, "v_out"), var(r, 60062, 0), 1, w, &n, err, sizeof err), -1);
	CHECK_CONTAINS(err, "read-only");
	profile_free(r);
}

/* Every shipped profile says its safe state. */
static void
t_safe_states(void)
{
	struct profile *r = load("config/profiles/riden-rd60xx.yaml");
	struct profile *t = load("config/profiles/tank-generator.yaml");
	struct profile *e = load("config/profiles/e5cc.yaml");
	CHECK(r && t && e);
	if (r && t && e) {
		CHECK(r->n_safe == 1 && strcmp(r->safe[0].reg, "output") == 0 && r->safe[0].value == 0);
		CHECK(t->n_safe == 2 && strcmp(t->safe[0].reg, "ultrasound_run") == 0 &&
		    strcmp(t->safe[1].reg, "heater_run") == 0);
		CHECK(e->n_safe == 2 && e->safe[0].value == 0x0001 && e->safe[1].value == 0x0101);
	}
	profile_free(r);
	profile_free(t);
	profile_free(e);
}

int
main(void)
{
	RUN(t_blocks);
	RUN(t_variants_by_model_and_range);
	RUN(t_decode_with_variants);
	RUN(t_encode_and_refusals);
	RUN(t_safe_states);
	return test_summary();
}
