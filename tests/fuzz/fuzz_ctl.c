/*
 * fuzz_ctl: segment(3)'s ctl messages (segd/ctl.c ctl_parse), as a client
 * or a write to MOUNT/NAME/ctl gives them.  What parses is page-aligned,
 * inside user space, and formats (ctl_format) to a message that parses to
 * the same segment.
 */
#include <string.h>

#include "fuzz.h"
#include "segd.h"

#define PAGE 4096ULL

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctlmsg m, m2;
	struct segerr e;
	char *copy, buf[SEGW_MAXTEXT + 1];
	int n;

	/* an exact-size copy, not NUL-terminated, as the socket gives it */
	copy = malloc(size ? size : 1);
	memcpy(copy, data, size);
	memset(&e, 0, sizeof e);
	if (ctl_parse(copy, size, PAGE, &m, &e) < 0) {
		FUZZ_ASSERT(e.code != 0 && e.msg[0] != '\0');
		free(copy);
		return 0;
	}
	free(copy);
	FUZZ_ASSERT(m.verb > SEG_VERB_NONE && m.verb < SEG_VERB_MAX);
	FUZZ_ASSERT(m.va % PAGE == 0 && m.len % PAGE == 0 && m.len > 0);
	FUZZ_ASSERT(m.va <= SEGD_USER_TOP && m.len <= SEGD_USER_TOP - m.va);
	n = ctl_format(buf, sizeof buf, m.verb, m.va, m.len);
	FUZZ_ASSERT(n > 0 && (size_t)n < sizeof buf);
	FUZZ_ASSERT(ctl_parse(buf, (size_t)n, PAGE, &m2, &e) == 0);
	FUZZ_ASSERT(m2.verb == m.verb && m2.va == m.va && m2.len == m.len);
	return 0;
}
