/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * rseg.c: segments of other nodes, the importer's side of RSM's connect,
 * get, put, barrier and signals: the one module that imports, lists, moves
 * bytes to and from, and returns buffers of a peer's segment.  Its users
 * are adapters: import.c for the socket's clients, fsnet.c for the file
 * system's net/ view.  Each hands over its buffers as (address, lkey)
 * pairs and gets one callback per operation.
 *
 * An io is a series of rounds of at most RSEG_ROUND RDMA READs or WRITEs
 * on the peer's queue pair; every check (range, grant) is made before
 * anything is posted.  A barrier is a one-byte READ after the writes: a
 * read on the same queue pair returns only after earlier writes are placed.
 *
 * Every operation is counted for its peer's node (pstats.c): done or
 * failed, its bytes or addresses, its latency from submission to the end.
 *
 * REVOKE from an exporter marks its import revoked; a connection's end
 * marks every import made over it lost.  Both arrive through the handler
 * and observer rseg_init() registers with peer.c.
 */
#include <sys/random.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <infiniband/verbs.h>

#include "segd.h"

#define RSEG_ROUND      32		/* work requests per round */
#define RSEG_MAXWR      (1u << 20)	/* bytes in one work request */
#define RSEG_ROUNDMAX   (8u << 20)	/* bytes in a round: a deadline's step */
#define RSEG_LISTMAX    65536		/* entries of one peer's listing */
#define REVOKED_MAX     256		/* revoked names remembered */
#define DOUBT_MAX       64		/* FREE batches in doubt remembered */
#define DOUBT_DEADLINES 10		/* ... for this many deadlines */

static LIST_HEAD(, rimp) rimps = LIST_HEAD_INITIALIZER(rimps);
static unsigned nrimps;

/* Names whose import was revoked, until they are listed or imported again. */
static struct {
	char node[SEGP_NODEMAX + 1];
	char name[SEG_NAMEMAX + 1];
} revoked[REVOKED_MAX];
static unsigned nrevoked, revoked_next;

static int
revoked_find(const char *node, const char *name)
{
	unsigned i;

	for (i = 0; i < nrevoked; i++)
		if (strcmp(revoked[i].node, node) == 0 &&
		    strcmp(revoked[i].name, name) == 0)
			return (int)i;
	return -1;
}

static void
revoked_add(const char *node, const char *name)
{
	unsigned i;

	if (revoked_find(node, name) >= 0)
		return;
	if (nrevoked < REVOKED_MAX)
		i = nrevoked++;
	else
		i = revoked_next++ % REVOKED_MAX;	/* the oldest goes */
	snprintf(revoked[i].node, sizeof revoked[i].node, "%s", node);
	snprintf(revoked[i].name, sizeof revoked[i].name, "%s", name);
}

static void
revoked_clear(const char *node, const char *name)
{
	int i = revoked_find(node, name);

	if (i >= 0)
		revoked[i] = revoked[--nrevoked];
}

int
rseg_was_revoked(const char *node, const char *name)
{
	return revoked_find(node, name) >= 0;
}

/* ---- imports ---- */

void
rseg_hold(struct rimp *imp)
{
	imp->refs++;
}

void
rseg_put(struct rimp *imp)
{
	if (imp == NULL || --imp->refs > 0)
		return;
	if (imp->peer != NULL) {
		if (!imp->revoked && peer_alive(imp->peer)) {
			union segp_msg m = { .id = imp->id };
			peer_send(imp->peer, SEGP_UNIMPORT, 0, &m);
		}
		peer_put(imp->peer);	/* the import's reference */
	}
	LIST_REMOVE(imp, entry);
	nrimps--;
	free(imp);
}

int
rseg_usable(const struct rimp *imp, struct segerr *e)
{
	if (imp->revoked)
		return seterr(e, EACCES, "segment revoked: '%s' on node %s was "
		    "unexported", imp->name, imp->label);
	if (imp->peer == NULL || !peer_alive(imp->peer))
		return seterr(e, ENOTCONN, "connection to peer %s lost (%s); "
		    "import '%s' again", imp->label, imp->lost[0] ? imp->lost :
		    "closed", imp->name);
	return 0;
}

