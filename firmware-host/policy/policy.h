/*
 * Policy: pure functions (no I/O) that say whether a process may be done
 * to a piece, and if not, why, in a sentence that names the gem or the
 * metal. The gem table comes from config/gems.yaml, or from the copy of
 * that file compiled into the program when no file is configured. Both
 * species and treatment count: a gem's verdict is the strictest of its
 * species entry, its treatment's entry for any species and its species'
 * untreated entry. A gem or treatment not in the table is refused
 * (fail-safe), with the nearest known names suggested.
 *
 * Names are taken as a jeweller writes them: in any case, with spaces,
 * hyphens or underscores around and between words, by a trade or variety
 * name (an alias of the table: "akoya" is a pearl, "jadeite type b" a jade
 * bleached and polymer-impregnated), with several treatments joined by
 * '+'. They are resolved to the table's own names first.
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
	char reason[512];       /* why refused; a note when permitted by override */
};

#define POLICY_MAX_TREATMENTS 16

/* A gem's names resolved against the table; the strings are the table's. */
struct policy_gem_name {
	const char *species;
	const char *variety;    /* the alias it was named by, or NULL */
	const char *given[POLICY_MAX_TREATMENTS];   /* the treatments written ("none") */
	size_t n_given;
	const char *all[POLICY_MAX_TREATMENTS];     /* and those the variety implies */
	size_t n_all;
	char treatment[256];    /* all of them, joined with '+' in the table's order */
};

/*
 * Resolves a species (or alias) and a treatment (NULL: "none"; several
 * joined with '+') written by a jeweller. Returns 0, or -1 with a sentence
 * in err naming what is unknown and the nearest known names ("unknown gem
 * 'emrald': did you mean emerald?").
 */
int policy_gem_resolve(const struct cfg_gems *g, const char *species, const char *treatment,
    struct policy_gem_name *out, char *err, size_t errlen);
/* The verdict of a resolved gem: the stricter of its species with the
 * treatments given and with those the variety implies as well, so that an
 * alias is never judged more leniently than its species; -1 when the
 * table has no entry for it. why is set to the reason. */
int policy_gem_name_verdict(const struct cfg_gems *g, const struct policy_gem_name *n,
    enum policy_process proc, const char **why);
/* "pearl (akoya)", "jade (jadeite type b, bleached+polymer)", "emerald (oiled)". */
void policy_gem_name_text(const struct policy_gem_name *n, char *out, size_t len);

/* A gem as atelierctl's --gem writes it: SPECIES[:TREATMENT][:COUNT], or
 * SPECIES:COUNT; an empty TREATMENT is none given. */
struct policy_gem_arg {
	char species[64];
	char treatment[128];    /* "" when not given */
	int count;              /* 0 when not given */
};
/* Parses arg; returns 0, or -1 with a sentence in err. The names are
 * checked by the daemon, which knows the table. */
int policy_gem_arg_parse(const char *arg, struct policy_gem_arg *out, char *err, size_t errlen);

/* The compiled-in gem table (equal to the shipped config/gems.yaml). */
const struct cfg_gems *policy_default_gems(void);
/* The text it was built from. */
const char *policy_default_gems_text(void);

/* Judges a process for a piece; always fills v. */
void policy_judge(const struct cfg_gems *g, const struct policy_piece *p,
    enum policy_process proc, struct policy_verdict *v);
/* A gem's verdict for ultrasound or the acid bath (enum gem_verdict), or
 * -1 when the gem or treatment is unknown; why is set to the reason. The
 * names are resolved as policy_gem_resolve does. */
int policy_gem_verdict(const struct cfg_gems *g, const char *species, const char *treatment,
    enum policy_process proc, const char **why);
const char *policy_process_name(enum policy_process proc);

#endif
