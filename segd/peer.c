/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * peer.c: segd <-> segd connections.  One reliable-connected queue pair per
 * pair of nodes, made with rdma_cm on first use, carrying the messages of
 * proto/segwire.h as SENDs into pre-posted receive buffers under credit
 * flow control, and the RDMA READs and WRITEs of remote get and put.
 *
 * Each connection has its own completion queue on segd's one completion
 * channel, so tearing a connection down discards its completions with it.
 * Every remote operation (struct rop) has a deadline; a peer that misses
 * one, sends anything malformed, or goes away is closed, and every
 * operation on it fails with a message naming the peer.  An idle
 * connection has a heartbeat: a ready segd that has sent nothing for a
 * quarter of segd -H sends an empty CREDIT message, and one that has heard
 * nothing from its peer for -H closes the connection (peer_beat_cb), so a
 * dead or cut-off peer is noticed though nothing is waiting on it.
 *
 * The connections are three files, each calling only those below it:
 * peer_cm.c (rdma_cm: connect, accept, the CM event switch), peer_msg.c
 * (what arrives: completions, the HELLO/AUTH handshake, the handler
 * table), and this one: the peer table, queue pairs and their buffers,
 * the send queue under credits, posted rounds, observers, heartbeats,
 * and closing.  peer.h keeps what the three share.
 *
 * This is plumbing: a connection's end, and room for more work, go to the
 * observers modules registered.  peer.c never calls up into them by name.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#include "peer.h"

#define PEER_SQ_DEPTH  512
#define PEER_SENDQ_MAX 4096	/* messages queued for credits */
#define PEER_OBSERVERS 4	/* modules told of a connection's end */
#define PEER_BUFALIGN  4096	/* message buffers: page-aligned for the NIC */
#define PEER_BEATS     4	/* heartbeat ticks in segd -H */

const char *const peer_state_names[] = {
	"resolving", "routing", "connecting", "hello", "ready", "closed"
};

struct peerlist peers = TAILQ_HEAD_INITIALIZER(peers);
static unsigned npeers;

struct observer {
	void (*fn)(void *, struct peer *);
	void *arg;
};
static struct observer gone_obs[PEER_OBSERVERS], room_obs[PEER_OBSERVERS];
static unsigned ngone, nroom;
static int (*busy_fn)(struct peer *);

static struct ratelimit auth_rl;	/* closes for failed authentication */

static void count_sent(struct peer *, uint16_t type);

static void
observe(struct observer *obs, unsigned *n, void (*fn)(void *, struct peer *),
    void *arg)
{
	if (*n == PEER_OBSERVERS) {
		log_warnx("%s: more than %d observers", __func__, PEER_OBSERVERS);
		return;
	}
	obs[*n].fn = fn;
	obs[*n].arg = arg;
	(*n)++;
}

/* fn(arg, p) when p's connection ends, in the order of registration */
void
peer_observe_gone(void (*fn)(void *, struct peer *), void *arg)
{
	observe(gone_obs, &ngone, fn, arg);
}

/* fn(arg, p) when p is ready, or room came free on its send queue */
void
peer_observe_room(void (*fn)(void *, struct peer *), void *arg)
{
	observe(room_obs, &nroom, fn, arg);
}

/* fn(p): whether operations wait on p (the heartbeat leaves them alone) */
void
peer_on_busy(int (*fn)(struct peer *))
{
	busy_fn = fn;
}

void
peer_hold(struct peer *p)
{
	p->refs++;
}

void
peer_put(struct peer *p)
{
	if (--p->refs > 0)
		return;
	if (p->timer)
		event_free(p->timer);
	if (p->beat)
		event_free(p->beat);
	free(p);
}

