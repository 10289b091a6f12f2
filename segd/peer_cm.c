/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * peer_cm.c: segd <-> segd connections' rdma_cm side.  An outbound
 * connection resolves the address and route and connects (peer_get); an
 * inbound connect request is a segd's control connection, a process's data
 * connection (handed to grant.c's handler), or refused at once.  Every
 * rdma_cm event goes through one switch, acked first, its private data
 * copied out before.
 *
 * With a cluster key (segd -k) a connection is made in two steps (the
 * wire layouts are proto/segwire.h's, the MACs auth.c's): the connect
 * carries a nonce and a tag over it and the address connected to, refused
 * at once when the tag is bad; the accept carries the other side's nonce;
 * the AUTH proofs follow the HELLOs (peer_msg.c).  A keyed segd and an
 * unkeyed one refuse each other at connect.
 *
 * It sits on peer_msg.c and peer.c, and serves segd's rdma_cm and
 * completion channels in the event loop.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>
#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#include "peer.h"

#define PEER_CUT_WAIT_MS 1000	/* for a hello behind a disconnect (a
				 * loaded host may take that long) */
#define STR_(x)        #x
#define STR(x)         STR_(x)

static struct event *cm_ev, *comp_ev;
static struct {
	void (*fn)(void *, struct rdma_cm_id *, const struct segp_connect *);
	void *arg;
} data_connect;

void
peer_on_data_connect(void (*fn)(void *, struct rdma_cm_id *,
    const struct segp_connect *), void *arg)
{
	data_connect.fn = fn;
	data_connect.arg = arg;
}

/*
 * A segd's control connection (c: its connect, checked); NULL, or why it
 * is refused (id untouched).
 */
static const char *
peer_accept(struct segd *sd, struct rdma_cm_id *id,
    const struct segp_connect *c)
{
	struct rdma_conn_param cp;
	uint8_t priv[SEGP_CONNECT_MAX];
	struct peer *p;

	if ((p = peer_new(sd, id, 0)) == NULL)
		return errno == EAGAIN ? "too many peers (" STR(PEER_MAX) ")" :
		    "out of memory";
	id->context = p;
	rdma_peer_addr(id, p->addr, sizeof p->addr);
	snprintf(p->label, sizeof p->label, "%s", p->addr);
	memcpy(p->cnonce, c->nonce, sizeof p->cnonce);
	p->state = PS_CONNECT;
	if (peer_setup(p) < 0 || peer_conn_param(p, &cp, sd->auth ? priv : NULL) < 0) {
		rdma_reject(id, NULL, 0);
		peer_close(p, EIO, "accept: %s", p->why);
		return NULL;	/* closed, and said why */
	}
	if (rdma_accept(id, &cp) != 0)
		peer_close(p, EIO, "rdma_accept: %s", strerror(errno));
	return NULL;
}

/*
 * Why a segd's control connect is refused by this segd, keyed or not;
 * NULL if it is taken.  A keyed one's tag covers the address and port it
 * was sent to: ours.
 */
static const char *
peer_admit(struct segd *sd, struct rdma_cm_id *id, const struct segp_connect *c)
{
	if (sd->auth == NULL)
		return c->magic == SEGP_CONNECT_AUTH ? "peer authentication "
		    "failed: this segd has no cluster key (start every segd "
		    "with the same -k, or none)" : NULL;
	if (c->magic != SEGP_CONNECT_AUTH)
		return "peer authentication failed: the peer has no cluster key "
		    "and this segd requires one (-k)";
	if (!auth_connect_ok(sd->auth, c, rdma_get_local_addr(id)))
		return "peer authentication failed: bad connect tag (another "
		    "cluster key?)";
	return NULL;
}

/*
 * A connect request: a segd's control connection, a process's data
 * connection (to the handler grant.c registered), or neither: refused at
 * once, so rping, perftest -R or ucmatose get nothing from segd's port.
 * So is a segd's that fails the cluster key's first step.
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
	if (c != NULL && c->magic != SEGP_CONNECT_DATA &&
	    (why = peer_admit(sd, id, c)) == NULL &&
	    (why = peer_accept(sd, id, c)) == NULL)
		return;
	if (why == NULL)
		why = "no data path on this segd";
	rdma_peer_addr(id, addr, sizeof addr);
	if (log_rate(&rl, 10, __func__))
		log_warnx("%s: connect from %s refused: %s", __func__, addr, why);
	rdma_reject(id, why, (uint8_t)strlen(why));
	rdma_destroy_id(id);
}

/* What an event carries, copied out before it is acked. */
struct cm_copy {
	struct segp_connect conn;	/* CONNECT_REQUEST */
	int                 conn_ok;
	uint8_t             snonce[SEGP_NONCELEN];	/* keyed ESTABLISHED */
	int                 acc_ok;
	char                reason[128];	/* REJECTED: the text, if any */
	const char         *why;
};

