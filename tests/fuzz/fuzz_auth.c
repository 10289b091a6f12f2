/*
 * fuzz_auth: the keyed handshake's decoders (proto/segwire.c), as
 * peer_cm.c meets them: the input as a connect's private data
 * (segp_connect_decode, a keyed one above all) and as an accept's
 * (segp_accept_decode), each an exact-size copy so that a read past it is
 * caught.  What decodes must
 * encode again to the same fields; the MAC inputs made from it must be
 * what their layouts say.
 */
#include <string.h>

#include "fuzz.h"
#include "segwire.h"

static uint8_t *
exact(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);

	if (copy == NULL)
		abort();
	if (size)
		memcpy(copy, data, size);
	return copy;
}

static void
as_connect(const uint8_t *data, size_t size)
{
	struct segp_connect c, c2;
	uint8_t buf[SEGP_CONNECT_MAX], in[SEGP_CONNECT_MACIN], addr[16];
	uint8_t *copy = exact(data, size);
	const char *why = NULL;
	size_t n;

	if (segp_connect_decode(size ? copy : NULL, size, &c, &why) < 0) {
		FUZZ_ASSERT(why != NULL);
		free(copy);
		return;
	}
	FUZZ_ASSERT(c.vmin >= 1 && c.vmin <= c.vmax);
	n = segp_connect_encode(buf, sizeof buf, &c);
	FUZZ_ASSERT(n > 0 && n <= size);
	FUZZ_ASSERT(memcmp(buf, copy, 8) == 0);	/* magic and versions */
	FUZZ_ASSERT(segp_connect_decode(buf, n, &c2, &why) == 0);
	FUZZ_ASSERT(c2.magic == c.magic && c2.vmin == c.vmin &&
	    c2.vmax == c.vmax);
	if (c.magic == SEGP_CONNECT_AUTH) {
		FUZZ_ASSERT(n == sizeof(struct segp_connect_auth_wire));
		FUZZ_ASSERT(memcmp(c2.nonce, c.nonce, SEGP_NONCELEN) == 0);
		FUZZ_ASSERT(memcmp(c2.tag, c.tag, SEGP_TAGLEN) == 0);
		memset(addr, 0xab, sizeof addr);
		segp_connect_macin(in, &c, addr, 7450);
		FUZZ_ASSERT(memcmp(in + 16, copy, 24) == 0);
		FUZZ_ASSERT(memcmp(in + 40, addr, 16) == 0);
	} else
		FUZZ_ASSERT(c.magic == SEGP_CONNECT_CTRL ||
		    c.magic == SEGP_CONNECT_DATA);
	free(copy);
}

static void
as_accept(const uint8_t *data, size_t size)
{
	uint8_t nonce[SEGP_NONCELEN], buf[64], n2[SEGP_NONCELEN];
	uint8_t *copy = exact(data, size);
	const char *why = NULL;
	size_t n;

	if (segp_accept_decode(size ? copy : NULL, size, nonce, &why) < 0) {
		FUZZ_ASSERT(why != NULL);
		free(copy);
		return;
	}
	FUZZ_ASSERT(size >= sizeof(struct segp_accept_wire));
	n = segp_accept_encode(buf, sizeof buf, nonce);
	FUZZ_ASSERT(n == sizeof(struct segp_accept_wire));
	FUZZ_ASSERT(memcmp(buf, copy, n) == 0);
	FUZZ_ASSERT(segp_accept_decode(buf, n, n2, &why) == 0);
	FUZZ_ASSERT(memcmp(n2, nonce, sizeof n2) == 0);
	free(copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 256)		/* REP private data: at most 196 bytes */
		return 0;
	as_connect(data, size);
	as_accept(data, size);
	return 0;
}
