/*
 * atelierctl: entry point. Parses the global options (--json, --socket,
 * --config, --station) and dispatches to the subcommand named next on the
 * line.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "log.h"
#include "util.h"

static const struct ctl_command commands[] = {
	{ "engrave", "lay out an engraving, write its G-code or SVG preview", ctl_engrave },
	{ "ports", "list the serial ports, with USB ids and serial numbers", ctl_ports },
	{ "status", "interlock, stations and devices", ctl_status },
	{ "watch", "print station, interlock and device events as they happen", ctl_watch },
	{ "estop", "estop reset: clear a latched emergency stop (technician)", ctl_estop },
	{ "laser", "laser stream|frame FILE | hold | resume | abort | unlock | jog X Y [FEED] | setting N V", ctl_laser },
	{ "tank", "tank start ... | stop: manual tank control (technician)", ctl_tank },
	{ "bath", "bath plate ... | stop: manual bath control (technician)", ctl_bath },
	{ "job", "job plan|create|start|show|list|abort: service jobs for a piece", ctl_job },
	{ "step", "step done JOB STEP --note TEXT | retry | abort: a job's steps", ctl_step },
	{ "run", "run laser|tank|bath: start the load waiting at a station", ctl_run },
	{ "history", "history --serial S: a piece's jobs and events", ctl_history },
	{ "export", "export [--serial S] [--format csv|json] [--output FILE]", ctl_export },
	{ "methods", "the daemon's API methods and the role each needs", ctl_methods },
	{ "fleet", "fleet status: the shared history's sender, its backlog and last error", ctl_fleet },
	{ "calibrate", "calibrate laser|tank|bath PROCEDURE: guided calibration (technician)", ctl_calibrate },
	{ "calibration", "calibration history [--station S] | due", ctl_calibration },
	{ "user", "user add|passwd|del|list: the web bench's accounts (root)", ctl_user },
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: atelierctl [--json] [--socket PATH] [--config FILE] [--station NAME] "
	    "COMMAND [ARGS]\n\n--station names the station a laser, tank, bath or calibrate "
	    "command is for,\nwhen the workshop has several of its kind.\n\ncommands:\n");
	for (size_t i = 0; i < ARRAY_LEN(commands); i++)
		fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
}

int
main(int argc, char **argv)
{
	struct ctl_opts o = { .socket = "/run/atelier/atelier.sock",
		.config = "/etc/atelier/atelier.yaml" };
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ "station", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	log_init("atelierctl", LOG_LVL_WARN);
	if (getenv("ATELIER_SOCKET"))
		o.socket = getenv("ATELIER_SOCKET");
	while ((ch = getopt_long(argc, argv, "+js:c:S:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'j': o.json = true; break;
		case 's': o.socket = optarg; break;
		case 'c': o.config = optarg; break;
		case 'S': o.station = optarg; break;
		case 'h': usage(stdout); return CTL_OK;
		default: usage(stderr); return CTL_ERR_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CTL_ERR_USAGE;
	}
	for (size_t i = 0; i < ARRAY_LEN(commands); i++)
		if (strcmp(argv[optind], commands[i].name) == 0)
			return commands[i].run(&o, argc - optind, argv + optind);
	fprintf(stderr, "atelierctl: unknown command '%s'\n", argv[optind]);
	usage(stderr);
	return CTL_ERR_USAGE;
}
