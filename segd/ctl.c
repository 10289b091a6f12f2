/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * ctl.c: the ctl message parser.  `va|addr|umsg|kmsg ADDR LEN`: ADDR is
 * rounded down to a page, the end up to a page; ADDR 0 asks segd to pick.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "segd.h"

#define CTL_USAGE "expected 'va|addr|umsg|kmsg ADDRESS LENGTH'"

static const struct {
	const char   *word;
	enum seg_verb verb;
} verbs[] = {
	{ "va", SEG_VERB_VA }, { "addr", SEG_VERB_ADDR },
	{ "umsg", SEG_VERB_UMSG }, { "kmsg", SEG_VERB_KMSG },
};

static int
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int
ctl_parse(const char *msg, size_t len, uint64_t pagesize, struct ctlmsg *out,
    struct segerr *e)
{
	const char *f[4];
	size_t flen[4], i = 0, nf = 0, v;
	uint64_t addr, n, start, end;
	int found = 0;

	if (len > SEGW_MAXTEXT)
		return seterr(e, EINVAL, "bad ctl message: too long");
	while (i < len) {
		while (i < len && is_blank(msg[i]))
			i++;
		if (i == len)
			break;
		if (nf == 4)
			return seterr(e, EINVAL, "bad ctl message: too many fields; "
			    CTL_USAGE);
		f[nf] = msg + i;
		while (i < len && !is_blank(msg[i]))
			i++;
		flen[nf] = (size_t)(msg + i - f[nf]);
		nf++;
	}
	if (nf != 3)
		return seterr(e, EINVAL, "bad ctl message: %s; " CTL_USAGE,
		    nf < 3 ? "missing fields" : "too many fields");
	for (v = 0; v < sizeof verbs / sizeof verbs[0]; v++)
		if (strlen(verbs[v].word) == flen[0] &&
		    memcmp(verbs[v].word, f[0], flen[0]) == 0) {
			found = 1;
			break;
		}
	if (!found)
		return seterr(e, EINVAL, "bad ctl message: unknown verb '%.*s'; "
		    CTL_USAGE, (int)(flen[0] > 16 ? 16 : flen[0]), f[0]);
	if (seg_parse_u64(f[1], flen[1], &addr) < 0)
		return seterr(e, EINVAL, "bad ctl message: bad address '%.*s'",
		    (int)(flen[1] > 24 ? 24 : flen[1]), f[1]);
	if (seg_parse_u64(f[2], flen[2], &n) < 0)
		return seterr(e, EINVAL, "bad ctl message: bad length '%.*s'",
		    (int)(flen[2] > 24 ? 24 : flen[2]), f[2]);
	if (n == 0)
		return seterr(e, EINVAL, "bad ctl message: zero length");
	if (addr > UINT64_MAX - n || addr + n > UINT64_MAX - (pagesize - 1))
		return seterr(e, EINVAL, "bad ctl message: range wraps past the "
		    "top of the address space");
	start = addr & ~(pagesize - 1);
	end = (addr + n + pagesize - 1) & ~(pagesize - 1);
	if (start == 0 && addr != 0)	/* would silently mean "segd picks" */
		return seterr(e, EINVAL, "bad ctl message: address 0x%llx lies "
		    "in page 0; use 0 to let segd pick", (unsigned long long)addr);
	if (end > SEGD_USER_TOP)
		return seterr(e, EINVAL, "bad ctl message: range ends above the "
		    "user address space (0x%llx)",
		    (unsigned long long)SEGD_USER_TOP);
	out->verb = verbs[v].verb;
	out->va = start;
	out->len = end - start;
	return 0;
}

/* The ctl message of the same format: "verb 0xADDR 0xLEN\n". */
int
ctl_format(char *buf, size_t size, enum seg_verb verb, uint64_t va,
    uint64_t len)
{
	return snprintf(buf, size, "%s 0x%llx 0x%llx\n", segw_verb_name(verb),
	    (unsigned long long)va, (unsigned long long)len);
}
