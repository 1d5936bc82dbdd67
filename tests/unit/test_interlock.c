/*
 * The interlock, built from configurations: on the one-of-each bench
 * (config/sim.yaml) each input and each link withdraws exactly the
 * outputs that depend on it, the e-stop latches until released and
 * reset, and trips are reported once; on a workshop of several stations
 * of a kind, a door or a lid withdraws only its own station's outputs;
 * and a property test drives random inputs through thousands of steps
 * against the rules written out independently here, from the stations'
 * lines rather than from the layout's masks.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg/cfg.h"
#include "policy/interlock.h"
#include "test.h"

static struct cfg *cfg;
static struct il_layout layout;

/* A workshop of five stations: two lasers (rings with a fume line of its
 * own), a cleaning and a rinse tank, one bath. */
static const char workshop_yaml[] =
    "device_dir: /tmp\n"
    "gems_file: config/gems.yaml\nservices_file: config/services.yaml\n"
    "profile_dir: config/profiles\n"
    "buses:\n"
    "  - {name: b1, port: b1}\n  - {name: b2, port: b2}\n  - {name: b3, port: b3}\n"
    "devices:\n"
    "  - {name: gen-clean, bus: b1, slave: 1, profile: tank-generator}\n"
    "  - {name: gen-rinse, bus: b1, slave: 2, profile: tank-generator}\n"
    "  - {name: rect, bus: b2, slave: 1, profile: riden-rd60xx}\n"
    "  - {name: heat, bus: b3, slave: 1, profile: e5cc}\n"
    "gpio:\n  backend: sim\n  lines: {estop: {active_low: true}, fume_ok: {}}\n"
    "stations:\n"
    "  - {name: laser-1, kind: laser, port: l1, lines: {door: {}, enable: {}, beacon: {}}}\n"
    "  - {name: rings, kind: laser, port: l2, lines: {door: {}, enable: {}, fume_ok: {}}}\n"
    "  - {name: tank-clean, kind: tank, device: gen-clean,"
    " lines: {lid: {}, ultrasound_enable: {}, heater_enable: {}}}\n"
    "  - {name: tank-rinse, kind: tank, device: gen-rinse,"
    " lines: {lid: {}, ultrasound_enable: {}, heater_enable: {}}}\n"
    "  - {name: bath, kind: bath, rectifier: rect, heater: heat,"
    " lines: {rectifier_enable: {}, heater_enable: {}}}\n";

static bool
load(const char *path, const char *yaml)
{
	struct cfg_errors e = { 0 };
	char why[200];
	cfg_free(cfg);
	cfg = yaml ? cfg_load_buffer(path, yaml, strlen(yaml), &e) : cfg_load(path, &e);
	for (size_t i = 0; i < e.n; i++)
		printf("  %s\n", e.msgs[i]);
	cfg_errors_free(&e);
	CHECK(cfg != NULL);
	if (!cfg)
		return false;
	int rc = interlock_layout(&layout, cfg, why, sizeof why);
	CHECK_INT(rc, 0);
	return rc == 0;
}

/* The actuator of an output line, by name. */
static int
A(const char *line)
{
	int a = interlock_actuator_of_line(&layout, cfg_line_lookup(cfg, line));
	if (a < 0)
		printf("  no actuator for line %s\n", line);
	return a;
}

static uint64_t
bit(const char *line)
{
	int a = A(line);
	return a >= 0 ? 1ull << a : 0;
}

static uint64_t
all_mask(void)
{
	return layout.n_actuators == 64 ? ~0ull : (1ull << layout.n_actuators) - 1;
}

/* Every input healthy: nothing blocks, every link up. */
static struct il_inputs
healthy(void)
{
	struct il_inputs in = { 0 };
	in.links_up = layout.n_links == 64 ? ~0ull : (1ull << layout.n_links) - 1;
	return in;
}

/* An input line as the safety path reads it: the guards on it block when
 * it is at their level. */
