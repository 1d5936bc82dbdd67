/*
 * Dates for engraving, in the client's language: numeric (23.11.2026,
 * 23/11/2026, 11/23/2026), long (23 novembre 2026, 23. November 2026,
 * 2026年11月23日, 2026년 11월 23일) and ISO. The month names and orders are
 * our own tables (the C library's locales are not installed on the bench
 * PC), with the grammatical case each language uses after a day number
 * (Russian and Greek genitive).
 */
#include "engrave/engrave.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum order { DMY, MDY, YMD };

struct date_lang {
	const char *code;
	char num_sep;               /* separator of the numeric style */
	enum order num_order;
	const char *long_fmt;       /* %d day, %m month name, %y year, %n month number */
	const char *months[12];
	bool native_digits;         /* Arabic-Indic digits */
};

static const struct date_lang langs[] = {
	{ "en", '/', DMY, "%d %m %y", { "January", "February", "March", "April", "May", "June",
	  "July", "August", "September", "October", "November", "December" }, false },
	{ "en-US", '/', MDY, "%m %d, %y", { "January", "February", "March", "April", "May", "June",
	  "July", "August", "September", "October", "November", "December" }, false },
	{ "fr", '/', DMY, "%d %m %y", { "janvier", "février", "mars", "avril", "mai", "juin",
	  "juillet", "août", "septembre", "octobre", "novembre", "décembre" }, false },
	{ "de", '.', DMY, "%d. %m %y", { "Januar", "Februar", "März", "April", "Mai", "Juni",
	  "Juli", "August", "September", "Oktober", "November", "Dezember" }, false },
	{ "es", '/', DMY, "%d de %m de %y", { "enero", "febrero", "marzo", "abril", "mayo", "junio",
	  "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre" }, false },
	{ "it", '/', DMY, "%d %m %y", { "gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno",
	  "luglio", "agosto", "settembre", "ottobre", "novembre", "dicembre" }, false },
	{ "pt", '/', DMY, "%d de %m de %y", { "janeiro", "fevereiro", "março", "abril", "maio",
	  "junho", "julho", "agosto", "setembro", "outubro", "novembro", "dezembro" }, false },
	{ "nl", '-', DMY, "%d %m %y", { "januari", "februari", "maart", "april", "mei", "juni",
	  "juli", "augustus", "september", "oktober", "november", "december" }, false },
	{ "ru", '.', DMY, "%d %m %y", { "января", "февраля", "марта", "апреля", "мая", "июня",
	  "июля", "августа", "сентября", "октября", "ноября", "декабря" }, false },
	{ "el", '/', DMY, "%d %m %y", { "Ιανουαρίου", "Φεβρουαρίου", "Μαρτίου", "Απριλίου",
	  "Μαΐου", "Ιουνίου", "Ιουλίου", "Αυγούστου", "Σεπτεμβρίου", "Οκτωβρίου", "Νοεμβρίου",
	  "Δεκεμβρίου" }, false },
	{ "ar", '/', DMY, "%d %m %y", { "يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو",
	  "يوليو", "أغسطس", "سبتمبر", "أكتوبر", "نوفمبر", "ديسمبر" }, true },
	{ "he", '.', DMY, "%d ב%m %y", { "ינואר", "פברואר", "מרץ", "אפריל", "מאי", "יוני",
	  "יולי", "אוגוסט", "ספטמבר", "אוקטובר", "נובמבר", "דצמבר" }, false },
	{ "hi", '/', DMY, "%d %m %y", { "जनवरी", "फ़रवरी", "मार्च", "अप्रैल", "मई", "जून",
	  "जुलाई", "अगस्त", "सितंबर", "अक्तूबर", "नवंबर", "दिसंबर" }, false },
	{ "ja", '/', YMD, "%y年%n月%d日", { 0 }, false },
	{ "zh", '/', YMD, "%y年%n月%d日", { 0 }, false },
	{ "ko", '.', YMD, "%y년 %n월 %d일", { 0 }, false },
};

static const struct date_lang *
lang_find(const char *code)
{
	if (!code || !*code)
		code = "en";
	/* Exact first ("en-US"), then the language alone ("fr-CH" -> "fr"). */
	for (size_t i = 0; i < sizeof(langs) / sizeof(langs[0]); i++)
		if (strcasecmp(langs[i].code, code) == 0)
			return &langs[i];
	char base[4] = { 0 };
	for (int i = 0; i < 3 && isalpha((unsigned char)code[i]); i++)
		base[i] = (char)tolower((unsigned char)code[i]);
	for (size_t i = 0; i < sizeof(langs) / sizeof(langs[0]); i++)
		if (strcmp(langs[i].code, base) == 0)
			return &langs[i];
	return NULL;
}

