/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * check_errors.c: the error paths of segment(3) through libseg and segctl
 * against a real segd: unallocated segments, ctl twice, overlapping ranges,
 * bad names and ctl messages, data bounds, limits, and segctl's exit code
 * and `segctl: NAME: message`.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "seg.h"

#define UNALLOC "segment not yet allocated"

/*
 * segctl's run r failed: exit 1, nothing on stdout, and stderr one line,
 * exactly want (whole) or starting with it.  Frees r.
 */
static void
failed_with(struct h_run *r, const char *want, int whole)
{
	ck_assert_msg(r->code == 1, "segctl exited %d, not 1 (stderr: %s)",
	    r->code, r->err);
	ck_assert_uint_eq(r->outlen, 0);
	if (whole)
		ck_assert_str_eq(r->err, want);
	else
		ck_assert_msg(strncmp(r->err, want, strlen(want)) == 0 &&
		    strchr(r->err, '\n') == r->err + r->errlen - 1,
		    "stderr '%s' is not one line starting '%s'", r->err, want);
	h_run_free(r);
}

#define SEGCTL_FAILS_(whole, in, want, ...) do {			\
	struct h_run r_;						\
	const char *in_ = (in);						\
	h_segctl(&r_, in_, in_ ? strlen(in_) : 0, __VA_ARGS__, NULL);	\
	failed_with(&r_, (want), (whole));				\
} while (0)
/* segctl ARGS... fails with exactly want on stderr */
#define SEGCTL_FAILS(in, want, ...) SEGCTL_FAILS_(1, in, want, __VA_ARGS__)
/* ... with one line starting prefix */
#define SEGCTL_FAILS_WITH(in, prefix, ...)				\
	SEGCTL_FAILS_(0, in, prefix, __VA_ARGS__)

/* ---- before the address is set ---- */

START_TEST(not_yet_allocated)
{
	struct seg_info si;
	struct h_run r;
	char buf[64];

	ck_assert_int_eq(seg_create("early", 0660), 0);

	errno = 0;
	ck_assert_int_eq(seg_pread("early", buf, 1, 0), -1);
	ck_assert_int_eq(errno, ENXIO);
	ck_assert_str_eq(seg_errstr(), UNALLOC);
	errno = 0;
	ck_assert_int_eq(seg_pread("early", buf, 0, 0), -1);
	ck_assert_int_eq(errno, ENXIO);
	ck_assert_str_eq(seg_errstr(), UNALLOC);
	errno = 0;
	ck_assert_int_eq(seg_pwrite("early", "x", 1, 0), -1);
	ck_assert_int_eq(errno, ENXIO);
	ck_assert_str_eq(seg_errstr(), UNALLOC);
	errno = 0;
	ck_assert_int_eq(seg_ctl_read("early", buf, sizeof buf), -1);
	ck_assert_int_eq(errno, ENXIO);
	ck_assert_str_eq(seg_errstr(), UNALLOC);
	errno = 0;
	ck_assert_ptr_null(seg_attach(0, "early", 0, 0));
	ck_assert_int_eq(errno, ENXIO);
	ck_assert_str_eq(seg_errstr(), UNALLOC);
	errno = 0;
	ck_assert_ptr_null(seg_attach(SEG_RONLY, "early", 0, 0));
	ck_assert_int_eq(errno, ENXIO);
	ck_assert_str_eq(seg_errstr(), UNALLOC);

	SEGCTL_FAILS(NULL, "segctl: early: " UNALLOC "\n", "read", "early");
	SEGCTL_FAILS(NULL, "segctl: early: " UNALLOC "\n", "read", "early",
	    "0", "0");
	SEGCTL_FAILS(NULL, "segctl: early: " UNALLOC "\n", "ctl", "early");
	SEGCTL_FAILS("data", "segctl: early: " UNALLOC "\n", "write", "early");

	/* it exists all the same */
	ck_assert_int_eq(seg_stat("early", &si), 0);
	ck_assert_str_eq(si.verb, "-");
	ck_assert_int_eq(h_segctl(&r, NULL, 0, "ls", NULL), 0);
	ck_assert_str_eq(r.out, "early - 0x0 0x0 root 0660 0\n");
	h_run_free(&r);
	ck_assert_int_eq(h_segctl(&r, NULL, 0, "stat", "early", NULL), 0);
	ck_assert_str_eq(r.out, "name early\nverb -\naddress 0x0\nlength 0x0\n"
	    "uid 0\ngid 0\nmode 0660\nattaches 0\n");
	h_run_free(&r);

	/* and once it is set, everything works */
	ck_assert_int_eq(seg_ctl("early", "va 0x31000000 0x1000"), 0);
	ck_assert_int_eq(seg_pread("early", buf, 4, 0), 4);
	ck_assert_int_eq(seg_ctl_read("early", buf, sizeof buf), 21);
	ck_assert_str_eq(buf, "va 0x31000000 0x1000\n");
}
END_TEST

