/*
 * check_harden.c: no local user can crash or subvert segd through what it
 * shares or trusts.  The attacks run as an unprivileged uid (65534, in a
 * forked child of the root test) against a segd with the file system
 * mounted:
 *   1. a writable descriptor of a segment's memory truncated, then data
 *      written and read through the mount; the file grown past the
 *      segment (around -M) and holes punched in it;
 *   2. the state directory's tmpfs full: a segment larger than it, and a
 *      write into pages punched out of a segment once it is full;
 *   3. a umsg pool's state file truncated by its holder, then a free;
 * and root's side of what segd trusts:
 *   9. a state directory another user owns or can write, and symlinks
 *      planted at the files segd makes there;
 *  10. a socket directory another user owns; a file or symlink at the
 *      socket path;
 *  11. state records out of range (address 0, ids past 32 bits) and a
 *      truncated pool state file.
 * Every test checks that segd lives on, serves, and keeps the segment's
 * length, and that it exits 0 at the end.
 *
 * Needs root and /dev/fuse, as check_fs.c.
 */
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "libseg.h"
#include "seg.h"

#define NOBODY 65534

/* ---- fixtures ---- */

/* The state directory on a 1 MiB tmpfs. */
static void
small_setup(void)
{
	h_need_root_fuse();
	h_prepare();
	ck_assert_int_eq(mkdir(h_state, 0700), 0);
	ck_assert_msg(mount("tmpfs", h_state, "tmpfs", MS_NOSUID | MS_NODEV,
	    "size=1m,mode=0700") == 0, "mount tmpfs: %s", strerror(errno));
	h_mount_opts();
	h_segd_start();
}

/* No segd started: the test starts it on what it prepared. */
static void
bare_setup(void)
{
	h_need_root_fuse();
	h_prepare();
	h_segd_opts[0] = NULL;
}

static const struct ck_fix small_fix = {
	.setup = small_setup, .teardown = h_fs_teardown,
	.usetup = h_begin, .uteardown = h_end,
};
static const struct ck_fix bare_fix = {
	.setup = bare_setup, .teardown = h_fs_teardown,
	.usetup = h_begin, .uteardown = h_end,
};

/* ---- helpers ---- */

/* segd is running, answers, and has name at len bytes. */
static void
serving(const char *name, uint64_t len)
{
	struct seg_info info;
	int st;

	ck_assert_msg(waitpid(h_segd, &st, WNOHANG) == 0, "segd died: %s %d",
	    WIFSIGNALED(st) ? "signal" : "exit", WIFSIGNALED(st) ?
	    WTERMSIG(st) : WEXITSTATUS(st));
	if (name == NULL)
		return;
	ck_assert_msg(seg_stat(name, &info) == 0, "stat %s: %s", name,
	    seg_errstr());
	ck_assert_uint_eq(info.len, len);
}

/* In a child: become the unprivileged user. */
static void
as_nobody(void)
{
	H_CCHECK(setgroups(0, NULL) == 0 && setgid(NOBODY) == 0 &&
	    setuid(NOBODY) == 0, "become uid %d: %s", NOBODY, strerror(errno));
}

/* In a child: a descriptor of name's memory, as OPEN hands it out. */
static int
data_fd(const char *name)
{
	struct segw_req r;
	struct segw_info info;
	int fd = -1;

	H_CCHECK(seg_req_name(&r, name) == 0, "name");
	r.arg = SEGW_RD | SEGW_WR;
	H_CCHECK(seg_call(SEGW_OPEN, &r, &info, NULL, NULL, &fd) == 0 &&
	    fd >= 0, "OPEN %s: %s", name, seg_errstr());
	return fd;
}

static void
make_as_nobody(const char *name, const char *ctl)
{
	H_CCHECK(seg_create(name, 0600) == 0, "create %s: %s", name,
	    seg_errstr());
	H_CCHECK(seg_ctl(name, ctl) == 0, "ctl %s: %s", name, seg_errstr());
}

static off_t
file_size(const char *path)
{
	struct stat sb;

	ck_assert_msg(stat(path, &sb) == 0, "stat %s: %s", path,
	    strerror(errno));
	return sb.st_size;
}