/* Tear down the queue pair and buffers; the observers fail what was on it. */
void
peer_close(struct peer *p, int code, const char *fmt, ...)
{
	struct pmsg *m;
	char why[sizeof p->why];
	va_list ap;
	unsigned i;

	if (p->state == PS_CLOSED)
		return;
	va_start(ap, fmt);	/* callers may pass p->why itself: format aside */
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	memcpy(p->why, why, sizeof why);
	if (code != EACCES || log_rate(&auth_rl, 10, __func__))
		log_warnx("%s: peer %s (%s): %s", __func__, p->label,
		    p->node[0] ? p->node : "?", p->why);
	p->state = PS_CLOSED;
	if (p->st != NULL && code != ESHUTDOWN)
		p->st->conn_errors++;
	peer_hold(p);		/* until the end of this function */
	if (p->id != NULL && p->has_qp)
		rdma_disconnect(p->id);
	p->code = code;
	while ((m = TAILQ_FIRST(&p->sendq)) != NULL) {
		TAILQ_REMOVE(&p->sendq, m, entry);
		free(m);
	}
	for (i = 0; i < ngone; i++)
		gone_obs[i].fn(gone_obs[i].arg, p);
	if (p->has_qp)
		rdma_destroy_qp(p->id);
	if (p->cq)
		ibv_destroy_cq(p->cq);
	rdma_dereg(p->rmr);
	rdma_dereg(p->smr);
	free(p->rbuf);
	free(p->sbuf);
	p->rbuf = p->sbuf = NULL;
	p->rmr = p->smr = NULL;
	p->cq = NULL;
	p->has_qp = 0;
	if (p->id)
		rdma_destroy_id(p->id);
	p->id = NULL;
	if (p->timer)
		event_del(p->timer);
	if (p->beat)
		event_del(p->beat);
	TAILQ_REMOVE(&peers, p, entry);
	npeers--;
	peer_put(p);		/* the table's reference */
	peer_put(p);		/* this function's */
}

static void
connect_timeout_cb(int fd, short ev, void *arg)
{
	struct peer *p = arg;

	(void)fd;
	(void)ev;
	if (p->cut) {	/* no hello came after the disconnect */
		peer_close(p, ECONNRESET, "peer %s disconnected", p->label);
		return;
	}
	if (p->sd->auth != NULL && p->hello_in && !p->auth_in) {
		peer_close(p, EACCES, "peer authentication failed (from %s): no "
		    "proof of the cluster key within %u ms", p->addr,
		    p->sd->deadline_ms);
		return;
	}
	peer_close(p, ETIMEDOUT, "peer %s unreachable: no connection within "
	    "%u ms", p->label, p->sd->deadline_ms);
}

/* A new peer in the table; NULL with errno EAGAIN (the limit) or ENOMEM. */
struct peer *
peer_new(struct segd *sd, struct rdma_cm_id *id, int outbound)
{
	struct timeval tv = { sd->deadline_ms / 1000,
	    (sd->deadline_ms % 1000) * 1000 };
	struct peer *p;

	if (npeers >= PEER_MAX) {
		errno = EAGAIN;
		return NULL;
	}
	if ((p = calloc(1, sizeof *p)) == NULL)
		return NULL;
	p->sd = sd;
	p->id = id;
	p->outbound = outbound;
	p->refs = 1;		/* the table's */
	p->credits = SEGP_CREDITS;
	TAILQ_INIT(&p->sendq);
	p->timer = evtimer_new(sd->base, connect_timeout_cb, p);
	if (p->timer == NULL) {
		free(p);
		errno = ENOMEM;
		return NULL;
	}
	evtimer_add(p->timer, &tv);
	TAILQ_INSERT_TAIL(&peers, p, entry);
	npeers++;
	return p;
}

int
peer_post_recv(struct peer *p, int i)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)(p->rbuf + (size_t)i * SEGP_MSGSIZE),
		.length = SEGP_MSGSIZE, .lkey = p->rmr->lkey,
	};
	struct ibv_recv_wr wr = { .wr_id = ((uint64_t)i << 2) | WR_RECV,
	    .sg_list = &sge, .num_sge = 1 }, *bad;

	return ibv_post_recv(p->id->qp, &wr, &bad);
}

