/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * fs_free.c: a zero-copy segment's free file.  A write returns buffers:
 * their addresses, one a line.  A read takes the returned addresses, one a
 * line, as many as fit; with none returned it waits (unless the file is
 * read O_NONBLOCK), holding the FUSE request until a write or a client
 * returns some, the read is interrupted, or the file system stops.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "fs.h"

#define FREE_LINE    19		/* "0x" + 16 hex digits + "\n" */
#define FREE_MAXADDR 4096	/* addresses taken by one read or write */
#define FREE_TEXTMAX (FREE_MAXADDR * FREE_LINE + 1)

/* A read of free waiting for an address. */
struct fwait {
	LIST_ENTRY(fwait) entry;
	fuse_req_t        req;
	struct segment   *seg;	/* held */
	size_t            size;
};

static LIST_HEAD(, fwait) waits = LIST_HEAD_INITIALIZER(waits);

static int
zero_copy(const struct segment *s)
{
	return s->verb == SEG_VERB_UMSG || s->verb == SEG_VERB_KMSG;
}

/* Take what fits in size bytes and reply; 0 if there was nothing. */
static int
free_take_reply(fuse_req_t req, struct segment *s, size_t size)
{
	static uint64_t addrs[FREE_MAXADDR];
	static char text[FREE_TEXTMAX];
	size_t max = size / FREE_LINE, len = 0;
	int n, i;

	if (max > FREE_MAXADDR)
		max = FREE_MAXADDR;
	if ((n = zio_free_take(s, addrs, (int)max)) <= 0)
		return 0;
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, sizeof text - len,
		    "0x%llx\n", (unsigned long long)addrs[i]);
	fuse_reply_buf(req, text, len);
	return 1;
}

static void
fwait_free(struct fwait *w)
{
	LIST_REMOVE(w, entry);
	seg_put(&fs_sd->ns, w->seg);
	free(w);
}

static void free_ready(void *);

/*
 * Wait for addresses to be returned: 0.  If the wait cannot be registered
 * the read is answered now, never left hanging, and w freed: -1.
 */
static int
fwait_register(struct fwait *w)
{
	char what[FS_WHATMAX];

	if (zio_free_wait(w->seg, free_ready, w) == 0)
		return 0;
	snprintf(what, sizeof what, "read %.64s/free", w->seg->name);
	fs_reply_errf(w->req, what, ENOMEM, "out of memory: cannot wait for "
	    "a returned buffer");
	fwait_free(w);
	return -1;
}

static void
free_ready(void *arg)
{
	struct fwait *w = arg;

	if (!free_take_reply(w->req, w->seg, w->size)) {
		fwait_register(w);	/* another took them: wait again */
		return;
	}
	fwait_free(w);
}

static void
free_interrupted(fuse_req_t req, void *arg)
{
	struct fwait *w = arg;

	zio_free_unwait(w->seg, free_ready, w);
	fuse_reply_err(req, EINTR);
	fwait_free(w);
}

void
fs_free_read(fuse_req_t req, struct fh *h, size_t size)
{
	struct segment *s = h->seg;
	struct fwait *w;
	char what[FS_WHATMAX];

	snprintf(what, sizeof what, "read %.64s/free", s->name);
	if (s->verb == SEG_VERB_NONE) {
		fs_reply_errf(req, what, ENXIO, "segment not yet allocated");
		return;
	}
	if (!zero_copy(s)) {
		fs_reply_errf(req, what, EINVAL, "segment '%s' is not a zero-copy "
		    "(umsg or kmsg) segment", s->name);
		return;
	}
	if (s->verb == SEG_VERB_KMSG) {
		/* segd takes kmsg buffers back itself: none ever comes here */
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	if (size < FREE_LINE) {
		fs_reply_errf(req, what, EINVAL, "read free with room for at least "
		    "one address (%d bytes)", FREE_LINE);
		return;
	}
	if (free_take_reply(req, s, size))
		return;
	if (h->nonblock) {
		fuse_reply_err(req, EAGAIN);
		return;
	}
	if ((w = calloc(1, sizeof *w)) == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	w->req = req;
	w->seg = s;
	w->size = size;
	seg_hold(s);		/* the waiting read's */
	LIST_INSERT_HEAD(&waits, w, entry);
	if (fwait_register(w) < 0)
		return;
	/* last: if the read was already interrupted this replies and frees w */
	fuse_req_interrupt_func(req, free_interrupted, w);
}

/* Requests still waiting: answered while the session is there. */
void
fs_free_shutdown(void)
{
	struct fwait *w;

	while ((w = LIST_FIRST(&waits)) != NULL) {
		zio_free_unwait(w->seg, free_ready, w);
		fuse_reply_err(w->req, ENOTCONN);
		fwait_free(w);
	}
}

void
fs_free_write(fuse_req_t req, struct fh *h, struct fuse_bufvec *in)
{
	static char text[FREE_TEXTMAX];
	static uint64_t addrs[FREE_MAXADDR];
	struct segerr e = { 0, "" };
	struct cred c;
	char what[FS_WHATMAX];
	size_t len;
	int n;

	snprintf(what, sizeof what, "write %.64s/free", h->seg->name);
	if ((n = fs_write_addrs(req, in, what, text, sizeof text, addrs,
	    FREE_MAXADDR, &len)) < 0)
		return;
	fs_req_cred(req, &c);
	if (zio_free_local(fs_sd, h->seg, addrs, n, &c, &e) < 0) {
		fs_reply_err(req, what, &e);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &h->seg->free_mtime);
	fuse_reply_write(req, len);
}
