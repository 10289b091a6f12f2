/*
 * fuzz_acl: an export's access list (segd/acl.c acl_parse), "NODE:r,
 * NODE:rw", as segctl export gives it; then acl_perm against names and
 * addresses taken from the same input.
 */
#include <string.h>

#include "fuzz.h"
#include "segd.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct acl_ent acl[ACL_MAX];
	struct segerr e;
	char *text;
	int n, i, max;

	if (size == 0)
		return 0;
	max = 1 + data[0] % ACL_MAX;	/* the room the caller gives */
	text = malloc(size);		/* NUL-terminated, exactly */
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	memset(&e, 0, sizeof e);
	n = acl_parse(text, acl, max, &e);
	if (n < 0) {
		FUZZ_ASSERT(e.code != 0 && e.msg[0] != '\0');
		free(text);
		return 0;
	}
	FUZZ_ASSERT(n <= max);
	for (i = 0; i < n; i++) {
		FUZZ_ASSERT(memchr(acl[i].node, '\0', sizeof acl[i].node));
		FUZZ_ASSERT(acl[i].perm == SEGW_RD ||
		    acl[i].perm == (SEGW_RD | SEGW_WR));
		/* every entry grants its own node at least read */
		FUZZ_ASSERT(acl_perm(acl, n, acl[i].node, "192.0.2.1") &
		    SEGW_RD);
	}
	(void)acl_perm(acl, n, text, text);
	free(text);
	return 0;
}