static void
set_input(struct il_inputs *in, const char *line, int value)
{
	int l = cfg_line_lookup(cfg, line);
	CHECK(l >= 0);
	for (size_t g = 0; g < layout.n_guards; g++)
		if (layout.guards[g].line == l) {
			if (value == layout.guards[g].blocks_at)
				in->blocked |= 1ull << g;
			else
				in->blocked &= ~(1ull << g);
		}
}

static void
set_link(struct il_inputs *in, const char *station, int which, bool up)
{
	const struct cfg_station *st = cfg_station_find(cfg, station);
	int k = st ? layout.station_link[st - cfg->stations][which] : -1;
	CHECK(k >= 0);
	if (k < 0)
		return;
	if (up)
		in->links_up |= 1ull << k;
	else
		in->links_up &= ~(1ull << k);
}

static void
t_layout_of_the_bench(void)
{
	if (!load("config/sim.yaml", NULL))
		return;
	CHECK_INT(layout.n_actuators, 6);
	CHECK(A("laser.enable") >= 0 && A("laser.beacon") >= 0 && A("tank.ultrasound_enable") >= 0);
	CHECK(A("tank.heater_enable") >= 0 && A("bath.rectifier_enable") >= 0);
	CHECK(A("bath.heater_enable") >= 0);
	CHECK_INT(interlock_actuator_of_line(&layout, cfg_line_lookup(cfg, "laser.door")), -1);
	CHECK_INT(interlock_actuator_of_line(&layout, cfg_line_lookup(cfg, "estop")), -1);
}

static void
t_nothing_before_inputs(void)
{
	struct interlock il;
	if (!load("config/sim.yaml", NULL))
		return;
	interlock_init(&il, &layout);
	for (size_t a = 0; a < layout.n_actuators; a++)
		CHECK(!interlock_permits(&il, (int)a));
	CHECK_STR(interlock_reason(&il, A("laser.enable")),
	    "the safety inputs and relays cannot be reached");
	CHECK_STR(interlock_reason_line(&il, cfg_line_lookup(cfg, "laser.door")),
	    "not an output of the workshop");
}

static void
t_healthy_permits_all(void)
{
	struct interlock il;
	if (!load("config/sim.yaml", NULL))
		return;
	struct il_inputs in = healthy();
	interlock_init(&il, &layout);
	CHECK(interlock_update(&il, &in) == 0);
	CHECK(il.permitted == all_mask());
	for (size_t a = 0; a < layout.n_actuators; a++)
		CHECK(interlock_reason(&il, (int)a) == NULL);
}

static void
t_door_trips_laser_only(void)
{
	struct interlock il;
	if (!load("config/sim.yaml", NULL))
		return;
	struct il_inputs in = healthy();
	interlock_init(&il, &layout);
	interlock_update(&il, &in);
	set_input(&in, "laser.door", 1);
	CHECK(interlock_update(&il, &in) == (bit("laser.enable") | bit("laser.beacon")));
	CHECK_STR(interlock_reason(&il, A("laser.enable")), "the laser door is open");
	CHECK(interlock_permits(&il, A("tank.ultrasound_enable")));
	/* Same inputs again: no new trip. */
	CHECK(interlock_update(&il, &in) == 0);
	set_input(&in, "laser.door", 0);
	CHECK(interlock_update(&il, &in) == 0);
	CHECK(interlock_permits(&il, A("laser.enable")));
}

static void
t_lid_trips_tank(void)
{
	struct interlock il;
	if (!load("config/sim.yaml", NULL))
		return;
	struct il_inputs in = healthy();
	interlock_init(&il, &layout);
	interlock_update(&il, &in);
	set_input(&in, "tank.lid", 1);
	CHECK(interlock_update(&il, &in) == (bit("tank.ultrasound_enable") |
	    bit("tank.heater_enable")));
	CHECK_STR(interlock_reason(&il, A("tank.ultrasound_enable")), "the tank lid is open");
	CHECK_STR(interlock_reason(&il, A("tank.heater_enable")), "the tank lid is open");
	CHECK(interlock_permits(&il, A("laser.enable")));
	CHECK(interlock_permits(&il, A("bath.rectifier_enable")));
}

