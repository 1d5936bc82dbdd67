/*
 * The technicians' corrections in force, as the stations apply them: what
 * the daemon reads from the tank and the rectifier goes through them
 * forwards, what it tells them backwards, so that a setpoint of 48 C means
 * 48 C on the technician's thermometer. The daemon holds them as data;
 * calibration (calib.h) measures them, records them and fills them in.
 *
 * A correction maps what a device says to what the reference instrument
 * says: true = gain * device + offset. The devices' own calibration (the
 * Riden's registers 55-62) is never touched.
 */
#ifndef ATELIER_CORRECTIONS_H
#define ATELIER_CORRECTIONS_H

struct calib_line {
	double gain, offset;    /* true = gain * device + offset */
};

#define CALIB_IDENTITY ((struct calib_line){ 1.0, 0.0 })

double calib_forward(const struct calib_line *l, double device);
double calib_inverse(const struct calib_line *l, double truth);

struct corrections {
	struct calib_line tank_temp, rect_v, rect_i;
	double tank_khz;        /* working frequency from the last sweep, 0 = none */
};

/* Every correction the identity, no working frequency. */
void corrections_reset(struct corrections *c);
/* A device value as the daemon shows it / a true value as the device
 * must be told it, for the profile and register named (values of other
 * registers pass unchanged). */
double corrections_reading(const struct corrections *c, const char *profile, const char *reg,
    double v);
double corrections_setpoint(const struct corrections *c, const char *profile, const char *reg,
    double v);
/* The working frequency found by the last sweep, or def. */
double corrections_tank_frequency(const struct corrections *c, double def);

#endif
