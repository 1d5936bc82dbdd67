/*
 * The simulator's main thread: it creates the run directory's content,
 * starts one thread per device, and serves two Unix sockets from a poll
 * loop: DIR/gpio.sock, where the daemon reads inputs and drives outputs as
 * it would on a kernel GPIO chip, and DIR/ctl.sock, where tests inject
 * faults and inspect the devices. SIGTERM or SIGINT end the loop; the
 * simulator then stops its devices and removes what it created.
 *
 * GPIO protocol (ASCII lines, physical levels 0/1):
 *   get NAME      -> value NAME L
 *   set NAME L    -> ok                  (outputs only)
 *   watch         -> ok, then "event NAME L" now and on every input change
 *   list          -> "line NAME in|out L" for each line, then "end"
 *   anything else -> error <sentence>
 * Outputs set by a client are released to their inactive level when its
 * connection closes: the relay board drops a released line, as the
 * daemon's own release on exit would.
 *
 * ctl protocol: one command line per connection, one reply, then close.
 * The reply starts with "ok" or "error".
 */
#include "sim_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static void
client_send(struct sim_client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
client_send(struct sim_client *c, const char *fmt, ...)
{
	char line[SIM_LINE_MAX];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof line)
		n = sizeof line - 1;
	/* A client that stops reading is cut off rather than allowed to make
	 * the simulator buffer without bound. */
	if (c->out.len > 65536) {
		shutdown(c->fd, SHUT_RDWR);
		return;
	}
	buf_append(&c->out, line, (size_t)n);
	buf_append(&c->out, "\n", 1);
}

void
sim_gpio_notify(struct sim *sim, int id)
{
	int level = sim_line_physical(sim, id, sim_line_get(sim, id));
	for (size_t i = 0; i < sim->n_clients; i++) {
		struct sim_client *c = &sim->clients[i];
		if (c->gpio && c->watching)
			client_send(c, "event %s %d", cfg_line_name(sim->cfg, id), level);
	}
}

static void
output_set(struct sim *sim, int id, int logical)
{
	if (sim_line_store(sim, id, logical))
		sim_actuator(sim, "gpio", cfg_line_name(sim->cfg, id), logical ? "1" : "0");
}

static bool
is_output(const struct sim *sim, int id)
{
	return sim->cfg->lines[id].output;
}

static int
split_words(char *line, char **argv, int max)
{
	int argc = 0;
	for (char *tok = strtok(line, " \t\r"); tok && argc < max;
	    tok = strtok(NULL, " \t\r"))
		argv[argc++] = tok;
	return argc;
}

static void
gpio_command(struct sim *sim, struct sim_client *c, char *line)
{
	char *argv[4];
	int argc = split_words(line, argv, 4);
	int id, n = (int)sim->cfg->n_lines;

	if (argc == 0)
		return;
	if (strcmp(argv[0], "watch") == 0 && argc == 1) {
		c->watching = true;
		client_send(c, "ok");
		for (id = 0; id < n; id++)
			if (!is_output(sim, id))
				client_send(c, "event %s %d", cfg_line_name(sim->cfg, id),
				    sim_line_physical(sim, id, sim_line_get(sim, id)));
	} else if (strcmp(argv[0], "list") == 0 && argc == 1) {
		for (id = 0; id < n; id++)
			client_send(c, "line %s %s %d", cfg_line_name(sim->cfg, id),
			    is_output(sim, id) ? "out" : "in",
			    sim_line_physical(sim, id, sim_line_get(sim, id)));
		client_send(c, "end");
	} else if (strcmp(argv[0], "get") == 0 && argc == 2) {
		if ((id = cfg_line_lookup(sim->cfg, argv[1])) < 0)
			client_send(c, "error no line named '%.64s'", argv[1]);
		else
			client_send(c, "value %s %d", argv[1],
			    sim_line_physical(sim, id, sim_line_get(sim, id)));
	} else if (strcmp(argv[0], "set") == 0 && argc == 3) {
		if ((id = cfg_line_lookup(sim->cfg, argv[1])) < 0)
			client_send(c, "error no line named '%.64s'", argv[1]);
		else if (!is_output(sim, id))
			client_send(c, "error line '%s' is an input", argv[1]);
		else if (strcmp(argv[2], "0") != 0 && strcmp(argv[2], "1") != 0)
			client_send(c, "error level must be 0 or 1, not '%.16s'", argv[2]);
		else {
			int physical = argv[2][0] == '1';
			int logical = sim->cfg->lines[id].gl->active_low ? !physical : physical;
			output_set(sim, id, logical);
			if (logical)
				c->owned |= (uint64_t)1 << id;
			else
				c->owned &= ~((uint64_t)1 << id);
			client_send(c, "ok");
		}
	} else {
		client_send(c, "error unknown request '%.64s'", argv[0]);
	}
}

