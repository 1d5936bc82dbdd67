/*
 * Request handling shared by every simulated Modbus device: function
 * codes 03/04 (read), 06 (write one) and 16 (write many), with the
 * exception responses a real slave gives for a bad function, address,
 * count or value.
 */
#include "sim_mbdev.h"

#include <stdlib.h>
#include <string.h>

const struct mbdev_ops *
mbdev_model(const char *profile)
{
	static const struct mbdev_ops *const models[] = { &mbdev_tank_ops, &mbdev_riden_ops,
		&mbdev_e5cc_ops };
	for (size_t i = 0; i < ARRAY_LEN(models); i++)
		if (profile && strcmp(models[i]->profile, profile) == 0)
			return models[i];
	return NULL;
}

void
mbdev_init(struct mbdev *d, const struct mbdev_ops *ops, const struct cfg_device *cfg,
    const struct mbdev_env *env, double now)
{
	memset(d, 0, sizeof *d);
	d->ops = ops;
	d->cfg = cfg;
	d->env = *env;
	d->now = now;
	d->last_request = now;
	ops->init(d);
}

void
mbdev_free(struct mbdev *d)
{
	free(d->state);
	d->state = NULL;
}

void
mbdev_step(struct mbdev *d, double now)
{
	double dt = now - d->now;
	if (dt <= 0)
		return;
	if (dt > 1)
		dt = 1;
	d->now = now;
	d->ops->step(d, dt);
}

int
mbdev_line(struct mbdev *d, enum cfg_role role)
{
	return d->env.line ? d->env.line(d->env.arg, d->cfg, role) : 0;
}

void
mbdev_log_bool(struct mbdev *d, const char *actuator, bool *last, bool now_on)
{
	if (*last == now_on)
		return;
	*last = now_on;
	if (d->env.actuator)
		d->env.actuator(d->env.arg, d->cfg->name, actuator, now_on ? "1" : "0");
}

static size_t
exception(uint8_t fc, int code, uint8_t *resp)
{
	resp[0] = fc | 0x80;
	resp[1] = (uint8_t)code;
	return 2;
}

size_t
mbdev_handle(struct mbdev *d, const uint8_t *req, size_t len, uint8_t *resp)
{
	uint8_t fc = len ? req[0] : 0;
	int rc;

	d->requests++;
	d->last_request = d->now;
	if (len < 1)
		return exception(0, MBX_FUNCTION, resp);
	switch (fc) {
	case 0x03:
	case 0x04: {
		if (len != 5)
			return exception(fc, MBX_VALUE, resp);
		uint16_t addr = (uint16_t)(req[1] << 8 | req[2]);
		uint16_t count = (uint16_t)(req[3] << 8 | req[4]);
		if (count < 1 || count > 125)
			return exception(fc, MBX_VALUE, resp);
		if ((uint32_t)addr + count > 65536)
			return exception(fc, MBX_ADDRESS, resp);
		resp[0] = fc;
		resp[1] = (uint8_t)(count * 2);
		for (uint16_t i = 0; i < count; i++) {
			uint16_t v;
			if ((rc = d->ops->read(d, (uint16_t)(addr + i), &v)) != MBX_NONE)
				return exception(fc, rc, resp);
			resp[2 + 2 * i] = (uint8_t)(v >> 8);
			resp[3 + 2 * i] = (uint8_t)v;
		}
		return 2 + 2 * (size_t)count;
	}
	case 0x06: {
		if (len != 5)
			return exception(fc, MBX_VALUE, resp);
		d->writes++;
		uint16_t addr = (uint16_t)(req[1] << 8 | req[2]);
		uint16_t v = (uint16_t)(req[3] << 8 | req[4]);
		if ((rc = d->ops->write(d, addr, v)) != MBX_NONE)
			return exception(fc, rc, resp);
		memcpy(resp, req, 5);
		return 5;
	}
	case 0x10: {
		if (len < 6)
			return exception(fc, MBX_VALUE, resp);
		uint16_t addr = (uint16_t)(req[1] << 8 | req[2]);
		uint16_t count = (uint16_t)(req[3] << 8 | req[4]);
		if (count < 1 || count > 123 || req[5] != count * 2 || len != 6 + (size_t)count * 2)
			return exception(fc, MBX_VALUE, resp);
		if ((uint32_t)addr + count > 65536)
			return exception(fc, MBX_ADDRESS, resp);
		d->writes++;
		/* Written in order, stopping at the first refusal, as the
		 * simple slaves simulated here do. */
		for (uint16_t i = 0; i < count; i++) {
			uint16_t v = (uint16_t)(req[6 + 2 * i] << 8 | req[7 + 2 * i]);
			if ((rc = d->ops->write(d, (uint16_t)(addr + i), v)) != MBX_NONE)
				return exception(fc, rc, resp);
		}
		memcpy(resp, req, 5);
		return 5;
	}
	default:
		return exception(fc, MBX_FUNCTION, resp);
	}
}
