/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * check_wire.c: the client-protocol decoder (proto/segframe.c): frame
 * headers, request bodies, segment info, and the shared number and name
 * parsers.  Truncated, oversized and garbage input must be refused, never
 * read past, and never crash.
 */
#include <sys/wait.h>
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "segwire.h"
#include "testbytes.h"

#define REQLEN  sizeof(struct segw_req_wire)
#define INFOLEN sizeof(struct segw_info_wire)

/*
 * Every decoder input lives in a heap block of exactly its length
 * (dup_exact), so that a read past the end is caught under AddressSanitizer.
 */

/* A raw header, built byte by byte (not with the encoder under test). */
static void
raw_hdr(uint8_t out[SEGW_HDRLEN], uint32_t len, uint16_t op, uint16_t st)
{
	put_le32(out, len);
	put_le16(out + 4, op);
	put_le16(out + 6, st);
}

/* A raw request body: name bytes, namelen as given, arg, a, b. */
static void
raw_req(uint8_t out[REQLEN], const char *name, uint16_t namelen, uint32_t arg)
{
	memset(out, 0, REQLEN);
	memcpy(out, name, strnlen(name, SEG_NAMEMAX));
	put_le16(out + offsetof(struct segw_req_wire, namelen), namelen);
	put_le32(out + offsetof(struct segw_req_wire, arg), arg);
}

/* ---- frame header ---- */

START_TEST(hdr_layout_little_endian)
{
	struct segw_hdr h = { .len = 0x0102, .op = 0x0304, .status = 0x0506 };
	uint8_t b[SEGW_HDRLEN];
	static const uint8_t want[SEGW_HDRLEN] = { 0x02, 0x01, 0, 0, 0x04, 0x03,
	    0x06, 0x05 };

	segw_hdr_encode(b, &h);
	ck_assert_mem_eq(b, want, SEGW_HDRLEN);
}
END_TEST

START_TEST(hdr_round_trip)
{
	struct segw_hdr h = { .len = 0, .op = 0, .status = 0 }, g;
	uint8_t b[SEGW_HDRLEN];
	const char *why = NULL;
	uint16_t op;

	for (op = 1; op < SEGW_OPMAX; op++) {
		uint32_t lens[] = { 0, 1, REQLEN, SEGW_MAXPAYLOAD };
		size_t i;

		for (i = 0; i < sizeof lens / sizeof lens[0]; i++) {
			h.len = lens[i];
			h.op = op;
			h.status = (uint16_t)(op * 7);
			segw_hdr_encode(b, &h);
			memset(&g, 0xff, sizeof g);
			ck_assert_int_eq(segw_hdr_parse(b, sizeof b, &g, &why),
			    (long)(SEGW_HDRLEN + lens[i]));
			ck_assert_uint_eq(g.len, h.len);
			ck_assert_uint_eq(g.op, h.op);
			ck_assert_uint_eq(g.status, h.status);
		}
	}
}
END_TEST

/* Fewer than 8 bytes: "need more", whatever the bytes are. */
START_TEST(hdr_truncated_needs_more)
{
	uint8_t full[SEGW_HDRLEN];
	struct segw_hdr h;
	size_t n;

	raw_hdr(full, 0xffffffff, 0, 0);	/* would be invalid if complete */
	for (n = 0; n < SEGW_HDRLEN; n++) {
		uint8_t *b = dup_exact(full, n);
		const char *why = NULL;

		ck_assert_int_eq(segw_hdr_parse(b, n, &h, &why), 0);
		ck_assert_ptr_null(why);
		free(b);
	}
}
END_TEST

/* A valid header with more bytes behind it still gives the frame size. */
START_TEST(hdr_more_bytes_available)
{
	uint8_t b[SEGW_HDRLEN + 32];
	struct segw_hdr h;
	const char *why = NULL;

	memset(b, 0xee, sizeof b);
	raw_hdr(b, 16, SEGW_STAT, 0);
	ck_assert_int_eq(segw_hdr_parse(b, sizeof b, &h, &why), SEGW_HDRLEN + 16);
	ck_assert_uint_eq(h.len, 16);
	ck_assert_uint_eq(h.op, SEGW_STAT);
}
END_TEST

START_TEST(hdr_oversized)
{
	static const uint32_t lens[] = { SEGW_MAXPAYLOAD + 1,
	    SEGW_MAXPAYLOAD * 2, 0x7fffffff, 0x80000000, 0xffffffff };
	size_t i;

	for (i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		uint8_t b[SEGW_HDRLEN];
		struct segw_hdr h;
		const char *why = NULL;

		raw_hdr(b, lens[i], SEGW_CREATE, 0);
		ck_assert_int_eq(segw_hdr_parse(b, sizeof b, &h, &why), -1);
		ck_assert_ptr_nonnull(why);
		ck_assert_msg(strstr(why, "longer") != NULL, "why '%s'", why);
	}
}
END_TEST