/* ---- ctl twice ---- */

START_TEST(ctl_twice_refused)
{
	char buf[64];

	h_make_seg("twice", 0600, "va 0x32000000 0x2000");
	errno = 0;
	ck_assert_int_eq(seg_ctl("twice", "va 0x32000000 0x2000"), -1);
	ck_assert_int_eq(errno, EBUSY);
	ck_assert_msg(strstr(seg_errstr(), "cannot be reset") != NULL, "%s",
	    seg_errstr());
	errno = 0;
	ck_assert_int_eq(seg_ctl("twice", "addr 0x33000000 0x1000"), -1);
	ck_assert_int_eq(errno, EBUSY);
	errno = 0;
	ck_assert_int_eq(seg_ctl("twice", "va 0 0x1000"), -1);
	ck_assert_int_eq(errno, EBUSY);
	ck_assert_int_gt(seg_ctl_read("twice", buf, sizeof buf), 0);
	ck_assert_str_eq(buf, "va 0x32000000 0x2000\n");
	SEGCTL_FAILS_WITH(NULL, "segctl: twice: segment 'twice' already "
	    "allocated", "ctl", "twice", "va 0x34000000 0x1000");
	/* the range refused to the second ctl is still free */
	h_make_seg("other", 0600, "va 0x33000000 0x1000");
}
END_TEST

/* ---- overlapping ranges ---- */

START_TEST(overlap_refused)
{
	static const char *bad[] = {
		"va 0x35000000 0x4000",		/* the same */
		"va 0x35003000 0x1000",		/* the last page */
		"va 0x34fff000 0x2000",		/* across the start */
		"va 0x35003fff 0x10",		/* rounds down into it */
		"va 0x34ff0000 0x20000",	/* around it */
		"addr 0x35001000 1",		/* inside */
		"kmsg 0x34fffff0 0x20",		/* rounds up into it */
	};
	char buf[64];
	size_t i;

	h_make_seg("first", 0600, "va 0x35000000 0x4000");
	ck_assert_int_eq(seg_create("second", 0600), 0);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		errno = 0;
		ck_assert_msg(seg_ctl("second", bad[i]) == -1 &&
		    errno == EADDRINUSE, "'%s' was not refused as overlapping",
		    bad[i]);
		ck_assert_msg(strstr(seg_errstr(), "overlaps segment 'first'")
		    != NULL, "'%s': %s", bad[i], seg_errstr());
		/* nothing was set */
		ck_assert_int_eq(seg_ctl_read("second", buf, sizeof buf), -1);
		ck_assert_str_eq(seg_errstr(), UNALLOC);
	}
	SEGCTL_FAILS_WITH(NULL, "segctl: second: address range 0x35000000-",
	    "ctl", "second", "va 0x35000000 0x1000");

	/* right below and right above are fine; rounding is honoured */
	ck_assert_msg(seg_ctl("second", "va 0x34ffc000 0x4000") == 0, "%s",
	    seg_errstr());
	ck_assert_int_eq(seg_create("third", 0600), 0);
	ck_assert_msg(seg_ctl("third", "umsg 0x35004001 1") == 0, "%s",
	    seg_errstr());
	ck_assert_int_gt(seg_ctl_read("third", buf, sizeof buf), 0);
	ck_assert_str_eq(buf, "umsg 0x35004000 0x1000\n");
	/* a segment that chose va 0 does not land on any of them */
	h_make_seg("fourth", 0600, "va 0 0x100000");
	ck_assert_int_gt(seg_ctl_read("fourth", buf, sizeof buf), 0);
	{
		unsigned long long va, len;
		ck_assert_int_eq(sscanf(buf, "va %llx %llx", &va, &len), 2);
		ck_assert_msg(va >= 0x35005000 || va + len <= 0x34ffc000,
		    "picked 0x%llx overlaps", va);
	}
}
END_TEST

