/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * zio.c: libseg's zero-copy buffers: the twin allocator of umsg segments
 * (segd/zio_pool.c, run in the process holding the pool), kmsg allocation
 * by segd, the free file, and signal waits.
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libseg.h"
#include "zio_pool.h"

/* What this process keeps per zero-copy segment name. */
struct zname {
	struct zname        *next;
	char                 name[SEG_NAMEMAX + 1];
	struct zpool_shared *sh;	/* the umsg pool this process holds */
	size_t               shsize;
	struct zpool        *pool;
	int                  free_fd, sig_fd;
	/* seg_conn_gen() when each was had: segd forgets them with the
	 * connection (a restart), so a new connection takes them again */
	unsigned             pool_gen, free_gen, sig_gen;
};

static pthread_mutex_t z_lock = PTHREAD_MUTEX_INITIALIZER;
static struct zname *znames;
static pid_t z_pid;

/* Under z_lock.  After fork the parent's pools and fds are not ours. */
static struct zname *
zname_get(const char *name)
{
	struct zname *z;

	if (z_pid != getpid()) {
		while ((z = znames) != NULL) {
			znames = z->next;
			if (z->free_fd >= 0)
				close(z->free_fd);
			if (z->sig_fd >= 0)
				close(z->sig_fd);
			zpool_close(z->pool);
			if (z->sh)
				munmap(z->sh, z->shsize);
			free(z);
		}
		z_pid = getpid();
	}
	for (z = znames; z; z = z->next)
		if (strcmp(z->name, name) == 0)
			return z;
	if ((z = calloc(1, sizeof *z)) == NULL) {
		seg_seterr(ENOMEM, "out of memory");
		return NULL;
	}
	strcpy(z->name, name);
	z->free_fd = z->sig_fd = -1;
	z->next = znames;
	znames = z;
	return z;
}

/* Under z_lock: take the umsg pool of name into this process. */
static int
pool_take(struct zname *z)
{
	struct segw_req r;
	struct segw_info info;
	struct stat sb;
	void *p;
	int fd;

	if (seg_req_name(&r, z->name) < 0)
		return -1;
	if (seg_call(SEGW_ZPOOL, &r, &info, NULL, NULL, &fd) < 0)
		return -1;
	if (fd < 0 || fstat(fd, &sb) < 0 || sb.st_size <= 0) {
		if (fd >= 0)
			close(fd);
		return seg_seterr(EPROTO, "bad pool state from segd");
	}
	p = mmap(NULL, (size_t)sb.st_size, PROT_READ | PROT_WRITE, MAP_SHARED,
	    fd, 0);
	if (p == MAP_FAILED) {
		int err = errno;
		close(fd);
		return seg_seterr(err, "map pool state: %s", strerror(err));
	}
	if (!zpool_shared_valid(p, (size_t)sb.st_size) ||
	    ((struct zpool_shared *)p)->base != info.va) {
		munmap(p, (size_t)sb.st_size);
		close(fd);
		return seg_seterr(EPROTO, "bad pool state from segd");
	}
	if ((z->pool = zpool_open(p)) == NULL) {
		munmap(p, (size_t)sb.st_size);
		close(fd);
		return seg_seterr(ENOMEM, "out of memory");
	}
	close(fd);	/* the mapping stays */
	z->sh = p;
	z->shsize = (size_t)sb.st_size;
	z->pool_gen = seg_conn_gen();
	return 0;
}

/* Under z_lock: forget a pool held through a connection now gone, or of
 * a segment removed (segd marks its shared state: no system call). */
static void
pool_stale(struct zname *z)
{
	if (z->pool == NULL || (z->pool_gen == seg_conn_gen() &&
	    __atomic_load_n(&z->sh->removed, __ATOMIC_ACQUIRE) == 0))
		return;
	zpool_close(z->pool);
	munmap(z->sh, z->shsize);
	z->pool = NULL;
	z->sh = NULL;
}

