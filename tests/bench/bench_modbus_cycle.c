/*
 * Modbus poll-cycle benchmark: the tank (19200 baud), rectifier (115200)
 * and bath heater (9600 8E1) buses, RTU against the simulator. For each bus: transactions per cycle, the mean
 * measured cycle, and the theoretical minimum of the same transactions:
 * per transaction (request + response bytes) x bits per character / baud,
 * plus two 3.5-character gaps and the simulator's turnaround. Prints
 * figures; asserts nothing about time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "cfg/cfg.h"
#include "mb_bus.h"
#include "mb_map.h"
#include "simproc.h"
#include "util.h"

static double
theory(const struct cfg *cfg, const struct cfg_bus *bus, struct mb_bus *b, int *transactions)
{
	int bits = 1 + bus->data_bits + (bus->parity != PARITY_NONE) + bus->stop_bits;
	double ch = (double)bits / bus->baud, t = 0;
	*transactions = 0;
	for (size_t d = 0; d < mb_bus_devices(b); d++) {
		struct mb_block blk[32];
		size_t n = mb_bus_blocks(b, (int)d, blk, 32);
		for (size_t i = 0; i < n; i++) {
			int req = 8, resp = 5 + 2 * blk[i].count;
			t += (req + resp) * ch + 2 * 3.5 * ch + cfg->sim.turnaround;
			(*transactions)++;
		}
	}
	return t;
}

int
main(void)
{
	struct simproc sp;
	char err[200];
	if (simproc_start(&sp, NULL) < 0)
		return 1;
	struct cfg_errors e = { 0 };
	struct cfg *cfg = cfg_load("config/sim.yaml", &e);
	if (!cfg)
		return 1;
	free(cfg->device_dir);
	cfg->device_dir = xstrdup(sp.dir);
	const char *names[] = { "tank", "rectifier", "bath_heater" };
	struct mb_bus *buses[3];
	for (int i = 0; i < 3; i++) {
		buses[i] = mb_bus_start(cfg, cfg_bus_find(cfg, names[i]), err, sizeof err);
		if (!buses[i]) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
	}
	/* Let the links come up and the models be identified, then measure. */
	struct timespec ts = { 2, 0 };
	nanosleep(&ts, NULL);
	struct mb_stats s0[3], s1[3];
	for (int i = 0; i < 3; i++)
		mb_bus_stats(buses[i], &s0[i]);
	ts.tv_sec = 6;
	nanosleep(&ts, NULL);
	printf("Modbus poll cycle, RTU at each bus's baud, simulator turnaround %.1f ms\n",
	    cfg->sim.turnaround * 1000);
	printf("%-11s %8s %14s %14s %14s %7s %7s\n", "bus", "devices", "transactions", "measured ms",
	    "minimum ms", "ratio", "cycles");
	for (int i = 0; i < 3; i++) {
		mb_bus_stats(buses[i], &s1[i]);
		int tx;
		double th = theory(cfg, cfg_bus_find(cfg, names[i]), buses[i], &tx);
		unsigned long cycles = s1[i].cycles - s0[i].cycles;
		double mean = cycles ? (s1[i].cycle_total - s0[i].cycle_total) / (double)cycles : 0;
		printf("%-11s %8zu %14d %14.2f %14.2f %6.2fx %7lu\n", names[i], mb_bus_devices(buses[i]),
		    tx, mean * 1000, th * 1000, th > 0 ? mean / th : 0, cycles);
	}
	printf("goal: within 1.2x of the minimum\n");
	for (int i = 0; i < 3; i++)
		mb_bus_stop(buses[i]);
	simproc_stop(&sp);
	cfg_free(cfg);
	return 0;
}
