/*
 * Every GRBL 1.1 error and alarm code with its meaning, from the GRBL 1.1
 * interface documents (error_codes and alarm_codes), worded for the
 * people who read Atelier's messages.
 */
#include "grbl.h"

#include <stddef.h>

static const char *const errors[] = {
	[1] = "expected command letter: a G-code word was given without its letter",
	[2] = "bad number format: a word's value is missing or not a valid number",
	[3] = "invalid statement: the '$' system command is not recognised or supported",
	[4] = "negative value: a value that must be positive was negative",
	[5] = "setting disabled: homing is not enabled in the settings ($22)",
	[6] = "value too small: the step pulse time must be greater than 3 microseconds",
	[7] = "EEPROM read failed: the affected settings were restored to their defaults",
	[8] = "not idle: this '$' command can only be used while GRBL is idle",
	[9] = "G-code locked: G-code is refused in the alarm or jog state; unlock ($X) or home ($H)",
	[10] = "soft limits need homing: soft limits cannot be enabled without homing",
	[11] = "line overflow: the line is longer than GRBL accepts and was not executed",
	[12] = "step rate too high: the setting would exceed the maximum step rate",
	[13] = "check door: the safety door is open",
	[14] = "line length exceeded: the build info or startup line is too long to store",
	[15] = "travel exceeded: the jog target is outside the machine's travel",
	[16] = "invalid jog command: no '=' or a G-code that jogging does not allow",
	[17] = "laser mode requires PWM output",
	[20] = "unsupported command: the block holds an unsupported or invalid G-code",
	[21] = "modal group violation: two commands of the same modal group in one block",
	[22] = "undefined feed rate: no feed rate (F) has been set",
	[23] = "the command needs an integer value",
	[24] = "two commands that both need axis words in one block",
	[25] = "a G-code word is repeated in the block",
	[26] = "no axis words in the block for a command that needs them",
	[27] = "invalid line number",
	[28] = "a required value word is missing",
	[29] = "G59.x work coordinate systems are not supported",
	[30] = "G53 is only allowed with G0 and G1",
	[31] = "axis words in a block where no command uses them",
	[32] = "G2/G3 arcs need at least one axis word in the plane",
	[33] = "invalid motion target (for an arc, the end point is not on the circle)",
	[34] = "invalid arc radius",
	[35] = "G2/G3 arcs need at least one offset word (I, J) in the plane",
	[36] = "unused value words in the block",
	[37] = "G43.1 tool length offset is not on the configured axis",
	[38] = "tool number greater than the maximum supported",
};

static const char *const alarms[] = {
	[1] = "hard limit triggered: the machine position is likely lost; re-home",
	[2] = "soft limit: the target is outside the machine's travel; position kept, may be unlocked",
	[3] = "reset while moving: the machine position is likely lost; re-home",
	[4] = "probe fail: the probe was not in the expected state before probing",
	[5] = "probe fail: the probe did not touch within the programmed travel",
	[6] = "homing fail: the homing cycle was reset",
	[7] = "homing fail: the safety door was opened during homing",
	[8] = "homing fail: pull-off did not clear the limit switch",
	[9] = "homing fail: no limit switch found within the search distance",
	[10] = "homing fail: the second switch of a dual axis did not trigger",
};

const char *
grbl_error_text(int code)
{
	if (code > 0 && (size_t)code < sizeof errors / sizeof errors[0] && errors[code])
		return errors[code];
	return "unknown GRBL error code";
}

const char *
grbl_alarm_text(int code)
{
	if (code > 0 && (size_t)code < sizeof alarms / sizeof alarms[0] && alarms[code])
		return alarms[code];
	return "unknown GRBL alarm code";
}
