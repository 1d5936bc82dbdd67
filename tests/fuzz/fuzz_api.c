/*
 * Fuzz target: arbitrary bytes as JSON-RPC request lines through the API's
 * framing and dispatch core, with every role.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "api.h"

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

static const struct api_method methods[] = {
	{ "echo", API_ROLE_NONE, m_echo, NULL, "" },
	{ "fail", API_ROLE_JEWELLER, m_fail, NULL, "" },
	{ "tech", API_ROLE_TECHNICIAN, m_echo, NULL, "" },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct api_limits lim = { .max_request = 4096 };
	struct api *api = api_new(&lim, methods, 3, NULL, NULL);
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
