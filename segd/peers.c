/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * peers.c: what other modules may ask of segd<->segd connections: their
 * names, versions and state, listings, and finding one by node name or
 * address.  It reads what peer.c keeps and never changes it, except by
 * asking peer.c for a connection (peer_get).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "peer.h"

int
peer_alive(const struct peer *p)
{
	return p->state != PS_CLOSED;
}

const char *
peer_node(const struct peer *p)
{
	return p->node;
}

const char *
peer_addr(const struct peer *p)
{
	return p->addr;
}

uint32_t
peer_version(const struct peer *p)
{
	return p->version;
}

uint32_t
peer_caps(const struct peer *p)
{
	return p->caps;
}

int
peer_ready_now(const struct peer *p)
{
	return p->state == PS_READY;
}

const char *
peer_label(const struct peer *p)
{
	return p->label;
}

/* Why the connection ended, and its errno value. */
const char *
peer_why(const struct peer *p, int *code)
{
	*code = p->code;
	return p->why;
}

struct segd *
peer_segd(const struct peer *p)
{
	return p->sd;
}

void **
peer_rops(struct peer *p)
{
	return &p->rops;
}

void
peer_stat(const struct peer *p, struct peer_stat *st)
{
	snprintf(st->node, sizeof st->node, "%s", p->node[0] ? p->node : "-");
	snprintf(st->where, sizeof st->where, "%s", p->key[0] ? p->key :
	    p->addr);
	snprintf(st->label, sizeof st->label, "%s", p->label);
	st->state = peer_state_names[p->state];
	st->outbound = p->outbound;
	st->credits = p->credits;
	st->queued = p->nsendq;
	st->version = p->version;
}

/* fn(p, arg) for every peer, or every ready one; fn must not close peers. */
void
peer_foreach(struct segd *sd, int ready, void (*fn)(struct peer *, void *),
    void *arg)
{
	struct peer *p;

	(void)sd;
	TAILQ_FOREACH(p, &peers, entry)
		if (!ready || p->state == PS_READY)
			fn(p, arg);
}

/* The ready peer whose hello gave this node name, or NULL. */
static struct peer *
peer_find_node(const char *node)
{
	struct peer *p;

	TAILQ_FOREACH(p, &peers, entry)
		if (p->state == PS_READY && strcmp(p->node, node) == 0)
			return p;
	return NULL;
}

/* An address (ADDR, ADDR:PORT, [V6]:PORT), or a connected peer's name. */
struct peer *
peer_resolve(struct segd *sd, const char *name, struct segerr *e)
{
	struct sockaddr_storage ss;
	struct segerr ign;
	char host[INET6_ADDRSTRLEN + 1];
	const char *why;
	uint16_t port;
	struct peer *p;

	if (sd->rdma == NULL) {
		seterr(e, ENOTSUP, "segd has no RDMA: start it with -l ADDR");
		return NULL;
	}
	if (seg_parse_hostport(name, host, sizeof host, &port, SEGP_PORT,
	    &why) == 0 && rdma_sockaddr(host, port, &ss, &ign) == 0)
		return peer_get(sd, host, port, name, e);
	if ((p = peer_find_node(name)) != NULL)
		return p;
	seterr(e, ENOENT, "no peer '%s': name it by address (ADDR or "
	    "ADDR:PORT) or by the node name of a connected peer", name);
	return NULL;
}
