/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * export.c: RSM's publish on segd.  An exported segment gets remote-access
 * memory regions of its own, one read-only and one read-write as its access
 * list needs; a peer's import hands out the rkey its grant allows.  Each
 * export is recorded in the state directory (NAME.export, store.c) until
 * it is unexported or removed, so a restarted segd, even one killed,
 * exports it again under the same generation (export_restore).
 * Unexport (or remove) tells every importer with a REVOKE and deregisters
 * those regions, so an RDMA access with an old rkey fails at the NIC: this
 * is the re-registration scheme (see docs/design.md).
 *
 * The exporter's side of the peer protocol (LIST, IMPORT, UNIMPORT, FREE,
 * SIGNAL) arrives through the handlers export_init() registers with
 * peer.c, and a connection's end through its observer.
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
 * An export holds one reference to its segment, from export_seg() until
 * unexport, remove, or segd's shutdown.  Exports are listed in the order
 * of their sequence numbers, which LIST's cursor names (version 2).
 */
struct export {
	TAILQ_ENTRY(export)  entry;
	uint32_t             seq;
	struct segment      *seg;
	struct acl_ent       acl[ACL_MAX];
	int                  nacl;
	struct ibv_mr       *mr_r, *mr_rw;
	uint64_t             gen;
	LIST_HEAD(, eimport) imports;
};

static TAILQ_HEAD(, export) exports = TAILQ_HEAD_INITIALIZER(exports);
static uint64_t next_id = 1, next_gen;
static uint32_t next_seq;

static void
export_revoke(struct segd *sd, struct export *x)
{
	struct eimport *ei;

	(void)sd;
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
}

/*
 * x's remote-access regions over s, as its access list needs, and x in
 * the table under generation gen (x is s's export from here).
 */
static int
export_enter(struct segd *sd, struct segment *s, struct export *x,
    uint64_t gen, struct segerr *e)
{
	int i, need_r = 0, need_rw = 0;

	for (i = 0; i < x->nacl; i++) {
		need_r |= x->acl[i].perm == SEGW_RD;
		need_rw |= x->acl[i].perm == (SEGW_RD | SEGW_WR);
	}
	if (x->nacl == 0)
		need_rw = 1;
	if (need_r && (x->mr_r = rdma_reg(sd, s->map, s->len,
	    IBV_ACCESS_REMOTE_READ, e)) == NULL)
		return -1;
	if (need_rw && (x->mr_rw = rdma_reg(sd, s->map, s->len,
	    IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ |
	    IBV_ACCESS_REMOTE_WRITE, e)) == NULL) {
		rdma_dereg(x->mr_r);
		x->mr_r = NULL;
		return -1;
	}
	x->gen = gen;
	if (next_gen < gen)	/* a restored one: later ones come after it */
		next_gen = gen;
	if (++next_seq == 0)	/* 0 is the cursor of the first page */
		next_seq = 1;
	x->seq = next_seq;
	x->seg = s;
	LIST_INIT(&x->imports);
	seg_hold(s);		/* the export's reference */
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
    const struct cred *c, struct segerr *e)
{
	struct export *x;
	struct exprec r;

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
	if ((x = calloc(1, sizeof *x)) == NULL)
		return seterr(e, ENOMEM, "out of memory");
	if ((x->nacl = acl_parse(acltext, x->acl, ACL_MAX, e)) < 0)
		goto fail;
	memset(&r, 0, sizeof r);
	r.gen = gen_next();
	r.nacl = x->nacl;
	memcpy(r.acl, x->acl, sizeof r.acl);
	if (store_export_save(&sd->store, s->name, &r, e) < 0)
		goto fail;
	if (export_enter(sd, s, x, r.gen, e) < 0) {
		store_export_unlink(&sd->store, s->name);
		goto fail;
	}
	return 0;
fail:
	free(x);
	return -1;
}

/*
 * A segment found again after a restart: exported again as its record
 * says, under the same generation, so importers' next operations import
 * it again transparently.  A record that is malformed or cannot be acted
 * on is logged and left; the segment stays unexported.
 */
