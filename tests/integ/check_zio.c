/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * check_zio.c: zero-copy buffer segments against a real segd (issue 5,
 * the local half): kmsg buffers allocated and reclaimed by segd; umsg pools
 * held by one process of the owner, returned by others through free, read
 * back in order exactly once; refusals that change nothing; permissions;
 * segctl free and zalloc; a restart of segd; the pool changing hands.
 *
 * Buffer addresses are numbers here: nothing needs to attach a segment to
 * allocate or return its buffers.  Other processes are forked children with
 * their own segd connection (h_child) or segctl.
 */
#include <sys/wait.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "libseg.h"

#define MIB   (1ULL << 20)
#define KVA   0x30000000ULL	/* segments' addresses: never mapped here */
#define UVA   0x38000000ULL
#define OTHER 12345		/* a uid that owns nothing */

/* ---- helpers ---- */

static void
mkseg(const char *name, unsigned mode, const char *verb, uint64_t va,
    uint64_t len)
{
	char ctl[128];

	snprintf(ctl, sizeof ctl, "%s 0x%llx 0x%llx", verb,
	    (unsigned long long)va, (unsigned long long)len);
	ck_assert_msg(seg_create(name, mode) == 0, "create %s: %s", name,
	    seg_errstr());
	ck_assert_msg(seg_ctl(name, ctl) == 0, "ctl %s '%s': %s", name, ctl,
	    seg_errstr());
}

static uint64_t
zalloc(const char *name, size_t len)
{
	void *p = seg_zalloc(name, len);

	ck_assert_msg(p != NULL, "seg_zalloc(%s, %zu): %s", name, len,
	    seg_errstr());
	return (uint64_t)(uintptr_t)p;
}

static int
zfree(uint64_t a)
{
	return seg_zfree((void *)(uintptr_t)a);
}

static void
zfree_ok(uint64_t a)
{
	ck_assert_msg(zfree(a) == 0, "seg_zfree(0x%llx): %s",
	    (unsigned long long)a, seg_errstr());
}

static const char *
not_live(char *buf, size_t size, uint64_t a, const char *name)
{
	snprintf(buf, size, "address 0x%llx is not the start of a live buffer "
	    "of segment '%s'", (unsigned long long)a, name);
	return buf;
}

/* A refused free: EINVAL and the exact message. */
static void
zfree_refused(uint64_t a, const char *name)
{
	char want[256];

	errno = 0;
	ck_assert_msg(zfree(a) == -1, "seg_zfree(0x%llx) accepted",
	    (unsigned long long)a);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_str_eq(seg_errstr(), not_live(want, sizeof want, a, name));
}

/* A refused free of an address in no segment: EINVAL and the message. */
static void
zfree_outside(uint64_t a)
{
	char want[256];

	errno = 0;
	ck_assert_msg(zfree(a) == -1, "seg_zfree(0x%llx) accepted",
	    (unsigned long long)a);
	ck_assert_int_eq(errno, EINVAL);
	snprintf(want, sizeof want, "address 0x%llx is not in any segment",
	    (unsigned long long)a);
	ck_assert_str_eq(seg_errstr(), want);
}

/* A refused seg_zalloc: NULL, errno err and the exact message. */
static void
zalloc_refused(const char *name, size_t len, int err, const char *msg)
{
	errno = 0;
	ck_assert_ptr_null(seg_zalloc(name, len));
	ck_assert_int_eq(errno, err);
	ck_assert_str_eq(seg_errstr(), msg);
}

/* Several addresses in one local free (SEGW_ZFREE). */
static int
zfreev(const uint64_t *a, int n)
{
	static struct segw_addrs v;
	static uint8_t req[sizeof(struct segw_addrs_wire) + SEGW_ADDRS_MAX * 8];
	uint8_t rsp[sizeof(struct segw_info_wire) + SEGW_MAXTEXT];
	size_t len, rl;

	ck_assert_int_le(n, SEGW_ADDRS_MAX);
	v.handle = 0;
	v.n = (uint32_t)n;
	memcpy(v.addrs, a, (size_t)n * sizeof *a);
	len = segw_addrs_encode(req, sizeof req, &v);
	ck_assert_uint_gt(len, 0);
	return seg_call_raw(SEGW_ZFREE, req, len, rsp, sizeof rsp, &rl, NULL);
}

/* Whether fd is readable within ms. */
static int
readable(int fd, int ms)
{
	struct pollfd p = { fd, POLLIN, 0 };
	int r;

	while ((r = poll(&p, 1, ms)) < 0 && errno == EINTR)
		;
	return r > 0 && (p.revents & POLLIN);
}

/* Addresses waiting in name's free (without taking any). */
static int
pending(const char *name, int ms)
{
	int fd = seg_free_fd(name);

	ck_assert_msg(fd >= 0, "seg_free_fd(%s): %s", name, seg_errstr());
	return readable(fd, ms);
}

