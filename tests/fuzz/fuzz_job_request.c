/*
 * Fuzz target: arbitrary bytes as a job request (the parameters of
 * job.create) read and planned against the shipped catalogue, with a
 * history that answers by the input's length: every path of the reader,
 * the eligibility rules, the step merge, the substitutions and pricing.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "cfg/cfg_catalog.h"
#include "jobs/jobs_plan.h"

static struct cfg_services cat;
static struct cfg_tank tank = {
	.temperature = 48, .max_temperature = 55, .cycle = 300, .max_cycle = 600,
	.frequency = 40, .power = 80, .sweep = true, .degas = 60,
};
static struct cfg_bath bath = {
	.temperature = 48, .max_voltage = 3.0, .max_current = 2.0, .current_density = 2.0,
	.rhodium_grams = 2.0, .efficiency = 35, .rhodium_warning = 0.5,
	.temperature_tolerance = 2, .max_warmup = 900,
};

static int
served(void *arg, const char *serial, const char *service)
{
	(void)serial;
	(void)service;
	return (int)(*(const size_t *)arg % 3) - 1;
}

static json_t *
layout(void *arg, json_t *spec, char *err, size_t len, bool *refused)
{
	(void)arg;
	if (json_object_size(spec) > 3) {
		*refused = true;
		snprintf(err, len, "does not fit");
		return NULL;
	}
	return json_object();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool loaded;
	if (!loaded) {
		struct cfg_errors e = { 0 };
		if (cfg_services_load("config/services.yaml", &cat, &e) < 0)
			abort();        /* run from the source tree */
		cfg_errors_free(&e);
		loaded = true;
	}
	json_t *params = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	if (!params)
		return 0;
	struct job_request r;
	char err[600];
	if (job_request_from_json(params, &r, err, sizeof err) == 0) {
		struct job_plan_ctx ctx = { .services = &cat, .gems = policy_default_gems(),
			.tank = &tank, .bath = &bath, .today = job_date_days("2026-12-02"),
			.times_served = served, .engrave_layout = layout, .arg = &size };
		enum job_plan_status st;
		json_t *plan = job_plan(&ctx, &r, &st, err, sizeof err);
		if (!plan && st == PLAN_OK)
			abort();        /* a refusal always says why */
		json_decref(plan);
	}
	json_decref(params);
	return 0;
}