static void
t_fume_trips_laser_and_rectifier(void)
{
	struct interlock il;
	if (!load("config/sim.yaml", NULL))
		return;
	struct il_inputs in = healthy();
	interlock_init(&il, &layout);
	interlock_update(&il, &in);
	set_input(&in, "fume_ok", 0);
	CHECK(interlock_update(&il, &in) == (bit("laser.enable") | bit("laser.beacon") |
	    bit("bath.rectifier_enable")));
	CHECK_STR(interlock_reason(&il, A("bath.rectifier_enable")),
	    "the fume extraction is not running");
	CHECK(interlock_permits(&il, A("bath.heater_enable")));
}

static void
t_each_link(void)
{
	static const struct {
		const char *station;    /* NULL: the GPIO link */
		int which;
		const char *lines[3];
		const char *reason;
	} cases[] = {
		{ NULL, 0, { NULL }, "the safety inputs and relays cannot be reached" },
		{ "laser", 0, { "laser.enable", "laser.beacon" }, "the laser is not connected" },
		{ "tank", 0, { "tank.ultrasound_enable", "tank.heater_enable" },
		    "the cleaning tank is not connected" },
		{ "bath", 0, { "bath.rectifier_enable" }, "the plating rectifier is not connected" },
		{ "bath", 1, { "bath.heater_enable" }, "the bath heater is not connected" },
	};
	if (!load("config/sim.yaml", NULL))
		return;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct interlock il;
		struct il_inputs in = healthy();
		interlock_init(&il, &layout);
		interlock_update(&il, &in);
		uint64_t want = 0;
		if (cases[i].station) {
			set_link(&in, cases[i].station, cases[i].which, false);
			for (int k = 0; k < 3 && cases[i].lines[k]; k++)
				want |= bit(cases[i].lines[k]);
		} else {
			in.links_up &= ~(1ull << IL_LINK_GPIO);
			want = all_mask();
		}
		CHECK(interlock_update(&il, &in) == want);
		for (size_t a = 0; a < layout.n_actuators; a++)
			if (want & (1ull << a))
				CHECK_STR(interlock_reason(&il, (int)a), cases[i].reason);
	}
}

static void
t_estop_latches_until_released_and_reset(void)
{
	struct interlock il;
	if (!load("config/sim.yaml", NULL))
		return;
	struct il_inputs in = healthy();
	interlock_init(&il, &layout);
	CHECK_INT(interlock_reset(&il), IL_RESET_NOT_LATCHED);
	interlock_update(&il, &in);
	in.estop_pressed = true;
	CHECK(interlock_update(&il, &in) == all_mask());
	CHECK_STR(interlock_reason(&il, A("bath.heater_enable")), "the emergency stop is pressed");
	CHECK_INT(interlock_reset(&il), IL_RESET_STILL_PRESSED);
	CHECK(il.permitted == 0);
	in.estop_pressed = false;
	CHECK(interlock_update(&il, &in) == 0);
	/* Released, but still latched. */
	CHECK(il.permitted == 0);
	CHECK_STR(interlock_reason(&il, A("laser.enable")),
	    "the emergency stop is latched: a technician must reset it");
	CHECK_INT(interlock_reset(&il), IL_RESET_DONE);
	CHECK(il.permitted == all_mask());
	CHECK_INT(interlock_reset(&il), IL_RESET_NOT_LATCHED);
}

static void
t_reset_keeps_other_faults(void)
{
	struct interlock il;
	if (!load("config/sim.yaml", NULL))
		return;
	struct il_inputs in = healthy();
	interlock_init(&il, &layout);
	in.estop_pressed = true;
	set_input(&in, "tank.lid", 1);
	interlock_update(&il, &in);
	in.estop_pressed = false;
	interlock_update(&il, &in);
	CHECK_INT(interlock_reset(&il), IL_RESET_DONE);
	CHECK(interlock_permits(&il, A("laser.enable")));
	CHECK(!interlock_permits(&il, A("tank.ultrasound_enable")));
	CHECK_STR(interlock_actuator_name(&il, A("tank.ultrasound_enable")),
	    "tank.ultrasound_enable");
}

