/*
 * The safety path (see safety.h): one thread, one poll over the GPIO
 * descriptors and a wake-up eventfd, a tick for the device links and the
 * debounce timers. Every pass reads the inputs, updates the interlock and,
 * on a trip, makes the safe state before anything else: relays first
 * (they cut the power whatever the devices do), then the laser's stop
 * byte, then the Modbus safe-state commands, which overtake everything
 * queued on their bus. The daemon's requests (energise, release, reset,
 * devices) are served in the same thread, after the inputs of the pass,
 * so that a permission and the relay it allows are one step.
 */
#include "daemon/safety.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "gpio.h"
#include "log.h"
#include "mb_devices.h"
#include "util.h"

/* The tick: how often the device links are looked at when nobody pokes,
 * and the outputs checked against the interlock. */
#define TICK 0.05
/* SCHED_FIFO priority: above every ordinary thread, below the kernel's
 * interrupt threads (50), within a unit's LimitRTPRIO=20. */
#define RT_PRIORITY 20
#define NEWS_MAX 256
/* How long the daemon waits for an answer before calling the safety path
 * stuck; it answers in microseconds. */
#define ANSWER_TIMEOUT 2.0

enum req_type { REQ_NONE = 0, REQ_ENERGISE, REQ_RELEASE, REQ_RESET, REQ_DEVICES, REQ_STOP };

struct safety {
	const struct cfg *cfg;
	pthread_t thread;
	bool started;
	int wake_fd;            /* daemon -> safety thread */
	int event_fd;           /* safety thread -> daemon */

	pthread_mutex_t lock;   /* guards everything below it */
	pthread_cond_t answered;
	pthread_mutex_t asking; /* one request at a time */
	enum req_type req;
	int req_line;
	struct safety_devices req_dev;
	bool req_done;
	int req_rc;
	char req_why[200];
	uint64_t trips_unseen;
	unsigned char laser_byte_unseen[CFG_MAX_STATIONS];
	struct safety_event news[NEWS_MAX];
	size_t news_head, news_count;
	struct safety_state shown;

	struct il_layout layout;    /* read-only once started */

	/* Owned by the safety thread. */
	struct gpio *gpio;
	struct interlock il;
	struct safety_devices dev;
	/* A stop byte a laser's port did not take yet, by station. */
	unsigned char laser_owed[CFG_MAX_STATIONS];
	double next_tick;
	bool realtime;
};

void
safety_devices_none(struct safety_devices *dev)
{
	memset(dev, 0, sizeof *dev);
	for (size_t i = 0; i < CFG_MAX_STATIONS; i++)
		dev->st[i].dev[0] = dev->st[i].dev[1] = -1;
}

const struct il_layout *
safety_layout(const struct safety *s)
{
	return &s->layout;
}

static void
wake(int fd)
{
	uint64_t one = 1;
	ssize_t r = write(fd, &one, sizeof one);
	(void)r;        /* a full counter still wakes the reader */
}

/* --- news for the daemon (safety thread, lock held) ----------------- */

static void
post_news(struct safety *s, const struct safety_event *ev)
{
	if (s->news_count == NEWS_MAX) {
		s->news_head = (s->news_head + 1) % NEWS_MAX;
		s->news_count--;
	}
	s->news[(s->news_head + s->news_count++) % NEWS_MAX] = *ev;
	wake(s->event_fd);
}

static void
publish(struct safety *s)
{
	pthread_mutex_lock(&s->lock);
	s->shown.il = s->il;
	s->shown.gpio_up = s->gpio && gpio_link_up(s->gpio);
	for (size_t l = 0; l < s->cfg->n_lines; l++)
		s->shown.lines[l] = s->gpio ? gpio_get(s->gpio, (int)l) : -1;
	s->shown.realtime = s->realtime;
	pthread_mutex_unlock(&s->lock);
}

/* --- the reaction ----------------------------------------------------- */

static void
relay_off(struct safety *s, int line)
{
	if (s->gpio && gpio_get(s->gpio, line) != 0)
		gpio_set(s->gpio, line, 0);
}

