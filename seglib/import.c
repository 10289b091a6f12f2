/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * import.c: libseg's side of export and import.  Where the exporter offers
 * a direct data path, get and put are posted by this process on a queue
 * pair of its own (dpath.c); else (or with SEG_DIRECT=0, or where this
 * process cannot open the device) they ask the local segd to post RDMA
 * READ or WRITE: a buffer inside an attached segment is named by its
 * address and moved by DMA with no copy; any other buffer is copied
 * through the bounce region segd shares with this process.  If the
 * connection to the exporter was lost, an import is made again once, and
 * the operation retried, unless the export changed meanwhile (revoked).
 */
#include <sys/mman.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libseg.h"

struct seg_import {
	pthread_mutex_t lock;	/* one operation at a time per import */
	char     ref[256];
	char     name[SEG_NAMEMAX + 1];
	char     peertext[SEGW_MAXTEXT];	/* "ADDR PORT NODE" */
	struct segw_imp m;
	pid_t    pid;		/* the process that made it */
	unsigned gen;		/* ... over this connection to segd */
	struct dpconn *dp;	/* the direct path's connection, once made */
	int      dp_off;	/* the direct path cannot be had: why */
	char     dp_why[SEGW_MAXTEXT];
	char     label[SEGW_ADDRLEN + 8];	/* the exporter's ADDR:PORT */
	int      err;		/* direct path: the first failed put since */
	char     errmsg[SEGW_MAXTEXT];	/* the last barrier */
	uint64_t holder;	/* lock holder id (the exporter's import id) */
	uint64_t holder_of;	/* ... of this handle; 0: not asked yet */
};

/* the bounce region this process shares with segd */
static pthread_mutex_t bounce_lock = PTHREAD_MUTEX_INITIALIZER;
static uint8_t *bounce_map;
static size_t   bounce_size;
static pid_t    bounce_pid;

_Static_assert(SEG_PEER_FLAGS(1u << SEGW_EXP_MODESHIFT) == 1,
    "seg.h's SEG_PEER_FLAGS is the wire's shift");
_Static_assert(SEG_ALLOW_REBIND == SEGW_EXP_REBIND &&
    SEG_DONTWAIT == SEGW_EXP_DONTWAIT && SEG_LOCK_OPS == SEGW_EXP_LOCKOPS,
    "seg.h's export flags are the wire's");

int
seg_export_flags(const char *name, const char *acl, unsigned flags)
{
	struct segw_req r;
	size_t n = acl ? strlen(acl) : 0;

	if (seg_req_name(&r, name) < 0)
		return -1;
	if (n > SEGW_MAXTEXT)
		return seg_seterr(EINVAL, "access list too long");
	if ((flags & ~SEGW_EXP_ALL) != 0)
		return seg_seterr(EINVAL, "unknown export flags 0x%x",
		    flags & ~SEGW_EXP_ALL);
	memcpy(r.text, acl ? acl : "", n);
	r.textlen = n;
	r.arg = flags;
	return seg_call(SEGW_EXPORT, &r, NULL, NULL, NULL, NULL);
}

int
seg_export(const char *name, const char *acl)
{
	return seg_export_flags(name, acl, 0);
}

int
seg_rebind(const char *name, void *va, size_t len)
{
	struct segw_req r;

	if (seg_req_name(&r, name) < 0)
		return -1;
	r.a = (uint64_t)(uintptr_t)va;
	r.b = len;
	return seg_call(SEGW_REBIND, &r, NULL, NULL, NULL, NULL);
}

int
seg_unexport(const char *name)
{
	return seg_call_name(SEGW_UNEXPORT, name);
}

/* NODE[:PORT] -> "ADDR PORT NODE" for segd (names are resolved here). */
static int
peer_text(const char *node, size_t nodelen, char *out, size_t size)
{
	char host[256], label[256], ps[8];
	struct addrinfo hints, *res;
	const char *why;
	uint16_t port;
	int r;

	if (nodelen == 0 || nodelen >= sizeof label)
		return seg_seterr(EINVAL, "bad node '%.*s'", (int)nodelen, node);
	memcpy(label, node, nodelen);
	label[nodelen] = '\0';
	if (seg_parse_hostport(label, host, sizeof host, &port, SEG_PORT,
	    &why) < 0)
		return seg_seterr(EINVAL, "%s in '%s'", why, label);
	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = SOCK_STREAM;
	snprintf(ps, sizeof ps, "%u", (unsigned)port);
	if ((r = getaddrinfo(host, ps, &hints, &res)) != 0)
		return seg_seterr(EHOSTUNREACH, "node '%s': %s", host,
		    gai_strerror(r));
	r = getnameinfo(res->ai_addr, res->ai_addrlen, host, sizeof host,
	    NULL, 0, NI_NUMERICHOST);
	freeaddrinfo(res);
	if (r != 0)
		return seg_seterr(EHOSTUNREACH, "node '%s': %s", label,
		    gai_strerror(r));
	/* the label names the peer in messages: no blanks in it */
	for (r = 0; label[r]; r++)
		if (label[r] == ' ' || label[r] == '\t')
			label[r] = '_';
	if ((size_t)snprintf(out, size, "%s %u %s", host, (unsigned)port,
	    label) >= size)
		return seg_seterr(EINVAL, "node name too long");
	return 0;
}

