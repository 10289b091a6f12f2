/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * check_zread.c: the read rings (issue 15, reading returned addresses)
 * against a real segd: seg_free_read takes a umsg segment's returned
 * addresses from its ring, each once, also past a full ring; its
 * descriptor is readable exactly while entries wait; double and foreign
 * frees are still refused; and a reader that lies in its ring (an index
 * ahead, garbage), never reads, or floods segd with fills hurts only
 * itself: segd stays up and serves the others at their rate.
 *
 * The hostile readers are forked children that take their ring with
 * SEGW_ZREAD and write it through proto/zread.c.  The exactly-once test
 * under four senders is check_zring.c's ring_exactly_once, whose pool
 * holder reads through its read ring.
 */
#include <sys/mman.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "libseg.h"
#include "zread.h"

#define MIB   (1ULL << 20)
#define UVA   0x38000000ULL	/* "u": this process holds its pool */
#define VVA   0x3c000000ULL	/* "v": a flooding child's */
#define NBUF  5000		/* more than a ring holds */
#define NRING ((int)ZREAD_NSLOTS)
#define NWORDS ((int)ZREAD_SIZE / 4)

/* This process's read ring of name, mapped, and its eventfd. */
static void *
ring_map(const char *name, int *efd)
{
	return h_ring_map(SEGW_ZREAD, name, SEGW_ZREAD_MEM, SEGW_ZREAD_KICK,
	    ZREAD_SIZE, efd);
}

/* SEGW_ZREAD_FILL of this process's ring of name: 0, or -1. */
static int
ring_fill(const char *name)
{
	struct segw_req r;

	H_CCHECK(seg_req_name(&r, name) == 0, "name");
	r.arg = SEGW_ZREAD_FILL;
	return seg_call(SEGW_ZREAD, &r, NULL, NULL, NULL, NULL);
}

/* Read n addresses of "u" into got: each once, each one of want. */
static void
read_all(uint64_t *got, int n)
{
	int k = 0, i;

	while (k < n) {
		i = seg_free_read("u", got + k, n - k);
		ck_assert_msg(i > 0, "seg_free_read: %s", seg_errstr());
		k += i;
	}
}

static int
readable(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };

	return poll(&p, 1, 0);
}

/*
 * More returned than the ring holds, before any read: the reader takes
 * them all, each once, through its ring (segd fills it again when the
 * reader asks, having emptied it); its descriptor is readable exactly
 * while entries wait.
 */
START_TEST(read_past_full_ring)
{
	static uint64_t a[NBUF], got[NBUF];
	uint8_t *seen = calloc(2 * MIB / 64, 1);
	void *mem;
	int i, efd, fd;

	ck_assert(seen != NULL);
	h_umsg("u", UVA, 2 * MIB);
	for (i = 0; i < NBUF; i++)
		a[i] = h_zalloc64("u");
	fd = seg_free_fd("u");		/* the ring's: taken, and armed */
	ck_assert_msg(fd >= 0, "seg_free_fd: %s", seg_errstr());
	ck_assert_int_eq(readable(fd), 0);
	for (i = 0; i < NBUF; i++)
		ck_assert_msg(seg_zfree((void *)(uintptr_t)a[i]) == 0,
		    "seg_zfree: %s", seg_errstr());
	ck_assert_int_eq(readable(fd), 1);
	mem = ring_map("u", &efd);
	ck_assert_uint_eq(zread_word(mem, ZREAD_PROD), ZREAD_NSLOTS);
	/* full: segd stopped */
	ck_assert_uint_eq(zread_word(mem, ZREAD_ARMED), 0);
	read_all(got, NBUF);
	ck_assert_int_eq(readable(fd), 0);
	for (i = 0; i < NBUF; i++) {
		uint64_t g = (got[i] - UVA) / 64;
		ck_assert_msg(got[i] >= UVA && g < 2 * MIB / 64 && !seen[g],
		    "0x%llx read twice", (unsigned long long)got[i]);
		seen[g] = 1;
	}
	for (i = 0; i < NBUF; i++)
		ck_assert(seen[(a[i] - UVA) / 64]);
	/* every one through the ring, and segd fills it again */
	ck_assert_uint_eq(zread_word(mem, ZREAD_PROD), NBUF);
	ck_assert_uint_eq(zread_word(mem, ZREAD_CONS), NBUF);
	ck_assert_uint_eq(zread_word(mem, ZREAD_ARMED), 1);
	ck_assert_msg(seg_zfree((void *)(uintptr_t)a[0]) != 0, "a buffer "
	    "read back into the pool was returned again");
	close(efd);
	munmap(mem, ZREAD_SIZE);
	free(seen);
}
END_TEST