/* ---- 1. truncate, then write through FUSE ---- */

/*
 * The first access after a cut either finds it (EIO, the memory restored)
 * or comes after segd's watch restored it already (it works): both are
 * right; a dead segd (ENOTCONN) or anything else is not.
 */
#define CUT_OK(r, n) ((r) == (ssize_t)(n) || ((r) == -1 && errno == EIO))

static void
truncate_then_io(void *arg)
{
	char buf[4096], back[4096];
	ssize_t r;
	int fd, dfd;

	(void)arg;
	as_nobody();
	make_as_nobody("t", "va 0 0x1000");
	fd = data_fd("t");
	H_CCHECK(ftruncate(fd, 0) == 0, "ftruncate: %s", strerror(errno));
	memset(buf, 'a', sizeof buf);
	dfd = open(h_mnt_path("t/data"), O_RDWR);
	H_CCHECK(dfd >= 0, "open data: %s", strerror(errno));
	/* once segd's own copy into its mapping died of SIGBUS here */
	r = pwrite(dfd, buf, sizeof buf, 0);
	H_CCHECK(CUT_OK(r, sizeof buf), "write after truncation: %zd (%s)", r,
	    strerror(errno));
	/* the length is back: the same write works, and reads back */
	H_CCHECK(pwrite(dfd, buf, sizeof buf, 0) == (ssize_t)sizeof buf,
	    "write after the restore: %s", strerror(errno));
	H_CCHECK(pread(dfd, back, sizeof back, 0) == (ssize_t)sizeof back &&
	    memcmp(buf, back, sizeof buf) == 0, "read back");
	/* the read path: truncated again, the read fails alone */
	H_CCHECK(ftruncate(fd, 0) == 0, "ftruncate: %s", strerror(errno));
	r = pread(dfd, back, sizeof back, 0);
	H_CCHECK(CUT_OK(r, sizeof back), "read after truncation: %zd (%s)", r,
	    strerror(errno));
	H_CCHECK(pread(dfd, back, sizeof back, 0) == (ssize_t)sizeof back,
	    "read after the restore: %s", strerror(errno));
	/* truncated, and nobody uses the file system: restored anyway */
	H_CCHECK(ftruncate(fd, 0) == 0, "ftruncate: %s", strerror(errno));
	close(dfd);
	close(fd);
}

static int
size_is(const char *path, off_t size)
{
	struct stat sb;

	return stat(path, &sb) == 0 && sb.st_size == size;
}

static int
t_back(void *arg)
{
	return size_is(arg, 0x1000);
}

START_TEST(truncate_then_write)
{
	char buf[8];

	CK_CHILD(truncate_then_io, NULL);
	serving("t", 0x1000);
	ck_assert_msg(h_until(t_back, (void *)h_in(h_state, "t.seg"), 2000), "t.seg was "
	    "not restored to 4096 bytes");
	H_LOG_HAS("t: a client cut pages away from the segment's memory");
	/* kept across a restart, at its length: never dropped */
	h_segd_stop();
	h_segd_start();
	serving("t", 0x1000);
	ck_assert_int_eq(seg_pread("t", buf, sizeof buf, 0), (ssize_t)sizeof buf);
	ck_assert(!h_log_has("wrong size, ignored"));
}
END_TEST

/* Growing the file past the segment (around -M) is undone at once. */
static void
grow_io(void *arg)
{
	static char big[4 << 20];
	int fd;

	(void)arg;
	as_nobody();
	make_as_nobody("g", "va 0 0x1000");
	fd = data_fd("g");
	memset(big, 'g', sizeof big);
	H_CCHECK(pwrite(fd, big, sizeof big, 0x1000) == (ssize_t)sizeof big,
	    "pwrite past the end: %s", strerror(errno));
	H_CCHECK(ftruncate(fd, 200 << 20) == 0, "ftruncate: %s",
	    strerror(errno));
	close(fd);
}

static int
seg_file_back(void *arg)
{
	struct stat sb;

	return stat(arg, &sb) == 0 && sb.st_size == 0x1000 &&
	    (uint64_t)sb.st_blocks * 512 <= 0x1000 + 0x10000;
}

