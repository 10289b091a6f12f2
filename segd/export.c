/*
 * export.c: RSM's publish on segd.  An exported segment gets remote-access
 * memory regions of its own, one read-only and one read-write as its access
 * list needs; a peer's import hands out the rkey its grant allows.
 * Unexport (or remove) tells every importer with a REVOKE and deregisters
 * those regions, so an RDMA access with an old rkey fails at the NIC: this
 * is the re-registration scheme (see docs/design.md).
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
};

/*
 * An export holds one reference to its segment, from export_seg() until
 * unexport, remove, or segd's shutdown.
 */
struct export {
	LIST_ENTRY(export)   entry;
	struct segment      *seg;
	struct acl_ent       acl[ACL_MAX];
	int                  nacl;
	struct ibv_mr       *mr_r, *mr_rw;
	uint64_t             gen;
	LIST_HEAD(, eimport) imports;
};

static LIST_HEAD(, export) exports = LIST_HEAD_INITIALIZER(exports);
static uint64_t next_id = 1, next_gen;

static void
export_revoke(struct segd *sd, struct export *x)
{
	struct eimport *ei;

	(void)sd;
	while ((ei = LIST_FIRST(&x->imports)) != NULL) {
		uint64_t id = htole64(ei->id);
		if (peer_alive(ei->peer))
			peer_send(ei->peer, SEGP_REVOKE, 0, &id, sizeof id);
		LIST_REMOVE(ei, entry);
		free(ei);
	}
	/* from here an RDMA access with the old rkeys fails */
	rdma_dereg(x->mr_r);
	rdma_dereg(x->mr_rw);
	x->seg->exp = NULL;
	LIST_REMOVE(x, entry);
	free(x);
}

int
export_seg(struct segd *sd, struct segment *s, const char *acltext,
    const struct cred *c, struct segerr *e)
{
	struct export *x;
	int i, need_r = 0, need_rw = 0;

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
	if ((x->nacl = acl_parse(acltext, x->acl, ACL_MAX, e)) < 0) {
		free(x);
		return -1;
	}
	for (i = 0; i < x->nacl; i++) {
		need_r |= x->acl[i].perm == SEGW_RD;
		need_rw |= x->acl[i].perm == (SEGW_RD | SEGW_WR);
	}
	if (x->nacl == 0)
		need_rw = 1;
	if (need_r && (x->mr_r = rdma_reg(sd, s->map, s->len,
	    IBV_ACCESS_REMOTE_READ, e)) == NULL)
		goto fail;
	if (need_rw && (x->mr_rw = rdma_reg(sd, s->map, s->len,
	    IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ |
	    IBV_ACCESS_REMOTE_WRITE, e)) == NULL)
		goto fail;
	if (next_gen == 0)	/* differs across restarts of segd */
		next_gen = (uint64_t)time(NULL) << 20;
	x->gen = ++next_gen;
	x->seg = s;
	LIST_INIT(&x->imports);
	seg_hold(s);		/* the export's reference */
	s->exp = x;
	LIST_INSERT_HEAD(&exports, x, entry);
	return 0;
fail:
	rdma_dereg(x->mr_r);
	free(x);
	return -1;
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
	export_revoke(sd, s->exp);
	seg_put(&sd->ns, s);	/* the export's reference */
}

/* segd is stopping: revoke without touching references. */
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

