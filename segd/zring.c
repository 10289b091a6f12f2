/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * zring.c: the free rings (proto/zring.h): local clients return zero-copy
 * buffers through memory they share with segd instead of a SEGW_ZFREE
 * round trip over the socket.
 *
 * One ring per client connection, made on its first SEGW_ZRING request:
 * a memfd of fixed size, sealed against shrinking and growing before it is
 * handed over, so the client can scribble on it but never make segd's
 * loads fault; and an eventfd the client writes when the ring goes from
 * empty to non-empty.  Its event drains at most ZRING_BUDGET entries per
 * turn and, if more wait, leaves its eventfd readable so that the loop
 * comes back to it after every other ready descriptor's turn: a flooding
 * client gets its turn, no more.  A turn that refused every batch is
 * followed by ZRING_PAUSE_US without turns for that ring: garbage, or a
 * flood of it, costs segd little.
 *
 * segd trusts nothing in the ring: it keeps its own consumer index, reads
 * each entry once, refuses a batch longer than ZRING_BATCH_MAX, and stops
 * serving (broken = EPROTO) a ring whose producer index claims more
 * entries than the ring holds.  Each batch is validated as a SEGW_ZFREE
 * request is (zio_free_local: all or nothing); its status goes into its
 * entries before the consumer index passes them, and client threads that
 * wait on that index (a futex) are woken if the client says any wait.
 *
 * An asynchronous entry (ZRING_ASYNC, seg_zfree_async) is a batch of one
 * whose caller does not wait: a local one has its outcome before the
 * consumer index passes it; a remote one (ZRING_REMOTE, the client's
 * import handle in its status word) goes to rfree.c's queue for its
 * owner, and its outcome is written into it when the owner answered.
 * Either way the ring's done eventfd is then written, once a turn of the
 * loop.  A ring has at most ZRING_NSLOTS remote outcomes to come: past
 * that segd drains it no more until some came.
 */
#include <sys/mman.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <linux/futex.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "segd.h"
#include "zring.h"

#define ZRING_BUDGET 16		/* entries drained per turn of a ring (a
				 * batch begun is ended: up to 500) */
#define ZRING_PAUSE_US 1000	/* no turn after one that refused all */

struct zring {
	struct segd   *sd;
	struct client *c;	/* its owner; NULL once it went */
	unsigned       refs;	/* holders: its client until it goes, and
				 * rfree.c for each remote outcome to come */
	unsigned       pending;	/* remote outcomes to come */
	int            stalled;	/* not drained until one came */
	void          *mem;
	int            memfd, efd, dfd;
	struct event  *ev, *pause, *done;
	uint32_t       cons;	/* segd's own: the shared one is only told */
	uint32_t       nerr;	/* refusals worded: the next error record */
};

static void
zring_free(struct zring *r)
{
	if (r == NULL)
		return;
	if (r->ev != NULL)
		event_free(r->ev);
	if (r->pause != NULL)
		event_free(r->pause);
	if (r->done != NULL)
		event_free(r->done);
	if (r->dfd >= 0)
		close(r->dfd);
	if (r->mem != NULL)
		munmap(r->mem, ZRING_SIZE);
	if (r->memfd >= 0)
		close(r->memfd);
	if (r->efd >= 0)
		close(r->efd);
	free(r);
}

static void
wake_waiters(struct zring *r)
{
	if (zring_waiters(r->mem) != 0 &&
	    syscall(SYS_futex, zring_cons_word(r->mem), FUTEX_WAKE, INT_MAX,
	    NULL, NULL, 0) < 0)
		log_warn("%s: futex", __func__);
}

static void
ring_break(struct zring *r, const char *why)
{
	const struct cred *cr = client_cred(r->c);

	log_warnx("%s: client pid %d uid %u: %s: its free ring is no longer "
	    "served", __func__, (int)cr->pid, (unsigned)cr->uid, why);
	zring_set_broken(r->mem, EPROTO);
	event_del(r->ev);	/* for good: the client's kicks wake nothing */
	wake_waiters(r);
}

static void
zring_put_ref(struct zring *r)
{
	if (--r->refs == 0)
		zring_free(r);
}

/* The status of a refusal, e worded in the next error record. */
static uint32_t
status_of(struct zring *r, uint32_t end, const struct segerr *e)
{
	uint32_t st = e->code > 0 && e->code <= 0xffff ? (uint32_t)e->code :
	    EIO, k = r->nerr++ % ZRING_NERR;

	zring_set_error(r->mem, k, end, e->msg);
	return st | (k + 1) << 16;
}

/* Outcomes were written: the done eventfd, once at the end of the turn. */
static void
done_kick(struct zring *r)
{
	struct timeval tv = { 0, 0 };

	if (!evtimer_pending(r->done, NULL))
		evtimer_add(r->done, &tv);
}

