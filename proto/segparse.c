/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * segparse.c: the small parsers both sides share, the one place where
 * segment names, node names, numbers and addresses are checked; and the
 * monotonic clock both sides time deadlines with.
 */
#include <netinet/in.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "segwire.h"

/* [A-Za-z0-9._-]{1,max}, and neither "." nor "..". */
static int
portable_name(const char *name, size_t max)
{
	size_t i, n = strnlen(name, max + 1);

	if (n == 0 || n > max || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0)
		return 0;
	for (i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* A segment's name: a directory of the file system, a file in state. */
int
seg_name_valid(const char *name)
{
	return portable_name(name, SEG_NAMEMAX);
}

/* A node name, as peers give it in HELLO: a directory of net/. */
int
seg_node_valid(const char *node)
{
	return portable_name(node, SEGP_NODEMAX);
}

int
seg_parse_hostport(const char *s, char *host, size_t hsize, uint16_t *port,
    uint16_t defport, const char **why)
{
	const char *colon, *h = s, *hend;
	uint64_t p = defport;

	*why = "bad address";
	if (*s == '[') {
		h = s + 1;
		if ((hend = strchr(h, ']')) == NULL)
			return -1;
		colon = hend[1] == ':' ? hend + 1 : NULL;
		if (hend[1] != '\0' && colon == NULL)
			return -1;
	} else {
		colon = strrchr(s, ':');
		if (colon != NULL && strchr(s, ':') != colon)
			colon = NULL;	/* a bare IPv6 address */
		hend = colon ? colon : s + strlen(s);
	}
	if (colon != NULL && (seg_parse_u64(colon + 1, strlen(colon + 1),
	    &p) < 0 || p == 0 || p > 65535)) {
		*why = "bad port";
		return -1;
	}
	if (hend == h || (size_t)(hend - h) >= hsize)
		return -1;
	memcpy(host, h, (size_t)(hend - h));
	host[hend - h] = '\0';
	*port = (uint16_t)p;
	return 0;
}

/*
 * A whole unsigned number, decimal or 0x hex, of exactly len characters:
 * no sign, no blanks, no trailing bytes, no overflow.
 */
int
seg_parse_u64(const char *s, size_t len, uint64_t *out)
{
	char buf[32], *end;
	unsigned long long v;
	int base = 10;

	if (len == 0 || len >= sizeof buf || memchr(s, '\0', len) != NULL)
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (len > 2 && buf[0] == '0' && (buf[1] == 'x' || buf[1] == 'X'))
		base = 16;
	if (!(buf[base == 16 ? 2 : 0] >= '0' && buf[base == 16 ? 2 : 0] <= '9') &&
	    !(base == 16 && strchr("abcdefABCDEF", buf[2]) != NULL))
		return -1;
	errno = 0;
	v = strtoull(buf, &end, base);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

/* $SEGD_SOCKET, else /run/segd/segd.sock for root, else $XDG_RUNTIME_DIR/segd.sock */
int
seg_default_socket(char *buf, size_t size)
{
	const char *e = getenv("SEGD_SOCKET"), *x;
	int n;

	if (e != NULL && *e != '\0')
		n = snprintf(buf, size, "%s", e);
	else if (geteuid() == 0)
		n = snprintf(buf, size, "/run/segd/segd.sock");
	else if ((x = getenv("XDG_RUNTIME_DIR")) != NULL && *x != '\0')
		n = snprintf(buf, size, "%s/segd.sock", x);
	else {
		errno = ENOENT;
		return -1;
	}
	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

long long
seg_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

long long
seg_now_ms(void)
{
	return seg_now_us() / 1000;
}

/* An address as 16 bytes (IPv4 mapped into IPv6) and its port: what the
 * cluster key's tags and proofs cover. */
void
seg_addr16(const struct sockaddr *sa, uint8_t out[16], uint16_t *port)
{
	memset(out, 0, 16);
	*port = 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		out[10] = out[11] = 0xff;
		memcpy(out + 12, &s4->sin_addr, 4);
		*port = ntohs(s4->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		memcpy(out, &s6->sin6_addr, 16);
		*port = ntohs(s6->sin6_port);
	}
}