/* The simulated device a ctl target means: a laser station, a bus, a
 * Modbus device (its bus), or a tank or bath station (its generator or
 * rectifier, on their bus). */
static struct sim_device *
device_for_target(struct sim *sim, const char *target)
{
	const char *bus = target;
	const struct cfg_device *d = cfg_device_find(sim->cfg, target);
	const struct cfg_station *st = cfg_station_find(sim->cfg, target);

	if (!d && st && st->kind != KIND_LASER)
		d = cfg_device_find(sim->cfg, st->kind == KIND_TANK ? st->device : st->rectifier);
	if (d)
		bus = d->bus;
	for (size_t i = 0; i < sim->n_devices; i++)
		if (strcmp(sim->devices[i].name, bus) == 0)
			return &sim->devices[i];
	return NULL;
}

/* The inputs a person works at the bench: the workshop's e-stop, a
 * laser's door, a tank's lid, and the fume extraction, the workshop's or
 * a station's own. A station's input names the station unless the
 * workshop has one station with that line. */
static const struct {
	const char *cmd;
	enum cfg_role role;
	bool station;           /* a station's line (else the workshop's) */
	const char *active, *inactive;
} input_commands[] = {
	{ "estop", ROLE_ESTOP, false, "press", "release" },
	{ "door", ROLE_DOOR, true, "open", "close" },
	{ "lid", ROLE_LID, true, "open", "close" },
	{ "fume", ROLE_FUME_OK, false, "ok", "fault" },
};

static const char ctl_help[] =
    "ok commands: estop press|release; door [LASER] open|close; lid [TANK] open|close; "
    "fume [STATION] ok|fault; line NAME 0|1; get NAME; lines; devices; "
    "COMMAND TARGET [ARGS] for a device (TARGET a laser station, a bus, a device, or "
    "a tank or bath station): unplug, replug, alarm N, silence N, exception CODE [N], "
    "crc N, slow S, reboot, runaway, status, regs, calwrites, writes, overruns";

/* The line an input command means; -1 with out set when there is none. */
static int
input_line(struct sim *sim, size_t cmd, const char *station, struct buf *out)
{
	const struct cfg *cfg = sim->cfg;
	enum cfg_role role = input_commands[cmd].role;
	if (station) {
		const struct cfg_station *st = cfg_station_find(cfg, station);
		if (!st || st->line[role] < 0) {
			buf_printf(out, "error no station named '%.64s' has a %s line", station,
			    input_commands[cmd].cmd);
			return -1;
		}
		return st->line[role];
	}
	if (!input_commands[cmd].station) {
		for (size_t i = 0; i < cfg->n_lines; i++)
			if (cfg->lines[i].station < 0 && cfg->lines[i].role == role)
				return (int)i;
	}
	int found = -1, n = 0;
	for (size_t i = 0; i < cfg->n_lines; i++)
		if (cfg->lines[i].station >= 0 && cfg->lines[i].role == role) {
			found = (int)i;
			n++;
		}
	if (n == 1)
		return found;
	buf_printf(out, "error %s: name the station (%s)", input_commands[cmd].cmd, n ?
	    "several have this line" : "none has this line");
	return -1;
}

