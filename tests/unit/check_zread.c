/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * check_zread.c: the read ring's layout (proto/zread.c): the bytes of each
 * field where zread.h says, little-endian; indexes wrap around the ring;
 * and the bounds segd and the reader put on the index the other side
 * writes (zread_room, zread_avail) hold for every lie.
 */
#include <string.h>

#include "check_main.h"
#include "testbytes.h"
#include "zread.h"

static uint8_t ring[ZREAD_SIZE];

static void
setup(void)
{
	memset(ring, 0xee, sizeof ring);
	zread_init(ring);
}

static const struct ck_fix fix = { .setup = setup };

/* made as zread.h says; any other size, magic or slot count is refused */
START_TEST(init_and_valid)
{
	static const struct { size_t size, flip; int valid; } c[] = {
		{ ZREAD_SIZE, 0, 1 },
		{ ZREAD_SIZE - 8, 0, 0 },
		{ ZREAD_SIZE + 4096, 0, 0 },
		{ ZREAD_SIZE, 3, 0 },	/* the magic's last byte */
		{ ZREAD_SIZE, 6, 0 },	/* another number of slots */
		{ ZREAD_SIZE, 9, 1 },	/* broken: not the layout's concern */
	};
	size_t i;

	ck_assert_uint_eq(get_le32(ring), ZREAD_MAGIC);
	ck_assert_uint_eq(get_le32(ring + 4), ZREAD_NSLOTS);
	for (i = 8; i < ZREAD_SIZE; i++)
		ck_assert_uint_eq(ring[i], 0);
	for (i = 0; i < sizeof c / sizeof c[0]; i++) {
		ring[c[i].flip] ^= c[i].flip ? 0x10 : 0;
		ck_assert_msg(zread_valid(ring, c[i].size) == c[i].valid,
		    "case %zu", i);
		ring[c[i].flip] ^= c[i].flip ? 0x10 : 0;
	}
}
END_TEST

START_TEST(fields_le)
{
	zread_set_word(ring, ZREAD_BROKEN, 0x01020304);
	zread_set_word(ring, ZREAD_ARMED, 1);
	zread_set_word(ring, ZREAD_PROD, 0x11223344);
	zread_set_word(ring, ZREAD_CONS, 0xa0b0c0d0);
	ck_assert_uint_eq(get_le32(ring + 8), 0x01020304);
	ck_assert_uint_eq(get_le32(ring + 12), 1);
	ck_assert_uint_eq(get_le32(ring + 64), 0x11223344);
	ck_assert_uint_eq(get_le32(ring + 128), 0xa0b0c0d0);
	ck_assert_uint_eq(ring[64], 0x44);
	ck_assert_uint_eq(ring[128], 0xd0);
	ck_assert_uint_eq(zread_word(ring, ZREAD_BROKEN), 0x01020304);
	ck_assert_uint_eq(zread_word(ring, ZREAD_ARMED), 1);
	ck_assert_uint_eq(zread_word(ring, ZREAD_PROD), 0x11223344);
	ck_assert_uint_eq(zread_word(ring, ZREAD_CONS), 0xa0b0c0d0);
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
	ck_assert_uint_eq(get_le32(ring + last), 0xabcdef);
	ck_assert_uint_eq(last + ZREAD_ENTLEN, ZREAD_SIZE);
	ck_assert_uint_eq(zread_get(ring, ZREAD_NSLOTS - 1), 0xabcdef);
}
END_TEST

/* what the reader asks for, bounded by the ring */
START_TEST(asked_bounded)
{
	put_le32(ring + 192, 20);
	ck_assert_int_eq(zread_asked(ring, 15), 5);
	ck_assert_int_eq(zread_asked(ring, 20), 0);
	ck_assert_int_eq(zread_asked(ring, 21), 0);	/* behind prod */
	ck_assert_int_eq(zread_asked(ring, 20 - ZREAD_NSLOTS), ZREAD_NSLOTS);
	ck_assert_int_eq(zread_asked(ring, 19 - ZREAD_NSLOTS), 0);
	put_le32(ring + 192, 3);
	ck_assert_int_eq(zread_asked(ring, UINT32_MAX), 4);	/* the wrap */
}
END_TEST

/* segd's bound on the reader's consumer index, behind its own prod */
START_TEST(room_bounded)
{
	static const struct { uint32_t prod, cons; int room; } c[] = {
		{ 0, 0, ZREAD_NSLOTS },
		{ 10, 5, ZREAD_NSLOTS - 5 },
		{ 10, 10, ZREAD_NSLOTS },
		{ ZREAD_NSLOTS + 3, 3, 0 },		/* full */
		{ ZREAD_NSLOTS + 3, 2, -1 },	/* more than a ring behind */
		{ 10, 11, -1 },				/* ahead of prod */
		{ 10, UINT32_MAX, ZREAD_NSLOTS - 11 },	/* across the wrap */
		{ 2, 0x80000000u, -1 },
	};
	size_t i;

	for (i = 0; i < sizeof c / sizeof c[0]; i++) {
		put_le32(ring + 128, c[i].cons);
		ck_assert_msg(zread_room(ring, c[i].prod) == c[i].room,
		    "prod %u cons %u: room %d, not %d", c[i].prod, c[i].cons,
		    zread_room(ring, c[i].prod), c[i].room);
	}
}
END_TEST

/* the reader's bound on segd's producer index, past its own cons */
START_TEST(avail_bounded)
{
	static const struct { uint32_t prod, cons; int avail; } c[] = {
		{ 7, 7, 0 },
		{ 7, 2, 5 },
		{ 7, 8, -1 },				/* behind the reader */
		{ ZREAD_NSLOTS + 7, 7, ZREAD_NSLOTS },
		{ ZREAD_NSLOTS + 7, 6, -1 },		/* past the ring */
		{ 4, UINT32_MAX - 1, 6 },		/* across the wrap */
	};
	size_t i;

	for (i = 0; i < sizeof c / sizeof c[0]; i++) {
		put_le32(ring + 64, c[i].prod);
		ck_assert_msg(zread_avail(ring, c[i].cons) == c[i].avail,
		    "case %zu", i);
	}
}
END_TEST

void
suite(Suite *s)
{
	ck_tcase(s, "layout", &fix, 0, init_and_valid, fields_le, entries_wrap,
	    room_bounded, avail_bounded, asked_bounded, NULL);
}