void
export_restore(struct segd *sd, struct segment *s)
{
	struct export *x;
	struct exprec r;
	struct segerr e;

	if (s->verb == SEG_VERB_NONE || s->exp != NULL ||
	    store_export_load(&sd->store, s->name, &r) <= 0)
		return;
	if (sd->rdma == NULL) {
		log_warnx("%s: '%s' was exported, but segd has no RDMA now: "
		    "left unexported", __func__, s->name);
		return;
	}
	if ((x = calloc(1, sizeof *x)) == NULL) {
		log_warnx("%s: '%s': out of memory", __func__, s->name);
		return;
	}
	x->nacl = r.nacl;
	memcpy(x->acl, r.acl, sizeof x->acl);
	if (export_enter(sd, s, x, r.gen, &e) < 0) {
		log_warnx("%s: '%s': %s", __func__, s->name, e.msg);
		free(x);
		return;
	}
	log_info("segd: '%s' exported again, generation %llu", s->name,
	    (unsigned long long)r.gen);
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
	export_drop(sd, s);
	return 0;
}

/* The segment's name is going (remove): unexport it. */
void
export_drop(struct segd *sd, struct segment *s)
{
	if (s->exp == NULL)
		return;
	store_export_unlink(&sd->store, s->name);	/* not after a restart */
	export_revoke(sd, s->exp);
	seg_put(&sd->ns, s);	/* the export's reference */
}

/* segd is stopping: revoke without touching references; the record stays. */
void
export_shutdown(struct segd *sd, struct segment *s)
{
	if (s->exp != NULL)
		export_revoke(sd, s->exp);
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
		ent->len = x->seg->len;
		ent->va = r.list_rep.withva ? x->seg->va : 0;
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
	ei->id = next_id++;
	ei->perm = perm;
	LIST_INSERT_HEAD(&x->imports, ei, entry);
	import_reply(sd, ei, tag);
}

/*
 * IMPORT_REP for ei: the segd path's key, and on a connection of version 3
 * a grant and a fresh ticket for the importer's own data connections (made
 * on first use; without one the importer uses the segd path only).
 */
static void
import_reply(struct segd *sd, struct eimport *ei, uint32_t tag)
{
	struct export *x = ei->exp;
	struct segment *s = x->seg;
	struct segerr e;
	union segp_msg r;

	memset(&r, 0, sizeof r);
	r.import_rep.id = ei->id;
	r.import_rep.va = s->va;
	r.import_rep.len = s->len;
	r.import_rep.gen = x->gen;
	r.import_rep.rkey = ei->perm & SEGW_WR ? x->mr_rw->rkey : x->mr_r->rkey;
	r.import_rep.perm = (uint32_t)ei->perm;
	if (peer_version(ei->peer) >= 3 && sd->ticket_ms > 0) {
		if (ei->g == NULL && (ei->g = grant_new(ei->peer, ei->id, s->map,
		    s->len, ei->perm, &e)) == NULL)
			log_warnx("%s: no direct data path for '%s' to node %s: %s",
			    __func__, s->name, peer_node(ei->peer), e.msg);
		if (ei->g != NULL && grant_ticket(ei->g, &r.import_rep, &e) < 0)
			log_warnx("%s: %s", __func__, e.msg);
	}
	if (ei->perm & SEGW_WR)
		seg_touch(s);	/* RDMA writes bypass segd: data's time */
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

/* Returned buffers (FREE) or a signal (SIGNAL) from an importer. */
static void
on_notify(struct segd *sd, struct peer *p, uint32_t tag, uint64_t id,
    const uint64_t *addrs, uint32_t n)
{
	struct eimport *ei;
	struct segerr e;

	if ((ei = eimport_find(p, id)) == NULL) {
		peer_send_error(p, tag, EACCES, "segment revoked: no import %llu "
		    "from node %s", (unsigned long long)id, peer_node(p));
		return;
	}
	if ((addrs != NULL ? zio_free_apply(sd, ei->exp->seg, addrs, (int)n,
	    &e) : zio_signal(ei->exp->seg, &e)) < 0)
		peer_send_error(p, tag, e.code, "%s", e.msg);
	else
		peer_send(p, SEGP_ACK, tag, NULL);
}

static void
on_free(void *arg, struct peer *p, uint32_t tag, const union segp_msg *m)
{
	on_notify(arg, p, tag, m->free.id, m->free.addrs, m->free.n);
}

static void
on_signal(void *arg, struct peer *p, uint32_t tag, const union segp_msg *m)
{
	on_notify(arg, p, tag, m->id, NULL, 0);
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