/* Runs one ctl command; the reply goes into out. */
static void
ctl_command(struct sim *sim, char *line, struct buf *out)
{
	char *argv[16];
	int argc = split_words(line, argv, 16);
	int id;

	if (argc == 0 || strcmp(argv[0], "help") == 0) {
		buf_printf(out, "%s", ctl_help);
		return;
	}
	for (size_t i = 0; i < ARRAY_LEN(input_commands); i++) {
		if (strcmp(argv[0], input_commands[i].cmd) != 0)
			continue;
		const char *level = argv[argc - 1];
		bool on = argc >= 2 && strcmp(level, input_commands[i].active) == 0;
		if ((argc != 2 && argc != 3) || (!on && strcmp(level, input_commands[i].inactive))) {
			buf_printf(out, "error usage: %s %s%s|%s", argv[0], input_commands[i].role ==
			    ROLE_ESTOP ? "" : "[STATION] ", input_commands[i].active,
			    input_commands[i].inactive);
			return;
		}
		if ((id = input_line(sim, i, argc == 3 ? argv[1] : NULL, out)) < 0)
			return;
		sim_line_set(sim, id, on);
		buf_printf(out, "ok %s %s", cfg_line_name(sim->cfg, id), level);
		return;
	}
	if (strcmp(argv[0], "line") == 0 || strcmp(argv[0], "get") == 0) {
		int want = strcmp(argv[0], "line") == 0 ? 3 : 2;
		if (argc != want || (id = cfg_line_lookup(sim->cfg, argv[1])) < 0) {
			buf_printf(out, "error usage: line NAME 0|1, get NAME (a line of the bench)");
			return;
		}
		if (want == 3) {
			if (is_output(sim, id)) {
				buf_printf(out, "error line '%s' is an output; the daemon drives it", argv[1]);
				return;
			}
			sim_line_set(sim, id, atoi(argv[2]) != 0);
		}
		buf_printf(out, "ok %s %d", argv[1], sim_line_get(sim, id));
		return;
	}
	if (strcmp(argv[0], "lines") == 0) {
		buf_printf(out, "ok {");
		for (id = 0; id < (int)sim->cfg->n_lines; id++)
			buf_printf(out, "%s\"%s\":%d", id ? "," : "", cfg_line_name(sim->cfg, id),
			    sim_line_get(sim, id));
		buf_printf(out, "}");
		return;
	}
	if (strcmp(argv[0], "devices") == 0) {
		buf_printf(out, "ok");
		for (size_t i = 0; i < sim->n_devices; i++)
			buf_printf(out, " %s", sim->devices[i].name);
		return;
	}
	if (argc < 2) {
		buf_printf(out, "error '%s' needs a target: a station, a bus or a device", argv[0]);
		return;
	}
	struct sim_device *dev = device_for_target(sim, argv[1]);
	/* A tank or a bath named by its station: its generator or rectifier. */
	const struct cfg_station *st = cfg_station_find(sim->cfg, argv[1]);
	if (st && st->kind == KIND_TANK && st->device)
		argv[1] = st->device;
	else if (st && st->kind == KIND_BATH && st->rectifier)
		argv[1] = st->rectifier;
	if (!dev) {
		buf_printf(out, "error no device or bus named '%.64s'", argv[1]);
		return;
	}
	struct buf reply;
	buf_init(&reply);
	int rc = dev->ops->ctl(dev, argc, argv, &reply);
	buf_printf(out, "%s%s%s", rc == 0 ? "ok" : "error", reply.len ? " " : "",
	    reply.len ? reply.data : "");
	buf_free(&reply);
}

static void
client_close(struct sim *sim, size_t i)
{
	struct sim_client *c = &sim->clients[i];

	close(c->fd);
	for (int id = 0; id < (int)sim->cfg->n_lines; id++)
		if (c->owned & ((uint64_t)1 << id))
			output_set(sim, id, 0);
	buf_free(&c->in);
	buf_free(&c->out);
	sim->clients[i] = sim->clients[--sim->n_clients];
}

static void
client_accept(struct sim *sim, int lfd, bool gpio)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (sim->n_clients == SIM_MAX_CLIENTS) {
		close(fd);
		return;
	}
	struct sim_client *c = &sim->clients[sim->n_clients++];
	memset(c, 0, sizeof *c);
	c->fd = fd;
	c->gpio = gpio;
	buf_init(&c->in);
	buf_init(&c->out);
}

/* Returns -1 when the client must be closed. */
static int
client_read(struct sim *sim, struct sim_client *c)
{
	char tmp[1024];
	ssize_t n = read(c->fd, tmp, sizeof tmp);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		return -1;
	if (n < 0)
		return 0;
	buf_append(&c->in, tmp, (size_t)n);
	char *nl;
	while ((nl = memchr(c->in.data, '\n', c->in.len)) != NULL) {
		*nl = '\0';
		size_t used = (size_t)(nl - c->in.data) + 1;
		if (c->gpio) {
			gpio_command(sim, c, c->in.data);
		} else {
			struct buf reply;
			buf_init(&reply);
			ctl_command(sim, c->in.data, &reply);
			buf_append(&c->out, reply.data, reply.len);
			buf_append(&c->out, "\n", 1);
			buf_free(&reply);
			buf_reset(&c->in);
			c->done = true;
			return 0;
		}
		buf_consume(&c->in, used);
	}
	if (c->in.len > SIM_LINE_MAX) {
		client_send(c, "error line longer than %d bytes", SIM_LINE_MAX);
		buf_reset(&c->in);
	}
	return 0;
}

