/*
 * Register maps at work: a device profile (cfg.h) turned into the read
 * blocks of a poll cycle, raw registers decoded into scaled values and
 * engineering values encoded for writing. Pure code: the Modbus thread
 * uses it, and so do the tests and the fuzz target, without a device.
 */
#ifndef ATELIER_MB_MAP_H
#define ATELIER_MB_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfg/cfg.h"

#define MB_MAX_BLOCK 125    /* registers in one read (FC 03) */

struct mb_block {
	int start, count;
};

/* Contiguous readable registers, each block read in one transaction.
 * Registers outside the map are never read: devices answer exception 02.
 * Returns the number of blocks written into out (at most max). */
size_t mb_map_blocks(const struct profile *p, struct mb_block *out, size_t max);

/* The variant of a device whose identify register reads model and whose
 * select_by register (if the profile has one) reads select; NULL when no
 * variant matches (the device is then not to be driven). */
const struct profile_variant *mb_map_variant(const struct profile *p, int model, int select);
/* Scale of a register under a variant (NULL: the register's own). */
double mb_map_scale(const struct profile *p, const struct profile_reg *r,
    const struct profile_variant *v);
/* Range for writes under a variant; false when the register has none. */
bool mb_map_range(const struct profile *p, const struct profile_reg *r,
    const struct profile_variant *v, double *min, double *max);

/* Raw registers of a device, by address; valid[] says which were read. */
struct mb_raw {
	uint16_t value[65536];
	bool valid[65536];
};

/* Decodes one register; returns 0 and the engineering value, or -1 if
 * its words were not read. */
int mb_map_decode(const struct profile *p, const struct profile_reg *r,
    const struct profile_variant *v, const struct mb_raw *raw, double *out);

/*
 * Encodes an engineering value for writing into words[0..*n). Returns 0,
 * or -1 with the reason in err: not writable, never written (factory
 * calibration), outside the profile's range, or not representable.
 */
int mb_map_encode(const struct profile *p, const struct profile_reg *r,
    const struct profile_variant *v, double value, uint16_t words[2], int *n, char *err,
    size_t errlen);

#endif
