/*
 * The Modbus bus thread (see mb_bus.h). Everything that touches the
 * modbus_t happens on this thread; the main thread only queues commands
 * and reads snapshots under the mutex. Link loss is detected from errno:
 * a vanished RTU device gives EIO/ENXIO/EBADF, which libmodbus's own error
 * recovery does not handle, and TCP gives ECONNRESET/EPIPE; then the bus
 * is closed and reopened with back-off. A timeout only marks the device
 * that did not answer as down.
 *
 * A device is driven only once it is known: a profile with an identify
 * register has its variant chosen first (scales and ranges depend on it),
 * and a device whose identity matches no variant stays down with nothing
 * written to it. Whenever a device comes up, at the first connection and
 * at every reconnection, its profile's safe state is written and read back
 * before any command: a rectifier that went silent mid-plating must not
 * come back with its output still on.
 */
#include "mb_bus.h"

#include <errno.h>
#include <math.h>
#include <modbus.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mb_map.h"
#include "util.h"

_Static_assert(PROFILE_MAX_SAFE <= MB_MAX_WRITES, "a safe state is one bus command");

#define EVENTS_MAX 256

/* Command ids are unique across buses, so that a listener of several
 * buses never takes one bus's answer for another's. */
static atomic_int next_cmd_id = 1;
#define LANE_MAX 64
#define MAX_BLOCKS 32

struct mb_cmd {
	int id, dev;
	size_t n;
	struct mb_write w[MB_MAX_WRITES];
	char names[MB_MAX_WRITES][48];
};

struct lane {
	struct mb_cmd q[LANE_MAX];
	size_t head, count;
};

struct mb_dev {
	const struct cfg_device *cfg;
	struct profile *prof;
	struct mb_block blocks[MAX_BLOCKS];
	size_t n_blocks;
	struct mb_raw *raw;         /* thread-private */
	double *values;             /* per profile register, under the lock */
	bool *known;
	bool up, ever_up;
	int model, select;          /* identify and select_by registers as read */
	bool identified;            /* model read since the device came back */
	/* An identity no variant matches, as first read: refused only when a
	 * second reading agrees (a stale answer is not an identity). */
	int unknown_model, unknown_select;
	bool unknown_seen;
	const struct profile_variant *var;  /* under the lock */
	char refused[200];          /* why the device is not driven, or "" */
	bool safe_pending;          /* came up: the safe state goes first */
	double *written;            /* setpoints written, NAN when none */
	uint16_t heartbeat;
	double next_beat;
	int fails;
};

struct mb_bus {
	const struct cfg *cfg;
	const struct cfg_bus *bus;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stop;
	int efd;
	modbus_t *ctx;
	bool connected;
	double retry_at, backoff;
	struct mb_dev *devs;
	size_t n_devs;
	struct lane prio, normal;
	struct mb_event ev[EVENTS_MAX];
	size_t ev_head, ev_count;
	unsigned long ev_lost;
	struct mb_stats stats;
	double next_poll;
};

/* Counters are read by the main thread: update them under the lock. */
#define STAT_ADD(b, field)                       \
	do {                                     \
		pthread_mutex_lock(&(b)->lock);  \
		(b)->stats.field++;              \
		pthread_mutex_unlock(&(b)->lock);\
	} while (0)

/* --- events (any thread, lock held) --------------------------------- */