/* Another process reads the free of "u": n addresses, its pool not. */
static void
other_reader_fn(void *arg)
{
	uint64_t got[16];
	int n = *(int *)arg, k = 0, i;

	while (k < n) {
		H_CCHECK((i = seg_free_read("u", got + k, n - k)) > 0,
		    "seg_free_read: %s", seg_errstr());
		k += i;
	}
}

/*
 * A reader's ring gets what it asks for, no more: what it does not read
 * stays for the others (and not lost when it goes away).
 */
START_TEST(reader_gets_what_it_asks)
{
	uint64_t a[10], got[3];
	int i, seven = 7;

	h_umsg("u", UVA, MIB);
	for (i = 0; i < 10; i++)
		a[i] = h_zalloc64("u");
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(seg_zfree((void *)(uintptr_t)a[i]), 0);
	ck_assert_int_eq(seg_free_read("u", got, 3), 3);
	for (i = 0; i < 3; i++)
		ck_assert_uint_eq(got[i], a[i]);
	CK_CHILD(other_reader_fn, &seven);
	ck_assert_int_eq(readable(seg_free_fd("u")), 0);
}
END_TEST

/* Double and foreign returns are refused beside the read ring. */
START_TEST(double_and_foreign_refused)
{
	uint64_t a, b, got;
	char want[160];

	h_umsg("u", UVA, MIB);
	a = h_zalloc64("u");
	b = h_zalloc64("u");
	ck_assert_int_eq(seg_zfree((void *)(uintptr_t)a), 0);
	ck_assert_int_eq(seg_zfree((void *)(uintptr_t)a), -1);	/* queued */
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(seg_free_read("u", &got, 1), 1);
	ck_assert_uint_eq(got, a);
	ck_assert_int_eq(seg_zfree((void *)(uintptr_t)a), -1);	/* pooled */
	snprintf(want, sizeof want, "address 0x%llx is not the start of a live "
	    "buffer of segment 'u'", (unsigned long long)a);
	ck_assert_str_eq(seg_errstr(), want);
	ck_assert_int_eq(seg_zfree((void *)(uintptr_t)(b + 8)), -1);
	ck_assert_int_eq(seg_zfree((void *)(uintptr_t)0x1000), -1);
	ck_assert_str_eq(seg_errstr(), "address 0x1000 is not in any segment");
	/* b is still live, and comes back once */
	ck_assert_int_eq(seg_zfree((void *)(uintptr_t)b), 0);
	ck_assert_int_eq(seg_free_read("u", &got, 1), 1);
	ck_assert_uint_eq(got, b);
}
END_TEST

static void flooder_fn(void *);

/*
 * A reader flooding segd with fills of a ring it scribbles on slows the
 * others by at most half (the best of five rounds counts: rates on a small
 * shared host vary by more than that from one run to the next).
 */
START_TEST(flood_fair)
{
	h_umsg("u", UVA, 4 * MIB);
	h_umsg("v", VVA, MIB);
	/* returns and reads of "u" (held here) timed, one a call */
	h_flood_fair("u", 1, 3000, flooder_fn, "zread flood_fair");
}
END_TEST

/*
 * A hostile reader's ring of "u", filled by segd from now on; then its
 * parent is told.  settle waits (at most 60 s) until word w is not below
 * min (or the ring broke): its value.
 */
static void *
hostile_ring(int *efd)
{
	void *mem = ring_map("u", efd);

	zread_set_word(mem, ZREAD_WANT, ZREAD_NSLOTS);	/* a ring of them */
	H_CCHECK(ring_fill("u") == 0, "fill: %s", seg_errstr());
	return mem;
}

static uint32_t
settle(void *mem, enum zread_word w, uint32_t min)
{
	long deadline = ck_now_ms() + 60000;

	while (zread_word(mem, w) < min && !zread_word(mem, ZREAD_BROKEN) &&
	    ck_now_ms() < deadline)
		usleep(10000);
	return zread_word(mem, w);
}

