/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * client.c: the local control socket's connections.  Clients (libseg)
 * speak framed requests over a UNIX stream socket; each connection is
 * parsed incrementally with a capped frame length, and a client that sends
 * anything malformed is dropped alone.  Replies that hand over a segment's
 * file descriptor carry it with SCM_RIGHTS on their first byte.
 *
 * Fair shares (share.c): a connection beyond its uid's share is refused;
 * a client whose uid, or all uids, are over their share of queued replies
 * or descriptors is not read (it waits on the blocked list) until replies
 * are read.  A frame begun must end within the idle timeout, or its client
 * is dropped.
 *
 * A client's first request must be HELLO with a protocol version this segd
 * serves; anything else is answered with an error naming both versions,
 * and the connection closes once that answer is sent.  Decoded requests go
 * to the handlers control.c registered (client_init).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "segd.h"

#define CLIENT_OUT_HIGH (8u << 20)	/* stop reading a client above this */
#define READ_CHUNK      16384
#define ACCEPT_BATCH    32		/* accepted per wake-up */
#define TURN_OUT        (64u << 10)	/* replies made in one client's turn */
#define IN_HIGH         (128u << 10)	/* read no more input above this */

struct fdq {
	int                 fd;
	uint64_t            at;	/* byte offset of its frame in the stream */
	STAILQ_ENTRY(fdq)   entry;
};

struct client {
	TAILQ_ENTRY(client)       entry;
	TAILQ_ENTRY(client)       bentry;	/* on ctl.blocked */
	struct segd              *sd;
	int                       fd;
	struct cred               cred;
	struct share             *u;	/* its uid's (share.c) */
	struct event             *rev, *wev, *idle;
	struct evbuffer          *in, *out;
	STAILQ_HEAD(, fdq)        fdq;
	uint64_t                  queued, sent;
	int                       paused;	/* reading stopped: output full */
	int                       blocked;	/* on ctl.blocked: a share full */
	int                       hello;	/* its version was accepted */
	int                       closing;	/* close once output is sent */
	struct creq              *pending;	/* a request waiting on a peer */
	void                     *slots[CLIENT_NSLOTS];	/* other modules' */
};

/* A request answered later; c is NULL once the client has gone. */
struct creq {
	struct client *c;
	uint16_t       op;
};

static struct {
	int                       fd;
	struct event             *ev, *pause;
	TAILQ_HEAD(, client)      clients;
	TAILQ_HEAD(, client)      blocked;	/* paused by a shared limit */
	unsigned                  nclients;
	const struct client_limits *lim;
	const struct client_ops  *ops;
} ctl = { .fd = -1 };

static void client_close(struct client *);
static void client_flush(struct client *);

/* Output was freed: let blocked clients whose shares have room go on. */
static void
shares_freed(void)
{
	struct client *c, *n;

	for (c = TAILQ_FIRST(&ctl.blocked); c != NULL; c = n) {
		n = TAILQ_NEXT(c, bentry);
		if (share_full(c->u))
			continue;
		TAILQ_REMOVE(&ctl.blocked, c, bentry);
		c->blocked = 0;
		if (c->paused && c->pending == NULL &&
		    evbuffer_get_length(c->out) <= CLIENT_OUT_HIGH) {
			c->paused = 0;
			event_add(c->rev, NULL);
			event_active(c->rev, EV_READ, 0);
		}
	}
}

static void
client_close(struct client *c)
{
	struct fdq *q;

	ctl.ops->gone(c);	/* what other modules hold for it */
	while ((q = STAILQ_FIRST(&c->fdq)) != NULL) {
		STAILQ_REMOVE_HEAD(&c->fdq, entry);
		close(q->fd);
		free(q);
		share_fd(c->u, -1);
	}
	if (c->pending != NULL)
		c->pending->c = NULL;	/* its answer will be dropped */
	if (c->blocked)
		TAILQ_REMOVE(&ctl.blocked, c, bentry);
	TAILQ_REMOVE(&ctl.clients, c, entry);
	ctl.nclients--;
	share_out(c->u, -(int64_t)evbuffer_get_length(c->out));
	share_freed(evbuffer_get_length(c->in));
	share_leave(c->u);
	event_free(c->rev);
	event_free(c->wev);
	event_free(c->idle);
	evbuffer_free(c->in);
	evbuffer_free(c->out);
	close(c->fd);
	free(c);
	shares_freed();
}

