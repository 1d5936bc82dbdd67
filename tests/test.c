/* Counters behind tests/test.h, linked into every unit-test program. */
#include "test.h"

int test_case_failed;
int test_cases_passed, test_cases_failed;

int
test_summary(void)
{
	printf("%d passed, %d failed\n", test_cases_passed, test_cases_failed);
	return test_cases_failed ? 1 : 0;
}
