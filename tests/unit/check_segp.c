/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * check_segp.c: the peer protocol's codecs (proto/segwire.c): segp headers
 * and every segp message, the version ranges in HELLO, the local address
 * list and version reply, and the shared name and host:port parsers
 * (proto/segparse.c).  Valid values round trip; truncated, oversized and
 * garbage input is refused with a reason, never read past, and what is
 * accepted is what the encoder writes; an encoder refuses what a decoder
 * would refuse and never writes past its buffer.
 */
#include <check.h>
#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "segwire.h"
#include "testbytes.h"

#define HELLOLEN  sizeof(struct segp_hello_wire)
#define NAMELEN   sizeof(struct segp_name_wire)
#define ENTLEN    sizeof(struct segp_ent_wire)
#define LREPLEN   sizeof(struct segp_list_rep_wire)
#define IREPLEN   sizeof(struct segp_import_rep_wire)
#define TICKETLEN sizeof(struct segp_ticket_wire)
#define EFLAGSLEN sizeof(struct segp_eflags_wire)
#define ERRLEN    sizeof(struct segp_error_wire)
#define FREELEN   sizeof(struct segp_free_wire)
#define ADDRSLEN  sizeof(struct segw_addrs_wire)
#define SENTINEL  0xa5
#define NODE_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" \
	"0123456789._-"

/*
 * The payload size of each fixed-size type, from the protocol's
 * definition (header comment of segwire.h); -1 for the types sized by a
 * count.  Written out here rather than asked of the code under test.
 */
static long
fixed_size(uint16_t type)
{
	switch (type) {
	case SEGP_HELLO:	return 80;
	case SEGP_CREDIT:	return 0;
	case SEGP_LIST:		return 8;
	case SEGP_IMPORT:	return 72;
	case SEGP_UNIMPORT:
	case SEGP_REVOKE:
	case SEGP_SIGNAL:
	case SEGP_TICKET:	return 8;
	case SEGP_ALIVE:	return 16;
	case SEGP_ACK:		return 0;
	case SEGP_AUTH:		return 32;
	default:		return -1;
	}
}

/* ---- fixture: messages, a wire buffer with a sentinel, a generator ---- */

static union segp_msg in, out;
static uint8_t wire[2 * SEGP_MSGSIZE];
static uint64_t rng;

static void
setup(void)
{
	memset(&in, 0, sizeof in);
	memset(&out, 0x5a, sizeof out);
	memset(wire, SENTINEL, sizeof wire);
	rng = 0x9e3779b97f4a7c15ULL;
}

static const struct ck_fix fix = { .setup = setup };

/* xorshift64*: the same sequence on every run */
static uint64_t
rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dULL;
}

static uint32_t
rnd_below(uint32_t n)
{
	return (uint32_t)(rnd() % n);
}

static void
rnd_fill(uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)rnd();
}

/* n bytes that make a valid name, one in odds times with one random byte */
static void
rnd_name(uint8_t *p, size_t n, uint32_t odds)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)NODE_CHARS[rnd_below(sizeof NODE_CHARS - 1)];
	if (rnd_below(odds) == 0)
		p[rnd_below((uint32_t)n)] = (uint8_t)rnd();
}

/* ---- helpers ---- */

/* Decode len bytes of p (copied to an exact block); the decoder's result. */
static int
decode(uint16_t type, const uint8_t *p, size_t len, union segp_msg *m,
    const char **why)
{
	uint8_t *b = dup_exact(p, len);
	int rc;

	*why = NULL;
	rc = segp_msg_decode(type, b, len, m, why);
	free(b);
	return rc;
}

#define expect_ok(type, p, len) do {					\
	const char *why_;						\
	int rc_ = decode((type), (p), (len), &out, &why_);		\
	ck_assert_msg(rc_ == 0, "type %u, %zu bytes refused: %s",	\
	    (unsigned)(type), (size_t)(len), why_ ? why_ : "(no reason)"); \
} while (0)

#define expect_refused(type, p, len) do {				\
	const char *why_;						\
	int rc_ = decode((type), (p), (len), &out, &why_);		\
	ck_assert_msg(rc_ == -1, "type %u, %zu bytes accepted",		\
	    (unsigned)(type), (size_t)(len));				\
	ck_assert_ptr_nonnull(why_);					\
	ck_assert_uint_gt(strlen(why_), 0);				\
} while (0)

/*
 * The first byte of wire from `from` on that is not the sentinel, or the
 * size of wire.  (One assertion on its result rather than one a byte: each
 * passing assertion is a message to the runner.)
 */
static size_t
written_past(size_t from)
{
	while (from < sizeof wire && wire[from] == SENTINEL)
		from++;
	return from;
}

/* Encode m into wire (size bytes), asserting nothing is written past it. */
static size_t
encode(uint16_t type, const union segp_msg *m, size_t size)
{
	size_t n, i;

	ck_assert_uint_le(size, sizeof wire);
	memset(wire, SENTINEL, sizeof wire);
	n = segp_msg_encode(wire, size, type, m);
	ck_assert_uint_le(n, size);
	i = written_past(n);
	ck_assert_msg(i == sizeof wire, "type %u: byte %zu written past the "
	    "%zu returned", (unsigned)type, i, n);
	return n;
}

static void
name_fill(char *dst, size_t n, char c)
{
	memset(dst, c, n);
	dst[n] = '\0';
}

static void
sample_ent(struct segp_ent *e, unsigned i)
{
	memset(e, 0, sizeof *e);
	snprintf(e->name, sizeof e->name, "seg-%u", i);
	e->len = 4096ULL << (i % 20);
	e->perm = i % 2 ? SEGW_RD : SEGW_RD | SEGW_WR;
	e->verb = (uint8_t)(SEG_VERB_VA + i % (SEG_VERB_MAX - SEG_VERB_VA));
	e->eflags = i % (SEGW_EXP_ALL + 1);
}

/* A valid message of each type, with ordinary values. */
static void
sample(uint16_t type, union segp_msg *m)
{
	unsigned i;

	memset(m, 0, sizeof *m);
	switch (type) {
	case SEGP_HELLO:
		m->hello.vmin = 1;
		m->hello.vmax = 2;
		m->hello.caps = 5;
		m->hello.port = SEGP_PORT;
		strcpy(m->hello.node, "node-a.example");
		break;
	case SEGP_LIST:
		m->cursor = 17;
		break;
	case SEGP_LIST_REP:
		m->list_rep.next = 9;
		m->list_rep.n = 3;
		for (i = 0; i < 3; i++)
			sample_ent(&m->list_rep.ent[i], i);
		break;
	case SEGP_IMPORT:
		strcpy(m->name, "seg.1");
		break;
	case SEGP_IMPORT_REP:
	case SEGP_REBIND:
		m->import_rep.id = 5;
		m->import_rep.va = 0x7f0000000000ULL;
		m->import_rep.len = 1 << 20;
		m->import_rep.gen = 3;
		m->import_rep.rkey = 0x1234;
		m->import_rep.perm = SEGW_RD | SEGW_WR;
		break;
	case SEGP_UNIMPORT:
	case SEGP_REVOKE:
	case SEGP_SIGNAL:
	case SEGP_TICKET:
		m->id = 0x0102030405060708ULL;
		break;
	case SEGP_ALIVE:
		m->alive.id = 0x0102030405060708ULL;
		m->alive.holder = UINT64_MAX - 1;
		break;
	case SEGP_ERROR:
		m->error.code = ENOENT;
		strcpy(m->error.text, "no such segment");
		break;
	case SEGP_FREE:
		m->free.id = 4;
		m->free.n = 3;
		m->free.addrs[0] = 0x1000;
		m->free.addrs[1] = 0;
		m->free.addrs[2] = UINT64_MAX;
		break;
	case SEGP_AUTH:
		for (i = 0; i < SEGP_PROOFLEN; i++)
			m->proof[i] = (uint8_t)(i * 7 + 3);
		break;
	default:		/* CREDIT, ACK */
		break;
	}
}

/* A sample message of type in in, encoded (len bytes) into good, decoded. */
static void
good_sample(uint16_t type, size_t len, uint8_t *good)
{
	sample(type, &in);
	ck_assert_uint_eq(encode(type, &in, len), len);
	memcpy(good, wire, len);
	expect_ok(type, good, len);
}

/* b: good's len bytes with the name field at off (max bytes long, its
 * 16-bit length at lenoff) made nl bytes of name (none of it if nl > max),
 * the rest of the field 'n'. */
static void
set_name(uint8_t *b, const uint8_t *good, size_t len, size_t off,
    size_t lenoff, size_t max, const char *name, size_t nl)
{
	memcpy(b, good, len);
	memset(b + off, 'n', max);
	memcpy(b + off, name, nl <= max ? nl : 0);
	put_le16(b + lenoff, (uint16_t)nl);
}

/* Segment names a receiver refuses (nl: the length on the wire). */
static const struct {
	size_t nl;
	const char *name;
} bad_names[] = {
	{ 0, "" }, { 1, "." }, { 2, ".." }, { 3, "a/b" }, { 1, "/" },
	{ 3, "a b" }, { 3, "a\0b" }, { 1, "\n" },
	{ SEG_NAMEMAX + 1, "" }, { UINT16_MAX, "" },
};
#define NBAD_NAMES (sizeof bad_names / sizeof bad_names[0])

/* Each bad name at off (its length at lenoff) of good's len bytes is
 * refused by a type receiver. */
static void
expect_bad_names(uint16_t type, const uint8_t *good, size_t len, size_t off,
    size_t lenoff)
{
	uint8_t b[SEGP_MSGSIZE];
	size_t i;

	ck_assert_uint_le(len, sizeof b);
	for (i = 0; i < NBAD_NAMES; i++) {
		set_name(b, good, len, off, lenoff, SEG_NAMEMAX,
		    bad_names[i].name, bad_names[i].nl);
		expect_refused(type, b, len);
	}
}

/* The wire size of sample(type). */
static size_t
sample_size(uint16_t type)
{
	switch (type) {
	case SEGP_IMPORT_REP:		/* without a ticket */
	case SEGP_REBIND:
		return IREPLEN;
	case SEGP_LIST_REP:
		return LREPLEN + 3 * ENTLEN;
	case SEGP_ERROR:
		return ERRLEN + strlen("no such segment");
	case SEGP_FREE:
		return FREELEN + 3 * 8;
	default:
		return (size_t)fixed_size(type);
	}
}

/* The fields of type in a and b are equal. */
static void
msg_eq(uint16_t type, const union segp_msg *a, const union segp_msg *b)
{
	uint32_t i;

	switch (type) {
	case SEGP_HELLO:
		ck_assert_uint_eq(a->hello.vmin, b->hello.vmin);
		ck_assert_uint_eq(a->hello.vmax, b->hello.vmax);
		ck_assert_uint_eq(a->hello.caps, b->hello.caps);
		ck_assert_uint_eq(a->hello.port, b->hello.port);
		ck_assert_str_eq(a->hello.node, b->hello.node);
		break;
	case SEGP_LIST:
		ck_assert_uint_eq(a->cursor, b->cursor);
		break;
	case SEGP_LIST_REP:
		ck_assert_uint_eq(a->list_rep.next, b->list_rep.next);
		ck_assert_uint_eq(a->list_rep.n, b->list_rep.n);
		if (a->list_rep.n > 0)
			ck_assert_uint_eq(a->list_rep.withva, b->list_rep.withva);
		for (i = 0; i < a->list_rep.n; i++) {
			const struct segp_ent *x = &a->list_rep.ent[i];
			const struct segp_ent *y = &b->list_rep.ent[i];

			ck_assert_str_eq(x->name, y->name);
			ck_assert_uint_eq(x->va, y->va);
			ck_assert_uint_eq(x->len, y->len);
			ck_assert_uint_eq(x->perm, y->perm);
			ck_assert_uint_eq(x->verb, y->verb);
			ck_assert_uint_eq(x->eflags, y->eflags);
		}
		break;
	case SEGP_IMPORT:
		ck_assert_str_eq(a->name, b->name);
		break;
	case SEGP_IMPORT_REP:
	case SEGP_REBIND:
		ck_assert_uint_eq(a->import_rep.id, b->import_rep.id);
		ck_assert_uint_eq(a->import_rep.va, b->import_rep.va);
		ck_assert_uint_eq(a->import_rep.len, b->import_rep.len);
		ck_assert_uint_eq(a->import_rep.gen, b->import_rep.gen);
		ck_assert_uint_eq(a->import_rep.rkey, b->import_rep.rkey);
		ck_assert_uint_eq(a->import_rep.perm, b->import_rep.perm);
		ck_assert_int_eq(a->import_rep.witheflags,
		    b->import_rep.witheflags);
		ck_assert_uint_eq(a->import_rep.eflags, b->import_rep.eflags);
		break;
	case SEGP_UNIMPORT:
	case SEGP_REVOKE:
	case SEGP_SIGNAL:
	case SEGP_TICKET:
		ck_assert_uint_eq(a->id, b->id);
		break;
	case SEGP_ALIVE:
		ck_assert_uint_eq(a->alive.id, b->alive.id);
		ck_assert_uint_eq(a->alive.holder, b->alive.holder);
		break;
	case SEGP_ERROR:
		ck_assert_uint_eq(a->error.code, b->error.code);
		ck_assert_str_eq(a->error.text, b->error.text);
		break;
	case SEGP_FREE:
		ck_assert_uint_eq(a->free.id, b->free.id);
		ck_assert_uint_eq(a->free.n, b->free.n);
		ck_assert_uint_eq(a->free.seq, b->free.seq);
		for (i = 0; i < a->free.n; i++)
			ck_assert_uint_eq(a->free.addrs[i], b->free.addrs[i]);
		break;
	case SEGP_AUTH:
		ck_assert_mem_eq(a->proof, b->proof, SEGP_PROOFLEN);
		break;
	default:
		break;
	}
}

static int
perm_ok(unsigned perm)
{
	return perm == SEGW_RD || perm == (SEGW_RD | SEGW_WR);
}

/* A decoded message holds what segwire.h promises of its type. */
static void
msg_holds(uint16_t type, const union segp_msg *m)
{
	uint32_t i;

	switch (type) {
	case SEGP_HELLO:
		ck_assert_uint_ge(m->hello.vmin, 1);
		ck_assert_uint_ge(m->hello.vmax, m->hello.vmin);
		ck_assert(seg_node_valid(m->hello.node));
		break;
	case SEGP_LIST_REP:
		ck_assert_uint_le(m->list_rep.n, SEGP_LIST_MAX);
		for (i = 0; i < m->list_rep.n; i++) {
			const struct segp_ent *e = &m->list_rep.ent[i];

			ck_assert(seg_name_valid(e->name));
			ck_assert(perm_ok(e->perm));
			ck_assert(e->verb > SEG_VERB_NONE &&
			    e->verb < SEG_VERB_MAX);
		}
		break;
	case SEGP_IMPORT:
		ck_assert(seg_name_valid(m->name));
		break;
	case SEGP_IMPORT_REP:
	case SEGP_REBIND:
		ck_assert_uint_ne(m->import_rep.len, 0);
		ck_assert_uint_le(m->import_rep.va,
		    UINT64_MAX - m->import_rep.len);
		ck_assert(perm_ok(m->import_rep.perm));
		break;
	case SEGP_ERROR:
		ck_assert(m->error.code >= 1 && m->error.code <= 4095);
		ck_assert_uint_le(strlen(m->error.text), SEGW_MAXTEXT);
		break;
	case SEGP_FREE:
		ck_assert(m->free.n >= 1 && m->free.n <= SEGP_FREE_MAX);
		break;
	default:
		break;
	}
}

