/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * check_main.h: the one main() of the unit and local tiers (check_main.c)
 * and the helpers every suite shares.
 *
 * A suite file defines suite(), which adds its tcases to the suite the
 * shared main made, named after the program (unit_NAME, integ_NAME: NAME);
 * the main runs it with CK_FORK and prints Check's closing line.  Check has no skip: a test that cannot test
 * its claim here says so with CK_SKIP ("SKIP: test: reason" on stdout, which
 * tests/run-suites counts as a skip) and returns.
 */
#ifndef CHECK_MAIN_H
#define CHECK_MAIN_H

#include <stddef.h>
#include <check.h>

/* Defined by each suite file: its tcases, into s. */
void suite(Suite *s);

/* Fixtures and timeout shared by the tcases of a kind. */
struct ck_fix {
	void (*setup)(void);		/* checked: in each test's child */
	void (*teardown)(void);
	void (*usetup)(void);		/* unchecked: once per tcase, here */
	void (*uteardown)(void);
};

/*
 * A tcase named name, added to s, with fix's fixtures (fix may be NULL), a
 * timeout of timeout seconds (scaled by ck_scale; 0: Check's default) and
 * the tests that follow (START_TEST names, NULL-terminated).  Loop tests are
 * added to the result with tcase_add_loop_test.
 */
TCase *ck_tcase(Suite *s, const char *name, const struct ck_fix *fix,
    int timeout, ...) __attribute__((sentinel));

/* ms (or seconds) times 10 when segd runs under $SEGD_WRAPPER (valgrind). */
int  ck_scale(int t);
/* 1 when $SEGD_WRAPPER is set. */
int  ck_wrapped(void);

/* Milliseconds on the monotonic clock; sleep ms, across signals. */
long ck_now_ms(void);
void ck_sleep_ms(int ms);

void ck_skip(const char *test, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
#define CK_SKIP(...) ck_skip(__func__, __VA_ARGS__)

/* Make a directory $TMPDIR/name.XXXXXX (/tmp without $TMPDIR), its path in
 * buf, or exit (usable in unchecked fixtures). */
void ck_mkdtemp(char *buf, size_t size, const char *name);
/* Remove path and everything below it (symlinks not followed). */
void ck_rm_rf(const char *path);
/* Write text to path (made 0644, truncated); check that path holds text
 * (up to 255 bytes). */
void ck_put_file(const char *path, const char *text);
void ck_file_is(const char *path, const char *text);

#endif
