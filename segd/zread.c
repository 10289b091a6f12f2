/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * zread.c: the read rings (proto/zread.h): segd hands the returned
 * addresses of a umsg segment to a local reader through memory they share,
 * instead of a SEGW_FREEREAD round trip per read.
 *
 * One ring per client connection and segment, made on its first SEGW_ZREAD
 * request (at most ZREAD_PER_CLIENT per connection): a memfd of fixed size,
 * sealed against shrinking and growing before it is handed over, so the
 * reader can scribble on it but never make segd's accesses fault; and an
 * eventfd segd writes when it puts addresses into the ring as it goes from
 * empty to non-empty.
 *
 * A ring is one more taker of the segment's free queue (zio.c), beside
 * SEGW_FREEREAD and the file system's free file: whoever takes an address
 * from the queue has it, so each is had once.  While the ring has room it
 * waits on the queue (zio_free_wait) and is filled as addresses are
 * returned, at most its room per return (the batch returned bounds the
 * work, in the turn of whoever returned it).  Waiters are called in turn,
 * so rings and waiting reads of one segment share the returns.  A full
 * ring stops waiting and says so (armed = 0, written before the entries
 * that filled it are published); the reader, once it emptied it, asks for
 * a fill (SEGW_ZREAD_FILL), which fills it from the queue and waits again.
 *
 * segd trusts nothing in the ring: it keeps its own producer index and
 * reads only the reader's consumer index, bounded by zread_room; one that
 * is not within the ring behind the producer index ends the service of
 * that ring (broken = EPROTO, logged).  Addresses put into a ring are the
 * reader's, as those of a SEGW_FREEREAD reply: a reader that lies or
 * never reads loses only its own, at most a ring of them.
 */
#include <sys/mman.h>
#include <sys/eventfd.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "segd.h"
#include "zread.h"

#define ZREAD_PER_CLIENT 16	/* read rings of one connection */

struct zread {
	LIST_ENTRY(zread) entry;	/* the client's rings */
	struct client  *c;		/* its owner; the ring goes with it */
	struct segment *s;		/* held: the ring's reference */
	void           *mem;
	int             memfd, efd;
	uint32_t        prod;		/* segd's own: the shared one is told */
	int             waiting;	/* registered with zio_free_wait */
};

LIST_HEAD(zreads, zread);

static void fill_cb(void *);

static void
zread_free(struct segd *sd, struct zread *r)
{
	if (r->waiting)
		zio_free_unwait(r->s, fill_cb, r);
	shm_release(r->mem, ZREAD_SIZE, r->memfd);
	if (r->efd >= 0)
		close(r->efd);
	seg_put(&sd->ns, r->s);	/* the ring's reference */
	free(r);
}

/* Wait on the segment's free queue, or not. */
static void
ring_wait(struct zread *r, int on)
{
	if (on && !r->waiting)
		r->waiting = zio_free_wait(r->s, fill_cb, r) == 0;
	else if (!on && r->waiting) {
		zio_free_unwait(r->s, fill_cb, r);
		r->waiting = 0;
	}
}

static void
ring_break(struct zread *r, const char *why)
{
	const struct cred *cr = client_cred(r->c);

	log_warnx("%s: client pid %d uid %u: segment '%s': %s: its read ring "
	    "is no longer filled", __func__, (int)cr->pid, (unsigned)cr->uid,
	    r->s->name, why);
	zread_set_word(r->mem, ZREAD_BROKEN, EPROTO);
	zread_set_word(r->mem, ZREAD_ARMED, 0);
	ring_wait(r, 0);
}

/*
 * Move what the ring has room for and the reader asked for from the
 * segment's free queue into it, then wait on the queue while the reader
 * asks for more: the entries filled.
 */
static int
ring_fill(struct zread *r)
{
	static uint64_t addrs[ZREAD_NSLOTS];
	uint32_t was = r->prod;
	int room, n, i, asked;
	eventfd_t v;

	if (zread_word(r->mem, ZREAD_BROKEN) != 0)
		return 0;
	if ((room = zread_room(r->mem, r->prod)) < 0) {
		ring_break(r, "its consumer index is not within the ring");
		return 0;
	}
	if ((asked = zread_asked(r->mem, r->prod)) < room)
		room = asked;	/* what the reader asked for, no more */
	n = zio_free_take(r->s, addrs, room);
	for (i = 0; i < n; i++)
		zread_put(r->mem, r->prod + (uint32_t)i, addrs[i]);
	r->prod += (uint32_t)n;
	/* told before the entries: a reader that empties them then sees 0
	 * and asks for a fill, rather than wait for a wake-up that would
	 * not come */
	ring_wait(r, room > n);
	zread_set_word(r->mem, ZREAD_ARMED, (uint32_t)r->waiting);
	if (n == 0)
		return 0;
	zread_set_word(r->mem, ZREAD_PROD, r->prod);
	/* read after prod is told: a reader that took everything before it
	 * and sleeps is woken, one that had not finished sees the entries */
	if (zread_word(r->mem, ZREAD_CONS) != was)
		return n;
	if (eventfd_write(r->efd, 1) < 0)
		log_warn("%s: eventfd write", __func__);
	/* the reader took them all and drained the eventfd between the
	 * look and the write: the wake-up is stale, and would leave
	 * seg_free_fd readable with nothing to read (a poller's
	 * seg_free_read would wait); any later fill is this loop's own */
	else if (zread_word(r->mem, ZREAD_CONS) == r->prod)
		(void)eventfd_read(r->efd, &v);
	return n;
}

