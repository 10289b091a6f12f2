/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * check_main.c: the main() of every Check suite, and the helpers the
 * suites share.  See check_main.h.
 */
#include <sys/stat.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check_main.h"

/* How much slower everything is when segd runs under valgrind. */
#define WRAPPED_FACTOR 10

int
ck_wrapped(void)
{
	const char *w = getenv("SEGD_WRAPPER");

	return w != NULL && *w != '\0';
}

int
ck_scale(int t)
{
	return ck_wrapped() ? t * WRAPPED_FACTOR : t;
}

long
ck_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

void
ck_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

TCase *
ck_tcase(Suite *s, const char *name, const struct ck_fix *fix, int timeout,
    ...)
{
	TCase *tc = tcase_create(name);
	const TTest *t;
	va_list ap;

	if (fix != NULL) {
		if (fix->usetup != NULL || fix->uteardown != NULL)
			tcase_add_unchecked_fixture(tc, fix->usetup,
			    fix->uteardown);
		if (fix->setup != NULL || fix->teardown != NULL)
			tcase_add_checked_fixture(tc, fix->setup,
			    fix->teardown);
	}
	if (timeout > 0)
		tcase_set_timeout(tc, ck_scale(timeout));
	va_start(ap, timeout);
	while ((t = va_arg(ap, const TTest *)) != NULL)
		tcase_add_test(tc, t);
	va_end(ap);
	suite_add_tcase(s, tc);
	return tc;
}

void
ck_skip(const char *test, const char *fmt, ...)
{
	char why[512];
	size_t n = strlen(test);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	/* START_TEST(x) defines x_fn */
	if (n > 3 && strcmp(test + n - 3, "_fn") == 0)
		n -= 3;
	printf("SKIP: %.*s: %s\n", (int)n, test, why);
	fflush(stdout);
}

void
ck_mkdtemp(char *buf, size_t size, const char *name)
{
	const char *t = getenv("TMPDIR");
	int n = snprintf(buf, size, "%s/%s.XXXXXX",
	    t != NULL && *t != '\0' ? t : "/tmp", name);

	if (n < 0 || (size_t)n >= size) {
		fprintf(stderr, "%s: temporary directory name too long\n", name);
		exit(1);
	}
	if (mkdtemp(buf) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
}

void
ck_rm_rf(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;

	if (d != NULL) {
		while ((de = readdir(d)) != NULL) {
			char sub[1024];
			struct stat sb;

			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
			if (lstat(sub, &sb) == 0 && S_ISDIR(sb.st_mode))
				ck_rm_rf(sub);
			else
				unlink(sub);
		}
		closedir(d);
	}
	rmdir(path);
}

void
ck_put_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

void
ck_file_is(const char *path, const char *text)
{
	char buf[256];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	ck_assert_str_eq(buf, text);
}

/* The suite's name: the program's, after its tier (tests/unit_NAME). */
static const char *
suite_name(const char *prog)
{
	const char *base = strrchr(prog, '/'), *u;

	base = base != NULL ? base + 1 : prog;
	u = strchr(base, '_');
	return u != NULL ? u + 1 : base;
}

int
main(int argc, char **argv)
{
	Suite *s = suite_create(suite_name(argc > 0 ? argv[0] : "check"));
	SRunner *sr;
	int failed;

	suite(s);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
