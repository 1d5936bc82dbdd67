/*
 * The QR code printed on a job's ticket: the address of the job's page,
 * so that scanning the ticket at the bench opens the job. libqrencode
 * makes the matrix; it is drawn as one SVG path, crisp at any print size.
 */
#include "gateway/gw.h"

#include <errno.h>
#include <qrencode.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

char *
gw_qr_svg(const char *text, char *err, size_t errlen)
{
	QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	if (!qr) {
		snprintf(err, errlen, "no QR code for a text of %zu bytes: %s", strlen(text),
		    strerror(errno));
		return NULL;
	}
	const int quiet = 4;    /* the margin the standard asks for, in modules */
	int w = qr->width, size = w + 2 * quiet;
	struct buf b = { 0 };
	buf_printf(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
	    "shape-rendering=\"crispEdges\"><rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>"
	    "<path fill=\"#000\" d=\"", size, size, size, size);
	for (int y = 0; y < w; y++)
		for (int x = 0; x < w; x++)
			if (qr->data[y * w + x] & 1)
				buf_printf(&b, "M%d %dh1v1h-1z", x + quiet, y + quiet);
	buf_printf(&b, "\"/></svg>\n");
	QRcode_free(qr);
	buf_append(&b, "", 1);
	return b.data;
}
