/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * rdma_bench: figures for export and import over RDMA (issue 4), set beside
 * perftest's on the same device.  Not a test: it prints numbers and fails
 * only when something does not work at all.  bench/run-rdma runs it inside
 * one soft-RoCE session, after tests/rdma/perftest-baseline, against two
 * segd instances on the same device.
 *
 *   rdma_bench io [-BT] [-S SIZE] [-R REPS] [-b BATCH] [-L LATN]
 *                 [-k PREFIX] [-P direct|segd] REF
 *       (talks to the importing segd, $SEGD_SOCKET) Imports REF
 *       ("NODE:PORT/NAME", an exported segment of at least BATCH MiB), makes
 *       and attaches a local segment of the same size, and measures, every
 *       buffer inside that attached segment (zero copy):
 *         get and put throughput at 4 KiB, 64 KiB and 1 MiB, both one
 *         seg_get/seg_put at a time ("seq") and seg_getv/seg_putv of BATCH
 *         entries per call ("batch"); REPS runs each, the median kept;
 *         the latency of an 8-byte seg_get, of an 8-byte seg_put (which
 *         returns once its WRITE completed: a full round trip) and of a
 *         local call to segd that involves no RDMA (seg_stat): REPS runs
 *         of LATN samples, the median of their p50, p99 and average and
 *         their spread, and the process's CPU time (user + system) per
 *         operation;
 *       checks that the data arrives intact, prints the path the import
 *       takes (seg_import_path) and fails unless it is the one -P names,
 *       and prints the bounce and zero-copy bytes moved: this process's
 *       own counters on the direct path (seg_stats_local), segd's on its
 *       path.  -B leaves out the throughput figures, -T the latencies,
 *       -S SIZE keeps only the throughput figures at SIZE; -k PREFIX is
 *       put before every key printed (the same figures, another run).
 *
 *   rdma_bench export [-R REPS] [-m MIB] DEVICE
 *       (talks to the exporting segd, $SEGD_SOCKET) Times a bare
 *       ibv_reg_mr of MIB MiB (default 1024) of fresh memory on DEVICE
 *       ("cold", once: the pages are allocated as they are pinned) and of
 *       the same memory again ("warm", REPS times), both for private
 *       anonymous memory and for a shared memfd mapping (like a segment);
 *       then segd's ctl of a segment of the same size (once: segd
 *       allocates, maps and registers its local memory region) and REPS
 *       rounds of seg_export (the remote-access memory region) and
 *       seg_unexport.  When MIB MiB cannot be registered it halves the
 *       size, down to 64 MiB, and says so.
 *
 *   rdma_bench report [-p PERFTEST.json] [-o OUT.json] FILE...
 *       Reads the "key value" lines the two modes above print, and the
 *       baseline tests/rdma/perftest-baseline wrote; prints one table
 *       (figure, ours with the spread of the runs, the same on segd's
 *       path, perftest's, ratios, aim, met or missed) and writes OUT.json.
 *
 * Units are perftest's: MB/s with 1 MB = 2^20 bytes, microseconds.
 */
#include <sys/mman.h>
#include <sys/resource.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <infiniband/verbs.h>

#include "seg.h"
#include "benchlib.h"

#define KIB 1024ULL
#define MIB (1024 * KIB)

static void __attribute__((format(printf, 1, 2)))
note(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static long
num_arg(const char *opt, const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 0);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		fail("bad -%s '%s' (%ld to %ld)", opt, s, lo, hi);
	return v;
}

/* --- io: throughput and latency through the importing segd --- */

static const char *kp = "";	/* io -k: the prefix of every key printed */

/* a "key value" line of io's, with the prefix */
static void __attribute__((format(printf, 1, 2)))
kv(const char *fmt, ...)
{
	va_list ap;

	fputs(kp, stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

struct iobench {
	seg_import_t *imp;
	uint8_t      *local;	/* inside the attached local segment */
	size_t        span;	/* bytes used of both sides */
	int           batch, reps, latn;
	struct seg_iov *iov;
	double       *calls;	/* the seconds of each call of the last run */
	int           ncalls;
};

/*
 * ops operations of size bytes, one call each (batch 1) or batch entries
 * per seg_getv/seg_putv; consecutive entries use consecutive buffers and
 * offsets, wrapping at span.  Returns the seconds taken.
 */
static double
run_io(struct iobench *b, int put, size_t size, int ops, int batch)
{
	size_t slots = b->span / size, slot = 0;
	double t0 = now_s();
	int done = 0, i, k;

	b->ncalls = 0;
	while (done < ops) {
		double tc = now_s();

		k = ops - done < batch ? ops - done : batch;
		for (i = 0; i < k; i++) {
			b->iov[i].off = (uint64_t)(slot * size);
			b->iov[i].buf = b->local + slot * size;
			b->iov[i].len = size;
			slot = (slot + 1) % slots;
		}
		if (k == 1 && batch == 1) {
			ssize_t r = put ? seg_put(b->imp, b->iov[0].off,
			    b->iov[0].buf, size) : seg_get(b->imp,
			    b->iov[0].off, b->iov[0].buf, size);
			if (r != (ssize_t)size)
				fail("seg_%s of %zu bytes: %s", put ? "put" : "get",
				    size, seg_errstr());
		} else if ((put ? seg_putv(b->imp, b->iov, k) :
		    seg_getv(b->imp, b->iov, k)) < 0) {
			fail("seg_%sv of %d x %zu bytes: %s", put ? "put" : "get",
			    k, size, seg_errstr());
		}
		done += k;
		b->calls[b->ncalls++] = now_s() - tc;
	}
	return now_s() - t0;
}

/* Operations per run at each size: about the bytes perftest moves. */
static int
ops_for(size_t size, int batch)
{
	int n = size <= 4 * KIB ? 512 : size <= 64 * KIB ? 256 : 64;

	if (n < batch)
		n = batch;
	return n - n % batch;
}

static void
bw_figure(struct iobench *b, int put, size_t size, int batch)
{
	const char *op = put ? "put" : "get", *mode = batch > 1 ? "batch" :
	    "seq";
	int ops = ops_for(size, b->batch), r;
	double *mbs = calloc((size_t)b->reps, sizeof *mbs), lo, hi, med;

	if (mbs == NULL)
		fail("out of memory");
	/* a short warm-up: the connection, and the first touch of buffers */
	(void)run_io(b, put, size, 8, batch);
	for (r = 0; r < b->reps; r++) {
		double s = run_io(b, put, size, ops, batch);
		mbs[r] = (double)ops * (double)size / (double)MIB / s;
	}
	med = median(mbs, (size_t)b->reps);
	lo = mbs[0];
	hi = mbs[b->reps - 1];
	/* the time of one call (one op, or one batch), in the last run */
	qsort(b->calls, (size_t)b->ncalls, sizeof *b->calls, cmp_double);
	kv("bw.%s.%s.%zu.call_p50_us %.1f\n", op, mode, size,
	    pct(b->calls, (size_t)b->ncalls, 0.5) * 1e6);
	kv("bw.%s.%s.%zu.call_p99_us %.1f\n", op, mode, size,
	    pct(b->calls, (size_t)b->ncalls, 0.99) * 1e6);
	kv("bw.%s.%s.%zu %.2f\n", op, mode, size, med);
	kv("bw.%s.%s.%zu.min %.2f\n", op, mode, size, lo);
	kv("bw.%s.%s.%zu.max %.2f\n", op, mode, size, hi);
	kv("bw.%s.%s.%zu.ops %d\n", op, mode, size, ops);
	kv("bw.%s.%s.%zu.batch %d\n", op, mode, size, batch);
	kv("bw.%s.%s.%zu.reps %d\n", op, mode, size, b->reps);
	fflush(stdout);
	note("%s%s %-5s %7zu bytes x %4d, %d runs: %8.2f MB/s (%.2f .. %.2f); "
	    "a call p50 %.0f us, p99 %.0f us", kp, op, mode, size, ops, b->reps,
	    med, lo, hi, pct(b->calls, (size_t)b->ncalls, 0.5) * 1e6,
	    pct(b->calls, (size_t)b->ncalls, 0.99) * 1e6);
	free(mbs);
}

/* One operation of lat_figure's: 0 an 8-byte get, 1 an 8-byte put (it
 * returns once the WRITE has completed: a full round trip), 2 a local call
 * to segd (seg_stat, no RDMA).  0 if it worked. */
static int
lat_op(struct iobench *b, int which, const char *localname)
{
	struct seg_info si;

	switch (which) {
	case 0:
		return seg_get(b->imp, 64, b->local + 64, 8) == 8 ? 0 : -1;
	case 1:
		return seg_put(b->imp, 64, b->local + 64, 8) == 8 ? 0 : -1;
	default:
		return seg_stat(localname, &si);
	}
}

static double
cpu_s(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) < 0)
		fail("getrusage: %s", strerror(errno));
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* median, min and max of v[n] (sorted) as KEY, KEY.min, KEY.max */
static void
kv_spread(const char *key, double *v, int n)
{
	double med = median(v, (size_t)n);

	kv("%s %.2f\n", key, med);
	kv("%s.min %.2f\n", key, v[0]);
	kv("%s.max %.2f\n", key, v[n - 1]);
}

/*
 * b->reps runs of b->latn samples of operation which (lat_op), each after
 * 50 of warm-up; per run its p50, p99 and average, and the process's CPU
 * time (user + system, getrusage) per operation; printed as the median of
 * the runs and their spread.
 */
static void
lat_figure(struct iobench *b, int which, const char *localname)
{
	static const char *names[] = { "get", "put", "local" };
	const char *nm = names[which];
	double *v = xcalloc((size_t)b->latn, sizeof *v);
	double *p50 = xcalloc((size_t)b->reps, sizeof *p50);
	double *p99 = xcalloc((size_t)b->reps, sizeof *p99);
	double *avg = xcalloc((size_t)b->reps, sizeof *avg);
	double *cpu = xcalloc((size_t)b->reps, sizeof *cpu);
	double lo = 1e30, hi = 0, c0, sum;
	char key[64];
	int i, r;

	for (r = 0; r < b->reps; r++) {
		for (i = 0; i < 50; i++)
			if (lat_op(b, which, localname) < 0)
				fail("8-byte %s: %s", nm, seg_errstr());
		c0 = cpu_s();
		for (i = 0, sum = 0; i < b->latn; i++) {
			double t0 = now_s();

			if (lat_op(b, which, localname) < 0)
				fail("8-byte %s: %s", nm, seg_errstr());
			v[i] = (now_s() - t0) * 1e6;
			sum += v[i];
		}
		cpu[r] = (cpu_s() - c0) * 1e6 / b->latn;
		qsort(v, (size_t)b->latn, sizeof *v, cmp_double);
		p50[r] = pct(v, (size_t)b->latn, 0.5);
		p99[r] = pct(v, (size_t)b->latn, 0.99);
		avg[r] = sum / b->latn;
		lo = v[0] < lo ? v[0] : lo;
		hi = v[b->latn - 1] > hi ? v[b->latn - 1] : hi;
	}
	kv("lat.%s.bytes %d\n", nm, which == 2 ? 0 : 8);
	kv("lat.%s.iterations %d\n", nm, b->latn);
	kv("lat.%s.runs %d\n", nm, b->reps);
	kv("lat.%s.min_us %.2f\n", nm, lo);
	kv("lat.%s.max_us %.2f\n", nm, hi);
	snprintf(key, sizeof key, "lat.%s.p50_us", nm);
	kv_spread(key, p50, b->reps);
	snprintf(key, sizeof key, "lat.%s.p99_us", nm);
	kv_spread(key, p99, b->reps);
	snprintf(key, sizeof key, "lat.%s.avg_us", nm);
	kv_spread(key, avg, b->reps);
	snprintf(key, sizeof key, "cpu.%s.us_per_op", nm);
	kv_spread(key, cpu, b->reps);
	fflush(stdout);
	note("%s%s latency, %d x %d samples: p50 %.1f (%.1f .. %.1f) p99 %.1f "
	    "(%.1f .. %.1f) us; CPU %.1f us an op", kp, nm, b->reps, b->latn,
	    median(p50, (size_t)b->reps), p50[0], p50[b->reps - 1],
	    median(p99, (size_t)b->reps), p99[0], p99[b->reps - 1],
	    median(cpu, (size_t)b->reps));
	free(v);
	free(p50);
	free(p99);
	free(avg);
	free(cpu);
}

/* A put then a get back of span bytes, compared: the path really works. */
static void
check_data(struct iobench *b)
{
	size_t half = b->span / 2, i;
	uint8_t *src = b->local, *dst = b->local + half;

	for (i = 0; i < half; i++)
		src[i] = (uint8_t)(i * 131 + (i >> 12) + 7);
	memset(dst, 0, half);
	if (seg_put(b->imp, 0, src, half) != (ssize_t)half ||
	    seg_barrier(b->imp) < 0 ||
	    seg_get(b->imp, 0, dst, half) != (ssize_t)half)
		fail("check: %s", seg_errstr());
	if (memcmp(src, dst, half) != 0)
		fail("check: the data read back differs from the data written");
}

/* The byte counters of the path the import takes: this process's own on
 * the direct path (seg_stats_local), segd's on segd's path. */
struct iocount {
	uint64_t bounce, zerocopy, direct_ops, segd_ops, segd_bytes;
};

static void
io_count(struct iocount *c, int direct)
{
	c->bounce = direct ? local_counter("direct_bounce_bytes") :
	    stat_counter("bounce_bytes");
	c->zerocopy = direct ? local_counter("direct_zerocopy_bytes") :
	    stat_counter("zerocopy_bytes");
	c->direct_ops = local_counter("direct_ops");
	c->segd_ops = local_counter("segd_path_ops");
	/* what segd itself moved: nothing, on the direct path */
	c->segd_bytes = stat_counter("bounce_bytes") +
	    stat_counter("zerocopy_bytes");
}

static void
io_count_print(const struct iocount *c0, const struct iocount *c1)
{
	kv("io.bounce_bytes %llu\n", (unsigned long long)(c1->bounce -
	    c0->bounce));
	kv("io.zerocopy_bytes %llu\n", (unsigned long long)(c1->zerocopy -
	    c0->zerocopy));
	kv("io.direct_ops %llu\n", (unsigned long long)(c1->direct_ops -
	    c0->direct_ops));
	kv("io.segd_path_ops %llu\n", (unsigned long long)(c1->segd_ops -
	    c0->segd_ops));
	kv("io.segd_moved_bytes %llu\n", (unsigned long long)(c1->segd_bytes -
	    c0->segd_bytes));
}

/*
 * Import ref, make and attach a local segment of b->span bytes
 * (localname), check the data path; then the path the import takes, which
 * must be want ("direct" or "segd", or NULL: either).  1 on the direct
 * path.
 */
static int
io_setup(struct iobench *b, const char *ref, char *localname, size_t lsize,
    const char *want)
{
	struct seg_import_info ii;
	char ctl[64], why[256];
	const char *path;
	int p;

	if ((b->imp = seg_import(ref)) == NULL)
		fail("seg_import %s: %s", ref, seg_errstr());
	if (seg_import_info(b->imp, &ii) < 0)
		fail("seg_import_info: %s", seg_errstr());
	if (ii.len < b->span)
		fail("%s is %llu bytes; it needs %zu (batch x 1 MiB)", ref,
		    (unsigned long long)ii.len, b->span);
	if (!ii.writable)
		fail("%s is not exported read-write to this node", ref);
	snprintf(localname, lsize, "rdma-bench-%ld", (long)getpid());
	snprintf(ctl, sizeof ctl, "addr 0 %zu", b->span);
	if (seg_create(localname, 0600) < 0 || seg_ctl(localname, ctl) < 0)
		fail("local segment %s: %s", localname, seg_errstr());
	if ((b->local = seg_attach(0, localname, NULL, 0)) == NULL)
		fail("seg_attach %s: %s", localname, seg_errstr());
	/* after the first operations: a direct path that failed to open
	 * has fallen back by then */
	check_data(b);
	if ((p = seg_import_path(b->imp, why, sizeof why)) < 0)
		fail("seg_import_path: %s", seg_errstr());
	path = p == SEG_PATH_DIRECT ? "direct" : "segd";
	kv("io.ref %s\n", ref);
	kv("io.path %s\n", path);
	kv("io.span_bytes %zu\n", b->span);
	note("%simport of %s takes the %s path%s%s", kp, ref, path,
	    why[0] ? ": " : "", why);
	if (want != NULL && strcmp(want, path) != 0)
		fail("the import of %s takes the %s path, not the %s path%s%s",
		    ref, path, want, why[0] ? ": " : "", why);
	return p == SEG_PATH_DIRECT;
}

#define IO_USAGE "usage: rdma_bench io [-BT] [-S SIZE] [-R REPS] [-b BATCH] " \
    "[-L LATN] [-k PREFIX] [-P direct|segd] REF"

static int
cmd_io(int argc, char **argv)
{
	static const size_t sizes[] = { 4 * KIB, 64 * KIB, MIB };
	struct iobench b;
	struct iocount c0, c1;
	char localname[SEG_NAMELEN];
	const char *want = NULL;
	int c, s, put, direct, skip_bw = 0, skip_lat = 0;
	size_t only = 0;

	memset(&b, 0, sizeof b);
	b.batch = 64;
	b.reps = 5;
	b.latn = 1000;
	while ((c = getopt(argc, argv, "R:b:L:BTS:k:P:")) != -1)
		switch (c) {
		case 'S':
			only = (size_t)num_arg("S", optarg, 1, 1 << 20);
			break;
		case 'B':
			skip_bw = 1;
			break;
		case 'T':
			skip_lat = 1;
			break;
		case 'R':
			b.reps = (int)num_arg("R", optarg, 1, 1000);
			break;
		case 'b':
			b.batch = (int)num_arg("b", optarg, 1, 1024);
			break;
		case 'L':
			b.latn = (int)num_arg("L", optarg, 10, 10000000);
			break;
		case 'k':
			kp = optarg;
			break;
		case 'P':
			if (strcmp(optarg, "direct") != 0 &&
			    strcmp(optarg, "segd") != 0)
				fail("bad -P '%s': direct or segd", optarg);
			want = optarg;
			break;
		default:
			fail(IO_USAGE);
		}
	if (optind != argc - 1)
		fail(IO_USAGE);
	b.iov = xcalloc((size_t)b.batch, sizeof *b.iov);
	b.calls = xcalloc(4096, sizeof *b.calls);
	b.span = (size_t)b.batch * MIB;
	direct = io_setup(&b, argv[optind], localname, sizeof localname, want);

	io_count(&c0, direct);
	for (put = 0; put < 2 && !skip_bw; put++)
		for (s = 0; s < 3; s++) {
			if (only != 0 && sizes[s] != only)
				continue;
			bw_figure(&b, put, sizes[s], 1);
			bw_figure(&b, put, sizes[s], b.batch);
		}
	if (!skip_lat) {
		lat_figure(&b, 0, localname);
		lat_figure(&b, 1, localname);
		lat_figure(&b, 2, localname);
	}
	io_count(&c1, direct);
	io_count_print(&c0, &c1);

	seg_unimport(b.imp);
	seg_detach(b.local);
	seg_remove(localname);
	free(b.iov);
	free(b.calls);
	return 0;
}

/* --- export: registration times --- */

static struct ibv_context *
open_dev(const char *name)
{
	struct ibv_device **list;
	struct ibv_context *ctx = NULL;
	int i, n;

	if ((list = ibv_get_device_list(&n)) == NULL)
		fail("ibv_get_device_list: %s", strerror(errno));
	for (i = 0; i < n; i++)
		if (strcmp(ibv_get_device_name(list[i]), name) == 0) {
			ctx = ibv_open_device(list[i]);
			if (ctx == NULL)
				fail("ibv_open_device %s: %s", name, strerror(errno));
			break;
		}
	ibv_free_device_list(list);
	if (ctx == NULL)
		fail("no RDMA device %s", name);
	return ctx;
}

#define BARE_ACCESS (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ | \
    IBV_ACCESS_REMOTE_WRITE)

/*
 * A bare registration of len bytes of fresh memory (*cold: the pages are
 * allocated as they are pinned), then reps registrations of the same, now
 * resident, memory (warm[]).  The memory is private anonymous (what
 * perftest registers), or shared memory of a memfd (shm: what a segment
 * is, a tmpfs file mapped shared).  0, or -1 with errno if it cannot be
 * registered.
 */
static int
bare_reg(struct ibv_pd *pd, size_t len, int shm, int reps, double *cold,
    double *warm)
{
	struct ibv_mr *mr;
	void *p = MAP_FAILED;
	double t0;
	int fd = -1, err, r;

	if (shm) {
		if ((fd = memfd_create("rdma-bench", MFD_CLOEXEC)) < 0)
			return -1;
		if (ftruncate(fd, (off_t)len) < 0)
			goto fail;
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	} else {
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE |
		    MAP_ANONYMOUS, -1, 0);
	}
	if (p == MAP_FAILED)
		goto fail;
	for (r = -1; r < reps; r++) {
		t0 = now_s();
		if ((mr = ibv_reg_mr(pd, p, len, BARE_ACCESS)) == NULL)
			goto fail;
		if (r < 0)
			*cold = now_s() - t0;
		else
			warm[r] = now_s() - t0;
		ibv_dereg_mr(mr);
	}
	munmap(p, len);
	if (fd >= 0)
		close(fd);
	return 0;
fail:
	err = errno;
	if (p != MAP_FAILED)
		munmap(p, len);
	if (fd >= 0)
		close(fd);
	errno = err;
	return -1;
}

