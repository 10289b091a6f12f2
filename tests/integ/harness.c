/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * harness.c: start and stop a real segd per test, run segctl and helper
 * programs, and run checks in forked children.  See harness.h.
 */
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "libseg.h"
#include "segwire.h"

char  h_dir[H_PATHMAX];
char  h_sock[H_PATHMAX];
char  h_state[H_PATHMAX];
char  h_log[H_PATHMAX];
pid_t h_segd;
const char *h_segd_opts[16];
char  h_mnt[H_PATHMAX + 8];

static char h_root[H_PATHMAX];		/* one directory per suite run */
static char h_build[PATH_MAX];		/* absolute $SEG_BUILD */
static char h_why[PATH_MAX + 64];	/* why h_begin made no h_root */
static unsigned h_nrun;			/* names the files of h_runv */
static int  h_cfd = -1;			/* h_start's report pipe, in the child */
static int  h_rfd = -1;			/* and its ready pipe */

/* a then b into dst, or fail the test: paths are never cut short */
static void
pathcat(char *dst, size_t size, const char *a, const char *b)
{
	int n = snprintf(dst, size, "%s%s", a, b);

	ck_assert_msg(n >= 0 && (size_t)n < size, "path too long: %s%s", a, b);
}

/* Bounds: generous, and scaled when segd runs under valgrind. */
static int
start_limit_ms(void)
{
	return ck_scale(20000);
}

static int
stop_limit_ms(void)
{
	return ck_scale(20000);
}

const struct ck_fix h_fix = {
	.setup = h_setup, .teardown = h_teardown,
	.usetup = h_begin, .uteardown = h_end,
};
const struct ck_fix h_fs_fix = {
	.setup = h_fs_setup, .teardown = h_fs_teardown,
	.usetup = h_begin, .uteardown = h_end,
};

const char *
h_path(const char *rel)
{
	static char buf[4][PATH_MAX];
	static int i;
	char *b = buf[i++ % 4];

	int n = snprintf(b, PATH_MAX, "%s/%s", h_build, rel);

	ck_assert_msg(n > 0 && n < PATH_MAX, "path too long: %s", rel);
	return b;
}

/* The last part of segd's log on stderr: what went wrong, valgrind's report. */
static void
dump_log(void)
{
	char buf[16384];
	ssize_t n;
	off_t size;
	int fd = open(h_log, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	lseek(fd, size > (off_t)sizeof buf ? size - (off_t)sizeof buf : 0,
	    SEEK_SET);
	fprintf(stderr, "---- segd log (%s) ----\n", h_log);
	while ((n = read(fd, buf, sizeof buf)) > 0)
		fwrite(buf, 1, (size_t)n, stderr);
	fprintf(stderr, "---- end of segd log ----\n");
	close(fd);
}

static int
try_connect(const char *path)
{
	struct sockaddr_un sun;
	int fd, ok;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path)
		return 0;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return 0;
	ok = connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0;
	close(fd);
	return ok;
}

/* In a child the harness starts: die with the test, never outlive it. */
static void
die_with_parent(pid_t parent)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
}

/* fork; the child dies with this process.  Its pid, 0 in the child. */
static pid_t
fork_child(void)
{
	pid_t parent = getpid(), pid = fork();

	ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0)
		die_with_parent(parent);
	return pid;
}

/* An empty configuration file in the test's directory. */
static char *
noconf(void)
{
	static char path[H_PATHMAX];
	int fd;

	pathcat(path, sizeof path, h_dir, "/empty.conf");
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
	close(fd);
	return path;
}

