/*
 * import.c: RSM's connect/get/put/barrier, served to local clients.
 *
 * A client's import lives as long as its connection to segd (or until
 * seg_unimport).  get and put are RDMA READ and WRITE that segd posts on
 * the client's behalf.  When the client's buffer lies in a segment (every
 * segment is mapped at the same address in segd and registered), the work
 * request names that memory directly: zero copy.  Any other buffer goes
 * through the client's bounce region, a shared memory area registered once.
 * Every check (bounds, grant, local permission) is made before anything is
 * posted.
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
#define IO_ROUND     32		/* work requests per round */
#define IO_MAXWR     (1u << 20)	/* bytes in one work request */
#define IO_ROUNDMAX  (8u << 20)	/* bytes in one round: a step of the deadline */

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

struct import {
	LIST_ENTRY(import) centry;	/* its client's */
	LIST_ENTRY(import) gentry;	/* all imports */
	uint64_t      handle;
	struct peer  *peer;	/* holds a reference; NULL once the link is lost */
	char          label[128];
	char          lost[SEGW_MAXTEXT];
	char          name[SEG_NAMEMAX + 1];
	uint64_t      id, rva, len, gen;
	uint32_t      rkey, perm;
	int           revoked;
	int           err;	/* first put error since the last barrier */
	char          errmsg[SEGW_MAXTEXT];
};

struct client_imports {
	LIST_HEAD(, import) list;
	uint64_t            next_handle;
	struct bounce      *bounce;
};

static LIST_HEAD(, import) all_imports = LIST_HEAD_INITIALIZER(all_imports);