static char seg_meas_err[512];	/* why seg_measure failed */

/*
 * Create a segment of mib MiB and time its ctl (segd allocates, maps and
 * registers it: *ctlt), then reps rounds of seg_export and seg_unexport
 * (expt[], unexpt[]); remove it.  -1 on failure (seg_meas_err says why),
 * with the segment removed.
 */
static int
seg_measure(const char *name, size_t mib, int reps, double *ctlt,
    double *expt, double *unexpt)
{
	char ctl[64];
	double t0;
	int r;

	snprintf(ctl, sizeof ctl, "addr 0 %llu", (unsigned long long)(mib * MIB));
	if (seg_create(name, 0600) < 0) {
		snprintf(seg_meas_err, sizeof seg_meas_err, "%s", seg_errstr());
		return -1;
	}
	t0 = now_s();
	if (seg_ctl(name, ctl) < 0)
		goto fail;
	*ctlt = now_s() - t0;
	for (r = 0; r < reps; r++) {
		t0 = now_s();
		if (seg_export(name, NULL) < 0)
			goto fail;
		expt[r] = now_s() - t0;
		t0 = now_s();
		if (seg_unexport(name) < 0)
			goto fail;
		unexpt[r] = now_s() - t0;
	}
	if (seg_remove(name) < 0) {
		snprintf(seg_meas_err, sizeof seg_meas_err, "%s", seg_errstr());
		return -1;
	}
	return 0;
fail:
	snprintf(seg_meas_err, sizeof seg_meas_err, "%s", seg_errstr());
	seg_remove(name);
	return -1;
}

