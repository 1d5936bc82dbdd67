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
	enum cfg_line_id req_line;
	struct safety_devices req_dev;
	bool req_done;
	int req_rc;
	char req_why[200];
	unsigned trips_unseen;
	unsigned char laser_byte_unseen;
	struct safety_event news[NEWS_MAX];
	size_t news_head, news_count;
	struct safety_state shown;

	/* Owned by the safety thread. */
	struct gpio *gpio;
	struct interlock il;
	struct safety_devices dev;
	unsigned char laser_owed;   /* a stop byte the port did not take yet */
	double next_tick;
	bool realtime;
};

enum il_actuator
safety_output_actuator(enum cfg_line_id line)
{
	switch (line) {
	case LINE_ULTRASOUND_ENABLE: return IL_ULTRASOUND;
	case LINE_HEATER_ENABLE: return IL_TANK_HEATER;
	case LINE_RECTIFIER_ENABLE: return IL_RECTIFIER;
	case LINE_BATH_HEATER_ENABLE: return IL_BATH_HEATER;
	default: return IL_LASER;       /* the laser's relay and the beacon */
	}
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
	for (int l = 0; l < LINE_COUNT; l++)
		s->shown.lines[l] = s->gpio ? gpio_get(s->gpio, (enum cfg_line_id)l) : -1;
	s->shown.realtime = s->realtime;
	pthread_mutex_unlock(&s->lock);
}

/* --- the reaction ----------------------------------------------------- */

static void
relay_off(struct safety *s, enum cfg_line_id line)
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
laser_stop(struct safety *s, unsigned char byte)
{
	/* A reset outranks a door byte owed from before. */
	if (s->laser_owed != GRBL_RT_RESET)
		s->laser_owed = byte;
	if (s->dev.laser && grbl_stopline_send(s->dev.laser, s->laser_owed) == 0)
		s->laser_owed = 0;
	else if (!s->dev.laser)
		s->laser_owed = 0;      /* no laser, nothing to stop */
}

static void
read_inputs(struct safety *s, struct il_inputs *in)
{
	memset(in, 0, sizeof *in);
	bool known = s->gpio && gpio_link_up(s->gpio);
	for (int i = 0; i < LINE_FIRST_OUTPUT && known; i++)
		if (gpio_get(s->gpio, (enum cfg_line_id)i) < 0)
			known = false;
	/* Inputs not yet read count as a lost GPIO link, which forbids
	 * everything without latching an e-stop nobody pressed. */
	in->link_ok[IL_LINK_GPIO] = known;
	if (known) {
		in->estop_pressed = gpio_get(s->gpio, LINE_ESTOP) == 1;
		in->laser_door_open = gpio_get(s->gpio, LINE_LASER_DOOR) == 1;
		in->tank_lid_open = gpio_get(s->gpio, LINE_TANK_LID) == 1;
		in->fume_ok = gpio_get(s->gpio, LINE_FUME_OK) == 1;
	}
	const struct safety_devices *d = &s->dev;
	in->link_ok[IL_LINK_LASER] = d->laser && grbl_stopline_ready(d->laser);
	in->link_ok[IL_LINK_TANK] = d->tank_bus && d->tank_dev >= 0 &&
	    mb_bus_device_up(d->tank_bus, d->tank_dev);
	in->link_ok[IL_LINK_RECTIFIER] = d->rect_bus && d->rect_dev >= 0 &&
	    mb_bus_device_up(d->rect_bus, d->rect_dev);
	in->link_ok[IL_LINK_BATH_HEATER] = d->heater_bus && d->heater_dev >= 0 &&
	    mb_bus_device_up(d->heater_bus, d->heater_dev);
}

static void
react(struct safety *s, unsigned tripped)
{
	const struct il_inputs *in = &s->il.in;
	const unsigned tank = (1u << IL_ULTRASOUND) | (1u << IL_TANK_HEATER);
	if (tripped & (1u << IL_LASER)) {
		relay_off(s, LINE_LASER_ENABLE);
		relay_off(s, LINE_BEACON);
	}
	if (tripped & tank) {
		relay_off(s, LINE_ULTRASOUND_ENABLE);
		relay_off(s, LINE_HEATER_ENABLE);
	}
	if (tripped & (1u << IL_RECTIFIER))
		relay_off(s, LINE_RECTIFIER_ENABLE);
	if (tripped & (1u << IL_BATH_HEATER))
		relay_off(s, LINE_BATH_HEATER_ENABLE);
	unsigned char byte = 0;
	if (tripped & (1u << IL_LASER)) {
		/* The door byte holds the machine and keeps its position; the
		 * e-stop and a lost link reset it outright. */
		bool door_like = !in->estop_pressed && !s->il.latched && in->link_ok[IL_LINK_GPIO] &&
		    (in->laser_door_open || !in->fume_ok);
		byte = door_like ? GRBL_RT_DOOR : GRBL_RT_RESET;
		laser_stop(s, byte);
	}
	if (tripped & tank)
		modbus_safe(s->dev.tank_bus, s->dev.tank_dev);
	if (tripped & (1u << IL_RECTIFIER))
		modbus_safe(s->dev.rect_bus, s->dev.rect_dev);
	if (tripped & (1u << IL_BATH_HEATER))
		modbus_safe(s->dev.heater_bus, s->dev.heater_dev);
	pthread_mutex_lock(&s->lock);
	s->trips_unseen |= tripped;
	if (byte == GRBL_RT_RESET || !s->laser_byte_unseen)
		s->laser_byte_unseen = byte ? byte : s->laser_byte_unseen;
	wake(s->event_fd);
	pthread_mutex_unlock(&s->lock);
}

