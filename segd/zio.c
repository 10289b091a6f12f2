/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * zio.c: zero-copy buffer segments (NIX's umsg and kmsg) and signals.
 *
 * kmsg: segd allocates and reclaims the buffers itself (zio_pool.c).
 * umsg: the process that holds the segment's pool (its creator) allocates
 * with libseg's twin allocator; segd validates each returned address
 * against the pool's shared state and queues it for the readers of `free`.
 * The pool state lives in NAME.zio in the state directory (shared memory
 * for umsg), so a restarted segd knows which buffers are live.
 *
 * Writing addresses to `free` (locally, or a FREE message from a peer) is
 * all or nothing: every address must be the start of a live buffer, or
 * nothing changes.  The queue of returned addresses cannot overflow: a
 * buffer can be in it once, so it never holds more than the pool's buffers.
 *
 * Signals (RSM's rsm_intr_signal_post/wait) count into an eventfd per
 * segment that waiters poll and read: signals coalesce, none is lost
 * between a post and the next wait.
 */
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "segd.h"
#include "zio_pool.h"


struct zwaiter {
	TAILQ_ENTRY(zwaiter) entry;
	void (*cb)(void *);
	void  *arg;
};

struct zseg {
	struct zpool_shared *sh;	/* umsg and kmsg; mapped from NAME.zio */
	size_t               shsize;
	int                  shfd;
	struct zpool        *pool;	/* kmsg: segd's allocator */
	struct client       *holder;	/* umsg: the client holding the pool */
	uint64_t            *q;		/* umsg: returned, not yet read */
	size_t               qhead, qlen, qcap;
	int                  free_efd;	/* readable while q is not empty */
	int                  sig_efd;
	TAILQ_HEAD(, zwaiter) waiters;
};

static int
zero_copy(const struct segment *s)
{
	return s->verb == SEG_VERB_UMSG || s->verb == SEG_VERB_KMSG;
}

static struct zseg *
zseg_new(void)
{
	struct zseg *z = calloc(1, sizeof *z);

	if (z == NULL)
		return NULL;
	z->shfd = z->free_efd = z->sig_efd = -1;
	TAILQ_INIT(&z->waiters);
	return z;
}

void
zio_seg_free(struct segment *s)
{
	struct zseg *z = s->zio;
	struct zwaiter *w;

	if (z == NULL)
		return;
	while ((w = TAILQ_FIRST(&z->waiters)) != NULL) {
		TAILQ_REMOVE(&z->waiters, w, entry);
		free(w);
	}
	zpool_close(z->pool);
	if (z->sh != NULL)
		munmap(z->sh, z->shsize);
	if (z->shfd >= 0)
		close(z->shfd);
	if (z->free_efd >= 0)
		close(z->free_efd);
	if (z->sig_efd >= 0)
		close(z->sig_efd);
	free(z->q);
	free(z);
	s->zio = NULL;
}

/* s was removed: a umsg pool's creator reads the mark in the shared
 * state and lets the pool go (its next allocation fails). */
void
zio_seg_removed(struct segment *s)
{
	if (s->zio != NULL && s->zio->sh != NULL)
		__atomic_store_n(&s->zio->sh->removed, 1, __ATOMIC_RELEASE);
}

/* A zero-copy segment's pool state: found again after a restart, or new. */
int
zio_seg_init(struct segd *sd, struct segment *s, struct segerr *e)
{
	struct zseg *z;
	int created;

	if (!zero_copy(s))
		return 0;
	if ((z = zseg_new()) == NULL)
		return seterr(e, ENOMEM, "out of memory");
	z->shsize = zpool_shared_size(s->len);
	z->shfd = store_zio_file(&sd->store, s->name, z->shsize, &created, e);
	if (z->shfd < 0)
		goto fail;
	if (!created && store_fit(z->shfd, z->shsize) < 0)	/* holes */
		log_warn("%s: %s: allocate pool state", __func__, s->name);
	z->sh = mmap(NULL, z->shsize, PROT_READ | PROT_WRITE, MAP_SHARED,
	    z->shfd, 0);
	if (z->sh == MAP_FAILED) {
		z->sh = NULL;
		seterr(e, errno, "map pool state: %s", strerror(errno));
		goto fail;
	}
	if (created)
		zpool_shared_init(z->sh, s->va, s->len);
	else if (!zpool_shared_valid(z->sh, z->shsize) ||
	    z->sh->base != s->va || z->sh->len != s->len) {
		/* never made anew over what may be live buffers' state */
		seterr(e, EINVAL, "pool state %s.zio does not describe the "
		    "segment: left as it is", s->name);
		goto fail;
	}
	if (s->verb == SEG_VERB_KMSG && (z->pool = zpool_open(z->sh)) == NULL) {
		seterr(e, ENOMEM, "out of memory");
		goto fail;
	}
	z->free_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (z->free_efd < 0) {
		seterr(e, errno, "eventfd: %s", strerror(errno));
		goto fail;
	}
	s->zio = z;
	return 0;
fail:
	s->zio = z;
	zio_seg_free(s);
	return -1;
}

/* Per-segment state for signals of any segment, made on first use. */
static struct zseg *
zio_get(struct segment *s, struct segerr *e)
{
	if (s->zio == NULL && (s->zio = zseg_new()) == NULL) {
		seterr(e, ENOMEM, "out of memory");
		return NULL;
	}
	if (s->zio->sig_efd < 0 &&
	    (s->zio->sig_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		seterr(e, errno, "eventfd: %s", strerror(errno));
		return NULL;
	}
	return s->zio;
}

static void
efd_set(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof one) < 0 && errno != EAGAIN)
		log_warn("%s: eventfd write", __func__);
}

static void
efd_clear(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof v) < 0 && errno != EAGAIN)
		log_warn("%s: eventfd read", __func__);
}