static void
send_error(struct peer *p, uint32_t tag, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
send_error(struct peer *p, uint32_t tag, int code, const char *fmt, ...)
{
	uint8_t buf[sizeof(struct segp_error) + SEGW_MAXTEXT];
	struct segp_error er;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf((char *)buf + sizeof er, SEGW_MAXTEXT, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if (n >= SEGW_MAXTEXT)
		n = SEGW_MAXTEXT - 1;
	er.code = htole32((uint32_t)code);
	er.textlen = htole32((uint32_t)n);
	memcpy(buf, &er, sizeof er);
	peer_send(p, SEGP_ERROR, tag, buf, sizeof er + (size_t)n);
}

static void
on_list(struct peer *p, uint32_t tag, const uint8_t *pl)
{
	uint8_t buf[SEGP_MSGSIZE - SEGP_HDRLEN];
	struct segp_list req;
	struct segp_list_rep rep;
	struct export *x;
	uint32_t pos = 0, cursor, n = 0;

	memcpy(&req, pl, sizeof req);
	cursor = le32toh(req.cursor);
	rep.next = 0;
	LIST_FOREACH(x, &exports, entry) {
		struct segp_ent ent;
		int perm;
		size_t nl;

		if (pos++ < cursor || (perm = visible(x, p)) == 0)
			continue;
		if (n == SEGP_LIST_MAX) {
			rep.next = htole32(pos - 1);
			break;
		}
		nl = strlen(x->seg->name);
		memset(&ent, 0, sizeof ent);
		ent.namelen = htole16((uint16_t)nl);
		ent.perm = (uint8_t)perm;
		ent.verb = (uint8_t)x->seg->verb;
		ent.len = htole64(x->seg->len);
		memcpy(ent.name, x->seg->name, nl);
		memcpy(buf + sizeof rep + n * sizeof ent, &ent, sizeof ent);
		n++;
	}
	rep.n = htole32(n);
	memcpy(buf, &rep, sizeof rep);
	peer_send(p, SEGP_LIST_REP, tag, buf, sizeof rep +
	    n * sizeof(struct segp_ent));
}

static int
on_import(struct segd *sd, struct peer *p, uint32_t tag, const uint8_t *pl)
{
	struct segp_name nm;
	struct segp_import_rep rep;
	struct segment *s;
	struct export *x;
	struct eimport *ei;
	char name[SEG_NAMEMAX + 1];
	unsigned nl, count = 0;
	int perm;

	memcpy(&nm, pl, sizeof nm);
	nl = le16toh(nm.namelen);
	if (nl == 0 || nl > SEG_NAMEMAX)
		return -1;
	memcpy(name, nm.name, nl);
	name[nl] = '\0';
	if (!seg_name_valid(name)) {
		send_error(p, tag, EINVAL, "bad segment name");
		return 0;
	}
	s = ns_lookup(&sd->ns, name);
	if (s == NULL || (x = s->exp) == NULL) {
		send_error(p, tag, ENOENT, "segment '%s' is not exported by "
		    "node %s", name, sd->node);
		return 0;
	}
	if ((perm = visible(x, p)) == 0) {
		send_error(p, tag, EACCES, "node %s may not import segment "
		    "'%s' from node %s", peer_node(p), name, sd->node);
		return 0;
	}
	LIST_FOREACH(x, &exports, entry)
		LIST_FOREACH(ei, &x->imports, entry)
			count += ei->peer == p;
	x = s->exp;
	if (count >= EXPORT_MAX_IMPORTS ||
	    (ei = calloc(1, sizeof *ei)) == NULL) {
		send_error(p, tag, ENOSPC, "too many imports from node %s",
		    peer_node(p));
		return 0;
	}
	ei->exp = x;
	ei->peer = p;
	ei->id = next_id++;
	LIST_INSERT_HEAD(&x->imports, ei, entry);
	memset(&rep, 0, sizeof rep);
	rep.id = htole64(ei->id);
	rep.va = htole64(s->va);
	rep.len = htole64(s->len);
	rep.gen = htole64(x->gen);
	rep.rkey = htole32(perm & SEGW_WR ? x->mr_rw->rkey : x->mr_r->rkey);
	rep.perm = htole32((uint32_t)perm);
	peer_send(p, SEGP_IMPORT_REP, tag, &rep, sizeof rep);
	return 0;
}

static void
on_unimport(struct peer *p, const uint8_t *pl)
{
	struct export *x;
	struct eimport *ei;
	uint64_t id;

	memcpy(&id, pl, sizeof id);
	id = le64toh(id);
	LIST_FOREACH(x, &exports, entry)
		LIST_FOREACH(ei, &x->imports, entry)
			if (ei->id == id && ei->peer == p) {
				LIST_REMOVE(ei, entry);
				free(ei);
				return;
			}
	/* already revoked: nothing to do */
}

static struct eimport *
eimport_find(struct peer *p, uint64_t id)
{
	struct export *x;
	struct eimport *ei;

	LIST_FOREACH(x, &exports, entry)
		LIST_FOREACH(ei, &x->imports, entry)
			if (ei->id == id && ei->peer == p)
				return ei;
	return NULL;
}

/* Returned buffers or a signal from an importer. */
static int
on_notify(struct segd *sd, struct peer *p, uint16_t type, uint32_t tag,
    const uint8_t *pl, size_t len)
{
	uint64_t addrs[SEGP_FREE_MAX];
	struct segp_free f;
	struct eimport *ei;
	struct segerr e;
	uint64_t id;
	uint32_t i, n = 0;

	if (type == SEGP_FREE) {
		if (len < sizeof f)
			return -1;
		memcpy(&f, pl, sizeof f);
		n = le32toh(f.n);
		if (n == 0 || n > SEGP_FREE_MAX || len != sizeof f + n * 8)
			return -1;
		id = le64toh(f.id);
		for (i = 0; i < n; i++) {
			memcpy(&addrs[i], pl + sizeof f + i * 8, 8);
			addrs[i] = le64toh(addrs[i]);
		}
	} else {
		memcpy(&id, pl, sizeof id);
		id = le64toh(id);
	}
	if ((ei = eimport_find(p, id)) == NULL) {
		send_error(p, tag, EACCES, "segment revoked: no import %llu "
		    "from node %s", (unsigned long long)id, peer_node(p));
		return 0;
	}
	if ((type == SEGP_FREE ? zio_free_apply(sd, ei->exp->seg, addrs,
	    (int)n, &e) : zio_signal(ei->exp->seg, &e)) < 0)
		send_error(p, tag, e.code, "%s", e.msg);
	else
		peer_send(p, SEGP_ACK, tag, NULL, 0);
	return 0;
}

/* A request from a peer; -1 if it is malformed. */
int
export_on_msg(struct segd *sd, struct peer *p, uint16_t type, uint32_t tag,
    const uint8_t *pl, size_t len)
{
	switch (type) {	/* fixed sizes were checked with the header */
	case SEGP_LIST:
		on_list(p, tag, pl);
		return 0;
	case SEGP_IMPORT:
		return on_import(sd, p, tag, pl);
	case SEGP_UNIMPORT:
		on_unimport(p, pl);
		return 0;
	case SEGP_FREE:
	case SEGP_SIGNAL:
		return on_notify(sd, p, type, tag, pl, len);
	default:
		return -1;
	}
}

/* The connection is gone: so is every import made over it. */
void
export_peer_gone(struct segd *sd, struct peer *p)
{
	struct export *x;
	struct eimport *ei, *next;

	(void)sd;
	LIST_FOREACH(x, &exports, entry)
		for (ei = LIST_FIRST(&x->imports); ei; ei = next) {
			next = LIST_NEXT(ei, entry);
			if (ei->peer == p) {
				LIST_REMOVE(ei, entry);
				free(ei);
			}
		}
}

/* For segctl stats: exports and live imports of them. */
void
export_counts(unsigned *nexp, unsigned *nimp)
{
	struct export *x;
	struct eimport *ei;

	*nexp = *nimp = 0;
	LIST_FOREACH(x, &exports, entry) {
		(*nexp)++;
		LIST_FOREACH(ei, &x->imports, entry)
			(*nimp)++;
	}
}