static int
cmd_export(int argc, char **argv)
{
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	double cold = 0, scold = 0, ctlt = 0, *warm, *swarm, *expt, *unexpt;
	char name[SEG_NAMELEN];
	size_t want = 1024, mib;
	int c, reps = 3;
	const char *why;

	while ((c = getopt(argc, argv, "R:m:")) != -1)
		switch (c) {
		case 'R':
			reps = (int)num_arg("R", optarg, 1, 100);
			break;
		case 'm':
			want = (size_t)num_arg("m", optarg, 1, 1 << 20);
			break;
		default:
			fail("usage: rdma_bench export [-R REPS] [-m MIB] DEVICE");
		}
	if (optind != argc - 1)
		fail("usage: rdma_bench export [-R REPS] [-m MIB] DEVICE");
	warm = calloc((size_t)reps, sizeof *warm);
	swarm = calloc((size_t)reps, sizeof *swarm);
	expt = calloc((size_t)reps, sizeof *expt);
	unexpt = calloc((size_t)reps, sizeof *unexpt);
	if (!warm || !swarm || !expt || !unexpt)
		fail("out of memory");
	ctx = open_dev(argv[optind]);
	if ((pd = ibv_alloc_pd(ctx)) == NULL)
		fail("ibv_alloc_pd: %s", strerror(errno));

	/* the largest size, from want down, at which everything works */
	snprintf(name, sizeof name, "rdma-bench-x%ld", (long)getpid());
	for (mib = want; ; mib /= 2) {
		why = NULL;
		if (bare_reg(pd, mib * MIB, 0, reps, &cold, warm) < 0 ||
		    bare_reg(pd, mib * MIB, 1, reps, &scold, swarm) < 0)
			why = strerror(errno);
		else if (seg_measure(name, mib, reps, &ctlt, expt, unexpt) < 0)
			why = seg_meas_err;
		if (why == NULL)
			break;
		note("%zu MiB: %s", mib, why);
		if (mib / 2 < 64)
			fail("cannot register even 64 MiB");
	}
	if (mib != want)
		note("measuring %zu MiB, not %zu MiB: the larger did not fit",
		    mib, want);
	ibv_dealloc_pd(pd);
	ibv_close_device(ctx);
	printf("export.mib %zu\n", mib);
	printf("export.wanted_mib %zu\n", want);
	printf("export.reps %d\n", reps);
	printf("export.bare_cold_ms %.2f\n", cold * 1e3);
	printf("export.bare_warm_ms %.2f\n", median(warm, (size_t)reps) * 1e3);
	printf("export.bare_shm_cold_ms %.2f\n", scold * 1e3);
	printf("export.bare_shm_warm_ms %.2f\n", median(swarm, (size_t)reps) * 1e3);
	printf("export.ctl_ms %.2f\n", ctlt * 1e3);
	printf("export.export_ms %.2f\n", median(expt, (size_t)reps) * 1e3);
	printf("export.unexport_ms %.2f\n", median(unexpt, (size_t)reps) * 1e3);
	printf("export.total_ms %.2f\n", (ctlt + median(expt, (size_t)reps)) *
	    1e3);
	note("%zu MiB: bare ibv_reg_mr anon cold %.1f ms, warm %.1f ms; shm "
	    "cold %.1f ms, warm %.1f ms; ctl %.1f ms, seg_export %.1f ms, "
	    "seg_unexport %.1f ms (warm, export, unexport: median of %d)", mib,
	    cold * 1e3, median(warm, (size_t)reps) * 1e3, scold * 1e3,
	    median(swarm, (size_t)reps) * 1e3, ctlt * 1e3,
	    median(expt, (size_t)reps) * 1e3, median(unexpt, (size_t)reps) * 1e3,
	    reps);
	free(warm);
	free(swarm);
	free(expt);
	free(unexpt);
	return 0;
}

