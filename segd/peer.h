/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * peer.h: segd<->segd connections' insides, shared by peer.c (the
 * connections) and peers.c (what other modules may ask of them).  Nothing
 * else includes it; the entry points are in segd.h.
 */
#ifndef SEGD_PEER_H
#define SEGD_PEER_H

#include "segd.h"

#define PEER_SENDBUFS  64

enum peer_state {
	PS_ADDR,	/* outbound: resolving the address */
	PS_ROUTE,	/* outbound: resolving the route */
	PS_CONNECT,	/* connect sent, or inbound accept sent */
	PS_HELLO,	/* established; waiting for the peer's hello */
	PS_READY,
	PS_CLOSED
};

struct pmsg {
	TAILQ_ENTRY(pmsg) entry;
	uint16_t          type;
	uint32_t          tag;
	size_t            len;
	uint8_t           data[];
};

/*
 * References (refs) are held by: the peer table while the peer is not
 * closed (1); each rop submitted and not yet done or failed (1); each
 * import made through it (1); and a callback working on it (1, briefly).
 */
struct peer {
	TAILQ_ENTRY(peer)    entry;
	struct segd         *sd;
	enum peer_state      state;
	int                  outbound;
	unsigned             refs;
	struct rdma_cm_id   *id;
	struct ibv_cq       *cq;
	int                  has_qp;
	char                 key[INET6_ADDRSTRLEN + 8];	/* host:port it listens on */
	char                 label[128];		/* what users call it */
	char                 node[SEGP_NODEMAX + 1];	/* from its hello */
	char                 addr[INET6_ADDRSTRLEN];
	uint8_t             *rbuf, *sbuf;
	struct ibv_mr       *rmr, *smr;
	int                  sfree[PEER_SENDBUFS];
	int                  nsfree;
	int                  credits;	/* messages we may send */
	int                  owed;	/* buffers re-posted, not yet told */
	unsigned             sq_used;
	int                  hello_in, hello_out;
	int                  cut;	/* disconnected while awaiting its hello */
	uint32_t             version;	/* the one both speak, from hellos */
	uint32_t             caps;	/* the peer's SEGP_CAP_*, from its hello */
	struct pstat        *st;	/* its node's counters, from its hello */
	uint32_t             early[SEGP_TYPEMAX];	/* sent before that */
	TAILQ_HEAD(, pmsg)   sendq;
	size_t               nsendq;
	void                *rops;	/* rop.c's state of this peer */
	struct event        *timer;	/* connection set-up deadline */
	struct event        *beat;	/* heartbeat, while ready (peer_beat_cb) */
	unsigned             silent;	/* heartbeat ticks with nothing heard */
	int                  heard, spoke;	/* since the last tick */
	char                 why[SEGW_MAXTEXT];
	int                  code;	/* errno value of why */
};

TAILQ_HEAD(peerlist, peer);
extern struct peerlist peers;		/* peer.c */
extern const char *const peer_state_names[];

#endif