/* Completion queue, queue pair, buffers; receives posted. */
int
peer_setup(struct peer *p)
{
	struct rdma *rd = p->sd->rdma;
	struct ibv_qp_init_attr qa;
	size_t rsz = (size_t)SEGP_CREDITS * SEGP_MSGSIZE;
	size_t ssz = (size_t)PEER_SENDBUFS * SEGP_MSGSIZE;
	int i;

	if (p->id->verbs != rd->verbs) {
		errno = EXDEV;
		snprintf(p->why, sizeof p->why, "reached through another RDMA "
		    "device than %s", rd->devname);
		return -1;
	}
	p->cq = ibv_create_cq(rd->verbs, PEER_SQ_DEPTH + SEGP_CREDITS, p,
	    rd->comp_ch, 0);
	if (p->cq == NULL || ibv_req_notify_cq(p->cq, 0) != 0) {
		snprintf(p->why, sizeof p->why, "ibv_create_cq: %s",
		    strerror(errno));
		return -1;
	}
	memset(&qa, 0, sizeof qa);
	qa.send_cq = qa.recv_cq = p->cq;
	qa.qp_type = IBV_QPT_RC;
	qa.cap.max_send_wr = PEER_SQ_DEPTH;
	qa.cap.max_recv_wr = SEGP_CREDITS;
	qa.cap.max_send_sge = qa.cap.max_recv_sge = 1;
	if (rdma_create_qp(p->id, rd->pd, &qa) != 0) {
		snprintf(p->why, sizeof p->why, "rdma_create_qp: %s",
		    strerror(errno));
		return -1;
	}
	p->has_qp = 1;
	p->rbuf = aligned_alloc(PEER_BUFALIGN, rsz);
	p->sbuf = aligned_alloc(PEER_BUFALIGN, ssz);
	if (p->rbuf == NULL || p->sbuf == NULL) {
		snprintf(p->why, sizeof p->why, "out of memory");
		return -1;
	}
	memset(p->rbuf, 0, rsz);
	memset(p->sbuf, 0, ssz);
	p->rmr = ibv_reg_mr(rd->pd, p->rbuf, rsz, IBV_ACCESS_LOCAL_WRITE);
	p->smr = ibv_reg_mr(rd->pd, p->sbuf, ssz, IBV_ACCESS_LOCAL_WRITE);
	if (p->rmr == NULL || p->smr == NULL) {
		snprintf(p->why, sizeof p->why, "ibv_reg_mr: %s", strerror(errno));
		return -1;
	}
	for (i = 0; i < PEER_SENDBUFS; i++)
		p->sfree[p->nsfree++] = i;
	for (i = 0; i < SEGP_CREDITS; i++)
		if (peer_post_recv(p, i) != 0) {
			snprintf(p->why, sizeof p->why, "ibv_post_recv: %s",
			    strerror(errno));
			return -1;
		}
	return 0;
}

/*
 * The connect's parameters.  An outbound one (priv) says it is a segd's,
 * with a nonce and a tag when keyed; a keyed accept (priv too) carries the
 * accepting side's nonce.  -1 with p->why.
 */
int
peer_conn_param(struct peer *p, struct rdma_conn_param *cp,
    uint8_t priv[SEGP_CONNECT_MAX])
{
	struct segp_connect c = { .magic = SEGP_CONNECT_CTRL,
	    .vmin = SEGP_VERSION_MIN, .vmax = SEGP_VERSION_MAX };
	const struct auth *a = p->sd->auth;

	memset(cp, 0, sizeof *cp);
	cp->initiator_depth = (uint8_t)p->sd->rdma->max_rd_atom;
	cp->responder_resources = (uint8_t)p->sd->rdma->max_rd_atom;
	cp->retry_count = 7;
	cp->rnr_retry_count = 7;
	if (priv == NULL)
		return 0;
	cp->private_data = priv;
	if (a != NULL && auth_nonce(p->outbound ? p->cnonce : p->snonce) < 0) {
		snprintf(p->why, sizeof p->why, "getrandom: %s", strerror(errno));
		return -1;
	}
	if (a != NULL && !p->outbound) {
		cp->private_data_len = (uint8_t)segp_accept_encode(priv,
		    SEGP_CONNECT_MAX, p->snonce);
		return 0;
	}
	if (a != NULL) {
		c.magic = SEGP_CONNECT_AUTH;
		memcpy(c.nonce, p->cnonce, sizeof c.nonce);
		if (auth_connect_tag(a, &c, rdma_get_peer_addr(p->id)) < 0) {
			snprintf(p->why, sizeof p->why, "HMAC failed");
			return -1;
		}
	}
	cp->private_data_len = (uint8_t)segp_connect_encode(priv,
	    SEGP_CONNECT_MAX, &c);
	return 0;
}

