/*
 * Policy on pieces: every gem of the shipped table judged as the table
 * says, species and treatment both counting, unknown gems and treatments
 * refused with their names and the nearest known ones, metals for
 * rhodium, engraving near never-list stones, and the compiled-in table
 * equal to the shipped file. Names as a jeweller writes them: any case
 * and spacing, trade and variety names (aliases), never judged more
 * leniently than their species; and atelierctl's one gem argument parser.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"
#include "test.h"

static struct policy_verdict v;

static void
judge(const char *metal, const char *species, const char *treatment, enum policy_process proc)
{
	struct policy_gem gem = { species, treatment, 1 };
	struct policy_piece p = { metal, species ? &gem : NULL, species ? 1 : 0, false, false };
	policy_judge(policy_default_gems(), &p, proc, &v);
}

static void
t_compiled_in_equals_shipped_file(void)
{
	FILE *f = fopen("config/gems.yaml", "r");
	CHECK(f != NULL);
	if (!f)
		return;
	static char text[65536];
	size_t n = fread(text, 1, sizeof text - 1, f);
	fclose(f);
	text[n] = '\0';
	CHECK_STR(policy_default_gems_text(), text);
	CHECK(policy_default_gems()->n_gems > 40);
}

static void
t_every_row_as_the_table_says(void)
{
	const struct cfg_gems *g = policy_default_gems();
	for (size_t i = 0; i < g->n_gems; i++) {
		const struct cfg_gem *e = &g->gems[i];
		if (strcmp(e->species, "*") == 0)
			continue;
		/* A row for "any" treatment is judged with an untreated stone. */
		const char *t = strcmp(e->treatment, "any") == 0 ? "none" : e->treatment;
		judge("white_gold", e->species, t, PROC_ULTRASONIC);
		if (v.permitted != (e->ultrasonic == GEM_SAFE))
			printf("  ultrasonic for %s (%s): %s\n", e->species, t, v.reason);
		CHECK(v.permitted == (e->ultrasonic == GEM_SAFE));
		judge("white_gold", e->species, t, PROC_ACID_BATH);
		if (v.permitted != (e->acid_bath == GEM_SAFE))
			printf("  acid bath for %s (%s): %s\n", e->species, t, v.reason);
		CHECK(v.permitted == (e->acid_bath == GEM_SAFE));
	}
}

static void
t_refusals_name_gem_and_reason(void)
{
	judge("platinum", "emerald", "oiled", PROC_ULTRASONIC);
	CHECK(!v.permitted);
	CHECK_STR(v.reason, "ultrasonic cleaning refused: emerald (oiled) (never): oil and resin "
	    "sweat out of its fractures, and it must not be heated");
	judge("white_gold", "pearl", NULL, PROC_ACID_BATH);
	CHECK(!v.permitted);
	CHECK_CONTAINS(v.reason, "the acid rhodium bath refused: pearl (never)");
	judge("white_gold", "diamond", "fracture-filled", PROC_ULTRASONIC);
	CHECK(!v.permitted);
	CHECK_CONTAINS(v.reason, "diamond (fracture-filled) (risky)");
	judge("white_gold", "diamond", NULL, PROC_ULTRASONIC);
	CHECK(v.permitted);
}

static void
t_species_and_treatment_both_count(void)
{
	judge("white_gold", "sapphire", "heat", PROC_ULTRASONIC);
	CHECK(v.permitted);
	judge("white_gold", "sapphire", "dyed", PROC_ULTRASONIC);   /* dye leaches out */
	CHECK(!v.permitted);
	CHECK_CONTAINS(v.reason, "dye leaches out");
	judge("white_gold", "garnet", "doublet", PROC_ACID_BATH);
	CHECK(!v.permitted);
	CHECK_CONTAINS(v.reason, "glue of a doublet");
	judge("white_gold", "unobtainium", NULL, PROC_ULTRASONIC);
	CHECK(!v.permitted);
	CHECK_CONTAINS(v.reason, "unknown gem 'unobtainium': not in the gem table (the nearest "
	    "names are ");
	judge("white_gold", "ruby", "boiled", PROC_ULTRASONIC);
	CHECK(!v.permitted);
	CHECK_STR(v.reason, "ultrasonic cleaning refused: unknown treatment 'boiled' of ruby: did "
	    "you mean oiled?");
	judge("white_gold", "sapphire", "fracture-filled", PROC_ULTRASONIC);
	CHECK(!v.permitted);                   /* no species row for it: fail-safe */
}

