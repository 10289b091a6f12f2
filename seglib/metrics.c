/*
 * metrics.c: segd's counters in the Prometheus text exposition format,
 * per peer ones included (SEGW_METRICS: one LISTENT per line).
 */
#include <errno.h>
#include <string.h>

#include "libseg.h"

struct textacc {
	char  *buf;
	size_t size, len;
};

static int
line_add(const struct segw_info *w, const char *t, size_t tl, void *arg)
{
	struct textacc *a = arg;

	(void)w;
	if (memchr(t, '\0', tl) != NULL)
		return seg_seterr(EPROTO, "segd sent a metric with a NUL byte");
	if (a->len + tl + 1 > a->size)
		return seg_seterr(ERANGE, "buffer of %zu bytes too small for "
		    "segd's metrics", a->size);
	memcpy(a->buf + a->len, t, tl);
	a->len += tl;
	a->buf[a->len] = '\0';
	return 0;
}

ssize_t
seg_metrics(char *buf, size_t size)
{
	struct textacc a = { buf, size, 0 };
	struct segw_req r;

	if (buf == NULL || size == 0)
		return seg_seterr(EINVAL, "bad arguments");
	buf[0] = '\0';
	memset(&r, 0, sizeof r);
	if (seg_call_list(SEGW_METRICS, &r, line_add, &a) < 0)
		return -1;
	return (ssize_t)a.len;
}