static void
post(struct mb_bus *b, enum mb_event_type type, int dev, int cmd, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static void
post(struct mb_bus *b, enum mb_event_type type, int dev, int cmd, bool ok, const char *fmt, ...)
{
	va_list ap;
	if (b->ev_count == EVENTS_MAX) {
		/* A daemon that stopped draining loses the oldest news, never
		 * the newest (which holds the current state). */
		b->ev_head = (b->ev_head + 1) % EVENTS_MAX;
		b->ev_count--;
		b->ev_lost++;
	}
	struct mb_event *e = &b->ev[(b->ev_head + b->ev_count++) % EVENTS_MAX];
	e->type = type;
	e->dev = dev;
	e->cmd = cmd;
	e->ok = ok;
	e->cancelled = false;
	va_start(ap, fmt);
	vsnprintf(e->text, sizeof e->text, fmt, ap);
	va_end(ap);
	uint64_t one = 1;
	ssize_t r = write(b->efd, &one, sizeof one);
	(void)r;        /* a full eventfd counter still wakes the reader */
}

/* --- transactions (bus thread) --------------------------------------- */

static bool
link_error(int err)
{
	return err == EIO || err == ENXIO || err == EBADF || err == ECONNRESET || err == EPIPE ||
	    err == ENOTCONN || err == ECONNREFUSED || err == ENODEV;
}

static void
bus_close(struct mb_bus *b, const char *why)
{
	if (b->ctx) {
		modbus_close(b->ctx);
		modbus_free(b->ctx);
		b->ctx = NULL;
	}
	if (b->connected) {
		b->connected = false;
		pthread_mutex_lock(&b->lock);
		for (size_t i = 0; i < b->n_devs; i++) {
			if (b->devs[i].up)
				post(b, MB_EV_LINK, (int)i, 0, false, "%s: link lost (%s)",
				    b->devs[i].cfg->name, why);
			b->devs[i].up = false;
			b->devs[i].identified = false;
			memset(b->devs[i].known, 0, b->devs[i].prof->n_regs * sizeof(bool));
		}
		post(b, MB_EV_LINK, -1, 0, false, "bus %s: %s", b->bus->name, why);
		pthread_mutex_unlock(&b->lock);
	}
	b->retry_at = now_mono() + b->backoff;
	b->backoff = b->backoff * 2 > 5 ? 5 : b->backoff * 2;
}

static int
bus_open(struct mb_bus *b)
{
	const struct cfg_bus *c = b->bus;
	if (c->transport == TRANSPORT_TCP) {
		b->ctx = modbus_new_tcp(c->host, c->tcp_port);
	} else {
		char *path = cfg_device_path(b->cfg, c->port);
		b->ctx = modbus_new_rtu(path, c->baud, (char)c->parity, c->data_bits, c->stop_bits);
		free(path);
	}
	if (!b->ctx)
		return -1;
	double t = c->timeout;
	modbus_set_response_timeout(b->ctx, (uint32_t)t, (uint32_t)((t - floor(t)) * 1e6));
	if (modbus_connect(b->ctx) < 0) {
		modbus_free(b->ctx);
		b->ctx = NULL;
		return -1;
	}
	/* An RTU frame carries no transaction id: an answer left on the line
	 * for a host that went away (killed mid-request) would be taken for
	 * the answer to our first request, every reading after it shifted by
	 * one. What is waiting goes before anything is asked. */
	if (c->transport == TRANSPORT_RTU)
		modbus_flush(b->ctx);
	if (c->transport == TRANSPORT_RTU && c->rs485 &&
	    modbus_rtu_set_serial_mode(b->ctx, MODBUS_RTU_RS485) < 0)
		log_warn("bus %s: cannot switch the adapter to RS-485 mode: %s", c->name,
		    modbus_strerror(errno));
	b->connected = true;
	b->backoff = 0.25;
	pthread_mutex_lock(&b->lock);
	b->stats.reconnects++;
	post(b, MB_EV_LINK, -1, 0, true, "bus %s connected", c->name);
	pthread_mutex_unlock(&b->lock);
	return 0;
}

static void
device_failed(struct mb_bus *b, int di, const char *what, int err)
{
	struct mb_dev *d = &b->devs[di];
	STAT_ADD(b, errors);
	if (err == ETIMEDOUT)
		STAT_ADD(b, timeouts);
	modbus_flush(b->ctx);
	if (link_error(err)) {
		bus_close(b, modbus_strerror(err));
		return;
	}
	d->fails++;
	pthread_mutex_lock(&b->lock);
	if (d->up && err == ETIMEDOUT) {
		d->up = false;
		d->identified = false;  /* another unit may answer next time */
		memset(d->known, 0, d->prof->n_regs * sizeof(bool));
		post(b, MB_EV_LINK, di, 0, false, "%s does not answer (%s)", d->cfg->name, what);
	} else if (err != ETIMEDOUT) {
		post(b, MB_EV_WARN, di, 0, false, "%s: %s: %s", d->cfg->name, what, modbus_strerror(err));
	}
	pthread_mutex_unlock(&b->lock);
}

/* A device answered: it is up unless it is still to be identified or
 * was refused; coming up arms its safe state. */
static void
answered(struct mb_bus *b, int di)
{
	struct mb_dev *d = &b->devs[di];
	d->fails = 0;
	if (d->up || d->refused[0] || (d->prof->identify && !d->identified))
		return;
	pthread_mutex_lock(&b->lock);
	d->up = true;
	d->ever_up = true;
	d->safe_pending = d->prof->n_safe > 0;
	post(b, MB_EV_LINK, di, 0, true, "%s answers", d->cfg->name);
	pthread_mutex_unlock(&b->lock);
}

/* Runs one transaction with the bus's retries; returns 0 or -1 (errno). */
static int
with_retries(struct mb_bus *b, int di, int (*fn)(struct mb_bus *, int, void *), void *arg)
{
	int err = 0;
	for (int attempt = 0; attempt <= b->bus->retries && b->ctx; attempt++) {
		modbus_set_slave(b->ctx, b->devs[di].cfg->slave);
		STAT_ADD(b, transactions);
		if (fn(b, di, arg) >= 0) {
			answered(b, di);
			return 0;
		}
		err = errno;
		modbus_flush(b->ctx);
		if (link_error(err) || (err != ETIMEDOUT && err != EMBBADCRC && err != EMBBADDATA &&
		    err != EMBBADSLAVE && err != EMBBADEXC))
			break;      /* exceptions are answers: retrying changes nothing */
	}
	errno = err;
	return -1;
}

struct read_arg {
	int start, count;
	uint16_t *dst;
};

static int
do_read(struct mb_bus *b, int di, void *arg)
{
	(void)di;
	struct read_arg *a = arg;
	return modbus_read_registers(b->ctx, a->start, a->count, a->dst);
}

struct write_arg {
	int addr, n;
	uint16_t w[2];
};

static int
do_write(struct mb_bus *b, int di, void *arg)
{
	(void)di;
	struct write_arg *a = arg;
	return a->n == 1 ? modbus_write_register(b->ctx, a->addr, a->w[0]) :
	    modbus_write_registers(b->ctx, a->addr, a->n, a->w);
}

static int
reg_index(const struct profile *p, const struct profile_reg *r)
{
	return (int)(r - p->regs);
}

/*
 * Reads the identify register (and the select_by register) of a device not
 * yet identified and chooses its variant. Returns 0 when the device may be
 * driven, -1 when it did not answer or matches no variant (then it stays
 * down, refused, with the reason posted once).
 */
static int
identify(struct mb_bus *b, int di)
{
	struct mb_dev *d = &b->devs[di];
	const struct profile *p = d->prof;
	if (!p->identify)
		return 0;
	if (d->identified)
		return d->refused[0] ? -1 : 0;
	uint16_t model, sel = 0;
	struct read_arg a = { profile_reg_find(p, p->identify)->address, 1, &model };
	if (with_retries(b, di, do_read, &a) < 0) {
		device_failed(b, di, "identify", errno);
		return -1;
	}
	if (p->select_by) {
		struct read_arg s = { profile_reg_find(p, p->select_by)->address, 1, &sel };
		if (with_retries(b, di, do_read, &s) < 0) {
			device_failed(b, di, "identify", errno);
			return -1;
		}
	}
	const struct profile_variant *v = mb_map_variant(p, model, p->select_by ? sel : -1);
	char why[sizeof d->refused] = "";
	if (p->n_variants && !v && !(d->unknown_seen && d->unknown_model == model &&
	    d->unknown_select == (p->select_by ? sel : -1))) {
		/* Not believed on one reading: asked again next cycle. */
		d->unknown_seen = true;
		d->unknown_model = model;
		d->unknown_select = p->select_by ? sel : -1;
		modbus_flush(b->ctx);
		return -1;
	}
	d->unknown_seen = false;
	if (p->n_variants && !v) {
		if (p->select_by)
			snprintf(why, sizeof why, "model %u with %s %u is not in profile %s; add a variant",
			    model, p->select_by, sel, p->name);
		else
			snprintf(why, sizeof why, "model %u is not in profile %s; add a variant", model,
			    p->name);
	}
	pthread_mutex_lock(&b->lock);
	d->model = model;
	d->select = p->select_by ? sel : -1;
	d->identified = true;
	d->var = v;
	if (why[0]) {
		/* Said once, not every poll cycle while it stays so. */
		if (strcmp(why, d->refused) != 0)
			post(b, MB_EV_LINK, di, 0, false, "%s: %s", d->cfg->name, why);
		snprintf(d->refused, sizeof d->refused, "%s", why);
		d->up = false;
		memset(d->known, 0, p->n_regs * sizeof(bool));
	} else {
		d->refused[0] = 0;
		post(b, MB_EV_WARN, di, 0, true, "%s is model %u (%s)", d->cfg->name, model,
		    v ? v->name : "no variants");
	}
	pthread_mutex_unlock(&b->lock);
	if (why[0])
		return -1;
	answered(b, di);
	return 0;
}

/*
 * Writes a command's registers in order, each checked against the
 * profile and the device's variant and read back unless write-only.
 * Returns 0, or -1 with the reason in err (nothing after the failing
 * write is sent).
 */
static int
write_regs(struct mb_bus *b, int di, size_t n, const struct mb_write *w, char *err, size_t errlen)
{
	struct mb_dev *d = &b->devs[di];
	for (size_t i = 0; i < n; i++) {
		const struct profile_reg *r = profile_reg_find(d->prof, w[i].reg);
		struct write_arg a = { r->address, 0, { 0, 0 } };
		if (mb_map_encode(d->prof, r, d->var, w[i].value, a.w, &a.n, err, errlen) < 0)
			return -1;
		if (with_retries(b, di, do_write, &a) < 0) {
			int e = errno;
			snprintf(err, errlen, "writing %s: %s", r->name, modbus_strerror(e));
			device_failed(b, di, "write", e);
			return -1;
		}
		/* Read back what was written, unless the register is write-only
		 * (the E5CC's command register). */
		if (r->access == REG_RW) {
			uint16_t back[2];
			struct read_arg ra = { r->address, a.n, back };
			if (with_retries(b, di, do_read, &ra) < 0) {
				int e = errno;
				snprintf(err, errlen, "reading %s back: %s", r->name, modbus_strerror(e));
				device_failed(b, di, "read-back", e);
				return -1;
			}
			if (back[0] != a.w[0] || (a.n == 2 && back[1] != a.w[1])) {
				snprintf(err, errlen, "%s reads back %u, not the %u written", r->name,
				    back[0], a.w[0]);
				return -1;
			}
			pthread_mutex_lock(&b->lock);
			d->written[reg_index(d->prof, r)] = w[i].value;
			pthread_mutex_unlock(&b->lock);
		}
	}
	return 0;
}

/* The safe state of a device that has just come up, before anything
 * else is written to it; reported either way, for the daemon's log. */
static void
apply_safe(struct mb_bus *b, int di)
{
	struct mb_dev *d = &b->devs[di];
	if (!d->safe_pending || !b->ctx)
		return;
	d->safe_pending = false;
	struct mb_write w[PROFILE_MAX_SAFE];
	struct buf what;
	buf_init(&what);
	for (size_t i = 0; i < d->prof->n_safe; i++) {
		w[i].reg = d->prof->safe[i].reg;
		w[i].value = d->prof->safe[i].value;
		buf_printf(&what, "%s%s %g", i ? ", " : "", w[i].reg, w[i].value);
	}
	char err[200];
	int rc = write_regs(b, di, d->prof->n_safe, w, err, sizeof err);
	pthread_mutex_lock(&b->lock);
	if (rc == 0)
		post(b, MB_EV_SAFE, di, 0, true, "%s came up: safe state written and read back (%s)",
		    d->cfg->name, what.data);
	else
		post(b, MB_EV_SAFE, di, 0, false, "%s came up: its safe state (%s) failed: %s",
		    d->cfg->name, what.data, err);
	pthread_mutex_unlock(&b->lock);
	buf_free(&what);
}

static void
poll_device(struct mb_bus *b, int di)
{
	struct mb_dev *d = &b->devs[di];
	if (identify(b, di) < 0 || !b->ctx)
		return;
	apply_safe(b, di);
	for (size_t k = 0; k < d->n_blocks && b->ctx; k++) {
		struct mb_block *blk = &d->blocks[k];
		struct read_arg a = { blk->start, blk->count, d->raw->value + blk->start };
		if (with_retries(b, di, do_read, &a) < 0) {
			device_failed(b, di, "poll", errno);
			return;
		}
		for (int i = 0; i < blk->count; i++)
			d->raw->valid[blk->start + i] = true;
		apply_safe(b, di);     /* the first answer brought it up */
	}
	if (!b->ctx)
		return;
	pthread_mutex_lock(&b->lock);
	struct buf lost;
	buf_init(&lost);
	for (size_t i = 0; i < d->prof->n_regs; i++) {
		const struct profile_reg *r = &d->prof->regs[i];
		if (r->access == REG_WO)
			continue;
		d->known[i] = mb_map_decode(d->prof, r, d->var, d->raw, &d->values[i]) == 0;
		/* A setpoint that no longer reads back as written means the
		 * device restarted and forgot it. */
		if (d->known[i] && !isnan(d->written[i]) && strcmp(r->name, "heartbeat") != 0 &&
		    fabs(d->values[i] - d->written[i]) > 0.5 * mb_map_scale(d->prof, r, d->var)) {
			buf_printf(&lost, "%s%s was %g%s%s, now %g%s%s", lost.len ? ", " : "", r->name,
			    d->written[i], *r->unit ? " " : "", r->unit, d->values[i],
			    *r->unit ? " " : "", r->unit);
			d->written[i] = NAN;
		}
	}
	if (lost.len)
		post(b, MB_EV_REBOOT, di, 0, false, "%s rebooted: setpoints lost (%s)", d->cfg->name,
		    lost.data);
	post(b, MB_EV_POLL, di, 0, true, "%s polled", d->cfg->name);
	pthread_mutex_unlock(&b->lock);
	buf_free(&lost);
}

/*
 * Makes a device ready to be written: identified (its scales and ranges
 * depend on its variant), answering, and, if it has just come up, in its
 * safe state first. Returns 0, or -1 with the reason in err.
 */
static int
bring_up(struct mb_bus *b, int di, char *err, size_t errlen)
{
	struct mb_dev *d = &b->devs[di];
	if (identify(b, di) < 0) {
		snprintf(err, errlen, "%s", d->refused[0] ? d->refused : "does not answer");
		return -1;
	}
	if (!d->up && d->n_blocks) {
		struct mb_block *blk = &d->blocks[0];
		struct read_arg a = { blk->start, blk->count, d->raw->value + blk->start };
		if (with_retries(b, di, do_read, &a) < 0) {
			device_failed(b, di, "probe", errno);
			snprintf(err, errlen, "does not answer");
			return -1;
		}
	}
	apply_safe(b, di);
	return 0;
}

static void
run_command(struct mb_bus *b, struct mb_cmd *c)
{
	struct mb_dev *d = &b->devs[c->dev];
	char err[200] = "";
	/* The names travel inside the command: its pointers were made for
	 * the copy that was queued. */
	for (size_t i = 0; i < c->n; i++)
		c->w[i].reg = c->names[i];
	int rc = bring_up(b, c->dev, err, sizeof err);
	if (rc == 0)
		rc = write_regs(b, c->dev, c->n, c->w, err, sizeof err);
	pthread_mutex_lock(&b->lock);
	if (rc == 0)
		post(b, MB_EV_DONE, c->dev, c->id, true, "%s: done", d->cfg->name);
	else
		post(b, MB_EV_DONE, c->dev, c->id, false, "%s: %s", d->cfg->name, err);
	pthread_mutex_unlock(&b->lock);
}

static bool
take(struct mb_bus *b, struct lane *l, struct mb_cmd *out)
{
	pthread_mutex_lock(&b->lock);
	bool got = l->count > 0;
	if (got) {
		*out = l->q[l->head];
		l->head = (l->head + 1) % LANE_MAX;
		l->count--;
	}
	pthread_mutex_unlock(&b->lock);
	return got;
}

/* Runs every safe-state command waiting; returns true if any ran. */
static bool
run_priority(struct mb_bus *b)
{
	struct mb_cmd c;
	bool any = false;
	while (b->ctx && take(b, &b->prio, &c)) {
		run_command(b, &c);
		any = true;
	}
	return any;
}

static void
heartbeats(struct mb_bus *b, double now)
{
	for (size_t i = 0; i < b->n_devs && b->ctx; i++) {
		struct mb_dev *d = &b->devs[i];
		if (d->cfg->heartbeat_interval <= 0 || now < d->next_beat)
			continue;
		/* Nothing is written to a device not known to be what its
		 * profile describes. */
		if (d->refused[0] || (d->prof->identify && !d->identified))
			continue;
		d->next_beat = now + d->cfg->heartbeat_interval;
		const struct profile_reg *r = profile_reg_find(d->prof, "heartbeat");
		if (!r)
			continue;   /* a device without one relies on the relay cut-off */
		struct write_arg a = { r->address, 1, { ++d->heartbeat, 0 } };
		if (with_retries(b, (int)i, do_write, &a) < 0)
			device_failed(b, (int)i, "heartbeat", errno);
	}
}

static void
wait_for_work(struct mb_bus *b, double until)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	double now = now_mono();
	double d = until - now;
	if (d <= 0)
		return;
	if (d > 0.5)
		d = 0.5;
	ts.tv_sec += (time_t)d;
	ts.tv_nsec += (long)((d - floor(d)) * 1e9);
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&b->lock);
	/* Commands wait for the link: while the bus is closed (a safe state
	 * queued at start-up with no device there) they are no reason to
	 * stay awake, or the thread would spin until the device came back. */
	if (!b->stop && (!b->ctx || (b->prio.count == 0 && b->normal.count == 0)))
		pthread_cond_timedwait(&b->wake, &b->lock, &ts);
	pthread_mutex_unlock(&b->lock);
}

