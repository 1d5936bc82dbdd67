/*
 * Telemetry: what atelierd says on its API socket, published to an MQTT
 * broker under PREFIX/WORKSHOP/ (docs/fleet.md, "Topics"):
 *
 *   online                "online" or "offline", retained; the will says
 *                         "offline" if atelier-sync itself dies
 *   interlock             the interlock's state, retained
 *   station/NAME          each station's state, retained
 *   events/job            job and step transitions, QoS 1
 *   events/trip           interlock trips, QoS 1
 *   events/calibration    calibration records, QoS 1
 *
 * Read-only by construction: this client subscribes to nothing, so no
 * message from the broker ever reaches it, and it calls only `watch` and
 * `status` on atelierd. When atelierd's socket closes (atelierd stopped
 * or killed) the workshop is published offline at once.
 *
 * libmosquitto's own thread runs the network (reconnecting after a
 * broker restart, when the retained states are published again); this
 * thread reads atelierd's socket.
 */
#include "sync/sync.h"

#include <errno.h>
#include <mosquitto.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

/* How often the states are read again without a notification, and at
 * most how often after one. */
#define STATUS_EVERY 5.0
#define STATUS_AFTER_NOTICE 0.2

struct telemetry {
	struct sync_state *s;
	struct mosquitto *mosq;
	char prefix[200];           /* PREFIX/WORKSHOP */
	atomic_bool connected;
	atomic_bool refused;        /* the broker said no: keep its reason */
	atomic_bool republish;      /* after a (re)connection: every retained state again */
	atomic_int last_acked;      /* the message id the broker acknowledged last */
	json_t *retained;           /* topic -> payload last published (this thread only) */
	bool daemon_up;
};

static void
set_ok(struct telemetry *t, bool ok, const char *err)
{
	struct sync_state *s = t->s;
	pthread_mutex_lock(&s->lock);
	if (s->status.mqtt_ok != ok)
		s->changed = true;
	s->status.mqtt_ok = ok;
	pthread_mutex_unlock(&s->lock);
	sync_error(s, false, err);
}

static void
on_connect(struct mosquitto *m, void *arg, int rc)
{
	(void)m;
	struct telemetry *t = arg;
	if (rc != 0) {
		char err[300];
		snprintf(err, sizeof err, "MQTT broker %s:%d refused the connection: %s",
		    t->s->cfg->fleet.mqtt.host, t->s->cfg->fleet.mqtt.port, mosquitto_connack_string(rc));
		atomic_store(&t->refused, true);
		set_ok(t, false, err);
		return;
	}
	atomic_store(&t->refused, false);
	atomic_store(&t->connected, true);
	atomic_store(&t->republish, true);
	set_ok(t, true, NULL);
}

static void
on_publish(struct mosquitto *m, void *arg, int mid)
{
	(void)m;
	struct telemetry *t = arg;
	atomic_store(&t->last_acked, mid);
}

static void
on_disconnect(struct mosquitto *m, void *arg, int rc)
{
	(void)m;
	struct telemetry *t = arg;
	atomic_store(&t->connected, false);
	if (rc != 0 && atomic_load(&t->s->running) && !atomic_load(&t->refused)) {
		char err[300];
		snprintf(err, sizeof err, "MQTT broker %s:%d: connection lost, reconnecting",
		    t->s->cfg->fleet.mqtt.host, t->s->cfg->fleet.mqtt.port);
		set_ok(t, false, err);
	}
}

static void
publish(struct telemetry *t, const char *sub, const char *payload, int qos, bool retain)
{
	char topic[400];
	snprintf(topic, sizeof topic, "%s/%s", t->prefix, sub);
	if (retain) {
		/* A retained state is published when it changes, and all of them
		 * again after a reconnection. */
		const char *was = json_string_value(json_object_get(t->retained, topic));
		if (was && strcmp(was, payload) == 0)
			return;
		json_object_set_new(t->retained, topic, json_string(payload));
	}
	if (!atomic_load(&t->connected))
		return;
	int rc = mosquitto_publish(t->mosq, NULL, topic, (int)strlen(payload), payload, qos, retain);
	if (rc != MOSQ_ERR_SUCCESS)
		log_debug("MQTT: %s not published: %s", topic, mosquitto_strerror(rc));
}