/* Imports held, and how many of them the exporter offers a direct path. */
unsigned
rseg_count(unsigned *direct)
{
	struct rimp *imp;

	*direct = 0;
	LIST_FOREACH(imp, &rimps, entry)
		*direct += imp->direct;
	return nrimps;
}

/* An operation ended: counted under p's node name, else node, else label. */
static void
count(const struct peer *p, const char *node, const char *label, int op,
    uint64_t amount, uint64_t t0, int ok)
{
	const char *n = p != NULL ? peer_node(p) : "";

	pstat_op(n[0] ? n : node[0] ? node : label, op, amount, t0, ok);
}

/* A reply that is an error, or not the one expected, into e. */
static void
reply_error(struct segerr *e, uint16_t type, const union segp_msg *m,
    const char *label)
{
	if (type == SEGP_ERROR)
		seterr(e, (int)m->error.code, "%s", m->error.text);
	else
		seterr(e, EPROTO, "peer %s: unexpected reply of type %u", label,
		    type);
}

struct impop {
	struct rop     rop;
	rseg_import_cb cb;
	void          *arg;
	char           name[SEG_NAMEMAX + 1];
	char           label[128];
	char           node[SEGP_NODEMAX + 1];	/* at submission, if known */
	uint64_t       t0;
};

static int
imp_start(struct rop *r)
{
	struct impop *o = (struct impop *)r;
	union segp_msg m;

	snprintf(m.name, sizeof m.name, "%s", o->name);
	rop_send(r, SEGP_IMPORT, &m);
	return 0;
}

static void
imp_fail(struct rop *r, int code, const char *msg)
{
	struct impop *o = (struct impop *)r;
	struct segerr e;

	seterr(&e, code, "%s", msg);
	count(NULL, o->node, o->label, PSO_IMPORT, 0, o->t0, 0);
	o->cb(o->arg, NULL, &e);
	free(o);
}

/* The direct data path an import reply offers, and where to reach it. */
static void
rimp_direct(struct rimp *imp, const struct segp_import_rep *rep)
{
	struct peer_stat st;

	imp->direct = rep->direct;
	if (!rep->direct)
		return;
	imp->grant = rep->grant;
	memcpy(imp->ticket, rep->ticket, sizeof imp->ticket);
	imp->drkey = rep->drkey;
	if (imp->peer != NULL) {
		peer_stat(imp->peer, &st);
		snprintf(imp->where, sizeof imp->where, "%s", st.where);
	}
}

/* The binding an import reply (or REBIND) names: keys, address, path. */
static void
rimp_bind(struct rimp *imp, const struct segp_import_rep *rep)
{
	imp->rva = rep->va;
	imp->gen = rep->gen;
	imp->rkey = rep->rkey;
	imp->perm = rep->perm;
	imp->eflags = rep->eflags;
	rimp_direct(imp, rep);
}

static struct rimp *
rimp_new(struct peer *p, const struct impop *o, const struct segp_import_rep *rep)
{
	struct rimp *imp = calloc(1, sizeof *imp);

	if (imp == NULL)
		return NULL;
	imp->refs = 1;		/* the caller's */
	imp->peer = p;
	peer_hold(p);		/* the import's reference */
	snprintf(imp->name, sizeof imp->name, "%s", o->name);
	snprintf(imp->node, sizeof imp->node, "%s", peer_node(p));
	snprintf(imp->label, sizeof imp->label, "%s", o->label);
	imp->id = rep->id;
	imp->len = rep->len;
	rimp_bind(imp, rep);
	LIST_INSERT_HEAD(&rimps, imp, entry);
	nrimps++;
	return imp;
}

