/*
 * json.c: a small JSON writer for segctl -j.  Values go to standard output
 * with the commas and nesting they need; strings are escaped (quotes,
 * backslashes, control characters) and bytes that are not valid UTF-8 are
 * written as U+FFFD, so the output always parses.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segctl.h"

#define JSON_DEPTH 16

static int need_comma[JSON_DEPTH + 1], depth, after_key;

/* a comma before this value when it is not the first of its container */
static void
value_prefix(void)
{
	if (!after_key && need_comma[depth])
		putchar(',');
	need_comma[depth] = 1;
	after_key = 0;
}

void
json_open(char c)
{
	value_prefix();
	putchar(c);
	if (depth < JSON_DEPTH)
		depth++;
	need_comma[depth] = 0;
}

void
json_close(char c)
{
	putchar(c);
	if (depth > 0)
		depth--;
	if (depth == 0)
		putchar('\n');
}

/* The length of the valid UTF-8 sequence at s (n bytes left), 0 if none. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates, beyond U+10FFFF */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

void
json_strn(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, l;

	value_prefix();
	putchar('"');
	while (i < n) {
		unsigned char c = s[i];
		if (c == '"' || c == '\\') {
			putchar('\\');
			putchar(c);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			printf("\\u%04x", c);
			i++;
		} else if ((l = utf8_len(s + i, n - i)) == 0) {
			fputs("\\ufffd", stdout);
			i++;
		} else {
			fwrite(s + i, 1, l, stdout);
			i += l;
		}
	}
	putchar('"');
}

void
json_str(const char *s)
{
	json_strn(s, strlen(s));
}

void
json_key(const char *k)
{
	json_str(k);
	putchar(':');
	after_key = 1;
}

void
json_u64(uint64_t v)
{
	value_prefix();
	printf("%llu", (unsigned long long)v);
}

void
json_i64(int64_t v)
{
	value_prefix();
	printf("%lld", (long long)v);
}

void
json_null(void)
{
	value_prefix();
	fputs("null", stdout);
}

/* digits only: exactly, as an integer; else a finite double, or null */
void
json_num(const char *text)
{
	char *end;
	double d;

	if (*text != '\0' && text[strspn(text, "0123456789")] == '\0' &&
	    strlen(text) <= 20) {
		json_u64(strtoull(text, NULL, 10));
		return;
	}
	d = strtod(text, &end);
	if (end == text || *end != '\0' || !isfinite(d)) {
		json_null();
		return;
	}
	value_prefix();
	printf("%.9g", d);
}