/* Addresses were returned: zio.c took this waiter off its list. */
static void
fill_cb(void *arg)
{
	struct zread *r = arg;

	r->waiting = 0;
	ring_fill(r);
}

static struct zread *
ring_new(struct client *c, struct segment *s, struct segerr *e)
{
	struct zread *r;

	if ((r = calloc(1, sizeof *r)) == NULL) {
		seterr(e, ENOMEM, "out of memory");
		return NULL;
	}
	r->c = c;
	r->s = s;
	seg_hold(s);		/* the ring's reference */
	r->efd = -1;
	if ((r->memfd = shm_sealed("segd-zread", ZREAD_SIZE, &r->mem, e)) < 0)
		goto fail;
	zread_init(r->mem);
	if ((r->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		seterr(e, errno, "eventfd: %s", strerror(errno));
		goto fail;
	}
	return r;
fail:
	zread_free(client_segd(c), r);
	return NULL;
}

/* The client's ring of s, made on its first request; NULL with e. */
static struct zread *
ring_get_or_make(struct client *c, struct segment *s, struct segerr *e)
{
	void **slot = client_slot(c, CLIENT_ZREAD);
	struct zreads *rs = *slot;
	struct zread *r;
	int n = 0;

	if (rs == NULL) {
		if ((rs = calloc(1, sizeof *rs)) == NULL) {
			seterr(e, ENOMEM, "out of memory");
			return NULL;
		}
		LIST_INIT(rs);
		*slot = rs;
	}
	LIST_FOREACH(r, rs, entry) {
		if (r->s == s)
			return r;
		n++;
	}
	if (n >= ZREAD_PER_CLIENT) {
		seterr(e, EMFILE, "this connection reads the free of %d "
		    "segments through rings already", ZREAD_PER_CLIENT);
		return NULL;
	}
	if ((r = ring_new(c, s, e)) != NULL)
		LIST_INSERT_HEAD(rs, r, entry);
	return r;
}

/* SEGW_ZREAD: a descriptor of the ring, or a fill of it; 0 or -1 with e. */
static int
zread_do(struct client *c, struct segment *s, uint32_t arg, struct segerr *e)
{
	struct segw_info info;
	struct zread *r;
	int fd;

	if (arg > SEGW_ZREAD_FILL)
		return seterr(e, EINVAL, "no read ring request %u", arg);
	if (perm_check(client_cred(c), s, SEGW_RD, e) < 0)
		return -1;
	if (s->verb != SEG_VERB_UMSG)
		return seterr(e, EINVAL, "segment '%s' is not a umsg segment: "
		    "only umsg buffers come back through free", s->name);
	if ((r = ring_get_or_make(c, s, e)) == NULL)
		return -1;
	if (arg == SEGW_ZREAD_FILL) {
		if (zread_word(r->mem, ZREAD_BROKEN) != 0)
			return seterr(e, EPROTO, "segd stopped filling this "
			    "read ring of segment '%s': its index was found "
			    "corrupt", s->name);
		memset(&info, 0, sizeof info);
		info.len = (uint64_t)ring_fill(r);
		client_reply(c, SEGW_ZREAD, &info, NULL, 0, -1);
		return 0;
	}
	if ((fd = dup(arg == SEGW_ZREAD_MEM ? r->memfd : r->efd)) < 0)
		return seterr(e, errno, "dup: %s", strerror(errno));
	client_reply(c, SEGW_ZREAD, NULL, NULL, 0, fd);
	return 0;
}

void
zread_request(struct segd *sd, struct client *c, const struct segw_req *req)
{
	struct segerr e = { 0, "" };
	struct segment *s;

	if ((s = ns_lookup_allocated(&sd->ns, req->name, &e)) != NULL &&
	    zread_do(c, s, req->arg, &e) == 0)
		return;
	client_reply_err(c, SEGW_ZREAD, &e);
}

/* The client went away: its rings with it (what they held is lost). */
void
zread_client_gone(struct client *c)
{
	void **slot = client_slot(c, CLIENT_ZREAD);
	struct zreads *rs = *slot;
	struct zread *r;

	while (rs != NULL && (r = LIST_FIRST(rs)) != NULL) {
		LIST_REMOVE(r, entry);
		zread_free(client_segd(c), r);
	}
	free(rs);
	*slot = NULL;
}