static void
modbus_safe(struct mb_bus *b, int dev)
{
	char err[200];
	if (b && dev >= 0 && mb_safe_state(b, dev, err, sizeof err) < 0)
		log_warn("safe state of %s: %s", mb_bus_device_name(b, dev), err);
}

static void
laser_stop(struct safety *s, size_t st, unsigned char byte)
{
	/* A reset outranks a door byte owed from before. */
	if (s->laser_owed[st] != GRBL_RT_RESET)
		s->laser_owed[st] = byte;
	struct grbl_stopline *line = s->dev.st[st].laser;
	if (!line || grbl_stopline_send(line, s->laser_owed[st]) == 0)
		s->laser_owed[st] = 0;  /* sent, or no laser to stop */
}

static bool
device_up(const struct safety_station *d, int which)
{
	return d->bus[which] && d->dev[which] >= 0 && mb_bus_device_up(d->bus[which], d->dev[which]);
}

static void
read_inputs(struct safety *s, struct il_inputs *in)
{
	const struct cfg *cfg = s->cfg;
	const struct il_layout *l = &s->layout;
	memset(in, 0, sizeof *in);
	bool known = s->gpio && gpio_link_up(s->gpio);
	for (size_t i = 0; i < cfg->n_lines && known; i++)
		if (!cfg->lines[i].output && gpio_get(s->gpio, (int)i) < 0)
			known = false;
	/* Inputs not yet read count as a lost GPIO link, which forbids
	 * everything without latching an e-stop nobody pressed. */
	if (known) {
		in->links_up |= 1ull << IL_LINK_GPIO;
		in->estop_pressed = gpio_get(s->gpio, l->estop_line) == 1;
		for (size_t g = 0; g < l->n_guards; g++)
			if (gpio_get(s->gpio, l->guards[g].line) == l->guards[g].blocks_at)
				in->blocked |= 1ull << g;
	}
	for (size_t k = 1; k < l->n_links; k++) {
		const struct safety_station *d = &s->dev.st[l->links[k].station];
		bool up = cfg->stations[l->links[k].station].kind == KIND_LASER ?
		    d->laser && grbl_stopline_ready(d->laser) : device_up(d, l->links[k].which);
		if (up)
			in->links_up |= 1ull << k;
	}
}

/* Whether a laser station's trip is one a door byte answers: the machine
 * holds and keeps its position. The e-stop and a lost link reset it. */
static bool
door_like(const struct safety *s, size_t st)
{
	const struct il_inputs *in = &s->il.in;
	if (in->estop_pressed || s->il.latched || !(in->links_up & (1ull << IL_LINK_GPIO)))
		return false;
	uint64_t guards = 0;
	for (size_t a = 0; a < s->layout.n_actuators; a++)
		if (s->layout.actuators[a].station == (int)st)
			guards |= s->layout.actuators[a].guards;
	return (in->blocked & guards) != 0;
}

static void
react(struct safety *s, uint64_t tripped)
{
	const struct il_layout *l = &s->layout;
	/* Relays first: they cut the power whatever the devices do. */
	for (size_t a = 0; a < l->n_actuators; a++)
		if (tripped & (1ull << a))
			relay_off(s, l->actuators[a].line);
	/* Then each station's devices: a laser's stop byte, the safe state
	 * of the Modbus devices whose outputs went. */
	unsigned char bytes[CFG_MAX_STATIONS] = { 0 };
	for (size_t a = 0; a < l->n_actuators; a++) {
		if (!(tripped & (1ull << a)))
			continue;
		size_t st = (size_t)l->actuators[a].station;
		const struct safety_station *d = &s->dev.st[st];
		switch (l->actuators[a].role) {
		case ROLE_LASER_ENABLE:
		case ROLE_BEACON:
			if (!bytes[st]) {
				bytes[st] = door_like(s, st) ? GRBL_RT_DOOR : GRBL_RT_RESET;
				laser_stop(s, st, bytes[st]);
			}
			break;
		case ROLE_ULTRASOUND_ENABLE:
		case ROLE_TANK_HEATER_ENABLE:
			/* One safe state for both of the generator's outputs. */
			if (!bytes[st]) {
				bytes[st] = 1;
				modbus_safe(d->bus[0], d->dev[0]);
			}
			break;
		case ROLE_RECTIFIER_ENABLE:
			modbus_safe(d->bus[0], d->dev[0]);
			break;
		case ROLE_BATH_HEATER_ENABLE:
			modbus_safe(d->bus[1], d->dev[1]);
			break;
		default:
			break;
		}
	}
	pthread_mutex_lock(&s->lock);
	s->trips_unseen |= tripped;
	for (size_t st = 0; st < s->cfg->n_stations; st++) {
		if (s->cfg->stations[st].kind != KIND_LASER || !bytes[st])
			continue;
		if (bytes[st] == GRBL_RT_RESET || !s->laser_byte_unseen[st])
			s->laser_byte_unseen[st] = bytes[st];
	}
	wake(s->event_fd);
	pthread_mutex_unlock(&s->lock);
}

