/*
 * GPIO pieces that need no device: the software debounce and the parser
 * of the simulator's protocol, including garbage.
 */
#include <string.h>

#include "cfg/cfg.h"
#include "gpio.h"
#include "gpio_sim.h"
#include "test.h"

static void
t_debounce(void)
{
	struct debounce d;
	debounce_init(&d, 0.01);
	CHECK_INT(d.stable, -1);
	debounce_edge(&d, 1.0);
	CHECK(d.armed);
	CHECK_NEAR(d.deadline, 1.01, 1e-12);
	/* A bounce restarts the quiet period. */
	debounce_edge(&d, 1.005);
	CHECK_NEAR(d.deadline, 1.015, 1e-12);
	CHECK_INT(debounce_settle(&d, 1), 1);   /* first level learnt */
	CHECK(!d.armed);
	debounce_edge(&d, 2.0);
	CHECK_INT(debounce_settle(&d, 1), 0);   /* bounced back: no change */
	debounce_edge(&d, 3.0);
	CHECK_INT(debounce_settle(&d, 0), 1);
	CHECK_INT(d.stable, 0);
	CHECK_INT(debounce_settle(&d, -1), 0);  /* an unreadable line changes nothing */
}

static void
t_protocol_parser(void)
{
	struct cfg_errors e = { 0 };
	struct cfg *cfg = cfg_load("config/sim.yaml", &e);
	CHECK(cfg != NULL);
	cfg_errors_free(&e);
	if (!cfg)
		return;
	int id = -1;
	int level = -1;
	CHECK_INT(gpio_sim_parse(cfg, "event estop 0", &id, &level), GSIM_EVENT);
	CHECK_INT(id, cfg_line_lookup(cfg, "estop"));
	CHECK_INT(level, 0);
	CHECK_INT(gpio_sim_parse(cfg, "event fume_ok 1", &id, &level), GSIM_EVENT);
	CHECK_INT(id, cfg_line_lookup(cfg, "fume_ok"));
	CHECK_INT(gpio_sim_parse(cfg, "ok", &id, &level), GSIM_ACK);
	CHECK_INT(gpio_sim_parse(cfg, "error line 'x' is an input", &id, &level), GSIM_ERROR);
	CHECK_INT(gpio_sim_parse(cfg, "event laser.enable 1", &id, &level), GSIM_GARBAGE);  /* an output */
	CHECK_INT(gpio_sim_parse(cfg, "event estop 2", &id, &level), GSIM_GARBAGE);
	CHECK_INT(gpio_sim_parse(cfg, "event estop 1 extra", &id, &level), GSIM_GARBAGE);
	CHECK_INT(gpio_sim_parse(cfg, "event nosuch 1", &id, &level), GSIM_GARBAGE);
	CHECK_INT(gpio_sim_parse(cfg, "\xff\xfe", &id, &level), GSIM_GARBAGE);
	CHECK_INT(gpio_sim_parse(cfg, "", &id, &level), GSIM_GARBAGE);
	CHECK_INT(gpio_sim_parse(cfg, "errorless", &id, &level), GSIM_GARBAGE);
	/* A station's input, by its station-qualified name. */
	CHECK_INT(gpio_sim_parse(cfg, "event tank.lid 1", &id, &level), GSIM_EVENT);
	CHECK_INT(id, cfg_line_lookup(cfg, "tank.lid"));
	CHECK_INT(gpio_sim_parse(cfg, "event tank_lid 1", &id, &level), GSIM_GARBAGE);
	cfg_free(cfg);
}

int
main(void)
{
	RUN(t_debounce);
	RUN(t_protocol_parser);
	return test_summary();
}
