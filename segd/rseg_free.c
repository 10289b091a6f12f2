/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * rseg_free.c: remote free and signal: one message, acknowledged.  A FREE
 * returns buffers of an imported zero-copy segment to its owner; a FREE
 * whose answer was lost is remembered as in doubt, so that returning the
 * same addresses again is the same batch (below).  A SIGNAL wakes the
 * owner's waiters.
 *
 * It sits on rseg.c (the imports, their counts) and rop.c.
 */
#include <sys/random.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segd.h"

#define DOUBT_MAX       64		/* FREE batches in doubt remembered */
#define DOUBT_DEADLINES 10		/* ... for this many deadlines */

/*
 * Every FREE carries a batch number; the owner remembers the numbers of
 * the batches it applied, per sender node.  A FREE whose answer was lost
 * (the connection went, or the deadline passed) is in doubt: it may have
 * been applied.  Its batch is remembered here (exporter, segment and
 * addresses; for DOUBT_DEADLINES deadlines, the oldest of DOUBT_MAX
 * forgotten sooner), not for ever: the same addresses freed much later
 * are buffers used again, a new batch.  When the caller returns
 * the same addresses again -- libseg does at once after a lost connection
 * (ENOTCONN), an application after a deadline -- that FREE gets the same
 * number, and an owner that applied it acknowledges it without applying
 * it twice.
 */
static struct doubt {
	char      where[INET6_ADDRSTRLEN + 8];
	char      name[SEG_NAMEMAX + 1];
	uint32_t  seq, n;
	uint64_t *addrs;	/* NULL: a free slot */
	long long expires;	/* ms, monotonic */
} doubts[DOUBT_MAX];
static unsigned doubt_ms;	/* how long a batch stays in doubt */
static unsigned doubt_next;
static uint32_t free_seq;	/* the last batch number given */

/* The batch in doubt of imp's segment with these addresses; NULL: none. */
static struct doubt *
doubt_find(const struct rimp *imp, const uint64_t *addrs, uint32_t n)
{
	unsigned i;

	for (i = 0; i < DOUBT_MAX; i++)
		if (doubts[i].addrs != NULL && doubts[i].n == n &&
		    doubts[i].expires > seg_now_ms() &&
		    strcmp(doubts[i].where, imp->where) == 0 &&
		    strcmp(doubts[i].name, imp->name) == 0 &&
		    memcmp(doubts[i].addrs, addrs, n * sizeof *addrs) == 0)
			return &doubts[i];
	return NULL;
}

static void
doubt_clear(struct doubt *d)
{
	free(d->addrs);
	d->addrs = NULL;
}

/* The batch number of a FREE: its own again if it is the one in doubt. */
static uint32_t
batch_seq(const struct rimp *imp, const uint64_t *addrs, uint32_t n)
{
	struct doubt *d = doubt_find(imp, addrs, n);

	if (d != NULL)
		return d->seq;
	if (free_seq == 0 && getrandom(&free_seq, sizeof free_seq, 0) !=
	    sizeof free_seq)	/* differs across restarts: only 0 is none */
		free_seq = (uint32_t)pstat_now();
	if (++free_seq == 0)
		free_seq = 1;
	return free_seq;
}

/* A FREE without an answer: in doubt (the oldest forgotten if need be). */
static void
doubt_add(const struct rimp *imp, const struct segp_free *f)
{
	struct doubt *d = doubt_find(imp, f->addrs, f->n);
	uint64_t *a;
	unsigned i;

	if ((a = malloc(f->n * sizeof *a)) == NULL) {
		log_warnx("%s: out of memory: a retry of batch %u to node %s may "
		    "be refused as a double free", __func__, f->seq, imp->label);
		return;
	}
	for (i = 0; d == NULL && i < DOUBT_MAX; i++)
		if (doubts[i].addrs == NULL ||
		    doubts[i].expires <= seg_now_ms())
			d = &doubts[i];
	if (d == NULL)
		d = &doubts[doubt_next++ % DOUBT_MAX];
	doubt_clear(d);
	snprintf(d->where, sizeof d->where, "%s", imp->where);
	snprintf(d->name, sizeof d->name, "%s", imp->name);
	memcpy(a, f->addrs, f->n * sizeof *a);
	d->addrs = a;
	d->n = f->n;
	d->seq = f->seq;
	d->expires = seg_now_ms() + doubt_ms;
}

