/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * check_service.c: claims of docs/design.md about the local service that
 * other suites leave out: the control socket (a live one refused, a stale
 * one replaced), threads sharing libseg's connection and a thread-local
 * seg_errstr, supplementary groups over the socket, ADDR 0's lowest free
 * range at or above 16 TiB, the client limit and the 8 MiB output pause.
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "seg.h"
#include "segwire.h"

#define AUTO_BASE   0x100000000000ULL	/* 16 TiB: where ADDR 0 starts */
#define MAXCLIENTS  4096		/* segd's limit, from the design */
#define OUT_PAUSE   (8u << 20)		/* segd's output pause, likewise */
#define NOBODY      65534
#define GROUP       4321		/* a group and owner nobody else has */

/* ---- raw clients ---- */

static int raw_reply(int, uint8_t *, size_t);
static void raw_hello(int);

/* A client; with hello, past the version handshake. */
static int
raw_connect(int hello)
{
	int fd = h_raw_connect();

	ck_assert_msg(fd >= 0, "connect %s: %s", h_sock, strerror(errno));
	if (hello)
		raw_hello(fd);
	return fd;
}

/* The version handshake on fd. */
static void
raw_hello(int fd)
{
	uint8_t buf[512];
	size_t n = h_req_frame(buf, sizeof buf, SEGW_HELLO, "", SEGW_VERSION);

	ck_assert_uint_gt(n, 0);
	ck_assert_int_eq(write(fd, buf, n), (ssize_t)n);
	ck_assert_int_eq(raw_reply(fd, buf, sizeof buf), 0);
}

static size_t
stat_frame(uint8_t *buf, size_t size, const char *name)
{
	size_t n = h_req_frame(buf, size, SEGW_STAT, name, 0);

	ck_assert_uint_gt(n, 0);
	return n;
}

/* Send one STAT on fd and read its whole reply; its status. */
static int
raw_stat(int fd, const char *name)
{
	uint8_t buf[512];
	size_t n = stat_frame(buf, sizeof buf, name);

	ck_assert_int_eq(write(fd, buf, n), (ssize_t)n);
	return raw_reply(fd, buf, sizeof buf);
}

/* Read one whole reply into buf; its status. */
static int
raw_reply(int fd, uint8_t *buf, size_t size)
{
	uint8_t hdr[SEGW_HDRLEN];
	size_t got = 0;
	uint32_t len;

	while (got < SEGW_HDRLEN) {
		ssize_t r = read(fd, hdr + got, SEGW_HDRLEN - got);
		ck_assert_msg(r > 0, "reply header: %s", r ? strerror(errno) :
		    "end of file");
		got += (size_t)r;
	}
	len = (uint32_t)hdr[0] | (uint32_t)hdr[1] << 8 |
	    (uint32_t)hdr[2] << 16 | (uint32_t)hdr[3] << 24;
	ck_assert_uint_le(len, size);
	for (got = 0; got < len; ) {
		ssize_t r = read(fd, buf, len - got);
		ck_assert_msg(r > 0, "reply body: %s", r ? strerror(errno) :
		    "end of file");
		got += (size_t)r;
	}
	return hdr[6] | hdr[7] << 8;
}

/* ---- the control socket ---- */

START_TEST(live_socket_refused)
{
	char state[H_PATHMAX + 16];
	char *argv[] = { (char *)h_path("segd"), "-f", "-s", h_sock, "-d",
	    state, NULL };
	struct seg_info si;
	struct h_run r;

	h_make_seg("kept", 0600, "va 0x21000000 0x1000");
	snprintf(state, sizeof state, "%s/state2", h_dir);
	ck_assert_int_ne(h_runv(&r, NULL, 0, argv), 0);
	ck_assert_msg(strstr(r.err, "another segd is serving") != NULL,
	    "the second segd's stderr: %s", r.err);
	h_run_free(&r);
	/* the first keeps its socket and serves */
	ck_assert_int_eq(access(h_sock, F_OK), 0);
	ck_assert_msg(seg_stat("kept", &si) == 0, "stat: %s", seg_errstr());
	ck_assert_int_eq(seg_create("after", 0600), 0);
}
END_TEST