/* Read exactly n returned addresses (blocking), into out. */
static void
read_n(const char *name, uint64_t *out, int n)
{
	int got = 0;

	while (got < n) {
		int r = seg_free_read(name, out + got, n - got);
		ck_assert_msg(r > 0, "seg_free_read(%s): %d, %s", name, r,
		    seg_errstr());
		got += r;
	}
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* a and b (n each) hold the same addresses, each once. */
static void
same_set(const uint64_t *a, const uint64_t *b, int n)
{
	uint64_t *x = malloc((size_t)n * 8), *y = malloc((size_t)n * 8);
	int i;

	ck_assert(x != NULL && y != NULL);
	memcpy(x, a, (size_t)n * 8);
	memcpy(y, b, (size_t)n * 8);
	qsort(x, (size_t)n, 8, cmp_u64);
	qsort(y, (size_t)n, 8, cmp_u64);
	for (i = 0; i < n; i++) {
		ck_assert_msg(x[i] == y[i], "sets differ at 0x%llx / 0x%llx",
		    (unsigned long long)x[i], (unsigned long long)y[i]);
		ck_assert_msg(i == 0 || x[i] != x[i - 1], "0x%llx twice",
		    (unsigned long long)x[i]);
	}
	free(x);
	free(y);
}

/* Arguments of children that return buffers. */
struct frees {
	const char     *name;
	const uint64_t *addrs;
	int             n;
	int             delay_ms;	/* before the first */
	int             expect;		/* 0: accepted; else the errno */
};

static void
child_frees(void *arg)
{
	const struct frees *f = arg;
	int i;

	if (f->delay_ms > 0)
		ck_sleep_ms(f->delay_ms);
	for (i = 0; i < f->n; i++) {
		int r = seg_zfree((void *)(uintptr_t)f->addrs[i]);
		if (f->expect == 0)
			H_CCHECK(r == 0, "free 0x%llx: %s",
			    (unsigned long long)f->addrs[i], seg_errstr());
		else
			H_CCHECK(r == -1 && errno == f->expect, "free 0x%llx: "
			    "%d, %s", (unsigned long long)f->addrs[i], r,
			    seg_errstr());
	}
}

/* A forked child returning buffers, not waited for: its pid. */
static pid_t
spawn_frees(struct frees *f)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int i;
		if (f->delay_ms > 0)
			ck_sleep_ms(f->delay_ms);
		for (i = 0; i < f->n; i++)
			if (seg_zfree((void *)(uintptr_t)f->addrs[i]) < 0)
				_exit(1);
		_exit(0);
	}
	return pid;
}

static void
reap_ok(pid_t pid)
{
	int st;

	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child %d: "
	    "status %#x", (int)pid, st);
}

static uint64_t
hex(const char *s)
{
	char *end;
	uint64_t v;

	errno = 0;
	v = strtoull(s, &end, 16);
	ck_assert_msg(errno == 0 && end != s && (*end == '\n' || *end == '\0'),
	    "not a hex address: '%s'", s);
	return v;
}

/* ---- kmsg: segd allocates and reclaims ---- */

START_TEST(kmsg_alloc_free_reuse)
{
	uint64_t a, b, c, size = 0;
	struct seg_info si;

	mkseg("k", 0600, "kmsg", KVA, 4 * MIB);
	ck_assert_int_eq(seg_stat("k", &si), 0);
	ck_assert_str_eq(si.verb, "kmsg");
	a = zalloc("k", 100);
	b = zalloc("k", 100);
	ck_assert(a != b);
	ck_assert(a >= KVA && a + 128 <= KVA + 4 * MIB);
	ck_assert(b >= KVA && b + 128 <= KVA + 4 * MIB);
	ck_assert_uint_eq(a % 128, 0);
	ck_assert_uint_eq(b % 128, 0);
	ck_assert(a + 128 <= b || b + 128 <= a);
	zfree_ok(a);
	c = zalloc("k", 128);
	ck_assert_uint_eq(c, a);	/* the returned buffer is reused */
	/* the largest class is the slab */
	c = zalloc("k", MIB);
	ck_assert_uint_eq(c % MIB, 0);
	ck_assert(c >= KVA && c + MIB <= KVA + 4 * MIB);
	for (size = 1; size <= 4096; size *= 2) {
		uint64_t x = zalloc("k", size);
		ck_assert_uint_eq(x % (size < 64 ? 64 : size), 0);
		zfree_ok(x);
	}
	zalloc_refused("k", MIB + 1, EINVAL, "bad buffer length 1048577: 1 to "
	    "1048576 bytes");
	errno = 0;
	ck_assert_ptr_null(seg_zalloc("k", 0));
	ck_assert_int_eq(errno, EINVAL);
	zfree_ok(b);
	zfree_ok(c);
	zfree_ok(a);
}
END_TEST

START_TEST(kmsg_exhaustion)
{
	uint64_t v[16], x;
	int i;

	mkseg("k", 0600, "kmsg", KVA, MIB);
	for (i = 0; i < 16; i++)
		v[i] = zalloc("k", 65536);
	same_set(v, v, 16);
	zalloc_refused("k", 65536, ENOMEM, "no free buffer of 65536 bytes in "
	    "segment 'k'");
	errno = 0;
	ck_assert_ptr_null(seg_zalloc("k", 64));	/* no slab for 64 */
	ck_assert_int_eq(errno, ENOMEM);
	zfree_ok(v[5]);
	x = zalloc("k", 65536);
	ck_assert_uint_eq(x, v[5]);
	/* all back: the slab serves another class */
	for (i = 0; i < 16; i++)
		zfree_ok(v[i]);
	x = zalloc("k", 64);
	ck_assert(x >= KVA && x < KVA + MIB);
	zfree_ok(x);
	x = zalloc("k", MIB);
	ck_assert_uint_eq(x, KVA);
	zfree_ok(x);
}
END_TEST

