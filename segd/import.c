/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * import.c: imports held by the socket's clients, an adapter of rseg.c.
 *
 * A client's import lives as long as its connection to segd (or until
 * seg_unimport) and is known to the client by a handle.  get and put are
 * RDMA READ and WRITE that rseg_io.c posts on the client's behalf.  When
 * the client's buffer lies in a segment (every segment is mapped at the same
 * address in segd and registered), the work request names that memory
 * directly: zero copy.  Any other buffer goes through the client's bounce
 * region, a shared memory area registered once.  Every check is made
 * before anything is posted.
 */
#include <sys/mman.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <infiniband/verbs.h>

#include "segd.h"

#define BOUNCE_SIZE  (8u << 20)

static unsigned deadline_ms;	/* segd's, told to direct-path importers */
#define LABEL_MAX    128

/*
 * The bounce region of a client: references held by the client (1) and
 * by each io using it (1).
 */
struct bounce {
	int            fd;
	void          *map;
	struct ibv_mr *mr;
	unsigned       refs;
};

/* A client's import: holds one reference to the rseg import. */
struct cimport {
	LIST_ENTRY(cimport) entry;
	uint64_t            handle;
	struct rimp        *imp;
};

struct client_imports {
	LIST_HEAD(, cimport) list;
	uint64_t             next_handle;
	struct bounce       *bounce;
};

/* A ticket request of a client, until rseg.c calls back. */
struct ticketq {
	struct creq *q;
	uint64_t     handle;
};

/* An io of a client: what it holds until rseg.c calls back. */
struct cio {
	struct segd     *sd;
	struct creq     *q;
	int              bounced;
	uint64_t         total;
	struct bounce   *bounce;	/* a reference, when bounced */
	uint32_t         n;
	struct segment **segs;	/* zero copy: each entry's, with a reference */
};

static struct client_imports *
client_imports(struct client *c)
{
	void **slot = client_slot(c, CLIENT_IMPORTS);
	struct client_imports *ci = *slot;

	if (ci == NULL && (ci = calloc(1, sizeof *ci)) != NULL) {
		LIST_INIT(&ci->list);
		ci->next_handle = 1;
		*slot = ci;
	}
	return ci;
}

static void
bounce_put(struct bounce *b)
{
	if (b == NULL || --b->refs > 0)
		return;
	rdma_dereg(b->mr);
	munmap(b->map, BOUNCE_SIZE);
	close(b->fd);
	free(b);
}

static void
cimport_free(struct cimport *ci)
{
	LIST_REMOVE(ci, entry);
	rseg_put(ci->imp);	/* the client import's reference */
	free(ci);
}

void
import_client_gone(struct segd *sd, struct client *c)
{
	void **slot = client_slot(c, CLIENT_IMPORTS);
	struct client_imports *ci = *slot;
	struct cimport *x;

	(void)sd;
	if (ci == NULL)
		return;
	while ((x = LIST_FIRST(&ci->list)) != NULL)
		cimport_free(x);
	bounce_put(ci->bounce);	/* the client's reference */
	free(ci);
	*slot = NULL;
}

static struct cimport *
cimport_find(struct client *c, uint64_t handle, struct segerr *e)
{
	struct client_imports *ci = *client_slot(c, CLIENT_IMPORTS);
	struct cimport *x;

	if (ci != NULL)
		LIST_FOREACH(x, &ci->list, entry)
			if (x->handle == handle)
				return x;
	seterr(e, EBADF, "no import with handle %llu",
	    (unsigned long long)handle);
	return NULL;
}

/* "HOST PORT LABEL" from a local request */
static struct peer *
request_peer(struct segd *sd, const struct segw_req *r, char *label,
    struct segerr *e)
{
	char host[INET6_ADDRSTRLEN + 1];
	unsigned port;

	if (sscanf(r->text, "%46s %u %127s", host, &port, label) != 3 ||
	    port == 0 || port > 65535)
		return seterr(e, EINVAL, "bad peer reference"), NULL;
	return peer_get(sd, host, (uint16_t)port, label, e);
}