static void
imp_reply(struct rop *r, uint16_t type, const union segp_msg *m)
{
	struct impop *o = (struct impop *)r;
	struct peer *p = r->peer;
	struct rimp *imp = NULL;
	struct segerr e;

	if (type != SEGP_IMPORT_REP)
		reply_error(&e, type, m, o->label);
	else if ((imp = rimp_new(p, o, &m->import_rep)) == NULL) {
		union segp_msg u = { .id = m->import_rep.id };
		peer_send(p, SEGP_UNIMPORT, 0, &u);	/* it keeps nothing */
		seterr(&e, ENOMEM, "out of memory");
	} else
		revoked_clear(imp->node, imp->name);
	count(p, o->node, o->label, PSO_IMPORT, 0, o->t0, imp != NULL);
	rop_done(r);
	o->cb(o->arg, imp, imp != NULL ? NULL : &e);
	free(o);
}

static const struct rop_ops imp_ops = { imp_start, imp_reply, imp_fail };

/* Import name from p: cb gets the import (one reference) or an error. */
void
rseg_import(struct segd *sd, struct peer *p, const char *label,
    const char *name, rseg_import_cb cb, void *arg)
{
	struct impop *o;
	struct segerr e;

	(void)sd;
	if (!seg_name_valid(name)) {
		seterr(&e, EINVAL, "bad segment name");
		cb(arg, NULL, &e);
		return;
	}
	if ((o = calloc(1, sizeof *o)) == NULL) {
		seterr(&e, ENOMEM, "out of memory");
		cb(arg, NULL, &e);
		return;
	}
	o->cb = cb;
	o->arg = arg;
	snprintf(o->name, sizeof o->name, "%s", name);
	snprintf(o->label, sizeof o->label, "%s", label);
	snprintf(o->node, sizeof o->node, "%s", peer_node(p));
	o->t0 = pstat_now();
	rop_submit(p, &o->rop, &imp_ops);
}

/* ---- listings: pages of LIST_REP, gathered whole ---- */

struct lsop {
	struct rop       rop;
	rseg_list_cb     cb;
	void            *arg;
	char             label[128];
	char             node[SEGP_NODEMAX + 1];	/* at submission, if known */
	uint64_t         t0;
	uint32_t         cursor;
	struct segp_ent *ents;
	unsigned         n, cap;
};

static int
ls_start(struct rop *r)
{
	struct lsop *o = (struct lsop *)r;
	union segp_msg m = { .cursor = o->cursor };

	rop_send(r, SEGP_LIST, &m);
	return 0;
}

static void
ls_finish(struct lsop *o, const char *node, const struct segerr *e)
{
	unsigned i;

	if (e == NULL)
		for (i = 0; i < o->n; i++)	/* exported again */
			revoked_clear(node, o->ents[i].name);
	count(NULL, node, o->node[0] ? o->node : o->label, PSO_LIST, 0, o->t0,
	    e == NULL);
	o->cb(o->arg, node, o->ents, e == NULL ? o->n : 0, e);
	free(o->ents);
	free(o);
}

static void
ls_fail(struct rop *r, int code, const char *msg)
{
	struct segerr e;

	seterr(&e, code, "%s", msg);
	ls_finish((struct lsop *)r, "", &e);
}

/* Append a page; -1 with e when the listing is malformed or too long. */
static int
ls_append(struct lsop *o, const struct segp_list_rep *rep, uint32_t version,
    struct segerr *e)
{
	if (rep->n > 0 && rep->withva != (version >= 3))
		return seterr(e, EPROTO, "peer %s sent a malformed list (entries "
		    "%s addresses at protocol version %u)", o->label,
		    rep->withva ? "with" : "without", version);
	if (o->n + rep->n > RSEG_LISTMAX)
		return seterr(e, EOVERFLOW, "peer %s lists more than %d "
		    "segments", o->label, RSEG_LISTMAX);
	if (rep->next != 0 && rep->next <= o->cursor)
		return seterr(e, EPROTO, "peer %s sent a malformed list (its "
		    "cursor went back)", o->label);
	if (o->n + rep->n > o->cap) {
		unsigned c = o->cap ? o->cap * 2 : SEGP_LIST_MAX;
		struct segp_ent *p;

		while (c < o->n + rep->n)
			c *= 2;
		if ((p = realloc(o->ents, c * sizeof *p)) == NULL)
			return seterr(e, ENOMEM, "out of memory");
		o->ents = p;
		o->cap = c;
	}
	if (rep->n > 0)		/* an empty page: ents may still be NULL */
		memcpy(o->ents + o->n, rep->ent, rep->n * sizeof *rep->ent);
	o->n += rep->n;
	o->cursor = rep->next;
	return 0;
}

