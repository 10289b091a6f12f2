/*
 * check_guard.c: the SIGBUS guard (segd/guard.c).  A guarded access to a
 * mapping whose file was cut away fails that call alone (EFAULT) and the
 * process goes on, again and again; a fault outside the guarded range, or
 * with no guard, still kills the process as it would without the handler.
 */
#include <sys/mman.h>
#include <sys/wait.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "segd.h"

static long pg;
static int fd;
static char *map;	/* 4 pages of a file cut to 1 page */

static void
setup(void)
{
	char path[] = "/tmp/check_guard.XXXXXX";

	pg = sysconf(_SC_PAGESIZE);
	ck_assert_int_eq(guard_init(), 0);
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	unlink(path);
	ck_assert_int_eq(ftruncate(fd, 4 * pg), 0);
	map = mmap(NULL, (size_t)(4 * pg), PROT_READ | PROT_WRITE, MAP_SHARED,
	    fd, 0);
	ck_assert_ptr_ne(map, MAP_FAILED);
	memset(map, 'm', (size_t)(4 * pg));
	ck_assert_int_eq(ftruncate(fd, pg), 0);		/* a client cuts it */
}

static void
teardown(void)
{
	munmap(map, (size_t)(4 * pg));
	close(fd);
}

static const struct ck_fix fix = { .setup = setup, .teardown = teardown };

START_TEST(copy_faults_fail_alone)
{
	char buf[64];
	int i;

	for (i = 0; i < 3; i++) {	/* the handler stays armed */
		errno = 0;
		ck_assert_int_eq(guard_copy(buf, map + 2 * pg, sizeof buf, map,
		    (size_t)(4 * pg)), -1);
		ck_assert_int_eq(errno, EFAULT);
		ck_assert_int_eq(guard_copy(map + 3 * pg, "x", 1, map,
		    (size_t)(4 * pg)), -1);
		ck_assert_int_eq(errno, EFAULT);
	}
	/* what is still there copies; a copy that runs into the cut fails */
	ck_assert_int_eq(guard_copy(buf, map, sizeof buf, map,
	    (size_t)(4 * pg)), 0);
	ck_assert_int_eq(buf[0], 'm');
	ck_assert_int_eq(guard_copy(buf, map + pg - 8, sizeof buf, map,
	    (size_t)(4 * pg)), -1);
	/* restored, the same copy works */
	ck_assert_int_eq(ftruncate(fd, 4 * pg), 0);
	ck_assert_int_eq(guard_copy(map + 3 * pg, "y", 1, map,
	    (size_t)(4 * pg)), 0);
	ck_assert_int_eq(map[3 * pg], 'y');
}
END_TEST

static int
add(void *arg)
{
	return *(int *)arg + 1;
}

START_TEST(call_returns_result)
{
	int v = 41;

	ck_assert_int_eq(guard_call(map, (size_t)pg, add, &v), 42);
}
END_TEST

/* A child touches the cut memory; how it ended. */
static int
child_touch(int guarded_len)
{
	pid_t p = fork();
	int st;

	ck_assert_int_ge(p, 0);
	if (p == 0) {
		char buf[8];
		volatile char *v = map + 2 * pg;
		if (guarded_len > 0)
			guard_copy(buf, map + 2 * pg, sizeof buf, map,
			    (size_t)guarded_len);
		else
			buf[0] = *v;
		_exit(0);
	}
	ck_assert_int_eq(waitpid(p, &st, 0), p);
	return st;
}

START_TEST(other_faults_kill)
{
	int st;

	st = child_touch(0);			/* no guard */
	ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGBUS);
	st = child_touch((int)pg);		/* the fault is outside the range */
	ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGBUS);
	st = child_touch((int)(4 * pg));	/* inside: caught */
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}
END_TEST

void
suite(Suite *s)
{
	ck_tcase(s, "guard", &fix, 0, copy_faults_fail_alone,
	    call_returns_result, other_faults_kill, NULL);
}