/* The reply to IMPORT or TICKET: the import, and its direct data path. */
static void
imp_reply(struct creq *q, const struct cimport *x)
{
	const struct rimp *imp = x->imp;
	uint8_t buf[sizeof(struct segw_imp_wire) + sizeof(struct segw_direct_wire)];
	const char *why;
	struct segw_imp m;

	memset(&m, 0, sizeof m);
	m.handle = x->handle;
	m.len = imp->len;
	m.rva = imp->rva;
	m.gen = imp->gen;
	m.rkey = imp->rkey;
	m.perm = imp->perm;
	m.eflags = imp->eflags;
	m.direct = imp->direct && seg_parse_hostport(imp->where, m.addr,
	    sizeof m.addr, &m.port, SEGP_PORT, &why) == 0;
	if (m.direct) {
		m.grant = imp->grant;
		memcpy(m.ticket, imp->ticket, sizeof m.ticket);
		m.drkey = imp->drkey;
		m.deadline_ms = deadline_ms;
	}
	creq_reply_raw(q, buf, segw_imp_encode(buf, sizeof buf, &m));
}

static void
import_done(void *arg, struct rimp *imp, const struct segerr *e)
{
	struct creq *q = arg;
	struct client *c = creq_client(q);
	struct client_imports *ci;
	struct cimport *x = NULL;

	if (e != NULL) {
		creq_fail_err(q, e);
		return;
	}
	if (c == NULL || (ci = client_imports(c)) == NULL ||
	    (x = calloc(1, sizeof *x)) == NULL) {
		rseg_put(imp);	/* nobody holds it */
		creq_fail(q, ENOMEM, "out of memory");
		return;
	}
	x->handle = ci->next_handle++;
	x->imp = imp;		/* takes the caller's reference */
	LIST_INSERT_HEAD(&ci->list, x, entry);
	imp_reply(q, x);
}

/* A new ticket came (or not): the import's reply again, or the error. */
static void
ticket_done(void *arg, const struct segerr *e)
{
	struct ticketq *t = arg;
	struct client *c = creq_client(t->q);
	struct cimport *x;
	struct segerr e2;

	if (e != NULL)
		creq_fail_err(t->q, e);
	else if (c == NULL || (x = cimport_find(c, t->handle, &e2)) == NULL)
		creq_fail(t->q, EBADF, "the import went meanwhile");
	else
		imp_reply(t->q, x);
	free(t);
}

static void
list_done(void *arg, const char *node, const struct segp_ent *ents,
    unsigned n, const struct segerr *e)
{
	struct creq *q = arg;
	struct segw_info info;
	unsigned i;

	(void)node;
	if (e != NULL) {
		creq_fail_err(q, e);
		return;
	}
	for (i = 0; i < n; i++) {
		memset(&info, 0, sizeof info);
		snprintf(info.name, sizeof info.name, "%s", ents[i].name);
		info.verb = ents[i].verb;
		info.mode = ents[i].perm |
		    ents[i].eflags << SEGW_EXP_MODESHIFT;
		info.len = ents[i].len;
		info.va = ents[i].va;	/* 0 from peers of versions 1, 2 */
		creq_stream(q, SEGW_LISTENT, &info, NULL, 0);
	}
	creq_stream(q, SEGW_LISTEND, NULL, NULL, 0);
	creq_end(q);
}

/* A remote free or signal was applied by the owner, or failed. */
static void
notify_done(void *arg, const struct segerr *e)
{
	if (e != NULL)
		creq_fail_err(arg, e);
	else
		creq_reply(arg, NULL, NULL, 0, -1);
}

static void
do_bounce(struct segd *sd, struct creq *q, struct client *c)
{
	struct client_imports *ci = client_imports(c);
	struct segw_info info;
	struct bounce *b;
	struct segerr e;
	int fd;

	if (sd->rdma == NULL) {
		creq_fail(q, ENOTSUP, "segd has no RDMA: start it with -l ADDR");
		return;
	}
	if (ci == NULL) {
		creq_fail(q, ENOMEM, "out of memory");
		return;
	}
	if ((b = ci->bounce) == NULL) {
		if ((b = calloc(1, sizeof *b)) == NULL) {
			creq_fail(q, ENOMEM, "out of memory");
			return;
		}
		b->fd = memfd_create("segd-bounce", MFD_CLOEXEC);
		if (b->fd < 0 || ftruncate(b->fd, BOUNCE_SIZE) < 0 ||
		    (b->map = mmap(NULL, BOUNCE_SIZE, PROT_READ | PROT_WRITE,
		    MAP_SHARED, b->fd, 0)) == MAP_FAILED) {
			creq_fail(q, errno, "bounce region: %s", strerror(errno));
			if (b->fd >= 0)
				close(b->fd);
			free(b);
			return;
		}
		if ((b->mr = rdma_reg(sd, b->map, BOUNCE_SIZE,
		    IBV_ACCESS_LOCAL_WRITE, &e)) == NULL) {
			creq_fail_err(q, &e);
			munmap(b->map, BOUNCE_SIZE);
			close(b->fd);
			free(b);
			return;
		}
		b->refs = 1;	/* the client's */
		ci->bounce = b;
	}
	if ((fd = dup(b->fd)) < 0) {
		creq_fail(q, errno, "dup: %s", strerror(errno));
		return;
	}
	memset(&info, 0, sizeof info);
	info.len = BOUNCE_SIZE;
	creq_reply(q, &info, NULL, 0, fd);
}