START_TEST(grow_undone)
{
	CK_CHILD(grow_io, NULL);
	ck_assert_msg(h_until(seg_file_back, (void *)h_in(h_state, "g.seg"), 2000), "the "
	    "backing file was not cut back to the segment: %lld bytes",
	    (long long)file_size(h_in(h_state, "g.seg")));
	H_LOG_HAS("a client grew the backing file past 4096 bytes: cut back");
	serving("g", 0x1000);
}
END_TEST

/* Holes punched in a segment are refilled; the data path goes on. */
static void
punch_io(void *arg)
{
	char buf[0x4000];
	int fd, dfd;

	(void)arg;
	as_nobody();
	make_as_nobody("p", "va 0 0x10000");
	fd = data_fd("p");
	memset(buf, 'p', sizeof buf);
	dfd = open(h_mnt_path("p/data"), O_RDWR);
	H_CCHECK(dfd >= 0, "open data: %s", strerror(errno));
	H_CCHECK(pwrite(dfd, buf, sizeof buf, 0) == (ssize_t)sizeof buf,
	    "write: %s", strerror(errno));
	H_CCHECK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
	    0x4000) == 0, "punch: %s", strerror(errno));
	close(fd);
	close(dfd);
}

START_TEST(punch_refilled)
{
	CK_CHILD(punch_io, NULL);
	H_LOG_HAS("p: a client cut pages away");
	serving("p", 0x10000);
}
END_TEST

/* ---- 2. the state directory's file system full ---- */

/* The child's and the parent's ends of two pipes: a step at a time. */
struct steps {
	int to_parent, from_parent;
};

static void
step(const struct steps *st, char c)
{
	char got;

	H_CCHECK(write(st->to_parent, &c, 1) == 1, "tell the parent");
	H_CCHECK(read(st->from_parent, &got, 1) == 1, "no word from the parent");
}

static void
full_io(void *arg)
{
	static char two[2 << 20];
	const struct steps *st = arg;
	int fd, dfd;
	ssize_t r;

	as_nobody();
	/* 4 MiB on a 1 MiB tmpfs: refused when the address is set */
	H_CCHECK(seg_create("big", 0600) == 0, "create: %s", seg_errstr());
	H_CCHECK(seg_ctl("big", "va 0 0x400000") == -1 && errno == ENOSPC,
	    "ctl of 4 MiB on a 1 MiB file system: %s", seg_errstr());
	H_CCHECK(strstr(seg_errstr(), "file system is full") != NULL, "%s",
	    seg_errstr());
	/* 512 KiB fits, and dd of 2 MiB is cut at its end */
	make_as_nobody("half", "va 0 0x80000");
	memset(two, 'f', sizeof two);
	dfd = open(h_mnt_path("half/data"), O_WRONLY);
	H_CCHECK(dfd >= 0, "open data: %s", strerror(errno));
	r = pwrite(dfd, two, sizeof two, 0);
	H_CCHECK(r == 0x80000, "write of 2 MiB: %zd (%s)", r, strerror(errno));
	fd = data_fd("half");
	step(st, 'r');		/* the parent stops segd */
	/* pages punched out while segd cannot take them back at once */
	H_CCHECK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
	    0x80000) == 0, "punch: %s", strerror(errno));
	close(fd);
	step(st, 'p');		/* the parent fills the file system */
	r = pwrite(dfd, two, 0x80000, 0);
	H_CCHECK(r == -1 && errno == ENOSPC, "write into a full file system: "
	    "%zd (%s), not ENOSPC", r, strerror(errno));
	close(dfd);
}

/* The child's next step is want; if it ended instead, its failure. */
static void
await(struct h_kid *k, int fd, char want)
{
	char c = 0;

	if (read(fd, &c, 1) != 1 || c != want)
		h_finish_ok(k, "the client on a full file system");
	ck_assert_int_eq(c, want);
}