/* --- report --- */

#define MAXKV 512

static struct kv {
	char   key[96];
	char   val[160];
} kvs[MAXKV];
static int nkv;

static void
read_kv(const char *path)
{
	char line[512], *sp, *nl;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		fail("%s: %s", path, strerror(errno));
	while (fgets(line, sizeof line, f) != NULL) {
		if ((nl = strchr(line, '\n')) != NULL)
			*nl = '\0';
		if ((sp = strchr(line, ' ')) == NULL || sp == line)
			continue;
		*sp = '\0';
		if (nkv == MAXKV)
			fail("%s: too many lines", path);
		if (strlen(line) >= sizeof kvs[nkv].key ||
		    strlen(sp + 1) >= sizeof kvs[nkv].val)
			fail("%s: line too long: %s", path, line);
		strcpy(kvs[nkv].key, line);
		strcpy(kvs[nkv].val, sp + 1);
		nkv++;
	}
	fclose(f);
}

static const char *
kv_str(const char *key)
{
	int i;

	for (i = nkv - 1; i >= 0; i--)
		if (strcmp(kvs[i].key, key) == 0)
			return kvs[i].val;
	return NULL;
}

static int
kv_num(const char *key, double *v)
{
	const char *s = kv_str(key);
	char *end;

	if (s == NULL)
		return -1;
	*v = strtod(s, &end);
	return end == s ? -1 : 0;
}