static int
ticket_ask(struct creq *q, struct cimport *x, struct segerr *e)
{
	struct ticketq *t = calloc(1, sizeof *t);

	if (t == NULL)
		return seterr(e, ENOMEM, "out of memory");
	t->q = q;
	t->handle = x->handle;
	if (rseg_ticket(x->imp, ticket_done, t, e) < 0) {
		free(t);
		return -1;
	}
	return 0;
}

/* Import, unimport, a peer's listing, remote signal, the bounce region. */
void
import_request(struct segd *sd, struct client *c, uint16_t op,
    const struct segw_req *r)
{
	struct creq *q = creq_new(c, op);
	struct segerr e = { 0, "" };
	struct cimport *x;
	struct peer *p;
	char label[LABEL_MAX];

	if (q == NULL)
		return;
	deadline_ms = sd->deadline_ms;
	switch (op) {
	case SEGW_IMPORT:
	case SEGW_PEERLS:
		if ((p = request_peer(sd, r, label, &e)) == NULL)
			break;
		if (op == SEGW_IMPORT)
			rseg_import(sd, p, label, r->name, import_done, q);
		else
			rseg_list(sd, p, label, list_done, q);
		return;
	case SEGW_UNIMPORT:
		if ((x = cimport_find(c, r->a, &e)) == NULL)
			break;
		cimport_free(x);
		creq_reply(q, NULL, NULL, 0, -1);
		return;
	case SEGW_RSIGNAL:
		if ((x = cimport_find(c, r->a, &e)) == NULL ||
		    rseg_signal(x->imp, notify_done, q, &e) < 0)
			break;
		return;
	case SEGW_TICKET:
		if ((x = cimport_find(c, r->a, &e)) == NULL ||
		    ticket_ask(q, x, &e) < 0)
			break;
		return;
	case SEGW_IMPINFO:	/* the binding now (a rebind may have moved it) */
		if ((x = cimport_find(c, r->a, &e)) == NULL ||
		    rseg_usable(x->imp, &e) < 0)
			break;
		imp_reply(q, x);
		return;
	case SEGW_BOUNCE:
		do_bounce(sd, q, c);
		return;
	default:
		seterr(&e, EINVAL, "operation %u is not an import request", op);
		break;
	}
	creq_fail_err(q, &e);
}

void
import_rfree(struct segd *sd, struct client *c, const struct segw_addrs *a)
{
	struct creq *q = creq_new(c, SEGW_RFREE);
	struct segerr e;
	struct cimport *x;

	(void)sd;
	if (q == NULL)
		return;
	if ((x = cimport_find(c, a->handle, &e)) == NULL ||
	    rseg_free(x->imp, a->addrs, a->n, notify_done, q, &e) < 0)
		creq_fail_err(q, &e);
}

struct rimp *
import_rimp(struct client *c, uint64_t handle, struct segerr *e)
{
	struct cimport *x = cimport_find(c, handle, e);

	return x != NULL ? x->imp : NULL;
}

/* An atomic's old word (or ALIVE's 1/0) in the reply's va. */
static void
atomic_done(void *arg, uint64_t word, const struct segerr *e)
{
	struct segw_info info;

	if (e != NULL) {
		creq_fail_err(arg, e);
		return;
	}
	memset(&info, 0, sizeof info);
	info.va = word;
	creq_reply(arg, &info, NULL, 0, -1);
}

/* CAS, FADD and ALIVE through rseg.c; HOLDER is known here. */
void
import_atomic(struct segd *sd, struct client *c, const struct segw_atomic *at)
{
	struct creq *q = creq_new(c, SEGW_ATOMIC);
	struct segerr e;
	struct cimport *x;

	if (q == NULL)
		return;
	if ((x = cimport_find(c, at->handle, &e)) == NULL)
		goto fail;
	if (at->kind == SEGW_AT_HOLDER) {
		if (rseg_usable(x->imp, &e) < 0)
			goto fail;
		atomic_done(q, x->imp->id, NULL);
		return;
	}
	if (rseg_atomic(sd, x->imp, at->kind, at->off, at->a, at->b,
	    atomic_done, q, &e) == 0)
		return;
fail:
	creq_fail_err(q, &e);
}

