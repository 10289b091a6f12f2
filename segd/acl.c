/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * acl.c: an export's access list, RSM's publish list: "NODE:r,NODE:rw".
 * NODE is a peer's node name (from its hello) or its address.  An empty
 * list grants every peer read-write.
 */
#include <errno.h>
#include <string.h>

#include "segd.h"

/* Returns the number of entries, or -1 with e set; changes acl only then. */
int
acl_parse(const char *text, struct acl_ent *acl, int max, struct segerr *e)
{
	struct acl_ent tmp[ACL_MAX];
	const char *p = text;
	int n = 0;

	if (text == NULL || *text == '\0')
		return 0;
	if (max > ACL_MAX)
		max = ACL_MAX;
	for (;;) {
		const char *comma = strchr(p, ','), *end = comma ? comma :
		    p + strlen(p), *colon;
		size_t nl;

		colon = memchr(p, ':', (size_t)(end - p));
		if (colon == NULL)
			return seterr(e, EINVAL, "bad access list: '%.*s' is not "
			    "NODE:r or NODE:rw", (int)(end - p > 64 ? 64 :
			    end - p), p);
		nl = (size_t)(colon - p);
		if (n == max)
			return seterr(e, EINVAL, "bad access list: more than %d "
			    "entries", max);
		if (nl == 0 || nl > SEGP_NODEMAX)
			return seterr(e, EINVAL, "bad access list: bad node name");
		memcpy(tmp[n].node, p, nl);
		tmp[n].node[nl] = '\0';
		if (!seg_node_valid(tmp[n].node))
			return seterr(e, EINVAL, "bad access list: bad node name "
			    "'%s'", tmp[n].node);
		if (end - colon == 2 && colon[1] == 'r')
			tmp[n].perm = SEGW_RD;
		else if (end - colon == 3 && colon[1] == 'r' && colon[2] == 'w')
			tmp[n].perm = SEGW_RD | SEGW_WR;
		else
			return seterr(e, EINVAL, "bad access list: permission "
			    "for '%s' must be r or rw", tmp[n].node);
		n++;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	memcpy(acl, tmp, (size_t)n * sizeof *acl);
	return n;
}

/* What the list grants a peer known by node name and address; 0: nothing. */
int
acl_perm(const struct acl_ent *acl, int n, const char *node, const char *addr)
{
	int i;

	if (n == 0)
		return SEGW_RD | SEGW_WR;
	for (i = 0; i < n; i++)
		if (strcmp(acl[i].node, node) == 0 ||
		    (addr != NULL && strcmp(acl[i].node, addr) == 0))
			return acl[i].perm;
	return 0;
}
