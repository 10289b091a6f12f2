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

#include "seg.h"
#include "testlib.h"

const char *progname = "test";
uint64_t rng = 0x9e3779b97f4a7c15ULL;
const char *fail_tag = "FAIL: ";
int fail_status = 1;
void (*fail_hook)(void);

void
fail(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: %s", progname, fail_tag);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (fail_hook != NULL)
		fail_hook();
	exit(fail_status);
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

double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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

/* KEY's value in the "KEY value" lines get gives (segd's or ours) */
static uint64_t
counter(ssize_t (*get)(char *, size_t), const char *key, const char *whose)
{
	char buf[1024];
	size_t kl = strlen(key);
	const char *p;

	if (get(buf, sizeof buf) < 0)
		fail("%s stats: %s", whose, seg_errstr());
	for (p = buf; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, key, kl) == 0 && p[kl] == ' ')
			return strtoull(p + kl + 1, NULL, 10);
	fail("%s stats have no %s:\n%s", whose, key, buf);
}

uint64_t
stat_counter(const char *key)
{
	return counter(seg_stats, key, "segd's");
}

uint64_t
local_counter(const char *key)
{
	return counter(seg_stats_local, key, "this process's");
}

uint64_t
batch_max(uint64_t seglen, uint64_t bufsize, uint64_t slots)
{
	uint64_t n = seglen / bufsize;

	if (n > slots)
		n = slots;
	if (n > SEG_FREE_BATCH)
		n = SEG_FREE_BATCH;
	return n;
}

void
backoff(long *us, long max)
{
	usleep((useconds_t)*us);
	if (*us < max)
		*us *= 2;
}

uint64_t
free_read(const char *seg, uint64_t *v, int n)
{
	int got = seg_free_read(seg, v, n);

	if (got <= 0)
		fail("seg_free_read: %s", got < 0 ? seg_errstr() : "nothing");
	return (uint64_t)got;
}
