/*
 * The corrections in force (see corrections.h): which line applies to a
 * device's register, and the line each way.
 */
#include "daemon/corrections.h"

#include <string.h>

double
calib_forward(const struct calib_line *l, double device)
{
	return l->gain * device + l->offset;
}

double
calib_inverse(const struct calib_line *l, double truth)
{
	return l->gain > 0 ? (truth - l->offset) / l->gain : truth;
}

void
corrections_reset(struct corrections *c)
{
	c->tank_temp = CALIB_IDENTITY;
	c->rect_v = CALIB_IDENTITY;
	c->rect_i = CALIB_IDENTITY;
	c->tank_khz = 0;
}

static const struct calib_line *
line_for(const struct corrections *c, const char *profile, const char *reg)
{
	if (!profile || !reg)
		return NULL;
	if (strcmp(profile, "tank-generator") == 0 &&
	    (strcmp(reg, "temperature") == 0 || strcmp(reg, "temperature_set") == 0))
		return &c->tank_temp;
	if (strcmp(profile, "riden-rd60xx") == 0) {
		if (strcmp(reg, "v_out") == 0 || strcmp(reg, "v_set") == 0)
			return &c->rect_v;
		if (strcmp(reg, "i_out") == 0 || strcmp(reg, "i_set") == 0)
			return &c->rect_i;
	}
	return NULL;
}

double
corrections_reading(const struct corrections *c, const char *profile, const char *reg, double v)
{
	const struct calib_line *l = line_for(c, profile, reg);
	return l ? calib_forward(l, v) : v;
}

double
corrections_setpoint(const struct corrections *c, const char *profile, const char *reg,
    double v)
{
	const struct calib_line *l = line_for(c, profile, reg);
	return l ? calib_inverse(l, v) : v;
}

double
corrections_tank_frequency(const struct corrections *c, double def)
{
	return c->tank_khz >= 20 && c->tank_khz <= 80 ? c->tank_khz : def;
}