/* A new import (or ticket) came: its direct path's connection is stale. */
static void
imp_made(seg_import_t *imp)
{
	dp_close(imp->dp);
	imp->dp = NULL;
	imp->pid = getpid();
	imp->gen = seg_conn_gen();
	if (imp->m.direct)
		snprintf(imp->label, sizeof imp->label, "%s:%u", imp->m.addr,
		    imp->m.port);
}

static int
do_import(seg_import_t *imp)
{
	struct segw_req r;
	uint8_t rb[sizeof(struct segw_req_wire) + SEGW_MAXTEXT];
	uint8_t rsp[sizeof(struct segw_imp_wire) + sizeof(struct segw_direct_wire)];
	size_t n, rl;

	if (seg_req_name(&r, imp->name) < 0)
		return -1;
	r.textlen = strlen(imp->peertext);
	memcpy(r.text, imp->peertext, r.textlen);
	if ((n = segw_req_encode(rb, sizeof rb, &r)) == 0)
		return seg_seterr(EINVAL, "reference too long");
	if (seg_call_raw(SEGW_IMPORT, rb, n, rsp, sizeof rsp, &rl, NULL) < 0)
		return -1;
	if (segw_imp_decode(rsp, rl, &imp->m) < 0)
		return seg_seterr(EPROTO, "bad import reply from segd");
	imp_made(imp);
	return 0;
}

