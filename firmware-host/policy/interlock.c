/*
 * The interlock's layout, built from the configuration, and its state
 * machine. Kept free of I/O so that every branch is unit-tested (with a
 * property test over random inputs on a workshop of several stations) and
 * the same decisions hold in the daemon, the tests and any future tool.
 *
 * Rules (shared domain facts §4, §6; DESIGN.md safety model):
 *   everything: e-stop not latched, GPIO link up (no relay can be trusted
 *               without it)
 *   a laser's relay and beacon: its door closed, fume extraction running
 *               (its own line if it has one, else the workshop's), the
 *               laser's link up
 *   a tank's ultrasound and heater: its lid closed, its generator's link up
 *   a bath's rectifier: fume extraction running (acid mist), the
 *               rectifier's link up
 *   a bath's heater: the heater controller's link up
 */
#include "policy/interlock.h"

#include <stdio.h>
#include <string.h>

/* "the laser door is open" for a station named after its kind, "the door
 * of laser rings is open" for another. */
static bool
named_as_kind(const struct cfg_station *st)
{
	return st->name && strcmp(st->name, cfg_kind_name((enum cfg_kind)st->kind)) == 0;
}

static int
add_guard(struct il_layout *l, const struct cfg *cfg, int line, int station, char *why,
    size_t len)
{
	if (l->n_guards == IL_MAX) {
		snprintf(why, len, "more than %d doors, lids and fume lines", IL_MAX);
		return -1;
	}
	struct il_guard *g = &l->guards[l->n_guards];
	const struct cfg_station *st = station >= 0 ? &cfg->stations[station] : NULL;
	g->line = line;
	g->station = station;
	g->role = cfg->lines[line].role;
	g->blocks_at = g->role == ROLE_FUME_OK ? 0 : 1;
	const char *kind = st ? cfg_kind_name((enum cfg_kind)st->kind) : "";
	if (g->role == ROLE_DOOR || g->role == ROLE_LID) {
		const char *what = g->role == ROLE_DOOR ? "door" : "lid";
		if (named_as_kind(st))
			snprintf(g->reason, sizeof g->reason, "the %s %s is open", kind, what);
		else
			snprintf(g->reason, sizeof g->reason, "the %s of the %s %s is open", what, kind,
			    st->name);
	} else if (st) {
		if (named_as_kind(st))
			snprintf(g->reason, sizeof g->reason, "the %s's fume extraction is not running",
			    kind);
		else
			snprintf(g->reason, sizeof g->reason, "the fume extraction of the %s %s is not "
			    "running", kind, st->name);
	} else {
		snprintf(g->reason, sizeof g->reason, "the fume extraction is not running");
	}
	return (int)l->n_guards++;
}

static int
add_link(struct il_layout *l, const struct cfg_station *st, int station, int which, char *why,
    size_t len)
{
	if (l->n_links == IL_MAX) {
		snprintf(why, len, "more than %d device links", IL_MAX - 1);
		return -1;
	}
	struct il_link *k = &l->links[l->n_links];
	k->station = station;
	k->which = which;
	char of[48] = "";
	if (!named_as_kind(st))
		snprintf(of, sizeof of, " %s", st->name);
	switch (st->kind) {
	case KIND_LASER:
		snprintf(k->reason, sizeof k->reason, "the laser%s is not connected", of);
		break;
	case KIND_TANK:
		snprintf(k->reason, sizeof k->reason, "the cleaning tank%s is not connected", of);
		break;
	default:
		snprintf(k->reason, sizeof k->reason, "the %s%s%s is not connected",
		    which == 0 ? "plating rectifier" : "bath heater", of[0] ? " of the bath" : "", of);
		break;
	}
	l->station_link[station][which] = (int)l->n_links;
	return (int)l->n_links++;
}

