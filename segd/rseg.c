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
 * It is three files: this one keeps the imports (the list, references,
 * the bindings a reply names), IMPORT and LIST, and what the peer
 * connections tell of them; rseg_io.c moves bytes (get, put, barrier),
 * asks for tickets and does lock operations; rseg_free.c returns buffers
 * (FREE, with its batches in doubt) and signals.  Both sit on this one.
 *
 * Every operation is counted for its peer's node (pstats.c): done or
 * failed, its bytes or addresses, its latency from submission to the end.
 *
 * REVOKE from an exporter marks its import revoked; a connection's end
 * marks every import made over it lost.  Both arrive through the handler
 * and observer rseg_init() registers with peer_msg.c and peer.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segd.h"

#define RSEG_LISTMAX    65536		/* entries of one peer's listing */
#define REVOKED_MAX     256		/* revoked names remembered */

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
void
rseg_count_op(const struct peer *p, const char *node, const char *label, int op,
    uint64_t amount, uint64_t t0, int ok)
{
	const char *n = p != NULL ? peer_node(p) : "";

	pstat_op(n[0] ? n : node[0] ? node : label, op, amount, t0, ok);
}

/* A reply that is an error, or not the one expected, into e. */
void
rseg_reply_error(struct segerr *e, uint16_t type, const union segp_msg *m,
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
	rseg_count_op(NULL, o->node, o->label, PSO_IMPORT, 0, o->t0, 0);
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
void
rseg_bind(struct rimp *imp, const struct segp_import_rep *rep)
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
	rseg_bind(imp, rep);
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
		rseg_reply_error(&e, type, m, o->label);
	else if ((imp = rimp_new(p, o, &m->import_rep)) == NULL) {
		union segp_msg u = { .id = m->import_rep.id };
		peer_send(p, SEGP_UNIMPORT, 0, &u);	/* it keeps nothing */
		seterr(&e, ENOMEM, "out of memory");
	} else
		revoked_clear(imp->node, imp->name);
	rseg_count_op(p, o->node, o->label, PSO_IMPORT, 0, o->t0, imp != NULL);
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
	rseg_count_op(NULL, node, o->node[0] ? o->node : o->label, PSO_LIST, 0,
	    o->t0, e == NULL);
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
		rseg_reply_error(&e, type, m, o->label);
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
	rseg_bind(imp, &m->import_rep);
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
	peer_handle(SEGP_REVOKE, on_revoke, sd);
	peer_handle(SEGP_REBIND, on_rebind, sd);
	peer_observe_gone(rseg_peer_gone, sd);
}
