/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * zio_bench: the zero-copy buffer benchmark (issue 5).  Not a test: it
 * prints figures.  bench/run-zio runs it inside one soft-RoCE session,
 * after tests/rdma/perftest-baseline and ib_send_bw at small sizes, against
 * two segd instances on the same device (A: the owner's, B: the other
 * node's).  Three modes:
 *
 *   zio_bench rate -a SOCK_A [-b SOCK_B -r REF] -s SEG -n N [-B BATCH]
 *             [-P SENDERS] [-R REPS] [-Y MPPS] [-A]
 *       Free-address notifications per second.  This process (on A) holds
 *       umsg segment SEG's pool and allocates N 64-byte buffers; SENDERS
 *       child processes (default 1) return them, and this process reads
 *       free until all are back (putting them into the pool again).
 *       Without -b the children return them locally with seg_zfree (one
 *       address a call); with -b they talk to segd B, import REF (SEG
 *       exported by A) and return them with seg_zfree_remotev, BATCH
 *       addresses a call (seg_zfree_remote when BATCH is 1).  -A: one
 *       address a call with seg_zfree_async (local or remote), reading
 *       the outcomes as they come; the key starts with "async.".  The rate is
 *       N / (time from the go to the last address read back), the median
 *       of REPS runs (default 3).  Prints "KEY value" lines: KEY is
 *       local.1 or remote.BATCH (with .pP for P > 1 senders), then
 *       .rate (per second, end to end), .send_rate (what the senders saw),
 *       .n, .calls_per_s, and .yard_mpps: MPPS, ib_send_bw's small-size
 *       message rate measured just before (the row's yardstick).
 *       -L (with -b, one sender, batch 1, -R 1): the latency of each
 *       seg_zfree_remote call instead: lat.remote.1.p50_us, .p10_us,
 *       .p90_us, .p99_us, .mean_us, and its breakdown: .peer_free_us, the
 *       mean of B's segd-to-segd FREE round trips over the run (its
 *       segd_peer_op_latency_seconds counters read before and after,
 *       .peer_frees of them), and .rest_us, the mean call minus that (the
 *       client's socket round trip and both segds' work).
 *   zio_bench pipe -a SOCK_A -b SOCK_B -r REF -s SEG -z ZCSEG -S BUFSIZE
 *             -n TOTAL [-k OUTSTANDING] [-c CHUNK] [-R REPS] [-A]
 *       The producer/consumer pipeline: this process (on A) publishes
 *       buffers of umsg SEG through a ring in SEG (stamped with their
 *       sequence number), with at most OUTSTANDING (default 64) not yet
 *       returned; a child on B reads the ring and the buffers by RDMA get
 *       (seg_getv into ZCSEG, attached there: zero copy; each get also
 *       reads the ring again, into ZCSEG after the buffers, so that the
 *       next turn needs no read of its own while buffers wait), checks
 *       the stamps, and returns the buffers with seg_zfree_remotev (-A:
 *       with seg_zfree_asyncv, one call a turn, outcomes read without
 *       waiting; keys pipe.async.BUFSIZE...).  The consumer takes at most CHUNK buffers
 *       (default: all published, up to what ZCSEG and a batch hold) before
 *       it returns them: with -A and a CHUNK below OUTSTANDING, its reads
 *       go on while the producer refills what it returned.  The time is
 *       from the consumer's first read of the ring to the last buffer back
 *       in the producer; the consumer's attach and import before it (its
 *       RDMA connection) are left out, as perftest leaves out its own,
 *       and printed as .setup_s.  Prints pipe.BUFSIZE.mbps (MB/s, 2^20
 *       bytes, of buffers through the pipeline: the median of REPS runs),
 *       .buffers_per_s, .setup_s, .n, .outstanding.
 *   zio_bench report -p PERFTEST.json -o OUT.json [-g WHERE] KVFILE...
 *       The table: each figure beside ib_send_bw's small-size message rate
 *       (KEY.yard_mpps, else send.SIZE.mpps in the KV files, the smallest
 *       SIZE) or ib_read_bw at the pipeline's buffer size
 *       (read.[async.]SIZE.beside_mbps, else perftest.json, else
 *       read.SIZE.mbps),
 *       and the ratio; the latency rows beside twice send_lat.8.us
 *       (ib_send_lat's typical half round trip); writes OUT.json (WHERE: a
 *       note on the machine, kept as "where").
 */
#include <sys/wait.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "seg.h"
#include "benchlib.h"

#define RING_MAGIC 0x5a494f42454e4348ULL	/* "ZIOBENCH" */
#define MAXREPS    9

struct ring {
	uint64_t magic, head, slots, bufsize, total, pad[3];
};

struct desc {
	uint64_t addr, seq;
};

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: zio_bench rate|pipe|report ... (see the "
	    "comment at the top of bench/zio_bench.c)\n");
	exit(2);
}

static void
xwrite(int fd, const void *p, size_t n)
{
	if (write(fd, p, n) != (ssize_t)n)
		fail("pipe write: %s", strerror(errno));
}