static void
cio_free(struct cio *o)
{
	uint32_t i;

	if (o->segs != NULL)
		for (i = 0; i < o->n; i++)
			if (o->segs[i] != NULL)
				seg_put(&o->sd->ns, o->segs[i]);	/* the io's */
	free(o->segs);
	bounce_put(o->bounce);	/* the io's reference */
	free(o);
}

static void
cio_done(void *arg, const struct segerr *e)
{
	struct cio *o = arg;
	struct segw_info info;

	if (e != NULL)
		creq_fail_err(o->q, e);
	else {
		if (o->bounced)
			o->sd->bounce_bytes += o->total;
		else
			o->sd->zerocopy_bytes += o->total;
		memset(&info, 0, sizeof info);
		info.len = o->total;
		creq_reply(o->q, &info, NULL, 0, -1);
	}
	cio_free(o);
}

/* Entry i's local buffer, checked, into v[i]; holds its segment. */
static int
cio_local(struct cio *o, const struct cred *cr, int kind,
    const struct segw_iov *in, uint32_t i, struct rseg_sge *v,
    struct segerr *e)
{
	struct segment *s;

	v->off = in->off;
	v->len = in->len;
	if (in->len == 0)
		return 0;
	o->total += in->len;
	if (o->bounced) {
		if (in->va > BOUNCE_SIZE || in->len > BOUNCE_SIZE - in->va)
			return seterr(e, EINVAL, "range is outside the bounce "
			    "region");
		v->addr = (uintptr_t)o->bounce->map + in->va;
		v->lkey = o->bounce->mr->lkey;
		return 0;
	}
	if ((s = ns_find_range(&o->sd->ns, in->va, in->len)) == NULL ||
	    s->mr == NULL)
		return seterr(e, EFAULT, "buffer 0x%llx+0x%llx is not inside one "
		    "segment", (unsigned long long)in->va,
		    (unsigned long long)in->len);
	if (perm_check(cr, s, kind == SEGW_IO_GET ? SEGW_WR : SEGW_RD, e) < 0)
		return -1;
	o->segs[i] = s;
	seg_hold(s);		/* the io's reference */
	v->addr = in->va;
	v->lkey = s->mr->lkey;
	return 0;
}

static struct cio *
cio_new(struct segd *sd, struct creq *q, struct client_imports *ci,
    const struct segw_io *io, struct segerr *e)
{
	struct cio *o = calloc(1, sizeof *o);

	if (o == NULL || (io->n > 0 &&
	    (o->segs = calloc(io->n, sizeof *o->segs)) == NULL)) {
		free(o);
		seterr(e, ENOMEM, "out of memory");
		return NULL;
	}
	o->sd = sd;
	o->q = q;
	o->n = io->n;
	if ((o->bounced = (io->flags & SEGW_IO_BOUNCE) != 0)) {
		o->bounce = ci->bounce;
		o->bounce->refs++;	/* the io's reference */
	}
	return o;
}

void
import_io(struct segd *sd, struct client *c, const struct segw_io *io)
{
	static struct rseg_sge v[SEGW_IO_MAXN];
	struct creq *q = creq_new(c, SEGW_IO);
	struct client_imports *ci = client_imports(c);
	struct segerr e = { 0, "" };
	struct cimport *x;
	struct cio *o = NULL;
	uint32_t i, n = io->kind == SEGW_IO_BARRIER ? 0 : io->n;

	if (q == NULL)
		return;
	if ((x = cimport_find(c, io->handle, &e)) == NULL)
		goto fail;
	if ((io->flags & SEGW_IO_BOUNCE) && (ci == NULL || ci->bounce == NULL)) {
		seterr(&e, EINVAL, "no bounce region: ask for one first");
		goto fail;
	}
	if ((o = cio_new(sd, q, ci, io, &e)) == NULL)
		goto fail;
	for (i = 0; i < n; i++)
		if (cio_local(o, client_cred(c), io->kind, &io->iov[i], i, &v[i],
		    &e) < 0)
			goto fail;
	if (rseg_io(sd, x->imp, io->kind, v, n, cio_done, o, &e) == 0)
		return;
fail:
	creq_fail_err(q, &e);
	if (o != NULL)
		cio_free(o);
}
