/*
 * json.c: a small JSON writer for segctl -j.  Values go to standard output
 * with the commas and nesting they need; strings are escaped (quotes,
 * backslashes, control characters) and bytes that are not valid UTF-8 are
 * written as U+FFFD, so the output always parses.  json_sample turns one
 * sample line of the Prometheus text format (segd's metrics) into an
 * object, checking it as any input.
 */
#include <ctype.h>
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
	if (depth > 0 && !after_key && need_comma[depth])
		putchar(',');	/* top-level values are documents of their own */
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

#define NAMECH "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
#define SAMPLE_LABELS 8

struct label {
	char   key[64], val[256];
	size_t vl;
};

/* L="V" at *sp into l (the value unescaped: \\, \", \n); -1 if malformed */
static int
label_parse(const char **sp, struct label *l)
{
	const char *s = *sp;
	size_t kl = strspn(s, NAMECH);

	if (kl == 0 || kl >= sizeof l->key || isdigit((unsigned char)s[0]) ||
	    s[kl] != '=' || s[kl + 1] != '"')
		return -1;
	memcpy(l->key, s, kl);
	l->key[kl] = '\0';
	l->vl = 0;
	for (s += kl + 2; *s != '"'; s++) {
		if (*s == '\0' || l->vl + 1 >= sizeof l->val)
			return -1;
		if (*s == '\\') {
			s++;
			if (*s != '\\' && *s != '"' && *s != 'n')
				return -1;
			l->val[l->vl++] = *s == 'n' ? '\n' : *s;
		} else
			l->val[l->vl++] = *s;
	}
	*sp = s + 1;
	return 0;
}

/*
 * One sample, NAME{L="V",...} VALUE, as a JSON object, written only once
 * the whole line is known to be well formed.  -1, writing nothing, if not.
 */
int
json_sample(const char *s)
{
	struct label lab[SAMPLE_LABELS];
	const char *name = s, *value;
	size_t nl = strspn(s, NAMECH ":"), nlab = 0, i;
	char *end;

	if (nl == 0 || isdigit((unsigned char)s[0]) ||
	    (s[nl] != '{' && s[nl] != ' '))
		return -1;
	s += nl;
	if (*s == '{') {
		s++;
		while (*s != '}') {
			if (nlab == SAMPLE_LABELS || label_parse(&s, &lab[nlab]) < 0)
				return -1;
			nlab++;
			if (*s == ',')
				s++;
			else if (*s != '}')
				return -1;
		}
		s++;
	}
	if (*s++ != ' ' || *s == '\0' || strchr(s, ' ') != NULL)
		return -1;
	value = s;
	strtod(value, &end);
	if (end == value || *end != '\0')
		return -1;
	json_open('{');
	json_key("name"), json_strn(name, nl);
	json_key("labels"), json_open('{');
	for (i = 0; i < nlab; i++)
		json_key(lab[i].key), json_strn(lab[i].val, lab[i].vl);
	json_close('}');
	json_key("value"), json_num(value);
	json_close('}');
	return 0;
}
