/*
 * The simulator's Modbus buses: one thread per configured bus serves the
 * slaves on it, over RTU on a pty link paced at the bus's baud (with the
 * 3.5-character silence that ends a frame and the turnaround of a real
 * slave) or over TCP on loopback. Frames are built and checked here (CRC,
 * MBAP); the registers and physics are the device models' (sim_dev_*.c).
 * A slave stays silent for frames that are not its own or whose CRC is
 * wrong, as on a real RS-485 line. Fault injection works per device.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sim.h"
#include "sim_mbdev.h"

#define MAX_SLAVES 8
#define MAX_TCP_CLIENTS 8
#define ADU_MAX 260

struct tcp_client {
	int fd;
	uint8_t in[ADU_MAX];
	size_t in_len;
	uint8_t out[ADU_MAX];
	size_t out_len;
	double due;
};

struct mbbus {
	struct sim_device *dev;
	const struct cfg_bus *bus;
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	struct mbdev devs[MAX_SLAVES];
	size_t n_devs;
	bool plugged;
	/* RTU */
	struct sim_pty pty;
	char *link;
	struct sim_pace rx_pace, tx_pace;
	double char_time;
	uint8_t frame[ADU_MAX];
	size_t frame_len;
	double last_byte;
	uint8_t tx[ADU_MAX];
	size_t tx_len, tx_sent;
	double tx_due;
	/* TCP */
	int listen_fd;
	struct tcp_client clients[MAX_TCP_CLIENTS];
	size_t n_clients;
};

static uint16_t
crc16(const uint8_t *p, size_t n)
{
	uint16_t crc = 0xFFFF;
	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		for (int b = 0; b < 8; b++)
			crc = (crc & 1) ? (uint16_t)((crc >> 1) ^ 0xA001) : (uint16_t)(crc >> 1);
	}
	return crc;
}

static int
env_line(void *arg, const struct cfg_device *dev, enum cfg_role role)
{
	struct sim *sim = arg;
	return sim_station_line(sim, sim_station_of_device(sim_cfg(sim), dev->name), role);
}

static void
env_actuator(void *arg, const char *device, const char *actuator, const char *value)
{
	sim_actuator(arg, device, actuator, value);
}

static struct mbdev *
find_slave(struct mbbus *b, int slave)
{
	for (size_t i = 0; i < b->n_devs; i++)
		if (b->devs[i].cfg->slave == slave)
			return &b->devs[i];
	return NULL;
}

/*
 * Runs one request for a device, with the faults injected into it.
 * Returns the response PDU length, or 0 when the device stays silent.
 * *corrupt tells the framing to spoil the response's check.
 */
static size_t
serve(struct mbdev *d, const uint8_t *pdu, size_t len, uint8_t *resp, bool *corrupt, double *delay)
{
	*corrupt = false;
	*delay = d->slow;
	if (d->unplugged) {
		d->requests++;
		return 0;
	}
	if (d->silence > 0) {
		d->silence--;
		d->requests++;
		return 0;
	}
	if (d->exception_n > 0) {
		d->exception_n--;
		d->requests++;
		resp[0] = (uint8_t)((len ? pdu[0] : 0) | 0x80);
		resp[1] = (uint8_t)d->exception_code;
		return 2;
	}
	size_t n = mbdev_handle(d, pdu, len, resp);
	if (len >= 5 && (pdu[0] == 0x06 || pdu[0] == 0x10) && d->env.arg) {
		char ev[128];
		snprintf(ev, sizeof ev, "\"event\":\"modbus_write\",\"device\":\"%s\","
		    "\"address\":%u,\"value\":%u", d->cfg->name, (unsigned)(pdu[1] << 8 | pdu[2]),
		    pdu[0] == 0x06 ? (unsigned)(pdu[3] << 8 | pdu[4]) :
		    len >= 8 ? (unsigned)(pdu[6] << 8 | pdu[7]) : 0u);
		sim_event(d->env.arg, ev);
	}
	if (d->crc > 0) {
		d->crc--;
		*corrupt = true;
	}
	return n;
}

/* --- RTU ----------------------------------------------------------- */

