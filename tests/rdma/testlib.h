/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * testlib: helpers shared by the RDMA tier's C programs (imp_io, zio_io):
 * fatal checks, the time limit, a seeded generator, clocks and numbers.
 */
#ifndef TESTLIB_H
#define TESTLIB_H

#include <stddef.h>
#include <stdint.h>

extern const char *progname;	/* set by the program: "imp_io", ... */
extern uint64_t rng;		/* the generator's state; mix a seed in */

/* "PROG: FAIL: message" on stderr (stdout flushed first), exit 1. */
void __attribute__((noreturn, format(printf, 1, 2))) fail(const char *fmt, ...);
/* SIGALRM: "PROG: FAIL: time limit reached", exit 124. */
void on_alarm(int sig);
uint64_t rnd(void);			/* xorshift64* */
void fill(uint8_t *p, size_t n);	/* n random bytes */
void shuffle(uint64_t *v, uint64_t n);
long long now_ms(void);		/* monotonic */
long long epoch_ms(void);	/* wall clock, ms since the epoch */
void sleep_ms(long ms);
uint64_t num(const char *s);	/* decimal or 0x hex, whole; else fail */
void *xcalloc(size_t n, size_t size);

#endif
