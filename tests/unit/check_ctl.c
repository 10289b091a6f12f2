/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * check_ctl.c: the ctl message parser (segd/ctl.c).
 *
 * `va|addr|umsg|kmsg ADDR LEN`: numbers in decimal or 0x hex; ADDR is
 * rounded down to a page and the end up to a page; ADDR 0 means segd picks.
 * Everything else is refused with a clear message and leaves the output
 * untouched.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "testbytes.h"
#include "segd.h"

#define P4K  4096ULL
#define P64K 65536ULL
#define BASE 0x10000000ULL
#define MIB  0x100000ULL

/* Each verb's word, as the spec spells it; VERB(i): the verbs in turn. */
static const char *const word[SEG_VERB_MAX] = {
	[SEG_VERB_VA] = "va", [SEG_VERB_ADDR] = "addr",
	[SEG_VERB_UMSG] = "umsg", [SEG_VERB_KMSG] = "kmsg",
};
#define NVERBS  (SEG_VERB_MAX - SEG_VERB_VA)
#define VERB(i) ((enum seg_verb)(SEG_VERB_VA + (i) % NVERBS))

static struct ctlmsg out;
static struct segerr err;

/* A sentinel so that a refusal can be seen not to write the output. */
static void
setup(void)
{
	memset(&out, 0xa5, sizeof out);
	memset(&err, 0, sizeof err);
}

static const struct ck_fix fix = { .setup = setup };

static int
parse(const char *msg, uint64_t pagesize)
{
	return ctl_parse(msg, strlen(msg), pagesize, &out, &err);
}

static uint64_t
rdown(uint64_t a, uint64_t p)
{
	return a - a % p;
}

static uint64_t
rup(uint64_t a, uint64_t p)
{
	return a % p ? a + (p - a % p) : a;
}

/* Accepted, with these values. */
static void
expect_ok(const char *msg, uint64_t pagesize, enum seg_verb verb, uint64_t va,
    uint64_t len)
{
	int r = parse(msg, pagesize);

	ck_assert_msg(r == 0, "'%s' refused: %s", msg, err.msg);
	ck_assert_int_eq(out.verb, verb);
	ck_assert_msg(out.va == va, "'%s': va 0x%llx, want 0x%llx", msg,
	    (unsigned long long)out.va, (unsigned long long)va);
	ck_assert_msg(out.len == len, "'%s': len 0x%llx, want 0x%llx", msg,
	    (unsigned long long)out.len, (unsigned long long)len);
}

/* Refused with EINVAL, a message containing `why`, and no output written. */
static void
expect_bad_n(const char *msg, size_t n, uint64_t pagesize, const char *why)
{
	struct ctlmsg sentinel;
	int r;

	memset(&sentinel, 0xa5, sizeof sentinel);
	memset(&out, 0xa5, sizeof out);
	memset(&err, 0, sizeof err);
	r = ctl_parse(msg, n, pagesize, &out, &err);
	ck_assert_msg(r == -1, "'%.*s' accepted (va 0x%llx len 0x%llx)",
	    (int)n, msg, (unsigned long long)out.va,
	    (unsigned long long)out.len);
	ck_assert_int_eq(err.code, EINVAL);
	ck_assert_msg(strncmp(err.msg, "bad ctl message", 15) == 0,
	    "'%.*s': message '%s'", (int)n, msg, err.msg);
	ck_assert_msg(strstr(err.msg, why) != NULL,
	    "'%.*s': message '%s' lacks '%s'", (int)n, msg, err.msg, why);
	ck_assert_msg(memcmp(&out, &sentinel, sizeof out) == 0,
	    "'%.*s': output written on refusal", (int)n, msg);
}

static void
expect_bad(const char *msg, const char *why)
{
	expect_bad_n(msg, strlen(msg), P4K, why);
}

/* ---- valid forms ---- */

/* Each verb in each form: the format has the verb's %s. */
static const char *const forms[] = {
	"%s 0x10000000 0x100000",
	"%s 268435456 1048576",
	/* echo 'va 0x10000000 0x100000' > ctl writes a trailing newline */
	"%s 0x10000000 0x100000\n",
};
#define NFORMS ((int)(sizeof forms / sizeof forms[0]))