START_TEST(stale_socket_replaced)
{
	struct sockaddr_un sun;
	struct seg_info si;
	int fd;

	h_make_seg("kept", 0600, "va 0x21000000 0x1000");
	h_segd_stop();
	/* a socket file nobody listens on, as a killed segd leaves */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, h_sock);
	ck_assert_msg(bind(fd, (struct sockaddr *)&sun, sizeof sun) == 0,
	    "bind: %s", strerror(errno));
	close(fd);
	ck_assert_int_eq(access(h_sock, F_OK), 0);
	h_segd_start();		/* fails the test unless segd serves */
	ck_assert_msg(seg_stat("kept", &si) == 0, "stat: %s", seg_errstr());
}
END_TEST

/* ---- threads sharing the connection ---- */

#define NTHREADS 8
#define PERTHREAD 40

static pthread_barrier_t bar;

struct worker {
	int  id;
	char err[256];		/* the first thing that went wrong */
};

static void *
worker(void *arg)
{
	struct worker *w = arg;
	char name[32], want[64];
	struct seg_info si;
	int i;

	for (i = 0; i < PERTHREAD && w->err[0] == '\0'; i++) {
		snprintf(name, sizeof name, "t%d-%d", w->id, i);
		if (seg_create(name, 0600 | (unsigned)w->id) < 0)
			snprintf(w->err, sizeof w->err, "create %s: %s", name,
			    seg_errstr());
		else if (seg_stat(name, &si) < 0)
			snprintf(w->err, sizeof w->err, "stat %s: %s", name,
			    seg_errstr());
		else if (strcmp(si.name, name) != 0 ||
		    si.mode != (0600 | (unsigned)w->id))
			snprintf(w->err, sizeof w->err, "stat %s gave %s %o",
			    name, si.name, si.mode);
	}
	/* each thread's own error, made at once, stays its own */
	snprintf(name, sizeof name, "missing-%d", w->id);
	snprintf(want, sizeof want, "no segment '%s'", name);
	pthread_barrier_wait(&bar);
	if (seg_stat(name, &si) != -1 || errno != ENOENT)
		snprintf(w->err, sizeof w->err, "stat %s: not ENOENT", name);
	pthread_barrier_wait(&bar);	/* every thread has failed now */
	if (w->err[0] == '\0' && strstr(seg_errstr(), name) == NULL)
		snprintf(w->err, sizeof w->err, "thread %d's seg_errstr is "
		    "'%s', not about %s", w->id, seg_errstr(), name);
	return NULL;
}

START_TEST(threads_share_connection)
{
	pthread_t t[NTHREADS];
	struct worker w[NTHREADS];
	struct seg_info *list;
	int i;

	ck_assert_int_eq(pthread_barrier_init(&bar, NULL, NTHREADS), 0);
	memset(w, 0, sizeof w);
	for (i = 0; i < NTHREADS; i++) {
		w[i].id = i;
		ck_assert_int_eq(pthread_create(&t[i], NULL, worker, &w[i]), 0);
	}
	for (i = 0; i < NTHREADS; i++)
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
	for (i = 0; i < NTHREADS; i++)
		ck_assert_msg(w[i].err[0] == '\0', "thread %d: %s", i, w[i].err);
	pthread_barrier_destroy(&bar);
	ck_assert_int_eq(seg_list(&list), NTHREADS * PERTHREAD);
	free(list);
}
END_TEST

/* ---- supplementary groups ---- */

/* In a child: become GROUP's owner and make a segment only GROUP may use. */
static void
make_group_seg(void *arg)
{
	(void)arg;
	H_CCHECK(setgroups(0, NULL) == 0 && setgid(GROUP) == 0 &&
	    setuid(GROUP) == 0, "become %d: %s", GROUP, strerror(errno));
	H_CCHECK(seg_create("grp", 0660) == 0, "create: %s", seg_errstr());
	H_CCHECK(seg_ctl("grp", "va 0x22000000 0x1000") == 0, "ctl: %s",
	    seg_errstr());
}

