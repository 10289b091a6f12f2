/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * export.c: RSM's publish on segd.  An exported segment gets remote-access
 * memory regions of its own, one read-only and one read-write as its access
 * list needs; a peer's import hands out the rkey its grant allows.  Each
 * export is recorded in the state directory (NAME.export, store.c: its
 * generation, flags, binding and access list) until it is unexported or
 * removed, so a restarted segd, even one killed, exports it again under
 * the same generation, bound where it was (export_restore).
 * Unexport (or remove) tells every importer with a REVOKE and deregisters
 * those regions, so an RDMA access with an old rkey fails at the NIC: this
 * is the re-registration scheme (see docs/design.md).  An export's flags
 * (SEGW_EXP_*) are kept on it and sent to importers that read them;
 * SEGW_EXP_LOCKOPS adds remote atomics to its writable regions (an atomic
 * writes, so a read-only importer gets none).
 *
 * The exporter's side of the peer protocol (LIST, IMPORT, UNIMPORT, FREE,
 * SIGNAL) arrives through the handlers export_init() registers with
 * peer_msg.c, and a connection's end through its observer (peer.c).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <infiniband/verbs.h>

#include "segd.h"

#define EXPORT_MAX_IMPORTS 4096	/* per peer */
#define FREED_NODES   256	/* sender nodes whose FREE batches are remembered */
#define FREED_BATCHES 64	/* batch numbers remembered per sender node */

/* One peer's import of an export. */
struct eimport {
	LIST_ENTRY(eimport) entry;	/* its export's */
	struct export      *exp;
	struct peer        *peer;	/* no reference: export_peer_gone() */
	uint64_t            id;
	int                 perm;
	struct grant       *g;	/* its direct data path; NULL: none */
};

static void
eimport_free(struct eimport *ei)
{
	grant_free(ei->g);	/* its data connections go, its key fails */
	LIST_REMOVE(ei, entry);
	free(ei);
}

/*
 * Where an export's importers reach: len bytes of segment seg's memory at
 * off.  The export's own segment until seg_rebind moves it (export_rebind).
 */
struct binding {
	struct segment *seg;
	uint64_t        off;
};

/*
 * An export holds two references, from export_seg() until unexport,
 * remove (of either segment), or segd's shutdown: one to its segment (its
 * name) and one to the segment it is bound to (the same one until a
 * rebind).  Exports are listed in the order of their sequence numbers,
 * which LIST's cursor names (version 2).
 */
struct export {
	TAILQ_ENTRY(export)  entry;
	uint32_t             seq;
	struct segment      *seg;
	struct binding       bind;
	struct acl_ent       acl[ACL_MAX];
	int                  nacl;
	struct ibv_mr       *mr_r, *mr_rw;
	unsigned             flags;	/* SEGW_EXP_* */
	uint64_t             gen;
	LIST_HEAD(, eimport) imports;
};

static TAILQ_HEAD(, export) exports = TAILQ_HEAD_INITIALIZER(exports);

/*
 * The batch numbers of the FREEs last applied, per sender node (by name,
 * so across its reconnections): a batch sent again because its ACK was
 * lost is acknowledged, not applied twice.  Only applied batches are
 * remembered: a refused one changed nothing, so its retry is judged anew.
 */
static struct freed {
	char     node[SEGP_NODEMAX + 1];
	uint32_t seq[FREED_BATCHES];	/* 0: none */
	unsigned next;
} freed[FREED_NODES];
static unsigned nfreed, freed_next;

/*
 * Import ids name lock holders (a lock word holds its holder's id): they
 * start from the time, so a restarted segd does not hand out again the
 * ids a lock word may still hold from before.
 */
static uint64_t next_id, next_gen;
static uint32_t next_seq;

/* the bound memory: segd's mapping of it, its address at this node */
static void *
bound_map(const struct export *x)
{
	return (char *)x->bind.seg->map + x->bind.off;
}

static uint64_t
bound_va(const struct export *x)
{
	return x->bind.seg->va + x->bind.off;
}