seg_import_t *
seg_import(const char *ref)
{
	seg_import_t *imp;
	const char *slash;

	if (ref == NULL || (slash = strrchr(ref, '/')) == NULL ||
	    strlen(ref) >= sizeof imp->ref) {
		seg_seterr(EINVAL, "bad reference '%s': use NODE[:PORT]/NAME",
		    ref ? ref : "");
		return NULL;
	}
	if ((imp = calloc(1, sizeof *imp)) == NULL) {
		seg_seterr(ENOMEM, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&imp->lock, NULL);
	snprintf(imp->ref, sizeof imp->ref, "%s", ref);
	if (!seg_name_valid(slash + 1)) {
		seg_seterr(EINVAL, "bad segment name in '%s'", ref);
		goto fail;
	}
	snprintf(imp->name, sizeof imp->name, "%s", slash + 1);
	if (peer_text(ref, (size_t)(slash - ref), imp->peertext,
	    sizeof imp->peertext) < 0 || do_import(imp) < 0)
		goto fail;
	return imp;
fail:
	pthread_mutex_destroy(&imp->lock);
	free(imp);
	return NULL;
}

static int
send_unimport(uint64_t handle)
{
	return seg_call_a(SEGW_UNIMPORT, handle);
}

int
seg_unimport(seg_import_t *imp)
{
	int rc;

	if (imp == NULL)
		return seg_seterr(EINVAL, "no import");
	rc = imp->m.handle != 0 ? send_unimport(imp->m.handle) : 0;
	dp_close(imp->dp);
	pthread_mutex_destroy(&imp->lock);
	free(imp);
	return rc;
}

static int imp_fresh(seg_import_t *);

/*
 * The import as segd knows it now (after a rebind: the new binding), into
 * *m; imp's own copy, which its direct path uses, is left as it is.
 */
static int
imp_now(seg_import_t *imp, struct segw_imp *m)
{
	uint8_t rsp[sizeof(struct segw_imp_wire) + sizeof(struct segw_direct_wire)];
	uint8_t rb[sizeof(struct segw_req_wire)];
	struct segw_req r;
	size_t n, rl;
	int rc;

	if (imp == NULL)
		return seg_seterr(EINVAL, "no import");
	pthread_mutex_lock(&imp->lock);
	rc = imp_fresh(imp);
	memset(&r, 0, sizeof r);
	r.a = imp->m.handle;
	n = segw_req_encode(rb, sizeof rb, &r);
	if (rc == 0 && (rc = seg_call_raw(SEGW_IMPINFO, rb, n, rsp, sizeof rsp,
	    &rl, NULL)) == 0 && (segw_imp_decode(rsp, rl, m) < 0 ||
	    m->handle != imp->m.handle))
		rc = seg_seterr(EPROTO, "bad import reply from segd");
	pthread_mutex_unlock(&imp->lock);
	return rc;
}

int
seg_import_info(seg_import_t *imp, struct seg_import_info *info)
{
	struct segw_imp m;

	if (info == NULL)
		return seg_seterr(EINVAL, "no import");
	if (imp_now(imp, &m) < 0)
		return -1;
	info->len = m.len;
	info->rva = m.rva;
	info->rkey = m.rkey;
	info->writable = (m.perm & SEGW_WR) != 0;
	info->gen = m.gen;
	return 0;
}

int
seg_import_flags(seg_import_t *imp)
{
	struct segw_imp m;

	if (imp_now(imp, &m) < 0)
		return -1;
	return (int)m.eflags;
}

static int dp_want(const seg_import_t *);

int
seg_import_path(seg_import_t *imp, char *why, size_t size)
{
	const char *e = getenv("SEG_DIRECT");

	if (imp == NULL)
		return seg_seterr(EINVAL, "no import");
	if (why != NULL && size > 0)
		snprintf(why, size, "%s", !imp->m.direct ? "the exporter offers "
		    "no direct data path" : e != NULL && strcmp(e, "0") == 0 ?
		    "SEG_DIRECT=0" : imp->dp_off ? imp->dp_why : "");
	return dp_want(imp) ? SEG_PATH_DIRECT : SEG_PATH_SEGD;
}

ssize_t
seg_stats_local(char *buf, size_t size)
{
	struct seg_dpstats s;
	char note[SEGW_MAXTEXT];
	int n;

	if (buf == NULL || size == 0)
		return seg_seterr(EINVAL, "bad arguments");
	dp_stats(&s, note, sizeof note);
	n = snprintf(buf, size, "direct_ops %llu\ndirect_zerocopy_bytes %llu\n"
	    "direct_bounce_bytes %llu\ndirect_connects %llu\n"
	    "direct_reg_refused %llu\nsegd_path_ops %llu\n"
	    "segd_path_bytes %llu\ndirect_atomics %llu\n"
	    "segd_path_atomics %llu\n%s%s%s", (unsigned long long)s.ops,
	    (unsigned long long)s.zerocopy_bytes,
	    (unsigned long long)s.bounce_bytes,
	    (unsigned long long)s.connects, (unsigned long long)s.reg_refused,
	    (unsigned long long)s.segd_ops, (unsigned long long)s.segd_bytes,
	    (unsigned long long)s.atomics, (unsigned long long)s.segd_atomics,
	    note[0] ? "note " : "", note, note[0] ? "\n" : "");
	return n < 0 ? seg_seterr(EIO, "snprintf failed") :
	    (ssize_t)((size_t)n < size ? (size_t)n : size - 1);
}

/* Make the import again after a lost connection; same export or revoked. */
static int
reimport(seg_import_t *imp)
{
	uint64_t old = imp->m.handle, gen = imp->m.gen;

	if (old != 0)
		send_unimport(old);
	imp->m.handle = 0;	/* none until an import succeeds: io_call retries */
	if (do_import(imp) < 0) {
		if (errno == ENOENT || errno == EACCES)
			return seg_seterr(EACCES, "segment revoked: %s (%s)",
			    imp->ref, seg_errstr());
		return -1;
	}
	if (imp->m.gen != gen) {
		send_unimport(imp->m.handle);
		imp->m.handle = 0;
		imp->m.gen = gen;
		return seg_seterr(EACCES, "segment revoked: %s was exported "
		    "again since it was imported", imp->ref);
	}
	return 0;
}

/* A request on an import: an io, a remote free, a signal, an atomic. */
struct imp_op {
	uint16_t         op;		/* SEGW_IO, _RFREE, _RSIGNAL, _ATOMIC */
	uint16_t         kind, flags;	/* SEGW_IO, SEGW_ATOMIC (kind) */
	struct segw_iov *iov;		/* SEGW_IO */
	const uint64_t  *addrs;		/* SEGW_RFREE */
	uint32_t         n;
	uint64_t         off, a, b;	/* SEGW_ATOMIC */
	uint64_t         result;	/* SEGW_ATOMIC: the reply's va */
};

/* o's frame for the import's current handle, into req; its length. */
static size_t
imp_encode(const seg_import_t *imp, const struct imp_op *o, uint8_t *req,
    size_t size)
{
	struct segw_io io = { imp->m.handle, o->kind, o->flags, o->n, o->iov };
	struct segw_atomic at = { imp->m.handle, o->kind, o->off, o->a, o->b };
	struct segw_addrs a;
	struct segw_req r;

	switch (o->op) {
	case SEGW_IO:
		return segw_io_encode(req, size, &io);
	case SEGW_ATOMIC:
		return segw_atomic_encode(req, size, &at);
	case SEGW_RFREE:
		a.handle = imp->m.handle;
		a.n = o->n;
		memcpy(a.addrs, o->addrs, o->n * sizeof *o->addrs);
		return segw_addrs_encode(req, size, &a);
	default:
		memset(&r, 0, sizeof r);
		r.a = imp->m.handle;
		return segw_req_encode(req, size, &r);
	}
}

/*
 * One request on imp, made again once on a new import when the connection
 * to the exporter was lost; *done gets the bytes moved.
 */
static int
imp_call(seg_import_t *imp, struct imp_op *o, uint64_t *done)
{
	uint8_t rsp[sizeof(struct segw_info_wire) + SEGW_MAXTEXT];
	struct segw_info info;
	const char *why;
	uint8_t *req;
	size_t len, rl;
	int rc, tries;

	if ((req = malloc(SEGW_MAXPAYLOAD)) == NULL)
		return seg_seterr(ENOMEM, "out of memory");
	for (tries = 0; ; tries++) {
		/* an import lost earlier and not yet made again */
		if (imp->m.handle == 0 && (rc = reimport(imp)) < 0)
			break;
		if ((len = imp_encode(imp, o, req, SEGW_MAXPAYLOAD)) == 0) {
			rc = seg_seterr(EINVAL, "request too large");
			break;
		}
		rc = seg_call_raw(o->op, req, len, rsp, sizeof rsp, &rl, NULL);
		if (rc == 0 || errno != ENOTCONN || tries > 0)
			break;
		if ((rc = reimport(imp)) < 0)
			break;
	}
	free(req);
	if (rc < 0)
		return -1;
	if (segw_info_decode(rsp, rl, &info, NULL, NULL, &why) < 0)
		return seg_seterr(EPROTO, "bad io reply from segd: %s", why);
	if (done)
		*done = info.len;
	o->result = info.va;
	return 0;
}

static int
io_call(seg_import_t *imp, uint16_t kind, uint16_t flags,
    struct segw_iov *iov, uint32_t n, uint64_t *done)
{
	struct imp_op o = { SEGW_IO, kind, flags, iov, NULL, n, 0, 0, 0, 0 };
	uint64_t total = 0;
	uint32_t i;

	if (imp_call(imp, &o, done) < 0)
		return -1;
	for (i = 0; i < n; i++)
		total += iov[i].len;
	if (kind != SEGW_IO_BARRIER)
		dp_count_segd(total);
	return 0;
}

/* Under bounce_lock: this process's bounce region, mapped on first use. */
static int
bounce_get(void)
{
	struct segw_req r;
	struct segw_info info;
	void *p;
	int fd;

	if (bounce_map != NULL && bounce_pid == getpid())
		return 0;
	if (bounce_map != NULL)	/* the parent's, before fork */
		munmap(bounce_map, bounce_size);
	bounce_map = NULL;
	memset(&r, 0, sizeof r);
	if (seg_call(SEGW_BOUNCE, &r, &info, NULL, NULL, &fd) < 0)
		return -1;
	if (fd < 0 || info.len == 0 || info.len > (1u << 30)) {
		if (fd >= 0)
			close(fd);
		return seg_seterr(EPROTO, "bad bounce region from segd");
	}
	p = mmap(NULL, info.len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return seg_seterr(errno, "map bounce region: %s", strerror(errno));
	bounce_map = p;
	bounce_size = info.len;
	bounce_pid = getpid();
	return 0;
}

/*
 * The entries of iov that are not inside attached segments, through the
 * bounce region, packed as many to a frame as fit.
 */
static int
bounce_io(seg_import_t *imp, uint16_t kind, const struct seg_iov *iov, int n)
{
	struct segw_iov *w;
	int i, k = 0, first = 0, rc = -1;
	size_t used = 0, part = 0;

	for (i = 0; i < n; i++)
		if (iov[i].len > 0 && !seg_att_contains((uintptr_t)iov[i].buf,
		    iov[i].len))
			break;
	if (i == n)
		return 0;	/* all zero copy: no bounce region needed */
	if ((w = malloc(SEGW_IO_MAXN * sizeof *w)) == NULL)
		return seg_seterr(ENOMEM, "out of memory");
	pthread_mutex_lock(&bounce_lock);
	if (bounce_get() < 0)
		goto out;
	for (i = 0; i <= n; ) {
		int flush = i == n || k == SEGW_IO_MAXN;
		size_t take = 0;

		if (!flush) {
			const struct seg_iov *v = &iov[i];
			if (v->len == 0 || seg_att_contains((uintptr_t)v->buf,
			    v->len)) {
				i++;
				continue;
			}
			take = v->len - part;
			if (take > bounce_size - used)
				take = bounce_size - used;
			if (take == 0)
				flush = 1;
		}
		if (flush) {
			int j, m = 0;
			size_t boff = 0;
			if (k > 0) {
				if (io_call(imp, kind, SEGW_IO_BOUNCE, w,
				    (uint32_t)k, NULL) < 0)
					goto out;
				if (kind == SEGW_IO_GET) /* copy out, in order */
					for (j = first; m < k; j++) {
						const struct seg_iov *v = &iov[j];
						size_t skip = j == first ?
						    (size_t)(w[0].off - v->off) : 0;
						if (v->len == 0 || seg_att_contains(
						    (uintptr_t)v->buf, v->len))
							continue;
						memcpy((uint8_t *)v->buf + skip,
						    bounce_map + boff, w[m].len);
						boff += w[m].len;
						m++;
					}
			}
			k = 0;
			used = 0;
			first = i;
			if (i == n)
				break;
			continue;
		}
		w[k].off = iov[i].off + part;
		w[k].va = used;
		w[k].len = take;
		if (kind == SEGW_IO_PUT)
			memcpy(bounce_map + used, (const uint8_t *)iov[i].buf +
			    part, take);
		k++;
		used += take;
		part += take;
		if (part == iov[i].len) {
			part = 0;
			i++;
		}
	}
	rc = 0;
out:
	pthread_mutex_unlock(&bounce_lock);
	free(w);
	return rc;
}

/* Entries inside attached segments: named by address, moved without copy. */
static int
direct_io(seg_import_t *imp, uint16_t kind, const struct seg_iov *iov, int n)
{
	struct segw_iov *w;
	int i, k = 0;

	if ((w = malloc(SEGW_IO_MAXN * sizeof *w)) == NULL)
		return seg_seterr(ENOMEM, "out of memory");
	for (i = 0; i <= n; i++) {
		if (i < n && iov[i].len > 0 &&
		    seg_att_contains((uintptr_t)iov[i].buf, iov[i].len)) {
			w[k].off = iov[i].off;
			w[k].va = (uintptr_t)iov[i].buf;
			w[k].len = iov[i].len;
			k++;
		}
		if (k > 0 && (k == SEGW_IO_MAXN || i == n)) {
			if (io_call(imp, kind, 0, w, (uint32_t)k, NULL) < 0) {
				free(w);
				return -1;
			}
			k = 0;
		}
	}
	free(w);
	return 0;
}

/* ---- the direct data path ---- */

/* Whether imp's operations go on this process's own queue pair. */
static int
dp_want(const seg_import_t *imp)
{
	const char *e = getenv("SEG_DIRECT");

	return imp->m.direct && !imp->dp_off && (e == NULL || strcmp(e, "0"));
}

/* A forked child, or a new connection to segd: the import made again. */
static int
imp_fresh(seg_import_t *imp)
{
	if (imp->pid == getpid() && imp->gen == seg_conn_gen())
		return 0;
	return reimport(imp);
}

/* A new ticket from the exporter (through segd) for imp. */
static int
dp_ticket(seg_import_t *imp)
{
	uint8_t rsp[sizeof(struct segw_imp_wire) + sizeof(struct segw_direct_wire)];
	struct segw_req r;
	uint8_t rb[sizeof(struct segw_req_wire)];
	struct segw_imp m;
	size_t n, rl;

	if (imp->m.handle == 0)	/* lost earlier: the import made again */
		return reimport(imp);
	memset(&r, 0, sizeof r);
	r.a = imp->m.handle;
	n = segw_req_encode(rb, sizeof rb, &r);
	if (seg_call_raw(SEGW_TICKET, rb, n, rsp, sizeof rsp, &rl, NULL) < 0) {
		if (errno == ENOTCONN)	/* the link to the exporter was lost */
			return reimport(imp);
		return -1;
	}
	if (segw_imp_decode(rsp, rl, &m) < 0 || !m.direct ||
	    m.handle != imp->m.handle)
		return seg_seterr(EPROTO, "bad ticket reply from segd");
	imp->m = m;
	imp_made(imp);
	return 0;
}

/*
 * The data connection, made by end with the import's ticket (a new one when
 * the exporter refused it).  1: the direct path cannot be had here (no
 * device, no registration): the segd path serves this import from now on.
 */
static int
dp_open(seg_import_t *imp, long long end)
{
	int tries;

	for (tries = 0; tries < 2; tries++) {
		if ((imp->dp = dp_connect(&imp->m, imp->label, end)) != NULL)
			return 0;
		if (errno != ECONNREFUSED && errno != ETIMEDOUT &&
		    errno != EHOSTUNREACH) {
			imp->dp_off = 1;
			snprintf(imp->dp_why, sizeof imp->dp_why, "%s",
			    seg_errstr());
			return 1;
		}
		if (tries == 0 && (seg_now_us() >= end || dp_ticket(imp) < 0))
			return -1;
	}
	return -1;
}

/*
 * An io on the direct path, retried once on a new connection (with a new
 * ticket) when it failed early; all within the import's one deadline from
 * now.  1: use the segd path.
 */
static int
dvio_try(seg_import_t *imp, uint16_t kind, const struct seg_iov *iov, int n)
{
	long long end;
	int tries, rc = -1;

	end = seg_now_us() + (imp->m.deadline_ms ? imp->m.deadline_ms : 5000) *
	    1000LL;
	if (imp_fresh(imp) < 0)
		return -1;
	for (tries = 0; tries < 2; tries++) {
		if (imp->dp == NULL && (rc = dp_open(imp, end)) != 0)
			return rc;
		if (dp_io(imp->dp, &imp->m, kind, iov, n, imp->label, end) == 0)
			return 0;
		dp_close(imp->dp);	/* its queue pair is in error */
		imp->dp = NULL;
		if (seg_now_us() >= end)	/* no time left for another try */
			break;
		if (tries == 0) {
			int err = errno;
			char msg[SEGW_MAXTEXT];

			snprintf(msg, sizeof msg, "%s", seg_errstr());
			if (dp_ticket(imp) < 0)	/* revoked, or lost for good */
				return -1;
			seg_seterr(err, "%s", msg);
		}
	}
	return -1;
}

/* dvio_try; a put that failed for good is recorded for the next barrier. */
static int
dvio(seg_import_t *imp, uint16_t kind, const struct seg_iov *iov, int n)
{
	int rc = dvio_try(imp, kind, iov, n);

	if (rc < 0 && kind == SEGW_IO_PUT && imp->err == 0) {
		imp->err = errno;
		snprintf(imp->errmsg, sizeof imp->errmsg, "%s", seg_errstr());
	}
	return rc;
}

/* A barrier on the direct path: the first failed put, or a read after. */
static int
dbarrier(seg_import_t *imp)
{
	int rc;

	if (imp->err != 0) {
		int err = imp->err;
		imp->err = 0;
		return seg_seterr(err, "%s", imp->errmsg);
	}
	if ((rc = dvio(imp, SEGW_IO_BARRIER, NULL, 0)) < 0) {
		/* its own failure, told apart from a put's it reports */
		int err = errno;
		char msg[SEGW_MAXTEXT];

		snprintf(msg, sizeof msg, "%s", seg_errstr());
		return seg_seterr(err, "barrier failed: %s", msg);
	}
	return rc;	/* 1: the segd path takes it */
}

static int
vio(seg_import_t *imp, uint16_t kind, const struct seg_iov *iov, int n)
{
	int i, rc;

	if (imp == NULL || n < 0 || (n > 0 && iov == NULL))
		return seg_seterr(EINVAL, "bad arguments");
	for (i = 0; i < n; i++)
		if (iov[i].len > 0 && iov[i].buf == NULL)
			return seg_seterr(EINVAL, "entry %d has no buffer", i);
	pthread_mutex_lock(&imp->lock);
	/* every entry before any is sent: a batch (or a large bounced buffer,
	 * sent in several frames) past the end must not touch remote memory */
	for (i = 0; i < n; i++)
		if (iov[i].off > imp->m.len || iov[i].len > imp->m.len - iov[i].off) {
			pthread_mutex_unlock(&imp->lock);
			return seg_seterr(ERANGE, "range 0x%llx+0x%llx is past the "
			    "end of segment '%s' (length 0x%llx)",
			    (unsigned long long)iov[i].off,
			    (unsigned long long)iov[i].len, imp->name,
			    (unsigned long long)imp->m.len);
		}
	if (kind == SEGW_IO_PUT && !(imp->m.perm & SEGW_WR)) {
		pthread_mutex_unlock(&imp->lock);
		return seg_seterr(EACCES, "permission denied: segment '%s' on node "
		    "%.*s is exported read-only to this node", imp->name,
		    (int)(strrchr(imp->ref, '/') - imp->ref), imp->ref);
	}
	if (!dp_want(imp) || (rc = dvio(imp, kind, iov, n)) > 0) {
		rc = direct_io(imp, kind, iov, n);
		if (rc == 0)
			rc = bounce_io(imp, kind, iov, n);
	}
	pthread_mutex_unlock(&imp->lock);
	return rc;
}

int
seg_getv(seg_import_t *imp, const struct seg_iov *iov, int n)
{
	return vio(imp, SEGW_IO_GET, iov, n);
}

int
seg_putv(seg_import_t *imp, const struct seg_iov *iov, int n)
{
	return vio(imp, SEGW_IO_PUT, iov, n);
}

ssize_t
seg_get(seg_import_t *imp, uint64_t off, void *buf, size_t len)
{
	struct seg_iov v = { off, buf, len };

	if (len > SSIZE_MAX)
		return seg_seterr(EINVAL, "length too large");
	return vio(imp, SEGW_IO_GET, &v, 1) < 0 ? -1 : (ssize_t)len;
}

ssize_t
seg_put(seg_import_t *imp, uint64_t off, const void *buf, size_t len)
{
	struct seg_iov v = { off, (void *)(uintptr_t)buf, len };

	if (len > SSIZE_MAX)
		return seg_seterr(EINVAL, "length too large");
	return vio(imp, SEGW_IO_PUT, &v, 1) < 0 ? -1 : (ssize_t)len;
}

/* imp's lock, taken; -1 (EINVAL) if there is no import. */
static int
imp_lock(seg_import_t *imp)
{
	if (imp == NULL)
		return seg_seterr(EINVAL, "no import");
	pthread_mutex_lock(&imp->lock);
	return 0;
}

int
seg_barrier(seg_import_t *imp)
{
	int rc;

	if (imp_lock(imp) < 0)
		return -1;
	if (!dp_want(imp) || (rc = dbarrier(imp)) > 0)
		rc = io_call(imp, SEGW_IO_BARRIER, 0, NULL, 0, NULL);
	pthread_mutex_unlock(&imp->lock);
	return rc;
}

int
seg_peer_list(const char *node, struct seg_info **list)
{
	struct segw_req r;
	char text[SEGW_MAXTEXT];

	if (node == NULL || list == NULL)
		return seg_seterr(EINVAL, "bad arguments");
	if (peer_text(node, strlen(node), text, sizeof text) < 0)
		return -1;
	memset(&r, 0, sizeof r);
	r.textlen = strlen(text);
	memcpy(r.text, text, r.textlen);
	return seg_list_collect(SEGW_PEERLS, &r, list);
}

static int
text_add(const struct segw_info *w, const char *t, size_t tl, void *arg)
{
	struct seg_textacc *a = arg;

	(void)w;
	if (seg_text_append(a, t, tl) < 0)
		return seg_seterr(ERANGE, "buffer too small");
	return 0;
}

ssize_t
seg_peers(char *buf, size_t size)
{
	return seg_call_text(SEGW_PEERS, buf, size, text_add);
}

ssize_t
seg_stats(char *buf, size_t size)
{
	struct segw_req r;
	size_t n;

	if (buf == NULL || size == 0)
		return seg_seterr(EINVAL, "bad arguments");
	memset(&r, 0, sizeof r);
	n = size - 1;
	if (seg_call(SEGW_STATS, &r, NULL, buf, &n, NULL) < 0)
		return -1;
	buf[n] = '\0';
	return (ssize_t)n;
}

int
seg_zfree_remotev(seg_import_t *imp, const uint64_t *addrs, int n)
{
	struct imp_op o = { .op = SEGW_RFREE };
	int i, rc = 0;

	if (imp == NULL || n < 0 || (n > 0 && addrs == NULL))
		return seg_seterr(EINVAL, "bad arguments");
	pthread_mutex_lock(&imp->lock);
	for (i = 0; i < n && rc == 0; i += (int)o.n) {
		o.n = (uint32_t)(n - i < SEG_FREE_BATCH ? n - i : SEG_FREE_BATCH);
		o.addrs = addrs + i;
		rc = imp_call(imp, &o, NULL);
	}
	pthread_mutex_unlock(&imp->lock);
	return rc;
}

int
seg_zfree_remote(seg_import_t *imp, uint64_t addr)
{
	return seg_zfree_remotev(imp, &addr, 1);
}

int
seg_signal(seg_import_t *imp)
{
	int rc;

	if (imp_lock(imp) < 0)
		return -1;
	rc = imp_call(imp, &(struct imp_op){ .op = SEGW_RSIGNAL }, NULL);
	pthread_mutex_unlock(&imp->lock);
	return rc;
}

/* ---- atomics and what locks need (lock.c) ---- */

/*
 * An atomic on the direct path, on a new connection if there is none; 1:
 * use the segd path.  A failed atomic is not tried again: whether it
 * changed the word is not known.
 */
static int
datomic(seg_import_t *imp, struct imp_op *o)
{
	long long end;
	int rc;

	end = seg_now_us() + (imp->m.deadline_ms ? imp->m.deadline_ms : 5000) *
	    1000LL;
	if (imp_fresh(imp) < 0)
		return -1;
	if (imp->dp == NULL && (rc = dp_open(imp, end)) != 0)
		return rc;
	if (dp_atomic(imp->dp, &imp->m, o->kind, o->off, o->a, o->b,
	    &o->result, imp->label, end) == 0)
		return 0;
	dp_close(imp->dp);	/* its queue pair is in error */
	imp->dp = NULL;
	return -1;
}

/* Under imp->lock: the checks every atomic makes before it is sent. */
static int
atomic_check(seg_import_t *imp, uint64_t off)
{
	if (off % 8 != 0)
		return seg_seterr(EINVAL, "offset 0x%llx of an atomic is not "
		    "8-byte aligned", (unsigned long long)off);
	if (imp->m.len < 8 || off > imp->m.len - 8)
		return seg_seterr(ERANGE, "word 0x%llx+8 is past the end of "
		    "segment '%s' (length 0x%llx)", (unsigned long long)off,
		    imp->name, (unsigned long long)imp->m.len);
	if (!(imp->m.perm & SEGW_WR))
		return seg_seterr(EACCES, "permission denied: segment '%s' is "
		    "exported read-only to this node", imp->name);
	if (!(imp->m.eflags & SEGW_EXP_LOCKOPS))
		return seg_seterr(EPERM, "segment '%s' is not exported for lock "
		    "operations (SEG_LOCK_OPS)", imp->name);
	return 0;
}

static int
atomic_op(seg_import_t *imp, uint16_t kind, uint64_t off, uint64_t a,
    uint64_t b, uint64_t *old)
{
	struct imp_op o = { .op = SEGW_ATOMIC, .kind = kind, .off = off, .a = a,
	    .b = b };
	int rc;

	if (imp_lock(imp) < 0)
		return -1;
	if ((rc = atomic_check(imp, off)) == 0 &&
	    (!dp_want(imp) || (rc = datomic(imp, &o)) > 0) &&
	    (rc = imp_call(imp, &o, NULL)) == 0)
		dp_count_segd_atomic();
	pthread_mutex_unlock(&imp->lock);
	if (rc == 0 && old != NULL)
		*old = o.result;
	return rc;
}

int
seg_cas(seg_import_t *imp, uint64_t off, uint64_t expect, uint64_t desired,
    uint64_t *old)
{
	return atomic_op(imp, SEGW_AT_CAS, off, expect, desired, old);
}

int
seg_fadd(seg_import_t *imp, uint64_t off, uint64_t add, uint64_t *old)
{
	return atomic_op(imp, SEGW_AT_FADD, off, add, 0, old);
}

/* This import's lock holder id: the exporter's id of it, asked once. */
int
seg_imp_holder(seg_import_t *imp, uint64_t *id)
{
	struct imp_op o = { .op = SEGW_ATOMIC, .kind = SEGW_AT_HOLDER };
	int rc = 0;

	if (imp_lock(imp) < 0)
		return -1;
	if (imp_fresh(imp) < 0)
		rc = -1;
	else if (imp->holder_of == 0 || imp->holder_of != imp->m.handle) {
		if ((rc = imp_call(imp, &o, NULL)) == 0) {
			imp->holder = o.result;
			imp->holder_of = imp->m.handle;
		}
	}
	*id = imp->holder;
	pthread_mutex_unlock(&imp->lock);
	return rc;
}

/* Whether the exporter still holds import holder of this export: 1 or 0. */
int
seg_imp_alive(seg_import_t *imp, uint64_t holder)
{
	struct imp_op o = { .op = SEGW_ATOMIC, .kind = SEGW_AT_ALIVE,
	    .a = holder };
	int rc;

	if (imp_lock(imp) < 0)
		return -1;
	rc = imp_call(imp, &o, NULL);
	pthread_mutex_unlock(&imp->lock);
	return rc < 0 ? -1 : o.result != 0;
}

const char *
seg_imp_name(const seg_import_t *imp)
{
	return imp->name;
}
