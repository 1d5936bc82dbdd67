/*
 * Policy on pieces: every gem of the shipped table judged as the table
 * says, species and treatment both counting, unknown gems and treatments
 * refused with their names, metals for rhodium, engraving near never-list
 * stones, and the compiled-in table equal to the shipped file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
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
	CHECK_CONTAINS(v.reason, "unknown gem unobtainium");
	judge("white_gold", "ruby", "boiled", PROC_ULTRASONIC);
	CHECK(!v.permitted);
	CHECK_CONTAINS(v.reason, "ruby (boiled): this treatment is not in the gem list");
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

int
main(void)
{
	RUN(t_compiled_in_equals_shipped_file);
	RUN(t_every_row_as_the_table_says);
	RUN(t_refusals_name_gem_and_reason);
	RUN(t_species_and_treatment_both_count);
	RUN(t_metals_for_rhodium);
	RUN(t_engraving_near_never_list_stones);
	return test_summary();
}