static void
xread(int fd, void *p, size_t n)
{
	ssize_t r;

	while ((r = read(fd, p, n)) < 0 && errno == EINTR)
		;
	if (r != (ssize_t)n)
		fail("pipe read: %s", r < 0 ? strerror(errno) : "short");
}

/*
 * Fork a child that talks to segd at sock (after fork libseg makes its own
 * connection and forgets the parent's pools).  It waits for a byte on
 * *go_w's pipe before fn runs, and sends fn's double back on *res_r's.
 */
static pid_t
child(const char *sock, double (*fn)(void *), void *arg, int *go_w,
    int *res_r)
{
	int go[2], res[2];
	pid_t pid;

	if (pipe(go) < 0 || pipe(res) < 0)
		fail("pipe: %s", strerror(errno));
	fflush(stdout);
	if ((pid = fork()) < 0)
		fail("fork: %s", strerror(errno));
	if (pid == 0) {
		double v;
		char c;
		close(go[1]);
		close(res[0]);
		if (sock != NULL)
			setenv("SEGD_SOCKET", sock, 1);
		xread(go[0], &c, 1);
		v = fn(arg);
		xwrite(res[1], &v, sizeof v);
		_exit(0);
	}
	close(go[0]);
	close(res[1]);
	*go_w = go[1];
	*res_r = res[0];
	return pid;
}

static void
reap(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			fail("waitpid: %s", strerror(errno));
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail("a child failed");
}

/* --- notification rate -------------------------------------------------- */

static int async_mode;	/* -A: seg_zfree_async */

/* Outcomes of asynchronous returns read (waiting for one if wait): how
 * many; a refused one fails. */
static uint64_t
outcomes(int wait)
{
	static struct seg_zoutcome o[256];
	struct pollfd pfd;
	int i, n;

	if ((pfd.fd = seg_zfree_async_fd()) < 0)
		fail("seg_zfree_async_fd: %s", seg_errstr());
	pfd.events = POLLIN;
	if (wait && poll(&pfd, 1, 60000) != 1)
		fail("no outcome of an asynchronous return in 60 s");
	if ((n = seg_zfree_outcomes(o, 256)) < 0)
		fail("seg_zfree_outcomes: %s", seg_errstr());
	for (i = 0; i < n; i++)
		if (o[i].err != 0)
			fail("return of 0x%" PRIx64 ": %s", o[i].addr, o[i].msg);
	return (uint64_t)n;
}

/* n returns with seg_zfree_async (one call each), or seg_zfree_asyncv
 * (vec: one call for as many as the ring has room for); *waiting counts
 * outcomes to come. */
static void
return_async(seg_import_t *imp, const uint64_t *a, uint64_t n,
    uint64_t *waiting, int vec)
{
	uint64_t i = 0;
	int k;

	while (i < n) {
		if (vec)
			k = seg_zfree_asyncv(imp, a + i, (int)(n - i));
		else
			k = seg_zfree_async(imp, a[i]) < 0 ? -1 : 1;
		if (k < 0) {
			if (errno != EAGAIN)
				fail("seg_zfree_async%s(0x%" PRIx64 "): %s",
				    vec ? "v" : "", a[i], seg_errstr());
			*waiting -= outcomes(1);
			continue;
		}
		*waiting += (uint64_t)k;
		if (((i + (uint64_t)k) >> 8) != (i >> 8))
			*waiting -= outcomes(0);
		i += (uint64_t)k;
	}
}

/* --- the latency of a synchronous remote free ----------------------- */

static int lat_mode;	/* -L: each seg_zfree_remote timed */

/* The importer's segd's FREE round trips to its peers so far: seconds in
 * all and how many (segd_peer_op_latency_seconds, op "free"). */
static void
peer_free_lat(double *sum_s, double *count)
{
	static char buf[1 << 16];
	const char *p, *sum_k = "segd_peer_op_latency_seconds_sum{",
	    *cnt_k = "segd_peer_op_latency_seconds_count{";
	ssize_t n;

	if ((n = seg_metrics(buf, sizeof buf - 1)) < 0)
		fail("seg_metrics: %s", seg_errstr());
	buf[n] = '\0';
	*sum_s = *count = 0;
	for (p = buf; p != NULL && *p; p = strchr(p, '\n') ?
	    strchr(p, '\n') + 1 : NULL) {
		const char *nl = strchr(p, '\n'), *v = strstr(p, "} ");
		int is_sum = strncmp(p, sum_k, strlen(sum_k)) == 0;
		if ((!is_sum && strncmp(p, cnt_k, strlen(cnt_k)) != 0) ||
		    v == NULL || (nl != NULL && v > nl))
			continue;
		if (!memmem(p, (size_t)(v - p), "op=\"free\"", 9))
			continue;
		*(is_sum ? sum_s : count) += strtod(v + 2, NULL);
	}
}