static void
evaluate(struct safety *s)
{
	struct il_inputs in;
	read_inputs(s, &in);
	unsigned tripped = interlock_update(&s->il, &in);
	if (tripped)
		react(s, tripped);
	/* Defence in depth: nothing stays energised that is not permitted. */
	for (int l = LINE_FIRST_OUTPUT; s->gpio && l < LINE_COUNT; l++)
		if (gpio_get(s->gpio, (enum cfg_line_id)l) == 1 &&
		    !interlock_permits(&s->il, safety_output_actuator((enum cfg_line_id)l)))
			relay_off(s, (enum cfg_line_id)l);
	if (s->laser_owed)
		laser_stop(s, s->laser_owed);
}

/* --- GPIO callbacks (safety thread) ------------------------------------ */

static void
on_input(enum cfg_line_id line, int value, void *arg)
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
	enum cfg_line_id line = s->req_line;
	struct safety_devices dev = s->req_dev;
	pthread_mutex_unlock(&s->lock);

	int rc = 0;
	char why[200] = "";
	switch (req) {
	case REQ_ENERGISE: {
		const char *no = interlock_reason(&s->il, safety_output_actuator(line));
		if (no) {
			snprintf(why, sizeof why, "%s", no);
			rc = -1;
		} else if (!s->gpio || gpio_set(s->gpio, line, 1) < 0) {
			snprintf(why, sizeof why, "the %s relay cannot be switched", cfg_line_name(line));
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
		struct pollfd pfd[LINE_COUNT + 1];
		pfd[0] = (struct pollfd){ .fd = s->wake_fd, .events = POLLIN };
		int n = 1 + gpio_pollfds(s->gpio, &pfd[1], LINE_COUNT);
		double now = now_mono(), until = s->next_tick;
		double g = gpio_next_deadline(s->gpio);
		if (g > 0 && g < until)
			until = g;
		if (s->laser_owed && now + 0.005 < until)
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
	s->dev = (struct safety_devices){ NULL, NULL, -1, NULL, -1, NULL, -1 };
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
	interlock_init(&s->il);
	for (int l = 0; l < LINE_COUNT; l++)
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
ask(struct safety *s, enum req_type req, enum cfg_line_id line, const struct safety_devices *dev,
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
		ask(s, REQ_STOP, LINE_ESTOP, NULL, NULL, 0);
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
		out[k++] = (struct safety_event){ .type = SAFETY_EV_TRIP, .tripped = s->trips_unseen,
			.laser_byte = s->laser_byte_unseen };
		s->trips_unseen = 0;
		s->laser_byte_unseen = 0;
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
	struct safety_devices none = { NULL, NULL, -1, NULL, -1, NULL, -1 };
	ask(s, REQ_DEVICES, LINE_ESTOP, dev ? dev : &none, NULL, 0);
}

void
safety_poke(struct safety *s)
{
	wake(s->wake_fd);
}

int
safety_energise(struct safety *s, enum cfg_line_id line, char *why, size_t len)
{
	if (line < LINE_FIRST_OUTPUT || line >= LINE_COUNT) {
		snprintf(why, len, "%s is not an output", cfg_line_name(line));
		return -1;
	}
	return ask(s, REQ_ENERGISE, line, NULL, why, len);
}

void
safety_release(struct safety *s, enum cfg_line_id line)
{
	if (line >= LINE_FIRST_OUTPUT && line < LINE_COUNT)
		ask(s, REQ_RELEASE, line, NULL, NULL, 0);
}

enum il_reset_result
safety_reset(struct safety *s)
{
	int rc = ask(s, REQ_RESET, LINE_ESTOP, NULL, NULL, 0);
	return rc < 0 ? IL_RESET_STILL_PRESSED : (enum il_reset_result)rc;
}

void
safety_snapshot(struct safety *s, struct safety_state *out)
{
	pthread_mutex_lock(&s->lock);
	*out = s->shown;
	pthread_mutex_unlock(&s->lock);
}