/*
 * Queue a message, encoded now; it goes when a send buffer and a credit
 * are free.  A message its encoder refuses is a bug of ours: logged, and
 * not sent.
 */
void
peer_send(struct peer *p, uint16_t type, uint32_t tag,
    const union segp_msg *m)
{
	uint8_t buf[SEGP_PAYLOADMAX];
	struct pmsg *q;
	size_t len = 0;

	if (p->state == PS_CLOSED)
		return;
	if (m != NULL && (len = segp_msg_encode(buf, sizeof buf, type,
	    m)) == 0) {
		log_warnx("%s: peer %s: message of type %u refused by its "
		    "encoder", __func__, p->label, type);
		return;
	}
	if (p->nsendq >= PEER_SENDQ_MAX) {
		peer_close(p, ENOBUFS, "peer %s returns no credits; %d messages "
		    "queued", p->label, PEER_SENDQ_MAX);
		return;
	}
	if ((q = malloc(sizeof *q + len)) == NULL) {
		peer_close(p, ENOMEM, "out of memory");
		return;
	}
	q->type = type;
	q->tag = tag;
	q->len = len;
	memcpy(q->data, buf, len);
	TAILQ_INSERT_TAIL(&p->sendq, q, entry);
	p->nsendq++;
	peer_flush(p);
}

void
peer_send_error(struct peer *p, uint32_t tag, int code, const char *fmt, ...)
{
	union segp_msg m;
	va_list ap;

	m.error.code = (uint32_t)code;
	va_start(ap, fmt);
	vsnprintf(m.error.text, sizeof m.error.text, fmt, ap);
	va_end(ap);
	peer_send(p, SEGP_ERROR, tag, &m);
}

void
peer_flush(struct peer *p)
{
	struct pmsg *m;

	for (;;) {
		struct segp_hdr h;
		struct ibv_sge sge;
		struct ibv_send_wr wr, *bad;
		uint8_t *buf;
		int slot;

		if (p->state == PS_CLOSED || !p->has_qp || p->state < PS_HELLO)
			return;
		if ((m = TAILQ_FIRST(&p->sendq)) == NULL) {
			/* hand credits back when half the buffers wait on us */
			if (p->owed < SEGP_CREDITS / 2 || p->credits < 1)
				return;
			if ((m = calloc(1, sizeof *m)) == NULL)
				return;
			m->type = SEGP_CREDIT;
			TAILQ_INSERT_TAIL(&p->sendq, m, entry);
			p->nsendq++;
		}
		/* the last credit is kept for a message that returns credits */
		if (p->nsfree == 0 || p->sq_used >= PEER_SQ_DEPTH ||
		    p->credits < (m->type == SEGP_CREDIT ? 1 : 2))
			return;
		TAILQ_REMOVE(&p->sendq, m, entry);
		p->nsendq--;
		slot = p->sfree[--p->nsfree];
		buf = p->sbuf + (size_t)slot * SEGP_MSGSIZE;
		h.type = m->type;
		h.flags = 0;
		h.len = (uint32_t)m->len;
		h.credits = (uint32_t)p->owed;
		h.tag = m->tag;
		segp_hdr_encode(buf, &h);
		memcpy(buf + SEGP_HDRLEN, m->data, m->len);
		sge.addr = (uintptr_t)buf;
		sge.length = (uint32_t)(SEGP_HDRLEN + m->len);
		sge.lkey = p->smr->lkey;
		memset(&wr, 0, sizeof wr);
		wr.wr_id = ((uint64_t)slot << 2) | WR_SEND;
		wr.sg_list = &sge;
		wr.num_sge = 1;
		wr.opcode = IBV_WR_SEND;
		wr.send_flags = IBV_SEND_SIGNALED;
		free(m);
		if (ibv_post_send(p->id->qp, &wr, &bad) != 0) {
			peer_close(p, EIO, "ibv_post_send: %s", strerror(errno));
			return;
		}
		p->owed = 0;
		p->credits--;
		p->sq_used++;
		p->spoke = 1;
		count_sent(p, h.type);
	}
}

