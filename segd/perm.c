/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * perm.c: who a caller is, and what the segment's mode lets them do.
 * The check is Unix's: owner bits if the uid matches, else group bits if
 * any of the caller's groups matches, else other bits; root may do anything.
 */
#include <sys/socket.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segd.h"

int
perm_ok(const struct cred *c, uid_t uid, gid_t gid, mode_t mode, int want)
{
	int i, bits;

	if (c->uid == 0)
		return 1;
	if (c->uid == uid)
		bits = (mode >> 6) & 7;
	else {
		int ingroup = c->gid == gid;
		for (i = 0; i < c->ngroups && !ingroup; i++)
			ingroup = c->groups[i] == gid;
		bits = ingroup ? (mode >> 3) & 7 : mode & 7;
	}
	return (bits & want) == want;
}

int
perm_check(const struct cred *c, const struct segment *s, int want,
    struct segerr *e)
{
	if (perm_ok(c, s->uid, s->gid, s->mode, want))
		return 0;
	return seterr(e, EACCES, "permission denied: %s access to segment '%s' "
	    "(mode %04o, owner %u:%u) for uid %u",
	    want == (SEGW_RD | SEGW_WR) ? "read-write" :
	    want == SEGW_WR ? "write" : "read", s->name, (unsigned)s->mode,
	    (unsigned)s->uid, (unsigned)s->gid, (unsigned)c->uid);
}

/* Supplementary groups from /proc/PID/status; best effort. */
static void
cred_groups(struct cred *c)
{
	char path[64], line[1024], *p, *end;
	FILE *f;

	c->ngroups = 0;
	snprintf(path, sizeof path, "/proc/%d/status", (int)c->pid);
	if ((f = fopen(path, "re")) == NULL)
		return;
	while (fgets(line, sizeof line, f) != NULL) {
		if (strncmp(line, "Groups:", 7) != 0)
			continue;
		p = line + 7;
		while (c->ngroups < SEGD_MAXGROUPS) {
			unsigned long g;
			errno = 0;
			g = strtoul(p, &end, 10);
			if (end == p || errno != 0)
				break;
			c->groups[c->ngroups++] = (gid_t)g;
			p = end;
		}
		break;
	}
	fclose(f);
}

int
cred_from_socket(int fd, struct cred *c)
{
	struct ucred uc;
	socklen_t len = sizeof uc;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0)
		return -1;
	memset(c, 0, sizeof *c);
	c->pid = uc.pid;
	c->uid = uc.uid;
	c->gid = uc.gid;
	cred_groups(c);
	return 0;
}