/* Under z_lock: a buffer of the pool z holds; 0 with the error. */
static uint64_t
pool_alloc(struct zname *z, size_t len)
{
	uint64_t a;

	if ((a = zpool_alloc(z->pool, len)) != 0)
		return a;
	if (errno == EINVAL)
		seg_seterr(EINVAL, "bad buffer length %zu: 1 to %u bytes", len,
		    1u << ZP_MAXSHIFT);
	else
		seg_seterr(ENOMEM, "no free buffer of %zu bytes in segment "
		    "'%s'", len, z->name);
	return 0;
}

void *
seg_zalloc(const char *name, size_t len)
{
	struct segw_req r;
	struct segw_info info;
	struct seg_info si;
	struct zname *z;
	uint64_t a;

	/* a umsg pool this process holds allocates here: no call to segd,
	 * no system call but getpid (unless the pool is stale: the
	 * connection or the segment went) */
	pthread_mutex_lock(&z_lock);
	if (z_pid == getpid())
		for (z = znames; z; z = z->next)
			if (z->pool != NULL && strcmp(z->name, name) == 0) {
				pool_stale(z);
				if (z->pool == NULL)
					break;
				a = pool_alloc(z, len);
				pthread_mutex_unlock(&z_lock);
				return (void *)(uintptr_t)a;
			}
	pthread_mutex_unlock(&z_lock);
	if (seg_stat(name, &si) < 0)
		return NULL;
	if (strcmp(si.verb, "kmsg") == 0) {
		if (seg_req_name(&r, name) < 0)
			return NULL;
		r.b = len;
		if (seg_call(SEGW_ZALLOC, &r, &info, NULL, NULL, NULL) < 0)
			return NULL;
		return (void *)(uintptr_t)info.va;
	}
	if (strcmp(si.verb, "-") == 0) {	/* segd's words for it */
		seg_seterr(ENXIO, "segment not yet allocated");
		return NULL;
	}
	if (strcmp(si.verb, "umsg") != 0) {
		seg_seterr(EINVAL, "segment '%s' is not a zero-copy (umsg or "
		    "kmsg) segment", name);
		return NULL;
	}
	pthread_mutex_lock(&z_lock);
	if ((z = zname_get(name)) != NULL)
		pool_stale(z);	/* taken again, rebuilt from the live bits */
	a = z == NULL || (z->pool == NULL && pool_take(z) < 0) ? 0 :
	    pool_alloc(z, len);
	pthread_mutex_unlock(&z_lock);
	return (void *)(uintptr_t)a;
}

int
seg_zfree(void *addr)
{
	struct segw_addrs a = { .handle = 0, .n = 1, .addrs = { (uintptr_t)addr } };
	uint8_t req[sizeof(struct segw_addrs_wire) + 8];
	uint8_t rsp[sizeof(struct segw_info_wire) + SEGW_MAXTEXT];
	size_t n, rl;
	int r;

	/* through the free ring, if segd gave this process one */
	if ((r = seg_zring_free(a.addrs, 1)) <= 0)
		return r;
	n = segw_addrs_encode(req, sizeof req, &a);
	return seg_call_raw(SEGW_ZFREE, req, n, rsp, sizeof rsp, &rl, NULL);
}

static int
fd_get(const char *name, uint16_t op)
{
	struct segw_req r;
	struct zname *z;
	unsigned *gen;
	int fd, *slot;

	pthread_mutex_lock(&z_lock);
	if ((z = zname_get(name)) == NULL)
		goto fail;
	slot = op == SEGW_FREEFD ? &z->free_fd : &z->sig_fd;
	gen = op == SEGW_FREEFD ? &z->free_gen : &z->sig_gen;
	if (*slot >= 0 && *gen != seg_conn_gen()) {
		close(*slot);	/* an earlier segd's: never readable again */
		*slot = -1;
	}
	if (*slot < 0) {
		if (seg_req_name(&r, name) < 0 ||
		    seg_call(op, &r, NULL, NULL, NULL, &fd) < 0)
			goto fail;
		if (fd < 0) {
			seg_seterr(EPROTO, "segd sent no descriptor");
			goto fail;
		}
		*slot = fd;
		*gen = seg_conn_gen();
	}
	fd = *slot;
	pthread_mutex_unlock(&z_lock);
	return fd;
fail:
	pthread_mutex_unlock(&z_lock);
	return -1;
}