/* A reader whose consumer index is ahead of segd's: its ring breaks. */
static void
index_liar_fn(void *arg)
{
	int efd;
	void *mem = hostile_ring(&efd);

	(void)arg;
	zread_set_word(mem, ZREAD_CONS, 12345);
	h_ready();
	H_CCHECK(settle(mem, ZREAD_BROKEN, 1) == EPROTO, "still filled");
	H_CCHECK(zread_word(mem, ZREAD_PROD) == 0, "%u addresses put in it",
	    zread_word(mem, ZREAD_PROD));
	H_CCHECK(ring_fill("u") < 0 && errno == EPROTO, "a fill of it was "
	    "answered");
}

/* ... and the address it would have had goes to another reader. */
START_TEST(index_liar_loses_its_ring)
{
	struct h_kid k;
	uint64_t a, got;

	h_umsg("u", UVA, MIB);
	a = h_zalloc64("u");
	h_start(&k, index_liar_fn, NULL);
	h_wait_ready(&k);
	ck_assert_int_eq(seg_zfree((void *)(uintptr_t)a), 0);
	h_finish_ok(&k, "index_liar_fn");
	ck_assert_int_eq(seg_free_read("u", &got, 1), 1);
	ck_assert_uint_eq(got, a);
}
END_TEST

/* A reader that never reads: its ring fills, then segd stops. */
static void
sleeper_fn(void *arg)
{
	int efd;
	void *mem = hostile_ring(&efd);

	(void)arg;
	h_ready();
	H_CCHECK(settle(mem, ZREAD_PROD, ZREAD_NSLOTS) == ZREAD_NSLOTS &&
	    zread_word(mem, ZREAD_ARMED) == 0, "prod %u armed %u",
	    zread_word(mem, ZREAD_PROD), zread_word(mem, ZREAD_ARMED));
	H_CCHECK(readable(efd) == 1, "the full ring's eventfd is not readable");
}

/* It loses only what its ring holds: the others read the rest. */
START_TEST(never_reader_holds_one_ring)
{
	static uint64_t a[NBUF], got[NBUF - NRING];
	struct h_kid k;
	int i;

	h_umsg("u", UVA, 2 * MIB);
	for (i = 0; i < NBUF; i++)
		a[i] = h_zalloc64("u");
	h_start(&k, sleeper_fn, NULL);
	h_wait_ready(&k);
	for (i = 0; i < NBUF; i++)
		ck_assert_int_eq(seg_zfree((void *)(uintptr_t)a[i]), 0);
	h_finish_ok(&k, "sleeper_fn");
	read_all(got, NBUF - NRING);
	for (i = 0; i < NBUF - NRING; i++)
		ck_assert_uint_eq(got[i], a[NRING + i]);
	ck_assert_int_eq(readable(seg_free_fd("u")), 0);
}
END_TEST

/*
 * Without end: scribble on its ring of "v" (random bytes over all of it,
 * the consumer index among them), return what it can of "v" and ask for
 * fills.  It sleeps a millisecond a round rather than spin, so that what
 * is measured is segd's fairness, not a CPU taken from the others on a
 * small host.
 */
static void
flooder_fn(void *arg)
{
	struct timespec ms = { 0, 1000000 };
	unsigned seed = 15;
	uint32_t *w;
	void *p;
	int efd, i;
	void *mem = ring_map("v", &efd);

	(void)arg;
	w = mem;
	h_ready();
	for (;;) {
		for (i = 0; i < 16; i++)
			if ((p = seg_zalloc("v", 64)) != NULL)
				(void)seg_zfree(p);
		for (i = 0; i < NWORDS; i += 1 + rand_r(&seed) % 64)
			w[i] = (uint32_t)rand_r(&seed);
		for (i = 0; i < 8; i++)
			(void)ring_fill("v");
		nanosleep(&ms, NULL);
	}
}

void
suite(Suite *s)
{
	/* one segd a test: the hostile readers' too */
	ck_tcase(s, "zread", &h_fix, H_TIMEOUT_S, read_past_full_ring,
	    reader_gets_what_it_asks, double_and_foreign_refused,
	    index_liar_loses_its_ring, never_reader_holds_one_ring, flood_fair,
	    NULL);
}
