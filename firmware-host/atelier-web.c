/*
 * atelier-web: the web bench (docs/web.md). A program of its own beside
 * atelierd, as Moonraker is beside Klipper: it serves the bench's pages
 * over HTTP and WebSocket to the workshop's screens and speaks to atelierd
 * only through its API socket, acting for the person logged in. It holds
 * no device and runs as its own unprivileged user (atelier-web.service).
 * Its settings are the `web:` section of atelier.yaml, which also names
 * atelierd's socket and the accounts file.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "cfg/cfg.h"
#include "gateway/gw.h"
#include "log.h"
#include "util.h"

#ifndef ATELIER_WEB_ROOT
#define ATELIER_WEB_ROOT "/usr/share/atelier/web"
#endif

static void
usage(FILE *f)
{
	fprintf(f, "usage: atelier-web [-n] [-c FILE] [--device-dir DIR] [--port N] [--root DIR]\n"
	    "                   [--users FILE] [--socket PATH]\n"
	    "  -c, --config F   atelier.yaml (default /etc/atelier/atelier.yaml): web, api\n"
	    "  -n, --check      check the configuration and the web root, then exit\n"
	    "  --device-dir D   resolve a relative api.socket in D (the simulator's run dir)\n"
	    "  --port N         listen on port N instead of web.port\n"
	    "  --root DIR       the pages (default web.root, else " ATELIER_WEB_ROOT ")\n"
	    "  --users FILE     the accounts (default api.web_users)\n"
	    "  --socket PATH    atelierd's API socket (default api.socket)\n");
}

int
main(int argc, char **argv)
{
	const char *file = "/etc/atelier/atelier.yaml", *device_dir = NULL;
	const char *root = NULL, *users = NULL, *socket_path = NULL;
	int port = 0;
	bool check = false;
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'n' },
		{ "device-dir", required_argument, NULL, 'D' },
		{ "port", required_argument, NULL, 'p' },
		{ "root", required_argument, NULL, 'r' },
		{ "users", required_argument, NULL, 'u' },
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	char *end;

	log_init("atelier-web", LOG_LVL_INFO);
	while ((ch = getopt_long(argc, argv, "nc:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'n': check = true; break;
		case 'c': file = optarg; break;
		case 'D': device_dir = optarg; break;
		case 'p':
			port = (int)strtol(optarg, &end, 10);
			if (*end || port < 1 || port > 65535) {
				fprintf(stderr, "atelier-web: --port %s: a port is 1 to 65535\n", optarg);
				return 2;
			}
			break;
		case 'r': root = optarg; break;
		case 'u': users = optarg; break;
		case 's': socket_path = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}

	struct cfg *cfg = cfg_load_main(file, device_dir);
	if (!cfg)
		return 1;
	char *sock = socket_path ? xstrdup(socket_path) : cfg_device_path(cfg, cfg->api.socket);
	char *accounts = users ? xstrdup(users) : cfg_device_path(cfg, cfg->api.web_users);
	struct gw_options o = {
		.listen = cfg->web.listen,
		.port = port ? port : cfg->web.port,
		.certificate = cfg->web.certificate,
		.key = cfg->web.key,
		.root = root ? root : cfg->web.root ? cfg->web.root : ATELIER_WEB_ROOT,
		.socket = sock,
		.users = accounts,
		.session_hours = cfg->web.session_hours,
		.threads = cfg->web.threads,
	};
	int rc = 0;
	if (check) {
		char index[4096];
		snprintf(index, sizeof index, "%s/index.html", o.root);
		FILE *f = fopen(index, "r");
		if (!f) {
			fprintf(stderr, "atelier-web: the web root %s has no index.html\n", o.root);
			rc = 1;
		} else {
			fclose(f);
			printf("configuration OK: %s://%s:%d/, pages in %s, atelierd at %s, accounts "
			    "in %s\n", o.certificate ? "https" : "http", o.listen, o.port, o.root,
			    o.socket, o.users);
		}
		free(sock);
		free(accounts);
		cfg_free(cfg);
		return rc;
	}

	/* The signals are taken by sigwait, in this thread only: civetweb's
	 * threads inherit the mask. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	char err[512] = "";
	struct gw *g = gw_start(&o, err, sizeof err);
	if (!g) {
		log_err("cannot serve on %s port %d: %s", o.listen, o.port, err);
		free(sock);
		free(accounts);
		cfg_free(cfg);
		return 1;
	}
	log_info("serving the bench on %s://%s:%d/ (atelierd at %s)",
	    o.certificate ? "https" : "http", o.listen, o.port, o.socket);
	sd_notify(0, "READY=1\nSTATUS=serving the bench");
	for (;;) {
		int sig = 0;
		sigwait(&set, &sig);
		if (sig != SIGHUP)
			break;
		/* Accounts are read at every login; nothing else to reload. */
	}
	sd_notify(0, "STOPPING=1");
	gw_stop(g);
	free(sock);
	free(accounts);
	cfg_free(cfg);
	return 0;
}
