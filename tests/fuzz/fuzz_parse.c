/*
 * fuzz_parse: proto/segparse.c, the one place names, numbers and addresses
 * are checked: seg_parse_hostport (-l, segctl import), seg_parse_u64
 * (options, ctl messages), seg_name_valid and seg_node_valid.
 */
#include <string.h>

#include "fuzz.h"
#include "segwire.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), *host;
	const char *why = NULL;
	uint16_t port = 0;
	uint64_t v;
	size_t hs;

	memcpy(s, data, size);
	s[size] = '\0';
	/* a host buffer of the input's choosing, exactly that size */
	hs = size ? 1 + data[0] % 80 : 80;
	host = malloc(hs);
	if (seg_parse_hostport(s, host, hs, &port, 7450, &why) == 0) {
		FUZZ_ASSERT(memchr(host, '\0', hs) != NULL);
		FUZZ_ASSERT(strlen(host) > 0);
	} else
		FUZZ_ASSERT(why != NULL);
	if (seg_parse_u64(s, size, &v) == 0) {
		char b[32];
		int n = snprintf(b, sizeof b, "%llu", (unsigned long long)v);
		uint64_t v2;
		FUZZ_ASSERT(seg_parse_u64(b, (size_t)n, &v2) == 0 && v2 == v);
	}
	if (seg_name_valid(s))
		FUZZ_ASSERT(size > 0 && strlen(s) <= SEG_NAMEMAX &&
		    strcmp(s, ".") != 0 && strcmp(s, "..") != 0);
	(void)seg_node_valid(s);
	free(host);
	free(s);
	return 0;
}
