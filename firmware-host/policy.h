/*
 * Policy: pure functions (no I/O) that say whether a process may be done
 * to a piece, and if not, why, in a sentence that names the gem or the
 * metal. The gem table comes from config/gems.yaml, or from the copy of
 * that file compiled into the program when no file is configured. Both
 * species and treatment count: a gem's verdict is the stricter of its
 * species entry and its treatment's entry for any species. A gem or
 * treatment not in the table is refused (fail-safe).
 */
#ifndef ATELIER_POLICY_H
#define ATELIER_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "cfg/cfg_catalog.h"

enum policy_process {
	PROC_ULTRASONIC = 0,    /* the ultrasonic tank */
	PROC_ACID_BATH,         /* rhodium strip, electroclean, activator, plating */
	PROC_ENGRAVING,         /* laser engraving near the piece's stones */
};

struct policy_gem {
	const char *species;    /* "emerald" */
	const char *treatment;  /* "none", "heat", "oiled", ...; NULL = "none" */
	int count;
};

struct policy_piece {
	const char *metal;      /* white_gold, platinum, yellow_gold, rose_gold, silver */
	const struct policy_gem *gems;
	size_t n_gems;
	bool barrier_layer;     /* silver: a Pd or Ni barrier step is planned first */
	bool engraving_override;/* a technician allowed engraving near never-list stones */
};

struct policy_verdict {
	bool permitted;
	char reason[320];       /* why refused; a note when permitted by override */
};

/* The compiled-in gem table (equal to the shipped config/gems.yaml). */
const struct cfg_gems *policy_default_gems(void);
/* The text it was built from. */
const char *policy_default_gems_text(void);

/* Judges a process for a piece; always fills v. */
void policy_judge(const struct cfg_gems *g, const struct policy_piece *p,
    enum policy_process proc, struct policy_verdict *v);
/* A gem's verdict for ultrasound or the acid bath (enum gem_verdict), or
 * -1 when the gem or treatment is unknown; why is set to the reason. */
int policy_gem_verdict(const struct cfg_gems *g, const char *species, const char *treatment,
    enum policy_process proc, const char **why);
const char *policy_process_name(enum policy_process proc);

#endif