/* The end of x: importers told, regions gone; refs: drop its references. */
static void
export_revoke(struct segd *sd, struct export *x, int refs)
{
	struct segment *s = x->seg, *b = x->bind.seg;
	struct eimport *ei;

	while ((ei = LIST_FIRST(&x->imports)) != NULL) {
		union segp_msg m = { .id = ei->id };
		if (peer_alive(ei->peer))
			peer_send(ei->peer, SEGP_REVOKE, 0, &m);
		eimport_free(ei);
	}
	/* from here an RDMA access with the old rkeys fails */
	rdma_dereg(x->mr_r);
	rdma_dereg(x->mr_rw);
	x->seg->exp = NULL;
	TAILQ_REMOVE(&exports, x, entry);
	free(x);
	if (refs) {
		seg_put(&sd->ns, b);	/* the binding's reference */
		seg_put(&sd->ns, s);	/* the export's reference */
	}
}

/*
 * x's regions over len bytes at addr: read-only, read-write, as its
 * access list needs (SEGW_EXP_LOCKOPS: atomics on the writable one).
 */
static int
export_reg(struct segd *sd, const struct export *x, void *addr, uint64_t len,
    struct ibv_mr **r, struct ibv_mr **rw, struct segerr *e)
{
	int i, need_r = 0, need_rw = x->nacl == 0;
	int atomic = x->flags & SEGW_EXP_LOCKOPS ? IBV_ACCESS_REMOTE_ATOMIC : 0;

	for (i = 0; i < x->nacl; i++) {
		need_r |= x->acl[i].perm == SEGW_RD;
		need_rw |= x->acl[i].perm == (SEGW_RD | SEGW_WR);
	}
	*r = *rw = NULL;
	if (need_r && (*r = rdma_reg(sd, addr, len, IBV_ACCESS_REMOTE_READ,
	    e)) == NULL)
		return -1;
	if (need_rw && (*rw = rdma_reg(sd, addr, len, IBV_ACCESS_LOCAL_WRITE |
	    IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_WRITE | atomic,
	    e)) == NULL) {
		rdma_dereg(*r);
		*r = NULL;
		return -1;
	}
	return 0;
}

/* SEGW_EXP_DONTWAIT: len bytes of t at off must be resident already. */
static int
dontwait_check(struct segd *sd, unsigned flags, const struct segment *t,
    uint64_t off, uint64_t len, struct segerr *e)
{
	int r;

	if (!(flags & SEGW_EXP_DONTWAIT) ||
	    (r = seg_resident(t, off, len, sd->ns.pagesize)) == 1)
		return 0;
	if (r < 0)
		return seterr(e, errno, "mincore: %s", strerror(errno));
	return seterr(e, EAGAIN, "segment '%s' is not all resident and "
	    "SEG_DONTWAIT forbids faulting it in: write it first", t->name);
}

/*
 * x's record as NAME.export keeps it: generation, flags, binding (the
 * bound segment's name and the offset in it), access list.
 */
static void
export_rec(const struct export *x, const struct segment *t, uint64_t off,
    struct exprec *r)
{
	memset(r, 0, sizeof *r);
	r->gen = x->gen;
	r->flags = x->flags;
	snprintf(r->bind, sizeof r->bind, "%s", t->name);
	r->off = off;
	r->nacl = x->nacl;
	memcpy(r->acl, x->acl, sizeof r->acl);
}

/*
 * x, with its access list, flags and generation set, in the table as s's
 * export bound to s's length of t's memory at off: its regions, and its
 * two references (export_revoke drops them).
 */
static int
export_enter(struct segd *sd, struct segment *s, struct export *x,
    struct segment *t, uint64_t off, struct segerr *e)
{
	if (export_reg(sd, x, (char *)t->map + off, s->len, &x->mr_r,
	    &x->mr_rw, e) < 0)
		return -1;
	if (next_gen < x->gen)	/* a restored one: later ones come after it */
		next_gen = x->gen;
	if (++next_seq == 0)	/* 0 is the cursor of the first page */
		next_seq = 1;
	x->seq = next_seq;
	x->seg = s;
	x->bind.seg = t;
	x->bind.off = off;
	LIST_INIT(&x->imports);
	seg_hold(s);		/* the export's reference */
	seg_hold(t);		/* the binding's */
	s->exp = x;
	TAILQ_INSERT_TAIL(&exports, x, entry);
	return 0;
}

