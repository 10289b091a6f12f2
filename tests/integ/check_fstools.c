/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * check_fstools.c: the segment file system (segd -m) with ordinary tools, as
 * a new user would use them: tar (backup, restore, and the loop that plain
 * tar xf used to fall into), cp -r, rsync --inplace and its modification
 * times, chmod, chown and utimensat, fstat of a removed segment's open file,
 * and mmap refused.  The real tar, cp and rsync run, each bounded by
 * timeout(1) so that a loop or a block fails the test instead of hanging it.
 *
 * Needs FUSE and root, as check_fs.c; tests/setup.sh installs rsync.
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "seg.h"

#define TOOL_S "60"	/* seconds a tool may take: a loop or a block fails */

/* ---- helpers ---- */

static int
put(const char *rel, const void *s, size_t n, off_t off)
{
	int fd = open(h_mnt_path(rel), O_WRONLY), err;
	ssize_t w;

	if (fd < 0)
		return -1;
	w = pwrite(fd, s, n, off);
	err = errno;
	close(fd);
	errno = err;
	return w == (ssize_t)n ? 0 : -1;
}

/* sh -c script (as uid, -1: ourselves); its exit code, output in r */
static int
sh(struct h_run *r, int uid, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int
sh(struct h_run *r, int uid, const char *fmt, ...)
{
	static char script[4096];
	char *argv[] = { "/bin/sh", "-c", script, NULL };
	va_list ap;

	va_start(ap, fmt);
	ck_assert(vsnprintf(script, sizeof script, fmt, ap) <
	    (int)sizeof script);
	va_end(ap);
	return h_runv_as(r, uid, NULL, 0, argv);
}

/* A pattern that differs at every page, len bytes, written to NAME/data. */
static char *
fill(const char *name, size_t len, int seed)
{
	char *b = malloc(len), rel[128];
	size_t i;

	ck_assert(b != NULL);
	for (i = 0; i < len; i++)
		b[i] = (char)(i * 13 + i / 4096 + (size_t)seed);
	snprintf(rel, sizeof rel, "%s/data", name);
	ck_assert_msg(put(rel, b, len, 0) == 0, "write %s: %s", rel,
	    strerror(errno));
	return b;
}

/* The number after key in out (rsync --stats), commas dropped; -1 if none. */
static long long
stat_num(const char *out, const char *key)
{
	const char *p = strstr(out, key);
	long long v = 0;

	if (p == NULL)
		return -1;
	for (p += strlen(key); *p == ' '; p++)
		;
	for (; (*p >= '0' && *p <= '9') || *p == ','; p++)
		if (*p != ',')
			v = v * 10 + (*p - '0');
	return v;
}

#define SENT "Total transferred file size:"

/* ---- unlink and rm ---- */

START_TEST(unlink_refused)
{
	struct seg_info si;
	struct h_run r;

	h_fs_mkseg("u", 0640, "addr 0 0x1000");
	/* an unlink that removes nothing does not say it did */
	ck_assert_int_eq(unlink(h_mnt_path("u/ctl")), -1);
	ck_assert_int_eq(errno, EPERM);
	ck_assert_int_eq(unlink(h_mnt_path("u/data")), -1);
	ck_assert_int_eq(errno, EPERM);
	H_LOG_HAS("unlink u/data: permission denied: a segment's files go only "
	    "with the segment: rmdir u removes it");
	ck_assert_int_eq(access(h_mnt_path("u/ctl"), F_OK), 0);
	ck_assert_int_eq(unlink(h_mnt_path("u/other")), -1);
	ck_assert_int_eq(errno, ENOENT);
	/* so rm -r fails on the files and leaves the segment; rmdir removes it */
	ck_assert_int_ne(sh(&r, -1, "timeout " TOOL_S " rm -r %s", h_mnt_path("u")), 0);
	ck_assert_msg(strstr(r.err, "Operation not permitted") != NULL, "rm: %s",
	    r.err);
	h_run_free(&r);
	ck_assert_int_eq(seg_stat("u", &si), 0);
	ck_assert_int_eq(rmdir(h_mnt_path("u")), 0);
	ck_assert_int_eq(seg_stat("u", &si), -1);
}
END_TEST

/* ---- what tar needs: listing order, ctl's size, chown, utimensat ---- */

/* utimensat as another user: "now" for a writer, a given time for the owner */
static void
times_as_nobody(void *arg)
{
	struct timespec ts[2] = { { 5, 0 }, { 5, 0 } };
	uid_t u;

	(void)arg;
	u = getpwnam("nobody") != NULL ? getpwnam("nobody")->pw_uid : 65534;
	H_CCHECK(setgroups(0, NULL) == 0 && setgid((gid_t)u) == 0 &&
	    setuid(u) == 0, "cannot become uid %u: %s", (unsigned)u,
	    strerror(errno));
	H_CCHECK(utimensat(AT_FDCWD, h_mnt_path("a/data"), NULL, 0) == 0, "touch as a "
	    "writer: %s", strerror(errno));
	H_CCHECK(utimensat(AT_FDCWD, h_mnt_path("a/data"), ts, 0) == -1 && errno == EPERM,
	    "a given time as a non-owner: %s", strerror(errno));
}

START_TEST(listing_and_attributes)
{
	const char *order[] = { ".", "..", "ctl", "data", "free" };
	struct timespec ts[2];
	struct dirent *e;
	struct stat st;
	DIR *d;
	int i = 0;

	ck_assert_int_eq(mkdir(h_mnt_path("a"), 0640), 0);
	ck_assert_int_eq(stat(h_mnt_path("a/ctl"), &st), 0);
	ck_assert_int_eq(st.st_size, 0);	/* no text before the address */
	ck_assert_int_eq(put("a/ctl", "va 0x21000000 0x3000\n", 21, 0), 0);
	/* ctl's size is its text's length, so tar and cp take it whole */
	ck_assert_int_eq(stat(h_mnt_path("a/ctl"), &st), 0);
	ck_assert_int_eq(st.st_size, strlen("va 0x21000000 0x3000\n"));
	ck_assert_int_eq(stat(h_mnt_path("a/free"), &st), 0);
	ck_assert_int_eq(st.st_size, 0);
	/* ctl comes before data, so an archive restores the address first */
	ck_assert_ptr_nonnull(d = opendir(h_mnt_path("a")));
	while ((e = readdir(d)) != NULL) {
		ck_assert_int_lt(i, 5);
		ck_assert_str_eq(e->d_name, order[i]);
		i++;
	}
	closedir(d);
	ck_assert_int_eq(i, 5);

	/* chown to the owner and group it has: accepted; to another: EPERM */
	ck_assert_int_eq(chown(h_mnt_path("a/ctl"), getuid(), getgid()), 0);
	ck_assert_int_eq(chown(h_mnt_path("a"), getuid(), getgid()), 0);
	ck_assert_int_eq(lchown(h_mnt_path("a/data"), (uid_t)-1, getgid()), 0);
	ck_assert_int_eq(chown(h_mnt_path("a/data"), h_nobody_uid(), (gid_t)-1), -1);
	ck_assert_int_eq(errno, EPERM);
	H_LOG_HAS("it cannot be given away");
	ck_assert_int_eq(stat(h_mnt_path("a/data"), &st), 0);
	ck_assert_uint_eq(st.st_uid, getuid());

	/* utimensat: kept, per file */
	ts[0].tv_sec = ts[1].tv_sec = 1000000000;
	ts[0].tv_nsec = ts[1].tv_nsec = 123456789;
	ck_assert_int_eq(utimensat(AT_FDCWD, h_mnt_path("a/data"), ts, 0), 0);
	ts[1].tv_sec = 1100000000;
	ck_assert_int_eq(utimensat(AT_FDCWD, h_mnt_path("a/ctl"), ts, 0), 0);
	ck_assert_int_eq(utimensat(AT_FDCWD, h_mnt_path("a"), ts, 0), 0);
	ck_assert_int_eq(stat(h_mnt_path("a/data"), &st), 0);
	ck_assert_int_eq(st.st_mtim.tv_sec, 1000000000);
	ck_assert_int_eq(st.st_mtim.tv_nsec, 123456789);
	ck_assert_int_eq(stat(h_mnt_path("a/ctl"), &st), 0);
	ck_assert_int_eq(st.st_mtim.tv_sec, 1100000000);
	/* a write through the mount moves data's time to now */
	ck_assert_int_eq(put("a/data", "w", 1, 0), 0);
	ck_assert_int_eq(stat(h_mnt_path("a/data"), &st), 0);
	ck_assert_int_gt(st.st_mtim.tv_sec, 1600000000);
	ck_assert_int_eq(stat(h_mnt_path("a/ctl"), &st), 0);
	ck_assert_int_eq(st.st_mtim.tv_sec, 1100000000);	/* its own */
	ck_assert_int_eq(chmod(h_mnt_path("a"), 0666), 0);
	ck_assert_int_eq(utimensat(AT_FDCWD, h_mnt_path("a/data"), ts, 0), 0);
	CK_CHILD(times_as_nobody, NULL);
	ck_assert_int_eq(stat(h_mnt_path("a/data"), &st), 0);
	ck_assert_int_gt(st.st_mtim.tv_sec, 1600000000);	/* now */
	H_LOG_HAS("only the owner (uid 0) or root may set the times of segment");
}
END_TEST

/* ---- tar ---- */

START_TEST(tar_backup_restore)
{
	size_t len = 0x40000;
	char *pat, *back = malloc(len + 1), ctl[64];
	struct seg_info si;
	struct h_run r;
	uid_t nob = h_nobody_uid();

	ck_assert_ptr_nonnull(back);
	h_fs_mkseg("t", 0640, "va 0x22000000 0x40000");
	pat = fill("t", len, 1);
	/* the natural backup: ctl's text and data's bytes */
	ck_assert_msg(sh(&r, -1, "timeout " TOOL_S " tar cf %s -C %s t && "
	    "chmod 0644 %s && tar tvf %s", h_in(h_dir, "t.tar"), h_mnt, h_in(h_dir, "t.tar"),
	    h_in(h_dir, "t.tar")) == 0, "tar cf: %s", r.err);
	ck_assert_msg(strstr(r.out, " 22 ") != NULL && strstr(r.out, "t/ctl"),
	    "ctl is not archived with its text: %s", r.out);
	h_run_free(&r);

	/* onto an empty mount, tar xf --overwrite makes it again */
	ck_assert_int_eq(rmdir(h_mnt_path("t")), 0);
	ck_assert_msg(sh(&r, -1, "timeout " TOOL_S " tar xf %s -C %s "
	    "--overwrite", h_in(h_dir, "t.tar"), h_mnt) == 0, "tar xf --overwrite: %s",
	    r.err);
	h_run_free(&r);
	ck_assert_int_eq(seg_stat("t", &si), 0);
	ck_assert_str_eq(si.verb, "va");
	ck_assert_uint_eq(si.va, 0x22000000);
	ck_assert_uint_eq(si.len, len);
	ck_assert_uint_eq(si.mode, 0640);	/* the archive's modes */
	ck_assert_int_eq(seg_pread("t", back, len, 0), (ssize_t)len);
	ck_assert_int_eq(memcmp(back, pat, len), 0);
	ck_assert_int_eq(h_read_file(h_mnt_path("t/ctl"), ctl, sizeof ctl), 22);
	ck_assert_str_eq(ctl, "va 0x22000000 0x40000\n");

	/* and as another user, with --no-same-owner: theirs */
	ck_assert_int_eq(rmdir(h_mnt_path("t")), 0);
	ck_assert_msg(sh(&r, (int)nob, "cd / && timeout " TOOL_S " tar xf %s "
	    "-C %s --overwrite --no-same-owner", h_in(h_dir, "t.tar"), h_mnt) == 0,
	    "tar xf as uid %u: %s", (unsigned)nob, r.err);
	h_run_free(&r);
	ck_assert_int_eq(seg_stat("t", &si), 0);
	ck_assert_uint_eq(si.uid, nob);
	ck_assert_uint_eq(si.va, 0x22000000);
	ck_assert_int_eq(seg_pread("t", back, len, 0), (ssize_t)len);
	ck_assert_int_eq(memcmp(back, pat, len), 0);
	free(pat);
	free(back);
}
END_TEST

START_TEST(tar_plain_fails)
{
	struct h_run r;
	char *pat;
	int code;

	h_fs_mkseg("p", 0640, "addr 0 0x2000");
	pat = fill("p", 0x2000, 2);
	free(pat);
	ck_assert_int_eq(sh(&r, -1, "tar cf %s -C %s p", h_in(h_dir, "p.tar"), h_mnt), 0);
	h_run_free(&r);
	ck_assert_int_eq(rmdir(h_mnt_path("p")), 0);
	/*
	 * Plain tar xf opens each file O_EXCL, finds segd's, and unlinks it to
	 * try again: refused, so tar says so and stops, never loops.
	 */
	code = sh(&r, -1, "timeout " TOOL_S " tar xf %s -C %s", h_in(h_dir, "p.tar"), h_mnt);
	ck_assert_msg(code == 2, "tar xf exited %d (124: it looped): %s", code,
	    r.err);
	ck_assert_msg(strstr(r.err, "p/ctl: Cannot open: File exists") != NULL,
	    "tar xf: %s", r.err);
	h_run_free(&r);
}
END_TEST

/* ---- cp -r ---- */

START_TEST(cp_zero_copy)
{
	char buf[128];
	struct h_run r;
	int code;

	/* kmsg: segd reclaims the buffers itself; free reads end at once */
	h_fs_mkseg("zk", 0640, "kmsg 0 0x100000");
	ck_assert_int_eq(h_read_file(h_mnt_path("zk/free"), buf, sizeof buf), 0);
	ck_assert_int_eq(mkdir(h_in(h_dir, "cp"), 0700), 0);
	ck_assert_msg(sh(&r, -1, "timeout " TOOL_S " cp -r %s %s && "
	    "cat %s/zk/ctl && wc -c < %s/zk/data && wc -c < %s/zk/free",
	    h_mnt_path("zk"), h_in(h_dir, "cp"), h_in(h_dir, "cp"), h_in(h_dir, "cp"), h_in(h_dir, "cp")) == 0, "cp -r: %s",
	    r.err);
	ck_assert_ptr_nonnull(strstr(r.out, "kmsg 0x"));
	ck_assert_msg(strstr(r.out, " 0x100000\n1048576\n0\n") != NULL,
	    "the copy: %s", r.out);
	h_run_free(&r);

	/* umsg: free reads wait for returned buffers, so cp -r waits too... */
	h_fs_mkseg("zu", 0640, "umsg 0 0x100000");
	code = sh(&r, -1, "timeout 2 cp -r %s %s", h_mnt_path("zu"), h_in(h_dir, "cpu"));
	ck_assert_int_eq(code, 124);
	h_run_free(&r);
	/* ...while rsync and tar read free's size worth (0), as segd(8) says */
	ck_assert_msg(sh(&r, -1, "timeout " TOOL_S " rsync -r %s %s && "
	    "ls %s/zu && timeout " TOOL_S " tar cf %s -C %s zu", h_mnt_path("zu"),
	    h_in(h_dir, "rs"), h_in(h_dir, "rs"), h_in(h_dir, "zu.tar"), h_mnt) == 0, "rsync -r, tar cf: %s",
	    r.err);
	ck_assert_str_eq(r.out, "ctl\ndata\nfree\n");
	h_run_free(&r);
	/* and the exclusion, for the copies that read on */
	ck_assert_msg(sh(&r, -1, "timeout " TOOL_S " rsync -r --exclude=free "
	    "%s %s && ls %s/zu", h_mnt_path("zu"), h_in(h_dir, "rx"), h_in(h_dir, "rx")) == 0, "rsync "
	    "--exclude=free: %s", r.err);
	ck_assert_str_eq(r.out, "ctl\ndata\n");
	h_run_free(&r);
}
END_TEST

/* ---- rsync ---- */

/* rsync -rt --inplace from to; the bytes it sent (SENT), or fail. */
static long long
rsync_sent(const char *from, const char *to)
{
	struct h_run r;
	long long n;

	ck_assert_msg(sh(&r, -1, "timeout " TOOL_S " rsync -rt --inplace "
	    "--modify-window=-1 --stats %s %s", from, to) == 0, "rsync %s %s: "
	    "%s", from, to, r.err);
	n = stat_num(r.out, SENT);
	ck_assert_msg(n >= 0, "rsync --stats: %s", r.out);
	h_run_free(&r);
	return n;
}

START_TEST(rsync_times)
{
	size_t len = 0x10000;
	char *pat, *va, text[64];
	struct h_run r;
	long long ctl;

	h_fs_mkseg("r", 0640, "addr 0 0x10000");
	pat = fill("r", len, 3);
	free(pat);
	ck_assert_int_gt(ctl = h_read_file(h_mnt_path("r/ctl"), text, sizeof text), 0);
	ck_assert_int_eq(mkdir(h_in(h_dir, "bk"), 0700), 0);
	/* the first run copies ctl and data; the second sends nothing */
	ck_assert_int_eq(rsync_sent(h_mnt_path("r"), h_in(h_dir, "bk")), (long long)len + ctl);
	ck_assert_int_eq(rsync_sent(h_mnt_path("r"), h_in(h_dir, "bk")), 0);
	/* a write through the mount */
	ck_assert_int_eq(put("r/data", "m", 1, 100), 0);
	ck_assert_int_eq(rsync_sent(h_mnt_path("r"), h_in(h_dir, "bk")), (long long)len);
	ck_assert_int_eq(rsync_sent(h_mnt_path("r"), h_in(h_dir, "bk")), 0);
	/* through segctl (a descriptor of segd's) */
	ck_assert_int_eq(h_segctl(&r, "s", 1, "write", "r", "200", NULL), 0);
	h_run_free(&r);
	ck_assert_int_eq(rsync_sent(h_mnt_path("r"), h_in(h_dir, "bk")), (long long)len);
	ck_assert_int_eq(rsync_sent(h_mnt_path("r"), h_in(h_dir, "bk")), 0);
	/* through a writable attachment: while attached, and at the detach */
	va = seg_attach(0, "r", 0, 0);
	ck_assert_msg(va != NULL, "attach: %s", seg_errstr());
	va[300] = 'a';
	ck_assert_int_eq(rsync_sent(h_mnt_path("r"), h_in(h_dir, "bk")), (long long)len);
	va[301] = 'b';
	ck_assert_int_eq(seg_detach(va), 0);
	ck_assert_int_eq(rsync_sent(h_mnt_path("r"), h_in(h_dir, "bk")), (long long)len);
	ck_assert_int_eq(rsync_sent(h_mnt_path("r"), h_in(h_dir, "bk")), 0);
	/* a read-only attachment changes nothing */
	va = seg_attach(SEG_RONLY, "r", 0, 0);
	ck_assert_msg(va != NULL, "attach: %s", seg_errstr());
	ck_assert_int_eq(seg_detach(va), 0);
	ck_assert_int_eq(rsync_sent(h_mnt_path("r"), h_in(h_dir, "bk")), 0);
	ck_assert_msg(sh(&r, -1, "cmp %s/data %s/r/data", h_mnt_path("r"), h_in(h_dir, "bk")) == 0,
	    "the copy differs: %s", r.out);
	h_run_free(&r);

	/* back onto an empty mount: made again; a second run sends nothing */
	ck_assert_int_eq(rmdir(h_mnt_path("r")), 0);
	ck_assert_int_eq(rsync_sent(h_in(h_dir, "bk/r"), h_mnt), (long long)len + ctl);
	ck_assert_int_eq(rsync_sent(h_in(h_dir, "bk/r"), h_mnt), 0);
	ck_assert_msg(sh(&r, -1, "cmp %s/data %s/r/data && cmp %s/ctl "
	    "%s/r/ctl", h_mnt_path("r"), h_in(h_dir, "bk"), h_mnt_path("r"), h_in(h_dir, "bk")) == 0, "the restored "
	    "segment differs: %s", r.out);
	h_run_free(&r);
	/* rsync's default temporary file and rename: a clear refusal */
	ck_assert_int_eq(rmdir(h_mnt_path("r")), 0);
	ck_assert_int_ne(sh(&r, -1, "timeout " TOOL_S " rsync -rt %s %s",
	    h_in(h_dir, "bk/r"), h_mnt), 0);
	ck_assert_msg(strstr(r.err, "Operation not permitted") != NULL, "rsync: "
	    "%s", r.err);
	h_run_free(&r);
}
END_TEST

/* ---- chmod, fstat, mmap ---- */

START_TEST(chmod_whole_segment)
{
	struct seg_info si;
	struct stat st;

	h_fs_mkseg("c", 0640, "addr 0 0x1000");
	/* chmod of any file is the segment's mode: every file shows it */
	ck_assert_int_eq(chmod(h_mnt_path("c/ctl"), 0600), 0);
	ck_assert_int_eq(seg_stat("c", &si), 0);
	ck_assert_uint_eq(si.mode, 0600);
	ck_assert_int_eq(stat(h_mnt_path("c/data"), &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(stat(h_mnt_path("c/free"), &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(stat(h_mnt_path("c"), &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0700);	/* x follows r */
	/* the directory's x bits are not the segment's */
	ck_assert_int_eq(chmod(h_mnt_path("c"), 0750), 0);
	ck_assert_int_eq(seg_stat("c", &si), 0);
	ck_assert_uint_eq(si.mode, 0640);
	ck_assert_int_eq(stat(h_mnt_path("c/ctl"), &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0640);
}
END_TEST

START_TEST(fstat_removed)
{
	struct stat st;
	char *map, text[64];
	int fd, cfd;

	h_fs_mkseg("f", 0640, "addr 0 0x3000");
	ck_assert_int_gt(h_read_file(h_mnt_path("f/ctl"), text, sizeof text), 0);
	fd = open(h_mnt_path("f/data"), O_RDWR);
	cfd = open(h_mnt_path("f/ctl"), O_RDONLY);
	ck_assert(fd >= 0 && cfd >= 0);
	/* mmap of data: refused (direct_io); seg_attach maps a segment */
	map = mmap(NULL, 0x3000, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ck_assert_msg(map == MAP_FAILED && errno == ENODEV, "mmap MAP_SHARED: "
	    "%p (%s)", (void *)map, strerror(errno));
	ck_assert_int_eq(rmdir(h_mnt_path("f")), 0);
	ck_assert_int_eq(stat(h_mnt_path("f/data"), &st), -1);
	ck_assert_int_eq(errno, ENOENT);
	/* the open files still stat, and still work */
	ck_assert_msg(fstat(fd, &st) == 0, "fstat: %s", strerror(errno));
	ck_assert_int_eq(st.st_size, 0x3000);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_int_eq(fstat(cfd, &st), 0);
	ck_assert_int_eq(st.st_size, (off_t)strlen(text));
	ck_assert_int_eq(pwrite(fd, "x", 1, 0), 1);
	ck_assert_int_eq(fstat(fd, &st), 0);
	/* its mode cannot change any more: it would come back at a restart */
	ck_assert_int_eq(fchmod(fd, 0600), -1);
	ck_assert_int_eq(errno, ENOENT);
	close(cfd);
	close(fd);
}
END_TEST

void
suite(Suite *s)
{
	ck_tcase(s, "names", &h_fs_fix, H_TIMEOUT_S, unlink_refused,
	    listing_and_attributes, chmod_whole_segment, fstat_removed, NULL);
	ck_tcase(s, "tar", &h_fs_fix, H_TIMEOUT_S, tar_backup_restore,
	    tar_plain_fails, NULL);
	ck_tcase(s, "copy", &h_fs_fix, H_TIMEOUT_S, cp_zero_copy, rsync_times,
	    NULL);
}