START_TEST(full_fs)
{
	static char page[4096];
	struct steps st;
	struct h_kid k;
	int up[2], down[2], fd;

	ck_assert_int_eq(pipe(up), 0);
	ck_assert_int_eq(pipe(down), 0);
	st.to_parent = up[1];
	st.from_parent = down[0];
	h_start(&k, full_io, &st);
	close(up[1]);		/* a child that ends is seen at once */
	close(down[0]);
	await(&k, up[0], 'r');
	ck_assert_int_eq(kill(h_segd, SIGSTOP), 0);
	ck_assert_int_eq(write(down[1], "g", 1), 1);
	await(&k, up[0], 'p');
	/* fill what the punched pages gave back */
	fd = open(h_in(h_state, "filler"), O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	while (write(fd, page, sizeof page) == (ssize_t)sizeof page)
		;
	ck_assert_int_eq(errno, ENOSPC);
	ck_assert_int_eq(kill(h_segd, SIGCONT), 0);
	ck_assert_int_eq(write(down[1], "g", 1), 1);
	h_finish_ok(&k, "the client on a full file system");
	serving("half", 0x80000);
	H_LOG_HAS("half: restore the backing file to 524288 bytes: No space");
	/* room again: the pages come back, the segment works */
	close(fd);
	ck_assert_int_eq(unlink(h_in(h_state, "filler")), 0);
	ck_assert_int_eq(seg_pwrite("half", "x", 1, 0x7ffff), 1);
	serving("half", 0x80000);
	h_segd_stop();
	ck_assert_int_eq(umount2(h_state, MNT_DETACH), 0);
}
END_TEST

/* ---- 3. a truncated pool state, then a free ---- */

static void
pool_io(void *arg)
{
	struct segw_req r;
	struct segw_info info;
	char line[32];
	void *b;
	int fd = -1, ffd;
	ssize_t n;

	(void)arg;
	as_nobody();
	make_as_nobody("zu", "umsg 0 0x100000");
	b = seg_zalloc("zu", 64);
	H_CCHECK(b != NULL, "zalloc: %s", seg_errstr());
	/* the pool state segd shares with this, its holder */
	H_CCHECK(seg_req_name(&r, "zu") == 0, "name");
	H_CCHECK(seg_call(SEGW_ZPOOL, &r, &info, NULL, NULL, &fd) == 0 &&
	    fd >= 0, "ZPOOL: %s", seg_errstr());
	H_CCHECK(ftruncate(fd, 0) == 0, "ftruncate: %s", strerror(errno));
	snprintf(line, sizeof line, "0x%llx\n",
	    (unsigned long long)(uintptr_t)b);
	ffd = open(h_mnt_path("zu/free"), O_WRONLY);
	H_CCHECK(ffd >= 0, "open free: %s", strerror(errno));
	/* once the validator died of SIGBUS reading the state */
	n = write(ffd, line, strlen(line));
	/* EIO if the free found the cut, EINVAL if segd's watch had put the
	 * state back first (the buffer is not live in it) */
	H_CCHECK(n == -1 && (errno == EIO || errno == EINVAL), "free after "
	    "truncation: %zd (%s)", n, strerror(errno));
	close(ffd);
	close(fd);
}

START_TEST(pool_state_truncated)
{
	CK_CHILD(pool_io, NULL);
	serving("zu", 0x100000);
	H_LOG_HAS("the pool's holder cut its state file");
	ck_assert_int_gt(file_size(h_in(h_state, "zu.zio")), 0);
	h_segd_stop();
	h_segd_start();
	serving("zu", 0x100000);
}
END_TEST

/* ---- 9. the state directory ---- */

/* segd on h_sock and dir, to its exit (or 10 s): its exit code, log in r. */
static int
segd_once(struct h_run *r, const char *sock, const char *dir)
{
	char *argv[] = { "/usr/bin/timeout", "10", (char *)h_path("segd"),
	    "-f", "-s", (char *)sock, "-d", (char *)dir, NULL };

	return h_runv(r, NULL, 0, argv);
}

static void
refused(const char *sock, const char *dir, const char *why)
{
	struct h_run r;

	ck_assert_msg(segd_once(&r, sock, dir) == 1, "segd was not refused "
	    "(%s): exit %d; %s", why, r.code, r.err);
	ck_assert_msg(strstr(r.err, "bad ownership or modes") != NULL, "%s",
	    r.err);
	h_run_free(&r);
}

START_TEST(state_dir_others)
{
	char sub[H_PATHMAX + 16];

	ck_assert_int_eq(mkdir(h_state, 0700), 0);
	ck_assert_int_eq(chown(h_state, NOBODY, NOBODY), 0);
	refused(h_sock, h_state, "state directory owned by another user");
	ck_assert_int_eq(chown(h_state, 0, 0), 0);
	ck_assert_int_eq(chmod(h_state, 0777), 0);
	refused(h_sock, h_state, "state directory writable by all");
	ck_assert_int_eq(chmod(h_state, 0700), 0);
	/* a directory above it */
	snprintf(sub, sizeof sub, "%s/in", h_state);
	ck_assert_int_eq(chmod(h_state, 0770), 0);
	ck_assert_int_eq(chown(h_state, 0, NOBODY), 0);
	refused(h_sock, sub, "a directory above writable by a group");
	ck_assert_int_eq(chmod(h_state, 0700), 0);
	ck_assert_int_eq(access(h_sock, F_OK), -1);	/* never served */
}
END_TEST

START_TEST(planted_symlinks)
{
	char victim[H_PATHMAX + 16], victim2[H_PATHMAX + 16];
	struct stat sb;

	snprintf(victim, sizeof victim, "%s/victim", h_dir);
	snprintf(victim2, sizeof victim2, "%s/victim2", h_dir);
	ck_put_file(victim, "root's file");
	ck_put_file(victim2, "root's other file");
	ck_assert_int_eq(mkdir(h_state, 0700), 0);
	ck_assert_int_eq(symlink(victim, h_in(h_state, "s.seg")), 0);
	ck_assert_int_eq(symlink(victim2, h_in(h_state, "s.meta.tmp")), 0);
	h_segd_start();
	h_make_seg("s", 0600, "va 0 0x1000");
	ck_file_is(victim, "root's file");
	ck_file_is(victim2, "root's other file");
	ck_assert_int_eq(lstat(h_in(h_state, "s.seg"), &sb), 0);
	ck_assert(S_ISREG(sb.st_mode));
	ck_assert_int_eq(sb.st_size, 0x1000);
	serving("s", 0x1000);
}
END_TEST

/* ---- 10. the socket directory and path ---- */

START_TEST(socket_dir_others)
{
	char dir[H_PATHMAX + 8], sock[H_PATHMAX + 16];

	snprintf(dir, sizeof dir, "%s/sd", h_dir);
	snprintf(sock, sizeof sock, "%s/sock", dir);
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	ck_assert_int_eq(chown(dir, NOBODY, NOBODY), 0);
	refused(sock, h_state, "socket directory owned by another user");
	ck_assert_int_eq(access(sock, F_OK), -1);
}
END_TEST

START_TEST(socket_path_not_a_socket)
{
	char link[H_PATHMAX + 16], victim[H_PATHMAX + 16];
	struct h_run r;
	struct stat sb;

	/* a regular file at the socket path: left, segd refuses */
	ck_put_file(h_sock, "not a socket");
	ck_assert_int_eq(segd_once(&r, h_sock, h_state), 1);
	ck_assert_msg(strstr(r.err, "is not a socket") != NULL, "%s", r.err);
	h_run_free(&r);
	ck_file_is(h_sock, "not a socket");
	/* a symlink there: not followed, not removed */
	ck_assert_int_eq(unlink(h_sock), 0);
	snprintf(victim, sizeof victim, "%s/victim", h_dir);
	ck_put_file(victim, "secret");
	ck_assert_int_eq(chmod(victim, 0600), 0);
	snprintf(link, sizeof link, "%s", h_sock);
	ck_assert_int_eq(symlink(victim, link), 0);
	ck_assert_int_eq(segd_once(&r, h_sock, h_state), 1);
	ck_assert_msg(strstr(r.err, "is not a socket") != NULL, "%s", r.err);
	h_run_free(&r);
	ck_assert_int_eq(lstat(h_sock, &sb), 0);
	ck_assert(S_ISLNK(sb.st_mode));
	ck_assert_int_eq(stat(victim, &sb), 0);
	ck_assert_uint_eq(sb.st_mode & 07777, 0600);
	ck_file_is(victim, "secret");
	/* the socket a segd left (killed) is taken over; its mode is 0666 */
	ck_assert_int_eq(unlink(h_sock), 0);
	h_segd_start();
	ck_assert_int_eq(kill(h_segd, SIGKILL), 0);
	ck_assert_int_eq(waitpid(h_segd, NULL, 0), h_segd);
	h_segd = 0;
	umask(077);
	h_segd_start();
	umask(022);
	ck_assert_int_eq(lstat(h_sock, &sb), 0);
	ck_assert(S_ISSOCK(sb.st_mode));
	ck_assert_uint_eq(sb.st_mode & 0777, 0666);
}
END_TEST

/* ---- 11. state records ---- */

static void
put_seg(const char *name, off_t size)
{
	char f[64];
	int fd;

	snprintf(f, sizeof f, "%s.seg", name);
	fd = open(h_in(h_state, f), O_RDWR | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, size), 0);
	close(fd);
}

