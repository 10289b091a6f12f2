/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * atomic_bench: seg_fadd's latency beside perftest's ib_atomic_lat on the
 * same device (figures, not a test; bench/run-rdma runs it in the soft-RoCE
 * session of make bench, after tests/rdma/perftest-baseline).
 *
 *   atomic_bench [-n N] [-p PERFTEST.json] [-P direct|segd] REF
 *       imports REF (a segment exported with SEG_LOCK_OPS), checks its
 *       path is the one asked, makes 100 warm-up calls, then times N
 *       seg_fadd calls on word 0, one at a time; prints min, p50, avg and
 *       p99 in microseconds, perftest's ib_atomic_lat p50 and avg from
 *       PERFTEST.json, and the ratios (seg_fadd over ib_atomic_lat).  Also
 *       "atomic.PATH.KEY VALUE" lines for run-rdma's record.
 *
 * The word must come out N + 100 higher than it went in: a benchmark that
 * adds wrong has no figures worth printing.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "benchlib.h"
#include "seg.h"

#define WARMUP 100

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

int
main(int argc, char **argv)
{
	const char *pt = NULL, *want = "direct", *path;
	double *v, t, sum = 0, pt_p50 = 0, pt_avg = 0;
	char *json = NULL;
	uint64_t first, last, i;
	long n = 10000;
	seg_import_t *imp;
	char why[256];
	int c, have_pt;

	progname = "atomic_bench";
	while ((c = getopt(argc, argv, "n:p:P:")) != -1)
		switch (c) {
		case 'n':
			n = (long)num(optarg);
			break;
		case 'p':
			pt = optarg;
			break;
		case 'P':
			want = optarg;
			break;
		default:
			fail("usage: atomic_bench [-n N] [-p PERFTEST.json] "
			    "[-P direct|segd] REF");
		}
	if (optind != argc - 1 || n < 1)
		fail("usage: atomic_bench [-n N] [-p PERFTEST.json] "
		    "[-P direct|segd] REF");
	if ((imp = seg_import(argv[optind])) == NULL)
		fail("seg_import %s: %s", argv[optind], seg_errstr());
	path = seg_import_path(imp, why, sizeof why) == SEG_PATH_DIRECT ?
	    "direct" : "segd";
	if (strcmp(path, want) != 0)
		fail("the import takes the %s path, not %s: %s", path, want, why);
	v = xcalloc((size_t)n, sizeof *v);
	if (seg_fadd(imp, 0, 0, &first) < 0)
		fail("seg_fadd: %s", seg_errstr());
	for (i = 0; i < WARMUP; i++)
		if (seg_fadd(imp, 0, 1, NULL) < 0)
			fail("seg_fadd: %s", seg_errstr());
	for (i = 0; i < (uint64_t)n; i++) {
		t = now_us();
		if (seg_fadd(imp, 0, 1, NULL) < 0)
			fail("seg_fadd: %s", seg_errstr());
		v[i] = now_us() - t;
		sum += v[i];
	}
	if (seg_fadd(imp, 0, 0, &last) < 0)
		fail("seg_fadd: %s", seg_errstr());
	if (last - first != (uint64_t)n + WARMUP)
		fail("the word went from %llu to %llu after %ld adds",
		    (unsigned long long)first, (unsigned long long)last,
		    n + WARMUP);
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	have_pt = pt != NULL && (json = slurp(pt)) != NULL &&
	    pt_num(json, "ib_atomic_lat", "p50_us", &pt_p50) == 0 &&
	    pt_num(json, "ib_atomic_lat", "avg_us", &pt_avg) == 0 &&
	    pt_p50 > 0 && pt_avg > 0;
	printf("seg_fadd (%s path), %ld calls: min %.1f us, p50 %.1f us, "
	    "avg %.1f us, p99 %.1f us\n", path, n, v[0], pct(v, (size_t)n, 0.5),
	    sum / (double)n, pct(v, (size_t)n, 0.99));
	if (have_pt)
		printf("ib_atomic_lat: p50 %.1f us, avg %.1f us; seg_fadd / "
		    "ib_atomic_lat: p50 x%.2f, avg x%.2f\n", pt_p50, pt_avg,
		    pct(v, (size_t)n, 0.5) / pt_p50, sum / (double)n / pt_avg);
	else
		printf("ib_atomic_lat: no figures%s%s\n", pt ? " in " : "",
		    pt ? pt : "");
	printf("atomic.%s.p50_us %.2f\natomic.%s.avg_us %.2f\n"
	    "atomic.%s.p99_us %.2f\n", path, pct(v, (size_t)n, 0.5), path,
	    sum / (double)n, path, pct(v, (size_t)n, 0.99));
	if (have_pt)
		printf("atomic.%s.ratio_p50 %.2f\n", path,
		    pct(v, (size_t)n, 0.5) / pt_p50);
	free(json);
	free(v);
	seg_unimport(imp);
	return 0;
}