/*
 * The latency of each of n seg_zfree_remote calls, and its breakdown:
 * the importer's segd's segd-to-segd FREE round trip (the mean of its
 * counters over the run) and the rest (the mean call minus that).
 * Prints lat.remote.1.* lines.
 */
static void
time_frees(seg_import_t *imp, const uint64_t *a, uint64_t n)
{
	double *us = xcalloc(n, sizeof *us), s0, c0, s1, c1, sum = 0, t;
	uint64_t i;

	peer_free_lat(&s0, &c0);
	for (i = 0; i < n; i++) {
		t = now_s();
		if (seg_zfree_remote(imp, a[i]) < 0)
			fail("seg_zfree_remote(0x%" PRIx64 "): %s", a[i],
			    seg_errstr());
		us[i] = (now_s() - t) * 1e6;
		sum += us[i];
	}
	peer_free_lat(&s1, &c1);
	qsort(us, n, sizeof *us, cmp_double);
	printf("lat.remote.1.p50_us %.2f\n", pct(us, n, 0.5));
	printf("lat.remote.1.p10_us %.2f\n", pct(us, n, 0.1));
	printf("lat.remote.1.p90_us %.2f\n", pct(us, n, 0.9));
	printf("lat.remote.1.p99_us %.2f\n", pct(us, n, 0.99));
	printf("lat.remote.1.mean_us %.2f\n", sum / (double)n);
	printf("lat.remote.1.n %" PRIu64 "\n", n);
	printf("lat.remote.1.peer_frees %.0f\n", c1 - c0);
	if (c1 > c0) {
		double peer = (s1 - s0) / (c1 - c0) * 1e6;
		printf("lat.remote.1.peer_free_us %.2f\n", peer);
		printf("lat.remote.1.rest_us %.2f\n", sum / (double)n - peer);
	}
	fflush(stdout);
	free(us);
}

struct sender {
	const char     *ref;	/* NULL: local seg_zfree */
	const uint64_t *a;
	uint64_t        n;
	int             batch;
	uint64_t        calls;
};

/* Return the addresses; the seconds it took. */
static double
send_all(void *arg)
{
	struct sender *s = arg;
	seg_import_t *imp = NULL;
	uint64_t i;
	double t0;

	if (s->ref != NULL && (imp = seg_import(s->ref)) == NULL)
		fail("seg_import %s: %s", s->ref, seg_errstr());
	t0 = now_s();
	if (lat_mode) {
		time_frees(imp, s->a, s->n);
	} else if (async_mode) {
		uint64_t waiting = 0;
		return_async(imp, s->a, s->n, &waiting, 0);
		while (waiting > 0)
			waiting -= outcomes(1);
	}
	for (i = async_mode || lat_mode ? s->n : 0; i < s->n; ) {
		uint64_t k = s->n - i < (uint64_t)s->batch ? s->n - i :
		    (uint64_t)s->batch;
		int rc;
		if (imp == NULL)
			rc = seg_zfree((void *)(uintptr_t)s->a[i]);
		else if (k == 1)
			rc = seg_zfree_remote(imp, s->a[i]);
		else
			rc = seg_zfree_remotev(imp, s->a + i, (int)k);
		if (rc < 0)
			fail("returning 0x%" PRIx64 " (+%" PRIu64 "): %s", s->a[i],
			    k - 1, seg_errstr());
		i += k;
	}
	t0 = now_s() - t0;
	if (imp)
		seg_unimport(imp);
	return t0;
}

