/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * rseg_io.c: bytes to and from an imported segment, tickets for its
 * direct data path, and lock operations on its words.
 *
 * An io is a series of rounds of at most RSEG_ROUND RDMA READs or WRITEs
 * on the peer's queue pair; every check (range, grant) is made before
 * anything is posted.  A barrier is a one-byte READ after the writes: a
 * read on the same queue pair returns only after earlier writes are placed.
 * A lock operation is one RDMA atomic, or an ALIVE question to the
 * exporter.  A new ticket is asked with TICKET, answered by IMPORT_REP.
 *
 * It sits on rseg.c (the imports, their counts) and rop.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <infiniband/verbs.h>

#include "segd.h"

#define RSEG_ROUND      32		/* work requests per round */
#define RSEG_MAXWR      (1u << 20)	/* bytes in one work request */
#define RSEG_ROUNDMAX   (8u << 20)	/* bytes in a round: a deadline's step */

/* What an io, a ticket request and a lock operation share: first in each. */
struct imop {
	struct rop   rop;
	struct segd *sd;
	struct rimp *imp;	/* held */
	int          kind;	/* SEGW_IO_*, SEGW_AT_* */
	void        *arg;
	uint64_t     t0;
};

/* A new operation of size bytes on imp, which it holds; NULL with e. */
static void *
imop_new(size_t size, struct segd *sd, struct rimp *imp, int kind, void *arg,
    struct segerr *e)
{
	struct imop *q;

	if ((q = calloc(1, size)) == NULL) {
		seterr(e, ENOMEM, "out of memory");
		return NULL;
	}
	q->sd = sd;
	q->imp = imp;
	rseg_hold(imp);		/* the operation's reference */
	q->kind = kind;
	q->arg = arg;
	q->t0 = pstat_now();
	return q;
}

/* ---- io: rounds of RDMA READ or WRITE ---- */

struct ioop {
	struct imop     q;
	rseg_done_cb    cb;
	int             posted;	/* a round has been posted */
	uint32_t        n, next;	/* entries, and the next one to post */
	uint64_t        nextoff;	/* bytes of entry next already posted */
	uint64_t        bytes;
	struct rseg_sge v[];
};

static const int io_kind_op[] = {
	[SEGW_IO_GET] = PSO_GET, [SEGW_IO_PUT] = PSO_PUT,
	[SEGW_IO_BARRIER] = PSO_BARRIER,
};

static void
io_finish(struct ioop *o, const struct segerr *e)
{
	int op = o->q.kind >= SEGW_IO_GET && o->q.kind <= SEGW_IO_BARRIER ?
	    io_kind_op[o->q.kind] : PSO_GET;

	rseg_count_op(NULL, o->q.imp->node, o->q.imp->label, op, o->bytes,
	    o->q.t0, e == NULL);
	o->cb(o->q.arg, e);
	rseg_put(o->q.imp);	/* the io's */
	free(o);
}

static void
wr_fill(struct ibv_send_wr *wr, struct ibv_sge *sge, int opcode,
    uint64_t addr, uint32_t len, uint32_t lkey, uint64_t raddr, uint32_t rkey)
{
	memset(wr, 0, sizeof *wr);
	sge->addr = addr;
	sge->length = len;
	sge->lkey = lkey;
	wr->sg_list = sge;
	wr->num_sge = 1;
	wr->opcode = opcode;
	wr->wr.rdma.remote_addr = raddr;
	wr->wr.rdma.rkey = rkey;
}

/* The next round's work requests into wr; how many. */
static unsigned
io_round(struct ioop *o, struct ibv_send_wr *wr, struct ibv_sge *sge)
{
	uint32_t i = o->next;
	uint64_t off = o->nextoff, bytes = 0;
	unsigned k = 0;
	int opcode = o->q.kind == SEGW_IO_GET ? IBV_WR_RDMA_READ :
	    IBV_WR_RDMA_WRITE;

	while (k < RSEG_ROUND && i < o->n && bytes < RSEG_ROUNDMAX) {
		const struct rseg_sge *v = &o->v[i];
		uint64_t chunk = v->len - off;

		if (chunk > RSEG_MAXWR)
			chunk = RSEG_MAXWR;
		if (chunk > 0) {
			wr_fill(&wr[k], &sge[k], opcode, v->addr + off,
			    (uint32_t)chunk, v->lkey,
			    o->q.imp->rva + v->off + off, o->q.imp->rkey);
			k++;
			bytes += chunk;
			off += chunk;
		}
		if (off == v->len) {
			i++;
			off = 0;
		}
	}
	o->next = i;
	o->nextoff = off;
	return k;
}