void
h_segd_start(void)
{
	const char *segd = h_path("segd");
	pid_t pid;
	long deadline;
	int st;

	char *argv[32];
	int n = 0, i;

	ck_assert_msg(h_segd == 0, "segd is already running");
	ck_assert_msg(access(segd, X_OK) == 0, "no segd at %s: build it first "
	    "(SEG_BUILD=%s)", segd, h_build);
	if (ck_wrapped()) {	/* sh -c 'exec $SEGD_WRAPPER "$@"' sh segd ... */
		argv[n++] = "/bin/sh";
		argv[n++] = "-c";
		argv[n++] = "exec $SEGD_WRAPPER \"$@\"";
		argv[n++] = "sh";
	}
	argv[n++] = (char *)segd;
	argv[n++] = "-f";
	argv[n++] = "-c";	/* an empty file: never the host's /etc/segd.conf */
	argv[n++] = noconf();
	argv[n++] = "-s";
	argv[n++] = h_sock;
	argv[n++] = "-d";
	argv[n++] = h_state;
	for (i = 0; h_segd_opts[i] != NULL && n < 31; i++)
		argv[n++] = (char *)h_segd_opts[i];
	argv[n] = NULL;
	pid = fork_child();
	if (pid == 0) {
		int fd = open(h_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
		    0644);
		int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);

		if (fd < 0 || nul < 0 || dup2(nul, 0) < 0 || dup2(fd, 1) < 0 ||
		    dup2(fd, 2) < 0)
			_exit(127);
		execv(argv[0], argv);
		_exit(127);
	}
	h_segd = pid;
	deadline = ck_now_ms() + start_limit_ms();
	for (;;) {
		if (waitpid(pid, &st, WNOHANG) == pid) {
			h_segd = 0;
			dump_log();
			ck_abort_msg("segd exited at start-up (status %#x); log "
			    "above", st);
		}
		if (try_connect(h_sock))
			break;
		if (ck_now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			h_segd = 0;
			dump_log();
			ck_abort_msg("segd did not accept connections on %s "
			    "within %d ms", h_sock, start_limit_ms());
		}
		ck_sleep_ms(10);
	}
}

void
h_segd_stop(void)
{
	pid_t pid = h_segd;
	long deadline;
	int st;

	ck_assert_msg(pid > 0, "segd is not running");
	ck_assert_msg(kill(pid, SIGTERM) == 0, "kill segd: %s",
	    strerror(errno));
	deadline = ck_now_ms() + stop_limit_ms();
	while (waitpid(pid, &st, WNOHANG) != pid) {
		if (ck_now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			h_segd = 0;
			dump_log();
			ck_abort_msg("segd did not exit within %d ms of SIGTERM",
			    stop_limit_ms());
		}
		ck_sleep_ms(10);
	}
	h_segd = 0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		dump_log();
		if (WIFSIGNALED(st))
			ck_abort_msg("segd died of signal %d at SIGTERM; log above",
			    WTERMSIG(st));
		ck_abort_msg("segd exited %d at SIGTERM, not 0%s; log above",
		    WEXITSTATUS(st), WEXITSTATUS(st) == 99 ?
		    " (valgrind found errors or leaks)" : "");
	}
	ck_assert_msg(access(h_sock, F_OK) < 0, "segd left its socket %s",
	    h_sock);
}

void
h_segd_restart(const char *opt, ...)
{
	va_list ap;
	int i = 0;

	h_segd_stop();
	va_start(ap, opt);
	for (; opt != NULL && i < 15; opt = va_arg(ap, const char *))
		h_segd_opts[i++] = opt;
	va_end(ap);
	h_segd_opts[i] = NULL;
	h_segd_start();
}

/* Mounts left under dir by a test that killed segd: detached. */
static void
unmount_under(const char *dir)
{
	char line[4096], mp[4096];
	size_t n = strlen(dir);
	FILE *f = fopen("/proc/self/mountinfo", "re");

	if (f == NULL)
		return;
	while (fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1 &&
		    strncmp(mp, dir, n) == 0 && mp[n] == '/') {
			fprintf(stderr, "harness: unmounting %s, left by a "
			    "failed test\n", mp);
			umount2(mp, MNT_DETACH);
		}
	fclose(f);
}