static int
mode_rate(int argc, char **argv)
{
	const char *sa = NULL, *sb = NULL, *ref = NULL, *seg = NULL;
	uint64_t n = 0, i, per;
	int batch = 1, senders = 1, reps = 3, rep, ch, p;
	double rate[MAXREPS], srate[MAXREPS], cps[MAXREPS], yard = 0;
	uint64_t *a, *buf;
	char key[64];

	while ((ch = getopt(argc, argv, "a:b:r:s:n:B:P:R:Y:AL")) != -1) {
		switch (ch) {
		case 'A': async_mode = 1; break;
		case 'L': lat_mode = 1; break;
		case 'Y': yard = strtod(optarg, NULL); break;
		case 'a': sa = optarg; break;
		case 'b': sb = optarg; break;
		case 'r': ref = optarg; break;
		case 's': seg = optarg; break;
		case 'n': n = num(optarg); break;
		case 'B': batch = (int)num(optarg); break;
		case 'P': senders = (int)num(optarg); break;
		case 'R': reps = (int)num(optarg); break;
		default: usage();
		}
	}
	if (sa == NULL || seg == NULL || n == 0 || batch < 1 || senders < 1 ||
	    reps < 1 || reps > MAXREPS || (sb != NULL) != (ref != NULL) ||
	    (sb == NULL && batch != 1) || optind != argc ||
	    (lat_mode && (sb == NULL || batch != 1 || senders != 1 ||
	    reps != 1 || async_mode)))
		usage();
	setenv("SEGD_SOCKET", sa, 1);
	a = xcalloc(n, 8);
	buf = xcalloc(8192, 8);
	per = (n + (uint64_t)senders - 1) / (uint64_t)senders;
	for (rep = 0; rep < reps; rep++) {
		struct sender s[64];
		pid_t pid[64];
		int go[64], res[64];
		uint64_t got = 0;
		double t0, t, st = 0;

		if (senders > 64)
			usage();
		for (i = 0; i < n; i++) {
			void *q = seg_zalloc(seg, 64);
			if (q == NULL)
				fail("seg_zalloc (%" PRIu64 " of %" PRIu64 "): %s",
				    i + 1, n, seg_errstr());
			a[i] = (uintptr_t)q;
		}
		for (p = 0; p < senders; p++) {
			s[p].ref = ref;
			s[p].a = a + (uint64_t)p * per;
			s[p].n = (uint64_t)p * per >= n ? 0 :
			    n - (uint64_t)p * per < per ? n - (uint64_t)p * per : per;
			s[p].batch = batch;
			pid[p] = child(sb, send_all, &s[p], &go[p], &res[p]);
		}
		usleep(300000);	/* the children are up (and importing) */
		t0 = now_s();
		for (p = 0; p < senders; p++)
			xwrite(go[p], "g", 1);
		while (got < n) {
			got += free_read(seg, buf, 8192);
		}
		t = now_s() - t0;
		for (p = 0; p < senders; p++) {
			double v;
			xread(res[p], &v, sizeof v);
			if (v > st)
				st = v;
			close(go[p]);
			close(res[p]);
			reap(pid[p]);
		}
		if (got != n)
			fail("%" PRIu64 " addresses back, not %" PRIu64, got, n);
		rate[rep] = (double)n / t;
		srate[rep] = (double)n / st;
		cps[rep] = (double)((n + (uint64_t)batch - 1) / (uint64_t)batch) /
		    t;
		fprintf(stderr, "rate %s batch %d senders %d run %d: %" PRIu64
		    " in %.3f s: %.0f/s\n", sb ? "remote" : "local", batch,
		    senders, rep + 1, n, t, rate[rep]);
	}
	snprintf(key, sizeof key, "%s%s.%d", async_mode ? "async." :
	    lat_mode ? "lat." : "",
	    sb ? "remote" : "local", batch);
	if (senders > 1)
		snprintf(key + strlen(key), sizeof key - strlen(key), ".p%d",
		    senders);
	printf("%s.rate %.1f\n", key, median(rate, reps));
	printf("%s.send_rate %.1f\n", key, median(srate, reps));
	printf("%s.calls_per_s %.1f\n", key, median(cps, reps));
	printf("%s.n %" PRIu64 "\n", key, n);
	if (yard > 0)
		printf("%s.yard_mpps %g\n", key, yard);
	free(a);
	free(buf);
	return 0;
}

/* --- the pipeline ------------------------------------------------------- */

struct consumer {
	const char *ref, *zseg;
	uint64_t    roff_abs;
	uint64_t    chunk;	/* buffers read before they are returned */
};

/*
 * The buffers from next on, at most max, whose descriptors are in hdr's
 * copy of the ring; *avail: how many the copy's head says are published.
 * A READ is not atomic: a descriptor read before the producer wrote it
 * shows an older sequence, and ends the run.
 */
static uint64_t
ring_ready(const struct ring *hdr, uint64_t slots, uint64_t max,
    uint64_t next, uint64_t *avail)
{
	const struct desc *d = (const struct desc *)(hdr + 1);
	uint64_t n;

	if (hdr->slots != slots)
		fail("the ring's slots changed under the consumer");
	*avail = hdr->head > next ? hdr->head - next : 0;
	if (*avail > max)
		*avail = max;
	for (n = 0; n < *avail && d[(next + n) % slots].seq == next + n; n++)
		;
	return n;
}

/*
 * Wait until the producer published buffer next: hdr's copy of the ring,
 * read with the last buffers, if it shows some; else one get of the
 * ring's head and all its descriptors (one round trip, not two), again
 * until some show.  How many, at most max, from next on.
 */
static uint64_t
ring_wait(seg_import_t *imp, uint64_t roff, struct ring *hdr, uint64_t slots,
    uint64_t max, uint64_t next)
{
	size_t hlen = sizeof *hdr + slots * sizeof(struct desc);
	const struct desc *d = (const struct desc *)(hdr + 1);
	uint64_t n, avail, torn = 0;
	long w = 20;

	if ((n = ring_ready(hdr, slots, max, next, &avail)) > 0)
		return n;
	for (;;) {
		if (seg_get(imp, roff, hdr, hlen) != (ssize_t)hlen)
			fail("ring: %s", seg_errstr());
		if ((n = ring_ready(hdr, slots, max, next, &avail)) > 0)
			return n;
		if (avail > 0 && ++torn > 1000)
			fail("descriptor %" PRIu64 " has sequence %" PRIu64
			    " 1000 reads after the head passed it", next,
			    d[next % slots].seq);
		backoff(&w, 2000);
	}
}

