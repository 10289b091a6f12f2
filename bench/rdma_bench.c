/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * rdma_bench: figures for export and import over RDMA (issue 4), set beside
 * perftest's on the same device.  Not a test: it prints numbers and fails
 * only when something does not work at all.  bench/run-rdma runs it inside
 * one soft-RoCE session, after tests/rdma/perftest-baseline, against two
 * segd instances on the same device.
 *
 *   rdma_bench io [-BT] [-S SIZE] [-R REPS] [-b BATCH] [-L LATN] REF
 *       (talks to the importing segd, $SEGD_SOCKET) Imports REF
 *       ("NODE:PORT/NAME", an exported segment of at least BATCH MiB), makes
 *       and attaches a local segment of the same size, and measures, every
 *       buffer inside that attached segment (zero copy):
 *         get and put throughput at 4 KiB, 64 KiB and 1 MiB, both one
 *         seg_get/seg_put at a time ("seq") and seg_getv/seg_putv of BATCH
 *         entries per call ("batch"); REPS runs each, the median kept;
 *         the latency of an 8-byte seg_get (LATN samples), and for the
 *         analysis that of an 8-byte seg_put and of a local call to segd
 *         that involves no RDMA (seg_stat);
 *       and checks that the data arrives intact and that segd's bounce
 *       counter stays 0.  -B leaves out the throughput figures, -T the
 *       latencies, -S SIZE keeps only the throughput figures at SIZE.
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
 *       baseline tests/rdma/perftest-baseline wrote; prints the table
 *       (figure, ours, perftest's, ratio) and writes OUT.json.
 *
 * Units are perftest's: MB/s with 1 MB = 2^20 bytes, microseconds.
 */
#include <sys/mman.h>
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
	printf("bw.%s.%s.%zu.call_p50_us %.1f\n", op, mode, size,
	    pct(b->calls, (size_t)b->ncalls, 0.5) * 1e6);
	printf("bw.%s.%s.%zu.call_p99_us %.1f\n", op, mode, size,
	    pct(b->calls, (size_t)b->ncalls, 0.99) * 1e6);
	printf("bw.%s.%s.%zu %.2f\n", op, mode, size, med);
	printf("bw.%s.%s.%zu.min %.2f\n", op, mode, size, lo);
	printf("bw.%s.%s.%zu.max %.2f\n", op, mode, size, hi);
	printf("bw.%s.%s.%zu.ops %d\n", op, mode, size, ops);
	printf("bw.%s.%s.%zu.batch %d\n", op, mode, size, batch);
	printf("bw.%s.%s.%zu.reps %d\n", op, mode, size, b->reps);
	fflush(stdout);
	note("%s %-5s %7zu bytes x %4d, %d runs: %8.2f MB/s (%.2f .. %.2f); "
	    "a call p50 %.0f us, p99 %.0f us", op, mode, size, ops, b->reps,
	    med, lo, hi, pct(b->calls, (size_t)b->ncalls, 0.5) * 1e6,
	    pct(b->calls, (size_t)b->ncalls, 0.99) * 1e6);
	free(mbs);
}

