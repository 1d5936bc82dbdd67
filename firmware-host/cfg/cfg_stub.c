/* Placeholder until the configuration loader lands. */
#include "cfg/cfg.h"
