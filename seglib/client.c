/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * client.c: libseg's connection to the local segd.  One connection per
 * process, shared by its threads under a mutex; a child after fork makes its
 * own.  Requests and replies are the frames of proto/segwire.h.
 */
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libseg.h"

/* seg.h's numbers are the wire's */
_Static_assert(SEG_NAMELEN == SEG_NAMEMAX, "segment name length");
_Static_assert(SEG_PORT == SEGP_PORT, "default port");
_Static_assert(SEG_FREE_BATCH == SEGW_ADDRS_MAX, "addresses in one free");
_Static_assert(SEG_RONLY == SEGW_ATTR_RONLY && SEG_CEXEC == SEGW_ATTR_CEXEC,
    "attach attributes");

static pthread_mutex_t conn_lock = PTHREAD_MUTEX_INITIALIZER;
static int   conn_fd = -1;
static pid_t conn_pid;
static unsigned conn_gen;	/* connections this process has made */

static int send_all(int, const uint8_t *, size_t, const uint8_t *, size_t);
static int recv_all(int, uint8_t *, size_t, int *);

/*
 * The version handshake, first on a new connection: HELLO with the version
 * this libseg speaks; segd answers with its own, or with an error naming
 * both.  A segd older than the handshake closes the connection instead.
 */
static int
conn_hello(int fd)
{
	uint8_t req[sizeof(struct segw_req_wire)], hb[SEGW_HDRLEN];
	uint8_t body[SEGW_MAXTEXT + sizeof(struct segw_info_wire)];
	struct segw_hdr h = { 0, SEGW_HELLO, 0 };
	struct segw_req r;
	const char *why;
	uint32_t v;
	int rfd = -1, rc;

	memset(&r, 0, sizeof r);
	r.arg = SEGW_VERSION;
	h.len = (uint32_t)segw_req_encode(req, sizeof req, &r);
	segw_hdr_encode(hb, &h);
	if (send_all(fd, hb, sizeof hb, req, h.len) < 0 ||
	    recv_all(fd, hb, sizeof hb, &rfd) < 0) {
		if (errno == ECONNRESET || errno == EPIPE)
			return seg_seterr(EPROTO, "protocol version mismatch: segd "
			    "closed the connection at the version handshake; it "
			    "is older than this libseg, which speaks version %u",
			    SEGW_VERSION);
		return seg_seterr(errno, "segd handshake: %s", strerror(errno));
	}
	if (segw_hdr_parse(hb, sizeof hb, &h, &why) < 0 ||
	    h.op != SEGW_HELLO || h.len > sizeof body)
		return seg_seterr(EPROTO, "bad handshake reply from segd");
	rc = recv_all(fd, body, h.len, &rfd);
	if (rfd >= 0)
		close(rfd);
	if (rc < 0)
		return seg_seterr(errno, "segd handshake: %s", strerror(errno));
	if (h.status != 0)
		return seg_seterr_text(h.status, (const char *)body, h.len);
	if (segw_version_decode(body, h.len, &v) < 0 || v != SEGW_VERSION)
		return seg_seterr(EPROTO, "bad handshake reply from segd");
	return 0;
}