START_TEST(hdr_largest_frame)
{
	uint8_t b[SEGW_HDRLEN];
	struct segw_hdr h;
	const char *why = NULL;

	raw_hdr(b, SEGW_MAXPAYLOAD, SEGW_CTL, 0);
	ck_assert_int_eq(segw_hdr_parse(b, sizeof b, &h, &why),
	    SEGW_HDRLEN + SEGW_MAXPAYLOAD);
}
END_TEST

START_TEST(hdr_bad_op)
{
	static const uint16_t ops[] = { 0, SEGW_OPMAX, SEGW_OPMAX + 1, 0x100,
	    0x7fff, 0xffff };
	size_t i;

	for (i = 0; i < sizeof ops / sizeof ops[0]; i++) {
		uint8_t b[SEGW_HDRLEN];
		struct segw_hdr h;
		const char *why = NULL;

		raw_hdr(b, REQLEN, ops[i], 0);
		ck_assert_msg(segw_hdr_parse(b, sizeof b, &h, &why) == -1,
		    "op %u accepted", ops[i]);
		ck_assert_ptr_nonnull(why);
		ck_assert_str_eq(why, "unknown operation");
	}
}
END_TEST

/* ---- request body ---- */

START_TEST(req_round_trip_every_op)
{
	uint16_t op = (uint16_t)_i;
	struct segw_req r, g;
	uint8_t b[REQLEN + SEGW_MAXTEXT];
	const char *why = NULL;
	size_t n;

	memset(&r, 0, sizeof r);
	strcpy(r.name, "seg-1.x_Y");
	r.arg = 0640;
	r.a = 0x1122334455667788ULL;
	r.b = 0x99aabbccddeeff00ULL;
	if (SEGW_OP_HAS_TEXT(op)) {
		strcpy(r.text, "va 0x10000000 0x100000\n");
		r.textlen = strlen(r.text);
	}
	n = segw_req_encode(b, sizeof b, &r);
	ck_assert_uint_eq(n, REQLEN + r.textlen);
	memset(&g, 0x5a, sizeof g);
	ck_assert_int_eq(segw_req_decode(op, b, n, &g, &why), 0);
	ck_assert_str_eq(g.name, r.name);
	ck_assert_uint_eq(g.arg, r.arg);
	ck_assert_uint_eq(g.a, r.a);
	ck_assert_uint_eq(g.b, r.b);
	ck_assert_uint_eq(g.textlen, r.textlen);
	ck_assert_str_eq(g.text, r.text);
}
END_TEST

START_TEST(req_layout)
{
	struct segw_req r;
	uint8_t b[REQLEN];

	memset(&r, 0, sizeof r);
	strcpy(r.name, "ab");
	r.arg = 0x01020304;
	r.a = 0x0102030405060708ULL;
	ck_assert_uint_eq(segw_req_encode(b, sizeof b, &r), REQLEN);
	ck_assert_mem_eq(b, "ab\0", 3);
	ck_assert_uint_eq(b[SEG_NAMEMAX], 2);		/* namelen, LE */
	ck_assert_uint_eq(b[SEG_NAMEMAX + 1], 0);
	ck_assert_uint_eq(b[offsetof(struct segw_req_wire, arg)], 0x04);
	ck_assert_uint_eq(b[offsetof(struct segw_req_wire, a)], 0x08);
	ck_assert_uint_eq(b[offsetof(struct segw_req_wire, a) + 7], 0x01);
}
END_TEST

START_TEST(req_encode_refuses)
{
	struct segw_req r;
	uint8_t b[REQLEN + SEGW_MAXTEXT + 1];

	memset(&r, 0, sizeof r);
	strcpy(r.name, "x");
	ck_assert_uint_eq(segw_req_encode(b, REQLEN - 1, &r), 0);
	r.textlen = 10;
	ck_assert_uint_eq(segw_req_encode(b, REQLEN + 9, &r), 0);
	r.textlen = SEGW_MAXTEXT + 1;
	ck_assert_uint_eq(segw_req_encode(b, sizeof b, &r), 0);
}
END_TEST

/* Every length short of the fixed part is refused, for every op. */
START_TEST(req_truncated)
{
	uint8_t full[REQLEN];
	uint16_t op = (uint16_t)_i;
	size_t n;

	raw_req(full, "abc", 3, 0600);
	for (n = 0; n < REQLEN; n++) {
		uint8_t *b = dup_exact(full, n);
		struct segw_req r;
		const char *why = NULL;

		ck_assert_msg(segw_req_decode(op, b, n, &r, &why) == -1,
		    "op %u, %zu bytes accepted", op, n);
		ck_assert_ptr_nonnull(why);
		ck_assert_ptr_nonnull(strstr(why, "shorter"));
		free(b);
	}
}
END_TEST

