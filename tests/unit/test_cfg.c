/*
 * The configuration machinery: defaults, collection of every error with
 * its position, suggestions, device-profile checks, and the shipped gem
 * and service catalogues read back with the facts they must carry; gem
 * names compared as a jeweller writes them and the aliases that reach
 * them; the shipped example's laser compiled in for atelierctl engrave.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg/cfg.h"
#include "cfg/cfg_catalog.h"
#include "test.h"
#include "util.h"

/* The least a workshop of one station of each kind needs. */
static const char minimal[] =
    "profile_dir: config/profiles\n"
    "buses:\n  - {name: b1, port: b1}\n  - {name: b2, port: b2}\n"
    "devices:\n"
    "  - {name: gen, bus: b1, slave: 1, profile: tank-generator}\n"
    "  - {name: rect, bus: b2, slave: 1, profile: riden-rd60xx}\n"
    "  - {name: heat, bus: b2, slave: 2, profile: e5cc}\n"
    "gpio:\n  backend: sim\n  lines: {estop: {active_low: true}, fume_ok: {}}\n"
    "stations:\n"
    "  - {name: laser, kind: laser, port: laser, lines: {door: {}, enable: {}, beacon: {}}}\n"
    "  - {name: tank, kind: tank, device: gen,"
    " lines: {lid: {}, ultrasound_enable: {}, heater_enable: {}}}\n"
    "  - {name: bath, kind: bath, rectifier: rect, heater: heat,"
    " lines: {rectifier_enable: {}, heater_enable: {}}}\n";

static const struct cfg_station *
station(const struct cfg *c, const char *name)
{
	const struct cfg_station *st = cfg_station_find(c, name);
	CHECK(st != NULL);
	return st;
}

static void
t_defaults_from_domain_facts(void)
{
	struct cfg_errors e = { 0 };
	struct cfg *c = cfg_load_buffer("mem.yaml", minimal, strlen(minimal), &e);
	for (size_t i = 0; i < e.n; i++)
		printf("  %s\n", e.msgs[i]);
	CHECK(c != NULL);
	CHECK_INT(e.n, 0);
	if (!c)
		return;
	CHECK_NEAR(station(c, "tank")->tank.temperature, 48, 1e-9);   /* lukewarm, 45-50 C */
	CHECK_NEAR(station(c, "tank")->tank.max_cycle, 600, 1e-9);    /* at most about 10 min */
	CHECK_NEAR(station(c, "bath")->bath.max_voltage, 3.0, 1e-9);  /* never more than 3 V */
	CHECK_NEAR(station(c, "laser")->laser.status_hz, 5, 1e-9);    /* 5 Hz or less */
	CHECK_INT(station(c, "laser")->laser.baud, 115200);
	CHECK_INT(c->api.mode, 0660);
	CHECK(c->lines[cfg_line_lookup(c, "estop")].gl->active_low);
	CHECK(!c->lines[cfg_line_lookup(c, "laser.beacon")].gl->active_low);
	CHECK_INT(c->gpio.backend, GPIO_BACKEND_SIM);
	CHECK_STR(c->log_level, "info");
	char *p = cfg_device_path(c, "laser");
	CHECK_STR(p, "/dev/laser");
	free(p);
	cfg_free(c);
}

/* Every error of a file, each at its line and column. */
static char *
errors_of(const char *text)
{
	struct cfg_errors e = { 0 };
	struct buf b;
	buf_init(&b);
	struct cfg *c = cfg_load_buffer("x.yaml", text, strlen(text), &e);
	CHECK(c == NULL);
	cfg_free(c);
	for (size_t i = 0; i < e.n; i++)
		buf_printf(&b, "%s\n", e.msgs[i]);
	cfg_errors_free(&e);
	return b.data ? b.data : xstrdup("");
}