START_TEST(every_verb_every_form)
{
	char msg[64];

	snprintf(msg, sizeof msg, forms[_i / NVERBS], word[VERB(_i)]);
	expect_ok(msg, P4K, VERB(_i), BASE, MIB);
}
END_TEST

/* Messages accepted, and what they give: verb, address and length. */
static const struct {
	const char   *msg;
	uint64_t      pagesize;
	enum seg_verb verb;
	uint64_t      va, len;
} good[] = {
	/* the spec's example */
	{ "va 0x10000000 0x100000\n", P4K, SEG_VERB_VA, BASE, MIB },
	/* hex in upper and mixed case */
	{ "addr 0X10000000 0X100000", P4K, SEG_VERB_ADDR, BASE, MIB },
	{ "addr 0xABCD0000 0xaBc000", P4K, SEG_VERB_ADDR, 0xabcd0000, 0xabc000 },
	/* hex address with decimal length and the other way round */
	{ "umsg 0x10000000 4096", P4K, SEG_VERB_UMSG, BASE, 4096 },
	{ "kmsg 268435456 0x1000", P4K, SEG_VERB_KMSG, BASE, 0x1000 },
	/* leading zeros are decimal, not octal */
	{ "va 0268435456 010000", P4K, SEG_VERB_VA, 268435456, 12288 },
	/* extra blanks */
	{ "  va   0x10000000\t\t0x100000  ", P4K, SEG_VERB_VA, BASE, MIB },
	{ "\tva\t0x10000000\t0x100000\t\n", P4K, SEG_VERB_VA, BASE, MIB },
	{ "va 0x10000000 0x100000\r\n", P4K, SEG_VERB_VA, BASE, MIB },
	{ "\n\nva\n0x10000000\n0x100000\n\n", P4K, SEG_VERB_VA, BASE, MIB },
	/* rounding, 4 KiB pages: start down, end up */
	{ "va 0x10000123 0x100", P4K, SEG_VERB_VA, BASE, 0x1000 },
	/* crosses a page boundary: two pages */
	{ "va 0x10000ff0 0x20", P4K, SEG_VERB_VA, BASE, 0x2000 },
	/* length 1 is one page */
	{ "va 0x10000000 1", P4K, SEG_VERB_VA, BASE, 0x1000 },
	/* aligned stays as is */
	{ "va 0x10001000 0x3000", P4K, SEG_VERB_VA, 0x10001000, 0x3000 },
	/* one byte over a page is two pages */
	{ "va 0x10000000 0x1001", P4K, SEG_VERB_VA, BASE, 0x2000 },
	/* the last byte of a page, one byte long */
	{ "va 0x10000fff 1", P4K, SEG_VERB_VA, BASE, 0x1000 },
	/* the last byte of a page, two bytes long */
	{ "va 0x10000fff 2", P4K, SEG_VERB_VA, BASE, 0x2000 },
	/* rounding, 64 KiB pages */
	{ "va 0x10001000 0x1000", P64K, SEG_VERB_VA, BASE, 0x10000 },
	{ "va 0x1000ffff 2", P64K, SEG_VERB_VA, BASE, 0x20000 },
	{ "va 0x10000000 0x10000", P64K, SEG_VERB_VA, BASE, 0x10000 },
	/* ADDR 0: segd picks */
	{ "va 0 0x100000", P4K, SEG_VERB_VA, 0, MIB },
	{ "addr 0x0 1", P4K, SEG_VERB_ADDR, 0, 0x1000 },
	{ "umsg 00 5000", P4K, SEG_VERB_UMSG, 0, 0x2000 },
	{ "kmsg 0x000 0x1000\n", P4K, SEG_VERB_KMSG, 0, 0x1000 },
};
#define NGOOD ((int)(sizeof good / sizeof good[0]))

START_TEST(accepted)
{
	expect_ok(good[_i].msg, good[_i].pagesize, good[_i].verb, good[_i].va,
	    good[_i].len);
}
END_TEST