int
seg_free_fd(const char *name)
{
	int fd;

	/* the read ring's, where seg_free_read reads */
	if ((fd = seg_zread_fd(name)) >= 0)
		return fd;
	return fd_get(name, SEGW_FREEFD);
}

int
seg_signal_fd(const char *name)
{
	return fd_get(name, SEGW_SIGFD);
}

/*
 * Under z_lock, in the pool's process: put returned buffers back into the
 * pool; keep, in order, those it took.  A buffer it refuses was free in it
 * already (returned while the pool changed hands, found free when it was
 * taken) or handed out again since: not this pool's to report.
 */
static int
take_back(const char *name, uint64_t *addrs, int n)
{
	struct zname *z = zname_get(name);
	int i, k;

	if (z == NULL || z->pool == NULL || z->pool_gen != seg_conn_gen())
		return n;
	for (i = k = 0; i < n; i++)
		if (zpool_reclaim(z->pool, addrs[i]) == 0)
			addrs[k++] = addrs[i];
	return k;
}

/* The pool's process puts them back into the pool: those left. */
static int
put_back(const char *name, uint64_t *addrs, int n)
{
	pthread_mutex_lock(&z_lock);
	n = take_back(name, addrs, n);
	pthread_mutex_unlock(&z_lock);
	return n;
}

/*
 * Returned addresses, in order; waits until there is one.  Through the
 * segment's read ring where segd gives one (no call to segd while it has
 * entries), else SEGW_FREEREAD.  The wait polls segd's descriptor for at
 * most a second at a time: after a restart of segd, the next round takes
 * a new one from the new segd.
 */
int
seg_free_read(const char *name, uint64_t *addrs, int max)
{
	uint8_t rb[sizeof(struct segw_req_wire)];
	struct segw_req r;
	size_t n, rl, got_n;
	int fd, got, k;

	if (addrs == NULL || max <= 0)
		return seg_seterr(EINVAL, "bad arguments");
	while ((got = seg_zread(name, addrs, max)) > 0)
		if ((k = put_back(name, addrs, got)) > 0)
			return k;
	if (got < 0)
		return -1;
	if (max > SEGW_FREEREAD_MAX)
		max = SEGW_FREEREAD_MAX;
	if ((fd = fd_get(name, SEGW_FREEFD)) < 0 || seg_req_name(&r, name) < 0)
		return -1;
	r.arg = (uint32_t)max;
	n = segw_req_encode(rb, sizeof rb, &r);
	for (;;) {
		struct pollfd pfd;

		if (seg_call_raw(SEGW_FREEREAD, rb, n, addrs, (size_t)max * 8,
		    &rl, NULL) < 0)
			return -1;
		if (segw_u64s_decode(addrs, rl, (size_t)max, &got_n) < 0)
			return seg_seterr(EPROTO, "bad free reply from segd");
		if (got_n > 0 && (got = put_back(name, addrs, (int)got_n)) > 0)
			return got;
		if (got_n > 0)
			continue;
		if ((fd = fd_get(name, SEGW_FREEFD)) < 0)
			return -1;
		pfd.fd = fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, 1000) < 0 && errno != EINTR)
			return seg_seterr(errno, "poll: %s", strerror(errno));
	}
}

int
seg_signal_wait(const char *name, int timeout_ms)
{
	struct pollfd pfd;
	uint64_t v;
	int fd, r;

	if ((fd = seg_signal_fd(name)) < 0)
		return -1;
	pfd.fd = fd;
	pfd.events = POLLIN;
	for (;;) {
		r = poll(&pfd, 1, timeout_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return seg_seterr(errno, "poll: %s", strerror(errno));
		if (r == 0)
			return seg_seterr(ETIMEDOUT, "no signal for segment '%s' "
			    "within %d ms", name, timeout_ms);
		if (read(fd, &v, sizeof v) == sizeof v)
			return 0;
		if (errno != EAGAIN)	/* another waiter took it: wait on */
			return seg_seterr(errno, "read: %s", strerror(errno));
	}
}