static int
conn_open(void)
{
	struct sockaddr_un sun;
	struct timeval tv = { SEG_CALL_TIMEOUT_S, 0 };
	int fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (seg_default_socket(sun.sun_path, sizeof sun.sun_path) < 0)
		return seg_seterr(errno, "no segd socket: set SEGD_SOCKET or "
		    "XDG_RUNTIME_DIR");
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return seg_seterr(errno, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
		int err = errno;
		close(fd);
		return seg_seterr(err, "cannot reach segd at %s: %s",
		    sun.sun_path, strerror(err));
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (conn_hello(fd) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Under conn_lock. */
static int
conn_get(void)
{
	if (conn_fd >= 0 && conn_pid == getpid())
		return conn_fd;
	if (conn_fd >= 0)	/* inherited across fork: the parent's */
		close(conn_fd);
	conn_fd = -1;
	conn_fd = conn_open();
	conn_pid = getpid();
	if (conn_fd >= 0)
		__atomic_add_fetch(&conn_gen, 1, __ATOMIC_RELEASE);
	return conn_fd;
}

unsigned
seg_conn_gen(void)
{
	return __atomic_load_n(&conn_gen, __ATOMIC_ACQUIRE);
}

static void
conn_reset(void)
{
	if (conn_fd >= 0)
		close(conn_fd);
	conn_fd = -1;
}

/*
 * Whether segd has closed this process's connection (it exited): then it
 * is let go, and the next call connects anew (seg_conn_gen changes).
 */
int
seg_conn_lost(void)
{
	struct pollfd pfd;
	int lost;

	pthread_mutex_lock(&conn_lock);
	pfd.fd = conn_fd;
	pfd.events = POLLRDHUP;
	pfd.revents = 0;
	lost = conn_fd < 0 || conn_pid != getpid() ||
	    (poll(&pfd, 1, 0) > 0 &&
	    (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)));
	if (lost && conn_pid == getpid())
		conn_reset();
	pthread_mutex_unlock(&conn_lock);
	return lost;
}

/*
 * A frame's header and payload in one sendmsg (then the rest, if the socket
 * took only part): segd wakes once per request instead of twice.
 */
static int
send_all(int fd, const uint8_t *h, size_t hn, const uint8_t *p, size_t n)
{
	struct iovec iov[2] = { { (void *)h, hn }, { (void *)p, n } };
	struct msghdr mh;
	int i = 0;

	memset(&mh, 0, sizeof mh);
	while (i < 2) {
		ssize_t w;

		if (iov[i].iov_len == 0) {
			i++;
			continue;
		}
		mh.msg_iov = &iov[i];
		mh.msg_iovlen = (size_t)(2 - i);
		if ((w = sendmsg(fd, &mh, MSG_NOSIGNAL)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		while (w > 0 && i < 2) {
			size_t k = (size_t)w < iov[i].iov_len ? (size_t)w :
			    iov[i].iov_len;
			iov[i].iov_base = (uint8_t *)iov[i].iov_base + k;
			iov[i].iov_len -= k;
			w -= (ssize_t)k;
			if (iov[i].iov_len == 0)
				i++;
		}
	}
	return 0;
}

/* Exactly n bytes; a descriptor that arrives is kept in *fdp (or closed). */
static int
recv_all(int fd, uint8_t *p, size_t n, int *fdp)
{
	while (n > 0) {
		union {
			struct cmsghdr align;
			char buf[CMSG_SPACE(sizeof(int) * 4)];
		} cm;
		struct iovec iov = { p, n };
		struct msghdr mh;
		struct cmsghdr *c;
		ssize_t r;

		memset(&mh, 0, sizeof mh);
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof cm.buf;
		r = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				errno = ETIMEDOUT;
			return -1;
		}
		if (r == 0) {
			errno = ECONNRESET;
			return -1;
		}
		for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			size_t i, nfd;
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (i = 0; i < nfd; i++) {
				int got;
				memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof got);
				if (*fdp < 0)
					*fdp = got;
				else
					close(got);
			}
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* One reply frame: header, payload (at most SEGW_MAXPAYLOAD), descriptor. */
static int
recv_frame(int fd, struct segw_hdr *h, uint8_t *payload, int *fdp)
{
	uint8_t hb[SEGW_HDRLEN];
	const char *why;

	*fdp = -1;
	if (recv_all(fd, hb, sizeof hb, fdp) < 0)
		goto ioerr;
	if (segw_hdr_parse(hb, sizeof hb, h, &why) < 0) {
		errno = EPROTO;
		goto protoerr;
	}
	if (recv_all(fd, payload, h->len, fdp) < 0)
		goto ioerr;
	return 0;
ioerr:
	if (*fdp >= 0)
		close(*fdp);
	*fdp = -1;
	conn_reset();
	if (errno == ETIMEDOUT)
		return seg_seterr(ETIMEDOUT, "segd did not answer within %d s",
		    SEG_CALL_TIMEOUT_S);
	return seg_seterr(errno, "lost the connection to segd: %s",
	    strerror(errno));
protoerr:
	if (*fdp >= 0)
		close(*fdp);
	*fdp = -1;
	conn_reset();
	return seg_seterr(EPROTO, "bad reply from segd: %s", why);
}

/* Send a frame, reconnecting once if segd was restarted. Under conn_lock. */
static int
send_frame(uint16_t op, const uint8_t *payload, size_t n)
{
	uint8_t hb[SEGW_HDRLEN];
	struct segw_hdr h = { (uint32_t)n, op, 0 };
	int fd, tries;

	if (n > SEGW_MAXPAYLOAD)
		return seg_seterr(EINVAL, "request too long");
	segw_hdr_encode(hb, &h);
	for (tries = 0; tries < 2; tries++) {
		if ((fd = conn_get()) < 0)
			return -1;
		if (send_all(fd, hb, sizeof hb, payload, n) == 0)
			return fd;
		if (errno != EPIPE && errno != ECONNRESET && errno != ENOTCONN)
			break;
		conn_reset();
	}
	{
		int err = errno;
		conn_reset();
		return seg_seterr(err, "send to segd: %s", strerror(err));
	}
}

static int
reply_error(const struct segw_hdr *h, const uint8_t *payload)
{
	return seg_seterr_text(h->status, (const char *)payload, h->len);
}

int
seg_call_raw(uint16_t op, const void *req, size_t reqlen, void *rsp,
    size_t rspsize, size_t *rsplen, int *fdp)
{
	uint8_t *payload;
	struct segw_hdr h;
	int fd, rfd = -1, rc = -1;

	if (fdp)
		*fdp = -1;
	if ((payload = malloc(SEGW_MAXPAYLOAD)) == NULL)
		return seg_seterr(ENOMEM, "out of memory");
	pthread_mutex_lock(&conn_lock);
	if ((fd = send_frame(op, req, reqlen)) < 0)
		goto out;
	if (recv_frame(fd, &h, payload, &rfd) < 0)
		goto out;
	if (h.op != op) {
		conn_reset();
		seg_seterr(EPROTO, "bad reply from segd: operation %u for %u",
		    h.op, op);
		goto out;
	}
	if (h.status != 0) {
		reply_error(&h, payload);
		goto out;
	}
	if (h.len > rspsize) {
		seg_seterr(EPROTO, "bad reply from segd: %u bytes", h.len);
		goto out;
	}
	memcpy(rsp, payload, h.len);
	*rsplen = h.len;
	if (fdp) {
		*fdp = rfd;
		rfd = -1;
	}
	rc = 0;
out:
	if (rfd >= 0)
		close(rfd);
	pthread_mutex_unlock(&conn_lock);
	free(payload);
	return rc;
}

int
seg_call(uint16_t op, const struct segw_req *req, struct segw_info *info,
    char *text, size_t *textlen, int *fdp)
{
	uint8_t rb[sizeof(struct segw_req_wire) + SEGW_MAXTEXT];
	uint8_t rsp[sizeof(struct segw_info_wire) + SEGW_MAXTEXT];
	struct segw_info tmp;
	const char *t, *why;
	size_t n, rl, tl;
	int fd;

	if ((n = segw_req_encode(rb, sizeof rb, req)) == 0)
		return seg_seterr(EINVAL, "request too long");
	if (seg_call_raw(op, rb, n, rsp, sizeof rsp, &rl, &fd) < 0)
		return -1;
	if (segw_info_decode(rsp, rl, info ? info : &tmp, &t, &tl, &why) < 0) {
		if (fd >= 0)
			close(fd);
		return seg_seterr(EPROTO, "bad reply from segd: %s", why);
	}
	if (text != NULL && textlen != NULL) {
		if (tl > *textlen)
			tl = *textlen;
		memcpy(text, t, tl);
		*textlen = tl;
	}
	if (fdp)
		*fdp = fd;
	else if (fd >= 0)
		close(fd);
	return 0;
}

int
seg_call_list(uint16_t op, const struct segw_req *req,
    int (*fn)(const struct segw_info *, const char *, size_t, void *),
    void *arg)
{
	uint8_t rb[sizeof(struct segw_req_wire) + SEGW_MAXTEXT];
	uint8_t *payload;
	struct segw_hdr h;
	struct segw_info info;
	const char *why, *t;
	size_t n, tl;
	int fd, rfd, rc = -1, failed = 0;

	if ((n = segw_req_encode(rb, sizeof rb, req)) == 0)
		return seg_seterr(EINVAL, "request too long");
	if ((payload = malloc(SEGW_MAXPAYLOAD)) == NULL)
		return seg_seterr(ENOMEM, "out of memory");
	pthread_mutex_lock(&conn_lock);
	if ((fd = send_frame(op, rb, n)) < 0)
		goto out;
	for (;;) {
		if (recv_frame(fd, &h, payload, &rfd) < 0)
			goto out;
		if (rfd >= 0)
			close(rfd);
		if (h.status != 0 && (h.op == op || h.op == SEGW_LISTEND)) {
			reply_error(&h, payload);
			goto out;
		}
		if (h.op == SEGW_LISTEND)
			break;
		if (h.op != SEGW_LISTENT || segw_info_decode(payload, h.len,
		    &info, &t, &tl, &why) < 0) {
			conn_reset();
			seg_seterr(EPROTO, "bad reply from segd to a list");
			goto out;
		}
		if (!failed && fn(&info, t, tl, arg) < 0)
			failed = 1;	/* keep reading to the end of the list */
	}
	rc = failed ? -1 : 0;
out:
	pthread_mutex_unlock(&conn_lock);
	free(payload);
	return rc;
}

int
seg_text_append(struct seg_textacc *a, const char *t, size_t tl)
{
	if (a->len + tl + 1 > a->size)
		return -1;
	memcpy(a->buf + a->len, t, tl);
	a->len += tl;
	a->buf[a->len] = '\0';
	return 0;
}

ssize_t
seg_call_text(uint16_t op, char *buf, size_t size,
    int (*add)(const struct segw_info *, const char *, size_t, void *))
{
	struct seg_textacc a = { buf, size, 0 };
	struct segw_req r;

	if (buf == NULL || size == 0)
		return seg_seterr(EINVAL, "bad arguments");
	buf[0] = '\0';
	memset(&r, 0, sizeof r);
	if (seg_call_list(op, &r, add, &a) < 0)
		return -1;
	return (ssize_t)a.len;
}

int
seg_call_a(uint16_t op, uint64_t a)
{
	struct segw_req r;

	memset(&r, 0, sizeof r);
	r.a = a;
	return seg_call(op, &r, NULL, NULL, NULL, NULL);
}

int
seg_call_name(uint16_t op, const char *name)
{
	struct segw_req r;

	if (seg_req_name(&r, name) < 0)
		return -1;
	return seg_call(op, &r, NULL, NULL, NULL, NULL);
}

int
seg_req_name(struct segw_req *r, const char *name)
{
	memset(r, 0, sizeof *r);
	if (name == NULL || !seg_name_valid(name))
		return seg_seterr(EINVAL, "bad segment name '%.*s': use 1 to %d "
		    "of [A-Za-z0-9._-]", SEG_NAMEMAX, name ? name : "",
		    SEG_NAMEMAX);
	strcpy(r->name, name);
	return 0;
}