/* The length argument bounds the message: bytes past it are not read. */
START_TEST(length_bounds_message)
{
	const char msg[] = "va 0x10000000 0x100000 junk";

	ck_assert_int_eq(ctl_parse(msg, 22, P4K, &out, &err), 0);
	ck_assert_uint_eq(out.va, 0x10000000);
	ck_assert_uint_eq(out.len, 0x100000);
	/* and a shorter view of the same bytes is a shorter number */
	ck_assert_int_eq(ctl_parse(msg, 21, P4K, &out, &err), 0);
	ck_assert_uint_eq(out.len, 0x10000);
}
END_TEST

START_TEST(largest_numbers)
{
	/* 64-bit extremes parse as numbers; they fail on range, not syntax */
	expect_bad("va 18446744073709551615 1", "wraps");
	expect_bad("va 0xffffffffffffffff 1", "wraps");
	expect_bad("va 0x1000 18446744073709551615", "wraps");
	expect_bad("va 0x1000 0xFFFFFFFFFFFFFFFF", "wraps");
}
END_TEST

/* ---- rounding ---- */

/* With this machine's page size, checked against the definition. */
START_TEST(rounding_system_pagesize)
{
	static const uint64_t addrs[] = { 0x10000000, 0x10000001, 0x10000fff,
	    0x10001000, 0x1234567, 0x7ffffff00000 };
	static const uint64_t lens[] = { 1, 2, 0xfff, 0x1000, 0x1001, 0x10000,
	    0x12345 };
	uint64_t p = (uint64_t)sysconf(_SC_PAGESIZE);
	size_t i, j;

	for (i = 0; i < sizeof addrs / sizeof addrs[0]; i++)
		for (j = 0; j < sizeof lens / sizeof lens[0]; j++) {
			char msg[80];
			uint64_t s = rdown(addrs[i], p), e = rup(addrs[i] + lens[j], p);

			snprintf(msg, sizeof msg, "addr 0x%llx %llu",
			    (unsigned long long)addrs[i],
			    (unsigned long long)lens[j]);
			expect_ok(msg, p, SEG_VERB_ADDR, s, e - s);
			ck_assert(out.va % p == 0 && out.len % p == 0);
			ck_assert(out.va <= addrs[i]);
			ck_assert(out.va + out.len >= addrs[i] + lens[j]);
			ck_assert(out.len - lens[j] < 2 * p);
		}
}
END_TEST

/* ---- ADDR 0 ---- */

/*
 * A non-zero address inside page 0 rounds down to 0, which would turn a
 * request for a fixed address into "segd picks"; it is refused instead.
 */
START_TEST(addr_in_page_zero)
{
	expect_bad("va 1 0x1000", "page 0");
	expect_bad("va 0x10 0x100", "page 0");
	expect_bad("va 0xfff 1", "page 0");
	expect_bad_n("va 0xffff 1", 11, P64K, "page 0");
	/* the first address of page 1 is fine */
	expect_ok("va 0x1000 0x1000", P4K, SEG_VERB_VA, 0x1000, 0x1000);
}
END_TEST

/* ---- top of the address space ---- */

START_TEST(user_space_top)
{
	char msg[80];

	/* the last page of user space */
	snprintf(msg, sizeof msg, "va 0x%llx 0x1000",
	    (unsigned long long)(SEGD_USER_TOP - P4K));
	expect_ok(msg, P4K, SEG_VERB_VA, SEGD_USER_TOP - P4K, P4K);
	/* ending exactly at the top, from low down */
	snprintf(msg, sizeof msg, "va 0x1000 0x%llx",
	    (unsigned long long)(SEGD_USER_TOP - P4K));
	expect_ok(msg, P4K, SEG_VERB_VA, P4K, SEGD_USER_TOP - P4K);
	/* one byte more crosses it */
	snprintf(msg, sizeof msg, "va 0x%llx 0x1001",
	    (unsigned long long)(SEGD_USER_TOP - P4K));
	expect_bad(msg, "above the user address space");
	/* at the top */
	snprintf(msg, sizeof msg, "va 0x%llx 1", (unsigned long long)SEGD_USER_TOP);
	expect_bad(msg, "above the user address space");
	/* ADDR 0 with a length larger than user space */
	snprintf(msg, sizeof msg, "va 0 0x%llx",
	    (unsigned long long)(SEGD_USER_TOP + 1));
	expect_bad(msg, "above the user address space");
	expect_bad("va 0x10000000 0x7ffffffff0000000", "above the user");
	expect_bad("va 0xffff800000000000 0x1000", "above the user");
}
END_TEST

