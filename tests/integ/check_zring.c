/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * check_zring.c: the free ring (issue 15, local returns) against a real
 * segd: seg_zfree through the ring, and seg_zfree_async(NULL, ...) and
 * seg_zfree_asyncv, return
 * every buffer exactly once under four senders; batches are all or
 * nothing; async outcomes name refused addresses; and a client that lies
 * in its ring (an index past it, garbage entries, a flood without end)
 * hurts only itself: segd stays up and serves the others at their rate.
 *
 * The hostile clients are forked children that take their ring's
 * descriptors with SEGW_ZRING and write it through proto/zring.c.
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <linux/futex.h>
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "libseg.h"
#include "segwire.h"
#include "zring.h"
#include "zread.h"

#define MIB    (1ULL << 20)
#define UVA    0x38000000ULL
#define ULEN   (32 * MIB)
#define NGRAN  (ULEN / 64)
#define NKIDS  4
#define TOTAL  1000000		/* buffers returned in the exactly-once test */
#define CREDIT 2048		/* buffers a sender holds at most */

static void
mkumsg(const char *name, uint64_t len)
{
	h_umsg(name, UVA, len);
}


/* ---- exactly once ---- */

struct sender {
	struct h_kid k;
	int          pipe[2];	/* addresses to return, 8 bytes each */
	int          async;	/* with seg_zfree_async(NULL, ...); 2: with
				 * seg_zfree_asyncv */
	uint64_t     buf[CREDIT];
	int          nbuf;
};

static struct sender ss[NKIDS];
static void *ring_map(int *efd);

/* Read async outcomes (after one is readable, if wait); each applied. */
static uint32_t
reap(int wait)
{
	struct seg_zoutcome o[64];
	struct pollfd pfd;
	int i, n;

	pfd.fd = seg_zfree_async_fd();
	pfd.events = POLLIN;
	H_CCHECK(pfd.fd >= 0, "seg_zfree_async_fd: %s", seg_errstr());
	if (wait)
		H_CCHECK(poll(&pfd, 1, 60000) == 1, "no outcome in 60 s");
	n = seg_zfree_outcomes(o, 64);
	H_CCHECK(n >= 0, "seg_zfree_outcomes: %s", seg_errstr());
	for (i = 0; i < n; i++)
		H_CCHECK(o[i].err == 0 && o[i].imp == NULL, "return of 0x%llx: "
		    "%s", (unsigned long long)o[i].addr, o[i].msg);
	return (uint32_t)n;
}

/* n local returns without waiting (vec: with seg_zfree_asyncv, as many a
 * call as there is room for): outcomes read as room is wanted. */
static void
return_async(const uint64_t *a, int n, uint32_t *waiting, int vec)
{
	int i = 0, k;

	while (i < n) {
		k = vec ? seg_zfree_asyncv(NULL, a + i, n - i) :
		    seg_zfree_async(NULL, a[i]) < 0 ? -1 : 1;
		if (k < 0) {
			H_CCHECK(errno == EAGAIN, "seg_zfree_async%s(0x%llx): %s",
			    vec ? "v" : "", (unsigned long long)a[i],
			    seg_errstr());
			*waiting -= reap(1);
			continue;
		}
		H_CCHECK(k <= n - i, "seg_zfree_asyncv took %d of %d", k, n - i);
		*waiting += (uint32_t)k;
		i += k;
	}
	*waiting -= reap(0);
}

static void
sender_fn(void *arg)
{
	struct sender *s = arg;
	uint64_t a[512];
	uint32_t done = 0, waiting = 0;
	ssize_t n;
	void *mem;
	int i, efd;

	for (i = 0; i < NKIDS; i++)	/* the others' see EOF without us */
		if (ss[i].pipe[1] >= 0)
			close(ss[i].pipe[1]);
	while ((n = read(s->pipe[0], a, sizeof a)) > 0) {
		H_CCHECK(n % 8 == 0, "a torn address from the pipe");
		if (s->async)
			return_async(a, (int)(n / 8), &waiting, s->async == 2);
		else
			for (i = 0; i < n / 8; i++)
				H_CCHECK(seg_zfree((void *)(uintptr_t)a[i]) == 0,
				    "seg_zfree(0x%llx): %s",
				    (unsigned long long)a[i], seg_errstr());
		done += (uint32_t)(n / 8);
	}
	H_CCHECK(n == 0, "read: %s", strerror(errno));
	while (waiting > 0)	/* every outcome, once */
		waiting -= reap(1);
	/* every one went through this process's ring, none by the socket */
	mem = ring_map(&efd);
	H_CCHECK(zring_prod(mem) == done && zring_cons(mem) == done,
	    "%u returned, the ring took %u", done, zring_cons(mem));
}