/* Every buffer of size still free in name, into out[max]: ENOMEM after. */
static int
drain(const char *name, size_t size, uint64_t *out, int max)
{
	int n = 0;
	void *p;

	while ((p = seg_zalloc(name, size)) != NULL) {
		ck_assert_int_lt(n, max);
		out[n++] = (uint64_t)(uintptr_t)p;
	}
	ck_assert_int_eq(errno, ENOMEM);
	return n;
}

START_TEST(kmsg_refusals_change_nothing)
{
	uint64_t a, b, all[64], want[64];
	int i, n;

	mkseg("k", 0600, "kmsg", KVA, 65536);	/* one slab of 64 KiB */
	a = zalloc("k", 1024);
	b = zalloc("k", 1024);
	zfree_ok(a);
	zfree_refused(a, "k");			/* double free */
	zfree_refused(b + 1, "k");		/* misaligned */
	zfree_refused(b + 64, "k");		/* inside a buffer */
	zfree_refused(b + 1024 * 5, "k");	/* a free slot */
	zfree_refused(KVA + 65536 - 64, "k");
	/* outside every segment */
	zfree_outside(KVA + 65536);
	errno = 0;
	ck_assert_int_eq(zfree(0), -1);
	ck_assert_int_eq(errno, EINVAL);
	/* nothing changed: b is the one live buffer, a is free once */
	n = drain("k", 1024, all, 64);
	ck_assert_int_eq(n, 63);
	for (i = 0; i < 64; i++)
		want[i] = KVA + 1024 * (uint64_t)i;
	for (i = 0; i < 63; i++)
		ck_assert(all[i] != b);
	all[63] = b;
	same_set(all, want, 64);
	for (i = 0; i < 64; i++)
		zfree_ok(all[i]);
	zfree_refused(b, "k");
}
END_TEST