/* Several of a kind: each door or lid guards its own station only, a
 * station's own fume line replaces the workshop's for it, and the
 * reasons name the station. */
static void
t_workshop_of_several_stations(void)
{
	struct interlock il;
	if (!load("workshop.yaml", workshop_yaml))
		return;
	CHECK_INT(layout.n_actuators, 9);
	struct il_inputs in = healthy();
	interlock_init(&il, &layout);
	interlock_update(&il, &in);
	set_input(&in, "rings.door", 1);
	CHECK(interlock_update(&il, &in) == bit("rings.enable"));
	CHECK_STR(interlock_reason(&il, A("rings.enable")), "the door of the laser rings is open");
	CHECK(interlock_permits(&il, A("laser-1.enable")));
	set_input(&in, "rings.door", 0);
	set_input(&in, "tank-rinse.lid", 1);
	CHECK(interlock_update(&il, &in) == (bit("tank-rinse.ultrasound_enable") |
	    bit("tank-rinse.heater_enable")));
	CHECK_STR(interlock_reason(&il, A("tank-rinse.heater_enable")),
	    "the lid of the tank tank-rinse is open");
	CHECK(interlock_permits(&il, A("tank-clean.ultrasound_enable")));
	set_input(&in, "tank-rinse.lid", 0);
	interlock_update(&il, &in);
	/* The workshop's extraction stops: rings has its own. */
	set_input(&in, "fume_ok", 0);
	CHECK(interlock_update(&il, &in) == (bit("laser-1.enable") | bit("laser-1.beacon") |
	    bit("bath.rectifier_enable")));
	CHECK(interlock_permits(&il, A("rings.enable")));
	set_input(&in, "fume_ok", 1);
	set_input(&in, "rings.fume_ok", 0);
	interlock_update(&il, &in);
	CHECK(!interlock_permits(&il, A("rings.enable")));
	CHECK_STR(interlock_reason(&il, A("rings.enable")),
	    "the fume extraction of the laser rings is not running");
	CHECK(interlock_permits(&il, A("laser-1.enable")));
	set_input(&in, "rings.fume_ok", 1);
	set_link(&in, "tank-clean", 0, false);
	interlock_update(&il, &in);
	CHECK_STR(interlock_reason(&il, A("tank-clean.ultrasound_enable")),
	    "the cleaning tank tank-clean is not connected");
	CHECK(interlock_permits(&il, A("tank-rinse.ultrasound_enable")));
	/* The e-stop is the workshop's: everything. */
	in.estop_pressed = true;
	interlock_update(&il, &in);
	CHECK(il.permitted == 0);
}

/*
 * Random input sequences on the five-station workshop. The expected set
 * is computed from the rules (DESIGN.md, the safety model) over the
 * stations' own lines: every trip reported once, nothing permitted that
 * the rules forbid, nothing forbidden that they permit.
 */