/* which: 0 get, 1 put, 2 a local call (seg_stat, no RDMA) */
static void
lat_figure(struct iobench *b, int which, const char *localname)
{
	static const char *names[] = { "get", "put", "local" };
	double *v = calloc((size_t)b->latn, sizeof *v), sum = 0;
	struct seg_info si;
	int i, warm = 50;

	if (v == NULL)
		fail("out of memory");
	for (i = -warm; i < b->latn; i++) {
		double t0 = now_s(), t;
		int ok;

		switch (which) {
		case 0:
			ok = seg_get(b->imp, 64, b->local + 64, 8) == 8;
			break;
		case 1:
			ok = seg_put(b->imp, 64, b->local + 64, 8) == 8;
			break;
		default:
			ok = seg_stat(localname, &si) == 0;
			break;
		}
		t = (now_s() - t0) * 1e6;
		if (!ok)
			fail("8-byte %s: %s", names[which], seg_errstr());
		if (i >= 0) {
			v[i] = t;
			sum += t;
		}
	}
	qsort(v, (size_t)b->latn, sizeof *v, cmp_double);
	printf("lat.%s.bytes %d\n", names[which], which == 2 ? 0 : 8);
	printf("lat.%s.iterations %d\n", names[which], b->latn);
	printf("lat.%s.min_us %.2f\n", names[which], v[0]);
	printf("lat.%s.p50_us %.2f\n", names[which], pct(v, (size_t)b->latn, 0.5));
	printf("lat.%s.avg_us %.2f\n", names[which], sum / b->latn);
	printf("lat.%s.p99_us %.2f\n", names[which], pct(v, (size_t)b->latn, 0.99));
	printf("lat.%s.max_us %.2f\n", names[which], v[b->latn - 1]);
	fflush(stdout);
	note("%s latency, %d samples: min %.1f p50 %.1f avg %.1f p99 %.1f "
	    "max %.1f us", names[which], b->latn, v[0],
	    pct(v, (size_t)b->latn, 0.5), sum / b->latn,
	    pct(v, (size_t)b->latn, 0.99), v[b->latn - 1]);
	free(v);
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

static int
cmd_io(int argc, char **argv)
{
	static const size_t sizes[] = { 4 * KIB, 64 * KIB, MIB };
	struct iobench b;
	struct seg_import_info ii;
	char ctl[64], localname[SEG_NAMELEN];
	uint64_t bounce0, zc0;
	int c, s, put, skip_bw = 0, skip_lat = 0;
	size_t only = 0;

	memset(&b, 0, sizeof b);
	b.batch = 64;
	b.reps = 5;
	b.latn = 1000;
	while ((c = getopt(argc, argv, "R:b:L:BTS:")) != -1)
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
		default:
			fail("usage: rdma_bench io [-BT] [-S SIZE] [-R REPS] [-b BATCH] "
			    "[-L LATN] REF");
		}
	if (optind != argc - 1)
		fail("usage: rdma_bench io [-BT] [-S SIZE] [-R REPS] [-b BATCH] "
		    "[-L LATN] REF");
	if ((b.iov = calloc((size_t)b.batch, sizeof *b.iov)) == NULL ||
	    (b.calls = calloc(4096, sizeof *b.calls)) == NULL)
		fail("out of memory");
	if ((b.imp = seg_import(argv[optind])) == NULL)
		fail("seg_import %s: %s", argv[optind], seg_errstr());
	if (seg_import_info(b.imp, &ii) < 0)
		fail("seg_import_info: %s", seg_errstr());
	b.span = (size_t)b.batch * MIB;
	if (ii.len < b.span)
		fail("%s is %llu bytes; it needs %zu (batch x 1 MiB)",
		    argv[optind], (unsigned long long)ii.len, b.span);
	if (!ii.writable)
		fail("%s is not exported read-write to this node", argv[optind]);
	snprintf(localname, sizeof localname, "rdma-bench-%ld", (long)getpid());
	snprintf(ctl, sizeof ctl, "addr 0 %zu", b.span);
	if (seg_create(localname, 0600) < 0 || seg_ctl(localname, ctl) < 0)
		fail("local segment %s: %s", localname, seg_errstr());
	if ((b.local = seg_attach(0, localname, NULL, 0)) == NULL)
		fail("seg_attach %s: %s", localname, seg_errstr());

	check_data(&b);
	bounce0 = stat_counter("bounce_bytes");
	zc0 = stat_counter("zerocopy_bytes");
	printf("io.ref %s\n", argv[optind]);
	printf("io.span_bytes %zu\n", b.span);
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
	printf("io.bounce_bytes %llu\n",
	    (unsigned long long)(stat_counter("bounce_bytes") - bounce0));
	printf("io.zerocopy_bytes %llu\n",
	    (unsigned long long)(stat_counter("zerocopy_bytes") - zc0));

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
	char   figure[64];
	char   unit[8];
	double ours;
	int    have_ours;
	char   base_name[48];
	double base;
	int    have_base;
	int    higher_better;	/* ratio = ours / base either way */
	double aim;		/* 0: none */
};

static struct row rows[64];
static int nrows;

static void
add_row(const char *figure, const char *unit, const char *ourkey,
    const char *json, const char *test, const char *field,
    const char *base_label, int higher_better, double aim)
{
	struct row *r = &rows[nrows++];

	snprintf(r->figure, sizeof r->figure, "%s", figure);
	snprintf(r->unit, sizeof r->unit, "%s", unit);
	r->have_ours = kv_num(ourkey, &r->ours) == 0;
	r->have_base = test != NULL && pt_num(json, test, field, &r->base) == 0 &&
	    r->base > 0;
	snprintf(r->base_name, sizeof r->base_name, "%s",
	    base_label ? base_label : "-");
	r->higher_better = higher_better;
	r->aim = aim;
}