static void
t_all_errors_collected(void)
{
	static const char text[] =
	    "gpio: {backend: sim, lines: {estop: {}, fume_ok: {}}}\n"
	    "stations:\n"
	    "  - {name: laser, kind: laser, port: laser, baud: 12345, status_hz: 0,"
	    " lines: {door: {}, enable: {}}}\n"
	    "  - {name: tank, kind: tank, device: gen, temprature: 40, power: 200,"
	    " lines: {lid: {}, ultrasound_enable: {}, heater_enable: {}}}\n";
	char *errs = errors_of(text);
	CHECK_CONTAINS(errs, "x.yaml:3:51: stations[0].baud is 12345 baud; must be one of 1200, "
	    "2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400 baud");
	CHECK_CONTAINS(errs, "x.yaml:3:69: stations[0].status_hz is 0 Hz; must be between 0.5 "
	    "and 10 Hz");
	CHECK_CONTAINS(errs, "x.yaml:4:43: unknown key 'temprature' in 'stations[1]'; did you "
	    "mean 'temperature'?");
	CHECK_CONTAINS(errs, "x.yaml:4:66: stations[1].power is 200 %; must be between 10 and "
	    "100 %");
	CHECK_CONTAINS(errs, "x.yaml:4:38: stations[1] (tank): device 'gen' is not among devices:");
	free(errs);
}

/* The single-station form of before is refused, with the new form shown:
 * never translated silently. */
static void
t_old_form_refused(void)
{
	char *errs = errors_of("laser: {port: laser}\n"
	    "gpio:\n  backend: sim\n  lines: {estop: {}, fume_ok: {}, laser_door: {},"
	    " laser_enable: {}}\n");
	CHECK_CONTAINS(errs, "x.yaml:1:1:");
	CHECK_CONTAINS(errs, "stations:");
	CHECK_CONTAINS(errs, "kind: laser");
	CHECK_CONTAINS(errs, "x.yaml:4:35: gpio.lines.laser_door: a station's line is written "
	    "under that station now");
	CHECK_CONTAINS(errs, "laser_door");
	CHECK_CONTAINS(errs, "door");
	free(errs);
}

/* References between stations, devices and lines are checked where they
 * are written. */
static void
t_station_references(void)
{
	static const char head[] =
	    "profile_dir: config/profiles\n"
	    "buses:\n  - {name: b1, port: b1}\n"
	    "devices:\n"
	    "  - {name: gen, bus: b1, slave: 1, profile: tank-generator}\n"
	    "  - {name: rect, bus: b1, slave: 2, profile: riden-rd60xx}\n"
	    "gpio: {backend: sim, lines: {estop: {}, fume_ok: {}}}\n"
	    "stations:\n";
	char text[2048];
	/* Two tanks on one generator. */
	snprintf(text, sizeof text, "%s"
	    "  - {name: tank-clean, kind: tank, device: gen, lines: {lid: {}, ultrasound_enable: {},"
	    " heater_enable: {}}}\n"
	    "  - {name: tank-rinse, kind: tank, device: gen, lines: {lid: {}, ultrasound_enable: {},"
	    " heater_enable: {}}}\n", head);
	char *errs = errors_of(text);
	CHECK_CONTAINS(errs, "x.yaml:10:44: stations[1] (tank-rinse): device 'gen' is already "
	    "station tank-clean's; a device serves one station");
	free(errs);
	/* A tank on a rectifier, two stations of one name, two lasers on one
	 * port, a line missing, a name that cannot name lines. */
	snprintf(text, sizeof text, "%s"
	    "  - {name: t, kind: tank, device: rect, lines: {lid: {}, ultrasound_enable: {},"
	    " heater_enable: {}}}\n"
	    "  - {name: l1, kind: laser, port: p, lines: {door: {}, enable: {}}}\n"
	    "  - {name: l1, kind: laser, port: p, lines: {door: {}}}\n"
	    "  - {name: Big One, kind: laser, port: q, lines: {door: {}, enable: {}}}\n", head);
	errs = errors_of(text);
	CHECK_CONTAINS(errs, "stations[0] (t): device 'rect' has the profile 'riden-rd60xx'; a "
	    "tank's device is a 'tank-generator'");
	CHECK_CONTAINS(errs, "x.yaml:11:12: stations[2]: a station named 'l1' already exists");
	CHECK_CONTAINS(errs, "stations[2] (l1): port 'p' is already laser l1's");
	CHECK_CONTAINS(errs, "stations[2] (l1): line 'enable' is not configured");
	CHECK_CONTAINS(errs, "stations[3].name 'Big One' must be 1 to 32 lower-case letters");
	free(errs);
	/* Two stations' outputs on one wire. */
	errs = errors_of("gpio: {backend: gpiod, lines: {estop: {chip: c, line: 0},"
	    " fume_ok: {chip: c, line: 1}}}\n"
	    "stations:\n"
	    "  - {name: a, kind: laser, port: p, lines: {door: {chip: c, line: 2},"
	    " enable: {chip: c, line: 3}}}\n"
	    "  - {name: b, kind: laser, port: q, lines: {door: {chip: c, line: 4},"
	    " enable: {chip: c, line: 3}}}\n");
	CHECK_CONTAINS(errs, "b.enable is wired to the same line as a.enable (c, offset 3); each "
	    "line has one use");
	free(errs);
}