/* ---- names ---- */

START_TEST(bad_names_refused)
{
	static const char *bad[] = {
		"", "a/b", "/abs", ".", "..", "a b", "tab\there", "new\nline",
		"caf\xc3\xa9", "star*", "semi;colon", "quote'",
		"x12345678901234567890123456789012345678901234567890123456789012345",
	};
	static const char *const dirs[] = { h_state, h_dir, "/" };
	char name64[65], buf[8], *before[3], *want;
	struct h_run r;
	size_t i;

	/* nothing a bad name does may make a file anywhere */
	for (i = 0; i < 3; i++)
		before[i] = h_listing(dirs[i]);
	ck_assert_str_eq(before[0], "");	/* a new segd's state */
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		errno = 0;
		ck_assert_msg(seg_create(bad[i], 0600) == -1 && errno == EINVAL,
		    "create '%s' was not refused", bad[i]);
		ck_assert_msg(strstr(seg_errstr(), "bad segment name") != NULL,
		    "'%s': %s", bad[i], seg_errstr());
		errno = 0;
		ck_assert_int_eq(seg_pread(bad[i], buf, 1, 0), -1);
		ck_assert_int_eq(errno, EINVAL);
		errno = 0;
		ck_assert_ptr_null(seg_attach(0, bad[i], 0, 0));
		ck_assert_int_eq(errno, EINVAL);
		errno = 0;
		ck_assert_int_eq(seg_remove(bad[i]), -1);
		ck_assert_int_eq(errno, EINVAL);
	}
	SEGCTL_FAILS_WITH(NULL, "segctl: a/b: bad segment name", "create",
	    "a/b");
	SEGCTL_FAILS_WITH(NULL, "segctl: ..: bad segment name", "stat", "..");
	/* nothing was made */
	ck_assert_int_eq(h_segctl(&r, NULL, 0, "ls", NULL), 0);
	ck_assert_uint_eq(r.outlen, 0);
	h_run_free(&r);
	for (i = 0; i < 3; i++)
		h_same_listing(dirs[i], before[i]);

	/* the edges of what is valid */
	memset(name64, 'z', 64);
	name64[64] = '\0';
	ck_assert_msg(seg_create(name64, 0600) == 0, "%s", seg_errstr());
	ck_assert_msg(seg_create("._-AZaz09", 0600) == 0, "%s", seg_errstr());
	ck_assert_msg(seg_create("...", 0600) == 0, "%s", seg_errstr());
	ck_assert_msg(seg_create("-", 0600) == 0, "%s", seg_errstr());
	ck_assert_int_eq(h_segctl(&r, NULL, 0, "create", ".x", NULL), 0);
	h_run_free(&r);
	ck_assert_int_eq(h_segctl(&r, NULL, 0, "ls", NULL), 0);
	ck_assert_int_eq(h_ls_line(r.out, name64, buf, sizeof buf), 0);
	ck_assert_int_eq(h_ls_line(r.out, "._-AZaz09", buf, sizeof buf), 0);
	ck_assert_int_eq(h_ls_line(r.out, "...", buf, sizeof buf), 0);
	ck_assert_int_eq(h_ls_line(r.out, "-", buf, sizeof buf), 0);
	ck_assert_int_eq(h_ls_line(r.out, ".x", buf, sizeof buf), 0);
	h_run_free(&r);
	/* names are files in the state directory, and nothing else changed */
	for (i = 1; i < 3; i++)
		h_same_listing(dirs[i], before[i]);
	ck_assert_int_gt(asprintf(&want, "-.meta\n....meta\n._-AZaz09.meta\n"
	    ".x.meta\n%s.meta\n", name64), 0);
	h_same_listing(h_state, want);
	free(want);
	for (i = 0; i < 3; i++)
		free(before[i]);

	/* creating twice, and bad modes */
	errno = 0;
	ck_assert_int_eq(seg_create("...", 0600), -1);
	ck_assert_int_eq(errno, EEXIST);
	ck_assert_str_eq(seg_errstr(), "segment '...' already exists");
	SEGCTL_FAILS(NULL, "segctl: -: segment '-' already exists\n",
	    "create", "-");
	errno = 0;
	ck_assert_int_eq(seg_create("mode", 01777), -1);
	ck_assert_int_eq(errno, EINVAL);
	SEGCTL_FAILS_WITH(NULL, "segctl: mode: bad mode '999'", "create",
	    "mode", "999");
	SEGCTL_FAILS_WITH(NULL, "segctl: mode: bad mode 'rw'", "create",
	    "mode", "rw");
	{
		struct seg_info si;
		ck_assert_int_eq(seg_stat("mode", &si), -1);
	}
}
END_TEST

