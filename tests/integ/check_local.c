/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * check_local.c: the local service end to end, with a real segd per test:
 * the spec's example, sharing between processes, remove while attached, a
 * client killed while attached, 1,000 segments, garbage on the socket, a
 * second user refused by mode, and segd's restart.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "seg.h"
#include "segwire.h"

#define NOBODY 65534

/* "attached 0x..." from a segpeer; the address. */
static unsigned long
peer_attached(struct h_proc *p)
{
	char line[256];
	unsigned long va = 0;

	ck_assert_msg(h_readline(p, line, sizeof line, h_peer_ms()) >= 0,
	    "segpeer said nothing (got '%s')", line);
	ck_assert_msg(sscanf(line, "attached %lx", &va) == 1,
	    "segpeer: expected 'attached ADDR', got '%s'", line);
	return va;
}

/* ---- the spec's example ---- */

START_TEST(example_segctl)
{
	struct h_run r;
	char line[256];
	size_t i;
	char *va;

	ck_assert_int_eq(h_segctl(&r, NULL, 0, "create", "example", NULL), 0);
	h_run_free(&r);
	ck_assert_int_eq(h_segctl(&r, NULL, 0, "ctl", "example",
	    "va 0x10000000 0x100000", NULL), 0);
	h_run_free(&r);
	ck_assert_int_eq(h_segctl(&r, "hi mom", 6, "write", "example", NULL), 0);
	ck_assert_uint_eq(r.errlen, 0);
	h_run_free(&r);

	ck_assert_int_eq(h_segctl(&r, NULL, 0, "read", "example", "0", "6",
	    NULL), 0);
	ck_assert_uint_eq(r.outlen, 6);
	ck_assert_str_eq(r.out, "hi mom");
	h_run_free(&r);

	/* the whole segment: a megabyte, "hi mom" and then zeros */
	ck_assert_int_eq(h_segctl(&r, NULL, 0, "read", "example", NULL), 0);
	ck_assert_uint_eq(r.outlen, 0x100000);
	ck_assert_int_eq(memcmp(r.out, "hi mom", 6), 0);
	for (i = 6; i < r.outlen && r.out[i] == 0; i++)
		;
	ck_assert_uint_eq(i, r.outlen);
	h_run_free(&r);

	ck_assert_int_eq(h_segctl(&r, NULL, 0, "ctl", "example", NULL), 0);
	ck_assert_str_eq(r.out, "va 0x10000000 0x100000\n");
	h_run_free(&r);

	ck_assert_int_eq(h_segctl(&r, NULL, 0, "ls", NULL), 0);
	ck_assert_int_eq(h_ls_line(r.out, "example", line, sizeof line), 0);
	ck_assert_str_eq(line, "example va 0x10000000 0x100000 root 0660 0");
	h_run_free(&r);

	/* a libseg program: va = segattach(0, "example", 0, 0); */
	{
		struct h_proc p;
		h_peer(&p, "example", "r", "0", "6", NULL);
		ck_assert_uint_eq(peer_attached(&p), 0x10000000);
		h_expect(&p, "hi mom");
		ck_assert_int_eq(h_wait(&p, h_peer_ms()), 0);
	}
	/* and this process, with va and len ignored for a named segment */
	va = seg_attach(0, "example", (void *)0x12345000, 77);
	ck_assert_msg(va != NULL, "attach: %s", seg_errstr());
	ck_assert_ptr_eq(va, (void *)0x10000000);
	ck_assert_int_eq(memcmp(va, "hi mom", 6), 0);
	ck_assert_int_eq(h_nattach("example"), 1);
	ck_assert_int_eq(seg_detach(va), 0);
	ck_assert_int_eq(h_nattach("example"), 0);
}
END_TEST

/* ---- two processes at the same address ---- */

START_TEST(two_processes_share)
{
	struct h_proc a, b;
	char buf[8];
	struct h_run r;
	char line[256];

	h_make_seg("shared2", 0600, "va 0x18000000 0x2000");
	h_peer(&a, "shared2", "say", "up", "sync", "w", "0", "from-A",
	    "wait", "4096", "from-B", "r", "4096", "6", NULL);
	h_peer(&b, "shared2", "say", "up", "sync", "wait", "0", "from-A",
	    "w", "4096", "from-B", "r", "0", "6", NULL);
	ck_assert_uint_eq(peer_attached(&a), 0x18000000);
	ck_assert_uint_eq(peer_attached(&b), 0x18000000);
	h_expect(&a, "up");
	h_expect(&b, "up");
	ck_assert_int_eq(h_nattach("shared2"), 2);
	ck_assert_int_eq(h_segctl(&r, NULL, 0, "ls", NULL), 0);
	ck_assert_int_eq(h_ls_line(r.out, "shared2", line, sizeof line), 0);
	ck_assert_str_eq(line, "shared2 va 0x18000000 0x2000 root 0600 2");
	h_run_free(&r);
	h_writeline(&b, "go");
	h_writeline(&a, "go");
	h_expect(&a, "from-B");
	h_expect(&b, "from-A");
	ck_assert_int_eq(h_wait(&a, h_peer_ms()), 0);
	ck_assert_int_eq(h_wait(&b, h_peer_ms()), 0);
	/* segd sees both writes too, and both attachments ended with them */
	ck_assert_int_eq(seg_pread("shared2", buf, 6, 0), 6);
	ck_assert_int_eq(memcmp(buf, "from-A", 6), 0);
	ck_assert_int_eq(seg_pread("shared2", buf, 6, 4096), 6);
	ck_assert_int_eq(memcmp(buf, "from-B", 6), 0);
	ck_assert_int_eq(h_nattach("shared2"), 0);
}
END_TEST

