/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * peer_msg.c: what arrives on a segd <-> segd connection.  Completions from
 * segd's one completion channel: a received message, decoded by
 * proto/segwire.c and checked for its credits, goes to the handler the
 * owning module registered for its type (rop.c takes the replies); a send
 * frees its buffer; the completion of a posted round goes to the round
 * handler (rop.c).  The HELLO exchange picks the protocol version and
 * names the node.
 *
 * With a cluster key (segd -k), after the HELLOs each side sends AUTH, its
 * proof of the key over both nonces, node names and addresses (the MACs
 * are auth.c's), and nothing but HELLO, AUTH and CREDIT is taken from a
 * peer before its proof checks.  The connect's own step is peer_cm.c's.
 *
 * It sits on peer.c (sending, closing) and never calls the modules whose
 * handlers it runs by name.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>
#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#include "peer.h"

#define PEER_POLL      16	/* completions taken at once */

/* who handles a request of each type (replies go to their rop) */
static struct {
	peer_handler fn;
	void        *arg;
} handlers[SEGP_TYPEMAX];
static unsigned (*round_fn)(void *ctx, struct peer *, int ok);

void
peer_handle(uint16_t type, peer_handler fn, void *arg)
{
	if (type > 0 && type < SEGP_TYPEMAX) {
		handlers[type].fn = fn;
		handlers[type].arg = arg;
	}
}

/* fn(ctx, p, ok) when a round peer_post() posted completes: its slots */
void
peer_on_round(unsigned (*fn)(void *ctx, struct peer *, int ok))
{
	round_fn = fn;
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

void
peer_hello_send(struct peer *p)
{
	union segp_msg m;

	memset(&m, 0, sizeof m);
	m.hello.vmin = SEGP_VERSION_MIN;
	m.hello.vmax = SEGP_VERSION_MAX;
	m.hello.port = p->sd->rdma->port;
	m.hello.caps = SEGP_CAP_EFLAGS | SEGP_CAP_REBIND | SEGP_CAP_ALIVE;
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
	log_info("segd: peer %s (node %s) ready, protocol version %u%s",
	    p->label, p->node, p->version, p->auth_in ? ", authenticated" : "");
	peer_kick(p);
}

/*
 * What a proof covers: ours (mine), or the peer's.  Each side's role is
 * in it, so a proof cannot be sent back to its maker.
 */
static void
proof_in(struct peer *p, int mine, struct segp_proof_in *in)
{
	uint8_t local[16], remote[16];
	uint16_t port;

	memset(in, 0, sizeof *in);
	in->role = p->outbound == mine ? SEGP_ROLE_CONNECT : SEGP_ROLE_ACCEPT;
	memcpy(in->cnonce, p->cnonce, sizeof in->cnonce);
	memcpy(in->snonce, p->snonce, sizeof in->snonce);
	seg_addr16(rdma_get_local_addr(p->id), local, &port);
	seg_addr16(rdma_get_peer_addr(p->id), remote, &port);
	snprintf(in->prover, sizeof in->prover, "%s", mine ? p->sd->node :
	    p->node);
	snprintf(in->verifier, sizeof in->verifier, "%s", mine ? p->node :
	    p->sd->node);
	memcpy(in->paddr, mine ? local : remote, 16);
	memcpy(in->vaddr, mine ? remote : local, 16);
}

/* Keyed, once both hellos went: our proof of the key. */
void
peer_auth_send(struct peer *p)
{
	struct segp_proof_in in;
	union segp_msg m;

	if (p->sd->auth == NULL || !p->hello_in || !p->hello_out || p->auth_out)
		return;
	proof_in(p, 1, &in);
	if (auth_proof(p->sd->auth, &in, m.proof) < 0) {
		peer_close(p, EIO, "peer %s: HMAC failed", p->label);
		return;
	}
	p->auth_out = 1;
	peer_send(p, SEGP_AUTH, 0, &m);
}

/* Ready once both hellos went, and (keyed) the peer's proof checked. */
void
peer_ready_if_done(struct peer *p)
{
	if (p->state == PS_HELLO && p->hello_in && p->hello_out &&
	    (p->sd->auth == NULL || (p->auth_in && p->auth_out)))
		peer_ready(p);
}

/* -1: refused, the caller closes (EACCES). */
static int
auth_recv(struct peer *p, const uint8_t proof[SEGP_PROOFLEN])
{
	struct segp_proof_in in;

	if (p->auth_in) {
		snprintf(p->why, sizeof p->why, "peer authentication failed "
		    "(from %s): a second proof", p->addr);
		return -1;
	}
	proof_in(p, 0, &in);
	if (!auth_proof_ok(p->sd->auth, &in, proof)) {
		snprintf(p->why, sizeof p->why, "peer authentication failed "
		    "(from %s): bad proof of the cluster key (another key, or "
		    "a replay)", p->addr);
		return -1;
	}
	p->auth_in = 1;
	peer_ready_if_done(p);
	return 0;
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
	peer_auth_send(p);
	if (p->state != PS_CLOSED)
		peer_ready_if_done(p);
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
			/* the peer learns why from our hello: it goes first
			 * if this one came before our ESTABLISHED */
			if (!p->hello_out)
				peer_hello_send(p);
			peer_close(p, EPROTO, "bad hello: %s", p->why);
			return -1;
		}
		return 0;
	case SEGP_CREDIT:
		return 0;
	case SEGP_AUTH:
		if (p->sd->auth == NULL)
			break;
		if (auth_recv(p, m->proof) < 0) {
			peer_close(p, EACCES, "%s", p->why);
			return -1;
		}
		return 0;
	default:
		break;
	}
	if (handlers[h->type].fn == NULL) {
		peer_close(p, EPROTO, "malformed message: unexpected type %u",
		    h->type);
		return -1;
	}
	handlers[h->type].fn(handlers[h->type].arg, p, h->tag, m);
	return 0;
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
	if (p->sd->auth != NULL && !p->auth_in && h.type != SEGP_HELLO &&
	    h.type != SEGP_AUTH && h.type != SEGP_CREDIT) {
		peer_close(p, EACCES, "peer authentication failed (from %s): "
		    "message type %u before its proof", p->addr, h.type);
		return;
	}
	if (p->st != NULL)
		p->st->recv[h.type]++;	/* a hello: counted by count_node */
	if (peer_dispatch(p, &h, &m) < 0 || p->state == PS_CLOSED)
		return;
	if (peer_post_recv(p, slot) != 0) {
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
void
peer_drain(struct peer *p)
{
	struct ibv_wc wc;

	while (p->state != PS_CLOSED && p->cq != NULL &&
	    ibv_poll_cq(p->cq, 1, &wc) == 1 &&
	    wc.status != IBV_WC_WR_FLUSH_ERR)
		peer_wc(p, &wc);
}

void
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