START_TEST(wrap_around)
{
	/* addr + len overflows 64 bits */
	expect_bad("va 0xfffffffffffff000 0x1000", "wraps");
	expect_bad("va 0xffffffffffffffff 1", "wraps");
	expect_bad("va 0x1000 0xfffffffffffff000", "wraps");
	expect_bad("va 0x8000000000000000 0x8000000000000000", "wraps");
	/* addr + len fits, but rounding the end up to a page does not */
	expect_bad("va 0xfffffffffffff001 0xffe", "wraps");
	expect_bad("va 0xffffffffffffff00 0xff", "wraps");
	expect_bad("va 0 0xffffffffffffffff", "wraps");
	expect_bad("va 0 0xfffffffffffff001", "wraps");
	expect_bad_n("va 0 0xffffffffffff0001", 23, P64K, "wraps");
}
END_TEST

/* ---- malformed ---- */

static const struct {
	const char *msg;
	const char *why;
} bad[] = {
	/* missing fields */
	{ "", "missing fields" },
	{ "   ", "missing fields" },
	{ "\n", "missing fields" },
	{ "va", "missing fields" },
	{ "va\n", "missing fields" },
	{ "va 0x10000000", "missing fields" },
	{ "va 0x10000000\n", "missing fields" },
	{ "0x10000000 0x1000", "missing fields" },
	{ "va,0x10000000,0x1000", "missing fields" },
	{ "va\v0x10000000 0x1000", "missing fields" },	/* \v is no blank */
	/* extra fields */
	{ "va 0x10000000 0x1000 0x1000", "too many fields" },
	{ "va 0x10000000 0x1000 junk", "too many fields" },
	{ "va 0x10000000 0x1000 x\n", "too many fields" },
	{ "va va 0x10000000 0x1000", "too many fields" },
	{ "va 1 2 3 4 5 6 7 8", "too many fields" },
	/* unknown verb */
	{ "vb 0x10000000 0x1000", "unknown verb" },
	{ "VA 0x10000000 0x1000", "unknown verb" },
	{ "Addr 0x10000000 0x1000", "unknown verb" },
	{ "v 0x10000000 0x1000", "unknown verb" },
	{ "vaa 0x10000000 0x1000", "unknown verb" },
	{ "addrs 0x10000000 0x1000", "unknown verb" },
	{ "free 0x10000000 0x1000", "unknown verb" },
	{ "0x10000000 va 0x1000", "unknown verb" },
	{ "va: 0x10000000 0x1000", "unknown verb" },
	/* non-numbers */
	{ "va x 0x1000", "bad address" },
	{ "va 0x 0x1000", "bad address" },
	{ "va 0X 0x1000", "bad address" },
	{ "va 0xg 0x1000", "bad address" },
	{ "va 0x10000000g 0x1000", "bad address" },
	{ "va 0x10000000junk 0x1000", "bad address" },
	{ "va 268435456x 0x1000", "bad address" },
	{ "va 1e9 0x1000", "bad address" },
	{ "va 1.0 0x1000", "bad address" },
	{ "va 0b101 0x1000", "bad address" },
	{ "va 0o17 0x1000", "bad address" },
	{ "va 0x0x10 0x1000", "bad address" },
	{ "va x10 0x1000", "bad address" },
	{ "va 0x10000000 x", "bad length" },
	{ "va 0x10000000 0x", "bad length" },
	{ "va 0x10000000 0x1000junk", "bad length" },
	{ "va 0x10000000 4k", "bad length" },
	{ "va 0x10000000 1M", "bad length" },
	{ "va 0x10000000 1.5", "bad length" },
	{ "va 0x10000000 0x1000,", "bad length" },
	{ "va 0x10000000 \xff", "bad length" },
	/* signs */
	{ "va -1 0x1000", "bad address" },
	{ "va +268435456 0x1000", "bad address" },
	{ "va -0x10000000 0x1000", "bad address" },
	{ "va 0x-10000000 0x1000", "bad address" },
	{ "va 0x+10000000 0x1000", "bad address" },
	{ "va 0x10000000 -4096", "bad length" },
	{ "va 0x10000000 +4096", "bad length" },
	{ "va 0x10000000 -0x1000", "bad length" },
	{ "va 0x10000000 0x-1000", "bad length" },
	{ "va 0x10000000 -0", "bad length" },
	/* overflow: more than 64 bits */
	{ "va 18446744073709551616 1", "bad address" },
	{ "va 0x10000000000000000 1", "bad address" },
	{ "va 99999999999999999999999 1", "bad address" },
	{ "va 0x10000000 18446744073709551616", "bad length" },
	{ "va 0x10000000 0x10000000000000000", "bad length" },
	{ "va 0x10000000 0xffffffffffffffffffffffffffff", "bad length" },
	/* a number too long for any buffer */
	{ "va 0x10000000 00000000000000000000000000000000000000000001",
	  "bad length" },
	/* zero length */
	{ "va 0x10000000 0", "zero length" },
	{ "va 0x10000000 0x0", "zero length" },
	{ "va 0x10000000 000", "zero length" },
	{ "va 0 0", "zero length" },
};
#define NBAD ((int)(sizeof bad / sizeof bad[0]))