/* ---- remove while attached ---- */

static int
not_mapped_in_segd(void *arg)
{
	return !h_mapped(h_segd, (unsigned long)(uintptr_t)arg, NULL);
}

START_TEST(remove_while_attached)
{
	struct h_run r;
	struct seg_info si;
	char line[256], path[512], buf[16];
	char *va;
	int i;

	h_make_seg("gone", 0600, "va 0x11000000 0x4000");
	va = seg_attach(0, "gone", 0, 0);
	ck_assert_msg(va != NULL, "attach: %s", seg_errstr());
	for (i = 0; i < 0x4000; i++)
		va[i] = (char)(i * 7);
	ck_assert_int_eq(h_segctl(&r, NULL, 0, "ls", NULL), 0);
	ck_assert_int_eq(h_ls_line(r.out, "gone", line, sizeof line), 0);
	ck_assert_str_eq(line, "gone va 0x11000000 0x4000 root 0600 1");
	h_run_free(&r);

	ck_assert_msg(seg_remove("gone") == 0, "remove: %s", seg_errstr());
	/* the name is gone at once */
	errno = 0;
	ck_assert_int_eq(seg_stat("gone", &si), -1);
	ck_assert_int_eq(errno, ENOENT);
	errno = 0;
	ck_assert_ptr_null(seg_attach(0, "gone", 0, 0));
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_msg(strstr(seg_errstr(), "does not exist") != NULL, "%s",
	    seg_errstr());
	errno = 0;
	ck_assert_int_eq(seg_pread("gone", buf, 1, 0), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(h_segctl(&r, NULL, 0, "ls", NULL), 0);
	ck_assert_int_eq(h_ls_line(r.out, "gone", line, sizeof line), -1);
	h_run_free(&r);
	ck_assert_int_eq(h_segctl(&r, NULL, 0, "stat", "gone", NULL), 1);
	ck_assert_str_eq(r.err, "segctl: gone: segment 'gone' does not exist\n");
	h_run_free(&r);
	snprintf(path, sizeof path, "%s/gone.seg", h_state);
	ck_assert_int_eq(access(path, F_OK), -1);

	/* the memory attached stays valid */
	for (i = 0; i < 0x4000; i++)
		ck_assert_int_eq(va[i], (char)(i * 7));
	memcpy(va + 0x3ff0, "still here", 10);
	ck_assert_int_eq(memcmp(va + 0x3ff0, "still here", 10), 0);

	/* its address stays reserved while attached: a new segment of the
	 * same name is a new segment and cannot take the range */
	ck_assert_int_eq(seg_create("gone", 0600), 0);
	errno = 0;
	ck_assert_int_eq(seg_ctl("gone", "va 0x11000000 0x1000"), -1);
	ck_assert_int_eq(errno, EADDRINUSE);
	ck_assert(h_mapped(h_segd, 0x11000000, NULL));

	/* after the last detach the memory is released */
	ck_assert_int_eq(seg_detach(va + 0x2345), 0);
	ck_assert_msg(h_until(not_mapped_in_segd, (void *)0x11000000, 10000),
	    "segd still maps the removed segment after its last detach");
	ck_assert_msg(seg_ctl("gone", "va 0x11000000 0x1000") == 0,
	    "the released range cannot be reused: %s", seg_errstr());
	ck_assert_int_eq(seg_pread("gone", buf, 10, 0xff0), 10);
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(buf[i], 0);	/* new memory, not the old */
}
END_TEST

/* ---- a client killed while attached ---- */

static int
no_attach(void *arg)
{
	return h_nattach(arg) == 0;
}

static int
one_attach(void *arg)
{
	return h_nattach(arg) == 1;
}

START_TEST(client_killed_while_attached)
{
	struct h_proc p, q;
	char buf[8];
	char *va;

	h_make_seg("victim", 0600, "va 0x19000000 0x1000");
	h_peer(&p, "victim", "w", "0", "alive", "say", "ready", "hold", NULL);
	h_peer(&q, "victim", "say", "ready", "hold", NULL);
	ck_assert_uint_eq(peer_attached(&p), 0x19000000);
	ck_assert_uint_eq(peer_attached(&q), 0x19000000);
	h_expect(&p, "ready");
	h_expect(&q, "ready");
	ck_assert_int_eq(h_nattach("victim"), 2);

	ck_assert_int_eq(kill(p.pid, SIGKILL), 0);
	ck_assert_int_eq(h_wait(&p, h_peer_ms()), 128 + SIGKILL);
	/* the count drops by the dead one, and only by it */
	ck_assert_msg(h_until(one_attach, "victim", 10000),
	    "attach count %d after one of two clients died",
	    h_nattach("victim"));
	ck_assert_int_eq(kill(q.pid, SIGKILL), 0);
	ck_assert_int_eq(h_wait(&q, h_peer_ms()), 128 + SIGKILL);
	ck_assert_msg(h_until(no_attach, "victim", 10000),
	    "attach count stays at %d after its clients died",
	    h_nattach("victim"));

	/* segd keeps serving: the data is there, and attaching works */
	ck_assert_int_eq(seg_pread("victim", buf, 5, 0), 5);
	ck_assert_int_eq(memcmp(buf, "alive", 5), 0);
	va = seg_attach(0, "victim", 0, 0);
	ck_assert_msg(va != NULL, "attach: %s", seg_errstr());
	ck_assert_int_eq(h_nattach("victim"), 1);
	ck_assert_int_eq(seg_detach(va), 0);
	h_make_seg("after", 0600, "va 0 0x1000");
	ck_assert_int_eq(seg_remove("victim"), 0);
	ck_assert_msg(!h_mapped(h_segd, 0x19000000, NULL),
	    "segd still maps a removed segment nobody has attached");
}
END_TEST

/* ---- 1,000 segments ---- */

#define NSEGS 1000

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

START_TEST(thousand_segments)
{
	static uint64_t vas[NSEGS];
	char name[32], msg[64], tag[32], buf[64], line[256];
	struct h_run r;
	size_t nlines;
	const char *p;
	int i;

	for (i = 0; i < NSEGS; i++) {
		snprintf(name, sizeof name, "n%04d", i);
		if (i % 2 == 0)	/* half at an address of ours, half picked */
			snprintf(msg, sizeof msg, "va 0x%llx 0x1000",
			    0x40000000ULL + (unsigned long long)i * 0x2000);
		else
			snprintf(msg, sizeof msg, "va 0 0x1000");
		h_make_seg(name, 0600, msg);
		snprintf(tag, sizeof tag, "segment %d", i);
		ck_assert_int_eq(seg_pwrite(name, tag, strlen(tag), i % 4000),
		    (ssize_t)strlen(tag));
	}
	for (i = 0; i < NSEGS; i++) {
		unsigned long long va, len;
		char verb[8];
		snprintf(name, sizeof name, "n%04d", i);
		snprintf(tag, sizeof tag, "segment %d", i);
		memset(buf, 0, sizeof buf);
		ck_assert_int_eq(seg_pread(name, buf, strlen(tag), i % 4000),
		    (ssize_t)strlen(tag));
		ck_assert_str_eq(buf, tag);
		ck_assert_int_gt(seg_ctl_read(name, buf, sizeof buf), 0);
		ck_assert_int_eq(sscanf(buf, "%7s %llx %llx", verb, &va, &len), 3);
		ck_assert_str_eq(verb, "va");
		ck_assert_uint_eq(len, 0x1000);
		if (i % 2 == 0)
			ck_assert_uint_eq(va, 0x40000000ULL + (unsigned)i * 0x2000);
		vas[i] = va;
	}
	/* every segment has its own page */
	qsort(vas, NSEGS, sizeof vas[0], cmp_u64);
	for (i = 1; i < NSEGS; i++)
		ck_assert_msg(vas[i - 1] + 0x1000 <= vas[i],
		    "segments at 0x%llx and 0x%llx overlap",
		    (unsigned long long)vas[i - 1], (unsigned long long)vas[i]);

	ck_assert_int_eq(h_segctl(&r, NULL, 0, "ls", NULL), 0);
	for (nlines = 0, p = r.out; (p = strchr(p, '\n')) != NULL; p++)
		nlines++;
	ck_assert_uint_eq(nlines, NSEGS);
	for (i = 0; i < NSEGS; i += 111) {
		snprintf(name, sizeof name, "n%04d", i);
		ck_assert_msg(h_ls_line(r.out, name, line, sizeof line) == 0,
		    "%s missing from ls", name);
		ck_assert_msg(strstr(line, " va 0x") != NULL &&
		    strstr(line, " 0x1000 root 0600 0") != NULL, "%s", line);
	}
	h_run_free(&r);

	for (i = 0; i < NSEGS; i++) {
		snprintf(name, sizeof name, "n%04d", i);
		ck_assert_int_eq(seg_remove(name), 0);
	}
	ck_assert_int_eq(h_segctl(&r, NULL, 0, "ls", NULL), 0);
	ck_assert_uint_eq(r.outlen, 0);
	h_run_free(&r);
}
END_TEST

/* ---- garbage on the socket ---- */

static size_t raw_req(uint8_t *, uint16_t, const char *, uint32_t);
static void raw_send(int, const void *, size_t);
static void raw_reply(int, struct segw_hdr *, const char *);
static void raw_ask(int, uint16_t, const char *, uint32_t, struct segw_hdr *,
    const char *);

/* A connection that has not said its protocol version yet. */
static int
raw_connect_bare(void)
{
	int fd = h_raw_connect();

	ck_assert_msg(fd >= 0, "connect %s: %s", h_sock, strerror(errno));
	return fd;
}

/* A connection past the version handshake. */
static int
raw_connect(void)
{
	struct segw_hdr h;
	int fd = raw_connect_bare();

	raw_ask(fd, SEGW_HELLO, "", SEGW_VERSION, &h, "hello");
	ck_assert_uint_eq(h.op, SEGW_HELLO);
	ck_assert_uint_eq(h.status, 0);
	return fd;
}

static void
raw_send(int fd, const void *p, size_t n)
{
	ck_assert_int_eq(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

static size_t
raw_frame(uint8_t *out, uint32_t len, uint16_t op)
{
	struct segw_hdr h = { len, op, 0 };

	segw_hdr_encode(out, &h);
	return SEGW_HDRLEN;
}

/* A well-formed request for op on name. */
static size_t
raw_req(uint8_t *out, uint16_t op, const char *name, uint32_t arg)
{
	size_t n = h_req_frame(out, SEGW_HDRLEN + SEGW_MAXPAYLOAD, op, name,
	    arg);

	ck_assert_uint_gt(n, 0);
	return n;
}

/* Read one reply frame; its header.  The payload is skipped. */
static void
raw_reply(int fd, struct segw_hdr *h, const char *what)
{
	uint8_t buf[SEGW_HDRLEN + SEGW_MAXPAYLOAD];
	size_t got = 0, need = SEGW_HDRLEN;
	const char *why;
	long n = 0;

	while (got < need) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		ssize_t r;
		ck_assert_msg(poll(&pfd, 1, h_peer_ms()) == 1, "%s: no reply from "
		    "segd", what);
		r = recv(fd, buf + got, need - got, 0);
		ck_assert_msg(r > 0, "%s: segd closed the connection", what);
		got += (size_t)r;
		if (got == SEGW_HDRLEN && need == SEGW_HDRLEN) {
			n = segw_hdr_parse(buf, got, h, &why);
			ck_assert_msg(n > 0, "%s: bad reply header", what);
			need = (size_t)n;
		}
	}
}

/* A well-formed request for op on name, and its reply's header. */
static void
raw_ask(int fd, uint16_t op, const char *name, uint32_t arg,
    struct segw_hdr *h, const char *what)
{
	static uint8_t f[SEGW_HDRLEN + SEGW_MAXPAYLOAD];

	raw_send(fd, f, raw_req(f, op, name, arg));
	raw_reply(fd, h, what);
}

/* segd closes the connection: EOF (or a reset) within the bound. */
static void
raw_dropped(int fd, const char *what)
{
	char buf[256];

	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		ssize_t r;
		ck_assert_msg(poll(&pfd, 1, h_peer_ms()) == 1,
		    "segd did not drop a client that sent %s", what);
		r = recv(fd, buf, sizeof buf, 0);
		if (r == 0 || (r < 0 && errno == ECONNRESET))
			break;
		ck_assert_msg(r > 0, "recv: %s", strerror(errno));
		/* a reply before the drop is allowed; keep reading */
	}
	close(fd);
}

static void
good_client_works(const char *when)
{
	char buf[8];

	ck_assert_msg(seg_pread("steady", buf, 6, 0) == 6, "%s: %s", when,
	    seg_errstr());
	ck_assert_msg(memcmp(buf, "steady", 6) == 0, "%s: wrong data", when);
	ck_assert_msg(kill(h_segd, 0) == 0, "%s: segd is gone", when);
}

/* The reply's error text, then segd closes the connection. */
static void
refused_version(int fd, const char *want1, const char *want2)
{
	char text[SEGW_MAXTEXT + 1];
	struct segw_hdr h;
	ssize_t r;

	ck_assert_int_eq(recv(fd, &text, SEGW_HDRLEN, MSG_WAITALL), SEGW_HDRLEN);
	ck_assert_int_gt(segw_hdr_parse((uint8_t *)text, SEGW_HDRLEN, &h,
	    &(const char *){ NULL }), 0);
	ck_assert_uint_eq(h.status, EPROTO);
	ck_assert_uint_le(h.len, SEGW_MAXTEXT);
	ck_assert_int_eq(recv(fd, text, h.len, MSG_WAITALL), (ssize_t)h.len);
	text[h.len] = '\0';
	ck_assert_msg(strstr(text, want1) && strstr(text, want2),
	    "error '%s' does not name '%s' and '%s'", text, want1, want2);
	r = recv(fd, text, 1, 0);	/* then the connection closes */
	ck_assert_msg(r == 0 || (r < 0 && errno == ECONNRESET),
	    "segd kept a client of another version");
	close(fd);
}

/* An older client (no handshake) or a newer one gets an error naming both
 * versions, never a misparsed frame; a matching one is served. */
START_TEST(version_mismatch_refused)
{
	static uint8_t f[SEGW_HDRLEN + SEGW_MAXPAYLOAD];
	char v[32];
	int fd;

	h_make_seg("vers", 0600, "va 0x1b000000 0x1000");
	fd = raw_connect_bare();
	raw_send(fd, f, raw_req(f, SEGW_STAT, "vers", 0));
	snprintf(v, sizeof v, "%u to %u", SEGW_VERSION_MIN, SEGW_VERSION);
	refused_version(fd, "version 1 (no version handshake)", v);
	fd = raw_connect_bare();
	raw_send(fd, f, raw_req(f, SEGW_HELLO, "", SEGW_VERSION + 1));
	snprintf(v, sizeof v, "version %u,", SEGW_VERSION + 1);
	refused_version(fd, v, "this segd speaks");
	ck_assert_msg(seg_stat("vers", &(struct seg_info){ 0 }) == 0, "%s",
	    seg_errstr());
}
END_TEST

START_TEST(garbage_client_dropped)
{
	uint8_t f[SEGW_HDRLEN + SEGW_MAXPAYLOAD], junk[4096];
	struct segw_hdr h;
	const char *why;
	struct h_run r;
	size_t n, i;
	int fd, park, trunc;
	unsigned seed = 12345;

	h_make_seg("steady", 0600, "va 0x1a000000 0x1000");
	ck_assert_int_eq(seg_pwrite("steady", "steady", 6, 0), 6);
	good_client_works("before");

	/* the raw frames are right: segd answers them, and it checks names
	 * itself (a refused request is an error reply, not a drop) */
	fd = raw_connect();
	raw_ask(fd, SEGW_STAT, "steady", 0, &h, "reply 1");
	ck_assert_uint_eq(h.op, SEGW_STAT);
	ck_assert_uint_eq(h.status, 0);
	raw_ask(fd, SEGW_CREATE, "a/b", 0600, &h, "reply 2");
	ck_assert_uint_eq(h.status, EINVAL);
	raw_ask(fd, SEGW_CREATE, "..", 0600, &h, "reply 3");
	ck_assert_uint_eq(h.status, EINVAL);
	raw_ask(fd, SEGW_STAT, "nothere", 0, &h, "reply 4");
	ck_assert_uint_eq(h.status, ENOENT);
	/* export flags libseg would refuse, segd refuses too; an import's
	 * info or a rebind on what is not there is an error, not a drop */
	raw_ask(fd, SEGW_EXPORT, "steady", 0x80, &h, "reply 5");
	ck_assert_uint_eq(h.status, EINVAL);
	raw_ask(fd, SEGW_IMPINFO, "", 0, &h, "reply 6");
	ck_assert_uint_eq(h.op, SEGW_IMPINFO);
	ck_assert_uint_ne(h.status, 0);
	raw_ask(fd, SEGW_REBIND, "steady", 0, &h, "reply 7");
	ck_assert_uint_eq(h.status, EINVAL);	/* not exported */

	/* a client parked in the middle of a header, throughout */
	park = raw_connect();
	raw_req(f, SEGW_STAT, "steady", 0);
	raw_send(park, f, 3);
	/* one that sends a frame's first part and closes, later */
	trunc = raw_connect();
	n = raw_req(f, SEGW_CREATE, "halfway", 0600);
	raw_send(trunc, f, 10);
	good_client_works("during");

	/* random bytes */
	do {
		for (i = 0; i < sizeof junk; i++)
			junk[i] = (uint8_t)(rand_r(&seed) >> 7);
	} while (segw_hdr_parse(junk, SEGW_HDRLEN, &h, &why) >= 0);
	fd = raw_connect();
	raw_send(fd, junk, sizeof junk);
	good_client_works("random bytes");
	raw_dropped(fd, "random bytes");

	/* oversized length headers */
	fd = raw_connect();
	raw_send(fd, f, raw_frame(f, 0xffffffffu, SEGW_CREATE));
	raw_dropped(fd, "a 4 GiB length");
	fd = raw_connect();
	raw_send(fd, f, raw_frame(f, SEGW_MAXPAYLOAD + 1, SEGW_STAT));
	raw_dropped(fd, "a length just over the limit");
	good_client_works("oversized");

	/* unknown and reply-only operations */
	fd = raw_connect();
	raw_send(fd, f, raw_frame(f, 0, 999));
	raw_dropped(fd, "operation 999");
	fd = raw_connect();
	raw_send(fd, f, raw_frame(f, 0, 0));
	raw_dropped(fd, "operation 0");
	fd = raw_connect();
	n = raw_req(f, SEGW_LISTENT, "steady", 0);
	raw_send(fd, f, n);
	raw_dropped(fd, "a reply-only operation");

	/* a well-framed request whose body is wrong */
	fd = raw_connect();
	n = raw_req(f, SEGW_STAT, "steady", 0);
	f[SEGW_HDRLEN + SEG_NAMEMAX] = 200;	/* name length */
	raw_send(fd, f, n);
	raw_dropped(fd, "a name length of 200");
	fd = raw_connect();
	n = raw_req(f, SEGW_STAT, "steady", 0);
	raw_frame(f, (uint32_t)(n - SEGW_HDRLEN + 5), SEGW_STAT);
	raw_send(fd, f, n + 5);
	raw_dropped(fd, "trailing bytes");
	fd = raw_connect();
	raw_send(fd, f, raw_frame(f, 3, SEGW_CTL));
	raw_send(fd, "abc", 3);
	raw_dropped(fd, "a request shorter than its header");

	/* atomics (SEGW_ATOMIC): a well-formed one on no import is an error
	 * reply; a short one, or one of an unknown kind, a drop */
	fd = raw_connect();
	n = segw_atomic_encode(f + SEGW_HDRLEN, SEGW_MAXPAYLOAD,
	    &(struct segw_atomic){ 77, SEGW_AT_CAS, 8, 0, 1 });
	ck_assert_uint_eq(n, sizeof(struct segw_atomic_wire));
	raw_frame(f, (uint32_t)n, SEGW_ATOMIC);
	raw_send(fd, f, SEGW_HDRLEN + n);
	raw_reply(fd, &h, "atomic on no import");
	ck_assert_uint_eq(h.op, SEGW_ATOMIC);
	ck_assert_uint_eq(h.status, EBADF);
	raw_frame(f, (uint32_t)n - 1, SEGW_ATOMIC);
	raw_send(fd, f, SEGW_HDRLEN + n - 1);
	raw_dropped(fd, "a short atomic request");
	fd = raw_connect();
	raw_frame(f, (uint32_t)n, SEGW_ATOMIC);
	f[SEGW_HDRLEN + 8] = 0x7f;	/* kind */
	raw_send(fd, f, SEGW_HDRLEN + n);
	raw_dropped(fd, "an atomic of an unknown kind");

	/* garbage right behind a good request: dropped all the same (the
	 * good one's reply may or may not come first) */
	fd = raw_connect();
	n = raw_req(f, SEGW_STAT, "steady", 0);
	raw_frame(junk, 0, 4242);
	memcpy(f + n, junk, SEGW_HDRLEN);
	raw_send(fd, f, n + SEGW_HDRLEN);
	raw_dropped(fd, "a good frame followed by a bad one");

	close(trunc);
	good_client_works("after a truncated frame");
	/* the parked client finishes its header and is served */
	n = raw_req(f, SEGW_STAT, "steady", 0);
	raw_send(park, f + 3, n - 3);
	raw_reply(park, &h, "reply 5");
	ck_assert_uint_eq(h.op, SEGW_STAT);
	ck_assert_uint_eq(h.status, 0);
	close(park);

	good_client_works("after");
	ck_assert_int_eq(h_segctl(&r, NULL, 0, "ls", NULL), 0);
	ck_assert_str_eq(r.out, "steady va 0x1a000000 0x1000 root 0600 0\n");
	h_run_free(&r);
}
END_TEST

/* ---- a second user ---- */

static void
become_nobody(void)
{
	H_CCHECK(setgroups(0, NULL) == 0 && setgid(NOBODY) == 0 &&
	    setuid(NOBODY) == 0, "cannot become uid %d: %s", NOBODY,
	    strerror(errno));
}

#define REFUSED(call, err) do {						\
	errno = 0;							\
	H_CCHECK((call) && errno == (err), "%s: not refused with %s "	\
	    "(errno %d: %s)", #call, #err, errno, seg_errstr());	\
	H_CCHECK(strstr(seg_errstr(), "permission denied") != NULL,	\
	    "%s: unclear message '%s'", #call, seg_errstr());		\
} while (0)

static void
nobody_refused(void *arg)
{
	char buf[64];

	(void)arg;
	become_nobody();
	REFUSED(seg_attach(0, "private", 0, 0) == NULL, EACCES);
	REFUSED(seg_attach(SEG_RONLY, "private", 0, 0) == NULL, EACCES);
	REFUSED(seg_pread("private", buf, 4, 0) < 0, EACCES);
	REFUSED(seg_pwrite("private", "x", 1, 0) < 0, EACCES);
	REFUSED(seg_ctl_read("private", buf, sizeof buf) < 0, EACCES);
	REFUSED(seg_ctl("unset", "va 0x1c000000 0x1000") < 0, EACCES);
	REFUSED(seg_remove("private") < 0, EPERM);
	H_CCHECK(strstr(seg_errstr(), "owner") != NULL, "remove: '%s'",
	    seg_errstr());
	/* read-only: reading yes, writing and read-write attach no */
	H_CCHECK(seg_pread("readable", buf, 4, 0) == 4 &&
	    memcmp(buf, "root", 4) == 0, "read 0644: %s", seg_errstr());
	H_CCHECK(seg_ctl_read("readable", buf, sizeof buf) > 0, "ctl read "
	    "0644: %s", seg_errstr());
	REFUSED(seg_pwrite("readable", "x", 1, 0) < 0, EACCES);
	REFUSED(seg_attach(0, "readable", 0, 0) == NULL, EACCES);
	{
		char *va = seg_attach(SEG_RONLY, "readable", 0, 0);
		H_CCHECK(va != NULL, "read-only attach of 0644: %s",
		    seg_errstr());
		H_CCHECK(memcmp(va, "root", 4) == 0, "wrong data");
		H_CCHECK(seg_detach(va) == 0, "detach: %s", seg_errstr());
	}
	/* a segment of its own */
	H_CCHECK(seg_create("mine", 0600) == 0, "create: %s", seg_errstr());
}

static void
nobody_allowed(void *arg)
{
	char buf[64], *va;

	(void)arg;
	become_nobody();
	va = seg_attach(0, "open", 0, 0);
	H_CCHECK(va != NULL, "attach 0666: %s", seg_errstr());
	H_CCHECK(memcmp(va, "root wrote", 10) == 0, "attach 0666: wrong data");
	memcpy(va + 100, "nobody attached", 15);
	H_CCHECK(seg_pwrite("open", "nobody wrote", 12, 200) == 12,
	    "write 0666: %s", seg_errstr());
	H_CCHECK(seg_pread("open", buf, 15, 100) == 15 &&
	    memcmp(buf, "nobody attached", 15) == 0, "read 0666: %s",
	    seg_errstr());
	H_CCHECK(seg_ctl_read("open", buf, sizeof buf) > 0 &&
	    strcmp(buf, "va 0x1b000000 0x1000\n") == 0, "ctl read 0666: '%s'",
	    buf);
	H_CCHECK(seg_detach(va) == 0, "detach: %s", seg_errstr());
	/* write permission is not ownership: removing is still refused */
	REFUSED(seg_remove("open") < 0, EPERM);
}

START_TEST(second_user_refused)
{
	struct seg_info si;
	struct h_run r;
	char buf[64];

	if (geteuid() != 0) {
		CK_SKIP("needs root to switch users");
		return;
	}
	h_make_seg("private", 0600, "va 0x1c000000 0x1000");
	ck_assert_int_eq(seg_pwrite("private", "secret", 6, 0), 6);
	ck_assert_int_eq(seg_create("unset", 0600), 0);
	h_make_seg("readable", 0644, "va 0x1d000000 0x1000");
	ck_assert_int_eq(seg_pwrite("readable", "root", 4, 0), 4);
	h_make_seg("open", 0666, "va 0x1b000000 0x1000");
	ck_assert_int_eq(seg_pwrite("open", "root wrote", 10, 0), 10);

	CK_CHILD(nobody_refused, NULL);
	CK_CHILD(nobody_allowed, NULL);

	/* nothing the refused user tried took effect */
	ck_assert_int_eq(seg_pread("private", buf, 6, 0), 6);
	ck_assert_int_eq(memcmp(buf, "secret", 6), 0);
	errno = 0;
	ck_assert_int_eq(seg_ctl_read("unset", buf, sizeof buf), -1);
	ck_assert_str_eq(seg_errstr(), "segment not yet allocated");
	ck_assert_int_eq(seg_pread("readable", buf, 4, 0), 4);
	ck_assert_int_eq(memcmp(buf, "root", 4), 0);
	ck_assert_int_eq(seg_stat("open", &si), 0);
	/* what the allowed one did did */
	ck_assert_int_eq(seg_pread("open", buf, 12, 200), 12);
	ck_assert_int_eq(memcmp(buf, "nobody wrote", 12), 0);
	ck_assert_int_eq(seg_pread("open", buf, 15, 100), 15);
	ck_assert_int_eq(memcmp(buf, "nobody attached", 15), 0);
	/* its own segment is its own; root may remove it all the same */
	ck_assert_int_eq(seg_stat("mine", &si), 0);
	ck_assert_uint_eq(si.uid, NOBODY);
	ck_assert_uint_eq(si.gid, NOBODY);
	ck_assert_uint_eq(si.mode, 0600);
	ck_assert_int_eq(seg_remove("mine"), 0);

	/* segctl as that user: exit 1 and `segctl: NAME: message` */
	ck_assert_int_eq(h_segctl_as(&r, NOBODY, NULL, 0, "read", "private",
	    NULL), 1);
	ck_assert_uint_eq(r.outlen, 0);
	ck_assert_msg(strncmp(r.err, "segctl: private: permission denied", 34)
	    == 0, "%s", r.err);
	h_run_free(&r);
	ck_assert_int_eq(h_segctl_as(&r, NOBODY, "x", 1, "write", "private",
	    NULL), 1);
	ck_assert_msg(strncmp(r.err, "segctl: private: permission denied", 34)
	    == 0, "%s", r.err);
	h_run_free(&r);
	ck_assert_int_eq(h_segctl_as(&r, NOBODY, NULL, 0, "rm", "open", NULL), 1);
	ck_assert_msg(strncmp(r.err, "segctl: open: permission denied", 31)
	    == 0, "%s", r.err);
	h_run_free(&r);
	ck_assert_int_eq(h_segctl_as(&r, NOBODY, NULL, 0, "read", "open", "0",
	    "10", NULL), 0);
	ck_assert_str_eq(r.out, "root wrote");
	h_run_free(&r);
	ck_assert_int_eq(seg_stat("open", &si), 0);
}
END_TEST

/* ---- segd's restart ---- */

START_TEST(restart_keeps_segments)
{
	struct seg_info si;
	struct h_proc p;
	struct h_run r;
	char buf[64], line[256];
	char *va;

	h_make_seg("keep", 0640, "addr 0x20000000 0x10000");
	ck_assert_int_eq(seg_pwrite("keep", "persist", 7, 0), 7);
	ck_assert_int_eq(seg_pwrite("keep", "tail", 4, 0xfffc), 4);
	ck_assert_int_eq(seg_create("bare", 0604), 0);
	h_make_seg("held", 0600, "va 0x30000000 0x2000");
	ck_assert_int_eq(seg_pwrite("held", "before", 6, 0), 6);
	h_make_seg("auto", 0600, "va 0 0x3000");
	ck_assert_int_gt(seg_ctl_read("auto", buf, sizeof buf), 0);

	/* attached across the restart: this process and another */
	va = seg_attach(0, "held", 0, 0);
	ck_assert_msg(va != NULL, "attach: %s", seg_errstr());
	h_peer(&p, "held", "say", "up", "sync", "r", "0", "6", "w", "16",
	    "from-peer", "wait", "32", "from-test", "r", "32", "9", "detach",
	    "1", "say", "done", NULL);
	ck_assert_uint_eq(peer_attached(&p), 0x30000000);
	h_expect(&p, "up");

	h_segd_stop();
	h_segd_start();

	/* every segment is found again, data and all */
	ck_assert_int_eq(h_segctl(&r, NULL, 0, "ls", NULL), 0);
	ck_assert_int_eq(h_ls_line(r.out, "keep", line, sizeof line), 0);
	ck_assert_str_eq(line, "keep addr 0x20000000 0x10000 root 0640 0");
	ck_assert_int_eq(h_ls_line(r.out, "bare", line, sizeof line), 0);
	ck_assert_str_eq(line, "bare - 0x0 0x0 root 0604 0");
	ck_assert_int_eq(h_ls_line(r.out, "held", line, sizeof line), 0);
	ck_assert_int_eq(h_ls_line(r.out, "auto", line, sizeof line), 0);
	h_run_free(&r);
	{
		char again[64];
		ck_assert_int_gt(seg_ctl_read("auto", again, sizeof again), 0);
		ck_assert_str_eq(again, buf);
	}
	ck_assert_int_eq(seg_ctl_read("keep", buf, sizeof buf), 24);
	ck_assert_str_eq(buf, "addr 0x20000000 0x10000\n");
	ck_assert_int_eq(seg_pread("keep", buf, 7, 0), 7);
	ck_assert_int_eq(memcmp(buf, "persist", 7), 0);
	ck_assert_int_eq(seg_pread("keep", buf, 64, 0xfffc), 4);
	ck_assert_int_eq(memcmp(buf, "tail", 4), 0);
	ck_assert_int_eq(seg_ctl_read("bare", buf, sizeof buf), -1);
	ck_assert_str_eq(seg_errstr(), "segment not yet allocated");
	ck_assert_int_eq(seg_stat("keep", &si), 0);
	ck_assert_uint_eq(si.mode, 0640);
	ck_assert_uint_eq(si.uid, 0);
	/* the ctl still holds: it cannot be reset, and the range is taken */
	errno = 0;
	ck_assert_int_eq(seg_ctl("keep", "va 0x50000000 0x1000"), -1);
	ck_assert_int_eq(errno, EBUSY);
	ck_assert_int_eq(seg_create("thief", 0600), 0);
	errno = 0;
	ck_assert_int_eq(seg_ctl("thief", "va 0x20008000 0x1000"), -1);
	ck_assert_int_eq(errno, EADDRINUSE);
	/* the bare one can still be given an address */
	ck_assert_int_eq(seg_ctl("bare", "va 0x21000000 0x1000"), 0);

	/* attached memory stays valid across the restart, even removed */
	ck_assert_int_eq(seg_pread("held", buf, 6, 0), 6);
	ck_assert_int_eq(memcmp(buf, "before", 6), 0);
	ck_assert_msg(seg_remove("held") == 0, "remove: %s", seg_errstr());
	ck_assert_int_eq(seg_stat("held", &si), -1);
	ck_assert_int_eq(memcmp(va, "before", 6), 0);
	memcpy(va + 32, "from-test", 9);
	h_writeline(&p, "go");
	h_expect(&p, "before");
	h_expect(&p, "from-test");
	h_expect(&p, "done");
	ck_assert_int_eq(h_wait(&p, h_peer_ms()), 0);
	ck_assert_int_eq(memcmp(va + 16, "from-peer", 9), 0);
	ck_assert_int_eq(seg_detach(va + 100), 0);
	ck_assert(!h_mapped(getpid(), 0x30000000, NULL));
}
END_TEST

void
suite(Suite *s)
{
	ck_tcase(s, "example", &h_fix, H_TIMEOUT_S, example_segctl, NULL);
	ck_tcase(s, "sharing", &h_fix, H_TIMEOUT_S, two_processes_share,
	    remove_while_attached, client_killed_while_attached, NULL);
	ck_tcase(s, "scale", &h_fix, H_TIMEOUT_S, thousand_segments, NULL);
	ck_tcase(s, "robustness", &h_fix, H_TIMEOUT_S, garbage_client_dropped,
	    version_mismatch_refused, NULL);
	ck_tcase(s, "permissions", &h_fix, H_TIMEOUT_S, second_user_refused,
	    NULL);
	ck_tcase(s, "restart", &h_fix, H_TIMEOUT_S, restart_keeps_segments,
	    NULL);
}