/* Requests without text refuse a single trailing byte. */
START_TEST(req_trailing_bytes)
{
	uint8_t full[REQLEN + 16];
	uint16_t op = (uint16_t)_i;
	size_t extra;

	if (SEGW_OP_HAS_TEXT(op))
		return;
	memset(full, 'x', sizeof full);
	raw_req(full, "abc", 3, 0);
	for (extra = 1; extra <= 16; extra++) {
		uint8_t *b = dup_exact(full, REQLEN + extra);
		struct segw_req r;
		const char *why = NULL;

		ck_assert_int_eq(segw_req_decode(op, b, REQLEN + extra, &r, &why),
		    -1);
		ck_assert_ptr_nonnull(strstr(why, "trailing"));
		free(b);
	}
}
END_TEST

START_TEST(req_text_limits)
{
	uint8_t *b, full[REQLEN + SEGW_MAXTEXT + 1];
	struct segw_req r;
	const char *why = NULL;

	memset(full, 'a', sizeof full);
	raw_req(full, "seg", 3, 0);
	/* no text at all */
	b = dup_exact(full, REQLEN);
	ck_assert_int_eq(segw_req_decode(SEGW_CTL, b, REQLEN, &r, &why), 0);
	ck_assert_uint_eq(r.textlen, 0);
	ck_assert_str_eq(r.text, "");
	free(b);
	/* exactly the limit */
	b = dup_exact(full, REQLEN + SEGW_MAXTEXT);
	ck_assert_int_eq(segw_req_decode(SEGW_CTL, b, REQLEN + SEGW_MAXTEXT, &r,
	    &why), 0);
	ck_assert_uint_eq(r.textlen, SEGW_MAXTEXT);
	ck_assert_uint_eq(strlen(r.text), SEGW_MAXTEXT);
	free(b);
	/* one more */
	b = dup_exact(full, REQLEN + SEGW_MAXTEXT + 1);
	why = NULL;
	ck_assert_int_eq(segw_req_decode(SEGW_CTL, b, REQLEN + SEGW_MAXTEXT + 1,
	    &r, &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "longer than the limit"));
	free(b);
}
END_TEST

/* A frame as long as the header allows, with a ctl op: refused cleanly. */
START_TEST(req_oversized_frame)
{
	size_t n = SEGW_MAXPAYLOAD;
	uint8_t *b = malloc(n);
	struct segw_req r;
	const char *why = NULL;

	ck_assert_ptr_nonnull(b);
	memset(b, 'q', n);
	raw_req(b, "seg", 3, 0);
	ck_assert_int_eq(segw_req_decode(SEGW_CTL, b, n, &r, &why), -1);
	ck_assert_ptr_nonnull(why);
	why = NULL;
	ck_assert_int_eq(segw_req_decode(SEGW_STAT, b, n, &r, &why), -1);
	ck_assert_ptr_nonnull(why);
	free(b);
}
END_TEST

START_TEST(req_name_length)
{
	uint8_t b[REQLEN];
	struct segw_req r;
	const char *why;
	char name[SEG_NAMEMAX + 1];
	static const uint16_t bad[] = { SEG_NAMEMAX + 1, SEG_NAMEMAX + 2, 0x100,
	    0x8000, 0xffff };
	size_t i;

	memset(name, 'n', SEG_NAMEMAX);
	name[SEG_NAMEMAX] = '\0';
	/* the whole field */
	raw_req(b, name, SEG_NAMEMAX, 0);
	why = NULL;
	ck_assert_int_eq(segw_req_decode(SEGW_STAT, b, REQLEN, &r, &why), 0);
	ck_assert_uint_eq(strlen(r.name), SEG_NAMEMAX);
	/* a prefix: bytes past namelen are ignored */
	raw_req(b, name, 5, 0);
	ck_assert_int_eq(segw_req_decode(SEGW_STAT, b, REQLEN, &r, &why), 0);
	ck_assert_str_eq(r.name, "nnnnn");
	/* zero: an empty name (refused later by seg_name_valid) */
	raw_req(b, name, 0, 0);
	ck_assert_int_eq(segw_req_decode(SEGW_STAT, b, REQLEN, &r, &why), 0);
	ck_assert_str_eq(r.name, "");
	ck_assert(!seg_name_valid(r.name));
	/* past the field */
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		raw_req(b, name, bad[i], 0);
		why = NULL;
		ck_assert_msg(segw_req_decode(SEGW_STAT, b, REQLEN, &r, &why) == -1,
		    "namelen %u accepted", bad[i]);
		ck_assert_ptr_nonnull(strstr(why, "name length"));
	}
}
END_TEST