static void
ls_reply(struct rop *r, uint16_t type, const union segp_msg *m)
{
	struct lsop *o = (struct lsop *)r;
	char node[SEGP_NODEMAX + 1];
	struct segerr e;

	snprintf(node, sizeof node, "%s", peer_node(r->peer));
	if (type != SEGP_LIST_REP)
		reply_error(&e, type, m, o->label);
	else if (ls_append(o, &m->list_rep, peer_version(r->peer), &e) == 0) {
		if (o->cursor != 0) {
			ls_start(r);	/* the next page */
			return;
		}
		rop_done(r);
		ls_finish(o, node, NULL);
		return;
	}
	rop_done(r);
	ls_finish(o, node, &e);
}

static const struct rop_ops ls_ops = { ls_start, ls_reply, ls_fail };

/* What p exports to this node: cb gets every entry at once, or an error. */
void
rseg_list(struct segd *sd, struct peer *p, const char *label, rseg_list_cb cb,
    void *arg)
{
	struct lsop *o;
	struct segerr e;

	(void)sd;
	if ((o = calloc(1, sizeof *o)) == NULL) {
		seterr(&e, ENOMEM, "out of memory");
		cb(arg, "", NULL, 0, &e);
		return;
	}
	o->cb = cb;
	o->arg = arg;
	snprintf(o->label, sizeof o->label, "%s", label);
	snprintf(o->node, sizeof o->node, "%s", peer_node(p));
	o->t0 = pstat_now();
	rop_submit(p, &o->rop, &ls_ops);
}

/* ---- io: rounds of RDMA READ or WRITE ---- */

struct ioop {
	struct rop      rop;
	struct segd    *sd;
	struct rimp    *imp;	/* held */
	int             kind;
	rseg_done_cb    cb;
	void           *arg;
	int             posted;	/* a round has been posted */
	uint32_t        n, next;	/* entries, and the next one to post */
	uint64_t        nextoff;	/* bytes of entry next already posted */
	uint64_t        t0, bytes;
	struct rseg_sge v[];
};

static const int io_kind_op[] = {
	[SEGW_IO_GET] = PSO_GET, [SEGW_IO_PUT] = PSO_PUT,
	[SEGW_IO_BARRIER] = PSO_BARRIER,
};