/* A generation no export of this segd had, across restarts too. */
static uint64_t
gen_next(void)
{
	uint64_t t = (uint64_t)time(NULL) << 20;

	if (next_gen < t)
		next_gen = t;
	return ++next_gen;
}

/* Exported: recorded in the state directory first (NAME.export). */
int
export_seg(struct segd *sd, struct segment *s, const char *acltext,
    unsigned flags, const struct cred *c, struct segerr *e)
{
	struct export *x;
	struct exprec r;

	if ((flags & ~SEGW_EXP_ALL) != 0)
		return seterr(e, EINVAL, "unknown export flags 0x%x",
		    flags & ~SEGW_EXP_ALL);
	if (sd->rdma == NULL)
		return seterr(e, ENOTSUP, "segd has no RDMA: start it with -l ADDR");
	if (c->uid != 0 && c->uid != s->uid)
		return seterr(e, EPERM, "permission denied: only the owner (uid "
		    "%u) or root may export segment '%s'", (unsigned)s->uid,
		    s->name);
	if (s->verb == SEG_VERB_NONE)
		return seterr(e, ENXIO, "segment not yet allocated");
	if (s->exp != NULL)
		return seterr(e, EBUSY, "segment '%s' is already exported; "
		    "unexport it first", s->name);
	if (dontwait_check(sd, flags, s, 0, s->len, e) < 0)
		return -1;
	if ((x = calloc(1, sizeof *x)) == NULL)
		return seterr(e, ENOMEM, "out of memory");
	x->flags = flags;
	if ((x->nacl = acl_parse(acltext, x->acl, ACL_MAX, e)) < 0)
		goto fail;
	x->gen = gen_next();
	export_rec(x, s, 0, &r);
	if (store_export_save(&sd->store, s->name, &r, e) < 0)
		goto fail;
	if (export_enter(sd, s, x, s, 0, e) < 0) {
		store_export_unlink(&sd->store, s->name);
		goto fail;
	}
	return 0;
fail:
	free(x);
	return -1;
}

/*
 * Whether s's export may be bound to s's length of t's memory at off: t
 * named and allocated, both of a kind that rebinds (for a rebind, or
 * unless t is s), of the same owner, off page-aligned and the range inside
 * t.  rebind_seg and export_restore both ask.
 */
static int
bind_check(struct segd *sd, const struct segment *s, const struct segment *t,
    uint64_t off, int rebind, struct segerr *e)
{
	if (!t->named || t->verb == SEG_VERB_NONE || off > t->len ||
	    s->len > t->len - off)
		return seterr(e, EFAULT, "bad address: segment '%s' does not "
		    "hold [0x%llx, 0x%llx) of it", t->name,
		    (unsigned long long)off, (unsigned long long)off + s->len);
	if (off % sd->ns.pagesize != 0)
		return seterr(e, EINVAL, "bad alignment: offset 0x%llx is "
		    "not a multiple of the page size", (unsigned long long)off);
	if ((rebind || t != s) &&
	    ((s->verb != SEG_VERB_VA && s->verb != SEG_VERB_ADDR) ||
	    (t->verb != SEG_VERB_VA && t->verb != SEG_VERB_ADDR)))
		return seterr(e, EINVAL, "wrong kind of segment: only va and "
		    "addr segments rebind ('%s' is %s, '%s' %s)", s->name,
		    segw_verb_name(s->verb), t->name, segw_verb_name(t->verb));
	if (t->uid != s->uid)
		return seterr(e, EACCES, "permission denied: segment '%s' is "
		    "not owned by the export's owner (uid %u)", t->name,
		    (unsigned)s->uid);
	return 0;
}

