/*
 * check_limits.c: one uid cannot starve the others (docs/design.md,
 * "Limits").  The abusers run as an unprivileged uid in forked children of
 * the (root) test: connections beyond a uid's share, clients that never
 * read their replies, a hoarder of descriptors, half a frame and silence;
 * segment quotas per uid; removed-but-attached segments against -N; and
 * segd's own descriptor limit against -N.  Meanwhile root and another uid
 * must be served at once.
 *
 * Under $SEGD_WRAPPER (valgrind) the abusers' counts are a tenth.
 */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

#define NOBODY      65534	/* the abuser */
#define OTHER       4321	/* another uid, which must be served */
#define UID_CLIENTS 1024	/* segd's default share of connections */
#define UID_FDS     256		/* ... of descriptors in its replies */
#define UID_OUT     (32u << 20)	/* ... of queued reply bytes */

/* A count, a tenth under valgrind. */
static int
scaled(int n)
{
	return ck_wrapped() ? n / 10 : n;
}

/* ---- raw clients (no ck_assert: abusers use them in children) ---- */

/* Write all of buf to a blocking fd; 0 or -1. */
static int
write_all(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;

	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One reply's status, its body dropped; -1 on EOF, error or ms passing. */
static int
read_reply(int fd, int ms)
{
	uint8_t hdr[SEGW_HDRLEN], body[SEGW_MAXPAYLOAD];
	size_t got = 0, len;
	struct pollfd pfd = { fd, POLLIN, 0 };

	while (got < SEGW_HDRLEN + 0u) {
		ssize_t r;
		if (poll(&pfd, 1, ms) != 1)
			return -1;
		if ((r = read(fd, hdr + got, SEGW_HDRLEN - got)) <= 0)
			return -1;
		got += (size_t)r;
	}
	len = (size_t)hdr[0] | (size_t)hdr[1] << 8 | (size_t)hdr[2] << 16 |
	    (size_t)hdr[3] << 24;
	if (len > sizeof body)
		return -1;
	for (got = 0; got < len; ) {
		ssize_t r;
		if (poll(&pfd, 1, ms) != 1)
			return -1;
		if ((r = read(fd, body, len - got)) <= 0)
			return -1;
		got += (size_t)r;
	}
	return hdr[6] | hdr[7] << 8;
}

/* HELLO, then STAT name on a new connection: its status; -1 if none. */
static int
fresh_stat(const char *name, int ms)
{
	uint8_t buf[512];
	int fd = h_raw_connect(), st = -1;
	size_t n;

	if (fd < 0)
		return -1;
	n = h_req_frame(buf, sizeof buf, SEGW_HELLO, "", SEGW_VERSION);
	if (write_all(fd, buf, n) == 0 && read_reply(fd, ms) == 0) {
		n = h_req_frame(buf, sizeof buf, SEGW_STAT, name, 0);
		if (write_all(fd, buf, n) == 0)
			st = read_reply(fd, ms);
	}
	close(fd);
	return st;
}

/* ---- children as another uid ---- */

struct kid {
	pid_t pid;
	int   go;	/* closed by the parent: the child ends */
	int   rep;	/* the child's one report line */
};

/* Become uid (and its group), with the open-file limit at its hard limit. */
static void
become(uid_t uid)
{
	struct rlimit rl;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (setgroups(0, NULL) < 0 || setgid(uid) < 0 || setuid(uid) < 0)
		_exit(120);
}

/*
 * Run fn(arg, rep) as uid in a child: it abuses, writes one line to rep,
 * and returns; the child then holds what it made until kid_stop().
 */
static void
kid_start(struct kid *k, uid_t uid, void (*fn)(void *, FILE *), void *arg)
{
	int go[2], rep[2];

	ck_assert_int_eq(pipe2(go, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(rep, O_CLOEXEC), 0);
	k->pid = fork();
	ck_assert_int_ge(k->pid, 0);
	if (k->pid == 0) {
		FILE *f;
		char c;

		close(go[1]);
		close(rep[0]);
		become(uid);
		signal(SIGPIPE, SIG_IGN);
		f = fdopen(rep[1], "w");
		fn(arg, f);
		fflush(f);
		while (read(go[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(go[0]);
	close(rep[1]);
	k->go = go[1];
	k->rep = rep[0];
}

/* The child's report line (without newline), or the test fails. */
static void
kid_report(struct kid *k, char *buf, size_t size, int ms)
{
	struct pollfd pfd = { k->rep, POLLIN, 0 };
	size_t got = 0;

	while (got + 1 < size) {
		ssize_t r;
		ck_assert_msg(poll(&pfd, 1, ms) == 1, "no report from the "
		    "child within %d ms", ms);
		r = read(k->rep, buf + got, 1);
		ck_assert_msg(r == 1, "the child ended without a report");
		if (buf[got] == '\n')
			break;
		got++;
	}
	buf[got] = '\0';
	ck_assert_msg(strncmp(buf, "fail", 4) != 0, "child: %s", buf);
}

static void
kid_stop(struct kid *k)
{
	int st;

	close(k->go);
	close(k->rep);
	ck_assert_int_eq(waitpid(k->pid, &st, 0), k->pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status "
	    "%#x", st);
}

/* kid_start, its report (within 10 s), kid_stop: a child that need not hold
 * what it made. */
static void
kid_run(uid_t uid, void (*fn)(void *, FILE *), void *arg, char *buf,
    size_t size)
{
	struct kid k;

	kid_start(&k, uid, fn, arg);
	kid_report(&k, buf, size, ck_scale(10000));
	kid_stop(&k);
}

/* ---- what segd uses ---- */

static int
nfds(void)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof path, "/proc/%d/fd", (int)h_segd);
	d = opendir(path);
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* A STAT by uid on a new connection, in a child: how long it took (ms). */
static void
stat_as_kid(void *arg, FILE *rep)
{
	long t0 = ck_now_ms();
	int st = fresh_stat(arg, 5000);

	fprintf(rep, "%d %ld\n", st, ck_now_ms() - t0);
}

static long
timed_stat(uid_t uid, const char *name)
{
	char line[64];
	long ms;
	int st;

	kid_run(uid, stat_as_kid, (void *)name, line, sizeof line);
	ck_assert_int_eq(sscanf(line, "%d %ld", &st, &ms), 2);
	ck_assert_msg(st == 0, "uid %u: stat %s: status %d after %ld ms",
	    (unsigned)uid, name, st, ms);
	return ms;
}

/* Root and OTHER are each answered within 1 s; the slower time. */
static long
others_served(void)
{
	long t0 = ck_now_ms(), root, other;

	ck_assert_msg(fresh_stat("probe", ck_scale(1000)) == 0, "root's stat "
	    "was not answered; segd's log:\n%s", h_log_read());
	root = ck_now_ms() - t0;
	other = timed_stat(OTHER, "probe");
	ck_assert_msg(root < ck_scale(1000) && other < ck_scale(1000),
	    "stat took %ld ms (root), %ld ms (uid %d)", root, other, OTHER);
	return root > other ? root : other;
}

/* ---- abusers ---- */

/* Connections: n attempts, held; reports how many segd closed. */
static int *conns;
static int  nconns;

static void
connector(void *arg, FILE *rep)
{
	int i, n = *(int *)arg, closed = 0;

	conns = calloc((size_t)n, sizeof *conns);
	for (i = 0; i < n; i++)	/* each waits for room in the backlog */
		if ((conns[i] = h_raw_connect()) < 0) {
			fprintf(rep, "fail: connection %d: %s\n", i,
			    strerror(errno));
			return;
		}
	nconns = n;
	ck_sleep_ms(ck_scale(1500));	/* segd takes them in and refuses */
	for (i = 0; i < n; i++)
		closed += h_closed_by_segd(conns[i], 0);
	fprintf(rep, "%d\n", closed);
}

/*
 * Clients that send requests and never read: n connections, HELLO then
 * op on name until segd stops reading every one.  Reports bytes sent.
 */
struct flood {
	int      n;
	uint16_t op;
	uint32_t arg;
	long     max_ms;
};

static void
flooder(void *arg, FILE *rep)
{
	static uint8_t frames[16384];
	const struct flood *fl = arg;
	size_t one, nf, i, sent = 0;
	int *fd = calloc((size_t)fl->n, sizeof *fd), idle = 0, c;
	long t0 = ck_now_ms();
	size_t *at = calloc((size_t)fl->n, sizeof *at);

	one = h_req_frame(frames, sizeof frames, fl->op, "probe", fl->arg);
	nf = sizeof frames / one;
	for (i = 1; i < nf; i++)
		memcpy(frames + i * one, frames, one);
	for (c = 0; c < fl->n; c++) {
		uint8_t hb[256];
		size_t hn = h_req_frame(hb, sizeof hb, SEGW_HELLO, "",
		    SEGW_VERSION);
		if ((fd[c] = h_raw_connect()) < 0 || write_all(fd[c], hb, hn) < 0) {
			fprintf(rep, "fail: client %d: %s\n", c, strerror(errno));
			return;
		}
		fcntl(fd[c], F_SETFL, O_NONBLOCK);
	}
	/* until a second passes with nothing taken by segd */
	while (idle < 20 && ck_now_ms() - t0 < fl->max_ms) {
		int moved = 0;
		for (c = 0; c < fl->n; c++) {
			ssize_t w = write(fd[c], frames + at[c] % one,
			    nf * one - at[c] % one);
			if (w > 0) {
				at[c] += (size_t)w;
				sent += (size_t)w;
				moved = 1;
			}
		}
		idle = moved ? 0 : idle + 1;
		if (!moved)
			ck_sleep_ms(50);
	}
	fprintf(rep, "%zu\n", sent);
}

/* ---- 4: connections ---- */

START_TEST(slots_per_uid)
{
	struct kid k;
	char line[64];
	int n = scaled(4200), closed;

	h_make_seg("probe", 0644, "va 0x23000000 0x1000");
	kid_start(&k, NOBODY, connector, &n);
	kid_report(&k, line, sizeof line, ck_scale(60000));
	closed = atoi(line);
	if (!ck_wrapped())	/* the uid keeps its share, not more */
		ck_assert_msg(closed == n - UID_CLIENTS, "segd closed %d of "
		    "%d connections of one uid", closed, n);
	/* root and another uid are served meanwhile */
	others_served();
	kid_stop(&k);
	/* and the uid again, once it let go */
	ck_assert_int_eq(timed_stat(NOBODY, "probe") >= 0, 1);
}
END_TEST

/* ---- 5: descriptors ---- */

static int
fds_back(void *arg)
{
	return nfds() <= *(int *)arg;
}

START_TEST(fd_hoarder)
{
	struct flood fl = { 1, SEGW_OPEN, SEGW_RD, 0 };
	struct kid k;
	char line[64];
	int fd0, fd1;

	fl.max_ms = ck_scale(20000);
	h_make_seg("probe", 0644, "va 0x23000000 0x1000");
	fd0 = nfds();
	kid_start(&k, NOBODY, flooder, &fl);
	kid_report(&k, line, sizeof line, ck_scale(60000));
	fd1 = nfds();
	/* 40,000 OPENs' worth would be ~3.5 MB; segd stopped long before */
	ck_assert_msg(strtoull(line, NULL, 10) < 40000ull * 90, "segd read "
	    "%s bytes of OPEN requests from a client reading nothing", line);
	ck_assert_msg(fd1 - fd0 <= UID_FDS + 8, "segd holds %d descriptors "
	    "(%d before) for a client that reads nothing", fd1, fd0);
	ck_assert_msg(fd1 - fd0 >= UID_FDS / 2, "segd holds only %d more "
	    "descriptors: the hoarder was not served its share", fd1 - fd0);
	others_served();
	kid_stop(&k);
	ck_assert_msg(h_until(fds_back, &fd0, ck_scale(5000)), "segd keeps "
	    "%d descriptors after the hoarder left (%d before)", nfds(), fd0);
}
END_TEST

/* ---- 6: memory ---- */

/* LIST: every request brings 64 entries of reply. */
static void
make_listing(void)
{
	char name[16];
	int i;

	h_make_seg("probe", 0644, "va 0x23000000 0x1000");
	for (i = 0; i < 63; i++) {
		snprintf(name, sizeof name, "fill%d", i);
		ck_assert_msg(seg_create(name, 0644) == 0, "%s", seg_errstr());
	}
}

static int
rss_back(void *arg)
{
	return h_segd_rss_kib() <= *(long *)arg;
}

/*
 * Whether segd's RSS means what segd allocated: not under valgrind or
 * AddressSanitizer, whose allocators replace malloc (ASan's quarantine
 * holds freed memory; neither gives it back on malloc_trim).  When not,
 * the check is reported as skipped.
 */
static int
rss_meaningful(const char *test)
{
	static int said;	/* one skip a test (each runs in its own fork) */
	char path[64], line[512];
	int asan = 0;
	FILE *f;

	if (ck_wrapped()) {
		if (!said++)
			ck_skip(test, "segd's memory: not measured under "
			    "valgrind's allocator");
		return 0;
	}
	snprintf(path, sizeof path, "/proc/%d/maps", (int)h_segd);
	if ((f = fopen(path, "re")) != NULL) {
		while (!asan && fgets(line, sizeof line, f) != NULL)
			asan = strstr(line, "libasan") != NULL;
		fclose(f);
	}
	if (asan && !said++)
		ck_skip(test, "segd's memory: not measured under "
		    "AddressSanitizer's allocator");
	return !asan;
}

/* segd grew by less than twice a uid's share of queued replies. */
static void
rss_bounded(const char *test, long rss0, long rss1)
{
	if (rss_meaningful(test))
		ck_assert_msg(rss1 - rss0 < 2 * (long)(UID_OUT >> 10), "segd "
		    "grew from %ld to %ld KiB", rss0, rss1);
}

/* segd's RSS comes back near rss0 once the abusers left. */
static void
rss_returns(const char *test, long rss0)
{
	long limit = rss0 + 8 * 1024;

	if (rss_meaningful(test))
		ck_assert_msg(h_until(rss_back, &limit, ck_scale(5000)),
		    "segd keeps %ld KiB after the abusers left (%ld before)",
		    h_segd_rss_kib(), rss0);
}

START_TEST(nonreaders_memory)
{
	struct flood fl = { 300, SEGW_LIST, 0, 0 };
	long rss0, rss1;
	struct kid k;
	char line[64];

	fl.n = scaled(300);
	fl.max_ms = ck_scale(30000);
	make_listing();
	rss0 = h_segd_rss_kib();
	kid_start(&k, NOBODY, flooder, &fl);
	kid_report(&k, line, sizeof line, ck_scale(90000));
	rss1 = h_segd_rss_kib();
	/* the uid's share of queued replies, and room for the rest */
	rss_bounded(__func__, rss0, rss1);
	others_served();
	kid_stop(&k);
	rss_returns(__func__, rss0);	/* near its baseline again */
}
END_TEST

/* ---- half a frame ---- */

START_TEST(half_frame_dropped)
{
	uint8_t buf[256];
	size_t n;
	int idle, half;

	h_segd_restart("-I", "300", NULL);
	h_make_seg("probe", 0644, "va 0x23000000 0x1000");
	idle = h_raw_connect();
	half = h_raw_connect();
	ck_assert_int_ge(idle, 0);
	ck_assert_int_ge(half, 0);
	n = h_req_frame(buf, sizeof buf, SEGW_HELLO, "", SEGW_VERSION);
	ck_assert_int_eq(write_all(half, buf, n - 3), 0);	/* and stops */
	ck_assert_msg(h_closed_by_segd(half, ck_scale(3000)), "a client that "
	    "sent half a frame was not dropped");
	/* a client that sent nothing is not idle in this sense: it stays */
	ck_assert_int_eq(write_all(idle, buf, n), 0);
	ck_assert_int_eq(read_reply(idle, ck_scale(2000)), 0);
	ck_sleep_ms(600);
	n = h_req_frame(buf, sizeof buf, SEGW_STAT, "probe", 0);
	ck_assert_int_eq(write_all(idle, buf, n), 0);
	ck_assert_int_eq(read_reply(idle, ck_scale(2000)), 0);
	close(idle);
	close(half);
	h_segd_opts[0] = NULL;
}
END_TEST

/* ---- 7: segd's descriptors ---- */

/* Create and allocate n segments of a page; how many were made. */
static int
make_many(int n, char *err, size_t errsize)
{
	char name[32];
	int i;

	for (i = 0; i < n; i++) {
		snprintf(name, sizeof name, "m%d", i);
		if (seg_create(name, 0600) < 0 ||
		    seg_ctl(name, "va 0 0x1000") < 0) {
			snprintf(err, errsize, "%s", seg_errstr());
			return i;
		}
	}
	return n;
}

START_TEST(fd_limit_raised)
{
	struct rlimit rl;
	char err[256] = "";
	int n = ck_wrapped() ? 1200 : 2000, made;

	if (ck_wrapped()) {
		CK_SKIP("valgrind fixes segd's descriptor limit when it starts "
		    "it: segd cannot raise it");
		return;
	}
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_max < 4096 + 1024 + 256 + (rlim_t)n) {
		CK_SKIP("the hard open-file limit (%lu) leaves no room for %d "
		    "segments", (unsigned long)rl.rlim_max, n);
		return;
	}
	h_segd_stop();
	rl.rlim_cur = 1024;	/* ulimit -n 1024, as segd is often started */
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	h_segd_start();
	made = make_many(n, err, sizeof err);
	ck_assert_msg(made == n, "made %d of %d segments: %s", made, n, err);
}
END_TEST

START_TEST(fd_limit_caps_segments)
{
	struct rlimit rl = { 1024, 1024 };
	char err[256] = "", want[64], *log, *at;
	unsigned long room = 0, limit = 0;
	unsigned clients = 0;
	int made;

	h_segd_stop();
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	h_segd_start();
	/* segd says at start what it can hold */
	log = h_log_read();
	for (at = strstr(log, "open-file limit "); at != NULL &&
	    strstr(at + 1, "open-file limit ") != NULL; )
		at = strstr(at + 1, "open-file limit ");	/* this start's */
	ck_assert_msg(at != NULL && sscanf(at, "open-file limit %lu: room for "
	    "%u clients and %lu segments", &limit, &clients, &room) == 3,
	    "segd's log says nothing of its descriptors:\n%s", log);
	free(log);
	/* 1024, less what valgrind keeps for itself when it runs segd */
	ck_assert_uint_le(limit, 1024);
	ck_assert_uint_ge(limit, 1000);
	ck_assert_uint_gt(room, 100);
	ck_assert_uint_lt(room, 1024);
	/* and holds to it: the limit is the error, not a lack of descriptors */
	made = make_many((int)room + 10, err, sizeof err);
	ck_assert_int_eq(made, (int)room);
	snprintf(want, sizeof want, "too many segments (limit %lu)", room);
	ck_assert_str_eq(err, want);
	ck_assert_int_eq(fresh_stat("m0", ck_scale(1000)), 0);
	ck_assert_int_eq(seg_remove("m0"), 0);
	ck_assert_int_eq(seg_create("again", 0600), 0);
	ck_assert_int_eq(seg_ctl("again", "va 0 0x1000"), 0);
}
END_TEST

/* ---- quotas per uid ---- */

static void
creator(void *arg, FILE *rep)
{
	char name[32];
	int i, n = *(int *)arg;

	for (i = 0; i < n; i++) {
		snprintf(name, sizeof name, "%s%d", getuid() == NOBODY ? "u" :
		    "o", i);
		if (seg_create(name, 0600) < 0)
			break;
	}
	fprintf(rep, "%d %d %s\n", i, errno, i < n ? seg_errstr() : "");
}

/* As uid: ctl name msg; 0, or the error in err. */
static int
ctl_as(uid_t uid, const char *name, const char *msg, char *err, size_t size)
{
	struct h_run r;
	int rc = h_segctl_as(&r, (int)uid, NULL, 0, "ctl", name, msg, NULL);

	snprintf(err, size, "%s", r.err);
	h_run_free(&r);
	return rc;
}

/* As uid, create segments (10 asked) until segd refuses: after want, with
 * ENOSPC; the child's report in line. */
static void
creates_until_full(uid_t uid, int want, char *line, size_t size)
{
	int n = 10, made, code;

	kid_run(uid, creator, &n, line, size);
	ck_assert_int_eq(sscanf(line, "%d %d", &made, &code), 2);
	ck_assert_int_eq(made, want);
	ck_assert_int_eq(code, ENOSPC);
}

START_TEST(quota_per_uid)
{
	char line[512], err[512], want[256];
	int n = 10;

	h_segd_restart("-N", "10", "-M", "0x100000", NULL);
	/* by default one uid has half of -N */
	creates_until_full(NOBODY, 5, line, sizeof line);
	ck_assert_msg(strstr(line, "too many segments of uid 65534 (quota 5)")
	    != NULL, "%s", line);
	/* others still may */
	ck_assert_int_eq(seg_create("root1", 0600), 0);
	kid_run(OTHER, creator, &n, line, sizeof line);
	ck_assert_msg(atoi(line) == 4, "uid %d: %s", OTHER, line); /* -N's rest */
	/* and half of -M */
	ck_assert_int_eq(ctl_as(NOBODY, "u0", "va 0x30000000 0x80000", err,
	    sizeof err), 0);
	ck_assert_int_ne(ctl_as(NOBODY, "u1", "va 0x31000000 0x1000", err,
	    sizeof err), 0);
	snprintf(want, sizeof want, "segment memory quota of uid %d reached: "
	    "524288 of 524288 bytes in use", NOBODY);
	ck_assert_msg(strstr(err, want) != NULL, "%s", err);
	ck_assert_int_eq(seg_ctl("root1", "va 0x32000000 0x80000"), 0);
	h_segd_opts[0] = NULL;
}
END_TEST

START_TEST(quota_options)
{
	char line[512], err[512];

	h_segd_restart("-U", "3", "-B", "0x4000", NULL);
	creates_until_full(NOBODY, 3, line, sizeof line);
	ck_assert_int_eq(ctl_as(NOBODY, "u0", "va 0x30000000 0x3000", err,
	    sizeof err), 0);
	ck_assert_int_ne(ctl_as(NOBODY, "u1", "va 0x31000000 0x2000", err,
	    sizeof err), 0);
	ck_assert_int_eq(ctl_as(NOBODY, "u1", "va 0x31000000 0x1000", err,
	    sizeof err), 0);
	/* removed, its quota is free again */
	ck_assert_int_eq(seg_remove("u0"), 0);
	ck_assert_int_eq(ctl_as(NOBODY, "u2", "va 0x32000000 0x3000", err,
	    sizeof err), 0);
	/* root is not held by them */
	ck_assert_int_eq(make_many(5, err, sizeof err), 5);
	h_segd_opts[0] = NULL;
}
END_TEST

/* ---- 8: removed but attached ---- */

START_TEST(removed_held_counted)
{
	void *va;

	h_segd_restart("-N", "2", "-M", "0x20000", NULL);
	h_make_seg("held", 0600, "va 0x34000000 0x10000");
	h_make_seg("other", 0600, "va 0x35000000 0x10000");
	va = seg_attach(0, "held", 0, 0);
	ck_assert_msg(va != NULL, "%s", seg_errstr());
	ck_assert_int_eq(seg_remove("held"), 0);
	/* still attached: it still counts against -N and -M */
	errno = 0;
	ck_assert_int_eq(seg_create("third", 0600), -1);
	ck_assert_int_eq(errno, ENOSPC);
	ck_assert_str_eq(seg_errstr(), "too many segments (limit 2)");
	ck_assert_int_eq(seg_remove("other"), 0);
	ck_assert_int_eq(seg_create("third", 0600), 0);
	errno = 0;
	ck_assert_int_eq(seg_ctl("third", "va 0x36000000 0x20000"), -1);
	ck_assert_int_eq(errno, ENOSPC);
	/* detached, it is gone and its room with it */
	ck_assert_int_eq(seg_detach(va), 0);
	ck_assert_int_eq(seg_ctl("third", "va 0x36000000 0x20000"), 0);
	ck_assert_int_eq(seg_create("fourth", 0600), 0);
	ck_assert_int_eq(seg_create("fifth", 0600), -1);
	h_segd_opts[0] = NULL;
}
END_TEST

/* ---- all at once, measured ---- */

START_TEST(abusers_measured)
{
	struct flood readers = { 300, SEGW_LIST, 0, 0 };
	struct flood hoard = { 1, SEGW_OPEN, SEGW_RD, 0 };
	struct kid kr, kh, kc;
	char l1[64], l2[64], l3[64];
	long rss0, rss1, rss2, worst = 0, t;
	int n = scaled(10000), i, fd0, fd1;

	readers.n = scaled(300);
	readers.max_ms = hoard.max_ms = ck_scale(30000);
	make_listing();
	rss0 = h_segd_rss_kib();
	fd0 = nfds();
	kid_start(&kr, NOBODY, flooder, &readers);
	kid_start(&kh, NOBODY, flooder, &hoard);
	kid_report(&kr, l1, sizeof l1, ck_scale(90000));
	kid_report(&kh, l2, sizeof l2, ck_scale(90000));
	kid_start(&kc, NOBODY, connector, &n);
	kid_report(&kc, l3, sizeof l3, ck_scale(90000));
	for (i = 0; i < 5; i++)
		if ((t = others_served()) > worst)
			worst = t;
	rss1 = h_segd_rss_kib();
	fd1 = nfds();
	rss_bounded(__func__, rss0, rss1);
	kid_stop(&kc);
	kid_stop(&kh);
	kid_stop(&kr);
	t = rss0 + 8 * 1024;
	h_until(rss_back, &t, ck_scale(5000));
	rss2 = h_segd_rss_kib();
	printf("limits: uid %d with %d connection attempts (%s refused), %d "
	    "non-reading clients (%s bytes sent), a hoarder (%s bytes of OPEN "
	    "sent): stat by root and uid %d within %ld ms at worst; segd's RSS "
	    "%ld KiB before, %ld KiB under abuse, %ld KiB after; descriptors "
	    "%d before, %d under abuse\n", NOBODY, n, l3, readers.n, l1, l2,
	    OTHER, worst, rss0, rss1, rss2, fd0, fd1);
	rss_returns(__func__, rss0);
}
END_TEST

void
suite(Suite *s)
{
	ck_tcase(s, "slots", &h_fix, H_TIMEOUT_S, slots_per_uid, NULL);
	ck_tcase(s, "descriptors", &h_fix, H_TIMEOUT_S, fd_hoarder, NULL);
	ck_tcase(s, "memory", &h_fix, H_TIMEOUT_S, nonreaders_memory, NULL);
	ck_tcase(s, "idle", &h_fix, H_TIMEOUT_S, half_frame_dropped, NULL);
	ck_tcase(s, "segd-fds", &h_fix, H_TIMEOUT_S, fd_limit_raised,
	    fd_limit_caps_segments, NULL);
	ck_tcase(s, "quotas", &h_fix, H_TIMEOUT_S, quota_per_uid,
	    quota_options, removed_held_counted, NULL);
	ck_tcase(s, "measured", &h_fix, H_TIMEOUT_S, abusers_measured, NULL);
}