static void
hand_out(struct sender *s)
{
	ssize_t want = s->nbuf * 8, n;

	n = write(s->pipe[1], s->buf, (size_t)want);
	ck_assert_msg(n == want, "write to a sender: %s", strerror(errno));
	s->nbuf = 0;
}

/* A new buffer for sender k: it is out, once. */
static void
give(struct sender *ss, int k, uint8_t *owner, uint8_t *out, uint64_t *sum)
{
	uint64_t a = h_zalloc64("u"), g = (a - UVA) / 64;

	ck_assert_msg(a >= UVA && g < NGRAN && !out[g], "0x%llx handed out "
	    "while out", (unsigned long long)a);
	out[g] = 1;
	owner[g] = (uint8_t)k;
	*sum += a * 0x9e3779b97f4a7c15ULL;
	ss[k].buf[ss[k].nbuf++] = a;
}

/*
 * Four processes return TOTAL buffers through their rings (async: without
 * waiting, each outcome read once; two of them with seg_zfree_asyncv, one
 * call for many); this process holds the pool, reads
 * free through its read ring (check_zread.c) and hands each returned
 * buffer's successor to the same sender.  Every buffer comes back once: by
 * count, by a checksum of the addresses, and none while it was not out.
 */
static void
exactly_once(int async)
{
	static uint64_t got[4096];
	static uint8_t kid[4096];
	uint8_t *owner = calloc(NGRAN, 1), *out = calloc(NGRAN, 1);
	uint64_t sum_out = 0, sum_in = 0, sent = 0, back = 0, g;
	struct pollfd pfd;
	int k, i, n, refd;
	void *rmem;
	/* a tenth under valgrind, which looks for leaks: the plain and
	 * sanitizer tiers count the million */
	const uint64_t total = ck_wrapped() ? TOTAL / 10 : TOTAL;

	ck_assert(owner != NULL && out != NULL);
	mkumsg("u", ULEN);
	for (k = 0; k < NKIDS; k++) {
		ss[k].pipe[0] = ss[k].pipe[1] = -1;
		ss[k].async = async && k % 2 ? 2 : async;	/* both forms */
	}
	for (k = 0; k < NKIDS; k++) {
		ck_assert(pipe(ss[k].pipe) == 0);
		h_start(&ss[k].k, sender_fn, &ss[k]);
		close(ss[k].pipe[0]);
		for (i = 0; i < CREDIT; i++, sent++)
			give(ss, k, owner, out, &sum_out);
		hand_out(&ss[k]);
	}
	while (back < total) {
		n = seg_free_read("u", got, 4096);
		ck_assert_msg(n > 0, "seg_free_read: %s", seg_errstr());
		for (i = 0; i < n; i++) {
			g = (got[i] - UVA) / 64;
			ck_assert_msg(got[i] >= UVA && g < NGRAN && out[g],
			    "0x%llx returned while not out",
			    (unsigned long long)got[i]);
			out[g] = 0;
			kid[i] = owner[g];
			sum_in += got[i] * 0x9e3779b97f4a7c15ULL;
			back++;
		}
		/* they are in the pool again: each one's sender gets another */
		for (i = 0; i < n && sent < total; i++, sent++)
			give(ss, kid[i], owner, out, &sum_out);
		for (k = 0; k < NKIDS; k++)
			if (ss[k].nbuf > 0)
				hand_out(&ss[k]);
	}
	for (k = 0; k < NKIDS; k++) {
		close(ss[k].pipe[1]);
		h_finish_ok(&ss[k].k, "a sender");
	}
	ck_assert_uint_eq(back, total);
	ck_assert_uint_eq(sent, total);
	ck_assert_uint_eq(sum_in, sum_out);
	/* and nothing more waits */
	pfd.fd = seg_free_fd("u");
	pfd.events = POLLIN;
	ck_assert(pfd.fd >= 0);
	ck_assert_int_eq(poll(&pfd, 1, 0), 0);
	/* every one was read through the read ring, none by the socket */
	rmem = h_ring_map(SEGW_ZREAD, "u", SEGW_ZREAD_MEM, SEGW_ZREAD_KICK,
	    ZREAD_SIZE, &refd);
	ck_assert_uint_eq(zread_word(rmem, ZREAD_PROD), total);
	ck_assert_uint_eq(zread_word(rmem, ZREAD_CONS), total);
	munmap(rmem, ZREAD_SIZE);
	close(refd);
	free(owner);
	free(out);
}