/* zero the name bytes past nl in a name field of SEG_NAMEMAX bytes */
static void
canon_name(uint8_t *name, unsigned nl)
{
	if (nl < SEG_NAMEMAX)
		memset(name + nl, 0, SEG_NAMEMAX - nl);
}

/*
 * The bytes an encoder writes for an accepted payload p: padding and the
 * bytes past a name's length are zero, and HELLO's vmax is 0 for a peer
 * speaking version 1 alone (a version-1 peer's 0 means vmax = vmin).
 */
static void
canon(uint16_t type, uint8_t *p, size_t len)
{
	uint32_t i, n;

	switch (type) {
	case SEGP_HELLO: {
		uint8_t *f = p + offsetof(struct segp_hello_wire, vmax);
		uint32_t vmax = get_le32(f);

		if (vmax == 0)
			vmax = get_le32(p + offsetof(struct segp_hello_wire,
			    vmin));
		put_le32(f, vmax > 1 ? vmax : 0);
		canon_name(p + offsetof(struct segp_hello_wire, node),
		    get_le16(p + offsetof(struct segp_hello_wire, nodelen)));
		break;
	}
	case SEGP_LIST:
		memset(p + offsetof(struct segp_list_wire, pad), 0, 4);
		break;
	case SEGP_IMPORT:
		memset(p + offsetof(struct segp_name_wire, pad), 0, 6);
		canon_name(p + offsetof(struct segp_name_wire, name),
		    get_le16(p));
		break;
	case SEGP_LIST_REP:
		n = get_le32(p + offsetof(struct segp_list_rep_wire, n));
		for (i = 0; i < n; i++) {
			uint8_t *e = p + LREPLEN + i * ENTLEN;

			canon_name(e + offsetof(struct segp_ent_wire, name),
			    get_le16(e));
		}
		break;
	default:
		break;
	}
	(void)len;
}

/*
 * An accepted payload (in out) re-encodes to its canonical bytes, which
 * decode to the same fields.
 */
static void
reencode_same(uint16_t type, const uint8_t *p, size_t len)
{
	static union segp_msg again;
	uint8_t *want = dup_exact(p, len);
	const char *why;
	size_t n;

	canon(type, want, len);
	n = encode(type, &out, SEGP_PAYLOADMAX);
	ck_assert_msg(n == len, "type %u: %zu bytes accepted, re-encoded to "
	    "%zu", (unsigned)type, len, n);
	ck_assert_mem_eq(wire, want, len);
	free(want);
	ck_assert_int_eq(decode(type, wire, n, &again, &why), 0);
	msg_eq(type, &out, &again);
}

/* ---- header ---- */

START_TEST(hdr_layout_and_round_trip)
{
	struct segp_hdr h = { .type = SEGP_LIST, .flags = 0x0102,
	    .len = 8, .credits = SEGP_CREDITS, .tag = 0xa1b2c3d4 };
	struct segp_hdr d;
	uint8_t b[SEGP_HDRLEN + 8];
	static const uint8_t want[SEGP_HDRLEN] = { SEGP_LIST, 0, 0x02, 0x01,
	    8, 0, 0, 0, SEGP_CREDITS, 0, 0, 0, 0xd4, 0xc3, 0xb2, 0xa1 };
	const char *why = NULL;
	uint8_t *x;

	memset(b, 0, sizeof b);
	segp_hdr_encode(b, &h);
	ck_assert_mem_eq(b, want, SEGP_HDRLEN);
	x = dup_exact(b, sizeof b);
	memset(&d, 0x77, sizeof d);
	ck_assert_int_eq(segp_hdr_decode(x, sizeof b, &d, &why), 0);
	free(x);
	ck_assert_uint_eq(d.type, h.type);
	ck_assert_uint_eq(d.flags, h.flags);
	ck_assert_uint_eq(d.len, h.len);
	ck_assert_uint_eq(d.credits, h.credits);
	ck_assert_uint_eq(d.tag, h.tag);
}
END_TEST

/* hdr_decode of a message of got bytes whose header is h */
static int
hdr_try(const struct segp_hdr *h, size_t got, const char **why)
{
	uint8_t *b = malloc(got ? got : 1);
	struct segp_hdr d;
	int rc;

	ck_assert_ptr_nonnull(b);
	memset(b, 0, got);
	if (got >= SEGP_HDRLEN)
		segp_hdr_encode(b, h);
	*why = NULL;
	rc = segp_hdr_decode(b, got, &d, why);
	free(b);
	if (rc == 0)
		ck_assert_uint_eq(d.len, got - SEGP_HDRLEN);
	else
		ck_assert(*why != NULL && **why != '\0');
	return rc;
}

START_TEST(hdr_size_range)
{
	struct segp_hdr h = { .type = SEGP_LIST_REP };
	const char *why;
	size_t got;

	for (got = 0; got < SEGP_HDRLEN; got++) {
		h.len = 0;
		ck_assert_int_eq(hdr_try(&h, got, &why), -1);
	}
	/* the largest message is accepted, one byte more is not */
	h.len = SEGP_PAYLOADMAX;
	ck_assert_int_eq(hdr_try(&h, SEGP_MSGSIZE, &why), 0);
	h.len = SEGP_PAYLOADMAX + 1;
	ck_assert_int_eq(hdr_try(&h, SEGP_MSGSIZE + 1, &why), -1);
	/* a header alone, for a type without payload */
	h.type = SEGP_CREDIT;
	h.len = 0;
	ck_assert_int_eq(hdr_try(&h, SEGP_HDRLEN, &why), 0);
}
END_TEST

START_TEST(hdr_len_mismatch)
{
	struct segp_hdr h = { .type = SEGP_ERROR, .len = 20 };
	const char *why;

	ck_assert_int_eq(hdr_try(&h, SEGP_HDRLEN + 20, &why), 0);
	ck_assert_int_eq(hdr_try(&h, SEGP_HDRLEN + 19, &why), -1);
	ck_assert_int_eq(hdr_try(&h, SEGP_HDRLEN + 21, &why), -1);
	ck_assert_int_eq(hdr_try(&h, SEGP_HDRLEN, &why), -1);
	h.len = UINT32_MAX;
	ck_assert_int_eq(hdr_try(&h, SEGP_MSGSIZE, &why), -1);
	h.len = UINT32_MAX - SEGP_HDRLEN + 1;	/* len + 16 wraps to 0 */
	ck_assert_int_eq(hdr_try(&h, SEGP_HDRLEN, &why), -1);
}
END_TEST

START_TEST(hdr_unknown_type)
{
	static const uint16_t bad[] = { 0, SEGP_TYPEMAX, SEGP_TYPEMAX + 1,
	    0x100, UINT16_MAX };
	struct segp_hdr h = { .len = 8 };
	const char *why;
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		h.type = bad[i];
		ck_assert_int_eq(hdr_try(&h, SEGP_HDRLEN + 8, &why), -1);
	}
	for (h.type = 1; h.type < SEGP_TYPEMAX; h.type++) {
		long want = fixed_size(h.type);

		h.len = want >= 0 ? (uint32_t)want : 8;
		ck_assert_int_eq(hdr_try(&h, SEGP_HDRLEN + h.len, &why), 0);
	}
}
END_TEST

START_TEST(hdr_credits)
{
	struct segp_hdr h = { .type = SEGP_CREDIT };
	const char *why;

	h.credits = SEGP_CREDITS;
	ck_assert_int_eq(hdr_try(&h, SEGP_HDRLEN, &why), 0);
	h.credits = SEGP_CREDITS + 1;
	ck_assert_int_eq(hdr_try(&h, SEGP_HDRLEN, &why), -1);
	h.credits = UINT32_MAX;
	ck_assert_int_eq(hdr_try(&h, SEGP_HDRLEN, &why), -1);
}
END_TEST

/* A fixed-size type with one byte less or more than its size is refused. */
START_TEST(hdr_fixed_sizes)
{
	uint16_t type = (uint16_t)_i;
	long want = fixed_size(type);
	struct segp_hdr h = { .type = type };
	const char *why;

	if (want < 0) {
		/* sized by a count: the header takes any length */
		h.len = 1;
		ck_assert_int_eq(hdr_try(&h, SEGP_HDRLEN + 1, &why), 0);
		h.len = SEGP_PAYLOADMAX;
		ck_assert_int_eq(hdr_try(&h, SEGP_MSGSIZE, &why), 0);
		return;
	}
	h.len = (uint32_t)want;
	ck_assert_int_eq(hdr_try(&h, SEGP_HDRLEN + h.len, &why), 0);
	h.len = (uint32_t)want + 1;
	ck_assert_int_eq(hdr_try(&h, SEGP_HDRLEN + h.len, &why), -1);
	if (want > 0) {
		h.len = (uint32_t)want - 1;
		ck_assert_int_eq(hdr_try(&h, SEGP_HDRLEN + h.len, &why), -1);
	}
}
END_TEST

/* ---- every type: round trip, truncated, oversized, small buffers ---- */

START_TEST(msg_round_trip)
{
	uint16_t type = (uint16_t)_i;
	size_t n;

	sample(type, &in);
	n = encode(type, &in, SEGP_PAYLOADMAX);
	ck_assert_uint_eq(n, sample_size(type));
	expect_ok(type, wire, n);
	msg_eq(type, &in, &out);
	msg_holds(type, &out);
}
END_TEST

START_TEST(msg_truncated)
{
	uint16_t type = (uint16_t)_i;
	uint8_t full[SEGP_MSGSIZE];
	size_t n, len;

	sample(type, &in);
	len = encode(type, &in, SEGP_PAYLOADMAX);
	memcpy(full, wire, len);
	expect_ok(type, full, len);
	for (n = 0; n < len; n++)
		expect_refused(type, full, n);
}
END_TEST

START_TEST(msg_oversized)
{
	uint16_t type = (uint16_t)_i;
	uint8_t full[SEGP_PAYLOADMAX + 1];
	size_t len;

	sample(type, &in);
	len = encode(type, &in, SEGP_PAYLOADMAX);
	memset(full, 0, sizeof full);
	memcpy(full, wire, len);
	expect_refused(type, full, len + 1);
	full[len] = 'x';
	expect_refused(type, full, len + 1);
	expect_refused(type, full, SEGP_PAYLOADMAX + 1);
}
END_TEST

/* An encoder given one byte less than it needs writes nothing. */
START_TEST(msg_encode_small)
{
	uint16_t type = (uint16_t)_i;
	size_t need;

	sample(type, &in);
	need = encode(type, &in, sample_size(type));
	ck_assert_uint_eq(need, sample_size(type));
	if (need > 0) {
		ck_assert_uint_eq(encode(type, &in, need - 1), 0);
		ck_assert_uint_eq(wire[0], SENTINEL);
		ck_assert_uint_eq(encode(type, &in, 0), 0);
	}
}
END_TEST

START_TEST(msg_unknown_type)
{
	static const uint16_t bad[] = { 0, SEGP_TYPEMAX, UINT16_MAX };
	uint8_t b[8] = { 0 };
	size_t i;

	sample(SEGP_LIST, &in);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ck_assert_uint_eq(encode(bad[i], &in, sizeof wire), 0);
		ck_assert_uint_eq(wire[0], SENTINEL);
		expect_refused(bad[i], b, 0);
		expect_refused(bad[i], b, sizeof b);
	}
}
END_TEST

/* ---- HELLO ---- */

#define HELLO_AT(f) offsetof(struct segp_hello_wire, f)

START_TEST(hello_layout)
{
	uint8_t want[HELLOLEN];

	in.hello.vmin = 2;
	in.hello.vmax = 0x01020304;
	in.hello.caps = 0xa0b0c0d0;
	in.hello.port = 0x1d2a;
	strcpy(in.hello.node, "n1");
	memset(want, 0, sizeof want);
	put_le32(want + HELLO_AT(vmin), 2);
	put_le32(want + HELLO_AT(caps), 0xa0b0c0d0);
	put_le16(want + HELLO_AT(port), 0x1d2a);
	put_le16(want + HELLO_AT(nodelen), 2);
	put_le32(want + HELLO_AT(vmax), 0x01020304);
	memcpy(want + HELLO_AT(node), "n1", 2);
	ck_assert_uint_eq(encode(SEGP_HELLO, &in, HELLOLEN), HELLOLEN);
	ck_assert_mem_eq(wire, want, HELLOLEN);
}
END_TEST

/* A peer speaking version 1 alone writes 0 where vmax is, as version 1 did. */
START_TEST(hello_v1_encode)
{
	static const uint8_t zero[4];

	sample(SEGP_HELLO, &in);
	in.hello.vmin = in.hello.vmax = 1;
	ck_assert_uint_eq(encode(SEGP_HELLO, &in, HELLOLEN), HELLOLEN);
	ck_assert_uint_eq(get_le32(wire + HELLO_AT(vmin)), 1);
	ck_assert_mem_eq(wire + HELLO_AT(vmax), zero, 4);
	expect_ok(SEGP_HELLO, wire, HELLOLEN);
	ck_assert_uint_eq(out.hello.vmin, 1);
	ck_assert_uint_eq(out.hello.vmax, 1);
	/* 1..2 writes both */
	in.hello.vmax = 2;
	ck_assert_uint_eq(encode(SEGP_HELLO, &in, HELLOLEN), HELLOLEN);
	ck_assert_uint_eq(get_le32(wire + HELLO_AT(vmin)), 1);
	ck_assert_uint_eq(get_le32(wire + HELLO_AT(vmax)), 2);
}
END_TEST

/* What a version-1 segd sends: version 1, a zero field after nodelen. */
START_TEST(hello_v1_decode)
{
	uint8_t b[HELLOLEN];

	memset(b, 0, sizeof b);
	put_le32(b + HELLO_AT(vmin), 1);
	put_le16(b + HELLO_AT(port), SEGP_PORT);
	put_le16(b + HELLO_AT(nodelen), 3);
	memcpy(b + HELLO_AT(node), "old", 3);
	expect_ok(SEGP_HELLO, b, sizeof b);
	ck_assert_uint_eq(out.hello.vmin, 1);
	ck_assert_uint_eq(out.hello.vmax, 1);
	ck_assert_uint_eq(out.hello.port, SEGP_PORT);
	ck_assert_str_eq(out.hello.node, "old");
	/* read right, and refused: this build speaks 2 and up */
	ck_assert_uint_eq(segp_version_pick(out.hello.vmin, out.hello.vmax,
	    SEGP_VERSION_MIN, SEGP_VERSION_MAX), 0);
}
END_TEST