START_TEST(req_nul_in_name)
{
	uint8_t b[REQLEN];
	struct segw_req r;
	const char *why = NULL;

	raw_req(b, "abcdef", 6, 0);
	b[2] = '\0';
	ck_assert_int_eq(segw_req_decode(SEGW_STAT, b, REQLEN, &r, &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "NUL"));
	/* NUL as the last counted byte */
	raw_req(b, "abcdef", 6, 0);
	b[5] = '\0';
	why = NULL;
	ck_assert_int_eq(segw_req_decode(SEGW_STAT, b, REQLEN, &r, &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "NUL"));
	/* but a NUL just past namelen is fine */
	raw_req(b, "abcdef", 6, 0);
	ck_assert_int_eq(b[6], 0);
	ck_assert_int_eq(segw_req_decode(SEGW_STAT, b, REQLEN, &r, &why), 0);
	ck_assert_str_eq(r.name, "abcdef");
}
END_TEST

START_TEST(req_nul_in_text)
{
	static const size_t at[] = { 0, 5, 22 };
	const char *text = "va 0x10000000 0x100000";
	size_t tl = strlen(text), i;

	for (i = 0; i < sizeof at / sizeof at[0]; i++) {
		uint8_t full[REQLEN + 64], *b;
		struct segw_req r;
		const char *why = NULL;
		size_t n = REQLEN + tl + (at[i] == tl);

		raw_req(full, "seg", 3, 0);
		memcpy(full + REQLEN, text, tl);
		full[REQLEN + at[i]] = '\0';
		b = dup_exact(full, n);
		ck_assert_int_eq(segw_req_decode(SEGW_CTL, b, n, &r, &why), -1);
		ck_assert_ptr_nonnull(strstr(why, "NUL"));
		free(b);
	}
}
END_TEST

/* The decoder converts from little-endian, whatever the host. */
START_TEST(req_fields_little_endian)
{
	uint8_t b[REQLEN];
	struct segw_req r;
	const char *why = NULL;
	size_t i;

	raw_req(b, "x", 1, 0);
	for (i = 0; i < 8; i++) {
		b[offsetof(struct segw_req_wire, a) + i] = (uint8_t)(i + 1);
		b[offsetof(struct segw_req_wire, b) + i] = (uint8_t)(0xf0 + i);
	}
	put_le32(b + offsetof(struct segw_req_wire, arg), 0xdeadbeef);
	ck_assert_int_eq(segw_req_decode(SEGW_DETACH, b, REQLEN, &r, &why), 0);
	ck_assert_uint_eq(r.a, 0x0807060504030201ULL);
	ck_assert_uint_eq(r.b, 0xf7f6f5f4f3f2f1f0ULL);
	ck_assert_uint_eq(r.arg, 0xdeadbeef);
}
END_TEST

/*
 * Garbage: random bytes through the same path segd takes (header, then the
 * body it announces).  Only accept or refuse; anything accepted is sane.
 */
START_TEST(garbage_frames)
{
	unsigned seed = 0x9a7ba6e + (unsigned)_i;
	int i, frames = 0, reqs = 0;

	for (i = 0; i < 20000; i++) {
		size_t n = (size_t)(rand_r(&seed) % (SEGW_HDRLEN + REQLEN +
		    SEGW_MAXTEXT + 32)), j;
		uint8_t *b = malloc(n ? n : 1);
		struct segw_hdr h;
		struct segw_req r;
		const char *why = NULL;
		long need;

		ck_assert_ptr_nonnull(b);
		for (j = 0; j < n; j++)
			b[j] = (uint8_t)rand_r(&seed);
		/* make a share of the headers plausible so bodies get decoded */
		if (n >= SEGW_HDRLEN && (i % 4) != 0)
			raw_hdr(b, (uint32_t)(n - SEGW_HDRLEN),
			    (uint16_t)(1 + rand_r(&seed) % (SEGW_OPMAX - 1)), 0);
		if (n >= SEGW_HDRLEN + REQLEN && (i % 2) == 0)
			put_le16(b + SEGW_HDRLEN + SEG_NAMEMAX,
			    (uint16_t)(rand_r(&seed) % (SEG_NAMEMAX + 4)));
		need = segw_hdr_parse(b, n, &h, &why);
		if (need == 0) {
			ck_assert_uint_lt(n, SEGW_HDRLEN);
		} else if (need < 0) {
			ck_assert_ptr_nonnull(why);
		} else {
			uint8_t *body;

			frames++;
			ck_assert_int_eq(need, (long)(SEGW_HDRLEN + h.len));
			ck_assert_uint_le(h.len, SEGW_MAXPAYLOAD);
			ck_assert(h.op > 0 && h.op < SEGW_OPMAX);
			if ((size_t)need <= n) {
				body = dup_exact(b + SEGW_HDRLEN, h.len);
				memset(&r, 0, sizeof r);
				why = NULL;
				if (segw_req_decode(h.op, body, h.len, &r, &why) == 0) {
					reqs++;
					ck_assert_uint_le(strlen(r.name), SEG_NAMEMAX);
					ck_assert_uint_le(r.textlen, SEGW_MAXTEXT);
					ck_assert_uint_eq(strlen(r.text), r.textlen);
					ck_assert_uint_eq(h.len, REQLEN + r.textlen);
					ck_assert(r.textlen == 0 ||
					    SEGW_OP_HAS_TEXT(h.op));
				} else
					ck_assert_ptr_nonnull(why);
				free(body);
			}
		}
		free(b);
	}
	/* the generator reached both decoders' accepting paths */
	ck_assert_int_gt(frames, 1000);
	ck_assert_int_gt(reqs, 10);
}
END_TEST