static int
not_zero_copy(const struct segment *s, struct segerr *e)
{
	return seterr(e, EINVAL, "segment '%s' is not a zero-copy (umsg or "
	    "kmsg) segment", s->name);
}

/*
 * The pool state file as segd made it: a holder that grew it (past -M) or
 * cut it is undone.  0 if it was intact or only grown; STORE_CUT if pages
 * were cut away (restored: their live bits read as free; a lost header is
 * made anew, since nothing of the state is left); -1 if it cannot be.
 */
int
zio_state_fit(struct segment *s)
{
	struct zseg *z = s->zio;
	int r;

	if (z == NULL || z->sh == NULL)
		return 0;
	if ((r = store_fit(z->shfd, z->shsize)) < 0) {
		log_warn("%s: %s: restore pool state", __func__, s->name);
		return -1;
	}
	if (r & STORE_GROWN)
		log_warnx("%s: %s: the pool's holder grew its state file: cut "
		    "back", __func__, s->name);
	if (!(r & STORE_CUT))
		return 0;
	if (!zpool_shared_valid(z->sh, z->shsize) || z->sh->base != s->va ||
	    z->sh->len != s->len) {
		log_warnx("%s: %s: the pool's holder cut its state file: made "
		    "anew, every buffer is free", __func__, s->name);
		zpool_shared_init(z->sh, s->va, s->len);
	} else
		log_warnx("%s: %s: the pool's holder cut pages of its state "
		    "file: restored, buffers there read as free", __func__,
		    s->name);
	return STORE_CUT;
}

struct unlive {
	struct zseg    *z;
	const uint64_t *addrs;
	int             n;
};

/* All of addrs unlive, or none: n, or the index of the first bad one. */
static int
unlive_fn(void *arg)
{
	struct unlive *u = arg;
	int i, j;

	for (i = 0; i < u->n; i++)
		if (zpool_unlive(u->z->sh, u->z->shsize, u->addrs[i]) < 0) {
			for (j = 0; j < i; j++)
				zpool_relive(u->z->sh, u->z->shsize, u->addrs[j]);
			return i;
		}
	return u->n;
}

/*
 * unlive_fn on the state the pool's holder shares, under the SIGBUS
 * guard: n done, the index of a bad address, or -1 if the state faulted.
 */