static void
t_property_random_inputs(void)
{
	if (!load("workshop.yaml", workshop_yaml))
		return;
	unsigned seed = (unsigned)getpid();
	srand(seed);
	struct interlock il;
	interlock_init(&il, &layout);
	int value[CFG_MAX_LINES];
	bool link[CFG_MAX_STATIONS][2], gpio_up = true, latched = false, pressed = false;
	for (size_t i = 0; i < cfg->n_lines; i++)
		value[i] = cfg->lines[i].role == ROLE_FUME_OK;
	for (size_t s = 0; s < CFG_MAX_STATIONS; s++)
		link[s][0] = link[s][1] = true;
	uint64_t before = 0;
	int failures = 0;
	for (int step = 0; step < 20000 && failures < 5; step++) {
		/* One input changes, mostly towards healthy so that every state
		 * is visited. */
		int what = rand() % 6;
		if (what == 0) {
			pressed = rand() % 4 == 0;
		} else if (what == 1) {
			gpio_up = rand() % 8 != 0;
		} else if (what == 2) {
			int s = rand() % (int)cfg->n_stations;
			link[s][rand() % 2] = rand() % 3 != 0;
		} else if (what == 3 && !pressed) {
			enum il_reset_result r = interlock_reset(&il);
			if (r != (latched ? IL_RESET_DONE : IL_RESET_NOT_LATCHED))
				failures++;
			latched = false;
			before = il.permitted;  /* a reset grants; it trips nothing */
		} else {
			int l = rand() % (int)cfg->n_lines;
			if (!cfg->lines[l].output && cfg->lines[l].role != ROLE_ESTOP)
				value[l] = rand() % 3 == 0 ? !(cfg->lines[l].role == ROLE_FUME_OK) :
				    cfg->lines[l].role == ROLE_FUME_OK;
		}
		latched |= pressed;
		struct il_inputs in = { .estop_pressed = pressed };
		for (size_t g = 0; g < layout.n_guards; g++)
			if (value[layout.guards[g].line] == layout.guards[g].blocks_at)
				in.blocked |= 1ull << g;
		if (gpio_up)
			in.links_up |= 1ull << IL_LINK_GPIO;
		for (size_t s = 0; s < cfg->n_stations; s++)
			for (int w = 0; w < 2; w++)
				if (layout.station_link[s][w] >= 0 && link[s][w])
					in.links_up |= 1ull << layout.station_link[s][w];
		uint64_t tripped = interlock_update(&il, &in);
		/* The rules, from the stations' lines. */
		int wfume = cfg_line_lookup(cfg, "fume_ok");
		uint64_t want = 0;
		for (size_t a = 0; a < layout.n_actuators; a++) {
			const struct cfg_station *st = &cfg->stations[layout.actuators[a].station];
			enum cfg_role role = layout.actuators[a].role;
			int s = layout.actuators[a].station;
			int own_fume = st->line[ROLE_FUME_OK];
			bool fume = own_fume >= 0 ? value[own_fume] : value[wfume];
			bool ok = !latched && gpio_up;
			if (role == ROLE_LASER_ENABLE || role == ROLE_BEACON)
				ok = ok && !value[st->line[ROLE_DOOR]] && fume && link[s][0];
			else if (role == ROLE_ULTRASOUND_ENABLE || role == ROLE_TANK_HEATER_ENABLE)
				ok = ok && !value[st->line[ROLE_LID]] && link[s][0];
			else if (role == ROLE_RECTIFIER_ENABLE)
				ok = ok && fume && link[s][0];
			else if (role == ROLE_BATH_HEATER_ENABLE)
				ok = ok && link[s][1];
			if (ok)
				want |= 1ull << a;
			if (ok != interlock_permits(&il, (int)a) ||
			    ok != (interlock_reason(&il, (int)a) == NULL))
				failures++;
		}
		if (il.permitted != want || tripped != (before & ~want))
			failures++;
		before = il.permitted;
	}
	if (failures)
		printf("  random seed %u: %d disagreements with the rules\n", seed, failures);
	CHECK_INT(failures, 0);
}

int
main(void)
{
	RUN(t_layout_of_the_bench);
	RUN(t_nothing_before_inputs);
	RUN(t_healthy_permits_all);
	RUN(t_door_trips_laser_only);
	RUN(t_lid_trips_tank);
	RUN(t_fume_trips_laser_and_rectifier);
	RUN(t_each_link);
	RUN(t_estop_latches_until_released_and_reset);
	RUN(t_reset_keeps_other_faults);
	RUN(t_workshop_of_several_stations);
	RUN(t_property_random_inputs);
	cfg_free(cfg);
	return test_summary();
}
