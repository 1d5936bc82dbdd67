/*
 * Heavy methods, done off the daemon's loop (DESIGN.md, "The safety
 * path"): engraving layouts (engrave.preview, engrave.start, job.plan and
 * job.create with an engraving) on the layout worker, journal reads
 * (history, export) on the journal worker, each through its own read-only
 * connection. The method's cheap checks run on the loop and fail at once;
 * the computation runs in the worker under the engraving budget; what
 * follows it (starting the laser, recording the job) runs on the loop
 * again, with every check of the station made then.
 */
#ifndef ATELIER_OFFLOAD_H
#define ATELIER_OFFLOAD_H

#include <stdbool.h>
#include <sys/types.h>

#include "api/api.h"

struct daemon;

/* Queued heavy requests per worker before further ones are refused busy. */
#define OFFLOAD_QUEUE 16

/* The workers as a part of the daemon: started before the API, every
 * task cancelled at a reload, stopped (answers owed sent as failures)
 * before the drivers close. */
struct daemon_part;
extern const struct daemon_part offload_part;

enum offload_layout { OFFLOAD_PREVIEW, OFFLOAD_ENGRAVE, OFFLOAD_PLAN, OFFLOAD_CREATE };

/*
 * Lays out c's "engraving" off the loop and answers later: a preview, the
 * start of the engraving (pieces already judged by the caller), or a job
 * plan or creation (who: the audit name). Returns NULL (answered later,
 * or failed on c).
 */
json_t *offload_layout(struct api_call *c, enum offload_layout kind, const char *who);

enum offload_read { OFFLOAD_HISTORY, OFFLOAD_EXPORT };
/* Reads the journal off the loop (serial may be NULL for an export). */
json_t *offload_journal(struct api_call *c, enum offload_read kind, const char *serial);

#endif
