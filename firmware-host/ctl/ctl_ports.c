/*
 * atelierctl ports: the serial ports of this PC with what a technician
 * needs to name the laser in the configuration by USB id and serial number
 * rather than by /dev/ttyUSB0, which changes with the order of plugging.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "ctl.h"
#include "serial.h"

int
ctl_ports(const struct ctl_opts *o, int argc, char **argv)
{
	struct serial_info *list;
	size_t n;
	(void)argv;

	if (argc != 1) {
		fprintf(stderr, "usage: atelierctl ports\n");
		return CTL_ERR_USAGE;
	}
	if (serial_list(&list, &n) < 0) {
		fprintf(stderr, "atelierctl ports: cannot list the serial ports\n");
		return CTL_ERR_FAILED;
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
