/*
 * fuzz_segp: the peer protocol's decoders (proto/segwire.c), as
 * peer_msg.c meets a received message: segp_hdr_decode on the header, then
 * segp_msg_decode for the type it names.  The same payload is also tried
 * as every other type, so each type's decoder sees every input.  A
 * message that decodes must encode again (segp_msg_encode refuses only
 * what a decoder would refuse) to a payload that decodes the same.  The
 * input is also tried as an rdma_cm connect's private data.
 */
#include <string.h>

#include "fuzz.h"
#include "segwire.h"

static union segp_msg m, m2;
static uint8_t out[SEGP_MSGSIZE];

static void
one(uint16_t type, const uint8_t *p, size_t len)
{
	const char *why = NULL;
	size_t n;

	if (segp_msg_decode(type, p, len, &m, &why) < 0) {
		FUZZ_ASSERT(why != NULL);
		return;
	}
	n = segp_msg_encode(out, sizeof out, type, &m);
	FUZZ_ASSERT(n == len);
	FUZZ_ASSERT(segp_msg_decode(type, out, n, &m2, &why) == 0);
	FUZZ_ASSERT(segp_msg_encode(out, sizeof out, type, &m2) == n);
	switch (type) {
	case SEGP_HELLO:
		FUZZ_ASSERT(m.hello.vmin >= 1 && m.hello.vmin <= m.hello.vmax);
		FUZZ_ASSERT(seg_node_valid(m.hello.node));
		break;
	case SEGP_LIST_REP:
		FUZZ_ASSERT(m.list_rep.n <= SEGP_LIST_MAX);
		for (n = 0; n < m.list_rep.n; n++)
			FUZZ_ASSERT(seg_name_valid(m.list_rep.ent[n].name));
		break;
	case SEGP_IMPORT:
		FUZZ_ASSERT(seg_name_valid(m.name));
		break;
	case SEGP_IMPORT_REP:
	case SEGP_REBIND:
		FUZZ_ASSERT(m.import_rep.len > 0 &&
		    m.import_rep.va + m.import_rep.len > m.import_rep.va);
		break;
	case SEGP_ERROR:
		FUZZ_ASSERT(m.error.code >= 1 && m.error.code <= 4095);
		FUZZ_ASSERT(strlen(m.error.text) <= SEGW_MAXTEXT);
		break;
	case SEGP_FREE:
		FUZZ_ASSERT(m.free.n >= 1 && m.free.n <= SEGP_FREE_MAX);
		break;
	}
}

/* The whole input as a connect's private data, as peer_cm.c meets it. */
static void
connect_data(const uint8_t *data, size_t size)
{
	struct segp_connect c, c2;
	uint8_t *copy, buf[SEGP_CONNECT_MAX];
	const char *why = NULL;
	size_t n;

	if (size > SEGP_CONNECT_MAX)
		size = SEGP_CONNECT_MAX;
	copy = malloc(size ? size : 1);
	if (size)
		memcpy(copy, data, size);
	if (segp_connect_decode(size ? copy : NULL, size, &c, &why) == 0) {
		FUZZ_ASSERT(c.magic == SEGP_CONNECT_CTRL ||
		    c.magic == SEGP_CONNECT_DATA ||
		    c.magic == SEGP_CONNECT_AUTH);
		FUZZ_ASSERT(c.vmin >= 1 && c.vmin <= c.vmax);
		n = segp_connect_encode(buf, sizeof buf, &c);
		FUZZ_ASSERT(n > 0 && n <= size);
		FUZZ_ASSERT(segp_connect_decode(buf, n, &c2, &why) == 0);
		FUZZ_ASSERT(c2.grant == (c.magic == SEGP_CONNECT_DATA ?
		    c.grant : 0));
	} else
		FUZZ_ASSERT(why != NULL);
	free(copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct segp_hdr h;
	const char *why = NULL;
	uint8_t *copy;
	size_t len;
	uint16_t t;

	if (size > SEGP_MSGSIZE)
		return 0;
	if (segp_hdr_decode(data, size, &h, &why) < 0) {
		FUZZ_ASSERT(why != NULL);
		len = size < SEGP_HDRLEN ? 0 : size - SEGP_HDRLEN;
	} else {
		FUZZ_ASSERT(h.len <= size - SEGP_HDRLEN);
		len = h.len;
	}
	/* an exact-size copy of the payload: a read past it is caught */
	copy = malloc(len ? len : 1);
	if (len)
		memcpy(copy, data + SEGP_HDRLEN, len);
	if (why == NULL)
		one(h.type, copy, len);
	for (t = 0; t <= SEGP_TYPEMAX; t++)
		one(t, copy, len);
	free(copy);
	connect_data(data, size);
	return 0;
}