static void
io_finish(struct ioop *o, const struct segerr *e)
{
	int op = o->kind >= SEGW_IO_GET && o->kind <= SEGW_IO_BARRIER ?
	    io_kind_op[o->kind] : PSO_GET;

	count(NULL, o->imp->node, o->imp->label, op, o->bytes, o->t0, e == NULL);
	o->cb(o->arg, e);
	rseg_put(o->imp);	/* the io's */
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
	int opcode = o->kind == SEGW_IO_GET ? IBV_WR_RDMA_READ :
	    IBV_WR_RDMA_WRITE;

	while (k < RSEG_ROUND && i < o->n && bytes < RSEG_ROUNDMAX) {
		const struct rseg_sge *v = &o->v[i];
		uint64_t chunk = v->len - off;

		if (chunk > RSEG_MAXWR)
			chunk = RSEG_MAXWR;
		if (chunk > 0) {
			wr_fill(&wr[k], &sge[k], opcode, v->addr + off,
			    (uint32_t)chunk, v->lkey, o->imp->rva + v->off + off,
			    o->imp->rkey);
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

	if (!o->posted && o->imp->revoked) {	/* revoked while it waited */
		rop_done(r);
		rseg_usable(o->imp, &e);
		io_finish(o, &e);
		return 0;
	}
	if (o->kind == SEGW_IO_BARRIER && !o->posted) {
		struct rdma *rd = o->sd->rdma;
		wr_fill(&wr[0], &sge[0], IBV_WR_RDMA_READ,
		    (uintptr_t)rd->scratch, 1, rd->scratch_mr->lkey,
		    o->imp->rva, o->imp->rkey);
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
	struct rimp *imp = o->imp;
	struct segerr e;

	if (o->kind == SEGW_IO_PUT && imp->err == 0) {
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
	if ((o = calloc(1, sizeof *o + n * sizeof o->v[0])) == NULL)
		return seterr(e, ENOMEM, "out of memory");
	o->sd = sd;
	o->imp = imp;
	rseg_hold(imp);		/* the io's reference */
	o->kind = kind;
	o->cb = cb;
	o->arg = arg;
	o->n = n;
	if (n > 0)
		memcpy(o->v, v, n * sizeof *v);
	while (n-- > 0)
		o->bytes += v[n].len;
	o->t0 = pstat_now();
	rop_submit(imp->peer, &o->rop, &io_ops);
	return 0;
}

/* ---- a new ticket: TICKET, answered by IMPORT_REP ---- */

struct tkop {
	struct rop     rop;
	struct rimp   *imp;	/* held */
	rseg_done_cb   cb;
	void          *arg;
};

static int
tk_start(struct rop *r)
{
	struct tkop *o = (struct tkop *)r;
	union segp_msg m = { .id = o->imp->id };

	rop_send(r, SEGP_TICKET, &m);
	return 0;
}

static void
tk_finish(struct tkop *o, const struct segerr *e)
{
	o->cb(o->arg, e);
	rseg_put(o->imp);	/* the request's */
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
		reply_error(&e, type, m, o->imp->label);
	else if (!m->import_rep.direct || m->import_rep.id != o->imp->id ||
	    m->import_rep.len != o->imp->len)
		seterr(&e, EPROTO, "peer %s answered a ticket request with "
		    "another import", o->imp->label);
	else {
		rimp_bind(o->imp, &m->import_rep);	/* rebound meanwhile? */
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
	if ((o = calloc(1, sizeof *o)) == NULL)
		return seterr(e, ENOMEM, "out of memory");
	o->imp = imp;
	rseg_hold(imp);		/* the request's reference */
	o->cb = cb;
	o->arg = arg;
	rop_submit(imp->peer, &o->rop, &tk_ops);
	return 0;
}

/* ---- remote free and signal: one message, acknowledged ---- */

/*
 * Every FREE carries a batch number; the owner remembers the numbers of
 * the batches it applied, per sender node.  A FREE whose answer was lost
 * (the connection went, or the deadline passed) is in doubt: it may have
 * been applied.  Its batch is remembered here (exporter, segment and
 * addresses; for DOUBT_DEADLINES deadlines, the oldest of DOUBT_MAX
 * forgotten sooner), not for ever: the same addresses freed much later
 * are buffers used again, a new batch.  When the caller returns
 * the same addresses again -- libseg does at once after a lost connection
 * (ENOTCONN), an application after a deadline -- that FREE gets the same
 * number, and an owner that applied it acknowledges it without applying
 * it twice.
 */
static struct doubt {
	char      where[INET6_ADDRSTRLEN + 8];
	char      name[SEG_NAMEMAX + 1];
	uint32_t  seq, n;
	uint64_t *addrs;	/* NULL: a free slot */
	long long expires;	/* ms, monotonic */
} doubts[DOUBT_MAX];
static unsigned doubt_ms;	/* how long a batch stays in doubt */
static unsigned doubt_next;
static uint32_t free_seq;	/* the last batch number given */

/* The batch in doubt of imp's segment with these addresses; NULL: none. */
static struct doubt *
doubt_find(const struct rimp *imp, const uint64_t *addrs, uint32_t n)
{
	unsigned i;

	for (i = 0; i < DOUBT_MAX; i++)
		if (doubts[i].addrs != NULL && doubts[i].n == n &&
		    doubts[i].expires > seg_now_ms() &&
		    strcmp(doubts[i].where, imp->where) == 0 &&
		    strcmp(doubts[i].name, imp->name) == 0 &&
		    memcmp(doubts[i].addrs, addrs, n * sizeof *addrs) == 0)
			return &doubts[i];
	return NULL;
}

static void
doubt_clear(struct doubt *d)
{
	free(d->addrs);
	d->addrs = NULL;
}

/* The batch number of a FREE: its own again if it is the one in doubt. */
static uint32_t
batch_seq(const struct rimp *imp, const uint64_t *addrs, uint32_t n)
{
	struct doubt *d = doubt_find(imp, addrs, n);

	if (d != NULL)
		return d->seq;
	if (free_seq == 0 && getrandom(&free_seq, sizeof free_seq, 0) !=
	    sizeof free_seq)	/* differs across restarts: only 0 is none */
		free_seq = (uint32_t)pstat_now();
	if (++free_seq == 0)
		free_seq = 1;
	return free_seq;
}

/* A FREE without an answer: in doubt (the oldest forgotten if need be). */
static void
doubt_add(const struct rimp *imp, const struct segp_free *f)
{
	struct doubt *d = doubt_find(imp, f->addrs, f->n);
	uint64_t *a;
	unsigned i;

	if ((a = malloc(f->n * sizeof *a)) == NULL) {
		log_warnx("%s: out of memory: a retry of batch %u to node %s may "
		    "be refused as a double free", __func__, f->seq, imp->label);
		return;
	}
	for (i = 0; d == NULL && i < DOUBT_MAX; i++)
		if (doubts[i].addrs == NULL ||
		    doubts[i].expires <= seg_now_ms())
			d = &doubts[i];
	if (d == NULL)
		d = &doubts[doubt_next++ % DOUBT_MAX];
	doubt_clear(d);
	snprintf(d->where, sizeof d->where, "%s", imp->where);
	snprintf(d->name, sizeof d->name, "%s", imp->name);
	memcpy(a, f->addrs, f->n * sizeof *a);
	d->addrs = a;
	d->n = f->n;
	d->seq = f->seq;
	d->expires = seg_now_ms() + doubt_ms;
}

/* An answer came: the batch is no longer in doubt. */
static void
doubt_settle(const struct rimp *imp, const struct segp_free *f)
{
	struct doubt *d = doubt_find(imp, f->addrs, f->n);

	if (d != NULL && d->seq == f->seq)
		doubt_clear(d);
}

struct nop {
	struct rop     rop;
	struct rimp   *imp;	/* held */
	rseg_done_cb   cb;
	void          *arg;
	uint16_t       type;
	uint64_t       t0;
	union segp_msg m;
};

static int
n_start(struct rop *r)
{
	struct nop *o = (struct nop *)r;

	rop_send(r, o->type, &o->m);
	return 0;
}

static void
n_finish(struct nop *o, const struct segerr *e)
{
	if (o->type == SEGP_FREE)
		count(NULL, o->imp->node, o->imp->label, PSO_FREE, o->m.free.n,
		    o->t0, e == NULL);
	else
		count(NULL, o->imp->node, o->imp->label, PSO_SIGNAL, 0, o->t0,
		    e == NULL);
	o->cb(o->arg, e);
	rseg_put(o->imp);	/* the message's */
	free(o);
}

static void
n_fail(struct rop *r, int code, const char *msg)
{
	struct nop *o = (struct nop *)r;
	struct segerr e;

	if (o->type != SEGP_FREE) {
		seterr(&e, code, "%s", msg);
		n_finish(o, &e);
		return;
	}
	/*
	 * In doubt: the caller may return the same addresses again.  A lost
	 * connection says ENOTCONN, so libseg imports again and does, until
	 * the import's deadline; a deadline that passed is spent: no retry
	 * behind the caller's back.
	 */
	doubt_add(o->imp, &o->m.free);
	seterr(&e, code == ETIMEDOUT ? code : ENOTCONN, "%s; the free of batch "
	    "%u may have been applied: return the same addresses again", msg,
	    o->m.free.seq);
	n_finish(o, &e);
}

static void
n_reply(struct rop *r, uint16_t type, const union segp_msg *m)
{
	struct nop *o = (struct nop *)r;
	struct segerr e;

	rop_done(r);
	if (o->type == SEGP_FREE)
		doubt_settle(o->imp, &o->m.free);
	if (type == SEGP_ACK) {
		n_finish(o, NULL);
		return;
	}
	reply_error(&e, type, m, o->imp->label);
	n_finish(o, &e);
}

static const struct rop_ops n_ops = { n_start, n_reply, n_fail };

static int
notify(struct rimp *imp, uint16_t type, const uint64_t *addrs, uint32_t n,
    rseg_done_cb cb, void *arg, struct segerr *e)
{
	struct nop *o;

	if (rseg_usable(imp, e) < 0)
		return -1;
	if (type == SEGP_FREE && (n == 0 || n > SEGP_FREE_MAX))
		return seterr(e, EINVAL, "a remote free takes 1 to %d "
		    "addresses", SEGP_FREE_MAX);
	if ((o = calloc(1, sizeof *o)) == NULL)
		return seterr(e, ENOMEM, "out of memory");
	o->imp = imp;
	rseg_hold(imp);		/* the message's reference */
	o->cb = cb;
	o->arg = arg;
	o->type = type;
	if (type == SEGP_FREE) {
		o->m.free.id = imp->id;
		o->m.free.n = n;
		o->m.free.seq = batch_seq(imp, addrs, n);
		memcpy(o->m.free.addrs, addrs, n * sizeof *addrs);
	} else
		o->m.id = imp->id;
	o->t0 = pstat_now();
	rop_submit(imp->peer, &o->rop, &n_ops);
	return 0;
}

/* Return buffers of an imported zero-copy segment to its owner. */
int
rseg_free(struct rimp *imp, const uint64_t *addrs, uint32_t n,
    rseg_done_cb cb, void *arg, struct segerr *e)
{
	return notify(imp, SEGP_FREE, addrs, n, cb, arg, e);
}

int
rseg_signal(struct rimp *imp, rseg_done_cb cb, void *arg, struct segerr *e)
{
	return notify(imp, SEGP_SIGNAL, NULL, 0, cb, arg, e);
}

/* ---- lock operations: one RDMA atomic, or an ALIVE question ---- */

struct atop {
	struct rop     rop;
	struct segd   *sd;
	struct rimp   *imp;	/* held */
	int            kind;	/* SEGW_AT_CAS, _FADD, _ALIVE */
	uint64_t       off, a, b;
	rseg_word_cb   cb;
	void          *arg;
	int            posted;
	struct ibv_mr *mr;	/* over result: the NIC writes the old word */
	uint64_t       t0;
	uint64_t       result;
};

static void
at_finish(struct atop *o, uint64_t word, const struct segerr *e)
{
	count(NULL, o->imp->node, o->imp->label, o->kind == SEGW_AT_ALIVE ?
	    PSO_ALIVE : PSO_ATOMIC, 0, o->t0, e == NULL);
	o->cb(o->arg, word, e);
	rdma_dereg(o->mr);
	rseg_put(o->imp);	/* the operation's */
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

	if (o->kind == SEGW_AT_ALIVE) {
		m.alive.id = o->imp->id;
		m.alive.holder = o->a;
		rop_send(r, SEGP_ALIVE, &m);
		return 0;
	}
	if (o->posted) {	/* the round completed: the old word is in */
		rop_done(r);
		at_finish(o, o->result, NULL);
		return 0;
	}
	if (o->imp->revoked) {	/* revoked while it waited */
		struct segerr e;

		rop_done(r);
		rseg_usable(o->imp, &e);
		at_finish(o, 0, &e);
		return 0;
	}
	memset(&wr, 0, sizeof wr);
	sge.addr = (uintptr_t)&o->result;
	sge.length = sizeof o->result;
	sge.lkey = o->mr->lkey;
	wr.sg_list = &sge;
	wr.num_sge = 1;
	wr.opcode = o->kind == SEGW_AT_CAS ? IBV_WR_ATOMIC_CMP_AND_SWP :
	    IBV_WR_ATOMIC_FETCH_AND_ADD;
	wr.wr.atomic.remote_addr = o->imp->rva + o->off;
	wr.wr.atomic.compare_add = o->a;
	wr.wr.atomic.swap = o->b;
	wr.wr.atomic.rkey = o->imp->rkey;
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
		reply_error(&e, type, m, o->imp->label);
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
	if ((o = calloc(1, sizeof *o)) == NULL)
		return seterr(e, ENOMEM, "out of memory");
	if (kind != SEGW_AT_ALIVE && (o->mr = rdma_reg(sd, &o->result,
	    sizeof o->result, IBV_ACCESS_LOCAL_WRITE, e)) == NULL) {
		free(o);
		return -1;
	}
	o->sd = sd;
	o->imp = imp;
	rseg_hold(imp);		/* the operation's reference */
	o->kind = kind;
	o->off = off;
	o->a = a;
	o->b = b;
	o->cb = cb;
	o->arg = arg;
	o->t0 = pstat_now();
	rop_submit(imp->peer, &o->rop, &at_ops);
	return 0;
}

/* ---- what peer.c tells ---- */

/* The live import that peer p's exporter knows as id, or NULL. */
static struct rimp *
rimp_by_id(struct peer *p, uint64_t id)
{
	struct rimp *imp;

	LIST_FOREACH(imp, &rimps, entry)
		if (imp->peer == p && imp->id == id && !imp->revoked)
			return imp;
	return NULL;
}

static void
on_revoke(void *arg, struct peer *p, uint32_t tag, const union segp_msg *m)
{
	struct rimp *imp;

	(void)arg;
	(void)tag;
	if ((imp = rimp_by_id(p, m->id)) == NULL)
		return;
	imp->revoked = 1;
	revoked_add(imp->node, imp->name);
	log_info("%s: '%s' on node %s revoked by its exporter", __func__,
	    imp->name, imp->node);
}

/*
 * The exporter bound the export to other memory: the import's next
 * operation uses the new keys and address (the old ones fail at its NIC).
 */
static void
on_rebind(void *arg, struct peer *p, uint32_t tag, const union segp_msg *m)
{
	struct rimp *imp;

	(void)arg;
	(void)tag;
	if ((imp = rimp_by_id(p, m->import_rep.id)) == NULL)
		return;
	if (m->import_rep.len != imp->len) {
		log_warnx("%s: node %s rebound '%s' with another length: "
		    "ignored", __func__, imp->node, imp->name);
		return;
	}
	rimp_bind(imp, &m->import_rep);
	log_info("%s: '%s' on node %s rebound by its exporter", __func__,
	    imp->name, imp->node);
}

static void
rseg_peer_gone(void *arg, struct peer *p)
{
	struct rimp *imp;

	(void)arg;
	LIST_FOREACH(imp, &rimps, entry)
		if (imp->peer == p) {
			snprintf(imp->lost, sizeof imp->lost, "%s",
			    "the connection was lost");
			imp->peer = NULL;
			peer_put(p);	/* the import's reference */
		}
}

void
rseg_init(struct segd *sd)
{
	doubt_ms = sd->deadline_ms * DOUBT_DEADLINES;
	peer_handle(SEGP_REVOKE, on_revoke, sd);
	peer_handle(SEGP_REBIND, on_rebind, sd);
	peer_observe_gone(rseg_peer_gone, sd);
}