START_TEST(malformed)
{
	expect_bad(bad[_i].msg, bad[_i].why);
}
END_TEST

/* The same malformed messages as echo writes them. */
START_TEST(malformed_newline)
{
	char msg[128];

	snprintf(msg, sizeof msg, "%s\n", bad[_i].msg);
	expect_bad(msg, bad[_i].why);
}
END_TEST

START_TEST(embedded_nul)
{
	static const char m1[] = "va 0x10000000 0x1000\0junk";
	static const char m5[] = "va 0x10000000 0x1000\0 junk";
	static const char m2[] = "va\0 0x10000000 0x1000";
	static const char m3[] = "va 0x1000\0000 0x1000";
	static const char m4[] = "\0";

	expect_bad_n(m1, sizeof m1 - 1, P4K, "bad length");
	expect_bad_n(m2, sizeof m2 - 1, P4K, "unknown verb");
	expect_bad_n(m3, sizeof m3 - 1, P4K, "bad address");
	expect_bad_n(m4, 1, P4K, "missing fields");
	expect_bad_n(m5, sizeof m5 - 1, P4K, "too many fields");
}
END_TEST

START_TEST(too_long)
{
	char msg[SEGW_MAXTEXT + 64];
	const char *valid = "va 0x10000000 0x1000";
	size_t vl = strlen(valid);

	/* exactly the limit, padded with blanks: accepted */
	memset(msg, ' ', sizeof msg);
	memcpy(msg, valid, vl);
	ck_assert_int_eq(ctl_parse(msg, SEGW_MAXTEXT, P4K, &out, &err), 0);
	ck_assert_uint_eq(out.va, 0x10000000);
	/* one byte more: refused before anything else */
	expect_bad_n(msg, SEGW_MAXTEXT + 1, P4K, "too long");
	expect_bad_n(msg, sizeof msg, P4K, "too long");
	/* a long run of one field */
	memset(msg, 'a', sizeof msg);
	expect_bad_n(msg, SEGW_MAXTEXT + 1, P4K, "too long");
	/* under the limit, one long field is just too few fields */
	expect_bad_n(msg, SEGW_MAXTEXT, P4K, "missing fields");
}
END_TEST

/* Long junk in a field does not spill whole into the message. */
START_TEST(error_message_bounded)
{
	char msg[SEGW_MAXTEXT];

	memset(msg, 'z', sizeof msg);
	memcpy(msg, "va ", 3);
	msg[100] = ' ';
	memcpy(msg + 101, "0x1000", 6);
	ck_assert_int_eq(ctl_parse(msg, 107, P4K, &out, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "bad address"));
	ck_assert(strlen(err.msg) < 120);
	ck_assert(memchr(err.msg, '\0', sizeof err.msg) != NULL);
}
END_TEST

