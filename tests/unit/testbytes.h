/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * testbytes.h: byte helpers the unit suites of the wire and the parsers
 * share (check_wire, check_segp, check_ctl): exact heap copies, raw
 * little-endian fields written and read without the code under test,
 * random input, and the checks of a name validator.
 */
#ifndef TESTBYTES_H
#define TESTBYTES_H

#include <check.h>
#include <endian.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * A heap copy of exactly n bytes, so that a read past the end is caught
 * under AddressSanitizer.
 */
static inline uint8_t *
dup_exact(const void *p, size_t n)
{
	uint8_t *b = malloc(n ? n : 1);

	ck_assert_ptr_nonnull(b);
	if (n)
		memcpy(b, p, n);
	return b;
}

static inline void
put_le16(uint8_t *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, 2);
}

static inline void
put_le32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static inline void
put_le64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
}

static inline uint16_t
get_le16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return le16toh(v);
}

static inline uint32_t
get_le32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

static inline uint64_t
get_le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return le64toh(v);
}

/*
 * A heap block of n random bytes (rand_r, one call a byte): any byte, or,
 * with alphabet, one of its alen characters.
 */
static inline char *
rand_bytes(unsigned *seed, size_t n, const char *alphabet, size_t alen)
{
	char *b = malloc(n ? n : 1);
	size_t j;

	ck_assert_ptr_nonnull(b);
	for (j = 0; j < n; j++)
		b[j] = alphabet ? alphabet[(size_t)rand_r(seed) % alen] :
		    (char)rand_r(seed);
	return b;
}

/*
 * A name validator against lists of names it must accept and refuse, and
 * at its longest: max characters accepted, max + 1 refused.
 */
static inline void
check_names(int (*valid)(const char *), const char *const *good,
    size_t ngood, const char *const *bad, size_t nbad, size_t max)
{
	char *name = malloc(max + 2);
	size_t i;

	ck_assert_ptr_nonnull(name);
	for (i = 0; i < ngood; i++)
		ck_assert_msg(valid(good[i]), "'%s' refused", good[i]);
	for (i = 0; i < nbad; i++)
		ck_assert_msg(!valid(bad[i]), "'%s' accepted", bad[i]);
	memset(name, 'n', max);
	name[max] = '\0';
	ck_assert(valid(name));
	name[max] = 'n';
	name[max + 1] = '\0';
	ck_assert(!valid(name));
	free(name);
}

#endif