static double
consume(void *arg)
{
	struct consumer *c = arg;
	struct seg_import_info info;
	struct seg_info zi;
	struct seg_iov *iov;
	struct desc *d;
	struct ring rg, *hdr;
	seg_import_t *imp;
	uint64_t roff, next = 0, maxb, *a, i, waiting = 0, hlen;
	uint8_t *zc;
	double t0 = 0;

	if (seg_stat(c->zseg, &zi) < 0 ||
	    (zc = seg_attach(0, c->zseg, NULL, 0)) == NULL)
		fail("attach %s: %s", c->zseg, seg_errstr());
	if ((imp = seg_import(c->ref)) == NULL ||
	    seg_import_info(imp, &info) < 0)
		fail("seg_import %s: %s", c->ref, seg_errstr());
	roff = c->roff_abs - info.rva;
	if (seg_get(imp, roff, &rg, sizeof rg) != sizeof rg ||
	    rg.magic != RING_MAGIC)
		fail("ring: %s", seg_errstr());
	/* the buffers at the start of ZCSEG, the ring's copy after them:
	 * all of a turn's reads land in registered memory (one run) */
	hlen = sizeof *hdr + rg.slots * sizeof *d;
	if (zi.len < hlen || (maxb = batch_max(zi.len - hlen, rg.bufsize,
	    rg.slots)) == 0)
		fail("%s is smaller than a buffer and the ring", c->zseg);
	if (c->chunk != 0 && c->chunk < maxb)
		maxb = c->chunk;
	hdr = (struct ring *)(zc + maxb * rg.bufsize);
	memset(hdr, 0, hlen);	/* nothing published: the first wait reads */
	hdr->slots = rg.slots;
	d = (struct desc *)(hdr + 1);
	iov = xcalloc(maxb + 1, sizeof *iov);
	a = xcalloc(maxb, 8);
	while (next < rg.total) {
		uint64_t n = ring_wait(imp, roff, hdr, rg.slots, maxb, next);

		if (t0 == 0)
			t0 = now_s();
		for (i = 0; i < n; i++) {
			struct desc *e = &d[(next + i) % rg.slots];
			iov[i].off = e->addr - info.rva;
			iov[i].buf = zc + i * rg.bufsize;
			iov[i].len = rg.bufsize;
			a[i] = e->addr;
		}
		/* the ring again with them, for the next turn's ring_wait */
		iov[n].off = roff;
		iov[n].buf = hdr;
		iov[n].len = hlen;
		if (seg_getv(imp, iov, (int)n + 1) < 0)
			fail("seg_getv: %s", seg_errstr());
		for (i = 0; i < n; i++) {
			uint64_t seq;
			memcpy(&seq, iov[i].buf, 8);
			if (seq != next + i)
				fail("buffer 0x%" PRIx64 " holds sequence %" PRIu64
				    ", not %" PRIu64, a[i], seq, next + i);
		}
		if (async_mode)
			return_async(imp, a, n, &waiting, 1);
		else if (seg_zfree_remotev(imp, a, (int)n) < 0)
			fail("seg_zfree_remotev: %s", seg_errstr());
		next += n;
	}
	while (waiting > 0)
		waiting -= outcomes(1);
	seg_unimport(imp);
	return t0;	/* the first read: the clock is the producer's too */
}

