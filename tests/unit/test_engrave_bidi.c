/*
 * Line order of engraved text (issue 18, item 1): numbers, dates, times and
 * percentages inside right-to-left text, mirrored brackets and names mixing
 * Latin and Hebrew, laid out in the order the Unicode Bidirectional
 * Algorithm gives. The order checked is the one drawn: the characters of
 * the shaped glyphs from left to right. Each case has its expected visual
 * order written out, and is checked again against FriBidi's own command
 * (`fribidi --vtol`, Debian's libfribidi-bin), an implementation Atelier
 * did not write, when it is installed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engrave/engrave_int.h"
#include "test.h"
#include "util.h"

static struct engrave_settings S;

/* The characters of text (UTF-8, one line), decoded. */
static size_t
decode(const char *text, uint32_t *cps, size_t max)
{
	size_t n = 0, len = strlen(text);
	for (size_t off = 0; off < len && n < max;) {
		size_t l = engrave_utf8_decode((const unsigned char *)text + off, len - off, &cps[n]);
		if (!l)
			break;
		off += l;
		n++;
	}
	return n;
}

static void
put_utf8(struct buf *b, uint32_t cp)
{
	char u[4];
	size_t n;
	if (cp < 0x80) {
		u[0] = (char)cp; n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xC0 | (cp >> 6)); u[1] = (char)(0x80 | (cp & 0x3F)); n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | (cp >> 12)); u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F)); n = 3;
	} else {
		u[0] = (char)(0xF0 | (cp >> 18)); u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); u[3] = (char)(0x80 | (cp & 0x3F)); n = 4;
	}
	buf_append(b, u, n);
}

/* Lays text out and returns its characters in the order drawn, left to
 * right (new string), and the visual map ("4 5 6 ... 0", fribidi --vtol's
 * form) in *map. */
static char *
drawn(const char *text, const char *lang, char **map)
{
	struct engrave_line *l;
	size_t n;
	struct engrave_result res = { 0 };
	*map = NULL;
	if (engrave_text_layout(&S, text, lang, false, 0.002, &l, &n, &res) != ENGRAVE_OK) {
		printf("  layout of \"%s\": %s\n", text, res.error);
		engrave_result_free(&res);
		return NULL;
	}
	engrave_result_free(&res);
	uint32_t cps[256];
	size_t nc = decode(text, cps, 256);
	struct buf b, m;
	buf_init(&b);
	buf_init(&m);
	for (size_t i = 0; i < l[0].n_visual; i++) {
		size_t k = l[0].visual[i];
		if (k < nc)
			put_utf8(&b, cps[k]);
		buf_printf(&m, "%zu ", k);
	}
	CHECK_INT(l[0].n_visual, nc);
	engrave_lines_free(l, n);
	*map = m.data ? m.data : xstrdup("");
	return b.data ? b.data : xstrdup("");
}

/* fribidi --vtol's map for text, or NULL when the command is not there. */
static char *
fribidi_map(const char *text)
{
	char path[] = "/tmp/atelier-bidi-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return NULL;
	FILE *f = fdopen(fd, "w");
	fprintf(f, "%s\n", text);
	fclose(f);
	char *cmd = xasprintf("fribidi --nopad --novisual --vtol %s 2>/dev/null", path);
	FILE *p = popen(cmd, "r");
	free(cmd);
	char line[1024] = "";
	char *out = NULL;
	if (p && fgets(line, sizeof(line), p)) {
		line[strcspn(line, "\n")] = 0;
		out = xstrdup(line);
	}
	if (p && pclose(p) != 0) {
		free(out);
		out = NULL;
	}
	unlink(path);
	return out;
}

static int have_fribidi = -1;

/* Checks the drawn order of text against the expected one and FriBidi's. */
static void
check_order(const char *text, const char *lang, const char *expected)
{
	char *map;
	char *got = drawn(text, lang, &map);
	CHECK_STR(got, expected);
	if (have_fribidi < 0) {
		char *t = fribidi_map("a");
		have_fribidi = t != NULL;
		if (!t)
			printf("  (fribidi not installed: the orders are checked against the expected ones only)\n");
		free(t);
	}
	if (have_fribidi && map) {
		char *ref = fribidi_map(text);
		CHECK_STR(map, ref);
		free(ref);
	}
	free(got);
	free(map);
}

/* The rows: separators between digits join the number (W4, W5),
 * so the number reads left to right inside the right-to-left name. */
static void
t_numbers_in_rtl(void)
{
	check_order("שרה 23.11.2026", "he", "23.11.2026 הרש");
	check_order("מריה 12:30", "he", "12:30 הירמ");
	check_order("אוהב אותך 100%", "he", "100% ךתוא בהוא");
	check_order("مريم 1.5", "ar", "1.5 ميرم");
	check_order("مريم 1,500", "ar", "1,500 ميرم");
	check_order("שרה 23/11/2026", "he", "23/11/2026 הרש");
	/* Arabic-Indic digits with the Arabic decimal separator and percent. */
	check_order("مريم ١٫٥", "ar", "١٫٥ ميرم");
	/* The Arabic percent sign is a terminator, which joins European
	 * digits only (W5): after Arabic-Indic ones it stays right to left,
	 * read after the number. */
	check_order("حب ١٠٠٪", "ar", "٪١٠٠ بح");
	/* A number first in the line: still a right-to-left paragraph. */
	check_order("2026 שרה", "he", "הרש 2026");
}