static void *
bus_thread(void *arg)
{
	struct mb_bus *b = arg;
	for (;;) {
		pthread_mutex_lock(&b->lock);
		bool stop = b->stop;
		pthread_mutex_unlock(&b->lock);
		if (stop)
			break;
		STAT_ADD(b, wakeups);
		double now = now_mono();
		if (!b->ctx) {
			if (now >= b->retry_at && bus_open(b) < 0)
				bus_close(b, "cannot open");
			if (!b->ctx) {
				wait_for_work(b, b->retry_at);
				continue;
			}
		}
		run_priority(b);
		struct mb_cmd c;
		if (b->ctx && take(b, &b->normal, &c))
			run_command(b, &c);
		if (b->ctx && now >= b->next_poll) {
			double t0 = now_mono();
			for (size_t i = 0; i < b->n_devs && b->ctx; i++) {
				poll_device(b, (int)i);
				run_priority(b);    /* safe state never waits a cycle */
			}
			pthread_mutex_lock(&b->lock);
			b->stats.cycles++;
			b->stats.last_cycle = now_mono() - t0;
			b->stats.cycle_total += b->stats.last_cycle;
			pthread_mutex_unlock(&b->lock);
			b->next_poll = t0 + b->bus->poll_interval;
		}
		heartbeats(b, now_mono());
		double next = b->next_poll;
		for (size_t i = 0; i < b->n_devs; i++)
			if (b->devs[i].cfg->heartbeat_interval > 0 && b->devs[i].next_beat < next)
				next = b->devs[i].next_beat;
		wait_for_work(b, next);
	}
	if (b->ctx) {
		modbus_close(b->ctx);
		modbus_free(b->ctx);
		b->ctx = NULL;
	}
	return NULL;
}