static int
mode_pipe(int argc, char **argv)
{
	const char *sa = NULL, *sb = NULL, *ref = NULL, *seg = NULL;
	const char *zseg = NULL;
	uint64_t bufsize = 0, total = 0, maxout = 64, chunk = 0, slots;
	int reps = 3, rep, ch;
	double mbps[MAXREPS], bps[MAXREPS], setup[MAXREPS];
	const char *pfx;
	struct seg_info si;
	struct ring *rg;
	struct desc *d;
	uint64_t *v;

	while ((ch = getopt(argc, argv, "a:b:r:s:z:S:n:k:c:R:A")) != -1) {
		switch (ch) {
		case 'A': async_mode = 1; break;
		case 'c': chunk = num(optarg); break;
		case 'a': sa = optarg; break;
		case 'b': sb = optarg; break;
		case 'r': ref = optarg; break;
		case 's': seg = optarg; break;
		case 'z': zseg = optarg; break;
		case 'S': bufsize = num(optarg); break;
		case 'n': total = num(optarg); break;
		case 'k': maxout = num(optarg); break;
		case 'R': reps = (int)num(optarg); break;
		default: usage();
		}
	}
	if (sa == NULL || sb == NULL || ref == NULL || seg == NULL ||
	    zseg == NULL || bufsize < 16 || total == 0 || maxout == 0 ||
	    reps < 1 || reps > MAXREPS || optind != argc)
		usage();
	setenv("SEGD_SOCKET", sa, 1);
	if (seg_stat(seg, &si) < 0 || seg_attach(0, seg, NULL, 0) == NULL)
		fail("attach %s: %s", seg, seg_errstr());
	slots = maxout;
	rg = seg_zalloc(seg, sizeof *rg + slots * sizeof *d);
	if (rg == NULL)
		fail("seg_zalloc of the ring: %s", seg_errstr());
	d = (struct desc *)(rg + 1);
	v = xcalloc(8192, 8);
	for (rep = 0; rep < reps; rep++) {
		struct consumer c = { ref, zseg, (uintptr_t)rg, chunk };
		uint64_t seq = 0, back = 0;	/* seq - back: outstanding */
		int go, res;
		double t0, t, cstart;
		pid_t pid;

		memset(rg, 0, sizeof *rg + slots * sizeof *d);
		rg->slots = slots;
		rg->bufsize = bufsize;
		rg->total = total;
		rg->magic = RING_MAGIC;
		pid = child(sb, consume, &c, &go, &res);
		usleep(300000);
		t0 = now_s();
		xwrite(go, "g", 1);
		while (back < total) {
			while (seq < total && seq - back < maxout) {
				uint64_t *w = seg_zalloc(seg, (size_t)bufsize);
				if (w == NULL)
					fail("seg_zalloc(%" PRIu64 "): %s", bufsize,
					    seg_errstr());
				w[0] = seq;
				w[1] = (uintptr_t)w;
				d[seq % slots].addr = (uintptr_t)w;
				d[seq % slots].seq = seq;
				seq++;
				__atomic_store_n(&rg->head, seq, __ATOMIC_RELEASE);
			}
			back += free_read(seg, v, 8192);
		}
		t = now_s();
		xread(res, &cstart, sizeof cstart);
		close(go);
		close(res);
		reap(pid);
		setup[rep] = cstart - t0;
		t -= cstart;
		mbps[rep] = (double)total * (double)bufsize / 1048576.0 / t;
		bps[rep] = (double)total / t;
		fprintf(stderr, "pipe %" PRIu64 " x %" PRIu64 " bytes run %d: "
		    "%.3f s from the first read (the consumer's import took "
		    "%.3f s before it): %.2f MB/s\n", total, bufsize, rep + 1, t,
		    setup[rep], mbps[rep]);
	}
	pfx = async_mode ? "async." : "";
	printf("pipe.%s%" PRIu64 ".mbps %.2f\n", pfx, bufsize,
	    median(mbps, reps));
	printf("pipe.%s%" PRIu64 ".buffers_per_s %.1f\n", pfx, bufsize,
	    median(bps, reps));
	printf("pipe.%s%" PRIu64 ".setup_s %.3f\n", pfx, bufsize,
	    median(setup, reps));
	printf("pipe.%s%" PRIu64 ".n %" PRIu64 "\n", pfx, bufsize, total);
	printf("pipe.%s%" PRIu64 ".outstanding %" PRIu64 "\n", pfx, bufsize,
	    maxout);
	free(v);
	return 0;
}

/* --- the report --------------------------------------------------------- */

static char kvs[1 << 16];
static size_t kvlen;

static int
kv_num(const char *key, double *v)
{
	size_t kl = strlen(key);
	const char *p;
	char *end;

	for (p = kvs; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, key, kl) == 0 && p[kl] == ' ') {
			*v = strtod(p + kl + 1, &end);
			return end == p + kl + 1 ? -1 : 0;
		}
	return -1;
}

struct row {
	char   figure[64], unit[16], base_name[64], key[48];
	double ours, base;
	int    have_ours, have_base;
};

