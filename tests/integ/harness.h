/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * harness.h: the integration tier's harness.  Every test runs its own segd
 * on a temporary socket and state directory (under one directory per suite
 * run, removed at the end), started through $SEGD_WRAPPER if that is set
 * (make check-valgrind sets it to a valgrind command), with an empty
 * configuration file (-c: the host's /etc/segd.conf plays no part).  segd
 * must exit 0 at SIGTERM; the teardown fails the test otherwise and shows
 * segd's log.
 *
 * Binaries are found in $SEG_BUILD (default build): segd, segctl and the
 * helper programs tests/progs/NAME.
 *
 * Processes the harness starts die with the test (PR_SET_PDEATHSIG), so a
 * failed or timed-out test leaves nothing running.
 */
#ifndef HARNESS_H
#define HARNESS_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

#include "check_main.h"

#define H_PATHMAX 256

/* The running test's segd. */
extern char  h_dir[H_PATHMAX];     /* this test's temporary directory */
extern char  h_sock[H_PATHMAX];    /* segd's socket (also $SEGD_SOCKET) */
extern char  h_state[H_PATHMAX];   /* segd's state directory */
extern char  h_log[H_PATHMAX];     /* segd's stderr */
extern pid_t h_segd;               /* 0 when not running */
/* More options for segd's next start (NULL-terminated; empty by default). */
extern const char *h_segd_opts[16];
/* The file system suites' mount point, h_dir/mnt (set by h_mount_opts). */
extern char  h_mnt[H_PATHMAX + 8];

/*
 * Unchecked fixture, once per tcase: the run's directory (under $TMPDIR),
 * and $SEG_BUILD; h_end unmounts what failed tests left there, removes it.
 */
void h_begin(void);
void h_end(void);
/* Checked fixture: start segd for the test; stop it, it must exit 0. */
void h_setup(void);
void h_teardown(void);
/* h_setup's first half: the test's directory and paths, segd not started. */
void h_prepare(void);

/* Per-test timeout (seconds, scaled under $SEGD_WRAPPER). */
#define H_TIMEOUT_S 120
/* h_begin/h_end and h_setup/h_teardown, for ck_tcase. */
extern const struct ck_fix h_fix;

/* Start segd on h_sock and h_state (again) and wait until it answers. */
void h_segd_start(void);
/* SIGTERM segd and wait for it; fails the test unless it exits 0. */
void h_segd_stop(void);
/* Stop segd and start it again with these options (NULL-terminated) in
 * h_segd_opts; the test sets h_segd_opts[0] = NULL when done with them. */
void h_segd_restart(const char *opt, ...) __attribute__((sentinel));

/* $SEG_BUILD/rel as an absolute path (static buffer, one of four). */
const char *h_path(const char *rel);

/* Run a program to completion. */
struct h_run {
	int    code;		/* exit code, or 128 + signal */
	char  *out, *err;	/* NUL-terminated; free with h_run_free */
	size_t outlen, errlen;
};
/* argv is NULL-terminated; in (inlen bytes) is its standard input. */
int  h_runv(struct h_run *, const char *in, size_t inlen, char *const argv[]);
/* The same, as user and group uid (-1: unchanged, no supplementary groups). */
int  h_runv_as(struct h_run *, int uid, const char *in, size_t inlen,
    char *const argv[]);
/* segctl ARGS... NULL; returns the exit code. */
int  h_segctl(struct h_run *, const char *in, size_t inlen, ...)
    __attribute__((sentinel));
int  h_segctl_as(struct h_run *, int uid, const char *in, size_t inlen, ...)
    __attribute__((sentinel));
void h_run_free(struct h_run *);

/* A program running alongside the test, with pipes to its stdin/stdout. */
struct h_proc {
	pid_t pid;
	int   in, out;	/* write to its stdin; read its stdout */
};
void h_spawnv(struct h_proc *, char *const argv[]);
/* tests/progs/segpeer ARGS... NULL */
void h_peer(struct h_proc *, ...) __attribute__((sentinel));
/* One line of its output (without the newline); -1 on EOF or timeout. */
int  h_readline(struct h_proc *, char *buf, size_t size, int timeout_ms);
void h_writeline(struct h_proc *, const char *line);
/* How long a helper program may take to answer (ms, scaled). */
int  h_peer_ms(void);
/* Its next line is exactly want. */
void h_expect(struct h_proc *, const char *want);
/* Wait for it (bounded); its exit code, or 128 + signal. */
int  h_wait(struct h_proc *, int timeout_ms);

/*
 * Run fn in a forked child (which makes its own segd connection).  It fails
 * with h_cfail(); returning means success.  Returns the raw wait status;
 * msg gets what the child reported.  CK_CHILD asserts it passed.
 */
int  h_child(void (*fn)(void *), void *arg, char *msg, size_t msgsize);
/* The same in two halves: h_start runs fn in a child; h_finish waits. */
struct h_kid {
	pid_t pid;
	int   report, ready;	/* the child's messages; its h_ready */
};
void h_start(struct h_kid *, void (*fn)(void *), void *arg);
int  h_finish(struct h_kid *, char *msg, size_t msgsize);
/* h_finish, and the child passed, or the test fails naming what. */
void h_finish_ok(struct h_kid *, const char *what);
/* In the child: tell the parent it is ready (e.g. after its open). */
void h_ready(void);
/*
 * Wait until the child said h_ready and is then seen asleep (state S) in
 * read(2) on descriptor fd (-1: any); 0 if not within ms.
 */
int  h_blocked_in_read(struct h_kid *, int fd, int ms);
void h_cfail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
#define H_CCHECK(cond, ...) do { if (!(cond)) h_cfail(__VA_ARGS__); } while (0)
#define CK_CHILD(fn, arg) do {						\
	struct h_kid ck_kid_;						\
	h_start(&ck_kid_, (fn), (arg));					\
	h_finish_ok(&ck_kid_, #fn);					\
} while (0)

/* Poll pred(arg) every 10 ms until it returns nonzero, for at most ms. */
int  h_until(int (*pred)(void *), void *arg, int ms);

/* dir's entries but . and .., sorted (strcmp), one a line; free it. */
char *h_listing(const char *dir);
/* dir's listing is want (from h_listing), or the test fails showing both. */
void h_same_listing(const char *dir, const char *want);
/* segd's log so far (its first MiB), NUL-terminated; free it. */
char *h_log_read(void);
/* Whether segd's log has s in it (logs are written line by line); the same
 * as an h_until predicate; H_LOG_HAS: the log says s within 5 s. */
int  h_log_has(const char *s);
int  h_log_pred(void *s);
#define H_LOG_HAS(s) ck_assert_msg(h_until(h_log_pred, (void *)(s), 5000), \
	"segd's log does not say '%s'", (s))

