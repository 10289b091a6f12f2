/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/* testlib: see testlib.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testlib.h"

const char *progname = "test";
uint64_t rng = 0x9e3779b97f4a7c15ULL;

void
fail(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: FAIL: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

void
on_alarm(int sig)
{
	static const char m[] = ": FAIL: time limit reached\n";

	(void)sig;
	if (write(2, progname, strlen(progname)) >= 0)
		(void)!write(2, m, sizeof m - 1);
	_exit(124);
}

uint64_t
rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ULL;
}

void
fill(uint8_t *p, size_t n)
{
	uint64_t v;

	for (; n >= 8; p += 8, n -= 8) {
		v = rnd();
		memcpy(p, &v, 8);
	}
	if (n) {
		v = rnd();
		memcpy(p, &v, n);
	}
}

void
shuffle(uint64_t *v, uint64_t n)
{
	uint64_t i, j, t;

	for (i = n; i > 1; i--) {
		j = rnd() % i;
		t = v[i - 1];
		v[i - 1] = v[j];
		v[j] = t;
	}
}

static long long
clock_ms(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long
now_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

long long
epoch_ms(void)
{
	return clock_ms(CLOCK_REALTIME);
}

void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

uint64_t
num(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || end == s)
		fail("bad number '%s'", s);
	return v;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (p == NULL)
		fail("out of memory");
	return p;
}
