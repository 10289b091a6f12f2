/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * import_io.c: get, put and barrier on an import.  On the direct data path
 * (dpath.c) an io is retried once on a new connection with a new ticket,
 * within the import's one deadline; a put that failed for good is kept
 * for the next barrier.  On the segd path, buffers inside attached
 * segments are named by address and moved without a copy, and any other
 * buffer goes through the bounce region segd shares with this process,
 * packed as many entries to a frame as fit.
 *
 * It sits on import.c (the import, its requests, its direct path).
 */
#include <sys/mman.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libseg.h"

/* the bounce region this process shares with segd */
static pthread_mutex_t bounce_lock = PTHREAD_MUTEX_INITIALIZER;
static uint8_t *bounce_map;
static size_t   bounce_size;
static pid_t    bounce_pid;

static int
io_call(seg_import_t *imp, uint16_t kind, uint16_t flags,
    struct segw_iov *iov, uint32_t n, uint64_t *done)
{
	struct imp_op o = { SEGW_IO, kind, flags, iov, NULL, n, 0, 0, 0, 0 };
	uint64_t total = 0;
	uint32_t i;

	if (seg_imp_call(imp, &o, done) < 0)
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

	end = seg_imp_end(imp);
	if (seg_imp_fresh(imp) < 0)
		return -1;
	for (tries = 0; tries < 2; tries++) {
		if (imp->dp == NULL && (rc = seg_imp_dp_open(imp, end)) != 0)
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
			if (seg_imp_dp_ticket(imp) < 0)	/* revoked, or lost for good */
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
	if (!seg_imp_dp_want(imp) || (rc = dvio(imp, kind, iov, n)) > 0) {
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

int
seg_barrier(seg_import_t *imp)
{
	int rc;

	if (seg_imp_lock(imp) < 0)
		return -1;
	if (!seg_imp_dp_want(imp) || (rc = dbarrier(imp)) > 0)
		rc = io_call(imp, SEGW_IO_BARRIER, 0, NULL, 0, NULL);
	pthread_mutex_unlock(&imp->lock);
	return rc;
}