/* The segment r binds s's export to, if it is there and still fits it. */
static int
restore_bind(struct segd *sd, struct segment *s, const struct exprec *r,
    struct segment **t, struct segerr *e)
{
	struct segerr why;

	if ((*t = ns_lookup(&sd->ns, r->bind)) == NULL)
		return seterr(e, ENOENT, "segment '%s' it was bound to is gone",
		    r->bind);
	if (*t != s && !(r->flags & SEGW_EXP_REBIND))
		return seterr(e, EINVAL, "bound to segment '%s' without "
		    "SEG_ALLOW_REBIND", r->bind);
	if (bind_check(sd, s, *t, r->off, 0, &why) < 0)
		return seterr(e, why.code, "segment '%s' it was bound to no "
		    "longer fits: %s", r->bind, why.msg);
	return 0;
}

/*
 * A segment found again after a restart (every one is loaded by then, so
 * a binding to one restored after s is found): exported again as its
 * record says, under the same generation and bound where it was, so
 * importers' next operations import it again transparently.  A record
 * that is malformed or cannot be acted on (its bound segment gone or no
 * longer fitting) is logged and left; the segment stays unexported.
 */
void
export_restore(struct segd *sd, struct segment *s)
{
	struct export *x;
	struct exprec r;
	struct segment *t;
	struct segerr e;

	if (s->verb == SEG_VERB_NONE || s->exp != NULL ||
	    store_export_load(&sd->store, s->name, &r) <= 0)
		return;
	if (sd->rdma == NULL) {
		log_warnx("%s: '%s' was exported, but segd has no RDMA now: "
		    "left unexported", __func__, s->name);
		return;
	}
	if (restore_bind(sd, s, &r, &t, &e) < 0) {
		log_warnx("%s: '%s' left unexported: %s", __func__, s->name,
		    e.msg);
		return;
	}
	if ((x = calloc(1, sizeof *x)) == NULL) {
		log_warnx("%s: '%s': out of memory", __func__, s->name);
		return;
	}
	x->flags = r.flags;
	x->gen = r.gen;
	x->nacl = r.nacl;
	memcpy(x->acl, r.acl, sizeof x->acl);
	if (export_enter(sd, s, x, t, r.off, &e) < 0) {
		log_warnx("%s: '%s': %s", __func__, s->name, e.msg);
		free(x);
		return;
	}
	log_info("segd: '%s' exported again, generation %llu, bound to '%s' "
	    "at 0x%llx", s->name, (unsigned long long)r.gen, t->name,
	    (unsigned long long)r.off);
}

/* x is ended (unexport, remove): its record goes, then x. */
static void
export_end(struct segd *sd, struct export *x)
{
	store_export_unlink(&sd->store, x->seg->name);	/* not after a restart */
	export_revoke(sd, x, 1);
}

int
unexport_seg(struct segd *sd, struct segment *s, const struct cred *c,
    struct segerr *e)
{
	if (c->uid != 0 && c->uid != s->uid)
		return seterr(e, EPERM, "permission denied: only the owner (uid "
		    "%u) or root may unexport segment '%s'", (unsigned)s->uid,
		    s->name);
	if (s->exp == NULL)
		return seterr(e, EINVAL, "segment '%s' is not exported", s->name);
	export_end(sd, s->exp);
	return 0;
}

static void import_msg(struct segd *, struct eimport *,
    struct segp_import_rep *);

/*
 * The checks of a rebind of s's export to len bytes at va (RSM's errors:
 * REBIND_NOT_ALLOWED, NOT_CREATOR, BAD_LENGTH, BAD_MEM_ALIGNMENT,
 * BAD_ADDR, PERM_DENIED); the segment there into *t, the offset in it
 * into *off.
 */
static int
rebind_check(struct segd *sd, struct segment *s, uint64_t va, uint64_t len,
    const struct cred *c, struct segment **t, uint64_t *off,
    struct segerr *e)
{
	struct export *x = s->exp;

