/*
 * Serial ports (see serial.h). A pty is told apart by its device major
 * number (Unix98 pty slaves are majors 136-143), not by its path, so that
 * symlinks such as the simulator's DIR/laser are recognised. Locking uses
 * both TIOCEXCL (other non-root openers get EBUSY) and flock, which also
 * stops a second atelierd running as root.
 */
#include "serial.h"

#include <errno.h>
#include <fcntl.h>
#include <libserialport.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include "util.h"

struct serial {
	int fd;
	int lockfd;             /* libserialport ports: holds the lock, or -1 */
	bool pty;
	struct sp_port *port;   /* libserialport ports only */
};

static char *
dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

int
serial_list(struct serial_info **out, size_t *n)
{
	struct sp_port **ports;
	*out = NULL;
	*n = 0;
	if (sp_list_ports(&ports) != SP_OK) {
		errno = EIO;
		return -1;
	}
	size_t count = 0;
	while (ports[count])
		count++;
	struct serial_info *list = xcalloc(count ? count : 1, sizeof *list);
	for (size_t i = 0; i < count; i++) {
		struct serial_info *si = &list[i];
		si->path = dup_or_null(sp_get_port_name(ports[i]));
		si->description = dup_or_null(sp_get_port_description(ports[i]));
		si->vid = si->pid = -1;
		if (sp_get_port_transport(ports[i]) == SP_TRANSPORT_USB) {
			int vid, pid;
			if (sp_get_port_usb_vid_pid(ports[i], &vid, &pid) == SP_OK) {
				si->vid = vid;
				si->pid = pid;
			}
			si->serial = dup_or_null(sp_get_port_usb_serial(ports[i]));
			si->manufacturer = dup_or_null(sp_get_port_usb_manufacturer(ports[i]));
		}
	}
	sp_free_port_list(ports);
	*out = list;
	*n = count;
	return 0;
}

void
serial_list_free(struct serial_info *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(list[i].path);
		free(list[i].description);
		free(list[i].manufacturer);
		free(list[i].serial);
	}
	free(list);
}

char *
serial_resolve(const struct cfg *cfg, const char *port, char *err, size_t errlen)
{
	if (strncmp(port, "usb:", 4) != 0)
		return cfg_device_path(cfg, port);
	unsigned vid, pid;
	char want_serial[128] = "";
	int k = sscanf(port + 4, "%x:%x:%127s", &vid, &pid, want_serial);
	if (k < 2) {
		snprintf(err, errlen, "'%s' is not usb:VID:PID[:SERIAL] in hexadecimal", port);
		return NULL;
	}
	struct serial_info *list;
	size_t n;
	if (serial_list(&list, &n) < 0) {
		snprintf(err, errlen, "cannot list the serial ports");
		return NULL;
	}
	char *found = NULL;
	int matches = 0;
	for (size_t i = 0; i < n; i++) {
		if (list[i].vid != (int)vid || list[i].pid != (int)pid)
			continue;
		if (want_serial[0] && (!list[i].serial || strcmp(list[i].serial, want_serial) != 0))
			continue;
		matches++;
		if (!found)
			found = xstrdup(list[i].path);
	}
	serial_list_free(list, n);
	if (!found)
		snprintf(err, errlen, "no serial port with USB id %04x:%04x%s%s is plugged in",
		    vid, pid, want_serial[0] ? " and serial number " : "", want_serial);
	else if (matches > 1) {
		snprintf(err, errlen, "%d ports have USB id %04x:%04x; add the serial number "
		    "(usb:%04x:%04x:SERIAL) to choose one", matches, vid, pid, vid, pid);
		free(found);
		found = NULL;
	}
	return found;
}

static bool
path_is_pty(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0 || !S_ISCHR(st.st_mode))
		return false;
	unsigned maj = major(st.st_rdev);
	return maj >= 136 && maj <= 143;
}

static int
lock_fd(int fd, char *err, size_t errlen, const char *path)
{
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		snprintf(err, errlen, "%s is in use by another process", path);
		return -1;
	}
	/* Other openers (not root) now get EBUSY from the kernel itself. */
	ioctl(fd, TIOCEXCL);
	return 0;
}

static speed_t
baud_constant(int baud)
{
	switch (baud) {
	case 1200: return B1200;
	case 2400: return B2400;
	case 4800: return B4800;
	case 9600: return B9600;
	case 19200: return B19200;
	case 38400: return B38400;
	case 57600: return B57600;
	case 115200: return B115200;
	case 230400: return B230400;
	default: return B0;
	}
}

static struct serial *
open_pty(const char *path, int baud, char *err, size_t errlen)
{
	int fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	struct termios tio;
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	if (lock_fd(fd, err, errlen, path) < 0) {
		close(fd);
		return NULL;
	}
	if (tcgetattr(fd, &tio) == 0) {
		cfmakeraw(&tio);
		tio.c_cflag |= CLOCAL | CREAD;
		/* A pty ignores the rate; it is set for the record. */
		if (baud_constant(baud) != B0) {
			cfsetispeed(&tio, baud_constant(baud));
			cfsetospeed(&tio, baud_constant(baud));
		}
		tcsetattr(fd, TCSANOW, &tio);
	}
	tcflush(fd, TCIOFLUSH);
	struct serial *s = xcalloc(1, sizeof *s);
	s->fd = fd;
	s->lockfd = -1;
	s->pty = true;
	return s;
}

