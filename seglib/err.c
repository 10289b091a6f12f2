/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * err.c: this thread's last error, for seg_errstr().
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "libseg.h"

static __thread char errbuf[SEGW_MAXTEXT + 64];

/* Set errno and the message; always returns -1. */
int
seg_seterr(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errbuf, sizeof errbuf, fmt, ap);
	va_end(ap);
	errno = err;
	return -1;
}

/* A message received from segd, not NUL-terminated. */
int
seg_seterr_text(int err, const char *text, size_t len)
{
	if (len >= sizeof errbuf)
		len = sizeof errbuf - 1;
	memcpy(errbuf, text, len);
	errbuf[len] = '\0';
	if (len == 0)
		snprintf(errbuf, sizeof errbuf, "%s", strerror(err));
	errno = err;
	return -1;
}

const char *
seg_errstr(void)
{
	return errbuf[0] ? errbuf : "no error";
}