static int
mode_report(int argc, char **argv)
{
	const char *ptpath = NULL, *out = NULL, *env = "";
	static const int batches[] = { 1, 16, 100, 500 };
	static const int sizes[] = { 4096, 65536, 1048576 };
	static const char *const async_rows[][2] = {
		{ "async.local.1.rate", "local seg_zfree_async, 1 sender" },
		{ "async.local.1.p4.rate", "local seg_zfree_async, 4 senders" },
		{ "async.remote.1.rate", "remote seg_zfree_async, 1 sender" },
		{ "async.remote.1.p4.rate", "remote seg_zfree_async, 4 senders" },
	};
	static const char *const lat_rows[][2] = {
		{ "lat.remote.1.p50_us", "remote zfree_remote 1 addr, p50" },
		{ "lat.remote.1.p10_us", " spread: p10" },
		{ "lat.remote.1.p90_us", " spread: p90" },
		{ "lat.remote.1.mean_us", " mean" },
		{ "lat.remote.1.peer_free_us", " of it segd-segd FREE (mean)" },
		{ "lat.remote.1.rest_us", " of it the rest (mean - FREE)" },
	};
	struct row rows[48];
	int nrows = 0, ch, i, j, sendsize = 0;
	double sendrate = 0, v;
	char *json, *txt, k[64];
	FILE *f;

	while ((ch = getopt(argc, argv, "p:o:g:")) != -1) {
		switch (ch) {
		case 'g': env = optarg; break;
		case 'p': ptpath = optarg; break;
		case 'o': out = optarg; break;
		default: usage();
		}
	}
	if (out == NULL)
		usage();
	for (i = optind; i < argc; i++) {
		if ((txt = slurp(argv[i])) == NULL)
			fail("%s: %s", argv[i], strerror(errno));
		if (kvlen + strlen(txt) + 2 > sizeof kvs)
			fail("too many figures");
		kvlen += (size_t)sprintf(kvs + kvlen, "%s\n", txt);
		free(txt);
	}
	json = ptpath ? slurp(ptpath) : NULL;
	/* the yardstick of notifications: the smallest size measured */
	for (i = 1; i <= 4096 && sendsize == 0; i *= 2) {
		snprintf(k, sizeof k, "send.%d.mpps", i);
		if (kv_num(k, &v) == 0 && v > 0) {
			sendsize = i;
			sendrate = v * 1e6;
		}
	}
	if (sendsize == 0 && pt_num(json, "ib_send_bw_mpps", "4096", &v) == 0 &&
	    v > 0) {
		sendsize = 4096;
		sendrate = v * 1e6;
	}
#define ROW(fig, unit_, key_, haveb, basev, bname) do {			\
	struct row *r_ = &rows[nrows++];					\
	snprintf(r_->figure, sizeof r_->figure, "%s", fig);		\
	snprintf(r_->unit, sizeof r_->unit, "%s", unit_);		\
	snprintf(r_->key, sizeof r_->key, "%s", key_);			\
	r_->have_ours = kv_num(key_, &r_->ours) == 0;			\
	r_->have_base = (haveb);					\
	r_->base = (basev);						\
	snprintf(r_->base_name, sizeof r_->base_name, "%s", bname);	\
} while (0)
	{
		char bname[48];
		snprintf(bname, sizeof bname, "ib_send_bw %d B msg/s", sendsize);
		ROW("local seg_zfree, batch 1", "addr/s", "local.1.rate",
		    sendsize > 0, sendrate, bname);
		if (kv_num("local.1.p4.rate", &v) == 0)
			ROW("local seg_zfree, 4 senders", "addr/s",
			    "local.1.p4.rate", sendsize > 0, sendrate, bname);
		for (i = 0; i < 4; i++) {
			char fig[64], key[48];
			snprintf(fig, sizeof fig, "remote zfree_remotev, batch %d",
			    batches[i]);
			snprintf(key, sizeof key, "remote.%d.rate", batches[i]);
			ROW(fig, "addr/s", key, sendsize > 0, sendrate, bname);
		}
		for (i = 0; i < 4; i++) {
			char fig[64], key[48];
			snprintf(key, sizeof key, "remote.%d.p4.rate", batches[i]);
			if (kv_num(key, &v) < 0)
				continue;
			snprintf(fig, sizeof fig, "remote, batch %d, 4 senders",
			    batches[i]);
			ROW(fig, "addr/s", key, sendsize > 0, sendrate, bname);
		}
		for (i = 0; i < 4; i++)
			if (kv_num(async_rows[i][0], &v) == 0)
				ROW(async_rows[i][1], "addr/s", async_rows[i][0],
				    sendsize > 0, sendrate, bname);
	}
	for (j = 0; j < 6; j++) {	/* seg_zfree_remotev, then async */
		char fig[64], key[48], sz[16], bname[64];
		const char *pfx = j < 3 ? "" : "async.";
		double b = 0;
		int hb;

		i = j % 3;
		snprintf(key, sizeof key, "pipe.%s%d.mbps", pfx, sizes[i]);
		if (kv_num(key, &v) < 0)
			continue;
		/* ib_read_bw run beside the figure (read.[async.]SIZE.
		 * beside_mbps), else the baseline's, else one run-zio made
		 * because the baseline had none */
		snprintf(sz, sizeof sz, "%d", sizes[i]);
		snprintf(bname, sizeof bname, "read.%s%d.beside_mbps", pfx,
		    sizes[i]);
		hb = kv_num(bname, &b) == 0 && b > 0;
		snprintf(bname, sizeof bname, "ib_read_bw %d B, beside",
		    sizes[i]);
		if (!hb) {
			hb = pt_num(json, "ib_read_bw", sz, &b) == 0 && b > 0;
			snprintf(bname, sizeof bname, "ib_read_bw %d B", sizes[i]);
		}
		if (!hb) {
			snprintf(k, sizeof k, "read.%d.mbps", sizes[i]);
			hb = kv_num(k, &b) == 0 && b > 0;
		}
		snprintf(fig, sizeof fig, "pipeline, %d B buffers%s", sizes[i],
		    j < 3 ? "" : ", async frees");
		ROW(fig, "MB/s", key, hb, b, bname);
	}
	{	/* perftest's latency is half a round trip: twice it */
		int hl = kv_num("send_lat.8.us", &v) == 0 && v > 0;
		double x;
		for (i = 0; i < 6; i++)
			if (kv_num(lat_rows[i][0], &x) == 0)
				ROW(lat_rows[i][1], "us", lat_rows[i][0], hl,
				    2 * v, "2x ib_send_lat 8 B");
	}