static void
client_drop(struct client *c, const char *why)
{
	log_warnx("%s: client pid %d uid %u: %s; dropped", __func__,
	    (int)c->cred.pid, (unsigned)c->cred.uid, why);
	client_close(c);
}

/*
 * Queue one reply frame.  status 0: info and text; else text is the error
 * message.  fd, if not -1, is passed with the frame and closed once sent.
 */
static void
reply(struct client *c, uint16_t op, int status, const struct segw_info *info,
    const char *text, size_t textlen, int fd)
{
	static uint8_t buf[SEGW_HDRLEN + SEGW_MAXPAYLOAD];
	struct segw_info none;
	struct segw_hdr h;
	size_t n;

	if (textlen > SEGW_MAXTEXT)
		textlen = SEGW_MAXTEXT;
	if (status == 0) {
		if (info == NULL) {
			memset(&none, 0, sizeof none);
			info = &none;
		}
		n = segw_info_encode(buf + SEGW_HDRLEN, SEGW_MAXPAYLOAD, info,
		    text, textlen);
	} else {
		memcpy(buf + SEGW_HDRLEN, text, textlen);
		n = textlen;
	}
	h.len = (uint32_t)n;
	h.op = op;
	h.status = (uint16_t)status;
	segw_hdr_encode(buf, &h);
	if (fd >= 0) {
		struct fdq *q = malloc(sizeof *q);
		if (q == NULL) {
			close(fd);
			reply(c, op, ENOMEM, NULL, "out of memory", 13, -1);
			return;
		}
		q->fd = fd;
		q->at = c->queued;
		STAILQ_INSERT_TAIL(&c->fdq, q, entry);
		share_fd(c->u, 1);
	}
	if (evbuffer_add(c->out, buf, SEGW_HDRLEN + n) < 0) {
		log_warnx("%s: evbuffer_add failed", __func__);
		return;
	}
	c->queued += SEGW_HDRLEN + n;
	share_out(c->u, (int64_t)(SEGW_HDRLEN + n));
}

void
client_reply(struct client *c, uint16_t op, const struct segw_info *info,
    const char *text, size_t textlen, int fd)
{
	reply(c, op, 0, info, text, textlen, fd);
}

void
client_reply_err(struct client *c, uint16_t op, const struct segerr *e)
{
	reply(c, op, e->code ? e->code : EIO, NULL, e->msg, strlen(e->msg), -1);
}

/* A success reply whose body is not a segw_info. */
void
client_reply_raw(struct client *c, uint16_t op, const void *p, size_t n)
{
	uint8_t hb[SEGW_HDRLEN];
	struct segw_hdr h = { (uint32_t)n, op, 0 };

	segw_hdr_encode(hb, &h);
	if (evbuffer_add(c->out, hb, sizeof hb) < 0 ||
	    evbuffer_add(c->out, p, n) < 0) {
		log_warnx("%s: evbuffer_add failed", __func__);
		return;
	}
	c->queued += sizeof hb + n;
	share_out(c->u, (int64_t)(sizeof hb + n));
}