static void
republish_all(struct telemetry *t)
{
	const char *topic;
	json_t *v;
	json_object_foreach(t->retained, topic, v)
		mosquitto_publish(t->mosq, NULL, topic, (int)strlen(json_string_value(v)),
		    json_string_value(v), 1, true);
}

static void
publish_json(struct telemetry *t, const char *sub, json_t *o, int qos, bool retain)
{
	char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	if (text)
		publish(t, sub, text, qos, retain);
	free(text);
}

/* atelierd's status: the interlock and each station, retained. */
static void
publish_status(struct telemetry *t, json_t *st)
{
	json_t *il = json_object_get(st, "interlock");
	if (il)
		publish_json(t, "interlock", il, 1, true);
	const char *name;
	json_t *v;
	json_object_foreach(json_object_get(st, "stations"), name, v) {
		char sub[160];
		snprintf(sub, sizeof sub, "station/%s", name);
		publish_json(t, sub, v, 1, true);
	}
}

static void
publish_notice(struct telemetry *t, const char *method, json_t *params)
{
	if (strcmp(method, "job") == 0) {
		publish_json(t, "events/job", params, 1, false);
	} else if (strcmp(method, "calibration") == 0) {
		publish_json(t, "events/calibration", params, 1, false);
	} else if (strcmp(method, "interlock") == 0) {
		json_t *tripped = json_object_get(params, "tripped");
		if (json_array_size(tripped) > 0 || json_is_true(json_object_get(params, "latched")))
			publish_json(t, "events/trip", params, 1, false);
	}
}

static void
daemon_state(struct telemetry *t, bool up)
{
	t->daemon_up = up;
	publish(t, "online", up ? "online" : "offline", 1, true);
}

