/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * segctl: the command-line face of libseg.
 *
 *   segctl [-s SOCKET] [-j] [-q] COMMAND ...
 *   segctl create NAME [MODE]
 *   segctl ctl NAME ['va 0x10000000 0x100000']
 *   segctl write NAME [OFFSET] < in
 *   segctl read NAME [OFFSET [LENGTH]] > out
 *   segctl rm NAME
 *   segctl ls [NODE]
 *   segctl stat NAME
 *   segctl export [-f rebind,dontwait,lockops] NAME [ACL]
 *   segctl unexport NAME
 *   segctl rebind NAME SEGMENT [OFFSET]
 *   segctl get NODE/NAME [OFFSET [LENGTH]] > out
 *   segctl put NODE/NAME [OFFSET] < in
 *   segctl peers
 *   segctl stats [--prometheus]
 *   segctl free NAME ADDR | segctl free NODE/NAME ADDR
 *   segctl free NAME [-n COUNT]
 *   segctl zalloc NAME LEN
 *
 * This file: options, the command table, and the segment commands; io.c
 * moves data, show.c and stats.c show what segd knows.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "seg.h"
#include "segwire.h"
#include "segctl.h"

int opt_json, opt_quiet;

static const char *cmdname = "segctl";

void
usage(void)
{
	fprintf(stderr,
	    "usage: segctl [-s socket] [-j] [-q] COMMAND ...\n"
	    "       segctl create NAME [MODE]\n"
	    "       segctl ctl NAME ['va|addr|umsg|kmsg ADDR LEN']\n"
	    "       segctl write NAME [OFFSET] < in\n"
	    "       segctl read NAME [OFFSET [LENGTH]] > out\n"
	    "       segctl rm NAME\n"
	    "       segctl ls [NODE]\n"
	    "       segctl stat NAME\n"
	    "       segctl export [-f rebind,dontwait,lockops] NAME "
	    "[NODE:r|NODE:rw,...]\n"
	    "       segctl unexport NAME\n"
	    "       segctl rebind NAME SEGMENT [OFFSET]\n"
	    "       segctl get NODE[:PORT]/NAME [OFFSET [LENGTH]] > out\n"
	    "       segctl put NODE[:PORT]/NAME [OFFSET] < in\n"
	    "       segctl peers\n"
	    "       segctl stats [--prometheus]\n"
	    "       segctl free [NODE/]NAME ADDR\n"
	    "       segctl free NAME [-n COUNT]\n"
	    "       segctl zalloc NAME LEN\n");
	exit(2);
}

void
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

uint64_t
number(const char *name, const char *what, const char *s)
{
	uint64_t v;

	if (seg_parse_u64(s, strlen(s), &v) < 0)
		fail(name, "bad %s '%s': use decimal or 0x hex", what, s);
	return v;
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

/* A command whose one argument is a name: fn(NAME). */
static int
name_cmd(int argc, char **argv, int (*fn)(const char *))
{
	if (argc != 2)
		usage();
	if (fn(argv[1]) < 0)
		fail(argv[1], "%s", seg_errstr());
	return 0;
}

/* "rebind,dontwait,lockops" (any of them) into SEG_* flags */
static unsigned
export_flags(const char *text)
{
	static const struct { const char *name; unsigned flag; } names[] = {
		{ "rebind", SEG_ALLOW_REBIND }, { "dontwait", SEG_DONTWAIT },
		{ "lockops", SEG_LOCK_OPS },
	};
	unsigned flags = 0;
	size_t i, n;

	while (*text != '\0') {
		n = strcspn(text, ",");
		for (i = 0; i < sizeof names / sizeof names[0]; i++)
			if (strlen(names[i].name) == n &&
			    strncmp(names[i].name, text, n) == 0)
				break;
		if (i == sizeof names / sizeof names[0])
			fail("export", "unknown flag '%.*s': use rebind, "
			    "dontwait, lockops", (int)n, text);
		flags |= names[i].flag;
		text += n + (text[n] == ',');
	}
	return flags;
}

static int
cmd_export(int argc, char **argv)
{
	unsigned flags = 0;

	if (argc >= 3 && strcmp(argv[1], "-f") == 0) {
		flags = export_flags(argv[2]);
		argc -= 2;
		argv += 2;
	}
	if (argc < 2 || argc > 3)
		usage();
	if (seg_export_flags(argv[1], argc == 3 ? argv[2] : NULL, flags) < 0)
		fail(argv[1], "%s", seg_errstr());
	return 0;
}

/* Bind export NAME to SEGMENT's memory at OFFSET (its length's worth). */
static int
cmd_rebind(int argc, char **argv)
{
	struct seg_info exp, to;
	uint64_t off = 0;

	if (argc < 3 || argc > 4)
		usage();
	if (argc == 4)
		off = number(argv[1], "offset", argv[3]);
	if (seg_stat(argv[1], &exp) < 0)
		fail(argv[1], "%s", seg_errstr());
	if (seg_stat(argv[2], &to) < 0)
		fail(argv[2], "%s", seg_errstr());
	if (off > to.len || exp.len > to.len - off)
		fail(argv[1], "bad length: %llu bytes at offset %llu do not fit "
		    "in segment '%s' (%llu bytes)", (unsigned long long)exp.len,
		    (unsigned long long)off, argv[2],
		    (unsigned long long)to.len);
	if (seg_rebind(argv[1], (void *)(uintptr_t)(to.va + off),
	    (size_t)exp.len) < 0)
		fail(argv[1], "%s", seg_errstr());
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

/* The commands: fn, or of a name alone, on_name (through name_cmd). */
static const struct {
	const char *name;
	int (*fn)(int, char **);
	int (*on_name)(const char *);
} cmds[] = {
	{ "create", cmd_create, NULL }, { "ctl", cmd_ctl, NULL },
	{ "write", cmd_write, NULL }, { "read", cmd_read, NULL },
	{ "rm", NULL, seg_remove }, { "ls", cmd_ls, NULL },
	{ "stat", cmd_stat, NULL }, { "export", cmd_export, NULL },
	{ "unexport", NULL, seg_unexport }, { "rebind", cmd_rebind, NULL },
	{ "get", cmd_get, NULL }, { "put", cmd_put, NULL },
	{ "peers", cmd_peers, NULL }, { "stats", cmd_stats, NULL },
	{ "free", cmd_free, NULL }, { "zalloc", cmd_zalloc, NULL },
};

int
main(int argc, char *argv[])
{
	size_t i;
	int ch;

	while ((ch = getopt(argc, argv, "+s:jq")) != -1) {
		switch (ch) {
		case 's':
			if (setenv("SEGD_SOCKET", optarg, 1) < 0)
				fail("segctl", "setenv: %s", strerror(errno));
			break;
		case 'j':
			opt_json = 1;
			break;
		case 'q':
			opt_quiet = 1;
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
			return cmds[i].fn != NULL ? cmds[i].fn(argc, argv) :
			    name_cmd(argc, argv, cmds[i].on_name);
	fprintf(stderr, "segctl: unknown command '%s'\n", argv[0]);
	usage();
}