struct row {
	char   figure[40];
	char   unit[8];
	double ours, lo, hi;	/* the median of the runs, and their spread */
	int    have_ours, have_spread;
	double segd;		/* the same figure on segd's path (key "segd.") */
	int    have_segd;
	char   base_name[40];
	double base;
	int    have_base;
	int    higher_better;	/* ratio = ours / base either way */
	double aim;		/* 0: none */
	int    judged, met;	/* the ratio set beside the aim */
};

#define MAXROWS 64
static struct row rows[MAXROWS];
static int nrows;

/* A row for our figure at ourkey (with ourkey.min and .max, the spread,
 * and segd.ourkey, the same on segd's path); no baseline yet. */
static struct row *
row_add(const char *figure, const char *unit, const char *ourkey,
    int higher_better, double aim)
{
	struct row *r;
	char k[128];

	if (nrows == MAXROWS)
		fail("too many rows");
	r = &rows[nrows++];
	memset(r, 0, sizeof *r);
	snprintf(r->figure, sizeof r->figure, "%s", figure);
	snprintf(r->unit, sizeof r->unit, "%s", unit);
	snprintf(r->base_name, sizeof r->base_name, "-");
	r->have_ours = kv_num(ourkey, &r->ours) == 0;
	snprintf(k, sizeof k, "%s.min", ourkey);
	r->have_spread = kv_num(k, &r->lo) == 0;
	snprintf(k, sizeof k, "%s.max", ourkey);
	r->have_spread &= kv_num(k, &r->hi) == 0;
	snprintf(k, sizeof k, "segd.%s", ourkey);
	r->have_segd = kv_num(k, &r->segd) == 0;
	r->higher_better = higher_better;
	r->aim = aim;
	return r;
}