START_TEST(ring_exactly_once)
{
	exactly_once(0);
}
END_TEST

START_TEST(ring_async_exactly_once)
{
	exactly_once(1);
}
END_TEST

/*
 * Async outcomes: applied for a good address, refused with the address
 * named for a double and a foreign return; the descriptor is readable
 * while outcomes wait, and each is read once.
 */
START_TEST(ring_async_refusals)
{
	struct seg_zoutcome o[4];
	struct pollfd pfd;
	uint64_t a;
	char want[160];
	int n = 0;

	mkumsg("u", MIB);
	a = h_zalloc64("u");
	pfd.fd = seg_zfree_async_fd();
	pfd.events = POLLIN;
	ck_assert_msg(pfd.fd >= 0, "seg_zfree_async_fd: %s", seg_errstr());
	ck_assert_int_eq(poll(&pfd, 1, 0), 0);
	ck_assert_int_eq(seg_zfree_async(NULL, a), 0);
	ck_assert_int_eq(seg_zfree_async(NULL, a), 0);		/* twice */
	ck_assert_int_eq(seg_zfree_async(NULL, 0x1000), 0);	/* foreign */
	while (n < 3) {
		ck_assert_int_eq(poll(&pfd, 1, 60000), 1);
		n += seg_zfree_outcomes(o + n, 4 - n);
	}
	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(seg_zfree_outcomes(o + n, 1), 0);	/* no more */
	ck_assert_int_eq(poll(&pfd, 1, 0), 0);
	ck_assert(o[0].imp == NULL && o[0].addr == a && o[0].err == 0);
	ck_assert(o[1].addr == a && o[1].err == EINVAL);
	snprintf(want, sizeof want, "address 0x%llx is not the start of a live "
	    "buffer of segment 'u'", (unsigned long long)a);
	ck_assert_str_eq(o[1].msg, want);
	ck_assert(o[2].addr == 0x1000 && o[2].err == EINVAL);
	ck_assert_str_eq(o[2].msg, "address 0x1000 is not in any segment");
	/* a's one return was applied: it is in the free list once */
	ck_assert_int_eq(seg_free_read("u", &a, 1), 1);
	ck_assert_uint_eq(a, o[0].addr);
}
END_TEST

/*
 * seg_zfree_asyncv: bad arguments refused; each address of a call has its
 * own outcome (a refused one refuses no other); with segd stopped, a call
 * takes what the ring has room for (ZRING_NSLOTS, none read) and the next
 * one is EAGAIN; every outcome comes once segd runs again.
 */
