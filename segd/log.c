/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * log.c: segd's logging.  Three ways, chosen by log_init:
 *
 *   - the journal: stderr is the stream systemd gave segd ($JOURNAL_STREAM
 *     names its device and inode), so each line starts with "<N>", the
 *     syslog priority, which journald reads (sd-daemon(3));
 *   - stderr, one plain line a message, with -f anywhere else;
 *   - syslog(3), identity "segd", facility LOG_DAEMON, once segd detaches.
 *
 * Priorities: log_errx LOG_ERR (segd cannot go on), log_warn[x] LOG_WARNING,
 * log_info LOG_INFO, log_debug LOG_DEBUG (only with -v, or verbose = yes).
 */
#include <sys/stat.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "segd.h"

enum { TO_STDERR, TO_JOURNAL, TO_SYSLOG };
static int log_to = TO_STDERR;
static int log_verbose;

/* Whether stderr is the stream $JOURNAL_STREAM ("DEV:INODE") names. */
static int
stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	int n = 0;

	if (js == NULL || sscanf(js, "%llu:%llu%n", &dev, &ino, &n) != 2 ||
	    js[n] != '\0' || fstat(STDERR_FILENO, &st) < 0)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

void
log_init(int foreground, int verbose)
{
	log_verbose = verbose;
	if (stderr_is_journal())
		log_to = TO_JOURNAL;
	else if (foreground)
		log_to = TO_STDERR;
	else {
		log_to = TO_SYSLOG;
		openlog("segd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	}
}

void
log_set_verbose(int verbose)
{
	log_verbose = verbose;
}

static void
vlog(int pri, const char *fmt, va_list ap)
{
	char buf[1024];

	if (log_to == TO_SYSLOG) {
		vsyslog(LOG_DAEMON | pri, fmt, ap);
		return;
	}
	vsnprintf(buf, sizeof buf, fmt, ap);
	if (log_to == TO_JOURNAL)
		fprintf(stderr, "<%d>%s\n", pri, buf);
	else
		fprintf(stderr, "%s\n", buf);
	fflush(stderr);
}

void
log_at(int pri, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(pri, fmt, ap);
	va_end(ap);
}

/* fmt, then ": strerror(errno)" */
void
log_warn(const char *fmt, ...)
{
	char buf[512];
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	log_at(LOG_WARNING, "%s: %s", buf, strerror(saved));
	errno = saved;
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

/*
 * Whether one more line of a kind may be logged: at most max a second, so a
 * flood cannot fill the log; a note says how many were left out.
 */
int
log_rate(struct ratelimit *rl, unsigned max, const char *what)
{
	time_t now = time(NULL);

	if (now != rl->sec) {
		if (rl->n > max)
			log_warnx("%s: %u more lines left out in the last second",
			    what, rl->n - max);
		rl->sec = now;
		rl->n = 0;
	}
	return ++rl->n <= max;
}

/* Record an error for the caller; always returns -1. */
int
vseterr(struct segerr *e, int code, const char *fmt, va_list ap)
{
	if (e == NULL)
		return -1;
	e->code = code;
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	return -1;
}

int
seterr(struct segerr *e, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vseterr(e, code, fmt, ap);
	va_end(ap);
	return -1;
}