static void
t_line_helpers(void)
{
	struct cfg_errors e = { 0 };
	struct cfg *c = cfg_load_buffer("mem.yaml", minimal, strlen(minimal), &e);
	cfg_errors_free(&e);
	CHECK(c != NULL);
	if (!c)
		return;
	int lid = cfg_line_lookup(c, "tank.lid");
	CHECK(lid >= 0);
	CHECK_STR(cfg_line_name(c, lid), "tank.lid");
	CHECK_INT(c->lines[lid].role, ROLE_LID);
	CHECK_INT(c->lines[lid].station, (int)(station(c, "tank") - c->stations));
	CHECK(!c->lines[lid].output);
	CHECK(c->lines[cfg_line_lookup(c, "bath.rectifier_enable")].output);
	CHECK_INT(cfg_line_lookup(c, "tank_lid"), -1);
	CHECK_INT(cfg_line_lookup(c, "nope"), -1);
	CHECK_INT(cfg_stations_of_kind(c, KIND_LASER), 1);
	CHECK_INT(cfg_station_of_kind(c, KIND_BATH, 0), 2);
	CHECK_INT(cfg_station_of_kind(c, KIND_BATH, 1), -1);
	cfg_free(c);
}

static const char *
profile_error(const char *text)
{
	static char msg[512];
	struct cfg_errors e = { 0 };
	struct profile *p = profile_load_buffer("p.yaml", text, strlen(text), &e);
	profile_free(p);
	snprintf(msg, sizeof msg, "%s", e.n ? e.msgs[0] : (p ? "(loaded)" : "(no error)"));
	cfg_errors_free(&e);
	return msg;
}