static void
cm_copy(struct segd *sd, struct rdma_cm_event *ev, struct peer *p,
    struct cm_copy *cc)
{
	const uint8_t *d = ev->param.conn.private_data;
	size_t len = d != NULL ? ev->param.conn.private_data_len : 0, i;

	cc->why = NULL;
	cc->conn_ok = cc->acc_ok = -1;
	cc->reason[0] = '\0';
	switch (ev->event) {
	case RDMA_CM_EVENT_CONNECT_REQUEST:
		cc->conn_ok = segp_connect_decode(d, len, &cc->conn, &cc->why);
		break;
	case RDMA_CM_EVENT_ESTABLISHED:
		if (p != NULL && p->outbound && sd->auth != NULL)
			cc->acc_ok = segp_accept_decode(d, len, cc->snonce,
			    &cc->why);
		break;
	case RDMA_CM_EVENT_REJECTED:	/* a segd's reason: printable text */
		for (i = 0; i < len && i < sizeof cc->reason - 1 &&
		    d[i] >= 0x20 && d[i] < 0x7f; i++)
			cc->reason[i] = (char)d[i];
		cc->reason[i] = '\0';
		break;
	default:
		break;
	}
}

/* Ours (outbound) is accepted, or the peer's (inbound) set up: hellos. */
static void
peer_established(struct peer *p, const struct cm_copy *cc)
{
	if (p->outbound && p->sd->auth != NULL) {
		if (cc->acc_ok < 0) {
			peer_close(p, EACCES, "peer %s: peer authentication "
			    "failed: %s", p->label, cc->why);
			return;
		}
		memcpy(p->snonce, cc->snonce, sizeof p->snonce);
	}
	p->state = PS_HELLO;
	peer_hello_send(p);
	peer_auth_send(p);
	if (p->state != PS_CLOSED)
		peer_ready_if_done(p);
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
		struct cm_copy cc;

		cm_copy(sd, ev, p, &cc);	/* ev's data is gone once acked */
		rdma_ack_cm_event(ev);
		if (p != NULL)
			peer_hold(p);
		switch (type) {
		case RDMA_CM_EVENT_CONNECT_REQUEST:
			peer_request(sd, id, cc.conn_ok == 0 ? &cc.conn : NULL,
			    cc.why);
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
			if (peer_setup(p) < 0 || peer_conn_param(p, &cp, priv) < 0) {
				peer_close(p, EIO, "peer %s: %s", p->label, p->why);
				break;
			}
			if (rdma_connect(id, &cp) != 0)
				peer_close(p, EHOSTUNREACH, "peer %s unreachable: "
				    "rdma_connect: %s", p->label, strerror(errno));
			break;
		case RDMA_CM_EVENT_ESTABLISHED:
			if (p != NULL && p->state == PS_CONNECT)
				peer_established(p, &cc);
			break;
		case RDMA_CM_EVENT_REJECTED:
			if (p != NULL && cc.reason[0] != '\0') {
				peer_close(p, strstr(cc.reason, "authentication") ?
				    EACCES : ECONNREFUSED, "peer %s refused the "
				    "connection: %s", p->label, cc.reason);
				break;
			}
			/* FALLTHROUGH */
		case RDMA_CM_EVENT_ADDR_ERROR:
		case RDMA_CM_EVENT_ROUTE_ERROR:
		case RDMA_CM_EVENT_CONNECT_ERROR:
		case RDMA_CM_EVENT_UNREACHABLE:
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

/* The rdma_cm channel's events, or the completion channel's. */
static void
chan_cb(int fd, short ev, void *arg)
{
	struct segd *sd = arg;

	(void)ev;
	if (fd == sd->rdma->cm_ch->fd)
		peer_cm_events(sd);
	else
		peer_cq_events(sd);
}

/* Serve the rdma_cm and completion channels rdma_init() opened. */
int
peer_start(struct segd *sd, struct segerr *e)
{
	cm_ev = event_new(sd->base, sd->rdma->cm_ch->fd, EV_READ | EV_PERSIST,
	    chan_cb, sd);
	comp_ev = event_new(sd->base, sd->rdma->comp_ch->fd,
	    EV_READ | EV_PERSIST, chan_cb, sd);
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
