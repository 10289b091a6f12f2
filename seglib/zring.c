/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * zring.c: libseg's side of the free ring (proto/zring.h): seg_zfree
 * writes its address into memory shared with segd instead of making a
 * SEGW_ZFREE call over the socket, kicks segd's eventfd only when the ring
 * was empty, and waits on the ring's consumer index (a futex) for segd's
 * answer: still synchronous, with segd's verdict, without a round trip on
 * the socket.
 *
 * One ring per connection to segd, shared by the process's threads: the
 * producer side under zr_lock; each caller waits for its own entries and
 * reads their status, and a slot is written again only once its caller
 * has read it (tail).  A segd that does not serve rings (SEGW_ZRING
 * refused) is asked no more on this connection: seg_zfree falls back to
 * the socket.
 *
 * seg_zfree_async publishes one entry flagged ZRING_ASYNC (ZRING_REMOTE
 * with the import's handle for a remote buffer) and does not wait;
 * seg_zfree_asyncv publishes several such entries, each with its own
 * outcome, and kicks segd once.  Its
 * slot stays taken until seg_zfree_outcomes has reported its outcome,
 * which segd writes into it (ZRING_DONE) and tells by the ring's done
 * eventfd.  That eventfd is kept at one descriptor number across rings
 * (dup3), the one seg_zfree_async_fd gives.  A ring with outcomes
 * unread is not replaced: when segd's connection was lost, the entries it
 * had not answered are reported ENOTCONN by seg_zfree_outcomes first.
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/futex.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "libseg.h"
#include "zring.h"

#define WAIT_SLICE_MS 200	/* a waiter looks at the connection this often */

static pthread_mutex_t zr_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t  zr_room = PTHREAD_COND_INITIALIZER;
static struct {
	void    *mem;		/* NULL: none */
	int      efd;
	unsigned gen;		/* seg_conn_gen() it was had on */
	pid_t    pid;
	int      off;		/* segd refused: use the socket (this gen) */
	unsigned users;		/* callers waiting on mem: not unmapped */
	uint32_t prod;		/* entries published */
	uint32_t tail;		/* entries whose callers have read them */
	uint8_t  read[ZRING_NSLOTS];	/* read by its caller, past tail */
	int      dfd;		/* the done eventfd's number (-1: none) */
	int      noasync;	/* segd gave no done eventfd: no async */
	unsigned apending;	/* asynchronous entries not reported */
	uint8_t  async[ZRING_NSLOTS];	/* ... this one */
	seg_import_t *imps[ZRING_NSLOTS];	/* ... its import (NULL: local) */
} zr = { .efd = -1, .dfd = -1 };

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Under zr_lock: forget the ring (not in a forked child's parent). */
static void
ring_close(void)
{
	if (zr.mem != NULL)
		munmap(zr.mem, ZRING_SIZE);
	if (zr.efd >= 0)
		close(zr.efd);
	zr.mem = NULL;
	zr.efd = -1;
	zr.off = 0;
}

/*
 * Under zr_lock: segd's done eventfd, at the number seg_zfree_async_fd
 * gave (dup3); a segd without it (EINVAL) serves the ring without
 * asynchronous returns.  0, or -1.
 */
static int
done_take(void)
{
	struct segw_req r;
	int dfd = -1;

	memset(&r, 0, sizeof r);
	r.arg = SEGW_ZRING_DONE;
	zr.noasync = 0;
	if (seg_call(SEGW_ZRING, &r, NULL, NULL, NULL, &dfd) < 0) {
		zr.noasync = errno == EINVAL;
		return zr.noasync ? 0 : -1;
	}
	if (dfd < 0)
		return -1;
	if (zr.dfd < 0) {
		zr.dfd = dfd;
		return 0;
	}
	if (dup3(dfd, zr.dfd, O_CLOEXEC) < 0) {
		close(dfd);
		return -1;
	}
	close(dfd);
	return 0;
}

/* Under zr_lock: the descriptors, mapped; 0, or -1 (use the socket). */
static int
ring_take(void)
{
	struct segw_req r;
	struct stat sb;
	unsigned gen;
	void *p;
	int mfd = -1, efd = -1;

	memset(&r, 0, sizeof r);
	r.arg = SEGW_ZRING_MEM;
	if (seg_call(SEGW_ZRING, &r, NULL, NULL, NULL, &mfd) < 0) {
		if (errno == EINVAL) {	/* a segd without rings */
			zr.off = 1;
			zr.gen = seg_conn_gen();
			zr.pid = getpid();
		}
		return -1;
	}
	gen = seg_conn_gen();
	r.arg = SEGW_ZRING_KICK;
	if (mfd < 0 || seg_call(SEGW_ZRING, &r, NULL, NULL, NULL, &efd) < 0 ||
	    efd < 0)
		goto fail;
	if (done_take() < 0 || gen != seg_conn_gen() || fstat(mfd, &sb) < 0 ||
	    sb.st_size != ZRING_SIZE)
		goto fail;
	p = mmap(NULL, ZRING_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (p == MAP_FAILED)
		goto fail;
	close(mfd);
	if (!zring_valid(p, ZRING_SIZE) || zring_prod(p) != 0) {
		munmap(p, ZRING_SIZE);
		close(efd);
		return -1;
	}
	zr.mem = p;
	zr.efd = efd;
	zr.gen = gen;
	zr.pid = getpid();
	zr.prod = zr.tail = 0;
	memset(zr.read, 0, sizeof zr.read);
	return 0;
fail:
	if (mfd >= 0)
		close(mfd);
	if (efd >= 0)
		close(efd);
	return -1;
}

/* Under zr_lock: 0 with the ring, 1 to use the socket instead. */
static int
ring_get(void)
{
	if (zr.pid != getpid()) {	/* a fork's child: the parent's ring */
		ring_close();
		if (zr.dfd >= 0)
			close(zr.dfd);
		zr.dfd = -1;
		zr.users = zr.apending = 0;
		memset(zr.async, 0, sizeof zr.async);
		zr.pid = getpid();
	}
	if (zr.gen == seg_conn_gen() && (zr.mem != NULL || zr.off))
		return zr.off;
	if (zr.users > 0 || zr.apending > 0)	/* the old one is still used */
		return 1;
	ring_close();
	return ring_take() < 0 ? 1 : 0;
}

/* Under zr_lock: slots read, past tail, are free again. */
static void
ring_advance(void)
{
	while (zr.tail != zr.prod && zr.read[zr.tail & (ZRING_NSLOTS - 1)]) {
		zr.read[zr.tail & (ZRING_NSLOTS - 1)] = 0;
		zr.tail++;
	}
	pthread_cond_broadcast(&zr_room);
}

/* Under zr_lock: the caller of [start, end) has read them. */
static void
ring_release(uint32_t start, uint32_t end)
{
	uint32_t i;

	for (i = start; i != end; i++)
		zr.read[i & (ZRING_NSLOTS - 1)] = 1;
	ring_advance();
}

/* Under zr_lock: wait until segd has answered entry end - 1; 0 or errno. */
static int
ring_wait(uint32_t end, double deadline)
{
	void *mem = zr.mem;
	uint32_t c;
	long r;
	int lost;

	while ((int32_t)((c = zring_cons(mem)) - end) < 0) {
		struct timespec ts = { 0, WAIT_SLICE_MS * 1000000L };
		if (zring_broken(mem) != 0)
			return EPROTO;
		if (zr.gen != seg_conn_gen())
			return ENOTCONN;
		if (now_s() > deadline)
			return ETIMEDOUT;
		zring_add_waiters(mem, 1);
		pthread_mutex_unlock(&zr_lock);
		r = syscall(SYS_futex, zring_cons_word(mem), FUTEX_WAIT,
		    htole32(c), &ts, NULL, 0);
		lost = r < 0 && errno == ETIMEDOUT && seg_conn_lost();
		pthread_mutex_lock(&zr_lock);
		zring_add_waiters(mem, -1);
		if (lost)	/* segd exited: the entries died with it */
			return ENOTCONN;
	}
	return 0;
}

/* The words of status st of a refused batch ending before end, into buf:
 * its errno. */
static int
refusal(uint32_t st, uint32_t end, const uint64_t *addrs, int n, char *buf,
    size_t size)
{
	unsigned long long a = (unsigned long long)addrs[0];
	int err = (int)(st & 0xffff);
	uint32_t k = (st >> 16) & 0xff;

	if (k != 0 && zring_error(zr.mem, k - 1, end, buf, size))
		return err;
	switch (err) {
	case EPROTO:
		snprintf(buf, size, "segd stopped serving this process's free "
		    "ring (its indexes were found corrupt)");
		break;
	case ETIMEDOUT:
		snprintf(buf, size, "segd did not answer the return of 0x%llx "
		    "within %d s", a, SEG_CALL_TIMEOUT_S);
		break;
	case EINVAL:
		if (n == 1)
			snprintf(buf, size, "address 0x%llx is not the start of "
			    "a live buffer of a zero-copy segment", a);
		else
			snprintf(buf, size, "a batch of %d addresses from 0x%llx "
			    "was refused: one is not the start of a live buffer "
			    "of its segment", n, a);
		break;
	case EACCES:
	case EPERM:
		snprintf(buf, size, "permission denied: returning 0x%llx needs "
		    "write permission on its segment", a);
		break;
	default:
		snprintf(buf, size, "return of 0x%llx refused: %s", a,
		    strerror(err));
	}
	return err;
}

/* The error of a refused batch ending before end, status st. */
static int
refused(uint32_t st, uint32_t end, const uint64_t *addrs, int n)
{
	char text[ZRING_ERRLEN];
	int err = refusal(st, end, addrs, n, text, sizeof text);

	return seg_seterr(err, "%s", text);
}

/*
 * Return n (1..ZRING_BATCH_MAX) local buffers through the ring, all or
 * none: 0, -1 with seg_errstr(), or 1 if there is no ring (the caller
 * uses the socket).
 */
int
seg_zring_free(const uint64_t *addrs, int n)
{
	double deadline = now_s() + SEG_CALL_TIMEOUT_S;
	struct zring_ent ent;
	uint32_t start, st;
	uint64_t one = 1;
	int i, err;

	if (n < 1 || n > ZRING_BATCH_MAX)
		return seg_seterr(EINVAL, "bad number of addresses %d", n);
	pthread_mutex_lock(&zr_lock);
	for (;;) {	/* the ring may be another after a wait for room */
		if (ring_get() != 0) {
			pthread_mutex_unlock(&zr_lock);
			return 1;
		}
		if (zr.prod - zr.tail + (uint32_t)n <= ZRING_NSLOTS)
			break;
		pthread_cond_wait(&zr_room, &zr_lock);
	}
	start = zr.prod;
	for (i = 0; i < n; i++) {
		ent.addr = addrs[i];
		ent.flags = i + 1 < n ? ZRING_MORE : 0;
		zring_put(zr.mem, start + (uint32_t)i, &ent);
	}
	zr.prod = start + (uint32_t)n;
	zring_set_prod(zr.mem, zr.prod);
	/* it was empty: segd may sleep (it reads prod again after telling
	 * cons, so one of the two sees the other) */
	if (zring_cons(zr.mem) == start &&
	    write(zr.efd, &one, sizeof one) < 0 && errno != EAGAIN) {
		err = errno;
		ring_release(start, zr.prod);
		pthread_mutex_unlock(&zr_lock);
		return seg_seterr(err, "free ring kick: %s", strerror(err));
	}
	zr.users++;
	err = ring_wait(start + (uint32_t)n, deadline);
	st = err != 0 ? (uint32_t)err :
	    zring_status(zr.mem, start + (uint32_t)n - 1);
	if (st != 0 && err == 0 && (st & 0xffff) == 0)
		st = EPROTO;	/* not segd's words: the ring was written on */
	if (st != 0 && err != ENOTCONN)
		refused(st, start + (uint32_t)n, addrs, n);
	zr.users--;
	ring_release(start, start + (uint32_t)n);
	pthread_mutex_unlock(&zr_lock);
	/* segd exited before it answered: the socket reaches its successor */
	if (err == ENOTCONN)
		return 1;
	return st == 0 ? 0 : -1;
}

/* Under zr_lock: why there is no ring for an asynchronous return. */
static int
no_ring(void)
{
	if (zr.off || zr.noasync)
		return seg_seterr(ENOTSUP, "this segd serves no %s: no "
		    "asynchronous returns", zr.off ? "free ring" :
		    "outcomes of returns");
	if (zr.apending > 0)
		return seg_seterr(EAGAIN, "segd's connection was lost: read the "
		    "outcomes of the returns made before (seg_zfree_outcomes)");
	return seg_seterr(EAGAIN, "no free ring: segd could not make one");
}

/*
 * Publish up to n of addrs as asynchronous returns (imp NULL: local
 * buffers), as many as the ring has room for, and kick segd once if the
 * ring was empty: how many, or -1.
 */
int
seg_zfree_asyncv(seg_import_t *imp, const uint64_t *addrs, int n)
{
	struct zring_ent ent = { 0, ZRING_ASYNC };
	uint64_t h = 0, one = 1;
	uint32_t start, i, room, take;
	int err;

	if (addrs == NULL || n < 1)
		return seg_seterr(EINVAL, "bad arguments");
	if (imp != NULL) {
		if ((h = seg_import_handle(imp)) == 0 || h > UINT32_MAX)
			return seg_seterr(ENOTCONN, "the import was lost, or made "
			    "over an earlier connection to segd: a call on it "
			    "(seg_import_info) makes it again");
		ent.flags |= ZRING_REMOTE;
	}
	pthread_mutex_lock(&zr_lock);
	if (ring_get() != 0 || zr.noasync) {
		err = no_ring();
		pthread_mutex_unlock(&zr_lock);
		return err;
	}
	if ((room = ZRING_NSLOTS - (zr.prod - zr.tail)) == 0) {
		pthread_mutex_unlock(&zr_lock);
		return seg_seterr(EAGAIN, "the free ring is full: read outcomes "
		    "(seg_zfree_outcomes) to make room");
	}
	take = (uint32_t)n < room ? (uint32_t)n : room;
	start = zr.prod;
	for (i = start; i != start + take; i++) {
		ent.addr = addrs[i - start];
		zring_put(zr.mem, i, &ent);
		zring_set_status(zr.mem, i, (uint32_t)h);	/* the handle, in */
		zr.async[i & (ZRING_NSLOTS - 1)] = 1;
		zr.imps[i & (ZRING_NSLOTS - 1)] = imp;
	}
	zr.apending += take;
	zr.prod = start + take;
	zring_set_prod(zr.mem, zr.prod);
	if (zring_cons(zr.mem) == start && write(zr.efd, &one, sizeof one) < 0 &&
	    errno != EAGAIN)	/* it was empty: segd may sleep */
		seg_seterr(errno, "free ring kick: %s", strerror(errno));
	pthread_mutex_unlock(&zr_lock);
	return (int)take;
}

int
seg_zfree_async(seg_import_t *imp, uint64_t addr)
{
	return seg_zfree_asyncv(imp, &addr, 1) < 0 ? -1 : 0;
}

int
seg_zfree_async_fd(void)
{
	int fd;

	pthread_mutex_lock(&zr_lock);
	if ((ring_get() != 0 && zr.dfd < 0) || zr.noasync) {
		fd = no_ring();
		pthread_mutex_unlock(&zr_lock);
		return fd;
	}
	fd = zr.dfd;
	pthread_mutex_unlock(&zr_lock);
	return fd;
}

/* Under zr_lock: entry i's outcome (status st, lost: segd went first). */
static void
outcome_fill(struct seg_zoutcome *o, uint32_t i, uint32_t st, int lost)
{
	struct zring_ent ent;

	zring_get(zr.mem, i, &ent);
	o->imp = zr.imps[i & (ZRING_NSLOTS - 1)];
	o->addr = ent.addr;
	o->err = 0;
	o->msg[0] = 0;
	if (lost) {
		o->err = ENOTCONN;
		snprintf(o->msg, sizeof o->msg, "segd's connection was lost "
		    "before it answered the return of 0x%llx: it may have been "
		    "applied", (unsigned long long)ent.addr);
	} else if ((st & 0xffff) != 0 && (((st >> 16) & 0xff) == 0 ||
	    !zring_error(zr.mem, ((st >> 16) & 0xff) - 1, i + 1, o->msg,
	    sizeof o->msg))) {
		/* segd's words were written over by later refusals */
		o->err = (int)(st & 0xffff);
		snprintf(o->msg, sizeof o->msg, "return of 0x%llx: %s%s",
		    (unsigned long long)ent.addr, strerror(o->err),
		    o->err == ETIMEDOUT || o->err == ENOTCONN ?
		    "; it may have been applied" : "");
	} else
		o->err = (int)(st & 0xffff);
}

/* Under zr_lock: up to max finished entries into out (lost: the
 * unanswered ones too, segd having gone), their slots freed; *more if
 * more wait.  How many. */
static int
outcomes_take(struct seg_zoutcome *out, int max, int lost, int *more)
{
	uint32_t i, cons = zring_cons(zr.mem), st = 0;
	int n = 0, done;

	for (i = zr.tail; i != zr.prod && zr.apending > 0; i++) {
		if (!zr.async[i & (ZRING_NSLOTS - 1)])
			continue;
		done = (int32_t)(i - cons) < 0 &&
		    ((st = zring_status(zr.mem, i)) & ZRING_DONE);
		if (!done && !lost)
			continue;
		if (n == max) {
			*more = 1;
			break;
		}
		outcome_fill(&out[n++], i, st, !done);
		zr.async[i & (ZRING_NSLOTS - 1)] = 0;
		zr.read[i & (ZRING_NSLOTS - 1)] = 1;
		zr.apending--;
	}
	ring_advance();
	return n;
}

int
seg_zfree_outcomes(struct seg_zoutcome *out, int max)
{
	uint64_t v, one = 1;
	int n, lost, more = 0;

	if (max < 0 || (max > 0 && out == NULL))
		return seg_seterr(EINVAL, "bad arguments");
	pthread_mutex_lock(&zr_lock);
	if (zr.mem == NULL || zr.pid != getpid() || zr.apending == 0) {
		pthread_mutex_unlock(&zr_lock);
		return 0;
	}
	if (read(zr.dfd, &v, sizeof v) < 0 && errno != EAGAIN)
		v = 0;	/* level: outcomes are looked for all the same */
	lost = zr.gen != seg_conn_gen() || zring_broken(zr.mem) != 0;
	n = outcomes_take(out, max, lost, &more);
	/* none came: has segd gone (exited) with the rest? */
	if (n == 0 && !lost && zr.apending > 0 && seg_conn_lost())
		n = outcomes_take(out, max, 1, &more);
	if (more && write(zr.dfd, &one, sizeof one) < 0)
		v = 0;	/* readable still: more wait */
	pthread_mutex_unlock(&zr_lock);
	return n;
}