/* Send what can be sent; ancillary fds go with the first byte of their frame. */
static void
client_flush(struct client *c)
{
	while (evbuffer_get_length(c->out) > 0) {
		struct fdq *q = STAILQ_FIRST(&c->fdq);
		struct iovec iov[16];
		struct msghdr mh;
		union {
			struct cmsghdr align;
			char buf[CMSG_SPACE(sizeof(int))];
		} cm;
		size_t n = evbuffer_get_length(c->out);
		int withfd = q != NULL && q->at == c->sent, niov;
		ssize_t r;

		if (q != NULL && q->at > c->sent && q->at - c->sent < n)
			n = (size_t)(q->at - c->sent);
		else if (withfd && STAILQ_NEXT(q, entry) != NULL &&
		    STAILQ_NEXT(q, entry)->at - c->sent < n)
			n = (size_t)(STAILQ_NEXT(q, entry)->at - c->sent);
		niov = evbuffer_peek(c->out, (ev_ssize_t)n, NULL,
		    (struct evbuffer_iovec *)iov, 16);
		if (niov > 16)
			niov = 16;
		if (niov > 0) {	/* trim the last vector to n bytes in all */
			size_t tot = 0;
			int i;
			for (i = 0; i < niov; i++) {
				if (tot + iov[i].iov_len > n)
					iov[i].iov_len = n - tot;
				tot += iov[i].iov_len;
			}
		}
		memset(&mh, 0, sizeof mh);
		mh.msg_iov = iov;
		mh.msg_iovlen = (size_t)niov;
		if (withfd) {
			struct cmsghdr *cmsg;
			memset(&cm, 0, sizeof cm);
			mh.msg_control = cm.buf;
			mh.msg_controllen = sizeof cm.buf;
			cmsg = CMSG_FIRSTHDR(&mh);
			cmsg->cmsg_level = SOL_SOCKET;
			cmsg->cmsg_type = SCM_RIGHTS;
			cmsg->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(cmsg), &q->fd, sizeof(int));
		}
		r = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				event_add(c->wev, NULL);
				return;
			}
			if (errno == EINTR)
				continue;
			log_debug("%s: client pid %d: sendmsg: %s", __func__,
			    (int)c->cred.pid, strerror(errno));
			client_close(c);
			return;
		}
		if (withfd) {
			STAILQ_REMOVE_HEAD(&c->fdq, entry);
			close(q->fd);
			free(q);
			share_fd(c->u, -1);
		}
		evbuffer_drain(c->out, (size_t)r);
		c->sent += (uint64_t)r;
		share_out(c->u, -(int64_t)r);
		if (!TAILQ_EMPTY(&ctl.blocked))
			shares_freed();
	}
	event_del(c->wev);
	if (c->closing) {
		client_close(c);
		return;
	}
	if (c->paused && c->pending == NULL && !c->blocked) {
		/* resume, and parse what is already buffered */
		c->paused = 0;
		event_add(c->rev, NULL);
		event_active(c->rev, EV_READ, 0);
	}
}

struct creq *
creq_new(struct client *c, uint16_t op)
{
	struct creq *q = malloc(sizeof *q);

	if (q == NULL) {
		reply(c, op, ENOMEM, NULL, "out of memory", 13, -1);
		return NULL;
	}
	q->c = c;
	q->op = op;
	c->pending = q;
	c->paused = 1;		/* one request at a time: replies stay in order */
	event_del(c->rev);
	return q;
}

struct client *
creq_client(struct creq *q)
{
	return q->c;
}

const struct cred *
client_cred(struct client *c)
{
	return &c->cred;
}

struct segd *
client_segd(struct client *c)
{
	return c->sd;
}

void **
client_slot(struct client *c, enum client_slot which)
{
	return &c->slots[which];
}

/* Answered: free q, let the client be read again, send. */
static void
creq_finish(struct creq *q)
{
	struct client *c = q->c;

	free(q);
	if (c == NULL)
		return;
	c->pending = NULL;
	event_active(c->wev, EV_WRITE, 0);	/* flush from the loop, not here */
}

void
creq_reply(struct creq *q, const struct segw_info *info, const char *text,
    size_t textlen, int fd)
{
	if (q->c != NULL)
		reply(q->c, q->op, 0, info, text, textlen, fd);
	else if (fd >= 0)
		close(fd);
	creq_finish(q);
}

void
creq_reply_raw(struct creq *q, const void *p, size_t n)
{
	if (q->c != NULL)
		client_reply_raw(q->c, q->op, p, n);
	creq_finish(q);
}

void
creq_stream(struct creq *q, uint16_t op, const struct segw_info *info,
    const char *text, size_t textlen)
{
	if (q->c != NULL)
		reply(q->c, op, 0, info, text, textlen, -1);
}

void
creq_end(struct creq *q)
{
	creq_finish(q);
}

void
creq_fail(struct creq *q, int code, const char *fmt, ...)
{
	struct segerr e;
	va_list ap;

	va_start(ap, fmt);
	vseterr(&e, code, fmt, ap);
	va_end(ap);
	creq_fail_err(q, &e);
}

void
creq_fail_err(struct creq *q, const struct segerr *e)
{
	if (q->c != NULL)
		client_reply_err(q->c, q->op, e);
	creq_finish(q);
}

/*
 * The version handshake: HELLO with a version this segd serves, first.
 * 0 when the client may go on; -1 when it was answered with an error and
 * will be closed once that is sent.
 */