/* ---- ctl messages ---- */

START_TEST(bad_ctl_refused)
{
	static const char *bad[] = {
		"", "va", "va 0x36000000", "va 0x36000000 0x1000 extra",
		"vb 0x36000000 0x1000", "VA 0x36000000 0x1000",
		"va 0x36000000 0", "va x 0x1000", "va 0x36000000 -1",
		"va -0x1000 0x1000", "va 0x36000000 1k",
		"va 0x1ffffffffffffffff 0x1000",
		"va 0xfffffffffffff000 0x2000",
		"va 0x7ffffffff000 0x2000",
		"va 99999999999999999999999 1",
	};
	char buf[64];
	size_t i;

	ck_assert_int_eq(seg_create("target", 0600), 0);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		errno = 0;
		ck_assert_msg(seg_ctl("target", bad[i]) == -1 && errno == EINVAL,
		    "ctl '%s' was not refused (errno %d)", bad[i], errno);
		ck_assert_msg(strncmp(seg_errstr(), "bad ctl message", 15) == 0,
		    "'%s': %s", bad[i], seg_errstr());
		ck_assert_int_eq(seg_ctl_read("target", buf, sizeof buf), -1);
		ck_assert_str_eq(seg_errstr(), UNALLOC);
	}
	SEGCTL_FAILS_WITH(NULL, "segctl: target: bad ctl message", "ctl",
	    "target", "va 1");
	/* blanks around the fields are fine */
	ck_assert_msg(seg_ctl("target", "  kmsg\t0x36000000   4096 \n") == 0,
	    "%s", seg_errstr());
	ck_assert_int_gt(seg_ctl_read("target", buf, sizeof buf), 0);
	ck_assert_str_eq(buf, "kmsg 0x36000000 0x1000\n");
	errno = 0;
	ck_assert_int_eq(seg_ctl("nosuch", "va 0 1"), -1);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

/* ---- data bounds ---- */