/* In a child: nobody, with GROUP as a supplementary group or not. */
static void
nobody_reads(void *arg)
{
	int member = *(int *)arg;
	gid_t g = GROUP;
	char buf[8];
	ssize_t n;

	H_CCHECK(setgroups(member ? 1 : 0, &g) == 0 && setgid(NOBODY) == 0 &&
	    setuid(NOBODY) == 0, "become nobody: %s", strerror(errno));
	errno = 0;
	n = seg_pread("grp", buf, 4, 0);
	if (member)
		H_CCHECK(n == 4 && memcmp(buf, "grp!", 4) == 0, "member of "
		    "%d refused: %s", GROUP, seg_errstr());
	else
		H_CCHECK(n == -1 && errno == EACCES, "not a member of %d, "
		    "and read gave %zd (%s)", GROUP, n, seg_errstr());
}

START_TEST(supplementary_groups)
{
	struct seg_info si;
	int yes = 1, no = 0;

	if (geteuid() != 0) {
		CK_SKIP("needs root to change uid and groups");
		return;
	}
	CK_CHILD(make_group_seg, NULL);
	ck_assert_int_eq(seg_stat("grp", &si), 0);
	ck_assert_uint_eq(si.gid, GROUP);
	ck_assert_uint_eq(si.mode, 0660);
	ck_assert_int_eq(seg_pwrite("grp", "grp!", 4, 0), 4);
	CK_CHILD(nobody_reads, &yes);
	CK_CHILD(nobody_reads, &no);
}
END_TEST

/* ---- ADDR 0 ---- */

static uint64_t
auto_va(const char *name, const char *len)
{
	char ctl[64];
	struct seg_info si;

	snprintf(ctl, sizeof ctl, "va 0 %s", len);
	ck_assert_msg(seg_create(name, 0600) == 0, "create %s: %s", name,
	    seg_errstr());
	ck_assert_msg(seg_ctl(name, ctl) == 0, "ctl %s: %s", name,
	    seg_errstr());
	ck_assert_int_eq(seg_stat(name, &si), 0);
	return si.va;
}

START_TEST(addr_zero_lowest_free)
{
	/* segd picks where it can map too: 16 TiB, unless segd has that
	 * mapped itself (AddressSanitizer's shadow does) */
	int busy = h_mapped(h_segd, AUTO_BASE, NULL);
	uint64_t base = auto_va("first", "0x100000");

	if (!busy)
		ck_assert_uint_eq(base, AUTO_BASE);
	else
		ck_assert_uint_gt(base, AUTO_BASE);
	ck_assert_uint_eq(auto_va("second", "0x200000"), base + 0x100000);
	ck_assert_int_eq(seg_remove("first"), 0);
	/* the lowest free range again: where first was, if it fits */
	ck_assert_uint_eq(auto_va("third", "0x80000"), base);
	ck_assert_uint_eq(auto_va("fourth", "0x100000"), base + 0x300000);
}
END_TEST

/* ---- limits ---- */