#undef ROW
	/* a rate row measured beside its own ib_send_bw run uses that one */
	for (i = 0; i < nrows; i++) {
		struct row *r = &rows[i];
		char yk[64];
		size_t kl = strlen(r->key);
		if (kl < 5 || strcmp(r->key + kl - 5, ".rate") != 0)
			continue;
		snprintf(yk, sizeof yk, "%.*s.yard_mpps", (int)(kl - 5), r->key);
		if (kv_num(yk, &v) == 0 && v > 0) {
			r->have_base = 1;
			r->base = v * 1e6;
			snprintf(r->base_name, sizeof r->base_name,
			    "ib_send_bw 8 B, beside");
		}
	}
	printf("\nzero-copy buffers beside perftest (same session%s)\n",
	    json ? "" : "; no perftest baseline");
	printf("%-34s %12s %-7s %-26s %12s %7s\n", "figure", "ours", "unit",
	    "yardstick", "theirs", "ratio");
	for (i = 0; i < nrows; i++) {
		struct row *r = &rows[i];
		char o[32] = "-", b[32] = "-", q[16] = "-";
		if (r->have_ours)
			snprintf(o, sizeof o, "%.1f", r->ours);
		if (r->have_base)
			snprintf(b, sizeof b, "%.1f", r->base);
		if (r->have_ours && r->have_base)
			snprintf(q, sizeof q, "%.3f", r->ours / r->base);
		printf("%-34s %12s %-7s %-26s %12s %7s\n", r->figure, o, r->unit,
		    r->base_name, b, q);
	}
	printf("aim: notification ratios >= 0.5 (addresses per second over "
	    "ib_send_bw's messages per second;\n\"beside\": ib_send_bw -s 8 "
	    "run just before that figure, else the session's first);\n"
	    "latency rows (us): ratio = ours over 2x ib_send_lat -s 8, a "
	    "round trip, run in this session)\n");
	if ((f = fopen(out, "w")) == NULL)
		fail("%s: %s", out, strerror(errno));
	fprintf(f, "{\n  \"tool\": \"zio_bench\",\n  \"perftest\": \"%s\",\n",
	    ptpath ? ptpath : "");
	fprintf(f, "  \"where\": \"");
	for (i = 0; env[i]; i++)	/* a JSON string: no quotes or controls */
		fputc(env[i] == '"' || env[i] == '\\' ||
		    (unsigned char)env[i] < 0x20 ? '_' : env[i], f);
	fprintf(f, "\",\n  \"units\": {\"rate\": \"addresses per second, end "
	    "to end\", \"bw\": \"MB/s (1 MB = 2^20 bytes)\", \"us\": \"microseconds a "
	    "call; yardstick 2x ib_send_lat\"},\n");
	fprintf(f, "  \"send_small_size\": %d,\n  \"send_small_msg_per_s\": ",
	    sendsize);
	json_num(f, sendsize > 0, sendrate, 6);
	fprintf(f, ",\n  \"aim_notification_ratio\": 0.5,\n  \"rows\": [\n");
	for (i = 0; i < nrows; i++) {
		struct row *r = &rows[i];
		fprintf(f, "    {\"figure\": \"%s\", \"key\": \"%s\", \"unit\": "
		    "\"%s\", \"ours\": ", r->figure, r->key, r->unit);
		json_num(f, r->have_ours, r->ours, 6);
		fprintf(f, ", \"yardstick\": \"%s\", \"theirs\": ", r->base_name);
		json_num(f, r->have_base, r->base, 6);
		fprintf(f, ", \"ratio\": ");
		json_num(f, r->have_ours && r->have_base, r->have_base ?
		    r->ours / r->base : 0, 6);
		fprintf(f, "}%s\n", i + 1 < nrows ? "," : "");
	}
	fprintf(f, "  ],\n  \"figures\": {");
	{
		const char *p = kvs;
		int first = 1;
		while (p && *p) {
			const char *nl = strchr(p, '\n'), *sp = strchr(p, ' ');
			size_t len = nl ? (size_t)(nl - p) : strlen(p);
			if (sp && sp < p + len && len > 0) {
				char *e;
				double x = strtod(sp + 1, &e);
				if (e != sp + 1) {
					fprintf(f, "%s\n    \"%.*s\": %.6g",
					    first ? "" : ",", (int)(sp - p), p, x);
					first = 0;
				}
			}
			p = nl ? nl + 1 : NULL;
		}
	}
	fprintf(f, "\n  }\n}\n");
	if (fclose(f) != 0)
		fail("%s: %s", out, strerror(errno));
	free(json);
	printf("wrote %s\n", out);
	return 0;
}

int
main(int argc, char *argv[])
{
	progname = "zio_bench";
	fail_tag = "";
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2)
		usage();
	optind = 2;
	if (strcmp(argv[1], "rate") == 0)
		return mode_rate(argc, argv);
	if (strcmp(argv[1], "pipe") == 0)
		return mode_pipe(argc, argv);
	if (strcmp(argv[1], "report") == 0)
		return mode_report(argc, argv);
	usage();
}