	if (x == NULL)
		return seterr(e, EINVAL, "segment '%s' is not exported", s->name);
	if (c->uid != 0 && c->uid != s->uid)
		return seterr(e, EPERM, "not the owner: only the owner (uid %u) "
		    "or root may rebind export '%s'", (unsigned)s->uid, s->name);
	if (!(x->flags & SEGW_EXP_REBIND))
		return seterr(e, ENOTSUP, "rebind not allowed: '%s' was "
		    "exported without SEG_ALLOW_REBIND", s->name);
	if (len != s->len)
		return seterr(e, EINVAL, "bad length %llu: the export's is %llu",
		    (unsigned long long)len, (unsigned long long)s->len);
	if (va % sd->ns.pagesize != 0)
		return seterr(e, EINVAL, "bad alignment: 0x%llx is not a "
		    "multiple of the page size", (unsigned long long)va);
	if ((*t = ns_find_range(&sd->ns, va, len)) == NULL || !(*t)->named)
		return seterr(e, EFAULT, "bad address: no segment holds "
		    "[0x%llx, 0x%llx)", (unsigned long long)va,
		    (unsigned long long)(va + len));
	*off = va - (*t)->va;
	return bind_check(sd, s, *t, *off, 1, e);
}

/*
 * Bind s's export to len bytes at va, inside another segment of its owner
 * (RSM's rsm_memseg_export_rebind).  New regions first, then the new
 * record (NAME.export, replaced atomically): nothing changes when either
 * cannot be had.  Then each import loses its grant and is told its new
 * binding (REBIND; an importer that does not know REBIND has its import
 * revoked), and the old regions go, so the old keys fail at the NIC.  An
 * access in flight meanwhile reaches either memory or fails.
 */
int
rebind_seg(struct segd *sd, struct segment *s, uint64_t va, uint64_t len,
    const struct cred *c, struct segerr *e)
{
	struct export *x = s->exp;
	struct eimport *ei, *next;
	struct ibv_mr *r, *rw;
	struct segment *t = NULL, *old;
	uint64_t off = 0;
	struct exprec rec;
	struct segerr se;
	union segp_msg m;

	if (rebind_check(sd, s, va, len, c, &t, &off, e) < 0 ||
	    dontwait_check(sd, x->flags, t, off, len, e) < 0 ||
	    export_reg(sd, x, (char *)t->map + off, len, &r, &rw, e) < 0)
		return -1;
	export_rec(x, t, off, &rec);
	if (store_export_save(&sd->store, s->name, &rec, &se) < 0) {
		rdma_dereg(r);
		rdma_dereg(rw);
		return seterr(e, se.code, "cannot record the rebind of '%s', "
		    "left bound as it was: %s", s->name, se.msg);
	}
	old = x->bind.seg;
	seg_hold(t);		/* the binding's reference */
	x->bind.seg = t;
	x->bind.off = off;
	rdma_dereg(x->mr_r);	/* from here the old keys fail */
	rdma_dereg(x->mr_rw);
	x->mr_r = r;
	x->mr_rw = rw;
	for (ei = LIST_FIRST(&x->imports); ei != NULL; ei = next) {
		next = LIST_NEXT(ei, entry);
		grant_free(ei->g);	/* its data connections go, its key fails */
		ei->g = NULL;
		if (!peer_alive(ei->peer) ||
		    !(peer_caps(ei->peer) & SEGP_CAP_REBIND)) {
			m.id = ei->id;
			if (peer_alive(ei->peer))
				peer_send(ei->peer, SEGP_REVOKE, 0, &m);
			eimport_free(ei);
			continue;
		}
		import_msg(sd, ei, &m.import_rep);
		peer_send(ei->peer, SEGP_REBIND, 0, &m);
	}
	seg_put(&sd->ns, old);	/* the old binding's reference */
	log_info("%s: export '%s' bound to '%s' at 0x%llx", __func__, s->name,
	    t->name, (unsigned long long)off);
	return 0;
}

/*
 * The segment is going (remove, or its memory was cut): unexport it, and
 * every export bound to it (their records go too: they are unexported).
 */
