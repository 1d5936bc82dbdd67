/*
 * Interlock rules, one table: for each actuator, the inputs and links it
 * needs. Kept free of I/O so that every branch is unit-tested and the same
 * decisions hold in the daemon, the tests and any future tool.
 *
 * Rules (shared domain facts §4, §6; DESIGN.md safety model):
 *   everything: e-stop not latched, GPIO link up (no relay can be trusted
 *               without it)
 *   laser:      laser door closed, fume extraction running, laser link up
 *   ultrasound and tank heater: tank lid closed, tank link up
 *   rectifier:  fume extraction running (acid mist), rectifier link up
 *   bath heater: bath heater link up
 */
#include "policy/interlock.h"

#include <string.h>

#define NEEDS_DOOR  0x1u
#define NEEDS_LID   0x2u
#define NEEDS_FUME  0x4u

static const struct {
	const char *name;
	unsigned needs;
	enum il_link link;
} rules[IL_ACTUATOR_COUNT] = {
	[IL_LASER] = { "laser", NEEDS_DOOR | NEEDS_FUME, IL_LINK_LASER },
	[IL_ULTRASOUND] = { "ultrasound", NEEDS_LID, IL_LINK_TANK },
	[IL_TANK_HEATER] = { "tank heater", NEEDS_LID, IL_LINK_TANK },
	[IL_RECTIFIER] = { "rectifier", NEEDS_FUME, IL_LINK_RECTIFIER },
	[IL_BATH_HEATER] = { "bath heater", 0, IL_LINK_BATH_HEATER },
};

static const char *const link_down[IL_LINK_COUNT] = {
	[IL_LINK_GPIO] = "the safety inputs and relays cannot be reached",
	[IL_LINK_LASER] = "the laser is not connected",
	[IL_LINK_TANK] = "the cleaning tank is not connected",
	[IL_LINK_RECTIFIER] = "the plating rectifier is not connected",
	[IL_LINK_BATH_HEATER] = "the bath heater is not connected",
};

const char *
interlock_actuator_name(enum il_actuator a)
{
	return rules[a].name;
}

const char *
interlock_reason(const struct interlock *il, enum il_actuator a)
{
	const struct il_inputs *in = &il->in;

	if (in->estop_pressed)
		return "the emergency stop is pressed";
	if (il->latched)
		return "the emergency stop is latched: a technician must reset it";
	if (!in->link_ok[IL_LINK_GPIO])
		return link_down[IL_LINK_GPIO];
	if ((rules[a].needs & NEEDS_DOOR) && in->laser_door_open)
		return "the laser door is open";
	if ((rules[a].needs & NEEDS_LID) && in->tank_lid_open)
		return "the tank lid is open";
	if ((rules[a].needs & NEEDS_FUME) && !in->fume_ok)
		return "the fume extraction is not running";
	if (!in->link_ok[rules[a].link])
		return link_down[rules[a].link];
	return NULL;
}

bool
interlock_permits(const struct interlock *il, enum il_actuator a)
{
	return (il->permitted >> a) & 1u;
}

static unsigned
permitted_now(const struct interlock *il)
{
	unsigned mask = 0;
	for (int a = 0; a < IL_ACTUATOR_COUNT; a++)
		if (!interlock_reason(il, (enum il_actuator)a))
			mask |= 1u << a;
	return mask;
}

void
interlock_init(struct interlock *il)
{
	memset(il, 0, sizeof *il);
	il->permitted = 0;
}

unsigned
interlock_update(struct interlock *il, const struct il_inputs *in)
{
	unsigned before = il->permitted;

	il->in = *in;
	if (in->estop_pressed)
		il->latched = true;
	il->permitted = permitted_now(il);
	return before & ~il->permitted;
}

enum il_reset_result
interlock_reset(struct interlock *il)
{
	if (!il->latched)
		return IL_RESET_NOT_LATCHED;
	if (il->in.estop_pressed)
		return IL_RESET_STILL_PRESSED;
	il->latched = false;
	il->permitted = permitted_now(il);
	return IL_RESET_DONE;
}
