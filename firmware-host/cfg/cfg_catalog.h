/*
 * The workshop's catalogue as data: which gems and treatments may go into
 * the ultrasonic tank or the acid rhodium bath (config/gems.yaml), and
 * which services exist with their steps, eligibility and pricing
 * (config/services.yaml). Loaded and checked with the configuration's
 * schema machinery; policy and jobs read these structs.
 */
#ifndef ATELIER_CFG_CATALOG_H
#define ATELIER_CFG_CATALOG_H

#include <stdbool.h>
#include <stddef.h>

#include "cfg/cfg.h"

/* Verdicts of the gem-care charts; risky and never both refuse. */
enum gem_verdict { GEM_SAFE = 0, GEM_RISKY, GEM_NEVER };

struct cfg_gem {
	char *species;          /* "emerald", or "*" for a treatment of any species */
	char *treatment;        /* "none", "heat", "oiled", ..., or "any" */
	int ultrasonic;         /* enum gem_verdict */
	int acid_bath;
	char *reason;           /* why, for the refusal message */
};

/* Trade and variety names of one species ("tsavorite" for garnet), with
 * the treatments the variety implies ("jadeite type b": bleached and
 * polymer); a gem named so is judged as its species with those
 * treatments added to the one given, never more leniently. */
struct cfg_gem_alias {
	char **names;
	char *species;
	char **treatments;      /* NULL: the name implies no treatment */
};

struct cfg_gems {
	struct cfg_gem *gems;
	size_t n_gems;
	char **treatments;      /* every treatment name a job may give */
	struct cfg_gem_alias *aliases;
	size_t n_aliases;
};

/* The longest gem, alias or treatment name, once compared (below). */
#define CFG_GEM_NAME_MAX 40
#define CFG_GEM_NAME_MAX_TEXT "40"

enum step_kind { STEP_MANUAL = 0, STEP_MACHINE };
enum pricing_rule { PRICE_COMPLIMENTARY = 0, PRICE_FIRST_FREE, PRICE_CARE_BUNDLE, PRICE_ESTIMATE };

/* One phase of a rhodium step (shared domain facts §4). */
struct cfg_phase {
	char *name;
	char *title;
	double volts;           /* > 0: the rectifier runs; 0: a bench step */
	bool plate;             /* volts from the piece type's plate_volts */
	double seconds;         /* how long; for bench steps, an instruction */
};

struct cfg_step {
	char *id;
	int kind;               /* enum step_kind */
	char *title;
	char *station;          /* machine steps: laser, tank, bath */
	char *process;          /* what policy judges: ultrasonic, acid_bath, engraving */
	char *substitute;       /* step to run instead when policy refuses */
	char **metals;          /* only for these metals (NULL: any) */
	struct cfg_phase *phases;   /* rhodium steps: run phase by phase */
	size_t n_phases;
};

/* A piece type a job may name, with its rhodium surface and voltage. */
struct cfg_piece_type {
	char *type;
	double area_dm2;
	double plate_volts;
};

struct cfg_eligibility {
	char **piece_types;     /* the service applies to these types (NULL: any) */
	double max_change_cm;   /* necklace 4, bracelet 2; 0 = not a length service */
	int max_sizes;          /* ring: 2 sizes; 0 = not a size service */
	char *beyond;           /* service to offer past the limit (reproduction) */
	bool refuse_paved;
	char **refuse_collections;  /* "LOVE" */
	char **refuse_types;        /* "bangle" */
	int within_days;        /* of purchase; 0 = no window */
	bool certificate_required;
};

struct cfg_pricing {
	int rule;               /* enum pricing_rule */
	double price;           /* USD: "from" price after the first time, or the bundle */
	char *currency;
	char *note;             /* e.g. "components, stones and pearls invoiced on top" */
};

struct cfg_service {
	char *id;
	char *title;
	char *group;            /* services of one group share a bundle price ("care") */
	char **steps;
	struct cfg_eligibility eligibility;
	struct cfg_pricing pricing;
	char *rule;             /* the catalogue's words, quoted in refusals */
};

struct cfg_services {
	char **metals;          /* metals a job may name */
	struct cfg_piece_type *pieces;
	size_t n_pieces;
	struct cfg_step *steps;
	size_t n_steps;
	struct cfg_service *services;
	size_t n_services;
};

struct cfg_catalog {
	struct cfg_gems gems;
	struct cfg_services services;
};

/* Loads gems_file and services_file of cfg; NULL with errors added. */
struct cfg_catalog *cfg_catalog_load(const struct cfg *cfg, struct cfg_errors *errs);
void cfg_catalog_free(struct cfg_catalog *c);

int cfg_gems_load(const char *path, struct cfg_gems *out, struct cfg_errors *errs);
int cfg_gems_load_buffer(const char *name, const char *data, size_t len,
    struct cfg_gems *out, struct cfg_errors *errs);
void cfg_gems_release(struct cfg_gems *g);
void cfg_gems_print(const struct cfg_gems *g, FILE *out);
int cfg_services_load(const char *path, struct cfg_services *out, struct cfg_errors *errs);
void cfg_services_release(struct cfg_services *s);

const char *gem_verdict_name(int v);

/*
 * How gem names compare: ASCII letters in either case, and any run of
 * spaces, hyphens or underscores as one space, none at either end
 * (" South-Sea " is "south sea"). Writes that key into out (len bytes);
 * returns its length, or -1 when it is empty or longer than
 * CFG_GEM_NAME_MAX.
 */
int cfg_gem_name_key(const char *name, char *out, size_t len);
/* The table's spelling of a species named directly or by an alias (in
 * *alias, else NULL), or NULL when the name is neither. "*" is no name. */
const char *cfg_gems_species(const struct cfg_gems *g, const char *name,
    const struct cfg_gem_alias **alias);
/* The table's spelling of a treatment, or NULL. */
const char *cfg_gems_treatment(const struct cfg_gems *g, const char *name);
const struct cfg_step *cfg_step_find(const struct cfg_services *s, const char *id);
const struct cfg_service *cfg_service_find(const struct cfg_services *s, const char *id);
const struct cfg_piece_type *cfg_piece_type_find(const struct cfg_services *s, const char *type);

#endif