void
export_drop(struct segd *sd, struct segment *s)
{
	struct export *x, *next;

	for (x = TAILQ_FIRST(&exports); x != NULL; x = next) {
		next = TAILQ_NEXT(x, entry);
		if (x->seg != s && x->bind.seg == s) {
			log_info("%s: export '%s' revoked: segment '%s' it is "
			    "bound to is going", __func__, x->seg->name, s->name);
			export_end(sd, x);
		}
	}
	if (s->exp != NULL)
		export_end(sd, s->exp);
}

/* segd is stopping: revoke without touching references; the record stays. */
void
export_shutdown(struct segd *sd, struct segment *s)
{
	if (s->exp != NULL)
		export_revoke(sd, s->exp, 0);
}

static int
visible(struct export *x, struct peer *p)
{
	return acl_perm(x->acl, x->nacl, peer_node(p), peer_addr(p));
}

/*
 * A page of the exports peer p may see, after cursor: by sequence number
 * (version 2: stable while exports come and go), or by position (1); from
 * version 3 each entry carries the segment's address.
 */
static void
on_list(void *arg, struct peer *p, uint32_t tag, const union segp_msg *m)
{
	union segp_msg r;
	struct export *x;
	uint32_t pos = 0, last = 0, cursor = m->cursor;
	int byseq = peer_version(p) >= 2;

	(void)arg;
	memset(&r.list_rep, 0, sizeof r.list_rep);
	r.list_rep.withva = peer_version(p) >= 3;
	TAILQ_FOREACH(x, &exports, entry) {
		struct segp_ent *ent;
		int skip = byseq ? x->seq <= cursor : pos < cursor, perm;

		pos++;
		if (skip || (perm = visible(x, p)) == 0)
			continue;
		if (r.list_rep.n == (r.list_rep.withva ? SEGP_LIST3_MAX :
		    SEGP_LIST_MAX)) {
			r.list_rep.next = byseq ? last : pos - 1;
			break;
		}
		ent = &r.list_rep.ent[r.list_rep.n++];
		snprintf(ent->name, sizeof ent->name, "%s", x->seg->name);
		ent->perm = (uint8_t)perm;
		ent->verb = (uint8_t)x->seg->verb;
		ent->eflags = x->flags;
		ent->len = x->seg->len;
		ent->va = r.list_rep.withva ? bound_va(x) : 0;
		last = x->seq;
	}
	peer_send(p, SEGP_LIST_REP, tag, &r);
}

static unsigned
imports_of(struct peer *p)
{
	struct export *x;
	struct eimport *ei;
	unsigned count = 0;

	TAILQ_FOREACH(x, &exports, entry)
		LIST_FOREACH(ei, &x->imports, entry)
			count += ei->peer == p;
	return count;
}

static void import_reply(struct segd *, struct eimport *, uint32_t tag);

static void
on_import(void *arg, struct peer *p, uint32_t tag, const union segp_msg *m)
{
	struct segd *sd = arg;
	struct segment *s;
	struct export *x;
	struct eimport *ei;
	int perm;

	s = ns_lookup(&sd->ns, m->name);
	if (s == NULL || (x = s->exp) == NULL) {
		peer_send_error(p, tag, ENOENT, "segment '%s' is not exported by "
		    "node %s", m->name, sd->node);
		return;
	}
	if ((perm = visible(x, p)) == 0) {
		peer_send_error(p, tag, EACCES, "node %s may not import segment "
		    "'%s' from node %s", peer_node(p), m->name, sd->node);
		return;
	}
	if (imports_of(p) >= EXPORT_MAX_IMPORTS ||
	    (ei = calloc(1, sizeof *ei)) == NULL) {
		peer_send_error(p, tag, ENOSPC, "too many imports from node %s",
		    peer_node(p));
		return;
	}
	ei->exp = x;
	ei->peer = p;
	if (next_id == 0)
		next_id = ((uint64_t)time(NULL) << 20) | 1;
	ei->id = next_id++;
	ei->perm = perm;
	LIST_INSERT_HEAD(&x->imports, ei, entry);
	import_reply(sd, ei, tag);
}

