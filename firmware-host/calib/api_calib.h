/*
 * Calibration as a part of the daemon (api_calib.c): the technicians'
 * guided procedures and their API methods (documented in docs/api.md),
 * all for technicians except the read-only history, due dates and
 * rhodium estimate. Its start loads the corrections in force from the
 * journal (calib.h); a procedure runs on a timer of its own and hears the
 * laser's settings through a station listener.
 */
#ifndef ATELIER_API_CALIB_H
#define ATELIER_API_CALIB_H

struct daemon_part;
extern const struct daemon_part calib_part;

#endif