/* Expected length of a request ADU from its first bytes, or 0 if unknown. */
static size_t
rtu_expected(const uint8_t *f, size_t n)
{
	if (n < 2)
		return 0;
	switch (f[1]) {
	case 0x01: case 0x02: case 0x03: case 0x04: case 0x05: case 0x06:
		return 8;
	case 0x0F: case 0x10:
		return n >= 7 ? 9 + (size_t)f[6] : 0;
	default:
		return 0;
	}
}

static void
rtu_frame(struct mbbus *b, double now)
{
	uint8_t resp[ADU_MAX];
	size_t n = b->frame_len;

	b->frame_len = 0;
	if (n < 4 || crc16(b->frame, n - 2) != (uint16_t)(b->frame[n - 2] | b->frame[n - 1] << 8))
		return;     /* a slave ignores a frame it cannot trust */
	int slave = b->frame[0];
	for (size_t i = 0; i < b->n_devs; i++) {
		struct mbdev *d = &b->devs[i];
		if (slave != 0 && d->cfg->slave != slave)
			continue;
		bool corrupt;
		double delay;
		size_t rl = serve(d, b->frame + 1, n - 3, resp + 1, &corrupt, &delay);
		if (slave == 0 || rl == 0)
			continue;       /* broadcasts are never answered */
		resp[0] = (uint8_t)slave;
		uint16_t crc = crc16(resp, rl + 1);
		if (corrupt)
			crc ^= 0x5A5A;
		resp[rl + 1] = (uint8_t)crc;
		resp[rl + 2] = (uint8_t)(crc >> 8);
		memcpy(b->tx, resp, rl + 3);
		b->tx_len = rl + 3;
		b->tx_sent = 0;
		b->tx_due = now + sim_cfg(b->dev->sim)->sim.turnaround + delay;
		return;
	}
}

static void
rtu_io(struct mbbus *b, double now)
{
	uint8_t tmp[ADU_MAX];

	if (!b->plugged)
		return;
	int waiting = 0;
	if (ioctl(b->pty.master, FIONREAD, &waiting) < 0 || waiting < 0)
		waiting = 0;
	size_t allowed = sim_pace_take(&b->rx_pace, now,
	    (size_t)waiting < sizeof tmp ? (size_t)waiting : sizeof tmp);
	ssize_t r = allowed ? read(b->pty.master, tmp, allowed) : 0;
	size_t got = r > 0 ? (size_t)r : 0;
	for (size_t i = 0; i < got; i++) {
		if (b->frame_len == ADU_MAX)
			b->frame_len = 0;       /* garbage longer than any frame */
		b->frame[b->frame_len++] = tmp[i];
	}
	if (got)
		b->last_byte = now;
	/* A frame ends with 3.5 characters of silence, as the RTU spec has
	 * a slave find it; its expected length only trims trailing bytes. */
	size_t want = rtu_expected(b->frame, b->frame_len);
	if (b->frame_len && now - b->last_byte >= 3.5 * b->char_time) {
		if (want && b->frame_len > want)
			b->frame_len = want;    /* trailing bytes start no frame of ours */
		rtu_frame(b, now);
	}
	if (b->tx_sent == b->tx_len || now < b->tx_due) {
		sim_pace_take(&b->tx_pace, now, 0);
	} else {
		size_t can = sim_pace_take(&b->tx_pace, now, b->tx_len - b->tx_sent);
		ssize_t w = can ? write(b->pty.master, b->tx + b->tx_sent, can) : 0;
		size_t sent = w > 0 ? (size_t)w : 0;
		b->tx_pace.credit += (double)(can - sent);
		b->tx_sent += sent;
	}
}

static int
rtu_plug(struct mbbus *b)
{
	if (sim_pty_open(&b->pty, b->link) < 0) {
		log_errno("bus %s: cannot create the pty link %s", b->bus->name, b->link);
		return -1;
	}
	int bits = 1 + b->bus->data_bits + (b->bus->parity != PARITY_NONE) + b->bus->stop_bits;
	sim_pace_init(&b->rx_pace, b->bus->baud, bits);
	sim_pace_init(&b->tx_pace, b->bus->baud, bits);
	b->char_time = (double)bits / b->bus->baud;
	b->frame_len = 0;
	b->tx_len = b->tx_sent = 0;
	b->plugged = true;
	return 0;
}

/* --- TCP ----------------------------------------------------------- */

