/*
 * metrics.c: segd's counters in the Prometheus text exposition format,
 * per peer ones included (SEGW_METRICS: one LISTENT per line).
 */
#include <errno.h>
#include <string.h>

#include "libseg.h"

static int
line_add(const struct segw_info *w, const char *t, size_t tl, void *arg)
{
	struct seg_textacc *a = arg;

	(void)w;
	if (memchr(t, '\0', tl) != NULL)
		return seg_seterr(EPROTO, "segd sent a metric with a NUL byte");
	if (seg_text_append(a, t, tl) < 0)
		return seg_seterr(ERANGE, "buffer of %zu bytes too small for "
		    "segd's metrics", a->size);
	return 0;
}

ssize_t
seg_metrics(char *buf, size_t size)
{
	return seg_call_text(SEGW_METRICS, buf, size, line_add);
}
