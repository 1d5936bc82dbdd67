/*
 * The stations' API as a part of the daemon (api_methods.c): status,
 * watch, methods, the e-stop reset, and each station's own methods
 * (laser.*, tank.*, bath.*, engrave.*).
 */
#ifndef ATELIER_API_METHODS_H
#define ATELIER_API_METHODS_H

struct daemon_part;
extern const struct daemon_part stations_api_part;

#endif