static void
base_set(struct row *r, int have, double v, const char *label)
{
	r->have_base = have && v > 0;
	r->base = v;
	snprintf(r->base_name, sizeof r->base_name, "%s", label);
}

/* the baseline: perftest's test.field, times scale */
static void
base_pt(struct row *r, const char *json, const char *test, const char *field,
    double scale, const char *label)
{
	double v = 0;
	int have = pt_num(json, test, field, &v) == 0;

	base_set(r, have, v * scale, label);
}

/* the baseline: the rate (MB/s) of one READ of size bytes in flight at a
 * time, size / the average of ib_read_lat -s size */
static void
base_lat_rate(struct row *r, const char *json, size_t size, const char *label)
{
	char test[32];
	double us = 0;
	int have;

	snprintf(test, sizeof test, "ib_read_lat_%zu", size);
	have = pt_num(json, test, "avg_us", &us) == 0 && us > 0;
	base_set(r, have, have ? (double)size / (double)MIB / (us * 1e-6) : 0,
	    label);
}

/* the baseline: one of our own keys (the registration times) */
static void
base_kv(struct row *r, const char *key, const char *label)
{
	double v = 0;
	int have = kv_num(key, &v) == 0;

	base_set(r, have, v, label);
}

static void
rows_latency(const char *json)
{
	struct row *r;

	r = row_add("get 8 B p50", "us", "lat.get.p50_us", 0, 1.3);
	base_pt(r, json, "ib_read_lat", "p50_us", 1, "ib_read_lat p50");
	r = row_add("get 8 B p99", "us", "lat.get.p99_us", 0, 2);
	base_pt(r, json, "ib_read_lat", "p99_us", 1, "ib_read_lat p99");
	r = row_add("put 8 B p50 (completed)", "us", "lat.put.p50_us", 0, 1.3);
	base_pt(r, json, "ib_read_lat", "p50_us", 1, "ib_read_lat p50");
	r = row_add("put 8 B p50 (completed)", "us", "lat.put.p50_us", 0, 0);
	base_pt(r, json, "ib_write_lat", "p50_us", 2, "2 x ib_write_lat p50");
	r = row_add("put 8 B p99 (completed)", "us", "lat.put.p99_us", 0, 0);
	base_pt(r, json, "ib_read_lat", "p99_us", 1, "ib_read_lat p99");
	r = row_add("CPU hog: get 8 B p50", "us", "hog.lat.get.p50_us", 0, 2);
	base_pt(r, json, "ib_read_lat_hog", "p50_us", 1,
	    "ib_read_lat p50, CPU hog");
	r = row_add("CPU hog: get 8 B p99", "us", "hog.lat.get.p99_us", 0, 2);
	base_pt(r, json, "ib_read_lat_hog", "p99_us", 1,
	    "ib_read_lat p99, CPU hog");
	r = row_add("CPU hog: put 8 B p50", "us", "hog.lat.put.p50_us", 0, 2);
	base_pt(r, json, "ib_read_lat_hog", "p50_us", 1,
	    "ib_read_lat p50, CPU hog");
	row_add("client CPU per 8 B get", "us", "cpu.get.us_per_op", 0, 0);
	row_add("CPU hog: client CPU per get", "us", "hog.cpu.get.us_per_op", 0,
	    0);
	row_add("local call to segd p50", "us", "lat.local.p50_us", 0, 0);
}

static void
rows_io(const char *json)
{
	static const size_t sizes[] = { 4 * KIB, 64 * KIB, MIB };
	static const char *szname[] = { "4 KiB", "64 KiB", "1 MiB" };
	char fig[40], key[64], field[16], lab[40];
	const char *op, *bw;
	struct row *r;
	int put, i;

	for (put = 0; put < 2; put++) {
		op = put ? "put" : "get";
		bw = put ? "ib_write_bw" : "ib_read_bw";
		for (i = 0; i < 3; i++) {
			snprintf(fig, sizeof fig, "%s %s seq", op, szname[i]);
			snprintf(key, sizeof key, "bw.%s.seq.%zu", op, sizes[i]);
			snprintf(field, sizeof field, "%zu", sizes[i]);
			if (sizes[i] < MIB) {
				r = row_add(fig, "MB/s", key, 1, 0.85);
				snprintf(lab, sizeof lab, "%s / ib_read_lat -s",
				    szname[i]);
				base_lat_rate(r, json, sizes[i], lab);
			}
			r = row_add(fig, "MB/s", key, 1, 0);
			snprintf(lab, sizeof lab, "%s %s", bw, szname[i]);
			base_pt(r, json, bw, field, 1, lab);
		}
		for (i = 0; i < 3; i++) {
			snprintf(fig, sizeof fig, "%sv %s batch", op, szname[i]);
			snprintf(key, sizeof key, "bw.%s.batch.%zu", op, sizes[i]);
			snprintf(field, sizeof field, "%zu", sizes[i]);
			r = row_add(fig, "MB/s", key, 1, 0.95);
			snprintf(lab, sizeof lab, "%s %s", bw, szname[i]);
			base_pt(r, json, bw, field, 1, lab);
		}
	}
}