/* One session with atelierd: watch, then read until it closes. */
static void
watch_daemon(struct telemetry *t, int fd)
{
	static const char hello[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"watch\"}\n"
	    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"status\"}\n";
	if (write_all(fd, hello, sizeof hello - 1) < 0)
		return;
	struct buf in;
	buf_init(&in);
	double next_status = now_mono() + STATUS_EVERY;
	int id = 2;
	daemon_state(t, true);
	while (atomic_load(&t->s->running)) {
		if (atomic_exchange(&t->republish, false) && atomic_load(&t->connected))
			republish_all(t);
		double left = next_status - now_mono();
		if (left <= 0) {
			char req[80];
			snprintf(req, sizeof req, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"status\"}\n",
			    ++id);
			if (write_all(fd, req, strlen(req)) < 0)
				break;
			next_status = now_mono() + STATUS_EVERY;
			continue;
		}
		struct pollfd p = { fd, POLLIN, 0 };
		int n = poll(&p, 1, left > 0.2 ? 200 : (int)(left * 1000) + 1);
		if (n < 0 && errno != EINTR)
			break;
		if (n <= 0)
			continue;
		char chunk[65536];
		ssize_t got = read(fd, chunk, sizeof chunk);
		if (got <= 0)
			break;
		buf_append(&in, chunk, (size_t)got);
		char *nl;
		while ((nl = memchr(in.data, '\n', in.len))) {
			json_t *msg = json_loadb(in.data, (size_t)(nl - in.data), 0, NULL);
			buf_consume(&in, (size_t)(nl - in.data) + 1);
			const char *method = json_string_value(json_object_get(msg, "method"));
			json_t *result = json_object_get(msg, "result");
			if (method) {
				publish_notice(t, method, json_object_get(msg, "params"));
				/* A state may have changed: read it again soon. */
				if (next_status - now_mono() > STATUS_AFTER_NOTICE)
					next_status = now_mono() + STATUS_AFTER_NOTICE;
			} else if (json_object_get(result, "stations")) {
				publish_status(t, result);
			}
			json_decref(msg);
		}
	}
	buf_free(&in);
}

/* The client, its will, credentials and TLS; NULL with err. */
static struct mosquitto *
client(struct telemetry *t, char *err, size_t len)
{
	const struct cfg_mqtt *m = &t->s->cfg->fleet.mqtt;
	char id[80], topic[300];
	snprintf(id, sizeof id, "atelier-sync-%s", t->s->cfg->fleet.workshop);
	struct mosquitto *mosq = mosquitto_new(id, true, t);
	if (!mosq) {
		fail_msg(err, len, "MQTT: cannot create the client: %s", strerror(errno));
		return NULL;
	}
	snprintf(topic, sizeof topic, "%s/online", t->prefix);
	char *password = NULL;
	int rc = mosquitto_will_set(mosq, topic, 7, "offline", 1, true);
	if (rc == MOSQ_ERR_SUCCESS && fleet_read_secret(t->s->cfg, "fleet.mqtt.password_file",
	    m->password_file, &password, err, len) < 0)
		goto fail_quiet;
	if (rc == MOSQ_ERR_SUCCESS && (m->username || password))
		rc = mosquitto_username_pw_set(mosq, m->username, password);
	if (password) {
		explicit_bzero(password, strlen(password));
		free(password);
	}
	if (rc == MOSQ_ERR_SUCCESS && m->ca_file) {
		char *ca = cfg_resolve(t->s->cfg, m->ca_file);
		char *cert = m->certificate ? cfg_resolve(t->s->cfg, m->certificate) : NULL;
		char *key = m->key ? cfg_resolve(t->s->cfg, m->key) : NULL;
		rc = mosquitto_tls_set(mosq, ca, NULL, cert, key, NULL);
		free(ca);
		free(cert);
		free(key);
	}
	if (rc != MOSQ_ERR_SUCCESS) {
		fail_msg(err, len, "MQTT: %s", mosquitto_strerror(rc));
		goto fail_quiet;
	}
	mosquitto_connect_callback_set(mosq, on_connect);
	mosquitto_disconnect_callback_set(mosq, on_disconnect);
	mosquitto_publish_callback_set(mosq, on_publish);
	mosquitto_reconnect_delay_set(mosq, 1, 10, true);
	return mosq;
fail_quiet:
	mosquitto_destroy(mosq);
	return NULL;
}

void *
sync_mqtt_thread(void *arg)
{
	struct sync_state *s = arg;
	const struct cfg_mqtt *m = &s->cfg->fleet.mqtt;
	struct telemetry t = { .s = s, .retained = json_object() };
	char err[400];
	snprintf(t.prefix, sizeof t.prefix, "%s/%s", m->prefix, s->cfg->fleet.workshop);
	mosquitto_lib_init();
	t.mosq = client(&t, err, sizeof err);
	if (!t.mosq) {
		set_ok(&t, false, err);
		goto out;
	}
	/* The first connection may fail (the broker starts later): the
	 * network thread keeps trying, as after a broker restart. */
	int rc = mosquitto_connect_async(t.mosq, m->host, m->port, m->keepalive);
	if (rc != MOSQ_ERR_SUCCESS) {
		snprintf(err, sizeof err, "MQTT broker %s:%d: %s", m->host, m->port,
		    rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
		set_ok(&t, false, err);
	}
	if ((rc = mosquitto_loop_start(t.mosq)) != MOSQ_ERR_SUCCESS) {
		snprintf(err, sizeof err, "MQTT: %s", mosquitto_strerror(rc));
		set_ok(&t, false, err);
		goto out;
	}
	bool said_down = false;
	while (atomic_load(&s->running)) {
		int fd = unix_connect(s->socket);
		if (fd < 0) {
			if (!said_down || t.daemon_up)
				daemon_state(&t, false);
			said_down = true;
			if (atomic_exchange(&t.republish, false) && atomic_load(&t.connected))
				republish_all(&t);
			sync_sleep(s, 0.5);
			continue;
		}
		said_down = false;
		watch_daemon(&t, fd);
		close(fd);
		if (atomic_load(&s->running))
			daemon_state(&t, false);
	}
	/* A clean stop says offline itself; the will is for a death. */
	if (atomic_load(&t.connected)) {
		char topic[300];
		int mid = 0;
		snprintf(topic, sizeof topic, "%s/online", t.prefix);
		/* Acknowledged before the disconnection, or given up after 1 s. */
		if (mosquitto_publish(t.mosq, &mid, topic, 7, "offline", 1, true) == MOSQ_ERR_SUCCESS)
			for (int i = 0; i < 100 && atomic_load(&t.last_acked) != mid &&
			    atomic_load(&t.connected); i++)
				usleep(10000);
	}
	mosquitto_disconnect(t.mosq);
	mosquitto_loop_stop(t.mosq, false);
out:
	if (t.mosq)
		mosquitto_destroy(t.mosq);
	json_decref(t.retained);
	mosquitto_lib_cleanup();
	return NULL;
}