static int
client_flush(struct sim_client *c)
{
	while (c->out.len) {
		ssize_t n = write(c->fd, c->out.data, c->out.len);
		if (n < 0)
			return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
		buf_consume(&c->out, (size_t)n);
	}
	return 0;
}

int
sim_start(struct sim *sim, const struct cfg *cfg, const char *run_dir, const char *laser_socket)
{
	memset(sim, 0, sizeof *sim);
	sim->cfg = cfg;
	sim->run_dir = xstrdup(run_dir);
	sim->laser_socket = laser_socket ? xstrdup(laser_socket) : NULL;
	sim->log_fd = sim->events_fd = sim->gpio_listen = sim->ctl_listen = -1;
	pthread_mutex_init(&sim->lines_lock, NULL);
	pthread_mutex_init(&sim->log_lock, NULL);
	/* Inputs start in the healthy state: e-stop released, doors and lids
	 * closed, fume extraction running. */
	for (size_t i = 0; i < cfg->n_lines; i++)
		sim->lines[i] = cfg->lines[i].role == ROLE_FUME_OK;

	if (mkdir(run_dir, 0755) < 0 && errno != EEXIST) {
		log_errno("cannot create run directory %s", run_dir);
		return -1;
	}
	char *logp = sim_path(sim, "actuators.log");
	sim->log_fd = open(logp, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	if (sim->log_fd < 0) {
		log_errno("cannot create %s", logp);
		free(logp);
		return -1;
	}
	free(logp);
	logp = sim_path(sim, "events.log");
	sim->events_fd = open(logp, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	free(logp);

	/* A device per laser station, and one per Modbus bus with its slaves. */
	size_t n_lasers = (size_t)cfg_stations_of_kind(cfg, KIND_LASER), n = 0;
	sim->devices = xcalloc(n_lasers + cfg->n_buses, sizeof *sim->devices);
	for (size_t i = 0; i < cfg->n_stations; i++)
		if (cfg->stations[i].kind == KIND_LASER)
			sim->devices[n++] = (struct sim_device){ &sim_laser_ops, sim,
				xstrdup(cfg->stations[i].name), NULL, (int)i, NULL };
	for (size_t i = 0; i < cfg->n_buses; i++)
		sim->devices[n++] = (struct sim_device){ &sim_modbus_ops, sim,
			xstrdup(cfg->buses[i].name), &cfg->buses[i], -1, NULL };
	for (size_t i = 0; i < n; i++) {
		if (sim->devices[i].ops->start(&sim->devices[i]) < 0) {
			log_err("cannot start the simulated %s '%s'",
			    sim->devices[i].ops->kind, sim->devices[i].name);
			sim->n_devices = i;
			sim_stop(sim);
			return -1;
		}
		sim->n_devices = i + 1;
	}

	sim->gpio_path = sim_path(sim, cfg->gpio.socket ? cfg->gpio.socket : "gpio.sock");
	sim->ctl_path = sim_path(sim, "ctl.sock");
	if ((sim->gpio_listen = unix_listen(sim->gpio_path, 16)) < 0) {
		log_errno("cannot listen on %s", sim->gpio_path);
		sim_stop(sim);
		return -1;
	}
	/* ctl.sock comes last: its appearance tells a test that every device
	 * link already exists. */
	if ((sim->ctl_listen = unix_listen(sim->ctl_path, 16)) < 0) {
		log_errno("cannot listen on %s", sim->ctl_path);
		sim_stop(sim);
		return -1;
	}
	return 0;
}

int
sim_run(struct sim *sim)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	int sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0) {
		log_errno("signalfd");
		return -1;
	}
	log_info("simulating the bench in %s", sim->run_dir);
	for (;;) {
		struct pollfd pfd[3 + SIM_MAX_CLIENTS];
		size_t n = 0;
		pfd[n++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = sim->gpio_listen, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = sim->ctl_listen, .events = POLLIN };
		for (size_t i = 0; i < sim->n_clients; i++)
			pfd[n++] = (struct pollfd){ .fd = sim->clients[i].fd,
				.events = POLLIN | (sim->clients[i].out.len ? POLLOUT : 0) };
		if (poll(pfd, n, 1000) < 0) {
			if (errno == EINTR)
				continue;
			log_errno("poll");
			close(sfd);
			return -1;
		}
		if (pfd[0].revents) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof si) == sizeof si) {
				log_info("signal %u: stopping", si.ssi_signo);
				break;
			}
		}
		/* Clients first: indexes in pfd match the client table only
		 * until a new client is accepted or one is closed. */
		size_t nc = sim->n_clients;
		for (size_t k = nc; k-- > 0;) {
			short re = pfd[3 + k].revents;
			struct sim_client *c = &sim->clients[k];
			int bad = 0;
			if (!c->done && (re & (POLLIN | POLLHUP | POLLERR)))
				bad = client_read(sim, c) < 0;
			if (!bad && client_flush(c) < 0)
				bad = 1;
			/* A ctl client is done once its one reply has gone. */
			if (c->done && !c->out.len)
				bad = 1;
			if (bad)
				client_close(sim, k);
		}
		/* Events queued by ctl commands for watching GPIO clients. */
		for (size_t k = sim->n_clients; k-- > 0;)
			if (sim->clients[k].out.len && client_flush(&sim->clients[k]) < 0)
				client_close(sim, k);
		if (pfd[1].revents & POLLIN)
			client_accept(sim, sim->gpio_listen, true);
		if (pfd[2].revents & POLLIN)
			client_accept(sim, sim->ctl_listen, false);
	}
	close(sfd);
	return 0;
}