static bool
leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
days_in(int y, int m)
{
	static const int d[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return m == 2 && leap(y) ? 29 : d[m - 1];
}

/* Appends n in decimal (zero-padded to width), in Arabic-Indic digits when
 * asked; returns false when out of room. */
static bool
put_int(char **o, char *end, int n, int width, bool native)
{
	char tmp[16];
	int l = snprintf(tmp, sizeof(tmp), "%0*d", width, n);
	for (int i = 0; i < l; i++) {
		if (native) {
			/* U+0660 + digit, UTF-8: D9 A0..A9 */
			if (end - *o < 3)
				return false;
			*(*o)++ = (char)0xD9;
			*(*o)++ = (char)(0xA0 + (tmp[i] - '0'));
		} else {
			if (end - *o < 2)
				return false;
			*(*o)++ = tmp[i];
		}
	}
	**o = 0;
	return true;
}

static bool
put_str(char **o, char *end, const char *s, size_t n)
{
	if ((size_t)(end - *o) < n + 1)
		return false;
	memcpy(*o, s, n);
	*o += n;
	**o = 0;
	return true;
}

int
engrave_date_format(int year, int month, int day, const char *lang,
    enum engrave_date_style style, char *out, size_t out_len)
{
	if (year < 1 || year > 9999 || month < 1 || month > 12 || day < 1 ||
	    day > days_in(year, month)) {
		errno = EINVAL;
		return -1;
	}
	const struct date_lang *l = lang_find(lang);
	if (!l) {
		errno = ENOENT;
		return -1;
	}
	if (out_len == 0) {
		errno = ENOSPC;
		return -1;
	}
	char *o = out, *end = out + out_len;
	*o = 0;
	bool ok = true;
	if (style == ENGRAVE_DATE_ISO) {
		ok = put_int(&o, end, year, 4, false) && put_str(&o, end, "-", 1) &&
		    put_int(&o, end, month, 2, false) && put_str(&o, end, "-", 1) &&
		    put_int(&o, end, day, 2, false);
	} else if (style == ENGRAVE_DATE_NUMERIC) {
		int v[3], w[3];
		switch (l->num_order) {
		case DMY: v[0] = day; v[1] = month; v[2] = year; break;
		case MDY: v[0] = month; v[1] = day; v[2] = year; break;
		default: v[0] = year; v[1] = month; v[2] = day; break;
		}
		for (int i = 0; i < 3; i++)
			w[i] = v[i] == year ? 4 : 2;
		char sep = l->num_sep;
		for (int i = 0; i < 3 && ok; i++) {
			if (i)
				ok = put_str(&o, end, &sep, 1);
			ok = ok && put_int(&o, end, v[i], w[i], l->native_digits);
		}
	} else {
		for (const char *f = l->long_fmt; *f && ok; f++) {
			if (*f != '%' || !f[1]) {
				ok = put_str(&o, end, f, 1);
				continue;
			}
			f++;
			switch (*f) {
			case 'd': ok = put_int(&o, end, day, 1, l->native_digits); break;
			case 'n': ok = put_int(&o, end, month, 1, l->native_digits); break;
			case 'y': ok = put_int(&o, end, year, 1, l->native_digits); break;
			case 'm': ok = put_str(&o, end, l->months[month - 1], strlen(l->months[month - 1])); break;
			default: ok = put_str(&o, end, f, 1); break;
			}
		}
	}
	if (!ok) {
		errno = ENOSPC;
		return -1;
	}
	return 0;
}

int
engrave_date_parse(const char *s, int *year, int *month, int *day)
{
	int y, m, d, n = 0;
	if (!s || strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10)
		return -1;
	for (int i = 0; i < 10; i++)
		if (i == 4 || i == 7 ? s[i] != '-' : !isdigit((unsigned char)s[i]))
			return -1;
	if (y < 1 || m < 1 || m > 12 || d < 1 || d > days_in(y, m))
		return -1;
	*year = y;
	*month = m;
	*day = d;
	return 0;
}

int
engrave_date_style_parse(const char *s, enum engrave_date_style *out)
{
	if (!s)
		return -1;
	if (!strcmp(s, "numeric")) *out = ENGRAVE_DATE_NUMERIC;
	else if (!strcmp(s, "long")) *out = ENGRAVE_DATE_LONG;
	else if (!strcmp(s, "iso")) *out = ENGRAVE_DATE_ISO;
	else return -1;
	return 0;
}
