/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * benchlib: what the benchmarks share: reading a small file (the perftest
 * baseline, tests/rdma/perftest-baseline's perftest.json) and its numbers,
 * and the statistics and JSON of their tables.  What they share with the
 * RDMA tier's programs (fail, clocks, numbers) is tests/rdma/testlib.
 */
#ifndef BENCHLIB_H
#define BENCHLIB_H

#include <stddef.h>
#include <stdio.h>

#include "testlib.h"

/* The file's text (at most 64 KiB), NUL-terminated; NULL if unreadable. */
char *slurp(const char *path);
/* The number at "field" inside the object of "test": {"field": number};
 * 0, or -1 if there is none (JSON null included). */
int pt_num(const char *json, const char *test, const char *field, double *v);

int cmp_double(const void *a, const void *b);	/* qsort, ascending */
double median(double *v, size_t n);		/* sorts v[n] */
/* Nearest-rank percentile of sorted v[n], q in (0, 1]. */
double pct(const double *v, size_t n, double q);
/* v with prec significant digits, or null when !have */
void json_num(FILE *f, int have, double v, int prec);

#endif
