/*
 * atelier-sim: simulates every station of the bench so that Atelier runs
 * and is tested without hardware.
 *
 *   atelier-sim --run-dir DIR [--config FILE] [--laser-socket PATH] [--verbose]
 *   atelier-sim ctl DIR COMMAND [ARGS...]
 *
 * The first form reads the same configuration the daemon reads (by default
 * config/sim.yaml), creates in DIR the laser pty, the Modbus links, the
 * GPIO socket, the ctl socket and actuators.log, and runs until SIGTERM or
 * SIGINT. With --laser-socket the laser is served on a Unix socket that the
 * simulator connects to (a qemu guest's UART) instead of the pty. The
 * second form sends one fault-injection or inspection command.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: atelier-sim --run-dir DIR [--config FILE] [--laser-socket PATH] [--verbose]\n"
	    "       atelier-sim ctl DIR COMMAND [ARGS...]   (atelier-sim ctl DIR help)\n");
}

int
main(int argc, char **argv)
{
	const char *run_dir = NULL, *config = "config/sim.yaml", *laser_socket = NULL;
	enum log_level level = LOG_LVL_INFO;
	static const struct option longopts[] = {
		{ "run-dir", required_argument, NULL, 'd' },
		{ "config", required_argument, NULL, 'c' },
		{ "laser-socket", required_argument, NULL, 'L' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	log_init("atelier-sim", level);
	if (argc >= 2 && strcmp(argv[1], "ctl") == 0) {
		if (argc < 4) {
			usage(stderr);
			return 2;
		}
		return sim_ctl_client(argv[2], argc - 3, argv + 3);
	}
	while ((ch = getopt_long(argc, argv, "d:c:vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd': run_dir = optarg; break;
		case 'c': config = optarg; break;
		case 'L': laser_socket = optarg; break;
		case 'v': level = LOG_LVL_DEBUG; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!run_dir || optind != argc) {
		usage(stderr);
		return 2;
	}
	log_set_level(level);

	/* The run directory is where this simulator's devices live, so the
	 * configuration's relative device paths resolve there. */
	struct cfg *cfg = cfg_load_main(config, run_dir);
	if (!cfg)
		return 1;

	/* Signals are taken through signalfd on the main thread; block them
	 * before any device thread starts so that none of them gets one. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct sim sim;
	if (sim_start(&sim, cfg, run_dir, laser_socket) < 0) {
		cfg_free(cfg);
		return 1;
	}
	int rc = sim_run(&sim);
	sim_stop(&sim);
	cfg_free(cfg);
	return rc < 0 ? 1 : 0;
}