static void
tcp_reset(int fd)
{
	/* Linger 0: close sends a reset, as a device that lost power would. */
	struct linger lg = { 1, 0 };
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	close(fd);
}

static int
tcp_plug(struct mbbus *b)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)b->bus->tcp_port) };
	int one = 1;
	if (inet_pton(AF_INET, b->bus->host ? b->bus->host : "127.0.0.1", &sa.sin_addr) != 1) {
		log_err("bus %s: host '%s' is not an IPv4 address", b->bus->name, b->bus->host);
		return -1;
	}
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 8) < 0) {
		log_errno("bus %s: cannot listen on %s:%d", b->bus->name, b->bus->host, b->bus->tcp_port);
		close(fd);
		return -1;
	}
	b->listen_fd = fd;
	b->plugged = true;
	return 0;
}

static void
tcp_drop(struct mbbus *b, size_t i, bool reset)
{
	if (reset)
		tcp_reset(b->clients[i].fd);
	else
		close(b->clients[i].fd);
	b->clients[i] = b->clients[--b->n_clients];
}

static void
tcp_request(struct mbbus *b, struct tcp_client *c, double now)
{
	size_t len = (size_t)(c->in[4] << 8 | c->in[5]);
	uint8_t unit = c->in[6];
	struct mbdev *d = find_slave(b, unit);
	/* Unit 0xFF (libmodbus's default) or 0 reaches the only device. */
	if (!d && (unit == 0xFF || unit == 0) && b->n_devs)
		d = &b->devs[0];
	if (!d)
		return;     /* a gateway with no such unit stays silent */
	bool corrupt;
	double delay;
	size_t rl = serve(d, c->in + 7, len - 1, c->out + 7, &corrupt, &delay);
	if (rl == 0)
		return;
	memcpy(c->out, c->in, 4);
	c->out[4] = (uint8_t)((rl + 1) >> 8);
	c->out[5] = (uint8_t)(rl + 1);
	c->out[6] = unit;
	if (corrupt)
		c->out[0] ^= 0xFF;      /* a garbled transaction id */
	c->out_len = rl + 7;
	c->due = now + sim_cfg(b->dev->sim)->sim.turnaround + delay;
}

