/*
 * The interlock state machine, branch by branch: each input and each link
 * withdraws exactly the actuators that depend on it, the e-stop latches
 * until released and reset, and trips are reported once.
 */
#include "policy/interlock.h"
#include "test.h"

static struct il_inputs
healthy(void)
{
	struct il_inputs in = { .fume_ok = true };
	for (int i = 0; i < IL_LINK_COUNT; i++)
		in.link_ok[i] = true;
	return in;
}

static unsigned
all_mask(void)
{
	return (1u << IL_ACTUATOR_COUNT) - 1;
}

static void
t_nothing_before_inputs(void)
{
	struct interlock il;
	interlock_init(&il);
	for (int a = 0; a < IL_ACTUATOR_COUNT; a++)
		CHECK(!interlock_permits(&il, (enum il_actuator)a));
	CHECK_STR(interlock_reason(&il, IL_LASER), "the safety inputs and relays cannot be reached");
}

static void
t_healthy_permits_all(void)
{
	struct interlock il;
	struct il_inputs in = healthy();
	interlock_init(&il);
	CHECK_INT(interlock_update(&il, &in), 0);
	CHECK_INT(il.permitted, all_mask());
	for (int a = 0; a < IL_ACTUATOR_COUNT; a++)
		CHECK(interlock_reason(&il, (enum il_actuator)a) == NULL);
}

static void
t_door_trips_laser_only(void)
{
	struct interlock il;
	struct il_inputs in = healthy();
	interlock_init(&il);
	interlock_update(&il, &in);
	in.laser_door_open = true;
	CHECK_INT(interlock_update(&il, &in), 1u << IL_LASER);
	CHECK_STR(interlock_reason(&il, IL_LASER), "the laser door is open");
	CHECK(interlock_permits(&il, IL_ULTRASOUND));
	/* Same inputs again: no new trip. */
	CHECK_INT(interlock_update(&il, &in), 0);
	in.laser_door_open = false;
	CHECK_INT(interlock_update(&il, &in), 0);
	CHECK(interlock_permits(&il, IL_LASER));
}

static void
t_lid_trips_tank(void)
{
	struct interlock il;
	struct il_inputs in = healthy();
	interlock_init(&il);
	interlock_update(&il, &in);
	in.tank_lid_open = true;
	CHECK_INT(interlock_update(&il, &in), (1u << IL_ULTRASOUND) | (1u << IL_TANK_HEATER));
	CHECK_STR(interlock_reason(&il, IL_ULTRASOUND), "the tank lid is open");
	CHECK_STR(interlock_reason(&il, IL_TANK_HEATER), "the tank lid is open");
	CHECK(interlock_permits(&il, IL_LASER));
	CHECK(interlock_permits(&il, IL_RECTIFIER));
}

static void
t_fume_trips_laser_and_rectifier(void)
{
	struct interlock il;
	struct il_inputs in = healthy();
	interlock_init(&il);
	interlock_update(&il, &in);
	in.fume_ok = false;
	CHECK_INT(interlock_update(&il, &in), (1u << IL_LASER) | (1u << IL_RECTIFIER));
	CHECK_STR(interlock_reason(&il, IL_RECTIFIER), "the fume extraction is not running");
	CHECK(interlock_permits(&il, IL_BATH_HEATER));
}

static void
t_each_link(void)
{
	static const struct {
		enum il_link link;
		unsigned tripped;
		const char *reason;
	} cases[] = {
		{ IL_LINK_GPIO, (1u << IL_ACTUATOR_COUNT) - 1, "the safety inputs and relays cannot be reached" },
		{ IL_LINK_LASER, 1u << IL_LASER, "the laser is not connected" },
		{ IL_LINK_TANK, (1u << IL_ULTRASOUND) | (1u << IL_TANK_HEATER), "the cleaning tank is not connected" },
		{ IL_LINK_RECTIFIER, 1u << IL_RECTIFIER, "the plating rectifier is not connected" },
		{ IL_LINK_BATH_HEATER, 1u << IL_BATH_HEATER, "the bath heater is not connected" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct interlock il;
		struct il_inputs in = healthy();
		interlock_init(&il);
		interlock_update(&il, &in);
		in.link_ok[cases[i].link] = false;
		CHECK_INT(interlock_update(&il, &in), cases[i].tripped);
		for (int a = 0; a < IL_ACTUATOR_COUNT; a++)
			if (cases[i].tripped & (1u << a))
				CHECK_STR(interlock_reason(&il, (enum il_actuator)a), cases[i].reason);
	}
}

static void
t_estop_latches_until_released_and_reset(void)
{
	struct interlock il;
	struct il_inputs in = healthy();
	interlock_init(&il);
	CHECK_INT(interlock_reset(&il), IL_RESET_NOT_LATCHED);
	interlock_update(&il, &in);
	in.estop_pressed = true;
	CHECK_INT(interlock_update(&il, &in), all_mask());
	CHECK_STR(interlock_reason(&il, IL_BATH_HEATER), "the emergency stop is pressed");
	CHECK_INT(interlock_reset(&il), IL_RESET_STILL_PRESSED);
	CHECK_INT(il.permitted, 0);
	in.estop_pressed = false;
	CHECK_INT(interlock_update(&il, &in), 0);
	/* Released, but still latched. */
	CHECK_INT(il.permitted, 0);
	CHECK_STR(interlock_reason(&il, IL_LASER),
	    "the emergency stop is latched: a technician must reset it");
	CHECK_INT(interlock_reset(&il), IL_RESET_DONE);
	CHECK_INT(il.permitted, all_mask());
	CHECK_INT(interlock_reset(&il), IL_RESET_NOT_LATCHED);
}

static void
t_reset_keeps_other_faults(void)
{
	struct interlock il;
	struct il_inputs in = healthy();
	interlock_init(&il);
	in.estop_pressed = true;
	in.tank_lid_open = true;
	interlock_update(&il, &in);
	in.estop_pressed = false;
	interlock_update(&il, &in);
	CHECK_INT(interlock_reset(&il), IL_RESET_DONE);
	CHECK(interlock_permits(&il, IL_LASER));
	CHECK(!interlock_permits(&il, IL_ULTRASOUND));
	CHECK_STR(interlock_actuator_name(IL_ULTRASOUND), "ultrasound");
}

int
main(void)
{
	RUN(t_nothing_before_inputs);
	RUN(t_healthy_permits_all);
	RUN(t_door_trips_laser_only);
	RUN(t_lid_trips_tank);
	RUN(t_fume_trips_laser_and_rectifier);
	RUN(t_each_link);
	RUN(t_estop_latches_until_released_and_reset);
	RUN(t_reset_keeps_other_faults);
	return test_summary();
}
