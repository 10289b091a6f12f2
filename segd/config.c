/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * config.c: segd's configuration file, /etc/segd.conf or segd -c FILE.
 *
 * One `key = value` a line; blank lines and lines whose first non-blank
 * character is '#' are ignored.  Blanks around the key and the value are
 * dropped.  Every key is one of segd's options (segd(8) lists them); each
 * may appear once.  The file is untrusted input like any other: its size
 * and its lines are bounded, numbers have ranges, and the first bad line is
 * an error "FILE:LINE: what", after which segd refuses to start (or, on
 * SIGHUP, keeps what it has).  Nothing here logs: the caller says it.
 */
#include <sys/stat.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "segd.h"

enum ktype { K_PATH, K_SOCKET, K_WORD, K_NODE, K_ADDR, K_NUM, K_BOOL };

static const struct key {
	const char *name;
	enum ktype  type;
	uint64_t    min, max;	/* K_NUM */
} keys[CONF_NKEYS] = {
	[CONF_SOCKET]     = { "socket", K_SOCKET, 0, 0 },
	[CONF_STATEDIR]   = { "statedir", K_PATH, 0, 0 },
	[CONF_MAXSEGS]    = { "maxsegs", K_NUM, 1, CONF_MAXSEGS_MAX },
	[CONF_MAXBYTES]   = { "maxbytes", K_NUM, 1, UINT64_MAX },
	[CONF_LISTEN]     = { "listen", K_ADDR, 0, 0 },
	[CONF_DEVICE]     = { "device", K_WORD, 0, 0 },
	[CONF_NODE]       = { "node", K_NODE, 0, 0 },
	[CONF_DEADLINE]   = { "deadline", K_NUM, CONF_DEADLINE_MIN,
	    CONF_DEADLINE_MAX },
	[CONF_MOUNT]      = { "mount", K_PATH, 0, 0 },
	[CONF_VERBOSE]    = { "verbose", K_BOOL, 0, 0 },
	[CONF_FOREGROUND] = { "foreground", K_BOOL, 0, 0 },
	[CONF_TICKET]     = { "ticket", K_NUM, 0, CONF_TICKET_MAX },
	[CONF_HEARTBEAT]  = { "heartbeat", K_NUM, 0, CONF_HEARTBEAT_MAX },
};

const char *
conf_key_name(int key)
{
	return key >= 0 && key < CONF_NKEYS ? keys[key].name : "?";
}

static int
lookup(const char *name, size_t len)
{
	int i;

	for (i = 0; i < CONF_NKEYS; i++)
		if (strlen(keys[i].name) == len &&
		    memcmp(keys[i].name, name, len) == 0)
			return i;
	return -1;
}

static int
parse_bool(const char *v, int *out)
{
	static const char *yes[] = { "yes", "true", "on", "1" };
	static const char *no[] = { "no", "false", "off", "0" };
	size_t i;

	for (i = 0; i < sizeof yes / sizeof yes[0]; i++) {
		if (strcmp(v, yes[i]) == 0)
			return *out = 1, 0;
		if (strcmp(v, no[i]) == 0)
			return *out = 0, 0;
	}
	return -1;
}

/* Check value v of key k and store it; -1 with *why. */
static int
store_value(struct conf *c, int k, const char *v, char *why, size_t wsize)
{
	const struct key *kd = &keys[k];
	char host[256];
	const char *w;
	uint16_t port;
	uint64_t n;
	int b;

	switch (kd->type) {
	case K_NUM:
		if (seg_parse_u64(v, strlen(v), &n) < 0 || n < kd->min ||
		    n > kd->max) {
			snprintf(why, wsize, "%s: '%.40s' is not a number from "
			    "%llu to %llu", kd->name, v,
			    (unsigned long long)kd->min,
			    (unsigned long long)kd->max);
			return -1;
		}
		if (k == CONF_MAXSEGS)
			c->maxsegs = n;
		else if (k == CONF_MAXBYTES)
			c->maxbytes = n;
		else if (k == CONF_TICKET)
			c->ticket_ms = (unsigned)n;
		else if (k == CONF_HEARTBEAT)
			c->heartbeat_ms = (unsigned)n;
		else
			c->deadline_ms = (unsigned)n;
		return 0;
	case K_BOOL:
		if (parse_bool(v, &b) < 0) {
			snprintf(why, wsize, "%s: '%.40s' is not yes or no",
			    kd->name, v);
			return -1;
		}
		*(k == CONF_VERBOSE ? &c->verbose : &c->foreground) = b;
		return 0;
	case K_SOCKET:
	case K_PATH:
		if (v[0] != '/') {
			snprintf(why, wsize, "%s: '%.40s' is not an absolute "
			    "path", kd->name, v);
			return -1;
		}
		if (kd->type == K_SOCKET && strlen(v) >= CONF_SOCKMAX) {
			snprintf(why, wsize, "socket: path longer than %d bytes",
			    CONF_SOCKMAX - 1);
			return -1;
		}
		break;
	case K_NODE:
		if (!seg_node_valid(v)) {
			snprintf(why, wsize, "node: bad node name '%.40s': use "
			    "1 to %d of [A-Za-z0-9._-]", v, SEGP_NODEMAX);
			return -1;
		}
		break;
	case K_ADDR:
		if (seg_parse_hostport(v, host, sizeof host, &port, 1,
		    &w) < 0) {
			snprintf(why, wsize, "listen: '%.40s': %s", v, w);
			return -1;
		}
		break;
	case K_WORD:
		if (strcspn(v, " \t") != strlen(v) || strlen(v) > 64) {
			snprintf(why, wsize, "%s: '%.40s' is not a device name",
			    kd->name, v);
			return -1;
		}
		break;
	}
	snprintf(c->str[k], sizeof c->str[k], "%s", v);
	return 0;
}