static void
t_metals_for_rhodium(void)
{
	judge("white_gold", NULL, NULL, PROC_ACID_BATH);
	CHECK(v.permitted);
	judge("platinum", NULL, NULL, PROC_ACID_BATH);
	CHECK(v.permitted);
	judge("yellow_gold", NULL, NULL, PROC_ACID_BATH);
	CHECK(!v.permitted);
	CHECK_CONTAINS(v.reason, "rhodium finishing is for white gold and platinum, not yellow gold");
	judge("rose_gold", NULL, NULL, PROC_ACID_BATH);
	CHECK_CONTAINS(v.reason, "not rose gold");
	judge("silver", NULL, NULL, PROC_ACID_BATH);
	CHECK(!v.permitted);
	CHECK_CONTAINS(v.reason, "barrier layer");
	struct policy_piece p = { "silver", NULL, 0, true, false };
	policy_judge(policy_default_gems(), &p, PROC_ACID_BATH, &v);
	CHECK(v.permitted);
	judge("titanium", NULL, NULL, PROC_ACID_BATH);
	CHECK_CONTAINS(v.reason, "unknown metal 'titanium'");
	judge("yellow_gold", NULL, NULL, PROC_ULTRASONIC);
	CHECK(v.permitted);                     /* metal matters to the bath only */
}

static void
t_engraving_near_never_list_stones(void)
{
	struct policy_gem gems[] = { { "diamond", "none", 12 }, { "pearl", NULL, 1 } };
	struct policy_piece p = { "white_gold", gems, 2, false, false };
	policy_judge(policy_default_gems(), &p, PROC_ENGRAVING, &v);
	CHECK(!v.permitted);
	CHECK_CONTAINS(v.reason, "laser engraving refused: pearl is a stone never put in the tank");
	p.engraving_override = true;
	policy_judge(policy_default_gems(), &p, PROC_ENGRAVING, &v);
	CHECK(v.permitted);
	CHECK_CONTAINS(v.reason, "allowed by a technician's override");
	p.n_gems = 1;
	p.engraving_override = false;
	policy_judge(policy_default_gems(), &p, PROC_ENGRAVING, &v);
	CHECK(v.permitted);
	/* A load is refused if any piece of it is: one bad gem is enough. */
	struct policy_gem mixed[] = { { "diamond", "none", 3 }, { "opal", NULL, 1 } };
	struct policy_piece q = { "platinum", mixed, 2, false, false };
	policy_judge(policy_default_gems(), &q, PROC_ULTRASONIC, &v);
	CHECK(!v.permitted);
	CHECK_CONTAINS(v.reason, "opal");
}

/* Issue 12: "Emerald", "EMERALD:oiled" and " emerald" were unknown gems. */
static void
t_names_as_a_jeweller_writes_them(void)
{
	static const char *const emeralds[] = { "Emerald", "EMERALD", " emerald", "emerald ",
		"\temerald" };
	for (size_t i = 0; i < sizeof emeralds / sizeof *emeralds; i++) {
		judge("platinum", emeralds[i], NULL, PROC_ULTRASONIC);
		CHECK(!v.permitted);
		CHECK_STR(v.reason, "ultrasonic cleaning refused: emerald (never): oil and resin sweat "
		    "out of its fractures, and it must not be heated");
	}
	judge("platinum", "EMERALD", "oiled", PROC_ULTRASONIC);
	CHECK_CONTAINS(v.reason, "refused: emerald (oiled) (never)");
	judge("platinum", "emerald", " OILED ", PROC_ULTRASONIC);
	CHECK_CONTAINS(v.reason, "refused: emerald (oiled) (never)");
	/* Treatments too, hyphen or space alike. */
	judge("platinum", "Diamond", "Fracture Filled", PROC_ULTRASONIC);
	CHECK_CONTAINS(v.reason, "refused: diamond (fracture-filled) (risky)");
	judge("platinum", "Sapphire", " Heat", PROC_ULTRASONIC);
	CHECK(v.permitted);
	judge("platinum", "CUBIC-ZIRCONIA", NULL, PROC_ACID_BATH);
	CHECK(v.permitted);
	judge("platinum", "Lapis_Lazuli", NULL, PROC_ULTRASONIC);
	CHECK_CONTAINS(v.reason, "refused: lapis lazuli (never)");
	/* Several treatments: the strictest wins; "none" gives way. */
	judge("platinum", "ruby", "heat+lead-glass-filled", PROC_ULTRASONIC);
	CHECK_CONTAINS(v.reason, "refused: ruby (heat+lead-glass-filled) (never)");
	judge("platinum", "ruby", "none + heat", PROC_ULTRASONIC);
	CHECK(v.permitted);
	judge("platinum", "ruby", "heat+", PROC_ULTRASONIC);
	CHECK_CONTAINS(v.reason, "unknown treatment (no name) of ruby");
	/* Still unknown: refused, with the nearest names. */
	judge("platinum", "emrald", NULL, PROC_ULTRASONIC);
	CHECK_STR(v.reason, "ultrasonic cleaning refused: unknown gem 'emrald': did you mean "
	    "emerald?");
	judge("platinum", "  ", NULL, PROC_ULTRASONIC);
	CHECK_CONTAINS(v.reason, "unknown gem (no name)");
	judge("platinum", "*", "oiled", PROC_ULTRASONIC);      /* the table's wildcard is no name */
	CHECK_CONTAINS(v.reason, "unknown gem '*'");
	judge("platinum", "tsavorit", NULL, PROC_ULTRASONIC);
	CHECK_CONTAINS(v.reason, "did you mean tsavorite?");
}

