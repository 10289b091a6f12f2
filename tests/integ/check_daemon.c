/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * check_daemon.c: segd as systemd runs it.
 *
 *   - sd_notify: READY=1 comes from segd's own pid only once its socket
 *     serves (a request made the moment it arrives succeeds); SIGHUP gives
 *     RELOADING=1 then READY=1, SIGTERM STOPPING=1;
 *   - the configuration file: a bad line stops segd from starting, with an
 *     error naming the file and line; options take precedence over it;
 *     SIGHUP reloads the log level and limits and logs what it did, and a
 *     bad file on reload changes nothing;
 *   - the journal: with stderr the stream $JOURNAL_STREAM names, every line
 *     carries its "<N>" syslog priority;
 *   - syslog: without -f segd detaches and logs to /dev/log with facility
 *     LOG_DAEMON (a private /dev in a mount namespace of the test's own).
 */
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "seg.h"

static const struct ck_fix prep_fix = {
	.setup = h_prepare, .teardown = h_teardown,
	.usetup = h_begin, .uteardown = h_end,
};

/* ---- sd_notify ---- */

static int nfd = -1;	/* the test's notification socket */

static void
notify_listen(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int one = 1;

	ck_assert_int_lt(snprintf(sun.sun_path, sizeof sun.sun_path,
	    "%s/notify", h_dir), (int)sizeof sun.sun_path);
	nfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(nfd, 0);
	ck_assert_int_eq(setsockopt(nfd, SOL_SOCKET, SO_PASSCRED, &one,
	    sizeof one), 0);
	ck_assert_int_eq(bind(nfd, (struct sockaddr *)&sun, sizeof sun), 0);
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", sun.sun_path, 1), 0);
}

/*
 * The next notification, NUL-terminated in buf, and the pid that sent it
 * (SCM_CREDENTIALS, as systemd checks it); -1 if none within ms.
 */
static int
notify_next(char *buf, size_t size, pid_t *from, int ms)
{
	union {
		struct cmsghdr c;
		char b[CMSG_SPACE(sizeof(struct ucred))];
	} ctl;
	struct iovec iov = { buf, size - 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = &ctl, .msg_controllen = sizeof ctl };
	struct pollfd pfd = { nfd, POLLIN, 0 };
	struct cmsghdr *c;
	ssize_t n;

	if (poll(&pfd, 1, ms) != 1)
		return -1;
	n = recvmsg(nfd, &mh, 0);
	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	*from = 0;
	for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET &&
		    c->cmsg_type == SCM_CREDENTIALS) {
			struct ucred uc;
			memcpy(&uc, CMSG_DATA(c), sizeof uc);
			*from = uc.pid;
		}
	return 0;
}

/* Whether the notification has the line want. */
static int
has_line(const char *msg, const char *want)
{
	size_t n = strlen(want);
	const char *p;

	for (p = msg; p != NULL; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, want, n) == 0 && (p[n] == '\n' || p[n] == '\0'))
			return 1;
	return 0;
}

/* Wait for a notification with the line want, from segd; its text in buf. */
static void
notify_expect(const char *want, char *buf, size_t size)
{
	long deadline = ck_now_ms() + ck_scale(20000);
	pid_t from;

	for (;;) {
		long left = deadline - ck_now_ms();
		ck_assert_msg(left > 0 && notify_next(buf, size, &from,
		    (int)left) == 0, "no %s from segd within %d ms", want,
		    ck_scale(20000));
		ck_assert_msg(from == h_segd, "a notification from pid %d, not "
		    "segd's %d: %s", (int)from, (int)h_segd, buf);
		if (has_line(buf, want))
			return;
	}
}

static char conf[H_PATHMAX + 16];
static void conf_write(const char *text);

/* segd -f -s SOCK -d STATE, not waiting for it: the test watches it start. */
static void
segd_spawn(void)
{
	pid_t parent = getpid(), pid;
	char *argv[] = { "/bin/sh", "-c", "exec ${SEGD_WRAPPER:-} \"$@\"", "sh",
	    (char *)h_path("segd"), "-f", "-c", conf, "-s", h_sock, "-d", h_state,
	    NULL };

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd = open(h_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
		    0644);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent || fd < 0 || dup2(fd, 1) < 0 ||
		    dup2(fd, 2) < 0)
			_exit(127);
		execv(argv[0], argv);
		_exit(127);
	}
	h_segd = pid;	/* h_teardown stops it, and it must exit 0 */
}

