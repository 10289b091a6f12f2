/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * lock.c: a lock on an 8-byte word of an import exported with
 * SEG_LOCK_OPS, made of the import's RDMA atomics (import_ops.c).  The word
 * is 0 when free, else its holder's id: the id the exporter gave the holder's
 * import, which the exporter can tell alive or gone.  Import ids start from
 * the exporter's clock and never repeat, so a dead holder's id never comes
 * back to life.
 *
 * seg_lock compares-and-swaps 0 for its own id: a few times at once, then
 * sleeping between tries, each sleep longer (to LOCK_SLEEP_MAX_US).  When
 * the same holder has held the word for LOCK_CHECK_MS, it asks the
 * exporter (through segd: ALIVE) whether that holder's import still
 * exists; if not, the holder died (its segd unimported for it) or let its
 * import go, and the lock is broken by swapping the dead id for its own.
 * The question is asked again at doubling intervals (to LOCK_CHECK_MAX_MS)
 * while the holder lives.  So a dead holder's lock is broken at most
 * LOCK_CHECK_MAX_MS plus one round trip after its import is gone at the
 * exporter.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "libseg.h"

#define LOCK_SPINS         8		/* tries before the first sleep */
#define LOCK_SLEEP_US      20		/* the first sleep */
#define LOCK_SLEEP_MAX_US  5000		/* the longest */
#define LOCK_CHECK_MS      100		/* a holder seen this long: alive? */
#define LOCK_CHECK_MAX_MS  1000
#define LOCK_TIMEOUT_MS    30000	/* default of $SEG_LOCK_TIMEOUT_MS */

static long long
lock_timeout_ms(void)
{
	const char *s = getenv("SEG_LOCK_TIMEOUT_MS");
	long long v;

	if (s == NULL || (v = atoll(s)) <= 0)
		return LOCK_TIMEOUT_MS;
	return v;
}

static void
nap(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

/*
 * The word holds dead, whose import is gone at the exporter: take it from
 * dead (1), or another did first (0).
 */
static int
lock_break(seg_import_t *imp, uint64_t off, uint64_t dead, uint64_t me)
{
	uint64_t old;

	if (seg_cas(imp, off, dead, me, &old) < 0)
		return -1;
	return old == dead;
}

/* Whether holder lives: 1, 0; an exporter too old to tell counts as 1. */
static int
holder_alive(seg_import_t *imp, uint64_t holder)
{
	int rc = seg_imp_alive(imp, holder);

	if (rc < 0 && errno == ENOTSUP)
		return 1;
	return rc;
}

int
seg_lock(seg_import_t *imp, uint64_t off)
{
	long long now = seg_now_ms(), end = now + lock_timeout_ms(), seen_at = now;
	long long check_ms = LOCK_CHECK_MS;
	uint64_t me, old, seen = 0;
	long sleep_us = LOCK_SLEEP_US;
	int tries, rc;

	if (imp == NULL)
		return seg_seterr(EINVAL, "no import");
	if (seg_imp_holder(imp, &me) < 0)
		return -1;
	for (tries = 0; ; tries++) {
		if (seg_cas(imp, off, 0, me, &old) < 0)
			return -1;
		if (old == 0)
			return 0;
		if (old == me)
			return seg_seterr(EDEADLK, "the lock at 0x%llx of '%s' is "
			    "already held by this import", (unsigned long long)off,
			    seg_imp_name(imp));
		now = seg_now_ms();
		if (old != seen) {
			seen = old;
			seen_at = now;
			check_ms = LOCK_CHECK_MS;
		} else if (now - seen_at >= check_ms) {
			if ((rc = holder_alive(imp, old)) < 0)
				return -1;
			if (rc == 0 && (rc = lock_break(imp, off, old, me)) != 0)
				return rc < 0 ? -1 : 0;
			seen_at = now;
			if ((check_ms *= 2) > LOCK_CHECK_MAX_MS)
				check_ms = LOCK_CHECK_MAX_MS;
		}
		if (now >= end)
			return seg_seterr(ETIMEDOUT, "the lock at 0x%llx of '%s' is "
			    "still held (by import %llu)", (unsigned long long)off,
			    seg_imp_name(imp), (unsigned long long)old);
		if (tries >= LOCK_SPINS) {
			nap(sleep_us);
			if ((sleep_us *= 2) > LOCK_SLEEP_MAX_US)
				sleep_us = LOCK_SLEEP_MAX_US;
		}
	}
}

int
seg_unlock(seg_import_t *imp, uint64_t off)
{
	uint64_t me, old;

	if (imp == NULL)
		return seg_seterr(EINVAL, "no import");
	if (seg_imp_holder(imp, &me) < 0 || seg_cas(imp, off, me, 0, &old) < 0)
		return -1;
	if (old != me)
		return seg_seterr(EPERM, "the lock at 0x%llx of '%s' is not held "
		    "by this import (%s)", (unsigned long long)off,
		    seg_imp_name(imp), old == 0 ? "it is free" :
		    "another holder has it: broken as this one's was taken for dead");
	return 0;
}
