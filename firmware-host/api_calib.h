/*
 * The calibration API methods (api_calib.c, documented in docs/api.md),
 * all for technicians except the read-only history, due dates and
 * rhodium estimate. API_CALIB_METHODS expands to their entries in the
 * daemon's method table (api_methods.c), so that adding one touches only
 * this file and api_calib.c.
 */
#ifndef ATELIER_API_CALIB_H
#define ATELIER_API_CALIB_H

#include "api.h"

json_t *api_calib_begin(struct api_call *c, void *arg);
json_t *api_calib_drive(struct api_call *c, void *arg);
json_t *api_calib_point(struct api_call *c, void *arg);
json_t *api_calib_status(struct api_call *c, void *arg);
json_t *api_calib_commit(struct api_call *c, void *arg);
json_t *api_calib_abort(struct api_call *c, void *arg);
json_t *api_calib_history(struct api_call *c, void *arg);
json_t *api_calib_due(struct api_call *c, void *arg);
json_t *api_calib_replenish(struct api_call *c, void *arg);
json_t *api_calib_rhodium(struct api_call *c, void *arg);
json_t *api_calib_backup(struct api_call *c, void *arg);
json_t *api_calib_diff(struct api_call *c, void *arg);

#define API_CALIB_METHODS \
	{ "calibrate.begin", API_ROLE_TECHNICIAN, api_calib_begin, NULL, \
	    "start a guided calibration procedure (laser.*, tank.*, bath.*)" }, \
	{ "calibrate.drive", API_ROLE_TECHNICIAN, api_calib_drive, NULL, \
	    "bath calibration: put the rectifier at a test value for the next point" }, \
	{ "calibrate.point", API_ROLE_TECHNICIAN, api_calib_point, NULL, \
	    "record a point: the reference instrument's reading against the device's" }, \
	{ "calibrate.status", API_ROLE_TECHNICIAN, api_calib_status, NULL, \
	    "the procedure in progress: state, points, progress, result" }, \
	{ "calibrate.commit", API_ROLE_TECHNICIAN, api_calib_commit, NULL, \
	    "check the procedure's result, apply it and record it" }, \
	{ "calibrate.abort", API_ROLE_TECHNICIAN, api_calib_abort, NULL, \
	    "abandon the procedure: station safe, nothing changed" }, \
	{ "calibration.history", API_ROLE_JEWELLER, api_calib_history, NULL, \
	    "the calibration records, newest first (station optional)" }, \
	{ "calibration.due", API_ROLE_JEWELLER, api_calib_due, NULL, \
	    "when each station was calibrated and whether it is overdue" }, \
	{ "bath.replenish", API_ROLE_TECHNICIAN, api_calib_replenish, NULL, \
	    "the bath was replenished: restart the rhodium estimate from the Ah counter" }, \
	{ "bath.rhodium", API_ROLE_JEWELLER, api_calib_rhodium, NULL, \
	    "rhodium left in the bath, estimated from ampere-hours" }, \
	{ "laser.settings.backup", API_ROLE_TECHNICIAN, api_calib_backup, NULL, \
	    "record every GRBL setting of the laser in the journal" }, \
	{ "laser.settings.diff", API_ROLE_TECHNICIAN, api_calib_diff, NULL, \
	    "the GRBL settings that differ from a backup" }

#endif
