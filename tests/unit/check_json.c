/*
 * check_json.c: segctl's JSON writer (cli/json.c): escapes, invalid UTF-8,
 * nesting and commas, numbers; and its reader of segd's metric lines
 * (json_sample), with malformed lines that must be refused with nothing
 * written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "segctl.h"	/* first: check.h defines a fail() macro */
#include "check_main.h"

static FILE *cap;
static int saved = -1;
static char got[8192];

/* standard output into a temporary file until captured() */
static void
setup(void)
{
	fflush(stdout);
	ck_assert_ptr_nonnull(cap = tmpfile());
	ck_assert_int_ge(saved = dup(1), 0);
	ck_assert_int_ge(dup2(fileno(cap), 1), 0);
}

static const struct ck_fix fix = { .setup = setup };

static const char *
captured(void)
{
	size_t n;

	fflush(stdout);
	rewind(cap);
	n = fread(got, 1, sizeof got - 1, cap);
	got[n] = '\0';
	ck_assert_int_eq(ftruncate(fileno(cap), 0), 0);
	rewind(cap);
	fseek(stdout, 0, SEEK_SET);
	return got;
}

/* json_str(in) writes want. */
static void
str_is(const char *in, const char *want)
{
	json_str(in);
	ck_assert_str_eq(captured(), want);
}

START_TEST(escapes)
{
	str_is("a\"b\\c", "\"a\\\"b\\\\c\"");
	json_strn("\n\t\x01\x1f\x7f", 5);
	ck_assert_str_eq(captured(), "\"\\u000a\\u0009\\u0001\\u001f\\u007f\"");
	json_strn("a\0b", 3);
	ck_assert_str_eq(captured(), "\"a\\u0000b\"");
	str_is("", "\"\"");
}
END_TEST

START_TEST(utf8)
{
	/* valid sequences of 2, 3 and 4 bytes pass through */
	str_is("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
	    "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
	/* a lone continuation byte, a truncated sequence, an overlong form,
	 * a surrogate, beyond U+10FFFF, 0xff: each byte becomes U+FFFD */
	str_is("\x80", "\"\\ufffd\"");
	str_is("\xe2\x82", "\"\\ufffd\\ufffd\"");
	str_is("\xc0\xaf", "\"\\ufffd\\ufffd\"");
	str_is("\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\"");
	str_is("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");
	str_is("\xf4\x90\x80\x80x", "\"\\ufffd\\ufffd\\ufffd\\ufffdx\"");
	str_is("a\xffz", "\"a\\ufffdz\"");
}
END_TEST

START_TEST(nesting)
{
	json_open('[');
	json_close(']');
	ck_assert_str_eq(captured(), "[]\n");
	json_open('[');
	json_open('{');
	json_key("a"), json_u64(1);
	json_key("b"), json_open('[');
	json_u64(2), json_null(), json_str("x");
	json_close(']');
	json_key("c"), json_open('{');
	json_close('}');
	json_close('}');
	json_open('{');
	json_close('}');
	json_close(']');
	ck_assert_str_eq(captured(),
	    "[{\"a\":1,\"b\":[2,null,\"x\"],\"c\":{}},{}]\n");
}
END_TEST

START_TEST(numbers)
{
	json_open('[');
	json_u64(UINT64_MAX);
	json_i64(-5);
	json_num("18446744073709551615");
	json_num("0");
	json_num("0.000512");
	json_num("1e-06");
	json_num("+Inf");
	json_num("NaN");
	json_num("12abc");
	json_num("");
	json_close(']');
	ck_assert_str_eq(captured(), "[18446744073709551615,-5,"
	    "18446744073709551615,0,0.000512,1e-06,null,null,null,null]\n");
}
END_TEST

START_TEST(samples)
{
	ck_assert_int_eq(json_sample("segd_imports 3"), 0);
	ck_assert_str_eq(captured(),
	    "{\"name\":\"segd_imports\",\"labels\":{},\"value\":3}\n");
	ck_assert_int_eq(json_sample("segd_peer_ops_total{peer=\"b\",op=\"get\"}"
	    " 10"), 0);
	ck_assert_str_eq(captured(), "{\"name\":\"segd_peer_ops_total\","
	    "\"labels\":{\"peer\":\"b\",\"op\":\"get\"},\"value\":10}\n");
	ck_assert_int_eq(json_sample("x_seconds{q=\"a\\\"b\\\\c\\nd\"} 0.5"), 0);
	ck_assert_str_eq(captured(), "{\"name\":\"x_seconds\",\"labels\":"
	    "{\"q\":\"a\\\"b\\\\c\\u000ad\"},\"value\":0.5}\n");
	ck_assert_int_eq(json_sample("a{b=\"c\",} 1"), 0);	/* as the format allows */
	ck_assert_str_eq(captured(),
	    "{\"name\":\"a\",\"labels\":{\"b\":\"c\"},\"value\":1}\n");
	ck_assert_int_eq(json_sample("a:b{} 1"), 0);
	ck_assert_str_eq(captured(),
	    "{\"name\":\"a:b\",\"labels\":{},\"value\":1}\n");
}
END_TEST

/* Each refused, with nothing written. */
START_TEST(samples_malformed)
{
	static const char *const bad[] = {
		"", " 1", "1abc 1", "name", "name ", "name 1 2", "name  1",
		"name{ 1", "name{} ", "name{a} 1", "name{a=} 1", "name{a=\"x} 1",
		"name{a=\"x\"", "name{a=\"x\"} ", "name{a=\"x\",,} 1",
		"name{a=\"x\"b=\"y\"} 1", "name{=\"x\"} 1", "name{1a=\"x\"} 1",
		"name{a=\"\\q\"} 1", "name{a=\"x\"}1", "name 1x", "name abc",
		"na-me 1", "name{a=\"x\",b=\"y\",c=\"z\",d=\"w\",e=\"v\",f=\"u\","
		    "g=\"t\",h=\"s\",i=\"r\"} 1",
		"name{a-b=\"x\"} 1", "name\t1",
	};
	char big[600];
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ck_assert_msg(json_sample(bad[i]) == -1, "accepted '%s'", bad[i]);
		ck_assert_msg(captured()[0] == '\0', "'%s' wrote '%s'", bad[i],
		    got);
	}
	/* a label value longer than the reader keeps */
	snprintf(big, sizeof big, "name{a=\"%0500d\"} 1", 7);
	ck_assert_int_eq(json_sample(big), -1);
	ck_assert_str_eq(captured(), "");
}
END_TEST

void
suite(Suite *s)
{
	ck_tcase(s, "writer", &fix, 0, escapes, utf8, nesting, numbers, NULL);
	ck_tcase(s, "samples", &fix, 0, samples, samples_malformed, NULL);
}