START_TEST(notify_ready_once_serving)
{
	char msg[1024], want[64];
	struct seg_info *list = NULL;
	pid_t from;
	int st;

	notify_listen();
	conf_write("");
	segd_spawn();
	notify_expect("READY=1", msg, sizeof msg);
	/* the moment READY=1 is read, segd serves */
	ck_assert_msg(seg_create("ready", 0600) == 0, "seg_create right after "
	    "READY=1: %s", seg_errstr());
	ck_assert_int_eq(seg_list(&list), 1);
	ck_assert_str_eq(list[0].name, "ready");
	free(list);
	snprintf(want, sizeof want, "MAINPID=%d", (int)h_segd);
	ck_assert_msg(has_line(msg, want), "READY=1 without %s: %s", want, msg);

	ck_assert_int_eq(kill(h_segd, SIGHUP), 0);
	notify_expect("RELOADING=1", msg, sizeof msg);
	notify_expect("READY=1", msg, sizeof msg);

	ck_assert_int_eq(kill(h_segd, SIGTERM), 0);
	notify_expect("STOPPING=1", msg, sizeof msg);
	ck_assert_int_eq(waitpid(h_segd, &st, 0), h_segd);
	h_segd = 0;
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "segd status %#x",
	    st);
	ck_assert_int_eq(notify_next(msg, sizeof msg, &from, 100), -1);
}
END_TEST

/* Without NOTIFY_SOCKET segd starts and serves as ever. */
START_TEST(notify_unset)
{
	unsetenv("NOTIFY_SOCKET");
	h_segd_start();
	ck_assert_int_eq(seg_create("plain", 0600), 0);
}
END_TEST

/* ---- the configuration file ---- */

static void
conf_write(const char *text)
{
	FILE *f;

	snprintf(conf, sizeof conf, "%s/segd.conf", h_dir);
	ck_assert_ptr_nonnull(f = fopen(conf, "we"));
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
}

/* Creating the segment name; 0, or -1 with the error in errstr. */
static int
create(const char *name, char *errstr, size_t size)
{
	int rc = seg_create(name, 0600);

	snprintf(errstr, size, "%s", rc < 0 ? seg_errstr() : "");
	return rc;
}

START_TEST(conf_bad_line_refuses)
{
	struct h_run r;
	char want[512];
	char *argv[] = { (char *)h_path("segd"), "-f", "-c", conf, "-s", h_sock,
	    "-d", h_state, NULL };

	conf_write("# a bad file\nmaxsegs = 4\nmaxsegs: 5\n");
	ck_assert_int_eq(h_runv(&r, NULL, 0, argv), 2);
	snprintf(want, sizeof want, "segd: %s:3: no '=': lines are key = value\n",
	    conf);
	ck_assert_str_eq(r.err, want);
	h_run_free(&r);
	ck_assert_int_eq(access(h_sock, F_OK), -1);	/* never served */

	conf_write("verbose = yes\nnode = a:b\n");
	ck_assert_int_eq(h_runv(&r, NULL, 0, argv), 2);
	snprintf(want, sizeof want, "segd: %s:2: node: bad node name 'a:b': use "
	    "1 to 64 of [A-Za-z0-9._-]\n", conf);
	ck_assert_str_eq(r.err, want);
	h_run_free(&r);

	/* -c names a file that must be there */
	unlink(conf);
	ck_assert_int_eq(h_runv(&r, NULL, 0, argv), 2);
	snprintf(want, sizeof want, "segd: %s: No such file or directory\n",
	    conf);
	ck_assert_str_eq(r.err, want);
	h_run_free(&r);
	ck_assert_int_eq(access(h_sock, F_OK), -1);
}
END_TEST

START_TEST(conf_options_win)
{
	char e[256];

	conf_write("maxsegs = 2\n");
	h_segd_opts[0] = "-c";
	h_segd_opts[1] = conf;
	h_segd_opts[2] = "-N";
	h_segd_opts[3] = "3";
	h_segd_start();
	ck_assert_int_eq(create("a", e, sizeof e), 0);
	ck_assert_int_eq(create("b", e, sizeof e), 0);
	ck_assert_int_eq(create("c", e, sizeof e), 0);
	ck_assert_int_eq(create("d", e, sizeof e), -1);
	ck_assert_str_eq(e, "too many segments (limit 3)");
	h_segd_stop();

	/* without -N the file's limit holds, for the segments found again */
	h_segd_opts[2] = NULL;
	h_segd_start();
	ck_assert_int_eq(create("d", e, sizeof e), -1);
	ck_assert_str_eq(e, "too many segments (limit 2)");
}
END_TEST