int
interlock_layout(struct il_layout *l, const struct cfg *cfg, char *why, size_t len)
{
	memset(l, 0, sizeof *l);
	l->estop_line = -1;
	int workshop_fume = -1;
	for (size_t i = 0; i < cfg->n_lines; i++) {
		if (cfg->lines[i].station >= 0)
			continue;
		if (cfg->lines[i].role == ROLE_ESTOP)
			l->estop_line = (int)i;
		else if (cfg->lines[i].role == ROLE_FUME_OK)
			workshop_fume = (int)i;
	}
	if (l->estop_line < 0) {
		snprintf(why, len, "the workshop has no e-stop line");
		return -1;
	}
	for (size_t s = 0; s < CFG_MAX_STATIONS; s++)
		l->station_link[s][0] = l->station_link[s][1] = -1;
	l->links[0] = (struct il_link){ -1, 0, "the safety inputs and relays cannot be reached" };
	l->n_links = 1;

	/* Guards, in the order their reasons come: doors and lids, then the
	 * stations' own fume lines, then the workshop's. */
	int door[CFG_MAX_STATIONS], fume[CFG_MAX_STATIONS];
	for (size_t s = 0; s < cfg->n_stations; s++) {
		const struct cfg_station *st = &cfg->stations[s];
		int line = st->kind == KIND_LASER ? st->line[ROLE_DOOR] :
		    st->kind == KIND_TANK ? st->line[ROLE_LID] : -1;
		door[s] = line >= 0 ? add_guard(l, cfg, line, (int)s, why, len) : -1;
		if (line >= 0 && door[s] < 0)
			return -1;
	}
	for (size_t s = 0; s < cfg->n_stations; s++) {
		int line = cfg->stations[s].line[ROLE_FUME_OK];
		fume[s] = line >= 0 ? add_guard(l, cfg, line, (int)s, why, len) : -1;
		if (line >= 0 && fume[s] < 0)
			return -1;
	}
	int wfume = workshop_fume >= 0 ? add_guard(l, cfg, workshop_fume, -1, why, len) : -1;
	if (workshop_fume >= 0 && wfume < 0)
		return -1;

	for (size_t s = 0; s < cfg->n_stations; s++) {
		const struct cfg_station *st = &cfg->stations[s];
		int link0 = add_link(l, st, (int)s, 0, why, len);
		int link1 = st->kind == KIND_BATH ? add_link(l, st, (int)s, 1, why, len) : -1;
		if (link0 < 0 || (st->kind == KIND_BATH && link1 < 0))
			return -1;
		int f = fume[s] >= 0 ? fume[s] : wfume;
		uint64_t fume_bit = f >= 0 ? 1ull << f : 0;
		for (int r = 0; r < ROLE_COUNT; r++) {
			if (st->line[r] < 0 || !cfg_role_output((enum cfg_role)r))
				continue;
			if (l->n_actuators == IL_MAX) {
				snprintf(why, len, "more than %d outputs", IL_MAX);
				return -1;
			}
			struct il_actuator *a = &l->actuators[l->n_actuators++];
			snprintf(a->name, sizeof a->name, "%s", cfg->lines[st->line[r]].name);
			a->line = st->line[r];
			a->station = (int)s;
			a->role = (enum cfg_role)r;
			a->links = 1ull << IL_LINK_GPIO;
			switch (r) {
			case ROLE_LASER_ENABLE:
			case ROLE_BEACON:
				a->guards = (door[s] >= 0 ? 1ull << door[s] : 0) | fume_bit;
				a->links |= 1ull << link0;
				break;
			case ROLE_ULTRASOUND_ENABLE:
			case ROLE_TANK_HEATER_ENABLE:
				a->guards = door[s] >= 0 ? 1ull << door[s] : 0;
				a->links |= 1ull << link0;
				break;
			case ROLE_RECTIFIER_ENABLE:
				a->guards = fume_bit;
				a->links |= 1ull << link0;
				break;
			case ROLE_BATH_HEATER_ENABLE:
				a->guards = 0;
				a->links |= 1ull << link1;
				break;
			default:
				break;
			}
		}
	}
	return 0;
}

int
interlock_actuator_of_line(const struct il_layout *l, int line)
{
	for (size_t a = 0; l && a < l->n_actuators; a++)
		if (l->actuators[a].line == line)
			return (int)a;
	return -1;
}

const char *
interlock_actuator_name(const struct interlock *il, int a)
{
	return a >= 0 && (size_t)a < il->layout->n_actuators ? il->layout->actuators[a].name : "?";
}

const char *
interlock_reason(const struct interlock *il, int a)
{
	const struct il_inputs *in = &il->in;
	const struct il_layout *l = il->layout;

	if (a < 0 || (size_t)a >= l->n_actuators)
		return "not an output of the workshop";
	if (in->estop_pressed)
		return "the emergency stop is pressed";
	if (il->latched)
		return "the emergency stop is latched: a technician must reset it";
	if (!(in->links_up & (1ull << IL_LINK_GPIO)))
		return l->links[IL_LINK_GPIO].reason;
	uint64_t blocking = l->actuators[a].guards & in->blocked;
	if (blocking)
		return l->guards[__builtin_ctzll(blocking)].reason;
	uint64_t down = l->actuators[a].links & ~in->links_up;
	if (down)
		return l->links[__builtin_ctzll(down)].reason;
	return NULL;
}

bool
interlock_permits(const struct interlock *il, int a)
{
	return a >= 0 && (size_t)a < il->layout->n_actuators && ((il->permitted >> a) & 1u);
}

const char *
interlock_reason_line(const struct interlock *il, int line)
{
	return interlock_reason(il, interlock_actuator_of_line(il->layout, line));
}

static uint64_t
permitted_now(const struct interlock *il)
{
	uint64_t mask = 0;
	for (size_t a = 0; a < il->layout->n_actuators; a++)
		if (!interlock_reason(il, (int)a))
			mask |= 1ull << a;
	return mask;
}

void
interlock_init(struct interlock *il, const struct il_layout *layout)
{
	memset(il, 0, sizeof *il);
	il->layout = layout;
}

uint64_t
interlock_update(struct interlock *il, const struct il_inputs *in)
{
	uint64_t before = il->permitted;

	il->in = *in;
	if (in->estop_pressed)
		il->latched = true;
	il->permitted = permitted_now(il);
	return before & ~il->permitted;
}

enum il_reset_result
interlock_reset(struct interlock *il)
{
	if (!il->latched)
		return IL_RESET_NOT_LATCHED;
	if (il->in.estop_pressed)
		return IL_RESET_STILL_PRESSED;
	il->latched = false;
	il->permitted = permitted_now(il);
	return IL_RESET_DONE;
}