/* --- main-thread API ------------------------------------------------- */

size_t
mb_bus_blocks(const struct mb_bus *b, int dev, struct mb_block *out, size_t max)
{
	const struct mb_dev *d = &b->devs[dev];
	size_t n = d->n_blocks < max ? d->n_blocks : max;
	memcpy(out, d->blocks, n * sizeof *out);
	return n;
}

static void
free_bus(struct mb_bus *b)
{
	for (size_t i = 0; i < b->n_devs; i++) {
		profile_free(b->devs[i].prof);
		free(b->devs[i].raw);
		free(b->devs[i].values);
		free(b->devs[i].known);
		free(b->devs[i].written);
	}
	free(b->devs);
	if (b->efd >= 0)
		close(b->efd);
	pthread_mutex_destroy(&b->lock);
	pthread_cond_destroy(&b->wake);
	free(b);
}

struct mb_bus *
mb_bus_start(const struct cfg *cfg, const struct cfg_bus *bus, char *err, size_t errlen)
{
	struct mb_bus *b = xcalloc(1, sizeof *b);
	pthread_condattr_t ca;

	b->cfg = cfg;
	b->bus = bus;
	b->backoff = 0.25;
	pthread_mutex_init(&b->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&b->wake, &ca);
	pthread_condattr_destroy(&ca);
	b->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	b->devs = xcalloc(cfg->n_devices ? cfg->n_devices : 1, sizeof *b->devs);
	for (size_t i = 0; i < cfg->n_devices; i++) {
		const struct cfg_device *cd = &cfg->devices[i];
		if (strcmp(cd->bus, bus->name) != 0)
			continue;
		struct mb_dev *d = &b->devs[b->n_devs];
		struct cfg_errors e = { 0 };
		char *path = cfg_profile_path(cfg, cd->profile);
		d->prof = profile_load(path, &e);
		free(path);
		if (!d->prof) {
			snprintf(err, errlen, "%s: %s", cd->name, e.n ? e.msgs[0] : "profile does not load");
			cfg_errors_free(&e);
			free_bus(b);
			return NULL;
		}
		b->n_devs++;
		d->cfg = cd;
		d->n_blocks = mb_map_blocks(d->prof, d->blocks, MAX_BLOCKS);
		d->raw = xcalloc(1, sizeof *d->raw);
		d->values = xcalloc(d->prof->n_regs ? d->prof->n_regs : 1, sizeof(double));
		d->known = xcalloc(d->prof->n_regs ? d->prof->n_regs : 1, sizeof(bool));
		d->written = xcalloc(d->prof->n_regs ? d->prof->n_regs : 1, sizeof(double));
		for (size_t k = 0; k < d->prof->n_regs; k++)
			d->written[k] = NAN;
	}
	/* The first connection is made here, by the caller, which may still
	 * hold the privileges to open the line (the daemon drops them after
	 * opening its devices); later reconnections are the thread's. */
	if (bus_open(b) < 0)
		b->retry_at = now_mono() + b->backoff;
	if (b->efd < 0 || pthread_create(&b->thread, NULL, bus_thread, b) != 0) {
		snprintf(err, errlen, "bus %s: cannot start its thread", bus->name);
		free_bus(b);
		return NULL;
	}
	return b;
}