static int
unlive_guarded(struct segment *s, const uint64_t *addrs, int n)
{
	struct unlive u = { s->zio, addrs, n };
	int r = guard_call(s->zio->sh, s->zio->shsize, unlive_fn, &u);

	if (r < 0)
		zio_state_fit(s);
	return r;
}

/*
 * Return buffers: all of addrs, or none.  No permission check here: the
 * caller made it (local write of free) or the peer holds an import.
 */
int
zio_free_apply(struct segd *sd, struct segment *s, const uint64_t *addrs,
    int n, struct segerr *e)
{
	struct zseg *z = s->zio;
	struct zwaiter *w;
	int i, r;

	(void)sd;
	if (!zero_copy(s) || z == NULL || z->sh == NULL)
		return not_zero_copy(s, e);
	if (n <= 0)
		return 0;
	if (zio_state_fit(s) != 0)	/* the holder resized it */
		return seterr(e, EIO, "the pool state of segment '%s' was cut "
		    "by its holder: restored, buffers there read as free; "
		    "nothing returned", s->name);
	/*
	 * No more addresses can wait than the segment has buffers, unless a
	 * pool holder forges live bits: refuse rather than grow without end.
	 */
	if (s->verb == SEG_VERB_UMSG &&
	    z->qlen + (size_t)n > (size_t)(s->len >> ZP_MINSHIFT))
		return seterr(e, ENOSPC, "free queue of segment '%s' is full",
		    s->name);
	if (s->verb == SEG_VERB_UMSG && z->qlen + (size_t)n > z->qcap) {
		/* reserve first: nothing changes if this fails */
		size_t cap = z->qcap ? z->qcap : 256;
		uint64_t *q;
		while (cap < z->qlen + (size_t)n)
			cap *= 2;
		if ((q = malloc(cap * sizeof *q)) == NULL)
			return seterr(e, ENOMEM, "out of memory");
		for (i = 0; (size_t)i < z->qlen; i++)
			q[i] = z->q[(z->qhead + (size_t)i) % z->qcap];
		free(z->q);
		z->q = q;
		z->qcap = cap;
		z->qhead = 0;
	}
	if ((r = unlive_guarded(s, addrs, n)) < 0)
		return seterr(e, EIO, "the pool state of segment '%s' was cut "
		    "by its holder: restored, buffers there read as free; "
		    "nothing returned", s->name);
	if (r < n)
		return seterr(e, EINVAL, "address 0x%llx is not the start of a "
		    "live buffer of segment '%s'", (unsigned long long)addrs[r],
		    s->name);
	if (s->verb == SEG_VERB_KMSG) {
		for (i = 0; i < n; i++)
			zpool_reclaim(z->pool, addrs[i]);
		return 0;
	}
	if (z->qlen == 0)
		efd_set(z->free_efd);
	for (i = 0; i < n; i++)
		z->q[(z->qhead + z->qlen++) % z->qcap] = addrs[i];
	while ((w = TAILQ_FIRST(&z->waiters)) != NULL && z->qlen > 0) {
		TAILQ_REMOVE(&z->waiters, w, entry);
		w->cb(w->arg);	/* it takes what it wants */
		free(w);
	}
	return 0;
}

/* Write free: needs write permission on the segment. */
int
zio_free_local(struct segd *sd, struct segment *s, const uint64_t *addrs,
    int n, const struct cred *c, struct segerr *e)
{
	if (perm_check(c, s, SEGW_WR, e) < 0)
		return -1;
	return zio_free_apply(sd, s, addrs, n, e);
}

/* Read free without waiting: the number of addresses taken. */
int
zio_free_take(struct segment *s, uint64_t *addrs, int max)
{
	struct zseg *z = s->zio;
	int n = 0;

	if (z == NULL || z->q == NULL)
		return 0;
	while (n < max && z->qlen > 0) {
		addrs[n++] = z->q[z->qhead];
		z->qhead = (z->qhead + 1) % z->qcap;
		z->qlen--;
	}
	if (n > 0 && z->qlen == 0)
		efd_clear(z->free_efd);
	return n;
}