START_TEST(kmsg_batch_all_or_nothing)
{
	uint64_t v[8], batch[8], all[64], want[64];
	char msg[256];
	int i;

	mkseg("k", 0600, "kmsg", KVA, 65536);
	for (i = 0; i < 8; i++)
		v[i] = zalloc("k", 1024);
	/* one bad address: the batch is refused, the message names it */
	memcpy(batch, v, sizeof batch);
	batch[6] = v[6] + 64;
	errno = 0;
	ck_assert_int_eq(zfreev(batch, 8), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_str_eq(seg_errstr(), not_live(msg, sizeof msg, v[6] + 64,
	    "k"));
	/* one address twice */
	batch[6] = v[0];
	ck_assert_int_eq(zfreev(batch, 7), -1);
	ck_assert_str_eq(seg_errstr(), not_live(msg, sizeof msg, v[0], "k"));
	/* none was returned: each frees once now */
	for (i = 0; i < 8; i++)
		zfree_ok(v[i]);
	for (i = 0; i < 8; i++)
		zfree_refused(v[i], "k");
	/* a good batch returns them all */
	for (i = 0; i < 8; i++)
		v[i] = zalloc("k", 1024);
	ck_assert_int_eq(zfreev(v, 8), 0);
	for (i = 0; i < 8; i++)
		zfree_refused(v[i], "k");
	ck_assert_int_eq(drain("k", 1024, all, 64), 64);
	for (i = 0; i < 64; i++)
		want[i] = KVA + 1024 * (uint64_t)i;
	same_set(all, want, 64);
}
END_TEST

START_TEST(kmsg_stale_after_remove)
{
	uint64_t a, b;

	mkseg("k", 0600, "kmsg", KVA, MIB);
	a = zalloc("k", 4096);
	b = zalloc("k", 4096);
	ck_assert_int_eq(seg_remove("k"), 0);
	zfree_outside(a);
	/* the same name and place again: a new pool, a is not live in it */
	mkseg("k", 0600, "kmsg", KVA, MIB);
	zfree_refused(a, "k");
	zfree_refused(b, "k");
	ck_assert_uint_eq(zalloc("k", MIB), KVA);	/* all of it is free */
}
END_TEST

/* Another process returns the buffer, and allocates it again. */
static void
child_zfree_kmsg(void *arg)
{
	const uint64_t *a = arg;
	void *p;

	H_CCHECK(seg_zfree((void *)(uintptr_t)a[0]) == 0, "free: %s",
	    seg_errstr());
	H_CCHECK(seg_zfree((void *)(uintptr_t)a[0]) == -1 && errno == EINVAL,
	    "double free accepted");
	p = seg_zalloc("k", 100);
	H_CCHECK(p == (void *)(uintptr_t)a[0], "zalloc: %p (%s), not 0x%llx",
	    p, seg_errstr(), (unsigned long long)a[0]);
}

START_TEST(kmsg_other_process)
{
	uint64_t a[1];

	mkseg("k", 0600, "kmsg", KVA, MIB);
	a[0] = zalloc("k", 100);
	CK_CHILD(child_zfree_kmsg, a);
	/* the buffer stays live after that process exits: segd's, not its */
	zfree_ok(a[0]);
	zfree_refused(a[0], "k");
}
END_TEST

START_TEST(not_zero_copy)
{
	char msg[256];

	mkseg("plain", 0600, "va", KVA, MIB);
	zalloc_refused("plain", 64, EINVAL, "segment 'plain' is not a zero-copy "
	    "(umsg or kmsg) segment");
	errno = 0;
	ck_assert_int_eq(zfree(KVA), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_str_eq(seg_errstr(), "segment 'plain' is not a zero-copy "
	    "(umsg or kmsg) segment");
	ck_assert_int_eq(seg_create("unalloc", 0600), 0);
	errno = 0;
	ck_assert_ptr_null(seg_zalloc("unalloc", 64));
	ck_assert_str_eq(seg_errstr(), "segment not yet allocated");
	errno = 0;
	ck_assert_int_eq(seg_free_fd("unalloc"), -1);
	ck_assert_str_eq(seg_errstr(), "segment not yet allocated");
	errno = 0;
	ck_assert_ptr_null(seg_zalloc("nosuch", 64));
	ck_assert_int_eq(errno, ENOENT);
	/* kmsg buffers do not come back through free */
	mkseg("k", 0600, "kmsg", UVA, MIB);
	errno = 0;
	ck_assert_int_eq(seg_free_fd("k"), -1);
	ck_assert_int_eq(errno, EINVAL);
	{
		uint64_t x;
		errno = 0;
		ck_assert_int_eq(seg_free_read("k", &x, 1), -1);
		ck_assert_int_eq(errno, EINVAL);
		snprintf(msg, sizeof msg, "segment 'k' is not a umsg segment");
		ck_assert_str_eq(seg_errstr(), msg);
	}
}
END_TEST

/* ---- umsg: the owner's process holds the pool ---- */

static void
child_busy(void *arg)
{
	const char *name = arg;
	char want[128];
	void *p;

	errno = 0;
	p = seg_zalloc(name, 64);
	H_CCHECK(p == NULL && errno == EBUSY, "seg_zalloc in a second process: "
	    "%p, %s", p, seg_errstr());
	snprintf(want, sizeof want, "the pool of segment '%s' is held by "
	    "another process (pid %d)", name, (int)getppid());
	H_CCHECK(strcmp(seg_errstr(), want) == 0, "message '%s', not '%s'",
	    seg_errstr(), want);
}

START_TEST(umsg_pool_held)
{
	struct h_run r;
	uint64_t a, b;

	mkseg("u", 0666, "umsg", UVA, 4 * MIB);
	a = zalloc("u", 100);
	b = zalloc("u", 100);
	ck_assert(a != b && a >= UVA && b + 128 <= UVA + 4 * MIB);
	ck_assert_uint_eq(a % 128, 0);
	CK_CHILD(child_busy, "u");
	ck_assert_int_ne(h_segctl(&r, NULL, 0, "zalloc", "u", "64", NULL), 0);
	ck_assert_msg(strstr(r.err, "is held by another process") != NULL,
	    "segctl zalloc: %s", r.err);
	h_run_free(&r);
	/* only the owner (or root) may hold it */
	ck_assert_int_ne(h_segctl_as(&r, OTHER, NULL, 0, "zalloc", "u", "64",
	    NULL), 0);
	ck_assert_msg(strstr(r.err, "permission denied: only the owner (uid 0) "
	    "allocates in umsg segment 'u'") != NULL, "segctl zalloc: %s",
	    r.err);
	h_run_free(&r);
	/* the holder still allocates */
	ck_assert_uint_ne(zalloc("u", 100), 0);
}
END_TEST

/* 3 processes return 3 x 200 buffers concurrently: the holder reads each
 * once, each process's in its order, and gets them from zalloc again. */
START_TEST(umsg_free_in_order_once)
{
	enum { P = 3, N = 200 };
	uint64_t v[P][N], got[P * N], again[P * N];
	struct frees f[P];
	pid_t pid[P];
	int i, k, next[P];

	mkseg("u", 0600, "umsg", UVA, 4 * MIB);
	for (k = 0; k < P; k++)
		for (i = 0; i < N; i++)
			v[k][i] = zalloc("u", 64);
	ck_assert(!pending("u", 0));
	for (k = 0; k < P; k++) {
		f[k] = (struct frees){ "u", v[k], N, 0, 0 };
		pid[k] = spawn_frees(&f[k]);
	}
	read_n("u", got, P * N);
	for (k = 0; k < P; k++)
		reap_ok(pid[k]);
	ck_assert(!pending("u", 100));		/* nothing more, no duplicate */
	/* each process's addresses in the order it returned them */
	memset(next, 0, sizeof next);
	for (i = 0; i < P * N; i++) {
		for (k = 0; k < P; k++)
			if (next[k] < N && v[k][next[k]] == got[i])
				break;
		ck_assert_msg(k < P, "0x%llx out of order, twice or unknown",
		    (unsigned long long)got[i]);
		next[k]++;
	}
	/* the pool has them back: the next P*N are exactly those */
	for (i = 0; i < P * N; i++)
		again[i] = zalloc("u", 64);
	same_set(got, again, P * N);
}
END_TEST

START_TEST(umsg_free_fd_and_blocking_read)
{
	uint64_t a, b, x[4];
	struct frees f;
	long t0, dt;
	int fd, n;
	pid_t pid;

	mkseg("u", 0600, "umsg", UVA, MIB);
	a = zalloc("u", 4096);
	b = zalloc("u", 4096);
	fd = seg_free_fd("u");
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(seg_free_fd("u"), fd);	/* one per process */
	ck_assert(!readable(fd, 0));
	/* readable when an address waits */
	f = (struct frees){ "u", &a, 1, 0, 0 };
	reap_ok(spawn_frees(&f));
	ck_assert(readable(fd, 5000));
	ck_assert(readable(fd, 0));		/* polling takes nothing */
	n = seg_free_read("u", x, 4);
	ck_assert_int_eq(n, 1);
	ck_assert_uint_eq(x[0], a);
	ck_assert(!readable(fd, 0));		/* and not otherwise */
	/* a read blocks until an address comes */
	f = (struct frees){ "u", &b, 1, 400, 0 };
	t0 = ck_now_ms();
	pid = spawn_frees(&f);
	n = seg_free_read("u", x, 4);
	dt = ck_now_ms() - t0;
	reap_ok(pid);
	ck_assert_int_eq(n, 1);
	ck_assert_uint_eq(x[0], b);
	ck_assert_msg(dt >= 350, "the read returned after %ld ms, before the "
	    "free", dt);
	ck_assert(!readable(fd, 0));
	/* both are the holder's again */
	x[0] = zalloc("u", 4096);
	x[1] = zalloc("u", 4096);
	same_set(x, (uint64_t[]){ a, b }, 2);
}
END_TEST

START_TEST(umsg_refusals_change_nothing)
{
	uint64_t v[4], batch[4], x[8];
	struct frees f;
	char msg[256];

	mkseg("u", 0600, "umsg", UVA, 4 * MIB);
	v[0] = zalloc("u", 512);
	v[1] = zalloc("u", 512);
	v[2] = zalloc("u", 512);
	v[3] = zalloc("u", 2048);
	/* a batch with one bad address: nothing is returned */
	memcpy(batch, v, sizeof batch);
	batch[2] = v[2] + 64;
	ck_assert_int_eq(zfreev(batch, 4), -1);
	ck_assert_str_eq(seg_errstr(), not_live(msg, sizeof msg, v[2] + 64,
	    "u"));
	ck_assert(!pending("u", 50));
	/* never allocated, misaligned, outside the pool's slabs */
	zfree_refused(v[0] + 512 * 10, "u");
	zfree_refused(v[3] + 1, "u");
	zfree_refused(UVA + MIB - 64, "u");
	zfree_refused(UVA + 4 * MIB - 4096, "u");	/* a free slab */
	ck_assert(!pending("u", 50));
	/* a returned buffer cannot be returned again until reused */
	f = (struct frees){ "u", v, 1, 0, 0 };
	reap_ok(spawn_frees(&f));
	zfree_refused(v[0], "u");
	f.expect = EINVAL;
	CK_CHILD(child_frees, &f);
	ck_assert_int_eq(seg_free_read("u", x, 8), 1);
	ck_assert_uint_eq(x[0], v[0]);
	ck_assert(!pending("u", 50));
	zfree_refused(v[0], "u");
	ck_assert_uint_eq(zalloc("u", 512), v[0]);
	zfree_ok(v[0]);
	/* a good batch, in its order */
	ck_assert_int_eq(zfreev(v + 1, 3), 0);
	ck_assert_int_eq(seg_free_read("u", x, 8), 4);
	ck_assert_uint_eq(x[0], v[0]);
	ck_assert_uint_eq(x[1], v[1]);
	ck_assert_uint_eq(x[2], v[2]);
	ck_assert_uint_eq(x[3], v[3]);
}
END_TEST

START_TEST(umsg_stale_after_remove)
{
	uint64_t a;

	mkseg("u", 0600, "umsg", UVA, MIB);
	a = zalloc("u", 64);
	ck_assert_int_eq(seg_remove("u"), 0);
	zfree_outside(a);
	errno = 0;
	ck_assert_int_eq(seg_free_fd("u"), -1);
	ck_assert_int_eq(errno, ENOENT);
	/* the pool this process held went with the segment (segd's mark in
	 * its shared state): an allocation asks segd again */
	errno = 0;
	ck_assert_ptr_null(seg_zalloc("u", 64));
	ck_assert_int_eq(errno, ENOENT);
	/* a segment of the same name made again: its own pool */
	mkseg("u", 0600, "umsg", UVA + 16 * MIB, MIB);
	a = zalloc("u", 64);
	ck_assert_msg(a >= UVA + 16 * MIB && a < UVA + 17 * MIB,
	    "0x%llx: not in the new segment", (unsigned long long)a);
}
END_TEST

/* ---- permissions ---- */

START_TEST(free_needs_write_permission)
{
	struct h_run r;
	char addr[32], want[256];
	uint64_t a, k, x;

	mkseg("u", 0644, "umsg", UVA, MIB);
	mkseg("k", 0644, "kmsg", KVA, MIB);
	a = zalloc("u", 64);
	k = zalloc("k", 64);
	snprintf(addr, sizeof addr, "0x%llx", (unsigned long long)a);
	ck_assert_int_ne(h_segctl_as(&r, OTHER, NULL, 0, "free", "u", addr,
	    NULL), 0);
	snprintf(want, sizeof want, "permission denied: write access to "
	    "segment 'u' (mode 0644, owner 0:0) for uid %d", OTHER);
	ck_assert_msg(strstr(r.err, want) != NULL, "segctl free: %s", r.err);
	h_run_free(&r);
	snprintf(addr, sizeof addr, "0x%llx", (unsigned long long)k);
	ck_assert_int_ne(h_segctl_as(&r, OTHER, NULL, 0, "free", "k", addr,
	    NULL), 0);
	ck_assert_msg(strstr(r.err, "permission denied: write access to "
	    "segment 'k'") != NULL, "segctl free: %s", r.err);
	h_run_free(&r);
	ck_assert_int_ne(h_segctl_as(&r, OTHER, NULL, 0, "zalloc", "k", "64",
	    NULL), 0);
	ck_assert_msg(strstr(r.err, "permission denied: read-write access to "
	    "segment 'k'") != NULL, "segctl zalloc: %s", r.err);
	h_run_free(&r);
	/* nothing came back; both are still live */
	ck_assert(!pending("u", 50));
	zfree_ok(a);
	zfree_ok(k);
	ck_assert_int_eq(seg_free_read("u", &x, 1), 1);
	ck_assert_uint_eq(x, a);
	/* with write permission another user may return buffers */
	mkseg("u2", 0666, "umsg", UVA + 16 * MIB, MIB);
	a = zalloc("u2", 64);
	snprintf(addr, sizeof addr, "0x%llx", (unsigned long long)a);
	ck_assert_int_eq(h_segctl_as(&r, OTHER, NULL, 0, "free", "u2", addr,
	    NULL), 0);
	h_run_free(&r);
	ck_assert_int_eq(seg_free_read("u2", &x, 1), 1);
	ck_assert_uint_eq(x, a);
}
END_TEST

START_TEST(free_read_needs_read_permission)
{
	struct h_run r;

	mkseg("u", 0640, "umsg", UVA, MIB);
	zfree_ok(zalloc("u", 64));
	ck_assert_int_ne(h_segctl_as(&r, OTHER, NULL, 0, "free", "u", "-n",
	    "1", NULL), 0);
	ck_assert_msg(strstr(r.err, "permission denied: read access to "
	    "segment 'u'") != NULL, "segctl free -n: %s", r.err);
	h_run_free(&r);
	ck_assert(pending("u", 0));		/* still there for the holder */
}
END_TEST

/* ---- segctl free and zalloc ---- */

START_TEST(segctl_kmsg)
{
	struct h_run r;
	uint64_t a, b;
	char addr[32], want[256];

	mkseg("k", 0600, "kmsg", KVA, MIB);
	ck_assert_int_eq(h_segctl(&r, NULL, 0, "zalloc", "k", "100", NULL), 0);
	ck_assert_msg(strncmp(r.out, "0x", 2) == 0, "output '%s'", r.out);
	a = hex(r.out);
	h_run_free(&r);
	ck_assert(a >= KVA && a < KVA + MIB && a % 128 == 0);
	ck_assert_int_eq(h_segctl(&r, NULL, 0, "zalloc", "k", "100", NULL), 0);
	b = hex(r.out);
	h_run_free(&r);
	ck_assert(b != a);
	snprintf(addr, sizeof addr, "0x%llx", (unsigned long long)a);
	ck_assert_int_eq(h_segctl(&r, NULL, 0, "free", "k", addr, NULL), 0);
	ck_assert_str_eq(r.out, "");
	h_run_free(&r);
	ck_assert_int_ne(h_segctl(&r, NULL, 0, "free", "k", addr, NULL), 0);
	ck_assert_msg(strstr(r.err, not_live(want, sizeof want, a, "k")) !=
	    NULL, "segctl free twice: %s", r.err);
	h_run_free(&r);
	/* the freed one comes back; b is still live */
	ck_assert_uint_eq(zalloc("k", 100), a);
	zfree_ok(b);
	/* bad arguments */
	ck_assert_int_ne(h_segctl(&r, NULL, 0, "zalloc", "k", "lots", NULL), 0);
	h_run_free(&r);
	ck_assert_int_ne(h_segctl(&r, NULL, 0, "zalloc", "k", NULL), 0);
	h_run_free(&r);
	ck_assert_int_ne(h_segctl(&r, NULL, 0, "free", "k", "0xzz", NULL), 0);
	h_run_free(&r);
	ck_assert_int_ne(h_segctl(&r, NULL, 0, "zalloc", "k", "2000000",
	    NULL), 0);
	ck_assert_msg(strstr(r.err, "bad buffer length 2000000") != NULL,
	    "segctl zalloc: %s", r.err);
	h_run_free(&r);
}
END_TEST

/* segctl free NAME -n COUNT prints addresses as they come. */
START_TEST(segctl_umsg_free_reader)
{
	struct h_proc p;
	struct frees f;
	struct h_run r;
	uint64_t v[3];
	char line[64], addr[32];
	char *argv[] = { (char *)h_path("segctl"), "free", "u", "-n", "3",
	    NULL };
	int i;
	pid_t pid;

	mkseg("u", 0600, "umsg", UVA, MIB);
	for (i = 0; i < 3; i++)
		v[i] = zalloc("u", 256);
	h_spawnv(&p, argv);
	/* the first arrives by segctl free NAME ADDR */
	snprintf(addr, sizeof addr, "0x%llx", (unsigned long long)v[0]);
	ck_assert_int_eq(h_segctl(&r, NULL, 0, "free", "u", addr, NULL), 0);
	h_run_free(&r);
	ck_assert_int_ge(h_readline(&p, line, sizeof line, 30000), 0);
	ck_assert_uint_eq(hex(line), v[0]);
	/* the others later, one at a time */
	f = (struct frees){ "u", v + 1, 2, 300, 0 };
	pid = spawn_frees(&f);
	for (i = 1; i < 3; i++) {
		ck_assert_int_ge(h_readline(&p, line, sizeof line, 30000), 0);
		ck_assert_uint_eq(hex(line), v[i]);
	}
	reap_ok(pid);
	ck_assert_int_eq(h_wait(&p, 30000), 0);	/* done after COUNT */
	ck_assert(!pending("u", 0));
}
END_TEST

/* ---- segd restart ---- */

static void
read_never_woke(int sig)
{
	(void)sig;
	ck_abort_msg("seg_free_read did not return after the free that came "
	    "after segd's restart");
}

START_TEST(restart_keeps_kmsg_state)
{
	uint64_t x, y, z, all[16];
	int i, n;

	mkseg("k", 0600, "kmsg", KVA, MIB);
	x = zalloc("k", 65536);
	y = zalloc("k", 65536);
	z = zalloc("k", 65536);
	zfree_ok(y);
	h_segd_stop();
	h_segd_start();
	/* y stayed free, x and z live */
	zfree_refused(y, "k");
	n = drain("k", 65536, all, 16);
	ck_assert_int_eq(n, 14);
	for (i = 0; i < n; i++)
		ck_assert(all[i] != x && all[i] != z);
	for (i = 0; i < n && all[i] != y; i++)
		;
	ck_assert_msg(i < n, "the free buffer was not handed out");
	zfree_ok(x);
	zfree_ok(z);
	zfree_refused(x, "k");
}
END_TEST

START_TEST(restart_keeps_umsg_state)
{
	uint64_t a, b, c, x[4];
	struct frees f;
	long t0;
	pid_t pid;

	mkseg("u", 0600, "umsg", UVA, MIB);
	a = zalloc("u", 1024);
	b = zalloc("u", 1024);
	c = zalloc("u", 1024);
	zfree_ok(b);
	ck_assert_int_eq(seg_free_read("u", x, 4), 1);
	ck_assert_uint_eq(x[0], b);
	h_segd_stop();
	h_segd_start();
	/* a and c live, b free */
	zfree_refused(b, "u");
	f = (struct frees){ "u", &a, 1, 0, 0 };
	reap_ok(spawn_frees(&f));
	ck_assert_int_eq(seg_free_read("u", x, 4), 1);
	ck_assert_uint_eq(x[0], a);
	/* a blocking read after the restart wakes for a later free */
	f = (struct frees){ "u", &c, 1, 300, 0 };
	t0 = ck_now_ms();
	pid = spawn_frees(&f);
	signal(SIGALRM, read_never_woke);
	alarm((unsigned)ck_scale(30));
	ck_assert_int_eq(seg_free_read("u", x, 4), 1);
	alarm(0);
	reap_ok(pid);
	ck_assert_uint_eq(x[0], c);
	ck_assert_int_ge(ck_now_ms() - t0, 250);
	/* the holder's pool is still its own, and consistent */
	x[0] = zalloc("u", 1024);
	x[1] = zalloc("u", 1024);
	x[2] = zalloc("u", 1024);
	same_set(x, (uint64_t[]){ a, b, c }, 3);
}
END_TEST

/*
 * After a restart the holder holds its pool again once it has talked to
 * the new segd (here seg_stat; any call): its next allocation takes the
 * pool again, rebuilt from the live bits.  (A holder that has not talked
 * to segd since the restart cannot know of it: allocation is local.)
 */
START_TEST(restart_keeps_holder)
{
	uint64_t a, b, c;
	struct seg_info si;

	mkseg("u", 0600, "umsg", UVA, MIB);
	a = zalloc("u", 64);
	h_segd_stop();
	h_segd_start();
	ck_assert_int_eq(seg_stat("u", &si), 0);
	b = zalloc("u", 64);
	ck_assert(b != a);
	CK_CHILD(child_busy, "u");
	zfree_ok(a);
	zfree_refused(a, "u");
	ck_assert_int_eq(seg_free_read("u", &c, 1), 1);
	ck_assert_uint_eq(c, a);
	ck_assert_uint_eq(zalloc("u", 64), a);
}
END_TEST

/* ---- the pool changes hands ---- */

struct takeover {
	const char *name;
	uint64_t    a[4];	/* the first holder's buffers */
};

static void
child_hold(void *arg)
{
	struct takeover *t = arg;
	int i;

	for (i = 0; i < 4; i++) {
		void *p = seg_zalloc(t->name, 4096);
		H_CCHECK(p != NULL, "first holder: %s", seg_errstr());
		t->a[i] = (uint64_t)(uintptr_t)p;
	}
	/* the parent reads them from a file */
	{
		char path[H_PATHMAX + 16];
		FILE *fp;
		snprintf(path, sizeof path, "%s/held", h_dir);
		fp = fopen(path, "we");
		H_CCHECK(fp != NULL, "open %s", path);
		for (i = 0; i < 4; i++)
			fprintf(fp, "%llx\n", (unsigned long long)t->a[i]);
		fclose(fp);
	}
}

static void
read_held(struct takeover *t)
{
	char path[H_PATHMAX + 16];
	unsigned long long v;
	FILE *fp;
	int i;

	snprintf(path, sizeof path, "%s/held", h_dir);
	fp = fopen(path, "re");
	ck_assert_ptr_nonnull(fp);
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(fscanf(fp, "%llx", &v), 1);
		t->a[i] = v;
	}
	fclose(fp);
}

static uint64_t probe;

/* Take the pool if it is free: allocate one buffer and return it. */
static int
pool_free_to_take(void *arg)
{
	void *p = seg_zalloc(arg, 4096);

	if (p == NULL) {
		ck_assert_msg(errno == EBUSY, "seg_zalloc: %s", seg_errstr());
		return 0;
	}
	probe = (uint64_t)(uintptr_t)p;
	zfree_ok(probe);	/* it comes back through free */
	return 1;
}

START_TEST(holder_exit_releases_pool)
{
	struct takeover t = { "u", { 0 } };
	uint64_t got[256], x;
	int i, n;

	mkseg("u", 0600, "umsg", UVA, MIB);	/* one slab: 256 x 4 KiB */
	CK_CHILD(child_hold, &t);
	read_held(&t);
	/* returned while nobody holds the pool: free in the next holder's
	 * pool as soon as it takes it */
	zfree_ok(t.a[1]);
	zfree_refused(t.a[1], "u");
	/* segd sees the first holder go (its connection closes) */
	ck_assert_msg(h_until(pool_free_to_take, "u", 10000),
	    "the pool stayed held after its process exited");
	/* this process holds it now; the probe buffer came back through
	 * free, nothing from before the take */
	ck_assert_int_eq(seg_free_read("u", &x, 1), 1);
	ck_assert_uint_eq(x, probe);
	ck_assert(!pending("u", 50));
	/* everything but the first holder's three live buffers, once each */
	n = drain("u", 4096, got, 256);
	ck_assert_int_eq(n, 253);
	for (i = 0; i < n; i++)
		ck_assert(got[i] != t.a[0] && got[i] != t.a[2] &&
		    got[i] != t.a[3]);
	got[n++] = t.a[0];
	got[n++] = t.a[2];
	got[n++] = t.a[3];
	{
		uint64_t want[256];
		for (i = 0; i < 256; i++)
			want[i] = UVA + 4096 * (uint64_t)i;
		same_set(got, want, 256);
	}
	/* the first holder's buffers are returned to the new holder */
	zfree_ok(t.a[2]);
	ck_assert_int_eq(seg_free_read("u", &x, 1), 1);
	ck_assert_uint_eq(x, t.a[2]);
	ck_assert_uint_eq(zalloc("u", 4096), t.a[2]);
}
END_TEST

void
suite(Suite *s)
{
	ck_tcase(s, "kmsg", &h_fix, H_TIMEOUT_S, kmsg_alloc_free_reuse,
	    kmsg_exhaustion, kmsg_refusals_change_nothing,
	    kmsg_batch_all_or_nothing, kmsg_stale_after_remove,
	    kmsg_other_process, not_zero_copy, NULL);
	ck_tcase(s, "umsg", &h_fix, H_TIMEOUT_S, umsg_pool_held,
	    umsg_free_in_order_once, umsg_free_fd_and_blocking_read,
	    umsg_refusals_change_nothing, umsg_stale_after_remove, NULL);
	ck_tcase(s, "permission", &h_fix, H_TIMEOUT_S,
	    free_needs_write_permission, free_read_needs_read_permission, NULL);
	ck_tcase(s, "segctl", &h_fix, H_TIMEOUT_S, segctl_kmsg,
	    segctl_umsg_free_reader, NULL);
	ck_tcase(s, "restart", &h_fix, H_TIMEOUT_S, restart_keeps_kmsg_state,
	    restart_keeps_umsg_state, restart_keeps_holder,
	    holder_exit_releases_pool, NULL);
}
