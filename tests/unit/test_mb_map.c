/*
 * Register-map arithmetic without a device: read blocks from a profile,
 * decoding of every type with the model's scales, and encoding with its
 * refusals.
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
	/* 0-5, 8-11, 13-14, 16-18, 34-35, 38-41, 55-62 */
	CHECK_INT(n, 7);
	CHECK(b[0].start == 0 && b[0].count == 6);
	CHECK(b[5].start == 38 && b[5].count == 4);
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
	double v;
	memset(&raw, 0, sizeof raw);
	CHECK_INT(mb_map_decode(r, vset, 60062, &raw, &v), -1);     /* not read */
	raw.value[8] = 1234;
	raw.valid[8] = true;
	raw.value[11] = 1500;
	raw.valid[11] = true;
	raw.value[38] = 1;
	raw.value[39] = 0x86A0;                 /* 0x186A0 = 100000 */
	raw.valid[38] = raw.valid[39] = true;
	CHECK_INT(mb_map_decode(r, vset, 60062, &raw, &v), 0);
	CHECK_NEAR(v, 12.34, 1e-9);             /* RD6006: V/100 */
	CHECK_INT(mb_map_decode(r, vset, 60065, &raw, &v), 0);
	CHECK_NEAR(v, 1.234, 1e-9);             /* RD6006P: V/1000 */
	mb_map_decode(r, iout, 60062, &raw, &v);
	CHECK_NEAR(v, 1.5, 1e-9);               /* I/1000 */
	mb_map_decode(r, iout, 60121, &raw, &v);
	CHECK_NEAR(v, 15.0, 1e-9);              /* RD6012: I/100 */
	mb_map_decode(r, ah, 60062, &raw, &v);
	CHECK_NEAR(v, 100.0, 1e-9);             /* u32 high word first, /1000 */
	CHECK_STR(mb_map_variant(r, 60180), "RD6018");
	CHECK(mb_map_variant(r, 12345) == NULL);
	profile_free(r);
	struct profile *t = load("config/profiles/tank-generator.yaml");
	raw.value[20] = (uint16_t)-55;          /* -5.5 C */
	raw.valid[20] = true;
	raw.value[26] = 0x0004;
	raw.valid[26] = true;
	mb_map_decode(t, profile_reg_find(t, "temperature"), 0, &raw, &v);
	CHECK_NEAR(v, -5.5, 1e-9);
	mb_map_decode(t, profile_reg_find(t, "fault_watchdog"), 0, &raw, &v);
	CHECK_NEAR(v, 1, 0);
	mb_map_decode(t, profile_reg_find(t, "fault_overheat"), 0, &raw, &v);
	CHECK_NEAR(v, 0, 0);
	profile_free(t);
}

static void
t_encode_and_refusals(void)
{
	struct profile *r = load("config/profiles/riden-rd60xx.yaml");
	uint16_t w[2];
	int n;
	char err[200];
	CHECK_INT(mb_map_encode(r, profile_reg_find(r, "v_set"), 60062, 2.5, w, &n, err, sizeof err), 0);
	CHECK(n == 1 && w[0] == 250);
	CHECK_INT(mb_map_encode(r, profile_reg_find(r, "i_set"), 60065, 1.25, w, &n, err, sizeof err), 0);
	CHECK_INT(w[0], 12500);                 /* RD6006P: I/10000 */
	CHECK_INT(mb_map_encode(r, profile_reg_find(r, "v_set"), 60062, 61, w, &n, err, sizeof err), -1);
	CHECK_CONTAINS(err, "v_set 61 V is outside 0..60");
	CHECK_INT(mb_map_encode(r, profile_reg_find(r, "cal_55"), 60062, 1, w, &n, err, sizeof err), -1);
	CHECK_CONTAINS(err, "never written");
	CHECK_INT(mb_map_encode(r, profile_reg_find(r, "v_out"), 60062, 1, w, &n, err, sizeof err), -1);
	CHECK_CONTAINS(err, "read-only");
	profile_free(r);
}

int
main(void)
{
	RUN(t_blocks);
	RUN(t_decode_with_variants);
	RUN(t_encode_and_refusals);
	return test_summary();
}
