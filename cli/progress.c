/*
 * progress.c: a progress line on standard error for get, put, read and
 * write of more than PROGRESS_MIN bytes, as dd status=progress and pv show
 * one: bytes, rate, and time left when the total is known.  Only when
 * standard error is a terminal, and not with -q; redrawn at most twice a
 * second, and once more, with a newline, at the end.
 */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "segctl.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
progress_start(struct progress *p, uint64_t total)
{
	p->on = !opt_quiet && isatty(2);
	p->shown = 0;
	p->total = total;
	p->done = 0;
	p->start = p->last = now();
}

static int
eligible(const struct progress *p)
{
	return p->on && (p->total > PROGRESS_MIN || p->done > PROGRESS_MIN);
}

static void
draw(struct progress *p, double t)
{
	double el = t - p->start, mib = (double)p->done / (1 << 20);
	double rate = el > 0 ? mib / el : 0;

	fprintf(stderr, "\r%llu bytes (%.1f MiB) copied, %.1f s, %.1f MiB/s",
	    (unsigned long long)p->done, mib, el, rate);
	if (p->total > 0 && p->total >= p->done) {
		double left = (double)(p->total - p->done) / (1 << 20);
		fprintf(stderr, ", %.0f%%, %.1f s left",
		    100.0 * (double)p->done / (double)p->total,
		    rate > 0 ? left / rate : 0.0);
	}
	fputs("\033[K", stderr);
	p->shown = 1;
	p->last = t;
}

void
progress_add(struct progress *p, uint64_t n)
{
	double t;

	p->done += n;
	if (!eligible(p))
		return;
	if ((t = now()) - p->last >= 0.5)
		draw(p, t);
}

void
progress_end(struct progress *p)
{
	if (!eligible(p))
		return;
	draw(p, now());
	fputc('\n', stderr);
}
