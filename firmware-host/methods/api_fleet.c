/*
 * The fleet as atelierd reports it (docs/fleet.md). atelier-sync does the
 * sending in a process of its own; atelierd only reads the status file it
 * leaves and counts the journal's events not yet confirmed, so a status
 * call costs a small file read and one indexed query, and never waits for
 * the network or for atelier-sync.
 */
#include "methods/api_fleet.h"

#include "daemon/daemon.h"
#include "fleet/fleet.h"

static json_t *
fleet_json(struct daemon *d, char *line, size_t len)
{
	int64_t last = d->store ? store_outbox_last(d->store) : 0;
	return fleet_status_json(d->cfg, last < 0 ? 0 : last, line, len);
}

static json_t *
m_fleet_status(struct api_call *c, void *arg)
{
	(void)arg;
	char line[800];
	json_t *o = fleet_json(api_data(c->api), line, sizeof line);
	json_object_set_new(o, "summary", json_string(line));
	return o;
}

/* One line in `status`. */
static void
fleet_status_line(struct daemon *d, json_t *out)
{
	if (!d->cfg->fleet.workshop)
		return;
	char line[800];
	json_decref(fleet_json(d, line, sizeof line));
	json_object_set_new(out, "fleet", json_string(line));
}

static const struct api_method fleet_methods[] = {
	{ "fleet.status", API_ROLE_NONE, m_fleet_status, NULL,
	    "the shared history's sender: position, backlog, last error" },
};

const struct daemon_part fleet_part = {
	.name = "fleet",
	.status = fleet_status_line,
	.methods = fleet_methods,
	.n_methods = ARRAY_LEN(fleet_methods),
};