static int
io_start(struct rop *r)
{
	struct ioop *o = (struct ioop *)r;
	struct ibv_send_wr wr[RSEG_ROUND];
	struct ibv_sge sge[RSEG_ROUND];
	uint32_t next = o->next;
	uint64_t nextoff = o->nextoff;
	struct segerr e;
	unsigned k;
	int rc;

	if (!o->posted && o->q.imp->revoked) {	/* revoked while it waited */
		rop_done(r);
		rseg_usable(o->q.imp, &e);
		io_finish(o, &e);
		return 0;
	}
	if (o->q.kind == SEGW_IO_BARRIER && !o->posted) {
		struct rdma *rd = o->q.sd->rdma;
		wr_fill(&wr[0], &sge[0], IBV_WR_RDMA_READ,
		    (uintptr_t)rd->scratch, 1, rd->scratch_mr->lkey,
		    o->q.imp->rva, o->q.imp->rkey);
		k = 1;
	} else if ((k = io_round(o, wr, sge)) == 0) {	/* all completed */
		rop_done(r);
		io_finish(o, NULL);
		return 0;
	}
	if ((rc = rop_post(r, wr, k)) != 0) {
		o->next = next;		/* not posted: the same round again */
		o->nextoff = nextoff;
		return rc == 1 ? 1 : 0;	/* -1: failed, o is gone */
	}
	o->posted = 1;
	return 0;
}

static void
io_fail(struct rop *r, int code, const char *msg)
{
	struct ioop *o = (struct ioop *)r;
	struct rimp *imp = o->q.imp;
	struct segerr e;

	if (o->q.kind == SEGW_IO_PUT && imp->err == 0) {
		imp->err = code;	/* for the next barrier */
		snprintf(imp->errmsg, sizeof imp->errmsg, "%s", msg);
	}
	seterr(&e, code, "%s", msg);
	io_finish(o, &e);
}

static void
io_reply(struct rop *r, uint16_t type, const union segp_msg *m)
{
	(void)r;
	(void)type;
	(void)m;	/* ios send no messages */
}

static const struct rop_ops io_ops = { io_start, io_reply, io_fail };

/* Before anything is posted: the import, the grant, every range. */
static int
io_check(const struct rimp *imp, int kind, const struct rseg_sge *v,
    uint32_t n, struct segerr *e)
{
	uint32_t i;

	if (rseg_usable(imp, e) < 0)
		return -1;
	if (kind == SEGW_IO_PUT && !(imp->perm & SEGW_WR))
		return seterr(e, EACCES, "permission denied: segment '%s' on "
		    "node %s is exported read-only to this node", imp->name,
		    imp->label);
	for (i = 0; i < n; i++)
		if (v[i].off > imp->len || v[i].len > imp->len - v[i].off)
			return seterr(e, ERANGE, "range 0x%llx+0x%llx is past "
			    "the end of segment '%s' (length 0x%llx)",
			    (unsigned long long)v[i].off,
			    (unsigned long long)v[i].len, imp->name,
			    (unsigned long long)imp->len);
	return 0;
}

/*
 * Move the bytes of n entries (none for a barrier); cb when every round
 * completed or the operation failed.  -1 with e, and no cb, when a check
 * fails; a barrier then reports the first put error since the last one.
 */
int
rseg_io(struct segd *sd, struct rimp *imp, int kind, const struct rseg_sge *v,
    uint32_t n, rseg_done_cb cb, void *arg, struct segerr *e)
{
	struct ioop *o;

	if (kind == SEGW_IO_BARRIER) {
		n = 0;
		if (imp->err != 0) {
			seterr(e, imp->err, "%s", imp->errmsg);
			imp->err = 0;
			return -1;
		}
	}
	if (io_check(imp, kind, v, n, e) < 0)
		return -1;
	if ((o = imop_new(sizeof *o + n * sizeof o->v[0], sd, imp, kind, arg,
	    e)) == NULL)
		return -1;
	o->cb = cb;
	o->n = n;
	if (n > 0)
		memcpy(o->v, v, n * sizeof *v);
	while (n-- > 0)
		o->bytes += v[n].len;
	rop_submit(imp->peer, &o->q.rop, &io_ops);
	return 0;
}