START_TEST(data_bounds)
{
	char buf[0x3000];
	struct h_run r;

	h_make_seg("bounds", 0600, "va 0x37000000 0x1000");
	memset(buf, 'b', sizeof buf);
	/* a write that runs past the end is cut at the end */
	ck_assert_int_eq(seg_pwrite("bounds", "0123456789", 10, 0xffa), 6);
	ck_assert_int_eq(seg_pread("bounds", buf, 10, 0xffa), 6);
	ck_assert_int_eq(memcmp(buf, "012345b", 7), 0);
	/* a write that starts at or past the end fails */
	errno = 0;
	ck_assert_int_eq(seg_pwrite("bounds", "x", 1, 0x1000), -1);
	ck_assert_int_eq(errno, EFBIG);
	ck_assert_msg(strstr(seg_errstr(), "past the end") != NULL, "%s",
	    seg_errstr());
	errno = 0;
	ck_assert_int_eq(seg_pwrite("bounds", "x", 1, 0x10000), -1);
	ck_assert_int_eq(errno, EFBIG);
	errno = 0;
	ck_assert_int_eq(seg_pwrite("bounds", "x", 1, UINT64_MAX), -1);
	ck_assert_int_eq(errno, EFBIG);
	/* reads stop at the end, and return 0 there */
	ck_assert_int_eq(seg_pread("bounds", buf, sizeof buf, 0), 0x1000);
	ck_assert_int_eq(memcmp(buf + 0xffa, "012345", 6), 0);
	ck_assert_int_eq(seg_pread("bounds", buf, 1, 0x1000), 0);
	ck_assert_int_eq(seg_pread("bounds", buf, 1, 0x5000), 0);
	ck_assert_int_eq(seg_pread("bounds", buf, 1, UINT64_MAX), 0);
	ck_assert_int_eq(seg_pread("bounds", buf, 0, 0), 0);
	/* a write of nothing inside is nothing */
	ck_assert_int_eq(seg_pwrite("bounds", "x", 0, 0), 0);

	/* segctl: offsets in decimal or hex; reading at the end is empty */
	ck_assert_int_eq(h_segctl(&r, "hex", 3, "write", "bounds", "0x10",
	    NULL), 0);
	h_run_free(&r);
	ck_assert_int_eq(h_segctl(&r, NULL, 0, "read", "bounds", "16", "3",
	    NULL), 0);
	ck_assert_str_eq(r.out, "hex");
	h_run_free(&r);
	ck_assert_int_eq(h_segctl(&r, NULL, 0, "read", "bounds", "0xffa",
	    NULL), 0);
	ck_assert_str_eq(r.out, "012345");
	h_run_free(&r);
	ck_assert_int_eq(h_segctl(&r, NULL, 0, "read", "bounds", "4096",
	    NULL), 0);
	ck_assert_uint_eq(r.outlen, 0);
	h_run_free(&r);
	ck_assert_int_eq(h_segctl(&r, NULL, 0, "read", "bounds", "0", "0x2000",
	    NULL), 0);
	ck_assert_uint_eq(r.outlen, 0x1000);
	h_run_free(&r);
	SEGCTL_FAILS_WITH("x", "segctl: bounds: write at 0x1000 starts at or "
	    "past the end", "write", "bounds", "4096");
	SEGCTL_FAILS_WITH(NULL, "segctl: bounds: bad offset 'zz'", "read",
	    "bounds", "zz");
	SEGCTL_FAILS_WITH(NULL, "segctl: bounds: bad length '-1'", "read",
	    "bounds", "0", "-1");
}
END_TEST

/* ---- segctl's errors ---- */

START_TEST(segctl_errors)
{
	struct h_run r;

	SEGCTL_FAILS(NULL, "segctl: nope: segment 'nope' does not exist\n",
	    "read", "nope");
	SEGCTL_FAILS("x", "segctl: nope: segment 'nope' does not exist\n",
	    "write", "nope");
	SEGCTL_FAILS(NULL, "segctl: nope: segment 'nope' does not exist\n",
	    "ctl", "nope");
	SEGCTL_FAILS(NULL, "segctl: nope: segment 'nope' does not exist\n",
	    "ctl", "nope", "va 0 1");
	SEGCTL_FAILS(NULL, "segctl: nope: segment 'nope' does not exist\n",
	    "rm", "nope");
	SEGCTL_FAILS(NULL, "segctl: nope: segment 'nope' does not exist\n",
	    "stat", "nope");

	/* segd out of reach */
	{
		char sock[H_PATHMAX + 16];
		snprintf(sock, sizeof sock, "%s/none", h_dir);
		SEGCTL_FAILS_WITH(NULL, "segctl: ls: cannot reach segd", "-s",
		    sock, "ls");
	}
	/* usage errors are not successes */
	ck_assert_int_ne(h_segctl(&r, NULL, 0, NULL), 0);
	h_run_free(&r);
	ck_assert_int_ne(h_segctl(&r, NULL, 0, "frob", "x", NULL), 0);
	h_run_free(&r);
	ck_assert_int_ne(h_segctl(&r, NULL, 0, "rm", NULL), 0);
	h_run_free(&r);

	/* and successes are 0, quietly */
	ck_assert_int_eq(h_segctl(&r, NULL, 0, "create", "fine", "0600", NULL),
	    0);
	ck_assert_uint_eq(r.outlen + r.errlen, 0);
	h_run_free(&r);
	ck_assert_int_eq(h_segctl(&r, NULL, 0, "rm", "fine", NULL), 0);
	ck_assert_uint_eq(r.outlen + r.errlen, 0);
	h_run_free(&r);
	SEGCTL_FAILS(NULL, "segctl: fine: segment 'fine' does not exist\n",
	    "rm", "fine");
}
END_TEST