static void
evaluate(struct safety *s)
{
	struct il_inputs in;
	read_inputs(s, &in);
	uint64_t tripped = interlock_update(&s->il, &in);
	if (tripped)
		react(s, tripped);
	/* Defence in depth: nothing stays energised that is not permitted. */
	for (size_t a = 0; s->gpio && a < s->layout.n_actuators; a++)
		if (gpio_get(s->gpio, s->layout.actuators[a].line) == 1 &&
		    !interlock_permits(&s->il, (int)a))
			relay_off(s, s->layout.actuators[a].line);
	for (size_t st = 0; st < s->cfg->n_stations; st++)
		if (s->laser_owed[st])
			laser_stop(s, st, s->laser_owed[st]);
}

/* --- GPIO callbacks (safety thread) ------------------------------------ */

static void
on_input(int line, int value, void *arg)
{
	struct safety *s = arg;
	evaluate(s);    /* the reaction first, the news after */
	struct safety_event ev = { .type = SAFETY_EV_INPUT, .line = line, .value = value };
	pthread_mutex_lock(&s->lock);
	post_news(s, &ev);
	pthread_mutex_unlock(&s->lock);
}

static void
on_gpio_link(bool up, const char *why, void *arg)
{
	struct safety *s = arg;
	evaluate(s);
	struct safety_event ev = { .type = SAFETY_EV_GPIO_LINK, .up = up };
	snprintf(ev.why, sizeof ev.why, "%s", why ? why : "");
	pthread_mutex_lock(&s->lock);
	post_news(s, &ev);
	pthread_mutex_unlock(&s->lock);
}

/* --- requests ------------------------------------------------------------ */

static void
serve(struct safety *s, bool *stop)
{
	pthread_mutex_lock(&s->lock);
	if (s->req == REQ_NONE || s->req_done) {
		pthread_mutex_unlock(&s->lock);
		return;
	}
	enum req_type req = s->req;
	int line = s->req_line;
	struct safety_devices dev = s->req_dev;
	pthread_mutex_unlock(&s->lock);

	int rc = 0;
	char why[200] = "";
	switch (req) {
	case REQ_ENERGISE: {
		const char *no = interlock_reason_line(&s->il, line);
		if (no) {
			snprintf(why, sizeof why, "%s", no);
			rc = -1;
		} else if (!s->gpio || gpio_set(s->gpio, line, 1) < 0) {
			snprintf(why, sizeof why, "the %s relay cannot be switched",
			    cfg_line_name(s->cfg, line));
			rc = -1;
		}
		break;
	}
	case REQ_RELEASE:
		relay_off(s, line);
		break;
	case REQ_RESET:
		rc = (int)interlock_reset(&s->il);
		break;
	case REQ_DEVICES:
		s->dev = dev;
		break;
	case REQ_STOP:
		*stop = true;
		break;
	case REQ_NONE:
		break;
	}
	publish(s);
	pthread_mutex_lock(&s->lock);
	s->req_rc = rc;
	snprintf(s->req_why, sizeof s->req_why, "%s", why);
	s->req_done = true;
	pthread_cond_signal(&s->answered);
	pthread_mutex_unlock(&s->lock);
}

