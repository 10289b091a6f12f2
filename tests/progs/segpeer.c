/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * segpeer: a process that attaches a segment with libseg and then does
 * what its arguments say, for the integration tests.
 *
 *   segpeer [-r] NAME OP...
 *
 * It prints "attached 0xADDR" once attached (-r: SEG_RONLY), then runs:
 *   w OFF STR      copy STR into the segment at OFF
 *   r OFF N        print the N bytes at OFF, then a newline
 *   z OFF N        print "zero" if the N bytes at OFF are all 0, else "nonzero"
 *   wait OFF STR   wait (at most 60 s) until STR is at OFF
 *   say WORD       print WORD
 *   sync           wait for a line on standard input
 *   detach OFF     seg_detach(address + OFF)
 *   hold           sleep until killed
 * Exit: 0 done; 1 a libseg error ("segpeer: NAME: message" on stderr);
 * 2 usage; 3 a wait timed out; 4 standard input closed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "seg.h"
#include "segwire.h"

static const char *name;

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: segpeer [-r] NAME [w OFF STR | r OFF N | z OFF N"
	    " | wait OFF STR | say WORD | sync | detach OFF | hold]...\n");
	exit(2);
}

static void __attribute__((noreturn))
fail(const char *what)
{
	fprintf(stderr, "segpeer: %s: %s: %s\n", name, what, seg_errstr());
	exit(1);
}

/* a whole number, decimal or 0x hex (libseg's parser); else usage */
static size_t
num(const char *s)
{
	uint64_t v;

	if (seg_parse_u64(s, strlen(s), &v) < 0)
		usage();
	return (size_t)v;
}

int
main(int argc, char *argv[])
{
	int attr = 0, i;
	char *base;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && strcmp(argv[1], "-r") == 0) {
		attr = SEG_RONLY;
		argv++;
		argc--;
	}
	if (argc < 2)
		usage();
	name = argv[1];
	if ((base = seg_attach(attr, name, 0, 0)) == NULL)
		fail("attach");
	printf("attached %p\n", (void *)base);
	for (i = 2; i < argc; i++) {
		const char *op = argv[i];

		if (strcmp(op, "w") == 0 && i + 2 < argc) {
			memcpy(base + num(argv[i + 1]), argv[i + 2],
			    strlen(argv[i + 2]));
			i += 2;
		} else if (strcmp(op, "r") == 0 && i + 2 < argc) {
			fwrite(base + num(argv[i + 1]), 1, num(argv[i + 2]),
			    stdout);
			putchar('\n');
			i += 2;
		} else if (strcmp(op, "z") == 0 && i + 2 < argc) {
			const char *p = base + num(argv[i + 1]);
			size_t n = num(argv[i + 2]), k;
			for (k = 0; k < n && p[k] == 0; k++)
				;
			puts(k == n ? "zero" : "nonzero");
			i += 2;
		} else if (strcmp(op, "wait") == 0 && i + 2 < argc) {
			const char *p = base + num(argv[i + 1]), *s = argv[i + 2];
			struct timespec ts = { 0, 5000000 };
			int tries = 12000;
			while (memcmp((const void *)p, s, strlen(s)) != 0) {
				if (--tries == 0) {
					fprintf(stderr, "segpeer: %s: '%s' never "
					    "appeared at %s\n", name, s,
					    argv[i + 1]);
					return 3;
				}
				nanosleep(&ts, NULL);
				__sync_synchronize();
			}
			i += 2;
		} else if (strcmp(op, "say") == 0 && i + 1 < argc) {
			puts(argv[++i]);
		} else if (strcmp(op, "sync") == 0) {
			char line[256];
			if (fgets(line, sizeof line, stdin) == NULL)
				return 4;
		} else if (strcmp(op, "detach") == 0 && i + 1 < argc) {
			if (seg_detach(base + num(argv[++i])) < 0)
				fail("detach");
		} else if (strcmp(op, "hold") == 0) {
			for (;;)
				pause();
		} else
			usage();
	}
	return 0;
}
