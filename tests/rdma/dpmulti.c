/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * dpmulti: the direct data path under concurrency and fork.
 *
 *   dpmulti REF threads PROCS THREADS ROUNDS
 *       PROCS processes of THREADS threads each; every thread imports REF
 *       itself, then ROUNDS times puts a pattern of its own into its own
 *       64 KiB of the segment, gets it back and compares; it also gets the
 *       segment's first 4 KiB (0xab bytes, set by the caller) each round.
 *       Prints "threads ok N" (N transfers checked); exit 0 if all matched.
 *   dpmulti REF fork
 *       imports, gets; forks: the child gets, puts and gets back on the
 *       inherited import (libseg makes its own resources), while the parent
 *       gets on; prints "fork ok"; exit 0 if both sides matched.
 * Every import must take the direct path (seg_import_path).
 */
#include <sys/wait.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "seg.h"

#define AREA  (64u << 10)
#define HEAD  4096u

static const char *ref;
static int rounds;
static unsigned long checked;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void __attribute__((noreturn))
fail(const char *what, int who)
{
	printf("dpmulti: FAIL: %s (worker %d): %s\n", what, who, seg_errstr());
	exit(1);
}

static seg_import_t *
import_direct(int who)
{
	seg_import_t *imp = seg_import(ref);
	char why[256];

	if (imp == NULL)
		fail("seg_import", who);
	if (seg_import_path(imp, why, sizeof why) != SEG_PATH_DIRECT) {
		printf("dpmulti: FAIL: worker %d is on the segd path: %s\n", who,
		    why);
		exit(1);
	}
	return imp;
}

/* put a pattern into area `who`, get it back, compare; and the head. */
static void
round_trip(seg_import_t *imp, int who, int r, uint8_t *put, uint8_t *got)
{
	uint64_t off = HEAD + (uint64_t)who * AREA;
	unsigned i;

	for (i = 0; i < AREA; i++)
		put[i] = (uint8_t)(who * 31 + r * 7 + i * 13);
	if (seg_put(imp, off, put, AREA) < 0)
		fail("seg_put", who);
	if (seg_get(imp, off, got, AREA) < 0)
		fail("seg_get", who);
	if (memcmp(put, got, AREA) != 0)
		fail("its own area came back different", who);
	if (seg_get(imp, 0, got, HEAD) < 0)
		fail("seg_get of the head", who);
	for (i = 0; i < HEAD; i++)
		if (got[i] != 0xab)
			fail("the head came back different", who);
}

static void *
worker(void *arg)
{
	int who = (int)(intptr_t)arg, r;
	uint8_t *put = malloc(AREA), *got = malloc(AREA);
	seg_import_t *imp = import_direct(who);

	if (put == NULL || got == NULL)
		fail("malloc", who);
	for (r = 0; r < rounds; r++)
		round_trip(imp, who, r, put, got);
	pthread_mutex_lock(&lock);
	checked += (unsigned long)rounds * 2;
	pthread_mutex_unlock(&lock);
	seg_unimport(imp);
	free(put);
	free(got);
	return NULL;
}

static int
threads(int procs, int nthreads)
{
	pthread_t t[64];
	int p, i, st, bad = 0;

	for (p = 0; p < procs; p++) {
		if (fork() != 0)
			continue;
		for (i = 0; i < nthreads; i++)
			pthread_create(&t[i], NULL, worker,
			    (void *)(intptr_t)(p * nthreads + i));
		for (i = 0; i < nthreads; i++)
			pthread_join(t[i], NULL);
		printf("process %d: %lu transfers checked\n", p, checked);
		exit(0);
	}
	for (p = 0; p < procs; p++)
		if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			bad = 1;
	if (!bad)
		printf("threads ok %d\n", procs * nthreads * rounds * 2);
	return bad;
}

static int
forked(void)
{
	uint8_t *put = malloc(AREA), *got = malloc(AREA);
	seg_import_t *imp = import_direct(0);
	int st, r;
	pid_t pid;

	round_trip(imp, 0, 0, put, got);
	if ((pid = fork()) == 0) {
		for (r = 1; r <= rounds; r++)
			round_trip(imp, 1, r, put, got);
		printf("child ok\n");
		exit(0);
	}
	for (r = 1; r <= rounds; r++)
		round_trip(imp, 0, r, put, got);
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0) {
		printf("dpmulti: FAIL: the child failed\n");
		return 1;
	}
	round_trip(imp, 0, 0, put, got);
	printf("fork ok\n");
	return 0;
}

int
main(int argc, char *argv[])
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3)
		return 2;
	ref = argv[1];
	if (strcmp(argv[2], "threads") == 0 && argc == 6) {
		rounds = atoi(argv[5]);
		return threads(atoi(argv[3]), atoi(argv[4]) > 64 ? 64 :
		    atoi(argv[4]));
	}
	if (strcmp(argv[2], "fork") == 0) {
		rounds = 20;
		return forked();
	}
	return 2;
}
