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
 *
 * It is three files: this one keeps exports, imports and their making
 * again (a lost connection, a fork, a new ticket), the direct path's
 * connection, and the one request on an import that is made again
 * (seg_imp_call); import_io.c moves bytes (get, put, barrier);
 * import_ops.c sends remote frees and signals and does atomics.  Both sit
 * on this one.
 */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "libseg.h"

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
	rc = seg_imp_fresh(imp);
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
	return seg_imp_dp_want(imp) ? SEG_PATH_DIRECT : SEG_PATH_SEGD;
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
 * When an operation on imp starting now must be done (seg_now_us()): the
 * import's deadline (segd's -t, told with a direct path), or segd's
 * default of 5 s.
 */
long long
seg_imp_end(const seg_import_t *imp)
{
	return seg_now_us() + (imp->m.deadline_ms ? imp->m.deadline_ms : 5000) *
	    1000LL;
}

/*
 * May a request that failed with err, on a connection to the exporter that
 * was lost, be made again (on a new import)?  Every request once, at once.
 * A remote free also until the import's deadline from its start (end), with
 * pauses between tries: its batch number makes a resend that the owner
 * had applied an acknowledgement, not a second free.
 */
static int
imp_again(const struct imp_op *o, int err, int tries, long long end,
    long *pause_us)
{
	long long left = end - seg_now_us();
	struct timespec ts;

	if (err != ENOTCONN && err != ECONNREFUSED && err != ECONNRESET &&
	    err != EHOSTUNREACH && err != ENETUNREACH)
		return 0;	/* ETIMEDOUT: the deadline is spent */
	if (tries == 0 && err == ENOTCONN)
		return 1;
	if (o->op != SEGW_RFREE || left <= 0)
		return 0;
	if (*pause_us > left)
		*pause_us = (long)left;
	ts.tv_sec = *pause_us / 1000000;
	ts.tv_nsec = (*pause_us % 1000000) * 1000;
	nanosleep(&ts, NULL);
	if (*pause_us < 250000)
		*pause_us *= 2;
	return seg_now_us() < end;
}

/*
 * One request on imp, made again on a new import when the connection to
 * the exporter was lost (imp_again says how often); *done gets the bytes
 * moved.
 */
int
seg_imp_call(seg_import_t *imp, struct imp_op *o, uint64_t *done)
{
	uint8_t rsp[sizeof(struct segw_info_wire) + SEGW_MAXTEXT];
	struct segw_info info;
	const char *why;
	uint8_t *req;
	size_t len, rl;
	long pause_us = 10000;
	long long end = seg_imp_end(imp);
	int rc = -1, tries, lost = imp->m.handle == 0;

	if ((req = malloc(SEGW_MAXPAYLOAD)) == NULL)
		return seg_seterr(ENOMEM, "out of memory");
	for (tries = 0; ; tries++) {
		/* lost (earlier, or by the last try) and not yet made again */
		if (lost && (rc = reimport(imp)) < 0) {
			if (imp_again(o, errno, 1, end, &pause_us))
				continue;
			break;
		}
		lost = 0;
		if ((len = imp_encode(imp, o, req, SEGW_MAXPAYLOAD)) == 0) {
			rc = seg_seterr(EINVAL, "request too large");
			break;
		}
		rc = seg_call_raw(o->op, req, len, rsp, sizeof rsp, &rl, NULL);
		if (rc == 0 || !imp_again(o, errno, tries, end, &pause_us))
			break;
		lost = 1;
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

/* Whether imp's operations go on this process's own queue pair. */
int
seg_imp_dp_want(const seg_import_t *imp)
{
	const char *e = getenv("SEG_DIRECT");

	return imp->m.direct && !imp->dp_off && (e == NULL || strcmp(e, "0"));
}

/* A forked child, or a new connection to segd: the import made again. */
int
seg_imp_fresh(seg_import_t *imp)
{
	if (imp->pid == getpid() && imp->gen == seg_conn_gen())
		return 0;
	return reimport(imp);
}

/* A new ticket from the exporter (through segd) for imp. */
int
seg_imp_dp_ticket(seg_import_t *imp)
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
int
seg_imp_dp_open(seg_import_t *imp, long long end)
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
		if (tries == 0 && (seg_now_us() >= end || seg_imp_dp_ticket(imp) < 0))
			return -1;
	}
	return -1;
}

/* imp's lock, taken; -1 (EINVAL) if there is no import. */
int
seg_imp_lock(seg_import_t *imp)
{
	if (imp == NULL)
		return seg_seterr(EINVAL, "no import");
	pthread_mutex_lock(&imp->lock);
	return 0;
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

const char *
seg_imp_name(const seg_import_t *imp)
{
	return imp->name;
}
