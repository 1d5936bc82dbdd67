/*
 * atelierd: the Atelier daemon. This entry point parses the command line;
 * `-n` checks a configuration (and the gems, services and device profiles
 * it names) and prints it normalised, the way OpenBSD daemons do; without
 * it the daemon runs (daemon.c) until SIGTERM, with the parts built on
 * its stations listed here, in the order they start.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calib/api_calib.h"
#include "cfg/cfg.h"
#include "cfg/cfg_catalog.h"
#include "daemon/daemon.h"
#include "log.h"
#include "methods/api_jobs.h"
#include "methods/api_fleet.h"
#include "methods/api_web.h"
#include "methods/api_methods.h"
#include "methods/offload.h"
#include "serial.h"
#include "util.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: atelierd [-n] [-c FILE] [--device-dir DIR] | --list-ports\n"
	    "  -n              check the configuration, print it normalised, exit\n"
	    "  -c FILE         configuration file (default /etc/atelier/atelier.yaml)\n"
	    "  --device-dir D  resolve relative device paths in D (the simulator's run dir)\n");
}

static void
print_errors(struct cfg_errors *errs)
{
	for (size_t i = 0; i < errs->n; i++)
		fprintf(stderr, "%s\n", errs->msgs[i]);
}

/* Loads the configuration and the catalogue files it names; returns the
 * configuration, or NULL after printing every error. */
static struct cfg *
load_all(const char *file, struct cfg_catalog **catalog)
{
	struct cfg_errors errs = { 0 };
	struct cfg *cfg = cfg_load(file, &errs);

	*catalog = NULL;
	if (cfg)
		*catalog = cfg_catalog_load(cfg, &errs);
	if (errs.n) {
		print_errors(&errs);
		cfg_errors_free(&errs);
		cfg_catalog_free(*catalog);
		*catalog = NULL;
		cfg_free(cfg);
		return NULL;
	}
	return cfg;
}

static int
list_ports(void)
{
	struct serial_info *list;
	size_t n;
	if (serial_list(&list, &n) < 0) {
		fprintf(stderr, "atelierd: cannot list the serial ports\n");
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		if (list[i].vid >= 0)
			printf("%s usb:%04x:%04x%s%s %s\n", list[i].path, list[i].vid, list[i].pid,
			    list[i].serial ? ":" : "", list[i].serial ? list[i].serial : "",
			    list[i].description ? list[i].description : "");
		else
			printf("%s - %s\n", list[i].path, list[i].description ? list[i].description : "");
	}
	serial_list_free(list, n);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *file = "/etc/atelier/atelier.yaml", *device_dir = NULL;
	bool check = false;
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'n' },
		{ "device-dir", required_argument, NULL, 'D' },
		{ "list-ports", no_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	log_init("atelierd", LOG_LVL_INFO);
	while ((ch = getopt_long(argc, argv, "nc:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'n': check = true; break;
		case 'c': file = optarg; break;
		case 'D': device_dir = optarg; break;
		case 'L': return list_ports();
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (!check) {
		/* They stop in the reverse order: the workers first, answering
		 * what they owe; calibration before the job engine, since
		 * putting its station safe ends what the station ran. */
		static const struct daemon_part *const parts[] = {
			&stations_api_part, &jobs_part, &calib_part, &offload_part, &web_part,
			&fleet_part,
		};
		struct daemon d;
		int rc = 1;
		if (daemon_start(&d, file, device_dir, parts, ARRAY_LEN(parts)) == 0)
			rc = daemon_run(&d);
		daemon_stop(&d);
		return rc;
	}
	struct cfg_catalog *catalog;
	struct cfg *cfg = load_all(file, &catalog);
	if (!cfg)
		return 1;
	if (device_dir) {
		free(cfg->device_dir);
		cfg->device_dir = xstrdup(device_dir);
	}
	printf("configuration OK\n");
	cfg_print(cfg, stdout);
	cfg_catalog_free(catalog);
	cfg_free(cfg);
	return 0;
}
