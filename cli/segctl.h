/*
 * segctl.h: segctl's internal header; prototypes grouped by file.
 */
#ifndef SEGCTL_H
#define SEGCTL_H

#include <stdint.h>
#include <stdio.h>

#define CHUNK (1u << 20)

/* segctl.c: options, errors, numbers */
extern int opt_json;	/* -j: JSON on standard output */
extern int opt_quiet;	/* -q: no progress line */
void     usage(void) __attribute__((noreturn));
/* segctl: NAME: message, and exit 1 */
void     fail(const char *name, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 2, 3)));
uint64_t number(const char *name, const char *what, const char *s);

/* io.c: data in and out: read, write, get, put */
int cmd_read(int argc, char **argv);
int cmd_write(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_put(int argc, char **argv);

/* progress.c: a progress line on a terminal's standard error */
struct progress {
	int      on;		/* stderr is a terminal and no -q */
	int      shown;		/* a line was printed */
	uint64_t total;		/* 0: unknown */
	uint64_t done;
	double   start, last;	/* seconds, monotonic */
};
#define PROGRESS_MIN (64u << 20)	/* shown for more than this */
void progress_start(struct progress *, uint64_t total);
void progress_add(struct progress *, uint64_t n);
void progress_end(struct progress *);

/* show.c: listings and counters, plain or JSON */
int cmd_ls(int argc, char **argv);
int cmd_stat(int argc, char **argv);
int cmd_peers(int argc, char **argv);

/* stats.c: segd's counters, plain, JSON or Prometheus text */
int cmd_stats(int argc, char **argv);

/* json.c: a small JSON writer to standard output */
void json_open(char c);		/* '{' or '[' */
void json_close(char c);	/* '}' or ']'; a newline after the outermost */
void json_key(const char *k);	/* then one value */
void json_str(const char *s);	/* escaped; invalid UTF-8 becomes U+FFFD */
void json_strn(const char *s, size_t n);
void json_u64(uint64_t v);
void json_i64(int64_t v);
void json_null(void);
void json_num(const char *text);	/* a number as segd wrote it */
/* NAME{L="V",...} VALUE as {"name","labels","value"}; -1 if malformed */
int  json_sample(const char *line);

#endif