START_TEST(client_limit)
{
	struct rlimit rl;
	static int fds[MAXCLIENTS];
	int extra, i;

	/* room for the clients in this process and in segd */
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_max < MAXCLIENTS + 256) {
		CK_SKIP("the open-file limit (%lu) is below %d",
		    (unsigned long)rl.rlim_max, MAXCLIENTS + 256);
		return;
	}
	rl.rlim_cur = rl.rlim_max;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	h_segd_stop();
	h_segd_start();
	for (i = 0; i < MAXCLIENTS; i++)
		fds[i] = raw_connect(1);
	/* every one is a client: the last is served */
	ck_assert_int_eq(raw_stat(fds[MAXCLIENTS - 1], "none"), ENOENT);
	/* one more is refused: segd closes it */
	extra = raw_connect(0);
	ck_assert_msg(h_closed_by_segd(extra, h_peer_ms()), "client %d was not "
	    "refused", MAXCLIENTS + 1);
	close(extra);
	ck_assert_int_eq(raw_stat(fds[0], "none"), ENOENT);
	/* when one goes, another may come */
	close(fds[0]);
	for (i = 0; i < 100; i++) {
		extra = raw_connect(0);
		if (!h_closed_by_segd(extra, 50))
			break;
		close(extra);
	}
	ck_assert_int_lt(i, 100);
	raw_hello(extra);
	ck_assert_int_eq(raw_stat(extra, "none"), ENOENT);
	close(extra);
	for (i = 1; i < MAXCLIENTS; i++)
		close(fds[i]);
}
END_TEST

START_TEST(output_pause)
{
	static uint8_t frames[64 * 1024];
	size_t one, nframes, sent = 0, need;
	long rss0, rss1, t0, dt;
	struct seg_info si;
	int fd, i;

	h_make_seg("probe", 0600, "va 0x23000000 0x1000");
	one = stat_frame(frames, sizeof frames, "probe");
	nframes = sizeof frames / one;
	for (i = 1; i < (int)nframes; i++)
		memcpy(frames + (size_t)i * one, frames, one);
	rss0 = h_segd_rss_kib();
	signal(SIGPIPE, SIG_IGN);	/* a dropped client: a failure, below */
	fd = raw_connect(1);
	ck_assert_int_eq(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	/* requests enough for four times the pause in replies, never read */
	need = 4 * (OUT_PAUSE / (SEGW_HDRLEN + sizeof(struct segw_info_wire)))
	    * one;
	while (sent < need) {
		struct pollfd pfd = { fd, POLLOUT, 0 };
		size_t at = sent % (nframes * one);	/* whole frames, in turn */
		ssize_t w = write(fd, frames + at, nframes * one - at);

		if (w > 0) {
			sent += (size_t)w;
			continue;
		}
		ck_assert_msg(w < 0 && errno == EAGAIN, "write after %zu "
		    "bytes: %s; segd's log:\n%s", sent, strerror(errno),
		    h_log_read());
		/* segd stopped reading us: it paused */
		if (poll(&pfd, 1, ck_scale(2000)) == 0)
			break;
	}
	ck_assert_msg(sent < need, "segd read %zu bytes of requests from a "
	    "client that reads no reply: it never paused", sent);
	/* it queued about the pause's worth, not much less */
	ck_assert_msg(sent >= OUT_PAUSE / 2, "paused after %zu bytes", sent);
	/* another client is served at once, and segd did not balloon */
	t0 = ck_now_ms();
	ck_assert_msg(seg_stat("probe", &si) == 0, "stat: %s", seg_errstr());
	dt = ck_now_ms() - t0;
	ck_assert_msg(dt < ck_scale(1000), "stat took %ld ms beside the "
	    "paused client", dt);
	rss1 = h_segd_rss_kib();
	ck_assert_msg(rss1 - rss0 < 64 * 1024, "segd grew from %ld to %ld KiB "
	    "with a client that reads nothing", rss0, rss1);
	close(fd);
	ck_assert_int_eq(seg_stat("probe", &si), 0);
}
END_TEST

void
suite(Suite *s)
{
	ck_tcase(s, "socket", &h_fix, H_TIMEOUT_S, live_socket_refused,
	    stale_socket_replaced, NULL);
	ck_tcase(s, "threads", &h_fix, H_TIMEOUT_S, threads_share_connection,
	    NULL);
	ck_tcase(s, "groups", &h_fix, H_TIMEOUT_S, supplementary_groups, NULL);
	ck_tcase(s, "addr0", &h_fix, H_TIMEOUT_S, addr_zero_lowest_free, NULL);
	ck_tcase(s, "limits", &h_fix, H_TIMEOUT_S, client_limit, output_pause,
	    NULL);
}
