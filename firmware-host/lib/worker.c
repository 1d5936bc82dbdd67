/*
 * The worker thread (see worker.h): a queue in, a queue out. The thread
 * takes the oldest task, runs its work outside the lock, and moves it to
 * the finished list; the loop's thread drains that list when the eventfd
 * says so and runs each completion.
 */
#include "worker.h"

#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

struct worker {
	struct loop *loop;
	char name[32];
	size_t max_queued;
	int efd;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stop;
	struct worker_task *queue, *queue_tail;
	size_t queued;
	struct worker_task *running;
	struct worker_task *finished, *finished_tail;
};

static void
append(struct worker_task **head, struct worker_task **tail, struct worker_task *t)
{
	t->next = NULL;
	if (*tail)
		(*tail)->next = t;
	else
		*head = t;
	*tail = t;
}

static void *
worker_thread(void *arg)
{
	struct worker *w = arg;
	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->stop && !w->queue)
			pthread_cond_wait(&w->wake, &w->lock);
		if (w->stop)
			break;
		struct worker_task *t = w->queue;
		w->queue = t->next;
		if (!w->queue)
			w->queue_tail = NULL;
		w->queued--;
		w->running = t;
		pthread_mutex_unlock(&w->lock);
		if (!atomic_load(&t->cancel))
			t->work(t);
		pthread_mutex_lock(&w->lock);
		w->running = NULL;
		append(&w->finished, &w->finished_tail, t);
		uint64_t one = 1;
		ssize_t r = write(w->efd, &one, sizeof one);
		(void)r;        /* a full counter still wakes the loop */
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* Runs the completions of every finished task (loop's thread). */
static void
complete(struct worker *w)
{
	pthread_mutex_lock(&w->lock);
	struct worker_task *t = w->finished;
	w->finished = w->finished_tail = NULL;
	pthread_mutex_unlock(&w->lock);
	while (t) {
		struct worker_task *next = t->next;
		t->done(t);
		t = next;
	}
}

static void
on_finished(struct loop *l, int fd, short revents, void *arg)
{
	(void)l;
	(void)revents;
	uint64_t v;
	ssize_t r = read(fd, &v, sizeof v);
	(void)r;
	complete(arg);
}

struct worker *
worker_new(struct loop *loop, const char *name, size_t max_queued)
{
	struct worker *w = xcalloc(1, sizeof *w);
	w->loop = loop;
	snprintf(w->name, sizeof w->name, "%s", name);
	w->max_queued = max_queued;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->efd < 0 || pthread_create(&w->thread, NULL, worker_thread, w) != 0)
		fatal("the %s worker cannot start", name);
	loop_add_fd(loop, w->efd, POLLIN, on_finished, w);
	return w;
}

void
worker_cancel_all(struct worker *w)
{
	pthread_mutex_lock(&w->lock);
	for (struct worker_task *t = w->queue; t; t = t->next)
		atomic_store(&t->cancel, 1);
	if (w->running)
		atomic_store(&w->running->cancel, 1);
	pthread_mutex_unlock(&w->lock);
}

void
worker_free(struct worker *w)
{
	if (!w)
		return;
	worker_cancel_all(w);
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	/* What never ran is finished too: its completion says cancelled. */
	while (w->queue) {
		struct worker_task *t = w->queue;
		w->queue = t->next;
		append(&w->finished, &w->finished_tail, t);
	}
	w->queue_tail = NULL;
	complete(w);
	loop_del_fd(w->loop, w->efd);
	close(w->efd);
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

int
worker_submit(struct worker *w, struct worker_task *t)
{
	pthread_mutex_lock(&w->lock);
	if (w->queued >= w->max_queued) {
		pthread_mutex_unlock(&w->lock);
		return -1;
	}
	atomic_init(&t->cancel, 0);
	append(&w->queue, &w->queue_tail, t);
	w->queued++;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	return 0;
}

size_t
worker_load(const struct worker *w)
{
	struct worker *mw = (struct worker *)w;
	pthread_mutex_lock(&mw->lock);
	size_t n = w->queued + (w->running ? 1 : 0);
	pthread_mutex_unlock(&mw->lock);
	return n;
}