START_TEST(hello_edges)
{
	static const size_t nodelens[] = { 1, SEGP_NODEMAX };
	size_t i, n;

	for (i = 0; i < 2; i++) {
		memset(&in, 0, sizeof in);
		name_fill(in.hello.node, nodelens[i], i ? 'Z' : '9');
		in.hello.vmin = i ? UINT32_MAX : 1;
		in.hello.vmax = UINT32_MAX;
		in.hello.caps = i ? UINT32_MAX : 0;
		in.hello.port = i ? UINT16_MAX : 1;
		n = encode(SEGP_HELLO, &in, HELLOLEN);
		ck_assert_uint_eq(n, HELLOLEN);
		ck_assert_uint_eq(get_le16(wire + HELLO_AT(nodelen)),
		    nodelens[i]);
		expect_ok(SEGP_HELLO, wire, n);
		msg_eq(SEGP_HELLO, &in, &out);
	}
}
END_TEST

/* Each field made bad, in a message that was accepted before. */
START_TEST(hello_decode_refuses)
{
	static const struct {
		size_t nl;
		const char *node;
	} badnode[] = {
		{ 0, "" }, { 3, "a/b" }, { 3, "a b" }, { 3, "a\0b" },
		{ 2, "a\0" }, { 2, "a:" }, { 2, "\xc3\xa4" },
		{ SEGP_NODEMAX + 1, "" }, { UINT16_MAX, "" },
	};
	uint8_t good[HELLOLEN], b[HELLOLEN];
	size_t i;

	good_sample(SEGP_HELLO, HELLOLEN, good);

	memcpy(b, good, HELLOLEN);		/* vmin 0 */
	put_le32(b + HELLO_AT(vmin), 0);
	expect_refused(SEGP_HELLO, b, HELLOLEN);
	put_le32(b + HELLO_AT(vmax), 0);	/* 0, and a version-1 0 */
	expect_refused(SEGP_HELLO, b, HELLOLEN);

	memcpy(b, good, HELLOLEN);		/* vmax < vmin */
	put_le32(b + HELLO_AT(vmin), 3);
	put_le32(b + HELLO_AT(vmax), 2);
	expect_refused(SEGP_HELLO, b, HELLOLEN);
	put_le32(b + HELLO_AT(vmax), 3);	/* = vmin is fine */
	expect_ok(SEGP_HELLO, b, HELLOLEN);

	memcpy(b, good, HELLOLEN);		/* port 0: does not listen */
	put_le16(b + HELLO_AT(port), 0);
	expect_ok(SEGP_HELLO, b, HELLOLEN);
	ck_assert_uint_eq(out.hello.port, 0);

	memcpy(b, good, HELLOLEN);		/* vmax 0 is version 1's only */
	put_le32(b + HELLO_AT(vmin), 3);
	put_le32(b + HELLO_AT(vmax), 0);
	expect_refused(SEGP_HELLO, b, HELLOLEN);

	for (i = 0; i < sizeof badnode / sizeof badnode[0]; i++) {
		set_name(b, good, HELLOLEN, HELLO_AT(node), HELLO_AT(nodelen),
		    SEGP_NODEMAX, badnode[i].node, badnode[i].nl);
		expect_refused(SEGP_HELLO, b, HELLOLEN);
	}
	/* the same bytes with a length that leaves the bad ones out */
	memcpy(b, good, HELLOLEN);
	memcpy(b + HELLO_AT(node), "ab/", 3);
	put_le16(b + HELLO_AT(nodelen), 2);
	expect_ok(SEGP_HELLO, b, HELLOLEN);
	ck_assert_str_eq(out.hello.node, "ab");
}
END_TEST

START_TEST(hello_encode_refuses)
{
	static const char *badnode[] = { "", "a/b", "a b", "a:1", "\xc3\xa4" };
	size_t i;

	sample(SEGP_HELLO, &in);
	in.hello.vmin = 0;
	ck_assert_uint_eq(encode(SEGP_HELLO, &in, sizeof wire), 0);
	in.hello.vmax = 0;
	ck_assert_uint_eq(encode(SEGP_HELLO, &in, sizeof wire), 0);

	sample(SEGP_HELLO, &in);
	in.hello.vmin = 3;
	in.hello.vmax = 2;
	ck_assert_uint_eq(encode(SEGP_HELLO, &in, sizeof wire), 0);

	sample(SEGP_HELLO, &in);		/* port 0: does not listen */
	in.hello.port = 0;
	ck_assert_uint_eq(encode(SEGP_HELLO, &in, sizeof wire), HELLOLEN);

	for (i = 0; i < sizeof badnode / sizeof badnode[0]; i++) {
		sample(SEGP_HELLO, &in);
		strcpy(in.hello.node, badnode[i]);
		ck_assert_uint_eq(encode(SEGP_HELLO, &in, sizeof wire), 0);
	}
	/* 65 characters: the array full, no terminator */
	sample(SEGP_HELLO, &in);
	memset(in.hello.node, 'n', sizeof in.hello.node);
	ck_assert_uint_eq(encode(SEGP_HELLO, &in, sizeof wire), 0);
	ck_assert_uint_eq(wire[0], SENTINEL);
}
END_TEST

