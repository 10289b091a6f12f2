/*
 * fuzz_segw: the local protocol's decoders (proto/segwire.c), as segd and
 * libseg meet them.  The input is a stream of frames: each header goes
 * through segw_hdr_parse, and each whole frame's payload through the
 * decoder segd uses for its operation (client.c's client_frame) and
 * through every reply decoder libseg uses.  What decodes must encode again
 * to a payload that decodes to the same thing.
 */
#include <string.h>

#include "fuzz.h"
#include "segwire.h"

static struct segw_iov iov[SEGW_IO_MAXN], iov2[SEGW_IO_MAXN];
static struct segw_addrs addrs, addrs2;
static uint8_t out[SEGW_HDRLEN + SEGW_MAXPAYLOAD];
static uint64_t u64s[SEGW_MAXPAYLOAD / 8 + 1];

static void
request(uint16_t op, const uint8_t *p, size_t len)
{
	struct segw_io io = { .iov = iov }, io2 = { .iov = iov2 };
	struct segw_req r, r2;
	const char *why = NULL;
	size_t n;

	switch (op) {
	case SEGW_IO:
		if (segw_io_decode(p, len, &io, &why) < 0) {
			FUZZ_ASSERT(why != NULL);
			return;
		}
		FUZZ_ASSERT(io.n <= SEGW_IO_MAXN);
		n = segw_io_encode(out, sizeof out, &io);
		FUZZ_ASSERT(n == len);
		FUZZ_ASSERT(segw_io_decode(out, n, &io2, &why) == 0);
		FUZZ_ASSERT(io2.n == io.n && io2.handle == io.handle);
		FUZZ_ASSERT(memcmp(iov, iov2, io.n * sizeof *iov) == 0);
		return;
	case SEGW_ZFREE:
	case SEGW_RFREE:
		if (segw_addrs_decode(p, len, &addrs, &why) < 0) {
			FUZZ_ASSERT(why != NULL);
			return;
		}
		FUZZ_ASSERT(addrs.n >= 1 && addrs.n <= SEGW_ADDRS_MAX);
		n = segw_addrs_encode(out, sizeof out, &addrs);
		FUZZ_ASSERT(n > 0);
		FUZZ_ASSERT(segw_addrs_decode(out, n, &addrs2, &why) == 0);
		FUZZ_ASSERT(addrs2.n == addrs.n && memcmp(addrs2.addrs,
		    addrs.addrs, addrs.n * sizeof addrs.addrs[0]) == 0);
		return;
	}
	if (segw_req_decode(op, p, len, &r, &why) < 0) {
		FUZZ_ASSERT(why != NULL);
		return;
	}
	FUZZ_ASSERT(memchr(r.name, '\0', sizeof r.name) != NULL);
	n = segw_req_encode(out, sizeof out, &r);
	FUZZ_ASSERT(n > 0);
	FUZZ_ASSERT(segw_req_decode(op, out, n, &r2, &why) == 0);
	FUZZ_ASSERT(strcmp(r.name, r2.name) == 0 && r.arg == r2.arg &&
	    r.a == r2.a && r.b == r2.b && r.textlen == r2.textlen &&
	    memcmp(r.text, r2.text, r.textlen) == 0);
}

static void
replies(const uint8_t *p, size_t len)
{
	struct segw_info info;
	struct segw_imp imp;
	const char *text, *why;
	size_t textlen, n;
	uint32_t v;

	if (segw_info_decode(p, len, &info, &text, &textlen, &why) == 0) {
		FUZZ_ASSERT(textlen <= len && textlen <= SEGW_MAXPAYLOAD);
		FUZZ_ASSERT(text == NULL || textlen == 0 ||
		    (text >= (const char *)p && text + textlen <=
		    (const char *)p + len));
		FUZZ_ASSERT(memchr(info.name, '\0', sizeof info.name) != NULL);
	}
	if (segw_imp_decode(p, len, &imp) == 0) {
		struct segw_imp imp2;
		uint8_t b[sizeof(struct segw_imp_wire) +
		    sizeof(struct segw_direct_wire)];

		FUZZ_ASSERT((imp.eflags & ~SEGW_EXP_ALL) == 0);
		n = segw_imp_encode(b, sizeof b, &imp);
		FUZZ_ASSERT(n == len && segw_imp_decode(b, n, &imp2) == 0);
		FUZZ_ASSERT(imp2.eflags == imp.eflags && imp2.rva == imp.rva &&
		    imp2.direct == imp.direct);
	}
	if (segw_version_decode(p, len, &v) == 0) {
		uint8_t b[64];
		uint32_t v2;
		n = segw_version_encode(b, sizeof b, v);
		FUZZ_ASSERT(n > 0 && segw_version_decode(b, n, &v2) == 0 &&
		    v2 == v);
	}
	/* in place, from an aligned copy: as libseg reads FREEREAD */
	if (len <= sizeof u64s) {
		memcpy(u64s, p, len);
		if (segw_u64s_decode(u64s, len, SEGW_FREEREAD_MAX, &n) == 0)
			FUZZ_ASSERT(n * 8 == len && n <= SEGW_FREEREAD_MAX);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	while (size >= SEGW_HDRLEN) {
		struct segw_hdr h;
		const char *why = NULL;
		long need = segw_hdr_parse(data, size, &h, &why);
		uint8_t *copy;

		if (need < 0) {
			FUZZ_ASSERT(why != NULL);
			return 0;
		}
		if (need == 0 || (size_t)need > size)
			return 0;
		FUZZ_ASSERT((size_t)need == SEGW_HDRLEN + h.len);
		/* an exact-size copy: a read past the payload is caught */
		copy = malloc(h.len ? h.len : 1);
		memcpy(copy, data + SEGW_HDRLEN, h.len);
		request(h.op, copy, h.len);
		replies(copy, h.len);
		free(copy);
		data += need;
		size -= (size_t)need;
	}
	return 0;
}