/* cb(arg) once addresses wait; -1 (errno) if it cannot be registered. */
int
zio_free_wait(struct segment *s, void (*cb)(void *), void *arg)
{
	struct zwaiter *w;

	if (s->zio == NULL) {
		errno = EINVAL;
		return -1;
	}
	if ((w = malloc(sizeof *w)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	w->cb = cb;
	w->arg = arg;
	TAILQ_INSERT_TAIL(&s->zio->waiters, w, entry);
	return 0;
}

void
zio_free_unwait(struct segment *s, void (*cb)(void *), void *arg)
{
	struct zwaiter *w;

	if (s->zio == NULL)
		return;
	TAILQ_FOREACH(w, &s->zio->waiters, entry)
		if (w->cb == cb && w->arg == arg) {
			TAILQ_REMOVE(&s->zio->waiters, w, entry);
			free(w);
			return;
		}
}

int
zio_signal(struct segment *s, struct segerr *e)
{
	struct zseg *z = zio_get(s, e);

	if (z == NULL)
		return -1;
	efd_set(z->sig_efd);
	return 0;
}

/* A client holding a umsg pool went away: its pool is free to take. */
void
zio_client_gone(struct segd *sd, struct client *c)
{
	struct segment *s;

	TAILQ_FOREACH(s, &sd->ns.all, entry) {
		struct zseg *z = s->zio;
		if (z == NULL || z->holder != c)
			continue;
		z->holder = NULL;
		/* queued addresses are free buffers now: a new holder's
		 * allocator finds them free in the live bits */
		if (z->qlen > 0)
			efd_clear(z->free_efd);
		z->qlen = 0;
		z->qhead = 0;
	}
}

/* The socket's requests on zero-copy segments: 0 once answered, -1 with e. */
typedef int (*zio_op)(struct segment *, struct client *, uint16_t op,
    const struct segw_req *, struct segerr *);

static int
z_alloc(struct segment *s, struct client *c, uint16_t op,
    const struct segw_req *r, struct segerr *e)
{
	struct zseg *z = s->zio;
	struct segw_info info;
	uint64_t addr, size;

	if (perm_check(client_cred(c), s, SEGW_RD | SEGW_WR, e) < 0)
		return -1;
	if (s->verb != SEG_VERB_KMSG)
		return seterr(e, EINVAL, "segment '%s' is not a kmsg segment: "
		    "umsg buffers are allocated by the process holding its pool",
		    s->name);
	if ((addr = zpool_alloc(z->pool, r->b)) == 0) {
		if (errno == EINVAL)
			return seterr(e, EINVAL, "bad buffer length %llu: 1 to "
			    "%llu bytes", (unsigned long long)r->b,
			    1ULL << z->sh->slab_shift);
		return seterr(e, ENOMEM, "no free buffer of %llu bytes in "
		    "segment '%s'", (unsigned long long)r->b, s->name);
	}
	zpool_check(z->sh, z->shsize, addr, &size);
	memset(&info, 0, sizeof info);
	info.va = addr;
	info.len = size;
	client_reply(c, op, &info, NULL, 0, -1);
	return 0;
}

static int
z_pool(struct segment *s, struct client *c, uint16_t op,
    const struct segw_req *r, struct segerr *e)
{
	const struct cred *cr = client_cred(c);
	struct zseg *z = s->zio;
	struct segw_info info;
	int fd;

	(void)r;
	if (s->verb != SEG_VERB_UMSG)
		return seterr(e, EINVAL, "segment '%s' is not a umsg segment",
		    s->name);
	if (cr->uid != 0 && cr->uid != s->uid)
		return seterr(e, EPERM, "permission denied: only the owner (uid "
		    "%u) allocates in umsg segment '%s'", (unsigned)s->uid,
		    s->name);
	if (z->holder != NULL && z->holder != c)
		return seterr(e, EBUSY, "the pool of segment '%s' is held by "
		    "another process (pid %d)", s->name,
		    (int)client_cred(z->holder)->pid);
	if ((fd = dup(z->shfd)) < 0)
		return seterr(e, errno, "dup: %s", strerror(errno));
	if (z->holder == NULL && z->qlen > 0) {
		/* returned while nobody held the pool: the new holder's
		 * allocator finds them free in the live bits, so reading them
		 * too would reclaim them twice */
		efd_clear(z->free_efd);
		z->qlen = 0;
		z->qhead = 0;
	}
	z->holder = c;
	seg_to_info(s, &info);
	client_reply(c, op, &info, NULL, 0, fd);
	return 0;
}

static int
z_freeread(struct segment *s, struct client *c, uint16_t op,
    const struct segw_req *r, struct segerr *e)
{
	uint64_t *v;
	int n, max;

	if (perm_check(client_cred(c), s, SEGW_RD, e) < 0)
		return -1;
	if (s->verb != SEG_VERB_UMSG)
		return seterr(e, EINVAL, "segment '%s' is not a umsg segment: "
		    "only umsg buffers come back through free", s->name);
	max = r->arg == 0 || r->arg > SEGW_FREEREAD_MAX ? SEGW_FREEREAD_MAX :
	    (int)r->arg;
	if ((v = malloc((size_t)max * sizeof *v)) == NULL)
		return seterr(e, ENOMEM, "out of memory");
	n = zio_free_take(s, v, max);
	client_reply_raw(c, op, v, segw_u64s_encode(v, (size_t)n));
	free(v);
	return 0;
}

/* FREEFD and SIGFD: an eventfd readable while addresses or signals wait */
static int
z_fd(struct segment *s, struct client *c, uint16_t op,
    const struct segw_req *r, struct segerr *e)
{
	struct zseg *z = s->zio;
	struct segw_info info;
	int fd;

	(void)r;
	if (perm_check(client_cred(c), s, SEGW_RD, e) < 0)
		return -1;
	if (op == SEGW_FREEFD && s->verb != SEG_VERB_UMSG)
		return seterr(e, EINVAL, "segment '%s' is not a umsg segment",
		    s->name);
	if (op == SEGW_SIGFD && (z = zio_get(s, e)) == NULL)
		return -1;
	if ((fd = dup(op == SEGW_FREEFD ? z->free_efd : z->sig_efd)) < 0)
		return seterr(e, errno, "dup: %s", strerror(errno));
	seg_to_info(s, &info);
	client_reply(c, op, &info, NULL, 0, fd);
	return 0;
}

void
zio_request(struct segd *sd, struct client *c, uint16_t op,
    const struct segw_req *r)
{
	zio_op h = op == SEGW_ZALLOC ? z_alloc : op == SEGW_ZPOOL ? z_pool :
	    op == SEGW_FREEREAD ? z_freeread :
	    op == SEGW_FREEFD || op == SEGW_SIGFD ? z_fd : NULL;
	struct segerr e = { 0, "" };
	struct segment *s;

	if (h == NULL)
		seterr(&e, EINVAL, "operation %u is not a request", op);
	else if ((s = ns_lookup_allocated(&sd->ns, r->name, &e)) != NULL &&
	    h(s, c, op, r, &e) == 0)
		return;
	client_reply_err(c, op, &e);
}

/* SEGW_ZFREE: local buffers returned; they must lie in one segment. */
void
zio_zfree(struct segd *sd, struct client *c, const struct segw_addrs *a)
{
	struct segerr e = { 0, "" };
	struct segment *s;

	if ((s = ns_find_range(&sd->ns, a->addrs[0], 1)) == NULL)
		seterr(&e, EINVAL, "address 0x%llx is not in any segment",
		    (unsigned long long)a->addrs[0]);
	else if (zio_free_local(sd, s, a->addrs, (int)a->n, client_cred(c),
	    &e) == 0) {
		client_reply(c, SEGW_ZFREE, NULL, NULL, 0, -1);
		return;
	}
	client_reply_err(c, SEGW_ZFREE, &e);
}