START_TEST(version_pick)
{
	static const uint32_t t[][5] = {
		/* amin amax bmin bmax  pick */
		{ 1, 2, 1, 2, 2 },		/* identical */
		{ 1, 1, 1, 1, 1 },
		{ 1, 2, 2, 3, 2 },		/* overlapping */
		{ 2, 3, 1, 2, 2 },
		{ 1, 5, 2, 3, 3 },		/* one inside the other */
		{ 2, 3, 1, 5, 3 },
		{ 1, UINT32_MAX, 7, 9, 9 },
		{ 1, 1, 2, 2, 0 },		/* disjoint */
		{ 3, 4, 1, 2, 0 },
		{ 5, UINT32_MAX, 1, 4, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++)
		ck_assert_msg(segp_version_pick(t[i][0], t[i][1], t[i][2],
		    t[i][3]) == t[i][4], "row %zu", i);
}
END_TEST

/* ---- LIST, LIST_REP ---- */

START_TEST(list_round_trip)
{
	static const uint32_t cursors[] = { 0, 1, UINT32_MAX };
	size_t i;

	for (i = 0; i < 3; i++) {
		in.cursor = cursors[i];
		ck_assert_uint_eq(encode(SEGP_LIST, &in, 8), 8);
		ck_assert_uint_eq(get_le32(wire), cursors[i]);
		ck_assert_uint_eq(get_le32(wire + 4), 0);
		expect_ok(SEGP_LIST, wire, 8);
		ck_assert_uint_eq(out.cursor, cursors[i]);
	}
}
END_TEST

#define ENT_AT(i, f) \
	(LREPLEN + (i) * ENTLEN + offsetof(struct segp_ent_wire, f))

START_TEST(list_rep_layout)
{
	uint8_t want[LREPLEN + ENTLEN];

	in.list_rep.next = 0x11223344;
	in.list_rep.n = 1;
	strcpy(in.list_rep.ent[0].name, "abc");
	in.list_rep.ent[0].len = 0x0102030405060708ULL;
	in.list_rep.ent[0].perm = SEGW_RD;
	in.list_rep.ent[0].verb = SEG_VERB_UMSG;
	in.list_rep.ent[0].eflags = SEGW_EXP_LOCKOPS;
	memset(want, 0, sizeof want);
	put_le32(want, 0x11223344);
	put_le32(want + 4, 1);
	put_le16(want + ENT_AT(0, namelen), 3);
	want[ENT_AT(0, perm)] = SEGW_RD;
	want[ENT_AT(0, verb)] = SEG_VERB_UMSG;
	put_le32(want + ENT_AT(0, eflags), SEGW_EXP_LOCKOPS);
	put_le64(want + ENT_AT(0, len), 0x0102030405060708ULL);
	memcpy(want + ENT_AT(0, name), "abc", 3);
	ck_assert_uint_eq(encode(SEGP_LIST_REP, &in, sizeof want), sizeof want);
	ck_assert_mem_eq(wire, want, sizeof want);
	expect_ok(SEGP_LIST_REP, wire, sizeof want);
	ck_assert_uint_eq(out.list_rep.ent[0].eflags, SEGW_EXP_LOCKOPS);
	/* an unknown export flag: refused both ways */
	put_le32(wire + ENT_AT(0, eflags), SEGW_EXP_ALL + 1);
	expect_refused(SEGP_LIST_REP, wire, sizeof want);
	in.list_rep.ent[0].eflags = SEGW_EXP_ALL + 1;
	ck_assert_uint_eq(encode(SEGP_LIST_REP, &in, sizeof want), 0);
}
END_TEST

START_TEST(list_rep_empty)
{
	in.list_rep.next = 0;
	in.list_rep.n = 0;
	ck_assert_uint_eq(encode(SEGP_LIST_REP, &in, LREPLEN), LREPLEN);
	expect_ok(SEGP_LIST_REP, wire, LREPLEN);
	ck_assert_uint_eq(out.list_rep.n, 0);
	ck_assert_uint_eq(out.list_rep.next, 0);
}
END_TEST

/* A full page: names of 1 and 64 bytes, both perms, every verb, len extremes */
START_TEST(list_rep_full)
{
	size_t want = LREPLEN + SEGP_LIST_MAX * ENTLEN, n;
	unsigned i;

	in.list_rep.next = UINT32_MAX;
	in.list_rep.n = SEGP_LIST_MAX;
	for (i = 0; i < SEGP_LIST_MAX; i++)
		sample_ent(&in.list_rep.ent[i], i);
	name_fill(in.list_rep.ent[0].name, 1, 'x');
	name_fill(in.list_rep.ent[1].name, SEG_NAMEMAX, 'y');
	name_fill(in.list_rep.ent[2].name, SEG_NAMEMAX, '.');
	in.list_rep.ent[0].len = 0;
	in.list_rep.ent[1].len = UINT64_MAX;
	n = encode(SEGP_LIST_REP, &in, want);
	ck_assert_uint_eq(n, want);
	expect_ok(SEGP_LIST_REP, wire, n);
	msg_eq(SEGP_LIST_REP, &in, &out);
	msg_holds(SEGP_LIST_REP, &out);
}
END_TEST

START_TEST(list_rep_count)
{
	uint8_t b[SEGP_PAYLOADMAX];
	unsigned i;

	in.list_rep.n = SEGP_LIST_MAX;
	for (i = 0; i < SEGP_LIST_MAX; i++)
		sample_ent(&in.list_rep.ent[i], i);
	ck_assert_uint_eq(encode(SEGP_LIST_REP, &in, sizeof b),
	    LREPLEN + SEGP_LIST_MAX * ENTLEN);
	memset(b, 0, sizeof b);
	memcpy(b, wire, LREPLEN + SEGP_LIST_MAX * ENTLEN);
	/* two entries, and a count of one, of three, of 0 */
	put_le32(b + 4, 2);
	expect_ok(SEGP_LIST_REP, b, LREPLEN + 2 * ENTLEN);
	put_le32(b + 4, 1);
	expect_refused(SEGP_LIST_REP, b, LREPLEN + 2 * ENTLEN);
	put_le32(b + 4, 3);
	expect_refused(SEGP_LIST_REP, b, LREPLEN + 2 * ENTLEN);
	put_le32(b + 4, 0);
	expect_refused(SEGP_LIST_REP, b, LREPLEN + 2 * ENTLEN);
	/* a length that is not a whole number of entries */
	put_le32(b + 4, 2);
	expect_refused(SEGP_LIST_REP, b, LREPLEN + 2 * ENTLEN + 1);
	expect_refused(SEGP_LIST_REP, b, LREPLEN + 2 * ENTLEN - 1);
	/* one entry past the limit, with the length to match: it fits */
	ck_assert_uint_le(LREPLEN + (SEGP_LIST_MAX + 1) * ENTLEN,
	    SEGP_PAYLOADMAX);
	memcpy(b + LREPLEN + SEGP_LIST_MAX * ENTLEN, b + LREPLEN, ENTLEN);
	put_le32(b + 4, SEGP_LIST_MAX);
	expect_ok(SEGP_LIST_REP, b, LREPLEN + SEGP_LIST_MAX * ENTLEN);
	put_le32(b + 4, SEGP_LIST_MAX + 1);
	expect_refused(SEGP_LIST_REP, b,
	    LREPLEN + (SEGP_LIST_MAX + 1) * ENTLEN);
	/* a count whose product with the entry size wraps 32 bits to 2's */
	put_le32(b + 4, (1u << 28) + 2);
	expect_refused(SEGP_LIST_REP, b, LREPLEN + 2 * ENTLEN);
	put_le32(b + 4, UINT32_MAX);
	expect_refused(SEGP_LIST_REP, b, LREPLEN + 2 * ENTLEN);
}
END_TEST

/* The second of two entries made bad; the first stays good. */
START_TEST(list_rep_bad_entry)
{
	static const uint8_t badperm[] = { 0, SEGW_WR, 1, SEGW_RD | 1,
	    SEGW_RD | SEGW_WR | 1, 0xff };
	static const uint8_t badverb[] = { SEG_VERB_NONE, SEG_VERB_MAX, 0xff };
	size_t len = LREPLEN + 2 * ENTLEN, i;
	uint8_t good[LREPLEN + 2 * ENTLEN], b[LREPLEN + 2 * ENTLEN];

	in.list_rep.n = 2;
	sample_ent(&in.list_rep.ent[0], 0);
	sample_ent(&in.list_rep.ent[1], 1);
	ck_assert_uint_eq(encode(SEGP_LIST_REP, &in, len), len);
	memcpy(good, wire, len);
	expect_ok(SEGP_LIST_REP, good, len);

	expect_bad_names(SEGP_LIST_REP, good, len, ENT_AT(1, name),
	    ENT_AT(1, namelen));
	for (i = 0; i < sizeof badperm; i++) {
		memcpy(b, good, len);
		b[ENT_AT(1, perm)] = badperm[i];
		expect_refused(SEGP_LIST_REP, b, len);
	}
	for (i = 0; i < sizeof badverb; i++) {
		memcpy(b, good, len);
		b[ENT_AT(1, verb)] = badverb[i];
		expect_refused(SEGP_LIST_REP, b, len);
	}
	/* every good perm and verb */
	memcpy(b, good, len);
	for (i = SEG_VERB_VA; i < SEG_VERB_MAX; i++) {
		b[ENT_AT(1, verb)] = (uint8_t)i;
		b[ENT_AT(1, perm)] = SEGW_RD;
		expect_ok(SEGP_LIST_REP, b, len);
		b[ENT_AT(1, perm)] = SEGW_RD | SEGW_WR;
		expect_ok(SEGP_LIST_REP, b, len);
		ck_assert_uint_eq(out.list_rep.ent[1].verb, i);
	}
}
END_TEST

/* ---- version 3: LIST_REP entries with the exporter's address ---- */

#define ENT3LEN sizeof(struct segp_ent3_wire)
#define ENT3_AT(i, f) (LREPLEN + (i) * ENT3LEN + offsetof(struct segp_ent_wire, f))
#define ENT3_VA(i) (LREPLEN + (i) * ENT3LEN + offsetof(struct segp_ent3_wire, va))

START_TEST(list_rep3_layout)
{
	uint8_t want[LREPLEN + ENT3LEN];

	ck_assert_uint_eq(ENT3LEN, 88);
	in.list_rep.next = 7;
	in.list_rep.n = 1;
	in.list_rep.withva = 1;
	strcpy(in.list_rep.ent[0].name, "abc");
	in.list_rep.ent[0].va = 0x200000000000ULL;
	in.list_rep.ent[0].len = 0x100000;
	in.list_rep.ent[0].perm = SEGW_RD | SEGW_WR;
	in.list_rep.ent[0].verb = SEG_VERB_VA;
	memset(want, 0, sizeof want);
	put_le32(want, 7);
	put_le32(want + 4, 1);
	put_le16(want + ENT3_AT(0, namelen), 3);
	want[ENT3_AT(0, perm)] = SEGW_RD | SEGW_WR;
	want[ENT3_AT(0, verb)] = SEG_VERB_VA;
	put_le64(want + ENT3_AT(0, len), 0x100000);
	memcpy(want + ENT3_AT(0, name), "abc", 3);
	put_le64(want + ENT3_VA(0), 0x200000000000ULL);
	ck_assert_uint_eq(encode(SEGP_LIST_REP, &in, sizeof want), sizeof want);
	ck_assert_mem_eq(wire, want, sizeof want);
	expect_ok(SEGP_LIST_REP, wire, sizeof want);
	ck_assert_uint_eq(out.list_rep.withva, 1);
	ck_assert_uint_eq(out.list_rep.ent[0].va, 0x200000000000ULL);
	msg_eq(SEGP_LIST_REP, &in, &out);
}
END_TEST

/* A full page of version 3 holds SEGP_LIST3_MAX entries; one more is refused. */
START_TEST(list_rep3_full)
{
	size_t want = LREPLEN + SEGP_LIST3_MAX * ENT3LEN;
	unsigned i;

	ck_assert_uint_le(want, SEGP_PAYLOADMAX);
	ck_assert_uint_gt(want + ENT3LEN, SEGP_PAYLOADMAX);
	in.list_rep.n = SEGP_LIST3_MAX;
	in.list_rep.withva = 1;
	for (i = 0; i < SEGP_LIST3_MAX; i++) {
		sample_ent(&in.list_rep.ent[i], i);
		in.list_rep.ent[i].va = 0x100000000000ULL + i * 0x100000000ULL;
	}
	in.list_rep.ent[0].va = 1;
	in.list_rep.ent[1].va = UINT64_MAX - in.list_rep.ent[1].len;
	ck_assert_uint_eq(encode(SEGP_LIST_REP, &in, sizeof wire), want);
	expect_ok(SEGP_LIST_REP, wire, want);
	msg_eq(SEGP_LIST_REP, &in, &out);
	in.list_rep.n = SEGP_LIST3_MAX + 1;
	sample_ent(&in.list_rep.ent[SEGP_LIST3_MAX], 0);
	in.list_rep.ent[SEGP_LIST3_MAX].va = 0x1000;
	ck_assert_uint_eq(encode(SEGP_LIST_REP, &in, sizeof wire), 0);
}
END_TEST

/* The form is told by the length: 80-byte or 88-byte entries, nothing else. */
START_TEST(list_rep3_lengths)
{
	uint8_t b[LREPLEN + 3 * ENT3LEN];
	size_t len = LREPLEN + 2 * ENT3LEN;

	in.list_rep.n = 2;
	in.list_rep.withva = 1;
	sample_ent(&in.list_rep.ent[0], 0);
	sample_ent(&in.list_rep.ent[1], 1);
	in.list_rep.ent[0].va = 0x10000000;
	in.list_rep.ent[1].va = 0x20000000;
	ck_assert_uint_eq(encode(SEGP_LIST_REP, &in, sizeof b), len);
	memset(b, 0, sizeof b);
	memcpy(b, wire, len);
	expect_ok(SEGP_LIST_REP, b, len);
	ck_assert_uint_eq(out.list_rep.withva, 1);
	expect_refused(SEGP_LIST_REP, b, len - 1);
	expect_refused(SEGP_LIST_REP, b, len + 1);
	expect_refused(SEGP_LIST_REP, b, LREPLEN + 2 * (ENTLEN + 4));
	expect_refused(SEGP_LIST_REP, b, len + ENT3LEN);	/* count 2, three */
	put_le32(b + 4, 3);
	expect_refused(SEGP_LIST_REP, b, len);
	/* the same entries without addresses: the old form */
	in.list_rep.withva = 0;
	in.list_rep.ent[0].va = in.list_rep.ent[1].va = 0;
	ck_assert_uint_eq(encode(SEGP_LIST_REP, &in, sizeof b),
	    LREPLEN + 2 * ENTLEN);
	expect_ok(SEGP_LIST_REP, wire, LREPLEN + 2 * ENTLEN);
	ck_assert_uint_eq(out.list_rep.withva, 0);
	ck_assert_uint_eq(out.list_rep.ent[1].va, 0);
}
END_TEST

/* An address of 0, or one where the segment would wrap, is refused. */
START_TEST(list_rep3_bad_va)
{
	size_t len = LREPLEN + 2 * ENT3LEN;
	uint8_t good[LREPLEN + 2 * ENT3LEN], b[LREPLEN + 2 * ENT3LEN];

	in.list_rep.n = 2;
	in.list_rep.withva = 1;
	sample_ent(&in.list_rep.ent[0], 0);
	sample_ent(&in.list_rep.ent[1], 1);
	in.list_rep.ent[0].va = 0x10000000;
	in.list_rep.ent[1].va = 0x20000000;
	ck_assert_uint_eq(encode(SEGP_LIST_REP, &in, len), len);
	memcpy(good, wire, len);
	memcpy(b, good, len);
	put_le64(b + ENT3_VA(1), 0);
	expect_refused(SEGP_LIST_REP, b, len);
	put_le64(b + ENT3_VA(1), UINT64_MAX);
	expect_refused(SEGP_LIST_REP, b, len);
	put_le64(b + ENT3_VA(1), UINT64_MAX - in.list_rep.ent[1].len + 1);
	expect_refused(SEGP_LIST_REP, b, len);
	put_le64(b + ENT3_VA(1), UINT64_MAX - in.list_rep.ent[1].len);
	expect_ok(SEGP_LIST_REP, b, len);
	/* the encoder refuses what the decoder would */
	in.list_rep.ent[1].va = 0;
	ck_assert_uint_eq(encode(SEGP_LIST_REP, &in, sizeof wire), 0);
	in.list_rep.ent[1].va = UINT64_MAX;
	ck_assert_uint_eq(encode(SEGP_LIST_REP, &in, sizeof wire), 0);
	/* and an address in the old form, which has no room for it */
	in.list_rep.withva = 0;
	in.list_rep.ent[1].va = 0x20000000;
	ck_assert_uint_eq(encode(SEGP_LIST_REP, &in, sizeof wire), 0);
}
END_TEST

START_TEST(list_rep_encode_refuses)
{
	unsigned i;

	in.list_rep.n = SEGP_LIST_MAX + 1;
	for (i = 0; i < SEGP_LIST_MAX; i++)
		sample_ent(&in.list_rep.ent[i], i);
	ck_assert_uint_eq(encode(SEGP_LIST_REP, &in, sizeof wire), 0);
	in.list_rep.n = UINT32_MAX;
	ck_assert_uint_eq(encode(SEGP_LIST_REP, &in, sizeof wire), 0);

	in.list_rep.n = 2;
	ck_assert_uint_eq(encode(SEGP_LIST_REP, &in, sizeof wire),
	    LREPLEN + 2 * ENTLEN);
	in.list_rep.ent[1].perm = SEGW_WR;
	ck_assert_uint_eq(encode(SEGP_LIST_REP, &in, sizeof wire), 0);
	sample_ent(&in.list_rep.ent[1], 1);
	in.list_rep.ent[1].verb = SEG_VERB_NONE;
	ck_assert_uint_eq(encode(SEGP_LIST_REP, &in, sizeof wire), 0);
	in.list_rep.ent[1].verb = SEG_VERB_MAX;
	ck_assert_uint_eq(encode(SEGP_LIST_REP, &in, sizeof wire), 0);
	sample_ent(&in.list_rep.ent[1], 1);
	strcpy(in.list_rep.ent[1].name, "..");
	ck_assert_uint_eq(encode(SEGP_LIST_REP, &in, sizeof wire), 0);
	in.list_rep.ent[1].name[0] = '\0';
	ck_assert_uint_eq(encode(SEGP_LIST_REP, &in, sizeof wire), 0);
	memset(in.list_rep.ent[1].name, 'n', sizeof in.list_rep.ent[1].name);
	ck_assert_uint_eq(encode(SEGP_LIST_REP, &in, sizeof wire), 0);
	ck_assert_uint_eq(wire[0], SENTINEL);
}
END_TEST

/* ---- IMPORT ---- */

#define NAME_AT(f) offsetof(struct segp_name_wire, f)

START_TEST(import_names)
{
	static const size_t lens[] = { 1, 2, SEG_NAMEMAX };
	uint8_t want[NAMELEN];
	size_t i;

	for (i = 0; i < 3; i++) {
		name_fill(in.name, lens[i], 'q');
		memset(want, 0, sizeof want);
		put_le16(want + NAME_AT(namelen), (uint16_t)lens[i]);
		memset(want + NAME_AT(name), 'q', lens[i]);
		ck_assert_uint_eq(encode(SEGP_IMPORT, &in, NAMELEN), NAMELEN);
		ck_assert_mem_eq(wire, want, NAMELEN);
		expect_ok(SEGP_IMPORT, wire, NAMELEN);
		ck_assert_str_eq(out.name, in.name);
	}
}
END_TEST

START_TEST(import_refuses)
{
	uint8_t good[NAMELEN];
	size_t i;

	good_sample(SEGP_IMPORT, NAMELEN, good);
	expect_bad_names(SEGP_IMPORT, good, NAMELEN, NAME_AT(name),
	    NAME_AT(namelen));
	/* and the encoder will not send them */
	for (i = 0; i < NBAD_NAMES; i++) {
		if (bad_names[i].nl <= SEG_NAMEMAX && memchr(bad_names[i].name,
		    '\0', bad_names[i].nl) == NULL) {
			memset(&in, 0, sizeof in);
			memcpy(in.name, bad_names[i].name, bad_names[i].nl);
			ck_assert_uint_eq(encode(SEGP_IMPORT, &in, sizeof wire),
			    0);
		}
	}
	memset(in.name, 'n', sizeof in.name);	/* 65, no terminator */
	ck_assert_uint_eq(encode(SEGP_IMPORT, &in, sizeof wire), 0);
}
END_TEST

/* ---- IMPORT_REP ---- */

#define IREP_AT(f) offsetof(struct segp_import_rep_wire, f)

START_TEST(import_rep_layout)
{
	uint8_t want[IREPLEN];

	sample(SEGP_IMPORT_REP, &in);
	put_le64(want + IREP_AT(id), in.import_rep.id);
	put_le64(want + IREP_AT(va), in.import_rep.va);
	put_le64(want + IREP_AT(len), in.import_rep.len);
	put_le64(want + IREP_AT(gen), in.import_rep.gen);
	put_le32(want + IREP_AT(rkey), in.import_rep.rkey);
	put_le32(want + IREP_AT(perm), in.import_rep.perm);
	ck_assert_uint_eq(encode(SEGP_IMPORT_REP, &in, IREPLEN), IREPLEN);
	ck_assert_mem_eq(wire, want, IREPLEN);
}
END_TEST

START_TEST(import_rep_edges)
{
	static const uint64_t valen[][2] = {
		{ 0, 1 }, { 0, UINT64_MAX }, { UINT64_MAX - 1, 1 },
		{ 1, UINT64_MAX - 1 }, { 0x1000, 0x1000 },
	};
	size_t i;

	for (i = 0; i < sizeof valen / sizeof valen[0]; i++) {
		memset(&in, 0, sizeof in);
		in.import_rep.id = i ? UINT64_MAX : 0;
		in.import_rep.gen = i ? 0 : UINT64_MAX;
		in.import_rep.rkey = i ? UINT32_MAX : 0;
		in.import_rep.perm = i % 2 ? SEGW_RD : SEGW_RD | SEGW_WR;
		in.import_rep.va = valen[i][0];
		in.import_rep.len = valen[i][1];
		ck_assert_uint_eq(encode(SEGP_IMPORT_REP, &in, IREPLEN),
		    IREPLEN);
		expect_ok(SEGP_IMPORT_REP, wire, IREPLEN);
		msg_eq(SEGP_IMPORT_REP, &in, &out);
	}
}
END_TEST

START_TEST(import_rep_refuses)
{
	static const uint64_t badvalen[][2] = {
		{ 0x1000, 0 }, { 0, 0 }, { 1, UINT64_MAX }, { UINT64_MAX, 1 },
		{ UINT64_MAX - 1, 2 }, { UINT64_MAX, UINT64_MAX },
		{ 0x8000000000000000ULL, 0x8000000000000000ULL },
	};
	static const uint32_t badperm[] = { 0, SEGW_WR, 1, SEGW_RD | 1, 7,
	    SEGW_RD | 0x100, UINT32_MAX };
	uint8_t good[IREPLEN], b[IREPLEN];
	size_t i;

	good_sample(SEGP_IMPORT_REP, IREPLEN, good);
	for (i = 0; i < sizeof badvalen / sizeof badvalen[0]; i++) {
		memcpy(b, good, IREPLEN);
		put_le64(b + IREP_AT(va), badvalen[i][0]);
		put_le64(b + IREP_AT(len), badvalen[i][1]);
		expect_refused(SEGP_IMPORT_REP, b, IREPLEN);
		sample(SEGP_IMPORT_REP, &in);
		in.import_rep.va = badvalen[i][0];
		in.import_rep.len = badvalen[i][1];
		ck_assert_uint_eq(encode(SEGP_IMPORT_REP, &in, sizeof wire), 0);
	}
	for (i = 0; i < sizeof badperm / sizeof badperm[0]; i++) {
		memcpy(b, good, IREPLEN);
		put_le32(b + IREP_AT(perm), badperm[i]);
		expect_refused(SEGP_IMPORT_REP, b, IREPLEN);
		sample(SEGP_IMPORT_REP, &in);
		in.import_rep.perm = badperm[i];
		ck_assert_uint_eq(encode(SEGP_IMPORT_REP, &in, sizeof wire), 0);
	}
	ck_assert_uint_eq(wire[0], SENTINEL);
}
END_TEST

/* ---- UNIMPORT, REVOKE, SIGNAL; CREDIT, ACK ---- */

static const uint16_t idtypes[] = { SEGP_UNIMPORT, SEGP_REVOKE, SEGP_SIGNAL };

START_TEST(id_round_trip)
{
	static const uint64_t ids[] = { 0, 1, 0x0102030405060708ULL,
	    UINT64_MAX };
	uint16_t type = idtypes[_i];
	uint8_t want[8];
	size_t i;

	for (i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		in.id = ids[i];
		put_le64(want, ids[i]);
		ck_assert_uint_eq(encode(type, &in, 8), 8);
		ck_assert_mem_eq(wire, want, 8);
		expect_ok(type, wire, 8);
		ck_assert_uint_eq(out.id, ids[i]);
	}
}
END_TEST

START_TEST(empty_types)
{
	static const uint16_t types[] = { SEGP_CREDIT, SEGP_ACK };
	uint8_t b[4] = { 0 };
	size_t i;

	for (i = 0; i < 2; i++) {
		ck_assert_uint_eq(encode(types[i], NULL, 0), 0);
		ck_assert_uint_eq(encode(types[i], NULL, sizeof wire), 0);
		ck_assert_uint_eq(wire[0], SENTINEL);
		expect_ok(types[i], b, 0);
		expect_refused(types[i], b, 1);
		expect_refused(types[i], b, sizeof b);
	}
}
END_TEST

/* ---- ERROR ---- */

START_TEST(error_round_trip)
{
	static const uint32_t codes[] = { 1, ENOENT, 4095 };
	static const size_t lens[] = { 0, 1, SEGW_MAXTEXT - 1, SEGW_MAXTEXT };
	size_t i, j, n;

	for (i = 0; i < 3; i++)
		for (j = 0; j < 4; j++) {
			memset(&in, 0, sizeof in);
			in.error.code = codes[i];
			name_fill(in.error.text, lens[j], 'e');
			if (lens[j] > 2)
				in.error.text[1] = ' ';
			n = encode(SEGP_ERROR, &in, ERRLEN + lens[j]);
			ck_assert_uint_eq(n, ERRLEN + lens[j]);
			ck_assert_uint_eq(get_le32(wire), codes[i]);
			ck_assert_uint_eq(get_le32(wire + 4), lens[j]);
			ck_assert_mem_eq(wire + ERRLEN, in.error.text, lens[j]);
			expect_ok(SEGP_ERROR, wire, n);
			msg_eq(SEGP_ERROR, &in, &out);
		}
}
END_TEST

START_TEST(error_refuses)
{
	uint8_t b[ERRLEN + SEGW_MAXTEXT + 1];
	size_t len = ERRLEN + 5;

	memset(b, 't', sizeof b);
	put_le32(b, EIO);
	put_le32(b + 4, 5);
	expect_ok(SEGP_ERROR, b, len);
	/* codes */
	put_le32(b, 0);
	expect_refused(SEGP_ERROR, b, len);
	put_le32(b, 4096);
	expect_refused(SEGP_ERROR, b, len);
	put_le32(b, UINT32_MAX);
	expect_refused(SEGP_ERROR, b, len);
	put_le32(b, 4095);
	expect_ok(SEGP_ERROR, b, len);
	/* textlen not the bytes there */
	put_le32(b + 4, 4);
	expect_refused(SEGP_ERROR, b, len);
	put_le32(b + 4, 6);
	expect_refused(SEGP_ERROR, b, len);
	put_le32(b + 4, UINT32_MAX);
	expect_refused(SEGP_ERROR, b, len);
	put_le32(b + 4, UINT32_MAX - ERRLEN + 1);	/* + header wraps */
	expect_refused(SEGP_ERROR, b, len);
	/* a text one byte over the limit, with the length to match */
	put_le32(b + 4, SEGW_MAXTEXT);
	expect_ok(SEGP_ERROR, b, ERRLEN + SEGW_MAXTEXT);
	put_le32(b + 4, SEGW_MAXTEXT + 1);
	expect_refused(SEGP_ERROR, b, sizeof b);
	/* NUL in the text, at its start, middle and end */
	put_le32(b + 4, 5);
	b[ERRLEN] = '\0';
	expect_refused(SEGP_ERROR, b, len);
	b[ERRLEN] = 't';
	b[ERRLEN + 2] = '\0';
	expect_refused(SEGP_ERROR, b, len);
	b[ERRLEN + 2] = 't';
	b[ERRLEN + 4] = '\0';
	expect_refused(SEGP_ERROR, b, len);
	/* header only is fine with textlen 0 */
	put_le32(b + 4, 0);
	expect_ok(SEGP_ERROR, b, ERRLEN);
	ck_assert_str_eq(out.error.text, "");
}
END_TEST

START_TEST(error_encode_refuses)
{
	sample(SEGP_ERROR, &in);
	in.error.code = 0;
	ck_assert_uint_eq(encode(SEGP_ERROR, &in, sizeof wire), 0);
	in.error.code = 4096;
	ck_assert_uint_eq(encode(SEGP_ERROR, &in, sizeof wire), 0);
	in.error.code = UINT32_MAX;
	ck_assert_uint_eq(encode(SEGP_ERROR, &in, sizeof wire), 0);
	ck_assert_uint_eq(wire[0], SENTINEL);
	/* the longest text, with a buffer one byte short */
	in.error.code = 1;
	name_fill(in.error.text, SEGW_MAXTEXT, 'x');
	ck_assert_uint_eq(encode(SEGP_ERROR, &in, ERRLEN + SEGW_MAXTEXT - 1),
	    0);
	ck_assert_uint_eq(wire[0], SENTINEL);
	ck_assert_uint_eq(encode(SEGP_ERROR, &in, ERRLEN + SEGW_MAXTEXT),
	    ERRLEN + SEGW_MAXTEXT);
}
END_TEST

/* ---- FREE ---- */

#define FREE_AT(f) offsetof(struct segp_free_wire, f)

START_TEST(free_round_trip)
{
	static const uint32_t ns[] = { 1, 2, SEGP_FREE_MAX };
	size_t i, n;
	uint32_t j;

	for (i = 0; i < 3; i++) {
		memset(&in, 0, sizeof in);
		in.free.id = i ? UINT64_MAX : 0;
		in.free.n = ns[i];
		in.free.seq = i == 2 ? UINT32_MAX : (uint32_t)i;
		for (j = 0; j < ns[i]; j++)
			in.free.addrs[j] = j % 2 ? UINT64_MAX - j :
			    (uint64_t)j << 12;
		n = encode(SEGP_FREE, &in, FREELEN + ns[i] * 8);
		ck_assert_uint_eq(n, FREELEN + ns[i] * 8);
		ck_assert_uint_eq(get_le32(wire + FREE_AT(n)), ns[i]);
		ck_assert_uint_eq(get_le32(wire + FREE_AT(seq)), in.free.seq);
		expect_ok(SEGP_FREE, wire, n);
		msg_eq(SEGP_FREE, &in, &out);
	}
}
END_TEST

START_TEST(free_refuses)
{
	uint8_t b[SEGP_PAYLOADMAX];
	size_t nat = FREE_AT(n);

	memset(b, 0x11, sizeof b);
	put_le32(b + nat, 2);
	put_le32(b + FREE_AT(seq), 0);
	expect_ok(SEGP_FREE, b, FREELEN + 16);
	/* count and length disagree */
	put_le32(b + nat, 1);
	expect_refused(SEGP_FREE, b, FREELEN + 16);
	put_le32(b + nat, 3);
	expect_refused(SEGP_FREE, b, FREELEN + 16);
	put_le32(b + nat, 2);
	expect_refused(SEGP_FREE, b, FREELEN + 15);
	expect_refused(SEGP_FREE, b, FREELEN + 17);
	/* n 0, with the header alone */
	put_le32(b + nat, 0);
	expect_refused(SEGP_FREE, b, FREELEN);
	/* the most, and one more with the length to match (it fits) */
	ck_assert_uint_le(FREELEN + (SEGP_FREE_MAX + 1) * 8, SEGP_PAYLOADMAX);
	put_le32(b + nat, SEGP_FREE_MAX);
	expect_ok(SEGP_FREE, b, FREELEN + SEGP_FREE_MAX * 8);
	put_le32(b + nat, SEGP_FREE_MAX + 1);
	expect_refused(SEGP_FREE, b, FREELEN + (SEGP_FREE_MAX + 1) * 8);
	/* counts whose product with 8 wraps 32 bits */
	put_le32(b + nat, 0x20000000u + 2);
	expect_refused(SEGP_FREE, b, FREELEN + 16);
	put_le32(b + nat, UINT32_MAX);
	expect_refused(SEGP_FREE, b, FREELEN + 16);
}
END_TEST

START_TEST(free_encode_refuses)
{
	sample(SEGP_FREE, &in);
	in.free.n = 0;
	ck_assert_uint_eq(encode(SEGP_FREE, &in, sizeof wire), 0);
	in.free.n = SEGP_FREE_MAX + 1;
	ck_assert_uint_eq(encode(SEGP_FREE, &in, sizeof wire), 0);
	in.free.n = UINT32_MAX;
	ck_assert_uint_eq(encode(SEGP_FREE, &in, sizeof wire), 0);
	in.free.n = SEGP_FREE_MAX;
	ck_assert_uint_eq(encode(SEGP_FREE, &in,
	    FREELEN + SEGP_FREE_MAX * 8 - 1), 0);
	ck_assert_uint_eq(wire[0], SENTINEL);
}
END_TEST

/* ---- garbage ---- */

/*
 * A random payload for type: random bytes at a length near the ones the
 * type takes, and in most cases counts, lengths and fields shaped so that
 * the decoder gets as far as its last checks.
 */
static size_t
garbage(uint16_t type, uint8_t *p)
{
	long fixed = fixed_size(type);
	int shape = rnd_below(4) != 0;
	uint32_t n = 0, i;
	size_t len;

	switch (type) {
	case SEGP_LIST_REP:
		n = rnd_below(SEGP_LIST_MAX + 3);
		len = LREPLEN + n * ENTLEN;
		break;
	case SEGP_ERROR:
		n = rnd_below(SEGW_MAXTEXT + 3);
		len = ERRLEN + n;
		break;
	case SEGP_FREE:
		n = rnd_below(SEGP_FREE_MAX + 3);
		len = FREELEN + n * 8;
		break;
	case SEGP_IMPORT_REP:	/* with a ticket or without, flags or not */
	case SEGP_REBIND:
		len = IREPLEN + (rnd_below(2) ? TICKETLEN : 0) +
		    (rnd_below(2) ? EFLAGSLEN : 0);
		break;
	default:
		len = (size_t)fixed;
		break;
	}
	if (rnd_below(8) == 0)		/* near the length, or anywhere */
		len = rnd_below(2) ? len + rnd_below(5) - 2 :
		    rnd_below(SEGP_PAYLOADMAX + 2);
	if (len > SEGP_PAYLOADMAX + 1)
		len = SEGP_PAYLOADMAX + 1;
	rnd_fill(p, len);
	if (!shape)
		return len;
	switch (type) {
	case SEGP_HELLO:
		if (len < HELLOLEN)
			break;
		put_le32(p + HELLO_AT(vmin), rnd_below(4));
		put_le32(p + HELLO_AT(vmax), rnd_below(5));
		if (rnd_below(8) != 0)
			put_le16(p + HELLO_AT(port), (uint16_t)rnd_below(3));
		put_le16(p + HELLO_AT(nodelen), (uint16_t)rnd_below(67));
		rnd_name(p + HELLO_AT(node), SEGP_NODEMAX, 4);
		break;
	case SEGP_IMPORT:
		if (len < NAMELEN)
			break;
		put_le16(p, (uint16_t)rnd_below(67));
		if (rnd_below(2))
			memset(p + NAME_AT(pad), 0, 6);
		rnd_name(p + NAME_AT(name), SEG_NAMEMAX, 4);
		break;
	case SEGP_IMPORT_REP:
	case SEGP_REBIND:
		if (len < IREPLEN)
			break;
		put_le32(p + IREP_AT(perm), rnd_below(8) ? SEGW_RD |
		    (rnd_below(2) ? SEGW_WR : 0) : rnd_below(8));
		if (rnd_below(4) == 0)
			put_le64(p + IREP_AT(len), rnd_below(3));
		if (rnd_below(4) == 0)
			put_le64(p + IREP_AT(va), UINT64_MAX - rnd_below(3));
		if (len >= IREPLEN + TICKETLEN && rnd_below(8) != 0)
			put_le32(p + IREPLEN + offsetof(struct segp_ticket_wire,
			    pad), 0);
		if ((len - IREPLEN) % TICKETLEN == EFLAGSLEN &&
		    rnd_below(8) != 0) {
			put_le32(p + len - EFLAGSLEN, rnd_below(SEGW_EXP_ALL + 2));
			put_le32(p + len - 4, 0);
		}
		break;
	case SEGP_LIST_REP:
		if (len < LREPLEN)
			break;
		if (rnd_below(8) != 0)
			put_le32(p + 4, n);
		for (i = 0; i < n && LREPLEN + (i + 1) * ENTLEN <= len; i++) {
			uint8_t *e = p + LREPLEN + i * ENTLEN;

			if (rnd_below(3 * SEGP_LIST_MAX) == 0)
				continue;	/* left random */
			put_le16(e, (uint16_t)(1 + rnd_below(SEG_NAMEMAX)));
			e[offsetof(struct segp_ent_wire, perm)] =
			    rnd_below(2) ? SEGW_RD : SEGW_RD | SEGW_WR;
			e[offsetof(struct segp_ent_wire, verb)] =
			    (uint8_t)(1 + rnd_below(SEG_VERB_MAX - 1));
			put_le32(e + offsetof(struct segp_ent_wire, eflags),
			    rnd_below(4 * SEGP_LIST_MAX) ? rnd_below(SEGW_EXP_ALL +
			    1) : UINT32_MAX);
			rnd_name(e + offsetof(struct segp_ent_wire, name),
			    SEG_NAMEMAX, 4 * SEGP_LIST_MAX);
		}
		break;
	case SEGP_ERROR:
		if (len < ERRLEN)
			break;
		put_le32(p, rnd_below(8) ? 1 + rnd_below(4095) : rnd_below(2) ?
		    0 : 4096);
		if (rnd_below(8) != 0)
			put_le32(p + 4, n);
		for (i = ERRLEN; i < len; i++)
			if (p[i] == '\0' && rnd_below(64) != 0)
				p[i] = '?';
		break;
	case SEGP_FREE:
		if (len < FREELEN)
			break;
		if (rnd_below(8) != 0)
			put_le32(p + offsetof(struct segp_free_wire, n), n);
		break;
	default:
		break;
	}
	return len;
}

START_TEST(garbage_payloads)
{
	uint16_t type = (uint16_t)_i;
	static uint8_t p[SEGP_PAYLOADMAX + 2];
	int k, ok = 0, bad = 0;

	rng += type;
	for (k = 0; k < 4000; k++) {
		size_t len = garbage(type, p);
		const char *why;

		memset(&out, 0x5a, sizeof out);
		if (decode(type, p, len, &out, &why) == 0) {
			ok++;
			ck_assert_uint_le(len, SEGP_PAYLOADMAX);
			msg_holds(type, &out);
			reencode_same(type, p, len);
		} else {
			bad++;
			ck_assert_ptr_nonnull(why);
			ck_assert_uint_gt(strlen(why), 0);
		}
	}
	/* both the accepting and the refusing paths were reached */
	ck_assert_int_gt(ok, 200);
	ck_assert_int_gt(bad, 200);
}
END_TEST

/*
 * Whole messages: mostly a header of a known type and the length received
 * before a garbage payload of that type, else random bytes throughout.
 */
START_TEST(garbage_messages)
{
	static uint8_t m[SEGP_MSGSIZE + 2];
	int k, hdrs = 0, msgs = 0;

	for (k = 0; k < 20000; k++) {
		struct segp_hdr h;
		const char *why = NULL;
		size_t got;
		uint8_t *b;

		if (rnd_below(4) != 0) {
			uint16_t type = (uint16_t)rnd_below(SEGP_TYPEMAX + 1);

			got = SEGP_HDRLEN + garbage(type ? type : 1,
			    m + SEGP_HDRLEN);
			rnd_fill(m, SEGP_HDRLEN);
			put_le16(m, type);
			if (rnd_below(16) != 0)
				put_le32(m + 4, (uint32_t)(got - SEGP_HDRLEN));
			put_le32(m + 8, rnd_below(SEGP_CREDITS + 2));
		} else {
			got = rnd_below(sizeof m + 1);
			rnd_fill(m, got);
		}
		b = dup_exact(m, got);
		if (segp_hdr_decode(b, got, &h, &why) == 0) {
			long want = fixed_size(h.type);

			hdrs++;
			ck_assert(h.type > 0 && h.type < SEGP_TYPEMAX);
			ck_assert_uint_eq(h.len, got - SEGP_HDRLEN);
			ck_assert_uint_le(got, SEGP_MSGSIZE);
			ck_assert_uint_le(h.credits, SEGP_CREDITS);
			ck_assert(want < 0 || (size_t)want == h.len);
			if (decode(h.type, b + SEGP_HDRLEN, h.len, &out, &why)
			    == 0) {
				msgs++;
				msg_holds(h.type, &out);
				reencode_same(h.type, b + SEGP_HDRLEN, h.len);
			} else
				ck_assert(why != NULL && *why != '\0');
		} else
			ck_assert(why != NULL && *why != '\0');
		free(b);
	}
	ck_assert_int_gt(hdrs, 5000);
	ck_assert_int_gt(msgs, 2000);
}
END_TEST

/* ---- local: address lists and the version reply ---- */

static struct segw_addrs ain, aout;

static size_t
addrs_encode(const struct segw_addrs *a, size_t size)
{
	size_t n;

	memset(wire, SENTINEL, sizeof wire);
	n = segw_addrs_encode(wire, size, a);
	ck_assert_uint_le(n, size);
	ck_assert_uint_eq(written_past(n), sizeof wire);
	return n;
}

static int
addrs_decode(const uint8_t *p, size_t len)
{
	uint8_t *b = dup_exact(p, len);
	const char *why = NULL;
	int rc = segw_addrs_decode(b, len, &aout, &why);

	free(b);
	if (rc != 0)
		ck_assert(why != NULL && *why != '\0');
	return rc;
}

START_TEST(addrs_round_trip)
{
	static const uint32_t ns[] = { 1, SEGW_ADDRS_MAX };
	size_t i, n;
	uint32_t j;

	for (i = 0; i < 2; i++) {
		memset(&ain, 0, sizeof ain);
		ain.handle = i ? UINT64_MAX : 0;
		ain.n = ns[i];
		for (j = 0; j < ns[i]; j++)
			ain.addrs[j] = j % 2 ? UINT64_MAX : (uint64_t)j << 16;
		n = addrs_encode(&ain, ADDRSLEN + ns[i] * 8);
		ck_assert_uint_eq(n, ADDRSLEN + ns[i] * 8);
		ck_assert_uint_eq(get_le32(wire +
		    offsetof(struct segw_addrs_wire, n)), ns[i]);
		memset(&aout, 0x5a, sizeof aout);
		ck_assert_int_eq(addrs_decode(wire, n), 0);
		ck_assert_uint_eq(aout.handle, ain.handle);
		ck_assert_uint_eq(aout.n, ain.n);
		ck_assert_mem_eq(aout.addrs, ain.addrs, ns[i] * 8);
	}
}
END_TEST

START_TEST(addrs_refuses)
{
	uint8_t full[ADDRSLEN + (SEGW_ADDRS_MAX + 1) * 8];
	size_t len = ADDRSLEN + 3 * 8, n;
	size_t nat = offsetof(struct segw_addrs_wire, n);
	size_t padat = offsetof(struct segw_addrs_wire, pad);

	memset(&ain, 0, sizeof ain);
	ain.handle = 9;
	ain.n = 3;
	ck_assert_uint_eq(addrs_encode(&ain, sizeof full), len);
	memset(full, 0x33, sizeof full);
	memcpy(full, wire, len);
	ck_assert_int_eq(addrs_decode(full, len), 0);
	for (n = 0; n < len; n++)
		ck_assert_int_eq(addrs_decode(full, n), -1);
	ck_assert_int_eq(addrs_decode(full, len + 1), -1);
	ck_assert_int_eq(addrs_decode(full, len + 8), -1);
	/* nonzero pad */
	put_le32(full + padat, 1);
	ck_assert_int_eq(addrs_decode(full, len), -1);
	put_le32(full + padat, 0);
	/* n 0 */
	put_le32(full + nat, 0);
	ck_assert_int_eq(addrs_decode(full, ADDRSLEN), -1);
	/* the most, and one more with the length to match */
	put_le32(full + nat, SEGW_ADDRS_MAX);
	ck_assert_int_eq(addrs_decode(full, ADDRSLEN + SEGW_ADDRS_MAX * 8), 0);
	put_le32(full + nat, SEGW_ADDRS_MAX + 1);
	ck_assert_int_eq(addrs_decode(full, sizeof full), -1);
	put_le32(full + nat, UINT32_MAX);
	ck_assert_int_eq(addrs_decode(full, len), -1);
	/* the encoder: n 0, too many, too small a buffer */
	ain.n = 0;
	ck_assert_uint_eq(addrs_encode(&ain, sizeof wire), 0);
	ain.n = SEGW_ADDRS_MAX + 1;
	ck_assert_uint_eq(addrs_encode(&ain, sizeof wire), 0);
	ain.n = 3;
	ck_assert_uint_eq(addrs_encode(&ain, len - 1), 0);
	ck_assert_uint_eq(wire[0], SENTINEL);
}
END_TEST

/* ---- local: atomics (SEGW_ATOMIC) ---- */

#define ATLEN sizeof(struct segw_atomic_wire)

START_TEST(atomic_layout_and_round_trip)
{
	struct segw_atomic a = { 0x1122334455667788ULL, SEGW_AT_CAS, 0x40,
	    UINT64_MAX, 7 }, g;
	const char *why = NULL;
	uint16_t k;

	ck_assert_uint_eq(ATLEN, 40);
	memset(wire, SENTINEL, sizeof wire);
	ck_assert_uint_eq(segw_atomic_encode(wire, sizeof wire, &a), ATLEN);
	ck_assert_uint_eq(written_past(ATLEN), sizeof wire);
	/* little-endian, at the offsets segwire.h names */
	ck_assert_uint_eq(get_le64(wire), a.handle);
	ck_assert_uint_eq(get_le16(wire + 8), SEGW_AT_CAS);
	ck_assert_uint_eq(get_le64(wire + 16), 0x40);
	ck_assert_uint_eq(get_le64(wire + 24), UINT64_MAX);
	ck_assert_uint_eq(get_le64(wire + 32), 7);
	for (k = SEGW_AT_CAS; k < SEGW_AT_KINDMAX; k++) {
		a.kind = k;
		ck_assert_uint_eq(segw_atomic_encode(wire, sizeof wire, &a), ATLEN);
		memset(&g, 0x5a, sizeof g);
		ck_assert_int_eq(segw_atomic_decode(wire, ATLEN, &g, &why), 0);
		ck_assert_uint_eq(g.handle, a.handle);
		ck_assert_uint_eq(g.kind, k);
		ck_assert_uint_eq(g.off, a.off);
		ck_assert_uint_eq(g.a, a.a);
		ck_assert_uint_eq(g.b, a.b);
	}
}
END_TEST

START_TEST(atomic_refuses)
{
	struct segw_atomic a = { 3, SEGW_AT_FADD, 8, 1, 0 }, g;
	uint8_t full[ATLEN + 8];
	const char *why;
	size_t n;

	ck_assert_uint_eq(segw_atomic_encode(wire, sizeof wire, &a), ATLEN);
	memset(full, 0, sizeof full);
	memcpy(full, wire, ATLEN);
	for (n = 0; n <= sizeof full; n++) {
		why = NULL;
		ck_assert_int_eq(segw_atomic_decode(full, n, &g, &why),
		    n == ATLEN ? 0 : -1);
		ck_assert(n == ATLEN || (why != NULL && *why != '\0'));
	}
	/* unknown kinds, nonzero padding */
	put_le16(full + 8, 0);
	ck_assert_int_eq(segw_atomic_decode(full, ATLEN, &g, &why), -1);
	put_le16(full + 8, SEGW_AT_KINDMAX);
	ck_assert_int_eq(segw_atomic_decode(full, ATLEN, &g, &why), -1);
	put_le16(full + 8, UINT16_MAX);
	ck_assert_int_eq(segw_atomic_decode(full, ATLEN, &g, &why), -1);
	put_le16(full + 8, SEGW_AT_FADD);
	put_le16(full + 10, 1);
	ck_assert_int_eq(segw_atomic_decode(full, ATLEN, &g, &why), -1);
	put_le16(full + 10, 0);
	put_le32(full + 12, 1);
	ck_assert_int_eq(segw_atomic_decode(full, ATLEN, &g, &why), -1);
	put_le32(full + 12, 0);
	ck_assert_int_eq(segw_atomic_decode(full, ATLEN, &g, &why), 0);
	/* the encoder: unknown kinds, too small a buffer */
	a.kind = 0;
	ck_assert_uint_eq(segw_atomic_encode(wire, sizeof wire, &a), 0);
	a.kind = SEGW_AT_KINDMAX;
	ck_assert_uint_eq(segw_atomic_encode(wire, sizeof wire, &a), 0);
	a.kind = SEGW_AT_CAS;
	memset(wire, SENTINEL, sizeof wire);
	ck_assert_uint_eq(segw_atomic_encode(wire, ATLEN - 1, &a), 0);
	ck_assert_uint_eq(wire[0], SENTINEL);
}
END_TEST

START_TEST(atomic_garbage)
{
	uint8_t p[ATLEN + 1];
	struct segw_atomic g;
	const char *why;
	int k, ok = 0;
	size_t j;

	for (k = 0; k < 20000; k++) {
		size_t len = rnd_below(2) ? ATLEN : rnd_below(ATLEN + 2);

		for (j = 0; j < sizeof p; j++)
			p[j] = (uint8_t)rnd_below(k & 1 ? 3 : 256);
		if (rnd_below(4) != 0) {	/* mostly near a valid one */
			put_le16(p + 8, (uint16_t)rnd_below(SEGW_AT_KINDMAX + 1));
			if (rnd_below(8) != 0)
				memset(p + 10, 0, 6);	/* the padding */
		}
		why = NULL;
		if (segw_atomic_decode(p, len, &g, &why) == 0) {
			ok++;
			ck_assert_uint_eq(len, ATLEN);
			ck_assert(g.kind >= SEGW_AT_CAS && g.kind < SEGW_AT_KINDMAX);
		} else
			ck_assert_ptr_nonnull(why);
	}
	ck_assert_int_gt(ok, 100);
}
END_TEST

START_TEST(addrs_garbage)
{
	static uint8_t p[ADDRSLEN + (SEGW_ADDRS_MAX + 2) * 8];
	int k, ok = 0;

	for (k = 0; k < 4000; k++) {
		uint32_t n = rnd_below(SEGW_ADDRS_MAX + 2);
		size_t len = rnd_below(8) ? ADDRSLEN + n * 8 :
		    rnd_below(sizeof p + 1);

		rnd_fill(p, len);
		if (len >= ADDRSLEN && rnd_below(4) != 0) {
			put_le32(p + offsetof(struct segw_addrs_wire, n), n);
			if (rnd_below(8) != 0)
				put_le32(p + offsetof(struct segw_addrs_wire,
				    pad), 0);
		}
		if (addrs_decode(p, len) == 0) {
			ok++;
			ck_assert(aout.n >= 1 && aout.n <= SEGW_ADDRS_MAX);
			ck_assert_uint_eq(addrs_encode(&aout, sizeof wire),
			    len);
			ck_assert_mem_eq(wire, p, len);
		}
	}
	ck_assert_int_gt(ok, 200);
}
END_TEST

START_TEST(version_reply)
{
	static const uint32_t vs[] = { 1, SEGW_VERSION, UINT32_MAX };
	uint8_t b[12];
	uint32_t v;
	size_t i, n;

	for (i = 0; i < 3; i++) {
		memset(b, SENTINEL, sizeof b);
		ck_assert_uint_eq(segw_version_encode(b, 8, vs[i]), 8);
		ck_assert_uint_eq(get_le32(b), vs[i]);
		ck_assert_uint_eq(get_le32(b + 4), 0);
		ck_assert_uint_eq(b[8], SENTINEL);
		v = 0;
		ck_assert_int_eq(segw_version_decode(b, 8, &v), 0);
		ck_assert_uint_eq(v, vs[i]);
	}
	memset(b, SENTINEL, sizeof b);
	ck_assert_uint_eq(segw_version_encode(b, 7, 2), 0);
	ck_assert_uint_eq(b[0], SENTINEL);
	/* truncated, oversized */
	put_le32(b, 2);
	put_le32(b + 4, 0);
	for (n = 0; n < 8; n++) {
		uint8_t *x = dup_exact(b, n);

		ck_assert_int_eq(segw_version_decode(x, n, &v), -1);
		free(x);
	}
	ck_assert_int_eq(segw_version_decode(b, 9, &v), -1);
	/* nonzero pad */
	ck_assert_int_eq(segw_version_decode(b, 8, &v), 0);
	put_le32(b + 4, 1);
	ck_assert_int_eq(segw_version_decode(b, 8, &v), -1);
	put_le32(b + 4, 0x80000000u);
	ck_assert_int_eq(segw_version_decode(b, 8, &v), -1);
}
END_TEST

/* ---- node names and host:port ---- */

START_TEST(node_names)
{
	static const char *const good[] = { "a", "Z", "0", "_", "-", "...",
	    "node-1.example_X", "10.0.0.1" };
	static const char *const bad[] = { "", ".", "..", "a/b", "/", "a b", " a", "a ",
	    "a:b", "[::1]", "a\n", "a\t", "\xc3\xa4", "a\x7f", "a@b" };
	int c;

	check_names(seg_node_valid, good, sizeof good / sizeof good[0], bad,
	    sizeof bad / sizeof bad[0], SEGP_NODEMAX);
	for (c = 1; c < 256; c++) {	/* each byte inside a name: "a?b" */
		char three[4] = { 'a', (char)c, 'b', '\0' };
		int want = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';

		ck_assert_msg(seg_node_valid(three) == want, "byte 0x%02x", c);
	}
}
END_TEST

START_TEST(segment_name_edges)
{
	char name[SEG_NAMEMAX + 2];

	name_fill(name, 1, 'a');
	ck_assert(seg_name_valid(name));
	name_fill(name, SEG_NAMEMAX, 'a');
	ck_assert(seg_name_valid(name));
	name_fill(name, SEG_NAMEMAX + 1, 'a');
	ck_assert(!seg_name_valid(name));
	ck_assert(!seg_name_valid(""));
	ck_assert(!seg_name_valid("."));
	ck_assert(!seg_name_valid(".."));
	ck_assert(seg_name_valid("..."));
	ck_assert(!seg_name_valid("a/b"));
}
END_TEST

#define GUARD 8

/* s parsed into a host buffer of hsize bytes, none past it written */
static int
hostport(const char *s, size_t hsize, char *host, uint16_t *port)
{
	char buf[128 + GUARD];
	const char *why = NULL;
	size_t i;
	int rc;

	ck_assert_uint_le(hsize, 128);
	memset(buf, '#', sizeof buf);
	*port = 0;
	rc = seg_parse_hostport(s, buf, hsize, port, 1234, &why);
	for (i = hsize; i < hsize + GUARD; i++)
		ck_assert_msg(buf[i] == '#', "'%s': host written past %zu", s,
		    hsize);
	if (rc == 0) {
		ck_assert_ptr_nonnull(memchr(buf, '\0', hsize));
		strcpy(host, buf);
	} else {
		ck_assert_int_eq(rc, -1);
		ck_assert_msg(why != NULL && *why != '\0', "'%s': no reason",
		    s);
	}
	return rc;
}

START_TEST(hostport_valid)
{
	static const struct {
		const char *s, *host;
		uint16_t    port;
	} t[] = {
		{ "1.2.3.4", "1.2.3.4", 1234 },
		{ "1.2.3.4:99", "1.2.3.4", 99 },
		{ "1.2.3.4:1", "1.2.3.4", 1 },
		{ "1.2.3.4:65535", "1.2.3.4", 65535 },
		{ "host.example:7450", "host.example", 7450 },
		{ "[::1]:7", "::1", 7 },
		{ "::1", "::1", 1234 },
		{ "fe80::1:2", "fe80::1:2", 1234 },
		{ "[::1]", "::1", 1234 },
		{ "[fe80::1]:65535", "fe80::1", 65535 },
		{ "h", "h", 1234 },
	};
	char host[128];
	uint16_t port;
	size_t i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		ck_assert_msg(hostport(t[i].s, 64, host, &port) == 0,
		    "'%s' refused", t[i].s);
		ck_assert_str_eq(host, t[i].host);
		ck_assert_uint_eq(port, t[i].port);
	}
}
END_TEST

