/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/* benchlib: see benchlib.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchlib.h"

#define SLURP_MAX (1 << 16)

char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n;

	if (f == NULL)
		return NULL;
	if ((buf = calloc(1, SLURP_MAX)) != NULL) {
		n = fread(buf, 1, SLURP_MAX - 1, f);
		buf[n] = '\0';
	}
	fclose(f);
	return buf;
}

int
pt_num(const char *json, const char *test, const char *field, double *v)
{
	char pat[128];
	const char *p, *end;
	char *e;

	if (json == NULL)
		return -1;
	snprintf(pat, sizeof pat, "\"%s\":", test);
	if ((p = strstr(json, pat)) == NULL)
		return -1;
	p += strlen(pat);
	while (*p == ' ')
		p++;
	if (*p != '{' || (end = strchr(p, '}')) == NULL)
		return -1;
	snprintf(pat, sizeof pat, "\"%s\":", field);
	if ((p = strstr(p, pat)) == NULL || p > end)
		return -1;
	p += strlen(pat);
	*v = strtod(p, &e);
	return e == p ? -1 : 0;	/* "null" parses as nothing */
}

int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double
median(double *v, size_t n)
{
	qsort(v, n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double
pct(const double *v, size_t n, double q)
{
	size_t k = (size_t)(q * (double)n + 0.999999);

	if (k == 0)
		k = 1;
	if (k > n)
		k = n;
	return v[k - 1];
}

void
json_num(FILE *f, int have, double v, int prec)
{
	if (have)
		fprintf(f, "%.*g", prec, v);
	else
		fputs("null", f);
}
