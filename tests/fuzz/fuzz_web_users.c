/* Fuzz target: arbitrary text as the web bench's accounts file. Every
 * user it accepts has a valid name, a known role, an Argon2id-looking hash
 * and a printable display name. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "util.h"
#include "web/web_users.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct web_users users;
	char err[300], why[160];
	if (web_users_parse("fuzz", (const char *)data, size, &users, err, sizeof err) < 0)
		return users.n == 0 ? 0 : (abort(), 0);
	for (size_t i = 0; i < users.n; i++)
		if (!web_user_name_valid(users.u[i].name, why, sizeof why) ||
		    !web_user_display_valid(users.u[i].display, why, sizeof why) ||
		    (users.u[i].role != WEB_ROLE_JEWELLER && users.u[i].role != WEB_ROLE_TECHNICIAN))
			abort();
	return 0;
}
