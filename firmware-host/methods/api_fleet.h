/*
 * The maison's shared history and telemetry as atelierd shows them
 * (api_fleet.c): `fleet.status`, and a line in `status`.
 */
#ifndef ATELIER_API_FLEET_H
#define ATELIER_API_FLEET_H

struct daemon_part;
extern const struct daemon_part fleet_part;

#endif
