/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * segctl: the command-line face of libseg.
 *
 *   segctl [-s SOCKET] create NAME [MODE]
 *   segctl ctl NAME ['va 0x10000000 0x100000']
 *   segctl write NAME [OFFSET] < in
 *   segctl read NAME [OFFSET [LENGTH]] > out
 *   segctl rm NAME
 *   segctl ls
 *   segctl stat NAME
 *   segctl export NAME [ACL]
 *   segctl unexport NAME
 *   segctl ls NODE
 *   segctl get NODE/NAME [OFFSET [LENGTH]] > out
 *   segctl put NODE/NAME [OFFSET] < in
 *   segctl peers
 *   segctl stats
 *   segctl free NAME ADDR | segctl free NODE/NAME ADDR
 *   segctl free NAME [-n COUNT]
 *   segctl zalloc NAME LEN
 */
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "seg.h"
#include "segwire.h"

#define CHUNK (1u << 20)

static const char *cmdname = "segctl";

static void
usage(void)
{
	fprintf(stderr,
	    "usage: segctl [-s socket] create NAME [MODE]\n"
	    "       segctl ctl NAME ['va|addr|umsg|kmsg ADDR LEN']\n"
	    "       segctl write NAME [OFFSET] < in\n"
	    "       segctl read NAME [OFFSET [LENGTH]] > out\n"
	    "       segctl rm NAME\n"
	    "       segctl ls [NODE]\n"
	    "       segctl stat NAME\n"
	    "       segctl export NAME [NODE:r|NODE:rw,...]\n"
	    "       segctl unexport NAME\n"
	    "       segctl get NODE[:PORT]/NAME [OFFSET [LENGTH]] > out\n"
	    "       segctl put NODE[:PORT]/NAME [OFFSET] < in\n"
	    "       segctl peers\n"
	    "       segctl stats\n"
	    "       segctl free [NODE/]NAME ADDR\n"
	    "       segctl free NAME [-n COUNT]\n"
	    "       segctl zalloc NAME LEN\n");
	exit(2);
}