struct client_imports *
client_imports_new(void)
{
	struct client_imports *ci = calloc(1, sizeof *ci);

	if (ci != NULL) {
		LIST_INIT(&ci->list);
		ci->next_handle = 1;
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
import_free(struct import *imp)
{
	LIST_REMOVE(imp, centry);
	LIST_REMOVE(imp, gentry);
	if (imp->peer != NULL) {
		uint64_t id = htole64(imp->id);
		peer_send(imp->peer, SEGP_UNIMPORT, 0, &id, sizeof id);
		peer_put(imp->peer);	/* the import's reference */
	}
	free(imp);
}

void
import_client_gone(struct segd *sd, struct client *c)
{
	struct client_imports *ci = client_imports(c);
	struct import *imp;

	(void)sd;
	if (ci == NULL)
		return;
	while ((imp = LIST_FIRST(&ci->list)) != NULL)
		import_free(imp);
	bounce_put(ci->bounce);	/* the client's reference */
	free(ci);
}

static struct import *
import_find(struct client *c, uint64_t handle)
{
	struct client_imports *ci = client_imports(c);
	struct import *imp;

	if (ci == NULL)
		return NULL;
	LIST_FOREACH(imp, &ci->list, centry)
		if (imp->handle == handle)
			return imp;
	return NULL;
}

void
import_on_revoke(struct segd *sd, struct peer *p, uint64_t id)
{
	struct import *imp;

	(void)sd;
	LIST_FOREACH(imp, &all_imports, gentry)
		if (imp->peer == p && imp->id == id)
			imp->revoked = 1;
	fsnet_on_revoke(sd, p, id);	/* the file system's imports */
}

void
import_peer_gone(struct segd *sd, struct peer *p)
{
	struct import *imp;

	(void)sd;
	LIST_FOREACH(imp, &all_imports, gentry)
		if (imp->peer == p) {
			snprintf(imp->lost, sizeof imp->lost, "%s",
			    "the connection was lost");
			imp->peer = NULL;
			peer_put(p);	/* the import's reference */
		}
}

/* "HOST PORT LABEL" from a local request */
static struct peer *
request_peer(struct segd *sd, const struct segw_req *r, char *label,
    size_t lsize, struct segerr *e)
{
	char host[INET6_ADDRSTRLEN + 1], lab[128];
	unsigned port;

	if (sscanf(r->text, "%46s %u %127s", host, &port, lab) != 3 ||
	    port == 0 || port > 65535)
		return seterr(e, EINVAL, "bad peer reference"), NULL;
	snprintf(label, lsize, "%s", lab);
	return peer_get(sd, host, (uint16_t)port, lab, e);
}

/* --- import: a request message and its reply --- */

struct improp {
	struct rop     rop;
	struct segd   *sd;
	struct creq   *q;
	struct segp_name req;
	char           name[SEG_NAMEMAX + 1];
	char           label[128];
};

static int
imp_start(struct rop *r)
{
	struct improp *o = (struct improp *)r;

	rop_send(r, SEGP_IMPORT, &o->req, sizeof o->req);
	return 0;
}

static void
imp_fail(struct rop *r, int code, const char *msg)
{
	struct improp *o = (struct improp *)r;

	creq_fail(o->q, code, "%s", msg);
	free(o);
}

static void
reply_error(struct creq *q, const uint8_t *pl, size_t len)
{
	struct segerr e;

	peer_error_decode(&e, pl, len);
	creq_fail_err(q, &e);
}

static void
imp_reply(struct rop *r, uint16_t type, const uint8_t *pl, size_t len)
{
	struct improp *o = (struct improp *)r;
	struct peer *p = r->peer;
	struct segp_import_rep rep;
	struct client *c = creq_client(o->q);
	struct client_imports *ci;
	struct import *imp;
	struct segw_imp m;
	uint8_t buf[64];
	size_t n;

	if (type != SEGP_IMPORT_REP) {
		if (type == SEGP_ERROR)
			reply_error(o->q, pl, len);
		else
			creq_fail(o->q, EPROTO, "peer %s: unexpected reply",
			    o->label);
		rop_done(r);
		free(o);
		return;
	}
	memcpy(&rep, pl, sizeof rep);
	memset(&m, 0, sizeof m);
	m.rva = le64toh(rep.va);
	m.len = le64toh(rep.len);
	m.gen = le64toh(rep.gen);
	m.rkey = le32toh(rep.rkey);
	m.perm = le32toh(rep.perm);
	ci = c ? client_imports(c) : NULL;
	imp = NULL;
	if (m.len == 0 || m.rva > UINT64_MAX - m.len ||
	    (m.perm != SEGW_RD && m.perm != (SEGW_RD | SEGW_WR))) {
		creq_fail(o->q, EPROTO, "peer %s sent a malformed import reply",
		    o->label);
	} else if (ci == NULL || (imp = calloc(1, sizeof *imp)) == NULL) {
		creq_fail(o->q, ENOMEM, "out of memory");
	}
	if (imp == NULL) {	/* the exporter keeps nothing for us */
		uint64_t id = rep.id;
		peer_send(p, SEGP_UNIMPORT, 0, &id, sizeof id);
		rop_done(r);
		free(o);
		return;
	}
	imp->handle = ci->next_handle++;
	imp->peer = p;
	peer_hold(p);		/* the import's reference */
	snprintf(imp->label, sizeof imp->label, "%s", o->label);
	snprintf(imp->name, sizeof imp->name, "%s", o->name);
	imp->id = le64toh(rep.id);
	imp->rva = m.rva;
	imp->len = m.len;
	imp->gen = m.gen;
	imp->rkey = m.rkey;
	imp->perm = m.perm;
	LIST_INSERT_HEAD(&ci->list, imp, centry);
	LIST_INSERT_HEAD(&all_imports, imp, gentry);
	m.handle = imp->handle;
	m.rkey = imp->rkey;
	n = segw_imp_encode(buf, sizeof buf, &m);
	creq_reply_raw(o->q, buf, n);
	rop_done(r);
	free(o);
}

static const struct rop_ops imp_ops = { imp_start, imp_reply, imp_fail };

/* --- list of a peer's exports --- */

struct lsrop {
	struct rop   rop;
	struct creq *q;
	uint32_t     cursor;
	char         label[128];
};

static int
ls_start(struct rop *r)
{
	struct lsrop *o = (struct lsrop *)r;
	struct segp_list req = { htole32(o->cursor), 0 };

	rop_send(r, SEGP_LIST, &req, sizeof req);
	return 0;
}

static void
ls_fail(struct rop *r, int code, const char *msg)
{
	struct lsrop *o = (struct lsrop *)r;

	creq_fail(o->q, code, "%s", msg);
	free(o);
}

static void
ls_reply(struct rop *r, uint16_t type, const uint8_t *pl, size_t len)
{
	struct lsrop *o = (struct lsrop *)r;
	struct segp_list_rep rep;
	uint32_t i, n;

	if (type != SEGP_LIST_REP) {
		if (type == SEGP_ERROR)
			reply_error(o->q, pl, len);
		else
			creq_fail(o->q, EPROTO, "unexpected reply");
		goto done;
	}
	if (len < sizeof rep)
		goto bad;
	memcpy(&rep, pl, sizeof rep);
	n = le32toh(rep.n);
	if (n > SEGP_LIST_MAX || len != sizeof rep + n * sizeof(struct segp_ent))
		goto bad;
	for (i = 0; i < n; i++) {
		struct segp_ent ent;
		struct segw_info info;
		unsigned nl;

		memcpy(&ent, pl + sizeof rep + i * sizeof ent, sizeof ent);
		nl = le16toh(ent.namelen);
		if (nl == 0 || nl > SEG_NAMEMAX || ent.verb >= SEG_VERB_MAX)
			goto bad;
		memset(&info, 0, sizeof info);
		memcpy(info.name, ent.name, nl);
		if (!seg_name_valid(info.name))
			goto bad;
		info.verb = ent.verb;
		info.mode = ent.perm & (SEGW_RD | SEGW_WR);
		info.len = le64toh(ent.len);
		creq_stream(o->q, SEGW_LISTENT, &info, NULL, 0);
	}
	o->cursor = le32toh(rep.next);
	if (o->cursor != 0) {
		rop_send(r, SEGP_LIST, &(struct segp_list){ htole32(o->cursor), 0 },
		    sizeof(struct segp_list));
		return;
	}
	creq_stream(o->q, SEGW_LISTEND, NULL, NULL, 0);
	creq_end(o->q);
	goto done;
bad:
	creq_fail(o->q, EPROTO, "peer %s sent a malformed list", o->label);
done:
	rop_done(r);
	free(o);
}

static const struct rop_ops ls_ops = { ls_start, ls_reply, ls_fail };

/* --- io: rounds of RDMA READ or WRITE --- */

struct iorop {
	struct rop       rop;
	struct segd     *sd;
	struct creq     *q;
	struct client   *owner;	/* for the barrier's error record; may go */
	uint64_t         handle;
	uint16_t         kind, flags;
	uint64_t         rva;
	uint32_t         rkey;
	struct bounce   *bounce;	/* with a reference, for SEGW_IO_BOUNCE */
	uint32_t         n, next;	/* entries, and the next one to post */
	uint64_t         nextoff;	/* bytes of entry next already posted */
	uint64_t         total;
	struct segment **segs;	/* zero copy: each entry's, with a reference */
	struct segw_iov  iov[];
};

static void
io_release(struct iorop *o)
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

static int
io_start(struct rop *r)
{
	struct iorop *o = (struct iorop *)r;
	struct ibv_send_wr wr[IO_ROUND];
	struct ibv_sge sge[IO_ROUND];
	unsigned k = 0;
	uint32_t i = o->next;
	uint64_t off = o->nextoff, bytes = 0;
	struct segw_info info;
	int rc;

	if (o->kind == SEGW_IO_BARRIER && o->next == 0) {
		/* a read after the writes: they are placed when it returns */
		memset(&wr[0], 0, sizeof wr[0]);
		sge[0].addr = (uintptr_t)o->sd->rdma->scratch;
		sge[0].length = 1;
		sge[0].lkey = o->sd->rdma->scratch_mr->lkey;
		wr[0].sg_list = &sge[0];
		wr[0].num_sge = 1;
		wr[0].opcode = IBV_WR_RDMA_READ;
		wr[0].wr.rdma.remote_addr = o->rva;
		wr[0].wr.rdma.rkey = o->rkey;
		if ((rc = rop_post(r, wr, 1)) == 0)
			o->next = 1;
		return rc == 1 ? 1 : 0;
	}
	while (k < IO_ROUND && i < o->n && o->kind != SEGW_IO_BARRIER &&
	    bytes < IO_ROUNDMAX) {
		const struct segw_iov *v = &o->iov[i];
		uint64_t chunk = v->len - off;

		if (chunk == 0) {
			i++;
			off = 0;
			continue;
		}
		if (chunk > IO_MAXWR)
			chunk = IO_MAXWR;
		memset(&wr[k], 0, sizeof wr[k]);
		if (o->flags & SEGW_IO_BOUNCE) {
			sge[k].addr = (uintptr_t)o->bounce->map + v->va + off;
			sge[k].lkey = o->bounce->mr->lkey;
		} else {
			sge[k].addr = v->va + off;
			sge[k].lkey = o->segs[i]->mr->lkey;
		}
		sge[k].length = (uint32_t)chunk;
		wr[k].sg_list = &sge[k];
		wr[k].num_sge = 1;
		wr[k].opcode = o->kind == SEGW_IO_GET ? IBV_WR_RDMA_READ :
		    IBV_WR_RDMA_WRITE;
		wr[k].wr.rdma.remote_addr = o->rva + v->off + off;
		wr[k].wr.rdma.rkey = o->rkey;
		k++;
		bytes += chunk;
		off += chunk;
		if (off == v->len) {
			i++;
			off = 0;
		}
	}
	if (k > 0) {
		if ((rc = rop_post(r, wr, k)) != 0)
			return rc == 1 ? 1 : 0;
		o->next = i;
		o->nextoff = off;
		return 0;
	}
	/* every round has completed */
	if (o->kind != SEGW_IO_BARRIER) {
		if (o->flags & SEGW_IO_BOUNCE)
			o->sd->bounce_bytes += o->total;
		else
			o->sd->zerocopy_bytes += o->total;
	}
	rop_done(r);
	memset(&info, 0, sizeof info);
	info.len = o->total;
	creq_reply(o->q, &info, NULL, 0, -1);
	io_release(o);
	return 0;
}

static void
io_fail(struct rop *r, int code, const char *msg)
{
	struct iorop *o = (struct iorop *)r;
	struct client *c = creq_client(o->q);
	struct import *imp;

	if (o->kind == SEGW_IO_PUT && c != NULL &&
	    (imp = import_find(c, o->handle)) != NULL && imp->err == 0) {
		imp->err = code;
		snprintf(imp->errmsg, sizeof imp->errmsg, "%s", msg);
	}
	creq_fail(o->q, code, "%s", msg);
	io_release(o);
}

static void
io_reply(struct rop *r, uint16_t type, const uint8_t *pl, size_t len)
{
	(void)r;
	(void)type;
	(void)pl;
	(void)len;	/* ios send no messages */
}

static const struct rop_ops io_ops = { io_start, io_reply, io_fail };

/* --- notifications: remote free and signal, acknowledged --- */

struct nrop {
	struct rop   rop;
	struct creq *q;
	uint16_t     type;
	size_t       len;
	uint8_t      msg[SEGP_MSGSIZE - SEGP_HDRLEN];
};

static int
n_start(struct rop *r)
{
	struct nrop *o = (struct nrop *)r;

	rop_send(r, o->type, o->msg, o->len);
	return 0;
}

static void
n_fail(struct rop *r, int code, const char *msg)
{
	struct nrop *o = (struct nrop *)r;

	/* the buffers stay the sender's: the owner did not take them */
	creq_fail(o->q, code, "%s", msg);
	free(o);
}

static void
n_reply(struct rop *r, uint16_t type, const uint8_t *pl, size_t len)
{
	struct nrop *o = (struct nrop *)r;

	if (type == SEGP_ACK)
		creq_reply(o->q, NULL, NULL, 0, -1);
	else if (type == SEGP_ERROR)
		reply_error(o->q, pl, len);
	else
		creq_fail(o->q, EPROTO, "unexpected reply");
	rop_done(r);
	free(o);
}

static const struct rop_ops n_ops = { n_start, n_reply, n_fail };

static void
notify(struct import *imp, struct creq *q, const struct segw_io *io)
{
	struct nrop *o;
	uint32_t i;

	if (io->kind == SEGW_IO_FREE && (io->n == 0 || io->n > SEGP_FREE_MAX)) {
		creq_fail(q, EINVAL, "a remote free takes 1 to %d addresses",
		    SEGP_FREE_MAX);
		return;
	}
	if ((o = calloc(1, sizeof *o)) == NULL) {
		creq_fail(q, ENOMEM, "out of memory");
		return;
	}
	o->q = q;
	if (io->kind == SEGW_IO_SIGNAL) {
		struct segp_id id = { htole64(imp->id) };
		o->type = SEGP_SIGNAL;
		o->len = sizeof id;
		memcpy(o->msg, &id, sizeof id);
	} else {
		struct segp_free f = { htole64(imp->id), htole32(io->n), 0 };
		o->type = SEGP_FREE;
		memcpy(o->msg, &f, sizeof f);
		for (i = 0; i < io->n; i++) {
			uint64_t a = htole64(io->iov[i].va);
			memcpy(o->msg + sizeof f + i * 8, &a, 8);
		}
		o->len = sizeof f + io->n * 8;
	}
	rop_submit(imp->peer, &o->rop, &n_ops);
}

static int
import_usable(struct import *imp, struct segerr *e)
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

void
import_io(struct segd *sd, struct client *c, const struct segw_io *io)
{
	struct creq *q = creq_new(c, SEGW_IO);
	struct client_imports *ci = client_imports(c);
	const struct cred *cr = client_cred(c);
	struct import *imp;
	struct iorop *o;
	struct segerr e = { 0, "" };
	uint64_t total = 0;
	uint32_t i;

	if (q == NULL)
		return;
	if ((imp = import_find(c, io->handle)) == NULL) {
		creq_fail(q, EBADF, "no import with handle %llu",
		    (unsigned long long)io->handle);
		return;
	}
	if (import_usable(imp, &e) < 0) {
		creq_fail_err(q, &e);
		return;
	}
	if (io->kind == SEGW_IO_FREE || io->kind == SEGW_IO_SIGNAL) {
		notify(imp, q, io);
		return;
	}
	if (io->kind == SEGW_IO_BARRIER && imp->err != 0) {
		creq_fail(q, imp->err, "%s", imp->errmsg);
		imp->err = 0;
		return;
	}
	if (io->kind == SEGW_IO_PUT && !(imp->perm & SEGW_WR)) {
		creq_fail(q, EACCES, "permission denied: segment '%s' on node %s "
		    "is exported read-only to this node", imp->name, imp->label);
		return;
	}
	if ((io->flags & SEGW_IO_BOUNCE) && (ci == NULL || ci->bounce == NULL)) {
		creq_fail(q, EINVAL, "no bounce region: ask for one first");
		return;
	}
	o = calloc(1, sizeof *o + io->n * sizeof o->iov[0]);
	if (o == NULL || (io->n && (o->segs = calloc(io->n,
	    sizeof *o->segs)) == NULL)) {
		free(o);
		creq_fail(q, ENOMEM, "out of memory");
		return;
	}
	o->sd = sd;
	o->q = q;
	o->handle = imp->handle;
	o->kind = io->kind;
	o->flags = io->flags;
	o->rva = imp->rva;
	o->rkey = imp->rkey;
	o->n = io->kind == SEGW_IO_BARRIER ? 0 : io->n;
	/* every check before anything is posted */
	for (i = 0; i < o->n; i++) {
		const struct segw_iov *v = &io->iov[i];
		struct segment *s;

		o->iov[i] = *v;
		if (v->off > imp->len || v->len > imp->len - v->off) {
			seterr(&e, ERANGE, "range 0x%llx+0x%llx is past the end "
			    "of segment '%s' (length 0x%llx)",
			    (unsigned long long)v->off, (unsigned long long)v->len,
			    imp->name, (unsigned long long)imp->len);
			goto fail;
		}
		if (v->len == 0)
			continue;
		total += v->len;
		if (io->flags & SEGW_IO_BOUNCE) {
			if (v->va > BOUNCE_SIZE || v->len > BOUNCE_SIZE - v->va) {
				seterr(&e, EINVAL, "range is outside the bounce "
				    "region");
				goto fail;
			}
			continue;
		}
		if ((s = ns_find_range(&sd->ns, v->va, v->len)) == NULL ||
		    s->mr == NULL) {
			seterr(&e, EFAULT, "buffer 0x%llx+0x%llx is not inside one "
			    "segment", (unsigned long long)v->va,
			    (unsigned long long)v->len);
			goto fail;
		}
		if (perm_check(cr, s, io->kind == SEGW_IO_GET ? SEGW_WR : SEGW_RD,
		    &e) < 0)
			goto fail;
		o->segs[i] = s;
		seg_hold(s);	/* the io's reference */
	}
	o->total = total;
	if (io->flags & SEGW_IO_BOUNCE) {
		o->bounce = ci->bounce;
		o->bounce->refs++;	/* the io's reference */
	}
	rop_submit(imp->peer, &o->rop, &io_ops);
	return;
fail:
	creq_fail_err(q, &e);
	io_release(o);
}

static void
do_bounce(struct segd *sd, struct creq *q, struct client *c)
{
	struct client_imports *ci = client_imports(c);
	struct segw_info info;
	struct bounce *b;
	struct segerr e;
	int fd;

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

static void
do_stats(struct segd *sd, struct creq *q)
{
	char text[SEGW_MAXTEXT];
	unsigned nexp, nimp, nlocal = 0;
	struct import *imp;
	int n;

	export_counts(&nexp, &nimp);
	LIST_FOREACH(imp, &all_imports, gentry)
		nlocal++;
	n = snprintf(text, sizeof text, "bounce_bytes %llu\nzerocopy_bytes %llu\n"
	    "exports %u\nexported_imports %u\nimports %u\n",
	    (unsigned long long)sd->bounce_bytes,
	    (unsigned long long)sd->zerocopy_bytes, nexp, nimp, nlocal);
	creq_reply(q, NULL, text, (size_t)n, -1);
}

/* Export, unexport, import, unimport, peer list, peers, stats, bounce. */
void
import_request(struct segd *sd, struct client *c, uint16_t op,
    const struct segw_req *r)
{
	struct creq *q = creq_new(c, op);
	struct segerr e = { 0, "" };
	struct segment *s;
	struct import *imp;
	struct peer *p;
	char label[128];

	if (q == NULL)
		return;
	switch (op) {
	case SEGW_EXPORT:
	case SEGW_UNEXPORT:
		if ((s = ns_lookup(&sd->ns, r->name)) == NULL) {
			creq_fail(q, ENOENT, "segment '%s' does not exist",
			    r->name);
			return;
		}
		if ((op == SEGW_EXPORT ? export_seg(sd, s, r->text,
		    client_cred(c), &e) : unexport_seg(sd, s, client_cred(c),
		    &e)) < 0) {
			creq_fail_err(q, &e);
			return;
		}
		creq_reply(q, NULL, NULL, 0, -1);
		return;
	case SEGW_IMPORT: {
		struct improp *o;
		size_t nl = strlen(r->name);

		if (!seg_name_valid(r->name)) {
			creq_fail(q, EINVAL, "bad segment name");
			return;
		}
		if ((p = request_peer(sd, r, label, sizeof label, &e)) == NULL) {
			creq_fail_err(q, &e);
			return;
		}
		if ((o = calloc(1, sizeof *o)) == NULL) {
			creq_fail(q, ENOMEM, "out of memory");
			return;
		}
		o->sd = sd;
		o->q = q;
		snprintf(o->name, sizeof o->name, "%s", r->name);
		snprintf(o->label, sizeof o->label, "%s", label);
		o->req.namelen = htole16((uint16_t)nl);
		memcpy(o->req.name, r->name, nl);
		rop_submit(p, &o->rop, &imp_ops);
		return;
	}
	case SEGW_UNIMPORT:
		if ((imp = import_find(c, r->a)) == NULL) {
			creq_fail(q, EBADF, "no import with handle %llu",
			    (unsigned long long)r->a);
			return;
		}
		import_free(imp);
		creq_reply(q, NULL, NULL, 0, -1);
		return;
	case SEGW_PEERLS: {
		struct lsrop *o;

		if ((p = request_peer(sd, r, label, sizeof label, &e)) == NULL) {
			creq_fail_err(q, &e);
			return;
		}
		if ((o = calloc(1, sizeof *o)) == NULL) {
			creq_fail(q, ENOMEM, "out of memory");
			return;
		}
		o->q = q;
		snprintf(o->label, sizeof o->label, "%s", label);
		rop_submit(p, &o->rop, &ls_ops);
		return;
	}
	case SEGW_PEERS:
		peer_list(sd, q);
		creq_end(q);
		return;
	case SEGW_STATS:
		do_stats(sd, q);
		return;
	case SEGW_BOUNCE:
		if (sd->rdma == NULL) {
			creq_fail(q, ENOTSUP, "segd has no RDMA: start it with -l "
			    "ADDR");
			return;
		}
		do_bounce(sd, q, c);
		return;
	default:
		creq_fail(q, EINVAL, "operation %u is not a request", op);
		return;
	}
}