/* --date 2026-11-23 --lang ar --date-style numeric: Arabic-Indic digits
 * with slashes between them are one number, day first. */
static void
t_arabic_date(void)
{
	char out[128];
	CHECK_INT(engrave_date_format(2026, 11, 23, "ar", ENGRAVE_DATE_NUMERIC, out, sizeof(out)), 0);
	CHECK_STR(out, "٢٣/١١/٢٠٢٦");
	check_order(out, "ar", "٢٣/١١/٢٠٢٦");
	CHECK_INT(engrave_date_format(2026, 11, 23, "he", ENGRAVE_DATE_NUMERIC, out, sizeof(out)), 0);
	check_order(out, "he", "23.11.2026");
	CHECK_INT(engrave_date_format(2026, 11, 23, "ar", ENGRAVE_DATE_LONG, out, sizeof(out)), 0);
	check_order(out, "ar", "٢٠٢٦ ربمفون ٢٣");
	CHECK_INT(engrave_date_format(2026, 11, 23, "he", ENGRAVE_DATE_LONG, out, sizeof(out)), 0);
	check_order(out, "he", "2026 רבמבונב 23");
}

/* x of the topmost point of the leftmost contour, as a fraction of that
 * contour's width: a '(' curls to the right at its top, a ')' to the left. */
static double
leftmost_top(const char *text, const char *lang)
{
	struct engrave_line *l;
	size_t n;
	struct engrave_result res = { 0 };
	if (engrave_text_layout(&S, text, lang, false, 0.002, &l, &n, &res) != ENGRAVE_OK) {
		engrave_result_free(&res);
		return -1;
	}
	engrave_result_free(&res);
	const struct engrave_paths *p = &l[0].paths;
	size_t best = 0;
	double bx = 1e9;
	for (size_t i = 0; i < p->n; i++) {
		struct engrave_paths one = { &p->v[i], 1, 1 };
		struct engrave_bbox b = engrave_paths_bbox(&one);
		if (b.x0 < bx) {
			bx = b.x0;
			best = i;
		}
	}
	struct engrave_paths one = { &p->v[best], 1, 1 };
	struct engrave_bbox b = engrave_paths_bbox(&one);
	double top = -1e9, x = 0;
	for (size_t j = 0; j < p->v[best].n; j++)
		if (p->v[best].pts[j].y > top) {
			top = p->v[best].pts[j].y;
			x = p->v[best].pts[j].x;
		}
	engrave_lines_free(l, n);
	return (x - b.x0) / (b.x1 - b.x0);
}

/* Brackets pair up (N0) and are mirrored in right-to-left text (L4): the
 * ')' that closes a Hebrew name is drawn on its left, as a '('. */
static void
t_mirrored_brackets(void)
{
	/* The orders are of the characters: a bracket at an odd level comes
	 * out reversed, ")...(", and is drawn mirrored, "(...)". */
	check_order("(שלום) Anna", "he", "Anna )םולש(");
	check_order("שרה (Sarah)", "he", ")Sarah( הרש");
	check_order("Anna (שרה)", "en", "Anna (הרש)");
	check_order("שרה [1]", "he", "]1[ הרש");
	/* Drawn: in "(שלום)" the leftmost glyph is the closing bracket,
	 * mirrored into an opening one; in "(Anna)" it is the opening one. */
	CHECK(leftmost_top("(שלום)", "he") > 0.5);
	CHECK(leftmost_top("(Anna)", "en") > 0.5);
	CHECK(leftmost_top(")Anna(", "en") < 0.5);
}

/* Names mixing scripts: the paragraph takes the direction of its first
 * strong letter, each name keeps its own. */
static void
t_mixed_names(void)
{
	check_order("Anna ושרה", "en", "Anna הרשו");
	check_order("שרה & Anna", "he", "Anna & הרש");
	check_order("שרה ❤ Anna 2026", "he", "Anna 2026 ❤ הרש");
	check_order("Anna ❤ שרה 2026", NULL, "Anna ❤ 2026 הרש");
	check_order("מרים & David & Sarah", "he", "David & Sarah & םירמ");
	check_order("Léa et مريم", "fr", "Léa et ميرم");
	check_order("Sarah (שרה) 1998", "en", "Sarah (הרש) 1998");
	check_order("שרה, Anna!", "he", "!Anna ,הרש");
}

int
main(void)
{
	engrave_settings_default(&S, NULL);
	RUN(t_numbers_in_rtl);
	RUN(t_arabic_date);
	RUN(t_mirrored_brackets);
	RUN(t_mixed_names);
	engrave_cache_clear();
	return test_summary();
}