static int
client_hello(struct client *c, uint16_t op, const struct segw_req *r)
{
	uint8_t buf[sizeof(struct segw_version_wire)];
	struct segerr e;

	if (op != SEGW_HELLO && c->hello)
		return 0;
	if (op != SEGW_HELLO)
		seterr(&e, EPROTO, "protocol version mismatch: the client speaks "
		    "version 1 (no version handshake), this segd speaks %u to "
		    "%u: rebuild the program with this segd's libseg",
		    SEGW_VERSION_MIN, SEGW_VERSION);
	else if (r->arg < SEGW_VERSION_MIN || r->arg > SEGW_VERSION)
		seterr(&e, EPROTO, "protocol version mismatch: the client speaks "
		    "version %u, this segd speaks %u to %u: use a libseg and "
		    "segd of the same release", r->arg, SEGW_VERSION_MIN,
		    SEGW_VERSION);
	else {
		c->hello = 1;
		client_reply_raw(c, op, buf, segw_version_encode(buf, sizeof buf,
		    SEGW_VERSION));
		return -1;	/* answered: nothing more to do for it */
	}
	log_warnx("%s: client pid %d uid %u: %s", __func__, (int)c->cred.pid,
	    (unsigned)c->cred.uid, e.msg);
	client_reply_err(c, op, &e);
	c->closing = 1;
	event_del(c->rev);
	return -1;
}

/* One whole frame of h.len payload bytes at p, decoded and handed over. */
static int
client_frame(struct client *c, const struct segw_hdr *h, const uint8_t *p)
{
	static struct segw_iov iov[SEGW_IO_MAXN];
	static struct segw_addrs addrs;
	struct segw_io io = { .iov = iov };
	struct segw_atomic at;
	struct segw_req r;
	const char *why = NULL;

	switch (h->op) {
	case SEGW_LISTENT:
	case SEGW_LISTEND:
		why = "sent a reply-only operation";
		break;
	case SEGW_IO:
		if (segw_io_decode(p, h->len, &io, &why) < 0)
			break;
		if (client_hello(c, h->op, NULL) == 0)
			ctl.ops->io(c, &io);
		return 0;
	case SEGW_ATOMIC:
		if (segw_atomic_decode(p, h->len, &at, &why) < 0)
			break;
		if (client_hello(c, h->op, NULL) == 0)
			ctl.ops->atomic(c, &at);
		return 0;
	case SEGW_ZFREE:
	case SEGW_RFREE:
		if (segw_addrs_decode(p, h->len, &addrs, &why) < 0)
			break;
		if (client_hello(c, h->op, NULL) == 0)
			ctl.ops->addrs(c, h->op, &addrs);
		return 0;
	default:
		if (segw_req_decode(h->op, p, h->len, &r, &why) < 0)
			break;
		if (client_hello(c, h->op, &r) == 0)
			ctl.ops->request(c, h->op, &r);
		return 0;
	}
	client_drop(c, why);
	return -1;
}

/* Part of a frame is in: it must end within the idle timeout.  0. */
static int
idle_arm(struct client *c)
{
	struct timeval tv;

	if (!evtimer_pending(c->idle, NULL)) {
		tv.tv_sec = ctl.lim->idle_ms / 1000;
		tv.tv_usec = (ctl.lim->idle_ms % 1000) * 1000;
		evtimer_add(c->idle, &tv);
	}
	return 0;
}

static void
client_idle_cb(int fd, short ev, void *arg)
{
	struct client *c = arg;
	char why[96];

	(void)fd;
	(void)ev;
	snprintf(why, sizeof why, "a frame begun was not finished within %u ms",
	    ctl.lim->idle_ms);
	client_drop(c, why);
}

