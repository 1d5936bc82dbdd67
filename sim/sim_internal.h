/*
 * The simulator's private state, shared by sim_core.c (line table, log,
 * ptys, pacing), sim_server.c (GPIO and ctl sockets, main loop) and the
 * entry point. Devices see only sim.h.
 */
#ifndef ATELIER_SIM_INTERNAL_H
#define ATELIER_SIM_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>

#include "log.h"
#include "sim.h"

#define SIM_MAX_CLIENTS 64
#define SIM_LINE_MAX 512

struct sim_client {
	int fd;
	bool gpio;              /* GPIO socket client (else ctl) */
	bool watching;          /* receives input events */
	bool done;              /* ctl: the command was answered */
	uint64_t owned;         /* bit per output line this client set */
	struct buf in;
	struct buf out;
};

struct sim {
	const struct cfg *cfg;
	char *run_dir;
	char *laser_socket;     /* --laser-socket, or NULL */
	atomic_bool stopping;

	pthread_mutex_t lines_lock;
	int lines[CFG_MAX_LINES];   /* as cfg->lines; logical: 1 = active / energised */

	pthread_mutex_t log_lock;
	int log_fd;
	int events_fd;

	struct sim_device *devices;
	size_t n_devices;

	int gpio_listen, ctl_listen;
	char *gpio_path, *ctl_path;
	struct sim_client clients[SIM_MAX_CLIENTS];
	size_t n_clients;
};

/* Stores a logical line value; returns 1 if it changed. */
int sim_line_store(struct sim *sim, int line, int value);
/* Physical level of a line for a logical value, from its active_low. */
int sim_line_physical(const struct sim *sim, int line, int logical);
/* Sends the input's new level to every watching GPIO client. */
void sim_gpio_notify(struct sim *sim, int line);

/* Creates the run directory content, starts the devices and the sockets;
 * laser_socket (or NULL) is --laser-socket. Returns 0, or -1 after logging
 * why (everything created is removed). */
int sim_start(struct sim *sim, const struct cfg *cfg, const char *run_dir,
    const char *laser_socket);
/* Runs the main loop until SIGTERM/SIGINT. Returns 0, or -1 on failure. */
int sim_run(struct sim *sim);
/* Stops devices and removes what sim_start created, except actuators.log. */
void sim_stop(struct sim *sim);

/* Client side of `atelier-sim ctl DIR COMMAND...`; returns the exit status. */
int sim_ctl_client(const char *run_dir, int argc, char **argv);

#endif
