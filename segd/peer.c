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
 * This is plumbing: a received message, decoded by proto/segwire.c, goes
 * to the handler the owning module registered for its type (rop.c takes
 * the replies); the completion of a posted round goes to the round handler
 * (rop.c); a connection's end, and room for more work, go to the observers
 * modules registered.  peer.c never calls up into them by name.
 */
#include <sys/mman.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#include "peer.h"

#define PEER_MAX       256
#define PEER_CUT_WAIT_MS 200	/* for a hello behind a disconnect */
#define STR_(x)        #x
#define STR(x)         STR_(x)
#define PEER_SQ_DEPTH  512
#define PEER_SENDQ_MAX 4096	/* messages queued for credits */
#define PEER_OBSERVERS 4	/* modules told of a connection's end */
#define PEER_POLL      16	/* completions taken at once */
#define PEER_BUFALIGN  4096	/* message buffers: page-aligned for the NIC */
#define PEER_BEATS     4	/* heartbeat ticks in segd -H */

#define WR_RECV 1
#define WR_SEND 2	/* else the wr_id is a round's context (aligned) */

const char *const peer_state_names[] = {
	"resolving", "routing", "connecting", "hello", "ready", "closed"
};

struct peerlist peers = TAILQ_HEAD_INITIALIZER(peers);
static unsigned npeers;
static struct event *cm_ev, *comp_ev;

/* who handles a request of each type (replies go to their rop) */
static struct {
	peer_handler fn;
	void        *arg;
} handlers[SEGP_TYPEMAX];

struct observer {
	void (*fn)(void *, struct peer *);
	void *arg;
};
static struct observer gone_obs[PEER_OBSERVERS], room_obs[PEER_OBSERVERS];
static unsigned ngone, nroom;
static unsigned (*round_fn)(void *ctx, struct peer *, int ok);
static int (*busy_fn)(struct peer *);
static struct {
	void (*fn)(void *, struct rdma_cm_id *, const struct segp_connect *);
	void *arg;
} data_connect;

static void peer_close(struct peer *, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void peer_flush(struct peer *);
static void count_sent(struct peer *, uint16_t type);
static void peer_kick(struct peer *);
static void peer_beat_start(struct peer *);

void
peer_handle(uint16_t type, peer_handler fn, void *arg)
{
	if (type > 0 && type < SEGP_TYPEMAX) {
		handlers[type].fn = fn;
		handlers[type].arg = arg;
	}
}

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

void
peer_on_data_connect(void (*fn)(void *, struct rdma_cm_id *,
    const struct segp_connect *), void *arg)
{
	data_connect.fn = fn;
	data_connect.arg = arg;
}

/* fn(ctx, p, ok) when a round peer_post() posted completes: its slots */
void
peer_on_round(unsigned (*fn)(void *ctx, struct peer *, int ok))
{
	round_fn = fn;
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
static void
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
	peer_close(p, ETIMEDOUT, "peer %s unreachable: no connection within "
	    "%u ms", p->label, p->sd->deadline_ms);
}

/* A new peer in the table; NULL with errno EAGAIN (the limit) or ENOMEM. */
static struct peer *
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

static int
post_recv(struct peer *p, int i)
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
static int
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
		if (post_recv(p, i) != 0) {
			snprintf(p->why, sizeof p->why, "ibv_post_recv: %s",
			    strerror(errno));
			return -1;
		}
	return 0;
}