static void
done_cb(int fd, short what, void *arg)
{
	struct zring *r = arg;

	(void)fd;
	(void)what;
	if (eventfd_write(r->dfd, 1) < 0)
		log_warn("%s: eventfd write", __func__);
}

/* rfree.c's answer for the remote entry number tag. */
static void
outcome_cb(void *arg, uint32_t tag, const struct segerr *e)
{
	struct zring *r = arg;

	r->pending--;
	if (r->c != NULL) {
		zring_set_status(r->mem, tag, ZRING_DONE |
		    (e != NULL ? status_of(r, tag + 1, e) : 0));
		done_kick(r);
		if (r->stalled) {	/* room again: drained again */
			r->stalled = 0;
			if (eventfd_write(r->efd, 1) < 0)
				log_warn("%s: eventfd write", __func__);
		}
	}
	zring_put_ref(r);	/* the outcome's */
}

/* Validate and apply one batch of n addresses: 0, or -1 with e. */
static int
batch_do(struct zring *r, const uint64_t *addrs, uint32_t n, int ended,
    uint32_t avail, struct segerr *e)
{
	struct segment *s;

	if (!ended && n < avail)
		return seterr(e, E2BIG, "a batch of more than %d addresses",
		    ZRING_BATCH_MAX);
	if (!ended)
		return seterr(e, EINVAL, "a batch not ended within the ring");
	if ((s = ns_find_range(&r->sd->ns, addrs[0], 1)) == NULL)
		return seterr(e, EINVAL, "address 0x%llx is not in any segment",
		    (unsigned long long)addrs[0]);
	return zio_free_local(r->sd, s, addrs, (int)n, client_cred(r->c), e);
}

/* The asynchronous entry r->cons: its status now (ZRING_DONE with its
 * outcome, or 0: rfree.c answers later); *ok counts those taken. */
static uint32_t
async_take(struct zring *r, const struct zring_ent *ent, uint32_t *ok)
{
	struct segerr e = { 0, "" };
	uint32_t i = r->cons;
	struct rimp *imp;

	if (ent->flags & ZRING_MORE)
		seterr(&e, EINVAL, "an asynchronous return is a batch of one");
	else if (!(ent->flags & ZRING_REMOTE)) {
		if (batch_do(r, &ent->addr, 1, 1, 1, &e) == 0) {
			(*ok)++;
			done_kick(r);
			return ZRING_DONE;
		}
	} else if ((imp = import_rimp(r->c, zring_status(r->mem, i), &e)) !=
	    NULL && rfree_add(r->sd, imp, ent->addr, outcome_cb, r, i, &e) ==
	    0) {
		r->refs++;	/* the outcome's */
		r->pending++;
		(*ok)++;
		return 0;
	}
	done_kick(r);
	return ZRING_DONE | status_of(r, i + 1, &e);
}

/* One batch from entry r->cons, at most avail entries: its length;
 * *ok counts the batches applied. */
static uint32_t
batch_apply(struct zring *r, uint32_t avail, uint32_t *ok)
{
	static uint64_t addrs[ZRING_BATCH_MAX];
	struct segerr e = { 0, "" };
	struct zring_ent ent;
	uint32_t n = 0, i, st;

	zring_get(r->mem, r->cons, &ent);
	if (ent.flags & ZRING_ASYNC) {
		zring_set_status(r->mem, r->cons, async_take(r, &ent, ok));
		return 1;
	}
	do {
		zring_get(r->mem, r->cons + n, &ent);
		addrs[n++] = ent.addr;
	} while ((ent.flags & ZRING_MORE) && n < avail && n < ZRING_BATCH_MAX);
	st = 0;
	if (batch_do(r, addrs, n, !(ent.flags & ZRING_MORE), avail, &e) < 0)
		st = status_of(r, r->cons + n, &e);
	else
		(*ok)++;
	for (i = 0; i < n; i++)
		zring_set_status(r->mem, r->cons + i, st);
	return n;
}