START_TEST(records_out_of_range)
{
	struct seg_info info;

	ck_assert_int_eq(mkdir(h_state, 0700), 0);
	ck_put_file(h_in(h_state, "zero.meta"), "segd1 1000 1000 666 1 0 1000\n");
	put_seg("zero", 0x1000);
	ck_put_file(h_in(h_state, "gid.meta"), "segd1 1000 4294967296 660 0 0 0\n");
	ck_put_file(h_in(h_state, "uid.meta"), "segd1 4294967296 1000 600 0 0 0\n");
	ck_put_file(h_in(h_state, "good.meta"), "segd1 1000 1000 600 0 0 0\n");
	h_segd_start();
	serving("good", 0);
	ck_assert_int_eq(seg_stat("zero", &info), -1);
	ck_assert_int_eq(seg_stat("gid", &info), -1);	/* not root's group */
	ck_assert_int_eq(seg_stat("uid", &info), -1);
	H_LOG_HAS("zero.meta: malformed metadata, ignored");
	H_LOG_HAS("gid.meta: malformed metadata, ignored");
	H_LOG_HAS("uid.meta: malformed metadata, ignored");
	/* left where they are */
	ck_assert_int_eq(access(h_in(h_state, "zero.meta"), F_OK), 0);
	ck_assert_int_eq(access(h_in(h_state, "gid.meta"), F_OK), 0);
}
END_TEST

