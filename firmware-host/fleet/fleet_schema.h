/*
 * The shared history's schema migrations (fleet_schema.c), run in order
 * by fleet_register: migration i brings the schema to version i + 1.
 */
#ifndef ATELIER_FLEET_SCHEMA_H
#define ATELIER_FLEET_SCHEMA_H

extern const char *const fleet_migrations[];
extern const int fleet_n_migrations;

#endif
