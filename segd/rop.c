/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * rop.c: remote operations on a peer's connection.  A rop is a request
 * message awaiting its tagged reply, or rounds of RDMA work requests; each
 * has a deadline that bounds every step.  A peer that misses it is closed,
 * since posted work requests cannot be taken back, and every operation on
 * the connection fails with a message naming the peer.
 *
 * rop.c sits on peer.c and peer_msg.c: the replies (LIST_REP, IMPORT_REP,
 * ERROR, ACK) come through the handlers it registers, a posted round's
 * completion through the round handler, a connection's end and room on
 * its send queue through its observers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <infiniband/verbs.h>

#include "segd.h"

/* A peer's operations: its rop state (peer_rops), made on first use. */
struct ropq {
	TAILQ_HEAD(, rop) waiting;	/* for ready, or send-queue room */
	TAILQ_HEAD(, rop) active;	/* request sent, or round posted */
	uint32_t          next_tag;
};

static struct ropq *
ropq(struct peer *p)
{
	void **slot = peer_rops(p);
	struct ropq *q = *slot;

	if (q == NULL && (q = calloc(1, sizeof *q)) != NULL) {
		TAILQ_INIT(&q->waiting);
		TAILQ_INIT(&q->active);
		q->next_tag = 1;
		*slot = q;
	}
	return q;
}

static void
deadline(struct peer *p, struct timeval *tv)
{
	unsigned ms = peer_segd(p)->deadline_ms;

	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
}

static void
unlink_rop(struct rop *r)
{
	struct ropq *q = *peer_rops(r->peer);

	if (r->active)
		TAILQ_REMOVE(&q->active, r, entry);
	else
		TAILQ_REMOVE(&q->waiting, r, entry);
	if (r->timer != NULL)
		event_free(r->timer);
	r->timer = NULL;
}

static void
fail_rop(struct rop *r, int code, const char *msg)
{
	struct peer *p = r->peer;

	unlink_rop(r);
	r->peer = NULL;
	r->ops->fail(r, code, msg);	/* the owner may free r */
	peer_put(p);			/* the rop's reference */
}

static void
rop_rearm(struct rop *r)
{
	struct timeval tv;

	deadline(r->peer, &tv);
	if (r->timer != NULL)
		evtimer_add(r->timer, &tv);
}

static void
rop_timeout_cb(int fd, short ev, void *arg)
{
	struct rop *r = arg;
	struct peer *p = r->peer;

	(void)fd;
	(void)ev;
	/* work requests cannot be taken back: the connection goes */
	peer_fail(p, ETIMEDOUT, "peer %s did not answer within %u ms",
	    peer_label(p), peer_segd(p)->deadline_ms);
}

/* Start waiting operations while the peer is ready and has room. */
static void
rop_kick(void *arg, struct peer *p)
{
	struct ropq *q = *peer_rops(p);
	struct rop *r, *next;

	(void)arg;
	if (q == NULL)
		return;
	for (r = TAILQ_FIRST(&q->waiting); r && peer_ready_now(p); r = next) {
		next = TAILQ_NEXT(r, entry);
		if (r->ops->start(r) == 1)
			break;	/* no send-queue room: keep the order */
	}
}

/* Start r on p when it is ready; its deadline runs from now. */
void
rop_submit(struct peer *p, struct rop *r, const struct rop_ops *ops)
{
	struct ropq *q = ropq(p);
	struct timeval tv;
	const char *why;
	int code;

	r->ops = ops;
	r->tag = 0;
	r->round = 0;
	r->active = 0;
	r->peer = NULL;
	if (q == NULL) {
		ops->fail(r, ENOMEM, "out of memory");
		return;
	}
	r->peer = p;
	peer_hold(p);		/* the rop's reference */
	TAILQ_INSERT_TAIL(&q->waiting, r, entry);
	r->timer = evtimer_new(peer_segd(p)->base, rop_timeout_cb, r);
	if (r->timer == NULL) {
		fail_rop(r, ENOMEM, "out of memory");
		return;
	}
	deadline(p, &tv);
	evtimer_add(r->timer, &tv);
	if (!peer_alive(p)) {
		why = peer_why(p, &code);
		fail_rop(r, code ? code : ECONNRESET, why);
		return;
	}
	rop_kick(NULL, p);
}

