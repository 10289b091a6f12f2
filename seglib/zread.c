/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * zread.c: libseg's side of the read rings (proto/zread.h): seg_free_read
 * takes a umsg segment's returned addresses from memory segd fills,
 * without a SEGW_FREEREAD round trip; it waits on the ring's eventfd,
 * which segd writes only when it fills an empty ring.
 *
 * One ring per segment read and connection to segd, shared by the
 * process's threads under zd_lock.  Taken on the first read of the segment
 * (SEGW_ZREAD: its memory and its eventfd).  A read asks for its max
 * (the ring's want) and segd fills no more than asked, so addresses a
 * process does not read stay in the queue for the others; a poller of
 * seg_free_fd asks for a ring of them.  Whenever a read empties the ring it
 * drains the eventfd, so the descriptor (seg_free_fd) is readable while
 * entries wait, and if segd stopped filling it (it was full: armed = 0) it
 * asks for a fill: a round trip per ring of addresses at most.  A segd
 * that does not serve read rings (SEGW_ZREAD refused: an older one) is
 * asked no more on this connection: the socket serves the reads.
 */
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libseg.h"
#include "zread.h"

#define WAIT_SLICE_MS 1000	/* a waiter looks at the connection so often */

struct zrd {
	struct zrd *next;
	char        name[SEG_NAMEMAX + 1];
	void       *mem;	/* NULL: none */
	int         efd;
	int         off;	/* segd refused: use the socket (this gen) */
	unsigned    gen;	/* seg_conn_gen() it was had on */
	unsigned    users;	/* callers waiting on efd: not closed */
	int         poller;	/* seg_free_fd was asked: a ring is wanted */
	uint32_t    cons;	/* entries taken */
};

static pthread_mutex_t zd_lock = PTHREAD_MUTEX_INITIALIZER;
static struct zrd *zrds;
static pid_t zd_pid;

/* Under zd_lock: forget the ring. */
static void
ring_close(struct zrd *z)
{
	if (z->mem != NULL)
		munmap(z->mem, ZREAD_SIZE);
	if (z->efd >= 0)
		close(z->efd);
	z->mem = NULL;
	z->efd = -1;
	z->off = 0;
	z->poller = 0;
}

/* Under zd_lock: SEGW_ZREAD arg on name; the count filled, or -1. */
static int
zread_call(const char *name, uint32_t arg, int *fdp)
{
	struct segw_req r;
	struct segw_info info;

	if (seg_req_name(&r, name) < 0)
		return -1;
	r.arg = arg;
	if (seg_call(SEGW_ZREAD, &r, &info, NULL, NULL, fdp) < 0)
		return -1;
	if (fdp != NULL && *fdp < 0)
		return seg_seterr(EPROTO, "segd sent no descriptor");
	return fdp != NULL ? 0 : (int)info.len;
}

/* Under zd_lock: the ring's descriptors, mapped. */
static int
ring_take(struct zrd *z)
{
	struct stat sb;
	unsigned gen = seg_conn_gen();
	int mfd = -1, efd = -1;
	void *p = MAP_FAILED;

	if (zread_call(z->name, SEGW_ZREAD_MEM, &mfd) < 0) {
		/* an older segd, no permission, not umsg, rings enough: the
		 * socket serves (and words the refusal) for this connection */
		z->off = (errno == EINVAL || errno == EACCES ||
		    errno == EPERM || errno == EMFILE) && !seg_conn_lost();
		z->gen = seg_conn_gen();
		return -1;
	}
	if (zread_call(z->name, SEGW_ZREAD_KICK, &efd) < 0 ||
	    gen != seg_conn_gen() || fstat(mfd, &sb) < 0 ||
	    sb.st_size != ZREAD_SIZE)
		goto fail;
	p = mmap(NULL, ZREAD_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (p == MAP_FAILED || !zread_valid(p, ZREAD_SIZE))
		goto fail;
	close(mfd);
	z->mem = p;
	z->efd = efd;
	z->gen = gen;
	z->cons = zread_word(p, ZREAD_CONS);
	return 0;
fail:
	if (p != MAP_FAILED)
		munmap(p, ZREAD_SIZE);
	if (mfd >= 0)
		close(mfd);
	if (efd >= 0)
		close(efd);
	return -1;
}

/* Under zd_lock: name's entry, its ring taken if it can be; NULL: none. */
static struct zrd *
ring_get(const char *name)
{
	struct zrd *z;

	if (zd_pid != getpid()) {	/* a fork's child: the parent's rings */
		while ((z = zrds) != NULL) {
			zrds = z->next;
			ring_close(z);
			free(z);
		}
		zd_pid = getpid();
	}
	for (z = zrds; z != NULL; z = z->next)
		if (strcmp(z->name, name) == 0)
			break;
	if (z == NULL) {
		if ((z = calloc(1, sizeof *z)) == NULL)
			return NULL;
		strcpy(z->name, name);
		z->efd = -1;
		z->next = zrds;
		zrds = z;
	}
	if (z->gen == seg_conn_gen() && !seg_conn_lost() &&
	    (z->mem != NULL || z->off))
		return z->off ? NULL : z;
	if (z->users > 0)	/* callers still wait on the old one */
		return NULL;
	ring_close(z);
	return ring_take(z) < 0 ? NULL : z;
}

/*
 * Under zd_lock: up to max entries.  When they were all, the ring is made
 * ready to wait on: the reader asks for the rest of max (a poller for a
 * ring), the eventfd is drained, and segd is asked for a fill if it
 * stopped filling.  The count, or -1 with seg_errstr().
 */
static int
ring_take_some(struct zrd *z, uint64_t *addrs, int max)
{
	int avail = zread_avail(z->mem, z->cons), k;
	uint32_t ask;
	eventfd_t v;

	if (zread_word(z->mem, ZREAD_BROKEN) != 0 || avail < 0)
		return seg_seterr(EPROTO, "segd stopped filling this "
		    "process's read ring of segment '%s' (its indexes were "
		    "found corrupt)", z->name);
	if (max > (int)ZREAD_NSLOTS)
		max = (int)ZREAD_NSLOTS;
	for (k = 0; k < avail && k < max; k++)
		addrs[k] = zread_get(z->mem, z->cons + (uint32_t)k);
	z->cons += (uint32_t)k;
	zread_set_word(z->mem, ZREAD_CONS, z->cons);
	if (k < avail)
		return k;
	/* empty: asked for what is still wanted, no more (the rest stays in
	 * the queue for the others); the eventfd is readable again only when
	 * segd fills it */
	ask = z->poller ? ZREAD_NSLOTS : (uint32_t)(max - k);
	zread_set_word(z->mem, ZREAD_WANT, z->cons + ask);
	(void)eventfd_read(z->efd, &v);
	if (ask > 0 && zread_word(z->mem, ZREAD_ARMED) == 0 &&
	    zread_call(z->name, SEGW_ZREAD_FILL, NULL) < 0)
		return k > 0 ? k : -1;
	/* filled meanwhile: that wake-up may have been drained above */
	if (zread_avail(z->mem, z->cons) > 0)
		(void)eventfd_write(z->efd, 1);
	return k;
}

/*
 * Returned addresses of name through its read ring; waits until there is
 * one.  The count, -1 with seg_errstr(), or 0 if there is no ring (the
 * caller reads through the socket).
 */
int
seg_zread(const char *name, uint64_t *addrs, int max)
{
	struct pollfd pfd;
	struct zrd *z;
	int k, r;

	pthread_mutex_lock(&zd_lock);
	for (;;) {
		if ((z = ring_get(name)) == NULL) {
			pthread_mutex_unlock(&zd_lock);
			return 0;
		}
		if ((k = ring_take_some(z, addrs, max)) != 0) {
			pthread_mutex_unlock(&zd_lock);
			return k;
		}
		pfd.fd = z->efd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		z->users++;
		pthread_mutex_unlock(&zd_lock);
		r = poll(&pfd, 1, WAIT_SLICE_MS);
		pthread_mutex_lock(&zd_lock);
		z->users--;
		if (r < 0 && errno != EINTR) {
			pthread_mutex_unlock(&zd_lock);
			return seg_seterr(errno, "poll: %s", strerror(errno));
		}
		/* a slice without a wake-up: ask, should segd have stopped */
		if (r == 0 && z->gen == seg_conn_gen() && !seg_conn_lost() &&
		    z->mem != NULL && zread_word(z->mem, ZREAD_BROKEN) == 0 &&
		    zread_call(name, SEGW_ZREAD_FILL, NULL) < 0) {
			pthread_mutex_unlock(&zd_lock);
			return -1;
		}
	}
}

/* The eventfd of name's read ring (readable while entries wait; asking
 * for a ring of them), or -1 if there is none: the caller uses the
 * socket's. */
int
seg_zread_fd(const char *name)
{
	struct zrd *z;
	int fd;

	pthread_mutex_lock(&zd_lock);
	if ((z = ring_get(name)) != NULL && !z->poller) {
		/* a poller reads what comes: it asks for a ring of them */
		z->poller = 1;
		zread_set_word(z->mem, ZREAD_WANT, z->cons + ZREAD_NSLOTS);
		if (zread_word(z->mem, ZREAD_ARMED) == 0)
			(void)zread_call(name, SEGW_ZREAD_FILL, NULL);
	}
	fd = z != NULL ? z->efd : -1;
	pthread_mutex_unlock(&zd_lock);
	return fd;
}