/* ---- export flags and rebind without RDMA: what is checked first ---- */

START_TEST(rebind_refused)
{
	ck_assert_int_eq(seg_create("r1", 0660), 0);
	ck_assert_int_eq(seg_ctl("r1", "va 0x32000000 0x2000"), 0);
	ck_assert_int_eq(seg_create("r2", 0660), 0);
	ck_assert_int_eq(seg_ctl("r2", "va 0x32100000 0x1000"), 0);

	errno = 0;
	ck_assert_int_eq(seg_export_flags("r1", NULL, 0x100), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_str_eq(seg_errstr(), "unknown export flags 0x100");
	errno = 0;
	ck_assert_int_eq(seg_export_flags("r1", NULL, SEG_ALLOW_REBIND), -1);
	ck_assert_int_eq(errno, ENOTSUP);	/* this segd serves no network */
	errno = 0;
	ck_assert_int_eq(seg_rebind("r1", (void *)0x32100000, 0x2000), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_str_eq(seg_errstr(), "segment 'r1' is not exported");
	errno = 0;
	ck_assert_int_eq(seg_rebind("nope", (void *)0x32100000, 0x1000), -1);
	ck_assert_int_eq(errno, ENOENT);
	errno = 0;
	ck_assert_int_eq(seg_rebind("bad/name", (void *)0x32100000, 0x1000),
	    -1);
	ck_assert_int_eq(errno, EINVAL);

	SEGCTL_FAILS(NULL, "segctl: r1: segment 'r1' is not exported\n",
	    "rebind", "r1", "r1");
	SEGCTL_FAILS(NULL, "segctl: r1: bad length: 8192 bytes at offset 0 do "
	    "not fit in segment 'r2' (4096 bytes)\n", "rebind", "r1", "r2");
	SEGCTL_FAILS(NULL, "segctl: export: unknown flag 'bogus': use rebind, "
	    "dontwait, lockops\n", "export", "-f", "rebind,bogus", "r1");
}
END_TEST

/* ---- limits ---- */

START_TEST(limits_refused)
{
	char name[16];
	int i;

	/* a segd with room for 3 segments and 16 pages */
	h_segd_restart("-N", "3", "-M", "0x10000", NULL);
	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof name, "lim%d", i);
		ck_assert_msg(seg_create(name, 0600) == 0, "%s", seg_errstr());
	}
	errno = 0;
	ck_assert_int_eq(seg_create("lim3", 0600), -1);
	ck_assert_int_eq(errno, ENOSPC);
	ck_assert_str_eq(seg_errstr(), "too many segments (limit 3)");
	ck_assert_int_eq(seg_ctl("lim0", "va 0x38000000 0xc000"), 0);
	errno = 0;
	ck_assert_int_eq(seg_ctl("lim1", "va 0x39000000 0x5000"), -1);
	ck_assert_int_eq(errno, ENOSPC);
	ck_assert_msg(strstr(seg_errstr(), "limit") != NULL, "%s",
	    seg_errstr());
	ck_assert_int_eq(seg_ctl("lim1", "va 0x39000000 0x4000"), 0);
	/* removing makes room again */
	ck_assert_int_eq(seg_remove("lim2"), 0);
	ck_assert_int_eq(seg_create("lim3", 0600), 0);
	ck_assert_int_eq(seg_remove("lim0"), 0);
	ck_assert_int_eq(seg_ctl("lim3", "va 0x3a000000 0xc000"), 0);
	h_segd_opts[0] = NULL;
}
END_TEST

void
suite(Suite *s)
{
	ck_tcase(s, "ctl", &h_fix, H_TIMEOUT_S, not_yet_allocated,
	    ctl_twice_refused, overlap_refused, bad_ctl_refused, NULL);
	ck_tcase(s, "names", &h_fix, H_TIMEOUT_S, bad_names_refused, NULL);
	ck_tcase(s, "data", &h_fix, H_TIMEOUT_S, data_bounds, NULL);
	ck_tcase(s, "rebind", &h_fix, H_TIMEOUT_S, rebind_refused, NULL);
	ck_tcase(s, "segctl", &h_fix, H_TIMEOUT_S, segctl_errors,
	    limits_refused, NULL);
}