/* What a name resolves to: species, variety, treatments. */
static void
resolves(const char *name, const char *treatment, const char *species, const char *variety,
    const char *treatments)
{
	struct policy_gem_name n;
	char err[300];
	int rc = policy_gem_resolve(policy_default_gems(), name, treatment, &n, err, sizeof err);
	if (rc < 0)
		printf("  %s: %s\n", name, err);
	CHECK_INT(rc, 0);
	if (rc < 0)
		return;
	CHECK_STR(n.species, species);
	CHECK(variety ? n.variety && strcmp(n.variety, variety) == 0 : !n.variety);
	CHECK_STR(n.treatment, treatments);
}

static void
t_trade_and_variety_names(void)
{
	resolves("Tsavorite", NULL, "garnet", "tsavorite", "none");
	resolves("demantoid", NULL, "garnet", "demantoid", "none");
	resolves("Akoya", NULL, "pearl", "akoya", "none");
	resolves("South Sea", "none", "pearl", "south sea", "none");
	resolves("  south-sea  PEARL", NULL, "pearl", "south sea pearl", "none");
	resolves("Tahitian", NULL, "pearl", "tahitian", "none");
	resolves("freshwater", NULL, "pearl", "freshwater", "none");
	resolves("Cultured", NULL, "pearl", "cultured", "none");
	resolves("natural pearl", NULL, "pearl", "natural pearl", "none");
	resolves("Jadeite", NULL, "jade", "jadeite", "none");
	resolves("nephrite", "dyed", "jade", "nephrite", "dyed");
	resolves("jadeite type A", NULL, "jade", "jadeite type a", "none");
	resolves("Jadeite Type B", NULL, "jade", "jadeite type b", "bleached+polymer");
	resolves("type C jade", NULL, "jade", "type c jade", "dyed");
	resolves("jadeite type B", "dyed", "jade", "jadeite type b", "dyed+bleached+polymer");
	resolves("Heliodor", NULL, "beryl", "heliodor", "none");
	resolves("goshenite", NULL, "beryl", "goshenite", "none");
	resolves("Red Beryl", NULL, "beryl", "red beryl", "none");
	resolves("Morganite", NULL, "morganite", NULL, "none");
	/* Type B jade is refused as bleached and polymer-impregnated, even
	 * when the jeweller says "none". */
	judge("platinum", "Jadeite Type B", "none", PROC_ULTRASONIC);
	CHECK_STR(v.reason, "ultrasonic cleaning refused: jade (jadeite type b, bleached+polymer) "
	    "(never): bleached and polymer-impregnated (B) jade loses its filler");
	judge("platinum", "jadeite", NULL, PROC_ULTRASONIC);
	CHECK(v.permitted);                    /* natural jade, as the table says */
	judge("platinum", "Akoya", NULL, PROC_ACID_BATH);
	CHECK_CONTAINS(v.reason, "refused: pearl (akoya) (never)");
	judge("platinum", "tsavorite", NULL, PROC_ULTRASONIC);
	CHECK(v.permitted);
}

static int
strictness(const char *species, const char *treatment, enum policy_process proc)
{
	const char *why;
	int r = policy_gem_verdict(policy_default_gems(), species, treatment, proc, &why);
	return r < 0 ? GEM_NEVER + 1 : r;       /* unknown is refused outright */
}

/* Every alias against its species, for every treatment and both
 * processes: never more lenient. */