/* Random bytes: never a crash; an acceptance is always a sane range. */
START_TEST(garbage)
{
	static const char alphabet[] = "vaddrumskg0x123456789abcdefABCDEFX \t\n\r-+.\v\0\xff";
	uint64_t p = (uint64_t)sysconf(_SC_PAGESIZE);
	unsigned seed = 0x5e9d;
	int i;

	for (i = 0; i < 200000; i++) {
		size_t n = (size_t)(rand_r(&seed) % 48);
		char *msg = rand_bytes(&seed, n, (i & 1) ? alphabet : NULL,
		    sizeof alphabet - 1);
		int r;

		memset(&err, 0, sizeof err);
		r = ctl_parse(msg, n, p, &out, &err);
		if (r == 0) {
			ck_assert(out.verb > SEG_VERB_NONE && out.verb < SEG_VERB_MAX);
			ck_assert(out.va % p == 0 && out.len % p == 0);
			ck_assert(out.len > 0);
			ck_assert(out.va <= SEGD_USER_TOP - out.len);
		} else {
			ck_assert_int_eq(r, -1);
			ck_assert_int_eq(err.code, EINVAL);
			ck_assert(err.msg[0] != '\0');
		}
		free(msg);
	}
}
END_TEST

/* Shaped garbage: a real verb and two random tokens, so that numbers are hit. */
START_TEST(garbage_shaped)
{
	static const char digits[] = "0123456789abcdefxX-+";
	uint64_t p = (uint64_t)sysconf(_SC_PAGESIZE);
	unsigned seed = 0xc71;
	int i, accepted = 0, refused = 0;

	for (i = 0; i < 100000; i++) {
		char msg[96], t[2][40];
		int k, j;

		for (k = 0; k < 2; k++) {
			int n = 1 + rand_r(&seed) % 24;
			j = 0;
			if (rand_r(&seed) % 2) {
				t[k][j++] = '0';
				t[k][j++] = 'x';
			}
			for (; j < n + 2 && j < 38; j++)
				t[k][j] = digits[rand_r(&seed) %
				    (rand_r(&seed) % 8 ? 16 : sizeof digits - 1)];
			t[k][j] = '\0';
		}
		snprintf(msg, sizeof msg, "%s %s %s", word[VERB(i)],
		    t[0], t[1]);
		memset(&err, 0, sizeof err);
		if (ctl_parse(msg, strlen(msg), p, &out, &err) == 0) {
			uint64_t a, l;
			accepted++;
			/* cross-check against the parsed numbers */
			ck_assert_int_eq(seg_parse_u64(t[0], strlen(t[0]), &a), 0);
			ck_assert_int_eq(seg_parse_u64(t[1], strlen(t[1]), &l), 0);
			ck_assert_int_eq(out.verb, VERB(i));
			ck_assert(a == 0 || out.va != 0);
			ck_assert_uint_eq(out.va, rdown(a, p));
			ck_assert_uint_eq(out.va + out.len, rup(a + l, p));
			ck_assert(out.va + out.len <= SEGD_USER_TOP);
		} else {
			refused++;
			ck_assert_int_eq(err.code, EINVAL);
		}
	}
	ck_assert_int_gt(accepted, 100);
	ck_assert_int_gt(refused, 100);
}
END_TEST

/* ---- ctl_format ---- */

START_TEST(format_spec_example)
{
	char buf[SEGW_MAXTEXT];
	int n = ctl_format(buf, sizeof buf, SEG_VERB_VA, 0x10000000, 0x100000);

	ck_assert_int_eq(n, (int)strlen(buf));
	ck_assert_str_eq(buf, "va 0x10000000 0x100000\n");
}
END_TEST

