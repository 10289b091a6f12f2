/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * dpath.c: libseg's direct data path.  For an import whose exporter offers
 * one, this process connects a queue pair of its own, with rdma_cm,
 * straight to the exporter's segd, presenting the import's ticket in the
 * connect's private data, and posts and polls its RDMA READs and WRITEs
 * itself: no round trip through the local segd.
 *
 * Resources, made on first use: per device, this process's own verbs
 * context (opened anew in a forked child, never the parent's), protection
 * domain and a registered bounce region; per import, a completion channel,
 * a completion queue and the queue pair.  A buffer inside an attached
 * segment is registered once per attachment (lazily, released at detach)
 * and moved by DMA; any other buffer is copied through the bounce region.
 *
 * Completions are busy-polled for a bounded time (SEG_SPIN_US, plus the
 * time the bytes in flight are expected to take, at most SEG_SPIN_MAX_US),
 * then the completion queue is armed and the caller sleeps on its channel.
 */
#include <sys/mman.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#include "libseg.h"

#define DP_SQ         128		/* work requests in flight */
#define DP_POLL       16		/* completions taken at once */
#define DP_POST       32		/* work requests a chain, one completion */
#define DP_MAXWR      (1u << 20)	/* bytes in one work request */
#define DP_BOUNCE     (1u << 20)	/* a device's registered bounce region */
#define DP_SPIN_US    50		/* default busy-poll budget */
#define DP_SPIN_MAXUS 2000		/* default cap of the adaptive budget */
#define DP_RD_ATOM    16

/* This process's use of one RDMA device; lives as long as the process. */
struct dpdev {
	struct dpdev       *next;
	char                name[64];
	struct ibv_context *ctx;
	struct ibv_pd      *pd;
	uint8_t            *bounce;
	struct ibv_mr      *bmr;
	pthread_mutex_t     bounce_lock;
	unsigned            rd_atom;
	int                 atomics;	/* the device does RDMA atomics */
};

/* A registration of an attached segment, in one device's domain. */
struct dpreg {
	struct dpreg  *next;
	struct dpdev  *dev;
	uintptr_t      base;
	size_t         len;
	struct ibv_mr *mr;	/* NULL: refused (memlock); copy instead */
};

/* One import's data connection. */
struct dpconn {
	pid_t                      pid;
	struct rdma_event_channel *ch;
	struct rdma_cm_id         *id;
	struct ibv_comp_channel   *cc;
	struct ibv_cq             *cq;
	struct ibv_qp             *qp;
	struct dpdev              *dev;
	double                     ns_per_byte;	/* measured, for spinning */
};

/* one piece of a transfer: local bytes <-> remote offset */
struct dpseg {
	uint64_t laddr, roff;
	uint32_t lkey, len;
};

static pthread_mutex_t dp_lock = PTHREAD_MUTEX_INITIALIZER;
static struct dpdev *devs;
static struct dpreg *regs;
static pid_t dp_pid;
static struct seg_dpstats stats;
static char memlock_note[SEGW_MAXTEXT];

/* ---- process-wide: devices, registrations, counters ---- */

/* Under dp_lock: a forked child forgets its parent's (never frees them). */
static void
dp_fork_check(void)
{
	if (dp_pid == getpid())
		return;
	devs = NULL;
	regs = NULL;
	memset(&stats, 0, sizeof stats);
	memlock_note[0] = '\0';
	dp_pid = getpid();
}

static struct dpdev *
dev_open(const char *name)
{
	struct ibv_device **list = ibv_get_device_list(NULL), **d;
	struct ibv_device_attr attr;
	struct dpdev *v = NULL;

	for (d = list; d != NULL && *d != NULL; d++)
		if (strcmp(ibv_get_device_name(*d), name) == 0)
			break;
	if (d == NULL || *d == NULL || (v = calloc(1, sizeof *v)) == NULL)
		goto fail;
	snprintf(v->name, sizeof v->name, "%s", name);
	if ((v->ctx = ibv_open_device(*d)) == NULL ||
	    ibv_query_device(v->ctx, &attr) != 0 ||
	    (v->pd = ibv_alloc_pd(v->ctx)) == NULL ||
	    posix_memalign((void **)&v->bounce, 4096, DP_BOUNCE) != 0)
		goto fail;
	memset(v->bounce, 0, DP_BOUNCE);
	if ((v->bmr = ibv_reg_mr(v->pd, v->bounce, DP_BOUNCE,
	    IBV_ACCESS_LOCAL_WRITE)) == NULL)
		goto fail;
	v->atomics = attr.atomic_cap != IBV_ATOMIC_NONE;
	v->rd_atom = (unsigned)attr.max_qp_init_rd_atom;
	if (v->rd_atom == 0 || v->rd_atom > DP_RD_ATOM)
		v->rd_atom = v->rd_atom ? DP_RD_ATOM : 1;
	pthread_mutex_init(&v->bounce_lock, NULL);
	ibv_free_device_list(list);
	return v;
fail:
	seg_seterr(errno ? errno : ENODEV, "RDMA device %s: %s", name,
	    strerror(errno ? errno : ENODEV));
	if (v != NULL) {
		if (v->pd)
			ibv_dealloc_pd(v->pd);
		if (v->ctx)
			ibv_close_device(v->ctx);
		free(v->bounce);
		free(v);
	}
	if (list)
		ibv_free_device_list(list);
	return NULL;
}

/* This process's use of the device named name, opened on first use. */
static struct dpdev *
dev_get(const char *name)
{
	struct dpdev *v;

	pthread_mutex_lock(&dp_lock);
	dp_fork_check();
	for (v = devs; v != NULL; v = v->next)
		if (strcmp(v->name, name) == 0)
			break;
	if (v == NULL && (v = dev_open(name)) != NULL) {
		v->next = devs;
		devs = v;
	}
	pthread_mutex_unlock(&dp_lock);
	return v;
}

/*
 * The key of the attachment holding [va, va+len) in dev's domain: 1 and
 * *lkey, or 0 when the bytes must be copied (not in a segment, or its
 * registration was refused).
 */
static int
reg_key(struct dpdev *dev, uintptr_t va, size_t len, uint32_t *lkey)
{
	uintptr_t base;
	size_t alen;
	struct dpreg *r;
	int ok = 0;

	if (!seg_att_range(va, len, &base, &alen))
		return 0;
	pthread_mutex_lock(&dp_lock);
	dp_fork_check();
	for (r = regs; r != NULL; r = r->next)
		if (r->dev == dev && r->base == base && r->len == alen)
			break;
	if (r == NULL && (r = calloc(1, sizeof *r)) != NULL) {
		r->dev = dev;
		r->base = base;
		r->len = alen;
		r->mr = ibv_reg_mr(dev->pd, (void *)base, alen,
		    IBV_ACCESS_LOCAL_WRITE);
		if (r->mr == NULL) {
			__atomic_add_fetch(&stats.reg_refused, 1, __ATOMIC_RELAXED);
			snprintf(memlock_note, sizeof memlock_note, "zero-copy "
			    "registration of %zu bytes refused (%s): raise "
			    "RLIMIT_MEMLOCK (ulimit -l, LimitMEMLOCK=) for zero "
			    "copy; these buffers are copied meanwhile", alen,
			    strerror(errno));
		}
		r->next = regs;
		regs = r;
	}
	if (r != NULL && r->mr != NULL) {
		*lkey = r->mr->lkey;
		ok = 1;
	}
	pthread_mutex_unlock(&dp_lock);
	return ok;
}

/* The attachment [base, base+len) goes (seg_detach): its registrations. */
void
dp_att_gone(uintptr_t base, size_t len)
{
	struct dpreg **pp, *r;

	pthread_mutex_lock(&dp_lock);
	dp_fork_check();
	for (pp = &regs; (r = *pp) != NULL; )
		if (r->base < base + len && base < r->base + r->len) {
			*pp = r->next;
			if (r->mr != NULL)
				ibv_dereg_mr(r->mr);
			free(r);
		} else
			pp = &r->next;
	pthread_mutex_unlock(&dp_lock);
}

void
dp_stats(struct seg_dpstats *s, char *note, size_t size)
{
	pthread_mutex_lock(&dp_lock);
	dp_fork_check();
	*s = stats;
	snprintf(note, size, "%s", memlock_note);
	pthread_mutex_unlock(&dp_lock);
}

void
dp_count_segd_atomic(void)
{
	__atomic_add_fetch(&stats.segd_atomics, 1, __ATOMIC_RELAXED);
}

void
dp_count_segd(uint64_t bytes)
{
	__atomic_add_fetch(&stats.segd_ops, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&stats.segd_bytes, bytes, __ATOMIC_RELAXED);
}

/* ---- connections ---- */

/* The next rdma_cm event, want; -1 with the error otherwise. */
static int
cm_wait(struct dpconn *c, enum rdma_cm_event_type want, long long end,
    const char *label)
{
	struct rdma_cm_event *ev;
	struct pollfd pfd = { c->ch->fd, POLLIN, 0 };
	char why[SEGW_MAXTEXT] = "";
	enum rdma_cm_event_type got;
	long long left;
	int status;

	while ((left = end - seg_now_us()) > 0 && poll(&pfd, 1,
	    (int)(left / 1000 + 1)) == 0)
		;
	if (left <= 0 || rdma_get_cm_event(c->ch, &ev) != 0)
		return seg_seterr(ETIMEDOUT, "peer %s did not answer the data "
		    "connection in time", label);
	got = ev->event;
	status = ev->status;
	if (got == RDMA_CM_EVENT_REJECTED && ev->param.conn.private_data_len)
		snprintf(why, sizeof why, "%.*s",
		    (int)ev->param.conn.private_data_len,
		    (const char *)ev->param.conn.private_data);
	rdma_ack_cm_event(ev);
	if (got == want)
		return 0;
	if (got == RDMA_CM_EVENT_REJECTED)
		return seg_seterr(ECONNREFUSED, "data connection refused by peer "
		    "%s: %s", label, why[0] ? why : "rejected");
	return seg_seterr(EHOSTUNREACH, "data connection to peer %s: %s "
	    "(status %d)", label, rdma_event_str(got), status);
}

void
dp_close(struct dpconn *c)
{
	if (c == NULL)
		return;
	if (c->pid != getpid()) {	/* the parent's: leave it to the parent */
		free(c);
		return;
	}
	if (c->id != NULL)
		rdma_disconnect(c->id);
	if (c->qp != NULL)
		ibv_destroy_qp(c->qp);
	if (c->cq != NULL)
		ibv_destroy_cq(c->cq);
	if (c->cc != NULL)
		ibv_destroy_comp_channel(c->cc);
	if (c->id != NULL)
		rdma_destroy_id(c->id);
	if (c->ch != NULL)
		rdma_destroy_event_channel(c->ch);
	free(c);
}

/* The queue pair of our own, through INIT (RTR and RTS once answered). */
static int
qp_make(struct dpconn *c)
{
	struct ibv_qp_init_attr qa;
	struct ibv_qp_attr a;
	int mask;

	if ((c->cc = ibv_create_comp_channel(c->dev->ctx)) == NULL ||
	    fcntl(c->cc->fd, F_SETFL, fcntl(c->cc->fd, F_GETFL) | O_NONBLOCK) < 0 ||
	    (c->cq = ibv_create_cq(c->dev->ctx, DP_SQ + 1, NULL, c->cc, 0)) == NULL)
		return seg_seterr(errno, "ibv_create_cq: %s", strerror(errno));
	memset(&qa, 0, sizeof qa);
	qa.send_cq = qa.recv_cq = c->cq;
	qa.qp_type = IBV_QPT_RC;
	qa.cap.max_send_wr = DP_SQ;
	qa.cap.max_recv_wr = 1;
	qa.cap.max_send_sge = qa.cap.max_recv_sge = 1;
	if ((c->qp = ibv_create_qp(c->dev->pd, &qa)) == NULL)
		return seg_seterr(errno, "ibv_create_qp: %s", strerror(errno));
	memset(&a, 0, sizeof a);
	a.qp_state = IBV_QPS_INIT;
	if (rdma_init_qp_attr(c->id, &a, &mask) != 0 ||
	    ibv_modify_qp(c->qp, &a, mask) != 0)
		return seg_seterr(errno, "queue pair to INIT: %s", strerror(errno));
	return 0;
}

static int
qp_ready(struct dpconn *c)
{
	static const enum ibv_qp_state states[] = { IBV_QPS_RTR, IBV_QPS_RTS };
	struct ibv_qp_attr a;
	int mask, i;

	for (i = 0; i < 2; i++) {
		memset(&a, 0, sizeof a);
		a.qp_state = states[i];
		if (rdma_init_qp_attr(c->id, &a, &mask) != 0 ||
		    ibv_modify_qp(c->qp, &a, mask) != 0)
			return seg_seterr(errno, "queue pair to %s: %s",
			    i ? "RTS" : "RTR", strerror(errno));
	}
	return 0;
}

/* Address and route of m's exporter, then this process's device. */
static int
resolve(struct dpconn *c, const struct segw_imp *m, long long end,
    const char *label)
{
	struct addrinfo hints, *res;
	char port[8];
	int r;

	memset(&hints, 0, sizeof hints);
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	snprintf(port, sizeof port, "%u", m->port);
	if ((r = getaddrinfo(m->addr, port, &hints, &res)) != 0)
		return seg_seterr(EINVAL, "peer %s: %s", label, gai_strerror(r));
	r = rdma_resolve_addr(c->id, NULL, res->ai_addr, 2000);
	freeaddrinfo(res);
	if (r != 0 || cm_wait(c, RDMA_CM_EVENT_ADDR_RESOLVED, end, label) < 0 ||
	    rdma_resolve_route(c->id, 2000) != 0 ||
	    cm_wait(c, RDMA_CM_EVENT_ROUTE_RESOLVED, end, label) < 0)
		return r != 0 ? seg_seterr(errno, "rdma_resolve_addr: %s",
		    strerror(errno)) : -1;
	if ((c->dev = dev_get(ibv_get_device_name(c->id->verbs->device))) ==
	    NULL)
		return -1;
	return 0;
}

/*
 * A data connection for import m (its ticket), made by end (seg_now_us());
 * -1, seg_errstr().
 */
struct dpconn *
dp_connect(const struct segw_imp *m, const char *label, long long end)
{
	struct segp_connect pc = { .magic = SEGP_CONNECT_DATA,
	    .vmin = 3, .vmax = 3, .grant = m->grant };
	uint8_t priv[SEGP_CONNECT_MAX];
	struct rdma_conn_param cp;
	struct dpconn *c;

	if ((c = calloc(1, sizeof *c)) == NULL) {
		seg_seterr(ENOMEM, "out of memory");
		return NULL;
	}
	c->pid = getpid();
	memcpy(pc.ticket, m->ticket, sizeof pc.ticket);
	if ((c->ch = rdma_create_event_channel()) == NULL ||
	    rdma_create_id(c->ch, &c->id, NULL, RDMA_PS_TCP) != 0) {
		seg_seterr(errno, "rdma_cm: %s", strerror(errno));
		goto fail;
	}
	if (resolve(c, m, end, label) < 0 || qp_make(c) < 0)
		goto fail;
	memset(&cp, 0, sizeof cp);
	cp.private_data = priv;
	cp.private_data_len = (uint8_t)segp_connect_encode(priv, sizeof priv, &pc);
	cp.initiator_depth = (uint8_t)c->dev->rd_atom;
	cp.retry_count = 7;
	cp.rnr_retry_count = 7;
	cp.qp_num = c->qp->qp_num;
	if (rdma_connect(c->id, &cp) != 0) {
		seg_seterr(errno, "rdma_connect: %s", strerror(errno));
		goto fail;
	}
	if (cm_wait(c, RDMA_CM_EVENT_CONNECT_RESPONSE, end, label) < 0 ||
	    qp_ready(c) < 0)
		goto fail;
	if (rdma_establish(c->id) != 0) {
		seg_seterr(errno, "rdma_establish: %s", strerror(errno));
		goto fail;
	}
	if (ibv_req_notify_cq(c->cq, 0) != 0 || fcntl(c->ch->fd, F_SETFL,
	    fcntl(c->ch->fd, F_GETFL) | O_NONBLOCK) < 0) {
		seg_seterr(errno, "data connection setup: %s", strerror(errno));
		goto fail;
	}
	__atomic_add_fetch(&stats.connects, 1, __ATOMIC_RELAXED);
	return c;
fail:
	dp_close(c);
	return NULL;
}

/* ---- transfers ---- */

static unsigned
spin_us(const struct dpconn *c, uint64_t bytes)
{
	static int budget = -1, cap = -1;
	const char *s;
	double us;

	if (budget < 0) {
		budget = (s = getenv("SEG_SPIN_US")) ? atoi(s) : DP_SPIN_US;
		cap = (s = getenv("SEG_SPIN_MAX_US")) ? atoi(s) : DP_SPIN_MAXUS;
		if (budget < 0)
			budget = 0;
		if (cap < budget)
			cap = budget;
	}
	us = budget + c->ns_per_byte * (double)bytes / 1000.0;
	return us > cap ? (unsigned)cap : (unsigned)us;
}

/*
 * An rdma_cm event on an established connection (a DISCONNECTED when the
 * exporter's segd dropped it: rebind, revoke, exit): the connection is
 * gone.  Its queue pair is not told (rdma_cm does not own it) and would
 * learn only when its retries ran out, so the caller stops waiting now.
 * 0: no event; -1 with the error.
 */
static int
cm_gone(struct dpconn *c, const char *label)
{
	struct rdma_cm_event *ev;
	enum rdma_cm_event_type got;

	if (rdma_get_cm_event(c->ch, &ev) != 0)
		return errno == EAGAIN ? 0 : seg_seterr(EIO,
		    "rdma_get_cm_event: %s", strerror(errno));
	got = ev->event;
	rdma_ack_cm_event(ev);
	return seg_seterr(ECONNRESET, "data connection to peer %s closed: %s",
	    label, rdma_event_str(got));
}

/*
 * Completions into wc (at most max): spin for spin µs, then arm the queue
 * and sleep on its channel, and on the connection's rdma_cm channel, until
 * end.  0: none by end; -1 with the error (the connection was closed).
 */
static int
cq_wait(struct dpconn *c, struct ibv_wc *wc, int max, unsigned spin,
    long long end, const char *label)
{
	long long stop = seg_now_us() + spin, left;
	struct pollfd pfd[2] = { { c->cc->fd, POLLIN, 0 },
	    { c->ch->fd, POLLIN, 0 } };
	struct ibv_cq *cq;
	void *ctx;
	int n;

	do {
		if ((n = ibv_poll_cq(c->cq, max, wc)) != 0)
			return n;
	} while (seg_now_us() < stop);
	for (;;) {
		if ((n = ibv_poll_cq(c->cq, max, wc)) != 0)
			return n;
		if ((left = end - seg_now_us()) <= 0)
			return 0;
		if (poll(pfd, 2, (int)(left / 1000 + 1)) <= 0)
			continue;
		if ((pfd[1].revents & POLLIN) && cm_gone(c, label) < 0)
			return -1;
		if ((pfd[0].revents & POLLIN) &&
		    ibv_get_cq_event(c->cc, &cq, &ctx) == 0) {
			ibv_ack_cq_events(cq, 1);
			if (ibv_req_notify_cq(c->cq, 0) != 0)
				return seg_seterr(EIO, "ibv_req_notify_cq: %s",
				    strerror(errno));
		}
	}
}

/* a chain's work requests and bytes share its completion's wr_id */
_Static_assert((uint64_t)DP_POST * DP_MAXWR <= UINT32_MAX,
    "a chain's bytes fit in the low half of wr_id");

/*
 * Post the first pieces of v (n of them), at most DP_POST, as one chain:
 * one doorbell (one system call on soft-RoCE) and one completion, whose
 * wr_id holds the chain's length and bytes (the queue completes in order,
 * so it stands for the whole chain).  How many were posted, their bytes
 * added to *inbytes; -1 with the error.
 */
static int
post_chain(struct dpconn *c, const struct segw_imp *m, int kind,
    const struct dpseg *v, size_t n, uint64_t *inbytes)
{
	struct ibv_send_wr wr[DP_POST], *bad;
	struct ibv_sge sge[DP_POST];
	uint64_t bytes = 0;
	size_t i;

	if (n > DP_POST)
		n = DP_POST;
	for (i = 0; i < n; i++) {
		sge[i].addr = v[i].laddr;
		sge[i].length = v[i].len;
		sge[i].lkey = v[i].lkey;
		memset(&wr[i], 0, sizeof wr[i]);
		wr[i].next = i + 1 < n ? &wr[i + 1] : NULL;
		wr[i].sg_list = &sge[i];
		wr[i].num_sge = 1;
		wr[i].opcode = kind == SEGW_IO_PUT ? IBV_WR_RDMA_WRITE :
		    IBV_WR_RDMA_READ;
		wr[i].wr.rdma.remote_addr = m->rva + v[i].roff;
		wr[i].wr.rdma.rkey = m->drkey;
		bytes += v[i].len;
	}
	wr[n - 1].send_flags = IBV_SEND_SIGNALED;
	wr[n - 1].wr_id = (uint64_t)n << 32 | bytes;
	if (ibv_post_send(c->qp, wr, &bad) != 0)
		return seg_seterr(EIO, "ibv_post_send: %s", strerror(errno));
	*inbytes += bytes;
	return (int)n;
}

/*
 * Post every piece, keeping the send queue full (chains of DP_POST), and
 * wait for them all until end; -1 with the error (the connection is then
 * unusable: an unsignaled request's failure still completes, with it).
 */
static int
dp_run(struct dpconn *c, const struct segw_imp *m, int kind,
    const struct dpseg *v, size_t n, const char *label, long long end)
{
	long long t0 = seg_now_us();
	uint64_t bytes = 0, inbytes = 0, cbytes;
	size_t next = 0, done = 0, inflight = 0, creqs;
	struct ibv_wc wc[DP_POLL];
	int i, got;

	while (done < n) {
		/* a chain when a whole one fits (or the rest does): the
		 * queue stays at least DP_SQ - DP_POST deep meanwhile */
		while (next < n && DP_SQ - inflight >= (n - next < DP_POST ?
		    n - next : DP_POST)) {
			if ((got = post_chain(c, m, kind, v + next, n - next,
			    &inbytes)) < 0)
				return -1;
			next += (size_t)got;
			inflight += (size_t)got;
		}
		got = cq_wait(c, wc, DP_POLL, spin_us(c, inbytes), end, label);
		if (got < 0)
			return -1;
		if (got == 0)
			return seg_seterr(ETIMEDOUT, "peer %s did not answer "
			    "within %u ms", label, m->deadline_ms);
		for (i = 0; i < got; i++) {
			if (wc[i].status != IBV_WC_SUCCESS)
				return seg_seterr(EIO, "RDMA %s on peer %s failed: "
				    "%s", kind == SEGW_IO_PUT ? "WRITE" : "READ",
				    label, ibv_wc_status_str(wc[i].status));
			/* the chain's bytes and length (post_chain) */
			cbytes = wc[i].wr_id & UINT32_MAX;
			creqs = (size_t)(wc[i].wr_id >> 32);
			inbytes -= cbytes;
			bytes += cbytes;
			done += creqs;
			inflight -= creqs;
		}
	}
	if (bytes > 4096)	/* the rate, for the next spin budget */
		c->ns_per_byte = (double)(seg_now_us() - t0) * 1000.0 / (double)bytes;
	return 0;
}

/*
 * One RDMA atomic on the word at off: compare-and-swap (a expected, b
 * desired) or fetch-and-add (a), done by end (seg_now_us()); the word's old
 * value into *old.  The NIC writes it into the bounce region.  -1 with the
 * error; the connection is unusable then, and whether the remote word
 * changed is not known.
 */
int
dp_atomic(struct dpconn *c, const struct segw_imp *m, int kind, uint64_t off,
    uint64_t a, uint64_t b, uint64_t *old, const char *label, long long end)
{
	struct ibv_send_wr wr, *bad;
	struct ibv_sge sge;
	struct ibv_wc wc;
	int got, rc = -1;

	if (!c->dev->atomics)
		return seg_seterr(ENOTSUP, "RDMA device %s does no atomics",
		    c->dev->name);
	pthread_mutex_lock(&c->dev->bounce_lock);
	sge.addr = (uintptr_t)c->dev->bounce;
	sge.length = 8;
	sge.lkey = c->dev->bmr->lkey;
	memset(&wr, 0, sizeof wr);
	wr.sg_list = &sge;
	wr.num_sge = 1;
	wr.opcode = kind == SEGW_AT_CAS ? IBV_WR_ATOMIC_CMP_AND_SWP :
	    IBV_WR_ATOMIC_FETCH_AND_ADD;
	wr.send_flags = IBV_SEND_SIGNALED;
	wr.wr.atomic.remote_addr = m->rva + off;
	wr.wr.atomic.compare_add = a;
	wr.wr.atomic.swap = b;
	wr.wr.atomic.rkey = m->drkey;
	if (ibv_post_send(c->qp, &wr, &bad) != 0)
		seg_seterr(EIO, "ibv_post_send: %s", strerror(errno));
	else if ((got = cq_wait(c, &wc, 1, spin_us(c, 0), end, label)) < 0)
		;	/* the connection was closed: the error is set */
	else if (got == 0)
		seg_seterr(ETIMEDOUT, "peer %s did not answer within %u ms",
		    label, m->deadline_ms);
	else if (wc.status != IBV_WC_SUCCESS)
		seg_seterr(EIO, "RDMA atomic on peer %s failed: %s", label,
		    ibv_wc_status_str(wc.status));
	else {
		memcpy(old, c->dev->bounce, 8);
		rc = 0;
		__atomic_add_fetch(&stats.atomics, 1, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&c->dev->bounce_lock);
	return rc;
}

/* Pieces of at most DP_MAXWR of [laddr, +len) <-> roff, appended to v. */
static size_t
cut(struct dpseg *v, size_t k, uint64_t laddr, uint32_t lkey, uint64_t roff,
    uint64_t len)
{
	while (len > 0) {
		uint32_t take = len > DP_MAXWR ? DP_MAXWR : (uint32_t)len;

		v[k].laddr = laddr;
		v[k].lkey = lkey;
		v[k].roff = roff;
		v[k].len = take;
		k++;
		laddr += take;
		roff += take;
		len -= take;
	}
	return k;
}

/* One window of the bounce region: pieces, and where a get's bytes go. */
struct window {
	struct dpseg v[DP_BOUNCE / 4096];
	uint8_t     *dst[DP_BOUNCE / 4096];
	size_t       k, used;
};

static int
window_move(struct dpconn *c, const struct segw_imp *m, int kind,
    struct window *w, const char *label, long long end)
{
	size_t j;
	int rc = w->k > 0 ? dp_run(c, m, kind, w->v, w->k, label, end) : 0;

	if (rc == 0 && kind == SEGW_IO_GET)
		for (j = 0; j < w->k; j++)
			memcpy(w->dst[j], (void *)(uintptr_t)w->v[j].laddr,
			    w->v[j].len);
	w->k = w->used = 0;
	return rc;
}

/* The entries that are not registered (zc[i] 0), through the bounce region. */
static int
dp_bounce(struct dpconn *c, const struct segw_imp *m, int kind,
    const struct seg_iov *iov, const uint8_t *zc, int n, const char *label,
    long long end)
{
	struct dpdev *d = c->dev;
	struct window *w = malloc(sizeof *w);
	size_t part = 0, take;
	int i = 0, rc = 0;

	if (w == NULL)
		return seg_seterr(ENOMEM, "out of memory");
	w->k = w->used = 0;
	pthread_mutex_lock(&d->bounce_lock);
	while (rc == 0 && i < n) {
		if (zc[i] || iov[i].len == 0) {
			i++;
			continue;
		}
		take = iov[i].len - part;
		if (take > DP_BOUNCE - w->used)
			take = DP_BOUNCE - w->used;
		if (take == 0 || w->k == sizeof w->v / sizeof w->v[0]) {
			rc = window_move(c, m, kind, w, label, end);
			continue;
		}
		if (kind == SEGW_IO_PUT)
			memcpy(d->bounce + w->used, (const uint8_t *)iov[i].buf +
			    part, take);
		w->dst[w->k] = (uint8_t *)iov[i].buf + part;
		w->k = cut(w->v, w->k, (uintptr_t)d->bounce + w->used,
		    d->bmr->lkey, iov[i].off + part, take);
		w->used += take;
		part += take;
		if (part == iov[i].len) {
			part = 0;
			i++;
		}
	}
	if (rc == 0)
		rc = window_move(c, m, kind, w, label, end);
	pthread_mutex_unlock(&d->bounce_lock);
	free(w);
	return rc;
}

/*
 * get or put of n entries on the direct path: registered buffers by DMA
 * (pipelined), the others through the bounce region; a barrier (n 0) is a
 * one-byte READ after the writes, all done by end (seg_now_us()).  -1 with
 * the error; the connection is unusable then.
 */
int
dp_io(struct dpconn *c, const struct segw_imp *m, int kind,
    const struct seg_iov *iov, int n, const char *label, long long end)
{
	struct dpseg one, *v = NULL;
	uint8_t *zc = NULL;
	uint64_t zbytes = 0, bbytes = 0;
	size_t k = 0, cap = 0;
	int i, rc = -1;

	if (kind == SEGW_IO_BARRIER) {
		pthread_mutex_lock(&c->dev->bounce_lock);
		one.laddr = (uintptr_t)c->dev->bounce;
		one.lkey = c->dev->bmr->lkey;
		one.roff = 0;
		one.len = 1;
		rc = dp_run(c, m, SEGW_IO_GET, &one, 1, label, end);
		pthread_mutex_unlock(&c->dev->bounce_lock);
		return rc;
	}
	if (n > 0 && (zc = calloc((size_t)n, 1)) == NULL)
		return seg_seterr(ENOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		uint32_t lkey;

		if (iov[i].len == 0 || !reg_key(c->dev, (uintptr_t)iov[i].buf,
		    iov[i].len, &lkey)) {
			bbytes += iov[i].len;
			continue;
		}
		zc[i] = 1;
		zbytes += iov[i].len;
		cap += iov[i].len / DP_MAXWR + 1;
		if ((v = reallocarray(v, cap, sizeof *v)) == NULL) {
			seg_seterr(ENOMEM, "out of memory");
			goto out;
		}
		k = cut(v, k, (uintptr_t)iov[i].buf, lkey, iov[i].off, iov[i].len);
	}
	if ((k == 0 || dp_run(c, m, kind, v, k, label, end) == 0) &&
	    (bbytes == 0 || dp_bounce(c, m, kind, iov, zc, n, label, end) == 0)) {
		rc = 0;
		__atomic_add_fetch(&stats.ops, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&stats.zerocopy_bytes, zbytes,
		    __ATOMIC_RELAXED);
		__atomic_add_fetch(&stats.bounce_bytes, bbytes, __ATOMIC_RELAXED);
	}
out:
	free(v);
	free(zc);
	return rc;
}