static void
t_profile_checks(void)
{
	CHECK_CONTAINS(profile_error("name: x\nregisters:\n"
	    "  - {name: a, address: 10, type: u32}\n  - {name: b, address: 11}\n"),
	    "registers 'a' and 'b' overlap at address 11");
	CHECK_CONTAINS(profile_error("name: x\nregisters:\n"
	    "  - {name: a, address: 1}\n  - {name: a, address: 2}\n"),
	    "register name 'a' is used twice");
	CHECK_CONTAINS(profile_error("name: x\nregisters:\n"
	    "  - {name: cal, address: 55, access: rw, never_write: true}\n"),
	    "register 'cal' is never_write but its access is rw");
	CHECK_CONTAINS(profile_error("name: x\nregisters:\n"
	    "  - {name: v, address: 8, scale: 0.01, range: [0, 1000]}\n"),
	    "range [0, 1000] is outside what a u16 scaled by 0.01 can hold");
	CHECK_CONTAINS(profile_error("name: x\nidentify: model\nregisters:\n"
	    "  - {name: v, address: 8}\n"), "identify names 'model', which is not a register");
	CHECK_CONTAINS(profile_error("name: x\nregisters:\n  - {name: v, address: 8}\n"
	    "variants:\n  - {name: A, models: [2, 1]}\n"), "first model 2 is above last 1");
	CHECK_CONTAINS(profile_error("name: x\nidentify: v\nregisters:\n  - {name: v, address: 8}\n"
	    "variants:\n  - {name: A, models: [1, 2], scales: {w: 0.1}}\n"),
	    "variant 'A' scales 'w', which is not a register");
	/* Variants, select_by, ranges, word order and safe states (issue 20). */
	CHECK_CONTAINS(profile_error("name: x\nregisters:\n  - {name: v, address: 8}\n"
	    "variants:\n  - {name: A, models: [1, 2]}\n"),
	    "p.yaml:1:1: variants and select_by need an identify register");
	CHECK_CONTAINS(profile_error("name: x\nidentify: v\nselect_by: r\nregisters:\n"
	    "  - {name: v, address: 8}\n"), "select_by names 'r', which is not a register");
	CHECK_CONTAINS(profile_error("name: x\nidentify: v\nregisters:\n  - {name: v, address: 8}\n"
	    "variants:\n  - {name: A, models: [1, 5]}\n  - {name: B, models: [5, 9]}\n"),
	    "p.yaml:7:5: variants 'A' and 'B' both match model 5");
	CHECK_CONTAINS(profile_error("name: x\nidentify: v\nselect_by: r\nregisters:\n"
	    "  - {name: v, address: 8}\n  - {name: r, address: 9}\n"
	    "variants:\n  - {name: A, models: [1, 5], select: 0}\n"
	    "  - {name: B, models: [1, 5], select: 1}\n"), "(loaded)");
	CHECK_CONTAINS(profile_error("name: x\nidentify: v\nregisters:\n  - {name: v, address: 8}\n"
	    "variants:\n  - {name: A, models: [1, 5], select: 0}\n"),
	    "variant 'A' has a select value but the profile has no select_by register");
	CHECK_CONTAINS(profile_error("name: x\nidentify: v\nregisters:\n  - {name: v, address: 8}\n"
	    "variants:\n  - {name: A, models: [1, 5], ranges: {v: [0, 6]}}\n"),
	    "variant 'A' gives a range to 'v', which is read-only");
	CHECK_CONTAINS(profile_error("name: x\nidentify: v\nregisters:\n  - {name: v, address: 8}\n"
	    "variants:\n  - {name: A, models: [1, 5], ranges: {v: [6, 0]}}\n"),
	    "p.yaml:6:43: variants[0].ranges.v: min 6 is above max 0");
	CHECK_CONTAINS(profile_error("name: x\nregisters:\n"
	    "  - {name: v, address: 8, word_order: low_first}\n"),
	    "register 'v': word_order is for u32 and s32, not u16");
	CHECK_CONTAINS(profile_error("name: x\nregisters:\n"
	    "  - {name: v, address: 8, type: u32, word_order: middle}\n"), "word_order");
	CHECK_CONTAINS(profile_error("name: x\nregisters:\n  - {name: v, address: 8}\n"
	    "safe_state:\n  - {reg: v, value: 0}\n"),
	    "p.yaml:5:5: safe_state[0] writes 'v', which is read-only");
	CHECK_CONTAINS(profile_error("name: x\nregisters:\n  - {name: v, address: 8, access: rw}\n"
	    "safe_state:\n  - {reg: w, value: 0}\n"),
	    "safe_state[0] writes 'w', which is not a register");
	CHECK_CONTAINS(profile_error("name: x\nregisters:\n"
	    "  - {name: v, address: 8, access: rw, range: [0, 1]}\n"
	    "safe_state:\n  - {reg: v, value: 2}\n"), "safe_state[0]: v 2 is outside 0..1");
	CHECK_CONTAINS(profile_error("name: x\nregisters:\n  - {name: v, address: 8, access: rw}\n"
	    "safe_state:\n  - {reg: v}\n"), "missing required key 'value'");
	CHECK_CONTAINS(profile_error("name: x\nregisters:\n  - {name: v, address: 65535, type: s32}\n"),
	    "has no room for its second word");
	CHECK_CONTAINS(profile_error("name: x\nregisters:\n"
	    "  - {name: s, address: 25}\n  - {name: b0, address: 25, type: bit, bit: 0}\n"
	    "  - {name: b1, address: 25, type: bit, bit: 1}\n"), "(loaded)");
}

