/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * peer.h: segd<->segd connections' insides, shared by peer.c (the table,
 * queue pairs, sending), peer_msg.c (what arrives, the handshake),
 * peer_cm.c (rdma_cm) and peers.c (what other modules may ask of them).
 * Nothing else includes it; the entry points are in segd.h.
 */
#ifndef SEGD_PEER_H
#define SEGD_PEER_H

#include "segd.h"

#define PEER_SENDBUFS  64
#define PEER_MAX       256	/* connections at once */

#define WR_RECV 1
#define WR_SEND 2	/* else the wr_id is a round's context (aligned) */

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
	/* keyed (segd -k): the nonces of the connecting and accepting
	 * sides, and whether the AUTH proofs went and came (checked) */
	uint8_t              cnonce[SEGP_NONCELEN], snonce[SEGP_NONCELEN];
	int                  auth_out, auth_in;
};

TAILQ_HEAD(peerlist, peer);
extern struct peerlist peers;		/* peer.c */
extern const char *const peer_state_names[];

struct rdma_conn_param;

/* peer.c: the table, queue pairs and buffers, sending, closing */
struct peer *peer_new(struct segd *, struct rdma_cm_id *, int outbound);
int  peer_setup(struct peer *);
int  peer_conn_param(struct peer *, struct rdma_conn_param *,
    uint8_t priv[SEGP_CONNECT_MAX]);
int  peer_post_recv(struct peer *, int slot);
void peer_flush(struct peer *);
void peer_kick(struct peer *);
void peer_beat_start(struct peer *);
void peer_close(struct peer *, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* peer_msg.c: completions, received messages, the HELLO/AUTH handshake */
void peer_hello_send(struct peer *);
void peer_auth_send(struct peer *);
void peer_ready_if_done(struct peer *);
void peer_drain(struct peer *);
void peer_cq_events(struct segd *);

#endif