/* Random bodies of every length around the interesting sizes. */
START_TEST(garbage_bodies)
{
	unsigned seed = 77;
	size_t n;

	for (n = 0; n <= REQLEN + SEGW_MAXTEXT + 2; n++) {
		int k;

		for (k = 0; k < 20; k++) {
			uint8_t *b = malloc(n ? n : 1);
			struct segw_req r;
			struct segw_info inf;
			const char *why = NULL, *text = NULL;
			size_t tl = 0, j;
			uint16_t op = (uint16_t)(1 + rand_r(&seed) % (SEGW_OPMAX - 1));

			ck_assert_ptr_nonnull(b);
			for (j = 0; j < n; j++)
				b[j] = (uint8_t)(k & 1 ? rand_r(&seed) % 3 + 'a' :
				    rand_r(&seed));
			if (n >= REQLEN)
				put_le16(b + SEG_NAMEMAX,
				    (uint16_t)(rand_r(&seed) % (SEG_NAMEMAX + 2)));
			if (segw_req_decode(op, b, n, &r, &why) == 0) {
				ck_assert_uint_eq(n, REQLEN + r.textlen);
				ck_assert_uint_le(strlen(r.name), SEG_NAMEMAX);
			} else
				ck_assert_ptr_nonnull(why);
			why = NULL;
			if (segw_info_decode(b, n, &inf, &text, &tl, &why) == 0) {
				ck_assert_uint_eq(n, INFOLEN + tl);
				ck_assert_uint_le(tl, SEGW_MAXTEXT);
				ck_assert(inf.verb < SEG_VERB_MAX);
				ck_assert_uint_le(strlen(inf.name), SEG_NAMEMAX);
				ck_assert_ptr_eq(text, (const char *)b + INFOLEN);
			} else
				ck_assert_ptr_nonnull(why);
			free(b);
		}
	}
}
END_TEST

/* ---- segment info ---- */

static void
sample_info(struct segw_info *i)
{
	memset(i, 0, sizeof *i);
	strcpy(i->name, "example");
	i->verb = SEG_VERB_KMSG;
	i->flags = SEGW_INFO_REMOVED;
	i->mode = 0640;
	i->uid = 1000;
	i->gid = 0xfffffffe;
	i->nattach = 3;
	i->va = 0x10000000;
	i->len = 0x100000;
}

START_TEST(info_round_trip)
{
	struct segw_info in, out;
	uint8_t b[INFOLEN + SEGW_MAXTEXT];
	const char *text = NULL, *why = NULL;
	const char *msg = "va 0x10000000 0x100000\n";
	size_t n, tl = 99;

	sample_info(&in);
	/* without text */
	n = segw_info_encode(b, sizeof b, &in, NULL, 0);
	ck_assert_uint_eq(n, INFOLEN);
	memset(&out, 0x77, sizeof out);
	ck_assert_int_eq(segw_info_decode(b, n, &out, &text, &tl, &why), 0);
	ck_assert_mem_eq(&in, &out, sizeof in);
	ck_assert_uint_eq(tl, 0);
	/* with text */
	n = segw_info_encode(b, sizeof b, &in, msg, strlen(msg));
	ck_assert_uint_eq(n, INFOLEN + strlen(msg));
	ck_assert_int_eq(segw_info_decode(b, n, &out, &text, &tl, &why), 0);
	ck_assert_mem_eq(&in, &out, sizeof in);
	ck_assert_uint_eq(tl, strlen(msg));
	ck_assert_mem_eq(text, msg, tl);
	/* text not wanted */
	ck_assert_int_eq(segw_info_decode(b, n, &out, NULL, NULL, &why), 0);
	ck_assert_str_eq(out.name, "example");
}
END_TEST