/* --- the thread ---------------------------------------------------------- */

static void
raise_priority(struct safety *s)
{
	struct sched_param sp = { .sched_priority = RT_PRIORITY };
	int rc = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
	s->realtime = rc == 0;
	if (rc == 0)
		log_info("safety path: real-time priority %d (SCHED_FIFO)", RT_PRIORITY);
	else
		log_warn("safety path: no real-time priority (%s); it still never waits for the "
		    "rest of the daemon, but shares the processor with it: allow LimitRTPRIO=%d",
		    strerror(rc), RT_PRIORITY);
}

static void *
safety_thread(void *arg)
{
	struct safety *s = arg;
	bool stop = false;
	raise_priority(s);
	publish(s);
	while (!stop) {
		struct pollfd pfd[CFG_MAX_LINES + 1];
		pfd[0] = (struct pollfd){ .fd = s->wake_fd, .events = POLLIN };
		int n = 1 + gpio_pollfds(s->gpio, &pfd[1], CFG_MAX_LINES);
		double now = now_mono(), until = s->next_tick;
		double g = gpio_next_deadline(s->gpio);
		if (g > 0 && g < until)
			until = g;
		for (size_t st = 0; st < s->cfg->n_stations; st++)
			if (s->laser_owed[st] && now + 0.005 < until)
				until = now + 0.005;
		int ms = until > now ? (int)((until - now) * 1000.0) + 1 : 0;
		int r = poll(pfd, (nfds_t)n, ms);
		if (r < 0 && errno != EINTR) {
			log_errno("safety path: poll");
			break;
		}
		if (r > 0 && (pfd[0].revents & POLLIN)) {
			uint64_t v;
			ssize_t k = read(s->wake_fd, &v, sizeof v);
			(void)k;
		}
		for (int i = 1; r > 0 && i < n; i++)
			if (pfd[i].revents)
				gpio_on_readable(s->gpio, pfd[i].fd, pfd[i].revents);
		now = now_mono();
		g = gpio_next_deadline(s->gpio);
		if (g > 0 && now >= g)
			gpio_on_timer(s->gpio, now);
		if (now >= s->next_tick)
			s->next_tick = now + TICK;
		evaluate(s);
		publish(s);
		serve(s, &stop);
	}
	return NULL;
}

struct safety *
safety_start(const struct cfg *cfg)
{
	struct safety *s = xcalloc(1, sizeof *s);
	pthread_mutexattr_t ma;
	pthread_condattr_t ca;
	s->cfg = cfg;
	safety_devices_none(&s->dev);
	pthread_mutexattr_init(&ma);
	/* The daemon's thread may hold the lock when the safety thread, at a
	 * real-time priority, wants it: it inherits that priority meanwhile. */
	pthread_mutexattr_setprotocol(&ma, PTHREAD_PRIO_INHERIT);
	pthread_mutex_init(&s->lock, &ma);
	pthread_mutexattr_destroy(&ma);
	pthread_mutex_init(&s->asking, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->answered, &ca);
	pthread_condattr_destroy(&ca);
	s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	s->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	char why[200];
	if (interlock_layout(&s->layout, cfg, why, sizeof why) < 0) {
		log_err("safety path: %s", why);
		safety_stop(s);
		return NULL;
	}
	interlock_init(&s->il, &s->layout);
	s->shown.il = s->il;
	for (size_t l = 0; l < CFG_MAX_LINES; l++)
		s->shown.lines[l] = -1;
	if (s->wake_fd < 0 || s->event_fd < 0) {
		log_errno("safety path: eventfd");
		safety_stop(s);
		return NULL;
	}
	s->gpio = gpio_open(cfg, on_input, on_gpio_link, s);
	if (!s->gpio) {
		safety_stop(s);
		return NULL;
	}
	s->next_tick = now_mono();
	if (pthread_create(&s->thread, NULL, safety_thread, s) != 0) {
		log_err("safety path: cannot start its thread");
		safety_stop(s);
		return NULL;
	}
	s->started = true;
	return s;
}