/*
 * IMPORT_REP (or REBIND) for ei: the segd path's key, and on a connection
 * of version 3 a grant and a fresh ticket for the importer's own data
 * connections (made on first use; without one the importer uses the segd
 * path only), over the export's current binding.
 */
static void
import_msg(struct segd *sd, struct eimport *ei, struct segp_import_rep *r)
{
	struct export *x = ei->exp;
	struct segment *s = x->seg;
	struct segerr e;

	memset(r, 0, sizeof *r);
	r->id = ei->id;
	r->va = bound_va(x);
	r->len = s->len;
	r->gen = x->gen;
	r->rkey = ei->perm & SEGW_WR ? x->mr_rw->rkey : x->mr_r->rkey;
	r->perm = (uint32_t)ei->perm;
	r->witheflags = (peer_caps(ei->peer) & SEGP_CAP_EFLAGS) != 0;
	r->eflags = r->witheflags ? x->flags : 0;
	if (peer_version(ei->peer) >= 3 && sd->ticket_ms > 0) {
		if (ei->g == NULL && (ei->g = grant_new(ei->peer, ei->id,
		    bound_map(x), s->len, ei->perm, x->flags, &e)) == NULL)
			log_warnx("%s: no direct data path for '%s' to node %s: %s",
			    __func__, s->name, peer_node(ei->peer), e.msg);
		if (ei->g != NULL && grant_ticket(ei->g, r, &e) < 0)
			log_warnx("%s: %s", __func__, e.msg);
	}
	if (ei->perm & SEGW_WR)
		seg_touch(x->bind.seg);	/* RDMA writes bypass segd: data's time */
}

static void
import_reply(struct segd *sd, struct eimport *ei, uint32_t tag)
{
	union segp_msg r;

	import_msg(sd, ei, &r.import_rep);
	peer_send(ei->peer, SEGP_IMPORT_REP, tag, &r);
}

static struct eimport *
eimport_find(struct peer *p, uint64_t id)
{
	struct export *x;
	struct eimport *ei;

	TAILQ_FOREACH(x, &exports, entry)
		LIST_FOREACH(ei, &x->imports, entry)
			if (ei->id == id && ei->peer == p)
				return ei;
	return NULL;
}

/*
 * ALIVE: whether import holder (a lock word's holder id) of the export the
 * asker imports still exists.  ACK if so; ESRCH if not, so the asker may
 * break a lock whose holder is gone.
 */
static void
on_alive(void *arg, struct peer *p, uint32_t tag, const union segp_msg *m)
{
	struct eimport *ei = eimport_find(p, m->alive.id), *h;

	(void)arg;
	if (ei == NULL) {
		peer_send_error(p, tag, EACCES, "segment revoked: no import %llu "
		    "from node %s", (unsigned long long)m->alive.id, peer_node(p));
		return;
	}
	LIST_FOREACH(h, &ei->exp->imports, entry)
		if (h->id == m->alive.holder) {
			peer_send(p, SEGP_ACK, tag, NULL);
			return;
		}
	peer_send_error(p, tag, ESRCH, "import %llu of '%s' no longer exists",
	    (unsigned long long)m->alive.holder, ei->exp->seg->name);
}

static void
on_unimport(void *arg, struct peer *p, uint32_t tag, const union segp_msg *m)
{
	struct eimport *ei = eimport_find(p, m->id);

	(void)arg;
	(void)tag;
	if (ei != NULL)	/* else already revoked: nothing to do */
		eimport_free(ei);
}

/* A new ticket for an import (a remade or a new data connection). */
static void
on_ticket(void *arg, struct peer *p, uint32_t tag, const union segp_msg *m)
{
	struct eimport *ei = eimport_find(p, m->id);

	if (ei == NULL) {
		peer_send_error(p, tag, EACCES, "segment revoked: no import %llu "
		    "from node %s", (unsigned long long)m->id, peer_node(p));
		return;
	}
	import_reply(arg, ei, tag);
}