void
mb_bus_stop(struct mb_bus *b)
{
	if (!b)
		return;
	pthread_mutex_lock(&b->lock);
	b->stop = true;
	pthread_cond_signal(&b->wake);
	pthread_mutex_unlock(&b->lock);
	pthread_join(b->thread, NULL);
	free_bus(b);
}

int
mb_bus_fd(const struct mb_bus *b)
{
	return b->efd;
}

size_t
mb_bus_drain(struct mb_bus *b, struct mb_event *out, size_t max)
{
	uint64_t n;
	ssize_t r = read(b->efd, &n, sizeof n);
	(void)r;        /* only clears the wake-up; the queue is the truth */
	pthread_mutex_lock(&b->lock);
	size_t k = 0;
	while (k < max && b->ev_count) {
		out[k++] = b->ev[b->ev_head];
		b->ev_head = (b->ev_head + 1) % EVENTS_MAX;
		b->ev_count--;
	}
	if (b->ev_count) {
		uint64_t one = 1;
		r = write(b->efd, &one, sizeof one);   /* more to drain: stay readable */
	}
	pthread_mutex_unlock(&b->lock);
	return k;
}

size_t
mb_bus_devices(const struct mb_bus *b)
{
	return b->n_devs;
}

int
mb_bus_device(const struct mb_bus *b, const char *name)
{
	for (size_t i = 0; i < b->n_devs; i++)
		if (strcmp(b->devs[i].cfg->name, name) == 0)
			return (int)i;
	return -1;
}

