/*
 * Serial ports for the laser: real ports through libserialport (opened by
 * path or found by USB vendor, product and serial number), pseudo-
 * terminals (the simulator's) through termios, since libserialport needs a
 * sysfs entry a pty does not have. Either way the result is a raw 8N1,
 * non-blocking descriptor for the daemon's poll loop, locked against a
 * second opener, on which an unplug reads as a lost link.
 */
#ifndef ATELIER_SERIAL_H
#define ATELIER_SERIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "cfg/cfg.h"

struct serial_info {
	char *path;             /* /dev/ttyUSB0 */
	char *description;
	char *manufacturer;
	char *serial;           /* USB serial number, or NULL */
	int vid, pid;           /* -1 when not USB */
};

/* Lists the serial ports libserialport sees; returns 0 or -1 with errno. */
int serial_list(struct serial_info **out, size_t *n);
void serial_list_free(struct serial_info *list, size_t n);

/*
 * Resolves a configured port: "usb:VID:PID[:SERIAL]" (hexadecimal ids) is
 * looked up among the ports; anything else is a path, relative ones inside
 * cfg->device_dir. Returns a new string, or NULL with the reason in err.
 */
char *serial_resolve(const struct cfg *cfg, const char *port, char *err, size_t errlen);

struct serial;
/* Opens and locks the port, raw 8N1 at baud; NULL with the reason in err. */
struct serial *serial_open(const char *path, int baud, char *err, size_t errlen);
void serial_close(struct serial *s);
int serial_fd(const struct serial *s);
bool serial_is_pty(const struct serial *s);
/* Reads what is there: > 0 bytes, 0 when nothing is waiting, -1 when the
 * link is lost (unplugged, hung up). */
ssize_t serial_read(struct serial *s, void *buf, size_t len);
/* Writes what the port takes: >= 0 bytes, -1 when the link is lost. */
ssize_t serial_write(struct serial *s, const void *buf, size_t len);

#endif