static int
rm_one(const char *path, const struct stat *sb, int type, struct FTW *f)
{
	(void)sb;
	(void)f;
	if (type == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

static void
rm_tree(const char *dir)
{
	if (dir[0] != '\0')
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

void
h_prepare(void)
{
	ck_assert_msg(h_root[0] != '\0', "no directory for the run: %s",
	    h_why);
	pathcat(h_dir, sizeof h_dir, h_root, "/t.XXXXXX");
	ck_assert_msg(mkdtemp(h_dir) != NULL, "mkdtemp %s: %s", h_dir,
	    strerror(errno));
	/* other users (the refused-user test) must reach the socket */
	chmod(h_dir, 0711);
	pathcat(h_sock, sizeof h_sock, h_dir, "/sock");
	pathcat(h_state, sizeof h_state, h_dir, "/state");
	pathcat(h_log, sizeof h_log, h_dir, "/segd.log");
	setenv("SEGD_SOCKET", h_sock, 1);
	h_segd = 0;
}

void
h_setup(void)
{
	h_prepare();
	h_segd_start();
}

void
h_teardown(void)
{
	if (h_segd > 0)
		h_segd_stop();
	unmount_under(h_dir);
	rm_tree(h_dir);
}

/* ---- running programs ---- */

static char *
slurp(const char *path, size_t *lenp)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (f != NULL) {
		for (;;) {
			if (cap - len < 65536) {
				cap = cap ? cap * 2 : 65536;
				buf = realloc(buf, cap + 1);
				ck_assert_ptr_nonnull(buf);
			}
			n = fread(buf + len, 1, cap - len, f);
			len += n;
			if (n == 0)
				break;
		}
		fclose(f);
	}
	if (buf == NULL) {
		buf = malloc(1);
		ck_assert_ptr_nonnull(buf);
	}
	buf[len] = '\0';
	*lenp = len;
	return buf;
}

static int
exit_code(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return -1;
}

static int
wait_bounded(pid_t pid, int timeout_ms)
{
	long deadline = ck_now_ms() + timeout_ms;
	int st;

	while (waitpid(pid, &st, WNOHANG) != pid) {
		if (ck_now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -1;
		}
		ck_sleep_ms(5);
	}
	return exit_code(st);
}

int
h_runv(struct h_run *r, const char *in, size_t inlen, char *const argv[])
{
	return h_runv_as(r, -1, in, inlen, argv);
}

int
h_runv_as(struct h_run *r, int uid, const char *in, size_t inlen,
    char *const argv[])
{
	char fin[H_PATHMAX + 32], fout[H_PATHMAX + 32], ferr[H_PATHMAX + 32];
	pid_t pid;
	unsigned n = h_nrun++;
	FILE *f;

	memset(r, 0, sizeof *r);
	snprintf(fin, sizeof fin, "%s/run%u.in", h_dir, n);
	snprintf(fout, sizeof fout, "%s/run%u.out", h_dir, n);
	snprintf(ferr, sizeof ferr, "%s/run%u.err", h_dir, n);
	f = fopen(fin, "we");
	ck_assert_msg(f != NULL, "create %s: %s", fin, strerror(errno));
	if (inlen > 0)
		ck_assert_uint_eq(fwrite(in, 1, inlen, f), inlen);
	ck_assert_int_eq(fclose(f), 0);
	/* files readable by another user, for children that changed uid */
	chmod(fin, 0644);
	pid = fork_child();
	if (pid == 0) {
		int i = open(fin, O_RDONLY | O_CLOEXEC);
		int o = open(fout, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
		int e = open(ferr, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);

		if (i < 0 || o < 0 || e < 0 || dup2(i, 0) < 0 || dup2(o, 1) < 0 ||
		    dup2(e, 2) < 0)
			_exit(126);
		if (uid >= 0 && (setgroups(0, NULL) < 0 ||
		    setgid((gid_t)uid) < 0 || setuid((uid_t)uid) < 0))
			_exit(125);
		execv(argv[0], argv);
		_exit(127);
	}
	r->code = wait_bounded(pid, ck_scale(60000));
	ck_assert_msg(r->code >= 0, "%s did not finish in time", argv[0]);
	r->out = slurp(fout, &r->outlen);
	r->err = slurp(ferr, &r->errlen);
	unlink(fin);
	unlink(fout);
	unlink(ferr);
	return r->code;
}

static int
segctl_va(struct h_run *r, int uid, const char *in, size_t inlen, va_list ap)
{
	char *argv[16];
	int n = 0;

	argv[n++] = (char *)h_path("segctl");
	while (n < 15 && (argv[n] = va_arg(ap, char *)) != NULL)
		n++;
	argv[n] = NULL;
	return h_runv_as(r, uid, in, inlen, argv);
}

int
h_segctl(struct h_run *r, const char *in, size_t inlen, ...)
{
	va_list ap;
	int code;

	va_start(ap, inlen);
	code = segctl_va(r, -1, in, inlen, ap);
	va_end(ap);
	return code;
}

int
h_segctl_as(struct h_run *r, int uid, const char *in, size_t inlen, ...)
{
	va_list ap;
	int code;

	va_start(ap, inlen);
	code = segctl_va(r, uid, in, inlen, ap);
	va_end(ap);
	return code;
}

void
h_run_free(struct h_run *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

/*
 * Two pipes (close-on-exec), then fork_child.  Pipe a runs to the child
 * when a_down (else from it), pipe b from the child.  Each process closes
 * the other's ends and gets its own in *a and *b.
 */
static pid_t
fork_piped(int *a, int *b, int a_down)
{
	int pa[2], pb[2], ca = a_down ? 0 : 1;	/* the child's end of a */
	pid_t pid;

	ck_assert_int_eq(pipe2(pa, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(pb, O_CLOEXEC), 0);
	pid = fork_child();
	if (pid == 0) {
		close(pa[1 - ca]);
		close(pb[0]);
		*a = pa[ca];
		*b = pb[1];
	} else {
		close(pa[ca]);
		close(pb[1]);
		*a = pa[1 - ca];
		*b = pb[0];
	}
	return pid;
}

void
h_spawnv(struct h_proc *p, char *const argv[])
{
	p->pid = fork_piped(&p->in, &p->out, 1);
	if (p->pid == 0) {
		if (dup2(p->in, 0) < 0 || dup2(p->out, 1) < 0)
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
}

void
h_peer(struct h_proc *p, ...)
{
	char *argv[32];
	va_list ap;
	int n = 0;

	argv[n++] = (char *)h_path("tests/progs/segpeer");
	va_start(ap, p);
	while (n < 31 && (argv[n] = va_arg(ap, char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	ck_assert_msg(access(argv[0], X_OK) == 0, "no helper %s", argv[0]);
	h_spawnv(p, argv);
}

int
h_readline(struct h_proc *p, char *buf, size_t size, int timeout_ms)
{
	long deadline = ck_now_ms() + timeout_ms;
	size_t n = 0;

	while (n + 1 < size) {
		struct pollfd pfd = { p->out, POLLIN, 0 };
		long left = deadline - ck_now_ms();
		char c;
		ssize_t r;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			break;
		r = read(p->out, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (c == '\n') {
			buf[n] = '\0';
			return (int)n;
		}
		buf[n++] = c;
	}
	buf[n] = '\0';
	return -1;
}

void
h_writeline(struct h_proc *p, const char *line)
{
	size_t n = strlen(line);

	ck_assert_int_eq(write(p->in, line, n), (ssize_t)n);
	ck_assert_int_eq(write(p->in, "\n", 1), 1);
}

int
h_peer_ms(void)
{
	return ck_scale(30000);
}

void
h_expect(struct h_proc *p, const char *want)
{
	char line[4096];

	ck_assert_msg(h_readline(p, line, sizeof line, h_peer_ms()) >= 0,
	    "helper %d: expected '%s', got '%s' and then nothing",
	    (int)p->pid, want, line);
	ck_assert_str_eq(line, want);
}

int
h_wait(struct h_proc *p, int timeout_ms)
{
	int code = wait_bounded(p->pid, timeout_ms);

	close(p->in);
	close(p->out);
	p->pid = 0;
	return code;
}

/* ---- checks in children ---- */

void
h_cfail(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof buf - 1)
		n = (int)sizeof buf - 1;
	if (h_cfd >= 0 && n > 0 && write(h_cfd, buf, (size_t)n) < 0)
		_exit(2);
	_exit(1);
}

void
h_start(struct h_kid *k, void (*fn)(void *), void *arg)
{
	int report, ready;

	k->pid = fork_piped(&report, &ready, 0);
	if (k->pid == 0) {
		h_cfd = report;
		h_rfd = ready;
		fn(arg);
		_exit(0);
	}
	k->report = report;
	k->ready = ready;
}

void
h_ready(void)
{
	if (h_rfd < 0 || write(h_rfd, "r", 1) != 1)
		h_cfail("h_ready: no parent to tell: %s", strerror(errno));
}

/* Wait (bounded) until fd is readable; then read what comes, up to size. */
static ssize_t
read_bounded(int fd, char *buf, size_t size, long deadline)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	long left;
	ssize_t r;

	do {
		left = deadline - ck_now_ms();
		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return -2;
		r = read(fd, buf, size);
	} while (r < 0 && errno == EINTR);
	return r;
}

int
h_finish(struct h_kid *k, char *msg, size_t msgsize)
{
	long deadline = ck_now_ms() + ck_scale(60000);
	size_t n = 0;
	int st;

	while (n < msgsize - 1) {
		ssize_t r = read_bounded(k->report, msg + n, msgsize - 1 - n,
		    deadline);
		if (r == -2)
			kill(k->pid, SIGKILL);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	msg[n] = '\0';
	close(k->report);
	close(k->ready);
	waitpid(k->pid, &st, 0);
	k->pid = 0;
	return st;
}

void
h_finish_ok(struct h_kid *k, const char *what)
{
	char msg[1024];
	int st = h_finish(k, msg, sizeof msg);

	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child %s: %s",
	    what, msg[0] ? msg : "died");
}

int
h_child(void (*fn)(void *), void *arg, char *msg, size_t msgsize)
{
	struct h_kid k;

	h_start(&k, fn, arg);
	return h_finish(&k, msg, msgsize);
}

/* The first numbers of /proc/PID/syscall: the call it sleeps in, and its fd. */
static int
in_read(pid_t pid, int fd)
{
	char path[64], st[512], *p;
	long nr = -1;
	unsigned long arg0 = 0;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "re")) == NULL)
		return 0;
	p = fgets(st, sizeof st, f);
	fclose(f);
	/* "PID (comm) S ...": the state follows the last ')' */
	if (p == NULL || (p = strrchr(st, ')')) == NULL || p[1] != ' ' ||
	    p[2] != 'S')
		return 0;
	snprintf(path, sizeof path, "/proc/%d/syscall", (int)pid);
	if ((f = fopen(path, "re")) == NULL)
		return 0;
	if (fscanf(f, "%ld %lx", &nr, &arg0) != 2)
		nr = -1;
	fclose(f);
	return nr == SYS_read && (fd < 0 || arg0 == (unsigned long)fd);
}

int
h_blocked_in_read(struct h_kid *k, int fd, int ms)
{
	long deadline = ck_now_ms() + ms;
	char c;

	if (read_bounded(k->ready, &c, 1, deadline) != 1)
		return 0;
	while (!in_read(k->pid, fd)) {
		if (ck_now_ms() > deadline)
			return 0;
		ck_sleep_ms(5);
	}
	return 1;
}

/* ---- observations ---- */

int
h_until(int (*pred)(void *), void *arg, int ms)
{
	long deadline = ck_now_ms() + ms;

	for (;;) {
		if (pred(arg))
			return 1;
		if (ck_now_ms() > deadline)
			return 0;
		ck_sleep_ms(10);
	}
}

static int
cmp_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

char *
h_listing(const char *dir)
{
	struct dirent **ents;
	char *out = NULL;
	size_t len = 0;
	FILE *f;
	int n, i;

	n = scandir(dir, &ents, NULL, cmp_name);
	ck_assert_msg(n >= 0, "scandir %s: %s", dir, strerror(errno));
	f = open_memstream(&out, &len);
	ck_assert_ptr_nonnull(f);
	for (i = 0; i < n; i++) {
		if (strcmp(ents[i]->d_name, ".") != 0 &&
		    strcmp(ents[i]->d_name, "..") != 0)
			fprintf(f, "%s\n", ents[i]->d_name);
		free(ents[i]);
	}
	free(ents);
	ck_assert_int_eq(fclose(f), 0);
	return out;
}

void
h_same_listing(const char *dir, const char *want)
{
	char *now = h_listing(dir);

	ck_assert_msg(strcmp(now, want) == 0, "%s holds\n%swhere it should "
	    "hold\n%s", dir, now, want);
	free(now);
}

char *
h_log_read(void)
{
	char *buf = calloc(1, 1 << 20);
	FILE *f = fopen(h_log, "re");
	size_t n = 0;

	ck_assert_ptr_nonnull(buf);
	if (f != NULL) {
		n = fread(buf, 1, (1 << 20) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

int
h_log_has(const char *s)
{
	char *buf = h_log_read();
	int found = strstr(buf, s) != NULL;

	free(buf);
	return found;
}

int
h_log_pred(void *arg)
{
	return h_log_has(arg);
}

void
h_need_root_fuse(void)
{
	ck_assert_msg(access("/dev/fuse", R_OK | W_OK) == 0, "no usable "
	    "/dev/fuse: %s", strerror(errno));
	ck_assert_msg(geteuid() == 0, "the file system tests run as root (the "
	    "mount is allow_other, and some tests change uid, mount or chown)");
}

void
h_mount_opts(void)
{
	ck_assert(snprintf(h_mnt, sizeof h_mnt, "%s/mnt", h_dir) <
	    (int)sizeof h_mnt);	/* segd makes it */
	h_segd_opts[0] = "-m";
	h_segd_opts[1] = h_mnt;
	h_segd_opts[2] = NULL;
}

void
h_fs_setup(void)
{
	h_need_root_fuse();
	h_prepare();
	h_mount_opts();
	h_segd_start();
}

void
h_fs_teardown(void)
{
	h_teardown();		/* unmounts a mount a test left stale */
	h_segd_opts[0] = NULL;
}

const char *
h_in(const char *dir, const char *rel)
{
	static char buf[8][H_PATHMAX + 128];
	static int i;
	char *b = buf[i++ % 8];
	int n = snprintf(b, sizeof buf[0], "%s/%s", dir, rel);

	ck_assert_msg(n > 0 && (size_t)n < sizeof buf[0], "path too long: "
	    "%s/%s", dir, rel);
	return b;
}

ssize_t
h_read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY), err;
	ssize_t n = 0, tot = 0;

	if (fd < 0)
		return -1;
	while ((size_t)tot + 1 < size &&
	    (n = read(fd, buf + tot, size - 1 - (size_t)tot)) > 0)
		tot += n;
	err = errno;
	close(fd);
	errno = err;
	if (n < 0)
		return -1;
	buf[tot] = '\0';
	return tot;
}

void
h_fs_mkseg(const char *name, unsigned mode, const char *ctl)
{
	char rel[128];
	int fd;
	ssize_t n;

	ck_assert_msg(mkdir(h_mnt_path(name), mode) == 0, "mkdir %s: %s", name,
	    strerror(errno));
	snprintf(rel, sizeof rel, "%s/ctl", name);
	fd = open(h_mnt_path(rel), O_WRONLY | O_TRUNC);
	ck_assert_msg(fd >= 0, "open %s: %s", rel, strerror(errno));
	n = write(fd, ctl, strlen(ctl));
	ck_assert_msg(n == (ssize_t)strlen(ctl), "write '%s' to %s: %s", ctl,
	    rel, strerror(errno));
	close(fd);
}

uid_t
h_nobody_uid(void)
{
	struct passwd *pw = getpwnam("nobody");

	return pw != NULL ? pw->pw_uid : 65534;
}

const char *
h_mnt_path(const char *rel)
{
	return h_in(h_mnt, rel);
}

void
h_make_seg(const char *name, unsigned mode, const char *ctl)
{
	ck_assert_msg(seg_create(name, mode) == 0, "create %s: %s", name,
	    seg_errstr());
	ck_assert_msg(seg_ctl(name, ctl) == 0, "ctl %s '%s': %s", name, ctl,
	    seg_errstr());
}

int
h_nattach(const char *name)
{
	struct seg_info si;

	if (seg_stat(name, &si) < 0)
		return -1;
	return (int)si.nattach;
}

int
h_ls_line(const char *out, const char *name, char *line, size_t size)
{
	size_t nl = strlen(name);
	const char *p = out;

	while (*p != '\0') {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len > nl && strncmp(p, name, nl) == 0 && p[nl] == ' ') {
			if (len >= size)
				len = size - 1;
			memcpy(line, p, len);
			line[len] = '\0';
			return 0;
		}
		p += len + (e != NULL);
	}
	return -1;
}

int
h_mapped(pid_t pid, unsigned long addr, char perms[5])
{
	char path[64], line[512];
	FILE *f;
	int found = 0;

	snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
	if ((f = fopen(path, "re")) == NULL)
		return 0;
	while (fgets(line, sizeof line, f) != NULL) {
		unsigned long lo, hi;
		char pm[5];
		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, pm) != 3)
			continue;
		if (lo <= addr && addr < hi) {
			if (perms != NULL)
				memcpy(perms, pm, 5);
			found = 1;
			break;
		}
	}
	fclose(f);
	return found;
}

long
h_segd_rss_kib(void)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/status", (int)h_segd);
	f = fopen(path, "re");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* ---- raw clients ---- */

int
h_raw_connect(void)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(h_sock) >= sizeof sun.sun_path) {
		close(fd);
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sun.sun_path, h_sock);
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

size_t
h_req_frame(uint8_t *buf, size_t size, uint16_t op, const char *name,
    uint32_t arg)
{
	struct segw_req r;
	struct segw_hdr h;
	size_t n;

	memset(&r, 0, sizeof r);
	snprintf(r.name, sizeof r.name, "%s", name);
	r.arg = arg;
	if (size < SEGW_HDRLEN || (n = segw_req_encode(buf + SEGW_HDRLEN,
	    size - SEGW_HDRLEN, &r)) == 0)
		return 0;
	h.len = (uint32_t)n;
	h.op = op;
	h.status = 0;
	segw_hdr_encode(buf, &h);
	return SEGW_HDRLEN + n;
}

int
h_closed_by_segd(int fd, int ms)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	char c;

	if (poll(&pfd, 1, ms) != 1)
		return 0;
	return read(fd, &c, 1) <= 0;
}

/* ---- the suite run ---- */

void
h_begin(void)
{
	const char *b = getenv("SEG_BUILD");
	const char *t = getenv("TMPDIR");

	h_root[0] = '\0';
	if (b == NULL || *b == '\0')
		b = "build";
	if (realpath(b, h_build) == NULL) {
		snprintf(h_why, sizeof h_why, "build directory '%s': %s (set "
		    "SEG_BUILD)", b, strerror(errno));
		return;
	}
	snprintf(h_root, sizeof h_root, "%s/segd-integ.XXXXXX",
	    t != NULL && *t != '\0' ? t : "/tmp");
	if (mkdtemp(h_root) == NULL) {
		snprintf(h_why, sizeof h_why, "mkdtemp %s: %s", h_root,
		    strerror(errno));
		h_root[0] = '\0';
		return;
	}
	chmod(h_root, 0711);
}

void
h_end(void)
{
	if (h_root[0] == '\0')
		return;
	unmount_under(h_root);
	rm_tree(h_root);
	h_root[0] = '\0';
}

void *
h_ring_map(uint16_t op, const char *name, uint32_t mem_arg, uint32_t kick_arg,
    size_t size, int *efd)
{
	struct segw_req r;
	int mfd = -1;
	void *p;

	memset(&r, 0, sizeof r);
	H_CCHECK(*name == 0 || seg_req_name(&r, name) == 0, "name '%s'", name);
	r.arg = mem_arg;
	H_CCHECK(seg_call(op, &r, NULL, NULL, NULL, &mfd) == 0 && mfd >= 0,
	    "ring of op %u: %s", op, seg_errstr());
	r.arg = kick_arg;
	H_CCHECK(seg_call(op, &r, NULL, NULL, NULL, efd) == 0 && *efd >= 0,
	    "ring kick of op %u: %s", op, seg_errstr());
	/* sealed: it cannot be cut under segd */
	H_CCHECK(ftruncate(mfd, 4096) < 0 && errno == EPERM,
	    "the ring could be truncated");
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	H_CCHECK(p != MAP_FAILED, "mmap: %s", strerror(errno));
	close(mfd);
	return p;
}

void
h_wait_ready(struct h_kid *k)
{
	struct pollfd pr = { k->ready, POLLIN, 0 };
	char c;

	ck_assert_msg(poll(&pr, 1, 60000) == 1, "a child was not ready in 60 s");
	ck_assert_int_eq(read(k->ready, &c, 1), 1);
}

void
h_flood_fair(const char *name, int how, int n, void (*flood)(void *),
    const char *what)
{
	struct h_kid k;
	double quiet, flooded, best = 0;
	char msg[256];
	int round;

	h_zfree_rate(name, n / 3, how);	/* the rings made, warm */
	for (round = 0; round < 5 && best < 0.5; round++) {
		quiet = h_zfree_rate(name, n, how);
		h_start(&k, flood, NULL);
		h_wait_ready(&k);
		flooded = h_zfree_rate(name, n, how);
		kill(k.pid, SIGKILL);
		h_finish(&k, msg, sizeof msg);
		fprintf(stderr, "%s: quiet %.0f/s, flooded %.0f/s\n", what,
		    quiet, flooded);
		if (flooded / quiet > best)
			best = flooded / quiet;
	}
	ck_assert_msg(best >= 0.5, "%s: a flooding client cut another's rate "
	    "to %.2f of its quiet rate", what, best);
}

int
h_outcomes(struct seg_zoutcome *o, int n, int ms)
{
	long deadline = ck_now_ms() + ms;
	struct pollfd pfd = { -1, POLLIN, 0 };
	int got = 0, k;

	while (got < n && ck_now_ms() < deadline) {
		if (pfd.fd < 0)
			pfd.fd = seg_zfree_async_fd();
		if (pfd.fd >= 0)
			poll(&pfd, 1, 100);
		else
			ck_sleep_ms(100);
		k = seg_zfree_outcomes(o + got, n - got);
		ck_assert_msg(k >= 0, "seg_zfree_outcomes: %s", seg_errstr());
		got += k;
	}
	return got;
}

/* n asynchronous local returns of a, and their outcomes: each applied. */
static void
zfree_async_all(const uint64_t *a, int n)
{
	static struct seg_zoutcome o[4000];
	int i, sent = 0, got = 0;

	while (got < n) {
		for (; sent < n && seg_zfree_async(NULL, a[sent]) == 0; sent++)
			;
		ck_assert_msg(sent == n || errno == EAGAIN, "seg_zfree_async: "
		    "%s", seg_errstr());
		i = h_outcomes(o + got, sent == n ? n - got : 1, 60000);
		ck_assert_msg(i > 0, "no outcome in 60 s");
		for (; i > 0; i--, got++)
			ck_assert_msg(o[got].err == 0, "return of 0x%llx: %s",
			    (unsigned long long)o[got].addr, o[got].msg);
	}
}

double
h_zfree_rate(const char *name, int n, int how)
{
	static uint64_t a[4000];
	long t0, t = 0;
	int i, k;

	ck_assert(n <= 4000);
	for (i = 0; i < n; i++)
		a[i] = h_zalloc64(name);
	t0 = ck_now_ms();
	if (how & H_RATE_ASYNC)
		zfree_async_all(a, n);
	else
		for (i = 0; i < n; i++)
			ck_assert_msg(seg_zfree((void *)(uintptr_t)a[i]) == 0,
			    "seg_zfree: %s", seg_errstr());
	if (!(how & H_RATE_READS))
		t = ck_now_ms() - t0;
	/* read back into the pool, for the next round */
	for (i = 0; i < n; i += k)
		ck_assert_msg((k = seg_free_read(name, a, 4000)) > 0,
		    "seg_free_read: %s", seg_errstr());
	if (how & H_RATE_READS)
		t = ck_now_ms() - t0;
	return n * 1000.0 / (double)(t > 0 ? t : 1);
}

void
h_umsg(const char *name, uint64_t va, uint64_t len)
{
	char ctl[96];

	snprintf(ctl, sizeof ctl, "umsg 0x%llx 0x%llx", (unsigned long long)va,
	    (unsigned long long)len);
	ck_assert_msg(seg_create(name, 0644) == 0, "create: %s", seg_errstr());
	ck_assert_msg(seg_ctl(name, ctl) == 0, "ctl: %s", seg_errstr());
}

uint64_t
h_zalloc64(const char *name)
{
	void *p = seg_zalloc(name, 64);

	ck_assert_msg(p != NULL, "seg_zalloc: %s", seg_errstr());
	return (uint64_t)(uintptr_t)p;
}