const char *
mb_bus_device_name(const struct mb_bus *b, int dev)
{
	return b->devs[dev].cfg->name;
}

const char *
mb_bus_device_profile(const struct mb_bus *b, int dev)
{
	return b->devs[dev].cfg->profile;
}

bool
mb_bus_device_up(const struct mb_bus *b, int dev)
{
	struct mb_bus *mb = (struct mb_bus *)b;
	pthread_mutex_lock(&mb->lock);
	bool up = b->devs[dev].up;
	pthread_mutex_unlock(&mb->lock);
	return up;
}

bool
mb_bus_value(const struct mb_bus *b, int dev, const char *reg, double *out)
{
	struct mb_bus *mb = (struct mb_bus *)b;
	const struct mb_dev *d = &b->devs[dev];
	const struct profile_reg *r = profile_reg_find(d->prof, reg);
	if (!r)
		return false;
	pthread_mutex_lock(&mb->lock);
	int i = reg_index(d->prof, r);
	bool known = d->known[i];
	if (known)
		*out = d->values[i];
	pthread_mutex_unlock(&mb->lock);
	return known;
}

const char *
mb_bus_variant(const struct mb_bus *b, int dev)
{
	struct mb_bus *mb = (struct mb_bus *)b;
	pthread_mutex_lock(&mb->lock);
	const char *v = b->devs[dev].var ? b->devs[dev].var->name : NULL;
	pthread_mutex_unlock(&mb->lock);
	return v;
}