START_TEST(info_round_trip_extremes)
{
	struct segw_info in, out;
	uint8_t b[INFOLEN + SEGW_MAXTEXT];
	char text[SEGW_MAXTEXT];
	const char *t, *why = NULL;
	size_t tl;
	unsigned v;

	memset(text, '~', sizeof text);
	for (v = 0; v < SEG_VERB_MAX; v++) {
		memset(&in, 0, sizeof in);
		memset(in.name, 'Z', SEG_NAMEMAX);
		in.verb = (uint8_t)v;
		in.flags = 0xff;
		in.mode = in.uid = in.gid = in.nattach = 0xffffffff;
		in.va = in.len = UINT64_MAX;
		ck_assert_uint_eq(segw_info_encode(b, sizeof b, &in, text,
		    sizeof text), sizeof b);
		ck_assert_int_eq(segw_info_decode(b, sizeof b, &out, &t, &tl, &why),
		    0);
		ck_assert_mem_eq(&in, &out, sizeof in);
		ck_assert_uint_eq(tl, SEGW_MAXTEXT);
	}
}
END_TEST

START_TEST(info_encode_refuses)
{
	struct segw_info in;
	uint8_t b[INFOLEN + SEGW_MAXTEXT + 1];
	char text[SEGW_MAXTEXT + 1];

	sample_info(&in);
	memset(text, 't', sizeof text);
	ck_assert_uint_eq(segw_info_encode(b, INFOLEN - 1, &in, NULL, 0), 0);
	ck_assert_uint_eq(segw_info_encode(b, INFOLEN + 4, &in, text, 5), 0);
	ck_assert_uint_eq(segw_info_encode(b, sizeof b, &in, text, sizeof text),
	    0);
}
END_TEST

START_TEST(info_decode_refuses)
{
	struct segw_info in, out;
	uint8_t full[INFOLEN + SEGW_MAXTEXT + 1], *b;
	const char *why, *t;
	size_t n, tl;

	sample_info(&in);
	memset(full, 'x', sizeof full);
	ck_assert_uint_eq(segw_info_encode(full, sizeof full, &in, NULL, 0),
	    INFOLEN);
	/* truncated */
	for (n = 0; n < INFOLEN; n++) {
		b = dup_exact(full, n);
		why = NULL;
		ck_assert_int_eq(segw_info_decode(b, n, &out, &t, &tl, &why), -1);
		ck_assert_ptr_nonnull(why);
		free(b);
	}
	/* oversized */
	b = dup_exact(full, sizeof full);
	why = NULL;
	ck_assert_int_eq(segw_info_decode(b, sizeof full, &out, &t, &tl, &why),
	    -1);
	ck_assert_ptr_nonnull(why);
	free(b);
	/* bad name length */
	put_le16(full + SEG_NAMEMAX, SEG_NAMEMAX + 1);
	why = NULL;
	ck_assert_int_eq(segw_info_decode(full, INFOLEN, &out, &t, &tl, &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "name length"));
	/* NUL in name */
	put_le16(full + SEG_NAMEMAX, 7);
	full[3] = '\0';
	why = NULL;
	ck_assert_int_eq(segw_info_decode(full, INFOLEN, &out, &t, &tl, &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "NUL"));
	/* unknown verb */
	full[3] = 'm';
	full[offsetof(struct segw_info_wire, verb)] = SEG_VERB_MAX;
	why = NULL;
	ck_assert_int_eq(segw_info_decode(full, INFOLEN, &out, &t, &tl, &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "kind"));
	full[offsetof(struct segw_info_wire, verb)] = SEG_VERB_VA;
	ck_assert_int_eq(segw_info_decode(full, INFOLEN, &out, &t, &tl, &why), 0);
}
END_TEST

START_TEST(verb_names)
{
	ck_assert_str_eq(segw_verb_name(SEG_VERB_VA), "va");
	ck_assert_str_eq(segw_verb_name(SEG_VERB_ADDR), "addr");
	ck_assert_str_eq(segw_verb_name(SEG_VERB_UMSG), "umsg");
	ck_assert_str_eq(segw_verb_name(SEG_VERB_KMSG), "kmsg");
	ck_assert_str_eq(segw_verb_name(SEG_VERB_NONE), "-");
	ck_assert_str_eq(segw_verb_name(SEG_VERB_MAX), "?");
	ck_assert_str_eq(segw_verb_name(0xffffffffu), "?");
}
END_TEST

/* ---- seg_parse_u64 ---- */