/*
 * libserialport leaves VMIN = VTIME = 0, where read() returns 0 whenever
 * nothing is waiting, and serial_read would take that for the end of file
 * of a hung-up port (seen on the qemu guest's 16550: the laser link "hung
 * up" at once, every time). VMIN = 1 makes an idle non-blocking port read
 * EAGAIN, as a pty does, so that 0 means a hang-up on both.
 */
static int
set_vmin(int fd)
{
	struct termios tio;
	if (tcgetattr(fd, &tio) < 0)
		return -1;
	tio.c_cc[VMIN] = 1;
	tio.c_cc[VTIME] = 0;
	return tcsetattr(fd, TCSANOW, &tio);
}

static struct serial *
open_real(const char *path, int baud, char *err, size_t errlen)
{
	/* The lock is taken first, on a descriptor of its own kept for as
	 * long as the port is open: sp_open sets the tty's termios, which
	 * every descriptor of the tty shares, so a second opener that locked
	 * only after sp_open would already have reset the first one's port
	 * (seen on the qemu guest: VMIN back to 0 under the running driver). */
	int lockfd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (lockfd < 0) {
		if (errno == EBUSY)
			snprintf(err, errlen, "%s is in use by another process", path);
		else
			snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	/* flock only: TIOCEXCL now would refuse our own sp_open below when
	 * not root (reconnections after the privilege drop). */
	if (flock(lockfd, LOCK_EX | LOCK_NB) < 0) {
		snprintf(err, errlen, "%s is in use by another process", path);
		close(lockfd);
		return NULL;
	}
	struct sp_port *port;
	if (sp_get_port_by_name(path, &port) != SP_OK) {
		snprintf(err, errlen, "%s is not a serial port libserialport knows", path);
		close(lockfd);
		return NULL;
	}
	if (sp_open(port, SP_MODE_READ_WRITE) != SP_OK) {
		char *msg = sp_last_error_message();
		snprintf(err, errlen, "cannot open %s: %s", path, msg ? msg : "unknown error");
		sp_free_error_message(msg);
		sp_free_port(port);
		close(lockfd);
		return NULL;
	}
	int fd = -1;
	sp_get_port_handle(port, &fd);
	if (sp_set_baudrate(port, baud) != SP_OK || sp_set_bits(port, 8) != SP_OK ||
	    sp_set_parity(port, SP_PARITY_NONE) != SP_OK || sp_set_stopbits(port, 1) != SP_OK ||
	    sp_set_flowcontrol(port, SP_FLOWCONTROL_NONE) != SP_OK) {
		snprintf(err, errlen, "cannot set %s to %d baud 8N1", path, baud);
		fd = -2;
	} else if (fd < 0) {
		snprintf(err, errlen, "%s has no descriptor", path);
	} else if (fd_set_nonblock(fd) < 0 || set_vmin(fd) < 0) {
		snprintf(err, errlen, "cannot set %s up: %s", path, strerror(errno));
		fd = -2;
	}
	if (fd < 0) {
		sp_close(port);
		sp_free_port(port);
		close(lockfd);
		return NULL;
	}
	ioctl(fd, TIOCEXCL);
	sp_flush(port, SP_BUF_BOTH);
	struct serial *s = xcalloc(1, sizeof *s);
	s->fd = fd;
	s->lockfd = lockfd;
	s->port = port;
	return s;
}

struct serial *
serial_open(const char *path, int baud, char *err, size_t errlen)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	return path_is_pty(path) ? open_pty(path, baud, err, errlen) :
	    open_real(path, baud, err, errlen);
}

void
serial_close(struct serial *s)
{
	if (!s)
		return;
	if (s->port) {
		sp_close(s->port);
		sp_free_port(s->port);
		close(s->lockfd);
	} else {
		close(s->fd);
	}
	free(s);
}

int
serial_fd(const struct serial *s)
{
	return s->fd;
}

bool
serial_is_pty(const struct serial *s)
{
	return s->pty;
}

ssize_t
serial_read(struct serial *s, void *buf, size_t len)
{
	ssize_t n = read(s->fd, buf, len);
	if (n > 0)
		return n;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	/* EIO (a pty whose other end went, a USB adapter pulled out), or
	 * end of file: either way the laser is gone. */
	if (n == 0)
		errno = EPIPE;
	return -1;
}

ssize_t
serial_write(struct serial *s, const void *buf, size_t len)
{
	ssize_t n = write(s->fd, buf, len);
	if (n >= 0)
		return n;
	if (errno == EAGAIN || errno == EINTR)
		return 0;
	return -1;
}