/* node's remembered batches; a slot made for it (the oldest reused) if mk */
static struct freed *
freed_of(const char *node, int mk)
{
	struct freed *f;
	unsigned i;

	for (i = 0; i < nfreed; i++)
		if (strcmp(freed[i].node, node) == 0)
			return &freed[i];
	if (!mk)
		return NULL;
	f = nfreed < FREED_NODES ? &freed[nfreed++] :
	    &freed[freed_next++ % FREED_NODES];
	memset(f, 0, sizeof *f);
	snprintf(f->node, sizeof f->node, "%s", node);
	return f;
}

static int
freed_has(const char *node, uint32_t seq)
{
	struct freed *f = freed_of(node, 0);
	unsigned i;

	for (i = 0; f != NULL && seq != 0 && i < FREED_BATCHES; i++)
		if (f->seq[i] == seq)
			return 1;
	return 0;
}

static void
freed_add(const char *node, uint32_t seq)
{
	struct freed *f;

	if (seq == 0 || (f = freed_of(node, 1)) == NULL)
		return;
	f->seq[f->next++ % FREED_BATCHES] = seq;
}

/* Returned buffers (FREE) or a signal (SIGNAL, f NULL) from an importer. */
static void
on_notify(struct segd *sd, struct peer *p, uint32_t tag, uint64_t id,
    const struct segp_free *f)
{
	struct eimport *ei;
	struct segerr e;

	if ((ei = eimport_find(p, id)) == NULL) {
		peer_send_error(p, tag, EACCES, "segment revoked: no import %llu "
		    "from node %s", (unsigned long long)id, peer_node(p));
		return;
	}
	if (f != NULL && freed_has(peer_node(p), f->seq)) {
		log_info("%s: node %s sent batch %u again: applied before, "
		    "acknowledged again", __func__, peer_node(p), f->seq);
		peer_send(p, SEGP_ACK, tag, NULL);
		return;
	}
	if ((f != NULL ? zio_free_apply(sd, ei->exp->seg, f->addrs, (int)f->n,
	    &e) : zio_signal(ei->exp->seg, &e)) < 0) {
		peer_send_error(p, tag, e.code, "%s", e.msg);
		return;
	}
	if (f != NULL)
		freed_add(peer_node(p), f->seq);
	peer_send(p, SEGP_ACK, tag, NULL);
}

static void
on_free(void *arg, struct peer *p, uint32_t tag, const union segp_msg *m)
{
	on_notify(arg, p, tag, m->free.id, &m->free);
}

static void
on_signal(void *arg, struct peer *p, uint32_t tag, const union segp_msg *m)
{
	on_notify(arg, p, tag, m->id, NULL);
}

/* The connection is gone: so is every import made over it. */
static void
export_peer_gone(void *arg, struct peer *p)
{
	struct export *x;
	struct eimport *ei, *next;

	(void)arg;
	TAILQ_FOREACH(x, &exports, entry)
		for (ei = LIST_FIRST(&x->imports); ei; ei = next) {
			next = LIST_NEXT(ei, entry);
			if (ei->peer == p)
				eimport_free(ei);
		}
}

void
export_init(struct segd *sd)
{
	peer_handle(SEGP_LIST, on_list, sd);
	peer_handle(SEGP_IMPORT, on_import, sd);
	peer_handle(SEGP_UNIMPORT, on_unimport, sd);
	peer_handle(SEGP_FREE, on_free, sd);
	peer_handle(SEGP_SIGNAL, on_signal, sd);
	peer_handle(SEGP_TICKET, on_ticket, sd);
	peer_handle(SEGP_ALIVE, on_alive, sd);
	peer_observe_gone(export_peer_gone, sd);
}

/* For segctl stats: exports and live imports of them. */
void
export_counts(unsigned *nexp, unsigned *nimp)
{
	struct export *x;
	struct eimport *ei;

	*nexp = *nimp = 0;
	TAILQ_FOREACH(x, &exports, entry) {
		(*nexp)++;
		LIST_FOREACH(ei, &x->imports, entry)
			(*nimp)++;
	}
}