static const struct {
	const char *s;
	uint64_t    v;
} u64_ok[] = {
	{ "0", 0 }, { "00", 0 }, { "0x0", 0 }, { "0X0", 0 }, { "1", 1 },
	{ "4096", 4096 }, { "0x1000", 4096 }, { "0X1000", 4096 },
	{ "0xabcdef", 0xabcdef }, { "0xABCDEF", 0xabcdef }, { "0xa", 10 },
	{ "010", 10 },		/* decimal, not octal */
	{ "0x010", 16 },
	{ "18446744073709551615", UINT64_MAX },
	{ "0xffffffffffffffff", UINT64_MAX },
	{ "0x0000000000000000000000000001", 1 },
	{ "0000000000000000000000000000042", 42 },	/* 31 characters */
};

static const char *u64_bad[] = {
	"", " ", "x", "0x", "0X", "x10", "-1", "+1", "-0", "+0", " 1", "1 ",
	"\t1", "1\n", "0x-1", "0x+1", "0x 1", "1x", "0xg", "0x1g", "12a", "1e3",
	"1.0", "0b1", "0o7", "0x0x1", "--1", "0xx1",
	"18446744073709551616",			/* UINT64_MAX + 1 */
	"99999999999999999999",
	"0x10000000000000000",
	"0xfffffffffffffffff",
	"00000000000000000000000000000001",	/* 32 characters: too long */
	"\xff", "1\xff", "\v1", "\f1",
};

START_TEST(u64_valid)
{
	const char *s = u64_ok[_i].s;
	uint64_t v = 0x5555;
	char *b = (char *)dup_exact(s, strlen(s));

	ck_assert_msg(seg_parse_u64(b, strlen(s), &v) == 0, "'%s' refused", s);
	ck_assert_msg(v == u64_ok[_i].v, "'%s' = %llu", s, (unsigned long long)v);
	free(b);
}
END_TEST

START_TEST(u64_invalid)
{
	const char *s = u64_bad[_i];
	uint64_t v = 0x5555;
	char *b = (char *)dup_exact(s, strlen(s));

	ck_assert_msg(seg_parse_u64(b, strlen(s), &v) == -1,
	    "'%s' accepted as %llu", s, (unsigned long long)v);
	ck_assert_uint_eq(v, 0x5555);		/* untouched */
	free(b);
}
END_TEST

START_TEST(u64_length_bounds)
{
	uint64_t v;
	static const char s[] = "12345\0" "99";

	/* exactly len characters, no terminator needed */
	ck_assert_int_eq(seg_parse_u64("12345", 3, &v), 0);
	ck_assert_uint_eq(v, 123);
	ck_assert_int_eq(seg_parse_u64("0x1fff", 4, &v), 0);
	ck_assert_uint_eq(v, 0x1f);
	/* an embedded NUL inside len is refused */
	ck_assert_int_eq(seg_parse_u64(s, sizeof s - 1, &v), -1);
	ck_assert_int_eq(seg_parse_u64(s, 5, &v), 0);
	ck_assert_uint_eq(v, 12345);
	/* zero length */
	ck_assert_int_eq(seg_parse_u64("1", 0, &v), -1);
	/* a huge len is refused without reading it */
	ck_assert_int_eq(seg_parse_u64("1", (size_t)-1, &v), -1);
}
END_TEST

START_TEST(u64_garbage)
{
	static const char alphabet[] = "0123456789abcdefxX+- \t";
	unsigned seed = 4242;
	int i;

	for (i = 0; i < 100000; i++) {
		size_t n = (size_t)(rand_r(&seed) % 34);
		char *b = rand_bytes(&seed, n, i & 1 ? NULL : alphabet,
		    sizeof alphabet - 1);
		uint64_t v;

		if (seg_parse_u64(b, n, &v) == 0) {
			/* accepted only digits, or 0x then hex digits */
			size_t k = 0;
			int hex = n > 2 && b[0] == '0' && (b[1] == 'x' || b[1] == 'X');
			ck_assert_uint_gt(n, 0);
			for (k = hex ? 2 : 0; k < n; k++)
				ck_assert(hex ? strchr("0123456789abcdefABCDEF", b[k])
				    != NULL && b[k] : b[k] >= '0' && b[k] <= '9');
		}
		free(b);
	}
}
END_TEST

/* ---- seg_name_valid ---- */