/* Messages are counted per node once its hello names it (pstats.c). */
static void
count_sent(struct peer *p, uint16_t type)
{
	if (p->st != NULL)
		p->st->sent[type]++;
	else
		p->early[type]++;
}

/* Room on the send queue for n more work requests. */
int
peer_room(const struct peer *p, unsigned n)
{
	return p->sq_used + n <= PEER_SQ_DEPTH;
}

/*
 * Post a round of n work requests (room checked), the last one signaled
 * with ctx: the round handler gets ctx when it completes.  -1 if the post
 * failed: the connection is closed.
 */
int
peer_post(struct peer *p, struct ibv_send_wr *wr, unsigned n, void *ctx)
{
	struct ibv_send_wr *last = wr, *bad;
	unsigned i;

	for (i = 0; i < n; i++) {
		wr[i].next = i + 1 < n ? &wr[i + 1] : NULL;
		wr[i].send_flags = 0;
		wr[i].wr_id = 0;
		last = &wr[i];
	}
	last->send_flags = IBV_SEND_SIGNALED;
	last->wr_id = (uint64_t)(uintptr_t)ctx;
	if (ibv_post_send(p->id->qp, wr, &bad) != 0) {
		peer_close(p, EIO, "ibv_post_send: %s", strerror(errno));
		return -1;
	}
	p->sq_used += n;
	return 0;
}

/* Close the connection: every operation on it fails with this. */
void
peer_fail(struct peer *p, int code, const char *fmt, ...)
{
	char why[sizeof p->why];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	peer_close(p, code, "%s", why);
}

/* The room observers, while the peer is ready. */
void
peer_kick(struct peer *p)
{
	unsigned i;

	if (p->state != PS_READY)
		return;
	peer_hold(p);
	for (i = 0; i < nroom && p->state == PS_READY; i++)
		room_obs[i].fn(room_obs[i].arg, p);
	peer_put(p);
}

/*
 * A heartbeat tick, every -H / PEER_BEATS ms while the peer is ready:
 * nothing heard for more than PEER_BEATS ticks (-H) closes the connection,
 * unless operations wait on it (their deadlines judge it then); nothing
 * sent since the last tick sends an empty CREDIT (it returns what credits
 * are owed), unless messages already wait for credits.  An older segd
 * sends no heartbeat: its idle connection is closed, and made again on
 * next use.
 */
static void
peer_beat_cb(int fd, short ev, void *arg)
{
	struct peer *p = arg;
	unsigned tick = p->sd->heartbeat_ms / PEER_BEATS;

	(void)fd;
	(void)ev;
	if (p->state != PS_READY)
		return;
	p->silent = p->heard || (busy_fn && busy_fn(p)) ? 0 : p->silent + 1;
	p->heard = 0;
	if (p->silent > PEER_BEATS) {
		peer_close(p, ETIMEDOUT, "peer %s unreachable: nothing heard for "
		    "%u ms (heartbeat)", p->label, PEER_BEATS * tick);
		return;
	}
	peer_hold(p);		/* a failed send closes it */
	if (!p->spoke && TAILQ_EMPTY(&p->sendq))
		peer_send(p, SEGP_CREDIT, 0, NULL);
	p->spoke = 0;		/* a heartbeat is not something said */
	peer_put(p);
}

/* The heartbeat of a connection now ready; none if segd -H is 0. */
void
peer_beat_start(struct peer *p)
{
	unsigned tick = p->sd->heartbeat_ms / PEER_BEATS;
	struct timeval tv = { tick / 1000, (tick % 1000) * 1000 };

	if (tick == 0)
		return;
	if (p->beat == NULL && (p->beat = event_new(p->sd->base, -1,
	    EV_PERSIST, peer_beat_cb, p)) == NULL) {
		log_warnx("%s: peer %s: event_new failed: no heartbeat",
		    __func__, p->label);
		return;
	}
	p->heard = 1;
	p->silent = 0;
	event_add(p->beat, &tv);
}
