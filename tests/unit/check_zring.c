/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * check_zring.c: the free ring's layout (proto/zring.c): the bytes of
 * each field where zring.h says, little-endian; indexes wrap around the
 * ring; error records are found by their batch and bounded however their
 * bytes were written.
 */
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "zring.h"

static uint8_t *ring;

static void
setup(void)
{
	ring = malloc(ZRING_SIZE);
	ck_assert_ptr_nonnull(ring);
	memset(ring, 0xee, ZRING_SIZE);
	zring_init(ring);
}

static void
teardown(void)
{
	free(ring);
}

static const struct ck_fix fix = { .setup = setup, .teardown = teardown };

static uint32_t
le32at(size_t off)
{
	return (uint32_t)ring[off] | (uint32_t)ring[off + 1] << 8 |
	    (uint32_t)ring[off + 2] << 16 | (uint32_t)ring[off + 3] << 24;
}

START_TEST(init_and_valid)
{
	size_t i;

	ck_assert_uint_eq(le32at(0), ZRING_MAGIC);
	ck_assert_uint_eq(le32at(4), ZRING_NSLOTS);
	for (i = 8; i < ZRING_SIZE; i++)
		ck_assert_uint_eq(ring[i], 0);
	ck_assert_int_eq(zring_valid(ring, ZRING_SIZE), 1);
	ck_assert_int_eq(zring_valid(ring, ZRING_SIZE - 1), 0);
	ck_assert_int_eq(zring_valid(ring, ZRING_SIZE + 4096), 0);
	ring[0] ^= 1;
	ck_assert_int_eq(zring_valid(ring, ZRING_SIZE), 0);
	ring[0] ^= 1;
	ring[5] = 1;	/* another number of slots */
	ck_assert_int_eq(zring_valid(ring, ZRING_SIZE), 0);
}
END_TEST

START_TEST(counters_little_endian)
{
	zring_set_prod(ring, 0x01020304);
	zring_set_cons(ring, 0x0a0b0c0d);
	zring_set_broken(ring, 71);
	zring_add_waiters(ring, 3);
	zring_add_waiters(ring, -1);
	ck_assert_uint_eq(le32at(64), 0x01020304);
	ck_assert_uint_eq(ring[64], 0x04);
	ck_assert_uint_eq(le32at(128), 0x0a0b0c0d);
	ck_assert_ptr_eq(zring_cons_word(ring), (void *)(ring + 128));
	ck_assert_uint_eq(le32at(8), 71);
	ck_assert_uint_eq(le32at(192), 2);
	ck_assert_uint_eq(zring_prod(ring), 0x01020304);
	ck_assert_uint_eq(zring_cons(ring), 0x0a0b0c0d);
	ck_assert_uint_eq(zring_broken(ring), 71);
	ck_assert_uint_eq(zring_waiters(ring), 2);
}
END_TEST

START_TEST(entries_wrap)
{
	struct zring_ent e = { 0x1122334455667788ULL, ZRING_MORE }, g;
	size_t off = ZRING_HDRLEN + 5 * ZRING_ENTLEN;

	/* entry number NSLOTS + 5 is slot 5; a new entry's status is unset */
	zring_put(ring, ZRING_NSLOTS + 5, &e);
	ck_assert_uint_eq(ring[off], 0x88);
	ck_assert_uint_eq(ring[off + 7], 0x11);
	ck_assert_uint_eq(le32at(off + 8), ZRING_MORE);
	ck_assert_uint_eq(le32at(off + 12), UINT32_MAX);
	zring_get(ring, 5, &g);
	ck_assert_uint_eq(g.addr, e.addr);
	ck_assert_uint_eq(g.flags, ZRING_MORE);
	zring_set_status(ring, 0xfffffff0u + 5 + 16, 0x20016);
	ck_assert_uint_eq(le32at(off + 12), 0x20016);
	ck_assert_uint_eq(zring_status(ring, 5), 0x20016);
	/* the last slot ends where the error records begin */
	zring_put(ring, ZRING_NSLOTS - 1, &e);
	ck_assert_uint_eq(ring[ZRING_HDRLEN + ZRING_NSLOTS * ZRING_ENTLEN - 1],
	    0xff);
	ck_assert_uint_eq(ring[ZRING_HDRLEN + ZRING_NSLOTS * ZRING_ENTLEN], 0);
}
END_TEST

START_TEST(error_records)
{
	char buf[ZRING_ERRLEN], small[8], text[400];
	size_t rec1 = ZRING_HDRLEN + ZRING_NSLOTS * ZRING_ENTLEN + ZRING_ERRLEN;

	zring_set_error(ring, ZRING_NERR + 1, 77, "address 0x40 refused");
	ck_assert_uint_eq(le32at(rec1), 77);
	ck_assert_int_eq(zring_error(ring, 1, 77, buf, sizeof buf), 1);
	ck_assert_str_eq(buf, "address 0x40 refused");
	/* another batch's record, or none */
	ck_assert_int_eq(zring_error(ring, 1, 78, buf, sizeof buf), 0);
	ck_assert_int_eq(zring_error(ring, 2, 77, buf, sizeof buf), 0);
	/* cut to the caller's buffer */
	ck_assert_int_eq(zring_error(ring, 1, 77, small, sizeof small), 1);
	ck_assert_str_eq(small, "address");
	/* too long a text is cut to the record */
	memset(text, 'x', sizeof text - 1);
	text[sizeof text - 1] = 0;
	zring_set_error(ring, 1, 79, text);
	ck_assert_int_eq(zring_error(ring, 1, 79, buf, sizeof buf), 1);
	ck_assert_uint_eq(strlen(buf), ZRING_ERRLEN - 5);
	/* a record with no NUL (written by a client): still ended */
	memset(ring + rec1 + 4, 'y', ZRING_ERRLEN - 4);
	ck_assert_int_eq(zring_error(ring, 1, 79, buf, sizeof buf), 1);
	ck_assert_uint_eq(strlen(buf), ZRING_ERRLEN - 4 < sizeof buf - 1 ?
	    ZRING_ERRLEN - 4 : sizeof buf - 1);
	/* the last record ends the ring */
	zring_set_error(ring, ZRING_NERR - 1, 5, "z");
	ck_assert_uint_eq(le32at(ZRING_SIZE - ZRING_ERRLEN), 5);
}
END_TEST

void
suite(Suite *s)
{
	ck_tcase(s, "layout", &fix, 0, init_and_valid, counters_little_endian,
	    entries_wrap, error_records, NULL);
}