START_TEST(hostport_invalid)
{
	static const char *bad[] = {
		"", ":5", "1.2.3.4:", ":0", "1.2.3.4:0", "1.2.3.4:65536",
		"1.2.3.4:-1", "1.2.3.4:+1", "1.2.3.4: 5", "1.2.3.4:5x",
		"1.2.3.4:99999999999999999999", "[::1", "[::1]x", "[::1]:",
		"[::1]:0", "[::1]:65536", "[::1]]:5", "[]", "[]:5", "[",
	};
	char host[128];
	uint16_t port;
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(hostport(bad[i], 64, host, &port) == -1,
		    "'%s' accepted", bad[i]);
}
END_TEST

/* A host of hsize - 1 bytes fits, one of hsize does not. */
START_TEST(hostport_host_size)
{
	char host[128];
	uint16_t port;

	ck_assert_int_eq(hostport("1234567", 8, host, &port), 0);
	ck_assert_str_eq(host, "1234567");
	ck_assert_int_eq(hostport("12345678", 8, host, &port), -1);
	ck_assert_int_eq(hostport("1234567:9", 8, host, &port), 0);
	ck_assert_uint_eq(port, 9);
	ck_assert_int_eq(hostport("12345678:9", 8, host, &port), -1);
	ck_assert_int_eq(hostport("[1:3:5:7]:9", 8, host, &port), 0);
	ck_assert_str_eq(host, "1:3:5:7");
	ck_assert_int_eq(hostport("[1:3:5:78]:9", 8, host, &port), -1);
	ck_assert_int_eq(hostport("1:3:5:78", 8, host, &port), -1);
	ck_assert_int_eq(hostport("a", 1, host, &port), -1);
}
END_TEST