/* ---- a new ticket: TICKET, answered by IMPORT_REP ---- */

struct tkop {
	struct imop    q;
	rseg_done_cb   cb;
};

static int
tk_start(struct rop *r)
{
	struct tkop *o = (struct tkop *)r;
	union segp_msg m = { .id = o->q.imp->id };

	rop_send(r, SEGP_TICKET, &m);
	return 0;
}

static void
tk_finish(struct tkop *o, const struct segerr *e)
{
	o->cb(o->q.arg, e);
	rseg_put(o->q.imp);	/* the request's */
	free(o);
}

static void
tk_fail(struct rop *r, int code, const char *msg)
{
	struct segerr e;

	seterr(&e, code, "%s", msg);
	tk_finish((struct tkop *)r, &e);
}

static void
tk_reply(struct rop *r, uint16_t type, const union segp_msg *m)
{
	struct tkop *o = (struct tkop *)r;
	struct segerr e;

	rop_done(r);
	if (type != SEGP_IMPORT_REP)
		rseg_reply_error(&e, type, m, o->q.imp->label);
	else if (!m->import_rep.direct || m->import_rep.id != o->q.imp->id ||
	    m->import_rep.len != o->q.imp->len)
		seterr(&e, EPROTO, "peer %s answered a ticket request with "
		    "another import", o->q.imp->label);
	else {
		rseg_bind(o->q.imp, &m->import_rep);	/* rebound meanwhile? */
		tk_finish(o, NULL);
		return;
	}
	tk_finish(o, &e);
}

static const struct rop_ops tk_ops = { tk_start, tk_reply, tk_fail };

int
rseg_ticket(struct rimp *imp, rseg_done_cb cb, void *arg, struct segerr *e)
{
	struct tkop *o;

	if (rseg_usable(imp, e) < 0)
		return -1;
	if (!imp->direct)
		return seterr(e, ENOTSUP, "node %s offers no direct data path "
		    "for '%s'", imp->label, imp->name);
	if ((o = imop_new(sizeof *o, NULL, imp, 0, arg, e)) == NULL)
		return -1;
	o->cb = cb;
	rop_submit(imp->peer, &o->q.rop, &tk_ops);
	return 0;
}

/* ---- lock operations: one RDMA atomic, or an ALIVE question ---- */

struct atop {
	struct imop    q;	/* kind: SEGW_AT_CAS, _FADD, _ALIVE */
	uint64_t       off, a, b;
	rseg_word_cb   cb;
	int            posted;
	struct ibv_mr *mr;	/* over result: the NIC writes the old word */
	uint64_t       result;
};

static void
at_finish(struct atop *o, uint64_t word, const struct segerr *e)
{
	rseg_count_op(NULL, o->q.imp->node, o->q.imp->label,
	    o->q.kind == SEGW_AT_ALIVE ? PSO_ALIVE : PSO_ATOMIC, 0, o->q.t0,
	    e == NULL);
	o->cb(o->q.arg, word, e);
	rdma_dereg(o->mr);
	rseg_put(o->q.imp);	/* the operation's */
	free(o);
}

static int
at_start(struct rop *r)
{
	struct atop *o = (struct atop *)r;
	struct ibv_send_wr wr;
	struct ibv_sge sge;
	union segp_msg m;
	int rc;

	if (o->q.kind == SEGW_AT_ALIVE) {
		m.alive.id = o->q.imp->id;
		m.alive.holder = o->a;
		rop_send(r, SEGP_ALIVE, &m);
		return 0;
	}
	if (o->posted) {	/* the round completed: the old word is in */
		rop_done(r);
		at_finish(o, o->result, NULL);
		return 0;
	}
	if (o->q.imp->revoked) {	/* revoked while it waited */
		struct segerr e;

		rop_done(r);
		rseg_usable(o->q.imp, &e);
		at_finish(o, 0, &e);
		return 0;
	}
	memset(&wr, 0, sizeof wr);
	sge.addr = (uintptr_t)&o->result;
	sge.length = sizeof o->result;
	sge.lkey = o->mr->lkey;
	wr.sg_list = &sge;
	wr.num_sge = 1;
	wr.opcode = o->q.kind == SEGW_AT_CAS ? IBV_WR_ATOMIC_CMP_AND_SWP :
	    IBV_WR_ATOMIC_FETCH_AND_ADD;
	wr.wr.atomic.remote_addr = o->q.imp->rva + o->off;
	wr.wr.atomic.compare_add = o->a;
	wr.wr.atomic.swap = o->b;
	wr.wr.atomic.rkey = o->q.imp->rkey;
	if ((rc = rop_post(r, &wr, 1)) != 0)
		return rc == 1 ? 1 : 0;	/* -1: failed, o is gone */
	o->posted = 1;
	return 0;
}