START_TEST(format_round_trip)
{
	static const uint64_t vas[] = { 0, 0x1000, 0x10000000, 0x100000000000,
	    SEGD_USER_TOP - 0x100000 };
	static const uint64_t lens[] = { 0x1000, 0x100000, 0x40000000, 0x100000 };
	char buf[SEGW_MAXTEXT];
	size_t i, j;

	for (i = 0; i < sizeof vas / sizeof vas[0]; i++)
		for (j = 0; j < sizeof lens / sizeof lens[0]; j++) {
			uint64_t va = vas[i], len = lens[j];
			int n;

			if (va + len > SEGD_USER_TOP)
				continue;
			n = ctl_format(buf, sizeof buf, VERB(_i), va, len);
			ck_assert_int_gt(n, 0);
			ck_assert_int_lt(n, (int)sizeof buf);
			ck_assert_msg(buf[n - 1] == '\n', "'%s' lacks newline", buf);
			ck_assert_msg(strncmp(buf, word[VERB(_i)],
			    strlen(word[VERB(_i)])) == 0, "'%s'", buf);
			ck_assert_int_eq(ctl_parse(buf, (size_t)n, P4K, &out, &err), 0);
			ck_assert_int_eq(out.verb, VERB(_i));
			ck_assert_uint_eq(out.va, va);
			ck_assert_uint_eq(out.len, len);
			/* and what is parsed formats back to the same text */
			{
				char again[SEGW_MAXTEXT];
				ctl_format(again, sizeof again, out.verb, out.va,
				    out.len);
				ck_assert_str_eq(again, buf);
			}
		}
}
END_TEST

/* A parsed (rounded) message formats as hex and parses to itself. */
START_TEST(parse_format_parse)
{
	static const char *msgs[] = { "va 268435456 1048576",
	    "addr 0x10000123 0x100\n", "umsg 0 5000", "kmsg 0x7ffffff00fff 1" };
	char buf[SEGW_MAXTEXT];
	size_t i;

	for (i = 0; i < sizeof msgs / sizeof msgs[0]; i++) {
		struct ctlmsg first;
		unsigned long long va, len;
		char word[8];

		ck_assert_int_eq(parse(msgs[i], P4K), 0);
		first = out;
		ctl_format(buf, sizeof buf, first.verb, first.va, first.len);
		ck_assert_int_eq(sscanf(buf, "%7s 0x%llx 0x%llx", word, &va, &len),
		    3);
		ck_assert_str_eq(word, segw_verb_name(first.verb));
		ck_assert_uint_eq(va, first.va);
		ck_assert_uint_eq(len, first.len);
		ck_assert_int_eq(parse(buf, P4K), 0);
		ck_assert_int_eq(out.verb, first.verb);
		ck_assert_uint_eq(out.va, first.va);
		ck_assert_uint_eq(out.len, first.len);
	}
}
END_TEST

START_TEST(format_truncates_safely)
{
	char buf[8];
	int n;

	memset(buf, 'x', sizeof buf);
	n = ctl_format(buf, sizeof buf, SEG_VERB_ADDR, 0x10000000, 0x100000);
	/* snprintf semantics: the full length, a terminated prefix */
	ck_assert_int_eq(n, (int)strlen("addr 0x10000000 0x100000\n"));
	ck_assert_str_eq(buf, "addr 0x");
}
END_TEST

void
suite(Suite *s)
{
	TCase *tc;

	tc = ck_tcase(s, "valid", &fix, 0, length_bounds_message, NULL);
	tcase_add_loop_test(tc, every_verb_every_form, 0, NVERBS * NFORMS);
	tcase_add_loop_test(tc, accepted, 0, NGOOD);
	ck_tcase(s, "rounding", &fix, 0, rounding_system_pagesize,
	    addr_in_page_zero, NULL);
	ck_tcase(s, "range", &fix, 0, user_space_top, wrap_around,
	    largest_numbers, NULL);
	tc = ck_tcase(s, "malformed", &fix, 0, embedded_nul, too_long,
	    error_message_bounded, NULL);
	tcase_add_loop_test(tc, malformed, 0, NBAD);
	tcase_add_loop_test(tc, malformed_newline, 0, NBAD);
	ck_tcase(s, "garbage", &fix, 60, garbage, garbage_shaped, NULL);
	tc = ck_tcase(s, "format", &fix, 0, format_spec_example,
	    parse_format_parse, format_truncates_safely, NULL);
	tcase_add_loop_test(tc, format_round_trip, 0, NVERBS);
}