/* ---- the direct data path: IMPORT_REP's ticket, connects, import replies ---- */

START_TEST(import_rep_ticket)
{
	size_t k, n;

	sample(SEGP_IMPORT_REP, &in);
	in.import_rep.direct = 1;
	in.import_rep.grant = 0x1122334455667788ULL;
	for (k = 0; k < SEGP_TICKETLEN; k++)
		in.import_rep.ticket[k] = (uint8_t)(k * 17 + 1);
	in.import_rep.drkey = 0xabcdef01;
	n = encode(SEGP_IMPORT_REP, &in, IREPLEN + TICKETLEN);
	ck_assert_uint_eq(n, IREPLEN + TICKETLEN);
	ck_assert_uint_eq(get_le32(wire + IREPLEN), 0x55667788);
	expect_ok(SEGP_IMPORT_REP, wire, n);
	ck_assert_int_eq(out.import_rep.direct, 1);
	ck_assert_uint_eq(out.import_rep.grant, in.import_rep.grant);
	ck_assert_uint_eq(out.import_rep.drkey, in.import_rep.drkey);
	ck_assert_mem_eq(out.import_rep.ticket, in.import_rep.ticket,
	    SEGP_TICKETLEN);
	/* no room for the ticket: nothing written */
	ck_assert_uint_eq(encode(SEGP_IMPORT_REP, &in, IREPLEN + TICKETLEN - 1),
	    0);
	n = encode(SEGP_IMPORT_REP, &in, IREPLEN + TICKETLEN);
	/* every length between the two forms, and one past, is refused */
	for (k = IREPLEN + 1; k < IREPLEN + TICKETLEN; k++)
		expect_refused(SEGP_IMPORT_REP, wire, k);
	expect_refused(SEGP_IMPORT_REP, wire, IREPLEN + TICKETLEN + 1);
	/* the ticket's pad must be zero */
	put_le32(wire + IREPLEN + offsetof(struct segp_ticket_wire, pad), 1);
	expect_refused(SEGP_IMPORT_REP, wire, n);
	/* without a ticket: direct 0 */
	expect_ok(SEGP_IMPORT_REP, wire, IREPLEN);
	ck_assert_int_eq(out.import_rep.direct, 0);
}
END_TEST