struct logwant {
	const char *text;
};

static int
log_has(void *arg)
{
	struct logwant *w = arg;
	char *log = h_log_read();
	int found = strstr(log, w->text) != NULL;

	free(log);
	return found;
}

/* segd's log gets text within a bounded time, or the test fails. */
static void
log_expect(const char *text)
{
	struct logwant w = { text };

	if (!h_until(log_has, &w, ck_scale(10000))) {
		char *log = h_log_read();
		ck_abort_msg("segd's log lacks \"%s\":\n%s", text, log);
	}
}

START_TEST(sighup_reloads)
{
	char e[256], want[512];
	struct h_run r;

	conf_write("maxsegs = 1\n");
	h_segd_opts[0] = "-c";
	h_segd_opts[1] = conf;
	h_segd_start();
	ck_assert_int_eq(create("a", e, sizeof e), 0);
	ck_assert_int_eq(create("b", e, sizeof e), -1);
	ck_assert_str_eq(e, "too many segments (limit 1)");

	conf_write("maxsegs = 2\nverbose = yes\nmaxbytes = 0x100000\n"
	    "deadline = 100\n");
	ck_assert_int_eq(kill(h_segd, SIGHUP), 0);
	log_expect("maxsegs 2 (was 1)");
	log_expect("maxbytes 1048576 (was ");
	log_expect("verbose yes");
	snprintf(want, sizeof want, "deadline changed in %s: it takes effect "
	    "when segd restarts", conf);
	log_expect(want);
	ck_assert_int_eq(create("b", e, sizeof e), 0);
	/* verbose now: a new client's connection is logged */
	ck_assert_int_eq(h_segctl(&r, NULL, 0, "ls", NULL), 0);
	h_run_free(&r);
	log_expect("accept_one: client pid");
	ck_assert_int_eq(seg_ctl("b", "va 0 0x200000"), -1);	/* maxbytes */
	ck_assert_msg(strstr(seg_errstr(), "segment memory limit reached") !=
	    NULL, "%s", seg_errstr());

	/* a bad file on reload: an error naming the line, nothing changes */
	conf_write("maxsegs = 5\nwhat\n");
	ck_assert_int_eq(kill(h_segd, SIGHUP), 0);
	snprintf(want, sizeof want, "%s:2: no '=': lines are key = value: "
	    "nothing changed", conf);
	log_expect(want);
	ck_assert_int_eq(create("c", e, sizeof e), -1);
	ck_assert_str_eq(e, "too many segments (limit 2)");
}
END_TEST

/* ---- the journal ---- */

