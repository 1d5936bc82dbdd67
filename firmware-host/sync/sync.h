/*
 * atelier-sync's parts (see atelier-sync.c): the sender, which sends the
 * journal's outbox to the shared history (sync_send.c), and the telemetry,
 * which watches atelierd over its API socket and publishes to an MQTT
 * broker (sync_mqtt.c). Each runs in a thread of its own and reports into
 * one shared state, which the main thread writes to the status file.
 */
#ifndef ATELIER_SYNC_H
#define ATELIER_SYNC_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "cfg/cfg.h"
#include "fleet/fleet.h"

struct sync_state {
	pthread_mutex_t lock;
	pthread_cond_t wake;        /* stopping */
	atomic_bool running;
	const struct cfg *cfg;
	char *journal;              /* the journal's path */
	char *socket;               /* atelierd's API socket */
	bool once;                  /* send what there is, then stop */
	/* Under lock: */
	struct fleet_status status;
	bool pg_error, mqtt_error;  /* whose is status.error */
	bool changed;               /* the status file is behind */
	int exit_code;              /* --once: 0 caught up, 1 failed */
};

/* Records an error of one part (pg: the sender's, else the telemetry's)
 * in the status, or clears it (msg NULL), and logs a change. */
void sync_error(struct sync_state *s, bool pg, const char *msg);
/* Sleeps up to seconds, less if stopping; false once stopping. */
bool sync_sleep(struct sync_state *s, double seconds);

void *sync_send_thread(void *arg);
void *sync_mqtt_thread(void *arg);

#endif