static void
t_shipped_profiles(void)
{
	struct cfg_errors e = { 0 };
	struct profile *r = profile_load("config/profiles/riden-rd60xx.yaml", &e);
	CHECK(r != NULL);
	if (!r)
		return;
	CHECK_STR(r->identify, "model");
	int never = 0;
	for (size_t i = 0; i < r->n_regs; i++)
		if (r->regs[i].never_write) {
			never++;
			CHECK(r->regs[i].address >= 54 && r->regs[i].address <= 62);
		}
	CHECK_INT(never, 9);    /* 54 commits the calibration, 55-62 hold it */
	const struct profile_reg *ah = profile_reg_find(r, "ah");
	CHECK(ah && ah->type == REG_U32 && ah->address == 38);
	const struct profile_reg *power = profile_reg_find(r, "power");
	CHECK(power && power->type == REG_U32 && power->address == 12 &&
	    power->word_order == WORDS_HIGH_FIRST);
	bool found_p = false;
	for (size_t i = 0; i < r->n_variants; i++)
		if (r->variants[i].model_min == 60065) {
			found_p = true;
			CHECK_STR(r->variants[i].reg_names[0], "v_set");
			CHECK_NEAR(r->variants[i].scales[0], 0.001, 1e-12);
		}
	CHECK(found_p);
	profile_free(r);
	struct profile *t = profile_load("config/profiles/tank-generator.yaml", &e);
	CHECK(t && profile_reg_find(t, "heartbeat")->address == 30);
	profile_free(t);
	struct profile *h = profile_load("config/profiles/e5cc.yaml", &e);
	CHECK(h && profile_reg_find(h, "sv")->address == 0x2103);
	CHECK(h && profile_reg_find(h, "status")->word_order == WORDS_LOW_FIRST);
	profile_free(h);
	CHECK_INT(e.n, 0);
	cfg_errors_free(&e);
}

static const struct cfg_gem *
gem(const struct cfg_gems *g, const char *species, const char *treatment)
{
	for (size_t i = 0; i < g->n_gems; i++)
		if (!strcmp(g->gems[i].species, species) && !strcmp(g->gems[i].treatment, treatment))
			return &g->gems[i];
	return NULL;
}

static void
t_shipped_gems(void)
{
	struct cfg_gems g;
	struct cfg_errors e = { 0 };
	CHECK_INT(cfg_gems_load("config/gems.yaml", &g, &e), 0);
	if (e.n)
		return;
	const struct cfg_gem *x;
	CHECK((x = gem(&g, "emerald", "any")) && x->ultrasonic == GEM_NEVER);
	CHECK((x = gem(&g, "pearl", "any")) && x->acid_bath == GEM_NEVER);
	CHECK((x = gem(&g, "diamond", "none")) && x->ultrasonic == GEM_SAFE && x->acid_bath == GEM_SAFE);
	CHECK((x = gem(&g, "diamond", "fracture-filled")) && x->ultrasonic == GEM_RISKY);
	CHECK((x = gem(&g, "ruby", "lead-glass-filled")) && x->acid_bath == GEM_NEVER);
	CHECK((x = gem(&g, "jade", "polymer")) && x->ultrasonic == GEM_NEVER);
	CHECK((x = gem(&g, "*", "doublet")) && x->ultrasonic == GEM_NEVER);
	CHECK((x = gem(&g, "opal", "any")) && x->ultrasonic == GEM_NEVER);
	CHECK_STR(gem_verdict_name(GEM_RISKY), "risky");
	cfg_gems_release(&g);
	/* A treatment outside the list is refused at load time. */
	static const char bad[] = "treatments: [none]\ngems:\n"
	    "  - {species: a, treatment: boiled, ultrasonic: safe, acid_bath: safe, reason: r}\n";
	CHECK_INT(cfg_gems_load_buffer("g.yaml", bad, strlen(bad), &g, &e), -1);
	CHECK(e.n == 1 && strstr(e.msgs[0], "treatment 'boiled' is not in the treatments list"));
	cfg_errors_free(&e);
}

/* Issue 12: gem names as a jeweller writes them; the aliases of the
 * shipped table, and a table's aliases printed and read back. */
