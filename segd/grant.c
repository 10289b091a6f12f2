/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * grant.c: the exporter's side of the direct data path.  Each import of an
 * export made over a connection of protocol version 3 gets a grant: a
 * protection domain of its own holding one memory region over the export's
 * memory, with the import's access (read, or read and write), and an
 * unguessable ticket.  The importing process connects its own queue pair
 * to segd's rdma_cm port with the ticket in the connect's private data;
 * segd checks it and makes the queue pair in the grant's protection
 * domain, so whatever that queue pair carries reaches the grant's region
 * and nothing else, with the grant's access, at the NIC.  segd never posts
 * on these queue pairs and gives them no receive buffers.
 *
 * Revoking the import frees the grant: its connections are torn down and
 * its region deregistered, so its key fails at the NIC; other imports'
 * grants are untouched.
 */
#include <sys/random.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>
#include <openssl/crypto.h>

#include "segd.h"

#define GRANT_CONNS_MAX 16	/* data connections one grant may hold */
#define NODE_CONNS_MAX  1024	/* data connections one importing node may hold */
#define DATA_CQ_DEPTH   64	/* nothing completes: segd never posts there */

/* A data connection; lives from its accepted request to its teardown. */
struct dconn {
	LIST_ENTRY(dconn)   entry;
	struct grant       *g;
	struct rdma_cm_id  *id;
	int                 has_qp;
};

/* A grant: freed with its import (grant_free); holds its connections. */
struct grant {
	LIST_ENTRY(grant)   entry;
	uint64_t            id;
	struct peer        *peer;	/* the importer's control connection; no
					 * reference: the import, which holds
					 * the grant, goes when it does */
	char                addr[INET6_ADDRSTRLEN];	/* the importer's */
	struct ibv_pd      *pd;
	struct ibv_mr      *mr;
	int                 perm;
	uint8_t             ticket[SEGP_TICKETLEN];
	long long           expires;	/* ms, monotonic: the ticket's */
	unsigned            nconns;
	LIST_HEAD(, dconn)  conns;
};

static struct {
	struct segd               *sd;
	struct rdma_event_channel *ch;
	struct event              *ev;
	struct ibv_cq             *cq;
	LIST_HEAD(, grant)         grants;
	struct ratelimit           rl;	/* of refusals logged */
} gs = { .grants = LIST_HEAD_INITIALIZER(gs.grants) };

/* Equal, in a time that does not depend on where they differ. */
static int
ticket_equal(const uint8_t *a, const uint8_t *b)
{
	return CRYPTO_memcmp(a, b, SEGP_TICKETLEN) == 0;
}

static void
dconn_free(struct dconn *c)
{
	LIST_REMOVE(c, entry);
	c->g->nconns--;
	if (c->has_qp) {
		rdma_disconnect(c->id);
		rdma_destroy_qp(c->id);
	}
	rdma_destroy_id(c->id);
	free(c);
}

void
grant_free(struct grant *g)
{
	struct dconn *c;

	if (g == NULL)
		return;
	while ((c = LIST_FIRST(&g->conns)) != NULL)
		dconn_free(c);
	rdma_dereg(g->mr);	/* from here its key fails at the NIC */
	if (g->pd != NULL && ibv_dealloc_pd(g->pd) != 0)
		log_warnx("%s: ibv_dealloc_pd: %s", __func__, strerror(errno));
	LIST_REMOVE(g, entry);
	free(g);
}

/* A fresh ticket, valid for the ticket lifetime; into r with the grant. */
int
grant_ticket(struct grant *g, struct segp_import_rep *r, struct segerr *e)
{
	if (getrandom(g->ticket, sizeof g->ticket, 0) != sizeof g->ticket)
		return seterr(e, EAGAIN, "getrandom: %s", strerror(errno));
	g->expires = seg_now_ms() + gs.sd->ticket_ms;
	r->direct = 1;
	r->grant = g->id;
	memcpy(r->ticket, g->ticket, sizeof r->ticket);
	r->drkey = g->mr->rkey;
	return 0;
}

/*
 * A grant for import id of peer p over [addr, addr+len) with perm; a
 * writable one of an export with SEGW_EXP_LOCKOPS takes RDMA atomics too.
 */