static void
drain_cb(int fd, short what, void *arg)
{
	struct zring *r = arg;
	uint32_t avail, done = 0, ok = 0;
	uint64_t v;

	(void)what;
	if (read(fd, &v, sizeof v) < 0 && errno != EAGAIN)
		log_warn("%s: eventfd read", __func__);
	for (;;) {
		avail = zring_prod(r->mem) - r->cons;
		if (avail > ZRING_NSLOTS) {
			ring_break(r, "its producer index is past the ring");
			return;
		}
		if (r->pending >= ZRING_NSLOTS) {
			r->stalled = 1;	/* drained again when one came */
			avail = 0;
		}
		if (avail == 0 || done >= ZRING_BUDGET)
			break;
		while (avail > 0 && done < ZRING_BUDGET &&
		    r->pending < ZRING_NSLOTS) {
			uint32_t n = batch_apply(r, avail, &ok);
			r->cons += n;
			avail -= n;
			done += n;
		}
		/* told before prod is read again: a client that then finds
		 * the ring empty kicks the eventfd (zring.h) */
		zring_set_cons(r->mem, r->cons);
	}
	wake_waiters(r);
	/* the budget is spent: readable again, so the loop comes back to it
	 * after the turns of every other ready descriptor */
	if (avail > 0 && eventfd_write(fd, 1) < 0)
		log_warn("%s: eventfd write", __func__);
	if (done > 0 && ok == 0) {
		/* nothing but refusals: garbage, or a flood of it; the ring
		 * waits a while, so it costs the others little */
		struct timeval tv = { 0, ZRING_PAUSE_US };
		event_del(r->ev);
		evtimer_add(r->pause, &tv);
	}
}

static void
pause_cb(int fd, short what, void *arg)
{
	struct zring *r = arg;

	(void)fd;
	(void)what;
	if (event_add(r->ev, NULL) < 0)	/* readable if kicked meanwhile */
		log_warnx("%s: event_add failed", __func__);
}

/* The client's ring, made on its first request; NULL with e. */
static struct zring *
zring_get_or_make(struct segd *sd, struct client *c, struct segerr *e)
{
	void **slot = client_slot(c, CLIENT_ZRING);
	struct zring *r = *slot;

	if (r != NULL)
		return r;
	if ((r = calloc(1, sizeof *r)) == NULL) {
		seterr(e, ENOMEM, "out of memory");
		return NULL;
	}
	r->sd = sd;
	r->c = c;
	r->refs = 1;		/* the client's */
	r->efd = r->dfd = -1;
	if ((r->memfd = memfd_create("segd-zring", MFD_CLOEXEC |
	    MFD_ALLOW_SEALING)) < 0) {
		seterr(e, errno, "memfd_create: %s", strerror(errno));
		goto fail;
	}
	if (ftruncate(r->memfd, ZRING_SIZE) < 0 ||
	    fcntl(r->memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_SEAL) < 0) {
		seterr(e, errno, "free ring: %s", strerror(errno));
		goto fail;
	}
	r->mem = mmap(NULL, ZRING_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
	    r->memfd, 0);
	if (r->mem == MAP_FAILED) {
		r->mem = NULL;
		seterr(e, errno, "mmap: %s", strerror(errno));
		goto fail;
	}
	zring_init(r->mem);
	if ((r->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0 ||
	    (r->dfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		seterr(e, errno, "eventfd: %s", strerror(errno));
		goto fail;
	}
	r->ev = event_new(sd->base, r->efd, EV_READ | EV_PERSIST, drain_cb, r);
	r->pause = evtimer_new(sd->base, pause_cb, r);
	r->done = evtimer_new(sd->base, done_cb, r);
	if (r->ev == NULL || r->pause == NULL || r->done == NULL ||
	    event_add(r->ev, NULL) < 0) {
		seterr(e, ENOMEM, "event_new failed");
		goto fail;
	}
	*slot = r;
	return r;
fail:
	zring_free(r);
	return NULL;
}

/* SEGW_ZRING: a descriptor of the client's ring. */
void
zring_request(struct segd *sd, struct client *c, uint16_t op,
    const struct segw_req *req)
{
	struct segerr e = { 0, "" };
	struct zring *r;
	int fd;

	if (req->arg != SEGW_ZRING_MEM && req->arg != SEGW_ZRING_KICK &&
	    req->arg != SEGW_ZRING_DONE)
		seterr(&e, EINVAL, "no free ring descriptor %u", req->arg);
	else if ((r = zring_get_or_make(sd, c, &e)) == NULL)
		;
	else if ((fd = dup(req->arg == SEGW_ZRING_MEM ? r->memfd :
	    req->arg == SEGW_ZRING_KICK ? r->efd : r->dfd)) < 0)
		seterr(&e, errno, "dup: %s", strerror(errno));
	else {
		client_reply(c, op, NULL, NULL, 0, fd);
		return;
	}
	client_reply_err(c, op, &e);
}

/*
 * The client went away: its ring with it (what it held is not returned),
 * once the remote outcomes to come have come (nobody reads them).
 */
void
zring_client_gone(struct client *c)
{
	void **slot = client_slot(c, CLIENT_ZRING);
	struct zring *r = *slot;

	*slot = NULL;
	if (r == NULL)
		return;
	r->c = NULL;
	event_del(r->ev);
	event_del(r->pause);
	event_del(r->done);
	zring_put_ref(r);	/* the client's */
}
