/*
 * The trust between atelierd and the web bench (atelier-web, issue 14).
 * atelier-web logs people in itself and calls atelierd over the API socket
 * as its own user; the configuration names that user (api.web_gateway),
 * and only a connection from it may say, once, for whom it acts
 * (`act_as`). The role is then the one the web-users file gives that
 * person, read at that moment, never the gateway's own: a gateway that
 * lies about a password still cannot make a jeweller a technician, and a
 * user deleted from the file loses access at the next request. The audit
 * trail names both the person and the channel ("Marie (marie, web)").
 */
#include "methods/api_web.h"

#include <pwd.h>
#include <stdio.h>
#include <string.h>

#include "daemon/daemon.h"
#include "util.h"
#include "web/web_users.h"

static json_t *
m_act_as(struct api_call *c, void *arg)
{
	(void)arg;
	struct daemon *d = api_data(c->api);
	const char *gateway = d->cfg->api.web_gateway;
	if (!gateway)
		return api_fail(c, API_ERR_FORBIDDEN, "no web gateway is configured "
		    "(api.web_gateway): nobody may act for a web user");
	struct passwd *pw = getpwnam(gateway);
	if (!pw || pw->pw_uid != c->uid)
		return api_fail(c, API_ERR_FORBIDDEN, "only the web gateway (the user %s) may act "
		    "for a web user", gateway);
	json_t *v = c->params ? json_object_get(c->params, "user") : NULL;
	const char *name = json_string_value(v);
	char why[160];
	if (!name || !web_user_name_valid(name, why, sizeof why))
		return api_fail(c, API_ERR_INVALID_PARAMS, "'user' (a web user's name) is required%s%s",
		    name ? ": " : "", name ? why : "");
	if (c->acting_account)
		return api_fail(c, API_ERR_INVALID, "this connection already acts for %s",
		    c->acting_account);

	struct web_users *users = xcalloc(1, sizeof *users);
	char err[512];
	json_t *result = NULL;
	char *path = cfg_device_path(d->cfg, d->cfg->api.web_users);
	int loaded = web_users_load(path, users, err, sizeof err);
	free(path);
	if (loaded < 0) {
		api_fail(c, API_ERR_UNAVAILABLE, "the web users cannot be read: %s", err);
		goto out;
	}
	struct web_user *u = web_users_find(users, name);
	if (!u) {
		api_fail(c, API_ERR_NOT_FOUND, "there is no web user '%s'", name);
		goto out;
	}
	enum api_role role = u->role == WEB_ROLE_TECHNICIAN ? API_ROLE_TECHNICIAN :
	    API_ROLE_JEWELLER;
	if (api_act_as(c, role, u->name, u->display) < 0) {
		api_fail(c, API_ERR_INTERNAL, "this connection cannot act for %s", u->name);
		goto out;
	}
	result = json_pack("{s:s, s:s, s:s}", "user", u->name, "name",
	    u->display[0] ? u->display : u->name, "role", api_role_name(role));
out:
	free(users);
	return result;
}

static const struct api_method web_methods[] = {
	{ "act_as", API_ROLE_NONE, m_act_as, NULL,
	    "the web gateway acts for one of its users on this connection (api.web_gateway)" },
};

const struct daemon_part web_part = {
	.name = "web gateway",
	.methods = web_methods,
	.n_methods = ARRAY_LEN(web_methods),
};