struct grant *
grant_new(struct peer *p, uint64_t id, void *addr, uint64_t len, int perm,
    unsigned eflags, struct segerr *e)
{
	int access = IBV_ACCESS_REMOTE_READ;
	struct grant *g;

	if (gs.sd == NULL || gs.sd->rdma == NULL) {
		seterr(e, ENOTSUP, "segd has no RDMA");
		return NULL;
	}
	if ((g = calloc(1, sizeof *g)) == NULL) {
		seterr(e, ENOMEM, "out of memory");
		return NULL;
	}
	LIST_INIT(&g->conns);
	LIST_INSERT_HEAD(&gs.grants, g, entry);
	g->id = id;
	g->peer = p;
	g->perm = perm;
	snprintf(g->addr, sizeof g->addr, "%s", peer_addr(p));
	if (perm & SEGW_WR)
		access |= IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE;
	if ((perm & SEGW_WR) && (eflags & SEGW_EXP_LOCKOPS))
		access |= IBV_ACCESS_REMOTE_ATOMIC;
	if ((g->pd = ibv_alloc_pd(gs.sd->rdma->verbs)) == NULL) {
		seterr(e, errno ? errno : ENOMEM, "ibv_alloc_pd: %s",
		    strerror(errno ? errno : ENOMEM));
		goto fail;
	}
	if ((g->mr = ibv_reg_mr(g->pd, addr, len, access)) == NULL) {
		seterr(e, errno ? errno : ENOMEM, "ibv_reg_mr of %llu bytes: %s",
		    (unsigned long long)len, strerror(errno ? errno : ENOMEM));
		goto fail;
	}
	return g;
fail:
	grant_free(g);
	return NULL;
}

static struct grant *
grant_find(uint64_t id)
{
	struct grant *g;

	LIST_FOREACH(g, &gs.grants, entry)
		if (g->id == id)
			return g;
	return NULL;
}

static unsigned
node_conns(const char *addr)
{
	struct grant *g;
	unsigned n = 0;

	LIST_FOREACH(g, &gs.grants, entry)
		if (strcmp(g->addr, addr) == 0)
			n += g->nconns;
	return n;
}

/* Log a refusal, at most 10 a second: a flood cannot fill the log. */
static void
refused(const char *addr, const char *why)
{
	if (log_rate(&gs.rl, 10, __func__))
		log_warnx("%s: data connection from %s refused: %s", __func__,
		    addr, why);
}

/* Why a data connect with c from addr may not have grant g; NULL: it may. */
static const char *
check(const struct grant *g, const struct segp_connect *c, const char *addr)
{
	if (c->vmin > 3 || c->vmax < 3)
		return "no data path version in common";
	if (g == NULL)
		return "unknown, or revoked, import";
	if (!ticket_equal(g->ticket, c->ticket))
		return "forged ticket";
	if (seg_now_ms() > g->expires)
		return "expired ticket";
	if (strcmp(addr, g->addr) != 0)
		return "ticket of another node";
	if (g->nconns >= GRANT_CONNS_MAX)
		return "too many data connections for this import";
	if (node_conns(addr) >= NODE_CONNS_MAX)
		return "too many data connections from this node";
	return NULL;
}

/* Its queue pair in the grant's protection domain, accepted. */
static int
accept_conn(struct grant *g, struct rdma_cm_id *id, const char **why)
{
	struct ibv_qp_init_attr qa;
	struct rdma_conn_param cp;
	struct dconn *c;

	if ((c = calloc(1, sizeof *c)) == NULL) {
		*why = "out of memory";
		return -1;
	}
	if (rdma_migrate_id(id, gs.ch) != 0) {
		*why = "rdma_migrate_id failed";
		free(c);
		return -1;
	}
	memset(&qa, 0, sizeof qa);
	qa.send_cq = qa.recv_cq = gs.cq;
	qa.qp_type = IBV_QPT_RC;
	qa.cap.max_send_wr = qa.cap.max_recv_wr = 1;
	qa.cap.max_send_sge = qa.cap.max_recv_sge = 1;
	c->g = g;
	c->id = id;
	id->context = c;
	LIST_INSERT_HEAD(&g->conns, c, entry);
	g->nconns++;
	if (rdma_create_qp(id, g->pd, &qa) != 0) {
		*why = "rdma_create_qp failed";
		return -1;	/* the caller rejects; c goes with the id */
	}
	c->has_qp = 1;
	memset(&cp, 0, sizeof cp);
	cp.responder_resources = (uint8_t)gs.sd->rdma->max_rd_atom;
	cp.rnr_retry_count = 7;
	if (rdma_accept(id, &cp) != 0) {
		*why = "rdma_accept failed";
		return -1;
	}
	return 0;
}

