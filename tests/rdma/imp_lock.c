/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * imp_lock: lock operations on an import (seg_cas, seg_fadd, seg_lock,
 * seg_unlock), for tests/rdma/single/64-locks.sh.
 *
 *   imp_lock REF count OFF N   N times: seg_lock the word at OFF, get the
 *                              counter at OFF+8, put it plus 1, unlock
 *   imp_lock REF fadd OFF N    N times seg_fadd(OFF, 1)
 *   imp_lock REF hold OFF      seg_lock, print "held pid PID", wait to be
 *                              killed
 *   imp_lock REF take OFF      seg_lock (a dead holder's lock is broken),
 *                              print "took after MS ms", seg_unlock
 *   imp_lock REF word OFF      print the word at OFF (seg_get)
 *   imp_lock REF refused ERR OFF
 *                              seg_cas, seg_fadd and seg_lock of OFF each
 *                              fail with errno ERR (a number); nothing changes
 *   imp_lock REF path          print "path direct" or "path segd"
 *   imp_lock raw "ADDR PORT NODE" NAME ERR OFF
 *                              segd's own checks, past libseg's: on a
 *                              connection of its own to $SEGD_SOCKET
 *                              (HELLO, IMPORT), a SEGW_ATOMIC CAS of OFF
 *                              is answered with status ERR
 *
 * Every mode prints "PROG ok" at the end and exits 0; else "FAIL: ...".
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "seg.h"
#include "segwire.h"
#include "testlib.h"

/* ---- raw: the local protocol by hand ---- */

static void
raw_write(int fd, uint16_t op, const uint8_t *p, size_t n)
{
	uint8_t hdr[SEGW_HDRLEN];
	struct segw_hdr h = { (uint32_t)n, op, 0 };

	segw_hdr_encode(hdr, &h);
	if (write(fd, hdr, sizeof hdr) != (ssize_t)sizeof hdr ||
	    write(fd, p, n) != (ssize_t)n)
		fail("write to segd: %s", strerror(errno));
}

/* One reply: its header into h, its body into p (size bytes); the length. */
static size_t
raw_read(int fd, struct segw_hdr *h, uint8_t *p, size_t size)
{
	uint8_t hdr[SEGW_HDRLEN];
	const char *why = "";

	if (recv(fd, hdr, sizeof hdr, MSG_WAITALL) != (ssize_t)sizeof hdr ||
	    segw_hdr_parse(hdr, sizeof hdr, h, &why) <= 0 || h->len > size ||
	    (h->len > 0 && recv(fd, p, h->len, MSG_WAITALL) != (ssize_t)h->len))
		fail("bad reply from segd %s", why);
	return h->len;
}

static void
raw(const char *peer, const char *name, int err, uint64_t off)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	uint8_t p[SEGW_MAXPAYLOAD];
	struct segw_atomic at;
	struct segw_req r;
	struct segw_imp m;
	struct segw_hdr h;
	const char *sock = getenv("SEGD_SOCKET");
	size_t n;
	int fd;

	if (sock == NULL || strlen(sock) >= sizeof sa.sun_path)
		fail("no SEGD_SOCKET");
	strcpy(sa.sun_path, sock);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		fail("connect %s: %s", sock, strerror(errno));
	memset(&r, 0, sizeof r);
	r.arg = SEGW_VERSION;
	raw_write(fd, SEGW_HELLO, p, segw_req_encode(p, sizeof p, &r));
	raw_read(fd, &h, p, sizeof p);
	if (h.status != 0)
		fail("HELLO refused: %d", h.status);
	snprintf(r.name, sizeof r.name, "%s", name);
	r.textlen = (size_t)snprintf(r.text, sizeof r.text, "%s", peer);
	raw_write(fd, SEGW_IMPORT, p, segw_req_encode(p, sizeof p, &r));
	n = raw_read(fd, &h, p, sizeof p);
	if (h.status != 0 || segw_imp_decode(p, n, &m) < 0)
		fail("IMPORT refused (%d): %.*s", h.status, (int)n, (char *)p);
	at = (struct segw_atomic){ m.handle, SEGW_AT_CAS, off, 0, 1 };
	raw_write(fd, SEGW_ATOMIC, p, segw_atomic_encode(p, sizeof p, &at));
	n = raw_read(fd, &h, p, sizeof p);
	if (h.status != err)
		fail("segd answered an atomic at 0x%llx with status %d, want %d",
		    (unsigned long long)off, h.status, err);
	printf("segd refused: %.*s\n", (int)n, (char *)p);
	close(fd);
}