static void
t_gem_names_and_aliases(void)
{
	char k[CFG_GEM_NAME_MAX + 1];
	CHECK_INT(cfg_gem_name_key("  South-Sea__PEARL ", k, sizeof k), 15);
	CHECK_STR(k, "south sea pearl");
	CHECK_INT(cfg_gem_name_key(" - _ ", k, sizeof k), -1);
	CHECK_INT(cfg_gem_name_key("", k, sizeof k), -1);
	CHECK_INT(cfg_gem_name_key("a name of forty-one characters, one extra", k, sizeof k), -1);
	CHECK_INT(cfg_gem_name_key("a name of exactly forty characters, yes!", k, sizeof k), 40);
	struct cfg_gems g;
	struct cfg_errors e = { 0 };
	CHECK_INT(cfg_gems_load("config/gems.yaml", &g, &e), 0);
	if (e.n)
		return;
	const struct cfg_gem_alias *a;
	CHECK_STR(cfg_gems_species(&g, "EMERALD", &a), "emerald");
	CHECK(a == NULL);
	CHECK_STR(cfg_gems_species(&g, "Cubic_Zirconia", &a), "cubic zirconia");
	CHECK_STR(cfg_gems_species(&g, "demantoid", &a), "garnet");
	CHECK(a && strcmp(a->species, "garnet") == 0);
	CHECK_STR(cfg_gems_species(&g, "jadeite type b", &a), "jade");
	CHECK(a && a->treatments && strcmp(a->treatments[0], "bleached") == 0 &&
	    strcmp(a->treatments[1], "polymer") == 0 && !a->treatments[2]);
	CHECK_STR(cfg_gems_species(&g, "heliodor", &a), "beryl");
	CHECK(cfg_gems_species(&g, "*", &a) == NULL);
	CHECK(cfg_gems_species(&g, "unobtainium", &a) == NULL);
	CHECK_STR(cfg_gems_treatment(&g, "Lead Glass Filled"), "lead-glass-filled");
	CHECK(cfg_gems_treatment(&g, "any") == NULL);
	/* Printed (atelierd's normalised form) and read back: the same. */
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	cfg_gems_print(&g, f);
	fclose(f);
	struct cfg_gems back;
	CHECK_INT(cfg_gems_load_buffer("printed", text, len, &back, &e), 0);
	CHECK_INT(back.n_aliases, g.n_aliases);
	CHECK_INT(back.n_gems, g.n_gems);
	if (e.n == 0)
		cfg_gems_release(&back);
	free(text);
	cfg_gems_release(&g);
	/* An alias of a species the table lacks, at its line and column. */
	static const char bad[] = "treatments: [none]\ngems:\n"
	    "  - {species: pearl, treatment: any, ultrasonic: never, acid_bath: never, reason: r}\n"
	    "aliases:\n  - {names: [akoya], species: perl}\n";
	CHECK_INT(cfg_gems_load_buffer("g.yaml", bad, strlen(bad), &g, &e), -1);
	CHECK(e.n == 1);
	if (e.n)
		CHECK_STR(e.msgs[0], "g.yaml:5:31: aliases[0]: species 'perl' is not a species of the "
		    "gem table; did you mean 'pearl'?");
	cfg_errors_free(&e);
}

/* atelierctl engrave without a configuration lays out with the shipped
 * example's laser: the compiled-in copy is config/atelier.yaml's. */
static void
t_example_laser(void)
{
	struct cfg_errors e = { 0 };
	struct cfg *cfg = cfg_load("config/atelier.yaml", &e);
	struct cfg_laser l;
	CHECK(cfg != NULL);
	CHECK_INT(cfg_laser_example(&l, &e), 0);
	if (!cfg || e.n) {
		cfg_free(cfg);
		cfg_errors_free(&e);
		return;
	}
	const struct cfg_laser *cl = &cfg->stations[cfg_station_of_kind(cfg, KIND_LASER, 0)].laser;
	CHECK_STR(l.port, cl->port);
	CHECK(l.work_x == cl->work_x && l.work_y == cl->work_y);
	CHECK(l.min_char_height == cl->min_char_height);
	CHECK(l.max_power == cl->max_power && l.max_feed == cl->max_feed);
	CHECK(l.resolution == cl->resolution);
	CHECK(l.work_x == 110);                 /* not the schema's default of 100 */
	cfg_laser_release(&l);
	cfg_free(cfg);
}