/* Take every whole frame from the input; 0, or -1 if the client was dropped. */
static int
client_parse(struct client *c)
{
	uint8_t hb[SEGW_HDRLEN];
	size_t out0 = evbuffer_get_length(c->out);

	for (;;) {
		struct segw_hdr h;
		const char *why = NULL;
		size_t avail = evbuffer_get_length(c->in);
		long need;
		uint8_t *p;

		if (evbuffer_get_length(c->out) > CLIENT_OUT_HIGH ||
		    share_full(c->u)) {
			event_del(c->rev);	/* until replies are read */
			evtimer_del(c->idle);	/* its frame waits for segd */
			c->paused = 1;
			if (share_full(c->u) && !c->blocked) {
				c->blocked = 1;
				TAILQ_INSERT_TAIL(&ctl.blocked, c, bentry);
			}
			return 0;
		}
		if (avail == 0) {
			evtimer_del(c->idle);
			return 0;
		}
		if (avail < SEGW_HDRLEN)
			return idle_arm(c);
		evbuffer_copyout(c->in, hb, SEGW_HDRLEN);
		if ((need = segw_hdr_parse(hb, avail, &h, &why)) < 0) {
			client_drop(c, why);
			return -1;
		}
		if (avail < (size_t)need)
			return idle_arm(c);
		p = evbuffer_pullup(c->in, need);
		if (client_frame(c, &h, p + SEGW_HDRLEN) < 0)
			return -1;
		evbuffer_drain(c->in, (size_t)need);
		evtimer_del(c->idle);	/* a whole frame: the clock restarts */
		if (c->pending != NULL || c->closing)
			return 0;	/* the rest waits for its answer */
		if (evbuffer_get_length(c->out) >= out0 + TURN_OUT) {
			/* others' turn: the rest in a later round of the loop */
			event_active(c->rev, EV_READ, 0);
			return 0;
		}
	}
}

static void
client_read_cb(int fd, short ev, void *arg)
{
	struct client *c = arg;
	int n;

	(void)fd;
	(void)ev;
	if (evbuffer_get_length(c->in) >= IN_HIGH) {	/* parse what it has */
		if (client_parse(c) == 0)
			client_flush(c);
		return;
	}
	n = evbuffer_read(c->in, c->fd, READ_CHUNK);
	if (n == 0) {
		client_close(c);
		return;
	}
	if (n < 0 && errno != EAGAIN && errno != EINTR) {
		log_debug("%s: client pid %d: read: %s", __func__,
		    (int)c->cred.pid, strerror(errno));
		client_close(c);
		return;
	}
	if (client_parse(c) < 0)
		return;
	client_flush(c);
}

static void
client_write_cb(int fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	client_flush(arg);
}

static void
accept_resume_cb(int fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	event_add(ctl.ev, NULL);
}

/* One new connection: a client, or refused. */
static void
accept_one(struct segd *sd, int fd)
{
	struct client *c;

	if ((c = calloc(1, sizeof *c)) == NULL)
		goto fail;
	c->sd = sd;
	c->fd = fd;
	STAILQ_INIT(&c->fdq);
	if (cred_from_socket(fd, &c->cred) < 0) {
		log_warn("%s: SO_PEERCRED", __func__);
		goto fail;
	}
	if ((c->u = share_join(&c->cred)) == NULL)
		goto fail;	/* over a share (logged), or out of memory */
	c->in = evbuffer_new();
	c->out = evbuffer_new();
	c->rev = event_new(sd->base, fd, EV_READ | EV_PERSIST, client_read_cb, c);
	c->wev = event_new(sd->base, fd, EV_WRITE, client_write_cb, c);
	c->idle = evtimer_new(sd->base, client_idle_cb, c);
	if (c->in == NULL || c->out == NULL || c->rev == NULL ||
	    c->wev == NULL || c->idle == NULL) {
		share_leave(c->u);
		goto fail;
	}
	TAILQ_INSERT_TAIL(&ctl.clients, c, entry);
	ctl.nclients++;
	event_add(c->rev, NULL);
	log_debug("%s: client pid %d uid %u", __func__, (int)c->cred.pid,
	    (unsigned)c->cred.uid);
	return;
fail:
	if (c != NULL) {
		if (c->rev)
			event_free(c->rev);
		if (c->wev)
			event_free(c->wev);
		if (c->idle)
			event_free(c->idle);
		if (c->in)
			evbuffer_free(c->in);
		if (c->out)
			evbuffer_free(c->out);
		free(c);
	}
	close(fd);
}

static void
accept_cb(int lfd, short ev, void *arg)
{
	int fd, i;

	(void)ev;
	for (i = 0; i < ACCEPT_BATCH; i++) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOMEM || errno == ENOBUFS) {
				struct timeval tv = { 1, 0 };
				log_warn("%s: accept", __func__);
				event_del(ctl.ev);  /* back off instead of spinning */
				evtimer_add(ctl.pause, &tv);
			}
			return;
		}
		accept_one(arg, fd);
	}
}

/* Refuse to steal the socket of a segd that is still running. */
static int
socket_in_use(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), r;

	if (fd < 0)
		return 0;
	r = connect(fd, (const struct sockaddr *)sun, sizeof *sun) == 0;
	close(fd);
	return r;
}