/* A connect request with a data connection's private data (peer_cm.c). */
static void
on_data_connect(void *arg, struct rdma_cm_id *id, const struct segp_connect *c)
{
	char addr[INET6_ADDRSTRLEN];
	struct grant *g = grant_find(c->grant);
	const char *why;

	(void)arg;
	rdma_peer_addr(id, addr, sizeof addr);
	if ((why = check(g, c, addr)) == NULL && accept_conn(g, id, &why) == 0)
		return;
	refused(addr, why);
	rdma_reject(id, why, (uint8_t)strlen(why));	/* the reason, to libseg */
	if (id->context != NULL)	/* made, then failed */
		dconn_free(id->context);
	else
		rdma_destroy_id(id);
}

/* Events of the data connections: only their ends matter. */
static void
data_events(int fd, short ev, void *arg)
{
	struct rdma_cm_event *e;

	(void)fd;
	(void)ev;
	(void)arg;
	while (rdma_get_cm_event(gs.ch, &e) == 0) {
		enum rdma_cm_event_type type = e->event;
		struct dconn *c = e->id->context;

		rdma_ack_cm_event(e);
		switch (type) {
		case RDMA_CM_EVENT_DISCONNECTED:
		case RDMA_CM_EVENT_CONNECT_ERROR:
		case RDMA_CM_EVENT_UNREACHABLE:
		case RDMA_CM_EVENT_REJECTED:
		case RDMA_CM_EVENT_DEVICE_REMOVAL:
			if (c != NULL)
				dconn_free(c);
			break;
		default:	/* ESTABLISHED, TIMEWAIT_EXIT */
			break;
		}
	}
}

int
grant_init(struct segd *sd, struct segerr *e)
{
	gs.sd = sd;
	if ((gs.ch = rdma_create_event_channel()) == NULL)
		return seterr(e, errno, "rdma_create_event_channel: %s",
		    strerror(errno));
	if (fcntl(gs.ch->fd, F_SETFL, fcntl(gs.ch->fd, F_GETFL) | O_NONBLOCK) < 0)
		return seterr(e, errno, "fcntl: %s", strerror(errno));
	if ((gs.cq = ibv_create_cq(sd->rdma->verbs, DATA_CQ_DEPTH, NULL, NULL,
	    0)) == NULL)
		return seterr(e, errno, "ibv_create_cq: %s", strerror(errno));
	gs.ev = event_new(sd->base, gs.ch->fd, EV_READ | EV_PERSIST, data_events,
	    NULL);
	if (gs.ev == NULL || event_add(gs.ev, NULL) < 0)
		return seterr(e, ENOMEM, "event_new failed");
	peer_on_data_connect(on_data_connect, NULL);
	return 0;
}

/* After the peers are closed: every import, so every grant, is gone. */
void
grant_shutdown(void)
{
	if (!LIST_EMPTY(&gs.grants))
		log_warnx("%s: grants outlive their imports", __func__);
	if (gs.ev != NULL)
		event_free(gs.ev);
	if (gs.cq != NULL)
		ibv_destroy_cq(gs.cq);
	if (gs.ch != NULL)
		rdma_destroy_event_channel(gs.ch);
	gs.ev = NULL;
	gs.cq = NULL;
	gs.ch = NULL;
}

/* For segctl stats. */
void
grant_counts(unsigned *ngrants, unsigned *nconns)
{
	struct grant *g;

	*ngrants = *nconns = 0;
	LIST_FOREACH(g, &gs.grants, entry) {
		(*ngrants)++;
		*nconns += g->nconns;
	}
}