static void
tcp_io(struct mbbus *b, double now)
{
	if (!b->plugged)
		return;
	int fd;
	while ((fd = accept4(b->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		if (b->n_clients == MAX_TCP_CLIENTS) {
			close(fd);
			continue;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		memset(&b->clients[b->n_clients], 0, sizeof b->clients[0]);
		b->clients[b->n_clients++].fd = fd;
	}
	for (size_t i = b->n_clients; i-- > 0;) {
		struct tcp_client *c = &b->clients[i];
		if (c->out_len && now >= c->due) {
			ssize_t w = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);
			if (w < 0 && errno != EAGAIN) {
				tcp_drop(b, i, false);
				continue;
			}
			c->out_len = 0;
		}
		if (c->out_len)
			continue;       /* one request at a time per connection */
		ssize_t r = recv(c->fd, c->in + c->in_len, sizeof c->in - c->in_len, 0);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
			tcp_drop(b, i, false);
			continue;
		}
		if (r > 0)
			c->in_len += (size_t)r;
		if (c->in_len < 7)
			continue;
		size_t len = (size_t)(c->in[4] << 8 | c->in[5]);
		if (c->in[2] || c->in[3] || len < 2 || len > 254) {
			tcp_drop(b, i, true);   /* not Modbus: hang up */
			continue;
		}
		if (c->in_len < 6 + len)
			continue;
		tcp_request(b, c, now);
		memmove(c->in, c->in + 6 + len, c->in_len - 6 - len);
		c->in_len -= 6 + len;
	}
}

static void
unplug(struct mbbus *b)
{
	if (!b->plugged)
		return;
	if (b->bus->transport == TRANSPORT_RTU) {
		sim_pty_close(&b->pty);
	} else {
		while (b->n_clients)
			tcp_drop(b, b->n_clients - 1, true);
		close(b->listen_fd);
		b->listen_fd = -1;
	}
	b->plugged = false;
}

static int
plug(struct mbbus *b)
{
	if (b->plugged)
		return 0;
	return b->bus->transport == TRANSPORT_RTU ? rtu_plug(b) : tcp_plug(b);
}

static void *
bus_thread(void *arg)
{
	struct mbbus *b = arg;
	while (!sim_stopping(b->dev->sim)) {
		pthread_mutex_lock(&b->lock);
		double now = now_mono();
		if (b->bus->transport == TRANSPORT_RTU)
			rtu_io(b, now);
		else
			tcp_io(b, now);
		for (size_t i = 0; i < b->n_devs; i++)
			mbdev_step(&b->devs[i], now);
		pthread_mutex_unlock(&b->lock);
		struct timespec ts = { 0, 500000 };
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static int
bus_start(struct sim_device *dev)
{
	const struct cfg *cfg = sim_cfg(dev->sim);
	struct mbbus *b = xcalloc(1, sizeof *b);
	struct mbdev_env env = { cfg, env_line, env_actuator, dev->sim };

	dev->priv = b;
	b->dev = dev;
	b->bus = dev->bus;
	b->listen_fd = -1;
	b->pty.master = b->pty.keep_slave = -1;
	pthread_mutex_init(&b->lock, NULL);
	for (size_t i = 0; i < cfg->n_devices; i++) {
		const struct cfg_device *cd = &cfg->devices[i];
		if (strcmp(cd->bus, b->bus->name) != 0)
			continue;
		const struct mbdev_ops *ops = mbdev_model(cd->profile);
		if (!ops) {
			log_err("bus %s: no simulated device for profile '%s' (device %s)",
			    b->bus->name, cd->profile, cd->name);
			return -1;
		}
		if (b->n_devs == MAX_SLAVES) {
			log_err("bus %s: more than %d devices", b->bus->name, MAX_SLAVES);
			return -1;
		}
		mbdev_init(&b->devs[b->n_devs++], ops, cd, &env, now_mono());
	}
	if (b->bus->transport == TRANSPORT_RTU)
		b->link = sim_path(dev->sim, b->bus->port);
	if (plug(b) < 0)
		return -1;
	if (pthread_create(&b->thread, NULL, bus_thread, b) != 0)
		return -1;
	b->started = true;
	return 0;
}

static void
bus_stop(struct sim_device *dev)
{
	struct mbbus *b = dev->priv;
	if (!b)
		return;
	if (b->started)
		pthread_join(b->thread, NULL);
	unplug(b);
	for (size_t i = 0; i < b->n_devs; i++)
		mbdev_free(&b->devs[i]);
	free(b->pty.link);
	free(b->link);
	pthread_mutex_destroy(&b->lock);
	free(b);
	dev->priv = NULL;
}

static int
count_arg(int argc, char **argv, int i, int def, int lo, int hi, int *out, struct buf *msg)
{
	if (argc <= i) {
		*out = def;
		return def >= lo ? 0 : -1;
	}
	char *end;
	long v = strtol(argv[i], &end, 10);
	if (*end || v < lo || v > hi) {
		buf_printf(msg, "'%s' must be a whole number from %d to %d", argv[i], lo, hi);
		return -1;
	}
	*out = (int)v;
	return 0;
}

static int
bus_ctl(struct sim_device *dev, int argc, char **argv, struct buf *out)
{
	struct mbbus *b = dev->priv;
	const char *cmd = argv[0], *target = argv[1];
	struct mbdev *only = NULL;
	int rc = 0, n = 0, code = 0;

	pthread_mutex_lock(&b->lock);
	for (size_t i = 0; i < b->n_devs; i++)
		if (strcmp(b->devs[i].cfg->name, target) == 0)
			only = &b->devs[i];
	/* A command for the bus applies to each of its devices. */
	size_t first = only ? (size_t)(only - b->devs) : 0;
	size_t last = only ? first + 1 : b->n_devs;

	if (strcmp(cmd, "unplug") == 0 && only && b->n_devs > 1) {
		/* One device off a line it shares: the others still answer. */
		only->unplugged = true;
		buf_printf(out, "%s unplugged from bus %s", target, b->bus->name);
	} else if (strcmp(cmd, "replug") == 0 && only && b->n_devs > 1) {
		only->unplugged = false;
		buf_printf(out, "%s plugged into bus %s", target, b->bus->name);
	} else if (strcmp(cmd, "unplug") == 0) {
		unplug(b);
		buf_printf(out, "bus %s unplugged", b->bus->name);
	} else if (strcmp(cmd, "replug") == 0) {
		rc = plug(b);
		buf_printf(out, rc == 0 ? "bus %s plugged in" : "bus %s cannot be plugged in",
		    b->bus->name);
	} else if (strcmp(cmd, "silence") == 0) {
		if ((rc = count_arg(argc, argv, 2, 1, 1, 100000, &n, out)) == 0) {
			for (size_t i = first; i < last; i++)
				b->devs[i].silence = n;
			buf_printf(out, "%s silent for %d requests", target, n);
		}
	} else if (strcmp(cmd, "exception") == 0) {
		if ((rc = count_arg(argc, argv, 2, 0, 1, 11, &code, out)) == 0 &&
		    (rc = count_arg(argc, argv, 3, 1, 1, 100000, &n, out)) == 0) {
			for (size_t i = first; i < last; i++) {
				b->devs[i].exception_code = code;
				b->devs[i].exception_n = n;
			}
			buf_printf(out, "%s answers exception %d to %d requests", target, code, n);
		} else if (!out->len) {
			buf_printf(out, "usage: exception TARGET CODE [N]");
		}
	} else if (strcmp(cmd, "crc") == 0) {
		if ((rc = count_arg(argc, argv, 2, 1, 1, 100000, &n, out)) == 0) {
			for (size_t i = first; i < last; i++)
				b->devs[i].crc = n;
			buf_printf(out, "%s corrupts %d responses", target, n);
		}
	} else if (strcmp(cmd, "slow") == 0 && argc == 3) {
		double s = atof(argv[2]);
		if (s < 0 || s > 10) {
			buf_printf(out, "slow takes seconds from 0 to 10");
			rc = -1;
		} else {
			for (size_t i = first; i < last; i++)
				b->devs[i].slow = s;
			buf_printf(out, "%s answers %g s late", target, s);
		}
	} else if (strcmp(cmd, "reboot") == 0 || strcmp(cmd, "runaway") == 0) {
		for (size_t i = first; i < last; i++) {
			if (cmd[1] == 'e')
				b->devs[i].ops->reboot(&b->devs[i]);
			else
				b->devs[i].ops->runaway(&b->devs[i]);
		}
		buf_printf(out, "%s: %s", target, cmd[1] == 'e' ? "rebooted" : "heater runaway");
	} else if (strcmp(cmd, "regs") == 0 || strcmp(cmd, "status") == 0) {
		buf_printf(out, "{");
		for (size_t i = first; i < last; i++) {
			buf_printf(out, "%s\"%s\":", i > first ? "," : "", b->devs[i].cfg->name);
			b->devs[i].ops->describe(&b->devs[i], out);
		}
		buf_printf(out, "}");
	} else if (strcmp(cmd, "calwrites") == 0) {
		unsigned long total = 0;
		for (size_t i = first; i < last; i++)
			total += b->devs[i].cal_writes;
		buf_printf(out, "%lu", total);
	} else if (strcmp(cmd, "writes") == 0) {
		unsigned long total = 0;
		for (size_t i = first; i < last; i++)
			total += b->devs[i].writes;
		buf_printf(out, "%lu", total);
	} else if (strcmp(cmd, "requests") == 0) {
		unsigned long total = 0;
		for (size_t i = first; i < last; i++)
			total += b->devs[i].requests;
		buf_printf(out, "%lu", total);
	} else if (only && only->ops->ctl && (rc = only->ops->ctl(only, argc, argv, out)) != 1) {
		/* the model's own command (calibration errors, water, load) */
	} else {
		buf_reset(out);
		buf_printf(out, "Modbus commands: unplug T, replug T, silence T [N], exception T CODE "
		    "[N], crc T [N], slow T S, reboot T, runaway T, regs T, status T, calwrites T, "
		    "writes T, requests T; tank: water T C, load T GRAMS, error T GAIN OFFSET; "
		    "rectifier: error T voltage|current GAIN OFFSET, open T, close T; bath heater: "
		    "water T C");
		rc = -1;
	}
	pthread_mutex_unlock(&b->lock);
	return rc;
}

const struct sim_device_ops sim_modbus_ops = { "modbus bus", bus_start, bus_stop, bus_ctl };
