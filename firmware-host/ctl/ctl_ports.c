/*
 * atelierctl ports: the serial ports of this PC with what a technician
 * needs to name the laser in the configuration by USB id and serial number
 * rather than by /dev/ttyUSB0, which changes with the order of plugging;
 * with --udev, the udev rules that give a site's own adapters stable names
 * under /dev/atelier/ (config/61-atelier.rules says where they go).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "serial.h"

/* A name under /dev/atelier/: letters, digits, '-', '_' and '.', not
 * starting with '.'. */
static bool
udev_name_ok(const char *name)
{
	if (!*name || *name == '.' || strlen(name) > 64)
		return false;
	for (const char *c = name; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
		    *c == '-' || *c == '_' || *c == '.'))
			return false;
	return true;
}

/* A serial number as udev compares it: printable, no quote or backslash. */
static bool
udev_value_ok(const char *v)
{
	for (; *v; v++)
		if (*v < 0x21 || *v > 0x7e || *v == '"' || *v == '\\' || *v == '*' || *v == '?' ||
		    *v == '[' || *v == '|')
			return false;
	return true;
}

/* `ports --udev NAME=PORT...`: a rule per adapter, by the USB ids and the
 * serial number of the port as listed now. Every pair is checked before
 * anything is printed. */
static int
udev_rules(struct serial_info *list, size_t n, int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: atelierctl ports --udev NAME=PORT... (e.g. laser=/dev/ttyUSB0 "
		    "rs485-tanks=/dev/ttyUSB1)\n");
		return CTL_ERR_USAGE;
	}
	const struct serial_info *found[64];
	if (argc - 2 > (int)(sizeof found / sizeof found[0])) {
		fprintf(stderr, "atelierctl ports --udev: at most 64 adapters at once\n");
		return CTL_ERR_USAGE;
	}
	for (int a = 2; a < argc; a++) {
		char *eq = strchr(argv[a], '=');
		if (!eq) {
			fprintf(stderr, "atelierctl ports --udev: '%s' is not NAME=PORT\n", argv[a]);
			return CTL_ERR_USAGE;
		}
		*eq = '\0';
		const char *name = argv[a], *port = eq + 1;
		if (!udev_name_ok(name)) {
			fprintf(stderr, "atelierctl ports --udev: '%s' is not a name for /dev/atelier/ "
			    "(letters, digits, '-', '_', '.')\n", name);
			return CTL_ERR_USAGE;
		}
		found[a - 2] = NULL;
		for (size_t i = 0; i < n; i++)
			if (strcmp(list[i].path, port) == 0)
				found[a - 2] = &list[i];
		const struct serial_info *p = found[a - 2];
		if (!p) {
			fprintf(stderr, "atelierctl ports --udev: no serial port %s (atelierctl ports "
			    "lists them)\n", port);
			return CTL_ERR_FAILED;
		}
		if (p->vid < 0) {
			fprintf(stderr, "atelierctl ports --udev: %s is not a USB adapter: name it by its "
			    "path in atelier.yaml\n", port);
			return CTL_ERR_FAILED;
		}
		if (p->serial && !udev_value_ok(p->serial)) {
			fprintf(stderr, "atelierctl ports --udev: the serial number of %s has characters "
			    "udev cannot match exactly\n", port);
			return CTL_ERR_FAILED;
		}
	}
	printf("# Atelier's adapters at this site (atelierctl ports --udev); in\n"
	    "# /etc/udev/rules.d/62-atelier-site.rules, then: udevadm trigger\n");
	for (int a = 2; a < argc; a++) {
		const struct serial_info *p = found[a - 2];
		if (!p->serial)
			printf("# %s has no serial number: two adapters of this model cannot be told "
			    "apart\n", p->path);
		printf("SUBSYSTEM==\"tty\", ATTRS{idVendor}==\"%04x\", ATTRS{idProduct}==\"%04x\", ",
		    p->vid, p->pid);
		if (p->serial)
			printf("ATTRS{serial}==\"%s\", ", p->serial);
		printf("SYMLINK+=\"atelier/%s\", GROUP=\"atelier\", MODE=\"0660\"\n", argv[a]);
	}
	return CTL_OK;
}

int
ctl_ports(const struct ctl_opts *o, int argc, char **argv)
{
	struct serial_info *list;
	size_t n;

	bool udev = argc >= 2 && strcmp(argv[1], "--udev") == 0;
	if (argc != 1 && !udev) {
		fprintf(stderr, "usage: atelierctl ports [--udev NAME=PORT...]\n");
		return CTL_ERR_USAGE;
	}
	if (serial_list(&list, &n) < 0) {
		fprintf(stderr, "atelierctl ports: cannot list the serial ports\n");
		return CTL_ERR_FAILED;
	}
	if (udev) {
		int rc = udev_rules(list, n, argc, argv);
		serial_list_free(list, n);
		return rc;
	}
	if (o->json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < n; i++) {
			json_t *p = json_pack("{s:s, s:s?, s:s?, s:s?}", "path", list[i].path,
			    "description", list[i].description, "manufacturer", list[i].manufacturer,
			    "serial", list[i].serial);
			if (list[i].vid >= 0) {
				json_object_set_new(p, "vid", json_integer(list[i].vid));
				json_object_set_new(p, "pid", json_integer(list[i].pid));
				char spec[80];
				snprintf(spec, sizeof spec, "usb:%04x:%04x%s%s", list[i].vid, list[i].pid,
				    list[i].serial ? ":" : "", list[i].serial ? list[i].serial : "");
				json_object_set_new(p, "config", json_string(spec));
			}
			json_array_append_new(arr, p);
		}
		char *text = json_dumps(arr, JSON_INDENT(2));
		puts(text);
		free(text);
		json_decref(arr);
	} else if (n == 0) {
		printf("no serial port found\n");
	} else {
		printf("%-16s %-10s %-20s %s\n", "PORT", "USB ID", "SERIAL", "DESCRIPTION");
		for (size_t i = 0; i < n; i++) {
			char id[16] = "-";
			if (list[i].vid >= 0)
				snprintf(id, sizeof id, "%04x:%04x", list[i].vid, list[i].pid);
			printf("%-16s %-10s %-20s %s\n", list[i].path, id,
			    list[i].serial ? list[i].serial : "-",
			    list[i].description ? list[i].description : "");
		}
		printf("\nName the laser in atelier.yaml as laser.port: \"usb:VID:PID:SERIAL\".\n");
	}
	serial_list_free(list, n);
	return CTL_OK;
}
