/*
 * A worker: one thread that runs heavy requests (engraving layouts and
 * previews, journal exports and histories) off the daemon's loop, so that
 * the loop stays free for every other client. Tasks wait in a bounded
 * queue; each runs its work in the worker's thread, then its completion
 * in the loop's thread (through an eventfd), where it may touch the
 * daemon. A task carries a cancel flag its work checks while computing,
 * set when its client goes away or the daemon reloads or stops.
 *
 * One thread per worker is deliberate: the engraving engine keeps its
 * font cache in process-wide state that only one thread may use, so every
 * layout goes through the same worker.
 */
#ifndef ATELIER_WORKER_H
#define ATELIER_WORKER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "loop.h"

struct worker;

struct worker_task {
	/* In the worker's thread: the computation. */
	void (*work)(struct worker_task *t);
	/* In the loop's thread, once work returned (also after a cancel). */
	void (*done)(struct worker_task *t);
	atomic_int cancel;      /* non-zero: stop (worker_cancel_all, the task's owner) */
	struct worker_task *next;
};

/* Starts the thread; its completions are delivered through loop. */
struct worker *worker_new(struct loop *loop, const char *name, size_t max_queued);
/* Cancels what is queued and running, waits for the thread, runs every
 * completion still owed (each sees its cancel flag set), frees. */
void worker_free(struct worker *w);
/*
 * Queues a task (the caller keeps ownership; done is where it is freed).
 * Returns 0, or -1 when max_queued tasks already wait (the caller answers
 * "busy").
 */
int worker_submit(struct worker *w, struct worker_task *t);
/* Sets the cancel flag of every task queued or running. */
void worker_cancel_all(struct worker *w);
/* Tasks queued or running. */
size_t worker_load(const struct worker *w);

#endif