/* Puts a request to the safety thread and waits for its answer. */
static int
ask(struct safety *s, enum req_type req, int line, const struct safety_devices *dev,
    char *why, size_t len)
{
	pthread_mutex_lock(&s->asking);
	pthread_mutex_lock(&s->lock);
	s->req = req;
	s->req_line = line;
	if (dev)
		s->req_dev = *dev;
	s->req_done = false;
	wake(s->wake_fd);
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)ANSWER_TIMEOUT;
	int rc = 0;
	while (!s->req_done && rc == 0)
		rc = pthread_cond_timedwait(&s->answered, &s->lock, &ts);
	int out;
	if (s->req_done) {
		out = s->req_rc;
		if (why)
			snprintf(why, len, "%s", s->req_why);
	} else {
		out = -1;
		if (why)
			snprintf(why, len, "the safety path does not answer");
		log_err("the safety path did not answer within %g s", ANSWER_TIMEOUT);
	}
	s->req = REQ_NONE;
	pthread_mutex_unlock(&s->lock);
	pthread_mutex_unlock(&s->asking);
	return out;
}

void
safety_stop(struct safety *s)
{
	if (!s)
		return;
	if (s->started) {
		ask(s, REQ_STOP, -1, NULL, NULL, 0);
		pthread_join(s->thread, NULL);
	}
	/* gpio_close drives every output inactive before it lets go. */
	gpio_close(s->gpio);
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	if (s->event_fd >= 0)
		close(s->event_fd);
	pthread_cond_destroy(&s->answered);
	pthread_mutex_destroy(&s->asking);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

int
safety_fd(const struct safety *s)
{
	return s->event_fd;
}

size_t
safety_drain(struct safety *s, struct safety_event *out, size_t max)
{
	uint64_t v;
	ssize_t r = read(s->event_fd, &v, sizeof v);
	(void)r;        /* only clears the wake-up; the queue is the truth */
	size_t k = 0;
	pthread_mutex_lock(&s->lock);
	if (s->trips_unseen && max > 0) {
		out[k] = (struct safety_event){ .type = SAFETY_EV_TRIP, .tripped = s->trips_unseen };
		memcpy(out[k++].laser_byte, s->laser_byte_unseen, sizeof s->laser_byte_unseen);
		s->trips_unseen = 0;
		memset(s->laser_byte_unseen, 0, sizeof s->laser_byte_unseen);
	}
	while (k < max && s->news_count) {
		out[k++] = s->news[s->news_head];
		s->news_head = (s->news_head + 1) % NEWS_MAX;
		s->news_count--;
	}
	if (s->news_count || s->trips_unseen)
		wake(s->event_fd);
	pthread_mutex_unlock(&s->lock);
	return k;
}

void
safety_set_devices(struct safety *s, const struct safety_devices *dev)
{
	struct safety_devices none;
	safety_devices_none(&none);
	ask(s, REQ_DEVICES, -1, dev ? dev : &none, NULL, 0);
}

void
safety_poke(struct safety *s)
{
	wake(s->wake_fd);
}

int
safety_energise(struct safety *s, int line, char *why, size_t len)
{
	if (line < 0 || (size_t)line >= s->cfg->n_lines || !s->cfg->lines[line].output) {
		snprintf(why, len, "%s is not an output", cfg_line_name(s->cfg, line));
		return -1;
	}
	return ask(s, REQ_ENERGISE, line, NULL, why, len);
}

void
safety_release(struct safety *s, int line)
{
	if (line >= 0 && (size_t)line < s->cfg->n_lines && s->cfg->lines[line].output)
		ask(s, REQ_RELEASE, line, NULL, NULL, 0);
}

enum il_reset_result
safety_reset(struct safety *s)
{
	int rc = ask(s, REQ_RESET, -1, NULL, NULL, 0);
	return rc < 0 ? IL_RESET_STILL_PRESSED : (enum il_reset_result)rc;
}

void
safety_snapshot(struct safety *s, struct safety_state *out)
{
	pthread_mutex_lock(&s->lock);
	*out = s->shown;
	pthread_mutex_unlock(&s->lock);
}