static void
count(seg_import_t *imp, uint64_t off, uint64_t n)
{
	uint64_t i, v;

	for (i = 0; i < n; i++) {
		if (seg_lock(imp, off) < 0)
			fail("seg_lock (round %llu): %s", (unsigned long long)i,
			    seg_errstr());
		if (seg_get(imp, off + 8, &v, 8) < 0)
			fail("seg_get: %s", seg_errstr());
		v++;
		if (seg_put(imp, off + 8, &v, 8) < 0)
			fail("seg_put: %s", seg_errstr());
		if (seg_unlock(imp, off) < 0)
			fail("seg_unlock (round %llu): %s", (unsigned long long)i,
			    seg_errstr());
	}
	printf("count %llu\n", (unsigned long long)n);
}

static void
fadd(seg_import_t *imp, uint64_t off, uint64_t n)
{
	uint64_t i, old, last = 0;

	for (i = 0; i < n; i++) {
		if (seg_fadd(imp, off, 1, &old) < 0)
			fail("seg_fadd (round %llu): %s", (unsigned long long)i,
			    seg_errstr());
		if (i > 0 && old <= last)	/* others only add */
			fail("seg_fadd's old value went from %llu to %llu",
			    (unsigned long long)last, (unsigned long long)old);
		last = old;
	}
	printf("fadd %llu\n", (unsigned long long)n);
}

static void
refused(seg_import_t *imp, int err, uint64_t off)
{
	uint64_t old = 0x5a5a;

	errno = 0;
	if (seg_cas(imp, off, 0, 1, &old) == 0 || errno != err)
		fail("seg_cas at 0x%llx: errno %d (%s), want %d",
		    (unsigned long long)off, errno, seg_errstr(), err);
	printf("seg_cas refused: %s\n", seg_errstr());
	if (old != 0x5a5a)
		fail("a refused seg_cas wrote its old value");
	errno = 0;
	if (seg_fadd(imp, off, 1, &old) == 0 || errno != err)
		fail("seg_fadd at 0x%llx: errno %d (%s), want %d",
		    (unsigned long long)off, errno, seg_errstr(), err);
	printf("seg_fadd refused: %s\n", seg_errstr());
	errno = 0;
	if (seg_lock(imp, off) == 0 || errno != err)
		fail("seg_lock at 0x%llx: errno %d (%s), want %d",
		    (unsigned long long)off, errno, seg_errstr(), err);
	printf("seg_lock refused: %s\n", seg_errstr());
}

int
main(int argc, char **argv)
{
	seg_import_t *imp;
	const char *mode;
	long long t0;
	uint64_t v;

	progname = "imp_lock";
	if (argc < 3) {
		fprintf(stderr, "usage: imp_lock REF MODE [ARGS]\n");
		return 2;
	}
	mode = argv[2];
	signal(SIGALRM, on_alarm);
	alarm(600);
	if (strcmp(argv[1], "raw") == 0 && argc == 6) {
		raw(argv[2], argv[3], (int)num(argv[4]), num(argv[5]));
		printf("imp_lock ok\n");
		return 0;
	}
	if ((imp = seg_import(argv[1])) == NULL)
		fail("seg_import %s: %s", argv[1], seg_errstr());
	if (strcmp(mode, "count") == 0 && argc == 5)
		count(imp, num(argv[3]), num(argv[4]));
	else if (strcmp(mode, "fadd") == 0 && argc == 5)
		fadd(imp, num(argv[3]), num(argv[4]));
	else if (strcmp(mode, "hold") == 0 && argc == 4) {
		if (seg_lock(imp, num(argv[3])) < 0)
			fail("seg_lock: %s", seg_errstr());
		printf("held pid %d\n", (int)getpid());
		fflush(stdout);
		for (;;)
			pause();
	} else if (strcmp(mode, "take") == 0 && argc == 4) {
		t0 = now_ms();
		if (seg_lock(imp, num(argv[3])) < 0)
			fail("seg_lock: %s", seg_errstr());
		printf("took after %lld ms\n", now_ms() - t0);
		if (seg_unlock(imp, num(argv[3])) < 0)
			fail("seg_unlock: %s", seg_errstr());
	} else if (strcmp(mode, "word") == 0 && argc == 4) {
		if (seg_get(imp, num(argv[3]), &v, 8) < 0)
			fail("seg_get: %s", seg_errstr());
		printf("word %llu\n", (unsigned long long)v);
	} else if (strcmp(mode, "refused") == 0 && argc == 5)
		refused(imp, (int)num(argv[3]), num(argv[4]));
	else if (strcmp(mode, "path") == 0 && argc == 3)
		printf("path %s\n", seg_import_path(imp, NULL, 0) ==
		    SEG_PATH_DIRECT ? "direct" : "segd");
	else
		fail("bad arguments");
	if (seg_unimport(imp) < 0)
		fail("seg_unimport: %s", seg_errstr());
	printf("imp_lock ok\n");
	return 0;
}