/* IMPORT_REP's export flags (SEGP_CAP_EFLAGS): last, with or without a
 * ticket; four sizes, each exact */

START_TEST(import_rep_eflags)
{
	size_t n, k, direct;

	for (direct = 0; direct < 2; direct++) {
		size_t at = IREPLEN + (direct ? TICKETLEN : 0);

		sample(SEGP_IMPORT_REP, &in);
		in.import_rep.direct = (int)direct;
		in.import_rep.grant = 0x1122334455667788ULL;
		in.import_rep.witheflags = 1;
		in.import_rep.eflags = SEGW_EXP_REBIND | SEGW_EXP_LOCKOPS;
		n = encode(SEGP_IMPORT_REP, &in, at + EFLAGSLEN);
		ck_assert_uint_eq(n, at + EFLAGSLEN);
		ck_assert_uint_eq(get_le32(wire + at), SEGW_EXP_REBIND |
		    SEGW_EXP_LOCKOPS);
		ck_assert_uint_eq(get_le32(wire + at + 4), 0);
		expect_ok(SEGP_IMPORT_REP, wire, n);
		msg_eq(SEGP_IMPORT_REP, &in, &out);
		ck_assert_int_eq(out.import_rep.direct, (int)direct);
		/* no room for the flags: nothing written */
		ck_assert_uint_eq(encode(SEGP_IMPORT_REP, &in, n - 1), 0);
		n = encode(SEGP_IMPORT_REP, &in, at + EFLAGSLEN);
		/* an unknown flag, a pad not zero: refused */
		put_le32(wire + at, SEGW_EXP_ALL + 1);
		expect_refused(SEGP_IMPORT_REP, wire, n);
		put_le32(wire + at, 0);
		put_le32(wire + at + 4, 1);
		expect_refused(SEGP_IMPORT_REP, wire, n);
		put_le32(wire + at + 4, 0);
		expect_ok(SEGP_IMPORT_REP, wire, n);
		ck_assert_uint_eq(out.import_rep.eflags, 0);
		ck_assert_int_eq(out.import_rep.witheflags, 1);
		for (k = 1; k < EFLAGSLEN; k++)
			expect_refused(SEGP_IMPORT_REP, wire, n - k);
	}
	/* the encoder refuses unknown flags, and flags it would not send */
	sample(SEGP_IMPORT_REP, &in);
	in.import_rep.witheflags = 1;
	in.import_rep.eflags = 0x80;
	ck_assert_uint_eq(encode(SEGP_IMPORT_REP, &in, sizeof wire), 0);
	in.import_rep.witheflags = 0;
	in.import_rep.eflags = SEGW_EXP_REBIND;
	ck_assert_uint_eq(encode(SEGP_IMPORT_REP, &in, sizeof wire), 0);
	/* without them: 0 */
	in.import_rep.eflags = 0;
	ck_assert_uint_eq(encode(SEGP_IMPORT_REP, &in, sizeof wire), IREPLEN);
	expect_ok(SEGP_IMPORT_REP, wire, IREPLEN);
	ck_assert_int_eq(out.import_rep.witheflags, 0);
}
END_TEST

/* REBIND: IMPORT_REP's payload and checks, under its own type */
START_TEST(rebind_round_trip)
{
	size_t n;

	sample(SEGP_IMPORT_REP, &in);
	in.import_rep.direct = 1;
	in.import_rep.grant = 7;
	in.import_rep.drkey = 0x99;
	in.import_rep.witheflags = 1;
	in.import_rep.eflags = SEGW_EXP_REBIND;
	n = encode(SEGP_REBIND, &in, sizeof wire);
	ck_assert_uint_eq(n, IREPLEN + TICKETLEN + EFLAGSLEN);
	expect_ok(SEGP_REBIND, wire, n);
	msg_eq(SEGP_IMPORT_REP, &in, &out);
	ck_assert_uint_eq(out.import_rep.grant, 7);
	expect_refused(SEGP_REBIND, wire, n - 1);
	expect_refused(SEGP_REBIND, wire, 0);
	/* a zero length, a wrapping range: refused both ways */
	put_le64(wire + IREP_AT(len), 0);
	expect_refused(SEGP_REBIND, wire, n);
	in.import_rep.len = 0;
	ck_assert_uint_eq(encode(SEGP_REBIND, &in, sizeof wire), 0);
	ck_assert_str_eq(segp_type_name(SEGP_REBIND), "rebind");
}
END_TEST

/* the local import reply's eflags (protocol version 4) */
START_TEST(segw_imp_eflags)
{
	struct segw_imp m, d;
	uint8_t b[sizeof(struct segw_imp_wire)];
	size_t at = offsetof(struct segw_imp_wire, eflags);

	memset(&m, 0, sizeof m);
	m.handle = 3;
	m.len = 4096;
	m.perm = SEGW_RD | SEGW_WR;
	m.eflags = SEGW_EXP_ALL;
	ck_assert_uint_eq(segw_imp_encode(b, sizeof b, &m), sizeof b);
	ck_assert_uint_eq(get_le32(b + at), SEGW_EXP_ALL);
	ck_assert_int_eq(segw_imp_decode(b, sizeof b, &d), 0);
	ck_assert_uint_eq(d.eflags, SEGW_EXP_ALL);
	put_le32(b + at, SEGW_EXP_ALL + 1);
	ck_assert_int_eq(segw_imp_decode(b, sizeof b, &d), -1);
	put_le32(b + at, 0);
	put_le32(b + at + 4, 1);
	ck_assert_int_eq(segw_imp_decode(b, sizeof b, &d), -1);
	ck_assert_int_eq(segw_imp_decode(b, sizeof b - 8, &d), -1);
	m.eflags = 0x10;
	ck_assert_uint_eq(segw_imp_encode(b, sizeof b, &m), 0);
}
END_TEST

static int
connect_try(const uint8_t *p, size_t n, struct segp_connect *c)
{
	uint8_t *b = dup_exact(p, n);
	const char *why = NULL;
	int rc = segp_connect_decode(b, n, c, &why);

	free(b);
	if (rc < 0)
		ck_assert(why != NULL && *why != '\0');
	return rc;
}

START_TEST(connect_data)
{
	struct segp_connect c = { .magic = SEGP_CONNECT_DATA, .vmin = 3,
	    .vmax = 3, .grant = 42 }, d;
	uint8_t p[SEGP_CONNECT_MAX];
	size_t n, k;

	for (k = 0; k < SEGP_TICKETLEN; k++)
		c.ticket[k] = (uint8_t)(0xf0 ^ k);
	n = segp_connect_encode(p, sizeof p, &c);
	ck_assert_uint_eq(n, sizeof(struct segp_connect_wire));
	ck_assert_uint_eq(get_le32(p), SEGP_CONNECT_DATA);
	/* rdma_cm hands up to 56 bytes, the rest zero: still accepted */
	memset(p + n, 0, sizeof p - n);
	ck_assert_int_eq(connect_try(p, sizeof p, &d), 0);
	ck_assert_uint_eq(d.magic, c.magic);
	ck_assert_uint_eq(d.grant, 42);
	ck_assert_mem_eq(d.ticket, c.ticket, SEGP_TICKETLEN);
	for (k = 0; k < n; k++)	/* truncated */
		ck_assert_int_eq(connect_try(p, k, &d), -1);
	ck_assert_int_eq(connect_try(NULL, 0, &d), -1);
	ck_assert_uint_eq(segp_connect_encode(p, n - 1, &c), 0);
}
END_TEST