START_TEST(ring_asyncv)
{
	enum { SLOTS = ZRING_NSLOTS };
	static struct seg_zoutcome o[SLOTS + 1];
	static uint64_t a[SLOTS + 100];
	uint64_t v[3], back;
	int i, n, applied = 0;

	mkumsg("u", 2 * MIB);
	ck_assert_int_eq(seg_zfree_asyncv(NULL, NULL, 1), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(seg_zfree_asyncv(NULL, v, 0), -1);
	ck_assert_int_eq(errno, EINVAL);
	v[0] = h_zalloc64("u");
	v[1] = v[0];		/* twice in one call */
	v[2] = h_zalloc64("u");
	ck_assert_int_eq(seg_zfree_asyncv(NULL, v, 3), 3);
	ck_assert_int_eq(h_outcomes(o, 3, 60000), 3);
	ck_assert_int_eq(seg_zfree_outcomes(o + 3, 1), 0);
	ck_assert(o[0].addr == v[0] && o[0].err == 0);
	ck_assert(o[1].addr == v[0] && o[1].err == EINVAL);
	ck_assert_msg(strstr(o[1].msg, "is not the start of a live buffer") !=
	    NULL, "%s", o[1].msg);
	ck_assert_msg(o[2].addr == v[2] && o[2].err == 0, "%s", o[2].msg);
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(seg_free_read("u", &back, 1), 1);
		ck_assert(back == v[0] || back == v[2]);
	}

	for (i = 0; i < SLOTS + 100; i++)
		a[i] = h_zalloc64("u");
	ck_assert_int_eq(kill(h_segd, SIGSTOP), 0);
	n = seg_zfree_asyncv(NULL, a, SLOTS + 100);
	ck_assert_msg(n == SLOTS, "took %d: %s", n, seg_errstr());
	ck_assert_int_eq(seg_zfree_asyncv(NULL, a + n, 100), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_eq(kill(h_segd, SIGCONT), 0);
	ck_assert_int_eq(h_outcomes(o, SLOTS, 60000), SLOTS);
	for (i = 0; i < SLOTS; i++) {
		ck_assert_msg(o[i].err == 0, "%s", o[i].msg);
		applied += o[i].addr == a[i];
	}
	ck_assert_int_eq(applied, SLOTS);	/* each once, in order */
	/* room again: the rest goes */
	ck_assert_int_eq(seg_zfree_asyncv(NULL, a + n, 100), 100);
	ck_assert_int_eq(h_outcomes(o, 100, 60000), 100);
	for (i = 0; i < 100; i++)
		ck_assert_msg(o[i].err == 0 && o[i].addr == a[n + i], "%s",
		    o[i].msg);
}
END_TEST

/*
 * segd exits with asynchronous returns outstanding (stopped while they
 * were made, then killed, or told to end): each is reported once, applied
 * or ENOTCONN (every one ENOTCONN when killed: it never ran again), none
 * lost; the next segd takes seg_zfree_async on the new connection.
 */
#define NOUT 100

static void
async_across_exit(int sig)
{
	static struct seg_zoutcome o[NOUT + 1];
	uint64_t a[NOUT], b;
	uint8_t seen[NOUT] = { 0 };
	int i, k, st;

	mkumsg("u", MIB);
	for (i = 0; i < NOUT; i++)
		a[i] = h_zalloc64("u");
	/* the ring made, and an outcome read, before segd stops */
	ck_assert_int_eq(seg_zfree_async(NULL, a[0]), 0);
	ck_assert_int_eq(h_outcomes(o, 1, 60000), 1);
	ck_assert_int_eq(o[0].err, 0);
	a[0] = h_zalloc64("u");
	ck_assert_int_eq(kill(h_segd, SIGSTOP), 0);
	for (i = 0; i < NOUT; i++)
		ck_assert_msg(seg_zfree_async(NULL, a[i]) == 0,
		    "seg_zfree_async: %s", seg_errstr());
	ck_assert_int_eq(kill(h_segd, sig), 0);
	ck_assert_int_eq(kill(h_segd, SIGCONT), 0);
	ck_assert_int_eq(waitpid(h_segd, &st, 0), h_segd);
	h_segd = 0;
	ck_assert_msg(sig == SIGKILL ? WIFSIGNALED(st) : WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0, "segd's status %#x", st);
	ck_assert_int_eq(h_outcomes(o, NOUT, 60000), NOUT);
	ck_assert_int_eq(seg_zfree_outcomes(o + NOUT, 1), 0);	/* no more */
	for (i = 0; i < NOUT; i++) {
		for (k = 0; k < NOUT && a[k] != o[i].addr; k++)
			;
		ck_assert_msg(k < NOUT && !seen[k], "0x%llx reported twice, or "
		    "never returned", (unsigned long long)o[i].addr);
		seen[k] = 1;
		ck_assert(o[i].imp == NULL);
		ck_assert_msg(o[i].err == ENOTCONN || (o[i].err == 0 &&
		    sig != SIGKILL), "0x%llx: %d %s",
		    (unsigned long long)o[i].addr, o[i].err, o[i].msg);
		if (o[i].err == ENOTCONN)
			ck_assert_msg(strstr(o[i].msg, "connection was lost") !=
			    NULL, "%s", o[i].msg);
	}
	/* a new segd, a new connection: asynchronous returns again */
	h_segd_start();
	h_umsg("v", UVA + 64 * MIB, MIB);
	b = h_zalloc64("v");
	ck_assert_msg(seg_zfree_async(NULL, b) == 0, "seg_zfree_async: %s",
	    seg_errstr());
	ck_assert_int_eq(h_outcomes(o, 1, 60000), 1);
	ck_assert_msg(o[0].err == 0 && o[0].addr == b, "%s", o[0].msg);
	ck_assert_int_eq(seg_free_read("v", &b, 1), 1);
	ck_assert_uint_eq(b, o[0].addr);
}

START_TEST(ring_async_segd_killed)
{
	async_across_exit(SIGKILL);
}
END_TEST

START_TEST(ring_async_segd_ends)
{
	async_across_exit(SIGTERM);
}
END_TEST

/* ---- threads of one process share its ring ---- */

#define NTHREADS 4
#define PERTHREAD 5000

static uint64_t tbufs[NTHREADS][PERTHREAD];

static void *
thread_fn(void *arg)
{
	uint64_t *a = arg;
	intptr_t bad = 0;
	int i;

	for (i = 0; i < PERTHREAD; i++)
		if (seg_zfree((void *)(uintptr_t)a[i]) != 0)
			bad++;
	return (void *)bad;
}

/*
 * Four threads return 20000 buffers through the one ring of their
 * process (slots are written again only once their caller has read them):
 * each comes back once.
 */
START_TEST(ring_threads)
{
	static uint64_t got[NTHREADS * PERTHREAD];
	uint8_t *seen = calloc(NGRAN, 1);
	pthread_t t[NTHREADS];
	void *bad;
	int k, i, n = 0;

	ck_assert(seen != NULL);
	mkumsg("u", 2 * MIB);
	for (k = 0; k < NTHREADS; k++)
		for (i = 0; i < PERTHREAD; i++)
			tbufs[k][i] = h_zalloc64("u");
	for (k = 0; k < NTHREADS; k++)
		ck_assert_int_eq(pthread_create(&t[k], NULL, thread_fn,
		    tbufs[k]), 0);
	for (k = 0; k < NTHREADS; k++) {
		ck_assert_int_eq(pthread_join(t[k], &bad), 0);
		ck_assert_msg(bad == NULL, "%ld returns refused",
		    (long)(intptr_t)bad);
	}
	while (n < NTHREADS * PERTHREAD) {
		i = seg_free_read("u", got + n, NTHREADS * PERTHREAD - n);
		ck_assert_msg(i > 0, "seg_free_read: %s", seg_errstr());
		n += i;
	}
	for (i = 0; i < n; i++) {
		uint64_t g = (got[i] - UVA) / 64;
		ck_assert(got[i] >= UVA && g < NGRAN && !seen[g]);
		seen[g] = 1;
	}
	for (k = 0; k < NTHREADS; k++)
		for (i = 0; i < PERTHREAD; i++)
			ck_assert(seen[(tbufs[k][i] - UVA) / 64]);
	free(seen);
}
END_TEST

/* ---- all or nothing, refusals ---- */

START_TEST(ring_batch_all_or_nothing)
{
	uint64_t a = 0, b = 0, v[3];
	char want[160];

	mkumsg("u", MIB);
	a = h_zalloc64("u");
	b = h_zalloc64("u");
	v[0] = a;
	v[1] = b;
	v[2] = b + 8;	/* not a buffer's start */
	ck_assert_int_eq(seg_zring_free(v, 3), -1);
	ck_assert_int_eq(errno, EINVAL);
	snprintf(want, sizeof want, "address 0x%llx is not the start of a live "
	    "buffer of segment 'u'", (unsigned long long)(b + 8));
	ck_assert_str_eq(seg_errstr(), want);
	/* nothing was returned: both are returned now, once */
	ck_assert_int_eq(seg_zring_free(v, 2), 0);
	ck_assert_int_eq(seg_zfree((void *)(uintptr_t)a), -1);
	snprintf(want, sizeof want, "address 0x%llx is not the start of a live "
	    "buffer of segment 'u'", (unsigned long long)a);
	ck_assert_str_eq(seg_errstr(), want);
	ck_assert_int_eq(seg_zfree((void *)(uintptr_t)0x1000), -1);
	ck_assert_str_eq(seg_errstr(), "address 0x1000 is not in any segment");
}
END_TEST

/* ---- hostile rings ---- */

/* This process's ring, mapped, and its kick. */
static void *
ring_map(int *efd)
{
	return h_ring_map(SEGW_ZRING, "", SEGW_ZRING_MEM, SEGW_ZRING_KICK,
	    ZRING_SIZE, efd);
}

static void
kick(int efd)
{
	uint64_t one = 1;

	H_CCHECK(write(efd, &one, sizeof one) == sizeof one, "kick: %s",
	    strerror(errno));
}

/* Wait (bounded) until segd answered entry end - 1 or broke the ring. */
static int
ring_settled(void *mem, uint32_t end)
{
	long deadline = ck_now_ms() + 60000;
	uint32_t c;

	while ((int32_t)((c = zring_cons(mem)) - end) < 0 &&
	    zring_broken(mem) == 0 && ck_now_ms() < deadline) {
		struct timespec ts = { 0, 50000000 };
		zring_add_waiters(mem, 1);
		syscall(SYS_futex, zring_cons_word(mem), FUTEX_WAIT, htole32(c),
		    &ts, NULL, 0);
		zring_add_waiters(mem, -1);
	}
	return (int32_t)(zring_cons(mem) - end) >= 0 || zring_broken(mem);
}

static void
index_liar_fn(void *arg)
{
	int efd;
	void *mem = ring_map(&efd);

	(void)arg;
	zring_set_prod(mem, ZRING_NSLOTS + 7);
	kick(efd);
	H_CCHECK(ring_settled(mem, ZRING_NSLOTS + 7), "no answer");
	H_CCHECK(zring_broken(mem) == EPROTO, "the ring is still served "
	    "(broken %u, cons %u)", zring_broken(mem), zring_cons(mem));
}

/* An index past the ring: that ring is no longer served, the rest are. */
START_TEST(ring_index_past_end)
{
	uint64_t a;

	mkumsg("u", MIB);
	a = h_zalloc64("u");
	CK_CHILD(index_liar_fn, NULL);
	ck_assert_msg(seg_zfree((void *)(uintptr_t)a) == 0, "seg_zfree: %s",
	    seg_errstr());
}
END_TEST

/* The whole ring published: segd answered every entry (cons passed it). */
static void
publish_all(void *mem, int efd)
{
	zring_set_prod(mem, ZRING_NSLOTS);
	kick(efd);
	H_CCHECK(ring_settled(mem, ZRING_NSLOTS), "no answer");
	H_CCHECK(zring_cons(mem) == ZRING_NSLOTS, "cons %u (broken %u)",
	    zring_cons(mem), zring_broken(mem));
}

static uint64_t
random_addr(unsigned *seed)
{
	return ((uint64_t)rand_r(seed) << 32) | (uint64_t)rand_r(seed);
}

/*
 * Garbage: the header's other fields overwritten, random entries (some
 * naming the live buffer given in arg, but in batches too long or with
 * garbage beside it), a batch of more than ZRING_BATCH_MAX: every entry
 * answered with a refusal, nothing returned.
 */
static void
scribbler_fn(void *arg)
{
	uint64_t live = *(uint64_t *)arg;
	unsigned seed = 15;
	struct zring_ent e;
	uint32_t i, st;
	int efd;
	void *mem = ring_map(&efd);

	memset(mem, 0xa5, 8);		/* magic, nslots */
	memset((uint8_t *)mem + 192, 0x5a, 64);	/* waiters */
	for (i = 0; i < ZRING_BATCH_MAX + 100; i++) {	/* one batch, too long */
		e.addr = live;
		e.flags = ZRING_MORE;
		zring_put(mem, i, &e);
	}
	for (; i < ZRING_NSLOTS; i++) {	/* random, and the live one amid */
		e.addr = i % 7 == 0 ? live : random_addr(&seed);
		e.flags = i + 1 == ZRING_NSLOTS || i % 7 == 6 ? 0 :
		    (uint32_t)rand_r(&seed);
		if (i % 7 == 0)
			e.flags |= ZRING_MORE;
		zring_put(mem, i, &e);
	}
	publish_all(mem, efd);
	for (i = 0; i < ZRING_NSLOTS; i++) {
		st = zring_status(mem, i) & 0xffff;
		H_CCHECK(st != 0, "entry %u was taken", i);
		H_CCHECK(i >= ZRING_BATCH_MAX || st == E2BIG, "entry %u: %u", i,
		    st);
	}
}

/* A child scribbles (fn, given a live buffer): it is not returned. */
static void
garbage_refused(void (*fn)(void *))
{
	uint64_t a;

	mkumsg("u", MIB);
	a = h_zalloc64("u");
	CK_CHILD(fn, &a);
	/* the live buffer was never returned by the garbage: it is now */
	ck_assert_msg(seg_zfree((void *)(uintptr_t)a) == 0, "seg_zfree: %s",
	    seg_errstr());
	ck_assert_int_eq(seg_zfree((void *)(uintptr_t)a), -1);
}

START_TEST(ring_garbage_refused)
{
	garbage_refused(scribbler_fn);
}
END_TEST

/*
 * Asynchronous garbage: entries flagged ZRING_ASYNC that are batches
 * (ZRING_MORE), remote ones naming no import of this connection (the
 * handle 0, 1, all ones, random), with random flags besides, local ones
 * naming no buffer; the live buffer in arg amid them, only in remote or
 * batched ones: each is answered once, refused, with its outcome
 * (ZRING_DONE) by the time cons passes it; nothing is returned.
 */
static void
async_scribbler_fn(void *arg)
{
	static const uint32_t handles[] = { 0, 1, 0xffffffffu, 2 };
	int efd;
	void *mem = ring_map(&efd);
	unsigned seed = 51;
	uint64_t live = *(uint64_t *)arg;
	uint32_t i, st;
	struct zring_ent e;

	for (i = 0; i < ZRING_NSLOTS; i++) {
		e.addr = i % 3 == 0 ? live : random_addr(&seed);
		e.flags = ZRING_ASYNC | ((uint32_t)rand_r(&seed) &
		    ~ZRING_MORE & 0xffff);
		if (i % 3 == 0)	/* the live one: never local and single */
			e.flags |= i % 2 ? ZRING_MORE : ZRING_REMOTE;
		zring_put(mem, i, &e);
		zring_set_status(mem, i, e.flags & ZRING_REMOTE ? (i % 5 < 4 ?
		    handles[i % 5] : (uint32_t)rand_r(&seed)) : 0);
	}
	publish_all(mem, efd);
	H_CCHECK(zring_broken(mem) == 0, "the ring was broken (%u)",
	    zring_broken(mem));
	for (i = 0; i < ZRING_NSLOTS; i++) {
		st = zring_status(mem, i);
		H_CCHECK((st & ZRING_DONE) && (st & 0xffff) != 0, "entry %u: "
		    "status %#x", i, st);
	}
}

START_TEST(ring_async_garbage_refused)
{
	garbage_refused(async_scribbler_fn);
}
END_TEST

static void flooder_fn(void *);
static void async_flooder_fn(void *);

/*
 * A flood without end slows the others by at most half: each ring is
 * drained ZRING_BUDGET entries a turn.  Rates on a small shared host vary
 * by more than that from one run to the next: the best of five rounds
 * (quiet, then flooded) counts.  With a budget of 1024 a turn no round
 * came near (0.01 to 0.2).
 */
START_TEST(ring_flood_fair)
{
	mkumsg("u", 4 * MIB);
	/* returns of "u" (held here) timed, one a call */
	h_flood_fair("u", 0, 3000, flooder_fn, "ring_flood_fair");
}
END_TEST

/* The same, for another client's seg_zfree_async, beside a flood of
 * asynchronous remote returns naming no import. */
START_TEST(ring_async_flood_fair)
{
	mkumsg("u", 4 * MIB);
	h_flood_fair("u", H_RATE_ASYNC, 3000, async_flooder_fn,
	    "ring_async_flood_fair");
}
END_TEST

/*
 * Keep the ring full of garbage, forever: refilled every millisecond,
 * faster than segd drains it.  It sleeps between refills rather than
 * spin, so that what is measured is segd's fairness, not a CPU taken
 * from the others on a small host.
 */
static void
flood(uint32_t flags)
{
	struct timespec ms = { 0, 1000000 };
	struct zring_ent e = { 0x1000, flags };
	uint32_t prod = 0, i;
	int efd;
	void *mem = ring_map(&efd);

	h_ready();
	for (;;) {
		H_CCHECK(zring_broken(mem) == 0, "the ring was refused");
		nanosleep(&ms, NULL);
		for (i = zring_cons(mem) + ZRING_NSLOTS; prod != i; prod++) {
			e.addr = 0x1000 + prod;
			zring_put(mem, prod, &e);
			if (flags & ZRING_REMOTE)	/* no import's */
				zring_set_status(mem, prod, prod | 1);
		}
		zring_set_prod(mem, prod);
		kick(efd);
	}
}

static void
flooder_fn(void *arg)
{
	(void)arg;
	flood(0);
}

static void
async_flooder_fn(void *arg)
{
	(void)arg;
	flood(ZRING_ASYNC | ZRING_REMOTE);
}

/* ---- a segd from before the rings ---- */

static int
read_full(int fd, uint8_t *p, size_t n)
{
	ssize_t r;

	while (n > 0) {
		if ((r = read(fd, p, n)) <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/*
 * A segd older than the rings, on its one connection: it answers the
 * handshake with this version and every other request EINVAL "unknown
 * request", as such a segd answers SEGW_ZRING.
 */
static void
old_segd(int lfd)
{
	static uint8_t body[SEGW_MAXPAYLOAD];
	static const char unknown[] = "unknown request";
	uint8_t hb[SEGW_HDRLEN], out[SEGW_HDRLEN + 64];
	struct segw_hdr h;
	const char *why;
	int fd = accept(lfd, NULL, NULL);

	while (fd >= 0 && read_full(fd, hb, sizeof hb) == 0 &&
	    segw_hdr_parse(hb, sizeof hb, &h, &why) > 0 &&
	    read_full(fd, body, h.len) == 0) {
		if (h.op == SEGW_HELLO) {
			h.len = (uint32_t)segw_version_encode(out + SEGW_HDRLEN,
			    sizeof out - SEGW_HDRLEN, SEGW_VERSION);
			h.status = 0;
		} else {
			memcpy(out + SEGW_HDRLEN, unknown, sizeof unknown - 1);
			h.len = sizeof unknown - 1;
			h.status = EINVAL;
		}
		segw_hdr_encode(out, &h);
		if (write(fd, out, SEGW_HDRLEN + h.len) < 0)
			break;
	}
	_exit(0);
}

/* Against a segd without rings, the asynchronous calls say so: ENOTSUP,
 * at once, with words that name what is missing; nothing waits. */
START_TEST(ring_async_old_segd)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct seg_zoutcome o;
	int lfd, st;
	pid_t pid;

	/* at h_sock, which $SEGD_SOCKET names (h_prepare) */
	ck_assert_uint_lt(strlen(h_sock), sizeof sun.sun_path);
	strcpy(sun.sun_path, h_sock);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sun, sizeof sun), 0);
	ck_assert_int_eq(listen(lfd, 1), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		old_segd(lfd);
	close(lfd);

	ck_assert_int_eq(seg_zfree_async(NULL, 0x38000000), -1);
	ck_assert_int_eq(errno, ENOTSUP);
	ck_assert_msg(strstr(seg_errstr(), "this segd serves no free ring") !=
	    NULL, "seg_zfree_async: %s", seg_errstr());
	ck_assert_int_eq(seg_zfree_async_fd(), -1);
	ck_assert_int_eq(errno, ENOTSUP);
	ck_assert_int_eq(seg_zfree_outcomes(&o, 1), 0);
	/* the synchronous return goes by the socket, and gets the answer */
	ck_assert_int_eq(seg_zfree((void *)0x38000000), -1);
	ck_assert_msg(strstr(seg_errstr(), "unknown request") != NULL,
	    "seg_zfree: %s", seg_errstr());

	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
}
END_TEST

/* the test's directory and socket path, no segd (the test brings its own) */
static const struct ck_fix prep_fix = {
	.setup = h_prepare, .teardown = h_teardown,
	.usetup = h_begin, .uteardown = h_end,
};

void
suite(Suite *s)
{
	ck_tcase(s, "once", &h_fix, 600, ring_exactly_once, ring_threads,
	    ring_batch_all_or_nothing, NULL);
	ck_tcase(s, "async", &h_fix, 600, ring_async_exactly_once,
	    ring_async_refusals, ring_asyncv, ring_async_segd_killed,
	    ring_async_segd_ends, NULL);
	ck_tcase(s, "hostile", &h_fix, H_TIMEOUT_S, ring_index_past_end,
	    ring_garbage_refused, ring_flood_fair, ring_async_garbage_refused,
	    ring_async_flood_fair, NULL);
	ck_tcase(s, "old segd", &prep_fix, H_TIMEOUT_S, ring_async_old_segd,
	    NULL);
}