START_TEST(names)
{
	static const char *const good[] = { "a", "Z", "0", "_", "-", "...", ".a",
	    "a.", "..a", "a..", "example", "seg-1.x_Y", "A-Za-z0-9._-" };
	static const char *const bad[] = { "", ".", "..", "a b", " a", "a ", "a/b",
	    "/", "../a", "a\n", "a\t", "a*", "a:b", "a@b", "a~", "ä", "a\x7f",
	    "a\xff", "a+b", "a,b", "a\\b" };

	/* and 64 characters, and 65 */
	check_names(seg_name_valid, good, sizeof good / sizeof good[0], bad,
	    sizeof bad / sizeof bad[0], SEG_NAMEMAX);
}
END_TEST

/* Every single byte, as a one-character name. */
START_TEST(names_every_byte)
{
	int c;

	for (c = 1; c < 256; c++) {
		char name[2] = { (char)c, '\0' };
		int want = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '-';

		ck_assert_msg(seg_name_valid(name) == want, "byte 0x%02x", c);
	}
}
END_TEST

/* ---- default socket ---- */

/* A user's default socket: 0, or which check failed. */
static int
default_socket_user(void)
{
	char buf[256];

	if (setenv("XDG_RUNTIME_DIR", "/run/user/4321", 1) < 0 ||
	    seg_default_socket(buf, sizeof buf) < 0)
		return 1;
	if (strcmp(buf, "/run/user/4321/segd.sock") != 0)
		return 2;
	unsetenv("XDG_RUNTIME_DIR");
	errno = 0;
	if (seg_default_socket(buf, sizeof buf) != -1 || errno != ENOENT)
		return 3;
	return 0;
}

START_TEST(default_socket)
{
	char buf[256], lng[300];

	ck_assert_int_eq(setenv("SEGD_SOCKET", "/tmp/some where/segd.sock", 1), 0);
	ck_assert_int_eq(seg_default_socket(buf, sizeof buf), 0);
	ck_assert_str_eq(buf, "/tmp/some where/segd.sock");
	/* too small a buffer */
	errno = 0;
	ck_assert_int_eq(seg_default_socket(buf, 10), -1);
	ck_assert_int_eq(errno, ENAMETOOLONG);
	memset(lng, 'l', sizeof lng - 1);
	lng[sizeof lng - 1] = '\0';
	ck_assert_int_eq(setenv("SEGD_SOCKET", lng, 1), 0);
	ck_assert_int_eq(seg_default_socket(buf, sizeof buf), -1);
	/* empty means unset */
	ck_assert_int_eq(setenv("SEGD_SOCKET", "", 1), 0);
	if (geteuid() == 0) {
		pid_t pid;
		int st;

		ck_assert_int_eq(setenv("XDG_RUNTIME_DIR", "/run/user/4321", 1),
		    0);
		ck_assert_int_eq(seg_default_socket(buf, sizeof buf), 0);
		ck_assert_str_eq(buf, "/run/segd/segd.sock");
		/* and as another user, in a child */
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0)
			_exit(setuid(65534) == 0 ? default_socket_user() : 9);
		ck_assert_int_eq(waitpid(pid, &st, 0), pid);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		    "as uid 65534: check %d failed", WEXITSTATUS(st));
	} else {
		ck_assert_int_eq(default_socket_user(), 0);
		CK_SKIP("root's default (/run/segd) is checked only as root");
	}
}
END_TEST

void
suite(Suite *s)
{
	TCase *tc;

	ck_tcase(s, "header", NULL, 0, hdr_layout_little_endian, hdr_round_trip,
	    hdr_truncated_needs_more, hdr_more_bytes_available, hdr_oversized,
	    hdr_largest_frame, hdr_bad_op, NULL);
	tc = ck_tcase(s, "request", NULL, 0, req_layout, req_encode_refuses,
	    req_text_limits, req_oversized_frame, req_name_length,
	    req_nul_in_name, req_nul_in_text, req_fields_little_endian, NULL);
	tcase_add_loop_test(tc, req_round_trip_every_op, 1, SEGW_OPMAX);
	tcase_add_loop_test(tc, req_truncated, 1, SEGW_OPMAX);
	tcase_add_loop_test(tc, req_trailing_bytes, 1, SEGW_OPMAX);
	tc = ck_tcase(s, "garbage", NULL, 120, garbage_bodies, NULL);
	tcase_add_loop_test(tc, garbage_frames, 0, 4);
	ck_tcase(s, "info", NULL, 0, info_round_trip, info_round_trip_extremes,
	    info_encode_refuses, info_decode_refuses, verb_names, NULL);
	tc = ck_tcase(s, "parsers", NULL, 0, u64_length_bounds, u64_garbage,
	    names, names_every_byte, default_socket, NULL);
	tcase_add_loop_test(tc, u64_valid, 0,
	    (int)(sizeof u64_ok / sizeof u64_ok[0]));
	tcase_add_loop_test(tc, u64_invalid, 0,
	    (int)(sizeof u64_bad / sizeof u64_bad[0]));
}