/* The connect's parameters; an outbound one says it is a segd's (priv). */
static void
conn_param(struct peer *p, struct rdma_conn_param *cp,
    uint8_t priv[SEGP_CONNECT_MAX])
{
	struct segp_connect c = { SEGP_CONNECT_CTRL, SEGP_VERSION_MIN,
	    SEGP_VERSION_MAX, 0, { 0 } };

	memset(cp, 0, sizeof *cp);
	cp->initiator_depth = (uint8_t)p->sd->rdma->max_rd_atom;
	cp->responder_resources = (uint8_t)p->sd->rdma->max_rd_atom;
	cp->retry_count = 7;
	cp->rnr_retry_count = 7;
	if (priv != NULL) {
		cp->private_data = priv;
		cp->private_data_len = (uint8_t)segp_connect_encode(priv,
		    SEGP_CONNECT_MAX, &c);
	}
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

static void
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

static void
count_node(struct peer *p)
{
	unsigned i;

	if ((p->st = pstat_get(p->node)) == NULL)
		return;
	for (i = 0; i < SEGP_TYPEMAX; i++)
		p->st->sent[i] += p->early[i];
	p->st->recv[SEGP_HELLO]++;
}

static void
hello_send(struct peer *p)
{
	union segp_msg m;

	memset(&m, 0, sizeof m);
	m.hello.vmin = SEGP_VERSION_MIN;
	m.hello.vmax = SEGP_VERSION_MAX;
	m.hello.port = p->sd->rdma->port;
	m.hello.caps = SEGP_CAP_EFLAGS | SEGP_CAP_REBIND;
	snprintf(m.hello.node, sizeof m.hello.node, "%s", p->sd->node);
	p->hello_out = 1;
	peer_send(p, SEGP_HELLO, 0, &m);
}

static void
peer_ready(struct peer *p)
{
	if (p->cut) {
		peer_close(p, ECONNRESET, "peer %s disconnected", p->label);
		return;
	}
	p->state = PS_READY;
	event_del(p->timer);
	peer_beat_start(p);
	if (p->st != NULL)
		p->st->connects++;
	log_info("segd: peer %s (node %s) ready, protocol version %u",
	    p->label, p->node, p->version);
	peer_kick(p);
}

/* -1: refused, the caller closes. */
static int
hello_recv(struct peer *p, const struct segp_hello *h)
{
	if (p->hello_in) {
		snprintf(p->why, sizeof p->why, "second hello");
		return -1;
	}
	p->version = segp_version_pick(SEGP_VERSION_MIN, SEGP_VERSION_MAX,
	    h->vmin, h->vmax);
	if (p->version == 0) {
		snprintf(p->why, sizeof p->why, "no protocol version in common: "
		    "the peer speaks %u to %u, this segd speaks %u to %u", h->vmin,
		    h->vmax, SEGP_VERSION_MIN, SEGP_VERSION_MAX);
		return -1;
	}
	snprintf(p->node, sizeof p->node, "%s", h->node);
	p->caps = h->caps;
	count_node(p);
	if (!p->outbound) {
		snprintf(p->key, sizeof p->key, "%s:%u", p->addr, h->port);
		snprintf(p->label, sizeof p->label, "%s", p->node);
	}
	p->hello_in = 1;
	if (p->hello_out && p->state == PS_HELLO)
		peer_ready(p);
	return 0;
}

/* One received message: to its type's handler. */
static int
peer_dispatch(struct peer *p, const struct segp_hdr *h,
    const union segp_msg *m)
{
	switch (h->type) {
	case SEGP_HELLO:
		if (hello_recv(p, &m->hello) < 0) {
			peer_close(p, EPROTO, "bad hello: %s", p->why);
			return -1;
		}
		return 0;
	case SEGP_CREDIT:
		return 0;
	default:
		if (handlers[h->type].fn == NULL) {
			peer_close(p, EPROTO, "malformed message: unexpected "
			    "type %u", h->type);
			return -1;
		}
		handlers[h->type].fn(handlers[h->type].arg, p, h->tag, m);
		return 0;
	}
}

static void
peer_recv(struct peer *p, int slot, uint32_t got)
{
	const uint8_t *buf = p->rbuf + (size_t)slot * SEGP_MSGSIZE;
	const char *why = NULL;
	struct segp_hdr h;
	union segp_msg m;

	if (segp_hdr_decode(buf, got, &h, &why) < 0 ||
	    segp_msg_decode(h.type, buf + SEGP_HDRLEN, h.len, &m, &why) < 0) {
		peer_close(p, EPROTO, "malformed message: %s", why);
		return;
	}
	if ((unsigned)p->credits + h.credits > SEGP_CREDITS) {
		peer_close(p, EPROTO, "malformed message: returned more credits "
		    "than it was given");
		return;
	}
	p->credits += (int)h.credits;
	p->heard = 1;
	if (!p->hello_in && h.type != SEGP_HELLO) {
		peer_close(p, EPROTO, "malformed message: type %u before hello",
		    h.type);
		return;
	}
	if (p->st != NULL)
		p->st->recv[h.type]++;	/* a hello: counted by count_node */
	if (peer_dispatch(p, &h, &m) < 0 || p->state == PS_CLOSED)
		return;
	if (post_recv(p, slot) != 0) {
		peer_close(p, EIO, "ibv_post_recv: %s", strerror(errno));
		return;
	}
	p->owed++;
	peer_flush(p);
}

static void
peer_wc(struct peer *p, const struct ibv_wc *wc)
{
	switch (wc->wr_id & 3) {
	case WR_RECV:
		if (wc->status != IBV_WC_SUCCESS) {
			peer_close(p, EIO, "receive failed: %s",
			    ibv_wc_status_str(wc->status));
			return;
		}
		peer_recv(p, (int)(wc->wr_id >> 2), wc->byte_len);
		return;
	case WR_SEND:
		p->sfree[p->nsfree++] = (int)(wc->wr_id >> 2);
		p->sq_used--;
		if (wc->status != IBV_WC_SUCCESS) {
			peer_close(p, EIO, "send failed: %s",
			    ibv_wc_status_str(wc->status));
			return;
		}
		peer_flush(p);
		peer_kick(p);
		return;
	default:		/* the signaled end of a posted round */
		p->sq_used -= round_fn((void *)(uintptr_t)wc->wr_id, p,
		    wc->status == IBV_WC_SUCCESS);
		if (wc->status != IBV_WC_SUCCESS) {
			peer_close(p, EIO, "RDMA %s on peer %s failed: %s",
			    wc->opcode == IBV_WC_RDMA_READ ? "READ" : "WRITE",
			    p->label, ibv_wc_status_str(wc->status));
			return;
		}
		peer_flush(p);
		peer_kick(p);
		return;
	}
}

/*
 * Before a disconnect is acted on: the messages that arrived ahead of it
 * (a HELLO saying why the peer refuses us, a reply), up to the flush of
 * the queue pair.  A completion that failed for another reason (a message
 * longer than a receive) goes to peer_wc too, which closes with its reason.
 */
static void
peer_drain(struct peer *p)
{
	struct ibv_wc wc;

	while (p->state != PS_CLOSED && p->cq != NULL &&
	    ibv_poll_cq(p->cq, 1, &wc) == 1 &&
	    wc.status != IBV_WC_WR_FLUSH_ERR)
		peer_wc(p, &wc);
}

static void
peer_cq_events(struct segd *sd)
{
	struct ibv_cq *cq;
	void *ctx;

	while (ibv_get_cq_event(sd->rdma->comp_ch, &cq, &ctx) == 0) {
		struct peer *p = ctx;
		struct ibv_wc wc[PEER_POLL];
		int n, i;

		ibv_ack_cq_events(cq, 1);
		if (p->state == PS_CLOSED || p->cq != cq)
			continue;
		peer_hold(p);	/* while its completions are handled */
		if (ibv_req_notify_cq(cq, 0) != 0)
			peer_close(p, EIO, "ibv_req_notify_cq: %s",
			    strerror(errno));
		while (p->state != PS_CLOSED &&
		    (n = ibv_poll_cq(p->cq, PEER_POLL, wc)) > 0)
			for (i = 0; i < n && p->state != PS_CLOSED; i++)
				peer_wc(p, &wc[i]);
		peer_put(p);
	}
}

/* A segd's control connection; NULL, or why it is refused (id untouched). */
static const char *
peer_accept(struct segd *sd, struct rdma_cm_id *id)
{
	struct rdma_conn_param cp;
	struct peer *p;

	if ((p = peer_new(sd, id, 0)) == NULL)
		return errno == EAGAIN ? "too many peers (" STR(PEER_MAX) ")" :
		    "out of memory";
	id->context = p;
	rdma_peer_addr(id, p->addr, sizeof p->addr);
	snprintf(p->label, sizeof p->label, "%s", p->addr);
	p->state = PS_CONNECT;
	if (peer_setup(p) < 0) {
		rdma_reject(id, NULL, 0);
		peer_close(p, EIO, "accept: %s", p->why);
		return NULL;	/* closed, and said why */
	}
	conn_param(p, &cp, NULL);
	if (rdma_accept(id, &cp) != 0)
		peer_close(p, EIO, "rdma_accept: %s", strerror(errno));
	return NULL;
}

/*
 * A connect request: a segd's control connection, a process's data
 * connection (to the handler grant.c registered), or neither: refused at
 * once, so rping, perftest -R or ucmatose get nothing from segd's port.
 */
static void
peer_request(struct segd *sd, struct rdma_cm_id *id,
    const struct segp_connect *c, const char *why)
{
	static struct ratelimit rl;
	char addr[INET6_ADDRSTRLEN];

	if (c != NULL && c->magic == SEGP_CONNECT_DATA && data_connect.fn) {
		data_connect.fn(data_connect.arg, id, c);
		return;
	}
	if (c != NULL && c->magic == SEGP_CONNECT_CTRL &&
	    (why = peer_accept(sd, id)) == NULL)
		return;
	if (why == NULL)
		why = "no data path on this segd";
	rdma_peer_addr(id, addr, sizeof addr);
	if (log_rate(&rl, 10, __func__))
		log_warnx("%s: connect from %s refused: %s", __func__, addr, why);
	rdma_reject(id, why, (uint8_t)strlen(why));
	rdma_destroy_id(id);
}

/* Every rdma_cm event goes through this one switch, acked first. */
static void
peer_cm_events(struct segd *sd)
{
	struct rdma_cm_event *ev;

	while (rdma_get_cm_event(sd->rdma->cm_ch, &ev) == 0) {
		enum rdma_cm_event_type type = ev->event;
		struct rdma_cm_id *id = ev->id;
		int status = ev->status;
		struct peer *p = type == RDMA_CM_EVENT_CONNECT_REQUEST ? NULL :
		    id->context;
		struct rdma_conn_param cp;
		uint8_t priv[SEGP_CONNECT_MAX];
		struct segp_connect conn;
		const char *why = NULL;
		int conn_ok = -1;

		if (type == RDMA_CM_EVENT_CONNECT_REQUEST)	/* gone once acked */
			conn_ok = segp_connect_decode(ev->param.conn.private_data,
			    ev->param.conn.private_data_len, &conn, &why);
		rdma_ack_cm_event(ev);
		if (p != NULL)
			peer_hold(p);
		switch (type) {
		case RDMA_CM_EVENT_CONNECT_REQUEST:
			peer_request(sd, id, conn_ok == 0 ? &conn : NULL, why);
			break;
		case RDMA_CM_EVENT_ADDR_RESOLVED:
			if (p == NULL || p->state != PS_ADDR)
				break;
			p->state = PS_ROUTE;
			if (rdma_resolve_route(id, (int)sd->deadline_ms) != 0)
				peer_close(p, EHOSTUNREACH, "peer %s unreachable: "
				    "rdma_resolve_route: %s", p->label,
				    strerror(errno));
			break;
		case RDMA_CM_EVENT_ROUTE_RESOLVED:
			if (p == NULL || p->state != PS_ROUTE)
				break;
			p->state = PS_CONNECT;
			if (peer_setup(p) < 0) {
				peer_close(p, EIO, "peer %s: %s", p->label, p->why);
				break;
			}
			conn_param(p, &cp, priv);
			if (rdma_connect(id, &cp) != 0)
				peer_close(p, EHOSTUNREACH, "peer %s unreachable: "
				    "rdma_connect: %s", p->label, strerror(errno));
			break;
		case RDMA_CM_EVENT_ESTABLISHED:
			if (p == NULL || p->state != PS_CONNECT)
				break;
			p->state = PS_HELLO;
			hello_send(p);
			if (p->hello_in)
				peer_ready(p);
			break;
		case RDMA_CM_EVENT_ADDR_ERROR:
		case RDMA_CM_EVENT_ROUTE_ERROR:
		case RDMA_CM_EVENT_CONNECT_ERROR:
		case RDMA_CM_EVENT_UNREACHABLE:
		case RDMA_CM_EVENT_REJECTED:
			if (p != NULL)
				peer_close(p, EHOSTUNREACH, "peer %s unreachable: "
				    "%s (status %d)", p->label,
				    rdma_event_str(type), status);
			break;
		case RDMA_CM_EVENT_DISCONNECTED:
			if (p == NULL)
				break;
			peer_drain(p);
			if (p->state == PS_HELLO && !p->hello_in && !p->cut) {
				/* its hello (saying why it refuses us) may
				 * complete just behind: a moment to read it */
				struct timeval tv = { 0, PEER_CUT_WAIT_MS * 1000 };

				p->cut = 1;
				evtimer_add(p->timer, &tv);
				break;
			}
			peer_close(p, ECONNRESET, "peer %s disconnected",
			    p->label);
			break;
		case RDMA_CM_EVENT_DEVICE_REMOVAL:
			if (p != NULL)
				peer_close(p, ENODEV, "RDMA device removed");
			break;
		default:	/* TIMEWAIT_EXIT, ADDR_CHANGE, ... */
			break;
		}
		if (p != NULL)
			peer_put(p);
	}
}

/* The connection to host:port: an existing one, or a new one under way. */
struct peer *
peer_get(struct segd *sd, const char *host, uint16_t port, const char *label,
    struct segerr *e)
{
	struct sockaddr_storage dst, src;
	struct rdma_cm_id *id;
	struct peer *p;
	char key[sizeof p->key];

	if (sd->rdma == NULL) {
		seterr(e, ENOTSUP, "segd has no RDMA: start it with -l ADDR");
		return NULL;
	}
	snprintf(key, sizeof key, "%s:%u", host, port);
	TAILQ_FOREACH(p, &peers, entry)
		if (p->state != PS_CLOSED && strcmp(p->key, key) == 0)
			return p;
	if (rdma_sockaddr(host, port, &dst, e) < 0)
		return NULL;
	if (rdma_create_id(sd->rdma->cm_ch, &id, NULL, RDMA_PS_TCP) != 0) {
		seterr(e, errno, "rdma_create_id: %s", strerror(errno));
		return NULL;
	}
	if ((p = peer_new(sd, id, 1)) == NULL) {
		int err = errno;

		rdma_destroy_id(id);
		if (err == EAGAIN)
			seterr(e, EAGAIN, "too many peers (%d)", PEER_MAX);
		else
			seterr(e, ENOMEM, "out of memory");
		return NULL;
	}
	id->context = p;
	snprintf(p->key, sizeof p->key, "%s", key);
	snprintf(p->addr, sizeof p->addr, "%s", host);
	snprintf(p->label, sizeof p->label, "%s", label);
	p->state = PS_ADDR;
	src = sd->rdma->addr;
	if (src.ss_family == AF_INET)
		((struct sockaddr_in *)&src)->sin_port = 0;
	else
		((struct sockaddr_in6 *)&src)->sin6_port = 0;
	if (rdma_resolve_addr(id, src.ss_family == dst.ss_family ?
	    (struct sockaddr *)&src : NULL, (struct sockaddr *)&dst,
	    (int)sd->deadline_ms) != 0) {
		seterr(e, errno, "peer %s unreachable: rdma_resolve_addr: %s",
		    label, strerror(errno));
		peer_close(p, errno, "%s", e->msg);
		return NULL;
	}
	return p;
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
static void
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
static void
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

static void
cm_cb(int fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	peer_cm_events(arg);
}

static void
comp_cb(int fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	peer_cq_events(arg);
}

/* Serve the rdma_cm and completion channels rdma_init() opened. */
int
peer_start(struct segd *sd, struct segerr *e)
{
	cm_ev = event_new(sd->base, sd->rdma->cm_ch->fd, EV_READ | EV_PERSIST,
	    cm_cb, sd);
	comp_ev = event_new(sd->base, sd->rdma->comp_ch->fd,
	    EV_READ | EV_PERSIST, comp_cb, sd);
	if (cm_ev == NULL || comp_ev == NULL || event_add(cm_ev, NULL) < 0 ||
	    event_add(comp_ev, NULL) < 0) {
		peer_shutdown(sd);
		return seterr(e, ENOMEM, "event_new failed");
	}
	return 0;
}

void
peer_shutdown(struct segd *sd)
{
	struct peer *p;

	(void)sd;
	while ((p = TAILQ_FIRST(&peers)) != NULL)
		peer_close(p, ESHUTDOWN, "segd is shutting down");
	if (cm_ev != NULL)
		event_free(cm_ev);
	if (comp_ev != NULL)
		event_free(comp_ev);
	cm_ev = comp_ev = NULL;
}