static void
t_shipped_services(void)
{
	struct cfg_services s;
	struct cfg_errors e = { 0 };
	CHECK_INT(cfg_services_load("config/services.yaml", &s, &e), 0);
	if (e.n)
		return;
	const struct cfg_service *b = cfg_service_find(&s, "bracelet_resizing");
	CHECK(b != NULL);
	if (b) {
		CHECK_NEAR(b->eligibility.max_change_cm, 2, 1e-9);
		CHECK(b->eligibility.refuse_paved);
		CHECK_STR(b->eligibility.refuse_collections[0], "LOVE");
		CHECK_STR(b->eligibility.refuse_types[0], "bangle");
		CHECK_INT(b->pricing.rule, PRICE_FIRST_FREE);
		CHECK_NEAR(b->pricing.price, 190, 1e-9);
	}
	const struct cfg_service *r = cfg_service_find(&s, "ring_resizing");
	CHECK(r && r->eligibility.max_sizes == 2 && !strcmp(r->eligibility.beyond, "reproduction"));
	const struct cfg_service *n = cfg_service_find(&s, "necklace_resizing");
	CHECK(n && n->eligibility.max_change_cm == 4);
	const struct cfg_service *en = cfg_service_find(&s, "engraving");
	CHECK(en && en->eligibility.within_days == 90 && en->eligibility.certificate_required);
	CHECK(en && !strcmp(en->steps[1], "engrave"));
	const struct cfg_step *clean = cfg_step_find(&s, "clean");
	CHECK(clean && !strcmp(clean->substitute, "manual_clean") && !strcmp(clean->process, "ultrasonic"));
	const struct cfg_step *rh = cfg_step_find(&s, "rhodium_plate");
	CHECK(rh && !strcmp(rh->metals[0], "white_gold") && !strcmp(rh->metals[1], "platinum"));
	int care = 0;
	for (size_t i = 0; i < s.n_services; i++)
		if (s.services[i].group && !strcmp(s.services[i].group, "care")) {
			care++;
			CHECK_INT(s.services[i].pricing.rule, PRICE_CARE_BUNDLE);
		}
	CHECK_INT(care, 5);
	/* The rhodium recipe and the pieces' surfaces (shared domain facts §4). */
	CHECK(rh && rh->n_phases == 6 && !strcmp(rh->phases[0].name, "electroclean") &&
	    rh->phases[0].volts == 4 && rh->phases[0].seconds == 120);
	CHECK(rh && rh->phases[4].plate && !strcmp(rh->substitute, "rhodium_pen"));
	const struct cfg_piece_type *ring = cfg_piece_type_find(&s, "ring");
	CHECK(ring && ring->plate_volts == 2);
	CHECK(cfg_piece_type_find(&s, "tiara") == NULL);
	cfg_services_release(&s);
}

/* The checks across entries of a services file, each at its place. */
static void
t_services_checks(void)
{
	static const char bad[] =
	    "metals: [platinum]\n"
	    "pieces:\n"
	    "  - {type: ring, area_dm2: 0.06, plate_volts: 2}\n"
	    "  - {type: ring, area_dm2: 0.07, plate_volts: 2}\n"
	    "steps:\n"
	    "  - {id: plate, kind: machine, station: bath, title: P,\n"
	    "     phases: [{name: p, title: T, plate: true, volts: 2}]}\n"
	    "  - {id: wash, kind: machine, title: W}\n"
	    "services:\n"
	    "  - {id: s, title: S, steps: [plate, polish], pricing: {rule: complimentary}, rule: R}\n";
	char path[] = "/tmp/atelier-services-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0 && write(fd, bad, sizeof bad - 1) == (ssize_t)(sizeof bad - 1));
	close(fd);
	struct cfg_services s;
	struct cfg_errors e = { 0 };
	CHECK_INT(cfg_services_load(path, &s, &e), -1);
	const char *want[] = { "pieces[1]: type 'ring' is listed twice",
		"phase 'p' takes its volts from the piece type", "machine step 'wash' needs a station",
		"step 'polish' is not defined" };
	for (size_t w = 0; w < ARRAY_LEN(want); w++) {
		bool found = false;
		for (size_t i = 0; i < e.n; i++)
			found |= strstr(e.msgs[i], want[w]) != NULL && strstr(e.msgs[i], path) != NULL;
		if (!found)
			fprintf(stderr, "  missing error: %s\n", want[w]);
		CHECK(found);
	}
	cfg_errors_free(&e);
	unlink(path);
}

int
main(void)
{
	RUN(t_defaults_from_domain_facts);
	RUN(t_all_errors_collected);
	RUN(t_old_form_refused);
	RUN(t_station_references);
	RUN(t_line_helpers);
	RUN(t_profile_checks);
	RUN(t_shipped_profiles);
	RUN(t_shipped_gems);
	RUN(t_gem_names_and_aliases);
	RUN(t_example_laser);
	RUN(t_shipped_services);
	RUN(t_services_checks);
	return test_summary();
}