/* One line (len bytes, no newline) of file; -1 with e set. */
static int
parse_line(struct conf *c, const char *file, unsigned lineno,
    const char *line, size_t len, unsigned first[CONF_NKEYS],
    struct segerr *e)
{
	char buf[CONF_LINEMAX], why[SEGW_MAXTEXT];
	char *p, *eq, *kend, *v, *vend;
	size_t i;
	int k;

	if (len >= CONF_LINEMAX)
		return seterr(e, EINVAL, "%s:%u: line longer than %d bytes",
		    file, lineno, CONF_LINEMAX - 1);
	for (i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20 && line[i] != '\t' &&
		    !(line[i] == '\r' && i == len - 1))
			return seterr(e, EINVAL, "%s:%u: control character "
			    "(byte %#x) in line", file, lineno,
			    (unsigned)(unsigned char)line[i]);
	memcpy(buf, line, len);
	buf[len] = '\0';
	for (p = buf; *p == ' ' || *p == '\t'; p++)
		;
	if (*p == '\0' || *p == '\r' || *p == '#')
		return 0;
	if ((eq = strchr(p, '=')) == NULL)
		return seterr(e, EINVAL, "%s:%u: no '=': lines are key = value",
		    file, lineno);
	for (kend = eq; kend > p && isspace((unsigned char)kend[-1]); kend--)
		;
	if ((k = lookup(p, (size_t)(kend - p))) < 0)
		return seterr(e, EINVAL, "%s:%u: unknown key '%.*s'", file,
		    lineno, (int)(kend - p > 40 ? 40 : kend - p), p);
	if (first[k] != 0)
		return seterr(e, EINVAL, "%s:%u: duplicate key '%s' (first on "
		    "line %u)", file, lineno, keys[k].name, first[k]);
	for (v = eq + 1; *v == ' ' || *v == '\t'; v++)
		;
	for (vend = v + strlen(v); vend > v && isspace((unsigned char)vend[-1]);
	    vend--)
		;
	*vend = '\0';
	if (*v == '\0')
		return seterr(e, EINVAL, "%s:%u: %s: no value", file, lineno,
		    keys[k].name);
	if (store_value(c, k, v, why, sizeof why) < 0)
		return seterr(e, EINVAL, "%s:%u: %s", file, lineno, why);
	first[k] = lineno;
	c->set |= 1u << k;
	return 0;
}

int
conf_parse(struct conf *c, const char *file, const char *text, size_t len,
    struct segerr *e)
{
	unsigned first[CONF_NKEYS] = { 0 }, lineno = 0;
	const char *p = text, *end = text + len, *nl;

	memset(c, 0, sizeof *c);
	if (len > CONF_FILEMAX)
		return seterr(e, EFBIG, "%s: larger than %d bytes", file,
		    CONF_FILEMAX);
	while (p < end) {
		lineno++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (parse_line(c, file, lineno, p, (size_t)(nl - p), first,
		    e) < 0) {
			memset(c, 0, sizeof *c);
			return -1;
		}
		p = nl + 1;
	}
	return 0;
}

int
conf_load(struct conf *c, const char *path, int required, struct segerr *e)
{
	char *buf;
	struct stat st;
	ssize_t n;
	size_t len = 0;
	int fd, rc;

	memset(c, 0, sizeof *c);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0) {
		if (errno == ENOENT && !required)
			return 0;
		return seterr(e, errno, "%s: %s", path, strerror(errno));
	}
	if (fstat(fd, &st) < 0) {
		rc = errno;
		close(fd);
		return seterr(e, rc, "%s: fstat: %s", path, strerror(rc));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return seterr(e, EINVAL, "%s: not a regular file", path);
	}
	if ((buf = malloc(CONF_FILEMAX + 1)) == NULL) {
		close(fd);
		return seterr(e, ENOMEM, "%s: %s", path, strerror(ENOMEM));
	}
	/* at most one byte more than allowed: enough to say it is too big */
	while (len <= CONF_FILEMAX &&
	    (n = read(fd, buf + len, CONF_FILEMAX + 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = errno;
			free(buf);
			close(fd);
			return seterr(e, rc, "%s: read: %s", path, strerror(rc));
		}
		len += (size_t)n;
	}
	close(fd);
	rc = conf_parse(c, path, buf, len, e);
	free(buf);
	return rc;
}