static void
t_no_alias_more_lenient_than_its_species(void)
{
	const struct cfg_gems *g = policy_default_gems();
	static const enum policy_process procs[] = { PROC_ULTRASONIC, PROC_ACID_BATH };
	size_t judged = 0;
	CHECK(g->n_aliases > 0);
	for (size_t i = 0; i < g->n_aliases; i++)
		for (size_t k = 0; g->aliases[i].names[k]; k++)
			for (size_t t = 0; g->treatments[t]; t++)
				for (size_t p = 0; p < 2; p++) {
					const char *name = g->aliases[i].names[k], *sp = g->aliases[i].species;
					int a = strictness(name, g->treatments[t], procs[p]);
					int s = strictness(sp, g->treatments[t], procs[p]);
					if (a < s)
						printf("  %s (%s) for %s: %d, its species %s: %d\n", name,
						    g->treatments[t], policy_process_name(procs[p]), a, sp, s);
					CHECK(a >= s);
					judged++;
				}
	CHECK(judged > 500);
	/* And through a whole piece, as the stations judge it. */
	for (size_t i = 0; i < g->n_aliases; i++)
		for (size_t k = 0; g->aliases[i].names[k]; k++)
			for (size_t p = 0; p < 2; p++) {
				struct policy_verdict va;
				judge("platinum", g->aliases[i].species, NULL, procs[p]);
				va = v;
				judge("platinum", g->aliases[i].names[k], NULL, procs[p]);
				CHECK(va.permitted || !v.permitted);
			}
}

static void
t_gem_argument(void)
{
	struct policy_gem_arg a;
	char err[200];
	CHECK_INT(policy_gem_arg_parse("pearl:none:2", &a, err, sizeof err), 0);
	CHECK_STR(a.species, "pearl");
	CHECK_STR(a.treatment, "none");
	CHECK_INT(a.count, 2);
	CHECK_INT(policy_gem_arg_parse("South Sea", &a, err, sizeof err), 0);
	CHECK_STR(a.species, "South Sea");
	CHECK_STR(a.treatment, "");
	CHECK_INT(a.count, 0);
	CHECK_INT(policy_gem_arg_parse("jadeite type b:dyed", &a, err, sizeof err), 0);
	CHECK_STR(a.species, "jadeite type b");
	CHECK_STR(a.treatment, "dyed");
	CHECK_INT(policy_gem_arg_parse("diamond:3", &a, err, sizeof err), 0);
	CHECK_STR(a.treatment, "");
	CHECK_INT(a.count, 3);
	CHECK_INT(policy_gem_arg_parse("diamond::10000", &a, err, sizeof err), 0);
	CHECK_INT(a.count, 10000);
	CHECK_INT(policy_gem_arg_parse("ruby:heat+oiled", &a, err, sizeof err), 0);
	CHECK_STR(a.treatment, "heat+oiled");
	CHECK_INT(policy_gem_arg_parse("pearl:none:x", &a, err, sizeof err), -1);
	CHECK_STR(err, "--gem pearl:none:x: the count 'x' must be a whole number from 1 to 10000");
	CHECK_INT(policy_gem_arg_parse("pearl:none:0", &a, err, sizeof err), -1);
	CHECK_INT(policy_gem_arg_parse("pearl:10001", &a, err, sizeof err), -1);
	CHECK_CONTAINS(err, "from 1 to 10000");
	CHECK_INT(policy_gem_arg_parse("pearl:none:2:3", &a, err, sizeof err), -1);
	CHECK_CONTAINS(err, "expected SPECIES[:TREATMENT][:COUNT]");
	CHECK_INT(policy_gem_arg_parse(":none", &a, err, sizeof err), -1);
	CHECK_CONTAINS(err, "the species is missing");
	CHECK_INT(policy_gem_arg_parse("", &a, err, sizeof err), -1);
	char longname[100];
	memset(longname, 'x', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	CHECK_INT(policy_gem_arg_parse(longname, &a, err, sizeof err), -1);
	CHECK_CONTAINS(err, "at most 40 characters");
}

int
main(void)
{
	RUN(t_compiled_in_equals_shipped_file);
	RUN(t_every_row_as_the_table_says);
	RUN(t_refusals_name_gem_and_reason);
	RUN(t_species_and_treatment_both_count);
	RUN(t_metals_for_rhodium);
	RUN(t_engraving_near_never_list_stones);
	RUN(t_names_as_a_jeweller_writes_them);
	RUN(t_trade_and_variety_names);
	RUN(t_no_alias_more_lenient_than_its_species);
	RUN(t_gem_argument);
	return test_summary();
}