START_TEST(connect_refuses)
{
	struct segp_connect c = { .magic = SEGP_CONNECT_CTRL, .vmin = 2,
	    .vmax = 3 }, d;
	uint8_t p[SEGP_CONNECT_MAX], zero[SEGP_CONNECT_MAX];
	size_t n = segp_connect_encode(p, sizeof p, &c);

	ck_assert_uint_gt(n, 0);
	ck_assert_int_eq(connect_try(p, n, &d), 0);
	ck_assert_uint_eq(d.vmin, 2);
	ck_assert_uint_eq(d.vmax, 3);
	memset(zero, 0, sizeof zero);	/* what rping and perftest send */
	ck_assert_int_eq(connect_try(zero, sizeof zero, &d), -1);
	put_le32(p, 0x12345678);		/* another magic */
	ck_assert_int_eq(connect_try(p, n, &d), -1);
	n = segp_connect_encode(p, sizeof p, &c);
	put_le16(p + offsetof(struct segp_connect_wire, vmin), 0);
	ck_assert_int_eq(connect_try(p, n, &d), -1);
	n = segp_connect_encode(p, sizeof p, &c);
	put_le16(p + offsetof(struct segp_connect_wire, vmax), 1);
	ck_assert_int_eq(connect_try(p, n, &d), -1);
	c.vmin = 0;			/* the encoder refuses the same */
	ck_assert_uint_eq(segp_connect_encode(p, sizeof p, &c), 0);
	c.vmin = 2;
	c.magic = 7;
	ck_assert_uint_eq(segp_connect_encode(p, sizeof p, &c), 0);
}
END_TEST

START_TEST(segw_imp_direct)
{
	struct segw_imp m, d;
	uint8_t b[sizeof(struct segw_imp_wire) + sizeof(struct segw_direct_wire)];
	size_t n, k, base = sizeof(struct segw_imp_wire);

	memset(&m, 0, sizeof m);
	m.handle = 3;
	m.len = 4096;
	m.rva = 0x200000000000ULL;
	m.perm = SEGW_RD;
	m.direct = 1;
	m.grant = 9;
	m.drkey = 77;
	m.deadline_ms = 5000;
	m.port = 7450;
	strcpy(m.addr, "10.0.0.1");
	n = segw_imp_encode(b, sizeof b, &m);
	ck_assert_uint_eq(n, sizeof b);
	ck_assert_int_eq(segw_imp_decode(b, n, &d), 0);
	ck_assert_int_eq(d.direct, 1);
	ck_assert_str_eq(d.addr, "10.0.0.1");
	ck_assert_uint_eq(d.port, 7450);
	ck_assert_uint_eq(d.grant, 9);
	ck_assert_int_eq(segw_imp_decode(b, base, &d), 0);	/* no direct part */
	ck_assert_int_eq(d.direct, 0);
	for (k = base + 1; k < n; k++)
		ck_assert_int_eq(segw_imp_decode(b, k, &d), -1);
	ck_assert_int_eq(segw_imp_decode(b, n + 1, &d), -1);
	/* a zero port, an address with no terminator or length 0: refused */
	put_le16(b + base + offsetof(struct segw_direct_wire, port), 0);
	ck_assert_int_eq(segw_imp_decode(b, n, &d), -1);
	n = segw_imp_encode(b, sizeof b, &m);
	put_le16(b + base + offsetof(struct segw_direct_wire, addrlen),
	    SEGW_ADDRLEN);
	ck_assert_int_eq(segw_imp_decode(b, n, &d), -1);
	put_le16(b + base + offsetof(struct segw_direct_wire, addrlen), 0);
	ck_assert_int_eq(segw_imp_decode(b, n, &d), -1);
	ck_assert_uint_eq(segw_imp_encode(b, sizeof b - 1, &m), 0);
}
END_TEST

/* ---- keyed peers: the connect, the accept, what the MACs cover ---- */

static void
sample_auth(struct segp_connect *c)
{
	unsigned k;

	memset(c, 0, sizeof *c);
	c->magic = SEGP_CONNECT_AUTH;
	c->vmin = 2;
	c->vmax = 3;
	for (k = 0; k < SEGP_NONCELEN; k++)
		c->nonce[k] = (uint8_t)(k + 1);
	for (k = 0; k < SEGP_TAGLEN; k++)
		c->tag[k] = (uint8_t)(0xf0 - k);
}

START_TEST(connect_auth_layout)
{
	struct segp_connect c, d;
	uint8_t p[SEGP_CONNECT_MAX];
	size_t n, k;

	sample_auth(&c);
	memset(p, 0, sizeof p);
	n = segp_connect_encode(p, sizeof p, &c);
	ck_assert_uint_eq(n, 40);
	ck_assert_uint_eq(get_le32(p), SEGP_CONNECT_AUTH);
	ck_assert_uint_eq(get_le16(p + 4), 2);
	ck_assert_uint_eq(get_le16(p + 6), 3);
	ck_assert_mem_eq(p + 8, c.nonce, SEGP_NONCELEN);
	ck_assert_mem_eq(p + 24, c.tag, SEGP_TAGLEN);
	/* as rdma_cm hands it over: padded to 56 bytes */
	ck_assert_int_eq(connect_try(p, sizeof p, &d), 0);
	ck_assert_uint_eq(d.magic, SEGP_CONNECT_AUTH);
	ck_assert_uint_eq(d.vmin, 2);
	ck_assert_uint_eq(d.vmax, 3);
	ck_assert_mem_eq(d.nonce, c.nonce, SEGP_NONCELEN);
	ck_assert_mem_eq(d.tag, c.tag, SEGP_TAGLEN);
	ck_assert_int_eq(connect_try(p, n, &d), 0);
	/* short: every length below 40 is refused */
	for (k = 0; k < n; k++)
		ck_assert_int_eq(connect_try(p, k, &d), -1);
	/* no room: nothing written */
	ck_assert_uint_eq(segp_connect_encode(p, n - 1, &c), 0);
}
END_TEST

START_TEST(connect_auth_refuses)
{
	struct segp_connect c, d;
	uint8_t p[SEGP_CONNECT_MAX];
	size_t n;

	sample_auth(&c);
	n = segp_connect_encode(p, sizeof p, &c);
	/* a wrong magic (one bit off) */
	put_le32(p, SEGP_CONNECT_AUTH ^ 0x100);
	ck_assert_int_eq(connect_try(p, n, &d), -1);
	/* bad versions */
	n = segp_connect_encode(p, sizeof p, &c);
	put_le16(p + 4, 0);
	ck_assert_int_eq(connect_try(p, n, &d), -1);
	n = segp_connect_encode(p, sizeof p, &c);
	put_le16(p + 6, 1);
	ck_assert_int_eq(connect_try(p, n, &d), -1);
	c.vmin = 0;
	ck_assert_uint_eq(segp_connect_encode(p, sizeof p, &c), 0);
	/* a keyed connect's bytes under the control magic are no keyed one */
	sample_auth(&c);
	n = segp_connect_encode(p, sizeof p, &c);
	put_le32(p, SEGP_CONNECT_CTRL);
	ck_assert_int_eq(connect_try(p, n, &d), 0);
	ck_assert_uint_eq(d.magic, SEGP_CONNECT_CTRL);
}
END_TEST

START_TEST(accept_layout)
{
	uint8_t nonce[SEGP_NONCELEN], got[SEGP_NONCELEN], p[64];
	const char *why = NULL;
	size_t n, k;

	for (k = 0; k < sizeof nonce; k++)
		nonce[k] = (uint8_t)(0x80 + k);
	memset(p, 0, sizeof p);
	n = segp_accept_encode(p, sizeof p, nonce);
	ck_assert_uint_eq(n, 24);
	ck_assert_uint_eq(get_le32(p), SEGP_CONNECT_AUTH);
	ck_assert_uint_eq(get_le32(p + 4), 0);
	ck_assert_mem_eq(p + 8, nonce, SEGP_NONCELEN);
	ck_assert_int_eq(segp_accept_decode(p, sizeof p, got, &why), 0);
	ck_assert_mem_eq(got, nonce, SEGP_NONCELEN);
	for (k = 0; k < n; k++) {
		uint8_t *b = dup_exact(p, k);

		why = NULL;
		ck_assert_int_eq(segp_accept_decode(b, k, got, &why), -1);
		ck_assert(why != NULL);
		free(b);
	}
	ck_assert_int_eq(segp_accept_decode(NULL, 0, got, &why), -1);
	put_le32(p, SEGP_CONNECT_CTRL);		/* wrong magic */
	ck_assert_int_eq(segp_accept_decode(p, n, got, &why), -1);
	put_le32(p, SEGP_CONNECT_AUTH);
	put_le32(p + 4, 1);			/* pad not zero */
	ck_assert_int_eq(segp_accept_decode(p, n, got, &why), -1);
	ck_assert_uint_eq(segp_accept_encode(p, n - 1, nonce), 0);
}
END_TEST

START_TEST(macin_layouts)
{
	struct segp_connect c;
	struct segp_proof_in in;
	uint8_t a[SEGP_CONNECT_MACIN], b[SEGP_PROOF_MACIN], b2[SEGP_PROOF_MACIN];
	uint8_t addr[16];
	unsigned k;

	sample_auth(&c);
	for (k = 0; k < 16; k++)
		addr[k] = (uint8_t)(0x40 + k);
	segp_connect_macin(a, &c, addr, 7450);
	ck_assert_mem_eq(a, "segd-connect-v1", 16);
	ck_assert_uint_eq(get_le32(a + 16), SEGP_CONNECT_AUTH);
	ck_assert_mem_eq(a + 24, c.nonce, SEGP_NONCELEN);
	ck_assert_mem_eq(a + 40, addr, 16);
	ck_assert_uint_eq(get_le16(a + 56), 7450);

	memset(&in, 0, sizeof in);
	in.role = SEGP_ROLE_ACCEPT;
	memset(in.cnonce, 1, sizeof in.cnonce);
	memset(in.snonce, 2, sizeof in.snonce);
	strcpy(in.prover, "exp");
	strcpy(in.verifier, "imp");
	memset(in.paddr, 3, 16);
	memset(in.vaddr, 4, 16);
	ck_assert_int_eq(segp_proof_macin(b, &in), 0);
	ck_assert_mem_eq(b, "segd-proof-v1\0\0", 16);
	ck_assert_uint_eq(b[16], SEGP_ROLE_ACCEPT);
	ck_assert_uint_eq(b[17], 1);
	ck_assert_uint_eq(b[33], 2);
	ck_assert_uint_eq(b[49], 3);		/* "exp" */
	ck_assert_mem_eq(b + 50, "exp", 3);
	ck_assert_uint_eq(b[114], 3);		/* "imp" */
	ck_assert_mem_eq(b + 115, "imp", 3);
	ck_assert_uint_eq(b[179], 3);
	ck_assert_uint_eq(b[195], 4);
	/* node names are length-prefixed: "ex"+"pimp" differs from "exp"+"imp" */
	strcpy(in.prover, "ex");
	strcpy(in.verifier, "pimp");
	ck_assert_int_eq(segp_proof_macin(b2, &in), 0);
	ck_assert(memcmp(b, b2, sizeof b) != 0);
	/* bad node names and roles are refused */
	strcpy(in.prover, "bad node");
	ck_assert_int_eq(segp_proof_macin(b2, &in), -1);
	strcpy(in.prover, "exp");
	in.role = 3;
	ck_assert_int_eq(segp_proof_macin(b2, &in), -1);
}
END_TEST

void
suite(Suite *s)
{
	TCase *tc;

	tc = ck_tcase(s, "header", &fix, 0, hdr_layout_and_round_trip,
	    hdr_size_range, hdr_len_mismatch, hdr_unknown_type, hdr_credits,
	    NULL);
	tcase_add_loop_test(tc, hdr_fixed_sizes, 1, SEGP_TYPEMAX);

	tc = ck_tcase(s, "every type", &fix, 0, msg_unknown_type, NULL);
	tcase_add_loop_test(tc, msg_round_trip, 1, SEGP_TYPEMAX);
	tcase_add_loop_test(tc, msg_truncated, 1, SEGP_TYPEMAX);
	tcase_add_loop_test(tc, msg_oversized, 1, SEGP_TYPEMAX);
	tcase_add_loop_test(tc, msg_encode_small, 1, SEGP_TYPEMAX);

	ck_tcase(s, "hello", &fix, 0, hello_layout, hello_v1_encode,
	    hello_v1_decode, hello_edges, hello_decode_refuses,
	    hello_encode_refuses, version_pick, NULL);

	ck_tcase(s, "list", &fix, 0, list_round_trip, list_rep_layout,
	    list_rep_empty, list_rep_full, list_rep_count, list_rep_bad_entry,
	    list_rep_encode_refuses, list_rep3_layout, list_rep3_full,
	    list_rep3_lengths, list_rep3_bad_va, NULL);

	tc = ck_tcase(s, "import", &fix, 0, import_names, import_refuses,
	    import_rep_layout, import_rep_edges, import_rep_refuses,
	    empty_types, NULL);
	tcase_add_loop_test(tc, id_round_trip, 0,
	    (int)(sizeof idtypes / sizeof idtypes[0]));

	ck_tcase(s, "direct path", &fix, 0, import_rep_ticket, connect_data,
	    connect_refuses, segw_imp_direct, NULL);

	ck_tcase(s, "export flags", &fix, 0, import_rep_eflags,
	    segw_imp_eflags, rebind_round_trip, NULL);
	ck_tcase(s, "keyed peers", &fix, 0, connect_auth_layout,
	    connect_auth_refuses, accept_layout, macin_layouts, NULL);

	ck_tcase(s, "error", &fix, 0, error_round_trip, error_refuses,
	    error_encode_refuses, NULL);

	ck_tcase(s, "free", &fix, 0, free_round_trip, free_refuses,
	    free_encode_refuses, NULL);

	tc = ck_tcase(s, "garbage", &fix, 120, garbage_messages, NULL);
	tcase_add_loop_test(tc, garbage_payloads, 1, SEGP_TYPEMAX);

	ck_tcase(s, "local", &fix, 0, addrs_round_trip, addrs_refuses,
	    addrs_garbage, version_reply, atomic_layout_and_round_trip,
	    atomic_refuses, atomic_garbage, NULL);

	ck_tcase(s, "parsers", NULL, 0, node_names, segment_name_edges,
	    hostport_valid, hostport_invalid, hostport_host_size, NULL);
}