START_TEST(journal_prefixes)
{
	char js[64], *log, *line, *save = NULL;
	struct stat st;
	int fd, n = 0;

	/* segd's stderr is h_log: make it "the journal's stream" */
	fd = open(h_log, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	close(fd);
	snprintf(js, sizeof js, "%llu:%llu", (unsigned long long)st.st_dev,
	    (unsigned long long)st.st_ino);
	ck_assert_int_eq(setenv("JOURNAL_STREAM", js, 1), 0);
	h_segd_opts[0] = "-v";
	h_segd_start();
	ck_assert_int_eq(seg_create("j", 0600), 0);
	log_expect("<7>accept_one: client pid");	/* LOG_DEBUG */
	h_segd_stop();
	unsetenv("JOURNAL_STREAM");

	log = h_log_read();
	ck_assert_msg(strstr(log, "<6>segd: serving ") != NULL, "%s", log);
	ck_assert_msg(strstr(log, "<6>signal_cb: signal 15, shutting down") !=
	    NULL, "%s", log);
	for (line = strtok_r(log, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save), n++)
		ck_assert_msg(line[0] == '<' && line[1] >= '0' && line[1] <= '7' &&
		    line[2] == '>', "a line without a priority: %s", line);
	ck_assert_int_ge(n, 3);
	free(log);
}
END_TEST

/* Any other stream on stderr: plain lines, as with -f on a terminal. */
START_TEST(journal_other_stream)
{
	char *log;

	ck_assert_int_eq(setenv("JOURNAL_STREAM", "1:1", 1), 0);
	h_segd_start();
	h_segd_stop();
	unsetenv("JOURNAL_STREAM");
	log = h_log_read();
	ck_assert_msg(strstr(log, "\nsegd: serving ") != NULL ||
	    strncmp(log, "segd: serving ", 14) == 0, "%s", log);
	ck_assert_ptr_null(strstr(log, "<6>"));
	free(log);
}
END_TEST

/* ---- syslog ---- */

/* The next syslog datagram with text in it, into buf; 0 if none in time. */
static int
syslog_until(int fd, const char *text, char *buf, size_t size)
{
	long deadline = ck_now_ms() + ck_scale(20000);
	struct pollfd pfd = { fd, POLLIN, 0 };
	ssize_t n;

	while (ck_now_ms() < deadline) {
		if (poll(&pfd, 1, 100) != 1)
			continue;
		n = recv(fd, buf, size - 1, 0);
		ck_assert_int_ge(n, 0);
		buf[n] = '\0';
		if (strstr(buf, text) != NULL)
			return 1;
	}
	return 0;
}

START_TEST(syslog_without_f)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char msg[1024], *p;
	pid_t first, pid;
	int fd, st;

	if (geteuid() != 0) {
		CK_SKIP("needs root for a private /dev/log (mount namespace)");
		return;
	}
	/* a /dev of this test's own, with its own /dev/log; segd, detached,
	 * becomes this process's child again (subreaper) */
	ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	ck_assert_int_eq(unshare(CLONE_NEWNS), 0);
	ck_assert_int_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	ck_assert_int_eq(mount("tmpfs", "/dev", "tmpfs", 0, "mode=0755"), 0);
	ck_assert_int_eq(mknod("/dev/null", S_IFCHR | 0666, makedev(1, 3)), 0);
	snprintf(sun.sun_path, sizeof sun.sun_path, "/dev/log");
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof sun), 0);
	unsetenv("JOURNAL_STREAM");
	unsetenv("NOTIFY_SOCKET");
	conf_write("");

	first = fork();
	ck_assert_int_ge(first, 0);
	if (first == 0) {
		int lfd = open(h_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
		    0644);
		if (lfd < 0 || dup2(lfd, 1) < 0 || dup2(lfd, 2) < 0)
			_exit(127);
		execl(h_path("segd"), "segd", "-v", "-c", conf, "-s", h_sock,
		    "-d", h_state, (char *)NULL);
		_exit(127);
	}
	/* daemon(3): the parent exits 0, the child serves */
	ck_assert_int_eq(waitpid(first, &st, 0), first);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "segd status %#x",
	    st);
	ck_assert_msg(syslog_until(fd, "segd: serving ", msg, sizeof msg),
	    "no \"serving\" in syslog");
	/* LOG_DAEMON | LOG_INFO = 30, identity segd with its pid */
	ck_assert_msg(strncmp(msg, "<30>", 4) == 0, "%s", msg);
	ck_assert_ptr_nonnull(p = strstr(msg, "segd["));
	pid = (pid_t)atoi(p + 5);
	ck_assert_int_gt(pid, 0);
	ck_assert_int_ne(pid, first);
	h_segd = pid;	/* from here on, h_teardown stops it on failure */
	ck_assert_int_eq(seg_create("s", 0600), 0);
	ck_assert_msg(syslog_until(fd, "accept_one: client pid", msg,
	    sizeof msg), "no debug message in syslog");
	ck_assert_msg(strncmp(msg, "<31>", 4) == 0, "%s", msg);	/* DEBUG */
	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	ck_assert_msg(syslog_until(fd, "signal 15, shutting down", msg,
	    sizeof msg), "no shutdown in syslog");
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	h_segd = 0;
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "segd status %#x",
	    st);
	/* nothing went to stderr once detached */
	p = h_log_read();
	ck_assert_ptr_null(strstr(p, "segd: serving"));
	free(p);
	close(fd);
}
END_TEST

void
suite(Suite *s)
{
	ck_tcase(s, "notify", &prep_fix, H_TIMEOUT_S, notify_ready_once_serving,
	    notify_unset, NULL);
	ck_tcase(s, "config", &prep_fix, H_TIMEOUT_S, conf_bad_line_refuses,
	    conf_options_win, sighup_reloads, NULL);
	ck_tcase(s, "journal", &prep_fix, H_TIMEOUT_S, journal_prefixes,
	    journal_other_stream, NULL);
	ck_tcase(s, "syslog", &prep_fix, H_TIMEOUT_S, syslog_without_f, NULL);
}
