/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * benchlib: what the benchmarks share: reading a small file (the perftest
 * baseline, tests/rdma/perftest-baseline's perftest.json) and its numbers.
 */
#ifndef BENCHLIB_H
#define BENCHLIB_H

/* The file's text (at most 64 KiB), NUL-terminated; NULL if unreadable. */
char *slurp(const char *path);
/* The number at "field" inside the object of "test": {"field": number};
 * 0, or -1 if there is none (JSON null included). */
int pt_num(const char *json, const char *test, const char *field, double *v);

#endif
