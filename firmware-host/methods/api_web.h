/*
 * The web gateway's trust (api_web.c): the `act_as` method.
 */
#ifndef ATELIER_API_WEB_H
#define ATELIER_API_WEB_H

struct daemon_part;
extern const struct daemon_part web_part;

#endif