static void
rows_export(void)
{
	char fig[40];
	double mib = 0;
	struct row *r;

	kv_num("export.mib", &mib);
	snprintf(fig, sizeof fig, "ctl + seg_export %.0f MiB", mib);
	r = row_add(fig, "ms", "export.total_ms", 0, 0);
	base_kv(r, "export.bare_cold_ms", "ibv_reg_mr, fresh anon");
	snprintf(fig, sizeof fig, "seg_export %.0f MiB", mib);
	r = row_add(fig, "ms", "export.export_ms", 0, 0);
	base_kv(r, "export.bare_cold_ms", "ibv_reg_mr, fresh anon");
	r = row_add(fig, "ms", "export.export_ms", 0, 0);
	base_kv(r, "export.bare_shm_warm_ms", "ibv_reg_mr, resident shm");
	r = row_add(fig, "ms", "export.export_ms", 0, 0);
	base_kv(r, "export.bare_warm_ms", "ibv_reg_mr, resident anon");
	snprintf(fig, sizeof fig, "ctl (alloc + local MR) %.0f MiB", mib);
	r = row_add(fig, "ms", "export.ctl_ms", 0, 0);
	base_kv(r, "export.bare_shm_cold_ms", "ibv_reg_mr, fresh shm");
	snprintf(fig, sizeof fig, "seg_unexport %.0f MiB", mib);
	row_add(fig, "ms", "export.unexport_ms", 0, 0);
}

/* "%.2f" of v, or "-" */
static const char *
fmt2(char *buf, size_t size, int have, double v)
{
	snprintf(buf, size, have ? "%.2f" : "-", v);
	return buf;
}

/* The table; the number of figures that missed their aim. */
static int
print_table(void)
{
	char o[24], sp[32], sg[16], bs[16], rt[16], srt[16], aim[16];
	int i, missed = 0;

	printf("%-30s %13s %17s %10s %10s  %-26s %5s %5s %6s %s\n", "figure",
	    "ours", "runs min..max", "segd path", "perftest", "perftest is",
	    "ratio", "segd", "aim", "");
	for (i = 0; i < nrows; i++) {
		struct row *r = &rows[i];

		snprintf(o, sizeof o, r->have_ours ? "%.2f %s" : "-", r->ours,
		    r->unit);
		snprintf(sp, sizeof sp, r->have_spread ? "%.2f..%.2f" : "",
		    r->lo, r->hi);
		fmt2(sg, sizeof sg, r->have_segd, r->segd);
		fmt2(bs, sizeof bs, r->have_base, r->base);
		fmt2(rt, sizeof rt, r->have_ours && r->have_base, r->have_base ?
		    r->ours / r->base : 0);
		fmt2(srt, sizeof srt, r->have_segd && r->have_base, r->have_base ?
		    r->segd / r->base : 0);
		aim[0] = '\0';
		if (r->aim > 0)
			snprintf(aim, sizeof aim, "%s%.2g", r->higher_better ?
			    ">=" : "<=", r->aim);
		if (r->aim > 0 && r->have_ours && r->have_base) {
			double v = r->ours / r->base;

			r->judged = 1;
			r->met = r->higher_better ? v >= r->aim : v <= r->aim;
			missed += !r->met;
		}
		printf("%-30s %13s %17s %10s %10s  %-26s %5s %5s %6s %s\n",
		    r->figure, o, sp, sg, bs, r->base_name, rt, srt, aim,
		    r->judged ? (r->met ? "met" : "MISSED") : "");
	}
	return missed;
}

/* the text of a top-level "key": "text" of perftest's json, into buf */
static const char *
pt_str(const char *json, const char *key, char *buf, size_t size)
{
	char pat[64];
	const char *p, *e;

	snprintf(pat, sizeof pat, "\"%s\": \"", key);
	if (json == NULL || (p = strstr(json, pat)) == NULL ||
	    (e = strchr(p += strlen(pat), '"')) == NULL)
		return "-";
	snprintf(buf, size, "%.*s", (int)(e - p), p);
	return buf;
}

static void
print_notes(const char *json)
{
	const char *s = kv_str("io.path"), *sd = kv_str("segd.io.path");
	char clock[96];
	double v, w;

	printf("path: %s (ours, and the CPU hog rows); segd path column: %s "
	    "(SEG_DIRECT=0)\n", s ? s : "-", sd ? sd : "not measured");
	if (kv_num("io.bounce_bytes", &v) == 0 &&
	    kv_num("io.zerocopy_bytes", &w) == 0)
		printf("bytes during the io figures (%s): %.0f zero copy, %.0f "
		    "bounced; segd moved %s bytes\n", s && strcmp(s, "direct")
		    == 0 ? "this process's seg_stats_local direct_*" :
		    "segd's counters", w, v, kv_str("io.segd_moved_bytes") ?
		    kv_str("io.segd_moved_bytes") : "-");
	if (kv_num("bw.get.seq.4096.reps", &v) == 0 &&
	    kv_num("bw.get.batch.4096.batch", &w) == 0)
		printf("throughput: median of %.0f runs of 512 x 4 KiB, 256 x "
		    "64 KiB, 64 x 1 MiB; batch = %.0f entries per seg_getv/"
		    "seg_putv; seq rate aim against SIZE / ib_read_lat -s SIZE "
		    "average\n", v, w);
	if (kv_num("lat.get.iterations", &v) == 0 &&
	    kv_num("lat.get.runs", &w) == 0)
		printf("latency: median of %.0f runs of %.0f samples (50 warm-up "
		    "each); ib_read_lat at its default 2 bytes, one run; a put "
		    "returns once its WRITE completed; CPU = the client's "
		    "user + system time (getrusage) per op, segd's not "
		    "counted\n", w, v);
	v = 0;
	if (json != NULL && (s = strstr(json, "\"hog_procs\": ")) != NULL)
		v = strtod(s + strlen("\"hog_procs\": "), NULL);
	if (kv_str("hog.io.path") != NULL)
		printf("CPU hog: %.0f busy loops in the guest, one per vCPU, "
		    "around ours and perftest's; perftest's clock then: %s\n",
		    v, pt_str(json, "hog_clock", clock, sizeof clock));
	if (kv_num("export.reps", &v) == 0)
		printf("registration: cold (fresh pages) and ctl once each; "
		    "warm, seg_export, seg_unexport median of %.0f; bare "
		    "ibv_reg_mr on the same device, LOCAL_WRITE|REMOTE_READ|"
		    "REMOTE_WRITE\n", v);
}