/* The socket's directory: made if missing, and no other user's to change. */
static int
socket_dir(const char *path)
{
	char dir[sizeof ((struct sockaddr_un *)0)->sun_path], *slash;
	struct segerr e;

	snprintf(dir, sizeof dir, "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL)
		snprintf(dir, sizeof dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		log_warn("%s: mkdir %s", __func__, dir);
		return -1;
	}
	if (store_dir_safe("socket directory", dir, &e) < 0) {
		log_warnx("%s: %s", __func__, e.msg);
		return -1;
	}
	return 0;
}

/*
 * What is at the socket path: nothing, or the socket of a segd that is
 * gone (unlinked).  A live socket, or anything but a socket, is refused:
 * segd unlinks nothing else.
 */
static int
socket_clear(const struct sockaddr_un *sun)
{
	struct stat sb;

	if (lstat(sun->sun_path, &sb) < 0) {
		if (errno == ENOENT)
			return 0;
		log_warn("%s: lstat %s", __func__, sun->sun_path);
		return -1;
	}
	if (!S_ISSOCK(sb.st_mode)) {
		log_warnx("%s: %s exists and is not a socket: not removed; "
		    "remove it or choose another path", __func__, sun->sun_path);
		return -1;
	}
	if (socket_in_use(sun)) {
		log_warnx("%s: %s: another segd is serving this socket",
		    __func__, sun->sun_path);
		return -1;
	}
	if (unlink(sun->sun_path) < 0) {
		log_warn("%s: unlink %s", __func__, sun->sun_path);
		return -1;
	}
	return 0;
}

/* The accept events and the shares: undone by a failed init and by shutdown. */
static void
ctl_events_free(void)
{
	if (ctl.ev)
		event_free(ctl.ev);
	if (ctl.pause)
		event_free(ctl.pause);
	share_shutdown();
	ctl.ev = ctl.pause = NULL;
}

int
client_init(struct segd *sd, const struct client_ops *ops)
{
	struct sockaddr_un sun;
	mode_t mask;
	int r;

	TAILQ_INIT(&ctl.clients);
	TAILQ_INIT(&ctl.blocked);
	ctl.ops = ops;
	ctl.lim = &sd->clim;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(sd->sockpath) >= sizeof sun.sun_path) {
		log_warnx("%s: socket path too long: %s", __func__, sd->sockpath);
		return -1;
	}
	strcpy(sun.sun_path, sd->sockpath);
	if (socket_dir(sd->sockpath) < 0 || socket_clear(&sun) < 0)
		return -1;
	ctl.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ctl.fd < 0) {
		log_warn("%s: socket", __func__);
		return -1;
	}
	/*
	 * Every local user may connect; access is decided per segment.  The
	 * mode comes from the umask at bind, so the socket has it from the
	 * moment it exists (a chmod after bind would follow a link raced in).
	 */
	mask = umask(0111);
	r = bind(ctl.fd, (struct sockaddr *)&sun, sizeof sun);
	umask(mask);
	if (r < 0) {
		log_warn("%s: bind %s", __func__, sd->sockpath);
		goto fail;
	}
	if (listen(ctl.fd, 128) < 0) {
		log_warn("%s: listen", __func__);
		goto fail_unlink;
	}
	ctl.ev = event_new(sd->base, ctl.fd, EV_READ | EV_PERSIST, accept_cb, sd);
	ctl.pause = evtimer_new(sd->base, accept_resume_cb, NULL);
	if (ctl.ev == NULL || ctl.pause == NULL || share_init(sd) < 0 ||
	    event_add(ctl.ev, NULL) < 0) {
		log_warnx("%s: event_new failed", __func__);
		goto fail_events;
	}
	return 0;
fail_events:
	ctl_events_free();
fail_unlink:
	unlink(sd->sockpath);
fail:
	close(ctl.fd);
	ctl.fd = -1;
	return -1;
}

void
client_shutdown(struct segd *sd)
{
	struct client *c;

	while ((c = TAILQ_FIRST(&ctl.clients)) != NULL)
		client_close(c);
	ctl_events_free();
	if (ctl.fd >= 0) {
		close(ctl.fd);
		unlink(sd->sockpath);
	}
	ctl.fd = -1;
}
