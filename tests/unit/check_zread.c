/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * check_zread.c: the read ring's layout (proto/zread.c): the bytes of each
 * field where zread.h says, little-endian; indexes wrap around the ring;
 * and the bounds segd and the reader put on the index the other side
 * writes (zread_room, zread_avail) hold for every lie.
 */
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "zread.h"

static uint8_t *ring;

static void
setup(void)
{
	ring = malloc(ZREAD_SIZE);
	ck_assert_ptr_nonnull(ring);
	memset(ring, 0xee, ZREAD_SIZE);
	zread_init(ring);
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

static void
le32put(size_t off, uint32_t v)
{
	ring[off] = (uint8_t)v;
	ring[off + 1] = (uint8_t)(v >> 8);
	ring[off + 2] = (uint8_t)(v >> 16);
	ring[off + 3] = (uint8_t)(v >> 24);
}

START_TEST(init_and_valid)
{
	size_t i;

	ck_assert_uint_eq(le32at(0), ZREAD_MAGIC);
	ck_assert_uint_eq(le32at(4), ZREAD_NSLOTS);
	for (i = 8; i < ZREAD_SIZE; i++)
		ck_assert_uint_eq(ring[i], 0);
	ck_assert_int_eq(zread_valid(ring, ZREAD_SIZE), 1);
	ck_assert_int_eq(zread_valid(ring, ZREAD_SIZE - 8), 0);
	ck_assert_int_eq(zread_valid(ring, ZREAD_SIZE + 4096), 0);
	ring[3] ^= 0x10;
	ck_assert_int_eq(zread_valid(ring, ZREAD_SIZE), 0);
	ring[3] ^= 0x10;
	ring[6] = 1;	/* another number of slots */
	ck_assert_int_eq(zread_valid(ring, ZREAD_SIZE), 0);
}
END_TEST

START_TEST(fields_little_endian)
{
	zread_set_broken(ring, 0x01020304);
	zread_set_armed(ring, 1);
	zread_set_prod(ring, 0x11223344);
	zread_set_cons(ring, 0xa0b0c0d0);
	ck_assert_uint_eq(le32at(8), 0x01020304);
	ck_assert_uint_eq(le32at(12), 1);
	ck_assert_uint_eq(le32at(64), 0x11223344);
	ck_assert_uint_eq(le32at(128), 0xa0b0c0d0);
	ck_assert_uint_eq(ring[64], 0x44);
	ck_assert_uint_eq(ring[128], 0xd0);
	ck_assert_uint_eq(zread_broken(ring), 0x01020304);
	ck_assert_uint_eq(zread_armed(ring), 1);
	ck_assert_uint_eq(zread_prod(ring), 0x11223344);
	ck_assert_uint_eq(zread_cons(ring), 0xa0b0c0d0);
}
END_TEST

START_TEST(entries_wrap)
{
	size_t last = ZREAD_HDRLEN + (ZREAD_NSLOTS - 1) * ZREAD_ENTLEN;

	zread_put(ring, 0, 0x1122334455667788ULL);
	ck_assert_uint_eq(ring[ZREAD_HDRLEN], 0x88);
	ck_assert_uint_eq(ring[ZREAD_HDRLEN + 7], 0x11);
	ck_assert_uint_eq(zread_get(ring, ZREAD_NSLOTS), 0x1122334455667788ULL);
	/* entry 2^32 - 1 is the last slot, and ends the ring */
	zread_put(ring, UINT32_MAX, 0xabcdef);
	ck_assert_uint_eq(le32at(last), 0xabcdef);
	ck_assert_uint_eq(last + ZREAD_ENTLEN, ZREAD_SIZE);
	ck_assert_uint_eq(zread_get(ring, ZREAD_NSLOTS - 1), 0xabcdef);
}
END_TEST

/* segd's bound on the reader's consumer index, behind its own prod */
START_TEST(room_bounds_the_reader)
{
	static const struct { uint32_t prod, cons; int room; } c[] = {
		{ 0, 0, ZREAD_NSLOTS },
		{ 10, 5, ZREAD_NSLOTS - 5 },
		{ 10, 10, ZREAD_NSLOTS },
		{ ZREAD_NSLOTS + 3, 3, 0 },		/* full */
		{ ZREAD_NSLOTS + 3, 2, -1 },		/* more than a ring behind */
		{ 10, 11, -1 },				/* ahead of prod */
		{ 10, UINT32_MAX, ZREAD_NSLOTS - 11 },	/* across the wrap */
		{ 2, 0x80000000u, -1 },
	};
	size_t i;

	for (i = 0; i < sizeof c / sizeof c[0]; i++) {
		le32put(128, c[i].cons);
		ck_assert_msg(zread_room(ring, c[i].prod) == c[i].room,
		    "prod %u cons %u: room %d, not %d", c[i].prod, c[i].cons,
		    zread_room(ring, c[i].prod), c[i].room);
	}
}
END_TEST

/* the reader's bound on segd's producer index, past its own cons */
START_TEST(avail_bounds_segd)
{
	le32put(64, 7);
	ck_assert_int_eq(zread_avail(ring, 7), 0);
	ck_assert_int_eq(zread_avail(ring, 2), 5);
	ck_assert_int_eq(zread_avail(ring, 8), -1);
	le32put(64, ZREAD_NSLOTS + 7);
	ck_assert_int_eq(zread_avail(ring, 7), ZREAD_NSLOTS);
	ck_assert_int_eq(zread_avail(ring, 6), -1);
	le32put(64, 4);
	ck_assert_int_eq(zread_avail(ring, UINT32_MAX - 1), 6);
}
END_TEST

Suite *
suite(void)
{
	Suite *s = suite_create("zread");

	ck_tcase(s, "layout", &fix, 0, init_and_valid, fields_little_endian,
	    entries_wrap, room_bounds_the_reader, avail_bounds_segd, NULL);
	return s;
}
