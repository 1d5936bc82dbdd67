/*
 * The laser station's rules for a program's content (see laser_program.h).
 * Lines are read as GRBL reads them: case does not matter, spaces are
 * ignored, comments run from '(' to ')' and from ';' to the end of the
 * line, and a word is a letter followed by a number (sign, digits, at most
 * one point; no exponent, as GRBL's own reader).
 */
#include "policy/laser_program.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int
refuse(char *err, size_t len, long line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
refuse(char *err, size_t len, long line, const char *fmt, ...)
{
	char why[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	snprintf(err, len, "line %ld: %s", line, why);
	return -1;
}

/* Reads GRBL's number at p; returns the characters used, 0 when none. */
static size_t
read_number(const char *p, const char *end, double *out)
{
	const char *q = p;
	double v = 0, scale = 1;
	bool neg = false, digits = false, point = false;
	if (q < end && (*q == '-' || *q == '+'))
		neg = *q++ == '-';
	for (; q < end; q++) {
		if (isdigit((unsigned char)*q)) {
			digits = true;
			if (point)
				v += (*q - '0') * (scale /= 10);
			else
				v = v * 10 + (*q - '0');
		} else if (*q == '.' && !point) {
			point = true;
		} else {
			break;
		}
	}
	if (!digits)
		return 0;
	*out = neg ? -v : v;
	return (size_t)(q - p);
}

static bool
is_integer(double v)
{
	return v == floor(v) && fabs(v) < 1000;
}

static const int g_allowed[] = { 0, 1, 2, 3, 4, 17, 20, 21, 90, 91, 94 };
static const int m_allowed[] = { 2, 3, 4, 5, 30 };

static bool
in_set(int v, const int *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (set[i] == v)
			return true;
	return false;
}

/* One line, comments and spaces removed, upper case. */
static int
check_line(const char *p, const char *end, long no, struct laser_program_info *info, char *err,
    size_t len)
{
	char word[32];
	while (p < end) {
		char letter = *p;
		if (letter == '$')
			return refuse(err, len, no, "'%.40s' is a GRBL command, not G-code: unlock, "
			    "homing and settings have their own methods (laser.unlock, calibration)", p);
		if (letter == '?' || letter == '!' || letter == '~') {
			char c[2] = { letter, 0 };
			return refuse(err, len, no, "'%s' is a realtime command to GRBL (status, hold, "
			    "resume), not G-code", c);
		}
		if (!isalpha((unsigned char)letter)) {
			char c[2] = { letter, 0 };
			return refuse(err, len, no, "'%s' is not part of a G-code word", c);
		}
		double v;
		size_t used = read_number(p + 1, end, &v);
		snprintf(word, sizeof word, "%.*s", (int)(used + 1 < 24 ? used + 1 : 24), p);
		if (!used)
			return refuse(err, len, no, "'%s' has no number", word);
		if (!isfinite(v))
			return refuse(err, len, no, "'%s' is not a number GRBL can take", word);
		switch (letter) {
		case 'G':
			if (!is_integer(v) || !in_set((int)v, g_allowed, sizeof g_allowed / sizeof *g_allowed))
				return refuse(err, len, no, "%s is not a code the laser station runs (motion "
				    "G0-G3, dwell G4, G17, units G20/G21, G90/G91, G94)", word);
			if ((int)v == 91)
				info->relative = true;
			if ((int)v == 20)
				info->inches = true;
			break;
		case 'M':
			if (!is_integer(v) || !in_set((int)v, m_allowed, sizeof m_allowed / sizeof *m_allowed))
				return refuse(err, len, no, "%s is not a code the laser station runs (laser "
				    "M3/M4/M5, program end M2/M30)", word);
			if ((int)v == 3 || (int)v == 4)
				info->emits = true;
			break;
		case 'X':
			info->x_lo = fmin(info->x_lo, v);
			info->x_hi = fmax(info->x_hi, v);
			break;
		case 'Y':
			info->y_lo = fmin(info->y_lo, v);
			info->y_hi = fmax(info->y_hi, v);
			break;
		case 'Z': case 'I': case 'J': case 'K': case 'R':
		case 'F': case 'S': case 'P': case 'N':
			break;
		default:
			return refuse(err, len, no, "'%s' is not a word the laser station uses (only "
			    "G, M, X, Y, Z, I, J, K, R, F, S, P and N)", word);
		}
		p += used + 1;
	}
	return 0;
}

int
laser_program_check(const char *text, struct laser_program_info *info, char *err, size_t errlen)
{
	memset(info, 0, sizeof *info);
	info->x_lo = info->y_lo = INFINITY;
	info->x_hi = info->y_hi = -INFINITY;
	char clean[256];
	long no = 0;
	const char *p = text;
	info->rotary = laser_program_for_rotary(text);
	while (*p) {
		const char *eol = strchr(p, '\n');
		const char *end = eol ? eol : p + strlen(p);
		size_t n = 0;
		bool paren = false, overlong = false;
		no++;
		for (const char *q = p; q < end; q++) {
			if (paren) {
				paren = *q != ')';
				continue;
			}
			if (*q == '(') {
				paren = true;
				continue;
			}
			if (*q == ';')
				break;
			if (*q == ' ' || *q == '\t' || *q == '\r')
				continue;
			if (n + 1 >= sizeof clean) {
				overlong = true;
				break;
			}
			clean[n++] = (char)toupper((unsigned char)*q);
		}
		clean[n] = '\0';
		if (overlong)
			return refuse(err, errlen, no, "%s", "the line is too long for GRBL");
		if (n) {
			if (check_line(clean, clean + n, no, info, err, errlen) < 0)
				return -1;
			info->lines++;
		}
		p = eol ? eol + 1 : end;
	}
	return 0;
}

bool
laser_program_for_rotary(const char *text)
{
	static const char mark[] = "(ATELIER ROTARY";
	return strncmp(text, mark, sizeof mark - 1) == 0;
}
