/*
 * Fuzz target: arbitrary request PDUs into each simulated Modbus device,
 * with the clock and the relays moved by the input too.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sim_mbdev.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int relays;

static int
line(void *arg, const struct cfg_device *dev, enum cfg_role role)
{
	(void)arg;
	(void)dev;
	return (relays >> role) & 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cfg cfg;
	static struct cfg_device dc = { .name = "dev", .slave = 1, .watchdog = 3 };
	const struct mbdev_ops *models[] = { &mbdev_tank_ops, &mbdev_riden_ops, &mbdev_e5cc_ops };
	uint8_t resp[300];

	cfg.sim = (struct cfg_sim){ .ambient = 21, .tank_heater_power = 600,
		.tank_heat_capacity = 12000, .tank_loss = 4, .ultrasound_heating = 60,
		.bath_heater_power = 300, .bath_heat_capacity = 4000, .bath_loss = 2,
		.bath_resistance = 2, .rectifier_model = 60062 };
	if (size < 2)
		return 0;
	struct mbdev d;
	struct mbdev_env env = { &cfg, line, NULL, NULL };
	mbdev_init(&d, models[data[0] % 3], &dc, &env, 0);
	for (size_t i = 1; i < size;) {
		size_t len = data[i] % 40;
		i++;
		if (len > size - i)
			len = size - i;
		relays = (int)(data[i - 1] & 0xff) << 4 | (int)(data[i - 1] >> 4);
		mbdev_handle(&d, data + i, len, resp);
		mbdev_step(&d, d.now + (double)(len % 7));
		if (len == 13)
			d.ops->reboot(&d);
		if (len == 17)
			d.ops->runaway(&d);
		i += len;
	}
	mbdev_free(&d);
	return 0;
}