static void
rop_move(struct rop *r, int active)
{
	struct ropq *q = *peer_rops(r->peer);

	if (r->active == active)
		return;
	if (active) {
		TAILQ_REMOVE(&q->waiting, r, entry);
		TAILQ_INSERT_TAIL(&q->active, r, entry);
	} else {
		TAILQ_REMOVE(&q->active, r, entry);
		TAILQ_INSERT_TAIL(&q->waiting, r, entry);
	}
	r->active = active;
}

/* Send r's request message; its reply comes to ops->reply. */
void
rop_send(struct rop *r, uint16_t type, const union segp_msg *m)
{
	struct ropq *q = *peer_rops(r->peer);

	r->tag = q->next_tag++;
	if (q->next_tag == 0)
		q->next_tag = 1;
	rop_move(r, 1);
	peer_send(r->peer, type, r->tag, m);
}

/*
 * Post a round of n work requests; ops->start runs again when it
 * completes.  1 if the send queue has no room now (r waits and ops->start
 * runs again later), -1 if the post failed (the peer closed, r failed).
 */
int
rop_post(struct rop *r, struct ibv_send_wr *wr, unsigned n)
{
	if (!peer_room(r->peer, n)) {
		rop_move(r, 0);
		return 1;
	}
	rop_move(r, 1);
	r->round = n;
	return peer_post(r->peer, wr, n, r);
}

/* The owner is finished with r (no round in flight). */
void
rop_done(struct rop *r)
{
	struct peer *p = r->peer;

	if (p == NULL)
		return;
	unlink_rop(r);
	r->peer = NULL;
	peer_put(p);		/* the rop's reference */
}

/* A round completed: its send-queue slots; the next round, if it went well. */
static unsigned
rop_round(void *ctx, struct peer *p, int ok)
{
	struct rop *r = ctx;
	unsigned n = r->round;

	(void)p;
	r->round = 0;
	rop_rearm(r);	/* the deadline bounds each step, not the whole */
	if (ok)
		(void)r->ops->start(r);	/* next round, or done */
	return n;	/* when not ok, peer.c closes and r fails */
}

/* A reply: to the rop whose tag it carries. */
static void
rop_reply(void *arg, struct peer *p, uint32_t tag, const union segp_msg *m)
{
	struct ropq *q = *peer_rops(p);
	struct rop *r = NULL;

	if (q != NULL)
		TAILQ_FOREACH(r, &q->active, entry)
			if (r->tag == tag)
				break;
	if (r == NULL) {
		log_debug("%s: peer %s: reply for no request (tag %u)",
		    __func__, peer_label(p), tag);
		return;
	}
	r->ops->reply(r, (uint16_t)(uintptr_t)arg, m);
}

/* The connection ended: every operation on it fails. */
static void
rop_gone(void *arg, struct peer *p)
{
	void **slot = peer_rops(p);
	struct ropq *q = *slot;
	struct rop *r;
	const char *why;
	int code;

	(void)arg;
	if (q == NULL)
		return;
	why = peer_why(p, &code);
	while ((r = TAILQ_FIRST(&q->active)) != NULL ||
	    (r = TAILQ_FIRST(&q->waiting)) != NULL)
		fail_rop(r, code, why);
	free(q);
	*slot = NULL;
}

/* Operations wait on p: their deadlines, not the heartbeat, judge it. */
static int
rop_busy(struct peer *p)
{
	struct ropq *q = *peer_rops(p);

	return q != NULL && (!TAILQ_EMPTY(&q->active) ||
	    !TAILQ_EMPTY(&q->waiting));
}

/* Before every other module that observes peers: ops fail first. */
void
rop_init(void)
{
	static const uint16_t replies[] = { SEGP_LIST_REP, SEGP_IMPORT_REP,
	    SEGP_ERROR, SEGP_ACK };
	size_t i;

	for (i = 0; i < sizeof replies / sizeof replies[0]; i++)
		peer_handle(replies[i], rop_reply,
		    (void *)(uintptr_t)replies[i]);
	peer_observe_gone(rop_gone, NULL);
	peer_observe_room(rop_kick, NULL);
	peer_on_round(rop_round);
	peer_on_busy(rop_busy);
}