/* a row whose baseline is one of our own keys (registration times) */
static void
add_row_kv(const char *figure, const char *unit, const char *ourkey,
    const char *basekey, const char *base_label, double aim)
{
	struct row *r = &rows[nrows++];

	snprintf(r->figure, sizeof r->figure, "%s", figure);
	snprintf(r->unit, sizeof r->unit, "%s", unit);
	r->have_ours = kv_num(ourkey, &r->ours) == 0;
	r->have_base = basekey != NULL && kv_num(basekey, &r->base) == 0 &&
	    r->base > 0;
	snprintf(r->base_name, sizeof r->base_name, "%s",
	    base_label ? base_label : "-");
	r->higher_better = 0;
	r->aim = aim;
}

static int
cmd_report(int argc, char **argv)
{
	static const size_t sizes[] = { 4 * KIB, 64 * KIB, MIB };
	static const char *szname[] = { "4 KiB", "64 KiB", "1 MiB" };
	const char *ptpath = NULL, *out = NULL, *s;
	char *json, fig[64], key[96], field[16], lab[48];
	double v, mib = 0, batch = 0;
	int c, i, op, mode, short_of_aim = 0;
	FILE *f;

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
	kv_num("bw.get.batch.4096.batch", &batch);

	for (op = 0; op < 2; op++)
		for (i = 0; i < 3; i++)
			for (mode = 0; mode < 2; mode++) {
				snprintf(fig, sizeof fig, "%s %s %s", op ? "put" :
				    "get", szname[i], mode ? "batch" : "seq");
				snprintf(key, sizeof key, "bw.%s.%s.%zu",
				    op ? "put" : "get", mode ? "batch" : "seq",
				    sizes[i]);
				snprintf(field, sizeof field, "%zu", sizes[i]);
				snprintf(lab, sizeof lab, "%s %s", op ?
				    "ib_write_bw" : "ib_read_bw", szname[i]);
				add_row(fig, "MB/s", key, json, op ?
				    "ib_write_bw" : "ib_read_bw", field, lab, 1,
				    sizes[i] >= 64 * KIB ? 0.9 : 0);
			}
	add_row("get 8 B latency p50", "us", "lat.get.p50_us", json,
	    "ib_read_lat", "p50_us", "ib_read_lat t_typical", 0, 1.5);
	add_row("get 8 B latency p99", "us", "lat.get.p99_us", json,
	    "ib_read_lat", "p99_us", "ib_read_lat p99", 0, 1.5);
	add_row("get 8 B latency avg", "us", "lat.get.avg_us", json,
	    "ib_read_lat", "avg_us", "ib_read_lat avg", 0, 0);
	add_row("put 8 B latency p50", "us", "lat.put.p50_us", json, NULL,
	    NULL, NULL, 0, 0);
	add_row("put 8 B latency p99", "us", "lat.put.p99_us", json, NULL,
	    NULL, NULL, 0, 0);
	add_row("local call to segd p50", "us", "lat.local.p50_us", json,
	    NULL, NULL, NULL, 0, 0);
	add_row("local call to segd p99", "us", "lat.local.p99_us", json,
	    NULL, NULL, NULL, 0, 0);
	kv_num("export.mib", &mib);
	snprintf(fig, sizeof fig, "ctl + seg_export %.0f MiB", mib);
	add_row_kv(fig, "ms", "export.total_ms", "export.bare_cold_ms",
	    "ibv_reg_mr, fresh anon", 0);
	snprintf(fig, sizeof fig, "seg_export %.0f MiB", mib);
	add_row_kv(fig, "ms", "export.export_ms", "export.bare_cold_ms",
	    "ibv_reg_mr, fresh anon", 0);
	add_row_kv(fig, "ms", "export.export_ms", "export.bare_shm_warm_ms",
	    "ibv_reg_mr, resident shm", 0);
	add_row_kv(fig, "ms", "export.export_ms", "export.bare_warm_ms",
	    "ibv_reg_mr, resident anon", 0);
	snprintf(fig, sizeof fig, "ctl (alloc + local MR) %.0f MiB", mib);
	add_row_kv(fig, "ms", "export.ctl_ms", "export.bare_shm_cold_ms",
	    "ibv_reg_mr, fresh shm", 0);
	snprintf(fig, sizeof fig, "seg_unexport %.0f MiB", mib);
	add_row_kv(fig, "ms", "export.unexport_ms", NULL, NULL, 0);

	s = kv_str("io.ref");
	printf("\nsegd export/import beside perftest (%s%s%s)\n",
	    s ? "import of " : "", s ? s : "",
	    json ? "" : "; no perftest baseline");
	printf("bandwidth: MB/s (2^20 B/s), ratio = ours / perftest, higher is "
	    "better; latency and times: ratio = ours / baseline, lower is "
	    "better\n");
	printf("%-32s %10s %10s  %-28s %7s %s\n", "figure", "ours", "baseline",
	    "baseline is", "ratio", "aim");
	for (i = 0; i < nrows; i++) {
		struct row *r = &rows[i];
		char o[32], bs[32], rt[16], aim[24] = "";

		snprintf(o, sizeof o, r->have_ours ? "%.2f %s" : "-", r->ours,
		    r->unit);
		snprintf(bs, sizeof bs, r->have_base ? "%.2f" : "-", r->base);
		if (r->have_ours && r->have_base) {
			v = r->ours / r->base;
			snprintf(rt, sizeof rt, "%.2f", v);
			if (r->aim > 0) {
				int ok = r->higher_better ? v >= r->aim :
				    v <= r->aim;
				snprintf(aim, sizeof aim, "%s %.1f %s",
				    r->higher_better ? ">=" : "<=", r->aim,
				    ok ? "met" : "MISSED");
				short_of_aim += !ok;
			}
		} else {
			snprintf(rt, sizeof rt, "-");
		}
		printf("%-32s %13s %10s  %-28s %7s %s\n", r->figure, o, bs,
		    r->base_name, rt, aim);
	}
	if (kv_num("io.bounce_bytes", &v) == 0)
		printf("bounce bytes during the io figures: %.0f (zero copy: "
		    "every buffer inside an attached segment)\n", v);
	if (kv_num("bw.get.seq.4096.reps", &v) == 0)
		printf("throughput: median of %.0f runs of 512 x 4 KiB, 256 x "
		    "64 KiB, 64 x 1 MiB; batch = %.0f entries per seg_getv/"
		    "seg_putv\n", v, batch);
	if (kv_num("lat.get.iterations", &v) == 0)
		printf("latency: %.0f samples after 50 warm-up operations; "
		    "ib_read_lat's figures are at its default 2 bytes\n", v);
	if (kv_num("export.reps", &v) == 0)
		printf("registration: cold (fresh pages) and ctl once each; "
		    "warm, seg_export, seg_unexport median of %.0f; bare "
		    "ibv_reg_mr on the same device, LOCAL_WRITE|REMOTE_READ|"
		    "REMOTE_WRITE\n", v);
	if (short_of_aim)
		printf("%d figure(s) short of the aim\n", short_of_aim);

	if (out != NULL) {
		char tmpath[4096];

		snprintf(tmpath, sizeof tmpath, "%s.tmp", out);
		if ((f = fopen(tmpath, "w")) == NULL)
			fail("%s: %s", tmpath, strerror(errno));
		fprintf(f, "{\n  \"tool\": \"rdma_bench\",\n");
		fprintf(f, "  \"perftest\": \"%s\",\n", ptpath ? ptpath : "");
		fprintf(f, "  \"units\": {\"bw\": \"MB/s (1 MB = 2^20 bytes)\", "
		    "\"lat\": \"us\", \"time\": \"ms\"},\n");
		fprintf(f, "  \"ratio\": \"ours / baseline\",\n");
		fprintf(f, "  \"figures\": [\n");
		for (i = 0; i < nrows; i++) {
			struct row *r = &rows[i];
			fprintf(f, "    {\"figure\": \"%s\", \"unit\": \"%s\", "
			    "\"ours\": ", r->figure, r->unit);
			json_num(f, r->have_ours, r->ours, 4);
			fprintf(f, ", \"baseline\": ");
			json_num(f, r->have_base, r->base, 4);
			fprintf(f, ", \"baseline_is\": \"%s\", \"ratio\": ",
			    r->base_name);
			json_num(f, r->have_ours && r->have_base, r->have_base ?
			    r->ours / r->base : 0, 4);
			fprintf(f, ", \"aim\": ");
			json_num(f, r->aim > 0, r->aim, 4);
			fprintf(f, ", \"higher_is_better\": %s}%s\n",
			    r->higher_better ? "true" : "false",
			    i + 1 < nrows ? "," : "");
		}
		fprintf(f, "  ],\n  \"raw\": {\n");
		for (i = 0; i < nkv; i++) {
			char *end;
			strtod(kvs[i].val, &end);
			if (*kvs[i].val != '\0' && *end == '\0')
				fprintf(f, "    \"%s\": %s%s\n", kvs[i].key,
				    kvs[i].val, i + 1 < nkv ? "," : "");
			else
				fprintf(f, "    \"%s\": \"%s\"%s\n", kvs[i].key,
				    kvs[i].val, i + 1 < nkv ? "," : "");
		}
		fprintf(f, "  }\n}\n");
		if (fclose(f) != 0 || rename(tmpath, out) != 0)
			fail("cannot write %s: %s", out, strerror(errno));
		printf("wrote %s\n", out);
	}
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
