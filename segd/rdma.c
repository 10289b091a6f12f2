/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * rdma.c: segd's RDMA device.  The rdma_cm listener on -l ADDR[:PORT]
 * decides the device (or -D names it and must agree); one protection
 * domain and one completion channel serve every connection.  Every
 * allocated segment is registered once, when its address is set, for local
 * access by zero-copy get and put; exports add remote-access registrations
 * of their own (export.c).
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#include "segd.h"

static int
set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* The address an rdma_cm id's other side has, as text ("?" if none). */
void
rdma_peer_addr(struct rdma_cm_id *id, char *buf, size_t size)
{
	struct sockaddr *sa = rdma_get_peer_addr(id);
	const void *a = sa->sa_family == AF_INET ?
	    (void *)&((struct sockaddr_in *)sa)->sin_addr :
	    (void *)&((struct sockaddr_in6 *)sa)->sin6_addr;

	if (inet_ntop(sa->sa_family, a, buf, (socklen_t)size) == NULL)
		snprintf(buf, size, "?");
}

int
rdma_sockaddr(const char *host, uint16_t port, struct sockaddr_storage *ss,
    struct segerr *e)
{
	struct addrinfo hints, *res;
	char ps[8];
	int r;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	snprintf(ps, sizeof ps, "%u", port);
	if ((r = getaddrinfo(host, ps, &hints, &res)) != 0)
		return seterr(e, EINVAL, "bad address '%s': %s", host,
		    gai_strerror(r));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return 0;
}

struct ibv_mr *
rdma_reg(struct segd *sd, void *addr, size_t len, int access,
    struct segerr *e)
{
	struct ibv_mr *mr = ibv_reg_mr(sd->rdma->pd, addr, len, access);

	if (mr == NULL)
		seterr(e, errno ? errno : ENOMEM, "ibv_reg_mr of %zu bytes: %s",
		    len, strerror(errno ? errno : ENOMEM));
	return mr;
}

void
rdma_dereg(struct ibv_mr *mr)
{
	if (mr != NULL && ibv_dereg_mr(mr) != 0)
		log_warnx("%s: ibv_dereg_mr: %s", __func__, strerror(errno));
}

/* A segment's memory region follows its allocation (namespace hooks). */
int
rdma_seg_reg(struct segd *sd, struct segment *s, struct segerr *e)
{
	s->mr = rdma_reg(sd, s->map, s->len, IBV_ACCESS_LOCAL_WRITE, e);
	return s->mr == NULL ? -1 : 0;
}

void
rdma_seg_dereg(struct segment *s)
{
	rdma_dereg(s->mr);
	s->mr = NULL;
}

int
rdma_init(struct segd *sd, struct segerr *e)
{
	struct rdma *r;
	struct ibv_device_attr attr;
	char host[INET6_ADDRSTRLEN + 1];
	const char *dname, *why;

	if ((r = calloc(1, sizeof *r)) == NULL)
		return seterr(e, ENOMEM, "out of memory");
	sd->rdma = r;
	if (seg_parse_hostport(sd->listen, host, sizeof host, &r->port,
	    SEGP_PORT, &why) < 0) {
		seterr(e, EINVAL, "-l %s: %s", sd->listen, why);
		goto fail;
	}
	if (rdma_sockaddr(host, r->port, &r->addr, e) < 0)
		goto fail;
	snprintf(r->host, sizeof r->host, "%s", host);
	if ((r->cm_ch = rdma_create_event_channel()) == NULL) {
		seterr(e, errno, "rdma_create_event_channel: %s", strerror(errno));
		goto fail;
	}
	if (rdma_create_id(r->cm_ch, &r->listen_id, NULL, RDMA_PS_TCP) < 0) {
		seterr(e, errno, "rdma_create_id: %s", strerror(errno));
		goto fail;
	}
	if (rdma_bind_addr(r->listen_id, (struct sockaddr *)&r->addr) < 0) {
		seterr(e, errno, "rdma_bind_addr %s: %s", sd->listen,
		    strerror(errno));
		goto fail;
	}
	if (r->listen_id->verbs == NULL) {
		seterr(e, ENODEV, "%s is not served by an RDMA device; bind to "
		    "the address of an RDMA (or rxe) interface", host);
		goto fail;
	}
	r->verbs = r->listen_id->verbs;
	dname = ibv_get_device_name(r->verbs->device);
	snprintf(r->devname, sizeof r->devname, "%s", dname ? dname : "?");
	if (sd->device != NULL && strcmp(sd->device, r->devname) != 0) {
		seterr(e, EINVAL, "%s is served by device %s, not %s", host,
		    r->devname, sd->device);
		goto fail;
	}
	if (ibv_query_device(r->verbs, &attr) != 0) {
		seterr(e, errno, "ibv_query_device: %s", strerror(errno));
		goto fail;
	}
	r->max_rd_atom = (unsigned)(attr.max_qp_rd_atom < attr.max_qp_init_rd_atom ?
	    attr.max_qp_rd_atom : attr.max_qp_init_rd_atom);
	if (r->max_rd_atom > 16)
		r->max_rd_atom = 16;
	if (r->max_rd_atom == 0)
		r->max_rd_atom = 1;
	r->max_qp_wr = (unsigned)attr.max_qp_wr;
	if ((r->pd = ibv_alloc_pd(r->verbs)) == NULL) {
		seterr(e, errno, "ibv_alloc_pd: %s", strerror(errno));
		goto fail;
	}
	if ((r->scratch = calloc(1, 64)) == NULL ||
	    (r->scratch_mr = rdma_reg(sd, r->scratch, 64,
	    IBV_ACCESS_LOCAL_WRITE, e)) == NULL)
		goto fail;
	if ((r->comp_ch = ibv_create_comp_channel(r->verbs)) == NULL) {
		seterr(e, errno, "ibv_create_comp_channel: %s", strerror(errno));
		goto fail;
	}
	if (set_nonblock(r->cm_ch->fd) < 0 || set_nonblock(r->comp_ch->fd) < 0) {
		seterr(e, errno, "fcntl: %s", strerror(errno));
		goto fail;
	}
	if (rdma_listen(r->listen_id, 64) < 0) {
		seterr(e, errno, "rdma_listen %s: %s", sd->listen, strerror(errno));
		goto fail;
	}
	log_info("segd: node %s listening on %s port %u, device %s", sd->node,
	    host, r->port, r->devname);
	return 0;
fail:
	rdma_shutdown(sd);
	return -1;
}

void
rdma_shutdown(struct segd *sd)
{
	struct rdma *r = sd->rdma;

	if (r == NULL)
		return;
	if (r->listen_id)
		rdma_destroy_id(r->listen_id);
	if (r->comp_ch)
		ibv_destroy_comp_channel(r->comp_ch);
	/* the pd goes last, after segments' memory regions: rdma_free() */
	r->listen_id = NULL;
	r->comp_ch = NULL;
}

/* After every segment and bounce region is deregistered. */
void
rdma_free(struct segd *sd)
{
	struct rdma *r = sd->rdma;

	if (r == NULL)
		return;
	rdma_dereg(r->scratch_mr);
	free(r->scratch);
	if (r->pd && ibv_dealloc_pd(r->pd) != 0)
		log_warnx("%s: ibv_dealloc_pd: %s", __func__, strerror(errno));
	if (r->cm_ch)
		rdma_destroy_event_channel(r->cm_ch);
	free(r);
	sd->rdma = NULL;
}