static void
at_fail(struct rop *r, int code, const char *msg)
{
	struct segerr e;

	seterr(&e, code, "%s", msg);
	at_finish((struct atop *)r, 0, &e);
}

/* ALIVE's answer: ACK, the holder's import exists; ESRCH, it does not. */
static void
at_reply(struct rop *r, uint16_t type, const union segp_msg *m)
{
	struct atop *o = (struct atop *)r;
	struct segerr e;

	rop_done(r);
	if (type == SEGP_ACK)
		at_finish(o, 1, NULL);
	else if (type == SEGP_ERROR && m->error.code == ESRCH)
		at_finish(o, 0, NULL);
	else {
		rseg_reply_error(&e, type, m, o->q.imp->label);
		at_finish(o, 0, &e);
	}
}

static const struct rop_ops at_ops = { at_start, at_reply, at_fail };

/* Before anything is posted or sent: the import, its access, the word. */
static int
at_check(const struct rimp *imp, int kind, uint64_t off, struct segerr *e)
{
	if (rseg_usable(imp, e) < 0)
		return -1;
	if (kind == SEGW_AT_ALIVE)
		return peer_caps(imp->peer) & SEGP_CAP_ALIVE ? 0 :
		    seterr(e, ENOTSUP, "peer %s is of a release that cannot "
		    "tell whether a lock's holder lives", imp->label);
	if (off % 8 != 0)
		return seterr(e, EINVAL, "offset 0x%llx of an atomic is not "
		    "8-byte aligned", (unsigned long long)off);
	if (imp->len < 8 || off > imp->len - 8)
		return seterr(e, ERANGE, "word 0x%llx+8 is past the end of "
		    "segment '%s' (length 0x%llx)", (unsigned long long)off,
		    imp->name, (unsigned long long)imp->len);
	if (!(imp->perm & SEGW_WR))
		return seterr(e, EACCES, "permission denied: segment '%s' on "
		    "node %s is exported read-only to this node", imp->name,
		    imp->label);
	if (!(imp->eflags & SEGW_EXP_LOCKOPS))
		return seterr(e, EPERM, "segment '%s' on node %s is not exported "
		    "for lock operations (SEG_LOCK_OPS)", imp->name, imp->label);
	return 0;
}

/*
 * A compare-and-swap (a: expected, b: desired) or fetch-and-add (a) on the
 * word at off, or (SEGW_AT_ALIVE) whether the exporter still holds import
 * a of the same export: cb gets the word's old value, or 1/0.  -1 with e,
 * and no cb, when a check fails.
 */
int
rseg_atomic(struct segd *sd, struct rimp *imp, int kind, uint64_t off,
    uint64_t a, uint64_t b, rseg_word_cb cb, void *arg, struct segerr *e)
{
	struct atop *o;

	if (kind != SEGW_AT_CAS && kind != SEGW_AT_FADD && kind != SEGW_AT_ALIVE)
		return seterr(e, EINVAL, "unknown atomic operation %d", kind);
	if (at_check(imp, kind, off, e) < 0)
		return -1;
	if ((o = imop_new(sizeof *o, sd, imp, kind, arg, e)) == NULL)
		return -1;
	if (kind != SEGW_AT_ALIVE && (o->mr = rdma_reg(sd, &o->result,
	    sizeof o->result, IBV_ACCESS_LOCAL_WRITE, e)) == NULL) {
		rseg_put(imp);	/* the operation's */
		free(o);
		return -1;
	}
	o->off = off;
	o->a = a;
	o->b = b;
	o->cb = cb;
	rop_submit(imp->peer, &o->q.rop, &at_ops);
	return 0;
}