/* The file system suites: root and a usable /dev/fuse, or the test fails;
 * h_segd_opts set to mount at h_mnt; the fixture that does both, h_prepare
 * and h_segd_start, and its teardown (h_teardown, h_segd_opts cleared). */
void h_need_root_fuse(void);
void h_mount_opts(void);
void h_fs_setup(void);
void h_fs_teardown(void);
extern const struct ck_fix h_fs_fix;	/* h_fs_setup, h_fs_teardown */
/* h_mnt/rel (static buffer, one of eight, shared with h_in). */
const char *h_mnt_path(const char *rel);
/* Make segment name in the mount (mkdir with mode, ctl written), or fail. */
void h_fs_mkseg(const char *name, unsigned mode, const char *ctl);
/* Read path into buf (at most size - 1 bytes, NUL-terminated): the length
 * read, or -1 with errno. */
ssize_t h_read_file(const char *path, char *buf, size_t size);
/* The uid of "nobody" (65534 where there is none). */
uid_t h_nobody_uid(void);
/* dir/rel, or the test fails if too long (static buffer, one of eight). */
const char *h_in(const char *dir, const char *rel);

/* Create name with mode and write its ctl, or fail the test. */
void h_make_seg(const char *name, unsigned mode, const char *ctl);
/* segd's view of a segment's attach count (seg_stat), -1 if it fails. */
int  h_nattach(const char *name);
/* The line for name in `segctl ls` output, copied into line; 0 if found. */
int  h_ls_line(const char *lsout, const char *name, char *line, size_t size);
/* Whether the process has a mapping containing addr; its perms in perms[5]. */
int  h_mapped(pid_t pid, unsigned long addr, char perms[5]);
/* segd's resident memory in KiB (under a wrapper, the wrapper's: it runs as
 * segd), or the test fails. */
long h_segd_rss_kib(void);

/* Raw clients of segd's socket; unchecked (no ck_assert), for children too. */
/* A connection that has not said its protocol version yet; -1 on failure. */
int    h_raw_connect(void);
/* A request for op on name (arg its number), framed into buf: its length, 0
 * if it does not fit. */
size_t h_req_frame(uint8_t *buf, size_t size, uint16_t op, const char *name,
    uint32_t arg);
/* Whether segd closed fd (EOF or reset) within ms. */
int    h_closed_by_segd(int fd, int ms);

/* Zero-copy helpers of the zring and zread suites. */
/*
 * A ring segd shares with this process (op SEGW_ZRING or SEGW_ZREAD, of
 * segment name or "" for none): its memory (descriptor mem_arg, checked to
 * be sealed), size bytes mapped, and its eventfd (kick_arg) in *efd; a
 * child's check (H_CCHECK) fails otherwise.
 */
void    *h_ring_map(uint16_t op, const char *name, uint32_t mem_arg,
    uint32_t kick_arg, size_t size, int *efd);
/* umsg segment name at va, len bytes, made (mode 0644); a 64-byte buffer
 * of it allocated here.  The test fails on an error. */
void     h_umsg(const char *name, uint64_t va, uint64_t len);
uint64_t h_zalloc64(const char *name);
/*
 * n 64-byte buffers of umsg segment name (its pool held here) returned one
 * a call with seg_zfree (how & H_RATE_ASYNC: seg_zfree_async, until every
 * outcome was read, each applied) and read back with seg_free_read: per
 * second, the reads timed too if how & H_RATE_READS.  The test fails on an
 * error.
 */
#define H_RATE_READS 1
#define H_RATE_ASYNC 2
double   h_zfree_rate(const char *name, int n, int how);
struct seg_zoutcome;
/* Outcomes of asynchronous returns into o, until n were read or ms passed
 * (looking again each 100 ms, segd's exit being seen only then): how many. */
int      h_outcomes(struct seg_zoutcome *o, int n, int ms);
/* Wait (at most 60 s) until the child said h_ready; the test fails if not. */
void     h_wait_ready(struct h_kid *);
/*
 * Fairness beside a hostile client: after a round of n / 3 to warm up,
 * h_zfree_rate(name, n, how) quiet, then with flood running in a
 * child (from its h_ready on, killed after), best of five rounds (or until
 * one reaches it): the test fails unless the flooded rate is at least half
 * of the quiet one.  Each round's figures go to stderr after what.
 */
void     h_flood_fair(const char *name, int how, int n,
    void (*flood)(void *), const char *what);

#endif
