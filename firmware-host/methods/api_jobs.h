/*
 * The job engine as a part of the daemon (api_jobs.c): the engine
 * (jobs/jobs.h) started and stopped with the daemon, its queues in
 * status, and its API methods.
 */
#ifndef ATELIER_API_JOBS_H
#define ATELIER_API_JOBS_H

struct daemon_part;
extern const struct daemon_part jobs_part;

#endif