/* An answer came: the batch is no longer in doubt. */
static void
doubt_settle(const struct rimp *imp, const struct segp_free *f)
{
	struct doubt *d = doubt_find(imp, f->addrs, f->n);

	if (d != NULL && d->seq == f->seq)
		doubt_clear(d);
}

struct nop {
	struct rop     rop;
	struct rimp   *imp;	/* held */
	rseg_done_cb   cb;
	void          *arg;
	uint16_t       type;
	uint64_t       t0;
	union segp_msg m;
};

static int
n_start(struct rop *r)
{
	struct nop *o = (struct nop *)r;

	rop_send(r, o->type, &o->m);
	return 0;
}

static void
n_finish(struct nop *o, const struct segerr *e)
{
	if (o->type == SEGP_FREE)
		rseg_count_op(NULL, o->imp->node, o->imp->label, PSO_FREE,
		    o->m.free.n, o->t0, e == NULL);
	else
		rseg_count_op(NULL, o->imp->node, o->imp->label, PSO_SIGNAL, 0,
		    o->t0, e == NULL);
	o->cb(o->arg, e);
	rseg_put(o->imp);	/* the message's */
	free(o);
}

static void
n_fail(struct rop *r, int code, const char *msg)
{
	struct nop *o = (struct nop *)r;
	struct segerr e;

	if (o->type != SEGP_FREE) {
		seterr(&e, code, "%s", msg);
		n_finish(o, &e);
		return;
	}
	/*
	 * In doubt: the caller may return the same addresses again.  A lost
	 * connection says ENOTCONN, so libseg imports again and does, until
	 * the import's deadline; a deadline that passed is spent: no retry
	 * behind the caller's back.
	 */
	doubt_add(o->imp, &o->m.free);
	seterr(&e, code == ETIMEDOUT ? code : ENOTCONN, "%s; the free of batch "
	    "%u may have been applied: return the same addresses again", msg,
	    o->m.free.seq);
	n_finish(o, &e);
}

static void
n_reply(struct rop *r, uint16_t type, const union segp_msg *m)
{
	struct nop *o = (struct nop *)r;
	struct segerr e;

	rop_done(r);
	if (o->type == SEGP_FREE)
		doubt_settle(o->imp, &o->m.free);
	if (type == SEGP_ACK) {
		n_finish(o, NULL);
		return;
	}
	rseg_reply_error(&e, type, m, o->imp->label);
	n_finish(o, &e);
}

static const struct rop_ops n_ops = { n_start, n_reply, n_fail };

static int
notify(struct rimp *imp, uint16_t type, const uint64_t *addrs, uint32_t n,
    rseg_done_cb cb, void *arg, struct segerr *e)
{
	struct nop *o;

	if (rseg_usable(imp, e) < 0)
		return -1;
	if (type == SEGP_FREE && (n == 0 || n > SEGP_FREE_MAX))
		return seterr(e, EINVAL, "a remote free takes 1 to %d "
		    "addresses", SEGP_FREE_MAX);
	if ((o = calloc(1, sizeof *o)) == NULL)
		return seterr(e, ENOMEM, "out of memory");
	o->imp = imp;
	rseg_hold(imp);		/* the message's reference */
	o->cb = cb;
	o->arg = arg;
	o->type = type;
	if (type == SEGP_FREE) {
		o->m.free.id = imp->id;
		o->m.free.n = n;
		o->m.free.seq = batch_seq(imp, addrs, n);
		memcpy(o->m.free.addrs, addrs, n * sizeof *addrs);
	} else
		o->m.id = imp->id;
	o->t0 = pstat_now();
	rop_submit(imp->peer, &o->rop, &n_ops);
	return 0;
}

/* Return buffers of an imported zero-copy segment to its owner. */
int
rseg_free(struct rimp *imp, const uint64_t *addrs, uint32_t n,
    rseg_done_cb cb, void *arg, struct segerr *e)
{
	return notify(imp, SEGP_FREE, addrs, n, cb, arg, e);
}

int
rseg_signal(struct rimp *imp, rseg_done_cb cb, void *arg, struct segerr *e)
{
	return notify(imp, SEGP_SIGNAL, NULL, 0, cb, arg, e);
}

/* How long a FREE batch stays in doubt: DOUBT_DEADLINES of segd's deadline. */
void
rseg_free_init(struct segd *sd)
{
	doubt_ms = sd->deadline_ms * DOUBT_DEADLINES;
}
