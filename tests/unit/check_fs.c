/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * check_fs.c: the parsers of the segment file system (segd/fs.c): the
 * addresses written to a segment's free file, and the escapes of
 * /proc/self/mountinfo (how segd recognises its mount point there).
 * The file system itself is tested against a real mount in
 * tests/integ/check_fs.c.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "fs.h"

static uint64_t addrs[8];
static struct segerr err;

static void
setup(void)
{
	memset(addrs, 0xa5, sizeof addrs);
	memset(&err, 0, sizeof err);
}

static const struct ck_fix fix = { .setup = setup };

static int
parse(const char *s, int max)
{
	return fs_parse_addrs(s, strlen(s), addrs, max, &err);
}

START_TEST(addrs_one_a_line)
{
	ck_assert_int_eq(parse("0x7f0000001000\n", 8), 1);
	ck_assert_uint_eq(addrs[0], 0x7f0000001000ULL);
	ck_assert_int_eq(parse("0x1000\n0x2000\n0x3000\n", 8), 3);
	ck_assert_uint_eq(addrs[0], 0x1000);
	ck_assert_uint_eq(addrs[1], 0x2000);
	ck_assert_uint_eq(addrs[2], 0x3000);
}
END_TEST

START_TEST(addrs_blanks_and_decimal)
{
	/* no trailing newline, blanks and tabs and CRLF between, decimal */
	ck_assert_int_eq(parse("  0x10 \t4096\r\n 0xffffffffffffffff", 8), 3);
	ck_assert_uint_eq(addrs[0], 0x10);
	ck_assert_uint_eq(addrs[1], 4096);
	ck_assert_uint_eq(addrs[2], UINT64_MAX);
}
END_TEST

START_TEST(addrs_exactly_max)
{
	ck_assert_int_eq(parse("1 2 3 4", 4), 4);
	ck_assert_uint_eq(addrs[3], 4);
}
END_TEST

START_TEST(addrs_not_nul_terminated)
{
	/* only len bytes count: what follows them is not read */
	const char buf[] = "0x1000\n0x2000";

	ck_assert_int_eq(fs_parse_addrs(buf, 7, addrs, 8, &err), 1);
	ck_assert_uint_eq(addrs[0], 0x1000);
	ck_assert_int_eq(fs_parse_addrs(buf, 4, addrs, 8, &err), 1);
	ck_assert_uint_eq(addrs[0], 0x10);
}
END_TEST

START_TEST(addrs_malformed)
{
	static const struct {
		const char *text;
		const char *msg;
	} bad[] = {
		{ "", "no address" },
		{ " \n\t\r\n", "no address" },
		{ "zzz", "bad address 'zzz'" },
		{ "0x", "bad address '0x'" },
		{ "0x1000,0x2000", "bad address '0x1000,0x2000'" },
		{ "0x1000\n0xg", "bad address '0xg'" },
		{ "-1", "bad address '-1'" },
		{ "0x10000000000000000", "bad address" },	/* overflow */
		{ "18446744073709551616", "bad address" },	/* overflow */
		{ "1 2 3 4 5", "more than 4 addresses" },
	};
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(&err, 0, sizeof err);
		ck_assert_msg(parse(bad[i].text, 4) == -1, "'%s' was accepted",
		    bad[i].text);
		ck_assert_int_eq(err.code, EINVAL);
		ck_assert_msg(strstr(err.msg, bad[i].msg) != NULL, "'%s': message "
		    "'%s' does not say '%s'", bad[i].text, err.msg, bad[i].msg);
	}
}
END_TEST

START_TEST(addrs_long_garbage_quoted_short)
{
	char big[200];

	memset(big, 'q', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	ck_assert_int_eq(parse(big, 8), -1);
	ck_assert_int_lt(strlen(err.msg), 100);	/* the quote is cut */
}
END_TEST

START_TEST(unescape_mountinfo)
{
	char a[] = "/tmp/with\\040space/and\\011tab\\134back";
	char b[] = "/plain/path";
	char c[] = "/bad\\09x\\8";		/* not octal escapes: kept */
	char d[] = "/end\\04";			/* cut short: kept */

	fs_unescape(a);
	ck_assert_str_eq(a, "/tmp/with space/and\ttab\\back");
	fs_unescape(b);
	ck_assert_str_eq(b, "/plain/path");
	fs_unescape(c);
	ck_assert_str_eq(c, "/bad\\09x\\8");
	fs_unescape(d);
	ck_assert_str_eq(d, "/end\\04");
}
END_TEST

void
suite(Suite *s)
{
	ck_tcase(s, "parsers", &fix, 0, addrs_one_a_line,
	    addrs_blanks_and_decimal, addrs_exactly_max,
	    addrs_not_nul_terminated, addrs_malformed,
	    addrs_long_garbage_quoted_short, unescape_mountinfo, NULL);
}
