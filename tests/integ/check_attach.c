/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * check_attach.c: segattach(2) semantics through libseg against a real
 * segd: SEG_RONLY, the classes "memory" and "shared", MAP_FIXED_NOREPLACE,
 * seg_detach with an interior address, seg_free.
 */
#include <sys/mman.h>
#include <sys/wait.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "seg.h"

static int
all_bytes(const char *p, size_t n, int c)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != (char)c)
			return 0;
	return 1;
}

/* In a child: store to *arg; a read-only mapping kills it with SIGSEGV. */
static void
store_byte(void *arg)
{
	signal(SIGSEGV, SIG_DFL);	/* no sanitizer's handler: the signal */
	signal(SIGBUS, SIG_DFL);
	*(volatile char *)arg = 'X';
	h_cfail("wrote to a read-only mapping");
}

/* ---- SEG_RONLY ---- */

START_TEST(ronly_maps_read_only)
{
	char perms[5], msg[256];
	char *va;
	int st;

	h_make_seg("ro", 0600, "va 0x21000000 0x2000");
	ck_assert_int_eq(seg_pwrite("ro", "ro data", 7, 0), 7);
	va = seg_attach(SEG_RONLY, "ro", 0, 0);
	ck_assert_msg(va != NULL, "attach: %s", seg_errstr());
	ck_assert_ptr_eq(va, (void *)0x21000000);
	ck_assert(h_mapped(getpid(), 0x21000000, perms));
	ck_assert_str_eq(perms, "r--s");
	ck_assert(h_mapped(getpid(), 0x21001fff, perms));
	ck_assert_str_eq(perms, "r--s");
	ck_assert(!h_mapped(getpid(), 0x21002000, NULL));
	ck_assert_int_eq(memcmp(va, "ro data", 7), 0);
	/* shared: writes through segd show in the read-only view */
	ck_assert_int_eq(seg_pwrite("ro", "fresh", 5, 0x1800), 5);
	ck_assert_int_eq(memcmp(va + 0x1800, "fresh", 5), 0);

	st = h_child(store_byte, va + 3, msg, sizeof msg);
	ck_assert_msg(WIFSIGNALED(st) && (WTERMSIG(st) == SIGSEGV ||
	    WTERMSIG(st) == SIGBUS), "a store to a SEG_RONLY mapping did not "
	    "fault (status %#x: %s)", st, msg);
	ck_assert_int_eq(va[3], 'd');	/* "ro data" unchanged */

	errno = 0;
	ck_assert_int_eq(seg_free(va, 0x1000), -1);
	ck_assert_int_eq(errno, EACCES);
	ck_assert_int_eq(seg_detach(va), 0);

	/* read-write this time */
	va = seg_attach(0, "ro", 0, 0);
	ck_assert_msg(va != NULL, "attach: %s", seg_errstr());
	ck_assert(h_mapped(getpid(), 0x21000000, perms));
	ck_assert_str_eq(perms, "rw-s");
	va[3] = 'D';
	ck_assert_int_eq(seg_detach(va), 0);
	ck_assert_int_eq(seg_pread("ro", msg, 7, 0), 7);
	ck_assert_int_eq(memcmp(msg, "ro Data", 7), 0);
}
END_TEST

/* ---- the class "memory" ---- */

static void
scribble(void *arg)
{
	memcpy(arg, "child", 5);
	H_CCHECK(memcmp(arg, "child", 5) == 0, "cannot write");
}