/* A truncated pool state is skipped, never made anew over live buffers. */
START_TEST(pool_state_truncated_at_restart)
{
	struct seg_info info;
	void *b;
	off_t size;

	h_segd_start();
	h_make_seg("zr", 0600, "umsg 0 0x100000");
	b = seg_zalloc("zr", 64);
	ck_assert_msg(b != NULL, "zalloc: %s", seg_errstr());
	h_segd_stop();
	size = file_size(h_in(h_state, "zr.zio"));
	ck_assert_int_eq(truncate(h_in(h_state, "zr.zio"), size / 2), 0);
	h_segd_start();
	ck_assert_int_eq(seg_stat("zr", &info), -1);
	H_LOG_HAS("zr.zio is not a file of");
	ck_assert_int_eq(file_size(h_in(h_state, "zr.zio")), size / 2);	/* left */
	ck_assert_int_eq(access(h_in(h_state, "zr.seg"), F_OK), 0);
	serving(NULL, 0);
}
END_TEST

void
suite(Suite *s)
{
	ck_tcase(s, "crash", &h_fs_fix, H_TIMEOUT_S, truncate_then_write,
	    grow_undone, punch_refilled, pool_state_truncated, NULL);
	ck_tcase(s, "full", &small_fix, H_TIMEOUT_S, full_fs, NULL);
	ck_tcase(s, "trust", &bare_fix, H_TIMEOUT_S, state_dir_others,
	    planted_symlinks, socket_dir_others, socket_path_not_a_socket,
	    records_out_of_range, pool_state_truncated_at_restart, NULL);
}