/* segctl: NAME: message, and exit 1 */
static void __attribute__((noreturn, format(printf, 2, 3)))
fail(const char *name, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: %s: ", cmdname, name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static uint64_t
number(const char *name, const char *what, const char *s)
{
	uint64_t v;

	if (seg_parse_u64(s, strlen(s), &v) < 0)
		fail(name, "bad %s '%s': use decimal or 0x hex", what, s);
	return v;
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* A whole chunk of standard input (less only at its end): fewer round trips. */
static size_t
read_chunk(const char *name, char *buf)
{
	size_t have = 0;

	while (have < CHUNK) {
		ssize_t r = read(0, buf + have, CHUNK - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			fail(name, "read standard input: %s", strerror(errno));
		if (r == 0)
			break;
		have += (size_t)r;
	}
	return have;
}

static int
cmd_create(int argc, char **argv)
{
	unsigned mode = 0660;
	char *end;

	if (argc < 2 || argc > 3)
		usage();
	if (argc == 3) {
		unsigned long m;
		errno = 0;
		m = strtoul(argv[2], &end, 8);
		if (errno || *end || end == argv[2] || m > 0777)
			fail(argv[1], "bad mode '%s': octal, at most 0777",
			    argv[2]);
		mode = (unsigned)m;
	}
	if (seg_create(argv[1], mode) < 0)
		fail(argv[1], "%s", seg_errstr());
	return 0;
}

static int
cmd_ctl(int argc, char **argv)
{
	char buf[SEGW_MAXTEXT + 1];

	if (argc < 2 || argc > 3)
		usage();
	if (argc == 3) {
		if (seg_ctl(argv[1], argv[2]) < 0)
			fail(argv[1], "%s", seg_errstr());
		return 0;
	}
	if (seg_ctl_read(argv[1], buf, sizeof buf) < 0)
		fail(argv[1], "%s", seg_errstr());
	fputs(buf, stdout);
	return 0;
}

static int
cmd_write(int argc, char **argv)
{
	uint64_t off = 0, total = 0;
	static char *buf;	/* static: still reachable when fail() exits */

	if (argc < 2 || argc > 3)
		usage();
	if (argc == 3)
		off = number(argv[1], "offset", argv[2]);
	if ((buf = malloc(CHUNK)) == NULL)
		fail(argv[1], "out of memory");
	/* as for read: an unallocated segment, or an offset at or past the
	 * end, is an error even when the input is empty */
	if (seg_pwrite(argv[1], buf, 0, off) < 0)
		fail(argv[1], "%s", seg_errstr());
	for (;;) {
		size_t have = read_chunk(argv[1], buf);
		ssize_t w;
		if (have == 0)
			break;
		w = seg_pwrite(argv[1], buf, have, off + total);
		if (w < 0)
			fail(argv[1], "%s", seg_errstr());
		total += (uint64_t)w;
		if ((size_t)w < have)
			fail(argv[1], "input runs past the end of the segment; "
			    "%llu bytes written", (unsigned long long)total);
	}
	free(buf);
	return 0;
}

static int
cmd_read(int argc, char **argv)
{
	uint64_t off = 0, left = UINT64_MAX;
	static char *buf;	/* static: still reachable when fail() exits */

	if (argc < 2 || argc > 4)
		usage();
	if (argc >= 3)
		off = number(argv[1], "offset", argv[2]);
	if (argc == 4)
		left = number(argv[1], "length", argv[3]);
	if ((buf = malloc(CHUNK)) == NULL)
		fail(argv[1], "out of memory");
	/* an unallocated segment is an error even when nothing would be read:
	 * a read of 0 bytes still opens the data (seg_stat does not check) */
	if (seg_pread(argv[1], buf, 0, off) < 0)
		fail(argv[1], "%s", seg_errstr());
	while (left > 0) {
		size_t want = left < CHUNK ? (size_t)left : CHUNK;
		ssize_t r = seg_pread(argv[1], buf, want, off);
		if (r < 0)
			fail(argv[1], "%s", seg_errstr());
		if (r == 0)
			break;
		if (write_all(1, buf, (size_t)r) < 0)
			fail(argv[1], "write standard output: %s",
			    strerror(errno));
		off += (uint64_t)r;
		left -= (uint64_t)r;
	}
	free(buf);
	return 0;
}

static int
cmd_rm(int argc, char **argv)
{
	if (argc != 2)
		usage();
	if (seg_remove(argv[1]) < 0)
		fail(argv[1], "%s", seg_errstr());
	return 0;
}

static void
print_info(const struct seg_info *s)
{
	struct passwd *pw = getpwuid(s->uid);
	char owner[32];

	if (pw != NULL)
		snprintf(owner, sizeof owner, "%s", pw->pw_name);
	else
		snprintf(owner, sizeof owner, "%u", s->uid);
	printf("%s %s 0x%llx 0x%llx %s %04o %u\n", s->name, s->verb,
	    (unsigned long long)s->va, (unsigned long long)s->len, owner,
	    s->mode, s->nattach);
}

static int
cmd_ls(int argc, char **argv)
{
	struct seg_info *v;
	int i, n;

	if (argc > 2)
		usage();
	if (argc == 2) {	/* a peer's exports: name length access */
		if ((n = seg_peer_list(argv[1], &v)) < 0)
			fail(argv[1], "%s", seg_errstr());
		for (i = 0; i < n; i++)
			printf("%s %s 0x%llx %s\n", v[i].name, v[i].verb,
			    (unsigned long long)v[i].len,
			    v[i].mode & 2 ? "rw" : "r");
		free(v);
		return 0;
	}
	if ((n = seg_list(&v)) < 0)
		fail("ls", "%s", seg_errstr());
	for (i = 0; i < n; i++)
		print_info(&v[i]);
	free(v);
	return 0;
}

static int
cmd_export(int argc, char **argv)
{
	if (argc < 2 || argc > 3)
		usage();
	if (seg_export(argv[1], argc == 3 ? argv[2] : NULL) < 0)
		fail(argv[1], "%s", seg_errstr());
	return 0;
}

static int
cmd_unexport(int argc, char **argv)
{
	if (argc != 2)
		usage();
	if (seg_unexport(argv[1]) < 0)
		fail(argv[1], "%s", seg_errstr());
	return 0;
}

static int
cmd_get(int argc, char **argv)
{
	struct seg_import_info ii;
	seg_import_t *imp;
	uint64_t off = 0, left;
	char *buf;

	if (argc < 2 || argc > 4)
		usage();
	if (argc >= 3)
		off = number(argv[1], "offset", argv[2]);
	if ((imp = seg_import(argv[1])) == NULL)
		fail(argv[1], "%s", seg_errstr());
	seg_import_info(imp, &ii);
	if (off > ii.len)
		fail(argv[1], "offset 0x%llx is past the end (length 0x%llx)",
		    (unsigned long long)off, (unsigned long long)ii.len);
	left = ii.len - off;
	if (argc == 4) {
		uint64_t want = number(argv[1], "length", argv[3]);
		if (want > left)
			fail(argv[1], "range 0x%llx+0x%llx is past the end "
			    "(length 0x%llx)", (unsigned long long)off,
			    (unsigned long long)want, (unsigned long long)ii.len);
		left = want;
	}
	if ((buf = malloc(CHUNK)) == NULL)
		fail(argv[1], "out of memory");
	while (left > 0) {
		size_t n = left < CHUNK ? (size_t)left : CHUNK;
		if (seg_get(imp, off, buf, n) < 0)
			fail(argv[1], "%s", seg_errstr());
		if (write_all(1, buf, n) < 0)
			fail(argv[1], "write standard output: %s",
			    strerror(errno));
		off += n;
		left -= n;
	}
	free(buf);
	seg_unimport(imp);
	return 0;
}

static int
cmd_put(int argc, char **argv)
{
	struct seg_import_info ii;
	seg_import_t *imp;
	uint64_t off = 0;
	char *buf;

	if (argc < 2 || argc > 3)
		usage();
	if (argc == 3)
		off = number(argv[1], "offset", argv[2]);
	if ((imp = seg_import(argv[1])) == NULL)
		fail(argv[1], "%s", seg_errstr());
	seg_import_info(imp, &ii);
	if ((buf = malloc(CHUNK)) == NULL)
		fail(argv[1], "out of memory");
	for (;;) {
		size_t have = read_chunk(argv[1], buf);
		if (have == 0)
			break;
		if (off > ii.len || have > ii.len - off)
			fail(argv[1], "input runs past the end of the segment "
			    "(length 0x%llx)", (unsigned long long)ii.len);
		if (seg_put(imp, off, buf, have) < 0)
			fail(argv[1], "%s", seg_errstr());
		off += have;
	}
	if (seg_barrier(imp) < 0)
		fail(argv[1], "%s", seg_errstr());
	free(buf);
	seg_unimport(imp);
	return 0;
}

static int
cmd_peers(int argc, char **argv)
{
	static char buf[1 << 20];

	(void)argv;
	if (argc != 1)
		usage();
	if (seg_peers(buf, sizeof buf) < 0)
		fail("peers", "%s", seg_errstr());
	fputs(buf, stdout);
	return 0;
}

static int
cmd_stats(int argc, char **argv)
{
	char buf[1024];

	(void)argv;
	if (argc != 1)
		usage();
	if (seg_stats(buf, sizeof buf) < 0)
		fail("stats", "%s", seg_errstr());
	fputs(buf, stdout);
	return 0;
}

static int
cmd_stat(int argc, char **argv)
{
	struct seg_info s;

	if (argc != 2)
		usage();
	if (seg_stat(argv[1], &s) < 0)
		fail(argv[1], "%s", seg_errstr());
	printf("name %s\nverb %s\naddress 0x%llx\nlength 0x%llx\nuid %u\n"
	    "gid %u\nmode %04o\nattaches %u\n", s.name, s.verb,
	    (unsigned long long)s.va, (unsigned long long)s.len, s.uid, s.gid,
	    s.mode, s.nattach);
	return 0;
}

/* Write an address to free (here or on NODE), or print returned ones. */
static int
cmd_free(int argc, char **argv)
{
	uint64_t addrs[512], count = UINT64_MAX;
	int i, n;

	if (argc == 3 && strcmp(argv[2], "-n") != 0) {
		uint64_t a = number(argv[1], "address", argv[2]);
		if (strchr(argv[1], '/') != NULL) {
			seg_import_t *imp = seg_import(argv[1]);
			if (imp == NULL || seg_zfree_remote(imp, a) < 0)
				fail(argv[1], "%s", seg_errstr());
			seg_unimport(imp);
		} else if (seg_zfree((void *)(uintptr_t)a) < 0)
			fail(argv[1], "%s", seg_errstr());
		return 0;
	}
	if (argc == 4 && strcmp(argv[2], "-n") == 0)
		count = number(argv[1], "count", argv[3]);
	else if (argc != 2)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);	/* as they arrive */
	while (count > 0) {
		int max = count < 512 ? (int)count : 512;
		if ((n = seg_free_read(argv[1], addrs, max)) < 0)
			fail(argv[1], "%s", seg_errstr());
		for (i = 0; i < n; i++)
			printf("0x%llx\n", (unsigned long long)addrs[i]);
		count -= (uint64_t)n;
	}
	return 0;
}

static int
cmd_zalloc(int argc, char **argv)
{
	void *p;

	if (argc != 3)
		usage();
	if ((p = seg_zalloc(argv[1], number(argv[1], "length", argv[2]))) == NULL)
		fail(argv[1], "%s", seg_errstr());
	printf("%p\n", p);
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(int, char **);
} cmds[] = {
	{ "create", cmd_create }, { "ctl", cmd_ctl }, { "write", cmd_write },
	{ "read", cmd_read }, { "rm", cmd_rm }, { "ls", cmd_ls },
	{ "stat", cmd_stat }, { "export", cmd_export },
	{ "unexport", cmd_unexport }, { "get", cmd_get }, { "put", cmd_put },
	{ "peers", cmd_peers }, { "stats", cmd_stats }, { "free", cmd_free },
	{ "zalloc", cmd_zalloc },
};

int
main(int argc, char *argv[])
{
	size_t i;
	int ch;

	while ((ch = getopt(argc, argv, "+s:")) != -1) {
		switch (ch) {
		case 's':
			if (setenv("SEGD_SOCKET", optarg, 1) < 0)
				fail("segctl", "setenv: %s", strerror(errno));
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	for (i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
		if (strcmp(argv[0], cmds[i].name) == 0)
			return cmds[i].fn(argc, argv);
	fprintf(stderr, "segctl: unknown command '%s'\n", argv[0]);
	usage();
}