START_TEST(memory_class_private)
{
	char perms[5];
	char *p, *q;

	p = seg_attach(0, "memory", 0, 0x3000);
	ck_assert_msg(p != NULL, "attach memory: %s", seg_errstr());
	ck_assert_uint_eq((uintptr_t)p % (uintptr_t)sysconf(_SC_PAGESIZE), 0);
	ck_assert(h_mapped(getpid(), (unsigned long)p, perms));
	ck_assert_str_eq(perms, "rw-p");
	ck_assert(all_bytes(p, 0x3000, 0));
	memcpy(p + 0x2000, "parent", 6);
	CK_CHILD(scribble, p + 0x2000);
	ck_assert_int_eq(memcmp(p + 0x2000, "parent", 6), 0);	/* private */
	/* segfree: the pages read as zeros again */
	ck_assert_int_eq(seg_free(p + 0x2000, 1), 0);
	ck_assert(all_bytes(p + 0x2000, 0x1000, 0));
	ck_assert_int_eq(seg_detach(p + 0x1234), 0);
	ck_assert(!h_mapped(getpid(), (unsigned long)p, NULL));

	/* at an address: rounded down to a page, the end up */
	q = seg_attach(0, "memory", (void *)0x22000123, 0x1000);
	ck_assert_msg(q != NULL, "attach memory at an address: %s",
	    seg_errstr());
	ck_assert_ptr_eq(q, (void *)0x22000000);
	ck_assert(h_mapped(getpid(), 0x22001122, NULL));
	ck_assert(!h_mapped(getpid(), 0x22002000, NULL));
	q[0x1fff] = 1;
	/* never over what is already there */
	errno = 0;
	ck_assert_ptr_null(seg_attach(0, "memory", (void *)0x22001000, 10));
	ck_assert_int_eq(errno, EADDRINUSE);
	ck_assert_msg(strstr(seg_errstr(), "already in use") != NULL, "%s",
	    seg_errstr());
	ck_assert_int_eq(q[0x1fff], 1);
	ck_assert_int_eq(seg_detach(q), 0);

	p = seg_attach(SEG_RONLY, "memory", 0, 10);
	ck_assert_msg(p != NULL, "%s", seg_errstr());
	ck_assert(h_mapped(getpid(), (unsigned long)p, perms));
	ck_assert_str_eq(perms, "r--p");
	ck_assert_int_eq(seg_detach(p), 0);

	errno = 0;
	ck_assert_ptr_null(seg_attach(0, "memory", 0, 0));
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

/* ---- the class "shared", and inheritance ---- */

/* What a child finds at p (the parent wrote it), and writes at p + off. */
struct handover {
	char       *p;
	const char *sees, *writes;
	size_t      off;
};

static void
handover_child(void *arg)
{
	const struct handover *h = arg;
	int n = (int)strlen(h->sees);

	H_CCHECK(memcmp(h->p, h->sees, (size_t)n) == 0, "the child does not "
	    "see the parent's data: '%.*s'", n, h->p);
	memcpy(h->p + h->off, h->writes, strlen(h->writes));
}

static void
reads_zero(void *arg)
{
	H_CCHECK(all_bytes(arg, 0x1000, 0), "freed shared page not zero");
	H_CCHECK(all_bytes((char *)arg + 0x1000, 0x1000, 'q'),
	    "the page not freed changed");
}

START_TEST(shared_class_inherited)
{
	char perms[5], buf[16];
	char *p, *n;

	p = seg_attach(0, "shared", 0, 0x2000);
	ck_assert_msg(p != NULL, "attach shared: %s", seg_errstr());
	ck_assert(h_mapped(getpid(), (unsigned long)p, perms));
	ck_assert_str_eq(perms, "rw-s");
	memcpy(p, "parent", 6);
	CK_CHILD(handover_child, (&(struct handover){ p, "parent", "child",
	    0x1000 }));
	ck_assert_int_eq(memcmp(p + 0x1000, "child", 5), 0);

	/* segfree on shared memory: zeros for every process */
	memset(p, 'q', 0x2000);
	ck_assert_int_eq(seg_free(p + 0x10, 0x20), 0);
	ck_assert(all_bytes(p, 0x1000, 0));
	CK_CHILD(reads_zero, p);
	ck_assert_int_eq(seg_detach(p + 0x1fff), 0);

	/* a named segment is inherited the same way */
	h_make_seg("inherit", 0600, "va 0x27000000 0x1000");
	n = seg_attach(0, "inherit", 0, 0);
	ck_assert_msg(n != NULL, "%s", seg_errstr());
	memcpy(n, "named", 5);
	CK_CHILD(handover_child, (&(struct handover){ n, "named", "from child",
	    8 }));
	ck_assert_int_eq(memcmp(n + 8, "from child", 10), 0);
	ck_assert_int_eq(seg_pread("inherit", buf, 10, 8), 10);
	ck_assert_int_eq(memcmp(buf, "from child", 10), 0);
	ck_assert_int_eq(seg_detach(n), 0);
	ck_assert_int_eq(h_nattach("inherit"), 0);
}
END_TEST

/* ---- MAP_FIXED_NOREPLACE ---- */

START_TEST(occupied_range_not_clobbered)
{
	char *mine, *va;

	h_make_seg("blocked", 0600, "va 0x23000000 0x3000");
	ck_assert_int_eq(seg_pwrite("blocked", "segment", 7, 0), 7);
	/* this process already has the middle page */
	mine = mmap((void *)0x23001000, 0x1000, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	ck_assert_ptr_eq(mine, (void *)0x23001000);
	memset(mine, 0xab, 0x1000);

	errno = 0;
	ck_assert_ptr_null(seg_attach(0, "blocked", 0, 0));
	ck_assert_int_eq(errno, EADDRINUSE);
	ck_assert_msg(strstr(seg_errstr(), "already in use") != NULL &&
	    strstr(seg_errstr(), "0x23000000") != NULL, "unclear: '%s'",
	    seg_errstr());
	ck_assert(all_bytes(mine, 0x1000, (char)0xab));
	ck_assert(!h_mapped(getpid(), 0x23000000, NULL));
	ck_assert(!h_mapped(getpid(), 0x23002000, NULL));
	ck_assert_int_eq(h_nattach("blocked"), 0);	/* segd let go too */

	ck_assert_int_eq(munmap(mine, 0x1000), 0);
	va = seg_attach(0, "blocked", 0, 0);
	ck_assert_msg(va != NULL, "%s", seg_errstr());
	ck_assert_ptr_eq(va, (void *)0x23000000);
	ck_assert_int_eq(memcmp(va, "segment", 7), 0);
	/* attaching it twice in one process: the range is taken */
	errno = 0;
	ck_assert_ptr_null(seg_attach(0, "blocked", 0, 0));
	ck_assert_int_eq(errno, EADDRINUSE);
	ck_assert_int_eq(memcmp(va, "segment", 7), 0);
	ck_assert_int_eq(h_nattach("blocked"), 1);
	ck_assert_int_eq(seg_detach(va), 0);
}
END_TEST

/* ---- seg_detach ---- */

START_TEST(detach_interior_address)
{
	char *va;
	int local;

	h_make_seg("inner", 0600, "va 0x24000000 0x3000");
	va = seg_attach(0, "inner", 0, 0);
	ck_assert_msg(va != NULL, "%s", seg_errstr());
	ck_assert_int_eq(h_nattach("inner"), 1);
	ck_assert_int_eq(seg_detach(va + 0x2fff), 0);
	ck_assert(!h_mapped(getpid(), 0x24000000, NULL));
	ck_assert(!h_mapped(getpid(), 0x24002fff, NULL));
	ck_assert_int_eq(h_nattach("inner"), 0);
	errno = 0;
	ck_assert_int_eq(seg_detach(va), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(seg_detach(&local), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_msg(strstr(seg_errstr(), "no segment attached") != NULL,
	    "%s", seg_errstr());

	va = seg_attach(0, "inner", 0, 0);
	ck_assert_msg(va != NULL, "%s", seg_errstr());
	ck_assert_int_eq(seg_detach(va + 0x1000), 0);
	ck_assert_int_eq(h_nattach("inner"), 0);
}
END_TEST

/* ---- seg_free ---- */

START_TEST(free_reads_zero_everywhere)
{
	struct h_proc p;
	char buf[0x1000];
	char *va;

	h_make_seg("freed", 0600, "va 0x25000000 0x4000");
	va = seg_attach(0, "freed", 0, 0);
	ck_assert_msg(va != NULL, "%s", seg_errstr());
	memset(va, 0x5a, 0x4000);
	h_peer(&p, "freed", "say", "up", "sync", "z", "0", "0x1000", "z",
	    "0x1000", "0x2000", "z", "0x3000", "0x1000", NULL);
	h_expect(&p, "attached 0x25000000");
	h_expect(&p, "up");

	/* an unaligned range inside pages 1 and 2: both go */
	ck_assert_msg(seg_free(va + 0x1800, 0x1000) == 0, "%s", seg_errstr());
	ck_assert(all_bytes(va + 0x1000, 0x2000, 0));
	ck_assert(all_bytes(va, 0x1000, 0x5a));
	ck_assert(all_bytes(va + 0x3000, 0x1000, 0x5a));
	h_writeline(&p, "go");
	h_expect(&p, "nonzero");
	h_expect(&p, "zero");
	h_expect(&p, "nonzero");
	ck_assert_int_eq(h_wait(&p, h_peer_ms()), 0);
	ck_assert_int_eq(seg_pread("freed", buf, sizeof buf, 0x2000),
	    (ssize_t)sizeof buf);
	ck_assert(all_bytes(buf, sizeof buf, 0));
	ck_assert_int_eq(seg_pread("freed", buf, sizeof buf, 0x3000),
	    (ssize_t)sizeof buf);
	ck_assert(all_bytes(buf, sizeof buf, 0x5a));
	/* the range stays usable */
	va[0x1000] = 7;
	ck_assert_int_eq(seg_pread("freed", buf, 1, 0x1000), 1);
	ck_assert_int_eq(buf[0], 7);

	/* only inside one attached segment */
	errno = 0;
	ck_assert_int_eq(seg_free(va + 0x3000, 0x2000), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(seg_free((void *)0x26000000, 0x1000), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(seg_free(va, 0), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert(all_bytes(va, 0x1000, 0x5a));
	ck_assert_int_eq(seg_detach(va), 0);
}
END_TEST

/* ---- named segments: address picked by segd, rounding, bad calls ---- */

START_TEST(named_picked_address)
{
	unsigned long long a, alen, b, blen;
	char buf[64], perms[5];
	struct h_proc p;
	char *va;

	h_make_seg("pa", 0600, "va 0 0x5000");
	h_make_seg("pb", 0600, "addr 0 1");
	ck_assert_int_gt(seg_ctl_read("pa", buf, sizeof buf), 0);
	ck_assert_int_eq(sscanf(buf, "va %llx %llx", &a, &alen), 2);
	ck_assert_int_gt(seg_ctl_read("pb", buf, sizeof buf), 0);
	ck_assert_int_eq(sscanf(buf, "addr %llx %llx", &b, &blen), 2);
	ck_assert_uint_ne(a, 0);
	ck_assert_uint_ne(b, 0);
	ck_assert_uint_eq(alen, 0x5000);
	ck_assert_uint_eq(blen, (unsigned long long)sysconf(_SC_PAGESIZE));
	ck_assert_msg(a + alen <= b || b + blen <= a, "picked ranges overlap");

	va = seg_attach(0, "pa", 0, 0);
	ck_assert_msg(va != NULL, "%s", seg_errstr());
	ck_assert_uint_eq((uintptr_t)va, a);
	memcpy(va + 0x4ff0, "picked", 6);
	h_peer(&p, "pa", "r", "0x4ff0", "6", NULL);
	snprintf(buf, sizeof buf, "attached %p", (void *)va);
	h_expect(&p, buf);
	h_expect(&p, "picked");
	ck_assert_int_eq(h_wait(&p, h_peer_ms()), 0);
	ck_assert_int_eq(seg_detach(va), 0);

	/* rounding: the address down to a page, the end up */
	h_make_seg("round", 0600, "va 0x26000010 0x10");
	ck_assert_int_gt(seg_ctl_read("round", buf, sizeof buf), 0);
	ck_assert_str_eq(buf, "va 0x26000000 0x1000\n");
	va = seg_attach(0, "round", 0, 0);
	ck_assert_ptr_eq(va, (void *)0x26000000);
	ck_assert(h_mapped(getpid(), 0x26000fff, perms));
	ck_assert_str_eq(perms, "rw-s");
	ck_assert(!h_mapped(getpid(), 0x26001000, NULL));
	ck_assert_int_eq(seg_detach(va), 0);

	/* bad calls */
	errno = 0;
	ck_assert_ptr_null(seg_attach(0x100, "round", 0, 0));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(seg_attach(0, NULL, 0, 0));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(seg_attach(0, "nosuch", 0, 0));
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_str_eq(seg_errstr(), "segment 'nosuch' does not exist");
	errno = 0;
	ck_assert_ptr_null(seg_attach(0, "a/b", 0, 0));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(h_nattach("round"), 0);
}
END_TEST

void
suite(Suite *s)
{
	ck_tcase(s, "ronly", &h_fix, H_TIMEOUT_S, ronly_maps_read_only, NULL);
	ck_tcase(s, "classes", &h_fix, H_TIMEOUT_S, memory_class_private,
	    shared_class_inherited, named_picked_address, NULL);
	ck_tcase(s, "mapping", &h_fix, H_TIMEOUT_S,
	    occupied_range_not_clobbered, detach_interior_address,
	    free_reads_zero_everywhere, NULL);
}