void
sim_stop(struct sim *sim)
{
	atomic_store(&sim->stopping, true);
	while (sim->n_clients)
		client_close(sim, sim->n_clients - 1);
	for (size_t i = sim->n_devices; i-- > 0;)
		sim->devices[i].ops->stop(&sim->devices[i]);
	/* Every device named in sim_start, started or not: one per laser
	 * (a workshop may have several) and one per bus. */
	size_t named = sim->devices ? (size_t)cfg_stations_of_kind(sim->cfg, KIND_LASER) +
	    sim->cfg->n_buses : 0;
	for (size_t i = 0; i < named; i++)
		free(sim->devices[i].name);
	free(sim->devices);
	sim->devices = NULL;
	sim->n_devices = 0;
	if (sim->ctl_listen >= 0) {
		close(sim->ctl_listen);
		unlink(sim->ctl_path);
	}
	if (sim->gpio_listen >= 0) {
		close(sim->gpio_listen);
		unlink(sim->gpio_path);
	}
	free(sim->ctl_path);
	free(sim->gpio_path);
	if (sim->log_fd >= 0)
		close(sim->log_fd);
	if (sim->events_fd >= 0)
		close(sim->events_fd);
	free(sim->run_dir);
	free(sim->laser_socket);
	pthread_mutex_destroy(&sim->lines_lock);
	pthread_mutex_destroy(&sim->log_lock);
}

int
sim_ctl_client(const char *run_dir, int argc, char **argv)
{
	struct buf cmd;
	char tmp[4096];
	int rc = 1;

	char *path = xasprintf("%s/ctl.sock", run_dir);
	int fd = unix_connect(path);
	if (fd < 0) {
		fprintf(stderr, "atelier-sim ctl: cannot reach the simulator at %s: %s\n", path,
		    strerror(errno));
		free(path);
		return 2;
	}
	free(path);
	buf_init(&cmd);
	for (int i = 0; i < argc; i++)
		buf_printf(&cmd, "%s%s", i ? " " : "", argv[i]);
	buf_append(&cmd, "\n", 1);
	if (write_all(fd, cmd.data, cmd.len) < 0) {
		fprintf(stderr, "atelier-sim ctl: %s\n", strerror(errno));
		buf_free(&cmd);
		close(fd);
		return 2;
	}
	buf_free(&cmd);
	struct buf reply;
	buf_init(&reply);
	ssize_t n;
	while ((n = read(fd, tmp, sizeof tmp)) > 0)
		buf_append(&reply, tmp, (size_t)n);
	close(fd);
	if (reply.len && strncmp(reply.data, "ok", 2) == 0 &&
	    (reply.data[2] == ' ' || reply.data[2] == '\n' || reply.data[2] == '\0')) {
		rc = 0;
		const char *text = reply.data[2] == ' ' ? reply.data + 3 : reply.data + 2;
		fputs(text, stdout);
	} else {
		fputs(reply.len ? reply.data : "error no reply from the simulator\n", stderr);
	}
	buf_free(&reply);
	return rc;
}
