/*
 * Fuzz target: arbitrary bytes as JSON-RPC request lines through the API's
 * framing and dispatch core, with every role; and through the daemon's own
 * tank.start and bath.plate, whose pieces and numbers are read there, on a
 * daemon with the sim bench and no devices (a request that passes every
 * check ends at "not connected").
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "daemon/daemon.h"
#include "methods/api_methods.h"

static json_t *
m_echo(struct api_call *call, void *arg)
{
	(void)arg;
	return json_pack("{s:O?}", "params", call->params);
}

static json_t *
m_fail(struct api_call *call, void *arg)
{
	(void)arg;
	return api_fail(call, API_ERR_INVALID, "bad %s", "input");
}

static struct api_method methods[] = {
	{ "echo", API_ROLE_NONE, m_echo, NULL, "" },
	{ "fail", API_ROLE_JEWELLER, m_fail, NULL, "" },
	{ "tech", API_ROLE_TECHNICIAN, m_echo, NULL, "" },
	{ "tank.start", API_ROLE_TECHNICIAN, NULL, NULL, "" },
	{ "bath.plate", API_ROLE_TECHNICIAN, NULL, NULL, "" },
};

static struct daemon d;

/* The daemon's handlers for the methods named without one. */
static void
setup(void)
{
	struct cfg_errors e = { 0 };
	d.cfg = cfg_load("config/sim.yaml", &e);   /* run from the source tree */
	if (!d.cfg)
		abort();
	d.catalog = cfg_catalog_load(d.cfg, &e);
	cfg_errors_free(&e);
	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
		for (size_t k = 0; !methods[i].fn && k < stations_api_part.n_methods; k++)
			if (strcmp(stations_api_part.methods[k].name, methods[i].name) == 0)
				methods[i] = stations_api_part.methods[k];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!d.cfg)
		setup();
	struct api_limits lim = { .max_request = 4096 };
	struct api *api = api_new(&lim, methods, sizeof methods / sizeof methods[0], NULL, NULL);
	api_set_data(api, &d);
	struct buf out;
	buf_init(&out);
	size_t start = 0;
	for (size_t i = 0; i <= size; i++) {
		if (i == size || data[i] == '\n') {
			struct api_call ctx = { .api = api, .role = (enum api_role)(i % 3) };
			api_handle_line(api, &ctx, (const char *)data + start, i - start, &out);
			start = i + 1;
		}
	}
	buf_free(&out);
	api_free(api);
	return 0;
}
