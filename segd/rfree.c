/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * rfree.c: remote returns coalesced (docs/design.md, "Coalesced and
 * asynchronous returns").  The asynchronous remote frees of every local
 * client, bound for one segment of one exporter, go into one queue and
 * leave as FREE messages of up to SEGP_FREE_MAX addresses, through
 * rseg_free() below.
 *
 * A queue's open batch goes when it is full; when the loop has nothing
 * else to do (an event of SEGD_PRIO_IDLE: it runs in no turn where another
 * is ready, so a client's free ring that is still being drained, a turn's
 * budget at a time, fills the batch first); and at the latest
 * RFREE_DELAY_US after its first address, should the loop never go idle.
 * At most RFREE_INFLIGHT FREEs of a queue are in flight: while that many
 * are, the open batch goes on filling, and an answer arms its flushes
 * again.
 *
 * The owner applies a FREE all or nothing.  A refused batch of more than
 * one address is sent again address by address, so that every address
 * gets its own verdict (a double free of one client refuses no other's).
 * A batch whose connection was lost, or whose deadline passed, is in
 * doubt (rseg_free.c): the queue keeps it whole, imports the segment again if
 * its connection went, and sends it again, the same addresses in one
 * FREE, so that it has the same batch number and an owner that applied it
 * acknowledges it without applying it twice.  It
 * tries until RFREE_DEADLINES of segd's deadlines from the batch's first
 * send, and reports then that it may have been applied.
 */
#include <sys/queue.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "segd.h"

#define RFREE_DELAY_US  200	/* a partial batch waits at most this */
#define RFREE_INFLIGHT  4	/* FREEs of a queue in flight */
#define RFREE_DEADLINES 8	/* a lost batch is sent again for this long:
				 * less than rseg_free.c keeps it in doubt,
				 * so each resend has the same number */
#define RFREE_PAUSE_MS  50	/* between tries to import again */

struct rfwait {
	rfree_cb  cb;
	void     *arg;
	uint32_t  tag;
};

struct rfbatch {
	TAILQ_ENTRY(rfbatch) entry;
	struct rfq   *q;
	uint32_t      n;
	long long     end;	/* ms, monotonic: tries end (0: not sent) */
	uint64_t      addrs[SEGP_FREE_MAX];
	struct rfwait w[SEGP_FREE_MAX];
};

/* One exporter's segment: its queue. */
struct rfq {
	LIST_ENTRY(rfq) entry;
	struct segd    *sd;
	struct rimp    *imp;	/* held (the queue's reference); NULL while
				 * imported again */
	char            where[INET6_ADDRSTRLEN + 8];
	char            name[SEG_NAMEMAX + 1];
	char            label[128];
	struct rfbatch *open;	/* filling; NULL: none */
	TAILQ_HEAD(, rfbatch) ready;	/* to be sent, lost ones first */
	unsigned        inflight;
	int             importing;	/* rseg_import() will call back */
	struct event   *idle;	/* the open batch's flush: loop idle */
	struct event   *timer;	/* its flush at the latest */
	struct event   *retry;	/* the next try to import again */
};

static LIST_HEAD(, rfq) queues = LIST_HEAD_INITIALIZER(queues);

static void q_pump(struct rfq *);

/* The open batch's flushes: once the loop is idle, and at the latest. */
static void
q_arm(struct rfq *q)
{
	struct timeval now = { 0, 0 }, late = { 0, RFREE_DELAY_US };

	evtimer_add(q->idle, &now);
	if (!evtimer_pending(q->timer, NULL))
		evtimer_add(q->timer, &late);
}

/* The open batch, if any, is ready to go: its flush timer is moot. */
static void
q_seal(struct rfq *q)
{
	if (q->open == NULL)
		return;
	TAILQ_INSERT_TAIL(&q->ready, q->open, entry);
	q->open = NULL;
	evtimer_del(q->idle);
	evtimer_del(q->timer);
}

static void
batch_end(struct rfbatch *b, uint32_t i, const struct segerr *e)
{
	b->w[i].cb(b->w[i].arg, b->w[i].tag, e);
}

/* Every address of b has its outcome: e (NULL: applied). */
static void
batch_finish(struct rfbatch *b, const struct segerr *e)
{
	uint32_t i;

	for (i = 0; i < b->n; i++)
		batch_end(b, i, e);
	free(b);
}

static void
q_free_if_idle(struct rfq *q)
{
	if (q->open != NULL || !TAILQ_EMPTY(&q->ready) || q->inflight > 0 ||
	    q->importing)
		return;
	LIST_REMOVE(q, entry);
	event_free(q->idle);
	event_free(q->timer);
	event_free(q->retry);
	if (q->imp != NULL)
		rseg_put(q->imp);	/* the queue's */
	free(q);
}

/* A refused batch: each address alone again, for its own verdict. */
static void
batch_split(struct rfbatch *b)
{
	struct rfq *q = b->q;
	struct rfbatch *one;
	uint32_t i;

	for (i = b->n; i-- > 0; ) {
		if ((one = calloc(1, sizeof *one)) == NULL) {
			struct segerr e;
			seterr(&e, ENOMEM, "out of memory: the return of "
			    "0x%llx was not sent",
			    (unsigned long long)b->addrs[i]);
			batch_end(b, i, &e);
			continue;
		}
		one->q = q;
		one->n = 1;
		one->addrs[0] = b->addrs[i];
		one->w[0] = b->w[i];
		TAILQ_INSERT_HEAD(&q->ready, one, entry);
	}
	free(b);
}

/* A lost batch: kept whole, first to go over the import made again. */
static void
batch_lost(struct rfbatch *b, const struct segerr *e)
{
	struct rfq *q = b->q;
	struct segerr e2;

	if (seg_now_ms() >= b->end) {
		seterr(&e2, ETIMEDOUT, "%s; the return of these addresses to "
		    "node %s may have been applied, it was tried for %u ms",
		    e->msg, q->label, q->sd->deadline_ms * RFREE_DEADLINES);
		batch_finish(b, &e2);
		return;
	}
	TAILQ_INSERT_HEAD(&q->ready, b, entry);
	if (q->imp != NULL && rseg_usable(q->imp, &e2) < 0) {
		rseg_put(q->imp);	/* the queue's: its connection went */
		q->imp = NULL;
	}
}

static void
sent_cb(void *arg, const struct segerr *e)
{
	struct rfbatch *b = arg;
	struct rfq *q = b->q;

	q->inflight--;
	if (q->open != NULL)	/* it may go now: when the loop is idle */
		q_arm(q);
	if (e == NULL)
		batch_finish(b, NULL);
	else if (e->code == ENOTCONN || e->code == ETIMEDOUT)
		batch_lost(b, e);	/* in doubt: sent again whole */
	else if (b->n > 1)
		batch_split(b);
	else
		batch_finish(b, e);
	q_pump(q);
}

static void
imported_cb(void *arg, struct rimp *imp, const struct segerr *e)
{
	struct rfq *q = arg;
	struct timeval tv = { 0, RFREE_PAUSE_MS * 1000 };

	q->importing = 0;
	if (e != NULL) {
		log_warnx("%s: '%s' on node %s: %s", __func__, q->name,
		    q->label, e->msg);
		evtimer_add(q->retry, &tv);
		return;
	}
	if (q->imp != NULL)
		rseg_put(q->imp);	/* the queue's, now the new one's */
	q->imp = imp;		/* takes the callback's reference */
	q_pump(q);
}

/* The queue has no usable import: import the segment again. */
static void
q_reimport(struct rfq *q)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *why;
	struct segerr e;
	struct peer *p;
	uint16_t port;

	if (q->importing || evtimer_pending(q->retry, NULL))
		return;
	if (seg_parse_hostport(q->where, host, sizeof host, &port, SEGP_PORT,
	    &why) < 0) {
		seterr(&e, EINVAL, "%s", why);
		p = NULL;
	} else
		p = peer_get(q->sd, host, port, q->label, &e);
	if (p == NULL) {
		struct timeval tv = { 0, RFREE_PAUSE_MS * 1000 };
		log_warnx("%s: node %s: %s", __func__, q->label, e.msg);
		evtimer_add(q->retry, &tv);
		return;
	}
	q->importing = 1;
	rseg_import(q->sd, p, q->label, q->name, imported_cb, q);
}

/* Send what is ready, as far as the queue may. */
static void
q_pump(struct rfq *q)
{
	struct rfbatch *b, *t;
	struct segerr e;

	/* the lost ones may wait past their end: fail them now */
	for (b = TAILQ_FIRST(&q->ready); b != NULL; b = t) {
		t = TAILQ_NEXT(b, entry);
		if (b->end != 0 && seg_now_ms() >= b->end) {
			TAILQ_REMOVE(&q->ready, b, entry);
			seterr(&e, ENOTCONN, "connection to peer %s lost",
			    q->label);
			batch_lost(b, &e);	/* fails it: past its end */
		}
	}
	while ((b = TAILQ_FIRST(&q->ready)) != NULL &&
	    q->inflight < RFREE_INFLIGHT) {
		if (q->imp == NULL || rseg_usable(q->imp, &e) < 0) {
			if (q->imp != NULL && e.code != ENOTCONN) {
				TAILQ_REMOVE(&q->ready, b, entry);
				batch_finish(b, &e);	/* revoked */
				continue;
			}
			if (q->imp != NULL) {
				rseg_put(q->imp);	/* the queue's */
				q->imp = NULL;
			}
			q_reimport(q);
			return;
		}
		TAILQ_REMOVE(&q->ready, b, entry);
		if (b->end == 0)
			b->end = seg_now_ms() + (long long)q->sd->deadline_ms *
			    RFREE_DEADLINES;
		if (rseg_free(q->imp, b->addrs, b->n, sent_cb, b, &e) < 0) {
			batch_finish(b, &e);
			continue;
		}
		q->inflight++;
	}
	q_free_if_idle(q);
}

static void
timer_cb(int fd, short what, void *arg)
{
	struct rfq *q = arg;

	(void)fd;
	(void)what;
	if (q->inflight >= RFREE_INFLIGHT)
		return;		/* it fills on: an answer arms it again */
	q_seal(q);
	q_pump(q);
}

static void
retry_cb(int fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	q_pump(arg);
}

/* The queue of imp's segment, made if need be; NULL with e. */
static struct rfq *
q_get(struct segd *sd, struct rimp *imp, struct segerr *e)
{
	struct rfq *q;

	LIST_FOREACH(q, &queues, entry)
		if (strcmp(q->where, imp->where) == 0 &&
		    strcmp(q->name, imp->name) == 0)
			return q;
	if ((q = calloc(1, sizeof *q)) == NULL) {
		seterr(e, ENOMEM, "out of memory");
		return NULL;
	}
	q->idle = evtimer_new(sd->base, timer_cb, q);
	q->timer = evtimer_new(sd->base, timer_cb, q);
	q->retry = evtimer_new(sd->base, retry_cb, q);
	if (q->idle == NULL || q->timer == NULL || q->retry == NULL ||
	    event_priority_set(q->idle, SEGD_PRIO_IDLE) < 0) {
		if (q->idle != NULL)
			event_free(q->idle);
		if (q->timer != NULL)
			event_free(q->timer);
		if (q->retry != NULL)
			event_free(q->retry);
		free(q);
		seterr(e, ENOMEM, "cannot make the queue's events");
		return NULL;
	}
	q->sd = sd;
	snprintf(q->where, sizeof q->where, "%s", imp->where);
	snprintf(q->name, sizeof q->name, "%s", imp->name);
	snprintf(q->label, sizeof q->label, "%s", imp->label);
	TAILQ_INIT(&q->ready);
	LIST_INSERT_HEAD(&queues, q, entry);
	return q;
}

/*
 * Return addr, a buffer of imp's segment, to its owner, coalesced with
 * the other returns to it: 0 and cb(arg, tag, outcome) later, or -1 with
 * e (nothing is queued).
 */
int
rfree_add(struct segd *sd, struct rimp *imp, uint64_t addr, rfree_cb cb,
    void *arg, uint32_t tag, struct segerr *e)
{
	struct segerr e2;
	struct rfq *q;
	struct rfbatch *b;

	if (imp->revoked)
		return rseg_usable(imp, e);
	if ((q = q_get(sd, imp, e)) == NULL)
		return -1;
	if ((b = q->open) == NULL &&
	    (b = q->open = calloc(1, sizeof *b)) == NULL) {
		q_free_if_idle(q);
		return seterr(e, ENOMEM, "out of memory");
	}
	if (q->imp == NULL && !q->importing && TAILQ_EMPTY(&q->ready) &&
	    rseg_usable(imp, &e2) == 0) {
		rseg_hold(imp);		/* the queue's reference */
		q->imp = imp;
	}
	b->q = q;
	b->addrs[b->n] = addr;
	b->w[b->n].cb = cb;
	b->w[b->n].arg = arg;
	b->w[b->n].tag = tag;
	if (++b->n == SEGP_FREE_MAX) {
		q_seal(q);
		q_pump(q);
	} else if (b->n == 1) {
		q_arm(q);
	}
	return 0;
}
