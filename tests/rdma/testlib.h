/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * testlib: helpers shared by the RDMA tier's C programs (imp_io, zio_io)
 * and the benchmarks (bench/): fatal checks, the time limit, a seeded
 * generator, clocks, numbers, segd's counters and the pipelines' steps.
 */
#ifndef TESTLIB_H
#define TESTLIB_H

#include <stddef.h>
#include <stdint.h>

extern const char *progname;	/* set by the program: "imp_io", ... */
extern uint64_t rng;		/* the generator's state; mix a seed in */
/* How fail() ends a program, for those that do not fail as a test does:
 * the word after "PROG: " ("FAIL: "), the exit status (1), and what to run
 * first (nothing). */
extern const char *fail_tag;
extern int fail_status;
extern void (*fail_hook)(void);

/* "PROG: FAIL: message" on stderr (stdout flushed first), exit 1. */
void __attribute__((noreturn, format(printf, 1, 2))) fail(const char *fmt, ...);
/* SIGALRM: "PROG: FAIL: time limit reached", exit 124. */
void on_alarm(int sig);
uint64_t rnd(void);			/* xorshift64* */
void fill(uint8_t *p, size_t n);	/* n random bytes */
void shuffle(uint64_t *v, uint64_t n);
long long now_ms(void);		/* monotonic */
long long epoch_ms(void);	/* wall clock, ms since the epoch */
double now_s(void);		/* monotonic, in seconds */
void sleep_ms(long ms);
uint64_t num(const char *s);	/* decimal or 0x hex, whole; else fail */
void *xcalloc(size_t n, size_t size);
/* segd's counter KEY in seg_stats ("KEY value" lines); else fail */
uint64_t stat_counter(const char *key);
/* this process's own (seg_stats_local), likewise */
uint64_t local_counter(const char *key);

/* The producer/consumer pipelines (zio_io, bench/zio_bench): */
/* buffers of bufsize one batch may take: what a segment of seglen holds,
 * at most slots and SEG_FREE_BATCH (0: not even one) */
uint64_t batch_max(uint64_t seglen, uint64_t bufsize, uint64_t slots);
/* a wait of *us microseconds, doubled for the next one up to max */
void backoff(long *us, long max);
/* addresses returned to segment seg's pool, into v (at most n): at least
 * one; else fail */
uint64_t free_read(const char *seg, uint64_t *v, int n);

#endif