static void
json_str(FILE *f, const char *key, const char *v, const char *end)
{
	fprintf(f, "\"%s\": \"%s\"%s", key, v, end);
}

static void
write_json(const char *out, const char *ptpath)
{
	char tmpath[4096], *end;
	FILE *f;
	int i;

	snprintf(tmpath, sizeof tmpath, "%s.tmp", out);
	if ((f = fopen(tmpath, "w")) == NULL)
		fail("%s: %s", tmpath, strerror(errno));
	fprintf(f, "{\n  \"tool\": \"rdma_bench\",\n  ");
	json_str(f, "perftest", ptpath ? ptpath : "", ",\n");
	fprintf(f, "  \"units\": {\"bw\": \"MB/s (1 MB = 2^20 bytes)\", "
	    "\"lat\": \"us\", \"time\": \"ms\"},\n");
	fprintf(f, "  \"ratio\": \"ours / baseline\",\n  \"figures\": [\n");
	for (i = 0; i < nrows; i++) {
		struct row *r = &rows[i];

		fprintf(f, "    {");
		json_str(f, "figure", r->figure, ", ");
		json_str(f, "unit", r->unit, ", \"ours\": ");
		json_num(f, r->have_ours, r->ours, 4);
		fprintf(f, ", \"min\": ");
		json_num(f, r->have_spread, r->lo, 4);
		fprintf(f, ", \"max\": ");
		json_num(f, r->have_spread, r->hi, 4);
		fprintf(f, ", \"segd_path\": ");
		json_num(f, r->have_segd, r->segd, 4);
		fprintf(f, ", \"baseline\": ");
		json_num(f, r->have_base, r->base, 4);
		fprintf(f, ", ");
		json_str(f, "baseline_is", r->base_name, ", \"ratio\": ");
		json_num(f, r->have_ours && r->have_base, r->have_base ?
		    r->ours / r->base : 0, 4);
		fprintf(f, ", \"segd_path_ratio\": ");
		json_num(f, r->have_segd && r->have_base, r->have_base ?
		    r->segd / r->base : 0, 4);
		fprintf(f, ", \"aim\": ");
		json_num(f, r->aim > 0, r->aim, 4);
		fprintf(f, ", \"higher_is_better\": %s, \"met\": %s}%s\n",
		    r->higher_better ? "true" : "false", !r->judged ? "null" :
		    r->met ? "true" : "false", i + 1 < nrows ? "," : "");
	}
	fprintf(f, "  ],\n  \"raw\": {\n");
	for (i = 0; i < nkv; i++) {
		strtod(kvs[i].val, &end);
		if (*kvs[i].val != '\0' && *end == '\0')
			fprintf(f, "    \"%s\": %s%s\n", kvs[i].key, kvs[i].val,
			    i + 1 < nkv ? "," : "");
		else
			fprintf(f, "    \"%s\": \"%s\"%s\n", kvs[i].key,
			    kvs[i].val, i + 1 < nkv ? "," : "");
	}
	fprintf(f, "  }\n}\n");
	if (fclose(f) != 0 || rename(tmpath, out) != 0)
		fail("cannot write %s: %s", out, strerror(errno));
	printf("wrote %s\n", out);
}

static int
cmd_report(int argc, char **argv)
{
	const char *ptpath = NULL, *out = NULL, *s;
	char *json;
	int c, i, missed;

	while ((c = getopt(argc, argv, "p:o:")) != -1)
		switch (c) {
		case 'p':
			ptpath = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		default:
			fail("usage: rdma_bench report [-p PERFTEST.json] "
			    "[-o OUT.json] FILE...");
		}
	for (i = optind; i < argc; i++)
		read_kv(argv[i]);
	json = ptpath ? slurp(ptpath) : NULL;
	if (ptpath && json == NULL)
		note("no perftest baseline at %s: ratios left out", ptpath);
	rows_latency(json);
	rows_io(json);
	rows_export();

	s = kv_str("io.ref");
	printf("\nsegd export/import beside perftest (%s%s%s)\n",
	    s ? "import of " : "", s ? s : "",
	    json ? "" : "; no perftest baseline");
	printf("ours: the median of the runs; ratio = ours / perftest (segd: "
	    "the segd path's); MB/s (2^20 B/s) higher is better, us and ms "
	    "lower is better\n");
	missed = print_table();
	print_notes(json);
	if (missed)
		printf("%d figure(s) short of the aim\n", missed);
	if (out != NULL)
		write_json(out, ptpath);
	free(json);
	return 0;
}

int
main(int argc, char **argv)
{
	progname = "rdma_bench";
	fail_tag = "";
	if (argc < 2)
		fail("usage: rdma_bench io|export|report ...");
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(argv[1], "io") == 0)
		return cmd_io(argc - 1, argv + 1);
	if (strcmp(argv[1], "export") == 0)
		return cmd_export(argc - 1, argv + 1);
	if (strcmp(argv[1], "report") == 0)
		return cmd_report(argc - 1, argv + 1);
	fail("unknown mode '%s': io, export or report", argv[1]);
}