const struct profile *
mb_bus_profile(const struct mb_bus *b, int dev)
{
	return b->devs[dev].prof;
}

int
mb_bus_write(struct mb_bus *b, int dev, const struct mb_write *w, size_t n, bool priority,
    char *err, size_t errlen)
{
	if (dev < 0 || (size_t)dev >= b->n_devs || n == 0 || n > MB_MAX_WRITES) {
		snprintf(err, errlen, "no such device, or %zu writes (1 to %d)", n, MB_MAX_WRITES);
		return -1;
	}
	struct mb_dev *d = &b->devs[dev];
	struct mb_cmd c = { .dev = dev, .n = n };
	for (size_t i = 0; i < n; i++) {
		const struct profile_reg *r = profile_reg_find(d->prof, w[i].reg);
		uint16_t words[2];
		int nw;
		if (!r) {
			snprintf(err, errlen, "%s has no register '%s'", d->cfg->name, w[i].reg);
			return -1;
		}
		/* Checked against the variant when it is known; the bus thread
		 * checks again with the one it finds before writing. */
		pthread_mutex_lock(&b->lock);
		const struct profile_variant *var = d->var;
		char refused[sizeof d->refused];
		snprintf(refused, sizeof refused, "%s", d->refused);
		pthread_mutex_unlock(&b->lock);
		if (refused[0]) {
			snprintf(err, errlen, "%s: %s", d->cfg->name, refused);
			return -1;
		}
		if (mb_map_encode(d->prof, r, var, w[i].value, words, &nw, err, errlen) < 0)
			return -1;
		snprintf(c.names[i], sizeof c.names[i], "%s", r->name);
		c.w[i].reg = c.names[i];
		c.w[i].value = w[i].value;
	}
	pthread_mutex_lock(&b->lock);
	if (priority) {
		/* A safe state cancels what was queued for the device: a
		 * "start" still waiting must not run after the "stop". */
		struct lane kept = { .head = 0, .count = 0 };
		for (size_t i = 0; i < b->normal.count; i++) {
			struct mb_cmd *q = &b->normal.q[(b->normal.head + i) % LANE_MAX];
			if (q->dev == dev) {
				post(b, MB_EV_DONE, dev, q->id, false, "%s: cancelled by a safe-state command",
				    d->cfg->name);
				b->ev[(b->ev_head + b->ev_count - 1) % EVENTS_MAX].cancelled = true;
			}
			else
				kept.q[kept.count++] = *q;
		}
		b->normal = kept;
	}
	struct lane *l = priority ? &b->prio : &b->normal;
	if (l->count == LANE_MAX) {
		pthread_mutex_unlock(&b->lock);
		snprintf(err, errlen, "too many commands wait for %s", d->cfg->name);
		return -1;
	}
	c.id = atomic_fetch_add(&next_cmd_id, 1);
	l->q[(l->head + l->count++) % LANE_MAX] = c;
	pthread_cond_signal(&b->wake);
	pthread_mutex_unlock(&b->lock);
	return c.id;
}

void
mb_bus_stats(const struct mb_bus *b, struct mb_stats *out)
{
	struct mb_bus *mb = (struct mb_bus *)b;
	pthread_mutex_lock(&mb->lock);
	*out = b->stats;
	pthread_mutex_unlock(&mb->lock);
}
